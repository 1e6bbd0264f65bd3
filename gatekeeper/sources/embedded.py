"""Manifests inside other objects, applied as they are by the controller that reads them.

Crossplane's provider-kubernetes `Object` applies `spec.forProvider.manifest`; Open Cluster
Management's `ManifestWork` applies `spec.workload.manifests` on a managed cluster; a Tekton
`TriggerTemplate` creates its `spec.resourcetemplates` on every event; Katib runs each
trial as `spec.trialTemplate.trialSpec`. A privileged Pod written there reached the cluster
with no finding (red team r03); here each embedded object is a document of its own, located
where it is written, and every policy judges it.

Some controllers read manifests written as text: Cluster API's ClusterResourceSet applies
the data of the ConfigMaps and Secrets it names on every matching workload cluster, kapp-
controller deploys an App's inline files and the ConfigMaps/Secrets of `pathsFrom`, Fleet a
Bundle's `resources[].content`, Sveltos the ConfigMaps a profile names. Any ConfigMap or
Secret value that is a manifest (a YAML stream of objects with `apiVersion` and `kind`) is
judged: which controller reads a ConfigMap is not written in it, and a PR author could name
it from anywhere (red team r03c). Fields of a manifest in a literal block (`|`) are located
at their own line; elsewhere (quoted, folded, base64) at the string.

Objects are made inside every Kubernetes object, however it was loaded: a plain file, a
rendered chart, a built overlay, an Application's directory (a Crossplane Object in a chart's
template had no finding when only plain files were expanded).
"""

from __future__ import annotations

import base64
import binascii
import gzip
import re
from collections.abc import Callable
from typing import Any

from gatekeeper import lazy_re
from gatekeeper.document import Document, Location, Locator, Problem, SubLocator
from gatekeeper.fieldpath import WILDCARD, Path, Pattern, expand
from gatekeeper.kinds import matched_kind
from gatekeeper.sources import embedded_unknown, k3s_helmchart, kyverno_generate
from gatekeeper.sources.gitops import DEPLOYED_BY
from gatekeeper.sources.lists import list_items
from gatekeeper.workloads import CUSTOM_WORKLOADS, POD_TEMPLATE_PATHS
from gatekeeper.yamldoc import NodeLocator, decode, load_all

# Sources whose documents are Kubernetes objects (evaluate.KUBERNETES_SOURCES).
_KUBERNETES = frozenset({"kubernetes", "helm", "kustomize", "gitops"})
# A controller's output may hold another controller's input (an Object making a ConfigMap a
# ClusterResourceSet applies): followed this deep.
_MAX_DEPTH = 4
# Text values longer than this are not read as manifests (a bundled CRD set is data too,
# but a multi-megabyte string is a blob, not something a reviewer wrote by hand).
_MAX_TEXT = 1_000_000

# (API group, kind) -> where the manifests it applies are written.
EMBEDDING: dict[tuple[str, str], tuple[Pattern, ...]] = {
    ("kubernetes.crossplane.io", "Object"): (("spec", "forProvider", "manifest"),),
    ("work.open-cluster-management.io", "ManifestWork"): (
        ("spec", "workload", "manifests", WILDCARD),
    ),
    ("work.open-cluster-management.io", "ManifestWorkReplicaSet"): (
        ("spec", "manifestWorkTemplate", "workload", "manifests", WILDCARD),
    ),
    ("triggers.tekton.dev", "TriggerTemplate"): (("spec", "resourcetemplates", WILDCARD),),
    ("kubeflow.org", "Experiment"): (("spec", "trialTemplate", "trialSpec"),),
    # KubeVela: a `k8s-objects` component's objects, a `raw` component's properties.
    ("core.oam.dev", "Application"): (
        ("spec", "components", WILDCARD, "properties", "objects", WILDCARD),
        ("spec", "components", WILDCARD, "properties"),
    ),
    # Argo Events: a trigger creating (or patching) an object each time its event fires.
    ("argoproj.io", "Sensor"): tuple(
        ("spec", "triggers", WILDCARD, "template", trigger, "source", "resource")
        for trigger in ("k8s", "argoWorkflow")
    ),
}


def _plain(text: str, _: dict[str, Any]) -> str | None:
    return text


def _base64(text: str, _: dict[str, Any]) -> str | None:
    try:
        return base64.b64decode(text, validate=False).decode("utf-8")
    except (binascii.Error, ValueError):
        return None


