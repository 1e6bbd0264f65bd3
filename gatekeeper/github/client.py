"""The GitHub REST calls gatekeeper makes, through PyGithub, with retries on transient faults.

Retried: 5xx, and secondary rate limits (403/429 carrying `retry-after` or an exhausted
`x-ratelimit-remaining`). A 403/404 on a write means the token cannot write (fork PR,
read-only token): that raises `NoWriteAccess` so the caller degrades instead of failing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


class PublishError(Exception):
    """A GitHub call that failed for good (after retries)."""

    def __init__(self, what: str, status: int, message: str) -> None:
        super().__init__(f"{what}: HTTP {status}: {message}")
        self.status = status


class NoWriteAccess(PublishError):
    """The token may not write here (403/404 on a write)."""


@dataclass(frozen=True)
class Settings:
    attempts: int = 5
    backoff: float = 1.0  # seconds; doubled each attempt
    max_wait: float = 60.0  # cap on one wait, `retry-after` included
    timeout: int = 15
    pace: float = 1.0  # scales PyGithub's pause between requests/writes (0 disables)

    @classmethod
    def from_env(cls) -> Settings:
        """`GATEKEEPER_GITHUB_{ATTEMPTS,BACKOFF,MAX_WAIT,PACE}` override: tests keep sleeps tiny."""

        def number(name: str, default: float) -> float:
            raw = os.environ.get(f"GATEKEEPER_GITHUB_{name}")
            return float(raw) if raw else default

        return cls(
            attempts=max(1, int(number("ATTEMPTS", cls.attempts))),
            backoff=number("BACKOFF", cls.backoff),
            max_wait=number("MAX_WAIT", cls.max_wait),
            pace=number("PACE", cls.pace),
        )


def _header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    for key, value in dict(headers).items():
        if str(key).lower() == name:
            return str(value)
    return None


def retry_delay(status: int, headers: Any, data: Any, attempt: int, settings: Settings) -> float:
    """Seconds to wait before the next attempt, or -1 when the error is not transient."""
    backoff = min(settings.max_wait, settings.backoff * (2.0**attempt))
    if status >= 500:
        return backoff
    if status in (403, 429):
        after = _header(headers, "retry-after")
        if after is not None:
            try:
                return min(settings.max_wait, max(0.0, float(after)))
            except ValueError:
                return backoff
        if _header(headers, "x-ratelimit-remaining") == "0":
            reset = _header(headers, "x-ratelimit-reset")
            wait = float(reset) - time.time() if reset and reset.isdigit() else backoff
            return min(settings.max_wait, max(0.0, wait))
        message = str(data.get("message", "")) if isinstance(data, dict) else str(data)
        if status == 429 or "secondary rate limit" in message.lower():
            return backoff
    return -1.0


class Client:
    """One pull request of one repository."""

    def __init__(
        self, api_url: str, token: str, repository: str, number: int, settings: Settings
    ) -> None:
        import github
        from github import Auth

        self.settings = settings
        self._gh = github.Github(
            base_url=api_url,
            auth=Auth.Token(token) if token else None,
            retry=None,  # retries are ours (see `call`), so a test can count every request
            timeout=settings.timeout,
            seconds_between_requests=0.25 * settings.pace or None,
            seconds_between_writes=1.0 * settings.pace or None,
            lazy=True,  # no GET for objects we only address (repository, commit)
        )
        self._repo = self._gh.get_repo(repository)
        self._number = number
        self._pull: Any = None

    def call(self, what: str, action: Callable[[], T], write: bool = False) -> T:
        import requests
        from github import GithubException

        attempt = 0
        while True:
            try:
                return action()
            except requests.RequestException as error:  # connection refused, reset, timeout
                attempt += 1
                if attempt < self.settings.attempts:
                    time.sleep(min(self.settings.max_wait, self.settings.backoff * 2.0**attempt))
                    continue
                raise PublishError(what, 0, f"{type(error).__name__}: {error}") from None
            except GithubException as error:
                delay = retry_delay(error.status, error.headers, error.data, attempt, self.settings)
                attempt += 1
                if delay >= 0 and attempt < self.settings.attempts:
                    time.sleep(delay)
                    continue
                message = str(error.data.get("message", "")) if isinstance(error.data, dict) else ""
                kind = NoWriteAccess if write and error.status in (403, 404) else PublishError
                raise kind(what, error.status, message or str(error)) from None

    @property
    def pull(self) -> Any:
        if self._pull is None:
            self._pull = self.call("get pull request", lambda: self._repo.get_pull(self._number))
        return self._pull

    # --- the summary comment -------------------------------------------------------------
    def issue_comments(self) -> list[Any]:
        return self.call("list comments", lambda: list(self.pull.get_issue_comments()))

    def create_issue_comment(self, body: str) -> Any:
        return self.call(
            "create summary comment", lambda: self.pull.create_issue_comment(body), write=True
        )

    def edit_issue_comment(self, comment: Any, body: str) -> None:
        self.call("update summary comment", lambda: comment.edit(body), write=True)

    # --- inline review ---------------------------------------------------------------------
    def review_comments(self) -> list[Any]:
        return self.call("list review comments", lambda: list(self.pull.get_review_comments()))

    def create_review(self, head_sha: str, body: str, comments: list[dict[str, Any]]) -> Any:
        commit = self._repo.get_commit(head_sha)
        return self.call(
            "create review",
            lambda: self.pull.create_review(
                commit=commit, body=body, event="COMMENT", comments=comments
            ),
            write=True,
        )

    # --- check run -------------------------------------------------------------------------
    def create_check_run(self, **fields: Any) -> Any:
        return self.call(
            "create check run", lambda: self._repo.create_check_run(**fields), write=True
        )

    def update_check_run(self, run: Any, **fields: Any) -> None:
        self.call("update check run", lambda: run.edit(**fields), write=True)

    # --- the gate's reads (reviews, branch protection, rulesets, teams): see github/gate* ---
    def reviews(self) -> list[Any]:
        return self.call("list reviews", lambda: list(self.pull.get_reviews()))

    def author(self) -> str:
        user = self.pull.user
        return str(user.login) if user is not None else ""

    def get_json(self, what: str, path: str, **params: Any) -> Any:
        """GET a REST path (under the API root) that PyGithub does not wrap; errors raise
        PublishError with the status, so a caller can tell 404 from 403."""
        _, data = self.call(
            what, lambda: self._gh.requester.requestJsonAndCheck("GET", path, parameters=params)
        )
        return data
