"""The context paths a GitHub Actions expression (`${{ ... }}`) reads, as the runner reads them.

The runner replaces each `${{ }}` of a `run:` script (or of an action input it runs as code,
github-script's `script:`) by its value before the shell or Node reads the text, so a path an
outsider writes (an issue title) becomes code. A regex over the text misses spellings the
runner accepts: bracket access (`github.event['issue']['title']`), any case (context property
names are case-insensitive), a `}` inside a string (`format('{0}', ...)`), a whole object
(`toJSON(github.event.issue)`), and an `env.NAME` whose value is itself such an expression.
Here an expression is split into tokens and each context read becomes one path: lower case,
dotted, `*` for any index (`github.event.commits[0].message` -> `github.event.commits.*.message`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping

from gatekeeper import lazy_re

_OPEN = "${{"
_TOKEN = lazy_re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<name>[A-Za-z_][A-Za-z0-9_-]*)|(?P<number>[0-9][0-9A-Za-z.+-]*)"
    r"|(?P<symbol>[.\[\](),*!<>=&|]))"
)
_LITERALS = frozenset({"true", "false", "null", "nan", "infinity"})


def expressions(text: str) -> Iterator[tuple[int, str]]:
    """Each `${{ ... }}` of `text` as (offset, whole text): a `}}` inside a quoted string does
    not end it, as in the runner's template reader."""
    start = text.find(_OPEN)
    while start != -1:
        index, quoted = start + len(_OPEN), False
        while index < len(text):
            if text[index] == "'":
                quoted = not quoted  # '' (an escaped quote) toggles twice
            elif not quoted and text.startswith("}}", index):
                break
            index += 1
        else:
            return  # never closed: the runner rejects the workflow
        yield start, text[start : index + 2]
        start = text.find(_OPEN, index + 2)


