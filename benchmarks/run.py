"""gatekeeper against Checkov and the YAML-parse lower bound, on one corpus, in one run.

    python benchmarks/run.py                   # full corpus (generated if missing), 3 runs each
    python benchmarks/run.py --small --runs 1  # quick
    python benchmarks/run.py --corpus DIR --json results.json --skip-checkov
    python benchmarks/run.py --targets charts --merge   # measure one target again, keep the rest
    python benchmarks/run.py --targets charts --baseline /tmp/old --skip-checkov  # A/B vs old

Each tool runs `--runs` times as its own process (the real command lines, below) and the
median is reported (every tool as installed: byte code compiled before timing and cached,
PYTHONDONTWRITEBYTECODE unset): wall time, peak RSS of the largest process (`/usr/bin/time -v`, or
getrusage when it is missing), and the peaks of the RSS and of the PSS summed over the whole
process tree (sampled from /proc every 20 ms; the RSS sum counts pages shared by forked workers
or by two processes mapping one library once per process, so it overstates multi-process tools,
gatekeeper included; the PSS sum counts each page once). Checkov is installed into its own venv
(benchmarks/.venv-checkov) when missing and runs offline (`--skip-download`, BC_SKIP_MAPPING,
no update check, no external modules).

The Terraform comparison runs only when gatekeeper has a terraform source
(gatekeeper.sources.REGISTRY), the Helm one when it has a helm source. Checkov's helm framework
runs `helm template --dependency-update` on every chart folder: it gets a helm on its PATH (the
one on PATH, else the pinned Helm that scripts/test_helm.py puts in .venv/libexec), no remote
chart repository (CHECKOV_HELM_ALLOWED_REMOTE_REPOS=none: a chart whose dependencies must be
downloaded is skipped, as gatekeeper reports it not vendored), and a fresh copy of the charts
per run (it writes Chart.lock and charts/ into the chart folders it vendors local dependencies
for). Both tools' rendered objects are counted (`documents`), so a ratio is between tools that
judged about the same.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import re
import resource
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
from benchmarks import real_corpus  # noqa: E402

CHECKOV_VENV = HERE / ".venv-checkov"
TIME = "/usr/bin/time"
# Offline Checkov: no platform mapping/guidelines download, no PyPI version check.
CHECKOV_ENV = {"BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "TRUE"}

LOWER_BOUND = """
import os, sys, yaml
documents = 0
for directory, folders, names in os.walk(sys.argv[1]):
    folders[:] = [folder for folder in folders if folder != ".git"]
    for name in names:
        if name.endswith((".yaml", ".yml")):
            with open(os.path.join(directory, name), "rb") as handle:
                data = handle.read()
            try:  # real repositories hold templates and custom tags: count what parses
                for _ in yaml.load_all(data, Loader=yaml.CSafeLoader):
                    documents += 1
            except yaml.YAMLError:
                pass
