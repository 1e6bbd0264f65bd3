"""The Argo CD Applications that render a staged chart file or values file: a pre-commit run
judges them with it, as a full scan (and a pull request's dependency graph) does.

A values file only an Application names (`helm.valueFiles`) is rendered by no chart of its
own: staged alone, the hook judged nothing of it, and an Application deploying a chart with
its own values renders the chart's templates otherwise than the chart's defaults do. The
pull request's check finds them in its dependency graph over the whole tree (depgraph,
gitops.feeds); a hook cannot afford reading every file of a large repository. It asks git
which YAML and JSON files spell `valueFiles` or the chart's folder (one `git grep` per chart),
and reads only those, through gitops' own resolution of what an Application reads. Asked only
for a file of a chart, or a YAML or JSON file holding no Kubernetes object (a values file).
"""

from __future__ import annotations

import functools
import os
import posixpath
from collections.abc import Iterable
from typing import Any

from gatekeeper import ownership
from gatekeeper.depgraph import Graph
from gatekeeper.sources import LoadContext
from gatekeeper.sources.names import CHART_FILE, parents
from gatekeeper.spelling import spelling
from gatekeeper.tree import Tree

_SUFFIXES = (".yaml", ".yml", ".json")
_MARK = "valueFiles"
_FILE_MARK = "fileParameters"
_APPLICATION_MARK = "argoproj.io/"
_JSONNET = (".jsonnet", ".libsonnet")
_OVERRIDES = ".argocd-source"
_GENERATORS_MARK = "generators"


def prestart(paths: Iterable[str]) -> None:
    """A hook on a file of a chart on disk: start the renderer now, so its start-up (an
    interpreter and the Helm library, about a tenth of a second) runs beside the hook's own
    (imports, policies) instead of after it. Looked up from the working directory, where
    pre-commit runs; a chart found but then not rendered costs that start-up's CPU, no wait.
    Not when the chart is as the last hook found it: its renderings are likely kept
    (helm_renders). Here, not in gatekeeper.sources.helm: a hook on a file of no chart
    imports no Helm code."""
    for path in paths:
        path = posixpath.normpath(path)
        if path.startswith(("/", "../")) or path == "..":
            continue
        charts = [d for d in [*parents(path), ""] if os.path.isfile(posixpath.join(d, CHART_FILE))]
        if charts:
            from gatekeeper.sources import helm_engine, helm_renders

            if helm_engine.available() and not helm_renders.unchanged(charts[0] or "."):
                helm_engine.prestart()
            return


def staged(paths: list[str], context: LoadContext) -> list[str]:
    """The files, other than `paths`, holding an Application that reads one of them."""
    index = ownership.of(context.tree)
    found: dict[str, None] = {}
    for path in paths:
        charts = [d for d in parents(path) if index.exists(posixpath.join(d, CHART_FILE))]
        if posixpath.basename(path) == CHART_FILE:
            charts.append(posixpath.dirname(path))
        chart_dir = charts[-1] if charts else None  # the outermost: it renders the file
        found.update(dict.fromkeys(deployers(path, chart_dir, context)))
    return [file for file in found if file not in paths]


def deployers(path: str, chart_dir: str | None, context: LoadContext) -> list[str]:
    """The files holding an Application of this repository that reads `path` (a values file
    it names, or a file below a local source's path), for `path` in the chart at `chart_dir`
    (None: in no chart)."""
    from gatekeeper.sources import kubernetes

    tree = context.tree
    if path.endswith(_JSONNET) or posixpath.basename(path).startswith(_OVERRIDES):
        # Argo CD evaluates a directory source's Jsonnet whatever its Application spells
        # (no `directory:` needed) and libraries by `libs` or relative imports, and reads a
        # source path's override files (`.argocd-source-web.yaml`): every Application is
        # asked (red team s26 trust20 j03, j09: the hook judged nothing)
        words = [_APPLICATION_MARK]
    elif chart_dir is None and not path.endswith(_SUFFIXES):
        # any file may be a `--set-file` value (`fileParameters: [{path: $values/hn.txt}]`):
        # only Applications spelling fileParameters read one (red team s24 trust18 c06)
        words = [_FILE_MARK]
    elif chart_dir is None:
        try:
            if kubernetes.looks_like_objects(tree.read(path)):
                return []
        except OSError:
            return []
        # an ApplicationSet's git files generator reads it as parameters (red team s26
        # trust20 h06: `files: [{path: envs/*/config.json}]`)
        words = [_MARK, _FILE_MARK, _GENERATORS_MARK]
    else:
        words = [_MARK, _FILE_MARK, chart_dir or "path"]
    graph = Graph()  # as a pull request's dependency graph has them, for these files
    for file in _spelling(tree, tuple(words)):
        reads = functools.partial(_inputs, context=context)  # one context per tree: a run
        inputs: frozenset[str] = ownership.of(tree).remember("argo cd inputs", file, reads)
        for needed in inputs:
            graph.add(file, needed)
    return graph.affected([path])


