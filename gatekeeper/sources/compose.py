"""Docker Compose files (compose.yaml, docker-compose*.yml).

The document is the file as written (kind `Compose`, name = the file path), with one field
added per service: `environment_vars`, the `environment:` entries as [{name, value}] whether
written as a list (`- A=b`) or a mapping (`A: b`); a value is null when passed through from
the host (`- A`). Each entry is located at its own line. And `host_paths`: the host directories
its volumes bind, as [{service, source, written}] with `source` normalised, each located at
the line of its volume, and `home`, the path inside a user's home folder a bind mount
reaches (`~/.ssh`, `$HOME/.kube`, `/home/deploy/.aws`: `.ssh`, `.kube`, `.aws`).

What Compose itself merges is judged merged: a service's `extends:` (in the same file or
another) brings the base service's fields, located in the file that wrote them, and the files
of `include:` are judged with their own lines (those named like compose files are scanned on
their own anyway). A file is read as Compose reads it: every `---` document a layer merged
over the ones before (compose-go's loadYamlFile), an `extends` base of another file too.

The Dockerfile a service builds (`build: {context, dockerfile}`) under a name that is not a
Dockerfile's (`docker/prod`, `app/evil.build`) is judged here, as the compose file builds it:
nothing else would, and `docker compose up --build` runs it.
"""

from __future__ import annotations

import dataclasses
import posixpath
import re
from collections.abc import Iterator
from typing import Any

from gatekeeper import lazy_re, ownership
from gatekeeper.document import Document, Loaded, Problem
from gatekeeper.fieldpath import Path, format_path
from gatekeeper.linemap import LineMapLocator
from gatekeeper.sources import LoadContext, compose_env
from gatekeeper.sources.names import COMPOSE_DEFAULT_NAMES, is_compose_file
from gatekeeper.tree import Tree, inside
from gatekeeper.yamldoc import (
    NodeLocator,
    YamlDocument,
    duplicate_key_problems,
    read_documents,
)

NAME = "compose"
KIND = "Compose"
_DEFAULT_NAMES = COMPOSE_DEFAULT_NAMES
MAX_DEPTH = 5  # extends and include followed this deep


def detect(path: str) -> bool:
    return is_compose_file(path)


def owners(path: str, context: LoadContext) -> list[str]:
    """The compose files beside or above `path` (by their default names) that may include it,
    extend a service of it or build it as a Dockerfile not named like one: they judge it. A
    `.env`'s are the compose files of its folder, which it fills, and those its COMPOSE_FILE
    names (its hook judged nothing: red team s21 trust14 c06)."""
    from gatekeeper.sources.names import is_dockerfile

    if detect(path) or is_dockerfile(path):
        return []
    index = ownership.of(context.tree)
    if posixpath.basename(path) == ".env":  # its project's variables, its COMPOSE_FILE
        folder = posixpath.dirname(path)
        beside = index.files_above(folder, _DEFAULT_NAMES)
        named = compose_env.run_otherwise(context.tree)
        return [
            *(file for file in beside if posixpath.dirname(file) == folder),
            *(file for file, by in named.items() if by == path),
        ]
    name = posixpath.basename(path).encode()
    return [
        file
        for file in index.files_above(posixpath.dirname(path), _DEFAULT_NAMES)
        if name in (index.remember("compose text", file, _read) or b"")
    ]


