"""The CEL environment policies run in.

cel-expr-python (Google's cel-cpp) was picked by measurement (benchmarks/cel_libraries.py): on
a Deployment-sized object one evaluation costs ~8-10 us, against ~30-70 us for the cel-rust
bindings and ~250-450 us for the pure-Python cel-python. It has the optional-field syntax
(`a.?b.orValue(x)`), the strings extension and `cel.bind`, as Kubernetes' CEL does; the
Kubernetes `sets` library is added here.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

from cel_expr_python import cel
from cel_expr_python.ext import (
    ext_bindings,
    ext_encoders,
    ext_math,
    ext_optional,
    ext_strings,
)

VARIABLES = ("object", "item", "params", "inventory", "path", "context")


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


@functools.cache
def environment() -> Any:
    return cel.NewEnv(
        variables={name: cel.Type.DYN for name in VARIABLES},
        extensions=[
            ext_strings.ExtStrings(),
            ext_optional.ExtOptional(),
            ext_math.ExtMath(),
            ext_encoders.ExtEncoders(),
            ext_bindings.ExtBindings(),
        ],
        functions=_declarations(),
    )


class Program:
    """A compiled CEL expression."""

    def __init__(self, source: str) -> None:
        self.source = source
        try:
            self._expression = environment().compile(source)
        except RuntimeError as error:
            raise CelError(_clean(str(error))) from None

    def evaluate(self, data: dict[str, Any]) -> Any:
        value = self._expression.eval(data=data)
        if value.type() == cel.Type.ERROR:
            raise CelError(_clean(str(value.value())))
        return value.plain_value()


def _clean(message: str) -> str:
    """cel-cpp messages carry status codes; keep what a policy author needs."""
    message = re.sub(r"^[A-Z_]+: ", "", message.strip())
    return re.sub(r" \[[A-Z_]+\]$", "", message).replace("ERROR: <input>:", "at ")
