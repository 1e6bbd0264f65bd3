"""The objects each manifest blob declares (inventory entries), by git blob id, kept between
pull request runs.

Repository-scope policies (a NetworkPolicy per namespace) judge a change against every
manifest of the tree, and the dependency graph looks for Applications in every manifest;
almost none of them change from one run to the next. Parsing them all again was most of a
`scan --base`; a blob id names exact content, so what a blob yielded once it yields always.
Objects are found by parsing, never by searching bytes (YAML escapes hide any text).

The cache is only a speed-up, never trusted beyond that:
- keys are content ids plus a digest of the code that builds entries (a new loader misses);
- it lives in the user's cache directory (GATEKEEPER_CACHE_DIR), never in the scanned tree,
  and is not used when that directory or file is writable by others or owned by someone else;
- each row carries an HMAC keyed by a secret file of the cache (0600, made on first use): a
  row written by anything that cannot read that file (a cache directory restored from a CI
  cache, a copied database) is a miss;
- a row is checked against the blob's bytes where a kind is asked for: a blob that could spell
  a wanted kind its rows lack is parsed again, so "declares nothing" cannot be forged even by
  code running as this user before the scan (an earlier job on a persistent runner);
- values are JSON checked for shape (nothing in it is executed); anything unreadable, locked
  or malformed is a miss, and a failing write is dropped.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import itertools
import json
import os
import re
import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatekeeper.cache import cache_dir
from gatekeeper.cache import private as _private
from gatekeeper.inventory import InventoryEntry, make

if TYPE_CHECKING:
    from gatekeeper.git import RevisionTree
    from gatekeeper.sources import LoadContext

_FILE = "blobs-v2.sqlite"
_KEY_FILE = "blobs-v2.key"  # the rows' HMAC secret
_KEY_SIZE = 32
_CHUNK = 500  # ids per query (SQLite's parameter limit is 999 on old builds)
_READ_CHUNK = 512  # blobs read and parsed at once

# What a blob yields: the entries without their file (the same blob may sit at many paths).
Rows = list[tuple[str, str, str, str, str, dict[str, str], int, dict[str, Any] | None]]
# Whether a blob matters, from its objects' namespaces and `apiVersion kind`s.
Keep = Callable[[list[str], list[str]], bool]


@functools.cache
def code_digest() -> str:
    """A digest of the modules that turn a blob into entries: a change to them is a miss."""
    from gatekeeper import admission_charts, admission_weakened, inventory, yamldoc
    from gatekeeper.sources import kubernetes

    digest = hashlib.sha256()
    for module in (inventory, admission_weakened, admission_charts, yamldoc, kubernetes):
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.hexdigest()[:16]


def to_rows(entries: Iterable[InventoryEntry]) -> Rows:
    return [
        (e.source, e.api_version, e.kind, e.namespace, e.name, e.labels, e.line, e.facts)
        for e in entries
    ]


def from_rows(rows: Rows, file: str) -> list[InventoryEntry]:
    return [
        make(source, api, kind, namespace, name, labels, file, line, "", facts)
        for source, api, kind, namespace, name, labels, line, facts in rows
    ]


def _valid(value: Any) -> Rows | None:
    if not isinstance(value, list):
        return None
    rows: Rows = []
    for row in value:
        if not (isinstance(row, list) and len(row) == 8):
            return None
        *texts, labels, line, facts = row
        if not all(isinstance(text, str) for text in texts) or type(line) is not int:
            return None
        if not isinstance(labels, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in labels.items()
        ):
            return None
        source, api, kind, namespace, name = texts
        if facts is not None and not isinstance(facts, dict):
            return None
        rows.append((source, api, kind, namespace, name, labels, line, facts))
    return rows


def _secret(directory: Path) -> bytes | None:
    """The cache's HMAC key: made once (0600, never replaced), None when it is not ours alone."""
    path = directory / _KEY_FILE
    try:
        nofollow = getattr(os, "O_NOFOLLOW", 0)  # not on Windows
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | nofollow, 0o600)
    except FileExistsError:
        pass
    except OSError:
        return None
    else:
        with os.fdopen(fd, "wb") as handle:
            handle.write(os.urandom(_KEY_SIZE))
    try:
        if path.is_symlink() or not _private(path) or path.stat().st_mode & 0o077:
            return None
        key = path.read_bytes()
    except OSError:
        return None
    return key if len(key) == _KEY_SIZE else None


