"""Make the gate hold against the change it judges: report ignored inputs, block changes to the
gate's workflows and CODEOWNERS until another person approves them, say whether the check is
required. Adds findings to a scanned change; never removes one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gatekeeper import git as gitops
from gatekeeper.change import SKIP_AHEAD
from gatekeeper.config import Config
from gatekeeper.decide import Verdict
from gatekeeper.document import Problem
from gatekeeper.errors import UsageError
from gatekeeper.finding import Finding
from gatekeeper.github import approval, codeowners, gatefiles, required, workflow
from gatekeeper.github.client import Client, PublishError
from gatekeeper.github.context import ActionsContext
from gatekeeper.github.gate import Ignored, input_line
from gatekeeper.github.plan import ChangeLike
from gatekeeper.problems import to_finding


@dataclass
class Guarded:
    change: ChangeLike
    notes: list[str] = field(default_factory=list)


def guard(
    change: Any,
    context: ActionsContext,
    config: Config,
    ignored: list[Ignored],
    check_name: str,
    root: Any,
    client: Client | None,
) -> Guarded:
    """`change`: a `gatekeeper.change.ChangeResult`; `client`: reads reviews and protection
    (None: no token or no pull request)."""
    repo = gitops.open_repo(root)
    base, head = repo.commit(change.base_sha), repo.commit(change.head_sha)
    notes = [item.message() for item in ignored]
    added = [
        _ignored_finding(item, context.own_workflow or config.file, _reader(head))
        for item in ignored
    ]

    trees = gatefiles.Trees(_reader(base), _reader(head), lambda: _paths(base) | _paths(head))
    changes = gitops.changed_files(repo, change.base_sha, change.head_sha)
    touched = gatefiles.changed_gate_files(changes, trees, change.changed_lines, config, check_name)
    change = _without_review_notes(change, {gate_file.path for gate_file in touched})
    skips = [f for f in change.verdict.findings if f.policy_id == SKIP_AHEAD and f.blocking]
    if touched or skips:
        # Owners from the trusted revision the configuration came from, not from the change.
        trusted = repo.commit(change.trusted_sha or change.base_sha)
        owners = codeowners.find(_reader(trusted))
        approved, why_not = _approvals(client, context, notes)
        fresh = _fresh(repo, head)
        unreadable: set[str] = set()
        member = _membership(client, unreadable)
        if skips:
            change = _approved_skips(change, skips, config, owners, approved, fresh, member)
        for gate_file in touched:
            login = approval.approved_by(gate_file.path, owners, approved, fresh, member)
            who = owners.owners_of(gate_file.path)
            teams = sorted(unreadable & set(who or ()))
            reason = why_not or (
                f"the token may not read the members of {', '.join(teams)}: give the workflow "
                "a token with organization members read access, or name people in CODEOWNERS"
                if teams and not login
                else ""
            )
            added.append(_gate_change_finding(gate_file, login, reason, who))
    if context.job and context.job == check_name:
        notes.append(
            f"WARNING: this job is named {check_name!r} like the check: GitHub reports a green "
            f"job check {check_name!r} even when a change deletes the gatekeeper step; rename "
            "the job (the starter workflow calls it `policy`)"
        )
        workflow.warn(notes[-1])
    pr = context.pull_request
    if pr is not None:
        found = (
            required.requirement(
                client, context.repository, pr.base_ref, check_name, context.workflow
            )
            if client is not None
            else required.Requirement("unknown", "no token to ask GitHub")
        )
        notes.append(found.note(check_name, pr.base_ref or "the base branch"))
        if found.state == "not required":
            workflow.warn(notes[-1])
    return Guarded(with_findings(change, added), notes)


def _approved_skips(
    change: Any,
    skips: list[Finding],
    config: Config,
    owners: codeowners.CodeOwners,
    approved: dict[str, str],
    fresh: Callable[[str, str], bool],
    member: Callable[[str, str, str], bool],
) -> Any:
    """`change` with each inline skip added ahead of a violation (GK-INLINE-SKIP-AHEAD) that
    a code owner of the waivers file approved (for the annotated file as it is at the head)
    no longer blocking. Exceptions are the waivers' owners' to grant, in the file or inline."""
    decided: dict[str, Finding] = {}
    for skip in skips:
        login = next(
            (
                login
                for login, commit in sorted(approved.items())
                if fresh(commit, skip.file)
                and approval.approved_by(config.waivers_file, owners, {login: commit}, _any, member)
            ),
            None,
        )
        if login:
            message = f"{skip.message}; approved by @{login}"
            decided[skip.fingerprint] = skip.with_(blocking=False, message=message)
    if not decided:
        return change
    findings = [
        decided.get(f.fingerprint, f) if f.policy_id == SKIP_AHEAD else f
        for f in change.verdict.findings
    ]
    verdict = Verdict(findings, change.verdict.threshold)
    return dataclasses.replace(change, verdict=verdict)


def _any(commit: str, path: str) -> bool:
    return True


def _without_review_notes(change: Any, paths: set[str]) -> Any:
    """`change` without the scan's GK-POLICY-CHANGE notes on gate files: here each is a
    GK-GATE-CHANGE, which blocks until someone else approves (one comment, not two)."""
    kept = [
        f for f in change.verdict.findings if not (f.policy_id == POLICY_CHANGE and f.file in paths)
    ]
    if len(kept) == len(change.verdict.findings):
        return change
    verdict = Verdict(kept, change.verdict.threshold)
    return dataclasses.replace(change, verdict=verdict)


POLICY_CHANGE = "GK-POLICY-CHANGE"


def with_findings(change: Any, added: list[Finding]) -> Any:
    """`change` (a `gatekeeper.change.ChangeResult`) with `added` in its verdict."""
    if not added:
        return change
    verdict = Verdict(
        sorted([*change.verdict.findings, *added], key=lambda f: f.sort_key),
        change.verdict.threshold,
    )
    return dataclasses.replace(change, verdict=verdict)


def _reader(commit: Any) -> Callable[[str], bytes | None]:
    def read(path: str) -> bytes | None:
        return gitops.read_files(commit, [path]).get(path)

    return read


def _paths(commit: Any) -> set[str]:
    return {str(item.path) for item in commit.tree.traverse() if item.type == "blob"}


def _approvals(
    client: Client | None, context: ActionsContext, notes: list[str]
) -> tuple[dict[str, str], str]:
    """Standing approvals by eligible reviewers, and why there are none when unreadable."""
    pr = context.pull_request
    if client is None or pr is None or not pr.number:
        return {}, "reviews cannot be read here (no token or no pull request)"
    try:
        author = pr.author or client.author()
        reviews = [
            approval.Review(
                login=str(review.user.login) if review.user else "",
                bot=bool(review.user) and str(review.user.type) == "Bot",
                state=str(review.state),
                commit_id=str(review.commit_id or ""),
                association=str(getattr(review, "author_association", None) or "NONE"),
            )
            for review in client.reviews()
        ]
    except PublishError as error:
        notes.append(f"could not read the reviews: {error}")
        return {}, "the reviews could not be read"
    return approval.approvers(reviews, author), ""


def _fresh(repo: Any, head: Any) -> Callable[[str, str], bool]:
    """An approval of `commit` stands for `path` when the file is the same at the head."""
    head_sha = head.hexsha

    def fresh(commit: str, path: str) -> bool:
        if commit == head_sha:
            return True
        try:
            approved = gitops.resolve(repo, commit)
        except UsageError:  # a commit this clone does not have: cannot tell, so no
            return False
        return _reader(approved)(path) == _reader(head)(path)

    return fresh


def _membership(client: Client | None, unreadable: set[str]) -> Callable[[str, str, str], bool]:
    """`member(org, team, login)`; teams whose membership the token may not read (403, as for
    a workflow's GITHUB_TOKEN) are added to `unreadable` and count as no."""
    cache: dict[tuple[str, str, str], bool] = {}

    def member(org: str, team: str, login: str) -> bool:
        key = (org, team, login.lower())
        if key not in cache:
            cache[key] = False
            if client is None:
                unreadable.add(f"@{org}/{team}")
                return False
            try:
                data = client.get_json(
                    "read team membership", f"/orgs/{org}/teams/{team}/memberships/{login}"
                )
                cache[key] = isinstance(data, dict) and data.get("state") == "active"
            except PublishError as error:  # 404: not a member (or a team it cannot see)
                if error.status != 404:
                    unreadable.add(f"@{org}/{team}")
        return cache[key]

    return member


def _ignored_finding(item: Ignored, file: str, read_head: Callable[[str], bytes | None]) -> Finding:
    file = file or ".gatekeeper.yml"
    text = (read_head(file) or b"").decode("utf-8", "replace")
    problem = Problem("GK-GATE-INPUT", file, input_line(text, item.name), item.message())
    return to_finding(problem, identity=(item.name,)).with_(status="new", blocking=False)


def _gate_change_finding(
    gate_file: gatefiles.GateFile,
    login: str | None,
    why_not: str,
    owners: tuple[str, ...] | None,
) -> Finding:
    if login:
        message = f"{gate_file.path} ({gate_file.reason}) is changed; approved by @{login}"
    else:
        message = (
            f"{gate_file.path} ({gate_file.reason}) is changed: GitHub runs the pull request's "
            "own workflow, so this blocks until someone other than the author approves it"
            + (f" (one of its code owners: {' '.join(owners)})" if owners else "")
            + (f"; {why_not}" if why_not else "")
        )
    problem = Problem("GK-GATE-CHANGE", gate_file.path, gate_file.line, message)
    finding = to_finding(problem, identity=(gate_file.reason.split(":", 1)[0],))
    return finding.with_(status="new", blocking=login is None)
