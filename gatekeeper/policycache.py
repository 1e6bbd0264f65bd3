"""The loaded policy bundle, remembered by the exact content of its files.

Loading the library (279 files: their parsed content read back, every policy compiled into
its objects) was a tenth of a pre-commit run, the same work every time. A bundle whose roots
hold the same files with the same bytes, loaded by the same gatekeeper code, is the same
bundle: it is kept as one pickle in this user's private cache folder and read back in a few
milliseconds. Its CEL programs are kept as their source (compiled on first use, through the
compiled-expression cache, as a bundle loaded from the cache of parsed files has them).

Only a speed-up: a bundle that fails to load is never kept (its errors are reported by
loading it again), and a pickle that cannot be read is a miss. What a pickle may build is
confined to gatekeeper's own classes and plain values, so a planted file cannot run code.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import sys
import time
from collections.abc import Iterable
from pathlib import Path, PosixPath, PurePosixPath
from typing import Any

from gatekeeper.cache import Entries
from gatekeeper.fieldpath import WILDCARD
from gatekeeper.policy.cel import Program
from gatekeeper.policy.loader import load_bundle, policy_files
from gatekeeper.policy.model import Policy

_NAME = "policy-bundles-v1"
_PACKAGE = Path(__file__).resolve().parent
# The plain types a bundle holds besides gatekeeper's own classes.
_PLAIN = {
    ("builtins", name)
    for name in ("frozenset", "set", "tuple", "list", "dict", "str", "bytes", "int", "float")
} | {("pathlib", "PosixPath"), ("pathlib", "PurePosixPath")}


def load(roots: Iterable[Path], admission: list[tuple[Path, bytes]]) -> list[Policy]:
    """policy.loader.load_bundle(roots, admission=admission), from the cache when the roots
    hold what they held when it was stored."""
    return load_keyed(roots, admission)[0]


def load_keyed(
    roots: Iterable[Path], admission: list[tuple[Path, bytes]]
) -> tuple[list[Policy], str | None]:
    """load(), and the bundle's key: a digest of the code and of every file of the roots
    (None when a root cannot be read)."""
    roots = list(roots)
    key = _known_key(roots)
    store = Entries(_NAME, per_shard=4)
    if key is not None:
        found = _read(store, key)
        if found is not None:
            policies, files = found
            admission.extend(files)
            return policies, key
    files_found: list[tuple[Path, bytes]] = []
    policies = load_bundle(roots, admission=files_found)
    admission.extend(files_found)
    if key is not None:
        _write(store, key, (policies, files_found))
    return policies, key


# A policy file's content digest (_key) is found again from its stat alone (_stats) when
# its size, times, inode and device are all as they were: a run no longer reads and hashes
# the library's 298 files (6-7 ms of every hook). Only files changed at least this long
# before they were looked at are told by their stat: a write in the same tick of the
# file system's clock leaves the times as they were (git's "racy" entries).
_STATS = "policy-bundle-stats-v1"
_SETTLED_NS = 2 * 10**9


def _known_key(roots: list[Path]) -> str | None:
    """_key(roots), through the digest of the files' stats when every file is settled."""
    stats = _stats(roots)
    store = Entries(_STATS, per_shard=4)
    if stats is not None:
        kept = store.get_bytes(stats[0])
        if kept is not None and len(kept) == 64 and set(kept) <= set(b"0123456789abcdef"):
            return kept.decode()
    key = _key(roots)
    if key is not None and stats is not None and stats[1]:
        store.put_bytes(stats[0], key.encode())
    return key


