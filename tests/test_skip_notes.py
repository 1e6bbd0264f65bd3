"""A deployable source gatekeeper does not follow is said at its line, with the setting that
would include it: never a silent skip (real-repository accuracy, session 7)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import git

from gatekeeper.evaluate import Engine
from gatekeeper.policy.loader import load_policy_file
from gatekeeper.scanner import scan
from gatekeeper.sources import LoadContext
from gatekeeper.tree import MemoryTree, Tree, WorkTree
from tests.conftest import REPO
from tests.test_gitops import TOOL

PRIVILEGED = REPO / "policies" / "kubernetes" / "pss-baseline-privileged.yaml"
URL = "https://github.com/acme/platform.git"
APPLICATION = f"""\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: tools, namespace: argocd}}
spec:
  destination: {{server: https://kubernetes.default.svc, namespace: tools}}
  source:
    repoURL: {URL}
    path: tools
"""
POD = TOOL  # a privileged Pod
FLUX = """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: tools, namespace: flux-system}
spec:
  path: ./tools
  sourceRef: {kind: GitRepository, name: platform}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: platform, namespace: flux-system}
spec: {url: "https://github.com/acme/platform"}
"""


def found(tree: Tree, entry: str, options: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    engine = Engine([load_policy_file(PRIVILEGED)])
    context = LoadContext(tree=tree, options=options or {})
    findings = scan([(entry, tree.read(entry))], engine, 1, context).findings
    return sorted((f.policy_id, f.severity, f.file, f.line, f.message) for f in findings)


def test_an_application_of_the_origin_remote_unlisted_is_said(tmp_path: Path) -> None:
    files = {"apps/tools.yaml": APPLICATION, "tools/pod.yaml": POD, "clusters/sync.yaml": FLUX}
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    repo = git.Repo.init(tmp_path)
    assert found(WorkTree(tmp_path), "apps/tools.yaml") == []  # another repository's
    repo.create_remote("origin", "git@github.com:acme/platform.git")
    (note,) = found(WorkTree(tmp_path), "apps/tools.yaml")
    assert note[:4] == ("GK-NOT-EXPANDED", "low", "apps/tools.yaml", 7)
    assert "origin remote" in note[4] and "sources.gitops.repoURLs" in note[4]
    (note,) = found(WorkTree(tmp_path), "clusters/sync.yaml")
    assert note[:4] == ("GK-NOT-EXPANDED", "low", "clusters/sync.yaml", 6)
    assert "origin remote" in note[4]
    listed = {"gitops": {"repoURLs": [URL]}}
    assert [f[:4] for f in found(WorkTree(tmp_path), "apps/tools.yaml", listed)] == [
        ("K8S-PSS-PRIVILEGED", "critical", "tools/pod.yaml", 8)
    ]


def test_a_flux_kustomization_of_an_oci_artifact_or_the_origin_remote_is_said() -> None:
    kustomization = """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: kyverno, namespace: flux-system}
spec:
  path: ./
  sourceRef:
    kind: OCIRepository
    name: kyverno-controller
"""
    tree = MemoryTree({"infra/sync.yaml": kustomization.encode()})
    (note,) = found(tree, "infra/sync.yaml")
    assert note[:4] == ("GK-NOT-EXPANDED", "low", "infra/sync.yaml", 6)
    assert "OCIRepository kyverno-controller" in note[4]
    other = kustomization.replace("OCIRepository", "GitRepository") + (
        "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\n"
        "metadata: {name: kyverno-controller, namespace: flux-system}\n"
        "spec: {url: https://github.com/other/repo}\n"
    )
    assert found(MemoryTree({"infra/sync.yaml": other.encode()}), "infra/sync.yaml") == []
