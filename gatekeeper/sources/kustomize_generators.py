"""`configMapGenerator` and `secretGenerator`, with `generatorOptions`, as kustomize makes them.

A generated ConfigMap or Secret comes from literals, env files and files of the
kustomization's directory (api/kv), carries the options' labels and annotations, and gets at
the end of the build a suffix hashed from its final name and data (api/hasher), which the
name references then follow (kustomize_names). Only `behavior: create` is built here; a
merge or replace of a base's object, a file outside the directory, binary content, or a
value whose hash encoding we are not sure of goes to kubectl.
"""

from __future__ import annotations

import base64
import hashlib
import json
import posixpath
import re
from typing import TYPE_CHECKING, Any

from gatekeeper import lazy_re
from gatekeeper.fieldpath import Path
from gatekeeper.sources.kustomize_values import Unsupported, normalised
from gatekeeper.tree import Tree

if TYPE_CHECKING:
    from gatekeeper.sources.kustomize_build import Built

_GENERATOR_FIELDS = frozenset({"name", "namespace", "behavior", "literals", "files", "envs"})
_OPTION_FIELDS = frozenset({"labels", "annotations", "disableNameSuffixHash", "immutable"})
# Kubernetes' IsConfigMapKey, and IsEnvVarName for the keys of env files.
_KEY = lazy_re.compile(r"[-._a-zA-Z0-9]+")
_ENV_NAME = lazy_re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")
# What Go's encoding/json and Python's json.dumps (ensure_ascii off) write alike.
_PLAIN = lazy_re.compile(r"[^\x00-\x08\x0b\x0c\x0e-\x1f\u2028\u2029]*")
_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"}
# Annotations kustomize itself reads or strips.
_RESERVED = ("config.kubernetes.io/", "internal.config.kubernetes.io/", "kustomize.config.k8s.io/")


def generate(
    kustomization: dict[str, Any], directory: str, tree: Tree
) -> list[tuple[dict[str, Any], bool]]:
    """The kustomization's generated objects, each with whether it wants a hash suffix."""
    options = _options(kustomization.get("generatorOptions"))
    out = []
    for key, kind in (("configMapGenerator", "ConfigMap"), ("secretGenerator", "Secret")):
        entries = kustomization.get(key)
        if entries is None:
            continue
        if not isinstance(entries, list):
            raise Unsupported(f"{key} that is not a list")
        for entry in entries:
            out.append(_generated(kind, entry, options, directory, tree))
    return out


def _options(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict) or set(value) - _OPTION_FIELDS:
        raise Unsupported("generator options with other fields")
    for flag in ("disableNameSuffixHash", "immutable"):
        if not isinstance(value.get(flag, False), bool):
            raise Unsupported(f"{flag} that is not a boolean")
    for field in ("labels", "annotations"):
        pairs = value.get(field) or {}
        if not isinstance(pairs, dict) or not all(
            isinstance(k, str) and k and isinstance(v, str) for k, v in pairs.items()
        ):
            raise Unsupported(f"generator {field} that are not strings")
        if field == "annotations" and any(k.startswith(_RESERVED) for k in pairs):
            raise Unsupported("an annotation kustomize reads")
    return value


def _merged(local: dict[str, Any], common: dict[str, Any]) -> dict[str, Any]:
    """kustomize's MergeGlobalOptionsIntoLocal: the generator's own labels and annotations
    win, either flag set is set."""
    return {
        "labels": {**(common.get("labels") or {}), **(local.get("labels") or {})},
        "annotations": {**(common.get("annotations") or {}), **(local.get("annotations") or {})},
        "disableNameSuffixHash": bool(
            local.get("disableNameSuffixHash") or common.get("disableNameSuffixHash")
        ),
        "immutable": bool(local.get("immutable") or common.get("immutable")),
    }


