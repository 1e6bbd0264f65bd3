"""Jsonnet evaluated in a child process with limits, its imports served by the parent.

Jsonnet is a programming language: a file from a pull request can recurse forever, allocate
without bound or print gigabytes. The evaluator (go-jsonnet, else C++ Jsonnet: ENGINES) runs
in a fresh Python process capped in CPU time and data memory (resource.setrlimit, where the
platform has it), waited for no longer than a wall-clock timeout, its output read no further
than a size limit. It reads no file itself: each `import`, `importstr` and `importbin` is a request
on its stdout that the parent answers on its stdin from the tree it judges, through a
resolver that only reads inside the repository. No native functions are registered.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import queue
    import subprocess

# Generous for real configurations (kube-prometheus evaluates in about a second and 300 MB),
# small enough that a hostile file ends within a minute and leaves memory to the scan.
CPU_SECONDS = 30
MEMORY_BYTES = 2 << 30  # data memory: the child's Python and evaluator take ~100 MB
WALL_SECONDS = 60
OUTPUT_BYTES = 64 << 20
MAX_STACK = 500  # Jsonnet's own default: a deep recursion is an error, not a crash
MAX_TRACE = 10  # stack frames in an error message
# The evaluators, the first installed is used: go-jsonnet (`gojsonnet`), which Argo CD and
# Tanka run (tempo's Tanka environment on the vendored k8s-libsonnet: 1.2 s of CPU, where
# C++ Jsonnet took 53 s and hit the CPU limit), then C++ Jsonnet (`jsonnet`: the platforms
# go-jsonnet has no wheel for). Same modules' interface.
ENGINES = ("_gojsonnet", "_jsonnet")
# Where an import the parent did not serve is said to be found (see _child): no path of a tree.
UNREAD = "<not read>"


# All the child is given of the environment (no token: Jsonnet cannot read it anyway).
_ENVIRONMENT = ("PATH", "SYSTEMROOT", "LANG", "LC_ALL")


@dataclass(frozen=True)
class Limits:
    """What one Jsonnet evaluation may spend before it is stopped."""

    cpu_seconds: int = CPU_SECONDS
    memory_bytes: int = MEMORY_BYTES
    wall_seconds: float = WALL_SECONDS
    output_bytes: int = OUTPUT_BYTES


class Refused(Exception):
    """An import the resolver will not serve (it leaves the repository): evaluation fails."""


# (directory of the importing file, imported path as written) -> (found path, content).
# Raises Refused, or FileNotFoundError when no candidate exists.
Resolver = Callable[[str, str], tuple[str, bytes]]


@dataclass(frozen=True)
class Variables:
    """External variables and top-level arguments, as strings or as Jsonnet code."""

    ext_vars: dict[str, str] = field(default_factory=dict)
    ext_codes: dict[str, str] = field(default_factory=dict)
    tla_vars: dict[str, str] = field(default_factory=dict)
    tla_codes: dict[str, str] = field(default_factory=dict)


@dataclass
class Result:
    """What one Jsonnet evaluation gave: its JSON or its error, and the imports asked."""

    output: str | None = None  # the JSON text Jsonnet printed
    error: str = ""  # Jsonnet's error message, or the limit that stopped it
    refused: list[str] = field(default_factory=list)  # imports not served, and why
    imported: list[str] = field(default_factory=list)  # the files served, in order
    # the imports not served (refused or not found): (importing file's folder, path as written)
    unread: list[tuple[str, str]] = field(default_factory=list)


def evaluate(
    file: str,
    code: str,
    resolve: Resolver,
    variables: Variables = Variables(),
    limits: Limits = Limits(),
) -> Result:
    """Evaluate `code` (the text of `file`, a path relative to the repository) in a child."""
    import subprocess
    import tempfile

    result = Result()
    request = {
        "file": file,
        "code": code,
        "variables": vars(variables),
        "limits": [limits.cpu_seconds, limits.memory_bytes],
        "engines": list(ENGINES),
    }
    with tempfile.TemporaryDirectory(prefix="gatekeeper-jsonnet-") as empty:
        # -I: neither the environment nor the working directory puts modules on its path.
        # This file runs as a script (it imports no gatekeeper module): the child is this
        # code, not whichever gatekeeper an interpreter's site-packages may hold.
        child = subprocess.Popen(
            [sys.executable, "-I", os.path.abspath(__file__)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=empty,
            env={key: os.environ[key] for key in _ENVIRONMENT if key in os.environ},
        )
        try:
            _converse(child, request, resolve, limits, result)
        finally:
            if child.poll() is None:
                child.kill()
            child.wait()
            assert child.stdin is not None and child.stdout is not None
            child.stdin.close()
            child.stdout.close()
        if result.output is None and not result.error:
            result.error = _died(child.returncode, limits)
    return result


def _converse(
    child: subprocess.Popen[bytes],
    request: dict[str, Any],
    resolve: Resolver,
    limits: Limits,
    result: Result,
) -> None:
    """Send the request, answer import requests, read the answer: within the limits. The
    child's lines are read by a thread (pipes cannot be polled on Windows)."""
    import queue
    import threading

    assert child.stdin is not None and child.stdout is not None
    deadline = time.monotonic() + limits.wall_seconds
    try:
        _send(child.stdin, request)
    except OSError:
        return  # the child is gone: its exit status says why
    lines: queue.Queue[bytes | str | None] = queue.Queue()
    reader = threading.Thread(
        target=_read_lines, args=(child.stdout, limits.output_bytes, lines), daemon=True
    )
    reader.start()
    while True:
        try:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0))
        except queue.Empty:
            result.error = f"evaluation stopped after {limits.wall_seconds:g} s (wall clock)"
            return
        if line is None:  # the child ended without an answer
            return
        if isinstance(line, str):  # _TOO_LONG
            result.error = f"output larger than {limits.output_bytes >> 20} MB; not read"
            return
        try:
            message = json.loads(line)
        except ValueError:
            result.error = "the evaluator answered something unreadable"
            return
        if "import" in message:
            directory, imported = message["import"]
            reply = _serve(resolve, str(directory), str(imported), result)
            try:
                _send(child.stdin, reply)
            except OSError:
                return
            continue
        if "error" in message:
            result.error = str(message["error"])
        else:
            result.output = str(message["done"])
        return


