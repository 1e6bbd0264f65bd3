"""Tanka's helmTemplate and kustomizeBuild run tools gatekeeper does not run: an environment
calling one is said not judged in those words, at the call's line (it was Jsonnet's "RUNTIME
ERROR: only functions can be called, got null")."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Run

Gatekeeper = Callable[..., Run]
Write = Callable[[str, str], Path]

SPEC = (
    '{"apiVersion": "tanka.dev/v1alpha1", "kind": "Environment",'
    ' "metadata": {"name": "environments/default"}, "spec": {"namespace": "default"}}\n'
)
MAIN = """\
local helm = std.native('helmTemplate');
{
  grafana: helm('grafana', './charts/grafana', {
    namespace: 'default',
    calledFrom: std.thisFile,
  }),
}
"""


def test_a_tanka_native_call_is_said_in_words(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    write("jsonnetfile.json", "{}\n")
    write("environments/default/spec.json", SPEC)
    write("environments/default/main.jsonnet", MAIN)
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    (finding,) = json.loads(run.stdout)["findings"]
    assert (finding["file"], finding["line"], finding["policy_id"]) == (
        "environments/default/main.jsonnet",
        3,
        "GK-RENDER-ERROR",
    )
    assert "Tanka's helmTemplate" in finding["message"]
    assert "only functions can be called" not in finding["message"]
