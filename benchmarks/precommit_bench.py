"""The pre-commit hook as a developer meets it: a cold install, its size, and one-file runs.

    python benchmarks/precommit_bench.py [--runs 15] [--warm-pip-cache] [--json FILE] [--repo DIR]

1. Cold install: `pre-commit install-hooks` in a fresh consumer repository whose
   `.pre-commit-config.yaml` names this repository at its HEAD commit (commit first: pre-commit
   clones the commit), with an empty PRE_COMMIT_HOME and, unless --warm-pip-cache, no pip
   cache: what a new laptop downloads and builds. The hook's environment is the light core.
2. Size of that environment on disk (and of a venv with every extra, `[all]`, for contrast).
3. One staged file: `pre-commit run --files deploy/web.yaml` through pre-commit, and the hook's
   own command (`gatekeeper scan --hook FILE`) from its environment, N times each, medians,
   against `python -c pass` (the floor of any Python hook): medians of wall time and of CPU
   (user + system, the processes it waited for included). The first run fills the caches
   and is not counted. Every run must report the privileged container (exit 1 and the
   finding in the output): a hook that failed to start does not count as a result.
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

REPO = Path(__file__).resolve().parent.parent
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: ghcr.io/acme/web:1.4.2
          securityContext: {privileged: true}
"""
EXPECTED = "deploy/web.yaml:12"  # K8S-PSS-PRIVILEGED at `privileged: true`


def run_checked(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds (children included) of one hook run; fails unless it found the
    privileged container."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    found = EXPECTED in proc.stdout and "K8S-PSS-PRIVILEGED" in proc.stdout
    if proc.returncode != 1 or not found:
        raise SystemExit(
            f"{' '.join(command)}: expected exit 1 and K8S-PSS-PRIVILEGED at {EXPECTED}, got "
            f"exit {proc.returncode}:\n{proc.stdout}{proc.stderr}"
        )
    return seconds, cpu


def median_seconds(
    command: list[str], cwd: Path, env: dict[str, str], runs: int
) -> tuple[float, float]:
    """Medians of wall and CPU seconds."""
    samples = [run_checked(command, cwd, env) for _ in range(runs)]
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def median_floor(cwd: Path, runs: int) -> float:
    """`python -c pass`: the least any Python hook costs."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], cwd=cwd, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def megabytes(path: Path) -> float:
    total = sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())
    return total / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--warm-pip-cache", action="store_true")
    parser.add_argument("--skip-all-size", action="store_true", help="no [all] venv for contrast")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--repo", type=Path, default=REPO, help="the gatekeeper checkout whose HEAD is installed"
    )
    args = parser.parse_args()
    repo = args.repo.resolve()
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if dirty:
        print(f"note: uncommitted changes are not measured (HEAD {head[:12]} is)", file=sys.stderr)
    pre_commit = Path(sys.executable).with_name("pre-commit")
    results: dict[str, float | str] = {"rev": head, "python": sys.version.split()[0]}
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        consumer = root / "consumer"
        subprocess.run(["git", "init", "-q", str(consumer)], check=True)
        (consumer / "deploy").mkdir()
        (consumer / "deploy/web.yaml").write_text(DEPLOYMENT)
        (consumer / ".pre-commit-config.yaml").write_text(
            f"repos:\n  - repo: {repo}\n    rev: {head}\n    hooks: [{{id: gatekeeper}}]\n"
        )
        subprocess.run(["git", "add", "-A"], cwd=consumer, check=True)
        env = {**os.environ, "PRE_COMMIT_HOME": str(root / "home"), "NO_COLOR": "1"}
        env["GATEKEEPER_CACHE_DIR"] = str(root / "cache")  # this run's caches alone
        env.pop("PIP_CONSTRAINT", None)  # a developer's install: the newest releases
        if not args.warm_pip_cache:
            env["PIP_NO_CACHE_DIR"] = "1"
        start = time.perf_counter()
        subprocess.run([str(pre_commit), "install-hooks"], cwd=consumer, env=env, check=True)
        results["cold_install_s"] = round(time.perf_counter() - start, 1)
        (environment,) = (root / "home").glob("repo*/py_env-*")
        results["hook_env_mb"] = round(megabytes(environment), 1)
        hook = [str(environment / "bin" / "gatekeeper"), "scan", "--hook", "deploy/web.yaml"]
        through = [str(pre_commit), "run", "--files", "deploy/web.yaml"]
        run_checked(hook, consumer, env)  # warm-up: fills the schema-validation cache
        floor = median_floor(consumer, args.runs)
        results["python_pass_ms"] = round(floor * 1000, 1)
        wall, cpu = median_seconds(hook, consumer, env, args.runs)
        results["hook_one_file_ms"] = round(wall * 1000, 1)
        results["hook_one_file_cpu_ms"] = round(cpu * 1000, 1)
        wall, cpu = median_seconds(through, consumer, env, args.runs)
        results["pre_commit_run_one_file_ms"] = round(wall * 1000, 1)
        results["pre_commit_run_one_file_cpu_ms"] = round(cpu * 1000, 1)
        results["load_average"] = round(os.getloadavg()[0], 1)
        if not args.skip_all_size:
            venv = root / "all"
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            subprocess.run(
                [str(venv / "bin/python"), "-m", "pip", "install", "-q", f"{repo}[all]"],
                env=env,
                check=True,
            )
            results["all_extras_venv_mb"] = round(megabytes(venv), 1)
    results["runs"] = args.runs
    for key, value in results.items():
        print(f"{key:28} {value}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
