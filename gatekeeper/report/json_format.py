"""Machine output: every finding with all its fields, and the summary."""

from __future__ import annotations

import json
from typing import Any

from gatekeeper import __version__
from gatekeeper.report import Report
from gatekeeper.report.safe import json_char, unrunnable


def render(report: Report) -> str:
    verdict = report.verdict
    payload: dict[str, Any] = {
        "tool": {"name": "gatekeeper", "version": __version__},
        "verdict": "pass" if verdict.passed else "fail",
        "threshold": verdict.threshold,
        "summary": {
            **verdict.counts(),
            "files": report.files_scanned,
            "documents": report.documents,
        },
        "notices": list(report.notices),
        "findings": [],
    }
    head = json.dumps(payload, indent=2, sort_keys=False)
    if not verdict.findings:
        return unrunnable(head, json_char) + "\n"
    # The same text as dumping the whole payload with indent=2, finding by finding: the json
    # module's indenting encoder keeps every small piece of the whole document alive until
    # the end (hundreds of MB for 60,000 findings). JSON strings hold no raw newline.
    findings = ",\n    ".join(
        json.dumps(finding.to_dict(), indent=2).replace("\n", "\n    ")
        for finding in verdict.findings
    )
    assert head.endswith('"findings": []\n}')
    text = head[: -len("]\n}")] + "\n    " + findings + "\n  ]\n}"
    return unrunnable(text, json_char) + "\n"
