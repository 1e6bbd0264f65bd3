"""`./scripts/release X.Y.Z` on a copy of this checkout with its own git history: the tag
carries the version everywhere (gatekeeper --version, the package metadata, the changelog, the
README's pre-commit `rev:`), the major tag follows, the starter workflow pins the tag's commit,
the action at the tag installs that version, and it refuses to run twice or on uncommitted
changes."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

import git
import pytest
import yaml

from gatekeeper import __version__
from tests.test_readme import _checkout_copy

IDENTITY = {"user.name": "release test", "user.email": "release@example.com"}


@pytest.fixture
def clone(tmp_path: Path) -> git.Repo:
    root = _checkout_copy(tmp_path / "clone")
    repo = git.Repo.init(root, initial_branch="main")
    with repo.config_writer() as config:
        for key, value in {**IDENTITY, "commit.gpgsign": "false", "tag.gpgsign": "false"}.items():
            section, option = key.split(".")
            config.set_value(section, option, value)
    repo.git.add("-A")
    repo.index.commit("snapshot")
    return repo


def _release(repo: git.Repo, version: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["./scripts/release", version],
        cwd=repo.working_dir,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_release_tags_pins_and_records(clone: git.Repo) -> None:
    run = _release(clone, "7.3.1")
    assert run.returncode == 0, run.stdout + run.stderr
    tagged = clone.commit("v7.3.1")
    assert clone.commit("v7") == tagged
    assert clone.head.commit.parents[0] == tagged  # then the pin commit
    at_tag = {
        name: clone.git.show(f"v7.3.1:{name}")
        for name in ("gatekeeper/__init__.py", "CHANGELOG.md", "README.md")
    }
    assert '__version__ = "7.3.1"' in at_tag["gatekeeper/__init__.py"]
    assert f"## 7.3.1 - {datetime.date.today().isoformat()}" in at_tag["CHANGELOG.md"]
    assert "    rev: v7.3.1\n" in at_tag["README.md"]
    assert f'__version__ = "{__version__}"' not in at_tag["gatekeeper/__init__.py"]
    for workflow in (Path(clone.working_dir) / "templates/workflows").glob("*.yml"):
        assert f"uses: acme/gatekeeper@{tagged.hexsha} # v7.3.1\n" in workflow.read_text()

    again = _release(clone, "7.3.1")
    assert again.returncode == 2 and "already exists" in again.stderr


def test_release_refuses_uncommitted_changes_and_bad_versions(clone: git.Repo) -> None:
    assert _release(clone, "1.2").returncode == 2
    readme = Path(clone.working_dir) / "README.md"
    readme.write_text(readme.read_text() + "\nedited\n")
    run = _release(clone, "1.2.3")
    assert run.returncode == 2 and "uncommitted" in run.stderr
    assert not clone.tags


def test_a_release_is_what_its_tag_installs_and_reports(clone: git.Repo, tmp_path: Path) -> None:
    """`uses: <repo>@v7` runs action.yml at the tag: its install step installs gatekeeper from
    the action's own checkout (not PyPI), at the tag's version, which `--version` reports."""
    assert _release(clone, "7.3.1").returncode == 0
    clone.git.checkout("-q", "v7")
    root = Path(clone.working_dir)
    steps = yaml.safe_load((root / "action.yml").read_text())["runs"]["steps"]
    (install,) = [step for step in steps if step.get("name") == "Install gatekeeper"]
    assert install["working-directory"] == "${{ github.action_path }}"
    report = tmp_path / "pip-report.json"
    env = {
        **os.environ,
        "GITHUB_ACTION_PATH": str(root),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        # The step's own command, as a dry run: what it would install, resolved offline.
        "PIP_DRY_RUN": "1",
        "PIP_NO_DEPS": "1",
        "PIP_NO_BUILD_ISOLATION": "0",  # pip reads 0 here as "no isolation"
        "PIP_REPORT": str(report),
    }
    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", install["run"]],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    (installed,) = json.loads(report.read_text())["install"]
    assert installed["metadata"]["name"] == "gitops-policy-gate"
    assert installed["metadata"]["version"] == "7.3.1"
    assert installed["download_info"]["url"] == root.as_uri()
    assert installed["requested_extras"] == ["all"]

    version = subprocess.run(
        [sys.executable, "-m", "gatekeeper", "--version"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert version.stdout.splitlines()[0] == "gatekeeper 7.3.1", version.stdout + version.stderr