print(documents)
"""


@dataclass
class Measure:
    wall: float
    cpu: float  # user + system seconds of the process and the children it waited for
    max_rss_mb: float  # largest single process
    tree_rss_mb: float  # sampled sum over the process tree
    exit_code: int
    tree_pss_mb: float = 0.0  # sampled sum of proportional set sizes: shared pages counted once


@dataclass
class Result:
    tool: str
    target: str
    command: list[str]
    runs: list[Measure] = field(default_factory=list)
    findings: int | None = None
    documents: int | None = None  # objects the tool judged (rendered ones included)
    note: str = ""

    @property
    def wall(self) -> float:
        return statistics.median(run.wall for run in self.runs)

    @property
    def cpu(self) -> float:
        return statistics.median(run.cpu for run in self.runs)

    @property
    def max_rss_mb(self) -> float:
        return statistics.median(run.max_rss_mb for run in self.runs)

    @property
    def tree_rss_mb(self) -> float:
        return statistics.median(run.tree_rss_mb for run in self.runs)

    @property
    def tree_pss_mb(self) -> float:
        return statistics.median(run.tree_pss_mb for run in self.runs)

    def as_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "median_wall_s": round(self.wall, 3),
            "median_cpu_s": round(self.cpu, 3),
            "median_max_rss_mb": round(self.max_rss_mb, 1),
            "median_tree_rss_mb": round(self.tree_rss_mb, 1),
            "median_tree_pss_mb": round(self.tree_pss_mb, 1),
        }


def _tree(root: int) -> list[tuple[int, int]]:
    """(pid, RSS in KiB) of `root` and its descendants, from /proc."""
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
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append((pid, rss.get(pid, 0)))
        stack.extend(children.get(pid, ()))
    return _own_memory(found)


def _own_memory(tree: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """`tree` without the processes that share the memory of one before them: a command
    that subprocess starts is a vfork child, in its parent's address space until it runs its
    program, and /proc gives that space's sizes for both. Counted twice, a scan's 120 MB
    parent starting a Helm renderer made a sample of the 8x copy 40 MB over its true size
    (one in a few runs, in either revision). Linux's kcmp tells; without it, all are kept."""
    kept: list[tuple[int, int]] = []
    for pid, rss in tree:
        if not any(_same_memory(pid, other) for other, _ in kept):
            kept.append((pid, rss))
    return kept


def _same_memory(pid: int, other: int) -> bool:
    syscall = _kcmp()
    return syscall is not None and syscall(_SYS_KCMP, pid, other, _KCMP_VM, 0, 0) == 0


_SYS_KCMP = 312  # x86_64
_KCMP_VM = 1


@functools.cache
def _kcmp() -> Any:
    if platform.system() != "Linux" or platform.machine() != "x86_64":
        return None
    import ctypes

    try:
        return ctypes.CDLL(None).syscall
    except (OSError, AttributeError):
        return None


def _pss_kb(pid: int) -> int:
    """The proportional set size of one process (0 when it is gone or unreadable)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def tree_memory_kb(root: int) -> tuple[int, int]:
    """(RSS, PSS) summed over `root` and its descendants: RSS counts a page shared by n
    processes n times (forked workers, one library mapped by two renderers), PSS once."""
    tree = _tree(root)
    return sum(rss for _, rss in tree), sum(_pss_kb(pid) for pid, _ in tree)


BYTE_CODE = "cached, as installed (compileall of each gatekeeper source before timing)"


def installed_env(env: dict[str, str]) -> dict[str, str]:
    """This environment plus `env`, as an installed tool runs: byte code read and written
    (no PYTHONDONTWRITEBYTECODE: a source tree without __pycache__ would compile every module
    in every run, 0.15-0.2 s that no installed copy pays)."""
    full = {**os.environ, **env}
    full.pop("PYTHONDONTWRITEBYTECODE", None)
    return full


def compile_sources(tools: list[Tool]) -> None:
    """Byte-compile each gatekeeper source a tool imports (this checkout, a --baseline), so
    no timed run compiles: every run measures gatekeeper as installed."""
    folders = {HERE.parent / "gatekeeper"}
    for tool in tools:
        for entry in tool.env.get("PYTHONPATH", "").split(os.pathsep):
            if entry and (Path(entry) / "gatekeeper").is_dir():
                folders.add((Path(entry) / "gatekeeper").resolve())
    for folder in sorted(folders):
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", str(folder)],
            env=installed_env({}),
            check=True,
            stdout=subprocess.DEVNULL,
        )


def measure(command: list[str], cwd: Path, env: dict[str, str], stdout: Path) -> Measure:
    """Run once; wall and CPU time, peak RSS (largest process), sampled peak RSS of the tree."""
    use_time = os.access(TIME, os.X_OK)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.NamedTemporaryFile("r", suffix=".time") as timing, stdout.open("wb") as out:
        full = [TIME, "-f", "%e %M %U %S", "-o", timing.name, *command] if use_time else command
        peak = peak_pss = 0
        start = time.perf_counter()
        process = subprocess.Popen(
            full, cwd=cwd, env=installed_env(env), stdout=out, stderr=subprocess.PIPE
        )
        done = threading.Event()

        def sample() -> None:
            nonlocal peak, peak_pss
            while not done.wait(0.02):
                rss, pss = tree_memory_kb(process.pid)
                peak, peak_pss = max(peak, rss), max(peak_pss, pss)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, stderr = process.communicate()
        wall = time.perf_counter() - start
        done.set()
        sampler.join()
        if use_time:
            # GNU time prints the child's own stderr first; its line is the last one.
            last = timing.read().strip().splitlines()[-1]
            _, max_kb, user, system = last.split()
            max_rss = int(max_kb)
            cpu = float(user) + float(system)
        else:
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            max_rss = after.ru_maxrss
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if process.returncode not in (0, 1):
        tail = stderr.decode(errors="replace")[-2000:]
        raise RuntimeError(f"{' '.join(command)} exited {process.returncode}:\n{tail}")
    return Measure(
        round(wall, 3),
        round(cpu, 2),
        round(max_rss / 1024, 1),
        round(peak / 1024, 1),
        process.returncode,
        round(peak_pss / 1024, 1),
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


def gatekeeper_documents(output: Path) -> int:
    return int(json.loads(output.read_text())["summary"]["documents"])


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


_RESOURCES = re.compile(rb'"summary":\s*\{[^{}]*?"resource_count":\s*(\d+)')


def checkov_findings(output: Path) -> int:
    """Failed checks, summed over the reports; read from the summaries, not the whole JSON."""
    return sum(int(match.group(1)) for match in _FAILED.finditer(output.read_bytes()))


def checkov_documents(output: Path) -> int:
    """Resources (Kubernetes objects, rendered ones included) Checkov judged."""
    return sum(int(match.group(1)) for match in _RESOURCES.finditer(output.read_bytes()))


def helm_binary() -> str | None:
    """The helm Checkov's helm framework runs: one on PATH, else the pinned Helm release that
    scripts/test_helm.py installs into this checkout's .venv/libexec."""
    pinned = HERE.parent / ".venv" / "libexec" / "helm"
    return shutil.which("helm") or (str(pinned) if os.access(pinned, os.X_OK) else None)


