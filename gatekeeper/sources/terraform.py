"""Terraform: `.tf` files (HCL2) and plan JSON (`terraform show -json` output).

One Document per `resource`, `data`, `module` and `terraform` block (per planned resource
instance in a plan). Terraform is never run: values are what the files say. What a policy sees:

- `kind`: the resource type (`aws_s3_bucket`), `data.<type>` for data sources, `module` for
  module calls, `terraform` for `terraform {}` settings (`required_providers`); `name`: the
  block's name (`terraform` for settings; a plan's full address, `module.a.aws_x.y[0]`);
  `namespace`: the module directory of a `.tf` file (`""` at the repository root), the
  module address in a plan.
- `object`: the block's attributes (see gatekeeper.hcl): nested blocks are lists of objects,
  a value Terraform only knows later (`var.x`, `aws_kms_key.k.arn`, a plan's "known after
  apply") is a string starting with `${`. Rules must treat such strings as unknown and pass.
  JSON strings in attributes named `*policy`/`*policies` are decoded into objects.
- `context` (CEL variable): facts from the rest of the module (the `.tf` files of the same
  directory, or the whole plan): `type` (the kind), `address` (without instance keys),
  `references` (module addresses this resource refers to), `referencedBy` (resources that
  refer to this one, by expression or by the same literal `bucket`/`name`, as
  `{type, name, address, attribute}`), and `unresolved` (same shape: link attributes
  `bucket`/`name`/`*_id` in the module whose target is unknown, like `bucket = var.bucket`;
  they might point at this resource, so cross-resource rules count them as a match).
  "An S3 bucket needs a public access block" reads
  `context.referencedBy.exists(r, r.type == "aws_s3_bucket_public_access_block")`.
"""

from __future__ import annotations

import json
import posixpath
import re
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from gatekeeper import lazy_re
from gatekeeper.document import Document, Loaded, Location, Problem
from gatekeeper.fieldpath import Path, format_path, texts
from gatekeeper.sources import LoadContext, reader
from gatekeeper.sources.names import (
    TERRAFORM_OWNED_SUFFIXES,
    TF_SUFFIXES,
    is_plan_name,
    is_terraform,
    is_terragrunt,
)
from gatekeeper.tree import Tree
from gatekeeper.yamldoc import NodeLocator, YamlDocument, check_bytes, decode, load_all

if TYPE_CHECKING:
    from gatekeeper.hcl import HclError, Parsed, Span

# The parser and evaluator (gatekeeper.hcl, tfeval, terraform_modules/_root) are imported
# when a Terraform file is loaded: every run asks `detect`, few load Terraform.
NAME = "terraform"
# What Terraform and OpenTofu load from a module directory (OpenTofu also reads `.tofu`
# files, and Terraform ignores them: both are judged, whichever tool applies the folder).

UNKNOWN = "${unknown}"  # a plan value Terraform knows only after apply
DOCUMENT_BLOCKS = ("resource", "data", "module", "terraform")
_IDENTITY_ATTRIBUTES = ("bucket", "name")
_REFERENCE = lazy_re.compile(r"(?<![\w.\-])((?:data\.)?[A-Za-z_][\w\-]*\.[A-Za-z_][\w\-]*)")
# First parts of references that do not name a resource (a value from outside, an iterator).
_NOT_RESOURCES = frozenset({"var", "local", "each", "count", "module", "path", "terraform", "self"})
_INSTANCE_KEY = lazy_re.compile(r"\[[^\]]*\]")
# A block that makes documents of its own (the rest only gives values: variables, locals).
_DEPLOYING_BLOCK = lazy_re.compile(r'^[ \t]*(?:resource|module|data)[ \t]+["A-Za-z_]', re.MULTILINE)


def feeds(context: LoadContext) -> Iterator[tuple[str, str]]:
    """Dependency edges of local module calls (see gatekeeper.depgraph)."""
    from gatekeeper.sources import terraform_modules

    return terraform_modules.feeds(context)


_OWNED_SUFFIXES = TERRAFORM_OWNED_SUFFIXES


