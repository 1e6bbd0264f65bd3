"""`cel.bind` written out, for the API server's CEL, which has no bindings library.

k8s.io/apiserver's CEL environment (pkg/cel/environment/base.go, through Kubernetes 1.37)
has none of cel-go's Bindings, Math and Encoders extensions: a ValidatingAdmissionPolicy
whose expression calls `cel.bind` does not compile in a cluster. Policies bind names freely,
and the exporter binds the subject of each `each` pattern and its path, so an exported
expression has every `cel.bind(name, init, body)` replaced by `body` reading `(init)` where
it reads `name`. CEL has no side effects: the value is the same, computed at each read.

The expression is rewritten token by token (admission_cost's tokens: strings and comments
are never touched). A read of `name` is an identifier that is not a field (`.name`), not a
call (`name(`) and not inside a macro that binds the same name again (`x.all(name, ...)`,
the two-variable forms too); a `cel.bind` inside `init` or `body` is written out first, so
an inner binding of the same name is resolved before the outer one is substituted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gatekeeper.admission_cost import CostError, tokens

Token = tuple[str, str]  # (kind, text): admission_cost's token kinds, spaces kept

# Macros whose first argument (and second, in their two-variable forms) names a variable
# visible only inside the call.
_MACROS = frozenset(
    {"all", "exists", "exists_one", "map", "filter", "existsOne", "sortBy",
     "transformList", "transformMap", "transformMapEntry", "optMap", "optFlatMap"}
)  # fmt: skip
# ... and those whose three-argument form binds two (`all(i, v, ...)`; `map(x, filter, f)`'s
# second argument is an expression).
_TWO_VARIABLES = frozenset(
    {"all", "exists", "exists_one", "existsOne", "transformList", "transformMap",
     "transformMapEntry"}
)  # fmt: skip
_OPENING = {"(": ")", "[": "]", "[?": "]", "{": "}"}


def unbind(source: str, free: Mapping[str, str] | None = None) -> str:
    """`source` without `cel.bind`, and each name of `free` read where it is free as the
    text given for it (`params` as `variables.params`). CostError: it does not tokenize."""
    written = _expand(tokens(source))
    for name, text in (free or {}).items():
        written = _substitute(written, name, [("op", "("), ("raw", text), ("op", ")")])
    return "".join(text for _, text in written)


def _next(tokens: Sequence[Token], index: int) -> int:
    """The index of the first token at or after `index` that is not a space."""
    while index < len(tokens) and tokens[index][0] == "space":
        index += 1
    return index


def _text(tokens: Sequence[Token], index: int) -> str:
    return tokens[index][1] if index < len(tokens) else ""


def _previous(tokens: Sequence[Token]) -> str:
    """The text of the last token of `tokens` that is not a space."""
    for kind, text in reversed(tokens):
        if kind != "space":
            return text
    return ""


def _close(tokens: Sequence[Token], opening: int) -> int:
    """The index of the bracket closing the one at `opening`."""
    depth = 0
    for index in range(opening, len(tokens)):
        kind, text = tokens[index]
        if kind != "op":
            continue
        if text in _OPENING:
            depth += 1
        elif text in (")", "]", "}"):
            depth -= 1
            if depth == 0:
                return index
    raise CostError("unbalanced brackets")


def _arguments(tokens: Sequence[Token], opening: int, closing: int) -> list[list[Token]]:
    """The arguments between the brackets at `opening` and `closing`, split at their commas."""
    found: list[list[Token]] = [[]]
    depth = 0
    for kind, text in tokens[opening + 1 : closing]:
        if kind == "op" and text in _OPENING:
            depth += 1
        elif kind == "op" and text in (")", "]", "}"):
            depth -= 1
        elif kind == "op" and text == "," and depth == 0:
            found.append([])
            continue
        found[-1].append((kind, text))
    return found


def _name(argument: Sequence[Token]) -> str:
    """The identifier an argument is, or ""."""
    words = [token for token in argument if token[0] != "space"]
    return words[0][1] if len(words) == 1 and words[0][0] == "ident" else ""


def _stripped(argument: list[Token]) -> list[Token]:
    """An argument without the spaces around it."""
    start, end = 0, len(argument)
    while start < end and argument[start][0] == "space":
        start += 1
    while end > start and argument[end - 1][0] == "space":
        end -= 1
    return argument[start:end]


def _expand(tokens: Sequence[Token]) -> list[Token]:
    out: list[Token] = []
    index = 0
    while index < len(tokens):
        if tokens[index] == ("ident", "cel") and _previous(out) not in (".", ".?"):
            dot = _next(tokens, index + 1)
            bind = _next(tokens, dot + 1)
            opening = _next(tokens, bind + 1)
            if (_text(tokens, dot), _text(tokens, bind), _text(tokens, opening)) == (
                ".",
                "bind",
                "(",
            ):
                closing = _close(tokens, opening)
                arguments = _arguments(tokens, opening, closing)
                name = _name(arguments[0]) if len(arguments) == 3 else ""
                if not name:
                    raise CostError("cel.bind needs a name, a value and an expression")
                value = [("op", "("), *_expand(_stripped(arguments[1])), ("op", ")")]
                body = _substitute(_expand(_stripped(arguments[2])), name, value)
                out.extend([("op", "("), *body, ("op", ")")])
                index = closing + 1
                continue
        out.append(tokens[index])
        index += 1
    return out


def _substitute(tokens: Sequence[Token], name: str, value: Sequence[Token]) -> list[Token]:
    """`tokens` with each read of the variable `name` replaced by `value`."""
    out: list[Token] = []
    index = 0
    while index < len(tokens):
        kind, text = tokens[index]
        if (
            kind == "ident"
            and text == name
            and _previous(out) not in (".", ".?")
            and _text(tokens, _next(tokens, index + 1)) != "("
        ):
            out.extend(value)
            index += 1
            continue
        if kind == "op" and text in (".", ".?"):
            macro = _next(tokens, index + 1)
            opening = _next(tokens, macro + 1)
            if _text(tokens, macro) in _MACROS and _text(tokens, opening) == "(":
                closing = _close(tokens, opening)
                arguments = _arguments(tokens, opening, closing)
                bound = {_name(arguments[0])}
                if _text(tokens, macro) in _TWO_VARIABLES and len(arguments) > 2:
                    bound.add(_name(arguments[1]))
                if name in bound:  # the macro's own variable: not ours inside the call
                    out.extend(tokens[index : closing + 1])
                    index = closing + 1
                    continue
        out.append((kind, text))
        index += 1
    return out
