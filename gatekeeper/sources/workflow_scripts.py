"""Follow a CI step into the repository's own scripts and Makefile targets.

`run: make deploy` or `run: ./hack/deploy.sh` hides the `kubectl apply` from a rule that reads
only the workflow. For each command of a step that runs a script of this repository (a path,
or `bash`/`sh`/`source` of one) or a `make` target of a Makefile here, the commands of that
script or recipe (and of the scripts and targets they run in turn, a few levels deep) join
the step's commands. Each keeps its own file and line, and says which step command led to it
(`via`), so a finding points at the script line. Throwaway clusters that a followed script
creates (`make dev-env` starting kind) count for the job, as if the step had created them.
Nothing is run; files outside the repository are never read.
"""

from __future__ import annotations

import fnmatch
import functools
import itertools
import json
import posixpath
import re
from collections.abc import Callable, Sequence
from typing import Any

from gatekeeper import lazy_re, shell, shell_dirs
from gatekeeper.linemap import LineMapLocator
from gatekeeper.tree import Tree, inside
from gatekeeper.yamldoc import NodeLocator, YamlDocument, is_lfs_pointer, load_all

MAX_DEPTH = 3
MAX_COMMANDS = 2000  # commands followed for one workflow
MAX_GLOBBED = 50  # scripts one glob runs that are followed
# sub-makes of one Makefile read in place, one inside another; past it each is a level deeper
# (then opaque past MAX_DEPTH): a chain of 3,000 targets each making the next overflowed
_MAX_SUBMAKES = 32
_MAKE_ASSIGN = lazy_re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*(?:\?|:|::|\+)?=\s*(.*)$")
_MAKE_RULE = lazy_re.compile(r"^([^\s:=#][^:=#]*?)\s*::?(?!=)(.*)$")
_MAKE_VAR = lazy_re.compile(r"\$[({]([A-Za-z_][A-Za-z0-9_]*)[)}]")
# `$(addprefix docker-build-,core kubeadm)` once its variables are in: the names a recipe's
# `$(MAKE) ARCH=x $(addprefix docker-build-,$(ALL_DOCKER_BUILD))` makes (cluster-api)
_MAKE_AFFIX = lazy_re.compile(r"\$[({](addprefix|addsuffix)\s+([^,()${}]*),([^()${}]*)[)}]")
_SOURCES = frozenset({"source", "."})
# A script's text given to a shell whole (red team s23 trust17 c04: these ran unread):
# `$(cat x.sh)`, `$(< x.sh)`, `<(cat x.sh)`, `` `cat x.sh` ``.
_CATTED = lazy_re.compile(r"(?:[$<]\(|`)\s*(?:cat\s+(?:--\s+)?|<\s*)([^\s$;|&()`<>]+)\s*(?:\)|`)")
# name -> (what it needs first, its command lines with their 1-based line numbers)
Recipes = dict[str, tuple[list[str], list[tuple[int, str]]]]
# The text of a repository file by its path (None: not one), for the scripts CI sources.
Files = Callable[[str], str | None] | None


def file_reader(tree: Tree | None) -> Files:
    """Read `tree`'s files for the scripts a CI script sources (`. ci/env.sh`): their `cd`
    and variables last in the sourcing shell (shell_dirs.sourced); a Git LFS pointer is not
    the script that runs."""
    if tree is None:
        return None
    held = tree

    def read(path: str) -> str | None:
        name = inside(path)
        if name is None or not held.exists(name):
            return None
        try:
            data = held.read(name)
        except OSError:
            return None
        return None if is_lfs_pointer(data) else data.decode("utf-8", "replace")

    return read


def follow_all(
    obj: dict[str, Any],
    locator: LineMapLocator,
    tree: Tree,
    creates_cluster: Callable[[dict[str, Any]], bool],
) -> None:
    """Add the followed commands to every step of every job of a built workflow object."""
    jobs = obj.get("jobs")
    budget = [MAX_COMMANDS]
    for job_id, job in jobs.items() if isinstance(jobs, dict) else []:
        steps = job.get("steps") if isinstance(job, dict) else None
        ephemeral = False
        for index, step in enumerate(steps if isinstance(steps, list) else []):
            commands = step.get("commands") if isinstance(step, dict) else None
            if not isinstance(commands, list) or not commands:
                continue
            directory = working_directory(step, job)
            added: list[dict[str, Any]] = []
            for at, command in enumerate(commands):
                before = _line_before(commands, at)
                for found in _follow(command, directory, tree, 1, budget, before):
                    if "file" not in found:  # (_unfollowed: the step's own command)
                        command.update(opaque=True, text=found["text"], name=found["text"])
                        continue
                    added.append({**found, "context": command["context"], "via": command["text"]})
            for number, command in enumerate(added, start=len(commands)):
                locator.add(
                    ("jobs", job_id, "steps", index, "commands", number),
                    command["line"],
                    file=command["file"],
                )
            commands.extend(added)
            ephemeral = ephemeral or any(creates_cluster(command) for command in added)
        if ephemeral:
            for step in steps if isinstance(steps, list) else []:
                if isinstance(step, dict) and isinstance(step.get("context"), dict):
                    step["context"]["ephemeralCluster"] = True


# A command's flags that aim it at a cluster of their own (`kubectl --context prod`), unless
# they name a local one: the imperative-deploy rule's test (allowEphemeralClusters).
_AIMED = lazy_re.compile(
    r"^(--context|--kubeconfig|--server|-s|--cluster|--kube-context|--kube-apiserver"
    r"|--kube-token|--token)(=|$)"
)
_LOCAL = lazy_re.compile(
    r"^--[a-z-]+=.*(kind|k3d|k3s|minikube|microk8s|docker-desktop|rancher-desktop)"
)


