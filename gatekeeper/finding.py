"""Findings, severities and fingerprints.

A full scan of a large repository holds 100,000 findings until its report is written, and most
of what they say is said by many of them: a policy's id, title and remediation, a file name,
`{"exact": true}`, a fix. A finding keeps its own value only where it differs (its
fingerprint, its lines); equal texts are one interned string, and equal `extra`, `fix` and
`waiver` values one read-only instance (SharedDict), whichever process or path built them.
"""

from __future__ import annotations

import functools
import hashlib
import operator
from collections.abc import Callable, Iterable
from dataclasses import FrozenInstanceError
from sys import intern
from typing import Any, NamedTuple, NoReturn

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


class _Fields(NamedTuple):
    """A finding's fields, in the order reports write them."""

    policy_id: str
    severity: str
    title: str
    message: str
    file: str
    line: int
    column: int
    end_line: int
    end_column: int
    path: str  # field path in the object, as written by fieldpath.format_path
    source: str
    kind: str
    namespace: str
    name: str
    fingerprint: str
    remediation: str
    help_uri: str
    fix: dict[str, Any] | None
    # Set by decide: new | existing | fixed | waived | ... ; and whether it blocks.
    status: str
    blocking: bool
    waiver: dict[str, Any] | None
    extra: dict[str, Any]


