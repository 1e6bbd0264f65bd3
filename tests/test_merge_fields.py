"""Several violations of one object at one template line are each said.

`toYaml .Values.volumes` writes every volume at one line of the template: the rendered
findings of the second hostPath volume were merged into the first's (same place, policy and
object), so /var/lib/docker/containers was mounted with no finding (real-repo check of
grafana/helm-charts fluent-bit and promtail).
"""

from __future__ import annotations

from pathlib import Path

import gatekeeper

TEMPLATE = """\
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: ds
spec:
  selector:
    matchLabels: {app: ds}
  template:
    metadata:
      labels: {app: ds}
    spec:
      containers:
        - name: x
          image: ghcr.io/a/b:1.0
      volumes:
        {{- toYaml .Values.volumes | nindent 8 }}
"""
VALUES = """\
volumes:
  - name: a
    hostPath: {path: /var/log}
  - name: b
    hostPath: {path: /var/lib/docker/containers}
"""


def test_each_host_path_volume_written_at_one_line_is_a_finding(tmp_path: Path) -> None:
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 1.0.0\n")
    (chart / "values.yaml").write_text(VALUES)
    (chart / "templates" / "ds.yaml").write_text(TEMPLATE)
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    host_paths = sorted(
        f.message for f in report.verdict.findings if f.policy_id == "K8S-PSS-HOST-PATH"
    )
    assert host_paths == [
        "volume a mounts the host path /var/log",
        "volume b mounts the host path /var/lib/docker/containers",
    ]
    fingerprints = [f.fingerprint for f in report.verdict.findings]
    assert len(fingerprints) == len(set(fingerprints))
