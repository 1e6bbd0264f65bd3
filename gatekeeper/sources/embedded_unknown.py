"""Objects and pod specs inside custom resources gatekeeper has no table entry for.

Operators that apply objects written inside their own resources keep appearing (KubeVela's
`k8s-objects`, an Argo Events trigger's `source.resource`, kro's `resources[].template`, Open
Cluster Management's `objectDefinition`, Flux Operator's ResourceSet): a privileged Pod written
there reached the cluster with no finding while gatekeeper waited for a table entry per kind
(red team s11 r04, r08-r11). In a custom resource of a kind no table knows (not built in, not
in embedded.EMBEDDING, TEXT_EMBEDDING or workloads.CUSTOM_WORKLOADS), every nested mapping
that looks like a Kubernetes object is judged as an object its controller makes, and every
mapping holding `containers` with images as a pod its controller runs (OpenKruise's
UnitedDeployment, red team r05).

Custom resources that hold object-shaped data no controller applies as written are left out;
each exclusion is listed with why (`_NOT_APPLIED_GROUPS`, `_NOT_APPLIED_KINDS`, `_NOT_OBJECTS`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Literal

from gatekeeper import lazy_re
from gatekeeper.fieldpath import Path

# Groups whose resources hold partial or hypothetical objects, never applied as written:
_NOT_APPLIED_GROUPS = (
    # Kyverno policies (`pattern`, `anyPattern`, mutate overlays; generate rules are read by
    # kyverno_generate), PolicyExceptions, Chainsaw tests (`assert` resources are partial
    # objects compared with the cluster), Kyverno CLI tests and their values.
    "kyverno.io",
    # OPA Gatekeeper: Constraints' `parameters`, ConstraintTemplates, mutators' partial
    # `assign` values, ExpansionTemplates, gator test Suites.
    "gatekeeper.sh",
    # Flux: a HelmRelease's values are a chart's input, rendered by the gitops source (or
    # reported GK-NOT-EXPANDED there); a Kustomization's patches are partial objects.
    "toolkit.fluxcd.io",
    # PolicyReports: the objects a report names, not objects anyone applies.
    "wgpolicyk8s.io",
    "reports.x-k8s.io",
)
# Kinds the gitops source expands itself (Argo CD): chart values and patches inside them.
_NOT_APPLIED_KINDS = frozenset(
    {
        ("argoproj.io", "Application"),
        ("argoproj.io", "ApplicationSet"),
        ("argoproj.io", "AppProject"),
    }
)
# Keys whose values are not applied as written, in any custom resource:
_NOT_OBJECTS = frozenset(
    {
        "metadata",  # annotations and labels: strings; last-applied-configuration is text
        "status",  # what a controller reports, not what it is asked to make
        "schema",  # an API's schema (kro's `spec.schema`, Crossplane XRDs): a shape, no object
        "openAPIV3Schema",
        "pattern",  # a policy's partial pattern (Kyverno-style) matched against objects
        "anyPattern",
        "patches",  # partial objects merged over others (Karmada, Cluster API, Crossplane)
        "patchesStrategicMerge",
        "patchStrategicMerge",
        "patchesJson6902",
        "values",  # a chart's input: what it becomes is the chart's (helm/gitops sources)
        "valuesObject",
        "parameters",  # policy parameters (Constraint-style) and template inputs
    }
)
# Fields of an object reference (ownerReferences, scaleTargetRef, a policy's selector): a
# mapping with only these names an object, it does not write one.
_REFERENCE_KEYS = frozenset(
    {
        "apiVersion",
        "kind",
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "fieldPath",
        "controller",
        "blockOwnerDeletion",
        "selector",
        "labelSelector",
    }
)
_API_VERSION = lazy_re.compile(
    r"(?:[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?/)?v[0-9]+(?:(?:alpha|beta)[0-9]+)?"
)
_KIND = lazy_re.compile(r"[A-Z][A-Za-z0-9]*")
# Deeper than this, a document is data, not something a reviewer wrote by hand.
_MAX_DEPTH = 64

Found = tuple[Literal["object", "pod"], Path, dict[str, Any]]


def is_unknown(group: str, kind: str) -> bool:
    """Is (group, kind) a custom resource whose contents the catch-all reads? Built-in and
    Kubernetes project groups (`apps`, `*.k8s.io`) are not custom resources; the exclusions
    hold object-shaped data nobody applies."""
    if "." not in group or group == "k8s.io" or group.endswith(".k8s.io"):
        return False
    if (group, kind) in _NOT_APPLIED_KINDS:
        return False
    return not any(group == each or group.endswith("." + each) for each in _NOT_APPLIED_GROUPS)


def looks_like_object(value: Any) -> bool:
    """A mapping written as a whole Kubernetes object: a well-formed apiVersion and kind and
    a field beyond those of a reference to one."""
    if not isinstance(value, dict):
        return False
    api_version, kind = value.get("apiVersion"), value.get("kind")
    return (
        isinstance(api_version, str)
        and isinstance(kind, str)
        and _API_VERSION.fullmatch(api_version) is not None
        and _KIND.fullmatch(kind) is not None
        and any(key not in _REFERENCE_KEYS for key in value)
    )


def is_pod_spec(value: dict[str, Any]) -> bool:
    """A mapping holding a `containers` list of mappings, one at least with an image."""
    containers = value.get("containers")
    return (
        isinstance(containers, list)
        and bool(containers)
        and all(isinstance(item, dict) for item in containers)
        and any(isinstance(item.get("image"), str) for item in containers)
    )


def found_in(obj: dict[str, Any]) -> Iterator[Found]:
    """The objects and pod specs written inside `obj` (a custom resource), in the order they
    are written; nothing inside either is looked at (a found object is judged on its own)."""
    stack: list[tuple[Path, Any]] = [
        ((key,), value)
        for key, value in reversed(list(obj.items()))
        if key not in ("apiVersion", "kind") and key not in _NOT_OBJECTS
    ]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            if looks_like_object(value):
                yield "object", path, value
                continue
            if is_pod_spec(value):
                yield "pod", path, value
                continue
            children = [((*path, str(k)), v) for k, v in value.items() if k not in _NOT_OBJECTS]
        elif isinstance(value, list):
            children = [((*path, index), item) for index, item in enumerate(value)]
        else:
            continue
        if len(path) < _MAX_DEPTH:
            stack.extend(reversed(children))


# Flux Operator: a ResourceSet applies its `resources` once per entry of `inputs`, each
# templated with `<< inputs.name >>`.
RESOURCE_SET = ("fluxcd.controlplane.io", "ResourceSet")
_INPUT = lazy_re.compile(r"<<-?\s*inputs\.([A-Za-z0-9_.]+)\s*-?>>")
_MAX_INPUTS = 50


def per_input(obj: dict[str, Any], found: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(label, object) for each way `found` is applied: once per input of a ResourceSet,
    with the input's values in place of `<< inputs.x >>` (a placeholder whose input is not
    written, or one with functions, is left as written); as written elsewhere."""
    api = str(obj.get("apiVersion") or "").rpartition("/")[0]
    spec = obj.get("spec")
    inputs = spec.get("inputs") if isinstance(spec, dict) else None
    if (api, obj.get("kind")) != RESOURCE_SET or not isinstance(inputs, list) or not inputs:
        return [("", found)]
    out = []
    for number, values in enumerate(inputs[:_MAX_INPUTS]):
        if isinstance(values, dict):
            out.append((f"inputs[{number}]", _substituted(found, values)))
    return out or [("", found)]


