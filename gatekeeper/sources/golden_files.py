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
"""

from __future__ import annotations

import posixpath
import re

from gatekeeper import ownership
from gatekeeper.document import Problem
from gatekeeper.tree import Tree

_LITERAL = re.compile(r'"((?:[^"\\\n]|\\.)*/(?:[^"\\\n]|\\.)*)"|`([^`\n]*/[^`\n]*)`')
_HELM_LABEL = re.compile(rb"^\s+(?:app\.kubernetes\.io/managed-by|heritage): Helm\s*$", re.M)
TEST_FOLDERS = frozenset({"test", "tests", "testdata"})
_NAMED = "folders and files that Go tests name: path -> (test file, line)"


def notice(path: str, data: bytes, tree: Tree) -> Problem | None:
    """The notice for a golden file of a chart's Go tests, or None (judged as usual)."""
    if not TEST_FOLDERS.intersection(path.split("/")[:-1]) or not _HELM_LABEL.search(data):
        return None
    named = ownership.of(tree).remember(_NAMED, "", _named_by_go_tests)
    folder = posixpath.dirname(path)
    where = named.get(path) or named.get(folder)
    if where is None:
        return None
    from gatekeeper.sources.rendered_copies import applied_by_ci

    if applied_by_ci(path, tree):
        return None
    test, line = where
    message = (
        f"{folder or '.'}: Helm's output that {test} compares against (the chart test's"
        " golden files): not judged as manifests of their own (an Argo CD or Flux path"
        " that applies them has them judged there); the chart is judged where it lives"
    )
    return Problem("GK-TEST-OUTPUT", test, line, message)


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
