"""Assemble the policies a run uses: built-in packs, configured sources, command-line dirs."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from gatekeeper.config import Config
from gatekeeper.errors import ConfigError
from gatekeeper.evaluate import Engine
from gatekeeper.policy.loader import builtin_dir, load_bundle


def policy_roots(config: Config, extra: Iterable[str] = (), builtin: bool = True) -> list[Path]:
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
    base = Path(config.file).parent if config.file else Path()
    roots.extend(base / source["path"] for source in config.policies)
    roots.extend(Path(directory) for directory in extra)
    return roots


def build_engine(
    config: Config,
    extra_dirs: Iterable[str] = (),
    builtin: bool = True,
    disable: Iterable[str] = (),
) -> Engine:
    policies = load_bundle(policy_roots(config, extra_dirs, builtin))
    known = {policy.id for policy in policies}
    for what, ids in (("params", config.params), ("disable", [*config.disable, *disable])):
        unknown = sorted(set(ids) - known)
        if unknown:
            raise ConfigError(f"{what}: unknown policy id(s) {', '.join(unknown)}", config.file)
    disabled = {*config.disable, *disable}
    return Engine([policy for policy in policies if policy.id not in disabled], config.params)