def _inputs(tree: Tree, file: str, context: LoadContext) -> frozenset[str]:
    """What the Applications in `file` read of this repository (gitops' own resolution)."""
    from gatekeeper.sources import gitops, kubernetes
    from gatekeeper.sources.applicationsets import is_application_set
    from gatekeeper.sources.jsonnet import Jsonnets
    from gatekeeper.yamldoc import YamlDocument, decode, load_all

    try:
        data = tree.read(file)
        # Most files spelling a chart's folder are no Application (a chart's own dashboards
        # name it in links: 78 files of kube-prometheus-stack, parsed for nothing).
        if not kubernetes.may_spell(data, [b"Application"]):
            return frozenset()
        text = decode(data)
    except (OSError, ValueError):
        return frozenset()
    repo_urls = context.repo_urls()
    helm_options = context.options_for("helm")
    # what a directory source's Jsonnet imports, beyond its libs (`../../lib/k.libsonnet`)
    jsonnets = Jsonnets(tree, [f for f in tree.list_dir("") if f.endswith(".jsonnet")])
    found: set[str] = set()
    for entry in load_all(file, text):
        if not isinstance(entry, YamlDocument):
            continue
        for obj in gitops._with_items(entry.obj):
            if is_application_set(obj):  # its template's sources, whatever it stamps
                spec = obj.get("spec")
                generators = spec.get("generators") if isinstance(spec, dict) else None
                found.update(  # the paths its generators read (git files, directories)
                    gitops._fixed_part(text)
                    for text in gitops._strings_at(generators, ("path",))
                )
                template = obj.get("spec", {}).get("template")
                spec = template.get("spec") if isinstance(template, dict) else None
                obj = {"kind": "Application", "spec": spec if isinstance(spec, dict) else {}}
            elif not gitops.is_application(obj):
                continue
            found.update(gitops._application_inputs(obj, repo_urls, helm_options, jsonnets))
    return frozenset(found)


def _spelling(tree: Tree, words: tuple[str, ...]) -> list[str]:
    """The YAML and JSON files of the tree that spell one of `words`, sorted."""
    return ownership.of(tree).remember("files spelling", "\0".join(words), _search(words))


def _search(words: tuple[str, ...]) -> Any:
    def search(tree: Tree, _: str) -> list[str]:
        found = spelling(tree, words, _SUFFIXES)
        return [name for name, line in found if line is not None and tree.exists(name)]

    return search


def release_readers(paths: list[str], context: LoadContext) -> list[str]:
    """For the hook: the CI files (`helm upgrade --install db bitnami/postgresql -f
    values/db.yaml`) and release files (a helmfile release of a remote chart) that give a
    staged values file (a YAML or JSON file holding no Kubernetes object) to a chart, as the
    pull request's dependency graph has them (workflow and release_files feeds): staged
    alone, the hook judged nothing of it (red team s25 trust19's open item, s26 trust20
    h01). Asked only when a CI or release file spells the staged file's name (one search)."""
    from gatekeeper.sources import kubernetes
    from gatekeeper.sources.names import is_release_file, workflow_kind

    tree = context.tree
    values = []
    for path in paths:
        if not path.endswith(_SUFFIXES) or workflow_kind(path) or is_release_file(path):
            continue
        try:
            if not kubernetes.looks_like_objects(tree.read(path)):
                values.append(path)
        except OSError:
            continue
    if not values:
        return []
    names = sorted({posixpath.basename(path) for path in values})
    spelled = [file for file, _ in spelling(tree, names)]
    if not any(workflow_kind(f) or is_release_file(f) for f in spelled):
        return []
    from gatekeeper.sources import release_files, workflow

    graph = Graph()
    for reader, needs in release_files.feeds(context):
        graph.add(reader, needs)
    for reader, needs in workflow._rendered_inputs(tree):
        graph.add(reader, needs)
    return [file for file in graph.affected(values) if file not in paths]


_FLUX_APIS = ("kustomize.toolkit.fluxcd.io/", "helm.toolkit.fluxcd.io/")


