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
from collections.abc import Callable, Iterable, Iterator

from gatekeeper import lazy_re, ownership
from gatekeeper.finding import Finding
from gatekeeper.inventory import InventoryEntry
from gatekeeper.sources import LoadContext
from gatekeeper.tree import Tree

# Files of the repository that may apply a manifest alone (kubectl apply -f, oc apply -f):
# a Makefile's included parts (`make/e2e-setup.mk`, cert-manager's) are the Makefile's.
_CI_FILES = lazy_re.compile(
    r"(^|/)(\.github/workflows/[^/]+\.ya?ml|\.gitlab-ci\.yml|Makefile|[^/]+\.sh|[^/]+\.mk|justfile"
    r"|Taskfile\.ya?ml|Jenkinsfile|\.drone\.ya?ml|\.circleci/config\.yml|azure-pipelines\.ya?ml)$"
)


# GK codes that say what a build holds, not that it failed: a secretGenerator's literal
# password said at the kustomization is no reason to keep its plain files' noise (red team
# s25: kubeflow's overlays with a generated Secret kept `image postgres` findings every
# overlay's `images:` replaces).
_SAID_OF_BUILT = frozenset({"GK-SECRET-PLAINTEXT", "GK-CHART-VALUES-SECRET"})


def _not_built(findings: list[Finding]) -> set[str]:
    """The files whose GK findings say they were not built (or not all of them)."""
    return {
        f.file
        for f in findings
        if f.policy_id.startswith("GK-") and f.policy_id not in _SAID_OF_BUILT
    }


def without_unbuilt_views(
    findings: list[Finding], loaded: Iterable[str], context: LoadContext
) -> list[Finding]:
    """`findings` without those of plain manifests that only builds deploy (module doc);
    `loaded`: the files this run loaded (the kustomizations it built among them)."""
    findings = _without_compared(findings, context)
    built = set(loaded) - _not_built(findings)
    findings = _without_base_views(findings, built, context)
    rendered = {_place(f) for f in findings if f.extra.get("variants")}
    candidates = {
        f.file
        for f in findings
        if f.source == "kubernetes" and not f.extra.get("variants") and _place(f) not in rendered
    }
    only_built = only_built_files(candidates, built, context, left_out=True)
    # The note that a template was judged filled with nothing: its Kustomizations fill it.
    templates = {f.file for f in findings if f.policy_id == "GK-TEMPLATE"}
    filled = {file for file in templates if _substituted_only(file, built, context)}
    filled = {file for file in filled if not _applied(file, _ci_paths(context))}
    if not only_built and not filled:
        return findings
    return [
        f
        for f in findings
        if (f.file not in only_built and f.file not in filled)
        or f.source != "kubernetes"
        or f.extra.get("variants")
        or (
            f.policy_id.startswith("GK-")
            and not (f.file in filled and f.policy_id == "GK-TEMPLATE")
        )
        or _place(f) in rendered
    ]


