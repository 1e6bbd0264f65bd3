"""Findings, severities and fingerprints."""

from __future__ import annotations

import hashlib
import operator
from dataclasses import dataclass, field, fields
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


@dataclass(frozen=True, slots=True)
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
        """dataclasses.replace, without its keyword __init__ (a scan replaces every finding)."""
        values = list(_values(self))
        for name, value in changes.items():
            position = _POSITION.get(name)
            if position is None:
                raise TypeError(f"Finding has no field {name!r}")
            values[position] = value
        new = object.__new__(Finding)
        for setter, value in zip(_SETTERS, values, strict=True):
            setter(new, value)
        return new

    def to_dict(self) -> dict[str, Any]:
        """Like dataclasses.asdict (nested values copied), without its per-value deepcopy."""
        out = {}
        for name in FIELD_NAMES:
            value = getattr(self, name)
            out[name] = value if type(value) in _SCALARS else _plain(value)
        return out

    def __reduce__(self) -> tuple[type[Finding], tuple[Any, ...]]:
        """Pickled as its values in order (pool workers send every finding to the parent):
        smaller and quicker both ways than the dataclass's per-field state."""
        return Finding, _values(self)

    @property
    def resource(self) -> str:
        if not self.kind:
            return ""
        target = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {target}".strip()

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.file, self.line, self.column, self.policy_id)


# Every field, in order (reports write them in this order).
FIELD_NAMES = tuple(item.name for item in fields(Finding))
_POSITION = {name: position for position, name in enumerate(FIELD_NAMES)}
_values = operator.attrgetter(*FIELD_NAMES)
# The slots' own setters: a copy is made field by field without the frozen __setattr__.
_SETTERS = tuple(Finding.__dict__[name].__set__ for name in FIELD_NAMES)
_SCALARS = frozenset({str, int, bool, float, type(None)})


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_plain(item) for item in value)
    return value
