"""Jsonnet that Argo CD evaluates: the objects a directory source's `*.jsonnet` files yield.

Argo CD's repo server evaluates every `*.jsonnet` file of a directory source (go-jsonnet,
`directory.jsonnet`: `extVars` and `tlas`, each a string or `code: true`, and `libs`, library
paths relative to the repository; the Application's own path is searched last) and applies
what each yields: an object, a list of objects, or a `kind: List`. One file that does not
evaluate fails the whole Application: nothing of it is deployed. Those objects are judged as
manifests; each is located in the Jsonnet that made it (see JsonnetLocator).

Evaluation runs in a limited child process (jsonnet_sandbox); its imports are read here,
through the tree, only inside the repository.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import math
import posixpath
import re
from collections.abc import Iterator
from typing import Any, NamedTuple

from gatekeeper import lazy_re
from gatekeeper.document import Document, Loaded, Problem
from gatekeeper.sources import LoadContext, jsonnet_sandbox
from gatekeeper.sources.jsonnet_locate import JsonnetLocator, Sources
from gatekeeper.tree import OutsideLink, Tree, inside

EXTENSION = ".jsonnet"
LIBRARY_EXTENSION = ".libsonnet"
RENDER_ERROR = "GK-RENDER-ERROR"
NAME = "jsonnet"  # its options in .gatekeeper.yml: `sources.jsonnet`
LIMITS = jsonnet_sandbox.Limits()
# Argo CD's build environment, substituted into extVars and tlas (`$ARGOCD_APP_NAME`).
_ENV_NAME = lazy_re.compile(
    r"\$(?:\{(?P<braced>[^}]*)\}|(?P<name>[A-Za-z0-9_]+)|(?P<special>[*#$@!?\-]))"
)


def limits(context: LoadContext) -> jsonnet_sandbox.Limits:
    """`renderTimeoutSeconds` (CPU time; twice that in wall time, the machine may be busy)
    and `renderMemoryMiB` of `sources.jsonnet`; LIMITS where they are not set."""
    options = context.options_for(NAME)
    seconds = options.get("renderTimeoutSeconds")
    memory = options.get("renderMemoryMiB")
    if seconds is None and memory is None:
        return LIMITS
    cpu = math.ceil(float(seconds)) if seconds is not None else LIMITS.cpu_seconds
    return dataclasses.replace(
        LIMITS,
        cpu_seconds=cpu,
        wall_seconds=2 * cpu,
        memory_bytes=int(memory) << 20 if memory is not None else LIMITS.memory_bytes,
    )


def available() -> bool:
    """Is an evaluator installed (the [jsonnet] extra: gojsonnet or jsonnet)?"""
    return any(importlib.util.find_spec(name) is not None for name in jsonnet_sandbox.ENGINES)


class Settings(NamedTuple):
    """An Application source's `directory.jsonnet`, with Argo CD's variables substituted."""

    variables: jsonnet_sandbox.Variables
    libs: tuple[str, ...]  # repository paths, searched last to first
    described: str  # `extVar env=prod, tla replicas=3` for the location note
    problems: list[Problem]


def settings(options: Any, locate: Any, environment: dict[str, str]) -> Settings:
    """`directory.jsonnet` read as Argo CD reads it. `locate(key_path)` places a field (in
    the Application or the override file that set it); `environment` is Argo CD's build
    environment. A malformed entry is a problem where it is written."""
    problems: list[Problem] = []
    options = options if isinstance(options, dict) else {}

    def problem(key: tuple[str | int, ...], message: str) -> None:
        location = locate(key)
        problems.append(Problem("GK-PARSE-ERROR", location.file, location.line, message))

    found: dict[str, dict[str, str]] = {
        "ext_vars": {},
        "ext_codes": {},
        "tla_vars": {},
        "tla_codes": {},
    }
    described: list[str] = []
    for key, kind in (("extVars", "ext"), ("tlas", "tla")):
        entries = options.get(key)
        if entries is None:
            continue
        if not isinstance(entries, list):
            problem((key,), f"directory.jsonnet.{key} must be a list")
            continue
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                problem((key, index), f"directory.jsonnet.{key} entry needs a name")
                continue
            value = substitute(str(entry.get("value") or ""), environment)
            code = entry.get("code") is True
            found[f"{kind}_{'codes' if code else 'vars'}"][entry["name"]] = value
            label = "extVar" if kind == "ext" else "tla"
            described.append(f"{label}{' code' if code else ''} {entry['name']}={value}")
    libs: list[str] = []
    listed = options.get("libs")
    if listed is not None and not isinstance(listed, list):
        problem(("libs",), "directory.jsonnet.libs must be a list")
        listed = []
    for index, lib in enumerate(listed or []):
        # Relative to the repository root, a leading slash too (Argo CD's resolver).
        normal = inside(str(lib).strip().lstrip("/") or ".")
        if normal is None:
            location = locate(("libs", index))
            message = f"Jsonnet library path {lib} is outside the repository; not read"
            problems.append(Problem(RENDER_ERROR, location.file, location.line, message))
            continue
        libs.append(normal)
    variables = jsonnet_sandbox.Variables(**found)
    return Settings(variables, tuple(libs), ", ".join(described), problems)


def substitute(text: str, environment: dict[str, str]) -> str:
    """Go's os.Expand as Argo CD's Env.Envsubst uses it: `$NAME`, `${NAME}`, `$$` is `$`,
    an unknown name is empty."""

    def replace(match: re.Match[str]) -> str:
        name = match["braced"] if match["braced"] is not None else match["name"] or ""
        if match["special"] is not None:
            return "$" if match["special"] == "$" else environment.get(match["special"], "")
        return environment.get(name, "")

    return _ENV_NAME.sub(replace, text)


def evaluate_files(files: list[str], path: str, chosen: Settings, context: LoadContext) -> Loaded:
    """The objects the Jsonnet `files` of the directory source at `path` yield. Any file
    that does not evaluate to objects fails the Application: nothing is deployed then."""
    loaded = Loaded()
    loaded.problems.extend(chosen.problems)
    if any(p.code == RENDER_ERROR for p in chosen.problems):
        return loaded
    made: list[Document] = []
    for file in files:
        documents, problems = _evaluate(file, path, chosen, context)
        made.extend(documents)
        loaded.problems.extend(problems)
    if any(p.code == RENDER_ERROR for p in loaded.problems):
        return loaded  # Argo CD stops at the first file that fails: nothing is applied
    loaded.documents.extend(made)
    return loaded


class Evaluated(NamedTuple):
    """A Jsonnet file's output (parsed JSON), the files it read, or why there is none."""

    output: Any
    sources: Sources | None
    problem: Problem | None
    # The failure is the scan's, not Jsonnet's: a limit stopped it, or an import was refused
    # (an absolute path, a way out of the repository): the deployer may well evaluate it.
    ours: bool = False


