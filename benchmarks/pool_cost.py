"""What a parallel scan costs over one process, per process (issue 17).

    python benchmarks/pool_cost.py ~/.cache/gatekeeper-bench/real/k8s-full [--jobs 2] [--runs 3]

Runs `gatekeeper scan TARGET --format json` with `--jobs 1` and `--jobs N` in turn (paired
rounds, alternating which goes first) with the code of this checkout, byte code cached as
run.py has it. Inside each run the scanner is wrapped to record, in every process (the parent
and each pool worker): its CPU (user + system), the CPU of each file's scan (scanner.scan_one),
and the CPU of the chunks' upkeep around them (packing results, giving memory back, collecting
after overlay builds) and of merging the chunks in the parent. Reports medians of:

- the run's CPU (children included) for each `--jobs`, and their ratio;
- per process of the pool: total, files scanned, files' CPU, upkeep, the rest (start-up,
  discovery, the verdict and the report in the parent; the fork and the pool's pipes);
- the files each process scanned, at their cost in that process against their cost in the
  one-process run of the same round: what the split itself costs (caches filled once per
  process, CEL programs compiled and first run in each, two processes sharing the caches and
  memory of the machine), apart from what the pool adds around the files;
- with `--top N`, the N files whose CPU grew most in the pool (median over the rounds, with
  the process that scanned them): a file's CPU in two one-process runs agrees within a few
  ms (k8s-full: 0.09 s summed over 9,258 files), so what grows is the split's cost, not
  noise (k8s-full: an overlay build the parent makes before the plain files it reads are
  parsed, 18 -> 53 ms; 0.2 of 0.41 s in 50 files, the rest spread thinly over all).

The machine's load changes all of it: compare within a round, and say the load.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.hook_bench import import_path  # noqa: E402

# The scanner's functions around the files' own work (see gatekeeper/scanner.py).
UPKEEP = ("_packed", "_give_back_freed_memory", "_forget_builds")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _child(out: str, argv: list[str]) -> int:
    """Run gatekeeper with the scanner wrapped; each process writes its record to `out`."""
    from multiprocessing import util

    from gatekeeper import scanner
    from gatekeeper.main import main

    parent = os.getpid()
    record: dict[str, Any] = {"files": {}, "upkeep": 0.0, "merge": 0.0}

    def write() -> None:
        record["cpu"] = _cpu()
        record["role"] = "parent" if os.getpid() == parent else "worker"
        with open(os.path.join(out, f"{os.getpid()}.json"), "w") as handle:
            json.dump(record, handle)

    def wrap(name: str, key: str) -> None:
        original = getattr(scanner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                record[key] += time.process_time() - start

        setattr(scanner, name, timed)

    scan_one = scanner.scan_one

    def file_timed(path: str, *args: Any) -> Any:
        start = time.process_time()
        try:
            return scan_one(path, *args)
        finally:
            record["files"][path] = time.process_time() - start

    class Forked:
        """In a pool worker (which ends without atexit): its record, written at its exit."""

        def __call__(self, _: object) -> None:
            record.update(files={}, upkeep=0.0, merge=0.0)
            util.Finalize(None, write, exitpriority=100)

    held = Forked()  # (the registry holds it weakly)
    util.register_after_fork(held, held)
    scanner.scan_one = file_timed  # type: ignore[assignment]
    for name in UPKEEP:
        wrap(name, "upkeep")
    wrap("_merge_in_order", "merge")
    try:
        code = main(argv)
    finally:
        write()
    return code


def _run(target: str, jobs: int, env: dict[str, str]) -> dict[str, Any]:
    """One run: its CPU (children included) and every process's record."""
    with tempfile.TemporaryDirectory(prefix="pool-cost-") as out:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        command = [sys.executable, __file__, "--child", out, "scan", target]
        command += ["--format", "json", "--jobs", str(jobs)]
        done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode not in (0, 1):
            raise SystemExit(f"scan failed ({done.returncode}):\n{done.stderr.decode()}")
        processes = [json.loads(path.read_text()) for path in sorted(Path(out).glob("*.json"))]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"cpu": cpu, "processes": processes}


