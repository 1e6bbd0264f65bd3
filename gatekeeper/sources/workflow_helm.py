"""The local charts a workflow's `helm install` / `helm upgrade` deploys, rendered as that
command renders them: its `-f` values files, `--set`, `--set-string`, `--set-json`,
`--set-file` and `--set-literal` values and namespace.

A job allowed to deploy (the designated deployer: `allowedJobs`) is not imperative, but what
it deploys is still judged: appending `--set securityContext.privileged=true` to its command
passed (red team r11 of session 10), as the chart's own values were all that was rendered.
Charts of another repository (`repo/chart`, `oci://`) are not read here.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import posixpath
from collections.abc import Iterator
from typing import Any

from gatekeeper.document import Document, Loaded, Problem
from gatekeeper.sources import LoadContext, helm_set
from gatekeeper.tree import inside
from gatekeeper.yamldoc import NodeLocator, safe_load

_VERBS = frozenset({"install", "upgrade"})
MAX_RENDERINGS = 8  # per workflow file


def renderings(workflow: Document, context: LoadContext) -> Loaded:
    """What the workflow's helm commands deploy from this repository's charts."""
    from gatekeeper.sources import helm

    loaded = Loaded()
    tree = context.tree
    seen: set[tuple[str, tuple[str, ...], str, str, str]] = set()
    tested = _tested(workflow)
    for job_id, command in _commands(workflow):
        if _in_throwaway_cluster(command):
            continue  # a test install (kind, k3d) in the runner: nothing deployed
        release = _release(command, tree, workflow.file, tested)
        if release is None:
            loaded.problems.extend(_given_remote(command, workflow.file, tree))
            continue
        chart_dir, made = release
        key = (chart_dir, made.values_files, made.name, made.namespace, repr(made.sets))
        if key in seen or len(seen) >= MAX_RENDERINGS:  # (a --set-json value: not hashable)
            continue
        seen.add(key)
        chart = posixpath.join(chart_dir, helm.CHART_FILE)
        rendered = helm.render_chart(chart, tree.read(chart), context, [made])
        verb = " ".join(str(w) for w in (command.get("positional") or [])[:2])
        label = f"deployed by {workflow.file}:{job_id} (helm {verb})"
        for document in rendered.documents:
            document.extra["variant"] = label
        loaded.documents.extend(rendered.documents)
        loaded.problems.extend(
            problem
            for problem in rendered.problems
            if problem.code != "GK-RENDER-ERROR"  # the chart's own scan says it
        )
        post = _post_renderer(command)
        if post:
            loaded.problems.append(_post_rendered(post, command, workflow.file, tree))
    return loaded


def _post_renderer(command: dict[str, Any]) -> str:
    """The program a `--post-renderer` gives (Helm pipes the rendered manifests through it
    and deploys its output), "" when none."""
    for flag in command.get("flags") or []:
        name, _, value = str(flag).partition("=")
        if name == "--post-renderer" and value:
            return value
    return ""


def _post_rendered(post: str, command: dict[str, Any], file: str, tree: Any) -> Problem:
    """What is deployed is the post-renderer's output, not the chart's: said at the command.
    A program of the repository is named with its blob id, so a pull request that changes
    it (and only it: see inputs) makes the finding new, not one reviewed before."""
    script = _in(command.get("directory", "."), post)
    version = ""
    if script is not None:
        with contextlib.suppress(OSError):
            data = tree.read(script)
            blob = hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False)
            version = f" ({script} at blob {blob.hexdigest()[:12]})"
    message = (
        f"helm runs the post-renderer {post}{version} on the chart it renders and deploys"
        " what that program writes, which is not judged (only the chart as rendered)"
    )
    line = int(command.get("line") or 1)
    return Problem("GK-LOCAL-NOT-EXPANDED", str(command.get("file") or file), line, message)


def _commands(workflow: Document) -> Iterator[tuple[str, dict[str, Any]]]:
    """(job id, command) of every step of a loaded CI file."""
    from gatekeeper.sources.workflow_scripts import steps

    for job_id, _, _, step in steps(workflow.obj):
        commands = step.get("commands")
        for command in marked(commands if isinstance(commands, list) else []):
            yield job_id, command


def marked(commands: list[Any]) -> list[dict[str, Any]]:
    """A step's commands, a `helm template` whose output file a later kubectl/oc apply,
    create or replace of the step reads (`helm template ... > /tmp/out.yaml && kubectl apply
    -f /tmp/out.yaml`) marked as piped into it (`into`, as the shell marks `| kubectl apply
    -f -`)."""
    from gatekeeper.sources.kubectl_files import applies_file

    listed = [command for command in commands if isinstance(command, dict)]
    out = []
    for at, command in enumerate(listed):
        positional = command.get("positional") or []
        written = [str(target).strip("'\"") for target in command.get("redirects") or []]
        if (
            command.get("program") == "helm"
            and positional[:1] == ["template"]
            and not command.get("into")
            and any(applies_file(later, written) for later in listed[at + 1 :])
        ):
            command = {**command, "into": "kubectl"}
        out.append(command)
    return out


# Stands for every release: a `helm test` whose release name CI computes (`helm test "$APP"`).
_ANY_RELEASE = "*"


def _tested(workflow: Document) -> set[str]:
    """The releases the CI file runs `helm test` on: Helm creates their test hooks (a pod
    of `helm.sh/hook: test`) in the cluster, so they are judged as deployed, not left out
    (red team s14 v01: a privileged hostPID smoke-test pod after every deploy passed)."""
    tested: set[str] = set()
    for _, command in _commands(workflow):
        positional = [str(word) for word in command.get("positional") or []]
        if command.get("program") == "helm" and positional[:1] == ["test"]:
            name = positional[1] if len(positional) > 1 else ""
            tested.add(_ANY_RELEASE if not name or "$" in name else name)
    return tested


def inputs(command: dict[str, Any], tree: Any, file: str) -> list[str]:
    """What a `helm install|upgrade` of a local chart reads, as dependency inputs (see
    depgraph): every file of the chart's folder and its `-f` values files. A change to
    `-f deploy/values-prod.yaml` alone was never rendered with it (red team s14 v02)."""
    from gatekeeper.depgraph import directory_input

    release = _release(command, tree, file)
    if release is None:  # a remote chart: its `-f` files of this repository are judged
        return _remote_values_files(command, tree)  # for literal secrets (_given_remote)
    chart_dir, made = release
    post = _in(command.get("directory", "."), _post_renderer(command) or "$")
    programs = [post] if post and tree.exists(post) else []
    return [directory_input(chart_dir), *made.values_files, *_set_files(command), *programs]


def _remote_values_files(command: dict[str, Any], tree: Any) -> list[str]:
    """The repository's `-f` values files a `helm install|upgrade` of a remote chart reads."""
    positional = [str(word) for word in command.get("positional") or []]
    if command.get("program") != "helm" or positional[:1] not in (["install"], ["upgrade"]):
        return []
    folder = command.get("directory", ".")
    found = []
    for flag in command.get("flags") or []:
        name, _, value = str(flag).partition("=")
        if name in ("-f", "--values"):
            found += [
                path
                for path in (_in(folder, part) for part in value.split(","))
                if path and tree.exists(path)
            ]
    return found


