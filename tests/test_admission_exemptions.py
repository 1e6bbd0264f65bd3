"""Objects that take workloads out of the cluster's own admission policies, or grant device
access no pod field shows (red team s16 x05): a Kyverno PolicyException, OPA Gatekeeper's
Config exempting namespaces, a DRA claim with `adminAccess: true`. Each passed green."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Run, git_in

EXCEPTION = """\
apiVersion: kyverno.io/v2
kind: PolicyException
metadata: {name: app-debug, namespace: app}
spec:
  exceptions:
    - policyName: disallow-privileged-containers
      ruleNames: [privileged-containers]
  match:
    any:
      - resources: {kinds: [Pod], namespaces: [app]}
"""
CLAIM = """\
apiVersion: resource.k8s.io/v1
kind: ResourceClaimTemplate
metadata: {name: gpu-admin, namespace: app}
spec:
  spec:
    devices:
      requests:
        - name: gpu
          exactly: {deviceClassName: gpu.example.com, adminAccess: true}
"""


def test_a_pull_request_adding_an_exception_or_an_admin_claim_is_blocked(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    (tmp_path / "README.md").write_text("app\n")
    git_in(tmp_path, "init", "-q")
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "base")
    git_in(tmp_path, "branch", "base")
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "exception.yaml").write_text(EXCEPTION)
    (tmp_path / "policy" / "gpu.yaml").write_text(CLAIM)
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "debug access")
    run = gatekeeper("scan", "--base", "base", "--format", "json", cwd=tmp_path)
    found = sorted(
        (f["policy_id"], f["file"], f["line"], f["status"])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] in ("K8S-ADMISSION-POLICY-EXCEPTION", "K8S-NODE-DEVICE-ADMIN-ACCESS")
    )
    assert found == [
        ("K8S-ADMISSION-POLICY-EXCEPTION", "policy/exception.yaml", 4, "new"),
        ("K8S-NODE-DEVICE-ADMIN-ACCESS", "policy/gpu.yaml", 4, "new"),
    ]
    assert run.returncode == 1
