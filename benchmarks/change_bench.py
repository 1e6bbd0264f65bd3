"""`scan --base` on a one-file change in a large repository, against a one-file `scan`.

    python benchmarks/change_bench.py                  # the full corpus x 8, 5 paired runs
    python benchmarks/change_bench.py --small --copies 2 --runs 3
    python benchmarks/change_bench.py --source /work/main   # another checkout's gatekeeper
    python benchmarks/change_bench.py --corpus ~/.cache/gatekeeper-bench/real/scaled-8x \
        --change "FILE:OLD:NEW" --source /tmp/main --source . --hook --skip-full

Builds a git repository from the generated corpus (benchmarks/corpus.py) copied `--copies`
times (copy N under copyN/), commits it on `main`, then a branch that changes one manifest.
Each round runs every command once, in turn (paired runs), with the built-in library:

    one-file scan   gatekeeper scan FILE          the floor: what the changed file alone costs
    base, cold      gatekeeper scan --base main   with an empty cache directory
    base, warm      gatekeeper scan --base main   with the cache the cold run left
    full scan       gatekeeper scan .             (once, for scale)

and reports medians of wall time and CPU (user + system, child processes included) and the
ratios of the `--base` runs to the one-file scan. With several `--source`s, each round runs
every command of every source in turn, and whether their JSON reports were identical.
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks import corpus as corpus_mod  # noqa: E402
from benchmarks.hook_bench import import_path  # noqa: E402

CHANGED = "copy0/kubernetes/payments"  # the changed file is the first manifest found here


def build_repository(
    root: Path, size: corpus_mod.Size, copies: int, real: Path | None = None, edit: str = ""
) -> str:
    """The repository with `copies` copies of the corpus (or the directory `real`, e.g. the
    real-repository corpus) on main, and a one-file branch; returns the changed file.
    `edit` is `FILE:OLD:NEW` (the first OLD in FILE becomes NEW)."""
    if real is not None:
        shutil.copytree(real, root, ignore=shutil.ignore_patterns(".git"))
    else:
        corpus = root.parent / "corpus"
        corpus_mod.generate(corpus, size)
        for index in range(copies):
            shutil.copytree(corpus, root / f"copy{index}")
    git = ["git", "-C", str(root), "-c", "user.name=b", "-c", "user.email=b@example.com"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "corpus"], check=True)
    subprocess.run([*git, "checkout", "-q", "-b", "change"], check=True)
    if edit:
        name, old, new = edit.split(":", 2)
        changed = root / name
    else:
        changed = sorted((root / CHANGED).glob("*.yaml"))[0]
        old, new = "replicas: ", "replicas: 1"
    text = changed.read_text()
    if old not in text:
        raise SystemExit(f"{changed}: {old!r} not found")
    changed.write_text(text.replace(old, new, 1))
    subprocess.run([*git, "commit", "-q", "-am", "one file"], check=True)
    subprocess.run([*git, "gc", "-q"], check=True)  # packed, as a clone is (not loose objects)
    return changed.relative_to(root).as_posix()


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, int, str]:
    """Wall seconds, CPU seconds of the child processes, exit code, standard output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed ({proc.returncode}):\n{proc.stderr}")
    return wall, cpu, proc.returncode, proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=8)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--small", action="store_true", help="the small corpus per copy")
    parser.add_argument("--source", action="append", help="import gatekeeper from here")
    parser.add_argument("--json", help="write the results here too")
    parser.add_argument("--skip-full", action="store_true", help="no full scan for scale")
    parser.add_argument("--corpus", help="commit this directory instead (a real corpus)")
    parser.add_argument("--change", default="", help="FILE:OLD:NEW, the one-file change")
    parser.add_argument("--hook", action="store_true", help="time `scan --hook FILE` too")
    args = parser.parse_args()
    size = corpus_mod.SIZES["small" if args.small else "full"]
    sources = args.source or [""]
    gatekeeper = [sys.executable, "-m", "gatekeeper"]
    with tempfile.TemporaryDirectory(prefix="gatekeeper-change-bench-") as temp:
        root = Path(temp, "repo")
        real = Path(args.corpus).expanduser() if args.corpus else None
        changed = build_repository(root, size, args.copies, real, args.change)
        files = int(
            subprocess.run(
                ["git", "-C", str(root), "ls-files"], capture_output=True, text=True, check=True
            ).stdout.count("\n")
        )
        envs = {}
        for index, source in enumerate(sources):
            env = {**os.environ, "GATEKEEPER_CACHE_DIR": str(Path(temp, f"cache{index}"))}
            if source:
                env["PYTHONPATH"] = import_path(source, temp)
            env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: the warm-up caches byte code
            envs[source] = env
        json_out = ["--format", "json"]
        commands = {
            "one-file scan": [*gatekeeper, "scan", changed, *json_out],
            "base, cold": [*gatekeeper, "scan", "--base", "main", *json_out],
            "base, warm": [*gatekeeper, "scan", "--base", "main", *json_out],
        }
        if args.hook:
            commands["hook"] = [*gatekeeper, "scan", "--hook", changed, *json_out]
        for source in sources:  # warm the schema cache, the byte code and the OS
            timed(commands["one-file scan"], root, envs[source])
        samples: dict[str, dict[str, list[tuple[float, float]]]] = {
            source: {name: [] for name in commands} for source in sources
        }
        codes: dict[str, dict[str, int]] = {source: {} for source in sources}
        outputs: dict[str, set[str]] = {name: set() for name in commands}
        for _ in range(args.runs):
            for name, command in commands.items():
                for source in sources:
                    if name == "base, cold":
                        shutil.rmtree(envs[source]["GATEKEEPER_CACHE_DIR"], ignore_errors=True)
                    wall, cpu, code, out = timed(command, root, envs[source])
                    samples[source][name].append((wall, cpu))
                    codes[source][name] = code
                    outputs[name].add(out)
        full = None
        if not args.skip_full:
            full = timed([*gatekeeper, "scan", "."], root, envs[sources[-1]])[:2]
    medians = {
        source: {
            name: {
                "wall": statistics.median(wall for wall, _ in runs),
                "cpu": statistics.median(cpu for _, cpu in runs),
            }
            for name, runs in by_name.items()
        }
        for source, by_name in samples.items()
    }
    report = {
        "machine": (
            f"{platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        ),
        "repository": {
            "copies": args.copies,
            "corpus": args.corpus or ("small" if args.small else "full"),
            "files": files,
            "changed": changed,
        },
        "load average": os.getloadavg()[0],
        "runs": args.runs,
        "medians": medians if args.source else medians[""],
        "identical output across sources": {n: len(o) == 1 for n, o in outputs.items()},
        "full scan": {"wall": full[0], "cpu": full[1]} if full else None,
        "exit codes": codes if args.source else codes[""],
    }
    print(report["machine"])
    what = args.corpus or f"{args.copies} x the {report['repository']['corpus']} corpus"
    print(f"repository: {files} files ({what}), load average {os.getloadavg()[0]:.1f}")
    for source in sources:
        floor = medians[source]["one-file scan"]
        rows = list(medians[source].items())
        if full and source == sources[-1]:
            rows.append(("full scan (1 run)", {"wall": full[0], "cpu": full[1]}))
        for name, values in rows:
            wall, cpu = values["wall"] / floor["wall"], values["cpu"] / floor["cpu"]
            ratio = f"  {wall:5.2f}x wall  {cpu:5.2f}x CPU"
            label = f"{name} [{source}]" if source else name
            print(f"{label:30} wall {values['wall']:7.2f} s  CPU {values['cpu']:7.2f} s{ratio}")
    if len(sources) > 1:
        print("identical output across sources:", report["identical output across sources"])
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
