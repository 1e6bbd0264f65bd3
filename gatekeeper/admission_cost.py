"""The API server's CEL cost limits for admission expressions, estimated offline.

The API server charges each expression as cel-go runs it (about one unit per variable or field
read and per function call; a macro per element it visits; list membership per element) and
stops an expression past 1,000,000 units, and one policy evaluation (a binding with one
parameter object) past 10,000,000 in all (2,500,000 for its matchConditions); the error then
follows `failurePolicy`. cel-expr-python tracks no cost (and stops any evaluation past 10,000
macro iterations, which the API server does not), so the cost is estimated here from the
expression's structure and the sizes of the lists and maps it walks in the data at hand:
both branches of `&&`, `||` and `?:` counted and macros walked to the end (an upper bound of
what short-circuits), string functions at one unit (a lower bound of their per-character
cost). Only collections the estimate can reach through field paths are sized; one built by a
function is counted as one unit.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from gatekeeper import lazy_re

PER_EXPRESSION = 1_000_000
PER_EVALUATION = 10_000_000
PER_MATCH_CONDITIONS = 2_500_000
MACROS = frozenset(
    {"all", "exists", "exists_one", "map", "filter", "transformList", "transformMap"}
)

# a string literal: raw or bytes prefixes, triple quotes, escapes
STRING = (
    r"[rRbB]{0,2}(?:"
    + "|".join(
        (r"\'\'\'[\s\S]*?\'\'\'", r'"""[\s\S]*?"""', r"'(?:\\.|[^'\\\n])*'", r'"(?:\\.|[^"\\\n])*"')
    )
    + ")"
)
_NUMBER = "|".join(
    (
        r"0[xX][0-9a-fA-F]+[uU]?",
        r"\d+\.\d*(?:[eE][+-]?\d+)?",
        r"\.\d+(?:[eE][+-]?\d+)?",
        r"\d+[eE][+-]?\d+",
        r"\d+[uU]?",
    )
)
_TOKEN = lazy_re.compile(
    rf"(?P<space>\s+|//[^\n]*)|(?P<string>{STRING})|(?P<number>{_NUMBER})"
    r"|(?P<ident>[_a-zA-Z][_a-zA-Z0-9]*)"
    r"|(?P<op>\.\?|\[\?|==|!=|<=|>=|&&|\|\||[-+*/%!<>?:.,()\[\]{}])"
)
_BINARY = [("||",), ("&&",), ("==", "!=", "<", "<=", ">", ">=", "in"), ("+", "-"), ("*", "/", "%")]


class CostError(ValueError):
    """The expression cannot be estimated (it does not parse here)."""


@dataclass
class Node:
    kind: str  # lit ident select index call list map unary binary cond
    name: str = ""  # identifier, field, function or operator
    children: list[Node] = field(default_factory=list)
    member: bool = False  # a call on a receiver (children[0])


def tokens(source: str) -> list[tuple[str, str]]:
    """(kind, text) of each token of `source`, spaces and comments (kind "space") kept."""
    found: list[tuple[str, str]] = []
    position = 0
    while position < len(source):
        match = _TOKEN.match(source, position)
        if match is None:
            raise CostError(f"unexpected {source[position]!r}")
        position = match.end()
        found.append((match.lastgroup or "", match.group()))
    return found


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens = [token for token in tokens(source) if token[0] != "space"]
        self.at = 0

    def peek(self) -> str:
        return self.tokens[self.at][1] if self.at < len(self.tokens) else ""

    def take(self, expected: str = "") -> tuple[str, str]:
        if self.at >= len(self.tokens) or (expected and self.peek() != expected):
            raise CostError(f"expected {expected or 'more'}")
        self.at += 1
        return self.tokens[self.at - 1]

    def parse(self) -> Node:
        node = self.expression()
        if self.at != len(self.tokens):
            raise CostError(f"unexpected {self.peek()!r}")
        return node

    def expression(self) -> Node:
        condition = self.binary(0)
        if self.peek() != "?":
            return condition
        self.take("?")
        then = self.expression()
        self.take(":")
        return Node("cond", "?:", [condition, then, self.expression()])

    def binary(self, level: int) -> Node:
        if level == len(_BINARY):
            return self.unary()
        node = self.binary(level + 1)
        while self.peek() in _BINARY[level] and self.tokens[self.at][0] in ("op", "ident"):
            operator = self.take()[1]
            node = Node("binary", operator, [node, self.binary(level + 1)])
        return node

    def unary(self) -> Node:
        operators = []
        while self.peek() in ("!", "-"):
            operators.append(self.take()[1])
        node = self.postfix(self.primary())
        for operator in reversed(operators):
            node = Node("unary", operator, [node])
        return node

    def postfix(self, node: Node) -> Node:
        while self.peek() in (".", ".?", "[", "[?"):
            token = self.take()[1]
            if token in ("[", "[?"):
                node = Node("index", token, [node, self.expression()])
                self.take("]")
                continue
            name = self.take()[1]
            if token == "." and self.peek() == "(":
                node = Node("call", name, [node, *self.arguments(")")], member=True)
            else:
                node = Node("select", name, [node])
        return node

    def arguments(self, closing: str) -> list[Node]:
        self.take()
        found: list[Node] = []
        while self.peek() != closing:
            found.append(self.expression())
            if self.peek() == ":":  # a map entry: key, value
                self.take(":")
                found.append(self.expression())
            if self.peek() != ",":
                break
            self.take(",")
        self.take(closing)
        return found

    def primary(self) -> Node:
        kind, text = self.take()
        if text == "(":
            node = self.expression()
            self.take(")")
            return node
        if text == "[":
            self.at -= 1
            return Node("list", "", self.arguments("]"))
        if text == "{":
            self.at -= 1
            return Node("map", "", self.arguments("}"))
        if text == ".":  # a leading dot: the root namespace
            kind, text = self.take()
        if kind == "ident" and text not in ("true", "false", "null"):
            name = text
            while self.peek() == "." and self._namespaced(name):  # sets.contains, format.uri
                self.take(".")
                name += "." + self.take()[1]
            if self.peek() == "(":
                return Node("call", name, self.arguments(")"))
            if self.peek() == "{":  # a message literal
                return Node("map", name, self.arguments("}"))
            return Node("ident", name)
        if kind in ("string", "number", "ident"):
            return Node("lit", text)
        raise CostError(f"unexpected {text!r}")

    def _namespaced(self, name: str) -> bool:
        following = self.tokens[self.at + 2][1] if self.at + 2 < len(self.tokens) else ""
        return name in ("sets", "format", "optional", "cel", "math", "strings", "base64") and (
            following == "("
        )


def parse(source: str) -> Node:
    try:
        return _Parser(source).parse()
    except RecursionError:  # nested deeper than cel-cpp allows anyway
        raise CostError("nested too deeply") from None


class _Over(Exception):
    pass


_UNKNOWN = object()


class _Estimate:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.cost = 0

    def add(self, units: int) -> None:
        self.cost += units
        if self.cost > self.limit:
            raise _Over

    def walk(self, node: Node, scope: dict[str, Any]) -> Any:
        """Charge `node` and return its value when a field path gives it (else _UNKNOWN)."""
        kind = node.kind
        if kind == "lit":
            return _UNKNOWN
        if kind == "ident":
            self.add(1)
            return scope.get(node.name, _UNKNOWN)
        if kind in ("select", "index"):
            base = self.walk(node.children[0], scope)
            key: Any = node.name
            if kind == "index":
                index = node.children[1]
                key = _literal(index) if index.kind == "lit" else self.walk(index, scope)
            self.add(1)
            return _get(base, key)
        if kind == "call" and node.member and node.name in MACROS and len(node.children) >= 3:
            return self._macro(node, scope)
        if kind == "call" and node.name == "cel.bind" and len(node.children) == 3:
            name, value, body = node.children
            self.add(1)
            return self.walk(body, {**scope, name.name: self.walk(value, scope)})
        if kind == "binary" and node.name == "in":
            self.walk(node.children[0], scope)
            container = self.walk(node.children[1], scope)
            self.add(1 + (len(container) if isinstance(container, list) else 0))
            return _UNKNOWN
        for child in node.children:
            self.walk(child, scope)
        if kind in ("call", "binary", "unary"):
            self.add(1)
        return _UNKNOWN

    def _macro(self, node: Node, scope: dict[str, Any]) -> Any:
        target = self.walk(node.children[0], scope)
        names = _variables(node)
        self.add(1)
        if isinstance(target, dict):
            elements: list[tuple[Any, ...]] = [(k, v) for k, v in target.items()]
        elif isinstance(target, list):
            elements = [(i, v) for i, v in enumerate(target)]
        else:
            return _UNKNOWN
        for index, value in elements:
            bound = dict(scope)
            if len(names) == 1:
                bound[names[0]] = index if isinstance(target, dict) else value
            else:
                bound[names[0]], bound[names[-1]] = index, value
            self.add(2)  # the loop's condition and step
            for child in node.children[len(names) + 1 :]:
                self.walk(child, bound)
        return [_UNKNOWN] * len(elements) if node.name in ("map", "filter") else _UNKNOWN


def _variables(node: Node) -> list[str]:
    """The iteration variables a macro call declares (one, or index and value)."""
    arguments = node.children[1:]
    if node.name in ("transformList", "transformMap"):
        count = 2
    elif node.name == "map":  # map(x, t) or map(x, p, t): one
        count = 1
    else:  # all(x, p), all(i, v, p) ...
        count = len(arguments) - 1
    return [child.name for child in arguments[:count]]


def _literal(node: Node) -> Any:
    text = node.name
    if text.isdigit():
        return int(text)
    if text[:1] in ("'", '"'):
        return text[1:-1]
    return _UNKNOWN


def _get(base: Any, key: Any) -> Any:
    if isinstance(base, dict) and isinstance(key, str | int | float | bool):
        return base.get(key, _UNKNOWN)
    if isinstance(base, list) and isinstance(key, int) and 0 <= key < len(base):
        return base[key]
    return _UNKNOWN


def estimate(tree: Node, data: dict[str, Any], limit: int = PER_EXPRESSION) -> int:
    """The estimated cost of an expression on `data`; past `limit`, a value above it."""
    estimator = _Estimate(limit)
    with contextlib.suppress(_Over, RecursionError):  # too deep: what was counted so far
        estimator.walk(tree, dict(data))
    return estimator.cost


def might_be_costly(tree: Node) -> bool:
    """Does the expression walk a collection (a macro or list membership)? Only those can
    reach the limits; the rest cost their size, a few units."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if (node.kind == "call" and node.member and node.name in MACROS) or node.name == "in":
            return True
        stack.extend(node.children)
    return False


