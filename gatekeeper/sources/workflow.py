"""CI workflow files: GitHub Actions (`.github/workflows/*.yml`), composite actions (`action.yml`,
kind GitHubAction: `runs.steps` appear as the steps of one job, `jobs.composite`) and GitLab CI
(`.gitlab-ci.yml`).

The document is the workflow as written (GitHub) or its jobs gathered under `jobs` (GitLab),
with a few fields added so rules can look inside scripts:

    events                      GitHub: the trigger names of `on:` (a list, whatever its form)
    jobs.<id>.steps[*].commands every simple command of a `run:` script (GitLab: `steps` are the
                                job's hooks, before_script, script, run (CI steps) and
                                after_script, its own or its templates', see
                                workflow_gitlab), see gatekeeper.shell:
                                {text, line, program, positional, flags, signature, wrappers...}
    ...steps[*].action / .ref   `uses: owner/repo@ref` split (also on jobs calling a workflow)
    jobs.<id>.forkGuarded       GitHub: {pull_request: bool, pull_request_target: bool,
                                workflow_run: bool},
                                true when the job's `if:` cannot hold for that event from a
                                fork (workflow_expressions.fork_guarded)
    jobs.<id>.expressionReads   GitHub: the context paths (workflow_expressions.reads) of every
                                `${{ }}` whose value the job's code or containers hold: the
                                workflow's and the job's `env`, the job's `with`, `secrets`,
                                `container` and `services`, its steps' `run`, `with` and `env`
    jobs.<id>.runsOnLabels      GitHub: the runner labels of `runs-on`, a `${{ matrix.x }}`
                                label as each value the matrix gives it
    jobs.<id>.runsOnSelfHosted  GitHub: true when `runs-on` picks a self-hosted runner
                                (_self_hosted: the default labels, a group, a matrix list)
    ...steps[*].withReads       GitHub: {input: [context paths its `${{ }}` read]}
    ...steps[*].checkoutReads   GitHub: for a step running a local composite action, the
                                context paths its actions/checkout steps' `ref` and
                                `repository` read, the caller's `with:` values read through
                                `inputs.X` ({ref: [...], repository: [...]}); a job calling
                                a local reusable workflow gets a step {calls, checkoutReads}
    ...steps[*].localUses       GitHub: `./PATH` for a `uses:` naming this repository by
                                its full name (OWNER/REPO/PATH@REF)
    ...steps[*].codeExpressions GitHub: the `${{ }}` the runner pastes into the step's code
                                (`run:`, or an input its action runs: github-script's
                                `script`, whose line `run` then locates), each as
                                {expression, reads}: see workflow_expressions
    ...steps[*].shellReads      GitHub: the context paths a `run:` script reads through its
                                environment: `$NAME` of an env value that is an expression,
                                $GITHUB_HEAD_REF, event fields read from $GITHUB_EVENT_PATH
    ...steps[*].evalReads       GitHub: the context paths of env variables the script pastes
                                into text it runs as code (`eval "$X"`, `bash -c "$X"`)
    ...context                  on steps and commands: {job, environment, workflow, actors,
                                ephemeralCluster}, the facts an allow list needs; `actors` are
                                the users a job's or step's `if:` restricts it to
                                (`github.actor == 'gitops-bot'`); `ephemeralCluster` is true when
                                the job starts a throwaway cluster (kind, k3d, minikube, or an
                                azd environment it makes and tears down)

A command's line is the line inside the script: block start plus offset for `|` scalars, found
in the source text for folded and multi-line plain scalars.
"""

from __future__ import annotations

import itertools
import posixpath
import re
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gatekeeper import lazy_re, ownership, shell, shell_dirs, shell_names
from gatekeeper.document import Document, Loaded, Location, Problem, extend_new
from gatekeeper.fieldpath import Path, format_path, texts
from gatekeeper.linemap import LineMapLocator
from gatekeeper.sources import LoadContext, workflow_azd, workflow_ci, workflow_remote_clusters
from gatekeeper.sources import names as source_names
from gatekeeper.sources import workflow_gitlab as gitlab
from gatekeeper.sources.workflow_actions import CommandInput, command_input
from gatekeeper.sources.workflow_expressions import (
    evaluated_reads,
    expressions,
    fork_guarded,
    pasted,
    reads,
    shell_reads,
)
from gatekeeper.sources.workflow_scripts import Files, file_reader, step_folder
from gatekeeper.sources.workflow_values import (
    Values,
    github_script,
    input_values,
    job_values,
    matrix_values,
    merged,
    scalar,
    with_expressions,
    workflow_inputs,
    written,
)
from gatekeeper.tree import Tree, inside
from gatekeeper.yamldoc import (
    NodeLocator,
    YamlDocument,
    check_bytes,
    decode,
    duplicate_key_problems,
    load_mapping,
    read_documents,
    safe_load,
)

NAME = "workflow"
GITHUB = source_names.WORKFLOW_GITHUB
GITLAB = source_names.WORKFLOW_GITLAB
ACTION = source_names.WORKFLOW_ACTION
kind_of = source_names.workflow_kind

# Actions and commands that start a throwaway cluster in the CI runner: kubectl and helm in
# that job test against it, they do not deploy.
EPHEMERAL_CLUSTER_ACTIONS = frozenset(
    {
        "helm/kind-action", "engineerd/setup-kind", "container-tools/kind-action",
        "medyagh/setup-minikube", "manusa/actions-setup-minikube", "absaoss/k3d-action",
        "nolar/setup-k3d-k3s", "debianmaster/actions-k3s", "jupyterhub/action-k3s-helm",
        "balchua/microk8s-actions",
    }
)  # fmt: skip
EPHEMERAL_CLUSTER_COMMANDS = (
    "kind create cluster", "k3d cluster create", "minikube start", "ctlptl create",
    "microk8s start", "k3s server",
)  # fmt: skip
# `shell:` values whose script is Python, not a POSIX-like shell command list: the commands
# it runs through os/subprocess are read from its syntax tree.
_NOT_SHELL = ("python",)
# The events whose runs a fork's pull request can start (a job's `forkGuarded`).
_PR_EVENTS = ("pull_request", "pull_request_target")
# Their activity types when a workflow names none. Any other (`edited`, `closed`,
# `ready_for_review`, `labeled`...) also happens after the fork's owner deleted it, which
# GitHub cannot `reopen` or `synchronize`: then the payload's `head.repo` is null.
_DEFAULT_PR_TYPES = frozenset({"opened", "synchronize", "reopened"})
_ACTOR = lazy_re.compile(
    r"^\(?\s*(?:github\.(?:actor|triggering_actor)\s*==\s*'([^']*)'"
    r"|'([^']*)'\s*==\s*github\.(?:actor|triggering_actor))\s*\)?$"
)


def detect(path: str) -> bool:
    return kind_of(path) != ""


def load(path: str, data: bytes, context: LoadContext | None = None) -> Loaded:
    kind = kind_of(path)
    if kind == workflow_ci.AZURE and context is not None:
        return _azure(path, data, context)
    if kind != GITLAB or context is None:
        return _load_one(path, data, kind, context)
    own = context.repo_urls()
    built = gitlab.pipeline(path, data, context.tree, own)
    loaded = _load_one(path, data, kind, context, built)
    # Jobs of local `include:` files run in the same pipeline, child pipelines
    # (`trigger: include:`) in their own: each file is judged (a missing one is GitLab's
    # error: the pipeline does not start).
    for name in built.files[1:]:
        more = _load_one(name, b"", GITLAB, context, built)
        loaded.documents.extend(more.documents)
        loaded.problems.extend(more.problems)
    return loaded


def _azure(path: str, data: bytes, context: LoadContext) -> Loaded:
    """An Azure pipeline and the templates it includes, each file judged at its own lines
    with the parameters it is included with (red team s08 of the eleventh session); a
    template of another repository is said at its reference, not judged. A template named
    like a pipeline (`.azure-pipelines/`) is judged on its own too: here only with
    parameters."""
    loaded = _load_one(path, data, workflow_ci.AZURE, context)
    root = _azure_node(context.tree, path, data)
    if root is None:
        return loaded
    done: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    variables = workflow_ci.azure_variables(root)  # the `$(name)` its templates may spell
    for including, template in workflow_ci.azure_closure(
        path, root, lambda name: _azure_node(context.tree, name)
    ):
        if template.file is None:
            dynamic = "${{" in template.written or "$(" in template.written
            where = (
                "is named by an expression"
                if dynamic
                else f"is in repository {template.written.rpartition('@')[2]}, not this one"
                if "@" in template.written
                else "is outside this repository"
            )
            message = (
                f"Azure Pipelines template {template.written} {where}: what it adds to the"
                " pipeline is not judged here; judge it where it lives"
            )
            problem = Problem("GK-NOT-EXPANDED", including, template.line, message)
            if problem not in loaded.problems:
                loaded.problems.append(problem)
            continue
        key = (template.file, tuple(sorted({**variables, **dict(template.given)}.items())))
        named = kind_of(template.file) == workflow_ci.AZURE
        if key in done or (named and not key[1]) or not context.tree.exists(template.file):
            continue
        done.add(key)
        more = _load_one(
            template.file, context.tree.read(template.file), workflow_ci.AZURE, context,
            parameters=dict(key[1]),
        )  # fmt: skip
        loaded.documents.extend(more.documents)
        extend_new(loaded.problems, more.problems)
    return loaded


def _azure_node(tree: Tree, path: str, data: bytes | None = None) -> Any:
    """The YAML node of an Azure pipeline or template, or None (missing, not a mapping)."""
    try:
        text = tree.read(path) if data is None else data
    except OSError:
        return None
    entry, _, _ = load_mapping(path, text, "workflow")
    return entry.node if entry is not None else None


_AZURE_EDGES: weakref.WeakKeyDictionary[Any, list[tuple[str, str]]] = weakref.WeakKeyDictionary()


def _azure_owners(path: str, tree: Tree) -> list[str]:
    """The Azure pipelines including `path` as a template (a hook given only it)."""
    if not path.endswith((".yml", ".yaml")) or kind_of(path):
        return []
    if tree not in _AZURE_EDGES:
        _AZURE_EDGES[tree] = list(_azure_edges(tree))
    return [pipeline for pipeline, template in _AZURE_EDGES[tree] if template == path]


def _azure_edges(tree: Tree) -> Iterator[tuple[str, str]]:
    """(pipeline, template) of the tree's Azure pipelines: a pull request changing only a
    template judges the pipelines including it again."""
    for name in tree.list_dir("."):
        if kind_of(name) != workflow_ci.AZURE:
            continue
        root = _azure_node(tree, name)
        if root is None:
            continue
        for _, template in workflow_ci.azure_closure(name, root, lambda n: _azure_node(tree, n)):
            if template.file is not None:
                yield name, template.file


_OWNERS: weakref.WeakKeyDictionary[Any, list[str]] = weakref.WeakKeyDictionary()


def owners(path: str, context: LoadContext) -> list[str]:
    """The workflows a changed `path` feeds: the root `.gitlab-ci.yml` when it includes it,
    and every workflow whose steps run it (a script, Makefile, justfile, Taskfile or
    package.json they follow): a pull request changing only `justfile` re-judges `just
    deploy`, as the change deploys through it."""
    found = _gitlab_owners(path, context)
    found += [name for name in _azure_owners(path, context.tree) if name not in found]
    if not kind_of(path) and _followable(path, context.tree):
        found += [name for name in _followers(context.tree).get(path, []) if name not in found]
    elif kind_of(path):  # what it calls with inputs, the Terraform its `TF_VAR_` values feed
        from gatekeeper.sources.terraform_modules import workflow_readers

        callers(context.tree)
        found += [callee for callee, name in _CALLED_BY[context.tree] if name == path]
        if _gives_terraform(context.tree, path):
            found += [tf for tf, name in workflow_readers(context.tree) if name == path]
    return found


def _gives_terraform(tree: Tree, path: str) -> bool:
    """Whether a workflow's text may give Terraform values (a cheap test before loading)."""
    try:
        data = tree.read(path)
    except OSError:
        return False
    return b"TF_VAR_" in data or b"TF_CLI_ARGS" in data or _VAR_FLAG.search(data) is not None


_VAR_FLAG = lazy_re.compile(rb"[\s\"']-var[\s=]")


_followable = source_names.followable


_WORKFLOWS: weakref.WeakKeyDictionary[Any, list[Document]] = weakref.WeakKeyDictionary()


def workflows(tree: Tree) -> list[Document]:
    """The tree's workflows, loaded once per tree: every workflow and composite action under
    `.github`, a root `action.yml` and `.gitlab-ci.yml` (with what it includes)."""
    if tree in _WORKFLOWS:
        return _WORKFLOWS[tree]
    documents: list[Document] = []
    for name in _workflow_names(tree):
        try:
            documents += load(name, tree.read(name), LoadContext(tree=tree)).documents
        except OSError:
            continue
    _WORKFLOWS[tree] = documents
    return documents


