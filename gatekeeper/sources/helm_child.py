"""The Helm renderer's child process: this file runs as a script (`python -I -S helm_child.py
--serve MEMORY_MIB HELM_PYTHON_FOLDER [lean]`, see helm_engine), caps its address space, loads
libhelm_c (Helm's Go SDK behind a C ABI, in the helm_python wheel) and answers one JSON line
per request line. It imports the standard library alone, and only what a render needs: its
start-up (an interpreter, the library, the Go runtime) is paid by every hook run on a chart.
Not even `json` (with `re`, `enum` and `collections`, a fifth of that start-up): a request
is the JSON texts helm_engine.request_line writes, passed to Helm as they are, and the
answer is Helm's JSON with a few strings around it (_quoted).
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # (typing and collections.abc: imported by type checkers alone)
    from collections.abc import Callable
    from typing import Any

# Rendered output beyond this is refused (a blocking finding): every object becomes a
# document with its nodes in the parent (20,000 Pods, 6 MiB of YAML: about 300 MB).
MAX_OUTPUT_BYTES = 16 * 2**20


def render_here(
    helm: Library, root: str, jobs: list[tuple[bytes, bytes]], write: Callable[[bytes], Any]
) -> None:
    """Render in this process (only the child does this) once per job (its values and its
    options, JSON texts): the answer, one line of JSON in UTF-8 without its line break,
    passed to `write` a piece at a time, each rendering as soon as it is done (a chart of
    CRDs writes megabytes: one string of the whole answer, built and then encoded, was
    several copies of it at once). Helm's rendering and its chart's dependencies are passed
    on as the bytes the library gave, never decoded and encoded again."""
    try:
        chart = helm.load(root)
    except HelmFailed as error:
        write(b'{"load_error": %s, "dependencies": [], "renderings": []}' % _quoted(str(error)))
        return
    try:
        # Helm's JSON list of the subcharts it loaded ({"name": ...} each: helm_engine reads
        # it); a line break between its tokens would end the answer's line: a space is one.
        loaded = helm.call_bytes("helm_chart_dependencies", chart).replace(b"\n", b" ")
        write(b'{"load_error": "", "dependencies": %s, "renderings": [' % (loaded or b"[]"))
        for index, (values, options) in enumerate(jobs):
            try:
                payload = helm.call_bytes("helm_render", chart, values, options)
                pieces = _bounded(payload)
            except HelmFailed as error:
                pieces = (b'{"manifests": null, "error": %s}' % _quoted(str(error)),)
            payload = b""
            write(b", " if index else b"")
            for piece in pieces:
                write(piece)
        write(b"]}")
    finally:
        helm.free(chart)


def _quoted(text: str) -> bytes:
    """`text` as a JSON string (ASCII, as json.dumps writes it)."""
    try:
        from _json import encode_basestring_ascii
    except ImportError:  # (an interpreter without the C accelerator)
        from json import dumps as encode_basestring_ascii
    return str(encode_basestring_ascii(text)).encode("ascii")


def read_request(line: bytes) -> tuple[str, list[tuple[bytes, bytes]]]:
    """The chart's folder and the jobs of a request line (helm_engine.request_line)."""
    fields = line.rstrip(b"\n").split(b"\t")
    text = fields[0].decode("ascii")
    try:
        from _json import scanstring

        root, end = scanstring(text, 1)
    except ImportError:
        from json import loads

        root, end = loads(text), len(text)
    if not (text.startswith('"') and end == len(text) and len(fields) % 2):
        raise ValueError("not a request line")
    return root, list(zip(fields[1::2], fields[2::2], strict=True))


class HelmFailed(Exception):
    """A libhelm_c call failed; the message is the library's (as helm_python says it)."""


