"""Argo CD Applications that deploy from this repository: evaluate what they will deploy.

An Application whose source is this repository (its repoURL is one of `sources.gitops.repoURLs`
in .gatekeeper.yml, or it has a `path` and no repoURL) deploys the manifests, kustomization or
chart at that path, with the Application's Helm values files, release name and destination
namespace. Those objects are loaded as the Application would render them, located in their
own files, and carry the Application's file as their rendering variant.
"""

from __future__ import annotations

import itertools
import posixpath
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

import yaml

from gatekeeper import lazy_re, ownership
from gatekeeper.document import Document, Loaded, Problem
from gatekeeper.fieldpath import Path
from gatekeeper.sources import LoadContext, gitops_kustomize, gitops_overrides, helm_set
from gatekeeper.sources.applicationsets import UNKNOWN_PARAMS
from gatekeeper.sources.lists import list_items
from gatekeeper.tree import Tree
from gatekeeper.yamldoc import NodeLocator, YamlDocument, load_all, safe_load

if TYPE_CHECKING:
    from gatekeeper.sources.jsonnet import Jsonnets

NAME = "gitops"
DEPLOYED_BY = "deployed by "  # how the variant of what an Application deploys starts
# Applications being expanded in this process: app-of-apps cycles stop here.
_ACTIVE: set[str] = set()


def is_application(obj: Any) -> bool:
    return (
        isinstance(obj, dict)
        and obj.get("kind") == "Application"
        and str(obj.get("apiVersion", "")).startswith("argoproj.io/")
    )


# The kinds is_expandable may accept: any other object is answered by one lookup (asked
# for every document of every file, most of them none of these).
_EXPANDABLE_KINDS = frozenset(
    {"Application", "ApplicationSet", "Kustomization", "HelmRelease", "Environment"}
)


def is_expandable(obj: Any) -> bool:
    """An Argo CD Application or ApplicationSet, a Flux Kustomization or HelmRelease, a
    Tanka environment: it names what it deploys."""
    kind = obj.get("kind") if isinstance(obj, dict) else None
    if not isinstance(kind, str) or kind not in _EXPANDABLE_KINDS:
        return False
    from gatekeeper.sources.applicationsets import is_application_set
    from gatekeeper.sources.flux import is_flux_deployer
    from gatekeeper.sources.tanka import is_environment

    return (
        is_application(obj)
        or is_application_set(obj)
        or is_flux_deployer(obj)
        or is_environment(obj)
    )


