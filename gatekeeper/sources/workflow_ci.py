"""Other CI systems' pipelines kept in a repository: what each of their jobs runs.

Google Cloud Build (`cloudbuild.yaml`: each step a builder image run with `args`, an
`entrypoint` such as bash with `-c`, or a `script`), Azure Pipelines (`azure-pipelines.yml`:
`script`/`bash`/`pwsh` steps and the Kubernetes, KubernetesManifest, HelmDeploy and AzureCLI
tasks, under stages, jobs and deployment strategies), Bitbucket Pipelines
(`bitbucket-pipelines.yml`: each step's `script`, its kubectl/helm pipes) and CircleCI
(`.circleci/config.yml`: `run` steps of jobs and reusable commands, inline orbs' own commands
and jobs, the kubernetes and helm orbs' deploying commands). Azure `template:` references
(steps, jobs, stages, extends, variables) name files of this repository read as pipelines of
their own with the parameters the including file gives them (azure_templates); a CircleCI
command or job called with parameters runs its steps with them. They are read into the
shape the workflow policies judge: jobs, steps and the commands each runs at their lines,
so `kubectl apply` in a Cloud Build step is an imperative deploy as it is in a GitHub
workflow (red team r06 of the ninth session).
"""

from __future__ import annotations

import posixpath
import re
import shlex
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gatekeeper import lazy_re
from gatekeeper.sources.names import (
    CI_AZURE,
    CI_BITBUCKET,
    CI_BUILDKITE,
    CI_CIRCLECI,
    CI_CLOUD_BUILD,
    CI_DRONE,
    CI_JENKINS,
    CI_TEKTON,
    CI_TRAVIS,
    CI_WOODPECKER,
    ci_kind,
)

CLOUD_BUILD, AZURE, BITBUCKET, CIRCLECI = CI_CLOUD_BUILD, CI_AZURE, CI_BITBUCKET, CI_CIRCLECI
DRONE, BUILDKITE, TRAVIS, JENKINS = CI_DRONE, CI_BUILDKITE, CI_TRAVIS, CI_JENKINS
WOODPECKER, TEKTON = CI_WOODPECKER, CI_TEKTON
KINDS = (
    CLOUD_BUILD, AZURE, BITBUCKET, CIRCLECI, DRONE, BUILDKITE, TRAVIS, JENKINS, WOODPECKER, TEKTON
)  # fmt: skip
# Pipelines of several YAML documents (each its own pipeline): read whole, as a sequence.
ALL_DOCUMENTS = frozenset({DRONE, TEKTON})
_SHELLS = frozenset({"bash", "sh", "/bin/bash", "/bin/sh", "/usr/bin/env"})


def kind_of(path: str) -> str:
    return ci_kind(path)


# A script to split into commands, or a command written as words: (node, text or None).
Script = tuple[Node, str | None]
# Parameter values a template or reusable command is given, by name.
Given = dict[str, str]
_AZURE_PARAMETER = lazy_re.compile(r"\$\{\{\s*parameters\.([A-Za-z_][\w-]*)\s*\}\}")
# `$(name)`, `${{ variables.name }}`, `$[variables.name]`: Azure puts the value in before
# the script runs. Variables are kept in a Given under `$name`.
_AZURE_VARIABLE = lazy_re.compile(
    r"\$(?:\(|\{\{\s*variables\.|\[\s*variables\.)([A-Za-z_][\w.-]*)\s*(?:\)|\}\}|\])"
)
_CIRCLECI_PARAMETER = lazy_re.compile(r"<<\s*parameters\.([A-Za-z_][\w-]*)\s*>>")
_CIRCLECI_PIPELINE = lazy_re.compile(r"<<\s*pipeline\.parameters\.([A-Za-z_][\w-]*)\s*>>")


def jobs(
    kind: str, root: Node, given: Given | None = None
) -> Iterator[tuple[str, list[tuple[str, Node, list[Script]]]]]:
    """(job name, its steps: (step name, step node, its scripts)) of a pipeline (`given`:
    the parameters an Azure template is included with)."""
    if kind == CLOUD_BUILD:
        yield "build", list(_cloud_build(root))
    elif kind == AZURE:
        values = {**_azure_defaults(_get(root, "parameters")), **(given or {})}
        yield from _azure(root, "pipeline", values)
    elif kind == BITBUCKET:
        yield from _bitbucket(root)
    elif kind == CIRCLECI:
        yield from _circleci(root)
    elif kind == DRONE:
        yield from _drone(root)
    elif kind == WOODPECKER:
        yield from _woodpecker(root)
    elif kind == TEKTON:
        yield from _tekton(root)
    elif kind == BUILDKITE:
        yield "pipeline", list(_buildkite_steps(_get(root, "steps") or root))
    elif kind == TRAVIS:
        yield from _travis(root)