class Library:
    """The calls of libhelm_c (Helm's Go SDK behind a C ABI, in the helm_python wheel) that a
    render makes, declared here as helm_python 0.2 declares them: its own binding imports
    its whole API (registries, releases, logging) and checked every declaration, a third of
    this child's start-up. A wheel of another ABI is used through helm_python itself."""

    ABI = "0.2."

    def __init__(self, lib: Any) -> None:
        import ctypes

        self.ctypes = ctypes
        self.lib = lib

    @classmethod
    def open(cls, sdk: str) -> Library:
        """The library helm_python would load (HELM_C_LIB unset, Linux), when its version is
        of this ABI; else through helm_python (its lookup, its checks)."""
        import ctypes

        expected = _expected_version(sdk) if sdk else ""
        path = os.path.join(sdk, "lib", f"libhelm_c.so.{expected}")
        if (
            not expected.startswith(cls.ABI)
            or os.environ.get("HELM_C_LIB")
            or not sys.platform.startswith("linux")
            or not os.path.isfile(path)
        ):
            if sdk:  # else started with site: helm_python is on sys.path
                sys.path.append(os.path.dirname(sdk))
            from helm_python import _native

            return cls(_native.lib)
        lib = ctypes.CDLL(path)
        pointer, handle = ctypes.POINTER(ctypes.c_void_p), ctypes.c_uint64
        text, status = ctypes.c_char_p, ctypes.c_int32
        for name, restype, argtypes in (
            ("helm_c_version", ctypes.c_void_p, []),
            ("helm_free_string", None, [ctypes.c_void_p]),
            ("helm_chart_load", status, [text, ctypes.POINTER(handle), pointer]),
            ("helm_chart_dependencies", status, [handle, pointer, pointer]),
            ("helm_render", status, [handle, text, text, pointer, pointer]),
            ("helm_chart_free", status, [handle, pointer]),
        ):
            function = getattr(lib, name)
            function.restype, function.argtypes = restype, argtypes
        library = cls(lib)
        version = library._take(lib.helm_c_version()) or ""
        if not version.startswith(cls.ABI):
            raise SystemExit(f"libhelm_c {version} at {path} is not of ABI {cls.ABI}x")
        return library

    def _take(self, address: int | None) -> str | None:
        """A string the library allocated, copied and freed."""
        taken = self._take_bytes(address)
        return None if taken is None else taken.decode("utf-8")

    def _take_bytes(self, address: int | None) -> bytes | None:
        """A string the library allocated, copied (its UTF-8) and freed."""
        if not address:
            return None
        try:
            return bytes(self.ctypes.string_at(address))
        finally:
            self.lib.helm_free_string(self.ctypes.c_void_p(address))

    def _outcome(self, code: int, error: Any) -> None:
        detail = self._take(error.value)
        if code != 0:
            raise HelmFailed(detail or f"helm-c call failed with code {code}")

    def load(self, root: str) -> int:
        handle, error = self.ctypes.c_uint64(), self.ctypes.c_void_p()
        code = self.lib.helm_chart_load(
            root.encode("utf-8"), self.ctypes.byref(handle), self.ctypes.byref(error)
        )
        self._outcome(code, error)
        return int(handle.value)

    def call_bytes(self, name: str, chart: int, *texts: bytes) -> bytes:
        """A call on a loaded chart (its other arguments UTF-8 texts) that answers one
        string, as its UTF-8."""
        out, error = self.ctypes.c_void_p(), self.ctypes.c_void_p()
        code = getattr(self.lib, name)(
            self.ctypes.c_uint64(chart),
            *texts,
            self.ctypes.byref(out),
            self.ctypes.byref(error),
        )
        answer = self._take_bytes(out.value)  # freed whatever the outcome
        self._outcome(code, error)
        return answer or b""

    def free(self, chart: int) -> None:
        error = self.ctypes.c_void_p()
        self.lib.helm_chart_free(self.ctypes.c_uint64(chart), self.ctypes.byref(error))
        self._take(error.value)