def throwaway(*holders: dict[str, Any]) -> bool:
    """Does a command (with its step) only test against a throwaway cluster: the workflow
    source's `context.ephemeralCluster` (kind, k3d, minikube... started in the job), and no
    flag of the command aims it at another cluster (`kubectl --context prod` after `kind
    create cluster` applies to prod: red team s18 z05)?"""
    for holder in holders:
        flags = [str(flag) for flag in holder.get("flags") or []]
        if any(_AIMED.match(flag) and not _LOCAL.match(flag) for flag in flags):
            return False
    for holder in holders:
        context = holder.get("context")
        if isinstance(context, dict) and context.get("ephemeralCluster") is True:
            return True
    return False


def steps(obj: Any) -> list[tuple[str, dict[str, Any], int, dict[str, Any]]]:
    """(job id, job, step number, step) of every step of a loaded CI file's object."""
    found = []
    jobs = obj.get("jobs") if isinstance(obj, dict) else None
    for job_id, job in jobs.items() if isinstance(jobs, dict) else []:
        listed = job.get("steps") if isinstance(job, dict) else None
        for number, step in enumerate(listed if isinstance(listed, list) else []):
            if isinstance(step, dict):
                found.append((str(job_id), job, number, step))
    return found


def step_folder(step: dict[str, Any], job: dict[str, Any]) -> str | None:
    """The folder a step's script starts in (shell_dirs): its `working-directory`, else
    the job's defaults, else the root; None when an expression computes it."""
    for holder in (step, job):
        value = holder.get("working-directory")
        if isinstance(value, str):
            return shell_dirs.resolve(".", value)
    defaults = job.get("defaults")
    run = defaults.get("run") if isinstance(defaults, dict) else None
    value = run.get("working-directory") if isinstance(run, dict) else None
    if isinstance(value, str):
        return shell_dirs.resolve(".", value)
    return "."


def working_directory(step: dict[str, Any], job: dict[str, Any]) -> str:
    for holder in (step, job):
        value = holder.get("working-directory")
        if isinstance(value, str) and "${{" not in value:
            return posixpath.normpath(value)
    defaults = job.get("defaults")
    run = defaults.get("run") if isinstance(defaults, dict) else None
    value = run.get("working-directory") if isinstance(run, dict) else None
    return posixpath.normpath(value) if isinstance(value, str) and "${{" not in value else "."


def _follow(
    command: dict[str, Any],
    directory: str,
    tree: Tree,
    depth: int,
    budget: list[int],
    before: Sequence[dict[str, Any]] = (),
) -> list[dict[str, Any]]:
    """What `command` runs of the repository; `before`: the commands before it on its line
    (a `find` or `ls` listing the files it runs)."""
    if budget[0] < 0:  # the rest is said once, by the command the budget ran out at
        return []
    folder = command.get("directory", directory)  # where the command runs: shell_dirs
    if shell_dirs.known(folder) and not str(folder).startswith("/"):
        directory = str(folder)  # else (computed, outside) the best guess: where it began
    from gatekeeper.sources import workflow_listings as listings  # (it imports this module)

    fed = listings.fed_runs(command, before, directory, tree)
    if fed is not None:
        return _follow_each(fed, directory, tree, depth, budget)
    program = str(command.get("program") or "")
    if program == "run-parts":
        return _follow_each(
            listings.run_parts(command, directory, tree), directory, tree, depth, budget
        )
    positional = [str(word) for word in command.get("positional") or []]
    runner = program in ("make", "gmake", "just", "task", "go-task", *_PACKAGE_MANAGERS)
    script, language = ("", "") if runner else script_of(program, positional, command)
    listing = listings.LISTING_WORD.fullmatch(script.removeprefix("./")) if script else None
    listed = (
        listings.listing_runs(command, script, listing[1], directory, tree) if listing else None
    )
    if listed is not None:  # `for s in $(find hack -name '*.sh'); do bash "$s"; done`
        return _follow_each(listed, directory, tree, depth, budget)
    # `$GITHUB_WORKSPACE/hack/x.sh`, `$(git rev-parse --show-toplevel)/...`: the root
    resolved = shell_dirs.resolve(directory, script) if script else None
    path = inside(resolved) if resolved and "$" not in resolved else None
    if path is not None and any(c in path for c in "*?[") and program not in _INTERPRETERS:
        # `for s in hack/*.sh; do bash "$s"; done` (the loop's words are its commands'):
        # each script the glob names runs (red team s23 trust17 c04)
        globbed: list[dict[str, Any]] = []
        named_by = matching(tree, path)
        if len(named_by) > MAX_GLOBBED:  # the rest run unread: said, not skipped
            text = f"{command.get('text', '')} (more than {MAX_GLOBBED} scripts, not followed)"
            globbed.append({**command, "opaque": True, "text": text, "name": text})
        for each in named_by[:MAX_GLOBBED]:
            named = posixpath.relpath(each, directory)
            if program in shell.SHELLS or program in _SOURCES:
                one = {**command, "positional": [named, *positional[1:]]}
            else:  # `./hack/*.sh` as the program
                one = {**command, "program": posixpath.basename(each), "argv": ["./" + named]}
            globbed.extend(_follow(one, directory, tree, depth, budget))
        return globbed
    if not runner and (path is None or not tree.exists(path)):
        return []
    if depth > MAX_DEPTH or budget[0] == 0:  # it runs more: not followed, so not judged
        return [_unfollowed(command, budget)]
    if program in ("make", "gmake"):
        return _make(command, directory, tree, depth, budget)
    if program in ("just", "task", "go-task"):
        return _runner(program, command, directory, tree, depth, budget)
    if program in _PACKAGE_MANAGERS:
        return _package_script(command, directory, tree, depth, budget)
    assert path is not None
    try:
        data = tree.read(path)
    except OSError:
        return []
    if is_lfs_pointer(data):  # checked out with `lfs: true`, it runs what git does not hold
        what = f"{program} {script} (a Git LFS pointer: the script is not in the repository)"
        opaque = shell.Command([program, script], 0, what, program, opaque=True)
        return _take(opaque.as_dict(), path, 1, budget)
    text = data.decode("utf-8", "replace")
    out: list[dict[str, Any]] = []
    found_all = _commands_of(tree, path, text, language or _language(path, text), directory)
    for at, found in enumerate(found_all):
        before = _line_before(found_all, at)
        out.extend(
            _take_and_follow(found, path, found.line + 1, directory, tree, depth, budget, before)
        )
    return out


