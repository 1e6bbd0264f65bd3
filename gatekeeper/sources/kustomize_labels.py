"""Labels that kustomize also writes into selectors: `commonLabels`, `labels` with
`includeSelectors: true`.

These change what a Service, a workload or a NetworkPolicy selects, so they are copied from
kustomize's commonLabels field specs (api/internal/konfig/builtinpluginconsts) exactly: each
path, for the kinds it names, created where kustomize creates it and left alone where it
does not. A path through a value kustomize would fail on, or a null it may read otherwise,
goes to kubectl.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gatekeeper.sources.kustomize_names import Gvk, gvk_of, selected
from gatekeeper.sources.kustomize_values import Unsupported, copied, normalised

if TYPE_CHECKING:
    from gatekeeper.sources.kustomize_build import Built

_Spec = tuple[Gvk, tuple[str, ...], bool]  # (kinds, path, create)


def _spec(kind: str, path: str, create: bool, group: str = "", version: str = "") -> _Spec:
    return (group, version, kind), tuple(path.split("/")), create


_AFFINITY = (
    "spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution"
    "/podAffinityTerm/labelSelector/matchLabels",
    "spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution"
    "/labelSelector/matchLabels",
    "spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution"
    "/podAffinityTerm/labelSelector/matchLabels",
    "spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution"
    "/labelSelector/matchLabels",
    "spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels",
)
_TEMPLATE = "spec/template/metadata/labels"
SELECTOR_SPECS: tuple[_Spec, ...] = (
    _spec("Service", "spec/selector", True, version="v1"),
    _spec("ReplicationController", "spec/selector", True, version="v1"),
    _spec("Deployment", "spec/selector/matchLabels", True),
    *(_spec("Deployment", path, False, group="apps") for path in _AFFINITY),
    _spec("ReplicaSet", "spec/selector/matchLabels", True),
    _spec("DaemonSet", "spec/selector/matchLabels", True),
    _spec("StatefulSet", "spec/selector/matchLabels", True, group="apps"),
    *(_spec("StatefulSet", path, False, group="apps") for path in _AFFINITY),
    _spec("Job", "spec/selector/matchLabels", False, group="batch"),
    _spec("CronJob", "spec/jobTemplate/spec/selector/matchLabels", False, group="batch"),
    _spec("PodDisruptionBudget", "spec/selector/matchLabels", False, group="policy"),
    _spec("NetworkPolicy", "spec/podSelector/matchLabels", False, group="networking.k8s.io"),
    _spec(
        "NetworkPolicy",
        "spec/ingress/from/podSelector/matchLabels",
        False,
        group="networking.k8s.io",
    ),
    _spec(
        "NetworkPolicy", "spec/egress/to/podSelector/matchLabels", False, group="networking.k8s.io"
    ),
    # and where every label goes (kustomize's metadataLabels field specs)
    _spec("", "metadata/labels", True),
    _spec("ReplicationController", _TEMPLATE, True, version="v1"),
    _spec("Deployment", _TEMPLATE, True),
    _spec("ReplicaSet", _TEMPLATE, True),
    _spec("DaemonSet", _TEMPLATE, True),
    _spec("StatefulSet", _TEMPLATE, True, group="apps"),
    _spec("Job", _TEMPLATE, True, group="batch"),
    _spec("CronJob", "spec/jobTemplate/metadata/labels", True, group="batch"),
    _spec("CronJob", "spec/jobTemplate/spec/template/metadata/labels", True, group="batch"),
    _spec("StatefulSet", "spec/volumeClaimTemplates[]/metadata/labels", True, group="apps"),
)


def label_selectors(built: list[Built], pairs: dict[str, str]) -> None:
    """`pairs` on every object's labels, pod templates and the selectors of SELECTOR_SPECS."""
    if not pairs:
        return
    for item in built:
        gvk = gvk_of(item.obj)
        obj = copied(item.obj)
        for kinds, path, create in SELECTOR_SPECS:
            if selected(gvk, kinds):
                _set(obj, path, create, pairs)
        item.obj = normalised(obj)


def _set(node: Any, path: tuple[str, ...], create: bool, pairs: dict[str, str]) -> None:
    """kustomize's field spec walk: through each item of a list; a missing field created
    (as a mapping) or skipped (always for a list field, `name[]`); a null, or a scalar on
    the way, goes to kubectl."""
    if isinstance(node, list):
        for item in node:
            _set(item, path, create, pairs)
        return
    if not isinstance(node, dict):
        raise Unsupported("a label field spec through a scalar (kubectl fails)")
    key = path[0].removesuffix("[]")
    if key not in node:
        if not create or path[0].endswith("[]"):
            return
        node[key] = {}
    elif node[key] is None:
        raise Unsupported("a null on a label field spec's path")
    if len(path) > 1:
        _set(node[key], path[1:], create, pairs)
    elif isinstance(node[key], dict):
        node[key].update(pairs)
    else:
        raise Unsupported("labels or a selector that is not a mapping")
