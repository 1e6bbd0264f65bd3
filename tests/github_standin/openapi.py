"""GitHub's REST OpenAPI description (npm package @octokit/openapi), and request validation.

The 13 MB description is fetched once with `npm pack` into a cache directory outside the repo
(`GATEKEEPER_TEST_CACHE`, default ~/.cache/gatekeeper-tests) and never committed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PACKAGE = "@octokit/openapi"
VERSION = "23.0.2"
MEMBER = "package/generated/api.github.com.json"


def cache_dir() -> Path:
    root = os.environ.get("GATEKEEPER_TEST_CACHE") or Path.home() / ".cache" / "gatekeeper-tests"
    return Path(root)


def description_path() -> Path:
    """The description's JSON file, fetched from the npm registry the first time.

    Test processes running at once (pytest-xdist) may all fetch it on a fresh machine: each
    packs into a folder of its own and renames its copy into place (atomic, same content)."""
    target = cache_dir() / f"octokit-openapi-{VERSION}" / "api.github.com.json"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix="fetch-") as scratch:
        subprocess.run(
            ["npm", "pack", f"{PACKAGE}@{VERSION}", "--pack-destination", scratch],
            check=True,
            capture_output=True,
            timeout=600,
        )
        (tarball,) = Path(scratch).glob("octokit-openapi-*.tgz")
        with tarfile.open(tarball) as archive:
            source = archive.extractfile(MEMBER)
            assert source is not None, MEMBER
            partial = Path(scratch) / "api.github.com.json"
            partial.write_bytes(source.read())
        os.replace(partial, target)
    return target


def _nullable_to_type(node: Any) -> Any:
    """OpenAPI 3.0 `nullable: true` -> JSON Schema `type: [..., "null"]`, recursively."""
    if isinstance(node, dict):
        out = {key: _nullable_to_type(value) for key, value in node.items()}
        if out.pop("nullable", False) is True:
            if isinstance(out.get("type"), str):
                out["type"] = [out["type"], "null"]
            elif "enum" in out and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        return out
    if isinstance(node, list):
        return [_nullable_to_type(item) for item in node]
    return node


@dataclass
class Operation:
    method: str
    template: str
    pattern: re.Pattern[str]
    spec: dict[str, Any]
    pointer: str  # JSON pointer to the operation, for $ref-based validation


class Description:
    """Find an operation for (method, path) and validate a JSON body against it."""

    def __init__(self, path: Path) -> None:
        from jsonschema.validators import Draft7Validator
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT7

        self.document: dict[str, Any] = _nullable_to_type(json.loads(path.read_bytes()))
        self.registry = Registry().with_resource(
            "urn:github", Resource.from_contents(self.document, default_specification=DRAFT7)
        )
        self._validator = Draft7Validator
        self.operations: list[Operation] = []
        for template, item in self.document["paths"].items():
            regex = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
            for method, operation in item.items():
                if method in ("get", "post", "patch", "put", "delete"):
                    pointer = "/paths/" + _escape_pointer(template) + "/" + method
                    self.operations.append(
                        Operation(method.upper(), template, re.compile(regex), operation, pointer)
                    )
        # Literal segments beat parameters: `/issues/comments/{id}` before `/issues/{n}/...`.
        self.operations.sort(key=lambda op: op.template.count("{"))

    def operation(self, method: str, path: str) -> Operation | None:
        for operation in self.operations:
            if operation.method == method and operation.pattern.match(path):
                return operation
        return None

    def body_errors(self, operation: Operation, body: Any) -> list[str]:
        request = operation.spec.get("requestBody")
        if request is None:
            return [] if body is None else ["this operation takes no request body"]
        pointer = operation.pointer + "/requestBody"
        if "$ref" in request:
            pointer = request["$ref"].lstrip("#")
            request = self._resolve(request["$ref"])
        if "application/json" not in request.get("content", {}):
            return ["no JSON request body defined"]
        if body is None:
            return ["a request body is required"] if request.get("required") else []
        return self._json_errors(pointer, body)

    def response_errors(self, method: str, path: str, status: int, body: Any) -> list[str]:
        """How an answer differs from what GitHub documents for it (keeps the stand-in's
        made-up objects shaped like GitHub's: required fields, types, enums)."""
        operation = self.operation(method, path)
        if operation is None:
            return [f"{method} {path}: no such operation"]
        response = operation.spec.get("responses", {}).get(str(status))
        if response is None:
            return [f"{method} {operation.template}: GitHub documents no {status} answer"]
        pointer = f"{operation.pointer}/responses/{status}"
        if "$ref" in response:
            pointer = response["$ref"].lstrip("#")
            response = self._resolve(response["$ref"])
        if "application/json" not in response.get("content", {}):
            return []
        return self._json_errors(pointer, body)

    def _json_errors(self, pointer: str, body: Any) -> list[str]:
        """Errors of `body` against the JSON schema of the content object at `pointer`."""
        schema = {
            "$ref": "urn:github#"
            + pointer
            + "/content/"
            + _escape_pointer("application/json")
            + "/schema"
        }
        validator = self._validator(schema, registry=self.registry)
        return [
            f"{'/'.join(map(str, error.absolute_path)) or '(body)'}: {error.message}"
            for error in validator.iter_errors(body)
        ]

    def _resolve(self, ref: str) -> dict[str, Any]:
        node: Any = self.document
        for part in ref.lstrip("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        assert isinstance(node, dict)
        return node


def _escape_pointer(text: str) -> str:
    return text.replace("~", "~0").replace("/", "~1")