def _generated(
    kind: str, entry: Any, common: dict[str, Any], directory: str, tree: Tree
) -> tuple[dict[str, Any], bool]:
    allowed = _GENERATOR_FIELDS | {"options"} | ({"type"} if kind == "Secret" else set())
    if not isinstance(entry, dict) or set(entry) - allowed:
        raise Unsupported("a generator with other fields")
    if entry.get("behavior", "create") != "create":
        raise Unsupported("a generator that merges or replaces")
    name, namespace = entry.get("name"), entry.get("namespace", "")
    if not isinstance(name, str) or not name or not isinstance(namespace, str):
        raise Unsupported("a generator without a name, or with an odd namespace")
    options = _merged(_options(entry.get("options")), common)
    pairs: dict[str, str] = {}
    envs, files = _strings(entry, "envs"), _strings(entry, "files")
    try:  # kustomize's order: env files, literals, files
        sources = [(key, value) for file in envs for key, value in _env(directory, file, tree)]
    except MissingInput as missing:
        raise missing.of("env source files", envs) from None
    sources += [_literal(text) for text in _strings(entry, "literals")]
    try:
        sources += [_file(directory, source, tree) for source in files]
    except MissingInput as missing:
        raise missing.of("file sources", files) from None
    for key, value in sources:
        if not _KEY.fullmatch(key) or len(key) > 253 or key.startswith(".."):
            raise Unsupported("a generated key Kubernetes rejects")
        if key in pairs:
            raise Unsupported("a generated key twice (kubectl fails)")
        if not _PLAIN.fullmatch(value):
            raise Unsupported("a generated value with control characters")
        pairs[key] = value
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    if options["labels"]:
        metadata["labels"] = dict(options["labels"])
    if options["annotations"]:
        metadata["annotations"] = dict(options["annotations"])
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": kind, "metadata": metadata}
    if kind == "Secret":
        secret_type = entry.get("type", "") or "Opaque"
        if not isinstance(secret_type, str):
            raise Unsupported("a secret type that is not a string")
        obj["type"] = secret_type
        obj["data"] = {key: _base64(value) for key, value in pairs.items()}
    elif pairs:
        obj["data"] = pairs
    if options["immutable"]:
        obj["immutable"] = True
    return normalised(obj), not options["disableNameSuffixHash"]


class MissingInput(Unsupported):
    """A generator input the tree lacks: kustomize fails there (see kustomize_build), its
    error naming the entry's sources of that kind (`file sources: [a b]`)."""

    def __init__(self, file: str) -> None:
        super().__init__("a generator input that is not a file of the tree")
        self.file = file
        self.sources = ""

    def of(self, kind: str, sources: list[str]) -> MissingInput:
        self.sources = f"{kind}: [{' '.join(sources)}]"
        return self


def _strings(entry: dict[str, Any], key: str) -> list[str]:
    values = entry.get(key) or []
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise Unsupported(f"generator {key} that are not strings")
    return values


def _literal(text: str) -> tuple[str, str]:
    """kustomize's parseLiteralSource: `key=value`, one pair of quotes around it dropped."""
    key, equals, value = text.partition("=")
    if not key or not equals:
        raise Unsupported("a literal that is not key=value (kubectl fails)")
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    return key, value


def _read(directory: str, path: str, tree: Tree) -> str:
    file = posixpath.normpath(posixpath.join(directory, path))
    if (
        file.startswith("../")
        or file == ".."
        or (directory and not file.startswith(directory + "/"))
    ):
        raise Unsupported("a generator input outside the kustomization's directory")
    if not tree.exists(file):
        raise MissingInput(file)
    try:
        return tree.read(file).decode("utf-8")
    except (OSError, UnicodeDecodeError):
        raise Unsupported("a generator input that is not a readable text file") from None


def _file(directory: str, source: str, tree: Tree) -> tuple[str, str]:
    """kustomize's ParseFileSource: `path` (its base name the key) or `key=path`."""
    if source.count("=") > 1 or source.startswith("=") or source.endswith("="):
        raise Unsupported("a file source kubectl rejects")
    key, _, path = source.rpartition("=")
    return key or posixpath.basename(path), _read(directory, path, tree)


def _env(directory: str, path: str, tree: Tree) -> list[tuple[str, str]]:
    """An env file as kustomize reads it: a line per pair, `#` comments and blank lines
    skipped, leading space trimmed, a byte-order mark dropped from the first line."""
    text = _read(directory, path, tree).removeprefix("\ufeff")
    pairs = []
    for line in text.split("\n"):
        line = line.removesuffix("\r").lstrip(" \t\v\f\r")
        if line[:1].isspace():
            raise Unsupported("an env file line that starts with other white space")
        if not line or line.startswith("#"):
            continue
        key, equals, value = line.partition("=")
        if not equals or not _ENV_NAME.fullmatch(key) or len(line) > 60000:
            raise Unsupported("an env file line kustomize reads otherwise, or rejects")
        pairs.append((key, value))
    return pairs


def _base64(value: str) -> str:
    """kustomize's encodeBase64: lines of 70 characters, each ended by a newline once there
    is more than one."""
    encoded = base64.b64encode(value.encode()).decode()
    if len(encoded) < 70:
        return encoded
    return "".join(encoded[i : i + 70] + "\n" for i in range(0, len(encoded), 70))


def add_hashes(built: list[Built]) -> None:
    """The hash suffix of every generated object that wants one, from its final content
    (kustomize's HashTransformer, after the whole build); its old name is remembered."""
    for item in built:
        if not item.hashed:
            continue
        item.remember()
        obj = item.obj
        name = f"{obj['metadata']['name']}-{_hash(obj)}"
        item.obj = {**obj, "metadata": {**obj["metadata"], "name": name}}


