"""Images the repository's own Makefile sets with `kustomize edit set image` before a build.

kubebuilder scaffolds `image: controller:latest` (or `controller`) in config/manager and a
Makefile recipe `cd config/manager && $(KUSTOMIZE) edit set image controller=${IMG}` that
runs before `$(KUSTOMIZE) build config/default | kubectl apply -f -` (deploy, build-installer,
release targets; cluster-api, opentelemetry-operator, every kubebuilder project). `controller`
is a placeholder the build replaces; judged as written it was a blocking "no tag" and "comes
from Docker Hub" in every build of the operator.

Such an edit is read as an `images:` entry of that folder's kustomization: the value the
Makefile gives (its variables' defaults filled in) is the image judged; a value make or the
shell computes (`$(shell git describe)`, an environment variable) is unknown here, and the
image is judged as unknown (empty: no image rule can tell), as a gateway's `image: auto` that
istiod replaces (gatekeeper.injectors).

Only a placeholder that names no one's image is read so: a single word, no registry, no
owner (`controller`, `target-allocator`). Deployed as written without the Makefile (an Argo
CD Application on the folder), it pulls `docker.io/library/NAME`, where only Docker
publishes; an image with an owner or a registry (`ghcr.io/acme/app:main`, keda's) is
deployable as written and stays judged as written.
"""

from __future__ import annotations

import json
import posixpath
from typing import TYPE_CHECKING, Any

from gatekeeper import lazy_re, ownership, shell, shell_dirs
from gatekeeper.document import Location
from gatekeeper.tree import Tree, inside

if TYPE_CHECKING:
    from gatekeeper.deployer_scope import Takers

# A value make or the shell computes: not known here.
UNKNOWN = "gatekeeper.invalid/set-by-the-build"
_PLACEHOLDER = lazy_re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_MAKEFILES = ("Makefile", "makefile", "GNUmakefile")
_VARIABLE = lazy_re.compile(r"\$[({]([A-Za-z_][A-Za-z0-9_]*)[)}]")
_MAX_ROUNDS = 8  # variables naming variables (IMG ?= ${IMG_PREFIX}/${IMG_REPO}:${VERSION})


# folder -> (kustomize's `images:` entry, the Makefile and line of the edit) in their order
_Found = dict[str, list[tuple[dict[str, str], str, int]]]


def entries(tree: Tree, directory: str) -> list[dict[str, str]]:
    """The `images:` entries the repository's Makefiles add to the kustomization in
    `directory` ("" the root), in their order."""
    return [entry for entry, _file, _line in _found(tree).get(directory or "", [])]


def any_unknown(tree: Tree) -> bool:
    """Does an edit of the repository set an image to a value computed at build time?"""
    return any(
        entry["newName"] == UNKNOWN for held in _found(tree).values() for entry, _f, _l in held
    )


def places(tree: Tree, directories: list[str]) -> dict[str, Location]:
    """Placeholder name -> the Makefile line whose edit sets it, for the kustomizations in
    `directories`: where an image that value makes is said."""
    found: dict[str, Location] = {}
    for directory in directories:
        for entry, file, line in _found(tree).get(directory or "", []):
            found[entry["name"]] = Location(file, line, 1, line, 0, False)
    return found


def _found(tree: Tree) -> _Found:
    held: _Found = ownership.of(tree).remember("kustomize set images", "", _all_entries)
    return held


def _all_entries(tree: Tree, _key: str) -> _Found:
    """The edits of every Makefile, for the folders no deployer builds as written."""
    from gatekeeper.deployer_scope import Takers
    from gatekeeper.sources.names import KUSTOMIZATION_FILES

    found = _edits(tree)
    if not found:
        return found
    listed = ownership.of(tree).named_below("", frozenset(KUSTOMIZATION_FILES))
    taken_in = Takers({posixpath.dirname(file) or "." for file in listed}, tree)
    return {
        folder: held
        for folder, held in found.items()
        if not _built_as_written(tree, folder, taken_in)
    }


def _built_as_written(tree: Tree, folder: str, taken_in: Takers) -> bool:
    """Is the kustomization in `folder`, or one whose build takes it in, given to a deployer
    that does not run the Makefile (an Argo CD Application's or Flux Kustomization's `path:`,
    a workflow's or script's `kubectl apply -k` / `kustomize build`)? Then the image is
    deployed as written, and judged so: a placeholder named like a Docker official image
    (`busybox:latest`, which Docker does publish) must not take the Makefile's value where
    Argo CD applies the folder (s24 lead review of noise15)."""
    from gatekeeper.built_only import deployed_folders

    takers = {folder or ".", *taken_in.of(folder or ".")}
    return bool(deployed_folders(tree, takers, _makefile))


def _makefile(file: str) -> bool:
    base = posixpath.basename(file)
    return base in _MAKEFILES or base.endswith(".mk")


