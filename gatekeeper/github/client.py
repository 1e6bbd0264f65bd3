"""The GitHub REST calls gatekeeper makes, through PyGithub, with retries on transient faults.

Retried: 5xx, and secondary rate limits (403/429 carrying `retry-after` or an exhausted
`x-ratelimit-remaining`). A 403/404 on a write means the token cannot write (fork PR,
read-only token): that raises `NoWriteAccess` so the caller degrades instead of failing.
A create that failed with a 5xx or no answer may have been applied: before creating again,
the caller's `recover` looks for what it wrote. Every call of a run shares one deadline: a
server that answers a byte at a time never holds the run longer than that.
"""

from __future__ import annotations

import os
import threading
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


class DeadlineExceeded(PublishError):
    """The run's time for GitHub calls is spent: no further call is made."""


@dataclass(frozen=True)
class Identity:
    """Who the token writes as: a user (a personal access token) or an app's bot account
    (GITHUB_TOKEN, an app installation token: `GET /user` is 403 for those; GraphQL's
    `viewer` names the bot, `github-actions[bot]` or `<app slug>[bot]`)."""

    kind: str  # "user" | "app"
    login: str = ""  # "" for an app whose bot could not be learnt: any bot account is ours

    def owns(self, user: Any) -> bool:
        if user is None:
            return False
        if self.kind == "user":
            return bool(self.login) and str(user.login) == self.login
        return str(user.type) == "Bot" and (not self.login or str(user.login) == self.login)


