"""What the repository's deployers make of its objects, as repository-scope rules count them.

A chart rendered alone (no configuration, no deployer's rendering) is judged as its defaults
render, but only something that releases it puts it on a cluster: a chart no file of the
repository names (no helmfile, Fleet, Skaffold or Terraform release, no Argo CD or Flux
source, no CI `helm upgrade`, no `sources.helm.charts` entry) is counted apart. Its
NetworkPolicy covers its own workloads, not the namespace the repository's manifests deploy
into (second red-team round s15: the only default-deny of `app` moved into a chart nothing
installs still counted for `app`). A chart repository (prometheus-community/helm-charts)
releases none of its charts: each is judged with what it holds, as before.

A manifest without `metadata.namespace` lands where its deployer puts it: `kubectl apply -n
payments -f deploy/payments/` of a CI file (s27), or the destination of an Argo CD
Application or Flux Kustomization that deploys its folder (their renderings say where; the
plain file read alone is then no object of `default`: real-repo repro 10,
argoproj/argocd-example-apps). So does an object of a kustomization built alone: `kubectl
apply -k <folder> -n X`, or an Application deploying that folder; one whose objects other
builds also make (a base) and that nothing deploys alone is where those builds put it, not
also in `default` (kubeflow: notebook-controller's upstream/manager, which its overlay puts
in `kubeflow`, was a phantom in `default`). A namespace CI computes
(`-n "$NS"`) is no namespace the rules can judge, never `default`.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from gatekeeper import lazy_re, ownership
from gatekeeper.document import Document
from gatekeeper.inventory import InventoryEntry
from gatekeeper.sources import LoadContext
from gatekeeper.tree import ScanDecision, Tree, inside

_RENDERED_ALONE = "helm "  # the variant of a chart's own rendering (helm._variant)
_BUILT_ALONE = "kustomize "  # the variant of a kustomization's own build (kustomize.py)
_DEPLOYED_BY = "deployed by "  # the variant of what a deployer renders (gitops, release files)

# Files that do not deploy anything: what they say of a chart releases nothing.
_PROSE = lazy_re.compile(
    r"(?i)\.(md|markdown|rst|txt|adoc|html?)$|(^|/)(LICENSE|NOTICE|OWNERS)[^/]*$"
)
# A `#` comment (YAML, shell, Makefile, HCL) or a `//` one (Go, HCL, Jsonnet: VictoriaMetrics'
# `// TestX tests that the victoria-logs-agent chart can be installed`) to the end of the line.
_COMMENT = lazy_re.compile(r"(^|\s)(#|//).*")
# A line that may release a chart by its folder's last name (`chart: ./netpol`, `file://../x`,
# `chart = "${path.module}/netpol"`, `helm upgrade x netpol/`): besides its full path.
_RELEASING = lazy_re.compile(r"(?i)chart|helm|path|release|source|fleet")


def scoped(inventory: list[InventoryEntry], context: LoadContext) -> list[InventoryEntry]:
    """`inventory` as the repository's deployers deploy it (module doc)."""
    inventory = _charts_apart(inventory, context)
    return _in_deployer_namespaces(inventory, context.tree)


def _chart_of(entry: InventoryEntry) -> str | None:
    if entry.source != "helm" or not entry.variant.startswith(_RENDERED_ALONE):
        return None
    parts = entry.variant.split()
    return parts[1] if len(parts) > 1 else None


def _charts_apart(inventory: list[InventoryEntry], context: LoadContext) -> list[InventoryEntry]:
    from gatekeeper.workloads import WORKLOAD_KINDS

    # Only a chart holding something that covers other objects (a NetworkPolicy, a role) is
    # told apart: a chart of workloads alone is covered the same either way (its workloads
    # see the namespace's objects and their own), so what releases it is not searched for.
    charts = {
        chart
        for entry in inventory
        if (chart := _chart_of(entry)) is not None and entry.kind not in WORKLOAD_KINDS
    }
    if not charts:
        return inventory
    key = "\n".join(sorted(charts))
    named = ownership.of(context.tree).remember("charts released", key, _named_charts)
    configured = _configured(context)
    apart = {chart for chart in charts if chart not in named and chart not in configured}
    if not apart:
        return inventory
    return [
        entry._replace(scope=chart)
        if (chart := _chart_of(entry)) is not None and chart in apart
        else entry
        for entry in inventory
    ]


