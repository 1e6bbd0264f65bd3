"""Load a policy bundle: validate every file against the shipped schema, compile CEL once."""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path as FsPath
from typing import Any, NamedTuple

from gatekeeper import lazy_re
from gatekeeper.cache import ValidatedSet, digest
from gatekeeper.document import Location
from gatekeeper.errors import PolicyError
from gatekeeper.fieldpath import FieldPathError, Path, concrete, parse
from gatekeeper.policy.cel import VARIABLES, CelError, Program
from gatekeeper.policy.hints import did_you_mean
from gatekeeper.policy.model import PLACEHOLDER, Match, Policy
from gatekeeper.policy.params import check_schema, params_schema
from gatekeeper.policy.references import check_references
from gatekeeper.policy.schema import validate as validate  # also for config and waivers
from gatekeeper.yamldoc import NodeLocator, decode, read_single

POLICY_SUFFIXES = (".yaml", ".yml")
# Directories inside a policy bundle that hold test inputs, not policies.
FIXTURE_DIRS = frozenset({"fixtures", "testdata", "tests"})


def builtin_dir() -> FsPath:
    """The built-in library (`policies/` in the repo, `gatekeeper_policies` when installed)."""
    import gatekeeper_policies  # type: ignore[import-not-found,unused-ignore]

    return FsPath(gatekeeper_policies.__file__).parent


@functools.cache
def policy_schema_text() -> str:
    from gatekeeper.config import schema_text

    return schema_text("policy.schema.json")


@functools.cache
def policy_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(policy_schema_text())
    return schema


def display_file(file: str) -> str:
    """A policy file as a reader knows it: `built-in kubernetes/x.yaml`, or its path."""
    try:
        return f"built-in {FsPath(file).resolve().relative_to(builtin_dir().resolve()).as_posix()}"
    except ValueError:
        return file


def where(policy: Policy) -> str:
    """`file:line` of a policy's id, for messages that point at two policies."""
    return f"{display_file(policy.file)}:{policy.line('id')}"


def policy_files(root: FsPath) -> Iterator[FsPath]:
    if root.is_file():
        yield root
        return
    if not root.is_dir():
        raise PolicyError("policy directory does not exist", str(root))
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in FIXTURE_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            if name.endswith(POLICY_SUFFIXES) and not name.startswith("."):
                yield FsPath(directory, name)


def load_bundle(
    roots: Iterable[FsPath],
    standalone: bool = False,
    admission: list[tuple[FsPath, bytes]] | None = None,
) -> list[Policy]:
    """Every policy under `roots`.

    An id may appear once; a later root's policy replaces an earlier one only when it says
    `overrides: ID`, and the replacement is recorded on it (`Policy.replaced`) so every report
    can show it: a custom file must not quietly weaken a built-in policy. `standalone`: the
    roots are loaded without what they override (`gatekeeper test DIR`), so an `overrides`
    target may be absent. `admission`: gets the admission policy files met on the way (with
    their bytes), which gatekeeper.admission runs: the roots are walked and read once.
    """
    by_id: dict[str, Policy] = {}
    validated = ValidatedSet()
    for root in roots:
        seen_here: dict[str, Policy] = {}
        packs = _Packs(root)
        for file in policy_files(root):
            try:
                data: bytes | None = file.read_bytes()  # once, for both questions
            except OSError:
                data = None  # load_policy_file says why
            if data is not None and is_admission_file(file, data):
                if admission is not None:  # a ValidatingAdmissionPolicy: not ours to compile
                    admission.append((file, data))
                continue
            policy = load_policy_file(
                file, pack_root=root, validated=validated, data=data, pack=packs.of(file)
            )
            here = seen_here.get(policy.id)
            if here is not None:
                raise PolicyError(
                    f"duplicate policy id {policy.id} (also in {where(here)})",
                    policy.file,
                    policy.line("id"),
                )
            seen_here[policy.id] = policy
            _place(policy, by_id, standalone)
    validated.save()
    return sorted(by_id.values(), key=lambda policy: policy.id)