def checkov_helm_env(helm: str, home: Path) -> dict[str, str]:
    """Checkov's environment for `--framework helm`: helm first on PATH, no remote chart
    repository (a chart whose dependencies must be downloaded is skipped), helm's own
    cache and configuration in `home`."""
    return {
        **CHECKOV_ENV,
        "PATH": os.pathsep.join([os.path.dirname(helm), os.environ.get("PATH", "")]),
        "CHECKOV_HELM_ALLOWED_REMOTE_REPOS": "none",
        **{f"HELM_{name}_HOME": str(home / name.lower()) for name in ("CACHE", "CONFIG", "DATA")},
    }


def lower_bound_findings(output: Path) -> int:
    return int(output.read_text().strip() or 0)


# --- the run ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tool:
    name: str
    command: list[str]
    count: Callable[[Path], int]
    runs: int
    env: dict[str, str] = field(default_factory=dict)
    note: str = ""
    documents: Callable[[Path], int] | None = None
    fresh_copy: bool = False  # runs in a new copy of the target: the tool writes into it


# More gatekeeper options for every run (`--gatekeeper-config`).
GATEKEEPER_OPTIONS: list[str] = []


def tools_for(
    target: str,
    framework: str,
    runs: int,
    checkov: bool,
    checkov_runs: int,
    jobs: int,
    workdir: Path | None = None,
    baseline: Path | None = None,
) -> list[Tool]:
    """What runs on one target: gatekeeper, the parse bound (YAML targets), and Checkov with
    the framework of the target (`helm` only when a helm binary exists: Checkov needs it).
    With `baseline` (a checkout of gatekeeper, e.g. `git archive` of an older commit), that
    source runs too, right after this one in every round: an A/B pair on the same load."""
    gk_jobs = ["--jobs", str(jobs)] if jobs else []
    gk_jobs += GATEKEEPER_OPTIONS
    command = [*gatekeeper_command(), "scan", target, "--format", "json", *gk_jobs]
    tools = [Tool("gatekeeper", command, gatekeeper_findings, runs, documents=gatekeeper_documents)]
    if baseline is not None:
        from benchmarks.hook_bench import import_path

        scratch = str(workdir or tempfile.gettempdir())
        tools.append(
            Tool(
                "gatekeeper-baseline",
                command,
                gatekeeper_findings,
                runs,
                {"PYTHONPATH": import_path(str(baseline), scratch)},
                f"source {baseline}",
                documents=gatekeeper_documents,
            )
        )
    if framework == "kubernetes":
        tools.append(
            Tool(
                "lower-bound",
                [sys.executable, "-c", LOWER_BOUND, target],
                lower_bound_findings,
                runs,
                note="documents parsed (no findings)",
            )
        )
    if not checkov:
        return tools
    command = [*checkov_command(), "-d", target, "--framework", framework]
    command += ["--quiet", "-o", "json", "--skip-download"]
    env, note = CHECKOV_ENV, ""
    if framework == "helm":
        helm = helm_binary()
        if helm is None:
            print(
                "  checkov --framework helm not run: no helm on PATH nor in .venv/libexec"
                " (python scripts/test_helm.py .venv)",
                file=sys.stderr,
            )
            return tools
        env = checkov_helm_env(helm, (workdir or Path(tempfile.gettempdir())) / "helm-home")
        note = f"helm {_helm_version(helm)}; no remote chart repositories"
    tools.append(
        Tool(
            "checkov",
            command,
            checkov_findings,
            checkov_runs,
            env,
            note,
            documents=checkov_documents,
            fresh_copy=framework == "helm",
        )
    )
    return tools


