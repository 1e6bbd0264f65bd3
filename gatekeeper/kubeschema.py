"""Wrongly typed fields of Kubernetes objects, from the Kubernetes OpenAPI schemas.

A list written as a mapping or a string where an object belongs is rejected by the API server,
and policies cannot judge it: they err, or see a field as unset. Finding these first lets the
scan say so once, at the offending line, and lets policies run on the well-formed rest.

The schemas are the JSON Schema form of the Kubernetes OpenAPI definitions that the
kubernetes-validate package ships (Apache-2.0), newest Kubernetes version only, read from its
package data without running its code. The package (108 MB: every Kubernetes version) is the
[schema] extra, left out of the light core the pre-commit hook installs; without it no object
is checked, and the scan says so once (MISSING). One file holds every definition; it is parsed
when a definition is asked that this user's cache does not hold, once per process (see
_Definitions: a hook reads only the definitions of the kinds it checks, kept from before).
The check is types only (no `required`, no enums, unknown fields allowed): what makes an
object unusable to policies.
Custom resources and removed API versions have no schema and are not checked.
"""

from __future__ import annotations

import decimal
import functools
import hashlib
import importlib.util
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

from gatekeeper import lazy_re
from gatekeeper.fieldpath import Path

_PACKAGE = "kubernetes_validate"
_SCHEMAS = "kubernetes-json-schema"
_REF = lazy_re.compile(r"^.*#/\$defs/")
_EXACT: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
}
_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
}


@dataclass(frozen=True)
class ShapeError:
    """A field whose value the Kubernetes schema refuses (GK-SCHEMA), at its path."""

    path: Path
    message: str
    # A string that kubectl's YAML reader takes for this number (`0e0`, `8e1`, `0o17`): what
    # policies must judge, since that is what the API server would get.
    as_read: int | float | None = None
    # How such a number is spelled (the string as written).
    spelled: str = ""

    def printed_by_go(self) -> bool:
        """Is the number spelled as Go prints a float64 with an exponent (`1e+06`,
        `2.5e+07`)? Helm reads every number of a chart's values as a float64, so
        `{{ .Values.priority }}` with `priority: 1000000` renders `value: 1e+06` (postgres-
        operator's PriorityClass): Kubernetes reads it as the number, no one wrote it so."""
        return self.as_read is not None and "e" in self.spelled and (
            self.spelled == _go_printed(self.spelled)
        )


def _go_printed(text: str) -> str:
    """`text`'s number as Go's `%v` prints a float64 (shortest digits; with an exponent of at
    least two digits when it is below -4 or from 6 on: 1e+06, 1.5e-05), "" if none."""
    try:
        number = decimal.Decimal(repr(float(text))).normalize()
    except (ValueError, OverflowError, decimal.InvalidOperation):
        return ""
    if not number.is_finite() or number.is_zero():
        return ""
    sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    power = len(digits) + exponent - 1
    if -4 <= power < 6:
        return ""  # printed without an exponent
    mantissa = str(digits[0]) + ("." + "".join(map(str, digits[1:])) if len(digits) > 1 else "")
    return f"{'-' if sign else ''}{mantissa}e{'-' if power < 0 else '+'}{abs(power):02d}"


@dataclass(frozen=True)
class _Schemas:
    """The schemas of one Kubernetes version, by the kind they describe."""

    version: str  # the Kubernetes version of the schemas, e.g. v1.37.0
    definitions: _Definitions
    kinds: dict[tuple[str, str], str]  # (apiVersion, kind) -> definition name


class _Definitions:
    """The definitions by name, read from the 1.8 MB file only when one is asked that this
    user's cache does not hold (gatekeeper.cache.Entries, keyed by the file's path, size and
    modification time, and this module: package data changes only with the package). A
    pre-commit run checks a few kinds, and parsing the whole file was a twentieth of it. A
    definition read from the file is kept with every definition it refers to, for the next
    run."""

    def __init__(self, file: FsPath, key: str | None, kept: dict[str, Any]) -> None:
        self.file = file
        self.key = key
        self.kept = kept
        self._all: dict[str, Any] | None = None

    def every(self) -> dict[str, Any]:
        if self._all is None:
            document = json.loads(self.file.read_text())
            self._all = dict(document["$defs"])
        return self._all

    def get(self, name: str) -> Any:
        if name in self.kept:
            return self.kept[name]
        try:
            every = self.every()
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if name in every and self.key is not None:
            self.kept.update(_closure(name, every))
            _store().put(self.key, {"kinds": _rows(_kinds_of(every)), "definitions": self.kept})
        return every.get(name)


def _closure(name: str, every: dict[str, Any]) -> dict[str, Any]:
    """`name`'s definition and every definition it refers to, directly or not."""
    found: dict[str, Any] = {}
    todo = [name]
    while todo:
        current = todo.pop()
        if current in found or current not in every:
            continue
        found[current] = every[current]
        stack: list[Any] = [every[current]]
        while stack:
            value = stack.pop()
            if isinstance(value, dict):
                ref = value.get("$ref")
                if isinstance(ref, str):
                    todo.append(_REF.sub("", ref))
                stack.extend(value.values())
            elif isinstance(value, list):
                stack.extend(value)
    return found


