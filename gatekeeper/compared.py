"""Files an end-to-end test compares with the cluster and never applies.

A Chainsaw test (`chainsaw.kyverno.io` Test or StepTemplate) names, per step, the files it
applies (`apply`, `create`, `update`, `patch`) and the files it compares with what the
cluster holds (`assert`, `error`): partial objects, with JMESPath keys and values
(`(x_k8s_exists(...)): false`, `replicas: ($webhook_replicas)`). open-telemetry's
opentelemetry-operator holds 245 such files: judged as manifests, they were half of its
findings (GK-SCHEMA and GK-NOT-AN-OBJECT high on the expressions, Pod Security on the
partial pods whose install file is judged already).

A file is compared only when every test naming it compares it, from the test's own folder
(`file: 00-assert.yaml`, a glob too; not `../` elsewhere), the folder is a test's (a path
part like `tests`, `e2e`, `chainsaw`), no test applies it (an operation, or a script or
command step that names it), and CI gives it (or a folder above it) to no `kubectl -f`.
What a deployer renders from the file (a kustomization that lists it, an Application or
Flux Kustomization applying its folder) is judged in those renderings as before; only the
file read alone is not (its findings and its objects in the repository's inventory: an
assertion's NetworkPolicy is not one of the namespace's). Tests are looked for (one git grep)
only when a file in a test folder has a `chainsaw-test.yaml` or a Chainsaw configuration in its
own folder or one above it: a few lookups, not a listing of the tree (a hook in a repository of
27,000 files listed it all: 0.25 s).
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Iterator
from typing import Any

from gatekeeper import lazy_re
from gatekeeper.tree import Tree

_API = "chainsaw.kyverno.io/"
_COMPARING = frozenset({"assert", "error"})
_APPLYING = frozenset({"apply", "create", "update", "patch"})
# A folder of tests: one of its path parts names them.
_TEST_FOLDER = lazy_re.compile(r"(?i)(^|[-_.])(tests?|e2e|chainsaw|kuttl|conformance)($|[-_.])")


def compared_only(tree: Tree, files: set[str]) -> set[str]:
    """Which of `files` only tests compare with the cluster (module doc)."""
    from gatekeeper import ownership

    files = {file for file in files if _in_tests(file)}
    if not any(_near_tests(tree, posixpath.dirname(file)) for file in files):
        return set()  # most repositories: no git grep at all

    compared, applied = ownership.of(tree).remember("chainsaw files", "", _named)
    found = {file for file in files & compared if file not in applied}
    if found:
        from gatekeeper.built_only import applied_in_ci

        found = {file for file in found if not applied_in_ci(file, tree)}
    return found


# A Chainsaw test by its default name, and Chainsaw's configuration (which may name others).
_TEST_NAMES = tuple(
    stem + suffix
    for stem in ("chainsaw-test", ".chainsaw")
    for suffix in (".yaml", ".yml", ".json")
)


def _near_tests(tree: Tree, folder: str) -> bool:
    """Does `folder` or a folder above it hold a Chainsaw test by its default name or a
    Chainsaw configuration? A compared file is in its test's folder (_matching): tests named
    otherwise with neither near them leave their files judged as manifests (as before)."""
    from gatekeeper import ownership

    found: bool = ownership.of(tree).remember("chainsaw tests near", folder, _tests_near)
    return found


def _tests_near(tree: Tree, folder: str) -> bool:
    if any(tree.exists(posixpath.join(folder, name)) for name in _TEST_NAMES):
        return True
    return folder not in ("", ".") and _near_tests(tree, posixpath.dirname(folder))


def _in_tests(file: str) -> bool:
    return any(_TEST_FOLDER.search(part) for part in posixpath.dirname(file).split("/"))


def _named(tree: Tree, _: str = "") -> tuple[frozenset[str], frozenset[str]]:
    """(compared, applied): the files of the tree that Chainsaw tests name in operations
    that compare and that apply (a file named by both is applied)."""
    from gatekeeper.spelling import spelling
    from gatekeeper.yamldoc import YamlDocument, decode, load_all

    compared: set[str] = set()
    applied: set[str] = set()
    for test, _line in spelling(tree, [_API], suffixes=(".yaml", ".yml")):
        try:
            entries = list(load_all(test, decode(tree.read(test))))
        except (OSError, ValueError):
            continue
        folder = posixpath.dirname(test)
        for entry in entries:
            if not isinstance(entry, YamlDocument) or not isinstance(entry.obj, dict):
                continue
            if not str(entry.obj.get("apiVersion", "")).startswith(_API):
                continue
            for operation, pattern in _operations(entry.obj.get("spec")):
                for file in _matching(tree, folder, pattern, operation in _COMPARING):
                    (compared if operation in _COMPARING else applied).add(file)
            # A script or command step may apply a file itself (`kubectl apply -f x.yaml`).
            text = " ".join(_run_texts(entry.obj.get("spec")))
            applied.update(
                file
                for file in tree.list_dir(folder or ".")
                if posixpath.dirname(file) == folder and posixpath.basename(file) in text
            )
    return frozenset(compared), frozenset(applied)


def _mappings(value: Any) -> Iterator[dict[Any, Any]]:
    """Every mapping in a test's spec, at any depth."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            yield item
            stack.extend(item.values())


def _run_texts(value: Any) -> Iterator[str]:
    """The text of each `script` and `command` operation of a test's spec."""
    for mapping in _mappings(value):
        yield from (str(mapping[key]) for key in ("script", "command") if key in mapping)


def _operations(value: Any) -> Iterator[tuple[str, str]]:
    """(operation, file) of each operation naming a file, anywhere in a test's spec."""
    for mapping in _mappings(value):
        for key, inner in mapping.items():
            named = inner.get("file") if isinstance(inner, dict) else None
            if key in _COMPARING | _APPLYING and isinstance(named, str):
                yield key, named


def _matching(tree: Tree, folder: str, pattern: str, comparing: bool) -> list[str]:
    """The files of the tree a test's `file:` names: relative to its folder, a glob too.
    A compared file must be in the test's own folder; an applied one may be anywhere."""
    if "://" in pattern:
        return []
    path = posixpath.normpath(posixpath.join(folder, pattern.strip()))
    if path.startswith("../") or path == "..":
        return []
    if comparing and posixpath.dirname(path) != folder:
        return []
    if not any(mark in pattern for mark in "*?["):
        return [path] if tree.exists(path) else []
    listing = tree.list_dir(posixpath.dirname(path) or ".")
    return [name for name in listing if fnmatch.fnmatch(name, path)]
