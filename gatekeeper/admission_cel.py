"""The CEL environment of Kubernetes admission: ValidatingAdmissionPolicy expressions.

The variables the API server gives (`object`, `oldObject`, `request`, `params`,
`namespaceObject`, `variables`) and the Kubernetes CEL libraries that offline evaluation can
honour: quantity, URL, IP and CIDR, lists (`isSorted`, `sum`, `min`, `max`), regex (`find`,
`findAll`), sets, plus the strings, optional and bindings extensions (the strings extension
owns `indexOf`, so the list forms of `indexOf`/`lastIndexOf` are not available). Quantities,
URLs, IPs and CIDRs travel as tagged strings (`q:1073741824`, `ip:10.0.0.1`) so that equal
values compare equal; their methods take those strings. `authorizer` needs the cluster:
expressions that read it are refused before evaluation.
"""

from __future__ import annotations

import functools
import ipaddress
import itertools
import re
from fractions import Fraction
from typing import Any
from urllib.parse import urlsplit

from cel_expr_python import cel

from gatekeeper.policy import cel as policy_cel

VARIABLES = ("object", "oldObject", "request", "params", "namespaceObject", "variables")
# Needs the cluster: never given a value (see Expression.needs_cluster).
CLUSTER_VARIABLES = ("authorizer",)

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 1000),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$")


def parse_quantity(text: str) -> Fraction | None:
    match = _QUANTITY.match(text.strip())
    if match is None:
        return None
    number, suffix = Fraction(match.group(1)), match.group(2) or ""
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix[:1] in ("e", "E"):
        return number * Fraction(10) ** int(suffix[1:])
    return number * _DECIMAL[suffix]


def _q(value: Fraction) -> str:
    return (
        f"q:{value.numerator}"
        if value.denominator == 1
        else f"q:{value.numerator}/{value.denominator}"
    )


def _value(text: str) -> Fraction:
    if text.startswith("q:"):
        return Fraction(text[2:])
    parsed = parse_quantity(text)
    if parsed is None:
        raise ValueError(f"invalid quantity {text!r}")
    return parsed


def _quantity(text: str) -> str:
    return _q(_value(text))


def _compare(a: str, b: str) -> int:
    x, y = _value(a), _value(b)
    return (x > y) - (x < y)


def _ip(text: str) -> str:
    address = ipaddress.ip_address(text.removeprefix("ip:"))
    return f"ip:{address}"


def _cidr(text: str) -> str:
    network = ipaddress.ip_interface(text.removeprefix("cidr:"))
    return f"cidr:{network.with_prefixlen}"


def _address(text: str) -> Any:
    return ipaddress.ip_address(text.removeprefix("ip:"))


def _interface(text: str) -> Any:
    return ipaddress.ip_interface(text.removeprefix("cidr:"))


def _ok(parse: Any, text: str) -> bool:
    try:
        parse(text)
    except ValueError:
        return False
    return True


def _url(text: str) -> str:
    if not _is_url(text):
        raise ValueError(f"invalid URL {text!r}")
    return f"url:{text}"


def _is_url(text: str) -> bool:
    parts = urlsplit(text.removeprefix("url:"))
    return bool(parts.scheme) or text.startswith("/")


def _split(text: str) -> Any:
    return urlsplit(text.removeprefix("url:"))


def _sorted(items: list[Any]) -> bool:
    return all(a <= b for a, b in itertools.pairwise(items))