def _edits(tree: Tree) -> _Found:
    from gatekeeper.sources.workflow_scripts import _parse_makefile

    found: _Found = {}
    for name in tree.list_dir(""):
        base = posixpath.basename(name)
        if base not in _MAKEFILES and not base.endswith(".mk"):
            continue
        try:
            data = tree.read(name)
        except OSError:
            continue
        if b"set image" not in data:
            continue
        text = data.decode("utf-8", "replace")
        rules, variables, _default = _parse_makefile(text)
        folder = posixpath.dirname(name) or "."
        for _needs, lines in rules.values():
            for number, line in lines:
                if "set image" not in line:
                    continue
                place = shell_dirs.Place(folder)
                for command in shell.commands(_expanded(line, variables), place=place):
                    _add(found, command, name, number + command.line)
    return found


def _expanded(line: str, variables: dict[str, str]) -> str:
    """`line` with the Makefile's variables filled in, as often as they name others."""
    for _ in range(_MAX_ROUNDS):
        filled = _VARIABLE.sub(lambda m: variables.get(m.group(1), m.group(0)), line)
        if filled == line:
            break
        line = filled
    return line.lstrip("@-+ \t")


def _add(found: _Found, command: shell.Command, file: str, line: int) -> None:
    argv = [str(word) for word in command.argv]
    at = next(
        (i for i in range(len(argv) - 2) if argv[i : i + 3] == ["edit", "set", "image"]), None
    )
    if at is None or at == 0 or "kustomize" not in argv[0].lower():
        return
    if command.directory is None or not shell_dirs.known(command.directory):
        return
    directory = inside(str(command.directory))
    if directory is None:
        return
    for word in argv[at + 3 :]:
        name, equals, value = word.partition("=")
        if not equals or word.startswith("-") or not _PLACEHOLDER.fullmatch(name):
            continue  # `NAME:TAG` keeps the name written; an owner's image stays as written
        entry = _entry(name, value)
        held = found.setdefault("" if directory == "." else directory, [])
        if entry["newName"] == UNKNOWN and any(
            e["name"] == name and e["newName"] != UNKNOWN for e, _file, _line in held
        ):
            continue  # another target writes a value: that one is judged
        held[:] = [e for e in held if e[0]["name"] != name] + [(entry, file, line)]


def _entry(name: str, value: str) -> dict[str, str]:
    """kustomize's entry for `edit set image NAME=VALUE` (newName, newTag, digest)."""
    if not value or "$" in value or "`" in value or any(c.isspace() for c in value):
        return {"name": name, "newName": UNKNOWN, "newTag": "unknown"}
    image, _, digest = value.partition("@")
    slash = image.rfind("/")
    colon = image.rfind(":")
    tag = image[colon + 1 :] if colon > slash else ""
    new_name = image[:colon] if colon > slash else image
    entry = {"name": name, "newName": new_name}
    if tag:
        entry["newTag"] = tag
    if digest:
        entry["digest"] = digest
    return entry


def edited(tree: Tree, file: str, data: bytes) -> bytes:
    """The kustomization file `file` as the Makefile's edits leave it (JSON, which is YAML),
    for a build by kubectl; `data` unchanged when no edit sets an image of its folder or it
    does not read as one mapping."""
    from gatekeeper.sources.names import KUSTOMIZATION_FILES

    if posixpath.basename(file) not in KUSTOMIZATION_FILES:
        return data
    added = entries(tree, posixpath.dirname(file))
    if not added:
        return data
    from gatekeeper.yamldoc import YamlDocument, load_all

    docs = list(load_all(file, data.decode("utf-8", "replace")))
    if len(docs) != 1 or not isinstance(docs[0], YamlDocument) or not isinstance(docs[0].obj, dict):
        return data
    obj = with_entries(docs[0].obj, added)
    try:
        return json.dumps(obj).encode()
    except (RecursionError, TypeError, ValueError):
        return data


def with_entries(obj: dict[str, Any], added: list[dict[str, str]]) -> dict[str, Any]:
    """A kustomization's object with `added` in its `images:`, an entry of the same name
    replaced, as `kustomize edit set image` writes them."""
    images = obj.get("images")
    if not added or (images is not None and not isinstance(images, list)):
        return obj  # (`images:` that is no list: kustomize's own error stands)
    held = list(images or [])
    names = {entry["name"] for entry in added}
    kept = [e for e in held if not (isinstance(e, dict) and e.get("name") in names)]
    return {**obj, "images": kept + added}


def blank(value: Any) -> Any:
    """`value` (a built object) with each image a Makefile sets to a computed value empty:
    unknown here, as a gateway's `image: auto` (gatekeeper.injectors); a copy where one is."""
    if isinstance(value, dict):
        image = value.get("image")
        changed = {key: blank(child) for key, child in value.items()}
        if isinstance(image, str) and image.startswith(UNKNOWN):
            changed["image"] = ""
        return changed if any(changed[k] is not value[k] for k in value) else value
    if isinstance(value, list):
        items = [blank(child) for child in value]
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    return value
