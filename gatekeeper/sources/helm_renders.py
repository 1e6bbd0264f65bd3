"""Helm's renderings of a chart kept between pre-commit runs (`scan --hook` only).

A hook on a chart's file renders the chart whole, each rendering it needs (the defaults, the
clusters its templates tell apart, an upgrade): most of the hook's CPU is the Helm child's,
and a commit retried, `pre-commit run --all-files` or a second hook on the same chart asks
for the same renderings again. What Helm renders is a function of the chart's copy it is
given (every file, as written to the folder it loads), of the jobs (values, release
options), of the limits, and of the code (the installed Helm library: helm_python's RECORD,
every file's sha256; helm_child.py, helm_engine.py, this module): kept under a digest of all
of them (gatekeeper.cache.Entries), so an edit anywhere is a miss, never a stale rendering.

A chart whose templates or values read the clock, chance or the network (`now`, `randInt`,
`genCA`, `getHostByName`...: each rendering differs, or differs next year) is never kept;
neither is a rendering that hit a limit or crashed the renderer, nor one over MAX_BYTES.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatekeeper.cache import Entries, installed

if TYPE_CHECKING:  # imported when a chart is rendered: the hook turns keeping on before
    from gatekeeper.sources import helm_engine

_NAME = "helm-renders-v1"
_STAMPS = "helm-chart-stamps-v1"
_VERDICTS = "helm-template-calls-v1"
MAX_BYTES = 4 * 2**20  # a bigger answer is rendered again (the cache stays small)
_PER_SHARD = 2  # at most 512 renderings kept, the oldest dropped first

# A Go template action as text/template reads it: up to the `}}` outside its string, raw
# string, character and comment literals (a raw string holds a whole Grafana dashboard, whose
# `"from":"now-1h"` calls nothing). The literals themselves, taken out before looking for calls.
_LITERAL = rb"`[^`]*`|\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'|/\*.*?\*/"
_ACTION = re.compile(
    rb"\{\{(?:" + _LITERAL + rb"|[^`\"'}/]++|/(?!\*)|\}(?!\}))*+\}\}", re.DOTALL
)  # (possessive: an action that never ends is given up on in one pass, never backtracked)
_LITERALS = re.compile(_LITERAL, re.DOTALL)
# A call of a function whose result is not the same at every rendering: the clock, chance,
# a key or certificate made, a salted hash, a DNS lookup.
_UNREPEATABLE = re.compile(
    rb"(?<![\w.$-])(now|ago|rand[A-Za-z]*|shuffle|uuidv4|gen(?:CA|PrivateKey|Signed|SelfSigned)\w*|htpasswd"
    rb"|bcrypt|encryptAES|getHostByName)(?![\w-])"
)
_TPL = re.compile(rb"(?<![\w.$-])tpl(?![\w-])")
# What each match of those holds (Sprig's gen* functions: genCA, genCAWithKey, genPrivateKey,
# genSelfSignedCert(WithKey), genSignedCert(WithKey)): a file without any is not read.
_WORDS = {
    _UNREPEATABLE: (
        b"now", b"ago", b"rand", b"shuffle", b"uuidv4", b"genCA", b"genPrivateKey",
        b"genSelfSigned", b"genSigned", b"htpasswd", b"bcrypt", b"encryptAES", b"getHostByName",
    ),
    _TPL: (b"tpl",),
}  # fmt: skip

_keeping = False


def keep() -> None:
    """Keep renderings in this process from now on (the hook)."""
    global _keeping
    _keeping = True


def keeping() -> bool:
    """Whether this process keeps renderings: a hook's (helm_engine gives its renderer more
    room for its Go heap)."""
    return _keeping


def unchanged(folder: str) -> bool:
    """Whether the files below `folder` (names, sizes, modification times) are as the last
    hook on it found them: then its renderings are likely kept, and the renderer is not
    started ahead of need (helm_deployers.prestart); a guess only, what is rendered never
    depends on it. Remembers what it found for the next run."""
    stamp = hashlib.sha256()
    for place, directories, files in os.walk(folder):
        directories.sort()
        for name in sorted(files):
            path = os.path.join(place, name)
            try:
                info = os.lstat(path)
            except OSError:
                continue
            stamp.update(f"{path}\0{info.st_size}\0{info.st_mtime_ns}\0".encode(errors="replace"))
    where = hashlib.sha256(os.path.abspath(folder).encode(errors="replace")).hexdigest()
    entries = Entries(_STAMPS, 1)
    found, now = entries.get_bytes(where), stamp.hexdigest().encode()
    if found != now:
        entries.put_bytes(where, now)
    return found == now


def render(
    root: str, jobs: list[dict[str, Any]], limit: helm_engine.Limits
) -> helm_engine.ChartResult:
    """helm_engine.render, answered from the renderings kept when asked before."""
    from gatekeeper.sources import helm_engine

    found = _key(root, jobs, limit) if _keeping else None
    key = None
    if found is not None:
        key, files, request = found
        kept = _decoded(Entries(_NAME, _PER_SHARD).get_bytes(key))
        if kept is not None:  # kept only when it passed _changing: not read again
            return kept
        if _changing(files, request, root):
            key = None
    result = helm_engine.render(root, jobs, limit)
    if key is not None and not result.failed:
        payload = _encoded(result)
        if len(payload) <= MAX_BYTES:
            Entries(_NAME, _PER_SHARD).put_bytes(key, payload)
    return result


@functools.cache
def _code_digest() -> str | None:
    """The installed Helm library (its RECORD) and our code that runs and reads it; None
    when the library's RECORD cannot be found: nothing is kept then."""
    from gatekeeper.sources import helm_child, helm_engine

    record = installed("helm_python", "helm_python_sdk")
    if record is None:
        return None
    digest = hashlib.sha256(record)
    for module in (helm_child, helm_engine):
        digest.update(b"\0" + Path(str(module.__file__)).read_bytes())
    digest.update(b"\0" + Path(__file__).read_bytes())
    return digest.hexdigest()


