"""Docker Compose files (compose.yaml, docker-compose*.yml).

The document is the file as written (kind `Compose`, name = the file path), with one field
added per service: `environment_vars`, the `environment:` entries as [{name, value}] whether
written as a list (`- A=b`) or a mapping (`A: b`); a value is null when passed through from
the host (`- A`). Each entry is located at its own line.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

from gatekeeper.document import Document, Loaded, Problem
from gatekeeper.fieldpath import Path, format_path
from gatekeeper.linemap import LineMapLocator
from gatekeeper.sources import LoadContext
from gatekeeper.yamldoc import NodeLocator, load_mapping

NAME = "compose"
KIND = "Compose"
_NAMES = re.compile(r"^(docker-)?compose(\.[\w.-]+)?\.ya?ml$")


def detect(path: str) -> bool:
    return bool(_NAMES.match(posixpath.basename(path).lower()))


def load(path: str, data: bytes, context: LoadContext | None = None) -> Loaded:
    entry, _, problems = load_mapping(path, data, "compose file")
    loaded = Loaded(problems=problems)
    if entry is None:
        return loaded
    obj: dict[str, Any] = entry.obj
    nodes = NodeLocator(path, entry.node)
    locator = LineMapLocator(path, fallback=nodes)
    services = obj.get("services")
    if services is not None and not isinstance(services, dict):
        loaded.problems.append(_invalid(path, nodes, ("services",), "must be a mapping"))
        obj["services"] = {}
    services = obj.get("services") or {}
    for name, service in list(services.items()):
        if not isinstance(service, dict):
            loaded.problems.append(
                _invalid(path, nodes, ("services", str(name)), "must be a mapping")
            )
            services[name] = {}
            continue
        image = service.get("image")
        if isinstance(image, (dict, list)):
            where = ("services", str(name), "image")
            loaded.problems.append(_invalid(path, nodes, where, "must be a string"))
            del service["image"]
        elif "image" in service and not isinstance(image, str):
            service["image"] = "" if image is None else str(image)
        environment = service.get("environment")
        if environment is not None and not isinstance(environment, (dict, list)):
            where = ("services", str(name), "environment")
            loaded.problems.append(_invalid(path, nodes, where, "must be a mapping or a list"))
        service["environment_vars"] = _environment(environment)
        for index, var in enumerate(service["environment_vars"]):
            line = nodes.locate(("services", str(name), "environment", var.pop("_key"))).line
            locator.add(("services", str(name), "environment_vars", index), line)
    loaded.documents.append(
        Document(source=NAME, file=path, obj=obj, locator=locator, kind=KIND, name=path)
    )
    return loaded


def images(document: Document) -> list[tuple[str, Path]]:
    """Service images, for the inventory; images given by a variable are left out."""
    services = document.obj.get("services")
    return [
        (service["image"], ("services", str(name), "image"))
        for name, service in (services.items() if isinstance(services, dict) else ())
        if isinstance(service, dict)
        and isinstance(service.get("image"), str)
        and "$" not in service["image"]
    ]


def _invalid(path: str, nodes: NodeLocator, where: Path, what: str) -> Problem:
    line = nodes.locate(where).line
    return Problem(
        "GK-PARSE-ERROR", path, line, f"invalid compose file: {format_path(where)} {what}"
    )


def _environment(value: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            text = (
                None if item is None else str(item).lower() if isinstance(item, bool) else str(item)
            )
            found.append({"name": str(key), "value": text, "_key": str(key)})
    elif isinstance(value, list):
        for index, item in enumerate(value):
            name, equals, assigned = str(item).partition("=")
            found.append({"name": name, "value": assigned if equals else None, "_key": index})
    return found