# List-building functions: from a string, a list as long as the string; flatten and range,
# lists of any length (no ceiling without walking the data).
_FROM_STRINGS = frozenset({"split", "findAll"})
_UNBOUNDED = frozenset({"flatten", "lists.range", "range", "sortBy"})


@dataclass(frozen=True)
class Shape:
    """What bounds an expression's cost whatever the data: its size, how deeply it nests
    walks of collections, and how it builds lists."""

    nodes: int
    depth: int  # nested macros and list memberships
    joins: int  # `+` operations (a list joined from several)
    literal: int  # the longest list or map written in the expression
    from_strings: bool
    unbounded: bool


def shape(tree: Node) -> Shape:
    nodes = depth = joins = literal = 0
    from_strings = unbounded = False
    stack = [(tree, 0)]
    while stack:
        node, level = stack.pop()
        nodes += 1
        walks = (node.kind == "call" and node.member and node.name in MACROS) or (
            node.kind == "binary" and node.name == "in"
        )
        level += walks
        depth = max(depth, level)
        joins += node.kind == "binary" and node.name == "+"
        if node.kind in ("list", "map"):
            literal = max(literal, len(node.children))
        from_strings |= node.kind == "call" and node.name in _FROM_STRINGS
        unbounded |= node.kind == "call" and node.name in _UNBOUNDED
        stack.extend((child, level) for child in node.children)
    return Shape(nodes, depth, joins, literal, from_strings, unbounded)


def ceiling(form: Shape, longest_list: int, longest_string: int) -> int | None:
    """An upper bound of `estimate` from the longest list (or map) and string of the data;
    None when the expression can build lists of any length."""
    if form.unbounded:
        return None
    size = max(longest_list, form.literal)
    if form.from_strings:
        size = max(size, longest_string + 1)
    size *= 1 + form.joins
    return int(form.nodes * (size + 3) ** form.depth)


def sizes(*values: Any) -> tuple[int, int]:
    """The longest list or map, and the longest string, anywhere in `values`."""
    longest_list = longest_string = 0
    stack = list(values)
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            longest_list = max(longest_list, len(value))
            stack.extend(value.values())
        elif isinstance(value, list):
            longest_list = max(longest_list, len(value))
            stack.extend(value)
        elif isinstance(value, str):
            longest_string = max(longest_string, len(value))
    return longest_list, longest_string