def _helm_version(helm: str) -> str:
    out = subprocess.run([helm, "version", "--short"], capture_output=True, text=True, check=False)
    return out.stdout.strip()


def run_paired(target: str, tools: list[Tool], cwd: Path, workdir: Path) -> list[Result]:
    """Run i of every tool back to back, then run i+1: the tools of a pair see the same load
    on a shared machine, and ratios are taken pair by pair."""
    results = [Result(tool.name, target, tool.command, note=tool.note) for tool in tools]
    compile_sources(tools)
    for index in range(max(tool.runs for tool in tools)):
        for tool, result in zip(tools, results, strict=True):
            if index >= tool.runs:
                continue
            output = workdir / f"{tool.name}-{index}.out"
            here = _fresh_copy(cwd / target, workdir / "copy") if tool.fresh_copy else cwd
            measured = measure(tool.command, here, tool.env, output)
            result.runs.append(measured)
            result.findings = tool.count(output)
            result.documents = tool.documents(output) if tool.documents else None
            output.unlink()
            print(
                f"  {tool.name:<12} {target:<11} run {index + 1}: {measured.wall:7.2f} s wall"
                f" {measured.cpu:7.2f} s CPU {measured.max_rss_mb:7.1f} MB"
                f" (tree {measured.tree_rss_mb:.1f} MB, PSS {measured.tree_pss_mb:.1f} MB)"
                f" {result.findings} findings, {result.documents} documents",
                file=sys.stderr,
            )
    return results


def _fresh_copy(target: Path, parent: Path) -> Path:
    """A new copy of `target` under `parent` (an earlier one removed); returns `parent`."""
    shutil.rmtree(parent, ignore_errors=True)
    shutil.copytree(target, parent / target.name, symlinks=True)
    return parent


# Targets of each corpus, with the Checkov framework that reads them.
REAL_TARGETS = {
    "k8s": "kubernetes",
    "k8s-full": "kubernetes",
    "charts": "helm",
    "terraform": "terraform",
}
GENERATED_TARGETS = {"kubernetes": "kubernetes", "charts": "helm", "terraform": "terraform"}


