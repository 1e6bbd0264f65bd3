r"""The scripts a CI command runs once per file another command lists, for workflow_scripts.

`find hack -name '*.sh' -exec bash {} \;`, `ls *.sh | xargs -n1 bash`, `xargs -a list sh`,
`ls *.sh | parallel bash`, `for s in $(find ...); do bash "$s"; done` and `run-parts DIR` run
the repository's scripts without naming one (red team s24 trust18 c01: all ran unread). Each
function here turns such a command into the commands it runs, one per listed file, which
workflow_scripts follows as it follows a script named outright.
"""

from __future__ import annotations

import fnmatch
import itertools
import posixpath
import re
import shlex
from collections.abc import Sequence
from typing import Any

from gatekeeper import lazy_re, shell, shell_dirs
from gatekeeper.sources.workflow_scripts import MAX_GLOBBED, matching, script_of
from gatekeeper.tree import Tree, inside

# Programs that run each file another command lists (red team s24 trust18 c01: these ran
# the repository's scripts unread): `find -exec bash {} \;`, `ls *.sh | xargs -n1 bash`,
# `xargs -I{} sh {}`, `ls *.sh | parallel bash`; and `run-parts DIR`.
_LISTERS = frozenset({"find", "ls"})
_XARGS_VALUE_FLAGS = frozenset(
    {"-n", "--max-args", "-P", "--max-procs", "-L", "--max-lines", "-d", "--delimiter",
     "-E", "-e", "--eof", "-s", "--max-chars", "-a", "--arg-file", "--process-slot-var"}
)  # fmt: skip
_FED = "\0fed\0"  # where the listed file goes in a template, until it is known
# run-parts runs the files of a folder whose names match this (Debian's default).
_RUN_PARTS_NAME = lazy_re.compile(r"^[A-Za-z0-9_-]+$")
_RUN_PARTS_LSB = lazy_re.compile(
    r"^(?:[A-Za-z0-9_-]+|_?(?:[a-z0-9_.]+-)+[a-z0-9]+|[a-z0-9][a-z0-9-]*)$"
)


def _template(command: dict[str, Any]) -> list[str] | None:
    """The words a command runs once per file it is fed, with _FED where the file goes;
    None when it is not fed files (`bash {}` of find's -exec, xargs, parallel on stdin)."""
    argv = [str(word) for word in command.get("argv") or []]
    wrappers = [str(word) for word in command.get("wrappers") or []]
    if wrappers[:1] == ["xargs"] and argv[:1] == ["xargs"]:
        token, at = "", 1
        while at < len(argv) and argv[at].startswith("-"):
            flag = argv[at]
            if flag in ("-I", "--replace") and at + 1 < len(argv):
                token, at = argv[at + 1], at + 2
                continue
            if flag.startswith(("-I", "--replace=")):
                token = flag[2:] if flag.startswith("-I") else flag.partition("=")[2]
            elif flag in ("-i", "--replace"):
                token = "{}"
            at += 2 if flag in _XARGS_VALUE_FLAGS else 1
        words = argv[at:]
    elif command.get("program") == "parallel" and ":::" not in argv and argv[:1] == ["parallel"]:
        at = 1
        while at < len(argv) and argv[at].startswith("-"):
            at += 2 if argv[at] in shell.PARALLEL_VALUE_FLAGS else 1
        token, words = "{}", argv[at:]
    elif "{}" in argv and not wrappers:  # what `find ... -exec` runs (shell._run_by)
        token, words = "{}", argv
    else:
        return None
    if not words:
        return None
    if token and any(token in word for word in words):
        return [word.replace(token, _FED) for word in words]
    return [*words, _FED] if command.get("program") != "{}" else None


def fed_runs(
    command: dict[str, Any], before: Sequence[dict[str, Any]], directory: str, tree: Tree
) -> list[dict[str, Any]] | None:
    """`command` once for each repository file a `find`, `ls` or `git ls-files` before it
    on its line lists (or the file `xargs -a FILE` reads names from), when it runs each as a
    script (or as the program); None when it does not."""
    template = _template(command)
    if template is None:
        return None
    feeder = next((c for c in reversed(before) if _lister(c)), None)
    named_in = _xargs_file(command)
    if feeder is None and named_in is None:
        return None
    if not _runs_fed(template):
        return None
    if named_in is not None:
        listed = _names_in(tree, shell_dirs.resolve(directory, named_in), directory)
    else:
        assert feeder is not None
        folder = str(feeder.get("directory") or directory)
        folder = folder if shell_dirs.known(folder) and not folder.startswith("/") else directory
        listed = _listed(feeder, folder, tree)
    return _each_listed(command, template, listed, directory)


