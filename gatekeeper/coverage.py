"""How well a policy pack's own tests cover it (`gatekeeper test --coverage`).

A policy is covered when its tests hold at least one case that must pass and one that must
fail, and, when it has a `fix`, a failing case whose finding carries the fix (the suggestion
is then exercised). CEL branch coverage is not measured: the CEL engine does not report it.
"""

from __future__ import annotations

from dataclasses import dataclass

from gatekeeper.policy.model import Policy


@dataclass(frozen=True)
class Gap:
    policy: Policy
    missing: tuple[str, ...]  # "a passing case", "a failing case", "a case exercising its fix"


def gaps(policies: list[Policy]) -> list[Gap]:
    found = []
    for policy in policies:
        expects = {str(case.get("expect")) for case in policy.tests}
        missing = []
        if "pass" not in expects:
            missing.append("a passing case")
        if "fail" not in expects:
            missing.append("a failing case")
        if policy.fix is not None and not _fix_exercised(policy):
            missing.append("a case exercising its fix")
        if missing:
            found.append(Gap(policy, tuple(missing)))
    return found


def _fix_exercised(policy: Policy) -> bool:
    from gatekeeper.commands.test import case_findings

    return any(
        finding.fix is not None
        for case in policy.tests
        if case.get("expect") == "fail"
        for finding in case_findings(policy, case)
    )


def render(policies: list[Policy], found: list[Gap]) -> tuple[str, float]:
    covered = len(policies) - len(found)
    percent = 100.0 * covered / len(policies) if policies else 100.0
    lines = [f"coverage: {covered} of {len(policies)} policies covered ({percent:.1f}%)"]
    lines.extend(
        f"  {gap.policy.id}: lacks {', '.join(gap.missing)} ({gap.policy.file})" for gap in found
    )
    return "\n".join(lines) + "\n", percent
