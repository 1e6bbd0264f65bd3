"""The CEL environment policies run in.

cel-expr-python (Google's cel-cpp) was picked by measurement (benchmarks/cel_libraries.py): on
a Deployment-sized object one evaluation costs ~8-10 us, against ~30-70 us for the cel-rust
bindings and ~250-450 us for the pure-Python cel-python. It has the optional-field syntax
(`a.?b.orValue(x)`), the strings extension and `cel.bind`, as Kubernetes' CEL does; the
Kubernetes `sets` library is added here.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cel_expr_python import cel
from cel_expr_python.ext import ext_bindings, ext_optional, ext_strings

from gatekeeper import lazy_re

VARIABLES = ("object", "item", "params", "inventory", "path", "context")
# Only in the batch environment (see Program.evaluate_in): never visible to policy authors.
BATCH_VARIABLES = ("gk_subjects", "gk_items")


class CelError(ValueError):
    """A CEL expression that does not compile, or an evaluation that errs."""


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(item) for item in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), _hashable(v)) for k, v in value.items()))
    return value


def _set(values: Iterable[Any]) -> set[Any]:
    return {_hashable(value) for value in values}


def _sets_contains(a: list[Any], b: list[Any]) -> bool:
    return _set(b) <= _set(a)


def _sets_intersects(a: list[Any], b: list[Any]) -> bool:
    return bool(_set(a) & _set(b))


def _sets_equivalent(a: list[Any], b: list[Any]) -> bool:
    return _set(a) == _set(b)


def _regex_find(text: str, pattern: str) -> str:
    match = re.search(pattern, text)
    return match.group(0) if match else ""


def _regex_find_all(text: str, pattern: str) -> list[str]:
    return [match.group(0) for match in re.finditer(pattern, text)]


def _declarations() -> list[Any]:
    dyn_list = cel.Type.List(cel.Type.DYN)
    sets = [
        cel.FunctionDecl(
            f"sets.{name}",
            [cel.Overload(f"sets_{name}_list_list", cel.Type.BOOL, [dyn_list, dyn_list], impl=fn)],
        )
        for name, fn in (
            ("contains", _sets_contains),
            ("intersects", _sets_intersects),
            ("equivalent", _sets_equivalent),
        )
    ]
    regex = [
        cel.FunctionDecl(
            "find",
            [
                cel.Overload(
                    "string_find_string",
                    cel.Type.STRING,
                    [cel.Type.STRING, cel.Type.STRING],
                    is_member=True,
                    impl=_regex_find,
                )
            ],
        ),
        cel.FunctionDecl(
            "findAll",
            [
                cel.Overload(
                    "string_find_all_string",
                    cel.Type.List(cel.Type.STRING),
                    [cel.Type.STRING, cel.Type.STRING],
                    is_member=True,
                    impl=_regex_find_all,
                )
            ],
        ),
    ]
    return sets + regex


def api_server_extensions() -> list[Any]:
    """The cel-go extensions the API server's CEL has (k8s.io/apiserver/pkg/cel/environment:
    strings, optional values; sets and the Kubernetes libraries are declared functions): an
    admission policy of the repository is compiled with these only, as the cluster compiles
    it (one calling cel.bind, math. or base64. does not compile there)."""
    return [ext_strings.ExtStrings(), ext_optional.ExtOptional()]


def _unnamespaced_extensions() -> list[Any]:
    """The extensions policies are compiled with: the API server's, and cel.bind (policies
    bind names freely: gatekeeper.cel_unbind writes them out for export), without those whose
    functions all live in a namespace (`math.`, `base64.`: _namespaced_extension)."""
    return [*api_server_extensions(), ext_bindings.ExtBindings()]


def _namespaced_extension(namespace: str) -> Any:
    if namespace == "math":
        from cel_expr_python.ext import ext_math

        return ext_math.ExtMath()
    from cel_expr_python.ext import ext_encoders

    return ext_encoders.ExtEncoders()


# Names an expression calls the math and encoders extensions by (`math.greatest`,
# `base64.decode`). Each is its own shared library of about 7 MB, of which loading touches
# about 3 MB (2.7 MB of a process's PSS each): each is loaded only for an expression that
# mentions its namespace (conservatively: anywhere, a string or a field named so included).
# Of the built-in policies only K8S-CONFIGMAP-BINARY-CREDENTIALS names one (`base64`).
_NAMESPACED = lazy_re.compile(r"\b(?:math|base64)\b")


@functools.cache
def environment(batch: bool = False, namespaces: tuple[str, ...] = ("base64", "math")) -> Any:
    """The environment expressions compile in, with the extensions of `namespaces` (see
    _NAMESPACED) besides the others. An Activation of any serves a program of any: the
    extensions' functions are bound in the compiled program."""
    names = VARIABLES + BATCH_VARIABLES if batch else VARIABLES
    return cel.NewEnv(
        variables={name: cel.Type.DYN for name in names},
        extensions=_unnamespaced_extensions() + [_namespaced_extension(n) for n in namespaces],
        functions=_declarations(),
    )


