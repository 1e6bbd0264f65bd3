"""Machine output: every finding with all its fields, and the summary."""

from __future__ import annotations

import json

from gatekeeper import __version__
from gatekeeper.report import Report


def render(report: Report) -> str:
    verdict = report.verdict
    payload = {
        "tool": {"name": "gatekeeper", "version": __version__},
        "verdict": "pass" if verdict.passed else "fail",
        "threshold": verdict.threshold,
        "summary": {
            **verdict.counts(),
            "files": report.files_scanned,
            "documents": report.documents,
        },
        "findings": [finding.to_dict() for finding in verdict.findings],
    }
    return json.dumps(payload, indent=2, sort_keys=False) + "\n"