def _substituted(value: Any, inputs: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        return {key: _substituted(item, inputs) for key, item in value.items()}
    if isinstance(value, list):
        return [_substituted(item, inputs) for item in value]
    if not isinstance(value, str) or "<<" not in value:
        return value

    def replace(match: re.Match[str]) -> str:
        found: Any = inputs
        for key in match[1].split("."):
            found = found.get(key) if isinstance(found, dict) else None
        if found is None or isinstance(found, (dict, list)):
            return match[0]
        return str(found).lower() if isinstance(found, bool) else str(found)

    return _INPUT.sub(replace, value)


# A value the controller computes when it applies the object: kro's `${schema.spec.replicas}`
# (CEL over the instance), a ResourceSet's `<< inputs.x >>` no input gives. The whole value.
_EXPRESSION = lazy_re.compile(r"\$\{[^{}]*(?:\{[^{}]*\}[^{}]*)*\}|<<[^<>]*>>")


def expressions(value: Any, at: Path = ()) -> list[Path]:
    """The paths in a made object whose value is an expression and nothing else: what they
    hold is known only from the resource the controller reads (kro's instance), so neither
    their type nor their value is judged (as Terraform's values known only at apply).
    `replicas: ${schema.spec.replicas}` was a blocking GK-SCHEMA ("expected an integer") and
    `image: ${schema.spec.image}` an image "with no tag" (eks-workshop-v2's kro examples)."""
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in expressions(item, (*at, key))]
    if isinstance(value, list):
        return [p for number, item in enumerate(value) for p in expressions(item, (*at, number))]
    if isinstance(value, str) and _EXPRESSION.fullmatch(value.strip()):
        return [at]
    return []