def _line_before(
    commands: Sequence[dict[str, Any]] | Sequence[shell.Command], at: int
) -> list[dict[str, Any]]:
    """The commands before `commands[at]` on its line (and in its file): a `find` or `ls`
    there may list the files it runs. A step's commands (dicts) or a script's."""

    def place(command: dict[str, Any] | shell.Command) -> tuple[Any, Any]:
        if isinstance(command, dict):
            return command.get("line"), command.get("file")
        return command.line, None

    start = at
    while start > 0 and place(commands[start - 1]) == place(commands[at]):
        start -= 1
    return [c if isinstance(c, dict) else c.as_dict() for c in commands[start:at]]


def _follow_each(
    runs: list[dict[str, Any]], directory: str, tree: Tree, depth: int, budget: list[int]
) -> list[dict[str, Any]]:
    """What each of `runs` (a command once per file it is given) runs; an opaque one (past
    the files followed) as it is."""
    out: list[dict[str, Any]] = []
    for run in runs:
        out.extend([run] if run.get("opaque") else _follow(run, directory, tree, depth, budget))
    return out


def _unfollowed(command: dict[str, Any], budget: list[int]) -> dict[str, Any]:
    """`command`, opaque: what it runs is not followed, past MAX_DEPTH scripts or once the
    workflow's MAX_COMMANDS are taken (then said once). A deploy must not hide behind a
    fourth script, nor after 2,000 `echo` lines (red team s23, lead: both were green);
    the imperative-deploy rule judges it as code it cannot read. Its place is its caller's:
    the command's own line (see _take_and_follow; follow_all)."""
    if budget[0] == 0:
        budget[0] = -1
        why = f"and every command after it: more than {MAX_COMMANDS} in this workflow's scripts"
    else:
        why = f"run {MAX_DEPTH} scripts deep"
    text = f"{command.get('text', '')} ({why}, not followed)"
    return {**command, "opaque": True, "text": text, "name": text}


def _take_and_follow(
    found: shell.Command,
    file: str,
    line: int,
    directory: str,
    tree: Tree,
    depth: int,
    budget: list[int],
    before: Sequence[dict[str, Any]] = (),
) -> list[dict[str, Any]]:
    """A command of a followed file at its line, and what it runs in turn; one it does not
    follow (_unfollowed) is said at its own line. `before`: the commands before it on its
    line (_follow)."""
    out = _take(found.as_dict(), file, line, budget)
    for command in _follow(found.as_dict(), directory, tree, depth + 1, budget, before):
        out.append(command if "file" in command else {**command, "file": file, "line": line})
    return out


# Interpreters whose first positional word is a script of the repository, by language.
_INTERPRETERS = {
    **dict.fromkeys(("python", "python3", "python2", "pypy3", "uv", "poetry"), "python"),
    **dict.fromkeys(("node", "nodejs", "deno", "bun", "ts-node", "tsx"), "javascript"),
    **dict.fromkeys(("perl", "ruby", "php"), "code"),
    **dict.fromkeys(("pwsh", "powershell"), "shell"),
}
_SUBCOMMANDS = frozenset({"run", "exec"})  # `deno run x.ts`, `uv run x.py`, `poetry run`


def script_of(program: str, positional: list[str], command: dict[str, Any]) -> tuple[str, str]:
    """The repository script a command runs, and its language ("" for: by its name)."""
    flags = [str(flag) for flag in command.get("flags") or []]
    if program in shell.SHELLS or program in _SOURCES or program == "eval":
        first = positional[0] if positional else ""
        if (catted := _CATTED.fullmatch(first)) is not None:
            return catted.group(1), "shell"  # `eval "$(cat x.sh)"`, `source <(cat x.sh)`
        if program == "eval" or (program in shell.SHELLS and "-c" in flags):
            return "", ""  # `sh -c '...'` was split by shell.commands already
        reads = str(command.get("reads") or "")
        if program in shell.SHELLS and first in ("", "-") and reads:
            # `bash < x.sh`, `cat x.sh | sh -`: reads is from the root, the script from here
            folder = str(command.get("directory") or ".")
            return posixpath.relpath(reads, folder if shell_dirs.known(folder) else "."), "shell"
        return first, "shell"
    if program in _INTERPRETERS:
        if any(flag in ("-c", "-e", "-m", "-r", "--eval") for flag in flags):
            return "", ""  # inline code, split by shell.commands; a module is not a file
        words = positional[1:] if positional[:1] and positional[0] in _SUBCOMMANDS else positional
        words = words[1:] if program in ("uv", "poetry") and words[:1] == ["python"] else words
        script = words[0] if words else ""
        language = _INTERPRETERS[program]
        return script, "" if program in ("uv", "poetry") else language
    # the program as written (`./hack/deploy.sh`), not its base name
    argv = [str(word) for word in command.get("argv") or []]
    written = next((w for w in argv if posixpath.basename(w) == program), program)
    return (written if "/" in written or written.endswith(".sh") else ""), ""


def _language(path: str, text: str) -> str:
    """A script's language by its name, else its `#!` line; a shell script otherwise."""
    first = text.split("\n", 1)[0] if text.startswith("#!") else ""
    for suffixes, words, language in (
        ((".py",), ("python",), "python"),
        ((".js", ".mjs", ".cjs", ".ts"), ("node", "deno", "bun"), "javascript"),
        ((".pl", ".rb", ".php"), ("perl", "ruby", "php"), "code"),
    ):
        if path.endswith(suffixes) or any(word in first for word in words):
            return language
    return "shell"


