"""What a scan builds for every finding, built the quick way, is what the dataclass builds."""

from __future__ import annotations

import json

from gatekeeper.decide import Verdict
from gatekeeper.finding import FIELD_NAMES, Finding, SharedDict, from_values
from gatekeeper.report import Report, json_format
from tests.test_finding_compact import _finding


def test_from_values_is_the_keyword_constructor() -> None:
    made = _finding(1)
    values = [getattr(made, name) for name in FIELD_NAMES]
    # as a builder has them: new texts and plain dicts, not yet compacted
    values[FIELD_NAMES.index("message")] = "".join(["container ", "web", " may run as root"])
    values[FIELD_NAMES.index("fix")] = {"subject": "s", "set": {"a": True}}
    quick = from_values(*values)
    slow = Finding(**dict(zip(FIELD_NAMES, values, strict=True)))
    assert quick == slow and quick.to_dict() == slow.to_dict()
    assert quick.message is made.message  # interned
    assert type(quick.fix) is SharedDict and quick.fix is slow.fix  # shared


def test_a_shared_dict_is_written_alike_every_time() -> None:
    findings = [
        _finding(n, extra={"exact": False, "variants": ["helm a", "helm b"]}) for n in (1, 2)
    ]
    assert findings[0].extra is findings[1].extra
    text = json_format.render(Report(Verdict(findings, "high")))
    assert text == json_format.render(Report(Verdict(findings, "high")))
    for finding in findings:
        assert json.dumps(finding.to_dict(), indent=2).replace("\n", "\n    ") in text
