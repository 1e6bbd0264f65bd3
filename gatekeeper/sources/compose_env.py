"""The values Compose fills a compose file's `${VAR}` with, from the files of the repository.

Compose (compose-go) interpolates a compose file with the variables of its environment and of
the `.env` file in the project directory (the folder of the first `-f` file), or of the
`--env-file` files instead when the command gives some; `env_file:` is a container's
environment only, never interpolation. `privileged: ${PRIV:-false}` beside a `.env` saying
`PRIV=true` runs privileged, and was judged as the string it is written as. A compose file is
judged with its `.env`, over which the `--env-file` files CI runs it with win, and over those
the environment of the CI step running it (compose-go reads the process environment first
and adds a file's value only where it has none): the workflow's, job's and step's `env:`
(GitLab `variables:`), `export NAME=value` and `NAME=value docker compose up` (the deployed
values; several such commands: the later's). A boolean field wholly made of a variable CI
computes (`PRIV: ${{ vars.PRIV }}`) is judged the other way than its default, as a
repository setting may make it. A variable nothing sets keeps its `${...}` as written.
"""

from __future__ import annotations

import contextlib
import posixpath
import re
import weakref
from typing import Any

from gatekeeper import lazy_re, ownership, shell_dirs
from gatekeeper.fieldpath import Path
from gatekeeper.tree import Tree

_DOTENV_LINE = lazy_re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*[=:]\s?(.*)$")
# `$$`, `${NAME}`, `${NAME:-x}` (also -, :+, +, :?, ?) and `$NAME`.
_EXPRESSION = lazy_re.compile(
    r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)"
)
# Compose's boolean fields a filled string is cast for (compose-go's schema casts).
_BOOLEANS = frozenset(
    {"privileged", "read_only", "tty", "stdin_open", "init", "oom_kill_disable", "external"}
)
_TRUE = frozenset({"true", "yes", "y", "on"})
# A value wholly one variable, with or without a default: `${PRIV}`, `${PRIV:-false}`.
_SWITCH = lazy_re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)(?::?-([A-Za-z]*))?\}?")
_FALSE = frozenset({"false", "no", "n", "off"})


class Env(dict[str, str]):
    """Variables Compose fills `${VAR}` with, and where each is written (`origins`: name ->
    `deploy/.env:2`): a secret a `.env` fills is reported where it is written."""

    def __init__(self, values: dict[str, str] | None = None, origins: dict[str, str] | None = None):
        super().__init__(values or {})
        self.origins: dict[str, str] = dict(origins or {})

    def over(self, other: dict[str, str]) -> None:
        """`other`'s variables win over these (and their origins, when it knows them)."""
        self.update(other)
        for name in other:
            self.origins.pop(name, None)
        self.origins.update(getattr(other, "origins", {}))


def dotenv(text: str, file: str = "") -> Env:
    """The variables of a `.env` file, as compose-go's dotenv reads them: `KEY=value` (or
    `export KEY=value`, `KEY: value`), comments, single quotes taken as they are, double
    quotes with escapes, `${OTHER}` of earlier keys filled in unquoted and double-quoted
    values. With `file`, each variable's origin is `file:line` (its last assignment)."""
    found = Env()
    for number, line in enumerate(text.replace("\r\n", "\n").split("\n"), 1):
        match = _DOTENV_LINE.match(line)
        if match is None or line.lstrip().startswith("#"):
            continue
        name, raw = match.group(1), match.group(2).strip()
        if file:
            found.origins[name] = f"{file}:{number}"
        if raw[:1] == "'":
            end = raw.find("'", 1)
            found[name] = raw[1:end] if end > 0 else raw[1:]
            continue
        if raw[:1] == '"':
            end = raw.find('"', 1)
            while end > 0 and raw[end - 1] == "\\":
                end = raw.find('"', end + 1)
            value = raw[1:end] if end > 0 else raw[1:]
            value = value.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
        else:
            value = re.split(r"\s+#", raw, maxsplit=1)[0].strip()
        found[name] = _filled(value, found)[0]
    return found


