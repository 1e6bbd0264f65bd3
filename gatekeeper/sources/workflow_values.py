"""What a GitHub workflow's expressions and variables may hold, as far as the file says.

A step may run a command it never spells: `run: ${{ steps.pick.outputs.cmd }}` where an
earlier step wrote `echo "cmd=kubectl apply -f k8s" >> "$GITHUB_OUTPUT"`, `$DEPLOY` set
through `$GITHUB_ENV`, `${{ needs.build.outputs.cmd }}` from another job's outputs, or
`${{ inputs.cmd }}` with the default (or the choices) a `workflow_call`/`workflow_dispatch`
input declares. Each value found is substituted in turn, so a script is split once per value
(see workflow._commands); values the file cannot know (secrets, vars, API answers) stay as
written. Nothing is run.
"""

from __future__ import annotations

import re
from typing import Any

from gatekeeper import lazy_re, shell

_NAME = r"[A-Za-z0-9_-]+"
EXPRESSION = lazy_re.compile(
    r"\$\{\{\s*("
    rf"(?:matrix|env|inputs)\.{_NAME}|github\.event\.inputs\.{_NAME}"
    rf"|(?:steps|needs)\.{_NAME}\.outputs\.{_NAME}"
    r")\s*\}\}"
)
MAX_VARIANTS = 32
_ROUNDS = 3  # a value that is itself an expression (a job output naming a step output)
_WRITES = ("GITHUB_OUTPUT", "GITHUB_ENV", "::set-output")

Values = dict[str, list[str]]


def with_expressions(script: str, values: Values) -> list[str]:
    """`script` with each expression it holds replaced by each value the workflow gives it
    (every combination, up to MAX_VARIANTS); as written otherwise."""
    variants = [script]
    for _ in range(_ROUNDS):
        names = {
            name for variant in variants for name in EXPRESSION.findall(variant) if values.get(name)
        }
        if not names:
            break
        for name in sorted(names):
            expanded: list[str] = []
            for variant in variants:
                if name in EXPRESSION.findall(variant):
                    expanded += [_substituted(variant, name, value) for value in values[name]]
                else:
                    expanded.append(variant)
            variants = expanded[:MAX_VARIANTS]
    return list(dict.fromkeys(variants))


def _substituted(script: str, name: str, value: str) -> str:
    def replace(match: re.Match[str]) -> str:
        return value.replace("\n", " ; ") if match.group(1) == name else match.group(0)

    return EXPRESSION.sub(replace, script)


def matrix_values(job: dict[str, Any], env: dict[str, str]) -> Values:
    """The values a job's `${{ env.X }}` and `${{ matrix.x }}` may take, as the file gives
    them (a matrix list, its `include` entries)."""
    values = {f"env.{name}": [value] for name, value in env.items()}
    strategy = job.get("strategy")
    matrix = strategy.get("matrix") if isinstance(strategy, dict) else None
    if not isinstance(matrix, dict):
        return values
    include = matrix.get("include")
    entries = (
        [include] if isinstance(include, dict) else include if isinstance(include, list) else []
    )
    for name, items in matrix.items():
        if name not in ("include", "exclude") and isinstance(items, list):
            values[f"matrix.{name}"] = [str(item) for item in items if scalar(item)]
    for entry in entries:
        for name, item in entry.items() if isinstance(entry, dict) else ():
            if scalar(item):
                values.setdefault(f"matrix.{name}", []).append(str(item))
    return values


def scalar(value: Any) -> bool:
    """A value an expression may stand for (not a mapping or list)."""
    return isinstance(value, (str, int, float, bool))


def workflow_inputs(on: Any) -> Values:
    """The values of a workflow's `workflow_call` and `workflow_dispatch` inputs."""
    values: Values = {}
    for trigger in ("workflow_call", "workflow_dispatch"):
        spec = on.get(trigger) if isinstance(on, dict) else None
        found = input_values(spec.get("inputs") if isinstance(spec, dict) else None)
        values = merged(values, dict(found))
    return values


def input_values(inputs: Any) -> list[tuple[str, list[str]]]:
    """`inputs.X` (and `github.event.inputs.X`) of declared inputs (a workflow trigger's or a
    composite action's `inputs:`): the default and, for a choice, every option (a caller or
    a dispatch may pick any)."""
    found: list[tuple[str, list[str]]] = []
    for name, spec in inputs.items() if isinstance(inputs, dict) else ():
        if not isinstance(spec, dict):
            continue
        given = [spec.get("default"), *(spec.get("options") or [])]
        values = [str(v) for v in given if scalar(v) and str(v).strip()]
        if values:
            found += [(f"inputs.{name}", values), (f"github.event.inputs.{name}", values)]
    return found