def owners(path: str, context: LoadContext) -> list[str]:
    """What a file that deploys nothing itself gives values to, so that a hook or a scan
    given only it judges what it changes: for a variable file (`env/prod.tfvars`) the code
    it is passed to (terraform_modules.var_file_readers); for a `.tf` file of variables,
    locals or outputs only, the other `.tf` files of its folder. For a `.tf` file of a module
    that local calls use, also the calling files (up to the roots): its resources as they are
    deployed, with their callers' values."""
    if is_terragrunt(path):  # its inputs are values of the module it deploys
        from gatekeeper.sources import terragrunt

        return terragrunt.module_files(context.tree, path)
    if path.endswith(".hcl") and ".terraform" not in path.split("/"):
        # An included _envcommon/db.hcl or root.hcl, a common.hcl a configuration reads: the
        # configurations using it, with their modules (red team s18 v01 hookenvcommon).
        from gatekeeper.sources import terragrunt

        return terragrunt.including(context.tree, path)
    decoded = path.endswith((".yaml", ".yml", ".json")) and not path.endswith(_OWNED_SUFFIXES)
    if decoded and ".terraform" not in path.split("/"):
        # A values file a configuration decodes whole (`inputs = yamldecode(file(...))`):
        # the configurations decoding it (red team s18 trust11 w03 hookyaml).
        from gatekeeper.sources import terragrunt

        return terragrunt.including(context.tree, path)
    if ".terraform" in path.split("/") or not path.endswith(_OWNED_SUFFIXES):
        return []
    from gatekeeper.sources import terraform_modules

    if path.endswith((".tfvars", ".tfvars.json")):  # and the configurations passing it
        from gatekeeper.sources import terragrunt

        readers = terraform_modules.var_file_readers(context.tree, path)
        return list(dict.fromkeys([*readers, *terragrunt.including(context.tree, path)]))
    folder = posixpath.dirname(path)
    found = terraform_modules.callers(context.tree, folder)
    try:
        if _DEPLOYING_BLOCK.search(decode(context.tree.read(path))):
            return found
        names = context.tree.list_dir(folder or ".")
    except (OSError, UnicodeDecodeError, ValueError):
        return found
    siblings = [
        name
        for name in names
        if posixpath.dirname(name) == folder and name.endswith(TF_SUFFIXES) and name != path
    ]
    return sorted({*siblings, *found})


def detect(path: str) -> bool:
    return is_terraform(path)


def load(path: str, data: bytes, context: LoadContext | None = None) -> Loaded:
    context = context or LoadContext()
    problem = check_bytes(path, data)
    if problem is not None:
        return Loaded(problems=[problem])
    if is_terragrunt(path):
        from gatekeeper.sources import terragrunt

        return terragrunt.load(path, data, context.tree, context)
    if is_plan_name(path):
        loaded = _load_plan(path, decode(data))
    else:
        loaded = _load_hcl(path, decode(data), context)
    _add_deployed(loaded, context, reader(context.tree, path, data))
    return loaded


def _add_deployed(
    loaded: Loaded, context: LoadContext, read: Callable[[str], bytes | None]
) -> None:
    """What resources deploy besides themselves, judged as such: the Kubernetes objects
    of the kubernetes, kubectl and helm providers' resources (terraform_kubernetes), the
    commands of `local-exec` provisioners (terraform_provisioners)."""
    from gatekeeper.sources import terraform_provisioners
    from gatekeeper.sources.terraform_kubernetes import DEPLOYING_KINDS, objects

    for document in list(loaded.documents):
        if document.kind in DEPLOYING_KINDS:
            made = objects(document, context)
            loaded.documents.extend(made.documents)
            loaded.problems.extend(made.problems)
        if isinstance(document.obj, dict) and "provisioner" in document.obj:
            commands = terraform_provisioners.document(document, read)
            if commands is not None:
                loaded.documents.append(commands)


# --- .tf files -----------------------------------------------------------------------------


@dataclass
class _Resource:
    """A resource, data source or module call of a module: what references are computed on."""

    kind: str
    name: str
    address: str
    values: dict[str, Any]
    references: list[tuple[str, str]] = field(default_factory=list)  # (attribute, address)


@dataclass
class _File:
    parsed: Parsed | None
    error: HclError | None = None
    resources: list[_Resource] | None = None  # computed once, shared by the module's files
    text: str = ""  # what was parsed: a sibling parsed first is not parsed again

    def module_resources(self) -> list[_Resource]:
        if self.resources is None:
            self.resources = list(_resources(self.parsed)) if self.parsed else []
        return self.resources


_FILES: weakref.WeakKeyDictionary[Tree, dict[str, _File]] = weakref.WeakKeyDictionary()
_DIRS: weakref.WeakKeyDictionary[Tree, dict[str, list[str]]] = weakref.WeakKeyDictionary()


