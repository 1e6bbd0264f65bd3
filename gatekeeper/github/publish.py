"""Publish a plan to GitHub: review, summary comment, check run; job summary and outputs always.

Order matters: the review goes first so findings it could not place are folded into the summary.
Nothing here changes the verdict: a failed call adds a note and a warning, never a pass.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from gatekeeper.finding import Finding
from gatekeeper.github import render, suggest, workflow
from gatekeeper.github.client import Client, NoWriteAccess, PublishError, Settings
from gatekeeper.github.context import ActionsContext
from gatekeeper.github.plan import ChangeLike, Options, Plan, make_plan

ANNOTATION_BATCH = 50  # GitHub accepts at most 50 annotations per check run request
ANNOTATION_MESSAGE_LIMIT = 64000


@dataclass
class Outcome:
    plan: Plan
    degraded: bool = False
    notes: list[str] = field(default_factory=list)
    summary_comment: bool = False
    inline_posted: int = 0
    check_run: bool = False

    @property
    def exit_code(self) -> int:
        return 1 if self.plan.failed else 0


def publish(
    change: ChangeLike,
    context: ActionsContext,
    options: Options,
    read_head: Callable[[str], str | None] = lambda path: None,
    settings: Settings | None = None,
    notes: Sequence[str] = (),
) -> Outcome:
    """`read_head(path)`: the file's text at the head commit, for suggestions; `notes`: lines
    for the summary's notes (the gate's own, see github/trust.py)."""
    settings = settings or Settings.from_env()
    pr = context.pull_request
    client: Client | None = None
    reason = ""
    if not context.token:
        reason = "no GitHub token"
    elif pr is None or not pr.number:
        reason = "not a pull request event"
    elif context.fork_token:
        reason = "pull request from a fork: the token is read-only"
    else:
        client = Client(context.api_url, context.token, context.repository, pr.number, settings)

    outcome = Outcome(plan=make_plan(change, options), notes=list(notes))
    if client is None:
        _degrade(outcome, reason)
    else:
        try:
            _publish(client, change, options, read_head, outcome)
        except NoWriteAccess as error:
            _degrade(outcome, f"the token cannot write ({error})")

    step_summary = render.summary(
        outcome.plan, False, outcome.notes, 5000, render.STEP_SUMMARY_LIMIT
    )
    workflow.append(context.step_summary, step_summary)
    workflow.set_outputs(context.output, outputs(outcome))
    return outcome


def outputs(outcome: Outcome) -> dict[str, object]:
    counts = outcome.plan.counts
    return {
        "new": counts["new"],
        "existing": counts["existing"],
        "fixed": counts["fixed"],
        "waived": counts["waived"],
        "blocking": counts["blocking"],
        "verdict": "fail" if outcome.plan.failed else "pass",
        "degraded": str(outcome.degraded).lower(),
    }


def _degrade(outcome: Outcome, reason: str) -> None:
    """No API writes: annotations as workflow commands, findings in the job summary."""
    outcome.degraded = True
    outcome.notes.append(f"results are in this job summary only ({reason})")
    workflow.warn(f"gatekeeper did not comment on the pull request: {reason}")
    workflow.print_annotations(outcome.plan.verdict.findings)


def _publish(
    client: Client,
    change: ChangeLike,
    options: Options,
    read_head: Callable[[str], str | None],
    outcome: Outcome,
) -> None:
    """Each step on its own: one that fails is noted and the others still run. A token that
    cannot write (NoWriteAccess) stops them all: the caller degrades."""

    def step(action: Callable[[], None], needs_pull_requests: bool = True) -> None:
        try:
            action()
        except NoWriteAccess:
            if needs_pull_requests:
                raise
            outcome.notes.append("no check run: the token lacks `checks: write`")
            workflow.warn("no check run: the token lacks `checks: write`")
        except PublishError as error:
            outcome.notes.append(f"could not publish to GitHub: {error}")
            workflow.warn(str(error))

    if options.comment_mode in ("inline", "both"):

        def review() -> None:
            already = [
                fingerprint
                for comment in client.review_comments()
                if trusted_author(comment)
                for fingerprint in render.marked_fingerprints(comment.body)
            ]
            outcome.plan = make_plan(change, options, already)
            _review(client, outcome, read_head)

        step(review)
        plan = outcome.plan
        if plan.inline and not outcome.inline_posted:  # whatever failed, list them instead
            plan.folded = sorted([*plan.folded, *plan.inline], key=lambda f: (f.file, f.line))
            plan.inline = []
    if options.comment_mode in ("summary", "both") or (
        options.comment_mode == "inline" and outcome.plan.folded
    ):
        step(lambda: _summary_comment(client, outcome))
    step(lambda: _check_run(client, outcome, options.check_name), needs_pull_requests=False)
    if not (outcome.check_run or outcome.degraded):
        # Without a check run the annotations would be lost: emit them as workflow commands.
        workflow.print_annotations(outcome.plan.verdict.findings)


def _review(client: Client, outcome: Outcome, read_head: Callable[[str], str | None]) -> None:
    plan = outcome.plan
    if not plan.inline:
        return
    comments = [
        {
            "path": finding.file,
            "line": finding.line,
            "side": "RIGHT",
            "body": render.inline_comment(finding, _suggestion(finding, read_head)),
        }
        for finding in plan.inline
    ]
    count = len(comments)
    body = f"gatekeeper: {count} new finding(s) on the changed lines."
    try:
        client.create_review(plan.head_sha, body, comments)
    except NoWriteAccess:
        raise
    except PublishError as error:
        # GitHub takes a review whole or not at all: keep every finding, in the summary.
        outcome.notes.append(f"inline comments were not posted ({error}); listed here instead")
        workflow.warn(str(error))
        return
    outcome.inline_posted = count


def _suggestion(finding: Finding, read_head: Callable[[str], str | None]) -> str | None:
    if not finding.fix:
        return None
    text = read_head(finding.file)
    if text is None:
        return None
    lines = text.splitlines()
    if not 1 <= finding.line <= len(lines):
        return None
    return suggest.suggestion(finding, lines[finding.line - 1])


def _summary_comment(client: Client, outcome: Outcome) -> None:
    body = render.summary(outcome.plan, True, outcome.notes)
    existing = [
        comment
        for comment in client.issue_comments()
        if render.SUMMARY_MARKER in (comment.body or "") and trusted_author(comment)
    ]
    try:
        if existing:
            client.edit_issue_comment(existing[0], body)
            outcome.summary_comment = True
            return
    except NoWriteAccess:
        pass  # not ours after all (a bot of another app): post our own
    client.create_issue_comment(body)
    outcome.summary_comment = True


def trusted_author(comment: Any) -> bool:
    """Markers count only in comments by a bot (github-actions, an app) or by the account named
    in GATEKEEPER_GITHUB_LOGIN (a personal token): anyone may type a marker into a comment, and
    a marker in a PR author's comment must neither hide our comment nor become our summary."""
    user = comment.user
    if user is None:
        return False
    login = os.environ.get("GATEKEEPER_GITHUB_LOGIN", "")
    return str(user.type) == "Bot" or bool(login and user.login == login)


