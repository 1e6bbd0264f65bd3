"""Terraform resources that deploy Kubernetes objects, judged as the objects they apply.

`terraform apply` creates in the cluster what these resources describe, so a privileged pod
written in HCL must meet every Kubernetes policy, as it would in a manifest (red team r01-r03):

- the kubernetes provider's pod-carrying resources (`kubernetes_pod_v1`, `kubernetes_deployment`,
  `kubernetes_daemon_set_v1`, ...): their `metadata {}` and `spec {}` blocks become the object
  the provider sends (its `expand*` functions): snake_case names in camelCase, a block the
  schema allows once an object, a repeated one a list under the API's plural name
  (`container` -> `containers`), attribute maps (labels, resource limits) kept as written;
- `kubernetes_manifest`: its `manifest` is the object;
- `kubectl_manifest` (gavinbunney/kubectl, alekc/kubectl) and the `kubectl_file_documents`
  data source: `yaml_body` / `content` is the YAML applied;
- `helm_release` of a chart of this repository (`chart = "${path.module}/charts/app"`, no
  `repository`): rendered with the real Helm engine, its `values` layered over the chart's
  and its `set` / `set_sensitive` / `set_list` applied over all as `--set` (Argo CD's
  parameters are: sources/helm_set), release name and namespace from the resource (red
  team r05). A remote chart is reported not expanded; a `postrender` program is a blocking
  GK-LOCAL-NOT-EXPANDED (what it changes is never seen).

The objects are documents of the `kubernetes` source, so every Kubernetes policy (and pod
security admission, schema checks) judges them while Terraform policies do not see them; each
is located at the HCL lines its fields are written at and named by the resource that deploys
it (its variant). A value Terraform knows only at apply (`var.x` with no value, `"${...}"`)
is left out of the object and no finding is reported at (or inside) its field: unknown passes,
as it does for Terraform policies.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from gatekeeper import lazy_re
from gatekeeper.document import Document, Loaded, Location, Locator, Problem, SubLocator
from gatekeeper.fieldpath import Path, get
from gatekeeper.sources import LoadContext
from gatekeeper.sources.gitops import DEPLOYED_BY
from gatekeeper.tree import Tree
from gatekeeper.yamldoc import NodeLocator, YamlDocument, load_all

# The provider's pod-carrying resources -> (apiVersion, kind) of the object they apply.
POD_RESOURCES: dict[str, tuple[str, str]] = {
    "kubernetes_pod": ("v1", "Pod"),
    "kubernetes_pod_v1": ("v1", "Pod"),
    "kubernetes_deployment": ("apps/v1", "Deployment"),
    "kubernetes_deployment_v1": ("apps/v1", "Deployment"),
    "kubernetes_daemonset": ("apps/v1", "DaemonSet"),
    "kubernetes_daemon_set_v1": ("apps/v1", "DaemonSet"),
    "kubernetes_stateful_set": ("apps/v1", "StatefulSet"),
    "kubernetes_stateful_set_v1": ("apps/v1", "StatefulSet"),
    "kubernetes_job": ("batch/v1", "Job"),
    "kubernetes_job_v1": ("batch/v1", "Job"),
    "kubernetes_cron_job": ("batch/v1beta1", "CronJob"),  # the provider's v1beta1 resource
    "kubernetes_cron_job_v1": ("batch/v1", "CronJob"),
    "kubernetes_replication_controller": ("v1", "ReplicationController"),
    "kubernetes_replication_controller_v1": ("v1", "ReplicationController"),
    # What pod rules read beside the pods: a namespace's Pod Security labels, its policies.
    "kubernetes_namespace": ("v1", "Namespace"),
    "kubernetes_namespace_v1": ("v1", "Namespace"),
    "kubernetes_network_policy": ("networking.k8s.io/v1", "NetworkPolicy"),
    "kubernetes_network_policy_v1": ("networking.k8s.io/v1", "NetworkPolicy"),
}
# The provider's RBAC resources -> (apiVersion, kind, the blocks beside `metadata` that hold
# the object: it has no `spec`). A binding of cluster-admin written in HCL is the binding
# `terraform apply` creates (red team t01 of session 12: it passed unjudged).
_RBAC = "rbac.authorization.k8s.io/v1"
_BINDING_BLOCKS = ("role_ref", "subject")
_ROLE_BLOCKS = ("rule", "aggregation_rule")
_ADMISSION = "admissionregistration.k8s.io/v1"
_CONFIG_MAP = ("data", "binary_data", "immutable")
_SECRET = ("data", "binary_data", "type", "immutable")
_MUTATING = (_ADMISSION, "MutatingWebhookConfiguration", ("webhook",))
_VALIDATING = (_ADMISSION, "ValidatingWebhookConfiguration", ("webhook",))
TOP_LEVEL_RESOURCES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "kubernetes_cluster_role_binding": (_RBAC, "ClusterRoleBinding", _BINDING_BLOCKS),
    "kubernetes_cluster_role_binding_v1": (_RBAC, "ClusterRoleBinding", _BINDING_BLOCKS),
    "kubernetes_role_binding": (_RBAC, "RoleBinding", _BINDING_BLOCKS),
    "kubernetes_role_binding_v1": (_RBAC, "RoleBinding", _BINDING_BLOCKS),
    "kubernetes_cluster_role": (_RBAC, "ClusterRole", _ROLE_BLOCKS),
    "kubernetes_cluster_role_v1": (_RBAC, "ClusterRole", _ROLE_BLOCKS),
    "kubernetes_role": (_RBAC, "Role", ("rule",)),
    "kubernetes_role_v1": (_RBAC, "Role", ("rule",)),
    # Admission webhooks: an external mutating one may change any pod (red team t10).
    "kubernetes_mutating_webhook_configuration": _MUTATING,
    "kubernetes_mutating_webhook_configuration_v1": _MUTATING,
    "kubernetes_validating_webhook_configuration": _VALIDATING,
    "kubernetes_validating_webhook_configuration_v1": _VALIDATING,
    # A Service's external IPs and node ports, a ConfigMap's data (red team t11).
    "kubernetes_service": ("v1", "Service", ("spec",)),
    "kubernetes_service_v1": ("v1", "Service", ("spec",)),
    "kubernetes_config_map": ("v1", "ConfigMap", _CONFIG_MAP),
    "kubernetes_config_map_v1": ("v1", "ConfigMap", _CONFIG_MAP),
    # A Secret's data (red team s25: a literal password in HCL was green). The provider
    # takes `data` as plain text and base64-encodes it: the API's `stringData`.
    "kubernetes_secret": ("v1", "Secret", _SECRET),
    "kubernetes_secret_v1": ("v1", "Secret", _SECRET),
    # An Ingress's annotations (an nginx snippet proxying to the metadata endpoint) and rules.
    "kubernetes_ingress_v1": ("networking.k8s.io/v1", "Ingress", ("spec",)),
}
# Attributes (not blocks) of those resources that are fields of the object.
_TOP_LEVEL_ATTRIBUTES = frozenset((*_CONFIG_MAP, *_SECRET))
# Attributes holding YAML that the kubectl provider applies, by resource type.
YAML_ATTRIBUTES = {"kubectl_manifest": "yaml_body", "data.kubectl_file_documents": "content"}
DEPLOYING_KINDS = frozenset(
    {
        *POD_RESOURCES,
        *TOP_LEVEL_RESOURCES,
        "kubernetes_labels",
        *YAML_ATTRIBUTES,
        "kubernetes_manifest",
        "helm_release",
    }
)
# What `${path.module}` and its kin name in a chart path: the module's directory here.
_PATH_NAMES = lazy_re.compile(r"\$\{path\.(?:module|root|cwd)\}")

# Blocks the schema repeats: the API's list under its plural name.
_LIST_BLOCKS = {
    "container": "containers",
    "init_container": "initContainers",
    "readiness_gate": "readinessGates",
    "host_aliases": "hostAliases",
    "image_pull_secrets": "imagePullSecrets",
    "toleration": "tolerations",
    "volume": "volumes",
    "topology_spread_constraint": "topologySpreadConstraints",
    "option": "options",
    "sysctl": "sysctls",
    "port": "ports",
    "env": "env",
    "env_from": "envFrom",
    "volume_mount": "volumeMounts",
    "volume_device": "volumeDevices",
    "http_header": "httpHeaders",
    "items": "items",
    "sources": "sources",
    "match_expressions": "matchExpressions",
    "match_fields": "matchFields",
    "node_selector_term": "nodeSelectorTerms",
    "preferred_during_scheduling_ignored_during_execution": (
        "preferredDuringSchedulingIgnoredDuringExecution"
    ),
    "required_during_scheduling_ignored_during_execution": (
        "requiredDuringSchedulingIgnoredDuringExecution"
    ),
    "volume_claim_template": "volumeClaimTemplates",
    "rule": "rules",
    "on_pod_condition": "onPodConditions",
    "cluster_role_selectors": "clusterRoleSelectors",
}
# ... and those of one kind only.
_KIND_LISTS = {
    "NetworkPolicy": {name: name for name in ("ingress", "egress", "from", "to", "ports")},
    "ClusterRoleBinding": {"subject": "subjects"},
    "RoleBinding": {"subject": "subjects"},
    "MutatingWebhookConfiguration": {"webhook": "webhooks"},
    "ValidatingWebhookConfiguration": {"webhook": "webhooks"},
    "Ingress": {"rule": "rules", "path": "paths", "tls": "tls"},
}
# Names the API spells otherwise than camelCase would.
_RENAMED = {
    "host_pid": "hostPID",
    "host_ipc": "hostIPC",
    "host_ip": "hostIP",
    "ceph_fs": "cephfs",
    "target_ww_ns": "targetWWNs",
    "data_disk_uri": "diskURI",
    "dataset_uuid": "datasetUUID",
    "rbd_image": "image",
    "rbd_pool": "pool",
    "rados_user": "user",
    "ceph_monitors": "monitors",
    "timezone": "timeZone",
    "non_resource_urls": "nonResourceURLs",
    "external_ips": "externalIPs",
    "cluster_ip": "clusterIP",
    "cluster_ips": "clusterIPs",
    "load_balancer_ip": "loadBalancerIP",
    "client_ip": "clientIP",
}
# Integers the provider's schema takes as strings (`run_as_user = "0"`).
_INTEGERS = frozenset({"runAsUser", "runAsGroup", "fsGroup", "replicas"})
_INT_OR_STRING = frozenset({"port"})  # a probe's port: a number, or a port's name
_DIGITS = lazy_re.compile(r"^[0-9]+$")


def is_unknown(value: Any) -> bool:
    """A value Terraform knows only at apply (sources/terraform.py writes it `${...}`)."""
    return isinstance(value, str) and "${" in value


def objects(document: Document, context: LoadContext) -> Loaded:
    """The Kubernetes objects a Terraform document (a resource or data source) applies."""
    kind, obj = document.kind, document.obj
    if not isinstance(obj, dict) or kind not in DEPLOYING_KINDS:
        return Loaded()
    if kind in POD_RESOURCES or kind in TOP_LEVEL_RESOURCES:
        made = _provider_object(document)
        return Loaded(documents=[made] if made is not None else [])
    if kind == "kubernetes_labels":
        made = _namespace_labels(document)
        return Loaded(documents=[made] if made is not None else [])
    if kind == "kubernetes_manifest":
        manifest = obj.get("manifest")
        if not isinstance(manifest, dict):
            return Loaded()
        unknown: list[Path] = []
        known = as_typed(known_part(manifest, (), unknown))
        return Loaded(
            documents=[_made(document, known, SubLocator(document.locator, ("manifest",)), unknown)]
        )
    if kind == "helm_release":
        return _release(document, context)
    return _yaml_objects(document, YAML_ATTRIBUTES[kind], context.tree)


# --- the kubernetes provider's resources ---------------------------------------------------


@dataclass(frozen=True)
class _MappedLocator:
    """Fields of the object the provider makes, at the HCL lines they come from."""

    parent: Locator
    paths: dict[Path, Path]  # object path -> path in the resource's values

    def locate(self, path: Path) -> Location:
        for end in range(len(path), -1, -1):
            mapped = self.paths.get(tuple(path[:end]))
            if mapped is not None:
                # Past a converted block, the rest is a map or a list written as the API reads it.
                return self.parent.locate((*mapped, *path[end:]))
        return self.parent.locate(())


def _provider_object(document: Document) -> Document | None:
    if document.kind in TOP_LEVEL_RESOURCES:
        api_version, kind, others = TOP_LEVEL_RESOURCES[document.kind]
    else:
        (api_version, kind), others = POD_RESOURCES[document.kind], ("spec",)
    paths: dict[Path, Path] = {(): ()}
    unknown: list[Path] = []
    obj: dict[str, Any] = {"apiVersion": api_version, "kind": kind}
    lists = {**_LIST_BLOCKS, **_KIND_LISTS.get(kind, {})}
    blocks = document.obj.get("metadata")
    if not (isinstance(blocks, list) and blocks and isinstance(blocks[0], dict)):
        return None
    obj["metadata"] = _block(blocks[0], ("metadata", 0), ("metadata",), "", lists, paths, unknown)
    paths[("metadata",)] = ("metadata", 0)
    # The other blocks as those of one block holding them: `spec` once, `subject` a list.
    body = {
        key: document.obj[key]
        for key in others
        if _is_blocks(document.obj.get(key))
        or (key in _TOP_LEVEL_ATTRIBUTES and document.obj.get(key) is not None)
    }
    obj.update(_block(body, (), (), "", lists, paths, unknown))
    if kind in ("ClusterRoleBinding", "RoleBinding"):
        _default_subject_namespace(obj)
    if kind == "Secret":
        _secret_fields(obj, paths, unknown)
    return _made(document, as_typed(obj), _MappedLocator(document.locator, paths), unknown)


def _namespace_labels(document: Document) -> Document | None:
    """`kubernetes_labels` of a Namespace: the labels it sets on a namespace that already
    exists (`pod-security.kubernetes.io/enforce = "privileged"` turned Pod Security off for
    `app` with a green check: red team t10 of session 12), judged as that Namespace with
    them. Other kinds are left alone: the object's other fields are not in the repository,
    and judging a Deployment without its spec would say what is not so."""
    obj = document.obj
    if obj.get("kind") != "Namespace" or obj.get("api_version") != "v1":
        return None
    blocks, labels = obj.get("metadata"), obj.get("labels")
    if not (isinstance(blocks, list) and blocks and isinstance(blocks[0], dict)):
        return None
    if not isinstance(blocks[0].get("name"), str) or not isinstance(labels, dict):
        return None
    # What the resource writes is its labels: a finding at the metadata is at them.
    paths: dict[Path, Path] = {
        (): (),
        ("metadata",): ("labels",),
        ("metadata", "labels"): ("labels",),
    }
    paths[("metadata", "name")] = ("metadata", 0, "name")
    unknown: list[Path] = []
    metadata = {
        "name": blocks[0]["name"],
        "labels": known_part(labels, ("metadata", "labels"), unknown),
    }
    made = {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}
    return _made(document, made, _MappedLocator(document.locator, paths), unknown)


def _default_subject_namespace(binding: dict[str, Any]) -> None:
    """A subject's `namespace` defaults to "default" in the provider's schema
    (rbacSubjectSchema): a ServiceAccount written without one is default's."""
    subjects = binding.get("subjects")
    for subject in subjects if isinstance(subjects, list) else []:
        if isinstance(subject, dict) and subject.get("kind") == "ServiceAccount":
            subject.setdefault("namespace", "default")


