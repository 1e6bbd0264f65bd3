"""The stand-in server: a threaded HTTP server on 127.0.0.1 that keeps GitHub-like state.

Every request is matched to an operation of GitHub's OpenAPI description and its JSON body is
validated against that operation's requestBody schema; anything that does not conform is
recorded in `violations` and answered 404/422. Review comments must sit on a line of the pull
request's diff hunks (RIGHT side), as on GitHub, or the whole review is rejected with 422.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.github_standin import gate_routes
from tests.github_standin.openapi import Description

WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
MAX_ANNOTATIONS = 50
BOT = {"login": "github-actions[bot]", "id": 41898282, "type": "Bot"}  # GITHUB_TOKEN's author


@dataclass
class PullRequestState:
    number: int
    base_sha: str
    head_sha: str
    hunk_lines: dict[str, set[int]]  # path -> head-side lines inside the diff hunks
    head_repo: str = ""  # default: the base repository


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    status: int
    times: int
    headers: dict[str, str]
    message: str


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
    issue_comments: list[dict[str, Any]] = field(default_factory=list)
    review_comments: list[dict[str, Any]] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)
    check_runs: dict[int, dict[str, Any]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    url: str = ""
    gate: gate_routes.GateState = field(default_factory=gate_routes.GateState)

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self._ids = itertools.count(1000)
        self._server: ThreadingHTTPServer | None = None

    # --- test controls ---------------------------------------------------------------------
    def fail(
        self,
        method: str,
        path: str,
        status: int,
        times: int = 1,
        headers: dict[str, str] | None = None,
        message: str = "injected fault",
    ) -> None:
        """Answer the next `times` requests matching (method, path regex) with `status`."""
        self.faults.append(Fault(method, re.compile(path), status, times, headers or {}, message))

    def annotations(self, run_id: int) -> list[dict[str, Any]]:
        return list(self.check_runs[run_id]["_annotations"])

    def writes(self) -> list[Request]:
        return [r for r in self.requests if r.method in WRITE_METHODS]

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
            return status, payload, headers

    def _handle(
        self, method: str, path: str, query: dict[str, list[str]], body: Any, auth: str
    ) -> tuple[int, Any, dict[str, str]]:
        operation = self.description.operation(method, path)
        if operation is None:
            self.violations.append(f"{method} {path}: no such operation in GitHub's REST API")
            return 404, {"message": "Not Found"}, {}
        errors = self.description.body_errors(operation, body)
        if errors:
            self.violations.append(f"{method} {operation.template}: {'; '.join(errors)}")
            return 422, {"message": "Invalid request.", "errors": errors}, {}
        if not auth.lower().startswith(("token ", "bearer ")):
            return 401, {"message": "Requires authentication"}, {}
        for fault in self.faults:
            if fault.times > 0 and fault.method == method and fault.path.search(path):
                fault.times -= 1
                return fault.status, {"message": fault.message}, dict(fault.headers)
        if self.read_only and method in WRITE_METHODS:
            return 403, {"message": "Resource not accessible by integration"}, {}
        for route_method, pattern, handler in self._routes():
            match = re.fullmatch(pattern, path)
            if route_method == method and match:
                return handler(match.groupdict(), query, body)
        self.violations.append(f"{method} {path}: valid, but the stand-in does not implement it")
        return 501, {"message": "not implemented by the stand-in"}, {}

    def _routes(self) -> list[tuple[str, str, Callable[..., tuple[int, Any, dict[str, str]]]]]:
        repo = rf"/repos/{re.escape(self.repository)}"
        return [
            ("GET", repo, self._get_repo),
            ("GET", rf"{repo}/pulls/(?P<n>\d+)", self._get_pull),
            ("GET", rf"{repo}/commits/(?P<sha>[0-9a-f]+)", self._get_commit),
            ("GET", rf"{repo}/issues/(?P<n>\d+)/comments", self._list_issue_comments),
            ("POST", rf"{repo}/issues/(?P<n>\d+)/comments", self._create_issue_comment),
            ("PATCH", rf"{repo}/issues/comments/(?P<id>\d+)", self._edit_issue_comment),
            ("GET", rf"{repo}/pulls/(?P<n>\d+)/comments", self._list_review_comments),
            ("POST", rf"{repo}/pulls/(?P<n>\d+)/reviews", self._create_review),
            ("POST", rf"{repo}/check-runs", self._create_check_run),
            ("PATCH", rf"{repo}/check-runs/(?P<id>\d+)", self._update_check_run),
            *gate_routes.routes(self, repo),
        ]

    # --- resources -------------------------------------------------------------------------

    def add_comment(
        self, body: str, login: str, review_line: tuple[str, int] | None = None
    ) -> None:
        """A comment by someone else (a user): an issue comment, or a review comment."""
        user = {"login": login, "id": 7, "type": "User"}
        ident = next(self._ids)
        if review_line is None:
            url = self._api(f"/issues/comments/{ident}")
            self.issue_comments.append({"id": ident, "body": body, "url": url, "user": user})
        else:
            path, line = review_line
            url = self._api(f"/pulls/comments/{ident}")
            self.review_comments.append(
                {"id": ident, "path": path, "line": line, "body": body, "url": url, "user": user}
            )

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
        per_page = int(query.get("per_page", ["30"])[0])
        page = int(query.get("page", ["1"])[0])
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(items):
            headers["Link"] = f'<{self.url}{path}?per_page={per_page}&page={page + 1}>; rel="next"'
        return 200, chunk, headers

    def _get_repo(self, _: dict[str, str], __: Any, ___: Any) -> tuple[int, Any, dict[str, str]]:
        _owner, name = self.repository.split("/")
        return 200, {"id": 1, "name": name, "full_name": self.repository, "url": self._api()}, {}

    def _get_pull(self, params: dict[str, str], _: Any, __: Any) -> tuple[int, Any, dict[str, str]]:
        return self._check_pull(params["n"]) or (200, self._pull_json(), {})

    def _get_commit(
        self, params: dict[str, str], _: Any, __: Any
    ) -> tuple[int, Any, dict[str, str]]:
        sha = params["sha"]
        if sha not in (self.pull.head_sha, self.pull.base_sha):
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
        missing = self._check_pull(params["n"])
        if missing:
            return missing
        ident = next(self._ids)
        comment = {
            "id": ident,
            "body": body["body"],
            "url": self._api(f"/issues/comments/{ident}"),
            "user": BOT,
        }
        self.issue_comments.append(comment)
        return 201, comment, {}

    def _edit_issue_comment(
        self, params: dict[str, str], _: Any, body: dict[str, Any]
    ) -> tuple[int, Any, dict[str, str]]:
        for comment in self.issue_comments:
            if comment["id"] == int(params["id"]):
                comment["body"] = body["body"]
                comment["edits"] = comment.get("edits", 0) + 1
                return 200, comment, {}
        return 404, {"message": "Not Found"}, {}

    def _list_review_comments(
        self, params: dict[str, str], query: dict[str, list[str]], _: Any
    ) -> tuple[int, Any, dict[str, str]]:
        return self._check_pull(params["n"]) or self._page(
            self.review_comments, query, f"/repos/{self.repository}/pulls/{params['n']}/comments"
        )

    def _create_review(
        self, params: dict[str, str], _: Any, body: dict[str, Any]
    ) -> tuple[int, Any, dict[str, str]]:
        missing = self._check_pull(params["n"])
        if missing:
            return missing
        commit = body.get("commit_id", self.pull.head_sha)
        if commit != self.pull.head_sha:
            return 422, {"message": "Unprocessable Entity", "errors": ["commit_id is stale"]}, {}
        if body.get("event") == "COMMENT" and not body.get("body"):
            return 422, {"message": "Unprocessable Entity", "errors": ["body is required"]}, {}
        for comment in body.get("comments", []):
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
            "state": "COMMENTED",
            "commit_id": commit,
            "user": BOT,
        }
        self.reviews.append(review)
        for comment in body.get("comments", []):
            ident = next(self._ids)
            self.review_comments.append(
                {
                    "id": ident,
                    "pull_request_review_id": review_id,
                    "path": comment["path"],
                    "line": comment.get("line"),
                    "side": comment.get("side", "RIGHT"),
                    "body": comment["body"],
                    "commit_id": commit,
                    "url": self._api(f"/pulls/comments/{ident}"),
                    "user": BOT,
                }
            )
        return 200, review, {}

    def _too_many(self, body: dict[str, Any]) -> tuple[int, Any, dict[str, str]] | None:
        annotations = (body.get("output") or {}).get("annotations") or []
        if len(annotations) > MAX_ANNOTATIONS:
            message = f"at most {MAX_ANNOTATIONS} annotations per request, got {len(annotations)}"
            self.violations.append(message)
            return 422, {"message": message}, {}
        return None

    def _check_run_json(self, run: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in run.items() if not key.startswith("_")}

    def _create_check_run(
        self, _: dict[str, str], __: Any, body: dict[str, Any]
    ) -> tuple[int, Any, dict[str, str]]:
        rejected = self._too_many(body)
        if rejected:
            return rejected
        ident = next(self._ids)
        output = dict(body.get("output") or {})
        run = {
            "id": ident,
            "url": self._api(f"/check-runs/{ident}"),
            "name": body["name"],
            "head_sha": body["head_sha"],
            "status": body.get("status", "queued"),
            "conclusion": body.get("conclusion"),
            "output": {k: v for k, v in output.items() if k != "annotations"},
            "_annotations": list(output.get("annotations") or []),
            "_updates": 0,
        }
        self.check_runs[ident] = run
        return 201, self._check_run_json(run), {}

    def _update_check_run(
        self, params: dict[str, str], _: Any, body: dict[str, Any]
    ) -> tuple[int, Any, dict[str, str]]:
        run = self.check_runs.get(int(params["id"]))
        if run is None:
            return 404, {"message": "Not Found"}, {}
        rejected = self._too_many(body)
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
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

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
