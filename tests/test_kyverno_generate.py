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
