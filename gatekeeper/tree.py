"""A read-only view of a file tree: the work tree on disk, or files of a git revision in memory.

Sources that need more than one file (a Helm chart, a kustomization) read siblings through
the tree, so the same adapter code scans the work tree, staged blobs and a base revision.
Both implementations are safe to inherit into forked worker processes.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Protocol


class Tree(Protocol):
    def read(self, path: str) -> bytes:
        """Content of a file (posix path relative to the tree root); OSError if missing."""
        ...

    def exists(self, path: str) -> bool: ...

    def list_dir(self, path: str) -> list[str]:
        """Every file below `path` (recursively), as tree-relative posix paths, sorted."""
        ...


def _inside(path: str) -> bool:
    """Does `path` stay inside the tree? A scanned file names paths (an Application's
    `path: ../..`), and nothing outside the repository may be read because of it."""
    normal = posixpath.normpath(path)
    return not (normal.startswith("/") or normal == ".." or normal.startswith("../"))


class WorkTree:
    """Files on disk below `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def read(self, path: str) -> bytes:
        if not _inside(path):
            raise FileNotFoundError(path)
        return (self.root / path).read_bytes()

    def exists(self, path: str) -> bool:
        return _inside(path) and (self.root / path).is_file()

    def list_dir(self, path: str) -> list[str]:
        if not _inside(path):
            return []
        base = self.root / path
        found: list[str] = []
        for directory, dirnames, filenames in os.walk(base):
            dirnames[:] = [d for d in dirnames if d != ".git"]
            for name in filenames:
                full = Path(directory, name)
                found.append(full.relative_to(self.root).as_posix())
        return sorted(found)


class MemoryTree:
    """Files held in memory: a git revision read up front, or test fixtures."""

    def __init__(self, files: Mapping[str, bytes]) -> None:
        self.files = dict(files)

    def read(self, path: str) -> bytes:
        try:
            return self.files[posixpath.normpath(path)]
        except KeyError:
            raise FileNotFoundError(path) from None

    def exists(self, path: str) -> bool:
        return posixpath.normpath(path) in self.files

    def list_dir(self, path: str) -> list[str]:
        prefix = "" if path in ("", ".") else posixpath.normpath(path).rstrip("/") + "/"
        return sorted(name for name in self.files if name.startswith(prefix))

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, bytes]]) -> MemoryTree:
        return cls(dict(pairs))
