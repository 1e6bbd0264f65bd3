"""Parses of `.tf` text kept between runs: a hook on one file of a module reads them all.

A `.tf` file is judged with its module (locals, variables, overrides of the directory), so a
pre-commit run on one changed file parses every file beside it, and python-hcl2 (Lark, pure
Python) parses about 200 KB a second: most of a Terraform hook. A parse is a function of the
text, of the code that turns it into blocks (gatekeeper.hcl, terraform.py's error messages,
this codec) and of the parser's versions, so its result is kept under a digest of all of
them (gatekeeper.cache.Entries): an edit, another gatekeeper or another python-hcl2 is a
miss, never a stale parse.

The value is JSON: plain values as they are; a tuple, a dict holding the key "@", and each
of gatekeeper.hcl's dataclasses tagged (`{"@": "Span", "v": [fields...]}`). Decoding accepts
only those classes with their exact field counts; anything else is a miss.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from pathlib import Path
from typing import Any

from gatekeeper import hcl
from gatekeeper.cache import Entries, installed
from gatekeeper.hcl import HclError, Parsed

_NAME = "terraform-parses-v1"
_TUPLE, _DICT, _TAG = "T", "D", "@"
_CLASSES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in vars(hcl).values()
    if isinstance(cls, type) and dataclasses.is_dataclass(cls) and cls.__module__ == hcl.__name__
}
_FIELDS = {name: len(dataclasses.fields(cls)) for name, cls in _CLASSES.items()}


class _Unknown(ValueError):
    """A value the codec does not write or read: not cached."""


@functools.cache
def _code_digest() -> str | None:
    """Our parsing code and the installed python-hcl2 and Lark (their RECORDs: every file's
    sha256; found, not imported: a cached parse needs neither loaded). None when they cannot
    be found: nothing is cached then."""
    from gatekeeper.sources import terraform

    digest = hashlib.sha256()
    for module in (hcl, terraform):
        digest.update(Path(str(module.__file__)).read_bytes())
    digest.update(Path(__file__).read_bytes())
    for package, distribution in (("hcl2", "python_hcl2"), ("lark", "lark")):
        record = installed(package, distribution)
        if record is None:
            return None
        digest.update(b"\0" + record)
    return digest.hexdigest()


def _key(text: str) -> str | None:
    code = _code_digest()
    if code is None:
        return None
    digest = hashlib.sha256(code.encode() + b"\0")
    digest.update(text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def load(text: str) -> tuple[Parsed | None, HclError | None] | None:
    """The parse of `text` kept before, or None."""
    key = _key(text)
    if key is None:
        return None
    try:
        found = Entries(_NAME).get(key, object_hook=_decoded)
    except (_Unknown, TypeError):
        return None
    if isinstance(found, dict) and set(found) == {"parsed"}:
        parsed = found["parsed"]
        if isinstance(parsed, Parsed):
            return parsed, None
    if isinstance(found, dict) and set(found) == {"error"}:
        error = found["error"]
        if isinstance(error, list) and len(error) == 3:
            message, line, column = error
            if isinstance(message, str) and type(line) is int and type(column) is int:
                return None, HclError(message, line, column)
    return None


def store(text: str, parsed: Parsed | None, error: HclError | None) -> None:
    """Keep the parse of `text` (a parse or its error)."""
    try:
        if parsed is not None:
            value: dict[str, Any] = {"parsed": encode(parsed)}
        elif error is not None:
            value = {"error": [str(error), error.line, error.column]}
        else:
            return
    except (_Unknown, RecursionError):
        return
    key = _key(text)
    if key is not None:
        Entries(_NAME).put(key, value)


def encode(value: Any) -> Any:
    """`value` as JSON can hold it exactly."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [encode(item) for item in value]
    if isinstance(value, tuple):
        return {_TAG: _TUPLE, "v": [encode(item) for item in value]}
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise _Unknown("a key that is not a string")
        if _TAG in value:  # as pairs: the key would read as a tag
            return {_TAG: _DICT, "v": [[key, encode(item)] for key, item in value.items()]}
        return {key: encode(item) for key, item in value.items()}
    name = type(value).__name__
    if _CLASSES.get(name) is type(value):
        fields = [encode(getattr(value, field.name)) for field in dataclasses.fields(value)]
        return {_TAG: name, "v": fields}
    raise _Unknown(f"a {name}")


def _decoded(value: dict[str, Any]) -> Any:
    """One JSON object of what `encode` wrote, back (json.loads' object_hook: inner values
    are decoded first)."""
    if _TAG not in value:
        return value
    tag, items = value[_TAG], value.get("v")
    if len(value) != 2 or not isinstance(items, list):
        raise _Unknown("a tagged value that is not a tag and a list")
    if tag == _TUPLE:
        return tuple(items)
    if tag == _DICT:
        if not all(isinstance(pair, list) and len(pair) == 2 for pair in items):
            raise _Unknown("a dict that is not pairs")
        return dict(items)
    if not isinstance(tag, str) or _FIELDS.get(tag) != len(items):
        raise _Unknown(f"an unknown tag {tag!r}")
    return _CLASSES[tag](*items)


def decode(text: str | bytes) -> Any:
    """What `encode` wrote, back from its JSON text."""
    return json.loads(text, object_hook=_decoded)