def _parse_source(path: str, text: str) -> _File:
    """A `.tf` file parsed, or a `.tf.json` file read as the HCL it stands for, with its
    lines in the JSON file (terraform_json)."""
    parsed = _parse_json(path, text) if path.endswith(".json") else _parse_file(text)
    parsed.text = text
    return parsed


def _parse_json(path: str, text: str) -> _File:
    from gatekeeper.hcl import HclError
    from gatekeeper.sources import terraform_json

    try:
        hcl, places = terraform_json.to_hcl(text, path)
    except HclError as error:
        return _File(None, error)
    except RecursionError:
        return _File(None, HclError("invalid JSON: nested too deeply; not checked", 1))
    parsed = _parse_file(hcl)
    if parsed.parsed is not None:
        terraform_json.relocate(parsed.parsed, places)
    elif parsed.error is not None:
        line = places[min(max(parsed.error.line, 1), len(places)) - 1][0] if places else 1
        parsed.error = HclError(str(parsed.error), line)
    return parsed


def _parse_file(text: str) -> _File:
    """The parse of a module file's text: from the parse cache when this exact text (with
    this code) was parsed before, as the module's unchanged files are in a hook."""
    from gatekeeper.sources import terraform_cache

    known = terraform_cache.load(text)
    if known is not None:
        return _File(*known)
    parsed = _parse_text(text)
    terraform_cache.store(text, parsed.parsed, parsed.error)
    return parsed


def _parse_text(text: str) -> _File:
    from gatekeeper.hcl import HclError, parse

    try:
        # With expressions: a module's files are evaluated when a local module call uses
        # them (terraform_modules), and parsing twice costs more than keeping the trees.
        return _File(parse(text, expressions=True))
    except HclError as error:
        if "end of file" in str(error):
            opened = _brackets(text)[0]
            if opened:
                line, char = opened
                message = f"{error}: the {char!r} opened at line {line} is never closed"
                return _File(None, HclError(message, line))
        return _File(None, error)
    except RecursionError:
        line = _brackets(text)[1] or 1
        return _File(None, HclError("invalid HCL: nested too deeply; not checked", line))
    except (RuntimeError, ValueError, TypeError) as error:  # the library's own checks
        return _File(None, HclError(f"invalid HCL: {error}", 1))


_CLOSE = {"{": "}", "[": "]", "(": ")"}


def _brackets(text: str, deep: int = 100) -> tuple[tuple[int, str] | None, int]:
    """(line and bracket of the outermost bracket never closed, first line nested deeper than
    `deep`), skipping strings, comments and heredocs: only read when the parser failed."""
    stack: list[tuple[int, str]] = []
    too_deep = 0
    line, index, size = 1, 0, len(text)
    heredoc = ""
    while index < size:
        char = text[index]
        if heredoc:
            end = text.find("\n", index)
            end = size if end < 0 else end
            if text[index:end].strip() == heredoc:
                heredoc = ""
            index, line = end + 1, line + 1
            continue
        if char == "\n":
            line += 1
        elif char == "#" or text.startswith("//", index):
            end = text.find("\n", index)
            index = size if end < 0 else end
            continue
        elif text.startswith("/*", index):
            end = text.find("*/", index + 2)
            end = size if end < 0 else end + 2
            line += text.count("\n", index, end)
            index = end
            continue
        elif char == '"':
            index += 1
            while index < size and text[index] not in '"\n':
                index += 2 if text[index] == "\\" else 1
            if index < size and text[index] == "\n":
                continue
        elif text.startswith("<<", index):
            match = re.match(r"<<-?([A-Za-z_][\w-]*)[ \t]*\n", text[index:])
            if match:
                heredoc = match.group(1)
                index += match.end()
                line += 1
                continue
        elif char in _CLOSE:
            stack.append((line, char))
            if len(stack) > deep and not too_deep:
                too_deep = line
        elif char in "}])" and stack and _CLOSE[stack[-1][1]] == char:
            stack.pop()
        index += 1
    return (stack[0] if stack else None), too_deep


