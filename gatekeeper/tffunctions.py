"""Terraform's pure built-in functions over plain data (gatekeeper.tfeval calls them).

Every function Terraform computes from its arguments alone is computed here too: a value
the evaluator leaves unknown passes every rule, so `block_public_policy = yamldecode("false")`
or `publicly_accessible = base64decode("dHJ1ZQ==")` would have been a way around them.
What only apply time knows (files, clocks, random values) is APPLY_TIME; a name in neither
is reported where it is called (gatekeeper.sources.terraform: GK-TF-UNEVALUATED).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import ipaddress
import json
import math
import re
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import yaml

from gatekeeper import lazy_re

# Known only when Terraform runs: what files hold, the clock, random values, the machine.
APPLY_TIME = frozenset(
    {
        "file",
        "fileexists",
        "fileset",
        "filebase64",
        "filebase64sha256",
        "filebase64sha512",
        "filemd5",
        "filesha1",
        "filesha256",
        "filesha512",
        "templatefile",
        "timestamp",
        "plantimestamp",
        "uuid",
        "bcrypt",
        "abspath",
        "pathexpand",
        "ephemeral",
        # Time arithmetic: pure, but its input is the clock (`timeadd(timestamp(), "1h")`).
        "formatdate",
        "timeadd",
        "timecmp",
    }
)


def _text(data: Any) -> str:
    if isinstance(data, bool):
        return "true" if data else "false"
    if isinstance(data, float) and data.is_integer():
        return str(int(data))
    if isinstance(data, (int, float, str)):
        return str(data)
    raise ValueError(f"{type(data).__name__} is not a string")


def _number(data: Any) -> int | float:
    if isinstance(data, bool) or not isinstance(data, (int, float, str)):
        raise ValueError("not a number")
    number = float(data) if isinstance(data, str) else data
    return int(number) if float(number).is_integer() and abs(number) < 2**53 else number


def _list(data: Any) -> list[Any]:
    if not isinstance(data, list):
        raise ValueError(f"{type(data).__name__} is not a list")
    return data


def _yaml_decode(text: Any) -> Any:
    """YAML as Terraform reads it (YAML 1.2's core schema: `yes` and `on` are strings)."""
    try:
        return yaml.load(_text(text), Loader=_CoreLoader)
    except yaml.YAMLError as error:
        raise ValueError(str(error)) from None


class _CoreLoader(yaml.SafeLoader):
    pass


_CoreLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _first in "tTfF":
    _CoreLoader.add_implicit_resolver(
        "tag:yaml.org,2002:bool",
        lazy_re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
        [_first],
    )


def _yaml_encode(data: Any) -> str:
    return yaml.safe_dump(data, default_flow_style=False, sort_keys=True)


def _base64_decode(text: Any) -> str:
    return base64.b64decode(_text(text), validate=True).decode("utf-8")


def _text_decode_base64(text: Any, encoding: Any) -> str:
    return base64.b64decode(_text(text), validate=True).decode(_codec(encoding))


def _text_encode_base64(text: Any, encoding: Any) -> str:
    return base64.b64encode(_text(text).encode(_codec(encoding))).decode("ascii")


def _codec(name: Any) -> str:
    return {"UTF-16LE": "utf-16-le", "UTF-16BE": "utf-16-be"}.get(_text(name), _text(name))


def _regex_value(match: re.Match[str]) -> Any:
    """What Terraform's regex returns for a match: the text, or its groups (named: a map)."""
    if match.re.groupindex:
        return {name: match.group(name) for name in match.re.groupindex}
    if match.re.groups:
        return list(match.groups())
    return match.group(0)


# A quantified group that is itself quantified (`(a+)+`): Python's backtracking takes
# exponential time on it where Terraform's RE2 is linear; left unknown rather than run.
_NESTED_QUANTIFIER = lazy_re.compile(r"[*+}]\)[*+{?]")


def compiled(pattern: Any) -> re.Pattern[str]:
    """A Terraform (RE2) pattern as Python reads it the same way: ASCII classes (RE2's `\\d`,
    `\\w`, `\\s`, `\\b` are ASCII-only), `$` as the end of the text (RE2 without `(?m)`; Python's
    also matches before a final newline). What does not translate is not evaluated (red team
    r01: `length(regexall("^on$", "on\\n")) == 0` was false here and true in Terraform)."""
    text = _text(pattern)
    if _NESTED_QUANTIFIER.search(text):
        raise ValueError("nested quantifiers are not evaluated")
    if not text.isascii() or re.search(r"\\[zZ]|\(\?[a-zA-Z]*m|\[\^?\]", text):
        raise ValueError("pattern syntax is not evaluated")
    out, escaped, in_class = [], False, False
    for char in text:
        if escaped:
            out.append(
                {"s": "[\\t\\n\\f\\r ]", "S": "[^\\t\\n\\f\\r ]"}.get(char, "\\" + char)
                if not in_class
                else ("\\t\\n\\f\\r " if char == "s" else "\\" + char)
            )
            if in_class and char == "S":
                raise ValueError("pattern syntax is not evaluated")
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "[" and not in_class:
            in_class = True
            out.append(char)
        elif char == "]" and in_class:
            in_class = False
            out.append(char)
        elif char == "$" and not in_class:
            out.append(r"\Z")
        else:
            out.append(char)
    try:
        return re.compile("".join(out), re.ASCII)
    except re.error as error:
        raise ValueError(str(error)) from None


def ascii_text(data: Any, function: str) -> str:
    """`data` as text, where Terraform's Unicode rules (grapheme clusters, Go's case mapping
    and spaces) and Python's agree: ASCII; other text is not evaluated."""
    text = _text(data)
    if not text.isascii():
        raise ValueError(f"{function} of non-ASCII text follows Terraform's Unicode rules")
    return text


def _regex(pattern: Any, text: Any) -> Any:
    match = compiled(pattern).search(ascii_text(text, "regex"))
    if match is None:
        raise ValueError("pattern did not match")
    return _regex_value(match)


def _regexall(pattern: Any, text: Any) -> list[Any]:
    return [
        _regex_value(match) for match in compiled(pattern).finditer(ascii_text(text, "regexall"))
    ]


def _chomp(text: Any) -> str:
    return re.sub(r"(?:\r\n|\n|\r)+$", "", _text(text))


def _trim(text: Any, characters: Any) -> str:
    return _text(text).strip(_text(characters))


def _title(text: Any) -> str:
    """Go's strings.Title: a letter after anything but a letter, digit or `_` is upper."""
    return re.sub(
        r"(?<![A-Za-z0-9_])[a-z]", lambda letter: letter.group().upper(), ascii_text(text, "title")
    )


def _indent(spaces: Any, text: Any) -> str:
    return _text(text).replace("\n", "\n" + " " * int(_number(spaces)))


def _index(items: Any, value: Any) -> int:
    return _list(items).index(value)


def _unique(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if item not in out:
            out.append(item)
    return sorted(out, key=json.dumps) if all(isinstance(i, str) for i in out) else out


def _set_union(*sets: Any) -> list[Any]:
    return _unique([item for items in sets for item in _list(items)])


def _set_intersection(first: Any, *rest: Any) -> list[Any]:
    return _unique([item for item in _list(first) if all(item in _list(r) for r in rest)])


def _set_subtract(first: Any, second: Any) -> list[Any]:
    return _unique([item for item in _list(first) if item not in _list(second)])


def _set_product(*sets: Any) -> list[list[Any]]:
    out: list[list[Any]] = [[]]
    for items in sets:
        out = [[*prefix, item] for prefix in out for item in _list(items)]
    return out


def _chunklist(items: Any, size: Any) -> list[list[Any]]:
    data, step = _list(items), int(_number(size))
    if step <= 0:
        return [data]
    return [data[start : start + step] for start in range(0, len(data), step)]


def _transpose(mapping: Any) -> dict[str, list[str]]:
    if not isinstance(mapping, dict):
        raise ValueError("not a map")
    out: dict[str, list[str]] = {}
    for key in sorted(mapping):
        for item in _list(mapping[key]):
            out.setdefault(_text(item), []).append(key)
    return {key: sorted(values) for key, values in sorted(out.items())}


def _matchkeys(values: Any, keys: Any, searches: Any) -> list[Any]:
    wanted = _list(searches)
    return [v for v, k in zip(_list(values), _list(keys), strict=True) if k in wanted]


def _parseint(text: Any, base: Any) -> int:
    """Go's big.Int SetString: digits of the base only (no `0x` prefix, `_` or spaces)."""
    digits = _text(text)
    if not re.fullmatch(r"-?[0-9A-Za-z]+", digits) or (
        digits.lstrip("-")[1:2] in ("x", "X", "o", "O", "b", "B") and digits.lstrip("-")[:1] == "0"
    ):
        raise ValueError(f"parseint: {digits!r} is not evaluated")
    return int(digits, int(_number(base)))


def _hash(algorithm: str, b64: bool = False) -> Callable[[Any], str]:
    def digest(text: Any) -> str:
        hashed = hashlib.new(algorithm, _text(text).encode("utf-8"))
        return base64.b64encode(hashed.digest()).decode("ascii") if b64 else hashed.hexdigest()

    return digest


def _csvdecode(text: Any) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(_text(text))))


