"""`scan --base` on a one-file change in a large repository, against a one-file `scan`.

    python benchmarks/change_bench.py                  # the full corpus x 8, 5 paired runs
    python benchmarks/change_bench.py --small --copies 2 --runs 3
    python benchmarks/change_bench.py --source /work/main   # another checkout's gatekeeper

Builds a git repository from the generated corpus (benchmarks/corpus.py) copied `--copies`
times (copy N under copyN/), commits it on `main`, then a branch that changes one manifest.
Each round runs every command once, in turn (paired runs), with the built-in library:

    one-file scan   gatekeeper scan FILE          the floor: what the changed file alone costs
    base, cold      gatekeeper scan --base main   with an empty cache directory
    base, warm      gatekeeper scan --base main   with the cache the cold run left
    full scan       gatekeeper scan .             (once, for scale)

and reports medians of wall time and CPU (user + system, child processes included) and the
ratios of the `--base` runs to the one-file scan.
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

CHANGED = "copy0/kubernetes/payments"  # the changed file is the first manifest found here


def build_repository(root: Path, size: corpus_mod.Size, copies: int) -> str:
    """The repository with `copies` copies of the corpus on main, and a one-file branch;
    returns the changed file."""
    corpus = root.parent / "corpus"
    corpus_mod.generate(corpus, size)
    for index in range(copies):
        shutil.copytree(corpus, root / f"copy{index}")
    git = ["git", "-C", str(root), "-c", "user.name=b", "-c", "user.email=b@example.com"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "corpus"], check=True)
    subprocess.run([*git, "checkout", "-q", "-b", "change"], check=True)
    changed = sorted((root / CHANGED).glob("*.yaml"))[0]
    text = changed.read_text()
    changed.write_text(text.replace("replicas: ", "replicas: 1", 1))
    subprocess.run([*git, "commit", "-q", "-am", "one file"], check=True)
    return changed.relative_to(root).as_posix()


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds of the child processes, exit code."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed ({proc.returncode}):\n{proc.stderr}")
    return wall, cpu, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=8)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--small", action="store_true", help="the small corpus per copy")
    parser.add_argument("--source", help="import gatekeeper from this checkout instead")
    parser.add_argument("--json", help="write the results here too")
    parser.add_argument("--skip-full", action="store_true", help="no full scan for scale")
    args = parser.parse_args()
    size = corpus_mod.SIZES["small" if args.small else "full"]
    env = dict(os.environ)
    if args.source:
        env["PYTHONPATH"] = str(Path(args.source).resolve())
    gatekeeper = [sys.executable, "-m", "gatekeeper"]
    with tempfile.TemporaryDirectory(prefix="gatekeeper-change-bench-") as temp:
        root = Path(temp, "repo")
        changed = build_repository(root, size, args.copies)
        files = int(
            subprocess.run(
                ["git", "-C", str(root), "ls-files"], capture_output=True, text=True, check=True
            ).stdout.count("\n")
        )
        cache = Path(temp, "cache")
        commands = {
            "one-file scan": [*gatekeeper, "scan", changed],
            "base, cold": [*gatekeeper, "scan", "--base", "main"],
            "base, warm": [*gatekeeper, "scan", "--base", "main"],
        }
        timed(commands["one-file scan"], root, env)  # warm the schema cache and the OS
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        codes: dict[str, int] = {}
        for _ in range(args.runs):
            for name, command in commands.items():
                if name == "base, cold":
                    shutil.rmtree(cache, ignore_errors=True)
                wall, cpu, code = timed(command, root, {**env, "GATEKEEPER_CACHE_DIR": str(cache)})
                samples[name].append((wall, cpu))
                codes[name] = code
        full = None if args.skip_full else timed([*gatekeeper, "scan", "."], root, env)[:2]
    medians = {
        name: {
            "wall": statistics.median(wall for wall, _ in runs),
            "cpu": statistics.median(cpu for _, cpu in runs),
        }
        for name, runs in samples.items()
    }
    floor = medians["one-file scan"]
    report = {
        "machine": (
            f"{platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        ),
        "repository": {
            "copies": args.copies,
            "corpus": "small" if args.small else "full",
            "files": files,
        },
        "runs": args.runs,
        "medians": medians,
        "full scan": {"wall": full[0], "cpu": full[1]} if full else None,
        "exit codes": codes,
    }
    print(report["machine"])
    print(
        f"repository: {files} files ({args.copies} x the {report['repository']['corpus']} corpus)"
    )
    rows = list(medians.items())
    if full:
        rows.append(("full scan (1 run)", {"wall": full[0], "cpu": full[1]}))
    for name, values in rows:
        wall, cpu = values["wall"] / floor["wall"], values["cpu"] / floor["cpu"]
        ratio = f"  {wall:5.2f}x wall  {cpu:5.2f}x CPU"
        print(f"{name:18} wall {values['wall']:7.2f} s  CPU {values['cpu']:7.2f} s{ratio}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
