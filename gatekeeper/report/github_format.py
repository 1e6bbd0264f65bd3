"""GitHub Actions workflow commands (`::error file=...,line=...::message`), one per finding.

For `gatekeeper scan` in a workflow outside pull requests (a push, a schedule): the runner turns
each line into an annotation on the file and line. The last line is the verdict as a notice.
"""

from __future__ import annotations

from gatekeeper.github import workflow
from gatekeeper.github.escape import command_data
from gatekeeper.report import Report
from gatekeeper.report.text_format import summary


def render(report: Report) -> str:
    verdict = report.verdict
    lines = [workflow.command(finding) for finding in workflow.annotated(verdict.findings)]
    outcome = "PASS" if verdict.passed else "FAIL"
    text = f"{outcome}: {summary(verdict, report.files_scanned, report.documents)}"
    lines.append(f"::notice title=gatekeeper::{command_data(text)}")
    return "\n".join(lines) + "\n"