def _cidrhost(prefix: Any, number: Any) -> str:
    network = ipaddress.ip_network(_text(prefix), strict=False)
    host = int(_number(number))
    base = network.network_address if host >= 0 else network.broadcast_address + 1
    return str(base + host)


def _cidrnetmask(prefix: Any) -> str:
    return str(ipaddress.IPv4Network(_text(prefix), strict=False).netmask)


def _cidrsubnets(prefix: Any, *bits: Any) -> list[str]:
    network = ipaddress.ip_network(_text(prefix), strict=False)
    out, start = [], int(network.network_address)
    for extra in bits:
        length = network.prefixlen + int(_number(extra))
        size = 2 ** (network.max_prefixlen - length)
        start = (start + size - 1) // size * size
        out.append(str(ipaddress.ip_network((start, length))))
        start += size
    return out


def _formatlist(template: Any, *lists: Any) -> list[str]:
    lengths = {len(item) for item in lists if isinstance(item, list)}
    if len(lengths) > 1:
        raise ValueError("lists of different lengths")
    count = lengths.pop() if lengths else 1
    rows = [[item[i] if isinstance(item, list) else item for item in lists] for i in range(count)]
    verbs = re.compile(r"%(?:[-+ #0]*\d*(?:\.\d+)?)([vsdtfqe%])")
    return [_format_row(verbs, _text(template), iter(row)) for row in rows]


