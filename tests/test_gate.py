"""The gate the pull request cannot switch off, end to end against the GitHub stand-in: inputs
only tighten the base configuration, changes to the gate's workflows and CODEOWNERS block until
another person approves, the summary says whether the check is required, merge queues."""

from __future__ import annotations

from typing import Any

import git

from tests import test_github
from tests.github_standin import StandIn, hunk_lines
from tests.github_standin.gate_routes import add_review, dismiss, ruleset_requiring
from tests.test_github import REPOSITORY, PullRequest, Result, pod

# test_github's fixtures: a temp repository with a pull request, and GitHub's OpenAPI description.
description = test_github.description
pr = test_github.pr

WORKFLOW = ".github/workflows/gatekeeper.yml"
WORKFLOW_TEXT = """\
name: gatekeeper
on: [pull_request, pull_request_review]
jobs:
  policy:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with: {{fetch-depth: 0}}
      - uses: acme/gatekeeper@v1
        with:
          fail-on: {fail_on}
"""


def workflow(fail_on: str = "new") -> str:
    return WORKFLOW_TEXT.format(fail_on=fail_on)


def event(pr: PullRequest, **pull: Any) -> dict[str, Any]:
    """A pull_request event as GitHub sends it: author and base branch included."""
    return {
        "number": 7,
        "pull_request": {
            "number": 7,
            "user": {"login": "alice"},
            "head": {"sha": pr.head, "repo": {"full_name": REPOSITORY}},
            "base": {"sha": pr.base, "ref": "main", "repo": {"full_name": REPOSITORY}},
            **pull,
        },
    }


WORKFLOW_ENV = {"GITHUB_WORKFLOW_REF": f"{REPOSITORY}/{WORKFLOW}@refs/pull/7/merge"}


def run(pr: PullRequest, standin: StandIn, *args: str, **env: str) -> Result:
    return pr.run(standin, *args, event=event(pr), extra_env={**WORKFLOW_ENV, **env})


def push(pr: PullRequest, standin: StandIn, files: dict[str, str]) -> str:
    """Another commit on the pull request's branch."""
    for name, text in files.items():
        pr.write(name, text)
    pr.head = pr.commit("push")
    standin.pull.head_sha = pr.head
    standin.pull.hunk_lines = hunk_lines(pr.git.git.diff(pr.base, pr.head))
    return pr.head


def gate_findings(standin: StandIn, code: str) -> list[str]:
    (summary,) = standin.issue_comments
    return [line for line in summary["body"].splitlines() if code.replace("-", "\\-") in line]


def test_looser_inputs_are_ignored_and_reported(pr: PullRequest) -> None:
    standin = pr.open({WORKFLOW: workflow()}, {"deploy/pod.yaml": pod(("web", True))})
    result = run(
        pr,
        standin,
        "--fail-on",
        "none",
        "--severity-threshold",
        "critical",
        "--comment-mode",
        "none",
        "--filter-mode",
        "added",
        "--no-builtin",  # the config already says builtin: false: not a loosening
        "--policies",
        "policies",
    )
    assert result.returncode == 1, result.stderr
    assert result.outputs["verdict"] == "fail" and result.outputs["blocking"] == "1"
    assert len(standin.issue_comments) == 1 and len(standin.reviews) == 1  # comments stay on
    rows = gate_findings(standin, "GK-GATE-INPUT")
    assert len(rows) == 4 and all(":warning:" in row for row in rows), (
        rows
    )  # reported, not blocking
    body = standin.issue_comments[0]["body"]
    for name in ("fail\\-on", "severity\\-threshold", "comment\\-mode", "policies"):
        assert f"input {name}: " in body, name
    # Pointed at the input's line in the workflow that ran: `fail-on:` is line 11.
    assert f"{WORKFLOW.replace('.', chr(92) + '.').replace('-', chr(92) + '-')}:11" in body
    assert "builtin" not in body.split("### Notes")[1]


