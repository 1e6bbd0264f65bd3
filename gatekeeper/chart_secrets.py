"""Literal credentials in the values given to a chart this repository does not hold.

An Argo CD Application or Flux HelmRelease of a chart from a chart repository is not rendered
(GK-NOT-EXPANDED), and its values were read only for privilege (remote_values): a pull request
writing `valuesObject: {auth: {postgresPassword: S3cr3t}}` or a HelmRelease's `values: {token:
ghp_...}` got a green check (red team s24). The value is committed in plain text whatever the
chart does with it, so each string value of those values is judged as K8S-CONFIGMAP-SECRETS
judges a ConfigMap key: by that policy's own rule, with its parameters as this run has them
(overrides included), and not at all where the policy is not enabled. One place says what a
secret looks like and what is not one (empty values, `${X}` / `{{ x }}` placeholders, `*_FILE`,
`*Ref`, `*Name`, `existingSecret` keys, `<your-token>`, settings such as `true` or `4096`).

The loaders (remote_values.problems) say each candidate as a Problem carrying its key and value;
the scan, which knows the file's policies, keeps those the policy's rule fails (`judged`).

The values of a `kind: Secret` written in this repository are judged the same way (red team
s24: a plain Secret with `stringData: {DB_PASSWORD: hunter2}` committed to a GitOps repository
was green): GK-SECRET-PLAINTEXT (`in_secrets`).
"""

from __future__ import annotations

import base64
import functools
import itertools
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import yaml

from gatekeeper.document import Document, Problem
from gatekeeper.fieldpath import Path
from gatekeeper.finding import Finding
from gatekeeper.policy.cel import CelError, Program

if TYPE_CHECKING:
    from gatekeeper.evaluate import Engine