def _place(policy: Policy, by_id: dict[str, Policy], standalone: bool) -> None:
    """Add `policy` to the bundle, replacing an earlier policy only if it says so."""
    earlier = by_id.get(policy.id)
    if policy.overrides:
        replaced = by_id.pop(policy.overrides, None)
        if replaced is None and not standalone:
            raise PolicyError(
                f"overrides: no earlier policy has id {policy.overrides}"
                f"{did_you_mean(policy.overrides, by_id)}",
                policy.file,
                policy.line("overrides"),
            )
        if earlier is not None and earlier is not replaced:
            raise PolicyError(
                f"duplicate policy id {policy.id} (also in {where(earlier)}); "
                f"it overrides {policy.overrides}, not {policy.id}",
                policy.file,
                policy.line("id"),
            )
        policy.replaced = where(replaced) if replaced is not None else ""
    elif earlier is not None:
        raise PolicyError(
            f"duplicate policy id {policy.id} (also in {where(earlier)}); "
            f"to replace that policy, say so with `overrides: {policy.id}`",
            policy.file,
            policy.line("id"),
        )
    by_id[policy.id] = policy


def is_admission_file(file: FsPath, data: bytes | None = None) -> bool:
    """A ValidatingAdmissionPolicy (or its binding) kept among the policies (`data`: the
    file's bytes, when read already)."""
    try:
        head = (file.read_bytes() if data is None else data)[:65536]
    except OSError:
        return False
    from gatekeeper.admission import names_policy

    # The admission kinds at the top level: a policy of ours whose tests hold one as input
    # (indented under `input: |`) is still ours, not skipped.
    if not names_policy(head):
        return False
    return head.lstrip().startswith((b"{", b"[")) or _TOP_LEVEL_ADMISSION.search(head) is not None


_TOP_LEVEL_ADMISSION = lazy_re.compile(
    rb"^kind:[ \t]*[\"']?(?:ValidatingAdmissionPolicy(?:Binding)?|ValidatingPolicy"
    rb"(?:Binding)?)[\"']?[ \t]*(?:#.*)?\r?$",
    re.MULTILINE,
)


class _Packs:
    """The pack of each policy file below a root (its first folder there, else the root's
    name), worked out once per folder: a bundle's files share a few dozen."""

    def __init__(self, root: FsPath) -> None:
        self.root = root
        self.is_dir = root.is_dir()
        self.by_folder: dict[FsPath, str] = {}

    def of(self, file: FsPath) -> str:
        if not self.is_dir:
            return ""
        folder = file.parent
        pack = self.by_folder.get(folder)
        if pack is None:
            relative = folder.relative_to(self.root)
            pack = self.by_folder[folder] = relative.parts[0] if relative.parts else self.root.name
        return pack


def load_policy_file(
    file: FsPath,
    pack_root: FsPath | None = None,
    validated: ValidatedSet | None = None,
    data: bytes | None = None,
    pack: str | None = None,
) -> Policy:
    """The policy of `file` (`data`: its bytes, when read already; `pack`: its pack below
    `pack_root`, when known already)."""
    name = str(file)
    if data is None:
        try:
            data = file.read_bytes()
        except OSError as error:
            raise PolicyError(f"cannot read policy: {error.strerror}", name) from None
    if pack is None:
        pack = _Packs(pack_root).of(file) if pack_root is not None else ""
    key = digest(policy_schema_text(), data)
    known = validated.parsed(key) if validated is not None else None
    if known is not None:  # validated, compiled and parsed before: these exact bytes
        raw, lines = known
        return compile_policy(raw, name, KeyLines(name, lines), pack, compiled=True)
    document = read_single(name, data, "a policy file", PolicyError)
    if document is None:
        raise PolicyError("a policy file holds exactly one YAML document", name, 1)
    locator = NodeLocator(name, document.node)
    check = validated is None or key not in validated
    if check:
        validate(document.obj, policy_schema(), name, locator)
        check_policy_params(document.obj, name, locator)
    policy = compile_policy(document.obj, name, locator, pack, decode(data), compiled=not check)
    if check:
        text = decode(data)
        check_references(policy, lambda path, offset: scalar_line(locator, path, text, offset))
    if validated is not None:
        validated.add(key)
        validated.remember(key, document.obj, policy.lines)
    return policy