def feeds(context: LoadContext) -> Iterator[tuple[str, str]]:
    """Dependency edges (see depgraph): a compose file reads the files it includes (and their
    `env_file:`), the files its services extend, its services' `env_file:` files, and the
    Dockerfiles not named like one that it builds (judged only here): a pull request
    changing only `docker/prod` judges the compose file again."""
    from gatekeeper.sources.names import is_dockerfile

    tree = context.tree
    others = compose_env.run_otherwise(tree)  # run under other names: what makes them run
    yield from ((file, by) for file, by in others.items())
    composes = [file for file in tree.list_dir(".") if detect(file)] + sorted(others)
    env_files = compose_env.ci_env_files(tree) if composes else {}
    for path in composes:
        data = _read(tree, path)
        entries = read_layers(path, data)[0] if data is not None else []
        folder = posixpath.dirname(path)
        dotenv = posixpath.join(folder, ".env") if folder else ".env"
        if tree.exists(dotenv):  # its `${VAR}` values (compose_env)
            yield path, dotenv
        for where, _, _ in env_files.get(path, []):  # the workflow that gives it its values
            yield path, where.rpartition(":")[0]
        for entry in entries:
            included = entry.obj.get("include")
            for item in included if isinstance(included, list) else []:
                paths = item.get("path") if isinstance(item, dict) else item
                listed = item.get("env_file") if isinstance(item, dict) else None
                env = [listed] if isinstance(listed, str) else listed  # the include's values
                files = paths if isinstance(paths, list) else [paths]
                for file in [*files, *(env if isinstance(env, list) else [])]:
                    target = inside(posixpath.join(folder, file)) if isinstance(file, str) else None
                    if target is not None:
                        yield path, target
            services = entry.obj.get("services")
            for service in services.values() if isinstance(services, dict) else ():
                if not isinstance(service, dict):
                    continue
                extends = service.get("extends")
                base = extends.get("file") if isinstance(extends, dict) else None
                target = inside(posixpath.join(folder, base)) if isinstance(base, str) else None
                if target is not None:
                    yield path, target
                built = built_dockerfile(path, service.get("build"))
                if built is not None and not is_dockerfile(built):
                    yield path, built
                listed = service.get("env_file")  # its environment (_env_file_vars)
                for given in listed if isinstance(listed, list) else [listed]:
                    file = given.get("path") if isinstance(given, dict) else given
                    target = inside(posixpath.join(folder, file)) if isinstance(file, str) else None
                    if target is not None:
                        yield path, target


def load(
    path: str,
    data: bytes,
    context: LoadContext | None = None,
    depth: int = 0,
    included: compose_env.Env | None = None,
) -> Loaded:
    """`included`: the variables an including file's `include:` entry interpolates `path`
    with (its `env_file:` under the including project's own, see _include); else those of
    its own project."""
    entries, problems = read_layers(path, data)
    loaded = Loaded(problems=problems)
    origins: list[dict[Path, list[str]]] = [{} for _ in entries]
    if context is not None and context.tree is not None:  # `${VAR}` as Compose fills it
        env, computed = (
            _project_env(context.tree, path) if included is None else (included, frozenset())
        )
        if env or computed:
            origins = [_origins(entry.obj, env) for entry in entries]
            entries = [_filled(entry, env, computed) for entry in entries]
    locators = [
        _load_layer(path, data, entry, index, context, depth, loaded, filled)
        for index, (entry, filled) in enumerate(zip(entries, origins, strict=True))
    ]
    if context is not None and context.tree is not None:
        layers = [(entry.obj, locator) for entry, locator in zip(entries, locators, strict=True)]
        _named_dockerfiles(path, layers, context, loaded)
    return loaded


def _project_env(tree: Tree, path: str) -> tuple[compose_env.Env, frozenset[str]]:
    """The variables Compose interpolates the project of `path` with: its `.env`, under what
    CI runs it with (its --env-file, its env:), and the names CI computes."""
    env = compose_env.project_env(tree, path)
    computed: frozenset[str] = frozenset()
    for _, given, names in compose_env.ci_env_files(tree).get(path, []):
        env.over(given)  # what CI deploys with (its --env-file, its env:) wins
        computed = names
    return env, computed


def _origins(obj: dict[str, Any], env: compose_env.Env) -> dict[Path, list[str]]:
    """Per path of a layer as written, where the values `env` fills it with are written
    (`.env:2`), for those `env` knows."""
    return {
        path: known
        for path, names in compose_env.filled_names(obj, env).items()
        if (known := [env.origins[name] for name in names if name in env.origins])
    }


