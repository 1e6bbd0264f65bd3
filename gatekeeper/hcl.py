"""HCL2 (Terraform) text -> plain values plus the line of every attribute, block and item.

python-hcl2 (v8) parses with Lark and keeps source positions on every rule of its element
tree; its dict output drops them. We walk the element tree ourselves: values come from the
library's own serializer (so expressions read as Terraform wrote them, `"${var.x}"`), lines
from the rules' positions. Only positional API of the tree is used, behind this module.

What callers get (and policies see):
- strings without quotes; an expression that is not a literal is a string `"${...}"`;
- numbers, bools as such; an attribute set to `null` is left out (Terraform: unset);
- nested blocks as lists of dicts (`ingress = [{...}, {...}]`), as in plan JSON;
- `dynamic "x" { content {...} }` becomes one more `x` item (values usually `"${...}"`);
- `jsonencode(<object or tuple literal>)` becomes that literal, so IAM documents are data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from gatekeeper.fieldpath import Path


class HclError(ValueError):
    def __init__(self, message: str, line: int, column: int = 1) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


@dataclass
class Span:
    """Where a value sits; children by key (dicts) or index (lists)."""

    line: int
    column: int
    end_line: int
    end_column: int
    children: dict[str, Span] | list[Span] | None = None

    def child(self, key: str | int) -> Span | None:
        if isinstance(self.children, dict) and isinstance(key, str):
            return self.children.get(key)
        if (
            isinstance(self.children, list)
            and isinstance(key, int)
            and -len(self.children) <= key < len(self.children)
        ):
            return self.children[key]
        return None

    def find(self, path: Path) -> tuple[Span, bool]:
        """The span of `path`, or of its nearest existing ancestor (exact False)."""
        span = self
        for key in path:
            found = span.child(key)
            if found is None:
                return span, False
            span = found
        return span, True


@dataclass
class Block:
    """A block: `resource "aws_s3_bucket" "logs" { ... }` has type resource and two labels."""

    type: str
    labels: list[str]
    body: dict[str, Any]
    span: Span  # of the block; its children are the body's
    end_line: int = 0


@dataclass
class Parsed:
    blocks: list[Block] = field(default_factory=list)
    duplicates: list[tuple[str, int, int]] = field(default_factory=list)  # name, line, first


def parse(text: str) -> Parsed:
    """Top-level blocks of an HCL file; HclError (with line) when it does not parse."""
    import hcl2
    from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

    try:
        tree = hcl2.parses(_close_heredocs(text), discard_comments=True)
    except UnexpectedToken as error:
        token = error.token
        what = "end of file" if token.type == "$END" else repr(str(token).strip()[:40] or token)
        raise HclError(f"invalid HCL: unexpected {what}", error.line, error.column) from None
    except UnexpectedCharacters as error:
        position = error.pos_in_stream or 0
        char = text[position] if 0 <= position < len(text) else "?"
        raise HclError(
            f"invalid HCL: unexpected character {char!r}", error.line, error.column
        ) from None
    except UnexpectedInput as error:  # pragma: no cover - the two above cover Lark's LALR
        raise HclError(f"invalid HCL: {error}", error.line, error.column) from None
    walker = _Walker()
    body = tree.body
    parsed = Parsed()
    for child in body.children:
        if _is(child, "BlockRule"):
            labels = [_label(label) for label in child.labels]
            value, span = walker.body(child.body, _span(child))
            parsed.blocks.append(Block(labels[0], labels[1:], value, span))
    parsed.duplicates = walker.duplicates
    return parsed


_HEREDOC_START = re.compile(r"<<-?([A-Za-z_][A-Za-z0-9_-]*)[ \t]*\r?$")


def _close_heredocs(text: str) -> str:
    """Trailing blanks after a heredoc's closing marker, as Terraform accepts them.

    python-hcl2's lexer wants the marker alone on its line; with `EOT  ` it reads on to the
    next heredoc's marker and silently swallows every block in between (a public bucket
    vanished). Stripping those blanks keeps every line where it was."""
    if "<<" not in text:
        return text
    lines = text.split("\n")
    marker = ""
    for index, line in enumerate(lines):
        if marker:
            if line.strip() == marker:
                lines[index] = line.rstrip()
                marker = ""
            continue
        start = _HEREDOC_START.search(line)
        if start:
            marker = start.group(1)
    return "\n".join(lines)


def _is(node: Any, name: str) -> bool:
    return type(node).__name__ == name


def _span(node: Any) -> Span:
    meta = node._meta
    return Span(meta.line, meta.column, meta.end_line, meta.end_column)


def _wrap(span: Span, children: dict[str, Span] | list[Span]) -> Span:
    return Span(span.line, span.column, span.end_line, span.end_column, children)


def _options() -> Any:
    from hcl2 import SerializationOptions

    return SerializationOptions(
        with_comments=False,
        explicit_blocks=False,
        strip_string_quotes=True,
        preserve_heredocs=False,
    )


def _label(node: Any) -> str:
    return str(node.serialize(_options()))


class _Walker:
    def __init__(self) -> None:
        self.options = _options()
        self.duplicates: list[tuple[str, int, int]] = []

    def body(self, body: Any, span: Span) -> tuple[dict[str, Any], Span]:
        values: dict[str, Any] = {}
        spans: dict[str, Span] = {}
        block_lists: set[str] = set()
        span.children = spans
        for child in body.children:
            if _is(child, "AttributeRule"):
                name = str(child.identifier.serialize(self.options))
                value, value_span = self.expression(child.expression)
                attribute_span = _span(child)
                attribute_span.children = value_span.children
                if name in spans:
                    self.duplicates.append((name, attribute_span.line, spans[name].line))
                if value is None:  # `x = null` means unset in Terraform
                    values.pop(name, None)
                    spans[name] = attribute_span
                    continue
                values[name] = value
                spans[name] = attribute_span
            elif _is(child, "BlockRule"):
                labels = [_label(label) for label in child.labels]
                block_span = _span(child)
                if labels[0] == "dynamic" and len(labels) > 1:
                    name, value = labels[1], self.dynamic(child, block_span)
                else:
                    name = labels[0]
                    value, block_span = self.body(child.body, block_span)
                    for label in reversed(labels[1:]):  # `provisioner "x" {}`: {x: {...}}
                        value = {label: value}
                        block_span = _wrap(block_span, {label: block_span})
                if name not in block_lists:
                    block_lists.add(name)
                    values[name], spans[name] = [], _wrap(block_span, [])
                values[name].append(value)
                children = spans[name].children
                assert isinstance(children, list)
                children.append(block_span)
        return values, span

    def dynamic(self, block: Any, span: Span) -> dict[str, Any]:
        """The `content` of a dynamic block, located at the dynamic block."""
        for child in block.body.children:
            if _is(child, "BlockRule") and _label(child.labels[0]) == "content":
                value, content_span = self.body(child.body, _span(child))
                span.children = content_span.children
                return value
        span.children = {}
        return {}

    def expression(self, node: Any) -> tuple[Any, Span]:
        span = _span(node)
        inner = node
        while _is(inner, "ExprTermRule") and not inner.parentheses:
            inner = inner.expression
        if _is(inner, "TupleRule"):
            items, spans = [], []
            for element in inner.elements:
                value, element_span = self.expression(element)
                items.append(value)
                spans.append(element_span)
            span.children = spans
            return items, span
        if _is(inner, "ObjectRule"):
            mapping: dict[str, Any] = {}
            key_spans: dict[str, Span] = {}
            for element in inner.elements:
                key = str(element.key.serialize(self.options))
                value, value_span = self.expression(element.expression)
                element_span = _span(element)
                element_span.children = value_span.children
                mapping[key] = value
                key_spans[key] = element_span
            span.children = key_spans
            return mapping, span
        if _is(inner, "FunctionCallRule") and _function_name(inner) == "jsonencode":
            arguments = _arguments(inner)
            if len(arguments) == 1:
                argument = arguments[0]
                while _is(argument, "ExprTermRule") and not argument.parentheses:
                    argument = argument.expression
                if _is(argument, "TupleRule") or _is(argument, "ObjectRule"):
                    value, inner_span = self.expression(arguments[0])
                    span.children = inner_span.children
                    return value, span
        if _is(inner, "HeredocTrimTemplateRule"):
            return _trim_heredoc(str(inner.heredoc.value)), span
        return node.serialize(self.options), span


def _trim_heredoc(token: str) -> str:
    """`<<-EOT` text with its common indentation removed (the library escapes quotes here)."""
    match = re.match(r"<<-([A-Za-z][\w.-]*)\r?\n(.*)", token, re.S)
    if match is None:
        return token
    lines = match.group(2).rstrip().split("\n")
    if lines and lines[-1].strip() == match.group(1):
        lines = lines[:-1]
    lines = [line.rstrip("\r") for line in lines]
    indent = min((len(line) - len(line.lstrip(" ")) for line in lines if line.strip()), default=0)
    return "\n".join(line[indent:] for line in lines)


def _function_name(node: Any) -> str:
    names = [child for child in node.children if _is(child, "IdentifierRule")]
    return "::".join(str(name.serialize()) for name in names)


def _arguments(node: Any) -> list[Any]:
    for child in node.children:
        if _is(child, "ArgumentsRule"):
            return list(child.arguments)
    return []
