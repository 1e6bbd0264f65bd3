"""Kubernetes manifests: multi-document YAML (and JSON), `kind: List` expanded."""

from __future__ import annotations

import posixpath
from typing import Any

from gatekeeper.document import Document, Loaded, Problem
from gatekeeper.fieldpath import Path
from gatekeeper.sources import LoadContext
from gatekeeper.yamldoc import (
    NodeLocator,
    YamlDocument,
    check_bytes,
    decode,
    duplicate_key_problems,
    load_all,
)

NAME = "kubernetes"

_EXTENSIONS = (".yaml", ".yml", ".json")
# YAML files that are some other tool's configuration, never manifests.
_NOT_MANIFESTS = frozenset(
    {
        "chart.yaml",
        "chart.lock",
        "kustomization.yaml",
        "kustomization.yml",
        ".gatekeeper.yml",
        ".gatekeeper.yaml",
        "gatekeeper.lock",
        ".pre-commit-config.yaml",
        ".pre-commit-hooks.yaml",
        ".yamllint",
        ".yamllint.yaml",
        "package.json",
        "package-lock.json",
        "tsconfig.json",
        "composer.json",
    }
)


def detect(path: str) -> bool:
    name = posixpath.basename(path).lower()
    if not name.endswith(_EXTENSIONS) or name in _NOT_MANIFESTS:
        return False
    parts = path.split("/")
    # Helm chart templates and values are Go templates, not manifests.
    return not ("templates" in parts[:-1] or (name.startswith("values") and "charts" in parts))


def _in_chart(path: str, context: LoadContext) -> bool:
    from gatekeeper.sources.helm import in_chart
    from gatekeeper.sources.kustomize import is_patch

    return in_chart(path, context.tree) or is_patch(path, context.tree)


def _expand_applications(path: str, loaded: Loaded, context: LoadContext) -> None:
    """Argo CD Applications deploying from this repository bring what they deploy."""
    from gatekeeper.sources import gitops

    for document in list(loaded.documents):
        if gitops.is_expandable(document.obj):
            expanded = gitops.expand(path, document, context)
            loaded.documents.extend(expanded.documents)
            loaded.problems.extend(expanded.problems)


def is_object(obj: Any) -> bool:
    return isinstance(obj, dict) and "kind" in obj and "apiVersion" in obj


def load(path: str, data: bytes, context: LoadContext | None = None) -> Loaded:
    loaded = Loaded()
    if context is not None and _in_chart(path, context):
        return loaded  # a chart's file or an overlay's patch: rendered by helm/kustomize
    problem = check_bytes(path, data)
    if problem is not None:
        loaded.problems.append(problem)
        return loaded
    others: list[YamlDocument] = []
    for index, entry in enumerate(load_all(path, decode(data))):
        if isinstance(entry, Problem):
            loaded.problems.append(entry)
            continue
        loaded.problems.extend(duplicate_key_problems(path, entry))
        if is_object(entry.obj):
            _add(loaded, path, entry, index)
        elif entry.obj is not None:
            others.append(entry)
    if context is not None:
        _expand_applications(path, loaded, context)
    if loaded.documents or loaded.problems:
        # In a file of manifests, a document that is not an object is an error, not noise.
        for entry in others:
            line = entry.node.start_mark.line + 1
            what = "an object" if not isinstance(entry.obj, dict) else "a Kubernetes object"
            missing = [
                key
                for key in ("apiVersion", "kind")
                if isinstance(entry.obj, dict) and key not in entry.obj
            ]
            detail = (
                f" (missing {', '.join(missing)})" if missing else f" ({type(entry.obj).__name__})"
            )
            loaded.problems.append(
                Problem("GK-NOT-AN-OBJECT", path, line, f"document is not {what}{detail}")
            )
    return loaded


def _add(loaded: Loaded, path: str, entry: YamlDocument, index: int) -> None:
    locator = NodeLocator(path, entry.node)
    obj = entry.obj
    if obj.get("kind") == "List" or (
        str(obj.get("kind", "")).endswith("List") and isinstance(obj.get("items"), list)
    ):
        for item_index, item in enumerate(obj.get("items") or []):
            item_path: Path = ("items", item_index)
            if is_object(item):
                loaded.documents.append(
                    make_document(path, item, _SubLocator(locator, item_path), index)
                )
            else:
                line = locator.locate(item_path).line
                loaded.problems.append(
                    Problem("GK-NOT-AN-OBJECT", path, line, "List item is not a Kubernetes object")
                )
        return
    loaded.documents.append(make_document(path, obj, locator, index))


def make_document(path: str, obj: dict[str, Any], locator: Any, index: int) -> Document:
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        metadata = {}
    return Document(
        source=NAME,
        file=path,
        obj=obj,
        locator=locator,
        index=index,
        kind=str(obj.get("kind", "")),
        namespace=str(metadata.get("namespace") or ""),
        name=str(metadata.get("name") or metadata.get("generateName") or ""),
    )


class _SubLocator:
    """A locator for an object nested in another (a List item)."""

    def __init__(self, parent: NodeLocator, prefix: Path) -> None:
        self.parent = parent
        self.prefix = prefix

    def locate(self, path: Path):  # type: ignore[no-untyped-def]
        return self.parent.locate((*self.prefix, *path))
