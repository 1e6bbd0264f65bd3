"""`gatekeeper impact --base REF [--head REF] --against CONSUMER...`: a policy change's effect."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from gatekeeper import output
from gatekeeper.errors import UsageError
from gatekeeper.impact import bundle_at, consumer_root, measure, summary


def run(args: argparse.Namespace) -> int:
    if not args.against:
        raise UsageError("impact needs at least one --against PATH or URL@REF")
    root = Path.cwd()
    base = bundle_at(root, args.base, args.path)
    head = bundle_at(root, args.head, args.path)
    impacts = [measure(*consumer_root(spec), base, head) for spec in args.against]
    if args.format == "json":
        text = json.dumps(
            {"summary": summary(impacts), "consumers": [i.as_dict() for i in impacts]}, indent=2
        )
        output.write(text + "\n", args.output)
        return 0
    lines = []
    for impact in impacts:
        lines.append(
            f"{impact.name}: {len(impact.newly_blocking)} newly blocking, {len(impact.new)} new,"
            f" {len(impact.fixed)} fixed, {len(impact.changed)} changed in severity"
            f" (threshold {impact.threshold})"
        )
        for finding in impact.new:
            lines.append(
                f"  new   {finding.policy_id} {finding.severity} {finding.file}:{finding.line}:"
                f" {finding.message}"
            )
        for finding in impact.fixed:
            lines.append(f"  fixed {finding.policy_id} {finding.file}:{finding.line}")
        for before, after in impact.changed:
            lines.append(
                f"  {before.severity} -> {after.severity} {after.policy_id} "
                f"{after.file}:{after.line}"
            )
    lines.append(summary(impacts))
    output.write("\n".join(lines) + "\n", args.output)
    return 0
