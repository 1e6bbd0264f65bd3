"""Markdown for the summary comment, the inline comments and the job summary (Jinja2)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from importlib import resources
from typing import Any
from urllib.parse import quote, unquote

from gatekeeper import lazy_re
from gatekeeper.finding import Finding
from gatekeeper.github import escape, limits
from gatekeeper.github.plan import Plan

DEFAULT_CHECK = "gatekeeper"
# Markers carry the check's name: two gatekeeper jobs on one pull request (two configurations,
# a monorepo) keep apart. A marker without a name is from an older version: the default check.
# Markers are read only where we write them (the start, the end of a body): a line of the
# scanned file quoted in a suggestion block must not pose as a marker.
_SUMMARY_MARKER_RE = lazy_re.compile(r"\A<!-- gatekeeper:summary(?: ([^\s<>]+))? -->")
_FINDING_MARKER_RE = lazy_re.compile(
    r"\A<!-- gatekeeper:finding ([0-9A-Za-z_-]+)(?: ([^\s<>]+))? -->"
)
_FIXED_NOTE = "\n\n<!-- gatekeeper:fixed {sha} -->:white_check_mark: Fixed in {short}.\n"
_FIXED_MARKER_RE = lazy_re.compile(
    r"\n\n<!-- gatekeeper:fixed ([0-9a-f]+) -->:white_check_mark: Fixed in [0-9a-f]*\.\n\Z"
)
COMMENT_LIMIT = 60000  # characters; GitHub rejects bodies over 65536: keep well under
ROW_MESSAGE_LIMIT = 1000  # characters of a finding's message in a summary table row
PART_LIMIT = 15000  # characters of one part (message, remediation, suggestion) of a comment
STEP_SUMMARY_LIMIT = 900_000  # GitHub takes up to 1 MiB per step


@functools.cache
def _environment() -> Any:
    import jinja2

    def load(name: str) -> str:
        return resources.files("gatekeeper_templates").joinpath(name).read_text(encoding="utf-8")

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(load),
        autoescape=False,  # Markdown, not HTML: values are escaped explicitly with `md`
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = escape.markdown
    return env


def template(name: str, **values: Any) -> str:
    """A Markdown template of `templates/` rendered with `values` (escape them with `md`)."""
    text: str = _environment().get_template(name).render(**values)
    return text


def summary(
    plan: Plan,
    marker: bool,
    notes: list[str],
    max_rows: int = 50,
    limit: int = COMMENT_LIMIT,
    check: str = DEFAULT_CHECK,
    in_bytes: bool = False,
    sections: Sequence[str] = (),
) -> str:
    """The summary (`sections`: more Markdown, already escaped, e.g. a policy repository's
    impact preview); shorter tables when the rendering would not fit in `limit` characters (or
    UTF-8 bytes: a check run's summary), cut as a last resort."""
    size: Callable[[str], int] = limits.utf8_size if in_bytes else len
    cut = limits.utf8 if in_bytes else limits.chars
    notes = [limits.chars(note, 2000) for note in notes]  # an error answer can be huge
    while True:
        marked = summary_marker(check) if marker else ""
        text = _summary(plan, marked, notes, max_rows, check, sections)
        if size(text) <= limit or max_rows <= 1:
            return cut(text, limit)
        max_rows //= 2


def _rows(findings: list[Finding], max_rows: int) -> list[Finding]:
    """At most `max_rows` table rows, each message bounded: one huge message must not push
    every other finding out of the summary."""
    return [
        f.with_(message=limits.chars(f.message, ROW_MESSAGE_LIMIT)) for f in findings[:max_rows]
    ]


def _summary(
    plan: Plan,
    marker: str,
    notes: list[str],
    max_rows: int,
    check: str,
    sections: Sequence[str] = (),
) -> str:
    new = sorted(plan.by_status("new"), key=lambda f: (not f.blocking, f.file, f.line))
    template = _environment().get_template("summary.md.j2")
    text: str = template.render(
        marker=marker,
        check=check,  # the title: two gatekeeper jobs on one pull request read apart
        failed=plan.failed,
        counts=plan.counts,
        threshold=plan.verdict.threshold,
        head_sha=plan.head_sha,
        new_rows=_rows(new, max_rows),
        more_new=max(0, len(new) - max_rows),
        folded=len(plan.folded) + len(plan.already_commented),
        fixed_rows=_rows(plan.by_status("fixed"), max_rows),
        existing_rows=_rows(plan.by_status("existing"), max_rows),
        waived_rows=_rows(plan.by_status("waived"), max_rows),
        expiring=plan.expiring,
        notes=notes,
        sections=sections,
    )
    return text


def _check_tag(check: str) -> str:
    return quote(check, safe="")  # no blank, `<`, `>` or `-->` inside the HTML comment


def summary_marker(check: str = DEFAULT_CHECK) -> str:
    return f"<!-- gatekeeper:summary {_check_tag(check)} -->"


def is_summary(body: str, check: str = DEFAULT_CHECK) -> bool:
    """Is this the summary comment of the check named `check`?"""
    return any(
        unquote(tag or DEFAULT_CHECK) == check for tag in _SUMMARY_MARKER_RE.findall(body or "")
    )


def finding_marker(fingerprint: str, check: str = DEFAULT_CHECK) -> str:
    clean = re.sub(r"[^0-9A-Za-z_-]", "", fingerprint)
    return f"<!-- gatekeeper:finding {clean} {_check_tag(check)} -->"


def marked_fingerprints(body: str, check: str = DEFAULT_CHECK) -> list[str]:
    """Fingerprints the inline comment `body` of the check named `check` is about."""
    return [
        fingerprint
        for fingerprint, tag in _FINDING_MARKER_RE.findall(body or "")
        if unquote(tag or DEFAULT_CHECK) == check
    ]


def fixed_in(body: str) -> str | None:
    """The commit an inline comment was marked fixed in, if it was."""
    match = _FIXED_MARKER_RE.search(body or "")
    return match[1] if match else None


def mark_fixed(body: str, sha: str) -> str:
    """The inline comment `body`, saying which commit fixed its finding."""
    clean = re.sub(r"[^0-9a-f]", "", sha.lower())
    note = _FIXED_NOTE.format(sha=clean, short=clean[:12])
    return limits.chars(body, COMMENT_LIMIT - len(note)) + note


def review_marker(token: str) -> str:
    """Hidden in a review's body, to find that review again after a lost answer."""
    return f"<!-- gatekeeper:review {re.sub(r'[^0-9A-Za-z]', '', token)} -->"


def inline_comment(finding: Finding, suggestion: str | None, check: str = DEFAULT_CHECK) -> str:
    """One review comment, bounded: a message or line of any length still fits GitHub's limit
    (one comment over it would make GitHub reject every comment of the review)."""
    icon = ":no_entry:" if finding.blocking else ":warning:"
    message = limits.chars(escape.markdown(finding.message), PART_LIMIT)
    parts = [
        finding_marker(finding.fingerprint, check),
        f"{icon} **{finding.severity.upper()}** "
        f"{limits.chars(escape.markdown(finding.policy_id), 300)}: {message}",
    ]
    if finding.remediation:
        parts.append("")
        parts.append(limits.chars(escape.markdown(finding.remediation), PART_LIMIT))
    if suggestion is not None and len(suggestion) <= PART_LIMIT:
        fence = "`" * max(3, _longest_backtick_run(suggestion) + 1)
        parts += ["", f"{fence}suggestion", suggestion, fence]
    return limits.chars("\n".join(parts) + "\n", COMMENT_LIMIT)


def _longest_backtick_run(text: str) -> int:
    return max((len(run) for run in re.findall(r"`+", text)), default=0)
