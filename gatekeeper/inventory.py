"""A small summary of every object in a scan, for repository-scope policies.

Workers send these back instead of whole documents; a NetworkPolicy-per-namespace rule needs
to see every object of the repository, not only the one it is judging.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from gatekeeper.admission_weakened import facts as admission_facts
from gatekeeper.document import Document

if TYPE_CHECKING:
    from gatekeeper.evaluate import Engine


class InventoryEntry(NamedTuple):
    """One object: built by `make`, which keeps it small (a scan holds one per object of
    the repository: 36,000 in 8 copies of the real corpus, 689 bytes each before)."""

    source: str
    api_version: str
    kind: str
    namespace: str
    name: str
    labels: dict[str, str]
    file: str
    line: int
    variant: str = ""  # the overlay or release that rendered it (Document.extra["variant"])
    # What an RBAC object grants (rbac_facts): a role's rules, a binding's roleRef and
    # subjects; None for every other kind.
    facts: Any = None
    # The chart folder of a chart rendered alone that nothing in the repository releases
    # (deployer_scope): its objects count for its own workloads only, not for a namespace's.
    scope: str = ""

    def __reduce__(self) -> tuple[Callable[..., InventoryEntry], tuple[Any, ...]]:
        """Unpickled (pool workers send every entry to the parent) through `make`: a pickle
        shares texts within one worker's chunk only."""
        return make, tuple(self)

    def as_cel(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "apiVersion": self.api_version,
            "kind": self.kind,
            "namespace": self.namespace or "default",
            "name": self.name,
            "labels": self.labels,
            "file": self.file,
        }


def make(
    source: str,
    api_version: str,
    kind: str,
    namespace: str,
    name: str,
    labels: dict[str, str],
    file: str,
    line: int,
    variant: str = "",
    facts: Any = None,
    scope: str = "",
) -> InventoryEntry:
    """An entry whose texts are interned and whose labels are the one dict holding those
    labels (in that order): most objects repeat their file, kind and label set."""
    intern = sys.intern
    return InventoryEntry(
        intern(source),
        intern(api_version),
        intern(kind),
        intern(namespace),
        intern(name),
        _shared_labels(labels),
        intern(file),
        line,
        intern(variant),
        facts,
        intern(scope),
    )


# One dict per distinct label set, for the life of the process (bounded: tests run many
# scans in one process). Shared, so never changed in place; a plain dict, as CEL wants.
_LABELS: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
_MAX_LABELS = 1 << 16


def _shared_labels(labels: dict[str, str]) -> dict[str, str]:
    key = tuple(labels.items())
    found = _LABELS.get(key)
    if found is None:
        found = {sys.intern(k): sys.intern(v) for k, v in key}
        if len(_LABELS) < _MAX_LABELS:
            _LABELS[key] = found
    return found


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def entry(document: Document) -> InventoryEntry:
    obj = _mapping(document.obj)
    metadata = _mapping(obj.get("metadata"))
    labels = _mapping(metadata.get("labels"))
    location = document.locator.locate(("metadata", "namespace"))
    return make(
        source=document.source,
        api_version=str(obj.get("apiVersion", "")),
        kind=document.kind,
        # a chart's workload goes where it is installed (helm.RELEASE_NAMESPACE_UNKNOWN), an
        # OLM bundle's where OLM installs it (embedded.OLM_INSTALL_NAMESPACE)
        namespace=str(document.extra.get("inventory_namespace") or document.namespace or ""),
        name=document.name,
        labels={str(k): str(v) for k, v in labels.items()},
        file=location.file,
        line=location.line,
        variant=str(document.extra.get("variant") or ""),
        facts=(
            rbac_facts(document)
            or admission_facts(document)
            or scc_facts(document)
            or rendered_params(document)
        ),
    )


RBAC_GROUP = "rbac.authorization.k8s.io/"
# Kubernetes objects as written, rendered from a chart or an overlay, or deployed by a GitOps
# object (evaluate.KUBERNETES_SOURCES, which imports this module).
RBAC_SOURCES = frozenset({"kubernetes", "helm", "kustomize", "gitops"})
ROLE_KINDS = frozenset({"Role", "ClusterRole"})
BINDING_KINDS = frozenset({"RoleBinding", "ClusterRoleBinding"})