def _workflow_names(tree: Tree) -> list[str]:
    """Every workflow and composite action under `.github`, a root `action.yml`,
    `.gitlab-ci.yml`, and the local actions workflows call (`uses: ./ci/deploy`)."""
    names = [name for name in tree.list_dir(".github") if kind_of(name) in (GITHUB, ACTION)]
    names += [name for name in ("action.yml", "action.yaml", ".gitlab-ci.yml") if tree.exists(name)]
    callers(tree)
    return names + sorted({callee for callee, _ in _CALLED_BY[tree]} - set(names))


def _steps(document: Document) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(job, step) of a loaded workflow."""
    for job in _values(document.obj.get("jobs")):
        for step in _values(job.get("steps") if isinstance(job, dict) else None):
            if isinstance(step, dict):
                yield job, step


def _followers(tree: Tree) -> dict[str, list[str]]:
    """Each file the tree's workflows follow into, with the workflows that do."""
    index: dict[str, list[str]] = {}
    for document in workflows(tree):
        for _, step in _steps(document):
            for command in step.get("commands") or []:
                followed = command.get("file")
                if followed and document.file not in index.setdefault(followed, []):
                    index[followed].append(document.file)
    return index


# (workflow, directory applied or None, {variable: (value, file, line)})
TerraformEnv = tuple[str, str | None, dict[str, tuple[str, str, int]]]
_TF_VARS: weakref.WeakKeyDictionary[Any, list[TerraformEnv]] = weakref.WeakKeyDictionary()
# Programs whose `apply` reads `TF_VAR_<name>` from its environment.
_TERRAFORMS = ("terraform apply", "tofu apply", "terragrunt apply", "terragrunt run-all apply")
# ... and whose `plan -out=FILE` saves the values a later `apply FILE` applies.
_PLANS = ("terraform plan", "tofu plan", "terragrunt plan")


def terraform_variables(tree: Tree) -> list[TerraformEnv]:
    """What the tree's workflows give `terraform apply`: `TF_VAR_<name>` in their `env:` /
    `variables:` (workflow, job, step) or exported by the step's script before it, and its
    own `-var name=value`: (workflow, the directory applied when the step says it
    (`-chdir=`, `working-directory`, a `cd` before it), else None, {name: (value, file,
    line)}). A `plan -out=FILE` counts as an apply: the saved plan holds the values `apply
    FILE` applies (its `-var`, `TF_CLI_ARGS_plan`). A value spelled with `${{ }}` or `$` is
    computed by CI: kept as written (terraform_modules.computed)."""
    if tree in _TF_VARS:
        return _TF_VARS[tree]
    found: list[TerraformEnv] = []
    _TF_VARS[tree] = found
    names = [name for name in _workflow_names(tree) if _gives_terraform(tree, name)]
    for document in workflows(tree) if names else []:
        for job, step in _steps(document):
            applies = [
                command
                for command in step.get("commands") or []
                if (str(command["signature"]) + " ").startswith(tuple(t + " " for t in _TERRAFORMS))
                or _saved_plan(command)
            ]
            if not applies:
                continue
            exported: dict[str, tuple[str, str, int]] = {}
            for command in step.get("commands") or []:
                where = (str(command.get("file") or document.file), int(command["line"]))
                if command["program"] in ("export", "declare", "typeset") or command in applies:
                    for word in command["argv"]:  # `export TF_VAR_x=1`, `TF_VAR_x=1 terraform`
                        name, equals, value = str(word).partition("=")
                        if equals and name.startswith("TF_VAR_"):
                            exported[name[len("TF_VAR_") :]] = (value, *where)
                if command not in applies:
                    continue
                environment = _tf_vars(document, job, step, _subcommand(command), where)
                given = {**environment, **exported}
                for flag in command["flags"]:  # `-var name=value` wins
                    name, equals, value = flag[len("-var=") :].partition("=")
                    if flag.startswith("-var=") and equals:
                        given[name] = (value, *where)
                directory = _applied_folder(command, job, step)
                if given:
                    found.append((document.file, directory, given))
    return found


def _saved_plan(command: dict[str, Any]) -> bool:
    """A `terraform plan` that saves its plan (`-out=FILE`) for an apply to run."""
    signature = str(command["signature"]) + " "
    flags = [str(flag) for flag in command.get("flags") or []]
    return signature.startswith(tuple(t + " " for t in _PLANS)) and any(
        flag.startswith("-out=") or flag == "-out" for flag in flags
    )


def _subcommand(command: dict[str, Any]) -> str:
    return "plan" if _saved_plan(command) else "apply"


def _applied_folder(
    command: dict[str, Any], job: dict[str, Any], step: dict[str, Any]
) -> str | None:
    """The folder a terraform command applies: its `-chdir=` from where it runs, where it
    runs (shell_dirs: `cd infra && terraform apply`, the step's working-directory), else
    None (the step does not say)."""
    from gatekeeper import shell_dirs

    folder = command.get("directory", ".")
    here = folder if shell_dirs.known(folder) and not str(folder).startswith("/") else None
    chdir = [f.partition("=")[2] for f in command["flags"] if f.startswith("-chdir=")]
    chdir += [  # terragrunt's own (`--working-dir live/prod`), as -chdir
        f.partition("=")[2]
        for f in command["flags"]
        if f.startswith(("--terragrunt-working-dir=", "--working-dir="))
    ]
    if chdir:
        resolved = shell_dirs.resolve(here, chdir[0]) if here is not None else None
        return resolved if shell_dirs.known(resolved) and resolved != "." else chdir[0]
    if here is not None and here != ".":
        return str(here)
    return _directory(job, step)


def _tf_vars(
    document: Document,
    job: dict[str, Any],
    step: dict[str, Any],
    subcommand: str = "apply",
    where: tuple[str, int] = ("", 1),
) -> dict[str, tuple[str, str, int]]:
    """`TF_VAR_` values of the workflow's, job's and step's environment, at their lines
    (what the job's earlier steps write to `$GITHUB_ENV` between the job's and the step's,
    at the command's line `where`), and the `-var` flags of `TF_CLI_ARGS` /
    `TF_CLI_ARGS_<subcommand>` there, which terraform takes as its own command line's and so
    over `TF_VAR_` (red team r13); a flag's value CI computes (`-var=debug=${{ vars.DEBUG
    }}`) is kept as written (computed)."""
    from gatekeeper.sources.workflow_envsubst import sent_to_github_env

    given: dict[str, tuple[str, str, int]] = {}
    flags: dict[str, tuple[str, str, int]] = {}
    for holder in (document.obj, job, step):
        if holder is step:  # `echo "TF_VAR_x=1" >> "$GITHUB_ENV"` in an earlier step
            for name, value in sent_to_github_env(job, step).items():
                if name.startswith("TF_VAR_"):
                    given[name[len("TF_VAR_") :]] = (value, *where)
        for name, value in _env(holder).items():
            if not name.startswith(("TF_VAR_", "TF_CLI_ARGS")):
                continue
            path = _env_path(document, holder, name)
            line = document.locator.locate(path).line if path else 1
            if name.startswith("TF_VAR_"):
                given[name[len("TF_VAR_") :]] = (value, document.file, line)
            elif name in ("TF_CLI_ARGS", f"TF_CLI_ARGS_{subcommand}"):
                for key, text in cli_vars(_EXPRESSION.sub(_compact, value)).items():
                    flags[key] = (text, document.file, line)
    return {**given, **flags}


def computed_cli_args(document: Document) -> list[Problem]:
    """A blocking note at each `terragrunt ... apply` CI points at another module
    (_terragrunt_source), and at each `terraform apply` (or `plan -out`) whose `TF_CLI_ARGS` /
    `TF_CLI_ARGS_<subcommand>` (the workflow's, job's or step's `env:`, or exported by the
    script before it) CI computes beyond a `-var` value (`${{ vars.TF_ARGS }}`, `$(cat
    flags.txt)`): terraform takes those words as its own flags, so which variables,
    var-files or targets it applies is a setting's, judged by no rule; saying nothing judged
    the defaults (red team s17 y04). A computed `-var=name=${{ ... }}` is judged
    (terraform_modules.computed)."""
    found: list[Problem] = []
    for job, step in _steps(document):
        exported: dict[str, str] = {}
        for command in step.get("commands") or []:
            is_apply = (str(command["signature"]) + " ").startswith(
                tuple(t + " " for t in _TERRAFORMS)
            ) or _saved_plan(command)
            if command["program"] in ("export", "declare", "typeset") or is_apply:
                for word in command["argv"]:  # `export TF_CLI_ARGS=`, `TF_CLI_ARGS= terraform`
                    name, equals, value = str(word).partition("=")
                    if equals and name.startswith(("TF_CLI_ARGS", *_TERRAGRUNT_SOURCE_ENV)):
                        exported[name] = value
            if command["program"] == "terragrunt" and "apply" in command["argv"]:
                found += _terragrunt_source(document, job, step, command, exported)
            if not is_apply:
                continue
            environment = _step_env(document, job, step)
            for name in ("TF_CLI_ARGS", f"TF_CLI_ARGS_{_subcommand(command)}"):
                value = exported.get(name, environment.get(name, ""))
                if _computed_flags(value):
                    message = (
                        f"`{command['text']}` runs with {name} computed at run time ({value}):"
                        " which flags, variables or var-files terraform takes is not in the"
                        " repository and is judged by no rule; write them out (`-var"
                        " name=value`, a `-var-file` of the repository)"
                    )
                    file = str(command.get("file") or document.file)
                    line = int(command["line"])
                    found.append(Problem("GK-LOCAL-NOT-EXPANDED", file, line, message))
    return found


# What makes terragrunt apply another module than its configurations' `terraform.source`
# (terragrunt.gruntwork.io/docs/reference/cli-options: --terragrunt-source, --source, and
# their environment variables; --terragrunt-source-map / --source-map `URL=path`, which
# points a configuration's remote source at a folder, and theirs).
_TERRAGRUNT_SOURCE_FLAGS = (
    "--terragrunt-source",
    "--source",
    "--terragrunt-source-map",
    "--source-map",
)
_TERRAGRUNT_SOURCE_ENV = (
    "TERRAGRUNT_SOURCE",
    "TG_SOURCE",
    "TERRAGRUNT_SOURCE_MAP",
    "TG_SOURCE_MAP",
)


# The configuration file terragrunt reads instead of terragrunt.hcl (--terragrunt-config,
# --config; TERRAGRUNT_CONFIG, TG_CONFIG).
_TERRAGRUNT_CONFIG_FLAGS = ("--terragrunt-config", "--config")
_CONFIG_ENV = ("TERRAGRUNT_CONFIG", "TG_CONFIG")


def _terragrunt_source(
    document: Document,
    job: Any,
    step: dict[str, Any],
    command: dict[str, Any],
    exported: dict[str, str],
) -> list[Problem]:
    """A blocking note at a `terragrunt ... apply` that CI points at another module
    (`--terragrunt-source ../other//db`, TERRAGRUNT_SOURCE): the configurations' inputs are
    then applied to a module no rule judged with them (session 17, attacking sources.
    terragrunt)."""
    argv = [str(word) for word in command["argv"]]
    given = [
        word.partition("=")[2] or (argv[at + 1] if at + 1 < len(argv) else "")
        for at, word in enumerate(argv)
        if word.partition("=")[0] in _TERRAGRUNT_SOURCE_FLAGS
    ]
    given += [  # `TERRAGRUNT_SOURCE=../x terragrunt run --all apply`
        word.partition("=")[2] for word in argv if word.partition("=")[0] in _TERRAGRUNT_SOURCE_ENV
    ]
    environment = _step_env(document, job, step)
    given += [exported.get(n, environment.get(n, "")) for n in _TERRAGRUNT_SOURCE_ENV]
    given = [value for value in given if str(value).strip()]
    file = str(command.get("file") or document.file)
    found = []
    if given:
        message = (
            f"`{command['text']}` applies the module {given[0]} instead of the one each"
            " terragrunt configuration names: what it deploys with their inputs is judged by no"
            " rule; drop the override (or judge that module as the configurations' source)"
        )
        found.append(Problem("GK-LOCAL-NOT-EXPANDED", file, int(command["line"]), message))
    config = [
        word.partition("=")[2] or (argv[at + 1] if at + 1 < len(argv) else "")
        for at, word in enumerate(argv)
        if word.partition("=")[0] in _TERRAGRUNT_CONFIG_FLAGS
    ]
    config += [word.partition("=")[2] for word in argv if word.partition("=")[0] in _CONFIG_ENV]
    config += [exported.get(n, environment.get(n, "")) for n in _CONFIG_ENV]
    config = [value for value in config if str(value).strip()]
    if config and posixpath.basename(str(config[0])) != "terragrunt.hcl":
        message = (
            f"`{command['text']}` reads the configuration {config[0]} instead of"
            " terragrunt.hcl: gatekeeper does not read it as one, so what it deploys with its"
            " inputs is judged by no rule; name it terragrunt.hcl"
        )
        found.append(Problem("GK-LOCAL-NOT-EXPANDED", file, int(command["line"]), message))
    return found


