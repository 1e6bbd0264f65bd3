"""The Helm SDK boundary: load a chart directory and render it, in a child process.

Templates come from the scanned repository, so a render may not be trusted to end or to fit in
memory (`{{ range until 100000000 }}`). Every render runs in one long-lived child interpreter
per scanning process (`python -I -S helm_child.py --serve`, one line per request, see
request_line, and one JSON line per answer) whose address space is capped with RLIMIT_AS;
the parent waits at most the wall-time limit for each chart, then kills the child and starts
a fresh one for the next chart. The Go runtime (which does not survive fork()) stays out of
the scanning processes.

A scan that forks workers starts the child first and shares it (`share`): the workers take
turns on its pipes under one lock, so a scan holds one Helm library in memory and pays one
start-up, not one per worker. When a render kills or crashes the shared child, that chart's
finding says so as before and every worker goes on with a child of its own.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import importlib.util
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any, NamedTuple

from gatekeeper.sources import helm_renders
from gatekeeper.sources.helm_child import MAX_OUTPUT_BYTES as MAX_OUTPUT_BYTES

if TYPE_CHECKING:
    from multiprocessing.sharedctypes import Synchronized
    from multiprocessing.synchronize import Lock

_CHILD_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "helm_child.py")
# The directory that holds the gatekeeper package (site-packages, or a source checkout).
_PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(_CHILD_FILE)))
TIMEOUT_SECONDS = 30.0
STARTUP_SECONDS = 60.0
MEMORY_MIB = 2048
# What a process says when it runs into RLIMIT_AS (Go runtime, cgo, Python).
_OUT_OF_MEMORY = (
    "out of memory",
    "cannot allocate memory",
    "failed to reserve",
    "pthread_create failed",
    "memoryerror",
)


# Under an address-space cap, reservations count, not use: Go's collector keeps under a soft
# limit (GOMEMLIMIT), and glibc must not reserve 64 MiB arenas per Go thread.
# GOGC=400: the collector runs when the heap has grown five times since its last run, not
# tripled (200, which had cut a quarter of the CPU of 100); the soft limit below bounds it. On
# the real-repository charts (benchmarks/helm_renders.py, 7 paired rounds, 48 MiB limit) the
# renderer's CPU is 0.45 s, was 0.53 with GOGC=200, its peak RSS the same (105 MB, 108).
_CHILD_ENVIRONMENT = {"MALLOC_ARENA_MAX": "2", "GOGC": "400"}
# The soft limit: 48 MiB (or half the cap, when lower). Below it GOGC alone decides; above
# it the collector runs more often and the runtime hands freed pages back at once. A chart of
# 4.5 MB of output (prometheus-operator-crds) grew the child by 50 MB that it then kept for
# the rest of the scan: with 48 MiB its peak PSS is 70 MB, was 95 (replay of the 89 renders
# of the real charts with GOGC=200, paired: CPU 0.47 s either way; 32 MiB cost half again).
# A render whose live heap needs more is slower (Go caps its collector at half the CPU), never
# refused: the address-space cap (RLIMIT_AS) stays the only hard bound.
SOFT_LIMIT_MIB = 48
# A hook's (scan --hook, which keeps renderings: helm_renders.keep): a short-lived process that
# renders a few charts, where CPU is the goal, not the peak. A chart of 1.8 MB of templates
# (kube-prometheus-stack: every rendering parses them all) ran its collector through a fifth
# of the child's CPU under 48 MiB: its three renderings cost 0.211 s of child CPU with 96 MiB
# (128 and 256 the same), 0.254 s with 48 (9 paired rounds; peak RSS 117 MB, was 95).
HOOK_SOFT_LIMIT_MIB = 96


def memory_target(memory_mib: int) -> str:
    """The child's GOMEMLIMIT for an address-space cap of `memory_mib`."""
    soft = HOOK_SOFT_LIMIT_MIB if helm_renders.keeping() else SOFT_LIMIT_MIB
    return f"{min(soft, memory_mib // 2)}MiB"


class Rendering(NamedTuple):
    manifests: dict[str, str] | None  # template name -> rendered text; None on error
    error: str = ""


class ChartResult(NamedTuple):
    load_error: str = ""
    dependencies: tuple[str, ...] = ()  # names of the subcharts Helm loaded
    renderings: tuple[Rendering, ...] = ()
    failed: bool = False  # the renderer itself failed (a limit): load_error names no template


