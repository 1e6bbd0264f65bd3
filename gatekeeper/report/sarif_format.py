"""SARIF 2.1.0, as GitHub code scanning and most security dashboards read it.

Code scanning turns every result into an alert on the branch it was uploaded for, so a result is
only what is wrong in the scanned tree: findings a change fixed are left out, non-blocking
findings below the SARIF severity floor are left out (`--sarif-min-severity`, default low: info
findings are notes about the process, not alerts; a finding that blocks is always a result), and
GitHub shows at most 5,000 results per run, so results come most severe first and stop there.
What was left out is said in the run's invocation notifications and properties, never silently.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote

from gatekeeper import __version__, lazy_re
from gatekeeper.finding import Finding, at_least
from gatekeeper.problems import PROBLEM_KINDS
from gatekeeper.report import Report, by_priority, json_format
from gatekeeper.report.safe import json_char, unrunnable, visible

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
# GitHub keeps the top 5,000 results of a run, by severity, and rejects more than 25,000.
MAX_RESULTS = 5000
_LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
# GitHub code scanning ranks by this property (CVSS-like, 0.0-10.0).
_SECURITY_SEVERITY = {
    "critical": "9.5",
    "high": "8.0",
    "medium": "5.5",
    "low": "3.0",
    "info": "0.0",
}
_BASELINE = {"new": "new", "existing": "unchanged", "waived": "unchanged"}
_BRACKETS = lazy_re.compile(r"(\\*)([\[\]])")


def message_text(text: object) -> str:
    """A SARIF plain-text message showing `text` literally: printable, and with `[`/`]` escaped
    so that a name like `[x](https://...)` is not an embedded link (SARIF 3.11.6)."""
    return _BRACKETS.sub(lambda m: m.group(1) * 2 + "\\" + m.group(2), visible(text))


def artifact_uri(path: str) -> str:
    """A relative URI reference for a repository path: `#`, `%`, `?`, spaces, control characters
    and the bytes of an undecodable name percent-encoded."""
    return quote(path.encode("utf-8", "surrogateescape"), safe="/")


def _rule_name(rule_id: str) -> str:
    return rule_id.title().replace("-", "")


def _rules(report: Report, findings: list[Finding]) -> list[dict[str, Any]]:
    rules: dict[str, dict[str, Any]] = {}
    for policy in report.policies:
        rules[policy.id] = {
            "id": policy.id,
            "name": _rule_name(policy.id),
            "shortDescription": {"text": policy.title},
            "fullDescription": {"text": policy.description or policy.title},
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
    for finding in findings:
        if finding.policy_id not in rules:
            kind = PROBLEM_KINDS.get(finding.policy_id)
            title = kind.title if kind else finding.title or finding.policy_id
            remediation = kind.remediation if kind else finding.remediation or title
            rules[finding.policy_id] = {
                "id": finding.policy_id,
                "name": _rule_name(finding.policy_id),
                "shortDescription": {"text": title},
                "fullDescription": {"text": f"{title}. {remediation}"},
                "help": {"text": remediation},
                "defaultConfiguration": {"level": _LEVELS[finding.severity]},
                "properties": {
                    "tags": ["security", "gatekeeper"],
                    "security-severity": _SECURITY_SEVERITY[finding.severity],
                },
            }
    return list(rules.values())


def _physical(file: str, region: dict[str, Any]) -> dict[str, Any]:
    return {
        "artifactLocation": {"uri": artifact_uri(file), "uriBaseId": "%SRCROOT%"},
        "region": region,
    }


def _values_locations(finding: Finding) -> list[dict[str, Any]]:
    """The Helm values lines that set the field (`file:line, file:line`), as related locations."""
    values = finding.extra.get("values")
    if not isinstance(values, str):
        return []
    related: list[dict[str, Any]] = []
    for entry in values.split(", "):
        file, _, line = entry.rpartition(":")
        if file and line.isdigit() and int(line) >= 1:
            related.append(
                {
                    "id": len(related) + 1,
                    "physicalLocation": _physical(file, {"startLine": int(line)}),
                    "message": {"text": "the value is set here"},
                }
            )
    return related


def _place(location: dict[str, Any]) -> str:
    physical = location["physicalLocation"]
    return f"{unquote(physical['artifactLocation']['uri'])}:{physical['region']['startLine']}"


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
    # Code scanning drops a result without message text (a policy message may render empty).
    message = message_text(
        finding.message if finding.message.strip() else finding.title or finding.policy_id
    )
    related = _values_locations(finding)
    if related:
        links = ", ".join(
            f"[{message_text(_place(location))}]({location['id']})" for location in related
        )
        message += f" (the value is set in {links})"
    result: dict[str, Any] = {
        "ruleId": finding.policy_id,
        "ruleIndex": rule_index,
        "level": _LEVELS[finding.severity],
        "message": {"text": message},
        "locations": [
            {
                "physicalLocation": _physical(finding.file, region),
                **(
                    {"logicalLocations": [{"name": finding.resource, "kind": "resource"}]}
                    if finding.resource
                    else {}
                ),
            }
        ],
        **({"relatedLocations": related} if related else {}),
        "partialFingerprints": {"gatekeeperFingerprint/v1": finding.fingerprint},
        "baselineState": _BASELINE.get(finding.status, "new"),
        "properties": {
            "severity": finding.severity,
            "blocking": finding.blocking,
            "status": finding.status,
            "path": finding.path,
            # The overlays or releases a finding holds for, when rendered several ways.
            **({"variants": finding.extra["variants"]} if finding.extra.get("variants") else {}),
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


def selected(report: Report) -> tuple[list[Finding], int, int]:
    """The findings that become results, and how many the floor and the cap left out."""
    present = [finding for finding in report.verdict.findings if finding.status != "fixed"]
    kept = [f for f in present if f.blocking or at_least(f.severity, report.sarif_min_severity)]
    below = len(present) - len(kept)
    kept = by_priority(kept)
    over = max(0, len(kept) - MAX_RESULTS)
    return kept[:MAX_RESULTS], below, over


def _notifications(report: Report, below: int, over: int) -> list[dict[str, Any]]:
    notes = []
    if below:
        notes.append(
            f"{below} non-blocking finding(s) below severity {report.sarif_min_severity} are not "
            "included (--sarif-min-severity)"
        )
    if over:
        notes.append(
            f"{over} further finding(s) are not included: a run holds at most {MAX_RESULTS} "
            "results, most severe first (the JSON report has every finding)"
        )
    warnings = [{"level": "warning", "message": {"text": text}} for text in notes]
    return warnings + [{"level": "note", "message": {"text": text}} for text in report.notices]


def render(report: Report) -> str:
    findings, below, over = selected(report)
    rules = _rules(report, findings)
    index = {rule["id"]: position for position, rule in enumerate(rules)}
    invocation: dict[str, Any] = {"executionSuccessful": True}
    notifications = _notifications(report, below, over)
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
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
                "invocations": [invocation],
                "results": [_result(finding, index[finding.policy_id]) for finding in findings],
                "columnKind": "unicodeCodePoints",
                "properties": {
                    "minSeverity": report.sarif_min_severity,
                    "omittedBelowMinSeverity": below,
                    "omittedOverResultLimit": over,
                    "fixedNotReported": sum(
                        1 for finding in report.verdict.findings if finding.status == "fixed"
                    ),
                },
            }
        ],
    }
    return unrunnable(json_format.dumps(sarif), json_char) + "\n"