def _filled(entry: YamlDocument, env: dict[str, str], computed: frozenset[str]) -> YamlDocument:
    """A layer with the `${VAR}` that `env` sets filled in (a copy: the layer is kept)."""
    return dataclasses.replace(entry, obj=compose_env.interpolated(entry.obj, env, "", computed))


def read_layers(path: str, data: bytes) -> tuple[list[YamlDocument], list[Problem]]:
    """The documents of a compose file that say something, each a layer Compose merges
    over the ones before (compose-go's multi-document files): a second document's
    privileged service was never judged, as only the first was read. A file with no layer
    is an error where Compose reads it alone ("empty compose file": compose.yaml and the
    other default names), not as one of the files it merges (opentelemetry-demo's
    compose.extras.yaml, comments alone, the seam its forks fill, given last with `-f`;
    docker-compose.override.yml): nothing in it is deployed or could hide."""
    _, documents, problems = read_documents(path, data)
    entries: list[YamlDocument] = []
    for document in documents:
        if document.obj is None:
            continue  # an empty document (`---` alone, a trailing separator): no layer
        problems.extend(duplicate_key_problems(path, document))
        if not isinstance(document.obj, dict):
            line = document.node.start_mark.line + 1
            problems.append(Problem("GK-PARSE-ERROR", path, line, "compose file is not a mapping"))
            continue
        entries.append(document)
    if not entries and not problems and posixpath.basename(path).lower() in _DEFAULT_NAMES:
        problems.append(Problem("GK-PARSE-ERROR", path, 1, "compose file is empty"))
    return entries, problems


def _load_layer(
    path: str,
    data: bytes,
    entry: YamlDocument,
    index: int,
    context: LoadContext | None,
    depth: int,
    loaded: Loaded,
    origins: dict[Path, list[str]] | None = None,
) -> LineMapLocator:
    """One layer judged; `origins`: where the values its `${VAR}` were filled with are
    written (a `.env` line), per path as written."""
    obj: dict[str, Any] = entry.obj
    nodes = NodeLocator(path, entry.node)
    locator = LineMapLocator(path, fallback=nodes)
    tree = context.tree if context is not None else None
    services = obj.get("services")
    if services is not None and not isinstance(services, dict):
        loaded.problems.append(_invalid(path, nodes, ("services",), "must be a mapping"))
        obj["services"] = {}
    services = obj.get("services") or {}
    written = dict(services)  # as written: a base in this file is merged from its own text
    for name, service in list(services.items()):
        if isinstance(service, dict) and "extends" in service and tree is not None:
            services[name] = _extended(path, written, nodes, str(name), tree, locator, loaded)
    for name, service in list(services.items()):
        if not isinstance(service, dict):
            loaded.problems.append(
                _invalid(path, nodes, ("services", str(name)), "must be a mapping")
            )
            services[name] = {}
            continue
        image = service.get("image")
        if isinstance(image, (dict, list)):
            where = ("services", str(name), "image")
            loaded.problems.append(_invalid(path, nodes, where, "must be a string"))
            del service["image"]
        elif "image" in service and not isinstance(image, str):
            service["image"] = "" if image is None else str(image)
        environment = service.get("environment")
        if environment is not None and not isinstance(environment, (dict, list)):
            where = ("services", str(name), "environment")
            loaded.problems.append(_invalid(path, nodes, where, "must be a mapping or a list"))
        service["environment_vars"] = _environment(environment)
        own = isinstance(written.get(name), dict) and "extends" not in written[name]
        for index, var in enumerate(service["environment_vars"]):
            key: Path = ("services", str(name), "environment", var.pop("_key"))
            line = nodes.locate(key).line
            at: Path = ("services", str(name), "environment_vars", index)
            given = (origins or {}).get(key, []) if own else []
            if given:  # filled from a `.env`: said, and placed where the value is written
                var["filled_from"] = ", ".join(given)
                var["written_at"] = f"{path}:{line}"
            if len(given) == 1:
                file, _, number = given[0].rpartition(":")
                locator.add(at, int(number), file=file)
            else:
                locator.add(at, line)
        if tree is not None and "env_file" in service:
            _env_file_vars(path, str(name), service, nodes, tree, locator)
        service["host_paths"] = [
            *_host_paths(str(name), service.get("volumes"), obj.get("volumes"), path),
            *_file_mounts(str(name), service, obj, path),
        ]
        for index, mount in enumerate(service["host_paths"]):
            volume: Path = ("services", str(name), *mount.pop("_key"))
            locator.add(("services", str(name), "host_paths", index), nodes.locate(volume).line)
    loaded.documents.append(
        Document(
            source=NAME, file=path, obj=obj, locator=locator, index=index, kind=KIND, name=path
        )
    )
    for name, service in services.items():
        build = service.get("build") if isinstance(service, dict) else None
        if isinstance(build, dict) and isinstance(build.get("dockerfile_inline"), str):
            _inline_dockerfile(path, data, str(name), build["dockerfile_inline"], nodes, loaded)
    if tree is not None and depth < MAX_DEPTH:
        _include(path, obj, nodes, tree, loaded, context, depth)
    return locator


