"""Argo CD Applications that deploy from this repository: evaluate what they will deploy.

An Application whose source is this repository (its repoURL is one of `sources.gitops.repoURLs`
in .gatekeeper.yml, or it has a `path` and no repoURL) deploys the manifests, kustomization or
chart at that path, with the Application's Helm values files, release name and destination
namespace. Those objects are loaded as the Application would render them, located in their
own files, and carry the Application's file as their rendering variant.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

from gatekeeper.document import Document, Loaded, Problem
from gatekeeper.sources import LoadContext

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


def is_expandable(obj: Any) -> bool:
    """An Argo CD Application or ApplicationSet, a Flux Kustomization or HelmRelease: it
    names what it deploys."""
    from gatekeeper.sources.applicationsets import is_application_set
    from gatekeeper.sources.flux import is_flux_deployer

    return is_application(obj) or is_application_set(obj) or is_flux_deployer(obj)


def _spec(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec")
    return spec if isinstance(spec, dict) else {}


def _source_paths(obj: dict[str, Any]) -> list[tuple[tuple[str | int, ...], dict[str, Any]]]:
    """Each source with its field path (`spec.source`, `spec.sources[1]`)."""
    spec = _spec(obj)
    found: list[tuple[tuple[str | int, ...], dict[str, Any]]] = []
    if isinstance(spec.get("source"), dict):
        found.append((("spec", "source"), spec["source"]))
    listed = spec.get("sources")
    for index, source in enumerate(listed if isinstance(listed, list) else []):
        if isinstance(source, dict):
            found.append((("spec", "sources", index), source))
    return found


def _all_sources(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return [source for _, source in _source_paths(obj)]


def normalise_url(url: str) -> str:
    """One spelling of a git repository's address: `git@github.com:acme/x.git`,
    `ssh://git@github.com:22/acme/x`, `https://github.com/acme/x/` -> `github.com/acme/x`."""
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
    path = path.strip("/").removesuffix(".git").strip("/")
    return f"{host.lower()}/{path}" if path else host.lower()


def _is_local(source: dict[str, Any], repo_urls: list[str]) -> bool:
    url = str(source.get("repoURL", ""))
    return not url.strip() or normalise_url(url) in {normalise_url(u) for u in repo_urls}


def local_sources(obj: dict[str, Any], repo_urls: list[str]) -> list[dict[str, Any]]:
    """The Application's sources that deploy a path of this repository."""
    return [
        source
        for source in _all_sources(obj)
        if isinstance(source.get("path"), str)
        and not source.get("chart")
        and _is_local(source, repo_urls)
    ]


def local_refs(obj: dict[str, Any], repo_urls: list[str]) -> set[str]:
    """`ref:` names of sources that are this repository (`$name/values.yaml` value files)."""
    return {
        str(source["ref"])
        for source in _all_sources(obj)
        if source.get("ref") and _is_local(source, repo_urls)
    }


def expand(file: str, document: Document, context: LoadContext) -> Loaded:
    """What `document` (an Application, ApplicationSet, Flux Kustomization or HelmRelease in
    `file`) deploys from this repository."""
    loaded = Loaded()
    obj = document.obj
    repo_urls = [str(u) for u in context.options_for(NAME).get("repoURLs", [])]
    key = f"{file}#{document.index}#{document.kind}/{document.name}"
    if key in _ACTIVE:
        return loaded
    from gatekeeper.sources.applicationsets import is_application_set

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
                if id(source) in local:
                    _expand_source(file, document, source, where, namespace, refs, context, loaded)
        else:  # a Flux Kustomization or HelmRelease
            from gatekeeper.sources import flux

            namespace = str(_spec(obj).get("targetNamespace") or "")
            _merge(loaded, flux.expand(file, document, context))
    finally:
        _ACTIVE.discard(key)
    deployer = f"{file}:{document.name}"
    for expanded in loaded.documents:
        expanded.extra["variant"] = DEPLOYED_BY + deployer
        expanded.extra["application"] = deployer
        if namespace and not expanded.namespace:
            expanded.namespace = namespace
    return loaded


def _expand_source(
    file: str,
    document: Document,
    source: dict[str, Any],
    where: tuple[str | int, ...],
    namespace: str,
    refs: set[str],
    context: LoadContext,
    loaded: Loaded,
) -> None:
    from gatekeeper.sources import helm, kubernetes, kustomize

    tree = context.tree
    path = posixpath.normpath(str(source["path"]).strip("/") or ".")
    if path == ".." or path.startswith("../"):
        line = document.locator.locate((*where, "path")).line
        message = f"Application path {path} is outside the repository; not read"
        loaded.problems.append(Problem("GK-RENDER-ERROR", file, line, message))
        return
    chart = posixpath.join(path, helm.CHART_FILE) if path != "." else helm.CHART_FILE
    if tree.exists(chart):
        options = source.get("helm") if isinstance(source.get("helm"), dict) else {}
        assert isinstance(options, dict)
        values = []
        value_files = options.get("valueFiles") or []
        if not isinstance(value_files, list):
            line = document.locator.locate((*where, "helm", "valueFiles")).line
            loaded.problems.append(
                Problem("GK-PARSE-ERROR", file, line, "helm.valueFiles must be a list")
            )
            value_files = []
        for value in map(str, value_files):
            if value.startswith("$"):  # `$ref/file`: from the source named `ref`
                ref, _, rest = value[1:].partition("/")
                if ref in refs:
                    values.append(posixpath.normpath(rest))
                continue  # another repository's file: not ours to read
            values.append(posixpath.normpath(posixpath.join(path, value)))
        release = helm.Release(
            tuple(values),
            str(options.get("releaseName") or document.name or helm.DEFAULT_RELEASE),
            namespace or "default",
        )
        _merge(loaded, helm.render_chart(chart, tree.read(chart), context, [release]))
        return
    for name in kustomize.KUSTOMIZATION_FILES:
        candidate = posixpath.join(path, name) if path != "." else name
        if tree.exists(candidate):
            _merge(loaded, kustomize.load(candidate, tree.read(candidate), context))
            return
    directory = source.get("directory") if isinstance(source.get("directory"), dict) else {}
    assert isinstance(directory, dict)
    recurse = bool(directory.get("recurse"))
    files = [
        f
        for f in tree.list_dir(path)
        if kubernetes.detect(f) and (recurse or posixpath.dirname(f) == path)
    ]
    if not files:
        line = document.locator.locate((*where, "path")).line
        loaded.problems.append(
            Problem("GK-RENDER-ERROR", file, line, f"Application path {path} has no manifests")
        )
    for manifest in files:
        _merge(loaded, kubernetes.load(manifest, tree.read(manifest), context))


def _merge(into: Loaded, other: Loaded) -> None:
    into.documents.extend(other.documents)
    into.problems.extend(other.problems)
