"""Files that decide whether the gate runs at all: the workflows that run (or could forge) the
check, and the CODEOWNERS lines that say who must review policy and configuration changes.

A change to one of them is judged by no base-revision copy (GitHub runs the pull request's own
workflow), so it blocks until someone other than its author approves it (see `approval`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import yaml

from gatekeeper import git as gitops
from gatekeeper import lazy_re
from gatekeeper.config import CONFIG_NAMES, Config
from gatekeeper.github import codeowners

Reader = Callable[[str], bytes | None]

# What makes a workflow part of the judge: it runs gatekeeper, or could report a check of its
# name itself (a job or status named like it, the checks or statuses API, a write permission).
# Not a mere mention of the word: GitOps repositories deploy OPA Gatekeeper.
_RUNS_GATEKEEPER = lazy_re.compile(
    r"uses:\s*['\"]?[\w.-]+/gatekeeper(?:/[^@\s'\"]*)?@"
    r"|\bgatekeeper(?:\.exe)?\s+(?:github|scan)\b|-m\s+gatekeeper\b",
    re.IGNORECASE,
)
_CHECKS_API = lazy_re.compile(
    r"check[-_]runs|checks\.(?:create|update)|/statuses/|createCommitStatus|createStatus"
    r"|checks-action",
    re.IGNORECASE,
)
_WRITES_CHECKS = lazy_re.compile(r"^\s*(checks|statuses)\s*:\s*write\b|\bwrite-all\b", re.MULTILINE)


Checks = str | frozenset[str]  # the gate check's name, or every name it may carry


def _checks(check_name: Checks) -> frozenset[str]:
    names = frozenset([check_name]) if isinstance(check_name, str) else check_name
    return frozenset(name for name in names if name)


def _names_check(text: str, check_name: Checks) -> bool:
    """A job whose check run may carry the check's name, or a `context:` / `name=` of a
    status that is it. A job's check run is its `name:` (expressions evaluated), else its id:
    read as YAML, so a comment after the id, flow style, a block scalar or an escape spell
    it too (red team r10 of session 10); a name with an expression may be anything its
    literal parts allow."""
    names = _checks(check_name)
    if not names:
        return False
    jobs = _jobs(text)
    for job_id, job in (jobs or {}).items():
        spelled = [str(job_id)]
        if isinstance(job, dict) and job.get("name") is not None:
            spelled = [str(job["name"])]  # GitHub shows the name, not the id
        if any(_may_be(written, names) for written in spelled):
            return True
    for name in names:
        escaped = re.escape(name)
        pattern = rf"\b(?:context|name)\s*[:=]\s*['\"]?{escaped}['\"]?(?=[\s,}}]|$)"
        if jobs is None:  # not YAML: a job id as written
            pattern = rf"^\s+['\"]?{escaped}['\"]?:\s*(?:#.*)?$|" + pattern
        if re.search(pattern, text, re.MULTILINE | re.IGNORECASE):
            return True
    return False


def _jobs(text: str) -> dict[str, Any] | None:
    """A workflow's `jobs:` mapping; None when the text is not a YAML mapping."""
    try:
        data = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError:
        return None
    jobs = data.get("jobs") if isinstance(data, dict) else None
    return jobs if isinstance(jobs, dict) else ({} if isinstance(data, dict) else None)


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_EXPRESSION = lazy_re.compile(r"\$\{\{.*?\}\}", re.DOTALL)


def _may_be(written: str, names: frozenset[str]) -> bool:
    """Whether a job name as written (`Lint (${{ matrix.os }})`) may evaluate to one of
    `names`: its expressions stand for any text."""
    parts = _EXPRESSION.split(written.strip())
    pattern = re.compile(".*".join(map(re.escape, parts)), re.IGNORECASE | re.DOTALL)
    return any(pattern.fullmatch(name) for name in names)