def _commands_of(
    tree: Tree, path: str, text: str, language: str, directory: str
) -> tuple[shell.Command, ...]:
    """The commands of the script at `path` run from `directory`, read once per tree: rook's
    1,300-line tests/scripts/github-action-helper.sh, run by most steps of its workflows and
    by itself, was read 955 times (0.12 s each), 60 of the 62 s its scan took."""
    from gatekeeper import ownership

    def read(_tree: Tree, _key: str) -> tuple[shell.Command, ...]:
        script_dir = posixpath.dirname(path) or "."
        place = shell_dirs.Place(directory, script_dir=script_dir, files=file_reader(tree))
        return tuple(_script_commands(text, language, place))

    key = "\0".join((path, directory, language))
    commands: tuple[shell.Command, ...] = ownership.of(tree).remember("script commands", key, read)
    return commands


def _script_commands(text: str, language: str, place: shell_dirs.Place) -> list[shell.Command]:
    """The commands of a script that starts at `place` (its folder: where it was run)."""
    if language == "python":
        ran = shell.python_commands(text)
    elif language in ("javascript", "code"):
        ran = shell.code_commands(text)
    else:
        return shell.commands(text, place=place)
    for command in ran:
        command.directory = place.here
    return ran


def _take(command: dict[str, Any], file: str, line: int, budget: list[int]) -> list[dict[str, Any]]:
    if budget[0] < 0:
        return []
    if budget[0] == 0:  # the first command past the budget: it and the rest, opaque
        command = _unfollowed(command, budget)
    else:
        budget[0] -= 1
    return [{**command, "file": file, "line": line}]


def _make(
    command: dict[str, Any], directory: str, tree: Tree, depth: int, budget: list[int]
) -> list[dict[str, Any]]:
    """The recipes of the named targets (and their prerequisites) of a Makefile here."""
    argv = [str(word) for word in command.get("argv") or []]
    makefile, targets = "", []
    words = iter(argv[1:])
    for word in words:
        flag, equals, value = word.partition("=")
        if word in ("-C", "--directory"):
            directory = posixpath.join(directory, next(words, "."))
        elif word in ("-f", "--file", "--makefile"):
            makefile = next(words, "")
        # `--file=ops/deploy.mk`, `-fops/deploy.mk`, `-Cops`, `--directory=ops` (red team
        # s24 trust18 c05: the root Makefile was read instead)
        elif equals and flag in ("--directory",):
            directory = posixpath.join(directory, value)
        elif equals and flag in ("--file", "--makefile"):
            makefile = value
        elif word.startswith("-C") and len(word) > 2 and not word.startswith("--"):
            directory = posixpath.join(directory, word[2:])
        elif word.startswith("-f") and len(word) > 2 and not word.startswith("--"):
            makefile = word[2:]
        elif word.startswith("-") or "=" in word:
            continue
        else:
            targets.append(word)
    names = [makefile] if makefile else ["GNUmakefile", "makefile", "Makefile"]
    found = _recipe_file(tree, directory, names)
    if found is None:
        return []
    path, text = found
    rules, variables, default = _parse_makefile(text)
    rules, variables = dict(rules), dict(variables)  # (kept by the cache: not to be changed)
    where: dict[str, str] = {}
    for included in _make_includes(text, variables, directory, tree):
        more, more_variables, more_default = _parse_makefile(included[1])
        for name, rule in more.items():
            if name not in rules:  # the including file's own recipe wins
                rules[name] = rule
                where[name] = included[0]
        variables = {**more_variables, **variables}
        default = default or more_default  # (a file of includes only: the first included goal)

    def expand(line: str) -> str:
        expanded = _MAKE_VAR.sub(lambda m: variables.get(m.group(1), m.group(0)), line)
        expanded = _MAKE_AFFIX.sub(_affixed, expanded)
        return expanded.replace("$(MAKE)", "make").replace("${MAKE}", "make").lstrip("@-+ \t")

    pending = list(targets or ([default] if default else []))
    return _run_recipes(rules, pending, path, expand, tree, depth, budget, where)


# `include ops/*.mk` (also `-include`, `sinclude`): make reads those makefiles, relative to
# the folder it runs in, as part of this one (red team s22 trust15 c32: a deploy target in an
# included file was never read).
_MAKE_INCLUDE = lazy_re.compile(r"^\s*(?:-|s)?include\s+(.+)$", re.MULTILINE)
_MAX_INCLUDES = 32


def _affixed(match: re.Match[str]) -> str:
    """The words of make's `$(addprefix P,W)` / `$(addsuffix S,W)`, written out."""
    function, affix, words = match.group(1), match.group(2), match.group(3).split()
    if function == "addprefix":
        return " ".join(affix + word for word in words)
    return " ".join(word + affix for word in words)


def _make_includes(
    text: str, variables: dict[str, str], directory: str, tree: Tree
) -> list[tuple[str, str]]:
    """(path, text) of the makefiles `text` includes, and of those they include (each once,
    at most _MAX_INCLUDES); a name holding a variable make computes is left out."""
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    pending = [(text, variables)]
    while pending and len(found) < _MAX_INCLUDES:
        source, known = pending.pop(0)
        for match in _MAKE_INCLUDE.finditer(source):
            words = match.group(1).split("#", 1)[0].split()
            for word in words:
                word = _MAKE_VAR.sub(lambda m, held=known: held.get(m.group(1), m.group(0)), word)
                if "$" in word:
                    continue
                for name in matching(tree, posixpath.join(directory, word)):
                    if len(found) >= _MAX_INCLUDES:
                        continue
                    included = _first_read(tree, name, seen)
                    if included is None:
                        continue
                    found.append((name, included))
                    pending.append((included, {**_parse_makefile(included)[1], **known}))
    return found


