"""What a change touches: the files and lines of `base..head`, and file contents of a revision.

Everything here goes through GitPython (imported lazily: the pre-commit path never needs it).
Contents are read up front into plain dicts, so the scan can fork workers safely afterwards.
"""

from __future__ import annotations

import bisect
import contextlib
import os
import posixpath
import re
import subprocess
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatekeeper import lazy_re
from gatekeeper.document import Problem
from gatekeeper.errors import UsageError
from gatekeeper.problems import dangling_links
from gatekeeper.tree import MAX_READ_BYTES, OUTSIDE_MESSAGE, OutsideLink, resolve_link

if TYPE_CHECKING:
    import git

LINK_MODE = 0o120000  # a blob that is a symbolic link: its content is the target path
SUBMODULE = "\0submodule"  # in the links of a revision: a submodule, not a link
_READ_AHEAD = 256  # files read at once when a walk reads the tree in order
_SAME_NAME_AHEAD = 4096  # at most this many files of one name read ahead at once
_INLINE_REQUESTS = 64  # ids (41 bytes each) written without a thread: far below a pipe's 64 KiB
# A partial clone fetches missing blobs on demand; a scan never uses the network.
# (GIT_NO_LAZY_FETCH since git 2.44; before it, no transport may be used at all.)
NO_NETWORK = {"GIT_NO_LAZY_FETCH": "1", "GIT_ALLOW_PROTOCOL": "none"}
_SUBMODULE_MODE = 0o160000
_NOT_FILES = (LINK_MODE, _SUBMODULE_MODE)
_HUNK = lazy_re.compile(rb"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


@dataclass(frozen=True)
class FileChange:
    """One changed file: `old` is None for an added file, `new` None for a deleted one."""

    status: str  # A, M, D, R, T, C (git's letters)
    old: str | None
    new: str | None


def remote_urls(root: Path) -> list[str]:
    """The URLs this checkout's remotes fetch from, and the repository a GitHub Actions run
    checks: how an Argo CD Application or a Flux GitRepository of this repository names it.
    Read from git's config files (no git process: a hook pays for every call)."""
    urls: list[str] = []
    server, name = os.environ.get("GITHUB_SERVER_URL"), os.environ.get("GITHUB_REPOSITORY")
    if server and name:
        urls.append(f"{server.rstrip('/')}/{name}")
    urls.extend(url for _, url in remotes(root))
    return list(dict.fromkeys(urls))


def remotes(root: Path) -> list[tuple[str, str]]:
    """(name, URL) of each remote in the config files of the checkout at `root`, in order."""
    found: list[tuple[str, str]] = []
    for config in _config_files(root):
        try:
            text = config.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        remote = None
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("["):
                named = _REMOTE.match(line)
                remote = named.group(1) if named else None
            elif remote is not None and (url := _URL.match(line)):
                found.append((remote, url.group(1).strip().strip('"')))
    return found


_REMOTE = lazy_re.compile(r'\[remote\s+"([^"]*)"\s*\]')
_URL = lazy_re.compile(r"url\s*=\s*(.+)$", re.IGNORECASE)


def _config_files(root: Path) -> list[Path]:
    """The checkout's git config: `.git/config`, or a linked worktree's common one, or a
    bare repository's own."""
    dot = root / ".git"
    if dot.is_dir():
        return [dot / "config"]
    if (root / "HEAD").is_file() and (root / "config").is_file():
        return [root / "config"]
    try:
        pointer = dot.read_text(encoding="utf-8").strip()
    except OSError:
        return []
    if not pointer.startswith("gitdir:"):
        return []
    gitdir = (root / pointer[len("gitdir:") :].strip()).resolve()
    try:
        common = (gitdir / (gitdir / "commondir").read_text(encoding="utf-8").strip()).resolve()
    except OSError:
        common = gitdir
    return [common / "config", gitdir / "config"]


def open_repo(root: Path) -> git.Repo:
    import git

    try:
        repo = git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise UsageError(f"not a git repository: {root}") from None
    repo.git.update_environment(**NO_NETWORK)
    return repo


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


def _diff(repo: git.Repo, *args: str, **options: Any) -> Any:
    """`git diff`; objects the clone lacks (a partial or shallow clone) are a usage error:
    the scan never fetches them."""
    import git

    try:
        return repo.git.diff(*args, **options)
    except git.GitCommandError as error:
        detail = str(error.stderr).strip().splitlines()[-1:] or [str(error)]
        raise UsageError(
            f"git diff failed: {detail[0].strip(chr(39))}; the clone must hold both revisions'"
            " contents (gatekeeper never fetches: fetch them before the scan)"
        ) from None


def changed_files(repo: git.Repo, base: str, head: str) -> list[FileChange]:
    out: str = _diff(
        repo, "--name-status", "-M", "-z", "--no-ext-diff", "--no-textconv", base, head
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
    raw: bytes = _diff(
        repo,
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
    dangling: dict[str, str] | None = None,
) -> dict[str, str]:
    """What a deployer reads through `link`: the file it leads to, or every file of the
    directory it leads to (under the link's name), as {path read: blob path}. A link out of
    the repository or a loop is a problem at the link, and nothing is read; a link to a path
    the revision lacks goes to `dangling` (link -> that path; one notice per path), or
    without it is a notice at the link."""
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
        if dangling is not None:
            dangling[link] = target
        elif problems is not None:
            problems.extend(dangling_links({link: target}))
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


def _report_all(problems: list[Problem] | None, found: list[Problem]) -> None:
    if problems is not None:
        problems.extend(found)


def read_tree(
    commit: git.Commit, keep: Any = None, problems: list[Problem] | None = None
) -> dict[str, bytes]:
    """The revision's files (those `keep(path)` accepts) as a deployer reads them: symbolic
    links followed inside the repository, larger files cut at the read limit. Links that
    cannot be followed go to `problems`."""
    blobs, links = _index(commit)
    files = {path: _data(blob) for path, blob in blobs.items() if keep is None or keep(path)}
    names = sorted(blobs)
    dangling: dict[str, str] = {}
    for link in sorted(links):
        if keep is None or keep(link):
            files.update(_read(_targets(link, blobs, links, names, problems, dangling), blobs))
    _report_all(problems, dangling_links(dangling))
    return files


@dataclass(frozen=True)
class Blob:
    """A file of a revision as `git ls-tree` lists it: content id and mode (120000: a link)."""

    sha: str
    mode: str


def list_tree(commit: git.Commit) -> dict[str, Blob]:
    """Every blob (links included) and submodule of the revision by path, from one
    `git ls-tree`."""
    raw: bytes = commit.repo.git.ls_tree(
        "-r", "-z", "--full-tree", commit.hexsha, stdout_as_string=False
    )
    blobs: dict[str, Blob] = {}
    for row in raw.split(b"\0"):
        if not row:
            continue
        meta, _, name = row.partition(b"\t")
        mode, kind, sha = meta.split()
        if kind in (b"blob", b"commit"):  # a commit: a submodule (mode 160000)
            path = name.decode("utf-8", "surrogateescape")
            blobs[path] = Blob(sha.decode(), mode.decode())
    return blobs


class BlobReader:
    """Blob contents through one `git cat-file --batch` process (started on first use).

    A forked worker that inherits the reader starts its own process rather than sharing the
    parent's pipes. Blobs above READ_LIMIT are cut there: sources report them as too large.
    """

    READ_LIMIT = MAX_READ_BYTES + 1  # the size check sees a file over the limit

    def __init__(self, git_dir: str | os.PathLike[str]) -> None:
        self.git_dir = str(git_dir)
        self._process: subprocess.Popen[bytes] | None = None
        self._pid = 0

    def _started(self) -> subprocess.Popen[bytes]:
        if self._process is None or self._pid != os.getpid() or self._process.poll() is not None:
            self._process = subprocess.Popen(
                ["git", f"--git-dir={self.git_dir}", "cat-file", "--batch"],
                env={**os.environ, **NO_NETWORK},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            self._pid = os.getpid()
        return self._process

    def read(self, sha: str) -> bytes | None:
        return self.read_many([sha]).get(sha)

    def read_many(self, shas: list[str]) -> dict[str, bytes]:
        """Contents by id; ids git does not have are left out. Many requests are written by
        a thread while answers are read, so neither pipe fills up and blocks the other."""
        if not shas:
            return {}
        process = self._started()
        assert process.stdin is not None and process.stdout is not None
        stdin, stdout = process.stdin, process.stdout

        def request() -> None:
            try:
                stdin.write("".join(f"{sha}\n" for sha in shas).encode())
                stdin.flush()
            except (BrokenPipeError, ValueError):
                pass  # git stopped (a blob it may not fetch): the rest are left out

        writer = threading.Thread(target=request, daemon=True)
        if len(shas) < _INLINE_REQUESTS:
            request()  # a few ids fit in the pipe: no thread
        else:
            writer.start()
        found: dict[str, bytes] = {}
        for sha in shas:
            header = stdout.readline().split()
            if not header:
                break  # git stopped
            if len(header) != 3:
                continue  # `<id> missing`
            size = int(header[2])
            data = stdout.read(min(size, self.READ_LIMIT))
            left = size - len(data)
            while left > 0:  # the part beyond the limit is read and dropped
                left -= len(stdout.read(min(left, 1 << 20)))
            stdout.read(1)  # the newline after the content
            if header[1] == b"blob":
                found[sha] = data
        if writer.is_alive():
            writer.join()
        return found

    def close(self) -> None:
        if self._process is not None and self._pid == os.getpid():
            assert self._process.stdin is not None
            with contextlib.suppress(BrokenPipeError):
                self._process.stdin.close()
            self._process.wait()
        self._process = None


class RevisionTree:
    """A revision's files, read on demand through one BlobReader: a pull request needs the
    whole tree to follow what a changed file feeds, but reads only the files it follows."""

    def __init__(self, commit: git.Commit, reader: BlobReader | None = None) -> None:
        self.commit = commit
        self.reader = reader or BlobReader(commit.repo.git_dir)
        listed = list_tree(commit)
        files = {path: blob for path, blob in listed.items() if int(blob.mode, 8) not in _NOT_FILES}
        stored = {p: b.sha for p, b in listed.items() if int(b.mode, 8) == LINK_MODE}
        targets = self.reader.read_many(sorted(set(stored.values())))
        links = {
            p: targets.get(sha, b"").decode("utf-8", "surrogateescape") for p, sha in stored.items()
        }
        links.update({p: SUBMODULE for p, b in listed.items() if int(b.mode, 8) == _SUBMODULE_MODE})
        # As a deployer reads the tree: a link is read as its target, a link to a directory
        # as the files below it (under the link's name); one that cannot be is a problem.
        self.problems: list[Problem] = []
        self.read_through: dict[str, str] = {}  # path read through a link -> the file read
        names = sorted(files)
        dangling: dict[str, str] = {}
        for link in sorted(links):
            self.read_through.update(_targets(link, files, links, names, self.problems, dangling))
        self.problems += dangling_links(dangling)
        self.blobs = {**files, **{p: files[t] for p, t in self.read_through.items()}}
        # A submodule's commit: what a deployer checks out there.
        self.submodules = {p: b.sha for p, b in listed.items() if int(b.mode, 8) == _SUBMODULE_MODE}
        self.paths = sorted(self.blobs)
        self._cache: dict[str, bytes] = {}
        self._after_last_miss = -1  # index in `paths` after the last file read from git
        self._named: dict[str, list[str]] | None = None  # file name -> paths (on first use)
        self._missed_names: set[str] = set()

    def read(self, path: str) -> bytes:
        """One file; files read one after another in listing order (a walk of the tree) are
        read ahead in batches, one round trip to git each, and so are, from the second miss
        of a file name on, the tree's other files of that name (every kustomization or
        Chart.yaml a dependency graph reads)."""
        path = posixpath.normpath(path)
        if path not in self._cache:
            if path not in self.blobs:
                raise FileNotFoundError(path)
            index = bisect.bisect_left(self.paths, path)
            if index == self._after_last_miss:
                batch = self.paths[index : index + _READ_AHEAD]
                self._after_last_miss = index + len(batch)
            else:
                batch = [path, *self._same_name(path)]
                self._after_last_miss = index + 1
            self.read_many(batch)
            if path not in self._cache:
                raise FileNotFoundError(path)
        return self._cache[path]

    def _same_name(self, path: str) -> list[str]:
        """The other unread files named like `path`, once its name has been missed before."""
        name = posixpath.basename(path)
        if name not in self._missed_names:
            self._missed_names.add(name)
            return []
        if self._named is None:
            self._named = defaultdict(list)
            for other in self.paths:
                self._named[posixpath.basename(other)].append(other)
        unread = [p for p in self._named[name] if p != path and p not in self._cache]
        return unread[:_SAME_NAME_AHEAD]

    def read_many(self, paths: list[str]) -> dict[str, bytes]:
        """Several files at once (one round trip); missing paths are left out."""
        missing = [p for p in paths if p not in self._cache and p in self.blobs]
        contents = self.reader.read_many([self.blobs[p].sha for p in missing])
        for path in missing:
            if self.blobs[path].sha in contents:
                self._cache[path] = contents[self.blobs[path].sha]
        return {p: self._cache[p] for p in paths if p in self._cache}

    def exists(self, path: str) -> bool:
        return posixpath.normpath(path) in self.blobs

    def pin(self, other: RevisionTree, folders: Iterable[str]) -> None:
        """Read `folders` (paths ending in /) as `other` has them: the trusted revision's copy
        of files a change must not swap for its own (a vendored chart standing in for the
        one the deployer fetches)."""
        prefixes = tuple(folders)
        if not prefixes:
            return
        kept = {p: b for p, b in self.blobs.items() if not p.startswith(prefixes)}
        kept.update({p: b for p, b in other.blobs.items() if p.startswith(prefixes)})
        self.blobs = kept
        self.paths = sorted(kept)
        self._cache = {p: data for p, data in self._cache.items() if p in kept}
        self._named, self._after_last_miss = None, -1

    def content_id(self, path: str) -> str:
        """What names the content at `path`: its blob id, a submodule's commit, or ""."""
        path = posixpath.normpath(path)
        blob = self.blobs.get(path)
        return blob.sha if blob is not None else self.submodules.get(path, "")

    def list_dir(self, path: str) -> list[str]:
        if path in ("", "."):
            return list(self.paths)
        prefix = posixpath.normpath(path).rstrip("/") + "/"
        start = bisect.bisect_left(self.paths, prefix)
        end = bisect.bisect_left(self.paths, prefix[:-1] + "0")  # "0" sorts right after "/"
        return self.paths[start:end]
