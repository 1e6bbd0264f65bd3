"""The in-process kustomize builder against the real `kubectl kustomize`, feature by feature.

Every supported case is built both ways in the test and must give the same documents (objects
as JSON text: key order and 1 against 1.0 count), files, origins, identities, locations and
problems; every unsupported case must be refused by the builder (so kubectl builds it).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from gatekeeper.document import Loaded
from gatekeeper.sources import LoadContext, kustomize, kustomize_build
from gatekeeper.sources.kustomize_values import Unsupported
from gatekeeper.tree import MemoryTree
from gatekeeper.yamldoc import YamlDocument, load_all

ROOT = "app/kustomization.yaml"


def seen(loaded: Loaded) -> list[Any]:
    """What a scan sees of a build: each document (with a few locations) and problem."""
    out: list[Any] = []
    for document in loaded.documents:
        where = [
            document.locator.locate(path)
            for path in (("metadata", "name"), ("spec",), ("metadata", "annotations"))
        ]
        out.append(
            (
                json.dumps(document.obj),
                document.file,
                document.index,
                (document.kind, document.namespace, document.name),
                sorted(document.extra.items()),
                [(w.file, w.line, w.exact) for w in where],
            )
        )
    out.extend((p.code, p.file, p.line, p.message) for p in loaded.problems)
    return out


def both_ways(files: dict[str, str], path: str = ROOT) -> list[Any]:
    """Build in-process and with kubectl; they must agree. Returns the built objects."""
    data = {name: text.encode() for name, text in files.items()}
    tree = MemoryTree(data)
    (kustomization,) = [e for e in load_all(path, files[path]) if isinstance(e, YamlDocument)]
    kustomize_build.build(path, kustomization, tree)  # raises if it would fall back
    ours = kustomize.load(path, data[path], LoadContext(tree=tree))
    theirs = kustomize.load(path, data[path], LoadContext(tree=tree), in_process=False)
    assert theirs.documents, theirs.problems  # the reference built something
    assert seen(ours) == seen(theirs)
    return [document.obj for document in ours.documents]


def refused(files: dict[str, str], path: str = ROOT) -> str:
    """The builder refuses (kubectl builds it), and the scan still gets kubectl's result."""
    data = {name: text.encode() for name, text in files.items()}
    tree = MemoryTree(data)
    (kustomization,) = [e for e in load_all(path, files[path]) if isinstance(e, YamlDocument)]
    with pytest.raises(Unsupported) as caught:
        kustomize_build.build(path, kustomization, tree)
    loaded = kustomize.load(path, data[path], LoadContext(tree=tree))
    kubectl = kustomize.load(path, data[path], LoadContext(tree=tree), in_process=False)
    assert seen(loaded) == seen(kubectl)
    return str(caught.value)


DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      initContainers:
        - {name: init, image: busybox}
      containers:
        - name: web
          image: nginx:1.25
          ports: [{containerPort: 80}]
        - name: side
          image: localhost:5000/tools/side@sha256:0123abcd
"""


def test_values_read_as_kubectl_prints_them() -> None:
    """YAML 1.2 reading, JSON numbers, go-yaml v2's natural key order."""
    thing = """\
apiVersion: example.com/v1
kind: Thing
metadata: {name: values}
spec:
  yes_word: yes
  on_word: on
  octal12: 0o17
  octal11: 017
  not_octal: 08
  hex: 0x1F
  exponent: 1e3
  whole: 1.0
  half: 2.5
  big: 1234567.5
  underscored: 1_000
  tilde: ~
  empty:
  quoted: "true"
  text: plain words
  a10: x
  a2: x
  A: x
  _x: x
  1a: x
  b01: x
  b1: x
  list: [3, -4, +5, "6", seven]
  nested: {z: 1, y: [{b: 1, a: 2}]}
"""
    empties = """\
---
apiVersion: v1
kind: ConfigMap
metadata: {name: a, annotations: {}, labels: {}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: b
  annotations:
"""
    *_, obj = both_ways({ROOT: "resources: [thing.yaml]\n", "app/thing.yaml": thing + empties})
    assert obj["spec"]["yes_word"] == "yes" and obj["spec"]["octal12"] == 15
    assert obj["spec"]["whole"] == 1 and isinstance(obj["spec"]["whole"], int)


def test_resources_bases_lists_and_kustomize_output_order() -> None:
    files = {
        ROOT: "resources:\n  - objects.yaml\n  - ../base\nbases:\n  - ../other\n",
        "app/objects.yaml": """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: hook}
---
apiVersion: v1
kind: List
items:
  - {apiVersion: v1, kind: ConfigMap, metadata: {name: from-list}}
  - {apiVersion: v1, kind: Secret, metadata: {name: from-list}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: b}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: a}
---

---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
---
apiVersion: v1
kind: Namespace
metadata: {name: a}
""",
        "base/kustomization.yaml": "resources: [deploy.yaml]\n",
        "base/deploy.yaml": DEPLOYMENT,
        "other/kustomization.yml": "resources: [more.json]\n",
        "other/more.json": '{"apiVersion": "other.io/v2", "kind": "Widget",'
        ' "metadata": {"name": "w"}, "spec": {"n": 1.5}}',
    }
    objs = both_ways(files)
    assert [o["kind"] for o in objs][:2] == ["Namespace", "CustomResourceDefinition"]
    assert objs[-1]["kind"] == "ValidatingWebhookConfiguration"


