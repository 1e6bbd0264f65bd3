"""Predict Pod Security Admission: a PSS finding in a namespace that enforces its level.

When the repository holds the `Namespace` a workload runs in, its labels say what the API
server will do: `pod-security.kubernetes.io/enforce: restricted` rejects a pod that breaks a
restricted (or baseline) control, `warn` and `audit` only warn or record. A `K8S-PSS-*` finding
there says so (`extra.admission`: rejected, warned or audited), so a reviewer knows the change
will not even deploy, rather than deploy with a weakness.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gatekeeper.finding import Finding
from gatekeeper.inventory import InventoryEntry

LABEL = "pod-security.kubernetes.io/"
LEVELS = {"privileged": 0, "baseline": 1, "restricted": 2}
_MODES = (("enforce", "rejected", "the API server will reject it"),
          ("warn", "warned", "the API server will warn"),
          ("audit", "audited", "the API server will record it in the audit log"))  # fmt: skip


def policy_levels(policies: Iterable[Any]) -> dict[str, int]:
    """Policy id -> the Pod Security Standards level it belongs to (its `pss-*` tag)."""
    levels = {}
    for policy in policies:
        for tag in policy.raw.get("tags") or ():
            level = str(tag).removeprefix("pss-")
            if str(tag).startswith("pss-") and level in LEVELS:
                levels[policy.id] = LEVELS[level]
    return levels


def annotate(
    findings: list[Finding], inventory: Iterable[InventoryEntry], levels: dict[str, int]
) -> list[Finding]:
    labels = {entry.name: entry.labels for entry in inventory if entry.kind == "Namespace"}
    if not labels or not levels:
        return findings
    out = []
    for finding in findings:
        level = levels.get(finding.policy_id)
        namespace = finding.namespace or "default"
        own = labels.get(namespace)
        if level is None or own is None:
            out.append(finding)
            continue
        for mode, outcome, consequence in _MODES:
            enforced = own.get(LABEL + mode)
            if enforced in LEVELS and LEVELS[enforced] >= level:
                version = own.get(f"{LABEL}{mode}-version", "latest")
                note = f" (namespace {namespace} has {mode}={enforced}:{version}: {consequence})"
                extra = {**finding.extra, "admission": outcome}
                finding = finding.with_(message=finding.message + note, extra=extra)
                break
        out.append(finding)
    return out
