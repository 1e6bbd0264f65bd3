"""A chart its defaults do not render, whose test values the repository's own Makefile (or
CI) gives Helm for every chart (VictoriaMetrics/helm-charts: `$(wildcard charts/*/lint/*.yaml)`
then `helm lint charts/$(chart) -f $(values)`), is rendered with them as with chart-testing's
`ci/*-values.yaml` (session 18: eight charts there were only a blocking render error, nothing
of them judged). Without such a Makefile the folder is nobody's values: as before."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Run

Gatekeeper = Callable[..., Run]
Write = Callable[[str, str], Path]

TEMPLATE = """\
{{- $v := .Values }}
{{- if empty $v.remoteWrite }}{{ fail "Please define at least one remoteWrite" }}{{ end }}
apiVersion: v1
kind: Pod
metadata:
  name: agent
spec:
  containers:
    - name: agent
      image: agent:1.0
      args: [{{ range $v.remoteWrite }}{{ .url | quote }},{{ end }}]
      securityContext:
        privileged: true
"""
MAKEFILE = """\
lint:
\t$(foreach values,$(wildcard charts/*/lint/*.yaml), \\
\t\t$(eval chart := $(word 2, $(subst /, ,$(values)))) \\
\t\thelm lint charts/$(chart) -f $(values) || exit 1; \\
\t)
"""


def test_values_the_makefile_gives_helm_render_a_chart_its_defaults_do_not(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    write("charts/agent/Chart.yaml", "apiVersion: v2\nname: agent\nversion: 1.0.0\n")
    write("charts/agent/values.yaml", "remoteWrite: []\n")
    write("charts/agent/templates/pod.yaml", TEMPLATE)
    write("charts/agent/lint/simple.yaml", "remoteWrite:\n  - url: http://vm:8428/write\n")

    def found() -> list[tuple[str, str, int]]:
        run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
        return sorted(
            (f["policy_id"], f["file"], f["line"])
            for f in json.loads(run.stdout)["findings"]
            if f["policy_id"] in SAID
        )

    # nothing gives remoteWrite: said once at the chart (test_helm_values_sources)
    assert found() == [("GK-HELM-VALUES-MISSING", "charts/agent/Chart.yaml", 2)]
    write("Makefile", MAKEFILE)
    assert found() == [
        # `$v := .Values` then `if empty $v.remoteWrite`: the defaults with only remoteWrite
        # taken from lint/simple.yaml render, so the defaults' error is a note
        ("GK-HELM-DEFAULTS", "charts/agent/templates/pod.yaml", 2),
        ("K8S-PSS-PRIVILEGED", "charts/agent/templates/pod.yaml", 13),
    ]


SAID = ("K8S-PSS-PRIVILEGED", "GK-RENDER-ERROR", "GK-HELM-DEFAULTS", "GK-HELM-VALUES-MISSING")
