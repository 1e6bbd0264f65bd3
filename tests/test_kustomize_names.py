"""namePrefix/nameSuffix and kustomize's name references, built in-process and by kubectl.

Every case is built both ways (tests.test_kustomize_build.both_ways) and must agree; cases
the builder cannot be sure of must be refused, so that kubectl builds them.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.test_kustomize_build import ROOT, both_ways, refused

WORKLOADS = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {a: b}
---
apiVersion: v1
kind: Secret
metadata: {name: token}
stringData: {t: x}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: runner}
imagePullSecrets: [{name: token}]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}, storageClassName: fast}
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
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: web
  selector: {matchLabels: {app: web}}
  volumeClaimTemplates:
    - metadata: {name: scratch}
      spec: {storageClassName: fast, accessModes: [ReadWriteOnce]}
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: runner
      priorityClassName: high
      imagePullSecrets: [{name: token}, {name: elsewhere}]
      initContainers:
        - name: init
          image: busybox
          envFrom: [{configMapRef: {name: settings}}, {secretRef: {name: token}}]
      containers:
        - name: web
          image: nginx
          env:
            - name: A
              valueFrom: {configMapKeyRef: {name: settings, key: a}}
            - name: T
              valueFrom: {secretKeyRef: {name: token, key: t}}
            - name: U
              valueFrom: {configMapKeyRef: {name: unrelated, key: a}}
      volumes:
        - name: c
          configMap: {name: settings}
        - name: s
          secret: {secretName: token}
        - name: d
          persistentVolumeClaim: {claimName: data}
        - name: p
          projected:
            sources: [{configMap: {name: settings}}, {secret: {name: token}}]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: StatefulSet, name: web}
  minReplicas: 1
  maxReplicas: 3
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  annotations: {nginx.ingress.kubernetes.io/auth-secret: token}
spec:
  tls: [{secretName: token}]
  defaultBackend: {service: {name: web, port: {number: 80}}}
  rules:
    - http:
        paths:
          - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader}
rules: [{apiGroups: [""], resources: [configmaps], resourceNames: [settings, other], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects: [{kind: ServiceAccount, name: runner}, {kind: User, name: runner}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: viewer}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: viewer}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: viewer}
subjects: [{kind: ServiceAccount, name: runner, namespace: apps}]
---
apiVersion: v1
kind: Namespace
metadata: {name: apps}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]
"""


