"""What a process pays in CPU for sharing the machine with a second one (issue 17).

    python benchmarks/concurrency_tax.py ~/.cache/gatekeeper-bench/real/k8s-full [--rounds 3]

Runs run.py's YAML lower bound (one process, libyaml) on TARGET alone, then two copies of it
at once, in alternating rounds, and reports each run's CPU (user + system, from wait4) and
the median ratio of the copies' CPU to the lone run's. The work is the same either way, so
the ratio is what two busy processes cost each other on this machine (shared caches, memory
bandwidth, the host's scheduling of the virtual cores): the part of a two-process scan's CPU
over the one-process bound that no change of gatekeeper's can remove. On the 2-core machine
of the twenty-second session it was 0.999: none.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.run import LOWER_BOUND


def _cpu_of(processes: list[subprocess.Popen[bytes]]) -> list[float]:
    """Each process's CPU seconds once it ends (its own rusage, not the children's sum)."""
    found = []
    for process in processes:
        _pid, _status, usage = os.wait4(process.pid, 0)
        process.returncode = 0  # reaped here: Popen must not wait for it again
        found.append(usage.ru_utime + usage.ru_stime)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    command = [sys.executable, "-c", LOWER_BOUND, args.target]
    alone: list[float] = []
    together: list[float] = []
    for _ in range(args.rounds):
        alone += _cpu_of([subprocess.Popen(command, stdout=subprocess.DEVNULL)])
        pair = [subprocess.Popen(command, stdout=subprocess.DEVNULL) for _ in range(2)]
        together += _cpu_of(pair)
    print("alone   ", " ".join(f"{cpu:.2f}" for cpu in alone))
    print("together", " ".join(f"{cpu:.2f}" for cpu in together))
    ratio = statistics.median(together) / statistics.median(alone)
    print(f"median CPU of a run beside another / alone: {ratio:.3f}")


if __name__ == "__main__":
    main()
