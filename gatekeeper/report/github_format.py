"""GitHub Actions workflow commands (`::error file=...,line=...::message`), one per finding.

For `gatekeeper scan` in a workflow outside pull requests (a push, a schedule): the runner turns
each line into an annotation on the file and line. A step shows only its first 10 annotations of
each kind, so the most severe come first, and the last line, a notice, gives the verdict and says
how many annotations the step may not show.
"""

from __future__ import annotations

from collections import Counter

from gatekeeper.github import workflow
from gatekeeper.github.escape import command_data
from gatekeeper.report import Report, by_priority
from gatekeeper.report.text_format import summary

SHOWN_PER_KIND = 10  # annotations of one kind (error, warning, notice) GitHub shows per step


def render(report: Report) -> str:
    verdict = report.verdict
    findings = by_priority(workflow.annotated(verdict.findings))
    lines = [workflow.command(finding) for finding in findings]
    outcome = "PASS" if verdict.passed else "FAIL"
    text = f"{outcome}: {summary(verdict, report.files_scanned, report.documents)}"
    kinds = Counter(line.split(" ", 1)[0].lstrip(":") for line in lines)
    hidden = {kind: count - SHOWN_PER_KIND for kind, count in kinds.items()}
    hidden = {kind: count for kind, count in sorted(hidden.items()) if count > 0}
    if hidden:
        text += (
            f"; a step shows {SHOWN_PER_KIND} annotations of each kind, not shown as annotations: "
            + ", ".join(f"{count} {kind}" for kind, count in hidden.items())
            + " (all are in this step's log)"
        )
    lines.extend(f"::notice title=gatekeeper::{command_data(notice)}" for notice in report.notices)
    lines.append(f"::notice title=gatekeeper::{command_data(text)}")
    return "\n".join(lines) + "\n"
