"""Source adapters: one module per file format, each with the same small protocol.

An adapter module defines:
    NAME: str                                   the source type policies match on
    detect(path: str) -> bool                   does this adapter own the file? (path only, cheap)
    load(path: str, data: bytes, context: LoadContext) -> Loaded
                                                documents and problems of one file; the context
                                                gives the whole tree (for charts, overlays) and
                                                this source's options from .gatekeeper.yml

Adapters are asked in registry order; the first whose `detect` is true owns the file.
Optional heavy dependencies are imported inside `load`, so the CLI starts fast.
"""

from __future__ import annotations

import functools
import importlib
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from gatekeeper import lazy_re
from gatekeeper.document import Loaded
from gatekeeper.tree import MemoryTree, Tree, WorkTree


@dataclass
class LoadContext:
    """What an adapter may read beyond its file: the tree and the `sources:` options."""

    tree: Tree = field(default_factory=lambda: MemoryTree({}))
    # .gatekeeper.yml `sources:` section: source name -> that source's options.
    options: dict[str, dict[str, Any]] = field(default_factory=dict)

    def options_for(self, source: str) -> dict[str, Any]:
        return self.options.get(source, {})

    def repo_urls(self) -> list[str]:
        """This repository's URLs: `sources.gitops.repoURLs`, to which a run adds the
        checkout's own remotes (context.py), as a deployer or an include may name it."""
        return [str(url) for url in self.options_for("gitops").get("repoURLs", [])]


def reader(tree: Tree, path: str, data: bytes) -> Callable[[str], bytes | None]:
    """A repository file's content by path, `data` for `path` itself; None when it cannot be
    read (outside the repository, missing, not a regular file)."""

    def read(name: str) -> bytes | None:
        if name == path:
            return data
        try:
            return tree.read(name)
        except (OSError, ValueError):
            return None

    return read


class Source(Protocol):
    NAME: str

    def detect(self, path: str) -> bool: ...

    def load(self, path: str, data: bytes, context: LoadContext) -> Loaded: ...


# Order matters: specific formats before the generic Kubernetes YAML catch-all.
REGISTRY: tuple[str, ...] = (
    "dockerfile",
    "workflow",
    "compose",
    "terraform",
    "release_files",  # helmfile, Fleet and Skaffold releases of this repository's charts
    "helm",
    "kustomize",
    "tanka",  # main.jsonnet: Tanka's inline environments
    "pulumi",  # Pulumi YAML programs (a Main.yaml that is not one: read as a manifest)
    "kubernetes",
)


# From this many files on, a walk of the whole tree costs less than the lookups of their
# owners it answers (a hook's few files never walk the tree).
LISTING_PAYS = 48

# The sources whose documents already are Kubernetes objects, rendered or as written.
KUBERNETES_OWNERS = frozenset({"kubernetes", "helm", "kustomize"})


class _Adapter:
    """A source adapter, its module imported on first use beyond `detect`: the name tests of
    gatekeeper.sources.names answer which adapter owns a file without importing the others
    (a hook on one manifest imported all seven, a quarter of its start-up)."""

    def __init__(self, name: str, detect: Callable[[str], bool] | None = None) -> None:
        self.NAME = name
        self._detect = detect
        self._module: Any = None

    def module(self) -> Any:
        if self._module is None:
            self._module = importlib.import_module(f"gatekeeper.sources.{self.NAME}")
        return self._module

    def detect(self, path: str) -> bool:
        if self._detect is None:  # no name test of its own: the module's, once imported
            self._detect = self.module().detect
        return self._detect(path)

    def load(self, path: str, data: bytes, context: LoadContext) -> Loaded:
        loaded: Loaded = self.module().load(path, data, context)
        if self.NAME == "kustomize" and loaded.documents:  # `kubectl apply -k <it> -n X`
            from gatekeeper.deployer_scope import built_placed_by_ci

            loaded.documents = built_placed_by_ci(loaded.documents, context.tree)
        return loaded

    def __getattr__(self, name: str) -> Any:  # the module's other functions and constants
        if name.startswith("_"):  # never the module's private names (nor a copy's state)
            raise AttributeError(name)
        return getattr(self.module(), name)


