"""`gatekeeper impact --base REF [--head REF] [--against CONSUMER...]`: a policy change's effect
on consumers (default: those `impact.consumers` of .gatekeeper.yml lists)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from gatekeeper import context, lock, output
from gatekeeper.errors import UsageError
from gatekeeper.impact import (
    ConsumerImpact,
    Settings,
    bundle_at,
    configured_consumer,
    consumer_name,
    consumer_root,
    measure,
    summary,
)
from gatekeeper.policy.model import Policy


def run(args: argparse.Namespace) -> int:
    root = context.find_root((), None)
    settings = Settings.of(context.load_config(root))
    if not args.against and settings is None:
        raise UsageError(
            "impact needs at least one --against PATH or URL@REF, or `impact: {consumers: ...}`"
            " in .gatekeeper.yml"
        )
    path = args.path or (settings.path if settings else ".")
    skip = settings.skip if settings else ()
    base = bundle_at(root, args.base, path, skip)
    head = bundle_at(root, args.head, path, skip)
    if args.against or settings is None:
        impacts = [measure(*consumer_root(spec), base, head) for spec in args.against]
    else:
        impacts = _configured(root, settings, base, head)
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


def _configured(
    root: Path, settings: Settings, base: list[Policy], head: list[Policy]
) -> list[ConsumerImpact]:
    """The configured consumers as the working tree has them (git ones at their lock pins)."""
    lock_file = root / lock.LOCK_NAME
    locked = (
        lock.parse_lock(lock.LOCK_NAME, lock_file.read_bytes()) if lock_file.is_file() else None
    )
    impacts = []
    for spec in settings.consumers:
        with configured_consumer(spec, root, None, locked) as directory:
            impacts.append(measure(consumer_name(spec), directory, base, head))
    return impacts
