"""Argo CD config management plugins of this repository, and the sources they discover.

An Application source that names no type (no `helm`, `kustomize`, `directory`, `plugin`) is
typed by the repo server: it asks its config management plugin sidecars first, and a plugin
whose `discover` rule matches the source's folder renders it (argo-cd
util/app/discovery/discovery.go: CMP discovery before Chart.yaml and kustomization). A
plugin's definition (`kind: ConfigManagementPlugin`, the sidecar's plugin.yaml, often held
as text in a ConfigMap such as `argocd-cmp-cm`, or the argo-cd Helm chart's values
`configs.cmp.plugins.<name>`, from which the chart writes that ConfigMap) lives where Argo CD
is installed from, this repository for many: a pull request that adds the file a plugin
discovers (a helmfile.yaml in a directory Application's folder) changes what is deployed
without touching the Application.

`discover.fileName` is a glob in the source's folder, `discover.find.glob` a glob below it
(`**` crosses folders); `discover.find.command` runs a program, which is not run here: such
a plugin may take any source (said, not blocking).
"""

from __future__ import annotations

import posixpath
import re
from typing import Any, NamedTuple

from gatekeeper import ownership
from gatekeeper.tree import Tree

KIND = "ConfigManagementPlugin"
# Every plugin has a `generate` command: its definition in any form spells one of these.
_MARKS = (KIND, "generate:", '"generate"')
_MAX_DEPTH = 12  # how deep chart values are searched for `configs.cmp.plugins`
_SUFFIXES = (".yaml", ".yml", ".json")


class Plugin(NamedTuple):
    name: str
    file: str  # where it is defined
    file_name: str  # discover.fileName ("" when none)
    glob: str  # discover.find.glob
    command: bool  # discover.find.command: may take any source


class Discovered(NamedTuple):
    plugin: Plugin
    rule: str  # what matched, for the message (`fileName ./helmfile.yaml`)
    certain: bool  # False: a command decides, not run here


def discovered(tree: Tree, path: str) -> Discovered | None:
    """The first plugin of this repository whose discover rule takes the source folder
    `path` (the repo server asks them in turn), or one that decides by a command."""
    plugins = ownership.of(tree).remember("config management plugins", "", _plugins)
    if not plugins:
        return None
    below = [
        posixpath.relpath(f, path) if path != "." else f
        for f in tree.list_dir(path)
    ]
    for plugin in plugins:
        if plugin.file_name and any(_matches(plugin.file_name, f, False) for f in below):
            return Discovered(plugin, f"fileName {plugin.file_name}", True)
        if plugin.glob and any(_matches(plugin.glob, f, True) for f in below):
            return Discovered(plugin, f"find.glob {plugin.glob}", True)
    for plugin in plugins:
        if plugin.command:
            return Discovered(plugin, "find.command (not run here)", False)
    return None


def _matches(pattern: str, relative: str, deep: bool) -> bool:
    """Go's filepath.Glob (fileName: `*` stays in one folder, `**` is two of them) or zglob
    (find.glob: `**` crosses folders), relative to the source's folder: the path globs of
    discover.glob_source."""
    from gatekeeper.discover import glob_source

    pattern = posixpath.normpath(pattern.strip().removeprefix("./"))
    source = glob_source(pattern if deep else pattern.replace("**", "*"))
    return re.match(source, relative) is not None


def _plugins(tree: Tree, _: str) -> list[Plugin]:
    from gatekeeper.yamldoc import decode

    found: list[Plugin] = []
    for file in _naming(tree):
        try:
            text = decode(tree.read(file))
        except (OSError, UnicodeDecodeError, ValueError):
            continue
        found.extend(_defined(file, text, 0))
    return found


def _defined(file: str, text: str, depth: int) -> list[Plugin]:
    """The plugins a YAML text defines: a ConfigManagementPlugin document, one held as text
    in a value (a ConfigMap's `plugin.yaml`, with or without its kind: red team s06), or the
    argo-cd chart's values `configs.cmp.plugins` (at any depth: an umbrella chart's
    `argo-cd:` key, an Application's `valuesObject`)."""
    from gatekeeper.yamldoc import load_all

    found: list[Plugin] = []
    for entry in load_all(file, text):
        obj = getattr(entry, "obj", None)
        if not isinstance(obj, dict):
            continue
        kindless = "kind" not in obj and (depth == 1 or posixpath.basename(file) in _SIDECAR)
        if obj.get("kind") == KIND or (kindless and _is_plugin(_mapping(obj, "spec"))):
            found.append(_plugin(file, _name(obj), _mapping(obj, "spec")))
            continue
        found.extend(_from_chart_values(file, obj, 0))
        if depth == 0:
            for value in _texts(obj):
                if any(mark in value for mark in _MARKS):
                    found.extend(_defined(file, value, 1))
    return found


_SIDECAR = ("plugin.yaml", "plugin.yml")  # the file the sidecar's server reads


def _is_plugin(spec: dict[str, Any]) -> bool:
    return isinstance(spec.get("generate"), dict)


def _name(obj: dict[str, Any]) -> str:
    return str(_mapping(obj, "metadata").get("name") or "(unnamed)")


def _from_chart_values(file: str, obj: dict[str, Any], depth: int) -> list[Plugin]:
    """`configs.cmp.plugins.<name>`: the argo-cd chart writes each into argocd-cmp-cm as a
    ConfigManagementPlugin named <name> with that spec."""
    plugins = _mapping(_mapping(_mapping(obj, "configs"), "cmp"), "plugins")
    found = [
        _plugin(file, str(name), spec)
        for name, spec in plugins.items()
        if isinstance(spec, dict) and _is_plugin(spec)
    ]
    if depth < _MAX_DEPTH:
        for value in obj.values():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, dict):
                    found.extend(_from_chart_values(file, item, depth + 1))
    return found


def _texts(obj: Any) -> list[str]:
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [text for value in obj.values() for text in _texts(value)]
    if isinstance(obj, list):
        return [text for value in obj for text in _texts(value)]
    return []


def _plugin(file: str, name: str, spec: dict[str, Any]) -> Plugin:
    discover = _mapping(spec, "discover")
    find = _mapping(discover, "find")
    return Plugin(
        name=name,
        file=file,
        file_name=str(discover.get("fileName") or ""),
        glob=str(find.get("glob") or ""),
        command=bool(find.get("command")),
    )


def _mapping(obj: dict[str, Any], key: str) -> dict[str, Any]:
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def _naming(tree: Tree) -> list[str]:
    """The YAML/JSON files that may define a plugin (they spell ConfigManagementPlugin or a
    `generate` key): one `git grep` of the work tree or of the revision read, else (no git)
    every such file read."""
    from gatekeeper.spelling import spelling

    return [file for file, _ in spelling(tree, _MARKS, _SUFFIXES)]
