"""What Flux leaves out of a GitRepository's artifact: `.sourceignore` files and `spec.ignore`.

source-controller archives the repository without the files its ignore rules match (go-git's
gitignore matcher over its default exclusions, every `.sourceignore` in the repository, each
for the folder it is in, then `spec.ignore`): a Kustomization applies only what is left. A
pull request adding `**/netpol.yaml` to `.sourceignore` removes a NetworkPolicy from the
cluster without touching it, so what Flux applies is judged through the same rules.
"""

from __future__ import annotations

import functools
import posixpath
import re
import weakref
from typing import Any, NamedTuple

from gatekeeper.discover import glob_source
from gatekeeper.tree import Tree

IGNORE_FILE = ".sourceignore"
# source-controller's exclusions before any of the repository's (VCS, CI, binaries).
DEFAULTS = (
    ".git/",
    ".gitignore",
    ".gitmodules",
    ".gitattributes",
    "*.jpg",
    "*.jpeg",
    "*.gif",
    "*.png",
    "*.wmv",
    "*.flv",
    "*.tar.gz",
    "*.zip",
    ".github/",
    ".circleci/",
    ".travis.yml",
    ".gitlab-ci.yml",
    "appveyor.yml",
    ".drone.yml",
    "cloudbuild.yaml",
    "codeship-services.yml",
    "codeship-steps.yml",
    "**/.goreleaser.yml",
    "**/.sops.yaml",
    "**/.flux.yaml",
)


class Rule(NamedTuple):
    folder: str  # the folder the rule applies below ("" for the root)
    pattern: re.Pattern[str]  # over the path below that folder
    negated: bool
    only_folders: bool


def rules(tree: Tree, ignore: Any) -> tuple[Rule, ...]:
    """The rules of a GitRepository of this repository: none when neither the repository
    nor `spec.ignore` says anything (the defaults alone leave every manifest)."""
    files = _ignore_files(tree)
    extra = ignore if isinstance(ignore, str) and ignore.strip() else ""
    if not files and not extra:
        return ()
    found = list(_defaults())
    # source-controller's order: a folder's own file, then its subfolders' (deeper decides)
    for name in sorted(files, key=lambda name: name.split("/")[:-1]):
        folder = posixpath.dirname(name)
        try:
            text = tree.read(name).decode("utf-8", "replace")
        except OSError:
            continue
        found += [rule for line in text.splitlines() if (rule := gitignore_rule(folder, line))]
    found += [rule for line in extra.splitlines() if (rule := gitignore_rule("", line))]
    return tuple(found)


def ignored(path: str, found: tuple[Rule, ...]) -> bool:
    """Whether Flux leaves `path` out: the last rule matching it or a folder above it
    decides (a `!` rule takes it back)."""
    parts = path.split("/")
    for rule in reversed(found):
        prefix = f"{rule.folder}/" if rule.folder else ""
        if prefix and not path.startswith(prefix):
            continue
        below = parts[len(rule.folder.split("/")) if rule.folder else 0 :]
        for depth in range(1, len(below) + 1):
            if rule.only_folders and depth == len(below):
                continue  # the file itself is no folder
            if rule.pattern.fullmatch("/".join(below[:depth])):
                return not rule.negated
    return False


class Ignoring:
    """A tree as Flux's artifact has it: the files its rules leave out are not there."""

    def __init__(self, tree: Tree, found: tuple[Rule, ...]) -> None:
        self.tree = tree
        self.rules = found

    def read(self, path: str) -> bytes:
        if ignored(posixpath.normpath(path), self.rules):
            raise FileNotFoundError(path)
        return self.tree.read(path)

    def exists(self, path: str) -> bool:
        return not ignored(posixpath.normpath(path), self.rules) and self.tree.exists(path)

    def list_dir(self, path: str) -> list[str]:
        return [name for name in self.tree.list_dir(path) if not ignored(name, self.rules)]


_VIEWS: weakref.WeakKeyDictionary[Any, dict[tuple[Rule, ...], Ignoring]] = (
    weakref.WeakKeyDictionary()
)
_FILES: weakref.WeakKeyDictionary[Any, list[str]] = weakref.WeakKeyDictionary()


def view(tree: Tree, ignore: Any) -> Tree:
    """`tree` as a GitRepository with `spec.ignore` (None: not set) has it; one view per
    tree and rules for a run (the views keep their own file indexes)."""
    found = rules(tree, ignore)
    if not found:
        return tree
    try:
        views = _VIEWS.setdefault(tree, {})
    except TypeError:
        return Ignoring(tree, found)
    if found not in views:
        views[found] = Ignoring(tree, found)
    return views[found]