def _tokens(expression: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    position = 0
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if match is None or match.end() == position:
            if expression[position:].strip() == "":
                break
            position += 1  # a character no rule uses: skipped
            continue
        kind = match.lastgroup or "symbol"
        found.append((kind, match.group(kind)))
        position = match.end()
    return found


def reads(expression: str) -> list[str]:
    """The context paths whose values can reach the result of `expression` (with or without its
    `${{ }}`), in order: not those only compared (`github.event.review != null`), negated, given
    to a function that answers true or false (`contains(github.event.issue.title, 'x')`) or
    used as a computed index."""
    inner = expression
    if inner.startswith(_OPEN) and inner.endswith("}}"):
        inner = inner[len(_OPEN) : -2]
    return _paths(_tokens(inner))


# Functions whose result is a boolean or a digest: what they read is not pasted.
_TESTS = frozenset(
    {"contains", "startswith", "endswith", "hashfiles", "success", "failure", "always", "cancelled"}
)
_COMPARISONS = frozenset({"=", "<", ">"})


def _paths(tokens: list[tuple[str, str]]) -> list[str]:
    found: list[str] = []
    calls: list[str] = []  # the function of each open parenthesis ("" for a group)
    index = 0
    while index < len(tokens):
        kind, value = tokens[index]
        after = tokens[index + 1] if index + 1 < len(tokens) else ("", "")
        if value == "(" and kind == "symbol":
            calls.append("")
        elif value == ")" and kind == "symbol":
            calls = calls[:-1]
        if kind == "name" and after == ("symbol", "("):
            calls.append(value.lower())
            index += 2
            continue
        if kind != "name" or value.lower() in _LITERALS:
            index += 1  # a literal, an operator: not a read
            continue
        start = index
        path, index = _chain(tokens, index)
        before = tokens[start - 1][1] if start else ""
        after_value = tokens[index][1] if index < len(tokens) else ""
        compared = before in _COMPARISONS or before == "!" or after_value in _COMPARISONS
        compared = compared or (
            after_value == "!" and index + 1 < len(tokens) and tokens[index + 1][1] == "="
        )
        # `path && b` is b whenever path is truthy: path itself reaches the result only as a
        # falsy value (null, false, 0, ''), never as text (kubernetes-ingress' ci.yml:
        # `github.event.pull_request && head.repo.full_name != base.repo.full_name`).
        compared = compared or tokens[index : index + 2] == [("symbol", "&"), ("symbol", "&")]
        if not compared and not any(call in _TESTS for call in calls):
            found.append(path)
    return found


def _chain(tokens: list[tuple[str, str]], index: int) -> tuple[str, int]:
    """The context path whose first name is `tokens[index]`, and the index after it:
    `.name`, `.*` and `[...]` follow it (a quoted key as its name; a number, `*` or a computed
    index as `*`)."""
    parts = [tokens[index][1].lower()]
    index += 1
    while index < len(tokens):
        value = tokens[index][1]
        following = tokens[index + 1] if index + 1 < len(tokens) else ("", "")
        if value == "." and following[0] == "name":
            parts.append(following[1].lower())
            index += 2
        elif value == "." and following[1] == "*":
            parts.append("*")
            index += 2
        elif value == "[":
            end = _closing(tokens, index)
            inside = tokens[index + 1 : end]
            if len(inside) == 1 and inside[0][0] == "string":
                parts.append(inside[0][1][1:-1].replace("''", "'").lower())
            else:  # a number, `*` or a computed index: any element
                parts.append("*")
            index = end + 1
        else:
            break
    return ".".join(parts), index


def _closing(tokens: list[tuple[str, str]], opening: int) -> int:
    depth = 0
    for index in range(opening, len(tokens)):
        if tokens[index] == ("symbol", "["):
            depth += 1
        elif tokens[index] == ("symbol", "]"):
            depth -= 1
            if depth == 0:
                return index
    return len(tokens)


def pasted(
    code: str, env: Mapping[str, object], values: Mapping[str, list[str]] | None = None
) -> list[dict[str, object]]:
    """Each expression of `code` as {expression, reads}; `reads` includes what an `env.NAME`
    it reads holds when that value is an expression (`env` the step's environment as written:
    workflow, job, step), and what an `inputs.NAME` or `matrix.NAME` may hold (`values`: what
    the callers of a local action or reusable workflow pass it, the matrix's entries), and
    `expression` then says so."""
    found: list[dict[str, object]] = []
    given = {name.lower(): (name, list(held)) for name, held in (values or {}).items()}
    given.update(
        (f"env.{str(name).lower()}", (f"env.{name}", [value]))
        for name, value in env.items()
        if isinstance(value, str)
    )
    for _, text in expressions(code):
        paths = reads(text)
        through: list[str] = []
        for path in list(paths):
            name, held = given.get(path, ("", []))
            for value in held:
                if _OPEN in value:
                    paths.extend(read for _, inner in expressions(value) for read in reads(inner))
                    through.append(f"{name} is {value.strip()}")
        described = f"{text} ({'; '.join(through)})" if through else text
        found.append({"expression": described, "reads": paths})
    return found


# A variable a shell script expands: `$NAME`, `${NAME}`, `${NAME:-x}`.
_SHELL_VARIABLE = lazy_re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
# The runner's own variables holding what a pull request's author writes.
_RUNNER_VARIABLES = {"GITHUB_HEAD_REF": "github.head_ref"}
# A JSON path (jq, yq, node) into the event payload, read from the file at $GITHUB_EVENT_PATH.
_EVENT_FIELD = lazy_re.compile(
    r"\.(pull_request|issue|comment|review|head_commit|workflow_run|discussion)"
    r"((?:\.[A-Za-z_][A-Za-z0-9_]*)*)"
)


# The pull request's head asked from GitHub's API in a script (`gh pr view "$PR" --json
# headRefOid`, `gh api repos/$R/pulls/$PR --jq .head.sha`, curl of api.github.com/.../pulls/N
# piped to jq .head.ref): the value the event names as pull_request.head.sha / .head.ref.
_API_HEAD = (
    (
        lazy_re.compile(r"\bgh\s+pr\s+view\b[^\n]*\bheadRefOid\b"),
        "github.event.pull_request.head.sha",
    ),
    (
        lazy_re.compile(r"\bgh\s+pr\s+view\b[^\n]*\bheadRefName\b"),
        "github.event.pull_request.head.ref",
    ),
    (
        lazy_re.compile(r"(\bgh\s+api\b|api\.github\.com/repos/)[^\n]*/pulls/[^\n]*\.head\.sha\b"),
        "github.event.pull_request.head.sha",
    ),
    (
        lazy_re.compile(r"(\bgh\s+api\b|api\.github\.com/repos/)[^\n]*/pulls/[^\n]*\.head\.ref\b"),
        "github.event.pull_request.head.ref",
    ),
)


def shell_reads(code: str, env: Mapping[str, object], event_file: bool = True) -> list[str]:
    """The context paths a `run:` script reads through its environment, where no `${{ }}` is
    pasted: a variable of the step's `env` (workflow, job, step, as written) whose value is an
    expression (`git fetch origin "$SHA"` under `env: {SHA: ${{
    github.event.pull_request.head.sha }}}`), the runner's GITHUB_HEAD_REF, and the fields of
    the event payload a script reading $GITHUB_EVENT_PATH names by JSON path (`jq -r
    .pull_request.head.sha "$GITHUB_EVENT_PATH"`), or asks GitHub's API for (`gh pr view
    --json headRefOid`, `gh api .../pulls/N --jq .head.sha`). A pull_request_target job that
    fetched the pull request's head this way was green (red team s21 trust14 c05, s22
    trust15 c20)."""
    found: list[str] = []
    names = set(_SHELL_VARIABLE.findall(code))
    for name in sorted(names):
        value = env.get(name)
        if isinstance(value, str) and _OPEN in value:
            found.extend(read for _, text in expressions(value) for read in reads(text))
        elif name in _RUNNER_VARIABLES:
            found.append(_RUNNER_VARIABLES[name])
    if event_file and "GITHUB_EVENT_PATH" in names:
        found.extend(
            "github.event." + (match.group(1) + match.group(2)).lower()
            for match in _EVENT_FIELD.finditer(code)
        )
    if event_file and "head" in code:  # asked from the API (red team s22 trust15 c20)
        found.extend(path for pattern, path in _API_HEAD if pattern.search(code))
    return list(dict.fromkeys(found))


# Programs that run a text they are given as code: `eval "..."`, `bash -c "..."`.
_EVALUATORS = frozenset({"eval"})
_SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "ash"})
_SINGLE_QUOTED = lazy_re.compile(r"'[^']*'")
# Variables whose value is run as code wherever a script runs, whatever the script says: bash
# expands `$(...)` in BASH_ENV before sourcing the file it names (every bash step: GitHub's
# `bash -e {0}` runs a script, not an interactive shell), git runs GIT_SSH_COMMAND and
# GIT_EXTERNAL_DIFF through sh (red team s22 trust15 c19).
CODE_VARIABLES = ("BASH_ENV", "GIT_SSH_COMMAND", "GIT_EXTERNAL_DIFF")


