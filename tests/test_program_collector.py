"""A program run's start-up (imports, the policy bundle) runs without the garbage collector,
which runs again once the command's work begins (main.program, resume_collector)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

# Runs main.program() as the console script does, then says how many collections the run
# made and whether the collector runs again after it.
PROGRAM = """
import gc, json, sys
made = []
gc.callbacks.append(lambda phase, info: made.append(1) if phase == "start" else None)
from gatekeeper import main
sys.argv = ["gatekeeper", *sys.argv[1:]]
code = main.program()
print(json.dumps({"code": code, "collections": len(made), "enabled": gc.isenabled()}))
"""

POD = """apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  containers:
    - name: app
      image: app:1.0
      securityContext: {privileged: true}
"""


def _program(cwd: Path, *argv: str) -> dict[str, object]:
    run = subprocess.run(
        [sys.executable, "-c", PROGRAM, *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "GATEKEEPER_CACHE_DIR": str(cwd / "cache")},
        check=False,
    )
    result: dict[str, object] = json.loads(run.stdout.splitlines()[-1])
    return result


def test_a_hook_starts_up_without_collecting_and_collects_after(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "pod.yaml").write_text(POD)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    for _ in range(2):  # the second with the policy bundle read back from the cache
        said = _program(repo, "scan", "--hook", "pod.yaml", "--format", "json")
        assert said["code"] == 1 and said["enabled"] is True
        # Before: about 50 young collections over the start-up's objects (4-5 ms).
        assert isinstance(said["collections"], int) and said["collections"] < 20


def test_another_command_collects_after_its_start_up(tmp_path: Path) -> None:
    said = _program(tmp_path, "policies", "--format", "json")
    assert said["code"] == 0 and said["enabled"] is True