def _named_dockerfiles(
    path: str,
    layers: list[tuple[dict[str, Any], LineMapLocator]],
    context: LoadContext,
    loaded: Loaded,
) -> None:
    """Judge the Dockerfiles the services build (their `build` merged over every layer) whose
    names are not a Dockerfile's: `dockerfile: docker/prod` is built and run by Compose but
    scanned by no adapter, so its USER root and curl | sh passed green. Each is judged once
    per compose file, with its own lines (and its build-arg variants, dockerfile.load)."""
    from gatekeeper.sources import dockerfile
    from gatekeeper.sources.names import is_dockerfile

    builds: dict[str, Any] = {}
    written_in: dict[str, str] = {}  # the file whose `build` the service has (extends)
    for obj, locator in layers:
        services = obj.get("services")
        for name, service in services.items() if isinstance(services, dict) else ():
            if isinstance(service, dict) and "build" in service:
                build = service["build"]
                build = {"context": build} if isinstance(build, str) else build
                builds[str(name)] = merge_values(builds.get(str(name)), build)
                written_in[str(name)] = locator.files.get(("services", str(name), "build"), path)
    judged: set[str] = set()
    for name, build in builds.items():
        target = built_dockerfile(written_in[name], build)
        if target is None or target in judged or is_dockerfile(target):
            continue
        judged.add(target)
        data = _read(context.tree, target)
        if data is None:
            continue  # the build fails: nothing runs
        built = dockerfile.load(target, data, context)
        loaded.documents.extend(built.documents)
        loaded.problems.extend(built.problems)


def built_dockerfile(file: str, build: Any) -> str | None:
    """The repository path of the Dockerfile a service's `build` (written in `file`) builds:
    `dockerfile` relative to `context`, both relative to the compose file; None for an inline
    one, a remote context, or a value only the environment gives."""
    if isinstance(build, str):
        build = {"context": build}
    if not isinstance(build, dict) or "dockerfile_inline" in build:
        return None
    context = with_defaults(str(build.get("context") or "."))
    named = with_defaults(str(build.get("dockerfile") or "Dockerfile"))
    if "$" in context + named or "://" in context or context.startswith("git@"):
        return None
    if named.startswith("/"):
        return None  # a host path, not the repository's
    return inside(posixpath.join(posixpath.dirname(file), context, named))


def images(document: Document) -> list[tuple[str, Path]]:
    """Service images, for the inventory; images given by a variable are left out."""
    services = document.obj.get("services")
    return [
        (service["image"], ("services", str(name), "image"))
        for name, service in (services.items() if isinstance(services, dict) else ())
        if isinstance(service, dict)
        and isinstance(service.get("image"), str)
        and "$" not in service["image"]
    ]


