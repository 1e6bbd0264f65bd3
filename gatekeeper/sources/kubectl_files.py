"""Files CI applies with kubectl or oc under names no adapter reads as manifests.

kubectl reads only `.yaml`, `.yml` and `.json` files from a folder it is given, but a file
named on its own is applied whatever its name: `kubectl apply -f deploy/app.tpl` deploys the
objects of `deploy/app.tpl`, which nothing judged (every adapter goes by name), so a
privileged Pod under that name passed green wherever the imperative deploy itself was waived.
The files are found as the CI shell names them, in GitHub's and GitLab's workflows and the
other CI formats' pipelines: from the folder the script went to (shell_dirs), through the
scripts and Makefile targets CI runs (workflow_scripts), a glob matched as sh matches it, a
`for f in ...` loop's words, the files a pipeline or a substitution feeds to `-f -`, to `-f
<(...)` or to `xargs kubectl apply -f` (`cat deploy/app.tpl | kubectl apply -f -`, `gomplate
-f deploy/app.tpl |`, `<<< "$(cat deploy/app.tpl)"`), and those an earlier command makes the
applied file from (`envsubst < deploy/app.tpl > /tmp/app.yaml`, `cp deploy/app.tpl out.yaml`).
scanner.scan_one judges each such file as a Kubernetes manifest.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from typing import Any

import yaml

from gatekeeper import lazy_re, ownership, shell_dirs
from gatekeeper.document import Problem
from gatekeeper.sources import LoadContext
from gatekeeper.tree import Tree, glob, inside
from gatekeeper.yamldoc import safe_load_all

_PROGRAMS = frozenset({"kubectl", "oc"})
_APPLIERS = frozenset({"apply", "create", "replace"})
_FILE_FLAGS = frozenset({"-f", "--filename", "--file"})  # (--file: kapp's)
# Programs that pass files on to a pipeline's next command, and the words of theirs that are
# not files (their options).
_FEEDERS = frozenset({"cat", "envsubst", "sed", "ls", "find", "echo", "printf", "tee", "yq"})
_KUSTOMIZE_FLAGS = frozenset({"-k", "--kustomize"})
# Tools that apply what a config file names, by the verbs that apply it (`helmfile -f
# test/helmfile.yaml apply`, `skaffold run -f test/skaffold.yaml`), with their `-f`.
_CONFIG_APPLIERS = {
    "helmfile": frozenset({"apply", "sync", "deploy"}),
    "skaffold": frozenset({"run", "deploy", "dev"}),
}
_CONFIG_FLAGS = frozenset({"-f", "--file", "--filename"})
_RECURSIVE = frozenset({"-R", "--recursive", "--recursive=true", "-Rf"})
_GLOB = lazy_re.compile(r"[*?\[]")
# `-f` after the one boolean short flag that goes with it (`-Rf deploy/`): its value is the
# next word. (Another letter before it takes a value itself: `-nfoo` is `-n foo`.)
_SHORT_F = lazy_re.compile(r"-R?f")
# `-f` with its value attached (`-fdeploy/app.tpl`, `-Rfdeploy/app.tpl`).
_ATTACHED_F = lazy_re.compile(r"-R?f([^=].*)")
_LOOP_VARIABLE = lazy_re.compile(r"""^["']?\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?["']?$""")


def applied_otherwise(tree: Tree) -> frozenset[str]:
    """The files of the tree CI gives kubectl/oc apply, create or replace whose names no
    adapter reads as manifests (anything but `.yaml`, `.yml`, `.json`)."""
    return frozenset(path for path, _ in _applications(tree))


def feeds(context: LoadContext) -> Iterator[tuple[str, str]]:
    """Such a file is judged because CI applies it: a change to the CI file or script alone
    (`-f` pointed at a file already there) judges it again. So is a manifest CI applies to a
    cluster (a step added that applies `test/m/`: what was advisory there now blocks)."""
    yield from _applications(context.tree)
    yield from ownership.of(context.tree).remember(
        "CI files applying to a cluster", "", _cluster_files
    )


def _applications(tree: Tree) -> frozenset[tuple[str, str]]:
    """(file applied otherwise, CI file or script that applies it), found once per tree."""
    found: frozenset[tuple[str, str]] = ownership.of(tree).remember(
        "CI files applied otherwise", "", _found
    )
    return found


def _found(tree: Tree, _: str = "") -> frozenset[tuple[str, str]]:
    from gatekeeper.sources import kubernetes

    return frozenset(
        pair
        for pair in _applied(tree)
        if not kubernetes.detect(pair[0]) and _may_hold_objects(tree, pair[0])
    )


def after_unread_source(document: Any) -> list[Problem]:
    """A blocking note at each kubectl/oc apply, create or replace of a CI file that names a
    file relative to its folder, under a name no adapter reads as a manifest, after the
    shell sourced a script the repository lacks (`. ./ci/env.sh` fetched or written in CI):
    that script may have moved the folder, so which file it applies is not known here; the
    one judged is the file as if it had not (red team s17 y03)."""
    from gatekeeper.sources import kubernetes
    from gatekeeper.sources.workflow_scripts import steps

    found: list[Problem] = []
    for _job_id, _job, _number, step in steps(document.obj):
        for command in step.get("commands") or []:
            unread = command.get("unread") if isinstance(command, dict) else None
            if not unread or command.get("program") not in _PROGRAMS:
                continue
            positional = command.get("positional") or []
            if not positional or positional[0] not in _APPLIERS:
                continue
            relative = [
                given
                for given in _file_values(command)
                if given not in ("", "-")
                and shell_dirs.resolve(None, given.strip("'\"")) is None
                and "$" not in given
                and not kubernetes.detect(given)
                and not given.endswith("/")
            ]
            if relative:
                message = (
                    f"`{command['text']}` runs after `. {unread}`, a script the repository does"
                    f" not hold, which may change the folder: {', '.join(relative)} is judged"
                    " from the folder as if it did not, and what is applied may be another"
                    " file; source a script of the repository, or name the file from the root"
                    " (`$GITHUB_WORKSPACE/...`)"
                )
                file = str(command.get("file") or document.file)
                found.append(Problem("GK-LOCAL-NOT-EXPANDED", file, int(command["line"]), message))
    return found


def _may_hold_objects(tree: Tree, path: str) -> bool:
    """Could the file spell `apiVersion` and `kind`? One that cannot applies nothing (kubectl
    fails on it): a README a `for f in deploy/*` loop also hands kubectl is no manifest."""
    from gatekeeper.sources import kubernetes

    try:
        return kubernetes.looks_like_objects(tree.read(path))
    except OSError:
        return False


def _applied(tree: Tree) -> Iterator[tuple[str, str]]:
    """(file, where) of every file a CI command applies (where: the workflow, and the script
    the command is in when CI follows one)."""
    for path, document, command, _step in _named(tree):
        yield path, document
        script = command.get("file")
        if isinstance(script, str) and script != document:
            yield path, script


def applied_to_clusters(tree: Tree) -> frozenset[str]:
    """The files and folders CI gives kubectl/oc apply, create or replace (`-f`, `-k`) in
    jobs that do not only test against a throwaway cluster (kind, k3d...): a manifest in an
    advisory path (test/, docs/) that CI applies there is what the cluster gets, and its
    findings block (pipeline.advisory; red team s18 z03). Found once per tree."""
    found: frozenset[str] = ownership.of(tree).remember(
        "paths CI applies to a cluster", "", _to_clusters
    )
    return found


def applies_to_cluster(path: str, tree: Tree) -> bool:
    """Does CI apply the file `path` to a cluster (applied_to_clusters)?"""
    return applied_in(path, applied_to_clusters(tree))


def applied_in(path: str, applied: frozenset[str]) -> bool:
    """Is `path` in what CI applies (applied_to_clusters): the file named (`kubectl apply -f
    test/pod.yaml`), its folder (`-f test/`, `-k test/overlay` for its kustomization), a
    folder above it with -R or kapp (kept with a trailing `/`)? A release's home is named
    with its release (`test/helmfile.yaml (helmfile release m)`: the helmfile)."""
    path = path.split(" (", 1)[0]
    folder = posixpath.dirname(path)
    if path in applied or folder in applied:
        return True
    while folder:
        if folder + "/" in applied:
            return True
        folder = posixpath.dirname(folder)
    return False


def _to_clusters(tree: Tree, _: str = "") -> frozenset[str]:
    return frozenset(path for path, _where in _to_clusters_from(tree))


def _to_clusters_from(tree: Tree) -> frozenset[tuple[str, str]]:
    """(file or folder applied to a cluster, CI file or script that applies it), found once
    per tree for both the advisory paths and the feeds."""
    found: frozenset[tuple[str, str]] = ownership.of(tree).remember(
        "CI paths applied to a cluster, by the file applying them", "", _applied_from
    )
    return found


def _applied_from(tree: Tree, _: str = "") -> frozenset[tuple[str, str]]:
    return _applied_both(tree)[0]


def _applied_both(
    tree: Tree,
) -> tuple[frozenset[tuple[str, str]], frozenset[str]]:
    """What _applied_from and _applied_to_throwaway give, from one reading of CI."""
    found: tuple[frozenset[tuple[str, str]], frozenset[str]] = ownership.of(tree).remember(
        "CI paths applied, to a cluster and to throwaway clusters", "", _read_applied
    )
    return found


def _read_applied(
    tree: Tree, _: str = ""
) -> tuple[frozenset[tuple[str, str]], frozenset[str]]:
    from gatekeeper.sources.workflow_scripts import throwaway

    found: set[tuple[str, str]] = set()
    tested: set[str] = set()
    for path, document, command, step in _named(tree, folders=True):
        if throwaway(command, step):
            tested.add(path)
            continue
        script = command.get("file")
        for applied in (path, *_configured(tree, command, path)):
            found.add((applied, document))
            if isinstance(script, str) and script != document:
                found.add((applied, script))
    return frozenset(found), frozenset(tested)


def applied_to_throwaway_clusters(tree: Tree) -> frozenset[str]:
    """The files and folders CI gives kubectl/oc apply, create or replace in jobs that only
    test against a throwaway cluster they start (kind, k3d...: workflow_scripts.throwaway),
    found once per tree (pipeline.advisory: a chart repository's `.github/configs/` fixtures
    that its kind job applies)."""
    found: frozenset[str] = ownership.of(tree).remember(
        "CI paths applied to a throwaway cluster", "", _applied_to_throwaway
    )
    return found


def _applied_to_throwaway(tree: Tree, _: str = "") -> frozenset[str]:
    return _applied_both(tree)[1]


def _cluster_files(tree: Tree, _: str = "") -> frozenset[tuple[str, str]]:
    """(manifest, CI file or script) of each manifest CI applies to a cluster: a folder's
    own `.yaml`/`.yml`/`.json` files (all below it with -R), a file named."""
    found: set[tuple[str, str]] = set()
    for path, where in _to_clusters_from(tree):
        folder = path.rstrip("/")
        below = [file for file in tree.list_dir(folder) if file != folder]
        if not below:
            found.add((path, where))
            continue
        for file in below:
            direct = posixpath.dirname(file) == folder
            if (direct or path.endswith("/")) and file.endswith((".yaml", ".yml", ".json")):
                found.add((file, where))
    return frozenset(found)


def _configured(tree: Tree, command: dict[str, Any], path: str) -> Iterator[str]:
    """What `helmfile -f FILE apply` or `skaffold run -f FILE` applies besides FILE itself
    (whose releases' findings are homed at FILE, pipeline.variant_home): for skaffold, the
    manifests its config names (`manifests.rawYaml` globs, `manifests.kustomize.paths`, the
    older `deploy.kubectl.manifests`), from the config's folder (red team s18 trust11 w02)."""
    if command.get("program") != "skaffold" or not tree.exists(path):
        return
    try:
        configs = list(safe_load_all(tree.read(path)))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return
    base = posixpath.dirname(path) or "."
    for config in configs:
        if not isinstance(config, dict):
            continue
        manifests = _mapping(config.get("manifests"))
        kubectl = _mapping(_mapping(config.get("deploy")).get("kubectl"))
        kustomize = _mapping(manifests.get("kustomize"))
        for given in [*_strings(manifests.get("rawYaml")), *_strings(kubectl.get("manifests"))]:
            yield from _files(tree, base, given)
        for given in _strings(kustomize.get("paths")):
            folder = _folder(tree, base, given)
            if folder:
                yield folder


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _strings(value: Any) -> list[str]:
    return [str(item) for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _config_files(command: dict[str, Any], here: str | None, tree: Tree) -> Iterator[str]:
    """The config helmfile or skaffold applies: its `-f`/`--file`/`--filename`, else the one
    it reads in the folder it runs in (helmfile.yaml, skaffold.yaml)."""
    given = []
    for flag in [str(flag) for flag in command.get("flags") or []]:
        name, equals, value = flag.partition("=")
        if equals and name in _CONFIG_FLAGS and value:
            given.append(value)
    if not given:
        given = ["helmfile.yaml" if command.get("program") == "helmfile" else "skaffold.yaml"]
    for config in given:
        yield from _files(tree, here, config)


def _named(
    tree: Tree, folders: bool = False
) -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(file, workflow, command, step) of each file a kubectl/oc apply, create or replace of
    the tree's CI names, the commands of followed scripts and Makefile targets included; with
    `folders`, a folder named (`-f deploy/`, `-k overlays/prod`) as well."""
    from gatekeeper.sources import workflow
    from gatekeeper.sources.workflow_scripts import steps, working_directory

    needles = (
        (b"kubectl", b"oc ", b"kapp", b"helmfile", b"skaffold")
        if folders
        else (b"kubectl", b"oc ", b"kapp")
    )
    for document in workflow.ci_documents(tree, needles):
        for _job_id, job, _number, step in steps(document.obj):
            directory = working_directory(step, job)
            commands = [c for c in step.get("commands") or [] if isinstance(c, dict)]
            loops: dict[str, tuple[str | None, list[str]]] = {}
            for at, command in enumerate(commands):
                here = _env_chdir(command, command.get("directory", directory))
                argv = [str(word) for word in command.get("argv") or []]
                if argv[:1] == ["for"] and argv[2:3] == ["in"]:
                    loops[argv[1]] = (here, argv[3:])
                if not _applies(command, folders):
                    continue
                for path in _given(command, here, commands, at, loops, tree, folders):
                    yield path, document.file, command, step


def _applies(command: dict[str, Any], kapp: bool) -> bool:
    """kubectl/oc apply, create or replace, and kapp deploy (its -f takes files, whatever
    their names, and folders, read below them: red team s21 trust14 c07 applied a
    privileged Pod from `kapp deploy -f deploy/pod.txt` green); with `kapp`, the config
    appliers (helmfile, skaffold) too."""
    positional = command.get("positional") or []
    if command.get("program") == "kapp":
        return positional[:1] == ["deploy"]
    if kapp and command.get("program") in _CONFIG_APPLIERS:
        verbs = _CONFIG_APPLIERS[str(command.get("program"))]
        return any(str(word) in verbs for word in positional)
    return (
        command.get("program") in _PROGRAMS
        and positional[:1] != []
        and (positional[0] in _APPLIERS)
    )


def applies_file(command: dict[str, Any], files: list[str]) -> bool:
    """Does `command` (kubectl/oc apply, create or replace, kapp deploy) name one of `files`
    (as written) with its `-f`?"""
    if not files or not _applies(command, False):
        return False
    return any(value.strip("'\"") in files for value in _file_values(command))


def _given(
    command: dict[str, Any],
    here: str | None,
    commands: list[dict[str, Any]],
    at: int,
    loops: dict[str, tuple[str | None, list[str]]],
    tree: Tree,
    folders: bool = False,
) -> Iterator[str]:
    """The files a kubectl command's `-f` options name, from the folder `here`; with
    `folders`, the folders its `-f` and `-k` options name too; for helmfile and skaffold,
    the config they apply."""
    if command.get("program") in _CONFIG_APPLIERS:
        yield from _config_files(command, here, tree)
        return
    if folders:
        yield from _folders(command, here, commands, at, tree)
    for given in _file_values(command):
        # its input, `<(envsubst < x)`, `"$(ls deploy/*.tpl)"`, what `xargs -I{}` or
        # `find -exec ... {} \;` put there (red team s18 v07)
        if given in ("", "-", "{}") or given.startswith(("<(", "$(", '"$(')):
            yield from _fed(commands, at, tree)
            continue
        variable = _LOOP_VARIABLE.match(given)
        if variable and variable.group(1) in loops:
            where, words = loops[variable.group(1)]
            for word in words:
                yield from _files(tree, where, word)
            continue
        used = _LOOP_USE.search(given)
        if used and used.group(1) in loops:  # `for f in $(ls deploy); do ... -f deploy/$f`
            where, words = loops[used.group(1)]
            for item in _listed(tree, where, words):
                yield from _files(tree, here, given.replace(used.group(0), item))
            continue
        own = _own_url(given, tree)
        if own is not None:
            yield own
            continue
        named = list(_files(tree, here, given))
        yield from named or _made(commands, at, given, tree)


# A file of a git host served raw (`kubectl apply -f URL`): GitHub's raw host, its
# /raw/ and /blob/...?raw=true links, GitLab's /-/raw/; the path after the ref.
_RAW_URL = lazy_re.compile(
    r"https?://(?:raw\.githubusercontent\.com/[^/]+/[^/]+/(?:refs/(?:heads|tags)/)?[^/]+"
    r"|github\.com/[^/]+/[^/]+/(?:raw|blob)/[^/]+"
    r"|[^/]+/.+?/-/raw/[^/]+)/([^?#]+)(?:\?raw=true)?$"
)


def _own_url(given: str, tree: Tree) -> str | None:
    """The repository file a raw URL of a git host names, when the tree holds that path:
    `kubectl apply -f https://raw.githubusercontent.com/acme/deploy/main/docs/pod.yaml` in
    acme/deploy's CI applies its docs/pod.yaml once merged, an advisory path's file that
    nothing counted as applied (red team s21 trust14 c14). Another repository holding the
    same path is taken for this one: its file then counts as applied here, which can only
    make this repository's file block."""
    found = _RAW_URL.match(given.strip("'\""))
    if found is None:
        return None
    path = inside(found.group(1))
    return path if path is not None and tree.exists(path) else None


_LOOP_USE = lazy_re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")
_LISTING = lazy_re.compile(r"""^["']?\$\(\s*ls\s+([^)]*)\)["']?$""")


def _listed(tree: Tree, here: str | None, words: list[str]) -> Iterator[str]:
    """The items a loop's words give its variable: the words, and for `$(ls DIR)` the names
    in DIR (as ls prints them), for `$(ls GLOB)` the paths it matches."""
    for word in words:
        listing = _LISTING.match(word)
        if listing is None:
            yield word.strip("'\"")
            continue
        for operand in listing.group(1).split():
            if operand.startswith("-"):
                continue
            if _GLOB.search(operand):
                yield from _files(tree, here, operand)
                continue
            folder = shell_dirs.resolve(here, operand)
            if folder is None or not shell_dirs.known(folder) or inside(folder) is None:
                continue
            below = str(inside(folder)).rstrip("/") + "/"
            for name in tree.list_dir(str(inside(folder))):
                if name.startswith(below) and "/" not in name[len(below) :]:
                    yield name[len(below) :]


def _env_chdir(command: dict[str, Any], here: str | None) -> str | None:
    """The folder `env -C DIR kubectl ...` (`--chdir=DIR`) runs kubectl in."""
    words = [str(word) for word in command.get("argv") or []]
    if "env" not in (command.get("wrappers") or []):
        return here
    for at, word in enumerate(words):
        if word in ("-C", "--chdir") and at + 1 < len(words):
            return shell_dirs.resolve(here, words[at + 1])
        if word.startswith("--chdir="):
            return shell_dirs.resolve(here, word.partition("=")[2])
    return here


def _made(commands: list[dict[str, Any]], at: int, given: str, tree: Tree) -> Iterator[str]:
    """The repository files that the step's commands before `commands[at]` which name the
    file `given` (one the repository lacks: `envsubst < x.tpl > /tmp/app.yaml`, `cp x.tpl
    out.yaml`) read or name: what kubectl applies is made from them (red team s17 y05)."""
    target = given.strip("'\"")
    for command in commands[:at]:
        words = [str(word) for word in command.get("argv") or []]
        if target in words or target in (command.get("redirects") or []):
            yield from _named_by(command, tree, skip=target)


def _named_by(command: dict[str, Any], tree: Tree, skip: str = "") -> Iterator[str]:
    """The repository files a command reads (`< file`) or names as a word."""
    reads = command.get("reads")  # `< file`, already from the root
    if isinstance(reads, str):
        yield from _files(tree, ".", reads)
    here = command.get("directory", ".")
    argv = [str(word) for word in command.get("argv") or []]
    if command.get("program") == "find" and len(argv) > 1:  # `find DIR -name '*.tpl'`
        yield from _found_by(tree, here, argv)
        return
    if command.get("program") == "git":  # `git show HEAD:deploy/app.tpl`
        argv = [word.partition(":")[2] if _REVISION_PATH.match(word) else word for word in argv]
    for word in argv[1:]:
        word = str(word).lstrip("<").strip("'\"")
        if word and word != skip and not word.startswith("-") and not word.startswith("s/"):
            yield from _files(tree, here, word)


_REVISION_PATH = lazy_re.compile(r"^[\w.^~/@{}-]+:[^/:]")


def _found_by(tree: Tree, here: str | None, argv: list[str]) -> Iterator[str]:
    """The files `find DIR... -name PATTERN` prints (every file below DIR without -name)."""
    import fnmatch

    folders = [word for word in argv[1:] if not word.startswith(("-", "(", "!"))][:1]
    patterns = [argv[at + 1] for at, word in enumerate(argv[:-1]) if word in ("-name", "-iname")]
    for folder in folders:
        path = shell_dirs.resolve(here, folder.strip("'\""))
        if path is None or not shell_dirs.known(path) or inside(path) is None:
            continue
        root = str(inside(path))
        below = "" if root == "." else root.rstrip("/") + "/"
        for name in tree.list_dir(root):
            if not name.startswith(below):
                continue
            base = posixpath.basename(name)
            if not patterns or any(fnmatch.fnmatch(base, p.strip("'\"")) for p in patterns):
                yield name


def _file_values(command: dict[str, Any], flags: frozenset[str] = _FILE_FLAGS) -> list[str]:
    """The files a kubectl command's `-f` options name, read from its words as kubectl's
    flag parser (pflag) reads them: `-f x`, `-f=x`, `--filename x`, `--filename=x`, `-fx`,
    `-Rf x`, and a comma-separated list (`-f a.tpl,b.yaml`); "" for one without a value
    (`xargs kubectl apply -f`: the file comes from its input). With `flags`
    _KUSTOMIZE_FLAGS: the folders of `-k x`, `--kustomize=x`, `-kx`."""
    if flags is _KUSTOMIZE_FLAGS:
        return _kustomize_values(command)
    words = [str(word) for word in command.get("argv") or []]
    start = words.index(command["program"]) + 1 if command.get("program") in words else 0
    values: list[str] = []
    at = start
    while at < len(words):
        word = words[at]
        at += 1
        if word == "--":
            break
        given: str | None = None
        if word in _FILE_FLAGS or _SHORT_F.fullmatch(word):
            given = words[at] if at < len(words) else ""
            at += 1
        elif word.startswith(("--filename=", "-f=", "--file=")):
            given = word.partition("=")[2]
        elif (attached := _ATTACHED_F.fullmatch(word)) is not None:
            given = attached.group(1)
        if given is not None:
            values += given.split(",") if given else [""]
    return values


def _folders(
    command: dict[str, Any], here: str | None, commands: list[dict[str, Any]], at: int, tree: Tree
) -> Iterator[str]:
    """The folders a command applying to a cluster names: a folder's own files (`-f deploy/`,
    `-k`: its kustomization), all below it with -R (and kapp's, which reads below), kept
    with a trailing `/`; for its input (`-f -`), the folders the commands before it on its
    line name (`kustomize build test/overlay | kubectl apply -f -`)."""
    argv = [str(word) for word in command.get("argv") or []]
    below = "/" if command.get("program") == "kapp" or _RECURSIVE.intersection(argv) else ""
    for given in _file_values(command, _KUSTOMIZE_FLAGS) + _file_values(command):
        if given in ("", "-"):
            line, file = command.get("line"), command.get("file")
            for before in reversed(commands[:at]):
                if before.get("line") != line or before.get("file") != file:
                    break
                where = before.get("directory", here)
                for word in [str(word) for word in before.get("argv") or []][1:]:
                    folder = _folder(tree, where, word)
                    if folder:
                        yield folder
            continue
        folder = _folder(tree, here, given)
        if folder:
            yield folder + below


def _folder(tree: Tree, here: str | None, given: str) -> str | None:
    """The tree's folder (not its root) that `given` names from the folder `here`."""
    path = shell_dirs.resolve(here, given.strip("'\""))
    if not path or not shell_dirs.known(path) or path.startswith("/"):
        return None
    folder = (inside(path) or "").rstrip("/")
    if not folder or folder == ".":
        return None
    return folder if any(f.startswith(folder + "/") for f in tree.list_dir(folder)) else None


def _kustomize_values(command: dict[str, Any]) -> list[str]:
    """The folders a kubectl command's `-k` options name (`-k x`, `-k=x`, `--kustomize x`,
    `--kustomize=x`, `-kx`)."""
    words = [str(word) for word in command.get("argv") or []]
    values: list[str] = []
    for at, word in enumerate(words):
        if word == "--":
            break
        if word in _KUSTOMIZE_FLAGS and at + 1 < len(words):
            values.append(words[at + 1])
        elif word.startswith(("--kustomize=", "-k=")):
            values.append(word.partition("=")[2])
        elif word.startswith("-k") and len(word) > 2 and not word.startswith("--"):
            values.append(word[2:])
    return [value for value in values if value]


def _fed(commands: list[dict[str, Any]], at: int, tree: Tree) -> Iterator[str]:
    """The files fed to `commands[at]`: its own `< file`, what the commands before it on its
    line name when they pass files on (`cat x.tpl |`, `ls deploy/*.tpl | xargs ...`,
    `envsubst < x.tpl |`, `gomplate -f x.tpl |`), and what the substitutions of its line
    name (`-f <(envsubst < x.tpl)`, `-f - <<< "$(cat x.tpl)"`: red team s17 y05)."""
    line, file = commands[at].get("line"), commands[at].get("file")
    for command in reversed(commands[: at + 1]):
        if command.get("line") != line or command.get("file") != file:
            break
        if command.get("program") in _FEEDERS or command is not commands[at]:
            yield from _named_by(command, tree)
        else:
            reads = command.get("reads")  # `< file`, already from the root
            if isinstance(reads, str):
                yield from _files(tree, ".", reads)
    for command in commands[at + 1 :]:  # `$(...)` and `<(...)` of its line follow it
        if command.get("line") != line or command.get("file") != file:
            break
        yield from _named_by(command, tree)


def _files(tree: Tree, here: str | None, given: str) -> Iterator[str]:
    """The files of the tree that `given` names from the folder `here`: the file itself, or
    those a glob matches (segment by segment, as sh: `*` stops at `/`)."""
    path = shell_dirs.resolve(here, given.strip("'\""))
    if path is None or not shell_dirs.known(path) or path.startswith("/"):
        return
    path = inside(path)
    if path is None:
        return
    if not _GLOB.search(path):
        below = path + "/"  # a folder's files (kubectl takes only .yaml/.yml/.json there)
        if tree.exists(path) and not any(f.startswith(below) for f in tree.list_dir(path)):
            yield path
        return
    yield from glob(tree, path, dot_files=False)
