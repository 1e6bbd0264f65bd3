"""Kustomize overlays built in-process, for the subset whose result we reproduce exactly.

`kubectl kustomize` costs a fork of a 60 MB Go program per overlay, a copy of its files and
a parse of its output: most of a scan of a repository full of small kustomizations. The
common subset (resources and bases, files, nested kustomizations and components, `kind: List`,
JSON 6902 and strategic-merge patches (kustomize_merge), images, replicas, namespace and the
binding subjects it moves (kustomize_subjects), labels without selectors, commonAnnotations)
is built here from the parsed documents, objects as kubectl prints them (kustomize_values),
in its output order. Anything else, and
anything kustomize would reject, raises Unsupported: the caller then runs kubectl, whose
result (or error message) stays the reference. A wrong object is a wrong verdict, a slow one
only a slow verdict.
"""

from __future__ import annotations

import json
import pickle
import posixpath
import re
import zlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cmp_to_key
from typing import Any

from yaml.nodes import MappingNode, Node, SequenceNode

from gatekeeper import lazy_re, ownership
from gatekeeper.document import Location
from gatekeeper.fieldpath import Path, get
from gatekeeper.sources import (
    kustomize_generators,
    kustomize_labels,
    kustomize_merge,
    kustomize_names,
    kustomize_replacements,
    kustomize_set_images,
    kustomize_subjects,
)
from gatekeeper.sources.helm_engine import MAX_OUTPUT_BYTES
from gatekeeper.sources.kustomize_patches import Patch
from gatekeeper.sources.kustomize_values import (
    NULL_ITEM,
    Fails,
    Unsupported,
    canonical,
    canonical_patch,
    check_kustomization_values,
    copied,
    normalised,
)
from gatekeeper.sources.names import KUSTOMIZATION_FILES as KUSTOMIZATION_FILES
from gatekeeper.sources.names import parents
from gatekeeper.tree import Tree
from gatekeeper.yamldoc import NodeLocator, YamlDocument, check_bytes, decode, load_all

# What a kustomization may hold for us to build it; anything else goes to kubectl.
_FIELDS = frozenset(
    {
        "apiVersion",
        "kind",
        "resources",
        "bases",
        "components",
        "patches",
        "patchesStrategicMerge",
        "patchesJson6902",
        "images",
        "replicas",
        "commonAnnotations",
        "commonLabels",
        "labels",
        "namespace",
        "namePrefix",
        "nameSuffix",
        "configMapGenerator",
        "secretGenerator",
        "generatorOptions",
        "buildMetadata",
        "helmCharts",  # refused by kubectl: see HelmNotEnabled
        "configurations",  # only when kubectl fails on a missing one
        "helmGlobals",
        "replacements",
    }
)
_OWN_METADATA = frozenset({"originAnnotations", "transformerAnnotations"})
# Annotations kustomize itself reads or strips (local-config, behavior, origins).
_RESERVED = kustomize_replacements.RESERVED
# Target patterns Go's RE2 and Python's re read alike: literals, `.`, groups, `|`, `*`, `+`.
_SIMPLE_PATTERN = lazy_re.compile(r"[A-Za-z0-9._/|()*+-]*")
_IMAGE_NAME = lazy_re.compile(r"[A-Za-z0-9._/:-]+")
_IMAGE_FIELDS = frozenset({"name", "newName", "newTag", "digest"})
_SELECTOR_FIELDS = frozenset({"group", "version", "kind", "name", "namespace"})
# kustomize's legacy output order: these kinds first, in this order; webhooks last.
_FIRST = (
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
)
_LAST = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")
_ORDER = {kind: index - len(_FIRST) for index, kind in enumerate(_FIRST)}
_ORDER.update({kind: 1 + index for index, kind in enumerate(_LAST)})
# The pod templates kustomize also gives commonAnnotations (and `labels` with
# includeTemplates): (group, or "*" any, or "" any with version v1; kind; where). Its
# label specs want group apps for a StatefulSet; its annotation specs any group.
_TEMPLATES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("", "ReplicationController", ("spec", "template", "metadata")),
    ("*", "Deployment", ("spec", "template", "metadata")),
    ("*", "ReplicaSet", ("spec", "template", "metadata")),
    ("*", "DaemonSet", ("spec", "template", "metadata")),
    ("*", "StatefulSet", ("spec", "template", "metadata")),
    ("batch", "Job", ("spec", "template", "metadata")),
    ("batch", "CronJob", ("spec", "jobTemplate", "metadata")),
    ("batch", "CronJob", ("spec", "jobTemplate", "spec", "template", "metadata")),
)
_LABEL_LIMITS = frozenset({"pairs", "includeSelectors", "includeTemplates"})
# An object's id as kustomize compares ids: group, version, kind, namespace, name.
_Id = tuple[str, str, str, str, str]


@dataclass
class Built:
    """One object of the build's output and the file it came from."""

    obj: dict[str, Any]
    origin: str | None  # None: generated by the kustomization
    namespace: str = ""  # as the resource was written: targets match it, or the current one
    name: str = ""  # likewise (`namespace:` renames a v1 Namespace)
    renamespaced: bool = False  # a `namespace:` went over it (kustomize keeps its first id)
    json_patched: bool = False  # a JSON patch changed it (its nulls may be kustomize's own)
    # (name, namespace) of each id it had before a transformer that may change ids ran over
    # it, oldest first (kustomize's PrevIds: name references and patches find it by them)
    previous: list[tuple[str, str]] = field(default_factory=list)
    hashed: bool = False  # a generated object that gets kustomize's hash suffix at the end

    def __post_init__(self) -> None:
        self.namespace = self.obj["metadata"].get("namespace") or ""
        self.name = self.obj["metadata"]["name"]

    def remember(self) -> None:
        """Keep the current id among the previous ones (kustomize's StorePreviousId)."""
        metadata = self.obj["metadata"]
        self.previous.append((metadata["name"], metadata.get("namespace") or ""))

    def names(self) -> set[str]:
        """Every name it had, and has."""
        return {self.obj["metadata"]["name"], *(name for name, _ in self.previous)}


def build(path: str, kustomization: YamlDocument, tree: Tree) -> tuple[list[Built], Sources]:
    """The objects of the kustomization at `path`, in kubectl's order, and what the build
    knows of the files they came from. Raises Unsupported."""
    builder = _Builder(tree)
    built = builder.accumulate(path, kustomization, ())
    _unknown_images(built, tree)
    kustomize_generators.add_hashes(built)
    kustomize_names.fix_references(built, _effective)
    kustomize_subjects.resolve_references(built, _effective)
    if len({_identity(item.obj) for item in built}) != len(built):
        raise Unsupported("two objects with the same id")  # after `namespace:`
    built.sort(key=cmp_to_key(_legacy_order))
    return built, Sources(tree, builder.cache, builder.read)


NOT_A_MAPPING = object()
# The fields of its source document every built object is located at before any other (the
# inventory locates each object's metadata.namespace), with the fields above them.
IDENTITY: tuple[Path, ...] = (
    ("apiVersion",),
    ("kind",),
    ("metadata", "name"),
    ("metadata", "namespace"),
)
_IDENTITY_AND_ABOVE: tuple[Path, ...] = ((), ("metadata",), *IDENTITY)


@dataclass(frozen=True, slots=True)
class Head:
    """What the locators of objects built from a document need of it first, without its
    nodes: its kind (NOT_A_MAPPING for a document that is not a mapping) and name, to find
    an object's source (kustomize._find_source); its IDENTITY fields and where they and the
    fields above them are, to locate them."""

    kind: Any
    name: str
    identity: Any  # the document with only its IDENTITY fields
    lines: dict[Path, Location]


def head(file: str, doc: YamlDocument) -> Head:
    obj = doc.obj
    if not isinstance(obj, dict):
        return Head(NOT_A_MAPPING, "", None, {})
    identity = {key: obj[key] for key in ("apiVersion", "kind", "metadata") if key in obj}
    metadata = obj.get("metadata")
    if isinstance(metadata, dict):
        identity["metadata"] = {k: metadata[k] for k in ("name", "namespace") if k in metadata}
    locator = NodeLocator(file, doc.node)
    lines = {
        path: locator.locate(path)
        for path in _IDENTITY_AND_ABOVE
        if not path or _holds(identity, path)
    }
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return Head(obj.get("kind"), str(name or ""), identity, lines)


def _holds(obj: Any, path: Path) -> bool:
    """Is there a field at `path` (perhaps null)?"""
    parent = get(obj, path[:-1])
    return isinstance(parent, dict) and path[-1] in parent


class Sources:
    """The files an in-process build read, as its objects' locators need them: each
    document's head at once, its nodes (parsed again if the cache let them go) only when a
    field is located in it."""

    def __init__(self, tree: Tree, cache: _Cache, read: dict[str, _Parsed]) -> None:
        self.tree = tree
        self.cache = cache
        self.read = read

    def heads(self, file: str) -> list[Head] | None:
        """None for a file the build did not read."""
        parsed = self.read.get(file)
        return None if parsed is None else parsed.heads

    def documents(self, file: str) -> list[YamlDocument] | None:
        """None when the file no longer reads as it did (changed under the scan)."""
        parsed = self.read.get(file)
        if parsed is not None and parsed.docs is not None:
            return parsed.docs
        return self.cache.documents(self.tree, file, parsed)


