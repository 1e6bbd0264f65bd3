"""Markdown for the summary comment, the inline comments and the job summary (Jinja2)."""

from __future__ import annotations

import functools
import re
from importlib import resources
from typing import Any

from gatekeeper.finding import Finding
from gatekeeper.github import escape
from gatekeeper.github.plan import Plan

SUMMARY_MARKER = "<!-- gatekeeper:summary -->"
FINDING_MARKER = "<!-- gatekeeper:finding {} -->"
_FINDING_MARKER_RE = re.compile(r"<!-- gatekeeper:finding ([0-9A-Za-z_-]+) -->")
# GitHub rejects comment bodies over 65536 characters; keep well under.
COMMENT_LIMIT = 60000
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


def summary(
    plan: Plan, marker: bool, notes: list[str], max_rows: int = 50, limit: int = COMMENT_LIMIT
) -> str:
    """The summary; shorter tables when the rendering would not fit in `limit` characters."""
    while True:
        text = _summary(plan, marker, notes, max_rows)
        if len(text) <= limit or max_rows <= 1:
            return text[:limit]
        max_rows //= 2


def _summary(plan: Plan, marker: bool, notes: list[str], max_rows: int) -> str:
    new = sorted(plan.by_status("new"), key=lambda f: (not f.blocking, f.file, f.line))
    template = _environment().get_template("summary.md.j2")
    text: str = template.render(
        marker=SUMMARY_MARKER if marker else "",
        failed=plan.failed,
        counts=plan.counts,
        threshold=plan.verdict.threshold,
        head_sha=plan.head_sha,
        new_rows=new[:max_rows],
        more_new=max(0, len(new) - max_rows),
        folded=len(plan.folded) + len(plan.already_commented),
        fixed_rows=plan.by_status("fixed")[:max_rows],
        existing_rows=plan.by_status("existing")[:max_rows],
        waived_rows=plan.by_status("waived")[:max_rows],
        expiring=plan.expiring,
        notes=notes,
    )
    return text


def finding_marker(fingerprint: str) -> str:
    return FINDING_MARKER.format(re.sub(r"[^0-9A-Za-z_-]", "", fingerprint))


def marked_fingerprints(body: str) -> list[str]:
    return _FINDING_MARKER_RE.findall(body or "")


def inline_comment(finding: Finding, suggestion: str | None) -> str:
    icon = ":no_entry:" if finding.blocking else ":warning:"
    parts = [
        finding_marker(finding.fingerprint),
        f"{icon} **{finding.severity.upper()}** {escape.markdown(finding.policy_id)}: "
        f"{escape.markdown(finding.message)}",
    ]
    if finding.remediation:
        parts.append("")
        parts.append(escape.markdown(finding.remediation))
    if suggestion is not None:
        fence = "`" * max(3, _longest_backtick_run(suggestion) + 1)
        parts += ["", f"{fence}suggestion", suggestion, fence]
    return "\n".join(parts) + "\n"


def _longest_backtick_run(text: str) -> int:
    return max((len(run) for run in re.findall(r"`+", text)), default=0)