def _unevaluated(path: str, parsed: Parsed, text: str) -> list[Problem]:
    """A call of a function Terraform has and gatekeeper does not compute, one per line and
    function: its value would pass every rule unjudged. The message (so the fingerprint)
    carries the attribute as written: a pull request that changes only the call's arguments
    (`decode("public = false")` to `"public = true"`) makes a new finding (red team r33)."""
    from gatekeeper.tfeval import DIRECTIVE, UNICODE, unevaluated_calls

    said: dict[tuple[str, int], Problem] = {}
    lines: list[str] = []  # the file's, split when a call is found
    for block in parsed.blocks:
        body = block.raw if block.type != "check" else None  # a check only warns
        if body is not None and block.type == "variable":  # `type = list(...)`: no value
            body = replace(body, attributes=dict(body.attributes))
            body.attributes.pop("type", None)
        for function, attribute, span in unevaluated_calls(body, block.type) if body else ():
            if function == DIRECTIVE and block.type in ("output", "variable"):
                continue  # text for people (a description, an output): nothing deployed
            what = "a template directive (%{...})" if function == DIRECTIVE else f"{function}()"
            if function.startswith(UNICODE):
                what = f"{function.removeprefix(UNICODE)}() of non-ASCII text"
            lines = lines or text.splitlines()
            message = (
                f"{what} is not evaluated by gatekeeper: what `{attribute}` holds is not judged"
                f" ({_written(lines, span)})"
            )
            said.setdefault(
                (function, span.line), Problem("GK-TF-UNEVALUATED", path, span.line, message)
            )
    return list(said.values())


MAX_WRITTEN = 120  # characters of an attribute shown in a message; a digest of the rest


def _written(lines: list[str], span: Span) -> str:
    """The attribute as its lines write it, spaces collapsed; a long one cut, with a digest
    of the whole so that any change to it shows."""
    import hashlib

    if span.end_line >= span.line > 0 and span.end_line <= len(lines):
        chosen = lines[span.line - 1 : span.end_line]
        if span.end_line == span.line:
            chosen = [chosen[0][span.column - 1 : span.end_column - 1]]
        else:
            chosen[0] = chosen[0][span.column - 1 :]
            chosen[-1] = chosen[-1][: span.end_column - 1]
    else:
        chosen = []
    written = " ".join(" ".join(chosen).split())
    if len(written) <= MAX_WRITTEN:
        return written
    digest = hashlib.sha256(written.encode("utf-8")).hexdigest()[:12]
    return f"{written[: MAX_WRITTEN - 20]}... #{digest}"


def _load_hcl(path: str, text: str, context: LoadContext) -> Loaded:
    from gatekeeper.sources import terraform_root

    loaded = Loaded()
    files = _FILES.setdefault(context.tree, {})
    parsed_file = files.get(path) or _File(None)
    if parsed_file.text != text or not text:
        if path in files:  # new text for a file already read: its module is read again
            terraform_root.forget(context.tree, posixpath.dirname(path))
        parsed_file = files[path] = _parse_source(path, text)
    listing = _listing(context.tree, posixpath.dirname(path))
    if path not in listing:  # text given for a file the tree does not hold (yet)
        listing.append(path)
    if parsed_file.parsed is None:
        assert parsed_file.error is not None
        error = parsed_file.error
        loaded.problems.append(
            Problem("GK-PARSE-ERROR", path, error.line, str(error), error.column)
        )
        return loaded
    parsed = parsed_file.parsed
    for name, line, first in parsed.duplicates:
        loaded.problems.append(
            Problem(
                "GK-PARSE-ERROR",
                path,
                line,
                f"attribute {name!r} redefined (first set at line {first}); Terraform rejects it",
            )
        )
    loaded.problems.extend(_unevaluated(path, parsed, parsed_file.text))
    directory = posixpath.dirname(path)
    own = parsed_file.module_resources()
    # One module's contexts (and evaluated blocks) serve all its files.
    evaluated = terraform_root.directory(context.tree, directory)
    blocks = [block for block in parsed.blocks if block.type in DOCUMENT_BLOCKS]
    for block, resource in zip(blocks, own, strict=True):
        key = (path, block.span.line, block.span.column)
        if key in evaluated.problems:
            message = evaluated.problems[key]
            loaded.problems.append(Problem("GK-RENDER-ERROR", path, block.span.line, message))
        instances = evaluated.documents.get(key)
        if instances is not None:
            for document in instances:
                document.index = len(loaded.documents)
                loaded.documents.append(document)
            continue
        loaded.documents.append(
            Document(
                source=NAME,
                file=path,
                obj=resource.values,
                locator=SpanLocator(path, block.span),
                index=len(loaded.documents),
                kind=resource.kind,
                namespace=directory,
                name=resource.name,
                extra={"context": evaluated.contexts[resource.address]},
            )
        )
    if "module" in text:
        from gatekeeper.sources import terraform_git_modules
        from gatekeeper.sources.terraform_modules import call_documents

        loaded.documents.extend(call_documents(path, parsed, context))
        loaded.problems.extend(terraform_git_modules.problems(path, parsed, context))
    return loaded


