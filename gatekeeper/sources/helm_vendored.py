"""A chart's remote dependency whose copy the repository holds beside it.

A monorepo of charts (bitnami/charts: every chart depends on `common` from
`oci://registry-1.docker.io/bitnamicharts`, version `2.x.x`, and `bitnami/common` is that
chart's source) publishes each dependency from its own folder; `charts/<name>` is not
committed, so the chart was not rendered at all ("dependencies not vendored"). A sibling
folder `../<name>` whose Chart.yaml has the dependency's name and a version its constraint
allows is what Helm would fetch: it is rendered with it, as a `file://` dependency is.
A version the constraint does not allow, or a constraint not read here, is not taken.
That the registry serves this copy is taken on trust, and said (a low GK-NOT-EXPANDED at
the dependency): vendoring it (`helm dependency build`) judges exactly what is deployed.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from typing import Any

from gatekeeper import lazy_re
from gatekeeper.document import Problem
from gatekeeper.tree import Tree, inside
from gatekeeper.yamldoc import YamlDocument, decode, load_all

_PART = r"(\d+|[xX*])"
_TERM = lazy_re.compile(
    rf"^(>=|<=|!=|>|<|=|~>|~|\^)?v?{_PART}(?:\.{_PART})?(?:\.{_PART})?(?:-[0-9A-Za-z.-]+)?$"
)
_VERSION = lazy_re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:[-+][0-9A-Za-z.+-]+)?$")


def sibling_copy(tree: Tree, chart_dir: str, entry: dict[str, Any]) -> str:
    """The repository folder of the copy of a remote dependency `entry` (Chart.yaml's
    `dependencies` item) beside the chart, "" when there is none to take: the chart has it
    under charts/ (a folder or a package), or the copy's name or version does not fit."""
    name, constraint = str(entry.get("name") or ""), str(entry.get("version") or "")
    repository = str(entry.get("repository") or "")
    if not name or "/" in name or repository.startswith("file://") or not chart_dir:
        return ""
    charts = posixpath.join(chart_dir, "charts")
    if tree.list_dir(posixpath.join(charts, name)) or any(
        posixpath.basename(file).startswith(f"{name}-") and file.endswith(".tgz")
        for file in tree.list_dir(charts)
    ):
        return ""  # vendored the usual way: Helm takes that
    folder = inside(posixpath.join(posixpath.dirname(chart_dir), name))
    if folder is None or folder == chart_dir:
        return ""
    meta = _chart(tree, posixpath.join(folder, "Chart.yaml"))
    if meta is None or str(meta.get("name") or "") != name:
        return ""
    return folder if satisfies(constraint, str(meta.get("version") or "")) else ""


_NAMED = lazy_re.compile(r"^\s*(?:-\s+)?name:\s*['\"]?([\w.-]+)", re.MULTILINE)


def may_have_copies(tree: Tree, chart_dir: str, text: str) -> bool:
    """Might a Chart.yaml's text (read as text: most have none) name a dependency whose copy
    is beside the chart? Only then is it parsed for sibling_copy."""
    if "dependencies" not in text or not chart_dir:
        return False
    parent = posixpath.dirname(chart_dir)
    return any(
        tree.exists(posixpath.join(parent, name, "Chart.yaml"))
        for name in set(_NAMED.findall(text))
    )


def judged_from(folder: str, entry: dict[str, Any], file: str, line: int) -> Problem:
    """The notice that a dependency is judged from the repository's copy of it."""
    message = (
        f"dependency {entry.get('name')} is judged from this repository's copy {folder}"
        f" (its version fits {entry.get('version') or 'any'}); Helm fetches it from"
        f" {entry.get('repository')}, taken to publish that copy: vendor it (`helm"
        " dependency build`, commit charts/) to judge exactly what is deployed"
    )
    subject = f"{entry.get('name')} {entry.get('repository')}"  # see added_by_change
    return Problem("GK-NOT-EXPANDED", file, line, message, subject=subject)