class Deployer(NamedTuple):
    """Who evaluates the Jsonnet, for messages: `Argo CD` and `the Application`."""

    tool: str
    what: str


ARGO_CD = Deployer("Argo CD", "the Application")


def run(
    file: str,
    search: list[str],
    variables: jsonnet_sandbox.Variables,
    tree: Tree,
    builtin: dict[str, bytes] | None = None,
    deployer: Deployer = ARGO_CD,
    limited: jsonnet_sandbox.Limits | None = None,
) -> Evaluated:
    """Evaluate `file` with the library paths `search` (searched last to first) and
    `builtin` imports (a tool's own library, such as Tanka's `tk`)."""
    from gatekeeper.yamldoc import check_bytes, decode

    try:
        data = tree.read(file)
    except OSError as error:
        message = f"{file}: {error.strerror or error}"
        return Evaluated(None, None, Problem("GK-READ-ERROR", file, 1, message))
    problem = check_bytes(file, data)
    if problem is not None:
        return Evaluated(None, None, problem)
    resolve = resolver(tree, search, builtin or {})
    result = jsonnet_sandbox.evaluate(file, decode(data), resolve, variables, limited or LIMITS)
    if result.output is None:
        ours = bool(result.refused) or jsonnet_sandbox.stopped(result.error)
        return Evaluated(None, None, _failure(file, result, deployer, search, tree), ours)
    try:
        output = json.loads(result.output)
    except ValueError:  # Jsonnet prints JSON; a limit cut it short
        return Evaluated(None, None, Problem(RENDER_ERROR, file, 1, f"{file} did not yield JSON"))
    return Evaluated(output, Sources(tree, [file, *result.imported]), None)


