"""A small on-disk memo of policy files already validated against the schema.

Schema validation (and importing jsonschema) is most of a pre-commit run's start-up; a policy
file whose exact bytes passed validation under the same schema need not be validated again.
The cache is an optimisation only: when it cannot be read or written, everything still works.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

_FILE = "validated-policies-v1"
_PARSED_FILE = "parsed-policies-v1.json"
_MAX_ENTRIES = 5000


def cache_dir() -> Path:
    base = os.environ.get("GATEKEEPER_CACHE_DIR")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "gatekeeper"


def digest(schema_text: str, data: bytes) -> str:
    hasher = _schema_hasher(schema_text).copy()  # the schema hashed once, not per file
    hasher.update(data)
    return str(hasher.hexdigest())


@functools.lru_cache(maxsize=4)
def _schema_hasher(schema_text: str) -> Any:
    return hashlib.sha256(schema_text.encode() + b"\0")


def private(path: Path) -> bool:
    """Ours alone: owned by this user and writable by no one else."""
    info = path.stat()
    return info.st_uid == os.getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


# A policy file's parsed content and the line of each top-level key.
Parsed = tuple[dict[str, Any], dict[str, int]]


class ValidatedSet:
    """Digests of (schema, policy file) pairs that passed validation, and their parsed
    content: a pre-commit run then neither validates nor parses the library's files again.

    The parsed content is JSON in a file of this user's alone (like the blob cache): one
    that someone else could write is not read, as its content becomes the policies."""

    def __init__(self) -> None:
        self.path = cache_dir() / _FILE
        try:
            self.known = set(self.path.read_text().split())
        except (OSError, UnicodeDecodeError):
            self.known = set()
        self.added: set[str] = set()
        self.parsed_path = cache_dir() / _PARSED_FILE
        self._parsed: dict[str, Any] | None = None  # read on first use
        self._parsed_added = False

    def _parsed_entries(self) -> dict[str, Any]:
        if self._parsed is None:
            self._parsed = {}
            try:
                if private(self.parsed_path.parent) and private(self.parsed_path):
                    found = json.loads(self.parsed_path.read_text())
                    self._parsed = found if isinstance(found, dict) else {}
            except (OSError, ValueError, RecursionError):
                self._parsed = {}
        return self._parsed

    def parsed(self, key: str) -> Parsed | None:
        """The remembered content of a validated file, if well-formed."""
        if key not in self:
            return None
        entry = self._parsed_entries().get(key)
        if not (isinstance(entry, list) and len(entry) == 2):
            return None
        raw, lines = entry
        if not isinstance(raw, dict) or not isinstance(lines, dict):
            return None
        if not all(isinstance(k, str) and type(v) is int for k, v in lines.items()):
            return None
        return raw, lines

    def remember(self, key: str, raw: dict[str, Any], lines: dict[str, int]) -> None:
        """Keep a validated file's content, when JSON holds it exactly (else it is parsed
        every time)."""
        try:
            same = json.loads(json.dumps(raw)) == raw
        except (TypeError, ValueError, RecursionError):
            return
        if same:
            self._parsed_entries()[key] = [raw, lines]
            self._parsed_added = True

    def __contains__(self, key: str) -> bool:
        return key in self.known or key in self.added

    def add(self, key: str) -> None:
        if key not in self.known:
            self.added.add(key)

    def save(self) -> None:
        digests = sorted(self.known | self.added)[-_MAX_ENTRIES:]
        if self._parsed_added and self._parsed is not None:
            kept = set(digests)
            parsed = {key: value for key, value in self._parsed.items() if key in kept}
            _write(self.parsed_path, json.dumps(parsed), private_only=True)
            self._parsed_added = False
        if self.added:
            _write(self.path, "\n".join(digests) + "\n")
            self.known.update(self.added)
            self.added.clear()


def _write(path: Path, text: str, private_only: bool = False) -> None:
    """Replace `path` with `text` atomically; a failure is dropped (a cache only)."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if private_only and not private(path.parent):
            return
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".cache-")
        with os.fdopen(handle, "w") as out:
            out.write(text)
        os.replace(temp, path)


