"""The index of a tree's Flux sources (flux._by_name): built once per tree, and a deployer's
view of the tree (its overlay's files added) reuses it.

Real-repo check (onedr0p/home-ops, 448 files): every Flux Kustomization with `patches` is
built as an overlay in a view of the tree, and each HelmRelease in it looked up its
OCIRepository in an index of that view: the tree was read and indexed again 110 times,
most of the scan's CPU (5.2 -> 2.3 s, the same findings).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import gatekeeper
from gatekeeper.sources import flux
from gatekeeper.sources.gitops_kustomize import _WithFiles
from gatekeeper.tree import MemoryTree, WorkTree

APP = """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: app%(n)d, namespace: flux-system}
spec:
  interval: 1h
  path: ./apps/ns1/app%(n)d/app
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
  patches:
    - patch: |-
        apiVersion: helm.toolkit.fluxcd.io/v2
        kind: HelmRelease
        metadata: {name: _}
        spec: {timeout: 5m}
      target: {group: helm.toolkit.fluxcd.io, kind: HelmRelease}
"""
RELEASE = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: web%(n)d, namespace: ns1}
spec:
  interval: 1h
  chartRef: {kind: OCIRepository, name: web%(n)d}
"""
SOURCE = """\
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: web%(n)d, namespace: ns1}
spec: {interval: 1h, url: oci://ghcr.io/acme/web%(n)d, ref: {tag: 1.0.0}}
"""


def reads_of_a_source(root: Path, apps: int, monkeypatch: pytest.MonkeyPatch) -> int:
    """How often a scan of `apps` Flux Kustomizations with patches, each deploying a
    HelmRelease and its OCIRepository, reads the first OCIRepository's file."""
    listed = ", ".join(f"app{n}/ks.yaml" for n in range(apps))
    files = {"apps/ns1/kustomization.yaml": f"resources: [{listed}]\n"}
    for n in range(apps):
        files[f"apps/ns1/app{n}/ks.yaml"] = APP % {"n": n}
        files[f"apps/ns1/app{n}/app/kustomization.yaml"] = "resources: [hr.yaml, oci.yaml]\n"
        files[f"apps/ns1/app{n}/app/hr.yaml"] = RELEASE % {"n": n}
        files[f"apps/ns1/app{n}/app/oci.yaml"] = SOURCE % {"n": n}
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    reads: list[str] = []
    read = WorkTree.read

    def counted(self: WorkTree, path: str) -> bytes:
        reads.append(path)
        return read(self, path)

    monkeypatch.setattr(WorkTree, "read", counted)
    report = gatekeeper.scan(root, root=root, jobs=1)
    monkeypatch.undo()
    external = [f for f in report.verdict.findings if f.policy_id == "GK-NOT-EXPANDED"]
    # every release's chart is said not judged, its OCIRepository found (its URL named)
    assert sorted(f.file for f in external) == [f"apps/ns1/app{n}/app/hr.yaml" for n in range(apps)]
    assert all("oci://ghcr.io/acme/web" in f.message for f in external)
    return reads.count("apps/ns1/app0/app/oci.yaml")


def test_deployers_built_with_edits_share_the_trees_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file the index reads is read as often with two deployers as with six (each read
    it again for its own index of its view)."""
    two = reads_of_a_source(tmp_path / "two", 2, monkeypatch)
    assert reads_of_a_source(tmp_path / "six", 6, monkeypatch) == two


def test_a_view_adds_its_files_objects_in_file_order() -> None:
    tree = MemoryTree(
        {
            "b/oci.yaml": (SOURCE % {"n": 1}).encode(),
            "c/oci.yaml": (SOURCE % {"n": 2}).encode(),
        }
    )
    view = _WithFiles(tree, {"a/oci.yaml": (SOURCE % {"n": 1}).encode()})
    assert [file for file, _ in flux._objects(view, "OCIRepository", "web1")] == [
        "a/oci.yaml",
        "b/oci.yaml",
    ]
    assert [file for file, _ in flux._objects(tree, "OCIRepository", "web1")] == ["b/oci.yaml"]
    assert sorted(file for file, _ in flux._every(view, "OCIRepository")) == [
        "a/oci.yaml",
        "b/oci.yaml",
        "c/oci.yaml",
    ]
    assert view not in flux._INDEX  # the view is the tree's index with its files added
