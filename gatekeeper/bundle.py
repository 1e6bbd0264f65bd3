"""Assemble the policies a run uses: built-in packs, configured sources, command-line dirs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from gatekeeper.config import Config
from gatekeeper.errors import ConfigError
from gatekeeper.evaluate import Engine
from gatekeeper.policy.loader import builtin_dir, load_bundle
from gatekeeper.policy.model import Policy

if TYPE_CHECKING:
    from gatekeeper.lock import LockEntry


LockReader = Callable[[], "list[LockEntry] | None"]


def policy_roots(
    config: Config,
    extra: Iterable[str] = (),
    builtin: bool = True,
    *,
    base: Path | None = None,
    read_lock: LockReader | None = None,
) -> list[Path]:
    """Directories to load, in order. `base`: where the config's local paths are relative to
    (default: the config file's directory); `read_lock`: the lock for git sources."""
    roots: list[Path] = []
    if builtin and config.builtin:
        library = builtin_dir()
        packs = sorted(
            p.name for p in library.iterdir() if p.is_dir() and not p.name.startswith("_")
        )
        unknown = sorted(set(config.packs) - set(packs))
        if unknown:
            raise ConfigError(
                f"unknown pack(s) {', '.join(unknown)}; known: {', '.join(packs)}", config.file
            )
        roots.extend(library / pack for pack in packs if not config.packs or pack in config.packs)
    if base is None:
        base = Path(config.file).parent if config.file else Path()
    from gatekeeper import lock

    git_sources = lock.git_sources(config.policies)
    lock_name = (Path(config.file).parent / lock.LOCK_NAME).as_posix() if config.file else ""
    reader = read_lock or (lambda: _read_lock_file(Path(lock_name or lock.LOCK_NAME)))
    entries = iter(lock.pinned(git_sources, reader() if git_sources else None, lock_name))
    for source in config.policies:
        if "git" in source:
            roots.append(lock.checkout(next(entries), source.get("path", "")))
        else:
            roots.append(base / source["path"])
    roots.extend(Path(directory) for directory in extra)
    return roots


def _read_lock_file(path: Path) -> list[LockEntry] | None:
    from gatekeeper import lock

    try:
        data = path.read_bytes()
    except OSError:
        return None
    return lock.parse_lock(path.as_posix(), data)


def build_engine(
    config: Config,
    extra_dirs: Iterable[str] = (),
    builtin: bool = True,
    disable: Iterable[str] = (),
    *,
    base: Path | None = None,
    read_lock: LockReader | None = None,
) -> Engine:
    """`base` and `read_lock` as for `policy_roots`."""
    roots = policy_roots(config, extra_dirs, builtin, base=base, read_lock=read_lock)
    engine = engine_for(config, load_bundle(roots), disable)
    from gatekeeper.admission import documents_in

    engine.admission_documents = tuple(documents_in(roots))
    return engine


def engine_for(config: Config, policies: list[Policy], disable: Iterable[str] = ()) -> Engine:
    """An engine over `policies` with the config's params and disabled ids (checked)."""
    known = {policy.id for policy in policies}
    for what, ids in (("params", config.params), ("disable", [*config.disable, *disable])):
        unknown = sorted(set(ids) - known)
        if unknown:
            raise ConfigError(f"{what}: unknown policy id(s) {', '.join(unknown)}", config.file)
    disabled = {*config.disable, *disable}
    return Engine([policy for policy in policies if policy.id not in disabled], config.params)
