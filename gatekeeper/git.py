"""What a change touches: the files and lines of `base..head`, and file contents of a revision.

Everything here goes through GitPython (imported lazily: the pre-commit path never needs it).
Contents are read up front into plain dicts, so the scan can fork workers safely afterwards.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatekeeper.document import Problem
from gatekeeper.errors import UsageError
from gatekeeper.tree import MAX_READ_BYTES, OUTSIDE_MESSAGE, OutsideLink, resolve_link

if TYPE_CHECKING:
    import git

LINK_MODE = 0o120000  # a blob that is a symbolic link: its content is the target path
SUBMODULE = "\0submodule"  # in the links of a revision: a submodule, not a link
_HUNK = re.compile(rb"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


@dataclass(frozen=True)
class FileChange:
    """One changed file: `old` is None for an added file, `new` None for a deleted one."""

    status: str  # A, M, D, R, T, C (git's letters)
    old: str | None
    new: str | None


def open_repo(root: Path) -> git.Repo:
    import git

    try:
        return git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise UsageError(f"not a git repository: {root}") from None


def resolve(repo: git.Repo, ref: str) -> git.Commit:
    import git

    try:
        return repo.commit(ref)
    except (git.BadName, ValueError, git.GitCommandError):
        raise UsageError(f"unknown git revision: {ref}") from None


def merge_base(repo: git.Repo, base: git.Commit, head: git.Commit) -> git.Commit:
    """Where head forked from base, as a pull request compares; base itself if unrelated."""
    found = repo.merge_base(base, head)
    return found[0] if found else base


def changed_files(repo: git.Repo, base: str, head: str) -> list[FileChange]:
    out: str = repo.git.diff(
        "--name-status", "-M", "-z", "--no-ext-diff", "--no-textconv", base, head
    )
    fields = out.split("\0")
    changes: list[FileChange] = []
    index = 0
    while index < len(fields) and fields[index]:
        status = fields[index][0]
        if status in "RC":
            old, new = fields[index + 1], fields[index + 2]
            index += 3
        else:
            old = new = fields[index + 1]
            index += 2
        changes.append(
            FileChange(status, None if status == "A" else old, None if status == "D" else new)
        )
    return changes


def changed_lines(repo: git.Repo, base: str, head: str, context: int = 0) -> dict[str, set[int]]:
    """Per head path, the head line numbers in hunks (added/modified lines when context=0)."""
    raw: bytes = repo.git.diff(
        f"--unified={context}",
        "-M",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        "--src-prefix=a/",
        "--dst-prefix=b/",
        base,
        head,
        stdout_as_string=False,
    )
    lines: dict[str, set[int]] = defaultdict(set)
    current: str | None = None
    for row in raw.split(b"\n"):
        if row.startswith(b"+++ "):
            target = row[4:]
            current = None if target == b"/dev/null" else _unquote(target)[2:]
        elif row.startswith(b"@@") and current is not None:
            match = _HUNK.match(row)
            if match:
                start, count = int(match.group(1)), int(match.group(2) or b"1")
                lines[current].update(range(start, start + count))
    return dict(lines)


def _unquote(raw: bytes) -> str:
    """git quotes paths with unusual characters C-style: "b/caf\\303\\251.yaml"."""
    if raw.startswith(b'"') and raw.endswith(b'"'):
        import codecs

        raw = codecs.escape_decode(raw[1:-1])[0]
    return raw.decode("utf-8", "surrogateescape")


def read_files(
    commit: git.Commit, paths: list[str], problems: list[Problem] | None = None
) -> dict[str, bytes]:
    """Contents of `paths` at `commit`; missing paths are left out. A symbolic link is read
    as its target (see read_tree)."""
    found: dict[str, bytes] = {}
    for path in paths:
        blob = _blob(commit, path)
        if blob is None:
            continue
        if blob.mode == LINK_MODE:
            blobs, links = _index(commit)
            found.update(_read(_targets(path, blobs, links, [], problems), blobs))
        else:
            found[path] = _data(blob)
    return found


def _blob(commit: git.Commit, path: str) -> Any:
    try:
        obj = commit.tree / path
    except KeyError:
        return None
    return obj if obj.type == "blob" else None


def _data(blob: Any) -> bytes:
    """A blob's content, at most the read limit and one byte more (the size check sees it)."""
    data: bytes = blob.data_stream.read(MAX_READ_BYTES + 1)
    return data


