"""Which chart or kustomization may own a file: one index per tree, each folder asked once.

Ownership used to be found by asking the disk, for every file, whether each folder above it
held a Chart.yaml (a fifth of a full scan), and by walking a file's whole top-level folder for
kustomizations that might build it (most of a pre-commit run in a large repository). The
index remembers every answer for the tree it belongs to (one run): a folder's Chart.yaml is
looked up once however many files sit below it, and the kustomizations below a folder of a
git work tree come from `git ls-files` filtered by git itself, which costs a few milliseconds
for tens of thousands of files where a walk of them cost hundreds.

Answers stay the tree's own: the files git names are confirmed with `tree.exists` (a link
out of the repository does not count), and what git cannot see into (symbolic links to
folders, submodules) is walked as before. Files git ignores are not searched: they are not
what a deployer checks out.
"""

from __future__ import annotations

import os
import posixpath
import subprocess
import sys
import weakref
from collections.abc import Callable, Container, Iterable, Iterator
from typing import Any, TypeVar, cast

from gatekeeper import lazy_re
from gatekeeper.tree import Tree, WorkTree

T = TypeVar("T")

_NO_NETWORK = {"GIT_NO_LAZY_FETCH": "1", "GIT_ALLOW_PROTOCOL": "none"}
# Modes of the entries git does not look into: symbolic links and submodules.
_OPAQUE_MODES = (b"120000 ", b"160000 ")
_UNKNOWN = object()  # not remembered yet (a remembered answer may be None)


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _ls_files(root: str, folder: str, *options: str) -> bytes:
    command = ["git", "-C", root, "ls-files", "-z", *options]
    if folder:
        command += ["--", folder]
    try:
        proc = subprocess.run(
            command, capture_output=True, env={**os.environ, **_NO_NETWORK}, timeout=60
        )
    except subprocess.SubprocessError as error:
        raise OSError(str(error)) from None
    if proc.returncode != 0:
        raise OSError(proc.stderr.decode("utf-8", "replace").strip())
    return proc.stdout


def _entries_at(raw: bytes, needles: Iterable[bytes]) -> Iterator[bytes]:
    """The NUL-separated entries of `raw` holding one of `needles` (a needle may take in the
    NUL before or after its entry): found with bytes.find, not a loop over every entry."""
    for needle in needles:
        at = raw.find(needle)
        while at != -1:
            inside = at + 1 if needle.startswith(b"\0") else at
            end = raw.find(b"\0", inside)
            end = len(raw) if end == -1 else end
            yield raw[raw.rfind(b"\0", 0, inside) + 1 : end]
            at = raw.find(needle, end)


def git_named_below(
    root: str,
    folder: str,
    names: Iterable[str],
    listing: _Listing | None = None,
    untracked: _Untracked | None = None,
) -> tuple[set[str], set[str]]:
    """Files called one of `names` below `folder` of the git work tree at `root` (tracked, or
    untracked and not ignored), and the entries below it that git does not look into
    (links, submodules); from `listing` when given (git's, see git_listing), whose untracked
    part `untracked` has read already when given. Raises OSError when git cannot answer."""
    names = tuple(names)
    ends = [f"{sep}{name}\0".encode() for name in names for sep in ("/", "\t")]
    return _git_below(
        root,
        folder,
        ends,
        lambda path: posixpath.basename(path) in names,
        listing=listing,
        untracked=untracked,
    )


# git's entries below a folder: tracked ("<mode> <id> <stage>\t<path>") and untracked (not
# ignored), each NUL-separated as `git ls-files -z` writes them.
_Listing = tuple[bytes, bytes]
# A listing's untracked paths, and those of them that are symbolic links (untracked).
_Untracked = tuple[list[str], frozenset[str]]
# The largest listing of the whole tree kept (bytes): some 20,000 paths (a larger tree's
# folders are asked of git, a process each).
WHOLE_LISTING_KEPT = 1 << 21
# What git reads as a pathspec's magic or wildcards: such a folder is asked of git itself.
_PATHSPEC_MAGIC = lazy_re.compile(r"[*?\[\\:]")


