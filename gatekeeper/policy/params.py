"""Policy parameters: every policy has a JSON Schema for them, checked wherever values are set.

A policy declares `paramsSchema`; one that does not gets a schema inferred from its defaults
(each default's type, no other key), so a misspelt key or a value of the wrong type in
`.gatekeeper.yml` is a configuration error at its line, not a silent no-op or a blocking
evaluation error on every scanned file.
"""

from __future__ import annotations

from typing import Any

from gatekeeper.errors import PolicyError
from gatekeeper.fieldpath import Path
from gatekeeper.yamldoc import NodeLocator

_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),  # before int: a bool is an int to Python
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
    (dict, "object"),
)


def params_schema(raw: dict[str, Any]) -> dict[str, Any]:
    """The policy's declared `paramsSchema`, or one inferred from its `params` defaults."""
    declared = raw.get("paramsSchema")
    if isinstance(declared, dict):
        return declared
    defaults = raw.get("params", {})
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {key: _inferred(value) for key, value in defaults.items()},
    }


def _inferred(value: Any) -> dict[str, Any]:
    for python_type, name in _TYPES:
        if isinstance(value, python_type):
            schema: dict[str, Any] = {"type": name}
            if isinstance(value, list) and value:
                items = [_inferred(item) for item in value]
                if all(item == items[0] for item in items):
                    schema["items"] = items[0]
            return schema
    return {}


def check_schema(schema: dict[str, Any], file: str, locator: NodeLocator) -> None:
    """A `paramsSchema` must itself be a valid JSON Schema."""
    import jsonschema

    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as error:
        path: Path = ("paramsSchema", *error.absolute_path)
        where = ".".join(map(str, path))
        raise PolicyError(
            f"{where}: not a valid JSON Schema: {error.message}", file, locator.locate(path).line
        ) from None
    for path, ref in _refs(schema, ("paramsSchema",)):
        if not ref.startswith("#"):
            raise PolicyError(
                f"{'.'.join(map(str, path))}: only references inside the schema (#/...) are"
                " allowed: nothing is fetched",
                file,
                locator.locate(path).line,
            )


def _refs(value: Any, path: Path) -> list[tuple[Path, str]]:
    """Every `$ref` in a schema, with its path."""
    found: list[tuple[Path, str]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str):
                found.append(((*path, key), item))
            else:
                found.extend(_refs(item, (*path, str(key))))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_refs(item, (*path, index)))
    return found