def _environment_for(text: str, batch: bool) -> Any:
    return environment(batch, tuple(sorted(set(_NAMESPACED.findall(text)))))


def compile_cached(text: str, batch: bool = False) -> Any:
    """`environment(batch).compile(text)` (RuntimeError when it does not compile); the checked
    expression is kept in the user cache (gatekeeper.cache.Entries) under a digest of the
    text, this module and the installed cel-expr-python, so a pre-commit run deserializes
    what an earlier run compiled: about a fifth of the cost. Only what compiled is kept."""
    key = _compiled_key(text, batch)
    if key is not None:
        found = _compiled_store().get(key)
        if isinstance(found, str):
            try:
                return _environment_for(text, batch).deserialize(
                    base64.b64decode(found, validate=True)
                )
            except (RuntimeError, ValueError):
                pass  # not what we wrote: compiled again
    expression = _environment_for(text, batch).compile(text)
    if key is not None:
        _compiled_store().put(key, base64.b64encode(expression.serialize()).decode())
    return expression


@functools.cache
def _code_digest() -> str | None:
    from gatekeeper.cache import installed

    record = installed("cel_expr_python", "cel_expr_python")
    if record is None:
        return None
    with open(__file__, "rb") as source:
        return hashlib.sha256(source.read() + b"\0" + record).hexdigest()


def _compiled_key(text: str, batch: bool) -> str | None:
    code = _code_digest()
    if code is None:
        return None
    flag = b"batch" if batch else b"plain"
    data = text.encode("utf-8", "surrogatepass")
    return hashlib.sha256(f"{code}\0".encode() + flag + b"\0" + data).hexdigest()


def _compiled_store() -> Any:
    """One store per cache directory (GATEKEEPER_CACHE_DIR may change between runs in tests)."""
    from gatekeeper.cache import cache_dir

    return _store_in(str(cache_dir()))


@functools.cache
def _store_in(directory: str) -> Any:
    from gatekeeper.cache import Entries

    return Entries("cel-compiled-v1", root=Path(directory))


def activation(data: dict[str, Any]) -> Any:
    """Variables for many evaluations (Program.evaluate_in).

    cel-cpp converts a Python value into CEL values on the first read of its variable, deep,
    and an Activation keeps what it converted: every evaluation on one Activation shares one
    conversion. Converting a Deployment costs ~20 us, evaluating a rule on it ~1-2 us.
    """
    return environment(batch=True, namespaces=()).Activation(data=data)


class Program:
    """A compiled CEL expression."""

    def __init__(self, source: str, lazy: bool = False) -> None:
        """`lazy`: compile on first use (a policy file that compiled before, unchanged: a
        pre-commit run uses a few of the library's programs and need not compile them all)."""
        self.source = source
        self._compiled: Any = None
        if not lazy:
            self._compile()
        self._wrapped: dict[str, Any] = {}

    def _compile(self) -> Any:
        if self._compiled is None:
            try:
                self._compiled = compile_cached(self.source)
            except RuntimeError as error:
                raise CelError(_clean(str(error))) from None
        return self._compiled

    @property
    def _expression(self) -> Any:
        return self._compiled if self._compiled is not None else self._compile()

    def result_type(self) -> str:
        """The static type of the result: BOOL, STRING, INT..., or DYN when unknown."""
        return str(self._expression.return_type())

    def evaluate(self, data: dict[str, Any]) -> Any:
        try:
            value = self._expression.eval(data=data)
        except RuntimeError as error:  # e.g. the iteration budget (10,000 per evaluation)
            raise CelError(_clean(str(error))) from None
        if value.type() == cel.Type.ERROR:
            raise CelError(_clean(str(value.value())))
        return plain(value)

    def evaluate_in(self, wrapper: str, variables: Any) -> Any:
        """Evaluate `wrapper` with `RULE` standing for this expression, on an Activation.

        The wrapper binds the policy's variables around the rule (`cel.bind(item, ...)`), so one
        evaluation covers many subjects and shares the Activation's converted values. A wrapper
        that does not compile raises CelError, as an evaluation error does: callers then
        evaluate the plain way, which gives the authoritative result and message.
        """
        if wrapper not in self._wrapped:
            try:
                self._wrapped[wrapper] = compile_cached(self.wrapped(wrapper), batch=True)
            except RuntimeError:
                self._wrapped[wrapper] = None
        compiled = self._wrapped[wrapper]
        if compiled is None:
            raise CelError("wrapper does not compile")
        return _evaluate_on(compiled, variables)

    def wrapped(self, wrapper: str) -> str:
        """`wrapper` with `RULE` standing for this expression (newlines: the expression may
        end in a `//` comment)."""
        return wrapper.replace("RULE", f"(\n{self.source}\n)")

    def reads(self, name: str) -> bool:
        """Might the expression read variable `name`? (textual: may say yes wrongly, never no)"""
        return re.search(rf"(?<![\w.]){name}(?!\w)", self.source) is not None

    def fields_read(self, *names: str) -> frozenset[str] | None:
        """The top-level fields of variables `names` the expression reads, or None if unknown.

        Textual and conservative: every occurrence of a name must be `name.field` or
        `name.?field`; anything else (`name[...]`, the bare name, a comprehension variable of
        that name) gives None. Occurrences inside string literals only add fields.
        """
        fields: set[str] = set()
        for name in names:
            for match in re.finditer(rf"(?<![\w.]){name}(?!\w)", self.source):
                tail = re.match(r"\s*\.\??\s*([A-Za-z_]\w*)", self.source[match.end() :])
                if tail is None:
                    return None
                fields.add(tail.group(1))
        return frozenset(fields)


