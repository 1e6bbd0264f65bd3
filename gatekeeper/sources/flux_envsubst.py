"""The language of Flux's post-build substitution (fluxcd/pkg/envsubst, a drone/envsubst fork).

kustomize-controller runs it over each built object's YAML text, and it is more than
`${VAR}` and `${VAR:=default}`: bash's string functions (`${V/pattern/text}`, `${V//...}`,
`${V/#...}`, `${V/%...}`, `${V,,}`, `${V^^}`, `${V:offset:length}`, `${V#glob}`, `${V%%glob}`,
`${#V}`), defaults nested in defaults (`${A:=${B}}`), `$$` for a literal `$`, and a variable
that is not set reads as empty. Read as only the two short forms, `roleRef.name:
${ROLE/x/cluster-admin}` (ROLE=x) was judged as the text written, and Flux bound
cluster-admin (red team s21 trust14 c01).

A variable that may come from the cluster (a `substituteFrom` object this repository does not
hold) is unknown, not empty: an expression reading one is left as written (a default still
fills it, as before). On text Flux cannot parse (`${V-x}`, an unclosed `${`), the build
fails and nothing is applied: the text is left as written. Offsets and lengths count
characters (Go counts bytes: the same for ASCII).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from gatekeeper import lazy_re

_IDENT = lazy_re.compile(r"[^\W]+")  # unicode letters, digits and `_`, as the scanner's acceptIdent
_INTEGER = lazy_re.compile(r"[+-]?[0-9]+")  # what Go's strconv.Atoi takes
_DEFAULT_OPS = ("=", ":=", ":-", ":?", ":+")


class _Bad(Exception):
    """Text Flux refuses to substitute: its build fails."""


class _Unknown(Exception):
    """An expression reads a variable only the cluster may set."""


def expand(text: str, variables: Mapping[str, str], complete: bool) -> str:
    """`text` as Flux substitutes it with `variables`. `complete`: no other variable can be
    set (a variable not in `variables` is empty); else an expression reading one is kept."""
    if "${" not in text and "$$" not in text:
        return text
    try:
        return _Parser(text, variables, complete).text()
    except _Bad:
        return text


class _Parser:
    """A port of parse.Parse and Template.Execute in one pass: each `${...}` is evaluated
    as it is read."""

    def __init__(self, text: str, variables: Mapping[str, str], complete: bool) -> None:
        self.s = text
        self.i = 0
        self.variables = variables
        self.complete = complete

    def peek(self, ahead: int = 0) -> str:
        at = self.i + ahead
        return self.s[at] if at < len(self.s) else ""

    def text(self) -> str:
        """parseAny: text, `$$` as `$`, and expressions (an unknown one as written)."""
        out: list[str] = []
        while self.i < len(self.s):
            if self.s.startswith("$$", self.i):
                out.append("$")
                self.i += 2
            elif self.s.startswith("${", self.i):
                start = self.i
                self.i += 2
                try:
                    out.append(self.function())
                except _Unknown:
                    out.append(self._as_written(start))
            else:
                out.append(self.s[self.i])
                self.i += 1
        return "".join(out)

    def _as_written(self, start: int) -> str:
        """The expression at `start` as written: read again only to find where it ends."""
        self.i = start + 2
        complete, self.complete = self.complete, True
        try:
            self.function()
        finally:
            self.complete = complete
        return self.s[start : self.i]

    def value(self, name: str, default_op: bool) -> str:
        found = self.variables.get(name)
        if found is not None:
            return found
        if self.complete or default_op:
            return ""
        raise _Unknown(name)

    def close(self) -> None:
        if self.peek() != "}":
            raise _Bad("missing }")
        self.i += 1

    def ident(self) -> str:
        found = _IDENT.match(self.s, self.i)
        if found is None:
            raise _Bad("no variable name")
        self.i = found.end()
        return found.group(0)

    def function(self) -> str:
        """parseFunc, after `${`: the expression's value."""
        if self.peek() == "#":  # ${#var}
            self.i += 1
            name = self.ident()
            self.close()
            return str(len(self.value(name, False)))
        name = self.ident()
        char = self.peek()
        if char == ":" and self.peek(1) in ("=", "-", "?", "+"):
            return self.default(name, ":" + self.peek(1), 2)
        if char == ":":
            return self.substring(name)
        if char == "=":
            return self.default(name, "=", 1)
        if char in (",", "^"):
            op = char
            self.i += 1
            if self.peek() in (",", "^"):
                op += self.peek()
                self.i += 1
            self.close()
            return _casing(op, self.value(name, False))
        if char == "/":
            return self.replace(name)
        if char in ("#", "%"):
            op = char
            self.i += 1
            if self.peek() == char:
                op += char
                self.i += 1
            pattern = self.param(lambda c: c != "}", escapes=False)
            self.close()
            return _trim(op, self.value(name, False), pattern)
        self.close()
        return self.value(name, False)

    def param(self, accept: Callable[[str], bool], escapes: bool) -> str:
        """parseParam: one nested expression, or text up to the first rune `accept` refuses
        or the next `${` (with `escapes`, `\\/`, `\\\\` and `$$` are the second rune)."""
        if self.s.startswith("${", self.i):
            self.i += 2
            return self.function()
        out: list[str] = []
        while self.i < len(self.s):
            char = self.s[self.i]
            if self.s.startswith("${", self.i):
                break
            if (
                escapes
                and char in ("\\", "$")
                and self.peek(1) in (("/", "\\") if char == "\\" else ("$",))
            ):
                out.append(self.s[self.i + 1])
                self.i += 2
                continue
            if not accept(char):
                break
            out.append(char)
            self.i += 1
        if not out:
            raise _Bad("empty parameter")
        return "".join(out)

    def default(self, name: str, op: str, width: int) -> str:
        self.i += width
        args: list[str] = []
        while self.peek() != "}":
            if not self.peek():
                raise _Bad("missing }")
            args.append(self.param(lambda c: c != "}", escapes=False))
        self.i += 1
        found = self.value(name, op in _DEFAULT_OPS)
        return found if found or not args else "".join(args)

    def substring(self, name: str) -> str:
        self.i += 1  # the `:`
        args = [self.param(lambda c: c not in (":", "}"), escapes=False)]
        if self.peek() == ":":
            while self.peek() == ":":
                self.i += 1
            args.append(self.param(lambda c: c != "}", escapes=False))
        self.close()
        return _substring(self.value(name, False), args)

    def replace(self, name: str) -> str:
        op = "/"
        self.i += 1
        if self.peek() in ("/", "#", "%"):
            op += self.peek()
            self.i += 1
        # an empty pattern (`${V/#/text}`): the next rune is the delimiter
        pattern = "" if self.peek() == "/" else self.param(lambda c: c != "/", escapes=True)
        if self.peek() != "/":
            raise _Bad("missing /")
        while self.peek() == "/":
            self.i += 1
        args = [pattern]
        if self.peek() != "}":
            args.append(self.param(lambda c: c != "}", escapes=True))
        self.close()
        return _replaced(op, self.value(name, False), args)