def _kinds_of(definitions: dict[str, Any]) -> dict[tuple[str, str], str]:
    kinds: dict[tuple[str, str], str] = {}
    for name, definition in definitions.items():
        for gvk in definition.get("x-kubernetes-group-version-kind", ()):
            group, api_version = gvk.get("group", ""), gvk["version"]
            api = f"{group}/{api_version}" if group else api_version
            kinds.setdefault((api, gvk["kind"]), name)
    return kinds


def _rows(kinds: dict[tuple[str, str], str]) -> list[list[str]]:
    return [[api, kind, name] for (api, kind), name in kinds.items()]


_CACHE_NAME = "kube-schemas-v1"


@functools.cache
def _store() -> Any:
    from gatekeeper.cache import Entries

    return Entries(_CACHE_NAME, per_shard=4)


def _key(file: FsPath) -> str | None:
    try:
        info = file.stat()
        code = FsPath(__file__).read_bytes()
    except OSError:
        return None
    text = f"{_CACHE_NAME}\0{file}\0{info.st_size}\0{info.st_mtime_ns}\0".encode()
    return hashlib.sha256(text + code).hexdigest()


def _kept(key: str | None) -> tuple[dict[tuple[str, str], str], dict[str, Any]] | None:
    """The kinds and the definitions kept under `key`, if well-formed."""
    value = _store().get(key) if key is not None else None
    if not isinstance(value, dict):
        return None
    rows, definitions = value.get("kinds"), value.get("definitions")
    if not isinstance(rows, list) or not isinstance(definitions, dict):
        return None
    for row in rows:
        if not (isinstance(row, list) and len(row) == 3 and all(isinstance(x, str) for x in row)):
            return None
    if not all(isinstance(definition, dict) for definition in definitions.values()):
        return None
    return {(api, kind): name for api, kind, name in rows}, definitions


@functools.cache
def _schemas() -> _Schemas | None:
    """The newest schemas the package ships, or None when it is not installed."""
    # Located, not imported: importing the package costs ~0.2 s (jsonschema, referencing).
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    root = FsPath(next(iter(spec.submodule_search_locations)), _SCHEMAS)
    try:
        versions = [entry.name for entry in root.iterdir() if entry.name.endswith("-local")]
        version = max(versions, key=lambda name: tuple(map(int, re.findall(r"\d+", name))))
    except (OSError, ValueError):
        return None
    file = root / version / "_definitions.json"
    key = _key(file)
    kept = _kept(key)
    if kept is not None:
        kinds, definitions = kept
        return _Schemas(version.removesuffix("-local"), _Definitions(file, key, definitions), kinds)
    lazy = _Definitions(file, key, {})
    try:
        kinds = _kinds_of(lazy.every())
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if key is not None:
        _store().put(key, {"kinds": _rows(kinds), "definitions": {}})
    return _Schemas(version.removesuffix("-local"), lazy, kinds)


# Said once per scan (not per file) when Kubernetes objects were judged without the schemas.
MISSING = (
    "Kubernetes objects were not checked for wrongly typed fields (GK-SCHEMA): the schemas"
    " are not installed (pip install 'gitops-policy-gate[schema]', or [all]; in a pre-commit"
    " hook, additional_dependencies: [kubernetes-validate])"
)


def installed() -> bool:
    """Whether the schemas can be read (the [schema] extra's kubernetes-validate)."""
    return _schemas() is not None


def schema_version() -> str:
    """The Kubernetes version objects are checked against ("" when no schemas are installed)."""
    schemas = _schemas()
    return schemas.version if schemas else ""


def known(api_version: str, kind: str) -> bool:
    schemas = _schemas()
    return schemas is not None and (api_version, kind) in schemas.kinds


def has_kind(kind: str) -> bool:
    """Is there a schema for `kind` in some API version?"""
    schemas = _schemas()
    return schemas is not None and any(known_kind == kind for _, known_kind in schemas.kinds)


def shape_errors(obj: Any) -> list[ShapeError]:
    """Fields of a Kubernetes object whose value has the wrong type for its apiVersion and
    kind, outermost first; [] for a kind without a schema."""
    if not isinstance(obj, dict):
        return []
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    schemas = _schemas()
    if schemas is None or not isinstance(api_version, str) or not isinstance(kind, str):
        return []
    name = schemas.kinds.get((api_version, kind))
    if name is None:
        return []
    errors: list[ShapeError] = []
    try:
        _node(name).check(obj, (), errors)
    except RecursionError:  # deeper than any real object (YAML depth is capped at 500)
        return errors
    return errors