def _resources(parsed: Parsed) -> Iterator[_Resource]:
    for block in parsed.blocks:
        if block.type not in DOCUMENT_BLOCKS:
            continue
        labels = block.labels
        if block.type == "module":
            kind, name = "module", labels[0] if labels else ""
            address = f"module.{name}"
        elif block.type == "terraform":  # settings, not a resource: never referred to
            kind = name = address = "terraform"
        else:
            type_ = labels[0] if labels else ""
            name = labels[1] if len(labels) > 1 else ""
            kind = type_ if block.type == "resource" else f"data.{type_}"
            address = f"{kind}.{name}"
        yield resource(kind, name, address, typed_literals(decode_policies(block.body), kind))


def resource(kind: str, name: str, address: str, values: dict[str, Any]) -> _Resource:
    """A resource with the addresses its values refer to."""
    references = [
        (attribute, found)
        for attribute, value in values.items()
        for found in expression_references(value)
    ]
    return _Resource(kind, name, address, values, references)


def expression_references(value: Any) -> Iterator[str]:
    for text in texts(value):
        if "${" in text or "%{" in text:  # an interpolation or a directive's condition
            for match in _REFERENCE.finditer(text):
                yield match.group(1)


def module_files(tree: Tree, directory: str) -> list[tuple[str, Parsed, list[_Resource]]]:
    """Every `.tf` file of a module directory that parses, with its resources."""
    out = []
    for name, file in _module_files(tree, directory):
        if file.parsed is not None:
            out.append((name, file.parsed, file.module_resources()))
    return out


def _listing(tree: Tree, directory: str) -> list[str]:
    """The `.tf` files of a module directory, listed once per tree."""
    listings = _DIRS.setdefault(tree, {})
    if directory not in listings:
        try:
            listing = tree.list_dir(directory or ".")
        except OSError:
            listing = []
        listings[directory] = [
            name
            for name in listing
            if name.endswith(TF_SUFFIXES) and posixpath.dirname(name) == directory
        ]
    return listings[directory]


def _module_files(tree: Tree, directory: str) -> Iterator[tuple[str, _File]]:
    files = _FILES.setdefault(tree, {})
    for name in _listing(tree, directory):
        if name not in files:
            try:
                files[name] = _parse_source(name, decode(tree.read(name)))
            except (OSError, UnicodeDecodeError):
                from gatekeeper.hcl import HclError

                files[name] = _File(None, HclError("unreadable", 1))
        yield name, files[name]


# --- references ----------------------------------------------------------------------------


# A literal name shared by many resources links each to at most this many resources of each
# other type, of at most this many types: policies ask whether *a* resource of a type refers
# to it, and 20,000 resources with one bucket name must not make 400 million links.
MAX_SAME_NAME_PER_TYPE = 8
MAX_SAME_NAME_TYPES = 64


def _referenced_by(resources: list[_Resource]) -> dict[str, list[dict[str, str]]]:
    """address -> the resources that refer to it (by expression, or by the same literal name)."""
    known = {resource.address for resource in resources}
    # (attribute, literal value) -> type -> the first resources of that type with it
    identities: dict[tuple[str, str], dict[str, list[int]]] = {}
    for index, resource in enumerate(resources):
        for attribute in _IDENTITY_ATTRIBUTES:
            value = resource.values.get(attribute)
            if isinstance(value, str) and value and "${" not in value:
                by_type = identities.setdefault((attribute, value), {})
                same = by_type.get(resource.kind)
                if same is None and len(by_type) < MAX_SAME_NAME_TYPES:
                    same = by_type[resource.kind] = []
                if same is not None and len(same) < MAX_SAME_NAME_PER_TYPE:
                    same.append(index)
    links: dict[str, set[tuple[int, str]]] = {}  # address -> (referrer index, attribute)
    for index, resource in enumerate(resources):
        for attribute, address in resource.references:
            if address in known and address != resource.address:
                links.setdefault(address, set()).add((index, attribute))
        for attribute in _IDENTITY_ATTRIBUTES:
            value = resource.values.get(attribute)
            by_type = identities.get((attribute, value), {}) if isinstance(value, str) else {}
            for kind, referrers in by_type.items():
                if kind != resource.kind:
                    found = links.setdefault(resource.address, set())
                    found.update((referrer, attribute) for referrer in referrers)
    result: dict[str, list[dict[str, str]]] = {}
    for address in known:
        for index, attribute in sorted(links.get(address, ())):
            referrer = resources[index]
            result.setdefault(address, []).append(
                {
                    "type": referrer.kind,
                    "name": referrer.name,
                    "address": referrer.address,
                    "attribute": attribute,
                }
            )
    return result


