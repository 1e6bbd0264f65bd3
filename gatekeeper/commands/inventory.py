"""`gatekeeper inventory [PATHS]`: every container image the repository uses, as CycloneDX JSON."""

from __future__ import annotations

import argparse
import json
import sys

from gatekeeper import context, output
from gatekeeper.document import Problem
from gatekeeper.sbom import collect, cyclonedx


def run(args: argparse.Namespace) -> int:
    """Exit 0, or 1 when a file could not be loaded (the inventory may then be incomplete)."""
    run_context = context.for_worktree(
        args.paths, root=args.root, config_file=args.config, with_engine=False
    )
    files = context.select_files(run_context, args.paths, args.include, args.exclude)
    unreadable: list[Problem] = []
    inventory = collect(context.read_files(run_context, files, unreadable), run_context.load)
    problems = sorted([*inventory.problems, *unreadable], key=lambda p: (p.file, p.line))
    for problem in problems:
        print(
            f"gatekeeper: {problem.file}:{problem.line}: {problem.code}: {problem.message}",
            file=sys.stderr,
        )
    bom = cyclonedx(inventory, args.spec_version)
    output.write(json.dumps(bom, indent=2) + "\n", args.output)
    return 1 if problems else 0
