"""The params an enforcing ValidatingAdmissionPolicyBinding reads, weakened by a pull request
that leaves the policy and the binding alone (red team s19 trust12 t03)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Run, git_in

POLICY = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: image-rules
spec:
  paramKind: {apiVersion: v1, kind: ConfigMap}
  matchConstraints:
    resourceRules:
      - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}
  validations:
    - expression: "object.spec.replicas <= int(params.data.maxReplicas)"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: image-rules
spec:
  policyName: image-rules
  validationActions: [Deny]
  paramRef:
    name: image-rules
    namespace: policy-params
    parameterNotFoundAction: Allow
"""


def _params(registries: str, replicas: int, required: str = "team") -> str:
    return (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: image-rules\n"
        f'  namespace: policy-params\ndata:\n  allowedRegistries: "{registries}"\n'
        f'  maxReplicas: "{replicas}"\n  requiredLabels: "{required}"\n  note: "{replicas}"\n'
    )


def _commit(root: Path, files: dict[str, str | None], message: str) -> None:
    for name, text in files.items():
        if text is None:
            git_in(root, "rm", "-q", name)
            continue
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    git_in(root, "add", "-A")
    git_in(root, "commit", "-qm", message)


def _exceptions(run: Run) -> list[tuple[str, int, str]]:
    return sorted(
        (f["file"], f["line"], f["message"].partition(" (")[0])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == "K8S-ADMISSION-POLICY-EXCEPTION"
    )


def test_params_of_an_enforcing_binding_weakened_or_removed_are_blocked(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    git_in(tmp_path, "init", "-q", "-b", "main")
    base = _params("ghcr.io/acme/,quay.io/acme/", 5, "team,owner")
    _commit(tmp_path, {"deploy/policy.yaml": POLICY, "deploy/params.yaml": base}, "base")

    git_in(tmp_path, "checkout", "-q", "-b", "weakened")
    weaker = _params("ghcr.io/acme/,quay.io/acme/,docker.io/", 500, "team")
    _commit(tmp_path, {"deploy/params.yaml": weaker}, "weaken")
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _exceptions(run) == [
        ("deploy/params.yaml", 7, "ConfigMap image-rules adds docker.io/ to allowedRegistries"),
        ("deploy/params.yaml", 8, "ConfigMap image-rules raises maxReplicas from 5 to 500"),
        ("deploy/params.yaml", 9, "ConfigMap image-rules takes owner out of requiredLabels"),
    ]
    assert run.returncode == 1

    # Tightened (an entry narrowed, the limit lowered, a label required): nothing said.
    git_in(tmp_path, "checkout", "-q", "-b", "tightened", "main")
    stricter = _params("ghcr.io/acme/app/,quay.io/acme/", 3, "team,owner,tier")
    _commit(tmp_path, {"deploy/params.yaml": stricter}, "tighten")
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _exceptions(run) == []
    assert run.returncode == 0

    # Removed while parameterNotFoundAction is Allow: said at the binding's paramRef; with
    # Deny the policy refuses everything.
    git_in(tmp_path, "checkout", "-q", "-b", "removed", "main")
    _commit(tmp_path, {"deploy/params.yaml": None}, "remove")
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _exceptions(run) == [
        (
            "deploy/policy.yaml",
            20,
            "ValidatingAdmissionPolicyBinding image-rules has its params ConfigMap"
            " policy-params/image-rules removed while parameterNotFoundAction is Allow",
        )
    ]
    git_in(tmp_path, "checkout", "-q", "-b", "denied", "main")
    denying = POLICY.replace("parameterNotFoundAction: Allow", "parameterNotFoundAction: Deny")
    _commit(tmp_path, {"deploy/policy.yaml": denying}, "deny")
    git_in(tmp_path, "checkout", "-q", "-b", "removed-denied")
    _commit(tmp_path, {"deploy/params.yaml": None}, "remove")
    run = gatekeeper("scan", "--base", "denied", "--format", "json", cwd=tmp_path)
    assert _exceptions(run) == []