def _without_base_views(
    findings: list[Finding], built: set[str], context: LoadContext
) -> list[Finding]:
    """`findings` without those only a base's own build shows: a kustomization that other
    builds of the run take in and nothing applies alone (deployer_scope.bases_built_alone)
    is its file read alone, one level up. cluster-api's `config/manager` built alone said
    `image: controller:latest` (3 blocking findings in each of its providers) that every
    `config/default` taking it in patches (manager_image_patch.yaml). A finding a taking
    build, a deployer's rendering (an Argo CD Application on the folder) or a plain read
    also shows is one finding with those variants too: kept, as is every GK-* finding, and
    every finding of a file no other rendering judged (its taking builds failed)."""
    from gatekeeper.deployer_scope import bases_built_alone
    from gatekeeper.sources.names import KUSTOMIZATION_FILES

    def alone(finding: Finding) -> list[str] | None:
        variants = finding.extra.get("variants")
        if finding.policy_id.startswith("GK-") or not isinstance(variants, list) or not variants:
            return None
        folders = [str(v).removeprefix(_BUILT) for v in variants if str(v).startswith(_BUILT)]
        return folders if len(folders) == len(variants) else None

    views = {id(f): folders for f in findings if (folders := alone(f)) is not None}
    if not views:
        return findings
    builds = {
        posixpath.dirname(file) or "."
        for file in built
        if posixpath.basename(file) in KUSTOMIZATION_FILES
    }
    # only the builds such findings come from are asked about their deployers
    bases = bases_built_alone(builds, context.tree) & set().union(*views.values())
    bases -= deployed_folders(context.tree, bases)
    if not bases:
        return findings
    only_bases = {i for i, folders in views.items() if set(folders) <= bases}
    # shown by another rendering too (a taking build, a deployer's); a plain read of the
    # file is left to only_built_files below
    shown = {_place(f) for f in findings if id(f) not in only_bases and f.extra.get("variants")}
    # files another rendering judged: a taking build that failed (argo-cd's HA overlay over
    # a failing redis-ha, its error said at redis-ha) judged nothing of the base's objects
    judged = {
        f.file
        for f in findings
        if any(
            not str(v).startswith(_BUILT) or str(v).removeprefix(_BUILT) not in bases
            for v in f.extra.get("variants") or []
        )
    }
    return [
        f for f in findings if id(f) not in only_bases or _place(f) in shown or f.file not in judged
    ]


# A deployer's `path:` naming a folder (an Argo CD Application's source, a Flux
# Kustomization's `path: ./x`), alone on its line.
_PATH_LINE = r"""(?:^|[\s{{,-])path:\s*['"]?(?:\./)?{folder}/?['"]?\s*(?:[,}}#]|$)"""


# A line that may build or apply a folder it names (`$(KUSTOMIZE) build config/manager |
# kubectl apply -f -`, `kubectl apply -k`, `oc apply -k`), besides an edit of it.
_BUILDER_LINE = lazy_re.compile(r"(?i)kustomize|kubectl|\boc\s|\bapply\b|(?<!\S)-k\b")
_EDIT_LINE = lazy_re.compile(r"\bedit\s+(?:set|add|remove|fix)\b")


def deployed_folders(
    tree: Tree, folders: Iterable[str], besides: Callable[[str], bool] = lambda _file: False
) -> set[str]:
    """Which of `folders` a file of the repository other than a kustomization gives to a
    deployer as its `path:` (an Application or a Flux Kustomization deploying the base
    alone), or names on a line of a script, Makefile or workflow that may build or apply it
    (`kustomize build config/manager | kubectl apply -f -`, which ci_namespaces' `-k` does
    not read)? A `kustomize edit` of it deploys nothing; a file that cannot be read may
    deploy any. Files `besides` names are not asked. One search of the repository for them
    all (a `git grep` per folder was 4 s of the real k8s corpus's 82 bases)."""
    from gatekeeper.sources.names import KUSTOMIZATION_FILES
    from gatekeeper.spelling import spelling

    wanted = sorted(set(folders))
    found = {folder for folder in wanted if folder in ("", ".")}  # the root: any deployer
    asked = [folder for folder in wanted if folder not in found]
    if not asked:
        return found
    patterns = {
        folder: (
            re.compile(_PATH_LINE.format(folder=re.escape(folder))),
            re.compile(r"(?<![\w./-])(?:\./)?" + re.escape(folder) + r"(?![\w.-])"),
        )
        for folder in asked
    }
    for file, line in spelling(tree, asked, lines=True):
        if posixpath.basename(file) in KUSTOMIZATION_FILES or file.endswith(".md"):
            continue
        if besides(file):
            continue
        for folder in asked:
            if folder in found or (line is not None and folder not in line):
                continue
            path, named = patterns[folder]
            if line is None or path.search(line) or _builds(named, line):
                found.add(folder)
    return found


def _builds(named: re.Pattern[str], line: str) -> bool:
    """Does `line` name the folder (`named`) on a line that may build or apply it?"""
    return bool(named.search(line) and _BUILDER_LINE.search(line) and not _EDIT_LINE.search(line))


_BUILT = "kustomize "  # the variant of a kustomization's own build (kustomize.py)


