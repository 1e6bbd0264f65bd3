"""Which files to look at when scanning paths on disk."""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from gatekeeper.errors import UsageError
from gatekeeper.tree import contains, walk_files

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
    """A posix path relative to `root` where possible: that is what reports show.

    A symbolic link keeps its own name (the file a deployer applies is the link)."""
    base, full = os.path.abspath(root), os.path.abspath(path)
    if full.startswith(base + "/") and base != "/":  # the common case, without pathlib
        return full[len(base) + 1 :]
    for base, full in (
        (os.path.abspath(root), os.path.abspath(path)),
        (os.path.realpath(root), os.path.join(os.path.realpath(path.parent), path.name)),
    ):
        try:
            return Path(full).relative_to(base).as_posix()
        except ValueError:
            continue
    return path.as_posix()


def matches(path: str, patterns: Iterable[str]) -> bool:
    """Glob match as gitignore and globset do: `*` and `?` stay within one folder, `**`
    spans folders (`apps/legacy/*.yaml` does not take `apps/legacy/tools/web.yaml`: a waiver
    written for one folder must not cover what a PR adds below it); a pattern matches what
    is below it (`docs` is `docs/**`), and a bare pattern (no `/`) any base name."""
    whole, base = _compiled(tuple(patterns))
    if whole is not None and whole.match(path):
        return True
    return base is not None and base.match(path.rsplit("/", 1)[-1]) is not None


@functools.lru_cache(maxsize=256)
def _compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
    """`patterns` as one expression for the whole path and one for the base name: a glob
    matches a path, or what is below it, or (`**/x`) `x` at the top, or (a bare name) any
    base name. Every finding and file is matched: one pattern at a time was most of a
    large scan's cost of deciding which findings are advisory."""
    whole: list[str] = []
    base: list[str] = []
    for pattern in patterns:
        whole += [pattern, pattern.rstrip("/") + "/**"]
        if pattern.startswith("**/"):
            whole.append(pattern[3:])
        if "/" not in pattern:
            base.append(pattern)
    return _union(whole), _union(base)


def _union(globs: list[str]) -> re.Pattern[str] | None:
    """One expression matching what any of `globs` matches."""
    if not globs:
        return None
    return re.compile("|".join(f"(?:{glob_source(glob)})" for glob in globs), re.DOTALL)


def glob_source(pattern: str) -> str:
    """A glob as a regular expression (its source) over a whole posix path."""
    out, index = [], 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            out.append("(?:.*/)?")
            index += 3
        elif pattern.startswith("**", index):
            out.append(".*")
            index += 2
        elif pattern[index] == "*":
            out.append("[^/]*")
            index += 1
        elif pattern[index] == "?":
            out.append("[^/]")
            index += 1
        elif pattern[index] == "[" and "]" in pattern[index + 2 :]:
            end = pattern.index("]", index + 2)
            inner = pattern[index + 1 : end]
            negated = inner.startswith("!")
            inner = re.sub(r"([\\^])", r"\\\1", inner[1:] if negated else inner)
            out.append(f"[{'^/' if negated else ''}{inner}]")
            index = end + 1
        else:
            out.append(re.escape(pattern[index]))
            index += 1
    return "".join(out) + r"\Z"


def walk(paths: Iterable[str], root: Path) -> Iterator[str]:
    """Every file under `paths` (files are taken as given), relative to `root`, sorted.

    Symbolic links are walked as a deployer walks them (see tree.walk_files); what cannot be
    walked or read (a link out of the repository, a FIFO, an unlistable directory) is listed
    too, so that reading it reports it."""
    seen: set[str] = set()
    for raw in paths:
        path = Path(raw)
        if not os.path.lexists(path):
            raise UsageError(f"no such file or directory: {raw}")
        if path.is_dir() and not _leaves(path, root):
            # Interned: the tree's own listing keeps the same names (tree.WorkTree.list_dir),
            # one string each instead of two (4 MB at 27,000 files, copied by every worker).
            found = [sys.intern(relative(p, root)) for p in walk_files(path, root, SKIP_DIRS)]
        else:
            found = [relative(path, root)]
        for name in sorted(found):
            if name not in seen:
                seen.add(name)
                yield name


def _leaves(path: Path, root: Path) -> bool:
    """Is `path` inside `root` while the directory it resolves to is not?"""
    inside = contains(os.path.abspath(root), os.path.abspath(path))
    return inside and not contains(os.path.realpath(root), os.path.realpath(path))


def select(
    files: Iterable[str], include: Iterable[str] = (), exclude: Iterable[str] = ()
) -> list[str]:
    include, exclude = list(include), list(exclude)
    return [
        name
        for name in files
        if (not include or matches(name, include)) and not matches(name, exclude)
    ]