def _substituted(node: Node | None, pattern: re.Pattern[str], given: Given) -> Node | None:
    """A script with the parameters it spells (`${{ parameters.cmd }}`, `<< parameters.cmd
    >>`) replaced by the values given, at the script's own place in the file."""
    if not given or not isinstance(node, ScalarNode) or not pattern.search(str(node.value)):
        return node
    value = _fill(str(node.value), pattern, given)
    return ScalarNode(node.tag, value, node.start_mark, node.end_mark, style=node.style)


def _fill(text: str, pattern: re.Pattern[str], given: Given) -> str:
    """`text` with the parameters `pattern` finds replaced by those given (others kept)."""
    return pattern.sub(lambda m: given.get(m.group(1), m.group(0)), text)


def _scalars(node: Node | None) -> Given:
    """The scalar values of a mapping, by key (what a template or command is given)."""
    if not isinstance(node, MappingNode):
        return {}
    return {
        str(key.value): str(value.value)
        for key, value in node.value
        if isinstance(key, ScalarNode) and isinstance(value, ScalarNode)
    }


def _get(node: Node | None, key: str) -> Node | None:
    """The value of `key`, its own or through YAML merge keys (`<<: *deploy`, Bitbucket's
    step definitions: red team s25), as the YAML loader reads them: a key written twice has
    its last value, as Drone's go-yaml v2 (a list or a string field is set again) and the
    loaders that accept duplicates read it (the first let a harmless `steps:` stand for the
    `steps:` after it, which Drone runs)."""
    if not isinstance(node, MappingNode):
        return None
    merged: list[Node] = []
    own: Node | None = None
    written = False
    for key_node, value in node.value:
        if isinstance(key_node, ScalarNode) and key_node.value == key:
            own, written = (value if isinstance(value, Node) else None), True
        elif isinstance(key_node, ScalarNode) and key_node.value == "<<":
            merged += value.value if isinstance(value, SequenceNode) else [value]
    if written:
        return own
    for other in merged:
        found = _get(other, key)
        if found is not None:
            return found
    return None


def _items(node: Node | None) -> list[Node]:
    return list(node.value) if isinstance(node, SequenceNode) else []


def _scripts(node: Node | None) -> list[Script]:
    """A script written as one string or as a list of them (Buildkite, Travis)."""
    listed = [node] if isinstance(node, ScalarNode) else _items(node)
    return [(entry, None) for entry in listed if isinstance(entry, ScalarNode)]


def _text(node: Node | None) -> str | None:
    return str(node.value) if isinstance(node, ScalarNode) else None


def _words(node: Node | None) -> list[str]:
    if isinstance(node, SequenceNode):
        return [str(item.value) for item in node.value if isinstance(item, ScalarNode)]
    text = _text(node)
    return shlex.split(text, posix=True) if text else []


def _cloud_build(root: Node) -> Iterator[tuple[str, Node, list[Script]]]:
    """Each step: its `script`, a shell entrypoint's `-c` text, else the builder's program
    (`gcr.io/cloud-builders/kubectl` is kubectl; `gke-deploy`, `gcloud`) with its args."""
    for index, step in enumerate(_items(_get(root, "steps"))):
        name = _text(_get(step, "id")) or _text(_get(step, "name")) or str(index)
        script = _get(step, "script")
        if isinstance(script, ScalarNode):
            yield name, step, [(script, None)]
            continue
        args = _get(step, "args")
        entrypoint = _text(_get(step, "entrypoint"))
        words = _words(args)
        flagged = len(words) >= 2 and words[0].startswith("-") and "c" in words[0]
        if entrypoint in _SHELLS and flagged:
            command = _items(args)[1] if isinstance(args, SequenceNode) else args
            if isinstance(command, ScalarNode):
                yield name, step, [(command, None)]
                continue
        image = _text(_get(step, "name")) or ""
        program = entrypoint or image.rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0]
        if program:
            yield name, step, [(args if args is not None else step, shlex.join([program, *words]))]