def contexts_of(resources: list[_Resource]) -> dict[str, dict[str, Any]]:
    """address -> the `context` CEL variable of that resource."""
    known = {resource.address for resource in resources}
    referenced_by = _referenced_by(resources)
    unresolved = _unresolved(resources, known)
    return {
        resource.address: {
            "type": resource.kind,
            "address": resource.address,
            "references": sorted(
                {a for _, a in resource.references if a in known and a != resource.address}
            ),
            "referencedBy": referenced_by.get(resource.address, []),
            "unresolved": unresolved,
        }
        for resource in resources
    }


def _unresolved(resources: list[_Resource], known: set[str]) -> list[dict[str, str]]:
    """Link attributes (`bucket`, `name`, `*_id`) whose target is unknown (`var.x`, `each.key`).

    Such a resource may well point at the one being judged: cross-resource rules count it as
    a possible match instead of reporting a missing control.
    """
    found = []
    for resource in resources:
        resolved = {
            attribute
            for attribute, address in resource.references
            if address in known or address.split(".")[0] not in _NOT_RESOURCES
        }
        for attribute, value in resource.values.items():
            if (
                (attribute in _IDENTITY_ATTRIBUTES or attribute.endswith("_id"))
                and isinstance(value, str)
                and "${" in value
                and attribute not in resolved
            ):
                found.append(
                    {
                        "type": resource.kind,
                        "name": resource.name,
                        "address": resource.address,
                        "attribute": attribute,
                    }
                )
    return found


# --- normalisation -------------------------------------------------------------------------


def typed_literals(values: dict[str, Any], kind: str = "") -> dict[str, Any]:
    """ "true" and "false" written as strings, as booleans: Terraform converts them for a bool
    attribute, so `encrypted = "false"` is unencrypted and must not read as a passing string.
    "1" and "0" too, but only for the attributes known to be booleans for `kind`
    (terraform_bools), since elsewhere they are numbers written as strings. Not inside
    IAM-style policy documents, where JSON keeps "false" a string."""
    from gatekeeper.sources.terraform_bools import BOOL_ATTRIBUTES

    return _typed_map(values, BOOL_ATTRIBUTES.get(kind, frozenset()))


def _typed_map(values: dict[str, Any], bools: frozenset[str]) -> dict[str, Any]:
    return {
        key: value if key.endswith(("policy", "policies")) else _typed(value, key in bools, bools)
        for key, value in values.items()
    }


def _typed(value: Any, is_bool: bool, bools: frozenset[str]) -> Any:
    if value == "true" or value == "false":
        return value == "true"
    if is_bool and (value == "1" or value == "0"):
        return value == "1"
    if isinstance(value, dict):
        return _typed_map(value, bools)
    if isinstance(value, list):
        return [_typed(item, is_bool, bools) for item in value]
    return value


def decode_policies(values: dict[str, Any]) -> dict[str, Any]:
    """JSON documents in `*policy`/`*policies` string attributes, decoded (recursively).

    A lone IAM `Statement` object becomes a one-item list, as IAM reads it, so policies can
    always iterate `policy.Statement[*]`.
    """
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, str) and key.endswith(("policy", "policies")):
            value = _json_document(value)
        if key.endswith(("policy", "policies")) and isinstance(value, dict):
            statement = value.get("Statement")
            out[key] = {**value, "Statement": [statement]} if isinstance(statement, dict) else value
        elif isinstance(value, dict):
            out[key] = decode_policies(value)
        elif isinstance(value, list):
            out[key] = [decode_policies(item) if isinstance(item, dict) else item for item in value]
        else:
            out[key] = value
    return out


def _json_document(text: str) -> Any:
    stripped = text.strip()
    if not stripped.startswith(("{", "[")):
        return text
    try:
        return json.loads(stripped)
    except ValueError:
        return text


