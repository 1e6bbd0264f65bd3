"""A rendered name that carries a hash of content (`{{ ... | sha256sum | trunc 7 }}`, a
kustomize generator's suffix) changes with that content, not with what the object is: its
findings stay existing when only the hashed content changes (real-repo check, session 10:
homelab's gitea config Job made 13 findings new for a comment in its config file)."""

from __future__ import annotations

from gatekeeper.change import scan_change
from tests.test_change import Repo, pod
from tests.test_change import repo as repo  # the fixture

TEMPLATE = pod(("c", True)).replace(
    "metadata: {name: p, namespace: team}",
    "metadata: {name: 'config-{{ .Files.Get \"files/config.ini\" | sha256sum | trunc 7 }}',"
    " namespace: team}",
)


def test_a_name_hashing_content_keeps_its_findings_existing(repo: Repo) -> None:
    repo.write("charts/app/Chart.yaml", "apiVersion: v2\nname: app\nversion: 0.1.0\n")
    repo.write("charts/app/values.yaml", "{}\n")
    repo.write("charts/app/files/config.ini", "[a]\nb = 1\n")
    repo.write("charts/app/templates/pod.yaml", TEMPLATE)
    repo.commit("base")
    repo.branch("pr")
    repo.write("charts/app/files/config.ini", "# a comment\n[a]\nb = 1\n")
    repo.commit("pull request")
    findings = scan_change(repo.root, "main", filter_mode="all").verdict.findings
    privileged = [f for f in findings if f.policy_id == "TEST-NO-PRIVILEGED"]
    assert privileged and {f.status for f in privileged} == {"existing"}
    assert not [f for f in findings if f.blocking]