def _expected_version(sdk: str) -> str:
    """The libhelm_c version helm_python in `sdk` is built against (read, not imported): its
    line `EXPECTED_HELM_C_VERSION[: str] = "0.2.2"`."""
    try:
        with open(os.path.join(sdk, "_native.py"), encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return ""
    name = "EXPECTED_HELM_C_VERSION"
    for line in lines:
        left, equals, right = line.partition("=")
        after = left[len(name) : len(name) + 1]
        if not (equals and left.startswith(name)) or after.isalnum() or after == "_":
            continue
        quoted = right.strip()
        if quoted.startswith('"') and quoted.find('"', 1) > 1:
            return quoted[1 : quoted.find('"', 1)]
    return ""


def _bounded(payload: bytes) -> tuple[bytes, ...]:
    """Helm's JSON of one rendering (template name -> text) as a Rendering in JSON, in pieces
    to write one after the other. Within the output limit it is passed on as Helm wrote it:
    it is most of the answer, and decoding and encoding it again (or copying it into a
    bigger string) doubled the child's work and memory. Over the limit it is an error, never
    passed on or silently cut."""
    # A JSON text is at least as long as the strings it holds (in characters, and its UTF-8
    # in bytes is no shorter), and Helm's has no line breaks (they are escaped): one that is
    # short enough needs no counting.
    if len(payload) <= MAX_OUTPUT_BYTES and b"\n" not in payload:
        return b'{"manifests": ', payload, b', "error": ""}'
    import json

    manifests = json.loads(payload)
    size = sum(len(text) for text in manifests.values())
    if size > MAX_OUTPUT_BYTES:
        message = (
            f"rendered output is {size} bytes, over the {MAX_OUTPUT_BYTES // 2**20} MiB limit;"
            " not checked"
        )
        return (b'{"manifests": null, "error": %s}' % _quoted(message),)
    return (json.dumps({"manifests": manifests, "error": ""}).encode(),)


def serve(memory_mib: int, sdk: str, lean: bool = False) -> int:
    """The child: cap the address space, then answer one JSON line per request line. `lean`:
    a scan's renderer, which lives beside its parent's peak (see drop_loading_pages)."""
    import resource

    limit = memory_mib * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    helm = Library.open(sdk)  # the library loaded before the clock starts
    if lean:
        drop_loading_pages("libhelm_c")

    out = sys.stdout.buffer
    out.write(b"ready\n")
    out.flush()
    for line in sys.stdin.buffer:
        root, jobs = read_request(line)
        try:
            render_here(helm, root, jobs, out.write)
        except MemoryError:  # a line begun is never ended: the parent sees the child end
            sys.stderr.write("MemoryError\n")
            return 1
        out.write(b"\n")
        out.flush()
    return 0


# madvise(2) advice: the pages are dropped; a clean file page is read again from the page
# cache at its next use (as after the kernel reclaimed it).
_MADV_DONTNEED = 4
# What makes a mapping's resident pages other than clean copies of its file (smaps fields).
_CHANGED = ("Private_Dirty:", "Shared_Dirty:", "Anonymous:")


def drop_loading_pages(library: str) -> None:
    """Hand back the pages of `library` (a file name part) that loading it touched: its
    relocation table, the code and data of the Go runtime's start-up and of every package's
    init (Helm's, Kubernetes' client, JSON schema), 25 to 35 MB of the child's 90 at a scan's
    peak, most never read again. Only a mapping that cannot be written and holds no changed
    page (relocated data, copies on write) is dropped: its pages are clean copies of the file,
    which the kernel may drop itself at any time; those a render reads come back then, at a
    minor fault each. Linux only, and only advice: nothing here can fail a render."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        with open("/proc/self/smaps", encoding="utf-8") as smaps:
            mappings = _clean_mappings(smaps, library)
        libc = ctypes.CDLL(None, use_errno=True)
        madvise = libc.madvise
    except (OSError, AttributeError, ValueError):
        return
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    madvise.restype = ctypes.c_int
    for start, end in mappings:
        madvise(start, end - start, _MADV_DONTNEED)


def _clean_mappings(smaps: Any, library: str) -> list[tuple[int, int]]:
    """The address ranges of `library`'s mappings that are not writable and hold only clean
    file pages, read from /proc/self/smaps (a header line per mapping, then its fields)."""
    found: list[list[int]] = []  # [start, end, kB of changed pages]
    current: list[int] | None = None
    for line in smaps:
        parts = line.split()
        if len(parts) >= 5 and ":" not in parts[0]:  # `start-end perms offset dev inode path`
            current = None
            if len(parts) >= 6 and library in parts[5] and "w" not in parts[1]:
                start, _, end = parts[0].partition("-")
                current = [int(start, 16), int(end, 16), 0]
                found.append(current)
        elif current is not None and parts and parts[0] in _CHANGED:
            current[2] += int(parts[1])
    return [(start, end) for start, end, changed in found if changed == 0]


if __name__ == "__main__":
    if len(sys.argv) in (4, 5) and sys.argv[1] == "--serve":
        lean = sys.argv[4:] == ["lean"]
        raise SystemExit(serve(int(sys.argv[2]), sys.argv[3], lean))
    raise SystemExit(
        "usage: python -I -S helm_child.py --serve MEMORY_MIB HELM_PYTHON_FOLDER [lean]"
    )
