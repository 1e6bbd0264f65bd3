"""A policy repository's pull request: `gatekeeper github` previews what the policy change does
to the consumers its base `.gatekeeper.yml` lists (one a directory of the repository, one a git
repository pinned by `gatekeeper lock`), against the GitHub stand-in."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.conftest import PRIVILEGED_POLICY, REPO, run_cli
from tests.github_standin import StandIn
from tests.test_change import Repo
from tests.test_github import PullRequest, description, pr  # the fixtures
from tests.test_impact import HOST_NETWORK, pod

__all__ = ["description", "pr"]


def policy_repository(pr: PullRequest, tmp_path: Path, fail_on: str = "none") -> Repo:
    """The policy repository's base: two policies under k8s/, consumer `examples/app-a` inside
    it (host network and privileged), consumer b in its own repository (two host-network
    pods), pinned in gatekeeper.lock. Returns consumer b."""
    b = Repo(tmp_path / "consumer-b")
    b.write("deploy/one.yaml", pod("one", False, True))
    b.write("deploy/two.yaml", pod("two", False, True))
    b.commit("b")
    pr.write(
        ".gatekeeper.yml",
        "builtin: false\nimpact:\n  path: k8s\n  consumers:\n    - path: examples/app-a\n"
        f"    - {{git: '{b.root.as_uri()}', ref: main}}\n  failOn: {fail_on}\n",
    )
    pr.write("k8s/privileged.yaml", PRIVILEGED_POLICY)
    pr.write("k8s/host-network.yaml", HOST_NETWORK)
    pr.write("examples/app-a/deploy/pod.yaml", pod("web", True, True))
    locked = run_cli("lock", cwd=pr.root)
    assert locked.returncode == 0, locked.stderr
    return b


def stricter_policies() -> dict[str, str]:
    """The change: host network from low to high (blocking at the consumers' default
    threshold, medium), its message written to break out of the summary's Markdown."""
    stricter = HOST_NETWORK.replace("severity: low", "severity: high").replace(
        'message: "', 'message: "<img src=x> @octocat | '
    )
    return {"k8s/host-network.yaml": stricter}


def impact_findings(standin: StandIn) -> list[tuple[str, str, int, str]]:
    (run,) = standin.check_runs.values()
    return [
        (a["title"], a["path"], a["start_line"], a["message"])
        for a in standin.annotations(run["id"])
        if a["title"].startswith("GK-IMPACT")
    ]


def test_the_preview_is_in_the_summary_and_does_not_fail_by_default(
    pr: PullRequest, tmp_path: Path
) -> None:
    policy_repository(pr, tmp_path)
    standin = pr.open({}, stricter_policies())
    result = pr.run(standin)
    assert result.returncode == 0, result.stderr
    assert "impact: this change would newly block 3 findings in 2 of 2 consumers" in result.stdout
    assert result.outputs["impact-newly-blocking"] == "3" and result.outputs["verdict"] == "pass"
    action = yaml.safe_load((REPO / "action.yml").read_text())
    assert "impact-newly-blocking" in action["outputs"]
    (summary,) = standin.issue_comments
    body = summary["body"]
    assert "**this change would newly block 3 findings in 2 of 2 consumers**" in body
    assert "a preview: it does not fail this check" in body
    b = f"{(tmp_path / 'consumer-b').as_uri()} (main)"
    assert "| examples/app\\-a | **1** | 0 | 0 | 1 | medium |" in body
    assert f"| {b} | **2** | 0 | 0 | 2 | medium |" in body.replace("\\", "")
    assert "| ORG\\-NO\\-HOST\\-NETWORK | examples/app\\-a | **1** | 0 | 0 | 1 |" in body
    assert "| examples/app\\-a | high | ORG\\-NO\\-HOST\\-NETWORK | deploy/pod\\.yaml:5 |" in body
    assert "&lt;img src=x&gt; @&#8203;octocat \\| web uses the host network |" in body
    assert "<img" not in body and "@octocat" not in body
    (run,) = standin.check_runs.values()
    assert run["conclusion"] == "success"
    assert "Impact on consumers" in run["output"]["summary"]
    assert "Impact on consumers" in result.summary  # the job summary too
    # One finding on the policy that newly blocks, at its severity line (in the diff: inline).
    message = (
        "ORG-NO-HOST-NETWORK: this change would newly block 3 findings in 2 of 2 consumers: "
        f"2 in {b}, 1 in examples/app-a"
    )
    assert impact_findings(standin) == [
        ("GK-IMPACT (medium, new)", "k8s/host-network.yaml", 3, message)
    ]
    (comment,) = standin.review_comments
    assert comment["path"] == "k8s/host-network.yaml" and comment["line"] == 3
    assert ":warning:" in comment["body"]


