"""A small on-disk memo of policy files already validated against the schema.

Schema validation (and importing jsonschema) is most of a pre-commit run's start-up; a policy
file whose exact bytes passed validation under the same schema need not be validated again.
The cache is an optimisation only: when it cannot be read or written, everything still works.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

_FILE = "validated-policies-v1"
_MAX_ENTRIES = 5000


def cache_dir() -> Path:
    base = os.environ.get("GATEKEEPER_CACHE_DIR")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "gatekeeper"


def digest(schema_text: str, data: bytes) -> str:
    return hashlib.sha256(schema_text.encode() + b"\0" + data).hexdigest()


class ValidatedSet:
    """Digests of (schema, policy file) pairs that passed validation."""

    def __init__(self) -> None:
        self.path = cache_dir() / _FILE
        try:
            self.known = set(self.path.read_text().split())
        except (OSError, UnicodeDecodeError):
            self.known = set()
        self.added: set[str] = set()

    def __contains__(self, key: str) -> bool:
        return key in self.known or key in self.added

    def add(self, key: str) -> None:
        if key not in self.known:
            self.added.add(key)

    def save(self) -> None:
        if not self.added:
            return
        entries = sorted(self.known | self.added)[-_MAX_ENTRIES:]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".validated-")
            with os.fdopen(handle, "w") as out:
                out.write("\n".join(entries) + "\n")
            os.replace(temp, self.path)
        except OSError:
            return
        self.known.update(self.added)
        self.added.clear()
