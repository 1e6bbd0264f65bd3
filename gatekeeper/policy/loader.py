"""Load a policy bundle: validate every file against the shipped schema, compile CEL once."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path as FsPath
from typing import Any

from gatekeeper.cache import ValidatedSet, digest
from gatekeeper.errors import PolicyError, UsageError
from gatekeeper.fieldpath import FieldPathError, concrete, parse
from gatekeeper.policy.cel import CelError, Program
from gatekeeper.policy.model import Match, Policy
from gatekeeper.yamldoc import NodeLocator, read_single

POLICY_SUFFIXES = (".yaml", ".yml")
# Directories inside a policy bundle that hold test inputs, not policies.
FIXTURE_DIRS = frozenset({"fixtures", "testdata", "tests"})


def builtin_dir() -> FsPath:
    """The built-in library (`policies/` in the repo, `gatekeeper_policies` when installed)."""
    import gatekeeper_policies  # type: ignore[import-not-found,unused-ignore]

    return FsPath(gatekeeper_policies.__file__).parent


@functools.cache
def policy_schema_text() -> str:
    return resources.files("gatekeeper").joinpath("schemas/policy.schema.json").read_text()


@functools.cache
def policy_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(policy_schema_text())
    return schema


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


def load_bundle(roots: Iterable[FsPath]) -> list[Policy]:
    """Every policy under `roots`; a later root's policy replaces an earlier one with its id."""
    by_id: dict[str, Policy] = {}
    validated = ValidatedSet()
    for root in roots:
        seen_here: dict[str, str] = {}
        for file in policy_files(root):
            if is_admission_file(file):
                continue  # a ValidatingAdmissionPolicy: gatekeeper.admission runs it
            policy = load_policy_file(file, pack_root=root, validated=validated)
            if policy.id in seen_here:
                raise PolicyError(
                    f"duplicate policy id {policy.id} (also in {seen_here[policy.id]})", str(file)
                )
            seen_here[policy.id] = str(file)
            by_id[policy.id] = policy
    validated.save()
    return sorted(by_id.values(), key=lambda policy: policy.id)


def is_admission_file(file: FsPath) -> bool:
    """A ValidatingAdmissionPolicy (or its binding) kept among the policies."""
    try:
        head = file.read_bytes()[:65536]
    except OSError:
        return False
    from gatekeeper.admission import names_policy

    return names_policy(head)


def load_policy_file(
    file: FsPath, pack_root: FsPath | None = None, validated: ValidatedSet | None = None
) -> Policy:
    name = str(file)
    try:
        data = file.read_bytes()
    except OSError as error:
        raise PolicyError(f"cannot read policy: {error.strerror}", name) from None
    document = read_single(name, data, "a policy file", PolicyError)
    if document is None:
        raise PolicyError("a policy file holds exactly one YAML document", name, 1)
    locator = NodeLocator(name, document.node)
    key = digest(policy_schema_text(), data)
    if validated is None or key not in validated:
        validate(document.obj, policy_schema(), name, locator)
        if validated is not None:
            validated.add(key)
    pack = ""
    if pack_root is not None and pack_root.is_dir():
        relative = file.parent.relative_to(pack_root)
        pack = relative.parts[0] if relative.parts else pack_root.name
    return compile_policy(document.obj, name, locator, pack)


def validate(
    obj: Any,
    schema: dict[str, Any],
    file: str,
    locator: NodeLocator,
    error_type: type[UsageError] = PolicyError,
) -> None:
    """Schema-validate, reporting the most relevant error at its line."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(obj))
    if error is None:
        return
    path = tuple(error.absolute_path)
    where = ".".join(str(key) for key in path) or "(top level)"
    line = locator.locate(path).line
    raise error_type(f"{where}: {error.message}", file, line)


def compile_policy(raw: dict[str, Any], file: str, locator: NodeLocator, pack: str) -> Policy:
    def line(*path: str | int) -> int:
        return locator.locate(path).line

    def program(source: str, *path: str | int) -> Program:
        try:
            return Program(source)
        except CelError as error:
            raise PolicyError(
                f"{'.'.join(map(str, path))}: invalid CEL: {error}", file, line(*path)
            ) from None

    match_raw = raw["match"]
    match = Match(
        source=match_raw["source"],
        kinds=frozenset(match_raw.get("kinds", ())),
        namespaces=frozenset(match_raw.get("namespaces", ())),
        exclude_namespaces=frozenset(match_raw.get("excludeNamespaces", ())),
        condition=program(match_raw["condition"], "match", "condition")
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
    if raw.get("scope") == "repository" and each:
        raise PolicyError(
            "each: a repository-scope policy iterates the inventory", file, line("each")
        )
    return Policy(
        id=raw["id"],
        title=raw["title"],
        severity=raw["severity"],
        description=raw["description"].strip(),
        remediation=raw["remediation"].strip(),
        match=match,
        rule=program(raw["rule"], "rule"),
        file=file,
        pack=raw.get("pack", pack),
        references=tuple(raw.get("references", ())),
        each=each,
        field_path=field,
        message=raw.get("message", raw["title"]),
        message_expression=program(raw["messageExpression"], "messageExpression")
        if "messageExpression" in raw
        else None,
        params=dict(raw.get("params", {})),
        fix=raw.get("fix"),
        tests=list(raw.get("tests", [])),
        scope=raw.get("scope", "document"),
        raw=raw,
    )