def job_names(text: str) -> frozenset[str]:
    """The names of the check runs a workflow's jobs report (their `name:`, else id)."""
    out = set()
    for job_id, job in (_jobs(text) or {}).items():
        named = job.get("name") if isinstance(job, dict) else None
        out.add(str(named if named is not None else job_id).strip())
    return frozenset(out)


def gate_checks(
    workflows: Iterable[tuple[str, str]],
    check_name: str = "",
    read: Reader | None = None,
    every: Iterable[str] = (),
) -> frozenset[str]:
    """Every name the gate's check may carry: `check_name` (the check run `gatekeeper github`
    reports), and the check runs of the trusted workflows' jobs that run gatekeeper, or a
    script that does (`read`: the base's files; the job a required status check names when
    CI runs `gatekeeper scan --base`): a new workflow whose job reports one of them could
    pass for the gate."""
    names = set(_checks(check_name))
    paths = list(every)
    for _, text in workflows:
        if runs_gatekeeper(text) or (read is not None and gate_script(text, read, paths)):
            names.update(job_names(text))
    return frozenset(names)


@dataclass(frozen=True)
class Trees:
    """The two revisions a change compares, read lazily."""

    read_base: Reader
    read_head: Reader
    paths: Callable[[], set[str]]  # every file path of either revision


@dataclass(frozen=True)
class GateFile:
    path: str  # the head path (the old path when the change deletes it)
    line: int  # where to point: the first changed line, else 1
    reason: str
    guarded: tuple[str, ...] = ()  # the paths whose review it is about (CODEOWNERS)


def is_workflow(path: str) -> bool:
    """A workflow, or a local action a workflow may call."""
    return path.endswith((".yml", ".yaml")) and (
        path.startswith(".github/workflows/")
        or (
            path.startswith(".github/") and path.rsplit("/", 1)[-1] in ("action.yml", "action.yaml")
        )
    )


PRE_COMMIT_CONFIG = ".pre-commit-config.yaml"
# A pre-commit hook of gatekeeper: its id, or a repository named like it (args such as
# `--exit-zero` or an `exclude:` there switch the gate off wherever CI runs `pre-commit`).
_PRE_COMMIT_HOOK = lazy_re.compile(
    r"\bid:\s*['\"]?gatekeeper\b|repo:\s*\S*gatekeeper", re.IGNORECASE
)


def is_gate_candidate(path: str) -> bool:
    """A file that may decide whether the gate runs: a workflow, a local action, the
    pre-commit configuration."""
    return is_workflow(path) or path == PRE_COMMIT_CONFIG


def gate_reason(path: str, text: str, check_name: Checks) -> str:
    """Why the file at `path` (is_gate_candidate) is part of the gate, or ""."""
    if path == PRE_COMMIT_CONFIG:
        return "it runs gatekeeper as a pre-commit hook" if _PRE_COMMIT_HOOK.search(text) else ""
    reason = workflow_reason(text, check_name)
    return f"workflow: {reason}" if reason else ""


def workflow_reason(text: str, check_name: Checks) -> str:
    """Why a workflow's text makes it part of the gate, or ""."""
    if _RUNS_GATEKEEPER.search(text):
        return "it runs gatekeeper"
    named = [name for name in sorted(_checks(check_name)) if _names_check(text, name)]
    if named:
        return f"it names a job or status {named[0]!r}, like the check"
    if _CHECKS_API.search(text):
        return "it calls the check runs or commit statuses API"
    if _WRITES_CHECKS.search(text):
        return "it may write check runs or commit statuses"
    return ""


# Files a workflow's commands read by their tool's own name (`make gate`, `just check`).
_RECIPE_FILES = {
    "makefile": r"\bmake\b",
    "gnumakefile": r"\bmake\b",
    "justfile": r"\bjust\b",
    "taskfile.yml": r"\btask\b",
    "taskfile.yaml": r"\btask\b",
    "package.json": r"\b(?:npm|yarn|pnpm)\s+(?:run\s+)?\w",
}