def released(chart: str, context: LoadContext) -> bool:
    """Whether a file of the repository releases the chart folder (as _charts_apart asks),
    or `sources.helm.charts` configures it."""
    chart = posixpath.normpath(chart or ".")
    if chart in _configured(context):
        return True
    return chart in ownership.of(context.tree).remember("charts released", chart, _named_charts)


def _configured(context: LoadContext) -> set[str]:
    """The chart folders `sources.helm.charts` configures: deployed as configured."""
    found = set()
    for entry in context.options_for("helm").get("charts", []):
        path = str(entry.get("path", "")).removesuffix("Chart.yaml")
        found.add(posixpath.normpath(path or "."))
    return found


def _named_charts(tree: Tree, key: str) -> set[str]:
    """Which chart folders of `key` (one a line) a file of the tree outside them names as a
    deployer does: its path, or its last name on a line about charts or releases; or a
    `fleet.yaml` in or above it (Fleet deploys the folder)."""
    charts = key.split("\n")
    named = {chart for chart in charts if _fleet_above(tree, chart)}
    below = [chart for chart in charts if chart != "."]  # the root chart: no file outside it
    remaining = [chart for chart in below if chart not in named]
    if not remaining:
        return named
    # Lines spelling a chart's path, and lines spelling a chart's last name beside a word of
    # releasing: a chart repository spells its charts' names on most lines (one search for
    # all names alone had cost 2.8 s on the real charts corpus). For one chart (a hook's),
    # not in its own files, which never release it (kube-prometheus-stack: 7 of 17 MB).
    names = {posixpath.basename(chart) for chart in remaining if "/" in chart}
    paths = sorted(set(remaining))
    own = remaining[0] if len(remaining) == 1 else None
    found = _lines_spelling(tree, sorted(names), _RELEASING_WORDS, paths, own)
    last = {chart: posixpath.basename(chart) for chart in below}
    for file, line in found:
        if not remaining:
            break
        if _PROSE.search(file):
            continue
        line = _COMMENT.sub("", line)  # a comment releases nothing
        releasing = _RELEASING.search(line) is not None
        hit = [
            chart
            for chart in remaining
            if (
                chart in line
                or (releasing and last[chart] in line and _spells_name(line, last[chart]))
            )
            and not file.startswith(chart + "/")
        ]
        if hit:
            named.update(hit)
            remaining = [chart for chart in remaining if chart not in named]
    return named


# The words of _RELEASING as lines spell them, for a search that cannot ignore case alone.
_RELEASING_WORDS = tuple(
    spelled
    for word in ("chart", "helm", "path", "release", "source", "fleet")
    for spelled in (word, word.capitalize(), word.upper())
)


_GLOB = lazy_re.compile(r"[*?\[\]\\]")


def _spells_name(line: str, name: str) -> bool:
    return re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w.-])", line) is not None


def _fleet_above(tree: Tree, chart: str) -> bool:
    folder: str | None = "" if chart == "." else chart
    while folder is not None:
        if tree.exists(posixpath.join(folder, "fleet.yaml") if folder else "fleet.yaml"):
            return True
        folder = posixpath.dirname(folder) if folder else None
    return False


def _lines_spelling(
    tree: Tree, names: list[str], near: tuple[str, ...], paths: list[str], outside: str | None
) -> list[tuple[str, str]]:
    """(file, line) of each line of the tree spelling one of `paths`, then of each spelling
    one of `names` and one of `near` outside Helm templates; prose (and the folder `outside`)
    left out. A chart's last name alone (`chart: ./netpol`) is not how a Helm template names
    a chart to release (an app-of-apps chart's Application gives its path). Two searches:
    one git expression for both, templates then dropped in Python, cost the charts corpus
    3x the git CPU (a line of every template read against every name)."""
    from gatekeeper.spelling import spelling

    # (a folder whose name git's globs would read as a pattern is searched, then skipped)
    own = [f"{outside}/**"] if outside and not _GLOB.search(outside) else []

    def skip(file: str) -> bool:
        return bool(_PROSE.search(file)) or (outside is not None and file.startswith(outside + "/"))

    def skip_templates(file: str) -> bool:
        return skip(file) or "/templates/" in f"/{file}"

    found = spelling(tree, paths, lines=True, skip=skip, exclude=own)
    if names:
        found += spelling(
            tree,
            names,
            lines=True,
            skip=skip_templates,
            near=near,
            exclude=["**/templates/**", *own],
        )
    return [(file, line) for file, line in found if line is not None]