def _evaluate(
    file: str, path: str, chosen: Settings, context: LoadContext
) -> tuple[list[Document], list[Problem]]:
    search = [path, *chosen.libs]
    evaluated = run(file, search, chosen.variables, context.tree, limited=limits(context))
    if evaluated.problem is not None or evaluated.sources is None:
        return [], [p for p in [evaluated.problem] if p is not None]
    output = evaluated.output
    if isinstance(output, list):
        if not all(isinstance(item, dict) for item in output):
            message = f"{file} yields a list with an element that is not an object"
            return [], [Problem(RENDER_ERROR, file, 1, message)]
        objects = output
    elif isinstance(output, dict):
        objects = [output]
    else:
        message = f"{file} yields {type(output).__name__}, not an object or list of objects"
        return [], [Problem(RENDER_ERROR, file, 1, message)]
    note = f"jsonnet {file}" + (f" with {chosen.described}" if chosen.described else "")
    return documents(file, list(with_list_items(objects)), evaluated.sources, note)


def documents(
    file: str, objects: list[Any], sources: Sources, note: str
) -> tuple[list[Document], list[Problem]]:
    """The Kubernetes objects a Jsonnet `file` yields, each located in its sources; what
    is not an object is a problem."""
    from gatekeeper.sources.kubernetes import is_object, make_document

    made: list[Document] = []
    problems: list[Problem] = []
    for index, obj in enumerate(objects):
        if not is_object(obj):
            held = obj if isinstance(obj, dict) else {}
            missing = [key for key in ("apiVersion", "kind") if key not in held]
            message = f"{file} yields an object that is not a Kubernetes object"
            message += f" (missing {', '.join(missing)})"
            problems.append(Problem("GK-NOT-AN-OBJECT", file, 1, message))
            continue
        made.append(make_document(file, obj, JsonnetLocator(obj, sources, note), index))
    return made, problems


def with_list_items(objects: list[dict[str, Any]]) -> Iterator[Any]:
    """A `kind: List` (or `FooList` with items) is applied as its items, and a List among
    them as its own (kubectl flattens Lists to any depth)."""
    stack: list[Iterator[Any]] = [iter(objects)]
    while stack:
        obj = next(stack[-1], _DONE)
        if obj is _DONE:
            stack.pop()
        elif isinstance(obj, dict) and _is_list(obj):
            stack.append(iter(obj["items"]))
        else:
            yield obj


_DONE = object()


def _is_list(obj: dict[str, Any]) -> bool:
    return str(obj.get("kind", "")).endswith("List") and isinstance(obj.get("items"), list)


def resolver(tree: Tree, search: list[str], builtin: dict[str, bytes]) -> jsonnet_sandbox.Resolver:
    """Imports as go-jsonnet's FileImporter resolves them for Argo CD and Tanka: a
    `builtin` name, else beside the importing file, then in the library paths last to first
    (`search`: for Argo CD the Application's path, then its libs). Read only through the
    tree, only inside the repository: an absolute path, a `..` out of the repository or a
    symbolic link out of it is refused, never read."""

    def resolve(directory: str, imported: str) -> tuple[str, bytes]:
        if imported in builtin:
            return f"<{imported}>", builtin[imported]
        if imported.startswith("/"):
            raise jsonnet_sandbox.Refused(f"import {imported}: absolute path; not read")
        for base in [directory, *reversed(search)]:
            candidate = inside(posixpath.join(base, imported))
            if candidate is None:
                message = f"import {imported} from {base.rstrip('/') or '.'} leaves the repository"
                raise jsonnet_sandbox.Refused(message + "; not read")
            try:
                return candidate, tree.read(candidate)
            except OutsideLink:
                message = f"import {candidate}: symbolic link leads outside the repository"
                raise jsonnet_sandbox.Refused(message + "; not read") from None
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                continue
            except OSError as error:
                message = f"import {candidate}: {error.strerror or error}; not read"
                raise jsonnet_sandbox.Refused(message) from None
        raise FileNotFoundError(imported)

    return resolve


