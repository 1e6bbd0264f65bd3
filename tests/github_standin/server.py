"""The stand-in server: a threaded HTTP server on 127.0.0.1 that keeps GitHub-like state.

Every request is matched to an operation of GitHub's OpenAPI description and its JSON body is
validated against that operation's requestBody schema; anything that does not conform is
recorded in `violations` and answered 404/422. Beyond the schema it is as strict as GitHub:
- review comments must sit on a line of the pull request's diff hunks (RIGHT side), and one bad
  comment (off the diff, body over 65,536 characters) rejects the whole review with 422;
- comment bodies are capped at 65,536 characters; check-run summary/text and annotation
  messages at 65,535 bytes (UTF-8), titles at 255 characters; status descriptions at 140;
- `per_page` is capped at 100;
- a push (`push`) moves the head: review comments on changed lines become outdated
  (`line`/`position` null), the others move with their line;
- token kinds: an installation token (GITHUB_TOKEN, an app) gets 403 on `GET /user` and writes
  as a bot; a personal access token (`ghp_`, `github_pat_`) is a user and cannot create check
  runs (403); every review comment thread can be listed and resolved over GraphQL;
- faults can be injected, including writes that are applied before the error answer and
  answers that trickle one byte at a time.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.github_standin import gate_routes
from tests.github_standin.openapi import Description

WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
MAX_ANNOTATIONS = 50
MAX_BODY_CHARS = 65536  # issue and review comment bodies
MAX_OUTPUT_BYTES = 65535  # check-run summary and text, annotation message and raw_details
MAX_TITLE_CHARS = 255
MAX_STATUS_DESCRIPTION = 140
MAX_PER_PAGE = 100
BOT = {"login": "github-actions[bot]", "id": 41898282, "type": "Bot"}  # GITHUB_TOKEN's author
PAT_USER = {"login": "release-robot", "id": 5150, "type": "User"}  # a personal access token's
PAT_PREFIXES = ("ghp_", "github_pat_")
TRICKLE = "x-standin-trickle"  # internal: the handler sends the answer a byte at a time


def token_kind(auth: str) -> str:
    """`pat` for a personal access token, `app` for an installation token (GITHUB_TOKEN)."""
    token = auth.split(" ", 1)[1] if " " in auth else ""
    return "pat" if token.startswith(PAT_PREFIXES) else "app"


@dataclass
class PullRequestState:
    number: int
    base_sha: str
    head_sha: str
    hunk_lines: dict[str, set[int]]  # path -> head-side lines inside the diff hunks
    head_repo: str = ""  # default: the base repository
    commits: list[str] = field(default_factory=list)  # earlier heads, for reviews on them

    def __post_init__(self) -> None:
        self.commits.append(self.head_sha)


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    status: int
    times: int
    headers: dict[str, str]
    message: str
    applied: bool = False  # carry the request out, then answer with the error anyway
    trickle: float = 0.0  # seconds between the bytes of the (normal) answer


@dataclass
class Request:
    method: str
    path: str
    body: Any
    status: int = 0


@dataclass
class StandIn:
    description: Description
    repository: str
    pull: PullRequestState
    read_only: bool = False
    graphql_denied: bool = False  # GraphQL answers FORBIDDEN (a token without that access)
    # What an installation token (GITHUB_TOKEN) may write: the workflow's `permissions`.
    permissions: set[str] = field(default_factory=lambda: {"pull-requests", "checks", "statuses"})
    file_lines: dict[str, int] = field(default_factory=dict)  # head files' lengths, if known
    issue_comments: list[dict[str, Any]] = field(default_factory=list)
    review_comments: list[dict[str, Any]] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)
    check_runs: dict[int, dict[str, Any]] = field(default_factory=dict)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    # Commits of the repository outside the pull request (a merge queue's merge commit).
    repo_commits: list[str] = field(default_factory=list)
    resolved_threads: set[int] = field(default_factory=set)  # ids of threads' first comments
    requests: list[Request] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    url: str = ""
    gate: gate_routes.GateState = field(default_factory=gate_routes.GateState)

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self._hooks: list[tuple[str, re.Pattern[str], Callable[[], None]]] = []
        self._ids = itertools.count(1000)
        self._server: ThreadingHTTPServer | None = None
        self._caller: dict[str, Any] = BOT
        self._kind = "app"

    # --- test controls ---------------------------------------------------------------------
    def fail(
        self,
        method: str,
        path: str,
        status: int,
        times: int = 1,
        headers: dict[str, str] | None = None,
        message: str = "injected fault",
        applied: bool = False,
        trickle: float = 0.0,
    ) -> None:
        """Answer the next `times` requests matching (method, path regex) with `status`;
        `applied`: carry the request out first (GitHub did the write, the answer got lost);
        `trickle`: answer normally, one byte every `trickle` seconds (status ignored)."""
        fault = Fault(method, re.compile(path), status, times, headers or {}, message)
        fault.applied, fault.trickle = applied, trickle
        self.faults.append(fault)

    def after(self, method: str, path: str, action: Callable[[], None]) -> None:
        """Call `action` once, right after the next request matching (method, path regex)
        (say, a push landing while a run is writing)."""
        self._hooks.append((method, re.compile(path), action))

    def push(self, head_sha: str, hunk_lines: dict[str, set[int]], diff: str) -> None:
        """A new head commit: `hunk_lines` of base..new head, `diff` of old head..new head.
        As on GitHub, a review comment whose line the push changes becomes outdated (`line` and
        `position` null); the others move with their line."""
        with self.lock:
            moves = line_moves(diff)
            for comment in self.review_comments:
                if comment.get("line") is None or comment["path"] not in moves:
                    continue
                line = moves[comment["path"]](comment["line"])
                comment["line"] = line
                comment["position"] = line  # the stand-in's positions are the lines
            self.pull.head_sha = head_sha
            self.pull.hunk_lines = hunk_lines
            self.pull.commits.append(head_sha)

    def thread_resolved(self, comment_id: int) -> bool:
        return comment_id in self.resolved_threads

    def annotations(self, run_id: int) -> list[dict[str, Any]]:
        return list(self.check_runs[run_id]["_annotations"])

    def writes(self) -> list[Request]:
        """Requests that change something (a GraphQL query is a read, a mutation a write)."""
        return [r for r in self.requests if r.method in WRITE_METHODS and not _graphql_read(r)]

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # --- dispatch --------------------------------------------------------------------------
    def handle(
        self, method: str, target: str, body: Any, auth: str
    ) -> tuple[int, Any, dict[str, str]]:
        split = urlsplit(target)
        path, query = split.path, parse_qs(split.query)
        with self.lock:
            request = Request(method, path, body)
            self.requests.append(request)
            status, payload, headers = self._handle(method, path, query, body, auth)
            request.status = status
            for hook in list(self._hooks):
                if hook[0] == method and hook[1].search(path):
                    self._hooks.remove(hook)
                    hook[2]()
            return status, payload, headers

    def _handle(
        self, method: str, path: str, query: dict[str, list[str]], body: Any, auth: str
    ) -> tuple[int, Any, dict[str, str]]:
        if not auth.lower().startswith(("token ", "bearer ")):
            return 401, {"message": "Requires authentication"}, {}
        self._kind = token_kind(auth)
        self._caller = PAT_USER if self._kind == "pat" else BOT
        if method == "POST" and path == "/graphql":
            return self._graphql(body)
        operation = self.description.operation(method, path)
        if operation is None:
            self.violations.append(f"{method} {path}: no such operation in GitHub's REST API")
            return 404, {"message": "Not Found"}, {}
        errors = self.description.body_errors(operation, body)
        if errors:
            self.violations.append(f"{method} {operation.template}: {'; '.join(errors)}")
            return 422, {"message": "Invalid request.", "errors": errors}, {}
        for fault in self.faults:
            if fault.times > 0 and fault.method == method and fault.path.search(path):
                fault.times -= 1
                if fault.trickle:
                    status, payload, headers = self._route(method, path, query, body)
                    return status, payload, {**headers, TRICKLE: str(fault.trickle)}
                if fault.applied:
                    self._route(method, path, query, body)
                return fault.status, {"message": fault.message}, dict(fault.headers)
        if method in WRITE_METHODS and (
            self.read_only or (self._kind == "app" and _permission(path) not in self.permissions)
        ):
            return 403, {"message": "Resource not accessible by integration"}, {}
        return self._route(method, path, query, body)

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        for route_method, pattern, handler in self._routes():
            match = re.fullmatch(pattern, path)
            if route_method == method and match:
                return handler(match.groupdict(), query, body)
        self.violations.append(f"{method} {path}: valid, but the stand-in does not implement it")
        return 501, {"message": "not implemented by the stand-in"}, {}

    def _routes(self) -> list[tuple[str, str, Callable[..., tuple[int, Any, dict[str, str]]]]]:
        repo = rf"/repos/{re.escape(self.repository)}"
        return [
            ("GET", "/user", self._get_user),
            ("GET", repo, self._get_repo),
            ("GET", rf"{repo}/pulls/(?P<n>\d+)", self._get_pull),
            ("GET", rf"{repo}/commits/(?P<sha>[0-9a-f]+)", self._get_commit),
            ("GET", rf"{repo}/issues/(?P<n>\d+)/comments", self._list_issue_comments),
            ("POST", rf"{repo}/issues/(?P<n>\d+)/comments", self._create_issue_comment),
            ("PATCH", rf"{repo}/issues/comments/(?P<id>\d+)", self._edit_issue_comment),
            ("GET", rf"{repo}/pulls/(?P<n>\d+)/comments", self._list_review_comments),
            ("PATCH", rf"{repo}/pulls/comments/(?P<id>\d+)", self._edit_review_comment),
            ("GET", rf"{repo}/pulls/(?P<n>\d+)/reviews", self._list_reviews),
            ("POST", rf"{repo}/pulls/(?P<n>\d+)/reviews", self._create_review),
            ("DELETE", rf"{repo}/pulls/(?P<n>\d+)/reviews/(?P<id>\d+)", self._delete_review),
            ("POST", rf"{repo}/check-runs", self._create_check_run),
            ("GET", rf"{repo}/check-runs/(?P<id>\d+)", self._get_check_run),
            ("PATCH", rf"{repo}/check-runs/(?P<id>\d+)", self._update_check_run),
            ("GET", rf"{repo}/commits/(?P<sha>[0-9a-f]+)/check-runs", self._list_check_runs),
            ("POST", rf"{repo}/statuses/(?P<sha>[0-9a-f]+)", self._create_status),
            *gate_routes.routes(self, repo),
        ]

    # --- resources -------------------------------------------------------------------------

    def add_comment(
        self,
        body: str,
        login: str,
        review_line: tuple[str, int] | None = None,
        kind: str = "User",
    ) -> None:
        """A comment by someone else (a user, or another app's bot): an issue comment, or a
        review comment."""
        user = {"login": login, "id": 7, "type": kind}
        ident = next(self._ids)
        if review_line is None:
            url = self._api(f"/issues/comments/{ident}")
            self.issue_comments.append({"id": ident, "body": body, "url": url, "user": user})
        else:
            path, line = review_line
            self.review_comments.append(self._review_comment(ident, path, line, body, user, 0))

    def _api(self, suffix: str = "") -> str:
        return f"{self.url}/repos/{self.repository}{suffix}"

    def _pull_json(self) -> dict[str, Any]:
        pull = self.pull
        return {
            "id": 1,
            "number": pull.number,
            "state": "open",
            "url": self._api(f"/pulls/{pull.number}"),
            "issue_url": self._api(f"/issues/{pull.number}"),
            "user": gate_routes.user(self.gate.author),
            "head": {
                "sha": pull.head_sha,
                "repo": {"full_name": pull.head_repo or self.repository},
            },
            "base": {"sha": pull.base_sha, "repo": {"full_name": self.repository}},
        }

    def _check_pull(self, number: str) -> tuple[int, Any, dict[str, str]] | None:
        if int(number) != self.pull.number:
            return 404, {"message": "Not Found"}, {}
        return None

    def _page(
        self, items: list[dict[str, Any]], query: dict[str, list[str]], path: str
    ) -> tuple[int, Any, dict[str, str]]:
        per_page = min(MAX_PER_PAGE, int(query.get("per_page", ["30"])[0]))  # GitHub's cap
        page = int(query.get("page", ["1"])[0])
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(items):
            headers["Link"] = f'<{self.url}{path}?per_page={per_page}&page={page + 1}>; rel="next"'
        return 200, chunk, headers

    def _too_long(self, what: str, body: str) -> tuple[int, Any, dict[str, str]] | None:
        if len(body) > MAX_BODY_CHARS:
            error = f"{what} is too long (maximum is {MAX_BODY_CHARS} characters)"
            return 422, {"message": "Validation Failed", "errors": [error]}, {}
        return None

    def _get_user(self, _: dict[str, str], __: Any, ___: Any) -> tuple[int, Any, dict[str, str]]:
        if self._kind == "app":
            return 403, {"message": "Resource not accessible by integration"}, {}
        return 200, dict(PAT_USER), {}

    def _get_repo(self, _: dict[str, str], __: Any, ___: Any) -> tuple[int, Any, dict[str, str]]:
        _owner, name = self.repository.split("/")
        return 200, {"id": 1, "name": name, "full_name": self.repository, "url": self._api()}, {}

    def _get_pull(self, params: dict[str, str], _: Any, __: Any) -> tuple[int, Any, dict[str, str]]:
        return self._check_pull(params["n"]) or (200, self._pull_json(), {})

    def _get_commit(
        self, params: dict[str, str], _: Any, __: Any
    ) -> tuple[int, Any, dict[str, str]]:
        sha = params["sha"]
        if sha not in (*self.pull.commits, self.pull.base_sha, *self.repo_commits):
            return 422, {"message": f"No commit found for SHA: {sha}"}, {}
        return 200, {"sha": sha, "url": self._api(f"/commits/{sha}")}, {}

    def _list_issue_comments(
        self, params: dict[str, str], query: dict[str, list[str]], _: Any
    ) -> tuple[int, Any, dict[str, str]]:
        return self._check_pull(params["n"]) or self._page(
            self.issue_comments, query, f"/repos/{self.repository}/issues/{params['n']}/comments"
        )

    def _create_issue_comment(
        self, params: dict[str, str], _: Any, body: dict[str, Any]
    ) -> tuple[int, Any, dict[str, str]]:
        rejected = self._check_pull(params["n"]) or self._too_long("body", body["body"])
        if rejected:
            return rejected
        ident = next(self._ids)
        comment = {
            "id": ident,
            "body": body["body"],
            "url": self._api(f"/issues/comments/{ident}"),
            "user": self._caller,
        }
        self.issue_comments.append(comment)
        return 201, comment, {}

    def _edit_issue_comment(
        self, params: dict[str, str], _: Any, body: dict[str, Any]
    ) -> tuple[int, Any, dict[str, str]]:
        return self._edit_body(self.issue_comments, int(params["id"]), body["body"])

    def _edit_body(
        self, comments: list[dict[str, Any]], ident: int, text: str
    ) -> tuple[int, Any, dict[str, str]]:
        rejected = self._too_long("body", text)
        if rejected:
            return rejected
        for comment in comments:
            if comment["id"] == ident and not comment.get("_pending"):
                comment["body"] = text
                comment["edits"] = comment.get("edits", 0) + 1
                return 200, self._public(comment), {}
        return 404, {"message": "Not Found"}, {}

    def _review_comment(
        self, ident: int, path: str, line: int, body: str, user: dict[str, Any], review: int
    ) -> dict[str, Any]:
        return {
            "id": ident,
            "node_id": f"PRRC_{ident}",
            "pull_request_review_id": review,
            "path": path,
            "line": line,
            "original_line": line,
            "position": line,
            "original_position": line,
            "side": "RIGHT",
            "body": body,
            "commit_id": self.pull.head_sha,
            "original_commit_id": self.pull.head_sha,
            "url": self._api(f"/pulls/comments/{ident}"),
            "user": user,
        }

    def _list_review_comments(
        self, params: dict[str, str], query: dict[str, list[str]], _: Any
    ) -> tuple[int, Any, dict[str, str]]:
        visible = [c for c in self.review_comments if not c.get("_pending")]
        return self._check_pull(params["n"]) or self._page(
            visible, query, f"/repos/{self.repository}/pulls/{params['n']}/comments"
        )

    def _edit_review_comment(
        self, params: dict[str, str], _: Any, body: dict[str, Any]
    ) -> tuple[int, Any, dict[str, str]]:
        return self._edit_body(self.review_comments, int(params["id"]), body["body"])

    def _list_reviews(
        self, params: dict[str, str], query: dict[str, list[str]], _: Any
    ) -> tuple[int, Any, dict[str, str]]:
        # A pending review is seen by its author only.
        visible = [r for r in self.reviews if r["state"] != "PENDING" or r["user"] == self._caller]
        return self._check_pull(params["n"]) or self._page(
            visible, query, f"/repos/{self.repository}/pulls/{params['n']}/reviews"
        )

    def _create_review(
        self, params: dict[str, str], _: Any, body: dict[str, Any]
    ) -> tuple[int, Any, dict[str, str]]:
        missing = self._check_pull(params["n"])
        if missing:
            return missing
        commit = body.get("commit_id", self.pull.head_sha)
        if commit not in self.pull.commits:
            return 422, {"message": "Unprocessable Entity", "errors": ["commit_id is stale"]}, {}
        event = body.get("event")
        if event == "COMMENT" and not body.get("body"):
            return 422, {"message": "Unprocessable Entity", "errors": ["body is required"]}, {}
        if event is None and any(
            r["state"] == "PENDING" and r["user"] == self._caller for r in self.reviews
        ):
            error = "User can only have one pending review per pull request"
            return 422, {"message": "Unprocessable Entity", "errors": [error]}, {}
        too_long = self._too_long("body", body.get("body", ""))
        if too_long:
            return too_long
        for comment in body.get("comments", []):
            too_long = self._too_long("comments body", comment["body"])
            if too_long:
                return too_long  # one comment rejects the whole review, as on GitHub
            if "position" in comment:
                continue
            side = comment.get("side", "RIGHT")
            lines = self.pull.hunk_lines.get(comment["path"], set())
            if side != "RIGHT" or comment.get("line") not in lines:
                return (
                    422,
                    {
                        "message": "Unprocessable Entity",
                        "errors": ["Pull request review thread line must be part of the diff"],
                    },
                    {},
                )
        review_id = next(self._ids)
        review = {
            "id": review_id,
            "body": body.get("body", ""),
            "state": "PENDING" if event is None else "COMMENTED",
            "commit_id": commit,
            "user": self._caller,
            "node_id": f"PRR_{review_id}",
            "pull_request_url": self._api(f"/pulls/{self.pull.number}"),
            "author_association": "NONE",  # the workflow's token: no association
        }
        self.reviews.append(review)
        for comment in body.get("comments", []):
            ident = next(self._ids)
            made = self._review_comment(
                ident,
                comment["path"],
                comment.get("line"),
                comment["body"],
                self._caller,
                review_id,
            )
            made["side"] = comment.get("side", "RIGHT")
            made["commit_id"] = made["original_commit_id"] = commit
            made["_pending"] = event is None
            self.review_comments.append(made)
        return 200, review, {}

    def _delete_review(
        self, params: dict[str, str], _: Any, __: Any
    ) -> tuple[int, Any, dict[str, str]]:
        for review in self.reviews:
            if review["id"] == int(params["id"]):
                if review["state"] != "PENDING":
                    error = "Can not delete a non-pending pull request review"
                    return 422, {"message": "Unprocessable Entity", "errors": [error]}, {}
                self.reviews.remove(review)
                self.review_comments[:] = [
                    c for c in self.review_comments if c["pull_request_review_id"] != review["id"]
                ]
                return 200, review, {}
        return 404, {"message": "Not Found"}, {}

    def _public(self, item: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in item.items() if not key.startswith("_")}

    def _output_errors(self, body: dict[str, Any]) -> list[str]:
        """GitHub's byte limits on a check run's output (the schema says characters)."""
        output = body.get("output") or {}
        errors = []
        if len(output.get("title") or "") > MAX_TITLE_CHARS:
            errors.append("output.title is too long")
        for key in ("summary", "text"):
            if len(str(output.get(key) or "").encode()) > MAX_OUTPUT_BYTES:
                errors.append(f"output.{key} is too long (maximum is {MAX_OUTPUT_BYTES} bytes)")
        annotations = output.get("annotations") or []
        if len(annotations) > MAX_ANNOTATIONS:
            errors.append(
                f"at most {MAX_ANNOTATIONS} annotations per request, got {len(annotations)}"
            )
        for annotation in annotations:
            for key in ("message", "raw_details"):
                if len(str(annotation.get(key) or "").encode()) > MAX_OUTPUT_BYTES:
                    errors.append(f"annotation {key} is too long")
            if len(annotation.get("title") or "") > MAX_TITLE_CHARS:
                errors.append("annotation title is too long")
            if annotation["end_line"] < annotation["start_line"]:
                errors.append("annotation end_line is before start_line")
            known = self.file_lines.get(annotation["path"])
            if known is not None and annotation["end_line"] > known:
                # GitHub accepts it but shows a broken annotation: the client is wrong.
                self.violations.append(
                    f"annotation {annotation['path']}:{annotation['end_line']} ends past the"
                    f" end of the file ({known} lines)"
                )
        return errors

    def _rejected_output(self, body: dict[str, Any]) -> tuple[int, Any, dict[str, str]] | None:
        errors = self._output_errors(body)
        if errors:
            return 422, {"message": "Invalid request.", "errors": errors}, {}
        return None

    def _check_run_json(self, run: dict[str, Any]) -> dict[str, Any]:
        public = self._public(run)
        public["output"] = {**run["output"], "annotations_count": len(run["_annotations"])}
        return public

    def _create_check_run(
        self, _: dict[str, str], __: Any, body: dict[str, Any]
    ) -> tuple[int, Any, dict[str, str]]:
        if self._kind == "pat":
            return 403, {"message": "You must authenticate via a GitHub App."}, {}
        rejected = self._rejected_output(body)
        if rejected:
            return rejected
        ident = next(self._ids)
        output = dict(body.get("output") or {})
        run = {
            "id": ident,
            "url": self._api(f"/check-runs/{ident}"),
            "name": body["name"],
            "head_sha": body["head_sha"],
            "external_id": body.get("external_id", ""),
            "status": body.get("status", "queued"),
            "conclusion": body.get("conclusion"),
            "output": {k: v for k, v in output.items() if k != "annotations"},
            "_annotations": list(output.get("annotations") or []),
            "_updates": 0,
        }
        self.check_runs[ident] = run
        return 201, self._check_run_json(run), {}

    def _get_check_run(
        self, params: dict[str, str], _: Any, __: Any
    ) -> tuple[int, Any, dict[str, str]]:
        run = self.check_runs.get(int(params["id"]))
        if run is None:
            return 404, {"message": "Not Found"}, {}
        return 200, self._check_run_json(run), {}

    def _list_check_runs(
        self, params: dict[str, str], query: dict[str, list[str]], _: Any
    ) -> tuple[int, Any, dict[str, str]]:
        name = query.get("check_name", [None])[0]
        runs = [
            self._check_run_json(run)
            for run in self.check_runs.values()
            if run["head_sha"] == params["sha"] and name in (None, run["name"])
        ]
        per_page = min(MAX_PER_PAGE, int(query.get("per_page", ["30"])[0]))
        return 200, {"total_count": len(runs), "check_runs": runs[:per_page]}, {}

    def _update_check_run(
        self, params: dict[str, str], _: Any, body: dict[str, Any]
    ) -> tuple[int, Any, dict[str, str]]:
        run = self.check_runs.get(int(params["id"]))
        if run is None:
            return 404, {"message": "Not Found"}, {}
        rejected = self._rejected_output(body)
        if rejected:
            return rejected
        for key in ("name", "status", "conclusion"):
            if key in body:
                run[key] = body[key]
        output = dict(body.get("output") or {})
        run["_annotations"].extend(output.pop("annotations", None) or [])  # GitHub appends
        run["output"].update(output)
        run["_updates"] += 1
        return 200, self._check_run_json(run), {}

    def _create_status(
        self, params: dict[str, str], _: Any, body: dict[str, Any]
    ) -> tuple[int, Any, dict[str, str]]:
        if params["sha"] not in (*self.pull.commits, *self.repo_commits):
            return 422, {"message": f"No commit found for SHA: {params['sha']}"}, {}
        if len(body.get("description") or "") > MAX_STATUS_DESCRIPTION:
            error = f"description is too long (maximum is {MAX_STATUS_DESCRIPTION} characters)"
            return 422, {"message": "Validation Failed", "errors": [error]}, {}
        status = {
            "id": next(self._ids),
            "sha": params["sha"],
            "state": body["state"],
            "description": body.get("description"),
            "context": body.get("context", "default"),
            "creator": self._caller,
        }
        self.statuses.append(status)
        return 201, status, {}

    # --- GraphQL: review threads only --------------------------------------------------------
    def _graphql(self, body: Any) -> tuple[int, Any, dict[str, str]]:
        """`repository.pullRequest.reviewThreads` and `resolveReviewThread`, as GitHub answers
        them (errors come with status 200). A review thread is its first comment."""
        query = str((body or {}).get("query", ""))
        variables = (body or {}).get("variables") or {}
        if self.graphql_denied or (self.read_only and query.lstrip().startswith("mutation")):
            error = {"type": "FORBIDDEN", "message": "Resource not accessible by integration"}
            return 200, {"data": None, "errors": [error]}, {}
        if re.fullmatch(r"\s*query\s*\{\s*viewer\s*\{\s*login\s*\}\s*\}\s*", query):
            return 200, {"data": {"viewer": {"login": self._caller["login"]}}}, {}
        if "resolveReviewThread" in query:
            thread = str(variables.get("threadId", ""))
            first = next((c for c in self._threads() if f"PRRT_{c['id']}" == thread), None)
            if first is None:
                error = {"type": "NOT_FOUND", "message": f"Could not resolve to a node {thread}"}
                return 200, {"data": None, "errors": [error]}, {}
            self.resolved_threads.add(first["id"])
            node = {"id": thread, "isResolved": True}
            return 200, {"data": {"resolveReviewThread": {"thread": node}}}, {}
        if "reviewThreads" in query:
            first_n = re.search(r"reviewThreads\(first:\s*(\d+)", query)
            owner, name = self.repository.split("/")
            if (
                variables.get("owner") != owner
                or variables.get("name") != name
                or variables.get("number") != self.pull.number
            ):
                error = {"type": "NOT_FOUND", "message": "Could not resolve to a PullRequest"}
                return 200, {"data": None, "errors": [error]}, {}
            if first_n is None or not 1 <= int(first_n[1]) <= 100:
                error = {"message": "reviewThreads needs `first` between 1 and 100"}
                self.violations.append(f"GraphQL: {error['message']}")
                return 200, {"data": None, "errors": [error]}, {}
            after = int(variables.get("after") or 0)
            threads = self._threads()
            chunk = threads[after : after + int(first_n[1])]
            nodes = [
                {
                    "id": f"PRRT_{c['id']}",
                    "isResolved": c["id"] in self.resolved_threads,
                    "isOutdated": c.get("line") is None,
                    "comments": {"nodes": [{"databaseId": c["id"]}]},
                }
                for c in chunk
            ]
            more = after + len(chunk) < len(threads)
            page = {"hasNextPage": more, "endCursor": str(after + len(chunk))}
            pull = {"reviewThreads": {"nodes": nodes, "pageInfo": page}}
            return 200, {"data": {"repository": {"pullRequest": pull}}}, {}
        self.violations.append(f"GraphQL: the stand-in does not implement {query[:80]!r}")
        return 200, {"data": None, "errors": [{"message": "not implemented by the stand-in"}]}, {}

    def _threads(self) -> list[dict[str, Any]]:
        return [
            c for c in self.review_comments if not c.get("_pending") and not c.get("in_reply_to_id")
        ]


class _Handler(BaseHTTPRequestHandler):
    standin: StandIn

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                self.standin.violations.append(f"{self.command} {self.path}: body is not JSON")
                self._reply(400, {"message": "Problems parsing JSON"}, {})
                return
        status, payload, headers = self.standin.handle(
            self.command, self.path, body, self.headers.get("Authorization", "")
        )
        self._reply(status, payload, headers)

    def _reply(self, status: int, payload: Any, headers: dict[str, str]) -> None:
        data = json.dumps(payload).encode()
        trickle = float(headers.pop(TRICKLE, 0))
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if not trickle:
            self.wfile.write(data)
            return
        try:
            for byte in data:  # a slow server: never a read timeout, never done
                time.sleep(trickle)
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
        except OSError:
            pass  # the client gave up

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve


def start(description: Description, repository: str, pull: PullRequestState) -> StandIn:
    standin = StandIn(description, repository, pull)
    handler = type("Handler", (_Handler,), {"standin": standin})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    standin._server = server
    standin.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return standin


def hunk_lines(diff: str) -> dict[str, set[int]]:
    """Head-side lines inside the hunks of a unified diff (`git diff`): where GitHub accepts
    a review comment with side RIGHT (added and context lines)."""
    out: dict[str, set[int]] = {}
    path = ""
    for line in diff.splitlines():
        if line.startswith("+++ "):
            target = line[4:].strip()
            path = target[2:] if target.startswith("b/") else ""
            continue
        match = re.match(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@", line)
        if match and path:
            start, count = int(match[1]), int(match[2] if match[2] is not None else 1)
            out.setdefault(path, set()).update(range(start, start + count))
    return out


def _graphql_read(request: Request) -> bool:
    query = str((request.body or {}).get("query", "")) if isinstance(request.body, dict) else ""
    return request.path == "/graphql" and not query.lstrip().startswith("mutation")


def _permission(path: str) -> str:
    """The token permission a write to `path` needs."""
    if "/check-runs" in path:
        return "checks"
    if "/statuses/" in path:
        return "statuses"
    return "pull-requests"


def line_moves(diff: str) -> dict[str, Callable[[int], int | None]]:
    """For each file of a unified diff (old head -> new head): where an old line is now, or
    None when the push removed or changed it (GitHub then marks comments on it outdated)."""
    hunks: dict[str, tuple[dict[int, int | None], list[tuple[int, int]]]] = {}
    old = new = 0
    current: tuple[dict[int, int | None], list[tuple[int, int]]] | None = None
    for line in diff.splitlines():
        if line.startswith("--- "):
            source = line[4:].strip()
            current = hunks.setdefault(source[2:], ({}, [])) if source.startswith("a/") else None
            continue
        if line.startswith("+++ "):
            if line[4:].strip() == "/dev/null" and current is not None:
                current[1].append((1, -(10**9)))  # deleted: every line is gone
            continue
        match = re.match(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@", line)
        if match:
            old = int(match[1]) + (1 if match[2] == "0" else 0)
            new = int(match[3]) + (1 if match[4] == "0" else 0)
            continue
        if current is None or not line or line[0] not in " +-":
            continue
        mapping, ends = current
        if line[0] == " ":
            mapping[old] = new
            old, new = old + 1, new + 1
        elif line[0] == "-":
            mapping[old] = None
            old += 1
        else:
            new += 1
        ends.append((old, new - old))

    def mover(
        mapping: dict[int, int | None], ends: list[tuple[int, int]]
    ) -> Callable[[int], int | None]:
        def move(line: int) -> int | None:
            if line in mapping:
                return mapping[line]
            delta = 0
            for end, shift in ends:
                if line >= end:
                    delta = shift
            moved = line + delta
            return moved if moved >= 1 else None

        return move

    return {path: mover(*parts) for path, parts in hunks.items()}
