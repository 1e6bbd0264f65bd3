"""Manifest files read from libyaml's events: values built as they come, nodes only if asked.

yamldoc composes every document into nodes (libyaml calls back into Python for each one, and
each node is an object with two marks) and then builds values from the nodes; the nodes are
kept for the locator. Most manifests need neither: their values can be built straight from
the parser's events, and a finding needs the lines of the few nodes it points at. Here each
document keeps two numbers per node, in document order: the offsets in the text where it
starts and ends (an array, no object per node), and the size of each collection; a field path
is located by walking the document's value beside them, and the offsets become lines and
columns (counted as libyaml counts them) only then. The nodes are composed from the text
only when a source asks for one (`NodeLocator.node_at`). While it reads, libyaml's binding
builds lean events (tuples, lists and marks: see _LEAN_EVENTS), not yaml.events' objects.
When gatekeeper._manifest_reader is built (setup.py; README, Install), it takes those steps in
C on PyYAML's own libyaml, with no event objects at all, and hands back to _build_all every
text the parser stops in, so that problems are worded and placed as they are here.

Only what builds the same way both ways is read from events: a text with an anchor or an
alias, an explicit tag, a merge key, a key that is not a string, a key set twice, or nesting
deeper than yamldoc.MAX_DEPTH goes through yamldoc.load_all whole, so values, lines,
duplicates and problems are the same whichever way a file was read.
"""

from __future__ import annotations

import bisect
import importlib
import marshal
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

import yaml
from yaml.events import DocumentEndEvent
from yaml.nodes import Node, ScalarNode

from gatekeeper import lazy_re
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

_libyaml: Any  # libyaml's binding (see _LEAN_EVENTS)
try:
    _libyaml = importlib.import_module("yaml._yaml")
except ImportError:  # pragma: no cover - without libyaml every text is composed
    _libyaml = None
_Mark: Any = getattr(_libyaml, "Mark", None)  # the class of its marks


def _native_reader() -> Any:
    """gatekeeper._manifest_reader (_build_all in C, setup.py builds it) with PyYAML's own
    libyaml in hand, or None: not built, or that libyaml not found (then _build_all reads)."""
    path = getattr(_libyaml, "__file__", None)
    if path is None:
        return None
    try:
        native = importlib.import_module("gatekeeper._manifest_reader")
    except ImportError:
        return None
    return native if native.use(path) else None


_NATIVE: Any = _native_reader()


def reader() -> str:
    """Which reader builds manifests from events (`gatekeeper --version` says it)."""
    if _NATIVE is not None:
        version = ".".join(map(str, _NATIVE.libyaml_version()))
        return f"C (gatekeeper._manifest_reader, PyYAML's libyaml {version})"
    if _libyaml is not None:
        return "Python (gatekeeper._manifest_reader not built: see README, Install)"
    return "the composer (PyYAML without libyaml)"


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
    if _libyaml is None:
        return None
    known = _READ.get(text, _UNREAD)
    if known is not _UNREAD:
        return _again(file, known)
    try:
        entries = _built(file, text)
    except _Composed:
        _remember(text, None)
        return None
    if entries and isinstance(entries[-1], Problem):
        return entries  # (not remembered: rare, says the file)
    if _rememberable(text):  # (a long text's values are not copied for nothing)
        _remember(text, _kept(entries))
    return entries


def _built(file: str, text: str) -> list[Manifest | Problem]:
    """The documents of `text`, then a Problem where parsing stopped, if it did; raises
    _Composed when the text needs the composer. Built in C when it is there: it says when
    the parser stopped, and _build_all reads the text again to report it as it does."""
    if _NATIVE is not None:
        documents = _NATIVE.read(text, _PLAIN, MAX_DEPTH)
        if documents is None:
            raise _Composed
        if documents is not False:
            return _native_manifests(file, text, documents)
    return _built_in_python(file, text)


def _native_manifests(
    file: str, text: str, documents: list[tuple[Any, bytes, dict[int, int], Any]]
) -> list[Manifest | Problem]:
    """The Manifests of what _manifest_reader.read built (offsets as int64 bytes)."""
    lines = _Lines(text)
    entries: list[Manifest | Problem] = []
    for document, (obj, raw, sizes, at_end) in enumerate(documents):
        offsets = array("q")
        offsets.frombytes(raw)
        table = _Table(obj, offsets, sizes, at_end, lines, document)
        entries.append(Manifest(obj, NodeLocator(file, None, table=table)))
    return entries


def _built_in_python(file: str, text: str) -> list[Manifest | Problem]:
    """_built by _build_all, from the events of PyYAML's binding."""
    parser = _LOADER(text)
    entries: list[Manifest | Problem] = []
    _use_events(_LEAN_EVENTS)
    try:
        _build_all(file, text, parser, entries)
    except yaml.YAMLError as error:
        entries.append(stream_problem(file, error))
    finally:
        _use_events(_EVENT_CLASSES)
        parser.dispose()
    return entries


