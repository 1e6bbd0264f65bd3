"""benchmarks/memory_stages.py reads what a process's memory is made of."""

from __future__ import annotations

import os

import pytest

from benchmarks import memory_stages


@pytest.mark.skipif(not os.path.exists("/proc/self/smaps_rollup"), reason="Linux /proc")
def test_live_small_objects_show_in_the_arenas() -> None:
    before = memory_stages.stage("before", 0.0)
    held = [object() for _ in range(200_000)]  # 16 bytes each: pymalloc's, 3 MB at least
    after = memory_stages.stage("after", 0.0)
    assert after.live_mb >= before.live_mb + 2
    assert after.arenas >= after.live_mb  # 1 MiB arenas hold the live blocks (or have room)
    assert after.pss_mb >= before.pss_mb
    assert "arenas" in after.line() and len(held) == 200_000


def test_numbers_are_read_with_thousands_separators() -> None:
    text = "# arenas allocated current           =                  1,234\n"
    assert memory_stages._number(text, "# arenas allocated current") == 1234
    assert memory_stages._number(text, "# bytes in allocated blocks") == 0
