"""A small summary of every object in a scan, for repository-scope policies.

Workers send these back instead of whole documents; a NetworkPolicy-per-namespace rule needs
to see every object of the repository, not only the one it is judging.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from gatekeeper.document import Document

if TYPE_CHECKING:
    from gatekeeper.evaluate import Engine


class InventoryEntry(NamedTuple):
    source: str
    api_version: str
    kind: str
    namespace: str
    name: str
    labels: dict[str, str]
    file: str
    line: int
    variant: str = ""  # the overlay or release that rendered it (Document.extra["variant"])

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


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def entry(document: Document) -> InventoryEntry:
    obj = _mapping(document.obj)
    metadata = _mapping(obj.get("metadata"))
    labels = _mapping(metadata.get("labels"))
    location = document.locator.locate(("metadata", "namespace"))
    return InventoryEntry(
        source=document.source,
        api_version=str(obj.get("apiVersion", "")),
        kind=document.kind,
        namespace=document.namespace,
        name=document.name,
        labels={str(k): str(v) for k, v in labels.items()},
        file=location.file,
        line=location.line,
        variant=str(document.extra.get("variant") or ""),
    )


def counted_kinds(engine: Engine) -> frozenset[str] | None:
    """The kinds repository-scope policies read: their subjects' kinds (match.kinds, every
    workload kind for a Pod policy) and the kinds each rule counts (`inventoryKinds`, with the
    run's params). None when a policy does not declare what it counts: then every kind."""
    from gatekeeper.policy.cel import CelError
    from gatekeeper.workloads import WORKLOAD_KINDS

    kinds: set[str] = set()
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
