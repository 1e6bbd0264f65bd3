"""Strategic-merge patches as kustomize applies them (kyaml's merge2), for what we can copy.

kustomize merges a patch into an object node by node: maps field by field, a `null` deletes,
`$patch: delete|replace|merge` on a map or a list, and lists that the Kubernetes OpenAPI
(kustomize's built-in copy, Kubernetes 1.21) marks `x-kubernetes-patch-strategy: merge`
element by element on their merge key, the patch's elements first (kustomize prepends), the
object's others after them in their order. Every other list, and every list of a kind it has
no schema for (a custom resource), is replaced by the patch's. SCHEMAS is that part of the
OpenAPI for the kinds we merge; a merge we cannot be sure to copy raises Unsupported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from gatekeeper.sources.kustomize_values import Unsupported


@dataclass(frozen=True)
class Keyed:
    """A list merged element by element: `keys` are its x-kubernetes-list-map-keys (else its
    patch merge key; none for a list of scalars), `items` the schema of an element."""

    keys: tuple[str, ...]
    items: Schema | None = None


Schema = dict[str, Union["Schema", Keyed]]

_META: Schema = {"finalizers": Keyed(()), "ownerReferences": Keyed(("uid",))}
_CONTAINER: Schema = {
    "env": Keyed(("name",)),
    "ports": Keyed(("containerPort", "protocol")),
    "volumeDevices": Keyed(("devicePath",)),
    "volumeMounts": Keyed(("mountPath",)),
}
_POD_SPEC: Schema = {
    "containers": Keyed(("name",), _CONTAINER),
    "ephemeralContainers": Keyed(("name",), _CONTAINER),
    "hostAliases": Keyed(("ip",)),
    "imagePullSecrets": Keyed(("name",)),
    "initContainers": Keyed(("name",), _CONTAINER),
    "topologySpreadConstraints": Keyed(("topologyKey", "whenUnsatisfiable")),
    "volumes": Keyed(("name",)),
}
_TEMPLATE: Schema = {"metadata": _META, "spec": _POD_SPEC}
_WORKLOAD: Schema = {"metadata": _META, "spec": {"template": _TEMPLATE}}
_CRON_JOB: Schema = {
    "metadata": _META,
    "spec": {"jobTemplate": {"metadata": _META, "spec": {"template": _TEMPLATE}}},
}
_PLAIN: Schema = {"metadata": _META}
_WEBHOOKS: Schema = {"metadata": _META, "webhooks": Keyed(("name",))}
# The kinds we merge with their schema (apiVersion, kind); `status` is left to kubectl.
SCHEMAS: dict[tuple[str, str], Schema] = {
    ("v1", "Pod"): {"metadata": _META, "spec": _POD_SPEC},
    ("v1", "ReplicationController"): _WORKLOAD,
    ("apps/v1", "Deployment"): _WORKLOAD,
    ("apps/v1", "ReplicaSet"): _WORKLOAD,
    ("apps/v1", "DaemonSet"): _WORKLOAD,
    ("apps/v1", "StatefulSet"): _WORKLOAD,
    ("batch/v1", "Job"): _WORKLOAD,
    ("batch/v1", "CronJob"): _CRON_JOB,
    ("batch/v1beta1", "CronJob"): _CRON_JOB,
    ("v1", "Service"): {"metadata": _META, "spec": {"ports": Keyed(("port", "protocol"))}},
    ("v1", "ServiceAccount"): {"metadata": _META, "secrets": Keyed(("name",))},
    ("v1", "ConfigMap"): _PLAIN,
    ("v1", "Secret"): _PLAIN,
    ("v1", "Namespace"): _PLAIN,
    ("v1", "PersistentVolumeClaim"): _PLAIN,
    ("rbac.authorization.k8s.io/v1", "Role"): _PLAIN,
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): _PLAIN,
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): _PLAIN,
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): _PLAIN,
    ("networking.k8s.io/v1", "NetworkPolicy"): _PLAIN,
    ("networking.k8s.io/v1", "Ingress"): _PLAIN,
    # kubebuilder's overlays patch these (a CRD's conversion webhook and CA annotation, the
    # webhooks' clientConfig): built by kubectl, 1-2.5 s each (kserve: 26 builds, 67 s)
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"): _PLAIN,
    ("apiextensions.k8s.io/v1beta1", "CustomResourceDefinition"): _PLAIN,
    ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration"): _WEBHOOKS,
    ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"): _WEBHOOKS,
    ("admissionregistration.k8s.io/v1beta1", "MutatingWebhookConfiguration"): _WEBHOOKS,
    ("admissionregistration.k8s.io/v1beta1", "ValidatingWebhookConfiguration"): _WEBHOOKS,
}
_DIRECTIVE = "$patch"
_DIRECTIVES = frozenset({"delete", "replace", "merge"})


def merge(
    obj: dict[str, Any], patch: dict[str, Any], schema: Schema | None, nulls_kept: bool
) -> Any:
    """`patch` merged into `obj` (neither changed); None when the patch deletes the object.
    `schema`: SCHEMAS' entry for the object's kind, None for a kind kustomize has none for.
    `nulls_kept`: every null of the object is written `null` or `~`, which kustomize keeps
    (a null written as nothing, `key:`, it drops)."""
    if schema is not None:
        if "status" in obj or "status" in patch:
            raise Unsupported("a strategic-merge patch of an object with a status")
        _check_lists(obj, schema)
    _check_object(obj, nulls_kept)
    directive = patch.get(_DIRECTIVE)
    if directive == "delete":
        return None
    if directive is not None and directive != "merge":
        raise Unsupported("a strategic-merge patch that replaces the whole object")
    return _map(obj, patch, schema)


def _map(dest: dict[str, Any] | None, patch: dict[str, Any], schema: Schema | None) -> Any:
    """A map merged: None when its `$patch: delete` removes it."""
    directive = patch.get(_DIRECTIVE)
    if directive is not None and not _known(directive):
        raise Unsupported("an unknown $patch directive")
    if directive == "delete":
        return None
    if directive == "replace":
        dest = None
    out = dict(dest) if dest is not None else {}
    for key, value in patch.items():
        if key == _DIRECTIVE:
            continue
        if key.startswith("$"):
            raise Unsupported(f"strategic-merge directive {key}")
        sub = schema.get(key) if schema is not None else None
        current = out.get(key)
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict):  # over a null: as over nothing
            if current is not None and not isinstance(current, dict):
                raise Unsupported("a patch map over a value that is not a map")
            merged = _map(current, value, sub if isinstance(sub, dict) else None)
            if merged is None:
                out.pop(key, None)
            else:
                out[key] = merged
        elif isinstance(value, list):
            if current is not None and not isinstance(current, list):
                raise Unsupported("a patch list over a value that is not a list")
            if isinstance(sub, Keyed):
                merged = _keyed(current, value, sub)
                if merged is None:
                    out.pop(key, None)
                else:
                    out[key] = merged
            else:
                _check_replacing(value)
                out[key] = value
        else:
            if isinstance(current, (dict, list)):
                raise Unsupported("a patch value over a map or list")
            out[key] = value
    return out


def _known(directive: Any) -> bool:
    return isinstance(directive, str) and directive in _DIRECTIVES


def _keyed(dest: list[Any] | None, patch: list[Any], keyed: Keyed) -> list[Any] | None:
    """A list merged on its merge key: the patch's elements (merged with the object's of
    the same key) in the patch's order, then the object's others. None: deleted. An element
    `$patch: replace` of one the object has leaves the object's as it is (kyaml puts the
    object's elements back over the merged ones: a merge changed those in place)."""
    if not keyed.keys:
        raise Unsupported("a strategic-merge patch of a list of scalars with a merge strategy")
    if len(keyed.keys) != 1:
        if dest is not None:
            raise Unsupported("a strategic merge of a list with several merge keys")
        _check_replacing(patch)
        _check_lists(patch, Keyed(keyed.keys))
        return patch
    (key,) = keyed.keys
    directives = [item for item in patch if isinstance(item, dict) and _DIRECTIVE in item]
    if directives and len(directives[0]) == 1:  # kustomize reads the first one only
        directive = directives[0][_DIRECTIVE]
        if not _known(directive):
            raise Unsupported("an unknown $patch directive")
        if directive == "delete":
            return None
        patch = [item for item in patch if item is not directives[0]]
        if directive == "replace":
            dest = None
    by_key: dict[Any, dict[str, Any]] = {}
    for item in dest or []:
        by_key[item[key]] = item  # unique and present: checked by _check_lists
    out: list[Any] = []
    seen: set[Any] = set()
    for item in patch:
        if not isinstance(item, dict) or not isinstance(item.get(key), str):
            raise Unsupported("a patch list element without its merge key as a string")
        if item[key] in seen:
            raise Unsupported("a patch list with a merge key twice")
        seen.add(item[key])
        if item.get(_DIRECTIVE) == "replace" and item[key] in by_key:
            # kustomize puts the object's own element back over the replacement
            out.append(by_key[item[key]])
            continue
        merged = _map(by_key.get(item[key]), item, keyed.items)
        if merged is not None:
            merged[key] = item[key]
            out.append(merged)
    out.extend(item for item in dest or [] if item[key] not in seen)
    return out