def _annotation(finding: Finding) -> dict[str, Any]:
    line = max(1, finding.line)
    return {
        "path": finding.file,
        "start_line": line,
        "end_line": max(line, finding.end_line or line),
        "annotation_level": workflow.annotation_level(finding),
        "title": f"{finding.policy_id} ({finding.severity}, {finding.status})"[:255],
        "message": finding.message[:ANNOTATION_MESSAGE_LIMIT] or finding.policy_id,
    }


def _check_run(client: Client, outcome: Outcome, name: str) -> None:
    plan = outcome.plan
    annotations = [_annotation(f) for f in workflow.annotated(plan.verdict.findings)]
    batches = [
        annotations[start : start + ANNOTATION_BATCH]
        for start in range(0, len(annotations), ANNOTATION_BATCH)
    ] or [[]]
    title = (
        f"{plan.counts['blocking']} blocking, {plan.counts['new']} new finding(s)"
        if plan.failed
        else f"passed: {plan.counts['new']} new finding(s)"
    )
    summary = render.summary(plan, False, outcome.notes)

    def output(batch: list[dict[str, Any]]) -> dict[str, Any]:
        return {"title": title, "summary": summary, "annotations": batch}

    now = datetime.datetime.now(datetime.timezone.utc)
    run = client.create_check_run(
        name=name,
        head_sha=plan.head_sha,
        status="completed",
        conclusion="failure" if plan.failed else "success",
        completed_at=now,
        output=output(batches[0]),
    )
    for batch in batches[1:]:
        client.update_check_run(run, output=output(batch))
    outcome.check_run = True
