"""What a chart's files say that every hook run on the chart asks again, kept between runs.

A hook on a chart reads all its files (its local dependencies' copies too) for the API and
Kubernetes versions its templates test (helm.with_cluster_apis) and for the template actions
that read the clock or chance (helm_clock): kube-prometheus-stack's 6.6 MB were 25 ms of
every run for the same answer. Each answer is a function of the files alone (their names
and bytes, as copied for Helm) and of the code that reads them: kept in the user's cache
(gatekeeper.cache.Entries) under a digest of both, in a hook only (helm_renders.keeping), so
an edit to any file or to that code is a miss, never a stale answer.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gatekeeper.cache import Entries

_NAME = "helm-chart-facts-v1"
_PER_SHARD = 4
# The modules whose code decides the answers kept here (their regular expressions, the
# versions rendered): any change to one is a miss.
_CODE = ("helm.py", "helm_clock.py", "helm_kube_tests.py", "helm_lookup.py", "helm_facts.py")


@functools.cache
def _code_digest() -> str:
    digest = hashlib.sha256(sys.version.encode())
    folder = Path(__file__).resolve().parent
    for name in _CODE:
        digest.update(b"\0" + (folder / name).read_bytes())
    return digest.hexdigest()


class Facts:
    """The answers kept for one chart's files (name in the copy, content)."""

    def __init__(self, files: list[tuple[str, bytes]]) -> None:
        digest = hashlib.sha256(_code_digest().encode())
        for name, content in files:
            encoded = name.encode("utf-8", "surrogateescape")
            digest.update(b"\0%d\0%s\0%d\0" % (len(encoded), encoded, len(content)))
            digest.update(content)
        self.digest = digest.hexdigest()

    def kept(self, kind: str, compute: Callable[[], Any], valid: Callable[[Any], bool]) -> Any:
        """`compute()` (a JSON value), or what it gave for the same files and code before
        when that is still of its shape (`valid`)."""
        entries = Entries(_NAME, _PER_SHARD)
        key = hashlib.sha256(f"{kind}\0{self.digest}".encode()).hexdigest()
        payload = entries.get_bytes(key)
        if payload is not None:
            try:
                found = json.loads(payload)
            except (ValueError, RecursionError):
                found = None
            if found is not None and valid(found):
                return found
        value = compute()
        entries.put_bytes(key, json.dumps(value, separators=(",", ":")).encode())
        return value


def strings(value: Any) -> bool:
    """A list of strings."""
    return isinstance(value, list) and all(isinstance(item, str) for item in value)
