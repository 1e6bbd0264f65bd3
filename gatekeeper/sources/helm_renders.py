"""Helm's renderings of a chart kept between pre-commit runs (`scan --hook` only).

A hook on a chart's file renders the chart whole, each rendering it needs (the defaults, the
clusters its templates tell apart, an upgrade): most of the hook's CPU is the Helm child's,
and a commit retried, `pre-commit run --all-files` or a second hook on the same chart asks
for the same renderings again. What Helm renders is a function of the chart's copy it is
given (every file, as written to the folder it loads), of the jobs (values, release
options), of the limits, and of the code (the installed Helm library: helm_python's RECORD,
every file's sha256; helm_child.py, helm_engine.py, this module): kept under a digest of all
of them (gatekeeper.cache.Entries), so an edit anywhere is a miss, never a stale rendering.
A chart's values.yaml is the one file taken as what it says rather than its bytes (its YAML
events: see values_form): Helm only parses it, so an edited comment renders nothing again.

A chart whose templates or values read the clock, chance or the network (`now`, `randInt`,
`genCA`, `getHostByName`...: each rendering differs, or differs next year) is never kept;
neither is a rendering that hit a limit or crashed the renderer, nor one over MAX_BYTES.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import re
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatekeeper import lazy_re
from gatekeeper.cache import Entries, installed

if TYPE_CHECKING:  # imported when a chart is rendered: the hook turns keeping on before
    from gatekeeper.sources import helm_engine
    from gatekeeper.sources.helm_copy import ChartCopy

_NAME = "helm-renders-v2"  # (v2: the texts after a JSON head, _encoded)
_STAMPS = "helm-chart-stamps-v2"
_VERDICTS = "helm-template-calls-v1"
MAX_BYTES = 4 * 2**20  # a bigger answer is rendered again (the cache stays small)
_PER_SHARD = 2  # at most 512 renderings kept, the oldest dropped first

# A Go template action as text/template reads it: up to the `}}` outside its string, raw
# string, character and comment literals (a raw string holds a whole Grafana dashboard, whose
# `"from":"now-1h"` calls nothing). The literals themselves, taken out before looking for calls.
_LITERAL = rb"`[^`]*`|\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'|/\*.*?\*/"
_ACTION = lazy_re.compile(
    rb"\{\{(?:" + _LITERAL + rb"|[^`\"'}/]++|/(?!\*)|\}(?!\}))*+\}\}", re.DOTALL
)  # (possessive: an action that never ends is given up on in one pass, never backtracked)
_LITERALS = lazy_re.compile(_LITERAL, re.DOTALL)
# A call of a function whose result is not the same at every rendering: the clock, chance,
# a key or certificate made, a salted hash, a DNS lookup.
_UNREPEATABLE = lazy_re.compile(
    rb"(?<![\w.$-])(now|ago|rand[A-Za-z]*|shuffle|uuidv4|gen(?:CA|PrivateKey|Signed|SelfSigned)\w*|htpasswd"
    rb"|bcrypt|encryptAES|getHostByName)(?![\w-])"
)
_TPL = lazy_re.compile(rb"(?<![\w.$-])tpl(?![\w-])")
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
    """Whether the files below `folder` (names, sizes, modification times; a values.yaml's
    YAML events, see values_form) are as the last hook on it found them: then its renderings
    are likely kept, and the renderer is not started ahead of need (helm_deployers.prestart);
    a guess only, what is rendered never depends on it. Remembers what it found for the next
    run, a values file's events with its size and time (read again only when they moved)."""
    where = hashlib.sha256(os.path.abspath(folder).encode(errors="replace")).hexdigest()
    entries = Entries(_STAMPS, 1)
    found = _stamp(entries.get_bytes(where))
    before: dict[str, list[Any]] = found.get("values", {})
    stamp = hashlib.sha256()
    values: dict[str, list[Any]] = {}
    for place, directories, files in os.walk(folder):
        directories.sort()
        for name in sorted(files):
            path = os.path.join(place, name)
            try:
                info = os.lstat(path)
            except OSError:
                continue
            relative = os.path.relpath(path, folder)
            # A regular file only: a link is not followed (it may point outside the checkout).
            if _VALUES_FILE.fullmatch(relative) and stat.S_ISREG(info.st_mode):
                seen = [info.st_size, info.st_mtime_ns]
                last = before.get(relative)
                if last is not None and last[:2] == seen:
                    values[relative] = last
                    continue
                form = _form_of(path)
                if form is not None:
                    values[relative] = [*seen, form]
                    continue
            stamp.update(f"{path}\0{info.st_size}\0{info.st_mtime_ns}\0".encode(errors="replace"))
    now = {"files": stamp.hexdigest(), "values": values}
    if now != found:
        entries.put_bytes(where, json.dumps(now, sort_keys=True).encode())
    same = {name: value[2] for name, value in values.items()}
    return found.get("files") == now["files"] and same == {
        name: value[2] for name, value in before.items()
    }


