"""`gatekeeper changelog --from REF [--to REF]`: release notes of a policy repository."""

from __future__ import annotations

import argparse
from pathlib import Path

from gatekeeper import output
from gatekeeper.changelog import policy_changes
from gatekeeper.impact import bundle_at


def run(args: argparse.Namespace) -> int:
    root = Path.cwd()
    changes = policy_changes(
        bundle_at(root, args.from_ref, args.path), bundle_at(root, args.to, args.path)
    )
    output.write(changes.render(), args.output)
    return 0