def _azure(
    node: Node, name: str, given: Given
) -> Iterator[tuple[str, list[tuple[str, Node, list[Script]]]]]:
    """Steps at the root, of `jobs[]` (`job:` or `deployment:`, a deployment's strategy
    hooks) and of `stages[].jobs[]`, through `${{ if }}`/`${{ each }}` blocks; steps written
    in a template reference's or the root's `parameters` (a stepList the template inserts)."""
    given = {**given, **_azure_variables(_get(node, "variables"), given)}
    own = list(_azure_steps(_get(node, "steps"), given))
    own += _azure_parameter_steps(_get(node, "parameters"), given)
    own += _azure_parameter_steps(_get(_get(node, "extends"), "parameters"), given)
    if own:
        yield name, own
    for stage in _azure_items(_get(node, "stages")):
        yield from _azure(stage, _text(_get(stage, "stage")) or name, given)
    for job in _azure_items(_get(node, "jobs")):
        job_name = _text(_get(job, "job")) or _text(_get(job, "deployment")) or name
        values = {**given, **_azure_variables(_get(job, "variables"), given)}
        steps = _azure_job_steps(job, values)
        if steps:
            yield job_name, steps


def _azure_job_steps(job: Node, given: Given) -> list[tuple[str, Node, list[Script]]]:
    """A job's steps, its deployment strategy hooks' and those given as its parameters."""
    steps = list(_azure_steps(_get(job, "steps"), given))
    steps += _azure_parameter_steps(_get(job, "parameters"), given)
    strategy = _get(job, "strategy")
    for kind in ("runOnce", "rolling", "canary"):
        for hook in ("preDeploy", "deploy", "routeTraffic", "postRouteTraffic"):
            steps += _azure_steps(_get(_get(_get(strategy, kind), hook), "steps"), given)
        for outcome in ("failure", "success"):
            on = _get(_get(_get(strategy, kind), "on"), outcome)
            steps += _azure_steps(_get(on, "steps"), given)
    return steps


def azure_variables(root: Node) -> Given:
    """A pipeline's own variables (under `$name`): its templates' `$(name)` macros read them."""
    return _azure_variables(_get(root, "variables"), _azure_defaults(_get(root, "parameters")))


def _azure_variables(variables: Node | None, given: Given) -> Given:
    """A pipeline's, stage's or job's variables (`{x: y}` or `- {name: x, value: y}`), under
    `$x`, their `${{ parameters.p }}` given."""
    if isinstance(variables, MappingNode):
        pairs = list(_scalars(variables).items())
    else:
        pairs = [
            (name, value)
            for item in _items(variables)
            if (name := _text(_get(item, "name"))) is not None
            and (value := _text(_get(item, "value"))) is not None
        ]
    return {f"${name}": _fill(value, _AZURE_PARAMETER, given) for name, value in pairs}


def _azure_filled(node: Node | None, given: Given) -> Node | None:
    """A script or input with the parameters and variables it spells given."""
    variables = {key[1:]: value for key, value in given.items() if key.startswith("$")}
    return _substituted(_substituted(node, _AZURE_PARAMETER, given), _AZURE_VARIABLE, variables)


def _azure_items(listed: Node | None) -> list[Node]:
    """A list's items, those of `- ${{ if ... }}:` and `- ${{ each ... }}:` blocks in their
    place (template expressions insert them when they hold)."""
    found: list[Node] = []
    for item in _items(listed):
        first = item.value[0][0] if isinstance(item, MappingNode) and item.value else None
        if isinstance(first, ScalarNode) and str(first.value).startswith("${{"):
            for _, block in item.value:
                found += _azure_items(block) if isinstance(block, SequenceNode) else [block]
        else:
            found.append(item)
    return found


def _azure_parameter_steps(
    parameters: Node | None, given: Given
) -> list[tuple[str, Node, list[Script]]]:
    """Steps written as parameter values (`parameters: {deploy: [{script: ...}]}` of a
    template reference, a stepList's default): the template runs them where it inserts them."""
    if isinstance(parameters, MappingNode):
        found = list(_azure_steps(SequenceNode("tag:yaml.org,2002:seq", [parameters]), given))
        if found:
            return found
        children = [value for _, value in parameters.value]
    else:
        children = _items(parameters)
    return [step for child in children for step in _azure_parameter_steps(child, given)]


def _azure_defaults(parameters: Node | None) -> Given:
    """A template's own parameter defaults: `- {name: x, default: y}` or `{x: y}`."""
    if isinstance(parameters, MappingNode):
        return _scalars(parameters)
    found: Given = {}
    for item in _items(parameters):
        name, default = _text(_get(item, "name")), _text(_get(item, "default"))
        if name is not None and default is not None:
            found[name] = default
    return found


_AZURE_SCRIPTS = ("script", "bash", "pwsh", "powershell")


