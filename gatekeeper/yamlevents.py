"""Manifest files read from libyaml's events: values built as they come, nodes only if asked.

yamldoc composes every document into nodes (libyaml calls back into Python for each one, and
each node is an object with two marks) and then builds values from the nodes; the nodes are
kept for the locator. Most manifests need neither: their values can be built straight from
the parser's events, and a finding needs the lines of the few nodes it points at. Here each
document keeps two numbers per node, in document order: the offsets in the text where it
starts and ends (an array, no object per node), and the size of each collection; a field path
is located by walking the document's value beside them, and the offsets become lines and
columns (counted as libyaml counts them) only then. The nodes are composed from the text
only when a source asks for one (`NodeLocator.node_at`).

Only what builds the same way both ways is read from events: a text with an anchor or an
alias, an explicit tag, a merge key, a key that is not a string, a key set twice, or nesting
deeper than yamldoc.MAX_DEPTH goes through yamldoc.load_all whole, so values, lines,
duplicates and problems are the same whichever way a file was read.
"""

from __future__ import annotations

import bisect
import re
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.events import (
    DocumentEndEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from yaml.nodes import Node, ScalarNode

from gatekeeper.document import Problem
from gatekeeper.fieldpath import Path
from gatekeeper.yamldoc import (
    _LOADER,
    _RESOLVED_LENGTH,
    _RESOLVED_SIZE,
    _SCALARS,
    _STR_TAG,
    MAX_DEPTH,
    NodeLocator,
    load_all,
    plain_tag,
    stream_problem,
)


@dataclass
class Manifest:
    """One document of a manifest file: its value, its locator and the keys it sets twice
    (path, key node)."""

    obj: Any
    locator: NodeLocator
    duplicate_keys: list[tuple[Path, ScalarNode]] = field(default_factory=list)


def manifests(file: str, text: str) -> Iterator[Manifest | Problem]:
    """Every document of a YAML stream, then a Problem where parsing stopped, if it did: as
    yamldoc.load_all gives them, read from events when that builds the same."""
    read = _from_events(file, text)
    if read is not None:
        yield from read
        return
    for entry in load_all(file, text):
        if isinstance(entry, Problem):
            yield entry
        else:
            yield Manifest(entry.obj, NodeLocator(file, entry.node), entry.duplicate_keys)


class _Composed(Exception):
    """The text needs the composer (see the module's docstring)."""


_NO_KEY: Any = object()  # a mapping waiting for its next key


def _from_events(file: str, text: str) -> list[Manifest | Problem] | None:
    """The documents built from events, or None when the text needs the composer."""
    if text.startswith("\ufeff"):
        return None  # libyaml skips a byte order mark uncounted: offsets would be off by one
    parser = _LOADER(text)
    entries: list[Manifest | Problem] = []
    try:
        _build_all(file, text, parser, entries)
    except _Composed:
        return None
    except yaml.YAMLError as error:
        entries.append(stream_problem(file, error))
    finally:
        parser.dispose()
    return entries


def _build_all(file: str, text: str, parser: Any, entries: list[Manifest | Problem]) -> None:
    get_event = parser.get_event
    remembered = _PLAIN.get
    # Without a `!` no node has a tag, without a `&` none has an anchor: not asked then.
    tagged, anchored = "!" in text, "&" in text
    lines = _Lines(text)
    offsets = array("q")  # where each node starts and ends, in document order
    sizes: dict[int, int] = {}  # collection (its number in document order) -> nodes it spans
    # Collections that end where the text does, with their end (line, column): libyaml ends
    # a block collection there on a line of its own, which no offset can say.
    at_end: dict[int, tuple[int, int]] = {}
    length = len(text)
    top: list[Any] = []  # where the document's root lands
    container: Any = top  # the open collection
    in_list = True  # is it a list?
    stack: list[tuple[Any, bool, int]] = []  # the collections above it, and their places
    key: Any = _NO_KEY  # in a mapping: the key whose value comes next
    documents = 0
    while True:
        event = get_event()
        kind = event.__class__
        if kind is ScalarEvent:
            if (tagged and event.tag is not None) or (anchored and event.anchor is not None):
                raise _Composed
            value = event.value
            if event.implicit[0]:  # plain: its value by its text
                known = remembered(value, _UNSEEN)
                value = _plain(value) if known is _UNSEEN else known
            offsets.append(event.start_mark.index)
            offsets.append(event.end_mark.index)
            if in_list:
                container.append(value)
            elif key is _NO_KEY:
                if type(value) is not str or value == "<<" or value in container:
                    raise _Composed  # not a string, maybe a merge key, or set twice
                key = value
            else:
                container[key] = value
                key = _NO_KEY
        elif kind is MappingStartEvent or kind is SequenceStartEvent:
            if (tagged and event.tag is not None) or (anchored and event.anchor is not None):
                raise _Composed
            if len(stack) >= MAX_DEPTH:
                raise _Composed  # yamldoc reports where
            new: Any = {} if kind is MappingStartEvent else []
            if in_list:
                container.append(new)
            elif key is _NO_KEY:
                raise _Composed  # a collection as a key
            else:
                container[key] = new
            stack.append((container, in_list, len(offsets) >> 1))
            offsets.append(event.start_mark.index)
            offsets.append(0)  # its end, once met
            container, in_list, key = new, kind is SequenceStartEvent, _NO_KEY
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            container, in_list, place = stack.pop()
            sizes[place] = (len(offsets) >> 1) - place
            end = event.end_mark
            offsets[2 * place + 1] = end.index
            if end.index == length:
                at_end[place] = (end.line, end.column)
            key = _NO_KEY  # a mapping above waits for its next key
        elif kind is DocumentEndEvent:
            table = _Table(top[0], offsets, sizes, at_end, lines, documents)
            entries.append(Manifest(top[0], NodeLocator(file, None, table=table)))
            documents += 1
            offsets, sizes, at_end, top = array("q"), {}, {}, []
            container = top
        elif event is None or kind is yaml.StreamEndEvent:
            return
        elif kind is yaml.AliasEvent:
            raise _Composed


def _as_is(node: ScalarNode) -> Any:
    return node.value


# A plain scalar's text -> its value, for the short texts (as yamldoc._RESOLVED keeps tags).
_PLAIN: dict[str, Any] = {}
_UNSEEN: Any = object()


def _plain(text: str) -> Any:
    """A plain scalar's value: yamldoc's tag and constructor for its text (a merge key's
    text stays a string, as the builder's value of one)."""
    tag = plain_tag(text)
    if tag == _STR_TAG:
        value: Any = text
    else:
        try:
            value = _SCALARS.get(tag, _as_is)(ScalarNode(tag, text))
        except (ValueError, IndexError, KeyError, TypeError):
            raise _Composed from None  # yamldoc reports it at its line
    if len(text) <= _RESOLVED_LENGTH and len(_PLAIN) < _RESOLVED_SIZE:
        _PLAIN[text] = value
    return value


# Where libyaml starts a new line: a line feed, a carriage return (with the line feed after
# it, one break), and YAML 1.1's next line, line and paragraph separators.
_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


class _Place:
    """A line and column (0-based), as a yaml Mark has them."""

    __slots__ = ("column", "line")

    def __init__(self, line: int, column: int) -> None:
        self.line = line
        self.column = column


class _Lines:
    """A text's line starts, found once a place in it is asked for (shared by its documents)."""

    __slots__ = ("_starts", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._starts: list[int] | None = None

    @property
    def text(self) -> str:
        return self._text

    def place(self, offset: int) -> _Place:
        starts = self._starts
        if starts is None:
            starts = self._starts = [0, *(match.end() for match in _BREAK.finditer(self._text))]
        line = bisect.bisect_right(starts, offset) - 1
        return _Place(line, offset - starts[line])


class _Table:
    """Where one document's nodes are (see the module's docstring): a NodeTable."""

    __slots__ = ("_composed", "_document", "at_end", "lines", "obj", "offsets", "sizes")

    def __init__(
        self,
        obj: Any,
        offsets: array[int],
        sizes: dict[int, int],
        at_end: dict[int, tuple[int, int]],
        lines: _Lines,
        document: int,
    ) -> None:
        self.obj = obj
        self.offsets = offsets
        self.sizes = sizes
        self.at_end = at_end
        self.lines = lines
        self._document = document
        self._composed: Node | None = None

    def span(self, path: Path) -> tuple[Any, Any, bool]:
        """As yamldoc._span: the node at `path` found by walking the value beside the
        nodes (the value of a mapping's key is the node after the key; a collection is
        followed by the nodes it spans)."""
        value, place, anchor = self.obj, 0, 0
        sizes = self.sizes
        exact = True
        for key in path:
            if isinstance(value, dict) and isinstance(key, str) and key in value:
                at = place + 1  # the first key
                for written, item in value.items():
                    if written == key:
                        value, anchor, place = item, at, at + 1
                        break
                    at += 1 + sizes.get(at + 1, 1)
            elif (
                isinstance(value, list) and isinstance(key, int) and -len(value) <= key < len(value)
            ):
                index = key + len(value) if key < 0 else key
                at = place + 1
                for _ in range(index):
                    at += sizes.get(at, 1)
                value, anchor, place = value[index], at, at
            else:
                exact = False
                break
        offsets, lines = self.offsets, self.lines
        last = self.at_end.get(place)
        end = _Place(*last) if last is not None else lines.place(offsets[2 * place + 1])
        return lines.place(offsets[2 * anchor]), end, exact

    def root(self) -> Node:
        """The document's nodes, composed from the text once asked for."""
        if self._composed is None:
            loader = _LOADER(self.lines.text)
            try:
                for _ in range(self._document + 1):
                    loader.check_node()  # past the stream's start, and each document's end
                    self._composed = loader.get_node()
            finally:
                loader.dispose()
        assert self._composed is not None
        return self._composed