# Texts read before, and what reading them built (_Read), or None when they need the composer.
# Equal files repeat whole in a repository (a policy library's fixtures: 9,258 files of the
# real k8s-full corpus are 3,684 distinct texts), and building values from events is Python,
# one step per node: a copy of the values made by marshal is C. Bounded by the texts' size,
# the oldest forgotten first; the pool puts equal files in one chunk (scanner._chunked).
_READ: dict[str, _Read | None] = {}
_READ_SIZE = [0]  # the length of the texts in _READ
READ_KEPT_CHARACTERS = 1 << 18  # equal files are read in one chunk: recent texts suffice
_UNREAD: Any = object()


@dataclass(frozen=True)
class _Read:
    """What reading a text built, file aside: its documents' values (marshalled, so that each
    reader gets values of its own, as a fresh read gives) and their tables' parts."""

    values: bytes
    tables: tuple[tuple[array[int], dict[int, int], dict[int, tuple[int, int]]], ...]
    lines: _Lines


def _kept(entries: list[Manifest | Problem]) -> _Read | None:
    """`entries` (the documents of one text) as _Read keeps them; None when their values
    are not all written exactly by marshal (a YAML timestamp)."""
    tables = [entry.locator.table for entry in entries if isinstance(entry, Manifest)]
    if len(tables) != len(entries) or not all(isinstance(t, _Table) for t in tables):
        return None
    try:
        values = marshal.dumps([entry.obj for entry in entries if isinstance(entry, Manifest)])
    except ValueError:
        return None
    parts = tuple((t.offsets, t.sizes, t.at_end) for t in tables if isinstance(t, _Table))
    lines = next((t.lines for t in tables if isinstance(t, _Table)), _Lines(""))
    return _Read(values, parts, lines)


def _rememberable(text: str) -> bool:
    """Is `text` short enough to be kept? The long ones (a release's install.yaml of
    2 MB) would push out the many short texts that repeat."""
    return len(text) <= READ_KEPT_CHARACTERS >> 4


def _remember(text: str, read: _Read | None) -> None:
    if not _rememberable(text):
        return
    while _READ and _READ_SIZE[0] + len(text) > READ_KEPT_CHARACTERS:
        _READ_SIZE[0] -= len(next(iter(_READ)))
        del _READ[next(iter(_READ))]
    _READ[text] = read
    _READ_SIZE[0] += len(text)


def _again(file: str, read: _Read | None) -> list[Manifest | Problem] | None:
    """The documents of a text read before, as reading it again gives them (in `file`)."""
    if read is None:
        return None
    values = marshal.loads(read.values)
    entries: list[Manifest | Problem] = []
    for document, (obj, (offsets, sizes, at_end)) in enumerate(
        zip(values, read.tables, strict=True)
    ):
        table = _Table(obj, offsets, sizes, at_end, read.lines, document)
        entries.append(Manifest(obj, NodeLocator(file, None, table=table)))
    return entries


# libyaml's binding builds each event it hands out by calling what its module holds under the
# event's name, with the event's fields, positionally. An event class runs a Python __init__
# that stores them all; for the time of a read (one thread reads YAML: the others pump pipes
# and sockets) the module holds functions that keep only what _build_all uses, in the
# cheapest shape, each kind its own type: a scalar is the tuple of its fields, a collection's
# start a list, its end the end mark. What it builds for the others stays as it was.


def _scalar_event(*fields: Any) -> tuple[Any, ...]:
    """(anchor, tag, implicit, value, start mark, end mark, style)."""
    return fields


def _mapping_start(anchor: Any, tag: Any, implicit: Any, start: Any, end: Any, flow: Any) -> Any:
    """[its value (empty), start mark, anchor, tag]."""
    return [{}, start, anchor, tag]


def _sequence_start(anchor: Any, tag: Any, implicit: Any, start: Any, end: Any, flow: Any) -> Any:
    """[its value (empty), start mark, anchor, tag]."""
    return [[], start, anchor, tag]


def _collection_end(start: Any, end: Any) -> Any:
    return end


_LEAN_EVENTS: dict[str, Any] = {
    "ScalarEvent": _scalar_event,
    "MappingStartEvent": _mapping_start,
    "SequenceStartEvent": _sequence_start,
    "MappingEndEvent": _collection_end,
    "SequenceEndEvent": _collection_end,
}
_EVENT_CLASSES: dict[str, Any] = {name: getattr(yaml.events, name) for name in _LEAN_EVENTS}


def _use_events(makers: dict[str, Any]) -> None:
    for name, make in makers.items():
        setattr(_libyaml, name, make)


