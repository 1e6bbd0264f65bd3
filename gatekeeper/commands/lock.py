"""`gatekeeper lock [--update]`: pin every git policy source (and git impact consumer) of the
configuration to a commit, and show the release notes of each policy source that moved."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from gatekeeper import context, lock, output
from gatekeeper.errors import ConfigError, UsageError


def run(args: argparse.Namespace) -> int:
    root = context.find_root((), args.root)
    config = context.load_config(root, args.config)
    if not config.file:
        raise UsageError(f"no .gatekeeper.yml in {root}: nothing to lock")
    path = context.config_dir(root, config) / lock.LOCK_NAME
    shown = context.shown(str(path), root)
    previous_text = path.read_text() if path.is_file() else None
    previous = _previous(previous_text, shown)
    policy_sources = lock.git_sources(config.policies)
    entries: list[lock.LockEntry] = []
    for source in [*policy_sources, *lock.consumer_sources(config.raw)]:
        key = (source["git"], source["ref"])
        if any((entry.git, entry.ref) == key for entry in entries):
            continue
        kept = next((e for e in previous if (e.git, e.ref) == key), None)
        # Without --update a pin stays: a tag moved or a branch advanced changes nothing.
        commit = kept.commit if kept and not args.update else lock.resolve(*key)
        entries.append(lock.LockEntry(*key, commit))
    text = lock.render_lock(entries)
    if previous_text != text:
        path.write_text(text)
    for entry in entries:
        print(f"{entry.git} {entry.ref} -> {entry.commit}", file=sys.stderr)
    print(f"{shown}: {'unchanged' if previous_text == text else 'written'}", file=sys.stderr)
    output.write(_release_notes(policy_sources, previous, entries), None)
    return 0


def _previous(text: str | None, shown: str) -> list[lock.LockEntry]:
    if text is None:
        return []
    try:
        return lock.parse_lock(shown, text.encode())
    except ConfigError as error:
        print(f"{error}: written anew, without release notes", file=sys.stderr)
        return []


def _release_notes(
    sources: list[dict[str, Any]], previous: list[lock.LockEntry], entries: list[lock.LockEntry]
) -> str:
    """Release notes of every policy source whose pinned commit moved (Markdown)."""
    parts = []
    for source in sources:
        old = lock.moved_from(source, previous)
        new = next(e for e in entries if (e.git, e.ref) == (source["git"], source["ref"]))
        if old is None or old.commit == new.commit:
            continue
        subdir = source.get("path", "")
        where = f"{source['git']}{f' ({subdir})' if subdir else ''}"
        parts.append(
            f"## {where}: {old.ref} ({old.commit[:12]}) -> {new.ref} ({new.commit[:12]})\n\n"
            + lock.release_notes(old, new, subdir)
        )
    return "\n".join(parts)
