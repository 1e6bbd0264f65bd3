"""Findings, severities and fingerprints."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, replace
from typing import Any

SEVERITIES = ("critical", "high", "medium", "low", "info")
_RANK = {name: rank for rank, name in enumerate(reversed(SEVERITIES))}


def severity_rank(severity: str) -> int:
    """info=0 ... critical=4."""
    return _RANK[severity]


def at_least(severity: str, threshold: str) -> bool:
    return severity_rank(severity) >= severity_rank(threshold)


def fingerprint(*parts: str) -> str:
    """A hash of identity parts; never of a line number, so it survives moves and renames."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return digest[:20]


@dataclass(frozen=True)
class Finding:
    policy_id: str
    severity: str
    title: str
    message: str
    file: str
    line: int
    column: int = 1
    end_line: int = 0
    end_column: int = 0
    path: str = ""  # field path in the object, as written by fieldpath.format_path
    source: str = ""
    kind: str = ""
    namespace: str = ""
    name: str = ""
    fingerprint: str = ""
    remediation: str = ""
    help_uri: str = ""
    fix: dict[str, Any] | None = None
    # Set by decide: new | existing | fixed | waived | ... ; and whether it blocks.
    status: str = "new"
    blocking: bool = False
    waiver: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def with_(self, **changes: Any) -> Finding:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def resource(self) -> str:
        if not self.kind:
            return ""
        target = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {target}".strip()

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.file, self.line, self.column, self.policy_id)
