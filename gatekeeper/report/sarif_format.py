"""SARIF 2.1.0, as GitHub code scanning and most security dashboards read it."""

from __future__ import annotations

import json
from typing import Any

from gatekeeper import __version__
from gatekeeper.finding import Finding
from gatekeeper.problems import PROBLEM_KINDS
from gatekeeper.report import Report

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
# GitHub code scanning ranks by this property (CVSS-like, 0.0-10.0).
_SECURITY_SEVERITY = {
    "critical": "9.5",
    "high": "8.0",
    "medium": "5.5",
    "low": "3.0",
    "info": "0.0",
}
_BASELINE = {"new": "new", "existing": "unchanged", "fixed": "absent", "waived": "unchanged"}


def _rules(report: Report) -> list[dict[str, Any]]:
    rules: dict[str, dict[str, Any]] = {}
    for policy in report.policies:
        rules[policy.id] = {
            "id": policy.id,
            "name": policy.id.title().replace("-", ""),
            "shortDescription": {"text": policy.title},
            "fullDescription": {"text": policy.description},
            "help": {
                "text": policy.remediation,
                "markdown": f"**Remediation**: {policy.remediation}",
            },
            "defaultConfiguration": {"level": _LEVELS[policy.severity]},
            "properties": {
                "tags": ["security", policy.pack or policy.match.source],
                "security-severity": _SECURITY_SEVERITY[policy.severity],
                "references": list(policy.references),
            },
        }
    for finding in report.verdict.findings:
        if finding.policy_id not in rules:
            kind = PROBLEM_KINDS.get(finding.policy_id)
            rules[finding.policy_id] = {
                "id": finding.policy_id,
                "shortDescription": {"text": finding.title},
                "help": {
                    "text": kind.remediation if kind else finding.remediation or finding.title
                },
                "defaultConfiguration": {"level": _LEVELS[finding.severity]},
                "properties": {"security-severity": _SECURITY_SEVERITY[finding.severity]},
            }
    return list(rules.values())


def _result(finding: Finding, rule_index: int) -> dict[str, Any]:
    region: dict[str, Any] = {
        "startLine": max(finding.line, 1),
        "startColumn": max(finding.column, 1),
    }
    if finding.end_line >= finding.line and finding.end_line:
        region["endLine"] = finding.end_line
        if finding.end_column and (
            finding.end_line > finding.line or finding.end_column > finding.column
        ):
            region["endColumn"] = finding.end_column
    result: dict[str, Any] = {
        "ruleId": finding.policy_id,
        "ruleIndex": rule_index,
        "level": _LEVELS[finding.severity],
        "message": {"text": finding.message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": finding.file, "uriBaseId": "%SRCROOT%"},
                    "region": region,
                },
                **(
                    {"logicalLocations": [{"name": finding.resource, "kind": "resource"}]}
                    if finding.resource
                    else {}
                ),
            }
        ],
        "partialFingerprints": {"gatekeeperFingerprint/v1": finding.fingerprint},
        "baselineState": _BASELINE.get(finding.status, "new"),
        "properties": {
            "severity": finding.severity,
            "blocking": finding.blocking,
            "status": finding.status,
            "path": finding.path,
        },
    }
    if finding.status == "waived" and finding.waiver:
        result["suppressions"] = [
            {
                "kind": "inSource" if finding.waiver.get("inline") else "external",
                "status": "accepted",
                "justification": str(finding.waiver.get("reason", "")),
            }
        ]
    return result


def render(report: Report) -> str:
    rules = _rules(report)
    index = {rule["id"]: position for position, rule in enumerate(rules)}
    sarif = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "gatekeeper",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": rules,
                    }
                },
                "results": [
                    _result(finding, index[finding.policy_id])
                    for finding in report.verdict.findings
                ],
                "columnKind": "unicodeCodePoints",
            }
        ],
    }
    return json.dumps(sarif, indent=2) + "\n"