def _step_env(document: Document, job: Any, step: dict[str, Any]) -> dict[str, Any]:
    """The environment a step's commands run with: the workflow's, the job's, what earlier
    steps wrote to $GITHUB_ENV, the step's own `env:` (each over the one before)."""
    return {
        name: value
        for holder in (document.obj, job, _github_env(job, step), step)
        for name, value in _env(holder).items()
    }


def _github_env(job: Any, step: dict[str, Any]) -> dict[str, Any]:
    """What the job's earlier steps write to $GITHUB_ENV, computed values too, as an `env:`
    holder (workflow_envsubst.sent_to_github_env keeps only literal ones)."""
    found: dict[str, str] = {}
    steps = job.get("steps") if isinstance(job, dict) else None
    for earlier in steps if isinstance(steps, list) else []:
        if earlier is step:
            break
        script = earlier.get("run") if isinstance(earlier, dict) else None
        if isinstance(script, str) and "GITHUB_ENV" in script:
            found.update(written(script, {})[1])
        if isinstance(earlier, dict):
            found.update(github_script(earlier)[1])
    return {"env": found}


def _computed_flags(arguments: str) -> bool:
    """Do terraform arguments hold a word CI computes other than a `-var` flag's value?"""
    import shlex

    if "$" not in arguments and "`" not in arguments:
        return False
    try:
        words = shlex.split(_EXPRESSION.sub(_compact, arguments))
    except ValueError:
        return True
    for index, word in enumerate(words):
        if "$" not in word and "`" not in word:
            continue
        flag = word.lstrip("-")
        if word.startswith("-") and flag.startswith("var="):
            text = flag[len("var=") :]
        elif index and words[index - 1].lstrip("-") == "var" and words[index - 1].startswith("-"):
            text = word
        else:
            return True
        name, equals, _ = text.partition("=")
        if not equals or "$" in name or "`" in name:
            return True
    return False


# A GitHub expression, spelled in one word so that a flag's value keeps it whole.
_EXPRESSION = lazy_re.compile(r"\$\{\{.*?\}\}")


def _compact(match: re.Match[str]) -> str:
    return "".join(match.group(0).split())


def cli_vars(arguments: str) -> dict[str, str]:
    """The `-var name=value` / `-var=name=value` flags of a terraform argument string."""
    import shlex

    try:
        words = shlex.split(arguments)
    except ValueError:
        return {}
    found: dict[str, str] = {}
    for index, word in enumerate(words):
        flag = word.lstrip("-")
        if not word.startswith("-") or not flag.startswith("var") or flag.startswith("var-"):
            continue
        if flag.startswith("var="):
            text = flag[len("var=") :]
        elif flag == "var" and index + 1 < len(words):
            text = words[index + 1]
        else:
            continue
        name, equals, value = text.partition("=")
        if equals:
            found[name] = value
    return found


def _env_path(document: Document, holder: dict[str, Any], name: str) -> Path | None:
    """The field path of `holder`'s environment entry `name` in `document`."""
    key = "env" if "env" in holder else "variables"
    if holder is document.obj:
        return (key, name)
    for job_id, job in (document.obj.get("jobs") or {}).items():
        if job is holder:
            return ("jobs", job_id, key, name)
        for index, step in enumerate(job.get("steps") or [] if isinstance(job, dict) else []):
            if step is holder:
                return ("jobs", job_id, "steps", index, key, name)
    return None


def _directory(job: dict[str, Any], step: dict[str, Any]) -> str | None:
    from gatekeeper.sources.workflow_scripts import working_directory

    directory = working_directory(step, job)
    return None if directory == "." else directory


def feeds(context: LoadContext) -> Iterator[tuple[str, str]]:
    """Dependency edges (see depgraph): a workflow reads the scripts and recipe files its
    steps run, and `.gitlab-ci.yml` the files it includes and its child pipelines, so a
    pull request changing only those judges the workflow again."""
    tree = context.tree
    if tree.exists(".gitlab-ci.yml"):
        own = context.repo_urls()
        yield from ((".gitlab-ci.yml", name) for name in _gitlab_closure(tree, own)[1:])
    for followed, workflows in _followers(context.tree).items():
        for name in workflows:
            yield name, followed
    callers(context.tree)
    yield from _CALLED_BY.get(context.tree, [])
    yield from _azure_edges(tree)
    yield from _rendered_inputs(tree)


def _rendered_inputs(tree: Tree) -> Iterator[tuple[str, str]]:
    """A CI file reads the local charts its `helm install|upgrade` commands deploy and their
    values files, and the manifests its steps fill with envsubst, so a change to any of them
    renders what it deploys again on both sides."""
    from gatekeeper.sources import workflow_envsubst
    from gatekeeper.sources.workflow_helm import inputs, marked

    for document in ci_documents(tree, (b"helm", b"envsubst")):
        for _, step in _steps(document):
            for command in marked(step.get("commands") or []):
                for needed in inputs(command, tree, document.file):
                    yield document.file, needed
        for needed in workflow_envsubst.inputs(document, tree):
            yield document.file, needed


def ci_documents(tree: Tree, words: tuple[bytes, ...]) -> list[Document]:
    """The workflows (GitHub's, GitLab's: see workflows) and the other CI formats' pipelines
    (workflow_ci.KINDS: Azure, Bitbucket, CircleCI, Jenkins...) whose text holds one of
    `words`, loaded with their commands."""
    documents = list(workflows(tree))
    listed = {document.file for document in documents}
    for name in tree.list_dir("."):
        if name in listed or kind_of(name) not in workflow_ci.KINDS:
            continue
        try:
            data = tree.read(name)
        except OSError:
            continue
        if any(word in data for word in words):
            documents += ownership.of(tree).remember("ci-pipeline", name, _pipeline)
    return documents


def _pipeline(tree: Tree, name: str) -> list[Document]:
    """A CI format's pipeline loaded with its commands, once per tree: kubectl_files and
    _rendered_inputs both ask for it in a `scan --base` (a load renders its Helm commands)."""
    return load(name, tree.read(name), LoadContext(tree=tree)).documents


_CALLERS: weakref.WeakKeyDictionary[Any, dict[str, Values]] = weakref.WeakKeyDictionary()
_CALLED_BY: weakref.WeakKeyDictionary[Any, list[tuple[str, str]]] = weakref.WeakKeyDictionary()


def callers(tree: Tree) -> dict[str, Values]:
    """What the tree's workflows and composite actions pass the local reusable workflows
    (`jobs.<id>.uses: ./.github/workflows/deploy.yml`) and local actions (`uses: ./ci/x`)
    they call, as `with:` values of `inputs.X`: a callee's `run: ${{ inputs.cmd }}` runs
    them. Read from the files as written (a text read, no loading: callees are loaded)."""
    if tree in _CALLERS:
        return _CALLERS[tree]
    passed: dict[str, Values] = {}
    edges: list[tuple[str, str]] = []
    _CALLERS[tree], _CALLED_BY[tree] = passed, edges
    own = _own_names(tree)
    for name in tree.list_dir(".github"):
        if kind_of(name) not in (GITHUB, ACTION):
            continue
        try:
            data = tree.read(name)
        except OSError:
            continue
        if not _LOCAL_USES.search(data) and not any(n in data.lower() for n in own):
            continue
        entry, _, _ = load_mapping(name, data, "workflow")
        obj = entry.obj if entry is not None else None
        for holder in _callers_in(obj):
            uses = str(holder.get("uses"))
            named = _NAMED_USES.match(uses.strip())
            if named and named.group(1).lower().encode() in own:  # this repository's, in full
                uses = "./" + named.group(2)
            callee = _local_callee(tree, uses)
            if callee is not None and kind_of(callee) == GITHUB:
                # a job calling a reusable workflow runs on the callee's runners: a change
                # to the callee alone judges the caller again (red team s24 trust18 c08)
                edges.append((name, callee))
            given = holder.get("with")
            if callee is None or not isinstance(given, dict):
                continue
            edges.append((callee, name))
            for key, value in given.items():
                if scalar(value) and str(value).strip():
                    for expression in (f"inputs.{key}", f"github.event.inputs.{key}"):
                        passed.setdefault(callee, {}).setdefault(expression, []).append(str(value))
    return passed


_LOCAL_USES = lazy_re.compile(rb"""uses\s*:\s*['"]?\./""")


def _own_names(tree: Tree) -> set[bytes]:
    """This checkout's repository as `owner/name` (lower case), from its remotes and the
    repository a GitHub Actions run checks (git.remote_urls): a `uses:
    acme/deploy/.github/actions/x@SHA` in acme/deploy passes its inputs to the local action
    (red team s22 trust15 c36). Empty for a tree with no checkout behind it."""
    from pathlib import Path as FsPath

    from gatekeeper.git import remote_urls
    from gatekeeper.sources.gitops import normalise_url

    root = getattr(tree, "root", None)
    if root is None:
        repo = getattr(getattr(tree, "commit", None), "repo", None)
        root = getattr(repo, "working_tree_dir", None)
    if root is None:
        return set()
    try:
        urls = remote_urls(FsPath(str(root)))
    except OSError:
        return set()
    names = set()
    for url in urls:
        parts = normalise_url(url).split("/")
        if len(parts) >= 3:
            names.add("/".join(parts[-2:]).encode())
    return names


def _callers_in(obj: Any) -> list[dict[str, Any]]:
    """Jobs and steps of a raw workflow or action that may `uses:` a local callee."""
    if not isinstance(obj, dict):
        return []
    runs = obj.get("runs")
    found: list[Any] = list(_values(runs.get("steps"))) if isinstance(runs, dict) else []
    for job in _values(obj.get("jobs")):
        if isinstance(job, dict):
            found += [job, *_values(job.get("steps"))]
    return [item for item in found if isinstance(item, dict) and isinstance(item.get("uses"), str)]


def _local_callee(tree: Tree, uses: str) -> str | None:
    """The file a local `uses: ./...` runs: the workflow itself or the action's action.yml."""
    if not uses.startswith("./"):
        return None
    path = inside(uses.split("@", 1)[0])
    if path is None:
        return None
    if kind_of(path) == GITHUB:
        return path if tree.exists(path) else None
    for name in ("action.yml", "action.yaml"):
        if tree.exists(posixpath.join(path, name)):
            return posixpath.join(path, name)
    return None


def _values(holder: Any) -> list[Any]:
    if isinstance(holder, dict):
        return list(holder.values())
    return holder if isinstance(holder, list) else []


def _gitlab_owners(path: str, context: LoadContext) -> list[str]:
    """The root `.gitlab-ci.yml` when it includes `path` or starts a child pipeline from it:
    a changed include or child pipeline re-judges it."""
    if not path.endswith((".yml", ".yaml")) or path == ".gitlab-ci.yml":
        return []
    own = context.repo_urls()
    return [".gitlab-ci.yml"] if path in _gitlab_closure(context.tree, own)[1:] else []


def _gitlab_closure(tree: Tree, own: list[str]) -> list[str]:
    """`.gitlab-ci.yml` and the files it includes or starts child pipelines from (`own`:
    this repository's URLs, for includes naming it as a project)."""
    if tree not in _OWNERS:
        _OWNERS[tree] = []
        if tree.exists(".gitlab-ci.yml"):
            entry, _, _, _ = gitlab.config(".gitlab-ci.yml", tree.read(".gitlab-ci.yml"))
            if entry is not None and isinstance(entry.obj, dict):
                _OWNERS[tree] = gitlab.included(".gitlab-ci.yml", entry.obj, tree, own)
    return _OWNERS[tree]


