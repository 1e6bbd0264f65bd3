"""Rendered copies of this repository's charts: generated output committed beside them.

Chart repositories commit what `helm template` makes of their examples (opentelemetry-helm-
charts: `charts/*/examples/*/rendered/*.yaml`, every document under a `# Source:
<chart>/templates/...` line naming a chart of the repository) so reviewers see the effect of
a template change. The chart itself is judged where it lives (its templates, values and
values files); its copies said every finding again, once per example (3,418 findings there).

A file whose every object is such a copy is not judged as a manifest of its own, as a
chart's templates are not: unless something applies it as written. An Argo CD directory
Application or a Flux path applies it (kubernetes.load with `applied`, judged), a
kustomization taking it in builds it (judged in the build), and a CI job whose kubectl or oc
`-f` names the file or a folder above it applies it, unless that job only starts a
throwaway cluster to test against (kind, k3d...: the workflow source's `ephemeralCluster`).
A header alone hides nothing a deployer of the repository points at.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

from gatekeeper import bugs, lazy_re, ownership
from gatekeeper.tree import Tree

# Helm's line above each document it writes: `# Source: CHART/templates/x.yaml`.
_SOURCE = lazy_re.compile(rb"^# Source: ([^/\s]+)/", re.MULTILINE)
_OBJECT = lazy_re.compile(rb"^apiVersion:", re.MULTILINE)


def is_rendered_copy(path: str, data: bytes, tree: Tree) -> bool:
    """Is every object of the file Helm's output of a chart of this repository, and nothing
    of the repository applies the file as written from CI?"""
    if b"# Source: " not in data:
        return False
    names = [match.group(1) for match in _SOURCE.finditer(data)]
    charts = ownership.of(tree).remember(_CHART_NAMES, "", _chart_names)
    if not names or any(name.decode("utf-8", "replace") not in charts for name in names):
        return False
    if len(names) < len(_OBJECT.findall(data)):  # an object without Helm's line above it
        return False
    return not applied_by_ci(path, tree)


def applied_by_ci(path: str, tree: Tree) -> bool:
    """Does a CI `kubectl`/`oc -f` (outside a throwaway cluster) name the file or a folder
    above it, or a path it computes; or does CI apply it to a cluster another way (a script,
    a Makefile target, `-k`, a build piped to kubectl, kapp: kubectl_files)?"""
    from gatekeeper.sources.kubectl_files import applies_to_cluster

    if applies_to_cluster(path, tree):
        return True
    applied = ownership.of(tree).remember(_APPLIED, "", _applied_by_ci)
    folder = path
    while folder:
        if folder in applied:
            return True
        folder = posixpath.dirname(folder)
    return "" in applied


_CHART_NAMES = "names of the repository's charts"
_APPLIED = "paths CI applies with kubectl -f outside a throwaway cluster"


def _chart_names(tree: Tree, _key: str) -> frozenset[str]:
    from gatekeeper.sources.helm import CHART_FILE
    from gatekeeper.yamldoc import load_mapping

    found: set[str] = set()
    for file in tree.list_dir("."):
        if posixpath.basename(file) != CHART_FILE:
            continue
        try:
            entry, _text, _problems = load_mapping(file, tree.read(file), "chart")
        except OSError:
            continue
        name = entry.obj.get("name") if entry is not None else None
        if isinstance(name, str) and name:
            found.add(name)
    return frozenset(found)


def _applied_by_ci(tree: Tree, _: str) -> frozenset[str]:
    """The paths (tree-relative) that CI commands give `kubectl`/`oc` `-f` in jobs that do
    not only test against a throwaway cluster."""
    from gatekeeper.sources import LoadContext, workflow
    from gatekeeper.sources.workflow_scripts import throwaway

    context = LoadContext(tree=tree)
    found: set[str] = set()
    for file in tree.list_dir("."):
        if workflow.kind_of(file) not in (workflow.GITHUB, workflow.GITLAB):
            continue
        try:
            loaded = workflow.load(file, tree.read(file), context)
        except Exception:  # the workflow source reports its own problems when it is scanned
            if bugs.strict():
                raise
            continue
        for document in loaded.documents:
            for command in _commands(document.obj):
                if command.get("program") not in ("kubectl", "oc"):
                    continue
                if throwaway(command):
                    continue
                for flag in command.get("flags") or []:
                    name, _, value = str(flag).partition("=")
                    if name in ("-f", "--filename") and value and "$" not in value:
                        found.add(posixpath.normpath(value).lstrip("/"))
                    elif name in ("-f", "--filename") and "$" in value:
                        found.add("")  # a path CI computes: any file may be it
    return frozenset(found)


def _commands(obj: Any) -> list[dict[str, Any]]:
    jobs = obj.get("jobs") if isinstance(obj, dict) else None
    found: list[dict[str, Any]] = []
    for job in jobs.values() if isinstance(jobs, dict) else []:
        steps = job.get("steps") if isinstance(job, dict) else None
        for step in steps if isinstance(steps, list) else []:
            commands = step.get("commands") if isinstance(step, dict) else None
            found += [c for c in commands or [] if isinstance(c, dict)]
    return found
