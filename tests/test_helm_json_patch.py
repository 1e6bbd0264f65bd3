"""A chart that renders a JSON patch (RFC 6902), not manifests, is a low notice: Helm cannot
install it (`helm template` fails: "cannot unmarshal array into ... SimpleHead"); a program
renders it for its own use (linkerd's charts/patch, the proxy injector's patch). Any other
document that is not an object still blocks."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Run

Gatekeeper = Callable[..., Run]
Write = Callable[[str, str], Path]

PATCH = """\
{{ $prefix := .Values.pathPrefix -}}
[
  {{- if .Values.addRootAnnotations }}
  {"op": "add", "path": "{{$prefix}}/metadata/annotations", "value": {}},
  {{- end }}
  {"op": "add", "path": "{{$prefix}}/spec/containers/-", "value": {"name": "proxy"}}
]
"""


def test_a_chart_rendering_a_json_patch_is_a_low_notice(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    write("charts/patch/Chart.yaml", "apiVersion: v2\nname: patch\nversion: 0.1.0\n")
    write("charts/patch/values.yaml", "pathPrefix: ''\naddRootAnnotations: true\n")
    write("charts/patch/templates/patch.json", PATCH)
    write("charts/empty/Chart.yaml", "apiVersion: v2\nname: empty\nversion: 0.1.0\n")
    write(  # linkerd's patch with its default values: no operation at all
        "charts/empty/templates/patch.json",
        '[\n{{- if .Values.on }}\n{"op": "remove", "path": "/x"}\n{{- end }}\n]\n',
    )
    write("charts/list/Chart.yaml", "apiVersion: v2\nname: list\nversion: 0.1.0\n")
    write("charts/list/templates/list.yaml", "- op: add\n  path: /x\n  kind: Pod\n")
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    found = sorted(
        (f["policy_id"], f["severity"], f["file"], f["blocking"])
        for f in json.loads(run.stdout)["findings"]
    )
    assert found == [
        ("GK-JSON-PATCH", "low", "charts/empty/templates/patch.json", False),
        ("GK-JSON-PATCH", "low", "charts/patch/templates/patch.json", False),
        ("GK-NOT-AN-OBJECT", "high", "charts/list/templates/list.yaml", True),
    ]