JSON_PATCHES = """\
patches:
  - target: {kind: Deployment, name: "(w.b|other)"}
    patch: |-
      - op: replace
        path: /spec/replicas
        value: 3
      - op: add
        path: /spec/template/spec/containers/0/securityContext
        value: {privileged: true, runAsUser: 1000000}
      - op: add
        path: /spec/template/spec/containers/-
        value: {name: added, image: nginx}
      - op: remove
        path: /spec/template/spec/initContainers
      - op: add
        path: /metadata/labels/tier
        value: front
  - path: ops.yaml
    target: {group: apps, version: v1, kind: Deployment}
patchesJson6902:
  - target: {version: v1, kind: Service, name: web}
    path: service-ops.json
"""


def test_json_6902_patches() -> None:
    files = {
        ROOT: "resources: [deploy.yaml, service.yaml]\n" + JSON_PATCHES,
        "app/deploy.yaml": DEPLOYMENT,
        "app/ops.yaml": "- op: add\n  path: /spec/template/spec/containers/1/args\n"
        "  value: ['--port', '8080', 'true']\n",
        "app/service.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
        "spec:\n  ports: [{port: 80}]\n  selector: {app: web}\n",
        "app/service-ops.json": '[{"op": "add", "path": "/spec/ports/0/targetPort",'
        ' "value": 8080}, {"op": "replace", "path": "/spec/selector", "value": {"b": 1e3}}]',
    }
    service, deployment = both_ways(files)
    assert service["spec"]["selector"] == {"b": 1000}
    assert deployment["spec"]["replicas"] == 3


def test_images_and_common_annotations() -> None:
    workloads = "".join(
        f"---\napiVersion: {api}\nkind: {kind}\nmetadata: {{name: {name}}}\n{spec}"
        for api, kind, name, spec in (
            (
                "apps/v1",
                "StatefulSet",
                "db",
                "spec:\n  template:\n    spec:\n"
                "      containers: [{name: db, image: 'docker.io/library/nginx:1'}]\n",
            ),
            (
                "batch/v1",
                "CronJob",
                "job",
                "spec:\n  jobTemplate:\n    spec:\n      template:\n"
                "        spec:\n          containers: [{name: j, image: nginx}]\n",
            ),
            ("batch/v1", "Job", "once", "spec: {template: {spec: {containers: []}}}\n"),
            ("v1", "ReplicationController", "rc", "spec: {}\n"),
            ("v1", "Pod", "pod", "spec: {containers: [{name: p, image: 'nginx@sha256:abc'}]}\n"),
            (
                "apiextensions.k8s.io/v1",
                "CustomResourceDefinition",
                "x.example.com",
                "spec: {containers: [{image: nginx}]}\n",
            ),
        )
    )
    files = {
        ROOT: """\
resources: [deploy.yaml, workloads.yaml]
commonAnnotations: {team: platform, note: "reviewed"}
images:
  - {name: nginx, newTag: "1.27"}
  - {name: busybox, newName: registry.example.com/busybox, digest: "sha256:feed"}
  - {name: localhost:5000/tools/side, newName: side, newTag: v2, digest: "sha256:beef"}
  - {name: docker.io/library/nginx, newName: mirror/nginx}
""",
        "app/deploy.yaml": DEPLOYMENT,
        "app/workloads.yaml": workloads.replace(
            "{name: pod}", "{name: pod, annotations: {team: a}}"
        ),
    }
    objs = both_ways(files)
    assert any(o["metadata"].get("annotations", {}).get("team") == "platform" for o in objs)


def test_replicas() -> None:
    files = {
        ROOT: "resources: [deploy.yaml, more.yaml]\nreplicas:\n  - {name: web, count: 4}\n"
        "  - {name: db, count: 0}\n",
        "app/deploy.yaml": DEPLOYMENT,
        "app/more.yaml": "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db}\n"
        "---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
        "---\napiVersion: example.com/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {}\n",
    }
    objs = both_ways(files)
    assert [o.get("spec", {}).get("replicas") for o in objs] == [None, 4, 4, 0]


def test_labels_without_selectors() -> None:
    workloads = """\
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, labels: {tier: data}}
spec: {template: {spec: {containers: []}}}
---
apiVersion: example.com/v1
kind: StatefulSet
metadata: {name: other}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: job}
spec: {jobTemplate: {spec: {template: {spec: {containers: []}}}}}
"""
    files = {
        ROOT: """\
resources: [deploy.yaml, workloads.yaml]
labels:
  - pairs: {team: platform, tier: web}
  - pairs: {owner: sre}
    includeSelectors: false
    includeTemplates: true
commonAnnotations: {}
""",
        "app/deploy.yaml": DEPLOYMENT,
        "app/workloads.yaml": workloads,
    }
    objs = both_ways(files)
    assert all(o["metadata"]["labels"]["team"] == "platform" for o in objs)