def _azure_steps(steps: Node | None, given: Given) -> Iterator[tuple[str, Node, list[Script]]]:
    def script_of(node: Node | None) -> Node | None:
        return _azure_filled(node, given)

    for index, step in enumerate(_azure_items(steps)):
        name = _text(_get(step, "displayName")) or _text(_get(step, "name")) or str(index)
        if _get(step, "template") is not None:
            yield from _azure_parameter_steps(_get(step, "parameters"), given)
            continue
        for key in _AZURE_SCRIPTS:
            script = script_of(_get(step, key))
            if isinstance(script, ScalarNode):
                yield name, step, [(script, None)]
        task = (_text(script_of(_get(step, "task"))) or "").split("@", 1)[0]
        inputs = _get(step, "inputs")
        if task in ("AzureCLI", "Bash", "ShellScript", "PowerShell", "CmdLine"):
            for key in ("inlineScript", "script"):
                script = script_of(_get(inputs, key))
                if isinstance(script, ScalarNode):
                    yield name, step, [(script, None)]
        command = _azure_task(task, inputs, given)
        if command is not None:
            yield name, step, [(_get(step, "task") or step, command)]


def _azure_task(task: str, inputs: Node | None, given: Given) -> str | None:
    """The command a deploying task runs, as words a workflow policy reads."""

    def value(*keys: str) -> str:
        return next(
            (text for key in keys if (text := _text(_azure_filled(_get(inputs, key), given)))),
            "",
        )

    if task == "Kubernetes":
        verb = value("command") or "apply"
        return shlex.join(["kubectl", verb, *shlex.split(value("arguments"))])
    if task == "KubernetesManifest":
        action = value("action") or "deploy"
        return shlex.join(["kubectl", "apply" if action == "deploy" else action, "-f", "manifests"])
    if task == "HelmDeploy":
        verb = value("command") or "upgrade"
        chart = value("chartPath", "chartName") or "chart"
        return shlex.join(["helm", verb, value("releaseName") or "release", chart])
    return None


def _bitbucket(root: Node) -> Iterator[tuple[str, list[tuple[str, Node, list[Script]]]]]:
    pipelines = _get(root, "pipelines")
    if not isinstance(pipelines, MappingNode):
        return
    for key_node, value in pipelines.value:
        kind = str(getattr(key_node, "value", ""))
        if isinstance(value, SequenceNode):
            yield kind, list(_bitbucket_steps(value))
        elif isinstance(value, MappingNode):  # branches, tags, pull-requests, custom
            for name_node, listed in value.value:
                steps = list(_bitbucket_steps(listed))
                if steps:
                    yield f"{kind}.{getattr(name_node, 'value', '')}", steps


def _bitbucket_steps(listed: Node | None) -> Iterator[tuple[str, Node, list[Script]]]:
    for item in _items(listed):
        step = _get(item, "step")
        if step is not None:
            yield _bitbucket_step(step)
        parallel = _get(item, "parallel")
        yield from _bitbucket_steps(_get(parallel, "steps") or parallel)
        yield from _bitbucket_steps(_get(_get(item, "stage"), "steps"))


def _bitbucket_step(step: Node) -> tuple[str, Node, list[Script]]:
    scripts: list[Script] = []
    for key in ("script", "after-script"):
        for entry in _items(_get(step, key)):
            if isinstance(entry, ScalarNode):
                scripts.append((entry, None))
            pipe = _text(_get(entry, "pipe")) or ""
            if "kubectl" in pipe or "kubernetes" in pipe:
                command = _text(_get(_get(entry, "variables"), "KUBECTL_COMMAND")) or "apply"
                scripts.append((entry, shlex.join(["kubectl", *shlex.split(command)])))
            elif "helm" in pipe:
                scripts.append((entry, "helm upgrade --install release chart"))
    return _text(_get(step, "name")) or "step", step, scripts


