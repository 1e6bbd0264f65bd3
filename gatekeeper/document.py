"""What every source produces: documents with a locator, and problems it could not load."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from gatekeeper.fieldpath import Path

# What a rendering's name (Document.extra["variant"]) adds when the rendering assumed
# something of where it is applied: a Helm chart on a cluster serving more APIs or another
# Kubernetes version, as an upgrade or where `lookup` finds objects, a Terraform root with a
# `-var-file`, the `TF_VAR_` values a workflow (or terragrunt.hcl's `inputs`) applies it
# with, or its unknown conditions taken one way. A finding the rendering without the
# assumption also has names no assumption (scanner.merge_variants).
ASSUMED_APIS = " --api-versions "
ASSUMED_KUBE = " --kube-version "
WITH_VAR_FILE = " with -var-file="
WITH_CONDITIONS = " with unknown conditions "
ASSUMED_LOOKUP = " where lookup finds objects"
ASSUMED_UPGRADE = " --is-upgrade"
WITH_WORKFLOW_ENV = " with TF_VAR_ of "
WITH_TERRAGRUNT = " with the inputs of "
BUILT_BY = " as built by "  # a Dockerfile with the build args or target a workflow gives
ASSUMPTIONS = (
    ASSUMED_APIS,
    ASSUMED_KUBE,
    ASSUMED_UPGRADE,
    ASSUMED_LOOKUP,
    WITH_VAR_FILE,
    WITH_CONDITIONS,
    WITH_WORKFLOW_ENV,
    WITH_TERRAGRUNT,
    BUILT_BY,
)


class Location(NamedTuple):
    """A place in a file; lines and columns are 1-based. `exact` is False for an ancestor."""

    file: str
    line: int
    column: int = 1
    end_line: int = 0
    end_column: int = 0
    exact: bool = True
    # Where a rendered field's value was set, as `file:line` (a Helm values line), if known.
    values: str = ""
    # The name a value travelled through to the field, and where that is used (Terraform:
    # `local.off, used at main.tf:9`), when the location is where the value is written.
    via: str = ""


class Locator(Protocol):
    def locate(self, path: Path) -> Location:
        """The location of `path`, or of its nearest existing ancestor."""
        ...


class SubLocator:
    """A locator for an object nested in another at `prefix` (a List item, a manifest a
    controller applies from inside another object)."""

    def __init__(self, parent: Locator, prefix: Path) -> None:
        self.parent = parent
        self.prefix = prefix

    def locate(self, path: Path) -> Location:
        return self.parent.locate((*self.prefix, *path))


@dataclass
class Document:
    """One parsed object of a source file (a Kubernetes object, a Dockerfile, a workflow...)."""

    source: str
    file: str
    obj: Any
    locator: Locator
    index: int = 0
    # Identity for fingerprints: stable across line moves and renames.
    kind: str = ""
    namespace: str = ""
    name: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def display_name(self) -> str:
        parts = [self.kind or self.source]
        if self.namespace:
            parts.append(f"{self.namespace}/{self.name}")
        elif self.name:
            parts.append(self.name)
        return " ".join(parts)


@dataclass(frozen=True)
class Problem:
    """Something in a scanned file we could not load; it is reported, never dropped."""

    code: str  # e.g. GK-PARSE-ERROR, see gatekeeper.problems
    file: str
    line: int
    message: str
    column: int = 1
    # What the problem is about, for code that acts on it rather than on its wording (the
    # folder of an absent Flux Kustomization path: flux.gone_from_base); in the finding's
    # extra as `subject`.
    subject: str = ""
    # A candidate the scan judges before saying it (chart_secrets: the key and the value a
    # policy's rule reads); None for a problem said as it is.
    candidate: tuple[str, str] | None = None


def extend_new(problems: list[Problem], more: Iterable[Problem]) -> None:
    """Append to `problems` each of `more` it does not hold yet, in order: a set of them
    (problems are frozen), where `p not in problems` compared each with every held one (a
    HelmRelease's chart-values candidates, one per string value, made Flux expansions
    quadratic: 1.2 million comparisons in onedr0p/home-ops)."""
    held = set(problems)
    for problem in more:
        if problem not in held:
            held.add(problem)
            problems.append(problem)


@dataclass
class Loaded:
    """What an adapter made of its files: documents to judge, and problems at their lines."""

    documents: list[Document] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
