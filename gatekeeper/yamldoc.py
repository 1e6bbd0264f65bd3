"""Load YAML with the C parser and keep the nodes, so any field path maps back to a line.

One compose pass (libyaml) gives nodes with marks; we build plain Python objects from the
nodes ourselves, which is as fast as PyYAML's constructor, and keep the root node as the
locator. Aliases are guarded against exponential expansion (billion laughs), duplicate keys
are reported, and timestamps stay strings as they do in Kubernetes' JSON view of YAML.
"""

from __future__ import annotations

import base64
import codecs
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gatekeeper import lazy_re
from gatekeeper.document import Location, Problem
from gatekeeper.errors import UsageError
from gatekeeper.fieldpath import Path, format_path

try:
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - libyaml is a declared expectation, not a must
    _Loader = yaml.SafeLoader


def safe_load(text: str | bytes) -> Any:
    """yaml.safe_load's object, parsed by libyaml: a CI script's heredoc of manifests (1.4 MB
    in kserve's install scripts) took 2.4 s in the pure-Python loader, 0.1 s here; and a text
    nested past libyaml's 1,000 levels is a YAMLError, where the pure-Python composer's
    recursion raised RecursionError."""
    return yaml.load(_encoded(text), Loader=_Loader)


def safe_load_all(text: str | bytes) -> Iterator[Any]:
    """yaml.safe_load_all's objects, parsed by libyaml (see safe_load); errors raised as
    they are met, as yaml's are."""
    yield from yaml.load_all(_encoded(text), Loader=_Loader)


def _encoded(text: str | bytes) -> bytes:
    """The UTF-8 libyaml reads; a lone surrogate (a file decoded with `surrogateescape`) is
    the YAMLError the pure-Python reader raised for it, not libyaml's UnicodeEncodeError."""
    if isinstance(text, bytes):
        return text
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise yaml.reader.ReaderError(
            "<text>", error.start, ord(text[error.start]), "utf-8", "unacceptable character"
        ) from None


def _libyaml_version() -> tuple[int, ...]:
    from yaml import _yaml

    return tuple(_yaml.get_version())


class _Resolving:
    """The tag resolver memoised (see _ResolvingLoader), for either composer."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is ScalarNode and implicit[0]:  # a plain scalar: most calls
            return _RESOLVED.get(value) or plain_tag(value)
        if kind is ScalarNode:
            return _STR_TAG
        return _SEQUENCE_TAG if kind is SequenceNode else _MAPPING_TAG

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        pass

    def ascend_resolver(self) -> None:
        pass


class _ResolvingLoader(_Resolving, _Loader):  # type: ignore[valid-type,misc]
    """The C loader with its Python tag resolver memoised.

    libyaml calls back into Python to resolve the tag of every node without an explicit tag.
    The safe loaders have no path resolvers, so a tag depends on the kind and, for a plain
    scalar, its text alone (a chain of regular expressions): collections and quoted or block
    scalars take the default tag at once, and the plain scalars that repeat (`name`, `true`,
    `80`) are remembered. Only short ones: a process keeps the table for its life, and long
    texts are neither repeated nor worth the memory they would pin.
    """


class _RedefiningLoader(_Resolving, yaml.SafeLoader):
    """The Python composer, for a stream that defines an anchor twice (`- name: &name a`,
    then `- name: &name b`): go-yaml (kubectl, kustomize, Flux, Argo CD) takes an alias to
    the latest definition, libyaml refuses the whole stream, and its objects went unjudged."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if not self.check_event(yaml.AliasEvent):
            anchor = self.peek_event().anchor  # type: ignore[no-untyped-call]
            if anchor is not None:
                self.anchors.pop(anchor, None)  # redefined: later aliases mean this one
        return super().compose_node(parent, index)