class Limits(NamedTuple):
    seconds: float = TIMEOUT_SECONDS
    memory_mib: int = MEMORY_MIB


def limits(options: dict[str, Any]) -> Limits:
    """`renderTimeoutSeconds` and `renderMemoryMiB` of a source's options."""
    return Limits(
        float(options.get("renderTimeoutSeconds", TIMEOUT_SECONDS)),
        int(options.get("renderMemoryMiB", MEMORY_MIB)),
    )


DEFAULT_LIMITS = Limits()


# What a chart is reported as when no renderer is installed: the light core (the pre-commit
# hook's environment) has none, the [helm] extra brings the SDK.
MISSING = (
    "Helm chart not rendered, so not checked: the Helm renderer is not installed"
    " (pip install 'gitops-policy-gate[helm]', or [all]; in a pre-commit hook,"
    " additional_dependencies: [helm-python-sdk]; or put helm on PATH)"
)


@functools.cache
def available() -> bool:
    """Whether the Helm SDK is installed (looked up, not imported: the Go runtime stays out of
    this process). Looked up once: each lookup searches sys.path again, a tenth of a
    millisecond per chart (12 ms of a scan of 123 charts)."""
    return importlib.util.find_spec("helm_python") is not None


def _sdk_folder() -> str:
    """The folder of helm_python where this interpreter installs packages; "" when it is not
    there. Never looked up on sys.path: under `python -m gatekeeper` that begins with the
    working directory, during a scan the scanned repository, whose `helm_python/lib` the
    child would load (the child, isolated, sees neither it nor PYTHONPATH)."""
    import sysconfig

    paths = sysconfig.get_paths()
    for lib in dict.fromkeys((paths["purelib"], paths["platlib"])):
        folder = os.path.join(lib, "helm_python")
        if os.path.isfile(os.path.join(folder, "_native.py")):
            return folder
    return ""


def render(root: str, jobs: list[dict[str, Any]], limit: Limits = DEFAULT_LIMITS) -> ChartResult:
    """Render the chart directory `root` once per job ({"values": ..., "options": ...})."""
    worker = _Worker.get(limit.memory_mib)
    payload = {"root": root, "jobs": jobs}
    try:
        try:
            return worker.request(payload, limit.seconds)
        except _Gone:  # the shared child was stopped by another worker's chart: start ours
            worker.stop()
            worker = _Worker.get(limit.memory_mib)
            return worker.request(payload, limit.seconds)
    except _Failed as failure:
        worker.stop()
        return ChartResult(load_error=str(failure), failed=True)


def request_line(root: str, jobs: list[dict[str, Any]]) -> bytes:
    """A request as the child reads it (helm_child.read_request): the chart's folder, then
    each job's values and options, JSON texts (ASCII) separated by tabs on one line. JSON
    holds no raw tab or line break (json.dumps escapes them in strings, writes none between
    tokens), and the child passes each job's texts to Helm as they are: it imports no JSON
    module to read them again (helm_child)."""
    fields = [json.dumps(root)]
    for job in jobs:
        fields += [json.dumps(job["values"]), json.dumps(job["options"])]
    return "\t".join(fields).encode("ascii") + b"\n"


def prestart(limit: Limits = DEFAULT_LIMITS) -> None:
    """Start this process's child now (unless it has one): its start-up then runs beside the
    caller's own work instead of before the first chart's render."""
    _Worker.get(limit.memory_mib)


def share(limit: Limits = DEFAULT_LIMITS) -> None:
    """Before forking workers that render: start this process's child (unless it has one) and
    let the workers share it rather than start one each."""
    import multiprocessing

    worker = _Worker.get(limit.memory_mib)
    if worker.shared is None:
        context = multiprocessing.get_context("fork")
        worker.shared = _Shared(context.Lock(), context.Value("i", _STARTING))


def expect(charts: int) -> None:
    """This scan has `charts` charts to load (after share() when it forks workers): when as
    many have said chart_done(), the renderer is stopped. The rest of the scan (judging a
    chart's thousands of objects, other files) no longer holds the child and its Go heap
    (50 to 120 MB of the real charts' peak); a render after that starts a new one."""
    worker = _Worker.current
    shared = worker is not None and worker.shared is not None and worker.owner == os.getpid()
    if shared:
        import multiprocessing

        _Expected.left = multiprocessing.get_context("fork").Value("i", charts)
    else:
        _Expected.left = _Count(charts)


