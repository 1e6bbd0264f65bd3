"""Whether a chart's CustomResourceDefinitions are parsed and judged, or passed over unread.

A chart's `crds/` files and rendered templates that hold nothing but v1 definitions run to
megabytes (prometheus-operator-crds) and no bundled policy judges a v1 definition, so they are
passed over unparsed. A policy that may judge one changes that: a policy of the run's own
(kubernetes or helm source) whose kinds are every kind or name CustomResourceDefinition, or an
admission policy (ValidatingAdmissionPolicy, Kyverno's) of the policy directories or the
repository whose `matchConstraints` may match `customresourcedefinitions`. K8S-API-REMOVED
matches the kind, but judges only the versions its removals table names: it counts when its
parameters name apiextensions.k8s.io/v1.
"""

from __future__ import annotations

from typing import Any

from gatekeeper.tree import ScanDecision

DEFINITION_KIND = "CustomResourceDefinition"
_API_REMOVED = "K8S-API-REMOVED"
_GROUP = "apiextensions.k8s.io"
_RESOURCE = "customresourcedefinitions"
_KUBERNETES_SOURCES = ("kubernetes", "helm")

# Set by each scan for its tree (`decide`), read by the Helm source loading from that tree.
_JUDGED = ScanDecision()


def judged(tree: Any) -> bool:
    """Are the chart definitions of `tree`'s scan (or of the scan whose tree a deployer's
    view shows) to be parsed and judged?"""
    return _JUDGED.of(tree)


def decide(engine: Any, tree: Any) -> None:
    """Decide for the scan of `tree` that `engine` runs (its policies, and its admission
    policies once the tree's are found): before its sources load, and before a pool forks."""
    _JUDGED.decide(tree, may_judge(engine))


def may_judge(engine: Any) -> bool:
    for policy in engine.policies:
        match = policy.match
        if match.source not in _KUBERNETES_SOURCES:
            continue
        if match.kinds and DEFINITION_KIND not in match.kinds:
            continue
        if policy.id == _API_REMOVED and not _removes_v1(engine.params(policy)):
            continue
        return True
    admission = engine.admission
    if not admission:
        return False
    return any(
        _may_match(policy.constraints) for policy in [*admission.policies, *admission.trusted]
    )


def _removes_v1(params: dict[str, Any]) -> bool:
    removals = params.get("removals")
    return not isinstance(removals, list) or any(
        not isinstance(removal, dict) or removal.get("apiVersion") == f"{_GROUP}/v1"
        for removal in removals
    )


def _may_match(constraints: dict[str, Any]) -> bool:
    """May these match constraints select a CustomResourceDefinition (read broadly: more
    parsing, never less judging)?"""
    rules = constraints.get("resourceRules")
    if not isinstance(rules, list):
        return True
    for rule in rules:
        if not isinstance(rule, dict):
            return True
        groups = rule.get("apiGroups") or []
        resources = rule.get("resources") or []
        if not isinstance(groups, list) or not isinstance(resources, list):
            return True
        group = "*" in groups or _GROUP in groups
        resource = any(str(name).split("/")[0] in ("*", _RESOURCE) for name in resources)
        if group and resource:
            return True
    return False
