"""A Helm values file named `<variant>-values.yaml` is no manifest.

grafana/loki's chart holds `distributed-values.yaml`, `single-binary-values.yaml` and
`simple-scalable-values.yaml` beside `values.yaml` (its Makefile runs `helm upgrade loki . -f
distributed-values.yaml`): read as manifests, each was a blocking GK-NOT-AN-OBJECT. Like
`values-prod.yaml`, such a file is judged only when it spells objects (apiVersion and kind).
"""

from __future__ import annotations

from pathlib import Path

import gatekeeper

POD = """\
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: web}
spec:
  containers:
    - name: web
      image: ghcr.io/acme/web:1.2.3
      securityContext: {privileged: true}
"""


def test_a_named_values_file_is_not_a_manifest_unless_it_spells_objects(tmp_path: Path) -> None:
    files = {
        "chart/distributed-values.yaml": (
            "---\ncommonLabels:\n  labelA: valueA\n  labelA: valueB\nloki:\n  replicas: 3\n"
        ),
        "chart/prod.values.yml": "replicas: 2\n",
        "deploy/web-values.yaml": POD,
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    found = {(f.policy_id, f.file) for f in report.verdict.findings}
    assert not [f for f in found if f[1].startswith("chart/")]
    assert ("K8S-PSS-PRIVILEGED", "deploy/web-values.yaml") in found
