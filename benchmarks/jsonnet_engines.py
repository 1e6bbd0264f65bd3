"""The Jsonnet evaluators side by side: go-jsonnet against C++ Jsonnet on a repository's Jsonnet.

    python benchmarks/jsonnet_engines.py CHECKOUT [--runs 3] [--cpu-seconds 120]

A scan of the checkout (one process) records every evaluation it asks of the sandbox
(gatekeeper/sources/jsonnet_sandbox.py: the file, its code, its variables, and each import
the scan served or refused). Then, in paired rounds, each evaluator (jsonnet_sandbox.ENGINES)
replays all of them in its own child, as a scan runs it, with the imports answered from the
record. Reports, per evaluation and in all, medians of the child's CPU (user + system, start-up
included: what a scan pays) and whether the evaluators agree (the same JSON, or both an error).
The CPU limit is raised for the replay (`--cpu-seconds`) so that a slow evaluator is timed,
not stopped.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import statistics
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


@dataclass
class Asked:
    """One evaluation a scan asked for, with what its imports were answered."""

    file: str
    code: str
    variables: Any
    imports: dict[tuple[str, str], tuple[str, bytes] | None]  # None: refused or not found


def record(target: Path) -> list[Asked]:
    """The sandbox evaluations of a scan of `target`."""
    from gatekeeper.main import main
    from gatekeeper.sources import jsonnet_sandbox

    asked: list[Asked] = []
    evaluate = jsonnet_sandbox.evaluate

    def recording(file: str, code: str, resolve: Any, variables: Any = None, limits: Any = None):  # type: ignore[no-untyped-def]
        one = Asked(file, code, variables or jsonnet_sandbox.Variables(), {})

        def remembered(directory: str, path: str) -> tuple[str, bytes]:
            try:
                found: tuple[str, bytes] = resolve(directory, path)
            except (jsonnet_sandbox.Refused, OSError, ValueError):
                one.imports[directory, path] = None
                raise
            one.imports[directory, path] = found
            return found

        asked.append(one)
        return evaluate(file, code, remembered, one.variables, limits or jsonnet_sandbox.Limits())

    jsonnet_sandbox.evaluate = recording  # type: ignore[assignment]
    kept = os.environ.get("GATEKEEPER_CACHE_DIR")
    try:
        with tempfile.TemporaryDirectory() as empty, contextlib.redirect_stdout(io.StringIO()):
            os.environ["GATEKEEPER_CACHE_DIR"] = empty  # nothing judged before: all evaluated
            main(["scan", str(target), "--jobs", "1", "--format", "json"])
    finally:
        jsonnet_sandbox.evaluate = evaluate  # type: ignore[assignment]
        if kept is None:
            os.environ.pop("GATEKEEPER_CACHE_DIR", None)
        else:
            os.environ["GATEKEEPER_CACHE_DIR"] = kept
    return asked


def replay(one: Asked, engine: str, cpu_seconds: int) -> tuple[float, str]:
    """The child's CPU for `one` with `engine`, and its result: its JSON, or `error`."""
    from gatekeeper.sources import jsonnet_sandbox

    def resolve(directory: str, path: str) -> tuple[str, bytes]:
        found = one.imports.get((directory, path))
        if found is None:
            raise FileNotFoundError(path)
        return found

    limits = replace(
        jsonnet_sandbox.Limits(), cpu_seconds=cpu_seconds, wall_seconds=4 * cpu_seconds
    )
    kept = jsonnet_sandbox.ENGINES
    jsonnet_sandbox.ENGINES = (engine,)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        result = jsonnet_sandbox.evaluate(one.file, one.code, resolve, one.variables, limits)
    finally:
        jsonnet_sandbox.ENGINES = kept
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if result.output is None:
        return cpu, "error"
    return cpu, json.dumps(json.loads(result.output), sort_keys=True)


def main() -> None:
    import importlib.util

    from gatekeeper.sources import jsonnet_sandbox

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cpu-seconds", type=int, default=120)
    args = parser.parse_args()
    engines = [e for e in jsonnet_sandbox.ENGINES if importlib.util.find_spec(e) is not None]
    asked = record(args.target)
    print(f"{args.target}: {len(asked)} evaluations; evaluators {', '.join(engines)}")
    cpu: dict[tuple[int, str], list[float]] = {}
    said: dict[tuple[int, str], str] = {}
    for round_ in range(args.runs):
        for index, one in enumerate(asked):
            order = engines if round_ % 2 == 0 else engines[::-1]  # paired, alternated
            for engine in order:
                seconds, result = replay(one, engine, args.cpu_seconds)
                cpu.setdefault((index, engine), []).append(seconds)
                said[index, engine] = result
    totals = {engine: 0.0 for engine in engines}
    for index, one in enumerate(asked):
        medians = {e: statistics.median(cpu[index, e]) for e in engines}
        for engine, seconds in medians.items():
            totals[engine] += seconds
        agree = len({said[index, e] for e in engines}) == 1
        shown = "  ".join(f"{e} {s:7.2f} s" for e, s in medians.items())
        ended = "error" if said[index, engines[0]] == "error" else "json"
        print(f"  {one.file}: {shown}  ({ended}; {'same' if agree else 'DIFFERENT'})")
    print("  all: " + "  ".join(f"{e} {s:.2f} s" for e, s in totals.items()))
    if len(engines) == 2 and totals[engines[0]]:
        print(f"  {engines[1]} / {engines[0]}: {totals[engines[1]] / totals[engines[0]]:.1f}x")


if __name__ == "__main__":
    main()
