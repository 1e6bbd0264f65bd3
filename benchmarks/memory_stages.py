"""What a scan's memory is made of, at each stage, in the parent and in a pool worker.

    python benchmarks/memory_stages.py -- scan ~/.cache/gatekeeper-bench/real/k8s \
        --format json --output /dev/null

memory_curve.py says which process holds the memory and when; this says what kind it is.
For each stage (files read, before the pool forks, every 100 chunks a process scans, after
the pool, the verdict, the report written) it prints the process's PSS beside Python's
small-object heap (pymalloc arenas: 1 MiB each, given back only when empty) and the live
blocks in them, and glibc's heap in use and free. Arenas far above their live blocks are
fragmentation (a few long-lived objects pin arenas that parsing filled); a large free C
heap is what malloc_trim could give back. Runs gatekeeper in this process, no tracemalloc
(which doubles the time and changes the heap it measures).
"""

from __future__ import annotations

import ctypes
import functools
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


@dataclass(frozen=True)
class Stage:
    what: str
    pid: int
    seconds: float
    pss_mb: int
    arenas: int  # pymalloc arenas allocated now
    live_mb: int  # bytes in allocated pymalloc blocks
    malloc_used_mb: int
    malloc_free_mb: int

    def line(self) -> str:
        return (
            f"{self.seconds:7.1f}s {self.pid:>7} {self.what:24} PSS {self.pss_mb:4d} MB | "
            f"arenas {self.arenas:4d} MiB, live {self.live_mb:4d} MB | "
            f"malloc used {self.malloc_used_mb:4d} MB, free {self.malloc_free_mb:4d} MB"
        )


def pss_mb() -> int:
    with open("/proc/self/smaps_rollup") as handle:
        for row in handle:
            if row.startswith("Pss:"):
                return int(row.split()[1]) // 1024
    return 0


def pymalloc() -> tuple[int, int]:
    """(arenas allocated, bytes in allocated blocks), from sys._debugmallocstats (which
    writes to the C stderr, so it is caught at the file descriptor)."""
    saved = os.dup(2)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        caught.seek(0)
        text = caught.read().decode(errors="replace")
    return _number(text, "# arenas allocated current"), _number(text, "# bytes in allocated blocks")


def _number(text: str, label: str) -> int:
    found = re.search(re.escape(label) + r"\s*=\s*([\d,]+)", text)
    return int(found.group(1).replace(",", "")) if found else 0


@functools.cache
def _mallinfo() -> Callable[[], _MallInfo2] | None:
    try:
        function = ctypes.CDLL("libc.so.6").mallinfo2
    except (OSError, AttributeError):
        return None
    function.restype = _MallInfo2
    return function


def stage(what: str, started: float) -> Stage:
    arenas, live = pymalloc()
    info = _mallinfo()
    used, free = (info().uordblks, info().fordblks) if info else (0, 0)
    return Stage(
        what,
        os.getpid(),
        round(time.perf_counter() - started, 1),
        pss_mb(),
        arenas,
        live >> 20,
        used >> 20,
        free >> 20,
    )


def instrument(started: float, every: int = 100) -> None:
    """Print a Stage line at each stage of a scan (wrapping gatekeeper's functions)."""
    from gatekeeper import output, pipeline, scanner
    from gatekeeper.contents import Contents

    parent = os.getpid()

    def say(what: str) -> None:
        print(stage(what, started).line(), file=sys.stderr, flush=True)

    def around(owner: Any, name: str, before: str, after: str) -> None:
        original = getattr(owner, name)

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if before:
                say(before)
            try:
                return original(*args, **kwargs)
            finally:
                say(after)

        setattr(owner, name, wrapped)

    contents_of = Contents.of.__func__  # type: ignore[attr-defined]

    def read(cls: type[Contents], *args: Any) -> Contents:
        found: Contents = contents_of(cls, *args)
        say(f"files read ({len(found)})")
        return found

    Contents.of = classmethod(read)  # type: ignore[method-assign,assignment]
    around(scanner, "_scan_pooled", "before the fork", "after the pool")
    around(pipeline, "verdict", "", "verdict")
    around(output, "write", "", "report written")
    scan_files = scanner._scan_files
    chunks = [0]

    def counted(numbers: list[int]) -> Any:
        found = scan_files(numbers)
        chunks[0] += 1
        if chunks[0] % every == 0:
            who = "parent" if os.getpid() == parent else "worker"
            first = scanner._pairs[numbers[0]][0] if numbers else ""
            say(f"{who}: {chunks[0]} chunks, {first[:40]}")
        return found

    scanner._scan_files = counted


def main() -> None:
    arguments = sys.argv[1:]
    every = 100
    if arguments[:1] and arguments[0].startswith("--every="):
        every = int(arguments.pop(0).partition("=")[2])
    if arguments[:1] == ["--"]:
        arguments = arguments[1:]
    if not arguments:
        sys.exit(__doc__)
    started = time.perf_counter()
    instrument(started, every)
    from gatekeeper.main import main as gatekeeper

    sys.argv = ["gatekeeper", *arguments]
    gatekeeper()


if __name__ == "__main__":
    main()
