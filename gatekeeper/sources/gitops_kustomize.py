"""A deployer's own kustomize edits: what Argo CD's `source.kustomize` and a Flux
Kustomization's `patches`, `images` and `components` add to the kustomization they build.

Both deployers write these into the kustomization at their path before building it (Flux
writes one listing every manifest when there is none), so a patch written in the deployer
(`privileged: true`), an image retagged to `latest` or a component added there is applied to
the cluster without touching the kustomization itself. They are built here as an overlay of
the path, inside a view of the tree that holds it; what the overlay adds is located at the
deployer's own field.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass, field, replace
from typing import Any

from gatekeeper.document import Loaded, Location, Problem
from gatekeeper.fieldpath import Path
from gatekeeper.sources import LoadContext
from gatekeeper.tree import Tree

# Where the overlay sits, as the deployer's path below this folder (no repository file is).
OVERLAY = ".gatekeeper-deployer"
# Fields a deployer may add, in the order they are written; each maps to its kustomization key.
FIELDS = (
    "namespace",
    "namePrefix",
    "nameSuffix",
    "images",
    "replicas",
    "commonLabels",
    "labels",
    "commonAnnotations",
    "patches",
    "patchesStrategicMerge",
    "patchesJson6902",
    "components",
)


@dataclass
class Edits:
    """Kustomization fields a deployer adds, each with the deployer's line for it."""

    file: str  # the deployer's file
    fields: dict[str, Any] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # a field set in another file

    def add(self, key: str, value: Any, line: int, file: str = "") -> None:
        self.fields[key] = value
        self.lines[key] = line
        if file and file != self.file:
            self.files[key] = file


class _WithFiles:
    """The tree with a few more files (the overlay, a kustomization a deployer generates).
    `added_to` names the tree it views: what is indexed of that tree holds for this view
    with these files' objects added (flux._by_name)."""

    def __init__(self, tree: Tree, extra: dict[str, bytes]) -> None:
        self.tree = tree
        self.extra = extra

    @property
    def added_to(self) -> Tree:
        return self.tree

    def read(self, path: str) -> bytes:
        name = posixpath.normpath(path)
        return self.extra[name] if name in self.extra else self.tree.read(path)

    def exists(self, path: str) -> bool:
        return posixpath.normpath(path) in self.extra or self.tree.exists(path)

    def list_dir(self, path: str) -> list[str]:
        prefix = "" if path in ("", ".") else posixpath.normpath(path).rstrip("/") + "/"
        added = [name for name in self.extra if name.startswith(prefix)]
        return sorted({*self.tree.list_dir(path), *added})


class _Relocated:
    """A built document's locator, with what the overlay wrote pointed at the deployer."""

    def __init__(self, inner: Any, overlay: str, lines: dict[int, tuple[str, int]]) -> None:
        self.inner = inner
        self.overlay = overlay
        self.lines = lines

    def locate(self, path: Path) -> Location:
        location: Location = self.inner.locate(path)
        if location.file != self.overlay:
            return location
        return Location(*_line(self.lines, location.line), exact=False)


def _line(lines: dict[int, tuple[str, int]], line: int) -> tuple[str, int]:
    """The deployer's file and line for a line of the overlay: the nearest field's above."""
    first = min(lines.values(), key=lambda place: place[1])
    return next((lines[n] for n in sorted(lines, reverse=True) if n <= line), first)


def build(path: str, kustomizations: tuple[str, ...], edits: Edits, context: LoadContext) -> Loaded:
    """The kustomization at directory `path` (or, without one, every manifest below it) built
    with the deployer's edits."""
    from gatekeeper.sources import kustomize

    tree = context.tree
    extra: dict[str, bytes] = {}
    base = next(
        (c for c in (posixpath.join(path, n) for n in kustomizations) if tree.exists(c)), None
    )
    if base is None:  # as Flux: the kustomization it generates (flux.generated)
        from gatekeeper.sources.flux import generated

        resources = [
            posixpath.relpath(posixpath.dirname(f), path)
            if posixpath.basename(f) in kustomizations
            else posixpath.relpath(f, path)
            for f in generated(tree, path)
        ]
        base = posixpath.join(path, "kustomization.yaml")
        extra[base] = json.dumps({"resources": resources}).encode()
    # Beside the tree, not below the path: kustomize refuses a base that holds its overlay.
    overlay = posixpath.normpath(posixpath.join(OVERLAY, path, "kustomization.yaml"))
    text, lines = _overlay_text(posixpath.relpath(path, posixpath.dirname(overlay)), edits)
    extra[overlay] = text.encode()
    view = LoadContext(tree=_WithFiles(tree, extra), options=context.options)
    built = kustomize.load(overlay, extra[overlay], view)
    loaded = Loaded(problems=list(edits.problems))
    for document in built.documents:
        document.locator = _Relocated(document.locator, overlay, lines)
        if document.file == overlay:
            document.file = edits.file
        loaded.documents.append(document)
    for problem in built.problems:
        if problem.file == overlay:
            file, line = _line(lines, problem.line)
            problem = replace(problem, file=file, line=line)
        loaded.problems.append(problem)
    return loaded


def _overlay_text(base: str, edits: Edits) -> tuple[str, dict[int, tuple[str, int]]]:
    """The overlay's YAML (one JSON value a line) and, for each of its lines, the file and
    line of the deployer's field it came from."""
    rows = [f"resources: [{json.dumps(base)}]"]
    lines: dict[int, tuple[str, int]] = {}
    for key in FIELDS:
        if key not in edits.fields:
            continue
        lines[len(rows) + 1] = (edits.files.get(key, edits.file), edits.lines[key])
        rows.append(f"{key}: {json.dumps(edits.fields[key])}")
    return "\n".join(rows) + "\n", lines or {1: (edits.file, min(edits.lines.values(), default=1))}