def _stamp(payload: bytes | None) -> dict[str, Any]:
    """A kept stamp (see unchanged), checked for shape: anything else is none."""
    try:
        value = json.loads(payload or b"{}")
    except (ValueError, RecursionError):
        return {}
    if not (isinstance(value, dict) and isinstance(value.get("files"), str)):
        return {}
    kept = value.get("values")
    if not isinstance(kept, dict) or not all(
        isinstance(v, list) and len(v) == 3 and isinstance(v[2], str) for v in kept.values()
    ):
        return {}
    return value


def _form_of(path: str) -> str | None:
    """values_form of the file at `path`, as text; None when it cannot be read."""
    try:
        with open(path, "rb") as handle:
            form = values_form(handle.read())
    except OSError:
        return None
    return None if form is None else form.decode()


def render(
    root: str,
    jobs: list[dict[str, Any]],
    limit: helm_engine.Limits,
    copy: ChartCopy | None = None,
) -> helm_engine.ChartResult:
    """helm_engine.render, answered from the renderings kept when asked before. With
    `copy`, the chart Helm is to load at `root` (its contents in memory): written there only
    when it is rendered; else the chart is the folder `root` as it is."""
    from gatekeeper.sources import helm_engine

    found = _key(root, jobs, limit, copy) if _keeping else None
    keys = None
    if found is not None:
        keys, files, request = found
        for key in keys:
            kept = _decoded(Entries(_NAME, _PER_SHARD).get_bytes(key))
            if kept is not None:  # kept only when it passed _changing: not read again
                return kept
        if _changing(files, request, root, copy):
            keys = None
    if copy is not None:
        copy.write()
    result = helm_engine.render(root, jobs, limit)
    if keys is not None and not result.failed:
        payload = _encoded(result)
        if len(payload) <= MAX_BYTES:
            # A chart Helm could not load may have failed on a values file (its message
            # gives a line, which a comment moves): kept under its bytes, not its events.
            key = keys[1] if result.load_error else keys[0]
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
    root: str,
    jobs: list[dict[str, Any]],
    limit: helm_engine.Limits,
    copy: ChartCopy | None = None,
) -> tuple[tuple[str, str], list[tuple[str, bytes]], bytes] | None:
    """Digests of everything the rendering depends on, with the files and the request they
    were taken of; None when it is not to be kept (a file that is not a regular one). The
    first digest takes each chart's values.yaml by its YAML events (values_form), the second
    by its bytes (every file so). The files are the `copy`'s when given (and its folders:
    an empty one is loaded too), else those below `root`."""
    code = _code_digest()
    if code is None:
        return None
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
    files = _files(root) if copy is None else sorted(copy.files.items())
    if files is None:
        return None
    by_events = hashlib.sha256(b"events\0" + code.encode())
    by_bytes = hashlib.sha256(code.encode())
    for digest in (by_events, by_bytes):
        digest.update(b"\0" + text)
        if copy is not None:
            folders = "\0".join(sorted(copy.folders)).encode("utf-8", "surrogateescape")
            digest.update(b"\0folders\0%d\0%s" % (len(folders), folders))
    for relative, content in files:
        name = relative.encode("utf-8", "surrogateescape")
        # Each file's bytes hashed once, their digest taken by both (6.6 MB of
        # kube-prometheus-stack and its sibling charts: a pass each was 3.5 ms).
        head = b"\0%d\0%s\0%d\0%s" % (
            len(name),
            name,
            len(content),
            hashlib.sha256(content).digest(),
        )
        by_bytes.update(head)
        form = values_form(content) if _VALUES_FILE.fullmatch(relative) else None
        if form is None:
            by_events.update(head)
        else:
            by_events.update(b"\0%d\0%s\0events\0%s" % (len(name), name, form))
    return (by_events.hexdigest(), by_bytes.hexdigest()), files, text


# A chart's values file in the folder Helm loads: its own, or a vendored subchart's (and
# theirs). Helm only parses it into .Values: it is not in `.Files` (nor is Chart.yaml).
_VALUES_FILE = lazy_re.compile(r"(?:charts/[^/]+/)*values\.yaml")


def values_form(content: bytes) -> bytes | None:
    """A digest of a values file's YAML events (each scalar's text, style, tag and anchor,
    each collection's start and style, in order; no comment, no place): texts with the same
    events are the same values to any YAML parser, Helm's included, whatever their comments
    and spacing say. None when libyaml cannot read it (then its bytes count). Kept under a
    digest of the content and of the code (a hook on an unchanged chart reads its copy's
    values.yaml again: kube-prometheus-stack's 208 KB are 5-10 ms of events), and
    remembered for the run (asked of the chart's file, then of its copy)."""
    seen = hashlib.sha256(f"{_code_digest()}\0".encode() + content).hexdigest()
    if seen not in _FORMS:
        entries = Entries(_FORMS_KEPT, 4)
        kept = entries.get_bytes(seen)
        if kept is not None and (kept == b"-" or re.fullmatch(rb"[0-9a-f]{64}", kept)):
            _FORMS[seen] = None if kept == b"-" else kept
        else:
            _FORMS[seen] = _events_digest(content)
            entries.put_bytes(seen, _FORMS[seen] or b"-")
    return _FORMS[seen]


