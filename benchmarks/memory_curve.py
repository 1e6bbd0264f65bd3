"""Where a command's memory is, over time: the PSS of each process of its tree, sampled.

    python benchmarks/memory_curve.py -- gatekeeper scan ~/.cache/gatekeeper-bench/real/k8s \
        --format json --output /dev/null
    python benchmarks/memory_curve.py --every 0.05 --json curve.json -- CMD...

`run.py` reports one number per run (the peak of the tree's PSS sum); to make that number
smaller one needs to know which process holds it and when: the parent holding findings, a
pool worker parsing a large file, or a `kubectl kustomize` build. Prints the tree's PSS curve
(a line per step of growth), then the breakdown at the peak by process (its command line).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.run import _tree  # noqa: E402


@dataclass(frozen=True)
class Sizes:
    """One process's memory in KiB (from /proc/PID/smaps_rollup)."""

    pss: int = 0
    private: int = 0  # the pages no other process shares (written since the fork, its own)
    anon: int = 0  # PSS of anonymous pages: heap, objects (shared ones halved with a fork)
    file: int = 0  # PSS of file-backed pages: the interpreter, libraries, mapped files


@dataclass
class Sample:
    seconds: float
    # pid -> (what it is, its sizes)
    by_process: dict[int, tuple[str, Sizes]]

    @property
    def total_kb(self) -> int:
        return sum(sizes.pss for _, sizes in self.by_process.values())


@dataclass
class Curve:
    samples: list[Sample] = field(default_factory=list)

    @property
    def peak(self) -> Sample:
        return max(self.samples, key=lambda sample: sample.total_kb)


def _what(pid: int, root: int) -> str:
    """A short name for a process: the parent, a pool worker (a fork of it), or its command."""
    if pid == root:
        return "parent"
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            argv = handle.read().split(b"\0")
    except OSError:
        return "gone"
    words = [Path(word.decode(errors="replace")).name for word in argv[:3] if word]
    return " ".join(words) or "?"


_FIELDS = {"Pss:": "pss", "Pss_Anon:": "anon", "Pss_File:": "file"}


def _sizes_kb(pid: int) -> Sizes:
    """One process's sizes; all 0 when it is gone. Private pages are what a forked worker
    has written (its own objects, and the parent's it touched: reference counts copy a page
    on write); its PSS besides is its share of the pages still shared."""
    found = dict.fromkeys(("pss", "private", "anon", "file"), 0)
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for row in handle:
                name = row.split(maxsplit=1)[0]
                if name in _FIELDS:
                    found[_FIELDS[name]] = int(row.split()[1])
                elif name in ("Private_Clean:", "Private_Dirty:"):
                    found["private"] += int(row.split()[1])
    except (OSError, ValueError, IndexError):
        return Sizes()
    return Sizes(**found)


def sample(root: int, started: float) -> Sample:
    processes = {}
    for pid, _ in _tree(root):
        processes[pid] = (_what(pid, root), _sizes_kb(pid))
    return Sample(round(time.perf_counter() - started, 3), processes)


def record(command: list[str], every: float) -> tuple[Curve, int]:
    """Run `command` to its end, sampling its tree every `every` seconds."""
    curve = Curve()
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    done = threading.Event()

    def loop() -> None:
        while not done.wait(every):
            curve.samples.append(sample(process.pid, started))

    sampler = threading.Thread(target=loop, daemon=True)
    sampler.start()
    code = process.wait()
    done.set()
    sampler.join()
    return curve, code


def grouped(point: Sample) -> dict[str, tuple[int, int]]:
    """(PSS, private) in KiB by kind of process: the parent, workers (forks of the parent,
    which show its command line), and each other command."""
    out: dict[str, tuple[int, int]] = {}
    for what, sizes in point.by_process.values():
        before = out.get(what, (0, 0))
        out[what] = (before[0] + sizes.pss, before[1] + sizes.private)
    return out


def summary(curve: Curve, step_mb: float) -> str:
    lines = ["seconds  tree PSS MB  (processes: PSS/private MB)"]
    last = -step_mb
    for point in curve.samples:
        total = point.total_kb / 1024
        if abs(total - last) >= step_mb:
            parts = ", ".join(
                f"{name} {pss / 1024:.0f}/{private / 1024:.0f}"
                for name, (pss, private) in sorted(grouped(point).items())
            )
            lines.append(f"{point.seconds:7.2f}  {total:10.1f}  ({parts})")
            last = total
    if curve.samples:
        peak = curve.peak
        lines.append(f"peak at {peak.seconds:.2f} s: {peak.total_kb / 1024:.1f} MB")
        for pid, (what, sizes) in sorted(peak.by_process.items()):
            lines.append(
                f"  {pid:>7} {sizes.pss / 1024:8.1f} MB ({sizes.private / 1024:.1f} private;"
                f" anonymous {sizes.anon / 1024:.1f}, files {sizes.file / 1024:.1f})  {what}"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=float, default=0.05, help="seconds between samples")
    parser.add_argument("--step", type=float, default=10.0, help="print a line per MB moved")
    parser.add_argument("--json", type=Path, help="write every sample here")
    parser.add_argument("command", nargs="+")
    args = parser.parse_args()
    curve, code = record(args.command, args.every)
    print(summary(curve, args.step))
    if args.json:
        rows = [
            {
                "seconds": point.seconds,
                "processes": {
                    str(pid): [what, asdict(sizes)]
                    for pid, (what, sizes) in point.by_process.items()
                },
            }
            for point in curve.samples
        ]
        args.json.write_text(json.dumps(rows) + "\n")
    sys.exit(code if code not in (0, 1) else 0)


if __name__ == "__main__":
    main()
