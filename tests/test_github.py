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
        self.standins.append(standin)
        return standin

    def run(
        self,
        standin: StandIn,
        *args: str,
        fork: bool = False,
        token: str = "t0k",
        event: dict[str, Any] | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> Result:
        """`event`/`extra_env`: another event payload (default: pull_request) and variables."""
        event = event or {
            "number": 7,
            "pull_request": {
                "number": 7,
                "head": {
                    "sha": self.head,
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
            "GITHUB_SHA": self.head,
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
    assert body.startswith("<!-- gatekeeper:summary -->")
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
    assert standin.reviews == [] and all(r.status < 400 for r in standin.requests)
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
    standin.fail("POST", r"/check-runs$", 403, message="Resource not accessible by integration")
    result = pr.run(standin)
    assert result.returncode == 1, result.stderr
    assert len(standin.issue_comments) == 1 and len(standin.reviews) == 1
    assert "::error file=deploy/pod.yaml,line=9," in result.stdout
    assert "checks: write" in result.summary and result.outputs["degraded"] == "false"


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
