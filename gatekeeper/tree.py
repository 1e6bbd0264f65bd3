"""A read-only view of a file tree: the work tree on disk, or files of a git revision in memory.

Sources that need more than one file (a Helm chart, a kustomization) read siblings through
the tree, so the same adapter code scans the work tree, staged blobs and a base revision.
Both implementations are safe to inherit into forked worker processes.
"""

from __future__ import annotations

import bisect
import contextlib
import errno
import fnmatch
import os
import posixpath
import stat
import sys
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

# Larger files are read only this far (and one byte more, so the size check sees them): a
# link to /dev/zero or a huge file never fills memory.
MAX_READ_BYTES = 8 * 1024 * 1024
# A directory reached through this many links is not walked again (links fanning out to the
# same directories would otherwise multiply the walk exponentially).
MAX_LINKED_VISITS = 16


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
    return inside(path) is not None


def inside(path: str) -> str | None:
    """`path` normalised, or None when it leaves the tree (`../x`, `/etc/x`)."""
    normal = posixpath.normpath(path)
    return None if normal.startswith("/") or normal == ".." or normal.startswith("../") else normal


OUTSIDE_MESSAGE = "symbolic link leads outside the repository; not read"


class OutsideLink(OSError):
    """A symbolic link that leads out of the repository: never followed, never read."""

    def __init__(self, path: str) -> None:
        super().__init__(errno.EACCES, "symbolic link leads outside the repository", path)


def contains(root: str, path: str) -> bool:
    """Is `path` `root` or below it (both absolute, compared as written)?"""
    return path == root or path.startswith(root.rstrip("/") + "/")


def read_file(
    path: Path, root: Path, limit: int = MAX_READ_BYTES, folders: dict[str, str] | None = None
) -> bytes:
    """A file as a deployer reads it: symbolic links followed while they stay below `root`.

    Raises OutsideLink for a link out of `root`, OSError for a loop, a directory that cannot
    be listed or anything but a regular file (a FIFO would block, a device never ends).
    At most `limit` + 1 bytes are read. `folders` remembers where each folder resolves to
    (one tree's reads: a file then costs one lstat, not one per folder above it; the root
    is a folder too)."""
    lexical = os.path.abspath(path)
    real = _resolved(lexical, folders) if folders is not None else os.path.realpath(path)
    top = _folder(os.path.abspath(root), folders) if folders is not None else os.path.realpath(root)
    if contains(os.path.abspath(root), lexical) and not contains(top, real):
        raise OutsideLink(str(path))
    return _read_regular(real, limit, lambda: str(path))


def _read_regular(real: str, limit: int, shown: Callable[[], str]) -> bytes:
    """The file at the resolved path `real`, if a regular file (`shown`: its name in errors)."""
    mode = os.stat(real).st_mode
    if stat.S_ISDIR(mode):
        os.listdir(real)  # the reason it was not walked (permission denied), if any
        raise IsADirectoryError(errno.EISDIR, "is a directory", shown())
    if not stat.S_ISREG(mode):
        kind = "FIFO" if stat.S_ISFIFO(mode) else "device or socket"
        raise OSError(errno.EINVAL, f"not a regular file ({kind})", shown())
    with open(real, "rb") as handle:
        return handle.read(limit + 1)


def _resolved(path: str, folders: dict[str, str]) -> str:
    """os.path.realpath(path), with the folder's own resolution remembered in `folders`."""
    if os.path.islink(path):
        return os.path.realpath(path)
    folder, name = os.path.split(path)
    return os.path.join(_folder(folder, folders), name)


def _folder(folder: str, folders: dict[str, str]) -> str:
    """os.path.realpath(folder) of an absolute, normalised folder, built on its parent's
    remembered answer: a new folder costs one lstat (is it a link?), not one per folder above
    it (a read in each of a thousand folders of a deep tree asked about all of them again)."""
    real = folders.get(folder)
    if real is None:
        parent, name = os.path.split(folder)
        if not name or parent == folder or os.path.islink(folder):
            real = os.path.realpath(folder)
        else:
            real = os.path.join(_folder(parent, folders), name)
        folders[folder] = real
    return real


def glob(tree: Tree, pattern: str, *, dot_files: bool = True, limit: int = 0) -> list[str]:
    """Files of `tree` a pattern with `*`, `?` or `[...]` matches segment by segment (a `*`
    stays in its folder), as Go's filepath.Glob does; `dot_files=False` as sh does (a
    wildcard matches no leading dot unless the pattern's own segment starts with one). At most
    `limit` files when it is not 0."""
    parts = pattern.split("/")
    fixed = next((at for at, part in enumerate(parts) if any(c in part for c in "*?[")), None)
    if fixed is None:
        return [pattern] if tree.exists(pattern) else []
    found = []
    for file in tree.list_dir("/".join(parts[:fixed]) or "."):
        names = file.split("/")
        if len(names) != len(parts) or not all(map(fnmatch.fnmatchcase, names, parts)):
            continue
        if not dot_files and any(
            name.startswith(".") and not part.startswith(".")
            for name, part in zip(names, parts, strict=True)
        ):
            continue
        found.append(file)
        if len(found) == limit:
            break
    return found


