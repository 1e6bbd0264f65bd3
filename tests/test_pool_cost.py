"""benchmarks/pool_cost.py records, in each process of a pooled scan, the files it scanned."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchmarks import pool_cost
from gatekeeper.scanner import PARALLEL_MIN_FILES

POD = """apiVersion: v1
kind: Pod
metadata:
  name: web-{number}
spec:
  containers:
    - name: web
      image: nginx:1.{number}
      securityContext:
        privileged: true
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the pool forks")
def test_each_process_records_its_files(tmp_path: Path) -> None:
    files = PARALLEL_MIN_FILES + 8
    for number in range(files):
        (tmp_path / f"pod-{number}.yaml").write_text(POD.format(number=number))
    env = dict(os.environ)  # (the tests run this checkout: PYTHONPATH says so)
    single = pool_cost._run(str(tmp_path), 1, env)
    pooled = pool_cost._run(str(tmp_path), 2, env)
    assert [one["role"] for one in single["processes"]] == ["parent"]
    assert sorted(one["role"] for one in pooled["processes"]) == ["parent", "worker"]
    scanned = [path for one in pooled["processes"] for path in one["files"]]
    assert sorted(scanned) == sorted(single["processes"][0]["files"])
    assert len(scanned) == files
    rows = pool_cost._rows(single, pooled)
    assert rows["parent files"] + rows["worker files"] == files
    assert rows["cpu N"] >= rows["parent total"] > 0
    assert rows["worker same files alone"] >= 0  # (it may have come too late for a chunk)
