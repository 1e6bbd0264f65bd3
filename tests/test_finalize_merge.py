"""finalize merges a place's findings and numbers repeated fingerprints without a table of
groups: the same findings, in the same order, as grouping first and sorting after."""

from __future__ import annotations

import random
from collections import defaultdict

from gatekeeper.finding import Finding
from gatekeeper.scanner import finalize, merge_variants


def _grouped_then_sorted(findings: list[Finding]) -> list[Finding]:
    """finalize as it was written before: findings grouped by place in a dict (first seen,
    first), each group merged, then a stable sort and ordinals from lists of positions."""
    groups: dict[tuple[str, str, int, int], list[Finding]] = {}
    for finding in findings:
        key = (finding.policy_id, finding.file, finding.line, finding.column)
        groups.setdefault(key, []).append(finding)
    merged = [kept for group in groups.values() for kept in merge_variants(group)]
    out = sorted(merged, key=lambda finding: finding.sort_key)
    indices: dict[str, list[int]] = defaultdict(list)
    for index, finding in enumerate(out):
        indices[finding.fingerprint].append(index)
    for positions in indices.values():
        for ordinal, index in enumerate(positions[1:], start=2):
            out[index] = out[index].with_(fingerprint=f"{out[index].fingerprint}:{ordinal}")
    return out


def _random_findings(chooser: random.Random, count: int) -> list[Finding]:
    findings = []
    for number in range(count):
        variants = chooser.choice([[], [], ["kustomize a"], ["kustomize b"], ["helm c -f v"]])
        findings.append(
            Finding(
                policy_id=chooser.choice(["P-1", "P-2"]),
                severity=chooser.choice(["high", "low"]),
                title="t",
                message=chooser.choice(["m1", "m2"]),
                file=chooser.choice(["a.yaml", "b.yaml"]),
                line=chooser.randint(1, 4),
                column=chooser.randint(1, 2),
                path=chooser.choice(["spec", "spec.x"]),
                fingerprint=chooser.choice(["f1", "f2", "f3", f"own{number}"]),
                extra={"exact": True, **({"variants": variants} if variants else {})},
            )
        )
    return findings


def test_finalize_is_grouping_then_sorting() -> None:
    chooser = random.Random(17)
    for _ in range(200):
        findings = _random_findings(chooser, chooser.randint(0, 60))
        assert finalize(list(findings)) == _grouped_then_sorted(list(findings))


def test_fingerprints_come_out_unique_in_place_order() -> None:
    findings = _random_findings(random.Random(3), 300)
    out = finalize(findings)
    assert len({finding.fingerprint for finding in out}) == len(out)
    assert [finding.sort_key for finding in out] == sorted(finding.sort_key for finding in out)
