"""The patches of a kustomize build, each with where its text is, for locating findings.

Strategic-merge patches (files, or inline under `patches:`/`patchesStrategicMerge:`) and
JSON6902 operations (files, or inline `patch: |` lists, `patchesJson6902:`) of every
kustomization in a build (the overlay's, its bases', its components'), in the order kustomize
applies them. Inline text is located inside the kustomization file that holds it.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from typing import Any, NamedTuple

from yaml.nodes import ScalarNode

from gatekeeper.fieldpath import Path
from gatekeeper.tree import Tree
from gatekeeper.yamldoc import NodeLocator, YamlDocument, decode, load_all


class Patch(NamedTuple):
    locator: NodeLocator  # the patch's own text: a file, or an inline block of a kustomization
    obj: Any  # a (partial) object, or a list of JSON6902 operations
    target: dict[str, Any] | None  # `target:` of the kustomization entry, if any
    operations: bool  # JSON6902


def collect(
    kustomizations: Iterable[str], tree: Tree, known: dict[str, list[Patch]] | None = None
) -> list[Patch]:
    """The patches of these kustomizations, in order. `known`: each kustomization's patches
    read before (kept with the builds' parse cache): the overlays of a base all list the
    base's, and locators only read them."""
    found: list[Patch] = []
    for file in kustomizations:
        own = known.get(file) if known is not None else None
        if own is None:
            own = own_patches(tree, file)
            if known is not None:
                known[file] = own
        found.extend(own)
    return found


def own_patches(tree: Tree, file: str) -> list[Patch]:
    """The patches the kustomization `file` itself names (in files, or inline)."""
    found: list[Patch] = []
    try:
        entries = list(load_all(file, decode(tree.read(file))))
    except (OSError, UnicodeDecodeError):
        return found
    document = next((e for e in entries if isinstance(e, YamlDocument)), None)
    if document is None or not isinstance(document.obj, dict):
        return found
    own = NodeLocator(file, document.node)
    directory = posixpath.dirname(file)
    for key in ("patchesStrategicMerge", "patches", "patchesJson6902"):
        listed = document.obj.get(key)
        for index, written in enumerate(listed if isinstance(listed, list) else []):
            entry = written
            if isinstance(entry, str):
                entry = {"path": entry} if "\n" not in entry else {"patch": entry}
            if not isinstance(entry, dict):
                continue
            target = entry.get("target") if isinstance(entry.get("target"), dict) else None
            if isinstance(entry.get("path"), str):
                patch_file = posixpath.normpath(posixpath.join(directory, entry["path"]))
                found.extend(from_file(patch_file, tree, target))
            elif isinstance(entry.get("patch"), str):
                # `patchesStrategicMerge: ["<yaml>"]` is the string itself; else `patch:`
                inline: Path = (key, index) if isinstance(written, str) else (key, index, "patch")
                found.extend(_inline(file, entry["patch"], own.node_at(inline), target))
    return found


def from_file(file: str, tree: Tree, target: dict[str, Any] | None) -> list[Patch]:
    """The patches of a patch file, for the objects `target` selects (None: by their id)."""
    try:
        text = decode(tree.read(file))
    except (OSError, UnicodeDecodeError):
        return []
    return _patches(file, text, 0, target)


def _inline(file: str, text: str, node: Any, target: dict[str, Any] | None) -> list[Patch]:
    if not isinstance(node, ScalarNode):
        return []
    # A block scalar's text starts on the line after its indicator; a quoted one on its own.
    base = node.start_mark.line + (1 if node.style in ("|", ">") else 0)
    return _patches(file, text, base, target)


def _patches(file: str, text: str, base: int, target: dict[str, Any] | None) -> list[Patch]:
    out = []
    for entry in load_all(file, text):
        if not isinstance(entry, YamlDocument) or entry.obj is None:
            continue
        locator = NodeLocator(file, entry.node, base)
        operations = isinstance(entry.obj, list)
        out.append(Patch(locator, entry.obj, target, operations))
    return out


def targets(patch: Patch, kind: str, names: Iterable[str]) -> bool:
    """Does the patch apply to an object of `kind` named one of `names`?"""
    names = [name for name in names if name]
    target = patch.target
    if target is None:
        if patch.operations or not isinstance(patch.obj, dict):
            return False
        metadata = patch.obj.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        return patch.obj.get("kind") == kind and name in names
    if target.get("kind") not in (None, kind):
        return False
    wanted = target.get("name")
    if wanted is None:
        return True
    return any(name == wanted or _regex_match(str(wanted), name) for name in names)


def _regex_match(pattern: str, name: str) -> bool:
    try:
        return re.fullmatch(pattern, name) is not None
    except re.error:
        return False


def pointer(text: str) -> Path:
    """A JSON pointer (`/spec/containers/0/image`) as a field path; `-` (append) stays `-`."""
    parts: list[str | int] = []
    for raw in text.split("/")[1:]:
        part = raw.replace("~1", "/").replace("~0", "~")
        parts.append(int(part) if part.isdigit() else part)
    return tuple(parts)
