"""Who approved a change to the gate: reviews as GitHub counts them, minus what an attacker
controls.

Each reviewer's latest APPROVED / CHANGES_REQUESTED / DISMISSED review decides (COMMENTED
reviews change nothing). Never counted: the pull request's author, bots (a workflow's token may
approve pull requests when the repository allows it), someone GitHub does not associate with
the repository as owner, organization member or collaborator (on a public repository anyone
may submit an approving review; GitHub shows it and never counts it: red team r16), and an
approval of an older commit in which the gate file differed from the head (approve a
harmless version, push another).
Owners come from the base revision's CODEOWNERS; without an owner rule, any other person counts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from gatekeeper.github.codeowners import CodeOwners

DECISIVE = frozenset({"APPROVED", "CHANGES_REQUESTED", "DISMISSED"})
# `author_association` values of people who may hold write access to the repository.
ASSOCIATED = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})


@dataclass(frozen=True)
class Review:
    login: str
    bot: bool
    state: str
    commit_id: str
    association: str = "MEMBER"  # the review's author_association


def approvers(reviews: Iterable[Review], author: str) -> dict[str, str]:
    """login -> the commit each eligible reviewer's standing approval is for."""
    latest: dict[str, Review] = {}
    for review in reviews:  # GitHub lists reviews oldest first
        if review.state in DECISIVE:
            latest[review.login.lower()] = review
    return {
        login: review.commit_id
        for login, review in latest.items()
        if review.state == "APPROVED"
        and not review.bot
        and login != author.lower()
        and review.association.upper() in ASSOCIATED
    }


def is_owner(login: str, owners: tuple[str, ...], member: Callable[[str, str, str], bool]) -> bool:
    """`member(org, team, login)`: whether `login` belongs to `@org/team`."""
    for owner in owners:
        name = owner.removeprefix("@")
        if "/" in name and owner.startswith("@"):
            org, team = name.split("/", 1)
            if member(org, team, login):
                return True
        elif owner.startswith("@") and name.lower() == login.lower():
            return True
    return False


def approved_by(
    path: str,
    owners_file: CodeOwners,
    approved: dict[str, str],
    fresh: Callable[[str, str], bool],
    member: Callable[[str, str, str], bool],
) -> str | None:
    """The first reviewer whose approval covers `path`, or None.

    `fresh(commit, path)`: the approval of `commit` still stands for `path` at the head."""
    owners = owners_file.owners_of(path)
    for login, commit in sorted(approved.items()):
        if not fresh(commit, path):
            continue
        if owners is None or is_owner(login, owners, member):
            return login
    return None
