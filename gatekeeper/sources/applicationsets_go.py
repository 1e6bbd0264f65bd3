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

import json
import os
import re
import tempfile
from typing import Any

from gatekeeper.sources import helm_engine

_PREFIX = "gk-appset-"
_FAILED = re.compile(rf"{_PREFIX}(\d+)\.txt")


def available() -> bool:
    return helm_engine.available()


def render(texts: list[str], sets: list[dict[str, Any]]) -> list[dict[str, str]] | None:
    """Each text rendered with each parameter set: for every set, text -> its rendering (a
    text that fails with a set, as Argo CD's would, is left out of that set's). None when
    the engine failed altogether."""
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
        with helm_engine.borrowed():
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