CODE = "GK-CHART-VALUES-SECRET"
SECRET_CODE = "GK-SECRET-PLAINTEXT"
POLICY = "K8S-CONFIGMAP-SECRETS"
_MAX_DEPTH = 32
# Helm values are named in camelCase (`postgresPassword`, `apiKey`, `clientSecret`): the
# policy's names are written with `_`, `-` and `.` between words (`api-key`, `auth.token`).
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
# A value naming a Secret under a camelCase `...Secret` key (`tlsSecret: db-tls`,
# `githubConfigSecret: runner-secret`, rook's `...-secret-name`): an object name with a `-`
# or `.`, which a random secret (`clientSecret: 9fQx...`) is not.
_NAMES_SECRET = re.compile(r"[a-z0-9]+[A-Z][A-Za-z0-9]*Secrets?")
_OBJECT_NAME = re.compile(r"[a-z0-9]+([-.][a-z0-9]+)+")
_BASE64 = re.compile(r"([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


def candidates(
    file: str, chart: str, sources: Sequence[tuple[Any, Path]], line_of: Callable[[Path], int]
) -> list[Problem]:
    """Each string value of `sources` (values trees, each with the field path it is written
    at), as a candidate Problem for `judged`."""
    found = []
    for values, where in sources:
        for path, key, value in _leaves(values, (), 0):
            written = ".".join(str(part) for part in path)
            message = (
                f"values for chart {chart} hold a literal secret ({written}); it is committed"
                " in plain text whatever the chart does with it: take it from a Secret (the"
                " chart's existingSecret, valuesFrom a Secret, an external secret manager) and"
                " rotate it"
            )
            try:
                line = line_of((*where, *path))
            except (AttributeError, KeyError, IndexError, TypeError):
                line = 1  # a locator without this value's place: said at the file
            if not line:  # not written there: another entry says it (helm._user_values)
                continue
            found.append(
                Problem(CODE, file, line, message, subject=written, candidate=(key, value))
            )
    return found


def _leaves(node: Any, path: Path, depth: int) -> Iterator[tuple[Path, str, str]]:
    """(path, name, value) of each string value: a mapping's key names its value; an
    env-style `{name: DB_PASSWORD, value: ...}` item is named by its `name`; a list's plain
    strings (`imagePullSecrets: [regcred]`) are named by nothing (credential formats only)."""
    if depth > _MAX_DEPTH:
        return
    if isinstance(node, list):
        for index, item in enumerate(node):
            if isinstance(item, str):
                yield (*path, index), "", item
            else:
                yield from _leaves(item, (*path, index), depth + 1)
        return
    if not isinstance(node, dict):
        return
    name, value = node.get("name"), node.get("value")
    if isinstance(name, str) and isinstance(value, str):
        yield (*path, "value"), _name(name, value), value
        node = {k: v for k, v in node.items() if k not in ("name", "value")}
    for key, child in node.items():
        at = (*path, str(key))
        if isinstance(child, str):
            yield at, _name(str(key), child), child
        else:
            yield from _leaves(child, at, depth + 1)


def _name(key: str, value: str) -> str:
    """The name `key` gives its value as the policy reads names: camelCase words apart; ""
    (credential formats only) for an annotation or label key (`secret.reloader.stakater.com/
    reload: app-secret`, `csi.storage.k8s.io/provisioner-secret-name`: what they name is no
    secret) and for a Secret's name under a `...Secret` key."""
    if "/" in key or (_NAMES_SECRET.fullmatch(key) and _OBJECT_NAME.fullmatch(value)):
        return ""
    return _CAMEL.sub("_", key)


def name_of(key: str, value: str) -> str:
    """The name the policy's rule reads for `key` holding `value` (see _name)."""
    return _name(key, value)


def in_secrets(
    documents: Sequence[Document], read: Callable[[str], bytes | None] | None = None
) -> list[Problem]:
    """The values of the Secrets written in this repository (a manifest, an overlay, a
    kustomize secretGenerator's literals) as candidates: `stringData` as written, `data`
    decoded (a value the API server cannot decode is no Secret it stores). Of a Secret a
    chart renders, only the values its template writes as literals (`read` gives the
    template; its `randAlphaNum` or a default of the chart's values is not written there),
    not one SOPS encrypted (`sops:` metadata) or a SealedSecret (another kind)."""
    found = []
    for document in documents:
        obj = document.obj
        if document.kind != "Secret" or not isinstance(obj, dict):
            continue
        rendered = document.source == "helm"
        if rendered and read is None:
            continue
        if "sops" in obj or not str(obj.get("apiVersion") or "").startswith("v1"):
            continue
        name = obj.get("metadata", {}).get("name") if isinstance(obj.get("metadata"), dict) else ""
        for field in ("stringData", "data"):
            values = obj.get(field)
            for key, value in values.items() if isinstance(values, dict) else ():
                text = value if field == "stringData" else _decoded(value)
                if not isinstance(text, str):
                    continue
                place = document.locator.locate((field, str(key)))
                line = place.line
                if rendered and not (
                    _in_template(read, place.file, line, value)
                    or _from_chart_files(read, place.file, line)
                ):
                    continue  # a value the chart's values or functions give: not written here
                message = (
                    f"Secret {name} key {key} holds a literal secret in plain text in git:"
                    " commit it encrypted (SOPS, a SealedSecret) or take it from an external"
                    " secret manager, and rotate it"
                )
                # where the value is written: an overlay's or a deployer's patch may set it
                file = place.file or document.file
                candidate = (_name(str(key), text), text)
                found.append(Problem(SECRET_CODE, file, line, message, candidate=candidate))
                # one finding per key: the first of its file's settings that fails
                for named, value in _in_file(str(key), text):
                    found.append(
                        Problem(SECRET_CODE, file, line, message, candidate=(named, value))
                    )
    return found


def in_config_maps(
    documents: Sequence[Document], read: Callable[[str], bytes | None] | None = None
) -> list[Problem]:
    """The settings of the files a ConfigMap written in this repository holds, as candidates
    (red team s25: `application.properties: "spring.datasource.password=..."` or a
    `config.yaml` with `password:` in a ConfigMap was green: K8S-CONFIGMAP-SECRETS judges a
    key's name and credential formats, and a file's key names the file). Of a chart's
    rendering, only a file the chart holds (`.Files.Get`), not its values' defaults (s24)."""
    found = []
    for document in documents:
        obj = document.obj
        if document.kind != "ConfigMap" or not isinstance(obj, dict):
            continue
        rendered = document.source == "helm"
        values = obj.get("data")
        name = obj.get("metadata", {}).get("name") if isinstance(obj.get("metadata"), dict) else ""
        for key, text in values.items() if isinstance(values, dict) else ():
            if not isinstance(text, str):
                continue
            place = document.locator.locate(("data", str(key)))
            if rendered and not _from_chart_files(read, place.file, place.line):
                continue
            message = (
                f"ConfigMap {name} key {key} holds a file with a literal secret; a ConfigMap"
                " is readable as plain text: move the secret to a Secret and rotate it"
            )
            for named, value in _in_file(str(key), text):
                candidate = (named, value)
                found.append(
                    Problem(
                        SECRET_CODE,
                        place.file or document.file,
                        place.line,
                        message,
                        candidate=candidate,
                    )
                )
    return found


def in_plugins(documents: Sequence[Document]) -> list[Problem]:
    """The literals an Argo CD Application (or an ApplicationSet's template) gives its config
    management plugin: `plugin.env` items and `plugin.parameters` strings, as candidates (red
    team s25: `plugin: {env: [{name: DB_PASSWORD, value: <literal>}]}` was green: the plugin
    runs with it, committed in the Application)."""
    found = []
    for document in documents:
        obj = document.obj
        if document.kind not in ("Application", "ApplicationSet") or not isinstance(obj, dict):
            continue
        spec: Any = obj.get("spec")
        at: Path = ("spec",)
        if document.kind == "ApplicationSet":
            spec = spec.get("template", {}).get("spec") if isinstance(spec, dict) else None
            at = ("spec", "template", "spec")
        if not isinstance(spec, dict):
            continue
        sources = [(spec.get("source"), (*at, "source"))]
        listed = spec.get("sources")
        sources += [
            (item, (*at, "sources", index))
            for index, item in enumerate(listed if isinstance(listed, list) else [])
        ]
        for source, where in sources:
            plugin = source.get("plugin") if isinstance(source, dict) else None
            if not isinstance(plugin, dict):
                continue
            for field, value_key in (("env", "value"), ("parameters", "string")):
                items = plugin.get(field)
                for index, item in enumerate(items if isinstance(items, list) else []):
                    if not isinstance(item, dict):
                        continue
                    key, value = item.get("name"), item.get(value_key)
                    if not isinstance(key, str) or not isinstance(value, str):
                        continue
                    if value.startswith("$"):  # Argo CD's `$ARGOCD_APP_NAME`, `$VAR`
                        continue
                    place = document.locator.locate((*where, "plugin", field, index, value_key))
                    message = (
                        f"the plugin {field} {key} holds a literal secret in plain text in git:"
                        " take it from a Secret the plugin reads (argocd-vault-plugin, the"
                        " repo-server's environment) and rotate it"
                    )
                    found.append(
                        Problem(
                            SECRET_CODE,
                            place.file or document.file,
                            place.line,
                            message,
                            candidate=(_name(key, value), value),
                        )
                    )
    return found


# A container's argument giving a setting: `--db-password=S3cr3t`, `-token=x`, `PASS=x`.
_ARGUMENT = re.compile(r"-{0,2}([A-Za-z_][A-Za-z0-9_.-]*)=(\S+)")
_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def in_container_args(
    documents: Sequence[Document],
    read: Callable[[str], bytes | None] | None = None,
    files: Callable[[str], list[str]] | None = None,
) -> list[Problem]:
    """The settings a container's `command` and `args` write (`--db-password=S3cr3t`,
    `["--token", "S3cr3t"]`) as candidates (red team s25: a literal password as a container
    argument was green: K8S-POD-ENV-SECRETS reads `env` only). A `$(VAR)` the kubelet fills
    passes; a shell's script word (`sh -c "..."`) is read by its commands, as is a custom
    resource's step `script` (Tekton), its containers placed where they are written (red
    team s26 trust20 s02: a CloneSet's or a Tekton step's were not read). Of a chart's
    rendering, only a value its template line writes as a literal, or a named template
    that line includes (`{{ include "app.args" . }}`, `files`: the tree's listing, for the
    chart's definitions; s26 trust20 s03; its values' defaults are not judged, s24)."""
    from gatekeeper.workloads import pod_views

    found = []
    charts: dict[str, _ChartTexts] = {}
    for document in documents:
        obj = document.obj
        rendered = document.source == "helm"
        if not isinstance(obj, dict) or (rendered and read is None):
            continue
        texts = _chart_texts(charts, files, read, document.file) if rendered else None
        written = functools.partial(_written_here, read, texts) if rendered else None
        own = _lines_written(read, document.file) if rendered else None
        spelled = functools.partial(_template_spells, own, texts) if rendered else None
        for view in pod_views(obj):
            spec = view.pod.get("spec")
            for group in _CONTAINER_LISTS:
                containers = spec.get(group) if isinstance(spec, dict) else None
                for index, container in enumerate(
                    containers if isinstance(containers, list) else []
                ):
                    if not isinstance(container, dict):
                        continue
                    scripts = _runs_shell_script(container)
                    for field in ("command", "args", "script"):
                        words = container.get(field)
                        if field == "script" and _shell_text(words) and view.moves:
                            words, scripts = [words], True  # a step's script: a shell's
                        if not isinstance(words, list):
                            continue
                        at = view.real_path(("spec", group, index, field))
                        made = _argument_candidates(document, at, words, scripts, spelled)
                        found += [
                            p
                            for p in made
                            if written is None
                            or (p.candidate is not None and written(p.file, p.line, p.candidate[1]))
                        ]
    return found


def _template_lines(
    read: Callable[[str], bytes | None] | None, file: str, line: int
) -> list[str] | None:
    """A chart template's lines, when it can be read and has a line `line` (1-based)."""
    raw = read(file) if read is not None and file else None
    if raw is None or line < 1:
        return None
    lines = raw.decode("utf-8", "replace").splitlines()
    return lines if line <= len(lines) else None


def _written_on_line(
    read: Callable[[str], bytes | None] | None, file: str, line: int, value: str
) -> bool:
    """Whether a chart's template writes `value` as a literal at `line`: the line holds it,
    outside any template action (not a default of the chart's values)."""
    lines = _template_lines(read, file, line)
    return lines is not None and _literal_in(lines[line - 1], value)


def _literal_in(line: str, value: str) -> bool:
    """Whether a template line writes `value` outside any action (or printed by one as a
    string literal)."""
    return bool(value) and value in _written(line)


def _written(line: str) -> str:
    """What a template line writes as literals: its text with each action printing a string
    literal replaced by the literal (`{{ "S3cr3t" }}`), and each other action by a space."""
    text = _STRING_ACTION.sub(lambda m: m.group(1), line)
    return re.sub(r"\{\{.*?\}\}", " ", text)


# An action that prints a string literal, as is or through functions that keep it readable.
_STRING_ACTION = re.compile(
    r'\{\{-?\s*"((?:[^"\\]|\\.)*)"\s*(?:\|\s*(?:quote|squote|print|toString|trim)\s*)*-?\}\}'
)


# A shell given a script by -c (`sh -c`, `bash -ec`, `/bin/ash -xc`).
_SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "ksh"})
_SCRIPT_FLAG = re.compile(r"-[a-zA-Z]*c[a-zA-Z]*")