def _block(
    body: dict[str, Any],
    written: Path,
    at: Path,
    parent: str,
    lists: dict[str, str],
    paths: dict[Path, Path],
    unknown: list[Path],
) -> dict[str, Any]:
    """One block as the provider expands it (see the module's docstring)."""
    out: dict[str, Any] = {}
    for key, value in body.items():
        single = key == "required_during_scheduling_ignored_during_execution" and (
            parent == "node_affinity"  # a NodeSelector; pod (anti-)affinity's is a list
        )
        # A list's name for repeated blocks only (an Ingress `path {}` block holds a `path`).
        many = key in lists and not single and _is_blocks(value)
        name = lists[key] if many else _RENAMED.get(key) or _camel(key)
        where = (*at, name)
        if _is_blocks(value):
            if many:
                items: list[Any] = []
                for index, item in enumerate(value):
                    place = (*where, index)
                    if is_unknown(item):  # kept in place: the items after it keep their index
                        unknown.append(place)
                        items.append({})
                        continue
                    paths[place] = (*written, key, index)
                    items.append(
                        _block(item, (*written, key, index), place, key, lists, paths, unknown)
                    )
                out[name] = items
            elif value and isinstance(value[0], dict):
                paths[where] = (*written, key, 0)
                out[name] = _block(value[0], (*written, key, 0), where, key, lists, paths, unknown)
            elif value:
                unknown.append(where)
            continue
        if is_unknown(value):
            unknown.append(where)
            continue
        paths[where] = (*written, key)
        out[name] = _typed(name, known_part(value, where, unknown))
    return out


