"""Findings keep what many of them say once: texts interned, extra/fix/waiver dicts shared and
read-only, however a finding was made (built, copied with with_, or sent by a pool worker)."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest

from gatekeeper.decide import Verdict
from gatekeeper.finding import Finding, SharedDict, SharedList, as_columns, from_columns
from gatekeeper.report import Report, json_format


def _finding(number: int, **changes: Any) -> Finding:
    values: dict[str, Any] = {
        "policy_id": "K8S-POD-RUN-AS-NON-ROOT",
        "severity": "high",
        "title": "Containers must not run as root",
        # texts built per finding, as a rendered message is: equal, never the same object
        "message": "".join(["container ", "web", " may run as root"]),
        "file": "deploy/app.yaml",
        "line": 10 + number,
        "path": ".".join(["spec", "containers[0]", "securityContext"]),
        "kind": "Deployment",
        "name": "web",
        "fingerprint": f"{number:020x}",
        "remediation": "Set runAsNonRoot.",
        "fix": {"subject": "spec.containers[0]", "set": {"securityContext.runAsNonRoot": True}},
        "extra": {"exact": True, "variants": ["kustomize overlays/prod"]},
    }
    values.update(changes)
    return Finding(**values)


def test_findings_built_apart_share_their_texts_and_dicts() -> None:
    first, second = _finding(1), _finding(2)
    assert first.message is second.message
    assert first.path is second.path
    assert first.extra is second.extra
    assert first.fix is second.fix
    assert first.extra["variants"] is second.extra["variants"]
    assert first.fingerprint != second.fingerprint


def test_findings_sent_by_separate_workers_are_shared_again() -> None:
    """A pickle shares objects within itself only: two workers' chunks arrive as copies."""
    one = pickle.loads(pickle.dumps([_finding(1)]))[0]
    two = pickle.loads(pickle.dumps([_finding(2)]))[0]
    assert one == _finding(1) and two == _finding(2)
    for name in ("policy_id", "title", "message", "file", "remediation", "extra", "fix"):
        assert getattr(one, name) is getattr(two, name), name


class Label(str):
    """A text of another type (pickled by name: not local to a test)."""


def test_findings_holding_odd_values_are_sent_as_they_are() -> None:
    """Texts are interned together and dicts taken as shared on the way back
    (finding._unpickled): a value that is neither takes the field-by-field road, unchanged."""
    odd = [
        _finding(1, namespace=None),
        _finding(2, kind=Label("Deployment")),
        _finding(3, title=["not", "a", "text"]),
        _finding(4, waiver={"owner": "me"}, fix=None),
        tuple.__new__(Finding, (*_finding(5)[:-1], {"exact": False})),  # a plain dict
    ]
    back = pickle.loads(pickle.dumps(odd))
    assert back == odd
    assert [type(one.kind) for one in back] == [type(one.kind) for one in odd]
    assert all(type(one.extra) is SharedDict for one in back)
    assert all(one.message is back[0].message for one in back)


def test_findings_sent_as_columns_come_back_equal_and_shared() -> None:
    """A pool's chunk sends its findings as columns (finding.as_columns): two chunks' texts
    arrive as copies, and come back one object each, its dicts shared, in order."""
    first = pickle.loads(pickle.dumps(as_columns([_finding(1), _finding(2)])))
    second = pickle.loads(pickle.dumps(as_columns([_finding(3)])))
    one, two, three = from_columns(first) + from_columns(second)
    assert [one, two, three] == [_finding(1), _finding(2), _finding(3)]
    assert all(type(finding) is Finding for finding in (one, two, three))
    for name in ("policy_id", "title", "message", "file", "path", "extra", "fix"):
        assert getattr(one, name) is getattr(three, name), name
    assert from_columns(as_columns([])) == []