def _spec(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec")
    return spec if isinstance(spec, dict) else {}


def _source_paths(obj: dict[str, Any]) -> list[tuple[tuple[str | int, ...], dict[str, Any]]]:
    """Each source with its field path (`spec.source`, `spec.sources[1]`), and the source
    hydrator's `drySource`: Argo CD renders it (helm, kustomize, directory, plugin) and
    deploys what it commits."""
    spec = _spec(obj)
    found: list[tuple[tuple[str | int, ...], dict[str, Any]]] = []
    if isinstance(spec.get("source"), dict):
        found.append((("spec", "source"), spec["source"]))
    listed = spec.get("sources")
    for index, source in enumerate(listed if isinstance(listed, list) else []):
        if isinstance(source, dict):
            found.append((("spec", "sources", index), source))
    hydrator = spec.get("sourceHydrator")
    if isinstance(hydrator, dict) and isinstance(hydrator.get("drySource"), dict):
        found.append((("spec", "sourceHydrator", "drySource"), hydrator["drySource"]))
    return found


def _all_sources(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return [source for _, source in _source_paths(obj)]


def normalise_url(url: str) -> str:
    """One spelling of a git repository's address: `git@github.com:acme/x.git`,
    `ssh://git@github.com:22/acme/x`, `https://www.github.com/Acme/X/` -> `github.com/acme/x`."""
    text = url.strip()
    scheme = re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", text)
    rest = text[scheme.end() :] if scheme else text
    host, slash, path = rest.partition("/")
    host = host.rsplit("@", 1)[-1]
    if scheme:
        host = host.split(":", 1)[0]  # a port
    elif ":" in host:  # scp-like `host:owner/repo`
        host, _, first = host.partition(":")
        path = f"{first}/{path}" if slash else first
    path = _path_segments(path.split("?", 1)[0].split("#", 1)[0]).removesuffix(".git")
    # Hosts name repositories case-insensitively (GitHub, GitLab) and serve `www.` alike: a
    # spelling that reaches this repository must not escape the gate (a different repository
    # matched by case alone only makes more judged).
    host = host.lower().removeprefix("www.")
    return f"{host}/{path.lower()}" if path else host


def _path_segments(path: str) -> str:
    """A URL path as git and curl send it: percent-escapes decoded, `.` and `..` segments
    resolved, empty segments (`//`, a trailing `/`) dropped."""
    from urllib.parse import unquote

    segments: list[str] = []
    for segment in unquote(path).replace("\\", "/").split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment not in ("", "."):
            segments.append(segment)
    return "/".join(segments)


def _is_local(source: dict[str, Any], repo_urls: list[str]) -> bool:
    url = str(source.get("repoURL", ""))
    return not url.strip() or normalise_url(url) in {normalise_url(u) for u in repo_urls}


def local_sources(obj: dict[str, Any], repo_urls: list[str]) -> list[dict[str, Any]]:
    """The Application's sources that deploy a path of this repository: a source of this
    repository without `path` deploys its root (unless it only lends values as a `ref`)."""
    return [
        source
        for source in _all_sources(obj)
        if not source.get("chart")
        and _is_local(source, repo_urls)
        and (
            isinstance(source.get("path"), str)
            or (source.get("path") is None and not source.get("ref") and source.get("repoURL"))
        )
    ]


def local_refs(obj: dict[str, Any], repo_urls: list[str]) -> set[str]:
    """`ref:` names of sources that are this repository (`$name/values.yaml` value files)."""
    return {
        str(source["ref"])
        for source in _all_sources(obj)
        if source.get("ref") and _is_local(source, repo_urls)
    }


def expand_made(loaded: Loaded, context: LoadContext) -> None:
    """Applications and Flux objects among loaded documents (written in manifests, rendered
    by a chart: app of apps, built by a kustomization: an overlay patching a HelmRelease's
    values): what they deploy from here is judged as they are."""
    expandable = [document for document in loaded.documents if is_expandable(document.obj)]
    if not expandable:  # most files: no context to enter
        return
    from gatekeeper.sources.flux import built_with

    made = list(loaded.documents)
    with built_with(made):
        for document in expandable:
            _merge(loaded, expand(document.file, document, context))


def expand(file: str, document: Document, context: LoadContext) -> Loaded:
    """What `document` (an Application, ApplicationSet, Flux Kustomization or HelmRelease in
    `file`) deploys from this repository."""
    loaded = Loaded()
    obj = document.obj
    repo_urls = context.repo_urls()
    key = f"{file}#{document.index}#{document.kind}/{document.name}"
    if key in _ACTIVE:
        return loaded
    from gatekeeper.sources.applicationsets import is_application_set
    from gatekeeper.sources.tanka import is_environment

    if is_application_set(obj):  # each Application it makes
        from gatekeeper.sources.applicationsets import applications

        made, problems = applications(
            file, document, context.tree, lambda git: _is_local(git, repo_urls)
        )
        loaded.problems.extend(problems)
        _ACTIVE.add(key)
        try:
            for application in made:
                _merge(loaded, expand(file, application, context))
        finally:
            _ACTIVE.discard(key)
        return loaded
    _ACTIVE.add(key)
    try:
        if is_application(obj):
            destination = _spec(obj).get("destination")
            namespace = (
                str(destination.get("namespace") or "") if isinstance(destination, dict) else ""
            )
            refs = local_refs(obj, repo_urls)
            local = [id(source) for source in local_sources(obj, repo_urls)]
            for where, source in _source_paths(obj):
                if source.get("ref") and str(source["ref"]) in refs:
                    loaded.problems.extend(_pinned_ref(file, document, source, where, context))
                if id(source) in local:
                    deployed = _Source(file, document, source, where, namespace, refs)
                    _expand_at_revision(deployed, context, loaded)
                elif source.get("chart"):
                    deployed = _Source(file, document, source, where, namespace, refs)
                    _external_chart(deployed, context, loaded)
                elif not _is_local(source, repo_urls) and is_origin(
                    str(source.get("repoURL") or ""), context.tree
                ):  # (a listed `ref:`-only source lends values files: nothing to say)
                    line = document.locator.locate((*where, "repoURL")).line
                    message = unlisted_origin(str(source["repoURL"]))
                    loaded.problems.append(Problem("GK-NOT-EXPANDED", file, line, message))
        elif is_environment(obj):  # Tanka's: it sets namespaces itself
            from gatekeeper.sources import tanka

            namespace = ""
            _merge(loaded, tanka.expand(file, document, context))
        else:  # a Flux Kustomization or HelmRelease
            from gatekeeper.sources import flux

            namespace = str(_spec(obj).get("targetNamespace") or "")
            _merge(loaded, flux.expand(file, document, context))
    finally:
        _ACTIVE.discard(key)
    deployer = f"{file}:{document.name}"
    cluster = destination_cluster(obj)
    for expanded in loaded.documents:
        # The innermost deployer's cluster is where the object lands (an app of apps
        # creates its Applications beside Argo CD, their objects go where they point).
        where_to = expanded.extra.setdefault("cluster", cluster)
        expanded.extra["variant"] = (
            DEPLOYED_BY + deployer + (f"{ON_CLUSTER}{where_to}" if where_to else "")
        )
        expanded.extra["application"] = deployer
        if namespace and not expanded.namespace:
            expanded.namespace = namespace
    return loaded


# Argo CD's names for the cluster it runs in: an Application sent there says no cluster.
IN_CLUSTER = frozenset({"https://kubernetes.default.svc", "in-cluster"})
ON_CLUSTER = " on cluster "  # how a deployer's label names another cluster than its own


def destination_cluster(obj: dict[str, Any]) -> str:
    """The cluster an Application or Flux object deploys to, when it is not the one it runs
    in (`destination.server`/`name`; a Flux object's `kubeConfig` secret): part of what it
    deploys, so that sending a known violation from a sandbox cluster to production is a
    change (change.classify: a new rendering)."""
    spec = _spec(obj)
    destination = spec.get("destination")
    if isinstance(destination, dict):
        cluster = str(destination.get("name") or destination.get("server") or "")
        return "" if cluster.rstrip("/") in IN_CLUSTER else cluster
    kube_config = spec.get("kubeConfig")
    if isinstance(kube_config, dict):
        secret = kube_config.get("secretRef")
        if isinstance(secret, dict) and secret.get("name"):
            return f"kubeConfig {secret['name']}"
        return "kubeConfig"
    return ""


def _pinned_ref(
    file: str,
    document: Document,
    source: dict[str, Any],
    where: tuple[str | int, ...],
    context: LoadContext,
) -> list[Problem]:
    """A `ref` source of this repository lends its values files at its own revision: one
    other than the judged tree's is not read here, and says so (its values could make the
    chart privileged unjudged)."""
    from gatekeeper.sources import gitops_revision

    revision = source.get("targetRevision")
    if not gitops_revision.revision(_git_revision(source), context.tree).other:
        return []
    line = document.locator.locate((*where, "targetRevision")).line
    message = (
        f"values files of ref {source['ref']} are read at revision {revision} of this"
        " repository; they are judged as the tree at hand has them, not as deployed"
    )
    return [Problem("GK-REVISION-UNSEEN", file, line, message)]


class _Source(NamedTuple):
    """One source of an Application that deploys from this repository."""

    file: str  # the Application's
    document: Document  # the Application
    source: dict[str, Any]
    where: tuple[str | int, ...]  # the source's field path in the Application
    namespace: str  # its destination namespace
    refs: set[str]  # `ref:` names of sources that are this repository


def _expand_at_revision(deployed: _Source, context: LoadContext, loaded: Loaded) -> None:
    """A source of this repository as Argo CD deploys it: from the revision its
    `targetRevision` names. Another tag or commit is judged from git, every finding at the
    `targetRevision` line; one this checkout lacks is said not to be judged."""
    from gatekeeper.sources import gitops_revision

    file, document, source, where, _, _ = deployed
    revision = source.get("targetRevision")
    found = gitops_revision.revision(_git_revision(source), context.tree)
    line = document.locator.locate((*where, "targetRevision")).line
    if found.tree is None:
        message = (
            f"deploys {source.get('path')} at revision {revision} of this repository, which"
            " this checkout does not have: what it deploys is not judged"
        )
        loaded.problems.append(Problem("GK-REVISION-UNSEEN", file, line, message))
        return
    if not found.other:
        _expand_source(deployed, context, loaded)
        return
    pinned = Loaded()
    at = LoadContext(tree=found.tree, options=context.options)
    _expand_source(deployed, at, pinned)
    gitops_revision.pin(pinned, file, line, str(revision))
    _merge(loaded, pinned)


# A version, not a constraint, as Masterminds/semver's NewVersion reads one (loosely).
_SEMVER = lazy_re.compile(
    r"v?[0-9]+(\.[0-9]+)?(\.[0-9]+)?(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?"
)


def _git_revision(source: dict[str, Any]) -> str:
    """The git revision Argo CD resolves for a source: its `targetRevision`, or with a
    `tagPrefix` (argo-cd #27290: versions.MaxVersion) the prefixed tag of a version
    (`v1.0.1` with `app1/` is the tag `app1/v1.0.1`, not `v1.0.1`) and, for a constraint,
    one of the prefixed tags, which is not known here (a range: said not judged)."""
    revision = str(source.get("targetRevision") or "").strip()
    prefix = source.get("tagPrefix")
    if not isinstance(prefix, str) or not prefix:
        return revision
    if _SEMVER.fullmatch(revision):
        return prefix + revision
    return "*" + revision  # a constraint over the prefixed tags (or an error: none at all)


def _external_chart(deployed: _Source, context: LoadContext, loaded: Loaded) -> None:
    """A chart of a chart repository: rendered from its vendored copy in this repository
    (`sources.helm.vendored`) with the Application's values; without one, said not judged."""
    from gatekeeper.sources import helm

    file, document, source, where, _, _ = deployed
    chart, url = str(source["chart"]), str(source.get("repoURL") or "")
    version = str(source.get("targetRevision") or "")
    path = helm.vendored(context.options_for(helm.NAME), chart, url, version)
    if path is None or not context.tree.exists(helm.chart_file(path)):
        line = document.locator.locate((*where, "chart")).line
        loaded.problems.append(Problem("GK-NOT-EXPANDED", file, line, external(chart, url, path)))
        loaded.problems.extend(_remote_values(file, document, source, where, chart))
        loaded.problems.extend(_remote_value_files(deployed, chart, context))
        loaded.problems.extend(_remote_file_parameters(deployed, chart, context))
        return
    _expand_source(deployed._replace(source={**source, "path": path}), context, loaded)


def _remote_values(
    file: str, document: Document, source: dict[str, Any], where: Path, chart: str
) -> list[Problem]:
    """What the Application's own values ask of a chart it does not let us render
    (remote_values): `valuesObject`, a `values` string, `parameters`."""
    from gatekeeper.sources import remote_values

    helm_spec = source.get("helm")
    if not isinstance(helm_spec, dict):
        return []
    at = (*where, "helm")
    given: list[tuple[Any, Path]] = [(helm_spec.get("valuesObject"), (*at, "valuesObject"))]
    text = helm_spec.get("values")
    if isinstance(text, str) and text.strip():
        try:
            given.append((safe_load(text), (*at, "values")))
        except yaml.YAMLError as error:  # Argo CD fails the source: said elsewhere, but
            if "maximum nesting depth" in str(error):  # nested past libyaml's depth: here
                line = document.locator.locate((*at, "values")).line
                message = f"helm values for chart {chart} are nested too deeply to read; not judged"
                return [Problem("GK-PARSE-ERROR", file, line, message)]
    params = remote_values.parameters(helm_spec.get("parameters"))
    given.append((params, (*at, "parameters")))

    def line_of(path: Path) -> int:
        if path[: len(at) + 1] in ((*at, "values"), (*at, "parameters")):
            path = path[: len(at) + 1]  # a string or `--set` list: at its key
        return document.locator.locate(path).line

    return remote_values.problems(file, chart, given, line_of)


def _remote_value_files(deployed: _Source, chart: str, context: LoadContext) -> list[Problem]:
    """What the values files of this repository (`$ref/file` of a source that is this
    repository: Argo CD's documented multi-source pattern) ask of a chart that is not
    rendered here (remote_values), each at its line in the values file: a pull request
    changing only the file is judged through the Application that reads it."""
    from gatekeeper.sources import remote_values
    from gatekeeper.yamldoc import decode

    found: list[Problem] = []
    for name in _values_files(deployed.source, "", deployed.refs, only_refs=True):
        if name.startswith("../") or not context.tree.exists(name):
            continue  # said by the checks of a rendered source; nothing here to read
        for entry in load_all(name, decode(context.tree.read(name))):
            if not isinstance(entry, YamlDocument):
                continue
            locator = NodeLocator(name, entry.node)

            def line_of(path: Path, locator: NodeLocator = locator) -> int:
                return locator.locate(path).line

            found.extend(remote_values.problems(name, chart, [(entry.obj, ())], line_of))
    return found


def _remote_file_parameters(deployed: _Source, chart: str, context: LoadContext) -> list[Problem]:
    """What `helm.fileParameters` (`--set-file NAME=FILE`: the file's text is the value) ask
    of a chart that is not rendered here (remote_values), for files of this repository
    (`$ref/file`: Argo CD resolves a reference there as in valueFiles), each at line 1 of
    the file: a pull request adding the parameter, or changing only the file, is judged (red
    team s24 trust18 c06: `{name: controller.hostNetwork, path: $values/hn.txt}` holding
    `true` was green). A file of the chart itself is not this repository's to change."""
    from gatekeeper.sources import remote_values

    options = deployed.source.get("helm")
    entries = options.get("fileParameters") if isinstance(options, dict) else None
    found: list[Problem] = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        written = str(entry.get("path") or "")
        name = _values_file("", written, deployed.refs) if written.startswith("$") else None
        if name is None or name.startswith("../") or not context.tree.exists(name):
            continue
        try:
            text = context.tree.read(name).decode("utf-8")
            path = helm_set.path_of(entry["name"])
        except (OSError, UnicodeDecodeError, helm_set.SetError):
            continue  # Argo CD fails the source: said by the rendering checks
        values = helm_set.apply({}, path, text.strip())
        found.extend(remote_values.problems(name, chart, [(values, ())], lambda _: 1))
    return found


def is_origin(url: str, tree: Tree) -> bool:
    """Is `url` the `origin` remote of the git repository the tree is read from? (Such a
    source is this repository, but only `sources.gitops.repoURLs` makes it so: a clone's
    remote is not part of the trusted configuration.)"""
    if not url.strip():
        return False
    origin = ownership.of(tree).remember("origin remote", "", _origin)
    return origin is not None and normalise_url(url) == origin


def _origin(tree: Tree, _: str) -> str | None:
    """The `origin` remote's URL of the checkout the tree is read from (git.remotes)."""
    from pathlib import Path

    from gatekeeper.context import git_top_level
    from gatekeeper.git import remotes

    commit = getattr(tree, "commit", None)
    root = getattr(tree, "root", None)
    if commit is not None:
        top: Path | None = Path(commit.repo.working_tree_dir or commit.repo.git_dir)
    else:
        top = git_top_level(Path(root)) if root is not None else None
    url = next((url for name, url in remotes(top) if name == "origin"), "") if top else ""
    return normalise_url(url) if url.strip() else None


def unlisted_origin(url: str) -> str:
    """What is said of a deployer whose source is this repository's origin remote, unlisted."""
    return (
        f"deploys {url}, this repository's origin remote, which sources.gitops.repoURLs does"
        " not list: what it deploys is not judged (list the URL there)"
    )


def external(chart: str, url: str, path: str | None) -> str:
    """What is said of an external chart that is not judged."""
    named = f"chart {chart} of {url or 'its chart repository'}"  # one note for all versions
    if path is not None:
        return f"deploys {named}; its vendored copy {path} has no Chart.yaml: not judged"
    return (
        f"deploys {named}, which is not in this repository: what it deploys is not judged"
        " (vendor it and name the copy in sources.helm.vendored)"
    )


def _expand_source(deployed: _Source, context: LoadContext, loaded: Loaded) -> None:
    from gatekeeper.sources import helm, kubernetes, kustomize

    file, document, source, where, _, _ = deployed
    tree = context.tree
    path = posixpath.normpath(str(source.get("path") or "").strip("/") or ".")
    if path != ".." and not path.startswith("../"):
        overridden = gitops_overrides.apply(document, where, source, path, tree)
        if overridden is not None:
            document, source, problems = overridden
            loaded.problems.extend(problems)
            if problems:
                return  # Argo CD cannot render the source: nothing is deployed
            deployed = deployed._replace(document=document, source=source)
    kind = _explicit_type(source)
    if kind == "multiple":  # Argo CD refuses it: nothing is deployed
        line = document.locator.locate(where).line
        message = "more than one of helm, kustomize, directory and plugin: nothing is deployed"
        loaded.problems.append(Problem("GK-RENDER-ERROR", file, line, message))
        return
    plugin = source.get("plugin")
    if plugin is not None:  # a config management plugin renders it: its files are read here
        named = plugin.get("name") if isinstance(plugin, dict) else None
        line = document.locator.locate((*where, "plugin")).line
        message = (
            f"Argo CD renders {path} with the config management plugin {named or '(found)'};"
            " its chart, kustomization or manifests are judged, not what the plugin makes"
        )
        # Its env and parameters (HELM_ARGS=--set ...) change what it makes from the same files.
        told = isinstance(plugin, dict) and bool(plugin.get("env") or plugin.get("parameters"))
        if told:
            message += " with its env and parameters"
        code = "GK-LOCAL-NOT-EXPANDED" if told else "GK-NOT-EXPANDED"
        loaded.problems.append(Problem(code, file, line, message))
    elif kind is None and path != ".." and not path.startswith("../"):
        plugin = _discovered_plugin(deployed, path, tree, loaded)
    if path == ".." or path.startswith("../"):
        line = document.locator.locate((*where, "path")).line
        message = f"Application path {path} is outside the repository; not read"
        loaded.problems.append(Problem("GK-RENDER-ERROR", file, line, message))
        return
    chart = helm.chart_file(path)
    kustomized = [
        c
        for c in (
            posixpath.join(path, n) if path != "." else n for n in kustomize.KUSTOMIZATION_FILES
        )
        if tree.exists(c)
    ]
    # Without a type named, Argo CD takes a kustomization over a chart beside it.
    if tree.exists(chart) and (kind == "helm" or (kind in (None, "plugin") and not kustomized)):
        release = _helm_release(deployed, path, context)
        _merge(loaded, helm.render_chart(chart, tree.read(chart), context, release.releases))
        loaded.problems.extend(release.problems)
        return
    if kind != "directory":
        edits = _kustomize_edits(deployed, path, context)
        if edits is not None:  # Argo CD edits the kustomization before it builds it
            names = kustomize.KUSTOMIZATION_FILES
            _merge(loaded, gitops_kustomize.build(path, names, edits, context))
            return
        if kustomized:
            _merge(loaded, kustomize.load(kustomized[0], tree.read(kustomized[0]), context))
            return
    directory = source.get("directory") if isinstance(source.get("directory"), dict) else {}
    assert isinstance(directory, dict)
    recurse = bool(directory.get("recurse"))
    listed = [
        f
        for f in tree.list_dir(path)
        if (recurse or (posixpath.dirname(f) or ".") == path) and _included(f, path, directory)
    ]
    # `disableExtensionFilter: true` (argo-cd #28571): every file include/exclude leaves is
    # read as YAML or JSON, not only `.yaml`, `.yml` and `.json` ones (`app.tpl`, `pod`).
    unfiltered = directory.get("disableExtensionFilter") is True
    files = [f for f in listed if kubernetes.detect(f) or (unfiltered and not _jsonnet_file(f))]
    if plugin is None and not files and not any(f.endswith(".jsonnet") for f in listed):
        line = document.locator.locate((*where, "path")).line
        loaded.problems.append(
            Problem("GK-RENDER-ERROR", file, line, f"Application path {path} has no manifests")
        )
    evaluated = [f for f in listed if _jsonnet_file(f)] if plugin is None else []
    if evaluated:
        _merge(loaded, _jsonnet(deployed, path, evaluated, context))
    for manifest in files:
        _merge(loaded, kubernetes.load(manifest, tree.read(manifest), context, applied=True))


def _jsonnet_file(path: str) -> bool:
    return path.endswith(".jsonnet")


def _discovered_plugin(
    deployed: _Source, path: str, tree: Tree, loaded: Loaded
) -> dict[str, Any] | None:
    """A config management plugin of this repository that takes the source by discovery
    (gitops_plugins): said, and the source read as a plugin's (None: no plugin does)."""
    from gatekeeper.sources import gitops_plugins

    found = gitops_plugins.discovered(tree, path)
    if found is None:
        return None
    file, document, _, where, _, _ = deployed
    line = document.locator.locate(where).line
    plugin = found.plugin
    if found.certain:
        message = (
            f"Argo CD renders {path} with the config management plugin {plugin.name}"
            f" ({plugin.file}), whose discover rule {found.rule} takes it: what the plugin"
            " makes is not judged, only its chart, kustomization or manifests"
        )
        loaded.problems.append(Problem("GK-LOCAL-NOT-EXPANDED", file, line, message))
    else:
        message = (
            f"Argo CD may render {path} with the config management plugin {plugin.name}"
            f" ({plugin.file}), which discovers sources by a command not run here"
        )
        loaded.problems.append(Problem("GK-NOT-EXPANDED", file, line, message))
        return None
    return {"name": plugin.name}


def _explicit_type(source: dict[str, Any]) -> str | None:
    """The source type an Application names (argo-cd `ApplicationSource.ExplicitType`, after
    `NormalizeSource` drops empty ones): helm, kustomize, directory or plugin; "multiple"
    when it names more than one; None when it names none (the files decide)."""
    named = [
        key
        for key in ("helm", "kustomize", "directory", "plugin")
        if source.get(key) is not None and source.get(key) != {}
    ]
    if len(named) > 1:
        return "multiple"
    return named[0] if named else None


def _jsonnet(deployed: _Source, path: str, files: list[str], context: LoadContext) -> Loaded:
    """What the `*.jsonnet` files of a directory source yield, evaluated with the source's
    `directory.jsonnet` (extVars, tlas, libs) and Argo CD's build environment in them."""
    from gatekeeper.sources import jsonnet

    _, document, source, where, _, _ = deployed
    if not jsonnet.available():
        loaded = Loaded()
        for evaluated in files:
            message = (
                f"Argo CD evaluates {evaluated} and applies what it makes; the jsonnet package"
                " is not installed (gitops-policy-gate[jsonnet]), so it is not judged"
            )
            loaded.problems.append(Problem("GK-RENDERER-MISSING", evaluated, 1, message))
        return loaded
    directory = source.get("directory")
    options = directory.get("jsonnet") if isinstance(directory, dict) else None
    at = (*where, "directory", "jsonnet")
    environment = _build_environment(deployed)
    chosen = jsonnet.settings(
        options, lambda key: document.locator.locate((*at, *key)), environment
    )
    loaded = jsonnet.evaluate_files(files, path, chosen, context)
    expand_made(loaded, context)  # an app of apps written in Jsonnet
    return loaded


def _build_environment(deployed: _Source) -> dict[str, str]:
    """Argo CD's build environment of a source (argo-cd docs "Build Environment") that is
    known here; the revision's commit and the cluster's versions are not."""
    _, document, source, _, namespace, _ = deployed
    return {
        "ARGOCD_APP_NAME": document.name,
        "ARGOCD_APP_NAMESPACE": namespace,
        "ARGOCD_APP_PROJECT_NAME": str(_spec(document.obj).get("project") or ""),
        "ARGOCD_APP_SOURCE_PATH": str(source.get("path") or ""),
        "ARGOCD_APP_SOURCE_REPO_URL": str(source.get("repoURL") or ""),
        "ARGOCD_APP_SOURCE_TARGET_REVISION": str(source.get("targetRevision") or ""),
    }


def _revision_environment(commit: str) -> dict[str, str]:
    """The build environment's commit (gitops_revision.commit_of), and the cluster's versions
    kept as written: Argo CD fills them from the cluster, not known here."""
    return {
        "ARGOCD_APP_REVISION": commit,
        "ARGOCD_APP_REVISION_SHORT": commit[:7],
        "ARGOCD_APP_REVISION_SHORT_8": commit[:8],
        "KUBE_VERSION": "$KUBE_VERSION",
        "KUBE_API_VERSIONS": "$KUBE_API_VERSIONS",
    }


# Build environment variables whose value is not known here (a commit, the cluster's).
_UNKNOWN_ENV = lazy_re.compile(r"\$\{?(ARGOCD_APP_REVISION\w*|KUBE_VERSION|KUBE_API_VERSIONS)\b")


def _included(file: str, path: str, directory: dict[str, Any]) -> bool:
    """Argo CD's `directory.include` and `exclude`: globs (`*` crosses `/`, `{a,b}`) over
    the path below the Application's; a pattern beyond that subset excludes nothing."""
    relative = posixpath.relpath(file, path)
    include, exclude = directory.get("include"), directory.get("exclude")
    if isinstance(exclude, str) and exclude and _glob(exclude, relative) is True:
        return False
    return not (isinstance(include, str) and include and _glob(include, relative) is False)


def _glob(pattern: str, text: str) -> bool | None:
    """gobwas/glob without separators, as Argo CD compiles it; None when not understood."""
    regex = ""
    depth = 0
    for char in pattern:
        if char == "*":
            regex += ".*"
        elif char == "?":
            regex += "."
        elif char == "{":
            depth += 1
            regex += "(?:"
        elif char == "}" and depth:
            depth -= 1
            regex += ")"
        elif char == "," and depth:
            regex += "|"
        elif char in "[]\\!":
            return None
        else:
            regex += re.escape(char)
    return None if depth else re.fullmatch(regex, text) is not None


# An Application's `kustomize:` options and the kustomization field each one sets.
_ARGO_KUSTOMIZE = {
    "namespace": "namespace",
    "namePrefix": "namePrefix",
    "nameSuffix": "nameSuffix",
    "images": "images",
    "replicas": "replicas",
    "patches": "patches",
    "components": "components",
}


def _kustomize_edits(
    deployed: _Source, path: str, context: LoadContext
) -> gitops_kustomize.Edits | None:
    """What an Application's `kustomize:` adds to the kustomization at its path (Argo CD
    runs `kustomize edit` with them before the build); None when it adds nothing."""
    file, document, source, where, _, _ = deployed
    options = source.get("kustomize")
    if not isinstance(options, dict):
        return None
    edits = gitops_kustomize.Edits(file)
    _labels_and_annotations(deployed, options, edits)
    for key, field in _ARGO_KUSTOMIZE.items():
        value = options.get(key)
        if value is None or value == [] or value == "":
            continue
        location = document.locator.locate((*where, "kustomize", key))
        line = location.line
        if key in ("images", "replicas", "patches", "components") and not isinstance(value, list):
            message = f"kustomize.{key} must be a list"
            edits.problems.append(Problem("GK-PARSE-ERROR", location.file, line, message))
            continue
        if key == "images":
            value = gitops_kustomize.argo_images(value)
        elif key == "components":
            value = gitops_kustomize.components(value, path)
        elif key == "patches":
            value, missing = gitops_kustomize.inline_patches(value, path, context.tree)
            for name in missing:
                message = f"kustomize patch {name} not found"
                edits.problems.append(Problem("GK-RENDER-ERROR", location.file, line, message))
        edits.add(field, value, line, location.file)
    return edits if edits.fields or edits.problems else None


def _labels_and_annotations(
    deployed: _Source, options: dict[str, Any], edits: gitops_kustomize.Edits
) -> None:
    """`commonLabels` and `commonAnnotations`, as Argo CD's `kustomize edit add label` and
    `add annotation` write them (`labelWithoutSelector`: labels kept off selectors, and off
    pod templates unless `labelIncludeTemplates`; `commonAnnotationsEnvsubst`: the build
    environment substituted in the values)."""
    from gatekeeper.sources.jsonnet import substitute

    _, document, _, where, _, _ = deployed
    for key in ("commonLabels", "commonAnnotations"):
        value = options.get(key)
        if value is None or value == {}:
            continue
        location = document.locator.locate((*where, "kustomize", key))
        if not isinstance(value, dict):
            message = f"kustomize.{key} must be a map"
            edits.problems.append(Problem("GK-PARSE-ERROR", location.file, location.line, message))
            continue
        pairs = {str(k): "" if v is None else str(v) for k, v in value.items()}
        if key == "commonAnnotations" and options.get("commonAnnotationsEnvsubst") is True:
            environment = _build_environment(deployed)
            pairs = {k: substitute(v, environment) for k, v in pairs.items()}
        if key == "commonLabels" and options.get("labelWithoutSelector") is True:
            label = {"pairs": pairs, "includeSelectors": False}
            if options.get("labelIncludeTemplates") is True:
                label["includeTemplates"] = True
            edits.add("labels", [label], location.line, location.file)
            continue
        edits.add(key, pairs, location.line, location.file)


class _Release(NamedTuple):
    releases: list[Any]  # helm.Release: one, or one per values file an unknown name picks
    problems: list[Problem]


def _helm_release(deployed: _Source, path: str, context: LoadContext) -> _Release:
    """The rendering an Application's `helm:` asks for: its values files, then `values` or
    `valuesObject` (which wins), then `parameters` and `fileParameters` (Helm's --set,
    --set-string, --set-file), over everything; release name and namespace, Kubernetes
    version and API versions for `.Capabilities`."""
    from gatekeeper.sources import gitops_revision, helm

    file, document, source, where, namespace, refs = deployed
    problems: list[Problem] = []
    options = source.get("helm") if isinstance(source.get("helm"), dict) else {}
    assert isinstance(options, dict)
    at = (*where, "helm")

    def problem(code: str, key: tuple[str | int, ...], message: str) -> None:
        location = document.locator.locate((*at, *key))  # an override file's, or the app's
        problems.append(Problem(code, location.file, location.line, message))

    values: list[tuple[str, ...]] = []  # per entry, the files it may be (one, if known)
    value_files = options.get("valueFiles") or []
    if not isinstance(value_files, list):
        problem("GK-PARSE-ERROR", ("valueFiles",), "helm.valueFiles must be a list")
        value_files = []
    ignore_missing = options.get("ignoreMissingValueFiles") is True
    environment = _build_environment(deployed)
    foreign = {str(s["ref"]) for s in _all_sources(document.obj) if s.get("ref")} - refs
    for index, value in enumerate(map(str, value_files)):
        unknown = _unresolved_value_file(value, refs, foreign)
        if unknown:
            message = f"values file {value} {unknown}: what it sets is not judged"
            problem("GK-LOCAL-NOT-EXPANDED", ("valueFiles", index), message)
            continue
        resolved = _values_file(path, value, refs, environment)
        if resolved is None:
            continue
        if resolved.startswith("../") or resolved == "..":
            message = f"values file {value} is outside the repository: nothing is deployed"
            problem("GK-RENDER-ERROR", ("valueFiles", index), message)
            continue
        if not context.tree.exists(resolved):  # Argo CD fails, unless told to skip it
            marker = document.extra.get(UNKNOWN_PARAMS)
            if marker and marker in resolved:  # named by parameters not known here
                # Every file the name could be; a cluster with none fails to render (or,
                # told to skip it, renders without): judged as without, when none is.
                candidates = _files_named_like(resolved, marker, context)
                values.append((*candidates, *([""] if ignore_missing or not candidates else [])))
            elif not ignore_missing:
                message = f"values file {resolved} not found: nothing is deployed"
                problem("GK-RENDER-ERROR", ("valueFiles", index), message)
            continue
        values.append((resolved,))
    inline = _inline_values(file, document, options, at, problem)
    commit = gitops_revision.commit_of(_git_revision(source), context.tree)
    substituted = {**environment, **_revision_environment(commit)}
    sets, located = _parameters(file, document, options, at, path, context, problem, substituted)
    api_versions = options.get("apiVersions")
    releases = [
        helm.Release(
            tuple(name for name in chosen if name),
            str(options.get("releaseName") or document.name or helm.DEFAULT_RELEASE),
            str(options.get("namespace") or namespace or "default"),
            kube_version=str(options.get("kubeVersion") or ""),
            api_versions=tuple(map(str, api_versions if isinstance(api_versions, list) else [])),
            inline=inline,
            sets=sets,
            sets_locator=located,
            test_hooks="argocd",
        )
        for chosen in itertools.islice(itertools.product(*values), _MAX_VALUES_CHOICES)
    ]
    return _Release(releases, problems)


# Renderings of one source whose values files are named by unknown parameters, at most.
_MAX_VALUES_CHOICES = 32


def _files_named_like(resolved: str, unknown: str, context: LoadContext) -> tuple[str, ...]:
    """The files of the repository `resolved` could be, each `unknown` part of its name
    (an ApplicationSet parameter not known here: a cluster's name) any text without `/`:
    `values-cluster.yaml` is values-prod.yaml and values-edge.yaml. A values file the pull
    request adds for a cluster it cannot list is judged with the chart (red team r17)."""
    folder = posixpath.dirname(resolved)
    if unknown in folder:  # the folder itself is named by the parameter: every folder
        pattern = re.compile(
            "/".join(
                "[^/]*".join(map(re.escape, part.split(unknown))) for part in resolved.split("/")
            )
            + r"\Z"
        )
        listed = context.tree.list_dir(".")
    else:
        pattern = re.compile("[^/]*".join(map(re.escape, resolved.split(unknown))) + r"\Z")
        listed = context.tree.list_dir(folder or ".")
    return tuple(name for name in listed if pattern.match(name))


def _inline_values(
    file: str,
    document: Document,
    options: dict[str, Any],
    at: tuple[str | int, ...],
    problem: Any,
) -> tuple[tuple[dict[str, Any], NodeLocator], ...]:
    """`helm.valuesObject`, else `helm.values` (YAML in a string), located in the file."""
    locator = document.locator
    own = locator if isinstance(locator, NodeLocator) else None
    chosen = options.get("valuesObject")
    key = "valuesObject"
    if chosen is None:
        key = "values"
        text = options.get("values")
        if text is None or text == "":
            return ()
        if not isinstance(text, str):
            problem("GK-PARSE-ERROR", (key,), "helm.values must be a string of YAML")
            return ()
        documents = [e for e in load_all(file, text)]
        for entry in documents:
            if isinstance(entry, Problem):
                problem("GK-PARSE-ERROR", (key,), f"helm.values: {entry.message}")
                return ()
        if not documents or not isinstance(documents[0], YamlDocument):
            return ()
        parsed = documents[0]
        if parsed.obj is None:
            return ()
        if not isinstance(parsed.obj, dict):
            problem("GK-PARSE-ERROR", (key,), "helm.values is not a map")
            return ()
        node = own.node_at((*at, key)) if own is not None else None
        if node is None:  # made by a template: at the Application's `values:`
            place = document.locator.locate((*at, key))
            located = helm_set.located_at(parsed.obj, place.line - 1)
            return ((parsed.obj, NodeLocator(place.file, located)),)
        # A block scalar's content starts on the line after its `values: |`.
        base = node.start_mark.line + (1 if getattr(node, "style", None) in ("|", ">") else 0)
        return ((parsed.obj, NodeLocator(file, parsed.node, base)),)
    if not isinstance(chosen, dict):
        problem("GK-PARSE-ERROR", (key,), "helm.valuesObject must be a map")
        return ()
    node = own.node_at((*at, key)) if own is not None else None
    if node is None:  # made by a template: where its locator puts each value
        return tuple(helm_set.attributed(chosen, lambda p: locator.locate((*at, key, *p))))
    return ((chosen, NodeLocator(file, node)),)


def _parameters(
    file: str,
    document: Document,
    options: dict[str, Any],
    at: tuple[str | int, ...],
    path: str,
    context: LoadContext,
    problem: Any,
    environment: dict[str, str],
) -> tuple[tuple[tuple[tuple[str | int, ...], Any], ...], NodeLocator | None]:
    """`helm.parameters` (--set, or --set-string with forceString) then `fileParameters`
    (--set-file: the file's text), in the order Helm applies them, and a locator that puts
    each value at its parameter's line. Argo CD substitutes its build environment in the
    values and the files' paths (`value: $ARGOCD_APP_REVISION` is the commit)."""
    from gatekeeper.sources.jsonnet import substitute

    plain: list[tuple[tuple[str | int, ...], Any, int]] = []
    strings: list[tuple[tuple[str | int, ...], Any, int]] = []
    files: list[tuple[tuple[str | int, ...], Any, int]] = []
    for key in ("parameters", "fileParameters"):
        entries = options.get(key)
        if entries is None:
            continue
        if not isinstance(entries, list):
            problem("GK-PARSE-ERROR", (key,), f"helm.{key} must be a list")
            continue
        for index, entry in enumerate(entries):
            location = document.locator.locate((*at, key, index))
            line = location.line
            file = location.file  # the Application's, or the override file's that set them
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                problem("GK-PARSE-ERROR", (key, index), f"helm.{key} entry needs a name")
                continue
            try:
                where = tuple(helm_set.path_of(entry["name"]))
            except helm_set.SetError as error:
                problem("GK-RENDER-ERROR", (key, index), f"helm {key}: {error}")
                continue
            if key == "parameters":
                text = str(entry.get("value") if entry.get("value") is not None else "")
                text = substitute(text, environment)
                force = entry.get("forceString") is True
                value = helm_set.typed(text, force)
                (strings if force else plain).append((where, value, line))
                continue
            given = substitute(str(entry.get("path") or ""), environment)
            name = posixpath.normpath(posixpath.join(path, given))
            try:
                content = context.tree.read(name).decode("utf-8")
            except (OSError, UnicodeDecodeError):
                problem("GK-RENDER-ERROR", (key, index), f"helm fileParameters: {name} not read")
                continue
            files.append((where, content, line))
    ordered = [*plain, *strings, *files]
    if not ordered:
        return (), None
    node = helm_set.located([(list(where), line - 1) for where, _, line in ordered])
    return tuple((where, value) for where, value, _ in ordered), NodeLocator(file, node)


def _values_file(
    path: str, value: str, refs: set[str], environment: dict[str, str] | None = None
) -> str | None:
    """The repository path of a `helm.valueFiles` entry of a source at `path`, as Argo CD
    resolves it: `$ref/file` from the source named `ref` (None when that source is not this
    repository), the build environment substituted (`values-$ARGOCD_APP_NAME.yaml`), a
    leading `/` from the repository root."""
    from gatekeeper.sources.jsonnet import substitute

    if value.startswith("$"):  # `$ref/file`: from the source named `ref`
        ref, _, rest = value[1:].partition("/")
        if ref in refs:
            return posixpath.normpath(rest)
    value = substitute(value, environment) if environment is not None else value
    if value.startswith("/"):
        return posixpath.normpath(value.lstrip("/") or ".")
    return posixpath.normpath(posixpath.join(path, value))


def _unresolved_value_file(value: str, refs: set[str], foreign: set[str]) -> str:
    """Why Argo CD's resolution of a values file cannot be followed here ("" when it can):
    a URL Argo CD fetches, another repository's file (a `ref` source of it), a variable whose
    value is not known, a template left unrendered."""
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", value):
        return "is fetched by Argo CD from outside the repository"
    if value.startswith("$"):
        ref = value[1:].partition("/")[0]
        if ref in refs:
            return ""
        if ref in foreign:
            return f"is read from another repository (the source with ref {ref})"
    if _UNKNOWN_ENV.search(value):
        return "names the revision's commit or the cluster's version, not known here"
    if "{{" in value:
        return "is a template that could not be rendered here"
    return ""


# What deploys from a path of this repository, and the objects those read by name.
_DEPLOYERS = {
    "Application": "argoproj.io/",
    "ApplicationSet": "argoproj.io/",
    "Kustomization": "kustomize.toolkit.fluxcd.io/",
    "HelmRelease": "helm.toolkit.fluxcd.io/",
}
DEPLOYER_KINDS = frozenset(_DEPLOYERS)  # what is_expandable may answer yes to
# A Flux deployer's source, a HelmRelease's values, a Kustomization's variables.
_NAMED = ("GitRepository", "ConfigMap", "Secret", "HelmChart")
_PATTERN = lazy_re.compile(r"\{\{|[*?\[]")


def _is_deployer(kind: str) -> bool:
    """`kind` is `apiVersion kind`."""
    api, _, name = kind.partition(" ")
    group = _DEPLOYERS.get(name)
    return group is not None and api.startswith(group)


_DECLARED = frozenset({*_DEPLOYERS, *_NAMED})


def _declared(context: LoadContext, files: list[str]) -> dict[str, list[tuple[str, str]]]:
    """The (`apiVersion kind`, name) of the deployers and named sources each file declares,
    found by parsing the files that can spell one of their kinds (kubernetes.may_spell
    counts escapes); in a git revision through the blob cache."""
    from gatekeeper import blobcache
    from gatekeeper.git import RevisionTree
    from gatekeeper.sources.kubernetes import may_spell
    from gatekeeper.yamldoc import YamlDocument, check_bytes, decode, load_all

    def wanted(kind: str) -> bool:
        name = kind.rpartition(" ")[2]
        return name in _NAMED or (name in _DEPLOYERS and _is_deployer(kind))

    tree = context.tree
    found: dict[str, list[tuple[str, str]]] = {}
    if isinstance(tree, RevisionTree):
        keep = lambda _, kinds: any(map(wanted, kinds))  # noqa: E731
        inventory = blobcache.inventory(tree, files, context.options, keep, _DECLARED)
        for file, entries in inventory.items():
            found[file] = [(f"{e.api_version} {e.kind}", e.name) for e in entries]
        return found
    words = [kind.encode() for kind in sorted(_DECLARED)]
    for file in files:
        data = tree.read(file)
        if check_bytes(file, data) is not None or not may_spell(data, words):
            continue
        for entry in load_all(file, decode(data)):
            if isinstance(entry, YamlDocument):
                for obj in _with_items(entry.obj):
                    metadata = obj.get("metadata")
                    name = metadata.get("name") if isinstance(metadata, dict) else ""
                    kind = f"{obj.get('apiVersion', '')} {obj.get('kind', '')}"
                    if wanted(kind):
                        found.setdefault(file, []).append((kind, str(name or "")))
    return found


def _with_items(obj: Any) -> list[dict[str, Any]]:
    """The object and, for a List, its items (those of Lists among them too: kubectl applies
    an Application two Lists deep)."""
    items = obj.get("items") if isinstance(obj, dict) else None
    listed = [item for _, item in list_items(obj)] if isinstance(items, list) else []
    return [o for o in [obj, *listed] if isinstance(o, dict)]


def feeds(context: LoadContext) -> Iterator[tuple[str, str]]:
    """Dependency edges (see depgraph). A file holding an Application reads, per source of
    this repository, everything below its path and its Helm values files; an ApplicationSet
    everything below the fixed part of each path its generators and template name; a Flux
    Kustomization its path, a HelmRelease its chart and values ConfigMaps, both the files
    declaring their GitRepository."""
    from gatekeeper.depgraph import directory_input
    from gatekeeper.sources import kubernetes
    from gatekeeper.sources.applicationsets import is_application_set
    from gatekeeper.sources.flux import is_flux_deployer
    from gatekeeper.yamldoc import YamlDocument, decode, load_all

    tree = context.tree
    from gatekeeper.sources.jsonnet import Jsonnets

    every = tree.list_dir(".")
    declared = _declared(context, [p for p in every if kubernetes.detect(p)])
    ignore_files = [p for p in every if posixpath.basename(p) == ".sourceignore"]
    jsonnets = Jsonnets(tree, [p for p in every if p.endswith(".jsonnet")])
    by_name: dict[tuple[str, str], list[str]] = {}
    for file, objects in declared.items():
        for kind, name in objects:
            by_name.setdefault((kind.rpartition(" ")[2], name), []).append(file)
    repo_urls = context.repo_urls()
    helm_options = context.options_for("helm")
    for file, objects in declared.items():
        if not any(_is_deployer(kind) for kind, _ in objects):
            continue
        for entry in load_all(file, decode(tree.read(file))):
            if not isinstance(entry, YamlDocument):
                continue
            for obj in _with_items(entry.obj):
                if is_application(obj):
                    for needed in _application_inputs(obj, repo_urls, helm_options, jsonnets):
                        yield file, needed
                elif is_application_set(obj):
                    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
                    assert isinstance(spec, dict)
                    for text in _strings_at(spec.get("generators"), ("path",)):
                        yield file, _fixed_part(text)  # a directory added there: a new app
                    for made in _made(file, entry, obj, context, repo_urls):
                        for needed in _application_inputs(
                            made.obj, repo_urls, helm_options, jsonnets
                        ):
                            yield file, needed
                elif is_flux_deployer(obj):
                    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
                    assert isinstance(spec, dict)
                    chart = spec.get("chart") if isinstance(spec.get("chart"), dict) else {}
                    assert isinstance(chart, dict)
                    chart_spec = chart.get("spec") if isinstance(chart.get("spec"), dict) else {}
                    assert isinstance(chart_spec, dict)
                    if not chart_spec and isinstance(spec.get("chartRef"), dict):
                        from gatekeeper.sources.flux import chart_ref
                        from gatekeeper.sources.kubernetes import make_document
                        from gatekeeper.yamldoc import NodeLocator

                        named = make_document(file, obj, NodeLocator(file, entry.node), 0)
                        chart_spec = chart_ref(named, tree)
                        ref = spec["chartRef"]
                        for source in by_name.get(("HelmChart", str(ref.get("name"))), []):
                            yield file, source
                    for path in (spec.get("path"), chart_spec.get("chart")):
                        if isinstance(path, str):
                            yield file, directory_input(path.strip().strip("/") or ".")
                    yield from ((file, needed) for needed in _artifact_inputs(obj, context))
                    for entry in helm_options.get("vendored", []):  # a chart repository's
                        if entry.get("chart") == chart_spec.get("chart"):
                            yield file, directory_input(str(entry.get("path", "")).strip("/"))
                    base = str(spec.get("path") or ".").strip().strip("/") or "."
                    for component in _listed(spec.get("components")):
                        if isinstance(component, str):
                            place = posixpath.normpath(posixpath.join(base, component))
                            yield file, directory_input(place)
                    for name in _listed(chart_spec.get("valuesFiles")):
                        if isinstance(name, str):
                            yield file, posixpath.normpath(name.strip().removeprefix("./"))
                    for ignore in ignore_files:  # what Flux leaves out of the artifact
                        yield file, ignore
                    post_build = spec.get("postBuild")
                    refs: list[Any] = [spec.get("sourceRef"), chart_spec.get("sourceRef")]
                    refs += _listed(spec.get("valuesFrom"))
                    if isinstance(post_build, dict):
                        refs += _listed(post_build.get("substituteFrom"))
                    for ref in refs:
                        if isinstance(ref, dict) and ref.get("kind") in _NAMED:
                            for source in by_name.get((ref["kind"], str(ref.get("name"))), []):
                                yield file, source


def _made(
    file: str, entry: Any, obj: dict[str, Any], context: LoadContext, repo_urls: list[str]
) -> list[Document]:
    """The Applications an ApplicationSet makes from the tree as it is."""
    from gatekeeper.sources.applicationsets import applications
    from gatekeeper.sources.kubernetes import make_document
    from gatekeeper.yamldoc import NodeLocator

    document = make_document(file, obj, NodeLocator(file, entry.node), 0)
    made, _ = applications(file, document, context.tree, lambda git: _is_local(git, repo_urls))
    return made


def _artifact_inputs(obj: dict[str, Any], context: LoadContext) -> Iterator[str]:
    """A Flux Kustomization of an ExternalArtifact reads the ArtifactGenerators that make
    it, and the folder of this repository its path is (flux._remapped)."""
    from gatekeeper.depgraph import directory_input
    from gatekeeper.sources import flux

    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    assert isinstance(spec, dict)
    ref = spec.get("sourceRef")
    if not isinstance(ref, dict) or ref.get("kind") != "ExternalArtifact":
        return
    yield from flux.artifact_inputs(obj, ref, context)
    path = str(spec.get("path") or ".").strip().lstrip("/")
    for prefix in flux.artifact_folders(obj, ref, context):
        yield directory_input(posixpath.join(prefix, path))


def _application_inputs(
    obj: dict[str, Any], repo_urls: list[str], helm_options: dict[str, Any], jsonnets: Jsonnets
) -> Iterator[str]:
    from gatekeeper.depgraph import directory_input
    from gatekeeper.sources import helm

    refs = local_refs(obj, repo_urls)
    local = local_sources(obj, repo_urls)
    for source in _all_sources(obj):  # a chart repository's: its vendored copy, `$ref` values
        if source.get("chart"):  # never a local source (see local_sources)
            url, version = str(source.get("repoURL") or ""), str(source.get("targetRevision") or "")
            copy = helm.vendored(helm_options, str(source["chart"]), url, version)
            if copy is not None:
                yield directory_input(copy)
            yield from _values_files(source, copy or ".", refs, only_refs=copy is None)
            if copy is None:  # `--set-file` of a `$ref` file (_remote_file_parameters)
                yield from _ref_file_parameters(source, refs)
    for source in local:
        path = posixpath.normpath(str(source.get("path") or "").strip("/") or ".")
        yield directory_input(path)
        options = source.get("helm")
        yield from _values_files(source, path, refs)
        edits = source.get("kustomize")
        edits = edits if isinstance(edits, dict) else {}
        for value in _listed(edits.get("components")):  # components and patch files
            if isinstance(value, str):
                yield directory_input(posixpath.normpath(posixpath.join(path, value)))
        for value in _listed(edits.get("patches")):
            if isinstance(value, dict) and isinstance(value.get("path"), str):
                yield posixpath.normpath(posixpath.join(path, value["path"]))
        read = options.get("fileParameters") if isinstance(options, dict) else None
        for entry in read if isinstance(read, list) else []:  # --set-file
            if isinstance(entry, dict) and isinstance(entry.get("path"), str):
                yield posixpath.normpath(posixpath.join(path, entry["path"]))
        directory = source.get("directory")  # Jsonnet: its libs and what it imports
        evaluated = directory.get("jsonnet") if isinstance(directory, dict) else None
        yield from jsonnets.inputs(path, evaluated)


def _ref_file_parameters(source: dict[str, Any], refs: set[str]) -> Iterator[str]:
    """The files of this repository a source's `helm.fileParameters` name by `$ref/file`."""
    options = source.get("helm")
    entries = options.get("fileParameters") if isinstance(options, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        written = entry.get("path") if isinstance(entry, dict) else None
        if isinstance(written, str) and written.startswith("$"):
            resolved = _values_file("", written, refs)
            if resolved is not None:
                yield resolved


def _values_files(
    source: dict[str, Any], path: str, refs: set[str], only_refs: bool = False
) -> Iterator[str]:
    """The values files of this repository a source's `helm.valueFiles` name (`only_refs`:
    those of a `$ref` source only, for a chart that is not here)."""
    options = source.get("helm")
    values = options.get("valueFiles") if isinstance(options, dict) else None
    for value in map(str, values if isinstance(values, list) else []):
        resolved = _values_file(path, value, refs)
        if resolved is not None and (not only_refs or value.startswith("$")):
            yield resolved


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _strings_at(value: Any, keys: tuple[str, ...]) -> Iterator[str]:
    """Every string under one of `keys`, anywhere in `value`."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in keys:
                for text in item if isinstance(item, list) else [item]:
                    if isinstance(text, str):
                        yield text
            else:
                yield from _strings_at(item, keys)
    elif isinstance(value, list):
        for item in value:
            yield from _strings_at(item, keys)


def _fixed_part(text: str) -> str:
    """The directory input for a path that may hold template parameters or globs: everything
    below its fixed leading directories (`apps/{{path.basename}}` -> `apps/`)."""
    from gatekeeper.depgraph import directory_input

    text = text.strip()
    if text.startswith("$"):  # `$ref/file`: a values file of a referenced source
        text = text.partition("/")[2]
    match = _PATTERN.search(text)
    if match is None:
        return directory_input(posixpath.dirname(text.rstrip("/")) or ".")
    return directory_input(posixpath.dirname(text[: match.start()]) or ".")


def _merge(into: Loaded, other: Loaded) -> None:
    into.documents.extend(other.documents)
    into.problems.extend(other.problems)
