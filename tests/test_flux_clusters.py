"""A repository of several Flux clusters (`flux bootstrap`'s clusters/<name>/flux-system):
each cluster's GitRepository, values ConfigMap and substitution variables may be the one a
deployer reads, so each is judged (red team r10, r10b, r11); a flux-system GitRepository
naming another repository is said, not taken for this one (r12)."""

from __future__ import annotations

from pathlib import Path

import gatekeeper
from tests.test_change import Repo

SYNC = """\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: flux-system, namespace: flux-system}
spec: {interval: 1m, url: "%s", ref: {branch: %s}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: flux-system, namespace: flux-system}
spec:
  interval: 10m
  path: ./clusters/%s
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
"""
APPS = """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec:
  interval: 10m
  path: ./apps
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
  postBuild:
    substituteFrom: [{kind: ConfigMap, name: cluster-vars}]
"""
VARS = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: cluster-vars, namespace: flux-system}
data: {PRIV: "%s"}
"""
POD = """\
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: web}
spec:
  containers:
    - name: c
      image: ghcr.io/a/b:1.0
      securityContext:
        privileged: %s
"""
URL = "https://github.com/acme/gitops.git"


def clusters(repo: Repo, branch: str = "main", priv: str = "false", changed: str = "") -> None:
    """Clusters dev and prod; `changed` follows `branch` and sets PRIV to `priv`."""
    for cluster in ("dev", "prod"):
        mine = cluster == changed
        followed = branch if mine else "main"
        repo.write(f"clusters/{cluster}/flux-system/sync.yaml", SYNC % (URL, followed, cluster))
        repo.write(f"clusters/{cluster}/apps.yaml", APPS)
        repo.write(f"clusters/{cluster}/vars.yaml", VARS % (priv if mine else "false"))


def new_privileged(repo: Repo) -> list[tuple[str, str]]:
    from gatekeeper.change import scan_change

    findings = scan_change(repo.root, "main").verdict.findings
    return sorted((f.policy_id, f.status) for f in findings if f.status == "new" and f.blocking)


def test_one_clusters_sync_moved_to_another_branch_is_judged_there(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    repo.write("apps/pod.yaml", POD % "${PRIV:=false}")
    clusters(repo)
    repo.commit("base")
    repo.branch("hotfix")
    repo.write("apps/pod.yaml", POD % "true")
    repo.commit("a pushed branch")
    repo.git.git.checkout("-q", "main")
    repo.branch("pr")
    clusters(repo, branch="hotfix", changed="prod")
    repo.commit("prod follows hotfix")
    assert ("K8S-PSS-PRIVILEGED", "new") in new_privileged(repo)


def test_one_clusters_substitution_variables_are_judged(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    repo.write("apps/pod.yaml", POD % "${PRIV:=false}")
    clusters(repo)
    repo.commit("base")
    repo.branch("pr")
    # dev's variables are read first: the last cluster's no longer win alone
    clusters(repo, priv="true", changed="dev")
    repo.commit("dev privileged")
    assert ("K8S-PSS-PRIVILEGED", "new") in new_privileged(repo)


def test_a_bootstrap_source_naming_another_repository_is_said(tmp_path: Path) -> None:
    (tmp_path / ".gatekeeper.yml").write_text(f"sources:\n  gitops:\n    repoURLs: [{URL}]\n")
    (tmp_path / "clusters" / "prod" / "flux-system").mkdir(parents=True)
    (tmp_path / "clusters" / "prod" / "flux-system" / "sync.yaml").write_text(
        SYNC % ("https://github.com/someone-else/manifests.git", "main", "prod")
    )
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    said = [f for f in report.verdict.findings if f.policy_id == "GK-LOCAL-NOT-EXPANDED"]
    assert said and "someone-else" in said[0].message and said[0].blocking
