"""`./scripts/release X.Y.Z` on a copy of this checkout with its own git history: the tag
carries the version everywhere, the major tag follows, the starter workflow pins the tag's
commit, and it refuses to run twice or on uncommitted changes."""

from __future__ import annotations

import datetime
import subprocess
from pathlib import Path

import git
import pytest

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