def flux_readers(paths: list[str], context: LoadContext) -> list[str]:
    """For the hook: the files holding a Flux Kustomization (postBuild.substituteFrom) or
    HelmRelease (valuesFrom, chart.spec.valuesFiles) that reads a ConfigMap or Secret a
    staged file writes, by kind and name, or a staged values file: staged alone, the vars
    ConfigMap (HOSTNET: "true") judged nothing of what the Kustomization substitutes, nor a
    values file of what the HelmRelease renders with it (red team s26 trust20 h02, h03).
    Asked only when a staged YAML file may spell ConfigMap or Secret, or holds no object;
    one search for Flux's API groups."""
    from gatekeeper.sources import kubernetes
    from gatekeeper.yamldoc import YamlDocument, decode, load_all

    tree = context.tree
    named: set[tuple[str, str]] = set()
    for path in paths:
        if not path.endswith((".yaml", ".yml")):
            continue
        try:
            data = tree.read(path)
            if not kubernetes.looks_like_objects(data):  # a values file a release may name
                named.add(("valuesFiles", path))
                continue
            if not kubernetes.may_spell(data, [b"ConfigMap", b"Secret"]):
                continue
            entries = list(load_all(path, decode(data)))
        except (OSError, ValueError):
            continue
        for entry in entries:
            obj = entry.obj if isinstance(entry, YamlDocument) else None
            if isinstance(obj, dict) and obj.get("kind") in ("ConfigMap", "Secret"):
                metadata = obj.get("metadata")
                name = metadata.get("name") if isinstance(metadata, dict) else None
                named.add((str(obj["kind"]), str(name)))
    if not named:
        return []
    from gatekeeper.sources.flux import is_flux_deployer

    found = []
    for file, line in spelling(tree, _FLUX_APIS, (".yaml", ".yml")):
        if line is None or file in paths:
            continue
        try:
            entries = list(load_all(file, decode(tree.read(file))))
        except (OSError, ValueError):
            continue
        for entry in entries:
            obj = entry.obj if isinstance(entry, YamlDocument) else None
            if isinstance(obj, dict) and is_flux_deployer(obj) and named & _reads(obj):
                found.append(file)
                break
    return found


def _reads(obj: dict[str, Any]) -> set[tuple[str, str]]:
    """The (kind, name) of the ConfigMaps and Secrets a Flux deployer reads, and
    ("valuesFiles", path) of a HelmRelease's chart.spec.valuesFiles (from the root: a
    chart of this repository's source)."""
    spec = obj.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    chart = spec.get("chart")
    chart_spec = chart.get("spec") if isinstance(chart, dict) else None
    files = chart_spec.get("valuesFiles") if isinstance(chart_spec, dict) else None
    given = {
        ("valuesFiles", posixpath.normpath(str(file).strip().lstrip("/")))
        for file in (files if isinstance(files, list) else [])
    }
    post_build = spec.get("postBuild")
    post_build = post_build if isinstance(post_build, dict) else {}
    listed = [
        entry
        for given in (post_build.get("substituteFrom"), spec.get("valuesFrom"))
        for entry in (given if isinstance(given, list) else [])
    ]
    return given | {
        (str(entry.get("kind")), str(entry.get("name")))
        for entry in listed
        if isinstance(entry, dict)
    }


def dependents(paths: list[str], context: LoadContext) -> list[str]:
    """For the hook: the Chart.yaml of each chart that renders a staged file of another
    local chart through a `file://` dependency (a library chart's helper, a subchart),
    followed through dependents of dependents: staged alone, a library chart's helper
    judged nothing (red team s26 trust20 h05; the pull request's check follows helm's
    feeds). Asked only for a staged file inside a chart; one search for `file://`."""
    tree = context.tree
    index = ownership.of(tree)
    inside_charts = [
        path
        for path in paths
        if any(index.exists(posixpath.join(folder, CHART_FILE)) for folder in parents(path))
    ]
    if not inside_charts:
        return []
    from gatekeeper.sources.helm import _local_dependencies

    charts = [
        file
        for file, line in spelling(tree, ["file://"], (CHART_FILE,))
        if line is not None and posixpath.basename(file) == CHART_FILE
    ]
    graph = Graph()
    for chart_file in charts:
        chart_dir = posixpath.dirname(chart_file)
        for local in _local_dependencies(tree, chart_file):
            folder = posixpath.normpath(posixpath.join(chart_dir, local))
            graph.add(chart_file, folder.rstrip("/") + "/")
            graph.add(chart_file, posixpath.join(folder, CHART_FILE))
    return [file for file in graph.affected(inside_charts) if file not in paths]
