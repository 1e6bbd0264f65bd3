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


PRIVILEGED = """\
apiVersion: v1
kind: Pod
metadata: {name: node-agent, namespace: agents}
spec:
  containers:
    - name: agent
      image: %s
      securityContext: {privileged: true}
  volumes:
    - {name: logs, hostPath: {path: /var/log}}
"""


def test_a_waiver_follows_the_image_repository_not_its_tag(tmp_path: Path) -> None:
    """A waived privileged agent whose image becomes another owner's keeps no waiver
    (red team r15); a tag or digest bump of the same repository does."""
    repo = Repo(tmp_path / "repo")
    expires = datetime.date.today() + datetime.timedelta(days=30)
    repo.write(
        ".gatekeeper/waivers.yml",
        "waivers:\n"
        + "".join(
            f"  - {{policy: {policy}, file: agent.yaml, name: node-agent, owner: platform,"
            f" reason: reads /var/log, ticket: OPS-1, expires: {expires}}}\n"
            for policy in ("K8S-PSS-PRIVILEGED", "K8S-PSS-HOST-PATH")
        ),
    )
    repo.write("agent.yaml", PRIVILEGED % "ghcr.io/acme/agent:1.0")
    repo.commit("base")
    repo.branch("pr")

    def statuses() -> dict[str, tuple[str, str]]:
        return {
            f.policy_id: (f.status, f.message)
            for f in scan_change(repo.root, "main", filter_mode="all").verdict.findings
            if f.policy_id in ("K8S-PSS-PRIVILEGED", "K8S-PSS-HOST-PATH")
        }

    repo.write("agent.yaml", PRIVILEGED % ("ghcr.io/acme/agent:1.1@sha256:" + "a" * 64))
    repo.commit("bump")
    assert {policy: status for policy, (status, _) in statuses().items()} == {
        "K8S-PSS-PRIVILEGED": "waived",
        "K8S-PSS-HOST-PATH": "waived",
    }
    repo.write("agent.yaml", PRIVILEGED % "ghcr.io/other/agent:1.1")
    repo.commit("another owner's image")
    found = statuses()
    assert {policy: status for policy, (status, _) in found.items()} == {
        "K8S-PSS-PRIVILEGED": "new",
        "K8S-PSS-HOST-PATH": "new",
    }
    assert "another image repository than in the base (ghcr.io/other/agent, was:" in (
        found["K8S-PSS-PRIVILEGED"][1]
    )


def test_an_image_swapped_in_one_release_of_a_chart_is_seen(tmp_path: Path) -> None:
    """A chart's finding said once for two releases records both releases' images: another
    repository in the second release is new too."""
    repo = Repo(tmp_path / "repo")
    repo.write("charts/agent/Chart.yaml", "apiVersion: v2\nname: agent\nversion: 0.1.0\n")
    repo.write("charts/agent/values.yaml", "image: ghcr.io/acme/agent:1.0\n")
    repo.write(
        "charts/agent/templates/pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: agent, namespace: agents}\nspec:\n"
        "  containers:\n  - name: agent\n    image: {{ .Values.image }}\n"
        "    securityContext: {privileged: true}\n",
    )
    releases = (
        "releases:\n- {name: a, chart: ./charts/agent}\n- {name: b, chart: ./charts/agent%s}\n"
    )
    repo.write("helmfile.yaml", releases % "")
    repo.commit("base")
    repo.branch("pr")
    repo.write("helmfile.yaml", releases % ", values: [{image: 'ghcr.io/other/agent:1.0'}]")
    repo.commit("release b runs another image")
    findings = scan_change(repo.root, "main", filter_mode="all").verdict.findings
    [privileged] = [
        f for f in findings if f.policy_id == "K8S-PSS-PRIVILEGED" and f.status != "fixed"
    ]
    assert privileged.status == "new", privileged
    assert "ghcr.io/other/agent" in privileged.message


def named_waiver(glob: str = "") -> str:
    """A waiver naming the object (and a file glob when given), not the file it is in."""
    expires = datetime.date.today() + datetime.timedelta(days=30)
    where = f" file: '{glob}'," if glob else ""
    return (
        f"waivers:\n  - {{policy: K8S-PSS-HOST-PATH,{where} name: node-agent, owner: platform,"
        f" reason: reads /var/log, ticket: OPS-1, expires: {expires}}}\n"
    )