_TOO_LONG = "output over the limit"  # what _read_lines puts then
# The words of every error that is no evaluator's but a limit's, or the child's end (a
# crash): the deployer, unlimited, may well evaluate the file.
_STOPPED = ("evaluation stopped", "output larger than", "evaluation ended without a result")


def stopped(error: str) -> bool:
    """Did a limit of the sandbox (or its child's crash) end the evaluation, not Jsonnet?"""
    return any(words in error for words in _STOPPED)


def _read_lines(stream: Any, limit: int, lines: queue.Queue[bytes | str | None]) -> None:
    """Put each line the child writes on `lines`, None at its end; no more than `limit`
    bytes in all (then _TOO_LONG)."""
    received = 0
    while True:
        line = stream.readline(limit + 1 - received)
        received += len(line)
        if received > limit:
            lines.put(_TOO_LONG)
            return
        if not line.endswith(b"\n"):  # the end (a line cut short: the child died)
            lines.put(None)
            return
        lines.put(line)


def _serve(resolve: Resolver, directory: str, path: str, result: Result) -> dict[str, str]:
    try:
        found, content = resolve(directory, path)
    except Refused as refused:
        result.refused.append(str(refused))
        result.unread.append((directory, path))
        return {"refused": str(refused)}
    except (FileNotFoundError, ValueError):  # ValueError: a NUL in the path
        result.unread.append((directory, path))
        return {"refused": "not found in the repository or its library paths"}
    result.imported.append(found)
    return {"found": found, "content": base64.b64encode(content).decode("ascii")}


