"""The manifests a CI step fills with envsubst, judged with the values its environment gives.

A manifest written for envsubst is judged as envsubst fills it with no variable set (its
defaults: see envsubst). But a step that runs `envsubst < deploy/agent.yaml | kubectl apply
-f -` fills it from the workflow's, job's and step's `env:` (and what its script exports
before): `hostPID: ${DEBUG:-false}` under `env: {DEBUG: "true"}` put the pod on the host's PID
namespace with no finding (red team s14 v03). Each such file is judged again with the values
written in the CI file, as that step deploys it. A value CI computes (`${{ vars.X }}`, `$X`)
is not known here: a placeholder of such a variable whose default is `true` or `false` is a
switch the repository's settings flip without a review, so the file is judged once more with
each such switch the other way (`hostPID: ${NODE_ACCESS:-false}` under `NODE_ACCESS: ${{
vars.NODE_ACCESS }}` is judged true too); other computed values keep their defaults.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from gatekeeper import lazy_re
from gatekeeper.document import Document, Loaded
from gatekeeper.sources import LoadContext, envsubst
from gatekeeper.tree import Tree, inside
from gatekeeper.yamldoc import NodeLocator, YamlDocument, decode, load_all

# `envsubst < file` (every variable: no SHELL-FORMAT argument), or `cat file | envsubst`.
_FED = lazy_re.compile(
    r"""\benvsubst\s*<\s*['"]?([^\s'"|;&<>]+)|\bcat\s+['"]?([^\s'"|;&<>]+)['"]?\s*\|\s*envsubst\s*(?:$|[|;&>)])""",
    re.MULTILINE,
)
_NAME = lazy_re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# `${NAME}`, `${NAME:-default}` (and -, =, :=), or `$NAME`: what envsubst replaces.
_VARIABLE = lazy_re.compile(
    r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-=][^}]*)?\}|\$([A-Za-z_][A-Za-z0-9_]*)"
)


def renderings(workflow: Document, context: LoadContext) -> Loaded:
    """The objects of each manifest a step pipes through envsubst, filled with the values
    the CI file gives the step, where they differ from its defaults' filling (and with the
    switches CI computes turned the other way: see the module's docstring)."""
    loaded = Loaded()
    tree = context.tree
    for job_id, file, given, computed in _filled_files(workflow, tree):
        label = f"deployed by {workflow.file}:{job_id} (envsubst)"
        text = decode(tree.read(file))
        substituted = _substituted(text, given)
        if substituted != text:  # (none of its variables given: the file's own scan says it)
            _add_filled(loaded, file, substituted, label)
        switched = _switched(substituted, computed)
        if switched != substituted:
            names = ", ".join(sorted(_switch_names(substituted, computed)))
            _add_filled(loaded, file, switched, f"{label}, {names} as CI may set it")
    return loaded


def _add_filled(loaded: Loaded, file: str, substituted: str, label: str) -> None:
    """The objects of `file` as `substituted` fills it, each labelled with how it was."""
    from gatekeeper.sources.kubernetes import add_items, is_object, make_document
    from gatekeeper.sources.lists import is_list

    for index, entry in enumerate(load_all(file, substituted)):
        if not isinstance(entry, YamlDocument) or not is_object(entry.obj):
            continue
        filled, _ = envsubst.filled(entry)  # what no variable fills: its default
        made = Loaded()
        locator = NodeLocator(file, filled.node)
        if is_list(filled.obj):
            add_items(made, file, filled.obj, locator, index)
        else:
            made.documents.append(make_document(file, filled.obj, locator, index))
        for document in made.documents:
            document.extra["variant"] = label
        loaded.documents.extend(made.documents)


def _substituted(text: str, given: dict[str, str]) -> str:
    """The text with the placeholders of the variables `given` filled, as envsubst fills
    them before anything parses it (a value may sit in a flow mapping, or make a key); the
    others stay as written. Values hold no line break, so every line stays where it was."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        known = given.get(name)
        return match.group(0) if known is None or "\n" in known else known

    return _VARIABLE.sub(value, text)


# `${NAME:-true}` / `${NAME-false}` ...: a placeholder whose default is a boolean.
_SWITCH = lazy_re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*):?-(true|false)\}")


def _switched(text: str, computed: set[str]) -> str:
    """The text with each boolean placeholder of a variable CI computes set to the other
    value than its default (true for `${X:-false}`): what the settings may make it."""

    def other(match: re.Match[str]) -> str:
        if match.group(1) not in computed:
            return match.group(0)
        return "false" if match.group(2) == "true" else "true"

    return _SWITCH.sub(other, text)


def _switch_names(text: str, computed: set[str]) -> set[str]:
    return {name for name, _ in _SWITCH.findall(text) if name in computed}


def inputs(workflow: Document, tree: Tree) -> Iterator[str]:
    """The manifests the CI file's steps fill with envsubst (dependency inputs, depgraph)."""
    for _, file, _, _ in _filled_files(workflow, tree):
        yield file


