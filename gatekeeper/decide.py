"""The verdict of a run: its findings (marked blocking by pipeline.verdict), counts, exit codes."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from gatekeeper.finding import SEVERITIES, Finding

EXIT_PASS = 0
EXIT_BLOCK = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3  # a bug in gatekeeper, never a verdict

# Statuses that count against a change. `existing` blocks only when asked to.
BLOCKING_STATUSES = frozenset({"new"})


@dataclass(frozen=True)
class Verdict:
    """The run's findings and the severity from which they block the merge."""

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
            "advisory": sum(1 for finding in self.findings if finding.extra.get("advisory")),
            **{f"status_{status}": count for status, count in sorted(by_status.items())},
            **{severity: by_severity.get(severity, 0) for severity in SEVERITIES},
        }
