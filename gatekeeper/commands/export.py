"""`gatekeeper export --format vap`: our Kubernetes policies as ValidatingAdmissionPolicies."""

from __future__ import annotations

import argparse
import sys

import yaml

from gatekeeper import context, output
from gatekeeper.export_vap import export


def run(args: argparse.Namespace) -> int:
    root = context.find_root((), args.root)
    config = context.load_config(root, args.config)
    engine = context.build_engine(root, config, args.policies, not args.no_builtin, args.disable)
    documents = []
    skipped = []
    others = 0
    for policy in engine.policies:
        if policy.match.source != "kubernetes":
            others += 1  # Terraform, Dockerfiles, workflows: nothing admission sees
            continue
        exported = export(policy, engine.params(policy))
        if exported.reason:
            skipped.append(f"{policy.id}: {exported.reason}")
        documents.extend(exported.documents)
    header = "".join(f"# not exported: {line}\n" for line in skipped)
    if others:
        header += f"# {others} policies of other sources (Terraform, Dockerfile, CI) left out\n"
    text = header + (yaml.safe_dump_all(documents, sort_keys=False) if documents else "")
    output.write(text, args.output)
    print(
        f"gatekeeper: {len(documents) // 2} policies exported, {len(skipped)} not exportable",
        file=sys.stderr,
    )
    return 0
