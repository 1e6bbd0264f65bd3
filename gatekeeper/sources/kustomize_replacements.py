"""kustomize's `replacements:` (its ReplacementTransformer, api/filters/replacement as of
kustomize v5.5.0, the version kubectl runs), copied for what we are sure of.

A replacement reads one field of the one object its source selects and writes it to
fields of the objects its targets select. What is copied: sources and targets selected by
group, version, kind, name and namespace (an object's current id or one it had before: its
PrevIds), `reject` by the same, field paths of field names, `[a.b]` keys and list indices,
the `delimiter` / `index` options, `create` where the field is there already, and entries
inline or in a `path:` file. The rest raises Unsupported and kubectl builds it: label and
annotation selectors, `[name=value]` path parts (kustomize matches them as unanchored regular
expressions on the printed value), wildcards, creating fields, every error kustomize
reports (a missing field, several sources), a value whose type the write would change, and
writes to what identifies an object.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from gatekeeper.sources.kustomize_values import Unsupported, copied, normalised

DEFAULT_FIELD_PATH = "metadata.name"
# Annotations kustomize itself reads or writes (as kustomize_build's).
RESERVED = ("config.kubernetes.io/", "internal.config.kubernetes.io/", "kustomize.config.k8s.io/")
_ID_FIELDS = frozenset({"group", "version", "kind", "name", "namespace"})
_SOURCE_FIELDS = _ID_FIELDS | {"fieldPath", "options"}
_TARGET_FIELDS = frozenset({"select", "reject", "fieldPaths", "options"})
_OPTION_FIELDS = frozenset({"delimiter", "index", "encoding", "create"})
# An index kustomize's strconv.Atoi reads as we do (no sign, no leading zero).
_INDEX = re.compile(r"0|[1-9][0-9]*")
_ATOI = re.compile(r"[-+]?[0-9]+")
_DECIMAL = re.compile(r"-?(0|[1-9][0-9]{0,14})")
# Writes to these (or what holds them) change an object's id: kubectl builds those.
_FIXED = (("metadata",), ("metadata", "name"), ("metadata", "namespace"))

# (current object, its ids: (group, version, kind, name, namespace) now and before)
Ids = list[tuple[str, str, str, str, str]]


def entries(value: Any, read: Callable[[str], list[Any]]) -> list[dict[str, Any]]:
    """The replacements of a kustomization's `replacements:` list, a `path:` entry's file
    read by `read` (its YAML documents' values), in kustomize's order."""
    if not isinstance(value, list):
        raise Unsupported("replacements is not a list")
    out: list[dict[str, Any]] = []
    for entry in value:
        if not isinstance(entry, dict):
            raise Unsupported("a replacement that is not a mapping")
        if "path" in entry:
            if set(entry) != {"path"} or not isinstance(entry["path"], str):
                raise Unsupported("a replacement path with other fields")
            documents = read(entry["path"])
            if len(documents) != 1:
                raise Unsupported("a replacement file that is not one document")
            loaded = documents[0]
            items = loaded if isinstance(loaded, list) else [loaded]
            if not isinstance(loaded, (list, dict)):
                raise Unsupported("a replacement file that is not a list or mapping")
            out.extend(_checked(item) for item in items)
        else:
            out.append(_checked(entry))
    return out


def _checked(entry: Any) -> dict[str, Any]:
    """A replacement of the fields we copy, each of the type kustomize's structs want
    (sigs.k8s.io/yaml reads keys case-insensitively and drops unknown ones: any key we do
    not know goes to kubectl)."""
    if not isinstance(entry, dict) or set(entry) - {"source", "targets"}:
        raise Unsupported("a replacement with other fields")
    source, targets = entry.get("source"), entry.get("targets")
    if not isinstance(source, dict) or not isinstance(targets, list) or not targets:
        raise Unsupported("a replacement without a source and targets")
    if set(source) - _SOURCE_FIELDS or not _strings(source, _ID_FIELDS | {"fieldPath"}):
        raise Unsupported("a replacement source beyond group/version/kind/name/namespace")
    _options(source.get("options"))
    for target in targets:
        if not isinstance(target, dict) or set(target) - _TARGET_FIELDS:
            raise Unsupported("a replacement target beyond select/reject/fieldPaths/options")
        select = target.get("select")
        if (
            not isinstance(select, dict)
            or set(select) - _ID_FIELDS
            or not _strings(select, _ID_FIELDS)
        ):
            raise Unsupported("a replacement target selected otherwise than by id")
        rejects = target.get("reject") or []
        if not isinstance(rejects, list) or not all(
            isinstance(r, dict) and not set(r) - _ID_FIELDS and _strings(r, _ID_FIELDS)
            for r in rejects
        ):
            raise Unsupported("a replacement reject otherwise than by id")
        paths = target.get("fieldPaths")
        if paths is not None and not (
            isinstance(paths, list) and all(isinstance(p, str) for p in paths)
        ):
            raise Unsupported("replacement fieldPaths that are not strings")
        _options(target.get("options"))
    return entry


def _strings(mapping: dict[str, Any], keys: frozenset[str]) -> bool:
    return all(isinstance(mapping[k], str) for k in keys if mapping.get(k) is not None)


def _options(options: Any) -> None:
    if options is None:
        return
    if not isinstance(options, dict) or set(options) - _OPTION_FIELDS:
        raise Unsupported("replacement options beyond delimiter/index/create")
    index = options.get("index")
    if not (
        isinstance(options.get("delimiter") or "", str)
        and isinstance(options.get("encoding") or "", str)
        and isinstance(options.get("create") or False, bool)
        and (index is None or (isinstance(index, int) and not isinstance(index, bool)))
    ):
        raise Unsupported("replacement options of another type")


def split_path(path: str) -> list[str]:
    """kustomize's SmarterPathSplitter on `.`: `\\.` escapes a dot, a leading `.` is
    dropped, `[...]` spanning dots is one part (its brackets trimmed unless it has `=`)."""
    pieces = path.split(".")
    if len(pieces) > 1 and pieces[0] == "":
        pieces = pieces[1:]
    split = [pieces[0]]
    for piece in pieces[1:]:
        if split[-1].endswith("\\"):
            split[-1] = split[-1][:-1] + "." + piece
        else:
            split.append(piece)
    out: list[str] = []
    i = 0
    while i < len(split):
        part = split[i]
        if part.startswith("[") and not part.endswith("]"):
            bracketed = [part]
            while i < len(split) - 1:
                i += 1
                bracketed.append(split[i])
                if split[i].endswith("]"):
                    break
            joined = ".".join(bracketed)
            out.append(joined if "=" in joined else joined.strip("[]"))
        else:
            out.append(part)
        i += 1
    return out


def _parts(path: str) -> list[str | int]:
    """The path's parts as field names and list indices; others go to kubectl, and so do
    paths to all annotations or to kustomize's own (it holds its previous names and such
    there while it builds)."""
    parts = _split_parts(path)
    if parts[:2] == ["metadata", "annotations"] and (
        len(parts) == 2 or str(parts[2]).startswith(RESERVED)
    ):
        raise Unsupported("a replacement of all annotations, or of kustomize's")
    return parts


def _split_parts(path: str) -> list[str | int]:
    parts: list[str | int] = []
    for part in split_path(path):
        if _INDEX.fullmatch(part):
            parts.append(int(part))
        elif (
            not part
            or part != part.strip()
            or _ATOI.fullmatch(part)
            or part == "-"
            or (part.startswith("[") and part.endswith("]"))
        ):
            raise Unsupported("a replacement field path part we do not copy")
        else:
            parts.append(part)
    return parts


def _walk(obj: Any, parts: list[str | int]) -> tuple[Any, str | int]:
    """The container of the path's last part, and that part; the path must be there."""
    current = obj
    for position, part in enumerate(parts):
        if isinstance(part, int):
            found = isinstance(current, list) and part < len(current)
        else:
            found = isinstance(current, dict) and part in current
        if not found:
            raise Unsupported("a replacement field that is not there (kustomize fails or creates)")
        if position == len(parts) - 1:
            return current, part
        current = current[part]
    raise Unsupported("an empty replacement field path")