def _load_one(
    path: str,
    data: bytes,
    kind: str,
    context: LoadContext | None,
    built: gitlab.Pipeline | None = None,
    parameters: dict[str, str] | None = None,
) -> Loaded:
    """One workflow file (`built`: the GitLab pipeline it belongs to; `parameters`: an Azure
    template's parameters)."""
    if kind == workflow_ci.JENKINS:
        return _load_jenkins(path, data, context)
    if kind == GITLAB:
        parsed = built.parsed.get(path) if built is not None else None
        entry, text, problems, spec = parsed or gitlab.config(path, data)
        problems = list(problems)  # this file's own, added to below
    elif kind in workflow_ci.ALL_DOCUMENTS:
        entry, text, problems = _documents_as_one(path, data)
    else:  # Buildkite's agent also takes a pipeline written as its list of steps (legacy)
        sequence = kind == workflow_ci.BUILDKITE
        entry, text, problems = load_mapping(path, data, "workflow", sequence)
    loaded = Loaded(problems=problems)
    if entry is None:
        return loaded
    lines = text.split("\n")
    if kind == GITHUB:
        loaded.problems.extend(_shape_github(path, entry))
    elif kind == ACTION:
        loaded.problems.extend(_shape_action(path, entry))
    elif kind == GITLAB:
        loaded.problems.extend(_shape_gitlab(path, entry))
    given = callers(context.tree).get(path, {}) if context is not None else {}
    files = file_reader(context.tree if context is not None else None)  # for `. ci/env.sh`
    if kind in (GITHUB, ACTION) and context is not None:
        _mark_local_uses(entry.obj, context)
    if kind == GITHUB:
        obj, locator = _github(path, entry, lines, given, files)
    elif kind == ACTION:
        obj, locator = _action(path, entry, lines, given, files)
    elif kind in workflow_ci.KINDS:
        obj, locator = _other_ci(kind, path, entry, lines, parameters, files)
    else:
        pipeline = built or gitlab.single(path, entry, lines, spec)
        obj, locator = _gitlab(path, entry, lines, pipeline, files)
    if context is not None:
        from gatekeeper.sources.workflow_scripts import follow_all

        follow_all(obj, locator, context.tree, _creates_cluster)
        if kind not in (GITLAB, *workflow_ci.KINDS):
            _throwaway_clusters(obj, context.tree)
    document = Document(source=NAME, file=path, obj=obj, locator=locator, kind=kind, name=path)
    loaded.documents.append(document)
    upper = data.upper() if b"terragrunt" in data else b""
    if b"TF_CLI_ARGS" in data or b"SOURCE" in upper or b"CONFIG" in upper:
        # terraform flags CI computes (red team s17 y04); terragrunt's module overridden
        loaded.problems.extend(computed_cli_args(document))
    if b"kubectl" in data or b"oc " in data:  # files applied after an unread `. script`
        from gatekeeper.sources.kubectl_files import after_unread_source
        from gatekeeper.sources.workflow_helm import created_literals

        loaded.problems.extend(after_unread_source(document))
        loaded.problems.extend(created_literals(document))
    if b"build" in data or b"bud" in data:  # builds whose Dockerfile cannot be located
        from gatekeeper.sources.dockerfile_builds import unlocated

        loaded.problems.extend(unlocated(document, context.tree if context else None))
    if context is not None and b"helm" in data:  # local charts its helm commands deploy
        from gatekeeper.sources.workflow_helm import renderings

        made = renderings(document, context)
        loaded.documents.extend(made.documents)
        loaded.problems.extend(made.problems)
    if context is not None and b"envsubst" in data:  # manifests its steps fill and apply
        from gatekeeper.sources import workflow_envsubst

        loaded.documents.extend(workflow_envsubst.renderings(document, context).documents)
    return loaded


def _documents_as_one(
    path: str, data: bytes
) -> tuple[YamlDocument | None, str, list[Problem]]:
    """A pipeline file of several YAML documents (Drone: one pipeline each) as one document
    whose node is the sequence of theirs."""
    text, read, problems = read_documents(path, data)
    documents = [document for document in read if document.obj is not None]
    nodes = [document.node for document in documents]
    if not nodes:
        if not problems:
            problems.append(Problem("GK-PARSE-ERROR", path, 1, "workflow is empty"))
        return None, text, problems
    for document in documents:  # Drone keeps the last (go-yaml v2 without strict mode)
        problems.extend(duplicate_key_problems(path, document))
    root = SequenceNode("tag:yaml.org,2002:seq", nodes, nodes[0].start_mark, nodes[-1].end_mark)
    return YamlDocument([document.obj for document in documents], root), text, problems


def _load_jenkins(path: str, data: bytes, context: LoadContext | None) -> Loaded:
    """A Jenkinsfile: the strings its `sh`/`bat` steps run, as jobs by stage (workflow_ci)."""
    problem = check_bytes(path, data)
    if problem is not None:
        return Loaded(problems=[problem])
    text = decode(data)
    lines = text.split("\n")
    files = file_reader(context.tree if context is not None else None)
    obj, locator = _ci_jobs(path, workflow_ci.jenkins(text), lines, _FirstLine(path), files)
    if context is not None:
        from gatekeeper.sources.workflow_scripts import follow_all

        follow_all(obj, locator, context.tree, _creates_cluster)
    kind = workflow_ci.JENKINS
    document = Document(source=NAME, file=path, obj=obj, locator=locator, kind=kind, name=path)
    return Loaded(documents=[document])


class _FirstLine:
    """Where a field of a file with no YAML nodes is when nothing else says: its first line."""

    def __init__(self, path: str) -> None:
        self.path = path

    def locate(self, path: Path) -> Location:
        return Location(self.path, 1, exact=False)


def _shape_github(path: str, entry: YamlDocument) -> list[Problem]:
    """Report jobs and steps of the wrong type (and blank them), so rules see the right shapes.

    Scalars where a string is expected (`run: 5`) are taken as strings, as GitHub does.
    """
    nodes = NodeLocator(path, entry.node)
    problems: list[Problem] = []

    def bad(where: Path, what: str) -> None:
        location = nodes.locate(where)
        message = f"invalid workflow: {format_path(where)} {what}"
        problems.append(Problem("GK-PARSE-ERROR", path, location.line, message, location.column))

    def strings(holder: dict[str, Any], where: Path, keys: tuple[str, ...]) -> None:
        for key in keys:
            if key not in holder or isinstance(holder[key], str):
                continue
            if isinstance(holder[key], (dict, list)):
                bad((*where, key), "must be a string")
                del holder[key]
            else:
                holder[key] = "" if holder[key] is None else str(holder[key])

    obj = entry.obj
    jobs = obj.get("jobs")
    if jobs is None:
        return problems
    if not isinstance(jobs, dict):
        bad(("jobs",), "must be a mapping of job ids to jobs")
        obj["jobs"] = {}
        return problems
    for job_id, job in list(jobs.items()):
        where: Path = ("jobs", str(job_id))
        if not isinstance(job, dict):
            bad(where, "must be a mapping")
            jobs[job_id] = {}
            continue
        strings(job, where, ("uses", "if"))
        steps = job.get("steps")
        if steps is None:
            continue
        if not isinstance(steps, list):
            bad((*where, "steps"), "must be a list")
            job["steps"] = []
            continue
        for index, step in enumerate(steps):
            if not isinstance(step, dict):
                bad((*where, "steps", index), "must be a mapping")
                steps[index] = {}
                continue
            strings(step, (*where, "steps", index), ("uses", "run", "if", "shell"))
            if "with" in step and not isinstance(step["with"], dict):
                bad((*where, "steps", index, "with"), "must be a mapping")
                del step["with"]
    return problems


def _shape_action(path: str, entry: YamlDocument) -> list[Problem]:
    """A composite action's `runs` and `runs.steps` of the wrong type, reported and blanked."""
    nodes = NodeLocator(path, entry.node)
    obj = entry.obj
    problems: list[Problem] = []

    def bad(where: Path, what: str) -> None:
        location = nodes.locate(where)
        message = f"invalid action: {format_path(where)} {what}"
        problems.append(Problem("GK-PARSE-ERROR", path, location.line, message, location.column))

    runs = obj.get("runs")
    if runs is not None and not isinstance(runs, dict):
        bad(("runs",), "must be a mapping")
        obj["runs"] = {}
        return problems
    if not isinstance(runs, dict):
        return problems
    steps = runs.get("steps")
    if steps is not None and not isinstance(steps, list):
        bad(("runs", "steps"), "must be a list")
        del runs["steps"]
        return problems
    items: list[Any] = steps or []
    for index, step in enumerate(items):
        if not isinstance(step, dict):
            bad(("runs", "steps", index), "must be a mapping")
            items[index] = {}
            continue
        for key in ("run", "uses"):
            if isinstance(step.get(key), (dict, list)):
                bad(("runs", "steps", index, key), "must be a string")
                del step[key]
    return problems


def _shape_gitlab(path: str, entry: YamlDocument) -> list[Problem]:
    """GitLab jobs that are not mappings (hidden `.keys` may be anything: YAML templates)."""
    nodes = NodeLocator(path, entry.node)
    problems: list[Problem] = []
    for name, job in entry.obj.items():
        if name in gitlab.KEYWORDS or str(name).startswith(".") or isinstance(job, dict):
            continue
        location = nodes.locate((str(name),))
        message = f"invalid GitLab CI: job {name} must be a mapping"
        problems.append(Problem("GK-PARSE-ERROR", path, location.line, message, location.column))
    return problems


def _github(
    path: str, entry: YamlDocument, lines: list[str], given: Values, repository: Files = None
) -> tuple[dict[str, Any], Any]:
    """`given`: what the repository's callers pass its `workflow_call` inputs; `repository`:
    its files, for the scripts its steps source."""
    obj: dict[Any, Any] = entry.obj
    if True in obj and "on" not in obj:  # YAML 1.1 reads the `on` key as a boolean
        obj["on"] = obj.pop(True)
    nodes = NodeLocator(path, entry.node)
    locator = LineMapLocator(path, fallback=nodes)
    obj["events"] = _events(obj.get("on"))
    jobs = obj.get("jobs")
    if not isinstance(jobs, dict):
        return obj, locator
    values = job_values(jobs, _env(obj), merged(workflow_inputs(obj.get("on")), given))
    gone = _fork_may_be_gone(obj.get("on"))
    for job_id, job in jobs.items():
        if isinstance(job, dict):
            raw: Path = ("jobs", str(job_id))
            _github_job(
                path, str(job_id), job, _shell(obj), raw, nodes, lines, locator, _env(obj),
                values[str(job_id)], repository,
            )  # fmt: skip
            if "if" in job:
                job["forkGuarded"] = {
                    event: fork_guarded(job["if"], event, event in gone)
                    for event in (*_PR_EVENTS, "workflow_run")
                }
    return obj, locator


def _fork_may_be_gone(on: Any) -> frozenset[str]:
    """The pull request events of `on` that also run for activity after a fork's deletion
    (types beyond the default three: workflow_expressions.fork_guarded)."""
    if not isinstance(on, dict):
        return frozenset()
    gone = set()
    for event in _PR_EVENTS:
        config = on.get(event)
        types = config.get("types") if isinstance(config, dict) else None
        if isinstance(types, str):
            types = [types]
        if isinstance(types, list) and any(
            str(kind).lower() not in _DEFAULT_PR_TYPES for kind in types
        ):
            gone.add(event)
    return frozenset(gone)


def _action(
    path: str, entry: YamlDocument, lines: list[str], given: Values, repository: Files = None
) -> tuple[dict[str, Any], Any]:
    """A composite action's `runs.steps`, presented as the steps of one job, `composite`
    (`given`: what the repository's workflows pass its inputs)."""
    obj: dict[str, Any] = entry.obj
    nodes = NodeLocator(path, entry.node)

    def rewrite(path: Path) -> Path:
        return ("runs", *path[2:]) if path[:2] == ("jobs", "composite") else path

    locator = LineMapLocator(path, fallback=nodes, rewrite=rewrite)
    runs = obj.get("runs")
    steps = runs.get("steps") if isinstance(runs, dict) else None
    if isinstance(steps, list):
        for index, step in enumerate(steps):
            if not isinstance(step, dict):
                steps[index] = {}
        job: dict[str, Any] = {"steps": steps}
        obj["jobs"] = {"composite": job}
        inputs = merged(dict(input_values(obj.get("inputs"))), given)
        values = job_values({"composite": job}, {}, inputs)
        _github_job(
            path, "composite", job, "", ("runs",), nodes, lines, locator, None,
            values["composite"], repository,
        )  # fmt: skip
    elif isinstance(runs, dict) and str(runs.get("using", "")).lower() == "docker":
        obj["jobs"] = {"composite": _docker_action(runs, nodes, lines, locator, path)}
    else:
        obj["jobs"] = {}
    return obj, locator


def _docker_action(
    runs: dict[str, Any], nodes: NodeLocator, lines: list[str], locator: Any, path: str
) -> dict[str, Any]:
    """A Docker action (`runs.using: docker`) as a job of one step: its `args` run behind
    the image's entrypoint (`runs.entrypoint`), and a CLI's image (`docker://bitnami/kubectl`)
    is that CLI, as for a `uses: docker://` step (red team r30: a local action applying
    manifests with kubectl's image passed)."""
    image = str(runs.get("image", ""))
    step: dict[str, Any] = {}  # its image is `runs.image`'s (images of the action)
    job: dict[str, Any] = {"steps": [step]}
    _github_job(path, "composite", job, "", ("runs",), nodes, lines, locator, None, {})
    entrypoint = runs.get("entrypoint")
    program = (
        entrypoint
        if isinstance(entrypoint, str)
        else shell.image_program(image[len("docker://") :])
        if image.startswith("docker://")
        else None
    )
    args = runs.get("args")
    node = nodes.node_at(("runs", "args"))
    if not program or not isinstance(args, list) or not isinstance(node, SequenceNode):
        return job
    text = " ".join([program, *(str(arg) for arg in args)])
    # One line, where `args` starts: the commands are located there.
    script = ScalarNode("tag:yaml.org,2002:str", text, node.start_mark, node.start_mark)
    step["commands"] = _with_context(_commands(script, lines), step.get("context", {}))
    for number, command in enumerate(step["commands"]):
        locator.add(("jobs", "composite", "steps", 0, "commands", number), command["line"])
    return job


