"""`namePrefix`/`nameSuffix` and the name references kustomize rewrites after a rename.

A prefix renames every object but CRDs, APIServices and Namespaces; at the end of the build
kustomize's name reference transformer (api/filters/nameref) points every field that names a
renamed object (a pod's ConfigMap volume, a RoleBinding's roleRef, an HPA's target) at its
new name. The fields are kustomize's nameReference configuration, written here by where
each workload kind holds its pod spec. A reference kustomize could resolve two ways (two
renamed objects answer to the old name) goes to kubectl, as does any field we do not
follow; binding subjects and webhook services are kustomize_subjects' part.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from gatekeeper.sources import kustomize_subjects
from gatekeeper.sources.kustomize_values import Unsupported, copied, normalised

if TYPE_CHECKING:
    from gatekeeper.sources.kustomize_build import Built

# An object's effective namespace to kustomize (None: cluster-scoped); raises Unsupported
# for a kind whose scope we do not know.
Effective = Callable[[dict[str, Any], str], "str | None"]
# (group, version, kind); "" matches anything, as kustomize's Gvk.IsSelected.
Gvk = tuple[str, str, str]
_Spec = tuple[Gvk, tuple[str, ...]]

_WEBHOOKS = frozenset({"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"})
# Kinds a prefix or suffix leaves alone (kustomize's prefixFieldSpecsToSkip).
_NOT_RENAMED: tuple[Gvk, ...] = (
    ("", "", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "", "APIService"),
    ("", "", "Namespace"),
)

# Where each kind of the name reference configuration holds a pod spec, in its order.
_POD_SPECS: tuple[tuple[Gvk, tuple[str, ...]], ...] = (
    (("", "v1", "Pod"), ("spec",)),
    (("", "", "PodTemplate"), ("template", "spec")),
    (("", "", "Deployment"), ("spec", "template", "spec")),
    (("", "", "ReplicaSet"), ("spec", "template", "spec")),
    (("", "", "DaemonSet"), ("spec", "template", "spec")),
    (("", "", "StatefulSet"), ("spec", "template", "spec")),
    (("", "", "Job"), ("spec", "template", "spec")),
    (("", "", "CronJob"), ("spec", "jobTemplate", "spec", "template", "spec")),
)
# The kinds whose pod spec kustomize follows for accounts, claims and priority classes.
_ACCOUNT_HOLDERS: tuple[str, ...] = (
    *("Pod", "StatefulSet", "Deployment", "ReplicationController"),
    *("CronJob", "Job", "DaemonSet"),
)


def _in_pods(*paths: str, kinds: tuple[str, ...] | None = None) -> list[_Spec]:
    """Each path inside the pod spec of each kind (those of _POD_SPECS, or `kinds` with
    the same places; a ReplicationController's is the Deployment's)."""
    out: list[_Spec] = []
    if kinds is None:
        for gvk, where in _POD_SPECS:
            out.extend((gvk, (*where, *path.split("/"))) for path in paths)
        return out
    places = {gvk[2]: where for gvk, where in _POD_SPECS}
    for kind in kinds:
        where = places.get(kind, places["Deployment"])
        out.extend((("", "", kind), (*where, *path.split("/"))) for path in paths)
    return out


def _any(kind: str, path: str, group: str = "", version: str = "") -> _Spec:
    return ((group, version, kind), tuple(part.replace("~1", "/") for part in path.split("/")))


_RBAC = "rbac.authorization.k8s.io"
_CONFIG_MAP_SPECS = [
    *_in_pods(
        "volumes/configMap/name",
        "containers/env/valueFrom/configMapKeyRef/name",
        "initContainers/env/valueFrom/configMapKeyRef/name",
        "containers/envFrom/configMapRef/name",
        "initContainers/envFrom/configMapRef/name",
        "volumes/projected/sources/configMap/name",
    ),
    _any("Node", "spec/configSource/configMap"),
    _any("Role", "rules/resourceNames"),
    _any("ClusterRole", "rules/resourceNames"),
    _any("Ingress", "metadata/annotations/nginx.ingress.kubernetes.io~1fastcgi-params-configmap"),
]
_SECRET_SPECS = [
    *_in_pods(
        "volumes/secret/secretName",
        "containers/env/valueFrom/secretKeyRef/name",
        "initContainers/env/valueFrom/secretKeyRef/name",
        "containers/envFrom/secretRef/name",
        "initContainers/envFrom/secretRef/name",
        "imagePullSecrets/name",
        "volumes/projected/sources/secret/name",
    ),
    _any("Ingress", "spec/tls/secretName"),
    _any("Ingress", "metadata/annotations/ingress.kubernetes.io~1auth-secret"),
    _any("Ingress", "metadata/annotations/nginx.ingress.kubernetes.io~1auth-secret"),
    _any("Ingress", "metadata/annotations/nginx.ingress.kubernetes.io~1auth-tls-secret"),
    _any("ServiceAccount", "imagePullSecrets/name"),
    _any("StorageClass", "parameters/secretName"),
    _any("StorageClass", "parameters/adminSecretName"),
    _any("StorageClass", "parameters/userSecretName"),
    _any("StorageClass", "parameters/secretRef"),
    _any("Role", "rules/resourceNames"),
    _any("ClusterRole", "rules/resourceNames"),
    _any(
        "Service",
        "spec/template/spec/containers/env/valueFrom/secretKeyRef/name",
        group="serving.knative.dev",
        version="v1",
    ),
    _any("PersistentVolume", "spec/azureFile/secretName"),
]
_SCALED = [_any("HorizontalPodAutoscaler", "spec/scaleTargetRef/name")]
# (the referred kind, the fields that name it); kustomize's IngressClass entry names the
# group `networking.k8s.io/v1`, which no object has, so it never applies and is left out.
REFERENCES: tuple[tuple[Gvk, tuple[_Spec, ...]], ...] = (
    (("", "", "Deployment"), tuple(_SCALED)),
    (("", "", "ReplicationController"), tuple(_SCALED)),
    (("", "", "ReplicaSet"), tuple(_SCALED)),
    (("", "", "StatefulSet"), tuple(_SCALED)),
    (("", "v1", "ConfigMap"), tuple(_CONFIG_MAP_SPECS)),
    (("", "v1", "Secret"), tuple(_SECRET_SPECS)),
    (
        ("", "v1", "Service"),
        (
            _any("StatefulSet", "spec/serviceName", group="apps"),
            _any("Ingress", "spec/rules/http/paths/backend/serviceName"),
            _any("Ingress", "spec/backend/serviceName"),
            _any("Ingress", "spec/rules/http/paths/backend/service/name"),
            _any("Ingress", "spec/defaultBackend/service/name"),
            _any("APIService", "spec/service/name", group="apiregistration.k8s.io"),
            _any(
                "ValidatingWebhookConfiguration",
                "webhooks/clientConfig/service",
                group="admissionregistration.k8s.io",
            ),
            _any(
                "MutatingWebhookConfiguration",
                "webhooks/clientConfig/service",
                group="admissionregistration.k8s.io",
            ),
        ),
    ),
    ((_RBAC, "", "Role"), (_any("RoleBinding", "roleRef/name", group=_RBAC),)),
    (
        (_RBAC, "", "ClusterRole"),
        (
            _any("RoleBinding", "roleRef/name", group=_RBAC),
            _any("ClusterRoleBinding", "roleRef/name", group=_RBAC),
        ),
    ),
    (
        ("", "v1", "ServiceAccount"),
        tuple(_in_pods("serviceAccountName", kinds=_ACCOUNT_HOLDERS)),  # and subjects
    ),
    (
        ("", "v1", "PersistentVolumeClaim"),
        tuple(_in_pods("volumes/persistentVolumeClaim/claimName", kinds=_ACCOUNT_HOLDERS)),
    ),
    (
        ("", "v1", "PersistentVolume"),
        (
            _any("PersistentVolumeClaim", "spec/volumeName"),
            _any("ClusterRole", "rules/resourceNames"),
        ),
    ),
    (
        ("storage.k8s.io", "v1", "StorageClass"),
        (
            _any("PersistentVolume", "spec/storageClassName"),
            _any("PersistentVolumeClaim", "spec/storageClassName"),
            _any("StatefulSet", "spec/volumeClaimTemplates/spec/storageClassName"),
        ),
    ),
    (
        ("scheduling.k8s.io", "v1", "PriorityClass"),
        tuple(_in_pods("priorityClassName", kinds=_ACCOUNT_HOLDERS)),
    ),
    (
        ("admissionregistration.k8s.io", "", "ValidatingAdmissionPolicy"),
        (
            _any(
                "ValidatingAdmissionPolicyBinding",
                "spec/policyName",
                group="admissionregistration.k8s.io",
            ),
        ),
    ),
)

# The referrer field specs of REFERENCES by the referrer's kind (each names one).
_BY_KIND: dict[str, list[tuple[Gvk, Gvk, tuple[str, ...]]]] = {}
for _referred, _fields in REFERENCES:
    for _spec, _path in _fields:
        _BY_KIND.setdefault(_spec[2], []).append((_spec, _referred, _path))


def selected(gvk: Gvk, selector: Gvk) -> bool:
    """kustomize's Gvk.IsSelected: each field of the selector that is set must be equal."""
    return all(not want or want == have for have, want in zip(gvk, selector, strict=True))


