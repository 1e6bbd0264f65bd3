"""A compiled policy, ready to evaluate."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gatekeeper import lazy_re
from gatekeeper.fieldpath import Path, Pattern
from gatekeeper.policy.cel import Program

# A message placeholder: `{{ item.name }}`, a field path into a CEL variable.
PLACEHOLDER = lazy_re.compile(r"\{\{\s*([A-Za-z_][^{}]*?)\s*\}\}")


@dataclass(frozen=True)
class Match:
    """Which documents a policy judges: their source, kinds, namespaces and a CEL condition."""

    source: str
    kinds: frozenset[str] = frozenset()  # empty: every kind
    namespaces: frozenset[str] = frozenset()
    exclude_namespaces: frozenset[str] = frozenset()
    condition: Program | None = None


@dataclass
class Policy:
    """One policy as its file declares it: what it matches, its CEL rule, its tests."""

    id: str
    title: str
    severity: str
    description: str
    remediation: str
    match: Match
    rule: Program
    file: str  # the policy file, for errors and `gatekeeper test`
    pack: str = ""
    references: tuple[str, ...] = ()
    each: tuple[Pattern, ...] = ()
    field_path: Path = ()  # where a violation points, relative to the subject
    # Where its line is said, if the object has it (the first of these, relative to the
    # subject): a finer place than `field`, which its fingerprint keeps (waivers match).
    locate_paths: tuple[Path, ...] = ()
    message: str = ""
    message_expression: Program | None = None
    params: dict[str, Any] = field(default_factory=dict)
    params_schema: dict[str, Any] = field(default_factory=dict)  # declared or inferred
    fix: dict[str, Any] | None = None
    tests: list[dict[str, Any]] = field(default_factory=list)
    scope: str = "document"  # document | repository (see gatekeeper.inventory)
    # Repository scope: CEL over `params` giving the kinds the rule counts (`inventory`).
    inventory_kinds: Program | None = None
    # Repository scope: "namespace" says a failing namespace once (gatekeeper.namespace_findings).
    group: str = "object"
    overrides: str = ""  # the id of an earlier policy this one replaces, on purpose
    replaced: str = ""  # `file:line` of the policy it replaced (set by load_bundle)
    lines: dict[str, int] = field(default_factory=dict)  # top-level key -> line
    raw: dict[str, Any] = field(default_factory=dict)

    def line(self, key: str) -> int:
        return self.lines.get(key, 1)

    @property
    def pod_policy(self) -> bool:
        """Written for Pod: runs on the pod template of every workload kind too."""
        return (
            self.match.source in ("kubernetes", "helm", "kustomize") and "Pod" in self.match.kinds
        )
