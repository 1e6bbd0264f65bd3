"""`gatekeeper config validate [FILE]`: check a configuration without scanning anything.

The same checks a scan makes before it starts: the schema (unknown keys are errors), the
paths it names (charts, values files), packs, and the policy ids of `disable` and `params`.
"""

from __future__ import annotations

import argparse
import sys

from gatekeeper import context, lock
from gatekeeper.config import check_paths
from gatekeeper.errors import UsageError
from gatekeeper.impact import check_consumers
from gatekeeper.tree import WorkTree


def run(args: argparse.Namespace) -> int:
    root = context.find_root((), args.root)
    config = context.load_config(root, args.file)
    if not config.file:
        raise UsageError(f"no .gatekeeper.yml in {root}: nothing to validate")
    check_paths(config, WorkTree(root))
    lock_file = context.config_dir(root, config) / lock.LOCK_NAME
    locked = (
        lock.parse_lock(lock.LOCK_NAME, lock_file.read_bytes()) if lock_file.is_file() else None
    )
    check_consumers(config, root, locked)
    engine = context.build_engine(root, config, args.policies, not args.no_builtin)
    print(f"{config.file}: valid ({len(engine.policies)} policies enabled)", file=sys.stderr)
    return 0
