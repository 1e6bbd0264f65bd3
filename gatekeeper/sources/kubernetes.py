"""Kubernetes manifests: multi-document YAML (and JSON), `kind: List` expanded."""

from __future__ import annotations

import codecs
import posixpath
from collections.abc import Iterable, Iterator
from typing import Any

from gatekeeper import lazy_re, ownership
from gatekeeper.document import Document, Loaded, Problem, SubLocator
from gatekeeper.sources import LoadContext, envsubst, golden_files, names
from gatekeeper.sources.lists import is_list, list_items
from gatekeeper.yamldoc import NodeLocator, check_bytes, decode, duplicate_problems, load_all
from gatekeeper.yamlevents import Manifest, manifests

NAME = "kubernetes"

_EXTENSIONS = (".yaml", ".yml", ".json")
# Names that are usually some other tool's file, not manifests. `kubectl apply -f dir/` and
# Argo CD apply them all the same, so they are judged when their content holds objects.
_OTHER_TOOLS = frozenset(
    {
        "chart.yaml",
        "kustomization.yaml",
        "kustomization.yml",
        ".gatekeeper.yml",
        ".gatekeeper.yaml",
        ".pre-commit-config.yaml",
        ".pre-commit-hooks.yaml",
        ".yamllint.yaml",
        "package.json",
        "package-lock.json",
        "tsconfig.json",
        "composer.json",
    }
)


def detect(path: str) -> bool:
    """Every YAML or JSON file: what a deployer applies is decided by content, not by name."""
    return posixpath.basename(path).lower().endswith(_EXTENSIONS)


def _other_tool(path: str) -> bool:
    """Named like another tool's file (a template, a values file, a tool's configuration):
    judged only when its content looks like Kubernetes objects, and without noise."""
    name = posixpath.basename(path).lower()
    parts = path.split("/")
    return name in _OTHER_TOOLS or "templates" in parts[:-1] or bool(_VALUES_NAME.search(name))


# A Helm values file: `values.yaml`, `values-prod.yaml`, and (grafana/loki's chart)
# `distributed-values.yaml`, `prod.values.yml`, `ci_values.yaml`.
_VALUES_NAME = lazy_re.compile(r"^values|[-_.]values\.(ya?ml|json)$")


_WIDE = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def looks_like_objects(data: bytes) -> bool:
    r"""A cheap test on bytes: could a document of this file have `apiVersion` and `kind`?

    Not when neither word is there, unless escapes could spell them (`"api\u0056ersion"`)."""
    return may_spell(data, [b"apiVersion"]) and may_spell(data, [b"kind"])


def may_spell(data: bytes, words: Iterable[bytes]) -> bool:
    r"""A cheap test on bytes: could a YAML or JSON scalar of this file be one of `words`?

    Only when a word is there in UTF-8, or escapes could spell one: a letter escaped
    (`"Git\u0052epository"`, `\x52`, `\U00000052`) or a line joined by a backslash at its
    end (double-quoted YAML). Aliases and merge keys repeat text of the same file, folding
    adds spaces, and a file in UTF-16 or UTF-32 is searched once decoded."""
    wide = data.startswith(_WIDE)
    if not wide and any(word in data for word in words):
        return True
    text = spelled(data)
    if text is data and not wide:
        return False  # spelled as written: searched above
    return text is None or any(word in text for word in words)


def spelled(data: bytes) -> bytes | None:
    """The bytes in which every scalar of this file is spelled, for plain `in` tests (see
    may_spell): the file, re-encoded from UTF-16/32, with double-quoted lines joined after
    it; None when escapes or base64 could spell any word (or the file does not decode)."""
    if data.startswith(_WIDE):
        try:
            data = decode(data).encode("utf-8")
        except UnicodeDecodeError:
            return None  # let the loader report it
    # Each pattern searched only where the bytes it needs are (a search is 5x a byte find:
    # the Flux index asks this of every YAML file of the tree).
    if b"\\" in data and _ESCAPED_CHARACTER.search(data):
        return None
    if (b"binary" in data or b"%" in data) and _BINARY.search(data):
        return None
    if b"\\" not in data or not _JOINED_LINE.search(data):
        return data
    return data + b"\0" + _JOINED_LINE.sub(b"", data)  # a block scalar's backslashes join too


# Escapes that can produce a letter; and the double-quoted line continuation at any YAML
# line break (LF, CR, in YAML 1.1 also NEL, LINE and PARAGRAPH SEPARATOR), which drops the
# break and the next line's indentation.
_ESCAPED_CHARACTER = lazy_re.compile(rb"\\[xuU]")
# A `!!binary` scalar is base64 that Go's YAML readers decode (`? !!binary YXBpVmVyc2lvbg==`
# is the key apiVersion to kubectl); a %TAG directive or a %-escaped tag can spell that tag.
_BINARY = lazy_re.compile(rb"binary|%TAG|!\S*%[0-9A-Fa-f]{2}")
_JOINED_LINE = lazy_re.compile(rb"\\(?:\r\n|[\n\r]|\xc2\x85|\xe2\x80[\xa8\xa9])[ \t]*")