class Rejected(Fails):
    """A failure whose words we know: each kustomization on the way to the one that fails
    wraps them in its own (through its resources; a component's are worded otherwise)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.through: list[tuple[str, str]] = []  # (entry, folder) on the way, innermost first
        # Every kustomization on the way loads in kustomize (its fields of the types its
        # Go struct wants): else kustomize fails first, in other words.
        self.loads = True

    def on_the_way(self, kustomization: dict[str, Any]) -> Rejected:
        self.loads = self.loads and _loads(kustomization)
        return self

    def words(self, copied: frozenset[str]) -> str | None:
        """The failing kustomization's error, None if we cannot say it."""
        raise NotImplementedError

    def message(self, copied: frozenset[str]) -> str | None:
        error = self.words(copied) if self.loads else None
        if error is None:
            return None
        for ref, folder in self.through:
            error = (
                f"accumulating resources: accumulation err='accumulating resources from"
                f" '{ref}': '{folder}' must resolve to a file': recursed accumulation of path"
                f" '{folder}': {error}"
            )
        return f"error: {error}\n"


class MissingResource(Rejected):
    """A resource entry naming a file the build does not have: kustomize fails there."""

    def __init__(self, ref: str, target: str) -> None:
        super().__init__("a resource that is not a file of the tree")
        self.ref = ref
        self.target = target

    def words(self, copied: frozenset[str]) -> str | None:
        lstat = _not_found(self.target, copied)
        if lstat is None:
            return None
        return (
            f"accumulating resources: accumulation err='accumulating resources from"
            f" '{self.ref}': {lstat}': must build at directory: not a valid directory: {lstat}"
        )


class OutsideRoot(Rejected):
    """A resource entry naming a file outside the kustomization's folder: kustomize's load
    restriction (kubectl's default) refuses it. Built without the restriction (Flux, or the
    `loadRestrictor: none` option), it is read: kubectl builds it then (kustomize.py)."""

    restricted = True

    def __init__(self, ref: str, target: str, directory: str) -> None:
        super().__init__("a resource file outside the kustomization's directory")
        self.ref = ref
        self.target = target
        self.directory = directory

    def words(self, copied: frozenset[str]) -> str | None:
        return (
            f"accumulating resources: accumulation err='accumulating resources from"
            f" '{self.ref}': security; file '{self.target}' is not in or below"
            f" '{self.directory}'': must build at directory: '{self.target}': file is not"
            " directory"
        )


class MissingFile(Rejected):
    """A file the kustomization reads (a transformer configuration, a generator input) that
    the build does not have: kustomize's error, after `prefix`."""

    def __init__(self, prefix: str, target: str) -> None:
        super().__init__("a file that is not a file of the tree")
        self.prefix = prefix
        self.target = target

    def words(self, copied: frozenset[str]) -> str | None:
        lstat = _not_found(self.target, copied)
        return None if lstat is None else self.prefix + lstat


def _not_found(target: str, copied: frozenset[str]) -> str | None:
    """Go's error for a path kubectl's copy of the files (`copied`) lacks: its first missing
    folder or file. None for a folder, or a file on the way (worded otherwise)."""
    folders = {folder for file in copied for folder in parents(file)}
    if target in folders:
        return None
    parts = target.split("/")
    prefixes = ["/".join(parts[: end + 1]) for end in range(len(parts))]
    missing = next((prefix for prefix in prefixes if prefix not in folders), None)
    if missing is None or missing in copied:
        return None
    return f"evalsymlink failure on '{target}' : lstat {missing}: no such file or directory"


class HelmNotEnabled(Rejected):
    """A kustomization with helmCharts: kubectl refuses to inflate charts without
    --enable-helm (which gatekeeper never passes), quoting kustomize's YAML of the first
    chart's settings, once its resources are accumulated (before its generators run and its
    components are accumulated)."""

    def __init__(self, settings: str) -> None:
        super().__init__("helmCharts (kubectl refuses them without --enable-helm)")
        self.settings = settings

    def words(self, copied: frozenset[str]) -> str | None:
        return (
            "trouble configuring builtin HelmChartInflationGenerator with config: `\n"
            f"{self.settings}`: must specify --enable-helm"
        )


def parse_cache(tree: Tree) -> _Cache:
    """The parse cache the builds of `tree` share (dropped once they are all done)."""
    return ownership.of(tree).remember("kustomize parsed", "", lambda _t, _k: _Cache())


