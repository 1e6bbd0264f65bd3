"""The CEL environment of Kubernetes admission: ValidatingAdmissionPolicy expressions.

The variables the API server gives (`object`, `oldObject`, `request`, `params`,
`namespaceObject`, `variables`) and the Kubernetes CEL libraries that offline evaluation can
honour: quantity, URL, IP and CIDR, lists (`isSorted`, `sum`, `min`, `max`, `indexOf`,
`lastIndexOf`), regex (`find`, `findAll`), sets, format and semver (gatekeeper.admission_formats),
plus the strings, optional and bindings extensions. Quantities, URLs, IPs, CIDRs, formats and
semvers travel as tagged strings (`q:1073741824`, `ip:10.0.0.1`, `semver:1.2.3`) so that equal
values compare equal; their methods take those strings. `authorizer` needs the cluster:
expressions that read it are refused before evaluation.

cel-cpp cannot declare a second `indexOf` beside the strings extension's, nor return an
optional from Python: an expression is rewritten before it compiles (outside its string
literals) so that `x.indexOf(y)` dispatches on the receiver's type at run time and
`format.named(n)` / `<format>.validate(s)` return optionals built in CEL.
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

from gatekeeper import admission_cost as cost
from gatekeeper import admission_formats as formats
from gatekeeper import lazy_re
from gatekeeper.admission_cost import CostError
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
_QUANTITY = lazy_re.compile(
    r"^([+-]?(?:\d+\.?\d*|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$"
)


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
    if a.startswith("semver:"):
        return formats.compare_semver(a, b)
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


def _index_of(text: str, part: str, offset: int = 0) -> int:
    if not 0 <= offset <= len(text):
        raise ValueError(f"index out of range: {offset}")
    return text.find(part, offset)


def _last_index_of(text: str, part: str, offset: int | None = None) -> int:
    if offset is None:
        return text.rfind(part)
    if not 0 <= offset <= len(text):
        raise ValueError(f"index out of range: {offset}")
    return text.rfind(part, 0, offset + len(part))


def _same(a: Any, b: Any) -> bool:
    """CEL equality: numbers across int and double, never a bool with a number."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def _list_index_of(items: list[Any], value: Any) -> int:
    return next((i for i, item in enumerate(items) if _same(item, value)), -1)


def _list_last_index_of(items: list[Any], value: Any) -> int:
    found = [i for i, item in enumerate(items) if _same(item, value)]
    return found[-1] if found else -1


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
        member("major", i, [s], lambda v: formats.component(v, 0)),
        member("minor", i, [s], lambda v: formats.component(v, 1)),
        member("patch", i, [s], lambda v: formats.component(v, 2)),
        function("format.gk_named", s, [s], formats.named),
        member("gk_validate", cel.Type.List(s), [s, s], formats.validate),
    ]
    found += [  # semver(s, normalize?) and isSemver(s, normalize?)
        cel.FunctionDecl(
            name,
            [
                cel.Overload(f"k8s_{name}", result, [s], impl=impl),
                cel.Overload(f"k8s_{name}_normalize", result, [s, b], impl=impl),
            ],
        )
        for name, result, impl in (
            ("semver", s, formats.parse_semver),
            ("isSemver", b, formats.is_semver),
        )
    ]
    found += [
        cel.FunctionDecl(
            f"format.{name}",
            [cel.Overload(f"k8s_format_{name}", s, [], impl=lambda n=name: f"format:{n}")],
        )
        for name in formats.FORMATS
    ]
    element_types = [
        s,
        i,
        d,
        b,
        cel.Type.UINT,
        cel.Type.BYTES,
        cel.Type.NULL,
        dyn_list,
        cel.Type.Map(dyn, dyn),
    ]
    for name, on_text, on_list in (
        ("indexOf", _index_of, _list_index_of),
        ("lastIndexOf", _last_index_of, _list_last_index_of),
    ):
        overloads = [
            cel.Overload(f"gk_{name}_string", i, [s, s], is_member=True, impl=on_text),
            cel.Overload(f"gk_{name}_string_int", i, [s, s, i], is_member=True, impl=on_text),
        ] + [  # one per element type: cel-cpp dispatches no `dyn` argument at run time
            cel.Overload(f"gk_{name}_list_{n}", i, [dyn_list, t], is_member=True, impl=on_list)
            for n, t in enumerate(element_types)
        ]
        found.append(cel.FunctionDecl(f"gk_{name}", overloads))
    return found + policy_cel._declarations()


