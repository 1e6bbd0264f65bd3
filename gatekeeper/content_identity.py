"""What a finding asks to have reviewed, for a pull request.

Some findings are not a value that is wrong but content a person must read: an OpenShift
MachineConfig's files, a Karpenter userData script, a mutating policy's patch, an ingress
snippet, a policy exception's scope. The base's finding was reviewed (and waived, or left
existing) for the content it had then. A change that rewrites that content (a static pod
written into /etc/kubernetes/manifests, `curl ... | bash` in userData, a Lua block reading
the controller's token) kept the finding's fingerprint and message: existing, a green check
(red team s23 trust16 c11). So in a pull request a finding of a policy that declares
`reviewContent: true` records a digest of the field it points at, and `change.classify`
makes one whose digest differs from its base match's new.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection

from gatekeeper.document import Document
from gatekeeper.fieldpath import FieldPathError, concrete, get, parse
from gatekeeper.finding import Finding

KEY = "content_digest"


def with_content(
    document: Document, findings: list[Finding], reviewed: Collection[str]
) -> list[Finding]:
    """`findings` of `document`, those of the `reviewed` policies with their field's digest."""
    out = []
    for finding in findings:
        if finding.policy_id in reviewed and finding.path and finding.name == document.name:
            digest = _digest(document.obj, finding.path)
            if digest:
                finding = finding.with_(extra={**finding.extra, KEY: digest})
        out.append(finding)
    return out


def _digest(obj: object, text: str) -> str:
    try:
        value = get(obj, concrete(parse(text)))
    except (FieldPathError, ValueError):
        return ""
    written = json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(written.encode()).hexdigest()[:16]


def changed(finding: Finding, was: object) -> bool:
    """Does the finding's content differ from its base match's (both recorded)?"""
    now = finding.extra.get(KEY)
    return bool(now) and bool(was) and now != was