class Batch:
    """Wrapped expressions (Program.wrapped) evaluated as a few lists on one Activation.

    Each evaluation crosses into cel-cpp and back (~4 us before a rule runs, plus its
    result's conversion); a document's twenty-odd policies evaluated as a few lists cross a
    few times. Any part's error is the whole batch's: callers then evaluate the parts one
    by one.

    cel-cpp (cel-expr-python 0.1.3) keeps comprehension variables in slots numbered by
    nesting, and an `all` or `exists` that stops early leaves its slots filled: a later
    `cel.bind` at the same slot then reads that value instead of its own
    (`[["a", "b"].all(c, c == "x"), cel.bind(t, "q", t)]` is `[false, "b"]`). Each
    evaluation starts with empty slots: a part that may stop early ends its list, the next
    part begins another (tests/test_cel_batch.py). One list with the slots emptied between
    such parts nested comprehensions so deep that the compiled program could not be read
    back from the cache (the protocol buffer's nesting limit): every run compiled it."""

    def __init__(self, parts: list[tuple[str | None, str]]) -> None:
        """`parts`: (condition, expression) pairs; a part whose condition is not `true` is
        0, else its expression's value."""
        texts = [_guarded(condition, expression) for condition, expression in parts]
        early = {index for index, text in enumerate(texts) if _EARLY_EXIT.search(text)}
        order = [index for index in range(len(texts)) if index not in early] + sorted(early)
        self._lists: list[list[int]] = [[]]  # the parts of each list, in evaluation order
        for index in order:
            self._lists[-1].append(index)
            if index in early and index != order[-1]:
                self._lists.append([])
        self._size = len(texts)
        self.texts = [
            "[" + ",\n".join(texts[index] for index in chosen) + "]" for chosen in self._lists
        ]
        self._compiled: list[Any] | None = None
        self._compiles = True

    def evaluate_in(self, variables: Any) -> list[Any]:
        """The parts' values, in the order given."""
        if self._compiled is None and self._compiles:
            try:
                self._compiled = [compile_cached(text, batch=True) for text in self.texts]
            except RuntimeError:
                self._compiles = False
        if self._compiled is None:
            raise CelError("batch does not compile")
        found: list[Any] = [None] * self._size
        for chosen, compiled in zip(self._lists, self._compiled, strict=True):
            values = _evaluate_on(compiled, variables)
            if not isinstance(values, list) or len(values) != len(chosen):
                raise CelError(f"batch gave {values!r}")
            for index, value in zip(chosen, values, strict=True):
                found[index] = value
        return found


def judged_with_message(rule: str, message: str) -> str:
    """An expression that is `true` where `rule` holds and `[true, message, true]` where it
    does not: a failing subject's message made in the evaluation that judged it, on the
    values already converted (alone, each message converted the whole object again). A rule
    that gives no bool errs here, as a message that errs does: callers then evaluate the
    plain way. Comprehension slots a part of it may leave filled are emptied (see Batch)
    before the message, and after it for the next subject's rule."""
    before = _emptying(rule) if _EARLY_EXIT.search(rule) else "true"
    after = _emptying(message) if _EARLY_EXIT.search(message) else "true"
    return f"((\n{rule}\n) ? dyn(true) : dyn([{before}, dyn(\n{message}\n), {after}]))"