def test_findings_holding_odd_values_are_sent_as_columns_as_they_are() -> None:
    """A column holding a value that is not exactly a str (or a shared dict) is compacted
    value by value, as _unpickled has it: unchanged, its type kept, the rest still shared."""
    odd = [
        _finding(1, namespace=None),
        _finding(2, kind=Label("Deployment")),
        _finding(3, title=["not", "a", "text"]),
        _finding(4, waiver={"owner": "me"}, fix=None),
        tuple.__new__(Finding, (*_finding(5)[:-1], {"exact": False})),  # a plain dict
    ]
    back = from_columns(pickle.loads(pickle.dumps(as_columns(odd))))
    assert back == odd
    assert [type(one.kind) for one in back] == [type(one.kind) for one in odd]
    assert all(type(one.extra) is SharedDict for one in back)
    assert all(one.message is back[0].message for one in back)
    assert back[3].waiver is _finding(6, waiver={"owner": "me"}).waiver


def test_with_shares_the_dicts_it_is_given() -> None:
    first = _finding(1).with_(extra={"exact": True, "advisory": True})
    second = _finding(2).with_(extra={"exact": True, "advisory": True})
    assert first.extra is second.extra
    assert type(first.extra) is SharedDict


def test_shared_dicts_and_lists_refuse_changes_in_place() -> None:
    finding = _finding(1)
    with pytest.raises(TypeError):
        finding.extra["advisory"] = True
    with pytest.raises(TypeError):
        finding.extra.update(advisory=True)
    with pytest.raises(TypeError):
        finding.extra.pop("exact")
    with pytest.raises(TypeError):
        finding.extra |= {"advisory": True}
    with pytest.raises(TypeError):
        finding.extra["variants"].append("helm charts/web")
    assert finding.fix is not None
    with pytest.raises(TypeError):
        finding.fix["set"]["x"] = 1
    # a new dict from it is an ordinary one
    copied = {**finding.extra, "advisory": True}
    copied["more"] = 1
    assert _finding(2).extra == {"exact": True, "variants": ["kustomize overlays/prod"]}


def test_equal_but_differently_typed_values_stay_apart() -> None:
    """`1 == True` and `[1] == (1,)` in Python, not in a report."""
    as_bool = _finding(1, extra={"exact": True})
    as_int = _finding(2, extra={"exact": 1})
    as_float = _finding(3, extra={"exact": 1.0})
    assert as_bool.extra["exact"] is True
    assert type(as_int.extra["exact"]) is int
    assert type(as_float.extra["exact"]) is float
    as_tuple = _finding(4, extra={"values": ("a",)})
    as_list = _finding(5, extra={"values": ["a"]})
    assert type(as_tuple.extra["values"]) is tuple
    assert isinstance(as_list.extra["values"], list)


def test_unhashable_values_are_kept_read_only() -> None:
    finding = _finding(1, extra={"seen": {"a"}})
    assert finding.extra == {"seen": {"a"}}
    with pytest.raises(TypeError):
        finding.extra["other"] = 1


def test_to_dict_gives_plain_values() -> None:
    out = _finding(1).to_dict()
    assert type(out["extra"]) is dict
    assert type(out["extra"]["variants"]) is list
    assert type(out["fix"]["set"]) is dict


def test_json_report_writes_shared_values_as_the_json_module_does() -> None:
    findings = [
        _finding(1),
        _finding(2, waiver={"owner": "a", "reason": "b", "expires": "2030-01-01"}),
        _finding(3, extra={}, fix=None),
        _finding(4, extra={"nested": {"list": [1, {"a": None}], "empty": {}, "n": 1.5}}),
    ]
    report = Report(Verdict(findings, "high"))
    text = json_format.render(report)
    expected = [json.loads(json.dumps(finding.to_dict())) for finding in findings]
    assert json.loads(text)["findings"] == expected
    for finding in findings:
        dumped = json.dumps(finding.to_dict(), indent=2).replace("\n", "\n    ")
        assert dumped in text


def test_a_shared_dict_pickles_as_itself() -> None:
    finding = _finding(1)
    assert finding.fix is not None
    copied = pickle.loads(pickle.dumps(finding.fix))
    assert type(copied) is SharedDict and copied == finding.fix
    variants = pickle.loads(pickle.dumps(finding.extra["variants"]))
    assert type(variants) is SharedList and variants == ["kustomize overlays/prod"]