def test_components_add_resources_and_transform_the_parents() -> None:
    component = "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
    files = {
        ROOT: "resources: [deploy.yaml]\ncomponents: [../monitoring]\n"
        "images: [{name: nginx, newTag: '2'}]\n",
        "app/deploy.yaml": DEPLOYMENT,
        "monitoring/kustomization.yaml": component
        + "resources: [monitor.yaml]\ncomponents: [../labelled]\n"
        "patches:\n  - target: {kind: Deployment}\n"
        "    patch: '- {op: add, path: /metadata/labels/monitored, value: \"yes\"}'\n",
        "monitoring/monitor.yaml": "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\n"
        "metadata: {name: web}\nspec: {endpoints: [{port: http}]}\n",
        "labelled/kustomization.yaml": component + "labels: [{pairs: {team: sre}}]\n",
    }
    deployment, monitor = both_ways(files)
    assert deployment["metadata"]["labels"] == {"app": "web", "monitored": "yes", "team": "sre"}
    assert monitor["metadata"]["labels"] == {"team": "sre"}


def test_namespace_and_targets_by_namespace() -> None:
    files = {
        ROOT: """\
namespace: prod
resources: [../base, objects.yaml]
patches:
  - target: {kind: ConfigMap, namespace: other}
    patch: '[{"op": "add", "path": "/data/b", "value": "2"}]'
  - target: {kind: Deployment, namespace: default}
    patch: |
      - {op: replace, path: /spec/replicas, value: 5}
""",
        "app/objects.yaml": """\
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: other}
data: {a: "1"}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
""",
        "base/kustomization.yaml": "namespace: staging\nresources: [deploy.yaml]\n"
        "patches:\n  - target: {namespace: staging}\n"
        "    patch: '- {op: add, path: /metadata/labels/base, value: x}'\n",
        "base/deploy.yaml": DEPLOYMENT,
    }
    objs = both_ways(files)
    assert {o["metadata"]["namespace"] for o in objs} == {"prod"}


@pytest.mark.parametrize(
    ("kustomization", "extra", "reason"),
    [
        ("vars: []\n", {}, "vars"),
        ("replicas: [{name: nothing, count: 2}]\n", {}, "not built"),
        ("replicas: [{name: web, count: '2'}]\n", {}, "another type"),
        ("resources: [../empty]\n", {"empty/kustomization.yaml": "resources:\n"}, "empty"),
        ("resources: [deploy.yaml]\nresources: [deploy.yaml]\n", {}, "twice"),
        ("labels: [{pairs: {a: b}, includeSelectors: 'yes'}]\n", {}, "boolean"),
        (
            "resources: [deploy.yaml, role.yaml]\nnamespace: x\n",
            {
                "app/role.yaml": "apiVersion: node.k8s.io/v1\nkind: RuntimeClass\n"
                "metadata: {name: r}\nhandler: runc\n"
            },
            "namespace on node.k8s.io/v1 RuntimeClass",
        ),
        (
            "resources: [deploy.yaml, role.yaml]\npatches: [{target: {namespace: default},"
            " patch: '- {op: add, path: /metadata/labels/a, value: b}'}]\n",
            {
                "app/role.yaml": "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
                "metadata: {name: r}\n"
            },
            "scope",
        ),
        (
            "components: [../c]\n",
            {"c/kustomization.yaml": "kind: Component\nsortOptions: {order: fifo}\n"},
            "sortOptions",
        ),
        ("components: [../base]\n", {"base/kustomization.yaml": "resources: []\n"}, "Component"),
        ("configMapGenerator: [{name: c, literals: [a=b], env: a.env}]\n", {}, "other fields"),
        ("patchesStrategicMerge: ['a: b']\n", {}, "read as YAML"),
        ("patches: [{patch: '[]', target: {labelSelector: a=b}}]\n", {}, "target"),
        (
            'patches: [{patch: \'[{"op": "move", "from": "/spec", "path": "/x"}]\','
            " target: {kind: Deployment}}]\n",
            {},
            "move",
        ),
        (
            "patches: [{patch: '- {op: replace, path: /metadata/name, value: x}',"
            " target: {kind: Deployment}}]\n",
            {},
            "identity",
        ),
        (
            "patches: [{patch: '- {op: add, path: /spec/paused, value: yes}',"
            " target: {kind: Deployment}}]\n",
            {},
            "v2",
        ),
        (
            "patches: [{patch: '[{op: add, path: /spec/paused, value: true}]',"
            " target: {kind: Deployment}}]\n",
            {},
            "not JSON",
        ),
        ("images: [{name: nginx, newTag: 1.27}]\n", {}, "not strings"),
        ("images: [{name: nginx, tagSuffix: -x}]\n", {}, "other fields"),
        ("resources: [deploy.yaml, dup.yaml]\n", {"app/dup.yaml": DEPLOYMENT}, "same id"),
        (
            "resources: [local.yaml]\n",
            {
                "app/local.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: l\n"
                "  annotations: {config.kubernetes.io/local-config: 'true'}\n"
            },
            "kustomize reads",
        ),
        (
            "resources: [merge.yaml]\n",
            {
                "app/merge.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: &m {name: m}\n"
                "data: {<<: *m}\n"
            },
            "merge",
        ),
        (
            "resources: [tagged.yaml]\n",
            {
                "app/tagged.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: t}\n"
                "data: {a: !!str 1}\n"
            },
            "tagged",
        ),
        (
            "resources: [tiny.yaml]\n",
            {"app/tiny.yaml": "apiVersion: v1\nkind: X\nmetadata: {name: t}\nspec: {a: 1e-5}\n"},
            "exponent",
        ),
        (
            "resources: [nulls.yaml]\n",
            {"app/nulls.yaml": "apiVersion: v1\nkind: X\nmetadata: {name: t}\nspec: [1, null]\n"},
            "null list item",
        ),
        (
            "resources: [dated.yaml]\n",
            {
                "app/dated.yaml": "apiVersion: v1\nkind: X\nmetadata: {name: t}\n"
                "spec: {a: 2020-01-01}\n"
            },
            "PyYAML reads as tag:yaml.org,2002:timestamp",
        ),
        ("resources: [../outside.yaml]\n", {"outside.yaml": DEPLOYMENT}, "outside"),
        (
            "resources: [nameless.yaml]\n",
            {"app/nameless.yaml": "apiVersion: v1\nkind: X\n"},
            "metadata.name",
        ),
    ],
)
def test_everything_else_goes_to_kubectl(
    kustomization: str, extra: dict[str, str], reason: str
) -> None:
    files = {
        ROOT: "resources: [deploy.yaml]\n" + kustomization,
        "app/deploy.yaml": DEPLOYMENT,
        "app/p.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
        "spec: {replicas: 1}\n",
        "c/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n",
        **extra,
    }
    if kustomization.startswith("resources:"):
        files[ROOT] = kustomization
    assert reason in refused(files)