def _key(
    root: str, jobs: list[dict[str, Any]], limit: helm_engine.Limits
) -> tuple[str, list[tuple[str, bytes]], bytes] | None:
    """A digest of everything the rendering depends on, with the files and the request it
    was taken of; None when it is not to be kept (a file that is not a regular one)."""
    code = _code_digest()
    if code is None:
        return None
    digest = hashlib.sha256(code.encode())
    request = {
        "jobs": jobs,
        "seconds": limit.seconds,
        "memory": limit.memory_mib,
        "library": os.environ.get("HELM_C_LIB", ""),  # another libhelm_c than the wheel's
    }
    try:
        text = json.dumps(request, sort_keys=True).encode()
    except (TypeError, ValueError, RecursionError):
        return None
    digest.update(b"\0" + text)
    files = _files(root)
    if files is None:
        return None
    for relative, content in files:
        name = relative.encode("utf-8", "surrogateescape")
        digest.update(b"\0%d\0%s\0%d\0" % (len(name), name, len(content)))
        digest.update(content)
    return digest.hexdigest(), files, text


def _files(root: str) -> list[tuple[str, bytes]] | None:
    """Every file below `root` (its path there, its content) in a fixed order; None when one
    is not a regular file (a link: what it reads is not all here)."""
    found = []
    for folder, directories, names in os.walk(root):
        directories.sort()
        if any(os.path.islink(os.path.join(folder, name)) for name in directories):
            return None
        for name in sorted(names):
            path = os.path.join(folder, name)
            try:
                if os.path.islink(path) or not os.path.isfile(path):
                    return None
                with open(path, "rb") as handle:
                    found.append((os.path.relpath(path, root), handle.read()))
            except OSError:
                return None
    return found


def _changing(files: list[tuple[str, bytes]], request: bytes, root: str) -> bool:
    """Whether the rendering may change with nothing here changed: a template action calls
    the clock, chance or the network (or may: a packaged subchart, not unpacked here).
    Other files and values are templates only for `tpl`: read too when a template calls it
    (the chart's text files, but those its .helmignore surely leaves out, which Helm never
    loads; the values of the jobs)."""
    from gatekeeper.sources.helm_lookup import is_template

    if any(name.endswith((".tgz", ".tar.gz")) for name, _ in files):
        return True  # a packaged subchart: its templates are not read here
    unrepeatable, tpl = _template_calls(
        [(name, content) for name, content in files if is_template(name)]
    )
    if unrepeatable:
        return True
    if not tpl:
        return False
    left_out = _left_out(root)
    for name, content in files:
        if is_template(name) or name.split(os.sep, 1)[0] in left_out:
            continue
        try:
            content.decode("utf-8")
        except UnicodeDecodeError:  # an archive, an image: text that `tpl` renders it is not
            continue
        if _calls(content, _UNREPEATABLE):
            return True
    return _calls(request, _UNREPEATABLE)