def _circleci(root: Node) -> Iterator[tuple[str, list[tuple[str, Node, list[Script]]]]]:
    """The jobs and commands of the config and of its inline orbs (`orbs: {ops: {commands:
    ..., jobs: ...}}`, called `ops/<name>`: red team s20), each with its parameters'
    defaults; a workflow's job given parameters, with them."""
    reusable: dict[str, Node] = {}
    config = _CircleConfig(reusable, _circleci_defaults(root))
    for prefix, holder in _circleci_holders(root):
        for section in ("jobs", "commands"):
            held = _get(holder, section)
            if isinstance(held, MappingNode):
                for name_node, job in held.value:
                    reusable.setdefault(prefix + str(getattr(name_node, "value", "")), job)
    for name, job in reusable.items():
        defaults = _circleci_defaults(job)
        steps = list(_circleci_steps(_get(job, "steps"), config, defaults, False))
        if steps:
            yield name, steps
    workflows = _get(root, "workflows")
    for workflow_name, workflow in workflows.value if isinstance(workflows, MappingNode) else []:
        for item in _items(_get(workflow, "jobs")):
            if not isinstance(item, MappingNode) or not item.value:
                continue
            name = str(getattr(item.value[0][0], "value", ""))
            job = reusable.get(name)
            if job is None:
                continue
            for given in _circleci_variants(item.value[0][1]):
                given = {
                    key: _fill(value, _CIRCLECI_PIPELINE, config.pipeline)
                    for key, value in given.items()
                }
                values = {**_circleci_defaults(job), **given}
                steps = list(_circleci_steps(_get(job, "steps"), config, values, True))
                if steps:
                    yield f"{name} ({getattr(workflow_name, 'value', '')})", steps


def _circleci_variants(arguments: Node) -> list[Given]:
    """What a workflow gives a job: its scalar parameters, and with each value of each of
    its `matrix.parameters` lists in turn (one of them may be the command)."""
    given = _scalars(arguments)
    variants = [given] if given else []
    matrix = _get(_get(arguments, "matrix"), "parameters")
    for key, values in matrix.value if isinstance(matrix, MappingNode) else []:
        for value in _items(values):
            if isinstance(value, ScalarNode):
                variants.append({**given, str(getattr(key, "value", "")): str(value.value)})
    return variants


def _circleci_holders(root: Node) -> Iterator[tuple[str, Node]]:
    """The config, then each inline orb (a mapping, not an `ns/orb@version` reference)."""
    yield "", root
    orbs = _get(root, "orbs")
    for name_node, orb in orbs.value if isinstance(orbs, MappingNode) else []:
        if isinstance(orb, MappingNode):
            yield f"{getattr(name_node, 'value', '')}/", orb


def _circleci_defaults(job: Node) -> Given:
    """A job's or command's `parameters: {x: {default: ...}}`."""
    parameters = _get(job, "parameters")
    found: Given = {}
    for name_node, spec in parameters.value if isinstance(parameters, MappingNode) else []:
        default = _text(_get(spec, "default"))
        if default is not None:
            found[str(getattr(name_node, "value", ""))] = default
    return found


# Orb commands that deploy (kubernetes, helm, aws-eks, gcp-gke orbs).
_ORB_DEPLOYS = {
    "create-or-update-resource": "kubectl apply -f resource",
    "update-container-image": "kubectl set image",
    "rollout-restart": "kubectl rollout restart",
    "delete-resource": "kubectl delete -f resource",
    "upgrade-helm-chart": "helm upgrade --install release chart",
    "install-helm-chart": "helm install release chart",
    "delete-helm-release": "helm uninstall release",
    "rollout-image": "kubectl set image",
    "publish-and-rollout-image": "kubectl set image",
}


@dataclass(frozen=True)
class _CircleConfig:
    reusable: dict[str, Node]  # jobs and commands by the name a step or workflow calls
    pipeline: Given  # the pipeline parameters' defaults (`<< pipeline.parameters.x >>`)


def _circleci_steps(
    steps: Node | None, config: _CircleConfig, given: Given, expanding: bool, depth: int = 0
) -> Iterator[tuple[str, Node, list[Script]]]:
    """Each step's `run`, `<< parameters.x >>` given; a command called with parameters runs
    its steps with them, and steps given as a parameter where written (`expanding`: only the
    scripts the parameters change, the rest are judged as the command's own)."""
    for index, step in enumerate(_items(steps)):
        for condition in ("when", "unless"):  # steps run on a condition (red team s09)
            inner = _get(_get(step, condition), "steps")
            yield from _circleci_steps(inner, config, given, expanding, depth)
        run = _get(step, "run")
        name = _text(_get(run, "name")) or f"run {index}"
        script = run if isinstance(run, ScalarNode) else _get(run, "command")
        if isinstance(script, ScalarNode):
            own = _substituted(script, _CIRCLECI_PIPELINE, config.pipeline)
            changed = _substituted(own, _CIRCLECI_PARAMETER, given)
            if not expanding or changed is not own:
                yield name, step, [(changed or script, None)]
            continue
        mapping = isinstance(step, MappingNode) and bool(step.value)
        used = str(getattr(step.value[0][0], "value", "")) if mapping else ""
        if used in ("", "when", "unless"):
            continue
        arguments = step.value[0][1]
        for value in (v for _, v in arguments.value) if isinstance(arguments, MappingNode) else []:
            if isinstance(value, SequenceNode) and not expanding:  # a `steps` parameter
                yield from _circleci_steps(value, config, given, False, depth)
        called = config.reusable.get(used)
        passed = {
            key: _fill(
                _fill(value, _CIRCLECI_PARAMETER, given), _CIRCLECI_PIPELINE, config.pipeline
            )
            for key, value in _scalars(arguments).items()
        }
        if called is not None and passed and depth < 8:
            values = {**_circleci_defaults(called), **passed}
            yield from _circleci_steps(_get(called, "steps"), config, values, True, depth + 1)
        deploy = _ORB_DEPLOYS.get(used.rsplit("/", 1)[-1])
        if deploy is not None and "/" in used and used not in config.reusable:
            yield used, step, [(step.value[0][0], deploy)]


