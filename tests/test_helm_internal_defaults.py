"""istio's charts keep their defaults under `_internal_defaults_do_not_set`, merged into
.Values by a template (zzz_profile.yaml): a finding on a field they set links the values
line under that key, as it links any other values line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Run

Gatekeeper = Callable[..., Run]
Write = Callable[[str, str], Path]

PROFILE = """\
{{- $defaults := $.Values._internal_defaults_do_not_set }}
{{- $_ := unset $.Values "_internal_defaults_do_not_set" }}
{{- $_ := set $ "Values" (mustMergeOverwrite $defaults $.Values) }}
"""
POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: {{ .Values.name }}
spec:
  containers:
    - name: gw
      image: istio/proxyv2:1.20
      securityContext:
        privileged: {{ .Values.securityContext.privileged }}
"""


def test_values_under_internal_defaults_are_linked(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    write("chart/Chart.yaml", "apiVersion: v2\nname: gw\nversion: 1.0.0\n")
    write(
        "chart/values.yaml",
        "_internal_defaults_do_not_set:\n  name: gw\n  securityContext:\n    privileged: true\n",
    )
    write("chart/templates/zzz_profile.yaml", PROFILE)
    write("chart/templates/pod.yaml", POD)
    write(".gatekeeper.yml", "packs: [kubernetes]\n")
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    (finding,) = [
        f for f in json.loads(run.stdout)["findings"] if f["policy_id"] == "K8S-PSS-PRIVILEGED"
    ]
    assert (finding["file"], finding["line"]) == ("chart/templates/pod.yaml", 10)
    assert finding["extra"]["values"] == "chart/values.yaml:4"