def _invalid(path: str, nodes: NodeLocator, where: Path, what: str) -> Problem:
    line = nodes.locate(where).line
    return Problem(
        "GK-PARSE-ERROR", path, line, f"invalid compose file: {format_path(where)} {what}"
    )


def _env_file_vars(
    path: str,
    name: str,
    service: dict[str, Any],
    nodes: NodeLocator,
    tree: Tree,
    locator: LineMapLocator,
) -> None:
    """Add to `environment_vars` the variables of the service's `env_file:` files (a path, or
    a list of paths or `{path, required}`, relative to the compose file; later files win,
    `environment:` over them all), as Compose sets them in the container: `env_file: web.env`
    holding DB_PASSWORD=... was no secret in the environment (red team s22 trust15 c34). Each
    is located where the file writes it, and says which compose line reads the file."""
    listed = service.get("env_file")
    entries = listed if isinstance(listed, list) else [listed]
    given: dict[str, tuple[str, str, int]] = {}  # name -> value, where written, env_file index
    for index, entry in enumerate(entries):
        written = entry.get("path") if isinstance(entry, dict) else entry
        if not isinstance(written, str) or "$" in written:
            continue
        file = inside(posixpath.join(posixpath.dirname(path), written))
        if file is None or not tree.exists(file):
            continue
        try:
            env = compose_env.dotenv(tree.read(file).decode("utf-8", "replace"), file)
        except OSError:
            continue
        for variable, value in env.items():
            given[variable] = (value, env.origins.get(variable, f"{file}:1"), index)
    own = {var["name"] for var in service["environment_vars"]}
    for variable, (value, origin, index) in given.items():
        if variable in own:
            continue
        key: Path = ("services", name, "env_file", *([index] if isinstance(listed, list) else []))
        at: Path = ("services", name, "environment_vars", len(service["environment_vars"]))
        service["environment_vars"].append(
            {
                "name": variable,
                "value": value,
                "filled_from": origin,
                "written_at": f"{path}:{nodes.locate(key).line} (env_file)",
            }
        )
        file, _, number = origin.rpartition(":")
        locator.add(at, int(number), file=file)


def _environment(value: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            text = (
                None if item is None else str(item).lower() if isinstance(item, bool) else str(item)
            )
            found.append({"name": str(key), "value": text, "_key": str(key)})
    elif isinstance(value, list):
        for index, item in enumerate(value):
            name, equals, assigned = str(item).partition("=")
            found.append({"name": name, "value": assigned if equals else None, "_key": index})
    return found


_DEFAULTED = lazy_re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^{}]*)\}")
# The home folder of whoever runs Compose: `~` (compose-go expands it), `$HOME`, `${HOME}`.
_HOME = lazy_re.compile(r"^(?:~|\$HOME\b|\$\{HOME\})(?=/|$)")


def with_defaults(text: str) -> str:
    """`${VAR:-default}` and `${VAR-default}` read as their default: what Compose uses when
    the variable is not set (a value only the environment gives stays `$`); nested ones
    (`${A:-${B:-/var/run/docker.sock}}`) from the inside out."""
    while True:
        filled = _DEFAULTED.sub(lambda match: match.group(1), text)
        if filled == text:
            return text
        text = filled


