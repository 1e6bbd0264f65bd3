"""In-repository admission policies judge objects as the API server admits them: defaulted and
mutated, located as written, once for every overlay, and only where they are deployed."""

from __future__ import annotations

from typing import Any

import pytest

from gatekeeper.apiserver_defaults import admitted
from tests.test_admission import deployment, findings

# A pool policy as GKE samples write them: it reads `tolerations` without `has()`, which the
# API server always fills (DefaultTolerationSeconds), and `value` without `has()`, which only
# an `Equal` toleration has.
POOL_POLICY = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: pool-namespaces}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - {apiGroups: [""], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [pods]}
  matchConditions:
    - name: pool-toleration
      expression: >
        object.spec.tolerations.exists(t, has(t.key) && t.key == 'example.com/pool' &&
        t.value == 'gpu')
  validations:
    - expression: "object.metadata.namespace == 'ml'"
      message: the gpu pool is for the ml namespace
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: pool-namespaces}
spec: {policyName: pool-namespaces, validationActions: [Deny]}
"""
POD = """\
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: web}
spec:
  containers: [{name: c, image: ghcr.io/acme/c:1.0}]
"""
POOL = """\
      tolerations:
        - key: example.com/pool
          operator: Exists
"""


def test_the_api_server_defaults_and_mutates_a_pod_before_policies_see_it() -> None:
    pod: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {
            "containers": [
                {"name": "a", "image": "nginx", "ports": [{"containerPort": 80}]},
                {"name": "b", "image": "ghcr.io/acme/b:1.0", "imagePullPolicy": "Never"},
                {"name": "c", "image": "registry:5000/c@sha256:" + "0" * 64},
            ],
            "tolerations": [{"key": "node.kubernetes.io/unreachable", "operator": "Exists"}],
            "securityContext": None,
        },
    }
    spec = admitted(pod, "web")["spec"]
    assert pod["spec"]["securityContext"] is None  # the written object is left alone
    assert [c["imagePullPolicy"] for c in spec["containers"]] == [
        "Always",
        "Never",
        "IfNotPresent",
    ]
    assert spec["containers"][0]["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert spec["securityContext"] == {}
    assert (spec["dnsPolicy"], spec["restartPolicy"], spec["schedulerName"]) == (
        "ClusterFirst",
        "Always",
        "default-scheduler",
    )
    assert (spec["serviceAccountName"], spec["enableServiceLinks"], spec["priority"]) == (
        "default",
        True,
        0,
    )
    # the unreachable taint is tolerated as written (no effect: every effect): only not-ready
    assert spec["tolerations"][1:] == [
        {
            "key": "node.kubernetes.io/not-ready",
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": 300,
        }
    ]
    token = spec["volumes"][0]
    assert token["name"].startswith("kube-api-access-")
    mount = "/var/run/secrets/kubernetes.io/serviceaccount"
    assert all(c["volumeMounts"][-1]["mountPath"] == mount for c in spec["containers"])
    off = admitted({**pod, "spec": {**pod["spec"], "automountServiceAccountToken": False}})
    assert "volumes" not in off["spec"]


def test_a_workload_is_defaulted_but_its_template_is_not_admitted_as_a_pod() -> None:
    written = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 3,
            "template": {"spec": {"containers": [{"name": "web", "image": "web:latest"}]}},
        },
    }
    obj = admitted(written)
    spec = obj["spec"]
    assert (spec["replicas"], spec["revisionHistoryLimit"], spec["progressDeadlineSeconds"]) == (
        3,
        10,
        600,
    )
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
    }
    template = spec["template"]["spec"]
    assert template["containers"][0]["imagePullPolicy"] == "Always"
    assert template["terminationGracePeriodSeconds"] == 30
    assert "tolerations" not in template and "serviceAccountName" not in template
    assert "namespace" not in obj["metadata"]  # deployed where the deployer says
    job = admitted({"apiVersion": "batch/v1", "kind": "CronJob", "spec": {}})["spec"]
    assert (job["concurrencyPolicy"], job["jobTemplate"]["spec"]["backoffLimit"]) == ("Allow", 6)
    crd = {"apiVersion": "example.com/v1", "kind": "Deployment", "spec": {}}
    assert admitted(crd) is crd


def test_a_policy_reading_what_the_api_server_fills_judges_the_admitted_pod() -> None:
    """kubernetes-engine-samples' compute-class policy: 272 blocking "no such key:
    tolerations" findings on unrelated Deployments, judged as written."""
    files = {
        "policy.yaml": POOL_POLICY,
        "pod.yaml": POD,
        "web.yaml": deployment("web", "web", 1),
        "ml.yaml": deployment("trainer", "ml", 1).replace("    spec:\n", "    spec:\n" + POOL),
    }
    found = findings(files)
    # the one left: an `Exists` toleration has no value, which the API server's CEL errs on
    # too (failurePolicy Fail): said at the tolerations written, not the document's top
    assert [(f.file, f.line, f.path, f.severity) for f in found] == [
        ("ml.yaml", 14, "spec.template.spec.tolerations", "high")
    ]
    assert 'Key not found in map : "value"' in found[0].message
    gpu = POOL.replace("operator: Exists", "value: gpu")
    web = deployment("web", "web", 1).replace("    spec:\n", "    spec:\n" + gpu)
    found = findings({**files, "ml.yaml": web.replace("name: web", "name: ml-web")})
    assert [(f.file, f.message) for f in found] == [
        (
            "ml.yaml",
            "the gpu pool is for the ml namespace (in the Pods that Deployment ml-web creates)",
        )
    ]