def _runs_fed(template: list[str]) -> bool:
    """Does the command `template` spells run the file put at _FED (as a script of a shell or
    interpreter, or as the program), not read it (`bash -n`, `shellcheck`)?"""
    for parsed in shell.commands(shlex.join(template), depth=2):  # (and what `sh -c` runs)
        probe = parsed.as_dict()
        program = str(probe.get("program") or "")
        if _FED in program:
            return True
        script, _ = script_of(program, [str(w) for w in probe.get("positional") or []], probe)
        if _FED in script and "-n" not in (probe.get("flags") or []):
            return True
    return False


def _each_listed(
    command: dict[str, Any], template: list[str], listed: list[str], directory: str
) -> list[dict[str, Any]]:
    """The command `template` spells once per listed file, as the lister printed it (at
    most MAX_GLOBBED: past them `command` is opaque), each at `command`'s line."""
    runs: list[dict[str, Any]] = []
    if len(listed) > MAX_GLOBBED:  # the rest run unread: said, not skipped
        text = f"{command.get('text', '')} (more than {MAX_GLOBBED} files, not followed)"
        runs.append({**command, "opaque": True, "text": text, "name": text})
    for printed in listed[:MAX_GLOBBED]:
        words = [word.replace(_FED, printed) for word in template]
        for each in shell.commands(shlex.join(words), depth=2):
            runs.append({**each.as_dict(), "line": command.get("line"), "directory": directory})
    return runs


# A script word that is what a listing command prints (a loop's `$(find ...)` value).
LISTING_WORD = lazy_re.compile(r"\$\(\s*((?:find|ls|git\s+ls-files)\s[^()`]*)\)")


def listing_runs(
    command: dict[str, Any], script: str, listing: str, directory: str, tree: Tree
) -> list[dict[str, Any]] | None:
    """`command` once per file the `$(find|ls|git ls-files ...)` it runs as its script lists
    (a loop variable holding that listing); None when it lists nothing this can read."""
    found = shell.commands(listing, depth=3)
    feeder = found[0].as_dict() if found else {}
    if not _lister(feeder):
        return None
    argv = [str(word) for word in command.get("argv") or []]
    template = [_FED if word == script else word for word in argv]
    if _FED not in template or not _runs_fed(template):
        return None
    return _each_listed(command, template, _listed(feeder, directory, tree), directory)


def _lister(command: dict[str, Any]) -> bool:
    """Does `command` print file names: `find`, `ls`, `git ls-files`?"""
    program = command.get("program")
    return program in _LISTERS or (
        program == "git" and (command.get("positional") or [])[:1] == ["ls-files"]
    )


def _xargs_file(command: dict[str, Any]) -> str | None:
    """The file `xargs -a FILE` (`--arg-file=FILE`) reads its arguments from."""
    if (command.get("wrappers") or [])[:1] != ["xargs"]:
        return None
    argv = [str(word) for word in command.get("argv") or []]
    for flag, value in itertools.pairwise(argv):
        if flag in ("-a", "--arg-file"):
            return value
    for word in argv:
        if word.startswith("--arg-file="):
            return word.partition("=")[2]
    return None


def _names_in(tree: Tree, path: str | None, directory: str) -> list[str]:
    """The repository files a list file names, one a line (from `directory`), as written."""
    name = inside(path) if path and shell_dirs.known(path) else None
    if name is None or not tree.exists(name):
        return []
    try:
        text = tree.read(name).decode("utf-8", "replace")
    except OSError:
        return []
    found = []
    for line in text.splitlines():
        each = inside(posixpath.join(directory, line.strip())) if line.strip() else None
        if each is not None and tree.exists(each):
            found.append(line.strip())
    return found