def _filled_files(
    workflow: Document, tree: Tree
) -> Iterator[tuple[str, str, dict[str, str], set[str]]]:
    """(job id, manifest, the variables the step sets as written, the variables it sets to
    what CI computes) of each `envsubst < manifest`."""
    obj = workflow.obj if isinstance(workflow.obj, dict) else {}
    jobs = obj.get("jobs")
    seen: set[tuple[str, str]] = set()
    for job_id, job in jobs.items() if isinstance(jobs, dict) else []:
        steps = job.get("steps") if isinstance(job, dict) else None
        for step in steps if isinstance(steps, list) else []:
            script = step.get("run") if isinstance(step, dict) else None
            if not isinstance(script, str) or "envsubst" not in script:
                continue
            given, computed = runner_env(obj, job, step)
            for match in _FED.finditer(script):
                file = _in_folder(step, job, script, match, tree)
                if file and tree.exists(file) and (str(job_id), file) not in seen:
                    seen.add((str(job_id), file))
                    yield str(job_id), file, given, computed


def runner_env(
    obj: dict[str, Any], job: Any, step: dict[str, Any]
) -> tuple[dict[str, str], set[str]]:
    """The variables a step's commands run with as CI writes them (the workflow's, job's and
    step's `env:` / `variables:`, the script's `export NAME=value`), and the names it sets
    to what CI computes (`${{ vars.X }}`)."""
    given = {**_plain_env(obj), **_plain_env(job), **sent_to_github_env(job, step)}
    given.update(_plain_env(step))
    given.update(_exported(step))
    computed = (_computed_env(obj) | _computed_env(job) | _computed_env(step)) - set(given)
    return given, computed


def sent_to_github_env(job: Any, step: dict[str, Any]) -> dict[str, str]:
    """What the job's earlier steps wrote to $GITHUB_ENV (`echo "PRIV=true" >>
    "$GITHUB_ENV"`): the runner sets it for every later step, under the step's own `env:`."""
    from gatekeeper.sources.workflow_values import written

    steps = job.get("steps") if isinstance(job, dict) else None
    found: dict[str, str] = {}
    for earlier in steps if isinstance(steps, list) else []:
        if earlier is step:
            break
        script = earlier.get("run") if isinstance(earlier, dict) else None
        if isinstance(script, str) and "GITHUB_ENV" in script:
            found.update({k: v for k, v in written(script, {})[1].items() if "$" not in v})
    return found


_ASSIGNED = lazy_re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", re.S)


def assigned(command: dict[str, Any]) -> dict[str, str]:
    """The variables a command line sets for its program (`PRIV=true docker compose up`,
    `env PRIV=true docker compose up`), with values written as they are."""
    found: dict[str, str] = {}
    for word in [str(word) for word in command.get("argv") or []]:
        if word == str(command.get("program")):
            break
        match = _ASSIGNED.fullmatch(word)
        if match and "$" not in match.group(2):
            found[match.group(1)] = match.group(2)
    return found


def _in_folder(
    step: dict[str, Any], job: dict[str, Any], script: str, match: re.Match[str], tree: Tree
) -> str | None:
    """The manifest an `envsubst < FILE` of the step's script names, read from the folder
    the command on its line runs in (shell_dirs: `cd deploy && envsubst < app.yaml`)."""
    from gatekeeper import shell, shell_dirs
    from gatekeeper.sources.workflow_scripts import file_reader, step_folder

    written = match.group(1) or match.group(2)
    line = script.count("\n", 0, match.start())
    place = shell_dirs.Place(step_folder(step, job), files=file_reader(tree))
    folders = [
        command.directory
        for command in shell.commands(script, place=place)
        if command.program in ("envsubst", "cat") and command.line == line
    ]
    folder = folders[0] if folders else "."
    if folder == ".":
        return inside(written)
    resolved = shell_dirs.resolve(folder, written)
    if not shell_dirs.known(resolved) or resolved is None or resolved.startswith("/"):
        return None
    return inside(resolved)


def _plain_env(holder: Any) -> dict[str, str]:
    """An `env:` / `variables:` mapping's values written as they are (not `${{ }}`, `$X`)."""
    env = holder.get("env", holder.get("variables")) if isinstance(holder, dict) else None
    if not isinstance(env, dict):
        return {}
    return {
        str(name): _text(value)
        for name, value in env.items()
        if _NAME.fullmatch(str(name)) and _known(value)
    }


def _computed_env(holder: Any) -> set[str]:
    """The names an `env:` / `variables:` mapping sets to what CI computes (`${{ }}`, `$X`)."""
    env = holder.get("env", holder.get("variables")) if isinstance(holder, dict) else None
    if not isinstance(env, dict):
        return set()
    return {str(name) for name, value in env.items() if _NAME.fullmatch(str(name))} - set(
        _plain_env(holder)
    )


def _exported(step: dict[str, Any]) -> dict[str, str]:
    """`export NAME=value` lines of the step's script, with a value written as it is."""
    found: dict[str, str] = {}
    for command in step.get("commands") or []:
        if not isinstance(command, dict) or command.get("program") != "export":
            continue
        for word in command.get("args") or []:
            name, equals, value = str(word).partition("=")
            if equals and _NAME.fullmatch(name) and "$" not in value:
                found[name] = value
    return found


def _known(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool)) and "$" not in str(value)


def _text(value: Any) -> str:
    """A YAML scalar as the runner puts it in the environment (`true`, not `True`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