def test_inputs_the_base_configuration_allows_are_honoured(pr: PullRequest) -> None:
    config = (
        "builtin: false\nseverityThreshold: critical\npolicies:\n  - path: policies\n"
        "gate:\n  failOn: none\n  commentMode: none\n  policies: [extra]\n"
    )
    standin = pr.open(
        {".gatekeeper.yml": config, "extra/.keep": ""}, {"deploy/pod.yaml": pod(("web", True))}
    )
    result = run(
        pr, standin, "--fail-on", "none", "--comment-mode", "none", "--policies", "./extra/"
    )
    assert result.returncode == 0, result.stderr
    assert standin.issue_comments == [] and standin.reviews == []
    assert "GK-GATE-INPUT" not in result.summary
    # A stricter input than the base is honoured: threshold high makes the finding block.
    tighter = run(pr, standin, "--fail-on", "new", "--severity-threshold", "high")
    assert tighter.returncode == 1 and tighter.outputs["blocking"] == "1"


def test_base_and_head_flags_cannot_move_the_judged_commits(pr: PullRequest) -> None:
    """`--base <head>` would judge an empty diff: ignored on a pull request event."""
    standin = pr.open({}, {"deploy/pod.yaml": pod(("web", True))})
    result = run(pr, standin, "--base", pr.head)
    assert result.returncode == 1, result.stderr
    assert "input \\-\\-base" in standin.issue_comments[0]["body"]


def test_workflow_change_blocks_until_another_person_approves(pr: PullRequest) -> None:
    standin = pr.open({WORKFLOW: workflow()}, {WORKFLOW: workflow() + "# tidy\n"})
    first = run(pr, standin)
    assert first.returncode == 1, first.stderr
    (row,) = gate_findings(standin, "GK-GATE-CHANGE")
    assert ":no_entry:" in row and "runs gatekeeper" in row
    (comment,) = standin.review_comments  # inline, on the changed line of the workflow
    assert comment["path"] == WORKFLOW and comment["line"] == 12
    # Neither a bot's approval (a workflow's token may approve) nor a mere comment counts.
    add_review(standin, "github-actions[bot]", "APPROVED", bot=True)
    add_review(standin, "bob", "COMMENTED")
    assert run(pr, standin).returncode == 1
    # Nor does anyone's on a public repository: GitHub shows it and never counts it.
    add_review(standin, "drive-by", "APPROVED", association="NONE")
    add_review(standin, "first-timer", "APPROVED", association="FIRST_TIME_CONTRIBUTOR")
    assert run(pr, standin).returncode == 1
    try:
        add_review(standin, "alice", "APPROVED")  # the stand-in refuses it, as GitHub does
        raise AssertionError("GitHub does not let an author approve their own pull request")
    except ValueError:
        pass
    add_review(standin, "bob", "APPROVED")
    approved = run(pr, standin)
    assert approved.returncode == 0, approved.stdout
    (row,) = gate_findings(standin, "GK-GATE-CHANGE")
    assert ":warning:" in row and "approved by @&#8203;bob" in row
    # A dismissed approval no longer counts; nor does one followed by a request for changes.
    dismiss(standin, "bob")
    assert run(pr, standin).returncode == 1
    add_review(standin, "carol", "APPROVED")
    add_review(standin, "carol", "CHANGES_REQUESTED")
    assert run(pr, standin).returncode == 1


def test_approval_of_an_older_commit_counts_only_while_the_gate_file_is_unchanged(
    pr: PullRequest,
) -> None:
    standin = pr.open({WORKFLOW: workflow()}, {WORKFLOW: workflow() + "# tidy\n"})
    add_review(standin, "bob", "APPROVED", commit_id=pr.head)
    push(pr, standin, {"deploy/pod.yaml": pod(("web", False))})  # the workflow is as approved
    assert run(pr, standin).returncode == 0
    push(pr, standin, {WORKFLOW: workflow("none")})  # approve a harmless version, push another
    result = run(pr, standin)
    assert result.returncode == 1, result.stdout
    assert any(":no_entry:" in row for row in gate_findings(standin, "GK-GATE-CHANGE"))