def benchmark(
    corpus: Path,
    runs: int,
    with_checkov: bool,
    jobs: int,
    checkov_runs: int,
    only: list[str] | None = None,
    scaled_runs: int = 1,
    progress: Callable[[dict[str, Any]], None] | None = None,
    baseline: Path | None = None,
) -> dict[str, Any]:
    """Every target in turn; `progress` gets the report so far after each (a run on a busy
    machine takes an hour: what is measured is kept)."""
    sources = gatekeeper_sources()
    summary = json.loads((corpus / "corpus.json").read_text())
    real = summary.get("kind") == "real"
    targets = dict(REAL_TARGETS if real else GENERATED_TARGETS)
    if "helm" not in sources:
        targets.pop("charts")
    if "terraform" not in sources:
        targets.pop("terraform")
    scales = [f"scaled-{n}x" for n in summary.get("scales", [])] if real else []
    wanted = [*(only or [*targets, *(["scaled"] if scales else [])])]
    wanted += [target for target in scales if "scaled" in wanted]
    results: list[Result] = []
    checkov = checkov_version() if with_checkov else None

    def report() -> dict[str, Any]:
        return {
            "corpus": summary,
            "runs": runs,
            "machine": machine(),
            "checkov_version": checkov,
            "gatekeeper_sources": list(sources),
            "results": [result.as_json() for result in results],
            "ratios": ratios(results),
            "memory_by_size": memory_by_size(results),
            "byte_code": BYTE_CODE,
        }

    plan = [(target, framework, runs) for target, framework in targets.items()]
    if "scaled" in wanted:
        # Memory against size: gatekeeper alone on 2x, 4x, 8x copies of k8s (1x is k8s).
        plan += [(target, "", scaled_runs) for target in scales]
    # In the order asked for (`--targets`): what matters most is measured first.
    plan = sorted(
        (step for step in plan if step[0] in wanted),
        key=lambda step: wanted.index("scaled" if step[0] in scales else step[0]),
    )
    with tempfile.TemporaryDirectory(prefix="gk-bench-") as tmp:
        for target, framework, count in plan:
            real_corpus.make_repository(corpus / target)
            checkov_here = with_checkov and bool(framework)
            tools = tools_for(
                target, framework, count, checkov_here, checkov_runs, jobs, Path(tmp), baseline
            )
            results.extend(run_paired(target, tools, corpus, Path(tmp)))
            if progress is not None:
                progress(report())
    return report()


def machine() -> dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo") as handle:
            model = next(
                (line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")),
                "",
            )
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "memory_gb": _memory_gb(),
        "load_average_at_start": [round(load, 2) for load in os.getloadavg()],
    }


def ratios(results: list[Result]) -> dict[str, dict[str, float]]:
    """gatekeeper over each peer, per target: medians of the ratios of paired runs (wall, CPU),
    and the ratios of the median peak memories."""
    by = {(result.tool, result.target): result for result in results}
    out: dict[str, dict[str, float]] = {}
    for target in sorted({result.target for result in results}):
        gk = by.get(("gatekeeper", target))
        if gk is None:
            continue
        for other in ("checkov", "lower-bound", "gatekeeper-baseline"):
            peer = by.get((other, target))
            if peer is None:
                continue
            pairs = list(zip(gk.runs, peer.runs, strict=False))
            out[f"{target}: gatekeeper/{other}"] = {
                "wall": round(statistics.median(g.wall / p.wall for g, p in pairs), 3),
                "cpu": round(statistics.median(g.cpu / max(p.cpu, 0.01) for g, p in pairs), 3),
                "max_rss": round(gk.max_rss_mb / peer.max_rss_mb, 3),
                "tree_rss": round(gk.tree_rss_mb / peer.tree_rss_mb, 3),
                "tree_pss": round(gk.tree_pss_mb / max(peer.tree_pss_mb, 0.1), 3),
            }
    return out


