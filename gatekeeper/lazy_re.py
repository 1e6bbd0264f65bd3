"""Regular expressions compiled when first used, not when their module is imported.

A pre-commit run of gatekeeper is mostly start-up: its modules hold about 360 patterns, and
compiling them all at import cost 36-51 ms of a 300 ms hook, though a hook on one chart uses
few of them. `compile` returns a stand-in that compiles on its first attribute access and
then keeps the pattern's methods as its own attributes, so later calls cost what a compiled
pattern's do. Module-level patterns only: a pattern made inside a function is used at once.
"""

from __future__ import annotations

import re
from typing import Any, AnyStr, cast

# The attributes of re.Pattern a caller reads; each taken from the compiled pattern at once.
_ATTRIBUTES = (
    "search", "match", "fullmatch", "finditer", "findall", "sub", "subn", "split",
    "scanner", "pattern", "flags", "groups", "groupindex",
)  # fmt: skip


class _Deferred:
    """Stands for a pattern until first used: then compiles it and becomes its methods."""

    def __init__(self, pattern: str | bytes, flags: int) -> None:
        self._arguments: tuple[Any, int] = (pattern, flags)

    def __getattr__(self, name: str) -> Any:  # only asked for what __dict__ lacks
        if name.startswith("__"):
            raise AttributeError(name)
        compiled = re.compile(*self._arguments)
        for attribute in _ATTRIBUTES:
            self.__dict__[attribute] = getattr(compiled, attribute)
        return getattr(compiled, name)

    def __repr__(self) -> str:
        return f"lazy_re.compile({self._arguments[0]!r}, {self._arguments[1]})"


def compile(pattern: AnyStr, flags: int = 0) -> re.Pattern[AnyStr]:
    """`re.compile(pattern, flags)`, compiled on first use (module doc)."""
    return cast("re.Pattern[AnyStr]", _Deferred(pattern, int(flags)))