def _declarations() -> list[Any]:
    s, i, b, d, dyn = cel.Type.STRING, cel.Type.INT, cel.Type.BOOL, cel.Type.DOUBLE, cel.Type.DYN
    dyn_list = cel.Type.List(dyn)

    def member(name: str, result: Any, args: list[Any], impl: Any, receiver: str = "s") -> Any:
        return cel.FunctionDecl(
            name,
            [cel.Overload(f"k8s_{receiver}_{name}", result, args, is_member=True, impl=impl)],
        )

    def function(name: str, result: Any, args: list[Any], impl: Any) -> Any:
        return cel.FunctionDecl(name, [cel.Overload(f"k8s_{name}", result, args, impl=impl)])

    found = [
        function("quantity", s, [s], _quantity),
        function("isQuantity", b, [s], lambda t: parse_quantity(t) is not None),
        member("isLessThan", b, [s, s], lambda a, c: _compare(a, c) < 0),
        member("isGreaterThan", b, [s, s], lambda a, c: _compare(a, c) > 0),
        member("compareTo", i, [s, s], _compare),
        member("asInteger", i, [s], lambda a: int(_value(a))),
        member("isInteger", b, [s], lambda a: _value(a).denominator == 1),
        member("asApproximateFloat", d, [s], lambda a: float(_value(a))),
        member("sign", i, [s], lambda a: (_value(a) > 0) - (_value(a) < 0)),
        member("add", s, [s, s], lambda a, c: _q(_value(a) + _value(c))),
        member("sub", s, [s, s], lambda a, c: _q(_value(a) - _value(c))),
        function("url", s, [s], _url),
        function("isURL", b, [s], _is_url),
        member("getScheme", s, [s], lambda u: _split(u).scheme),
        member("getHost", s, [s], lambda u: _split(u).netloc.rsplit("@", 1)[-1]),
        member("getHostname", s, [s], lambda u: _split(u).hostname or ""),
        member("getPort", s, [s], lambda u: str(_split(u).port or "")),
        member("getEscapedPath", s, [s], lambda u: _split(u).path),
        function("ip", s, [s], _ip),
        function("isIP", b, [s], lambda t: _ok(ipaddress.ip_address, t)),
        function("cidr", s, [s], _cidr),
        function("isCIDR", b, [s], lambda t: "/" in t and _ok(ipaddress.ip_interface, t)),
        member("family", i, [s], lambda a: _address(a).version),
        member("isLoopback", b, [s], lambda a: _address(a).is_loopback),
        member("isUnspecified", b, [s], lambda a: _address(a).is_unspecified),
        member("isGlobalUnicast", b, [s], lambda a: _address(a).is_global),
        member("containsIP", b, [s, s], lambda c, a: _address(a) in _interface(c).network),
        member(
            "containsCIDR",
            b,
            [s, s],
            lambda c, o: _interface(o).network.subnet_of(_interface(c).network),
        ),
        member("prefixLength", i, [s], lambda c: _interface(c).network.prefixlen),
        member("isSorted", b, [dyn_list], _sorted, "list"),
        member("sum", dyn, [dyn_list], lambda items: sum(items), "list"),
        member("min", dyn, [dyn_list], lambda items: min(items), "list"),
        member("max", dyn, [dyn_list], lambda items: max(items), "list"),
    ]
    return found + policy_cel._declarations()


@functools.cache
def environment() -> Any:
    return cel.NewEnv(
        variables={name: cel.Type.DYN for name in (*VARIABLES, *CLUSTER_VARIABLES)},
        extensions=policy_cel.extensions(),
        functions=_declarations(),
    )


class AdmissionError(ValueError):
    pass


class Expression:
    """A compiled admission expression."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.needs_cluster = re.search(r"(?<![\w.])authorizer(?!\w)", source) is not None
        if self.needs_cluster:  # its library (`authorizer.group(...).check(...)`) is not here
            self._compiled = None
            return
        try:
            self._compiled = environment().compile(source)
        except RuntimeError as error:
            raise AdmissionError(_clean(str(error))) from None

    def evaluate(self, data: dict[str, Any]) -> Any:
        if self._compiled is None:
            raise AdmissionError("reads `authorizer`, which needs the cluster")
        try:
            value = self._compiled.eval(data=data)
        except (RuntimeError, ValueError, TypeError, ZeroDivisionError) as error:
            raise AdmissionError(_clean(str(error))) from None
        if value.type() == cel.Type.ERROR:
            raise AdmissionError(_clean(str(value.value())))
        return value.plain_value()


def _clean(message: str) -> str:
    message = re.sub(r"^[A-Z_]+: ", "", message.strip())
    return re.sub(r" \[[A-Z_]+\]$", "", message).replace("ERROR: <input>:", "at ")
