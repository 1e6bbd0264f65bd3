"""JSON Schema validation of YAML settings files, reported at the line at fault."""

from __future__ import annotations

import re
from typing import Any

from gatekeeper.errors import PolicyError, UsageError
from gatekeeper.fieldpath import Path
from gatekeeper.policy.hints import did_you_mean
from gatekeeper.yamldoc import NodeLocator


def validate(
    obj: Any,
    schema: dict[str, Any],
    file: str,
    locator: NodeLocator,
    error_type: type[UsageError] = PolicyError,
    at: Path = (),
) -> None:
    """Schema-validate `obj` (found at `at` in the file), reporting the most relevant error
    at its line; an unknown key is reported at the key itself, with a did-you-mean."""
    import jsonschema
    from referencing.exceptions import Unresolvable

    validator = jsonschema.Draft202012Validator(schema)
    try:
        error = jsonschema.exceptions.best_match(validator.iter_errors(obj))
    except Unresolvable as unresolvable:  # a $ref to outside the schema: nothing is fetched
        where = ".".join(str(key) for key in at) or "(top level)"
        raise error_type(
            f"{where}: the schema's reference {unresolvable.ref!r} cannot be resolved",
            file,
            locator.locate(at).line,
        ) from None
    if error is None:
        return
    path: Path = (*at, *error.absolute_path)
    message = error.message
    unknown = _unknown_key(error)
    if unknown is not None:
        known = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        path = (*path, unknown)
        message = f"unknown key {unknown!r}{did_you_mean(unknown, known)}"
    where = ".".join(str(key) for key in path) or "(top level)"
    raise error_type(f"{where}: {message}", file, locator.locate(path).line)


def _unknown_key(error: Any) -> str | None:
    """The first key (in file order) an `additionalProperties: false` error is about."""
    if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
        return None
    schema = error.schema if isinstance(error.schema, dict) else {}
    known = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    for key in error.instance:
        if key not in known and not any(re.search(p, str(key)) for p in patterns):
            return str(key)
    return None