def test_a_waiver_of_an_untouched_file_does_not_cover_a_new_object(tmp_path: Path) -> None:
    """The base side of a change scan reads only what the change touches: a waiver whose
    findings are all in untouched files looked written ahead of the change and covered a
    new object mounting `/` in another namespace (red team s14 v04)."""
    for glob in ("", "agents/**"):
        repo = Repo(tmp_path / f"repo{len(glob)}")
        repo.write(".gatekeeper/waivers.yml", named_waiver(glob))
        repo.write("agents/agent.yaml", AGENT % LOGS)
        repo.commit("base")
        repo.branch("pr")
        other = (AGENT % ROOT).replace("namespace: agents", "namespace: app")
        repo.write("agents/app/agent.yaml", other)
        repo.commit("a second node-agent")
        assert host_paths(repo) == [("volume root mounts the host path /", "new")], glob


def test_a_named_waiver_with_nothing_in_the_base_still_approves_ahead(tmp_path: Path) -> None:
    """Looking at the whole base keeps an approval merged ahead of its change an approval."""
    repo = Repo(tmp_path / "repo")
    repo.write(".gatekeeper/waivers.yml", named_waiver())
    repo.write("agents/other.yaml", (AGENT % "    []\n").replace("node-agent", "other"))
    repo.commit("base with the waiver")
    repo.branch("pr")
    repo.write("agents/agent.yaml", AGENT % LOGS)
    repo.commit("the agent")
    assert host_paths(repo) == [("volume logs mounts the host path /var/log", "waived")]


def test_an_inline_skip_does_not_cover_its_finding_made_worse(tmp_path: Path) -> None:
    """As a waiver (red team r09), an annotation written for hostPath /var/log does not speak
    for the same volume made `/` (red team s14 v05); an unrelated edit keeps it covered."""
    repo = Repo(tmp_path / "repo")
    skip = "# gatekeeper:skip=K8S-PSS-HOST-PATH the agent reads /var/log (OPS-1)\n"
    repo.write("agent.yaml", skip + AGENT % LOGS)
    repo.commit("base")
    repo.branch("pr")
    repo.write("agent.yaml", skip + AGENT % LOGS.replace("/var/log", "/"))
    repo.commit("mount / instead")
    assert host_paths(repo) == [("volume logs mounts the host path /", "new")]
    repo.write("agent.yaml", skip + (AGENT % LOGS).replace("1.0", "1.1"))
    repo.commit("a tag bump only")
    findings = scan_change(repo.root, "main", filter_mode="all").verdict.findings
    assert [f.status for f in findings if f.policy_id == "K8S-PSS-HOST-PATH"] == ["waived"]


def test_a_waiver_does_not_follow_its_object_into_a_new_overlay(tmp_path: Path) -> None:
    """A waiver written for what the base deploys (node-agent in staging) does not cover the
    same object newly deployed to prod by a new overlay (red team s14 v06); a waiver naming
    prod, merged ahead, does."""
    expires = datetime.date.today() + datetime.timedelta(days=30)

    def waiver(extra: str = "") -> str:
        return (
            f"  - {{policy: K8S-PSS-HOST-PATH, name: node-agent,{extra} owner: platform,"
            f" reason: staging only, ticket: OPS-1, expires: {expires}}}\n"
        )

    for waivers_text, status in (
        ("waivers:\n" + waiver(), "new"),
        ("waivers:\n" + waiver() + waiver(" namespace: prod,"), "waived"),
    ):
        repo = Repo(tmp_path / status)
        repo.write(".gatekeeper/waivers.yml", waivers_text)
        repo.write("base/agent.yaml", (AGENT % LOGS).replace("namespace: agents", ""))
        repo.write("base/kustomization.yaml", "resources: [agent.yaml]\n")
        repo.write("staging/kustomization.yaml", "namespace: staging\nresources: [../base]\n")
        repo.commit("base")
        repo.branch("pr")
        repo.write("prod/kustomization.yaml", "namespace: prod\nresources: [../base]\n")
        repo.commit("prod")
        assert host_paths(repo) == [("volume logs mounts the host path /var/log", status)]
