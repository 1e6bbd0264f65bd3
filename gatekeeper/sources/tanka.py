"""Grafana Tanka environments: what `tk apply` applies, evaluated as Tanka evaluates it.

A static environment is a `spec.json` (`apiVersion: tanka.dev/v1alpha1`, `kind:
Environment`) beside its `main.jsonnet`. Tanka finds the project root above it (the folder
holding `tkrc.yaml`, else `jsonnetfile.json`), evaluates `main.jsonnet` with the import
paths `<env>`, `<root>/lib`, `<env>/vendor`, `<root>/vendor` (searched in that order), the
environment as `std.extVar('tanka.dev/environment')` and `import 'tk'`, then applies every
object with `apiVersion` and `kind` found anywhere in the output, in the environment's
default namespace. A `tk apply` usually runs in CI; the objects are judged as manifests.

An inline environment is a `main.jsonnet` with no spec.json beside it, inside a project: `tk
apply` evaluates it (with `tanka.dev/environment` an error: there is no spec to give) and
applies the `data` of each `kind: Environment` object in the output, in that environment's
namespace; other objects of the output are not applied. `tk apply` takes any file named as
the entry too: another Jsonnet file of a project whose text names an Environment is one
(red team s11). This module is also the source adapter of Jsonnet files for those. Tanka's
native functions (helmTemplate, kustomizeBuild) run tools: they are not provided, so Jsonnet
calling them is a finding at that line.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from gatekeeper import lazy_re
from gatekeeper.document import Document, Loaded, Problem
from gatekeeper.sources import LoadContext
from gatekeeper.sources.names import is_tanka_entry
from gatekeeper.tree import Tree

if TYPE_CHECKING:  # imported where used: is_environment is asked of every manifest
    from gatekeeper.sources.jsonnet_locate import Sources
    from gatekeeper.sources.jsonnet_sandbox import Variables

NAME = "jsonnet"  # its options: `sources.jsonnet` (the adapter of inline environments)
SPEC = "spec.json"
ENTRYPOINT = "main.jsonnet"
ROOT_MARKERS = ("tkrc.yaml", "jsonnetfile.json")
# Tanka's own library, `import 'tk'`.
_TK = b'{\n  env: std.extVar("tanka.dev/environment"),\n}\n'
_ENVIRONMENT = "tanka.dev/environment"
# What Tanka gives an inline environment for it (pkg/tanka/inline.go).
_NO_SPEC = (
    'error "Using tk.env and std.extVar(\'tanka.dev/environment\') is only supported for'
    ' static environments. Directly access this data using standard Jsonnet instead."'
)
_TANKA_MARK = b"tanka.dev"
_NAMESPACED = "tanka.dev/namespaced"
# Kinds Tanka gives no default namespace (its list, from `kubectl api-resources`).
_CLUSTER_WIDE = frozenset(
    {
        "APIService",
        "CertificateSigningRequest",
        "ClusterRole",
        "ClusterRoleBinding",
        "ComponentStatus",
        "CSIDriver",
        "CSINode",
        "CustomResourceDefinition",
        "MutatingWebhookConfiguration",
        "Namespace",
        "Node",
        "NodeMetrics",
        "PersistentVolume",
        "PodSecurityPolicy",
        "PriorityClass",
        "RuntimeClass",
        "SelfSubjectAccessReview",
        "SelfSubjectRulesReview",
        "StorageClass",
        "SubjectAccessReview",
        "TokenReview",
        "ValidatingWebhookConfiguration",
        "VolumeAttachment",
    }
)


def is_environment(obj: Any) -> bool:
    return (
        isinstance(obj, dict)
        and obj.get("kind") == "Environment"
        and str(obj.get("apiVersion", "")).startswith("tanka.dev/")
    )


def root(tree: Tree, base: str) -> str | None:
    """The project root: the nearest folder at or above `base` (inside the repository)
    that holds tkrc.yaml, else the nearest that holds jsonnetfile.json."""
    for marker in ROOT_MARKERS:
        folder = base
        while True:
            if tree.exists(posixpath.join(folder, marker) if folder != "." else marker):
                return folder
            if folder == ".":
                break
            folder = posixpath.dirname(folder) or "."
    return None


def search_paths(base: str, project: str) -> list[str]:
    """Tanka's import paths, in the order go-jsonnet is given them (searched last first)."""

    def join(*parts: str) -> str:
        return posixpath.normpath(posixpath.join(*parts))

    return [join(project, "vendor"), join(base, "vendor"), join(project, "lib"), base]


