"""Publish a plan to GitHub: review, summary comment, check run; job summary and outputs always.

Order matters: the review goes first so findings it could not place are folded into the summary.
Nothing here changes the verdict: a failed call adds a note and a warning, never a pass.

Over many pushes the conversation stays right: an outdated inline comment (GitHub moved the line
away) does not count as commented, so the finding is commented again on its current line; a
comment whose finding a later push fixed gets its thread resolved and says which commit fixed it;
a run whose commit is no longer the pull request's head writes nothing on the pull request (a
newer run reports on the newer head: an older run finishing last must not put back its verdict).
"""

from __future__ import annotations

import dataclasses
import datetime
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from gatekeeper.finding import Finding
from gatekeeper.github import limits, render, suggest, workflow
from gatekeeper.github.client import Client, NoWriteAccess, PublishError, Settings
from gatekeeper.github.context import ActionsContext
from gatekeeper.github.plan import ChangeLike, Options, Plan, make_plan

ANNOTATION_BATCH = 50  # GitHub accepts at most 50 annotations per check run request


class Stale(Exception):
    """The pull request's head moved on since the scanned commit: its writes are skipped."""

    def __init__(self, head: str) -> None:
        super().__init__(head)
        self.head = head


@dataclass
class Outcome:
    plan: Plan
    degraded: bool = False
    notes: list[str] = field(default_factory=list)
    summary_comment: bool = False
    inline_posted: int = 0
    check_run: bool = False
    commit_status: bool = False
    resolved: int = 0  # inline comments marked fixed
    sections: list[str] = field(default_factory=list)  # more Markdown for the summary
    stale: str = ""  # the newer head, when this run's commit is no longer the head

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
    client: Client | None = None,
    sections: Sequence[str] = (),
) -> Outcome:
    """`read_head(path)`: the file's text at the head commit, for suggestions; `notes`: lines
    for the summary's notes (the gate's own, see github/trust.py); `client`: the run's client
    when it already has one (the gate's reads), so all its calls share one deadline;
    `sections`: more Markdown for the summary, already escaped (a policy repository's impact).

    A merge queue's run (`merge_group`) writes nothing on the pull request: its commit is the
    queue's, never the pull request's head, so the check run (or commit status) is its only
    write, and the stale-run check, which compares the pull request's head before writes on the
    pull request, never applies to it."""
    settings = settings or Settings.from_env()
    pr = context.pull_request
    if context.merge_group:
        options = dataclasses.replace(options, comment_mode="none")
    given, client = client, None
    reason = ""
    if not context.token:
        reason = "no GitHub token"
    elif pr is None or not pr.number:
        reason = "not a pull request event"
    elif context.fork_token:
        reason = "pull request from a fork: the token is read-only"
    else:
        client = given or Client(
            context.api_url, context.token, context.repository, pr.number, settings
        )

    outcome = Outcome(plan=make_plan(change, options), notes=list(notes), sections=list(sections))
    if client is None:
        _degrade(outcome, reason)
    else:
        try:
            _publish(client, change, options, read_head, outcome)
        except NoWriteAccess as error:
            _degrade(outcome, f"the token cannot write ({error})")

    step_summary = render.summary(
        outcome.plan,
        False,
        outcome.notes,
        5000,
        render.STEP_SUMMARY_LIMIT,
        options.check_name,
        sections=outcome.sections,
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
    check = options.check_name

    def step(action: Callable[[], None]) -> None:
        try:
            action()
        except Stale as stale:
            if not outcome.stale:
                outcome.stale = stale.head
                message = (
                    f"nothing written on the pull request: its head is now {stale.head[:12]},"
                    f" not the scanned {outcome.plan.head_sha[:12]}; the run for the newer"
                    " commit reports there"
                )
                outcome.notes.append(message)
                workflow.warn(message)
        except NoWriteAccess:
            raise
        except PublishError as error:
            note = f"could not publish to GitHub: {error}"
            if note not in outcome.notes:  # a spent deadline fails every later step alike
                outcome.notes.append(note)
            workflow.warn(str(error))

    def fresh() -> None:
        """Before each write on the pull request: is the scanned commit still its head? (Not
        before the check run or commit status: they belong to the scanned commit, which for a
        merge queue is not the pull request's head at all.)"""
        if outcome.stale:
            raise Stale(outcome.stale)
        head = client.current_head()
        if outcome.plan.head_sha and head and head != outcome.plan.head_sha:
            raise Stale(head)

    if options.comment_mode in ("inline", "both"):

        def review() -> None:
            identity = client.identity()
            ours = [
                comment
                for comment in client.review_comments()
                if identity.owns(comment.user) and render.marked_fingerprints(comment.body, check)
            ]
            outcome.plan = make_plan(change, options, _already(ours, check))
            _review(client, outcome, read_head, check, fresh)
            _settle(client, outcome, ours, check, fresh)

        step(review)
        plan = outcome.plan
        if plan.inline and not outcome.inline_posted:  # whatever failed, list them instead
            plan.folded = sorted([*plan.folded, *plan.inline], key=lambda f: (f.file, f.line))
            plan.inline = []
    if options.comment_mode in ("summary", "both") or (
        options.comment_mode == "inline" and outcome.plan.folded
    ):
        step(lambda: _summary_comment(client, outcome, check, fresh))
    step(lambda: _verdict_on_commit(client, outcome, check, read_head))
    if not (outcome.check_run or outcome.degraded):
        # Without a check run the annotations would be lost: emit them as workflow commands.
        workflow.print_annotations(outcome.plan.verdict.findings)


def _already(ours: list[Any], check: str) -> list[str]:
    """Fingerprints our live inline comments are about. An outdated comment (GitHub nulls its
    `line` after a push changed that line) or one marked fixed no longer speaks for the finding
    on the current line: the finding is commented again there."""
    return [
        fingerprint
        for comment in ours
        if comment.line is not None and render.fixed_in(comment.body) is None
        for fingerprint in render.marked_fingerprints(comment.body, check)
    ]


def _review(
    client: Client,
    outcome: Outcome,
    read_head: Callable[[str], str | None],
    check: str,
    fresh: Callable[[], None],
) -> None:
    plan = outcome.plan
    if not plan.inline:
        return
    comments = [
        {
            "path": finding.file,
            "line": finding.line,
            "side": "RIGHT",
            "body": render.inline_comment(finding, _suggestion(finding, read_head), check),
        }
        for finding in plan.inline
    ]
    fresh()
    try:
        _create_review(client, plan.head_sha, comments)
        posted = list(range(len(comments)))
    except NoWriteAccess:
        raise
    except PublishError as error:
        if error.status != 422 or len(comments) == 1:
            # GitHub takes a review whole or not at all: keep every finding, in the summary.
            outcome.notes.append(f"inline comments were not posted ({error}); listed here instead")
            workflow.warn(str(error))
            return
        # One comment GitHub refuses sinks the review: find it, post the others.
        posted = _accepted(client, plan.head_sha, list(enumerate(comments)), refused=True)
        refused = len(comments) - len(posted)
        outcome.notes.append(
            f"GitHub refused {refused} inline comment(s) ({error}); they are listed here instead"
        )
        workflow.warn(str(error))
        if posted:
            fresh()
            _create_review(client, plan.head_sha, [comments[i] for i in posted])
    kept = set(posted)
    plan.folded = sorted(
        [*plan.folded, *(f for i, f in enumerate(plan.inline) if i not in kept)],
        key=lambda f: (f.file, f.line),
    )
    plan.inline = [f for i, f in enumerate(plan.inline) if i in kept]
    outcome.inline_posted = len(plan.inline)


def _review_token(client: Client) -> tuple[str, Callable[[], Any]]:
    """A marker for a new review's body, and what finds that review again when GitHub applied
    it but the answer got lost (a 502, a timeout): the retry then posts nothing twice."""
    marker = render.review_marker(uuid.uuid4().hex)

    def made_before() -> Any:
        return next((r for r in client.reviews() if marker in (r.body or "")), None)

    return marker, made_before


def _create_review(client: Client, head_sha: str, comments: list[dict[str, Any]]) -> None:
    marker, made_before = _review_token(client)
    body = f"gatekeeper: {len(comments)} new finding(s) on the changed lines.\n\n{marker}"
    client.create_review(head_sha, body, comments, recover=made_before)


def _accepted(
    client: Client,
    head_sha: str,
    comments: list[tuple[int, dict[str, Any]]],
    refused: bool = False,
) -> list[int]:
    """Indexes of the comments GitHub takes, found by halving with pending reviews (invisible,
    deleted again): a few requests for one bad comment among many, and no good one lost.
    `refused`: GitHub already refused these together."""
    if not refused:
        marker, made_before = _review_token(client)
        if client.accepts(head_sha, [comment for _, comment in comments], marker, made_before):
            return [i for i, _ in comments]
    if len(comments) == 1:
        return []
    middle = len(comments) // 2
    return _accepted(client, head_sha, comments[:middle]) + _accepted(
        client, head_sha, comments[middle:]
    )


def _settle(
    client: Client, outcome: Outcome, ours: list[Any], check: str, fresh: Callable[[], None]
) -> None:
    """Close the threads this run made obsolete (open threads block a merge where the branch
    rule requires resolved conversations):
    - our comments whose finding is gone from the head: thread resolved (GraphQL), and the
      comment says which commit fixed it (without GraphQL the edit alone says so);
    - our outdated comments whose finding this run commented again on its current line:
      thread resolved, the new comment carries the conversation."""
    present = {f.fingerprint for f in outcome.plan.verdict.findings if f.status != "fixed"}
    # Commented again by this run (when its review went through).
    again = {f.fingerprint for f in outcome.plan.inline} if outcome.inline_posted else set()
    gone, superseded = [], []
    for comment in ours:
        prints = set(render.marked_fingerprints(comment.body, check))
        if render.fixed_in(comment.body) is not None:
            continue
        if not prints & present:
            gone.append(comment)
        elif comment.line is None and prints & again:
            superseded.append(comment)
    if not gone and not superseded:
        return
    threads: dict[int, tuple[str, bool]] = {}
    try:
        threads = {first: (ident, done) for ident, done, first in client.review_threads()}
    except PublishError as error:
        outcome.notes.append(f"review threads stay open: {error}")
    sha = outcome.plan.head_sha
    for comment in [*gone, *superseded]:
        fresh()  # once for the comment's two writes, made back to back
        thread = threads.get(int(comment.id))
        if thread is not None and not thread[1]:
            try:
                client.resolve_thread(thread[0])
            except PublishError as error:
                threads.clear()  # the same refusal for the others: edit only
                outcome.notes.append(f"review threads stay open: {error}")
        if comment in gone:
            client.edit_review_comment(comment, render.mark_fixed(comment.body, sha))
            outcome.resolved += 1


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


def _summary_comment(
    client: Client, outcome: Outcome, check: str, fresh: Callable[[], None]
) -> None:
    body = render.summary(outcome.plan, True, outcome.notes, check=check, sections=outcome.sections)
    identity = client.identity()

    def ours() -> list[Any]:
        return [
            comment
            for comment in client.issue_comments()
            if render.is_summary(comment.body, check) and identity.owns(comment.user)
        ]

    existing = ours()
    fresh()
    try:
        if existing:
            client.edit_issue_comment(existing[0], body)
            outcome.summary_comment = True
            return
    except NoWriteAccess:
        pass  # not ours after all (a bot of another app): post our own
    made = client.create_issue_comment(body, recover=lambda: next(iter(ours()), None))
    if made.body != body:  # found again after a lost answer: bring it up to date
        client.edit_issue_comment(made, body)
    outcome.summary_comment = True


def _line_count(text: str) -> int:
    return text.count("\n") + (0 if text.endswith("\n") or not text else 1)


def _annotation(finding: Finding, lines: int | None) -> dict[str, Any]:
    """`lines`: the file's length at the head, when known: an annotation never ends past it."""
    line = max(1, finding.line)
    end = max(line, finding.end_line or line)
    if lines is not None:
        line, end = min(line, max(1, lines)), min(end, max(1, lines))
    title = f"{finding.policy_id} ({finding.severity}, {finding.status})"
    return {
        "path": finding.file,
        "start_line": line,
        "end_line": end,
        "annotation_level": workflow.annotation_level(finding),
        "title": limits.utf8(title, limits.TITLE_CHARS),
        "message": limits.utf8(finding.message, limits.ANNOTATION_BYTES) or finding.policy_id,
    }


def _verdict_on_commit(
    client: Client, outcome: Outcome, check: str, read_head: Callable[[str], str | None]
) -> None:
    """The check run; when the token may not create one, a commit status with the same name.
    Both belong to the scanned commit, so a stale run still writes them: they cannot replace
    the newer head's verdict."""
    try:
        _check_run(client, outcome, check, read_head)
        return
    except NoWriteAccess:
        pass
    try:
        kind = client.identity().kind
    except PublishError:
        kind = ""
    why = (
        "a personal access token cannot create check runs (only GitHub Apps and GITHUB_TOKEN can)"
        if kind == "user"
        else "the token lacks `checks: write`"
    )
    plan = outcome.plan
    state = "failure" if plan.failed else "success"
    description = limits.chars(_title(plan), limits.STATUS_DESCRIPTION_CHARS)
    try:
        client.create_status(plan.head_sha, state, description, check)
    except NoWriteAccess:
        message = (
            f"no check run: {why}; no commit status either (the token lacks `statuses: write`)"
        )
    else:
        outcome.commit_status = True
        message = f"no check run: {why}; the verdict is the commit status `{check}` instead"
    outcome.notes.append(message)
    workflow.warn(message)


def _title(plan: Plan) -> str:
    if plan.failed:
        return f"{plan.counts['blocking']} blocking, {plan.counts['new']} new finding(s)"
    return f"passed: {plan.counts['new']} new finding(s)"


def _check_run(
    client: Client, outcome: Outcome, name: str, read_head: Callable[[str], str | None]
) -> None:
    plan = outcome.plan
    lengths: dict[str, int | None] = {}

    def length(path: str) -> int | None:
        if path not in lengths:
            text = read_head(path)
            lengths[path] = None if text is None else _line_count(text)
        return lengths[path]

    annotations = [
        _annotation(f, length(f.file)) for f in workflow.annotated(plan.verdict.findings)
    ]
    batches = [
        annotations[start : start + ANNOTATION_BATCH]
        for start in range(0, len(annotations), ANNOTATION_BATCH)
    ] or [[]]
    title = limits.utf8(_title(plan), limits.TITLE_CHARS)
    summary = render.summary(
        plan,
        False,
        outcome.notes,
        limit=limits.OUTPUT_BYTES,
        check=name,
        in_bytes=True,
        sections=outcome.sections,
    )

    def output(batch: list[dict[str, Any]]) -> dict[str, Any]:
        return {"title": title, "summary": summary, "annotations": batch}

    token = uuid.uuid4().hex  # external_id: finds the run again after a lost answer

    def created_before() -> Any:
        runs = client.check_runs(plan.head_sha, name)
        return next((run for run in runs if run.external_id == token), None)

    now = datetime.datetime.now(datetime.UTC)
    run = client.create_check_run(
        recover=created_before,
        name=name,
        head_sha=plan.head_sha,
        external_id=token,
        status="completed",
        conclusion="failure" if plan.failed else "success",
        completed_at=now,
        output=output(batches[0]),
    )
    sent = len(batches[0])
    for batch in batches[1:]:
        expected = sent + len(batch)

        def appended(expected: int = expected) -> Any:  # GitHub appends annotations: once only
            return run if client.annotations_count(run.id) >= expected else None

        client.update_check_run(run, recover=appended, output=output(batch))
        sent = expected
    outcome.check_run = True