# go-yaml v2 (kubectl, Argo CD, Helm) reads these plain scalars as booleans too, as YAML 1.1
# says (`hostNetwork: y` puts the pod on the host network); PyYAML leaves them strings.
_V2_BOOLS = {"y": True, "Y": True, "n": False, "N": False}
_RESOLVED_LENGTH = 40
_RESOLVED_SIZE = 16384
_STR_TAG = yaml.SafeLoader.DEFAULT_SCALAR_TAG
_SEQUENCE_TAG = yaml.SafeLoader.DEFAULT_SEQUENCE_TAG
_MAPPING_TAG = yaml.SafeLoader.DEFAULT_MAPPING_TAG
_BOOL_TAG = "tag:yaml.org,2002:bool"
_RESOLVED: dict[str, str] = dict.fromkeys(_V2_BOOLS, _BOOL_TAG)
# Path resolvers would make tags depend on the position: then resolve every time.
_LOADER: type[yaml.SafeLoader] = _Loader if _Loader.yaml_path_resolvers else _ResolvingLoader
_RESOLVER = yaml.SafeLoader("")  # only its tag resolution and scalar constructors are used


def plain_tag(value: str) -> str:
    """The tag of a plain scalar without one (a chain of regular expressions), remembered."""
    tag = _RESOLVED.get(value)  # go-yaml v2's booleans are in it from the start
    if tag is None:
        tag = _RESOLVER.resolve(ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
        if len(value) <= _RESOLVED_LENGTH and len(_RESOLVED) < _RESOLVED_SIZE:
            _RESOLVED[value] = tag
    return tag


MAX_FILE_BYTES = 8 * 1024 * 1024
# A document may expand (through aliases) to at most this many nodes, or ten times its
# own size, whichever is larger: real manifests are far below, alias bombs far above.
MAX_EXPANDED_NODES = 200_000
# Deeper documents are refused, at the line where level MAX_DEPTH + 1 opens: real manifests
# (CRD schemas included) stay far below, and every later stage recurses over the objects.
MAX_DEPTH = 100
# Texts that may nest deeper than this are walked as events before libyaml composes them: its
# composer recurses in C and overflows the stack (a segfault, not an exception) some tens of
# thousands of levels down. Since 0.2.6 it stops by itself at 1000 with its own message: then
# such a text is composed first, and walked only when that stops at a problem (which may be
# the depth). Below it, the builder counts levels for free.
_SHALLOW = 900
_NESTING_LIMITED = _Loader is not yaml.SafeLoader and _libyaml_version() >= (0, 2, 6)

_TAG = "tag:yaml.org,2002:"
_MERGE = _TAG + "merge"
_constructor = _RESOLVER  # its scalar constructors too


def _as_str(node: ScalarNode) -> Any:
    return node.value


def _binary(node: ScalarNode) -> str:
    """`!!binary` as Go's YAML readers (kubectl, Helm, Argo CD) take it: the decoded bytes as a
    string, so `? !!binary YXBpVmVyc2lvbg==` is the key apiVersion (it was its base64 text)."""
    data = base64.b64decode("".join(node.value.split()), validate=True)
    return data.decode("utf-8", "replace")


def _key(node: ScalarNode) -> Any:
    """A mapping key: `y:` and `n:` stay names (coordinates, flags), as everywhere else."""
    return node.value if node.value in _V2_BOOLS else _scalar(node)


def _as_bool(node: ScalarNode) -> Any:
    known = _V2_BOOLS.get(node.value)
    return known if known is not None else _constructor.construct_yaml_bool(node)


_SCALARS: dict[str, Callable[[ScalarNode], Any]] = {
    _TAG + "str": _as_str,
    _TAG + "null": lambda node: None,
    _TAG + "bool": _as_bool,
    _TAG + "int": _constructor.construct_yaml_int,
    _TAG + "float": _constructor.construct_yaml_float,
    _TAG + "timestamp": _as_str,
    _TAG + "binary": _binary,
}


def _scalar(node: ScalarNode) -> Any:
    try:
        return _SCALARS.get(node.tag, _as_str)(node)
    except (ValueError, IndexError, KeyError, TypeError) as error:  # binascii.Error too
        raise BadValueError(node, node.tag, error) from None


class TooDeepError(ValueError):
    def __init__(self, node: Node) -> None:
        super().__init__(f"nested more than {MAX_DEPTH} levels deep")
        self.node = node


class BadValueError(ValueError):
    """A scalar its explicit tag cannot hold (`!!int ""`, `!!bool maybe`)."""

    def __init__(self, node: Node, tag: str, error: Exception) -> None:
        tag = tag.removeprefix(_TAG)
        super().__init__(f"{node.value[:40]!r} is not a valid !!{tag} ({type(error).__name__})")
        self.node = node


class YamlBombError(ValueError):
    def __init__(self, node: Node, expanded: int, reason: str = "") -> None:
        super().__init__(reason or f"aliases expand to {expanded} nodes (YAML bomb?)")
        self.node = node


@dataclass
class YamlDocument:
    """One YAML document: its value, the nodes that place its fields, and repeated keys."""

    obj: Any
    node: Node
    duplicate_keys: list[tuple[Path, ScalarNode]] = field(default_factory=list)


class NodeTable(Protocol):
    """A document's nodes kept as a table (gatekeeper.yamlevents): where the node at a path
    starts and ends, and the nodes themselves composed only when asked for."""

    def span(self, path: Path) -> tuple[Any, Any, bool]: ...

    def root(self) -> Node: ...


@dataclass(frozen=True)
class NodeLocator:
    """Maps a field path to the line of its key (mappings) or item (sequences)."""

    file: str
    root: Node | None  # None: the document's `table` holds its places (and composes it)
    base_line: int = 0  # added to every line: for YAML embedded in a larger file
    table: NodeTable | None = None

    def locate(self, path: Path) -> Location:
        if self.table is not None:
            return self._location(*self.table.span(path))
        return self._location(*_span(self.root, path))

    def locate_in(self, path: Path, spans: dict[Path, tuple[Any, Any, bool]]) -> Location:
        """`locate` with the table's answers kept in `spans`, for documents whose tables
        and values are equal (see Engine._made)."""
        found = spans.get(path)
        if found is None:
            assert self.table is not None
            found = spans[path] = self.table.span(path)
        return self._location(*found)

    def _location(self, start: Any, end: Any, exact: bool) -> Location:
        return Location(
            self.file,
            start.line + 1 + self.base_line,
            start.column + 1,
            end.line + 1 + self.base_line,
            end.column + 1,
            exact,
        )

    def node_at(self, path: Path) -> Node | None:
        node: Node | None = self.root if self.table is None else self.table.root()
        for key in path:
            found = _child(node, key) if node is not None else None
            node = found[1] if found else None
        return node


def _span(root: Any, path: Path) -> tuple[Any, Any, bool]:
    """The start mark of the node at `path` (its key's, in a mapping), its end mark, and
    whether the whole path was found (else: the nearest ancestor's)."""
    node, anchor = root, root
    for key in path:
        found = _child(node, key)
        if found is None:
            return anchor.start_mark, node.end_mark, False
        anchor, node = found
    return anchor.start_mark, node.end_mark, True


def _child(node: Node, key: str | int) -> tuple[Node, Node] | None:
    """(node to point at, value node) for one step, following merge keys."""
    if isinstance(node, MappingNode) and isinstance(key, str):
        # The last entry that sets the key wins, a merge key's too (see _Builder.build).
        for key_node, value_node in reversed(node.value):
            if key_node.tag == _MERGE:
                sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                for candidate in sources:
                    found = _child(candidate, key)
                    if found is not None:
                        return found
            elif isinstance(key_node, ScalarNode) and key_node.value == key:
                return key_node, value_node
    elif (
        isinstance(node, SequenceNode)
        and isinstance(key, int)
        and -len(node.value) <= key < len(node.value)
    ):
        item = node.value[key]
        return item, item
    return None


def decode(data: bytes) -> str:
    """Decode a YAML file as YAML allows (UTF-8, or UTF-16/32 with a BOM)."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8")
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return data.decode("utf-32")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    return data.decode("utf-8")


# A Git LFS pointer file: its version line comes first (git-lfs spec, pointer files are
# under 1024 bytes); `hawser` is the spec's name before Git LFS.
_LFS_VERSIONS = (b"version https://git-lfs.github.com/spec/", b"version https://hawser.github.com/")


def is_lfs_pointer(data: bytes) -> bool:
    return len(data) < 1024 and data.startswith(_LFS_VERSIONS) and b"\noid " in data


def check_bytes(file: str, data: bytes) -> Problem | None:
    """Reject what is not a text file we can read: too large, binary, not UTF-8."""
    if len(data) > MAX_FILE_BYTES:
        return Problem(
            "GK-FILE-TOO-LARGE",
            file,
            1,
            f"file is over the {MAX_FILE_BYTES}-byte limit; not scanned",
        )
    if is_lfs_pointer(data):
        message = (
            "Git LFS pointer: the content is stored outside the repository (Argo CD applies "
            "it with enableLfs); not judged"
        )
        return Problem("GK-LFS-POINTER", file, 1, message)
    if b"\0" in data[:8192] and not data.startswith(
        (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
    ):
        return Problem("GK-BINARY-FILE", file, 1, "binary file (NUL byte); not scanned")
    try:
        decode(data)
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        return Problem(
            "GK-ENCODING-ERROR",
            file,
            line,
            f"not valid UTF-8 (byte 0x{data[error.start]:02x} at offset {error.start});"
            " not scanned",
            column,
        )
    return None


def may_be_deep(text: str) -> bool:
    """Might `text` nest deeper than _SHALLOW? Cheap bounds (milliseconds per megabyte): each
    level opens with one of `[{-:?`; block levels need indentation (at most two levels per
    column), or an indicator (`- `, `? `, `: `) in the run a line starts with; flow levels a
    bracket."""
    if sum(text.count(char) for char in "[{-:?") <= _SHALLOW:
        return False
    brackets = text.count("[") + text.count("{")
    return brackets + 2 * _widest_lead(text) + 2 > _SHALLOW  # large manifests end below


def _too_deep(text: str) -> Any:
    """Where nesting first exceeds MAX_DEPTH, walking the text as events (as long as composing
    it), or None. Returns a yaml Mark."""
    loader = _Loader(text)
    depth = 0
    try:
        while True:
            event = loader.get_event()  # type: ignore[no-untyped-call]
            if event is None or isinstance(event, yaml.StreamEndEvent):
                return None
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    return event.start_mark
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return None  # the composer stops at the same error, before any deeper level
    finally:
        loader.dispose()


# The run of indentation and block indicators a line starts with; a line whose node
# properties (`&anchor`, `!tag`) follow that run counts whole.
_LEAD = lazy_re.compile(r"^[ \t?:-]*(?:[&!].*)?", re.MULTILINE)


def _widest_lead(text: str) -> int:
    """The widest run of indentation and block indicators starting a line: past it, no block
    level opens on that line."""
    return max(map(len, _LEAD.findall(text)), default=0)


def load_all(file: str, text: str) -> Iterator[YamlDocument | Problem]:
    """Every document of a YAML stream, then a Problem where parsing stopped, if it did.

    A text nested deeper than MAX_DEPTH anywhere is one Problem, at the line where level
    MAX_DEPTH + 1 opens, when it may nest deeper than _SHALLOW (else per document)."""
    if not may_be_deep(text):
        yield from _load_all(file, text)
        return
    entries: list[YamlDocument | Problem] | None = None
    if _NESTING_LIMITED:
        # The builder counts the levels it builds as the event walk does: documents built
        # without a problem nest no deeper than MAX_DEPTH, and need no walk.
        entries = list(_load_all(file, text))
        if not any(isinstance(entry, Problem) for entry in entries):
            yield from entries
            return
    deep = _too_deep(text)
    if deep is not None:
        yield _too_deep_problem(file, deep)
        return
    yield from _load_all(file, text) if entries is None else entries


def _load_all(file: str, text: str) -> Iterator[YamlDocument | Problem]:
    """The C loader's documents; a stream it refuses for an anchor defined twice is read
    again by the Python composer, as go-yaml reads it (_RedefiningLoader)."""
    if "&" not in text:
        yield from _load_with(file, text, _LOADER)
        return
    entries = list(_load_with(file, text, _LOADER))
    if any(isinstance(e, Problem) and "duplicate anchor" in e.message for e in entries):
        entries = list(_load_with(file, text, _RedefiningLoader))
    yield from entries


def _load_with(
    file: str, text: str, loader_class: type[yaml.SafeLoader]
) -> Iterator[YamlDocument | Problem]:
    loader = loader_class(text)
    anchors = "&" in text
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            try:
                yield _build(node, anchors)
            except (YamlBombError, BadValueError) as error:
                bomb = isinstance(error, YamlBombError)
                yield Problem(
                    "GK-YAML-BOMB" if bomb else "GK-PARSE-ERROR",
                    file,
                    error.node.start_mark.line + 1,
                    f"document not loaded: {error}" if bomb else f"invalid YAML value: {error}",
                    error.node.start_mark.column + 1,
                )
            except TooDeepError as error:
                yield _too_deep_problem(file, error.node.start_mark)
            except (yaml.YAMLError, ValueError, TypeError) as error:
                yield Problem(
                    "GK-PARSE-ERROR", file, node.start_mark.line + 1, f"invalid YAML value: {error}"
                )
    except yaml.YAMLError as error:
        yield stream_problem(file, error)
    finally:
        loader.dispose()


def stream_problem(file: str, error: yaml.YAMLError) -> Problem:
    """Where and why the parser stopped reading a stream."""
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = " ".join(part for part in (error.context, error.problem) if part)
        what = "JSON" if file.endswith(".json") else "YAML"
        return Problem("GK-PARSE-ERROR", file, line, f"invalid {what}: {problem}", column)
    return Problem("GK-PARSE-ERROR", file, 1, f"invalid YAML: {error}")


def _too_deep_problem(file: str, mark: Any) -> Problem:
    """The one answer to a document nested deeper than MAX_DEPTH, at the line of `mark`."""
    return Problem(
        "GK-PARSE-ERROR",
        file,
        mark.line + 1,
        f"nested more than {MAX_DEPTH} levels deep; not loaded",
        mark.column + 1,
    )


def _check_expansion(root: Node) -> None:
    sizer = _Sizer()
    expanded = sizer.size(root)
    if expanded > max(MAX_EXPANDED_NODES, 10 * sizer.unique):
        raise YamlBombError(root, expanded)


class _Sizer:
    """Expanded sizes of nodes (aliases counted at every use).

    A class, not a recursive closure: a closure that calls itself is a reference cycle,
    freed only by the cyclic collector, which scans pause.
    """

    def __init__(self) -> None:
        self.sizes: dict[int, int] = {}
        self.unique = 0

    def size(self, node: Node) -> int:
        known = self.sizes.get(id(node))
        if known is not None:
            return known
        self.unique += 1
        total = 1
        if isinstance(node, MappingNode):
            for key, value in node.value:
                total += self.size(key) + self.size(value)
        elif isinstance(node, SequenceNode):
            for item in node.value:
                total += self.size(item)
        self.sizes[id(node)] = total
        return total


def _build(root: Node, anchors: bool = True) -> YamlDocument:
    """Plain Python objects from a node tree; aliases become shared objects. `anchors`:
    whether the text may hold any (a `&`): without them no alias can be met."""
    builder = _Builder(anchors) if anchors else _UnsharedBuilder(anchors)
    obj = builder.build(root, None)
    if builder.has_alias or len(builder.built) > MAX_EXPANDED_NODES // 10:
        _check_expansion(root)
    return YamlDocument(obj, root, builder.duplicates)


# Where the builder is: None at the root, else (where its parent is, key or index). A link
# per level costs one pair where a whole path cost a tuple per collection; a path is made
# only for a duplicate key.
_Where = tuple[Any, str | int] | None


def _path(where: _Where) -> Path:
    steps: list[str | int] = []
    while where is not None:
        where, step = where
        steps.append(step)
    return tuple(reversed(steps))


class _Builder:
    """One document's objects (a class, not a recursive closure: see _Sizer)."""

    def __init__(self, shared: bool = True) -> None:
        self.built: dict[int, Any] = {}
        self.open_nodes: set[int] = set()  # collections being built: an alias to one is a cycle
        self.duplicates: list[tuple[Path, ScalarNode]] = []
        self.has_alias = False
        self.depth = 0  # collections open on the way down, complex keys and merges included
        self.shared = shared  # may a node be met twice (an alias)? (_UnsharedBuilder if not)

    def build(self, node: Node, where: _Where) -> Any:
        if isinstance(node, ScalarNode):
            return _scalar(node)
        built, open_nodes = self.built, self.open_nodes
        known = built.get(id(node))
        if known is not None:
            if id(node) in open_nodes:
                raise YamlBombError(node, 0, "recursive alias (a collection that contains itself)")
            self.has_alias = True
            return known
        open_nodes.add(id(node))
        value = self._collection(node, where)
        open_nodes.discard(id(node))
        return value

    def _unshared(self, node: Node, where: _Where) -> Any:
        """`build` for a document without anchors (see _build): no node is met twice, so
        no table of the nodes built is kept (four lookups per collection)."""
        if isinstance(node, ScalarNode):
            return _scalar(node)
        return self._collection(node, where)

    def _collection(self, node: Node, where: _Where) -> Any:
        """A collection's value, its own collections built by `self.build`."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise TooDeepError(node)
        build = self.build
        # Scalars are most nodes: taken here, strings at once, not through a call each.
        if isinstance(node, SequenceNode):
            items: list[Any] = []
            if self.shared:
                self.built[id(node)] = items
            append = items.append
            for index, item in enumerate(node.value):
                if not isinstance(item, ScalarNode):
                    append(build(item, (where, index)))
                else:
                    append(item.value if item.tag == _STR_TAG else _scalar(item))
            self.depth -= 1
            return items
        mapping: dict[Any, Any] = {}
        if self.shared:
            self.built[id(node)] = mapping
        # Most mappings: string keys, each once, no merge key. Their entries are taken
        # here; from the first other key on, _entries takes the rest.
        pairs = node.value
        for index, (key_node, value_node) in enumerate(pairs):
            key = key_node.value
            if key_node.tag != _STR_TAG or not isinstance(key_node, ScalarNode) or key in mapping:
                self._entries(mapping, pairs, index, where)
                break
            if not isinstance(value_node, ScalarNode):
                mapping[key] = build(value_node, (where, key))
            else:
                mapping[key] = (
                    value_node.value if value_node.tag == _STR_TAG else _scalar(value_node)
                )
        self.depth -= 1
        return mapping

    def _entries(
        self, mapping: dict[Any, Any], pairs: list[Any], first: int, where: _Where
    ) -> None:
        """A mapping's entries from `first` on (those before it set string keys, once each):
        any key, duplicates reported, merge keys applied."""
        build = self.build
        merges: list[tuple[int, ScalarNode, Node]] = []  # entry index, merge key, value
        written: dict[Any, int] = {key: index for index, key in enumerate(mapping)}
        for index in range(first, len(pairs)):
            key_node, value_node = pairs[index]
            if key_node.tag == _MERGE:
                merges.append((index, key_node, value_node))
                continue
            if not isinstance(key_node, ScalarNode):
                key = build(key_node, where)
                if isinstance(key, (list, dict)):
                    line = key_node.start_mark.line + 1
                    raise ValueError(f"unhashable mapping key at line {line}")
            else:
                key = key_node.value if key_node.tag == _STR_TAG else _key(key_node)
                if key in mapping:
                    self.duplicates.append(((*_path(where), str(key)), key_node))
            written[key] = index
            if not isinstance(value_node, ScalarNode):
                mapping[key] = build(value_node, (where, str(key)))
            else:
                value = value_node.value if value_node.tag == _STR_TAG else _scalar(value_node)
                mapping[key] = value
        if merges:
            self._merge(mapping, written, merges, where)

    def _merge(
        self,
        mapping: dict[Any, Any],
        written: dict[Any, int],
        merges: list[tuple[int, ScalarNode, Node]],
        where: _Where,
    ) -> None:
        """Merge keys applied in document order, as kubectl, Argo CD and Helm decode (go-yaml
        v2): the last entry that sets a key wins, so a merge after a written key overrides it
        (the key is then set twice: reported) and a key written after a merge overrides the
        merge. Written keys keep their places; merged ones follow, in the order first met."""
        for index, key_node, value_node in merges:
            for key, item in self._merged(value_node, where).items():
                at = written.get(key)
                if at is None:
                    mapping[key] = item
                elif at < index:
                    self.duplicates.append(((*_path(where), str(key)), key_node))
                    mapping[key] = item

    def _merged(self, merge: Node, where: _Where) -> dict[Any, Any]:
        """What a merge key brings: its mapping, or its list of mappings (the first that
        sets a key wins)."""
        out: dict[Any, Any] = {}
        sources = merge.value if isinstance(merge, SequenceNode) else [merge]
        for source in sources:
            value = self.build(source, where)
            if not isinstance(value, dict):
                raise ValueError(f"merge key needs a mapping at line {source.start_mark.line + 1}")
            for key, item in value.items():
                out.setdefault(key, item)
        return out


class _UnsharedBuilder(_Builder):
    """A _Builder of a document without anchors (_Builder._unshared builds). A subclass, not
    `self.build = self._unshared`: that bound method held its builder in a reference cycle,
    kept with the document's built values until the next collection (none during a scan)."""

    build = _Builder._unshared


def read_documents(file: str, data: bytes) -> tuple[str, list[YamlDocument], list[Problem]]:
    """A YAML file's decoded text, its documents and the problems reading it met (bytes that
    do not decode: that problem alone, and no text)."""
    problem = check_bytes(file, data)
    if problem is not None:
        return "", [], [problem]
    text = decode(data)
    entries = list(load_all(file, text))
    problems = [entry for entry in entries if isinstance(entry, Problem)]
    return text, [entry for entry in entries if isinstance(entry, YamlDocument)], problems


def load_mapping(
    file: str, data: bytes, what: str, sequence: bool = False
) -> tuple[YamlDocument | None, str, list[Problem]]:
    """A file whose first YAML document must be a mapping (a workflow, a compose file), or
    also a sequence when `sequence` (a Buildkite pipeline written as its list of steps).

    Returns (the document, or None when there is nothing to check; the decoded text; problems).
    """
    text, documents, problems = read_documents(file, data)
    if not documents or documents[0].obj is None:
        if not problems:  # an empty workflow or compose file is an error to its tool too
            problems.append(Problem("GK-PARSE-ERROR", file, 1, f"{what} is empty"))
        return None, text, problems
    document = documents[0]
    problems.extend(duplicate_key_problems(file, document))
    if not isinstance(document.obj, dict) and not (sequence and isinstance(document.obj, list)):
        line = document.node.start_mark.line + 1
        problems.append(Problem("GK-PARSE-ERROR", file, line, f"{what} is not a mapping"))
        return None, text, problems
    return document, text, problems


def read_single(
    file: str, data: bytes, what: str, error_type: type[UsageError]
) -> YamlDocument | None:
    """A settings file (policy, config, waivers): one YAML document, strictly.

    Anything wrong raises `error_type` with the file and line; None for an empty file.
    """
    problem = check_bytes(file, data)
    if problem is not None:
        raise error_type(problem.message, file, problem.line)
    entries = list(load_all(file, decode(data)))
    for entry in entries:
        if not isinstance(entry, YamlDocument):
            raise error_type(entry.message, file, entry.line)
    documents = [entry for entry in entries if isinstance(entry, YamlDocument)]
    if not documents or documents[0].obj is None:
        return None
    if len(documents) > 1:
        raise error_type(f"{what} is one YAML document", file, 1)
    document = documents[0]
    if document.duplicate_keys:
        path, node = document.duplicate_keys[0]
        raise error_type(f"duplicate key {format_path(path)}", file, node.start_mark.line + 1)
    return document


def duplicate_key_problems(file: str, document: YamlDocument) -> list[Problem]:
    return duplicate_problems(file, document.duplicate_keys)


def duplicate_problems(file: str, duplicates: list[tuple[Path, ScalarNode]]) -> list[Problem]:
    return [
        Problem(
            "GK-YAML-DUPLICATE-KEY",
            file,
            node.start_mark.line + 1,
            f"duplicate key {format_path(path)}: only the last value counts",
            node.start_mark.column + 1,
        )
        for path, node in duplicates
    ]