def added_by_change(
    findings: list[Any], base: Tree, head: Tree, touched: Iterable[str] = ()
) -> list[Any]:
    """`findings` of a change's head, with the notice of a dependency judged from a copy
    made blocking when the base's chart did not have that dependency from that repository
    at that version constraint (Chart.yaml or requirements.yaml, which Helm 3 reads too): a
    pull request adding a dependency on a registry of its own, with a harmless copy beside
    the chart, would have the copy judged and the registry's chart deployed; one widening
    the constraint has Helm take a version the copy is not (red team s17 y02). Trusting the
    registry, and what it serves, is the base's decision, not the change's."""
    from gatekeeper.problems import to_finding

    out = []
    for finding in findings:
        subject = finding.extra.get("subject") if finding.policy_id == "GK-NOT-EXPANDED" else None
        if (
            isinstance(subject, str)
            and posixpath.basename(finding.file) in DEPENDENCY_FILES
            and "dependency " in finding.message
        ):
            name, _, repository = subject.partition(" ")
            chart_dir = posixpath.dirname(finding.file)
            trusted = _dependencies(base, chart_dir)
            asked = {
                version
                for n, r, version in _dependencies(head, chart_dir, finding.file)
                if (n, r) == (name, repository)
            }
            if (name, repository) not in {(n, r) for n, r, _ in trusted}:
                message = (
                    f"dependency {name} from {repository} is new in this change, and judged"
                    " from this repository's copy beside the chart: what that registry serves"
                    " is not judged; vendor it (`helm dependency build`, commit charts/) or"
                    " list the copy in sources.helm.vendored"
                )
            elif repointed := _repointed(repository, base, head, touched):
                message = (
                    f"dependency {name} from {repository} is judged from this repository's copy"
                    f" beside the chart, and this change points {repository} at {repointed}:"
                    " what that registry serves is not judged; vendor it (`helm dependency"
                    " build`, commit charts/) or list the copy in sources.helm.vendored"
                )
            elif any((name, repository, version) not in trusted for version in asked):
                was = sorted(v for n, r, v in trusted if (n, r) == (name, repository))
                message = (
                    f"dependency {name} from {repository} asks for version"
                    f" {', '.join(sorted(asked))} (the base: {', '.join(was)}) and is judged"
                    " from this repository's copy beside the chart: the version that registry"
                    " serves for it is not judged; vendor it (`helm dependency build`, commit"
                    " charts/) or list the copy in sources.helm.vendored"
                )
            else:
                out.append(finding)
                continue
            problem = Problem("GK-LOCAL-NOT-EXPANDED", finding.file, finding.line, message)
            finding = to_finding(problem, finding.source)
        out.append(finding)
    return out


DEPENDENCY_FILES = ("Chart.yaml", "requirements.yaml")
_REPO_ADD = lazy_re.compile(r"\bhelm\s+repo\s+add\s+([^\n;&|]*)")
# `helm repo add` flags followed by a value (helm repo add --help)
_VALUE_FLAGS = frozenset(
    {"--username", "--password", "--ca-file", "--cert-file", "--key-file", "--timeout"}
    | {"--repository-config", "--repository-cache", "--kube-context", "--kubeconfig", "-n"}
    | {"--namespace", "--registry-config", "--burst-limit", "--qps"}
)


def _repo_adds(tree: Tree, path: str, alias: str) -> set[str]:
    """The URLs `helm repo add <alias> URL` commands in the file `path` of `tree` give."""
    try:
        data = tree.read(path) if tree.exists(path) else b""
    except OSError:
        return set()
    if b"repo" not in data or len(data) > 1 << 20:
        return set()
    text = data.decode("utf-8", "replace")
    urls = set()
    for match in _REPO_ADD.finditer(text):
        words, skip = [], False
        for word in match.group(1).split():
            if skip:
                skip = False
            elif word.startswith("-"):
                skip = word in _VALUE_FLAGS
            else:
                words.append(word.strip("'\""))
        if len(words) >= 2 and words[0] == alias:
            urls.add(words[1])
    return urls