def _github_job(
    path: str,
    job_id: str,
    job: dict[str, Any],
    workflow_shell: str,
    raw: Path,
    nodes: NodeLocator,
    lines: list[str],
    locator: LineMapLocator,
    workflow_env: dict[str, str] | None = None,
    known: Values | None = None,
    repository: Files = None,
) -> None:
    """Add `action`/`ref`, `context` and `commands` to a job's steps; `raw` is the job's path
    in the YAML (`jobs.<id>`, or `runs` for a composite action); `workflow_env` its `env:`;
    `known` the values of the inputs and outputs its expressions may name; `repository`
    its files, for the scripts a step sources."""
    _split_uses(job)
    job["expressionReads"] = _job_reads(job, workflow_env)
    if "runs-on" in job:
        values = matrix_values(job, {**(workflow_env or {}), **_env(job)})
        job["runsOnLabels"] = _runs_on_labels(job["runs-on"], values)
        job["runsOnSelfHosted"] = _self_hosted(job["runs-on"], values, _matrix_runners(job))
    actors = _actors(job.get("if"))
    context: dict[str, Any] = {
        "job": job_id,
        "environment": _environment(job.get("environment")),
        "workflow": path,
        "actors": actors,
        "ephemeralCluster": False,
    }
    default_shell = _shell(job) or workflow_shell
    steps = job.get("steps")
    found: list[tuple[Path, dict[str, Any], list[dict[str, Any]]]] = []
    exported: dict[str, str] = {}  # sent to $GITHUB_ENV by earlier steps
    files: dict[str, str] = {}  # written by earlier steps' scripts, which later ones may run
    for index, step in enumerate(steps if isinstance(steps, list) else []):
        if not isinstance(step, dict):
            continue
        _split_uses(step)
        raw_step: Path = (*raw, "steps", index)
        commands: list[dict[str, Any]] = []
        run = nodes.node_at((*raw_step, "run"))
        shell_name = str(step.get("shell") or default_shell)
        # As written, with what earlier steps wrote to $GITHUB_ENV (as the runner sets it):
        # `echo "T=$TITLE" >> "$GITHUB_ENV"` then `eval "echo $T"` pastes the title (red team
        # s22 trust15 c05); resolved below where the workflow gives an expression's value.
        written_env = {**(workflow_env or {}), **_env(job), **exported, **_env(step)}
        expressions = {**(known or {}), **matrix_values(job, written_env)}
        variables = _resolved(written_env, expressions)
        template = _custom_shell(nodes, raw_step, shell_name)
        place = shell_dirs.Place(step_folder(step, job), files=repository)  # a shell each `run:`
        if isinstance(run, ScalarNode) and template is not None:
            # `shell: kubectl apply -f {0}`: GitHub runs the template with {0} = a file of
            # the `run:` text, so the template is the command (red team r26).
            commands = _commands(
                template, lines, variables=variables, expressions=expressions, place=place
            )
        elif isinstance(run, ScalarNode) and shell_name.startswith(_NOT_SHELL):
            commands = _commands(
                run, lines, language="python", expressions=expressions, place=place
            )
        elif isinstance(run, ScalarNode):
            commands = _commands(
                run,
                lines,
                variables=variables,
                expressions=expressions,
                written=files,
                place=place,
            )
            exported.update(written(str(run.value), variables)[1])
        exported.update(github_script(step)[1])
        action = _command_input(step)
        if action is not None:
            node = nodes.node_at((*raw_step, "with", action[0]))
            if isinstance(node, ScalarNode):
                commands = _commands(
                    node, lines, action[1].program, variables, action[1].language, expressions
                )
        if _remote(step.get("uses")):  # its other inputs (nick-fields/retry's on_retry_command)
            commands = commands + _input_commands(
                nodes, raw_step, step, lines, variables, expressions, action[0] if action else ""
            )
        checkouts = _callee_checkouts(step, repository)
        if checkouts:
            step["checkoutReads"] = checkouts
        run_text = step.get("run")
        evaluated = (
            evaluated_reads(commands, written_env, run_text) if isinstance(run_text, str) else []
        )
        if evaluated:
            step["evalReads"] = evaluated
        if _add_expression_reads(step, action, written_env, expressions):
            assert action is not None  # the code is an input's: `run` is located at it
            node = nodes.node_at((*raw_step, "with", action[0]))
            if node is not None:
                locator.add(("jobs", job_id, "steps", index, "run"), node.start_mark.line + 1)
        found.append((("jobs", job_id, "steps", index), step, commands))
    if _remote(job.get("uses")):  # a reusable workflow's call: what its inputs run
        commands = _input_commands(nodes, raw, job, lines, {}, known or {})
        if commands:
            listed = steps if isinstance(steps, list) else job.setdefault("steps", [])
            call = {"calls": job["uses"]}  # not a step's `uses:` (pinning is the job's)
            found.append((("jobs", job_id, "steps", len(listed)), call, commands))
            listed.append(call)
    if "runs-on" not in job and _callee_self_hosted(job, repository):
        job["runsOnSelfHosted"] = True  # its jobs run in this workflow's event, there
    called = _callee_checkouts(job, repository)  # a local reusable workflow's checkouts
    if called:
        listed = steps if isinstance(steps, list) else job.setdefault("steps", [])
        uses = nodes.node_at((*raw, "uses"))
        if uses is not None:
            locator.add(("jobs", job_id, "steps", len(listed)), uses.start_mark.line + 1)
        listed.append({"calls": job["uses"], "checkoutReads": called})
    # A step that never runs (`if: false`) starts no cluster (added only to silence a deploy).
    running = [(step, commands) for _, step, commands in found if not _never(step.get("if"))]
    context["ephemeralCluster"] = (
        any(step.get("action") in EPHEMERAL_CLUSTER_ACTIONS for step, _ in running)
        or any(_creates_cluster(command) for _, commands in running for command in commands)
        or workflow_azd.makes_and_destroys([workflow_env or {}, _env(job)], running, _env)
    ) and not _aims_elsewhere([workflow_env or {}, _env(job)], running)
    for step_path, step, commands in found:
        step_context = {**context, "actors": actors + _actors(step.get("if"))}
        step["context"] = step_context
        if commands or "run" in step:
            step["commands"] = _with_context(commands, step_context)
            for number, command in enumerate(step["commands"]):
                locator.add((*step_path, "commands", number), command["line"])


def _gitlab(
    path: str,
    entry: YamlDocument,
    lines: list[str],
    built: gitlab.Pipeline,
    repository: Files = None,
) -> tuple[dict[str, Any], Any]:
    raw: dict[str, Any] = entry.obj
    nodes = NodeLocator(path, entry.node)

    def rewrite(path: Path) -> Path:
        return path[1:] if path[:1] == ("jobs",) else path

    locator = LineMapLocator(path, fallback=nodes, rewrite=rewrite)
    obj: dict[str, Any] = {key: value for key, value in raw.items() if key in gitlab.KEYWORDS}
    jobs: dict[str, Any] = {}
    global_values = gitlab.plain(raw.get("variables"))
    # `default:` (and the old top-level before_script/after_script) run in every job.
    own = {str(key.value): value for key, value in getattr(entry.node, "value", [])}
    default = own.get("default")
    holders = [gitlab.Definition(path, entry.node, {}, lines)]  # type: ignore[arg-type]
    if isinstance(default, MappingNode):
        holders.append(gitlab.Definition(path, default, {}, lines))
    jobs["default"] = {}
    _gitlab_steps(
        jobs["default"], "default", holders, built, path, locator, [global_values],
        repository=repository,
    )  # fmt: skip
    if not jobs["default"]["steps"]:
        del jobs["default"]
    for name, node in own.items():
        job = raw.get(name)
        if name in gitlab.KEYWORDS or not isinstance(job, dict):
            continue
        job = dict(job)
        jobs[name] = job
        definition = gitlab.Definition(path, node, raw[name], lines)
        if not gitlab.judged(built, name) or not isinstance(node, MappingNode):
            job["steps"] = []
            continue
        variants = gitlab.variables(built, definition, global_values)
        inherited = holders if _inherits_before_script(job) else []
        _gitlab_steps(
            job, name, [definition], built, path, locator, variants, inherited, repository
        )
    outside = gitlab.outside_includes(raw)
    if outside:  # templates and components, as the steps of a job `include` (deploy actions)
        jobs["include"] = {"steps": []}
        context = {**_GITLAB_CONTEXT, "job": "include", "workflow": path}
        for index, (number, name, version) in enumerate(outside):
            step_path = ("jobs", "include", "steps", index)
            line = nodes.locate(
                ("include", number) if isinstance(raw["include"], list) else ("include",)
            )
            locator.add(step_path, line.line)
            uses = f"{name}@{version}" if version else name
            jobs["include"]["steps"].append(
                {"uses": uses, "action": name, "ref": version, "context": context}
            )
    obj["jobs"] = jobs
    return obj, locator


_GITLAB_CONTEXT: dict[str, Any] = {"environment": "", "actors": [], "ephemeralCluster": False}


def _other_ci(
    kind: str,
    path: str,
    entry: YamlDocument,
    lines: list[str],
    given: dict[str, str] | None,
    repository: Files = None,
) -> tuple[dict[str, Any], Any]:
    """Another CI system's pipeline (workflow_ci) as jobs of steps with their commands."""
    found = workflow_ci.jobs(kind, entry.node, given)
    return _ci_jobs(path, found, lines, NodeLocator(path, entry.node), repository)


def _ci_jobs(
    path: str,
    found: Iterable[tuple[str, list[tuple[str, Node, list[workflow_ci.Script]]]]],
    lines: list[str],
    fallback: Any,
    repository: Files = None,
) -> tuple[dict[str, Any], Any]:
    """Jobs of steps, each with the commands its scripts run at their lines (`repository`:
    its files, for the scripts they source)."""
    locator = LineMapLocator(path, fallback=fallback, rewrite=lambda _: ())
    jobs: dict[str, Any] = {}
    for job_name, steps in found:
        name = job_name if job_name not in jobs else f"{job_name} ({len(jobs) + 1})"
        context = {**_GITLAB_CONTEXT, "job": name, "workflow": path}
        made: list[dict[str, Any]] = []
        for step_name, step_node, scripts in steps:
            step_path: Path = ("jobs", name, "steps", len(made))
            commands: list[dict[str, Any]] = []
            for node, text in scripts:
                if text is not None:  # written as words: one line, where they are
                    mark = node.start_mark
                    node = ScalarNode("tag:yaml.org,2002:str", text, mark, mark)
                if isinstance(node, ScalarNode):
                    commands += _commands(node, lines, place=shell_dirs.Place(files=repository))
            commands = _with_context(commands, context)
            locator.add(step_path, step_node.start_mark.line + 1)
            for number, command in enumerate(commands):
                locator.add((*step_path, "commands", number), command["line"])
            made.append({"name": step_name, "commands": commands, "context": context})
        context["ephemeralCluster"] = any(
            _creates_cluster(command) for step in made for command in step["commands"]
        )
        jobs[name] = {"steps": made}
    return {"jobs": jobs}, locator


def images(document: Document) -> list[tuple[str, Path]]:
    """Job containers, service containers and `docker://` steps (GitHub); image and
    services (GitLab, globally, in `default` and per job), for the inventory."""
    found: list[tuple[str, Path]] = []
    obj = document.obj
    if document.kind == GITLAB:
        for prefix, holder in [((), obj), (("default",), obj.get("default"))] + [
            (("jobs", name), job) for name, job in obj.get("jobs", {}).items()
        ]:
            if isinstance(holder, dict):
                found.extend(_gitlab_images(holder, prefix))
        return [(image, path) for image, path in found if "$" not in image]
    runs = obj.get("runs") if document.kind == ACTION else None
    if isinstance(runs, dict) and str(runs.get("image", "")).startswith("docker://"):
        found.append((str(runs["image"])[len("docker://") :], ("runs", "image")))
    jobs = obj.get("jobs")
    for job_id, job in jobs.items() if isinstance(jobs, dict) else ():
        if not isinstance(job, dict):
            continue
        base: Path = ("jobs", str(job_id))
        found.extend(_image_of(job.get("container"), (*base, "container")))
        services = job.get("services")
        for name, service in services.items() if isinstance(services, dict) else ():
            found.extend(_image_of(service, (*base, "services", str(name))))
        steps = job.get("steps")
        for index, step in enumerate(steps if isinstance(steps, list) else []):
            uses = step.get("uses") if isinstance(step, dict) else None
            if isinstance(uses, str) and uses.startswith("docker://"):
                found.append((uses[len("docker://") :], (*base, "steps", index, "uses")))
    return [(image, path) for image, path in found if "${{" not in image]