def _fleet(text: str, resource: dict[str, Any]) -> str | None:
    """A Fleet Bundle resource's content, as its `encoding` says it is written."""
    encoding = str(resource.get("encoding") or "")
    if not encoding:
        return text
    try:
        raw = base64.b64decode(text, validate=False)
        if encoding == "base64+gz":
            raw = gzip.decompress(raw)
        return raw.decode("utf-8") if encoding in ("base64", "base64+gz") else None
    except (binascii.Error, ValueError, OSError, EOFError):
        return None


Reader = Callable[[str], "bytes | None"]
# A key whose value is a literal block: `key: |`, `- |-`, `key: |+ # comment`.
_BLOCK_START = lazy_re.compile(r"(?:^|[:-])\s*\|[-+]?\s*(?:#.*)?$")
Decoder = Callable[[str, dict[str, Any]], "str | None"]
# (API group, kind) -> where manifests are written as text, how the text is encoded, and how
# many keys up the field that says the encoding sits (0: none).
TEXT_EMBEDDING: dict[tuple[str, str], tuple[tuple[Pattern, Decoder, int], ...]] = {
    ("", "ConfigMap"): ((("data", WILDCARD), _plain, 0),),
    ("", "Secret"): (
        (("stringData", WILDCARD), _plain, 0),
        (("data", WILDCARD), _base64, 0),
    ),
    ("fleet.cattle.io", "Bundle"): ((("spec", "resources", WILDCARD, "content"), _fleet, 1),),
    ("kappctrl.k14s.io", "App"): (
        (("spec", "fetch", WILDCARD, "inline", "paths", WILDCARD), _plain, 0),
    ),
    # k3s/RKE2 helm-controller: an inline chart archive, rendered with the object's values.
    k3s_helmchart.KEY: ((("spec", "chartContent"), k3s_helmchart.rendered, 2),),
}


def _key(obj: dict[str, Any]) -> tuple[str, str]:
    return str(obj.get("apiVersion") or "").rpartition("/")[0], str(obj.get("kind") or "")


def embedding(obj: dict[str, Any]) -> tuple[Pattern, ...]:
    return EMBEDDING.get(_key(obj), ())


def with_made(documents: list[Document], read: Reader = lambda _: None) -> list[Document]:
    """`documents`, each Kubernetes object followed by the objects it makes a controller
    create or apply (embedded manifests, Kyverno generate rules), theirs after them.
    `read`: a repository file's content (None: unknown), to locate manifests written as
    text at their own lines."""
    out: list[Document] = []
    for document in documents:
        out.append(document)
        if document.source in _KUBERNETES and isinstance(document.obj, dict):
            out.extend(_made(document, read, _MAX_DEPTH))
    return out


def _made(document: Document, read: Reader, depth: int) -> list[Document]:
    obj = document.obj
    made: list[Document] = []
    if kyverno_generate.is_generating(obj):  # what its generate rules create
        made.extend(kyverno_generate.generated(document))
    made.extend(objects(document))
    made.extend(_from_text(document, read))
    made.extend(unknown_made(document))
    out: list[Document] = []
    for each in made:
        out.append(each)
        if depth > 1 and isinstance(each.obj, dict):
            out.extend(_made(each, read, depth - 1))
    return out


def objects(document: Document) -> list[Document]:
    """The objects `document` makes its controller apply, each a document of its own."""
    obj = document.obj
    out: list[Document] = []
    for pattern in embedding(obj) if isinstance(obj, dict) else ():
        for path, found in expand(obj, pattern):
            if _is_object(found):
                out.append(_document(document, found, SubLocator(document.locator, tuple(path))))
    return out


def _is_object(found: Any) -> bool:
    return isinstance(found, dict) and "kind" in found and "apiVersion" in found