def runs_file(workflow: str, path: str) -> bool:
    """Does a workflow's text run the repository file `path`: a script it calls (`run:
    ./ci/policy.sh`), a file in a local action it uses, the Makefile or justfile whose
    recipes it runs?"""
    name = path.removeprefix("./")
    base = name.rsplit("/", 1)[-1].lower()
    mention = re.compile(rf"(?:^|[\s'\"=(`]|\./){re.escape(name)}(?=$|[\s'\";)|&`])", re.M)
    if mention.search(workflow):
        return True
    if "/" not in name and base in _RECIPE_FILES and re.search(_RECIPE_FILES[base], workflow):
        return True
    used = re.findall(r"uses:\s*['\"]?\./([^\s'\"@]+)", workflow)
    return any(name.startswith(folder.rstrip("/") + "/") for folder in used)


def runs_gatekeeper(text: str) -> bool:
    return bool(_RUNS_GATEKEEPER.search(text))


def gate_runner(
    path: str, texts: Iterable[str], workflows: Iterable[tuple[str, str]], check_name: Checks = ""
) -> str:
    """The workflow among `workflows` ((path, text) of the base: trusted) that runs the file
    `path` and so makes it part of the gate, or "": the workflow is the gate, or the file
    runs gatekeeper itself (`texts`: its versions). `--exit-zero` written in a script the
    check runs switches the check off as well as in the workflow (red team r15)."""
    itself = any(runs_gatekeeper(text) for text in texts)
    for workflow, text in workflows:
        if runs_file(text, path) and (itself or workflow_reason(text, check_name)):
            return workflow
    return ""


def gate_script(workflow: str, read: Reader, paths: Iterable[str]) -> str:
    """A repository file the workflow runs that runs gatekeeper (`run: ./ci/policy.sh`), or
    "": the workflow is then part of the gate though its own text never names gatekeeper.
    Only the files its text could name are looked at (a token that is a path, a recipe
    file, a file of a local action it uses)."""
    every = set(paths)
    tokens = {token.removeprefix("./") for token in re.findall(r"[\w./-]+", workflow)}
    used = [u.rstrip("/") + "/" for u in re.findall(r"uses:\s*['\"]?\./([^\s'\"@]+)", workflow)]
    candidates = sorted(
        path
        for path in every
        if path in tokens
        or ("/" not in path and path.lower() in _RECIPE_FILES)
        or any(path.startswith(folder) for folder in used)
    )
    for path in candidates:
        if runs_file(workflow, path) and runs_gatekeeper(_text(read(path))):
            return path
    return ""


def trusted_paths(config: Config) -> list[str]:
    """Files and directories (ending in /) whose owners must review a change to them."""
    from gatekeeper.lock import LOCK_NAME
    from gatekeeper.sources.helm import vendored_folders

    local = [s["path"] for s in config.policies if "git" not in s and "path" in s]
    local += [str(path) for path in (config.raw.get("gate") or {}).get("policies", ())]
    return [
        *CONFIG_NAMES,
        LOCK_NAME,
        config.waivers_file,
        *(path.strip("/").removeprefix("./") + "/" for path in local),
        *vendored_folders(config.sources.get("helm", {})),
    ]


def why_gate(
    change: gitops.FileChange,
    trees: Trees,
    workflows: list[tuple[str, str]],
    checks: Checks,
    every: list[str],
) -> str:
    """Why a changed file is part of the gate, or "": a workflow, local action or pre-commit
    configuration that runs gatekeeper or may report its check (either version), a workflow
    running a script that runs gatekeeper, or a file a trusted gate workflow runs.
    `workflows`: the base's (path, text); `every`: the paths of both revisions."""
    for candidate, read in ((change.new, trees.read_head), (change.old, trees.read_base)):
        if candidate and is_gate_candidate(candidate):
            reason = gate_reason(candidate, _text(read(candidate)), checks)
            if reason:
                return reason
    path = change.new or change.old or ""
    if is_gate_candidate(path):
        if not is_workflow(path):
            return ""
        # the gate though it names only a script that runs gatekeeper
        text = _text(trees.read_head(path) or trees.read_base(path))
        script = gate_script(text, trees.read_base, every)
        return f"workflow: it runs {script}, which runs gatekeeper" if script else ""
    for name in dict.fromkeys(p for p in (change.new, change.old) if p):  # a rename: both
        versions = [_text(trees.read_base(name)), _text(trees.read_head(name))]
        runner = gate_runner(name, versions, workflows, checks)
        if runner:
            return f"the gate workflow {runner} runs it"
    return ""