@functools.cache
def environment(kyverno: bool = False) -> Any:
    """The API server's CEL; with `kyverno`, Kyverno's, which adds cel-go's bindings, math
    and encoders extensions (its ValidatingPolicies may call them)."""
    extensions = policy_cel.api_server_extensions()
    if kyverno:
        from cel_expr_python.ext import ext_bindings, ext_encoders, ext_math

        extensions += [ext_bindings.ExtBindings(), ext_math.ExtMath(), ext_encoders.ExtEncoders()]
    return cel.NewEnv(
        variables={name: cel.Type.DYN for name in (*VARIABLES, *CLUSTER_VARIABLES)},
        extensions=extensions,
        functions=_declarations(),
    )


class AdmissionError(ValueError):
    pass


class NotEvaluable(AdmissionError):
    """The API server could evaluate it, this environment cannot: never a pass nor a fail."""


class OverBudget(AdmissionError):
    """An evaluation of a policy spent its whole cost budget: no further expression runs."""


# cel-cpp's fixed limit of macro iterations per evaluation (the API server has none)
_ITERATIONS = "Iteration budget exceeded"


class Expression:
    """A compiled admission expression."""

    def __init__(self, source: str, kyverno: bool = False) -> None:
        """`kyverno`: a Kyverno ValidatingPolicy's (its CEL has more libraries)."""
        self.source = source
        self.kyverno = kyverno
        self.needs_cluster = re.search(r"(?<![\w.])authorizer(?!\w)", source) is not None
        self._tree: cost.Node | None = None
        self.costly = False
        self.shape: cost.Shape | None = None
        if self.needs_cluster:  # its library (`authorizer.group(...).check(...)`) is not here
            self._compiled = None
            return
        called = None if kyverno else lacking(source)
        if called is not None:
            raise AdmissionError(
                f"{called}: the API server's CEL has no such"
                " library (cel-go's bindings, math and encoders are not in Kubernetes' CEL"
                " environment): it would reject the policy; bind names with `variables`"
            )
        try:
            self._compiled = environment(kyverno).compile(rewrite(source))
        except RuntimeError as error:
            raise AdmissionError(_clean(str(_original_error(source, kyverno) or error))) from None
        try:
            self._tree = cost.parse(source)
        except CostError:  # a form the estimate does not know: charged as cheap
            self._tree = None
        mixed = _mixed_literal(self._tree) if self._tree is not None and not kyverno else ""
        if mixed:
            raise AdmissionError(
                f"{mixed}: the API server's CEL requires the elements of a list or map literal"
                " to be of one type (HomogeneousAggregateLiterals): wrap them in dyn()"
            )
        self.costly = self._tree is not None and cost.might_be_costly(self._tree)
        self.shape = cost.shape(self._tree) if self._tree is not None else None

    def cost(self, data: dict[str, Any], limit: int = cost.PER_EXPRESSION) -> int:
        """The estimated runtime cost on `data` (see gatekeeper.admission_cost)."""
        return cost.estimate(self._tree, data, limit) if self._tree is not None else 1

    def ceiling(self, longest_list: int, longest_string: int) -> int | None:
        """An upper bound of `cost` on data whose lists and strings are no longer."""
        if self.shape is None:
            return 1
        return cost.ceiling(self.shape, longest_list, longest_string)

    def evaluate(self, data: dict[str, Any]) -> Any:
        if self._compiled is None:
            raise NotEvaluable("it reads `authorizer`, which needs the cluster")
        try:
            value = self._compiled.eval(data=data)
        except (RuntimeError, ValueError, TypeError, ZeroDivisionError) as error:
            raise _error(str(error)) from None
        if value.type() == cel.Type.ERROR:
            raise _error(str(value.value()))
        return policy_cel.plain(value)


def _error(message: str) -> AdmissionError:
    if _ITERATIONS in message:
        return NotEvaluable(
            "it iterates more than the 10,000 times offline evaluation allows (the API "
            "server allows more, within its cost limit)"
        )
    return AdmissionError(_clean(message))