def expand(file: str, document: Document, context: LoadContext) -> Loaded:
    """The objects the environment declared in `file` (a spec.json) applies."""
    spec = {key: value for key, value in document.obj.items() if key != "data"}
    return _static(file, spec, document.name, context)


def _static(file: str, spec: dict[str, Any], name: str, context: LoadContext) -> Loaded:
    """The objects `tk apply` applies for the static environment whose spec.json is `file`
    (`spec` its content, as tk.env gives it)."""
    from gatekeeper.sources import jsonnet

    loaded = Loaded()
    tree = context.tree
    base = posixpath.dirname(file) or "."
    entry = _beside(base, ENTRYPOINT)
    if not tree.exists(entry):
        message = f"Tanka environment {name or base} has no {ENTRYPOINT}: tk fails"
        loaded.problems.append(Problem(jsonnet.RENDER_ERROR, file, 1, message))
        return loaded
    project = root(tree, base)
    if project is None:
        message = (
            f"Tanka finds no project root (a tkrc.yaml or jsonnetfile.json at or above {base})"
            " for this environment: tk fails"
        )
        loaded.problems.append(Problem(jsonnet.RENDER_ERROR, file, 1, message))
        return loaded
    if not jsonnet.available():
        message = (
            f"tk apply evaluates {entry}; the jsonnet package is not installed"
            " (gitops-policy-gate[jsonnet]), so it is not judged"
        )
        loaded.problems.append(Problem("GK-RENDERER-MISSING", entry, 1, message))
        return loaded
    variables = _variables(context, base, json.dumps(spec))
    search = search_paths(base, project)
    limited = jsonnet.limits(context)
    tanka = jsonnet.Deployer("tk apply", "the environment")
    evaluated = jsonnet.run(entry, search, variables, tree, {"tk": _TK}, tanka, limited)
    if evaluated.problem is not None or evaluated.sources is None:
        problems = [evaluated.problem] if evaluated.problem is not None else []
        loaded.problems.extend(_native(p, entry, tree) for p in problems)
        return loaded
    objects: list[Any] = []
    stray = _extract(evaluated.output, (), objects)
    if stray is not None:
        message = (
            f"{entry} yields {stray}, which is neither a Kubernetes object nor holds any: tk fails"
        )
        loaded.problems.append(Problem(jsonnet.RENDER_ERROR, entry, 1, message))
        return loaded
    _apply(entry, objects, _namespace(spec), evaluated.sources, loaded)
    return loaded


def _unmarked_spec(tree: Tree, base: str) -> dict[str, Any] | None:
    """The environment of the spec.json in `base` as Tanka reads it (spec.Parse: Go's JSON
    into v1alpha1.New()), when that file is no `tanka.dev` Environment document the scan
    expands itself (is_environment): tk takes any JSON object there, with no apiVersion or
    kind (defaulted) and with keys in any case (Go matches struct fields so); None when there
    is no such file, or it is an Environment document, or tk cannot read it either."""
    try:
        obj = json.loads(tree.read(_beside(base, SPEC)))
    except (OSError, ValueError):
        return None
    if not isinstance(obj, dict) or is_environment(obj):
        return None
    fields = {"apiversion": "apiVersion", "kind": "kind", "metadata": "metadata", "spec": "spec"}
    spec: dict[str, Any] = {"apiVersion": "tanka.dev/v1alpha1", "kind": "Environment"}
    for key, value in obj.items():  # the last spelling wins, as Go's decoder overwrites
        if key.lower() in fields:
            spec[fields[key.lower()]] = value
    given = spec.get("spec")
    inner = {
        ("namespace" if str(key).lower() == "namespace" else key): value
        for key, value in (given.items() if isinstance(given, dict) else ())
    }
    old = next((v for k, v in obj.items() if k == "namespace" and isinstance(v, str)), None)
    inner["namespace"] = inner.get("namespace") or old or "default"  # Tanka's defaults
    spec["spec"] = inner
    return spec


def _apply(
    entry: str, objects: list[Any], namespace: str, sources: Sources, loaded: Loaded
) -> None:
    """The objects an environment applies, in its namespace, located in their Jsonnet."""
    from gatekeeper.sources import jsonnet

    items = list(jsonnet.with_list_items(objects))
    for obj in items:
        _default_namespace(obj, namespace)
    made, problems = jsonnet.documents(entry, items, sources, f"tanka {entry}")
    loaded.documents.extend(made)
    loaded.problems.extend(problems)


def detect(path: str) -> bool:
    return is_tanka_entry(path)


_NAMES_ENVIRONMENT = lazy_re.compile(rb"""Environment['"]|tanka\.dev/""")


