"""Findings, severities and fingerprints.

A full scan of a large repository holds 100,000 findings until its report is written, and most
of what they say is said by many of them: a policy's id, title and remediation, a file name,
`{"exact": true}`, a fix. A finding keeps its own value only where it differs (its
fingerprint, its lines); equal texts are one interned string, and equal `extra`, `fix` and
`waiver` values one read-only instance (SharedDict), whichever process or path built them.
"""

from __future__ import annotations

import hashlib
import operator
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, NoReturn

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

    def __post_init__(self) -> None:
        # What a finding's builder makes anew for each finding; its other texts come from the
        # policy or the document, one object already (pickling and with_ share them all).
        _SET["message"](self, _text(self.message))
        _SET["path"](self, _text(self.path))
        _SET["extra"](self, shared(self.extra))
        if self.fix is not None:
            _SET["fix"](self, shared(self.fix))
        if self.waiver is not None:
            _SET["waiver"](self, shared(self.waiver))

    def with_(self, **changes: Any) -> Finding:
        """dataclasses.replace, without its keyword __init__ (a scan replaces every finding)."""
        values = list(field_values(self))
        for name, value in changes.items():
            position = _POSITION.get(name)
            if position is None:
                raise TypeError(f"Finding has no field {name!r}")
            compact = _COMPACT[position]
            values[position] = value if compact is None else compact(value)
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

    def __reduce__(self) -> tuple[Callable[..., Finding], tuple[Any, ...]]:
        """Pickled as its values in order (pool workers send every finding to the parent):
        smaller and quicker both ways than the dataclass's per-field state. Unpickled with its
        texts and dicts shared again: a pickle shares them within one worker's chunk only."""
        return _rebuilt, field_values(self)

    @property
    def resource(self) -> str:
        if not self.kind:
            return ""
        target = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {target}".strip()

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.file, self.line, self.column, self.policy_id)


def _rebuilt(*values: Any) -> Finding:
    """A finding from its values in field order (see Finding.__reduce__), compacted."""
    new = object.__new__(Finding)
    for setter, compact, value in zip(_SETTERS, _COMPACT, values, strict=True):
        setter(new, value if compact is None else compact(value))
    return new


def from_values(*values: Any) -> Finding:
    """`Finding(*values)`, every value given in field order and compacted as __post_init__
    compacts it: what a scan builds for each of its 100,000 findings, without the frozen
    dataclass's __init__ (a setattr call per field: two thirds of the cost)."""
    new = object.__new__(Finding)
    for setter, value in zip(_SETTERS, values, strict=True):
        setter(new, value)
    new.__post_init__()
    return new


class SharedDict(dict[str, Any]):
    """A dict that findings share (`extra`, `fix`, `waiver`): read-only, since changing one in
    place would change every finding that holds it. Make a new one: `{**finding.extra, ...}`."""

    __slots__ = ()

    def _read_only(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("a finding's dict is shared and read-only; build a new one")

    __setitem__ = __delitem__ = update = setdefault = pop = popitem = clear = _read_only
    __ior__ = _read_only

    def __reduce__(self) -> tuple[Callable[[Any], Any], tuple[dict[str, Any]]]:
        """Unpickled as the one shared instance (a pickle writes an instance once however
        many findings hold it; each of them then finds it shared already)."""
        return shared, (dict(self),)


class SharedList(list[Any]):
    """A list inside a shared dict (`variants`): read-only, like SharedDict."""

    __slots__ = ()

    def _read_only(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("a finding's list is shared and read-only; build a new one")

    __setitem__ = __delitem__ = append = extend = insert = pop = remove = clear = _read_only
    sort = reverse = __iadd__ = __imul__ = _read_only

    def __reduce__(self) -> tuple[type[SharedList], tuple[list[Any]]]:
        return SharedList, (list(self),)


# One instance per distinct value, for the life of the process (bounded: a run's distinct
# values are a few hundred; tests run many scans in one process).
_SHARED: dict[Any, Any] = {}
_MAX_SHARED = 1 << 16
# The same instances by id (kept alive by _SHARED, so an id is never another's).
_INSTANCES: dict[int, Any] = {}


def shared(value: Any) -> Any:
    """The one read-only instance of a value equal to `value` (a dict or None)."""
    if value is None:
        return None
    if _INSTANCES.get(id(value)) is value:  # that instance itself (a builder kept it)
        return value
    try:
        key = _key(value)
        found = _SHARED.get(key)
    except TypeError:  # something unhashable deep inside: kept as it is, read-only
        return _read_only(value)
    if found is None:
        found = _read_only(value)
        if len(_SHARED) < _MAX_SHARED:
            _SHARED[key] = found
            _INSTANCES[id(found)] = found
    return found


def _key(value: Any) -> Any:
    """What makes two values the same to a report: content, order and types (`1` is not
    `true`, a tuple is not a list)."""
    kind = type(value)
    if kind is dict or kind is SharedDict:
        return (dict, tuple([(type(k), k, _key(v)) for k, v in value.items()]))
    if kind is list or kind is SharedList:
        return (list, tuple(_key(item) for item in value))
    if kind is tuple:
        return (tuple, tuple(_key(item) for item in value))
    return (kind, value)


def _read_only(value: Any) -> Any:
    kind = type(value)
    if kind is dict or kind is SharedDict:
        return SharedDict((key, _read_only(item)) for key, item in value.items())
    if kind is list or kind is SharedList:
        return SharedList(_read_only(item) for item in value)
    return value


def _text(value: Any) -> Any:
    return sys.intern(value) if type(value) is str else value


# Every field, in order (reports write them in this order).
FIELD_NAMES = tuple(item.name for item in fields(Finding))
_POSITION = {name: position for position, name in enumerate(FIELD_NAMES)}
# Every field's value, in field order (a report writes them all).
field_values = operator.attrgetter(*FIELD_NAMES)
# The slots' own setters: a copy is made field by field without the frozen __setattr__.
_SETTERS = tuple(Finding.__dict__[name].__set__ for name in FIELD_NAMES)
_SET = dict(zip(FIELD_NAMES, _SETTERS, strict=True))
# How each field is compacted: texts interned (not the fingerprint: each is its own), dicts
# shared, numbers kept.
_SHARED_FIELDS = frozenset({"extra", "fix", "waiver"})
_OWN_FIELDS = frozenset({"fingerprint", "line", "column", "end_line", "end_column", "blocking"})
_COMPACT: tuple[Callable[[Any], Any] | None, ...] = tuple(
    shared if name in _SHARED_FIELDS else None if name in _OWN_FIELDS else _text
    for name in FIELD_NAMES
)
_SCALARS = frozenset({str, int, bool, float, type(None)})


def _plain(value: Any) -> Any:
    """A plain copy: SharedDicts and SharedLists become dicts and lists."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_plain(item) for item in value)
    return value
