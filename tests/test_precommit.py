"""The real `pre-commit` program runs this repository's `.pre-commit-hooks.yaml`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.test_change import CONFIG, POLICY, Repo, pod

PRE_COMMIT = shutil.which("pre-commit", path=str(Path(sys.executable).parent)) or "pre-commit"


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One hook environment for the session: installing it is the slow part."""
    return tmp_path_factory.mktemp("pre-commit-home")


def try_repo(consumer: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "NO_COLOR": "1"}
    return subprocess.run(
        [PRE_COMMIT, "try-repo", str(REPO), "gatekeeper", "--color", "never"],
        cwd=consumer,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def test_hook_blocks_a_bad_staged_manifest_and_passes_a_good_one(
    tmp_path: Path, pre_commit_home: Path
) -> None:
    consumer = Repo(tmp_path / "consumer")
    consumer.write(".gatekeeper.yml", CONFIG)
    consumer.write("policies/no-privileged.yaml", POLICY)
    consumer.commit("setup")
    consumer.write("deploy/bad.yaml", pod(("app", True)))
    consumer.git.git.add("deploy/bad.yaml")
    run = try_repo(consumer.root, pre_commit_home)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "deploy/bad.yaml:9:9: HIGH TEST-NO-PRIVILEGED [blocking]" in run.stdout

    consumer.write("deploy/bad.yaml", pod(("app", False)))
    consumer.git.git.add("deploy/bad.yaml")
    consumer.write("deploy/unstaged.yaml", pod(("x", True), name="x"))  # not staged: not checked
    run = try_repo(consumer.root, pre_commit_home)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Passed" in run.stdout