def _first_read(tree: Tree, name: str, seen: set[str]) -> str | None:
    """The text of an included file the first time the walk meets it (marked `seen`); None
    after that, or when it cannot be read."""
    if name in seen:
        return None
    seen.add(name)
    try:
        return tree.read(name).decode("utf-8", "replace")
    except OSError:
        return None


def matching(tree: Tree, pattern: str) -> list[str]:
    """The files of the tree a path or glob (`ops/*.mk`) names, in order."""
    pattern = posixpath.normpath(pattern)
    name = inside(pattern)
    if name is None:
        return []
    if not any(c in name for c in "*?["):
        return [name] if tree.exists(name) else []
    folder, glob = posixpath.split(name)
    if any(c in folder for c in "*?["):
        return []  # a glob of folders: not followed
    try:
        listed = tree.list_dir(folder or ".")
    except OSError:
        return []
    return [
        entry
        for entry in listed
        if posixpath.dirname(entry) == folder
        and fnmatch.fnmatchcase(posixpath.basename(entry), glob)
    ]


def _recipe_file(tree: Tree, directory: str, names: Sequence[str]) -> tuple[str, str] | None:
    """The first of `names` in `directory` that the tree holds, and its text."""
    for name in names:
        path = inside(posixpath.join(directory, name))
        if path and tree.exists(path):
            try:
                return path, tree.read(path).decode("utf-8", "replace")
            except OSError:
                return None
    return None