class _Builder:
    def __init__(self, tree: Tree) -> None:
        self.tree = tree
        self.read: dict[str, _Parsed] = {}  # every file this build read
        self.size = 0
        self.cache = parse_cache(tree)

    def accumulate(
        self,
        file: str,
        kustomization: YamlDocument,
        stack: tuple[str, ...],
        into: tuple[list[Built], set[_Id]] | None = None,
    ) -> list[Built]:
        """A kustomization's objects; a component (`into` its parent's objects and ids)
        adds its resources to the parent's and transforms them all. A Component built on
        its own (the root) is built as a kustomization is: kustomize only checks its kind
        and apiVersion differently."""
        directory = posixpath.dirname(file)
        if directory in stack:
            raise Unsupported("a cycle of kustomizations")
        obj = kustomization.obj
        if kustomization.duplicate_keys:
            raise Unsupported("a kustomization with a key twice")
        root_component = not stack and obj.get("kind") == "Component"
        _check_kustomization(obj, component=into is not None or root_component)
        check_kustomization_values(kustomization.node)
        if stack and all(
            v in (None, "") for k, v in obj.items() if k not in ("apiVersion", "kind")
        ):
            raise Unsupported("an empty kustomization (kubectl rejects it)")
        built, identities = into if into is not None else ([], set())
        for ref in [*_strings(obj, "resources"), *_strings(obj, "bases")]:
            target = posixpath.normpath(posixpath.join(directory, ref))
            if target.startswith("../") or target == "..":
                raise Unsupported("a resource outside the repository")
            nested = self._kustomization_in(target)
            if nested is not None:
                try:
                    found = self.accumulate(nested[0], nested[1], (*stack, directory))
                except Rejected as error:
                    error.through.append((ref, target))
                    raise error.on_the_way(obj) from None
            else:
                if directory and not target.startswith(directory + "/"):
                    if not self.tree.exists(target):
                        raise Unsupported("a resource file outside the kustomization's directory")
                    raise OutsideRoot(ref, target, directory).on_the_way(obj)
                if not self.tree.exists(target):
                    raise MissingResource(ref, target).on_the_way(obj)
                found = self._resources(target)
            for item in found:
                identity = _identity(item.obj)
                if identity in identities:
                    raise Unsupported("two objects with the same id")
                identities.add(identity)
                built.append(item)
        self._configurations(directory, obj)
        try:
            _refuse_helm(obj)
            generated = kustomize_generators.generate(obj, directory, self.tree)
        except kustomize_generators.MissingInput as missing:
            # Raised as made, never held by a name of this frame: its traceback holds the
            # frame, and a cycle through them kept every caller's locals (the scan's findings)
            # to the next collection.
            words = f"loading KV pairs: {missing.sources}: "
            raise MissingFile(words, missing.file).on_the_way(obj) from None
        except Rejected as error:
            raise error.on_the_way(obj) from None
        for generated_obj, hashed in generated:
            item = Built(generated_obj, None, hashed=hashed)
            identity = _identity(item.obj)
            if identity in identities or any(
                other.obj["kind"] == item.obj["kind"] and item.name in other.names()
                for other in built
            ):  # kustomize also meets it by a name the object had, in any namespace
                raise Unsupported("a generated object of an id already built")
            identities.add(identity)
            built.append(item)
        for ref in _strings(obj, "components"):
            target = posixpath.normpath(posixpath.join(directory, ref))
            nested = self._kustomization_in(target)
            if nested is None or target.startswith("../") or target == "..":
                raise Unsupported("a component that is not a local kustomization")
            try:
                self.accumulate(nested[0], nested[1], (*stack, directory), (built, identities))
            except Rejected as error:  # kustomize words it otherwise there
                raise Fails(f"in a component: {error}") from error
        # kustomize's order of its built-in transformers
        for entry in _list(obj, "patchesStrategicMerge"):
            self._strategic(directory, entry, built)
        for entry in _list(obj, "patches"):
            self._patch(directory, entry, built, trim=True)
        if obj.get("namespace") is not None:
            _set_namespace(built, obj["namespace"])
        kustomize_names.affix(built, obj.get("namePrefix"), obj.get("nameSuffix"))
        for entry in _list(obj, "labels"):
            _label(built, entry)
        if obj.get("commonLabels") is not None:
            kustomize_labels.label_selectors(built, _pairs(obj["commonLabels"]))
        annotations = obj.get("commonAnnotations")
        if annotations is not None:
            _annotate(built, annotations)
        for entry in _list(obj, "patchesJson6902"):
            self._patch(directory, entry, built, trim=False)
        for entry in _list(obj, "replicas"):
            _replicas(built, entry)
        for entry in _list(obj, "images"):
            _image(built, entry)
        for entry in kustomize_set_images.entries(self.tree, directory):
            _image(built, entry)  # the Makefile's `edit set image` of this folder
        if obj.get("replacements") is not None:
            self._replace(directory, obj["replacements"], built)
        return built

    def _replace(self, directory: str, value: Any, built: list[Built]) -> None:
        """kustomize's replacements, the last of its built-in transformers."""

        def read(path: str) -> list[Any]:
            # sigs.k8s.io/yaml reads the first document (go-yaml v2): one, or kubectl
            doc = _one_clean_document(self._patch_file(directory, path))
            if doc is None:
                raise Unsupported("a replacements file that is not one clean document")
            return [canonical_patch(doc.node)]

        def ids(item: Built) -> kustomize_replacements.Ids:
            group, version = _group_version(item.obj["apiVersion"])
            kind = item.obj["kind"]
            current = (item.obj["metadata"]["name"], item.obj["metadata"].get("namespace") or "")
            return [(group, version, kind, n, ns) for n, ns in (current, *item.previous)]

        def get(item: Built) -> dict[str, Any]:
            return item.obj  # a generated one by its name before the hash, as kustomize's

        def put(item: Built, obj: dict[str, Any]) -> None:
            if item.hashed:  # its hash is of what it holds: not copied
                raise Unsupported("a replacement writing into a generated object")
            _check_object(obj)
            item.obj = obj

        replacements = kustomize_replacements.entries(value, read)
        kustomize_replacements.apply(
            replacements, built, ids, lambda item, ns: _effective(item.obj, ns), get, put
        )

    def _configurations(self, directory: str, obj: dict[str, Any]) -> None:
        """kustomize reads its transformer configurations once the resources are in: one
        the tree lacks fails the build; we build only with those that change nothing here
        (see _var_references)."""
        for ref in _strings(obj, "configurations"):
            target = posixpath.normpath(posixpath.join(directory, ref))
            if directory and not target.startswith(directory + "/"):
                break
            if not self.tree.exists(target):
                raise MissingFile("", target).on_the_way(obj)
        if not obj.get("configurations"):
            return
        for ref in _strings(obj, "configurations"):
            target = posixpath.normpath(posixpath.join(directory, ref))
            if (directory and not target.startswith(directory + "/")) or not _var_references(
                self._patch_file(directory, ref)
            ):
                raise Unsupported("kustomization field configurations")

    def _kustomization_in(self, directory: str) -> tuple[str, YamlDocument] | None:
        found = [
            posixpath.join(directory, name) if directory not in ("", ".") else name
            for name in KUSTOMIZATION_FILES
        ]
        index = ownership.of(self.tree)  # every overlay asks of its bases' folders: once a run
        found = [name for name in found if index.exists(name)]
        if not found:
            return None
        if len(found) > 1:
            raise Unsupported("more than one kustomization file")
        docs = self._parsed(found[0]).docs
        if docs is None or len(docs) != 1 or not isinstance(docs[0].obj, dict):
            raise Unsupported("a kustomization that is not one mapping")
        return found[0], docs[0]

    def _parsed(self, file: str) -> _Parsed:
        parsed = self.cache.get(file)
        if parsed is None:
            parsed = self.cache.put(file, _parse(self.tree, file, self.cache))
        if file not in self.read:
            self.size += parsed.size
            # What a build reads bounds what it makes: one that reads more than a build's
            # output may hold is left to kubectl, whose output is checked against the limit.
            # (Half of it before: argo-workflows' overlays read 12 MB of CRDs, and each
            # kubectl build of them cost 5.5 s of CPU, 13 builds.)
            if self.size > MAX_OUTPUT_BYTES:
                raise Unsupported("a build over kubectl's output limit")
            self.read[file] = parsed
        return parsed

    def _resources(self, file: str) -> list[Built]:
        parsed = self._parsed(file)
        if parsed.objects is None:  # a kustomization file (its documents kept)
            assert parsed.docs is not None
            try:
                parsed.objects = _objects(parsed.docs)
            except Unsupported as error:
                parsed.objects = error
        if isinstance(parsed.objects, Unsupported):
            raise parsed.objects
        # Shared by the builds of this tree: transformations copy before they change one.
        return [Built(obj, file) for obj in parsed.objects]

    def _patch(self, directory: str, entry: Any, built: list[Built], trim: bool) -> None:
        """A JSON 6902 patch (`patches:` trims inline text, `patchesJson6902:` does not), or
        under `patches:` a strategic-merge patch."""
        if not isinstance(entry, dict) or set(entry) - {"path", "patch", "target"}:
            raise Unsupported("a patch with options")
        target = entry.get("target")
        if target is not None and (not isinstance(target, dict) or set(target) - _SELECTOR_FIELDS):
            raise Unsupported("a patch without a simple target")
        if ("path" in entry) == ("patch" in entry):
            raise Unsupported("a patch with both or neither of path and patch")
        if "path" in entry:
            text = self._patch_file(directory, str(entry["path"]))
        else:
            text = entry["patch"]
            if not isinstance(text, str):
                raise Unsupported("an inline patch that is not text")
            text = text.strip() if trim else text
        merges = _merge_patches(text) if trim and not text.startswith("[") else None
        if merges is not None:
            for merge in merges:
                self._merge(merge, target, built)
            return
        if target is None:
            raise Unsupported("a JSON patch without a target")
        matches = _selector(target)
        operations = _operations(text)
        for item in built:
            if matches(item):
                if trim:  # kustomize's PatchTransformer keeps the id before (its PrevIds)
                    item.remember()
                item.obj = _json_patch(item.obj, operations)
                item.json_patched = True

    def _patch_file(self, directory: str, path: str) -> str:
        file = posixpath.normpath(posixpath.join(directory, path))
        if directory and not file.startswith(directory + "/"):
            raise Unsupported("a patch outside the kustomization's directory")
        try:
            return decode(self.tree.read(file))
        except (OSError, UnicodeDecodeError):
            raise Unsupported("a patch file that cannot be read") from None

    def _strategic(self, directory: str, entry: Any, built: list[Built]) -> None:
        """A `patchesStrategicMerge:` entry: a file, or YAML text (kustomize tries the entry
        as YAML first), each of its documents a patch on the one object of its id."""
        if not isinstance(entry, str) or not entry.strip():
            raise Unsupported("a patchesStrategicMerge entry that is not a path or text")
        if "\n" not in entry and (":" in entry or entry.lstrip()[:1] in "{[-"):
            raise Unsupported("a patchesStrategicMerge entry that may be read as YAML")
        text = entry if "\n" in entry else self._patch_file(directory, entry)
        merges = _merge_patches(text)
        if not merges:
            raise Unsupported("a patchesStrategicMerge entry without strategic-merge patches")
        for merge in merges:
            self._merge(merge, None, built)

    def _merge(
        self, patch: dict[str, Any], target: dict[str, Any] | None, built: list[Built]
    ) -> None:
        """A strategic-merge patch: on the one object of its id, or on every `target:`."""
        if target is None:
            found = [item for item in built if _patch_id_matches(patch, item)]
            if not found:  # kustomize: "no resource matches strategic merge patch"
                raise Fails("a strategic-merge patch without exactly one object of its id: none")
            if len(found) != 1:
                raise Unsupported("a strategic-merge patch without exactly one object of its id")
        else:
            matches = _selector(target)
            found = [item for item in built if matches(item)]
        for item in found:
            if item.origin is None:
                raise Unsupported("a strategic-merge patch of a generated object")
            parsed = self._parsed(item.origin)
            if parsed.schema_comments:
                raise Unsupported("a comment kustomize may read as a schema in a patched resource")
            if parsed.empty_nulls is None:
                docs = self.cache.documents(self.tree, item.origin, parsed)
                if docs is None:
                    raise Unsupported("a resource that changed during the scan")
                parsed.empty_nulls = _empty_nulls(docs)
            nulls_kept = not parsed.empty_nulls and not item.json_patched
            obj = item.obj
            merged = kustomize_merge.merge(obj, patch, _schema_of(obj), nulls_kept)
            if merged is None:
                built.remove(item)
                continue
            metadata = merged["metadata"]
            merged.update(apiVersion=obj["apiVersion"], kind=obj["kind"])
            metadata["name"] = obj["metadata"]["name"]
            metadata.pop("namespace", None)
            if obj["metadata"].get("namespace"):
                metadata["namespace"] = obj["metadata"]["namespace"]
            out = normalised(merged)
            _check_object(out)
            item.obj = out


# A comment kustomize's walker reads as a field's OpenAPI schema (`# {"type": ...}`).
_SCHEMA_COMMENT = lazy_re.compile(r"#[^\n]*\{")


def _one_clean_document(text: str) -> YamlDocument | None:
    """The text's document when it has exactly one and it parses cleanly (no error, no key
    twice), as a file kustomize reads strictly into one struct must; else None."""
    docs = list(load_all("", text))
    if len(docs) != 1 or not isinstance(docs[0], YamlDocument) or docs[0].duplicate_keys:
        return None
    return docs[0]


def _var_references(text: str) -> bool:
    """Is this transformer configuration only `varReference:` field specs (without
    `create`)? kustomize reads those only to substitute vars, and a build with `vars` goes
    to kubectl: they change nothing (merged with kustomize's own, none with `create`, they
    cannot conflict). It loads the file strictly: other fields, or other types, fail it."""
    doc = _one_clean_document(text)
    if doc is None:
        return False
    try:
        config = canonical_patch(doc.node)
    except Unsupported:
        return False
    if config is None:
        return True
    if not isinstance(config, dict) or set(config) - {"varReference"}:
        return False
    specs = config.get("varReference") or []
    return isinstance(specs, list) and all(
        isinstance(spec, dict)
        and not set(spec) - {"group", "version", "kind", "path"}
        and all(isinstance(v, str) for v in spec.values())
        for spec in specs
    )


def _patch_documents(text: str) -> list[YamlDocument]:
    """The non-empty documents of a patch's text."""
    docs = []
    for parsed in load_all("", text):
        if not isinstance(parsed, YamlDocument) or parsed.duplicate_keys:
            raise Unsupported("a patch that does not parse cleanly")
        if parsed.obj is not None:
            docs.append(parsed)
    return docs


