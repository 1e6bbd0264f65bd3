"""`.tf.json` files (Terraform's JSON syntax) read as the HCL they stand for.

Terraform loads `main.tf.json` like `main.tf`; left unread, a resource written in JSON was
never judged (a green check for `"encrypted": false`). The JSON is written out as HCL text,
line by line, and parsed by gatekeeper.hcl like any `.tf` file; every line of that text
remembers the JSON line it came from, so findings and problems point into the JSON file.
JSON strings are templates as in Terraform (`"${local.off}"` is an expression).

What Terraform decides with the provider's schema is decided by the value's shape here: in a
resource, data source or provider, an object (or a list of objects) is a nested block, except
under the names that hold maps (`tags`, `labels`, ...); in variables, locals, outputs and
module calls every property is an argument.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gatekeeper import lazy_re
from gatekeeper.hcl import HclError, Parsed, RawBody, Span
from gatekeeper.yamldoc import YamlDocument, load_all

# Labels each top-level block type takes, as Terraform's JSON syntax nests them.
LABELS = {
    "resource": 2,
    "data": 2,
    "module": 1,
    "variable": 1,
    "provider": 1,
    "output": 1,
    "check": 1,
    "locals": 0,
    "terraform": 0,
    "moved": 0,
    "import": 0,
    "removed": 0,
}
# Bodies whose object-valued properties are nested blocks (the schema has blocks there).
_BLOCK_BODIES = frozenset({"resource", "data", "provider", "terraform"})
# Properties of such bodies that are maps, not blocks.
MAPS = frozenset(
    {
        "tags",
        "tags_all",
        "labels",
        "variables",
        "triggers",
        "metadata",
        "parameters",
        "environment_variables",
        "resource_labels",
        "default_labels",
        "annotations",
        "required_providers_map",
    }
)
_LABELED_BLOCKS = frozenset({"backend", "provisioner", "dynamic"})  # `backend "s3" {...}`
_IDENTIFIER = lazy_re.compile(r"^[A-Za-z_][\w-]*$")


@dataclass
class _Writer:
    lines: list[str] = field(default_factory=list)
    places: list[tuple[int, int]] = field(default_factory=list)  # JSON (line, column) per line

    def write(self, text: str, node: Node) -> None:
        self.lines.append(text)
        self.places.append((node.start_mark.line + 1, node.start_mark.column + 1))


def to_hcl(text: str, path: str) -> tuple[str, list[tuple[int, int]]]:
    """The HCL text a `.tf.json` file stands for, and the JSON place of each of its lines.
    HclError (at the JSON line) when it is not a JSON object of Terraform blocks."""
    documents = list(load_all(path, text))
    if not documents:
        raise HclError("invalid Terraform JSON: empty file", 1)
    first = documents[0]
    if not isinstance(first, YamlDocument):
        raise HclError(f"invalid JSON: {first.message}", first.line)
    if not isinstance(first.node, MappingNode):
        raise HclError("invalid Terraform JSON: not an object", 1)
    writer = _Writer()
    for key, value in first.node.value:
        kind = str(key.value)
        if kind == "//":
            continue  # a comment
        if kind not in LABELS:
            line = key.start_mark.line + 1
            raise HclError(f"invalid Terraform JSON: unknown block type {kind!r}", line)
        _block(writer, kind, [], LABELS[kind], value)
    return "\n".join(writer.lines) + "\n", writer.places


def _block(writer: _Writer, kind: str, labels: list[str], missing: int, node: Node) -> None:
    if isinstance(node, SequenceNode):  # the same block type written more than once
        for item in node.value:
            _block(writer, kind, labels, missing, item)
        return
    if not isinstance(node, MappingNode):
        raise HclError(f"invalid Terraform JSON: {kind} must be an object", _line(node))
    if missing:
        for key, value in node.value:
            _block(writer, kind, [*labels, str(key.value)], missing - 1, value)
        return
    header = " ".join([kind, *(json.dumps(label) for label in labels)])
    writer.write(header + " {", node)
    _body(writer, node, kind in _BLOCK_BODIES or kind in _LABELED_BLOCKS or kind == "content")
    writer.write("}", node)


def _body(writer: _Writer, node: MappingNode, blocks: bool) -> None:
    for key, value in node.value:
        name = str(key.value)
        if name == "//":
            continue
        if not _IDENTIFIER.match(name):
            raise HclError(f"invalid Terraform JSON: {name!r} is not an argument name", _line(key))
        if name in _LABELED_BLOCKS and blocks and isinstance(value, (MappingNode, SequenceNode)):
            _block(writer, name, [], 1, value)
        elif name == "content" or (blocks and name not in MAPS and _objects(value)):
            _block(writer, name, [], 0, value)
        else:
            _attribute(writer, name, value, key)


def _objects(node: Node) -> bool:
    """An object, or a non-empty list of objects: nested blocks in a block body."""
    if isinstance(node, MappingNode):
        return True
    return (
        isinstance(node, SequenceNode)
        and bool(node.value)
        and all(isinstance(item, MappingNode) for item in node.value)
    )


def _attribute(writer: _Writer, name: str, node: Node, key: Node) -> None:
    if isinstance(node, ScalarNode):
        writer.write(f"{name} = {_scalar(node)}", key)
        return
    writer.write(f"{name} = {'[' if isinstance(node, SequenceNode) else '{'}", key)
    _items(writer, node)
    writer.write("]" if isinstance(node, SequenceNode) else "}", node)


def _items(writer: _Writer, node: Node) -> None:
    if isinstance(node, SequenceNode):
        entries: list[tuple[str, Node]] = [("", item) for item in node.value]
    else:
        assert isinstance(node, MappingNode)
        entries = [(f"{json.dumps(str(key.value))} = ", value) for key, value in node.value]
    for prefix, value in entries:
        if isinstance(value, ScalarNode):
            writer.write(f"{prefix}{_scalar(value)},", value)
            continue
        writer.write(prefix + ("[" if isinstance(value, SequenceNode) else "{"), value)
        _items(writer, value)
        writer.write(("]" if isinstance(value, SequenceNode) else "}") + ",", value)


def _scalar(node: ScalarNode) -> str:
    """A JSON scalar as HCL: strings stay templates (`${...}` interpolates)."""
    if node.style in ('"', "'"):
        return json.dumps(str(node.value), ensure_ascii=False)
    value = str(node.value)
    if value in ("true", "false", "null") or re.fullmatch(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", value):
        return value
    return json.dumps(value, ensure_ascii=False)


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


# --- lines of the HCL text back to the JSON file ---------------------------------------------


def relocate(parsed: Parsed, places: list[tuple[int, int]]) -> None:
    """Every span of a parse of `to_hcl`'s text moved to the JSON place its line came from."""
    seen: set[int] = set()
    for block in parsed.blocks:
        _span(block.span, places, seen)
        if block.raw is not None:
            _raw(block.raw, places, seen)
    parsed.duplicates = [
        (name, _place(places, line)[0], _place(places, first)[0])
        for name, line, first in parsed.duplicates
    ]


def _raw(body: RawBody, places: list[tuple[int, int]], seen: set[int]) -> None:
    for attribute in body.attributes.values():
        _span(attribute.span, places, seen)
    for block in body.blocks:
        _span(block.span, places, seen)
        _raw(block.body, places, seen)


def _span(span: Span, places: list[tuple[int, int]], seen: set[int]) -> None:
    if id(span) in seen:
        return
    seen.add(id(span))
    span.line, span.column = _place(places, span.line)
    span.end_line, span.end_column = _place(places, span.end_line)[0], 0
    children: Any = span.children
    for child in children.values() if isinstance(children, dict) else children or ():
        _span(child, places, seen)


def _place(places: list[tuple[int, int]], line: int) -> tuple[int, int]:
    return places[min(max(line, 1), len(places)) - 1] if places else (1, 1)
