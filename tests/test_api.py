"""The Python API: `gatekeeper.scan` and `gatekeeper.scan_change` (issue 12)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import git
import pytest

import gatekeeper
from gatekeeper.errors import ConfigError, UsageError
from gatekeeper.report import renderer
from tests.conftest import PRIVILEGED_POD as POD
from tests.conftest import PRIVILEGED_POLICY


def make_repo(root: Path) -> git.Repo:
    (root / "policies").mkdir(parents=True)
    (root / "policies" / "p.yaml").write_text(PRIVILEGED_POLICY)
    (root / ".gatekeeper.yml").write_text("builtin: false\npolicies:\n  - path: policies\n")
    (root / "deploy").mkdir()
    (root / "deploy" / "pod.yaml").write_text(POD.replace("true", "false"))
    repo = git.Repo.init(root, initial_branch="main")
    with repo.config_writer() as config:
        config.set_value("user", "name", "t")
        config.set_value("user", "email", "t@example.com")
        config.set_value("commit", "gpgsign", "false")
    repo.git.add("-A")
    repo.git.commit("-q", "-m", "init")
    return repo


def test_scan_a_directory_in_three_lines(tmp_path: Path) -> None:
    make_repo(tmp_path / "repo")
    (tmp_path / "repo" / "deploy" / "pod.yaml").write_text(POD)
    report = gatekeeper.scan(tmp_path / "repo" / "deploy")
    assert not report.verdict.passed
    assert [(f.file, f.line, f.policy_id) for f in report.verdict.blocking] == [
        ("deploy/pod.yaml", 9, "TEST-NO-PRIVILEGED")
    ]
    assert report.files_scanned == 1 and report.documents == 1
    assert [policy.id for policy in report.policies] == ["TEST-NO-PRIVILEGED"]
    sarif = json.loads(renderer("sarif").render(report))
    assert sarif["runs"][0]["results"][0]["ruleId"] == "TEST-NO-PRIVILEGED"


def test_scan_takes_the_command_line_options(tmp_path: Path) -> None:
    make_repo(tmp_path / "repo")
    (tmp_path / "repo" / "deploy" / "pod.yaml").write_text(POD)
    root = tmp_path / "repo"
    assert gatekeeper.scan([root], severity_threshold="critical").verdict.passed
    assert gatekeeper.scan(str(root), exclude=["deploy/**"]).verdict.findings == []
    assert gatekeeper.scan(root, disable=["TEST-NO-PRIVILEGED"]).verdict.findings == []
    other = tmp_path / "other.yml"
    other.write_text("builtin: false\n")
    assert gatekeeper.scan(root, config=other, policies=[root / "policies"]).policies


def test_scan_raises_usage_errors_with_file_and_line(tmp_path: Path) -> None:
    make_repo(tmp_path / "repo")
    (tmp_path / "repo" / ".gatekeeper.yml").write_text("builtin: false\nbogus: 1\n")
    with pytest.raises(ConfigError) as error:
        gatekeeper.scan(tmp_path / "repo")
    assert error.value.file == ".gatekeeper.yml"
    with pytest.raises(UsageError):
        gatekeeper.scan(tmp_path / "missing")


def test_scan_change_judges_a_change(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    repo.git.checkout("-q", "-b", "feature")
    (tmp_path / "repo" / "deploy" / "pod.yaml").write_text(POD)
    repo.git.commit("-q", "-am", "privileged")
    result = gatekeeper.scan_change(tmp_path / "repo" / "deploy", "main")
    assert [(f.file, f.status, f.blocking) for f in result.verdict.findings] == [
        ("deploy/pod.yaml", "new", True)
    ]
    assert isinstance(result, gatekeeper.ChangeResult)


def test_importing_the_package_stays_light() -> None:
    """`import gatekeeper` (every CLI start) loads no scanning machinery until asked."""
    code = (
        "import sys, gatekeeper; "
        "heavy = [m for m in ('gatekeeper.scanner', 'gatekeeper.change', 'gatekeeper.report', "
        "'gatekeeper.evaluate') if m in sys.modules]; print(heavy)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


def test_the_api_function_survives_importing_the_scanner() -> None:
    import gatekeeper.scanner  # a submodule import must not shadow the function

    assert callable(gatekeeper.scan)
    assert gatekeeper.scan.__module__ == "gatekeeper"
