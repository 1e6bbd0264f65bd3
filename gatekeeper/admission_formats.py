"""The Kubernetes CEL `format` and `semver` libraries, as plain functions.

`format.<name>().validate(s)` checks a string the way the API server validates names, labels,
URIs and dates (k8s.io/apimachinery validation): the errors it would give, none when valid.
`semver(s)` parses Semantic Versioning 2.0.0 strictly (no `v`, no leading zeros), or with
`normalize` as Kubernetes does (`v1.2` -> `1.2.0`). Values travel as tagged strings
(`format:dns1123Label`, `semver:1.2.3`) like the other Kubernetes types of admission_cel.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import re
import uuid
from collections.abc import Callable
from urllib.parse import urlsplit

from gatekeeper import lazy_re

_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN = rf"{_LABEL}(\.{_LABEL})*"
_DNS1035 = "[a-z]([-a-z0-9]*[a-z0-9])?"
_NAME = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE = f"({_NAME})?"


def _pattern(regex: str, what: str, example: str, limit: int) -> Callable[[str], list[str]]:
    compiled = re.compile(f"^(?:{regex})$")

    def check(text: str) -> list[str]:
        errors = []
        if len(text) > limit:
            errors.append(f"must be no more than {limit} characters")
        if not compiled.match(text):
            errors.append(f"{what} (e.g. {example}, regex used for validation is '{regex}')")
        return errors

    return check


_dns1123_label = _pattern(
    _LABEL,
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character",
    "'my-name', or '123-abc'",
    63,
)
_dns1123_subdomain = _pattern(
    _SUBDOMAIN,
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character",
    "'example.com'",
    253,
)
_dns1035_label = _pattern(
    _DNS1035,
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "
    "an alphabetic character, and end with an alphanumeric character",
    "'my-name', or 'abc-123'",
    63,
)
_label_value = _pattern(
    _LABEL_VALUE,
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
    "or '.', and must start and end with an alphanumeric character",
    "'MyValue', or 'my_value', or '12345'",
    63,
)
_name_part = _pattern(
    _NAME,
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
    "end with an alphanumeric character",
    "'MyName', or 'my.name', or '123-abc'",
    63,
)


def _qualified_name(text: str) -> list[str]:
    parts = text.split("/")
    if len(parts) > 2:
        return [
            "a qualified name must be at most one '/' between an optional DNS subdomain "
            "prefix and a name"
        ]
    name, errors = parts[-1], []
    if len(parts) == 2:
        if not parts[0]:
            errors.append("prefix part must be non-empty")
        errors += [f"prefix part {error}" for error in _dns1123_subdomain(parts[0]) if parts[0]]
    if not name:
        return [*errors, "name part must be non-empty"]
    return errors + _name_part(name)


def _prefix(check: Callable[[str], list[str]]) -> Callable[[str], list[str]]:
    """A generateName prefix: it may end in '-' (a suffix follows)."""
    return lambda text: check(text[:-1] + "a" if text.endswith("-") else text)


def _uri(text: str) -> list[str]:
    # as Go's url.ParseRequestURI: absolute, or an absolute path
    parts = urlsplit(text)
    if (parts.scheme and (parts.netloc or parts.path or parts.query)) or text.startswith("/"):
        return []
    return [f'parse "{text}": invalid URI for request']


def _uuid(text: str) -> list[str]:
    try:
        uuid.UUID(text)
    except ValueError:
        return [f"invalid UUID {text!r}"]
    return []


def _byte(text: str) -> list[str]:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return ["invalid base64"]
    return []


_DATE = lazy_re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_DATETIME = lazy_re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:?\d{2})?$"
)


def _real_date(text: str) -> bool:
    match = _DATE.match(text)
    if match is None:
        return False
    try:
        datetime.date(*(int(part) for part in match.groups()))
    except ValueError:
        return False
    return True


def _date(text: str) -> list[str]:
    return [] if _real_date(text) else [f"invalid date {text!r} (want YYYY-MM-DD)"]


def _datetime(text: str) -> list[str]:
    match = _DATETIME.match(text)
    if match and _real_date(match.group(1)):
        hour, minute, second = (int(part or 0) for part in match.group(2, 3, 4))
        if hour < 24 and minute < 60 and second < 61:
            return []
    return [f"invalid date-time {text!r} (want RFC 3339)"]


FORMATS: dict[str, Callable[[str], list[str]]] = {
    "dns1123Label": _dns1123_label,
    "dns1123Subdomain": _dns1123_subdomain,
    "dns1035Label": _dns1035_label,
    "qualifiedName": _qualified_name,
    "dns1123LabelPrefix": _prefix(_dns1123_label),
    "dns1123SubdomainPrefix": _prefix(_dns1123_subdomain),
    "dns1035LabelPrefix": _prefix(_dns1035_label),
    "labelValue": _label_value,
    "uri": _uri,
    "uuid": _uuid,
    "byte": _byte,
    "date": _date,
    "datetime": _datetime,
}


def named(name: str) -> str:
    """`format.named(name)`'s value; "" (none) for a format Kubernetes does not have."""
    return f"format:{name}" if name in FORMATS else ""


