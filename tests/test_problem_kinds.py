"""Every GK-* code the code base can emit is registered, so reports can describe it."""

from __future__ import annotations

import json
import re

from gatekeeper.decide import Verdict
from gatekeeper.document import Problem
from gatekeeper.problems import PROBLEM_KINDS, to_finding
from gatekeeper.report import Report, renderer
from tests.conftest import REPO

_CODE = re.compile(r"""["'](GK-[A-Z][A-Z0-9-]*[A-Z0-9])["']""")


def emitted_codes() -> set[str]:
    return {
        code
        for path in (REPO / "gatekeeper").rglob("*.py")
        for code in _CODE.findall(path.read_text(encoding="utf-8"))
    }


def test_every_emitted_gk_code_is_registered() -> None:
    codes = emitted_codes()
    # the grep finds them: the codes of every family are there
    assert {"GK-PARSE-ERROR", "GK-POLICY-CHANGE", "GK-WAIVER-EXPIRED", "GK-INLINE-SKIP"} <= codes
    assert sorted(codes - PROBLEM_KINDS.keys()) == []
    for code, kind in PROBLEM_KINDS.items():
        assert kind.severity in ("critical", "high", "medium", "low", "info"), code
        assert kind.title and kind.remediation, code


def test_sarif_rules_describe_every_registered_code() -> None:
    findings = [to_finding(Problem(code, "a.yaml", 1, "m")) for code in PROBLEM_KINDS]
    report = Report(verdict=Verdict(findings, "medium"), policies=[], sarif_min_severity="info")
    sarif = json.loads(renderer("sarif").render(report))
    rules = {rule["id"]: rule for rule in sarif["runs"][0]["tool"]["driver"]["rules"]}
    for code, kind in PROBLEM_KINDS.items():
        assert rules[code]["shortDescription"]["text"] == kind.title
        assert rules[code]["help"]["text"] == kind.remediation
        assert kind.title in rules[code]["fullDescription"]["text"]  # code scanning shows it
