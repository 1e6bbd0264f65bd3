"""`gatekeeper policies` and `gatekeeper explain ID`: what a scan here would check, and why.

Both load the policies exactly as `scan` does from the same root (configuration, packs,
disabled ids, `--policies`), so the list is the truth about the next scan, not the library.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import json
from pathlib import Path
from typing import Any

from gatekeeper import context, output
from gatekeeper.errors import UsageError
from gatekeeper.finding import SEVERITIES
from gatekeeper.policy.model import Policy
from gatekeeper.problems import PROBLEM_KINDS
from gatekeeper.sources import REGISTRY


def run(args: argparse.Namespace) -> int:
    root = context.find_root((), args.root)
    config = context.load_config(root, args.config)
    engine = context.build_engine(root, config, args.policies, not args.no_builtin, args.disable)
    if args.command == "explain":
        text = explain(engine.policies, args.id, args.format, root)
    else:
        _known("--source", args.source, {p.match.source for p in engine.policies} | set(REGISTRY))
        _known("--pack", args.pack, {pack for p in engine.policies for pack in packs_of(p)})
        chosen = select(engine.policies, args.source, _severities(args.severity), args.pack)
        text = render_list(chosen, args.format, root)
    output.write(text, None)
    return 0


def _known(option: str, given: str | None, known: set[str]) -> None:
    """A filter value nothing could match is a typo, not an empty list."""
    if given and given not in known:
        close = difflib.get_close_matches(given, sorted(known), n=1)
        hint = f"; did you mean {close[0]}?" if close else f"; one of {', '.join(sorted(known))}"
        raise UsageError(f"{option}: no policy has {given!r}{hint}")


def _severities(given: str | None) -> set[str]:
    if not given:
        return set()
    wanted = {part.strip().lower() for part in given.split(",") if part.strip()}
    unknown = sorted(wanted - set(SEVERITIES))
    if unknown:
        raise UsageError(
            f"--severity: unknown {', '.join(unknown)}; one of {', '.join(SEVERITIES)}"
        )
    return wanted


def select(
    policies: list[Policy], source: str | None, severities: set[str], pack: str | None
) -> list[Policy]:
    """The policies matching every given filter, most severe first, then by id."""
    kept = [
        policy
        for policy in policies
        if (not source or applies_to(policy, source))
        and (not severities or policy.severity in severities)
        and (not pack or pack in packs_of(policy))
    ]
    return sorted(kept, key=lambda p: (SEVERITIES.index(p.severity), p.id))


def packs_of(policy: Policy) -> set[str]:
    """The policy's pack, and for a built-in one the library folder `packs:` names in
    .gatekeeper.yml (terraform holds aws, azure and gcp)."""
    from gatekeeper.policy.loader import builtin_dir

    found = {policy.pack} - {""}
    with contextlib.suppress(ValueError, IndexError):  # not from the built-in library
        found.add(Path(policy.file).resolve().relative_to(builtin_dir().resolve()).parts[0])
    return found


def applies_to(policy: Policy, source: str) -> bool:
    """Does the policy run on documents of `source`? (Kubernetes policies also judge what
    Helm and Kustomize render.) The engine's own rule, so the list cannot drift from it."""
    from gatekeeper.evaluate import _source_matches

    return _source_matches(policy, source)


def summary(policy: Policy, root: Path) -> dict[str, Any]:
    return {
        "id": policy.id,
        "title": policy.title,
        "severity": policy.severity,
        "source": policy.match.source,
        "kinds": sorted(policy.match.kinds),
        "pack": policy.pack,
        "scope": policy.scope,
        "file": context.shown(policy.file, root),
    }


def render_list(policies: list[Policy], form: str, root: Path) -> str:
    if form == "json":
        return json.dumps([summary(policy, root) for policy in policies], indent=2) + "\n"
    if not policies:
        return "no policy matches\n"
    width = max(len(policy.id) for policy in policies)
    lines = [
        f"{policy.id:<{width}}  {policy.severity:<8}  {policy.match.source:<10}  {policy.title}"
        for policy in policies
    ]
    lines.append(f"\n{len(policies)} polic{'y' if len(policies) == 1 else 'ies'}")
    return "\n".join(lines) + "\n"


def details(policy: Policy, root: Path) -> dict[str, Any]:
    return {
        **summary(policy, root),
        "description": policy.description,
        "remediation": policy.remediation,
        "references": list(policy.references),
        "rule": str(policy.raw.get("rule", "")),
        "params": policy.params,
        "tests": len(policy.tests),
    }


def explain(policies: list[Policy], wanted: str, form: str, root: Path) -> str:
    """A policy's full description; the GK-* findings gatekeeper itself reports are known too."""
    by_id = {policy.id.upper(): policy for policy in policies}
    policy = by_id.get(wanted.upper())
    if policy is not None:
        info = details(policy, root)
    elif wanted.upper() in PROBLEM_KINDS:
        kind = PROBLEM_KINDS[wanted.upper()]
        info = {
            "id": wanted.upper(),
            "title": kind.title,
            "severity": kind.severity,
            "source": "gatekeeper",
            "remediation": kind.remediation,
        }
    else:
        known = [*by_id, *PROBLEM_KINDS]
        close = difflib.get_close_matches(wanted.upper(), known, n=3)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise UsageError(f"no policy {wanted!r} in this run's policies{hint}")
    if form == "json":
        return json.dumps(info, indent=2) + "\n"
    return _explain_text(info)


def _explain_text(info: dict[str, Any]) -> str:
    lines = [f"{info['id']}: {info['title']}", ""]
    lines.append(f"severity:    {info['severity']}")
    lines.append(f"source:      {info['source']}")
    if info.get("kinds"):
        lines.append(f"kinds:       {', '.join(info['kinds'])}")
    if info.get("pack"):
        lines.append(f"pack:        {info['pack']}")
    if info.get("file"):
        lines.append(f"file:        {info['file']}")
    for heading, key in (("Description", "description"), ("Remediation", "remediation")):
        if info.get(key):
            lines += ["", f"{heading}:", *(f"  {line}" for line in info[key].strip().splitlines())]
    if info.get("rule"):
        lines += ["", "Rule (CEL):", *(f"  {line}" for line in info["rule"].strip().splitlines())]
    if info.get("params"):
        lines += ["", "Parameters (defaults):"]
        lines += [f"  {key}: {json.dumps(value)}" for key, value in sorted(info["params"].items())]
    if info.get("references"):
        lines += ["", "References:", *(f"  - {ref}" for ref in info["references"])]
    return "\n".join(lines) + "\n"
