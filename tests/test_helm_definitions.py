"""A chart's CustomResourceDefinitions are judged when a policy of the run may judge one
(gatekeeper/sources/helm_definitions.py): passed over unparsed otherwise, for speed, they
were a silent gap for a policy of one's own on CustomResourceDefinition."""

from __future__ import annotations

from pathlib import Path

import gatekeeper
from gatekeeper.finding import Finding

DEFINITION = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: {plural}.example.com
spec:
  group: example.com
  names: {{kind: {kind}, plural: {plural}}}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema: {{openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}}}
"""
# A policy of the repository's own: every definition names its owner.
OWNED = """\
id: TEST-CRD-OWNER
title: Definitions name their owner
severity: high
description: A definition without an owner label is nobody's to remove.
remediation: Label it with its owner.
match:
  source: kubernetes
  kinds: [CustomResourceDefinition]
rule: "has(object.metadata.labels) && 'owner' in object.metadata.labels"
field: metadata
"""
# An admission policy of the repository that matches definitions.
ADMISSION = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: crd-owner}
spec:
  matchConstraints:
    resourceRules:
      - apiGroups: [apiextensions.k8s.io]
        apiVersions: [v1]
        operations: [CREATE, UPDATE]
        resources: [customresourcedefinitions]
  validations:
    - {expression: "'owner' in object.metadata.?labels.orValue({})", message: no owner}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: crd-owner}
spec: {policyName: crd-owner, validationActions: [Deny]}
"""


def chart(root: Path) -> None:
    folder = root / "charts" / "ops"
    (folder / "templates").mkdir(parents=True)
    (folder / "crds").mkdir()
    (folder / "Chart.yaml").write_text("apiVersion: v2\nname: ops\nversion: 1.0.0\n")
    (folder / "crds" / "widgets.yaml").write_text(
        DEFINITION.format(kind="Widget", plural="widgets")
    )
    (folder / "templates" / "gadgets.yaml").write_text(
        DEFINITION.format(kind="Gadget", plural="gadgets")
    )


def judged(findings: list[Finding], policy: str) -> list[str]:
    return sorted(f.file for f in findings if f.policy_id == policy)


def test_a_policy_of_ones_own_on_definitions_judges_a_charts(tmp_path: Path) -> None:
    chart(tmp_path)
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "owned.yaml").write_text(OWNED)
    both = ["charts/ops/crds/widgets.yaml", "charts/ops/templates/gadgets.yaml"]
    report = gatekeeper.scan(tmp_path, root=tmp_path, policies=[tmp_path / "policies"], jobs=1)
    assert judged(report.verdict.findings, "TEST-CRD-OWNER") == both
    # Without it, nothing judges them (and they are passed over unparsed).
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    assert judged(report.verdict.findings, "TEST-CRD-OWNER") == []


def test_the_repositorys_admission_policy_on_definitions_judges_a_charts(tmp_path: Path) -> None:
    chart(tmp_path)
    (tmp_path / "admission").mkdir()
    (tmp_path / "admission" / "crd-owner.yaml").write_text(ADMISSION)
    findings = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1).verdict.findings
    assert judged(findings, "VAP-crd-owner") == [
        "charts/ops/crds/widgets.yaml",
        "charts/ops/templates/gadgets.yaml",
    ]
