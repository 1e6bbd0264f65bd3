"""Our Kubernetes policies as ValidatingAdmissionPolicies: one policy for the PR and the cluster.

Each exportable policy becomes a `ValidatingAdmissionPolicy` and a binding. The CEL rule is
kept as written and wrapped so it sees what it sees here:
- `params`: the parameters in effect, as a literal: the variable `params` (`variables.params`);
- `object`: for a pod rule, the Pod view of every workload kind (a Deployment's
  `spec.template`, a CronJob's `spec.jobTemplate.spec.template`), as the engine normalises it:
  the variable `pod`;
- `each`: every subject pattern (`spec.containers[*]`, `metadata.annotations[*]`) becomes
  `all()` over lists and maps, with `item` and `path` read as the engine binds them (list
  indices read `[?]`);
- `cel.bind`, which the API server's CEL does not have, written out (gatekeeper.cel_unbind);
- `match`: kinds become resource rules, namespaces a namespace selector on
  `kubernetes.io/metadata.name`, `match.condition` a match condition.
Policies that need the whole repository (`scope: repository`), Terraform-style `context`, or a
source other than Kubernetes cannot be enforced by admission: they are listed with the reason.
"""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple

from gatekeeper import lazy_re
from gatekeeper.admission_cel import lacking
from gatekeeper.admission_cost import CostError
from gatekeeper.cel_unbind import unbind
from gatekeeper.fieldpath import WILDCARD, Pattern
from gatekeeper.policy.cel import literal
from gatekeeper.policy.model import Policy
from gatekeeper.workloads import POD_TEMPLATE_PATHS

API_VERSION = "admissionregistration.k8s.io/v1"
# kind -> (API group, resource) for the kinds a pod rule runs on
POD_KINDS = {
    "Pod": ("", "pods"),
    "PodTemplate": ("", "podtemplates"),
    "ReplicationController": ("", "replicationcontrollers"),
    "Deployment": ("apps", "deployments"),
    "StatefulSet": ("apps", "statefulsets"),
    "DaemonSet": ("apps", "daemonsets"),
    "ReplicaSet": ("apps", "replicasets"),
    "Job": ("batch", "jobs"),
    "CronJob": ("batch", "cronjobs"),
    "DeploymentConfig": ("apps.openshift.io", "deploymentconfigs"),
    "Rollout": ("argoproj.io", "rollouts"),
    "ScaledJob": ("keda.sh", "scaledjobs"),
}
_PLAIN = lazy_re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class Exported(NamedTuple):
    policy_id: str
    documents: list[dict[str, Any]]  # the ValidatingAdmissionPolicy and its binding
    reason: str  # why it cannot be exported ("" when it can)


def export(policy: Policy, params: dict[str, Any] | None = None) -> Exported:
    reason = _not_exportable(policy)
    if reason:
        return Exported(policy.id, [], reason)
    values = {**policy.params, **(params or {})}
    params_literal = _dyn_literal(values)
    if params_literal is None:
        return Exported(policy.id, [], "its parameters cannot be written as a CEL literal")
    pod = policy.pod_policy
    kinds = sorted(POD_KINDS) if pod else sorted(policy.match.kinds)
    # The parameters and a workload's Pod view are the policy's variables, read as
    # `variables.params` and `variables.pod`; every other binding is written out (the API
    # server's CEL has no cel.bind: gatekeeper.cel_unbind).
    variables = [{"name": "params", "expression": params_literal}]
    free = {"params": "variables.params"}
    if pod:
        variables.append({"name": "pod", "expression": _pod_view()})
        free["object"] = "variables.pod"
    rule = f"(({policy.rule.source}) == true)"
    checks = [_each(pattern, rule) for pattern in policy.each] or [_bound("object", "''", rule)]
    try:
        expression = unbind(" && ".join(f"({check})" for check in checks), free)
        condition = None
        if policy.match.condition is not None:
            # matchConditions cannot read variables: the parameters and the view written in
            inner = f"(({policy.match.condition.source}) == true)"
            inner = f"cel.bind(object, {_pod_view()}, {inner})" if pod else inner
            condition = unbind(f"cel.bind(params, {params_literal}, {inner})")
    except CostError as error:
        return Exported(policy.id, [], f"its CEL cannot be written without cel.bind ({error})")
    # what the API server compiles: a call it has no library for (admission_cel.lacking)
    if lacking(expression) or (condition is not None and lacking(condition)):
        reason = "its rule calls `base64.` or `math.`, which the API server's CEL does not have"
        return Exported(policy.id, [], reason)
    name = _name(policy.id)
    spec: dict[str, Any] = {
        "failurePolicy": "Fail",
        "matchConstraints": {"resourceRules": _resource_rules(kinds)},
        "variables": variables,
        "validations": [
            {
                "expression": expression,
                "message": f"{policy.id}: {policy.title}",
                "reason": "Invalid",
            }
        ],
    }
    selector = _namespace_selector(policy)
    if selector:
        spec["matchConstraints"]["namespaceSelector"] = selector
    if condition is not None:
        spec["matchConditions"] = [{"name": "condition", "expression": condition}]
    vap = {
        "apiVersion": API_VERSION,
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name, "annotations": {"gatekeeper.dev/policy": policy.id}},
        "spec": spec,
    }
    binding = {
        "apiVersion": API_VERSION,
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name},
        "spec": {"policyName": name, "validationActions": ["Deny"]},
    }
    return Exported(policy.id, [vap, binding], "")


