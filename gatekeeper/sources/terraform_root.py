"""A directory's resources judged as Terraform deploys them: locals, variables, overrides.

In a root module (a directory no local module call uses, where `terraform apply` runs) a
value may come from elsewhere in the directory: `encrypted = local.off`, `publicly_accessible
= var.pub` with a default or a `terraform.tfvars` line, `count` and `for_each` over a local
list, a `dynamic` block, an override file (`override.tf`, `x_override.tf`) merged over the
resource. Judged as written, such a value is unknown and every rule passes; so every block
whose values are expressions is evaluated with the root module's scope (gatekeeper.tfeval,
the same evaluation a local module call gets: terraform_modules), and each instance is
judged. A value that came from a local, a default, a `.tfvars` line or an override file is
located there, and the document names the resource that uses it (a variant, so two resources
reading one bad local stay two findings at that line). Unknown stays unknown: a variable with
no default and no `.tfvars` value is not a violation.

A directory that a local module call uses gets its variables from its calls, judged with
each call (terraform_modules); here it is judged with its own locals and override files and
its variables unknown, so a call deploying nothing (`count = 0`) hides none of its own values.
"""

from __future__ import annotations

import json
import weakref
from dataclasses import dataclass, field
from typing import Any

from gatekeeper.document import WITH_TERRAGRUNT, Document
from gatekeeper.hcl import RawBody
from gatekeeper.sources.gitops import DEPLOYED_BY
from gatekeeper.sources.terraform_modules import (
    CallLocator,
    MergedBlock,
    block_key,
    evaluate_block,
    forget_module,
    is_root,
    kind_and_label,
    locals_scope,
    longest_first,
    module_of,
    root_scope,
    strip_count,
    variant_scopes,
    written_values,
)
from gatekeeper.tfeval import MAX_STEPS, Origin, Scope
from gatekeeper.tree import Tree

BlockKey = tuple[str, int, int]  # file, line, column of a top-level block


@dataclass
class Directory:
    """What a module directory's blocks deploy, where that differs from how they read."""

    # A block evaluated: its instances (none: `count = 0`, or merged into another block).
    documents: dict[BlockKey, list[Document]] = field(default_factory=dict)
    contexts: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: dict[BlockKey, str] = field(default_factory=dict)  # a block not evaluated: why


_DIRECTORIES: weakref.WeakKeyDictionary[Tree, dict[str, Directory]] = weakref.WeakKeyDictionary()


def directory(tree: Tree, path: str) -> Directory:
    """The evaluated blocks of the module directory `path`, computed once per tree."""
    from gatekeeper.sources import terraform

    cache = _DIRECTORIES.setdefault(tree, {})
    if path in cache:
        return cache[path]
    module = module_of(tree, path)
    root = is_root(tree, path)
    scope = root_scope(tree, path) if root else locals_scope(tree, path)
    found = cache[path] = Directory({key: [] for key in module.merged})
    computed = [
        merged
        for merged in module.blocks
        if merged.block.type != "module" and (merged.overridden or _computed(merged))
    ]
    for merged in computed:
        key = block_key(merged.file, merged.block)
        found.documents[key] = _instances(merged, scope, path)
        if scope.budget[0] < 0:
            # Its values are not known (a local built from huge `for`s): judged as
            # written, and said, so that burning the budget hides nothing quietly.
            found.documents[key] = _evaluated(merged, Scope(), path)
            found.problems[key] = (
                f"too much to evaluate (more than {MAX_STEPS:,} steps in this module): "
                "its values from locals and variables are not known; judged as written"
            )
    told: list[Document] = []  # what a variant deploys that the plain evaluation does not
    written = {key: [document.obj for document in found.documents[key]] for key in found.documents}
    seen = {key: list(objs) for key, objs in written.items()}
    for suffix, variant in variant_scopes(tree, path, scope):
        # Each terragrunt configuration deploying the module is a deployment of its own
        # (its own state): judged at its inputs even where another's inputs are the same.
        deployment = suffix.startswith(WITH_TERRAGRUNT)
        for merged in computed:
            key = block_key(merged.file, merged.block)
            if key not in found.problems:
                met = list(written[key]) if deployment else seen[key]
                told.extend(_variant_instances(merged, suffix, variant, path, met))
    resources = []
    for name, parsed, own in terraform.module_files(tree, path):
        blocks = [block for block in parsed.blocks if block.type in terraform.DOCUMENT_BLOCKS]
        for block, resource in zip(blocks, own, strict=True):
            documents = found.documents.get(block_key(name, block))
            if documents is None:
                resources.append(resource)
                continue
            resources.extend(
                terraform.resource(d.kind, d.name, d.extra["address"], d.obj) for d in documents
            )
    found.contexts = terraform.contexts_of(resources)
    for documents in found.documents.values():
        for document in documents:
            document.extra["context"] = found.contexts[document.extra.pop("address")]
    for document in told:
        document.extra["context"] = found.contexts[document.extra.pop("address")]
        found.documents[document.extra.pop("block")].append(document)
    return found


