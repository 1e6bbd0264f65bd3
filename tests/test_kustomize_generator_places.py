"""Findings of what a kustomize configMapGenerator/secretGenerator writes are placed where it
is written: a `files:` entry's manifest in its own file at its own lines, an `envs:` key at
its line of the env file, a literal at its entry. They were all at kustomization.yaml:1
(local-path-provisioner's examples/quota helper pod, session 16), built in-process
(`behavior: create`) or by kubectl (`behavior: merge` over a base's ConfigMap)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Run

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: helper
spec:
  containers:
    - name: helper
      image: busybox:1.36
      securityContext:
        privileged: true
"""

CREATE = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
configMapGenerator:
  - name: helper
    files:
      - pod.yaml
    envs:
      - app.env
    literals:
      - API_TOKEN=abc123def
"""

BASE = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: helper
data:
  pod.yaml: |
    apiVersion: v1
    kind: Pod
    metadata:
      name: helper
    spec:
      containers:
        - name: helper
          image: busybox:1.36
"""

MERGE = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - base.yaml
configMapGenerator:
  - name: helper
    behavior: merge
    files:
      - pod.yaml
generatorOptions:
  disableNameSuffixHash: true
"""


def test_what_a_generator_writes_is_found_where_it_is_written(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    files = {
        "create/kustomization.yaml": CREATE,
        "create/pod.yaml": POD,
        "create/app.env": "# settings\nDB_PASSWORD=hunter2\nLOG=debug\n",
        "merge/kustomization.yaml": MERGE,
        "merge/base.yaml": BASE,
        "merge/pod.yaml": POD,
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    run = gatekeeper("scan", str(tmp_path), "--format", "json")
    found = sorted(
        (f["policy_id"], f["file"], f["line"])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] in ("K8S-PSS-PRIVILEGED", "K8S-CONFIGMAP-SECRETS")
    )
    assert found == [
        ("K8S-CONFIGMAP-SECRETS", "create/app.env", 2),
        ("K8S-CONFIGMAP-SECRETS", "create/kustomization.yaml", 10),
        ("K8S-PSS-PRIVILEGED", "create/pod.yaml", 10),
        ("K8S-PSS-PRIVILEGED", "merge/pod.yaml", 10),
    ]
    assert run.returncode == 1