def _dyn_literal(value: Any) -> str | None:
    """literal(value) with every element of its lists and maps in dyn(): the API server
    compiles with cel.HomogeneousAggregateLiterals, and parameters mix strings, lists and
    booleans in one map."""
    if isinstance(value, list):
        items = [_dyn_literal(item) for item in value]
        return None if None in items else "[" + ", ".join(f"dyn({i})" for i in items) + "]"
    if isinstance(value, dict):
        parts = []
        for key, item in value.items():
            key_text, item_text = literal(key), _dyn_literal(item)
            if key_text is None or item_text is None or not isinstance(key, str):
                return None
            parts.append(f"{key_text}: dyn({item_text})")
        return "{" + ", ".join(parts) + "}"
    return literal(value)


def _not_exportable(policy: Policy) -> str:
    if policy.scope == "repository":
        return "it judges the whole repository (scope: repository), not one object"
    if policy.match.source != "kubernetes":
        return f"it judges {policy.match.source} files, not Kubernetes objects"
    sources = [policy.rule.source]
    if policy.match.condition is not None:
        sources.append(policy.match.condition.source)
    for source in sources:
        for name in ("context", "inventory"):
            if re.search(rf"(?<![\w.]){name}(?!\w)", source):
                return f"its rule reads `{name}`, which admission does not have"
    if not policy.match.kinds and not policy.pod_policy:
        return "it matches every kind; admission needs the resources named"
    return ""


def _name(policy_id: str) -> str:
    return "gatekeeper-" + re.sub(r"[^a-z0-9-]", "-", policy_id.lower()).strip("-")


def _resource_rules(kinds: list[str]) -> list[dict[str, Any]]:
    groups: dict[str, list[str]] = {}
    for kind in kinds:
        from gatekeeper.admission import resource_of

        group, resource = POD_KINDS.get(kind, ("*", resource_of(kind)))
        groups.setdefault(group, []).append(resource)
        if resource == "pods":
            # `kubectl debug` adds a container through this subresource, whose request holds
            # the whole Pod: a rule on `pods` alone never sees it (red team s25; Pod
            # Security Admission and Kyverno judge it as a Pod).
            groups[group].append("pods/ephemeralcontainers")
    return [
        {
            "apiGroups": [group],
            "apiVersions": ["*"],
            "operations": ["CREATE", "UPDATE"],
            "resources": sorted(resources),
        }
        for group, resources in sorted(groups.items())
    ]


def _namespace_selector(policy: Policy) -> dict[str, Any]:
    expressions = []
    key = "kubernetes.io/metadata.name"
    if policy.match.namespaces:
        values = sorted(policy.match.namespaces)
        expressions.append({"key": key, "operator": "In", "values": values})
    if policy.match.exclude_namespaces:
        values = sorted(policy.match.exclude_namespaces)
        expressions.append({"key": key, "operator": "NotIn", "values": values})
    return {"matchExpressions": expressions} if expressions else {}


def _pod_view() -> str:
    """`object` as the Pod the engine sees: a workload's pod template as a Pod."""

    def view(template: str) -> str:
        return (
            '{"apiVersion": "v1", "kind": "Pod", '
            f'"metadata": {template}.?metadata.orValue({{}}), '
            f'"spec": {template}.?spec.orValue({{}})}}'
        )

    cases = []
    for kind, path in sorted(POD_TEMPLATE_PATHS.items()):
        if not path:
            continue
        template = "object." + ".".join(str(key) for key in path)
        cases.append((kind, view(template)))
    expression = "object"
    for kind, value in reversed(cases):
        expression = f"(object.kind == {json.dumps(kind)} ? {value} : {expression})"
    return expression


def _bound(item: str, path: str, rule: str) -> str:
    return f"cel.bind(item, {item}, cel.bind(path, {path}, {rule}))"


def _each(pattern: Pattern, rule: str) -> str:
    """`rule` for every subject `pattern` names: true where the pattern reaches nothing."""
    counter = [0]

    def step(expression: str, path: str, rest: Pattern) -> str:
        if not rest:
            return _bound(expression, path, rule)
        key, tail = rest[0], rest[1:]
        if key is WILDCARD:
            counter[0] += 1
            var = f"gk{counter[0]}"
            plain = "'^[A-Za-z_$][A-Za-z0-9_$-]*$'"
            key_path = f"{path} + ({var}.matches({plain}) ? '.' + {var} : '[\"' + {var} + '\"]')"
            item_path = path + " + " + json.dumps("[?]")
            over_map = (
                f"{expression}.all({var}, {step(expression + '[' + var + ']', key_path, tail)})"
            )
            over_list = f"{expression}.all({var}, {step(var, item_path, tail)})"
            return (
                f"(type({expression}) == map ? {over_map} : "
                f"(type({expression}) == list ? {over_list} : true))"
            )
        if isinstance(key, int):
            index_path = path + " + " + json.dumps(f"[{key}]")
            inner = step(f"{expression}[{key}]", index_path, tail)
            return f"(type({expression}) == list && size({expression}) > {key} ? {inner} : true)"
        text = str(key)
        if _PLAIN.match(text):
            child, written = f"{expression}.{text}", f".{text}"
        else:
            child, written = f"{expression}[{json.dumps(text)}]", f'["{text}"]'
        if path == "''":
            written = written.lstrip(".")
        inner = step(child, path + " + " + json.dumps(written), tail)
        quoted = json.dumps(text)
        return f"(type({expression}) == map && {quoted} in {expression} ? {inner} : true)"

    return step("object", "''", pattern)
