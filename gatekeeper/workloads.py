"""Pod-spec normalisation: a rule written for `Pod` runs on every workload kind.

A workload is presented to pod rules as a virtual Pod whose `metadata` is the pod template's
metadata (with the workload's name and namespace) and whose `spec` is the pod spec; paths in
that virtual Pod map back to the workload's own paths.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from gatekeeper.fieldpath import Path

# kind -> path of the pod template (the object holding `metadata` and `spec`) in that kind.
POD_TEMPLATE_PATHS: dict[str, Path] = {
    "Pod": (),
    "PodTemplate": ("template",),
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
    "DeploymentConfig": ("spec", "template"),  # OpenShift (apps.openshift.io)
    "Rollout": ("spec", "template"),  # Argo Rollouts (a `workloadRef` Rollout has none)
    "ScaledJob": ("spec", "jobTargetRef", "template"),  # KEDA: Jobs it starts on events
}
# Kinds a pod rule reaches through their pod template (PodTemplate included: it is one).
WORKLOAD_KINDS = frozenset(POD_TEMPLATE_PATHS) - {"Pod"}


class PodView(NamedTuple):
    pod: dict[str, Any]
    template_path: Path

    def real_path(self, path: Path) -> Path:
        """Map a path in the virtual Pod back to the workload."""
        if not self.template_path:
            return path
        if path and path[0] in ("metadata", "spec"):
            return (*self.template_path, *path)
        return path


def pod_view(obj: dict[str, Any]) -> PodView | None:
    """The virtual Pod of a workload (or the Pod itself); None if it has no pod template."""
    kind = obj.get("kind")
    template_path = POD_TEMPLATE_PATHS.get(kind) if isinstance(kind, str) else None
    if template_path is None:
        return None
    if not template_path:
        return PodView(obj, ())
    template: Any = obj
    for key in template_path:
        template = template.get(key) if isinstance(template, dict) else None
    if not isinstance(template, dict):
        template = {}
    outer = _mapping(obj.get("metadata"))
    metadata = dict(_mapping(template.get("metadata")))
    for key in ("name", "namespace"):
        if key in outer and key not in metadata:
            metadata[key] = outer[key]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": _mapping(template.get("spec")),
    }
    return PodView(pod, template_path)


def without_nulls(value: Any) -> Any:
    """The object as the API server stores it: a mapping key set to null is unset.

    Helm output is full of `securityContext:` and `labels:` left empty; rules must see them as
    absent, not fail on `null.field`. No recursion: documents may nest 500 levels deep.
    """
    if not _has_null(value):
        return value  # the common case: no copy
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(value, root, 0)]  # (value, holder, key in holder)
    while stack:
        item, holder, key = stack.pop()
        if isinstance(item, dict):
            copy: dict[Any, Any] = {}
            for name, child in item.items():
                if child is not None:
                    copy[name] = None
                    stack.append((child, copy, name))
            item = copy
        elif isinstance(item, list):
            items: list[Any] = [None] * len(item)
            stack.extend((child, items, index) for index, child in enumerate(item))
            item = items
        holder[key] = item
    return root[0]


def _has_null(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        children: Iterable[Any]
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        for child in children:
            if child is None:
                return True
            stack.append(child)
    return False


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