def _without_compared(findings: list[Finding], context: LoadContext) -> list[Finding]:
    """`findings` without those of files only end-to-end tests compare with the cluster,
    read alone (gatekeeper.compared); renderings of them are kept."""
    from gatekeeper.compared import compared_only

    plain = {f.file for f in findings if f.source == "kubernetes" and not f.extra.get("variants")}
    compared = compared_only(context.tree, plain)
    if not compared:
        return findings
    return [
        f
        for f in findings
        if f.file not in compared or f.source != "kubernetes" or f.extra.get("variants")
    ]


def only_built_files(
    candidates: set[str], built: set[str], context: LoadContext, left_out: bool = False
) -> set[str]:
    """Which `candidates` reach the cluster only through kustomize builds this run made
    without an error (`built`) and no CI file applies alone (with `left_out`: also the
    patches their own folder's kustomization leaves out)."""
    from gatekeeper.sources.names import KUSTOMIZATION_FILES

    if not candidates:
        return set()
    only_built = {file for file in candidates if _substituted_only(file, built, context)}
    if any(posixpath.basename(f) in KUSTOMIZATION_FILES for f in built):
        only_built |= {file for file in candidates if _owners_built(file, built, context)}
        if left_out:
            only_built |= {file for file in candidates if _left_out(file, built, context)}
    if only_built:  # unless CI applies it alone
        applied = _ci_paths(context)
        only_built = {file for file in only_built if not _applied(file, applied)}
    return only_built


def _ci_paths(context: LoadContext) -> set[str]:
    """What CI gives `kubectl -f`; once per tree: without_unbuilt_views and
    inventory_as_deployed both ask."""
    found: set[str] = ownership.of(context.tree).remember("CI -f paths", "", _applied_in_ci)
    return found


def applied_in_ci(file: str, tree: Tree) -> bool:
    """Does CI give the file, or a folder above it, to `kubectl -f` (see _applied)?"""
    return _applied(file, ownership.of(tree).remember("CI -f paths", "", _applied_in_ci))


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
    from gatekeeper.compared import compared_only

    plain = {e.file for e in inventory if e.source == "kubernetes" and not e.variant}
    built = set(loaded) - _not_built(findings)
    only_built = only_built_files(plain, built, context, left_out=True)
    only_built |= compared_only(context.tree, plain)
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


def _substituted_only(file: str, built: set[str], context: LoadContext) -> bool:
    """Is `file` a template (`${VAR}`) that only Flux Kustomizations substituting variables
    apply (a path without a kustomization: Flux generates one), each built in this run
    without an error? Its own read, placeholders as written, is what no deployer applies;
    each Kustomization's build, with its values, is judged (noise5: `allowPrivilegeEscalation:
    ${ALLOW}` set false by `postBuild.substitute` was a high finding of the file as written)."""
    from gatekeeper.sources import flux, kustomize

    owners = flux.substituting_owners(file, context)
    if not owners or not all(substitutes and owner in built for owner, substitutes in owners):
        return False
    try:
        if b"${" not in context.tree.read(file):
            return False
    except OSError:
        return False
    return not kustomize.owners(file, context)


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
    second red-team round s16)? An unreadable file may. Another kustomization's line counts
    only when a path on it, read from that kustomization's folder (the only way kustomize
    reads one), is `file`: each kubebuilder project of a monorepo comments out its own
    `#- manager_webhook_patch.yaml`, and kubeflow/manifests' five projects kept each
    other's left-out patches judged (131 blocking findings, noise12)."""
    from gatekeeper.sources.names import KUSTOMIZATION_FILES
    from gatekeeper.spelling import spelling

    name, folder = posixpath.basename(file), posixpath.dirname(file)
    words = [name, folder] if folder else [name]
    for other, line in spelling(tree, words, lines=True, skip=besides.__contains__):
        if line is None:
            return True
        if posixpath.basename(other) in KUSTOMIZATION_FILES and not _reaches(other, line, file):
            continue
        if name in line or "patch" in line.lower():
            return True
    return False


