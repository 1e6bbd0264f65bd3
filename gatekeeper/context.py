"""One run context per command: the repository root and everything read from it.

The root is what makes an answer independent of the working directory: the configuration,
the waivers, chart and overlay resolution and every reported path are taken from it, never
from wherever the command happens to run. It is `--root` when given, else the git top level
of the scanned paths, else the nearest directory above them with a .gatekeeper.yml, else the
working directory (when the paths lie in it, and it is no home, temporary or top-level
directory) or the scanned directory (see `find_root`).
"""

from __future__ import annotations

import dataclasses
import datetime
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gatekeeper import discover
from gatekeeper.config import CONFIG_NAMES, Config, check_paths, parse_config
from gatekeeper.document import Problem
from gatekeeper.errors import UsageError
from gatekeeper.evaluate import Engine
from gatekeeper.problems import dangling_links
from gatekeeper.sources import LISTING_PAYS, LoadContext
from gatekeeper.tree import OUTSIDE_MESSAGE, OutsideLink, Tree, WorkTree
from gatekeeper.waivers import Waiver

STDIN = "-"


@dataclass
class RunContext:
    """Everything a command needs, built once per run (module doc)."""

    root: Path  # absolute and resolved: every path below is relative to it
    config: Config
    engine: Engine
    waivers: list[Waiver]
    tree: Tree
    today: datetime.date = field(default_factory=datetime.date.today)
    # One LoadContext for the whole run: adapters cache chart and overlay lookups per tree.
    load: LoadContext = field(init=False)
    # select_files' answers: the scan's files and the rest of the root (rest_of) are one
    # walk when the scan is of the root.
    _selected: dict[tuple[tuple[str, ...], ...], list[str]] = field(
        init=False, default_factory=dict, repr=False
    )

    def __post_init__(self) -> None:
        self.load = LoadContext(tree=self.tree, options=self.config.sources)


def _nearest(start: Path, holds: Callable[[Path], bool]) -> Path | None:
    for directory in (start, *start.parents):
        if holds(directory):
            return directory
    return None


def git_top_level(start: Path) -> Path | None:
    """The nearest enclosing directory holding `.git` (a directory, or the file of a worktree
    or submodule), as `git rev-parse --show-toplevel` would say; no git process needed."""
    return _nearest(start, lambda directory: (directory / ".git").exists())


def config_home(start: Path) -> Path | None:
    """The enclosing directory holding a .gatekeeper.yml: a project without git. Two of them
    (a nested one below the project's) is a usage error: the nearest would silently replace
    the outer configuration (a change adding deploy/.gatekeeper.yml with a `critical`
    threshold made `scan deploy/` pass) and the outermost may be no project of this scan's;
    only `--root` (or git) can say which one judges."""
    homes = [d for d in (start, *start.parents) if _config_file(d) is not None]
    if len(homes) > 1:
        inner, outer = _config_file(homes[0]), _config_file(homes[1])
        raise UsageError(
            f"no git repository, and two configurations enclose the scanned paths: {inner}:1 "
            f"and {outer}:1; pass --root to say which directory is the repository root"
        )
    return homes[0] if homes else None


def _config_file(directory: Path) -> Path | None:
    for name in CONFIG_NAMES:
        if (directory / name).is_file():
            return directory / name
    return None


def root_note(root: Path, explicit: str | None = None) -> str | None:
    """Without git the root is guessed from the configuration's place: say which root and
    configuration the scan used (None with git or `--root`)."""
    if explicit or git_top_level(root) is not None:
        return None
    config = _config_file(root)
    used = f"configuration {config}" if config else "no configuration file (defaults)"
    return f"gatekeeper: note: no git repository: root {root}, {used}"


def find_root(paths: Sequence[str] = (), explicit: str | None = None) -> Path:
    """`explicit` (`--root`); else the git top level of the scanned paths; else the nearest
    directory above them holding a .gatekeeper.yml (two of them: a usage error); else the
    working directory when they lie inside it (unless it is a home, temporary or top-level
    directory), else the scanned directory itself. Never a directory below a scanned path."""
    if explicit:
        root = Path(explicit).resolve()
        if not root.is_dir():
            raise UsageError(f"--root: no such directory: {explicit}")
        return root
    cwd = Path.cwd()
    for raw in paths:
        if raw != STDIN and not Path(raw).exists():
            raise UsageError(f"no such file or directory: {raw}")
    # Where the arguments sit, not where their symlinks lead: a link out of the repository
    # must meet the repository's root (and be refused there), not become a root of its own.
    on_disk = [Path(os.path.abspath(path)) for path in paths if path != STDIN] or [cwd]
    directories = [
        path if path.is_dir() and not path.is_symlink() else path.parent for path in on_disk
    ]
    start = Path(os.path.commonpath(directories))
    found = git_top_level(start) or config_home(start)
    if found is None:
        found = cwd if (cwd == start or cwd in start.parents) and not _never_root(cwd) else start
    return found.resolve()


