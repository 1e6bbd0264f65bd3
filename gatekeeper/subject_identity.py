"""Who a binding's finding grants to, for a pull request.

A cluster-admin ClusterRoleBinding kept (existing, or waived) for the group `platform-ops`
was accepted for that group. A change adding `{kind: ServiceAccount, name: default,
namespace: app}` to its `subjects` keeps the finding's fingerprint (the binding's) and its
message (which names the binding and the role, not who holds it): it stayed existing, a
green check that hands cluster-admin to every pod of `app` (red team s23 trust16 c02). So
in a pull request each finding on a RoleBinding or ClusterRoleBinding records the subjects
the binding names, and `change.classify` makes a finding whose binding names a subject its
base match did not new; one that only loses subjects stays existing.
"""

from __future__ import annotations

from typing import Any

from gatekeeper.document import Document
from gatekeeper.finding import Finding

KEY = "subjects"
BINDINGS = frozenset({"RoleBinding", "ClusterRoleBinding"})


def with_subjects(document: Document, findings: list[Finding]) -> list[Finding]:
    """`findings` of `document`, each with the subjects of the binding it is about."""
    if document.kind not in BINDINGS or not isinstance(document.obj, dict):
        return findings
    metadata = document.obj.get("metadata")
    own = metadata.get("namespace") if isinstance(metadata, dict) else None
    named = subjects(document.obj.get("subjects"), own)
    if not named:
        return findings
    return [
        finding.with_(extra={**finding.extra, KEY: named})
        if finding.kind == document.kind and finding.name == document.name
        else finding
        for finding in findings
    ]


def subjects(listed: Any, own: Any) -> str:
    """A binding's subjects as `Kind namespace/name` (a service account without a namespace
    is one of the binding's own namespace `own`, as the API server reads it), sorted,
    comma-separated."""
    found = set()
    for subject in listed if isinstance(listed, list) else ():
        if not isinstance(subject, dict):
            continue
        kind, name = str(subject.get("kind") or ""), str(subject.get("name") or "")
        namespace = subject.get("namespace")
        if kind == "ServiceAccount" and not namespace:
            namespace = own or "default"
        found.add(f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}")
    return ", ".join(sorted(found))


def merged(findings: list[Finding]) -> str:
    """The subjects the renderings of one finding record, together ("" when none)."""
    found = {name for finding in findings for name in split(finding.extra.get(KEY)) if name}
    return ", ".join(sorted(found))


def added(finding: Finding, was: object) -> list[str]:
    """The subjects the finding's binding names that its base match's did not (both
    recorded; a base match that recorded none is a binding that named nobody)."""
    now = split(finding.extra.get(KEY))
    return sorted(set(now) - set(split(was))) if now else []


def split(value: object) -> list[str]:
    return [name for name in str(value or "").split(", ") if name]