def components(values: list[Any], path: str) -> list[Any]:
    """Component paths of a deployer (relative to its path), as the overlay names them."""
    up = posixpath.relpath(path, posixpath.join(OVERLAY, path))
    return [posixpath.join(up, value) if isinstance(value, str) else value for value in values]


def inline_patches(values: list[Any], path: str, tree: Tree) -> tuple[list[Any], list[str]]:
    """Patches as the overlay writes them: a `path:` patch (Argo CD, relative to the
    deployer's path) read into an inline `patch:`; and the patch files that were not read."""
    out: list[Any] = []
    missing: list[str] = []
    for value in values:
        if isinstance(value, dict) and isinstance(value.get("path"), str):
            name = posixpath.normpath(posixpath.join(path, value["path"]))
            try:
                text = tree.read(name).decode("utf-8")
            except (OSError, UnicodeDecodeError):
                missing.append(name)
                continue
            value = {k: v for k, v in value.items() if k != "path"} | {"patch": text}
        out.append(value)
    return out, missing


def argo_images(values: list[Any]) -> list[Any]:
    """Argo CD's `kustomize.images` (`[old=]new:tag`, `[old=]new@digest`, as `kustomize edit
    set image` reads them) as kustomization `images:` entries."""
    out: list[Any] = []
    for value in values:
        if not isinstance(value, str):
            out.append(value)  # kustomize reports what it cannot read
            continue
        old, equals, new = value.partition("=")
        if not equals:
            new = old
        name, tag, digest = _split_image(new)
        entry: dict[str, str] = {"name": _split_image(old)[0] if equals else name}
        if name != entry["name"]:
            entry["newName"] = name
        if digest:
            entry["digest"] = digest
        elif tag:
            entry["newTag"] = tag
        out.append(entry)
    return out


def _split_image(image: str) -> tuple[str, str, str]:
    """(name, tag, digest) of `registry:5000/app:1.2` or `app@sha256:...`."""
    name, _, digest = image.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1 :], digest
    return name, "", digest


_MISSING = object()


class _PostRendered:
    """A rendered document's locator after a post-renderer patched it: a field the patch
    changed (or added) is at the deployer's field, the rest where the chart wrote it."""

    def __init__(self, inner: Any, before: Any, after: Any, file: str, line: int) -> None:
        self.inner = inner
        self.before = before
        self.after = after
        self.file = file
        self.line = line

    def locate(self, path: Path) -> Location:
        for depth in range(len(path), -1, -1):
            before = _at(self.before, path[:depth])
            if before is not _MISSING:
                if before != _at(self.after, path[:depth]):
                    return Location(self.file, self.line, exact=False)
                location: Location = self.inner.locate(path)
                return location
        return Location(self.file, self.line, exact=False)


def _at(obj: Any, path: Path) -> Any:
    for key in path:
        in_map = isinstance(key, str) and isinstance(obj, dict) and key in obj
        in_list = isinstance(key, int) and isinstance(obj, list) and -len(obj) <= key < len(obj)
        if not (in_map or in_list):
            return _MISSING
        obj = obj[key]
    return obj


def _identity(obj: Any) -> tuple[str, str, str]:
    metadata = obj.get("metadata") if isinstance(obj, dict) else None
    metadata = metadata if isinstance(metadata, dict) else {}
    kind = str(obj.get("kind", "")) if isinstance(obj, dict) else ""
    return kind, str(metadata.get("namespace") or ""), str(metadata.get("name") or "")


def post_render(rendered: Loaded, edits: Edits, name: str, context: LoadContext) -> Loaded:
    """Rendered documents after a deployer's kustomize post-renderer (a Flux HelmRelease's
    `postRenderers[].kustomize`): built as kustomize builds them, each kept at the chart's
    lines except for what the patches changed, which is at the deployer's field."""
    from gatekeeper.sources import kustomize

    folder = posixpath.join(OVERLAY, "post-rendered", name or "release")
    resources = posixpath.join(folder, "rendered.yaml")
    texts = [json.dumps(document.obj) for document in rendered.documents]
    extra = {resources: "\n---\n".join(texts).encode()}
    overlay = posixpath.join(folder, "kustomization.yaml")
    text, lines = _overlay_text("rendered.yaml", edits)
    extra[overlay] = text.encode()
    view = LoadContext(tree=_WithFiles(context.tree, extra), options=context.options)
    built = kustomize.load(overlay, extra[overlay], view)
    loaded = Loaded(problems=[*rendered.problems, *edits.problems])
    for problem in built.problems:
        if problem.file in extra:
            problem = replace(problem, file=edits.file, line=_line(lines, problem.line)[1])
        loaded.problems.append(problem)
    if built.problems and not built.documents:
        return loaded
    originals: dict[tuple[str, str, str], list[Any]] = {}
    for document in rendered.documents:
        originals.setdefault(_identity(document.obj), []).append(document)
    line = min(line for _, line in lines.values())
    for made in built.documents:
        matches = originals.get(_identity(made.obj)) or []
        if matches:
            document = matches.pop(0)
            document.locator = _PostRendered(
                document.locator, document.obj, made.obj, edits.file, line
            )
            document.obj = made.obj
        else:  # a name the patches changed, or an object they made: all at the deployer
            document = made
            document.file = edits.file
            document.locator = _PostRendered(None, {}, made.obj, edits.file, line)
        loaded.documents.append(document)
    return loaded