def test_a_new_workflow_that_could_forge_the_check_blocks(pr: PullRequest) -> None:
    forge = (
        "on: pull_request\npermissions:\n  checks: write\njobs:\n  x:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: ./report-green.sh\n"
    )
    unrelated = "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make\n"
    standin = pr.open(
        {".github/workflows/test.yml": unrelated},
        {".github/workflows/forge.yml": forge, ".github/workflows/test.yml": unrelated + "#\n"},
    )
    result = run(pr, standin)
    assert result.returncode == 1, result.stderr
    (row,) = gate_findings(standin, "GK-GATE-CHANGE")  # the unrelated workflow is no noise
    assert "forge\\.yml" in row and "may write check runs" in row


def test_codeowners_decide_who_may_approve(pr: PullRequest) -> None:
    owners = (
        "* @everyone\n/.github/ @acme/platform\npolicies/ @carol\n.gatekeeper.yml @carol\n"
        "docs/ @writers\n"
    )
    standin = pr.open(
        {WORKFLOW: workflow(), ".github/CODEOWNERS": owners},
        {WORKFLOW: workflow() + "# tidy\n"},
    )
    standin.gate.teams["acme/platform"] = {"dave"}
    add_review(standin, "bob", "APPROVED")  # not an owner of the workflow
    result = run(pr, standin)
    assert result.returncode == 1, result.stderr
    (row,) = gate_findings(standin, "GK-GATE-CHANGE")
    assert "@&#8203;acme/platform" in row and "may not read the members" not in row
    add_review(standin, "dave", "APPROVED")  # a member of the owning team
    standin.gate.teams_readable = False  # a GITHUB_TOKEN: cannot tell, so it still blocks
    unreadable = run(pr, standin)
    assert unreadable.returncode == 1
    (row,) = gate_findings(standin, "GK-GATE-CHANGE")
    assert "the token may not read the members of @&#8203;acme/platform" in row
    standin.gate.teams_readable = True
    assert run(pr, standin).returncode == 0
    assert any(
        r.path == "/orgs/acme/teams/platform/memberships/dave" and r.status == 200
        for r in standin.requests
    )


def test_codeowners_change_blocks_only_when_it_moves_a_guarded_path(pr: PullRequest) -> None:
    owners = "/.github/ @carol\npolicies/ @carol\ndocs/ @writers\n"
    standin = pr.open(
        {".github/CODEOWNERS": owners},
        {".github/CODEOWNERS": owners.replace("docs/ @writers", "docs/ @readers")},
    )
    assert run(pr, standin).returncode == 0  # noise: docs are no gate file
    assert gate_findings(standin, "GK-GATE-CHANGE") == []
    push(pr, standin, {".github/CODEOWNERS": owners.replace("policies/ @carol", "policies/ @m")})
    result = run(pr, standin)
    assert result.returncode == 1, result.stderr
    (row,) = gate_findings(standin, "GK-GATE-CHANGE")
    assert "policies/no\\-privileged\\.yaml" in row and "CODEOWNERS:2" in row
    add_review(standin, "carol", "APPROVED")  # owner of .github/ in the base revision
    assert run(pr, standin).returncode == 0


def test_summary_says_whether_the_check_is_required(pr: PullRequest) -> None:
    standin = pr.open({}, {"deploy/pod.yaml": pod(("web", False))})

    def notes() -> str:
        return standin.issue_comments[-1]["body"].split("### Notes")[1]

    # The branch as anyone may read it says it is not protected.
    unprotected = run(pr, standin)
    assert "WARNING: the check 'gatekeeper' is not required on main" in notes()
    assert "does not block merging" in notes()
    assert "::warning title=gatekeeper::WARNING: the check" in unprotected.stdout
    standin.gate.protected["main"] = ["ci/test"]
    run(pr, standin)
    assert "is not required on main" in notes()
    standin.gate.protected["main"] = ["ci/test", "gatekeeper"]
    run(pr, standin)
    assert "is required on main: branch protection requires it" in notes()
    # Without the branch's summary, the protection endpoint: 403 for an integration token.
    standin.gate.branch_details = False
    named = run(pr, standin, GITHUB_JOB="gatekeeper")
    assert "required on main is unknown \\(the token cannot read branch protection\\)" in notes()
    assert any(
        r.path.endswith("/protection/required_status_checks") and r.status == 403
        for r in standin.requests
    )
    assert "this job is named 'gatekeeper' like the check" in notes()
    assert "::warning title=gatekeeper::WARNING: this job is named" in named.stdout
    standin.gate.admin = True
    run(pr, standin)
    assert "is required on main: branch protection requires it" in notes()
    standin.gate.admin = False
    standin.gate.rules["main"] = [ruleset_requiring("gatekeeper")]
    run(pr, standin)
    assert "is required on main: a ruleset requires it" in notes()


