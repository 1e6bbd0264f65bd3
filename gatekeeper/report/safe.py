"""Text from scanned files, made safe to print: no control characters, no workflow commands.

A resource name, a message or even a file name is chosen by whoever wrote the scanned file. Printed
as is, a line break in it starts a new output line, an ANSI escape repaints the terminal, and the
GitHub Actions runner executes any stdout line that starts with `::` (after leading whitespace)
and any `##[command]` anywhere in a line (`::add-mask::`, `::stop-commands::`, `##[error]`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from gatekeeper import lazy_re

# Shown as escapes: controls (C0, DEL, C1), format characters (soft hyphen, bidi overrides and
# isolates, zero-width characters, BOM, interlinear annotations, tags), the line and paragraph
# separators, surrogates (what an undecodable file name turns into) and the non-characters
# U+FFFE/U+FFFF: the Unicode categories Cc, Cf, Zl, Zp and Cs, as of Unicode 14.
_UNSAFE = lazy_re.compile(
    "[\x00-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2"
    "\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ud800-\udfff\ufeff"
    "\ufff9-\ufffb\ufffe\uffff\U000110bd\U000110cd\U00013430-\U00013438"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]"
)
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_WORKFLOW_LEGACY = "##["
# Both searched with the regular expression engine: str.find stops at every `:` of a JSON
# report (2.4 million in the real k8s-full corpus's 88 MB), a search is 2-3x faster there.
_LEGACY_SEARCH = lazy_re.compile(re.escape(_WORKFLOW_LEGACY)).search
_COMMAND_MARKS = lazy_re.compile("::").finditer


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte of an undecodable file name (surrogateescape)
        code -= 0xDC00
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def visible(text: object) -> str:
    """One line of printable text: every hidden or line-breaking character as a `\\x..` escape."""
    value = str(text)
    if value.isascii() and value.isprintable():  # the common case, checked in C
        return value
    return _UNSAFE.sub(_escape, value)


def printable(text: object) -> str:
    """Multi-line text kept as lines, each line printable (`\\r` and the rest spelled out)."""
    return "\n".join(visible(line) for line in str(text).split("\n"))


def for_log(text: object) -> str:
    """A message for stderr, which the Actions runner reads for commands as it reads stdout."""
    return unrunnable(printable(text), text_char)


def unrunnable(text: str, escape_char: Callable[[str], str]) -> str:
    """`text` with no line that the Actions runner would run as a workflow command.

    `escape_char` spells a character so the format still reads it as itself (`\\u0023` in JSON,
    `&#35;` in XML, `\\x23` in plain text); it only ever receives `#` or `:`.
    """
    if _LEGACY_SEARCH(text):
        text = text.replace(_WORKFLOW_LEGACY, "#" + escape_char("#") + "[")
    pieces: list[str] = []
    done = 0  # text[:done] is in pieces
    # Not overlapping (`:::` is one): the second `::` of a run has a `:` before it on its line.
    for mark in _COMMAND_MARKS(text):
        found = mark.start()
        line_start = text.rfind("\n", 0, found) + 1
        if not text[line_start:found].strip():  # only whitespace before it on its line
            pieces += (text[done:found], escape_char(":"))
            done = found + 1
    return "".join(pieces) + text[done:] if pieces else text


def text_char(char: str) -> str:
    """`#`/`:` for `unrunnable` in plain text: an escape a reader recognises."""
    return f"\\x{ord(char):02x}"


def json_char(char: str) -> str:
    """`#`/`:` for `unrunnable` in JSON: `##[` only occurs in strings, no line starts with `::`."""
    return f"\\u{ord(char):04x}"


def xml_char(char: str) -> str:
    """`#`/`:` for `unrunnable` in XML: both only occur in text and attribute values there."""
    return f"&#{ord(char)};"