@dataclass(frozen=True)
class Template:
    """An Azure Pipelines `template:` reference (steps, jobs, stages, variables, extends)."""

    written: str  # as the pipeline spells it: `ci/deploy.yml`, `deploy.yml@tools`
    file: str | None  # the repository file it names; None outside it (another repository)
    line: int  # of the reference in the including file
    given: tuple[tuple[str, str], ...]  # the scalar parameters it is included with


def azure_templates(path: str, root: Node) -> list[Template]:
    """The templates a pipeline or template at `path` includes: a path relative to the
    including file (`/` from the repository's root), `@self` this repository, `@<alias>` a
    repository resource (outside it), a `${{ }}` expression in the name unknown here."""
    found: list[Template] = []

    def walk(node: Node) -> None:
        if isinstance(node, SequenceNode):
            for item in node.value:
                walk(item)
        elif isinstance(node, MappingNode):
            for key, value in node.value:
                name = str(getattr(key, "value", ""))
                if name == "template" and isinstance(value, ScalarNode) and value.value:
                    found.append(_template(path, node, value))
                elif name != "inputs":  # a task's inputs are no pipeline
                    walk(value)

    walk(root)
    return found


def _template(path: str, holder: MappingNode, value: ScalarNode) -> Template:
    written = str(value.value).strip()
    name, _, repository = written.partition("@")
    given = tuple(sorted(_scalars(_get(holder, "parameters")).items()))
    line = value.start_mark.line + 1
    if (repository and repository != "self") or "${{" in name or "$(" in name:
        return Template(written, None, line, given)
    folder = posixpath.dirname(path)
    joined = name.lstrip("/") if name.startswith("/") else posixpath.join(folder, name)
    file = posixpath.normpath(joined)
    return Template(written, None if file.startswith("../") else file, line, given)


def azure_closure(
    path: str, root: Node, parse: Callable[[str], Node | None], limit: int = 100
) -> list[tuple[str, Template]]:
    """(including file, template) of every template `path` includes, through templates that
    include templates (Azure's bound: 100 files), each file parsed once by `parse` (None:
    missing, which fails the pipeline) and read once per set of parameters it is given: a
    template passing on its own (`cmd: ${{ parameters.cmd }}`) passes what it was given."""
    found: list[tuple[str, Template]] = []
    parsed: dict[str, Node | None] = {path: root}
    pending: list[tuple[str, Given]] = [(path, {})]
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = {(path, ())}
    while pending and len(seen) <= limit:
        including, given = pending.pop(0)
        node = parsed[including]
        if node is None:
            continue
        values = {**_azure_defaults(_get(node, "parameters")), **given}
        for written in azure_templates(including, node):
            passed = {key: _fill(value, _AZURE_PARAMETER, values) for key, value in written.given}
            template = replace(written, given=tuple(sorted(passed.items())))
            found.append((including, template))
            if template.file is None or (template.file, template.given) in seen:
                continue
            seen.add((template.file, template.given))
            if template.file not in parsed:
                parsed[template.file] = parse(template.file)
            pending.append((template.file, passed))
    return found


def _drone(root: Node) -> Iterator[tuple[str, list[tuple[str, Node, list[Script]]]]]:
    """Drone (`.drone.yml`, one pipeline per YAML document, read as a sequence): each step's
    `commands`."""
    for number, document in enumerate(_items(root)):
        name = _text(_get(document, "name")) or f"pipeline {number + 1}"
        steps = []
        for step in _items(_get(document, "steps")):
            scripts: list[Script] = [
                (entry, None) for entry in _items(_get(step, "commands")) if _text(entry)
            ]
            steps.append((_text(_get(step, "name")) or "step", step, scripts))
        yield name, steps


