"""Strategic-merge patches built in-process against the real `kubectl kustomize`.

Each supported case is built both ways and must agree document for document (objects as JSON
text, key and element order included, locations and origins); each case we do not copy must
be refused, so that kubectl builds it. The attacks are what a PR author would write to get a
green check: they must be judged as kubectl builds them.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import yaml

import gatekeeper
from gatekeeper.sources.kustomize_merge import SCHEMAS, Keyed, Schema
from gatekeeper.sources.kustomize_values import Unsupported
from tests.test_kustomize_build import ROOT, both_ways, refused

BASE = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 1}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      initContainers:
        - {name: init, image: busybox}
      containers:
        - name: web
          image: nginx:1.25
          args: [--a, --b]
          env:
            - {name: A, value: "1"}
            - {name: B, value: "2"}
          ports: [{containerPort: 80}, {containerPort: 81, protocol: UDP}]
          volumeMounts: [{name: data, mountPath: /data}]
          securityContext: {runAsNonRoot: true, allowPrivilegeEscalation: false}
        - name: side
          image: side:1
      volumes:
        - {name: data, emptyDir: {}}
      tolerations: [{key: a, operator: Exists}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: web}
spec:
  items: [{name: a, size: 1}, {name: b, size: 2}]
  nested: {x: 1, y: {z: 2}}
"""


def patched(patch: str, target: str = "", base: str = BASE) -> dict[str, str]:
    """A kustomization over BASE with one patch file."""
    entry = f"{{path: p.yaml{', target: ' + target if target else ''}}}"
    return {
        ROOT: f"resources: [base.yaml]\npatches: [{entry}]\n",
        "app/base.yaml": base,
        "app/p.yaml": patch,
    }


def deployment(spec: str) -> str:
    """A patch of BASE's Deployment; `spec` may start with more metadata (block style)."""
    head = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n"
    return head + spec.removeprefix("metadata:\n")