def _merge_patches(text: str) -> list[dict[str, Any]] | None:
    """The objects of strategic-merge patches (YAML mappings, read as kustomize reads them:
    go-yaml v3), applied in order; None for text that is not (JSON 6902 operations)."""
    docs = _patch_documents(text)
    if not docs or not all(isinstance(doc.obj, dict) for doc in docs):
        return None
    _check_separators(text)
    if _SCHEMA_COMMENT.search(text):
        raise Unsupported("a comment kustomize may read as a schema in a patch")
    return [_merge_patch(doc) for doc in docs]


# Metadata a patch may delete with a null here: what no id, selector or name reference reads
# (`creationTimestamp: null`: kubebuilder's CRD patches, kustomize issue 5031's workaround).
_DELETABLE_METADATA = frozenset({"creationTimestamp"})


def _merge_patch(doc: YamlDocument) -> dict[str, Any]:
    patch: dict[str, Any] = canonical(doc.node, timestamps=True)
    metadata = patch.get("metadata")
    if not isinstance(patch.get("apiVersion"), str) or not isinstance(patch.get("kind"), str):
        raise Unsupported("a strategic-merge patch without apiVersion and kind")
    if patch["kind"].endswith("List") or patch["apiVersion"].count("/") > 1:
        raise Unsupported("a strategic-merge patch that is a List or has an odd apiVersion")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str):
        raise Unsupported("a strategic-merge patch without metadata.name")
    if not metadata["name"] or not isinstance(metadata.get("namespace", ""), str):
        raise Unsupported("a strategic-merge patch with an empty name or odd namespace")
    for key, value in metadata.items():
        if (value is None and key not in _DELETABLE_METADATA) or key.startswith("$"):
            raise Unsupported("a strategic-merge patch that deletes metadata or has directives")
        if key in ("labels", "annotations"):
            if not isinstance(value, dict) or not value:
                raise Unsupported(f"metadata.{key} in a patch that is not a mapping, or empty")
            if any(k.startswith("$") or not isinstance(v, str) for k, v in value.items()):
                # kustomize reads a patch's null label as the string `null`
                raise Unsupported(f"metadata.{key} in a patch with directives or non-strings")
            if key == "annotations" and any(k.startswith(_RESERVED) for k in value):
                raise Unsupported("an annotation kustomize reads")
    return patch


def _patch_id_matches(patch: dict[str, Any], item: Built) -> bool:
    """Is `item` the object of the patch's id (kustomize's GetById: group, version, kind,
    name and effective namespace equal, to its id as written, before, or as it is now)?"""
    obj = item.obj
    if (patch["apiVersion"], patch["kind"]) != (obj["apiVersion"], obj["kind"]):
        return False
    name = patch["metadata"]["name"]
    namespace = patch["metadata"].get("namespace") or ""
    current = (obj["metadata"]["name"], obj["metadata"].get("namespace") or "")
    return any(
        name == n and _same_namespace(namespace, ns, obj)
        for n, ns in ((item.name, item.namespace), *item.previous, current)
    )


def _same_namespace(a: str, b: str, obj: dict[str, Any]) -> bool:
    """kustomize's effective namespaces equal: any two for a cluster-scoped kind, `default`
    for none for a namespaced one."""
    if obj["kind"] in _CLUSTER_SCOPED.get(obj["apiVersion"], ()):
        return True
    if not _namespaced(obj) and a != b and {a or "default", b or "default"} == {"default"}:
        raise Unsupported("a patch id whose namespace depends on the kind's scope")
    return (a or "default") == (b or "default")


def _schema_of(obj: dict[str, Any]) -> kustomize_merge.Schema | None:
    """kustomize's OpenAPI for the object's kind: ours, none for a custom resource; a
    built-in kind we have none for goes to kubectl."""
    schema = kustomize_merge.SCHEMAS.get((obj["apiVersion"], obj["kind"]))
    if schema is not None:
        return schema
    group, _ = _group_version(obj["apiVersion"])
    if group in _BUILTIN_GROUPS or group.endswith(".k8s.io") or group == "k8s.io":
        raise Unsupported(f"a strategic-merge patch of {obj['apiVersion']} {obj['kind']}")
    return None


def _operations(text: str) -> list[Any]:
    """JSON 6902 operations: text that starts with `[` is JSON (kustomize does not read it
    as YAML), anything else YAML (go-yaml v2)."""
    if text.startswith("["):
        try:
            operations = normalised(json.loads(text))
        except ValueError:
            raise Unsupported("a JSON patch that is not JSON") from None
    else:
        docs = _patch_documents(text)
        if len(docs) != 1 or not isinstance(docs[0].obj, list):
            raise Unsupported("a strategic-merge patch")
        operations = canonical_patch(docs[0].node)
    if not isinstance(operations, list) or not operations:
        raise Unsupported("a strategic-merge patch, or no operations")
    return operations


@dataclass
class _Parsed:
    """What the builds of a tree keep of a file they read: compact, without its nodes
    (about 11 times its size in memory) except for a kustomization's."""

    size: int
    heads: list[Head]
    schema_comments: bool  # a comment a strategic merge of its objects may read as a schema
    docs: list[YamlDocument] | None  # a kustomization file's (a resource's: see _Cache)
    objects: list[dict[str, Any]] | Unsupported | None = None  # a resource file's objects
    empty_nulls: bool | None = None  # a null written as nothing (`key:`); once asked for


def _parse(tree: Tree, file: str, cache: _Cache) -> _Parsed:
    """A file's entry: a resource's objects worked out now, its nodes left to the cache."""
    size, docs, schema_comments = _read(tree, file)
    if posixpath.basename(file) in KUSTOMIZATION_FILES:
        return _Parsed(size, [head(file, doc) for doc in docs], schema_comments, docs)
    parsed = _Parsed(size, [head(file, doc) for doc in docs], schema_comments, None)
    try:
        parsed.objects = _objects(docs)
    except Unsupported as error:
        parsed.objects = error
    cache.keep_documents(file, size, docs)
    return parsed


def _read(tree: Tree, file: str) -> tuple[int, list[YamlDocument], bool]:
    """A file's size, documents and whether it has a comment kustomize may read as a
    schema; raises Unsupported for one kustomize may read otherwise."""
    try:
        data = tree.read(file)
    except OSError:
        raise Unsupported("a resource that is not a readable file") from None
    if check_bytes(file, data) is not None:
        raise Unsupported("a file that is not text")
    text = decode(data)
    _check_separators(text)
    docs = []
    for entry in load_all(file, text):
        if not isinstance(entry, YamlDocument) or entry.duplicate_keys:
            raise Unsupported("a file that does not parse cleanly")
        if entry.obj is not None:
            docs.append(entry)
    return len(data), docs, _SCHEMA_COMMENT.search(text) is not None


# Lines kustomize splits a file at (its own split, before YAML), and what it rejects there.
_SEPARATOR = lazy_re.compile(r"\n---(.*)(?=\n)")
_END_OR_DIRECTIVE = lazy_re.compile(r"^(\.\.\.|%)", re.MULTILINE)
# Line breaks to YAML (a carriage return alone, NEL, line and paragraph separators).
_OTHER_BREAKS = ("\r", "\x85", "\u2028", "\u2029")


def _empty_nulls(docs: list[YamlDocument]) -> bool:
    """Is a null of these documents written as nothing (`key:`, `- `)?"""
    stack: list[Node] = [doc.node for doc in docs]
    while stack:
        node = stack.pop()
        if isinstance(node, MappingNode):
            stack.extend(item for pair in node.value for item in pair)
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)
        elif node.tag == "tag:yaml.org,2002:null" and not node.value:
            return True
    return False


def _check_separators(text: str) -> None:
    """kustomize splits a file into documents at lines that start with `---` and reads one
    YAML document from each part: a separator with more than a comment after it fails the
    build, and `...`, directives or lone carriage returns make its documents differ from
    the YAML stream's. Such files go to kubectl."""
    text = text.replace("\r\n", "\n")
    if any(brk in text for brk in _OTHER_BREAKS):
        raise Unsupported("a line break kustomize does not split at")
    for match in _SEPARATOR.finditer(text):
        rest = match.group(1).strip()
        if rest and not rest.startswith("#"):
            raise Unsupported("a document separator followed by content")
    if _END_OR_DIRECTIVE.search(text):
        raise Unsupported("a document end marker or a directive")


def _objects(docs: list[YamlDocument]) -> list[dict[str, Any]]:
    """The objects of a resource file as kubectl prints them, Lists expanded as kustomize
    does (their items after the file's other documents)."""
    queue: list[tuple[Any, Node]] = [(doc.obj, doc.node) for doc in docs]
    out: list[dict[str, Any]] = []
    while queue:
        raw, node = queue.pop(0)
        if raw in ({}, []):
            continue  # kustomize drops empty documents
        try:  # lists checked for null items on the way (not by another walk)
            obj, lists_checked = canonical(node, null_items=False), True
        except Unsupported as error:
            if str(error) != NULL_ITEM:
                raise
            # said as before: after the checks of kind and name; a List's own fields (not
            # its items) may hold nulls
            obj, lists_checked = canonical(node), False
        kind = obj.get("kind") if isinstance(obj, dict) else None
        if kind in ("List", "ResourceList") and "functionConfig" in obj:
            raise Unsupported("a List with a functionConfig (kustomize's reader unwraps it)")
        if isinstance(kind, str) and kind.endswith("List") and "items" in obj:
            items = _node_items(node)
            if items is None:
                raise Unsupported("a List whose items are not a list")
            queue.extend(items)
            continue
        metadata = obj.get("metadata") if isinstance(obj, dict) else None
        if isinstance(metadata, dict) and metadata.get("annotations", 1) in (None, {}):
            # kustomize adds its origin there, and we take it out again with the map
            del metadata["annotations"]
        _check_object(obj, lists_checked)
        out.append(obj)
    return out