def _name_tests() -> dict[str, Callable[[str], bool]]:
    from gatekeeper.sources import names

    return {
        "dockerfile": names.is_dockerfile,
        "workflow": lambda path: names.workflow_kind(path) != "",
        "helm": names.is_chart,
        "kustomize": names.is_kustomization,
        "release_files": names.is_release_file,
        "tanka": names.is_tanka_entry,
        "pulumi": names.is_pulumi_program,
        "compose": names.is_compose_file,
        "terraform": names.is_terraform,
    }


@functools.cache
def _registry() -> tuple[_Adapter, ...]:
    tests = _name_tests()
    return tuple(_Adapter(name, tests.get(name)) for name in REGISTRY)


def _adapter(name: str) -> _Adapter:
    return next(adapter for adapter in _registry() if name == adapter.NAME)


def adapters() -> list[Source]:
    return list(_registry())


def adapter_for(path: str, sources: list[Source]) -> Source | None:
    for source in sources:
        if source.detect(path):
            return source
    return None


# Pipelines that may include any YAML file of the repository (GitLab includes, Azure templates).
_INCLUDERS = (".gitlab-ci.yml", "azure-pipelines.yml", "azure-pipelines.yaml")


def _owner_tests(context: LoadContext, paths: list[str]) -> dict[str, Callable[[str], bool]]:
    """Per adapter, whether it may find owners of one of `paths` (see with_owners): the tests
    its `owners` begins with, asked here so that an adapter that has none for it is not
    imported (an adapter without a test here is always asked)."""
    from gatekeeper import ownership
    from gatekeeper.sources import names

    tree, index, compose = context.tree, ownership.of(context.tree), _adapter("compose")
    configured = bool(context.options_for("helm").get("charts"))
    # Asked of every path by two tests (a workflow), or the same for every path (an includer).
    workflows = {path: bool(names.workflow_kind(path)) for path in paths}
    includers: list[bool] = []  # once asked: does the tree have one?

    def builds(path: str) -> bool:  # the Dockerfiles a workflow or compose file builds
        return workflows[path] or compose.detect(path)

    def included(path: str) -> bool:  # a YAML file a pipeline of the tree may include
        if not path.endswith((".yml", ".yaml")) or path == ".gitlab-ci.yml":
            return False
        if not includers:
            includers.append(any(index.exists(name) for name in _INCLUDERS))
        return includers[0]

    def runs(path: str) -> bool:  # the GitLab pipeline including it, the workflows running it
        return workflows[path] or names.followable(path, tree) or included(path)

    def renders(path: str) -> bool:  # a chart above it, or a chart given values files
        above = index.files_above(posixpath.dirname(path), (names.CHART_FILE,))
        return configured or any(chart != names.CHART_FILE for chart in above)

    def composed(path: str) -> bool:  # a compose file beside or above it (compose.owners)
        if names.is_compose_file(path) or names.is_dockerfile(path):
            return False
        return bool(index.files_above(posixpath.dirname(path), names.COMPOSE_DEFAULT_NAMES))

    def gives_values(path: str) -> bool:  # what terraform.owners looks at
        if names.is_terragrunt(path):
            return True
        parts = path.split("/")  # (.hcl: a file terragrunt configurations include or read)
        owned = (*names.TERRAFORM_OWNED_SUFFIXES, ".hcl")
        if ".terraform" in parts:
            return False
        if path.endswith(owned):
            return True
        # a YAML or JSON file a configuration may decode (terraform.owners)
        return path.endswith((".yaml", ".yml", ".json")) and terragrunt_near(path)

    def terragrunt_near(path: str) -> bool:  # a terragrunt configuration (or the root.hcl
        # configurations include) beside it or above it, else one anywhere in the tree: a
        # configuration below or beside the file's folder decodes `../../vars/common.yaml`
        # as well (red team s19 trust12 t04); the tree's listing is asked once per run
        marks = (*names.TERRAGRUNT_NAMES, "root.hcl")
        folder = posixpath.dirname(path)
        if index.files_above(folder, marks):
            return True
        if (  # what is some other tool's (no listing for a manifest's or a chart's hook)
            names.workflow_kind(path)
            or names.is_kustomization(path)
            or names.is_compose_file(path)
            or index.files_above(folder, (names.CHART_FILE,))
        ):
            return False
        # A scan asks this of every YAML file: once the tree is known to hold no terragrunt
        # configuration, none is read for it (8,880 reads of the k8s-full corpus); a hook on
        # a manifest reads its file rather than list the tree.
        if index.known("terragrunt anywhere", ""):
            anywhere = index.remember("terragrunt anywhere", "", _any_terragrunt)
            return anywhere and not _manifest(tree, path)
        if _manifest(tree, path):
            return False
        return index.remember("terragrunt anywhere", "", _any_terragrunt)

    def builds_with(path: str) -> bool:  # a kustomization's resource, patch or input
        if names.is_kustomization(path) or not path.endswith(
            (".yaml", ".yml", ".json", ".env", ".properties")
        ):
            return False
        # kustomize.owners looks below the path's top-level folder (a tree in memory: all
        # of it) for a kustomization reading it: none there, none found.
        whole = isinstance(tree, MemoryTree)
        top = "" if whole else (path.split("/", 1)[0] if "/" in path else "")
        return bool(kustomization_files(tree, top))

    return {
        "dockerfile": builds,
        "workflow": runs,
        "helm": renders,
        "kustomize": builds_with,
        "compose": composed,
        "terraform": gives_values,
        "kubernetes": lambda path: False,  # adapters without owners
        "pulumi": lambda path: False,
    }