BASE_CLUSTER = """\
apiVersion: v1
kind: Namespace
metadata: {name: old, labels: {team: a}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader, namespace: stray}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader}
subjects: [{kind: Group, name: readers, apiGroup: rbac.authorization.k8s.io}]
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  conversion: {strategy: None}
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: data}
spec: {capacity: {storage: 1Gi}, accessModes: [ReadWriteOnce], hostPath: {path: /data}}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: fast}
provisioner: example.com/fast
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: high}
value: 1000
"""


def test_namespace_over_cluster_scoped_kinds() -> None:
    """A `namespace:` overlay over a base with cluster-scoped objects (an install manifest):
    they keep their metadata, the Namespace is renamed, as kubectl builds it."""
    files = {
        ROOT: "namespace: team\nresources: [cluster.yaml, deploy.yaml, binding.yaml]\n",
        "app/cluster.yaml": BASE_CLUSTER,
        "app/deploy.yaml": DEPLOYMENT,
        "app/binding.yaml": "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\n"
        "metadata: {name: b, namespace: old}\nroleRef: {apiGroup: rbac.authorization.k8s.io,"
        " kind: Role, name: r}\nsubjects: [{kind: User, name: web, namespace: old}]\n",
    }
    objs = both_ways(files)
    by_kind = {o["kind"]: o for o in objs}
    assert by_kind["Namespace"]["metadata"]["name"] == "team"
    assert by_kind["ClusterRole"]["metadata"]["namespace"] == "stray"
    assert by_kind["Deployment"]["metadata"]["namespace"] == "team"
    assert "namespace" not in by_kind["PriorityClass"]["metadata"]
    assert by_kind["RoleBinding"]["metadata"]["namespace"] == "team"
    assert by_kind["RoleBinding"]["subjects"][0]["namespace"] == "old"


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        (
            "apiVersion: rbac.authorization.k8s.io/v1beta1\nkind: RoleBinding\n"
            "metadata: {name: b}\nroleRef: {apiGroup: rbac.authorization.k8s.io,"
            " kind: Role, name: r}\nsubjects: [{kind: ServiceAccount, name: default}]\n",
            "subjects kustomize may read otherwise",
        ),
        ("apiVersion: v1\nkind: Namespace\nmetadata: {name: second}\n", "several Namespaces"),
        (
            "apiVersion: apiregistration.k8s.io/v1\nkind: APIService\n"
            "metadata: {name: v1.example.com}\nspec: {service: {name: api}}\n",
            "apiregistration.k8s.io/v1 APIService",
        ),
    ],
)
def test_namespace_special_cases_go_to_kubectl(extra: str, reason: str) -> None:
    files = {
        ROOT: "namespace: team\nresources: [cluster.yaml, extra.yaml]\n",
        "app/cluster.yaml": BASE_CLUSTER,
        "app/extra.yaml": extra,
    }
    assert reason in refused(files)


SUBJECTS = """\
apiVersion: v1
kind: ServiceAccount
metadata: {name: web}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: other, namespace: old}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: kept}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: b}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}
subjects:
- {kind: User, name: web}
- {kind: ServiceAccount, name: web, namespace: default}
- {kind: ServiceAccount, name: other, namespace: old}
- {kind: ServiceAccount, name: other, namespace: elsewhere}
- {kind: ServiceAccount, name: other, namespace: kept}
- {kind: ServiceAccount, name: other}
- {kind: ServiceAccount, name: missing, namespace: x}
- {kind: Group, name: default}
- {kind: ServiceAccount, name: default}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: cb}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: r}
subjects:
- {kind: ServiceAccount, name: web, namespace: default}
- {kind: User, name: other}
- {kind: ServiceAccount, name: default, namespace: old}
"""