def chart_done() -> None:
    """One of the expected charts is loaded: the last stops the renderer."""
    left = _Expected.left
    if left is None:
        return
    with left.get_lock():
        left.value -= 1
        last = left.value == 0
    if last:
        _Expected.left = None
        release()


def release() -> None:
    """Stop this process's renderer now; a shared one under its lock, between two requests
    (every process sharing it then starts its own for a later render)."""
    worker = _Worker.current
    if worker is None:
        return
    if worker.shared is not None:
        with worker.shared.lock:
            worker.shared.state.value = _GONE
    if worker.owner == os.getpid() or worker.shared is not None:
        worker.stop()


class _Count:
    """A chart count for one process: a multiprocessing Value's interface, without one."""

    def __init__(self, value: int) -> None:
        self.value = value

    def get_lock(self) -> contextlib.nullcontext[None]:
        return contextlib.nullcontext()


class _Expected:
    left: _Count | Synchronized[int] | None = None


class _Failed(Exception):
    pass


class _Gone(Exception):
    """The shared child was stopped before this request: nothing was sent to it."""


# The shared child's state, seen by every process that holds it.
_STARTING, _READY, _GONE = 0, 1, 2


class _Shared(NamedTuple):
    lock: Lock  # held for a whole request and answer
    state: Synchronized[int]