_OBJECT_KEYS = lazy_re.compile(
    rb'^(?:(?:apiVersion|kind)\s*:|[\s{]*"(?:apiVersion|kind)"\s*:)', re.M
)


_METADATA_KEY = lazy_re.compile(rb'^(?:metadata\s*:|[\s{,]*"metadata"\s*:)', re.M)


def _manifest(tree: Tree, path: str) -> bool:
    """Does the file look like a Kubernetes object (an `apiVersion` or `kind` key at its
    top, and `metadata`)? Values a terragrunt configuration decodes are plain data: a file
    of them may start with `apiVersion`/`kind` too (red team s20 trust13 s03); without
    `metadata` it is no object the API server takes, and is looked up for decoders."""
    try:
        head = tree.read(path)[:4096]
    except OSError:
        return False
    return bool(_OBJECT_KEYS.search(head)) and bool(_METADATA_KEY.search(head))


def _any_terragrunt(tree: Tree, _key: str) -> bool:
    """Does a git work tree hold a terragrunt configuration anywhere (one `git ls-files`)?
    Never a walk of a folder git does not list (a pre-commit hook runs in a repository)."""
    import os

    from gatekeeper import ownership
    from gatekeeper.sources.names import TERRAGRUNT_NAMES

    if not (isinstance(tree, WorkTree) and os.path.exists(os.path.join(tree.root, ".git"))):
        return False
    return bool(ownership.of(tree).named_below("", frozenset(TERRAGRUNT_NAMES)))


def kustomization_files(tree: Tree, top: str) -> list[str]:
    """The kustomizations kustomize.owners looks at for a file below the top-level folder
    `top`: every one below it ("" with a tree in memory: the whole tree); on disk, for a
    file at the root, the root's own alone (never the whole repository). Kept for the run:
    asked before the adapter is imported (with_owners), and by it."""
    from gatekeeper import ownership
    from gatekeeper.sources.names import KUSTOMIZATION_FILES

    def listed(tree: Tree, top: str) -> list[str]:
        index = ownership.of(tree)
        if top or isinstance(tree, MemoryTree):
            return index.named_below(top, frozenset(KUSTOMIZATION_FILES))
        return [name for name in KUSTOMIZATION_FILES if index.exists(name)]

    return ownership.of(tree).remember("kustomization files", top, listed)


def with_owners(paths: list[str], context: LoadContext) -> list[str]:
    """`paths` plus the files that render them: a changed template brings its chart's
    Chart.yaml, a changed base resource the kustomizations that build it. An adapter may
    define `owners(path, context) -> list[str]` for this."""
    out = list(paths)
    seen = set(out)
    if len(paths) >= LISTING_PAYS and isinstance(context.tree, WorkTree):
        context.tree.list_dir(".")  # one walk answers the lookups below (see WorkTree.exists)
    tests = _owner_tests(context, paths)
    for source in _registry():
        test = tests.get(source.NAME)
        asked = paths if test is None else [path for path in paths if test(path)]
        owners = getattr(source.module(), "owners", None) if asked else None
        if owners is None:
            continue
        for path in asked:
            for owner in owners(path, context):
                if owner not in seen and context.tree.exists(owner):
                    seen.add(owner)
                    out.append(owner)
    return out