def kind_of(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (found,) = [o for o in objects if o["kind"] == kind]
    return found


def containers(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = kind_of(objects, "Deployment")["spec"]["template"]["spec"][
        "containers"
    ]
    return result


@pytest.mark.parametrize(
    "spec",
    [
        # maps merged, scalars replaced, a null deletes
        "spec:\n  replicas: 3\n  strategy: {type: Recreate}\n",
        "spec:\n  strategy: {rollingUpdate: null}\n  minReadySeconds: 5\n",
        # containers by name: the patch's first, then the others
        "spec:\n  template:\n    spec:\n      containers:\n        - name: side\n"
        "          image: side:2\n",
        "spec:\n  template:\n    spec:\n      containers:\n        - name: new\n"
        "          image: new:1\n        - name: web\n          image: nginx:2\n",
        # env by name, with $patch: delete on an element
        "spec:\n  template:\n    spec:\n      containers:\n        - name: web\n"
        "          env: [{name: C, value: '3'}, {name: B, value: '9'},"
        " {name: A, $patch: delete}]\n",
        # a list without a merge key is replaced
        "spec:\n  template:\n    spec:\n      containers:\n        - name: web\n"
        "          args: [--c]\n      tolerations: [{key: b, operator: Exists}]\n",
        # $patch: replace on a list, delete on a list, replace on a map
        "spec:\n  template:\n    spec:\n      containers:\n        - $patch: replace\n"
        "        - {name: only, image: only:1}\n",
        "spec:\n  template:\n    spec:\n      initContainers:\n        - $patch: delete\n",
        "spec:\n  template:\n    spec:\n      containers:\n        - name: web\n"
        "          securityContext: {$patch: replace, privileged: false}\n",
        # ... but on an element the object has, the object's element stays as it is
        "spec:\n  template:\n    spec:\n      containers:\n        - $patch: merge\n"
        "        - name: web\n          image: other\n          $patch: replace\n",
        # volumes and volumeMounts by their keys; a new container's nulls are dropped
        "spec:\n  template:\n    spec:\n      volumes: [{name: extra, emptyDir: {}},"
        " {name: data, $patch: delete}]\n      containers:\n        - name: web\n"
        "          volumeMounts: [{mountPath: /extra, name: extra}]\n"
        "        - {name: added, image: a:1, securityContext: null, env: [{name: X, value: x}]}\n",
        # ports: untouched by the patch of their container, or added to one without
        "spec:\n  template:\n    spec:\n      containers:\n        - name: side\n"
        "          ports: [{containerPort: 8080}, {containerPort: 9090, protocol: UDP}]\n",
        # labels, annotations, a timestamp as kustomize prints it
        "metadata:\n  labels: {app: api, tier: web}\n  annotations: {at: 2019-03-20T17:54:53Z}\n",
        # the whole object deleted
        "$patch: delete\n",
    ],
)
def test_strategic_merge_of_a_deployment(spec: str) -> None:
    both_ways(patched(deployment(spec)))


def test_merge_by_target_and_custom_resources_without_merge_keys() -> None:
    """A `target:` patch applies to every match (its own name and kind ignored); a custom
    resource has no schema: maps merged, every list replaced."""
    patch = "apiVersion: x/v1\nkind: Anything\nmetadata: {name: ignored}\nspec:\n"
    patch += "  items: [{name: b, size: 3}]\n  nested: {y: {w: 1}}\n"
    objects = both_ways(patched(patch, "{kind: Widget}"))
    assert kind_of(objects, "Widget")["spec"]["items"] == [{"name": "b", "size": 3}]
    both_ways(patched(deployment("spec: {replicas: 5}\n"), "{kind: Deployment|Service}"))
    inline = {
        ROOT: "resources: [base.yaml]\npatches:\n- patch: |-\n    apiVersion: v1\n"
        "    kind: Service\n    metadata: {name: web}\n    spec: {type: NodePort}\n",
        "app/base.yaml": BASE,
    }
    objects = both_ways(inline)
    assert kind_of(objects, "Service")["spec"]["type"] == "NodePort"


def test_merge_in_components_and_under_namespace() -> None:
    """A component's patches apply to its parent's objects; the patched object keeps its
    name and namespace whatever the patch says."""
    files = {
        ROOT: "namespace: team\nresources: [base.yaml]\ncomponents: [../c]\n",
        "app/base.yaml": BASE,
        "c/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
        "patches:\n- patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n"
        "    metadata: {name: web}\n    spec:\n      template:\n        spec:\n"
        "          containers:\n          - name: web\n            env:\n"
        "            - {name: COMPONENT, value: 'on'}\n",
    }
    objects = both_ways(files)
    assert containers(objects)[0]["env"][0] == {"name": "COMPONENT", "value": "on"}


ATTACKS = {
    "privileged by name": "spec:\n  template:\n    spec:\n      containers:\n"
    "        - name: side\n          securityContext: {privileged: true}\n",
    "privileged init container": "spec:\n  template:\n    spec:\n      initContainers:\n"
    "        - name: init\n          securityContext: {privileged: true}\n",
    "privileged ephemeral container": "spec:\n  template:\n    spec:\n"
    "      ephemeralContainers:\n        - {name: debug, image: busybox,"
    " securityContext: {privileged: true}}\n",
    "hidden by replace": "spec:\n  template:\n    spec:\n      containers:\n"
    "        - $patch: replace\n        - name: web\n          image: nginx:1.25\n"
    "          securityContext: {privileged: true}\n",
    "securityContext deleted": "spec:\n  template:\n    spec:\n      containers:\n"
    "        - name: web\n          securityContext: null\n",
    "anchors": "spec:\n  template:\n    spec:\n      containers:\n"
    "        - name: web\n          securityContext: &root {privileged: true, runAsUser: 0}\n"
    "        - name: side\n          securityContext: *root\n",
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attacks_are_judged_as_kubectl_builds_them(name: str) -> None:
    objects = both_ways(patched(deployment(ATTACKS[name])))
    pod = kind_of(objects, "Deployment")["spec"]["template"]["spec"]
    assert any(
        (c.get("securityContext") or {}).get("privileged") or "securityContext" not in c
        for c in [
            *pod["containers"],
            *pod.get("initContainers", []),
            *pod.get("ephemeralContainers", []),
        ]
    )


@pytest.mark.parametrize(
    ("patch", "reason"),
    [
        # two containers of one name in the object, or in the patch
        (
            deployment(
                "spec:\n  template:\n    spec:\n      containers:\n"
                "        - {name: web, image: x}\n        - {name: web, securityContext:"
                " {privileged: true}}\n"
            ),
            "twice",
        ),
        # a merge key written as a number
        (
            deployment(
                "spec:\n  template:\n    spec:\n      containers:\n        - name: 1\n"
                "          image: x\n"
            ),
            "merge key",
        ),
        # ports merged with ports: two merge keys (containerPort and protocol)
        (
            deployment(
                "spec:\n  template:\n    spec:\n      containers:\n        - name: web\n"
                "          ports: [{containerPort: '80', protocol: UDP}]\n"
            ),
            "several merge keys",
        ),
        (deployment("$patch: replace\nspec: {}\n"), "whole object"),
        (
            deployment(
                "spec:\n  template:\n    spec:\n      $setElementOrder/containers:"
                " [{name: side}, {name: web}]\n"
            ),
            "$setElementOrder",
        ),
        (
            deployment("spec:\n  template:\n    spec:\n      $retainKeys: [containers]\n"),
            "$retainKeys",
        ),
        (
            deployment(
                "spec:\n  template:\n    spec:\n      containers:\n        - name: web\n"
                "          $deleteFromPrimitiveList/args: [--a]\n"
            ),
            "$deleteFromPrimitiveList",
        ),
        (deployment("spec: {replicas: 1}\n").replace("name: web", "name: nothing"), "exactly one"),
        (deployment("metadata:\n  annotations: null\n"), "metadata"),
        (deployment("metadata:\n  labels: {app: null}\n"), "non-strings"),
        (deployment('spec:\n  replicas: 1 # {"type": "array"}\n'), "schema"),
        (deployment("spec:\n  tolerations: [{key: a, value: null}]\n"), "null"),
        (
            "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: web}\n"
            "spec: {maxReplicas: 3}\n",
            "exactly one",
        ),
        (deployment("spec:\n  replicas: [1]\n"), "not a list"),
        (deployment("spec:\n  strategy: {$patch: [delete]}\n"), "unknown $patch"),
        (
            deployment(
                "spec:\n  template:\n    spec:\n      containers:\n"
                "        - $patch: {delete: true}\n"
            ),
            "unknown $patch",
        ),
        (deployment("metadata:\n  annotations: {at: 2019-03-20}\n"), "timestamp"),
    ],
)
def test_merges_we_do_not_copy_go_to_kubectl(patch: str, reason: str) -> None:
    assert reason in refused(patched(patch))


def test_a_strategic_merge_of_a_built_in_kind_without_our_schema_goes_to_kubectl() -> None:
    base = "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: web}\n"
    base += "spec: {minAvailable: 1}\n"
    patch = base.replace("minAvailable: 1", "minAvailable: 2")
    assert "policy/v1 PodDisruptionBudget" in refused(patched(patch, base=base))


CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: models.serving.example.com
spec:
  group: serving.example.com
  names: {kind: Model, plural: models, shortNames: [mdl]}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object}}
"""
WEBHOOKS = """\
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: mutating-webhook-configuration
webhooks:
- name: mpod.example.com
  admissionReviewVersions: [v1]
  sideEffects: None
  clientConfig: {service: {name: webhook-service, namespace: system, path: /mutate-pods}}
  rules:
  - {apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [pods]}
- name: mmodel.example.com
  admissionReviewVersions: [v1]
  sideEffects: None
  clientConfig: {service: {name: webhook-service, namespace: system, path: /mutate-models}}
"""


def test_kubebuilder_crd_and_webhook_patches_are_built_in_process() -> None:
    """kubebuilder's config/default overlay: a CRD's conversion webhook and CA-injection
    annotation, a webhook's namespaceSelector and failurePolicy patched by name, under a
    namespace and a name prefix (each built by kubectl before: 1-2.5 s a build)."""
    files = {
        ROOT: (
            "namespace: serving\n"
            "namePrefix: kserve-\n"
            "resources: [crd.yaml, webhooks.yaml]\n"
            "patches:\n"
            "- path: conversion.yaml\n"
            "- path: cainjection.yaml\n"
            "- path: webhook.yaml\n"
        ),
        "app/crd.yaml": CRD,
        "app/webhooks.yaml": WEBHOOKS,
        "app/conversion.yaml": (
            "apiVersion: apiextensions.k8s.io/v1\n"
            "kind: CustomResourceDefinition\n"
            "metadata: {name: models.serving.example.com}\n"
            "spec:\n"
            "  conversion:\n"
            "    strategy: Webhook\n"
            "    webhook:\n"
            "      clientConfig: {service: {namespace: system, name: webhook-service}}\n"
            "      conversionReviewVersions: [v1]\n"
            "  names: {shortNames: [m]}\n"
        ),
        "app/cainjection.yaml": (
            "apiVersion: apiextensions.k8s.io/v1\n"
            "kind: CustomResourceDefinition\n"
            "metadata:\n"
            "  name: models.serving.example.com\n"
            "  annotations: {cert-manager.io/inject-ca-from: serving/serving-cert}\n"
        ),
        "app/webhook.yaml": (
            "apiVersion: admissionregistration.k8s.io/v1\n"
            "kind: MutatingWebhookConfiguration\n"
            "metadata: {name: mutating-webhook-configuration}\n"
            "webhooks:\n"
            "- name: mpod.example.com\n"
            "  failurePolicy: Fail\n"
            "  namespaceSelector:\n"
            "    matchExpressions: [{key: control-plane, operator: DoesNotExist}]\n"
            "- name: added.example.com\n"
            "  admissionReviewVersions: [v1]\n"
            "  sideEffects: None\n"
            "  clientConfig: {url: https://example.com/x}\n"
        ),
    }
    crd, webhooks = both_ways(files)
    assert crd["spec"]["conversion"]["strategy"] == "Webhook"
    assert crd["spec"]["names"]["shortNames"] == ["m"]  # a list without a key: replaced
    assert [hook["name"] for hook in webhooks["webhooks"]] == [
        "mpod.example.com",
        "added.example.com",
        "mmodel.example.com",
    ]


@pytest.mark.parametrize(
    "service",
    ["{name: webhook-service}", "{name: webhook-service, namespace: serving}", "{}"],
)
def test_namespace_sets_a_crds_conversion_service_namespace_only_where_written(
    service: str,
) -> None:
    files = {
        ROOT: "namespace: serving\nresources: [crd.yaml]\n",
        "app/crd.yaml": CRD
        + "  conversion:\n    strategy: Webhook\n    webhook:\n      clientConfig:\n"
        + f"        service: {service}\n",
    }
    (crd,) = both_ways(files)
    written = crd["spec"]["conversion"]["webhook"]["clientConfig"]["service"]
    assert written.get("namespace") == ("serving" if "namespace" in service else None)


def test_a_crds_conversion_service_namespace_not_a_text_goes_to_kubectl() -> None:
    files = {
        ROOT: "namespace: serving\nresources: [crd.yaml]\n",
        "app/crd.yaml": CRD
        + "  conversion:\n    webhook:\n      clientConfig:\n        service: {namespace: 7}\n",
    }
    assert "conversion service's namespace" in refused(files)


@pytest.mark.parametrize("written", ["  creationTimestamp: null\n", ""])
def test_a_patch_deleting_a_crds_creation_timestamp(written: str) -> None:
    """kustomize issue 5031's workaround (kserve's config/crd): a patch of a CRD with
    `creationTimestamp: null`, over a CRD that writes one (controller-gen's) or none."""
    crd = CRD.replace(
        "  name: models.serving.example.com\n", "  name: models.serving.example.com\n" + written
    )
    files = {
        ROOT: "resources: [crd.yaml]\npatches:\n- patch: |-\n"
        "    apiVersion: apiextensions.k8s.io/v1\n"
        "    kind: CustomResourceDefinition\n"
        "    metadata:\n"
        "      creationTimestamp: null\n"
        "      name: models.serving.example.com\n"
        "    spec:\n"
        "      names: {singular: model}\n",
        "app/crd.yaml": crd,
    }
    (obj,) = both_ways(files)
    assert (
        "creationTimestamp" not in obj["metadata"] and obj["spec"]["names"]["singular"] == "model"
    )


def _merge_keyed_lists(
    schema: Schema, path: tuple[str, ...]
) -> list[tuple[tuple[str, ...], Keyed]]:
    out = []
    for key, sub in schema.items():
        if isinstance(sub, Keyed):
            out.append(((*path, key), sub))
            if sub.items is not None:
                out.extend(_merge_keyed_lists(sub.items, (*path, key, "0")))
        else:
            out.extend(_merge_keyed_lists(sub, (*path, key)))
    return out


@pytest.mark.parametrize(
    ("kind", "path", "key"),
    [
        (kind, path, keyed.keys[0])
        for kind in (
            ("apps/v1", "Deployment"),
            ("v1", "ServiceAccount"),
            ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration"),
            ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"),
            ("admissionregistration.k8s.io/v1beta1", "MutatingWebhookConfiguration"),
            ("admissionregistration.k8s.io/v1beta1", "ValidatingWebhookConfiguration"),
        )
        for path, keyed in _merge_keyed_lists(SCHEMAS[kind], ())
        if len(keyed.keys) == 1 and "metadata" not in path
    ],
)
def test_merge_keys_are_kubectls(kind: tuple[str, str], path: tuple[str, ...], key: str) -> None:
    """SCHEMAS against kubectl: a list it says merges on `key` keeps the object's element
    beside the patch's (a list replaced would not)."""
    api, name = kind

    def document(value: str) -> str:
        text = f"apiVersion: {api}\nkind: {name}\nmetadata: {{name: x}}\n"
        indent = ""
        for part in path:
            if part == "0":
                text += f"{indent}- name: c\n"
                indent += "  "
                continue
            text += f"{indent}{part}:\n"
            indent += "  "
        return text + f"{indent}- {{{key}: {value}}}\n"

    files = {
        ROOT: "resources: [base.yaml]\npatches: [{path: p.yaml}]\n",
        "app/base.yaml": document("a"),
        "app/p.yaml": document("b"),
    }
    (obj,) = both_ways(files)
    found: Any = obj
    for part in path:
        found = found[0] if part == "0" else found[part]
    assert [item[key] for item in found] == ["b", "a"]


def test_patches_in_sequence_with_json_patches_between() -> None:
    """Each patch sees what the ones before it left: a strategic merge, a JSON patch of what
    it added, another merge that deletes a container."""
    files = {
        ROOT: "resources: [base.yaml]\npatches:\n- path: one.yaml\n"
        "- target: {kind: Deployment}\n  patch: |-\n"
        "    - {op: add, path: /spec/template/spec/containers/0/env/0,"
        " value: {name: J, value: j}}\n"
        "- path: two.yaml\n",
        "app/base.yaml": BASE,
        "app/one.yaml": deployment(
            "spec:\n  template:\n    spec:\n      containers:\n        - name: side\n"
            "          env: [{name: S, value: s}]\n"
        ),
        "app/two.yaml": deployment(
            "spec:\n  template:\n    spec:\n      containers:\n"
            "        - {name: web, $patch: delete}\n"
        ),
    }
    objects = both_ways(files)
    assert [c["name"] for c in containers(objects)] == ["side"]
    assert containers(objects)[0]["env"][0] == {"name": "J", "value": "j"}


def test_an_object_with_a_container_name_twice_goes_to_kubectl() -> None:
    base = BASE.replace("        - name: side\n", "        - name: web\n", 1)
    patch = deployment("spec: {replicas: 1}\n")
    assert "twice" in refused(patched(patch, base=base))


def test_patches_strategic_merge_before_patches_and_documents_in_order() -> None:
    """`patchesStrategicMerge:` (files or inline text) applies before `patches:`; each
    document of a file is a patch of its own, in order."""
    two = deployment("spec: {replicas: 1, minReadySeconds: 3}\n---\n")
    two += deployment("spec: {replicas: 2}\n")
    files = {
        ROOT: "resources: [base.yaml]\npatchesStrategicMerge:\n- two.yaml\n- |-\n"
        "  apiVersion: v1\n  kind: Service\n  metadata: {name: web}\n  spec: {type: NodePort}\n"
        "patches: [{path: three.yaml}]\n",
        "app/base.yaml": BASE,
        "app/two.yaml": two,
        "app/three.yaml": deployment("spec: {replicas: 3}\n"),
    }
    objects = both_ways(files)
    assert kind_of(objects, "Deployment")["spec"]["replicas"] == 3
    assert kind_of(objects, "Deployment")["spec"]["minReadySeconds"] == 3
    assert kind_of(objects, "Service")["spec"]["type"] == "NodePort"
    files[ROOT] = "resources: [base.yaml]\npatches: [{path: two.yaml}]\n"
    assert kind_of(both_ways(files), "Deployment")["spec"]["replicas"] == 2


def test_nulls_of_the_patched_object() -> None:
    """kustomize keeps a null written `null` or `~` of the object it patches (a patch over it
    merges as over nothing) but drops one written as nothing: that goes to kubectl."""
    base = BASE.replace(
        "  labels: {app: web}\n", "  labels: {app: web}\n  creationTimestamp: null\n"
    )
    base = base.replace(
        "  replicas: 2\n", "  replicas: 2\n  paused: ~\n  revisionHistoryLimit: null\n"
    )
    base = base.replace("      tolerations:", "      affinity: null\n      tolerations:")
    patch = deployment(
        "spec:\n  revisionHistoryLimit: 3\n  template:\n    spec:\n"
        "      affinity: {nodeAffinity: {}}\n"
    )
    objects = both_ways(patched(patch, base=base))
    assert kind_of(objects, "Deployment")["metadata"]["creationTimestamp"] is None
    assert kind_of(objects, "Deployment")["spec"]["paused"] is None
    empty = base.replace("  paused: ~\n", "  paused:\n")
    assert "null" in refused(patched(patch, base=empty))


def test_a_privileged_sidecar_set_by_a_component_patch_is_found_at_the_patch(
    tmp_path: Path,
) -> None:
    """End to end: the overlay built in-process, the finding at the patch file's line of the
    container kustomize merged it into (a sidecar named by the patch)."""
    files = {
        "base/kustomization.yaml": "resources: [deploy.yaml]\n",
        "base/deploy.yaml": BASE.split("---\n")[0],
        "overlay/kustomization.yaml": "resources: [../base]\ncomponents: [../debug]\n",
        "debug/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\n"
        "kind: Component\npatches: [{path: patch.yaml}]\n",
        "debug/patch.yaml": deployment(
            "spec:\n  template:\n    spec:\n      containers:\n        - name: side\n"
            "          securityContext:\n            privileged: true\n"
        ),
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    found = {
        (f.file, f.line) for f in report.verdict.findings if f.policy_id == "K8S-PSS-PRIVILEGED"
    }
    assert ("debug/patch.yaml", 11) in found, found


def _random_patch(rng: random.Random) -> dict[str, Any]:
    """A strategic-merge patch of BASE's objects, from the parts kustomize treats apart:
    containers and env by name, lists replaced, nulls, directives on maps and lists."""
    if rng.random() < 0.3:
        spec: dict[str, Any] = {
            "items": [{"name": rng.choice("abc"), "size": rng.choice([1, None])}],
            "nested": rng.choice([{"y": {"z": 3, "w": None}}, {"$patch": "replace", "q": 1}]),
        }
        return {
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "metadata": {"name": "web"},
            "spec": spec,
        }
    containers = []
    for name in rng.sample(["web", "side", "new"], rng.randint(1, 3)):
        container: dict[str, Any] = {"name": name}
        for key in rng.sample(["image", "env", "securityContext", "args", "$patch"], 2):
            container[key] = {
                "image": rng.choice(["a:1", None]),
                "env": [{"name": "B", "$patch": "delete"}, {"name": "C", "value": "c"}],
                "securityContext": rng.choice([None, {"privileged": True}, {"runAsUser": None}]),
                "args": rng.choice([[], ["--x"]]),
                "$patch": rng.choice(["delete", "replace", "merge"]),
            }[key]
        containers.append(container)
    if rng.random() < 0.2:
        containers.insert(0, {"$patch": rng.choice(["replace", "merge"])})
    pod = {"containers": containers, "tolerations": [{"key": "b", "operator": "Exists"}]}
    if rng.random() < 0.5:
        pod["volumes"] = [{"name": rng.choice(["data", "v2"]), "hostPath": {"path": "/"}}]
    return deployment_object({"spec": {"template": {"spec": pod}}})


def deployment_object(fields: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, **fields}


@pytest.mark.parametrize("seed", range(6))
def test_random_patches_agree_with_kubectl(seed: int) -> None:
    """Random patches (a run of several hundred found two differences, now cases above):
    each is built both ways, or refused and built by kubectl."""
    rng = random.Random(seed)
    for _ in range(2):
        patch = _random_patch(rng)
        target = rng.choice(["", "{kind: " + patch["kind"] + "}"])
        files = patched(yaml.safe_dump(patch), target)
        try:
            both_ways(files)
        except Unsupported:
            refused(files)