def base_workflows(trees: Trees, every: Iterable[str]) -> list[tuple[str, str]]:
    """(path, text) of the base's workflows and local actions: trusted."""
    found = ((path, trees.read_base(path)) for path in every if is_workflow(path))
    return [(path, _text(data)) for path, data in found if data is not None]


def changed_gate_files(
    changes: Iterable[gitops.FileChange],
    trees: Trees,
    lines: dict[str, set[int]],
    config: Config,
    check_name: str,
) -> list[GateFile]:
    """The gate files a change touches (`lines`: the changed head lines per path)."""
    found: list[GateFile] = []
    changes = list(changes)
    every = sorted(trees.paths())
    workflows = base_workflows(trees, every)
    checks = gate_checks(workflows, check_name, trees.read_base, every)
    for change in changes:
        reason = why_gate(change, trees, workflows, checks, every)
        if reason:
            found.append(
                GateFile(change.new or change.old or "", _first_line(lines, change), reason)
            )
    found.extend(_codeowners_changes(trees, lines, config, checks, changes))
    return found


def _codeowners_changes(
    trees: Trees,
    lines: dict[str, set[int]],
    config: Config,
    check_name: Checks,
    changes: list[gitops.FileChange],
) -> list[GateFile]:
    """CODEOWNERS changes that give a policy, configuration or gate file other owners."""
    before, after = codeowners.find(trees.read_base), codeowners.find(trees.read_head)
    if before == after:
        return []
    guarded = guarded_paths(config, check_name, trees, changes) | {before.file, after.file}
    guarded.discard("")
    moved = sorted(path for path in guarded if before.owners_of(path) != after.owners_of(path))
    if not moved:
        return []
    file = after.file or before.file
    rule = after.rule_for(moved[0])
    line = rule.line if rule is not None and after.file else 1
    changed = lines.get(file, set())
    if rule is None or line not in changed:
        line = min(changed) if changed else line
    shown = ", ".join(moved[:5]) + (f" and {len(moved) - 5} more" if len(moved) > 5 else "")
    return [GateFile(file, line, f"CODEOWNERS: other owners for {shown}", tuple(moved))]


def guarded_paths(
    config: Config, check_name: Checks, trees: Trees, changes: list[gitops.FileChange]
) -> set[str]:
    """Every path, in either tree, that CODEOWNERS must keep covered: configuration, lock,
    waivers, policy files and gate workflows (the trusted names even where no file exists yet,
    so a rule for a future file counts too). The caller adds the CODEOWNERS files."""
    trusted = trusted_paths(config)
    out = {path for path in trusted if not path.endswith("/")}
    changed = {p for c in changes for p in (c.old, c.new) if p}
    for path in trees.paths():
        if any(t.endswith("/") and path.startswith(t) for t in trusted):
            out.add(path)
        elif is_workflow(path):
            read = trees.read_head if path in changed else trees.read_base
            text = _text(read(path) or trees.read_base(path))
            if workflow_reason(text, check_name):
                out.add(path)
    return out


def _text(data: bytes | None) -> str:
    return "" if data is None else data.decode("utf-8", "replace")


def _first_line(lines: dict[str, set[int]], change: gitops.FileChange) -> int:
    changed = lines.get(change.new or "", set())
    return min(changed) if changed and change.new else 1
