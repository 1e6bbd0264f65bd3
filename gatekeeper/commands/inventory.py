"""`gatekeeper inventory [PATHS]`: every container image the repository uses, as CycloneDX JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gatekeeper import output
from gatekeeper.commands.scan import find_config, read_files, select_files
from gatekeeper.document import Problem
from gatekeeper.sbom import collect, cyclonedx
from gatekeeper.sources import LoadContext
from gatekeeper.tree import WorkTree


def run(args: argparse.Namespace) -> int:
    """Exit 0, or 1 when a file could not be loaded (the inventory may then be incomplete)."""
    root = Path.cwd()
    config = find_config(args.config, root)
    files = select_files(args, config, root)
    unreadable: list[Problem] = []
    context = LoadContext(tree=WorkTree(root), options=config.sources)
    inventory = collect(read_files(files, root, unreadable), context)
    problems = sorted([*inventory.problems, *unreadable], key=lambda p: (p.file, p.line))
    for problem in problems:
        print(
            f"gatekeeper: {problem.file}:{problem.line}: {problem.code}: {problem.message}",
            file=sys.stderr,
        )
    bom = cyclonedx(inventory, args.spec_version)
    output.write(json.dumps(bom, indent=2) + "\n", args.output)
    return 1 if problems else 0
