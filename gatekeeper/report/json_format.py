"""Machine output: every finding with all its fields, and the summary."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from gatekeeper import __version__
from gatekeeper.report import Report
from gatekeeper.report.safe import json_char, unrunnable


def render(report: Report) -> str:
    return "".join(stream(report))


def stream(report: Report) -> Iterator[str]:
    """The report in pieces, one finding each, written as they are encoded: a scan with
    60,000 findings never holds its whole report text (nor the json module's pieces of it).

    The same text as dumping the whole payload with indent=2. Every piece but the first starts
    where a line starts or inside a line that holds no `::` or `##[` of its own (a `,` after a
    finding), so making each piece unrunnable makes the whole so."""
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
        "findings": [],
    }
    head = json.dumps(payload, indent=2, sort_keys=False)
    if not verdict.findings:
        yield unrunnable(head, json_char) + "\n"
        return
    assert head.endswith('"findings": []\n}')
    yield unrunnable(head[: -len("]\n}")], json_char)
    separator = "\n    "
    for finding in verdict.findings:
        # JSON strings hold no raw newline: re-indenting by replacing newlines is exact.
        text = json.dumps(finding.to_dict(), indent=2).replace("\n", "\n    ")
        yield unrunnable(separator + text, json_char)
        separator = ",\n    "
    yield "\n  ]\n}\n"