def _died(returncode: int, limits: Limits) -> str:
    """Why a child ended without an answer: a limit's signal (SIGXCPU at the CPU soft limit,
    SIGKILL at the hard one; SIGABRT from an allocation the memory limit refused)."""
    import signal

    cpu = getattr(signal, "SIGXCPU", None)
    if cpu is not None and returncode in (-cpu, -signal.SIGKILL):
        return f"evaluation stopped at the CPU time limit ({limits.cpu_seconds} s)"
    if returncode == -signal.SIGABRT:
        return f"evaluation stopped at the memory limit ({limits.memory_bytes >> 20} MB)"
    return f"evaluation ended without a result (exit status {returncode})"


def _send(stream: Any, message: dict[str, Any]) -> None:
    stream.write(json.dumps(message).encode() + b"\n")
    stream.flush()


def _limit(cpu_seconds: int, memory_bytes: int) -> None:
    try:
        import resource
    except ImportError:  # Windows: the wall-clock timeout and output limit still hold
        return
    # The CPU hard limit a second later: SIGXCPU first, SIGKILL if it is ignored.
    for which, wanted, grace in (
        (resource.RLIMIT_CPU, cpu_seconds, 1),
        # The data limit, not the address space's: Go's runtime reserves address space it
        # does not use (go-jsonnet did not start under 1 GB of it); what it, C++ Jsonnet or
        # Python allocate (heap, anonymous mappings) counts in the data limit.
        (resource.RLIMIT_DATA, memory_bytes, 0),
    ):
        _, hard = resource.getrlimit(which)
        ceiling = wanted + grace if hard == resource.RLIM_INFINITY else min(wanted + grace, hard)
        try:
            resource.setrlimit(which, (min(wanted, ceiling), ceiling))
        except (ValueError, OSError):  # macOS refuses some memory limits
            continue


def _child() -> None:
    """The child's side: limit itself, evaluate, ask the parent for every import.

    An import the parent does not serve is never an error raised in the import callback:
    go-jsonnet's Python binding reads such an error's message past its end (a message that is
    not NUL-terminated: garbage in the error, or a crash). It is served as a file whose
    evaluation fails with Jsonnet's own words for it, and the evaluation fails with them
    whatever it made of the file (an `importstr` of it would be its text): Jsonnet fails
    at the first import it cannot read."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    request = json.loads(stdin.readline())
    _limit(*request["limits"])
    engine = _engine(request["engines"])
    unread: list[str] = []

    def imported(directory: str, path: str) -> tuple[str, bytes]:
        _send(stdout, {"import": [directory, path]})
        reply = json.loads(stdin.readline())
        if "found" in reply:
            return str(reply["found"]), base64.b64decode(reply["content"])
        said = f"couldn't open import {json.dumps(path)}: {reply['refused']}"
        unread.append(said)
        return f"{UNREAD}/{len(unread)}", f"error {json.dumps(said)}\n".encode()

    variables = request["variables"]
    try:
        output = engine.evaluate_snippet(
            request["file"],
            request["code"],
            import_callback=imported,
            max_stack=MAX_STACK,
            max_trace=MAX_TRACE,
            **variables,
        )
    except (RuntimeError, MemoryError) as error:
        said = str(error) or type(error).__name__
        if unread and unread[0] not in said:  # it failed after: at the import, for Jsonnet
            said = f"RUNTIME ERROR: {unread[0]}"
        _send(stdout, {"error": said})
        return
    if unread:
        _send(stdout, {"error": f"RUNTIME ERROR: {unread[0]}"})
        return
    _send(stdout, {"done": output})


def _engine(names: list[str]) -> Any:
    """The first of the evaluator modules `names` (ENGINES) that imports."""
    import importlib

    for name in names[:-1]:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return importlib.import_module(names[-1])


if __name__ == "__main__":
    _child()
