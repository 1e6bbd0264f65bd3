"""Module calls whose `source` is a remote address: this repository at a ref, or elsewhere.

`source = "git::https://github.com/acme/platform.git//modules/db?ref=v1.0.0"` in a
repository whose remote is acme/platform calls a module of this very repository at tag
v1.0.0, the usual way to version in-repository modules: it was judged as an unseen remote
module, so `public = true` passed (red team r29). Such a call is instantiated as a local one
is (terraform_modules), from the module's files at that ref as Argo CD revisions are read
(gitops_revision): the tree at hand when the ref is the judged one, else the ref's commit,
every finding then at the `source` line; a ref this checkout lacks is GK-REVISION-UNSEEN.
Any other remote source (another repository, an archive, a bucket) that is not a
well-known registry module (terraform_registry) is said not to be judged (GK-NOT-EXPANDED).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs

from gatekeeper import lazy_re
from gatekeeper.document import Location, Locator, Problem
from gatekeeper.fieldpath import Path
from gatekeeper.hcl import Block, Parsed
from gatekeeper.sources import LoadContext
from gatekeeper.tree import Tree

_FORCED = lazy_re.compile(r"^([a-z0-9]+)::")  # go-getter's forced getter (`git::`, `s3::`)
_SCP = lazy_re.compile(r"^[\w.-]+@[\w.-]+:")  # `git@github.com:acme/x.git`
_SHORTHAND = ("github.com/", "bitbucket.org/")  # what go-getter's detectors read as git


@dataclass(frozen=True)
class GitSource:
    url: str
    directory: str  # the `//subdir`, "" for the repository's root
    ref: str


def git_source(source: str) -> GitSource | None:
    """A module source that go-getter fetches with git, split; None for any other."""
    text = source.strip()
    forced = _FORCED.match(text)
    if forced is not None:
        if forced.group(1) != "git":
            return None
        text = text[forced.end() :]
    elif text.startswith(_SHORTHAND):
        text = f"https://{text}"
    elif not _SCP.match(text):
        return None
    address, _, query = text.partition("?")
    start = address.find("://") + 3 if "://" in address else 0
    url, _, directory = address[start:].partition("//")
    ref = (parse_qs(query).get("ref") or [""])[0]
    return GitSource(address[:start] + url, directory.strip("/"), ref)


@dataclass(frozen=True)
class OwnModule:
    """A module of this repository called by a git source: its files at `ref`."""

    tree: Tree | None  # None: the checkout lacks the ref
    directory: str
    ref: str
    other: bool  # a revision other than the one judged


def own_module(source: object, context: LoadContext) -> OwnModule | None:
    """The module a git source names when it is this repository (its configured or remote
    URLs: context.with_own_urls), or None."""
    from gatekeeper.sources import gitops_revision
    from gatekeeper.sources.gitops import normalise_url

    if not isinstance(source, str):
        return None
    found = git_source(source)
    urls = context.repo_urls()
    if found is None or normalise_url(found.url) not in {normalise_url(u) for u in urls}:
        return None
    revision = gitops_revision.revision(found.ref or "HEAD", context.tree)
    return OwnModule(revision.tree, found.directory, found.ref, revision.other)


def problems(path: str, parsed: Parsed, context: LoadContext) -> list[Problem]:
    """What the remote module calls of a file leave unjudged, at their `source` lines."""
    from gatekeeper.sources.terraform import SpanLocator
    from gatekeeper.sources.terraform_modules import local_source
    from gatekeeper.sources.terraform_registry import module_for

    out = []
    directory = path.rpartition("/")[0]
    for block in _module_blocks(parsed):
        source = block.body.get("source")
        if not isinstance(source, str) or "${" in source or source.startswith(("./", "../")):
            continue  # a local path: terraform_modules reads it
        if local_source(directory, block) is not None or module_for(source) is not None:
            continue
        line = SpanLocator(path, block.span).locate(("source",)).line
        own = own_module(source, context)
        if own is not None and own.tree is None:
            message = (
                f"module.{block.labels[0]} calls {own.directory or 'the root'} of this"
                f" repository at {own.ref}, which this checkout does not have: what it"
                " deploys is not judged"
            )
            out.append(Problem("GK-REVISION-UNSEEN", path, line, message))
        elif own is None and not _registry_address(source):
            message = (
                f"module.{block.labels[0]} comes from {source}, outside this repository:"
                " what it deploys is not judged"
            )
            out.append(Problem("GK-NOT-EXPANDED", path, line, message))
    return out


def _module_blocks(parsed: Parsed) -> list[Block]:
    return [block for block in parsed.blocks if block.type == "module" and block.labels]


_REGISTRY = lazy_re.compile(r"^([\w.-]+/)?[\w-]+/[\w-]+/[\w-]+(//.*)?$")


def _registry_address(source: str) -> bool:
    """A registry module (`namespace/name/provider`, with a host): versioned and published,
    judged where it is built; not reported here (terraform_registry judges well-known ones)."""
    return bool(_REGISTRY.match(source)) and not source.startswith(_SHORTHAND)


@dataclass(frozen=True)
class PinnedLocator:
    """A module judged at another revision: its own lines are not this checkout's, so what
    is in the module is located at the call's `source` line (what the caller passes stays
    at its argument)."""

    inner: Locator
    caller: str
    line: int

    def locate(self, path: Path) -> Location:
        location = self.inner.locate(path)
        if location.file == self.caller:
            return location
        return Location(self.caller, self.line, exact=False)
