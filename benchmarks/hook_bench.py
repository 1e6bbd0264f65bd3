"""`scan --hook FILE` (what pre-commit runs for one staged file) in real repositories.

    python benchmarks/hook_bench.py REPO:FILE [REPO:FILE ...] [--runs 7] [--source DIR ...]

Each case is a checkout and a file in it (a manifest, a chart's values file, a base that
overlays build). Every `--source` (a checkout of gatekeeper, e.g. main from `git archive`;
default: this one) runs the case in turn, `--runs` paired rounds after one warm-up run (the
policy cache fills then), each with its own cache directory. Reports medians of wall time and
of CPU (user + system of the process and of every helper it waited for: kubectl, the Helm
renderer), and the exit code (a hook that failed to start is no result: 0 or 1 only).
The machine's load decides wall time; compare CPU when it is shared.

`--edit`: the file changes before every run (in a copy of the repository), as it has when
pre-commit runs: content-keyed caches miss on it and hit only on what did not change. Each
case is then measured twice: with a value changed (a top-level key `hookBenchEditN: N`
appended: a YAML mapping, as a chart's values file is; every rendering is asked of Helm
again) and with a comment line appended (the same values: a chart's renderings are kept,
helm_renders). `--edit-only value` (or `comment`) measures one of them. Without `--edit`,
every run after the warm-up re-judges unchanged content.
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


# What --edit appends before a run: a value (other values), then a comment (the same ones).
EDITS = ("value", "comment")


def edit(repo: str, file: str, how: str, number: int) -> None:
    """Append what no run has seen: a comment line (YAML, HCL, Dockerfile: `#`), or a value
    (a top-level key of a YAML mapping); nothing when `how` is ""."""
    lines = {"comment": f"# hook-bench edit {number}", "value": f"hookBenchEdit{number}: {number}"}
    if how:
        with Path(repo, file).open("a") as out:
            out.write(f"\n{lines[how]}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="+", metavar="REPO:FILE")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--source", action="append", help="import gatekeeper from here")
    parser.add_argument("--json", help="write the results here too")
    parser.add_argument("--edit", action="store_true", help="change the file before each run")
    parser.add_argument(
        "--edit-only", choices=EDITS, help="with --edit: only this edit (default: both)"
    )
    args = parser.parse_args()
    sources = args.source or [str(Path(__file__).resolve().parent.parent)]
    edits_asked = [args.edit_only] if args.edit_only else list(EDITS) if args.edit else [""]
    results: dict[str, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="gatekeeper-hook-bench-") as temp:
        for case, how in [(case, how) for case in args.cases for how in edits_asked]:
            repo, _, file = case.rpartition(":")
            if how:  # a copy of ours to change (the corpus is shared and read-only)
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
                edit(repo, file, how, next(edits))
                timed(command, Path(repo), envs[source])  # warm-up: caches, byte code
            for _ in range(args.runs):
                for source in sources:
                    edit(repo, file, how, next(edits))
                    samples[source].append(timed(command, Path(repo), envs[source]))
            results[f"{case} (edited: {how})" if how else case] = {
                source: {
                    "wall": statistics.median(wall for wall, _ in runs),
                    "cpu": statistics.median(cpu for _, cpu in runs),
                }
                for source, runs in samples.items()
            }
    machine = f"{platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(machine, f"load average {os.getloadavg()[0]:.1f}")
    for case, by_source in results.items():
        for source, values in by_source.items():
            print(f"{case}  [{source}]  wall {values['wall']:.3f} s  CPU {values['cpu']:.3f} s")
    if args.json:
        edited = [how for how in edits_asked if how]
        report = {"machine": machine, "runs": args.runs, "edit": edited, "results": results}
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