def passed_or_verdicts(verdicts: str) -> str:
    """An expression that is `true` where the list `verdicts` holds only `true` (every subject
    passes: most policies on most documents), and that list otherwise. Its `filter` runs to
    the end of the list: it leaves no comprehension slot filled (see Batch)."""
    return (
        f"cel.bind(gk_v, (\n{verdicts}\n), "
        "gk_v.filter(gk_x, gk_x != true).size() == 0 ? dyn(true) : dyn(gk_v))"
    )


# Comprehensions that may stop before the end of their range (see Batch); `exists_one` and
# anything spelled alike too: a needless emptying costs little.
_EARLY_EXIT = lazy_re.compile(r"\b(?:all|exists|exists_one)\s*\(")
# Every macro that expands to a comprehension (a superset: `bind` is `cel.bind`, `optMap`
# and `optFlatMap` bind their variable); spelled alike elsewhere, it only deepens an emptying.
_COMPREHENSION = lazy_re.compile(
    r"\b(?:all|exists|exists_one|map|filter|bind|optMap|optFlatMap|transformList|"
    r"transformMap|transformMapEntry|sortBy)\s*\("
)


def _guarded(condition: str | None, expression: str) -> str:
    if condition is None:
        return expression
    emptied = f" && {_emptying(condition)}" if _EARLY_EXIT.search(condition) else ""
    return f"(({condition}) == true{emptied} ? {expression} : dyn(0))"


def _emptying(after: str) -> str:
    """`true`, by comprehensions nested as deep as `after` may nest (no deeper than the
    comprehensions it spells: slots are numbered by comprehension nesting) that run to
    their end, each emptying its slots (see Batch)."""
    depth = len(_COMPREHENSION.findall(after))
    return "".join(f"[0].all(gk_e{level}, " for level in range(depth)) + "true" + ")" * depth


def _evaluate_on(compiled: Any, variables: Any) -> Any:
    """A compiled batch-environment expression's value on an Activation."""
    try:
        value = compiled.eval(activation=variables)
    except RuntimeError as error:
        raise CelError(_clean(str(error))) from None
    if value.type() == cel.Type.ERROR:
        raise CelError(_clean(str(value.value())))
    return plain(value)


def plain(value: Any) -> Any:
    """A CEL result as Python values. cel-expr-python (0.1.3) drops a reference to `None`
    for each null it converts (and one more for the result): enough nulls (a rule mapping
    a thousand containers to null) deallocate None and abort the interpreter. The
    references are given back, with room to spare (a spare one costs nothing)."""
    converted = value.plain_value()
    nones = _nones(converted)
    if nones:
        import ctypes

        give_back = ctypes.pythonapi.Py_IncRef
        give_back.argtypes = [ctypes.py_object]
        for _ in range(2 * nones + 2):
            give_back(None)
    return converted


def _nones(value: Any) -> int:
    if value is None:
        return 1
    if isinstance(value, dict):
        return sum(_nones(item) for item in value.values()) + sum(k is None for k in value)
    if isinstance(value, (list, tuple)):
        return sum(_nones(item) for item in value)
    return 0


def literal(value: Any) -> str | None:
    """`value` as a CEL literal equal to what converting it gives; None when not sure."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if -(2**63) <= value < 2**63 else None
    if isinstance(value, float):
        text = repr(value)
        return text if math.isfinite(value) and any(c in text for c in ".e") else None
    if isinstance(value, str):
        if any(0xD800 <= ord(char) <= 0xDFFF for char in value):
            return None
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        items = [literal(item) for item in value]
        return None if None in items else "[" + ", ".join(items) + "]"  # type: ignore[arg-type]
    if isinstance(value, dict):
        parts = []
        for key, item in value.items():
            key_text, item_text = literal(key), literal(item)
            if key_text is None or item_text is None or not isinstance(key, (str, int, bool)):
                return None
            parts.append(f"{key_text}: {item_text}")
        return "{" + ", ".join(parts) + "}"
    return None


def _clean(message: str) -> str:
    """cel-cpp messages carry status codes; keep what a policy author needs."""
    message = re.sub(r"^[A-Z_]+: ", "", message.strip())
    return re.sub(r" \[[A-Z_]+\]$", "", message).replace("ERROR: <input>:", "at ")
