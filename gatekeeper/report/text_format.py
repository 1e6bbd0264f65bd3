"""Human output: `file:line:col: SEVERITY ID: message`, like a compiler, one line per finding.

Findings are grouped per file (a blank line between files) so a large repository reads file by
file; the last line is the verdict with counts per severity. Everything taken from a scanned file
is printed through `safe.visible`, and the whole text through `safe.unrunnable`.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import groupby

from gatekeeper.decide import Verdict
from gatekeeper.finding import SEVERITIES, Finding, by_place
from gatekeeper.report import Report
from gatekeeper.report.safe import text_char, unrunnable, visible

_COLORS = {
    "critical": "\033[1;35m",
    "high": "\033[1;31m",
    "medium": "\033[33m",
    "low": "\033[36m",
    "info": "\033[2m",
}
_RESET = "\033[0m"
_BOLD = "\033[1m"


def _paint(text: str, code: str, color: bool) -> str:
    return f"{code}{text}{_RESET}" if color else text


def _line(finding: Finding, color: bool) -> str:
    severity = _paint(finding.severity.upper(), _COLORS[finding.severity], color)
    where = _paint(f"{visible(finding.file)}:{finding.line}:{finding.column}", _BOLD, color)
    status = "" if finding.status == "new" else f" ({finding.status})"
    marker = (
        " [blocking]"
        if finding.blocking
        else (" [advisory]" if finding.extra.get("advisory") else "")
    )
    resource = f" ({visible(finding.resource)})" if finding.resource else ""
    values = finding.extra.get("values")
    origin = f" [value set at {visible(values)}]" if values else ""
    via = finding.extra.get("via")
    origin += f" [via {visible(via)}]" if via else ""
    return (
        f"{where}: {severity} {finding.policy_id}{status}{marker}: {visible(finding.message)}"
        f"{resource}{origin}"
    )


def _grouped(findings: list[Finding], color: bool) -> Iterator[list[str]]:
    """The findings file by file, in line order: each file's lines, a blank line between."""
    ordered = sorted(findings, key=by_place)
    first = True
    for _, group in groupby(ordered, key=lambda finding: finding.file):
        lines = [] if first else [""]
        lines.extend(_line(finding, color) for finding in group)
        first = False
        yield lines


def summary(verdict: Verdict, files: int, documents: int) -> str:
    """`3 findings (1 critical, 2 high), 1 blocking (threshold: medium) in 4 files, 9 documents`."""
    counts = verdict.counts()
    shown = [finding for finding in verdict.findings if finding.status != "fixed"]
    by_severity = [
        f"{count} {severity}"
        for severity in SEVERITIES
        if (count := sum(1 for finding in shown if finding.severity == severity))
    ]
    statuses = sorted(
        (key.removeprefix("status_"), count)
        for key, count in counts.items()
        if key.startswith("status_") and key != "status_fixed"
    )
    detail = [", ".join(by_severity)] if by_severity else []
    if statuses and [name for name, _ in statuses] != ["new"]:
        detail.append(", ".join(f"{count} {name}" for name, count in statuses))
    fixed = counts.get("status_fixed", 0)
    advisory = (
        f"; {counts['advisory']} in test, fixture or docs paths or Helm test hooks do not block"
        " (advisoryPaths in .gatekeeper.yml)"
        if counts.get("advisory")
        else ""
    )
    return (
        f"{_plural(len(shown), 'finding')}{' (' + '; '.join(detail) + ')' if detail else ''}, "
        f"{counts['blocking']} blocking (threshold: {verdict.threshold})"
        f"{f', {fixed} fixed' if fixed else ''} in {_plural(files, 'file')}, "
        f"{_plural(documents, 'document')}{advisory}"
    )


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def render(report: Report) -> str:
    return "".join(stream(report))


def stream(report: Report) -> Iterator[str]:
    """The report in pieces, a file's findings each: a scan with 100,000 findings never holds
    its whole text. Every piece is whole lines, so making each unrunnable makes the whole so."""
    verdict = report.verdict
    shown = [finding for finding in verdict.findings if finding.status != "fixed"]
    fixed = [finding for finding in verdict.findings if finding.status == "fixed"]
    for lines in _grouped(shown, report.color):
        yield unrunnable("\n".join(lines), text_char) + "\n"
    tail: list[str] = []
    if fixed:
        if shown:
            tail.append("")
        tail.append(f"fixed by this change ({len(fixed)}):")
        tail.extend(
            f"  {finding.policy_id}: {visible(finding.message)} ({visible(finding.file)})"
            for finding in fixed
        )
    outcome = "PASS" if verdict.passed else "FAIL"
    outcome = _paint(outcome, "\033[1;32m" if verdict.passed else "\033[1;31m", report.color)
    if shown or fixed:
        tail.append("")
    tail.extend(f"note: {notice}" for notice in report.notices)
    tail.append(f"{outcome}: {summary(verdict, report.files_scanned, report.documents)}")
    yield unrunnable("\n".join(tail), text_char) + "\n"