def _selected(ids: Ids, selector: dict[str, Any], effective: Callable[[str], str | None]) -> bool:
    """kustomize's ResId.IsSelectedBy for any of the ids: group, version, kind and name
    equal where the selector says them; the namespace compared as effective namespaces."""
    want = [selector.get(k) or "" for k in ("group", "version", "kind", "name")]
    namespace = selector.get("namespace") or ""
    for group, version, kind, name, ns in ids:
        if any(w and w != have for w, have in zip(want, (group, version, kind, name), strict=True)):
            continue
        if namespace:
            scoped = effective(ns)
            if scoped is None:
                raise Unsupported("a replacement selecting a cluster-scoped object by namespace")
            if scoped != namespace:
                continue
        return True
    return False


def _matching(node: Any, parts: list[str | int], at: tuple[str | int, ...] = ()) -> list[Any]:
    """The paths a target field path with `*` parts names, as kyaml's PathMatcher reads it:
    `*` is every element of the list there; an element without the rest of the path is
    left out (nothing is created)."""
    if not parts:
        return [list(at)]
    part, rest = parts[0], parts[1:]
    if part == "*":
        if not isinstance(node, list):
            raise Unsupported("a replacement `*` on what is not a list (kustomize fails)")
        return [
            path for index, item in enumerate(node) for path in _matching(item, rest, (*at, index))
        ]
    if isinstance(part, int):
        found = isinstance(node, list) and part < len(node)
    else:
        found = isinstance(node, dict) and part in node
    return _matching(node[part], rest, (*at, part)) if found else []