def validate(format_value: str, text: str) -> list[str]:
    """The errors of `text` in the format (none: valid)."""
    name = format_value.removeprefix("format:")
    if not format_value.startswith("format:") or name not in FORMATS:
        raise ValueError(f"not a format: {format_value!r}")
    return FORMATS[name](text)


# --- semver ------------------------------------------------------------------------------

_NUMBER = r"(0|[1-9]\d*)"
_IDENTIFIER = r"(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)"
_SEMVER = lazy_re.compile(
    rf"^{_NUMBER}\.{_NUMBER}\.{_NUMBER}"
    rf"(?:-({_IDENTIFIER}(?:\.{_IDENTIFIER})*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)
_LOOSE = lazy_re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?([-+].*)?$")


def parse_semver(text: str, normalize: bool = False) -> str:
    """The tagged semver of `text`; ValueError when it is not one."""
    if normalize:  # as Kubernetes: a leading v, missing minor/patch, leading zeros
        loose = _LOOSE.match(text)
        if loose:
            numbers = [str(int(part or 0)) for part in loose.group(1, 2, 3)]
            text = ".".join(numbers) + (loose.group(4) or "")
    if not _SEMVER.match(text):
        raise ValueError(f"invalid semver {text!r}")
    return f"semver:{text}"


def is_semver(text: str, normalize: bool = False) -> bool:
    try:
        parse_semver(text, normalize)
    except ValueError:
        return False
    return True


def _parts(value: str) -> tuple[int, int, int, list[str]]:
    match = _SEMVER.match(value.removeprefix("semver:"))
    if not value.startswith("semver:") or match is None:
        raise ValueError(f"not a semver: {value!r}")
    major, minor, patch, pre = match.group(1, 2, 3, 4)
    return int(major), int(minor), int(patch), pre.split(".") if pre else []


def component(value: str, index: int) -> int:
    """major (0), minor (1) or patch (2)."""
    major, minor, patch, _ = _parts(value)
    return (major, minor, patch)[index]


def compare_semver(a: str, b: str) -> int:
    """Semantic Versioning precedence: build metadata ignored, a pre-release sorts first."""
    x, y = _parts(a), _parts(b)
    if x[:3] != y[:3]:
        return -1 if x[:3] < y[:3] else 1
    if not x[3] or not y[3]:
        return (len(y[3]) > 0) - (len(x[3]) > 0) if x[3] != y[3] else 0
    for p, q in zip(x[3], y[3], strict=False):
        if p == q:
            continue
        if p.isdigit() and q.isdigit():
            return -1 if int(p) < int(q) else 1
        if p.isdigit() != q.isdigit():
            return -1 if p.isdigit() else 1
        return -1 if p < q else 1
    return (len(x[3]) > len(y[3])) - (len(x[3]) < len(y[3]))