class _Node:
    """One schema, compiled: its allowed types and the schemas of its children.

    Children are compiled on first use and shared by reference, so each definition is
    compiled once per process however many objects use it.
    """

    __slots__ = ("_compiled", "_raw", "additional", "exact", "items", "properties", "types")

    def __init__(self, raw: dict[str, Any]) -> None:
        self._raw = raw
        self._compiled = False
        self.types: tuple[str, ...] = ()
        self.exact: frozenset[type] = frozenset()  # Python types that surely fit
        self.properties: dict[str, _Node] = {}
        self.additional: _Node | None = None
        self.items: _Node | None = None

    def _compile(self) -> None:
        raw = self._raw
        alternatives = raw.get("oneOf")
        options = alternatives if isinstance(alternatives, list) else [raw]
        self.types = tuple(dict.fromkeys(t for option in options for t in _types(option)))
        self.exact = frozenset(t for name in self.types for t in _EXACT.get(name, ()))
        self.properties = {key: _child(value) for key, value in raw.get("properties", {}).items()}
        extra = raw.get("additionalProperties")
        self.additional = _child(extra) if isinstance(extra, dict) else None
        items = raw.get("items")
        self.items = _child(items) if isinstance(items, dict) else None
        self._compiled = True

    def check(self, value: Any, path: Path, errors: list[ShapeError]) -> None:
        if not self._compiled:
            self._compile()
        if value is None:
            return  # null means unset
        if (
            self.types
            and type(value) not in self.exact
            and not any(_is(value, name) for name in self.types)
        ):
            number = go_yaml_number(value) if isinstance(value, str) else None
            if number is not None and any(_is(number, name) for name in self.types):
                message = _error(path, self.types, value).message
                message += f" (unquoted, Kubernetes tools read it as the number {number})"
                errors.append(ShapeError(path, message, number, value))
            else:
                errors.append(_error(path, self.types, value))
            return
        if isinstance(value, dict):
            properties, additional = self.properties, self.additional
            if not properties and additional is None:
                return
            for key, item in value.items():
                child = properties.get(key, additional)
                if child is not None:
                    child.check(item, (*path, key), errors)
        elif isinstance(value, list) and self.items is not None:
            for index, item in enumerate(value):
                self.items.check(item, (*path, index), errors)


def _child(raw: dict[str, Any]) -> _Node:
    ref = raw.get("$ref")
    return _node(_REF.sub("", ref)) if isinstance(ref, str) else _Node(raw)


@functools.cache
def _node(name: str) -> _Node:
    schemas = _schemas()
    definition = schemas.definitions.get(name) if schemas else None
    return _Node(definition if isinstance(definition, dict) else {})  # unknown: anything goes


def _types(schema: dict[str, Any]) -> list[str]:
    declared = schema.get("type", [])
    names = [declared] if isinstance(declared, str) else list(declared)
    return [name for name in names if name != "null"]


def _is(value: Any, type_name: str) -> bool:
    if type_name == "object":
        return isinstance(value, dict)
    if type_name == "array":
        return isinstance(value, list)
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False  # a bool is an int to Python, not to Kubernetes
    if type_name == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if type_name == "number":
        return isinstance(value, (int, float))
    return True


def _error(path: Path, expected: tuple[str, ...], value: Any) -> ShapeError:
    wanted = " or ".join(dict.fromkeys(_TYPE_NAMES.get(name, name) for name in expected))
    return ShapeError(path, f"expected {wanted}, found {describe(value)}")


# go-yaml's (v2, used by kubectl and Helm) plain floats; PyYAML wants a dot where it does not.
_GO_FLOAT = lazy_re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")


def go_yaml_number(text: str) -> int | float | None:
    """The number kubectl's YAML reader makes of a plain scalar that PyYAML keeps a string."""
    plain = text.replace("_", "")
    try:
        return int(plain, 0)  # 0o17, 0x1F, 0b1
    except ValueError:
        pass
    if _GO_FLOAT.fullmatch(plain):
        number = float(plain)
        return int(number) if number.is_integer() else number  # as JSON carries it
    return None


def describe(value: Any) -> str:
    """A value's YAML type for a message: `a mapping`, `the string "x"`, `the number 3`."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    text = str(value)
    return f"the string {json.dumps(text if len(text) <= 40 else text[:37] + '...')}"


def unknown_field(kind: str, path: Sequence[Any]) -> tuple[int, list[str]] | None:
    """Where `path` (keys, list indexes, wildcards) leaves every schema of `kind`.

    None when some version of the kind has every field, or when the kind or a step is not
    known well enough to say (a map, a free-form object, a kind with no schema). Otherwise
    (index of the first unknown key, the fields that were possible there).
    """
    schemas = _schemas()
    if schemas is None:
        return None
    names = [name for (_, known_kind), name in schemas.kinds.items() if known_kind == kind]
    worst: tuple[int, list[str]] | None = None
    for name in dict.fromkeys(names):
        found = _unknown_step(_node(name), path)
        if found is None:
            return None
        if worst is None or found[0] > worst[0]:
            worst = found
    return worst


def _unknown_step(node: _Node, path: Sequence[Any]) -> tuple[int, list[str]] | None:
    for index, key in enumerate(path):
        if not node._compiled:
            node._compile()
        if not isinstance(key, str):  # a list index or wildcard
            if node.items is None:
                return None
            node = node.items
        elif key in node.properties:
            node = node.properties[key]
        elif node.additional is not None:
            node = node.additional
        elif not node.properties or "object" not in node.types:
            return None  # free-form: anything goes
        else:
            return index, sorted(node.properties)
    return None