def git_listing(root: str, folder: str, whole: _Listing | None = None) -> _Listing:
    """git's entries below `folder` of the work tree at `root`: taken from `whole` (the
    listing of the whole tree) when given, else asked of git. Raises OSError when git
    cannot answer."""
    if whole is not None and not _PATHSPEC_MAGIC.search(folder):
        return _entries_below(whole[0], folder, tracked=True), _entries_below(whole[1], folder)
    return _tracked_and_untracked(root, folder, "--exclude-standard")


def _tracked_and_untracked(root: str, folder: str, *options: str) -> _Listing:
    """git's tracked and untracked entries below `folder`, from one `git ls-files` (a process
    costs a hook about 5 ms of CPU): a tracked entry is `<mode> <id> <stage>\t<path>`, an
    untracked one its path alone, each classed by its own shape, not by git's order."""
    raw = _ls_files(root, folder, "-s", "-c", "-o", *options)
    tracked: list[bytes] = []
    untracked: list[bytes] = []
    for entry in raw.split(b"\0"):
        if entry:
            (tracked if _TRACKED.match(entry) else untracked).append(entry + b"\0")
    return b"".join(tracked), b"".join(untracked)


# A tracked entry of `git ls-files -s`: mode, object id (SHA-1 or SHA-256), stage, a tab.
_TRACKED = lazy_re.compile(rb"[0-7]{6} (?:[0-9a-f]{40}|[0-9a-f]{64}) [0-3]\t")


def _entries_below(raw: bytes, folder: str, tracked: bool = False) -> bytes:
    """The NUL-separated entries of `raw` whose path is `folder` or below it, as git lists
    them for the pathspec `folder` ("" every entry)."""
    if not folder:
        return raw
    path = folder.encode("utf-8", "surrogateescape")
    below = path + b"/"
    kept = []
    for entry in raw.split(b"\0"):
        name = entry.partition(b"\t")[2] if tracked else entry
        if name.startswith(below) or name == path:
            kept.append(entry)
    return b"\0".join(kept)


def git_ending_below(
    root: str, folder: str, suffixes: tuple[str, ...]
) -> tuple[set[str], set[str]]:
    """As git_named_below, for the files whose name ends with one of `suffixes`, ignored
    files included: what a walk of the folder finds."""
    ends = [f"{suffix}\0".encode() for suffix in suffixes]
    return _git_below(root, folder, ends, lambda path: path.endswith(suffixes), ignored=True)


def _git_below(
    root: str,
    folder: str,
    ends: list[bytes],
    wanted: Callable[[str], bool],
    ignored: bool = False,
    listing: _Listing | None = None,
    untracked: _Untracked | None = None,
) -> tuple[set[str], set[str]]:
    """The tracked entries ending with one of `ends` (a path's end and its NUL), the
    untracked files `wanted` says (`ignored`: those git ignores too), and the opaque
    entries (see git_named_below); from `listing` when given (its untracked part read
    already: `untracked`)."""
    if listing is None and ignored:
        listing = _tracked_and_untracked(root, folder)
    elif listing is None:
        listing = git_listing(root, folder)
    tracked = b"\0" + listing[0]  # "<mode> <id> <stage>\t<path>"
    found: set[str] = set()
    opaque: set[str] = set()
    for entry in _entries_at(tracked + b"\0", ends):
        found.add(_decode(entry.partition(b"\t")[2]))
    for entry in _entries_at(tracked, [b"\0" + mode for mode in _OPAQUE_MODES]):
        opaque.add(_decode(entry.partition(b"\t")[2]))
    paths, links = untracked or untracked_of(root, listing[1])
    found.update(filter(wanted, paths))
    opaque |= links
    return found, opaque


