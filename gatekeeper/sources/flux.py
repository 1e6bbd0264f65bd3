"""Flux Kustomizations and HelmReleases that deploy from this repository: what they apply.

A Flux `Kustomization` or `HelmRelease` names its source (`sourceRef`): a `GitRepository`
object. When it is this repository (a GitRepository of this repository whose `url` is one of
`sources.gitops.repoURLs`, or the `flux-system` GitRepository, which `flux bootstrap` points at
the repository holding the cluster's configuration), what it applies is judged as Flux builds
it:
- Kustomization: `spec.path` built with kustomize (or, without a kustomization.yaml, every
  manifest below it), then `postBuild.substitute` variables replaced as Flux does (`${VAR}`,
  `${VAR:=default}`), typed again where a whole value was one variable;
- HelmRelease: the chart at `spec.chart.spec.chart`, with `valuesFrom` ConfigMaps of the
  repository and `spec.values`, each attributed to its own lines.
"""

from __future__ import annotations

import posixpath
import re
import weakref
from collections.abc import Iterable
from typing import Any

from gatekeeper.document import Document, Loaded, Problem
from gatekeeper.sources import LoadContext
from gatekeeper.tree import Tree
from gatekeeper.yamldoc import NodeLocator, YamlDocument, decode, load_all

BOOTSTRAP_SOURCE = "flux-system"
_KUSTOMIZATION_API = b"kustomize.toolkit.fluxcd.io/"
_HELM_RELEASE_API = b"helm.toolkit.fluxcd.io/"
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[=-]([^}]*))?\}")
# Per tree, per kind: objects by name (GitRepositories, ConfigMaps), found once per kind.
_INDEX: weakref.WeakKeyDictionary[Tree, dict[str, dict[str, list[tuple[str, YamlDocument]]]]] = (
    weakref.WeakKeyDictionary()
)


def is_flux_deployer(obj: Any) -> bool:
    if not isinstance(obj, dict):
        return False
    api = str(obj.get("apiVersion", ""))
    return (
        obj.get("kind") == "Kustomization" and api.startswith("kustomize.toolkit.fluxcd.io/")
    ) or (obj.get("kind") == "HelmRelease" and api.startswith("helm.toolkit.fluxcd.io/"))


def _objects(tree: Tree, kind: str, name: str) -> list[tuple[str, YamlDocument]]:
    """Objects of a kind and name anywhere in the repository, found once per tree and kind:
    a GitRepository is looked up for every deployer, a ConfigMap (far more files name one)
    only for a HelmRelease's valuesFrom."""
    by_kind = _INDEX.setdefault(tree, {})
    if kind not in by_kind:
        by_kind[kind] = _index(tree, kind)
    return by_kind[kind].get(name, [])


def prepare(tree: Tree, files: Iterable[tuple[str, bytes]]) -> None:
    """Build the indexes that the Flux deployers among `files` will look up, before a scan
    forks its workers: they inherit one copy, where each built its own (a read of every
    file of the tree: ~0.5-1 CPU-s per worker on 8,000 files). Only those a deployer will
    look up: one syncing the bootstrap source looks up nothing. A deployer missed here
    (spelled through a template, renamed by an overlay's patch) still builds its index
    where it needs it."""
    kinds: set[str] = set()
    for file, data in files:
        if _KUSTOMIZATION_API not in data and _HELM_RELEASE_API not in data:
            continue
        try:
            entries = list(load_all(file, decode(data)))
        except UnicodeDecodeError:
            entries = []
        for entry in entries:
            if isinstance(entry, YamlDocument):
                kinds |= _looked_up(entry.obj)
            else:  # unreadable here: whatever such a file may look up
                kinds |= {"GitRepository", "ConfigMap"}
    for kind in sorted(kinds):
        _objects(tree, kind, "")


