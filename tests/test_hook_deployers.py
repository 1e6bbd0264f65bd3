"""A pre-commit run on a chart's file or a values file judges the Argo CD Applications that
render it, as a full scan does: a values file only an Application names, staged alone, was
rendered by nothing (its privileged container passed the hook)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from gatekeeper.sources import LoadContext, helm_deployers
from gatekeeper.tree import MemoryTree
from tests.conftest import run_cli

pytest.importorskip("helm_python")

TEMPLATE = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: nginx:1.25
          securityContext:
            privileged: {{ .Values.privileged }}
"""
APPLICATION = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web, namespace: argocd}
spec:
  project: default
  destination: {server: https://kubernetes.default.svc, namespace: web}
  source:
    repoURL: https://github.com/example/repo.git
    path: charts/web
    helm:
      valueFiles: [VALUES]
"""
REPO_URL = "https://github.com/example/repo.git"
FILES = {
    ".gatekeeper.yml": 'sources: {gitops: {repoURLs: ["https://github.com/example/repo.git"]}}\n',
    "charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    "charts/web/values.yaml": "privileged: false\n",
    "charts/web/values-prod.yaml": "privileged: true\n",
    "charts/web/templates/deploy.yaml": TEMPLATE,
    "envs/prod.yaml": "privileged: true\n",
    "apps/web.yaml": APPLICATION.replace("VALUES", "values-prod.yaml"),
}


def _repo(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def _findings(root: Path, *args: str) -> set[tuple[str, str, int, str]]:
    run = run_cli("scan", *args, "--format", "json", cwd=root)
    assert run.returncode in (0, 1), run.stderr
    return {
        (f["policy_id"], f["file"], f["line"], json.dumps(f["extra"].get("variants")))
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] != "K8S-NETWORK-POLICY-PRESENT"  # repository scope: the PR's check
    }


@pytest.mark.parametrize(
    "staged", ["charts/web/values-prod.yaml", "charts/web/templates/deploy.yaml"]
)
def test_a_hook_on_a_file_an_application_renders_judges_that_rendering(
    tmp_path: Path, staged: str
) -> None:
    root = _repo(tmp_path, FILES)
    found = _findings(root, "--hook", staged)
    privileged = [f for f in found if f[0] == "K8S-PSS-PRIVILEGED"]
    assert privileged and all("deployed by apps/web.yaml:web" in f[3] for f in privileged)
    assert found == _findings(root, ".")


def test_a_values_file_outside_the_chart_brings_its_application(tmp_path: Path) -> None:
    files = {**FILES, "apps/web.yaml": APPLICATION.replace("VALUES", "/envs/prod.yaml")}
    root = _repo(tmp_path, files)
    assert any(f[0] == "K8S-PSS-PRIVILEGED" for f in _findings(root, "--hook", "envs/prod.yaml"))


def test_a_values_file_no_application_names_brings_nothing(tmp_path: Path) -> None:
    root = _repo(tmp_path, FILES)
    context = LoadContext(tree=MemoryTree({}), options={})
    assert helm_deployers.staged(["envs/prod.yaml"], context) == []
    run = run_cli("scan", "--hook", "--format", "json", "envs/prod.yaml", cwd=root)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["findings"] == []


def test_without_git_the_tree_is_read_for_the_same_answer() -> None:
    """A tree in memory (no git to ask) is searched file by file."""
    tree = MemoryTree({name: text.encode() for name, text in FILES.items()})
    options = {"gitops": {"repoURLs": ["https://github.com/example/repo.git"]}}
    context = LoadContext(tree=tree, options=options)
    assert helm_deployers.staged(["charts/web/values-prod.yaml"], context) == ["apps/web.yaml"]
    assert helm_deployers.staged(["charts/web/templates/deploy.yaml"], context) == ["apps/web.yaml"]
    assert helm_deployers.staged(["envs/prod.yaml"], context) == []


def test_a_values_file_an_applicationset_template_may_name_brings_it(tmp_path: Path) -> None:
    """A cluster's values file of an ApplicationSet whose clusters are not listed here
    (`values-{{.name}}.yaml`): the hook judges it with the chart, as the PR check does."""
    appset = (
        "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\n"
        "metadata: {name: web, namespace: argocd}\n"
        "spec:\n  goTemplate: true\n  generators: [{clusters: {}}]\n"
        "  template:\n    metadata: {name: 'web-{{.name}}'}\n"
        + APPLICATION.split("spec:\n", 1)[1]
        .replace("VALUES", "'values-{{.name}}.yaml'")
        .replace("\n  ", "\n      ")
        .replace("  project", "    spec:\n      project", 1)
    )
    files = {**FILES, "apps/web.yaml": appset}
    del files["charts/web/values-prod.yaml"]
    files["charts/web/values-edge.yaml"] = "privileged: true\n"
    root = _repo(tmp_path, files)
    found = _findings(root, "--hook", "charts/web/values-edge.yaml")
    # privileged only through values-edge.yaml (values.yaml says false)
    assert any(f[0] == "K8S-PSS-PRIVILEGED" and "web-cluster" in f[3] for f in found), found


def test_an_application_spelled_with_escapes_is_still_read(tmp_path: Path) -> None:
    """Files spelling the chart's folder are read only when they may spell `Application`
    (most are a chart's own files naming it in links): an escaped kind still may."""
    escaped = APPLICATION.replace("values-prod.yaml", "X").replace(
        "kind: Application", 'kind: "\\u0041pplication"'
    )
    files = {**FILES, "apps/web.yaml": escaped.replace("VALUES", "values-prod.yaml")}
    root = _repo(tmp_path, files)
    found = _findings(root, "--hook", "charts/web/values-prod.yaml")
    assert any(
        f[0] == "K8S-PSS-PRIVILEGED" and "deployed by apps/web.yaml:web" in f[3] for f in found
    ), found
    tree = MemoryTree({name: text.encode() for name, text in files.items()})
    context = LoadContext(tree=tree, options={"gitops": {"repoURLs": [REPO_URL]}})
    assert helm_deployers.staged(["charts/web/values-prod.yaml"], context) == ["apps/web.yaml"]