def _run_recipes(
    recipes: Recipes,
    pending: list[str],
    path: str,
    expand: Callable[[str], str],
    tree: Tree,
    depth: int,
    budget: list[int],
    where: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The commands of the `pending` recipes and of those they depend on (each once), at
    their lines in `path` (or in the file `where` names for a recipe an included file
    holds), with what those commands run in turn.

    A recipe's `$(MAKE) TARGET` of this same Makefile (no -C or -f elsewhere) runs TARGET's
    recipe: read here, at this depth, not as a script deeper (cluster-api's release job goes
    release -> release-manifests -> manifest-modification -> set-manifest-image, all in its
    Makefile: 11 blocking "run 3 scripts deep, not followed" at recipes of that one file).
    Each target is read once per top-level make (`seen`), which also ends a target that
    makes itself; the sub-make command itself is kept, as before."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    base = posixpath.dirname(path) or "."  # each line is a shell of its own, there

    def run(queue: list[str], nested: int) -> None:
        while queue:
            name = queue.pop(0)
            if name in seen or name not in recipes:
                continue
            seen.add(name)
            needs, lines = recipes[name]
            queue[:0] = needs
            held = (where or {}).get(name, path)
            for number, line in lines:
                place = shell_dirs.Place(base, files=file_reader(tree))
                ran = shell.commands(expand(line), place=place)
                for index, found in enumerate(ran):
                    at = number + found.line  # (a continued line: the line it is on)
                    targets = _same_makefile_targets(found.as_dict(), base, path)
                    if targets is None or nested >= _MAX_SUBMAKES:  # past it: a level deeper
                        before = _line_before(ran, index)  # a find/ls listing what it runs
                        out.extend(
                            _take_and_follow(found, held, at, base, tree, depth, budget, before)
                        )
                    else:
                        out.extend(_take(found.as_dict(), held, at, budget))
                        run(targets, nested + 1)

    run(list(pending), 0)
    return out


def _same_makefile_targets(command: dict[str, Any], base: str, path: str) -> list[str] | None:
    """The targets a recipe's `make` command runs when it reads the Makefile at `path` again
    (run from its folder `base`, no -f naming another file), else None. Variables given on
    its command line are not read (the recipes are expanded with the file's own, as for the
    top-level make); a target named by a variable make computes is no target here."""
    program = str(command.get("program") or "")
    if program not in ("make", "gmake"):
        return None
    folder = command.get("directory", base)
    directory = str(folder) if shell_dirs.known(folder) else base
    makefile = ""
    targets: list[str] = []
    words = iter(str(word) for word in (command.get("argv") or [])[1:])
    for word in words:
        if word in ("-C", "--directory"):
            directory = posixpath.join(directory, next(words, "."))
        elif word in ("-f", "--file", "--makefile"):
            makefile = next(words, "")
        elif word.startswith("-") or "=" in word:
            continue
        elif "$" in word:
            return None
        else:
            targets.append(word)
    if posixpath.normpath(directory) != posixpath.normpath(base) or not targets:
        return None
    if makefile and posixpath.normpath(posixpath.join(directory, makefile)) != path:
        return None
    if not makefile and posixpath.basename(path) not in ("GNUmakefile", "makefile", "Makefile"):
        return None
    return targets


def _runner(
    program: str,
    command: dict[str, Any],
    directory: str,
    tree: Tree,
    depth: int,
    budget: list[int],
) -> list[dict[str, Any]]:
    """The recipes `just NAME` (a justfile) or `task NAME` (a Taskfile) runs, with what they
    depend on: each command at its line, as for `make`."""
    argv = [str(word) for word in command.get("argv") or []]
    words = argv[argv.index(program) + 1 :] if program in argv else argv[1:]
    files: tuple[str, ...] = _JUSTFILES if program == "just" else _TASKFILES
    names: list[str] = []
    given = iter(words)
    for word in given:
        flag, _, value = word.partition("=")
        if flag in _RUNNER_FILE_FLAGS:  # `just --justfile ops/justfile`, `task -t ci.yml`
            value = value or next(given, "")
            directory, name = posixpath.split(posixpath.join(directory, value))
            files = (name,)
        elif flag in _RUNNER_DIRECTORY_FLAGS:  # `just -d ops`, `task --dir ops`
            directory = posixpath.join(directory, value or next(given, "."))
        elif word.startswith("-") or "=" in word:
            continue
        elif program == "just" and "/" in word and not names:  # `just ops/deploy`
            folder, word = posixpath.split(word)
            directory = posixpath.join(directory, folder)
            names.extend([word] if word else [])
        else:
            names.append(word)
    found = _recipe_file(tree, directory, files)
    if found is None:
        return []
    path, text = found
    where: dict[str, str] = {}
    if program == "just":
        recipes, default, variables = _parse_justfile(text)
        for name, included in _just_imports(path, text, tree):
            more, _, more_variables = _parse_justfile(included)
            for recipe, body in more.items():
                if recipe not in recipes:
                    recipes[recipe], where[recipe] = body, name
            variables = {**more_variables, **variables}
    else:
        (recipes, default), variables = _parse_taskfile(path, text), {}
        for space, name, flat in _task_includes(path, text, tree):
            try:
                included = tree.read(name).decode("utf-8", "replace")
            except OSError:
                continue
            more, _ = _parse_taskfile(name, included)
            prefix = "" if flat else f"{space}:"
            for recipe, (needs, lines) in more.items():
                if prefix + recipe not in recipes:
                    recipes[prefix + recipe] = ([prefix + need for need in needs], lines)
                    where[prefix + recipe] = name

    def expand(line: str) -> str:
        """A recipe line with `{{ name }}` (just's interpolation) of its variables."""
        line = _JUST_INTERPOLATION.sub(lambda m: variables.get(m.group(1), m.group(0)), line)
        return line.lstrip("@-")

    pending = names or ([default] if default else [])
    return _run_recipes(recipes, pending, path, expand, tree, depth, budget, where)


# `import 'ops/deploy.just'` (`import?` when optional): just reads its recipes as the
# justfile's own, relative to the importing file (red team s22 trust15 c32).
_JUST_IMPORT = lazy_re.compile(r"""^import\??\s+(['"])(.+?)\1""", re.MULTILINE)


def _just_imports(path: str, text: str, tree: Tree) -> list[tuple[str, str]]:
    """(path, text) of the files a justfile imports, and of those they import (each once)."""
    found: list[tuple[str, str]] = []
    pending = [(path, text)]
    seen = {path}
    while pending and len(found) < _MAX_INCLUDES:
        importing, source = pending.pop(0)
        for match in _JUST_IMPORT.finditer(source):
            name = inside(posixpath.join(posixpath.dirname(importing), match.group(2)))
            if name is None or not tree.exists(name):
                continue
            read = _first_read(tree, name, seen)
            if read is None:
                continue
            found.append((name, read))
            pending.append((name, read))
    return found


def _task_includes(path: str, text: str, tree: Tree) -> list[tuple[str, str, bool]]:
    """(namespace, Taskfile path, flattened) of a Taskfile's `includes:` (a file, or a
    folder holding a Taskfile; `{taskfile: ..., flatten: true}`), relative to it: `task
    ops:deploy` runs the included file's `deploy` (red team s22 trust15 c32)."""
    found: list[tuple[str, str, bool]] = []
    for entry in load_all(path, text):
        if not isinstance(entry, YamlDocument) or not isinstance(entry.obj, dict):
            break
        includes = entry.obj.get("includes")
        for space, given in includes.items() if isinstance(includes, dict) else []:
            spec = given if isinstance(given, dict) else {"taskfile": given}
            written = spec.get("taskfile")
            if not isinstance(written, str) or "{{" in written:
                continue
            name = inside(posixpath.join(posixpath.dirname(path), written))
            if name is not None and not tree.exists(name):
                held = _recipe_file(tree, name, _TASKFILES)
                name = held[0] if held else None
            if name is not None and name != path:
                found.append((str(space), name, spec.get("flatten") is True))
        break
    return found


_JUSTFILES = ("justfile", "Justfile", ".justfile")
_RUNNER_FILE_FLAGS = frozenset({"-f", "--justfile", "-t", "--taskfile"})
_RUNNER_DIRECTORY_FLAGS = frozenset({"-d", "--working-directory", "--dir"})
_JUST_INTERPOLATION = lazy_re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_-]*)\s*\}\}")
_JUST_ASSIGNMENT = lazy_re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_-]*)\s*:=\s*(.*)$")
_TASKFILES = ("Taskfile.yml", "Taskfile.yaml", "taskfile.yml", "taskfile.yaml")
_JUST_RECIPE = lazy_re.compile(r"^@?([A-Za-z_][A-Za-z0-9_-]*)[^:]*:(?!=)([^#]*)")


def _parse_justfile(text: str) -> tuple[Recipes, str, dict[str, str]]:
    """Recipes (dependencies, body lines with their 1-based line), the first one, and the
    plain string variables (`kubectl := "kubectl"`) a `{{ kubectl }}` spells."""
    recipes: Recipes = {}
    variables: dict[str, str] = {}
    current: list[tuple[int, str]] | None = None
    first = ""
    for number, line in enumerate(text.splitlines(), start=1):
        if line[:1] in (" ", "\t"):
            if current is not None and line.strip() and not line.strip().startswith("#"):
                current.append((number, line.strip()))
            continue
        current = None
        assigned = _JUST_ASSIGNMENT.match(line)
        if assigned:
            value = assigned.group(2).split("#", 1)[0].strip()
            variables[assigned.group(1)] = value.strip("'\"") if value[:1] in "'\"" else value
            continue
        found = _JUST_RECIPE.match(line)
        if found and not line.startswith(("set ", "export ", "alias ", "import ", "mod ")):
            needs = [w.split("(")[0] for w in found.group(2).split() if not w.startswith("&")]
            current = []
            recipes[found.group(1)] = (needs, current)
            first = first or found.group(1)
    return recipes, first, variables


