"""`gatekeeper docs [DIR...] [--check]`: the policy table of each pack's README.md."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gatekeeper.docs import table, with_table
from gatekeeper.errors import UsageError
from gatekeeper.policy.loader import builtin_dir, load_bundle


def run(args: argparse.Namespace) -> int:
    directories = [Path(d) for d in args.dirs] or sorted(
        d for d in builtin_dir().iterdir() if d.is_dir() and not d.name.startswith("_")
    )
    stale = []
    for directory in directories:
        if not directory.is_dir():
            raise UsageError(f"no such policy directory: {directory}")
        readme = directory / "README.md"
        current = readme.read_text(encoding="utf-8") if readme.is_file() else ""
        wanted = with_table(current, table(load_bundle([directory])))
        if wanted == current:
            continue
        if args.check:
            stale.append(readme)
        else:
            readme.write_text(wanted, encoding="utf-8")
            print(f"{readme}: written", file=sys.stderr)
    for readme in stale:
        print(
            f"{readme}: the policy table is stale; run `gatekeeper docs {readme.parent}`",
            file=sys.stderr,
        )
    return 1 if stale else 0
