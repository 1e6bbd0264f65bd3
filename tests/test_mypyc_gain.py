"""benchmarks/mypyc_gain.py rewrites a copy of gatekeeper for mypyc: every rewrite still
finds its text, and the rewritten copy is the same Python (it imports and scans alike)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

from benchmarks import mypyc_gain

POD = """apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: web
      image: nginx
      securityContext:
        privileged: true
"""


def test_reversed_loops_become_plain_iterators() -> None:
    text = "for a, b in reversed(f(x, (1, 2))):\n    pass\ny = [i for i in reversed(z)]\n"
    rewritten = mypyc_gain._unreversed(text)
    assert rewritten == (
        "for a, b in iter(reversed(f(x, (1, 2)))):\n    pass\ny = [i for i in iter(reversed(z))]\n"
    )
    ast.parse(rewritten)


def test_the_rewritten_copy_scans_as_the_checkout(tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    modules = mypyc_gain.prepare(copy)  # raises when a rewrite no longer finds its text
    assert "gatekeeper/evaluate.py" in modules
    assert not set(modules) & set(mypyc_gain.EXCLUDED)
    assert "in iter(reversed(" in (copy / "gatekeeper/yamldoc.py").read_text()
    (tmp_path / "pod.yaml").write_text(POD)
    outputs = []
    for source in (mypyc_gain.ROOT, copy):
        path = mypyc_gain.import_path(str(source), str(tmp_path))
        done = subprocess.run(
            [sys.executable, "-m", "gatekeeper", "scan", "pod.yaml", "--format", "json"],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": path},
            capture_output=True,
            text=True,
        )
        assert done.returncode == 1, done.stderr
        outputs.append(mypyc_gain._sorted_findings_text(done.stdout))
    assert outputs[0] == outputs[1]
    assert any("privileged" in finding for finding in outputs[0])
