"""Turn findings into a verdict: which block, and the exit code."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from gatekeeper.finding import SEVERITIES, Finding, at_least

EXIT_PASS = 0
EXIT_BLOCK = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3  # a bug in gatekeeper, never a verdict

# Statuses that count against a change. `existing` blocks only when asked to.
BLOCKING_STATUSES = frozenset({"new"})


@dataclass(frozen=True)
class Verdict:
    findings: list[Finding]
    threshold: str

    @property
    def blocking(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.blocking]

    @property
    def passed(self) -> bool:
        return not self.blocking

    @property
    def exit_code(self) -> int:
        return EXIT_PASS if self.passed else EXIT_BLOCK

    def counts(self) -> dict[str, int]:
        by_status = Counter(finding.status for finding in self.findings)
        by_severity = Counter(finding.severity for finding in self.findings)
        return {
            "total": len(self.findings),
            "blocking": len(self.blocking),
            **{f"status_{status}": count for status, count in sorted(by_status.items())},
            **{severity: by_severity.get(severity, 0) for severity in SEVERITIES},
        }


def decide(
    findings: Iterable[Finding],
    threshold: str,
    blocking_statuses: frozenset[str] = BLOCKING_STATUSES,
) -> Verdict:
    """Mark each finding blocking when its status counts and its severity reaches the threshold."""
    marked = [
        finding.with_(
            blocking=finding.status in blocking_statuses and at_least(finding.severity, threshold)
        )
        for finding in findings
    ]
    return Verdict(marked, threshold)
