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


def test_a_call_in_a_vendored_library_is_said_at_each_environment(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    """grafana/helm-charts: tanka-util's helm library calls helmTemplate; each environment
    was said at the vendored library's line (one line, three findings)."""
    write("jsonnetfile.json", "{}\n")
    write(
        "vendor/tanka-util/helm.libsonnet",
        "{\n  new(from):: {\n    template(name, chart, conf={})::\n"
        "      std.native('helmTemplate')(name, chart, conf { calledFrom: from }),\n  },\n}\n",
    )
    main = (
        "local helm = (import 'tanka-util/helm.libsonnet').new(std.thisFile);\n"
        "{\n  app: helm.template('app', '../../chart', {}),\n}\n"
    )
    for environment in ("small", "large"):
        write(f"environments/{environment}/spec.json", SPEC.replace("default", environment))
        write(f"environments/{environment}/main.jsonnet", main)
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    found = sorted((f["file"], f["line"]) for f in json.loads(run.stdout)["findings"])
    assert found == [
        ("environments/large/main.jsonnet", 3),
        ("environments/small/main.jsonnet", 3),
    ]
