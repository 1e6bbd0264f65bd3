"""Which revision of this repository a deployer applies, and its files.

An Application of this repository pinned to a tag or a commit deploys that revision, not the
one the check judges: a pull request pointing `targetRevision` at a tag pushed from an
unreviewed commit would deploy what nobody judged. So a tag or commit other than the judged
one is read from the repository's git objects and judged there; one the checkout does not
have (a shallow clone without tags) is said not to be judged. The branch the change under
review lands on (a pull request's base; else the branch checked out, or the remote's default)
and HEAD are judged as the tree at hand; any other branch or ref (`refs/pull/7/head`, a branch
named like a tag) at its own tip, the remote's when the checkout has it, else not judged.
"""

from __future__ import annotations

import weakref
from typing import Any, NamedTuple

from gatekeeper import lazy_re
from gatekeeper.document import Loaded, Location, Problem
from gatekeeper.fieldpath import Path
from gatekeeper.tree import Tree, WorkTree

_TREES: dict[tuple[str, str], Tree] = {}  # (git directory, commit) -> its tree, for this run
# What cannot name the default branch: a commit, a version (v1.2.3, 1.2, a semver range), a ref.
_UNSEEN_ANYWAY = lazy_re.compile(
    r"^([0-9a-fA-F]{7,40}|v?[0-9]+([.][0-9*xX]+)*([-+][0-9A-Za-z.-]+)?|[<>=~^*].*|.*[*].*|refs/.*)$"
)
_LANDS_ON: weakref.WeakKeyDictionary[Any, frozenset[str]] = weakref.WeakKeyDictionary()


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


def lands_on(tree: Tree, base: str, commit: str) -> None:
    """Say which branch the change judged in `tree` lands on: a pull request's base as
    written (`main`, `origin/main`, `refs/heads/main`) and every branch at its `commit`."""
    repo, _, refs = _repository(tree)
    names = {base.removeprefix("refs/heads/"), *_short(base), *_ci_base()}
    for ref in refs:
        if ref.startswith(("refs/heads/", "refs/remotes/")) and not ref.endswith("/HEAD"):
            tip = _commit(repo, ref)
            if tip is not None and tip.hexsha == commit:
                names |= {ref.removeprefix("refs/heads/")} - {ref} | _short(ref)
    _LANDS_ON[tree] = frozenset(names)


def _short(ref: str) -> set[str]:
    """The branch a remote's branch (`origin/main`, `refs/remotes/origin/main`) names."""
    if ref.startswith("refs/") and not ref.startswith("refs/remotes/"):
        return set()
    parts = ref.removeprefix("refs/remotes/").split("/", 1)
    return {parts[1]} if len(parts) == 2 else set()


def revision(name: Any, tree: Tree) -> Revision:
    """The tree a deployer tracking `name` (a targetRevision, a GitRepository ref) applies."""
    text = str(name or "").strip()
    if text in ("", "HEAD"):
        return Revision(tree, False)
    checkout = _checkout(tree)
    if text.startswith("*"):  # a range of tags (Flux semver): which one is not known here
        repo = _repository(checkout)[0]
        return Revision(None, True) if repo is not None else Revision(tree, False)
    repo, judged, refs = _repository(checkout)
    if repo is None:  # files without git (a test's, stdin): only the tree at hand
        return Revision(tree, False)
    branch = text.removeprefix("refs/heads/")
    landing = _landing(checkout, repo, judged, refs)
    if branch in landing:
        return Revision(tree, False)
    commit = _branch_tip(repo, refs, branch) or _commit(repo, text)
    if commit is None:  # a branch, tag or ref (refs/pull/7/head) the checkout lacks
        if not landing and not _UNSEEN_ANYWAY.match(text):
            # A detached checkout scanned without a base: which branch it stands for is
            # not known, and a missing branch is most likely the default one.
            return Revision(tree, False)
        return Revision(None, True)
    if commit.hexsha == judged:
        return Revision(tree, False)
    key = (str(repo.git_dir), commit.hexsha)
    if key not in _TREES:
        from gatekeeper.git import RevisionTree

        _TREES[key] = RevisionTree(commit)
    return Revision(_TREES[key], True)


# The commit a deployer resolves where it is not known here (the next tip of the branch under
# review, files without git): a commit's shape, for a template that tests the shape of
# Argo CD's $ARGOCD_APP_REVISION.
SAMPLE_COMMIT = "0123456789abcdef0123456789abcdef01234567"


def commit_of(name: Any, tree: Tree) -> str:
    """The commit a deployer tracking `name` resolves (Argo CD's ARGOCD_APP_REVISION): a tag's
    or a commit's, the judged one for the branch under review, else SAMPLE_COMMIT."""
    from gatekeeper.git import RevisionTree

    found = revision(name, tree)
    if isinstance(found.tree, RevisionTree):
        return str(found.tree.commit.hexsha)
    if found.tree is None:
        return SAMPLE_COMMIT
    return _repository(_checkout(tree))[1] or SAMPLE_COMMIT


def _checkout(tree: Tree) -> Tree:
    """The checkout a view of it stands for: a GitRepository's artifact (its `ignore` rules
    applied, flux_ignore.Ignoring) is that checkout's revision, not files without git (a
    tenant's Kustomization inside a cluster's build, tracking another branch, was judged
    against this checkout: "path staging is not in this repository", once per overlay)."""
    from gatekeeper.sources.flux_ignore import Ignoring

    while isinstance(tree, Ignoring):
        tree = tree.tree
    return tree


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


def _landing(tree: Tree, repo: Any, judged: str, refs: frozenset[str]) -> frozenset[str]:
    """The branches the judged tree stands for: the one said by `lands_on`, else the one
    checked out (with the branch it tracks) and the remote's default branch."""
    if tree in _LANDS_ON:
        return _LANDS_ON[tree]
    names: set[str] = set()
    try:
        if not repo.head.is_detached:
            names.add(repo.active_branch.name)
            tracking = repo.active_branch.tracking_branch()
            if tracking is not None:
                names |= _short(tracking.path)
    except (TypeError, ValueError):
        pass
    for ref in refs:
        if ref.startswith("refs/remotes/") and ref.endswith("/HEAD"):
            try:
                names |= _short(repo.refs[ref.removeprefix("refs/remotes/")].reference.path)
            except (TypeError, ValueError, IndexError):
                continue
    landing = frozenset(names | _ci_base())
    _LANDS_ON[tree] = landing
    return landing


def _ci_base() -> set[str]:
    """The target branch of the pull or merge request the CI job runs for (GitHub Actions,
    GitLab CI), set by the runner from the event: a base given as a commit names none, and a
    shallow checkout has no branch to find it by."""
    import os

    names = (os.environ.get(v, "") for v in ("GITHUB_BASE_REF", _GITLAB_TARGET))
    return {name.strip() for name in names if name.strip()}


_GITLAB_TARGET = "CI_MERGE_REQUEST_TARGET_BRANCH_NAME"


def _branch_tip(repo: Any, refs: frozenset[str], name: str) -> Any:
    """The tip of branch `name`: the remote's (what Argo CD and Flux fetch) before a local one."""
    remote = sorted(r for r in refs if r.startswith("refs/remotes/") and _short(r) == {name})
    for ref in [*remote, f"refs/heads/{name}"]:
        if ref in refs:
            return _commit(repo, ref)
    return None


def _commit(repo: Any, name: str) -> Any:
    import git

    for candidate in (f"refs/tags/{name}", name):
        try:
            return repo.commit(candidate)
        except (git.BadName, ValueError, git.GitCommandError):
            continue
    return None
