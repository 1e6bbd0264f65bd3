"""How the repository builds its Dockerfiles: the `--build-arg` values and `--target` stage that
CI workflows (`docker build`, `docker buildx build`, `podman build`, `buildah bud`,
docker/build-push-action) and compose files (`build: {args, target}`) give them.

A Dockerfile whose last stage runs as a non-root `$APP_UID` is root when a workflow builds it
with `--build-arg APP_UID=0`, and its last stage is not the image when `--target debug` builds
an earlier one: each such build is judged as a variant of the Dockerfile (dockerfile.load).
Values spelled with `$` or `${{ }}` are unknown and left out, as for Terraform's `TF_VAR_`.
"""

from __future__ import annotations

import contextlib
import fnmatch
import posixpath
import re
import weakref
from dataclasses import dataclass, field, replace
from typing import Any

from gatekeeper import lazy_re, ownership, shell_dirs
from gatekeeper.document import Problem
from gatekeeper.tree import Tree, inside

# (program, subcommands) that build an image from a Dockerfile.
_BUILDERS = {
    "docker": (("build",), ("buildx", "build"), ("buildx", "b"), ("image", "build")),
    "podman": (("build",), ("image", "build")),
    "nerdctl": (("build",),),
    "buildah": (("bud",), ("build",)),
}
# Flags of those commands that take a value in the next word (the context is the word left).
_VALUE_FLAGS = frozenset(
    {"-t", "--tag", "-f", "--file", "--target", "--build-arg", "--platform", "--label",
     "--cache-from", "--cache-to", "-o", "--output", "--secret", "--ssh", "--network",
     "--progress", "--builder", "--iidfile", "--metadata-file", "--add-host", "--annotation",
     "--attest", "--build-context", "--cgroup-parent", "--shm-size", "--ulimit", "-m",
     "--memory", "--allow", "--call", "--provenance", "--sbom", "--isolation", "--build-arg-file",
     "--layers", "--format", "--arch", "--os", "--variant", "--runtime", "--from", "--creds",
     "--authfile", "--cert-dir", "--jobs", "--logfile", "--manifest", "--timestamp"}
)  # fmt: skip
_COMPOSE_NAMES = frozenset(
    {"compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml"}
)
# The Bake files `docker buildx bake` (and docker/bake-action) reads besides compose files.
_BAKE_NAMES = frozenset(
    {"docker-bake.hcl", "docker-bake.json", "docker-bake.override.hcl", "docker-bake.override.json"}
)


@dataclass(frozen=True)
class Build:
    """One way the repository builds `dockerfile`: its build args and target, and where."""

    dockerfile: str
    where: str  # `file:line` of the build command or compose service
    target: str = ""
    args: dict[str, str] = field(default_factory=dict)
    via: str = ""  # the workflow that runs the Bake file `where` names (`bake -f FILE`)


_BUILDS: weakref.WeakKeyDictionary[Any, list[Build]] = weakref.WeakKeyDictionary()


def builds(tree: Tree) -> list[Build]:
    """Every build of the tree that gives build args or a target, found once per tree."""
    if tree in _BUILDS:
        return _BUILDS[tree]
    found = _workflow_builds(tree) + _compose_builds(tree) + _bake_builds(tree)
    _BUILDS[tree] = found
    return found


def of(tree: Tree, dockerfile: str) -> list[Build]:
    return [build for build in builds(tree) if build.dockerfile == dockerfile]


def built_by(tree: Tree, path: str) -> list[str]:
    """The Dockerfiles that the workflow or compose file `path` builds with args or a target."""
    return sorted({b.dockerfile for b in builds(tree) if b.where.rpartition(":")[0] == path})


_NAMED: weakref.WeakKeyDictionary[Any, frozenset[str]] = weakref.WeakKeyDictionary()


def named_otherwise(tree: Tree) -> frozenset[str]:
    """The files CI builds as Dockerfiles (`docker build -f docker/prod`, build-push-action's
    `file:`) under a name no adapter reads as a Dockerfile's: nothing else would judge them
    (scanner.scan_one judges them as Dockerfiles), so pointing `-f` at `docker/prod` passed
    a USER root, curl | sh image green. Found once per tree."""
    try:
        if tree in _NAMED:
            return _NAMED[tree]
    except TypeError:  # a tree that cannot be weakly referenced: found again each time
        pass
    found = frozenset(build.dockerfile for build in named_builds(tree))
    with contextlib.suppress(TypeError):
        _NAMED[tree] = found
    return found


def named_builds(tree: Tree) -> list[Build]:
    """The workflows' and Bake targets' builds of files named_otherwise finds (each with
    where it is built): a target's `dockerfile = "docker/prod"` is built by `docker buildx
    bake` as a Dockerfile under another name."""
    from gatekeeper.sources.names import is_dockerfile

    return [
        build
        for build in _workflow_builds(tree, every=True) + _bake_builds(tree, every=True)
        if not is_dockerfile(build.dockerfile) and tree.exists(build.dockerfile)
    ]