def walk_files(directory: Path, root: Path, skip: frozenset[str] = frozenset()) -> Iterator[Path]:
    """Every entry below `directory` that is not a directory, as a deployer walks it:
    symbolic links to directories are followed while they stay below `root`, except to a
    directory being walked already (a loop). Whatever cannot be walked is yielded for the
    reader to report: a link out of the repository, a directory that cannot be listed."""
    for path, _ in walk_entries(str(directory), str(root), skip):
        yield Path(path)


def walk_entries(
    directory: str, root: str, skip: frozenset[str] = frozenset(), walked: list[str] | None = None
) -> Iterator[tuple[str, bool]]:
    """walk_files as strings, each with whether it is known a regular file inside `root`
    without asking the disk again (not a link, in a folder that resolves below `root`):
    a tree of 8,000 files was listed with a realpath per folder and two stats per file.

    A folder's resolved path is its parent's plus its name unless it is a link, so only the
    starting folder and the links are resolved. `walked` gets each folder whose entries
    were all seen (as the paths are written)."""
    top = os.path.realpath(root)
    stack: list[tuple[str, str | None, frozenset[str]]] = [(directory, None, frozenset())]
    visits: dict[str, int] = {}
    while stack:
        current, real, above = stack.pop()
        if real is None:
            real = os.path.realpath(current)
        visits[real] = visits.get(real, 0) + 1
        if real in above or visits[real] > MAX_LINKED_VISITS:
            continue
        above = above | {real}
        try:
            with os.scandir(current) as listing:
                entries = sorted(listing, key=lambda entry: entry.name, reverse=True)
        except OSError:
            yield current, False  # reading it says why it could not be listed
            continue
        if walked is not None:
            walked.append(current)
        folder_inside = contains(top, real)
        for entry in entries:
            path = entry.path
            try:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name not in skip:
                        stack.append((path, os.path.join(real, entry.name), above))
                    continue
                if entry.is_file(follow_symlinks=False):
                    yield path, folder_inside
                    continue
                inside = entry.is_symlink() and contains(top, os.path.realpath(path))
                if inside and entry.is_dir():
                    stack.append((path, None, above))
                    continue
            except OSError:
                pass
            yield path, False


