"""What a Kyverno generate rule creates is judged as the object it is, located in the rule."""

from __future__ import annotations

from gatekeeper.evaluate import Engine
from gatekeeper.policy.loader import load_policy_file
from gatekeeper.scanner import scan
from gatekeeper.sources import LoadContext
from gatekeeper.tree import MemoryTree
from tests.conftest import REPO

POLICIES = REPO / "policies" / "kubernetes"
GENERATING = """\
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: node-helper}
spec:
  rules:
    - name: helper
      match: {any: [{resources: {kinds: [Namespace]}}]}
      generate:
        apiVersion: apps/v1
        kind: DaemonSet
        name: helper
        namespace: kube-system
        data:
          spec:
            template:
              spec:
                hostPID: true
                containers:
                  - name: c
                    image: ghcr.io/acme/c:1.0
                    securityContext: {privileged: true}
    - name: per-namespace
      match: {any: [{resources: {kinds: [Namespace]}}]}
      generate:
        apiVersion: v1
        kind: Pod
        namespace: "{{request.object.metadata.name}}"
        foreach:
          - list: request.object.spec.things
            name: agent
            data:
              spec:
                containers: [{name: agent, image: ghcr.io/acme/a:1.0}]
          - list: request.object.spec.things
            name: tool
            data:
              spec:
                containers:
                  - {name: tool, image: ghcr.io/acme/t:1.0, securityContext: {privileged: true}}
    - name: cloned
      match: {any: [{resources: {kinds: [Namespace]}}]}
      generate:
        apiVersion: v1
        kind: Secret
        name: regcred
        namespace: "{{request.object.metadata.name}}"
        clone: {namespace: default, name: regcred}
"""


def findings(text: str, *policies: str) -> list[tuple[str, int, str, str, list[str]]]:
    engine = Engine([load_policy_file(POLICIES / policy) for policy in policies])
    data = {"policies/gen.yaml": text.encode()}
    found = scan(sorted(data.items()), engine, 1, LoadContext(tree=MemoryTree(data))).findings
    return [(f.policy_id, f.line, f.kind, f.name, f.extra.get("variants", [])) for f in found]


def test_a_generated_daemonset_and_foreach_pods_are_judged_in_the_rule() -> None:
    policies = ("pss-baseline-privileged.yaml", "pss-baseline-host-namespaces.yaml")
    found = findings(GENERATING, *policies)
    rule = "deployed by policies/gen.yaml:node-helper (Kyverno rule {})"
    assert found == [
        ("K8S-PSS-HOST-NAMESPACES", 17, "DaemonSet", "helper", [rule.format("helper")]),
        ("K8S-PSS-PRIVILEGED", 21, "DaemonSet", "helper", [rule.format("helper")]),
        ("K8S-PSS-PRIVILEGED", 39, "Pod", "tool", [rule.format("per-namespace")]),
    ]


def test_the_admission_review_finding_stays_and_clones_are_not_invented() -> None:
    found = findings(GENERATING, "admission-mutation.yaml")
    assert [(policy, line, kind) for policy, line, kind, _, _ in found] == [
        ("K8S-ADMISSION-MUTATION", 4, "ClusterPolicy")
    ]


CEL_GENERATING = """\
apiVersion: policies.kyverno.io/v1alpha1
kind: GeneratingPolicy
metadata: {name: node-debugger}
spec:
  matchConstraints:
    resourceRules:
      - {apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [namespaces]}
  variables:
    - name: nsName
      expression: object.metadata.name
    - name: pod
      expression: >-
        [{"apiVersion": "v1", "kind": "Pod",
          "metadata": {"name": "dbg", "namespace": string(variables.nsName)},
          "spec": {"hostPID": true, "containers": [{"name": "x", "image": "busybox"}]}}]
    - name: fromCluster
      expression: object.spec.unknownField
  generate:
    - expression: generator.Apply(variables.nsName, variables.pod)
    - expression: >-
        generator.Apply("kube-system", [{"apiVersion": "apps/v1", "kind": "DaemonSet",
          "metadata": {"name": "agent"}, "spec": {"template": {"spec": {"containers": [
            {"name": "a", "image": "ghcr.io/acme/a:1.0",
             "securityContext": {"privileged": true}}]}}}}])
    - expression: generator.Apply(variables.nsName, variables.fromCluster)
"""


def test_a_cel_generating_policy_makes_what_its_literals_say() -> None:
    """r19: a Kyverno 1.15 GeneratingPolicy's `generator.Apply(ns, objects)` with literal
    objects (inline or in variables) is judged as those objects, at the generate entry; what
    needs more of the trigger is not invented; the review finding stays."""
    policies = ("pss-baseline-privileged.yaml", "pss-baseline-host-namespaces.yaml")
    found = findings(CEL_GENERATING, *policies, "admission-mutation.yaml")
    named = "deployed by policies/gen.yaml:node-debugger (Kyverno rule generate[{}])"
    assert found == [
        ("K8S-ADMISSION-MUTATION", 4, "GeneratingPolicy", "node-debugger", []),
        ("K8S-PSS-HOST-NAMESPACES", 19, "Pod", "dbg", [named.format(0)]),
        ("K8S-PSS-PRIVILEGED", 20, "DaemonSet", "agent", [named.format(1)]),
    ]
