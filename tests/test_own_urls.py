"""An Application or GitRepository naming this repository deploys from it, whether or not
`sources.gitops.repoURLs` lists it: the checkout's remotes (and the repository a GitHub
Actions run checks) are its URLs too."""

from __future__ import annotations

from pathlib import Path

import git
import pytest

import gatekeeper
from gatekeeper.git import remote_urls

APPLICATION = (
    "apiVersion: argoproj.io/v1alpha1\nkind: Application\n"
    "metadata: {name: web, namespace: argocd}\n"
    "spec:\n  project: web\n  source:\n    repoURL: %s\n    path: apps/web\n"
    "    targetRevision: HEAD\n"
    "  destination: {server: https://kubernetes.default.svc, namespace: web}\n"
)
POD = (
    "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n"
    "    - name: web\n      image: r.example.com/web:1\n      securityContext: {privileged: true}\n"
)


def _deployed(root: Path) -> list[str]:
    report = gatekeeper.scan(root, root=root, jobs=1)
    return sorted(
        variant
        for f in report.verdict.findings
        if f.policy_id == "K8S-PSS-PRIVILEGED"
        for variant in f.extra.get("variants", [])
    )


def test_an_application_naming_the_checkout_s_remote_is_expanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reported skip: an Application of this repository was not followed unless the
    configuration listed its URL; its Helm parameters and patches were never judged."""
    monkeypatch.delenv("GITHUB_SERVER_URL", raising=False)
    monkeypatch.delenv("GITHUB_REPOSITORY", raising=False)
    repo = git.Repo.init(tmp_path)
    (tmp_path / "apps" / "web").mkdir(parents=True)
    (tmp_path / "apps" / "web" / "pod.yaml").write_text(POD)
    (tmp_path / "app.yaml").write_text(APPLICATION % "git@github.com:Acme/Platform.git")
    assert _deployed(tmp_path) == []
    repo.create_remote("origin", "https://github.com/acme/platform")
    assert _deployed(tmp_path) == ["deployed by app.yaml:web"]


def test_remote_urls_of_a_linked_worktree_and_of_an_actions_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    main = tmp_path / "main"
    repo = git.Repo.init(main)
    repo.create_remote("upstream", "https://example.com/a/b.git")
    (main / "f").write_text("x")
    repo.index.add(["f"])
    repo.index.commit("c")
    repo.git.worktree("add", str(tmp_path / "wt"))
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com/")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/platform")
    assert remote_urls(tmp_path / "wt") == [
        "https://github.com/acme/platform",
        "https://example.com/a/b.git",
    ]