# --- locating ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpanLocator:
    """Field paths of a block's attributes to lines: attributes, block items, list items."""

    file: str
    span: Span

    def locate(self, path: Path) -> Location:
        span, exact = self.span.find(path)
        return Location(self.file, span.line, span.column, span.end_line, span.end_column, exact)


# --- plan JSON -----------------------------------------------------------------------------


def _is_plan(obj: Any) -> bool:
    return isinstance(obj, dict) and ("resource_changes" in obj or "planned_values" in obj)


def _load_plan(path: str, text: str) -> Loaded:
    loaded = Loaded()
    entries = list(load_all(path, text))
    problems = [entry for entry in entries if isinstance(entry, Problem)]
    documents = [entry for entry in entries if isinstance(entry, YamlDocument)]
    if problems:
        loaded.problems.extend(problems)
        return loaded
    if not documents or not isinstance(documents[0].obj, dict):
        what = "empty" if not documents or documents[0].obj is None else "not a JSON object"
        return Loaded(problems=[Problem("GK-PARSE-ERROR", path, 1, f"Terraform plan is {what}")])
    if not any(_is_plan(document.obj) for document in documents):
        # Not a plan after all: a Kubernetes manifest that happens to be called plan.json.
        from gatekeeper.sources import kubernetes

        return kubernetes.load(path, text.encode("utf-8"))
    for extra in documents[1:]:  # `terraform show -json` writes one document; nothing hides
        line = extra.node.start_mark.line + 1
        message = "a Terraform plan is one JSON document; this one is not checked"
        loaded.problems.append(Problem("GK-PARSE-ERROR", path, line, message))
    plan = documents[0].obj
    locator = NodeLocator(path, documents[0].node)
    if not _is_plan(plan):
        message = "invalid Terraform plan: no resource_changes or planned_values"
        loaded.problems.append(Problem("GK-PARSE-ERROR", path, 1, message))
        return loaded
    changes = plan.get("resource_changes")
    found: list[tuple[Any, Path, Path]]  # (change, its path, the path of its values)
    if changes is None:
        found = _planned_changes(plan.get("planned_values"), path, locator, loaded)
    elif isinstance(changes, list):
        found = [
            (change, ("resource_changes", i), ("resource_changes", i, "change", "after"))
            for i, change in enumerate(changes)
        ]
    else:
        line = locator.locate(("resource_changes",)).line
        message = "invalid Terraform plan: resource_changes must be a list"
        loaded.problems.append(Problem("GK-PARSE-ERROR", path, line, message))
        return loaded
    resources: list[_Resource] = []
    located: list[tuple[_Resource, str, Path]] = []
    config_refs = _config_references(plan.get("configuration"))
    for change, where, after_path in found:
        if not isinstance(change, dict) or not isinstance(change.get("change"), dict):
            line = locator.locate(where).line
            message = f"invalid Terraform plan: {format_path(where)} has no change object"
            loaded.problems.append(Problem("GK-PARSE-ERROR", path, line, message))
            continue
        after = change["change"].get("after")
        if not isinstance(after, dict) or change.get("mode") not in ("managed", "data", None):
            continue
        address = str(change.get("address", ""))
        type_ = str(change.get("type", ""))
        kind = type_ if change.get("mode") != "data" else f"data.{type_}"
        values = decode_policies(_with_unknowns(after, change["change"].get("after_unknown")))
        config_address = _INSTANCE_KEY.sub("", address)
        references = [
            (attribute, target) for attribute, target in config_refs.get(config_address, [])
        ]
        resource = _Resource(kind, address, config_address, values, references)
        resources.append(resource)
        located.append((resource, str(change.get("module_address", "")), after_path))
    contexts = contexts_of(resources)
    for index, (resource, module_address, after_path) in enumerate(located):
        loaded.documents.append(
            Document(
                source=NAME,
                file=path,
                obj=resource.values,
                locator=_PrefixLocator(locator, after_path),
                index=index,
                kind=resource.kind,
                namespace=module_address,
                name=resource.name,
                extra={"context": contexts[resource.address]},
            )
        )
    return loaded