def unknown_made(document: Document) -> list[Document]:
    """The objects and pods a custom resource of a kind no table knows makes (see
    embedded_unknown): objects as written, pod specs as Pods named after the resource."""
    obj = document.obj
    if not isinstance(obj, dict) or not _unknown(obj):
        return []
    out: list[Document] = []
    for what, path, found in embedded_unknown.found_in(obj):
        if what == "object":
            for label, each in embedded_unknown.per_input(obj, found):
                made = _document(document, each, SubLocator(document.locator, path))
                if label:
                    made.extra["variant"] = f"{made.extra['variant']}, {label}"
                _unknown_where_computed(made)
                out.append(made)
            continue
        holder = _at(obj, path[:-1]) if path and path[-1] == "spec" else None
        template = holder.get("metadata") if isinstance(holder, dict) else None
        metadata = dict(template) if isinstance(template, dict) else {}
        outer = obj.get("metadata")
        for key in ("name", "namespace"):
            if isinstance(outer, dict) and key in outer and key not in metadata:
                metadata[key] = outer[key]
        olm = _olm_placeholder(obj) and metadata.get("namespace") == OLM_PLACEHOLDER
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": dict(found)}
        where = (*path[:-1], "metadata") if isinstance(template, dict) else None
        made = _document(document, pod, _PodLocator(document.locator, path, where))
        if olm:
            made.extra["inventory_namespace"] = OLM_INSTALL_NAMESPACE
        _unknown_where_computed(made)
        out.append(made)
    return out


# operator-sdk's `generate bundle` writes a ClusterServiceVersion into `namespace:
# placeholder`; OLM runs its deployments in the namespace it installs the operator into
# (the OperatorGroup's), chosen at install. Not a valid name, as a chart's release namespace
# (helm.RELEASE_NAMESPACE_UNKNOWN): repository-scope rules (K8S-NETWORK-POLICY-PRESENT) do
# not take "placeholder" for a namespace someone has to protect. The pods' own findings keep
# the namespace as written (their fingerprints, hence waivers, unchanged).
OLM_PLACEHOLDER = "placeholder"
OLM_INSTALL_NAMESPACE = "{{ OLM install namespace }}"


def _olm_placeholder(obj: dict[str, Any]) -> bool:
    """Is this an OLM ClusterServiceVersion written into operator-sdk's placeholder?"""
    metadata = obj.get("metadata")
    return (
        _key(obj) == ("operators.coreos.com", "ClusterServiceVersion")
        and isinstance(metadata, dict)
        and metadata.get("namespace") == OLM_PLACEHOLDER
    )


def _unknown_where_computed(made: Document) -> None:
    """Fields the controller computes from its own resource (embedded_unknown.expressions)
    are unknown to the policies, as Terraform's values known only at apply."""
    computed = embedded_unknown.expressions(made.obj)
    if computed:
        made.extra["unknown"] = (*made.extra.get("unknown", ()), *computed)


def _unknown(obj: dict[str, Any]) -> bool:
    key = _key(obj)
    group, kind = key
    if key in EMBEDDING or key in TEXT_EMBEDDING or key in CUSTOM_WORKLOADS:
        return False
    if kind in POD_TEMPLATE_PATHS and matched_kind(kind, obj.get("apiVersion"), obj) == kind:
        return False  # shaped like the built-in workload it is named after: judged as one
    return embedded_unknown.is_unknown(group, kind)


class _PodLocator:
    """A pod spec found inside a custom resource, as a Pod: its `spec` at the mapping, its
    `metadata` at the template's beside it (else the resource's name, else the mapping)."""

    def __init__(self, parent: Locator, spec: Path, metadata: Path | None) -> None:
        self.parent = parent
        self.spec = spec
        self.metadata = metadata

    def locate(self, path: Path) -> Location:
        if path[:1] == ("metadata",) and self.metadata is not None:
            found = self.parent.locate((*self.metadata, *path[1:]))
            if found.exact or len(path) < 2:
                return found
        if path[:1] == ("metadata",) and path[1:2] in (("name",), ("namespace",)):
            found = self.parent.locate(path[:2])
            if found.exact:
                return found
        if path[:1] == ("spec",):
            return self.parent.locate((*self.spec, *path[1:]))
        return self.parent.locate(self.spec)


def _document(document: Document, found: dict[str, Any], locator: Locator) -> Document:
    metadata = found.get("metadata")
    named = metadata if isinstance(metadata, dict) else {}
    label = f"{DEPLOYED_BY}{document.file}:{document.name} ({document.kind})"
    outer = document.extra.get("variant")
    return Document(
        source=document.source,
        file=document.file,
        obj=found,
        locator=locator,
        index=document.index,
        kind=str(found.get("kind", "")),
        namespace=str(named.get("namespace") or ""),
        name=str(named.get("name") or ""),
        extra={**document.extra, "variant": f"{outer}, {label}" if outer else label},
    )


