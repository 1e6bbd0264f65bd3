"""Which files to look at when scanning paths on disk."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from gatekeeper.errors import UsageError

SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        ".venv",
        "venv",
        "__pycache__",
        ".terraform",
        ".tox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
    }
)


def relative(path: Path, root: Path) -> str:
    """A posix path relative to `root` where possible: that is what reports show."""
    try:  # the link's own place, not its target's: a link out of the tree stays in view
        return (path.parent.resolve() / path.name).relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def matches(path: str, patterns: Iterable[str]) -> bool:
    """Glob match where `**` spans directories and a bare pattern matches any base name."""
    for pattern in patterns:
        if fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(
            path, pattern.rstrip("/") + "/*"
        ):
            return True
        if pattern.startswith("**/") and fnmatch.fnmatchcase(path, pattern[3:]):
            return True
        if "/" not in pattern and fnmatch.fnmatchcase(path.rsplit("/", 1)[-1], pattern):
            return True
    return False


def walk(paths: Iterable[str], root: Path) -> Iterator[str]:
    """Every file under `paths` (files are taken as given), relative to `root`, sorted."""
    seen: set[str] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            found = [relative(path, root)]
        elif path.is_dir():
            found = []
            for directory, dirnames, filenames in os.walk(path):
                dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
                found.extend(relative(Path(directory, name), root) for name in filenames)
        else:
            raise UsageError(f"no such file or directory: {raw}")
        for name in sorted(found):
            if name not in seen:
                seen.add(name)
                yield name


def select(
    files: Iterable[str], include: Iterable[str] = (), exclude: Iterable[str] = ()
) -> list[str]:
    include, exclude = list(include), list(exclude)
    return [
        name
        for name in files
        if (not include or matches(name, include)) and not matches(name, exclude)
    ]