def test_namespace_over_binding_subjects() -> None:
    """`namespace:` moves the subjects named `default` (any kind) and, through kustomize's
    name references, every subject named like a ServiceAccount it moved (a User too),
    unless the subject names a namespace where no such account was."""
    files = {ROOT: "namespace: team\nresources: [r.yaml]\n", "app/r.yaml": SUBJECTS}
    objs = both_ways(files)
    by_kind = {o["kind"]: o for o in objs if o["kind"].endswith("Binding")}
    subjects = [(s["name"], s.get("namespace")) for s in by_kind["RoleBinding"]["subjects"]]
    assert subjects == [
        ("web", "team"),
        ("web", "team"),
        ("other", "team"),
        ("other", "elsewhere"),
        ("other", "kept"),
        ("other", "team"),
        ("missing", "x"),
        ("default", "team"),
        ("default", "team"),
    ]
    assert by_kind["ClusterRoleBinding"]["subjects"][1] == {
        "kind": "User",
        "name": "other",
        "namespace": "team",
    }
    # the accounts moved in a base, the bindings in other namespaces: built in-process too
    # (test_a_binding_names_what_its_namespace_and_its_subjects_reach)
    files = {
        ROOT: "resources: [../base, bindings.yaml]\n",
        "base/kustomization.yaml": "namespace: team\nresources: [accounts.yaml]\n",
        "base/accounts.yaml": SUBJECTS.split("---\n", 1)[0],
        "app/bindings.yaml": SUBJECTS.split("---\n", 3)[3],
    }
    both_ways(files)
    # two accounts of the name moved to two namespaces: kustomize fails the build
    account = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: web}\n"
    files = {
        ROOT: "resources: [../a, ../b, binding.yaml]\n",
        "a/kustomization.yaml": "namespace: a\nresources: [sa.yaml]\n",
        "a/sa.yaml": account,
        "b/kustomization.yaml": "namespace: b\nresources: [sa.yaml]\n",
        "b/sa.yaml": account,
        "app/binding.yaml": SUBJECTS.split("---\n")[4],
    }
    assert "several accounts" in refused(files)


def _binding(name: str, namespace: str, subjects: str, kind: str = "RoleBinding") -> str:
    placed = f", namespace: {namespace}" if namespace else ""
    return (
        f"apiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\n"
        f"metadata: {{name: {name}{placed}}}\n"
        "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: r}\n"
        f"subjects: {subjects}\n"
    )


def test_a_binding_names_what_its_namespace_and_its_subjects_reach() -> None:
    """kustomize gives a RoleBinding's subjects the new name of an account a base renamed
    only when that account is one the binding may refer to (resmap's
    SubsetThatCouldBeReferencedByResource): in the binding's namespace, or in a namespace a
    ServiceAccount subject writes; a ClusterRoleBinding may refer to any. Built in-process
    beside objects of other namespaces (argo-workflows' overlays: nine kubectl builds of
    5 CPU-s each), the same as kubectl."""
    bindings = [
        _binding("rb-x", "x", "[{kind: ServiceAccount, name: web}]"),
        _binding("rb-y", "y", "[{kind: ServiceAccount, name: web, namespace: team}]"),
        _binding("rb-z", "z", "[{kind: User, name: web, namespace: team}]"),
        _binding("rb-team", "team", "[{kind: ServiceAccount, name: web}]"),
        _binding("rb-def", "", "[{kind: ServiceAccount, name: web, namespace: default}]"),
        _binding(
            "crb", "", "[{kind: ServiceAccount, name: web}, {kind: Group, name: web}]",
            "ClusterRoleBinding",
        ),
    ]  # fmt: skip
    files = {
        ROOT: "resources: [../base, bindings.yaml]\n",
        "base/kustomization.yaml": "namespace: team\nnamePrefix: p-\nresources: [sa.yaml]\n",
        "base/sa.yaml": "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: web}\n",
        "app/bindings.yaml": "---\n".join(bindings),
    }
    subjects = {
        obj["metadata"]["name"]: [(s["name"], s.get("namespace")) for s in obj["subjects"]]
        for obj in both_ways(files)
        if obj["kind"].endswith("Binding")
    }
    moved = ("p-web", "team")
    assert subjects == {
        "rb-x": [("web", None)],  # the account is in no namespace the binding reaches
        "rb-y": [("web", "team")],
        "rb-z": [("web", "team")],
        "rb-team": [moved],  # its own namespace
        "rb-def": [("web", "default")],
        "crb": [moved, moved],  # any subject kind named like the account (kustomize)
    }
    # a subject of a kind that is not a string, beside a namespace: kustomize panics
    files["app/bindings.yaml"] = _binding("b", "x", "[{kind: [a], name: web, namespace: x}]")
    data = {name: text.encode() for name, text in files.items()}
    (kustomization,) = load_all(ROOT, files[ROOT])
    assert isinstance(kustomization, YamlDocument)
    with pytest.raises(Unsupported):
        kustomize_build.build(ROOT, kustomization, MemoryTree(data))


