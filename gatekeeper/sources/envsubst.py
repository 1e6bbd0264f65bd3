"""Manifests written for envsubst: `port: ${EXTENSION_GRPC_PORT:-9002}`.

kubernetes-engine-samples' `inference-pool-variables.yaml` is applied as
`envsubst < file | kubectl apply -f -`: judged as written, every placeholder in a typed field
was a high GK-SCHEMA ("expected an integer, found the string ...") and nothing said what the
file really deploys. In a template (a placeholder with a default, or one where the schema
wants a number or a boolean), a value that is a placeholder and nothing else is judged as envsubst
(a8m/envsubst, Flux's postBuild substitution) fills it with no variable set: its default
(`${VAR:-default}`, `${VAR-default}`, `${VAR:=default}`), else empty -- null, unset, as
`kubectl apply` reads `replicas:` -- and typed as YAML types the result (a plain `9002` is a
number, a quoted `"9002"` a string). What is not a placeholder is judged as written; a
placeholder inside a longer value (`image: ghcr.io/acme/web:${TAG}`) is left as written too.
A low GK-TEMPLATE note at the first placeholder says the file is a template; a deployer that
substitutes known values (a Flux Kustomization's `postBuild.substitute`) is judged on its own
render with them.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gatekeeper import lazy_re
from gatekeeper.document import Problem
from gatekeeper.yamldoc import YamlDocument, safe_load

PLACEHOLDER = lazy_re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-=]([^}]*))?\}")
MARK = "${"


def filled(entry: YamlDocument) -> tuple[YamlDocument, int]:
    """`entry` with its whole-value placeholders filled, and the line of the first one (0:
    not a template, `entry` itself).

    A document is a template when a placeholder has a default or stands where the schema
    wants a number or a boolean (kubectl cannot apply it as written). `${VAR}` in string
    fields alone is left as written: an operator may fill it (grafana-operator's
    `valuesFrom` fills `password: "${DB_PASSWORD}"`), and as written it is what the API
    server gets."""
    lines: list[int] = []
    defaults: list[bool] = []
    obj = _fill(copy.deepcopy(entry.obj), entry.node, lines, defaults)
    if not lines or not (any(defaults) or _typed_placeholder(entry.obj)):
        return entry, 0
    return YamlDocument(obj, entry.node, entry.duplicate_keys), min(lines)


def has_placeholder(obj: Any) -> bool:
    """Is any value of `obj` (not a key) a placeholder and nothing else? When none is,
    filled() has nothing to fill and returns its document as it is."""
    stack = [obj]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if MARK in value and PLACEHOLDER.fullmatch(value.strip()):
                return True
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False


def _typed_placeholder(obj: Any) -> bool:
    from gatekeeper.fieldpath import get
    from gatekeeper.kubeschema import shape_errors

    return any(
        isinstance(value := get(obj, error.path), str) and PLACEHOLDER.fullmatch(value.strip())
        for error in shape_errors(obj)
    )


def note(file: str, line: int) -> Problem:
    message = (
        "an envsubst template (`${VAR:-default}` values): each placeholder is judged as"
        " envsubst fills it with no variable set (its default, else empty); the rest as written"
    )
    return Problem("GK-TEMPLATE", file, line, message)


def _fill(obj: Any, node: Node, lines: list[int], defaults: list[bool]) -> Any:
    if isinstance(node, MappingNode) and isinstance(obj, dict):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, ScalarNode) else None
            if key in obj:
                obj[key] = _fill(obj[key], value_node, lines, defaults)
    elif isinstance(node, SequenceNode) and isinstance(obj, list):
        for index, item_node in enumerate(node.value[: len(obj)]):
            obj[index] = _fill(obj[index], item_node, lines, defaults)
    elif isinstance(node, ScalarNode) and isinstance(obj, str) and MARK in obj:
        match = PLACEHOLDER.fullmatch(obj.strip())
        if match is None:
            return obj
        lines.append(node.start_mark.line + 1)
        defaults.append(match.group(2) is not None)
        default = match.group(2) or ""
        if node.style:  # quoted or a block: a string whatever it holds ('' or None: plain)
            return default
        return _plain(default)
    return obj


def _plain(text: str) -> Any:
    """A plain scalar as YAML reads it: `9002` a number, `true` a bool, empty null."""
    try:
        value = safe_load(text)
    except yaml.YAMLError:
        return text
    return value if value is None or isinstance(value, (str, int, float, bool)) else text
