"""benchmarks/memory_ab.py pairs two builds' runs: medians per build, median pair ratios."""

from __future__ import annotations

import pytest

from benchmarks.memory_ab import summary
from benchmarks.run import Measure


def run(cpu: float, pss: float) -> Measure:
    return Measure(wall=cpu * 2, cpu=cpu, max_rss_mb=0, tree_rss_mb=0, exit_code=0, tree_pss_mb=pss)


def test_medians_and_the_median_of_the_pair_ratios() -> None:
    old = [run(10, 200), run(12, 210), run(8, 190)]
    new = [run(11, 100), run(12, 105), run(4, 95)]
    out = summary({"old": old, "new": new})
    assert out["old"]["median_cpu_s"] == 10 and out["new"]["median_tree_pss_mb"] == 100
    # pair ratios 1.1, 1.0, 0.5: the median pairs runs made under the same load
    assert out["pair_ratio_cpu"] == pytest.approx(1.0)
    assert out["pair_ratio_tree_pss"] == pytest.approx(0.5)


def test_one_build_has_no_ratios() -> None:
    assert set(summary({"only": [run(1, 1)]})) == {"only"}
