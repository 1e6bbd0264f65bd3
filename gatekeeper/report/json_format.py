"""Machine output: every finding with all its fields, and the summary."""

from __future__ import annotations

import json
from collections.abc import Iterator
from json.encoder import encode_basestring_ascii
from typing import Any

from gatekeeper import __version__
from gatekeeper.finding import FIELD_NAMES, Finding, SharedDict, SharedList, field_values
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
        "notices": list(report.notices),
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
        text = _finding_text(finding)
        yield unrunnable(separator + text, json_char)
        separator = ",\n    "
    yield "\n  ]\n}\n"


def _finding_text(finding: Finding) -> str:
    """`json.dumps(finding.to_dict(), indent=2)` indented by four more spaces, the same text.

    The json module encodes with `indent` in pure Python, a frame per value: with 96,000
    findings that was most of a report's cost. Plain values are what findings hold; anything
    else goes through the json module itself."""
    items = [
        prefix
        + (encode_basestring_ascii(value) if type(value) is str else _indented(value, _INNER))
        for prefix, value in zip(_PREFIXES, field_values(finding), strict=True)
    ]
    return "{\n" + ",\n".join(items) + "\n    }"


_INNER = "      "  # a finding's fields are nested three deep
_PREFIXES = tuple(f"{_INNER}{encode_basestring_ascii(name)}: " for name in FIELD_NAMES)


def _indented(value: Any, indent: str) -> str:
    """`value` as `json.dumps(value, indent=2)` writes it, nested at `indent`."""
    kind = type(value)
    if kind is str:
        return encode_basestring_ascii(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if kind is int:
        return int.__repr__(value)
    if kind is SharedDict and indent == _INNER:
        return _shared_text(value)
    inner = indent + "  "
    if (kind is dict or kind is SharedDict) and all(type(key) is str for key in value):
        if not value:
            return "{}"
        items = [
            f"{inner}{encode_basestring_ascii(key)}: {_indented(item, inner)}"
            for key, item in value.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if kind is list or kind is tuple or kind is SharedList:
        if not value:
            return "[]"
        items = [inner + _indented(item, inner) for item in value]
        return "[\n" + ",\n".join(items) + "\n" + indent + "]"
    # floats (nan, inf), keys that are not strings, subclasses: as the json module has them
    return json.dumps(value, indent=2).replace("\n", "\n" + indent)


def _shared_text(value: SharedDict) -> str:
    """A finding's shared dict (`extra`, `fix`, `waiver`) as a field of it: written once per
    instance, which findings share by the thousand (finding.shared keeps each alive, and
    read-only, so its id stays its own)."""
    known = _SHARED_TEXTS.get(id(value))
    if known is None or known[0] is not value:
        if len(_SHARED_TEXTS) >= _MAX_SHARED_TEXTS:
            _SHARED_TEXTS.clear()
        known = _SHARED_TEXTS[id(value)] = (value, _indented(dict(value), _INNER))
    return known[1]


# id -> (the SharedDict, its text): the instance is held, so its id is never another's.
_SHARED_TEXTS: dict[int, tuple[SharedDict, str]] = {}
_MAX_SHARED_TEXTS = 1 << 14
