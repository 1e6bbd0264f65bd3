"""What a changed file feeds: a dependency graph over a whole tree, for pull requests.

A deployer does not apply files, it applies renderings: a chart (its Chart.yaml) with its
templates and values files, an overlay (its kustomization) with its bases, components and
patches, an Argo CD Application with the path and values files it names. A change to any
input must re-evaluate every rendering it reaches, wherever that lives in the repository.

Each source that renders contributes edges through one small function in its module,
    feeds(context: LoadContext) -> Iterable[tuple[str, str]]
yielding (reader, input): `reader` is the file that renders, `input` a file it reads or a
directory ending in "/" whose every file it may read ("" is the whole tree). Readers are
followed transitively: a base resource feeds its kustomization, which an overlay reads, which
an Application deploys.
"""

from __future__ import annotations

import importlib
import posixpath
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from gatekeeper.sources import LoadContext

# Modules under gatekeeper.sources that define `feeds`.
CONTRIBUTORS: tuple[str, ...] = (
    "helm", "kustomize", "gitops", "terraform", "tanka", "workflow", "dockerfile",
    "release_files", "pulumi", "compose", "kubectl_files", "kubectl_inline",
)  # fmt: skip


class Contributor(Protocol):
    def feeds(self, context: LoadContext) -> Iterable[tuple[str, str]]: ...


def contributors() -> list[Contributor]:
    modules: list[Any] = [
        importlib.import_module(f"gatekeeper.sources.{name}") for name in CONTRIBUTORS
    ]
    return modules


@dataclass
class Graph:
    """Which files read which: a change to one is a change to each file that reads it."""

    readers: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def add(self, reader: str, needs: str) -> None:
        self.readers[needs].add(reader)

    def direct(self, path: str) -> set[str]:
        """Readers of `path` itself and of every directory above it."""
        found = set(self.readers.get(path, ()))
        found |= self.readers.get("", set())
        directory = posixpath.dirname(path)
        while directory:
            found |= self.readers.get(directory + "/", set())
            directory = posixpath.dirname(directory)
        return found

    def affected(self, changed: Iterable[str]) -> list[str]:
        """Every reader that `changed` files feed, directly or through other readers; sorted,
        without the changed files themselves."""
        start = set(changed)
        seen: set[str] = set()
        queue = list(start)
        while queue:
            for reader in self.direct(queue.pop()):
                if reader not in seen:
                    seen.add(reader)
                    queue.append(reader)
        return sorted(seen - start)


def build(context: LoadContext) -> Graph:
    graph = Graph()
    for contributor in contributors():
        for reader, needs in contributor.feeds(context):
            graph.add(reader, needs)
    return graph


def directory_input(path: str) -> str:
    """The input key for every file below directory `path` ("" for the root)."""
    path = posixpath.normpath(path)
    return "" if path == "." else path.rstrip("/") + "/"
