"""A gate run through a script is the gate too (red team r15: `run: ./ci/policy.sh`, whose
`gatekeeper scan` a pull request made `--exit-zero`, was said by nothing)."""

from __future__ import annotations

from pathlib import Path

from gatekeeper.change import scan_change
from tests.test_change import Repo

WORKFLOW = """\
name: policy
on: pull_request
permissions: {contents: read}
jobs:
  policy:
    runs-on: ubuntu-latest
    steps:
      - run: ./ci/policy.sh
"""
SCRIPT = '#!/bin/sh\nset -e\ngatekeeper scan --base "origin/$GITHUB_BASE_REF"\n'


def gate_changes(tmp_path: Path, workflow: str, script: str) -> list[str]:
    repo = Repo(tmp_path / "repo")
    repo.write(".github/workflows/policy.yml", WORKFLOW)
    repo.write("ci/policy.sh", SCRIPT)
    repo.write("ci/unrelated.sh", "echo hi\n")
    repo.commit("base")
    repo.branch("pr")
    repo.write(".github/workflows/policy.yml", workflow)
    repo.write("ci/policy.sh", script)
    repo.write("ci/unrelated.sh", "echo bye\n")
    repo.commit("change")
    findings = scan_change(repo.root, "main").verdict.findings
    return sorted(f.file for f in findings if f.policy_id == "GK-POLICY-CHANGE")


def test_the_script_a_gate_workflow_runs_is_a_gate_file(tmp_path: Path) -> None:
    changed = SCRIPT.replace('GITHUB_BASE_REF"', 'GITHUB_BASE_REF" --exit-zero')
    assert gate_changes(tmp_path, WORKFLOW, changed) == ["ci/policy.sh"]


def test_the_workflow_that_runs_a_gate_script_is_a_gate_file(tmp_path: Path) -> None:
    changed = WORKFLOW.replace("./ci/policy.sh", "./ci/policy.sh || true")
    assert gate_changes(tmp_path, changed, SCRIPT) == [".github/workflows/policy.yml"]


def test_a_new_job_named_like_the_gate_job_is_a_gate_file(tmp_path: Path) -> None:
    """Red team r10: the required check of a `scan --base` gate is its job's check run; a new
    workflow whose job reports the same name (here its id, after a comment) could pass for
    it, and so needs review as the gate does."""
    repo = Repo(tmp_path / "repo")
    repo.write(".github/workflows/policy.yml", WORKFLOW)
    repo.write("ci/policy.sh", SCRIPT)
    repo.commit("base")
    repo.branch("pr")
    forged = "on: pull_request\njobs:\n  policy:   # lint\n    steps: [{run: sleep 1}]\n"
    repo.write(".github/workflows/lint.yml", forged)
    repo.write(".github/workflows/test.yml", forged.replace("policy:", "test:"))
    repo.commit("change")
    findings = scan_change(repo.root, "main").verdict.findings
    changed = sorted(f.file for f in findings if f.policy_id == "GK-POLICY-CHANGE")
    assert changed == [".github/workflows/lint.yml"]