def _image_of(value: Any, path: Path, key: str = "image") -> list[tuple[str, Path]]:
    if isinstance(value, str) and value.strip():
        return [(value, path)]
    if isinstance(value, dict) and isinstance(value.get(key), str) and value[key].strip():
        return [(value[key], (*path, key))]
    return []


def _gitlab_images(holder: dict[str, Any], prefix: Path) -> list[tuple[str, Path]]:
    found = _image_of(holder.get("image"), (*prefix, "image"), "name")
    services = holder.get("services")
    for index, service in enumerate(services if isinstance(services, list) else []):
        found.extend(_image_of(service, (*prefix, "services", index), "name"))
    return found


def _gitlab_steps(
    job: dict[str, Any],
    name: str,
    definitions: list[gitlab.Definition],
    built: gitlab.Pipeline,
    path: str,
    locator: LineMapLocator,
    variants: list[dict[str, str]],
    defaults: list[gitlab.Definition] | None = None,
    repository: Files = None,
) -> None:
    """The job's script sections (gitlab.SECTIONS, its own or its templates') as `steps`,
    each with its commands and their lines, in whichever file they are written; a
    script is split once per variable set the job may run with. `defaults`: the holders of
    the `default:` before_script a job without its own runs (judged in job `default`; here
    only where it leaves the shell: `cd docker` there lasts into the job's script)."""
    context: dict[str, Any] = {
        "job": name,
        "environment": _environment(_nearest(built, definitions[0], "environment")),
        "workflow": path,
        "actors": [],
        "ephemeralCluster": False,
    }
    steps: list[dict[str, Any]] = []
    files: dict[str, str] = {}  # written by the job's earlier scripts
    # Per variable set, where the shell is: before_script and script run as one shell, one
    # line after the other (a `cd` lasts); every other section starts a shell at the root.
    places: dict[int, shell_dirs.Place] = {}
    for keys in gitlab.SECTIONS:
        if keys != ("script",) or not places:  # script goes on in before_script's shell
            places = {n: shell_dirs.Place(files=repository) for n in range(len(variants))}
        if name == "default" and keys not in gitlab.DEFAULT_SECTIONS:
            continue
        found = [item for held in definitions for item in gitlab.section(built, held, keys)]
        if not found and keys == ("before_script",) and defaults:
            for held in defaults[::-1]:  # `default:` over the old top-level before_script
                ran = gitlab.section(built, held, keys)
                for (number, variables), (where, line) in itertools.product(
                    enumerate(variants), ran
                ):
                    for node in gitlab.with_inputs(built, where, line):
                        _commands(node, where.lines, variables=variables, place=places[number])
                if ran:
                    break
        if not found:
            continue
        step_path: Path = ("jobs", name, "steps", len(steps))
        commands: list[dict[str, Any]] = []
        seen: set[tuple[str, int, str, str]] = set()
        for where, line in found:
            for (number, variables), node in itertools.product(
                enumerate(variants), gitlab.with_inputs(built, where, line)
            ):
                place = places[number]
                for command in _commands(
                    node, where.lines, variables=variables, written=files, place=place
                ):
                    key = (where.file, command["line"], command["text"], command["signature"])
                    if key not in seen:
                        seen.add(key)
                        other = _other(where.file, path)
                        commands.append({**command, "file": other} if other else command)
        commands = _with_context(commands, context)
        first, node = found[0]
        locator.add(step_path, node.start_mark.line + 1, file=_other(first.file, path))
        for number, command in enumerate(commands):
            where_file = _other(command.get("file", path), path)
            locator.add((*step_path, "commands", number), command["line"], file=where_file)
        steps.append({"name": ".".join(keys), "commands": commands, "context": context})
    context["ephemeralCluster"] = any(
        _creates_cluster(command) for step in steps for command in step["commands"]
    )
    job["steps"] = steps


def _inherits_before_script(job: dict[str, Any]) -> bool:
    """Whether a GitLab job runs the `default:` before_script (`inherit: default:`)."""
    inherit = job.get("inherit")
    given = inherit.get("default", True) if isinstance(inherit, dict) else True
    return given is True or (isinstance(given, list) and "before_script" in given)


def _other(file: str, path: str) -> str:
    return "" if file == path else file


def _nearest(built: gitlab.Pipeline, definition: gitlab.Definition, key: str) -> Any:
    """A job's own value of `key`, else its nearest template's."""
    return next((d.obj[key] for d in gitlab.chain(built, definition) if key in d.obj), None)


def _remote(uses: Any) -> bool:
    """An action or reusable workflow of another repository (not `./`, not `docker://`)."""
    return isinstance(uses, str) and "@" in uses and not uses.startswith(("./", "docker://"))


def _input_commands(
    nodes: NodeLocator,
    at: Path,
    holder: dict[str, Any],
    lines: list[str],
    variables: dict[str, str],
    expressions: Values,
    read: str = "",
) -> list[dict[str, Any]]:
    """The deploying CLIs' commands written in the `with:` inputs of an action or reusable
    workflow of another repository, whose code is not read here: given `kubectl apply ...`
    as an input, it runs it (red team r06 of session 10: `some-org/run-anything` and a
    shared deploy workflow given commands passed). Only commands of the CLIs a deploy names
    (shell_names.CLIS): other inputs are data. `read`: the input already split as the
    action's command (workflow_actions), left out."""
    given = holder.get("with")
    inputs: dict[str, Any] = given if isinstance(given, dict) else {}
    found: list[dict[str, Any]] = []
    for key, value in inputs.items():
        if read and key == read:
            continue
        node = nodes.node_at((*at, "with", key))
        if isinstance(node, ScalarNode) and isinstance(value, str):
            found += [
                command
                for command in _commands(node, lines, "", variables, "shell", expressions)
                if command.get("program") in shell_names.CLIS
            ]
    return found


def _runs_on_labels(runs_on: Any, values: Values) -> list[str]:
    """The runner labels `runs-on` asks for (a list, one label, or `{labels: ...}`), a
    `${{ matrix.x }}` or `${{ env.X }}` label as each value the file gives it."""
    if isinstance(runs_on, dict):
        runs_on = runs_on.get("labels", [])
    known = {name.lower(): given for name, given in values.items()}
    labels: list[str] = []
    for item in runs_on if isinstance(runs_on, list) else [runs_on]:
        text = str(item).strip()
        found = list(expressions(text))
        whole = len(found) == 1 and found[0][1] == text
        literal = _FROM_JSON_LITERAL.fullmatch(text[3:-2].strip()) if whole else None
        if literal:  # `${{ fromJSON('["self-hosted", "gpu"]') }}` (red team s22 trust15 c24)
            labels.extend(_json_labels(literal.group(1).replace("''", "'"), text))
            continue
        read = reads(text) if whole else []
        labels.extend(known.get(read[0], [text]) if len(read) == 1 else [text])
    return labels


# The labels every self-hosted runner carries (GitHub adds them when it registers), and the
# images of GitHub-hosted runners (larger runners too: `ubuntu-22.04-16core`).
_SELF_HOSTED_LABELS = frozenset({"self-hosted", "linux", "windows", "macos", "x64", "arm", "arm64"})
_HOSTED_IMAGE = lazy_re.compile(r"(?i)^(ubuntu|windows|macos)-[\w.-]+$")
_QUOTED = lazy_re.compile(r"'((?:[^']|'')*)'")
_CHOICE = lazy_re.compile(r"^(.*)&&\s*('(?:[^']|'')*')\s*\|\|\s*('(?:[^']|'')*')\s*$", re.DOTALL)
_FORMAT = lazy_re.compile(
    r"(?i)^\s*format\(\s*'((?:[^']|'')*)'((?:\s*,\s*'(?:[^']|'')*')*)\s*\)\s*$"
)


def _self_hosted(runs_on: Any, values: Values, matrix: dict[str, list[Any]]) -> bool:
    """Does `runs-on` pick a self-hosted runner (red team s24 trust18 c03: only the
    `self-hosted` label was seen)? Labels every self-hosted runner has (`[linux, x64]`: no
    GitHub-hosted runner carries them), a runner `group:` not labelled with a GitHub-hosted
    image, a matrix value that is a list or a `{group, labels}` mapping, and the string
    literals an expression may give (`cond && 'self-hosted' || 'ubuntu-latest'`,
    `format('{0}-hosted', 'self')`)."""
    if isinstance(runs_on, dict):
        labels = runs_on.get("labels")
        listed = labels if isinstance(labels, list) else [] if labels is None else [labels]
        if runs_on.get("group") is not None and not (
            listed and all(_HOSTED_IMAGE.match(str(label)) for label in listed)
        ):
            return True
        runs_on = listed
    for item in runs_on if isinstance(runs_on, list) else [runs_on]:
        text = str(item).strip()
        if text.lower() in _SELF_HOSTED_LABELS:
            return True
        found = list(expressions(text))
        if len(found) != 1 or found[0][1] != text:
            continue
        inner = text[3:-2]
        read = reads(text)
        known = {name.lower(): given for name, given in values.items()}
        taken = matrix.get(read[0], known.get(read[0].lower(), [])) if len(read) == 1 else []
        if "fromjson(" in inner.lower():  # `fromJSON(inputs.runner)` of '["self-hosted"]'
            taken = [_json_value(value) for value in taken]
        if any(_self_hosted(value, {}, {}) for value in taken):
            return True
        chosen = _CHOICE.fullmatch(inner)
        if chosen and fork_guarded("${{ " + chosen.group(1) + " }}", "pull_request"):
            inner = chosen.group(3)  # `same-repo && 'self-hosted' || 'ubuntu-latest'`: a fork's
        given = [label.replace("''", "'") for label in _QUOTED.findall(inner)]
        formatted = _FORMAT.fullmatch(inner)
        if formatted:
            given.append(_formatted(formatted.group(1), formatted.group(2)))
        if any(label.strip().lower() in _SELF_HOSTED_LABELS for label in given):
            return True
    return False


def _callee_self_hosted(job: dict[str, Any], repository: Files, depth: int = 0) -> bool:
    """Does a job calling a local reusable workflow run one of its jobs on a self-hosted
    runner (_self_hosted), `inputs.X` being what the caller passes or the input's default?
    The callee runs in the caller's event: called from a pull_request workflow, a fork's
    code runs there (red team s24 trust18 c08: `runs-on: ${{ inputs.runner }}` given
    `self-hosted`, or `[self-hosted]` of the callee's own, was green)."""
    uses = job.get("uses")
    if repository is None or not isinstance(uses, str) or not uses.startswith("./"):
        return False
    local = inside(uses.split("@", 1)[0]) or ""
    text = repository(local) if local and kind_of(local) == GITHUB else None
    try:
        callee = safe_load(text) if text else None
    except yaml.YAMLError:
        return False
    if not isinstance(callee, dict):
        return False
    values = dict(workflow_inputs(callee.get("on", callee.get(True))))
    given = job.get("with")
    for key, value in given.items() if isinstance(given, dict) else ():
        if scalar(value):
            values[f"inputs.{key}".lower()] = [str(value)]
    for inner in _values(callee.get("jobs")):
        if not isinstance(inner, dict) or fork_guarded(inner.get("if"), "pull_request"):
            continue  # (the callee's own guard)
        if "runs-on" in inner and _self_hosted(inner["runs-on"], values, _matrix_runners(inner)):
            return True
        if "runs-on" not in inner and depth < _MAX_CALL_DEPTH:  # it calls one in turn
            given = inner.get("with")
            passed = {
                key: _passed_on(value, values)
                for key, value in (given.items() if isinstance(given, dict) else ())
            }
            if _callee_self_hosted({**inner, "with": passed}, repository, depth + 1):
                return True
    return False


_MAX_CALL_DEPTH = 3  # reusable workflows calling reusable workflows (GitHub allows 4 levels)


def _passed_on(value: Any, values: Values) -> Any:
    """A `with:` value a callee passes on: its `${{ inputs.X }}` as the value it was given."""
    text = str(value).strip()
    read = reads(text) if text.startswith("${{") and text.endswith("}}") else []
    given = values.get(read[0].lower()) if len(read) == 1 else None
    return given[0] if given else value


def _json_value(value: Any) -> Any:
    """A string's JSON value (a list of labels), else the value itself."""
    import json

    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _formatted(template: str, arguments: str) -> str:
    """`format('{0}-hosted', 'self')` of string literals, as the runner computes it."""
    given = [argument.replace("''", "'") for argument in _QUOTED.findall(arguments)]

    def argument(match: re.Match[str]) -> str:
        index = int(match.group(1))
        return given[index] if index < len(given) else match.group(0)

    return re.sub(r"\{(\d+)\}", argument, template.replace("''", "'"))


