"""Field paths: `spec.containers[0].securityContext`, `metadata.annotations["a.b/c"]`.

A path is a tuple of str (mapping keys) and int (sequence indices). Patterns may also
hold WILDCARD (`[*]`), which `expand` resolves against an object.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Final

from gatekeeper import lazy_re

Key = str | int
Path = tuple[Key, ...]


class _Wildcard:
    def __repr__(self) -> str:
        return "[*]"


WILDCARD: Final = _Wildcard()
PatternKey = str | int | _Wildcard
Pattern = tuple[PatternKey, ...]

_TOKEN = lazy_re.compile(
    r"""
    \.?(?P<name>[A-Za-z_$][A-Za-z0-9_$\-]*)   # .name
    | \[(?P<index>-?\d+)\]                     # [0]
    | \[(?P<star>\*)\]                         # [*]
    | \[(?P<quote>["'])(?P<key>(?:\\.|(?!(?P=quote)).)*)(?P=quote)\]  # ["a.b/c"]
    """,
    re.VERBOSE,
)
_PLAIN = lazy_re.compile(r"[A-Za-z_$][A-Za-z0-9_$\-]*\Z")


class FieldPathError(ValueError):
    pass


def parse(text: str) -> Pattern:
    """Parse a field path pattern; an empty string is the root."""
    keys: list[PatternKey] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or (pos == 0 and text.startswith(".")):
            raise FieldPathError(f"invalid field path {text!r} at character {pos + 1}")
        if match["name"] is not None:
            if pos and not text.startswith(".", pos):
                raise FieldPathError(f"invalid field path {text!r} at character {pos + 1}")
            keys.append(match["name"])
        elif match["index"] is not None:
            keys.append(int(match["index"]))
        elif match["star"] is not None:
            keys.append(WILDCARD)
        else:
            keys.append(re.sub(r"\\(.)", r"\1", match["key"]))
        pos = match.end()
    return tuple(keys)


def format_path(path: tuple[Any, ...]) -> str:
    """The inverse of `parse`: keys that are not plain names are quoted."""
    out: list[str] = []
    for key in path:
        if key is WILDCARD:
            out.append("[*]")
        elif isinstance(key, int):
            out.append(f"[{key}]")
        elif _PLAIN.match(key):
            out.append(f".{key}" if out else key)
        else:
            escaped = key.replace("\\", "\\\\").replace('"', '\\"')
            out.append(f'["{escaped}"]')
    return "".join(out)


def get(obj: Any, path: Path) -> Any:
    """The value at `path`, or None when any step is missing."""
    for key in path:
        if isinstance(key, int):
            if not isinstance(obj, list) or not -len(obj) <= key < len(obj):
                return None
        elif not isinstance(obj, dict) or key not in obj:
            return None
        obj = obj[key]
    return obj


def expand(obj: Any, pattern: Pattern, prefix: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every (concrete path, value) that `pattern` matches in `obj`; missing steps match nothing."""
    if not pattern:
        yield prefix, obj
        return
    key, rest = pattern[0], pattern[1:]
    if key is WILDCARD:
        if isinstance(obj, list):
            for index, value in enumerate(obj):
                yield from expand(value, rest, (*prefix, index))
        elif isinstance(obj, dict):
            for name, value in obj.items():
                yield from expand(value, rest, (*prefix, str(name)))
        return
    assert not isinstance(key, _Wildcard)
    if isinstance(key, int):
        if isinstance(obj, list) and -len(obj) <= key < len(obj):
            yield from expand(obj[key], rest, (*prefix, key % len(obj)))
    elif isinstance(obj, dict) and key in obj:
        yield from expand(obj[key], rest, (*prefix, key))


def concrete(pattern: Pattern) -> Path:
    """A pattern with no wildcard, as a path; raises FieldPathError otherwise."""
    if any(key is WILDCARD for key in pattern):
        raise FieldPathError(f"{format_path(pattern)!r} may not contain [*] here")
    return pattern  # type: ignore[return-value]


def texts(value: Any) -> Iterator[str]:
    """Every text inside `value` (a map's values, a list's items, to any depth), in order."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from texts(item)
