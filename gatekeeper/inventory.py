"""A small summary of every object in a scan, for repository-scope policies.

Workers send these back instead of whole documents; a NetworkPolicy-per-namespace rule needs
to see every object of the repository, not only the one it is judging.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from gatekeeper.document import Document


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