def _build_all(file: str, text: str, parser: Any, entries: list[Manifest | Problem]) -> None:
    get_event = parser.get_event
    plain = _PLAIN
    # Without a `!` no node has a tag, without a `&` none has an anchor: not asked then.
    tagged, anchored = "!" in text, "&" in text
    lines = _Lines(text)
    # Where each node starts and ends, in document order: a list while the document is read
    # (its append is the interpreter's fastest call), an array once it is kept.
    offsets: list[int] = []
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
        if kind is tuple:  # a scalar (see _LEAN_EVENTS)
            anchor, tag, implicit, value, start, end, _ = event
            if (tagged and tag is not None) or (anchored and anchor is not None):
                raise _Composed
            if implicit[0]:  # plain: its value by its text
                value = plain[value]
            if in_list:
                container.append(value)
                offsets.append(start.index)
                offsets.append(end.index)
            elif key is _NO_KEY:
                if type(value) is not str or value == "<<" or value in container:
                    raise _Composed  # not a string, maybe a merge key, or set twice
                key = value
                offsets.append(start.index)
                offsets.append(0)  # a key's end: never asked (a path's end is its value's)
            else:
                container[key] = value
                key = _NO_KEY
                offsets.append(start.index)
                offsets.append(end.index)
        elif kind is list:  # a collection's start
            new, start, anchor, tag = event
            if (tagged and tag is not None) or (anchored and anchor is not None):
                raise _Composed
            if len(stack) >= MAX_DEPTH:
                raise _Composed  # yamldoc reports where
            if in_list:
                container.append(new)
            elif key is _NO_KEY:
                raise _Composed  # a collection as a key
            else:
                container[key] = new
            stack.append((container, in_list, len(offsets) >> 1))
            offsets.append(start.index)
            offsets.append(0)  # its end, once met
            container, in_list, key = new, new.__class__ is list, _NO_KEY
        elif kind is _Mark:  # a collection's end
            container, in_list, place = stack.pop()
            sizes[place] = (len(offsets) >> 1) - place
            end = event
            offsets[2 * place + 1] = end.index
            if end.index == length:
                at_end[place] = (end.line, end.column)
            key = _NO_KEY  # a mapping above waits for its next key
        elif kind is DocumentEndEvent:
            kept = array("q", offsets)
            table = _Table(top[0], kept, sizes, at_end, lines, documents)
            entries.append(Manifest(top[0], NodeLocator(file, None, table=table)))
            documents += 1
            offsets, sizes, at_end, top = [], {}, {}, []
            container = top
        elif event is None or kind is yaml.StreamEndEvent:
            return
        elif kind is yaml.AliasEvent:
            raise _Composed


def shared_parts(locator: Any, obj: Any) -> object | None:
    """What the tables of the copies of one text's document share (_again), when `locator`
    has such a table and walks `obj` itself; None otherwise. Equal values and equal parts
    place every path alike (Engine._made keeps the places of equal documents)."""
    table = locator.table if type(locator) is NodeLocator else None
    if type(table) is not _Table or table.obj is not obj:
        return None
    return table.offsets


def _as_is(node: ScalarNode) -> Any:
    return node.value


class _PlainValues(dict[str, Any]):
    """A plain scalar's text -> its value, remembered for the short texts (as
    yamldoc._RESOLVED keeps tags): `values[text]` asks no method for the texts seen before."""

    def __missing__(self, text: str) -> Any:
        """yamldoc's tag and constructor for the text (a merge key's text stays a string, as
        the builder's value of one)."""
        tag = plain_tag(text)
        if tag == _STR_TAG:
            value: Any = text
        else:
            try:
                value = _SCALARS.get(tag, _as_is)(ScalarNode(tag, text))
            except (ValueError, IndexError, KeyError, TypeError):
                raise _Composed from None  # yamldoc reports it at its line
        if len(text) <= _RESOLVED_LENGTH and len(self) < _RESOLVED_SIZE:
            self[text] = value
        return value


_PLAIN = _PlainValues()


# Where libyaml starts a new line: a line feed, a carriage return (with the line feed after
# it, one break), and YAML 1.1's next line, line and paragraph separators.
_BREAK = lazy_re.compile("\r\n|[\r\n\x85\u2028\u2029]")
_BREAKS = "\r\n\x85\u2028\u2029"
# What str.splitlines also breaks at, and libyaml does not (it refuses them in a stream).
_NOT_BREAKS = ("\x0b", "\x0c", "\x1c", "\x1d", "\x1e")


def _line_starts(text: str) -> list[int]:
    """Where each line starts: after each of libyaml's line breaks. str.splitlines breaks
    where libyaml does (a CR LF once) and more: it serves a text without those others, in C
    (a fifth of the time of one match object per line)."""
    if any(char in text for char in _NOT_BREAKS):
        return [0, *(match.end() for match in _BREAK.finditer(text))]
    lines = text.splitlines(keepends=True)
    starts = list(accumulate(map(len, lines), initial=0))
    if lines and lines[-1][-1] not in _BREAKS:
        starts.pop()  # the text's end, after a last line without a break: no line starts
    return starts


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
            starts = self._starts = _line_starts(self._text)
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