def _literal_type(node: cost.Node) -> str:
    """The type of a constant element of a literal ("" when it is computed: dyn, or null)."""
    if node.kind == "list" or (node.kind == "map" and not node.name):
        return node.kind
    if node.kind != "lit":
        return ""
    text = node.name
    if text in ("true", "false"):
        return "bool"
    if text[:1] in "'\"" or text[:2].lower() in ("r'", 'r"'):
        return "string"
    if text[:1].lower() == "b" or text[:2].lower() in ("rb", "br"):
        return "bytes"
    if text[:1].isdigit() or text[:1] == ".":
        if text[-1:] in "uU":
            return "uint"
        return "double" if any(c in text for c in ".eE") and not text.startswith("0x") else "int"
    return ""


def _mixed_literal(tree: cost.Node) -> str:
    """The first list or map literal of `tree` whose constant elements (or keys, or values)
    are of two types ("[1, 'a']": K8s compiles with cel.HomogeneousAggregateLiterals)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if node.kind in ("list", "map") and not node.name:
            children = node.children
            groups = [children] if node.kind == "list" else [children[0::2], children[1::2]]
            for group in groups:
                found = sorted({t for child in group if (t := _literal_type(child))})
                if len(found) > 1:
                    return f"a {node.kind} literal mixing {' and '.join(found)}"
        stack.extend(reversed(node.children))
    return ""


def _original_error(source: str, kyverno: bool) -> RuntimeError | None:
    """The error the expression as written gives (its columns are the author's)."""
    try:
        environment(kyverno).compile(source)
    except RuntimeError as error:
        return error
    return None


def _clean(message: str) -> str:
    message = re.sub(r"^[A-Z_]+: ", "", message.strip())
    return re.sub(r" \[[A-Z_]+\]$", "", message).replace("ERROR: <input>:", "at ")


# --- the rewrite before compiling ---------------------------------------------------------

_LITERAL = lazy_re.compile(cost.STRING)
# cel-go extensions the engine's policies may call and Kubernetes' CEL environment
# (k8s.io/apiserver/pkg/cel/environment, through 1.37) does not have.
_LACKING = lazy_re.compile(r"(?<![\w.])(?:cel\s*\.\s*bind|math\s*\.\s*\w+|base64\s*\.\s*\w+)\s*\(")


def lacking(source: str) -> str | None:
    """The first call of `source` (outside its strings) to what the API server's CEL does
    not have (`cel.bind`, `math.greatest`, `base64.decode`), None when there is none."""
    found = _first(_LACKING, source, _code_mask(source))
    return None if found is None else re.sub(r"[\s(]", "", found.group())


_RENAMED = lazy_re.compile(r"\.\s*(indexOf|lastIndexOf)\s*\(")
_VALIDATE = lazy_re.compile(r"\.\s*validate\s*\(")
_NAMED = lazy_re.compile(r"(?<![\w.])format\s*\.\s*named\s*\(")
_CLOSE = {")": "(", "]": "["}


def rewrite(source: str) -> str:
    """`source` with the list-or-string `indexOf`/`lastIndexOf` and the format library's
    optionals expressed in what the environment declares (see the module docstring)."""
    while True:
        code = _code_mask(source)
        match = _first(_RENAMED, source, code)
        if match is not None:
            name = match.group(1)
            start = match.start(1)
            source = source[:start] + "gk_" + name + source[start + len(name) :]
            continue
        match = _first(_NAMED, source, code)
        if match is not None:
            end = _call_end(source, match.end() - 1, code)
            inner = source[match.start() : end].replace("named", "gk_named", 1)
            source = f"{source[: match.start()]}optional.ofNonZeroValue({inner}){source[end:]}"
            continue
        match = _first(_VALIDATE, source, code)
        if match is None:
            return source
        start = _receiver_start(source, match.start(), code)
        end = _call_end(source, match.end() - 1, code)
        call = source[start:end]
        call = call[: match.start() - start] + ".gk_validate" + call[match.end() - 1 - start :]
        source = f"{source[:start]}optional.ofNonZeroValue({call}){source[end:]}"


def _code_mask(source: str) -> list[bool]:
    """For each character: is it code (not inside a string literal)?"""
    mask = [True] * len(source)
    for literal in _LITERAL.finditer(source):
        for index in range(literal.start(), literal.end()):
            mask[index] = False
    return mask


def _first(pattern: re.Pattern[str], source: str, code: list[bool]) -> re.Match[str] | None:
    return next((m for m in pattern.finditer(source) if code[m.start()]), None)


def _call_end(source: str, opening: int, code: list[bool]) -> int:
    """The index after the parenthesis that closes the one at `opening`."""
    depth = 0
    for index in range(opening, len(source)):
        if not code[index]:
            continue
        depth += source[index] in "([{"
        depth -= source[index] in ")]}"
        if depth == 0:
            return index + 1
    raise AdmissionError(f"unbalanced parentheses in {source!r}")


def _receiver_start(source: str, dot: int, code: list[bool]) -> int:
    """Where the operand a member call at `dot` is called on begins: identifiers, selections,
    calls and indexes back to the first character that cannot continue it."""
    index = dot
    while index > 0:
        previous = source[index - 1]
        if not code[index - 1]:  # a string literal receiver
            while index > 0 and not code[index - 1]:
                index -= 1
            continue
        if previous in _CLOSE:
            depth = 0
            for back in range(index - 1, -1, -1):
                if not code[back]:
                    continue
                depth += source[back] in ")]}"
                depth -= source[back] in "([{"
                if depth == 0:
                    index = back
                    break
            else:
                return 0
            continue
        inside = previous.isspace() and _continues(source, index)
        if previous.isalnum() or previous in "_.?" or inside:
            index -= 1
            continue
        break
    return index


def _continues(source: str, index: int) -> bool:
    """Does whitespace before `index` sit inside one operand (`a .b`), not between two?"""
    before = source[:index].rstrip()
    return bool(before) and (before[-1] == "." or source[index:].lstrip()[:1] == ".")


# What the API server's CEL environment gained, by the Kubernetes minor version that added it
# (k8s.io/apiserver pkg/cel/environment/base.go): an expression using a later library does
# not compile there, so a policy that uses it is rejected when applied.
LIBRARY_VERSIONS: tuple[tuple[int, str, re.Pattern[str]], ...] = (
    (28, "the quantity library", lazy_re.compile(r"(?<![\w.])(quantity|isQuantity)\(")),
    (
        28,
        "optional types",
        lazy_re.compile(r"\.\?|\[\?|(?<![\w.])optional\.|\.(orValue|hasValue|optMap|optFlatMap)\("),
    ),
    (
        29,
        "the sets extension",
        lazy_re.compile(r"(?<![\w.])sets\.(contains|equivalent|intersects)\("),
    ),
    (29, "strings extension version 2", lazy_re.compile(r"(?<![\w.])strings\.quote\(|\.format\(")),
    (30, "the ip and cidr libraries", lazy_re.compile(r"(?<![\w.])(ip|isIP|cidr|isCIDR)\(")),
    (31, "the format library", lazy_re.compile(r"(?<![\w.])format\.\w+\(")),
    (
        32,
        "two-variable comprehensions",
        lazy_re.compile(
            r"\.(all|exists|existsOne|exists_one)\(\s*[A-Za-z_]\w*\s*,\s*[A-Za-z_]\w*\s*,"
            r"|\.(transformList|transformMap|transformMapEntry)\("
        ),
    ),
    (33, "the semver library", lazy_re.compile(r"(?<![\w.])(semver|isSemver)\(")),
    (
        34,
        "the lists extension",
        lazy_re.compile(
            r"(?<![\w.])lists\.range\(|\.(slice|flatten|distinct|reverse|sort|sortBy)\("
        ),
    ),
)


def unavailable(source: str, kube_version: str) -> tuple[str, str] | None:
    """(what, the version that added it) for the first library `source` uses that the API
    server of `kube_version` ("1.30", "v1.30"; empty: the newest) does not have."""
    match = re.fullmatch(r"v?1\.(\d+)(?:\.\d+)?", kube_version.strip())
    if match is None:
        return None
    minor = int(match.group(1))
    code = _code_mask(source)
    for added, what, pattern in LIBRARY_VERSIONS:
        if minor < added and _first(pattern, source, code) is not None:
            return what, f"1.{added}"
    return None