# A kubectl or oc command of a CI line, up to the next command (`$(KUBECTL)` is kubectl too).
_KUBECTL = lazy_re.compile(r"(?i)(?:\bkubectl\b|\boc\s)[^;&|\n]*")
_FILENAME = lazy_re.compile(r"""(?<!\S)(?:-f|--filename)(?:=|\s+)['"]?([^\s'"`;|&)]+)""")
_KUSTOMIZE = lazy_re.compile(r"""(?<!\S)(?:-k|--kustomize)(?:=|\s+)['"]?([^\s'"`;|&)]+)""")
_BUILT = "-k "  # how ci_namespaces keys a folder CI builds (`kubectl apply -k`)
# A `-k` folder CI computes, then what it may be (built_only.may_name): "" any build,
# `*/x` any ending in x, `k8s` any below k8s.
_BUILT_COMPUTED = "-k $"
_NAMESPACE = lazy_re.compile(r"""(?<!\S)(?:-n|--namespace)(?:=|\s+)['"]?([^\s'"`;|&)]+)""")
_CONTINUED = lazy_re.compile(r"\\\r?\n")
_COMPUTED = lazy_re.compile(r"[$`{]")
_RECURSIVE = lazy_re.compile(r"(?<!\S)(?:-R|--recursive)(?!\S)")


def ci_namespaces(tree: Tree, _: str = "") -> dict[str, set[str]]:
    """The namespace each path CI gives `kubectl apply -f` is applied into, by path (a file or
    a folder ending in `/` when applied with `-R`; `-k <folder>` for a build): "" when the
    command names none (the context's namespace). Literal paths only: a computed one (`-f
    "$DIR"`) is left as it is (a computed `-k` is kept as _BUILT_COMPUTED). `-f -` applies the
    files fed to it (`sed ... dir/*.yaml | kubectl apply -n bind -f -`: cert-manager's bind)."""
    from gatekeeper.built_only import ci_texts, fed_into, may_name

    found: dict[str, set[str]] = {}
    texts = list(ci_texts(tree))
    for name, text in texts:
        text = _CONTINUED.sub(" ", text)  # a command continued over lines is one line
        for command in _KUBECTL.finditer(text):
            words = command.group(0)
            given = _NAMESPACE.search(words)
            namespace = given.group(1) if given else ""
            recursive = _RECURSIVE.search(words) is not None
            paths = [match.group(1) for match in _FILENAME.finditer(words)]
            if "-" in paths:  # the files fed to its input (`sed ... dir/*.yaml | kubectl -f -`)
                begins = text.rfind("\n", 0, command.start()) + 1
                fed = fed_into(text[begins : command.start()], words)
                paths += [_folder_of_glob(path) for path in fed]
            for path in paths:
                if "://" in path or "$" in path or "{" in path or path in ("-", "."):
                    continue
                normal = inside(path)
                if normal is None:
                    continue
                found.setdefault(normal + ("/" if recursive else ""), set()).add(namespace)
            for match in _KUSTOMIZE.finditer(words):
                path = match.group(1)
                if "$" in path or "{" in path:
                    others = [other for other_name, other in texts if other_name != name]
                    for may_be in may_name(path, name, text, others) if "{{" not in path else {""}:
                        key = _BUILT_COMPUTED + may_be  # "": any build may be it
                        found.setdefault(key, set()).add(namespace)
                elif "://" not in path and (normal := inside(path)) is not None:
                    found.setdefault(_BUILT + normal, set()).add(namespace)
    moving = [(n, text) for n, text in texts if _KUBECTL.search(text) and _MOVES.search(text)]
    if moving:
        for key, namespace in _applied_elsewhere(tree, moving):
            found.setdefault(key, set()).add(namespace)
    return found


