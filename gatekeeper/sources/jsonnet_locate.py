"""Where a field of an object that Jsonnet made is written.

Jsonnet keeps no positions in its output. An object is found in the files its evaluation
read by its `kind` (and `name`) written in an object literal, and a field path is followed
down the literals written there (`spec: {`, `containers: [{`); where the path leaves the
literals (a function call, a variable, `+:`), a field written at exactly one place in those
files, found by its name (and, for a scalar, its value), is taken; else its nearest ancestor
that is; else the evaluated file's first line. Every location says how it was found (`via`)
and is never exact: a one-line YAML suggestion does not fit Jsonnet.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterator
from typing import Any, NamedTuple

from gatekeeper import lazy_re
from gatekeeper.document import Location
from gatekeeper.fieldpath import Path, format_path, get
from gatekeeper.tree import Tree

_STRUCTURE = "{}[](),"
# What the structure scan stops at: brackets, commas, and what starts a comment or a string.
_INTERESTING = lazy_re.compile(r"""[{}\[\](),#'"|/@]""")
_STRING_STOPS = {
    (quote, verbatim): lazy_re.compile(re.escape(quote) if verbatim else rf"[\\{quote}]")
    for quote in "'\""
    for verbatim in (False, True)
}


def _structure(text: str) -> Iterator[tuple[int, str]]:
    """The brackets and commas of Jsonnet (or JSON) `text` outside strings and comments."""
    at, size = 0, len(text)
    while True:
        match = _INTERESTING.search(text, at)
        if match is None:
            return
        at = match.start()
        char = text[at]
        if char in _STRUCTURE:
            yield at, char
            at += 1
        elif char == "#" or text.startswith("//", at):
            end = text.find("\n", at)
            at = size if end < 0 else end
        elif text.startswith("/*", at):
            end = text.find("*/", at + 2)
            at = size if end < 0 else end + 2
        elif text.startswith("|||", at):
            end = text.find("|||", at + 3)
            at = size if end < 0 else end + 3
        elif char in "'\"" or (char == "@" and text[at + 1 : at + 2] in ("'", '"')):
            at = _string_end(text, at)
        else:  # a lone `/`, `|` or `@`
            at += 1


def _string_end(text: str, at: int) -> int:
    """The offset after the string literal that starts at `at` (`'..'`, `".."`, `@'..'`)."""
    verbatim = text[at] == "@"
    quote = text[at + 1] if verbatim else text[at]
    stop = _STRING_STOPS[quote, verbatim]
    end = at + (2 if verbatim else 1)
    while True:
        match = stop.search(text, end)
        if match is None:
            return len(text)
        escaped = match.group() == "\\"  # a `\x` escape, or a doubled quote in @'..'
        doubled = verbatim and text[match.start() + 1 : match.start() + 2] == quote
        if not (escaped or doubled):
            return match.start() + 1
        end = match.start() + 2


Region = tuple[int, int]  # an object literal: the offsets of its `{` and its `}`


class Text:
    """One file's text with its structure: to find the object literal a field is written
    in, and the fields written directly in a literal."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0, *(m.end() for m in re.finditer("\n", text))]  # each line's offset
        self.offsets: list[int] = []  # each bracket's and comma's offset
        self.depths: list[int] = []  # the depth after it
        self.partner: dict[int, int] = {}  # an opener's offset -> its closer's
        depth = 0
        stack: list[int] = []
        for offset, char in _structure(text):
            if char in "{[(":
                depth += 1
                stack.append(offset)
            elif char in "}])":
                depth -= 1
                if stack:
                    self.partner[stack.pop()] = offset
            self.offsets.append(offset)
            self.depths.append(depth)

    def line(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset)

    def depth(self, offset: int) -> int:
        """How many brackets are open at `offset`."""
        index = bisect.bisect_left(self.offsets, offset) - 1
        return self.depths[index] if index >= 0 else 0

    def enclosing(self, offset: int) -> Region | None:
        """The object literal that `offset` is written directly in."""
        depth = self.depth(offset)
        index = bisect.bisect_left(self.offsets, offset) - 1
        while index >= 0:
            opener = self.offsets[index]
            if self.depths[index] == depth and self.text[opener] in "{[(":
                if self.text[opener] == "{" and opener in self.partner:
                    return opener, self.partner[opener]
                return None
            index -= 1
        return None

    def fields(self, region: Region, pattern: re.Pattern[str]) -> list[re.Match[str]]:
        """The matches of a field `pattern` written directly in `region`."""
        opener, closer = region
        inner = self.depth(opener + 1)
        return [
            match
            for match in pattern.finditer(self.text, opener + 1, closer)
            if self.depth(match.end()) == inner
        ]

    def literal(self, offset: int) -> Region | None:
        """The object literal that starts at `offset` (after blanks), if one does."""
        at = self._skip(offset)
        if at < len(self.text) and self.text[at] == "{" and at in self.partner:
            return at, self.partner[at]
        return None

    def item(self, offset: int, index: int) -> int | None:
        """Where the `index`th element of the list literal at `offset` starts."""
        at = self._skip(offset)
        if at >= len(self.text) or self.text[at] != "[" or at not in self.partner:
            return None
        inner = self.depth(at + 1)
        start, count = at + 1, 0
        first = bisect.bisect_right(self.offsets, at)
        last = bisect.bisect_left(self.offsets, self.partner[at])
        for position, depth in zip(self.offsets[first:last], self.depths[first:last], strict=True):
            if count == index:
                break
            if self.text[position] == "," and depth == inner:
                count += 1
                start = position + 1
        return self._skip(start) if count == index else None

    def _skip(self, offset: int) -> int:
        while offset < len(self.text) and self.text[offset] in " \t\r\n":
            offset += 1
        return offset


def field(key: str) -> str:
    """A field definition in Jsonnet, JSON or YAML: the name, bare or quoted, then `:`,
    `::`, `:::` or `+:`..."""
    name = re.escape(key)
    return rf"(?:^|(?<=[\s{{,(\-]))(?:{name}|'{name}'|\"{name}\")\s*\+?:{{1,3}}"


def literal(value: Any) -> str | None:
    """A scalar written in Jsonnet, JSON or YAML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return re.escape(json.dumps(value))
    if isinstance(value, str):
        escaped = re.escape(value)
        return rf"(?:'{escaped}'|\"{escaped}\"|{escaped}(?=\s*(?:,|$)))"
    return None


def _code(line: str) -> str:
    """A line without a trailing `//` or `#` comment (roughly: not inside a string)."""
    for marker in ("//", "#"):
        at = line.find(marker)
        if at >= 0 and line[:at].count("'") % 2 == 0 and line[:at].count('"') % 2 == 0:
            line = line[:at]
    return line


# Any field definition: its name (bare, as YAML keys are too, or quoted), then `:`, `::`,
# `:::` or `+:`...
_ANY_FIELD = lazy_re.compile(
    r"(?:^|(?<=[\s{,(\-]))"
    r"(?:(?P<bare>[A-Za-z_$][\w$./-]*)|'(?P<single>[^'\n]*)'|\"(?P<double>[^\"\n]*)\")"
    r"\s*\+?:{1,3}",
    re.MULTILINE,
)


class Sources:
    """The Jsonnet (and imported text) an evaluation read, searched for fields: every
    field definition of every file indexed by name once, each file's structure read only
    where an object's literal is looked for."""

    def __init__(self, tree: Tree, files: list[str]) -> None:
        self.files = list(dict.fromkeys(files))
        self.tree = tree
        self._contents: dict[str, str] = {}
        self._starts: dict[str, list[int]] = {}
        self._texts: dict[str, Text] = {}
        self._index: dict[str, list[tuple[str, int, int]]] | None = None

    def content(self, file: str) -> str:
        if file not in self._contents:
            try:
                self._contents[file] = self.tree.read(file).decode("utf-8", "replace")
            except OSError:
                self._contents[file] = ""
        return self._contents[file]

    def text(self, file: str) -> Text:
        if file not in self._texts:
            self._texts[file] = Text(self.content(file))
        return self._texts[file]

    def line(self, file: str, offset: int) -> int:
        if file not in self._starts:
            self._starts[file] = [0, *(m.end() for m in re.finditer("\n", self.content(file)))]
        return bisect.bisect_right(self._starts[file], offset)

    def fields(self, key: str) -> list[tuple[str, int, int]]:
        """Where the field `key` is defined: (file, start, end of its `:`), outside
        trailing comments."""
        if self._index is None:
            self._index = {}
            for file in self.files:
                content = self.content(file)
                for match in _ANY_FIELD.finditer(content):
                    start = match.start()
                    before = content[content.rfind("\n", 0, start) + 1 : start]
                    if _code(before) != before:  # in a `//` or `#` comment
                        continue
                    name = match["bare"] or match["single"] or match["double"] or ""
                    self._index.setdefault(name, []).append((file, start, match.end()))
        return self._index.get(key, [])

    def find(self, key: str, value: Any = None, with_value: bool = False) -> list[Location]:
        """Every line that defines the field `key`, with the scalar `value` written right
        after it when `with_value`."""
        hits = self._valued(key, value) if with_value else self.fields(key)
        return [Location(file, self.line(file, start), exact=False) for file, start, _ in hits]

    def _valued(self, key: str, value: Any) -> list[tuple[str, int, int]]:
        written = literal(value)
        if written is None:
            return []
        pattern = re.compile(r"\s*" + written + r"(?![\w.])", re.MULTILINE)
        return [hit for hit in self.fields(key) if pattern.match(self.content(hit[0]), hit[2])]

    def literals(self, key: str, value: Any) -> list[tuple[str, Region]]:
        """The object literals in which the field `key` is written with the scalar
        `value` (an object's `kind: 'Deployment'`), outside vendored libraries (what `jb
        install` put in vendor/ is not what a change writes)."""
        found: list[tuple[str, Region]] = []
        for file, start, _ in self._valued(key, value):
            if file.startswith("vendor/") or "/vendor/" in file:
                continue
            region = self.text(file).enclosing(start)
            if region is not None:
                found.append((file, region))
        return found


class _Found(NamedTuple):
    location: Location
    depth: int  # how many steps of the path it is for
    valued: bool = False  # the scalar's value is written there too


class JsonnetLocator:
    """Where each field of `obj` is written (see the module's docstring)."""

    def __init__(self, obj: dict[str, Any], sources: Sources, note: str) -> None:
        self.obj = obj
        self.sources = sources
        self.note = note
        self._cache: dict[Path, Location] = {}
        self._root: tuple[str, Region] | bool | None = False  # not looked for yet

    def locate(self, path: Path) -> Location:
        key = tuple(path)
        if key not in self._cache:
            self._cache[key] = self._locate(key)
        return self._cache[key]

    def _locate(self, path: Path) -> Location:
        existing = list(path)
        while existing and get(self.obj, tuple(existing)) is None:
            existing.pop()
        # The deeper wins; at the same depth, the place that also writes the value (an
        # override of the literal's field elsewhere), else the literal.
        candidates = [
            f for f in (self._written(tuple(existing)), self._named(tuple(existing))) if f
        ]
        if candidates:
            return max(candidates, key=lambda found: (found.depth, found.valued)).location
        shown = format_path(path) or "the object"
        note = f"{self.note}; {shown} not found at one place in its source"
        return Location(self.sources.files[0], 1, exact=False, via=note)

    def _written(self, path: Path) -> _Found | None:
        """The deepest step of `path` written in the object's own literal, followed down
        the literals its fields hold."""
        root = self._literal()
        if root is None:
            return None
        file, region = root
        text = self.sources.text(file)
        at = region[0]
        found = _Found(self._at(file, text, at, "the object's literal"), 0)
        current: Region | None = region
        for depth, step in enumerate(path, 1):
            if isinstance(step, int):
                start = text.item(at, step)
                if start is None:
                    break
                at = start
                current = text.literal(start)
            else:
                if current is None:
                    break
                matches = text.fields(current, re.compile(field(step), re.MULTILINE))
                if len(matches) != 1:
                    break
                at = matches[0].end()
                current = text.literal(at)
                written = format_path(path[:depth])
                located = self._at(file, text, matches[0].start(), f"{written} written there")
                value = literal(get(self.obj, path[:depth]))
                valued = value is not None and re.match(rf"\s*{value}", text.text[at:]) is not None
                found = _Found(located, depth, valued)
                continue
            written = format_path(path[:depth])
            found = _Found(self._at(file, text, at, f"{written} written there"), depth)
        return found

    def _at(self, file: str, text: Text, offset: int, how: str) -> Location:
        return Location(file, text.line(offset), exact=False, via=f"{self.note}; {how}")

    def _literal(self) -> tuple[str, Region] | None:
        """The object literal that writes this object: the one literal with its `kind`,
        else the one of those that also writes its `name`."""
        if self._root is False:
            self._root = None
            candidates = self.sources.literals("kind", self.obj.get("kind"))
            if len(candidates) > 1:
                metadata = self.obj.get("metadata")
                name = metadata.get("name") if isinstance(metadata, dict) else None
                named = self.sources.literals("name", name) if isinstance(name, str) else []
                candidates = [
                    (file, region)
                    for file, region in candidates
                    if any(f == file and region[0] < r[0] < region[1] for f, r in named)
                ]
            if len(candidates) == 1:
                self._root = candidates[0]
        return self._root if isinstance(self._root, tuple) else None

    def _named(self, path: Path) -> _Found | None:
        """The deepest step of `path` whose field is written at exactly one place in the
        files read (a list item: its `name:`), or the object by its name."""
        for depth in range(len(path), 0, -1):
            step = path[depth - 1]
            value = get(self.obj, path[:depth])
            found, valued = self._unique(step, value)
            if found is not None:
                written = format_path(path[:depth])
                note = f"{self.note}; {written} found by its name in {found.file}"
                return _Found(found._replace(via=note), depth, valued)
        metadata = self.obj.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        if isinstance(name, str):
            found = _single(self.sources.find("name", name, with_value=True))
            if found is not None:
                return _Found(found._replace(via=f"{self.note}; the object by its name"), 0)
        return None

    def _unique(self, step: str | int, value: Any) -> tuple[Location | None, bool]:
        """The one place the field is written, and whether its scalar value is too."""
        if isinstance(step, int):  # a list item: by its name
            name = value.get("name") if isinstance(value, dict) else None
            if isinstance(name, str):
                return _single(self.sources.find("name", name, with_value=True)), False
            return None, False
        if not isinstance(value, (dict, list)):
            found = _single(self.sources.find(step, value, with_value=True))
            if found is not None:
                return found, True
        return _single(self.sources.find(step)), False


def _single(found: list[Location]) -> Location | None:
    return found[0] if len(found) == 1 else None
