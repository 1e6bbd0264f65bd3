"""`gatekeeper test --coverage`: policies whose tests leave something out are named."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.conftest import PRIVILEGED_POLICY, Run

Gatekeeper = Callable[..., Run]

PASSING_CASE = """\
tests:
  - name: unprivileged passes
    expect: pass
    input: |
      apiVersion: v1
      kind: Pod
      metadata: {name: p}
      spec:
        containers: [{name: c, image: x}]
"""
FAILING_CASE = """\
  - name: privileged fails
    expect: fail
    input: |
      apiVersion: v1
      kind: Pod
      metadata: {name: p}
      spec:
        containers: [{name: c, image: x, securityContext: {privileged: true}}]
"""
FIX = "fix:\n  set: {securityContext.privileged: false}\n"


def test_coverage_names_missing_cases_and_unexercised_fixes(
    gatekeeper: Gatekeeper, tmp_path: Path
) -> None:
    (tmp_path / "only-pass.yaml").write_text(PRIVILEGED_POLICY + PASSING_CASE)
    (tmp_path / "both.yaml").write_text(
        PRIVILEGED_POLICY.replace("TEST-NO-PRIVILEGED", "TEST-BOTH")
        + FIX
        + PASSING_CASE
        + FAILING_CASE
    )
    run = gatekeeper("test", str(tmp_path), "--coverage")
    assert run.returncode == 0, run.stdout  # every case passes; coverage alone does not fail
    assert "coverage: 1 of 2 policies covered (50.0%)" in run.stdout
    assert "TEST-NO-PRIVILEGED: lacks a failing case" in run.stdout
    assert "TEST-BOTH" not in run.stdout.split("coverage:")[1]
    assert gatekeeper("test", str(tmp_path), "--min-coverage", "60").returncode == 1
    assert gatekeeper("test", str(tmp_path), "--min-coverage", "50").returncode == 0