def _host_paths(service: str, volumes: Any, named: Any, file: str) -> list[dict[str, Any]]:
    """The host directories a service's volumes bind: `/src:/dst[:ro]`, `{type: bind, source}`,
    and a named volume whose local driver binds a device path (`driver_opts: {o: bind,
    device: /}`). Absolute paths normalised (`//var/./run/` is `/var/run`), `${VAR:-default}`
    read as its default; a home folder (`~/.ssh`, `$HOME/.kube`) as `~/...`; a path below a
    variable only the environment gives (`$XDG_RUNTIME_DIR/docker.sock`) as written (red team
    s20 trust13 s05: these were read as relative paths). Relative ones stay in the project,
    unless they climb out of the repository (`file`'s folder is the project's): see _climbed."""
    found: list[dict[str, Any]] = []
    named = named if isinstance(named, dict) else {}
    for index, volume in enumerate(volumes if isinstance(volumes, list) else []):
        if isinstance(volume, str):
            written = with_defaults(volume)
            source = written.split(":", 1)[0] if ":" in written else ""
        elif isinstance(volume, dict):
            source = str(volume.get("source") or "")
        else:
            continue
        definition = named.get(source)
        if isinstance(definition, dict) and isinstance(definition.get("driver_opts"), dict):
            source = str(definition["driver_opts"].get("device") or "")
        source = with_defaults(source)
        if not source.startswith((".", "/", "~", "$")):
            continue  # a named volume
        mount = _mount(service, source, source, ("volumes", index), file)
        if mount:
            found.append(mount)
    return found


def _mount(service: str, source: str, written: str, key: Path, file: str) -> dict[str, Any]:
    """The host path `source` binds, normalised, as a `host_paths` entry ({} for one that
    stays in the repository)."""
    home = _HOME.match(source)
    if source.startswith("/"):
        normal = "/" + posixpath.normpath(source).lstrip("/")
    elif home:
        normal = _below_home(source[home.end() :])
    elif source.startswith("$"):
        normal = source
    else:
        normal = _climbed(file, source)
        if not normal:
            return {}
    mount = {"service": service, "source": normal, "written": written, "_key": key}
    inside = _HOMES.match(normal)
    if inside:  # `home`: the path inside a user's home folder ("" for the whole folder)
        mount["home"] = normal[inside.end() :].lstrip("/")
    return mount


def _climbed(file: str, source: str) -> str:
    """A relative host path that climbs out of the repository (`../../../../../../..`; the
    project folder is the compose file's), as the absolute path left once it reached `/`:
    how far the checkout sits below `/` is not known here, and Compose (filepath.Abs) stops
    at `/`, so enough `..` are the host root (red team s23 trust16 c04). "" when it stays in
    the repository."""
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(file), source))
    if joined != ".." and not joined.startswith("../"):
        return ""
    return "/" + "/".join(part for part in joined.split("/") if part != "..")


def _file_mounts(
    service: str, spec: dict[str, Any], obj: dict[str, Any], file: str
) -> list[dict[str, Any]]:
    """The host files a service's `secrets:` and `configs:` bind: Compose (outside Swarm)
    mounts a top-level secret's or config's `file:` into the container as a read-only bind
    mount, so `configs: {sock: {file: /var/run/docker.sock}}` hands it the Docker socket
    and `secrets: {s: {file: /etc/shadow}}` the host's password hashes (red team s23
    trust16 c04). Relative files stay in the project, unless they climb out (_climbed)."""
    found: list[dict[str, Any]] = []
    for kind in ("secrets", "configs"):
        defined = obj.get(kind)
        used = spec.get(kind)
        if not isinstance(defined, dict) or not isinstance(used, list):
            continue
        for index, entry in enumerate(used):
            name = entry.get("source") if isinstance(entry, dict) else entry
            definition = defined.get(name) if isinstance(name, str) else None
            given = definition.get("file") if isinstance(definition, dict) else None
            if not isinstance(given, str) or not given:
                continue
            written = f"{given} ({kind[:-1]} {name})"
            mount = _mount(service, with_defaults(given), written, (kind, index), file)
            if mount:
                found.append(mount)
    return found


# A user's home folder: Compose's `~`, root's, one under /home (Linux) or /Users (macOS).
_HOMES = lazy_re.compile(r"^(?:~|/root|/home/[^/]+|/Users/[^/]+)(?=/|$)")


