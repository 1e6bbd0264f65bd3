"""benchmarks/memory_holders.py says which line holds a process's memory."""

from __future__ import annotations

import tracemalloc

from benchmarks import memory_holders


def test_the_line_holding_the_most_comes_first_with_its_size() -> None:
    tracemalloc.start(1)
    try:
        held = [str(number) * 40 for number in range(50_000)]  # about 4 MB, on this line
        line = test_the_line_holding_the_most_comes_first_with_its_size.__code__.co_firstlineno
        snapshot = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    text = memory_holders.report(snapshot, "test", 3, "lineno")
    first = text.splitlines()[1]
    assert f"test_memory_holders.py:{line + 3}" in first
    assert float(first.split()[0]) >= 3.0  # MB
    assert text.startswith("== test:") and len(held) == 50_000