# A shell reading its script from a here-string or from echo/printf piped into it: the text
# the outer shell expands (`bash <<< "echo $T"`, `echo "echo $T" | sh`).
_FED_SHELL = lazy_re.compile(
    r"\b(?:ba|da|z|k|a)?sh\s*<<<\s*(\"[^\"]*\"|[^\s'|;&]+)"
    r"|\b(?:echo|printf)\s+([^|\n]*?)\|\s*(?:sudo\s+)?(?:ba|da|z|k|a)?sh\s*(?:$|[;&|\n])",
    re.MULTILINE,
)


def evaluated_reads(
    commands: list[dict[str, object]], env: Mapping[str, object], script: str = ""
) -> list[str]:
    """The context paths of the env variables a script expands into text that a command then
    runs as code (`eval "echo $TITLE"`, `bash -c "echo $TITLE"`, `sh <<< "$TITLE"`, `echo
    "$TITLE" | sh`: `script` is the whole `run:` text, for the last two): the outer shell
    pastes the value, the inner one reads it as a script, so passing the value through `env:`
    protects nothing (red team s21 trust14 c09). A variable in single quotes reaches the
    inner shell as a variable, read as data: not counted. An expression in a variable the
    shell or git runs as code (CODE_VARIABLES: `BASH_ENV: ${{ github.event.issue.title }}`)
    counts for every script it is set for."""
    found: list[str] = []
    for name in CODE_VARIABLES:
        value = env.get(name)
        if isinstance(value, str) and _OPEN in value:
            found.extend(read for _, text in expressions(value) for read in reads(text))
    for fed in _FED_SHELL.finditer(script):
        text = fed.group(1) or fed.group(2) or ""
        found.extend(shell_reads(_SINGLE_QUOTED.sub("", text), env, event_file=False))
    for command in commands:
        program = str(command.get("program") or "")
        text = str(command.get("text") or "")
        args = command.get("args")
        words = [str(word) for word in args] if isinstance(args, list) else []
        runs_text = program in _EVALUATORS or (
            program in _SHELLS and ("-c" in words or "<<<" in text)
        )
        if not runs_text:
            continue
        found.extend(shell_reads(_SINGLE_QUOTED.sub("", text), env, event_file=False))
    return list(dict.fromkeys(found))


