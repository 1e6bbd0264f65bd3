"""Escape text from scanned files before it reaches Markdown or a workflow command."""

from __future__ import annotations

from gatekeeper import lazy_re
from gatekeeper.report.safe import visible

# Characters with meaning in GitHub Flavored Markdown (tables included); each gets a backslash.
_MARKDOWN = lazy_re.compile(r"([\\`*_{}\[\]()#+\-!|~.])")
_MENTION = lazy_re.compile(r"@(?=[A-Za-z0-9])")
_LINE_BREAK = lazy_re.compile(r"(\r|\n)")


def markdown(text: object) -> str:
    """Inline Markdown that renders as the literal text: no HTML, links, code, mentions, cells."""
    value = str(text)
    value = value.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    value = visible(value)  # ANSI escapes, bidi overrides, zero-width characters
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = _MARKDOWN.sub(r"\\\1", value)
    # A zero-width space after `@` stops GitHub from notifying whoever the file names.
    return _MENTION.sub("@&#8203;", value)


def command_data(text: object) -> str:
    """The message part of `::error ...::message` (workflow command rules): line breaks as the
    runner's escapes, other hidden characters spelled out."""
    parts = _LINE_BREAK.split(str(text))
    value = "".join(part if _LINE_BREAK.fullmatch(part) else visible(part) for part in parts)
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def command_property(text: object) -> str:
    """A property value of a workflow command (`file=`, `title=`): also `:` and `,`."""
    return command_data(text).replace(":", "%3A").replace(",", "%2C")