class _Cache:
    """Parsed files shared by the builds of one tree (the CRD file that eight overlays
    include is parsed once), the most recent up to LIMIT bytes of source; and the nodes of
    the most recent resource files up to NODES_LIMIT bytes of source, for locating fields
    in them (the overlays of one base are built one after the other). A 1.4 MB CRD's nodes
    take 16 MB and are seldom located in: parsed again if they are.

    A resource file pushed out of LIMIT is kept pickled and compressed, up to PACKED_LIMIT
    bytes, and read back in a fiftieth of its parse: argo-workflows' overlays each include
    four CRDs of 2.8 MB, more than LIMIT, so every build parsed all four again (each 24
    times a scan, 15 s of CPU). Read back, it keeps its packed form (packed once, not again
    each time it is pushed out). Each process keeps its own.

    The limits are small because what a build process parses stays its memory: objects
    and nodes are small allocations that fill the allocator's arenas, which go back to the
    system only when wholly free, so a process holds the high-water mark of its builds to
    its end. At 4 MB of objects and 1 MB of nodes, the parent of the 8x corpus's pool (it
    builds every overlay) held 22 MB more at the peak than at 1 MB and 256 KB (issue 17:
    213 -> 190-192 MB, quiet machine, three runs each), for no measurable CPU (the k8s
    corpus and argo-workflows, --jobs 1): the overlays of one base are built one after
    the other, and what is pushed out is unpacked, not parsed."""

    LIMIT = 2**20
    NODES_LIMIT = 2**18
    PACKED_LIMIT = 4 * 2**20

    def __init__(self) -> None:
        self.entries: OrderedDict[str, _Parsed] = OrderedDict()
        self.size = 0
        self.packed: OrderedDict[str, bytes] = OrderedDict()  # our own objects: no disk
        self.packed_size = 0
        self.nodes: OrderedDict[str, tuple[int, list[YamlDocument]]] = OrderedDict()
        self.nodes_size = 0
        # Each kustomization's patches, for the locators of every build that includes it
        # (kustomize_patches.collect): small files, parsed once.
        self.patches: dict[str, list[Patch]] = {}

    def keep_documents(self, file: str, size: int, docs: list[YamlDocument]) -> None:
        old = self.nodes.pop(file, None)
        if old is not None:
            self.nodes_size -= old[0]
        self.nodes[file] = (size, docs)
        self.nodes_size += size
        while self.nodes_size > self.NODES_LIMIT and len(self.nodes) > 1:
            _, (dropped, _) = self.nodes.popitem(last=False)
            self.nodes_size -= dropped

    def documents(self, tree: Tree, file: str, parsed: _Parsed | None) -> list[YamlDocument] | None:
        """A file's documents: kept, or parsed again (None if they are no longer those
        `parsed` was made of)."""
        if parsed is not None and parsed.docs is not None:
            return parsed.docs
        found = self.nodes.get(file)
        if found is not None:
            self.nodes.move_to_end(file)
            return found[1]
        try:
            size, docs, _ = _read(tree, file)
        except Unsupported:
            return None
        if parsed is not None and [head(file, doc) for doc in docs] != parsed.heads:
            return None
        self.keep_documents(file, size, docs)
        return docs

    def get(self, file: str) -> _Parsed | None:
        found = self.entries.get(file)
        if found is not None:
            self.entries.move_to_end(file)
            return found
        packed = self.packed.get(file)
        if packed is None:
            return None
        self.packed.move_to_end(file)
        return self.put(file, pickle.loads(zlib.decompress(packed)))

    def put(self, file: str, parsed: _Parsed) -> _Parsed:
        self.entries[file] = parsed
        self.size += parsed.size
        while self.size > self.LIMIT and len(self.entries) > 1:
            dropped_file, dropped = self.entries.popitem(last=False)
            self.size -= dropped.size
            self._pack(dropped_file, dropped)
        return parsed

    def _pack(self, file: str, parsed: _Parsed) -> None:
        """Keep a resource file's entry pickled (a kustomization's keeps its nodes: not)."""
        if parsed.docs is not None or not isinstance(parsed.objects, list):
            return
        if file in self.packed:  # read back from its packed form, which is kept
            return
        packed = zlib.compress(pickle.dumps(parsed, protocol=pickle.HIGHEST_PROTOCOL), 1)
        self.packed[file] = packed
        self.packed_size += len(packed)
        while self.packed_size > self.PACKED_LIMIT and len(self.packed) > 1:
            _, dropped_bytes = self.packed.popitem(last=False)
            self.packed_size -= len(dropped_bytes)


def _node_items(node: Node) -> list[tuple[Any, Node]] | None:
    """The items of a List's node, each with its (canonical) object."""
    if not isinstance(node, MappingNode):
        return None
    for key, value in node.value:
        if key.value == "items":
            if not isinstance(value, SequenceNode):
                return None
            return [(canonical(item), item) for item in value.value]
    return None


# What kustomize's Kustomization struct wants of each field we build (a wrong type fails
# its loading, before anything else): a string, a list of strings, a map of strings, or a
# list of mappings each with these fields, of these types.
_STRING = frozenset({"apiVersion", "kind", "namespace", "namePrefix", "nameSuffix"})
_STRING_LIST = frozenset(
    {"resources", "bases", "components", "patchesStrategicMerge", "configurations"}
)
_STRING_MAP = frozenset({"commonAnnotations", "commonLabels"})
_PATCH: dict[str, type] = {"path": str, "patch": str, "target": dict}
_ARGS: dict[str, type] = {
    "name": str,
    "namespace": str,
    "behavior": str,
    "literals": list,
    "files": list,
}
_ENTRIES: dict[str, dict[str, type]] = {
    "patches": _PATCH,
    "patchesJson6902": _PATCH,
    "images": {"name": str, "newName": str, "newTag": str, "digest": str},
    "replicas": {"name": str, "count": int},
    "labels": {"pairs": dict, "includeSelectors": bool, "includeTemplates": bool},
    "configMapGenerator": {**_ARGS, "envs": list, "options": dict},
    "secretGenerator": {**_ARGS, "envs": list, "options": dict, "type": str},
    "helmCharts": {
        **dict.fromkeys(("name", "version", "repo", "releaseName", "namespace"), str),
        **dict.fromkeys(("valuesFile", "valuesMerge", "kubeVersion", "nameTemplate"), str),
        **dict.fromkeys(("includeCRDs", "skipHooks", "skipTests", "debug"), bool),
        **dict.fromkeys(("additionalValuesFiles", "apiVersions"), list),
        "valuesInline": dict,
    },
}


def _loads(obj: dict[str, Any]) -> bool:
    """Does kustomize load this kustomization (conservatively: False when unsure)?"""
    for key, value in obj.items():
        if value is None:
            continue
        if key in _STRING:
            good = isinstance(value, str)
        elif key in _STRING_LIST or key == "buildMetadata":
            good = isinstance(value, list) and all(isinstance(v, str) for v in value)
        elif key in _STRING_MAP:
            good = _string_map(value)
        elif key in _ENTRIES:
            fields = _ENTRIES[key]
            good = isinstance(value, list) and all(
                isinstance(entry, dict) and all(_typed(entry.get(k), fields.get(k)) for k in entry)
                for entry in value
            )
        elif key == "generatorOptions":
            good = _options_load(value)
        elif key == "replacements":
            good = isinstance(value, list) and all(_replacement_loads(v) for v in value)
        elif key == "helmGlobals":
            good = isinstance(value, dict) and all(
                k in _HELM_GLOBALS and isinstance(v, (str, type(None))) for k, v in value.items()
            )
        else:
            good = False
        if not good:
            return False
    return True


def _replacement_loads(entry: Any) -> bool:
    """Does kustomize load this `replacements` entry (its Go structs, strictly)? Only the
    fields we are sure of: another one sends the build to kubectl."""
    if not _fields_typed(entry, {"source": dict, "targets": object, "path": str}):
        return False
    source = entry.get("source") or {}
    targets = entry.get("targets") or []
    return (
        _fields_typed(source, _SOURCE)
        and _fields_typed(source.get("options") or {}, _OPTIONS)
        and isinstance(targets, list)
        and all(
            _fields_typed(target, _TARGET)
            and _fields_typed(target.get("select") or {}, _SELECTOR)
            and _fields_typed(target.get("options") or {}, _OPTIONS)
            for target in targets
        )
    )


def _fields_typed(value: Any, fields: dict[str, type]) -> bool:
    return isinstance(value, dict) and all(_typed(value.get(k), fields.get(k)) for k in value)


_SELECTOR: dict[str, type] = dict.fromkeys(("group", "version", "kind", "name", "namespace"), str)
_OPTIONS: dict[str, type] = {"delimiter": str, "index": int, "encoding": str, "create": bool}
_SOURCE: dict[str, type] = {**_SELECTOR, "fieldPath": str, "options": dict}
_TARGET: dict[str, type] = {"select": dict, "fieldPaths": list, "options": dict}


def _typed(value: Any, wanted: type | None) -> bool:
    if wanted is None:
        return False  # a field the struct does not have: strict loading fails
    if value is None:
        return True
    if wanted is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if wanted is list:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if wanted is dict:
        return isinstance(value, dict)  # labels' pairs: checked where used
    return isinstance(value, wanted)


def _string_map(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )


def _options_load(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and all(k in ("labels", "annotations", "disableNameSuffixHash", "immutable") for k in value)
        and all(_string_map(value.get(k) or {}) for k in ("labels", "annotations"))
        and all(
            isinstance(value.get(k, False), bool) for k in ("disableNameSuffixHash", "immutable")
        )
    )