def by_kind(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {obj["kind"]: obj for obj in objects}


@pytest.mark.parametrize(
    "settings",
    [
        "namePrefix: p-\n",
        "nameSuffix: -s\n",
        "namePrefix: p-\nnameSuffix: -s\n",
        "namePrefix: p-\nnamespace: apps\n",
    ],
)
def test_prefix_and_suffix_rename_and_references_follow(settings: str) -> None:
    files = {ROOT: "resources: [all.yaml]\n" + settings, "app/all.yaml": WORKLOADS}
    objects = by_kind(both_ways(files))
    renamed = objects["StatefulSet"]["metadata"]["name"]
    assert renamed != "web"
    assert objects["Namespace"]["metadata"]["name"] in ("apps",)
    assert objects["CustomResourceDefinition"]["metadata"]["name"] == "widgets.example.com"
    spec = objects["StatefulSet"]["spec"]["template"]["spec"]
    assert spec["serviceAccountName"] != "runner"
    assert spec["imagePullSecrets"][1] == {"name": "elsewhere"}  # names nothing built


def test_prefixes_of_nested_kustomizations_and_patches_by_old_names() -> None:
    files = {
        ROOT: "resources: [../base, extra.yaml]\nnamePrefix: prod-\n"
        "patches:\n"
        "  - patch: |\n"
        "      apiVersion: apps/v1\n      kind: StatefulSet\n"
        "      metadata: {name: web}\n      spec: {replicas: 3}\n"
        "  - target: {kind: ConfigMap, name: settings}\n"
        "    patch: '- {op: add, path: /data/c, value: d}'\n"
        "replicas: [{name: base-web, count: 4}]\n",
        "app/extra.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: tool}\n"
        "spec:\n  selector: {matchLabels: {app: tool}}\n  template:\n"
        "    metadata: {labels: {app: tool}}\n    spec:\n      containers:\n"
        "        - name: t\n          image: busybox\n"
        "          envFrom:\n            - {configMapRef: {name: base-settings}}\n"
        "            - {configMapRef: {name: settings}}\n",
        "base/kustomization.yaml": "resources: [all.yaml]\nnamePrefix: base-\n",
        "base/all.yaml": WORKLOADS,
    }
    objects = by_kind(both_ways(files))
    assert objects["StatefulSet"]["metadata"]["name"] == "prod-base-web"
    assert objects["StatefulSet"]["spec"]["replicas"] == 4
    env = objects["Deployment"]["spec"]["template"]["spec"]["containers"][0]["envFrom"]
    assert env[0]["configMapRef"]["name"] == "prod-base-settings"


def test_two_bases_with_the_same_names_and_their_own_prefixes() -> None:
    """Each base's references resolve to its own objects (kubectl sorts it out by the
    prefixes each object carries): the builder refuses, kubectl builds it."""
    files = {
        ROOT: "resources: [../a, ../b]\n",
        "a/kustomization.yaml": "resources: [all.yaml]\nnamePrefix: a-\nnamespace: x\n",
        "a/all.yaml": WORKLOADS.split("---\napiVersion: v1\nkind: Namespace")[0],
        "b/kustomization.yaml": "resources: [all.yaml]\nnamePrefix: b-\nnamespace: x\n",
        "b/all.yaml": WORKLOADS.split("---\napiVersion: v1\nkind: Namespace")[0],
    }
    assert "several" in refused(files)


def test_references_across_namespaces() -> None:
    """A reference finds renamed objects of its own namespace (or cluster-scoped ones)."""
    files = {
        ROOT: "resources: [a.yaml, b.yaml]\nnamePrefix: p-\n",
        "app/a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: a}\n"
        "---\napiVersion: v1\nkind: Pod\nmetadata: {name: pod, namespace: b}\n"
        "spec:\n  containers: [{name: x, image: x, envFrom: [{configMapRef: {name: c}}]}]\n",
        "app/b.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: pod, namespace: a}\n"
        "spec:\n  containers: [{name: x, image: x, envFrom: [{configMapRef: {name: c}}]}]\n",
    }
    pods = [o for o in both_ways(files) if o["kind"] == "Pod"]
    names = {
        p["metadata"]["namespace"]: p["spec"]["containers"][0]["envFrom"][0]["configMapRef"]
        for p in pods
    }
    assert names == {"a": {"name": "p-c"}, "b": {"name": "c"}}


WEBHOOKS = """\
apiVersion: v1
kind: Service
metadata: {name: hooks, namespace: system}
spec: {ports: [{port: 443}]}
---
apiVersion: v1
kind: Service
metadata: {name: plain}
spec: {ports: [{port: 443}]}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: validate}
webhooks:
  - name: a.example.com
    clientConfig: {service: {name: hooks, namespace: system, path: /validate}}
    admissionReviewVersions: [v1]
    sideEffects: None
  - name: b.example.com
    clientConfig: {service: {name: plain, namespace: default}}
    admissionReviewVersions: [v1]
    sideEffects: None
  - name: c.example.com
    clientConfig: {service: {name: elsewhere, namespace: other}}
    admissionReviewVersions: [v1]
    sideEffects: None
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: mutate, namespace: stray}
webhooks:
  - name: m.example.com
    clientConfig: {service: {name: plain}}
    admissionReviewVersions: [v1]
    sideEffects: None
"""


@pytest.mark.parametrize(
    "settings", ["namespace: apps\n", "namePrefix: p-\n", "namePrefix: p-\nnamespace: apps\n"]
)
def test_webhook_services_follow_the_service(settings: str) -> None:
    files = {ROOT: "resources: [hooks.yaml]\n" + settings, "app/hooks.yaml": WEBHOOKS}
    objects = {o["kind"]: o for o in both_ways(files)}
    hooks = objects["ValidatingWebhookConfiguration"]["webhooks"]
    services = [w["clientConfig"]["service"] for w in hooks]
    assert services[2] == {"name": "elsewhere", "namespace": "other"}


@pytest.mark.parametrize(
    ("kustomization", "extra", "reason"),
    [
        ("namePrefix: 1\n", {}, "string"),
        (
            "namePrefix: p-\n",
            {
                "app/all.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: '1'}\n---\n"
                "apiVersion: v1\nkind: Pod\nmetadata: {name: pod}\n"
                "spec: {containers: [{name: x, image: x}],"
                " volumes: [{name: v, configMap: {name: 1}}]}\n"
            },
            "not a string",
        ),
    ],
)
def test_what_the_builder_leaves_to_kubectl(
    kustomization: str, extra: dict[str, str], reason: str
) -> None:
    files = {ROOT: "resources: [all.yaml]\n" + kustomization, "app/all.yaml": WORKLOADS, **extra}
    assert reason in refused(files)
