"""Rancher Fleet's `kustomize.dir` built over the bundle's Helm chart, as Fleet builds it.

A Fleet bundle (fleet.yaml) that releases a chart and names a kustomize folder (`kustomize.dir`,
for the bundle or per `targetCustomizations[]` entry) deploys neither the chart's output nor
that folder built alone: Fleet writes the chart's output as `fleet-manifests.yaml` into the
folder, puts it first in its kustomization's `resources` and deploys the build (Fleet's
helmdeployer/kustomize). Built alone, the overlay's patches find nothing to patch: a kustomize
error on every pull request, or, for a patch by selector, no change at all, so a `hostPID: true`
patch on the chart's Deployment went unjudged. Here the overlay is built over the rendered
chart the same way, and each built object is located where its fields are written: a patched
field at the patch, any other in the chart's template (through the rendered object's own
locator).
"""

from __future__ import annotations

import bisect
import dataclasses
import posixpath
import re
from typing import Any

import yaml

from gatekeeper import lazy_re, ownership
from gatekeeper.document import Document, Loaded, Location, Locator
from gatekeeper.fieldpath import Path
from gatekeeper.sources import LoadContext
from gatekeeper.sources.names import FLEET_FILES
from gatekeeper.tree import Tree
from gatekeeper.yamldoc import YamlDocument, decode, load_all

MANIFESTS = "fleet-manifests.yaml"
KUSTOMIZATION = "kustomization.yaml"  # the only name Fleet looks for


def overlay_dir(folder: str, obj: Any, target: Any = None) -> str:
    """The kustomize folder the bundle in `folder` (or one of its targets, which overrides
    it) builds, as a repository path; "" for none."""
    own = target.get("kustomize") if isinstance(target, dict) else None
    chosen = own if isinstance(own, dict) and own.get("dir") else obj.get("kustomize")
    written = chosen.get("dir") if isinstance(chosen, dict) else None
    if not isinstance(written, str) or not written.strip():
        return ""
    joined = posixpath.normpath(posixpath.join(folder, written))
    return "" if joined.startswith("..") or joined.startswith("/") else joined


def built_by_fleet(kustomization: str, tree: Tree) -> bool:
    """Is this kustomization the `kustomize.dir` of a Fleet bundle whose chart is in this
    repository? Then the bundle's fleet.yaml builds it over the chart (see built_over), and
    it is not built alone."""
    bundle = _overlaid_bundle(kustomization, tree)
    return bundle is not None and _local_chart(*bundle, tree)


def remote_chart(kustomization: str, tree: Tree) -> tuple[str, str] | None:
    """The bundle file and chart, when this kustomization is the `kustomize.dir` of a Fleet
    bundle whose chart Fleet downloads (`helm.repo`, a URL): Fleet builds the folder over
    that chart's output, which is not here. Built alone, its patches have nothing to patch:
    fleet-examples' helm-kustomize overlays were kustomize errors ("no matches for Id
    Deployment.v1.apps/frontend") that said nothing of why or what to do."""
    bundle = _overlaid_bundle(kustomization, tree)
    helm = bundle[1].get("helm") if bundle is not None else None
    if bundle is None or not isinstance(helm, dict):
        return None
    chart = helm.get("chart")
    if helm.get("repo"):
        return bundle[0], f"{chart} of {helm['repo']}"
    if isinstance(chart, str) and "://" in chart:
        return bundle[0], chart
    return None


def _overlaid_bundle(kustomization: str, tree: Tree) -> tuple[str, dict[str, Any]] | None:
    """The Fleet bundle (its file and object) whose `kustomize.dir`, or a target's, is this
    kustomization's folder: the nearest bundle file above it; None if it names another."""
    if posixpath.basename(kustomization) != KUSTOMIZATION:
        return None
    overlay = posixpath.dirname(kustomization)
    # The nearest bundle file (each folder asked once a run, not once per kustomization).
    for bundle in ownership.of(tree).files_above(overlay, _FLEET_NAMES)[:1]:
        above = posixpath.dirname(bundle)
        obj = _bundle(tree, bundle)
        if obj is None:
            return None
        targets = obj.get("targetCustomizations")
        dirs = {overlay_dir(above, obj)} | {
            overlay_dir(above, obj, target)
            for target in (targets if isinstance(targets, list) else [])
        }
        return (bundle, obj) if overlay in dirs else None
    return None


_FLEET_NAMES = tuple(sorted(FLEET_FILES))  # fleet.yaml before fleet.yml, in every run


def _bundle(tree: Tree, path: str) -> dict[str, Any] | None:
    try:
        entries = list(load_all(path, decode(tree.read(path))))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    for entry in entries:
        if isinstance(entry, YamlDocument) and isinstance(entry.obj, dict):
            return entry.obj
    return None


