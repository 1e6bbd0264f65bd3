"""`gatekeeper github` end to end: real temp git repos, the real CLI in a subprocess, PyGithub
talking over HTTP to a GitHub stand-in that validates every request against GitHub's OpenAPI."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import git
import pytest

from gatekeeper import kubeschema
from tests.github_standin import PullRequestState, StandIn, hunk_lines, start
from tests.github_standin.openapi import Description, description_path

REPOSITORY = "acme/app"
POLICY = """\
id: TEST-NO-PRIVILEGED
title: No privileged containers
severity: high
description: test policy
remediation: set privileged to false
match: {source: kubernetes, kinds: [Pod]}
each: spec.containers[*]
rule: "!item.?securityContext.?privileged.orValue(false)"
field: securityContext.privileged
message: "{{ item.name }} is privileged"
fix:
  set: {securityContext.privileged: false}
"""
CONFIG = "builtin: false\npolicies:\n  - path: policies\n"


def pod(*containers: tuple[str, bool], name: str = "p") -> str:
    rows = ["apiVersion: v1", "kind: Pod", f"metadata: {{name: {name}, namespace: team}}", "spec:"]
    rows.append("  containers:")
    for name, privileged in containers:
        rows += [
            f"    - name: {json.dumps(name)}",
            "      image: ghcr.io/acme/app:1.0",
            "      securityContext:",
            f"        privileged: {str(privileged).lower()}  # keep",
        ]
    return "\n".join(rows) + "\n"


@pytest.fixture(scope="session")
def description() -> Description:
    return Description(description_path())


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str
    summary: str
    outputs: dict[str, str]


class PullRequest:
    """A temp repo: `main` with the config and policy, a `pr` branch with the change."""

    def __init__(self, root: Path, description: Description, tmp: Path) -> None:
        self.root, self.tmp, self.description = root, tmp, description
        self.git = git.Repo.init(root, initial_branch="main")
        with self.git.config_writer() as config:
            config.set_value("user", "name", "test")
            config.set_value("user", "email", "test@example.com")
            config.set_value("commit", "gpgsign", "false")
        self.write(".gatekeeper.yml", CONFIG)
        self.write("policies/no-privileged.yaml", POLICY)
        self.standins: list[StandIn] = []

    def write(self, name: str, text: str) -> None:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def commit(self, message: str) -> str:
        self.git.git.add(A=True)
        self.git.index.commit(message)
        return self.git.head.commit.hexsha

    def open(self, base_files: dict[str, str], head_files: dict[str, str]) -> StandIn:
        for name, text in base_files.items():
            self.write(name, text)
        self.base = self.commit("base")
        self.git.git.checkout("-b", "pr")
        for name, text in head_files.items():
            self.write(name, text)
        self.head = self.commit("change")
        diff = self.git.git.diff(self.base, self.head)
        pull = PullRequestState(7, self.base, self.head, hunk_lines(diff))
        standin = start(self.description, REPOSITORY, pull)
        standin.file_lines = self.file_lines()
        self.standins.append(standin)
        return standin

    def file_lines(self) -> dict[str, int]:
        return {
            str(path.relative_to(self.root)): len(path.read_text().splitlines())
            for path in self.root.rglob("*")
            if path.is_file() and ".git" not in path.relative_to(self.root).parts
        }

    def push(self, standin: StandIn, files: dict[str, str]) -> str:
        """Another commit on the pull request's branch, as GitHub sees a push."""
        old = self.head
        for name, text in files.items():
            self.write(name, text)
        self.head = self.commit("push")
        standin.push(
            self.head,
            hunk_lines(self.git.git.diff(self.base, self.head)),
            self.git.git.diff(old, self.head),
        )
        standin.file_lines = self.file_lines()
        return self.head

    def run(
        self,
        standin: StandIn,
        *args: str,
        fork: bool = False,
        token: str = "t0k",
        head: str = "",
        event: dict[str, Any] | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> Result:
        """`head`: the pull request's head the event names (default: the latest commit);
        `event`/`extra_env`: another event payload (default: pull_request) and variables."""
        head = head or self.head
        event = event or {
            "number": 7,
            "pull_request": {
                "number": 7,
                "head": {
                    "sha": head,
                    "repo": {"full_name": "someone/app" if fork else REPOSITORY},
                },
                "base": {"sha": self.base, "repo": {"full_name": REPOSITORY}},
            },
        }
        (self.tmp / "event.json").write_text(json.dumps(event))
        for name in ("summary.md", "output.txt"):
            (self.tmp / name).write_text("")
        env = {
            **os.environ,
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(self.tmp / "event.json"),
            "GITHUB_REPOSITORY": REPOSITORY,
            "GITHUB_API_URL": standin.url,
            "GITHUB_TOKEN": token,
            "GITHUB_SHA": head,
            "GITHUB_STEP_SUMMARY": str(self.tmp / "summary.md"),
            "GITHUB_OUTPUT": str(self.tmp / "output.txt"),
            "GATEKEEPER_GITHUB_PACE": "0",
            "GATEKEEPER_GITHUB_BACKOFF": "0.001",
            "GATEKEEPER_GITHUB_MAX_WAIT": "0.01",
            **(extra_env or {}),
        }
        proc = subprocess.run(
            [sys.executable, "-m", "gatekeeper", "github", "--root", str(self.root), *args],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return Result(
            proc.returncode,
            proc.stdout,
            proc.stderr,
            (self.tmp / "summary.md").read_text(),
            _outputs((self.tmp / "output.txt").read_text()),
        )


def _outputs(text: str) -> dict[str, str]:
    """Parse GITHUB_OUTPUT's `name<<DELIM / value / DELIM` blocks."""
    out: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        name, delimiter = line.split("<<", 1)
        values = []
        for value in lines:
            if value == delimiter:
                break
            values.append(value)
        out[name] = "\n".join(values)
    return out


@pytest.fixture
def pr(tmp_path: Path, description: Description) -> Iterator[PullRequest]:
    request = PullRequest(tmp_path / "repo", description, tmp_path)
    yield request
    for standin in request.standins:
        standin.stop()
        assert standin.violations == [], standin.violations


Opened = Callable[..., StandIn]


def test_first_run_posts_review_summary_and_failing_check(pr: PullRequest) -> None:
    standin = pr.open(
        {"deploy/other.yaml": pod(("ok", False))},
        {"deploy/pod.yaml": pod(("web", True), ("evil|`@octocat`<img src=x>", True))},
    )
    result = pr.run(standin)
    assert result.returncode == 1, result.stderr
    assert result.outputs == {
        "new": "2",
        "existing": "0",
        "fixed": "0",
        "waived": "0",
        "blocking": "2",
        "verdict": "fail",
        "degraded": "false",
    }
    # One sticky summary, escaped: no live HTML, mention, code span or table break.
    (summary,) = standin.issue_comments
    body = summary["body"]
    assert body.startswith("<!-- gatekeeper:summary gatekeeper -->")
    assert "2 new" in body and "**2 blocking**" in body
    assert "evil\\|\\`@&#8203;octocat\\`&lt;img src=x&gt; is privileged" in body
    assert "<img" not in body and "@octocat" not in body
    # One review with one comment per finding, on the field's line, with an exact suggestion.
    assert len(standin.reviews) == 1
    comments = sorted(standin.review_comments, key=lambda c: c["line"])
    assert [(c["path"], c["line"]) for c in comments] == [
        ("deploy/pod.yaml", 9),
        ("deploy/pod.yaml", 13),
    ]
    assert "<!-- gatekeeper:finding " in comments[0]["body"]
    assert "```suggestion\n        privileged: false  # keep\n```" in comments[0]["body"]
    # A failing check run with an annotation per finding.
    (run,) = standin.check_runs.values()
    assert run["conclusion"] == "failure" and run["head_sha"] == pr.head
    assert [a["start_line"] for a in standin.annotations(run["id"])] == [9, 13]
    assert {a["annotation_level"] for a in standin.annotations(run["id"])} == {"failure"}
    assert "TEST\\-NO\\-PRIVILEGED" in result.summary  # job summary holds the findings too
    assert "gatekeeper: FAIL" in result.stdout


def test_new_finding_outside_the_diff_goes_to_the_summary_only(pr: PullRequest) -> None:
    """Renaming the pod makes its finding new (fingerprints name the resource) while its line,
    9, lies outside the diff hunk (lines 1-6): GitHub would reject an inline comment there."""
    standin = pr.open(
        {"deploy/pod.yaml": pod(("web", True))}, {"deploy/pod.yaml": pod(("web", True), name="q")}
    )
    result = pr.run(standin)
    assert result.returncode == 1, result.stderr
    assert 9 not in standin.pull.hunk_lines["deploy/pod.yaml"]
    assert standin.reviews == []
    # Only `GET /user` fails: GITHUB_TOKEN is an installation token, not a user.
    assert [r.path for r in standin.requests if r.status >= 400] == ["/user"]
    (summary,) = standin.issue_comments
    assert (
        "deploy/pod\\.yaml:9" in summary["body"]
        and "1 of them is not commented inline" in summary["body"]
    )


def test_rerun_edits_the_summary_and_does_not_repeat_inline_comments(pr: PullRequest) -> None:
    standin = pr.open({}, {"deploy/pod.yaml": pod(("web", True))})
    assert pr.run(standin).returncode == 1
    second = pr.run(standin)
    assert second.returncode == 1, second.stderr
    (summary,) = standin.issue_comments
    assert summary["edits"] == 1
    assert len(standin.reviews) == 1 and len(standin.review_comments) == 1
    assert len(standin.check_runs) == 2  # one per run, as a re-run on GitHub does


def test_markers_in_another_bots_comments_are_ignored(pr: PullRequest) -> None:
    """GITHUB_TOKEN cannot read `GET /user`; GraphQL's `viewer` names its bot, so another app's
    bot (or a workflow of the PR with its own app token) cannot pose as gatekeeper."""
    standin = pr.open({}, {"deploy/pod.yaml": pod(("web", True))})
    standin.add_comment("<!-- gatekeeper:summary gatekeeper --> all good", "other[bot]", kind="Bot")
    result = pr.run(standin)
    assert result.returncode == 1, result.stderr
    mine = [c for c in standin.issue_comments if c["user"]["login"] == "github-actions[bot]"]
    assert len(mine) == 1 and standin.issue_comments[0]["body"].endswith("all good")


def test_markers_typed_by_a_user_are_ignored(pr: PullRequest) -> None:
    """A PR author cannot hide an inline comment or hijack the summary by typing our markers."""
    standin = pr.open({}, {"deploy/pod.yaml": pod(("web", True))})
    first = pr.run(standin)
    (ours,) = standin.review_comments
    marker = ours["body"].splitlines()[0]
    standin.issue_comments.clear()
    standin.review_comments.clear()
    standin.add_comment("<!-- gatekeeper:summary --> all good", "mallory")
    standin.add_comment(marker + " nothing to see", "mallory", ("deploy/pod.yaml", 9))
    second = pr.run(standin)
    assert first.returncode == second.returncode == 1
    assert [c["user"]["login"] for c in standin.issue_comments] == [
        "mallory",
        "github-actions[bot]",
    ]
    assert standin.issue_comments[0]["body"] == "<!-- gatekeeper:summary --> all good"
    assert [c["user"]["login"] for c in standin.review_comments] == [
        "mallory",
        "github-actions[bot]",
    ]


def test_fixed_finding_passes_and_summary_says_fixed(pr: PullRequest) -> None:
    standin = pr.open(
        {"deploy/pod.yaml": pod(("web", True))}, {"deploy/pod.yaml": pod(("web", False))}
    )
    result = pr.run(standin)
    assert result.returncode == 0, result.stderr
    assert result.outputs["fixed"] == "1" and result.outputs["verdict"] == "pass"
    (summary,) = standin.issue_comments
    assert "### Fixed by this change" in summary["body"] and "web is privileged" in summary["body"]
    assert standin.reviews == []
    (run,) = standin.check_runs.values()
    assert run["conclusion"] == "success"


def test_waived_finding_and_expiring_waiver_in_the_summary(pr: PullRequest) -> None:
    soon = (datetime.date.today() + datetime.timedelta(days=3)).isoformat()
    waivers = (
        "waivers:\n  - {policy: TEST-NO-PRIVILEGED, name: p, owner: '@platform|team',"
        f" reason: migrating, ticket: T-1, expires: '{soon}'}}\n"
    )
    standin = pr.open({".gatekeeper/waivers.yml": waivers}, {"deploy/pod.yaml": pod(("web", True))})
    result = pr.run(standin)
    assert result.returncode == 0, result.stderr
    assert result.outputs["waived"] == "1" and result.outputs["blocking"] == "0"
    assert standin.reviews == []  # a waived finding gets no inline comment
    (summary,) = standin.issue_comments
    body = summary["body"]
    assert "### Waivers about to expire" in body and soon.replace("-", "\\-") in body
    assert "@&#8203;platform\\|team" in body


def test_fork_pull_request_degrades_and_still_fails(pr: PullRequest) -> None:
    standin = pr.open({}, {"deploy/pod.yaml": pod(("web", True))})
    result = pr.run(standin, fork=True)
    assert result.returncode == 1, result.stderr
    assert standin.writes() == []
    assert (
        "::error file=deploy/pod.yaml,line=9,endLine=9,"
        "title=TEST-NO-PRIVILEGED (high)::web is privileged" in result.stdout
    )
    assert "web is privileged" in result.summary and "fork" in result.summary
    assert result.outputs["degraded"] == "true" and result.outputs["blocking"] == "1"


def test_read_only_token_403_degrades_and_still_fails(pr: PullRequest) -> None:
    standin = pr.open({}, {"deploy/pod.yaml": pod(("web", True))})
    standin.read_only = True
    result = pr.run(standin)
    assert result.returncode == 1, result.stderr
    assert {r.status for r in standin.writes()} == {403}
    assert "::error file=deploy/pod.yaml,line=9," in result.stdout
    assert result.outputs["degraded"] == "true"
    assert "web is privileged" in result.summary


def test_token_without_checks_write_still_comments_and_annotates(pr: PullRequest) -> None:
    standin = pr.open({}, {"deploy/pod.yaml": pod(("web", True))})
    standin.permissions = {"pull-requests"}  # the starter workflow grants no `statuses`
    result = pr.run(standin)
    assert result.returncode == 1, result.stderr
    assert len(standin.issue_comments) == 1 and len(standin.reviews) == 1
    assert "::error file=deploy/pod.yaml,line=9," in result.stdout
    assert "checks: write" in result.summary and result.outputs["degraded"] == "false"
    assert "no commit status either" in result.summary and standin.statuses == []


def test_token_without_checks_but_with_statuses_sets_a_commit_status(pr: PullRequest) -> None:
    standin = pr.open({}, {"deploy/pod.yaml": pod(("web", True))})
    standin.permissions = {"pull-requests", "statuses"}
    result = pr.run(standin)
    assert result.returncode == 1, result.stderr
    assert standin.check_runs == {}
    assert [(s["state"], s["context"]) for s in standin.statuses] == [("failure", "gatekeeper")]
    assert "the verdict is the commit status `gatekeeper` instead" in result.stdout


def test_review_rejected_with_422_folds_findings_into_the_summary(pr: PullRequest) -> None:
    standin = pr.open({}, {"deploy/pod.yaml": pod(("web", True))})
    standin.fail("POST", r"/pulls/7/reviews$", 422)
    result = pr.run(standin)
    assert result.returncode == 1, result.stderr
    assert standin.reviews == []
    (summary,) = standin.issue_comments
    assert "inline comments were not posted" in summary["body"]
    assert "1 of them is not commented inline" in summary["body"]
    assert "web is privileged" in summary["body"]
    assert len(standin.check_runs) == 1


def test_502_and_secondary_rate_limit_are_retried(pr: PullRequest) -> None:
    standin = pr.open({}, {"deploy/pod.yaml": pod(("web", True))})
    standin.fail("POST", r"/issues/7/comments$", 502, times=2)
    standin.fail(
        "POST",
        r"/pulls/7/reviews$",
        403,
        headers={"Retry-After": "1"},
        message="You have exceeded a secondary rate limit",
    )
    result = pr.run(standin)
    assert result.returncode == 1, result.stderr
    assert len(standin.issue_comments) == 1 and len(standin.reviews) == 1
    posts = [
        r.status
        for r in standin.requests
        if r.path.endswith("/issues/7/comments") and r.method == "POST"
    ]
    assert posts == [502, 502, 201]
    assert result.outputs["degraded"] == "false"


def test_listing_review_comments_failing_folds_into_the_summary(pr: PullRequest) -> None:
    standin = pr.open({}, {"deploy/pod.yaml": pod(("web", True))})
    standin.fail("GET", r"/pulls/7/comments$", 500, times=100)
    result = pr.run(standin)
    assert result.returncode == 1, result.stderr
    assert standin.reviews == []
    (summary,) = standin.issue_comments
    assert "could not publish" in summary["body"]
    assert "1 of them is not commented inline" in summary["body"]


def test_persistent_502_never_turns_a_failure_into_a_pass(pr: PullRequest) -> None:
    standin = pr.open({}, {"deploy/pod.yaml": pod(("web", True))})
    standin.fail("POST", r"/check-runs$", 502, times=100)
    result = pr.run(standin)
    assert result.returncode == 1, result.stderr
    assert standin.check_runs == {}
    assert "::error file=deploy/pod.yaml,line=9," in result.stdout  # annotations not lost
    assert "could not publish" in result.summary and "web is privileged" in result.summary


def test_unreachable_api_keeps_findings_and_the_failure(pr: PullRequest) -> None:
    standin = pr.open({}, {"deploy/pod.yaml": pod(("web", True))})
    standin.stop()  # connection refused from now on
    result = pr.run(standin)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "::error file=deploy/pod.yaml,line=9," in result.stdout
    assert "could not publish" in result.summary and "web is privileged" in result.summary
    assert result.outputs["verdict"] == "fail"


def test_more_than_50_annotations_are_sent_in_batches(pr: PullRequest) -> None:
    standin = pr.open({}, {"deploy/pod.yaml": pod(*[(f"c{i}", True) for i in range(60)])})
    result = pr.run(standin, "--max-inline-comments", "10")
    assert result.returncode == 1, result.stderr
    (run,) = standin.check_runs.values()
    assert len(standin.annotations(run["id"])) == 60 and run["_updates"] == 1
    assert len(standin.review_comments) == 10
    (summary,) = standin.issue_comments
    assert "50 of them are not commented inline" in summary["body"]


def test_passing_change_with_summary_mode_only(pr: PullRequest) -> None:
    standin = pr.open({}, {"deploy/pod.yaml": pod(("web", False))})
    result = pr.run(standin, "--comment-mode", "summary")
    assert result.returncode == 0, result.stderr
    assert standin.reviews == [] and len(standin.issue_comments) == 1
    assert not any(r.path.endswith("/pulls/7/comments") for r in standin.requests)
    (run,) = standin.check_runs.values()
    assert run["conclusion"] == "success"


def test_standin_rejects_a_review_comment_outside_the_diff(pr: PullRequest) -> None:
    """The stand-in itself: GitHub's 422 for a line outside the hunks, and schema checks."""
    import github
    from github import Auth

    body = "\n".join(f"line{i}: {i}" for i in range(1, 40)) + "\n"
    standin = pr.open({"notes.yaml": body}, {"notes.yaml": body.replace("line20: 20", "line20: x")})
    client = github.Github(base_url=standin.url, auth=Auth.Token("t"), retry=None, lazy=True)
    pull = client.get_repo(REPOSITORY).get_pull(7)
    commit = client.get_repo(REPOSITORY).get_commit(pr.head)
    with pytest.raises(github.GithubException) as raised:
        pull.create_review(
            commit=commit,
            body="x",
            event="COMMENT",
            comments=[{"path": "notes.yaml", "line": 35, "side": "RIGHT", "body": "far away"}],
        )
    assert raised.value.status == 422 and standin.reviews == []
    pull.create_review(
        commit=commit,
        body="x",
        event="COMMENT",
        comments=[{"path": "notes.yaml", "line": 23, "side": "RIGHT", "body": "context line"}],
    )
    assert len(standin.review_comments) == 1
    status, _, _ = standin.handle("POST", f"/repos/{REPOSITORY}/check-runs", {"name": 3}, "token t")
    assert status == 422 and "head_sha" in standin.violations[-1]
    standin.violations.clear()


# --- the conversation over many pushes (issue 9) ---------------------------------------------


def test_editing_a_flagged_line_without_fixing_it_comments_again(pr: PullRequest) -> None:
    """GitHub marks a comment outdated (line null) when a push changes its line: it no longer
    shows on the diff, so the finding is commented again on its current line."""
    standin = pr.open({}, {"deploy/pod.yaml": pod(("web", True))})
    pr.run(standin)
    (first,) = standin.review_comments
    assert first["line"] == 9
    edited = pod(("web", True)).replace("# keep", "# really")
    pr.push(standin, {"deploy/pod.yaml": edited})
    assert first["line"] is None and first["position"] is None  # outdated
    result = pr.run(standin)
    assert result.returncode == 1, result.stderr
    live = [(c["line"], c["commit_id"]) for c in standin.review_comments if c["line"]]
    assert live == [(9, pr.head)]
    # The outdated thread is resolved: the new comment carries the conversation.
    assert standin.resolved_threads == {first["id"]} and "Fixed" not in first["body"]
    assert "already commented" not in standin.issue_comments[0]["body"]
    # A push that only moves the line keeps the comment live (GitHub moves it): no repeat.
    pr.push(standin, {"deploy/pod.yaml": "# moved down\n" + edited})
    assert [c["line"] for c in standin.review_comments] == [None, 10]
    pr.run(standin)
    assert len(standin.review_comments) == 2


def test_an_outdated_thread_stays_open_when_commenting_again_fails(pr: PullRequest) -> None:
    standin = pr.open({}, {"deploy/pod.yaml": pod(("web", True))})
    pr.run(standin)
    pr.push(standin, {"deploy/pod.yaml": pod(("web", True)).replace("# keep", "# really")})
    standin.fail("POST", r"/pulls/7/reviews$", 500, times=100)
    result = pr.run(standin)
    assert result.returncode == 1, result.stderr
    assert len(standin.review_comments) == 1 and standin.resolved_threads == set()
    assert "web is privileged" in standin.issue_comments[0]["body"]


def test_a_later_push_that_fixes_a_finding_resolves_its_thread(pr: PullRequest) -> None:
    standin = pr.open({}, {"deploy/pod.yaml": pod(("web", True), ("db", True))})
    pr.run(standin)
    assert len(standin.review_comments) == 2
    fix = pr.push(standin, {"deploy/pod.yaml": pod(("web", False), ("db", True))})
    result = pr.run(standin)
    assert result.returncode == 1, result.stderr
    web, db = sorted(standin.review_comments, key=lambda c: c["original_line"])
    assert standin.thread_resolved(web["id"]) and not standin.thread_resolved(db["id"])
    assert f"Fixed in {fix[:12]}" in web["body"] and "Fixed" not in db["body"]
    assert len(standin.review_comments) == 2  # the live db comment still counts
    pr.run(standin)  # nothing more to settle
    assert web["edits"] == 1 and len(standin.review_comments) == 2
    # The finding comes back: the comment marked fixed no longer speaks for it.
    pr.push(standin, {"deploy/pod.yaml": pod(("web", True), ("db", True))})
    pr.run(standin)
    assert [c["line"] for c in standin.review_comments if c["line"]] == [13, 9]


def test_without_graphql_a_fixed_comment_is_edited_to_say_so(pr: PullRequest) -> None:
    standin = pr.open({}, {"deploy/pod.yaml": pod(("web", True))})
    pr.run(standin)
    standin.graphql_denied = True
    fix = pr.push(standin, {"deploy/pod.yaml": pod(("web", False))})
    result = pr.run(standin)
    assert result.returncode == 0, result.stderr
    (comment,) = standin.review_comments
    assert f"Fixed in {fix[:12]}" in comment["body"] and not standin.resolved_threads
    assert "review threads stay open" in standin.issue_comments[0]["body"]


def test_an_older_run_finishing_last_does_not_overwrite_the_newer_verdict(pr: PullRequest) -> None:
    standin = pr.open({}, {"deploy/pod.yaml": pod(("web", True))})
    old = pr.head
    fixed = pr.push(standin, {"deploy/pod.yaml": pod(("web", False))})
    newer = pr.run(standin)
    assert newer.returncode == 0, newer.stderr
    (summary,) = standin.issue_comments
    passed = summary["body"]
    older = pr.run(standin, head=old)
    assert older.returncode == 1, older.stderr  # its own commit still fails
    assert standin.issue_comments == [summary] and summary["body"] == passed
    assert standin.reviews == [] and standin.review_comments == []
    assert f"its head is now {fixed[:12]}" in older.summary
    # Check runs belong to their commit: the old one's cannot change the head's verdict.
    runs = {run["head_sha"]: run["conclusion"] for run in standin.check_runs.values()}
    assert runs == {fixed: "success", old: "failure"}


def test_a_push_landing_during_a_run_stops_its_later_writes(pr: PullRequest) -> None:
    standin = pr.open({}, {"deploy/pod.yaml": pod(("web", True))})
    scanned = pr.head
    newer = pr.push(standin, {"deploy/pod.yaml": pod(("web", False))})
    standin.pull.head_sha = scanned  # GitHub learns of the push while the run is writing
    standin.after("POST", r"/pulls/7/reviews$", lambda: setattr(standin.pull, "head_sha", newer))
    result = pr.run(standin, head=scanned)
    assert result.returncode == 1, result.stderr
    assert len(standin.reviews) == 1  # written while its commit was the head
    assert standin.issue_comments == []  # the summary would have been stale
    assert f"its head is now {newer[:12]}" in result.summary


def test_a_message_over_githubs_body_limit_is_cut_not_lost(pr: PullRequest) -> None:
    """A 70,000-character message would make GitHub refuse the whole review."""
    standin = pr.open({}, {"deploy/pod.yaml": pod(("x" * 70_000, True), ("web", True))})
    result = pr.run(standin)
    assert result.returncode == 1, result.stderr
    assert len(standin.reviews) == 1 and len(standin.review_comments) == 2
    assert all(len(c["body"]) <= 65536 for c in standin.review_comments)
    (summary,) = standin.issue_comments
    assert len(summary["body"]) <= 65536 and "web is privileged" in summary["body"]
    assert len(standin.check_runs) == 1


def test_a_comment_github_refuses_does_not_sink_the_others(pr: PullRequest) -> None:
    standin = pr.open({}, {"deploy/pod.yaml": pod(("a", True), ("b", True), ("c", True))})
    standin.pull.hunk_lines["deploy/pod.yaml"].discard(13)  # GitHub disagrees about line 13
    result = pr.run(standin)
    assert result.returncode == 1, result.stderr
    assert sorted(c["line"] for c in standin.review_comments) == [9, 17]
    assert [r["state"] for r in standin.reviews] == ["COMMENTED"]  # trial reviews deleted
    body = standin.issue_comments[0]["body"]
    assert "GitHub refused 1 inline comment" in body and "1 of them is not commented" in body
    assert "deploy/pod\\.yaml:13" in body


def test_trial_reviews_survive_lost_answers(pr: PullRequest) -> None:
    """A trial (pending) review applied but answered 502 is found again, not made twice (a
    second pending review would be refused and its comments taken for bad ones); a delete
    applied but answered 502 and retried (404) is done."""
    standin = pr.open({}, {"deploy/pod.yaml": pod(("a", True), ("b", True), ("c", True))})
    standin.pull.hunk_lines["deploy/pod.yaml"].discard(13)
    reviews = r"/pulls/7/reviews$"
    standin.after("POST", reviews, lambda: standin.fail("POST", reviews, 502, applied=True))
    standin.fail("DELETE", r"/pulls/7/reviews/\d+$", 502, applied=True)
    result = pr.run(standin)
    assert result.returncode == 1, result.stderr
    assert sorted(c["line"] for c in standin.review_comments) == [9, 17]
    assert [r["state"] for r in standin.reviews] == ["COMMENTED"]
    assert 502 in [r.status for r in standin.writes() if r.method == "POST"]


def test_personal_access_token_learns_its_login_and_sets_a_commit_status(
    pr: PullRequest,
) -> None:
    """No GATEKEEPER_GITHUB_LOGIN: the token's user comes from `GET /user`. Such a token cannot
    create check runs: the verdict becomes a commit status, and the note says why."""
    standin = pr.open({}, {"deploy/pod.yaml": pod(("web", True))})
    standin.add_comment("<!-- gatekeeper:summary gatekeeper --> all good", "mallory")
    pr.run(standin, token="ghp_example")
    result = pr.run(standin, token="ghp_example")
    assert result.returncode == 1, result.stderr
    ours = [c for c in standin.issue_comments if c["user"]["login"] == "release-robot"]
    assert len(ours) == 1 and ours[0]["edits"] == 1
    assert standin.issue_comments[0]["body"].endswith("all good")
    assert len(standin.review_comments) == 1
    assert standin.check_runs == {}
    statuses = [(s["state"], s["context"], s["sha"]) for s in standin.statuses]
    assert statuses == [("failure", "gatekeeper", pr.head)] * 2
    assert "personal access token cannot create check runs" in result.summary
    assert "checks: write" not in result.summary
    assert "::error file=deploy/pod.yaml,line=9," in result.stdout


def test_writes_applied_but_answered_502_are_not_repeated(pr: PullRequest) -> None:
    standin = pr.open({}, {"deploy/pod.yaml": pod(*[(f"c{i}", True) for i in range(60)])})
    for method, path in (
        ("POST", r"/issues/7/comments$"),
        ("POST", r"/pulls/7/reviews$"),
        ("POST", r"/check-runs$"),
        ("PATCH", r"/check-runs/\d+$"),
    ):
        standin.fail(method, path, 502, applied=True)
    result = pr.run(standin, "--max-inline-comments", "10")
    assert result.returncode == 1, result.stderr
    assert len(standin.issue_comments) == 1 and "could not" not in result.summary
    assert len(standin.reviews) == 1 and len(standin.review_comments) == 10
    (run,) = standin.check_runs.values()
    assert len(standin.annotations(run["id"])) == 60
    assert [r.status for r in standin.writes() if r.path.endswith("/check-runs")] == [502]


def test_two_gatekeeper_jobs_keep_their_own_summaries(pr: PullRequest) -> None:
    standin = pr.open({}, {"deploy/pod.yaml": pod(("web", True))})
    # A summary by an older version (no name in its marker) belongs to the default check.
    standin.issue_comments.append(
        {"id": 1, "body": "<!-- gatekeeper:summary -->\nold", "user": BOT, "url": ""}
    )
    standin.issue_comments[0]["url"] = f"{standin.url}/repos/{REPOSITORY}/issues/comments/1"
    for name in ("gatekeeper", "gatekeeper / infra", "gatekeeper / infra"):
        assert pr.run(standin, "--check-name", name).returncode == 1
    default, infra = standin.issue_comments
    assert default["edits"] == 1 and default["body"].startswith(
        "<!-- gatekeeper:summary gatekeeper -->"
    )
    assert infra["edits"] == 1 and infra["body"].startswith(
        "<!-- gatekeeper:summary gatekeeper%20%2F%20infra -->"
    )
    assert "## :x: gatekeeper / infra: blocking findings" in infra["body"]
    assert sorted(run["name"] for run in standin.check_runs.values()) == [
        "gatekeeper",
        "gatekeeper / infra",
        "gatekeeper / infra",
    ]


def test_check_run_limits_count_utf8_bytes(pr: PullRequest) -> None:
    """30,000 characters are 90,000 bytes in UTF-8: under the character limit, over GitHub's
    byte limit. The check run must still be accepted (a required check that never reports
    blocks every merge)."""
    wide = "€" * 30_000
    standin = pr.open({}, {"deploy/pod.yaml": pod((wide, True), ("web", True))})
    result = pr.run(standin)
    assert result.returncode == 1, result.stderr
    (run,) = standin.check_runs.values()
    assert run["conclusion"] == "failure"
    assert len(run["output"]["summary"].encode()) <= 65535
    messages = [a["message"] for a in standin.annotations(run["id"])]
    assert len(messages) == 2 and all(len(m.encode()) <= 65535 for m in messages)
    assert messages[0].startswith("€€€") and messages[0].endswith("…")


def test_a_trickling_server_does_not_hold_the_run(pr: PullRequest) -> None:
    """One byte every 2 s never trips a socket timeout; the run's deadline stops it. Without
    the deadline this run would take many minutes (the subprocess timeout fails the test)."""
    standin = pr.open({}, {"deploy/pod.yaml": pod(("web", True))})
    standin.fail("GET", r"/pulls/7$", 200, times=100, trickle=2.0)
    result = pr.run(standin, extra_env={"GATEKEEPER_GITHUB_DEADLINE": "4"})
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "::error file=deploy/pod.yaml,line=9," in result.stdout
    assert "no time left" in result.summary and result.outputs["verdict"] == "fail"


def test_a_busy_pull_request_is_paged_at_100(pr: PullRequest) -> None:
    standin = pr.open({}, {"deploy/pod.yaml": pod(("web", True))})
    for i in range(150):
        standin.add_comment(f"looks good {i}", "alice")
    pr.run(standin)
    pr.run(standin)
    ours = [c for c in standin.issue_comments if c["user"]["type"] == "Bot"]
    assert len(ours) == 1 and ours[0]["edits"] == 1
    lists = [r for r in standin.requests if r.path.endswith("/issues/7/comments")]
    assert len([r for r in lists if r.method == "GET"]) == 2 * 2  # 2 runs, 2 pages each


def test_standin_is_as_strict_as_github(pr: PullRequest) -> None:
    """The stand-in's own rules: token kinds, limits, paging cap, outdated comments."""
    standin = pr.open({}, {"a.yaml": "a: 1\nb: 2\n"})
    pat, app = "token ghp_x", "token ghs_x"
    assert standin.handle("GET", "/user", None, pat)[0] == 200
    assert standin.handle("GET", "/user", None, app)[0] == 403
    repo = f"/repos/{REPOSITORY}"
    run = {"name": "c", "head_sha": pr.head, "output": {"title": "t", "summary": "€" * 30_000}}
    assert standin.handle("POST", f"{repo}/check-runs", run, app)[0] == 422  # 90,000 bytes
    run["output"]["summary"] = "ok"
    assert standin.handle("POST", f"{repo}/check-runs", run, pat)[0] == 403  # no PAT runs
    assert standin.handle("POST", f"{repo}/check-runs", run, app)[0] == 201
    long = {"body": "x" * 65_537}
    assert standin.handle("POST", f"{repo}/issues/7/comments", long, app)[0] == 422
    for i in range(120):
        standin.add_comment(str(i), "alice")
    status, page, headers = standin.handle(
        "GET", f"{repo}/issues/7/comments?per_page=500", None, app
    )
    assert status == 200 and len(page) == 100 and "page=2" in headers["Link"]
    standin.add_comment("on b", "alice", ("a.yaml", 2))
    standin.add_comment("on a", "alice", ("a.yaml", 1))
    pr.push(standin, {"a.yaml": "new: 0\na: 1\nb: 3\n"})
    assert [c["line"] for c in standin.review_comments] == [None, 2]
    standin.violations.clear()


BOT = {"login": "github-actions[bot]", "id": 41898282, "type": "Bot"}


def test_client_pages_review_threads_and_resolves_them(pr: PullRequest) -> None:
    from gatekeeper.github.client import Client, Settings

    standin = pr.open({}, {"a.yaml": "a: 1\n"})
    for i in range(150):
        standin.add_comment(f"note {i}", "alice", ("a.yaml", 1))
    client = Client(standin.url, "t0k", REPOSITORY, 7, Settings(pace=0))
    threads = client.review_threads()
    assert len(threads) == 150 and not any(done for _, done, _ in threads)
    assert [first for _, _, first in threads] == [c["id"] for c in standin.review_comments]
    client.resolve_thread(threads[120][0])
    assert standin.resolved_threads == {standin.review_comments[120]["id"]}
    assert client.identity().kind == "app"


def test_the_deadline_bounds_retry_waits_too() -> None:
    """A retry whose wait would pass the deadline is not waited for."""
    import github

    from gatekeeper.github.client import Client, DeadlineExceeded, Settings

    client = Client("http://127.0.0.1:9", "t", REPOSITORY, 7, Settings(backoff=30, deadline=1))
    calls = []

    def flaky() -> None:
        calls.append(1)
        raise github.GithubException(502, {"message": "bad gateway"}, {})

    with pytest.raises(DeadlineExceeded):
        client.call("flaky", flaky)
    assert calls == [1]
    client.call("next", lambda: calls.append(2))  # time is left for a call that needs no wait
    assert calls == [1, 2]


def test_without_the_kubernetes_schemas_the_summary_says_so(
    pr: PullRequest, tmp_path: Path
) -> None:
    """A core install without [schema] (kubernetes-validate hidden at start-up): the summary's
    notes say once that wrongly typed fields were not checked; the check still passes."""
    hidden = tmp_path / "without-schemas"
    hidden.mkdir()
    (hidden / "sitecustomize.py").write_text(
        "import sys\nsys.modules['kubernetes_validate'] = None\n"
    )
    standin = pr.open({}, {"deploy/pod.yaml": pod(("web", False))})
    result = pr.run(standin, "--comment-mode", "summary", extra_env={"PYTHONPATH": str(hidden)})
    assert result.returncode == 0, result.stderr
    (summary,) = standin.issue_comments
    notes = summary["body"].split("### Notes", 1)[1].replace("\\", "")  # Markdown escapes
    assert notes.count(f"- {kubeschema.MISSING}\n") == 1, notes
    assert kubeschema.MISSING in result.summary.replace("\\", "")  # and the job summary
    again = pr.run(standin, "--comment-mode", "summary")  # with the schemas: no such note
    assert "GK-SCHEMA" not in again.summary.replace("\\", "")