def _runs_shell_script(container: Any) -> bool:
    """Does the container run a shell on a script (`command: [sh, -c]`, `args: [script]`)?"""
    if not isinstance(container, dict):
        return False
    words = [w for f in ("command", "args") for w in container.get(f) or [] if isinstance(w, str)]
    if not words or words[0].rsplit("/", 1)[-1] not in _SHELLS:
        return False
    options = iter(words[1:])  # the shell's options, up to its script or script file
    for word in options:
        if _SCRIPT_FLAG.fullmatch(word):
            return True
        if word in ("-o", "+o", "-O", "+O"):  # `bash -o pipefail -c "..."`
            next(options, None)
        elif not word.startswith(("-", "+")):
            return False  # `sh script.sh -c x`: the script's own arguments
    return False


def _shell_text(script: Any) -> bool:
    """Is a step's `script` a shell's (no `#!` line, or one naming a shell), not Python's?"""
    if not isinstance(script, str):
        return False
    first = script.lstrip().partition("\n")[0]
    if not first.startswith("#!"):
        return True
    words = first[2:].split()
    program = words[-1] if words and words[0].endswith("/env") else (words or [""])[0]
    return program.rsplit("/", 1)[-1] in _SHELLS


def _script_words(words: list[Any], scripts: bool) -> list[tuple[int, list[Any]]]:
    """The container's words as argument lists, each with the index of the word it is in:
    the words themselves, and (when `scripts`) each simple command of a shell script word
    (`sh -c "migrate --db-password=S3cr3t"`, `DB_PASSWORD=S3cr3t migrate`: red team s26
    trust20 s01)."""
    from gatekeeper.shell import commands

    lists: list[tuple[int, list[Any]]] = [(-1, words)]
    for number, word in enumerate(words):
        if scripts and isinstance(word, str) and any(c.isspace() for c in word):
            lists += [(number, command.argv) for command in commands(word)]
    return lists