def _value(source: dict[str, Any], obj: dict[str, Any]) -> Any:
    parts = _parts(source.get("fieldPath") or DEFAULT_FIELD_PATH)
    if "*" in parts:
        raise Unsupported("a replacement source path with `*`")
    container, last = _walk(obj, parts)
    value = container[last]
    if value is None or value == {} or value == []:
        raise Unsupported("a replacement source that is empty (kustomize fails)")
    options = source.get("options") or {}
    delimiter = options.get("delimiter") or ""
    if delimiter:
        if not isinstance(value, str):
            raise Unsupported("a replacement source delimiter on a value that is not a string")
        pieces = value.split(delimiter)
        index = options.get("index") or 0
        if not 0 <= index < len(pieces):
            raise Unsupported("a replacement source index out of bounds (kustomize fails)")
        value = pieces[index]
    return value


def _write(obj: dict[str, Any], path: str, value: Any, options: dict[str, Any]) -> None:
    parts = _parts(path)
    if parts[0] in ("kind", "apiVersion") or tuple(parts[:2]) in _FIXED:
        raise Unsupported("a replacement of what identifies an object")
    if "*" not in parts:
        _write_at(obj, parts, value, options)
        return
    if options.get("create"):
        raise Unsupported("a replacement creating fields below `*`")
    found = _matching(obj, parts)
    if not found:
        raise Unsupported("a replacement `*` path that matches nothing (kustomize fails)")
    for each in found:  # kubebuilder's `webhooks.*.clientConfig.service.name`
        _write_at(obj, each, value, options)


def _write_at(
    obj: dict[str, Any], parts: list[str | int], value: Any, options: dict[str, Any]
) -> None:
    """The value written at the field `parts` name (see _write)."""
    container, last = _walk(obj, parts)
    current = container[last]
    delimiter = options.get("delimiter") or ""
    if delimiter:
        if not isinstance(current, str) or not isinstance(value, str):
            raise Unsupported("a replacement delimiter on a value that is not a string")
        pieces = current.split(delimiter)
        index = options.get("index") or 0
        if index < 0:
            pieces.insert(0, value)
        elif index >= len(pieces):
            pieces.append(value)
        else:
            pieces[index] = value
        value = delimiter.join(pieces)
    if isinstance(current, (dict, list)):
        container[last] = copied(value)  # the whole node replaced, tag and all
    elif isinstance(current, str) and isinstance(value, str):
        container[last] = value  # the target keeps its tag: a string stays one
    elif (
        isinstance(current, int)
        and not isinstance(current, bool)
        and isinstance(value, str)
        and _DECIMAL.fullmatch(value)
    ):
        container[last] = int(value)
    else:
        raise Unsupported("a replacement that writes a value into a scalar of another type")


def apply(
    replacements: list[dict[str, Any]],
    objects: list[Any],
    ids: Callable[[Any], Ids],
    effective: Callable[[Any, str], str | None],
    get: Callable[[Any], dict[str, Any]],
    put: Callable[[Any, dict[str, Any]], None],
) -> None:
    """Run the replacements over the built objects in order (each later one sees what
    the earlier ones wrote), as kustomize's replacement filter does."""
    for replacement in replacements:
        source = replacement["source"]
        found = [item for item in objects if _selected(ids(item), source, _scope(effective, item))]
        if len(found) != 1:
            raise Unsupported("a replacement source selecting no or several objects")
        value = _value(source, get(found[0]))
        for target in replacement["targets"]:
            paths = target.get("fieldPaths") or [DEFAULT_FIELD_PATH]
            options = target.get("options") or {}
            for item in objects:
                item_ids, scoped = ids(item), _scope(effective, item)
                if not _selected(item_ids, target["select"], scoped):
                    continue
                if any(
                    any(r.get(k) for k in _ID_FIELDS) and _selected(item_ids, r, scoped)
                    for r in target.get("reject") or []
                ):
                    continue
                obj = copied(get(item))
                for path in paths:
                    _write(obj, path, value, options)
                put(item, normalised(obj))


def _scope(effective: Callable[[Any, str], str | None], item: Any) -> Callable[[str], str | None]:
    def scoped(namespace: str) -> str | None:
        return effective(item, namespace)

    return scoped