class KeyLines(NamedTuple):
    """The line of each top-level key of a policy file whose content comes from the cache:
    all that locating its keys needs (a deeper path is located at its top-level key, as a
    tree of only those keys would locate it)."""

    file: str
    lines: dict[str, int]

    def locate(self, path: Path) -> Location:
        key = path[0] if path else None
        line = self.lines.get(key, 1) if isinstance(key, str) else 1
        return Location(self.file, line, exact=len(path) == 1 and key in self.lines)


def check_policy_params(raw: dict[str, Any], file: str, locator: NodeLocator) -> None:
    """The policy's params schema is a schema, and its defaults and test params fit it."""
    if "paramsSchema" in raw:
        check_schema(raw["paramsSchema"], file, locator)
    schema = params_schema(raw)
    validate(raw.get("params", {}), schema, file, locator, at=("params",))
    for index, case in enumerate(raw.get("tests", [])):
        if "params" in case:
            merged = {**raw.get("params", {}), **case["params"]}
            validate(merged, schema, file, locator, at=("tests", index, "params"))


def compile_policy(
    raw: dict[str, Any],
    file: str,
    locator: NodeLocator | KeyLines,
    pack: str,
    text: str = "",
    compiled: bool = False,
) -> Policy:
    """The policy of a validated file. `compiled`: these exact bytes compiled before (the
    validated-file cache says so), so their CEL is compiled on first use, not checked now."""

    def line(*path: str | int) -> int:
        return locator.locate(path).line

    def program(source: str, returns: tuple[str, ...], *path: str | int) -> Program:
        if compiled:
            return Program(source, lazy=True)
        try:
            compiled_program = Program(source)
        except CelError as error:
            raise PolicyError(
                f"{'.'.join(map(str, path))}: invalid CEL: {error}",
                file,
                cel_error_line(error, locator, path, text)
                if isinstance(locator, NodeLocator)
                else line(*path),
            ) from None
        result = compiled_program.result_type()
        if result not in (*returns, "DYN"):
            raise PolicyError(
                f"{'.'.join(map(str, path))}: must give a {' or '.join(returns).lower()},"
                f" gives {result.lower()}",
                file,
                line(*path),
            )
        return compiled_program

    match_raw = raw["match"]
    match = Match(
        source=match_raw["source"],
        kinds=frozenset(match_raw.get("kinds", ())),
        namespaces=frozenset(match_raw.get("namespaces", ())),
        exclude_namespaces=frozenset(match_raw.get("excludeNamespaces", ())),
        condition=program(match_raw["condition"], ("BOOL",), "match", "condition")
        if "condition" in match_raw
        else None,
    )
    each_raw = raw.get("each", [])
    each_list = [each_raw] if isinstance(each_raw, str) else list(each_raw)
    try:
        each = tuple(parse(pattern) for pattern in each_list)
    except FieldPathError as error:
        raise PolicyError(f"each: {error}", file, line("each")) from None
    try:
        field = concrete(parse(raw.get("field", "")))
    except FieldPathError as error:
        raise PolicyError(f"field: {error}", file, line("field")) from None
    locate_raw = raw.get("locate", [])
    try:
        locate = tuple(
            concrete(parse(path))
            for path in ([locate_raw] if isinstance(locate_raw, str) else locate_raw)
        )
    except FieldPathError as error:
        raise PolicyError(f"locate: {error}", file, line("locate")) from None
    if raw.get("scope") == "repository" and each:
        raise PolicyError(
            "each: a repository-scope policy iterates the inventory", file, line("each")
        )
    if "inventoryKinds" in raw and raw.get("scope") != "repository":
        raise PolicyError(
            "inventoryKinds: only a repository-scope policy counts the inventory",
            file,
            line("inventoryKinds"),
        )
    if "group" in raw and raw.get("scope") != "repository":
        raise PolicyError(
            "group: only a repository-scope policy groups its findings", file, line("group")
        )
    schema = params_schema(raw)
    message = raw.get("message", raw["title"])
    check_placeholders(message, schema, file, line("message") if "message" in raw else 1)
    return Policy(
        id=raw["id"],
        title=raw["title"],
        severity=raw["severity"],
        description=raw["description"].strip(),
        remediation=raw["remediation"].strip(),
        match=match,
        rule=program(raw["rule"], ("BOOL",), "rule"),
        file=file,
        pack=raw.get("pack", pack),
        references=tuple(raw.get("references", ())),
        each=each,
        field_path=field,
        locate_paths=locate,
        message=message,
        message_expression=program(raw["messageExpression"], ("STRING",), "messageExpression")
        if "messageExpression" in raw
        else None,
        params=dict(raw.get("params", {})),
        params_schema=schema,
        fix=raw.get("fix"),
        tests=list(raw.get("tests", [])),
        scope=raw.get("scope", "document"),
        inventory_kinds=program(raw["inventoryKinds"], ("LIST<STRING>",), "inventoryKinds")
        if "inventoryKinds" in raw
        else None,
        overrides=raw.get("overrides", ""),
        group=raw.get("group", "object"),
        lines=_key_lines(raw, locator),
        raw=raw,
    )