def _hash(obj: dict[str, Any]) -> str:
    """kustomize's hasher: sha256 of its JSON of the object's kind and data, the first ten
    hex digits with 0, 1, 3, a and e replaced (no vowels, no look-alikes). It means to hash
    the name too, but looks it up as one field named `metadata/name`: always empty."""
    kind = obj["kind"]
    fields = ("type", "data", "stringData") if kind == "Secret" else ("data", "binaryData")
    encoded: dict[str, Any] = {"kind": kind, "name": ""}
    for field in fields:
        value = obj.get(field)
        if field in ("binaryData", "stringData"):
            if isinstance(value, dict):
                encoded[field] = value
            continue
        encoded[field] = "" if value is None else value
    values = [encoded.get("type", "")]
    for field in ("data", "binaryData", "stringData"):
        values.extend(_values(encoded.get(field)))
    if not all(isinstance(v, str) and _PLAIN.fullmatch(v) for v in values):
        raise Unsupported("generated data we cannot hash as kustomize does")
    text = json.dumps(encoded, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for char, escape in _GO_ESCAPES.items():
        text = text.replace(char, escape)
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    return digest.translate(str.maketrans("013ae", "ghkmt"))


def _values(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    if not isinstance(value, dict):
        return [None]  # a value of another shape: not hashed here
    return list(value.values())


# A place: (the kustomization's path of the generator's entry that writes it, the file the
# value is written in or "" (a literal: the entry itself), that file's line).
Place = tuple[Path, str, int]


def places(
    kustomization: dict[str, Any], directory: str, tree: Tree, obj: dict[str, Any]
) -> tuple[Path, dict[str, Place]] | None:
    """Where this kustomization's generator of the built ConfigMap/Secret `obj` (its name
    with the kustomization's namePrefix/nameSuffix and the hash suffix, or as written) is
    written, and each data key's place: a `files:` entry's key is its file (line 1, the
    file is the value), an `envs:` file's key its line there, a literal its entry. A
    finding of a generated object was at kustomization.yaml:1 (local-path-provisioner's
    helper pod). None when no generator here makes it."""
    kind = obj.get("kind")
    field = {"ConfigMap": "configMapGenerator", "Secret": "secretGenerator"}.get(str(kind))
    entries = kustomization.get(field) if field else None
    name = obj.get("metadata", {}).get("name") if isinstance(obj.get("metadata"), dict) else None
    if not isinstance(entries, list) or not isinstance(name, str):
        return None
    prefix, suffix = kustomization.get("namePrefix"), kustomization.get("nameSuffix")
    affixed = (prefix if isinstance(prefix, str) else "", suffix if isinstance(suffix, str) else "")
    for index, entry in enumerate(entries):
        written = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(written, str) or not _names(name, written, affixed):
            continue
        assert isinstance(entry, dict) and field is not None
        found: dict[str, Place] = {}
        for number, source in _listed(entry, "envs"):
            file = posixpath.normpath(posixpath.join(directory, source))
            for line, key in _env_keys(file, tree):
                found.setdefault(key, ((field, index, "envs", number), file, line))
        for number, text in _listed(entry, "literals"):
            found[text.partition("=")[0]] = ((field, index, "literals", number), "", 0)
        for number, source in _listed(entry, "files"):
            key, _, path = source.rpartition("=")
            file = posixpath.normpath(posixpath.join(directory, path))
            found[key or posixpath.basename(path)] = ((field, index, "files", number), file, 1)
        return (field, index), found
    return None


def _names(built: str, written: str, affixed: tuple[str, str]) -> bool:
    """Is `built` the generator `written`'s object: as written, or with this
    kustomization's prefix and suffix, either with kustomize's hash suffix?"""
    for name in (written, f"{affixed[0]}{written}{affixed[1]}"):
        if built == name or re.fullmatch(re.escape(name) + r"-[a-z0-9]{10}", built):
            return True
    return False


def _listed(entry: dict[str, Any], key: str) -> list[tuple[int, str]]:
    values = entry.get(key)
    items = values if isinstance(values, list) else []
    return [(number, item) for number, item in enumerate(items) if isinstance(item, str)]


def _env_keys(file: str, tree: Tree) -> list[tuple[int, str]]:
    """(line, key) of an env file's pairs, as _env reads them; none when unreadable."""
    try:
        text = tree.read(file).decode("utf-8", "replace").removeprefix("\ufeff")
    except OSError:
        return []
    found = []
    for number, line in enumerate(text.split("\n"), 1):
        key, equals, _ = line.strip().partition("=")
        if equals and not key.startswith("#"):
            found.append((number, key))
    return found