def _from_text(document: Document, read: Reader) -> list[Document]:
    """The objects of manifests `document` holds as text (TEXT_EMBEDDING)."""
    out: list[Document] = []
    for pattern, decoder, up in TEXT_EMBEDDING.get(_key(document.obj), ()):
        for path, found in expand(document.obj, pattern):
            if not isinstance(found, str) or len(found) > _MAX_TEXT:
                continue
            holder = _at(document.obj, tuple(path[: len(path) - up])) if up else {}
            manifest = decoder(found, holder if isinstance(holder, dict) else {})
            if manifest is None or "apiVersion" not in manifest or "kind" not in manifest:
                continue
            block = (
                _literal_block(document, tuple(path), manifest, read) if manifest is found else None
            )
            for entry in load_all(document.file, manifest):
                if isinstance(entry, Problem) or not isinstance(entry.obj, dict):
                    continue  # data that is not a manifest: nothing a controller applies
                inner = NodeLocator(document.file, entry.node)
                locator = _TextLocator(document.locator, tuple(path), inner, block)
                items = entry.obj.get("items")
                if isinstance(items, list):  # a List: its items are applied (Lists' in it too)
                    out.extend(
                        _document(document, item, SubLocator(locator, where))
                        for where, item in list_items(entry.obj)
                        if _is_object(item)
                    )
                elif _is_object(entry.obj):
                    out.append(_document(document, entry.obj, locator))
    return out


def _at(obj: Any, path: Path) -> Any:
    for key in path:
        if isinstance(obj, dict) and isinstance(key, str):
            obj = obj.get(key)
        elif isinstance(obj, list) and isinstance(key, int) and 0 <= key < len(obj):
            obj = obj[key]
        else:
            return None
    return obj


def _literal_block(
    document: Document, path: Path, manifest: str, read: Reader
) -> tuple[int, int, str] | None:
    """(line of the block's first line, indentation of its lines, the file) when the string
    at `path` is written in its file as a literal block (`|`) whose lines are the string's:
    each line of the string is then one line of the file, shifted right by the indentation;
    or is a whole file (a kustomize generator's `files:` entry: line 0, no indentation).
    Checked against the file's text, so a template (a chart's) that renders other lines is
    not taken for one."""
    location = document.locator.locate(path)
    data = read(location.file) if location.exact else None
    if data is None:
        return None
    try:
        lines = decode(data).splitlines()
    except UnicodeDecodeError:
        return None
    if location.line == 1 and lines == manifest.rstrip("\n").split("\n"):
        return 0, 0, location.file  # the file is the string (a generator's `files:` entry)
    row = location.line - 1
    if not (0 <= row < len(lines) and _BLOCK_START.search(lines[row])):
        return None
    wanted = manifest.rstrip("\n").split("\n")
    written = lines[row + 1 : row + 1 + len(wanted)]
    first = next((line for line in written if line.strip()), None)
    if first is None or len(written) < len(wanted):
        return None
    indent = len(first) - len(first.lstrip(" "))
    for want, line in zip(wanted, written, strict=True):
        if not line.startswith(" " * indent) or not _renders(line[indent:], want):
            return None
    return row + 1, indent, location.file


# A template's action on one line of a block: `{{ .Values.image }}`, `{{- $x -}}`.
_ACTION = lazy_re.compile(r"\{\{.*?\}\}")


def _renders(written: str, rendered: str) -> bool:
    """Did the written line give the rendered one? Literally, or (a chart's template) with
    its actions rendering text on the same line: `image: {{ .Values.image }}`."""
    if not rendered:
        return not written.strip()
    if written == rendered:
        return True
    if "{{" not in written or written.lstrip().startswith("{{"):
        return False  # a line that begins with an action may render lines of its own
    literal = (re.escape(part) for part in _ACTION.split(written))
    return re.fullmatch("[^\n]*?".join(literal), rendered) is not None


class _TextLocator:
    """Fields of a manifest written as a string: in a literal block, at their own line of the
    file; otherwise at the string (not exact)."""

    def __init__(
        self, parent: Locator, at: Path, inner: NodeLocator, block: tuple[int, int, str] | None
    ) -> None:
        self.parent = parent
        self.at = at
        self.inner = inner
        self.block = block

    def locate(self, path: Path) -> Location:
        if self.block is None:
            return self.parent.locate(self.at)._replace(exact=False)
        found = self.inner.locate(path)
        line, indent, file = self.block
        return found._replace(
            file=file,
            line=found.line + line,
            column=found.column + indent,
            end_line=found.end_line + line,
            end_column=found.end_column + indent,
        )