def rendered_elsewhere(path: str, context: LoadContext) -> bool:
    """Does a source that owns the file render it? A real chart renders its templates/ and
    charts/ (and applies crds/), a real kustomization builds its patches; everything else is
    applied as is."""
    if _in_a_chart(path, context):
        from gatekeeper.sources.helm import rendered_by_chart

        if rendered_by_chart(path, context.tree):
            return True
    from gatekeeper.sources.names import KUSTOMIZATION_FILES

    index = ownership.of(context.tree)
    if not index.files_above(posixpath.dirname(path), KUSTOMIZATION_FILES):
        return False  # no kustomization in its folder or above patches it (kustomize unread)
    from gatekeeper.sources.kustomize import is_patch

    return is_patch(path, context.tree)


def _chart_data(path: str, context: LoadContext | None) -> bool:
    """A file a chart's templates read (`.Files.Get`): judged in what the chart renders."""
    if context is None or not _in_a_chart(path, context):
        return False
    from gatekeeper.sources.helm import read_by_chart

    return read_by_chart(path, context.tree)


def _in_a_chart(path: str, context: LoadContext) -> bool:
    """A Chart.yaml in the file's folder or one above it (the root's too): asked before
    the Helm adapter is imported, which a manifest in no chart does not need."""
    index = ownership.of(context.tree)
    return bool(index.files_above(posixpath.dirname(path), (names.CHART_FILE,)))


def rendered_copy(path: str, data: bytes, context: LoadContext) -> bool:
    """Helm's output of a chart of this repository, committed (sources.rendered_copies)."""
    from gatekeeper.sources.rendered_copies import is_rendered_copy

    return is_rendered_copy(path, data, context.tree)


# What marks a file as a template of another tool: Terraform's `%{ for }` and `${...}`,
# Go templates' `{{ }}`, a `{PLACEHOLDER}` a Makefile or script replaces, an `@PLACEHOLDER@`
# as autoconf's and CMake's configure_file write them (longhorn's dev/scale-test
# statefulset.yaml, `name: @STS_NAME@`, that its script fills: `@` cannot start a scalar).
_TEMPLATE_MARK = lazy_re.compile(r"%\{|\$\{|\{\{|\{[A-Z][A-Z0-9_]*\}|@[A-Z][A-Z0-9_]*@")


def _template_notice(problem: Problem, text: str, data: bytes) -> Problem:
    """A file that is not valid YAML because it is another tool's template (a cloud-init
    file Terraform's templatefile() fills, a Go-template fragment a Makefile joins, a
    `{SERVICE_IP}` or `@STS_NAME@` a script replaces) is nothing kubectl applies as
    written: a low notice, not a blocking parse error. Nor is one whose bytes cannot spell
    `apiVersion` and `kind` (kueue's KEP metadata, kep.yaml): no YAML reader, however
    lenient, makes an object of it.
    What a deployer applies (a directory Application, a Flux path, a kustomization's
    resource: the build fails) still blocks."""
    if problem.code != "GK-PARSE-ERROR":
        return problem
    if not _TEMPLATE_MARK.search(text):
        if looks_like_objects(data):
            return problem
        message = (
            f"{problem.message}: no document of it can be a Kubernetes object (it cannot"
            " spell apiVersion and kind), so nothing applies it as one; not checked here"
        )
        return Problem("GK-NOT-A-MANIFEST", problem.file, problem.line, message, problem.column)
    message = (
        f"{problem.message}: a template of another tool (not valid YAML as written, so"
        " `kubectl apply -f` cannot apply it); not checked here"
    )
    return Problem("GK-TEMPLATE", problem.file, problem.line, message, problem.column)


def is_object(obj: Any) -> bool:
    return isinstance(obj, dict) and "kind" in obj and "apiVersion" in obj


