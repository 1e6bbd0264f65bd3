"""Which revision of this repository a deployer applies, and its files.

An Application of this repository pinned to a tag or a commit deploys that revision, not the
one the check judges: a pull request pointing `targetRevision` at a tag pushed from an
unreviewed commit would deploy what nobody judged. So a tag or commit other than the judged
one is read from the repository's git objects and judged there; one the checkout does not
have (a shallow clone without tags) is said not to be judged. A branch (or HEAD) is what the
change under review lands on, and is judged as the tree at hand.
"""

from __future__ import annotations

import re
import weakref
from typing import Any, NamedTuple

from gatekeeper.document import Loaded, Location, Problem
from gatekeeper.fieldpath import Path
from gatekeeper.tree import Tree, WorkTree

_SHA = re.compile(r"^[0-9a-fA-F]{7,40}$")
# What only names a tag or a version: v1.2.3, 1.2, a semver constraint (`1.*`, `>=1.0`).
_VERSION = re.compile(r"^(v?[0-9]+([.][0-9*xX]+)*([-+][0-9A-Za-z.-]+)?|[<>=~^*].*|.*[*].*)$")
_TREES: dict[tuple[str, str], Tree] = {}  # (git directory, commit) -> its tree, for this run


class Revision(NamedTuple):
    tree: Tree | None  # None: the revision is not in this checkout
    other: bool  # a revision other than the one judged


class At:
    """Every field of an object judged at another revision: at the line that pins it."""

    def __init__(self, file: str, line: int) -> None:
        self.file = file
        self.line = line

    def locate(self, path: Path) -> Location:
        return Location(self.file, self.line, exact=False)


def pin(loaded: Loaded, file: str, line: int, revision: str) -> None:
    """What was judged at another revision, located at the line that pins it."""
    for made in loaded.documents:
        made.locator = At(file, line)
        made.file = file
        made.extra["revision"] = revision
    problems = list(loaded.problems)
    loaded.problems.clear()
    for problem in problems:
        message = f"at revision {revision}: {problem.file}:{problem.line}: {problem.message}"
        loaded.problems.append(Problem(problem.code, file, line, message))


def revision(name: Any, tree: Tree) -> Revision:
    """The tree a deployer tracking `name` (a targetRevision, a GitRepository ref) applies."""
    text = str(name or "").strip()
    if text in ("", "HEAD"):
        return Revision(tree, False)
    if text.startswith("*"):  # a range of tags (Flux semver): which one is not known here
        repo = _repository(tree)[0]
        return Revision(None, True) if repo is not None else Revision(tree, False)
    repo, judged, refs = _repository(tree)
    if repo is None:  # files without git (a test's, stdin): only the tree at hand
        return Revision(tree, False)
    if _is_branch(refs, text):
        return Revision(tree, False)
    commit = _commit(repo, text)
    if commit is None:
        unseen = _SHA.match(text) or _VERSION.match(text)
        return Revision(None, True) if unseen else Revision(tree, False)
    if commit.hexsha == judged:
        return Revision(tree, False)
    key = (str(repo.git_dir), commit.hexsha)
    if key not in _TREES:
        from gatekeeper.git import RevisionTree

        _TREES[key] = RevisionTree(commit)
    return Revision(_TREES[key], True)


_REPOSITORIES: weakref.WeakKeyDictionary[Any, tuple[Any, str, frozenset[str]]] = (
    weakref.WeakKeyDictionary()
)


def _repository(tree: Tree) -> tuple[Any, str, frozenset[str]]:
    """The git repository of a tree, the commit judged (a work tree's HEAD) and the
    repository's ref names; found once per tree."""
    if tree not in _REPOSITORIES:
        _REPOSITORIES[tree] = _open(tree)
    return _REPOSITORIES[tree]


def _open(tree: Tree) -> tuple[Any, str, frozenset[str]]:
    import git

    from gatekeeper.git import NO_NETWORK, RevisionTree

    try:
        if isinstance(tree, RevisionTree):
            repo, judged = tree.commit.repo, tree.commit.hexsha
        elif isinstance(tree, WorkTree):
            repo = git.Repo(tree.root)
            repo.git.update_environment(**NO_NETWORK)
            judged = repo.head.commit.hexsha
        else:
            return None, "", frozenset()
        return repo, judged, frozenset(ref.path for ref in repo.refs)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, ValueError):
        return None, "", frozenset()


def _is_branch(refs: frozenset[str], name: str) -> bool:
    """A local branch, or one of a remote (what a CI checkout has)."""
    return f"refs/heads/{name}" in refs or any(
        ref.startswith("refs/remotes/") and ref.endswith(f"/{name}") for ref in refs
    )


def _commit(repo: Any, name: str) -> Any:
    import git

    for candidate in (f"refs/tags/{name}", name):
        try:
            return repo.commit(candidate)
        except (git.BadName, ValueError, git.GitCommandError):
            continue
    return None