def _reaches(kustomization: str, line: str, file: str) -> bool:
    """Could `line` of `kustomization` name `file`: a path on it (every run of characters a
    path may hold; what ends in the file's name or its folder's) that, joined to the
    kustomization's folder, is the file or a folder above it (a resource that builds it)?"""
    here = posixpath.dirname(kustomization)
    for token in _PATHLIKE.findall(line):
        target = posixpath.normpath(posixpath.join(here, token))
        if target == file or file.startswith(target.rstrip("/") + "/") or target == ".":
            return True
    return False


# A run of characters a kustomization's path may hold (no space, quote, bracket or comment).
_PATHLIKE = lazy_re.compile(r"[^\s'\"\[\],{}#|]+")


def ci_texts(tree: Tree) -> Iterator[tuple[str, str]]:
    """(name, text) of each of the repository's CI files and scripts (_CI_FILES) it can read."""
    for name in tree.list_dir(""):
        if not _CI_FILES.search(name):
            continue
        try:
            yield name, tree.read(name).decode("utf-8", "replace")
        except OSError:
            continue


# A line that may run kubectl or oc on files (a name a variable holds is kubectl too: `$(KUBECTL)`).
_APPLIER = lazy_re.compile(r"(?i)kubectl|\boc\s|\bapply\b|\bcreate\b|\breplace\b")
# A command's output or a variable of sh or make in a word: `$(dirname "$0")`, `${DIR}`.
_SUBSTITUTION = r"""\$\((?:[^()\n]|\([^()\n]*\))*\)|\$\{[^}\n]*\}"""
# A `-f`/`--filename` argument: what `kubectl apply -f` (and `oc`, `kubectl create`...) reads,
# the whole shell word (quoted parts and what follows them: `"${SCRIPT_DIR}"/ds.yaml`; an
# unclosed quote is skipped); _unquoted takes its quotes away.
_FILENAME = lazy_re.compile(
    r"""(?<!\S)(?:-f|--filename)(?:=|\s+)"""
    rf"""((?:"(?:{_SUBSTITUTION}|[^"\n])*"|'[^'\n]*'|{_SUBSTITUTION}|[^\s'"`;|&)]|['"])+)"""
)
_QUOTED = lazy_re.compile(rf""""((?:{_SUBSTITUTION}|[^"\n])*)"|'([^'\n]*)'|['"]""")


def _unquoted(word: str) -> str:
    """A shell word without its quotes (`"${DIR}"/x.yaml` -> `${DIR}/x.yaml`)."""
    return _QUOTED.sub(lambda m: m.group(1) or m.group(2) or "", word)
# Where one command of a line ends: a pipe, a list operator, a semicolon (the separator kept).
_SEPARATOR = lazy_re.compile(r"\|\||&&|\||;")
# A client or server dry run applies nothing, unless its output goes on (`| kubectl apply -f -`,
# `> out.yaml`). The values WF-GITOPS-IMPERATIVE-DEPLOY takes as one: `--dry-run` alone, client,
# server, and the true of Go's ParseBool (an older kubectl's boolean); `=false` and `=none` apply.
_DRY_RUN = lazy_re.compile(r"--dry-run(?:=(?:client|server|true|True|TRUE|t|T|1))?(?![=\w-])")
# A variable of sh or make: $X, ${X...}, $(X) (make) or a command's output $(...), `...`.
_VARIABLE = lazy_re.compile(r"\$(?:\{[^}]*\}?|\([^)]*\)?|[A-Za-z_]\w*|[0-9@*#?$!-])|`[^`]*`?")
_GLOB = lazy_re.compile(r"[*?\[{]")


