"""We pass our own checks: this repository's action, starter workflow and hook definition are
clean under the built-in library, and the bundled example fails exactly where it is meant to
(the README's Quick start lists what it shows)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from tests.conftest import REPO, Run

# Our files -> where a user's repository holds them.
OURS = {
    "action.yml": "action.yml",
    "templates/workflows/gatekeeper.yml": ".github/workflows/gatekeeper.yml",
    "templates/workflows/gatekeeper-trusted.yml": ".github/workflows/gatekeeper-trusted.yml",
    ".pre-commit-hooks.yaml": ".pre-commit-hooks.yaml",
}
# Findings on our own files that we know of and have not settled (none: the trusted workflow's
# data-only checkout of the head carries a reviewed inline skip with its reason). The assertion
# is exact, so a new finding on our own files fails here.
KNOWN: set[tuple[str, str]] = set()
# What the example is meant to show (README, Quick start): (file, policy) that must be found.
EXAMPLE = "examples/demo-repo"
MEANT = {
    ("deploy/web.yaml", "K8S-PSS-PRIVILEGED"),
    ("deploy/web.yaml", "K8S-IMAGE-TAG-PINNED"),  # nginx:latest
    ("deploy/web.yaml", "K8S-POD-ENV-SECRETS"),
    ("charts/shop/templates/deployment.yaml", "K8S-PSS-PRIVILEGE-ESCALATION"),  # from values
    ("infra/main.tf", "TF-AWS-S3-PUBLIC-ACL"),
    ("Dockerfile", "DOCKER-USER-NOT-ROOT"),
    (".github/workflows/deploy.yml", "WF-GITOPS-IMPERATIVE-DEPLOY"),
}
# Files of the example that are meant to be bad; anything else must be clean.
BAD_FILES = {file for file, _ in MEANT} | {"infra/main.tf"}


def _findings(run: Run) -> list[tuple[str, str]]:
    return [(f["file"], f["policy_id"]) for f in json.loads(run.stdout)["findings"]]


def test_our_action_workflow_and_hook_pass_our_own_checks(
    gatekeeper: Callable[..., Run], tmp_path: Path
) -> None:
    """Where users put them: the starter workflow under .github/workflows/."""
    for source, target in OURS.items():
        (tmp_path / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / source, tmp_path / target)
    run = gatekeeper("scan", ".", "--severity-threshold", "info", "--format", "json", cwd=tmp_path)
    findings = json.loads(run.stdout)["findings"]
    open_ = {(f["file"], f["policy_id"]) for f in findings if f["status"] != "waived"}
    assert open_ == KNOWN, run.stdout + run.stderr
    waived = {(f["file"], f["policy_id"]) for f in findings if f["status"] == "waived"}
    assert waived == {(".github/workflows/gatekeeper-trusted.yml", "WF-PR-TARGET-CHECKOUT-HEAD")}
    assert json.loads(run.stdout)["summary"]["documents"] == 3  # all judged, not skipped


def test_the_example_fails_only_where_it_is_meant_to(gatekeeper: Callable[..., Run]) -> None:
    run = gatekeeper("scan", EXAMPLE, "--format", "json", cwd=REPO)
    assert run.returncode == 1, run.stderr
    found = {(file.removeprefix(EXAMPLE + "/"), policy) for file, policy in _findings(run)}
    assert MEANT - found == set()
    assert {file for file, _ in found} - BAD_FILES == set()
