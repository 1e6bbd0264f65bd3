"""benchmarks/memory_curve.py says which process of a tree holds the memory at its peak."""

from __future__ import annotations

import os
import sys

import pytest

from benchmarks import memory_curve

HOLDS_AND_SPAWNS = """
import subprocess
data = bytearray(48 * 2**20)
for index in range(0, len(data), 4096):
    data[index] = 1
subprocess.run(["sleep", "1"], check=True)
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/smaps_rollup"), reason="Linux /proc")
def test_the_peak_is_broken_down_by_process() -> None:
    curve, code = memory_curve.record([sys.executable, "-c", HOLDS_AND_SPAWNS], every=0.05)
    assert code == 0
    peak = memory_curve.grouped(curve.peak)
    pss, private = peak["parent"]
    assert pss >= private >= 48 * 1024  # KiB: the written buffer is the parent's own
    parent = next(sizes for what, sizes in curve.peak.by_process.values() if what == "parent")
    assert parent.anon >= 48 * 1024 and parent.file > 0  # the buffer is no file's page
    assert "sleep 1" in peak
    text = memory_curve.summary(curve, step_mb=10)
    assert "parent" in text and "sleep 1" in text and "private" in text
