"""The stand-in's routes for the gate's reads: branch protection's required status checks, rules
for a branch (rulesets), team memberships; and test controls for other people's reviews (listed by
the server's `GET /pulls/{n}/reviews`, which also hides pending reviews from all but their author).
As GitHub behaves:

- reviews list oldest first; a dismissed review keeps its place with state DISMISSED; GitHub
  refuses an author's approval of their own pull request (422), so none can exist;
- a branch shows whether it is protected and a summary of its required status checks to anyone
  who can read it (`branch_details=False` models an answer without that summary);
- the required status checks endpoint needs administration rights: 403 for an integration
  token without them ("Resource not accessible by integration"); with them, 404 "Branch not
  protected" or 404 "Required status checks not enabled";
- rules for a branch are readable with read access: a list of rules (empty when none apply);
- a team membership is 200 with state active/pending, or 404 (not a member, or not visible);
  403 for a token without organization members read access (a workflow's GITHUB_TOKEN).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

if TYPE_CHECKING:
    from tests.github_standin.server import StandIn

Reply = tuple[int, Any, dict[str, str]]


@dataclass
class GateState:
    author: str = "alice"  # the pull request's author
    admin: bool = False  # the token may read branch protection (administration: read)
    branch_details: bool = True  # GET branch shows protection's required status checks
    protected: dict[str, list[str]] = field(default_factory=dict)  # branch -> required contexts
    rules: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # branch -> rules
    teams: dict[str, set[str]] = field(default_factory=dict)  # "org/slug" -> member logins
    teams_readable: bool = True  # False: a token without organization members read (403)


def user(login: str, bot: bool = False) -> dict[str, Any]:
    """A simple-user object as GitHub returns it."""
    url = f"https://api.github.com/users/{login}"
    return {
        "login": login,
        "id": sum(login.encode()) + 1000,
        "node_id": f"U_{login}",
        "avatar_url": "https://avatars.githubusercontent.com/u/1",
        "gravatar_id": "",
        "url": url,
        "html_url": f"https://github.com/{login}",
        **{
            f"{name}_url": f"{url}/{name}"
            for name in (
                "followers",
                "following",
                "gists",
                "starred",
                "subscriptions",
                "organizations",
                "repos",
                "events",
                "received_events",
            )
        },
        "type": "Bot" if bot else "User",
        "site_admin": False,
    }


def add_review(
    standin: StandIn,
    login: str,
    state: str,
    commit_id: str = "",
    bot: bool = False,
    association: str = "MEMBER",
) -> dict[str, Any]:
    """A review by someone (a test control; GitHub's own rule on self-approval is kept).
    `association`: how GitHub relates them to the repository (`author_association`)."""
    if state == "APPROVED" and login == standin.gate.author:
        raise ValueError("Can not approve your own pull request")  # GitHub answers 422
    review = {
        "id": next(standin._ids),
        "node_id": "PRR_x",
        "user": user(login, bot),
        "body": "",
        "state": state,
        "commit_id": commit_id or standin.pull.head_sha,
        "html_url": "https://github.com/x",
        "pull_request_url": standin._api(f"/pulls/{standin.pull.number}"),
        "author_association": association,
        "_links": {"html": {"href": "https://github.com/x"}, "pull_request": {"href": "x"}},
        "submitted_at": "2026-01-01T00:00:00Z",
    }
    standin.reviews.append(review)
    return review


def dismiss(standin: StandIn, login: str) -> None:
    """Dismiss `login`'s reviews (as a maintainer, or branch protection on a new push)."""
    for review in standin.reviews:
        if review["user"]["login"] == login and review["state"] == "APPROVED":
            review["state"] = "DISMISSED"


def routes(standin: StandIn, repo: str) -> list[tuple[str, str, Callable[..., Reply]]]:
    gate = standin.gate

    def required_checks(params: dict[str, str], _: Any, __: Any) -> Reply:
        if not gate.admin:
            return 403, {"message": "Resource not accessible by integration"}, {}
        branch = unquote(params["branch"])
        if branch not in gate.protected:
            return 404, {"message": "Branch not protected"}, {}
        contexts = gate.protected[branch]
        if not contexts:
            return 404, {"message": "Required status checks not enabled"}, {}
        url = standin._api(f"/branches/{branch}/protection/required_status_checks")
        return (
            200,
            {
                "url": url,
                "strict": True,
                "contexts": contexts,
                "contexts_url": url + "/contexts",
                "checks": [{"context": c, "app_id": 15368} for c in contexts],
            },
            {},
        )

    def get_branch(params: dict[str, str], _: Any, __: Any) -> Reply:
        branch = unquote(params["branch"])
        if branch not in ("main", *gate.protected):
            return 404, {"message": "Branch not found"}, {}
        contexts = gate.protected.get(branch, [])
        protected = branch in gate.protected
        commit = dict(
            standin.description.document["components"]["examples"]["branch-get"]["value"]["commit"]
        )
        commit["sha"] = standin.pull.base_sha
        protection: dict[str, Any] = {"enabled": protected}
        if gate.branch_details:
            protection["required_status_checks"] = {
                "enforcement_level": "non_admins" if contexts else "off",
                "contexts": contexts,
                "checks": [{"context": c, "app_id": 15368} for c in contexts],
            }
        url = standin._api(f"/branches/{branch}")
        return (
            200,
            {
                "name": branch,
                "commit": commit,
                "_links": {
                    "self": url,
                    "html": f"https://github.com/{standin.repository}/tree/{branch}",
                },
                "protected": protected,
                "protection": protection,
                "protection_url": url + "/protection",
            },
            {},
        )

    def branch_rules(params: dict[str, str], query: dict[str, list[str]], _: Any) -> Reply:
        branch = unquote(params["branch"])
        path = f"/repos/{standin.repository}/rules/branches/{params['branch']}"
        return standin._page(gate.rules.get(branch, []), query, path)

    def membership(params: dict[str, str], _: Any, __: Any) -> Reply:
        if not gate.teams_readable:
            return 403, {"message": "Resource not accessible by integration"}, {}
        members = gate.teams.get(f"{params['org']}/{params['team']}", set())
        if params["user"] not in members:
            return 404, {"message": "Not Found"}, {}
        url = f"{standin.url}/orgs/{params['org']}/teams/{params['team']}/memberships/x"
        return 200, {"url": url, "role": "member", "state": "active"}, {}

    return [
        (
            "GET",
            rf"{repo}/branches/(?P<branch>[^/]+)/protection/required_status_checks",
            required_checks,
        ),
        ("GET", rf"{repo}/rules/branches/(?P<branch>[^/]+)", branch_rules),
        ("GET", rf"{repo}/branches/(?P<branch>[^/]+)", get_branch),
        (
            "GET",
            r"/orgs/(?P<org>[^/]+)/teams/(?P<team>[^/]+)/memberships/(?P<user>[^/]+)",
            membership,
        ),
    ]


def ruleset_requiring(check: str) -> dict[str, Any]:
    """A `required_status_checks` rule of a repository ruleset, as rules for a branch lists it."""
    return {
        "type": "required_status_checks",
        "ruleset_source_type": "Repository",
        "ruleset_source": "acme/app",
        "ruleset_id": 42,
        "parameters": {
            "strict_required_status_checks_policy": False,
            "required_status_checks": [{"context": check, "integration_id": 15368}],
        },
    }
