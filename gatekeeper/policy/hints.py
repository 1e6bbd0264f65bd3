"""Suggestions for misspelt names in policies and configuration."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """` (did you mean X?)` for the closest choice, or "" when none is close."""
    close = difflib.get_close_matches(word, sorted(set(choices)), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def unknown_names(what: str, names: Iterable[str], choices: Iterable[str]) -> str:
    """`unknown policy id(s) A (did you mean B?), C` for names not among `choices`."""
    known = set(choices)
    parts = [f"{name}{did_you_mean(name, known)}" for name in sorted(set(names) - known)]
    return f"unknown {what} {', '.join(parts)}" if parts else ""