def _variant_instances(
    merged: MergedBlock, suffix: str, scope: Scope, path: str, seen: list[Any]
) -> list[Document]:
    """The block's instances in a variant's `scope` (a variable file, each unknown condition
    taken one way) that differ from every one `seen` (which gets them): each is named by
    the variant, its values located at their lines."""
    out = []
    for document in _evaluated(merged, scope, path):
        if document.obj in seen:
            continue
        seen.append(document.obj)
        label = document.extra.get("variant") or (
            f"{DEPLOYED_BY}{merged.file}:{document.kind}.{strip_count(document.name)}"
        )
        document.extra["variant"] = f"{label}{suffix}"
        document.extra["block"] = block_key(merged.file, merged.block)
        out.append(document)
    return out


def forget(tree: Tree, path: str) -> None:
    """A file of the directory changed: what was evaluated from it is read again."""
    _DIRECTORIES.get(tree, {}).pop(path, None)
    forget_module(tree, path)


def _computed(merged: MergedBlock) -> bool:
    """Whether evaluating a block can change what it reads: an expression, instances or a
    dynamic block. A block of literals is judged as written (and costs nothing more)."""
    written = json.dumps(merged.block.body, default=str)
    return _shaped(merged.body) or "${" in written or "%{" in written


def _shaped(body: RawBody) -> bool:
    """Whether a body's instances or nested blocks depend on values (count, for_each,
    dynamic), so that evaluating it can make something disappear."""
    if "count" in body.attributes or "for_each" in body.attributes:
        return True
    return any(block.type == "dynamic" or _shaped(block.body) for block in body.blocks)


def _instances(merged: MergedBlock, scope: Scope, path: str) -> list[Document]:
    """The block's instances as evaluated in `scope`. Where its shape depends on values,
    the block as written (every name unknown) is judged too: a module published from this
    repository and called elsewhere looks like a root module here, and its defaults (`count
    = var.create ? 1 : 0`, an empty list for a dynamic block) must not hide what a caller
    that sets them deploys. The two agree wherever both see a value: one finding."""
    written = (
        _evaluated(merged, Scope(), path)
        if (scope.variables or scope.locals) and _shaped(merged.body)
        else []
    )
    evaluated = _evaluated(merged, scope, path)
    if [document.obj for document in written] == [document.obj for document in evaluated]:
        return evaluated  # the scope changed nothing (`for_each` over a literal map)
    return written + evaluated


def _evaluated(merged: MergedBlock, scope: Scope, path: str) -> list[Document]:
    from gatekeeper.sources import terraform

    kind, label = kind_and_label(merged.block)
    own = written_values(merged, kind)
    out = []
    located = False  # a value came from elsewhere (a local, a default, an override file)
    for instance, evaluated in evaluate_block(merged, scope, root=True):
        values = _as_written_unknowns(
            terraform.typed_literals(terraform.decode_policies(evaluated.values), kind), own
        )
        # Located at the element of a literal `for_each` (`role = each.value`: the role's
        # line, not the line that uses it), but not from elsewhere: no variant of its own.
        # A `for_each` without elements written (`data.x.manifests`, `toset([...])`): at the
        # line that uses it, as before.
        placed = {
            path: origin
            for path, origin in evaluated.origins.items()
            if origin.exact or not _from_for_each(merged, origin)
        }
        origins = {
            path: origin for path, origin in placed.items() if not _from_for_each(merged, origin)
        }
        located = located or bool(origins)
        name = f"{label}{instance.key}"
        extra: dict[str, Any] = {"address": f"{kind}.{label}"}
        if origins and (scope.variables or scope.locals):
            extra["variant"] = f"{DEPLOYED_BY}{merged.file}:{kind}.{strip_count(name)}"
        out.append(
            Document(
                source=terraform.NAME,
                file=merged.file,
                obj=values,
                locator=CallLocator(
                    terraform.SpanLocator(merged.file, evaluated.span),
                    longest_first(placed),
                    written=own,
                    values=values,
                ),
                kind=kind,
                namespace=path,
                name=name,
                extra=extra,
            )
        )
    if len(out) == 1 and not located and out[0].obj == own:
        return [_as_written(out[0], merged)]
    return out


def _from_for_each(merged: MergedBlock, origin: Origin) -> bool:
    """Was this value written in the block's own literal `for_each` (not through a name)?"""
    for_each = merged.body.attributes.get("for_each")
    return (
        for_each is not None
        and origin.file == merged.file
        and not origin.via
        and for_each.span.line <= origin.span.line <= for_each.span.end_line
    )


def _as_written_unknowns(value: Any, own: Any) -> Any:
    """A value still unknown reads as its file writes it (`"web ${var.env}"`, not the
    evaluator's shorter name for it): what a reader recognises, and references in it link
    resources. A template's literal parts around its unknown (`"b-${local.url}"` rendered
    `b-https://${var.ip}:6443`) are still unknown as a whole."""
    if isinstance(value, str) and "${" in value:
        return own if isinstance(own, str) and "${" in own else value
    if isinstance(value, dict) and isinstance(own, dict):
        return {key: _as_written_unknowns(item, own.get(key)) for key, item in value.items()}
    if isinstance(value, list) and isinstance(own, list) and len(value) == len(own):
        return [_as_written_unknowns(item, mine) for item, mine in zip(value, own, strict=True)]
    return value


def _as_written(document: Document, merged: MergedBlock) -> Document:
    """Nothing came from elsewhere: the block's own lines, as an unevaluated block has."""
    from gatekeeper.sources import terraform

    document.locator = terraform.SpanLocator(merged.file, merged.block.span)
    return document