def _rows(single: dict[str, Any], pooled: dict[str, Any]) -> dict[str, float]:
    """One round's figures (see the module's docstring)."""
    alone = {path: cost for one in single["processes"] for path, cost in one["files"].items()}
    rows = {"cpu 1": single["cpu"], "cpu N": pooled["cpu"]}
    for one in sorted(pooled["processes"], key=lambda one: one["role"]):
        files = one["files"]
        role = one["role"]
        rows[f"{role} total"] = rows.get(f"{role} total", 0.0) + one["cpu"]
        rows[f"{role} files"] = rows.get(f"{role} files", 0.0) + len(files)
        rows[f"{role} files' CPU"] = rows.get(f"{role} files' CPU", 0.0) + sum(files.values())
        same = sum(alone.get(path, 0.0) for path in files)
        rows[f"{role} same files alone"] = rows.get(f"{role} same files alone", 0.0) + same
        rows[f"{role} upkeep"] = rows.get(f"{role} upkeep", 0.0) + one["upkeep"]
        rows[f"{role} merge"] = rows.get(f"{role} merge", 0.0) + one["merge"]
        rest = one["cpu"] - sum(files.values()) - one["upkeep"] - one["merge"]
        rows[f"{role} rest"] = rows.get(f"{role} rest", 0.0) + rest
    return rows


class Grown(NamedTuple):
    """A file's CPU in the pool over its CPU in one process (seconds), and where it went."""

    excess: float
    alone: float
    role: str
    path: str


def _grown(rounds: list[tuple[dict[str, Any], dict[str, Any]]], count: int) -> list[Grown]:
    """The `count` files whose CPU grew most in the pool: median over the rounds' (single,
    pooled) pairs of its pooled CPU less its CPU alone."""
    excess: dict[str, list[float]] = {}
    alone: dict[str, list[float]] = {}
    role: dict[str, str] = {}
    for single, pooled in rounds:
        once = {path: cost for one in single["processes"] for path, cost in one["files"].items()}
        for one in pooled["processes"]:
            for path, cost in one["files"].items():
                if path in once:
                    excess.setdefault(path, []).append(cost - once[path])
                    alone.setdefault(path, []).append(once[path])
                    role[path] = one["role"]
    grown = [
        Grown(statistics.median(excess[path]), statistics.median(alone[path]), role[path], path)
        for path in excess
    ]
    return sorted(grown, reverse=True)[:count]


def main() -> int:
    if sys.argv[1:2] == ["--child"]:  # one run (see _run): --child OUT, gatekeeper's arguments
        return _child(sys.argv[2], sys.argv[3:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("target")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--top", type=int, default=0, help="list the files that grew most")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pool-cost-src-") as temp:
        env = {**os.environ, "PYTHONPATH": import_path(str(HERE.parent), temp)}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: byte code cached
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(HERE.parent / "gatekeeper")])
        _run(args.target, 1, env)  # warm-up: the policy cache and the byte code
        rounds = []
        pairs = []
        for number in range(args.runs):
            order = (1, args.jobs) if number % 2 == 0 else (args.jobs, 1)
            runs = {jobs: _run(args.target, jobs, env) for jobs in order}
            rounds.append(_rows(runs[1], runs[args.jobs]))
            pairs.append((runs[1], runs[args.jobs]))
    print(f"{args.target}, --jobs 1 against --jobs {args.jobs}, medians of {args.runs} rounds")
    print("load (1, 5, 15 min): " + " ".join(f"{load:.2f}" for load in os.getloadavg()))
    for name in rounds[0]:
        values = [one.get(name, 0.0) for one in rounds]
        print(f"  {name:<28} {statistics.median(values):9.3f}")
    ratios = [one["cpu N"] / one["cpu 1"] for one in rounds]
    print(f"  {'CPU N / CPU 1':<28} {statistics.median(ratios):9.3f}")
    if args.top:
        print("files that grew most in the pool (s): excess, alone, process, file")
        target = args.target.rstrip("/") + "/"
        for grown in _grown(pairs, args.top):
            name = grown.path.removeprefix(target)
            print(f"  {grown.excess:7.4f} {grown.alone:7.4f} {grown.role:<6} {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