def _applied_in_ci(tree: Tree, _: str = "") -> set[str]:
    """The paths the repository's CI files and scripts give a `-f` option of kubectl or oc
    (read once per run), as tree paths: `kubectl apply -f ./k8s/base/` -> `k8s/base`. A path
    CI computes names what it may be (may_name): `${ROOT}/deploy/crds.yaml` every path ending in
    `deploy/crds.yaml` (`*/deploy/crds.yaml`), `-f "$DIR"` the root (any file may be it). A
    `-f` before the command (`[[ -f x-create.log ]]`) or of a dry run whose output goes
    nowhere applies nothing (kueue: such lines made every kustomize base count as applied
    alone, and a base's own namespace-less Deployment a phantom in `default`)."""
    texts = list(ci_texts(tree))
    found: set[str] = set()
    for name, text in texts:
        others = [other for other_name, other in texts if other_name != name]
        looped: dict[tuple[int, str], set[str] | None] | None = None  # read when first asked
        starts: list[int] = []  # the line each line of `lines` starts on, when first asked
        loops: set[str] | None = None  # the names `for NAME in` binds, when first asked
        joined = text.replace("\\\n", " ")  # a command continued on the next line
        lines = joined.splitlines()
        for index, line in enumerate(lines):
            if not _APPLIER.search(line):  # `-f` of docker build, rm, helm...: not applied
                continue
            parts = _SEPARATOR.split(line)
            separators = [*_SEPARATOR.findall(line), ""]
            for at, (command, after) in enumerate(zip(parts, separators, strict=True)):
                applier = _APPLIER.search(command)
                if applier is None:
                    continue
                if _DRY_RUN.search(command) and after != "|" and ">" not in command:
                    continue
                for match in _FILENAME.finditer(command, applier.end()):
                    given = _unquoted(match.group(1))
                    if given == "-":  # what it reads: the files fed to its input
                        for fed in _fed(parts, separators, at):
                            found |= may_name(fed, name, joined, others)
                        continue
                    variable = _variable_name(given)
                    if variable and loops is None:
                        loops = _loop_names(text)
                    if variable and loops and variable in loops:
                        looped = _looped(tree, name, text) if looped is None else looped
                        starts = starts or _starts(text, len(lines))
                        paths = looped.get((starts[index], variable))
                        if paths is not None:  # a loop's words, read where it runs
                            found |= paths
                            continue
                    found |= may_name(given, name, joined, others)
    return found


# A `for NAME in WORDS` loop, somewhere in a text (a literal first: a scan of megabytes of
# generated install scripts takes 0.03 s where a leading `\b` took 1 s).
_LOOP = lazy_re.compile(r"for[ \t]+([A-Za-z_]\w*)[ \t]+in\s")


def _loop_names(text: str) -> set[str]:
    """The names a `for NAME in` of `text` binds (`for` a word of its own)."""
    names = set()
    for match in _LOOP.finditer(text):
        before = text[match.start() - 1] if match.start() else " "
        if not (before.isalnum() or before == "_"):
            names.add(match.group(1))
    return names


def _starts(text: str, count: int) -> list[int]:
    """The number (0-based) of the line of `text` each of its `count` lines, a command
    continued on the next line (`\\` at the end) made one, starts on; -1 when not known."""
    if "\x00" in text:  # (no mark to count continuations with)
        return [-1] * count
    starts = []
    number = 0
    for line in text.replace("\\\n", "\x00").splitlines():
        starts.append(number)
        number += 1 + line.count("\x00")
    return starts if len(starts) == count else [-1] * count


def _looped(tree: Tree, name: str, text: str) -> dict[tuple[int, str], set[str] | None]:
    """(line, variable) -> what a shell script's kubectl (oc) command on that line gives `-f`
    as that `for` loop variable: the loop's words read from the folder the loop runs in
    (kuberay's install.sh: `pushd "${DIR}/../../config/prometheus"; for file in *; do
    kubectl apply -f "${file}"` applies that folder's files, not any file); None when the
    folder or a word is not known, or the script binds the name otherwise."""
    from gatekeeper import shell, shell_dirs
    from gatekeeper.deployer_scope import _kubectl_parts
    from gatekeeper.sources.workflow_scripts import file_reader

    if not name.endswith((".sh", ".bash")):
        return {}
    place = shell_dirs.Place(files=file_reader(tree), script_dir=posixpath.dirname(name) or ".")
    loops: dict[str, tuple[list[str], str | None]] = {}
    found: dict[tuple[int, str], set[str] | None] = {}
    for command in shell.commands(text, place=place):
        if command.program == "for" and command.args[1:2] == ["in"]:
            loops[command.args[0]] = (command.args[2:], command.directory)
        if command.program not in ("kubectl", "oc"):
            continue
        for kind, given in _kubectl_parts(command.args)[1]:
            variable = _variable_name(given)
            if kind != "f" or variable not in loops:
                continue
            words, folder = loops[variable]  # a name the loop lists is read from kubectl's folder
            same = folder == command.directory
            paths = _loop_paths(words, folder, variable, text) if same else None
            known = found.get((command.line, variable), set())
            found[(command.line, variable)] = (
                None if paths is None or known is None else known | paths
            )
    return found


