"""`scan --hook FILE` (what pre-commit runs for one staged file) in real repositories.

    python benchmarks/hook_bench.py REPO:FILE [REPO:FILE ...] [--runs 7] [--source DIR ...]

Each case is a checkout and a file in it (a manifest, a chart's values file, a base that
overlays build). Every `--source` (a checkout of gatekeeper, e.g. main from `git archive`;
default: this one) runs the case in turn, `--runs` paired rounds after one warm-up run (the
policy cache fills then), each with its own cache directory. Reports medians of wall time and
of CPU (user + system of the process and of every helper it waited for: kubectl, the Helm
renderer), and the exit code (a hook that failed to start is no result: 0 or 1 only).
The machine's load decides wall time; compare CPU when it is shared.

`--edit`: the file changes before every run (a comment line with the run's number appended,
in a copy of the repository), as it has when pre-commit runs: content-keyed caches miss on
it and hit only on what did not change. Without it, every run after the warm-up re-judges
unchanged content.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def import_path(source: str, temp: str) -> str:
    """A PYTHONPATH that imports gatekeeper, its built-in library (the package
    `gatekeeper_policies`, `policies/` in a checkout) and its templates from the checkout
    `source`: links in a folder of `temp`, so an installed editable copy's are not used."""
    checkout = Path(source).resolve()
    folder = Path(tempfile.mkdtemp(prefix="source-", dir=temp))
    (folder / "gatekeeper").symlink_to(checkout / "gatekeeper")
    (folder / "gatekeeper_policies").symlink_to(checkout / "policies")
    (folder / "gatekeeper_templates").symlink_to(checkout / "templates")
    return str(folder)


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (children included) of one run; exit 0 or 1 only."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} in {cwd} failed ({proc.returncode}):\n{proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def edit(repo: str, file: str, wanted: bool, number: int) -> None:
    """Append a comment line (YAML, HCL, Dockerfile: `#`) that no run has seen."""
    if wanted:
        with Path(repo, file).open("a") as out:
            out.write(f"\n# hook-bench edit {number}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="+", metavar="REPO:FILE")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--source", action="append", help="import gatekeeper from here")
    parser.add_argument("--json", help="write the results here too")
    parser.add_argument("--edit", action="store_true", help="change the file before each run")
    args = parser.parse_args()
    sources = args.source or [str(Path(__file__).resolve().parent.parent)]
    results: dict[str, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="gatekeeper-hook-bench-") as temp:
        for case in args.cases:
            repo, _, file = case.rpartition(":")
            if args.edit:  # a copy of ours to change (the corpus is shared and read-only)
                copy = Path(tempfile.mkdtemp(prefix="repo-", dir=temp), "repo")
                shutil.copytree(repo, copy, symlinks=True)
                repo = str(copy)
            edits = iter(range(1, 1_000_000))
            samples: dict[str, list[tuple[float, float]]] = {source: [] for source in sources}
            envs = {}
            for index, source in enumerate(sources):
                env = {**os.environ, "PYTHONPATH": import_path(source, temp)}
                env["GATEKEEPER_CACHE_DIR"] = str(Path(temp, f"cache{index}"))
                env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: byte code cached
                envs[source] = env
            command = [sys.executable, "-m", "gatekeeper", "scan", "--hook", file]
            for source in sources:
                edit(repo, file, args.edit, next(edits))
                timed(command, Path(repo), envs[source])  # warm-up: caches, byte code
            for _ in range(args.runs):
                for source in sources:
                    edit(repo, file, args.edit, next(edits))
                    samples[source].append(timed(command, Path(repo), envs[source]))
            results[case] = {
                source: {
                    "wall": statistics.median(wall for wall, _ in runs),
                    "cpu": statistics.median(cpu for _, cpu in runs),
                }
                for source, runs in samples.items()
            }
    machine = f"{platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    edited = ", the file edited before each run" if args.edit else ""
    print(machine, f"load average {os.getloadavg()[0]:.1f}{edited}")
    for case, by_source in results.items():
        for source, values in by_source.items():
            print(f"{case}  [{source}]  wall {values['wall']:.3f} s  CPU {values['cpu']:.3f} s")
    if args.json:
        report = {"machine": machine, "runs": args.runs, "edit": args.edit, "results": results}
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