def test_fail_on_new_blocking_and_a_change_cannot_move_what_it_is_compared_with(
    pr: PullRequest, tmp_path: Path
) -> None:
    """The change also drops its consumers from `impact:`, repins consumer b to a clean commit
    and cleans the in-repository consumer: the preview still judges the base's, and says so."""
    b = policy_repository(pr, tmp_path, fail_on="new-blocking")
    (b.root / "deploy/one.yaml").unlink()
    (b.root / "deploy/two.yaml").unlink()
    b.commit("clean")
    pr.write(".gatekeeper.yml", (pr.root / ".gatekeeper.yml").read_text())
    base_lock = (pr.root / "gatekeeper.lock").read_text()
    clean_lock = json.loads(base_lock)
    clean_lock["sources"][0]["commit"] = b.git.head.commit.hexsha
    evasion = {
        ".gatekeeper.yml": "builtin: false\nimpact:\n  consumers: [{path: k8s}]\n",
        "gatekeeper.lock": json.dumps(clean_lock, indent=2) + "\n",
        "examples/app-a/deploy/pod.yaml": pod("web", False, False),
        **stricter_policies(),
    }
    standin = pr.open({"gatekeeper.lock": base_lock}, evasion)
    result = pr.run(standin)
    assert result.returncode == 1, result.stderr
    assert "newly block 3 findings in 2 of 2 consumers" in result.stdout
    (run,) = standin.check_runs.values()
    assert run["conclusion"] == "failure"
    assert [(title, path, line) for title, path, line, _ in impact_findings(standin)] == [
        ("GK-IMPACT (medium, new)", "k8s/host-network.yaml", 3)
    ]
    body = standin.issue_comments[0]["body"]
    assert "newly blocking findings fail this check" in body
    for note in (
        "this change edits \\`impact:\\` in .gatekeeper.yml",
        "this change moves consumer pins in gatekeeper.lock",
        "this change edits the consumer examples/app\\-a",
    ):
        assert note in body.replace("\\.", "."), note


def test_policies_of_the_change_that_do_not_load_are_a_finding_at_their_line(
    pr: PullRequest, tmp_path: Path
) -> None:
    policy_repository(pr, tmp_path)
    broken = HOST_NETWORK.replace("severity: low", "severity: urgent")
    standin = pr.open({}, {"k8s/host-network.yaml": broken})
    result = pr.run(standin)
    assert result.returncode == 0, result.stderr  # failOn none: reported, not failed
    ((title, path, line, message),) = impact_findings(standin)
    assert (title, path, line) == ("GK-IMPACT-ERROR (high, new)", "k8s/host-network.yaml", 3)
    assert "the policies of this change do not load" in message and "urgent" in message


def test_a_consumer_missing_from_the_lock_is_named_at_its_line_and_fails_closed(
    pr: PullRequest, tmp_path: Path
) -> None:
    policy_repository(pr, tmp_path, fail_on="new-blocking")
    config = (pr.root / ".gatekeeper.yml").read_text()
    pr.write(".gatekeeper.yml", config.replace("ref: main", "ref: v9"))  # not in the lock
    standin = pr.open({}, stricter_policies())
    result = pr.run(standin)
    assert result.returncode == 1, result.stderr
    ((title, path, line, message), blocking) = impact_findings(standin)  # by file
    assert blocking[:3] == ("GK-IMPACT (medium, new)", "k8s/host-network.yaml", 3)
    assert (title, path, line) == ("GK-IMPACT-ERROR (high, new)", ".gatekeeper.yml", 6)
    assert "is not locked; run `gatekeeper lock`" in message
    body = standin.issue_comments[0]["body"]
    assert "would newly block 1 finding in 1 of 1 consumer; 1 more not judged" in body


def test_a_change_that_leaves_the_policies_as_they_are_measures_nothing(
    pr: PullRequest, tmp_path: Path
) -> None:
    policy_repository(pr, tmp_path, fail_on="new-blocking")
    standin = pr.open({}, {"README.md": "words\n", "examples/app-a/deploy/pod.yaml": "x: 1\n"})
    result = pr.run(standin)
    assert result.returncode == 0, result.stderr
    assert impact_findings(standin) == []
    body = standin.issue_comments[0]["body"]
    assert "this change leaves the policies in k8s as they are: no consumer to judge" in body
    assert "| Consumer |" not in body and "newly block" not in body  # nothing was measured