def test_a_folded_scalar_with_more_indented_lines_goes_to_kubectl() -> None:
    """go-yaml v3 keeps one more line break before a more-indented line of a folded (`>`)
    scalar than YAML says (a CEL expression of onedr0p/home-ops: `exists(c,` then an
    indented line): what kustomize prints is not what PyYAML reads, so kubectl builds it.
    Folded scalars without such lines, and literal ones, are built in-process."""
    config = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n"
        "  plain: >-\n    a\n    b\n"
        "  literal: |-\n    a(c,\n      b\n    )\n"
    )
    files = {ROOT: "resources: [c.yaml]\n", "app/c.yaml": config}
    (built,) = both_ways(files)
    assert built["data"] == {"plain": "a b", "literal": "a(c,\n  b\n)"}
    files["app/c.yaml"] = config + "  folded: >-\n    a(c,\n      b\n    )\n"
    assert "more-indented" in refused(files)
    # the same short text quoted first is no folded scalar's value remembered
    files["app/c.yaml"] = config + '  q: "x\\n y"\n  folded: >-\n    x\n     y\n'
    assert "more-indented" in refused(files)


def test_a_resource_file_outside_the_folder_fails_as_kubectl_says_without_kubectl(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """kustomize's load restriction refuses a resource file outside the kustomization's
    folder (`../tgi-2b.yaml`: eleven overlays of GoogleCloudPlatform/kubernetes-engine-samples,
    a kubectl run each): the builder says kubectl's error itself, through a kustomization
    that builds the folder too. A missing one is left to kubectl; one built without the
    restriction (Flux, `loadRestrictor: none`): tests/test_kustomize.py."""
    namespace = "apiVersion: v1\nkind: Namespace\nmetadata: {name: team}\n"
    files = {
        ROOT: "resources: [../shared/ns.yaml]\n",
        "shared/ns.yaml": namespace,
        "top/kustomization.yaml": "resources: [../app]\n",
    }
    data = {name: text.encode() for name, text in files.items()}
    for path in (ROOT, "top/kustomization.yaml"):
        context = LoadContext(tree=MemoryTree(data))
        theirs = kustomize.load(path, data[path], context, in_process=False)
        assert [p.code for p in theirs.problems] == ["GK-RENDER-ERROR"]
        with monkeypatch.context() as patched:
            patched.setattr(kustomize, "builder", lambda: pytest.fail("kubectl was run"))
            ours = kustomize.load(path, data[path], LoadContext(tree=MemoryTree(data)))
        assert seen(ours) == seen(theirs)
    files[ROOT] = "resources: [../shared/missing.yaml]\n"
    assert "outside the kustomization's directory" in refused(files)


def test_a_json_patch_of_all_annotations_goes_to_kubectl() -> None:
    """Replacing metadata.annotations drops kustomize's origin annotation too: kubectl then
    locates the object at the kustomization, which the builder leaves to kubectl."""
    patch = "- {op: add, path: /metadata/annotations, value: {a: b}}"
    files = {
        ROOT: "resources: [deploy.yaml]\n"
        f"patches: [{{target: {{kind: Deployment}}, patch: '{patch}'}}]\n",
        "app/deploy.yaml": DEPLOYMENT,
    }
    assert "annotations" in refused(files)
    files[ROOT] = files[ROOT].replace("/metadata/annotations,", "/metadata/annotations/c,")
    files[ROOT] = files[ROOT].replace("value: {a: b}", "value: d")
    files["app/deploy.yaml"] = DEPLOYMENT.replace(
        "  labels: {app: web}\n", "  annotations: {x: y}\n"
    )
    assert both_ways(files)[0]["metadata"]["annotations"] == {"c": "d", "x": "y"}


REPLACED = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: params, namespace: team}
data: {port: "3306", host: db.team.svc, replicas: "3", user: alice}
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: team}
spec: {ports: [{name: sql, port: 3306}]}
---
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: web, namespace: team}
spec:
  http: [{route: [{destination: {host: placeholder.namespace.svc.cluster.local}}]}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: team
  annotations: {traffic.sidecar.istio.io/excludeOutboundPorts: "0", keep: x}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations: {traffic.sidecar.istio.io/excludeOutboundPorts: "1"}
    spec:
      containers:
        - name: web
          image: nginx
          env: [{name: DB, value: x}, {name: USER, value: ""}]
          args: [a, b]
"""


def test_replacements_from_a_source_field_to_target_fields() -> None:
    """kubeflow/manifests' replacements (ConfigMap data into env values and a dotted
    annotation key, a Service's name and namespace into a host by delimiter): built
    in-process, kubectl's output exactly."""
    kustomization = """\
resources: [all.yaml]
replacements:
  - source: {kind: ConfigMap, name: params, fieldPath: data.port}
    targets:
      - select: {group: apps, kind: Deployment}
        fieldPaths:
          - spec.template.metadata.annotations.[traffic.sidecar.istio.io/excludeOutboundPorts]
          - metadata.annotations.[traffic.sidecar.istio.io/excludeOutboundPorts]
          - spec.template.spec.containers.0.env.0.value
  - source: {version: v1, kind: Service, name: db}
    targets:
      - select: {group: networking.istio.io, version: v1alpha3, kind: VirtualService}
        fieldPaths: [spec.http.0.route.0.destination.host]
        options: {delimiter: .}
  - source: {kind: Service, name: db, fieldPath: metadata.namespace}
    targets:
      - select: {kind: VirtualService, name: web, namespace: team}
        fieldPaths: [spec.http.0.route.0.destination.host]
        options: {delimiter: ., index: 1}
  - source: {kind: ConfigMap, fieldPath: data.replicas}
    targets:
      - select: {kind: Deployment}
        fieldPaths: [spec.replicas, spec.template.spec.containers.0.args]
  - source: {kind: ConfigMap, fieldPath: data.host, options: {delimiter: ., index: 1}}
    targets:
      - select: {kind: Deployment}
        fieldPaths: [spec.template.spec.containers.0.env.1.value]
        options: {delimiter: "-", index: -1, create: true}
      - select: {kind: Deployment}
        fieldPaths: [metadata.annotations.keep]
        options: {delimiter: "-", index: 7}
"""
    objs = both_ways({ROOT: kustomization, "app/all.yaml": REPLACED})
    deployment = next(o for o in objs if o["kind"] == "Deployment")
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["template"]["spec"]["containers"][0]["args"] == "3"
    assert deployment["metadata"]["annotations"]["keep"] == "x-team"
    service = next(o for o in objs if o["kind"] == "VirtualService")
    assert service["spec"]["http"][0]["route"][0]["destination"]["host"] == (
        "db.team.svc.cluster.local"
    )


def test_replacements_to_every_element_of_a_list() -> None:
    """kubebuilder's config/default: the webhook Service's name (prefixed) into
    `webhooks.*.clientConfig.service.name` of each webhook that has a service (one calling
    a URL is left alone), and into every container's env value."""
    kustomization = """\
namePrefix: kserve-
resources: [all.yaml, webhooks.yaml]
replacements:
  - source: {kind: Service, name: db}
    targets:
      - select: {kind: MutatingWebhookConfiguration}
        fieldPaths: [webhooks.*.clientConfig.service.name]
      - select: {kind: Deployment}
        fieldPaths: [spec.template.spec.containers.*.env.*.value]
"""
    webhooks = """\
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: hooks}
webhooks:
- name: a.example.com
  clientConfig: {service: {name: placeholder, namespace: system}}
- name: b.example.com
  clientConfig: {url: https://example.com/b}
- name: c.example.com
  clientConfig: {service: {name: placeholder, namespace: system, path: /c}}
"""
    objs = both_ways({ROOT: kustomization, "app/all.yaml": REPLACED, "app/webhooks.yaml": webhooks})
    hooks = next(o for o in objs if o["kind"] == "MutatingWebhookConfiguration")
    assert [h["clientConfig"].get("service", {}).get("name") for h in hooks["webhooks"]] == [
        "kserve-db",
        None,
        "kserve-db",
    ]
    deployment = next(o for o in objs if o["kind"] == "Deployment")
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    assert [e["value"] for e in env] == ["kserve-db", "kserve-db"]


def test_replacements_select_reject_path_files_components_and_previous_names() -> None:
    """Targets rejected by id; entries from a `path:` file (a list, or one mapping); a
    component's replacements over its parent's objects; a base's object selected by the
    name it had before the overlay's namePrefix; a generated ConfigMap read by the name
    it has before its hash; a later replacement reads what an earlier one wrote."""
    files = {
        "base/kustomization.yaml": "resources: [all.yaml]\n",
        "base/all.yaml": REPLACED,
        "c/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\n"
        "kind: Component\nreplacements:\n"
        "  - source: {kind: Deployment, fieldPath: metadata.annotations.keep}\n"
        "    targets: [{select: {kind: Service}, fieldPaths: [spec.ports.0.name],"
        " options: {create: true}}]\n",
        ROOT: """\
resources: [../base]
namePrefix: p-
components: [../c]
configMapGenerator: [{name: gen, literals: [mode=blue]}]
replacements:
  - path: list.yaml
  - path: one.yaml
  - source: {kind: ConfigMap, name: gen, fieldPath: data.mode}
    targets:
      - select: {kind: Deployment, name: web}
        reject: [{kind: Service}, {name: other}]
        fieldPaths: [metadata.annotations.keep]
      - select: {}
        reject: [{kind: Deployment}, {kind: Service}, {kind: VirtualService}, {name: gen}]
        fieldPaths: [data.user]
""",
        "app/list.yaml": "- source: {kind: ConfigMap, name: params, fieldPath: data.user}\n"
        "  targets: [{select: {name: p-web, kind: Deployment},"
        " fieldPaths: [spec.template.spec.containers.0.env.1.value]}]\n",
        "app/one.yaml": "source: {kind: Deployment, name: web,"
        " fieldPath: spec.template.spec.containers.0.env.1.value}\n"
        "targets: [{select: {kind: Service, name: db}, fieldPaths: [spec.ports.0.name]}]\n",
    }
    objs = both_ways(files)
    service = next(o for o in objs if o["kind"] == "Service")
    assert service["spec"]["ports"][0]["name"] == "alice"
    config = next(o for o in objs if o["metadata"]["name"] == "p-params")
    assert config["data"]["user"] == "blue"


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        (
            "{source: {kind: Service}, targets: [{select: {kind: Deployment},"
            " fieldPaths: ['spec.template.spec.containers.[name=web].image']}]}",
            "path part",
        ),
        (
            "{source: {kind: Service}, targets: [{select: {labelSelector: app=web}}]}",
            "selected otherwise",
        ),
        (
            "{source: {kind: Service}, targets: [{select: {kind: Deployment},"
            " fieldPaths: [spec.paused]}]}",
            "not there",
        ),
        (
            "{source: {kind: Service}, targets: [{select: {kind: Deployment},"
            " fieldPaths: [spec.paused], options: {create: true}}]}",
            "not there",
        ),
        ("{source: {kind: Secret}, targets: [{select: {kind: Deployment}}]}", "no or several"),
        ("{source: {name: web}, targets: [{select: {kind: Deployment}}]}", "no or several"),
        ("{source: {kind: Service}, targets: [{select: {kind: Deployment}}]}", "identifies"),
        (
            "{source: {kind: Service, fieldPath: spec.ports.0.port}, targets: [{select:"
            " {kind: Deployment}, fieldPaths: [metadata.annotations.keep]}]}",
            "another type",
        ),
        (
            "{source: {kind: ConfigMap, name: params, fieldPath: data.user,"
            " options: {delimiter: ., index: 2}},"
            " targets: [{select: {kind: Deployment}, fieldPaths: [metadata.annotations.keep]}]}",
            "out of bounds",
        ),
        (
            "{source: {kind: Service}, targets: [{select: {kind: ConfigMap, name: gen},"
            " fieldPaths: [data.mode]}]}",
            "generated object",
        ),
        (
            "{source: {kind: Service}, targets: [{select: {kind: Deployment},"
            " fieldPaths: [metadata.annotations.*]}]}",
            "not a list",
        ),
        (
            "{source: {kind: Service}, targets: [{select: {kind: Deployment},"
            " fieldPaths: [spec.template.spec.containers.*.workingDir]}]}",
            "matches nothing",
        ),
        (
            "{source: {kind: Service}, targets: [{select: {kind: Deployment},"
            " fieldPaths: [spec.template.spec.containers.*.workingDir],"
            " options: {create: true}}]}",
            "below `*`",
        ),
        (
            "{source: {kind: Deployment, fieldPath: spec.template.spec.containers.*.image},"
            " targets: [{select: {kind: Service}, fieldPaths: [metadata.annotations.keep]}]}",
            "source path",
        ),
        ("{path: two.yaml}", "one clean document"),
        (
            "{source: {kind: Deployment, fieldPath: metadata.annotations}, targets: [{select:"
            " {kind: Service}, fieldPaths: [spec.selector], options: {create: true}}]}",
            "all annotations",
        ),
    ],
)
def test_replacements_we_do_not_copy_go_to_kubectl(entry: str, reason: str) -> None:
    files = {
        "app/two.yaml": "source: {kind: Service}\n---\ntargets: [{select: {kind: Service}}]\n",
        ROOT: "resources: [all.yaml]\nconfigMapGenerator: [{name: gen, literals: [mode=a]}]\n"
        f"replacements:\n  - {entry}\n",
        "app/all.yaml": REPLACED,
    }
    assert reason in refused(files)


