"""Wall time of the pre-commit hook on one staged file, against `python -c pass`.

    python benchmarks/precommit_bench.py [--runs 15]

Runs the real CLI exactly as `.pre-commit-hooks.yaml` does (`gatekeeper scan --hook FILE`) in
a temporary git repository holding one Deployment, with the built-in library, N times, and
reports the median; `python -c pass` is the lower bound of any Python hook. The first run
(which fills the schema-validation cache) is not counted, as pre-commit users hit a warm cache.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def median_seconds(command: list[str], cwd: Path, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        subprocess.run(["git", "init", "-q", str(root)], check=True)
        (root / "deploy").mkdir()
        (root / "deploy/web.yaml").write_text(DEPLOYMENT)
        hook = [sys.executable, "-m", "gatekeeper", "scan", "--hook", "deploy/web.yaml"]
        check = subprocess.run(hook, cwd=root, capture_output=True, text=True)
        assert check.returncode == 1, check.stdout + check.stderr  # the warm-up run, and a check
        floor = median_seconds([sys.executable, "-c", "pass"], root, args.runs)
        wall = median_seconds(hook, root, args.runs)
    print(f"python -c pass            median {floor * 1000:7.1f} ms  ({args.runs} runs)")
    print(f"gatekeeper hook, 1 file   median {wall * 1000:7.1f} ms  ({args.runs} runs)")
    print(f"hook overhead over bare interpreter: {(wall - floor) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
