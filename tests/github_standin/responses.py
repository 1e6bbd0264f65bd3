"""Check a stand-in answer against the response schema GitHub's description gives for it, so
the stand-in's made-up objects stay shaped like GitHub's (required fields, types, enums)."""

from __future__ import annotations

from typing import Any

from tests.github_standin.openapi import Description, _escape_pointer


def response_errors(
    description: Description, method: str, path: str, status: int, body: Any
) -> list[str]:
    operation = description.operation(method, path)
    if operation is None:
        return [f"{method} {path}: no such operation"]
    response = operation.spec.get("responses", {}).get(str(status))
    if response is None:
        return [f"{method} {operation.template}: GitHub documents no {status} answer"]
    pointer = f"{operation.pointer}/responses/{status}"
    if "$ref" in response:
        pointer = response["$ref"].lstrip("#")
        response = description._resolve(response["$ref"])
    if "application/json" not in response.get("content", {}):
        return []
    schema = {
        "$ref": "urn:github#"
        + pointer
        + "/content/"
        + _escape_pointer("application/json")
        + "/schema"
    }
    validator = description._validator(schema, registry=description.registry)
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(body)'}: {error.message}"
        for error in validator.iter_errors(body)
    ]
