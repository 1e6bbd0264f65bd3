"""The namespaces the repository's CI files and Makefiles install its own charts into.

`helm upgrade --install --namespace pebble pebble make/config/pebble/chart` in a Makefile
(cert-manager's e2e setup) puts the chart's objects in `pebble`: rendered alone in `default`
instead, the repository's own admission policies, which leave `pebble` out, were judged
against it (15 findings the cluster never gives). As deployer_scope places the files of
`kubectl apply -n X -f`, a chart no configuration renders (`sources.helm.charts`) is
rendered in each namespace CI installs it into. A command that names no namespace, or one CI
computes (`-n "$NS"`), installs it where the context points: `default` is kept then, so no
line of CI can take a chart's objects out of the namespace they are judged in without
naming where they go.
"""

from __future__ import annotations

import posixpath
import re

from gatekeeper import lazy_re, ownership
from gatekeeper.sources.names import CHART_FILE
from gatekeeper.tree import Tree, inside

# `helm` run by name or through a variable (`$(HELM)`, `${HELM}`), then install or upgrade:
# the words up to the end of the command (a pipe, a list operator, a redirect, the line).
_HELM = lazy_re.compile(r"(?i)(?<![\w.-])\$?[({]?helm[)}]?\s+(?:install|upgrade)\b([^;&|<>\n]*)")
# A comment (shell, make, YAML) to the end of the line: it installs nothing.
_COMMENT = lazy_re.compile(r"(^|\s)#.*")
# Flags of `helm install|upgrade` whose value is the next word when not given with `=`.
_VALUED = frozenset(
    {
        "-n", "--namespace", "-f", "--values", "--set", "--set-string", "--set-file",
        "--set-json", "--set-literal", "--version", "--timeout", "--kube-context",
        "--kubeconfig", "--repo", "--username", "--password", "--description",
        "--post-renderer", "--post-renderer-args", "--cert-file", "--key-file", "--ca-file",
        "--kube-apiserver", "--kube-as-user", "--kube-as-group", "--kube-token",
        "--kube-ca-file", "--registry-config", "--repository-cache", "--repository-config",
        "--history-max", "--labels", "-l", "--name-template", "-o", "--output",
    }
)  # fmt: skip
# Releases one chart is rendered as, at most: one a namespace.
MAX_NAMESPACES = 4
DEFAULT = "default"


def namespaces(chart_dir: str, tree: Tree) -> list[str]:
    """The namespaces CI installs the chart in `chart_dir` into, sorted ([] none says)."""
    found = ownership.of(tree).remember("CI helm namespaces", "", _installed)
    return sorted(found.get(posixpath.normpath(chart_dir or "."), ()))[:MAX_NAMESPACES]


def _installed(tree: Tree, _: str = "") -> dict[str, set[str]]:
    """Chart folder -> the namespaces of the commands installing it (module doc)."""
    from gatekeeper.built_only import ci_texts

    found: dict[str, set[str]] = {}
    for _, text in ci_texts(tree):
        if "helm" not in text.lower():
            continue
        text = "\n".join(_COMMENT.sub("", line) for line in text.splitlines())
        text = text.replace("\\\n", " ")  # a command continued over lines is one line
        for command in _HELM.finditer(text):
            installed = _chart_and_namespace(command.group(1).split(), tree)
            if installed is not None:
                found.setdefault(installed[0], set()).add(installed[1])
    return found


def _chart_and_namespace(words: list[str], tree: Tree) -> tuple[str, str] | None:
    """(chart folder, namespace) of the words after `helm install|upgrade`, when the chart is
    a folder of this repository; the namespace DEFAULT when none is named or it is computed."""
    namespace = DEFAULT
    positional: list[str] = []
    generated = False
    words = [word.strip("'\"") for word in words]
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        if not word.startswith("-"):
            positional.append(word)
            continue
        name, equals, value = word.partition("=")
        if not equals and name in _VALUED and index < len(words):
            value = words[index]
            index += 1
        if name in ("-n", "--namespace"):
            namespace = value if value and not re.search(r"[$`{]", value) else DEFAULT
        elif name in ("-g", "--generate-name"):
            generated = True
    names = positional if not generated else ["", *positional]
    if len(names) < 2 or re.search(r"[$`{]", names[1]) or "://" in names[1]:
        return None
    chart = inside(names[1].rstrip("/"))
    if chart is None or not tree.exists(posixpath.join(chart, CHART_FILE)):
        return None
    return chart, namespace
