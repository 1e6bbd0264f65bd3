"""Golden files: a chart's rendering that the repository's Go tests compare against.

DataDog/helm-charts keeps what `helm template` makes of each `test/datadog/baseline/values/X.yaml`
in `test/datadog/baseline/manifests/X.yaml`, written and read by `baseline_test.go`
(`"./baseline/manifests/" + file.Name()`), without Helm's `# Source:` lines that mark other
rendered copies (sources.rendered_copies): 52 files said every finding of the chart again,
5,547 advisory findings. The chart is judged where it lives, with its values files.

Such a file is not judged as a manifest of its own, and one low GK-TEST-OUTPUT per folder
says so at the Go test's line that names it. What makes it one: a `*_test.go` names its
folder (a string literal, relative to the test's package folder, as `go test` runs), the
folder is a test folder (test, tests, testdata: the default advisory paths, where its
findings never blocked), and the file holds Helm's output (`managed-by: Helm` or `heritage:
Helm` labels). A deployer of the repository that applies it still has it judged (an Argo
CD directory Application or a Flux path loads it `applied`; a CI `kubectl -f` of it or a
folder above, as for rendered copies).

Go tests' templates are said the same way: fluxcd/flux2's cmd/flux/testdata holds objects
with `namespace: {{ .fluxns }}` that the tests fill with text/template before applying them
to a test API server; not valid YAML as written, each document was a low GK-TEMPLATE (101
notices in 17 folders). A test folder's file that a Go test names has its GK-TEMPLATE
notices said once for the folder, at the test's line that names it.
"""

from __future__ import annotations

import posixpath
import re

from gatekeeper import lazy_re, ownership
from gatekeeper.document import Problem
from gatekeeper.tree import Tree

_LITERAL = lazy_re.compile(r'"((?:[^"\\\n]|\\.)*/(?:[^"\\\n]|\\.)*)"|`([^`\n]*/[^`\n]*)`')
_HELM_LABEL = lazy_re.compile(rb"^\s+(?:app\.kubernetes\.io/managed-by|heritage): Helm\s*$", re.M)
TEST_FOLDERS = frozenset({"test", "tests", "testdata"})
_NAMED = "folders and files that Go tests name: path -> (test file, line)"
_FIRST = "the first Go test line naming a path in a folder: folder -> (test file, line)"


def notice(path: str, data: bytes, tree: Tree) -> Problem | None:
    """The notice for a golden file of a chart's Go tests, or None (judged as usual)."""
    if not TEST_FOLDERS.intersection(path.split("/")[:-1]) or not _HELM_LABEL.search(data):
        return None
    where = _named_test_data(path, tree)
    if where is None:
        return None
    test, line = where
    folder = posixpath.dirname(path)
    message = (
        f"{folder or '.'}: Helm's output that {test} compares against (the chart test's"
        " golden files): not judged as manifests of their own (an Argo CD or Flux path"
        " that applies them has them judged there); the chart is judged where it lives"
    )
    return Problem("GK-TEST-OUTPUT", test, line, message)


def fold_templates(path: str, problems: list[Problem], tree: Tree) -> list[Problem]:
    """A Go test's template data (a test folder's file a `*_test.go` names): its GK-TEMPLATE
    notices become one for the folder, at the test's line that names it (the same notice
    for every file of the folder, said once)."""
    if not any(problem.code == "GK-TEMPLATE" for problem in problems):
        return problems
    if not TEST_FOLDERS.intersection(path.split("/")[:-1]):
        return problems
    where = _named_test_data(path, tree)
    if where is None:
        return problems
    test, line = where
    folder = posixpath.dirname(path)
    message = (
        f"{folder}: test data that {test} reads, templates (not valid YAML as"
        " written, so nothing applies them as they are): not checked here"
    )
    kept = [problem for problem in problems if problem.code != "GK-TEMPLATE"]
    return [*kept, Problem("GK-TEMPLATE", test, line, message)]


def _named_test_data(path: str, tree: Tree) -> tuple[str, int] | None:
    """The Go test and line naming the file's folder, else the first naming a file of it
    (one place per folder); None when no Go test names either, or a CI `kubectl -f`
    applies the file (then it is judged)."""
    named = ownership.of(tree).remember(_NAMED, "", _named_by_go_tests)
    folder = posixpath.dirname(path)
    where = named.get(folder)
    if where is None and path in named:
        first = ownership.of(tree).remember(_FIRST, "", _first_in_folders)
        where = first[folder]
    if where is None:
        return None
    from gatekeeper.sources.rendered_copies import applied_by_ci

    return None if applied_by_ci(path, tree) else where


def _first_in_folders(tree: Tree, _key: str) -> dict[str, tuple[str, int]]:
    named = ownership.of(tree).remember(_NAMED, "", _named_by_go_tests)
    first: dict[str, tuple[str, int]] = {}
    for target, where in named.items():
        folder = posixpath.dirname(target)
        first[folder] = min(first.get(folder, where), where)
    return first


def _named_by_go_tests(tree: Tree, _key: str) -> dict[str, tuple[str, int]]:
    named: dict[str, tuple[str, int]] = {}
    for file in tree.list_dir("."):
        if not file.endswith("_test.go"):
            continue
        try:
            text = tree.read(file).decode("utf-8", "replace")
        except OSError:
            continue
        home = posixpath.dirname(file)
        for match in _LITERAL.finditer(text):
            literal = match.group(1) if match.group(1) is not None else match.group(2)
            target = posixpath.normpath(posixpath.join(home, literal)).lstrip("/")
            if target.startswith("..") or target == ".":
                continue
            line = text.count("\n", 0, match.start()) + 1
            named.setdefault(target, (file, line))
    return named
