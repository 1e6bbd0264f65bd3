"""GitHub's size limits, and cuts that respect them: comment bodies count characters, check-run
output counts UTF-8 bytes (the OpenAPI description says characters; GitHub refuses by bytes, so
non-ASCII text made a check run that a branch rule requires never report)."""

from __future__ import annotations

COMMENT_CHARS = 65536  # issue and review comment bodies ("Body is too long")
OUTPUT_BYTES = 65535  # check-run output summary and text
ANNOTATION_BYTES = 65535  # an annotation's message ("64 KB")
TITLE_CHARS = 255  # check-run output and annotation titles
STATUS_DESCRIPTION_CHARS = 140  # a commit status's description
MORE = "…"


def utf8_size(text: str) -> int:
    return len(text.encode("utf-8"))


def chars(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, marked with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(MORE))] + MORE


def utf8(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-8 bytes, never inside a character, marked when cut."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    room = max(0, limit - utf8_size(MORE))
    return data[:room].decode("utf-8", errors="ignore") + MORE
