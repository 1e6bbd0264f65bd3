"""gatekeeper against Checkov and the YAML-parse lower bound, on one corpus, in one run.

    python benchmarks/run.py                   # full corpus (generated if missing), 3 runs each
    python benchmarks/run.py --small --runs 1  # quick
    python benchmarks/run.py --corpus DIR --json results.json --skip-checkov

Each tool runs `--runs` times as its own process (the real command lines, below) and the
median is reported: wall time, peak RSS of the largest process (`/usr/bin/time -v`, or
getrusage when it is missing), and the peak of the RSS summed over the whole process tree
(sampled from /proc every 20 ms; this counts pages shared by forked workers once per process,
so it overstates multi-process tools, gatekeeper included). Checkov is installed into its own
venv (benchmarks/.venv-checkov) when missing and runs offline (`--skip-download`,
BC_SKIP_MAPPING, no update check, no external modules).

The Terraform comparison runs only when gatekeeper has a terraform source
(gatekeeper.sources.REGISTRY); the Helm charts of the corpus are scanned by gatekeeper only
when it has a helm source (Checkov's helm framework needs the helm binary: not compared).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks import corpus as corpus_mod  # noqa: E402

CHECKOV_VENV = HERE / ".venv-checkov"
TIME = "/usr/bin/time"
# Offline Checkov: no platform mapping/guidelines download, no PyPI version check.
CHECKOV_ENV = {"BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "TRUE"}

LOWER_BOUND = """
import os, sys, yaml
documents = 0
for directory, _, names in os.walk(sys.argv[1]):
    for name in names:
        if name.endswith((".yaml", ".yml")):
            with open(os.path.join(directory, name), "rb") as handle:
                documents += sum(1 for _ in yaml.load_all(handle.read(), Loader=yaml.CSafeLoader))
print(documents)
"""


@dataclass
class Measure:
    wall: float
    max_rss_mb: float  # largest single process
    tree_rss_mb: float  # sampled sum over the process tree
    exit_code: int


@dataclass
class Result:
    tool: str
    target: str
    command: list[str]
    runs: list[Measure] = field(default_factory=list)
    findings: int | None = None
    note: str = ""

    @property
    def wall(self) -> float:
        return statistics.median(run.wall for run in self.runs)

    @property
    def max_rss_mb(self) -> float:
        return statistics.median(run.max_rss_mb for run in self.runs)

    @property
    def tree_rss_mb(self) -> float:
        return statistics.median(run.tree_rss_mb for run in self.runs)

    def as_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "median_wall_s": round(self.wall, 3),
            "median_max_rss_mb": round(self.max_rss_mb, 1),
            "median_tree_rss_mb": round(self.tree_rss_mb, 1),
        }


def _tree_rss_kb(root: int) -> int:
    """RSS summed over `root` and its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        pid, ppid = int(entry), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE") // 1024
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, ()))
    return total


