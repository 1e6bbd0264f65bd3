"""Facts about git blobs by id, kept between pull request runs: the inventory entries of a
manifest, and whether a blob mentions a text.

Repository-scope policies (a NetworkPolicy per namespace) judge a change against every
manifest of the tree, and the dependency graph looks for Applications in every file; almost
none of them change from one run to the next. Parsing them all again was most of a
`scan --base`; a blob id names exact content, so what a blob yielded once it yields always.

The cache is only a speed-up, never trusted beyond that:
- keys are content ids plus a digest of the code that builds entries (a new loader misses);
- it lives in the user's cache directory (GATEKEEPER_CACHE_DIR), never in the scanned tree,
  and is not used when that directory or file is writable by others or owned by someone else;
- values are JSON checked for shape (nothing in it is executed); anything unreadable, locked
  or malformed is a miss, and a failing write is dropped.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sqlite3
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gatekeeper.cache import cache_dir
from gatekeeper.inventory import InventoryEntry

_FILE = "blobs-v1.sqlite"
_CHUNK = 500  # ids per query (SQLite's parameter limit is 999 on old builds)

# What a blob yields: the entries without their file (the same blob may sit at many paths).
Rows = list[tuple[str, str, str, str, str, dict[str, str], int]]


@functools.cache
def code_digest() -> str:
    """A digest of the modules that turn a blob into entries: a change to them is a miss."""
    from gatekeeper import inventory, yamldoc
    from gatekeeper.sources import kubernetes

    digest = hashlib.sha256()
    for module in (inventory, yamldoc, kubernetes):
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.hexdigest()[:16]


def _private(path: Path) -> bool:
    """Ours alone: owned by this user and writable by no one else."""
    info = path.stat()
    return info.st_uid == os.getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def to_rows(entries: Iterable[InventoryEntry]) -> Rows:
    return [
        (e.source, e.api_version, e.kind, e.namespace, e.name, e.labels, e.line) for e in entries
    ]


def from_rows(rows: Rows, file: str) -> list[InventoryEntry]:
    return [
        InventoryEntry(source, api, kind, namespace, name, labels, file, line)
        for source, api, kind, namespace, name, labels, line in rows
    ]


def _valid(value: Any) -> Rows | None:
    if not isinstance(value, list):
        return None
    rows: Rows = []
    for row in value:
        if not (isinstance(row, list) and len(row) == 7):
            return None
        *texts, labels, line = row
        if not all(isinstance(text, str) for text in texts) or type(line) is not int:
            return None
        if not isinstance(labels, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in labels.items()
        ):
            return None
        source, api, kind, namespace, name = texts
        rows.append((source, api, kind, namespace, name, labels, line))
    return rows


class BlobCache:
    """Facts by blob id in one SQLite file; every method is safe to call when it is off."""

    def __init__(self, directory: Path | None = None) -> None:
        self.path = (directory or cache_dir()) / _FILE
        self.version = code_digest()
        self.db: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not _private(self.path.parent):
                return
            if self.path.exists() and (self.path.is_symlink() or not _private(self.path)):
                return
            self.db = sqlite3.connect(self.path, timeout=1)
            os.chmod(self.path, 0o600)
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS inventory (version TEXT, blob TEXT,"
                " namespaces TEXT, rows TEXT, PRIMARY KEY (version, blob))"
            )
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS mentions"
                " (text TEXT, blob TEXT, found INTEGER, PRIMARY KEY (text, blob))"
            )
        except (OSError, sqlite3.Error):
            self.close()

    def get_many(self, blobs: list[str], namespaces: set[str] | None = None) -> dict[str, Rows]:
        """Rows of the known blobs; with `namespaces`, a blob whose objects all sit elsewhere
        is answered without decoding its rows (as an empty list)."""
        found: dict[str, Rows] = {}
        if self.db is None:
            return found
        try:
            for start in range(0, len(blobs), _CHUNK):
                chunk = blobs[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                cursor = self.db.execute(
                    "SELECT blob, namespaces, rows FROM inventory"
                    f" WHERE version = ? AND blob IN ({marks})",
                    [self.version, *chunk],
                )
                for blob, where, text in cursor:
                    if namespaces is not None and not namespaces.intersection(where.split("\n")):
                        found[blob] = []
                        continue
                    rows = _valid(_json(text))
                    if rows is not None:
                        found[blob] = rows
        except (sqlite3.Error, AttributeError):
            return {}
        return found

    def put_many(self, rows: dict[str, Rows]) -> None:
        if self.db is None or not rows:
            return
        try:
            with self.db:
                # Entries of older code would never be read again: one version is kept.
                self.db.execute("DELETE FROM inventory WHERE version != ?", [self.version])
                self.db.executemany(
                    "INSERT OR REPLACE INTO inventory (version, blob, namespaces, rows)"
                    " VALUES (?, ?, ?, ?)",
                    [
                        (self.version, blob, _namespaces(value), json.dumps(value))
                        for blob, value in rows.items()
                    ],
                )
        except sqlite3.Error:
            return

    def mentions(self, text: str, blobs: list[str]) -> dict[str, bool]:
        """Whether each known blob contains `text`."""
        found: dict[str, bool] = {}
        if self.db is None:
            return found
        try:
            for start in range(0, len(blobs), _CHUNK):
                chunk = blobs[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                cursor = self.db.execute(
                    f"SELECT blob, found FROM mentions WHERE text = ? AND blob IN ({marks})",
                    [text, *chunk],
                )
                found.update((blob, value == 1) for blob, value in cursor)
        except sqlite3.Error:
            return {}
        return found

    def put_mentions(self, text: str, found: dict[str, bool]) -> None:
        if self.db is None or not found:
            return
        try:
            with self.db:
                self.db.executemany(
                    "INSERT OR REPLACE INTO mentions (text, blob, found) VALUES (?, ?, ?)",
                    [(text, blob, int(value)) for blob, value in found.items()],
                )
        except sqlite3.Error:
            return

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
        self.db = None


def _namespaces(rows: Rows) -> str:
    """The namespaces of a blob's objects (`default` for none), one per line."""
    return "\n".join(sorted({row[3] or "default" for row in rows}))


def _json(text: Any) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError, RecursionError):
        return None
