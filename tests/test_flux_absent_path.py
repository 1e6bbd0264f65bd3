"""A Flux Kustomization whose `path:` the repository does not hold.

Real-repo check (aws-samples/eks-workshop-v2): a workshop step copies `apps.yaml` (path
`./apps`) into the learner's own repository; here nothing applies it, and its path was a
blocking GK-RENDER-ERROR. It is a low GK-NOT-EXPANDED at the `path:` line saying what it is,
unless the repository applies the Kustomization (a Flux Kustomization's path holds it, or it
is the bootstrap one), or a change took away the folder its base held: then Flux fails on
it, and it blocks.
"""

from __future__ import annotations

from pathlib import Path

import git

import gatekeeper
from gatekeeper.change import scan_change
from gatekeeper.finding import Finding

APPS = """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 1m0s
  sourceRef:
    kind: GitRepository
    name: flux-system
  path: ./apps
  prune: true
"""
SYNC = """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: flux-system, namespace: flux-system}
spec:
  sourceRef: {kind: GitRepository, name: flux-system}
  path: ./clusters/prod
"""
CONFIG_MAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web, namespace: web}\n"


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def absent(findings: list[Finding]) -> list[tuple[str, str, str, int]]:
    return [
        (f.policy_id, f.severity, f.file, f.line)
        for f in findings
        if "is not in this repository" in f.message
    ]


def test_a_copy_nothing_applies_is_said_not_blocking(tmp_path: Path) -> None:
    write(tmp_path, {"flux/basic/apps.yaml": APPS, "flux/basic/apps/cm.yaml": CONFIG_MAP})
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    assert absent(report.verdict.findings) == [
        ("GK-NOT-EXPANDED", "low", "flux/basic/apps.yaml", 11)
    ]
    (message,) = [f.message for f in report.verdict.findings]
    assert "nothing here applies this Kustomization" in message
    assert report.verdict.passed


def test_a_kustomization_flux_applies_blocks(tmp_path: Path) -> None:
    write(tmp_path, {"clusters/prod/flux-system/sync.yaml": SYNC, "clusters/prod/apps.yaml": APPS})
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    assert absent(report.verdict.findings) == [
        ("GK-RENDER-ERROR", "high", "clusters/prod/apps.yaml", 11)
    ]
    assert "clusters/prod/flux-system/sync.yaml applies it" in report.verdict.findings[0].message
    assert not report.verdict.passed


def test_the_bootstrap_kustomization_blocks(tmp_path: Path) -> None:
    write(tmp_path, {"clusters/dev/flux-system/sync.yaml": SYNC})
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    assert absent(report.verdict.findings) == [
        ("GK-RENDER-ERROR", "high", "clusters/dev/flux-system/sync.yaml", 6)
    ]


def test_a_change_that_takes_the_folder_away_blocks(tmp_path: Path) -> None:
    """An attacker's way round the advisory: the overlay its Kustomization deployed (the
    base held it) deleted, or `path:` pointed elsewhere, by a pull request."""
    repo = git.Repo.init(tmp_path, initial_branch="main")
    with repo.config_writer() as config:
        config.set_value("user", "name", "t")
        config.set_value("user", "email", "t@example.com")
        config.set_value("commit", "gpgsign", "false")
    write(tmp_path, {"flux/apps.yaml": APPS, "apps/cm.yaml": CONFIG_MAP})
    repo.git.add("-A")
    repo.git.commit("-qm", "base")
    repo.git.checkout("-qb", "pr")
    repo.git.rm("-q", "apps/cm.yaml")
    repo.git.commit("-qm", "take the overlay away")
    verdict = scan_change(tmp_path, "main").verdict
    assert absent(verdict.findings) == [("GK-RENDER-ERROR", "high", "flux/apps.yaml", 11)]
    assert "it was before this change" in verdict.findings[0].message
    assert not verdict.passed
    repo.git.checkout("-q", "main")
    repo.git.checkout("-qb", "pr2")
    write(tmp_path, {"flux/apps.yaml": APPS.replace("./apps", "./elsewhere")})
    repo.git.commit("-qam", "point it away")
    verdict = scan_change(tmp_path, "main").verdict
    assert absent(verdict.findings) == [("GK-RENDER-ERROR", "high", "flux/apps.yaml", 11)]
    assert "points it away from apps, which it deployed" in verdict.findings[0].message
    repo.git.checkout("-q", "main")
    repo.git.checkout("-qb", "pr3")
    write(tmp_path, {"flux/copy.yaml": APPS.replace("./apps", "./elsewhere")})
    repo.git.add("-A")
    repo.git.commit("-qm", "a new copy for another repository")
    verdict = scan_change(tmp_path, "main").verdict
    assert absent(verdict.findings) == [("GK-NOT-EXPANDED", "low", "flux/copy.yaml", 11)]
    assert verdict.passed


def test_the_absent_path_is_a_field_of_the_finding_not_read_from_its_message(
    tmp_path: Path,
) -> None:
    """gone_from_base found the path by matching its own message: rewording it would have
    stopped `scan --base` blocking a deleted overlay. The path is the finding's `subject`,
    carried through the worker pool (--jobs 2)."""
    import json
    import subprocess
    import sys

    from gatekeeper.document import Problem
    from gatekeeper.problems import to_finding
    from gatekeeper.sources.flux import gone_from_base
    from gatekeeper.tree import MemoryTree

    write(tmp_path, {"flux/apps.yaml": APPS, **{f"other/cm{n}.yaml": CONFIG_MAP for n in range(9)}})
    run = subprocess.run(
        [sys.executable, "-m", "gatekeeper", "scan", str(tmp_path), "--format", "json",
         "--jobs", "2"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    said = [f for f in json.loads(run.stdout)["findings"] if f["policy_id"] == "GK-NOT-EXPANDED"]
    assert [(f["line"], f["extra"].get("subject")) for f in said] == [(11, "apps")]
    reworded = to_finding(
        Problem("GK-NOT-EXPANDED", "flux/apps.yaml", 11, "reworded", subject="apps")
    )
    base = MemoryTree({"flux/apps.yaml": APPS.encode(), "apps/cm.yaml": CONFIG_MAP.encode()})
    head = MemoryTree({"flux/apps.yaml": APPS.encode()})
    (made,) = gone_from_base([reworded], base, head)
    assert (made.policy_id, made.extra.get("subject")) == ("GK-RENDER-ERROR", "apps")
    assert "it was before this change: restore apps" in made.message
