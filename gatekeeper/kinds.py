"""Which policies' kinds an object is: a built-in kind name only in its own API group.

Policies name kinds (`Pod`, `ServiceAccount`); a custom resource may reuse the name in its
own group (`talos.dev/v1alpha1 ServiceAccount`, Knative's `serving.knative.dev/v1 Service`,
`example.com/v1 Pod`). The API server does not run those as the built-in kind, so the
built-in kind's policies do not judge them (a real-repo check found a critical
K8S-SA-AUTOMOUNT-TOKEN on a custom resource named ServiceAccount). Custom resources whose
pods gatekeeper knows (workloads.CUSTOM_WORKLOADS: a Volcano `Job`) keep their kind, and so
does one shaped like the workload it is named after (OpenKruise's Advanced DaemonSet and
StatefulSet run pods from `spec.template`): a controller may well run it as such.
"""

from __future__ import annotations

from typing import Any

from gatekeeper.fieldpath import get
from gatekeeper.workloads import CUSTOM_WORKLOADS, POD_TEMPLATE_PATHS

_CORE = frozenset({"", "core"})
_APPS = frozenset({"apps", "extensions"})  # extensions/v1beta1: removed, still judged
_NETWORKING = frozenset({"networking.k8s.io", "extensions"})
_RBAC = frozenset({"rbac.authorization.k8s.io"})
_BATCH = frozenset({"batch"})
# Built-in kinds by the groups the API server serves (served) them in.
BUILTIN_GROUPS: dict[str, frozenset[str]] = {
    **dict.fromkeys(
        (
            "Pod",
            "PodTemplate",
            "ReplicationController",
            "Service",
            "ServiceAccount",
            "Secret",
            "ConfigMap",
            "Namespace",
            "PersistentVolume",
            "PersistentVolumeClaim",
        ),
        _CORE,
    ),
    **dict.fromkeys(("Deployment", "DaemonSet", "ReplicaSet"), _APPS),
    "StatefulSet": frozenset({"apps"}),
    **dict.fromkeys(("Job", "CronJob"), _BATCH),
    **dict.fromkeys(("Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"), _RBAC),
    **dict.fromkeys(("NetworkPolicy", "Ingress"), _NETWORKING),
}


def matched_kind(kind: str, api_version: Any, obj: Any = None) -> str:
    """The kind policies match an object as: `kind`, or `kind.group` for a custom resource
    that only shares a built-in kind's name (no policy names that). Without `obj` (what an
    inventory row keeps) a workload kind is taken as shaped like one."""
    groups = BUILTIN_GROUPS.get(kind)
    if groups is None:
        return kind
    if not isinstance(api_version, str) or "/" not in api_version:
        return kind  # `v1`, or none at all: the core group as kubectl reads it
    group = api_version.rpartition("/")[0]
    if group.lower() in groups or (group, kind) in CUSTOM_WORKLOADS:
        return kind
    if kind in POD_TEMPLATE_PATHS and (obj is None or _pod_shaped(kind, obj)):
        return kind
    return f"{kind}.{group}"


def _pod_shaped(kind: str, obj: Any) -> bool:
    """Does `obj` hold a pod where its kind's built-in version does: a template's `spec`,
    or a Pod's `spec.containers` (however well formed)?"""
    path = POD_TEMPLATE_PATHS[kind]
    template = get(obj, path) if path else obj
    spec = template.get("spec") if isinstance(template, dict) else None
    return isinstance(spec, dict) and (bool(path) or "containers" in spec)