_FORMS: dict[str, bytes | None] = {}
_FORMS_KEPT = "helm-values-forms-v1"


def _events_digest(content: bytes) -> bytes | None:
    import yaml
    from yaml import events

    loader = getattr(yaml, "CSafeLoader", None)
    if loader is None:  # the pure parser would cost more than it saves
        return None
    in_order: list[tuple[Any, ...]] = []
    try:
        for event in yaml.parse(content, Loader=loader):
            said: tuple[Any, ...]
            if isinstance(event, events.ScalarEvent):
                said = ("=", event.anchor, event.tag, event.implicit, event.style, event.value)
            elif isinstance(event, events.CollectionStartEvent):
                start = (type(event).__name__, event.anchor, event.tag)
                said = (*start, event.implicit, event.flow_style)
            elif isinstance(event, events.AliasEvent):
                said = ("*", event.anchor)
            elif isinstance(event, events.DocumentStartEvent):
                said = ("---", event.explicit, event.version, event.tags)
            elif isinstance(event, events.DocumentEndEvent):
                said = ("...", event.explicit)
            else:
                said = (type(event).__name__,)
            in_order.append(said)
    except (yaml.YAMLError, UnicodeError, ValueError):
        return None
    return hashlib.sha256(repr(in_order).encode("utf-8", "surrogatepass")).hexdigest().encode()


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


def _changing(
    files: list[tuple[str, bytes]], request: bytes, root: str, copy: ChartCopy | None = None
) -> bool:
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
    left_out = _left_out(root, copy)
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


def _left_out(root: str, copy: ChartCopy | None = None) -> frozenset[str]:
    """The top-level folders the chart's .helmignore (in the `copy`, else below `root`)
    names plainly (`hack/`): Helm never loads them. Nothing when a line negates (`!`): only
    what is surely left out."""
    try:
        if copy is None:
            with open(os.path.join(root, ".helmignore"), "rb") as handle:
                content = handle.read()
        else:
            content = copy.files[".helmignore"]
        # (read as text files are: universal line ends)
        with io.TextIOWrapper(io.BytesIO(content), encoding="utf-8") as handle:
            lines = [line.strip() for line in handle if line.strip()[:1] not in ("", "#")]
    except (OSError, KeyError, UnicodeDecodeError):
        return frozenset()
    if any(line.startswith("!") for line in lines):
        return frozenset()
    return frozenset(
        line[:-1] for line in lines if line.endswith("/") and _PLAIN.fullmatch(line[:-1])
    )


_PLAIN = lazy_re.compile(r"[\w.-]+")


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
    """A JSON head (the load error, the dependencies, each rendering's error and its
    templates' names with their texts' lengths in UTF-8), a line break, then the texts one
    after the other. One JSON text of it all was 10-12 ms to read back for
    kube-prometheus-stack's 2.2 MB (every line break and quote of YAML escaped); the texts
    are now sliced out. Lone surrogates pass as they are (surrogatepass), as JSON kept them."""
    texts: list[bytes] = []
    renderings: list[list[Any]] = []
    for rendering in result.renderings:
        if rendering.manifests is None:
            renderings.append([None, rendering.error])
            continue
        names: list[list[Any]] = []
        for name, text in rendering.manifests.items():
            data = text.encode("utf-8", "surrogatepass")
            names.append([name, len(data)])
            texts.append(data)
        renderings.append([names, rendering.error])
    head = {
        "load_error": result.load_error,
        "dependencies": list(result.dependencies),
        "renderings": renderings,
    }
    return json.dumps(head, separators=(",", ":")).encode() + b"\n" + b"".join(texts)


def _decoded(payload: bytes | None) -> helm_engine.ChartResult | None:
    """A kept answer (_encoded), checked for shape: anything else is a miss."""
    from gatekeeper.sources import helm_engine

    if payload is None:
        return None
    head, newline, texts = payload.partition(b"\n")
    try:
        value = json.loads(head)
    except (ValueError, RecursionError):
        return None
    if not newline or not isinstance(value, dict):
        return None
    if set(value) != {"load_error", "dependencies", "renderings"}:
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
    at = 0
    for rendering in renderings:
        if not (isinstance(rendering, list) and len(rendering) == 2):
            return None
        names, error = rendering
        if not isinstance(error, str):
            return None
        if names is None:
            out.append(helm_engine.Rendering(None, error))
            continue
        if not isinstance(names, list):
            return None
        manifests: dict[str, str] = {}
        for entry in names:
            if not (
                isinstance(entry, list)
                and len(entry) == 2
                and isinstance(entry[0], str)
                and type(entry[1]) is int
                and 0 <= entry[1] <= len(texts) - at
                and entry[0] not in manifests
            ):
                return None
            try:
                manifests[entry[0]] = texts[at : at + entry[1]].decode("utf-8", "surrogatepass")
            except UnicodeDecodeError:
                return None
            at += entry[1]
        out.append(helm_engine.Rendering(manifests, error))
    if at != len(texts):
        return None
    return helm_engine.ChartResult(load_error, tuple(dependencies), tuple(out))
