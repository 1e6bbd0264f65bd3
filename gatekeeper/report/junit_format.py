"""JUnit XML: a test case per finding; blocking ones fail, the rest are skipped with a reason."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from gatekeeper.report import Report


def render(report: Report) -> str:
    findings = report.verdict.findings
    blocking = [finding for finding in findings if finding.blocking]
    suites = ET.Element("testsuites", name="gatekeeper")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name="gatekeeper scan",
        tests=str(max(len(findings), 1)),
        failures=str(len(blocking)),
        errors="0",
        skipped=str(len(findings) - len(blocking)),
    )
    if not findings:
        ET.SubElement(suite, "testcase", classname="gatekeeper", name="no findings")
    for finding in findings:
        where = f"{finding.resource or finding.file}:{finding.line}"
        case = ET.SubElement(
            suite,
            "testcase",
            classname=finding.file,
            name=f"{finding.policy_id} {where} {finding.path}".strip(),
            file=finding.file,
            line=str(finding.line),
        )
        text = (
            f"{finding.file}:{finding.line}: {finding.message}\nRemediation: {finding.remediation}"
        )
        if finding.blocking:
            failure = ET.SubElement(case, "failure", message=finding.message, type=finding.severity)
            failure.text = text
        else:
            skipped = ET.SubElement(
                case, "skipped", message=f"{finding.severity} ({finding.status}), not blocking"
            )
            skipped.text = text
    ET.indent(suites)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
    )