def _set_files(command: dict[str, Any]) -> list[str]:
    """The files a command's `--set-file name=path` values read."""
    folder = command.get("directory", ".")
    found = []
    for flag in command.get("flags") or []:
        name, _, value = str(flag).partition("=")
        if name == "--set-file":
            for pair in _pairs(value):
                path = _set_file(folder, pair.partition("=")[2])
                if path:
                    found.append(path)
    return found


def _in_throwaway_cluster(command: dict[str, Any]) -> bool:
    context = command.get("context")
    flags = [str(flag) for flag in command.get("flags") or []]
    aimed = any(flag.startswith(("--kube-context", "--kubeconfig")) for flag in flags)
    return isinstance(context, dict) and context.get("ephemeralCluster") is True and not aimed


def _release(
    command: dict[str, Any], tree: Any, file: str, tested: set[str] | None = None
) -> tuple[str, Any] | None:
    """(chart folder, helm.Release) of a `helm install|upgrade RELEASE ./chart` command
    (`tested`: the releases CI runs `helm test` on, whose test hooks are deployed too)."""
    from gatekeeper.sources import helm

    if command.get("program") != "helm":
        return None
    positional = [str(word) for word in command.get("positional") or []]
    # `helm template ... | kubectl apply -f -` deploys what it renders (red team s21 trust14
    # c08: a --set making the chart privileged was green); its release name is optional.
    templated = positional[:1] == ["template"] and bool(command.get("into"))
    if not positional or (positional[0] not in _VERBS and not templated):
        return None
    flags = [str(flag) for flag in command.get("flags") or []]
    generated = any(flag.startswith("--generate-name") or flag == "-g" for flag in flags)
    names = positional[1:] if not generated else ["", *positional[1:]]
    if templated and len(names) == 1:
        names = [_TEMPLATE_RELEASE, *names]
    if len(names) < 2:
        return None
    release_name, chart_ref = names[0], names[1]
    folder = command.get("directory", ".")  # where the command runs (shell_dirs): `cd deploy`
    chart_dir = _in(folder, chart_ref.rstrip("/")) if not chart_ref.startswith("oci://") else None
    if (
        not chart_dir
        or "$" in chart_ref
        or not tree.exists(posixpath.join(chart_dir, "Chart.yaml"))
    ):
        return None
    values: list[str] = []
    inline: list[tuple[dict[str, Any], NodeLocator]] = []
    given: dict[str, list[tuple[tuple[str | int, ...], Any]]] = {kind: [] for kind in _SET_ORDER}
    namespace = "default"
    line = int(command.get("line") or 1)
    for flag in flags:
        name, _, value = flag.partition("=")
        if name in ("-f", "--values") and value == "-":  # standard input: `< FILE`, `cat FILE |`
            values += [str(command["reads"])] if command.get("reads") else []
            inline += _standard_input(command, file)
        elif name in ("-f", "--values"):
            values += [v for v in (_in(folder, part) for part in value.split(",")) if v]
        elif name in given:
            for key, typed in _set_values(name, value, folder, tree):
                try:
                    given[name].append((tuple(helm_set.path_of(key)), typed))
                except helm_set.SetError:
                    continue
        elif name in ("-n", "--namespace") and value:
            namespace = value
    sets = [pair for kind in _SET_ORDER for pair in given[kind]]
    located = helm_set.located([(list(path), line - 1) for path, _ in sets]) if sets else None
    release = helm.Release(
        tuple(v for v in values if tree.exists(v)),
        release_name or helm.DEFAULT_RELEASE,
        namespace,
        inline=tuple(inline),
        sets=tuple(sets),
        sets_locator=NodeLocator(str(command.get("file") or file), located) if located else None,
        test_hooks="judge" if tested and {_ANY_RELEASE, release_name} & tested else "skip",
    )
    return chart_dir, release