_INDEXES: dict[str, tuple[dict[str, Any], dict[str, str]]] = {}


def _index(commit: git.Commit) -> tuple[dict[str, Any], dict[str, str]]:
    """The revision's blobs by path, and its symbolic links (path -> target as stored)."""
    key = f"{commit.repo.git_dir}:{commit.hexsha}"
    if key not in _INDEXES:
        blobs: dict[str, Any] = {}
        links: dict[str, str] = {}
        item: Any
        for item in commit.tree.traverse():
            if item.type == "submodule":
                links[str(item.path)] = SUBMODULE
                continue
            if item.type != "blob":
                continue
            if item.mode == LINK_MODE:
                links[str(item.path)] = item.data_stream.read().decode("utf-8", "surrogateescape")
            else:
                blobs[str(item.path)] = item
        if len(_INDEXES) >= 4:  # a change reads a few revisions: the trusted base, base, head
            del _INDEXES[next(iter(_INDEXES))]
        _INDEXES[key] = (blobs, links)
    return _INDEXES[key]


def _read(found: dict[str, str], blobs: dict[str, Any]) -> dict[str, bytes]:
    """{path read: blob path} (see _targets) -> {path read: content}."""
    return {path: _data(blobs[target]) for path, target in found.items()}


def _targets(
    link: str,
    blobs: dict[str, Any],
    links: dict[str, str],
    names: list[str],
    problems: list[Problem] | None,
) -> dict[str, str]:
    """What a deployer reads through `link`: the file it leads to, or every file of the
    directory it leads to (under the link's name), as {path read: blob path}. A link out of
    the repository, a loop or a dangling link is a problem at the link, and nothing is read."""
    if links[link] == SUBMODULE:  # Argo CD checks submodules out; we cannot see them
        message = "git submodule: its files are in another repository; not checked"
        _report(problems, Problem("GK-READ-ERROR", link, 1, message))
        return {}
    try:
        target = resolve_link(link, links)
    except OutsideLink:
        _report(problems, Problem("GK-SYMLINK", link, 1, OUTSIDE_MESSAGE))
        return {}
    except OSError as error:
        _report(problems, Problem("GK-READ-ERROR", link, 1, f"cannot read: {error.strerror}"))
        return {}
    if target in blobs:
        return {link: target}
    if not target or link.startswith(f"{target}/"):
        return {}  # a link to a directory above it: walking it again would never end
    prefix = f"{target}/"
    names = names or sorted(blobs)
    start = bisect.bisect_left(names, prefix)
    found: dict[str, str] = {}
    for name in names[start:]:
        if not name.startswith(prefix):
            break
        found[f"{link}/{name[len(prefix) :]}"] = name
    if not found:
        message = "cannot read: No such file or directory"
        _report(problems, Problem("GK-READ-ERROR", link, 1, message))
    return found


def linked(commit: git.Commit, changed: Iterable[str]) -> dict[str, bytes]:
    """The files read through symbolic links that lead to a `changed` file, with their
    content: a change to a link's target changes what is applied at the link."""
    blobs, links = _index(commit)
    wanted = set(changed)
    names = sorted(blobs)
    return {
        path: _data(blobs[target])
        for link in sorted(links)
        for path, target in _targets(link, blobs, links, names, None).items()
        if target in wanted
    }


def _report(problems: list[Problem] | None, problem: Problem) -> None:
    if problems is not None:
        problems.append(problem)


def read_tree(
    commit: git.Commit, keep: Any = None, problems: list[Problem] | None = None
) -> dict[str, bytes]:
    """The revision's files (those `keep(path)` accepts) as a deployer reads them: symbolic
    links followed inside the repository, larger files cut at the read limit. Links that
    cannot be followed go to `problems`."""
    blobs, links = _index(commit)
    files = {path: _data(blob) for path, blob in blobs.items() if keep is None or keep(path)}
    names = sorted(blobs)
    for link in sorted(links):
        if keep is None or keep(link):
            files.update(_read(_targets(link, blobs, links, names, problems), blobs))
    return files