def measure(command: list[str], cwd: Path, env: dict[str, str], stdout: Path) -> Measure:
    """Run once; wall time, peak RSS (largest process) and sampled peak RSS of the tree."""
    use_time = os.access(TIME, os.X_OK)
    with tempfile.NamedTemporaryFile("r", suffix=".time") as timing, stdout.open("wb") as out:
        full = [TIME, "-f", "%e %M", "-o", timing.name, *command] if use_time else command
        peak = 0
        start = time.perf_counter()
        process = subprocess.Popen(
            full, cwd=cwd, env={**os.environ, **env}, stdout=out, stderr=subprocess.PIPE
        )
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.wait(0.02):
                peak = max(peak, _tree_rss_kb(process.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, stderr = process.communicate()
        wall = time.perf_counter() - start
        done.set()
        sampler.join()
        if use_time:
            # GNU time prints the child's own stderr first; its line is the last one.
            last = timing.read().strip().splitlines()[-1]
            _, max_kb = last.split()
            max_rss = int(max_kb)
        else:
            import resource

            max_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if process.returncode not in (0, 1):
        tail = stderr.decode(errors="replace")[-2000:]
        raise RuntimeError(f"{' '.join(command)} exited {process.returncode}:\n{tail}")
    return Measure(
        round(wall, 3), round(max_rss / 1024, 1), round(peak / 1024, 1), process.returncode
    )


# --- the tools ------------------------------------------------------------------------------


def gatekeeper_command() -> list[str]:
    script = Path(sys.executable).with_name("gatekeeper")
    return [str(script)] if script.exists() else [sys.executable, "-m", "gatekeeper"]


def gatekeeper_sources() -> tuple[str, ...]:
    from gatekeeper.sources import REGISTRY

    return REGISTRY


def gatekeeper_findings(output: Path) -> int:
    return len(json.loads(output.read_text())["findings"])


def checkov_command() -> list[str]:
    checkov = CHECKOV_VENV / "bin" / "checkov"
    if not checkov.exists():
        print(f"installing Checkov into {CHECKOV_VENV} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(CHECKOV_VENV)], check=True)
        pip = [str(CHECKOV_VENV / "bin" / "pip"), "install", "-q"]
        subprocess.run([*pip, "checkov"], check=True)
    return [str(checkov)]


def checkov_version() -> str:
    out = subprocess.run(
        [*checkov_command(), "--version"],
        env={**os.environ, **CHECKOV_ENV},
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.strip()


_FAILED = re.compile(rb'"summary":\s*\{[^{}]*?"failed":\s*(\d+)')


def checkov_findings(output: Path) -> int:
    """Failed checks, summed over the reports; read from the summaries, not the whole JSON."""
    with output.open("rb") as handle:
        data = handle.read()
    return sum(int(match.group(1)) for match in _FAILED.finditer(data))


def lower_bound_findings(output: Path) -> int:
    return int(output.read_text().strip() or 0)


# --- the run ---------------------------------------------------------------------------------


def run_tool(
    result: Result,
    runs: int,
    cwd: Path,
    env: dict[str, str],
    count: Callable[[Path], int],
    workdir: Path,
) -> Result:
    for index in range(runs):
        output = workdir / f"{result.tool}-{result.target}-{index}.out"
        measured = measure(result.command, cwd, env, output)
        result.runs.append(measured)
        result.findings = count(output)
        output.unlink()
        print(
            f"  {result.tool:<12} {result.target:<11} run {index + 1}: {measured.wall:7.2f} s"
            f"  {measured.max_rss_mb:7.1f} MB  (tree {measured.tree_rss_mb:.1f} MB)",
            file=sys.stderr,
        )
    return result


def benchmark(
    corpus: Path, runs: int, with_checkov: bool, jobs: int, checkov_runs: int
) -> dict[str, Any]:
    sources = gatekeeper_sources()
    gk = gatekeeper_command()
    gk_jobs = ["--jobs", str(jobs)] if jobs else []
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="gk-bench-") as tmp:
        workdir = Path(tmp)
        targets = ["kubernetes"]
        if "terraform" in sources:
            targets.append("terraform")
        if "helm" in sources:
            targets.append("charts")
        for target in targets:
            results.append(
                run_tool(
                    Result(
                        "gatekeeper",
                        target,
                        [*gk, "scan", target, "--format", "json", *gk_jobs],
                    ),
                    runs,
                    corpus,
                    {},
                    gatekeeper_findings,
                    workdir,
                )
            )
            if target == "kubernetes":
                results.append(
                    run_tool(
                        Result(
                            "lower-bound",
                            target,
                            [sys.executable, "-c", LOWER_BOUND, target],
                            note="documents parsed (no findings)",
                        ),
                        runs,
                        corpus,
                        {},
                        lower_bound_findings,
                        workdir,
                    )
                )
            if with_checkov and target in ("kubernetes", "terraform"):
                command = [
                    *checkov_command(),
                    "-d",
                    target,
                    "--framework",
                    target,
                    "--quiet",
                    "-o",
                    "json",
                    "--skip-download",
                ]
                results.append(
                    run_tool(
                        Result("checkov", target, command),
                        checkov_runs,
                        corpus,
                        CHECKOV_ENV,
                        checkov_findings,
                        workdir,
                    )
                )
    summary = json.loads((corpus / "corpus.json").read_text())
    return {
        "corpus": summary,
        "runs": runs,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "memory_gb": _memory_gb(),
        },
        "checkov_version": checkov_version() if with_checkov else None,
        "gatekeeper_sources": list(sources),
        "results": [result.as_json() for result in results],
        "ratios": ratios(results),
    }


def ratios(results: list[Result]) -> dict[str, dict[str, float]]:
    by = {(result.tool, result.target): result for result in results}
    out: dict[str, dict[str, float]] = {}
    for target in {result.target for result in results}:
        gk = by.get(("gatekeeper", target))
        if gk is None:
            continue
        for other in ("checkov", "lower-bound"):
            peer = by.get((other, target))
            if peer is None:
                continue
            out[f"{target}: gatekeeper/{other}"] = {
                "wall": round(gk.wall / peer.wall, 3),
                "max_rss": round(gk.max_rss_mb / peer.max_rss_mb, 3),
                "tree_rss": round(gk.tree_rss_mb / peer.tree_rss_mb, 3),
            }
    return out


def _memory_gb() -> float:
    try:
        with open("/proc/meminfo") as handle:
            kb = int(handle.readline().split()[1])
        return round(kb / 1024 / 1024, 1)
    except (OSError, ValueError, IndexError):
        return 0.0


def table(report: dict[str, Any]) -> str:
    lines = [
        "| target | tool | wall (s, median) | peak RSS (MB) | tree RSS (MB) | findings |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for result in report["results"]:
        findings = result["findings"]
        if result["tool"] == "lower-bound":
            findings = f"({findings} docs)"
        lines.append(
            f"| {result['target']} | {result['tool']} | {result['median_wall_s']:.2f} "
            f"| {result['median_max_rss_mb']:.0f} | {result['median_tree_rss_mb']:.0f} "
            f"| {findings} |"
        )
    lines += ["", "| ratio | wall | peak RSS | tree RSS |", "|---|---:|---:|---:|"]
    for name, ratio in sorted(report["ratios"].items()):
        lines.append(
            f"| {name} | {ratio['wall']:.3f} | {ratio['max_rss']:.3f} | {ratio['tree_rss']:.3f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    corpus_mod.add_size_arguments(parser)
    parser.add_argument("--corpus", type=Path, help="corpus directory (default: generate)")
    parser.add_argument("--runs", type=int, default=3, help="runs per tool (median reported)")
    parser.add_argument("--json", type=Path, default=HERE / "results.json", help="results file")
    parser.add_argument("--skip-checkov", action="store_true")
    parser.add_argument(
        "--checkov-runs", type=int, help="runs of Checkov (default: --runs; it is slow)"
    )
    parser.add_argument("--jobs", type=int, default=0, help="gatekeeper --jobs (default: cores)")
    args = parser.parse_args()
    corpus = args.corpus
    if corpus is None:
        size = corpus_mod.size_from(args)
        corpus = corpus_mod.DEFAULT_OUT / ("small" if args.small else "full")
        wanted = {"seed": args.seed, "size": asdict(size)}
        existing = corpus / "corpus.json"
        current = json.loads(existing.read_text()) if existing.exists() else {}
        if {key: current.get(key) for key in wanted} != wanted:
            print(f"generating corpus in {corpus} ...", file=sys.stderr)
            corpus_mod.generate(corpus, size, args.seed)
    if not shutil.which(TIME) and not os.access(TIME, os.X_OK):
        print(
            "note: /usr/bin/time missing (apt-get install time); using getrusage", file=sys.stderr
        )
    checkov_runs = args.checkov_runs or args.runs
    report = benchmark(corpus.resolve(), args.runs, not args.skip_checkov, args.jobs, checkov_runs)
    report["checkov_runs"] = checkov_runs
    report["command"] = " ".join(["python", "benchmarks/run.py", *sys.argv[1:]])
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(table(report))
    print(f"\nresults: {args.json}", file=sys.stderr)


if __name__ == "__main__":
    main()