def _casing(op: str, value: str) -> str:
    if op == ",":
        return value[:1].lower() + value[1:]
    if op == ",,":
        return value.lower()
    if op == "^":
        return value[:1].upper() + value[1:]
    if op == "^^":
        return value.upper()
    return value  # `,^` and `^,`: no function of that name, the value as it is


def _substring(value: str, args: list[str]) -> str:
    if not _INTEGER.fullmatch(args[0]):
        return value
    pos = int(args[0])
    if pos < 0:
        pos = max(len(value) + pos, 0)
    if len(args) == 1:
        return value[pos:]
    if not _INTEGER.fullmatch(args[1]):
        return value
    length = int(args[1])
    if length < 0:
        end = len(value) + length
        return "" if end < pos else value[pos:end]
    return value[pos : pos + length]


def _replaced(op: str, value: str, args: list[str]) -> str:
    if op == "/":
        return value.replace(args[0], args[1] if len(args) > 1 else "", 1)
    if op == "//":
        if not args[0]:  # Go's strings.Replace with an empty old string
            return _replace_empty(value, args[1] if len(args) > 1 else "")
        return value.replace(args[0], args[1] if len(args) > 1 else "")
    if len(args) != 2:
        return value
    if op == "/#":
        return args[1] + value[len(args[0]) :] if value.startswith(args[0]) else value
    if op == "/%":
        return value[: len(value) - len(args[0])] + args[1] if value.endswith(args[0]) else value
    return value


def _replace_empty(value: str, new: str) -> str:
    return new + "".join(char + new for char in value)


def _trim(op: str, value: str, pattern: str) -> str:
    if op in ("%", "%%"):
        return _trim(op.replace("%", "#"), value[::-1], pattern[::-1])[::-1]
    matcher = _glob(pattern)
    if matcher is None:
        return value
    prefixes = [value[: len(value) - i] for i in range(len(value))]  # longest first
    matching = [prefix for prefix in prefixes if matcher.fullmatch(prefix)]
    if not matching:
        return value
    return value[len(matching[0] if op == "##" else matching[-1]) :]


def _glob(pattern: str) -> re.Pattern[str] | None:
    """Go's path.Match pattern as a regular expression (`*` and `?` stop at `/`); None when
    it is malformed (path.Match's ErrBadPattern: the value is left as it is)."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "\\":
            if i + 1 >= len(pattern):
                return None
            i += 1
            out.append(re.escape(pattern[i]))
        elif char == "[":
            end = pattern.find("]", i + 2 if pattern[i + 1 : i + 2] == "^" else i + 1)
            if end < 0:
                return None
            body = pattern[i + 1 : end]
            negated = body.startswith("^")
            body = body[1:] if negated else body
            if not body:
                return None
            out.append("[" + ("^" if negated else "") + body.replace("\\", "\\\\") + "]")
            i = end
        else:
            out.append(re.escape(char))
        i += 1
    try:
        return re.compile("".join(out), re.DOTALL)
    except re.error:
        return None