def _repointed(repository: str, base: Tree, head: Tree, touched: Iterable[str]) -> str:
    """A repository named by alias (`@acme`, `alias:acme`: the URL a `helm repo add acme URL`
    gave) is another registry when a file the change touches adds it with a URL that file
    did not have in the base (red team s17 y02), or with a URL it computes (`"$URL"`, whose
    value the change may have moved): "URL (file)", else ""."""
    alias = repository.removeprefix("@") if repository.startswith("@") else ""
    alias = alias or (repository.removeprefix("alias:") if repository.startswith("alias:") else "")
    if not alias:
        return ""
    for path in sorted(touched):
        given = _repo_adds(head, path, alias)
        new = given - _repo_adds(base, path, alias)
        if new:
            return f"{', '.join(sorted(new))} ({path})"
        # `helm repo add acme "$URL"`: the change may move $URL (an env: of the file).
        computed = sorted(url for url in given if "$" in url)
        if computed:
            return f"{', '.join(computed)}, which it computes ({path})"
    return ""


def _dependencies(tree: Tree, chart_dir: str, *only: str) -> set[tuple[str, str, str]]:
    """(name, repository, version constraint) of each dependency the chart at `chart_dir`
    declares in `tree` (Chart.yaml and requirements.yaml; `only` those files)."""
    found = set()
    for file in only or [posixpath.join(chart_dir, name) for name in DEPENDENCY_FILES]:
        listed = (_chart(tree, file) or {}).get("dependencies")
        for entry in listed if isinstance(listed, list) else []:
            if isinstance(entry, dict):
                found.add(
                    (
                        str(entry.get("name")),
                        str(entry.get("repository")),
                        str(entry.get("version") or ""),
                    )
                )
    return found


def _chart(tree: Tree, path: str) -> dict[str, Any] | None:
    try:
        text = decode(tree.read(path)) if tree.exists(path) else ""
    except (OSError, UnicodeDecodeError):
        return None
    for entry in load_all(path, text) if text else []:
        obj = entry.obj if isinstance(entry, YamlDocument) else None
        return obj if isinstance(obj, dict) else None
    return None


def satisfies(constraint: str, version: str) -> bool:
    """Does `version` meet a Helm (Masterminds semver) dependency constraint: `2.x.x`,
    `~2.31`, `^2.1.0`, `>=1.2 <3`, `1.2.3`, alternatives with `||`? An empty one allows any;
    a term not read here allows nothing."""
    found = _VERSION.match(version.strip())
    if found is None:
        return False
    wanted = (int(found[1]), int(found[2]), int(found[3]))
    if not constraint.strip():
        return True
    for alternative in constraint.split("||"):
        words = alternative.replace(",", " ").split()
        terms: list[str] = []
        for word in words:  # `>= 1.2`: the operator and its version are one term
            if terms and re.fullmatch(r"(>=|<=|!=|>|<|=|~>|~|\^)", terms[-1]):
                terms[-1] += word
            else:
                terms.append(word)
        if terms and all(_meets(term, wanted) for term in terms):
            return True
    return False


def _meets(term: str, version: tuple[int, int, int]) -> bool:
    parsed = _TERM.match(term)
    if parsed is None:
        return False
    operator = parsed[1] or "="
    parts = [None if p is None or p in "xX*" else int(p) for p in parsed.groups()[1:]]
    known = 0
    while known < 3 and parts[known] is not None:
        known += 1
    low = tuple(p if p is not None and i < known else 0 for i, p in enumerate(parts))
    if operator == "=":
        return version[:known] == low[:known]
    if operator in ("~", "~>"):
        high = (low[0] + 1, 0, 0) if known <= 1 else (low[0], low[1] + 1, 0)
        return low <= version < high
    if operator == "^":
        if low[0] > 0 or known <= 1:
            high = (low[0] + 1, 0, 0)
        elif low[1] > 0 or known == 2:
            high = (0, low[1] + 1, 0)
        else:
            high = (0, 0, low[2] + 1)
        return low <= version < high
    if operator == "!=":
        return version[:known] != low[:known]
    if known < 3 and operator in (">", "<="):  # `>1.2` is `>=1.3`, `<=1.2` is `<1.3`
        bumped = list(low)
        if known == 0:
            return operator == "<="
        bumped[known - 1] += 1
        return version >= tuple(bumped) if operator == ">" else version < tuple(bumped)
    compare = {">": version > low, ">=": version >= low, "<": version < low, "<=": version <= low}
    return compare[operator]
