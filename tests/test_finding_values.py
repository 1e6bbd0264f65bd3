"""What a scan builds for every finding, built the quick way, is what the dataclass builds."""

from __future__ import annotations

import json

from gatekeeper.decide import Verdict
from gatekeeper.evaluate import Engine
from gatekeeper.finding import FIELD_NAMES, Finding
from gatekeeper.report import Report, json_format
from tests.test_finding_compact import _finding
from tests.test_judgements import POLICIES, library_inputs, loaded


def test_what_the_engine_builds_is_what_the_keyword_constructor_builds() -> None:
    """Engine._made hands compacted values to `compacted`: equal to the keyword constructor's
    finding, which compacts every value, and holding the very same texts and dicts; for a
    document judged before (its findings' texts made once) as for a new one."""
    engine = Engine(POLICIES)
    findings = []
    for number, text in enumerate(library_inputs()[:80]):
        for folder in ("a", "b"):  # b: equal documents, judged before
            for document in loaded(f"{folder}/{number}.yaml", text):
                findings += engine.evaluate(document)
    assert len(findings) > 100
    assert any(finding.fix for finding in findings)
    for finding in findings:
        slow = Finding(**dict(zip(FIELD_NAMES, finding, strict=True)))
        assert finding == slow and finding.to_dict() == slow.to_dict()
        for name in ("message", "path", "title", "extra", "fix"):
            assert getattr(finding, name) is getattr(slow, name), name


def test_a_shared_dict_is_written_alike_every_time() -> None:
    findings = [
        _finding(n, extra={"exact": False, "variants": ["helm a", "helm b"]}) for n in (1, 2)
    ]
    assert findings[0].extra is findings[1].extra
    text = json_format.render(Report(Verdict(findings, "high")))
    assert text == json_format.render(Report(Verdict(findings, "high")))
    for finding in findings:
        assert json.dumps(finding.to_dict(), indent=2).replace("\n", "\n    ") in text
