"""The benchmark's memory figures count a process tree honestly (benchmarks/run.py)."""

from __future__ import annotations

import os
import platform
import signal
import subprocess
import sys
import time

import pytest

from benchmarks import run

FORKED = """
import os, sys, time
data = bytearray(64 * 2**20)  # written: resident, then shared with the fork below
for index in range(0, len(data), 4096):
    data[index] = 1
if os.fork() == 0:
    time.sleep(30)
    os._exit(0)
print("ready", flush=True)
time.sleep(30)
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/smaps_rollup"), reason="Linux /proc")
def test_tree_pss_counts_pages_a_forked_child_shares_once() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", FORKED], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert process.stdout is not None and process.stdout.readline() == "ready\n"
        time.sleep(0.2)
        rss, pss = run.tree_memory_kb(process.pid)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the fork too
        process.wait()
    shared = 64 * 1024
    assert rss >= 2 * shared  # each process's RSS counts the 64 MiB
    assert shared <= pss < 1.5 * shared  # PSS counts them once


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc_trim")
def test_pool_workers_can_give_freed_memory_back() -> None:
    """Workers trim the C heap after each chunk (scanner._give_back_freed_memory): on glibc
    the call is found, so a worker's memory does not grow with the repository."""
    from gatekeeper import scanner

    trim = scanner._malloc_trim()
    assert trim is not None
    assert trim(0) in (0, 1)
    scanner._give_back_freed_memory()


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="Linux's /proc")
def test_a_chunk_gives_memory_back_only_once_its_process_has_grown() -> None:
    """A trim gives back pages the next chunk's parse takes again (a page fault each): after
    a chunk (`grown`), the heap is trimmed only once the process has grown by
    TRIM_AFTER_GROWTH since its last trim; other callers always trim."""
    from gatekeeper import scanner

    scanner._give_back_freed_memory()
    trimmed = scanner._TRIMMED_AT[0]
    assert trimmed > 0
    scanner._give_back_freed_memory(grown=True)  # nothing grew: no trim
    assert scanner._TRIMMED_AT[0] == trimmed
    held = bytes(range(256)) * (2 * scanner.TRIM_AFTER_GROWTH // 256)  # every page written
    scanner._give_back_freed_memory(grown=True)
    assert scanner._TRIMMED_AT[0] >= trimmed + scanner.TRIM_AFTER_GROWTH
    del held


@pytest.mark.skipif(run._kcmp() is None, reason="Linux's kcmp (x86_64)")
def test_a_process_in_the_memory_of_one_counted_before_is_not_counted_again() -> None:
    """A vfork child (every command subprocess starts, until it runs its program) is in its
    parent's address space, and /proc gives that space's sizes for both: it is left out. The
    same process listed twice is the same case; a forked child has memory of its own."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        me = os.getpid()
        tree = [(me, 100), (me, 100), (child.pid, 50)]
        assert run._own_memory(tree) == [(me, 100), (child.pid, 50)]
    finally:
        child.kill()
        child.wait()