def _loop_paths(
    words: list[str], folder: str | None, variable: str, text: str
) -> set[str] | None:
    """The paths a `for` loop's `words` name from its `folder` (as _written reads them: a
    glob stands for its folder), or None: a word or the folder computed, a value above the
    root, or the variable bound in another way too (`f=...`, `read f`, a sourced file)."""
    from gatekeeper import shell_dirs

    if not words or not shell_dirs.known(folder) or str(folder).startswith("/"):
        return None
    if re.search(_ASSIGNMENT.format(variable), text) or re.search(
        _OTHER_BINDING.replace(r"\b(?:for|select|", r"\b(?:select|").format(variable), text
    ):
        return None
    paths: set[str] = set()
    for word in words:
        if "$" in word or "`" in word or word.startswith(("/", "~")) or not word.strip():
            return None
        path = shell_dirs.join(folder, word)
        if path is None:
            return None
        paths |= _written(path)
    return paths


# A word of a command feeding kubectl's input that may name manifests: a YAML or JSON file
# (`cat deploy.yaml |`, `envsubst < app/deploy.yaml`, `sed ... k8s/*.yaml |`), a glob or a
# folder written with its slash.
_FED = lazy_re.compile(
    r"""(?:^|[\s<'"=])([^\s<>'"=|;&]*(?:\.(?:ya?ml|json)\b|\*|/(?=[\s'"]|$))\S*)"""
)


def fed_into(before: str, command: str) -> list[str]:
    """The words naming files fed to `command` (a `kubectl ... -f -`, after `before` on its
    line): its own `< file` and those of the commands piped into it (_fed)."""
    parts = _SEPARATOR.split(before)
    separators = _SEPARATOR.findall(before)
    parts[-1] += command
    return list(_fed(parts, [*separators, ""], len(parts) - 1))


def _fed(parts: list[str], separators: list[str], at: int) -> Iterator[str]:
    """The words that may name files fed to the input of the command `parts[at]` (`-f -`):
    its own `< file`, and the commands piped into it (`cat base/deploy.yaml | kubectl apply
    -f -` applies the file as written: such a base passed green)."""
    commands = [parts[at].partition("<")[2]] if "<" in parts[at] else []
    while at > 0 and separators[at - 1] == "|":
        at -= 1
        commands.append(parts[at])
    for command in commands:
        for match in _FED.finditer(command):
            yield match.group(1).strip("'\"")


def may_name(given: str, file: str, text: str, others: list[str]) -> set[str]:
    """What a `-f` argument of the CI file `file` (its `text`; the other CI files' `others`)
    may name: tree paths, `*/`-suffixes any path may end with, "" for any file."""
    if "://" in given:  # a URL: no file of the repository
        return set()
    if given == "-":  # standard input
        return set()
    variables = list(_VARIABLE.finditer(given))
    if not variables:
        return _written(given)
    whole = len(variables) == 1 and variables[0].span() == (0, len(given))
    if whole and not file.endswith(("Makefile", "justfile")):
        values = _assigned(_variable_name(given), text, others)
        if values is not None:  # every value the script gives it, none from outside
            return {path for value in values for path in _computed(value)}
    return _computed(given)


def _written(given: str) -> set[str]:
    """A path written out: from the root, or from the folder the script went to (`cd base &&
    kubectl apply -f deploy.yaml` applies base/deploy.yaml: it passed green), so also every
    path ending in it."""
    literal = _literal(given)
    return {literal, "*/" + literal} if literal and not given.startswith("/") else {literal}