def test_a_base_judged_in_several_overlays_is_one_finding_with_its_variants() -> None:
    gpu = POOL.replace("operator: Exists", "value: gpu")
    base = deployment("web", "web", 1).replace("    spec:\n", "    spec:\n" + gpu)
    overlay = "resources: [../../base]\nnamespace: {ns}\n"
    files = {
        "policy.yaml": POOL_POLICY,
        "base/web.yaml": base.replace("  namespace: web\n", ""),
        "base/kustomization.yaml": "resources: [web.yaml]\n",
        "overlays/dev/kustomization.yaml": overlay.format(ns="dev"),
        "overlays/prod/kustomization.yaml": overlay.format(ns="prod"),
    }
    found = [f for f in findings(files) if f.policy_id.startswith("VAP-")]
    assert [(f.file, f.line, f.extra.get("variants")) for f in found] == [
        (
            "base/web.yaml",
            11,  # the namespace it reads, at the template's metadata
            ["kustomize base", "kustomize overlays/dev", "kustomize overlays/prod"],
        )
    ]


def test_a_policy_judges_the_objects_deployed_with_it() -> None:
    """A sample's policy in a monorepo of samples judges its sample, not the others: a
    policy judges the folder above its own (the cluster's), at the top the repository."""
    gpu = POOL.replace("operator: Exists", "value: gpu")
    web = deployment("web", "web", 1).replace("    spec:\n", "    spec:\n" + gpu)
    files = {
        "samples/pools/vap/policy.yaml": POOL_POLICY,
        "samples/pools/demo/web.yaml": web,
        "samples/other/web.yaml": web,
        "web.yaml": web,
    }
    assert [f.file for f in findings(files)] == ["samples/pools/demo/web.yaml"]
    beside = {**files, "samples/pools/vap/web.yaml": web}  # cannot narrow the scope
    assert sorted(f.file for f in findings(beside)) == [
        "samples/pools/demo/web.yaml",
        "samples/pools/vap/web.yaml",
    ]
    top = {**files, "policies/policy.yaml": POOL_POLICY}
    del top["samples/pools/vap/policy.yaml"]
    assert sorted(f.file for f in findings(top)) == [
        "samples/other/web.yaml",
        "samples/pools/demo/web.yaml",
        "web.yaml",
    ]


def test_where_an_object_is_deployed_from_is_asked_once_for_every_policy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """kyverno/policies binds 1,000 policies in 200 folders: asking each of its 8,000
    objects, once per binding, whether it is in the binding's scope was 55 of the 112 s its
    scan took (profiled). Per object, where it is deployed from is read once and each scope
    answered once; what the policies judge is as before."""
    from gatekeeper import admission, admission_scope

    gpu = POOL.replace("operator: Exists", "value: gpu")
    web = deployment("web", "web", 1).replace("    spec:\n", "    spec:\n" + gpu)
    files = {"samples/pools/demo/web.yaml": web, "samples/other/web.yaml": web}
    for number in range(12):
        named = POOL_POLICY.replace("pool-namespaces", f"pool-namespaces-{number}")
        files[f"samples/pools/vap{number % 2}/policy{number}.yaml"] = named
    asked: list[str] = []
    real = admission_scope.places_of

    def counting(document: Any) -> tuple[str, ...]:
        asked.append(document.file)
        return real(document)

    monkeypatch.setattr(admission, "places_of", counting)
    found = findings(files)
    assert sorted({f.file for f in found}) == ["samples/pools/demo/web.yaml"]
    assert len(found) == 12
    # once for the Deployment, once for the pod its controller asks the API server for
    assert sorted(asked) == sorted(2 * sorted(set(asked)))
