"""One finding where two Pod Security checks say the same thing about one field.

The restricted profile includes the baseline one, and some restricted checks are stricter
forms of a baseline check about the same field: Kubernetes' Pod Security admission runs the
restricted check *instead of* the baseline one it overrides (capabilities_restricted over
capabilities_baseline, restrictedVolumes over hostPathVolumes), and reports one violation.
Here both are policies a user may enable alone, so both run; where both fire at one place of
one object (`add: [SYS_ADMIN]` is beyond the baseline set and other than NET_BIND_SERVICE), the
finding that names the violation more precisely at an equal or higher severity is kept
(the baseline one: SYS_ADMIN is a baseline violation, blocking at `high` whatever the
restricted policy says), and the other is left out. Likewise dropping ALL capabilities
implies dropping NET_RAW. Either policy still reports alone where the other does not fire
or is disabled.

A base's kustomize error (a missing resource) is one root cause: every overlay building the
base reports it at the base's line (sources.kustomize), and those are said once, with the
builds it breaks listed once. So is a file that cannot be parsed: where the source that
reads it (a helmfile's values) reports a GK-PARSE-ERROR, the Kubernetes reader's low
GK-NOT-A-MANIFEST at that line is left out.
"""

from __future__ import annotations

from gatekeeper.finding import Finding, severity_rank

# The policy said (the wider or stricter check) -> the one it overlaps with, kept instead.
SAID_BY = {
    "K8S-PSS-CAPABILITIES-ADD": "K8S-PSS-CAPABILITIES",
    "K8S-PSS-VOLUME-TYPES": "K8S-PSS-HOST-PATH",
    "K8S-PSS-PROC-MOUNT-DEFAULT": "K8S-PSS-PROC-MOUNT",
    "K8S-POD-DROP-NET-RAW": "K8S-PSS-CAPABILITIES-DROP-ALL",
    # A values file a helmfile or an Application reads: its reader's parse error says it.
    "GK-NOT-A-MANIFEST": "GK-PARSE-ERROR",
}


def said_once(findings: list[Finding]) -> list[Finding]:
    """`findings` without those another finding at the same place of the same object (in
    the same rendering) already says (SAID_BY), and with a base's build error once."""
    findings = _render_errors_once(findings)
    if not any(finding.policy_id in SAID_BY for finding in findings):
        return findings
    kept = {
        (_where(finding), finding.policy_id): severity_rank(finding.severity)
        for finding in findings
        if finding.policy_id in SAID_BY.values()
    }
    return [
        finding
        for finding in findings
        if finding.policy_id not in SAID_BY
        or kept.get((_where(finding), SAID_BY[finding.policy_id]), -1)
        < severity_rank(finding.severity)
    ]


def _where(finding: Finding) -> tuple[object, ...]:
    variants = tuple(finding.extra.get("variants") or ())
    return (finding.file, finding.line, finding.kind, finding.namespace, finding.name, variants)


def _render_errors_once(findings: list[Finding]) -> list[Finding]:
    """One GK-RENDER-ERROR per root cause: those at one line with one message, each naming
    a build it breaks (`... (breaks the build of overlays/a)`), merged into one listing
    them (into the base's own, whose fingerprint it keeps, when its build is judged too)."""
    if not any(finding.policy_id == "GK-RENDER-ERROR" for finding in findings):
        return findings
    from gatekeeper.sources.names import KUSTOMIZE_BREAKS as BREAKS  # (not the adapter)

    groups: dict[tuple[str, int, str], list[int]] = {}
    for index, finding in enumerate(findings):
        if finding.policy_id == "GK-RENDER-ERROR" and BREAKS in finding.message:
            root = finding.message.partition(BREAKS)[0]
            groups.setdefault((finding.file, finding.line, root), []).append(index)
    if not groups:
        return findings
    for index, finding in enumerate(findings):
        key = (finding.file, finding.line, finding.message)
        if finding.policy_id == "GK-RENDER-ERROR" and key in groups:
            groups[key].insert(0, index)  # the base's own build: kept first
    dropped: set[int] = set()
    for (_, _, root), indexes in groups.items():
        builds = sorted(
            {findings[i].message.partition(BREAKS)[2].removesuffix(")") for i in indexes} - {""}
        )
        plural = BREAKS.replace("build ", "builds ") if len(builds) > 1 else BREAKS
        kept = findings[indexes[0]]
        findings[indexes[0]] = kept.with_(message=f"{root}{plural}{', '.join(builds)})")
        dropped.update(indexes[1:])
    return [finding for index, finding in enumerate(findings) if index not in dropped]
