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


def _labelled(name: str, label: str, registries: str) -> str:
    return (
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"
        f"  namespace: policy-params\n  labels: {{policy: {label}}}\n"
        f'data:\n  allowedRegistries: "{registries}"\n'
    )


def test_params_a_selector_stops_selecting_are_blocked(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """A binding whose paramRef selects its params by label evaluates the policy once per
    selected object. A pull request relabelling the only one (none selected, Allow: every
    request admitted) or moving the label from the strict object to a loose one changed
    nothing the check saw (red team s20 trust13 s02). Moving it to an object as strict is
    the control."""
    git_in(tmp_path, "init", "-q", "-b", "main")
    policy = POLICY.replace(
        "    name: image-rules\n    namespace: policy-params\n",
        "    namespace: policy-params\n    selector: {matchLabels: {policy: images}}\n",
    )
    strict = _labelled("strict", "images", "ghcr.io/acme/")
    loose = "---\n" + _labelled("loose", "dev", "ghcr.io/acme/,docker.io/")
    _commit(tmp_path, {"deploy/policy.yaml": policy, "deploy/params.yaml": strict + loose}, "base")

    git_in(tmp_path, "checkout", "-q", "-b", "unlabelled")
    relabelled = _labelled("strict", "images-old", "ghcr.io/acme/")
    _commit(tmp_path, {"deploy/params.yaml": relabelled + loose}, "relabel")
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _exceptions(run) == [
        (
            "deploy/policy.yaml",
            20,
            "ValidatingAdmissionPolicyBinding image-rules has its params ConfigMap"
            " policy-params/strict no longer selected by its paramRef while"
            " parameterNotFoundAction is Allow",
        )
    ]
    assert run.returncode == 1

    git_in(tmp_path, "checkout", "-q", "-b", "swapped", "main")
    swapped = "---\n" + _labelled("loose", "images", "ghcr.io/acme/,docker.io/")
    _commit(tmp_path, {"deploy/params.yaml": relabelled + swapped}, "swap")
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert [line for _, line, _ in _exceptions(run)] == [20]
    assert "leaving policy-params/loose, which admits more" in run.stdout
    assert run.returncode == 1

    git_in(tmp_path, "checkout", "-q", "-b", "as-strict", "main")
    narrow = "---\n" + _labelled("loose", "images", "ghcr.io/acme/app/")
    _commit(tmp_path, {"deploy/params.yaml": relabelled + narrow}, "as strict")
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _exceptions(run) == []
    assert run.returncode == 0


def test_params_a_chart_renders_are_compared_as_rendered(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """The params ConfigMap is a chart's template (`{{ join "," .Values.allowedRegistries |
    quote }}`): a pull request adding docker.io/ to values.yaml widened what the cluster
    admits, and the template file, all the check read, did not change (red team s20 trust13
    s02). Narrowing the list is the control."""
    git_in(tmp_path, "init", "-q", "-b", "main")
    template = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: image-rules\n"
        "  namespace: policy-params\ndata:\n"
        '  allowedRegistries: {{ join "," .Values.allowedRegistries | quote }}\n'
        '  maxReplicas: "5"\n'
    )
    files = {
        "chart/Chart.yaml": "apiVersion: v2\nname: admission\nversion: 0.1.0\n",
        "chart/templates/policy.yaml": POLICY,
        "chart/templates/params.yaml": template,
        "chart/values.yaml": "allowedRegistries: [ghcr.io/acme/, quay.io/acme/]\n",
    }
    _commit(tmp_path, dict(files), "base")
    git_in(tmp_path, "checkout", "-q", "-b", "widened")
    widened = "allowedRegistries: [ghcr.io/acme/, quay.io/acme/, docker.io/]\n"
    _commit(tmp_path, {"chart/values.yaml": widened}, "widen")
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _exceptions(run) == [
        (
            "chart/templates/params.yaml",
            5,
            "ConfigMap image-rules adds docker.io/ to allowedRegistries",
        )
    ]
    assert run.returncode == 1
    git_in(tmp_path, "checkout", "-q", "-b", "narrowed", "main")
    _commit(tmp_path, {"chart/values.yaml": "allowedRegistries: [ghcr.io/acme/]\n"}, "narrow")
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _exceptions(run) == []