class BlobCache:
    """Facts by blob id in one SQLite file; every method is safe to call when it is off."""

    def __init__(self, directory: Path | None = None) -> None:
        self.path = (directory or cache_dir()) / _FILE
        self.version = code_digest()
        self.db: sqlite3.Connection | None = None
        self.key = b""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not _private(self.path.parent):
                return
            if self.path.exists() and (self.path.is_symlink() or not _private(self.path)):
                return
            key = _secret(self.path.parent)
            if key is None:
                return
            self.key = key
            self.db = sqlite3.connect(self.path, timeout=1)
            os.chmod(self.path, 0o600)
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS inventory (version TEXT, blob TEXT,"
                " namespaces TEXT, kinds TEXT, rows TEXT, mac TEXT, PRIMARY KEY (version, blob))"
            )
        except (OSError, sqlite3.Error):
            self.close()

    def _mac(self, blob: str, namespaces: str, kinds: str, rows: str) -> str:
        message = "\0".join((self.version, blob, namespaces, kinds, rows)).encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()

    def get_many(
        self,
        blobs: list[str],
        keep: Keep | None = None,
        kinds_seen: dict[str, set[str]] | None = None,
    ) -> dict[str, Rows]:
        """Rows of the known blobs. With `keep`, a blob whose namespaces and kinds it refuses
        is answered without decoding its rows (as an empty list). `kinds_seen` receives the
        kind names each known blob declares."""
        found: dict[str, Rows] = {}
        if self.db is None:
            return found
        try:
            for start in range(0, len(blobs), _CHUNK):
                chunk = blobs[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                cursor = self.db.execute(
                    "SELECT blob, namespaces, kinds, rows, mac FROM inventory"
                    f" WHERE version = ? AND blob IN ({marks})",
                    [self.version, *chunk],
                )
                for blob, namespaces, kinds, text, mac in cursor:
                    expected = self._mac(blob, namespaces, kinds, text)
                    if not (isinstance(mac, str) and hmac.compare_digest(mac, expected)):
                        continue  # not written by a holder of the key: a miss
                    if kinds_seen is not None:
                        kinds_seen[blob] = {k.rpartition(" ")[2] for k in kinds.split("\n") if k}
                    if keep is not None and not keep(namespaces.split("\n"), kinds.split("\n")):
                        found[blob] = []
                        continue
                    rows = _valid(_json(text))
                    if rows is not None:
                        found[blob] = rows
        except (sqlite3.Error, AttributeError, TypeError):
            return {}
        return found

    def put_many(self, rows: dict[str, Rows]) -> None:
        if self.db is None or not rows:
            return
        try:
            with self.db:
                # Entries of older code would never be read again: one version is kept.
                self.db.execute("DELETE FROM inventory WHERE version != ?", [self.version])
                records = [(blob, *_keys(value), json.dumps(value)) for blob, value in rows.items()]
                self.db.executemany(
                    "INSERT OR REPLACE INTO inventory (version, blob, namespaces, kinds, rows, mac)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    [(self.version, *record, self._mac(*record)) for record in records],
                )
        except sqlite3.Error:
            return

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
        self.db = None


def _keys(rows: Rows) -> tuple[str, str]:
    """The namespaces (`default` for none) and `apiVersion kind`s of a blob's objects."""
    namespaces = sorted({row[3] or "default" for row in rows})
    kinds = sorted({f"{row[1]} {row[2]}" for row in rows})
    return "\n".join(namespaces), "\n".join(kinds)


def keys_of(entry: InventoryEntry) -> tuple[str, str]:
    """The `keep` arguments' form of one entry: its namespace and `apiVersion kind`."""
    return entry.namespace or "default", f"{entry.api_version} {entry.kind}"


def inventory(
    tree: RevisionTree,
    paths: list[str],
    options: dict[str, dict[str, Any]],
    keep: Keep | None = None,
    kinds: frozenset[str] | None = None,
) -> dict[str, list[InventoryEntry]]:
    """The objects the manifests at `paths` declare, parsed with the plain-YAML adapter (no
    rendering), from the cache where it knows the blob. With `keep(namespaces, kinds)`, files
    whose objects it refuses are left out; with `kinds`, objects of other kinds are, and a
    blob that cannot spell one of them (kubernetes.may_spell) is not parsed at all. Cached or
    not, the answer is the same."""
    from gatekeeper import inventory as inventory_mod
    from gatekeeper.sources import LoadContext, kubernetes
    from gatekeeper.tree import MemoryTree

    words = None if kinds is None else [kind.encode() for kind in sorted(kinds)]

    def wanted(namespaces: list[str], kind_keys: list[str]) -> bool:
        """A cached blob's rows are decoded only when they may hold something asked for."""
        if kinds is not None and not any(k.rpartition(" ")[2] in kinds for k in kind_keys):
            return False
        return keep is None or keep(namespaces, kind_keys)

    cache = BlobCache()
    try:
        shas = sorted({tree.blobs[path].sha for path in paths})
        seen: dict[str, set[str]] = {}
        known = cache.get_many(
            shas, wanted if kinds is not None or keep is not None else None, seen
        )
        for sha in _doubted(tree, known, seen, words):
            del known[sha]  # parsed again below
        context = LoadContext(tree=MemoryTree({}), options=options)
        fresh: dict[str, Rows] = {}
        missing = {tree.blobs[p].sha: p for p in paths if tree.blobs[p].sha not in known}
        ids = list(missing)
        for start in range(0, len(ids), _READ_CHUNK):  # a chunk at a time: flat memory
            for sha, data in tree.reader.read_many(ids[start : start + _READ_CHUNK]).items():
                if words is not None and not kubernetes.may_spell(data, words):
                    continue  # none of the objects wanted; not cached (others want all)
                loaded = kubernetes.load(missing[sha], data, context)
                fresh[sha] = to_rows(inventory_mod.entry(document) for document in loaded.documents)
        cache.put_many(fresh)
    finally:
        cache.close()
    known.update(fresh)
    found: dict[str, list[InventoryEntry]] = {}
    kept: dict[tuple[str, str], bool] = {}  # keep's answer per (namespace, kind)
    for path in paths:
        entries = from_rows(known.get(tree.blobs[path].sha) or [], path)
        if kinds is not None:
            entries = [e for e in entries if e.kind in kinds]
        if keep is not None:
            entries = [e for e in entries if _kept(keep, keys_of(e), kept)]
        if entries:
            found[path] = entries
    return found


def _doubted(
    tree: RevisionTree,
    known: dict[str, Rows],
    seen: dict[str, set[str]],
    words: list[bytes] | None,
) -> list[str]:
    """The cached blobs whose bytes could spell a wanted kind their rows do not declare
    (`words`), or with every kind wanted (None), that declare nothing yet could spell `kind`.

    The key only stops writers that cannot read it; code running as this user can. A row
    that hides an object (an Application "declaring nothing" keeps what it deploys out of
    the dependency graph) is caught by reading the blob (the test of kubernetes.may_spell,
    without parsing); a blob that names a kind as a whole word is parsed each time, as a miss
    would be. A blob's answer is kept for the process (base and head share most blobs)."""
    asked = tuple(words) if words is not None else None
    doubted: list[str] = []
    ids = []
    for sha in sorted(known):
        memo = _CHECKED.get((sha, asked, frozenset(seen.get(sha, ()))))
        if memo is None:
            ids.append(sha)
        elif memo:
            doubted.append(sha)
    for start in range(0, len(ids), _READ_CHUNK):
        for sha, data in tree.reader.read_many(ids[start : start + _READ_CHUNK]).items():
            declared = seen.get(sha, set())
            if words is not None:
                doubt = _doubts(data, declared, words)
            else:
                doubt = not declared and _doubts(data, declared, [b"kind"])
            if len(_CHECKED) >= _CHECKED_MAX:
                _CHECKED.clear()
            _CHECKED[(sha, asked, frozenset(declared))] = doubt
            if doubt:
                doubted.append(sha)
    return doubted


# Per process: (blob, kinds asked, kinds its row declares) -> whether the row was doubted (a
# blob id names its bytes).
_CHECKED: dict[tuple[str, tuple[bytes, ...] | None, frozenset[str]], bool] = {}
_CHECKED_MAX = 1_000_000


def _doubts(data: bytes, declared: set[str], words: list[bytes]) -> bool:
    """Could `data` spell one of `words` (kind names, as whole scalars) not in `declared`?
    A kind is a whole scalar: in the bytes no letter, digit or `_` touches it (`Secret` in
    `SealedSecret` is not one); escapes that could spell anything leave every word possible."""
    from gatekeeper.sources import kubernetes

    text = kubernetes.spelled(data)
    if text is None:  # escapes could spell any kind
        return not all(word.decode() in declared for word in words)
    missing = [word for word in words if word.decode() not in declared and word in text]
    return bool(missing) and _whole_words(tuple(missing)).search(text) is not None


@functools.lru_cache(maxsize=32)
def _whole_words(words: tuple[bytes, ...]) -> re.Pattern[bytes]:
    alternatives = b"|".join(re.escape(word) for word in words)
    return re.compile(rb"(?<![A-Za-z0-9_])(?:" + alternatives + rb")(?![A-Za-z0-9_])")


def content_id(data: bytes) -> str:
    """The cache key of a file's bytes outside git: SHA-256, never the same length as a git
    blob id (git detects SHA-1 collisions, hashlib does not: content crafted to collide
    must not borrow another file's objects)."""
    return hashlib.sha256(data).hexdigest()


# What deploys other files: its objects depend on the tree, not on its bytes alone.
_DEPLOYERS = ("argoproj.io/", "kustomize.toolkit.fluxcd.io/", "helm.toolkit.fluxcd.io/")


def contents_inventory(
    pairs: Iterable[tuple[str, bytes]],
    context: LoadContext,
    kinds: frozenset[str] | None = None,
) -> list[InventoryEntry]:
    """The objects of plain Kubernetes files given with their content (a work tree's files),
    from the cache where it knows the content (by content_id). A file that holds an Application or
    Flux deployer is loaded in full in `context` (what it deploys from the tree counts too,
    and is never cached). With `kinds`, only objects of those kinds (a file that can spell
    neither one of them nor a deployer's kind, kubernetes.may_spell, holds none)."""
    from gatekeeper.sources import LoadContext as Context
    from gatekeeper.tree import MemoryTree

    pairs = iter(pairs)
    first = next(pairs, None)
    if first is None:  # nothing to read (a hook: the staged files alone): no cache opened
        return []
    alone = Context(tree=MemoryTree({}), options=context.options)
    entries: list[InventoryEntry] = []
    cache = BlobCache()
    try:
        batch: list[tuple[str, bytes, str]] = []
        for path, data in itertools.chain([first], pairs):
            batch.append((path, data, content_id(data)))
            if len(batch) == _READ_CHUNK:
                entries.extend(_batch_inventory(batch, cache, alone, context))
                batch = []
        entries.extend(_batch_inventory(batch, cache, alone, context))
    finally:
        cache.close()
    return entries if kinds is None else [entry for entry in entries if entry.kind in kinds]


def _batch_inventory(
    batch: list[tuple[str, bytes, str]], cache: BlobCache, alone: LoadContext, context: LoadContext
) -> list[InventoryEntry]:
    from gatekeeper import inventory as inventory_mod
    from gatekeeper.sources import kubernetes
    from gatekeeper.sources.gitops import DEPLOYER_KINDS

    seen: dict[str, set[str]] = {}
    known = cache.get_many(sorted({sha for _, _, sha in batch}), kinds_seen=seen)
    words = [kind.encode() for kind in sorted(DEPLOYER_KINDS)]  # what decides other files
    for _, data, sha in batch:
        if sha in known and _doubts(data, seen.get(sha, set()), words):
            del known[sha]  # parsed again below
    fresh: dict[str, Rows] = {}
    for path, data, sha in batch:
        if sha not in known and sha not in fresh:
            loaded = kubernetes.load(path, data, alone)
            fresh[sha] = to_rows(inventory_mod.entry(document) for document in loaded.documents)
    cache.put_many(fresh)
    known.update(fresh)
    entries: list[InventoryEntry] = []
    for path, data, sha in batch:
        rows = known.get(sha) or []
        if any(row[1].startswith(_DEPLOYERS) for row in rows):
            loaded = kubernetes.load(path, data, context)
            entries.extend(inventory_mod.entry(document) for document in loaded.documents)
        else:
            entries.extend(from_rows(rows, path))
    return entries


def _kept(keep: Keep, keys: tuple[str, str], memo: dict[tuple[str, str], bool]) -> bool:
    if keys not in memo:
        memo[keys] = keep([keys[0]], [keys[1]])
    return memo[keys]


def _json(text: Any) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError, RecursionError):
        return None
