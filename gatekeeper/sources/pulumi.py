"""Pulumi YAML programs that deploy Kubernetes objects, judged as the objects they apply.

`pulumi up` (from a CI step, Pulumi Deployments or the Pulumi Kubernetes Operator's `Stack`)
creates what a YAML program's resources describe (red team r03). A program is `Pulumi.yaml`
with `runtime: yaml` (resources inline) or the `Main.yaml` of its `main` folder. Judged:

- typed resources, `type: kubernetes:<group>/<version>:<Kind>` (`core` is the `v1` group):
  the object is the resource's `properties` with apiVersion and kind from the type token;
- `kubernetes:yaml:ConfigGroup` / `kubernetes:yaml/v2:ConfigGroup`: its `yaml` text(s) and
  `objs` objects, and the repository files its `files` name; `ConfigFile` (both versions):
  the repository file its `file` names;
- `kubernetes:helm.sh/v3:Release`, `v3:Chart` and `v4:Chart` of a chart of this repository
  (`chart: ./charts/web`, no `repositoryOpts`/`repo`): rendered with the real Helm engine,
  its `values` over the chart's and its `valueYamlFiles`; a remote chart is said not
  expanded.

A value Pulumi knows only when it deploys (`${config}`, `${resource.output}`, `fn::` calls)
is left out of the object, and no finding is reported at its field, as for Terraform; but
where such a value decides what Pod Security judges (`privileged: ${priv}`), it is said at
its line, blocking (GK-LOCAL-NOT-EXPANDED): never a silent pass. Programs in TypeScript,
Python, Go, .NET or Java are not read.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from typing import Any

from gatekeeper import lazy_re
from gatekeeper.document import Loaded, Problem, SubLocator
from gatekeeper.fieldpath import Path
from gatekeeper.sources import LoadContext
from gatekeeper.sources.gitops import DEPLOYED_BY
from gatekeeper.sources.names import is_pulumi_program
from gatekeeper.tree import Tree, glob, inside
from gatekeeper.yamldoc import NodeLocator, YamlDocument, check_bytes, decode, load_all

NAME = "pulumi"
detect = is_pulumi_program

_TOKEN = lazy_re.compile(r"^kubernetes:([A-Za-z0-9.-]+)/(v[0-9A-Za-z]+):([A-Za-z0-9]+)$")
_REFERENCE = lazy_re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_-]*)\}")  # `${name}`, no property path
_STACK_FILE = lazy_re.compile(r"Pulumi\.[^/]+\.ya?ml")
_UNSET = object()  # a configuration key with no value
_MAX_GLOB = 256  # files one pattern reads
_CUSTOM = "kubernetes:apiextensions.k8s.io:CustomResource"
_CONFIG_GROUPS = frozenset({"kubernetes:yaml:ConfigGroup", "kubernetes:yaml/v2:ConfigGroup"})
_CONFIG_FILES = frozenset({"kubernetes:yaml:ConfigFile", "kubernetes:yaml/v2:ConfigFile"})
_CHARTS = frozenset(
    {"kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v3:Chart", "kubernetes:helm.sh/v4:Chart"}
)
# Other resources that deploy objects this adapter does not build: said, never dropped.
_UNREAD = frozenset({"kubernetes:kustomize:Directory", "kubernetes:kustomize/v2:Directory"})
# Fields whose value Pod Security (baseline and restricted) decides on, and what holds them:
# unknown there is said. An image or a name per stack (`nginx:${tag}`) passes, as Terraform's.
DECIDING = frozenset(
    {
        "privileged", "allowPrivilegeEscalation", "hostNetwork", "hostPID", "hostIPC",
        "hostUsers", "hostPath", "hostPort", "runAsNonRoot", "runAsUser", "capabilities",
        "add", "drop", "procMount", "seccompProfile", "appArmorProfile", "seLinuxOptions",
        "sysctls", "securityContext", "volumes", "containers", "initContainers",
        "ephemeralContainers", "spec", "template",
    }
)  # fmt: skip
# Pod Security's own fields: a patch setting one is said.
_PATCHED = DECIDING - {"spec", "template", "containers", "initContainers", "volumes"}


def is_unknown(value: Any) -> bool:
    """A value Pulumi computes when it deploys: an interpolation or a `fn::` call."""
    if isinstance(value, str):
        return "${" in value.replace("$${", "")
    return isinstance(value, dict) and any(
        isinstance(key, str) and key.lower().startswith("fn::") for key in value
    )


def program(obj: Any, path: str) -> dict[str, Any] | None:
    """The resources of a Pulumi YAML program, or None when `obj` is not one."""
    if not isinstance(obj, dict):
        return None
    resources = obj.get("resources")
    if not isinstance(resources, dict):
        return None
    if posixpath.basename(path).startswith("Pulumi."):
        runtime = obj.get("runtime")
        name = runtime.get("name") if isinstance(runtime, dict) else runtime
        if name != "yaml":
            return None
    elif not any(
        isinstance(r, dict) and isinstance(r.get("type"), str) for r in resources.values()
    ):
        return None
    return resources


def load(path: str, data: bytes, context: LoadContext) -> Loaded:
    from gatekeeper.sources import gitops, kubernetes

    problem = check_bytes(path, data)
    if problem is not None:
        return Loaded(problems=[problem])
    entries = list(load_all(path, decode(data)))
    documents = [entry for entry in entries if isinstance(entry, YamlDocument)]
    resources = program(documents[0].obj, path) if len(documents) == 1 else None
    if resources is None:  # not a Pulumi YAML program: a manifest like any other
        return kubernetes.load(path, data, context)
    loaded = Loaded(problems=[entry for entry in entries if isinstance(entry, Problem)])
    locator = NodeLocator(path, documents[0].node)
    variables = {
        **config_values(documents[0].obj, path, context.tree),
        **literal_variables(documents[0].obj),
    }
    for name, resource in resources.items():
        if isinstance(resource, dict) and isinstance(resource.get("type"), str):
            resource = {**resource, "properties": resolved(resource.get("properties"), variables)}
            _resource(path, str(name), resource, locator, context, loaded)
    gitops.expand_made(loaded, context)  # an Application it creates brings what it deploys
    if kubernetes.looks_like_objects(data):  # an object written as such: applied all the same
        loaded.documents.extend(kubernetes.load(path, data, context).documents)
    return loaded


def stack_files(obj: dict[str, Any], path: str, tree: Tree) -> list[str]:
    """The stacks' configuration files of the project (`Pulumi.<stack>.yaml` beside the
    program, or in its `stackConfigDir`)."""
    folder = posixpath.dirname(path)
    where = obj.get("stackConfigDir")
    if isinstance(where, str):
        folder = inside(posixpath.join(folder, where)) or folder
    prefix = f"{folder}/" if folder else ""
    return [
        file
        for file in tree.list_dir(folder or ".")
        if posixpath.dirname(file) == folder
        and _STACK_FILE.fullmatch(file[len(prefix) :]) is not None
    ]


def config_values(obj: dict[str, Any], path: str, tree: Tree) -> dict[str, Any]:
    """`${key}` of the program's configuration where every stack deploys the same written
    value (its own, or the program's default when it sets none): a key the stacks set
    differently, to a secret or to nothing is left out (unknown)."""
    declared = obj.get("config", obj.get("configuration"))
    if not isinstance(declared, dict):
        return {}
    project = str(obj.get("name") or "")
    defaults: dict[str, Any] = {}
    for key, spec in declared.items():
        if isinstance(spec, dict):
            if "default" in spec:
                defaults[str(key)] = spec["default"]
        elif spec is not None:
            defaults[str(key)] = spec
    stacks: list[dict[str, Any]] = []
    for file in stack_files(obj, path, tree):
        try:
            entries = list(load_all(file, decode(tree.read(file))))
        except (OSError, UnicodeDecodeError, ValueError):
            return {}  # a stack not read: nothing is known for sure
        config = (
            entries[0].obj.get("config")
            if entries and isinstance(entries[0], YamlDocument) and isinstance(entries[0].obj, dict)
            else None
        )
        stacks.append(config if isinstance(config, dict) else {})
    values: dict[str, Any] = {}
    for key in {str(k) for k in declared}:
        seen = []
        for stack in stacks:
            seen.append(stack.get(f"{project}:{key}", stack.get(key, defaults.get(key, _UNSET))))
        if not stacks:
            seen.append(defaults.get(key, _UNSET))
        first = seen[0]
        if all(
            value is not _UNSET
            and not _has_unknown(value)
            and not _secret(value)
            and value == first
            for value in seen
        ):
            values[key] = first
    return values


def _secret(value: Any) -> bool:
    return isinstance(value, dict) and "secure" in value


def literal_variables(obj: dict[str, Any]) -> dict[str, Any]:
    """The program's `variables` whose values are written out (no interpolation, no `fn::`):
    what `${name}` stands for wherever it is used."""
    variables = obj.get("variables")
    if not isinstance(variables, dict):
        return {}
    return {str(k): v for k, v in variables.items() if not _has_unknown(v)}


def _has_unknown(value: Any) -> bool:
    if is_unknown(value):
        return True
    if isinstance(value, dict):
        return any(_has_unknown(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_unknown(item) for item in value)
    return False


def resolved(value: Any, variables: dict[str, Any]) -> Any:
    """`value` with each `${name}` of a literal variable replaced by its value (a whole-string
    reference by the value itself, any type; a reference inside text by its text)."""
    if not variables:
        return value
    if isinstance(value, str):
        if "$${" in value:  # an escaped `${`: left as written
            return value
        whole = _REFERENCE.fullmatch(value)
        if whole and whole.group(1) in variables:
            return variables[whole.group(1)]
        return _REFERENCE.sub(lambda m: _text(variables, m), value)
    if isinstance(value, dict):
        return {key: resolved(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [resolved(item, variables) for item in value]
    return value


def _text(variables: dict[str, Any], match: re.Match[str]) -> str:
    value = variables.get(match.group(1))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return match.group(0)  # an object in text, or no such variable: stays unknown


def _resource(
    path: str,
    name: str,
    resource: dict[str, Any],
    locator: NodeLocator,
    context: LoadContext,
    loaded: Loaded,
) -> None:
    token = resource["type"]
    at: Path = ("resources", name)
    properties = resource.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    label = f"{name} ({token})"
    variant = f"{DEPLOYED_BY}{path}:{name}"
    if token in _CONFIG_GROUPS or token in _CONFIG_FILES:
        _config(
            path,
            label,
            variant,
            properties,
            SubLocator(locator, (*at, "properties")),
            context,
            loaded,
        )
        return
    if token in _CHARTS:
        _chart(path, label, variant, properties, locator, (*at, "properties"), context, loaded)
        return
    if token in _UNREAD:
        line = locator.locate((*at, "type")).line
        message = f"{label}: what it deploys is not built here; judge the directory as files"
        loaded.problems.append(Problem("GK-LOCAL-NOT-EXPANDED", path, line, message))
        return
    if token == _CUSTOM:  # apiVersion and kind are properties
        if isinstance(properties.get("apiVersion"), str) and isinstance(
            properties.get("kind"), str
        ):
            _add(path, label, variant, properties, SubLocator(locator, (*at, "properties")), loaded)
        return
    match = _TOKEN.match(token)
    if match is not None and match.group(3).endswith("Patch"):
        _patch(path, label, properties, SubLocator(locator, (*at, "properties")), loaded)
        return
    if match is None or match.group(3).endswith("List"):
        return  # another provider's resource
    group, version, kind = match.groups()
    api_version = version if group == "core" else f"{group}/{version}"
    obj = {"apiVersion": api_version, "kind": kind, **properties}
    _add(path, label, variant, obj, SubLocator(locator, (*at, "properties")), loaded)


def _add(
    path: str,
    label: str,
    variant: str,
    obj: dict[str, Any],
    located: Any,
    loaded: Loaded,
    at: Path = (),
) -> None:
    """One object of the program, its unknown values left out (said where they decide)."""
    from gatekeeper.sources.kubernetes import make_document

    unknown: list[Path] = []
    known = _known(obj, (), unknown)
    made = make_document(path, known, located, len(loaded.documents))
    if not made.name:  # Pulumi names it after the resource (with a random suffix)
        made.name = label.partition(" ")[0]
    made.extra["variant"] = variant
    if unknown:
        made.extra["unknown"] = tuple(unknown)
    loaded.documents.append(made)
    for field in unknown:
        if field and isinstance(field[-1], str) and field[-1] in DECIDING:
            line = located.locate(field).line
            message = (
                f"{label}: {field[-1]} is a value Pulumi knows only when it deploys;"
                " the policies that read it are not judged (write the value here)"
            )
            loaded.problems.append(Problem("GK-LOCAL-NOT-EXPANDED", path, line, message))


def _patch(
    path: str, label: str, properties: dict[str, Any], located: SubLocator, loaded: Loaded
) -> None:
    """A server-side apply patch of an object deployed elsewhere (`DeploymentPatch`): not an
    object to judge alone (most of it is elsewhere), but a Pod Security field it sets
    (`privileged: true` on a running DaemonSet) is said at its line, blocking."""
    for field in _fields(properties, ()):
        if isinstance(field[-1], str) and field[-1] in _PATCHED:
            line = located.locate(field).line
            message = (
                f"{label}: a patch of an object deployed elsewhere sets {field[-1]}; what it"
                " makes is not judged here (judge the object with the patch applied)"
            )
            loaded.problems.append(Problem("GK-LOCAL-NOT-EXPANDED", path, line, message))
            return


def _fields(value: Any, at: Path) -> Iterator[Path]:
    """The paths of every field below `value`."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*at, key)
            yield from _fields(item, (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _fields(item, (*at, index))


def _known(value: Any, at: Path, unknown: list[Path]) -> Any:
    """`value` without what Pulumi computes when it deploys (whose paths go to `unknown`)."""
    from gatekeeper.sources.terraform_kubernetes import known_part

    return known_part(value, at, unknown, is_unknown)


def _config(
    path: str,
    label: str,
    variant: str,
    properties: dict[str, Any],
    located: SubLocator,
    context: LoadContext,
    loaded: Loaded,
) -> None:
    """A ConfigGroup's or ConfigFile's objects: inline text, objects, repository files."""
    from gatekeeper.sources import kubernetes
    from gatekeeper.sources.helm_set import located_at

    texts = properties.get("yaml")
    for index, text in enumerate(texts if isinstance(texts, list) else [texts]):
        if not isinstance(text, str):
            continue
        where: Path = ("yaml", index) if isinstance(texts, list) else ("yaml",)
        place = located.locate(where)
        if is_unknown(text):
            message = f"{label}: its yaml is known only when Pulumi deploys; not judged"
            loaded.problems.append(Problem("GK-LOCAL-NOT-EXPANDED", path, place.line, message))
            continue
        block = _is_block(context, path, place.line)
        for entry in load_all(path, text):
            if not isinstance(entry, YamlDocument):
                message = f"{label} yaml: {entry.message}"
                loaded.problems.append(Problem(entry.code, path, place.line, message))
            elif kubernetes.is_object(entry.obj):
                node_locator = (
                    NodeLocator(path, entry.node, place.line)
                    if block  # a block scalar's text starts on the line after `yaml: |`
                    else NodeLocator(path, located_at(entry.obj, place.line - 1))
                )
                _add(path, label, variant, entry.obj, node_locator, loaded)
    objs = properties.get("objs")
    for index, obj in enumerate(objs if isinstance(objs, list) else [objs]):
        if kubernetes.is_object(obj):
            where = ("objs", index) if isinstance(objs, list) else ("objs",)
            _add(path, label, variant, obj, SubLocator(located, where), loaded)
    for file, where in _files(path, properties, context.tree):
        line = located.locate(where).line
        if file is None:
            message = f"{label}: a file outside this repository or a URL; not judged"
            loaded.problems.append(Problem("GK-NOT-EXPANDED", path, line, message))
            continue
        try:
            data = context.tree.read(file)
        except (OSError, ValueError):
            message = f"{label}: {file} is not in this repository; not judged"
            loaded.problems.append(Problem("GK-LOCAL-NOT-EXPANDED", path, line, message))
            continue
        for made in kubernetes.load(file, data, context).documents:
            made.extra["variant"] = variant
            loaded.documents.append(made)


def _files(path: str, properties: dict[str, Any], tree: Tree) -> Iterator[tuple[str | None, Path]]:
    """The repository files a ConfigGroup (`files`, glob patterns too) or ConfigFile (`file`)
    reads, relative to the program's folder (None: a URL or a path out of the repository)."""
    folder = posixpath.dirname(path)
    named: list[tuple[Any, Path]] = []
    files = properties.get("files")
    if isinstance(files, list):
        named += [(file, ("files", index)) for index, file in enumerate(files)]
    elif isinstance(files, str):
        named.append((files, ("files",)))
    if isinstance(properties.get("file"), str):
        named.append((properties["file"], ("file",)))
    for file, where in named:
        if not isinstance(file, str) or is_unknown(file) or "://" in file:
            yield None, where
            continue
        name = inside(posixpath.join(folder, file))
        if name is None or not any(c in name for c in "*?["):
            yield name, where
            continue
        yield from ((match, where) for match in _glob(tree, name))


def _glob(tree: Tree, pattern: str) -> list[str]:
    """Files matching `pattern` as Go's filepath.Glob matches (a `*` stays in its folder)."""
    return glob(tree, pattern, limit=_MAX_GLOB)


def _chart(
    path: str,
    label: str,
    variant: str,
    properties: dict[str, Any],
    locator: NodeLocator,
    at: Path,
    context: LoadContext,
    loaded: Loaded,
) -> None:
    """A Helm release or chart of this repository, rendered with its values."""
    from gatekeeper.sources import helm

    key = "path" if isinstance(properties.get("path"), str) else "chart"  # v3 Chart: `path`
    chart = properties.get(key)
    line = locator.locate((*at, key)).line
    fetch = properties.get("fetchOpts")
    remote = (
        properties.get("repositoryOpts")
        or properties.get("repo")
        or (isinstance(fetch, dict) and fetch.get("repo"))
    )
    folder = posixpath.dirname(path)
    chart_dir = (
        inside(posixpath.join(folder, chart))
        if isinstance(chart, str) and not is_unknown(chart) and "://" not in chart
        else None
    )
    chart_file = helm.chart_file(chart_dir) if chart_dir else ""
    if remote or not chart_dir or not context.tree.exists(chart_file):
        what = (
            "a remote chart"
            if remote or (isinstance(chart, str) and "://" in chart)
            else "not found here"
        )
        message = f"{label}: chart {chart} is {what}; what it deploys is not judged"
        loaded.problems.append(Problem("GK-NOT-EXPANDED", path, line, message))
        return
    inline = []
    values = properties.get("values")
    node = locator.node_at((*at, "values"))
    if isinstance(values, dict) and node is not None:
        unknown: list[Path] = []
        known = _known(values, (), unknown)
        if unknown:
            message = f"{label}: values Pulumi knows only when it deploys are rendered unset"
            loaded.problems.append(Problem("GK-LOCAL-NOT-EXPANDED", path, line, message))
        inline.append((known, NodeLocator(path, node)))
    values_files = []
    listed = properties.get("valueYamlFiles")
    for index, item in enumerate(listed if isinstance(listed, list) else []):
        file = asset_path(item)
        name = inside(posixpath.join(folder, file)) if file is not None else None
        if name and context.tree.exists(name):
            values_files.append(name)
        else:
            where = locator.locate((*at, "valueYamlFiles", index)).line
            message = f"{label}: values file {item} is not in this repository; not judged"
            loaded.problems.append(Problem("GK-LOCAL-NOT-EXPANDED", path, where, message))
    name = properties.get("name", properties.get("releaseName"))
    namespace = properties.get("namespace")
    release = helm.Release(
        tuple(values_files),
        name if isinstance(name, str) and not is_unknown(name) else helm.DEFAULT_RELEASE,
        namespace if isinstance(namespace, str) and not is_unknown(namespace) else "default",
        inline=tuple(inline),
        test_hooks="skip",
    )
    rendered = helm.render_chart(chart_file, context.tree.read(chart_file), context, [release])
    for made in rendered.documents:
        made.extra["variant"] = variant
    loaded.documents.extend(rendered.documents)
    loaded.problems.extend(p for p in rendered.problems if p.code != "GK-RENDER-ERROR")


def asset_path(item: Any) -> str | None:
    """The file a values file entry names: a path, or a `fn::fileAsset` of one (as Pulumi
    YAML writes assets); None for anything else (a remote asset, an interpolation)."""
    if isinstance(item, dict) and len(item) == 1:
        key, value = next(iter(item.items()))
        if isinstance(key, str) and key.lower() == "fn::fileasset":
            item = value
    if isinstance(item, str) and not is_unknown(item) and "://" not in item:
        return item
    return None


def _is_block(context: LoadContext, path: str, line: int) -> bool:
    """Is the text at `line` a block scalar (`yaml: |`), starting on the next line?"""
    try:
        lines = context.tree.read(path).decode("utf-8", "replace").splitlines()
    except (OSError, ValueError):
        return False
    return 0 < line <= len(lines) and re.search(r":\s*[|>]", lines[line - 1]) is not None


def feeds(context: LoadContext) -> Iterator[tuple[str, str]]:
    """Dependency edges (see depgraph): a program reads the files its ConfigFiles and
    ConfigGroups name, the folders of the local charts it releases and their values files,
    its stacks' configuration, and (when it can spell a deployer's kind) the whole tree."""
    from gatekeeper.depgraph import directory_input
    from gatekeeper.sources.gitops import DEPLOYER_KINDS
    from gatekeeper.sources.kubernetes import may_spell

    tree = context.tree
    deployers = [kind.encode() for kind in sorted(DEPLOYER_KINDS)]
    for path in [f for f in tree.list_dir(".") if detect(f)]:
        try:
            data = tree.read(path)
            entries = list(load_all(path, decode(data)))
        except (OSError, UnicodeDecodeError, ValueError):
            continue
        if len(entries) != 1 or not isinstance(entries[0], YamlDocument):
            continue
        resources = program(entries[0].obj, path)
        if resources is not None and may_spell(data, deployers):
            # An Application or Flux object it creates may deploy any folder of the tree.
            yield path, ""
        if resources is not None and isinstance(
            entries[0].obj.get("config", entries[0].obj.get("configuration")), dict
        ):
            yield from ((path, file) for file in stack_files(entries[0].obj, path, tree))
        folder = posixpath.dirname(path)
        for resource in (resources or {}).values():
            if not isinstance(resource, dict) or not isinstance(resource.get("properties"), dict):
                continue
            properties = resource["properties"]
            if resource.get("type") in _CONFIG_GROUPS | _CONFIG_FILES:
                yield from ((path, f) for f, _ in _files(path, properties, tree) if f)
            chart = properties.get("path", properties.get("chart"))
            if resource.get("type") in _CHARTS and isinstance(chart, str):
                chart_dir = inside(posixpath.join(folder, chart))
                if chart_dir:
                    yield path, directory_input(chart_dir)
                listed = properties.get("valueYamlFiles")
                for item in listed if isinstance(listed, list) else []:
                    file = asset_path(item)
                    name = inside(posixpath.join(folder, file)) if file is not None else None
                    if name:
                        yield path, name