VAR_REFERENCES = """\
varReference:
  - path: spec/template/spec/containers/args
    kind: Deployment
  - {path: metadata/annotations, group: apps, version: v1, kind: Deployment}
"""


def test_configurations_of_var_references_only_change_nothing_without_vars() -> None:
    """kubeflow/manifests' params.yaml files (varReference field specs for vars of other
    overlays) sent 11 of its kustomizations to kubectl: without `vars` they change nothing."""
    files = {
        "base/kustomization.yaml": "resources: [all.yaml]\nconfigurations: [params.yaml]\n",
        "base/all.yaml": REPLACED,
        "base/params.yaml": VAR_REFERENCES,
        ROOT: "resources: [../base]\nnamePrefix: p-\nconfigurations: [a.yaml, b.yaml]\n",
        "app/a.yaml": VAR_REFERENCES,
        "app/b.yaml": "varReference: []\n",
    }
    both_ways(files)


@pytest.mark.parametrize(
    ("config", "reason"),
    [
        ("varReference: [{path: spec/x, kind: Deployment, create: true}]\n", "configurations"),
        ("nameReference: [{kind: Service, fieldSpecs: [{path: spec/x}]}]\n", "configurations"),
        ("varreference: [{path: spec/x}]\n", "configurations"),  # strict: unknown field
        ("varReference: [{path: spec/x}]\n---\nnamespace: [{path: spec/y}]\n", "configurations"),
        ("varReference: [{path: spec/x, kind: 1}]\n", "configurations"),
    ],
)
def test_other_configurations_go_to_kubectl(config: str, reason: str) -> None:
    files = {
        ROOT: "resources: [all.yaml]\nconfigurations: [c.yaml]\n",
        "app/all.yaml": REPLACED,
        "app/c.yaml": config,
    }
    assert reason in refused(files)
