"""finalize merges a place's findings and numbers repeated fingerprints without a table of
groups: the same findings, in the same order, as grouping first and sorting after."""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path

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


def _at_one_place(name: str, variants: list[str]) -> Finding:
    return Finding(
        policy_id="P-1",
        severity="high",
        title="t",
        message=f"pod {name} uses latest",
        file="ch/templates/apps.yaml",
        line=8,
        kind="Pod",
        name=name,
        fingerprint="f1",
        extra={"exact": True, **({"variants": variants} if variants else {})},
    )


def test_objects_one_rendering_writes_at_one_place_stay_apart() -> None:
    """A `range` writes two Pods at one template line: two findings, one per object (a
    waiver naming one must not silence the other). A base line renamed by two overlays is
    one object per rendering: one finding naming both."""
    ranged = merge_variants([_at_one_place("one", ["helm ch"]), _at_one_place("two", ["helm ch"])])
    assert [(f.name, f.extra["variants"]) for f in ranged] == [
        ("one", ["helm ch"]),
        ("two", ["helm ch"]),
    ]
    # Two releases rendering the same range: its i-th object is one finding, both named.
    released = merge_variants(
        [
            _at_one_place("dev-one", ["helm ch -f dev.yaml"]),
            _at_one_place("dev-two", ["helm ch -f dev.yaml"]),
            _at_one_place("prod-one", ["helm ch -f prod.yaml"]),
            _at_one_place("prod-two", ["helm ch -f prod.yaml"]),
        ]
    )
    assert [(f.name, f.extra["variants"]) for f in released] == [
        ("dev-one", ["helm ch -f dev.yaml", "helm ch -f prod.yaml"]),
        ("dev-two", ["helm ch -f dev.yaml", "helm ch -f prod.yaml"]),
    ]
    renamed = merge_variants(
        [_at_one_place("dev-web", ["kustomize dev"]), _at_one_place("prod-web", ["kustomize prod"])]
    )
    assert [(f.name, f.extra["variants"]) for f in renamed] == [
        ("dev-web", ["kustomize dev", "kustomize prod"])
    ]


def test_a_waiver_naming_one_object_of_a_range_leaves_the_others_blocking(tmp_path: Path) -> None:
    """The reported leak: a chart's `range` made Pods `web-a` and `web-b` at one line, one
    finding named `web-a`, and a waiver for `web-a` passed the check with `web-b` unjudged.
    The line is one finding naming both (setting_lines, round 10): a waiver of `web-a` alone
    leaves it new and blocking; waived when both are."""
    from datetime import date, timedelta

    import gatekeeper

    chart = tmp_path / "ch"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: ch\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("pods: [a, b]\n")
    (chart / "templates" / "pods.yaml").write_text(
        "{{- range .Values.pods }}\n---\napiVersion: v1\nkind: Pod\nmetadata:\n"
        "  name: web-{{ . }}\nspec:\n  containers:\n    - name: c\n      image: nginx:latest\n"
        "{{- end }}\n"
    )
    expires = (date.today() + timedelta(days=30)).isoformat()
    (tmp_path / ".gatekeeper").mkdir()
    (tmp_path / ".gatekeeper" / "waivers.yml").write_text(
        "waivers:\n  - policy: K8S-IMAGE-TAG-PINNED\n    name: web-a\n    owner: t\n"
        f"    reason: r\n    ticket: T-1\n    expires: {expires}\n"
    )
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    (pinned,) = [f for f in report.verdict.findings if f.policy_id == "K8S-IMAGE-TAG-PINNED"]
    assert (pinned.name, pinned.status, pinned.line, pinned.blocking) == ("web-a", "new", 10, True)
    assert pinned.message.endswith("(this line sets it for 2 objects: Pod/web-a, Pod/web-b)")
    waivers = (tmp_path / ".gatekeeper" / "waivers.yml").read_text()
    (tmp_path / ".gatekeeper" / "waivers.yml").write_text(
        waivers + waivers.split("\n", 1)[1].replace("web-a", "web-b")
    )
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    (pinned,) = [f for f in report.verdict.findings if f.policy_id == "K8S-IMAGE-TAG-PINNED"]
    assert pinned.status == "waived"


def test_a_kustomization_aggregating_renamed_overlays_says_the_base_line_once(
    tmp_path: Path,
) -> None:
    """kustomize's multibases: a base Pod, overlays dev and prod each with a namePrefix, and
    a root kustomization building both. The root holds two objects at the base's line, each
    also its own overlay's: one finding, naming every rendering and object (it was said
    twice, the root's second object on its own)."""
    import gatekeeper

    files = {
        "base/pod.yaml": (
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\nspec:\n  containers:\n"
            "  - name: app\n    image: nginx:1.25\n    securityContext:\n      privileged: true\n"
        ),
        "base/kustomization.yaml": "resources:\n- pod.yaml\n",
        "dev/kustomization.yaml": "namePrefix: dev-\nresources:\n- ../base\n",
        "prod/kustomization.yaml": "namePrefix: prod-\nresources:\n- ../base\n",
        "kustomization.yaml": "resources:\n- dev\n- prod\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    [finding] = [f for f in report.verdict.findings if f.policy_id == "K8S-PSS-PRIVILEGED"]
    assert (finding.file, finding.line, finding.name) == ("base/pod.yaml", 10, "app")
    assert finding.extra["variants"] == [
        "kustomize .",
        "kustomize base",
        "kustomize dev",
        "kustomize prod",
    ]
    assert finding.extra["deployed_as"] == ["Pod//dev-app", "Pod//prod-app"]
