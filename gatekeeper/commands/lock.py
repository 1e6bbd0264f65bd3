"""`gatekeeper lock`: pin every git policy source of the configuration to a commit."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gatekeeper import lock
from gatekeeper.commands.scan import find_config
from gatekeeper.errors import UsageError


def run(args: argparse.Namespace) -> int:
    config = find_config(args.config, Path.cwd())
    if not config.file:
        raise UsageError("no .gatekeeper.yml here: nothing to lock")
    sources = lock.git_sources(config.policies)
    entries: list[lock.LockEntry] = []
    for source in sources:
        key = (source["git"], source["ref"])
        if any((entry.git, entry.ref) == key for entry in entries):
            continue
        entries.append(lock.LockEntry(source["git"], source["ref"], lock.resolve(*key)))
    path = Path(config.file).parent / lock.LOCK_NAME
    text = lock.render_lock(entries)
    previous = path.read_text() if path.is_file() else None
    if previous != text:
        path.write_text(text)
    for entry in entries:
        print(f"{entry.git} {entry.ref} -> {entry.commit}", file=sys.stderr)
    print(f"{path}: {'unchanged' if previous == text else 'written'}", file=sys.stderr)
    return 0