def _below_home(rest: str) -> str:
    """`~` and the path after it, normalised; one that climbs out of the home folder
    (`~/../../etc`) as the absolute path left once it reached `/`."""
    inside = posixpath.normpath(rest.lstrip("/") or ".")
    if inside == ".":
        return "~"
    if inside == ".." or inside.startswith("../"):
        return "/" + "/".join(part for part in inside.split("/") if part != "..")
    return "~/" + inside


def _inline_dockerfile(
    path: str, data: bytes, service: str, text: str, nodes: NodeLocator, loaded: Loaded
) -> None:
    """A service's `build.dockerfile_inline` is a Dockerfile Compose builds: judged as one
    (named `<file> services.<name>`), its lines those of the block scalar that holds it (a
    quoted one-line string: every line at its key)."""
    from gatekeeper.sources import dockerfile

    key = nodes.locate(("services", service, "build", "dockerfile_inline")).line
    written = data.decode("utf-8", "replace").split("\n")
    block = key <= len(written) and re.search(r"dockerfile_inline\s*:\s*[|>]", written[key - 1])
    inline = dockerfile.load(path, text.encode())
    for document in inline.documents:
        locator = document.locator
        assert isinstance(locator, LineMapLocator)
        locator.lines = {
            where: (line + key, end + key) if block else (key, key)
            for where, (line, end) in locator.lines.items()
        }
        locator.lines.setdefault((), (key, key))
        document.name = f"{path} services.{service}"
        loaded.documents.append(document)
    for problem in inline.problems:
        line = problem.line + key if block else key
        loaded.problems.append(dataclasses.replace(problem, line=line))


def _include(
    path: str,
    obj: dict[str, Any],
    nodes: NodeLocator,
    tree: Tree,
    loaded: Loaded,
    context: LoadContext | None,
    depth: int,
) -> None:
    """Judge the files of `include:` (a path, a list of paths, or `{path: ...}`) that are
    not scanned on their own; one that cannot be read is a finding, as Compose fails. An
    entry's `env_file:` (relative to this file) interpolates what it includes, under this
    project's own variables (compose-go's include loader merges them without overriding):
    `privileged: ${P:-false}` included with `env_file: prod.env` saying P=true runs
    privileged (red team s21 trust14 c06), so such a file is judged with them even when it is
    scanned on its own too."""
    entries = obj.get("include")
    for index, item in enumerate(entries if isinstance(entries, list) else []):
        paths = item.get("path") if isinstance(item, dict) else item
        env = _include_env(path, item, tree) if isinstance(item, dict) else None
        for file in paths if isinstance(paths, list) else [paths]:
            if not isinstance(file, str) or "://" in file or file.startswith("oci:"):
                continue  # remote includes are not fetched
            target = inside(posixpath.join(posixpath.dirname(path), file))
            if target is not None and detect(target) and env is None:
                continue
            data = _read(tree, target)
            if data is None:
                where = nodes.locate(("include", index)).line
                message = f"invalid compose file: include {file} is not a file of this repository"
                loaded.problems.append(Problem("GK-PARSE-ERROR", path, where, message))
                continue
            included = load(str(target), data, context, depth + 1, env)
            loaded.documents.extend(included.documents)
            loaded.problems.extend(included.problems)


def _include_env(path: str, item: dict[str, Any], tree: Tree) -> compose_env.Env | None:
    """The variables an `include:` entry with `env_file:` interpolates its files with: its
    env files (a later one wins), under the variables of the including project; None without
    `env_file:` (the included file's own project `.env`, as it is scanned)."""
    listed = item.get("env_file")
    names = [listed] if isinstance(listed, str) else listed
    if not isinstance(names, list) or not names:
        return None
    env = compose_env.Env()
    for name in names:
        target = inside(posixpath.join(posixpath.dirname(path), str(name)))
        data = _read(tree, target)
        if target is not None and data is not None:
            env.over(compose_env.dotenv(data.decode("utf-8", "replace"), target))
    env.over(_project_env(tree, path)[0])
    return env