def _parse_taskfile(path: str, text: str) -> tuple[Recipes, str]:
    """A Taskfile's tasks: `cmds` (strings, `{cmd: ...}`, `{task: NAME}`) and `deps`, each
    command at its line; the default task is `default`."""
    recipes: Recipes = {}
    for entry in load_all(path, text):
        if not isinstance(entry, YamlDocument) or not isinstance(entry.obj, dict):
            break
        tasks = entry.obj.get("tasks")
        locator = NodeLocator(path, entry.node)
        for name, task in tasks.items() if isinstance(tasks, dict) else []:
            body = {"cmds": task} if isinstance(task, list) else task
            if not isinstance(body, dict):
                continue
            needs = [
                str(d.get("task") if isinstance(d, dict) else d) for d in body.get("deps") or []
            ]
            lines: list[tuple[int, str]] = []
            for index, item in enumerate(
                body.get("cmds") or [] if isinstance(body.get("cmds"), list) else []
            ):
                at = (
                    ("tasks", name, "cmds", index)
                    if not isinstance(task, list)
                    else ("tasks", name, index)
                )
                if isinstance(item, dict) and "task" in item:
                    needs.append(str(item["task"]))
                elif isinstance(item, (str, dict)):
                    line = item if isinstance(item, str) else item.get("cmd")
                    if isinstance(line, str):
                        lines.append((locator.locate(at).line, line))
            recipes[str(name)] = (needs, lines)
        break
    return recipes, "default"


# Package managers whose `run NAME` (also `npm test`, `yarn NAME`) runs a package.json script.
_PACKAGE_MANAGERS = frozenset({"npm", "yarn", "pnpm", "bun"})
_NPM_SHORTHANDS = frozenset({"test", "start", "stop", "restart"})
_PACKAGE_DIRECTORY_FLAGS = frozenset({"--prefix", "-C", "--cwd", "--dir"})
_PACKAGE_VALUE_FLAGS = _PACKAGE_DIRECTORY_FLAGS | {"-w", "--workspace", "--filter", "-F"}


def _package_script(
    command: dict[str, Any], directory: str, tree: Tree, depth: int, budget: list[int]
) -> list[dict[str, Any]]:
    """The commands of the package.json scripts a package manager runs (`npm run deploy`
    with its `predeploy` and `postdeploy`; `npm ci` its install scripts), each at its line
    of package.json."""
    program = str(command.get("program") or "")
    argv = [str(word) for word in command.get("argv") or []]
    words = argv[argv.index(program) + 1 :] if program in argv else argv[1:]
    for flag, value in itertools.pairwise(words):
        if flag in _PACKAGE_DIRECTORY_FLAGS:
            directory = posixpath.join(directory, value)
    for word in words:  # `npm --prefix=ops run deploy` (red team s24 trust18 c05)
        flag, equals, value = word.partition("=")
        if equals and flag in _PACKAGE_DIRECTORY_FLAGS:
            directory = posixpath.join(directory, value)
    selectors, words = _workspace_selectors(program, words)
    names = _script_names(program, words)
    if not names:
        return []
    if selectors is None:
        return _package_scripts_in(directory, names, tree, depth, budget)
    out: list[dict[str, Any]] = []
    chosen = _workspaces(tree, directory, selectors)
    if len(chosen) > MAX_GLOBBED:
        text = f"{command.get('text', '')} (more than {MAX_GLOBBED} workspaces, not followed)"
        out.append({**command, "opaque": True, "text": text, "name": text})
    for folder in chosen[:MAX_GLOBBED]:
        out.extend(_package_scripts_in(folder, names, tree, depth, budget))
    return out


def _workspace_selectors(program: str, words: list[str]) -> tuple[list[str] | None, list[str]]:
    """The workspaces a package manager's command runs in (["*"]: every one; None: the
    package it is in) and its words without the selection: `npm run deploy -w ops`,
    `--workspaces`, `yarn workspace ops deploy`, `yarn workspaces foreach run deploy`,
    `pnpm --filter ops deploy`, `pnpm -r deploy` (red team s24 trust18 c05: the root
    package.json was read, the workspace's deploy script ran unread)."""
    selectors: list[str] = []
    rest: list[str] = []
    given = iter(words)
    for word in given:
        flag, equals, value = word.partition("=")
        if flag in ("-w", "--workspace", "--filter", "-F"):
            selectors.append(value if equals else next(given, ""))
        elif word in ("--workspaces", "-ws", "-r", "--recursive"):
            selectors.append("*")
        else:
            rest.append(word)
    plain = [word for word in rest if not word.startswith("-")]
    if program == "yarn" and plain[:1] == ["workspace"] and len(plain) > 1:
        selectors.append(plain[1])
        rest = rest[rest.index(plain[1]) + 1 :]
    elif program == "yarn" and plain[:1] == ["workspaces"]:
        selectors.append("*")
        after = plain.index("run") if "run" in plain else len(plain)
        rest = plain[after:] if after < len(plain) else []
    return (selectors or None), rest


def _workspaces(tree: Tree, directory: str, selectors: list[str]) -> list[str]:
    """The workspace folders (package.json `workspaces`, pnpm-workspace.yaml `packages`) of
    the package at `directory` that a selector names: by folder or by package name (a glob,
    `*` every one)."""
    patterns = _workspace_patterns(tree, directory)
    below = "" if directory == "." else directory.rstrip("/") + "/"
    folders = [
        posixpath.dirname(name)
        for name in tree.list_dir(directory)
        if name.startswith(below)
        and name.endswith("/package.json")
        and "node_modules/" not in name
        and any(fnmatch.fnmatchcase(posixpath.dirname(name)[len(below) :], p) for p in patterns)
    ]
    chosen: list[str] = []
    for folder in folders:
        name = _package_name(tree, folder)
        relative = posixpath.relpath(folder, directory)
        for selector in selectors:
            wanted = posixpath.normpath(selector.strip("{}").removeprefix("./") or ".")
            if selector == "*" or fnmatch.fnmatchcase(name, selector) or wanted == relative:
                chosen.append(folder)
                break
    for selector in selectors:  # `-w ops` of a folder the root does not declare
        named = inside(posixpath.join(directory, selector.strip("{}").removeprefix("./")))
        manifest = posixpath.join(named, "package.json") if named else ""
        if named and named not in chosen and tree.exists(manifest):
            chosen.append(named)
    return chosen


