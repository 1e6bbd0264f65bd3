"""Assemble the policies a run uses: built-in packs, configured sources, command-line dirs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from gatekeeper.config import Config
from gatekeeper.errors import ConfigError, UsageError
from gatekeeper.evaluate import Engine
from gatekeeper.fieldpath import Path as FieldPath
from gatekeeper.policy.hints import unknown_names
from gatekeeper.policy.loader import builtin_dir
from gatekeeper.policy.model import Policy
from gatekeeper.policy.schema import validate
from gatekeeper.yamldoc import NodeLocator

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
    admission_files: list[tuple[Path, bytes]] = []
    from gatekeeper import policycache

    policies, key = policycache.load_keyed(roots, admission_files)
    engine = engine_for(config, policies, disable)
    engine.bundle_key = key  # (a hook keeps judgements under it: gatekeeper.kept_judgements)
    from gatekeeper.admission import documents_of

    engine.admission_documents = tuple(documents_of(admission_files))
    return engine


def engine_for(config: Config, policies: list[Policy], disable: Iterable[str] = ()) -> Engine:
    """An engine over `policies` with the config's params and disabled ids (checked)."""
    check_config(config, policies)
    message = unknown_names("policy id(s)", disable, (policy.id for policy in policies))
    if message:
        raise UsageError(f"--disable: {message}")
    disabled = {*config.disable, *disable}
    admission = config.raw.get("admission") or {}
    return Engine(
        [policy for policy in policies if policy.id not in disabled],
        _with_pss_version(config, policies),
        admission_user_info=dict(admission.get("userInfo") or {}),
        admission_kube_version=str(admission.get("kubeVersion") or ""),
    )


def _with_pss_version(config: Config, policies: list[Policy]) -> dict[str, dict[str, Any]]:
    """`podSecurity.version` sets the `version` param of every policy that has one (the Pod
    Security Standards controls); a policy's own `params` entry still wins."""
    version = (config.raw.get("podSecurity") or {}).get("version")
    if not version:
        return config.params
    params = {key: dict(value) for key, value in config.params.items()}
    for policy in policies:
        if "version" in policy.params:
            params[policy.id] = {"version": version, **params.get(policy.id, {})}
    return params


def check_config(config: Config, policies: list[Policy]) -> None:
    """Where the configuration names policies (`params`, `disable`, and both per directory),
    every id exists and every param value fits its policy's params schema."""
    by_id = {policy.id: policy for policy in policies}
    locator = config.locator or _locator_without_lines(config)
    scopes: list[tuple[FieldPath, dict[str, dict[str, Any]], Iterable[str]]] = [
        ((), config.params, config.disable)
    ]
    scopes.extend(
        (("overrides", index), override.params, override.disable)
        for index, override in enumerate(config.overrides)
    )
    for at, params, disabled in scopes:
        for index, policy_id in enumerate(disabled):
            if policy_id not in by_id:
                _unknown_id(policy_id, by_id, config.file, locator, (*at, "disable", index))
        for policy_id, values in params.items():
            policy = by_id.get(policy_id)
            if policy is None:
                _unknown_id(policy_id, by_id, config.file, locator, (*at, "params", policy_id))
                continue
            merged = {**policy.params, **values}
            validate(
                merged,
                policy.params_schema,
                config.file,
                locator,
                ConfigError,
                (*at, "params", policy_id),
            )


def _unknown_id(
    policy_id: str, by_id: dict[str, Policy], file: str, locator: NodeLocator, path: FieldPath
) -> None:
    where = ".".join(map(str, path[:-1]))
    raise ConfigError(
        f"{where}: {unknown_names('policy id', [policy_id], by_id)}",
        file,
        locator.locate(path).line,
    )


def _locator_without_lines(config: Config) -> NodeLocator:
    """For a configuration built in code, not read from a file."""
    node = yaml.compose(yaml.safe_dump(config.raw or {}))
    assert node is not None
    return NodeLocator(config.file, node)
