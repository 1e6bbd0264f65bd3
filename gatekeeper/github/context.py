"""What the GitHub Actions run tells us: repository, pull request, token, output files."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gatekeeper.errors import UsageError


@dataclass(frozen=True)
class PullRequest:
    number: int
    base_sha: str
    head_sha: str
    base_repo: str  # owner/name
    head_repo: str  # owner/name; differs from base_repo for a fork
    author: str = ""  # the login that opened it ("" when the event does not say)
    base_ref: str = ""  # the base branch's name

    @property
    def from_fork(self) -> bool:
        return self.head_repo != self.base_repo


@dataclass(frozen=True)
class ActionsContext:
    repository: str
    api_url: str
    token: str
    sha: str
    pull_request: PullRequest | None
    step_summary: str  # file path or ""
    output: str  # file path or ""
    event_name: str = ""
    workflow_ref: str = ""  # GITHUB_WORKFLOW_REF: owner/repo/.github/workflows/x.yml@ref
    job: str = ""  # GITHUB_JOB: the job's id, whose check GitHub reports under the job's name

    @property
    def workflow(self) -> str:
        """This run's workflow file in its repository, e.g. `.github/workflows/gatekeeper.yml`
        (a ruleset's required workflow may live in another repository)."""
        path = self.workflow_ref.partition("@")[0]
        return path.split("/", 2)[2] if path.count("/") >= 2 else ""

    @property
    def own_workflow(self) -> str:
        """The workflow file when it lives in this repository (its inputs are in the change)."""
        inside = self.workflow_ref.startswith(self.repository + "/")
        return self.workflow if inside else ""

    @property
    def fork_token(self) -> bool:
        """A fork's pull request gets a read-only token, except under `pull_request_target`
        (the base branch's workflow, which must then treat the change as data only)."""
        pr = self.pull_request
        return pr is not None and pr.from_fork and self.event_name != "pull_request_target"

    @property
    def merge_group(self) -> bool:
        """A merge queue's run: judge and conclude the check, comment on nothing."""
        return self.event_name == "merge_group"

    def __repr__(self) -> str:  # never print the token
        return f"ActionsContext(repository={self.repository!r}, api_url={self.api_url!r})"


def from_environment(environ: Mapping[str, str] | None = None) -> ActionsContext:
    env = os.environ if environ is None else environ
    repository = env.get("GITHUB_REPOSITORY", "")
    if not repository:
        raise UsageError("GITHUB_REPOSITORY is not set: `gatekeeper github` runs in GitHub Actions")
    event = _read_event(env.get("GITHUB_EVENT_PATH", ""))
    return ActionsContext(
        repository=repository,
        api_url=env.get("GITHUB_API_URL", "https://api.github.com").rstrip("/"),
        token=env.get("GITHUB_TOKEN", "") or env.get("INPUT_GITHUB_TOKEN", ""),
        sha=env.get("GITHUB_SHA", ""),
        pull_request=_pull_request(event, repository) or _merge_group(event, repository),
        step_summary=env.get("GITHUB_STEP_SUMMARY", ""),
        output=env.get("GITHUB_OUTPUT", ""),
        event_name=env.get("GITHUB_EVENT_NAME", ""),
        workflow_ref=env.get("GITHUB_WORKFLOW_REF", ""),
        job=env.get("GITHUB_JOB", ""),
    )


def _read_event(path: str) -> dict[str, Any]:
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as handle:
            event = json.load(handle)
    except OSError as error:
        raise UsageError(f"cannot read the event payload: {error.strerror}", path) from None
    except ValueError as error:
        raise UsageError(f"the event payload is not JSON: {error}", path) from None
    return event if isinstance(event, dict) else {}


def _pull_request(event: dict[str, Any], repository: str) -> PullRequest | None:
    pr = event.get("pull_request")
    if not isinstance(pr, dict):
        return None
    head, base = pr.get("head") or {}, pr.get("base") or {}
    base_repo = (base.get("repo") or {}).get("full_name") or repository
    # A deleted fork has no head repo: treat it as a fork (never as our own repository).
    head_repo = (head.get("repo") or {}).get("full_name") or ""
    return PullRequest(
        number=int(pr.get("number") or event.get("number") or 0),
        base_sha=str(base.get("sha") or ""),
        head_sha=str(head.get("sha") or ""),
        base_repo=base_repo,
        head_repo=head_repo,
        author=str((pr.get("user") or {}).get("login") or ""),
        base_ref=str(base.get("ref") or ""),
    )


def _merge_group(event: dict[str, Any], repository: str) -> PullRequest | None:
    """A merge queue's group, as the pull request whose branch the queue built (the number is
    in the queue's ref, `gh-readonly-queue/<base>/pr-<number>-<sha>`; 0 when it is not)."""
    group = event.get("merge_group")
    if not isinstance(group, dict):
        return None
    number = re.search(r"/pr-(\d+)-[0-9a-f]+$", str(group.get("head_ref") or ""))
    return PullRequest(
        number=int(number[1]) if number else 0,
        base_sha=str(group.get("base_sha") or ""),
        head_sha=str(group.get("head_sha") or ""),
        base_repo=repository,
        head_repo=repository,
        base_ref=str(group.get("base_ref") or "").removeprefix("refs/heads/"),
    )
