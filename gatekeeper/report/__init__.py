"""Report formats: one module each, with `render(report: Report) -> str`."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Protocol

from gatekeeper.decide import Verdict
from gatekeeper.finding import Finding, severity_rank
from gatekeeper.policy.model import Policy

FORMATS = ("text", "json", "sarif", "junit", "github")


@dataclass
class Report:
    """What every output format renders: the verdict and what the run looked at."""

    verdict: Verdict
    policies: list[Policy] = field(default_factory=list)
    files_scanned: int = 0
    documents: int = 0
    color: bool = False
    # SARIF only: non-blocking findings below it are left out (code scanning alerts on each).
    sarif_min_severity: str = "low"
    # What the run could not do, once per report and never blocking (kubeschema.MISSING).
    notices: tuple[str, ...] = ()


def by_priority(findings: list[Finding]) -> list[Finding]:
    """Most severe first; then blocking, then new, then by place. For outputs whose reader keeps
    only the first N (code scanning keeps 5,000 results, an Actions step shows 10 annotations)."""
    return sorted(
        findings,
        key=lambda finding: (
            -severity_rank(finding.severity),
            not finding.blocking,
            finding.status != "new",
            finding.sort_key,
        ),
    )


class Renderer(Protocol):
    def render(self, report: Report) -> str: ...


def renderer(name: str) -> Renderer:
    module: Renderer = importlib.import_module(f"gatekeeper.report.{name}_format")
    return module