def _local_chart(bundle: str, obj: dict[str, Any], tree: Tree) -> bool:
    """Does the bundle release a chart of this repository (what release_files renders)?"""
    helm = obj.get("helm")
    if not isinstance(helm, dict) and not obj.get("targetCustomizations"):
        return False
    helm = helm if isinstance(helm, dict) else {}
    chart = helm.get("chart")
    if helm.get("repo") or (isinstance(chart, str) and "://" in chart):
        return False
    ref = chart if isinstance(chart, str) and chart else "."
    folder = posixpath.normpath(posixpath.join(posixpath.dirname(bundle), ref))
    return tree.exists(posixpath.join(folder, "Chart.yaml") if folder != "." else "Chart.yaml")


def built_over(overlay: str, rendered: Loaded, context: LoadContext) -> Loaded:
    """The build of the `overlay` folder with the chart's rendered objects first in its
    resources, as Fleet deploys it; `rendered` itself when the folder holds no
    kustomization.yaml (Fleet then deploys the chart's output as it is)."""
    from gatekeeper.sources import kustomize

    path = posixpath.join(overlay, KUSTOMIZATION)
    tree = context.tree
    if not tree.exists(path):
        return rendered
    manifests = posixpath.join(overlay, MANIFESTS)
    text, starts = _manifests(rendered.documents)
    original = decode(tree.read(path))
    edited, inserted = _with_manifests(original)
    overlaid = _Overlaid(tree, {path: edited.encode(), manifests: text.encode()})
    overlaid_context = dataclasses.replace(context, tree=overlaid)
    built = kustomize.load(path, edited.encode(), overlaid_context, alone=False)
    for document in built.documents:
        document.locator = _Relocated(
            document.locator, manifests, starts, rendered.documents, path, inserted
        )
    # What keeps the chart from rendering at all is said by the chart's own scan.
    built.problems[:0] = [p for p in rendered.problems if p.code != "GK-RENDER-ERROR"]
    return built


def _manifests(documents: list[Document]) -> tuple[str, list[int]]:
    """The rendered objects as one YAML stream, and the line each begins at."""
    parts, starts, line = [], [], 1
    for document in documents:
        text = yaml.safe_dump(document.obj, sort_keys=False, default_flow_style=False)
        parts.append(f"---\n{text}")
        starts.append(line + 1)
        line += 1 + text.count("\n")
    return "".join(parts), starts


_RESOURCES = lazy_re.compile(r"^resources:[ \t]*(.*)$", re.MULTILINE)


def _with_manifests(text: str) -> tuple[str, int]:
    """The kustomization with MANIFESTS first in its resources, and the line inserted for
    it (0 when no line was: every other line is where it was)."""
    found = _RESOURCES.search(text)
    if found is None:
        return f"{text.rstrip(chr(10))}\nresources:\n- {MANIFESTS}\n", 0
    rest = found.group(1)
    if rest.startswith("["):  # a flow sequence: the same line
        line = f"resources: [{MANIFESTS}, {rest[1:]}"
        return text[: found.start()] + line + text[found.end() :], 0
    number = text.count("\n", 0, found.start()) + 1
    lines = text.split("\n")
    following = lines[number] if number < len(lines) else ""
    indent = following[: len(following) - len(following.lstrip())]
    if not following.lstrip().startswith("-"):
        indent = ""
    lines.insert(number, f"{indent}- {MANIFESTS}")
    return "\n".join(lines), number + 1


class _Overlaid:
    """A tree with some files replaced or added (the edited kustomization, the chart's
    output): what Fleet's in-memory file system holds for the build."""

    def __init__(self, tree: Tree, files: dict[str, bytes]) -> None:
        self.tree = tree
        self.files = files

    def read(self, path: str) -> bytes:
        normal = posixpath.normpath(path)
        if normal in self.files:
            return self.files[normal]
        return self.tree.read(path)

    def exists(self, path: str) -> bool:
        return posixpath.normpath(path) in self.files or self.tree.exists(path)

    def list_dir(self, path: str) -> list[str]:
        prefix = "" if path in ("", ".") else posixpath.normpath(path).rstrip("/") + "/"
        added = [name for name in self.files if name.startswith(prefix)]
        return sorted(set(self.tree.list_dir(path)) | set(added))


class _Relocated:
    """A built object's locator, with a place in the chart's output moved to where the chart
    writes it, and a place in the edited kustomization to the line it has in the file."""

    def __init__(
        self,
        inner: Locator,
        manifests: str,
        starts: list[int],
        rendered: list[Document],
        kustomization: str,
        inserted: int,
    ) -> None:
        self.inner = inner
        self.manifests = manifests
        self.starts = starts
        self.rendered = rendered
        self.kustomization = kustomization
        self.inserted = inserted

    def locate(self, path: Path) -> Location:
        found = self.inner.locate(path)
        if found.file == self.manifests:
            index = bisect.bisect_right(self.starts, found.line) - 1
            if 0 <= index < len(self.rendered):
                return self.rendered[index].locator.locate(path)
        if found.file == self.kustomization and self.inserted and found.line >= self.inserted:
            return found._replace(line=max(found.line - 1, 1))
        return found
