"""Object names a chart makes at random, given a stable identity.

`name: migrate-{{ randAlphaNum 5 | lower }}` (a common hook Job idiom, helm test pods) renders
a new name on every rendering. A finding's identity (its fingerprint, what a pull request
compares with the base, what a waiver names) is kind, namespace and name: with a random name,
every rendering of an unchanged chart is "another object than in the base", its findings new
and blocking, a waiver never matches, and reports differ from run to run. The part of the name
a random function writes is named `<random>` in the identity (`migrate-<random>`); the object
itself keeps the name it rendered, so every rule judges what Helm would apply.
"""

from __future__ import annotations

import re

from gatekeeper import lazy_re

# A template action calling a function that makes a random value.
_RANDOM = lazy_re.compile(
    r"(?<![\w.$-])(?:rand(?:AlphaNum|Alpha|Numeric|Ascii|Bytes|Int)|uuidv4)\b"
)
_FIRST_LETTERS = ("rand", "uuidv4")
_ACTION = lazy_re.compile(r"\{\{.*?\}\}")
RANDOM = "<random>"


def random_words(text: str) -> bool:
    """Whether a template may make a value at random (a cheap test before any locating).
    Tried only where a call's first letters are (every match of _RANDOM begins with one
    of them): a search with the lookbehind first tries it at every position of the text,
    30 ms per CRD template of 700 KB that holds "operand" (charts: 0.1 s of the scan)."""
    for word in _FIRST_LETTERS:
        start = text.find(word)
        while start != -1:
            if _RANDOM.match(text, start):
                return True
            start = text.find(word, start + 1)
    return False


def stable_name(name: str, line: str) -> str:
    """`name` as rendered from the template `line` that writes it, with the parts its random
    actions made as RANDOM; `name` itself when the line makes nothing at random or the
    rendered name does not follow the line."""
    _, colon, value = line.partition(":")
    if not colon or not _RANDOM.search(value):
        return name
    value = value.strip().strip("'\"")
    pattern = []
    position = 0
    for action in _ACTION.finditer(value):
        pattern.append(re.escape(value[position : action.start()]))
        random = _RANDOM.search(action.group()) is not None
        pattern.append("(.+?)" if random else "(?:.+?)")
        position = action.end()
    pattern.append(re.escape(value[position:]))
    match = re.fullmatch("".join(pattern), name, re.DOTALL)
    if match is None or not match.groups():
        return name
    out, last = [], 0
    for group in range(1, len(match.groups()) + 1):
        out += [name[last : match.start(group)], RANDOM]
        last = match.end(group)
    out.append(name[last:])
    return "".join(out)