def _key_lines(raw: dict[str, Any], locator: NodeLocator | KeyLines) -> dict[str, int]:
    """The line of each top-level key (from the cache's record of them when it has one)."""
    if isinstance(locator, KeyLines):
        lines = locator.lines  # as KeyLines.locate has them, without a Location each
        return {str(key): lines.get(key, 1) if isinstance(key, str) else 1 for key in raw}
    return {str(key): locator.locate((key,)).line for key in raw}


def cel_error_line(error: CelError, locator: NodeLocator, path: Path, text: str) -> int:
    """The file line of a CEL error's `at LINE:COLUMN`, inside a multi-line YAML scalar."""
    found = re.match(r"at (\d+):(\d+):", str(error))
    node = locator.node_at(path)
    if found is None or node is None or not isinstance(node.value, str):
        return locator.locate(path).line
    cel_line, column = int(found.group(1)), int(found.group(2))
    starts = [0, *(index + 1 for index, char in enumerate(node.value) if char == "\n")]
    if cel_line > len(starts):
        return locator.locate(path).line
    return scalar_line(locator, path, text, starts[cel_line - 1] + column - 1)


def scalar_line(locator: NodeLocator, path: Path, text: str, offset: int) -> int:
    """The file line of character `offset` of the string value at `path` (a YAML scalar that
    may span lines: literal `|`, folded `>` or plain), given the file's text."""
    node = locator.node_at(path)
    fallback = locator.locate(path).line
    if node is None or not text or not isinstance(node.value, str):
        return fallback
    source: str = node.value
    # Find each YAML line's text in the scalar's value, in order.
    lines = text.splitlines()
    best, position = fallback, 0
    first = node.start_mark.line + (1 if getattr(node, "style", None) in ("|", ">") else 0)
    for number in range(first, min(node.end_mark.line + 1, len(lines))):
        content = lines[number].strip()
        if number == node.start_mark.line:
            content = lines[number][node.start_mark.column :].strip().lstrip("\"'")
        if not content:
            continue
        at = source.find(content, position)
        if at < 0:
            continue
        if at > offset:
            break
        best, position = number + 1, at + len(content)
    return best


def check_placeholders(message: str, schema: dict[str, Any], file: str, line: int) -> None:
    """Every `{{ ... }}` of a message names a variable (and a declared param): a misspelt
    placeholder would render empty in every finding."""
    for found in PLACEHOLDER.finditer(message):
        text = found.group(1)
        try:
            pattern = parse(text)
        except FieldPathError as error:
            raise PolicyError(f"message: {{{{ {text} }}}}: {error}", file, line) from None
        root = pattern[0] if pattern else ""
        if not isinstance(root, str) or root not in VARIABLES:
            raise PolicyError(
                f"message: {{{{ {text} }}}}: unknown variable {root!r}"
                f"{did_you_mean(str(root), VARIABLES)}; use one of {', '.join(VARIABLES)}",
                file,
                line,
            )
        declared = schema.get("properties")
        if root == "params" and len(pattern) > 1 and isinstance(declared, dict):
            name = pattern[1]
            if isinstance(name, str) and name not in declared:
                raise PolicyError(
                    f"message: {{{{ {text} }}}}: the policy has no param {name!r}"
                    f"{did_you_mean(name, declared)}",
                    file,
                    line,
                )