def _workspace_patterns(tree: Tree, directory: str) -> list[str]:
    """The folder globs a package's workspaces are declared by (not the `!` exclusions)."""
    patterns: list[str] = []
    root = inside(posixpath.join(directory, "package.json"))
    try:
        declared = json.loads(tree.read(root).decode("utf-8", "replace")) if root else {}
    except (OSError, ValueError):
        declared = {}
    spaces = declared.get("workspaces") if isinstance(declared, dict) else None
    spaces = spaces.get("packages") if isinstance(spaces, dict) else spaces
    patterns.extend(str(p) for p in spaces or [] if isinstance(p, str))
    pnpm = inside(posixpath.join(directory, "pnpm-workspace.yaml"))
    if pnpm and tree.exists(pnpm):
        for entry in load_all(pnpm, tree.read(pnpm).decode("utf-8", "replace")):
            obj = entry.obj if isinstance(entry, YamlDocument) else None
            listed = obj.get("packages") if isinstance(obj, dict) else None
            patterns.extend(str(p) for p in listed or [] if isinstance(p, str))
    return [p.rstrip("/").removeprefix("./") for p in patterns if not p.startswith("!")]


def _package_name(tree: Tree, folder: str) -> str:
    try:
        named = json.loads(tree.read(posixpath.join(folder, "package.json")).decode("utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return ""
    return str(named.get("name") or "") if isinstance(named, dict) else ""


def _package_scripts_in(
    directory: str, names: list[str], tree: Tree, depth: int, budget: list[int]
) -> list[dict[str, Any]]:
    """The commands of the `names` scripts (with their pre and post scripts) of the
    package.json in `directory`, each at its line there."""
    path = inside(posixpath.join(directory, "package.json"))
    if path is None or not tree.exists(path):
        return []
    try:
        text = tree.read(path).decode("utf-8", "replace")
        scripts = json.loads(text).get("scripts")
    except (OSError, ValueError, AttributeError):
        return []
    if not isinstance(scripts, dict):
        return []
    out: list[dict[str, Any]] = []
    for key in [f"{stage}{name}" for name in names for stage in ("pre", "", "post")]:
        script = scripts.get(key)
        if not isinstance(script, str):
            continue
        line = _json_key_line(text, key)
        place = shell_dirs.Place(directory, files=file_reader(tree))
        ran = shell.commands(script, place=place)
        for at, found in enumerate(ran):
            before = _line_before(ran, at)
            out.extend(_take_and_follow(found, path, line, directory, tree, depth, budget, before))
    return out


def _script_names(program: str, words: list[str]) -> list[str]:
    """The scripts `npm run NAME`, `npm test`, `yarn NAME`, `pnpm run NAME` run; an install
    (`npm ci`, plain `yarn`) runs the package's install and prepare scripts."""
    positional: list[str] = []
    taken = False
    for word in words:
        if taken or word.startswith("-"):
            taken = word in _PACKAGE_VALUE_FLAGS
            continue
        positional.append(word)
    first = positional[0] if positional else "install"
    if first in ("install", "i", "ci", "add"):
        return ["install", "prepare"]
    if first in ("run", "run-script", "rum", "urn"):
        return positional[1:2]
    if first in _NPM_SHORTHANDS or program != "npm":
        return [first]
    return []


def _json_key_line(text: str, key: str) -> int:
    """The 1-based line of the last `"key":` in a JSON text (scripts come after the name)."""
    at = text.rfind(json.dumps(key) + ":")
    if at < 0:
        at = text.rfind(json.dumps(key))
    return text.count("\n", 0, at) + 1 if at >= 0 else 1


@functools.lru_cache(maxsize=32)
def _parse_makefile(
    text: str,
) -> tuple[dict[str, tuple[list[str], list[tuple[int, str]]]], dict[str, str], str]:
    """Targets -> (prerequisites, recipe lines with their numbers), simple variables, and the
    default goal. Enough of make for reading what a target runs, not for running it."""
    rules: dict[str, tuple[list[str], list[tuple[int, str]]]] = {}
    variables: dict[str, str] = {"MAKE": "make"}
    current: list[tuple[int, str]] | None = None
    default = ""
    lines = text.split("\n")
    for number, line in enumerate(lines, start=1):
        if current and current[-1][1].endswith("\\"):
            # a recipe line going on (`$(TOOL) \` / `\t\t--flag=x.txt \`): make hands the
            # shell the whole of it, backslash-newlines kept; read alone, a continued
            # `--go-header-file=./x.txt` was a program, the text file a script (cluster-api)
            first, held = current[-1]
            current[-1] = (first, held + "\n" + line.removeprefix("\t").rstrip())
            continue
        if line.startswith("\t"):
            if current is not None and line.strip() and not line.strip().startswith("#"):
                current.append((number, line.strip()))
            continue
        stripped = line.split("#", 1)[0].rstrip()
        if not stripped:
            continue
        assignment = _MAKE_ASSIGN.match(stripped)
        if assignment:
            variables[assignment.group(1)] = assignment.group(2).strip()
            current = None
            continue
        rule = _MAKE_RULE.match(stripped)
        if rule is None:
            current = None
            continue
        recipe: list[tuple[int, str]] = []
        prerequisites, _, inline = rule.group(2).partition(";")
        if inline.strip():
            recipe.append((number, inline.strip()))
        for target in rule.group(1).split():
            if target.startswith("."):
                continue
            default = default or target
            rules[target] = (prerequisites.split(), recipe)
        current = recipe
    return rules, variables, default