def _listed(feeder: dict[str, Any], folder: str, tree: Tree) -> list[str]:
    """The repository files `find DIR... [-name|-path GLOB] [-maxdepth N]`, `ls GLOB|DIR...`
    or `git ls-files [PATHSPEC]` prints (as it prints them), run from `folder` (a superset
    where find tests more than these)."""
    argv = [str(word) for word in feeder.get("argv") or []]
    below = "" if folder == "." else folder.rstrip("/") + "/"
    if feeder.get("program") == "git":  # `git ls-files 'hack/*.sh'`: pathspecs, `*` crosses /
        specs = [w for w in (feeder.get("positional") or [])[1:] if not str(w).startswith("-")]
        return [
            name[len(below) :]
            for name in tree.list_dir(folder)
            if name.startswith(below)
            and (not specs or any(fnmatch.fnmatchcase(name[len(below) :], s) for s in specs))
        ]
    if feeder.get("program") == "ls":
        found: list[str] = []
        operands = [word for word in argv[1:] if not word.startswith("-")]
        for word in operands or ["."]:  # `cd hack && ls | xargs -n1 bash`: its folder
            named = inside(posixpath.join(folder, word))
            if named is not None and not any(c in named for c in "*?[") and not tree.exists(named):
                inner = named.rstrip("/") + "/"  # `ls hack`: the names in the folder
                found.extend(
                    name[len(inner) :]
                    for name in tree.list_dir(named)
                    if name.startswith(inner) and "/" not in name[len(inner) :]
                )
                continue
            found.extend(
                posixpath.relpath(name, folder)
                for name in matching(tree, posixpath.join(folder, word))
            )
        return found
    program_at = argv.index("find") if "find" in argv else 0
    words = argv[program_at + 1 :]
    starts = []
    for word in words:
        if word.startswith(("-", "(", "!")):
            break
        starts.append(word)
    tests: list[tuple[str, str]] = []
    for flag, value in itertools.pairwise(words):
        if flag in ("-name", "-iname", "-path", "-ipath", "-wholename", "-maxdepth", "-type"):
            tests.append((flag, value))
    found = []
    for start in starts or ["."]:
        root = inside(posixpath.join(folder, start))
        if root is None:
            continue
        below = "" if root == "." else root + "/"
        for name in tree.list_dir(root):
            if not name.startswith(below):
                continue
            rest = name[len(below) :]
            printed = posixpath.join(start, rest)
            if all(_passes(flag, value, printed, rest) for flag, value in tests):
                found.append(printed)
    return found


def _passes(flag: str, value: str, printed: str, rest: str) -> bool:
    """Does a file find prints as `printed` (`rest` below its start folder) pass a test?"""
    if flag == "-maxdepth":
        return not value.isdigit() or rest.count("/") + 1 <= int(value)
    if flag == "-type":
        return "f" in value or "l" in value
    seen = posixpath.basename(printed) if flag in ("-name", "-iname") else printed
    if flag in ("-iname", "-ipath"):
        return fnmatch.fnmatchcase(seen.lower(), value.lower())
    return fnmatch.fnmatchcase(seen, value)


def run_parts(command: dict[str, Any], directory: str, tree: Tree) -> list[dict[str, Any]]:
    """`command` once per file `run-parts [--regex RE] [--lsbsysinit] DIR` runs: each file
    directly in DIR whose name run-parts takes (as a superset: whether it is executable is
    not known here); past MAX_GLOBBED, `command` opaque."""
    argv = [str(word) for word in command.get("argv") or []]
    words = argv[argv.index("run-parts") + 1 :] if "run-parts" in argv else argv[1:]
    pattern: re.Pattern[str] | None = _RUN_PARTS_NAME
    folder = ""
    given = iter(words)
    for word in given:
        flag, equals, value = word.partition("=")
        if flag in ("--test", "--list", "-V", "--version", "-h", "--help"):
            return []
        if flag == "--regex":
            try:
                pattern = re.compile(value if equals else next(given, ""))
            except re.error:
                pattern = None
        elif flag == "--lsbsysinit":
            pattern = _RUN_PARTS_LSB
        elif flag in ("-u", "--umask", "-a", "--arg") and not equals:
            next(given, "")
        elif not word.startswith("-"):
            folder = word
    path = inside(posixpath.join(directory, folder)) if folder and "$" not in folder else None
    if path is None:
        return []
    names = [
        name
        for name in tree.list_dir(path)
        if posixpath.dirname(name) == path
        and (pattern is None or pattern.search(posixpath.basename(name)))
    ]
    out: list[dict[str, Any]] = []
    if len(names) > MAX_GLOBBED:
        text = f"{command.get('text', '')} (more than {MAX_GLOBBED} scripts, not followed)"
        out.append({**command, "opaque": True, "text": text, "name": text})
    for name in names[:MAX_GLOBBED]:
        named = "./" + posixpath.relpath(name, directory)
        out.append(
            {**command, "program": posixpath.basename(name), "argv": [named], "positional": []}
        )
    return out