def rbac_facts(document: Document) -> dict[str, Any] | None:
    """What a Role or ClusterRole grants (its rules, its aggregationRule) and what a binding
    gives to whom (roleRef, subjects, the line of roleRef.name): a binding is judged by the
    rules of the repository's role it names (gatekeeper.rbac_reach), which may be in a file
    the pull request does not touch. Plain JSON values (the blob cache stores them)."""
    obj = _mapping(document.obj)
    if document.source not in RBAC_SOURCES or not str(obj.get("apiVersion", "")).startswith(
        RBAC_GROUP
    ):
        return None
    if document.kind in ROLE_KINDS:
        facts = {"rules": _plain(obj.get("rules") or [])}
        if "aggregationRule" in obj:
            facts["aggregationRule"] = _plain(obj.get("aggregationRule"))
        return facts
    if document.kind in BINDING_KINDS:
        line = document.locator.locate(("roleRef", "name")).line
        return {
            "roleRef": _plain(_mapping(obj.get("roleRef"))),
            "subjects": _plain(obj.get("subjects") or []),
            "line": line,
        }
    return None


SCC_KIND = "SecurityContextConstraints"
SCC_GROUP = "security.openshift.io/"
# What an SCC allows that its users may use (K8S-RBAC-SCC-GRANT reads the same fields).
SCC_FIELDS = (
    "allowPrivilegedContainer",
    "allowHostNetwork",
    "allowHostPID",
    "allowHostIPC",
    "allowHostPorts",
    "allowHostDirVolumePlugin",
    "volumes",
    "allowedCapabilities",
    "defaultAddCapabilities",
    "runAsUser",
    "seLinuxContext",
    "allowedUnsafeSysctls",
)


def scc_facts(document: Document) -> dict[str, Any] | None:
    """What an OpenShift SecurityContextConstraints allows: a role's `use` of it by name is
    judged by it (gatekeeper.rbac_reach), and the SCC may be in a file the pull request does
    not touch, or be the only file it touches."""
    obj = _mapping(document.obj)
    if (
        document.kind != SCC_KIND
        or document.source not in RBAC_SOURCES
        or not str(obj.get("apiVersion", "")).startswith(SCC_GROUP)
    ):
        return None
    return {"scc": {key: _plain(obj[key]) for key in SCC_FIELDS if key in obj}}


# A ConfigMap a chart or overlay renders is kept whole when its data is this small: a
# ValidatingAdmissionPolicy's params object may be one (admission_params compares it).
PARAMS_LIMIT = 4096
RENDERING_SOURCES = frozenset({"helm", "kustomize", "gitops"})


def rendered_params(document: Document) -> dict[str, Any] | None:
    """A small ConfigMap only a Helm chart or an overlay renders: its `data`, which no file
    holds as written (red team s20 trust13 s02: the pull request changed values.yaml and the
    rendered params of an enforcing binding widened)."""
    obj = _mapping(document.obj)
    data = obj.get("data")
    if (
        document.kind != "ConfigMap"
        or document.source not in RENDERING_SOURCES
        or not isinstance(data, dict)
        or sum(len(str(k)) + len(str(v)) for k, v in data.items()) > PARAMS_LIMIT
    ):
        return None
    return {"params": {"data": _plain(data)}}


def _plain(value: Any) -> Any:
    """`value` as JSON would carry it: maps with text keys, lists, texts, numbers, booleans."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def counted_kinds(engine: Engine) -> frozenset[str] | None:
    """The kinds repository-scope policies read: their subjects' kinds (match.kinds, every
    workload kind for a Pod policy) and the kinds each rule counts (`inventoryKinds`, with the
    run's params). None when a policy does not declare what it counts: then every kind."""
    from gatekeeper.policy.cel import CelError
    from gatekeeper.rbac_reach import RBAC_KINDS, ROLE_POLICIES
    from gatekeeper.workloads import WORKLOAD_KINDS

    kinds: set[str] = set()
    if any(policy.id in ROLE_POLICIES for policy in engine.policies):
        # a binding is judged by its role's rules (rbac_reach), and those by the SCCs they use
        kinds |= RBAC_KINDS | {SCC_KIND}
    for policy in engine.policies:
        if policy.scope != "repository":
            continue
        if policy.inventory_kinds is None or not policy.match.kinds:
            return None
        kinds |= policy.match.kinds | (WORKLOAD_KINDS if policy.pod_policy else frozenset())
        try:
            counted = policy.inventory_kinds.evaluate({"params": engine.params(policy)})
        except CelError:
            return None  # judged on every kind, as without the declaration
        if not isinstance(counted, list) or not all(isinstance(k, str) for k in counted):
            return None
        kinds.update(counted)
    return frozenset(kinds)


def projected(
    inventory: Sequence[InventoryEntry], kinds: frozenset[str] | None
) -> list[InventoryEntry]:
    """The entries repository-scope policies see: of `kinds` only (None: all). A full scan
    and a pull request (which reads only blobs that can hold these kinds) see the same."""
    if kinds is None:
        return list(inventory)
    return [entry for entry in inventory if entry.kind in kinds]
