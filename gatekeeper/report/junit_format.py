"""JUnit XML, valid under the strict schema of Jenkins' xunit plugin (tests/data/junit-strict.xsd).

A test case per finding: blocking ones fail, the others are skipped with a reason, fixed ones
pass. A case is named by what it judges (policy, object, field path), never by a line number,
so that CI test history follows a finding when lines move. Attributes are only the documented
ones (no `file`/`line`), and every value is printable text: XML 1.0 cannot carry most control
characters even as character references, so `safe.visible` spells them out.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from gatekeeper.finding import Finding
from gatekeeper.report import Report
from gatekeeper.report.safe import printable, unrunnable, visible, xml_char


@dataclass(frozen=True)
class Case:
    classname: str
    name: str
    outcome: str = ""  # "" (passed), "failure", "error" or "skipped"
    message: str = ""
    detail: str = ""
    type: str = ""
    seconds: float | None = None


@dataclass(frozen=True)
class Suite:
    name: str
    cases: list[Case]


def document(name: str, suites: list[Suite]) -> str:
    """The XML document of `suites`, counts computed from the cases."""
    root = ET.Element("testsuites", name=visible(name))
    for suite in suites:
        outcomes = Counter(case.outcome for case in suite.cases)
        element = ET.SubElement(
            root,
            "testsuite",
            name=visible(suite.name),
            tests=str(len(suite.cases)),
            failures=str(outcomes["failure"]),
            errors=str(outcomes["error"]),
            skipped=str(outcomes["skipped"]),
        )
        for case in suite.cases:
            attributes = {"classname": visible(case.classname), "name": visible(case.name)}
            if case.seconds is not None:
                attributes["time"] = f"{case.seconds:.4f}"
            case_element = ET.SubElement(element, "testcase", attributes)
            if case.outcome:
                outcome = ET.SubElement(case_element, case.outcome, message=visible(case.message))
                if case.type:
                    outcome.set("type", visible(case.type))
                outcome.text = printable(case.detail) or None
    ET.indent(root)
    xml = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + unrunnable(xml, xml_char) + "\n"


def case_name(finding: Finding) -> str:
    """`POLICY Kind ns/name field.path`: what is judged, stable when lines move."""
    return " ".join(part for part in (finding.policy_id, finding.resource, finding.path) if part)


def _case(finding: Finding, name: str) -> Case:
    detail = f"{finding.file}:{finding.line}: {finding.message}"
    if finding.remediation:
        detail += f"\nRemediation: {finding.remediation}"
    if finding.status == "fixed":
        return Case(finding.file, name)
    if finding.blocking:
        return Case(finding.file, name, "failure", finding.message, detail, finding.severity)
    reason = f"{finding.severity} ({finding.status}), not blocking"
    return Case(finding.file, name, "skipped", reason, detail)


def cases(findings: list[Finding]) -> list[Case]:
    """One case per finding; names shared within a file get the finding's fingerprint."""
    named = [(finding, case_name(finding)) for finding in findings]
    names = Counter((finding.file, name) for finding, name in named)
    out = []
    for finding, name in named:
        if names[(finding.file, name)] > 1:
            name = f"{name} [{finding.fingerprint[:8]}]"
        out.append(_case(finding, name))
    return out


def render(report: Report) -> str:
    found = cases(report.verdict.findings) or [Case("gatekeeper", "no findings")]
    return document("gatekeeper", [Suite("gatekeeper scan", found)])
