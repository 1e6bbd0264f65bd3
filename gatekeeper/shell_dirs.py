"""The folder each command of a script runs in, followed as sh follows it.

`cd docker && docker build -f prod .` builds `docker/prod`: a command's file arguments are
relative to the folder the script went to (`cd`, `pushd`/`popd`, `cd -`), which lasts for the
rest of the script but not past a subshell `( ... )` or a pipeline's part. Folders are
written from the repository root (`"."` is the root); one outside it (`/tmp`, `~`) starts
with `/`; None is a folder the script computes (`cd "$DIR"` from the runner) or one above
the root (`cd ..` there: the runner's folders, where the checkout is again under its name),
whose files cannot be named: a rule that needs them says so instead of missing them.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field

from gatekeeper import lazy_re

# Variables and substitutions that name the checkout's root (GitHub, GitLab, git itself).
_ROOT = lazy_re.compile(
    r"^(?:\$\{?(?:GITHUB_WORKSPACE|CI_PROJECT_DIR|BITBUCKET_CLONE_DIR|CIRCLE_WORKING_DIRECTORY"
    r"|BUILD_SOURCESDIRECTORY|WORKSPACE)\}?|\$\{\{\s*github\.workspace\s*\}\}"
    r"|\$\(git rev-parse --show-toplevel\)|/github/workspace)(?=/|$)"
)
# The current folder, spelled.
_HERE = lazy_re.compile(r"^(?:\$\{?PWD\}?|\$\(pwd\)|`pwd`)(?=/|$)")
# The folder of the running script: `$(dirname "$0")`, `${0%/*}`, `${BASH_SOURCE%/*}`,
# `$(dirname "${BASH_SOURCE[0]}")`, `$(cd "$(dirname "$0")" && pwd)` (cd's output sent away,
# `>/dev/null 2>&1`, moves it nowhere else).
_SCRIPT = lazy_re.compile(
    r"""^(?:\$\((?:cd\s+)?(?:"?\$\(dirname\s+"?\$\{?(?:0|BASH_SOURCE(?:\[0\])?)\}?"?\)"?"""
    r"""(?:\s*(?:[12&]?>\s*/dev/null|2>&1))*(?:\s*&&\s*pwd)?)\)"""
    r"""|\$\(dirname\s+"?\$\{?(?:0|BASH_SOURCE(?:\[0\])?)\}?"?\)"""
    r"""|\$\{(?:0|BASH_SOURCE(?:\[0\])?)%/\*\})(?=/|$)"""
)
# Folders outside the checkout that CI scripts go to: temporary folders and the home.
_OUTSIDE = lazy_re.compile(r"^(?:/tmp|/var/tmp|~|\$\{?(?:HOME|RUNNER_TEMP|TMPDIR)\}?)(?=/|$)")
_VARIABLE = lazy_re.compile(r"\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)\})")
# What CDPATH applies to: a relative folder not starting with `.` or `..` (POSIX cd).
_SEARCHED = lazy_re.compile(r"^(?![./~-]|\$)")
_CD_FLAGS = frozenset({"-L", "-P", "-e", "-@"})


@dataclass
class Place:
    """Where a script is as it runs: its folder, the one before it (`cd -`; "" when none),
    pushd's stack, the folder of the script itself (for `cd "$(dirname "$0")"`) and the
    places saved when a subshell began; `files` reads the repository's files (None when
    there is none to read), for a script the shell sources (`. ci/env.sh`): its `cd` and
    variables last."""

    here: str | None = "."
    before: str | None = ""
    stack: list[str | None] = field(default_factory=list)
    script_dir: str | None = None
    saved: list[tuple[str | None, str | None, list[str | None]]] = field(default_factory=list)
    files: Callable[[str], str | None] | None = None
    # A script of the checkout this shell sourced that the repository lacks (written or
    # fetched in CI: `. ./ci/env.sh`): it may have moved the folder (red team s17 y03).
    unread: str = ""

    def inner(self, here: str | None) -> Place:
        """A place for a script a command runs (`sh -c`, `eval`, a function): it starts
        where the command runs; its own `cd` does not move this one."""
        return Place(
            here, self.before, list(self.stack), self.script_dir, files=self.files,
            unread=self.unread,
        )

    def adopt(self, other: Place) -> None:
        """Where a script run in this shell (`eval`, a function) left it."""
        self.here, self.before, self.stack = other.here, other.before, list(other.stack)
        self.unread = other.unread

    def enter(self, level: int) -> None:
        """Subshells begin or end so that `level` of them are open."""
        while len(self.saved) < level:
            self.saved.append((self.here, self.before, list(self.stack)))
        while len(self.saved) > level:
            self.here, self.before, self.stack = self.saved.pop()

    def run(
        self,
        program: str,
        args: list[str],
        segments: frozenset[str] = frozenset(),
        searched: bool = False,
    ) -> None:
        """What `cd`, `pushd` or `popd` with `args` does to the place; `segments`: loop
        variables each of whose values is one folder's name (`for d in */; do cd "$d"`);
        `searched`: CDPATH is set, so `cd x` may go below any of its folders."""
        words = [word for word in args if word not in _CD_FLAGS]
        words = words[1:] if words[:1] == ["--"] else words
        if searched and words and program in ("cd", "pushd") and _SEARCHED.match(words[0]):
            words = ["$CDPATH"]  # not a folder this can name
        if program == "cd":
            if words[:1] == ["-"]:
                if self.before != "":
                    self.here, self.before = self.before, self.here
                return
            self._go(resolve(self.here, words[0] if words else "~", self.script_dir, segments))
        elif program == "pushd":
            if not words:  # swap the top two
                if self.stack:
                    self.stack[-1], self.here = self.here, self.stack[-1]
            elif words[0][:1] in "+-" and words[0][1:].isdigit():  # rotate: not followed
                self.stack.append(self.here)
                self.here = None
            else:
                self.stack.append(self.here)
                self._go(resolve(self.here, words[0], self.script_dir, segments))
        elif program == "popd" and self.stack:
            if words and words[0][:1] in "+-":  # drops an entry, stays here
                self.stack.pop()
            else:
                self._go(self.stack.pop())

    def _go(self, folder: str | None) -> None:
        self.before, self.here = self.here, folder


def resolve(
    here: str | None,
    given: str,
    script_dir: str | None = None,
    segments: frozenset[str] = frozenset(),
) -> str | None:
    """The folder `given` names from `here`, spelled as the module says; a loop variable of
    `segments` stays in the path as written (`app/$d`): unknown, but `cd ..` comes back."""
    given = given.strip()
    variable = _VARIABLE.fullmatch(given)
    if variable and (variable.group(1) or variable.group(2)) in segments:
        return join(here, "$" + (variable.group(1) or variable.group(2)))
    for pattern, base in ((_ROOT, "."), (_HERE, here), (_SCRIPT, script_dir)):
        match = pattern.match(given)
        if match:
            rest = given[match.end() :].lstrip("/")
            return join(base, rest) if base is not None else None
    if _OUTSIDE.match(given):
        return "/" + given.lstrip("/")
    if "$" in given or "`" in given or given.startswith("/") or here is None:
        return None  # computed, or absolute: where the checkout is there is not known
    return join(here, given)


def join(here: str | None, path: str) -> str | None:
    """`path` (relative) from the folder `here`: None when either is unknown or it climbs
    above the root."""
    if here is None:
        return None
    if not path:
        return here
    if here.startswith("/"):
        return posixpath.normpath(posixpath.join(here, path))
    joined = posixpath.normpath(posixpath.join(here, path))
    return None if joined == ".." or joined.startswith("../") else joined


def sourced(place: Place, given: str) -> tuple[str, str] | None:
    """The repository path and text of the file `. FILE` / `source FILE` reads where the
    script is, when it is one of the repository's."""
    if place.files is None:
        return None
    path = resolve(place.here, given, place.script_dir)
    if path is None or not known(path) or path.startswith("/"):
        return None
    text = place.files(path)
    return None if text is None else (path, text)


def lacked(place: Place, given: str) -> str:
    """The checkout's path of a script `. FILE` sources that the repository does not hold
    (a relative or checkout path: one of the runner's, `~/.bashrc` or `/etc/profile`, and a
    Python virtualenv's `bin/activate`, move no folder of the checkout), else ""."""
    if place.files is None or posixpath.basename(given) == "activate":
        return ""
    path = resolve(place.here, given, place.script_dir)
    if path is None or not known(path) or path.startswith("/"):
        return ""
    return path if place.files(path) is None else ""


def known(folder: str | None) -> bool:
    """Whether `folder` is a folder the script names (inside the checkout or outside it)."""
    return folder is not None and "$" not in folder


def segments(loops: dict[str, list[str]]) -> frozenset[str]:
    """The loop variables each of whose values is one folder's name (`*/`, `api`)."""
    return frozenset(
        name
        for name, values in loops.items()
        if values and all(_ONE_FOLDER.fullmatch(value) for value in values)
    )


_ONE_FOLDER = lazy_re.compile(r"(?!\.\.?/?$)[^/$`]+/?")