def merged(values: Values, more: Values) -> Values:
    """`values` with the values of `more` added after their own, each once."""
    out = dict(values)
    for name, added in more.items():
        out[name] = list(dict.fromkeys([*out.get(name, []), *added]))
    return out


def written(script: str, variables: dict[str, str]) -> tuple[Values, dict[str, str]]:
    """The outputs (sent to $GITHUB_OUTPUT, or `::set-output`) and the environment
    variables (sent to $GITHUB_ENV) a `run:` script sets for what follows: `name=value`
    lines and `name<<DELIMITER` blocks, from echo, printf and `cat <<EOF`, in order."""
    outputs: Values = {}
    streams: dict[str, list[str]] = {"GITHUB_OUTPUT": [], "GITHUB_ENV": []}
    if not any(marker in script for marker in _WRITES):
        return outputs, {}
    for command in shell.commands(script, variables):
        if command.program in ("echo", "printf"):
            text = shell.printed(command)
        elif command.program == "cat" and command.input:  # `cat >> "$GITHUB_OUTPUT" <<EOF`
            text = command.input
        else:
            continue
        if text.startswith("::set-output name="):
            name, _, value = text[len("::set-output name=") :].partition("::")
            outputs.setdefault(name, []).append(value)
        for target, lines in streams.items():
            if any(target in redirect for redirect in command.redirects):
                lines.extend(text.split("\n"))
    for name, value in _assignments(streams["GITHUB_OUTPUT"]):
        outputs.setdefault(name, []).append(event_read(value))
    env = {name: event_read(value) for name, value in _assignments(streams["GITHUB_ENV"])}
    return outputs, env


# A command substitution: `$(...)` (one level of parentheses inside) or backquotes.
_SUBSTITUTION = lazy_re.compile(r"\$\((?:[^()]|\([^()]*\))*\)|`[^`]*`")
# A field of the event payload: as a JSON path of jq/yq (`.issue.title`), or in JavaScript
# (`context.payload.issue.title`, github-script's).
_PAYLOAD_FIELD = lazy_re.compile(
    r"(?:context\.payload)?\.(pull_request|issue|comment|review|head_commit|workflow_run"
    r"|discussion)((?:\.[A-Za-z_][A-Za-z0-9_]*)*)"
)


def event_read(value: str) -> str:
    """`value` with each command substitution that reads a field of the event file
    (`$(jq -r .issue.title "$GITHUB_EVENT_PATH")`) as the expression of that field
    (`${{ github.event.issue.title }}`): what a later step pastes with `${{ env.T }}` or
    `${{ steps.s.outputs.t }}` is the field's text (red team s23 trust16 c08; s22 trust15
    left it open)."""
    if "GITHUB_EVENT_PATH" not in value:
        return value

    def replace(match: re.Match[str]) -> str:
        text = match.group(0)
        field = _PAYLOAD_FIELD.search(text) if "GITHUB_EVENT_PATH" in text else None
        return f"${{{{ {_event_path(field)} }}}}" if field else text

    return _SUBSTITUTION.sub(replace, value)


def _event_path(field: re.Match[str]) -> str:
    return "github.event." + (field.group(1) + field.group(2)).lower()


# actions/github-script: what its script returns (the `result` output), sets as an output or
# exports for later steps, when that is a field of the event payload.
_SCRIPT_RETURN = lazy_re.compile(r"\breturn\b[^;\n]*?(context\.payload(?:\.[A-Za-z_]\w*)+)")
_SCRIPT_SET = lazy_re.compile(
    r"\bcore\.(setOutput|exportVariable)\(\s*['\"`]([A-Za-z_][\w-]*)['\"`]\s*,"
    r"[^;\n]*?(context\.payload(?:\.[A-Za-z_]\w*)+)"
)