def _template_calls(templates: list[tuple[str, bytes]]) -> tuple[bool, bool]:
    """Whether an action of the `templates` (name, content) may call the clock, chance or the
    network, and whether one may call `tpl`: kept under a digest of them and of the code. A
    hook on an edited values file (a miss: the values are in the key) read them all again
    for the same answer (kube-prometheus-stack's 187 templates, 1.4 MB: 11 ms of its CPU)."""
    digest = hashlib.sha256(f"{_code_digest()}".encode())
    for name, content in templates:
        encoded = name.encode("utf-8", "surrogateescape")
        digest.update(b"\0%d\0%s\0%d\0" % (len(encoded), encoded, len(content)))
        digest.update(content)
    key = digest.hexdigest()
    entries = Entries(_VERDICTS, 1)
    kept = entries.get_bytes(key)
    if kept is not None and len(kept) == 2 and set(kept) <= set(b"01"):
        return kept[0] == ord("1"), kept[1] == ord("1")
    contents = [content for _, content in templates]
    unrepeatable = any(_calls(content, _UNREPEATABLE) for content in contents)
    tpl = not unrepeatable and any(_calls(content, _TPL) for content in contents)
    entries.put_bytes(key, b"%d%d" % (unrepeatable, tpl))
    return unrepeatable, tpl


def _left_out(root: str) -> frozenset[str]:
    """The top-level folders the chart's .helmignore names plainly (`hack/`): Helm never
    loads them. Nothing when a line negates (`!`): only what is surely left out."""
    try:
        with open(os.path.join(root, ".helmignore"), encoding="utf-8") as handle:
            lines = [line.strip() for line in handle if line.strip()[:1] not in ("", "#")]
    except (OSError, UnicodeDecodeError):
        return frozenset()
    if any(line.startswith("!") for line in lines):
        return frozenset()
    return frozenset(
        line[:-1] for line in lines if line.endswith("/") and _PLAIN.fullmatch(line[:-1])
    )


_PLAIN = re.compile(r"[\w.-]+")


def _calls(content: bytes, function: re.Pattern[bytes]) -> bool:
    """Whether a template action of `content` may call `function`; True too where an action
    cannot be read to its end (Helm fails on it, but nothing is guessed)."""
    if b"{{" not in content or not any(word in content for word in _WORDS[function]):
        return False  # (most files: no action read)
    start = content.find(b"{{")
    while start != -1:
        action = _ACTION.match(content, start)
        if action is None or function.search(_LITERALS.sub(b" ", action.group())):
            return True
        start = content.find(b"{{", action.end())
    return False


def _encoded(result: helm_engine.ChartResult) -> bytes:
    value = {
        "load_error": result.load_error,
        "dependencies": list(result.dependencies),
        "renderings": [[r.manifests, r.error] for r in result.renderings],
    }
    return json.dumps(value, separators=(",", ":")).encode()


def _decoded(payload: bytes | None) -> helm_engine.ChartResult | None:
    """A kept answer, checked for shape: anything else is a miss."""
    from gatekeeper.sources import helm_engine

    if payload is None:
        return None
    try:
        value = json.loads(payload)
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, dict) or set(value) != {"load_error", "dependencies", "renderings"}:
        return None
    load_error, dependencies, renderings = (
        value["load_error"],
        value["dependencies"],
        value["renderings"],
    )
    if not (
        isinstance(load_error, str)
        and isinstance(dependencies, list)
        and all(isinstance(name, str) for name in dependencies)
        and isinstance(renderings, list)
    ):
        return None
    out = []
    for rendering in renderings:
        if not (isinstance(rendering, list) and len(rendering) == 2):
            return None
        manifests, error = rendering
        if not isinstance(error, str):
            return None
        if manifests is not None and not (
            isinstance(manifests, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in manifests.items())
        ):
            return None
        out.append(helm_engine.Rendering(manifests, error))
    return helm_engine.ChartResult(load_error, tuple(dependencies), tuple(out))