def test_merge_group_concludes_the_check_and_comments_nothing(pr: PullRequest) -> None:
    standin = pr.open({}, {"deploy/pod.yaml": pod(("web", True))})
    group = {
        "merge_group": {
            "head_sha": pr.head,
            "head_ref": f"refs/heads/gh-readonly-queue/main/pr-7-{pr.head}",
            "base_sha": pr.base,
            "base_ref": "refs/heads/main",
        }
    }
    result = pr.run(standin, event=group, extra_env={"GITHUB_EVENT_NAME": "merge_group"})
    assert result.returncode == 1, result.stderr
    assert standin.issue_comments == [] and standin.reviews == []
    (check,) = standin.check_runs.values()
    assert check["conclusion"] == "failure" and check["head_sha"] == pr.head
    assert result.outputs["degraded"] == "false"


def test_merge_group_commit_is_not_the_pull_requests_head_and_still_gets_the_verdict(
    pr: PullRequest,
) -> None:
    """The queue's merge commit is never the pull request's head: the stale-run check (which
    skips writes on the pull request once its head moved) must not skip the check run on the
    queued commit, nor the commit status a personal access token falls back to."""
    standin = pr.open({}, {"deploy/pod.yaml": pod(("web", True))})
    queued = pr.git.git.commit_tree(
        f"{pr.head}^{{tree}}", "-p", pr.base, "-p", pr.head, "-m", "Merge pull request #7"
    )
    standin.repo_commits.append(queued)
    group = {
        "merge_group": {
            "head_sha": queued,
            "head_ref": f"refs/heads/gh-readonly-queue/main/pr-7-{pr.head}",
            "base_sha": pr.base,
            "base_ref": "refs/heads/main",
        }
    }
    queue_env = {"GITHUB_EVENT_NAME": "merge_group", "GITHUB_SHA": queued}
    result = pr.run(standin, event=group, extra_env=queue_env)
    assert result.returncode == 1, result.stderr
    assert standin.issue_comments == [] and standin.reviews == []
    (check,) = standin.check_runs.values()
    assert check["conclusion"] == "failure" and check["head_sha"] == queued
    assert result.outputs["degraded"] == "false"
    assert "nothing written" not in result.summary + result.stderr
    # A personal access token cannot create check runs: the status lands on the queued commit.
    pat = pr.run(standin, token="ghp_queue", event=group, extra_env=queue_env)
    assert pat.returncode == 1, pat.stderr
    (status,) = standin.statuses
    assert (status["sha"], status["state"], status["context"]) == (queued, "failure", "gatekeeper")
    assert standin.issue_comments == [] and standin.reviews == []
    assert "nothing written" not in pat.summary + pat.stderr


def test_trusted_workflow_judges_a_fork_change_checked_out_as_data(pr: PullRequest) -> None:
    """pull_request_target: the base branch's workflow, a fork's change cloned into ./change
    (as templates/workflows/gatekeeper-trusted.yml does); the token may write, so the run
    comments and reports the check instead of degrading as on `pull_request` from a fork."""
    standin = pr.open({}, {"deploy/pod.yaml": pod(("web", True))})
    change = pr.tmp / "workspace" / "change"
    git.Repo.clone_from(pr.root, change, no_checkout=True).git.checkout(pr.head)
    target = event(pr, head={"sha": pr.head, "repo": {"full_name": "someone/app"}})
    result = pr.run(
        standin,
        "--root",
        str(change),
        event=target,
        extra_env={"GITHUB_EVENT_NAME": "pull_request_target", **WORKFLOW_ENV},
    )
    assert result.returncode == 1, result.stderr
    assert result.outputs["degraded"] == "false"
    assert len(standin.issue_comments) == 1 and len(standin.reviews) == 1
    (check,) = standin.check_runs.values()
    assert check["conclusion"] == "failure" and check["head_sha"] == pr.head
    # The same fork on `pull_request` gets a read-only token: it degrades, and still fails.
    degraded = pr.run(standin, "--root", str(change), event=target, extra_env=WORKFLOW_ENV)
    assert degraded.returncode == 1 and degraded.outputs["degraded"] == "true"


