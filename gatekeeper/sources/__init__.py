"""Source adapters: one module per file format, each with the same small protocol.

An adapter module defines:
    NAME: str                                   the source type policies match on
    detect(path: str) -> bool                   does this adapter own the file? (path only, cheap)
    load(path: str, data: bytes, context: LoadContext) -> Loaded
                                                documents and problems of one file; the context
                                                gives the whole tree (for charts, overlays) and
                                                this source's options from .gatekeeper.yml

Adapters are asked in registry order; the first whose `detect` is true owns the file.
Optional heavy dependencies are imported inside `load`, so the CLI starts fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Protocol

from gatekeeper.document import Loaded
from gatekeeper.tree import MemoryTree, Tree, WorkTree


@dataclass
class LoadContext:
    tree: Tree = field(default_factory=lambda: MemoryTree({}))
    # .gatekeeper.yml `sources:` section: source name -> that source's options.
    options: dict[str, dict[str, Any]] = field(default_factory=dict)

    def options_for(self, source: str) -> dict[str, Any]:
        return self.options.get(source, {})


def reader(tree: Tree, path: str, data: bytes) -> Callable[[str], bytes | None]:
    """A repository file's content by path, `data` for `path` itself; None when it cannot be
    read (outside the repository, missing, not a regular file)."""

    def read(name: str) -> bytes | None:
        if name == path:
            return data
        try:
            return tree.read(name)
        except (OSError, ValueError):
            return None

    return read


class Source(Protocol):
    NAME: str

    def detect(self, path: str) -> bool: ...

    def load(self, path: str, data: bytes, context: LoadContext) -> Loaded: ...


# Order matters: specific formats before the generic Kubernetes YAML catch-all.
REGISTRY: tuple[str, ...] = (
    "dockerfile",
    "workflow",
    "compose",
    "terraform",
    "release_files",  # helmfile, Fleet and Skaffold releases of this repository's charts
    "helm",
    "kustomize",
    "tanka",  # main.jsonnet: Tanka's inline environments
    "kubernetes",
)


# From this many files on, a walk of the whole tree costs less than the lookups of their
# owners it answers (a hook's few files never walk the tree).
LISTING_PAYS = 48

# The sources whose documents already are Kubernetes objects, rendered or as written.
KUBERNETES_OWNERS = frozenset({"kubernetes", "helm", "kustomize"})


def adapters() -> list[Source]:
    modules: list[ModuleType] = [
        importlib.import_module(f"gatekeeper.sources.{name}") for name in REGISTRY
    ]
    return modules  # type: ignore[return-value]


def adapter_for(path: str, sources: list[Source]) -> Source | None:
    for source in sources:
        if source.detect(path):
            return source
    return None


def with_owners(paths: list[str], context: LoadContext) -> list[str]:
    """`paths` plus the files that render them: a changed template brings its chart's
    Chart.yaml, a changed base resource the kustomizations that build it. An adapter may
    define `owners(path, context) -> list[str]` for this."""
    out = list(paths)
    seen = set(out)
    if len(paths) >= LISTING_PAYS and isinstance(context.tree, WorkTree):
        context.tree.list_dir(".")  # one walk answers the lookups below (see WorkTree.exists)
    for source in adapters():
        owners = getattr(source, "owners", None)
        if owners is None:
            continue
        for path in paths:
            for owner in owners(path, context):
                if owner not in seen and context.tree.exists(owner):
                    seen.add(owner)
                    out.append(owner)
    return out
