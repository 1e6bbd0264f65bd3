"""benchmarks/pool_cost.py records, in each process of a pooled scan, the files it scanned."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

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


def test_grown_lists_the_files_whose_cpu_grew_most_in_the_pool() -> None:
    def run(role: str, files: dict[str, float]) -> dict[str, Any]:
        return {"cpu": 1.0, "processes": [{"role": role, "files": files}]}

    alone = {"a": 0.010, "b": 0.020, "c": 0.005}  # c: in no pooled process
    rounds = [
        (run("parent", alone), run("worker", {"a": 0.011, "b": 0.050})),
        (run("parent", {**alone, "b": 0.022}), run("worker", {"a": 0.012, "b": 0.040})),
    ]
    grown = pool_cost._grown(rounds, 1)
    assert [(one.path, one.role) for one in grown] == [("b", "worker")]
    assert grown[0].excess == pytest.approx(0.024)  # median of 0.030 and 0.018
    assert grown[0].alone == pytest.approx(0.021)
    assert [one.path for one in pool_cost._grown(rounds, 5)] == ["b", "a"]
