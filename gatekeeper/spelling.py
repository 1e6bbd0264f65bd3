"""Which files of a tree spell some words, without reading the whole repository for it.

Several decisions start from "does any file say this?" (an admission policy's kind, a chart's
folder named by a deployer, a plugin's `generate` key, a patch a loop applies). In a git work
tree or a pull request's revision one `git grep` answers (a work tree's untracked files
too, never an ignored one); without git every file is read. One helper for all of them, so
that each asks the same way and a revision is searched as the work tree is.
"""

from __future__ import annotations

import os
import subprocess
import weakref
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from gatekeeper.contents import Contents
from gatekeeper.tree import Tree, WorkTree


class _Read(NamedTuple):
    """What a scan's read pass over a tree's files noted (contents.Contents.of)."""

    names: list[str]  # the files read
    holding: dict[bytes, frozenset[str]]  # word -> the files holding it
    binary: frozenset[str]  # files git takes for binary


# Per tree, the scan's read pass over its files (see note). Not the Contents itself: it holds
# the tree's reader, so the tree would never be let go (an API caller's every scan kept).
_NOTES: weakref.WeakKeyDictionary[Any, _Read] = weakref.WeakKeyDictionary()


def note(tree: Tree, contents: Contents) -> None:
    """Remember which of the tree's files the scan read and the words they hold (contents.
    SEARCHED), so that a search for those words over a tree the scan read whole is answered
    without reading every file again (git_grep)."""
    _NOTES[tree] = _Read(contents.names, contents.holding, contents.binary)


def _noted(tree: Tree, words: list[str], suffixes: tuple[str, ...]) -> list[tuple[str, str]] | None:
    """git_grep's answer for files (not lines) holding one of `words`, from the scan's read
    pass when it read every file of the tree that git would search and noted each word;
    None otherwise. As git: a file with a NUL early on is binary (unless a .gitattributes
    makes every file text, see _text_option), an ignored one (which a scan reads) is not
    searched."""
    contents = _NOTES.get(tree)
    if contents is None or not isinstance(tree, WorkTree):
        return None
    wanted = [word.encode() for word in words]
    if any(word not in contents.holding for word in wanted):
        return None
    listed = [f for f in tree.list_dir("") if not suffixes or f.endswith(suffixes)]
    read = set(contents.names)
    if any(file not in read for file in listed):
        return None
    holding = frozenset().union(*(contents.holding[word] for word in wanted))
    binary = contents.binary if _text_option(tree) == "-I" else frozenset()
    found = [f for f in listed if f in holding and f not in binary]
    ignored = _ignored(tree, found) if found else frozenset()
    return None if ignored is None else [(f, "") for f in sorted(found) if f not in ignored]


def _ignored(tree: WorkTree, files: list[str]) -> frozenset[str] | None:
    """Those of `files` git ignores (untracked and matching an ignore rule), by one `git
    check-ignore`; none outside a git work tree; None when git fails otherwise."""
    command = ["git", "-C", str(tree.root), "check-ignore", "-z", "--stdin"]
    done = _git(command, "\0".join(files).encode("utf-8", "surrogateescape"))
    if done is None:
        return None
    if done.returncode == 128 and b"not a git repository" in done.stderr:
        return frozenset()
    if done.returncode not in (0, 1):  # 1: none ignored
        return None
    return frozenset(n for n in done.stdout.decode("utf-8", "surrogateescape").split("\0") if n)


def _git(
    command: list[str], given: bytes | None = None
) -> subprocess.CompletedProcess[bytes] | None:
    """`command` run (no network; `given` on its stdin), None when it could not run."""
    from gatekeeper.git import NO_NETWORK

    try:
        return subprocess.run(
            command,
            input=given,
            capture_output=True,
            timeout=60,
            check=False,
            env={**os.environ, **NO_NETWORK},
        )
    except (OSError, subprocess.SubprocessError):
        return None


def git_grep(
    tree: Tree,
    words: Iterable[str],
    suffixes: Iterable[str] = (),
    lines: bool = False,
    near: Iterable[str] = (),
    exclude: Iterable[str] = (),
) -> list[tuple[str, str]] | None:
    """(file, line) of each line spelling one of `words` (fixed strings) and, when `near` is
    given, one of those too, or (file, "") of each such file when not `lines`, among the
    files ending in one of `suffixes` (every file when none) and matching none of the
    `exclude` globs (`**/templates/**`), sorted by file; None when git cannot say (not a git
    tree, git failed)."""
    words, suffixes, near, exclude = list(words), tuple(suffixes), list(near), list(exclude)
    if not words:
        return []
    if not lines and not near and not exclude:
        known = _noted(tree, words, suffixes)
        if known is not None:
            return known
    patterns = [part for word in words for part in ("-e", word)]
    also = [part for word in near for part in ("-e", word)]
    if also:  # git grep's boolean expression: ( words ) --and ( near )
        patterns = ["(", *patterns, ")", "--and", "(", *also, ")"]
    options = ["-n"] if lines else ["-l"]
    globs = ["--", *(f"*{suffix}" for suffix in suffixes)]
    globs += [f":(exclude,glob){pattern}" for pattern in exclude]
    commit = _commit(tree)
    prefix = ""
    if isinstance(tree, WorkTree):
        text = _text_option(tree)
        command = ["git", "-C", str(tree.root), "grep", *options, "-z", text, "-F", "--untracked"]
        command += [*patterns, *globs]
    elif commit is not None:
        # A revision is searched with the attributes of whatever work tree git finds (a pull
        # request's own .gitattributes): its files are searched as text whatever they say.
        command = ["git", f"--git-dir={commit.repo.git_dir}", "grep", *options, "-z", "-a", "-F"]
        command += [*patterns, commit.hexsha, *globs]
        prefix = f"{commit.hexsha}:"
    else:
        return None
    done = _git(command)
    if done is None or done.returncode not in (0, 1):  # 1: nothing found; else git cannot say
        return None
    found = _hits(done.stdout, lines, prefix)
    if isinstance(tree, WorkTree):
        more = _tracked_ignored_grep(tree, [*options, *patterns], suffixes, exclude)
        if more is None:
            return None
        if more:  # the two searches' answers in one order, a file from one of them only
            seen = {file for file, _ in found}
            found += [hit for hit in _hits(more, lines, "") if hit[0] not in seen]
            found.sort(key=lambda hit: hit[0])
    return found