def _planned_changes(
    planned: Any, path: str, locator: NodeLocator, loaded: Loaded
) -> list[tuple[Any, Path, Path]]:
    """A plan with only `planned_values` (no resource_changes): its resources, as changes."""
    if not isinstance(planned, dict) or not isinstance(planned.get("root_module"), dict):
        message = "invalid Terraform plan: planned_values has no root_module"
        loaded.problems.append(Problem("GK-PARSE-ERROR", path, 1, message))
        return []
    changes: list[tuple[Any, Path, Path]] = []
    stack: list[tuple[dict[str, Any], Path]] = [
        (planned["root_module"], ("planned_values", "root_module"))
    ]
    while stack:
        module, where = stack.pop(0)
        for index, resource in enumerate(_items(module, "resources", where, path, locator, loaded)):
            at: Path = (*where, "resources", index)
            if not isinstance(resource, dict) or not isinstance(resource.get("values"), dict):
                message = "invalid Terraform plan: a planned resource has no values object"
                loaded.problems.append(
                    Problem("GK-PARSE-ERROR", path, locator.locate(at).line, message)
                )
                continue
            change = {key: resource.get(key) for key in ("address", "type", "mode")}
            change["module_address"] = module.get("address", "")
            change["change"] = {"after": resource["values"]}
            changes.append((change, at, (*at, "values")))
        for index, child in enumerate(
            _items(module, "child_modules", where, path, locator, loaded)
        ):
            if isinstance(child, dict):
                stack.append((child, (*where, "child_modules", index)))
    return changes


def _items(
    holder: dict[str, Any], key: str, where: Path, path: str, locator: NodeLocator, loaded: Loaded
) -> list[Any]:
    value = holder.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        line = locator.locate((*where, key)).line
        message = f"invalid Terraform plan: {key} must be a list"
        loaded.problems.append(Problem("GK-PARSE-ERROR", path, line, message))
        return []
    return value


def _with_unknowns(value: Any, unknown: Any) -> Any:
    """`after` with every value marked in `after_unknown` set to UNKNOWN, and nulls dropped."""
    if unknown is True:
        return UNKNOWN
    if isinstance(value, dict):
        unknown_map = unknown if isinstance(unknown, dict) else {}
        out = {
            key: _with_unknowns(item, unknown_map.get(key))
            for key, item in value.items()
            if item is not None or unknown_map.get(key) is True
        }
        for key, flag in unknown_map.items():
            if flag is True and key not in out:
                out[key] = UNKNOWN
        return out
    if isinstance(value, list):
        unknown_list = unknown if isinstance(unknown, list) else []
        return [
            _with_unknowns(item, unknown_list[i] if i < len(unknown_list) else None)
            for i, item in enumerate(value)
        ]
    return value


def _config_references(configuration: Any) -> dict[str, list[tuple[str, str]]]:
    """Config address -> (attribute, referenced config address), from every module."""
    result: dict[str, list[tuple[str, str]]] = {}

    def walk(module: Any, prefix: str) -> None:
        if not isinstance(module, dict):
            return
        resources = [r for r in module.get("resources") or [] if isinstance(r, dict)]
        addresses = {prefix + str(r.get("address", "")) for r in resources}
        calls = module.get("module_calls") or {}
        addresses |= {f"{prefix}module.{name}" for name in calls}
        for resource in resources:
            refs: list[tuple[str, str]] = []
            for attribute, expression in (resource.get("expressions") or {}).items():
                for reference in _expression_refs(expression):
                    target = _longest_known(prefix + reference, addresses)
                    if target:
                        refs.append((attribute, target))
            result[prefix + str(resource.get("address", ""))] = refs
        for name, call in calls.items():
            if isinstance(call, dict):
                walk(call.get("module"), f"{prefix}module.{name}.")

    root = configuration.get("root_module") if isinstance(configuration, dict) else None
    walk(root, "")
    return result


def _expression_refs(expression: Any) -> Iterator[str]:
    if isinstance(expression, dict):
        references = expression.get("references")
        if isinstance(references, list):
            yield from (str(reference) for reference in references)
        for key, value in expression.items():
            if key != "references":
                yield from _expression_refs(value)
    elif isinstance(expression, list):
        for item in expression:
            yield from _expression_refs(item)


def _longest_known(reference: str, addresses: set[str]) -> str:
    parts = _INSTANCE_KEY.sub("", reference).split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in addresses:
            return candidate
    return ""


@dataclass(frozen=True)
class _PrefixLocator:
    """A plan resource's `after` values located in the plan file."""

    parent: NodeLocator
    prefix: Path

    def locate(self, path: Path) -> Location:
        return self.parent.locate((*self.prefix, *path))
