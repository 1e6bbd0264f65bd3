"""A local stand-in for GitHub's REST API, for tests: real HTTP, requests checked against the
published OpenAPI description, review comments outside the diff rejected with 422."""

from tests.github_standin.server import PullRequestState, StandIn, hunk_lines, start

__all__ = ["PullRequestState", "StandIn", "hunk_lines", "start"]