def _matrix_runners(job: dict[str, Any]) -> dict[str, list[Any]]:
    """`matrix.x` -> every value the job's matrix gives it, lists and mappings included (a
    runner spelled `[self-hosted, gpu]` or `{group: ci}` as one matrix value)."""
    strategy = job.get("strategy")
    matrix = strategy.get("matrix") if isinstance(strategy, dict) else None
    if not isinstance(matrix, dict):
        return {}
    found: dict[str, list[Any]] = {}
    for name, items in matrix.items():
        if name not in ("include", "exclude") and isinstance(items, list):
            found.setdefault(f"matrix.{name}", []).extend(items)
    include = matrix.get("include")
    for entry in [include] if isinstance(include, dict) else include or []:
        for name, item in entry.items() if isinstance(entry, dict) else ():
            found.setdefault(f"matrix.{name}", []).append(item)
    return found


# `fromJSON('...')` of a string literal (any case, as the runner reads function names).
_FROM_JSON_LITERAL = re.compile(r"(?i)fromjson\(\s*'((?:[^']|'')*)'\s*\)")


def _json_labels(text: str, written: str) -> list[str]:
    """The labels a JSON literal names: a list of strings or one string; else as written."""
    import json

    try:
        value = json.loads(text)
    except ValueError:
        return [written]
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(label, str) for label in value):
        return list(value)
    return [written]


def _add_expression_reads(
    step: dict[str, Any],
    action: tuple[str, CommandInput] | None,
    env: dict[str, str],
    values: Values,
) -> bool:
    """Add `withReads` (the context paths each `with:` input's expressions read: `ref` of
    actions/checkout; through `env` and `values` as below) and `codeExpressions`: the `${{
    }}` expressions the runner pastes into the step's code (its `run:`, or the input its
    action runs as code: github-script's `script`), each with the paths it reads
    (workflow_expressions; through `env` as written and `values`: what callers pass
    `inputs.X`, the matrix); WF-SCRIPT-INJECTION judges them. True when the code is an
    action's input (the caller locates `run` there)."""
    given = step.get("with")
    if isinstance(given, dict):  # through env, outputs and the matrix: `ref: ${{ env.SHA }}`
        step["withReads"] = {  # (red team s22 trust15 c25)
            str(name).lower(): [
                str(read)
                for expression in pasted(value, env, values)
                for read in _listed(expression["reads"])
            ]
            for name, value in given.items()
            if isinstance(value, str) and "${{" in value
        }
    code, is_input = step.get("run"), False
    shell = shell_reads(code, env) if isinstance(code, str) else []
    if shell:
        step["shellReads"] = shell
    if code is None and action is not None and (
        not str(step["action"]).startswith("docker:") or _docker_shell(step)
    ):
        code, is_input = step["with"][action[0]], True  # docker args reach no shell but sh -c
    if not isinstance(code, str) or "${{" not in code:
        return False
    step["codeExpressions"] = pasted(code, env, values)
    return is_input


# `uses: OWNER/REPO/PATH@REF`: an action or reusable workflow of a repository by its name.
_NAMED_USES = re.compile(r"^([^/@\s]+/[^/@\s]+)/([^@\s]+)@\S+$")


def _mark_local_uses(obj: Any, context: LoadContext) -> None:
    """Mark (`localUses: ./PATH`) each `uses:` that names this repository by its full name
    (`acme/deploy/.github/workflows/build.yml@<sha>`, at any ref: the file of this change
    once merged, or the commit the change itself pushed): GitHub runs this repository's
    file, whose checkouts count as the caller's as for `./` (red team s22 trust15 c36)."""
    from gatekeeper.sources.gitops import normalise_url

    own = {normalise_url(url) for url in context.repo_urls()}
    if not own or not isinstance(obj, dict):
        return
    holders: list[Any] = []
    jobs = obj.get("jobs")
    for job in jobs.values() if isinstance(jobs, dict) else []:
        holders.append(job)
        holders.extend(_values(job.get("steps")) if isinstance(job, dict) else [])
    runs = obj.get("runs")
    holders.extend(_values(runs.get("steps")) if isinstance(runs, dict) else [])
    for holder in holders:
        uses = holder.get("uses") if isinstance(holder, dict) else None
        named = _NAMED_USES.match(uses.strip()) if isinstance(uses, str) else None
        if named and any(repo.endswith("/" + named.group(1).lower()) for repo in own):
            holder["localUses"] = "./" + named.group(2)


def _callee_checkouts(step: dict[str, Any], repository: Files) -> dict[str, list[str]]:
    """What the actions/checkout steps of the local composite action `step` runs (or of the
    local reusable workflow a job calls) check out: the context paths their `ref` and
    `repository` read, `inputs.X` read as what the caller passes (`with: {ref: ${{
    github.event.pull_request.head.sha }}}` to an action whose checkout takes `ref: ${{
    inputs.ref }}`: red team s20 trust13 s12). {} for any other step or job."""
    uses = step.get("localUses") or step.get("uses")
    if repository is None or not isinstance(uses, str) or not uses.startswith("./"):
        return {}
    local = inside(uses.split("@", 1)[0]) or ""
    reusable = bool(local) and kind_of(local) == GITHUB
    names = [local] if reusable else [posixpath.join(local, "action.yml"), f"{local}/action.yaml"]
    text = None
    for name in names if local else []:
        text = repository(name)
        if text is not None:
            break
    try:
        callee = safe_load(text) if text else None
    except yaml.YAMLError:
        return {}
    callee = callee if isinstance(callee, dict) else {}
    runs = callee.get("runs")
    steps = runs.get("steps") if isinstance(runs, dict) else None
    if reusable:  # a reusable workflow: its jobs' steps
        jobs = callee.get("jobs")
        steps = [s for j in _values(jobs) if isinstance(j, dict) for s in _values(j.get("steps"))]
    given = step.get("with")
    given = given if isinstance(given, dict) else {}
    values = {f"inputs.{k}".lower(): [str(v)] for k, v in given.items() if scalar(v)}
    found: dict[str, list[str]] = {}
    for inner in steps if isinstance(steps, list) else []:
        script = inner.get("run") if isinstance(inner, dict) else None
        if isinstance(script, str):  # a script of the callee fetching it (s22 trust15 c33)
            found.setdefault("script", []).extend(_script_fetches(script, values))
            if not found["script"]:
                del found["script"]
        if not isinstance(inner, dict) or not str(inner.get("uses", "")).lower().startswith(
            "actions/checkout@"
        ):
            continue
        inputs = inner.get("with")
        inputs = inputs if isinstance(inputs, dict) else {}
        for key in ("ref", "repository"):
            value = inputs.get(key)
            if isinstance(value, str) and "${{" in value:
                for expression in pasted(value, {}, values):
                    held = expression["reads"]
                    found.setdefault(key, []).extend(
                        str(r) for r in (held if isinstance(held, list) else [])
                    )
    return found


# A script fetching a pull request whatever it names (`gh pr checkout N`, `git fetch origin
# pull/N/head`, a `refs/pull/` ref), or running git on what its expressions hold.
_PULL_FETCH = re.compile(r"gh\s+pr\s+checkout|git\s+fetch[^\n]*pull/|(^|[\s\"'+:=(])refs/pull/")
_GIT_FETCH = re.compile(r"\bgit\s+(clone|fetch|pull|checkout|switch)\b")


def _script_fetches(script: str, values: Values) -> list[str]:
    """What a local callee's `run:` script checks out, as context paths: the pull request's
    head for `gh pr checkout` and its refs, or what a git command's line reads, through its
    own expressions and the script's variables set from one (`SHA="${{ inputs.sha }}"` ...
    `git fetch origin "$SHA"`), through the inputs its caller gives. A script that only
    cherry-picks a merged commit onto a branch it checks out reads none (argo-workflows'
    cherry-pick-single.yml)."""
    if _PULL_FETCH.search(script):
        return ["github.event.pull_request.head"]
    if not _GIT_FETCH.search(script) or "${{" not in script:
        return []

    def read(text: str) -> list[str]:
        return [str(r) for e in pasted(text, {}, values) for r in _listed(e["reads"])]

    assigned = {
        match.group(1): read(match.group(2)) for match in _ASSIGNED_EXPRESSION.finditer(script)
    }
    found: list[str] = []
    for line in script.split("\n"):
        if not _GIT_FETCH.search(line):
            continue
        found += read(line)
        for name in re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", line):
            found += assigned.get(name, [])
    return found


# `NAME=...${{ ... }}...` in a script: a variable holding what an expression gives.
_ASSIGNED_EXPRESSION = re.compile(
    r"(?m)^\s*(?:export\s+|local\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*\$\{\{.*)$"
)


def _command_input(step: dict[str, Any]) -> tuple[str, CommandInput] | None:
    """The `with:` input of a step whose action runs it as commands (workflow_actions), or
    of a `uses: docker://IMAGE` step: its `with.args` run behind the image's entrypoint (or
    `with.entrypoint`), and a CLI's image (`docker://bitnami/kubectl`) is that CLI."""
    action = str(step.get("action", ""))
    given = step.get("with")
    given = given if isinstance(given, dict) else {}
    if not action.startswith("docker://"):
        return command_input(action, given)
    entrypoint = given.get("entrypoint")
    program = entrypoint if isinstance(entrypoint, str) else shell.image_program(action[9:])
    return "args", CommandInput("args", f"{program} " if program else "")


def _listed(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _docker_shell(step: dict[str, Any]) -> bool:
    """Whether a `uses: docker://IMAGE` step's `with.args` is a shell's `-c` text (`entrypoint:
    /bin/sh` and `args: -c "echo ${{ ... }}"`, or `args: sh -c "..."` with no entrypoint): the
    runner pastes expressions into args, which then reach a shell as code (red team s22
    trust15 c19)."""
    import shlex

    given = step.get("with")
    given = given if isinstance(given, dict) else {}
    args, entrypoint = given.get("args"), given.get("entrypoint")
    if not isinstance(args, str):
        return False
    try:
        words = shlex.split(args)
    except ValueError:
        words = args.split()
    if isinstance(entrypoint, str) and entrypoint.strip():
        shell_name, flags = posixpath.basename(entrypoint.strip()), words[:1]
    else:
        shell_name, flags = posixpath.basename(words[0]) if words else "", words[1:2]
    return shell_name in _DOCKER_SHELLS and any(f.startswith("-") and "c" in f for f in flags)


_DOCKER_SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "ash"})


def _resolved(variables: dict[str, str], expressions: Values) -> dict[str, str]:
    """`env:` values that are expressions (`CMD: ${{ steps.pick.outputs.cmd }}`) with the
    first value the workflow gives them."""
    return {
        name: with_expressions(value, expressions)[0] if "${{" in value else value
        for name, value in variables.items()
    }


def _job_reads(job: dict[str, Any], workflow_env: dict[str, str] | None) -> list[str]:
    """The context paths the `${{ }}` of what a job holds read, in any spelling the runner
    accepts (`secrets[format('{0}', 'KEY')]`, `toJSON(secrets)`, `GITHUB.HEAD_REF`): a regex
    over the text missed `format('{0}', secrets.KEY)` (red team s20 trust13 s04). Not the
    `if:`s, which decide whether the job runs, not what it holds."""
    held: list[Any] = [workflow_env or {}]
    held += [job.get(key) for key in ("env", "with", "secrets", "container", "services")]
    steps = job.get("steps")
    for step in steps if isinstance(steps, list) else []:
        if isinstance(step, dict):
            held += [step.get(key) for key in ("run", "with", "env")]
    found: dict[str, None] = {}
    for text in texts(held):
        for _, expression in expressions(text):
            found.update(dict.fromkeys(reads(expression)))
    return list(found)


def _env(holder: dict[str, Any]) -> dict[str, str]:
    """The plain values of an `env:` (GitHub) or `variables:` (GitLab) mapping: a script's
    `$NAME` may be the program it runs (`env: {K: kubectl}`, `run: $K apply`)."""
    return gitlab.plain(holder.get("env", holder.get("variables")))


def _commands(
    node: ScalarNode,
    lines: list[str],
    prefix: str = "",
    variables: dict[str, str] | None = None,
    language: str = "shell",
    expressions: Values | None = None,
    written: dict[str, str] | None = None,
    place: shell_dirs.Place | None = None,
) -> list[dict[str, Any]]:
    """The commands of a script scalar (`language`: the ones a Python script or JavaScript
    code runs). A script spelling a command through an expression (`${{ matrix.x }}`,
    `${{ steps.ID.outputs.X }}`...) is split once with each value the workflow gives it
    (`matrix: {step: ["make test", "kubectl apply ..."]}`). `place`: the folder the script
    starts in (the root when not given), left where the (last) script went."""
    script = prefix + str(node.value)
    found: list[shell.Command] = []
    seen: set[tuple[int, str, str]] = set()
    start = place if place is not None else shell_dirs.Place()
    for variant in with_expressions(script, expressions or {}):
        moved = start.inner(start.here)
        if language == "python":
            ran = shell.python_commands(variant)
        elif language == "javascript":
            ran = shell.code_commands(variant)
        else:
            ran = shell.commands(variant, variables, written=written, place=moved)
        for command in ran if language != "shell" else []:
            command.directory = start.here
        if place is not None:
            place.here, place.before, place.stack = moved.here, moved.before, moved.stack
        for command in ran:
            if (command.line, command.text, command.signature) not in seen:
                seen.add((command.line, command.text, command.signature))
                found.append(command)
    line_of = _line_mapper(node, lines)
    return [{**command.as_dict(), "line": line_of(command)} for command in found]


