"""Paired full scans of two builds of gatekeeper: CPU (children included), wall, peak tree PSS.

    python benchmarks/memory_ab.py --source /tmp/old --source . --runs 3 \
        ~/.cache/gatekeeper-bench/real/k8s ~/.cache/gatekeeper-bench/real/scaled-8x

For memory work on a shared machine: each round runs every source once on a target (A/B/A/B),
so load from other jobs falls on both; medians of each measure and the median of the pair
ratios (second source over first) are printed, and written with `--json`. The memory is
benchmarks/run.py's: the peak of the PSS summed over the process tree (workers, children).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.hook_bench import import_path  # noqa: E402
from benchmarks.run import Measure, gatekeeper_command, measure  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", action="append", required=True, help="a gatekeeper checkout")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write the runs and medians here")
    parser.add_argument("targets", nargs="+", type=Path)
    args = parser.parse_args()
    report: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as temp:
        paths = {source: import_path(source, temp) for source in args.source}
        output = Path(temp) / "report.json"
        for target in args.targets:
            command = [*gatekeeper_command(), "scan", str(target), "--format", "json"]
            runs: dict[str, list[Measure]] = {source: [] for source in args.source}
            for _ in range(args.runs):
                for source in args.source:
                    env = {"PYTHONPATH": paths[source]}
                    measured = measure(command, target, env, output)
                    runs[source].append(measured)
                    print(
                        f"{target.name} {source}: cpu {measured.cpu:.2f} s, wall "
                        f"{measured.wall:.1f} s, tree PSS {measured.tree_pss_mb:.0f} MB",
                        flush=True,
                    )
            report[target.name] = summary(runs)
            print(json.dumps(report[target.name], indent=1), flush=True)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")


def summary(runs: dict[str, list[Measure]]) -> dict[str, object]:
    sources = list(runs)
    out: dict[str, object] = {}
    for source, measured in runs.items():
        out[source] = {
            "cpu_s": [m.cpu for m in measured],
            "tree_pss_mb": [m.tree_pss_mb for m in measured],
            "median_cpu_s": statistics.median(m.cpu for m in measured),
            "median_wall_s": statistics.median(m.wall for m in measured),
            "median_tree_pss_mb": statistics.median(m.tree_pss_mb for m in measured),
        }
    if len(sources) == 2:
        first, second = runs[sources[0]], runs[sources[1]]
        pairs = list(zip(first, second, strict=True))
        out["pair_ratio_cpu"] = statistics.median(b.cpu / a.cpu for a, b in pairs)
        out["pair_ratio_tree_pss"] = statistics.median(
            b.tree_pss_mb / a.tree_pss_mb for a, b in pairs
        )
    return out


if __name__ == "__main__":
    main()