def _format_row(verbs: re.Pattern[str], template: str, values: Iterator[Any]) -> str:
    def one(match: re.Match[str]) -> str:
        if match.group(1) == "%":
            return "%"
        value = next(values)
        return json.dumps(_text(value)) if match.group(1) == "q" else _text(value)

    return verbs.sub(one, template)


def _uuidv5(namespace: Any, name: Any) -> str:
    spaces = {"dns": uuid.NAMESPACE_DNS, "url": uuid.NAMESPACE_URL, "oid": uuid.NAMESPACE_OID}
    spaces["x500"] = uuid.NAMESPACE_X500
    known = spaces.get(_text(namespace))
    return str(uuid.uuid5(known or uuid.UUID(_text(namespace)), _text(name)))


PURE: dict[str, Callable[..., Any]] = {
    "yamldecode": _yaml_decode,
    "yamlencode": _yaml_encode,
    "base64decode": _base64_decode,
    "base64encode": lambda text: base64.b64encode(_text(text).encode()).decode("ascii"),
    "textdecodebase64": _text_decode_base64,
    "textencodebase64": _text_encode_base64,
    "strcontains": lambda text, part: _text(part) in _text(text),
    "strrev": lambda text: _text(text)[::-1],
    "chomp": _chomp,
    "trim": _trim,
    "title": _title,
    "indent": _indent,
    "regex": _regex,
    "regexall": _regexall,
    "index": _index,
    "setunion": _set_union,
    "setintersection": _set_intersection,
    "setsubtract": _set_subtract,
    "setproduct": _set_product,
    "chunklist": _chunklist,
    "transpose": _transpose,
    "matchkeys": _matchkeys,
    "sort": lambda items: sorted(_text(item) for item in _list(items)),
    "parseint": _parseint,
    "pow": lambda base, power: _number(_number(base) ** _number(power)),
    "log": lambda number, base: math.log(_number(number), _number(base)),
    "signum": lambda number: (_number(number) > 0) - (_number(number) < 0),
    "md5": _hash("md5"),
    "sha1": _hash("sha1"),
    "sha256": _hash("sha256"),
    "sha512": _hash("sha512"),
    "base64sha256": _hash("sha256", b64=True),
    "base64sha512": _hash("sha512", b64=True),
    "urlencode": lambda text: urllib.parse.quote(_text(text), safe=""),
    "csvdecode": _csvdecode,
    "cidrhost": _cidrhost,
    "cidrnetmask": _cidrnetmask,
    "cidrsubnets": _cidrsubnets,
    "formatlist": _formatlist,
    "basename": lambda path: _text(path).rstrip("/").rsplit("/", 1)[-1],
    "dirname": lambda path: _text(path).rsplit("/", 1)[0] if "/" in _text(path) else ".",
    "uuidv5": _uuidv5,
    "issensitive": lambda value: False,
    "ephemeralasnull": lambda value: value,
}