def _check_replacing(value: Any) -> None:
    """A list that replaces the object's is taken as written: kustomize keeps a null or a
    `$patch` in it, which we do not copy."""
    _no_null_or_directive(value, "inside a list a patch replaces")


def _check_object(value: Any, nulls_kept: bool) -> None:
    """kustomize keeps `key: null` of the object it patches but drops `key:`, which read
    alike; keys starting with `$` are left to it too."""
    _no_null_or_directive(value, "in an object a strategic-merge patch changes", nulls_kept)


def _no_null_or_directive(value: Any, where: str, nulls: bool = False) -> None:
    stack = [value]
    while stack:
        current = stack.pop()
        if current is None and not nulls:
            raise Unsupported(f"a null {where}")
        if isinstance(current, dict):
            if any(key.startswith("$") for key in current):
                raise Unsupported(f"a key starting with $ {where}")
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)


def _check_lists(value: Any, schema: Schema | Keyed | None) -> None:
    """Every merge-keyed list of the object is walked again by the merge: each element must
    be a map with its merge key, once (kustomize's result is otherwise its own)."""
    if isinstance(schema, Keyed):
        if not isinstance(value, list):
            return
        if not schema.keys:
            raise Unsupported("a strategic merge over a list of scalars with a merge strategy")
        key = schema.keys[0]
        found = [item.get(key) if isinstance(item, dict) else None for item in value]
        if any(not isinstance(k, (str, int)) or isinstance(k, bool) for k in found):
            raise Unsupported("a merge-keyed list element without its key")
        if len(set(found)) != len(found):
            raise Unsupported("a merge-keyed list with a key twice")
        if len(schema.keys) == 1 and not all(isinstance(k, str) for k in found):
            raise Unsupported("a merge key that is not a string")
        for item in value:
            _check_lists(item, schema.items)
    elif isinstance(schema, dict) and isinstance(value, dict):
        for key, sub in schema.items():
            if key in value:
                _check_lists(value[key], sub)
