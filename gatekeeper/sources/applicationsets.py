"""Argo CD ApplicationSets: the Applications their generators make, as Argo CD makes them.

An ApplicationSet whose `list` or `git` generators (directories, files) read this repository
stamps its `template` once per parameter set; each Application it makes is then expanded like
a hand-written one (gitops.expand), so a new directory under `apps/*` is judged the moment a
pull request adds it. Parameters follow Argo CD: `{{path}}`, `{{path.basename}}`,
`{{path[1]}}`, element keys (fasttemplate), or `{{ .path.path }}` with `goTemplate: true`.
The `clusters` generator stamps the template once with the cluster's parameters unknown
(`{{name}}`, `{{server}}`, its labels stay as written; its `values` are known), so a local
chart it deploys is judged as every cluster gets it. Generators that need an API (pull
requests, SCM providers, plugins, cluster decision resources) are said to be not expanded,
never silently passed over: blocking when the template deploys from this repository.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any, NamedTuple

from gatekeeper import lazy_re
from gatekeeper.document import Document, Location, Problem
from gatekeeper.fieldpath import Path, texts
from gatekeeper.tree import Tree
from gatekeeper.yamldoc import safe_load

MAX_APPLICATIONS = 200  # Applications made from one ApplicationSet
_FAST = lazy_re.compile(r"\{\{\s*([A-Za-z0-9_.\[\]-]+)\s*\}\}")
_GO = lazy_re.compile(r"\{\{-?\s*\.([A-Za-z0-9_.]+)\s*-?\}\}")


def is_application_set(obj: Any) -> bool:
    return (
        isinstance(obj, dict)
        and obj.get("kind") == "ApplicationSet"
        and str(obj.get("apiVersion", "")).startswith("argoproj.io/")
    )


class _Prefixed:
    """The template's fields located in the ApplicationSet's `spec.template`."""

    def __init__(self, parent: Any, prefix: Path) -> None:
        self.parent = parent
        self.prefix = prefix

    def locate(self, path: Path) -> Location:
        location: Location = self.parent.locate((*self.prefix, *path))
        return location


def applications(
    file: str, document: Document, tree: Tree, is_local: Any
) -> tuple[list[Document], list[Problem]]:
    """The Applications `document` (an ApplicationSet) makes from this repository."""
    spec = document.obj.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    template = spec.get("template")
    generators = spec.get("generators")
    problems: list[Problem] = []
    if not isinstance(template, dict) or not isinstance(generators, list):
        return [], problems
    go = bool(spec.get("goTemplate"))
    sets: list[dict[str, Any]] = []
    gaps: list[Path] = []  # generators (or merged parts) that made no parameter set here
    for index, generator in enumerate(generators):
        where = ("spec", "generators", index)
        reading = _Reading(tree, is_local, file, document, problems, go, gaps)
        made_here = _generate(generator, reading, where)
        if not made_here:
            gaps.append(where)
        sets.extend(made_here)
    patch = spec.get("templatePatch")
    if len(sets) > MAX_APPLICATIONS:
        line = document.locator.locate(("spec", "generators")).line
        message = (
            f"ApplicationSet makes {len(sets)} Applications: the first {MAX_APPLICATIONS} are"
            " judged, the rest are not"
        )
        problems.append(Problem(_not_expanded(document, is_local), file, line, message))
        sets = sets[:MAX_APPLICATIONS]
    engine = _go_texts(template, patch, sets) if go else [{} for _ in sets]
    made = []
    for params, known in zip(sets, engine, strict=True):
        rendered = _render(template, params, go, known)
        if isinstance(patch, str) and go:
            patched = _patched(rendered, patch, params, known)
            if patched is None:
                line = document.locator.locate(("spec", "templatePatch")).line
                message = (
                    "templatePatch could not be rendered here: the Applications it patches"
                    " are judged without it"
                )
                problems.append(Problem("GK-RENDER-ERROR", file, line, message))
                patch = None  # said once
            else:
                rendered = patched
        metadata = rendered.get("metadata") if isinstance(rendered.get("metadata"), dict) else {}
        app = {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": metadata,
            "spec": rendered.get("spec") if isinstance(rendered.get("spec"), dict) else {},
        }
        made.append(
            Document(
                source=document.source,
                file=file,
                obj=app,
                locator=_Prefixed(document.locator, ("spec", "template")),
                index=document.index,
                kind="Application",
                namespace=str(metadata.get("namespace") or ""),
                name=str(metadata.get("name") or ""),
                extra={UNKNOWN_PARAMS: CLUSTER} if dict.get(params, UNKNOWN_PARAMS) else {},
            )
        )
    agreed = None if gaps else _agreed_sources(document.obj, sets, made, go)
    if agreed is not None:
        document.obj = agreed
    return made, problems


_SOURCE_FIELDS = ("chart", "targetRevision")


def _agreed_sources(
    obj: dict[str, Any], sets: list[dict[str, Any]], made: list[Document], go: bool
) -> dict[str, Any] | None:
    """The ApplicationSet with its template's chart and targetRevision written as every
    Application it makes gets them, where all agree (gitops-bridge: `targetRevision:
    '{{values.addonChartVersion}}'`, 1.0.9 in every clusters generator's values, was judged
    as the unpinned text `{{values.addonChartVersion}}`); None when nothing is agreed. A
    field that names a parameter nobody knows here (a cluster's name, an API generator's
    output) stays as written; so does all of it when a generator made no parameter set here
    (another repository's git files: its Applications are not seen)."""
    if not made or any(isinstance(params, _AnyParams) for params in sets):
        return None
    unknown = any(dict.get(params, UNKNOWN_PARAMS) for params in sets)
    template = obj["spec"]["template"]
    spec = template.get("spec") if isinstance(template.get("spec"), dict) else {}
    places: list[tuple[str, int | None]] = [("source", None)]
    listed = spec.get("sources")
    places += (
        [("sources", index) for index in range(len(listed))] if isinstance(listed, list) else []
    )
    changed: dict[tuple[str, int | None], dict[str, Any]] = {}
    for key, index in places:
        source = spec.get(key) if index is None else spec[key][index]
        if not isinstance(source, dict):
            continue
        for name in _SOURCE_FIELDS:
            written = source.get(name)
            if not isinstance(written, str) or "{{" not in written:
                continue
            names = (_GO if go else _FAST).findall(written)
            if unknown and not all(n.startswith("values.") for n in names):
                continue  # a cluster's name or label: unknown here
            values = {_made_field(app.obj, key, index, name) for app in made}
            value = values.pop() if len(values) == 1 else None
            if isinstance(value, str) and "{{" not in value:
                changed.setdefault((key, index), dict(source))[name] = value
    if not changed:
        return None
    new_spec = dict(spec)
    for (key, index), source in changed.items():
        if index is None:
            new_spec[key] = source
        else:
            new_spec[key] = [source if i == index else s for i, s in enumerate(new_spec[key])]
    return {**obj, "spec": {**obj["spec"], "template": {**template, "spec": new_spec}}}


def _made_field(app: dict[str, Any], key: str, index: int | None, name: str) -> Any:
    source = app.get("spec", {}).get(key)
    if index is not None:
        source = source[index] if isinstance(source, list) and index < len(source) else None
    return source.get(name) if isinstance(source, dict) else None


class _Reading(NamedTuple):
    """What every generator of one ApplicationSet is read with."""

    tree: Tree
    is_local: Any  # a git generator's repository is this one
    file: str
    document: Document
    problems: list[Problem]
    go: bool  # goTemplate
    gaps: list[Path]  # where a generator made no parameter set (another repository's...)


def _generate(generator: Any, reading: _Reading, where: Path) -> list[dict[str, Any]]:
    tree, is_local, file, document, problems, _, _ = reading
    if not isinstance(generator, dict):
        return []
    if isinstance(generator.get("list"), dict):
        listed = generator["list"]
        elements = listed.get("elements")
        found = [e for e in elements if isinstance(e, dict)] if isinstance(elements, list) else []
        text = listed.get("elementsYaml")
        if isinstance(text, str) and text.strip():
            parsed = _yaml(text)
            if not isinstance(parsed, list):
                line = document.locator.locate((*where, "list", "elementsYaml")).line
                message = (
                    "list elementsYaml is not a YAML list here: its Applications are not judged"
                )
                problems.append(Problem(_not_expanded(document, is_local), file, line, message))
                parsed = []
            found += [e for e in parsed if isinstance(e, dict)]
        return found
    if isinstance(generator.get("merge"), dict):
        return _merged(generator["merge"], reading, where)
    if isinstance(generator.get("clusters"), dict):  # every cluster: its own names unknown
        values = generator["clusters"].get("values")
        return [{**_CLUSTER, "values": values if isinstance(values, dict) else {}}]
    if isinstance(generator.get("git"), dict):
        git = generator["git"]
        if not is_local(git):
            return []  # another repository: not ours to read
        from gatekeeper.sources.gitops_revision import revision

        listed = revision(git.get("revision"), tree).tree  # it lists the revision it names
        if listed is None:
            line = document.locator.locate((*where, "git", "revision")).line
            message = (
                f"git generator reads revision {git.get('revision')} of this repository, which"
                " this checkout does not have: the Applications it makes are not judged"
            )
            problems.append(Problem("GK-REVISION-UNSEEN", file, line, message))
            return []
        found = _directories(git.get("directories"), listed)
        found += _files(git.get("files"), listed)
        return found
    if isinstance(generator.get("matrix"), dict):
        children = generator["matrix"].get("generators")
        if not isinstance(children, list) or len(children) != 2:
            return []  # Argo CD refuses it: it makes no Application
        first = _generate(children[0], reading, (*where, "matrix", "generators", 0))
        at = (*where, "matrix", "generators", 1)
        # The second generator may use the first's parameters (`{{ .path.path }}/*.json`).
        return [
            {**a, **b}
            for a in first
            for b in _generate(_render(children[1], a, reading.go), reading, at)
        ]
    kinds = ", ".join(sorted(generator)) or "empty"
    line = document.locator.locate(where).line
    message = (
        f"ApplicationSet generator {kinds} needs a cluster or an API to list its Applications:"
        " what they deploy is not judged here"
    )
    stamped = _fixed_source(document)
    told = stamped and _parameters_beyond_names(document)
    if stamped:
        message = (
            f"ApplicationSet generator {kinds} needs a cluster or an API to list its"
            " Applications: they are judged with their parameters unknown (every values file"
            " their names could pick)"
        )
    # Stamped, everything of this repository it may deploy is judged: only which clusters
    # and names are unknown (low); else what it deploys from here is not, or is rendered
    # with values its parameters choose (blocking).
    code = (
        "GK-NOT-EXPANDED"
        if stamped and not told
        else _not_expanded(document, is_local, reading.tree)
    )
    problems.append(Problem(code, file, line, message))
    return [_AnyParams({UNKNOWN_PARAMS: True})] if stamped else []


def _fixed_source(document: Document) -> bool:
    """Whether the template deploys from sources its parameters do not choose (repository,
    revision, path or chart written out): then what any parameter set deploys is that
    source, with only names and values files left to the parameters."""
    spec = document.obj.get("spec", {}).get("template", {}).get("spec")
    spec = spec if isinstance(spec, dict) else {}
    listed = spec.get("sources")
    sources = [spec.get("source"), *(listed if isinstance(listed, list) else [])]
    sources = [source for source in sources if isinstance(source, dict)]
    fields = ("repoURL", "targetRevision", "path", "chart", "ref")
    return bool(sources) and not any(
        "{{" in str(source.get(key, "")) for source in sources for key in fields
    )


def _parameters_beyond_names(document: Document) -> bool:
    """Whether the template's parameters reach what is rendered, not only names, where it
    goes and which values files it picks (a Helm parameter, values, a kustomize field, a
    templatePatch): then unknown parameters stand for unknown content."""
    spec = document.obj.get("spec", {})
    if spec.get("templatePatch"):
        return True
    template = spec.get("template", {}).get("spec")
    template = template if isinstance(template, dict) else {}
    listed = template.get("sources")
    sources = [template.get("source"), *(listed if isinstance(listed, list) else [])]
    for source in sources:
        if not isinstance(source, dict):
            continue
        helm = source.get("helm")
        rest = {k: v for k, v in source.items() if k != "helm"}
        if isinstance(helm, dict):
            rest["helm"] = {k: v for k, v in helm.items() if k != "valueFiles"}
        if any("{{" in text for text in texts(rest)):
            return True
    return False


class _AnyParams(dict[str, Any]):
    """The parameters of a generator that cannot be listed: any name is asked for, its value
    is unknown (CLUSTER)."""

    def __contains__(self, key: object) -> bool:
        return True

    def __missing__(self, key: str) -> Any:
        return CLUSTER


class _AnyKey(dict[str, str]):
    """A cluster's labels or annotations: whichever key is asked for, its value unknown."""

    def __contains__(self, key: object) -> bool:
        return True

    def __missing__(self, key: str) -> str:
        return CLUSTER


CLUSTER = "cluster"  # what stands for a cluster generator's unknown names
# Set in the parameters of generators whose values are unknown: the Applications stamped
# from them say so (Document.extra), and a values file named with an unknown part is any
# file its name could be (gitops).
UNKNOWN_PARAMS = "\0unknown"
_CLUSTER: dict[str, Any] = {
    UNKNOWN_PARAMS: True,
    "name": CLUSTER,
    "nameNormalized": CLUSTER,
    "server": f"https://{CLUSTER}.invalid",
    "project": "",
    "metadata": {"labels": _AnyKey(), "annotations": _AnyKey()},
}


def _not_expanded(document: Document, is_local: Any, tree: Tree | None = None) -> str:
    """The code of Applications not made: blocking when the template deploys a source of
    this repository (what a pull request here changes), low for other repositories'. A
    repository its parameters name (`repoURL: '{{ url }}'` of an SCM provider generator) may
    be this one when the path it deploys is one of this repository's folders (red team r34
    of session 10: a scmProvider matching this repository passed as a low note)."""
    spec = document.obj.get("spec", {}).get("template", {}).get("spec")
    spec = spec if isinstance(spec, dict) else {}
    listed = spec.get("sources")
    sources = [spec.get("source"), *(listed if isinstance(listed, list) else [])]
    local = any(isinstance(s, dict) and is_local(s) for s in sources)
    local = local or any(
        isinstance(s, dict) and _may_be_here(s, tree) for s in sources if tree is not None
    )
    return "GK-LOCAL-NOT-EXPANDED" if local else "GK-NOT-EXPANDED"


def _may_be_here(source: dict[str, Any], tree: Tree | None) -> bool:
    """A source whose repository a parameter names, deploying a folder this tree has."""
    url, path = str(source.get("repoURL") or ""), source.get("path")
    if "{{" not in url or not isinstance(path, str) or "{{" in path or tree is None:
        return False
    folder = posixpath.normpath(path.strip("/") or ".")
    return folder != ".." and not folder.startswith("../") and bool(tree.list_dir(folder))


def _merged(merge: dict[str, Any], reading: _Reading, where: Path) -> list[dict[str, Any]]:
    """Argo CD's merge generator: the first generator's parameter sets, each updated by the
    sets of later generators that agree with it on every `mergeKeys` value."""
    children = merge.get("generators")
    listed = merge.get("mergeKeys")
    keys = [k for k in listed if isinstance(k, str)] if isinstance(listed, list) else []
    parts = [
        _generate(child, reading, (*where, "merge", "generators", i))
        for i, child in enumerate(children if isinstance(children, list) else [])
    ]
    if not parts:
        return []
    if not all(parts):  # a part not read here: what it overrides is not known
        reading.gaps.append(where)

    def key(params: dict[str, Any]) -> tuple[str, ...]:
        return tuple(repr(_lookup(params, k.lstrip("."), True)) for k in keys)

    merged = [dict(params) for params in parts[0]]
    for later in parts[1:]:
        alternatives: list[dict[str, Any]] = []
        for params in later:
            for index, base in enumerate(merged):
                if not keys or key(base) != key(params):
                    continue
                if dict.get(base, UNKNOWN_PARAMS) and dict.get(params, UNKNOWN_PARAMS):
                    # Two clusters generators: whether a cluster both select is the same one
                    # is not known here; a cluster may get the later values or not.
                    alternatives.append(_overridden(base, params))
                else:
                    merged[index] = _overridden(base, params)
        merged.extend(params for params in alternatives if params not in merged)
    return merged


def _overridden(base: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """`base` with `params` over it, nested maps merged key by key, as Argo CD merges a
    cluster generator's `values` (each one its own parameter, `values.x`)."""
    out = dict(base)
    for name, value in params.items():
        if type(value) is dict and type(out.get(name)) is dict:  # not a cluster's any-key map
            out[name] = _overridden(out[name], value)
        else:
            out[name] = value
    return out


def _go_texts(template: Any, patch: Any, sets: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Per parameter set, the template's strings (and the patch) that need Go's own engine
    (a pipeline, a function, a branch), as it renders them: {} without the engine."""
    from gatekeeper.sources import applicationsets_go

    # Plain `{{ .a.b }}` references are substituted here; only the rest costs a rendering.
    engine = sorted({text for text in texts(template) if "{{" in _GO.sub("", text)})
    if isinstance(patch, str) and "{{" in _GO.sub("", patch):
        engine.append(patch)
    if not engine or not applicationsets_go.available():
        return [{} for _ in sets]
    return applicationsets_go.render(engine, sets) or [{} for _ in sets]


def _patched(app: dict[str, Any], patch: str, params: dict[str, Any], known: dict[str, str]) -> Any:
    """The Application with its `templatePatch`: as Go's engine rendered it for these
    parameters, else with every branch taken. None when it cannot be read."""
    if patch not in known:
        return _template_patch(app, patch, params)
    parsed = _yaml(known[patch])
    if parsed is None and not known[patch].strip():
        return app
    return _merge_patch(app, parsed) if isinstance(parsed, dict) else None


_CONTROL = lazy_re.compile(r"^\s*\{\{-?\s*(if|else|end|range|with)\b[^}]*-?\}\}\s*$")


def _template_patch(app: dict[str, Any], patch: str, params: dict[str, Any]) -> Any:
    """`templatePatch` over a made Application: rendered (control lines taken on every
    branch: a superset of what any one branch adds), parsed, merged as a JSON merge patch
    (maps merge, anything else replaces, null removes). None when it cannot be read."""
    lines = [line for line in patch.splitlines() if not _CONTROL.match(line)]
    text = _render("\n".join(lines), params, True)
    if "{{" in text:
        return None
    parsed = _yaml(text)
    if parsed is None and not text.strip():
        return app
    return _merge_patch(app, parsed) if isinstance(parsed, dict) else None


def _merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merge_patch(out.get(key), value)
    return out


def _yaml(text: str) -> Any:
    """The YAML in `text`; None when it is not YAML (or empty)."""
    import yaml

    try:
        return safe_load(text)
    except yaml.YAMLError:
        return None


def _matches(path: str, pattern: str, greedy: bool = False) -> bool:
    """Argo CD's globs: `*` within one path segment, `**` across segments; `greedy`: the
    git files generator's default (`git ls-files` pathspecs), where `*` and `?` cross `/`
    too (`envs/*/config.json` matches envs/dev/canary/config.json)."""
    regex = ""
    for part in re.split(r"(\*\*/?|\*|\?)", pattern.strip("/")):
        if part in ("**", "**/"):
            regex += ".*"
        elif part == "*":
            regex += ".*" if greedy else "[^/]*"
        elif part == "?":
            regex += "." if greedy else "[^/]"
        else:
            regex += re.escape(part)
    return re.fullmatch(regex, path) is not None


def _directories(entries: Any, tree: Tree) -> list[dict[str, Any]]:
    if not isinstance(entries, list):
        return []
    include = [
        str(e["path"])
        for e in entries
        if isinstance(e, dict) and "path" in e and not e.get("exclude")
    ]
    exclude = [
        str(e["path"]) for e in entries if isinstance(e, dict) and "path" in e and e.get("exclude")
    ]
    if not include:
        return []
    directories = sorted(
        {posixpath.dirname(name) for name in tree.list_dir(".")} - {""}
        | {d for name in tree.list_dir(".") for d in _parents(name)}
    )
    return [
        _path_params(directory)
        for directory in directories
        if any(_matches(directory, p) for p in include)
        and not any(_matches(directory, p) for p in exclude)
    ]


def _parents(name: str) -> list[str]:
    parts = name.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _files(entries: Any, tree: Tree) -> list[dict[str, Any]]:
    import json

    import yaml

    if not isinstance(entries, list):
        return []
    patterns = [str(e["path"]) for e in entries if isinstance(e, dict) and "path" in e]
    found = []
    for name in tree.list_dir("."):  # Argo CD's default, greedy globbing: a superset
        if not any(_matches(name, p, greedy=True) for p in patterns):
            continue
        try:
            text = tree.read(name).decode("utf-8")
            data = json.loads(text) if name.endswith(".json") else safe_load(text)
        except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError):
            continue
        for item in data if isinstance(data, list) else [data]:
            if isinstance(item, dict):
                found.append({**item, **_path_params(posixpath.dirname(name), name)})
    return found


def _path_params(directory: str, file: str = "") -> dict[str, Any]:
    segments = directory.split("/") if directory else []
    basename = segments[-1] if segments else ""
    path: dict[str, Any] = {
        "path": directory,
        "basename": basename,
        "basenameNormalized": re.sub(r"[^a-z0-9-]", "-", basename.lower()),
        "segments": segments,
    }
    if file:
        path["filename"] = posixpath.basename(file)
        path["filenameNormalized"] = re.sub(r"[^a-z0-9-.]", "-", path["filename"].lower())
    return {"path": path}


def _lookup(params: dict[str, Any], name: str, go: bool) -> Any:
    """A parameter by name: `path.basename`, `path[1]`, `values.x` (fasttemplate names the
    directory `path` itself; goTemplate calls it `.path.path`)."""
    match = re.fullmatch(r"path\[(\d+)\]", name)
    if match:
        segments = params.get("path", {}).get("segments", [])
        index = int(match.group(1))
        return segments[index] if index < len(segments) else None
    if name in params:  # a list element's own key, dots and all
        node: Any = params[name]
        return node.get("path") if not go and isinstance(node, dict) else node
    node = params
    for part in name.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    if not go and name == "path" and isinstance(node, dict):
        return node.get("path")
    return node


def _render(
    value: Any, params: dict[str, Any], go: bool, known: dict[str, str] | None = None
) -> Any:
    """`value` with the parameters in its strings; `known`: strings Go's engine rendered."""
    if isinstance(value, str):
        if known and value in known:
            return known[value]
        pattern = _GO if go else _FAST

        def substitute(match: re.Match[str]) -> str:
            found = _lookup(params, match.group(1), go)
            return match.group(0) if found is None or isinstance(found, dict) else str(found)

        return pattern.sub(substitute, value)
    if isinstance(value, dict):
        return {key: _render(item, params, go, known) for key, item in value.items()}
    if isinstance(value, list):
        return [_render(item, params, go, known) for item in value]
    return value