class WorkTree:
    """Files on disk below `root`; symbolic links are followed only while they stay below it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.real_root = os.path.realpath(root)
        self._folders: dict[str, str] = {}  # where each folder read from resolves to
        # The root as os.path.abspath has it, when that cannot change (a relative root
        # follows the working directory): a path below it is then joined, not normalised.
        self._absolute = os.path.normpath(root) if os.path.isabs(root) else None
        self._listing: tuple[str, ...] | None = None  # list_dir(".") once asked
        # What that listing found a regular file (not a link) in a folder inside the root:
        # read and confirmed without asking the disk again where it resolves.
        self._plain: frozenset[str] = frozenset()
        # The other files it found (links confirmed by exists), and the folders whose every
        # entry it saw: a file of such a folder exists if and only if it is listed.
        self._linked: frozenset[str] = frozenset()
        self._walked: frozenset[str] = frozenset()

    def _lexical(self, normal: str) -> str:
        """os.path.abspath(root / path) of a path `inside` normalised (`normal`)."""
        if self._absolute is None:
            return os.path.abspath(self.root / normal)
        return self._absolute if normal == "." else os.path.join(self._absolute, normal)

    def read(self, path: str) -> bytes:
        # A listed name is normalised already: asked as listed (every pass of a scan asks
        # so), it is not normalised again.
        normal = path if path in self._plain else inside(path)
        if normal is None:
            raise FileNotFoundError(path)
        if normal in self._plain:  # see list_dir: the folder resolves inside the root
            with open(os.path.join(self.real_root, normal), "rb") as handle:
                return handle.read(MAX_READ_BYTES + 1)
        if self._absolute is None:
            return read_file(self.root / path, self.root, folders=self._folders)
        # read_file's checks, with the root's answers kept: the hook reads a thousand files
        real = _resolved(self._lexical(normal), self._folders)
        if not contains(_folder(self._absolute, self._folders), real):
            raise OutsideLink(str(self.root / path))
        return _read_regular(real, MAX_READ_BYTES, lambda: str(self.root / path))

    def exists(self, path: str) -> bool:
        if path in self._plain:  # as listed (see read)
            return True
        normal = inside(path)
        if normal is None:
            return False
        if normal in self._plain or normal in self._linked:
            return True
        if self._walked and posixpath.dirname(normal) in self._walked:
            return False  # the folder was listed whole, without it (see list_dir)
        full = os.path.join(self.root, path)
        # One stat answers the common question (no such file); links are resolved after.
        return os.path.isfile(full) and contains(
            self.real_root, _resolved(self._lexical(normal), self._folders)
        )

    def regular_files(self) -> frozenset[str]:
        """The files the listing of the whole tree (list_dir(".")) found regular files, not
        links, in folders inside the root; none before it is asked."""
        return self._plain

    def list_dir(self, path: str) -> list[str]:
        if not _inside(path):
            return []
        whole = posixpath.normpath(path) == "."
        if whole and self._listing is not None:
            return list(self._listing)
        found = []
        plain = []
        start = str(self.root / path)
        # Names as Path.relative_to(root) gives them, cut from the joined strings (scandir
        # of "." names its entries "./x"; on Windows, with backslashes).
        base = str(self.root)
        cut = len(base.rstrip(os.sep + "/")) + 1 if base != "." else 2 if start == "." else 0
        trusted = ".." not in path.split("/")  # else resolved as exists() resolves it
        walked: list[str] = []
        for full, regular in walk_entries(start, base, frozenset({".git"}), walked):
            name = full[cut:] if os.sep == "/" else full[cut:].replace(os.sep, "/")
            if whole:  # kept to the end of the run: one string with discover's (see intern)
                name = sys.intern(name)
            if regular and trusted:
                found.append(name)
                plain.append(name)
            elif self.exists(name):
                found.append(name)
        found.sort()
        if whole:  # the whole tree is listed by several sources: once a run
            self._listing = tuple(found)
            self._plain = frozenset(plain)
            self._linked = frozenset(found) - self._plain
            if _case_sensitive(self.real_root, found):
                self._walked = frozenset(
                    sys.intern(folder[cut:] if os.sep == "/" else folder[cut:].replace(os.sep, "/"))
                    for folder in walked
                )
        return found


def _case_sensitive(root: str, names: Iterable[str]) -> bool:
    """Does the file system below `root` tell names apart by case? Asked of one listed file
    with its name's case swapped (on a case-insensitive one, a file not listed as written may
    still open)."""
    for name in names:
        swapped = name.swapcase()
        if swapped != name:
            return not os.path.lexists(os.path.join(root, swapped))
    return False


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


MAX_LINK_HOPS = 40  # as Linux: more links in one path is a loop


def resolve_link(path: str, is_link: Mapping[str, str]) -> str:
    """`path` with every symbolic link in it followed, in a tree given as data (a git
    revision: link path -> target as stored). Raises OutsideLink when a link leads out of
    the tree, OSError(ELOOP) for a loop."""
    parts = path.split("/")
    resolved: list[str] = []
    hops = 0
    while parts:
        part = parts.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if not resolved:
                raise OutsideLink(path)
            resolved.pop()
            continue
        candidate = "/".join([*resolved, part])
        target = is_link.get(candidate)
        if target is None:
            resolved.append(part)
            continue
        hops += 1
        if hops > MAX_LINK_HOPS:
            raise OSError(errno.ELOOP, "symbolic link loop", path)
        if target.startswith("/"):
            raise OutsideLink(path)
        parts = [*target.split("/"), *parts]
    return "/".join(resolved)


def below(paths: list[str], files: Mapping[str, bytes]) -> list[str]:
    """`paths`, where one that is not a file but a directory (a link to one) is replaced by
    the files below it."""
    names = sorted(files)
    out: list[str] = []
    for path in paths:
        if path in files:
            out.append(path)
            continue
        start = bisect.bisect_left(names, f"{path}/")
        out.extend(n for n in names[start:] if n.startswith(f"{path}/"))
    return out


class ScanDecision:
    """A yes or no a scan decides for its tree before its sources load (scanner._scan), read
    by the sources that load from that tree or from a deployer's view of it (a few files
    more over the scanned tree: `.tree` is the tree under it). Unset: no."""

    def __init__(self) -> None:
        self._decided: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()

    def decide(self, tree: Any, value: bool) -> None:
        with contextlib.suppress(TypeError):  # a tree that cannot be weakly referenced
            self._decided[tree] = value

    def of(self, tree: Any) -> bool:
        while tree is not None:
            with contextlib.suppress(TypeError):  # (none was decided for such a tree)
                if tree in self._decided:
                    return self._decided[tree]
            tree = getattr(tree, "tree", None)
        return False
