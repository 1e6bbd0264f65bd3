"""Our policies exported as ValidatingAdmissionPolicies give the same verdicts (round trip)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from gatekeeper import admission
from gatekeeper.export_vap import export
from gatekeeper.policy.loader import builtin_dir, load_bundle
from gatekeeper.policy.model import Policy
from gatekeeper.sources import kubernetes
from gatekeeper.yamldoc import YamlDocument, load_all
from tests.conftest import Run

Gatekeeper = Callable[..., Run]
LIBRARY = [
    policy
    for policy in load_bundle([builtin_dir() / "kubernetes", builtin_dir() / "gitops"])
    if policy.match.source == "kubernetes"
]


def admission_of(documents: list[dict[str, Any]]) -> admission.Admission:
    text = yaml.safe_dump_all(documents)
    parsed = [d for d in load_all("vap.yaml", text) if isinstance(d, YamlDocument)]
    built = admission.build([("vap.yaml", document) for document in parsed])
    assert built.problems == []
    return built


@pytest.mark.parametrize("policy", LIBRARY, ids=lambda p: p.id)
def test_round_trip_gives_each_test_case_the_same_verdict(policy: Policy) -> None:
    """Export, then evaluate the exported policy on the policy's own test cases the way the
    API server would: every expected failure is denied, every expected pass is admitted."""
    if policy.scope == "repository":
        assert "repository" in export(policy).reason
        return
    if "base64." in policy.rule.source:  # not in the API server's CEL: not exported
        assert "base64" in export(policy).reason
        return
    assert policy.tests, f"{policy.id} has no test cases"
    for case in policy.tests:
        exported = export(policy, case.get("params"))
        assert exported.reason == "", exported.reason
        checker = admission_of(exported.documents)
        objects = kubernetes.load("input.yaml", case["input"].encode()).documents
        denied = [finding for document in objects for finding in checker.evaluate(document)]
        assert bool(denied) == (case.get("expect") == "fail"), (case.get("name"), denied)
        assert all(finding.severity == "high" for finding in denied)


def test_exported_documents_have_the_admission_shape() -> None:
    """Every field the API server requires, in the types it requires."""
    for policy in LIBRARY:
        exported = export(policy)
        if exported.reason:
            continue
        vap, binding = exported.documents
        assert vap["apiVersion"] == binding["apiVersion"] == "admissionregistration.k8s.io/v1"
        assert len(vap["metadata"]["name"]) <= 253
        assert vap["metadata"]["name"] == binding["spec"]["policyName"]
        for rule in vap["spec"]["matchConstraints"]["resourceRules"]:
            assert rule["resources"] and all(r == r.lower() for r in rule["resources"])
            assert set(rule["operations"]) <= {"CREATE", "UPDATE", "DELETE", "CONNECT", "*"}
        assert binding["spec"]["validationActions"] == ["Deny"]
        assert all(v["expression"] for v in vap["spec"]["validations"])


def test_exported_documents_validate_against_the_kubernetes_schema() -> None:
    validate = pytest.importorskip("kubernetes_validate")
    for policy in LIBRARY:
        for document in export(policy).documents:
            validate.validate(document, "1.30", strict=True)


def test_cli_export_lists_what_admission_cannot_enforce(
    gatekeeper: Gatekeeper, tmp_path: Path
) -> None:
    run = gatekeeper("export", "--format", "vap", "-o", "out.yaml", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    text = (tmp_path / "out.yaml").read_text()
    assert "# not exported: K8S-NETWORK-POLICY-PRESENT: it judges the whole repository" in text
    documents = [d for d in yaml.safe_load_all(text) if d]
    names = {d["metadata"]["name"] for d in documents if d["kind"] == "ValidatingAdmissionPolicy"}
    assert "gatekeeper-k8s-pss-privileged" in names
    assert len(documents) == 2 * len(names)
    # base64.decode: not in the API server's CEL (k8s.io/apiserver/pkg/cel/environment)
    assert (
        "# not exported: K8S-CONFIGMAP-BINARY-CREDENTIALS: its rule calls `base64.` or `math.`"
        in text
    )