def gvk_of(obj: dict[str, Any]) -> Gvk:
    group, _, version = obj["apiVersion"].rpartition("/")
    return group, version, obj["kind"]


def affix(built: list[Built], prefix: Any, suffix: Any) -> None:
    """`namePrefix` then `nameSuffix` on every object but the kinds kustomize skips; each
    renamed object remembers its id before (kustomize's StorePreviousId)."""
    for value, before in ((prefix, True), (suffix, False)):
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise Unsupported("a name prefix or suffix that is not a string")
        for item in built:
            if any(selected(gvk_of(item.obj), skip) for skip in _NOT_RENAMED):
                continue
            item.remember()
            name = item.obj["metadata"]["name"]
            name = value + name if before else name + value
            item.obj = {**item.obj, "metadata": {**item.obj["metadata"], "name": name}}


def fix_references(built: list[Built], effective: Effective) -> None:
    """kustomize's name references to renamed objects (ServiceAccounts in binding subjects
    aside): each field of REFERENCES that holds the old name of exactly one renamed object of
    the referred kind (in the referrer's namespace, or cluster-scoped) gets its new name; a
    webhook's service its name and namespace."""
    renamed = any(
        name != item.obj["metadata"]["name"] for item in built for name, _ in item.previous
    )
    for item in built:
        gvk = gvk_of(item.obj)
        if not renamed and gvk[2] not in _WEBHOOKS:
            continue  # a name that did not change: no scalar reference changes
        specs = [
            (referred, path)
            for spec, referred, path in _BY_KIND.get(gvk[2], ())
            if selected(gvk, spec)
        ]
        if not specs:
            continue
        obj = copied(item.obj)
        changed = False
        for referred, path in specs:
            for container, key in _places(obj, path):
                new = _referral(container[key], item, referred, path, built, effective)
                if new is not None and new != container[key]:
                    container[key] = new
                    changed = True
        if changed:
            item.obj = normalised(obj)


