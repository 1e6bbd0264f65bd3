"""A built-in kind's policies judge it only in its own API group (gatekeeper.kinds)."""

from __future__ import annotations

from pathlib import Path

import gatekeeper

CONTAINERS = """\
containers:
  - name: x
    image: ghcr.io/a/b:1.0
    securityContext: {privileged: true}
"""


def spec(indent: int) -> str:
    """`spec:` holding the privileged container, indented by `indent`."""
    pad = " " * indent
    lines = ["spec:", *("  " + line for line in CONTAINERS.splitlines())]
    return "".join(f"{pad}{line}\n" for line in lines)


def privileged(tmp_path: Path, text: str) -> set[str]:
    (tmp_path / "objects.yaml").write_text(text)
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    return {f.name for f in report.verdict.findings if f.policy_id == "K8S-PSS-PRIVILEGED"}


def test_pods_in_any_group_that_hold_them_where_the_built_in_kind_does(tmp_path: Path) -> None:
    """A custom resource shaped like the workload it is named after may be run as one by
    its controller (OpenKruise's Advanced DaemonSet): it is judged as one; a Volcano Job
    through its own pod templates."""
    text = (
        "apiVersion: apps.kruise.io/v1alpha1\nkind: DaemonSet\nmetadata: {name: kruise}\n"
        "spec:\n  template:\n"
        + spec(4)
        + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: pod}\n"
        + spec(0)
        + "---\napiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: old}\n"
        "spec:\n  template:\n"
        + spec(4)
        + "---\napiVersion: batch.volcano.sh/v1alpha1\nkind: Job\nmetadata: {name: volcano}\n"
        "spec:\n  tasks:\n    - name: t\n      template:\n" + spec(8)
    )
    assert privileged(tmp_path, text) == {"kruise", "pod", "old", "volcano"}


def test_a_custom_service_account_is_not_judged_as_one(tmp_path: Path) -> None:
    (tmp_path / "sa.yaml").write_text(
        "apiVersion: talos.dev/v1alpha1\nkind: ServiceAccount\n"
        "metadata: {name: runner, namespace: ci}\nspec:\n  roles: ['os:reader']\n"
        "---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: real, namespace: ci}\n"
    )
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    about = {f.name for f in report.verdict.findings if f.policy_id == "K8S-SA-AUTOMOUNT-TOKEN"}
    assert about == {"real"}


def test_a_json_file_that_cannot_spell_an_object_is_not_a_manifest(tmp_path: Path) -> None:
    """Editor settings with comments (JSONC) are no Kubernetes file: no blocking parse
    error (real-repo check: home-ops `.vscode/settings.json`); a broken JSON manifest still
    is one."""
    (tmp_path / ".vscode").mkdir()
    (tmp_path / ".vscode" / "settings.json").write_text('{\n  // top level\n  "a": 1,\n}\n')
    (tmp_path / "pod.json").write_text('{"apiVersion": "v1", "kind": "Pod",,}\n')
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    assert {(f.policy_id, f.file) for f in report.verdict.findings} == {
        ("GK-PARSE-ERROR", "pod.json")
    }
