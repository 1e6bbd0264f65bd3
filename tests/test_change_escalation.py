"""A known violation made worse by the change is new (red team r02: a tolerated read-only
hostPath /var/log/web made `/`, NET_ADMIN made SYS_ADMIN, stayed "existing" and passed),
while an image version bump of an image with a known finding stays existing."""

from __future__ import annotations

from pathlib import Path

from gatekeeper.change import scan_change
from tests.test_change import Repo

POD = """\
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: web}
spec:
  containers:
    - name: web
      image: %s
      securityContext:
        capabilities: {add: [%s]}
  volumes:
    - name: logs
      hostPath: {path: %s}
"""


def statuses(
    tmp_path: Path, before: tuple[str, str, str], after: tuple[str, str, str]
) -> dict[str, str]:
    repo = Repo(tmp_path / "repo")
    repo.write("pod.yaml", POD % before)
    repo.commit("base")
    repo.branch("pr")
    repo.write("pod.yaml", POD % after)
    repo.commit("change")
    findings = scan_change(repo.root, "main").verdict.findings
    return {f.policy_id: f.status for f in findings if f.status != "fixed"}


def test_a_worse_value_in_a_known_violation_is_new(tmp_path: Path) -> None:
    found = statuses(
        tmp_path, ("nginx:1.25", "NET_ADMIN", "/var/log/web"), ("nginx:1.25", "SYS_ADMIN", "/")
    )
    assert found["K8S-PSS-HOST-PATH"] == "new"
    assert found["K8S-PSS-CAPABILITIES"] == "new"


def test_an_image_version_bump_keeps_known_findings_existing(tmp_path: Path) -> None:
    found = statuses(
        tmp_path, ("nginx:1.25", "NET_ADMIN", "/var/log"), ("nginx:1.27", "NET_ADMIN", "/var/log")
    )
    assert found["K8S-IMAGE-ALLOWED-REGISTRY"] == "existing"  # on the changed line
    assert "new" not in found.values()