def _workflow_builds(tree: Tree, every: bool = False) -> list[Build]:
    """The workflows' builds that give build args or a target (`every`: all of them)."""
    from gatekeeper.sources import workflow
    from gatekeeper.sources.workflow_scripts import steps, working_directory

    found: list[Build] = []
    for document in workflow.workflows(tree):
        for job_id, job, number, step in steps(document.obj):
            directory = working_directory(step, job)
            for command in step.get("commands") or []:
                where = f"{command.get('file') or document.file}:{command['line']}"
                build = _command_build(command, command.get("directory", directory), where, every)
                if build is not None:
                    found.append(build)
            if _is_build_push(step):
                line = document.locator.locate(("jobs", job_id, "steps", number)).line
                values = _step_values(document, job, step, tree)
                for given in _action_variants(step, job, values):
                    build = _action_build(given, f"{document.file}:{line}", every)
                    if build is not None:
                        found.append(build)
    return found


def _step_values(
    document: Any, job: dict[str, Any], step: dict[str, Any], tree: Tree | None
) -> dict[str, list[str]]:
    """The values a build-push-action step's expressions may take: the job's env and matrix,
    and a reusable workflow's `inputs.X` (_call_inputs)."""
    from gatekeeper.sources.workflow_values import merged

    values = _expression_values(job, _env(document, job, step))
    return merged(values, _call_inputs(document, tree))


def _call_inputs(document: Any, tree: Tree | None) -> dict[str, list[str]]:
    """`inputs.X` of a reusable workflow (`on: workflow_call`) as this repository calls it:
    what its callers pass (`uses: ./.github/workflows/build.yml` with `dockerfile:
    operator/Dockerfile`, loki's operator images: `file: ${{ inputs.dockerfile }}` was a
    blocking "judged by no rule") and the input's default, for a caller that passes none.
    Not an input a `workflow_dispatch` also declares (whoever dispatches types any value),
    nor a value a caller computes (it stays an expression). Another repository calling it
    checks out and builds its own files."""
    from gatekeeper.sources.workflow import callers
    from gatekeeper.sources.workflow_values import input_values, merged

    obj = document.obj if isinstance(document.obj, dict) else {}
    on = obj.get("on")
    call = on.get("workflow_call", False) if isinstance(on, dict) else False
    if call is False:
        return {}
    dispatch = on.get("workflow_dispatch") if isinstance(on, dict) else None
    typed = dispatch.get("inputs") if isinstance(dispatch, dict) else None
    dispatched = set(typed) if isinstance(typed, dict) else set()
    values = dict(input_values(call.get("inputs") if isinstance(call, dict) else None))
    if tree is not None:
        values = merged(values, callers(tree).get(str(document.file), {}))
    return {name: found for name, found in values.items() if name.split(".")[-1] not in dispatched}


def _expression_values(job: dict[str, Any], env: dict[str, str]) -> dict[str, list[str]]:
    """The values the job's `${{ env.X }}` and `${{ matrix.x }}` may take."""
    from gatekeeper.sources.workflow_values import matrix_values

    return matrix_values(job, env)


_NESTED = lazy_re.compile(r"\$\{\{\s*matrix\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\s*\}\}")
_MAX_ENTRIES = 256