def is_entry(tree: Tree, path: str, data: bytes) -> bool:
    """Whether `tk apply` may take `path` as an inline environment: a main.jsonnet, or any
    other Jsonnet file of a project whose text names an Environment, or that imports one
    that does (`tk apply environments/prod.jsonnet` evaluates that file: red team s11);
    libraries are imported, not applied, and a vendored file is others' library."""
    if posixpath.basename(path) == ENTRYPOINT:
        return True
    if not is_tanka_entry(path) or "vendor" in path.split("/"):
        return False
    if _NAMES_ENVIRONMENT.search(data) is not None:
        return True
    base = posixpath.dirname(path) or "."
    project = root(tree, base) if path.endswith(".jsonnet") else None
    if project is None:
        return False
    from gatekeeper.sources import jsonnet

    for imported in jsonnet.Jsonnets(tree, []).imports([path], search_paths(base, project)):
        try:
            if _NAMES_ENVIRONMENT.search(tree.read(imported)) is not None:
                return True
        except OSError:
            continue
    return False


def load(path: str, data: bytes, context: LoadContext) -> Loaded:
    """The environments `path` (a main.jsonnet with no spec.json beside it, in a Tanka
    project) declares inline, as `tk apply` applies them: the `data` of each `kind:
    Environment` object of its output (`tk apply --name` picks one where there are several:
    each is judged). A main.jsonnet that yields no environment is no Tanka environment."""
    from gatekeeper.sources import jsonnet

    loaded = Loaded()
    tree = context.tree
    base = posixpath.dirname(path) or "."
    if not is_entry(tree, path, data):
        return loaded  # a library
    if tree.exists(_beside(base, SPEC)):
        # A static environment, judged through its spec.json; one that is no Environment
        # document to the scan is still one to tk (red team s26 trust20 j01).
        unmarked = _unmarked_spec(tree, base) if posixpath.basename(path) == ENTRYPOINT else None
        if unmarked is None:
            return loaded
        return _static(_beside(base, SPEC), unmarked, base, context)
    project = root(tree, base)
    if project is None:
        return loaded  # tk finds no project root: it evaluates nothing here
    # Said only where the file is plainly Tanka's: a jsonnet-bundler project's main.jsonnet
    # (kube-prometheus) is no environment, and its errors are not a deployer's.
    tanka = _TANKA_MARK in data or tree.exists(_beside(project, ROOT_MARKERS[0]))
    # Another file taken as an entry is said only when it yields environments or its own
    # text names one (one importing a library that builds environments may not).
    named = _NAMES_ENVIRONMENT.search(data) is not None
    if posixpath.basename(path) != ENTRYPOINT:
        tanka = tanka and named and not path.endswith(".libsonnet")
    if not jsonnet.available():
        if tanka:
            message = (
                f"tk apply evaluates {path} (an inline environment); the jsonnet package is not"
                " installed (gitops-policy-gate[jsonnet]), so it is not judged"
            )
            loaded.problems.append(Problem("GK-RENDERER-MISSING", path, 1, message))
        return loaded
    variables = _variables(context, base, _NO_SPEC)
    deployer = jsonnet.Deployer("tk apply", "the environment")
    limited = jsonnet.limits(context)
    search = search_paths(base, project)
    evaluated = jsonnet.run(path, search, variables, tree, {"tk": _TK}, deployer, limited)
    if evaluated.problem is not None or evaluated.sources is None:
        if evaluated.problem is not None:
            problem = _native(evaluated.problem, path, tree)
            # Said whatever the file looks like where tk would not fail as the scan did: a
            # limit stopped it, an import was refused (j06: an absolute path), or it calls a
            # native function tk provides (red team s26 trust20 j04: Tanka picks
            # environments by kind alone, which the text need not spell).
            if tanka or problem is not evaluated.problem or evaluated.ours:
                loaded.problems.append(problem)
        return loaded
    found: list[Any] = []
    stray = _extract(evaluated.output, (), found)
    environments = [obj for obj in jsonnet.with_list_items(found) if _is_inline(obj)]
    if stray is not None and (tanka or environments):
        message = (
            f"{path} yields {stray}, which is neither a Kubernetes object nor holds any: tk fails"
        )
        loaded.problems.append(Problem(jsonnet.RENDER_ERROR, path, 1, message))
        return loaded
    for environment in environments:
        objects: list[Any] = []
        data = environment.get("data")
        stray = _extract(data, ("data",), objects) if data is not None else None
        if stray is not None:
            message = (
                f"{path} yields an environment whose data holds {stray}, which is neither a"
                " Kubernetes object nor holds any: tk fails"
            )
            loaded.problems.append(Problem(jsonnet.RENDER_ERROR, path, 1, message))
            continue
        _apply(path, objects, _namespace(environment), evaluated.sources, loaded)
    return loaded


