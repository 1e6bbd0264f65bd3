"""A file a chart's templates read (`.Files.Get "conf/crd.yaml"` through `tpl`, `.Files.Glob`,
a name from values) is the chart's data, judged in what the chart renders: not valid YAML as
written because of its `{{ }}`, it gets no GK-TEMPLATE of its own (opentelemetry-helm-charts:
five CRDs under conf/ and a scrape config under examples/). The same file outside a chart, or
in a chart that reads no files, keeps its notice."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Run

Gatekeeper = Callable[..., Run]
Write = Callable[[str, str], Path]

CHART = "apiVersion: v2\nname: {name}\nversion: 1.0.0\n"
DATA = (
    "{{- if .Values.create }}\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n{{- end }}\n"
)


def test_files_a_chart_reads_get_no_template_notice(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    write("charts/web/Chart.yaml", CHART.format(name="web"))
    write("charts/web/values.yaml", "create: true\nextra: files/extra.yaml\n")
    write(
        "charts/web/templates/data.yaml",
        '{{ tpl (.Files.Get "conf/data.yaml") . }}\n---\n'
        '{{- range $path, $_ := .Files.Glob "dashboards/*.yaml" }}\n{{- end }}\n'
        "---\n{{ .Files.Get .Values.extra }}\n",
    )
    write("charts/web/conf/data.yaml", DATA)
    write("charts/web/dashboards/board.yaml", DATA)
    write("charts/web/files/extra.yaml", DATA)
    write("charts/plain/Chart.yaml", CHART.format(name="plain"))
    write(
        "charts/plain/templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: y}\n"
    )
    write("charts/plain/conf/data.yaml", DATA)
    write("other/data.yaml", DATA)
    write(".gatekeeper.yml", "packs: [kubernetes]\n")
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    assert run.returncode in (0, 1), run.stderr
    notices = sorted(
        f["file"] for f in json.loads(run.stdout)["findings"] if f["policy_id"] == "GK-TEMPLATE"
    )
    assert notices == ["charts/plain/conf/data.yaml", "other/data.yaml"]


def test_a_chart_reading_only_named_files_keeps_the_notice_of_the_others(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    write("chart/Chart.yaml", CHART.format(name="web"))
    write("chart/templates/cm.yaml", '{{ .Files.Get "conf/read.yaml" }}\n')
    write("chart/conf/read.yaml", DATA)
    write("chart/conf/unread.yaml", DATA)
    write(".gatekeeper.yml", "packs: [kubernetes]\n")
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    assert run.returncode in (0, 1), run.stderr
    notices = sorted(
        f["file"] for f in json.loads(run.stdout)["findings"] if f["policy_id"] == "GK-TEMPLATE"
    )
    assert notices == ["chart/conf/unread.yaml"]