class _Folder(NamedTuple):
    rules: tuple[Rule, ...]  # the rules of the ignore files in the folder and above
    above: bool  # an ignore file is in the folder or above it
    by_defaults: bool  # the defaults leave the folder itself out


_FOLDERS: weakref.WeakKeyDictionary[Any, dict[str, _Folder]] = weakref.WeakKeyDictionary()


def left_out(tree: Tree, path: str) -> bool:
    """Whether the repository's own `.sourceignore` files leave `path` out of every Flux
    artifact of it (a NetworkPolicy there is never applied by Flux, so it cannot count).

    Only the ignore files in the folders above `path` have rules for it; the rest of the
    tree is searched only when the defaults alone leave it out (they apply once any
    `.sourceignore` exists): a pre-commit run asks about a few files of a tree of 27,000."""
    folder = _folder(tree, posixpath.dirname(path))
    if folder.above:
        return ignored(path, (*_defaults(), *folder.rules))
    if not (folder.by_defaults or _defaults_pattern(False).fullmatch(path)):
        return False
    return bool(_ignore_files(tree))


def _folder(tree: Tree, path: str) -> _Folder:
    """What `left_out` needs of a folder ("" the root), built on its parent's, once per tree."""
    try:
        known = _FOLDERS.setdefault(tree, {})
    except TypeError:
        known = {}
    found = known.get(path)
    if found is None:
        if path:
            parent = _folder(tree, posixpath.dirname(path))
            name = f"{path}/{IGNORE_FILE}"
            by_defaults = parent.by_defaults or bool(_defaults_pattern(True).fullmatch(path))
        else:
            parent, name = _Folder((), False, False), IGNORE_FILE
            by_defaults = False
        rules, above = parent.rules, parent.above
        if tree.exists(name):
            above = True
            try:
                text = tree.read(name).decode("utf-8", "replace")
            except OSError:
                text = ""
            rules += tuple(
                rule for line in text.splitlines() if (rule := gitignore_rule(path, line))
            )
        found = known[path] = _Folder(rules, above, by_defaults)
    return found


@functools.cache
def _defaults() -> tuple[Rule, ...]:
    return tuple(rule for line in DEFAULTS if (rule := gitignore_rule("", line)))


@functools.cache
def _defaults_pattern(folders: bool) -> re.Pattern[str]:
    """One pattern for the defaults (none is negated): over a folder (`folders`), or over a
    file (the folder-only ones left out)."""
    parsed = [found for line in DEFAULTS if (found := _parse(line))]
    chosen = [regex for regex, _, only_folders in parsed if folders or not only_folders]
    return re.compile("|".join(f"(?:{regex})" for regex in chosen), re.DOTALL)


def _ignore_files(tree: Tree) -> list[str]:
    try:
        if tree not in _FILES:
            _FILES[tree] = [
                name
                for name in tree.list_dir(".")
                if name == IGNORE_FILE or name.endswith(f"/{IGNORE_FILE}")
            ]
        return _FILES[tree]
    except TypeError:
        return [n for n in tree.list_dir(".") if posixpath.basename(n) == IGNORE_FILE]


def gitignore_rule(folder: str, line: str) -> Rule | None:
    """One gitignore line as a rule for `folder` (see _parse)."""
    parsed = _parse(line)
    if parsed is None:
        return None
    regex, negated, only_folders = parsed
    return Rule(folder, re.compile(regex, re.DOTALL), negated, only_folders)


def _parse(line: str) -> tuple[str, bool, bool] | None:
    """One gitignore line as (regular expression, negated, only folders): `#` comments, `!`
    negation, a trailing `/` for folders only, a leading or inner `/` anchoring it to the
    folder, else it matches at any depth."""
    text = line.rstrip("\n\r")
    text = text[:-2].rstrip() + " " if text.endswith("\\ ") else text.rstrip()
    if not text or text.startswith("#"):
        return None
    negated = text.startswith("!")
    text = text[1:] if negated else text.removeprefix("\\")
    only_folders = text.endswith("/")
    text = text.rstrip("/")
    if not text:
        return None
    anchored = "/" in text
    text = text.lstrip("/")
    regex = glob_source(text)
    if not anchored:
        regex = f"(?:.*/)?{regex}"
    return regex, negated, only_folders