def _action_variants(
    step: dict[str, Any], job: dict[str, Any], values: dict[str, list[str]]
) -> list[dict[str, Any]]:
    """The step once per value its `with:` context and file expressions take (as written
    when they take none): each entry of a matrix list of mappings together (`file_tag:
    [{file: ..., context: ...}]`: `${{ matrix.file_tag.file }}` with its own context)."""
    from gatekeeper.sources.workflow_values import with_expressions

    given = step.get("with")
    if not isinstance(given, dict):
        return []
    texts = [f"{given.get('context') or '.'}\n{given.get('file') or ''}"]
    strategy = job.get("strategy")
    matrix = strategy.get("matrix") if isinstance(strategy, dict) else None
    for name in sorted({found.group(1) for found in _NESTED.finditer(texts[0])}):
        items = matrix.get(name) if isinstance(matrix, dict) else None
        entries = [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []
        if entries:
            texts = [_entry(t, name, e) for t in texts for e in entries][:_MAX_ENTRIES]
    found = []
    for text in texts:
        for variant in with_expressions(text, values):
            context, _, file = variant.partition("\n")
            found.append({**step, "with": {**given, "context": context, "file": file}})
    return found


def _is_build_push(step: dict[str, Any]) -> bool:
    uses = step.get("uses")
    return isinstance(uses, str) and uses.startswith("docker/build-push-action@")


def _env(document: Any, job: dict[str, Any], step: dict[str, Any]) -> dict[str, str]:
    """The plain `env:` values of the workflow, the job and the step (the step's win)."""
    found: dict[str, str] = {}
    for holder in (document.obj, job, step):
        env = holder.get("env") if isinstance(holder, dict) else None
        for key, value in env.items() if isinstance(env, dict) else []:
            if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                found[str(key)] = str(value)
    return found


def _entry(text: str, name: str, entry: dict[str, Any]) -> str:
    """`text` with `${{ matrix.<name>.<key> }}` of one matrix entry filled in."""

    def value(found: re.Match[str]) -> str:
        if found.group(1) != name or found.group(2) not in entry:
            return found.group(0)
        return str(entry[found.group(2)])

    return _NESTED.sub(value, text)


def unlocated(document: Any, tree: Tree | None = None) -> list[Problem]:
    """A blocking note at each build of the CI file whose Dockerfile cannot be located and
    is not named as a Dockerfile (`cd "$DIR" && docker build -f prod .`, `-f $FILE`,
    build-push-action's `file: ${{ inputs.file }}`), or is a file the repository (`tree`)
    does not hold there (made at run time, or in a folder the script reaches in a way not
    followed: `source` of a script the repository lacks), or a Bake run whose environment
    computes the target's file (_computed_bakes): what it builds is judged by no rule, and
    saying nothing passed a root image green."""
    from gatekeeper.sources.workflow_scripts import steps, working_directory

    found: list[Problem] = []
    for job_id, job, number, step in steps(document.obj):
        directory = working_directory(step, job)
        for command in step.get("commands") or []:
            given = _command_parts(command)
            folder = command.get("directory", directory)
            if given is not None and given[1] and given[1] == command.get("reads"):
                folder = "."  # the file standard input reads: from the root (shell.Command)
            why = _unknown(folder, given[0], given[1], tree) if given is not None else ""
            if given is not None and not why and command.get("unread"):
                why = _after_unread(folder, given[1], str(command["unread"]))
            if why:
                file = str(command.get("file") or document.file)
                found.append(_problem(file, int(command["line"]), str(command["text"]), why))
        if not _is_build_push(step):
            continue
        values = _step_values(document, job, step, tree)
        for variant in _action_variants(step, job, values):
            context, file = variant["with"]["context"], variant["with"]["file"]
            why = _unknown(".", str(context), str(file), tree)
            if why:
                line = document.locator.locate(("jobs", job_id, "steps", number)).line
                found.append(_problem(document.file, line, f"file: {file}", why))
                break
    if tree is not None:
        found.extend(_computed_bakes(document, tree))
    return found


def _computed_bakes(document: Any, tree: Tree) -> list[Problem]:
    """A note at each Bake run of `workflow` whose environment computes a variable that a
    target's `dockerfile` or `context` spells (`DF: ${{ vars.DF }}` for `dockerfile =
    "${DF}"`): which file it builds is a setting's, judged by no rule."""
    found: list[Problem] = []
    for run in _runs_of(document, tree):
        if not run.computed:
            continue
        for name in sorted(run.files):
            try:
                text = tree.read(name).decode("utf-8")
                targets = _bake_targets(text, name.endswith(".json"))
            except (OSError, ValueError):
                continue
            for target_name in targets:
                settings = _overridden(_inherited(targets, target_name, 0), target_name, run.sets)
                spelled = f"{settings.get('context') or ''} {settings.get('dockerfile') or ''}"
                names = {m.group(1) for m in _BAKE_VARIABLE.finditer(spelled)} & run.computed
                if names:
                    file, _, line = run.where.rpartition(":")
                    what = f"bake target {target_name}: {', '.join(sorted(names))} computed"
                    why = "its folder or name is computed at run time"
                    found.append(_problem(file, int(line), what, why))
    return found


def _problem(file: str, line: int, text: str, why: str) -> Problem:
    message = (
        f"`{text}` builds a Dockerfile gatekeeper cannot read ({why}) under a name that is not"
        " a Dockerfile's: it is judged by no rule; build it from a path of the repository"
        " written out, or name it Dockerfile"
    )
    return Problem("GK-LOCAL-NOT-EXPANDED", file, line, message)


def _unknown(directory: str | None, context: str, file: str, tree: Tree | None = None) -> str:
    """Why a build's Dockerfile cannot be read while its name may be any file's ("" when it
    can, or its name is a Dockerfile's: judged by its name wherever it is)."""
    from gatekeeper.sources.names import is_dockerfile

    if file == "-":  # `printf '...' | docker build -`, a heredoc: text the script makes
        return "its text is what the script writes to its standard input"
    if "://" in context or not file:  # no -f: `<context>/Dockerfile`
        return ""
    name = file.rstrip("/").rsplit("/", 1)[-1]
    if "$" not in name and "`" not in name and is_dockerfile(name):
        return ""
    path = shell_dirs.resolve(directory, file)
    if not shell_dirs.known(path) or path is None:
        return "its folder or name is computed at run time"
    if path.startswith("/") or (tree is not None and not tree.exists(path)):
        return f"{path} is no file of the repository: made at run time, or another folder"
    return ""


def _after_unread(directory: str | None, file: str, unread: str) -> str:
    """Why a build's Dockerfile, named relative to the folder under a name that is not a
    Dockerfile's, may be another file: the script sourced one the repository lacks, which
    may have moved the folder (red team s17 y03)."""
    from gatekeeper.sources.names import is_dockerfile

    name = file.rstrip("/").rsplit("/", 1)[-1]
    if not file or is_dockerfile(name) or shell_dirs.resolve(None, file) is not None:
        return ""
    return f"after `. {unread}`, a script the repository does not hold, which may change the folder"


def _command_parts(command: dict[str, Any]) -> tuple[str, str, str, dict[str, str]] | None:
    """(context, file, target, build args) of a build command, None for another command; a
    Dockerfile read from standard input is the file it reads (`reads`: from the root)."""
    words = [str(word) for word in command.get("args") or []]
    chains = _BUILDERS.get(str(command.get("program") or "").rsplit("/", 1)[-1], ())
    chain = next((c for c in chains if tuple(words[: len(c)]) == c), None)
    if chain is None:
        return None
    args: dict[str, str] = {}
    target, file, context = "", "", "."
    outputs: list[str] = []
    index = len(chain)
    while index < len(words):
        word = words[index]
        name, equals, value = word.partition("=")
        if name in _VALUE_FLAGS and not equals:
            value = words[index + 1] if index + 1 < len(words) else ""
            index += 1
        if name in ("-o", "--output"):
            outputs.append(value)
        elif name in ("--load", "--push"):  # an image: `--output=type=docker|registry`
            outputs.append("type=image")
        elif name == "--build-arg":
            key, assigned, given = value.partition("=")
            if assigned and "$" not in given:
                args[key] = given
        elif name == "--target":
            target = value
        elif name in ("-f", "--file"):
            file = value
        elif word.startswith("-f") and not word.startswith("--"):  # `-f-`, `-fdocker/prod`
            file = word[2:].removeprefix("=")
        elif not word.startswith("-") or word == "-":
            context = word
        index += 1
    if file == "-" or (context == "-" and not file):  # the Dockerfile on standard input
        file = str(command.get("reads") or "-")  # `< docker/prod`, `cat docker/prod |`
        context = "." if context == "-" else context
    if files_only(outputs):
        return context, file, "", {}  # no image: its target stage and args run nowhere
    return context, file, target, args


def files_only(outputs: list[str]) -> bool:
    """Do the `--output`s of a build (`-o`, docker/build-push-action's `outputs`) write
    only files, no image? `--target bin --output type=local,dest=dist` (Docker's way of
    exporting a binary; argo-rollouts, many Go projects) or `-o dist` copies the stage's
    files out: nothing runs them as a container, so the stage is no image to judge. Any
    other type (image, registry, docker, oci), `--load`/`--push`, or a value CI computes is
    an image, as is a build with no output (the builder's default store)."""
    if not outputs:
        return False
    for output in outputs:
        if "$" in output or not output.strip():
            return False
        fields = dict(part.partition("=")[::2] for part in output.split(","))
        kind = fields.get("type") if "=" in output else "local"  # `-o dist`: a folder
        if kind not in ("local", "tar"):
            return False
    return True


def _command_build(
    command: dict[str, Any], directory: str | None, where: str, every: bool = False
) -> Build | None:
    given = _command_parts(command)
    if given is None:
        return None
    context, file, target, args = given
    if file and file == command.get("reads"):  # from the root, not the command's folder
        directory = "."
    return _build(directory, context, file, target, args, where, every)


def _action_build(step: dict[str, Any], where: str, every: bool = False) -> Build | None:
    given = step.get("with")
    if not isinstance(given, dict):
        return None
    args: dict[str, str] = {}
    for line in str(given.get("build-args") or "").splitlines():
        key, assigned, value = line.strip().partition("=")
        if assigned and "$" not in value:
            args[key] = value
    context = str(given.get("context") or ".")
    file = str(given.get("file") or "")
    target = str(given.get("target") or "")
    outputs = [line.strip() for line in str(given.get("outputs") or "").splitlines()]
    outputs = [line for line in outputs if line]
    if given.get("push") not in (None, False, "false") or given.get("load") not in (
        None,
        False,
        "false",
    ):
        outputs.append("type=image")
    if files_only(outputs):
        target, args = "", {}
    return _build(".", context, file, target, args, where, every)


def _build(
    directory: str | None,
    context: str,
    file: str,
    target: str,
    args: dict[str, str],
    where: str,
    every: bool = False,
) -> Build | None:
    """The build of the Dockerfile `file` (relative to `directory`, the folder the command
    runs in: shell_dirs; else `context/Dockerfile`): when it gives args or a target, or
    `every` build."""
    if not (args or target or every) or "$" in target or "://" in context or file == "-":
        return None
    if file:
        path = shell_dirs.resolve(directory, file)
    else:
        path = shell_dirs.join(shell_dirs.resolve(directory, context or "."), "Dockerfile")
    if not shell_dirs.known(path) or path is None or path.startswith("/"):
        return None
    dockerfile = inside(path)
    if dockerfile is None:
        return None
    return Build(dockerfile, where, target, args)


def _compose_builds(tree: Tree) -> list[Build]:
    """Each service's `build` merged over every `---` document of the compose file, as
    compose-go merges them (a second document's `args: {APP_UID: "0"}` is the build's), at
    the line of the last document that writes it."""
    from gatekeeper.sources import compose_env
    from gatekeeper.sources.compose import merge_values, read_layers, with_defaults
    from gatekeeper.yamldoc import NodeLocator

    found: list[Build] = []
    for name in ownership.of(tree).named_below("", _COMPOSE_NAMES):
        try:
            entries, _ = read_layers(name, tree.read(name))
        except OSError:
            continue
        env = compose_env.project_env(tree, name)  # `${VAR}` as Compose fills it (.env)
        for _, given, _ in compose_env.ci_env_files(tree).get(name, []):
            env.update(given)
        objs = [compose_env.interpolated(entry.obj, env) for entry in entries]
        builds: dict[str, dict[str, Any]] = {}
        lines: dict[str, int] = {}
        for entry, obj in zip(entries, objs, strict=True):
            services = obj.get("services")
            for service_name, service in services.items() if isinstance(services, dict) else ():
                build = service.get("build") if isinstance(service, dict) else None
                if isinstance(build, str):
                    build = {"context": build}
                if not isinstance(build, dict):
                    continue
                builds[str(service_name)] = merge_values(builds.get(str(service_name)), build)
                where = ("services", str(service_name), "build")
                lines[str(service_name)] = NodeLocator(name, entry.node).locate(where).line
        for service_name, build in builds.items():
            raw = build.get("args")
            args: dict[str, str] = {}
            if isinstance(raw, dict):
                args = {str(k): str(v) for k, v in raw.items() if v is not None}
            elif isinstance(raw, list):
                args = dict(str(item).partition("=")[::2] for item in raw if "=" in str(item))
            args = {key: with_defaults(value) for key, value in args.items()}
            args = {key: value for key, value in args.items() if "$" not in value}
            context = str(build.get("context") or ".")
            file = str(build.get("dockerfile") or "Dockerfile")
            directory = posixpath.dirname(name) or "."
            made = _build(
                posixpath.join(directory, context),
                ".",
                file,
                str(build.get("target") or ""),
                args,
                f"{name}:{lines[service_name]}",
            )
            if made is not None:
                found.append(made)
    return found


def _bake_builds(tree: Tree, every: bool = False) -> list[Build]:
    """The targets of Docker Bake files (`target "web" { context, dockerfile, args, target,
    inherits }`): `docker buildx bake` builds each with its args, so a last stage's
    `USER ${APP_UID}` is root with `args = { APP_UID = "0" }` (red team t09 of session 12:
    it passed green); `every`: each target's build. Bake (buildx bake.go toBuildOpt) reads
    `context` from the folder it runs in and `dockerfile` from the context: a file of the
    default names from its own folder, a file CI names (`docker buildx bake -f ci/build.hcl`,
    docker/bake-action's `files:`) from the folder the command runs in. `${VAR}` takes the
    Bake variable's default; other computed values are unknown and left out. Each CI run of
    Bake (_bake_runs) builds the targets again as it sets them: its environment over the
    variables' defaults, its `--set`s over the targets' settings."""
    found: list[Build] = []
    runs = _bake_runs(tree)
    for name, directory, via in bake_files(tree):
        try:
            text = tree.read(name).decode("utf-8")
            targets = _bake_targets(text, name.endswith(".json"))
        except (OSError, ValueError):  # unreadable, not UTF-8, not HCL (HclError) or JSON
            continue
        defaults = _bake_variables(text, name.endswith(".json"))
        for target_name, (_, line) in targets.items():
            settings = _inherited(targets, target_name, 0)
            where = f"{name}:{line}"
            made = _target_build(settings, defaults, directory, where, every)
            if made is not None:
                found.append(replace(made, via=via))
            for run in runs:
                if name not in run.files:
                    continue
                overridden = _overridden(settings, target_name, run.sets)
                ran = _target_build(overridden, {**defaults, **run.env}, directory, where, every)
                if ran is not None and ran != made:  # built otherwise than as written
                    found.append(replace(ran, via=run.via))
    for files, directory, given in _merged_sets(tree, runs):
        for built in _merged_builds(tree, files, directory, given, every):
            if built not in found:
                found.append(built)
    return found


# The order buildx reads the default-named Bake files in (each over the ones before).
_BAKE_ORDER = ("docker-bake.json", "docker-bake.hcl", "docker-bake.override.json",
               "docker-bake.override.hcl")  # fmt: skip


def _merged_sets(
    tree: Tree, runs: list[_BakeRun]
) -> list[tuple[tuple[str, ...], str, _BakeRun | None]]:
    """The sets of several Bake files read together (files, the folder contexts are read
    from, the CI run or None): the default-named files of a folder, and a run's `-f` files;
    buildx merges them into one definition, target by target, a later file over the ones
    before (`docker-bake.override.hcl` setting only `dockerfile = "prod"`)."""
    by_folder: dict[str, list[str]] = {}
    for name in ownership.of(tree).named_below("", _BAKE_NAMES):
        by_folder.setdefault(posixpath.dirname(name) or ".", []).append(name)
    found: list[tuple[tuple[str, ...], str, _BakeRun | None]] = []
    for folder, names in sorted(by_folder.items()):
        ordered = sorted(names, key=lambda n: _BAKE_ORDER.index(posixpath.basename(n)))
        if len(ordered) > 1:
            found.append((tuple(ordered), folder, None))
    for run in runs:
        if len(run.files) > 1:
            found.append((run.files, run.folder, run))
    return found


def _merged_builds(
    tree: Tree, files: tuple[str, ...], directory: str, run: _BakeRun | None, every: bool
) -> list[Build]:
    """The builds of the targets of `files` merged as buildx merges them (attributes of a
    later file over an earlier one's, args key by key), as `run` sets them when given; each
    at the line of the last file that writes the target."""
    targets: dict[str, tuple[dict[str, Any], int]] = {}
    where: dict[str, str] = {}
    defaults: dict[str, str] = {}
    for name in files:
        try:
            text = tree.read(name).decode("utf-8")
            own = _bake_targets(text, name.endswith(".json"))
        except (OSError, ValueError):
            continue
        defaults.update(_bake_variables(text, name.endswith(".json")))
        for target_name, (body, line) in own.items():
            before = targets.get(target_name, ({}, line))[0]
            args: dict[str, Any] = {}
            for held in (before.get("args"), body.get("args")):
                args.update(held if isinstance(held, dict) else {})
            merged = {**before, **body}
            if args:
                merged["args"] = args
            targets[target_name] = (merged, line)
            where[target_name] = f"{name}:{line}"
    env = {**defaults, **(run.env if run else {})}
    found: list[Build] = []
    for target_name in targets:
        settings = _inherited(targets, target_name, 0)
        settings = _overridden(settings, target_name, run.sets) if run else settings
        made = _target_build(settings, env, directory, where[target_name], every)
        if made is not None:
            found.append(replace(made, via=run.via if run else ""))
    return found


def _target_build(
    settings: dict[str, Any], variables: dict[str, str], directory: str, where: str, every: bool
) -> Build | None:
    """The build of a Bake target's settings, `${VAR}` filled from `variables`."""
    raw = settings.get("args")
    args = {
        str(key): _filled(_text(value), variables)
        for key, value in (raw.items() if isinstance(raw, dict) else [])
        if value is not None
    }
    args = {key: value for key, value in args.items() if "$" not in value}
    context = _filled(_text(settings.get("context") or "."), variables)
    return _build(
        shell_dirs.join(directory, context) if "://" not in context else context,
        ".",
        _filled(_text(settings.get("dockerfile") or "Dockerfile"), variables),
        _filled(_text(settings.get("target") or ""), variables),
        args,
        where,
        every,
    )


@dataclass(frozen=True)
class _BakeRun:
    """A `docker buildx bake` of CI (or a docker/bake-action step): the Bake files it reads,
    the values its environment gives their variables (buildx: an environment variable of a
    `variable`'s name overrides its default), the names that environment computes, and its
    `--set PATTERN.KEY=VALUE` overrides (bake-action's `set:`)."""

    files: tuple[str, ...]  # in the order buildx reads them
    via: str
    env: dict[str, str] = field(hash=False)
    computed: frozenset[str]
    sets: tuple[tuple[str, str, str], ...]
    where: str  # `file:line` of the command or step
    folder: str  # where it runs: contexts are read from there


def _bake_runs(tree: Tree) -> list[_BakeRun]:
    """Every Bake run of the tree's CI files."""
    from gatekeeper.sources import workflow

    return [run for document in workflow.workflows(tree) for run in _runs_of(document, tree)]


def _runs_of(document: Any, tree: Tree) -> list[_BakeRun]:
    """The Bake runs of one loaded CI file."""
    from gatekeeper.sources.workflow_envsubst import assigned, runner_env
    from gatekeeper.sources.workflow_scripts import steps

    found: list[_BakeRun] = []
    obj = document.obj if isinstance(document.obj, dict) else {}
    for job_id, job, number, step in steps(obj):
        env, computed = runner_env(obj, job, step)
        runs: list[tuple[list[str], dict[str, str], list[str], str, str]] = []
        for command in step.get("commands") or []:
            words = [str(word) for word in command.get("args") or []]
            if command.get("program") != "docker" or words[:2] not in _BAKE_VERBS:
                continue
            folder = command.get("directory", ".")
            named = [_in_repository(folder, given) for given, _ in _baked(command)]
            files = named if named else _default_bakes(tree, folder)
            where = f"{command.get('file') or document.file}:{command['line']}"
            sets = _flag_values(words, "--set")
            ran = {**env, **assigned(command)}
            runs.append((files, ran, sets, where, str(folder or ".")))
        uses, given = step.get("uses"), step.get("with")
        if isinstance(uses, str) and uses.startswith("docker/bake-action@"):
            written = given if isinstance(given, dict) else {}
            folder = shell_dirs.resolve(".", str(written.get("workdir") or "."))
            listed = [f.strip() for f in re.split(r"[\n,]", str(written.get("files") or ""))]
            named = [_in_repository(folder, f) for f in listed if f]
            files = named if named else _default_bakes(tree, folder)
            sets = [line.strip() for line in str(written.get("set") or "").splitlines()]
            line = document.locator.locate(("jobs", job_id, "steps", number)).line
            step_sets = [s for s in sets if s]
            runs.append((files, env, step_sets, f"{document.file}:{line}", folder or "."))
        for files, ran_env, sets, where, folder in runs:
            parsed = tuple(_parsed_set(given) for given in sets)
            known = tuple(item for item in parsed if item is not None)
            switched = frozenset(computed - set(ran_env))
            held = tuple(dict.fromkeys(f for f in files if f))
            run = _BakeRun(held, document.file, ran_env, switched, known, where, folder)
            found.append(run)
    return found


_BAKE_VERBS = (["buildx", "bake"], ["bake"])


def _in_repository(folder: str | None, given: str) -> str:
    """The repository path `given` names from `folder` ("" when it names none)."""
    path = shell_dirs.resolve(folder, given)
    return path if shell_dirs.known(path) and path and not path.startswith("/") else ""


def _default_bakes(tree: Tree, folder: str | None) -> list[str]:
    """The Bake files of the default names a run in `folder` reads."""
    paths = [_in_repository(folder, name) for name in _BAKE_ORDER]
    return [path for path in paths if path and tree.exists(path)]


def _flag_values(words: list[str], flag: str) -> list[str]:
    """The values of `flag` (`--set X`, `--set=X`) among a command's words."""
    found = []
    for index, word in enumerate(words):
        if word == flag and index + 1 < len(words):
            found.append(words[index + 1])
        elif word.startswith(flag + "="):
            found.append(word[len(flag) + 1 :])
    return found


def _parsed_set(given: str) -> tuple[str, str, str] | None:
    """(target pattern, key, value) of `PATTERN.KEY=VALUE` (buildx splits the name at its
    first `.`: `app.args.UID=0` is key `args.UID`); None for a value CI computes."""
    name, equals, value = given.partition("=")
    pattern, dot, key = name.partition(".")
    if not equals or not dot or "$" in value:
        return None
    return pattern, key, value


def _overridden(
    settings: dict[str, Any], target: str, sets: tuple[tuple[str, str, str], ...]
) -> dict[str, Any]:
    """A target's settings with the `--set`s whose pattern matches its name (a glob, as
    buildx matches them) applied."""
    changed = {**settings, "args": dict(settings.get("args") or {})}
    for pattern, key, value in sets:
        if not fnmatch.fnmatchcase(target, pattern):
            continue
        if key in ("dockerfile", "context", "target"):
            changed[key] = value
        elif key.startswith("args."):
            changed["args"][key[5:]] = value
    return changed


def bake_files(tree: Tree) -> list[tuple[str, str, str]]:
    """(Bake file, the folder its contexts are read from, the workflow that names it or ""):
    each of the default names from its own folder, and each file a workflow's `docker buildx
    bake -f FILE` (or bake-action's `files:`) names from the folder the command runs in."""
    from gatekeeper.sources import workflow
    from gatekeeper.sources.workflow_scripts import steps

    found = {
        (name, posixpath.dirname(name) or "."): ""
        for name in ownership.of(tree).named_below("", _BAKE_NAMES)
    }
    for document in workflow.workflows(tree):
        for _, _, _, step in steps(document.obj):
            for command in step.get("commands") or []:
                for given, folder in _baked(command):
                    path = shell_dirs.resolve(folder, given)
                    if shell_dirs.known(path) and path and not path.startswith("/"):
                        found.setdefault((path, folder or "."), document.file)
            uses, given_with = step.get("uses"), step.get("with")
            if isinstance(uses, str) and uses.startswith("docker/bake-action@"):
                written = given_with if isinstance(given_with, dict) else {}
                folder = shell_dirs.resolve(".", str(written.get("workdir") or "."))
                for given in re.split(r"[\n,]", str(written.get("files") or "")):
                    path = shell_dirs.resolve(folder, given.strip()) if given.strip() else None
                    if shell_dirs.known(path) and path and not path.startswith("/"):
                        found.setdefault((path, folder or "."), document.file)
    return sorted(
        (name, folder, via)
        for (name, folder), via in found.items()
        if name.endswith((".hcl", ".json")) and tree.exists(name)
    )


def _baked(command: dict[str, Any]) -> list[tuple[str, str | None]]:
    """The `-f` files of a `docker buildx bake` (`docker bake`) command, each with the folder
    it runs in."""
    words = [str(word) for word in command.get("args") or []]
    if command.get("program") != "docker" or words[:2] not in (["buildx", "bake"], ["bake"]):
        return []
    folder = command.get("directory", ".")
    found = []
    for index, word in enumerate(words):
        name, equals, value = word.partition("=")
        if name in ("-f", "--file"):
            value = value if equals else (words[index + 1] if index + 1 < len(words) else "")
            found.append((value, folder))
    return found


_BAKE_VARIABLE = lazy_re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _bake_variables(text: str, json_file: bool) -> dict[str, str]:
    """The plain defaults of a Bake file's `variable` blocks: what `${NAME}` is when the
    environment does not set NAME."""
    import json

    from gatekeeper.hcl import parse

    found: dict[str, str] = {}
    if json_file:
        data = json.loads(text)
        listed = data.get("variable") if isinstance(data, dict) else None
        bodies = [(str(k), v) for k, v in (listed.items() if isinstance(listed, dict) else [])]
    else:
        bodies = [
            (block.labels[0], block.body)
            for block in parse(text).blocks
            if block.type == "variable" and len(block.labels) == 1
        ]
    for name, body in bodies:
        value = body.get("default") if isinstance(body, dict) else None
        if isinstance(value, (str, int, float)) and "$" not in str(value):
            found[name] = _text(value)
    return found


def _filled(text: str, defaults: dict[str, str]) -> str:
    return _BAKE_VARIABLE.sub(lambda m: defaults.get(m.group(1), m.group(0)), text)


def _bake_targets(text: str, json_file: bool) -> dict[str, tuple[dict[str, Any], int]]:
    """The `target` blocks of a Bake file by name: settings as written, and the line."""
    import json

    from gatekeeper.hcl import parse

    targets: dict[str, tuple[dict[str, Any], int]] = {}
    if json_file:
        data = json.loads(text)
        listed = data.get("target") if isinstance(data, dict) else None
        for key, body in listed.items() if isinstance(listed, dict) else []:
            if isinstance(body, dict):
                line = next((n for n, t in enumerate(text.splitlines(), 1) if f'"{key}"' in t), 1)
                targets[str(key)] = (body, line)
        return targets
    for block in parse(text).blocks:
        if block.type == "target" and len(block.labels) == 1 and isinstance(block.body, dict):
            targets[block.labels[0]] = (block.body, block.span.line)
    return targets


def _inherited(
    targets: dict[str, tuple[dict[str, Any], int]], name: str, depth: int
) -> dict[str, Any]:
    """A target's settings over those of the targets it `inherits` (a later one wins; args
    are merged key by key)."""
    body = targets[name][0] if name in targets else {}
    merged: dict[str, Any] = {"args": {}}
    parents = body.get("inherits")
    for parent in parents if isinstance(parents, list) and depth < 4 else []:
        inherited = _inherited(targets, _text(parent), depth + 1)
        args = {**merged["args"], **inherited.pop("args")}
        merged.update(inherited)
        merged["args"] = args
    own = body.get("args")
    merged.update({key: value for key, value in body.items() if key != "args"})
    merged["args"] = {**merged["args"], **(own if isinstance(own, dict) else {})}
    return merged


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