class Finding(_Fields):
    """One violation at one place. A tuple: a scan makes, copies (with_) and sends between
    processes 100,000 of them, and a tuple is made, copied and unpickled in one C call where a
    frozen dataclass sets each of its 22 fields by a Python call. Read-only like one."""

    __slots__ = ()

    def __new__(
        cls,
        policy_id: str,
        severity: str,
        title: str,
        message: str,
        file: str,
        line: int,
        column: int = 1,
        end_line: int = 0,
        end_column: int = 0,
        path: str = "",
        source: str = "",
        kind: str = "",
        namespace: str = "",
        name: str = "",
        fingerprint: str = "",
        remediation: str = "",
        help_uri: str = "",
        fix: dict[str, Any] | None = None,
        status: str = "new",
        blocking: bool = False,
        waiver: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Finding:
        return _rebuilt(
            policy_id,
            severity,
            title,
            message,
            file,
            line,
            column,
            end_line,
            end_column,
            path,
            source,
            kind,
            namespace,
            name,
            fingerprint,
            remediation,
            help_uri,
            fix,
            status,
            blocking,
            waiver,
            {} if extra is None else extra,
        )

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def with_(self, **changes: Any) -> Finding:
        """A copy with some fields changed (compacted as a new finding's are)."""
        values = list(self)
        for name, value in changes.items():
            position = _POSITION.get(name)
            if position is None:
                raise TypeError(f"Finding has no field {name!r}")
            compact = _COMPACT[position]
            values[position] = value if compact is None else compact(value)
        return tuple.__new__(Finding, values)

    def blocking_as(self, blocking: bool) -> Finding:
        """with_(blocking=blocking), without its keyword loop: the verdict marks most of a
        scan's findings (77,000 on the real k8s-full corpus), each a copy."""
        values = list(self)
        values[_BLOCKING] = blocking
        return tuple.__new__(Finding, values)

    def fingerprint_as(self, fingerprint: str) -> Finding:
        """with_(fingerprint=fingerprint), the same way: a fixture library's twins each get
        an ordinal (82,000 of the k8s-full corpus's 88,744 findings)."""
        values = list(self)
        values[_FINGERPRINT] = fingerprint
        return tuple.__new__(Finding, values)

    def to_dict(self) -> dict[str, Any]:
        """Like dataclasses.asdict (nested values copied)."""
        return {
            name: value if type(value) in _SCALARS else _plain(value)
            for name, value in zip(FIELD_NAMES, self, strict=True)
        }

    def __reduce__(self) -> tuple[Callable[..., Finding], tuple[Any, ...]]:
        """Pickled as its values in order (pool workers send every finding to the parent);
        unpickled with its texts and dicts shared again: a pickle shares them within one
        worker's chunk only (_unpickled)."""
        return _unpickled, (tuple(self),)

    @property
    def resource(self) -> str:
        if not self.kind:
            return ""
        target = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {target}".strip()

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        return by_place(self)


def _rebuilt(*values: Any) -> Finding:
    """A finding from its values in field order, every one compacted."""
    made = [
        intern(value) if text and type(value) is str else value
        for text, value in zip(_TEXT_FIELDS, values, strict=True)
    ]
    for position in _SHARED_POSITIONS:
        made[position] = shared(made[position])
    return tuple.__new__(Finding, made)


def _unpickled(values: tuple[Any, ...]) -> Finding:
    """_rebuilt(*values), with C doing the work for each field (a scan unpickles every
    finding: 88,557 on k8s-full, 0.45 s field by field): its texts interned together
    (`intern` takes a `str` only: anything else, field by field), its dicts shared already
    (a SharedDict unpickles as the shared instance; anything else, field by field)."""
    if not (
        type(values[_EXTRA]) is SharedDict
        and (values[_FIX] is None or type(values[_FIX]) is SharedDict)
        and (values[_WAIVER] is None or type(values[_WAIVER]) is SharedDict)
    ):
        return _rebuilt(*values)
    try:
        texts = tuple(map(intern, _texts_of(values)))
    except TypeError:
        return _rebuilt(*values)
    return tuple.__new__(Finding, _in_order(texts + values))


def as_columns(findings: Iterable[Finding]) -> list[tuple[Any, ...]]:
    """Findings as their fields' columns (every policy id, then every severity, ...), the
    way a pool's chunk sends them to the parent (scanner._packed): pickled, a column of ints
    is a run of ints and a column of texts a run of references to the few texts a chunk
    holds, with no call per finding (a Finding pickles through its __reduce__); [] for none."""
    return list(zip(*findings, strict=True))


def from_columns(columns: list[tuple[Any, ...]]) -> list[Finding]:
    """The findings of as_columns' columns, compacted as _unpickled has them (texts interned,
    dicts shared), column by column in C: a chunk's texts arrive as copies of its own
    (0.11 -> 0.06 s for 53,000 findings of the real k8s-full corpus, packing included)."""
    if not columns:
        return []
    made = list(columns)
    for position in _TEXT_POSITIONS:
        try:
            made[position] = tuple(map(intern, made[position]))
        except TypeError:  # a value that is not exactly a str: field by field
            made[position] = tuple(map(_text, made[position]))
    for position in _SHARED_POSITIONS:
        if not set(map(type, made[position])) <= _SHARED_TYPES:
            made[position] = tuple(map(shared, made[position]))
    return list(map(_as_finding, zip(*made, strict=True)))


def compacted(values: tuple[Any, ...]) -> Finding:
    """A finding of values in field order that are compacted already: its texts one object
    each (a policy's and a document's as they are, a message and path interned) and its
    dicts shared. What a scan builds for each of its 100,000 findings (evaluate.Engine._made)."""
    return tuple.__new__(Finding, values)


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
    return intern(value) if type(value) is str else value


# Every field, in order (reports write them in this order).
FIELD_NAMES: tuple[str, ...] = _Fields._fields
_POSITION = {name: position for position, name in enumerate(FIELD_NAMES)}


def field_values(finding: Finding) -> tuple[Any, ...]:
    """Every field's value, in field order (a report writes them all): the finding itself."""
    return finding


# A finding's place, its sort key: (file, line, column, policy_id), read in C.
by_place: Callable[[Finding], tuple[str, int, int, str]] = operator.itemgetter(
    *(_POSITION[name] for name in ("file", "line", "column", "policy_id"))
)
# How each field is compacted: texts interned (not the fingerprint: each is its own), dicts
# shared, numbers kept.
_SHARED_FIELDS = frozenset({"extra", "fix", "waiver"})
_OWN_FIELDS = frozenset({"fingerprint", "line", "column", "end_line", "end_column", "blocking"})
_COMPACT: tuple[Callable[[Any], Any] | None, ...] = tuple(
    shared if name in _SHARED_FIELDS else None if name in _OWN_FIELDS else _text
    for name in FIELD_NAMES
)
_TEXT_FIELDS = tuple(compact is _text for compact in _COMPACT)
_EXTRA, _FIX, _WAIVER = (_POSITION[name] for name in ("extra", "fix", "waiver"))
# Fields kept as given (_OWN_FIELDS) that blocking_as and fingerprint_as set.
_BLOCKING, _FINGERPRINT = _POSITION["blocking"], _POSITION["fingerprint"]
# A finding's texts, read in C; and its fields from (its texts interned + its values).
_TEXT_POSITIONS = [position for position, text in enumerate(_TEXT_FIELDS) if text]
_texts_of: Callable[[tuple[Any, ...]], tuple[str, ...]] = operator.itemgetter(*_TEXT_POSITIONS)
_in_order: Callable[[tuple[Any, ...]], tuple[Any, ...]] = operator.itemgetter(
    *(
        _TEXT_POSITIONS.index(position) if text else len(_TEXT_POSITIONS) + position
        for position, text in enumerate(_TEXT_FIELDS)
    )
)
_SHARED_POSITIONS = tuple(_POSITION[name] for name in sorted(_SHARED_FIELDS))
_SCALARS = frozenset({str, int, bool, float, type(None)})
# What a shared field's value already is when it was compacted (from_columns).
_SHARED_TYPES: frozenset[type] = frozenset({SharedDict, type(None)})
_as_finding: Callable[[tuple[Any, ...]], Finding] = functools.partial(tuple.__new__, Finding)


def _plain(value: Any) -> Any:
    """A plain copy: SharedDicts and SharedLists become dicts and lists."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_plain(item) for item in value)
    return value


def joined_extra(findings: Iterable[Finding], key: str, separator: str = ", ") -> str:
    """The parts of the `separator`-joined list `key` of the findings' extra, together and
    sorted ("" when none): what the renderings of one finding record (image_identity,
    subject_identity, content_identity), kept whole when they are said as one."""
    found = {
        part
        for finding in findings
        for part in str(finding.extra.get(key) or "").split(separator)
        if part
    }
    return separator.join(sorted(found))
