"""Human output: `file:line:col: SEVERITY [ID] message`, like a compiler, optionally coloured."""

from __future__ import annotations

from gatekeeper.finding import Finding
from gatekeeper.report import Report

_COLORS = {
    "critical": "\033[1;35m",
    "high": "\033[1;31m",
    "medium": "\033[33m",
    "low": "\033[36m",
    "info": "\033[2m",
}
_RESET = "\033[0m"
_BOLD = "\033[1m"


def _line(finding: Finding, color: bool) -> str:
    severity = finding.severity.upper()
    if color:
        severity = f"{_COLORS[finding.severity]}{severity}{_RESET}"
    where = f"{finding.file}:{finding.line}:{finding.column}"
    if color:
        where = f"{_BOLD}{where}{_RESET}"
    status = "" if finding.status == "new" else f" ({finding.status})"
    marker = (
        " [blocking]"
        if finding.blocking
        else (" [advisory]" if finding.extra.get("advisory") else "")
    )
    resource = f" ({finding.resource})" if finding.resource else ""
    values = finding.extra.get("values")
    origin = f" [value set at {values}]" if values else ""
    return (
        f"{where}: {severity} {finding.policy_id}{status}{marker}: {finding.message}"
        f"{resource}{origin}"
    )


def render(report: Report) -> str:
    verdict = report.verdict
    lines = [
        _line(finding, report.color) for finding in verdict.findings if finding.status != "fixed"
    ]
    fixed = [finding for finding in verdict.findings if finding.status == "fixed"]
    if fixed:
        lines.append("")
        lines.append(f"fixed by this change ({len(fixed)}):")
        lines.extend(
            f"  {finding.policy_id}: {finding.message} ({finding.file})" for finding in fixed
        )
    counts = verdict.counts()
    summary = (
        f"{counts['total']} finding(s), {counts['blocking']} blocking "
        f"(threshold: {verdict.threshold}) in {report.files_scanned} file(s), "
        f"{report.documents} document(s)"
    )
    if counts["advisory"]:
        summary += (
            f"; {counts['advisory']} in test, fixture or docs paths do not block"
            " (advisoryPaths in .gatekeeper.yml)"
        )
    outcome = "PASS" if verdict.passed else "FAIL"
    if report.color:
        outcome = (
            f"\033[1;32m{outcome}{_RESET}" if verdict.passed else f"\033[1;31m{outcome}{_RESET}"
        )
    if lines:
        lines.append("")
    lines.append(f"{outcome}: {summary}")
    return "\n".join(lines) + "\n"
