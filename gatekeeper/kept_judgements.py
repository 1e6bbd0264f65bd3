"""What the policies found in an object, kept between pre-commit runs (`scan --hook` only).

A hook on a chart judges the same rendered objects at every run (kube-prometheus-stack: 118
distinct objects, about a fifth of the hook's CPU), and an edited values file mostly renders
them unchanged. Engine._judge is a function of the engine's policies and their parameters,
of the code that evaluates them, and of the document's source, kind, namespace, object and
`context` (the key of the engine's own memo, evaluate._judgement_key): a judgement is kept
under a digest of all of them. The policies are named by the bundle's key (policycache: the
exact files of every policy root and gatekeeper's code), the ids the engine keeps (disabled
ones left out) and every policy's effective parameters; the code by gatekeeper's modules
(policycache._code) and the installed CEL runtime and Kubernetes schemas (their RECORD's
stat). An engine without a bundle key (built from policies in memory) keeps nothing.

Kept only without ill-typed fields (GK-SCHEMA: their findings are made from the document,
not from the judgement), as verdicts: (policy id, message, path, error). Only a speed-up:
anything unreadable or of another shape is a miss, and the policies are judged again.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import marshal
import os
import sys
from pathlib import Path
from typing import Any

from gatekeeper.cache import Entries, cache_dir

_NAME = "judgements-v1"
_PER_SHARD = 32  # 8,192 objects kept, the oldest dropped first

_keeping = False

# (custom, [(policy id, message, path, error), ...]): a judgement as kept.
Kept = tuple[bool, list[tuple[str, str, tuple[Any, ...], bool]]]


def keep() -> None:
    """Keep judgements between runs from now on (the hook)."""
    global _keeping
    _keeping = True


def keeping() -> bool:
    return _keeping


def engine_key(bundle_key: str | None, params: dict[str, dict[str, Any]]) -> str | None:
    """A digest of what an engine judges with (see the module's docstring): `params` holds
    every policy the engine keeps, by id, with its effective parameters. None when nothing
    is to be kept: not a hook, no bundle key, parameters JSON does not write exactly."""
    if not _keeping or bundle_key is None:
        return None
    from gatekeeper.policycache import _code

    try:
        written = json.dumps(params, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return None
    stamps = [_installed_stamp(name) for name in ("cel_expr_python", "kubernetes_validate")]
    if None in stamps:
        return None
    text = "\0".join([_NAME, sys.version, _code(), bundle_key, written, *map(str, stamps)])
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _installed_stamp(package: str) -> str | None:
    """The installed distribution of `package`: its dist-info folder's name and its RECORD's
    size and modification time ("-" when the package is not installed); None when it cannot
    be told (then nothing is kept)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return "-"
    places = list(spec.submodule_search_locations or ())
    if not places:
        return None
    site = os.path.dirname(places[0])
    prefix = package.replace("_", "-").lower()
    try:
        found = [
            entry.name
            for entry in os.scandir(site)
            if entry.name.endswith(".dist-info")
            and entry.name.replace("_", "-").lower().startswith(f"{prefix}-")
        ]
        if len(found) != 1:
            return None
        info = os.stat(os.path.join(site, found[0], "RECORD"))
    except OSError:
        return None
    return f"{found[0]}\0{info.st_size}\0{info.st_mtime_ns}"


def _entry(engine: str, key: tuple[Any, ...]) -> str:
    source, kind, namespace, digest = key
    text = f"{engine}\0{source!r}\0{kind!r}\0{namespace!r}\0".encode("utf-8", "surrogatepass")
    return hashlib.sha256(text + digest).hexdigest()


def _store() -> Entries:
    """The store in this run's cache folder (one per folder: its check made once)."""
    folder = cache_dir()
    store = _STORES.get(folder)
    if store is None:
        store = _STORES[folder] = Entries(_NAME, _PER_SHARD, folder)
    return store


_STORES: dict[Path, Entries] = {}


def get(engine: str, key: tuple[Any, ...], ids: set[str]) -> Kept | None:
    """The judgement kept under the engine's digest and the document's key (its policies
    among `ids`), checked for shape; None when there is none."""
    payload = _store().get_bytes(_entry(engine, key))
    if payload is None:
        return None
    try:
        value = marshal.loads(payload)
    except (ValueError, EOFError, TypeError):
        return None
    if not (isinstance(value, tuple) and len(value) == 2 and type(value[0]) is bool):
        return None
    custom, verdicts = value
    if not isinstance(verdicts, list):
        return None
    for verdict in verdicts:
        if not (
            type(verdict) is tuple
            and len(verdict) == 4
            and type(verdict[0]) is str
            and verdict[0] in ids
            and type(verdict[1]) is str
            and type(verdict[2]) is tuple
            and all(type(step) in (str, int) for step in verdict[2])
            and type(verdict[3]) is bool
        ):
            return None
    return custom, verdicts


def put(engine: str, key: tuple[Any, ...], kept: Kept) -> None:
    """Keep a judgement (see get); dropped when marshal cannot write it exactly."""
    try:
        payload = marshal.dumps(kept, 4)
    except ValueError:
        return
    _store().put_bytes(_entry(engine, key), payload)
