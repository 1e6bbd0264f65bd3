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
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.run import _pss_kb, _tree  # noqa: E402


@dataclass
class Sample:
    seconds: float
    by_process: dict[int, tuple[str, int]]  # pid -> (what it is, PSS in KiB)

    @property
    def total_kb(self) -> int:
        return sum(pss for _, pss in self.by_process.values())


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


def sample(root: int, started: float) -> Sample:
    processes = {}
    for pid, _ in _tree(root):
        processes[pid] = (_what(pid, root), _pss_kb(pid))
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


def grouped(point: Sample) -> dict[str, int]:
    """PSS in KiB by kind of process: the parent, workers (forks of the parent, which show its
    command line), and each other command."""
    out: dict[str, int] = {}
    for what, pss in point.by_process.values():
        out[what] = out.get(what, 0) + pss
    return out


def summary(curve: Curve, step_mb: float) -> str:
    lines = ["seconds  tree PSS MB  (processes)"]
    last = -step_mb
    for point in curve.samples:
        total = point.total_kb / 1024
        if abs(total - last) >= step_mb:
            parts = ", ".join(
                f"{name} {kb / 1024:.0f}" for name, kb in sorted(grouped(point).items())
            )
            lines.append(f"{point.seconds:7.2f}  {total:10.1f}  ({parts})")
            last = total
    if curve.samples:
        peak = curve.peak
        lines.append(f"peak at {peak.seconds:.2f} s: {peak.total_kb / 1024:.1f} MB")
        for pid, (what, pss) in sorted(peak.by_process.items()):
            lines.append(f"  {pid:>7} {pss / 1024:8.1f} MB  {what}")
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
                "processes": {str(pid): v for pid, v in point.by_process.items()},
            }
            for point in curve.samples
        ]
        args.json.write_text(json.dumps(rows) + "\n")
    sys.exit(code if code not in (0, 1) else 0)


if __name__ == "__main__":
    main()
