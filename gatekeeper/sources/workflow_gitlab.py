"""A GitLab CI pipeline as GitLab assembles it, to read what each of its jobs runs.

A job's scripts need not be written under the job (red team r15): `extends:` takes them
from other jobs (hidden `.templates`, in any file of the pipeline), `!reference [job, key]`
pastes another job's list, `hooks: pre_get_sources_script` runs before the clone, `run:`
lists CI steps with `script:` entries, and `trigger: include:` starts a child pipeline from
a file of the repository (a pipeline too, judged the same way, and a dependency of its
parent). A script may spell a command through `variables:` (global, the job's and its
templates'), `parallel: matrix`, `rules: variables` or `$[[ inputs.x ]]` of a file's
`spec:` header (its defaults and options, and what an `include:` passes). Nothing is run.
"""

from __future__ import annotations

import fnmatch
import itertools
import posixpath
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gatekeeper import lazy_re
from gatekeeper.document import Problem
from gatekeeper.tree import Tree, inside
from gatekeeper.yamldoc import YamlDocument, load_mapping

# Top-level keys that are not jobs.
KEYWORDS = frozenset(
    {
        "default", "include", "stages", "variables", "workflow", "image", "services", "cache",
        "before_script", "after_script", "types", "spec",
    }
)  # fmt: skip
# What a job runs, in the order the runner runs it.
SECTIONS: tuple[tuple[str, ...], ...] = (
    ("hooks", "pre_get_sources_script"),
    ("before_script",),
    ("script",),
    ("run",),
    ("after_script",),
)
# What `default:` gives every job (the old top-level before_script/after_script too).
DEFAULT_SECTIONS = (("hooks", "pre_get_sources_script"), ("before_script",), ("after_script",))
# GitLab's own bounds: files one pipeline includes, `extends` and `!reference` depth.
MAX_INCLUDES = 150
MAX_DEPTH = 11
MAX_VARIANTS = 16
_VARIABLE = lazy_re.compile(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?")
_INPUT = lazy_re.compile(r"\$\[\[\s*inputs\.([A-Za-z0-9_-]+)(?:\s*\|[^\]]*)?\s*\]\]")


@dataclass
class Definition:
    """A job (or `default:`) as written in one file of the pipeline."""

    file: str
    node: MappingNode
    obj: dict[str, Any]
    lines: list[str]


@dataclass
class Pipeline:
    """The jobs of every file of a pipeline by name (a file included later loses to the one
    including it, as in GitLab), the hidden jobs visible jobs take from (judged through
    them), and the values of each file's `$[[ inputs.x ]]`."""

    definitions: dict[str, Definition] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    inputs: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    tree: Tree | None = None  # where local CI steps are read
    files: list[str] = field(default_factory=list)  # the root, then what it includes
    parsed: dict[str, Parsed] = field(default_factory=dict)  # each file, parsed once


def config(path: str, data: bytes) -> tuple[YamlDocument | None, str, list[Problem], Any]:
    """The pipeline document of a file and its `spec:` header: a file may start with a
    header document (`spec: inputs: ...`) followed by `---` and the jobs, which
    load_mapping alone (the first document) would not see."""
    entry, text, problems = load_mapping(path, data, "workflow")
    if entry is None or set(entry.obj) != {"spec"}:
        return entry, text, problems, None
    from gatekeeper.yamldoc import load_all

    documents = [e for e in load_all(path, text) if isinstance(e, YamlDocument)]
    if len(documents) < 2 or not isinstance(documents[1].obj, dict):
        return entry, text, problems, entry.obj.get("spec")
    return documents[1], text, problems, entry.obj.get("spec")


def included(path: str, obj: dict[str, Any], tree: Tree, own: Sequence[str] = ()) -> list[str]:
    """`path` and every local file its `include:` and its jobs' `trigger: include:` bring,
    transitively (paths from the repository root, `*` globs allowed, a variable matching
    anything; remote, project and template includes are not in the repository, unless they
    name it: `own`, its URLs)."""
    return [name for name, _, _ in _included(path, obj, tree, own)]


Parsed = tuple[YamlDocument | None, str, list[Problem], Any]  # what config() gives


def _included(
    path: str, obj: dict[str, Any], tree: Tree, own: Sequence[str] = ()
) -> list[tuple[str, dict[str, Any], Parsed | None]]:
    """(file, the inputs its includer passes, the file parsed) of `included`."""
    found: list[tuple[str, dict[str, Any], Parsed | None]] = [(path, {}, None)]
    seen = {path}
    pending = [obj]
    listing: list[str] | None = None
    while pending and len(found) <= MAX_INCLUDES:
        for pattern, given in local_includes(pending.pop(0), own):
            # `ci/$ENV.yml`: any value the variable may take, as a glob
            pattern = _VARIABLE.sub("*", posixpath.normpath(pattern.lstrip("/")))
            if "*" in pattern:
                listing = tree.list_dir(".") if listing is None else listing
                names = [n for n in listing if fnmatch.fnmatchcase(n, pattern)]
            else:
                names = [pattern] if tree.exists(pattern) else []
            for name in names:
                if name in seen or len(found) > MAX_INCLUDES:
                    continue
                seen.add(name)
                try:
                    parsed = config(name, tree.read(name))
                except OSError:
                    continue
                found.append((name, given, parsed))
                if parsed[0] is not None:
                    pending.append(parsed[0].obj)
    return found


def local_includes(obj: Any, own: Sequence[str] = ()) -> list[tuple[str, dict[str, Any]]]:
    """The local files (and the inputs given them) of a config's `include:` and of its jobs'
    `trigger: include:` (a child pipeline: a string, `{local: ...}`, or a list of those), and
    the files of this repository it names as another project's (own_file)."""
    if not isinstance(obj, dict):
        return []
    values = [obj.get("include")]
    for name, job in obj.items():
        trigger = job.get("trigger") if isinstance(job, dict) and name not in KEYWORDS else None
        if isinstance(trigger, dict):
            values.append(trigger.get("include"))
    found: list[tuple[str, dict[str, Any]]] = []
    for value in values:
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and "://" not in item:
                found.append((item, {}))
            elif isinstance(item, dict) and isinstance(item.get("local"), str):
                given = item.get("inputs")
                found.append((item["local"], given if isinstance(given, dict) else {}))
            elif own:
                given = item.get("inputs") if isinstance(item, dict) else None
                for name in own_files(item, own):
                    found.append((name, given if isinstance(given, dict) else {}))
    return found


# A ref naming a release rather than a branch: a tag (`v1.2.0`, `1.4`) or a commit.
_PINNED = re.compile(r"^(v?\d[\w.+-]*|[0-9a-f]{7,40})$")
# GitLab's raw file URL: https://HOST/GROUP/PROJECT/-/raw/REF/PATH
_RAW = re.compile(r"^https?://(?P<repo>[^?#]+?)/-/raw/(?P<ref>[^/]+)/(?P<path>[^?#]+)")


def own_files(item: Any, own: Sequence[str]) -> list[str]:
    """The files of this repository an include names as another project's: `{project:
    acme/deploy, file: ci/deploy.yml}` where acme/deploy is this repository (one of `own`,
    its URLs), or a `remote:` raw URL of it, on a branch (no `ref`, or one that is no tag or
    commit): once merged GitLab includes the change's version, so it is judged as a local
    include (red team s22 trust15 c35: the jobs were never read)."""
    from gatekeeper.sources.gitops import normalise_url

    repos = {normalise_url(url) for url in own}
    if isinstance(item, str) and "://" in item:
        item = {"remote": item}
    if not isinstance(item, dict):
        return []
    project, ref = item.get("project"), str(item.get("ref") or "")
    named = project.strip("/").lower() if isinstance(project, str) else ""
    if named and not _PINNED.match(ref) and any(r.endswith("/" + named) for r in repos):
        files = item.get("file")
        listed = files if isinstance(files, list) else [files]
        return [file.lstrip("/") for file in listed if isinstance(file, str)]
    remote = _RAW.match(str(item.get("remote") or ""))
    if (
        remote
        and not _PINNED.match(remote.group("ref"))
        and normalise_url("https://" + remote.group("repo")) in repos
    ):
        return [remote.group("path")]
    return []


def outside_includes(obj: dict[str, Any]) -> list[tuple[int, str, str]]:
    """The includes from outside the repository (GitLab templates, CI/CD components, other
    projects' files, URLs): (index in `include:`, what is included as a name a policy can
    list — `Jobs/Deploy.gitlab-ci.yml`, `gitlab.com/components/opentofu/full-pipeline` —
    and its version). They bring jobs this cannot read: a deploy template deploys."""
    value = obj.get("include")
    items = value if isinstance(value, list) else [value]
    found: list[tuple[int, str, str]] = []
    for index, item in enumerate(items):
        if isinstance(item, str) and "://" in item:
            found.append((index, item, ""))
        elif isinstance(item, dict):
            for key in ("template", "component", "remote"):
                if isinstance(item.get(key), str):
                    name, _, version = (
                        str(item[key]).partition("@") if key == "component" else (item[key], "", "")
                    )
                    found.append((index, name, version))
            files = item.get("file")
            if isinstance(item.get("project"), str):
                for file in files if isinstance(files, list) else [files]:
                    if isinstance(file, str):
                        name = f"{item['project']}:{file.lstrip('/')}"
                        found.append((index, name, str(item.get("ref") or "")))
    return found


def pipeline(root: str, data: bytes, tree: Tree, own: Sequence[str] = ()) -> Pipeline:
    """The pipeline the file `root` (its bytes `data`) starts, with every file it brings
    (`own`: this repository's URLs, for includes naming it as a project)."""
    built = Pipeline(tree=tree)
    parsed = config(root, data)
    entry, text, _, spec = parsed
    built.parsed[root] = parsed
    if entry is None:
        return built
    files = _included(root, entry.obj, tree, own)
    for name, given, other in reversed(files[1:]):
        if other is not None and other[0] is not None:
            built.parsed[name] = other
            add_file(built, name, other[0], other[1].split("\n"), other[3], given)
    add_file(built, root, entry, text.split("\n"), spec, {})
    built.files = [name for name, _, _ in files]
    mark_used(built)
    return built


def single(path: str, entry: YamlDocument, lines: list[str], spec: Any) -> Pipeline:
    """The pipeline of one file alone (no repository to read includes from)."""
    built = Pipeline()
    add_file(built, path, entry, lines, spec, {})
    mark_used(built)
    return built


def add_file(
    built: Pipeline,
    path: str,
    entry: YamlDocument,
    lines: list[str],
    spec: Any,
    given: dict[str, Any],
) -> None:
    if not isinstance(entry.node, MappingNode):
        return
    for key, value in entry.node.value:
        name = str(key.value)
        if isinstance(value, MappingNode) and (name not in KEYWORDS or name == "default"):
            job = entry.obj.get(name)
            built.definitions[name] = Definition(
                path, value, job if isinstance(job, dict) else {}, lines
            )
    values: dict[str, list[str]] = {}
    inputs = spec.get("inputs") if isinstance(spec, dict) else None
    for name, declared in inputs.items() if isinstance(inputs, dict) else ():
        options = declared if isinstance(declared, dict) else {}
        candidates = [given.get(name), options.get("default"), *(options.get("options") or [])]
        values[str(name)] = [str(v) for v in candidates if isinstance(v, (str, int, float))]
    built.inputs[path] = values


def mark_used(built: Pipeline) -> None:
    """Hidden jobs a visible job extends or references: they run as part of it."""
    for name, definition in built.definitions.items():
        if name.startswith("."):
            continue
        for template in _extended(built, definition):
            built.used.add(template)
        for reference in _references(definition.node):
            built.used.add(reference)


def chain(built: Pipeline, job: Definition, depth: int = 0) -> list[Definition]:
    """`job` and the jobs it extends, transitively, nearest first."""
    found = [job]
    for template in reversed(_extends(job.obj)):
        definition = built.definitions.get(template)
        if definition is None or depth >= MAX_DEPTH:
            continue
        found += [d for d in chain(built, definition, depth + 1) if d not in found]
    return found


def _extended(built: Pipeline, job: Definition, depth: int = 0) -> list[str]:
    """The names of the jobs `job` extends, transitively."""
    names = _extends(job.obj)
    for name in list(names):
        definition = built.definitions.get(name)
        if definition is not None and depth < MAX_DEPTH:
            names += [n for n in _extended(built, definition, depth + 1) if n not in names]
    return names


def _extends(job: dict[str, Any]) -> list[str]:
    value = job.get("extends")
    names = value if isinstance(value, list) else [value]
    return [str(name) for name in names if isinstance(name, str)]


def _references(node: Node) -> list[str]:
    """The jobs the `!reference [job, ...]` tags under `node` name."""
    if isinstance(node, SequenceNode) and node.tag == "!reference":
        first = node.value[0] if node.value else None
        return [str(first.value)] if isinstance(first, ScalarNode) else []
    if isinstance(node, SequenceNode):
        return [name for item in node.value for name in _references(item)]
    if isinstance(node, MappingNode):
        return [name for _, value in node.value for name in _references(value)]
    return []


def judged(built: Pipeline, name: str) -> bool:
    """Whether a job is judged on its own: a hidden job that a visible job uses is judged
    through that job (with its name, environment and variables)."""
    return not (name.startswith(".") and name in built.used)


def section(
    built: Pipeline, job: Definition, keys: tuple[str, ...]
) -> list[tuple[Definition, ScalarNode]]:
    """The script scalars a job runs for one section (`script`, `hooks.pre_get_sources_script`
    ...): its own, else the nearest template's; `!reference` tags resolved; for `run:`,
    the `script:` of each step."""
    for definition in chain(built, job):
        node = _child(definition.node, keys)
        if node is not None:
            if keys == ("run",):
                return ci_steps(built, definition, node)
            return scalars(built, definition, node)
    return []


def ci_steps(
    built: Pipeline, definition: Definition, node: Node, depth: int = 0
) -> list[tuple[Definition, ScalarNode]]:
    """The scripts of a `run:` list of CI steps: each step's `script:`, and what a step of
    the repository runs (`step: ./ci/deploy`, its `step.yml`: `exec: command: [...]` or
    more steps); steps from elsewhere are not in the repository."""
    found: list[tuple[Definition, ScalarNode]] = []
    for step in node.value if isinstance(node, SequenceNode) and depth <= MAX_DEPTH else []:
        script = _child(step, ("script",))
        if script is not None:
            found += scalars(built, definition, script)
        for key in ("step", "func"):
            reference = _child(step, (key,))
            if isinstance(reference, ScalarNode) and str(reference.value).startswith("."):
                found += _local_step(built, str(reference.value), depth)
    return found


def _local_step(built: Pipeline, reference: str, depth: int) -> list[tuple[Definition, ScalarNode]]:
    """The commands of a step file of the repository (the definition after its spec)."""
    path = inside(reference)
    if path is None:  # nothing outside the repository is read
        return []
    names = [path] if path.endswith((".yml", ".yaml")) else [f"{path}/step.yml", f"{path}/func.yml"]
    for name in names:
        if built.tree is None or not built.tree.exists(name):
            continue
        try:
            text = built.tree.read(name).decode("utf-8", "replace")
        except OSError:
            return []
        from gatekeeper.yamldoc import load_all

        for entry in load_all(name, text):
            if not isinstance(entry, YamlDocument) or not isinstance(entry.node, MappingNode):
                continue
            definition = Definition(name, entry.node, {}, text.split("\n"))
            command = _child(entry.node, ("exec", "command"))
            if isinstance(command, SequenceNode):
                words = [str(item.value) for item in command.value if isinstance(item, ScalarNode)]
                line = ScalarNode(
                    "tag:yaml.org,2002:str",
                    shlex.join(words),
                    command.start_mark,
                    command.start_mark,
                )
                return [(definition, line)]
            for key in ("steps", "run"):
                steps = _child(entry.node, (key,))
                if steps is not None:
                    return ci_steps(built, definition, steps, depth + 1)
        return []
    return []


def scalars(
    built: Pipeline, definition: Definition, node: Node, depth: int = 0
) -> list[tuple[Definition, ScalarNode]]:
    """The script lines of a section's node: a string, a (nested) list, `!reference`."""
    if depth > MAX_DEPTH:
        return []
    if isinstance(node, SequenceNode) and node.tag == "!reference":
        words = [str(item.value) for item in node.value if isinstance(item, ScalarNode)]
        target = built.definitions.get(words[0]) if words else None
        found = _child(target.node, tuple(words[1:])) if target is not None else None
        if target is None or found is None:
            return []
        return scalars(built, target, found, depth + 1)
    if isinstance(node, ScalarNode):
        return [(definition, node)]
    if isinstance(node, SequenceNode):
        return [item for value in node.value for item in scalars(built, definition, value, depth)]
    return []


def _child(node: Node, keys: tuple[str, ...]) -> Node | None:
    """The node at `keys` under a mapping node, through YAML merge keys (`<<: *template`)."""
    for key in keys:
        found = _value(node, key, 0)
        if found is None:
            return None
        node = found
    return node


def _value(node: Node, key: str, depth: int) -> Node | None:
    if not isinstance(node, MappingNode) or depth > MAX_DEPTH:
        return None
    merged: list[Node] = []
    for k, value in node.value:
        if str(k.value) == key and k.tag != "tag:yaml.org,2002:merge":
            own: Node = value
            return own
        if k.tag == "tag:yaml.org,2002:merge":
            merged += value.value if isinstance(value, SequenceNode) else [value]
    for source in merged:
        found = _value(source, key, depth + 1)
        if found is not None:
            return found
    return None


def variables(
    built: Pipeline, job: Definition, global_values: dict[str, str]
) -> list[dict[str, str]]:
    """The variable sets a job's scripts may run with: the global and its templates' and its
    own `variables:` (nearest wins), each `parallel: matrix` combination and each
    `rules: variables` (up to MAX_VARIANTS)."""
    base = dict(global_values)
    jobs = [definition.obj for definition in chain(built, job)]
    for holder in reversed(jobs):
        base.update(plain(holder.get("variables")))
    variants = [base]
    for holder in jobs:
        parallel = holder.get("parallel")
        matrix = parallel.get("matrix") if isinstance(parallel, dict) else None
        rules = holder.get("rules")
        more = [
            combination
            for entry in (matrix if isinstance(matrix, list) else [])
            for combination in _combinations(entry)
        ] + [
            plain(rule.get("variables"))
            for rule in (rules if isinstance(rules, list) else [])
            if isinstance(rule, dict)
        ]
        variants += [{**base, **extra} for extra in more if extra]
        if matrix is not None or rules is not None:
            break  # the nearest job that says wins, as GitLab merges
    return variants[:MAX_VARIANTS]


def _combinations(entry: Any) -> list[dict[str, str]]:
    if not isinstance(entry, dict):
        return []
    names = [str(name) for name in entry]
    values = [
        [str(v) for v in (value if isinstance(value, list) else [value]) if _scalar(v)]
        for value in entry.values()
    ]
    product = itertools.islice(itertools.product(*values), MAX_VARIANTS)
    return [dict(zip(names, combination, strict=True)) for combination in product]


def plain(value: Any) -> dict[str, str]:
    """The string values of an `env:` or `variables:` mapping (GitLab's `{value: ...}` too)."""
    if not isinstance(value, dict):
        return {}
    found: dict[str, str] = {}
    for name, item in value.items():
        if isinstance(item, dict):  # GitLab's {value: ..., description: ...}
            item = item.get("value")
        if isinstance(item, str) and item.strip():
            found[str(name)] = item
    return found


def _filled(text: str, name: str, value: str) -> str:
    return _INPUT.sub(lambda m: value if m.group(1) == name else m.group(0), text)


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def with_inputs(built: Pipeline, definition: Definition, node: ScalarNode) -> list[ScalarNode]:
    """`node` with each `$[[ inputs.x ]]` replaced by each value its file's `spec:` gives it
    (the node as is when it spells none)."""
    text = str(node.value)
    values = built.inputs.get(definition.file, {})
    if "$[[" not in text or not values:
        return [node]
    variants = [text]
    for name in dict.fromkeys(m.group(1) for m in _INPUT.finditer(text)):
        for_name = [(variant, choice) for variant in variants for choice in values.get(name, [])]
        if for_name:
            variants = [_filled(v, name, choice) for v, choice in for_name][:MAX_VARIANTS]
    return [
        ScalarNode(node.tag, variant, node.start_mark, node.end_mark, style=node.style)
        for variant in variants
    ]