def _stats(roots: list[Path]) -> tuple[str, bool] | None:
    """A digest of the code and of each policy file's name, size, modification and change
    times, inode and device (as _key walks them), and whether every one was changed more
    than _SETTLED_NS before now; None when a root cannot be read."""
    now = time.time_ns()
    settled = True
    hasher = hashlib.sha256(f"{_NAME}\0{sys.version}\0{_code()}\0".encode())
    try:
        for root in roots:
            hasher.update(f"root\0{root}\0".encode())
            for file in policy_files(root):
                info = os.stat(file)
                hasher.update(
                    f"{file}\0{info.st_size}\0{info.st_mtime_ns}\0{info.st_ctime_ns}"
                    f"\0{info.st_ino}\0{info.st_dev}\0".encode()
                )
                settled = settled and max(info.st_mtime_ns, info.st_ctime_ns) < now - _SETTLED_NS
    except (OSError, ValueError):
        return None
    return hasher.hexdigest(), settled


def _key(roots: list[Path]) -> str | None:
    """A digest of the code that loads a bundle and of every file the roots hold (their
    names and bytes, as load_bundle walks them); None when a root cannot be read (loading
    then reports why)."""
    hasher = hashlib.sha256(f"{_NAME}\0{sys.version}\0{_code()}\0".encode())
    try:
        for root in roots:
            hasher.update(f"root\0{root}\0".encode())
            for file in policy_files(root):
                data = file.read_bytes()
                hasher.update(f"{file}\0{len(data)}\0".encode())
                hasher.update(data)
    except (OSError, ValueError):  # PolicyError is a ValueError: a missing root
        return None
    return hasher.hexdigest()


_CODE: list[str] = []


def _code() -> str:
    """Which gatekeeper code this is: the name, size and modification time of each of its
    modules (what Python itself checks before it uses a module's cached byte code)."""
    if not _CODE:
        hasher = hashlib.sha256()
        for directory, folders, files in os.walk(_PACKAGE):
            folders[:] = sorted(name for name in folders if name != "__pycache__")
            for name in sorted(files):
                if name.endswith(".py"):
                    info = os.stat(os.path.join(directory, name))
                    hasher.update(
                        f"{directory}/{name}\0{info.st_size}\0{info.st_mtime_ns}\0".encode()
                    )
        _CODE.append(hasher.hexdigest())
    return _CODE[0]


class _Pickler(pickle.Pickler):
    """Programs as their source (a compiled CEL expression is no Python object to keep),
    the field-path wildcard as itself (it is compared by identity)."""

    def persistent_id(self, obj: Any) -> str | None:
        return "wildcard" if obj is WILDCARD else None

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, Program):
            return Program, (obj.source, True)
        return NotImplemented


class _Unpickler(pickle.Unpickler):
    def persistent_load(self, pid: Any) -> Any:
        if pid == "wildcard":
            return WILDCARD
        raise pickle.UnpicklingError("unknown persistent id")

    def find_class(self, module: str, name: str) -> Any:
        """Only gatekeeper's classes and plain types: nothing a pickle could call to act."""
        if (module, name) in _PLAIN:
            return super().find_class(module, name)
        if module == "gatekeeper" or module.startswith("gatekeeper."):
            found = super().find_class(module, name)
            if isinstance(found, type):
                return found
        raise pickle.UnpicklingError(f"{module}.{name} is not part of a policy bundle")


def _write(store: Entries, key: str, value: tuple[list[Policy], list[tuple[Path, bytes]]]) -> None:
    out = io.BytesIO()
    try:
        _Pickler(out, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    except (pickle.PicklingError, TypeError, AttributeError, RecursionError):
        return
    store.put_bytes(key, out.getvalue())


def _read(store: Entries, key: str) -> tuple[list[Policy], list[tuple[Path, bytes]]] | None:
    data = store.get_bytes(key)
    if data is None:
        return None
    try:
        value = _Unpickler(io.BytesIO(data)).load()
    except Exception:  # a cache: whatever is wrong with the file, it is a miss
        return None
    if not (isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], list)):
        return None
    policies, files = value
    if not all(isinstance(policy, Policy) for policy in policies):
        return None
    if not all(isinstance(path, PurePosixPath) and isinstance(text, bytes) for path, text in files):
        return None
    return policies, [(PosixPath(path), text) for path, text in files]
