"""The context paths a GitHub Actions expression (`${{ ... }}`) reads, as the runner reads them.

The runner replaces each `${{ }}` of a `run:` script (or of an action input it runs as code,
github-script's `script:`) by its value before the shell or Node reads the text, so a path an
outsider writes (an issue title) becomes code. A regex over the text misses spellings the
runner accepts: bracket access (`github.event['issue']['title']`), any case (context property
names are case-insensitive), a `}` inside a string (`format('{0}', ...)`), a whole object
(`toJSON(github.event.issue)`), and an `env.NAME` whose value is itself such an expression.
Here an expression is split into tokens and each context read becomes one path: lower case,
dotted, `*` for any index (`github.event.commits[0].message` -> `github.event.commits.*.message`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

_OPEN = "${{"
_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<name>[A-Za-z_][A-Za-z0-9_-]*)|(?P<number>[0-9][0-9A-Za-z.+-]*)"
    r"|(?P<symbol>[.\[\](),*!<>=&|]))"
)
_LITERALS = frozenset({"true", "false", "null", "nan", "infinity"})


def expressions(text: str) -> Iterator[tuple[int, str]]:
    """Each `${{ ... }}` of `text` as (offset, whole text): a `}}` inside a quoted string does
    not end it, as in the runner's template reader."""
    start = text.find(_OPEN)
    while start != -1:
        index, quoted = start + len(_OPEN), False
        while index < len(text):
            if text[index] == "'":
                quoted = not quoted  # '' (an escaped quote) toggles twice
            elif not quoted and text.startswith("}}", index):
                break
            index += 1
        else:
            return  # never closed: the runner rejects the workflow
        yield start, text[start : index + 2]
        start = text.find(_OPEN, index + 2)


def _tokens(expression: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    position = 0
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if match is None or match.end() == position:
            if expression[position:].strip() == "":
                break
            position += 1  # a character no rule uses: skipped
            continue
        kind = match.lastgroup or "symbol"
        found.append((kind, match.group(kind)))
        position = match.end()
    return found


def reads(expression: str) -> list[str]:
    """The context paths whose values can reach the result of `expression` (with or without its
    `${{ }}`), in order: not those only compared (`github.event.review != null`), negated, given
    to a function that answers true or false (`contains(github.event.issue.title, 'x')`) or
    used as a computed index."""
    inner = expression
    if inner.startswith(_OPEN) and inner.endswith("}}"):
        inner = inner[len(_OPEN) : -2]
    return _paths(_tokens(inner))


# Functions whose result is a boolean or a digest: what they read is not pasted.
_TESTS = frozenset(
    {"contains", "startswith", "endswith", "hashfiles", "success", "failure", "always", "cancelled"}
)
_COMPARISONS = frozenset({"=", "<", ">"})


def _paths(tokens: list[tuple[str, str]]) -> list[str]:
    found: list[str] = []
    calls: list[str] = []  # the function of each open parenthesis ("" for a group)
    index = 0
    while index < len(tokens):
        kind, value = tokens[index]
        after = tokens[index + 1] if index + 1 < len(tokens) else ("", "")
        if value == "(" and kind == "symbol":
            calls.append("")
        elif value == ")" and kind == "symbol":
            calls = calls[:-1]
        if kind == "name" and after == ("symbol", "("):
            calls.append(value.lower())
            index += 2
            continue
        if kind != "name" or value.lower() in _LITERALS:
            index += 1  # a literal, an operator: not a read
            continue
        start, parts = index, [value.lower()]
        index += 1
        while index < len(tokens):
            kind, value = tokens[index]
            following = tokens[index + 1] if index + 1 < len(tokens) else ("", "")
            if value == "." and following[0] == "name":
                parts.append(following[1].lower())
                index += 2
            elif value == "." and following[1] == "*":
                parts.append("*")
                index += 2
            elif value == "[":
                end = _closing(tokens, index)
                inside = tokens[index + 1 : end]
                if len(inside) == 1 and inside[0][0] == "string":
                    parts.append(inside[0][1][1:-1].replace("''", "'").lower())
                else:  # a number, `*` or a computed index: any element
                    parts.append("*")
                index = end + 1
            else:
                break
        before = tokens[start - 1][1] if start else ""
        after_value = tokens[index][1] if index < len(tokens) else ""
        compared = before in _COMPARISONS or before == "!" or after_value in _COMPARISONS
        compared = compared or (
            after_value == "!" and index + 1 < len(tokens) and tokens[index + 1][1] == "="
        )
        if not compared and not any(call in _TESTS for call in calls):
            found.append(".".join(parts))
    return found


def _closing(tokens: list[tuple[str, str]], opening: int) -> int:
    depth = 0
    for index in range(opening, len(tokens)):
        if tokens[index] == ("symbol", "["):
            depth += 1
        elif tokens[index] == ("symbol", "]"):
            depth -= 1
            if depth == 0:
                return index
    return len(tokens)


def pasted(code: str, env: Mapping[str, object]) -> list[dict[str, object]]:
    """Each expression of `code` as {expression, reads}; `reads` includes what an `env.NAME`
    it reads holds when that value is an expression (`env` the step's environment as written:
    workflow, job, step), and `expression` then says so."""
    found: list[dict[str, object]] = []
    lowered = {str(name).lower(): (str(name), value) for name, value in env.items()}
    for _, text in expressions(code):
        paths = reads(text)
        through: list[str] = []
        for path in list(paths):
            if not path.startswith("env."):
                continue
            name, value = lowered.get(path[4:], ("", None))
            if isinstance(value, str) and _OPEN in value:
                paths.extend(read for _, inner in expressions(value) for read in reads(inner))
                through.append(f"env.{name} is {value.strip()}")
        described = f"{text} ({'; '.join(through)})" if through else text
        found.append({"expression": described, "reads": paths})
    return found