def project_env(tree: Tree, compose_file: str) -> Env:
    """The variables of the `.env` beside a compose file (its project directory when run
    alone or first), empty when there is none."""
    folder = posixpath.dirname(compose_file)
    name = posixpath.join(folder, ".env") if folder else ".env"
    try:
        if not tree.exists(name):
            return Env()
        return dotenv(tree.read(name).decode("utf-8", "replace"), name)
    except OSError:
        return Env()


# Where a CI command runs a compose file, the variables it gives it (its `--env-file`
# files', its environment's over them) and the names its environment sets to computed values.
CiEnv = tuple[str, dict[str, str], frozenset[str]]


def ci_env_files(tree: Tree) -> dict[str, list[CiEnv]]:
    """Per compose file, the variables CI runs it with (`docker compose --env-file
    deploy/prod.env up`, a step's `env: {PRIV: "true"}`), by command."""
    found: dict[str, list[CiEnv]] = {}
    for where, files, env, computed in _ci_compose_commands(tree):
        for file in files:
            if env is not None:
                found.setdefault(file, []).append((where, env, computed))
    return found


_RUN: weakref.WeakKeyDictionary[Any, dict[str, str]] = weakref.WeakKeyDictionary()


def run_otherwise(tree: Tree) -> dict[str, str]:
    """The files Compose runs under a name no adapter reads as a compose file's, each with
    the file that makes it run: `docker compose -f deploy/stack.yml up` of CI (from the
    folder the command runs in), `COMPOSE_FILE=deploy/stack.yml` (`:`-separated) of a
    `.env` (from its folder, where `docker compose` reads it) or of a workflow's env. Nothing
    judged them: a privileged service there passed green. Found once per tree."""
    from gatekeeper.sources.compose import detect

    try:
        if tree in _RUN:
            return _RUN[tree]
    except TypeError:
        pass
    named: dict[str, str] = {}
    for where, files, _, _ in _ci_compose_commands(tree):
        for file in files:
            named.setdefault(file, where.rpartition(":")[0])
    for name in ownership.of(tree).named_below("", frozenset({".env"})):
        try:
            given = dotenv(tree.read(name).decode("utf-8", "replace")).get("COMPOSE_FILE", "")
        except OSError:
            continue
        folder = posixpath.dirname(name) or "."
        for file in given.split(":") if given else []:
            path = _joined(folder, file.strip())
            if path:
                named.setdefault(path, name)
    # Any name: Compose reads YAML (or JSON) whatever the file is called (`-f
    # deploy/stack.conf`, COMPOSE_FILE=compose.yaml:ops/extra.txt merged a privileged
    # service with a green check: red team s21 trust14 c06).
    found = {file: by for file, by in named.items() if not detect(file) and tree.exists(file)}
    with contextlib.suppress(TypeError):
        _RUN[tree] = found
    return found


def _ci_compose_commands(
    tree: Tree,
) -> list[tuple[str, list[str], dict[str, str] | None, frozenset[str]]]:
    """(where, compose files, the variables it runs them with or None, the names its
    environment computes) of every `docker compose` command of the tree's CI files."""
    from gatekeeper.sources import workflow
    from gatekeeper.sources.workflow_envsubst import assigned, runner_env

    found = []
    for document in workflow.workflows(tree):
        obj = document.obj if isinstance(document.obj, dict) else {}
        jobs = obj.get("jobs")
        for job in jobs.values() if isinstance(jobs, dict) else []:
            steps = job.get("steps") if isinstance(job, dict) else None
            for step in steps if isinstance(steps, list) else []:
                for command in step.get("commands") or [] if isinstance(step, dict) else []:
                    given = _compose_command(command, tree)
                    if given is None:
                        continue
                    where = f"{command.get('file') or document.file}:{command['line']}"
                    runner, computed = runner_env(obj, job, step)
                    runner.update(assigned(command))  # `PRIV=true docker compose up`
                    files, env = given
                    switched = frozenset(computed - set(runner))
                    if runner or switched:  # the process environment wins over the env files
                        merged = Env(env or {}, getattr(env, "origins", {}))
                        merged.over(runner)
                        env = merged
                    found.append((where, files, env, switched))
    return found


