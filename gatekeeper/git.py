"""What a change touches: the files and lines of `base..head`, and file contents of a revision.

Everything here goes through GitPython (imported lazily: the pre-commit path never needs it).
Contents are read up front into plain dicts, so the scan can fork workers safely afterwards.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatekeeper.errors import UsageError

if TYPE_CHECKING:
    import git

# Larger blobs are not read into the revision tree (sources reject them as too large anyway).
MAX_BLOB_BYTES = 2 * 1024 * 1024
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


def read_files(commit: git.Commit, paths: list[str]) -> dict[str, bytes]:
    """Contents of `paths` at `commit`; missing paths are left out."""
    found: dict[str, bytes] = {}
    for path in paths:
        blob = _blob(commit, path)
        if blob is not None:
            found[path] = blob.data_stream.read()
    return found


def _blob(commit: git.Commit, path: str) -> Any:
    try:
        obj = commit.tree / path
    except KeyError:
        return None
    return obj if obj.type == "blob" else None


def read_tree(commit: git.Commit, keep: Any = None) -> dict[str, bytes]:
    """The revision's blobs (those `keep(path)` accepts), skipping very large ones."""
    files: dict[str, bytes] = {}
    item: Any
    for item in commit.tree.traverse():
        if item.type != "blob" or item.size > MAX_BLOB_BYTES:
            continue
        path = str(item.path)
        if keep is not None and not keep(path):
            continue
        files[path] = item.data_stream.read()
    return files
