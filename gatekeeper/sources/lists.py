"""The objects a list holds, as kubectl and Helm apply them.

cli-runtime's FlattenListVisitor (kubectl apply, Helm's kube client) applies the items of any
object whose `items` is a list, and puts an item that is a list itself back on its queue: a
`kind: List` inside a `kind: List` creates what the inner one holds, to any depth. Taking one
level only left a privileged DaemonSet two lists deep unjudged (red team round 6, w01).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any

from gatekeeper.fieldpath import Path


def is_list(obj: dict[str, Any]) -> bool:
    """Whether kubectl, Argo CD and Helm apply the object's `items` instead of it: any object
    whose `items` is a list is a list to them (apimachinery's IsList), whatever its kind, so
    a `kind: ConfigMap` with a privileged Pod in `items` creates the Pod."""
    return obj.get("kind") == "List" or isinstance(obj.get("items"), list)


def list_items(obj: dict[str, Any]) -> Iterator[tuple[Path, Any]]:
    """Each item of the list `obj` with its path in it, in kubectl's order (breadth first):
    an item that is a list itself gives its own items instead, at any depth."""
    queue: deque[tuple[Path, Any]] = deque(_items((), obj))
    while queue:
        path, item = queue.popleft()
        if isinstance(item, dict) and is_list(item):
            queue.extend(_items(path, item))
        else:
            yield path, item


def flattened(objects: list[Any]) -> Iterator[Any]:
    """The objects with each list among them replaced by what it holds (see list_items)."""
    for obj in objects:
        if isinstance(obj, dict) and is_list(obj):
            yield from (item for _, item in list_items(obj))
        else:
            yield obj


def _items(path: Path, obj: dict[str, Any]) -> Iterator[tuple[Path, Any]]:
    for index, item in enumerate(obj.get("items") or []):
        yield (*path, "items", index), item