_POD_ADVICE = (
    " (and in the pod's spec, which anyone reading pods sees): take it from a Secret"
    " (an env secretKeyRef read as $(VAR), a mounted file) and rotate it"
)
_COMPOSE_ADVICE = (
    " (and in the container's configuration, which docker inspect shows): take it from"
    " the environment (${VAR}) or compose secrets: and rotate it"
)


def _template_spells(own: str | None, texts: _ChartTexts | None, value: str) -> bool:
    """Whether the template a rendered document comes from (`own`: what its lines write,
    None when it cannot be read), or another template file of its chart (a named template's
    definition), writes `value` on some line, as _literal_in reads a line: where none does,
    no line writes it (_written_here), and the document is not located for it (mapping a
    rendering to template lines is a hook's largest cost). Read as written, not as bytes: a
    literal split over actions (`{{ "hunter" }}{{ "2hunter2" }}`) is written whole."""
    if own is None or value in own:
        return True
    return texts is not None and value in texts.text


def _lines_written(read: Callable[[str], bytes | None] | None, file: str) -> str | None:
    """What a template's lines write (_written), one per line; None when it cannot be read."""
    raw = read(file) if read is not None and file else None
    if raw is None:
        return None
    return "\n".join(map(_written, raw.decode("utf-8", "replace").splitlines()))


@dataclass
class _ChartTexts:
    """The template files of a chart and of the charts below it (named templates are global
    to a release), as lines, and the spans of their top-level `define` bodies by name."""

    lines: dict[str, list[str]]
    defines: dict[str, list[tuple[str, int, int]]]
    text: str  # what every file's lines write (_written), joined: a value is looked for here


def _chart_texts(
    charts: dict[str, _ChartTexts],
    files: Callable[[str], list[str]] | None,
    read: Callable[[str], bytes | None] | None,
    template: str,
) -> _ChartTexts | None:
    """The texts of the chart a rendered document's template belongs to (its top chart: a
    subchart's `charts/<name>` parts taken off), read once per call; None without a listing."""
    if files is None or read is None or "templates/" not in template:
        return None
    from gatekeeper.sources import helm_lines

    root = "" if template.startswith("templates/") else template.split("/templates/", 1)[0]
    while _SUBCHART.search(root):
        root = _SUBCHART.sub("", root)
    if root not in charts:
        lines: dict[str, list[str]] = {}
        defines: dict[str, list[tuple[str, int, int]]] = {}
        for name in files(root or "."):
            if "templates/" not in name or not name.endswith(_TEMPLATE_ENDINGS):
                continue
            raw = read(name)
            if raw is None or (b"define" not in raw and name != template):
                continue
            lines[name] = raw.decode("utf-8", "replace").splitlines()
            for defined, first, last in helm_lines.define_spans(lines[name]):
                defines.setdefault(defined, []).append((name, first, last))
        text = "\n".join(_written(line) for each in lines.values() for line in each)
        charts[root] = _ChartTexts(lines, defines, text)
    return charts[root]


_SUBCHART = re.compile(r"/charts/[^/]+$")
_TEMPLATE_ENDINGS = (".tpl", ".yaml", ".yml", ".txt", ".json")
# An action including a named template: `{{ include "app.args" . }}`, `{{ template "x" }}`.
_INCLUDED = re.compile(r"\{\{-?[^{}]*?\b(?:include|template)\s+\"([^\"]+)\"")


def _written_here(
    read: Callable[[str], bytes | None] | None,
    texts: _ChartTexts | None,
    file: str,
    line: int,
    value: str,
) -> bool:
    """Whether a chart's template writes `value` as a literal at `line`, or a named template
    that line includes writes it on a line of its body (following includes three deep): a
    helper's `--db-password=S3cr3t` included into a container's args is written in the
    chart as surely as one on the template's own line."""
    if _written_on_line(read, file, line, value):
        return True
    lines = _template_lines(read, file, line)
    if texts is None or lines is None:
        return False
    return _included_writes(texts, _INCLUDED.findall(lines[line - 1]), value, 0)


