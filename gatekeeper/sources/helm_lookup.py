"""Charts that ask the cluster with `lookup`, rendered as if the cluster had the objects.

Offline, Helm's `lookup` returns an empty map, so a branch taken only when an object exists
(`{{ if lookup "v1" "Namespace" "" "kube-system" }}privileged: true{{ end }}`) is never
rendered and never judged. `helm install` and Flux's helm-controller render with a cluster
connection, so on a cluster that has the object that branch is what gets deployed (Argo CD
renders with `helm template`: there `lookup` finds nothing either). So a chart whose
templates call `lookup` is rendered once more with every `lookup` answering a stand-in
object (STAND_INS), whose fields are maps, so that the usual reads of what was found
(`$secret.data.password`) render instead of failing.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
from pathlib import Path as FsPath

import yaml

from gatekeeper import lazy_re
from gatekeeper.document import Problem

# A template action (`{{ ... }}`, over lines) and a call of `lookup` in one: not a field
# (`.Values.lookup`), a variable (`$lookup`) or part of a longer name. A comment (`{{/* ...
# */}}`, `{{- /* ... */ -}}`) is one action whole: its text may hold `{{ if ... }}` and `}}`
# (bitnami's common chart quotes `{{ if .Capabilities.HelmVersion }}` in one), which Go's
# template reader skips.
ACTION = lazy_re.compile(rb"\{\{(?:-\s)?/\*.*?\*/(?:\s-)?\}\}|\{\{.*?\}\}", re.DOTALL)
COMMENT = lazy_re.compile(rb"\{\{(?:-\s)?/\*")
_CALL = lazy_re.compile(rb"(?<![\w.$-])lookup(?![\w-])")


# What a call answers in a copy: `dict` of a stand-in's fields, then the call's own four
# arguments as two more pairs (apiVersion: kind, namespace: name), so nothing is left over.
# First an object whose maps are not empty (an existing Secret has data: `if $found.data`
# holds) and a list with one object (`lookup "v1" "Namespace" "" ""`: a cluster has some);
# a chart that cannot render with it (bitnami's common library fails when a found Secret
# lacks the key it wants) is tried with empty maps and no items.
def _stand_in(filled: bytes, one_item: bool) -> bytes:
    fields = (
        b'"metadata" (dict "name" "" "namespace" "" "labels" (dict) "annotations" (dict))'
        b' "data" FILLED "stringData" FILLED "spec" FILLED "status" FILLED'
    ).replace(b"FILLED", filled)
    items = b" (dict " + fields + b")" if one_item else b""
    return b'dict "items" (list' + items + b") " + fields


STAND_INS = (_stand_in(b'(dict "gatekeeper" "")', True), _stand_in(b"(dict)", False))
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def made_stand_in(manifests: dict[str, str]) -> bytes:
    """A stand-in (as STAND_INS) whose `data` and `stringData` hold every data key of the
    Secrets a rendering made (`manifests`, template -> text), each the text "gatekeeper"
    base64-encoded: what an upgrade's `lookup` finds of what the install made (bitnami's
    `hasKey $secret.data "redis-password"`, then `b64dec`). Only templates that write a
    Secret are read (not a chart's large ConfigMaps of dashboards)."""
    keys: set[str] = set()
    for text in manifests.values():
        if "kind: Secret" not in text:
            continue
        try:
            documents = list(yaml.load_all(text, Loader=_LOADER))
        except yaml.YAMLError:
            continue
        for document in documents:
            if isinstance(document, dict) and document.get("kind") == "Secret":
                for field in ("data", "stringData"):
                    if isinstance(document.get(field), dict):
                        keys.update(str(key) for key in document[field])
    if not keys:
        return STAND_INS[0]
    pairs = b" ".join(json.dumps(key).encode() + b' "Z2F0ZWtlZXBlcg=="' for key in sorted(keys))
    return _stand_in(b"(dict " + pairs + b")", True)


def calls(content: bytes) -> bool:
    """Whether a template's text calls `lookup` in an action."""
    if b"lookup" not in content:
        return False
    return any(
        _CALL.search(action.group())
        for action in ACTION.finditer(content)
        if not COMMENT.match(action.group())
    )


def is_template(name: str) -> bool:
    """A file of a chart's (or a subchart's) `templates/`, by its path in the chart."""
    return name.startswith("templates/") or "/templates/" in name


def is_values(name: str) -> bool:
    """A values file of a chart or of a subchart it holds (`values*.yaml`)."""
    base = name.rsplit("/", 1)[-1]
    return base.startswith("values") and base.endswith((".yaml", ".yml"))


def evaluated(name: str) -> bool:
    """A file whose text Helm may run as a template: a template, or a values file, whose
    strings a template may give to `tpl` (`hostPID: {{ tpl .Values.when . }}`: red team
    s13 u06)."""
    return is_template(name) or is_values(name)


def uses_lookup(files: list[tuple[str, bytes]]) -> bool:
    """Whether any template of the chart's copy (its path in the chart, its content) calls
    `lookup`, local subcharts' included, or a values string does."""
    return any(evaluated(name) and calls(content) for name, content in files)


def write_found(root: FsPath, copy: FsPath, stand_in: bytes) -> None:
    """A copy at `copy` of the chart written at `root` (local subcharts included), with each
    template's `lookup` calls answering `stand_in` (STAND_INS); other files as they are."""
    for source in root.rglob("*"):
        if not source.is_file():
            continue
        relative = source.relative_to(root).as_posix()
        content = source.read_bytes()
        if evaluated(relative) and calls(content):
            content = ACTION.sub(lambda action: _CALL.sub(stand_in, action.group()), content)
        target = copy / relative
        os.makedirs(target.parent, exist_ok=True)
        target.write_bytes(content)


def _calls_in(content: bytes) -> list[int]:
    """The lines of a template's `lookup` calls."""
    return [
        content.count(b"\n", 0, action.start() + found.start()) + 1
        for action in ACTION.finditer(content)
        if not COMMENT.match(action.group())
        for found in [_CALL.search(action.group())]
        if found is not None
    ]


# Where Helm's error says it was (`web/templates/token.yaml:5:12`): chart name, then path.
_AT = lazy_re.compile(r"[\w.-]+/((?:[\w.-]+/)*templates/[^\s:]+):(\d+)")


def at_call(
    files: list[tuple[str, bytes]],
    chart_dir: str,
    error: str,
    folders: dict[str, str] | None = None,
) -> tuple[str, int]:
    """The repository path and line of the `lookup` call behind a failed rendering: the
    call before the deepest place Helm's `error` names in a template that has one, else the
    chart's first call."""
    contents = {name: content for name, content in files if is_template(name)}
    for name, line in reversed(_AT.findall(error)):
        lines = _calls_in(contents.get(name, b""))
        if lines:
            before = [found for found in lines if found <= int(line)]
            return _repo(chart_dir, name, folders), (before or lines)[-1]
    for name in sorted(contents):
        lines = _calls_in(contents[name])
        if lines:
            return _repo(chart_dir, name, folders), lines[0]
    return _repo(chart_dir, "Chart.yaml"), 1


def _repo(chart_dir: str, name: str, folders: dict[str, str] | None = None) -> str:
    """A path in the chart's copy -> in the repository: `charts/<name>/...` of a dependency
    found elsewhere in it (`folders`: bitnami's common, at bitnami/common) is there."""
    parts = name.split("/")
    if folders and len(parts) > 2 and parts[0] == "charts" and folders.get(parts[1]):
        return posixpath.join(folders[parts[1]], *parts[2:])
    return f"{chart_dir}/{name}" if chart_dir else name


def unrendered(
    files: list[tuple[str, bytes]],
    chart_dir: str,
    error: str,
    by_flux: bool,
    folders: dict[str, str] | None = None,
) -> Problem:
    """The chart could not be rendered as if `lookup` found its objects: that branch is not
    judged, and said so where the chart asks. Where a Flux HelmRelease deploys the chart,
    that rendering is what the cluster may get (GK-HELM-LOOKUP); a chart alone may never be
    installed with a cluster to ask (GK-HELM-LOOKUP-NOTE: many charts read what `lookup`
    finds in ways only a real object satisfies, `index $secret.data "key" | b64dec`)."""
    file, line = at_call(files, chart_dir, error, folders)
    message = (
        "what the chart renders where `lookup` finds the objects it asks for (helm install,"
        f" Flux) could not be rendered offline, so it is not judged: {' '.join(error.split())}"
    )
    return Problem("GK-HELM-LOOKUP" if by_flux else "GK-HELM-LOOKUP-NOTE", file, line, message)