_HELM_GLOBALS = frozenset({"chartHome", "configHome"})
_HELM_STRINGS = frozenset(
    {
        "name",
        "version",
        "repo",
        "releaseName",
        "namespace",
        "valuesFile",
        "valuesMerge",
        "kubeVersion",
        "nameTemplate",
    }
)
_HELM_FLAGS = frozenset({"includeCRDs", "skipHooks", "skipTests", "debug"})
_HELM_LISTS = frozenset({"additionalValuesFiles", "apiVersions"})
# Strings go-yaml v2 prints as they are (no quotes), or in double quotes when they would
# read as another type: a conservative set of characters, the rest goes to kubectl.
_PLAIN = lazy_re.compile(r"[A-Za-z0-9_./~][A-Za-z0-9_./~:-]*(?<!:)")
_NOT_STRINGS = frozenset(
    {
        "y",
        "Y",
        "yes",
        "Yes",
        "YES",
        "n",
        "N",
        "no",
        "No",
        "NO",
        "true",
        "True",
        "TRUE",
        "false",
        "False",
        "FALSE",
        "on",
        "On",
        "ON",
        "off",
        "Off",
        "OFF",
        "null",
        "Null",
        "NULL",
        "~",
        "<<",
    }
)
_INTEGER = lazy_re.compile(r"(0b[01_]+|0x[0-9a-fA-F_]+|0o?[0-7_]+|[0-9][0-9_]*)")
_DATE = lazy_re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}")


def _refuse_helm(obj: dict[str, Any]) -> None:
    """Raise HelmNotEnabled for a kustomization with charts, with kubectl's quote of the
    first chart's settings (kustomize's JSON of its helmGlobals and the chart, as YAML: keys
    sorted, empty values left out), where we can write that quote."""
    charts = obj.get("helmCharts")
    if charts in (None, []):
        return
    if not isinstance(charts, list) or not isinstance(charts[0], dict):
        raise Unsupported("helmCharts that are not a list of mappings")
    globals_ = obj.get("helmGlobals") or {}
    if not isinstance(globals_, dict) or set(globals_) - _HELM_GLOBALS:
        raise Unsupported("helmGlobals with other fields")
    chart = charts[0]
    settings = {**globals_, **chart}
    unknown = set(chart) - _HELM_STRINGS - _HELM_FLAGS - _HELM_LISTS - {"valuesInline"}
    if unknown or settings.get("valuesInline") not in (None, {}):
        raise Unsupported("a chart with other fields, or inline values")
    lines = []
    for key in sorted(settings):
        value = settings[key]
        if key in _HELM_FLAGS:
            if not isinstance(value, bool):
                raise Unsupported("a chart flag that is not a boolean")
            if value:
                lines.append(f"{key}: true")
        elif key in _HELM_LISTS:
            if value is None or value == []:
                continue
            if not isinstance(value, list):
                raise Unsupported("a chart list that is not a list")
            lines.append(f"{key}:")
            lines.extend(f"- {_quoted(item)}" for item in value)
        elif key != "valuesInline" and value not in (None, ""):
            lines.append(f"{key}: {_quoted(value)}")
    raise HelmNotEnabled("".join(line + "\n" for line in lines))


def _quoted(value: Any) -> str:
    """A string as go-yaml v2 prints it, for the strings we know it for."""
    if not isinstance(value, str) or not _PLAIN.fullmatch(value):
        raise Unsupported("a chart setting we do not know kustomize's YAML of")
    if ":" in value and value[0].isdigit():
        raise Unsupported("a chart setting that may read as a sexagesimal number")
    number = value.replace("_", "")
    if value in _NOT_STRINGS or _INTEGER.fullmatch(value) or _DATE.fullmatch(value):
        return f'"{value}"'
    if value[0] in "0123456789.":
        try:
            float(number)
        except ValueError:
            pass
        else:
            return f'"{value}"'
        if _DATE.match(value) or value.lower().startswith("0x"):
            raise Unsupported("a chart setting that may read as a timestamp or number")
    return value


def _check_kustomization(obj: dict[str, Any], component: bool) -> None:
    unknown = set(obj) - _FIELDS
    if unknown:
        raise Unsupported(f"kustomization field {sorted(unknown)[0]}")
    kind, version = ("Component", "v1alpha1") if component else ("Kustomization", "v1beta1")
    if obj.get("kind", "Kustomization") != kind:
        raise Unsupported(f"not a {kind}")
    if obj.get("apiVersion", f"kustomize.config.k8s.io/{version}") != (
        f"kustomize.config.k8s.io/{version}"
    ):
        raise Unsupported("another kustomization apiVersion")
    if set(_strings(obj, "buildMetadata")) - _OWN_METADATA:
        raise Unsupported("buildMetadata")
    for key in ("resources", "bases", "components"):
        for ref in _list(obj, key):
            if not isinstance(ref, str) or not ref or "\n" in ref or "://" in ref or "?" in ref:
                raise Unsupported("a resource that is not a local path")


def _list(obj: dict[str, Any], key: str) -> list[Any]:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise Unsupported(f"{key} is not a list")
    return value


def _strings(obj: dict[str, Any], key: str) -> list[str]:
    values = _list(obj, key)
    if not all(isinstance(value, str) for value in values):
        raise Unsupported(f"{key} holds something other than strings")
    return values


def _check_object(obj: Any, lists_checked: bool = False) -> None:
    """What kustomize requires of a resource (else it fails), and what it would change.
    `lists_checked`: its lists are known to hold no null item."""
    if not isinstance(obj, dict):
        raise Unsupported("a document that is not a mapping")
    metadata = obj.get("metadata")
    if not isinstance(obj.get("kind"), str) or not obj["kind"]:
        raise Unsupported("an object without kind")
    if not isinstance(obj.get("apiVersion"), str) or not obj["apiVersion"]:
        raise Unsupported("an object without apiVersion")
    if obj["apiVersion"].count("/") > 1 or obj["apiVersion"].startswith("/"):
        raise Unsupported("an apiVersion kustomize parses otherwise (`a/b/c`, `/v1`)")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str):
        raise Unsupported("an object without metadata.name")
    if not metadata["name"] or (
        "namespace" in metadata and not isinstance(metadata["namespace"], str)
    ):
        raise Unsupported("an object with an empty name or odd namespace")
    for key in ("labels", "annotations"):
        if key not in metadata:
            continue
        values = metadata[key]
        if not isinstance(values, dict) or (key == "annotations" and not values):
            raise Unsupported(f"metadata.{key} that is not a mapping, or empty annotations")
        if not all(isinstance(v, str) for v in values.values()):
            raise Unsupported(f"metadata.{key} with a value that is not a string")
        if key == "annotations" and any(k.startswith(_RESERVED) for k in values):
            raise Unsupported("an annotation kustomize reads")
    if not lists_checked:
        _check_lists(obj)


def _check_lists(value: Any) -> None:
    """kustomize rejects a null item in any list."""
    stack = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            stack.extend(v for v in current.values() if isinstance(v, (dict, list)))
        elif isinstance(current, list):
            for item in current:
                if item is None:
                    raise Unsupported(NULL_ITEM)
                if isinstance(item, (dict, list)):
                    stack.append(item)


def _identity(obj: dict[str, Any]) -> _Id:
    """kustomize's id: group, version, kind, name, and the namespace only for a kind it
    treats as namespaced (for a cluster-scoped kind any two namespaces are equal; a kind we
    do not know counts as cluster-scoped, which at worst sends a build to kubectl)."""
    metadata = obj["metadata"]
    namespace = metadata.get("namespace") or "default"
    if not (_namespaced(obj) or obj["kind"] in _NAMESPACED_ELSE.get(obj["apiVersion"], ())):
        namespace = ""
    return (*_group_version(obj["apiVersion"]), obj["kind"], namespace, metadata["name"])


def _group_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


def _selector(target: dict[str, Any]) -> Callable[[Built], bool]:
    patterns = {}
    for key, value in target.items():
        if not isinstance(value, str) or not _SIMPLE_PATTERN.fullmatch(value):
            raise Unsupported("a target pattern beyond literals, groups, | * +")
        if re.search(r"[*+][*+]", value):  # possessive in Python 3.11, an error in RE2
            raise Unsupported("a target pattern with a repeated repetition")
        if value:
            try:
                patterns[key] = re.compile(f"(?:{value})")
            except re.error:
                raise Unsupported("a target pattern that does not compile") from None

    namespace = patterns.pop("namespace", None)

    def matches(item: Built) -> bool:
        obj = item.obj
        group, version = _group_version(obj["apiVersion"])
        fields = {"group": group, "version": version, "kind": obj["kind"]}
        if not all(
            pattern.fullmatch(item.name) or pattern.fullmatch(obj["metadata"]["name"])
            if key == "name"
            else pattern.fullmatch(fields[key])
            for key, pattern in patterns.items()
        ):
            return False
        if namespace is None:
            return True
        return any(
            _namespace_matches(namespace, written, _namespaced(obj))
            for written in (item.namespace, obj["metadata"].get("namespace") or "")
        )

    return matches


def _namespace_matches(pattern: re.Pattern[str], namespace: str, namespaced: bool) -> bool:
    """Does a target's namespace match an object's effective namespace: its own, else
    `default` for a namespaced kind, or none for a cluster-scoped one (for a kind we do not
    know, only when the answer is the same both ways)."""
    if namespace or namespaced:
        return pattern.fullmatch(namespace or "default") is not None
    namespaced, cluster = (
        pattern.fullmatch("default") is not None,
        pattern.fullmatch("") is not None,
    )
    if namespaced != cluster:
        raise Unsupported("a target namespace that depends on the kind's scope")
    return namespaced