def memory_by_size(results: list[Result]) -> dict[str, dict[str, float]]:
    """gatekeeper's median peak memory on k8s and its scaled copies: the process tree's PSS
    (what it holds: the goal's measure), its RSS (shared pages once per process), the
    largest process, and the CPU and findings at that size."""
    out = {}
    for result in results:
        if result.tool != "gatekeeper":
            continue
        if result.target == "k8s":
            size = "1x"
        elif result.target.startswith("scaled-"):
            size = result.target.removeprefix("scaled-")
        else:
            continue
        out[size] = {
            "tree_pss_mb": round(result.tree_pss_mb, 1),
            "tree_rss_mb": round(result.tree_rss_mb, 1),
            "max_rss_mb": round(result.max_rss_mb, 1),
            "cpu_s": round(result.cpu, 2),
            "findings": result.findings or 0,
        }
    return out


MEMORY_ROWS = (
    ("tree_pss_mb", "gatekeeper peak PSS, process tree (MB)"),
    ("tree_rss_mb", "gatekeeper peak RSS, process tree (MB)"),
    ("max_rss_mb", "largest process RSS (MB)"),
    ("cpu_s", "CPU (s)"),
    ("findings", "findings"),
)


def _size_cell(measured: Any, key: str) -> str:
    """One cell of the size table; results files before PSS held the tree RSS alone."""
    if isinstance(measured, (int, float)):
        measured = {"tree_rss_mb": measured}
    value = measured.get(key)
    return "" if value is None else f"{value:,.0f}"


def merged(earlier: dict[str, Any], report: dict[str, Any]) -> dict[str, Any]:
    """`report`'s targets replace those of an `earlier` results file; the others are kept.
    Every result carries the command, machine and Checkov runs of the run that measured it."""
    run = {key: report[key] for key in ("command", "machine", "checkov_runs", "checkov_version")}
    targets = {result["target"] for result in report["results"]}
    kept = [
        {"measured_by": {key: earlier.get(key) for key in run}, **result}
        if "measured_by" not in result
        else result
        for result in earlier.get("results", [])
        if result["target"] not in targets
    ]
    fresh = [{"measured_by": run, **result} for result in report["results"]]
    ratios = {
        name: ratio
        for name, ratio in earlier.get("ratios", {}).items()
        if name.split(":", 1)[0] not in targets
    }
    return {
        **report,
        "results": kept + fresh,
        "ratios": {**ratios, **report["ratios"]},
        "memory_by_size": {**earlier.get("memory_by_size", {}), **report["memory_by_size"]},
    }


def _memory_gb() -> float:
    try:
        with open("/proc/meminfo") as handle:
            kb = int(handle.readline().split()[1])
        return round(kb / 1024 / 1024, 1)
    except (OSError, ValueError, IndexError):
        return 0.0