class Entries:
    """Values by content key, one file each under `cache_dir()/name`: what a computation
    gave for exact inputs (the key is a digest of them and of the code), it gives again.

    Only a speed-up, never trusted beyond that: the folder must be this user's alone, each
    file carries a digest of its JSON (a torn or corrupt file is a miss, never a value), a
    file is replaced whole (concurrent writers: the last one wins, a reader sees either),
    and anything that fails to read or write is a miss. Each of 256 shards keeps at most
    `per_shard` entries, the oldest dropped first."""

    def __init__(self, name: str, per_shard: int = 64, root: Path | None = None) -> None:
        self.folder = (root or cache_dir()) / name
        self.per_shard = per_shard
        self._usable: bool | None = None  # the folder checked on first use

    def _ready(self) -> bool:
        if self._usable is None:
            try:
                self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
                self._usable = private(self.folder) and not self.folder.is_symlink()
            except OSError:
                self._usable = False
        return self._usable

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / key[2:]

    def get(self, key: str, object_hook: Callable[[dict[str, Any]], Any] | None = None) -> Any:
        """The value stored under `key` (its objects through `object_hook`: json.loads), or
        None. What `object_hook` raises is the caller's to catch."""
        payload = self.get_bytes(key)
        if payload is None:
            return None
        try:
            return json.loads(payload, object_hook=object_hook)
        except (ValueError, RecursionError):
            return None

    def get_bytes(self, key: str) -> bytes | None:
        """The bytes stored under `key` (put_bytes), or None."""
        if not self._ready():
            return None
        try:
            fd = os.open(self._path(key), os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            return None
        try:
            with os.fdopen(fd, "rb") as handle:
                info = os.fstat(handle.fileno())
                if info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                    return None
                data = handle.read()
        except OSError:
            return None
        check, _, payload = data.partition(b"\n")
        if hashlib.sha256(payload).hexdigest().encode() != check:
            return None
        return payload

    def put(self, key: str, value: Any) -> None:
        """Store `value` (JSON) under `key`; dropped when it cannot be."""
        try:
            payload = json.dumps(value, separators=(",", ":")).encode()
        except (TypeError, ValueError, RecursionError):
            return
        self.put_bytes(key, payload)

    def put_bytes(self, key: str, payload: bytes) -> None:
        """Store `payload` under `key`; dropped when it cannot be."""
        if not self._ready():
            return
        path = self._path(key)
        with contextlib.suppress(OSError):
            path.parent.mkdir(exist_ok=True, mode=0o700)
            handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".new-")
            with os.fdopen(handle, "wb") as out:
                out.write(hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)
            os.replace(temp, path)
            self._trim(path.parent)

    def _trim(self, shard: Path) -> None:
        """Keep the newest `per_shard` files of a shard (a dead writer's temporary file
        among them, so it goes in time too)."""
        names = os.listdir(shard)
        if len(names) <= self.per_shard:  # the common case: no file's age is asked
            return
        entries = []
        for name in names:
            with contextlib.suppress(OSError):
                entries.append((os.lstat(shard / name).st_mtime, str(shard / name)))
        entries.sort(reverse=True)
        for _, stale in entries[self.per_shard :]:
            with contextlib.suppress(OSError):
                os.unlink(stale)


def installed(package: str, distribution: str) -> bytes | None:
    """The RECORD of the installed `distribution` that holds the top-level `package`: the
    sha256 of each of its files, so a digest of it names the exact installed code (found,
    not imported). None when it cannot be found: then nothing derived from it is cached."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    places = list(spec.submodule_search_locations or ()) if spec is not None else []
    if not places:
        return None
    site = Path(places[0]).parent
    try:
        found = [
            entry.path
            for entry in os.scandir(site)
            if entry.name.startswith(f"{distribution}-") and entry.name.endswith(".dist-info")
        ]
        return (Path(found[0]) / "RECORD").read_bytes() if len(found) == 1 else None
    except OSError:
        return None