# A job's `if:` judged for a pull request from a fork: what the runner knows then. Each value
# is known (True, False, a string, a number, None for null), one of the markers below, or
# _UNKNOWN; `&&`, `||` and `!` keep what is known (three-valued), so `guard || true` and
# `!(guard)` are not guards.
_UNKNOWN = object()
_PULL_REF = object()  # github.ref under pull_request: refs/pull/<n>/merge
_BASE_REF = object()  # github.ref under pull_request_target: the base branch, refs/heads/<b>
_OUTSIDER = object()  # author_association: never OWNER, MEMBER or COLLABORATOR
# Pairs of paths never equal for a fork's pull request: its repository and ours.
_DISTINCT = (
    frozenset({"github.event.pull_request.head.repo.full_name", "github.repository"}),
    frozenset({"github.event.pull_request.head.repo.id", "github.repository_id"}),
    frozenset({"github.event.pull_request.head.repo.owner.login", "github.repository_owner"}),
    # workflow_run: the run a fork's pull request started is the fork's
    frozenset({"github.event.workflow_run.head_repository.full_name", "github.repository"}),
    frozenset({"github.event.workflow_run.head_repository.id", "github.repository_id"}),
    frozenset({"github.event.workflow_run.head_repository.owner.login", "github.repository_owner"}),
)
_INSIDERS = frozenset({"owner", "member", "collaborator"})


def fork_guarded(condition: object, event: str, fork_may_be_gone: bool = False) -> bool:
    """Whether a job whose `if:` is `condition` cannot run for `event` (pull_request or
    pull_request_target; workflow_run: after a run a fork's pull request started, whose
    `workflow_run.event` is pull_request and `head_repository` the fork) opened from a fork:
    the fork's repository is not ours (full_name, id, owner), `head.repo.fork` is true,
    `merged` false, `github.event_name` is `event`, `github.ref` is refs/pull/...
    (pull_request) or the base branch, refs/heads/... (pull_request_target: `github.ref ==
    'refs/heads/main'` holds for every fork, red team s20 trust13 s06), the author is not a
    member. Anything else is unknown, and an unknown condition may hold: only one that is
    false whatever is unknown guards.

    `fork_may_be_gone`: the workflow also runs for activity types its author can start after
    deleting the fork (`edited`, `closed`, `ready_for_review`...; GitHub keeps the pull request
    open). The payload's `head.repo` is then null, so `head.repo.fork` is null: `!fork` holds
    and `fork == false` too (the runner compares null and false as numbers, 0 == 0); the
    repository compared with ours (null is not `github.repository`) still guards."""
    if condition is False:
        return True
    if not isinstance(condition, str):
        return False
    text = condition.strip()
    found = list(expressions(text))
    if len(found) == 1 and found[0][1] == text:
        text = text[len(_OPEN) : -2]
    elif found:
        return False  # text around an expression: a non-empty string, always true
    parser = _Condition(_tokens(text), event, fork_may_be_gone)
    try:
        value = parser.disjunction()
    except IndexError:
        return False
    return parser.index == len(parser.tokens) and _truth(value) is False


def _truth(value: object) -> bool | None:
    if value is _UNKNOWN:
        return None
    if value is _PULL_REF or value is _BASE_REF or value is _OUTSIDER:
        return True
    if isinstance(value, str):
        return value != ""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    return value is not None


