from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# Never read or write the user's cache from tests (subprocesses inherit this); removed when the
# run ends, so that runs do not fill the disk (a CI machine shares it).
os.environ["GATEKEEPER_CACHE_DIR"] = tempfile.mkdtemp(prefix="gatekeeper-cache-")
atexit.register(shutil.rmtree, os.environ["GATEKEEPER_CACHE_DIR"], ignore_errors=True)
# An exception a scan would turn into a finding (an adapter's bug) fails the test instead
# (gatekeeper.bugs); subprocesses inherit it too.
os.environ["GATEKEEPER_STRICT"] = "1"

# The policy most CLI tests load instead of the built-in library.
PRIVILEGED_POLICY = """\
id: TEST-NO-PRIVILEGED
title: No privileged containers
severity: high
description: test policy
remediation: do not
match: {source: kubernetes, kinds: [Pod]}
each: spec.containers[*]
rule: "!item.?securityContext.?privileged.orValue(false)"
field: securityContext.privileged
message: "{{ item.name }} is privileged"
"""

# A Pod whose container `app` runs privileged (line 9): what most CLI tests scan.
PRIVILEGED_POD = """\
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: team}
spec:
  containers:
    - name: app
      image: ghcr.io/acme/app:1.0
      securityContext:
        privileged: true
"""


def git_in(root: Path, *args: str) -> None:
    """Run git in `root` as a committer named `a` (tests build real repositories)."""
    subprocess.run(
        ["git", "-c", "user.email=a@b", "-c", "user.name=a", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


class Run:
    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


def run_cli(
    *args: str,
    cwd: Path | None = None,
    input: str | None = None,
    env: dict[str, str] | None = None,
) -> Run:
    """Run the real CLI in a subprocess (`python -m gatekeeper`), as users do."""
    proc = subprocess.run(
        [sys.executable, "-m", "gatekeeper", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        input=input,
        timeout=300,
        env={**os.environ, **(env or {})},
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def gatekeeper() -> Callable[..., Run]:
    """Run the real CLI in a subprocess (`python -m gatekeeper`), as users do."""
    return run_cli


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str | bytes], Path]:
    def write_file(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        return path

    return write_file


@pytest.fixture
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache directory of the test's own (GATEKEEPER_CACHE_DIR), empty at its start."""
    directory = tmp_path / "cache"
    monkeypatch.setenv("GATEKEEPER_CACHE_DIR", str(directory))
    return directory


# What makes a folder above a test's temporary directory the repository gatekeeper scans
# (context.find_root): one left in /tmp by a stray `git init` or config makes every test
# that scans a plain temporary folder scan all of /tmp instead.
_ROOT_MARKERS = (".git", ".gatekeeper.yml")


@pytest.fixture(autouse=True, scope="session")
def _temporary_folders_are_no_repository(tmp_path_factory: pytest.TempPathFactory) -> None:
    base = tmp_path_factory.getbasetemp().resolve()
    found = [str(parent / marker) for parent in base.parents for marker in _ROOT_MARKERS]
    found = [path for path in found if os.path.lexists(path)]
    if found:
        pytest.exit(
            f"{', '.join(found)} makes the folders above the tests' temporary directory "
            f"({base}) a repository that gatekeeper would scan: remove it, or run with "
            "--basetemp in a folder without one",
            returncode=4,
        )