def _woodpecker(root: Node) -> Iterator[tuple[str, list[tuple[str, Node, list[Script]]]]]:
    """Woodpecker CI (`.woodpecker.yml`, `.woodpecker/*.yml`: Drone's fork): the `commands`
    of each step of `steps` (or `pipeline`, its older name), a mapping of steps by name or a
    list of steps with `name` (red team s21 trust14 c17: its kubectl apply was never read)."""
    steps = []
    listed = _get(root, "steps") or _get(root, "pipeline")
    pairs: list[tuple[str, Node]] = []
    if isinstance(listed, MappingNode):
        pairs = [(_text(key) or "step", value) for key, value in listed.value]
    for step in _items(listed):
        pairs.append((_text(_get(step, "name")) or "step", step))
    for name, step in pairs:
        scripts = _scripts(_get(step, "commands"))
        steps.append((name, step, scripts))
    yield "pipeline", steps


def _tekton(root: Node) -> Iterator[tuple[str, list[tuple[str, Node, list[Script]]]]]:
    """Tekton Pipelines-as-Code (`.tekton/*.yaml`, one object per YAML document, run on the
    repository's push and pull request events): each step of a Task or TaskRun (`spec`,
    `spec.taskSpec`) and of each task of a Pipeline or PipelineRun (`spec`,
    `spec.pipelineSpec`: `tasks` and `finally`, their `taskSpec`), by its `script`, else its
    `command` and `args` (the image's name standing for a missing command, as Cloud Build's
    builders). The objects are judged as Kubernetes objects too (a step's container); their
    scripts were not read as CI (red team s22 trust15 c17: `kubectl apply` passed)."""
    for number, document in enumerate(_items(root)):
        spec = _get(document, "spec")
        name = _text(_get(_get(document, "metadata"), "name")) or f"pipeline {number + 1}"
        tasks = [(name, _get(spec, "taskSpec") or spec)]
        pipeline = _get(spec, "pipelineSpec") or spec
        for task in [*_items(_get(pipeline, "tasks")), *_items(_get(pipeline, "finally"))]:
            tasks.append((_text(_get(task, "name")) or name, _get(task, "taskSpec")))
        for task_name, task_spec in tasks:
            steps = list(_tekton_steps(_get(task_spec, "steps")))
            if steps:
                yield task_name, steps


def _tekton_steps(listed: Node | None) -> Iterator[tuple[str, Node, list[Script]]]:
    for step in _items(listed):
        name = _text(_get(step, "name")) or "step"
        script = _get(step, "script")
        if isinstance(script, ScalarNode):
            yield name, step, [(script, None)]
            continue
        command, args = _get(step, "command"), _get(step, "args")
        words = [*_words(command), *_words(args)]
        image = _text(_get(step, "image")) or ""
        if not _words(command):  # the image's entrypoint: its name (bitnami/kubectl)
            program = image.rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0]
            words = [program, *words] if program else words
        if words:
            yield name, step, [(args if args is not None else step, shlex.join(words))]


def _buildkite_steps(listed: Node | None) -> Iterator[tuple[str, Node, list[Script]]]:
    """Buildkite (`.buildkite/pipeline.yml`): each command step's `command` / `commands`
    (a string or a list), inside `group` steps too."""
    for step in _items(listed):
        if isinstance(step, ScalarNode):
            continue  # `wait`, `block`
        scripts = [*_scripts(_get(step, "command")), *_scripts(_get(step, "commands"))]
        if scripts:
            name = _text(_get(step, "label")) or _text(_get(step, "key")) or "step"
            yield name, step, scripts
        yield from _buildkite_steps(_get(step, "steps"))  # a group's steps


# Travis CI's phases that run shell commands, in the order a job runs them.
_TRAVIS_PHASES = (
    "before_install", "install", "before_script", "script", "after_success", "after_failure",
    "before_deploy", "after_deploy", "after_script",
)  # fmt: skip


def _travis(root: Node) -> Iterator[tuple[str, list[tuple[str, Node, list[Script]]]]]:
    """Travis CI (`.travis.yml`): the phases of the build and of each `jobs.include` /
    `matrix.include` entry (a string or a list each), and a deploy's `script` provider."""
    yield "build", _travis_steps(root)
    for key in ("jobs", "matrix"):
        for number, job in enumerate(_items(_get(_get(root, key), "include"))):
            steps = _travis_steps(job)
            if steps:
                name = _text(_get(job, "name")) or _text(_get(job, "stage"))
                yield name or f"job {number + 1}", steps