def _given_remote(command: dict[str, Any], file: str, tree: Any) -> list[Problem]:
    """The `--set` values and repository values files a `helm install|upgrade` gives a chart
    of another repository, as chart_secrets candidates at the command's line (red team s25:
    `helm upgrade --install db bitnami/postgresql --set auth.password=...` in a workflow was
    green: the chart is not read here, and neither were the values)."""
    from gatekeeper import chart_secrets
    from gatekeeper.yamldoc import YamlDocument, decode, load_all

    positional = [str(word) for word in command.get("positional") or []]
    if command.get("program") != "helm" or positional[:1] not in (["install"], ["upgrade"]):
        return []
    chart = positional[-1] if len(positional) > 1 else "?"
    folder = command.get("directory", ".")
    line = int(command.get("line") or 1)
    at = str(command.get("file") or file)
    found: list[Problem] = []
    for flag in (str(flag) for flag in command.get("flags") or []):
        name, _, value = flag.partition("=")
        if name in ("--set", "--set-string", "--set-literal", "--set-json"):
            for key, typed in _set_values(name, value, folder, tree):
                if isinstance(typed, str) and "$" in typed:
                    continue  # the shell's variable or the CI's expression: not written here
                given: Any = typed
                for part in reversed(key.split(".")):
                    given = {part: given}
                found += chart_secrets.candidates(at, chart, [(given, ())], lambda _: line)
        elif name in ("-f", "--values"):
            for values_file in (_in(folder, part) for part in value.split(",")):
                if not values_file or not tree.exists(values_file):
                    continue
                with contextlib.suppress(OSError, ValueError):
                    text = decode(tree.read(values_file))
                    for entry in load_all(values_file, text):
                        if isinstance(entry, YamlDocument):
                            locator = NodeLocator(values_file, entry.node)
                            found += chart_secrets.candidates(
                                values_file,
                                chart,
                                [(entry.obj, ())],
                                lambda path, at=locator: at.locate(path).line,  # type: ignore[misc]
                            )
    return found


def created_literals(workflow: Document) -> list[Problem]:
    """_created_literals of every command of a CI file but a throwaway cluster's."""
    return [
        problem
        for _, command in _commands(workflow)
        if not _in_throwaway_cluster(command)
        for problem in _created_literals(command, workflow.file)
    ]