def _extended(
    path: str,
    written: dict[Any, Any],
    nodes: NodeLocator,
    name: str,
    tree: Tree,
    locator: LineMapLocator,
    loaded: Loaded,
) -> dict[str, Any]:
    """The service `name` merged over what it extends, as Compose merges it (mappings key by
    key, the service's own values winning); fields that came from a base point at the file
    and line that wrote them. A base that cannot be found is a finding, as Compose fails."""
    bases: list[tuple[str, _Layers, str, dict[str, Any]]] = []
    file, layers, at = path, [(nodes, written)], name
    seen = {(path, name)}
    services = written
    while isinstance(services.get(at), dict) and "extends" in services[at]:
        extends = services[at]["extends"]
        base_file = extends.get("file") if isinstance(extends, dict) else None
        base = extends.get("service") if isinstance(extends, dict) else extends
        found, target = None, None
        if isinstance(base_file, str):
            target = inside(posixpath.join(posixpath.dirname(file), base_file))
            found = _file_layers(tree, target)
        if (isinstance(base_file, str) and found is None) or not isinstance(base, str):
            where = _line(layers, at, "extends")
            message = (
                f"invalid compose file: services.{at} extends a service not in this repository"
            )
            loaded.problems.append(Problem("GK-PARSE-ERROR", file, where, message))
            break
        if found is not None and target is not None:
            file, layers = target, found
            services = _merged_services(layers)
        if (file, base) in seen or len(seen) > MAX_DEPTH:
            break
        seen.add((file, base))
        at = base
        if isinstance(services.get(at), dict):
            bases.append((file, layers, at, services[at]))
    merged: dict[str, Any] = {}
    for file, layers, at, base_service in reversed(bases):
        for key, value in base_service.items():
            if key != "extends":
                merged[key] = merge_values(merged.get(key), value)
                locator.add(("services", name, key), _line(layers, at, key), file=file)
    for key, value in written[name].items():
        merged[key] = merge_values(merged.get(key), value)
        locator.lines.pop(("services", name, key), None)  # its own line, from the YAML
        locator.files.pop(("services", name, key), None)
    locator.files = {where: file for where, file in locator.files.items() if file != path}
    return merged


def merge_values(base: Any, own: Any) -> Any:
    if isinstance(base, dict) and isinstance(own, dict):
        return {**base, **{key: merge_values(base.get(key), value) for key, value in own.items()}}
    return own


# A compose file's layers: each document's locator and services, as written.
_Layers = list[tuple[NodeLocator, dict[Any, Any]]]


def _file_layers(tree: Tree, path: str | None) -> _Layers | None:
    """The layers of the file an `extends` names: compose-go reads every document of it,
    merged (getExtendsBaseFromFile loads it as a whole file), not the first alone."""
    data = _read(tree, path)
    if path is None or data is None:
        return None
    entries, _ = read_layers(path, data)
    if not entries:
        return None
    return [
        (NodeLocator(path, entry.node), services if isinstance(services, dict) else {})
        for entry in entries
        for services in [entry.obj.get("services")]
    ]


def _merged_services(layers: _Layers) -> dict[Any, Any]:
    merged: dict[Any, Any] = {}
    for _, services in layers:
        for name, service in services.items():
            merged[name] = merge_values(merged.get(name), service)
    return merged


def _line(layers: _Layers, service: str, key: str) -> int:
    """The line of a service's `key` in the last layer that writes it (its value wins)."""
    for nodes, services in reversed(layers):
        if isinstance(services.get(service), dict) and key in services[service]:
            return nodes.locate(("services", service, key)).line
    return layers[-1][0].locate(("services", service)).line


def _read(tree: Tree, path: str | None) -> bytes | None:
    if path is None or not tree.exists(path):
        return None
    try:
        return tree.read(path)
    except OSError:
        return None