def _included_writes(texts: _ChartTexts, names: list[str], value: str, depth: int) -> bool:
    if depth > 3:
        return False
    for name in names:
        for file, first, last in texts.defines.get(name, []):
            body = texts.lines[file][first - 1 : last]
            if any(_literal_in(line, value) for line in body):
                return True
            nested = [n for line in body for n in _INCLUDED.findall(line)]
            if nested and _included_writes(texts, nested, value, depth + 1):
                return True
    return False


def _argument_candidates(
    document: Document,
    at: Path,
    given: list[Any],
    scripts: bool = False,
    spelled: Callable[[str], bool] | None = None,
    advice: str = "",
) -> list[Problem]:
    found = []
    for script, words in _script_words(given, scripts):
        for number, key, value in _settings(words):
            if spelled is not None and not spelled(value):
                continue  # a rendering's value its template does not write
            place = document.locator.locate((*at, number if script < 0 else script))
            message = f"container argument {key} holds a literal secret in plain text in git" + (
                advice or _POD_ADVICE
            )
            found.append(
                Problem(
                    SECRET_CODE,
                    place.file or document.file,
                    place.line,
                    message,
                    candidate=(_name(key.replace("-", "_"), value), value),
                )
            )
    return found


def _settings(words: list[Any]) -> list[tuple[int, str, str]]:
    """(index, key, value) of each `--key=value`, `KEY=value` or `--key value` of `words`;
    not a value the kubelet or a shell fills (`$(VAR)`, `$VAR`)."""
    found = []
    for number, word in enumerate(words):
        if not isinstance(word, str) or any(c.isspace() for c in word):
            continue
        match = _ARGUMENT.fullmatch(word)
        if match:
            key, value = match.group(1), match.group(2)
        elif word.startswith("--") and number + 1 < len(words):
            following = words[number + 1]
            if not isinstance(following, str) or following.startswith("-"):
                continue
            if any(c.isspace() for c in following):
                continue
            key, value = word[2:], following
        else:
            continue
        if value.startswith("$"):  # `$(DB_PASSWORD)` the kubelet fills, `$VAR` a shell's
            continue
        found.append((number, key, value))
    return found


def in_kustomize_charts(
    file: str, data: bytes, read: Callable[[str], bytes | None] | None = None
) -> list[Problem]:
    """The values a kustomization gives the charts its `helmCharts` inflate
    (`valuesInline`, and a `valuesFile` of this repository), as GK-CHART-VALUES-SECRET
    candidates (red team s25: `valuesInline: {auth: {password: <literal>}}` was not judged:
    the chart is not rendered offline, and a waived render error left the literal green)."""
    import posixpath

    from gatekeeper.sources.names import is_kustomization
    from gatekeeper.yamldoc import NodeLocator, YamlDocument, load_all

    if not is_kustomization(file) or b"helmCharts" not in data:
        return []
    found: list[Problem] = []
    for document in load_all(file, data.decode("utf-8", "replace")):
        if not isinstance(document, YamlDocument) or not isinstance(document.obj, dict):
            continue
        charts = document.obj.get("helmCharts")
        locator = NodeLocator(file, document.node)
        for index, chart in enumerate(charts if isinstance(charts, list) else []):
            if not isinstance(chart, dict):
                continue
            name = str(chart.get("name") or "?")
            values = chart.get("valuesInline")
            if isinstance(values, dict):
                where: Path = ("helmCharts", index, "valuesInline")
                found += candidates(file, name, [(values, where)], _lines_of(locator))
            values_file = chart.get("valuesFile")
            if isinstance(values_file, str) and read is not None and "://" not in values_file:
                at = posixpath.normpath(posixpath.join(posixpath.dirname(file), values_file))
                raw = read(at)
                for entry in load_all(at, raw.decode("utf-8", "replace")) if raw else ():
                    if isinstance(entry, YamlDocument) and isinstance(entry.obj, dict):
                        located = NodeLocator(at, entry.node)
                        found += candidates(at, name, [(entry.obj, ())], _lines_of(located))
    return found


def _lines_of(locator: Any) -> Callable[[Path], int]:
    def line_of(path: Path) -> int:
        return int(locator.locate(path).line)

    return line_of


def in_workflow(file: str, data: bytes) -> list[Problem]:
    """The values a CI file's `env:` (GitHub: the workflow's, a job's, a step's, a job
    container's; GitLab: `variables:`) writes, as candidates (red team s25: `env:
    {AWS_SECRET_ACCESS_KEY: <literal>}` in a workflow was green). An expression (`${{
    secrets.X }}`) or a variable (`$X`) is no literal. Not a service container's `env:`:
    the password of the throwaway database a job starts (`POSTGRES_PASSWORD: postgres`)."""
    from gatekeeper.yamldoc import NodeLocator, YamlDocument, load_all

    found = []
    text = data.decode("utf-8", "replace")
    for document in load_all(file, text):
        if not isinstance(document, YamlDocument) or not isinstance(document.obj, dict):
            continue
        for where, values in _ci_env(document.obj):
            for key, value in values.items():
                if isinstance(value, dict):  # GitLab `{value: x, description: y}`
                    where_value, value = (*where, str(key), "value"), value.get("value")
                else:
                    where_value = (*where, str(key))
                if not isinstance(value, str) or "${{" in value or value.startswith("$"):
                    continue
                line = NodeLocator(file, document.node).locate(where_value).line
                message = (
                    f"CI variable {key} holds a literal secret in plain text in git: take it"
                    " from the CI's secrets (`${{ secrets.X }}`, a masked variable) and"
                    " rotate it"
                )
                candidate = (_name(str(key), value), value)
                found.append(Problem(SECRET_CODE, file, line, message, candidate=candidate))
    return found