def table(report: dict[str, Any]) -> str:
    lines = [
        "| target | tool | wall (s) | CPU (s) | peak RSS (MB) | tree RSS (MB) | tree PSS (MB)"
        " | findings | documents |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in report["results"]:
        findings = result["findings"]
        if result["tool"] == "lower-bound":
            findings = f"({findings} docs)"
        documents = "" if result.get("documents") is None else result["documents"]
        lines.append(
            f"| {result['target']} | {result['tool']} | {result['median_wall_s']:.2f} "
            f"| {result['median_cpu_s']:.2f} | {result['median_max_rss_mb']:.0f} "
            f"| {result['median_tree_rss_mb']:.0f} | {result.get('median_tree_pss_mb', 0):.0f} "
            f"| {findings} | {documents} |"
        )
    lines += [
        "",
        "| ratio (median of paired runs) | wall | CPU | peak RSS | tree RSS | tree PSS |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, ratio in report["ratios"].items():
        lines.append(
            f"| {name} | {ratio['wall']:.2f} | {ratio['cpu']:.2f} | {ratio['max_rss']:.3f} "
            f"| {ratio['tree_rss']:.3f} | {ratio.get('tree_pss', 0):.3f} |"
        )
    lines += [
        "",
        f"Byte code: {report.get('byte_code', 'compiled in every run (before 2026-11-26)')}.",
    ]
    if report.get("memory_by_size"):
        sizes = report["memory_by_size"]
        lines += ["", "| copies of k8s | " + " | ".join(sizes) + " |"]
        lines += ["|---|" + "---:|" * len(sizes)]
        for key, label in MEMORY_ROWS:
            cells = [_size_cell(measured, key) for measured in sizes.values()]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    corpus_mod.add_size_arguments(parser)
    parser.add_argument(
        "--corpus", type=Path, help=f"corpus directory (default: {real_corpus.DEFAULT_OUT})"
    )
    parser.add_argument(
        "--generated", action="store_true", help="the generated corpus (a scaling test)"
    )
    parser.add_argument(
        "--targets", nargs="*", help="only these targets (k8s, k8s-full, charts, terraform, scaled)"
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per tool (median reported)")
    parser.add_argument("--json", type=Path, help="results file (default: by corpus)")
    parser.add_argument("--skip-checkov", action="store_true")
    parser.add_argument(
        "--checkov-runs", type=int, help="runs of Checkov (default: --runs; it is slow)"
    )
    parser.add_argument(
        "--scaled-runs", type=int, default=1, help="runs on each scaled-Nx copy (memory)"
    )
    parser.add_argument("--jobs", type=int, default=0, help="gatekeeper --jobs (default: cores)")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="also run this checkout of gatekeeper (an older commit), paired with this one",
    )
    parser.add_argument(
        "--gatekeeper-config",
        type=Path,
        help="gatekeeper -c FILE (e.g. `sources: {kustomize: {enabled: false}}`)",
    )
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the other targets of an existing results file (each result says its run)",
    )
    args = parser.parse_args()
    if args.gatekeeper_config:
        GATEKEEPER_OPTIONS.extend(["-c", str(args.gatekeeper_config.resolve())])
    corpus = args.corpus
    if corpus is None and args.generated:
        size = corpus_mod.size_from(args)
        corpus = corpus_mod.DEFAULT_OUT / ("small" if args.small else "full")
        wanted = {"seed": args.seed, "size": asdict(size)}
        existing = corpus / "corpus.json"
        current = json.loads(existing.read_text()) if existing.exists() else {}
        if {key: current.get(key) for key in wanted} != wanted:
            print(f"generating corpus in {corpus} ...", file=sys.stderr)
            corpus_mod.generate(corpus, size, args.seed)
    elif corpus is None:
        corpus = real_corpus.DEFAULT_OUT
        if not real_corpus.is_built(corpus):
            sys.exit(
                f"run.py: no real-repository corpus in {corpus} (or one of other sources).\n"
                f"Build it first (a minute):\n    {real_corpus.build_command()}\n"
                "or run the generated corpus: python benchmarks/run.py --generated"
            )
    if not (corpus / "corpus.json").exists():
        sys.exit(f"run.py: {corpus} holds no corpus.json")
    if not shutil.which(TIME) and not os.access(TIME, os.X_OK):
        print(
            "note: /usr/bin/time missing (apt-get install time); using getrusage", file=sys.stderr
        )
    checkov_runs = args.checkov_runs or args.runs
    real = json.loads((corpus / "corpus.json").read_text()).get("kind") == "real"
    output = args.json or HERE / ("results-real.json" if real else "results.json")

    earlier = json.loads(output.read_text()) if args.merge and output.exists() else None

    def save(report: dict[str, Any]) -> None:
        report["checkov_runs"] = checkov_runs
        report["command"] = " ".join(["python", "benchmarks/run.py", *sys.argv[1:]])
        if earlier is not None:
            report = merged(earlier, report)
        output.write_text(json.dumps(report, indent=2) + "\n")

    report = benchmark(
        corpus.resolve(),
        args.runs,
        not args.skip_checkov,
        args.jobs,
        checkov_runs,
        args.targets,
        args.scaled_runs,
        save,
        args.baseline.resolve() if args.baseline else None,
    )
    save(report)
    print(table(report))
    print(f"\nresults: {output}", file=sys.stderr)


if __name__ == "__main__":
    main()
