"""(Cluster)RoleBinding subjects (and webhook services) as kustomize's `namespace:` leaves them.

Two of its special cases change who a binding grants: its namespace transformer gives the
namespace to every subject named `default` (of any kind), and at the end of the build its
name references give a subject the namespace of the ServiceAccount of that name that a
`namespace:` moved (any subject kind: a User named like the account moves too). Both are
copied here from kustomize (api/filters/namespace, api/filters/nameref, and which objects a
binding may name: api/resmap SubsetThatCouldBeReferencedByResource); what we do not copy
raises Unsupported.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gatekeeper.sources.kustomize_values import Unsupported, normalised

if TYPE_CHECKING:
    from gatekeeper.sources.kustomize_build import Built

_BINDINGS = frozenset({"RoleBinding", "ClusterRoleBinding"})
_RBAC = "rbac.authorization.k8s.io/v1"
# An object's effective namespace to kustomize: None for a cluster-scoped kind, `default`
# for none; raises Unsupported for a kind whose scope we do not know.
Effective = Callable[[dict[str, Any], str], "str | None"]


def is_binding(obj: dict[str, Any]) -> bool:
    return obj["kind"] in _BINDINGS


def _subjects(obj: dict[str, Any]) -> list[dict[str, Any]]:
    subjects = obj.get("subjects")
    if subjects is None:
        return []
    if obj["apiVersion"] != _RBAC or not (
        isinstance(subjects, list)
        and all(
            isinstance(s, dict)
            and isinstance(s.get("name"), str)
            and isinstance(s.get("namespace", ""), str)
            for s in subjects
        )
    ):
        raise Unsupported("binding subjects kustomize may read otherwise")
    return subjects


def namespace_default_subjects(obj: dict[str, Any], namespace: str) -> dict[str, Any] | None:
    """The binding with `namespace` on its subjects named `default` (a copy), or None when
    none is."""
    subjects = _subjects(obj)
    if not any(s["name"] == "default" for s in subjects):
        return None
    changed = dict(obj)
    changed["subjects"] = [
        {**s, "namespace": namespace} if s["name"] == "default" else s for s in subjects
    ]
    return changed


def resolve_references(built: list[Built], effective: Effective) -> None:
    """kustomize's name references from binding subjects to the ServiceAccounts a
    `namespace:`, a prefix or a JSON patch went over (those with previous ids): a subject
    takes the name and namespace of the one account that had its name (among those first in
    its namespace, if it names one); several accounts fail the build."""
    accounts = {
        id(item)
        for item in built
        if item.previous and item.obj["apiVersion"] == "v1" and item.obj["kind"] == "ServiceAccount"
    }
    if not accounts:
        return
    original = [_original(item, effective) for item in built]
    current = [effective(item.obj, item.obj["metadata"].get("namespace") or "") for item in built]
    for index, item in enumerate(built):
        if not is_binding(item.obj):
            continue
        subjects = _subjects(item.obj)
        if not subjects:
            continue
        seen = _referable(built, current, index, subjects)
        pool = [built[at] for at in seen]
        before, now = [original[at] for at in seen], [current[at] for at in seen]
        changed = [_resolved(s, pool, accounts, before, now) for s in subjects]
        if changed != subjects:
            item.obj = normalised({**item.obj, "subjects": changed})


def _referable(
    built: list[Built], current: list[str | None], index: int, subjects: list[dict[str, Any]]
) -> list[int]:
    """The objects the binding at `index` may name (kustomize's
    SubsetThatCouldBeReferencedByResource): every one for a ClusterRoleBinding; for a
    RoleBinding those of its namespace, the cluster-scoped ones, and those whose namespace a
    ServiceAccount subject writes (its `namespace`, as written: `default` is not ``)."""
    own = current[index]
    if own is None:
        return list(range(len(built)))
    written = set()
    for subject in subjects:
        if "namespace" in subject and "kind" in subject:
            if not isinstance(subject["kind"], str):
                raise Unsupported("a binding subject kustomize may read otherwise")
            if subject["kind"] == "ServiceAccount":
                written.add(subject["namespace"])
    return [
        at
        for at, item in enumerate(built)
        if current[at] is None
        or current[at] == own
        or str(item.obj["metadata"].get("namespace") or "") in written
    ]


def resolved_service(
    reference: dict[str, Any], built: list[Built], effective: Effective
) -> dict[str, Any]:
    """A webhook's `clientConfig.service` ({name, namespace}) as kustomize's name references
    leave it: like a subject, it takes the name and namespace of the one Service that had
    its name (kustomize's setMapping, the same as for subjects)."""
    if not isinstance(reference.get("name"), str) or not isinstance(
        reference.get("namespace", ""), str
    ):
        raise Unsupported("a webhook service reference kustomize may read otherwise")
    services = {
        id(item)
        for item in built
        if item.previous and item.obj["apiVersion"] == "v1" and item.obj["kind"] == "Service"
    }
    if not services:
        return reference
    original = [_original(item, effective) for item in built]
    current = [effective(item.obj, item.obj["metadata"].get("namespace") or "") for item in built]
    return _resolved(reference, built, services, original, current)


def _resolved(
    subject: dict[str, Any],
    built: list[Built],
    accounts: set[int],
    original: list[str | None],
    current: list[str | None],
) -> dict[str, Any]:
    pool = built
    if "namespace" in subject:
        wanted = subject["namespace"]
        pool = [item for item, ns in zip(built, original, strict=True) if ns == wanted]
        if not pool:
            pool = [item for item, ns in zip(built, current, strict=True) if ns == wanted]
    found = [
        item
        for item in pool
        if id(item) in accounts and any(subject["name"] == name for name, _ in item.previous)
    ]
    if not found:
        return subject
    ids = {
        (item.obj["metadata"]["name"], item.obj["metadata"].get("namespace") or "")
        for item in found
    }
    if len(ids) > 1:
        raise Unsupported("a binding subject kustomize finds several accounts for")
    ((name, namespace),) = ids
    if name == subject["name"] and not namespace:
        return subject
    changed = {**subject, "name": name}
    return {**changed, "namespace": namespace} if namespace else changed


def _original(item: Built, effective: Effective) -> str | None:
    """The namespace of the object's first id (kustomize's OrgId): as written if a
    `namespace:` moved it, else its current one."""
    written = item.namespace if item.renamespaced else item.obj["metadata"].get("namespace")
    return effective(item.obj, written or "")
