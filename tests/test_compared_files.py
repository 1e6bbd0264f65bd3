"""Files a Chainsaw test compares with the cluster (`assert`, `error`) are not manifests.

Real-repo check (open-telemetry/opentelemetry-operator, 245 assert files): their partial
objects and JMESPath expressions were half of the findings (1,606 of 3,259: GK-SCHEMA and
GK-NOT-AN-OBJECT high on `(x_k8s_exists(...)): false`, Pod Security on partial pods whose
install file is judged already). What the test applies stays judged, and so does a file
something else applies (CI's `kubectl apply -f`) or that is not in the test's own test folder.
"""

from __future__ import annotations

from pathlib import Path

import gatekeeper

TEST = """\
apiVersion: chainsaw.kyverno.io/v1alpha1
kind: Test
metadata: {name: web}
spec:
  steps:
    - try:
        - apply: {file: 00-install.yaml}
        - assert: {file: 00-assert.yaml}
        - error: {file: "*-errors.yaml"}
"""
POD = """\
apiVersion: v1
kind: Pod
metadata: {name: %s, namespace: e2e}
spec:
  hostPID: true
  containers:
    - name: web
      image: ghcr.io/acme/web:1.2.3
"""
ASSERT = POD % "web" + "---\n(x_k8s_exists($client, 'v1', 'Service', $namespace, 'web')): false\n"
NETPOL = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: e2e}
spec: {podSelector: {}, policyTypes: [Ingress]}
"""


def findings(root: Path, files: dict[str, str]) -> list[str]:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    report = gatekeeper.scan(root, root=root, jobs=1)
    wanted = ("K8S-PSS-HOST-NAMESPACES", "GK-NOT-AN-OBJECT", "K8S-NETWORK-POLICY-PRESENT")
    return sorted(
        f"{f.policy_id} {f.file}" for f in report.verdict.findings if f.policy_id in wanted
    )


def test_what_a_test_compares_is_not_judged_what_it_applies_is(tmp_path: Path) -> None:
    files = {
        "tests/e2e/web/chainsaw-test.yaml": TEST,
        "tests/e2e/web/00-install.yaml": POD % "web",
        "tests/e2e/web/00-assert.yaml": ASSERT,
        "tests/e2e/web/01-errors.yaml": POD % "gone",
    }
    assert findings(tmp_path, files) == [
        "K8S-NETWORK-POLICY-PRESENT tests/e2e/web/00-install.yaml",
        "K8S-PSS-HOST-NAMESPACES tests/e2e/web/00-install.yaml",
    ]


def test_an_assertion_is_no_network_policy_of_the_namespace(tmp_path: Path) -> None:
    files = {
        "tests/e2e/web/chainsaw-test.yaml": TEST,
        "tests/e2e/web/00-install.yaml": POD % "web",
        "tests/e2e/web/00-assert.yaml": NETPOL,
    }
    assert "K8S-NETWORK-POLICY-PRESENT tests/e2e/web/00-install.yaml" in findings(tmp_path, files)


def test_a_file_applied_too_or_outside_the_test_folder_is_judged(tmp_path: Path) -> None:
    """An attacker's way round: a test naming a deployed manifest as its assertion."""
    applied = TEST.replace(
        "        - error:", "        - apply: {file: 00-assert.yaml}\n        - error:"
    )
    elsewhere = TEST.replace("00-assert.yaml", "../../../deploy/web.yaml")
    files = {
        "tests/e2e/a/chainsaw-test.yaml": applied,
        "tests/e2e/a/00-assert.yaml": POD % "a",
        "tests/e2e/b/chainsaw-test.yaml": elsewhere,
        "deploy/web.yaml": POD % "b",
        "deploy/c/chainsaw-test.yaml": TEST,
        "deploy/c/00-assert.yaml": POD % "c",
        "tests/e2e/e/chainsaw-test.yaml": TEST.replace(
            "        - error:",
            "        - script: {content: kubectl apply -f 00-assert.yaml}\n        - error:",
        ),
        "tests/e2e/e/00-assert.yaml": POD % "e",
        "tests/e2e/d/chainsaw-test.yaml": TEST,
        "tests/e2e/d/00-assert.yaml": POD % "d",
        ".github/workflows/e2e.yml": (
            "on: push\njobs:\n  e2e:\n    runs-on: ubuntu-latest\n    steps:\n"
            "      - run: kubectl apply -f tests/e2e/d/00-assert.yaml\n"
        ),
    }
    found = findings(tmp_path, files)
    for file in (
        "tests/e2e/a/00-assert.yaml",
        "deploy/web.yaml",
        "deploy/c/00-assert.yaml",
        "tests/e2e/e/00-assert.yaml",
    ):
        assert f"K8S-PSS-HOST-NAMESPACES {file}" in found, file
    assert "K8S-PSS-HOST-NAMESPACES tests/e2e/d/00-assert.yaml" in found


def test_tests_named_otherwise_count_under_a_chainsaw_configuration_above(tmp_path: Path) -> None:
    """A test file named otherwise is found (one git grep) when a Chainsaw configuration sits in
    a folder above its files; with neither it nor a `chainsaw-test.yaml` near them, the files
    stay judged read alone (tests are not looked for: a hook lists no tree)."""
    configured = {
        ".chainsaw.yaml": "apiVersion: chainsaw.kyverno.io/v1alpha2\nkind: Configuration\n",
        "tests/e2e/web/web-test.yaml": TEST,
        "tests/e2e/web/00-install.yaml": POD % "web",
        "tests/e2e/web/00-assert.yaml": POD % "web",
    }
    assert findings(tmp_path / "configured", configured) == [
        "K8S-NETWORK-POLICY-PRESENT tests/e2e/web/00-install.yaml",
        "K8S-PSS-HOST-NAMESPACES tests/e2e/web/00-install.yaml",
    ]
    bare = {name: text for name, text in configured.items() if name != ".chainsaw.yaml"}
    assert "K8S-PSS-HOST-NAMESPACES tests/e2e/web/00-assert.yaml" in findings(
        tmp_path / "bare", bare
    )