def _secret_fields(obj: dict[str, Any], paths: dict[Path, Path], unknown: list[Path]) -> None:
    """A kubernetes_secret's fields as the API names them: the provider's `data` is plain
    text it encodes (the API's `stringData`), its `binary_data` base64 (the API's `data`)."""
    renamed = {"data": "stringData", "binaryData": "data"}
    for name in ("data", "binaryData"):
        if name in obj:
            obj[f"new:{renamed[name]}"] = obj.pop(name)
    for name in list(obj):
        if name.startswith("new:"):
            obj[name[4:]] = obj.pop(name)

    def moved(path: Path) -> Path:
        head = path[:1]
        return (renamed[str(head[0])], *path[1:]) if head and head[0] in renamed else path

    moved_paths = {moved(path): written for path, written in paths.items()}
    paths.clear()
    paths.update(moved_paths)
    unknown[:] = [moved(path) for path in unknown]


def _is_blocks(value: Any) -> bool:
    """Nested blocks read as a list of objects (an unknown item: a dynamic block's)."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(item, dict) or is_unknown(item) for item in value)
        and any(isinstance(item, dict) for item in value)
    ) or value == []


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def _typed(name: str, value: Any) -> Any:
    """Numbers the schema takes as strings, as the provider parses them."""
    if isinstance(value, str) and _DIGITS.match(value) and name in _INTEGERS | _INT_OR_STRING:
        return int(value)
    return value


def known_part(
    value: Any,
    at: Path,
    unknown: list[Path],
    unknown_if: Callable[[Any], bool] = is_unknown,
) -> Any:
    """`value` without what is unknown until it is applied (`unknown_if`: Terraform's values
    known only at apply by default; Pulumi's interpolations), whose paths go to `unknown`."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if unknown_if(item):
                unknown.append((*at, key))
            else:
                out[key] = known_part(item, (*at, key), unknown, unknown_if)
        return out
    if isinstance(value, list):
        # An unknown item stays in place (the items after it keep their index), said unknown.
        for index, item in enumerate(value):
            if unknown_if(item):
                unknown.append((*at, index))
        return [
            known_part(item, (*at, index), unknown, unknown_if) for index, item in enumerate(value)
        ]
    return value


def as_typed(obj: dict[str, Any]) -> dict[str, Any]:
    """The object with Terraform's conversions to the types the API takes (the kubernetes
    provider's schema, kubernetes_manifest's OpenAPI morphing): `"80"` for a number is 80,
    `true` or `8080` for a string is "true" or "8080" (the Terraform source reads a quoted
    "true" as a boolean for its own policies)."""
    from gatekeeper.kubeschema import shape_errors

    for error in shape_errors(obj):
        if not error.path or ("expected a string" not in error.message and error.as_read is None):
            continue
        holder = get(obj, error.path[:-1])
        key = error.path[-1]
        value = get(obj, error.path)
        if error.as_read is not None:
            fixed: Any = error.as_read
        elif isinstance(value, bool):
            fixed = "true" if value else "false"
        elif isinstance(value, (int, float)):
            fixed = str(value)
        else:
            continue
        if isinstance(holder, dict) or (isinstance(holder, list) and isinstance(key, int)):
            holder[key] = fixed  # type: ignore[index]
    return obj


# --- YAML the kubectl provider applies -----------------------------------------------------


def _yaml_objects(document: Document, attribute: str, tree: Tree) -> Loaded:
    from gatekeeper.sources.helm_set import located_at
    from gatekeeper.sources.kubernetes import is_object

    loaded = Loaded()
    text = document.obj.get(attribute)
    if not isinstance(text, str) or not text.strip():
        return loaded
    place = document.locator.locate((attribute,))
    heredoc = place.exact and _is_heredoc(tree, place)
    for entry in load_all(place.file, text):
        if not isinstance(entry, YamlDocument):
            # Unknown parts (`${var.x}`) may make it unreadable here: said, never dropped.
            message = f"{attribute} of {document.kind}.{document.name}: {entry.message}"
            line = place.line + entry.line if heredoc else place.line
            loaded.problems.append(Problem(entry.code, place.file, line, message))
            continue
        if not is_object(entry.obj):
            continue
        unknown: list[Path] = []
        known = known_part(entry.obj, (), unknown)
        locator = (
            NodeLocator(place.file, entry.node, place.line)
            if heredoc  # the heredoc's text starts on the line after `yaml_body = <<YAML`
            else NodeLocator(place.file, located_at(known, place.line - 1))
        )
        loaded.documents.append(_made(document, known, locator, unknown))
    return loaded


def _is_heredoc(tree: Tree, place: Location) -> bool:
    try:
        lines = tree.read(place.file).decode("utf-8", "replace").splitlines()
    except OSError:
        return False
    return 0 < place.line <= len(lines) and "<<" in lines[place.line - 1]


def _made(
    document: Document, obj: dict[str, Any], locator: Locator, unknown: list[Path]
) -> Document:
    from gatekeeper.sources.kubernetes import make_document

    made = make_document(document.file, obj, locator, document.index)
    deployer = f"{DEPLOYED_BY}{document.file}:{document.kind}.{document.name}"
    made.extra["variant"] = document.extra.get("variant") or deployer
    if unknown:
        made.extra["unknown"] = tuple(unknown)
    if "findings_in" in document.extra:  # an instantiated module: what the call causes
        made.extra["findings_in"] = document.extra["findings_in"]
    return made


# --- helm_release of a chart of this repository --------------------------------------------


def _inline_values(
    document: Document,
) -> tuple[list[tuple[dict[str, Any], NodeLocator]], list[Problem]]:
    """The mappings a helm_release's `values` strings hold, each located at its lines of the
    Terraform file, and a GK-PARSE-ERROR for each that is not YAML (unknown ones left out)."""
    from gatekeeper.sources import helm_set

    inline, problems = [], []
    values = document.obj.get("values")
    for index, text in enumerate(values if isinstance(values, list) else []):
        if not isinstance(text, str) or is_unknown(text):
            continue
        place = document.locator.locate(("values", index))
        for entry in load_all(document.file, text):
            if isinstance(entry, Problem):
                message = f"helm_release.{document.name} values: {entry.message}"
                problems.append(Problem("GK-PARSE-ERROR", place.file, place.line, message))
            elif isinstance(entry.obj, dict):
                node = helm_set.located_at(entry.obj, place.line - 1)
                inline.append((entry.obj, NodeLocator(place.file, node)))
    return inline, problems


def _given_values(document: Document, chart: str) -> list[Problem]:
    """The values a helm_release gives a chart not rendered here (`values`, `set`,
    `set_list`, `set_sensitive`), as chart_secrets candidates: a literal password in them is
    committed whatever the chart does (red team s25: `set { name = "auth.password", value =
    "..." }` of a remote chart was green, as Argo CD's and Flux's values were before s24).
    A `values` string that is not YAML is a GK-PARSE-ERROR here too: Helm would refuse it."""
    from gatekeeper import chart_secrets

    inline, found = _inline_values(document)
    for values, located in inline:
        found.extend(
            chart_secrets.candidates(
                document.file,
                chart,
                [(values, ())],
                lambda path, at=located: at.locate(path).line,  # type: ignore[misc]
            )
        )
    for _, entry, value, line in _known_sets(document):
        if isinstance(value, (dict, list)):
            continue
        tree: Any = _text(value)
        for part in reversed(entry["name"].replace("\\.", "\0").split(".")):
            tree = {part.replace("\0", "."): tree}
        found.extend(
            chart_secrets.candidates(
                document.file,
                chart,
                [(tree, ())],
                lambda path, at=line: at,  # type: ignore[misc]
            )
        )
    return found


def _known_sets(document: Document) -> Iterator[tuple[str, dict[str, Any], Any, int]]:
    """(attribute, entry, value, line of the value) of each `set`, `set_list` and
    `set_sensitive` entry of a helm_release whose name and value are known here."""
    for key in ("set", "set_list", "set_sensitive"):
        entries = document.obj.get(key)
        for index, entry in enumerate(entries if isinstance(entries, list) else []):
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                continue
            value = entry.get("value")
            if is_unknown(entry["name"]) or is_unknown(value):
                continue
            yield key, entry, value, document.locator.locate((key, index, "value")).line


def _release(document: Document, context: LoadContext) -> Loaded:
    from gatekeeper.sources import helm, helm_set

    obj, loaded = document.obj, Loaded()
    chart = obj.get("chart")
    if not isinstance(chart, str) or is_unknown(_PATH_NAMES.sub("", chart)):
        return loaded
    path = posixpath.normpath(posixpath.join(document.namespace, _PATH_NAMES.sub(".", chart)))
    chart_file = helm.chart_file(path)
    local = not obj.get("repository") and not path.startswith("../") and path != ".."
    if not local or not context.tree.exists(chart_file):
        line = document.locator.locate(("chart",)).line
        what = "a remote chart" if obj.get("repository") or "://" in chart else "not found here"
        message = f"helm_release.{document.name}: chart {chart} is {what}; not rendered"
        problems = [Problem("GK-NOT-EXPANDED", document.file, line, message)]
        return Loaded(problems=problems + _given_values(document, chart))
    postrender = obj.get("postrender")
    if postrender:  # a block (`postrender {}`), or the helm provider 3's object attribute
        # Helm pipes the rendered manifests through a program of the repository before
        # installing them (red team t08 of session 12): never run here, so not judged.
        line = document.locator.locate(("postrender",)).line
        message = (
            f"helm_release.{document.name}: its postrender program changes what the chart"
            " renders before Helm installs it; gatekeeper never runs the repository's"
            " programs, so only the chart's own rendering is judged"
        )
        loaded.problems.append(Problem("GK-LOCAL-NOT-EXPANDED", document.file, line, message))
    inline, unreadable = _inline_values(document)
    loaded.problems.extend(unreadable)
    sets: list[tuple[tuple[str | int, ...], Any]] = []
    lines: list[tuple[list[str | int], int]] = []
    for key, entry, value, line in _known_sets(document):
        try:
            where = helm_set.path_of(entry["name"])
        except helm_set.SetError as error:
            problem = Problem("GK-RENDER-ERROR", document.file, line, f"helm {key}: {error}")
            loaded.problems.append(problem)
            continue
        if key == "set_list" and isinstance(value, list):
            typed: Any = [helm_set.typed(_text(item), False) for item in value]
        else:
            typed = helm_set.typed(_text(value), entry.get("type") == "string")
        sets.append((tuple(where), typed))
        lines.append((where, line - 1))
    release = helm.Release(
        name=str(obj.get("name") or helm.DEFAULT_RELEASE),
        namespace=str(obj.get("namespace") or "default"),
        inline=tuple(inline),
        sets=tuple(sets),
        sets_locator=NodeLocator(document.file, helm_set.located(lines)) if lines else None,
    )
    rendered = helm.render_chart(chart_file, context.tree.read(chart_file), context, [release])
    deployer = f"{DEPLOYED_BY}{document.file}:{document.kind}.{document.name}"
    for made in rendered.documents:
        made.extra["variant"] = document.extra.get("variant") or deployer
    loaded.documents.extend(rendered.documents)
    loaded.problems.extend(rendered.problems)
    return loaded


def _text(value: Any) -> str:
    """A `set` value as the provider passes it to Helm: a string (`true` for true)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)