# What identifies an object: a patch of these (or of what holds them) goes to kubectl.
_FIXED = (("kind",), ("apiVersion",), ("metadata", "name"), ("metadata", "namespace"))


def _json_patch(obj: dict[str, Any], operations: Any) -> dict[str, Any]:
    """RFC 6902 as evanphx/json-patch v4 applies it, then kustomize's JSON round trip."""
    if not isinstance(operations, list):
        raise Unsupported("JSON patch operations that are not a list")
    result = copied(obj)
    for operation in operations:
        if not isinstance(operation, dict) or not isinstance(operation.get("path"), str):
            raise Unsupported("a JSON patch operation without a path")
        op = operation.get("op")
        if set(operation) - {"op", "path", "value"} or op not in ("add", "remove", "replace"):
            raise Unsupported(f"JSON patch operation {op}")
        path = operation["path"]
        if not path.startswith("/"):
            raise Unsupported("a JSON pointer that is not absolute")
        where = tuple(part.replace("~1", "/").replace("~0", "~") for part in path.split("/")[1:])
        if "" in where:
            raise Unsupported("a JSON pointer with an empty key")
        if any(where[: len(fixed)] == fixed or fixed[: len(where)] == where for fixed in _FIXED):
            raise Unsupported("a JSON patch of the object's identity")
        if where == ("metadata", "annotations") or (
            where[:2] == ("metadata", "annotations") and where[2].startswith(_RESERVED)
        ):  # kustomize's own annotations go with them: kubectl loses the object's origin
            raise Unsupported("a JSON patch of all annotations, or of kustomize's")
        if op != "remove" and "value" not in operation:
            raise Unsupported("a JSON patch operation without a value")
        parent = result
        for key in where[:-1]:
            parent = _step(parent, key)
        _apply(parent, where[-1], op, operation.get("value"))
    out: dict[str, Any] = normalised(result)
    _check_object(out)
    return out


def _step(container: Any, key: str) -> Any:
    if isinstance(container, dict):
        if key not in container:
            raise Unsupported("a JSON patch path that does not exist")
        return container[key]
    if isinstance(container, list):
        return container[_index(container, key, False)]
    raise Unsupported("a JSON patch path through a scalar")


def _index(container: list[Any], key: str, insert: bool) -> int:
    if key == "-" and insert:
        return len(container)
    if not key.isdigit() or (key != "0" and key.startswith("0")) or not key.isascii():
        raise Unsupported("a JSON patch index that is not a plain number")
    index = int(key)
    if index > len(container) or (index == len(container) and not insert):
        raise Unsupported("a JSON patch index out of range")
    return index


def _apply(parent: Any, key: str, op: str, value: Any) -> None:
    if isinstance(parent, dict):
        if op != "add" and key not in parent:
            raise Unsupported("a JSON patch of a field that does not exist")
        if op == "remove":
            del parent[key]
        else:
            parent[key] = copied(value)
    elif isinstance(parent, list):
        index = _index(parent, key, op == "add")
        if op == "add":
            parent.insert(index, copied(value))
        elif op == "remove":
            del parent[index]
        else:
            parent[index] = copied(value)
    else:
        raise Unsupported("a JSON patch path through a scalar")


def _annotate(built: list[Built], annotations: Any) -> None:
    """commonAnnotations: on every object, and on the pod templates of workloads."""
    if any(key.startswith(_RESERVED) for key in _pairs(annotations)):
        raise Unsupported("an annotation kustomize reads")
    _set_metadata(built, "annotations", annotations, templates=True)


def _label(built: list[Built], entry: Any) -> None:
    """A `labels:` entry: on every object (and pod templates), or with its selectors too."""
    if not isinstance(entry, dict) or set(entry) - _LABEL_LIMITS:
        raise Unsupported("labels with other fields")
    selectors = entry.get("includeSelectors", False)
    if not isinstance(selectors, bool):
        raise Unsupported("includeSelectors that is not a boolean")
    if selectors:
        pairs = entry.get("pairs")
        kustomize_labels.label_selectors(built, _pairs({} if pairs is None else pairs))
        return
    templates = entry.get("includeTemplates", False)
    if not isinstance(templates, bool):
        raise Unsupported("includeTemplates that is not a boolean")
    if templates and any(
        item.obj["kind"] == "StatefulSet"
        and (item.obj.get("spec") or {}).get("volumeClaimTemplates")
        for item in built
    ):  # kustomize releases differ on whether its claim templates get them too
        raise Unsupported("includeTemplates over a StatefulSet's volumeClaimTemplates")
    pairs = entry.get("pairs")
    _set_metadata(built, "labels", {} if pairs is None else pairs, templates)


def _pairs(values: Any) -> dict[str, str]:
    if not isinstance(values, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in values.items()
    ):
        raise Unsupported("labels or annotations that are not strings")
    if "" in values:
        raise Unsupported("a label or annotation with an empty key (kubectl fails)")
    return values


def _set_metadata(built: list[Built], field: str, values: Any, templates: bool) -> None:
    values = _pairs(values)
    if not values:
        return
    for item in built:
        obj = copied(item.obj)
        group, version = _group_version(obj["apiVersion"])
        paths: list[tuple[str, ...]] = [("metadata",)]
        for wanted, kind, where in _TEMPLATES if templates else ():
            if field == "labels" and kind == "StatefulSet":
                wanted = "apps"
            if kind == obj["kind"] and (wanted in ("*", group) if wanted else version == "v1"):
                paths.append(where)
        for path in paths:
            _set_all(obj, (*path, field), values)
        item.obj = normalised(obj)


def _set_all(obj: dict[str, Any], path: tuple[str, ...], values: dict[str, str]) -> None:
    """Set `values` in the mapping at `path`, creating what is missing (kustomize's
    `create: true`); a field on the way that is not a mapping goes to kubectl."""
    current: Any = obj
    for key in path:
        if not isinstance(current, dict):
            raise Unsupported("a field path through a value that is not a mapping")
        if key not in current:
            current[key] = {}
        current = current[key]
    if not isinstance(current, dict):
        raise Unsupported("annotations that are not a mapping")
    current.update(values)


_SCALABLE = frozenset({"Deployment", "ReplicationController", "ReplicaSet", "StatefulSet"})


def _replicas(built: list[Built], entry: Any) -> None:
    """A `replicas:` entry: spec.replicas of the scalable kinds of that name (kustomize fails
    when there is none)."""
    if not isinstance(entry, dict) or set(entry) != {"name", "count"}:
        raise Unsupported("a replicas entry without exactly name and count")
    name, count = entry["name"], entry["count"]
    if not isinstance(name, str) or not isinstance(count, int) or isinstance(count, bool):
        raise Unsupported("a replicas entry whose name or count has another type")
    found = [i for i in built if i.obj["kind"] in _SCALABLE and name in i.names()]
    if not found:
        raise Unsupported("replicas for a name that is not built")
    for item in found:
        obj = copied(item.obj)
        spec = obj.setdefault("spec", {})
        if not isinstance(spec, dict):
            raise Unsupported("a spec that is not a mapping")
        written = spec.get("replicas", 0)
        if not isinstance(written, int) or isinstance(written, bool):
            raise Unsupported("replicas written as another type (kustomize keeps its tag)")
        spec["replicas"] = count
        item.obj = normalised(obj)


def _image(built: list[Built], entry: Any) -> None:
    if not isinstance(entry, dict) or set(entry) - _IMAGE_FIELDS:
        raise Unsupported("an image entry with other fields")
    if not all(isinstance(value, str) for value in entry.values()):
        raise Unsupported("an image entry whose values are not strings")
    name = entry.get("name", "")
    if not _IMAGE_NAME.fullmatch(name):
        raise Unsupported("an image name that is a pattern")
    pattern = re.compile(
        f"(?:{name})"
        + r"(:[a-zA-Z0-9_.{}-]*)?(@[a-zA-Z0-9]+([.+_-][a-zA-Z0-9]+)*:[a-zA-Z0-9_.{}-]*)?"
    )
    for item in built:
        if item.obj["kind"] == "CustomResourceDefinition":
            continue
        obj = copied(item.obj)
        changed = _retag(obj, pattern, entry)
        changed |= _retag_specs(obj, pattern, entry)
        if changed:
            item.obj = obj


# The image field specs kustomize applies after its walk over `containers`: an image the
# walk set to a name that matches again (`newName: nginx:2` for nginx) changes twice.
_IMAGE_SPECS = (
    ("spec", "containers"),
    ("spec", "initContainers"),
    ("spec", "template", "spec", "containers"),
    ("spec", "template", "spec", "initContainers"),
)


def _retag_specs(obj: dict[str, Any], pattern: re.Pattern[str], entry: dict[str, str]) -> bool:
    changed = False
    for path in _IMAGE_SPECS:
        current: Any = obj
        for key in path:
            if current is None:
                break
            if not isinstance(current, dict):
                raise Unsupported("an image field spec through a value that is not a mapping")
            current = current.get(key)
        if current is None:
            continue
        if not isinstance(current, list):
            raise Unsupported("containers that are not a list")
        for container in current:  # mappings with string images: checked by _retag
            image = container.get("image")
            if image is not None:
                new = _new_image(image, pattern, entry)
                changed |= new != image
                container["image"] = new
    return changed