def _created_literals(command: dict[str, Any], file: str) -> list[Problem]:
    """The literals `kubectl create secret|configmap ... --from-literal=KEY=VALUE` (or a
    docker-registry Secret's `--docker-password=`) writes, as GK-SECRET-PLAINTEXT candidates
    at the command's line (red team s25: `kubectl create secret generic db
    --from-literal=password=<literal>` in a workflow was green). A value with `$` (the
    shell's variable, `${{ secrets.X }}`) passes."""
    from gatekeeper import chart_secrets

    positional = [str(word) for word in command.get("positional") or []]
    if command.get("program") not in ("kubectl", "oc") or positional[:1] != ["create"]:
        return []
    if positional[1:2] not in (["secret"], ["configmap"], ["cm"]):
        return []
    kind = "Secret" if positional[1] == "secret" else "ConfigMap"
    name = positional[3] if kind == "Secret" and len(positional) > 3 else positional[2:3]
    line = int(command.get("line") or 1)
    found = []
    for flag in (str(flag) for flag in command.get("flags") or []):
        option, _, value = flag.partition("=")
        if option == "--from-literal":
            key, _, value = value.partition("=")
        elif option == "--docker-password":
            key = "password"
        else:
            continue
        value = value.strip("'\"")
        if "$" in value:
            continue
        message = (
            f"kubectl create {positional[1]} {name!s} writes {key} as a literal secret in"
            " plain text in git: take it from the CI's secrets and rotate it"
        )
        candidate = (chart_secrets.name_of(key, value), value)
        at = str(command.get("file") or file)
        found.append(Problem(chart_secrets.SECRET_CODE, at, line, message, candidate=candidate))
    return found


# The release name `helm template CHART` renders with when given none.
_TEMPLATE_RELEASE = "release-name"


def _standard_input(command: dict[str, Any], file: str) -> list[tuple[dict[str, Any], NodeLocator]]:
    """The values of `-f -` written in the script itself (a heredoc or here-string, kept as
    the command's `input`), located at the command."""
    import yaml

    text = command.get("input")
    if not isinstance(text, str) or not text.strip():
        return []
    try:
        values = safe_load(text)
    except yaml.YAMLError:
        return []
    if not isinstance(values, dict):
        return []
    return [(values, NodeLocator(str(command.get("file") or file), helm_set.located([])))]


# The value flags of `helm install|upgrade`, in the order Helm merges them (values.Options.
# MergeValues: after the -f files, --set-json, --set, --set-string, --set-file, --set-literal).
_SET_ORDER = ("--set-json", "--set", "--set-string", "--set-file", "--set-literal")


def _set_values(flag: str, value: str, folder: Any, tree: Any) -> Iterator[tuple[str, Any]]:
    """(name, value) of each pair a value flag gives, typed as Helm types it: `--set` as
    strvals does, `--set-string` and `--set-literal` (the whole rest, commas and all) as
    strings, `--set-json` as JSON, `--set-file` as the named file's text (a file the
    repository does not hold gives nothing). A pair Helm rejects gives nothing."""
    if flag == "--set-literal":
        key, equals, text = value.partition("=")
        if equals:
            yield key, text
        return
    if flag == "--set-json":
        yield from _json_pairs(value)
        return
    for pair in _pairs(value):
        key, equals, text = pair.partition("=")
        if not equals:
            continue
        if flag != "--set-file":
            yield key, helm_set.typed(text, flag == "--set-string")
            continue
        path = _set_file(folder, text)
        try:
            data = tree.read(path) if path else None
        except OSError:
            data = None
        if data is not None:
            yield key, data.decode("utf-8", "replace")


def _set_file(folder: Any, written: str) -> str | None:
    """The repository path of a `--set-file name=path` value (a `\\,` is a comma in it)."""
    return _in(folder, written.replace("\\,", ","))


def _json_pairs(value: str) -> Iterator[tuple[str, Any]]:
    """`a={"b":1},c=[2]` as Helm's strvals.ParseJSON reads it: a name up to `=`, one JSON
    value, then `,` or the end; nothing when it fails (Helm then renders nothing)."""
    decoder = json.JSONDecoder()
    pairs: list[tuple[str, Any]] = []
    at = 0
    while at < len(value):
        equals = value.find("=", at)
        if equals < 0:
            return
        try:
            parsed, end = decoder.raw_decode(value, equals + 1)
        except ValueError:
            return
        pairs.append((value[at:equals], parsed))
        if end < len(value) and value[end] != ",":
            return
        at = end + 1
    yield from pairs


def _in(folder: Any, path: str) -> str | None:
    """The repository path of `path` written in a command run in `folder` (shell_dirs), None
    when either is computed or it leaves the checkout."""
    from gatekeeper import shell_dirs

    if not isinstance(folder, str) or "$" in path:
        return inside(path) if folder == "." else None
    resolved = shell_dirs.resolve(folder, path)
    if not shell_dirs.known(resolved) or resolved is None or resolved.startswith("/"):
        return None
    return inside(resolved)


def _pairs(value: str) -> list[str]:
    """`a=1,b=2` as Helm splits a --set value (a `\\,` is a comma in the value)."""
    return [pair for pair in helm_set.split_unescaped(value, ",", keep_escapes=True) if pair]
