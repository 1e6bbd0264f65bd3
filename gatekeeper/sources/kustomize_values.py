"""Objects as `kubectl kustomize` prints them, built from their YAML nodes.

Kustomize reads resources with go-yaml v3 (YAML 1.2: `yes` is a string, `0o17` a number),
prints every object through JSON (a float that is whole becomes an integer) and go-yaml v2,
whose mapping keys come out in its own natural order (`a2` before `a10`). We read that output
back with PyYAML (YAML 1.1). `canonical` builds, from the nodes of a source document, the
object that round trip yields, and raises Unsupported wherever we are not sure of it: an
explicit tag, a merge key, a value no JSON holds, a float whose printed form PyYAML would
read as a string.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from functools import cmp_to_key
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gatekeeper import lazy_re
from gatekeeper.yamldoc import _LOADER


class Unsupported(Exception):
    """The in-process build cannot be sure of its result: kubectl builds it instead."""


class Fails(Unsupported):
    """kustomize certainly rejects the build (kubectl would fail it too). Its message is
    kubectl's where we can say it (see message), else kubectl is asked for it."""

    def message(self, copied: frozenset[str]) -> str | None:
        """kubectl's error output, tmp folder aside, for a build handed the files `copied`;
        None when we cannot say it."""
        return None


_TAG = "tag:yaml.org,2002:"
_STR = _TAG + "str"
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
# go-yaml v2's booleans that PyYAML (YAML 1.1 too) reads as strings.
_V2_ONLY_BOOLS = frozenset({"y", "Y", "n", "N"})
# go-yaml v3's numbers (underscores removed first): Go's ParseInt with base 0, and its float.
_INT = lazy_re.compile(r"([-+]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)")
_FLOAT = lazy_re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_SPECIAL_FLOATS = frozenset(
    {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF"}
    | {".nan", ".NaN", ".NAN"}
)
_resolver = _LOADER("")
_RFC3339 = lazy_re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


NULL_ITEM = "a null list item"  # kustomize rejects one in a resource


def canonical(node: Node, timestamps: bool = False, null_items: bool = True) -> Any:
    """The value of `node` as the build prints it (keys in go-yaml v2's order).
    `timestamps`: a plain UTC timestamp in RFC 3339 form (`2019-03-20T17:54:53Z`) is the
    string kustomize prints for it (so it prints those of a strategic-merge patch).
    `null_items` False: a null item in any list raises Unsupported (kustomize rejects it in
    a resource), found here rather than by another walk of the object."""
    if isinstance(node, ScalarNode):
        if timestamps and node.tag == _TAG + "timestamp" and _RFC3339.fullmatch(node.value):
            return node.value
        return _known_scalar(node)
    if isinstance(node, SequenceNode):
        items = [canonical(item, timestamps, null_items) for item in node.value]
        if not null_items and None in items:
            raise Unsupported(NULL_ITEM)
        return items
    if isinstance(node, MappingNode):
        pairs: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = _known_scalar(key_node) if isinstance(key_node, ScalarNode) else None
            if not isinstance(key, str) or key in pairs:
                raise Unsupported("a mapping key that is not a string, or twice")
            pairs[key] = canonical(value_node, timestamps, null_items)
        keys = tuple(pairs)
        order = _ORDERS.get(keys)
        if order is None:
            order = in_key_order(keys)
            if len(_ORDERS) >= _MEMO_LIMIT:
                _ORDERS.clear()
            _ORDERS[keys] = order
        return {key: pairs[key] for key in order}
    raise Unsupported("an unknown node")


# A scalar's value depends on its tag, text and style (plain, quoted, literal, folded), and
# a mapping's key order on its keys: most of them recur (keys, `true`, `TCP`, image names),
# so each is worked out once per process (a resolver call and regular expressions per node
# were most of a build's cost). Short texts only, and a bounded number: memory stays small.
_MEMO_LIMIT = 16384
_MEMO_TEXT = 64
_SCALARS: dict[tuple[str, str, str], Any] = {}
_REFUSED: dict[tuple[str, str, str], str] = {}
_ORDERS: dict[tuple[str, ...], list[str]] = {}
_NOT_KNOWN = object()


def _known_scalar(node: ScalarNode) -> Any:
    """_scalar(node), remembered for short texts."""
    text = node.value
    if len(text) > _MEMO_TEXT:
        return _scalar(node)
    key = (node.tag, text, node.style or "")  # (a folded text may be refused: _scalar)
    value = _SCALARS.get(key, _NOT_KNOWN)
    if value is not _NOT_KNOWN:
        return value
    refused = _REFUSED.get(key)
    if refused is not None:
        raise Unsupported(refused)
    if len(_SCALARS) + len(_REFUSED) >= _MEMO_LIMIT:
        _SCALARS.clear()
        _REFUSED.clear()
    try:
        value = _SCALARS[key] = _scalar(node)
    except Unsupported as error:
        _REFUSED[key] = str(error)
        raise
    return value


def canonical_patch(node: Node) -> Any:
    """A patch's value: kustomize reads YAML patch text with go-yaml v2 (YAML 1.1), where
    `yes` and `on` are booleans and `0o17` a string; such values go to kubectl."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ScalarNode):
            text = current.value.lower().lstrip("+-")
            doubtful = (
                current.tag in (_TAG + "bool", _TAG + "timestamp")
                or text.startswith("0o")
                or current.value in _V2_ONLY_BOOLS
            )
            if not current.style and doubtful and current.value not in _TRUE | _FALSE:
                raise Unsupported("a patch value go-yaml v2 and v3 read differently")
        elif isinstance(current, SequenceNode):
            stack.extend(current.value)
        elif isinstance(current, MappingNode):
            stack.extend(item for pair in current.value for item in pair)
    return canonical(node)


def first_merge_key(node: Node) -> Node | None:
    """The first YAML merge key (`<<`) in a document. go-yaml v2, which reads kustomization
    files, applies merges in document order (a merge after a key overrides it) where YAML
    and PyYAML let the written key win."""
    stack = [node]
    while stack:
        current = stack.pop(0)
        if isinstance(current, SequenceNode):
            stack.extend(current.value)
        elif isinstance(current, MappingNode):
            for key, value in current.value:
                if key.tag == _TAG + "merge":
                    found: Node = key
                    return found
                stack.extend((key, value))
    return None


def check_kustomization_values(node: Node) -> None:
    """Kustomize reads its kustomization file with go-yaml v2 (through JSON): a plain value
    that PyYAML reads as a string but v2 as a number or boolean (`0o17`, `1e3`, `08`, `y`),
    or the reverse (`1:20`), makes kubectl fail where we would build; such a kustomization
    goes to kubectl."""
    if first_merge_key(node) is not None:
        raise Unsupported("a merge key in a kustomization (go-yaml v2 merges otherwise)")
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ScalarNode):
            if current.style:
                continue
            text = current.value
            if current.tag in (_TAG + "int", _TAG + "float") and ":" in text:
                raise Unsupported("a sexagesimal number (a string to go-yaml v2)")
            if current.tag != _STR:
                continue
            plain = text.replace("_", "")
            number = text[:1] in "-+.0123456789" and (
                _INT.fullmatch(plain) is not None or _FLOAT.fullmatch(plain) is not None
            )
            if number or text in _V2_ONLY_BOOLS:
                raise Unsupported("a kustomization value go-yaml v2 reads as another type")
        elif isinstance(current, SequenceNode):
            stack.extend(current.value)
        elif isinstance(current, MappingNode):
            stack.extend(item for pair in current.value for item in pair)


def normalised(value: Any) -> Any:
    """A value after a JSON round trip and go-yaml v2's printing: keys in v2's order,
    whole floats as integers."""
    if isinstance(value, dict):
        return {key: normalised(value[key]) for key in in_key_order(value)}
    if isinstance(value, list):
        return [normalised(item) for item in value]
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        raise Unsupported("an integer JSON cannot hold exactly")
    return value


def copied(value: Any) -> Any:
    """A deep copy of a parsed object (mappings, lists, scalars): transformations copy
    the shared objects of the parse cache before they change one."""
    if isinstance(value, dict):
        return {key: copied(item) for key, item in value.items()}
    if isinstance(value, list):
        return [copied(item) for item in value]
    return value


def _scalar(node: ScalarNode) -> Any:
    text = node.value
    if node.style:  # quoted, literal or folded: a string, unless tagged otherwise
        if node.tag != _STR:
            raise Unsupported("an explicitly tagged value")
        if node.style == ">" and "\n " in text:
            # go-yaml v3 keeps one more line break before a more-indented line of a folded
            # scalar than YAML (and PyYAML) does: `exists(c,\n\n  c.image...` is what
            # kustomize prints (onedr0p/home-ops' MutatingAdmissionPolicy)
            raise Unsupported("a folded scalar with more-indented lines")
        return text
    if node.tag != _resolver.resolve(ScalarNode, text, (True, False)):  # type: ignore[no-untyped-call]
        raise Unsupported("an explicitly tagged value")
    if text in _NULLS:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if text in _SPECIAL_FLOATS or text == "<<":
        raise Unsupported("a value JSON cannot hold, or a merge key")
    if text[:1] in "-+.0123456789":
        plain = text.replace("_", "")
        number = _INT.fullmatch(plain)
        if number is not None:
            return _integer(number.group(1), number.group(2))
        if _FLOAT.fullmatch(plain):
            return _number(float(plain))
    if node.tag in (_STR, _TAG + "bool"):
        return text  # v3: `yes` and `on` are strings
    # A timestamp comes out in RFC 3339 (`2020-01-01T00:00:00Z`): left to kubectl.
    raise Unsupported(f"a value PyYAML reads as {node.tag}")


def _integer(sign: str, digits: str) -> int:
    base = {"x": 16, "o": 8, "b": 2}.get(digits[1:2].lower(), 8 if digits[:1] == "0" else 10)
    body = digits[2:] if base != 10 and digits[1:2].isalpha() else digits
    value = int(body or "0", base) * (-1 if sign == "-" else 1)
    if not -(2**63) <= value < 2**63:
        raise Unsupported("an integer beyond 64 bits")
    if abs(value) > 2**53:
        raise Unsupported("an integer JSON cannot hold exactly")
    return value


def _number(value: float) -> int | float:
    """A float as JSON and go-yaml v2 print it, read back by PyYAML."""
    if not math.isfinite(value):
        raise Unsupported("a value JSON cannot hold")
    if value.is_integer() and abs(value) < 1e21:
        return int(value)
    if abs(value) < 1e-4:  # printed as `1e-05`, which PyYAML reads as a string
        raise Unsupported("a float printed in exponent form")
    return value


def _compare(a: str, b: str) -> int:
    """go-yaml v2's key order for strings: letters by code point, digit runs by value."""
    for i in range(min(len(a), len(b))):
        ca, cb = a[i], b[i]
        if ca == cb:
            continue
        al, bl = ca.isalpha(), cb.isalpha()
        if al and bl:
            return -1 if ca < cb else 1
        if al or bl:
            return 1 if al else -1
        an = bn = 0
        if ca == "0" or cb == "0":
            j = i - 1
            while j >= 0 and a[j].isdecimal():
                if a[j] != "0":
                    an = bn = 1
                    break
                j -= 1
        ai = i
        while ai < len(a) and a[ai].isdecimal():
            an = an * 10 + ord(a[ai]) - 48
            ai += 1
        bi = i
        while bi < len(b) and b[bi].isdecimal():
            bn = bn * 10 + ord(b[bi]) - 48
            bi += 1
        if an != bn:
            return -1 if an < bn else 1
        if ai != bi:
            return -1 if ai < bi else 1
        return -1 if ca < cb else 1
    return (len(a) > len(b)) - (len(a) < len(b))


_KEY_ORDER = cmp_to_key(_compare)
# Keys of ASCII letters and of characters below `A` that are no digits: _compare then orders
# them by code point (a letter is after anything else, digit runs do not arise), as sorted()
# does without a comparison in Python per pair (most keys of a manifest: `metadata`,
# `app.kubernetes.io/name`).
_CODE_POINT_ORDERED = lazy_re.compile(r"[\x00-\x2f\x3a-\x5a\x61-\x7a]*")


def in_key_order(keys: Iterable[Any]) -> list[Any]:
    """`keys` in go-yaml v2's order (see _compare)."""
    keys = list(keys)
    match = _CODE_POINT_ORDERED.fullmatch
    if all(isinstance(key, str) and match(key) for key in keys):
        return sorted(keys)
    return sorted(keys, key=_KEY_ORDER)