def _travis_steps(holder: Node) -> list[tuple[str, Node, list[Script]]]:
    steps: list[tuple[str, Node, list[Script]]] = []
    for phase in _TRAVIS_PHASES:
        value = _get(holder, phase)
        scripts = _scripts(value)
        if value is not None and scripts:
            steps.append((phase, value, scripts))
    deploy = _get(holder, "deploy")
    for entry in [deploy] if isinstance(deploy, MappingNode) else _items(deploy):
        script = _get(entry, "script")
        if _text(_get(entry, "provider")) == "script" and isinstance(script, ScalarNode):
            steps.append(("deploy", entry, [(script, None)]))
    return steps


# Jenkins pipeline steps that run a shell (`sh`, `bat`, `powershell`, `pwsh`) and the string
# they are given: `sh 'x'`, `sh("x")`, `sh script: '''...'''`, `sh(label: "y", script: "x")`.
_JENKINS_STEP = lazy_re.compile(
    r"""\b(?:sh|bat|powershell|pwsh)\b\s*\(?\s*"""
    r"""(?:(?:label|encoding|returnStatus|returnStdout)\s*:\s*[^,()\n]*,\s*)*"""
    r"""(?:script\s*:\s*)?(?:('''|\"\"\"|'|")|([A-Za-z_]\w*)\b(?!\s*[:=(.]))"""
)
# `def cmd = "kubectl ..."` (or `String`/`final`, or a bare assignment): a Groovy variable
# holding a literal string, which a step may run (`sh cmd`) or interpolate (`"${cmd} -f x"`).
_GROOVY_STRING = lazy_re.compile(
    r"""(?m)^[ \t]*(?:(?:def|final|String)\s+)*([A-Za-z_]\w*)\s*=\s*"""
    r"""('[^'\n]*'|"[^"\n]*")[ \t]*;?[ \t]*$"""
)
_GROOVY_REFERENCE = lazy_re.compile(r"\$\{([A-Za-z_]\w*)\}|\$([A-Za-z_]\w*)")
_JENKINS_STAGE = lazy_re.compile(r"""\bstage\s*\(\s*(['"])(.*?)\1""")


def jenkins(text: str) -> list[tuple[str, list[tuple[str, Node, list[Script]]]]]:
    """A Jenkinsfile (declarative or scripted Groovy): the strings its shell steps run, by
    the `stage` they are in, each at its place in the file (a Groovy escape read as Groovy
    reads it; `${...}` interpolation left to the shell analysis, as unknown)."""
    from yaml.error import Mark

    starts = [0]
    for line in text.split("\n")[:-1]:
        starts.append(starts[-1] + len(line) + 1)

    def mark(offset: int) -> Mark:
        line = max(0, bisect_right(starts, offset) - 1)
        return Mark("", offset, line, offset - starts[line], None, 0)

    stages = [(match.start(), match.group(2)) for match in _JENKINS_STAGE.finditer(text)]
    strings = {
        m.group(1): _groovy_unescaped(m.group(2)[1:-1]) for m in _GROOVY_STRING.finditer(text)
    }
    jobs: dict[str, list[tuple[str, Node, list[Script]]]] = {}
    position = 0
    while True:
        step = _JENKINS_STEP.search(text, position)
        if step is None:
            break
        stage = next((name for at, name in reversed(stages) if at < step.start()), "pipeline")
        if step.group(2):  # `sh cmd`: the variable's literal string, else a name run-time gives
            value = strings.get(step.group(2), f"${{{step.group(2)}}}")
            node = ScalarNode(
                "tag:yaml.org,2002:str", value, mark(step.start(2)), mark(step.end(2))
            )
            jobs.setdefault(stage, []).append(("sh", node, [(node, None)]))
            position = step.end()
            continue
        quote = step.group(1)
        begin = step.end()
        end = text.find(quote, begin)
        while end > 0 and len(quote) == 1 and text[end - 1] == "\\":
            end = text.find(quote, end + 1)  # an escaped quote
        if end < 0:
            break
        value = _groovy_unescaped(text[begin:end])
        if quote.startswith('"'):  # a GString: the variables holding literal strings put in
            value = _GROOVY_REFERENCE.sub(
                lambda ref: strings.get(ref.group(1) or ref.group(2), ref.group(0)), value
            )
        if len(quote) == 3 and value.startswith("\n"):
            value, begin = value[1:], begin + 1  # the text starts on the next line
        node = ScalarNode("tag:yaml.org,2002:str", value, mark(begin), mark(end))
        jobs.setdefault(stage, []).append(("sh", node, [(node, None)]))
        position = end + len(quote)
    return list(jobs.items())


def _groovy_unescaped(text: str) -> str:
    return re.sub(r"\\(.)", lambda match: match.group(1), text)
