"""k3s/RKE2 HelmChart objects: the inline chart is rendered with the object's values (s11 r01)."""

from __future__ import annotations

import base64
import io
import tarfile
from pathlib import Path

import gatekeeper

POD = """\
apiVersion: v1
kind: Pod
metadata: {name: agent}
spec:
  hostNetwork: {{ .Values.hostNetwork }}
  containers:
    - name: agent
      image: "registry.example.com/agent:{{ .Values.tag }}"
"""


def _archive() -> str:
    files = {
        "agent/Chart.yaml": "apiVersion: v2\nname: agent\nversion: 0.1.0\n",
        "agent/values.yaml": "hostNetwork: false\ntag: '1.0'\n",
        "agent/templates/pod.yaml": POD,
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return base64.b64encode(buffer.getvalue()).decode()


def _findings(tmp_path: Path, spec: str) -> list[tuple[str, int]]:
    (tmp_path / "chart.yaml").write_text(
        "apiVersion: helm.cattle.io/v1\nkind: HelmChart\n"
        "metadata: {name: agent, namespace: kube-system}\nspec:\n" + spec
    )
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    return sorted(
        {(f.policy_id, f.line) for f in report.verdict.findings if f.policy_id in _WATCHED}
    )


_WATCHED = ("K8S-PSS-HOST-NAMESPACES", "K8S-IMAGE-TAG-PINNED", "GK-NOT-EXPANDED")


def test_an_inline_chart_is_rendered_with_its_values_and_set(tmp_path: Path) -> None:
    spec = f"  chartContent: {_archive()}\n  valuesContent: |-\n    hostNetwork: true\n"
    spec += "  set: {tag: latest}\n"
    assert _findings(tmp_path, spec) == [
        ("K8S-IMAGE-TAG-PINNED", 5),
        ("K8S-PSS-HOST-NAMESPACES", 5),
    ]


def test_a_remote_chart_is_said_not_judged(tmp_path: Path) -> None:
    spec = "  repo: https://charts.example.com\n  chart: agent\n  version: 1.0.0\n"
    assert _findings(tmp_path, spec) == [("GK-NOT-EXPANDED", 6)]