# `file:3:5` or `file:(3:5)-(4:2)` in a Jsonnet error or stack trace.
_AT = lazy_re.compile(
    r"(?m)^\s*(?:(?:STATIC|RUNTIME) ERROR: )?(?P<file>[^\s:()][^:\n]*):\(?(?P<line>\d+):"
)


def _failure(
    file: str, result: jsonnet_sandbox.Result, deployer: Deployer, search: list[str], tree: Tree
) -> Problem:
    """The evaluation's failure at the line Jsonnet reports, in the evaluated file or one it
    imports (the first such frame); else at the file's first line. An import not found in
    a library path that is not in the repository (an uncommitted vendor/) says so."""
    text = result.error.strip()
    if result.refused:
        text = result.refused[0]
    # Not a builtin library served as `<tk>` (resolver), which go-jsonnet names in its trace.
    known = {file, *(name for name in result.imported if not name.startswith("<"))}
    frames = (m for m in _AT.finditer(result.error) if m["file"] in known)
    found = next(((m["file"], int(m["line"])) for m in frames), None)
    if found is None and result.unread:  # an importstr/importbin not served has no frame
        found = _import_line(tree, sorted(known), *result.unread[0])
    where, line = found or (file, 1)
    first = text.splitlines()[0] if text else "no result"
    message = f"{deployer.tool} cannot evaluate {file}, so {deployer.what} deploys nothing: {first}"
    absent = [p for p in search if not tree.list_dir(p)]
    if "couldn't open import" in first and absent:
        message += (
            f" (library path {absent[0]} is not in the repository: commit the"
            " dependencies, e.g. `jb install`, or install them in CI before gatekeeper;"
            " gatekeeper never downloads them)"
        )
    return Problem(RENDER_ERROR, where, line, message)


# `import 'x'`, `importstr "x"`, `importbin @'x'`: Jsonnet imports only string literals.
_IMPORT = lazy_re.compile(
    r"\bimport(?:str|bin)?\s*@?(?P<quote>['\"])(?P<path>(?:\\.|(?!(?P=quote)).)*)(?P=quote)"
)


def _import_line(tree: Tree, files: list[str], directory: str, path: str) -> tuple[str, int] | None:
    """The first line of `files` in `directory` (the importing file's folder, as Jsonnet
    gives it) that imports `path`, else None."""
    for name in files:
        if posixpath.dirname(name) != directory.rstrip("/"):
            continue
        try:
            text = tree.read(name).decode("utf-8", "replace")
        except OSError:
            continue
        for match in _IMPORT.finditer(text):
            if match["path"] == path:
                return name, text.count("\n", 0, match.start()) + 1
    return None


class Jsonnets:
    """The tree's `*.jsonnet` files, listed once, for the dependency graph (see inputs)."""

    def __init__(self, tree: Tree, files: list[str]) -> None:
        self.tree = tree
        self.files = files

    def inputs(self, path: str, options: Any) -> Iterator[str]:
        """What the Jsonnet of an Argo CD directory source at `path` may read beyond
        `path`: each library path as a directory, and what its `*.jsonnet` import."""
        from gatekeeper.depgraph import directory_input

        libs: list[str] = []
        listed = options.get("libs") if isinstance(options, dict) else None
        for lib in listed if isinstance(listed, list) else []:
            normal = inside(str(lib).strip().lstrip("/") or ".")
            if normal is not None:
                libs.append(normal)
                yield directory_input(normal)
        below = directory_input(path)
        yield from self.imports([f for f in self.files if f.startswith(below)], [path, *libs])

    def imports(self, files: list[str], search: list[str]) -> Iterator[str]:
        """Every file `files` import, as written, then through what those import: followed
        statically (Jsonnet imports are literals), every candidate location that exists
        (beside the importing file, then in the library paths `search`)."""
        queue = list(files)
        seen = set(queue)
        while queue:
            file = queue.pop()
            try:
                text = self.tree.read(file).decode("utf-8", "replace")
            except OSError:
                continue
            for match in _IMPORT.finditer(text):
                imported = match["path"]
                if imported.startswith("/"):
                    continue
                for base in [posixpath.dirname(file), *reversed(search)]:
                    candidate = inside(posixpath.join(base, imported))
                    if candidate is None or not self.tree.exists(candidate):
                        continue
                    yield candidate
                    if candidate not in seen:
                        seen.add(candidate)
                        queue.append(candidate)