# What may move a CI script to another folder before a kubectl command (shell_dirs).
_MOVES = lazy_re.compile(r"\b(?:cd|pushd)\s|working-directory|(?:^|[\s;&|])(?:\.|source)\s")
_APPLY_FLAGS = {"-f": "f", "--filename": "f", "-k": "k", "--kustomize": "k"}
_NAMESPACE_FLAGS = frozenset({"-n", "--namespace"})


def _applied_elsewhere(tree: Tree, moving: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(key as ci_namespaces keys it, namespace) of each kubectl (oc) command of the tree's
    workflows (and of the shell scripts of `moving`, the CI texts that may change folder,
    run from the root as the expressions above read them) that runs in another folder than
    the root, its paths read from there (the shell model's folder: `cd deploy && kubectl
    apply -n payments -f api.yaml` applies deploy/api.yaml, read above as ./api.yaml)."""
    from gatekeeper import shell, shell_dirs
    from gatekeeper.sources import workflow
    from gatekeeper.sources.workflow_scripts import file_reader, steps

    commands = [
        command
        for document in workflow.workflows(tree)
        for _, _, _, step in steps(document.obj)
        for command in step.get("commands") or []
    ]
    for name, text in moving:
        if name.endswith((".sh", ".bash")):
            place = shell_dirs.Place(files=file_reader(tree))
            commands += [found.as_dict() for found in shell.commands(text, place=place)]
    found: list[tuple[str, str]] = []
    for command in commands:
        folder = command.get("directory", ".")
        if command.get("program") not in ("kubectl", "oc") or folder == ".":
            continue
        if not shell_dirs.known(folder) or str(folder).startswith("/"):
            continue
        namespace, paths, recursive = _kubectl_parts(command.get("args") or [])
        for kind, given in paths:  # `-f .` is the folder it went to
            if "$" in given or "://" in given or given == "-":
                continue
            path = inside(shell_dirs.resolve(folder, given) or "")
            if path is None:
                continue
            key = _BUILT + path if kind == "k" else path + ("/" if recursive else "")
            found.append((key, namespace))
    return found


def _kubectl_parts(args: list[Any]) -> tuple[str, list[tuple[str, str]], bool]:
    """The namespace (`-n X`, "" none), the `-f`/`-k` paths (kind "f" or "k") and whether
    `-R` recurses, of a kubectl command's words."""
    namespace, paths, recursive = "", [], False
    words = [str(word) for word in args]
    for index, word in enumerate(words):
        flag, equals, value = word.partition("=")
        if not equals and index + 1 < len(words):
            value = words[index + 1]
        if flag in _NAMESPACE_FLAGS:
            namespace = value
        elif flag in _APPLY_FLAGS:
            paths.append((_APPLY_FLAGS[flag], value))
        elif word in ("-R", "--recursive"):
            recursive = True
    return namespace, paths, recursive


def _built_into(build: str, applied: dict[str, set[str]]) -> set[str]:
    """The namespaces of the CI `kubectl apply -k` commands that may build the folder `build`:
    named as written, or computed with a literal end it ends with (`-k "$TMP/overlays/x"`:
    `*/overlays/x`, as built_only reads a computed `-f`) or below the folder written before
    the variable."""
    namespaces = set(applied.get(_BUILT + build, ()))
    for key, given in applied.items():
        path = key.removeprefix(_BUILT_COMPUTED) if key.startswith(_BUILT_COMPUTED) else ""
        if path.startswith("*/"):
            if build == path[2:] or build.endswith(path[1:]):
                namespaces |= given
        elif path and (build == path or build.startswith(path + "/")):
            namespaces |= given  # a folder written before the variable (`-k k8s/$ENV`)
    return namespaces


def _folder_of_glob(path: str) -> str:
    """`dir/*.yaml` -> `dir` (its files, as _applied_into reads a folder); others as given."""
    head, _, tail = path.rpartition("/")
    return head if head and any(mark in tail for mark in "*?[") else path


def _applied_into(file: str, applied: dict[str, set[str]]) -> set[str]:
    """The namespaces the CI commands applying `file` give (its path, its folder, or a
    folder above applied with `-R`)."""
    if not applied:
        return set()  # (asked of every manifest: most repositories' CI applies none)
    namespaces = set(applied.get(file, ()))
    namespaces |= applied.get(posixpath.dirname(file) or ".", set())
    folder = posixpath.dirname(file)
    while folder:
        namespaces |= applied.get(folder + "/", set())
        folder = posixpath.dirname(folder)
    return namespaces


def _in_deployer_namespaces(inventory: list[InventoryEntry], tree: Tree) -> list[InventoryEntry]:
    builds = {made_by for e in inventory if (made_by := _build_of(e)) is not None}
    if not builds and not any(_plain_unplaced(e) for e in inventory):
        return inventory
    applied = ownership.of(tree).remember("CI namespaces", "", ci_namespaces)
    deployed = {_key(e) for e in inventory if e.variant.startswith(_DEPLOYED_BY)}
    taken_in = Takers(builds, tree)
    out: list[InventoryEntry] = []
    for entry in inventory:
        if not _plain_unplaced(entry):
            if not _base_alone(entry, applied, taken_in):
                out.append(entry)
            continue
        build = _build_of(entry)
        if build is None:
            namespaces = _applied_into(entry.file, applied)
            alone = bool(namespaces) or _ci_applies(entry.file, tree)
        else:  # an object of a kustomization built alone: `kubectl apply -k <its folder>`
            namespaces = _built_into(build, applied)
            alone = bool(namespaces) or _BUILT_COMPUTED in applied
        if namespaces:
            out += _placed(entry, namespaces)
        elif _key(entry) in deployed and not alone:
            continue  # the deployer's rendering stands for it, in the namespace it gives
        elif build is not None and not alone and taken_in.base(build):
            continue  # a base: the builds taking it in stand for it, in the namespaces they give
        else:
            out.append(entry)
    return out


def _base_alone(entry: InventoryEntry, applied: dict[str, set[str]], taken_in: Takers) -> bool:
    """Is `entry` an object of a base built alone that names its own namespace, which other
    builds take in and nothing deploys alone? kubebuilder's `namespace: system` (kueue's
    config/components/kueueviz) is a placeholder every overlay replaces: no cluster has it
    there, and "namespace system has no NetworkPolicy" was a phantom."""
    build = _build_of(entry)
    if build is None or entry.source != "kustomize" or _built_into(build, applied):
        return False
    return _BUILT_COMPUTED not in applied and taken_in.base(build)


def bases_built_alone(builds: set[str], tree: Tree) -> set[str]:
    """Which of the folders of the run's `builds` (kustomizations built without an error) are
    bases: another of them takes the folder in, and no CI `kubectl apply -k` (also a computed
    folder it may be) builds it alone. Its own build is then how no deployer sees it."""
    applied = ownership.of(tree).remember("CI namespaces", "", ci_namespaces)
    if _BUILT_COMPUTED in applied:  # `-k "$DIR"`: any build may be applied alone
        return set()
    taken_in = Takers(builds, tree)
    return {b for b in builds if not _built_into(b, applied) and taken_in.base(b)}


class Takers:
    """Which of `builds` (kustomization folders) take a folder in: each file their builds
    read mapped to the builds reading it, in one pass over their reads (made when first
    asked), where asking every other build about every folder was 0.8 s of the real k8s
    corpus's 310 builds."""

    def __init__(self, builds: Iterable[str], tree: Tree) -> None:
        self.builds = set(builds)
        self.tree = tree
        self._readers: dict[str, set[str]] | None = None

    def of(self, folder: str) -> set[str]:
        """The builds, other than `folder`'s own, whose build reads its kustomization."""
        if self._readers is None:
            from gatekeeper.sources.kustomize import reads

            self._readers = {}
            for build in self.builds:
                for file in own_kustomizations(build, self.tree):
                    for read in reads(file, self.tree):
                        self._readers.setdefault(read, set()).add(build)
        own = own_kustomizations(folder, self.tree)
        return {b for file in own for b in self._readers.get(file, ())} - {folder}

    def base(self, folder: str) -> bool:
        """Does another of the builds take `folder` in?"""
        return bool(self.of(folder))


def own_kustomizations(folder: str, tree: Tree) -> list[str]:
    """The kustomization files the folder holds ("." or "": the root)."""
    from gatekeeper.sources.kustomize_build import KUSTOMIZATION_FILES

    index = ownership.of(tree)
    names = [
        name if folder in (".", "") else posixpath.join(folder, name)
        for name in KUSTOMIZATION_FILES
    ]
    return [name for name in names if index.exists(name)]


def _key(entry: InventoryEntry) -> tuple[str, int, str, str]:
    return (entry.file, entry.line, entry.kind, entry.name)


def _build_of(entry: InventoryEntry) -> str | None:
    """The folder of the kustomization whose build made `entry` alone, None for a plain
    manifest."""
    if entry.variant.startswith(_BUILT_ALONE):
        return posixpath.normpath(entry.variant.removeprefix(_BUILT_ALONE).split()[0])
    return None


def _plain_unplaced(entry: InventoryEntry) -> bool:
    """A manifest, or an object of a kustomization built alone, that names no namespace."""
    if entry.namespace:
        return False
    if entry.source == "kubernetes" and not entry.variant:
        return True
    return entry.source == "kustomize" and entry.variant.startswith(_BUILT_ALONE)


def _placed(entry: InventoryEntry, namespaces: Iterable[str]) -> list[InventoryEntry]:
    """One entry per namespace a deployer gives it ("" none: as written)."""
    return [entry._replace(namespace=namespace) for namespace in sorted(namespaces)]


# Built-in kinds the API server keeps out of namespaces (`kubectl api-resources
# --namespaced=false`), besides the `Cluster*` and `*Class` kinds (ClusterRole, StorageClass).
_CLUSTER_WIDE = frozenset(
    {
        "APIService", "CertificateSigningRequest", "ComponentStatus", "CSIDriver", "CSINode",
        "CustomResourceDefinition", "FlowSchema", "IPAddress", "MutatingAdmissionPolicy",
        "MutatingAdmissionPolicyBinding", "MutatingWebhookConfiguration", "Namespace", "Node",
        "NodeMetrics", "PersistentVolume", "PodSecurityPolicy", "PriorityLevelConfiguration",
        "ResourceSlice", "SelfSubjectAccessReview", "SelfSubjectReview",
        "SelfSubjectRulesReview", "ServiceCIDR", "StorageVersion", "StorageVersionMigration",
        "SubjectAccessReview", "TokenReview", "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding", "ValidatingWebhookConfiguration",
        "VolumeAttachment", "VolumeSnapshotContent",
    }
)  # fmt: skip
# The API groups of Kubernetes itself (core `v1`, the unsuffixed ones, `*.k8s.io`).
_BUILT_IN_API = lazy_re.compile(
    r"^(v1|(apps|batch|policy|autoscaling|extensions)/\w+|[\w.-]*\.k8s\.io/\w+)$"
)


def namespaced(obj: Any) -> bool:
    """Is `obj` of a built-in kind the API server keeps in a namespace? A custom resource's
    scope is its definition's, which the cluster has: not known here, so it is not placed
    (left where it is written, judged by every namespace-scoped rule: the stricter way)."""
    kind = str(obj.get("kind") or "") if isinstance(obj, dict) else ""
    if not kind or not _BUILT_IN_API.match(str(obj.get("apiVersion") or "")):
        return False
    return not _cluster_kind(kind)


def cluster_wide(obj: Any) -> bool:
    """Is `obj` of a kind the API server keeps out of namespaces, as far as can be told
    without the cluster: a built-in cluster-wide kind, or a custom `Cluster*` one
    (ClusterIssuer, ClusterPolicy, ClusterSecretStore: the convention for a cluster-wide
    twin of a namespaced kind)? A Namespace is not: it is its own namespace."""
    kind = str(obj.get("kind") or "") if isinstance(obj, dict) else ""
    if not kind or kind in ("Namespace", "Cluster"):
        return False
    if _BUILT_IN_API.match(str(obj.get("apiVersion") or "")):
        return _cluster_kind(kind)
    return kind.startswith("Cluster")


def _cluster_kind(kind: str) -> bool:
    """A built-in kind's scope: cluster-wide by name."""
    return kind in _CLUSTER_WIDE or kind.startswith("Cluster") or kind.endswith("Class")


# Per scanned tree: do the scan's policies judge an object by the namespace it is applied
# into (decide)?
_PLACING = ScanDecision()


def decide(engine: Any, tree: Tree) -> None:
    """Whether the scan of `tree` places plain objects where CI applies them (placed_by_ci):
    when a policy's verdict may depend on the namespace an object is applied into, that is
    the repository's or the policy directories' admission policies (a namespace selector,
    `request.namespace`, `namespaceObject`, parameters looked up in the namespace) or a
    policy matching namespaces. Otherwise the objects stay as written, judged as before and
    with the same fingerprints (the inventory places them for the repository's rules either
    way), and a hook on one manifest does not read every CI file of the tree for it."""
    placing = bool(engine.admission) or any(
        policy.match.namespaces or policy.match.exclude_namespaces
        for policy in engine.policies
        if policy.scope != "repository"
    )
    _PLACING.decide(tree, placing)


def prepare(tree: Tree) -> None:
    """Read where CI applies files (ci_namespaces) before a pool forks, when placed_by_ci
    will: each worker would read every CI file again for it."""
    if _PLACING.of(tree):
        ownership.of(tree).remember("CI namespaces", "", ci_namespaces)


def placed_by_ci(documents: list[Document], file: str, tree: Tree) -> list[Document]:
    """A plain manifest's objects where CI's `kubectl apply -n X -f <file or folder>` puts
    them, for every rule (the repository's admission policies and their namespace selectors
    among them), as the cluster sees them: kubectl gives a namespaced object without one
    X (cli-runtime's RequireNamespace); one per namespace CI applies the file into, and as
    written too when a command names none (the context's namespace). An object naming
    another namespace is refused by that command (`the namespace from the provided object
    ... does not match`): it stays as written. Cluster-wide kinds ignore `-n`."""
    return _placed_in(documents, tree, lambda applied, _: _applied_into(file, applied))


def built_placed_by_ci(documents: list[Document], tree: Tree) -> list[Document]:
    """The objects of a kustomization built alone (variant `kustomize <folder>`) where CI's
    `kubectl apply -k <folder> -n X` puts them, as placed_by_ci (kubectl requires the
    namespace of a build's objects as of a file's). Called for the scan's own builds only:
    an Argo CD or Flux build of the folder is where its deployer puts it."""
    return _placed_in(documents, tree, lambda applied, build: _built_into(build, applied))


def _placed_in(
    documents: list[Document],
    tree: Tree,
    given: Callable[[dict[str, set[str]], str], set[str]],
) -> list[Document]:
    """Each namespaced, unplaced object of `documents` once per namespace `given(CI's
    applications, its build or "")` says (a computed one: as written)."""
    if not _PLACING.of(tree) or not any(_placeable(document) for document in documents):
        return documents
    applied = ownership.of(tree).remember("CI namespaces", "", ci_namespaces)
    out: list[Document] = []
    known: dict[str, list[str]] = {}
    for document in documents:
        if not _placeable(document):
            out.append(document)
            continue
        build = _build_of_document(document)
        if build not in known:
            found = given(applied, build)
            # A namespace CI computes (`-n "$NS"`) may be any: as written, every selector applies.
            known[build] = sorted({"" if _COMPUTED.search(ns) else ns for ns in found}) or [""]
        out += [
            document
            if not namespace
            else replace(document, namespace=namespace, extra=dict(document.extra))
            for namespace in known[build]
        ]
    return out


def _placeable(document: Document) -> bool:
    if document.namespace or not namespaced(document.obj):
        return False
    if document.source == "kubernetes":
        return not document.extra.get("variant")
    return document.source == "kustomize" and _build_of_document(document) != ""


def _build_of_document(document: Document) -> str:
    """The folder of the kustomization built alone that made `document` ("" none)."""
    variant = str(document.extra.get("variant") or "")
    if not variant.startswith(_BUILT_ALONE):
        return ""
    return posixpath.normpath(variant.removeprefix(_BUILT_ALONE).split()[0])


def _ci_applies(file: str, tree: Tree) -> bool:
    """Does a CI command give `file` or a folder above it to `kubectl apply -f` (a computed
    path: any file may be it)?"""
    from gatekeeper.built_only import _applied, _applied_in_ci

    applied = ownership.of(tree).remember("CI -f paths", "", _applied_in_ci)
    return _applied(file, applied)
