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
    findings = verdict.findings
    texts = _Texts()
    for start in range(0, len(findings), _BATCH):
        batch = [_finding_text(finding, texts) for finding in findings[start : start + _BATCH]]
        separator = ",\n    " if start else "\n    "
        yield unrunnable(separator + ",\n    ".join(batch), json_char)
    yield "\n  ]\n}\n"


# Findings written per piece: few writes, and a piece of a few hundred kilobytes at most.
_BATCH = 256


def _finding_text(finding: Finding, texts: _Texts | None = None) -> str:
    """`json.dumps(finding.to_dict(), indent=2)` indented by four more spaces, the same text.

    The json module encodes with `indent` in pure Python, a frame per value: with 96,000
    findings that was most of a report's cost. Here a finding is its template filled in, and
    what findings repeat (a policy's texts, a file name, a message, a shared dict) is encoded
    once. Values that are not what a finding holds go through _indented, as the json module
    writes them."""
    (policy_id, severity, title, message, file, line, column, end_line, end_column, path,
     source, kind, namespace, name, fingerprint, remediation, help_uri, fix, status, blocking,
     waiver, extra) = finding  # fmt: skip
    if (
        not (type(line) is type(column) is type(end_line) is type(end_column) is int)
        or type(fingerprint) is not str
        or type(message) is not str
    ):
        return _slow_text(finding)
    texts = _Texts() if texts is None else texts
    try:
        return _TEMPLATE % (
            texts[policy_id],
            texts[severity],
            texts[title],
            encode_basestring_ascii(message),
            texts[file],
            line,
            column,
            end_line,
            end_column,
            texts[path],
            texts[source],
            texts[kind],
            texts[namespace],
            texts[name],
            encode_basestring_ascii(fingerprint),
            texts[remediation],
            texts[help_uri],
            "null" if fix is None else _field_text(fix),
            texts[status],
            "true" if blocking is True else "false" if blocking is False else _field_text(blocking),
            "null" if waiver is None else _field_text(waiver),
            _shared_text(extra) if type(extra) is SharedDict else _field_text(extra),
        )
    except TypeError:  # an unhashable value where a text belongs
        return _slow_text(finding)


def _field_text(value: Any) -> str:
    """A finding's field (not its texts): a shared dict's text written once, else encoded."""
    return _shared_text(value) if type(value) is SharedDict else _indented(value, _INNER)


def _slow_text(finding: Finding) -> str:
    """_finding_text, a field at a time, whatever the fields hold."""
    items = [
        prefix + _indented(value, _INNER)
        for prefix, value in zip(_PREFIXES, field_values(finding), strict=True)
    ]
    return "{\n" + ",\n".join(items) + "\n    }"


class _Texts(dict[Any, str]):
    """A report's encoded texts, each encoded once (`texts[value]`): findings repeat their
    policy's texts, their file's and their path's (not their messages: those are many). Only
    strings are kept, so `1` never stands in for `true`; anything else is encoded each time."""

    __slots__ = ()

    def __missing__(self, value: Any) -> str:
        text = _indented(value, _INNER)
        if type(value) is str and len(self) < _MAX_TEXTS:
            self[value] = text
        return text


_MAX_TEXTS = 1 << 14
_INNER = "      "  # a finding's fields are nested three deep
_PREFIXES = tuple(f"{_INNER}{encode_basestring_ascii(name)}: " for name in FIELD_NAMES)
# A finding's text with a `%s` (`%d` for its numbers) for each value.
_TEMPLATE = (
    "{\n"
    + ",\n".join(
        prefix.replace("%", "%%")
        + ("%d" if name in ("line", "column", "end_line", "end_column") else "%s")
        for prefix, name in zip(_PREFIXES, FIELD_NAMES, strict=True)
    )
    + "\n    }"
)


def dumps(value: Any) -> str:
    """`json.dumps(value, indent=2)`, the same text, without the json module's pure-Python
    indenting encoder (a frame per value)."""
    return _indented(value, "")


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