def _ci_env(obj: dict[str, Any]) -> Iterator[tuple[Path, dict[str, Any]]]:
    """(field path, mapping) of each `env:` / `variables:` mapping of a CI file."""

    def mapping(node: Any, *path: str | int) -> Iterator[tuple[Path, dict[str, Any]]]:
        value = node.get(path[-1]) if isinstance(node, dict) else None
        if isinstance(value, dict):
            yield path, value

    yield from mapping(obj, "env")
    yield from mapping(obj, "variables")
    jobs = obj.get("jobs")
    for name, job in (jobs if isinstance(jobs, dict) else obj).items():
        if not isinstance(job, dict):
            continue
        at: Path = ("jobs", name) if isinstance(jobs, dict) else (name,)
        for key in ("env", "variables"):
            for path, value in mapping(job, key):
                yield (*at, *path), value
        container = job.get("container")
        if isinstance(container, dict):
            for path, value in mapping(container, "env"):
                yield (*at, "container", *path), value
        steps = job.get("steps")
        for index, step in enumerate(steps if isinstance(steps, list) else []):
            for path, value in mapping(step, "env"):
                yield (*at, "steps", index, *path), value


# A template's value that is a literal however it is written: `"S3cr3t"`, `{{ "S3cr3t" |
# b64enc }}`, `{{ b64enc "S3cr3t" | quote }}` (only encoders and quoting around a string).
_ENCODERS = r"(?:b64enc|quote|squote|toString|trim|print)"
_STRING = r"""(?:"(?:[^"\\]|\\.)*"|`[^`]*`)"""
_LITERAL_ACTION = re.compile(
    rf"""["']?\{{\{{-?\s*(?:{_ENCODERS}\s+)*{_STRING}(?:\s*\|\s*{_ENCODERS})*\s*-?\}}\}}["']?"""
)


def _in_template(
    read: Callable[[str], bytes | None] | None, file: str, line: int, value: Any
) -> bool:
    """Whether a chart's Secret value is written in its template at `line` (red team s25:
    `DB_PASSWORD: hunter2`, base64 of it under `data`, or `{{ "hunter2" | b64enc }}` in a
    chart's template was green, every rendered Secret being left out): the line's value is
    that literal, or a template action giving a string literal only to encoders. A value
    from `.Values` (the chart's defaults: not judged, s24) or a function is not."""
    lines = _template_lines(read, file, line)
    if lines is None or not isinstance(value, str) or ":" not in lines[line - 1]:
        return False
    written = lines[line - 1].split(":", 1)[1].strip()
    if "{{" not in written:
        return written.strip("\"'") == value.strip() != ""
    return bool(_LITERAL_ACTION.fullmatch(written))


_BLOCK_SCALAR = re.compile(r".*:\s*[|>][-+0-9]*\s*")


def _from_chart_files(read: Callable[[str], bytes | None] | None, file: str, line: int) -> bool:
    """Whether a chart's value at `line` of its template is a file the chart holds (`{{
    .Files.Get "files/db-password" | b64enc }}`, `(.Files.Glob "secrets/*").AsSecrets` on
    the line after `data:`, or under a block scalar key on the next line): committed in the
    repository as the template's literals are (red team s25)."""
    lines = _template_lines(read, file, line)
    if lines is None:
        return False
    if ".Files." in lines[line - 1]:
        return True
    opens = _BLOCK_SCALAR.fullmatch(lines[line - 1]) or lines[line - 1].strip().endswith(":")
    return bool(opens) and line < len(lines) and ".Files." in lines[line]


# A line of a dotenv, properties or INI file: `[export ]NAME=value`, `name = value`,
# `name: value` (a YAML file is read as YAML first).
_ASSIGNMENT = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*[=:]\s*(\S(?:.*\S)?)\s*")
_MAX_FILE = 65536
_BLOCK_OPENER = re.compile(r"[|>][-+0-9]*|[\[{]")
# The files read for settings, by extension ("" for none: `aws-config`, `.env` is "env"):
# configuration formats, not code (`settings.js`, `main.go`: an assignment there is code).
_SETTINGS_FILES = frozenset(
    {"", "env", "properties", "ini", "cfg", "conf", "cnf", "toml", "yaml", "yml", "json"}
    | {"dockerconfigjson", "dockercfg", "npmrc", "pgpass", "netrc", "txt"}
)


def _extension(key: str) -> str:
    name = key.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


# YAML as the safe loader reads it, a value under another tool's tag (recyclarr's `api_key:
# !env_var SONARR_API_KEY`) read as None: filled by that tool, not written. libyaml's loader
# where PyYAML has it: a 64 KB file of rules in a ConfigMap takes 0.16 s in the Python one,
# 0.02 s in it.
_TagsUnknown: type[yaml.SafeLoader] = type(
    "_TagsUnknown", (getattr(yaml, "CSafeLoader", yaml.SafeLoader),), {}
)
_TagsUnknown.add_multi_constructor("!", lambda loader, suffix, node: None)
_MAX_SETTINGS = 2000