def _places(obj: Any, path: tuple[str, ...]) -> Iterator[tuple[Any, Any]]:
    """Each (container, key) the field spec `path` reaches, as kustomize's fieldspec walk:
    through every item of a list, past a missing or null field; a list at the end gives
    each of its items."""
    if obj is None:
        return
    if isinstance(obj, list):
        for item in obj:
            yield from _places(item, path)
        return
    if not isinstance(obj, dict):
        raise Unsupported("a name reference path through a scalar (kubectl fails)")
    key = path[0]
    if key not in obj:
        return
    if len(path) > 1:
        yield from _places(obj[key], path[1:])
    elif isinstance(obj[key], list):
        for index, value in enumerate(obj[key]):
            if isinstance(value, list):
                raise Unsupported("a name reference that is a list in a list")
            yield obj[key], index
    else:
        yield obj, key


def _referral(
    value: Any,
    referrer: Built,
    referred: Gvk,
    path: tuple[str, ...],
    built: list[Built],
    effective: Effective,
) -> Any:
    """The new name for a reference (a new mapping for a webhook's service), None to leave
    it (kustomize's selectReferral)."""
    if value is None:
        return None
    if isinstance(value, dict):
        if path[0] == "webhooks":
            return kustomize_subjects.resolved_service(value, built, effective)
        name = value.get("name")
        if not isinstance(name, str):
            raise Unsupported("a name reference mapping without a name")
        if _candidates(name, referred, built):
            raise Unsupported("a name reference mapping to a renamed object")
        return None
    if not isinstance(value, str):
        raise Unsupported("a name reference that is not a string")
    found = _candidates(value, referred, built)
    if path[-2:] == ("roleRef", "name"):
        found = _same_role_kind(referrer.obj, found)
    if not found:
        return None
    own = effective(referrer.obj, referrer.obj["metadata"].get("namespace") or "")
    if own is not None:
        kept = []
        for item in found:
            theirs = effective(item.obj, item.obj["metadata"].get("namespace") or "")
            if theirs is None or theirs == own:
                kept.append(item)
            elif item.obj["kind"] == "ServiceAccount":
                raise Unsupported("a reference to an account in another namespace")
        found = kept
    names = {item.obj["metadata"]["name"] for item in found}
    if not found or names == {value}:
        return None
    if len(found) == 1:
        renamed: str = found[0].obj["metadata"]["name"]
        return renamed
    raise Unsupported("a name reference kustomize may resolve to several objects")


def _candidates(name: str, referred: Gvk, built: list[Built]) -> list[Built]:
    """The objects of the referred kind that had `name` before (kustomize's PrevIds)."""
    return [
        item
        for item in built
        if item.previous
        and selected(gvk_of(item.obj), referred)
        and any(name == before for before, _ in item.previous)
    ]


def _same_role_kind(binding: dict[str, Any], found: list[Built]) -> list[Built]:
    """A roleRef names a Role or a ClusterRole by its apiGroup and kind too."""
    role = binding.get("roleRef")
    if not isinstance(role, dict) or role.get("apiGroup") is None or role.get("kind") is None:
        return found
    group, kind = role["apiGroup"], role["kind"]
    if not isinstance(group, str) or not isinstance(kind, str):
        raise Unsupported("a roleRef whose apiGroup or kind is not a string")
    return [item for item in found if selected(gvk_of(item.obj), (group, "", kind))]
