"""A subchart vendored as an archive: findings at the parent's values line that sets the
field, else at the archive; never at a template path the repository does not have."""

from __future__ import annotations

import io
import tarfile

from gatekeeper.evaluate import Engine
from gatekeeper.policy.loader import load_policy_file
from gatekeeper.scanner import scan
from gatekeeper.sources import LoadContext
from gatekeeper.tree import MemoryTree
from tests.conftest import REPO

TEMPLATE = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      hostNetwork: true
      containers:
        - name: web
          image: {{ .Values.image }}
          securityContext:
            privileged: {{ .Values.privileged }}
"""


def archive(files: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def test_a_packaged_subchart_is_located_in_the_repository() -> None:
    sub = archive(
        {
            "sub/Chart.yaml": "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
            "sub/values.yaml": "image: ghcr.io/acme/web:1.0\nprivileged: false\n",
            "sub/templates/deploy.yaml": TEMPLATE,
        }
    )
    files: dict[str, bytes] = {
        "chart/Chart.yaml": b"apiVersion: v2\nname: parent\nversion: 0.1.0\n"
        b"dependencies:\n  - {name: sub, version: 0.1.0}\n",
        "chart/values.yaml": b"sub:\n  privileged: true\n",
        "chart/charts/sub-0.1.0.tgz": sub,
    }
    policies = ["pss-baseline-privileged.yaml", "pss-baseline-host-namespaces.yaml"]
    engine = Engine([load_policy_file(REPO / "policies" / "kubernetes" / p) for p in policies])
    pairs = sorted(files.items())
    found = scan(pairs, engine, 1, LoadContext(tree=MemoryTree(dict(pairs)))).findings
    assert sorted((f.policy_id, f.file, f.line, f.extra.get("values")) for f in found) == [
        ("K8S-PSS-HOST-NAMESPACES", "chart/charts/sub-0.1.0.tgz", 1, None),
        ("K8S-PSS-PRIVILEGED", "chart/values.yaml", 2, "chart/values.yaml:2"),
    ]
