"""Where a chart that refuses its default values finds the values it requires (VictoriaMetrics
/helm-charts, session 19): through a variable holding the values (`$Values := (.helm).Values
| default .Values`, then `if empty $Values.remoteWrite` before a `fail`), named by the
chart's own error (`Pass valid license at .Values.license`, a `fail` in a library chart's
named template), or in the `set:` of its helm-unittest tests. A chart no file gives them is
said once, at its Chart.yaml, naming what it requires: high when the repository releases it,
medium when nothing does (a chart published for others to install)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Run

Gatekeeper = Callable[..., Run]
Write = Callable[[str, str], Path]

CHART = "apiVersion: v2\nname: agent\nversion: 1.0.0\n"  # `name:` at line 2
ARGS = """\
{{- define "agent.args" -}}
  {{- $Values := (.helm).Values | default .Values -}}
  {{- if empty $Values.remoteWrite -}}
    {{- fail "at least one remoteWrite configuration must be provided" -}}
  {{- end -}}
  {{- range $Values.remoteWrite }}
- --remoteWrite.url={{ .url }}
  {{- end }}
{{- end -}}
"""
# The license check of a library chart: the `if` names no value, the error does.
LICENSE = """\
{{- define "agent.unlicensed" -}}
{{- empty (($.Values.license).key) -}}
{{- end -}}
{{- define "agent.enterprise" -}}
{{- if eq (include "agent.unlicensed" .) "true" -}}
{{- fail "Pass valid license at .Values.license or .Values.global.license" -}}
{{- end -}}
{{- end -}}
"""
POD = """\
{{- include "agent.enterprise" . }}
apiVersion: v1
kind: Pod
metadata:
  name: agent
spec:
  containers:
    - name: agent
      image: agent:1.0
      args: {{- include "agent.args" (dict "helm" .) | nindent 8 }}
      securityContext:
        privileged: true
"""
VALUES = "remoteWrite: []\nlicense: {}\n"
MAKEFILE = """\
lint:
\t$(foreach values,$(wildcard charts/*/lint/*.yaml), \\
\t\thelm lint charts/$(chart) -f $(values) || exit 1; \\
\t)
"""
SAID = ("K8S-PSS-PRIVILEGED", "GK-RENDER-ERROR", "GK-HELM-DEFAULTS", "GK-HELM-VALUES-MISSING")


def found(gatekeeper: Gatekeeper, root: Path) -> list[tuple[str, str, str, int]]:
    run = gatekeeper("scan", "--format", "json", cwd=root)
    return sorted(
        (f["policy_id"], f["severity"], f["file"], f["line"])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] in SAID
    )


def chart(write: Write) -> None:
    write("charts/agent/Chart.yaml", CHART)
    write("charts/agent/values.yaml", VALUES)
    write("charts/agent/templates/_args.tpl", ARGS)
    write("charts/agent/templates/_license.tpl", LICENSE)
    write("charts/agent/templates/pod.yaml", POD)


PRIVILEGED = ("K8S-PSS-PRIVILEGED", "critical", "charts/agent/templates/pod.yaml", 12)
NOTE = ("GK-HELM-DEFAULTS", "low", "charts/agent/templates/pod.yaml", 1)


def test_the_lint_values_give_what_a_variable_and_the_error_name(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    """The lint file sets more than the chart requires (a privileged: false over the
    default): the defaults with only remoteWrite and license taken from it are judged,
    and the defaults' error is a low note (before: the lint file rendered whole, the
    error a high GK-RENDER-ERROR, the default privileged container unseen)."""
    chart(write)
    write("Makefile", MAKEFILE)
    write(
        "charts/agent/lint/simple.yaml",
        "remoteWrite:\n  - url: http://vl:9428\nlicense:\n  key: k\nprivileged: false\n",
    )
    assert found(gatekeeper, tmp_path) == [NOTE, PRIVILEGED]


def test_the_set_of_the_charts_unittest_tests_gives_what_it_requires(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    chart(write)
    write(
        "charts/agent/tests/agent_test.yaml",
        "suite: agent\ntemplates: [pod.yaml]\ntests:\n"
        "  - it: renders\n    set:\n      remoteWrite:\n        - url: http://vl:9428\n"
        "      license.key: k\n    asserts:\n      - isKind: {of: Pod}\n",
    )
    assert found(gatekeeper, tmp_path) == [NOTE, PRIVILEGED]


def test_a_chart_no_file_gives_its_values_is_said_once_at_the_chart(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    """Medium when nothing releases it (still blocking at the default threshold); high once
    a CI job installs it."""
    chart(write)
    (missing,) = found(gatekeeper, tmp_path)
    assert missing == ("GK-HELM-VALUES-MISSING", "medium", "charts/agent/Chart.yaml", 2)
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    (finding,) = [f for f in json.loads(run.stdout)["findings"] if f["policy_id"] in SAID]
    assert finding["message"].startswith(
        "chart charts/agent is not judged: it requires remoteWrite, license"
    )
    assert "nothing in this repository releases it" in finding["message"]
    write(
        ".github/workflows/deploy.yml",
        "on: push\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: helm upgrade --install agent charts/agent -n agent\n",
    )
    assert [f[:3] for f in found(gatekeeper, tmp_path)] == [
        ("GK-RENDER-ERROR", "high", "charts/agent/Chart.yaml")
    ]