class _Worker:
    """The child interpreter that renders for this process (and its forked workers, shared)."""

    current: _Worker | None = None

    def __init__(self, memory_mib: int) -> None:
        self.memory_mib = memory_mib
        self.owner = os.getpid()
        self.shared: _Shared | None = None
        # The child's stderr (a Go panic can be long): read back only when it dies.
        self.stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        # -I (isolated): no current directory or script folder on sys.path, no PYTHON*
        # variables. The scan runs in the scanned repository, so without it a `tempfile.py`
        # (or `gatekeeper/`) there would be imported here, with the workflow's token in the
        # environment. helm_child.py runs as a script: the child imports no gatekeeper module
        # (their start-up was a fifth of the child's), only the standard library and Helm.
        # -S: no site (its .pth files, an editable install's finder): the child is told
        # where helm_python is and reads nothing else from site-packages (with site when
        # helm_python is elsewhere: the child then imports it as before).
        sdk = _sdk_folder()
        isolated = ["-I", "-S"] if sdk else ["-I"]
        # A scan's renderer hands back the library pages only loading it touched (a hook's,
        # short-lived and timed by its CPU, does not: helm_child.drop_loading_pages).
        lean = [] if helm_renders.keeping() else ["lean"]
        self.proc = subprocess.Popen(
            [sys.executable, *isolated, _CHILD_FILE, "--serve", str(memory_mib), sdk, *lean],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env={**os.environ, **_CHILD_ENVIRONMENT, "GOMEMLIMIT": memory_target(memory_mib)},
            # Never in the scanned checkout: run where gatekeeper itself is installed.
            cwd=_PACKAGE_PARENT,
        )
        self.buffer = b""
        self.ready = False  # the child says so once the library is loaded

    @classmethod
    def get(cls, memory_mib: int) -> _Worker:
        worker = cls.current
        if worker is not None and worker.owner != os.getpid():
            # Inherited through fork: ours to use only when its owner shares it.
            if worker.shared is not None and worker.memory_mib == memory_mib:
                return worker
            worker = None
        if worker is None or worker.memory_mib != memory_mib or worker.gone():
            if worker is not None:
                worker.stop()
            worker = cls.current = _Worker(memory_mib)
            _stop_at_exit()
        return worker

    def gone(self) -> bool:
        """Has the child ended, or been stopped by a worker it was shared with?"""
        stopped = self.shared is not None and self.shared.state.value == _GONE
        return stopped or self.proc.poll() is not None

    def request(self, payload: dict[str, Any], seconds: float) -> ChartResult:
        if self.shared is None:
            return self._exchange(payload, seconds)
        with self.shared.lock:
            if self.shared.state.value == _GONE:
                raise _Gone
            try:
                return self._exchange(payload, seconds)
            except _Failed:
                self.shared.state.value = _GONE  # this chart stopped it: no one else writes
                raise

    def _ready(self) -> bool:
        return self.ready or (self.shared is not None and self.shared.state.value == _READY)

    def _exchange(self, payload: dict[str, Any], seconds: float) -> ChartResult:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        if not self._ready():  # the limit is for rendering, not for starting up (a busy CI box)
            if self._read_line(max(seconds, STARTUP_SECONDS)) != b"ready":
                raise _Failed("the Helm renderer did not start")
            self.ready = True
            if self.shared is not None:
                self.shared.state.value = _READY
        try:
            self.proc.stdin.write(request_line(payload["root"], payload["jobs"]))
            self.proc.stdin.flush()
        except OSError:
            raise _Failed(self._died()) from None
        line = self._read_line(seconds)
        try:
            data = json.loads(line)
            loaded = data["dependencies"]  # Helm's own list: {"name": ...} each
            names = tuple(str(dependency["name"]) for dependency in loaded)
        except (ValueError, KeyError, TypeError):
            raise _Failed("the Helm renderer answered garbage") from None
        return ChartResult(
            data["load_error"],
            names,
            tuple(Rendering(r["manifests"], r["error"]) for r in data["renderings"]),
        )

    def _read_line(self, seconds: float) -> bytes:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + seconds
        chunks = [self.buffer]
        # A selector (poll or epoll), not select(): a process holding many files gets
        # descriptors past select()'s 1024 ("filedescriptor out of range").
        with selectors.DefaultSelector() as ready:
            ready.register(fd, selectors.EVENT_READ)
            while b"\n" not in chunks[-1]:
                left = deadline - time.monotonic()
                if left <= 0 or not ready.select(left):
                    self.buffer = b"".join(chunks)
                    raise _Failed(
                        f"render exceeded {seconds:g} s (renderTimeoutSeconds); not checked"
                    )
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    self.buffer = b"".join(chunks)
                    raise _Failed(self._died())
                chunks.append(chunk)
        line, _, self.buffer = b"".join(chunks).partition(b"\n")
        return line

    def _died(self) -> str:
        if self.owner == os.getpid():
            self.proc.wait()
        self.stderr.seek(0)
        text = self.stderr.read().decode("utf-8", "replace")
        if any(marker in text.lower() for marker in _OUT_OF_MEMORY):
            return f"render exceeded the memory limit ({self.memory_mib} MiB, renderMemoryMiB)"
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        fatal = [line for line in lines if line.startswith(("fatal error:", "panic:"))]
        detail = (fatal or lines[-1:] or [""])[0][:300]
        # A shared child's exit status is for its owner's wait() alone.
        code = self.proc.returncode if self.owner == os.getpid() else "unknown"
        return f"the Helm renderer stopped (exit {code}): {detail}".strip()

    def stop(self) -> None:
        if _Worker.current is self:
            _Worker.current = None
        if self.owner == os.getpid():
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
        elif self.shared is not None and self.shared.state.value == _GONE:
            # The owner's child, stopped by this process's chart (a limit): killed here, waited
            # for by the owner (it cannot exit and be reaped before then: no pid is reused).
            with contextlib.suppress(OSError):
                os.kill(self.proc.pid, signal.SIGKILL)
        for stream in (self.proc.stdin, self.proc.stdout, self.stderr):
            if stream is not None:
                stream.close()


@contextlib.contextmanager
def borrowed() -> Iterator[None]:
    """Renders outside chart rendering (an ApplicationSet's Go templates): a renderer this
    block starts is stopped at its end, so a scan that renders no chart does not keep the
    child (about 57 MB) alive for the rest of the run; one already running is left so."""
    before = _Worker.current
    try:
        yield
    finally:
        worker = _Worker.current
        if (
            worker is not None
            and worker is not before
            and worker.owner == os.getpid()
            and worker.shared is None
        ):
            worker.stop()


@atexit.register
def _stop_worker() -> None:
    worker = _Worker.current
    if worker is not None and worker.owner == os.getpid():
        worker.stop()


_STOPPED_AT_EXIT: set[int] = set()


def _stop_at_exit() -> None:
    """Also when this process is a multiprocessing worker, which ends without atexit: the
    renderer is stopped and waited for, never left to init (its CPU would go uncounted)."""
    if os.getpid() not in _STOPPED_AT_EXIT:
        _STOPPED_AT_EXIT.add(os.getpid())
        from multiprocessing import util

        util.Finalize(None, _stop_worker, exitpriority=10)