def _hits(output: bytes, lines: bool, prefix: str) -> list[tuple[str, str]]:
    """git grep -z's output read: (file, "") per file, or (file, line) per line."""
    text = output.decode("utf-8", "surrogateescape")
    if not lines:
        return [(name.removeprefix(prefix), "") for name in text.split("\0") if name]
    found = []
    for record in text.splitlines():
        file, _, rest = record.partition("\0")
        found.append((file.removeprefix(prefix), rest.partition("\0")[2]))
    return found


# Per work tree, its tracked files that an ignore rule matches (see _tracked_ignored).
_TRACKED_IGNORED: weakref.WeakKeyDictionary[Any, list[str]] = weakref.WeakKeyDictionary()


def _tracked_ignored(tree: WorkTree) -> list[str] | None:
    """The tracked files an ignore rule matches (`git add -f build/x.yaml` with `build/`
    ignored), by one `git ls-files` per tree; None when git fails."""
    if tree in _TRACKED_IGNORED:
        return _TRACKED_IGNORED[tree]
    command = ["git", "-C", str(tree.root), "ls-files", "-z", "-c", "-i", "--exclude-standard"]
    done = _git(command)
    if done is None or done.returncode != 0:
        return None
    files = [n for n in done.stdout.decode("utf-8", "surrogateescape").split("\0") if n]
    _TRACKED_IGNORED[tree] = files
    return files


def _tracked_ignored_grep(
    tree: WorkTree, arguments: list[str], suffixes: tuple[str, ...], exclude: list[str]
) -> bytes | None:
    """git grep's output over the tracked files in ignored folders: `git grep --untracked`
    walks the folders and does not enter an ignored one, so it skips the tracked files
    there, which plain `git grep` and kubectl read (a ValidatingAdmissionPolicy force-added
    under an ignored `build/` was not found by a hook's search). Empty when there are none;
    None when git fails."""
    files = _tracked_ignored(tree)
    if files is None:
        return None
    files = [f for f in files if not suffixes or f.endswith(suffixes)]
    out = []
    for start in range(0, len(files), _PATHS_PER_GREP):  # (a force-added vendor/: thousands)
        command = ["git", "-C", str(tree.root), "grep", *arguments[:1], "-z", _text_option(tree)]
        command += ["-F"]
        command += [*arguments[1:], "--"]
        command += [f":(literal){f}" for f in files[start : start + _PATHS_PER_GREP]]
        command += [f":(exclude,glob){pattern}" for pattern in exclude]
        done = _git(command)
        if done is None or done.returncode not in (0, 1):
            return None
        out.append(done.stdout)
    return b"".join(out)


# Paths given to one git grep: well under the system's limit on a command line's length.
_PATHS_PER_GREP = 1000


def _text_option(tree: WorkTree) -> str:
    """git grep's binary option for a work tree: `-I` (files with a NUL early on are not
    searched, as Contents.binary notes), unless the tree has a .gitattributes, whose `binary`
    or `-diff` makes git take any file for binary (red team s26 trust20 g01: `*.yaml -diff`
    hid the repository's admission policies from the search, while kubectl and Argo CD
    read those files): then `-a`, every file searched as text."""
    listed = tree.list_dir("")
    attributes = any(name.rsplit("/", 1)[-1] == ".gitattributes" for name in listed)
    return "-a" if attributes else "-I"


def spelling(
    tree: Tree,
    words: Iterable[str],
    suffixes: Iterable[str] = (),
    lines: bool = False,
    skip: Callable[[str], bool] | None = None,
    near: Iterable[str] = (),
    exclude: Iterable[str] = (),
) -> list[tuple[str, str | None]]:
    """git_grep's answer, else every file read (those `skip` names left out: `skip` must
    also refuse what the `exclude` globs do); a file that cannot be read is (file, None): it
    may spell them."""
    words, suffixes, near = list(words), tuple(suffixes), list(near)
    found = git_grep(tree, words, suffixes, lines, near, exclude)
    if found is not None:
        return [(file, line) for file, line in found if skip is None or not skip(file)]
    out: list[tuple[str, str | None]] = []
    for file in tree.list_dir(""):
        if (suffixes and not file.endswith(suffixes)) or (skip is not None and skip(file)):
            continue
        try:
            text = tree.read(file).decode("utf-8", "replace")
        except (OSError, ValueError):
            out.append((file, None))
            continue
        if lines:
            out += [
                (file, line)
                for line in text.splitlines()
                if any(w in line for w in words) and (not near or any(n in line for n in near))
            ]
        elif any(word in text for word in words) and (not near or any(n in text for n in near)):
            out.append((file, ""))
    return out


def _commit(tree: Tree) -> Any:
    """The commit a revision's tree reads (gatekeeper.git.RevisionTree), or None."""
    commit = getattr(tree, "commit", None)
    if commit is not None and hasattr(commit, "hexsha") and hasattr(commit, "repo"):
        return commit
    return None
