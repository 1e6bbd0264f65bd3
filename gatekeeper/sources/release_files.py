"""Deployer files that release this repository's Helm charts with values of their own.

`helmfile apply` (helmfile.yaml, helmfile.d/), a Rancher Fleet bundle (fleet.yaml, applied by
Fleet's GitOps agent) and `skaffold run` / Cloud Deploy (skaffold.yaml) each run `helm upgrade
--install` on a chart with the values, values files and `--set` values they write. A chart of
this repository rendered alone, with its own values, is not what they deploy: each release of
a local chart is rendered here as they render it, a variant of its own (`deployed by
helmfile.yaml (helmfile release web)`), values located in the file. A chart of another
repository is a low `GK-NOT-EXPANDED`; a value that is a template (helmfile's `{{ }}`,
Skaffold's `setValueTemplates`) is rendered as written, and said.

Each file is also what `kubectl apply -f dir/` would read: Kubernetes objects in it are judged
as manifests all the same.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any, NamedTuple

from gatekeeper.document import Loaded, Problem
from gatekeeper.fieldpath import Path, get
from gatekeeper.sources import LoadContext, fleet_overlays, helm_set
from gatekeeper.sources.names import FLEET_FILES, SKAFFOLD_FILES, is_release_file
from gatekeeper.tree import inside
from gatekeeper.yamldoc import NodeLocator, YamlDocument, check_bytes, decode, load_all

NAME = "release_files"
MAX_RELEASES = 16  # per file
detect = is_release_file


def _given_values(path: str, document: YamlDocument, wanted: Wanted, tree: Any) -> list[Problem]:
    """The values a release gives a chart of another repository (inline maps, `set:`, its
    values files), as chart_secrets candidates: a literal password there is committed
    whatever the chart does (red team s25: a helmfile release of bitnami/postgresql with
    `values: [{auth: {password: ...}}]` was green, as Argo CD's and Flux's were before s24)."""
    from gatekeeper import chart_secrets

    sources: list[tuple[Any, Path]] = [(get(document.obj, place), place) for place in wanted.inline]
    found = chart_secrets.candidates(path, wanted.chart, sources, _line_of(path, document))
    locator = NodeLocator(path, document.node)
    for name, value, place, _ in wanted.sets:
        if isinstance(value, str):
            tree_value: Any = value
            for part in reversed(name.split(".")):
                tree_value = {part: tree_value}
            line = locator.locate(place).line
            found += [
                replace(problem, line=line)
                for problem in chart_secrets.candidates(
                    path, wanted.chart, [(tree_value, ())], lambda where: 1
                )
            ]
    for values_file in wanted.values_files:
        try:
            text = decode(tree.read(values_file))
        except (OSError, ValueError):
            continue
        for entry in load_all(values_file, text):
            if isinstance(entry, YamlDocument) and isinstance(entry.obj, dict):
                found += chart_secrets.candidates(
                    values_file, wanted.chart, [(entry.obj, ())], _line_of(values_file, entry)
                )
    return found


def _line_of(file: str, document: YamlDocument) -> Callable[[Path], int]:
    locator = NodeLocator(file, document.node)

    def line_of(path: Path) -> int:
        return locator.locate(path).line

    return line_of


class Wanted(NamedTuple):
    """One release of a chart, as the file writes it."""

    chart: str  # as written
    local: bool  # a path below the file's folder (else a chart repository's)
    at: Path  # the release's place in its document (`chart` is located there)
    name: str
    namespace: str
    values_files: tuple[str, ...]  # repository paths
    inline: tuple[Path, ...]  # places of inline values maps
    sets: tuple[tuple[str, Any, Path, bool], ...]  # (dotted name, value, place, as string)
    label: str  # what the variant says
    overlay: str = ""  # a Fleet bundle's kustomize folder, built over the chart's output


def load(path: str, data: bytes, context: LoadContext) -> Loaded:
    from gatekeeper.sources import helm, kubernetes

    loaded = Loaded()
    problem = check_bytes(path, data)
    if problem is not None:
        loaded.problems.append(problem)
        return loaded
    text = decode(data)
    entries = list(load_all(path, text))
    templated = "{{" in text and _tool(path) == "helmfile"
    if templated:
        # helmfile renders the file as a Go template first (a `{{` in a YAML comment too):
        # what it then releases is not known here (red team s22).
        message = (
            "helmfile renders this file as a Go template first; it is not evaluated here,"
            " so the releases it makes are judged as written at most"
        )
        line = text.count("\n", 0, text.index("{{")) + 1  # the first template
        loaded.problems.append(Problem("GK-LOCAL-NOT-EXPANDED", path, line, message))
    for entry in entries:
        if isinstance(entry, Problem) and not templated:  # said above for a template
            loaded.problems.append(entry)
    documents = [entry for entry in entries if isinstance(entry, YamlDocument)]
    tree = context.tree
    folder = posixpath.dirname(path)
    count = 0
    unjudged: set[str] = set()  # charts said not in this repository
    for document in documents:
        locator = NodeLocator(path, document.node)
        for place, what in _unread(path, document.obj):
            line = locator.locate(place).line
            message = (
                f"{_tool(path)} {what} is not read here: what it releases or sets is not"
                " judged (judge it where it is written, or give the values in the file)"
            )
            loaded.problems.append(Problem("GK-LOCAL-NOT-EXPANDED", path, line, message))
        for wanted in _releases(path, document.obj, folder):
            chart_dir = _chart_dir(path, wanted, tree)
            line = locator.locate(wanted.at).line
            chart = helm.chart_file(chart_dir) if chart_dir else ""
            if wanted.chart == "." and not tree.exists(chart):
                continue  # a Fleet bundle of manifests or an overlay: judged as files
            if not chart_dir or not tree.exists(chart):
                loaded.problems.extend(_given_values(path, document, wanted, tree))
                if wanted.chart in unjudged:
                    continue  # said once per file (a Fleet bundle's targets share its chart)
                unjudged.add(wanted.chart)
                message = (
                    f"{wanted.label}: chart {wanted.chart} is not in this repository;"
                    " what it deploys is not judged"
                )
                loaded.problems.append(Problem("GK-NOT-EXPANDED", path, line, message))
                continue
            count += 1
            if count > MAX_RELEASES:
                message = (
                    f"{wanted.label}: more than {MAX_RELEASES} releases of local charts in"
                    " one file; this one is not rendered here"
                )
                loaded.problems.append(Problem("GK-LOCAL-NOT-EXPANDED", path, line, message))
                continue
            for values_file in _templated(wanted.values_files, tree, path):
                message = (
                    f"{wanted.label}: helmfile renders the values file {values_file} as a Go"
                    " template first; it is not evaluated here (judged as written)"
                )
                loaded.problems.append(Problem("GK-LOCAL-NOT-EXPANDED", path, line, message))
            release = _release(path, wanted, document.obj, locator, tree, loaded)
            rendered = helm.render_chart(chart, tree.read(chart), context, [release])
            if wanted.overlay:  # Fleet deploys the overlay built over the chart's output
                rendered = fleet_overlays.built_over(wanted.overlay, rendered, context)
            for made in rendered.documents:
                made.extra["variant"] = f"deployed by {path} ({wanted.label})"
            loaded.documents.extend(rendered.documents)
            # The chart's own scan says what keeps it from rendering at all.
            loaded.problems.extend(p for p in rendered.problems if p.code != "GK-RENDER-ERROR")
    if kubernetes.looks_like_objects(data):  # `kubectl apply -f dir/` reads it too
        loaded.documents.extend(kubernetes.load(path, data, context).documents)
    return loaded


def _templated(files: tuple[str, ...], tree: Any, path: str) -> list[str]:
    """The values files helmfile renders as Go templates (`.gotmpl`, or any with `{{`: red
    team s21 hid `privileged: true` behind `# {{- "\\n" }}`)."""
    if _tool(path) != "helmfile":
        return []
    found = []
    for file in files:
        try:
            templated = file.endswith(".gotmpl") or b"{{" in tree.read(file)
        except (OSError, ValueError):
            templated = False
        if templated:
            found.append(file)
    return found


def _unread(path: str, obj: Any) -> Iterator[tuple[Path, str]]:
    """Where the file composes releases or sets values in a way not followed here (second
    red-team round: helmfile bases, sub-helmfiles, templates, set-file; Skaffold requires,
    overrides, setFiles, profile patches; Fleet's `${ }` values): said, never silent."""
    if not isinstance(obj, dict):
        return
    tool = _tool(path)
    if tool == "helmfile":
        for key in ("bases", "helmfiles"):
            if obj.get(key):
                yield (key,), f"`{key}`"
        defaults = _mapping(obj.get("helmDefaults"))
        if defaults.get("postRenderer"):
            yield ("helmDefaults", "postRenderer"), "`helmDefaults.postRenderer`"
        for number, arg in enumerate(_list(defaults.get("args"))):
            if str(arg).startswith("--post-renderer"):
                yield ("helmDefaults", "args", number), "`--post-renderer` in `helmDefaults.args`"
        for index, release in enumerate(_list(obj.get("releases"))):
            if not isinstance(release, dict):
                continue
            # What chartify (kustomize) or a post-renderer changes after the chart renders.
            for key in (
                "inherit", "valuesTemplate", "setTemplate", "secrets", "jsonPatches",
                "strategicMergePatches", "transformers", "postRenderer",
            ):  # fmt: skip
                if release.get(key):
                    yield ("releases", index, key), f"release `{key}`"
            for number, entry in enumerate(_list(release.get("set"))):
                if isinstance(entry, dict) and ("file" in entry or "values" in entry):
                    yield ("releases", index, "set", number), "`set` with a file or a list"
    elif tool == "Skaffold":
        for index, required in enumerate(_list(obj.get("requires"))):
            # Without `path` (or a git or bucket source) an entry names configs of this
            # same file, judged here with it (istio's samples/cicd/skaffold).
            if not isinstance(required, dict) or set(required) - {"configs", "activeProfiles"}:
                yield ("requires", index), "`requires` (configurations in other files)"
        if obj.get("requires") and not isinstance(obj.get("requires"), list):
            yield ("requires",), "`requires` (configurations in other files)"
        for index, profile in enumerate(_list(obj.get("profiles"))):
            if isinstance(profile, dict) and profile.get("patches"):
                yield ("profiles", index, "patches"), "profile `patches`"
        for place, release in _skaffold_releases(obj):
            for key in ("overrides", "setFiles"):
                if release.get(key):
                    yield (*place, key), f"release `{key}`"
    elif tool == "Fleet":
        helm = _mapping(obj.get("helm"))
        held: list[tuple[Path, Any]] = [(("helm", "values"), helm.get("values"))]
        for index, target in enumerate(_list(obj.get("targetCustomizations"))):
            custom = _mapping(_mapping(target).get("helm"))
            held.append((("targetCustomizations", index, "helm", "values"), custom.get("values")))
        for place, values in held:
            if "${" in str(values):
                yield place, "values templated per cluster (`${ }`)"
        froms: list[tuple[Path, Any]] = [(("helm", "valuesFrom"), helm.get("valuesFrom"))]
        for index, target in enumerate(_list(obj.get("targetCustomizations"))):
            custom = _mapping(_mapping(target).get("helm"))
            at: Path = ("targetCustomizations", index, "helm", "valuesFrom")
            froms.append((at, custom.get("valuesFrom")))
        for place, given in froms:
            if given:  # values a ConfigMap or Secret in the cluster holds
                yield place, "`valuesFrom`"


def _skaffold_releases(obj: dict[str, Any]) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Each helm release of `deploy` and `manifests`, the file's own and its profiles'."""
    parts: list[tuple[Path, Any]] = [((), obj)]
    parts += [(("profiles", n), profile) for n, profile in enumerate(_list(obj.get("profiles")))]
    for prefix, part in parts:
        for section in ("deploy", "manifests"):
            helm = _mapping(_mapping(_mapping(part).get(section)).get("helm"))
            for index, release in enumerate(_list(helm.get("releases"))):
                if isinstance(release, dict):
                    yield (*prefix, section, "helm", "releases", index), release


def _tool(path: str) -> str:
    name = posixpath.basename(path)
    if name in FLEET_FILES:
        return "Fleet"
    if name in SKAFFOLD_FILES:
        return "Skaffold"
    return "helmfile"


def _release(
    path: str, wanted: Wanted, obj: Any, locator: NodeLocator, tree: Any, loaded: Loaded
) -> Any:
    from gatekeeper.sources import helm

    inline = []
    for place in wanted.inline:
        node = locator.node_at(place)
        values = get(obj, place)
        if node is not None and isinstance(values, dict):
            inline.append((values, NodeLocator(path, node)))
    sets: list[tuple[tuple[str | int, ...], Any]] = []
    lines: list[tuple[list[str | int], int]] = []
    for name, value, place, as_string in wanted.sets:
        line = locator.locate(place).line
        try:
            where = helm_set.path_of(name)
        except helm_set.SetError as error:
            loaded.problems.append(Problem("GK-RENDER-ERROR", path, line, f"set {name}: {error}"))
            continue
        text = value if isinstance(value, str) else _text(value)
        sets.append((tuple(where), helm_set.typed(text, as_string)))
        lines.append((where, line - 1))
    missing = [f for f in wanted.values_files if not tree.exists(f)]
    for file in missing:
        line = locator.locate(wanted.at).line
        message = f"{wanted.label}: values file {file} is not in this repository"
        loaded.problems.append(Problem("GK-RENDER-ERROR", path, line, message))
    return helm.Release(
        tuple(f for f in wanted.values_files if f not in missing),
        wanted.name or helm.DEFAULT_RELEASE,
        wanted.namespace or "default",
        inline=tuple(inline),
        sets=tuple(sets),
        sets_locator=NodeLocator(path, helm_set.located(lines)) if lines else None,
        test_hooks="skip",
    )


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _releases(path: str, obj: Any, folder: str) -> Iterator[Wanted]:
    if not isinstance(obj, dict):
        return
    name = posixpath.basename(path)
    if name in FLEET_FILES:
        yield from _fleet(obj, folder)
    elif name in SKAFFOLD_FILES:
        yield from _skaffold(obj, folder)
    else:
        yield from _helmfile(obj, folder)


def _files(folder: str, listed: Any) -> tuple[str, ...]:
    found = []
    for item in listed if isinstance(listed, list) else []:
        if isinstance(item, str) and "://" not in item:
            normal = inside(posixpath.join(folder, item))
            if normal:
                found.append(normal)
    return tuple(found)


def _helmfile(obj: dict[str, Any], folder: str) -> Iterator[Wanted]:
    """`releases[]`: chart, values (files or maps), set / setString; `installed: false`
    releases are uninstalled, not deployed."""
    for index, release in enumerate(_list(obj.get("releases"))):
        if not isinstance(release, dict) or release.get("installed") is False:
            continue
        chart = release.get("chart")
        if not isinstance(chart, str) or not chart:
            continue
        at: Path = ("releases", index)
        values = _list(release.get("values"))
        sets = [
            (str(entry.get("name")), entry.get("value"), (*at, key, number, "value"), strings)
            for key, strings in (("set", False), ("setString", True))
            for number, entry in enumerate(_list(release.get(key)))
            if isinstance(entry, dict) and isinstance(entry.get("name"), str)
        ]
        name = str(release.get("name") or "")
        local = "://" not in chart and not _repository_chart(chart, obj)
        yield Wanted(
            chart,
            local,
            (*at, "chart"),
            name,
            str(release.get("namespace") or ""),
            _files(folder, [v for v in values if isinstance(v, str)]),
            tuple((*at, "values", n) for n, v in enumerate(values) if isinstance(v, dict)),
            tuple(sets),
            f"helmfile release {name}",
        )


def _fleet(obj: dict[str, Any], folder: str) -> Iterator[Wanted]:
    """`helm`: a chart (a path of this repository, else the bundle folder's own chart), its
    values and valuesFiles; each `targetCustomizations[]` entry's helm values over them."""
    helm = obj.get("helm")
    if not isinstance(helm, dict):
        if not obj.get("targetCustomizations"):
            return  # no values of its own: the folder's chart or manifests are judged as written
        helm = {}  # only targets give values (red team s03)
    chart = helm.get("chart")
    local = not helm.get("repo") and not (isinstance(chart, str) and "://" in chart)
    chart_ref = str(chart) if isinstance(chart, str) and chart else "."
    namespace = str(obj.get("namespace") or obj.get("defaultNamespace") or "")
    name = str(helm.get("releaseName") or posixpath.basename(folder) or "")
    base_files = _files(folder, helm.get("valuesFiles"))
    base_inline: tuple[Path, ...] = ()
    if isinstance(helm.get("values"), dict):
        base_inline = (("helm", "values"),)
    at: Path = ("helm", "chart") if chart else ("helm",)
    overlay = fleet_overlays.overlay_dir(folder, obj)
    yield Wanted(
        chart_ref, local, at, name, namespace, base_files, base_inline, (), "Fleet bundle", overlay
    )
    for index, target in enumerate(_list(obj.get("targetCustomizations"))):
        custom = target.get("helm") if isinstance(target, dict) else None
        own_overlay = fleet_overlays.overlay_dir(folder, obj, target)
        if not isinstance(custom, dict):
            if own_overlay == overlay:
                continue  # deploys what the bundle does
            custom, place = {}, ("targetCustomizations", index, "kustomize")
        else:
            place = ("targetCustomizations", index, "helm")
        files = base_files + _files(folder, custom.get("valuesFiles"))
        own = ((*place, "values"),) if isinstance(custom.get("values"), dict) else ()
        label = f"Fleet target {target.get('name') or index}"
        yield Wanted(
            chart_ref, local, place, name, namespace, files, base_inline + own, (), label,
            own_overlay,
        )  # fmt: skip


def _skaffold(obj: dict[str, Any], folder: str) -> Iterator[Wanted]:
    """`deploy.helm.releases[]` and `manifests.helm.releases[]` (and a profile's): chartPath,
    valuesFiles, setValues, setValueTemplates (rendered as written)."""
    for at, release in _skaffold_releases(obj):
        chart = release.get("chartPath") or release.get("remoteChart")
        if not isinstance(chart, str) or not chart:
            continue
        sets = [
            (str(key), value, (*at, field, key), field == "setValueTemplates")
            for field in ("setValues", "setValueTemplates")
            for key, value in _mapping(release.get(field)).items()
        ]
        name = str(release.get("name") or "")
        yield Wanted(
            chart,
            bool(release.get("chartPath")),
            (*at, "chartPath" if release.get("chartPath") else "remoteChart"),
            name,
            str(release.get("namespace") or ""),
            _files(folder, release.get("valuesFiles")),
            (),
            tuple(sets),
            f"skaffold release {name}",
        )


def _chart_dir(path: str, wanted: Wanted, tree: Any) -> str | None:
    """The folder of the repository's chart a release installs, else None. helmfile's
    `repo/chart` and Skaffold's `remoteChart` reach helm as written, and helm's LocateChart
    takes an existing local path before any repository (red team s19: `chart: charts/web`,
    `charts` a declared repository, installed the repository's own ./charts/web with the
    release's privileged values). Fleet downloads a chart that has a `repo` from it."""
    directory = inside(posixpath.join(posixpath.dirname(path), wanted.chart))
    if wanted.local or directory is None:
        return directory
    if "://" in wanted.chart or _tool(path) == "Fleet":
        return None
    from gatekeeper.sources import helm

    return directory if tree.exists(helm.chart_file(directory)) else None


def _repository_chart(chart: str, obj: dict[str, Any]) -> bool:
    """helmfile's `repo/chart`, where `repo` is one of its `repositories`: not a path."""
    first = chart.split("/", 1)[0]
    names = {str(r.get("name")) for r in _list(obj.get("repositories")) if isinstance(r, dict)}
    return "/" in chart and first in names


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def feeds(context: LoadContext) -> Iterator[tuple[str, str]]:
    """Dependency edges (see depgraph): a release file reads the folders of the local charts
    it releases and its values files: a pull request changing only the chart judges the
    release again, with its values."""
    from gatekeeper.depgraph import directory_input

    tree = context.tree
    for path in [f for f in tree.list_dir(".") if detect(f)]:
        try:
            text = decode(tree.read(path))
        except (OSError, UnicodeDecodeError, ValueError):
            continue
        folder = posixpath.dirname(path)
        for entry in load_all(path, text):
            if not isinstance(entry, YamlDocument):
                continue
            for wanted in _releases(path, entry.obj, folder):
                chart_dir = _chart_dir(path, wanted, tree)
                if chart_dir:
                    yield path, directory_input(chart_dir)
                if wanted.overlay:
                    yield path, directory_input(wanted.overlay)
                yield from ((path, file) for file in wanted.values_files)