def _literal(given: str) -> str:
    """A path as written, up to its first glob segment (`k8s/*.yaml` -> `k8s`)."""
    parts = posixpath.normpath(given).lstrip("/").split("/")
    kept: list[str] = []
    for part in parts:
        if _GLOB.search(part):
            break
        kept.append(part)
    path = "/".join(kept)
    return "" if path in (".", "..") or path.startswith("../") else path


def _computed(given: str) -> set[str]:
    """What a path with variables may name: the paths ending in its literal segments after
    the last variable (`${ROOT}/deploy/crds.yaml` -> `*/deploy/crds.yaml`), else the folder
    written before the first (`k8s/$ENV` -> `k8s`), else any file (``)."""
    if given.startswith(("$(mktemp", "`mktemp")):
        return set()  # a temporary file: nothing of the repository
    variables = list(_VARIABLE.finditer(given))
    if not variables:
        return _written(given)
    tail = given[variables[-1].end() :].rstrip("/")
    segments = tail.split("/")
    segments = segments[1:]  # the first is (part of) what the variable holds
    literal: list[str] = []
    for segment in reversed(segments):
        if not segment or segment in (".", "..") or _GLOB.search(segment):
            break
        literal.insert(0, segment)
    if literal:
        return {"*/" + "/".join(literal)}
    head = given[: variables[0].start()]
    folder = head[: head.rfind("/") + 1] if "/" in head else ""
    return {_literal(folder) if folder.strip("/") else ""}


def _variable_name(reference: str) -> str:
    """`$X`, `${X}`, `${X:-d}` -> X (anything else: "", never assigned)."""
    match = re.match(r"\$\{?([A-Za-z_]\w*)(\}?)$", reference)
    return match.group(1) if match else ""


# Assignments of sh: `X=v`, `export X=v`, `local X=v`, `readonly`/`declare`/`typeset`.
_ASSIGNMENT = (
    r"(?m)^[ \t]*(?:(?:export|local|readonly|declare|typeset)[ \t]+(?:-\w+[ \t]+)*)?{}=(.*)$"
)
# What makes a variable's value unknown to a reading of one file: another way of binding it
# (a loop, `read`, appending, an `eval` that spells it), or sourcing a file (which may set it).
# A name an `eval` assembles at run time is not followed: nothing of a run-time command is.
_OTHER_BINDING = (
    r"\b(?:for|select|read|getopts|mapfile|readarray|eval)\b[^\n;]*\b{0}\b|printf\s+-v\s+{0}\b"
    r"|\b{0}\+=|(?m:(?:^|;|&&|\|\||\bthen|\bdo|\belse)\s*(?:source|\.)\s)"
)


def _assigned(name: str, text: str, others: list[str]) -> list[str] | None:
    """The values `text` assigns the variable `name`, when they are all it can hold: None if
    it binds it otherwise, assigns it nowhere or another CI file spells it (a workflow's
    `env:`, a caller's `NAME=... ./deploy.sh`, which may give it any value)."""
    if not name or re.search(_OTHER_BINDING.format(name), text):
        return None
    if any(re.search(rf"\b{name}\b", other) for other in others):
        return None
    values = [value.strip() for value in re.findall(_ASSIGNMENT.format(name), text)]
    if not values:
        return None
    return [re.sub(r"""^['"]|['"]?(?:\s+#.*)?$""", "", value) for value in values]


def _applied(file: str, applied: set[str]) -> bool:
    """Is the file, its folder or a folder above it applied as written (`kubectl apply -f`
    in CI), or does one of them end with a path CI computes (`*/deploy/crds.yaml`)?"""
    if "" in applied:
        return True
    parts = file.split("/")
    suffixes = any(path.startswith("*/") for path in applied)
    for end in range(len(parts), 0, -1):
        if "/".join(parts[:end]) in applied:
            return True
        if suffixes and any("*/" + "/".join(parts[start:end]) in applied for start in range(end)):
            return True
    return False