def _never_root(directory: Path) -> bool:
    """A home, temporary or top-level directory is never a project: taken as the root (the
    working directory above a scanned folder) its whole content was walked and read for
    repository-scope rules and owners (scanning an empty folder from /tmp: 526 s, 8 GB)."""
    import tempfile

    resolved = directory.resolve()
    broad = {Path.home(), Path(tempfile.gettempdir()), Path("/tmp"), Path("/var/tmp")}
    broad |= {Path("/home"), Path("/Users")}
    return resolved in {path.resolve() for path in broad} or len(resolved.parts) <= 1


def inside(root: Path, paths: Sequence[str]) -> list[str]:
    """The PATH arguments as absolute paths, each checked to lie inside the root: a scan
    never reads outside its repository."""
    out = []
    for raw in paths:
        path = Path(os.path.abspath(raw))
        if not path.exists():
            raise UsageError(f"no such file or directory: {raw}")
        resolved = path.resolve()
        if resolved != root and root not in resolved.parents:
            raise UsageError(f"{raw} is outside the repository root {root}; pass --root")
        out.append(str(path))
    return out


def load_config(root: Path, explicit: str | None = None) -> Config:
    """`explicit` (`--config`, relative to the working directory), else the root's
    .gatekeeper.yml; named relative to the root in messages."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise UsageError("configuration file not found", explicit)
        return parse_config(discover.relative(path, root), path.read_bytes())
    for name in CONFIG_NAMES:
        if (root / name).is_file():
            return parse_config(name, (root / name).read_bytes())
    return Config()


def with_own_urls(config: Config, root: Path) -> Config:
    """`sources.gitops.repoURLs` with this checkout's own URLs added (its remotes, the
    repository a GitHub Actions run checks): an Argo CD Application or Flux GitRepository
    naming the repository deploys from it whether or not the configuration lists it, and
    was skipped without a word when it did not."""
    from gatekeeper.git import remote_urls

    own = remote_urls(root)
    if not own:
        return config
    gitops = dict(config.sources.get("gitops", {}))
    listed = [str(url) for url in gitops.get("repoURLs", [])]
    gitops["repoURLs"] = list(dict.fromkeys([*listed, *own]))
    return dataclasses.replace(config, sources={**config.sources, "gitops": gitops})


def config_dir(root: Path, config: Config) -> Path:
    """Where the configuration's own relative paths (policies, waivers, lock) start."""
    if not config.file:
        return root
    directory = Path(config.file).parent
    return directory if directory.is_absolute() else root / directory


def load_waivers(root: Path, config: Config, today: datetime.date) -> list[Waiver]:
    from gatekeeper.waivers import parse_waivers

    path = config_dir(root, config) / config.waivers_file
    if not path.is_file():
        return []
    name = discover.relative(path, root)
    return parse_waivers(name, path.read_bytes(), today, config.max_horizon_days)


def policy_sources(root: Path, config: Config) -> dict[str, Any]:
    """Where the configuration's policy sources resolve: its own directory (`base`) and its
    lock file there (`read_lock`), not the working directory; keywords of policy_roots."""
    from gatekeeper import lock

    base = config_dir(root, config)

    def read_lock() -> list[lock.LockEntry] | None:
        path = base / lock.LOCK_NAME
        if not path.is_file():
            return None
        return lock.parse_lock(discover.relative(path, root), path.read_bytes())

    return {"base": base, "read_lock": read_lock}


def build_engine(
    root: Path,
    config: Config,
    policy_dirs: Sequence[str] = (),
    builtin: bool = True,
    disable: Sequence[str] = (),
) -> Engine:
    """The engine with the configuration's policy sources resolved from the root."""
    from gatekeeper import bundle

    extra = [os.path.abspath(directory) for directory in policy_dirs]
    try:
        return bundle.build_engine(config, extra, builtin, disable, **policy_sources(root, config))
    except UsageError as error:  # name the policy file as every other path: from the root
        error.file = shown(error.file, root)
        raise