def _looked_up(obj: Any) -> set[str]:
    """The kinds of objects a Flux deployer will look up by name (see expand)."""
    if not is_flux_deployer(obj):
        return set()
    spec = _mapping(obj.get("spec"))
    if obj.get("kind") == "Kustomization":
        ref = spec.get("sourceRef")
    else:
        ref = _mapping(_mapping(spec.get("chart")).get("spec")).get("sourceRef")
    kinds = set()
    if isinstance(ref, dict) and ref.get("kind") == "GitRepository":
        if str(ref.get("name") or "") != BOOTSTRAP_SOURCE:
            kinds.add("GitRepository")
        values = spec.get("valuesFrom") if obj.get("kind") == "HelmRelease" else None
        if isinstance(values, list) and any(_mapping(v).get("kind") == "ConfigMap" for v in values):
            kinds.add("ConfigMap")
    return kinds


def _index(tree: Tree, kind: str) -> dict[str, list[tuple[str, YamlDocument]]]:
    from gatekeeper.sources.kubernetes import may_spell

    index: dict[str, list[tuple[str, YamlDocument]]] = {}
    for file in tree.list_dir("."):
        if not file.endswith((".yaml", ".yml")):
            continue
        try:
            data = tree.read(file)
        except OSError:
            continue
        if not may_spell(data, [kind.encode()]):
            continue
        try:
            entries = list(load_all(file, decode(data)))
        except UnicodeDecodeError:
            continue
        for entry in entries:
            if isinstance(entry, YamlDocument) and isinstance(entry.obj, dict):
                metadata = entry.obj.get("metadata")
                found = metadata.get("name") if isinstance(metadata, dict) else None
                if isinstance(found, str) and entry.obj.get("kind") == kind:
                    index.setdefault(found, []).append((file, entry))
    return index


def _source_is_local(ref: Any, tree: Tree, repo_urls: list[str]) -> bool:
    from gatekeeper.sources.gitops import normalise_url

    if not isinstance(ref, dict) or ref.get("kind") != "GitRepository":
        return False
    name = str(ref.get("name") or "")
    if name == BOOTSTRAP_SOURCE:  # the repository `flux bootstrap` syncs: this one
        return True
    wanted = {normalise_url(url) for url in repo_urls}
    for _, entry in _objects(tree, "GitRepository", name):
        spec = entry.obj.get("spec")
        url = str(spec.get("url") or "") if isinstance(spec, dict) else ""
        if normalise_url(url) in wanted:
            return True
    return False


def expand(file: str, document: Document, context: LoadContext) -> Loaded:
    """What a Flux Kustomization or HelmRelease in `file` applies from this repository."""
    from gatekeeper.sources.gitops import NAME as GITOPS

    loaded = Loaded()
    spec = _mapping(document.obj.get("spec"))
    repo_urls = [str(u) for u in context.options_for(GITOPS).get("repoURLs", [])]
    if document.kind == "Kustomization":
        if _source_is_local(spec.get("sourceRef"), context.tree, repo_urls):
            _kustomization(file, document, spec, context, loaded)
    else:
        chart = _mapping(spec.get("chart"))
        chart_spec = _mapping(chart.get("spec"))
        if _source_is_local(chart_spec.get("sourceRef"), context.tree, repo_urls):
            _helm_release(file, document, spec, chart_spec, context, loaded)
    return loaded


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _path(
    file: str, document: Document, value: Any, where: tuple[str, ...], loaded: Loaded
) -> str | None:
    path = posixpath.normpath(str(value or ".").strip().removeprefix("./").strip("/") or ".")
    if path == ".." or path.startswith(("../", "/")):
        line = document.locator.locate(where).line
        message = f"{document.kind} path {value} is outside the repository; not read"
        loaded.problems.append(Problem("GK-RENDER-ERROR", file, line, message))
        return None
    return path


def _kustomization(
    file: str, document: Document, spec: dict[str, Any], context: LoadContext, loaded: Loaded
) -> None:
    from gatekeeper.sources import kubernetes, kustomize

    path = _path(file, document, spec.get("path"), ("spec", "path"), loaded)
    if path is None:
        return
    tree = context.tree
    built = Loaded()
    for name in kustomize.KUSTOMIZATION_FILES:
        candidate = name if path == "." else posixpath.join(path, name)
        if tree.exists(candidate):
            built = kustomize.load(candidate, tree.read(candidate), context)
            break
    else:
        for manifest in tree.list_dir(path):
            if kubernetes.detect(manifest):
                found = kubernetes.load(manifest, tree.read(manifest), context)
                built.documents.extend(found.documents)
                built.problems.extend(found.problems)
    variables = _mapping(_mapping(spec.get("postBuild")).get("substitute"))
    for built_document in built.documents:
        built_document.obj = substitute(
            built_document.obj, {str(k): str(v) for k, v in variables.items()}
        )
    loaded.documents.extend(built.documents)
    loaded.problems.extend(built.problems)


