"""Argo CD's parameter overrides kept in git: `.argocd-source.yaml` and
`.argocd-source-<app>.yaml` in an Application's path.

Argo CD's repo server reads them before it renders a source and merges each over the source
as a JSON merge patch (RFC 7386): Argo CD Image Updater writes its image changes there, and a
pull request can write `helm.parameters` or `kustomize.patches` there as well as in the
Application. What a source deploys is judged with them, each field located in the file that
set it.
"""

from __future__ import annotations

import copy
import dataclasses
import posixpath
from typing import Any

from gatekeeper.document import Document, Location, Locator, Problem
from gatekeeper.fieldpath import Path
from gatekeeper.tree import Tree
from gatekeeper.yamldoc import NodeLocator, YamlDocument, check_bytes, decode, load_all

SHARED = ".argocd-source.yaml"
# Fields Argo CD keeps from the Application whatever an override says.
_KEPT = ("chart", "path", "repoURL", "targetRevision")


def files(path: str, document: Document) -> list[str]:
    """The override files Argo CD reads for the Application `document` at `path`, in order:
    the shared one, then the Application's own, named by the Application's name (`<namespace>_
    <name>` for an Application outside Argo CD's own namespace, which is not known here: both
    are read)."""
    names = [SHARED, f".argocd-source-{document.name}.yaml"]
    metadata = document.obj.get("metadata")
    namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
    if isinstance(namespace, str) and namespace:
        names.append(f".argocd-source-{namespace}_{document.name}.yaml")
    return [posixpath.join(path, name) if path != "." else name for name in names]


def apply(
    document: Document, where: Path, source: dict[str, Any], path: str, tree: Tree
) -> tuple[Document, dict[str, Any], list[Problem]] | None:
    """The Application and its source at `where` with the overrides at `path` merged, and
    the problems reading them; None when there is no override file. An override Argo CD
    cannot read fails the render: nothing is deployed, which is said at its file."""
    merged: Any = source
    locators: list[NodeLocator] = []
    problems: list[Problem] = []
    for name in files(path, document):
        if not tree.exists(name):
            continue
        data = tree.read(name)
        problem = check_bytes(name, data)
        entries = [problem] if problem is not None else list(load_all(name, decode(data)))
        bad = [e for e in entries if isinstance(e, Problem)]
        found = [e for e in entries if isinstance(e, YamlDocument)]
        if bad or len(found) > 1 or (found and not isinstance(found[0].obj, (dict, type(None)))):
            problems.extend(bad or [Problem("GK-PARSE-ERROR", name, 1, _NOT_A_MAP)])
            continue
        if not found or found[0].obj is None:
            continue
        merged = merge_patch(merged, found[0].obj)
        locators.append(NodeLocator(name, found[0].node))
    if not locators and not problems:
        return None
    if not isinstance(merged, dict):
        merged = {}
    for key in _KEPT:
        merged.pop(key, None)
        if key in source:
            merged[key] = source[key]
    obj = copy.deepcopy(document.obj)
    holder: Any = obj
    for step in where[:-1]:
        holder = holder[step]
    holder[where[-1]] = merged
    locator = _Overridden(document.locator, where, locators)
    return dataclasses.replace(document, obj=obj, locator=locator), merged, problems


_NOT_A_MAP = "Argo CD reads a parameter override file as one map of source fields"


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: a map patch merges key by key (null removes), anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


class _Overridden:
    """The Application's locator, with the fields an override file set at that file's
    lines (the last file that has a field wins, as in the merge)."""

    def __init__(self, inner: Locator, where: Path, overrides: list[NodeLocator]) -> None:
        self.inner = inner
        self.where = tuple(where)
        self.overrides = overrides

    def locate(self, path: Path) -> Location:
        rest = tuple(path[len(self.where) :])
        if tuple(path[: len(self.where)]) == self.where and rest and rest[0] not in _KEPT:
            for override in reversed(self.overrides):
                if override.node_at(rest) is not None:
                    return override.locate(rest)
        return self.inner.locate(path)
