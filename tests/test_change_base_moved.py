"""A pull request judged against its fork point while the base branch gained a deployer of
what it changes (red team s13 u04): the merge deploys what the check never rendered."""

from __future__ import annotations

from pathlib import Path

from gatekeeper.change import scan_change
from tests.test_change import Repo

URL = "https://github.com/acme/app.git"
CHART = {
    "charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 1.0.0\n",
    "charts/web/values.yaml": "privileged: false\n",
    "charts/web/values-prod.yaml": "privileged: false\n",
    "charts/web/templates/pod.yaml": (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: web}\nspec:\n"
        "  containers:\n    - name: web\n      image: ghcr.io/acme/web:1.0.0\n"
        "      securityContext: {privileged: {{ .Values.privileged }}}\n"
    ),
}
PROD_APP = f"""\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: web-prod, namespace: argocd}}
spec:
  project: web
  source:
    repoURL: {URL}
    targetRevision: HEAD
    path: charts/web
    helm: {{valueFiles: [values-prod.yaml]}}
  destination: {{server: https://kubernetes.default.svc, namespace: web}}
"""


def forked(tmp_path: Path) -> Repo:
    """A pull request branch `pr` making the unused values-prod.yaml privileged, forked
    before main added the Application that installs the chart with it."""
    repo = Repo(tmp_path / "repo")
    repo.write(".gatekeeper.yml", f"sources: {{gitops: {{repoURLs: [{URL}]}}}}\n")
    for name, text in CHART.items():
        repo.write(name, text)
    repo.commit("base")
    repo.branch("pr")
    repo.write("charts/web/values-prod.yaml", "privileged: true\n")
    repo.commit("pr")
    repo.git.git.checkout("-q", "main")
    repo.write("argocd/web-prod.yaml", PROD_APP)
    repo.commit("deploy web to prod")
    repo.git.git.checkout("-q", "pr")
    return repo


def blocking(repo: Repo) -> list[tuple[str, str]]:
    found = scan_change(repo.root, "main").verdict.findings
    return sorted((f.policy_id, f.file) for f in found if f.blocking and f.status == "new")


def test_a_deployer_the_base_gained_after_the_fork_blocks_until_the_branch_is_updated(
    tmp_path: Path,
) -> None:
    repo = forked(tmp_path)
    assert blocking(repo) == [("GK-BASE-MOVED", "charts/web/values-prod.yaml")]
    # Updated, the change is judged with the Application: the privileged values render.
    repo.git.git.rebase("-q", "main")
    found = blocking(repo)
    assert ("K8S-PSS-PRIVILEGED", "charts/web/templates/pod.yaml") in found
    assert "GK-BASE-MOVED" not in {policy for policy, _ in found}


def test_a_base_that_moved_elsewhere_says_nothing(tmp_path: Path) -> None:
    repo = forked(tmp_path)
    repo.git.git.checkout("-q", "main")
    repo.git.git.reset("-q", "--hard", "HEAD~1")
    repo.write("docs/notes.md", "# notes\n")
    repo.commit("docs")
    repo.git.git.checkout("-q", "pr")
    assert blocking(repo) == []