def shown(file: str, root: Path) -> str:
    """A path as messages and listings show it: relative to the root when inside it."""
    if not file or not Path(file).is_absolute():
        return file
    name = discover.relative(Path(file), root)
    return file if name.startswith("/") else name


def for_worktree(
    paths: Sequence[str] = (),
    *,
    root: str | None = None,
    config_file: str | None = None,
    policy_dirs: Sequence[str] = (),
    builtin: bool = True,
    disable: Sequence[str] = (),
    with_engine: bool = True,
    repository_scope: bool = True,
    today: datetime.date | None = None,
) -> RunContext:
    """The context of a scan of files on disk (`scan`, `scan --hook`, `inventory`).

    `repository_scope=False` (pre-commit: a few staged files) leaves the policies that need
    every file of the repository to the pull request check."""
    top = find_root(paths, root)
    config = with_own_urls(load_config(top, config_file), top)
    tree = WorkTree(top)
    check_paths(config, tree)
    today = today or datetime.date.today()
    engine = build_engine(top, config, policy_dirs, builtin, disable) if with_engine else Engine([])
    if not repository_scope:
        kept = [policy for policy in engine.policies if policy.scope != "repository"]
        engine = dataclasses.replace(engine, policies=kept)
        if not engine.admission_documents:
            # The repository's own admission policies are found by searching all of it (a
            # `git grep` of every file): they judge the staged files from anywhere in the
            # tree, like a repository-scope policy. Those of policy directories still run.
            from gatekeeper import admission

            admission.assume_none(tree)
    return RunContext(top, config, engine, load_waivers(top, config, today), tree, today)


def select_files(
    run: RunContext, paths: Sequence[str], include: Sequence[str] = (), exclude: Sequence[str] = ()
) -> list[str]:
    """The files under the PATH arguments (default: the root) that the config's and the
    command's globs keep, relative to the root."""
    walked = tuple(inside(run.root, paths) if paths else [str(run.root)])
    key = (walked, (*run.config.include, *include), (*run.config.exclude, *exclude))
    if key not in run._selected:
        found = discover.walk(walked, run.root)
        run._selected[key] = discover.select(found, key[1], key[2])
    return list(run._selected[key])


def read_files(
    run: RunContext, files: Sequence[str], unreadable: list[Problem]
) -> Iterator[tuple[str, bytes]]:
    """(path, content) of each file; one that cannot be read becomes a problem at its path
    (links to a file the repository does not hold: one low notice per file named)."""
    dangling: dict[str, str] = {}
    if len(files) >= LISTING_PAYS and isinstance(run.tree, WorkTree):
        # The whole tree's listing, which sources.with_owners takes next for as many files:
        # a listed file is read without resolving its folders (two stats and a Python walk
        # of its path each; 0.1 s of the real k8s-full corpus's 9,258 files).
        run.tree.list_dir(".")
    for name in files:
        try:
            yield name, run.tree.read(name)
        except OutsideLink:
            unreadable.append(Problem("GK-SYMLINK", name, 1, OUTSIDE_MESSAGE))
        except FileNotFoundError as error:
            target = _dangling_target(run.root, name)
            if target is None:
                reason = error.strerror or "not readable inside the repository"
                unreadable.append(Problem("GK-READ-ERROR", name, 1, f"cannot read: {reason}"))
            else:
                dangling[name] = target
        except OSError as error:
            reason = error.strerror or "not readable inside the repository"
            unreadable.append(Problem("GK-READ-ERROR", name, 1, f"cannot read: {reason}"))
    unreadable.extend(dangling_links(dangling))


def _dangling_target(root: Path, name: str) -> str | None:
    """The repository path a dangling symbolic link at `name` names (read_file refused any
    link leading outside the repository before it found nothing there), else None."""
    path = root / name
    if not os.path.islink(path):
        return None
    real_root = os.path.realpath(root)
    return os.path.relpath(os.path.realpath(path), real_root).replace(os.sep, "/")


def rest_of(
    run: RunContext, files: Sequence[str], include: Sequence[str] = (), exclude: Sequence[str] = ()
) -> Iterator[tuple[str, bytes]]:
    """The root's Kubernetes manifests other than `files` (same globs), read lazily and only
    when a repository-scope policy needs them: scanning part of a repository sees the whole."""
    from gatekeeper.sources import kubernetes

    if not run.engine.needs_inventory:
        return
    scanned = set(files)
    others = [
        name
        for name in select_files(run, [], include, exclude)
        if name not in scanned and kubernetes.detect(name)
    ]
    yield from read_files(run, others, [])