def untracked_of(root: str, raw: bytes, regular: Container[str] = frozenset()) -> _Untracked:
    """The untracked paths of a listing (`git ls-files -o -z`), and those that are symbolic
    links: asked of the disk, but for the paths `regular` holds (a tree's listing found them
    regular files: WorkTree.regular_files)."""
    paths = [sys.intern(_decode(entry)) for entry in raw.split(b"\0") if entry]
    links = frozenset(
        path
        for path in paths
        if path not in regular and os.path.islink(os.path.join(root, path))
    )
    return paths, links


class Ownership:
    """Lookups of chart and kustomization files over one tree, each answered once."""

    def __init__(self, tree: Tree) -> None:
        self.tree = tree
        # folder -> name -> does the tree have it: the names asked in every folder (Chart.yaml,
        # kustomization.yaml, compose files) are one string each, not a path per folder.
        self._exists: dict[str, dict[str, bool]] = {}
        self._memo: dict[tuple[str, str], Any] = {}
        self._above: dict[tuple[str, tuple[str, ...]], tuple[str, ...]] = {}
        # kind -> folder -> union_above's answer (asked for every file: one lookup each)
        self._unions: dict[str, dict[str, frozenset[str]]] = {}
        # git's listing of the whole tree, once asked: a folder's is taken from it (a full
        # scan asked git twice per top-level folder, a process each, after asking for all).
        self._whole: _Listing | None = None
        # Its untracked part read (named_below asks for several names below the root).
        self._whole_untracked: _Untracked | None = None

    def exists(self, path: str) -> bool:
        """`tree.exists(path)`, asked once per path."""
        cut = path.rfind("/") + 1
        # A relative path's folder as _above writes it (one string, see there); an absolute
        # path's keeps its slash: `/x` is not `x`, nor `//x` `/x`.
        relative = cut > 1 and path[0] != "/"
        folder, name = path[: cut - 1] if relative else path[:cut], path[cut:]
        known = self._exists.get(folder)
        if known is None:
            known = self._exists[sys.intern(folder)] = {}
        found = known.get(name)
        if found is None:
            found = known[sys.intern(name)] = self.tree.exists(path)
        return found

    def first_of(self, folder: str, names: Iterable[str]) -> str | None:
        """The first of `names` in `folder` ("" the root) that the tree has."""
        for name in names:
            candidate = posixpath.join(folder, name) if folder else name
            if self.exists(candidate):
                return candidate
        return None

    def files_above(self, folder: str, names: tuple[str, ...]) -> tuple[str, ...]:
        """The files called one of `names` in `folder` ("" the root) and in every folder
        above it, nearest folder first, in the order of `names` within a folder: each
        folder asked once, however many files below it ask (a compose file above every
        manifest of a repository was four lookups per folder above each file)."""
        chain: list[str] = []  # the folders from `folder` up to one already answered
        current: str | None = folder
        while current is not None and (current, names) not in self._above:
            chain.append(current)
            current = _above(current)
        found = self._above[current, names] if current is not None else ()
        for here in map(sys.intern, reversed(chain)):  # (see _above)
            own = tuple(
                file
                for name in names
                if self.exists(file := posixpath.join(here, name) if here else name)
            )
            found = self._above[here, names] = own + found
        return found

    def union_above(
        self, kind: str, folder: str, compute: Callable[[Tree, str], frozenset[str]]
    ) -> frozenset[str]:
        """The union of `remember(kind, f, compute)` over `folder` ("" the root) and every
        folder above it, kept per folder: a file asks one folder, not each above it."""
        unions = self._unions.get(kind)
        if unions is None:
            unions = self._unions[kind] = {}
        found = unions.get(folder)
        if found is not None:
            return found
        chain: list[str] = []  # the folders from `folder` up to one already answered
        current: str | None = folder
        while current is not None and current not in unions:
            chain.append(current)
            current = _above(current)
        found = unions[current] if current is not None else frozenset()
        for here in map(sys.intern, reversed(chain)):  # (see _above)
            own = self.remember(kind, here, compute)
            found = unions[here] = own | found if own else found
        return found

    def named_below(self, folder: str, names: frozenset[str]) -> list[str]:
        """The files called one of `names` anywhere below `folder` ("" the whole tree),
        sorted: what a walk of the folder finds, without walking it in a git work tree."""
        tree = self.tree
        if isinstance(tree, WorkTree) and os.path.exists(os.path.join(tree.root, ".git")):
            try:
                entries = self._git_listing(folder)
                found, opaque = git_named_below(
                    str(tree.root), folder, sorted(names), entries, self._untracked(entries)
                )
            except OSError:
                pass
            else:
                kept = {name for name in found if self.exists(name)}
                for entry in opaque:  # links and submodules: walked as the tree walks them
                    below = tree.list_dir(entry)
                    kept.update(name for name in below if posixpath.basename(name) in names)
                return sorted(kept)
        listing = tree.list_dir(folder or ".")
        return [name for name in listing if posixpath.basename(name) in names]

    def _git_listing(self, folder: str) -> _Listing:
        """git's entries below `folder` of the work tree (see git_listing), the whole
        tree's kept once listed, unless it is large (kept for the run, in every worker)."""
        listing = git_listing(str(cast(WorkTree, self.tree).root), folder, self._whole)
        if not folder and len(listing[0]) + len(listing[1]) <= WHOLE_LISTING_KEPT:
            self._whole = listing
        return listing

    def _untracked(self, listing: _Listing) -> _Untracked:
        """The untracked part of a listing of this work tree, read (untracked_of): the whole
        tree's once, a folder's each time it is asked. Without asking the disk about the
        files the tree's own listing found regular: a copy git tracks nothing of (the
        benchmark corpora: k8s-full's 9,258 files) was asked whether each file is a link
        once per name set looked up (four times a scan, 37,032 lstat calls)."""
        tree = cast(WorkTree, self.tree)
        if listing is self._whole and self._whole_untracked is not None:
            return self._whole_untracked
        read = untracked_of(str(tree.root), listing[1], tree.regular_files())
        if listing is self._whole:
            self._whole_untracked = read
        return read

    def remember(self, kind: str, key: str, compute: Callable[[Tree, str], T]) -> T:
        """`compute(tree, key)` once per (kind, key) for this tree: a source's per-folder
        facts (the patches a folder's kustomization names, the builds below a folder)."""
        value = self._memo.get((kind, key), _UNKNOWN)
        if value is _UNKNOWN:
            value = self._memo[kind, key] = compute(self.tree, key)
        return cast(T, value)

    def known(self, kind: str, key: str) -> bool:
        """Whether `remember(kind, key, ...)` has its answer already (costs nothing now)."""
        return (kind, key) in self._memo

    def forget(self, kind: str) -> None:
        """Drop what `remember` keeps for `kind`: computed again if asked again."""
        for key in [key for key in self._memo if key[0] == kind]:
            del self._memo[key]


def _above(folder: str) -> str | None:
    """The folder above `folder`: "" (the root) above a top-level one, None above the root
    ("/" of an absolute path is below the root too, as helm.parents has it).

    Interned: a folder is a key of several per-folder caches (files_above, union_above,
    remember) and of the tree's listing, which every pool worker inherits and reads; one
    string each, not one per cache (3 MB at 27,000 files)."""
    if not folder:
        return None
    parent = posixpath.dirname(folder)
    return "" if parent == folder else sys.intern(parent)


_OWNERSHIP: weakref.WeakKeyDictionary[Any, Ownership] = weakref.WeakKeyDictionary()
_LAST: list[Ownership | None] = [None]


def of(tree: Tree) -> Ownership:
    """The tree's index: built on first use, kept as long as the tree (one run)."""
    last = _LAST[0]
    if last is not None and last.tree is tree:  # asked for every file: skip the weak lookup
        return last
    try:
        found = _OWNERSHIP.get(tree)
    except TypeError:  # a tree that cannot be weakly referenced: an index for this call
        return Ownership(tree)
    if found is None:
        found = _OWNERSHIP[tree] = Ownership(tree)
    _LAST[0] = found
    return found