def _is_inline(obj: Any) -> bool:
    """Tanka picks environments out of the output by kind alone (`Environment/.*`)."""
    return isinstance(obj, dict) and obj.get("kind") == "Environment"


def _beside(folder: str, name: str) -> str:
    return posixpath.join(folder, name) if folder != "." else name


# Jsonnet's error for calling what `std.native` returned: null, it provides no such function
# (go-jsonnet's words, C++ Jsonnet's).
_NOT_A_FUNCTION = (
    "Unexpected type null, expected function",
    "only functions can be called, got null",
)
_RUNS_TOOLS = frozenset({"helmTemplate", "kustomizeBuild"})
_NATIVE = lazy_re.compile(r"""std\.native\(\s*['"]([A-Za-z]+)['"]\s*\)""")


def _native(problem: Problem, entry: str, tree: Tree) -> Problem:
    """Jsonnet's "only functions can be called, got null" where the failing file calls a
    Tanka native function (helmTemplate runs `helm template`, kustomizeBuild `kustomize
    build`, which are not run here), said in those words, at the same line."""
    if not any(words in problem.message for words in _NOT_A_FUNCTION):
        return problem
    try:
        text = tree.read(problem.file).decode("utf-8", "replace")
    except OSError:
        return problem
    names = sorted(set(_NATIVE.findall(text)))
    if not names:
        return problem
    message = (
        f"tk apply evaluates {entry} with Tanka's {', '.join(names)}, which runs a tool"
        " (helm template, kustomize build) that is not run here: the environment is not"
        " judged; judge the chart or kustomization it renders where it lives"
    )
    if not set(names) <= _RUNS_TOOLS:  # regexMatch, parseYaml, sha256...
        message = (
            f"tk apply evaluates {entry} with Tanka's native {', '.join(names)}, which"
            " gatekeeper does not provide: the environment is not judged"
        )
    if "vendor" in problem.file.split("/") and problem.file != entry:
        # A vendored library (tanka-util) nobody here edits: said at the environment's own
        # line that uses it, once per environment (grafana/helm-charts: three findings at one
        # vendored line).
        return Problem(problem.code, entry, _using_line(tree, entry, problem.file), message)
    return Problem(problem.code, problem.file, problem.line, message, problem.column)


def _using_line(tree: Tree, entry: str, library: str) -> int:
    """The first line of `entry` that calls a Tanka native wrapper (`helm.template`,
    `kustomize.build`), else the first that imports `library` (by its name), else 1."""
    try:
        lines = tree.read(entry).decode("utf-8", "replace").splitlines()
    except OSError:
        return 1
    name = posixpath.basename(library).rsplit(".", 1)[0]
    calls = [n for n, line in enumerate(lines, 1) if re.search(r"\.(template|build)\(", line)]
    imports = [n for n, line in enumerate(lines, 1) if "import" in line and name in line]
    return (calls or imports or [1])[0]


def _variables(context: LoadContext, base: str, spec: str) -> Variables:
    """What CI passes to `tk apply` for the environment at `base` (`sources.jsonnet.tanka`
    in .gatekeeper.yml), and the environment itself as `tanka.dev/environment`."""
    from gatekeeper.sources import jsonnet, jsonnet_sandbox

    chosen: dict[str, Any] = {}
    for entry in context.options_for(jsonnet.NAME).get("tanka", []):
        path = posixpath.normpath(str(entry.get("path", "")).strip("/").removesuffix(SPEC))
        if path == base:
            chosen = entry
    strings = {key: dict(chosen.get(key) or {}) for key in ("extVars", "extCode", "tlaVars")}
    return jsonnet_sandbox.Variables(
        ext_vars=strings["extVars"],
        ext_codes={**strings["extCode"], _ENVIRONMENT: spec},
        tla_vars=strings["tlaVars"],
        tla_codes=dict(chosen.get("tlaCode") or {}),
    )


def _extract(value: Any, path: tuple[str, ...], found: list[Any]) -> str | None:
    """Tanka's walk: an object with apiVersion and kind is a manifest, any other object or
    list is walked (a null field skipped); a scalar on the way fails (its path returned)."""
    if isinstance(value, dict):
        if isinstance(value.get("apiVersion"), str) and isinstance(value.get("kind"), str):
            found.append(value)
            return None
        for key in sorted(value):
            if value[key] is not None and key != "__ksonnet":
                stray = _extract(value[key], (*path, key), found)
                if stray is not None:
                    return stray
        return None
    if isinstance(value, list):
        for index, item in enumerate(value):
            stray = _extract(item, (*path, f"[{index}]"), found)
            if stray is not None:
                return stray
        return None
    return f"a {type(value).__name__} at .{'.'.join(path)}"


