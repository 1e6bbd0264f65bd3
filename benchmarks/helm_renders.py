"""The Helm renderer's child alone: its CPU and peak memory over every render of a scan.

    python benchmarks/helm_renders.py CORPUS/charts [--runs 3] [--gogc 100 --gogc 200 ...]

A scan of the directory (one process, no workers) records what it asks the renderer (each
chart as written for Helm, and its jobs); then, for every Go collector setting (`--gogc`,
default 200 and 400, gatekeeper's own), in paired rounds, a fresh child
(gatekeeper/sources/helm_child.py, as helm_engine starts it) answers all of them. Reports
medians of the child's CPU (user + system, start-up included) and of its peak RSS (VmHWM):
what the GOGC of helm_engine._CHILD_ENVIRONMENT trades. First, each chart asked for more
than one rendering, and why each was asked for, as its options tell (`reasons`).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def record(target: Path, into: Path) -> list[dict[str, Any]]:
    """The renderer's requests of a scan of `target`, their charts copied under `into`."""
    from gatekeeper.main import main
    from gatekeeper.sources import helm_engine

    requests: list[dict[str, Any]] = []
    render = helm_engine.render

    def recorded(root: str, jobs: list[dict[str, Any]], limit: Any = None) -> Any:
        copy = into / f"{len(requests):04d}"
        shutil.copytree(root, copy, symlinks=True)
        # (a copy where `lookup` finds its stand-in: helm._render_found)
        lookup = Path(root).name.startswith("found-")
        requests.append({"root": str(copy), "jobs": jobs, "lookup": lookup})
        return render(root, jobs, limit or helm_engine.DEFAULT_LIMITS)

    helm_engine.render = recorded  # type: ignore[assignment]
    arguments = sys.argv
    try:
        sys.argv = ["gatekeeper", "scan", str(target), "--format", "json", "--jobs", "1"]
        with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
            main()
    finally:
        sys.argv = arguments
        helm_engine.render = render  # type: ignore[assignment]
    return requests


def reasons(request: dict[str, Any]) -> list[str]:
    """Why each job of a request was asked for, as its options tell: `install` (the defaults,
    or a release configured or found deploying it), `upgrade` (a template reads
    .Release.IsUpgrade, IsInstall or Revision), `kube vX` (a Kubernetes version a template
    compares with), `+N API` (API versions assumed served that the first job's lack: a
    template tests them with .Capabilities.APIVersions.Has), `lookup` (the chart copy where
    `lookup` finds its stand-in object: a template calls it)."""
    first = set(request["jobs"][0]["options"].get("api_versions", [])) if request["jobs"] else set()
    out = []
    for job in request["jobs"]:
        options = job["options"]
        said = ["upgrade" if options.get("is_upgrade") else "install"]
        if options.get("kube_version"):
            said.append(f"kube {options['kube_version']}")
        extra = set(options.get("api_versions", [])) - first
        if extra:
            said.append(f"+{len(extra)} API")
        if request.get("lookup"):
            said.append("lookup")
        out.append(" ".join(said))
    return out


def _chart_name(root: str) -> str:
    try:
        text = (Path(root) / "Chart.yaml").read_text(errors="replace")
    except OSError:
        return root
    return next(
        (line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("name:")),
        root,
    )


def replay(requests: list[dict[str, Any]], gogc: str) -> tuple[float, float]:
    """CPU seconds and peak RSS (MB) of one child answering every request."""
    from gatekeeper.sources import helm_engine

    environment = {**os.environ, **helm_engine._CHILD_ENVIRONMENT, "GOGC": gogc}
    environment["GOMEMLIMIT"] = helm_engine.memory_target(helm_engine.MEMORY_MIB)
    command = [sys.executable, "-I", "-S", helm_engine._CHILD_FILE, "--serve"]
    command += [str(helm_engine.MEMORY_MIB), helm_engine._sdk_folder()]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    child = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=environment,
    )
    assert child.stdin is not None and child.stdout is not None
    if child.stdout.readline() != b"ready\n":
        raise SystemExit("the renderer did not start")
    for request in requests:
        child.stdin.write(helm_engine.request_line(request["root"], request["jobs"]))
        child.stdin.flush()
        json.loads(child.stdout.readline())
    status = Path(f"/proc/{child.pid}/status").read_text()
    peak_kb = next(int(line.split()[1]) for line in status.splitlines() if line[:6] == "VmHWM:")
    child.stdin.close()
    child.wait()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, peak_kb / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--gogc", action="append", help="GOGC values (default: 200, 400)")
    args = parser.parse_args()
    settings = args.gogc or ["200", "400"]
    with tempfile.TemporaryDirectory(prefix="gatekeeper-helm-renders-") as temp:
        requests = record(args.target.resolve(), Path(temp))
        jobs = sum(len(request["jobs"]) for request in requests)
        print(f"{len(requests)} charts, {jobs} renderings; rendered more than once:")
        for request in requests:
            if len(request["jobs"]) > 1 or request.get("lookup"):
                print(f"  {_chart_name(request['root'])}: {', '.join(reasons(request))}")
        samples: dict[str, list[tuple[float, float]]] = {gogc: [] for gogc in settings}
        for _ in range(args.runs):
            for gogc in settings:
                samples[gogc].append(replay(requests, gogc))
    print(f"{len(requests)} charts, {jobs} renderings; load average {os.getloadavg()[0]:.1f}")
    for gogc, runs in samples.items():
        cpu = statistics.median(cpu for cpu, _ in runs)
        peak = statistics.median(peak for _, peak in runs)
        print(f"GOGC={gogc:<5} CPU {cpu:.3f} s  peak RSS {peak:.1f} MB")


if __name__ == "__main__":
    main()
