"""Helm's `--set name=value` (and `--set-string`), as Argo CD passes `helm.parameters`.

A parameter can switch on what the chart's values files keep off (`securityContext.privileged
=true`), so it is applied as Helm applies it: the name is a path of keys (`a.b`), list indexes
(`a[0].b`) and escaped dots (`a\\.b`); the value is typed as `--set` types it (true, false,
null, integers; `{a,b}` is a list) unless it is a `--set-string`.
"""

from __future__ import annotations

import re
from typing import Any

from yaml.error import Mark
from yaml.nodes import MappingNode, Node, ScalarNode

from gatekeeper import lazy_re

_INDEX = lazy_re.compile(r"^(.*?)\[(\d+)\]$")
MAX_INDEX = 65536  # Helm's own limit on a `--set` list index


class SetError(ValueError):
    """A name Helm rejects (`--set` fails, so the deployer renders nothing)."""


def split_unescaped(text: str, separator: str, keep_escapes: bool = False) -> list[str]:
    """`text` split at each `separator` no backslash escapes, as Helm splits a `--set`
    list of pairs (at `,`) and a name (at `.`); `keep_escapes` leaves the backslashes in
    (a pair's name is split again), else they are dropped."""
    parts: list[str] = []
    current = ""
    escaped = False
    for char in text:
        if escaped:
            current += char
            escaped = False
        elif char == "\\":
            escaped = True
            current += char if keep_escapes else ""
        elif char == separator:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def path_of(name: str) -> list[str | int]:
    """`a.b\\.c[1].d` -> ["a", "b.c", 1, "d"]."""
    keys = split_unescaped(name, ".")
    path: list[str | int] = []
    for key in keys:
        indexes: list[int] = []
        while (match := _INDEX.match(key)) is not None:
            key, index = match.group(1), int(match.group(2))
            if index > MAX_INDEX:
                raise SetError(f"index of {name} larger than {MAX_INDEX}")
            indexes.insert(0, index)
        if not key:
            raise SetError(f"key of {name} is empty")
        path.extend([key, *indexes])
    return path


def typed(text: str, as_string: bool) -> Any:
    """The value `--set` makes of `text` (`--set-string` keeps it a string)."""
    if as_string:
        return text
    if len(text) >= 2 and text.startswith("{") and text.endswith("}"):
        return [typed(part, False) for part in text[1:-1].split(",")] if text[1:-1] else []
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    if lowered == "0" or (re.fullmatch(r"[+-]?[0-9]+", text) and not text.startswith("0")):
        number = int(text)
        if -(2**63) <= number < 2**63:  # Go's ParseInt(s, 10, 64)
            return number
    return text


def apply(values: dict[str, Any], path: list[str | int], value: Any) -> dict[str, Any]:
    """`values` with `value` set at `path` (maps and lists made on the way, as Helm does)."""
    out: Any = _set(values, path, value)
    return out if isinstance(out, dict) else values


def _set(node: Any, path: list[str | int], value: Any) -> Any:
    if not path:
        return value
    key, rest = path[0], path[1:]
    if isinstance(key, int):
        items = list(node) if isinstance(node, list) else []
        items.extend([None] * (key + 1 - len(items)))
        items[key] = _set(items[key], rest, value)
        return items
    mapping = dict(node) if isinstance(node, dict) else {}
    mapping[key] = _set(mapping.get(key), rest, value)
    return mapping


def located(paths: list[tuple[list[str | int], int]]) -> Node:
    """A YAML node whose keys are the parameters' paths, each key at its parameter's line
    (0-based): the values it sets are attributed to the line that set them."""
    root = MappingNode("tag:yaml.org,2002:map", [])
    for path, line in paths:
        node = root
        for key in path:
            if isinstance(key, int):
                break  # an index: the parameter's line is as near as it gets
            mark = Mark("", 0, line, 0, None, 0)
            found = next(
                (v for k, v in node.value if isinstance(k, ScalarNode) and k.value == key),
                None,
            )
            if not isinstance(found, MappingNode):
                found = MappingNode("tag:yaml.org,2002:map", [], mark, mark)
                node.value = [(k, v) for k, v in node.value if k.value != key]
                node.value.append((ScalarNode("tag:yaml.org,2002:str", key, mark, mark), found))
            node = found
    return root


def attributed(values: dict[str, Any], locate: Any) -> list[tuple[dict[str, Any], Any]]:
    """`values` whose lines only a locator knows (`locate(path) -> Location`; a templated
    or kustomize-built object's), split by the file each value is at: (values, locator)
    pairs that merge back into `values`, each value at its own line."""
    from gatekeeper.yamldoc import NodeLocator

    by_file: dict[str, tuple[dict[str, Any], list[tuple[list[str | int], int]]]] = {}
    for path in _leaves(values, []):
        location = locate(tuple(path))
        part, lines = by_file.setdefault(location.file, ({}, []))
        value: Any = values
        for key in path:
            value = value[key]
        by_file[location.file] = (apply(part, path, value), [*lines, (path, location.line - 1)])
    return [(part, NodeLocator(file, located(lines))) for file, (part, lines) in by_file.items()]


def located_at(values: Any, line: int) -> Node:
    """A node that puts every value of `values` at one line (0-based): values written where
    no line of their own can be found (base64, or made by a template)."""
    return located([(path, line) for path in _leaves(values, [])])


def _leaves(value: Any, prefix: list[str | int]) -> list[list[str | int]]:
    if isinstance(value, dict) and value:
        return [p for k, v in value.items() for p in _leaves(v, [*prefix, str(k)])]
    return [prefix] if prefix else []