def _compose_command(
    command: dict[str, Any], tree: Tree
) -> tuple[list[str], dict[str, str] | None] | None:
    """The compose files a `docker compose` (`docker-compose`) command reads, and the
    variables its `--env-file` files set (None without any); None for any other command."""
    words = [str(word) for word in command.get("args") or []]
    program = str(command.get("program") or "")
    if program == "docker" and words[:1] == ["compose"]:
        words = words[1:]
    elif program != "docker-compose":
        return None
    folder = command.get("directory", ".")
    files: list[str] = []
    env_files: list[str] = []
    project = ""  # `--project-directory`: where Compose reads the .env
    for index, word in enumerate(words):
        name, equals, value = word.partition("=")
        if name in ("-f", "--file", "--env-file", "--project-directory"):
            value = value if equals else (words[index + 1] if index + 1 < len(words) else "")
            if name == "--project-directory":
                project = value
            else:
                (env_files if name == "--env-file" else files).append(value)
    if project and not env_files:  # its .env, not the one beside the compose file
        env_files = [posixpath.join(project, ".env")]
    if not files:
        files = [
            next(
                (n for n in ("compose.yaml", "compose.yml", "docker-compose.yaml",
                             "docker-compose.yml") if tree.exists(_joined(folder, n) or "")),
                "compose.yaml",
            )
        ]  # fmt: skip
    located = [path for path in (_joined(folder, file) for file in files) if path]
    if not env_files:
        return located, None
    env = Env()
    for given in env_files:
        path = _joined(folder, given)
        try:
            if path and tree.exists(path):
                env.over(dotenv(tree.read(path).decode("utf-8", "replace"), path))
        except OSError:
            continue
    return located, env


def _joined(folder: Any, path: str) -> str | None:
    resolved = shell_dirs.resolve(folder if isinstance(folder, str) else None, path)
    return resolved if shell_dirs.known(resolved) and not str(resolved).startswith("/") else None


def interpolated(
    value: Any, env: dict[str, str], key: str = "", computed: frozenset[str] = frozenset()
) -> Any:
    """`value` (a compose file's object) with each `${VAR}` that `env` sets filled in as
    Compose fills it; a boolean field wholly filled is cast (`privileged: ${PRIV}`), and
    one wholly made of a variable of `computed` is the other way than its default."""
    if isinstance(value, dict):
        return {k: interpolated(v, env, str(k), computed) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolated(item, env, key, computed) for item in value]
    if not isinstance(value, str) or "$" not in value:
        return value
    switch = _SWITCH.fullmatch(value.strip()) if computed and key in _BOOLEANS else None
    if switch is not None and switch.group(1) in computed:
        return (switch.group(2) or "false").lower() not in _TRUE  # the other than the default
    text, changed = _filled(value, env)
    if changed and key in _BOOLEANS and text.strip().lower() in _TRUE | _FALSE:
        return text.strip().lower() in _TRUE
    return text if changed else value


def filled_names(value: Any, env: dict[str, str], path: Path = ()) -> dict[Path, list[str]]:
    """Per path of a compose file's object (as written), the variables of `env` its string
    is filled with: where a filled value comes from (Env.origins)."""
    found: dict[Path, list[str]] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            found.update(filled_names(item, env, (*path, str(key))))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.update(filled_names(item, env, (*path, index)))
    elif isinstance(value, str) and "$" in value:
        names = [
            name
            for match in _EXPRESSION.finditer(value)
            for name in (match.group(1) or match.group(4),)
            if name in env
        ]
        if names:
            found[path] = list(dict.fromkeys(names))
    return found


def _filled(text: str, env: dict[str, str]) -> tuple[str, bool]:
    """`text` with the expressions of variables `env` sets filled in (and whether any was)."""
    changed = False

    def fill(match: re.Match[str]) -> str:
        nonlocal changed
        if match.group(0) == "$$":
            return match.group(0)
        name = match.group(1) or match.group(4)
        if name not in env:
            return match.group(0)
        changed = True
        value, operator, word = env[name], match.group(2) or "", match.group(3) or ""
        if operator == ":-":
            return value or word
        if operator == ":+":
            return word if value else ""
        if operator == "+":
            return word
        return value  # `-`, `?`, `:?` (set: the value), or plain

    return _EXPRESSION.sub(fill, text), changed