def github_script(step: dict[str, Any]) -> tuple[Values, dict[str, str]]:
    """The outputs (`result`, `core.setOutput`) and environment variables
    (`core.exportVariable`) an actions/github-script step gives from the event payload, as
    the expressions of those fields: `return context.payload.issue.title` makes `${{
    steps.s.outputs.result }}` the issue's title (red team s23 trust16 c08)."""
    uses = step.get("uses")
    given = step.get("with")
    if not isinstance(uses, str) or uses.split("@", 1)[0].lower() != "actions/github-script":
        return {}, {}
    script = given.get("script") if isinstance(given, dict) else None
    if not isinstance(script, str) or "context.payload" not in script:
        return {}, {}
    outputs: Values = {}
    env: dict[str, str] = {}
    for found in _SCRIPT_RETURN.finditer(script):
        field = _PAYLOAD_FIELD.fullmatch(found.group(1))
        if field:
            outputs.setdefault("result", []).append(f"${{{{ {_event_path(field)} }}}}")
    for found in _SCRIPT_SET.finditer(script):
        field = _PAYLOAD_FIELD.fullmatch(found.group(3))
        if not field:
            continue
        value = f"${{{{ {_event_path(field)} }}}}"
        if found.group(1) == "setOutput":
            outputs.setdefault(found.group(2), []).append(value)
        else:
            env[found.group(2)] = value
    return outputs, env


def _assignments(lines: list[str]) -> list[tuple[str, str]]:
    """GitHub's environment file format: `name=value`, or `name<<DELIMITER`, the value's
    lines, `DELIMITER` (a multi-line value, joined here as one script)."""
    found: list[tuple[str, str]] = []
    rows = iter(lines)
    for line in rows:
        name, equals, value = line.partition("=")
        block = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_-]*)<<(.+)", line)
        if block:
            body: list[str] = []
            for row in rows:
                if row == block.group(2):
                    break
                body.append(row)
            found.append((block.group(1), "\n".join(body)))
        elif equals and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", name):
            found.append((name, value))
    return found


# Outputs of actions that hold what a pull request's author writes, as the expression whose
# value they are: `${{ steps.branch.outputs.current_branch }}` pasted into a script is the head
# branch's name, and `ref: ${{ steps.refs.outputs.head_sha }}` in an issue_comment job the
# pull request's code (red team s22 trust15 c27).
ACTION_OUTPUTS: dict[str, dict[str, str]] = {
    "tj-actions/branch-names": {
        "current_branch": "${{ github.head_ref }}",
        "head_ref_branch": "${{ github.head_ref }}",
    },
    "xt0rted/pull-request-comment-branch": {
        "head_ref": "${{ github.event.pull_request.head.ref }}",
        "head_sha": "${{ github.event.pull_request.head.sha }}",
    },
}


def _action_outputs(step: dict[str, Any]) -> Values:
    """The outputs ACTION_OUTPUTS knows of the action a step with an `id` uses."""
    uses = step.get("uses")
    if "id" not in step or not isinstance(uses, str):
        return {}
    known = ACTION_OUTPUTS.get(uses.split("@", 1)[0].lower(), {})
    return {f"steps.{step['id']}.outputs.{name}": [value] for name, value in known.items()}


def job_values(jobs: dict[str, Any], env: dict[str, str], inputs: Values) -> dict[str, Values]:
    """For each job: the values of `inputs.*`, of its own steps' outputs (`steps.ID.outputs.X`)
    and of every job's outputs (`needs.JOB.outputs.X`, a job's `outputs:` naming its steps')."""
    steps_of: dict[str, Values] = {}
    needs: Values = {}
    for job_id, job in jobs.items():
        outputs: Values = {}
        steps = job.get("steps") if isinstance(job, dict) else None
        variables = {**env, **_plain(job.get("env"))} if isinstance(job, dict) else env
        for step in steps if isinstance(steps, list) else []:
            if isinstance(step, dict):
                for name, values in _action_outputs(step).items():
                    outputs.setdefault(name, []).extend(values)
            if isinstance(step, dict) and "id" in step:
                for name, values in github_script(step)[0].items():
                    outputs.setdefault(f"steps.{step['id']}.outputs.{name}", []).extend(values)
            if isinstance(step, dict) and isinstance(step.get("run"), str) and "id" in step:
                found, _ = written(step["run"], {**variables, **_plain(step.get("env"))})
                for name, values in found.items():
                    outputs.setdefault(f"steps.{step['id']}.outputs.{name}", []).extend(values)
        steps_of[str(job_id)] = outputs
        declared = job.get("outputs") if isinstance(job, dict) else None
        for name, value in declared.items() if isinstance(declared, dict) else ():
            if isinstance(value, str):
                key = f"needs.{job_id}.outputs.{name}"
                needs[key] = with_expressions(value, {**inputs, **outputs})
    return {job_id: {**inputs, **needs, **outputs} for job_id, outputs in steps_of.items()}


def _plain(env: Any) -> dict[str, str]:
    if not isinstance(env, dict):
        return {}
    return {str(name): value for name, value in env.items() if isinstance(value, str)}
