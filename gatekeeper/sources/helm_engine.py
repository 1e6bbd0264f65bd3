"""The Helm SDK boundary: load a chart directory and render it.

The SDK is a Go shared library, and a Go runtime does not survive fork(): a forked child that
calls into a library its parent had loaded can hang. So a process renders in-process only if
it loaded the library itself; a forked child of a process that did renders in a fresh
interpreter (`python -m gatekeeper.sources.helm_engine`, JSON over stdin/stdout).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any, NamedTuple

TIMEOUT_SECONDS = 120
_loaded_pid: int | None = None


class Rendering(NamedTuple):
    manifests: dict[str, str] | None  # template name -> rendered text; None on error
    error: str = ""


class ChartResult(NamedTuple):
    load_error: str = ""
    dependencies: tuple[str, ...] = ()  # names of the subcharts Helm loaded
    renderings: tuple[Rendering, ...] = ()


def render(root: str, jobs: list[dict[str, Any]]) -> ChartResult:
    """Render the chart directory `root` once per job ({"values": ..., "options": ...})."""
    if _loaded_pid is not None and _loaded_pid != os.getpid():
        return _in_fresh_process(root, jobs)
    return render_here(root, jobs)


def render_here(root: str, jobs: list[dict[str, Any]]) -> ChartResult:
    global _loaded_pid
    import helm_python
    from helm_python import _native

    _loaded_pid = os.getpid()
    try:
        chart = helm_python.Chart.load(root)
    except helm_python.HelmError as error:
        return ChartResult(load_error=str(error))
    try:
        dependencies = tuple(str(dep.get("name")) for dep in chart.dependencies)
        renderings = []
        for job in jobs:
            try:
                payload = _native.call_string(
                    "helm_render",
                    chart._raw(),
                    json.dumps(job["values"]),
                    json.dumps(job["options"]),
                )
                renderings.append(Rendering(json.loads(payload)))
            except helm_python.HelmError as error:
                renderings.append(Rendering(None, str(error)))
        return ChartResult("", dependencies, tuple(renderings))
    finally:
        chart.close()


def _in_fresh_process(root: str, jobs: list[dict[str, Any]]) -> ChartResult:
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "gatekeeper.sources.helm_engine"],
            input=json.dumps({"root": root, "jobs": jobs}),
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
        data = json.loads(proc.stdout)
    except (OSError, subprocess.TimeoutExpired, ValueError) as error:
        return ChartResult(load_error=f"could not run the Helm renderer: {error}")
    return ChartResult(
        data["load_error"],
        tuple(data["dependencies"]),
        tuple(Rendering(r["manifests"], r["error"]) for r in data["renderings"]),
    )


def main() -> int:
    request = json.loads(sys.stdin.read())
    result = render_here(request["root"], request["jobs"])
    json.dump(
        {
            "load_error": result.load_error,
            "dependencies": list(result.dependencies),
            "renderings": [r._asdict() for r in result.renderings],
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
