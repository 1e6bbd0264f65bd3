"""`gatekeeper lock`: pin every git policy source of the configuration to a commit."""

from __future__ import annotations

import argparse
import sys

from gatekeeper import context, lock
from gatekeeper.errors import UsageError


def run(args: argparse.Namespace) -> int:
    root = context.find_root((), args.root)
    config = context.load_config(root, args.config)
    if not config.file:
        raise UsageError(f"no .gatekeeper.yml in {root}: nothing to lock")
    sources = lock.git_sources(config.policies)
    entries: list[lock.LockEntry] = []
    for source in sources:
        key = (source["git"], source["ref"])
        if any((entry.git, entry.ref) == key for entry in entries):
            continue
        entries.append(lock.LockEntry(source["git"], source["ref"], lock.resolve(*key)))
    path = context.config_dir(root, config) / lock.LOCK_NAME
    text = lock.render_lock(entries)
    previous = path.read_text() if path.is_file() else None
    if previous != text:
        path.write_text(text)
    for entry in entries:
        print(f"{entry.git} {entry.ref} -> {entry.commit}", file=sys.stderr)
    shown = context.shown(str(path), root)
    print(f"{shown}: {'unchanged' if previous == text else 'written'}", file=sys.stderr)
    return 0
