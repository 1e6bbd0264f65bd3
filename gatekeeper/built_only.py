"""Files that reach the cluster only through kustomize builds are judged in those builds.

kubectl (`apply -k`), Argo CD and Flux apply a folder holding a kustomization.yaml as a build,
never file by file. A manifest that such builds take in is judged in every build (its
findings point at its own lines, with the overlays they hold for); what it says read alone,
and no build shows, is noise: an image the overlays all replace (`images:`), a namespace
they all set, a field every overlay patches. Such a finding of the plain file is left out
when every kustomization whose build reads the file was built in this run without an error
and no CI file gives it or a folder above it to `-f` (`kubectl apply -f base/` applies it
alone). A finding that a build or a deployer also shows at that place is kept as it was (one
finding, its fingerprint unchanged): an Argo CD directory Application (with `recurse`, Argo CD
applies every file below as written, kustomization or not) judges the file as written, at its
lines. A file no kustomization builds, or one whose build failed, keeps all its findings,
unless it is a patch its own folder's kustomization was built without and no other file
names (kubebuilder's patches commented out of the list): no deployer applies it, nothing of
it is said but its GK-* findings.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Iterator

from gatekeeper import ownership
from gatekeeper.finding import Finding
from gatekeeper.inventory import InventoryEntry
from gatekeeper.sources import LoadContext
from gatekeeper.tree import Tree

# Files of the repository that may apply a manifest alone (kubectl apply -f, oc apply -f).
_CI_FILES = re.compile(
    r"(^|/)(\.github/workflows/[^/]+\.ya?ml|\.gitlab-ci\.yml|Makefile|[^/]+\.sh|justfile"
    r"|Taskfile\.ya?ml|Jenkinsfile|\.drone\.ya?ml|\.circleci/config\.yml|azure-pipelines\.ya?ml)$"
)


def without_unbuilt_views(
    findings: list[Finding], loaded: Iterable[str], context: LoadContext
) -> list[Finding]:
    """`findings` without those of plain manifests that only builds deploy (module doc);
    `loaded`: the files this run loaded (the kustomizations it built among them)."""
    rendered = {_place(f) for f in findings if f.extra.get("variants")}
    candidates = {
        f.file
        for f in findings
        if f.source == "kubernetes" and not f.extra.get("variants") and _place(f) not in rendered
    }
    built = set(loaded) - {f.file for f in findings if f.policy_id.startswith("GK-")}
    only_built = only_built_files(candidates, built, context, left_out=True)
    if not only_built:
        return findings
    return [
        f
        for f in findings
        if f.file not in only_built
        or f.source != "kubernetes"
        or f.extra.get("variants")
        or f.policy_id.startswith("GK-")
        or _place(f) in rendered
    ]


def only_built_files(
    candidates: set[str], built: set[str], context: LoadContext, left_out: bool = False
) -> set[str]:
    """Which `candidates` reach the cluster only through kustomize builds this run made
    without an error (`built`) and no CI file applies alone (with `left_out`: also the
    patches their own folder's kustomization leaves out)."""
    from gatekeeper.sources.kustomize_build import KUSTOMIZATION_FILES

    if not candidates or not any(posixpath.basename(f) in KUSTOMIZATION_FILES for f in built):
        return set()  # no build in this run (a hook's few files): nothing judged elsewhere
    only_built = {file for file in candidates if _owners_built(file, built, context)}
    if left_out:
        only_built |= {file for file in candidates if _left_out(file, built, context)}
    if only_built:  # unless CI applies it alone
        # Once per tree: without_unbuilt_views and inventory_as_deployed both ask.
        applied = ownership.of(context.tree).remember("CI -f paths", "", _applied_in_ci)
        only_built = {file for file in only_built if not _applied(file, applied)}
    return only_built


def inventory_as_deployed(
    inventory: list[InventoryEntry],
    findings: list[Finding],
    loaded: Iterable[str],
    context: LoadContext,
) -> list[InventoryEntry]:
    """The inventory without the objects of plain manifests that only builds deploy: the
    builds' objects stand for them, in the namespaces and under the names the builds give
    (red team r24: a kustomization moving the only default-deny NetworkPolicy of `app` to
    `app-staging` still counted for `app` as its file reads alone)."""
    plain = {e.file for e in inventory if e.source == "kubernetes" and not e.variant}
    built = set(loaded) - {f.file for f in findings if f.policy_id.startswith("GK-")}
    only_built = only_built_files(plain, built, context, left_out=True)
    if not only_built:
        return inventory
    return [
        entry
        for entry in inventory
        if entry.file not in only_built or entry.source != "kubernetes" or entry.variant
    ]


def _place(finding: Finding) -> tuple[str, int, int, str]:
    return (finding.file, finding.line, finding.column, finding.policy_id)


def _owners_built(file: str, built: set[str], context: LoadContext) -> bool:
    """Do kustomizations read `file`, all of them built in this run without an error?"""
    from gatekeeper.sources import kustomize

    owners = kustomize.owners(file, context)
    return bool(owners) and all(owner in built for owner in owners)


def _left_out(file: str, built: set[str], context: LoadContext) -> bool:
    """Is `file` a patch (`*patch*.yaml`) in a folder whose kustomization was built in this
    run without an error, read by no kustomization and named by no other file (a skaffold
    `rawYaml`, a Tiltfile, a script)? Then no deployer applies it: kubectl, Argo CD and Flux
    build that folder (kubebuilder's scaffolded patches, commented out in
    config/default/kustomization.yaml, were 116 findings in kubeflow/manifests)."""
    from gatekeeper.sources import kustomize
    from gatekeeper.sources.kustomize_build import KUSTOMIZATION_FILES

    if "patch" not in posixpath.basename(file).lower():
        return False
    folder = posixpath.dirname(file)
    own = [posixpath.join(folder, name) if folder else name for name in KUSTOMIZATION_FILES]
    if not any(name in built for name in own) or kustomize.owners(file, context):
        return False
    return not _named_elsewhere(context.tree, file, {file, *own})


def _named_elsewhere(tree: Tree, file: str, besides: set[str]) -> bool:
    """Does a file of the tree other than `besides` spell `file`'s name, or its folder on a
    line that says `patch` (a loop of `kubectl patch --patch-file config/default/*patch*`:
    second red-team round s16)? An unreadable file may."""
    from gatekeeper.spelling import spelling

    name, folder = posixpath.basename(file), posixpath.dirname(file)
    words = [name, folder] if folder else [name]
    for _, line in spelling(tree, words, lines=True, skip=besides.__contains__):
        if line is None or name in line or "patch" in line.lower():
            return True
    return False


def _applied(file: str, applied: set[str]) -> bool:
    """Is the file, its folder or a folder above it applied as written (`kubectl apply -f`
    in CI)?"""
    folder = file
    while folder:
        if folder in applied:
            return True
        folder = posixpath.dirname(folder)
    return "" in applied


# A line that may run kubectl or oc on files (a name a variable holds is kubectl too: `$(KUBECTL)`).
_APPLIER = re.compile(r"(?i)kubectl|\boc\s|\bapply\b|\bcreate\b|\breplace\b")
# A `-f`/`--filename` argument: what `kubectl apply -f` (and `oc`, `kubectl create`...) reads.
_FILENAME = re.compile(r"""(?<!\S)(?:-f|--filename)(?:=|\s+)['"]?([^\s'"`;|&)]+)""")


def ci_texts(tree: Tree) -> Iterator[tuple[str, str]]:
    """(name, text) of each of the repository's CI files and scripts (_CI_FILES) it can read."""
    for name in tree.list_dir(""):
        if not _CI_FILES.search(name):
            continue
        try:
            yield name, tree.read(name).decode("utf-8", "replace")
        except OSError:
            continue


def _applied_in_ci(tree: Tree, _: str = "") -> set[str]:
    """The paths the repository's CI files and scripts give a `-f` option of kubectl or oc
    (read once per run), as tree paths: `kubectl apply -f ./k8s/base/` -> `k8s/base`; a
    computed one (`-f "$DIR"`) as the root: any file may be it."""
    found: set[str] = set()
    for _, text in ci_texts(tree):
        for line in text.splitlines():
            if not _APPLIER.search(line):  # `-f` of docker build, rm, helm...: not applied
                continue
            for match in _FILENAME.finditer(line):
                if "://" in match.group(1):  # a URL: no file of the repository
                    continue
                given = posixpath.normpath(match.group(1)).lstrip("/")
                # A path CI computes (`-f "$DIR"`) may be any file: every file may be applied.
                found.add("" if "$" in given or given == "." else given)
    return found
