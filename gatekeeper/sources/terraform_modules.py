"""Local module calls: a module's resources judged with the values a call passes in.

Module collections keep their resources generic (`acl = var.acl`): on its own such a value is
unknown and every rule passes, while the bad value sits in a call (`module "site" { source =
"../.."; acl = "public-read" }`, in an example or a root module). For every call whose source
is a directory of this repository, the module's resources are instantiated with the call's
arguments (and the variables' defaults) and judged again; a finding is kept only when it
points into the calling file, at the argument that brought the value. What a module gets
wrong on its own is reported once, by the module's own files, not once per call.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from gatekeeper.document import Document, Location
from gatekeeper.fieldpath import Path
from gatekeeper.hcl import Block, Parsed, Span
from gatekeeper.sources import LoadContext
from gatekeeper.tree import Tree

_VARIABLE = re.compile(r"^\$\{var\.([A-Za-z_][\w-]*)\}$")
# Arguments of a module block that are Terraform's own, not the module's input variables.
_META_ARGUMENTS = frozenset({"source", "version", "count", "for_each", "providers", "depends_on"})
MAX_DEPTH = 4  # module calls followed inside a called module


@dataclass(frozen=True)
class Origin:
    """Where a value came from: an argument of the calling module block."""

    file: str
    span: Span


# A value passed to a module, with the places (by path inside the value) it came from.
Input = tuple[Any, dict[Path, Origin]]


@dataclass(frozen=True)
class CallLocator:
    """Paths set from a call's arguments point at the argument; the rest into the module."""

    module: Any  # the module resource's own locator (terraform.SpanLocator)
    origins: tuple[tuple[Path, Origin], ...]

    def locate(self, path: Path) -> Location:
        for prefix, origin in self.origins:
            if tuple(path[: len(prefix)]) == prefix:
                span, exact = origin.span.find(tuple(path[len(prefix) :]))
                return Location(
                    origin.file, span.line, span.column, span.end_line, span.end_column, exact
                )
        location: Location = self.module.locate(path)
        return location


def local_source(directory: str, block: Block) -> str | None:
    """The repository directory a module block calls, or None (registry, git, outside)."""
    source = block.body.get("source")
    if not isinstance(source, str) or not source.startswith(("./", "../")):
        return None
    target = posixpath.normpath(posixpath.join(directory, source))
    if target == ".." or target.startswith(("../", "/")):
        return None
    return "" if target == "." else target


def call_documents(path: str, parsed: Parsed, context: LoadContext) -> list[Document]:
    """The documents of every local module that a file's module blocks call."""
    directory = posixpath.dirname(path)
    documents: list[Document] = []
    for block in parsed.blocks:
        if block.type != "module" or not block.labels:
            continue
        target = local_source(directory, block)
        if target is None or target == directory:
            continue
        inputs: dict[str, Input] = {}
        for name, value in block.body.items():
            span = block.span.child(name)
            if name not in _META_ARGUMENTS and span is not None:
                inputs[name] = (value, {(): Origin(path, span)})
        address = f"module.{block.labels[0]}"
        documents.extend(_instantiate(context.tree, target, inputs, path, address, (target,)))
    return documents


def _instantiate(
    tree: Tree,
    directory: str,
    inputs: dict[str, Input],
    caller: str,
    address: str,
    chain: tuple[str, ...],
) -> Iterator[Document]:
    from gatekeeper.sources import terraform

    files = terraform.module_files(tree, directory)
    values = {**_defaults([parsed for _, parsed, _ in files]), **inputs}
    resources = []
    placed = []
    for name, parsed, own in files:
        blocks = [b for b in parsed.blocks if b.type in terraform.DOCUMENT_BLOCKS]
        for block, resource in zip(blocks, own, strict=True):
            if block.type == "module":
                target = local_source(directory, block)
                if target is not None and target not in chain and len(chain) < MAX_DEPTH:
                    nested = {
                        key: _substitute(value, values)
                        for key, value in block.body.items()
                        if key not in _META_ARGUMENTS
                    }
                    yield from _instantiate(
                        tree,
                        target,
                        nested,
                        caller,
                        f"{address}.module.{block.labels[0]}",
                        (*chain, target),
                    )
                continue
            obj, origins = _substitute(resource.values, values)
            resources.append(replace(resource, values=obj))
            placed.append((name, block, origins))
    contexts = terraform.contexts_of(resources)  # cross-resource facts over the whole module
    namespace = f"{posixpath.dirname(caller)}:{address}".lstrip(":")
    for index, (resource, (name, block, origins)) in enumerate(zip(resources, placed, strict=True)):
        if not origins:
            continue  # nothing from the call: the module's own files judge it
        yield Document(
            source=terraform.NAME,
            file=caller,
            obj=resource.values,
            locator=CallLocator(terraform.SpanLocator(name, block.span), _longest_first(origins)),
            index=10_000 + index,
            kind=resource.kind,
            namespace=namespace,
            name=resource.name,
            extra={"context": contexts[resource.address], "findings_in": caller},
        )


def _longest_first(origins: dict[Path, Origin]) -> tuple[tuple[Path, Origin], ...]:
    return tuple(sorted(origins.items(), key=lambda item: -len(item[0])))


def _defaults(files: list[Parsed]) -> dict[str, Input]:
    """`variable "x" { default = ... }` of the module: used where a call passes nothing."""
    defaults: dict[str, Input] = {}
    for parsed in files:
        for block in parsed.blocks:
            if block.type == "variable" and block.labels and "default" in block.body:
                defaults[block.labels[0]] = (block.body["default"], {})
    return defaults


def _substitute(value: Any, inputs: dict[str, Input]) -> Input:
    """`value` with every whole `${var.x}` replaced by the input, and where each came from."""
    origins: dict[Path, Origin] = {}

    def walk(item: Any, path: Path) -> Any:
        if isinstance(item, str):
            match = _VARIABLE.match(item)
            if match and match.group(1) in inputs:
                new, places = inputs[match.group(1)]
                for inner, origin in places.items():
                    origins[(*path, *inner)] = origin
                return new
            return item
        if isinstance(item, dict):
            return {key: walk(child, (*path, key)) for key, child in item.items()}
        if isinstance(item, list):
            return [walk(child, (*path, index)) for index, child in enumerate(item)]
        return item

    return walk(value, ()), origins