def substitute(value: Any, variables: dict[str, str]) -> Any:
    """Flux's post-build substitution: `${VAR}`, `${VAR:=default}`; a value that was one
    whole variable is read as YAML again (`replicas: ${REPLICAS}` becomes a number)."""
    if isinstance(value, str):
        if "${" not in value:
            return value

        def replace(match: re.Match[str]) -> str:
            found = variables.get(match.group(1))
            if found is None:
                return match.group(2) if match.group(2) is not None else match.group(0)
            return found

        whole = _VARIABLE.fullmatch(value)
        text = _VARIABLE.sub(replace, value)
        if whole and text != value:
            import yaml

            try:
                typed = yaml.safe_load(text)
            except yaml.YAMLError:
                return text
            return typed if isinstance(typed, (str, int, float, bool)) else text
        return text
    if isinstance(value, dict):
        return {key: substitute(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, variables) for item in value]
    return value


def _helm_release(
    file: str,
    document: Document,
    spec: dict[str, Any],
    chart_spec: dict[str, Any],
    context: LoadContext,
    loaded: Loaded,
) -> None:
    from gatekeeper.sources import helm

    path = _path(
        file, document, chart_spec.get("chart"), ("spec", "chart", "spec", "chart"), loaded
    )
    if path is None:
        return
    chart = helm.CHART_FILE if path == "." else posixpath.join(path, helm.CHART_FILE)
    if not context.tree.exists(chart):
        line = document.locator.locate(("spec", "chart", "spec", "chart")).line
        message = f"HelmRelease chart {path} has no Chart.yaml in this repository"
        loaded.problems.append(Problem("GK-RENDER-ERROR", file, line, message))
        return
    inline: list[tuple[dict[str, Any], NodeLocator]] = []
    namespace = document.namespace or "default"
    for entry in spec.get("valuesFrom") or []:
        values = _config_map_values(entry, namespace, context.tree)
        if values is not None:
            inline.append(values)
    locator = document.locator
    node = locator.node_at(("spec", "values")) if isinstance(locator, NodeLocator) else None
    if isinstance(spec.get("values"), dict) and node is not None:
        inline.append((spec["values"], NodeLocator(file, node)))
    release = helm.Release(
        name=str(spec.get("releaseName") or document.name or helm.DEFAULT_RELEASE),
        namespace=str(spec.get("targetNamespace") or namespace),
        inline=tuple(inline),
    )
    rendered = helm.render_chart(chart, context.tree.read(chart), context, [release])
    loaded.documents.extend(rendered.documents)
    loaded.problems.extend(rendered.problems)


def _config_map_values(
    entry: Any, namespace: str, tree: Tree
) -> tuple[dict[str, Any], NodeLocator] | None:
    """`valuesFrom: [{kind: ConfigMap, name, valuesKey}]`: the values in a ConfigMap of this
    repository, located at their lines inside its data block."""
    if not isinstance(entry, dict) or entry.get("kind") != "ConfigMap":
        return None
    key = str(entry.get("valuesKey") or "values.yaml")
    for file, document in _objects(tree, "ConfigMap", str(entry.get("name") or "")):
        metadata = document.obj.get("metadata") or {}
        if str(metadata.get("namespace") or namespace) != namespace:
            continue
        data = document.obj.get("data")
        text = data.get(key) if isinstance(data, dict) else None
        if not isinstance(text, str):
            continue
        node = NodeLocator(file, document.node).node_at(("data", key))
        for values in load_all(file, text):
            if (
                isinstance(values, YamlDocument)
                and isinstance(values.obj, dict)
                and node is not None
            ):
                # A block scalar's content starts on the line after its `key: |`.
                return values.obj, NodeLocator(file, values.node, node.start_mark.line + 1)
    return None