def _line_mapper(node: ScalarNode, lines: list[str]) -> Callable[[shell.Command], int]:
    """1-based file line of a command found in the value of `node`."""
    start = node.start_mark.line
    if node.style == "|":
        return lambda command: start + 2 + command.line
    if node.start_mark.line == node.end_mark.line:
        return lambda command: start + 1
    # Folded (`>`) or multi-line plain/quoted: find each command's first word in the source,
    # in order, from where the previous command was found.
    source = [lines[start][node.start_mark.column :], *lines[start + 1 : node.end_mark.line + 1]]
    position = [0, 0]  # line index into source, column

    def find(command: shell.Command) -> int:
        word = command.text.split(" ", 1)[0]
        row, column = position
        while row < len(source):
            found = source[row].find(word, column)
            if found >= 0:
                position[:] = [row, found + len(word)]
                return start + 1 + row
            row, column = row + 1, 0
        return start + 1

    return find


# What GitHub runs a `run:` with: a shell by name, or a template `COMMAND ... {0}` of any
# other program (the custom shell).
_SHELL_NAMES = shell.SHELLS | {"pwsh", "powershell", "python", "python3", "cmd"}


def _custom_shell(nodes: NodeLocator, step: Path, shell_name: str) -> ScalarNode | None:
    """The node of a step's custom shell template (its own `shell:`, else the job's or the
    workflow's `defaults.run.shell`), or None for a shell by name."""
    words = shell_name.split()
    if not words or posixpath.basename(words[0]) in _SHELL_NAMES:
        return None
    job, defaults = step[:2], ("defaults", "run", "shell")
    for where in ((*step, "shell"), (*job, *defaults), defaults):
        node = nodes.node_at(where)
        if isinstance(node, ScalarNode) and str(node.value) == shell_name:
            return node
    return None


def _shell(holder: dict[str, Any]) -> str:
    defaults = holder.get("defaults")
    run = defaults.get("run") if isinstance(defaults, dict) else None
    shell_name = run.get("shell") if isinstance(run, dict) else None
    return str(shell_name) if shell_name else ""


_CONTEXT_VERBS = ("use-context", "set-context", "set-cluster")


def _aims_elsewhere(
    environments: list[dict[str, str]], steps: list[tuple[dict[str, Any], list[dict[str, Any]]]]
) -> bool:
    """Does a job point kubectl at another cluster than the throwaway one it starts: a
    `KUBECONFIG` in its environment, before a command, exported (`export KUBECONFIG=x`) or
    sent to $GITHUB_ENV, or `kubectl config use-context` of another context? Then its
    commands deploy there (found attacking the throwaway cluster rule: `kind-action` then
    `KUBECONFIG=prod.yaml kubectl apply` passed, and in round 10 `export KUBECONFIG=` and
    `echo KUBECONFIG=prod.yaml >> $GITHUB_ENV`)."""
    named = [env.get("KUBECONFIG") for env in environments]
    named += [_env(step).get("KUBECONFIG") for step, _ in steps]
    for step, _ in steps:  # sent to $GITHUB_ENV for the steps after it
        run = step.get("run")
        if isinstance(run, str) and "GITHUB_ENV" in run and _KUBECONFIG.search(run):
            exported = written(run, {})[1]
            if "KUBECONFIG" not in exported:
                return True  # a kubeconfig named in a way not read here
            named.append(exported["KUBECONFIG"])
    for _, commands in steps:
        for command in commands:
            words = [str(word) for word in command["argv"]]
            program = str(command["program"])
            # `KUBECONFIG=x kubectl`, `export KUBECONFIG=x`, `echo KUBECONFIG=x >> $GITHUB_ENV`
            named += [w.partition("=")[2] for w in words if w.startswith("KUBECONFIG=")]
            if program in ("export", "declare", "typeset") and "KUBECONFIG" in words:
                return True  # `KUBECONFIG=x; export KUBECONFIG`: its value is not read here
            positional = [str(word) for word in command["positional"]]
            switched = positional[:1] == ["config"] and len(positional) > 2
            if program in ("kubectl", "oc") and switched and positional[1] in _CONTEXT_VERBS:
                named.append(positional[2])
            signature = str(command["signature"]) + " "
            if any(signature.startswith(prefix + " ") for prefix in _CREDENTIAL_COMMANDS):
                return True
    if any(step.get("action") in _CREDENTIAL_ACTIONS for step, _ in steps):
        return True
    return any(value is not None and not _THROWAWAY.search(value) for value in named)


_KUBECONFIG = lazy_re.compile(r"\bKUBECONFIG\b")
# What names a throwaway cluster's context or kubeconfig: kind, k3d, minikube... write theirs
# to the default kubeconfig and make it the current context.
_THROWAWAY = lazy_re.compile(
    r"kind|k3d|k3s|minikube|microk8s|docker-desktop|rancher-desktop"
    r"|^(~|\$\{?HOME\}?|/home/runner)/\.kube/config$"  # the default one (a hosted runner's home)
)


# Actions and commands that point kubectl at a real cluster (they write its credentials and
# make it the current context): a job running one deploys there, throwaway cluster or not.
_CREDENTIAL_ACTIONS = frozenset(
    {
        "azure/aks-set-context", "azure/k8s-set-context", "okteto/context",
        "google-github-actions/get-gke-credentials", "tale/kubectl-action",
    }
)  # fmt: skip
_CREDENTIAL_COMMANDS = (
    "aws eks update-kubeconfig", "az aks get-credentials", "oc login",
    "gcloud container clusters get-credentials", "doctl kubernetes cluster kubeconfig save",
)  # fmt: skip
MAX_ACTION_DEPTH = 3  # local composite actions followed inside one another


def _throwaway_clusters(obj: dict[str, Any], tree: Tree) -> None:
    """Decide `ephemeralCluster` for each job of a GitHub workflow or composite action, once
    its steps have their commands (followed scripts included): the job starts a throwaway
    cluster (an action, a command, a followed script, or a local composite action that does,
    `uses: ./.github/actions/setup` with the inputs this step gives it) and never points
    kubectl elsewhere (in its steps, its scripts or the local actions it runs)."""
    jobs = obj.get("jobs")
    for job in jobs.values() if isinstance(jobs, dict) else []:
        listed = job.get("steps") if isinstance(job, dict) else None
        steps = [step for step in _values(listed) if isinstance(step, dict)]
        running = [(step, list(step.get("commands") or [])) for step in steps]
        running = [(step, commands) for step, commands in running if not _never(step.get("if"))]
        inner = [found for step, _ in running for found in _local_steps(step, tree, 1)]
        everything = running + inner
        starts = any(step.get("action") in EPHEMERAL_CLUSTER_ACTIONS for step, _ in everything)
        starts = starts or any(_creates_cluster(c) for _, commands in everything for c in commands)
        starts = starts or workflow_azd.makes_and_destroys([_env(obj), _env(job)], running, _env)
        elsewhere = _aims_elsewhere([_env(obj), _env(job)], everything)
        ephemeral = starts and not elsewhere
        # a cluster made in a test service and removed: the steps from its making on
        made = workflow_remote_clusters.made_at([step for step, _ in running])
        tested = [] if made is None or elsewhere else [id(step) for step, _ in running[made:]]
        for step in steps:
            if isinstance(step.get("context"), dict):
                step["context"]["ephemeralCluster"] = ephemeral or id(step) in tested


def _local_steps(
    step: dict[str, Any], tree: Tree, depth: int
) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """The steps (with their commands) that a local composite action runs for `step`, the
    ones its `if:` skips with the inputs `step` gives (`inputs.create-cluster == 'true'`)
    left out, and those of the local actions they run in turn."""
    action = str(step.get("action") or "")
    callee = _local_callee(tree, action) if depth <= MAX_ACTION_DEPTH else None
    if callee is None or kind_of(callee) != ACTION:
        return []
    try:
        data = tree.read(callee)
    except OSError:
        return []
    entry, text, _ = load_mapping(callee, data, "workflow")
    if entry is None or not isinstance(entry.obj, dict):
        return []
    given = step.get("with")
    given = given if isinstance(given, dict) else {}
    passed = {f"inputs.{key}": [str(value)] for key, value in given.items() if scalar(value)}
    inputs = {**dict(input_values(entry.obj.get("inputs"))), **passed}  # given, else default
    obj, locator = _action(callee, entry, text.split("\n"), passed)
    # the scripts and make targets its steps run, as a workflow's are (argo-workflows'
    # e2e-cluster-up action runs `make k3d-up`, whose script runs `k3d cluster create`)
    from gatekeeper.sources.workflow_scripts import follow_all

    follow_all(obj, locator, tree, _creates_cluster)
    jobs = obj.get("jobs")
    job = jobs.get("composite") if isinstance(jobs, dict) else None
    found: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    for inner in job.get("steps", []) if isinstance(job, dict) else []:
        if not isinstance(inner, dict) or _never(inner.get("if"), inputs):
            continue
        found.append((_with_inputs(inner, inputs), list(inner.get("commands") or [])))
        found.extend(_local_steps(inner, tree, depth + 1))
    return found


def _with_inputs(step: dict[str, Any], inputs: Values) -> dict[str, Any]:
    """A local action's step as it runs for this caller: an `env:` value reading an input
    (argo-workflows' `KUBECONFIG: ${{ inputs.kubeconfig }}`) is the one value the input has
    (given, else its default); one with several values or none stays as written, which
    _aims_elsewhere takes for another cluster."""
    env = _env(step)
    resolved = dict(env)
    for name, value in env.items():
        values = with_expressions(value, inputs) if "${{" in value else [value]
        if len(values) == 1 and "${{" not in values[0]:
            resolved[name] = values[0]
    return {**step, "env": resolved} if resolved != env else step


_INPUT_TEST = lazy_re.compile(r"^\(?\s*inputs\.([A-Za-z0-9_-]+)\s*(==|!=)\s*'([^']*)'\s*\)?$")


def _never(condition: Any, inputs: Values | None = None) -> bool:
    """An `if:` that is false whatever happens: `false`, `${{ false }}`, `0`."""
    text = str(condition).strip() if condition is not None else ""
    if text.startswith("${{") and text.endswith("}}"):
        text = text[3:-2].strip()
    if inputs is not None and "||" not in text:
        return any(_false_test(part, inputs) for part in text.split("&&"))
    return text.lower() in ("false", "0", "''", '""') if condition is not None else False


def _false_test(text: str, inputs: Values) -> bool:
    """A conjunct that is false: `false`, or a test of an input against a value that every
    value the input may have fails (`inputs.create-kind-cluster == 'true'` given "false")."""
    if text.strip().lower() in ("false", "0", "''", '""'):
        return True
    match = _INPUT_TEST.match(text.strip())
    values = inputs.get(f"inputs.{match.group(1)}") if match else None
    if match is None or not values or any("${{" in value for value in values):
        return False
    # GitHub compares strings case-insensitively.
    equal = [value.lower() == match.group(3).lower() for value in values]
    return not any(equal) if match.group(2) == "==" else all(equal)


def _creates_cluster(command: dict[str, Any]) -> bool:
    signature = str(command["signature"]) + " "
    if command["program"] in ("curl", "wget"):  # `curl -sfL https://get.k3s.io | sh -`
        return any(installer in str(arg) for arg in command["args"] for installer in _INSTALLERS)
    return any(signature.startswith(prefix + " ") for prefix in EPHEMERAL_CLUSTER_COMMANDS)


# Install scripts that start a cluster on the machine that runs them (the CI runner).
_INSTALLERS = ("://get.k3s.io",)


def _with_context(commands: list[dict[str, Any]], context: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**command, "context": context} for command in commands]


def _split_uses(holder: dict[str, Any]) -> None:
    uses = holder.get("uses")
    if not isinstance(uses, str):
        return
    action, _, ref = uses.partition("@")
    holder["action"] = action.lower() if not action.startswith(("./", "docker://")) else action
    holder["ref"] = ref


def _events(on: Any) -> list[str]:
    if isinstance(on, str):
        return [on]
    if isinstance(on, list):
        return [str(event) for event in on]
    if isinstance(on, dict):
        return [str(event) for event in on]
    return []


def _environment(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("name")
    return str(value) if isinstance(value, (str, int, float)) else ""


def _actors(condition: Any) -> list[str]:
    """Users an `if:` restricts to; only when every `||`-free conjunct is an actor test holds."""
    if not isinstance(condition, str):
        return []
    text = condition.strip()
    if text.startswith("${{") and text.endswith("}}"):
        text = text[3:-2].strip()
    if "||" in text:
        return []
    actors = []
    for part in text.split("&&"):
        match = _ACTOR.match(part.strip())
        if match:
            actors.append(match.group(1) if match.group(1) is not None else match.group(2))
    return actors