def _in_file(key: str, text: str) -> Iterator[tuple[str, str]]:
    """(name, value) of each setting of a file a Secret key holds (red team s25: a Secret's
    `.env: "DB_PASSWORD=..."`, `application.properties`, `config.yaml`, a docker config's
    `auths`): the Secret is committed in plain text, and its key names the file, not the
    secret. A JSON or YAML mapping by its leaves (the innermost key names a value; a docker
    config's `auth` is base64 of `user:password`), other text by its `NAME=value` lines. A
    `$name` value is a reference another tool fills (`$VAR`, Argo CD's `$dex.clientSecret`
    from argocd-secret)."""
    text = text.strip()
    if len(text) > _MAX_FILE or text.startswith("-----BEGIN"):  # a key or certificate
        return
    if _extension(key) not in _SETTINGS_FILES:  # code (settings.js, main.go): not settings
        return
    if "\n" not in text and not text.startswith("{") and "." not in key:
        return  # one value, not a file (`.env`, `app.properties`): judged as it is
    tree: Any = None
    try:
        tree = json.loads(text)
    except (ValueError, RecursionError):  # nested past the parser's depth: not read as JSON
        try:
            tree = yaml.load(text, Loader=_TagsUnknown)  # a SafeLoader
        except (yaml.YAMLError, RecursionError):
            tree = None  # read by its lines
    if isinstance(tree, (dict, list)):
        for count, (path, name, value) in enumerate(_leaves(tree, (), 0)):
            if count >= _MAX_SETTINGS:  # aliases may repeat a subtree without end
                break
            if path[-1:] == ("auth",) and key in (".dockerconfigjson", ".dockercfg"):
                decoded = _decoded(value) or ""
                if ":" in decoded:
                    yield "password", decoded.split(":", 1)[1]
            elif name and not value.startswith("$"):
                yield name, value
        return
    for line in text.splitlines():
        if line.lstrip().startswith(("#", ";", "!", "[")):
            continue
        match = _ASSIGNMENT.fullmatch(line)
        if match:
            value = match.group(2)
            if len(value) > 1 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            if value.startswith(("$", "!")) or _BLOCK_OPENER.fullmatch(value):
                continue  # a reference, another tool's YAML tag, a block's opener (`|-`)
            yield _name(match.group(1), value), value


def _decoded(value: Any) -> str | None:
    """A `data` value's text (line breaks taken out first, as the API server's Go base64
    does); None for one that is not padded base64."""
    if not isinstance(value, str):
        return None
    encoded = value.replace("\n", "").replace("\r", "")
    if not _BASE64.fullmatch(encoded):
        return None
    return base64.b64decode(encoded).decode("utf-8", "replace")


def judged(problems: list[Problem], engine: Engine) -> list[Problem]:
    """`problems` with each candidate judged by the policy's rule: kept (said) where the rule
    fails, dropped where it passes or the policy is not enabled."""
    if not any(problem.candidate is not None for problem in problems):
        return problems
    policy = next((p for p in engine.policies if p.id == POLICY), None)
    params = engine.params(policy) if policy is not None else {}
    # A verdict per (key, value) under these params: the same values are given to several
    # renderings, and each evaluation compiles the params' patterns (~1 ms).
    memo = _MEMO.setdefault((id(policy), json.dumps(params, sort_keys=True, default=str)), {})
    if len(_MEMO) > 64:
        _MEMO.clear()
    maybe = _prefilter(params)
    kept = []
    said: set[tuple[str, str, int, str]] = set()
    for problem in problems:
        place = (problem.code, problem.file, problem.line, problem.message)
        if problem.candidate is None:
            kept.append(problem)
        elif place in said:
            continue
        elif (
            policy is not None
            and maybe(*problem.candidate)
            and (found := _memoized(memo, policy, params, problem))
        ):
            message = problem.message
            if found == "format":
                message = message.replace(
                    "a literal secret", "a value that looks like a credential"
                )
            kept.append(replace(problem, message=message, candidate=None))
            said.add(place)
    return kept


_MEMO: dict[tuple[int, str], dict[tuple[str, str], str]] = {}


def _prefilter(params: dict[str, Any]) -> Callable[[str, str], bool]:
    """Whether a (name, value) may fail the rule: only a secret's name or a credential's
    format fails it. Read with Python's `re` (ASCII, as RE2's `\\b`), which matches where
    RE2 does for the patterns RE2 and it share; a pattern it cannot read leaves every value
    to the rule."""
    try:
        name = re.compile(str(params["secretNamePattern"]), re.ASCII)
        formats = [re.compile(str(p), re.ASCII) for p in params["secretValuePatterns"]]
    except (KeyError, TypeError, re.error):
        return lambda key, value: True

    def maybe(key: str, value: str) -> bool:
        return bool(name.search(key)) or any(p.search(value) for p in formats)

    return maybe


def _memoized(
    memo: dict[tuple[str, str], str], policy: Any, params: dict[str, Any], problem: Problem
) -> str:
    assert problem.candidate is not None
    if problem.candidate not in memo:
        if len(memo) > 65536:
            memo.clear()
        memo[problem.candidate] = _fails(policy, params, problem)
    return memo[problem.candidate]


def _fails(policy: Any, params: dict[str, Any], problem: Problem) -> str:
    """What the policy's rule finds in the value under its key, read as a ConfigMap's `data`
    key: "format" (a credential's format), "literal" (a literal secret) or "" (passes)."""
    assert problem.candidate is not None
    key, value = problem.candidate
    value = value.strip()  # a block scalar's last line break (`|`): not part of what it says
    data = {"item": value, "path": f'data["{key}"]', "params": params, "object": {}}
    try:
        if policy.rule.evaluate(data) is not False:
            return ""
        return "format" if _format().evaluate(data) is True else "literal"
    except CelError:
        return ""  # a rule of the user's that cannot read a value so: not said


