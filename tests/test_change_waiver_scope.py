"""A waiver covers what it was written for (red team r09: the README's node-agent waiver for
a /var/log hostPath also waived a containerd socket and `/` that a later change added); a
waiver merged ahead of the change it approves still covers what that change adds."""

from __future__ import annotations

import datetime
from pathlib import Path

from gatekeeper.change import scan_change
from tests.test_change import Repo

AGENT = """\
apiVersion: v1
kind: Pod
metadata: {name: node-agent, namespace: agents}
spec:
  containers:
    - name: agent
      image: ghcr.io/a/agent:1.0
  volumes:
%s"""
LOGS = "    - {name: logs, hostPath: {path: /var/log}}\n"
ROOT = "    - {name: root, hostPath: {path: /}}\n"


def waivers() -> str:
    expires = datetime.date.today() + datetime.timedelta(days=30)
    return (
        "waivers:\n  - {policy: K8S-PSS-HOST-PATH, file: agent.yaml, name: node-agent,"
        f" owner: platform, reason: reads /var/log, ticket: OPS-1, expires: {expires}}}\n"
    )


def host_paths(repo: Repo) -> list[tuple[str, str]]:
    findings = scan_change(repo.root, "main").verdict.findings
    return sorted(
        (f.message.split(";")[0], f.status)
        for f in findings
        if f.policy_id == "K8S-PSS-HOST-PATH" and f.status != "fixed"
    )


def test_a_waiver_does_not_cover_what_a_later_change_adds(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    repo.write(".gatekeeper/waivers.yml", waivers())
    repo.write("agent.yaml", AGENT % LOGS)
    repo.commit("base")
    repo.branch("pr")
    repo.write("agent.yaml", AGENT % (LOGS + ROOT))
    repo.commit("mount /")
    assert host_paths(repo) == [("volume root mounts the host path /", "new")]


def test_a_waiver_merged_ahead_approves_what_the_change_adds(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    repo.write(".gatekeeper/waivers.yml", waivers())
    repo.write("agent.yaml", AGENT % "    []\n")
    repo.commit("base with the waiver")
    repo.branch("pr")
    repo.write("agent.yaml", AGENT % LOGS)
    repo.commit("mount /var/log")
    assert host_paths(repo) == [("volume logs mounts the host path /var/log", "waived")]
