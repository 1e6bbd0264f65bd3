"""Field references of a Kubernetes policy, checked against the schemas of its kinds at load.

`item.securityContext.privilegd` is never set, so a rule reading it passes everything, silently.
Where a policy matches Kubernetes kinds that have a schema (gatekeeper.kubeschema), every
`object.a.b` and `item.a.b` its rule, condition, messages and `field` name must exist in some
version of one of those kinds. The reading is textual and conservative: string literals are
ignored, a chain stops at a method call or an index, and anything unsure passes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from gatekeeper import kubeschema, lazy_re
from gatekeeper.errors import PolicyError
from gatekeeper.fieldpath import FieldPathError, Path, Pattern, format_path, parse
from gatekeeper.policy.hints import did_you_mean
from gatekeeper.policy.model import PLACEHOLDER, Policy

KUBERNETES_SOURCES = ("kubernetes", "helm", "kustomize")
_STRING = lazy_re.compile(r"""("(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*')""")
_COMMENT = lazy_re.compile(r"//[^\n]*")
_CHAIN = lazy_re.compile(r"(?<![\w.])(object|item)((?:\s*\.\s*\??\s*[A-Za-z_]\w*(?!\w|\s*\())+)")
_STEP = lazy_re.compile(r"\.\s*\??\s*([A-Za-z_]\w*)")
# Comprehension macros that can rebind `item` or `object` inside their body.
_REBIND = lazy_re.compile(r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(\s*(?:item|object)\s*,")


def check_references(policy: Policy, line: Callable[[Path, int], int]) -> None:
    """Raise PolicyError for the first field no schema of the policy's kinds has.

    `line(path, offset)` gives the file line of a character of a string in the policy file.
    """
    if policy.match.source not in KUBERNETES_SOURCES or policy.scope != "document":
        return
    kinds = sorted(kind for kind in policy.match.kinds if kubeschema.has_kind(kind))
    if not kinds or len(kinds) != len(policy.match.kinds):
        return  # no kinds (every kind) or a kind with no schema: nothing to check against
    for pattern in policy.each:
        what = f"each: {format_path(pattern)}"
        _check(policy, kinds, [()], pattern, what, line(("each",), 0))
    subjects: list[Pattern] = list(policy.each) or [()]
    for key, text, start in _expressions(policy):
        if _REBIND.search(text):
            continue
        for variable, steps, offset in _chains(text):
            bases: list[Pattern] = [()] if variable == "object" else subjects
            what = f"{'.'.join(key)}: {variable}.{'.'.join(steps)}"
            _check(policy, kinds, bases, steps, what, line(key, start + offset))
    if policy.field_path:
        path = policy.field_path
        _check(policy, kinds, subjects, path, f"field: {format_path(path)}", line(("field",), 0))
    for text in (policy.fix or {}).get("set", {}):
        try:
            pattern = parse(str(text))
        except FieldPathError as error:
            raise PolicyError(f"fix.set: {error}", policy.file, line(("fix", "set"), 0)) from None
        what = f"fix.set: {text}"
        _check(policy, kinds, subjects, pattern, what, line(("fix", "set", str(text)), 0))


def _expressions(policy: Policy) -> Iterator[tuple[tuple[str, ...], str, int]]:
    """(path of the key in the policy file, CEL text, offset of the text in the key's value)."""
    yield ("rule",), policy.rule.source, 0
    if policy.match.condition is not None:
        yield ("match", "condition"), policy.match.condition.source, 0
    if policy.message_expression is not None:
        yield ("messageExpression",), policy.message_expression.source, 0
    for found in PLACEHOLDER.finditer(policy.message):
        yield ("message",), found.group(1), found.start(1)


def _chains(text: str) -> Iterator[tuple[str, tuple[str, ...], int]]:
    """(variable, field names, offset) of each `item.a.?b` chain outside strings and comments."""
    blank = _COMMENT.sub(_spaces, _STRING.sub(_spaces, text))  # same length: same offsets
    for found in _CHAIN.finditer(blank):
        yield found.group(1), tuple(_STEP.findall(found.group(2))), found.start()


def _spaces(found: re.Match[str]) -> str:
    return " " * len(found.group(0))


def _check(
    policy: Policy,
    kinds: list[str],
    bases: list[Pattern],
    steps: tuple[Any, ...],
    what: str,
    line: int,
) -> None:
    failures: list[tuple[int, bool, str, str]] = []  # (depth, close match, kind, message)
    for kind in kinds:
        for base in bases:
            found = kubeschema.unknown_field(kind, (*base, *steps))
            if found is None:
                return
            index = found[0] - len(base)
            if index < 0:
                continue  # no such subject in this kind (`each` is checked on its own)
            name = str(steps[index])
            hint = did_you_mean(name, found[1])
            failures.append((index, bool(hint), kind, f"{kind} has no field {name!r} here{hint}"))
    if failures:
        *_, message = max(failures, key=lambda failure: failure[:2])
        raise PolicyError(f"{what}: {message}", policy.file, line)