@dataclass(frozen=True)
class Settings:
    attempts: int = 5
    backoff: float = 1.0  # seconds; doubled each attempt
    max_wait: float = 60.0  # cap on one wait, `retry-after` included
    timeout: int = 15
    pace: float = 1.0  # scales PyGithub's pause between requests/writes (0 disables)
    deadline: float = 300.0  # seconds for all GitHub calls of one run, retries included

    @classmethod
    def from_env(cls) -> Settings:
        """`GATEKEEPER_GITHUB_{ATTEMPTS,BACKOFF,MAX_WAIT,PACE,DEADLINE}` override (tests keep
        sleeps tiny; a workflow may give a slow GitHub Enterprise more time)."""

        def number(name: str, default: float) -> float:
            raw = os.environ.get(f"GATEKEEPER_GITHUB_{name}")
            return float(raw) if raw else default

        return cls(
            attempts=max(1, int(number("ATTEMPTS", cls.attempts))),
            backoff=number("BACKOFF", cls.backoff),
            max_wait=number("MAX_WAIT", cls.max_wait),
            pace=number("PACE", cls.pace),
            deadline=number("DEADLINE", cls.deadline),
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
            per_page=100,  # GitHub's maximum: fewer requests on a busy pull request
            seconds_between_requests=0.25 * settings.pace or None,
            seconds_between_writes=1.0 * settings.pace or None,
            lazy=True,  # no GET for objects we only address (repository, commit)
        )
        self._repository = repository
        self._repo = self._gh.get_repo(repository)
        self._number = number
        self._pull: Any = None
        self._identity: Identity | None = None
        self._ends = time.monotonic() + settings.deadline

    def call(
        self,
        what: str,
        action: Callable[[], T],
        write: bool = False,
        recover: Callable[[], T | None] | None = None,
    ) -> T:
        """`recover`: for a create, finds what an earlier attempt may have written (answered
        with a 5xx or not at all), so a retry never writes it twice."""
        import requests
        from github import GithubException

        attempt = 0
        lost = False  # an earlier attempt may have been applied, its answer lost
        while True:
            try:
                if lost and recover is not None:
                    found = self._recovered(recover)
                    if found is not None:
                        return found
                return self._in_time(what, action)
            except requests.RequestException as error:  # connection refused, reset, timeout
                lost = True
                attempt += 1
                if attempt < self.settings.attempts:
                    self._sleep(what, self.settings.backoff * 2.0**attempt)
                    continue
                raise PublishError(what, 0, f"{type(error).__name__}: {error}") from None
            except GithubException as error:
                delay = retry_delay(error.status, error.headers, error.data, attempt, self.settings)
                lost = lost or error.status >= 500  # a 4xx is a refusal: nothing written
                attempt += 1
                if delay >= 0 and attempt < self.settings.attempts:
                    self._sleep(what, delay)
                    continue
                message = str(error.data.get("message", "")) if isinstance(error.data, dict) else ""
                kind = NoWriteAccess if write and error.status in (403, 404) else PublishError
                raise kind(what, error.status, message or str(error)) from None

    def _recovered(self, recover: Callable[[], T | None]) -> T | None:
        try:
            return recover()
        except DeadlineExceeded:
            raise
        except PublishError:
            return None  # cannot tell: create again (a duplicate beats a lost result)

    def _in_time(self, what: str, action: Callable[[], T]) -> T:
        """Run `action` in a daemon thread and give up at the run's deadline: a socket timeout
        alone does not stop an answer that trickles in a byte at a time."""
        left = self._ends - time.monotonic()
        if left <= 0:
            raise DeadlineExceeded(what, 0, self._late())
        box: dict[str, Any] = {}

        def run() -> None:
            try:
                box["value"] = action()
            except BaseException as error:  # handed to the caller's thread below
                box["error"] = error

        worker = threading.Thread(target=run, name=f"gatekeeper: {what}", daemon=True)
        worker.start()
        worker.join(left)
        if worker.is_alive():
            self._ends = 0.0
            raise DeadlineExceeded(what, 0, self._late())
        if "error" in box:
            raise box["error"]
        value: T = box["value"]
        return value

    def _sleep(self, what: str, seconds: float) -> None:
        wait = min(self.settings.max_wait, seconds)
        if time.monotonic() + wait >= self._ends:
            raise DeadlineExceeded(what, 0, self._late())
        time.sleep(wait)

    def _late(self) -> str:
        return (
            f"no time left: all GitHub calls of a run get {self.settings.deadline:g} s"
            " (GATEKEEPER_GITHUB_DEADLINE)"
        )

    def _get(self, what: str, path: str) -> dict[str, Any]:
        """A GET as plain JSON (no PyGithub object); `path` is relative to the API root."""
        requester = self._gh.requester
        data = self.call(what, lambda: requester.requestJsonAndCheck("GET", path)[1])
        return data if isinstance(data, dict) else {}

    @property
    def pull(self) -> Any:
        if self._pull is None:
            self._pull = self.call("get pull request", lambda: self._repo.get_pull(self._number))
        return self._pull

    def current_head(self) -> str:
        """The pull request's head commit now (not the cached one): has a newer push come?"""
        data = self._get("get pull request", f"/repos/{self._repository}/pulls/{self._number}")
        return str((data.get("head") or {}).get("sha") or "")

    def identity(self) -> Identity:
        """Who the token writes as, from the API (`GATEKEEPER_GITHUB_LOGIN` overrides)."""
        if self._identity is None:
            login = os.environ.get("GATEKEEPER_GITHUB_LOGIN", "")
            if login:
                self._identity = Identity("user", login)
            else:
                self._identity = self._ask_identity()
        return self._identity

    def _ask_identity(self) -> Identity:
        try:
            user = self._get("who am I", "/user")
        except PublishError as error:
            if error.status in (403, 404):  # an installation token: it writes as its bot
                return Identity("app", self._bot_login())
            raise
        if str(user.get("type")) == "Bot":
            return Identity("app", str(user.get("login") or ""))
        return Identity("user", str(user.get("login") or ""))

    def _bot_login(self) -> str:
        """The installation token's bot as REST spells it (`name[bot]`), or "" when GraphQL
        will not say (then any bot account counts as ours, as before)."""
        try:
            data = self._graphql("who am I (GraphQL)", "query { viewer { login } }", {})
            login = str(data["viewer"]["login"] or "")
        except (PublishError, KeyError, TypeError):
            return ""
        return login if not login or login.endswith("[bot]") else f"{login}[bot]"

    # --- the summary comment -------------------------------------------------------------
    def issue_comments(self) -> list[Any]:
        return self.call("list comments", lambda: list(self.pull.get_issue_comments()))

    def create_issue_comment(self, body: str, recover: Callable[[], Any] | None = None) -> Any:
        return self.call(
            "create summary comment",
            lambda: self.pull.create_issue_comment(body),
            write=True,
            recover=recover,
        )

    def edit_issue_comment(self, comment: Any, body: str) -> None:
        self.call("update summary comment", lambda: comment.edit(body), write=True)

    # --- inline review ---------------------------------------------------------------------
    def review_comments(self) -> list[Any]:
        return self.call("list review comments", lambda: list(self.pull.get_review_comments()))

    def reviews(self) -> list[Any]:
        return self.call("list reviews", lambda: list(self.pull.get_reviews()))

    def create_review(
        self,
        head_sha: str,
        body: str,
        comments: list[dict[str, Any]],
        recover: Callable[[], Any] | None = None,
    ) -> Any:
        commit = self._repo.get_commit(head_sha)
        return self.call(
            "create review",
            lambda: self.pull.create_review(
                commit=commit, body=body, event="COMMENT", comments=comments
            ),
            write=True,
            recover=recover,
        )

    def accepts(
        self,
        head_sha: str,
        comments: list[dict[str, Any]],
        body: str,
        recover: Callable[[], Any] | None = None,
    ) -> bool:
        """Would GitHub take these review comments? Asked with a pending review (seen by its
        author only), deleted straight away; False on 422."""
        commit = self._repo.get_commit(head_sha)
        try:
            pending = self.call(
                "try review comments",
                lambda: self.pull.create_review(commit=commit, body=body, comments=comments),
                write=True,
                recover=recover,
            )
        except NoWriteAccess:
            raise
        except PublishError as error:
            if error.status == 422:
                return False
            raise
        try:  # not a `write`: a 404 here means an earlier attempt deleted it already
            self.call("delete trial review", pending.delete)
        except PublishError as error:
            if error.status != 404:
                raise
        return True

    def edit_review_comment(self, comment: Any, body: str) -> None:
        self.call("update review comment", lambda: comment.edit(body), write=True)

    def review_threads(self) -> list[tuple[str, bool, int]]:
        """(thread id, resolved, first comment's REST id) of every review thread (GraphQL)."""
        owner, name = self._repository.split("/", 1)
        threads: list[tuple[str, bool, int]] = []
        after: str | None = None
        while True:
            variables = {"owner": owner, "name": name, "number": self._number, "after": after}
            data = self._graphql("list review threads", _THREADS, variables)
            try:
                page = data["repository"]["pullRequest"]["reviewThreads"]
                for node in page["nodes"]:
                    comments = node["comments"]["nodes"]
                    if comments:
                        first = int(comments[0]["databaseId"])
                        threads.append((str(node["id"]), bool(node["isResolved"]), first))
                more, after = bool(page["pageInfo"]["hasNextPage"]), page["pageInfo"]["endCursor"]
            except (KeyError, TypeError, ValueError) as error:
                message = f"unexpected answer: {error!r}"
                raise PublishError("list review threads", 0, message) from None
            if not more:
                return threads

    def resolve_thread(self, thread_id: str) -> None:
        self._graphql("resolve review thread", _RESOLVE, {"threadId": thread_id})

    def _graphql(self, what: str, query: str, variables: dict[str, Any]) -> Any:
        requester = self._gh.requester
        data = self.call(what, lambda: requester.graphql_query(query, variables)[1])
        return data["data"]

    # --- check run and commit status -------------------------------------------------------
    def create_check_run(self, recover: Callable[[], Any] | None = None, **fields: Any) -> Any:
        return self.call(
            "create check run",
            lambda: self._repo.create_check_run(**fields),
            write=True,
            recover=recover,
        )

    def check_runs(self, head_sha: str, name: str) -> list[Any]:
        commit = self._repo.get_commit(head_sha)
        return self.call("list check runs", lambda: list(commit.get_check_runs(check_name=name)))

    def update_check_run(
        self, run: Any, recover: Callable[[], Any] | None = None, **fields: Any
    ) -> None:
        self.call("update check run", lambda: run.edit(**fields), write=True, recover=recover)

    def annotations_count(self, run_id: int) -> int:
        run = self.call("get check run", lambda: self._repo.get_check_run(run_id))
        return int(run.output.annotations_count or 0)

    def create_status(self, head_sha: str, state: str, description: str, context: str) -> None:
        commit = self._repo.get_commit(head_sha)
        self.call(
            "create commit status",
            lambda: commit.create_status(state=state, description=description, context=context),
            write=True,
        )

    # --- the gate's reads (branch protection, rulesets, teams): see github/gate*, required --
    def author(self) -> str:
        user = self.pull.user
        return str(user.login) if user is not None else ""

    def get_json(self, what: str, path: str, **params: Any) -> Any:
        """GET a REST path (under the API root) that PyGithub does not wrap; errors raise
        PublishError with the status, so a caller can tell 404 from 403."""
        requester = self._gh.requester
        return self.call(
            what, lambda: requester.requestJsonAndCheck("GET", path, parameters=params)[1]
        )


_THREADS = """
query($owner: String!, $name: String!, $number: Int!, $after: String) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      reviewThreads(first: 100, after: $after) {
        nodes { id isResolved comments(first: 1) { nodes { databaseId } } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
}
"""
_RESOLVE = """
mutation($threadId: ID!) {
  resolveReviewThread(input: {threadId: $threadId}) { thread { id isResolved } }
}
"""