@functools.cache
def _format() -> Program:
    return Program(
        "params.?secretValuePatterns.orValue([]).exists(p, type(p) == string && item.matches(p))"
    )


# The policies that say a credential where a chart puts it (a ConfigMap, a container's env):
# at the values line too, by Helm's line mapping.
_SAID_RENDERED = frozenset({POLICY, "K8S-POD-ENV-SECRETS", "K8S-CONFIGMAP-BINARY-CREDENTIALS"})


def once(findings: list[Finding]) -> list[Finding]:
    """`findings` without a GK-CHART-VALUES-SECRET (or a ConfigMap file's GK-SECRET-PLAINTEXT)
    where a policy says the value at the same line: one credential, one finding."""
    said = {(f.file, f.line) for f in findings if f.policy_id in _SAID_RENDERED}
    if not said:
        return findings
    return [
        f
        for f in findings
        if f.policy_id not in (CODE, SECRET_CODE) or (f.file, f.line) not in said
    ]


def names_settings(obj: Any, path: Path, message: str, engine: Engine) -> bool:
    """Is the ConfigMap `data` value that K8S-CONFIGMAP-SECRETS fails at `path` by its key's
    name alone (`message`: a literal secret, no credential's format) a JSON object whose every
    setting says by its own name, read under the key's (`credentials.storage_Spec_Secret_Name`),
    that it is no secret? kserve's `credentials: {"storageSpecSecretName": "storage-config",
    "s3": {"s3SecretAccessKeyName": "AWS_SECRET_ACCESS_KEY", "s3Endpoint": ""}}` names
    Secrets and files (83 blocking findings). Each setting is judged by the policy's rule as
    a key of its own, named after the outer key too, so that its name always reads as a
    secret's: only an allowed name (`...Name`, `...File`), an ignored value (`true`, a path),
    an empty value or a placeholder passes; a number, a value under a plain name (`{"pw":
    "hunter2"}`) or a credential's format keeps the finding. ConfigMaps only: a Secret's
    values are judged as before (in_secrets)."""
    if len(path) != 2 or path[0] != "data" or "holds a literal secret" not in message:
        return False
    data = obj.get("data") if isinstance(obj, dict) else None
    text = data.get(path[1]) if isinstance(data, dict) else None
    if not isinstance(text, str) or len(text) > _MAX_FILE or not text.strip().startswith("{"):
        return False
    try:
        tree = json.loads(text)
    except (ValueError, RecursionError):
        return False
    settings = list(itertools.islice(_json_settings(tree, "", 0), _MAX_SETTINGS + 1))
    if not isinstance(tree, dict) or not settings or len(settings) > _MAX_SETTINGS:
        return False
    if any(value is None for _, value in settings):  # not read here (nested too deep)
        return False
    outer = str(path[1])
    problems = [
        Problem(SECRET_CODE, "", number, "", candidate=(f"{outer}.{name}" if name else "", value))
        for number, (name, value) in enumerate(settings, 1)
        if value is not None
    ]
    return not judged(problems, engine)


def _json_settings(node: Any, key: str, depth: int) -> Iterator[tuple[str, str | None]]:
    """(name, value as text) of each scalar of a JSON document, named as _name reads its
    innermost key (a list's items by the list's key); None for a value past _MAX_DEPTH."""
    if depth > _MAX_DEPTH:
        yield key, None
    elif isinstance(node, dict):
        for child_key, child in node.items():
            name = (
                _name(str(child_key), child)
                if isinstance(child, str)
                else _CAMEL.sub("_", str(child_key))
            )
            yield from _json_settings(child, name, depth + 1)
    elif isinstance(node, list):
        for item in node:
            yield from _json_settings(item, key, depth + 1)
    elif isinstance(node, bool):
        yield key, "true" if node else "false"
    elif node is None:
        yield key, ""
    else:
        yield key, str(node)


def in_compose_commands(documents: Sequence[Document]) -> list[Problem]:
    """The settings a Compose service's `command` and `entrypoint` write, read as a
    container's arguments are (red team s26 trust20 s02: `command: [sh, -c, "migrate
    --db-password=<literal>"]` was green where COMPOSE-NO-SECRETS-IN-ENV blocks the same
    literal in `environment:`). A string is split as Compose splits it (shell words)."""
    found = []
    for document in documents:
        obj = document.obj
        if document.source != "compose" or not isinstance(obj, dict):
            continue
        services = obj.get("services")
        for name, service in services.items() if isinstance(services, dict) else ():
            if not isinstance(service, dict):
                continue
            words = [w for field in ("entrypoint", "command") for w in _listed(service.get(field))]
            scripts = _runs_shell_script({"command": words})
            for field in ("entrypoint", "command"):
                given = service.get(field)
                at: Path = ("services", name, field)
                if isinstance(given, str):  # Compose splits it into words, no shell
                    found += _argument_candidates(
                        document, at, [given], True, advice=_COMPOSE_ADVICE
                    )
                elif isinstance(given, list):
                    found += _argument_candidates(
                        document, at, given, scripts, advice=_COMPOSE_ADVICE
                    )
    return found


def _listed(value: Any) -> list[Any]:
    if isinstance(value, str):
        return value.split()
    return value if isinstance(value, list) else []