def test_standin_gate_answers_match_githubs_response_schemas(pr: PullRequest) -> None:
    """The stand-in's reviews, required status checks, rules and team memberships are shaped as
    GitHub's OpenAPI description says (and 404 only where GitHub documents or sends it)."""
    standin = pr.open({}, {"deploy/pod.yaml": pod(("web", False))})
    add_review(standin, "bob", "APPROVED")
    standin.gate.admin = True
    standin.gate.protected["main"] = ["gatekeeper"]
    standin.gate.rules["main"] = [ruleset_requiring("gatekeeper")]
    standin.gate.teams["acme/platform"] = {"dave"}
    repo = f"/repos/{REPOSITORY}"
    for path in (
        f"{repo}/pulls/7/reviews",
        f"{repo}/branches/main",
        f"{repo}/branches/main/protection/required_status_checks",
        f"{repo}/rules/branches/main",
        "/orgs/acme/teams/platform/memberships/dave",
    ):
        status, body, _ = standin.handle("GET", path, None, "token t")
        assert status == 200, path
        assert standin.description.response_errors("GET", path, status, body) == [], path
    status, body, _ = standin.handle(
        "GET", f"{repo}/branches/dev/protection/required_status_checks", None, "token t"
    )
    assert (status, body["message"]) == (404, "Branch not protected")


def test_owners_come_from_the_base_codeowners_not_from_the_change(pr: PullRequest) -> None:
    """A change that names a friend owner of the workflows in CODEOWNERS, and edits a
    workflow: the friend's approval does not count; the base revision's owner's does."""
    owners = "/.github/ @carol\n"
    standin = pr.open(
        {WORKFLOW: workflow(), ".github/CODEOWNERS": owners},
        {WORKFLOW: workflow("none"), ".github/CODEOWNERS": "/.github/ @friend\n"},
    )
    add_review(standin, "friend", "APPROVED")
    result = run(pr, standin)
    assert result.returncode == 1, result.stderr
    rows = gate_findings(standin, "GK-GATE-CHANGE")
    assert len(rows) == 2 and all(":no_entry:" in row for row in rows), rows
    assert all("@&#8203;carol" in row for row in rows)
    add_review(standin, "carol", "APPROVED")
    assert run(pr, standin).returncode == 0


def test_a_skip_added_ahead_of_a_violation_needs_a_waivers_owner(pr: PullRequest) -> None:
    """An annotation for a policy its document does not violate would waive the next
    change's violation unreviewed: it blocks until a code owner of the waivers file approves
    the pull request as it is (a later push to the annotated file needs a new approval)."""
    skip = "# gatekeeper:skip=TEST-NO-PRIVILEGED the node agent needs it, OPS-9\n"
    owners = "* @everyone\n.gatekeeper/ @carol\n"
    standin = pr.open(
        {"deploy/pod.yaml": pod(("web", False)), ".github/CODEOWNERS": owners},
        {"deploy/pod.yaml": skip + pod(("web", False))},
    )
    first = run(pr, standin)
    assert first.returncode == 1, first.stdout
    (row,) = gate_findings(standin, "GK-INLINE-SKIP-AHEAD")
    assert ":no_entry:" in row
    add_review(standin, "bob", "APPROVED")  # not an owner of the waivers file
    assert run(pr, standin).returncode == 1
    add_review(standin, "carol", "APPROVED", commit_id=pr.head)
    approved = run(pr, standin)
    assert approved.returncode == 0, approved.stdout
    (row,) = gate_findings(standin, "GK-INLINE-SKIP-AHEAD")
    assert "approved by @&#8203;carol" in row
    push(pr, standin, {"deploy/pod.yaml": skip.replace("OPS-9", "OPS-10") + pod(("web", False))})
    assert run(pr, standin).returncode == 1
