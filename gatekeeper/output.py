"""Write a rendered report to stdout or a file."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable

from gatekeeper.errors import UsageError


def use_color(choice: str, output: str | None) -> bool:
    if choice != "auto":
        return choice == "always"
    # no-color.org: set *and non-empty* disables colour; NO_COLOR="" does not
    return output is None and sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def write(text: str | Iterable[str], output: str | None) -> None:
    """`text`, or its pieces as they come (a large report is never held whole)."""
    pieces = [text] if isinstance(text, str) else text
    if output is None:
        for piece in pieces:
            sys.stdout.write(piece)
        sys.stdout.flush()
        return
    try:
        with open(output, "w", encoding="utf-8") as handle:
            for piece in pieces:
                handle.write(piece)
    except OSError as error:
        raise UsageError(f"cannot write report: {error.strerror}", output) from None