def load(
    path: str, data: bytes, context: LoadContext | None = None, applied: bool = False
) -> Loaded:
    """The objects of a manifest file. `applied`: a deployer applies the file as written (a
    directory Application, a Flux path without a kustomization), even a chart's template."""
    loaded = Loaded()
    if context is not None and not applied and rendered_elsewhere(path, context):
        return loaded  # a chart's template or an overlay's patch: rendered by helm/kustomize
    if context is not None and not applied and rendered_copy(path, data, context):
        return loaded  # helm's output of a chart of this repository, judged in the chart
    if context is not None and not applied:  # a Go test's golden file of a chart's output
        golden = golden_files.notice(path, data, context.tree)
        if golden is not None:
            loaded.problems.append(golden)
            return loaded
    quiet = _other_tool(path)
    if (quiet or path.lower().endswith(".json")) and not looks_like_objects(data):
        # A JSON file that cannot spell `apiVersion` and `kind` is some tool's settings
        # (`.vscode/settings.json` with comments), never an object: its syntax is not ours.
        return loaded
    problem = check_bytes(path, data)
    if problem is not None:
        loaded.problems.append(problem)
        return loaded
    text = decode(data)
    # Another tool's template ({{ }}) that is not valid YAML is nothing a deployer applies.
    quiet = quiet and "{{" in text
    others: list[Manifest] = []
    # An envsubst template is judged as envsubst fills it; as written where a deployer applies
    # the file itself (its placeholders reach the API server).
    substitute = not applied and envsubst.MARK in text
    first_placeholder = 0
    for index, entry in enumerate(_entries(path, text, substitute)):
        if isinstance(entry, Problem):
            problem = entry if applied else _template_notice(entry, text, data)
            if not quiet and not (problem.code == "GK-TEMPLATE" and _chart_data(path, context)):
                loaded.problems.append(problem)
            continue
        if entry.duplicate_keys and (applied or is_object(entry.obj) or looks_like_objects(data)):
            loaded.problems.extend(duplicate_problems(path, entry.duplicate_keys))
        if is_object(entry.obj):
            if substitute and isinstance(entry, _Filled):
                line = entry.placeholder
                first_placeholder = min(first_placeholder or line, line or first_placeholder)
            _add(loaded, path, entry, index)
        elif entry.obj is not None:
            others.append(entry)
    if context is not None and not applied:  # a Go test's templates: one notice a folder
        loaded.problems = golden_files.fold_templates(path, loaded.problems, context.tree)
    if first_placeholder:
        loaded.problems.append(envsubst.note(path, first_placeholder))
    if context is not None and not applied and loaded.documents:  # `kubectl apply -n X -f`
        from gatekeeper.deployer_scope import placed_by_ci

        loaded.documents = placed_by_ci(loaded.documents, path, context.tree)
    if context is not None:  # Applications and Flux objects bring what they deploy
        from gatekeeper.sources import gitops

        gitops.expand_made(loaded, context)
    if (loaded.documents or loaded.problems) and (applied or looks_like_objects(data)):
        # In a file of manifests, a document that is not an object is an error, not noise;
        # a file that cannot spell apiVersion and kind is none (a site's config.yaml whose
        # duplicate key made it one: sealed-secrets' site/config.yaml, session 16).
        for entry in others:
            line = entry.locator.locate(()).line
            what = "an object" if not isinstance(entry.obj, dict) else "a Kubernetes object"
            missing = [
                key
                for key in ("apiVersion", "kind")
                if isinstance(entry.obj, dict) and key not in entry.obj
            ]
            detail = (
                f" (missing {', '.join(missing)})" if missing else f" ({type(entry.obj).__name__})"
            )
            loaded.problems.append(
                Problem("GK-NOT-AN-OBJECT", path, line, f"document is not {what}{detail}")
            )
    return loaded


class _Filled(Manifest):
    """A document of an envsubst template as envsubst fills it, and its first placeholder's
    line (0: none)."""

    placeholder: int = 0


def _entries(path: str, text: str, substitute: bool) -> Iterable[Manifest | Problem]:
    """The documents of a manifest file, filled as envsubst fills them when `substitute`.

    Most files with a `${` have no value that is a placeholder and nothing else (a `${TAG}`
    inside an image, a shell script's `${HOME}`): nothing to fill, so the documents read from
    events are the answer, and only a file with such a value is composed and filled."""
    if not substitute:
        return manifests(path, text)
    entries = list(manifests(path, text))
    if not any(
        isinstance(entry, Manifest) and is_object(entry.obj) and envsubst.has_placeholder(entry.obj)
        for entry in entries
    ):
        return entries
    return _filled(path, text)


def _filled(path: str, text: str) -> Iterator[Manifest | Problem]:
    """The documents of an envsubst template, filled (envsubst.filled reads the composed
    nodes: the composer, not the event reader)."""
    for entry in load_all(path, text):
        if isinstance(entry, Problem):
            yield entry
            continue
        line = 0
        if is_object(entry.obj):
            entry, line = envsubst.filled(entry)
        made = _Filled(entry.obj, NodeLocator(path, entry.node), entry.duplicate_keys)
        made.placeholder = line
        yield made


def _add(loaded: Loaded, path: str, entry: Manifest, index: int) -> None:
    locator = entry.locator
    obj = entry.obj
    if is_list(obj):
        add_items(loaded, path, obj, locator, index)
        return
    document = make_document(path, obj, locator, index)
    loaded.documents.append(document)


def add_items(loaded: Loaded, path: str, obj: dict[str, Any], locator: Any, index: int) -> None:
    """A list's items as documents (each located inside it, those of lists within it too), or
    a problem for one that is not an object."""
    for item_path, item in list_items(obj):
        if is_object(item):
            loaded.documents.append(
                make_document(path, item, SubLocator(locator, item_path), index)
            )
        else:
            line = locator.locate(item_path).line
            loaded.problems.append(
                Problem("GK-NOT-AN-OBJECT", path, line, "List item is not a Kubernetes object")
            )


def make_document(path: str, obj: dict[str, Any], locator: Any, index: int) -> Document:
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        metadata = {}
    return Document(
        source=NAME,
        file=path,
        obj=obj,
        locator=locator,
        index=index,
        kind=str(obj.get("kind", "")),
        namespace=str(metadata.get("namespace") or ""),
        name=str(metadata.get("name") or metadata.get("generateName") or ""),
    )
