"""ApplicationSet Go templates (`goTemplate: true`) rendered as Argo CD renders them.

Argo CD renders each string of the template, and the `templatePatch`, with Go's text/template
and the sprig functions, with a generator's parameters as `.`. A pattern for `{{ .path }}`
covers the plain references; a pipeline (`{{ .env | lower }}`), a function or an
`{{ if }}`/`{{ else }}` branch needs the real engine, or a patch's branches would all be taken
at once (the last duplicate key winning). So those texts are rendered by the Helm engine
(Go text/template with sprig, the same functions), in its sandboxed child: each text becomes
a named template included with the parameters as its context, one rendering per parameter
set.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from gatekeeper import lazy_re
from gatekeeper.sources import LoadContext, helm_engine

if TYPE_CHECKING:
    from gatekeeper.document import Problem
    from gatekeeper.yamlevents import Manifest

_PREFIX = "gk-appset-"
_FAILED = lazy_re.compile(rf"{_PREFIX}(\d+)\.txt")


def available() -> bool:
    return helm_engine.available()


# What render() answered, by its texts and parameter sets (as the child is sent them): the
# same ApplicationSet in another file or folder copy is not rendered again. Failures are not
# kept (a limit reached under load is tried again where the ApplicationSet is judged).
_RENDERED: dict[str, list[dict[str, str]]] = {}
_PREPARING: list[bool] = []  # prepare() is running: its renderer serves every rendering


def render(texts: list[str], sets: list[dict[str, Any]]) -> list[dict[str, str]] | None:
    """Each text rendered with each parameter set: for every set, text -> its rendering (a
    text that fails with a set, as Argo CD's would, is left out of that set's). None when
    the engine failed altogether."""
    key = json.dumps([texts, sets], default=str)
    found = _RENDERED.get(key)
    if found is None:
        found = _rendered(texts, sets)
        if found is None:
            return None
        _RENDERED[key] = found
    return [dict(outputs) for outputs in found]  # the caller's own, the kept ones unchanged


def prepare(context: LoadContext, files: Iterable[tuple[str, bytes]]) -> None:
    """Before a scan forks its workers: render the Go templates of the ApplicationSets
    written in `files` (those holding GO_TEMPLATE_MARKER) here, with one renderer, and keep
    them for the workers, which inherit the answers (render). Rendered in the pool instead,
    each started a renderer of its own beside the parent and a worker at their peak: about
    50 MB for a fraction of a second, a third of the real k8s corpus's tree PSS. What is
    missed here (an ApplicationSet an overlay builds or a chart renders, or read otherwise
    than below) is rendered where it is judged, as before."""
    from gatekeeper.sources import gitops

    if not available():
        return
    repo_urls = context.repo_urls()

    def is_local(source: dict[str, Any]) -> bool:
        return gitops._is_local(source, repo_urls)

    _PREPARING.append(True)  # one renderer for them all (_render_once), stopped at the end
    try:
        with helm_engine.borrowed():
            _prepare(files, context, is_local)
    finally:
        _PREPARING.clear()


def _prepare(files: Iterable[tuple[str, bytes]], context: LoadContext, is_local: Any) -> None:
    from gatekeeper.sources import applicationsets, kubernetes
    from gatekeeper.yamldoc import decode
    from gatekeeper.yamlevents import Manifest

    for file, data in files:
        if b"kind: ApplicationSet" not in data or not kubernetes.detect(file):
            continue
        try:
            text = decode(data)
        except UnicodeDecodeError:
            continue
        for index, entry in enumerate(_application_sets(file, text)):
            if not isinstance(entry, Manifest) or not applicationsets.is_application_set(entry.obj):
                continue
            spec = entry.obj.get("spec")
            if not isinstance(spec, dict) or not spec.get("goTemplate"):
                continue
            document = kubernetes.make_document(file, entry.obj, entry.locator, index)
            with contextlib.suppress(Exception):  # judged where it is scanned
                applicationsets.applications(file, document, context.tree, is_local)


# A top-level `kind: ApplicationSet` (a CRD names the kind too, indented), and the start of
# a YAML document.
_APPLICATION_SET = lazy_re.compile(r"(?m)^kind:[ \t]*ApplicationSet\b")
_DOCUMENT_START = lazy_re.compile(r"(?m)^---")
_GO_TEMPLATE = "goTemplate"


def _application_sets(file: str, text: str) -> Iterator[Manifest | Problem]:
    """The documents of `text` that may be ApplicationSets, each parsed alone: the rest of
    the file (the ApplicationSet CRD of an install manifest: megabytes) is not. A document
    split wrongly is a rendering not made here, never a result: it is made where judged."""
    from gatekeeper.yamlevents import manifests

    if not _APPLICATION_SET.search(text):
        return
    for part in _DOCUMENT_START.split(text):
        if _GO_TEMPLATE in part and _APPLICATION_SET.search(part):
            try:
                yield from manifests(file, part)
            except RecursionError:
                continue


def _rendered(texts: list[str], sets: list[dict[str, Any]]) -> list[dict[str, str]] | None:
    found: list[dict[str, str]] = [{} for _ in sets]
    pending = {index: list(range(len(texts))) for index in range(len(sets))}
    while pending:
        # The sets whose texts failed go again without the text that failed (an error
        # stops a whole rendering; Helm's message names the template).
        wanted = sorted({tuple(t) for t in pending.values() if t})
        if not wanted:
            break
        again: dict[int, list[int]] = {}
        for chosen in wanted:
            indexes = [i for i, t in pending.items() if tuple(t) == chosen]
            result = _render_once([texts[t] for t in chosen], [sets[i] for i in indexes])
            if result is None:
                return None
            for index, (outputs, failed) in zip(indexes, result, strict=True):
                if failed is None:
                    found[index].update(outputs)
                elif 0 <= failed < len(chosen):
                    again[index] = [t for n, t in enumerate(chosen) if n != failed]
        pending = again
    return found


def _render_once(
    texts: list[str], sets: list[dict[str, Any]]
) -> list[tuple[dict[str, str], int | None]] | None:
    """(text -> rendering, None) per set, or ({}, index of the text that failed it)."""
    with tempfile.TemporaryDirectory(prefix="gk-appset-") as root:
        chart = {"apiVersion": "v2", "name": "applicationset", "version": "0.0.0"}
        with open(os.path.join(root, "Chart.yaml"), "w", encoding="utf-8") as out:
            json.dump(chart, out)
        os.mkdir(os.path.join(root, "templates"))
        for index, text in enumerate(texts):
            name = f"{_PREFIX}{index}"
            body = f'{{{{- define "{name}" -}}}}{text}{{{{- end -}}}}'
            body += f'{{{{ include "{name}" .Values }}}}'
            path = os.path.join(root, "templates", f"{name}.txt")
            with open(path, "w", encoding="utf-8") as out:
                out.write(body)
        jobs = [{"values": _jsonable(params), "options": {"name": "appset"}} for params in sets]
        with contextlib.nullcontext() if _PREPARING else helm_engine.borrowed():
            result = helm_engine.render(root, jobs)
    if result.failed or result.load_error:
        return None
    found: list[tuple[dict[str, str], int | None]] = []
    for rendering in result.renderings:
        if rendering.manifests is None:
            named = _FAILED.search(rendering.error)
            found.append(({}, int(named.group(1)) if named else -1))
            continue
        outputs = {}
        for index, text in enumerate(texts):
            key = f"applicationset/templates/{_PREFIX}{index}.txt"
            if key in rendering.manifests:
                outputs[text] = rendering.manifests[key]
        found.append((outputs, None))
    return found


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))