def _namespace(obj: dict[str, Any]) -> str:
    spec = obj.get("spec")
    namespace = spec.get("namespace") if isinstance(spec, dict) else None
    return namespace if isinstance(namespace, str) else ""


def _default_namespace(obj: Any, namespace: str) -> None:
    """Tanka sets the environment's namespace on namespaced objects that have none (a
    `tanka.dev/namespaced` annotation decides for kinds it does not know)."""
    if not namespace or not isinstance(obj, dict):
        return
    metadata = obj.setdefault("metadata", {})
    if not isinstance(metadata, dict) or metadata.get("namespace"):
        return
    annotations = metadata.get("annotations")
    marked = annotations.get(_NAMESPACED) if isinstance(annotations, dict) else None
    namespaced = marked == "true" if marked is not None else obj.get("kind") not in _CLUSTER_WIDE
    if namespaced:
        metadata["namespace"] = namespace


def feeds(context: LoadContext) -> Iterator[tuple[str, str]]:
    """Dependency edges (see depgraph): an environment's spec.json reads its folder, its
    import paths and, followed statically, what its main.jsonnet imports."""
    from gatekeeper.depgraph import directory_input
    from gatekeeper.sources import jsonnet
    from gatekeeper.yamldoc import decode

    tree = context.tree
    every = tree.list_dir(".")
    specs = {f for f in every if posixpath.basename(f) == SPEC}
    # An inline environment's reader is its own file (no spec.json beside it).
    # So is a main.jsonnet beside a spec.json that tk reads and the scan does not expand.
    inline = [f for f in every if detect(f) and _reads_itself(tree, f, specs)]
    if not specs and not inline:
        return
    files = jsonnet.Jsonnets(tree, [])
    for file in sorted(specs) + inline:
        if file in specs:
            try:
                obj = json.loads(decode(tree.read(file)))
            except (OSError, ValueError):
                continue
            if not is_environment(obj):
                continue
        base = posixpath.dirname(file) or "."
        project = root(tree, base)
        if project is None:
            continue
        search = search_paths(base, project)
        for folder in search:
            yield file, directory_input(folder)
        for marker in ROOT_MARKERS:
            yield file, _beside(project, marker)
        entry = _beside(base, ENTRYPOINT) if file in specs else file
        if file not in specs and _beside(base, SPEC) in specs:
            yield file, _beside(base, SPEC)
        for imported in files.imports([entry], search):
            yield file, imported


def _reads_itself(tree: Tree, path: str, specs: set[str]) -> bool:
    """Is the Jsonnet file `path` the file whose load yields what tk applies from it: an
    inline entry, or a main.jsonnet beside an unmarked spec.json (_unmarked_spec)?"""
    base = posixpath.dirname(path) or "."
    if _beside(base, SPEC) not in specs:
        return _inline_entry(tree, path)
    return posixpath.basename(path) == ENTRYPOINT and _unmarked_spec(tree, base) is not None


def _inline_entry(tree: Tree, path: str) -> bool:
    """A main.jsonnet, or another Jsonnet file of a Tanka project naming an Environment."""
    if posixpath.basename(path) == ENTRYPOINT:
        return True
    if root(tree, posixpath.dirname(path) or ".") is None:
        return False
    try:
        return is_entry(tree, path, tree.read(path))
    except OSError:
        return False


def staged(paths: list[str], context: LoadContext) -> list[str]:
    """For the hook: the files, other than `paths`, that declare a Tanka environment reading
    one of them (a spec.json, an inline environment's main.jsonnet), so that a commit of a
    main.jsonnet or a library is judged as what tk applies (red team s26 trust20 j02: the
    hook judged nothing). The tree's environments are read only when a staged Jsonnet or
    JSON file is in a Tanka project (a commit of YAML or code costs the hook nothing)."""
    from gatekeeper.depgraph import Graph

    tree = context.tree
    jsonnet = [path for path in paths if path.endswith((".jsonnet", ".libsonnet", ".json"))]
    if not any(root(tree, posixpath.dirname(path) or ".") is not None for path in jsonnet):
        return []
    graph = Graph()
    for reader, needs in feeds(context):
        graph.add(reader, needs)
    return [file for file in graph.affected(paths) if file not in paths]