class _Condition:
    """A recursive-descent reader of one expression (`||` below `&&` below `!` below
    comparisons), evaluating as it reads."""

    def __init__(self, tokens: list[tuple[str, str]], event: str, fork_may_be_gone: bool) -> None:
        self.tokens, self.index, self.event = tokens, 0, event
        self.fork_may_be_gone = fork_may_be_gone

    def _peek(self, count: int = 1) -> str:
        return "".join(value for _, value in self.tokens[self.index : self.index + count])

    def disjunction(self) -> object:
        return self._chain("||", self.conjunction, absorbing=True)

    def conjunction(self) -> object:
        return self._chain("&&", self.negation, absorbing=False)

    def _chain(self, operator: str, operand: Callable[[], object], absorbing: bool) -> object:
        """`a || b || ...` (true once one is) or `a && b && ...` (false once one is)."""
        value = operand()
        while self._peek(2) == operator:
            self.index += 2
            truths = (_truth(value), _truth(operand()))
            if absorbing in truths:
                value = absorbing
            elif truths == (not absorbing, not absorbing):
                value = not absorbing
            else:
                value = _UNKNOWN
        return value

    def negation(self) -> object:
        if self._peek() == "!" and self._peek(2) != "!=":
            self.index += 1
            truth = _truth(self.negation())
            return _UNKNOWN if truth is None else not truth
        return self.comparison()

    def comparison(self) -> object:
        left, left_path = self.primary()
        operator = self._peek(2)
        if operator in ("==", "!=", "<=", ">="):
            self.index += 2
        elif self._peek() in ("<", ">"):
            operator = self._peek()
            self.index += 1
        else:
            return left
        right, right_path = self.primary()
        if operator not in ("==", "!="):
            return _UNKNOWN
        equal = _equal(left, left_path, right, right_path)
        if equal is None:
            return _UNKNOWN
        return equal if operator == "==" else not equal

    def primary(self) -> tuple[object, str]:
        kind, value = self.tokens[self.index]
        if value == "(" and kind == "symbol":
            self.index += 1
            inner = self.disjunction()
            self.index += 1  # `)`
            return inner, ""
        if kind == "string":
            self.index += 1
            return value[1:-1].replace("''", "'"), ""
        if kind == "number":
            self.index += 1
            try:
                return float(value), ""
            except ValueError:
                return _UNKNOWN, ""
        if kind != "name":
            raise IndexError(value)  # not an expression: read as no guard
        if self.index + 1 < len(self.tokens) and self.tokens[self.index + 1][1] == "(":
            return self._call(value.lower()), ""
        literal = value.lower()
        if literal in ("true", "false", "null"):
            self.index += 1
            return {"true": True, "false": False, "null": None}[literal], ""
        path = self._path()
        return self._known(path), path

    def _path(self) -> str:
        path, self.index = _chain(self.tokens, self.index)
        return path

    def _known(self, path: str) -> object:
        if path == "github.event.pull_request.head.repo.fork":
            return _UNKNOWN if self.fork_may_be_gone else True
        if path == "github.event.pull_request.merged":
            return False
        if path == "github.event_name":
            return self.event
        if path == "github.ref":
            return _PULL_REF if self.event == "pull_request" else _BASE_REF
        if path == "github.event.pull_request.author_association":
            return _OUTSIDER
        if self.event == "workflow_run":  # the run a fork's pull request started
            if path == "github.event.workflow_run.event":
                return "pull_request"
            if path == "github.event.workflow_run.head_repository.fork":
                return True
        return _UNKNOWN

    def _call(self, name: str) -> object:
        self.index += 2  # name, `(`
        arguments: list[object] = []
        while self._peek() != ")":
            arguments.append(self.disjunction())
            if self._peek() == ",":
                self.index += 1
        self.index += 1
        if name == "always":
            return True
        refs = {id(_PULL_REF): "refs/pull/", id(_BASE_REF): "refs/heads/"}
        if name == "startswith" and len(arguments) == 2 and id(arguments[0]) in refs:
            known, prefix = refs[id(arguments[0])], arguments[1]
            if isinstance(prefix, str):
                prefix = prefix.lower()
                if not (known.startswith(prefix) or prefix.startswith(known)):
                    return False
        return _UNKNOWN


def _equal(left: object, left_path: str, right: object, right_path: str) -> bool | None:
    if frozenset({left_path, right_path}) in _DISTINCT:
        return False
    for marker, other in ((left, right), (right, left)):
        if marker is _PULL_REF and isinstance(other, str):
            return None if other.lower().startswith("refs/pull/") else False
        if marker is _BASE_REF and isinstance(other, str):
            return None if other.lower().startswith("refs/heads/") else False
        if marker is _OUTSIDER and isinstance(other, str):
            return None if other.lower() not in _INSIDERS else False
    if _UNKNOWN in (left, right) or {id(left), id(right)} & {id(_PULL_REF), id(_BASE_REF)}:
        return None
    if left is _OUTSIDER or right is _OUTSIDER:
        return None
    if isinstance(left, str) and isinstance(right, str):
        return left.lower() == right.lower()  # the runner compares strings ignoring case
    if type(left) is type(right):
        return left == right
    return None