def _retag(value: Any, pattern: re.Pattern[str], entry: dict[str, str]) -> bool:
    """Every `image` of an item of any `containers`/`initContainers` list, at any depth."""
    changed = False
    if isinstance(value, dict):
        for key, child in value.items():
            changed |= _retag(child, pattern, entry)
            if key == "volumes" and (
                (isinstance(child, dict) and "image" in child)
                or (
                    isinstance(child, list)
                    and any(isinstance(v, dict) and "image" in v for v in child)
                )
            ):
                raise Unsupported("an image volume")
            if key in ("containers", "initContainers") and isinstance(child, list):
                for container in child:
                    if not isinstance(container, dict):
                        raise Unsupported("a container that is not a mapping")
                    if "image" not in container:
                        continue
                    image = container["image"]
                    if image is None:  # kustomize matches its text (`null`, `~`)
                        raise Unsupported("a null image")
                    if not isinstance(image, str):
                        raise Unsupported("an image that is not a string")
                    new = _new_image(image, pattern, entry)
                    if new != image:
                        container["image"] = new
                        changed = True
    elif isinstance(value, list):
        for item in value:
            changed |= _retag(item, pattern, entry)
    return changed


def _unknown_images(built: list[Built], tree: Tree) -> None:
    """An image the Makefile sets to a value it computes is unknown here: empty
    (kustomize_set_images)."""
    if not kustomize_set_images.any_unknown(tree):
        return
    for item in built:
        if kustomize_set_images.UNKNOWN in json.dumps(item.obj):
            item.obj = kustomize_set_images.blank(item.obj)


def _new_image(image: str, pattern: re.Pattern[str], entry: dict[str, str]) -> str:
    if not pattern.fullmatch(image):
        return image
    name, tag, digest = _split(image)
    name = entry.get("newName") or name
    if entry.get("newTag") and entry.get("digest"):
        tag, digest = entry["newTag"], entry["digest"]
    elif entry.get("newTag"):
        tag, digest = entry["newTag"], ""
    elif entry.get("digest"):
        tag, digest = "", entry["digest"]
    if tag:
        name += ":" + tag
    if digest:
        name += "@" + digest
    return name


def _split(image: str) -> tuple[str, str, str]:
    """kustomize's image.Split: name, tag, digest (a port in the registry is not a tag)."""
    slash = image.find("/")
    search, offset = (image[slash:], slash) if slash > 0 else (image, 0)
    at, colon = search.find("@"), search.find(":")
    if colon < 0 and at < 0:
        return image, "", ""
    if at >= 0 and (at < colon or colon < 0):
        return image[: at + offset], "", image[at + offset + 1 :]
    if at >= 0 and colon >= 0:
        return (
            image[: colon + offset],
            image[colon + offset + 1 : at + offset],
            image[at + offset + 1 :],
        )
    return image[: colon + offset], image[colon + offset + 1 :], ""


def _legacy_order(a: Built, b: Built) -> int:
    """kustomize's legacy sort (SortOrderTransformer): kind rank, then group_version_kind,
    then kind.version.group|namespace|name."""
    ga, va = _group_version(a.obj["apiVersion"])
    gb, vb = _group_version(b.obj["apiVersion"])
    ka, kb = a.obj["kind"], b.obj["kind"]
    if (ga, va, ka) != (gb, vb, kb):
        ra, rb = _ORDER.get(ka, 0), _ORDER.get(kb, 0)
        if ra != rb:
            return -1 if ra < rb else 1
        sa, sb = "_".join((ga or "~G", va or "~V", ka)), "_".join((gb or "~G", vb or "~V", kb))
        if ka == kb == "Namespace" and (not ga or not gb):
            sa, sb = sb, sa
        return (sa > sb) - (sa < sb)
    ia, ib = _sort_string(a.obj), _sort_string(b.obj)
    return (ia > ib) - (ia < ib)


def _sort_string(obj: dict[str, Any]) -> str:
    group, version = _group_version(obj["apiVersion"])
    metadata = obj["metadata"]
    gvk = ".".join((obj["kind"], version or "[noVer]", group or "[noGrp]"))
    return "|".join((gvk, metadata.get("namespace") or "~X", metadata["name"]))


# Kinds kustomize certainly treats as namespaced (its OpenAPI data), by apiVersion.
_NAMESPACED = {
    "v1": {
        "Pod",
        "Service",
        "ConfigMap",
        "Secret",
        "ServiceAccount",
        "PersistentVolumeClaim",
        "Endpoints",
        "LimitRange",
        "ResourceQuota",
        "ReplicationController",
    },
    "apps/v1": {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"},
    "batch/v1": {"Job", "CronJob"},
    "networking.k8s.io/v1": {"Ingress", "NetworkPolicy"},
    "policy/v1": {"PodDisruptionBudget"},
    "autoscaling/v1": {"HorizontalPodAutoscaler"},
    "autoscaling/v2": {"HorizontalPodAutoscaler"},
    "rbac.authorization.k8s.io/v1": {"Role"},
}
# Namespaced kinds whose `namespace:` transformation kustomize does more than set.
_NAMESPACED_ELSE = {"rbac.authorization.k8s.io/v1": {"RoleBinding"}}
_BUILTIN_GROUPS = frozenset({"", "apps", "batch", "policy", "autoscaling", "extensions"})


# Kinds kustomize's OpenAPI data (Kubernetes 1.21's) holds as cluster-scoped: `namespace:`
# leaves their metadata alone, and touches them only through its namespace field specs.
_CLUSTER_SCOPED = {
    "v1": {"Namespace", "PersistentVolume"},
    "rbac.authorization.k8s.io/v1": {"ClusterRole", "ClusterRoleBinding"},
    "apiextensions.k8s.io/v1": {"CustomResourceDefinition"},
    "storage.k8s.io/v1": {"StorageClass"},
    "scheduling.k8s.io/v1": {"PriorityClass"},
    "admissionregistration.k8s.io/v1": {
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
    },
}


def _set_namespace(built: list[Built], namespace: Any) -> None:
    """kustomize's `namespace:` on objects whose scope we know: built-in namespaced kinds and
    custom resources (namespaced to kustomize) get it; the cluster-scoped kinds above keep
    theirs, except what its field specs change (a v1 Namespace is renamed to it); binding
    subjects named `default` get it. Other built-in kinds, and the special cases we do not
    copy (a CRD's conversion webhook, several Namespaces), go to kubectl."""
    if not isinstance(namespace, str):
        raise Unsupported("a namespace that is not a string")
    if not namespace:
        return
    if sum(item.obj["kind"] == "Namespace" for item in built) > 1:
        raise Unsupported("namespace over several Namespaces")
    for item in built:
        item.renamespaced = True
        item.remember()
        if kustomize_subjects.is_binding(item.obj):
            changed = kustomize_subjects.namespace_default_subjects(item.obj, namespace)
            if changed is not None:
                item.obj = normalised(changed)
        obj = item.obj
        if obj["kind"] in _CLUSTER_SCOPED.get(obj["apiVersion"], ()):
            _namespace_field_specs(item, namespace)
            continue
        binding = (
            obj["apiVersion"] == "rbac.authorization.k8s.io/v1" and obj["kind"] == "RoleBinding"
        )
        if not binding and not _namespaced(obj):
            raise Unsupported(f"namespace on {obj['apiVersion']} {obj['kind']}")
        if obj["metadata"].get("namespace") != namespace:
            changed = copied(obj)
            changed["metadata"]["namespace"] = namespace
            item.obj = normalised(changed)


def _effective(obj: dict[str, Any], namespace: str) -> str | None:
    """kustomize's effective namespace of an object: none for a cluster-scoped kind,
    `default` for an unset one."""
    if obj["kind"] in _CLUSTER_SCOPED.get(obj["apiVersion"], ()):
        return None
    if _namespaced(obj) or obj["kind"] in _NAMESPACED_ELSE.get(obj["apiVersion"], ()):
        return namespace or "default"
    raise Unsupported(f"the scope of {obj['apiVersion']} {obj['kind']}")


_CONVERSION_NAMESPACE = ("spec", "conversion", "webhook", "clientConfig", "service", "namespace")


def _namespace_field_specs(item: Built, namespace: str) -> None:
    """What kustomize's namespace transformer does to a cluster-scoped object: renames a v1
    Namespace (metadata/name, create: true), sets the namespace of a CRD's conversion
    webhook service where it is written (spec/conversion/webhook/clientConfig/service/
    namespace, create: false; kubebuilder's config/default)."""
    obj = item.obj
    kind = obj["kind"]
    if kind == "CustomResourceDefinition":
        held: Any = obj
        for key in _CONVERSION_NAMESPACE:
            if not isinstance(held, dict):
                raise Unsupported("namespace over a CRD's conversion webhook that is no map")
            if key not in held:
                return  # the field spec creates nothing
            held = held[key]
        if not isinstance(held, str):
            raise Unsupported("namespace over a CRD's conversion service's namespace")
        if held != namespace:
            changed = copied(obj)
            service = changed
            for key in _CONVERSION_NAMESPACE[:-1]:
                service = service[key]
            service["namespace"] = namespace
            item.obj = normalised(changed)
    elif kind == "Namespace" and obj["metadata"].get("name") != namespace:
        changed = copied(obj)
        changed["metadata"]["name"] = namespace
        item.obj = normalised(changed)


def _namespaced(obj: dict[str, Any]) -> bool:
    """Is the object certainly namespaced to kustomize: a built-in namespaced kind, or a
    custom resource (kustomize knows no CRD's scope)? False when we do not know."""
    group, _ = _group_version(obj["apiVersion"])
    if group in _BUILTIN_GROUPS or group.endswith(".k8s.io") or group == "k8s.io":
        return obj["kind"] in _NAMESPACED.get(obj["apiVersion"], ())
    return True
