"""What holds a scan's memory, by the line that allocated it, in the parent and a pool worker.

    python benchmarks/memory_holders.py --out /tmp/holders -- scan \
        ~/.cache/gatekeeper-bench/real/k8s --format json --output /dev/null

memory_curve.py says which process holds the memory and when, memory_stages.py what kind of
heap it is; this says which objects. It runs gatekeeper in this process with tracemalloc on
(`--frames` deep: three times slower, so the timings mean nothing) and takes a snapshot

- in the parent: before the pool forks, when its overlay builds are done (before their
  parse cache is dropped), when the pool has ended (before its chunks' results are
  merged), after the merge, at the verdict and when the report is written;
- in each pool worker: after its last chunk, and after the chunk at which its traced memory
  was the largest so far (a transient peak: a large file's nodes);

then prints, for each snapshot, the traced total and the `--top` lines holding the most
(`--by traceback` groups by the whole stack kept: who called the allocating line). The
snapshots are kept in `--out` for tracemalloc's own comparisons.
"""

from __future__ import annotations

import argparse
import os
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

# Allocations of tracemalloc itself and of this tool are not the scan's.
_IGNORED = (tracemalloc.__file__, __file__)


def report(snapshot: tracemalloc.Snapshot, what: str, top: int, by: str) -> str:
    snapshot = snapshot.filter_traces([tracemalloc.Filter(False, name) for name in _IGNORED])
    stats = snapshot.statistics(by)
    total = sum(stat.size for stat in stats)
    lines = [f"== {what}: {total / 1e6:.1f} MB traced in {len(stats)} places"]
    for stat in stats[:top]:
        frames = list(stat.traceback) if by == "traceback" else [stat.traceback[0]]
        where = " <- ".join(f"{_short(frame.filename)}:{frame.lineno}" for frame in frames)
        lines.append(f"{stat.size / 1e6:8.2f} MB {stat.count:>9} blocks  {where}")
    return "\n".join(lines)


def _short(filename: str) -> str:
    for marker in ("/gatekeeper/", "/site-packages/", "/lib/python3"):
        if marker in filename:
            return filename[filename.index(marker) + 1 :]
    return filename


class Recorder:
    def __init__(self, out: Path, top: int, by: str) -> None:
        self.out = out
        self.top = top
        self.by = by
        self.parent = os.getpid()
        self.largest = 0  # a worker's largest traced size after a chunk so far

    def take(self, what: str) -> None:
        who = "parent" if os.getpid() == self.parent else f"worker-{os.getpid()}"
        snapshot = tracemalloc.take_snapshot()
        name = f"{who}-{what}".replace(" ", "-")
        snapshot.dump(str(self.out / f"{name}.snapshot"))
        text = report(snapshot, f"{who}: {what}", self.top, self.by)
        (self.out / f"{name}.txt").write_text(text + "\n")
        print(text, file=sys.stderr, flush=True)


def instrument(recorder: Recorder) -> None:
    from gatekeeper import output, pipeline, scanner

    def around(owner: Any, name: str, before: str, after: str) -> None:
        original: Callable[..., Any] = getattr(owner, name)

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if before:
                recorder.take(before)
            try:
                return original(*args, **kwargs)
            finally:
                if after:
                    recorder.take(after)

        setattr(owner, name, wrapped)

    around(scanner, "_scan_pooled", "before the fork", "")
    around(scanner, "_forget_builds", "builds done", "")
    around(scanner, "_merge_in_order", "pool ended", "results merged")
    around(pipeline, "verdict", "", "verdict")
    around(output, "write", "", "report written")
    task = scanner._worker_task

    def worker_task(number: int) -> Any:
        done = task(number)
        if done is None:
            recorder.take("last chunk")
            return None
        traced = tracemalloc.get_traced_memory()[0]
        if traced > recorder.largest * 1.2 and traced > 20_000_000:
            recorder.largest = traced
            recorder.take(f"largest-{traced >> 20}MiB")
        return done

    # Sent to the pool by name: the wrapper takes the original's.
    worker_task.__module__, worker_task.__qualname__ = scanner.__name__, task.__qualname__
    scanner._worker_task = worker_task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="a folder for the snapshots")
    parser.add_argument("--frames", type=int, default=1)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--by", choices=("lineno", "traceback"), default="lineno")
    parser.add_argument("arguments", nargs="+", help="gatekeeper's arguments")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    tracemalloc.start(args.frames)
    instrument(Recorder(args.out, args.top, args.by))
    from gatekeeper.main import main as gatekeeper

    sys.argv = ["gatekeeper", *args.arguments]
    gatekeeper()


if __name__ == "__main__":
    main()
