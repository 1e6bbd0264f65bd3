"""What in-process builds keep of the files they read: compact entries, few nodes.

A resource file's nodes take about eleven times its size; the builds keep its objects and
each document's identity fields located, and the nodes of the latest files only. A field
located in a file whose nodes were let go is located as if they had been kept (the file is
parsed again), and a file changed under the scan is not trusted: no traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gatekeeper.document import Loaded
from gatekeeper.fieldpath import Path as FieldPath
from gatekeeper.sources import LoadContext, kustomize, kustomize_build, kustomize_patches
from gatekeeper.tree import WorkTree
from tests.test_kustomize_build import DEPLOYMENT

PATHS: list[FieldPath] = [
    (),
    ("kind",),
    ("apiVersion",),
    ("metadata",),
    ("metadata", "name"),
    ("metadata", "namespace"),
    ("metadata", "labels", "app"),
    ("spec", "replicas"),
    ("spec", "template", "spec", "containers", 0, "image"),
    ("spec", "template", "spec", "containers", 1, "securityContext"),
]
SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector: {app: web}
  ports: [{port: 80}]
"""
FILES = {
    "base/kustomization.yaml": "resources: [deploy.yaml, service.yaml]\n",
    "base/deploy.yaml": DEPLOYMENT,
    "base/service.yaml": SERVICE,
    "prod/kustomization.yaml": "resources: [../base]\nnamespace: shop\n"
    "images: [{name: nginx, newTag: '2'}]\n"
    'patches:\n  - patch: \'[{"op": "replace", "path": "/spec/replicas", "value": 5}]\'\n'
    "    target: {kind: Deployment}\n",
    "dev/kustomization.yaml": "resources: [../base]\nnamePrefix: dev-\n",
}


def located(loaded: Loaded) -> list[Any]:
    out: list[Any] = [(p.code, p.file, p.line, p.message) for p in loaded.problems]
    for document in loaded.documents:
        where = [document.locator.locate(path) for path in PATHS]
        out.append((document.file, document.name, sorted(document.extra.items()), where))
    return out


def scan_builds(root: Path, in_process: bool = True) -> list[Any]:
    """Every overlay built in one tree, as a scan builds them (one cache for all)."""
    tree = WorkTree(root)
    context = LoadContext(tree=tree)
    out = []
    for path in ("base/kustomization.yaml", "dev/kustomization.yaml", "prod/kustomization.yaml"):
        loaded = kustomize.load(path, tree.read(path), context, in_process)
        assert (len(loaded.documents), loaded.problems) == (2, [])
        out.append(located(loaded))
    return out


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    for name, text in FILES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def test_locations_are_kubectls_whatever_nodes_are_kept(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = scan_builds(repo, in_process=False)
    assert scan_builds(repo) == reference
    monkeypatch.setattr(kustomize_build._Cache, "NODES_LIMIT", 0)  # only the latest file's
    reads: list[str] = []
    real = kustomize_build._read

    def counted(tree: Any, file: str) -> Any:
        reads.append(file)
        return real(tree, file)

    monkeypatch.setattr(kustomize_build, "_read", counted)
    assert scan_builds(repo) == reference
    assert reads.count("base/deploy.yaml") > 1  # its nodes were let go, and parsed again


def test_identity_fields_are_located_without_the_nodes(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The inventory locates every object's metadata.namespace: a CRD's megabytes are not
    parsed again for it."""
    tree = WorkTree(repo)
    path = "prod/kustomization.yaml"
    loaded = kustomize.load(path, tree.read(path), LoadContext(tree=tree))
    expected = [d.locator.locate(("metadata", "namespace")) for d in loaded.documents]
    monkeypatch.setattr(kustomize_build._Cache, "NODES_LIMIT", 0)
    fresh = WorkTree(repo)
    loaded = kustomize.load(path, fresh.read(path), LoadContext(tree=fresh))

    def forbidden(*args: Any) -> Any:
        raise AssertionError("parsed again")

    monkeypatch.setattr(kustomize_build, "_read", forbidden)
    assert [d.locator.locate(("metadata", "namespace")) for d in loaded.documents] == expected
    assert [d.locator.locate(("metadata", "name")).exact for d in loaded.documents] == [
        True,
        True,
    ]


def test_a_file_changed_under_the_scan_is_not_trusted(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its nodes let go, then the file changes before a field is located in it: located at
    the kustomization, not at lines of another text, and no traceback."""
    monkeypatch.setattr(kustomize_build._Cache, "NODES_LIMIT", 0)
    tree = WorkTree(repo)
    path = "dev/kustomization.yaml"
    loaded = kustomize.load(path, tree.read(path), LoadContext(tree=tree))
    deployment = next(d for d in loaded.documents if d.kind == "Deployment")
    before = deployment.locator.locate(("metadata", "name"))
    (repo / "base" / "deploy.yaml").write_text(DEPLOYMENT.replace("name: web\n", "name: x\n", 1))
    where = deployment.locator.locate(("spec", "replicas"))
    assert (where.file, where.exact) == (path, False)
    assert deployment.locator.locate(("metadata", "name")) == before


def test_each_kustomizations_patches_are_read_once_for_every_build(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The overlays of a base all locate through the base's patches (and their own): each
    kustomization's are parsed once for the builds of a tree, located as kubectl's build."""
    reference = scan_builds(repo, in_process=False)
    reads: list[str] = []
    real = kustomize_patches.own_patches

    def counted(tree: Any, file: str) -> Any:
        reads.append(file)
        return real(tree, file)

    monkeypatch.setattr(kustomize_patches, "own_patches", counted)
    assert scan_builds(repo) == reference
    assert sorted(reads) == [
        "base/kustomization.yaml",
        "dev/kustomization.yaml",
        "prod/kustomization.yaml",
    ]


def test_files_pushed_out_of_the_cache_are_read_back_packed_not_parsed(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Overlays whose shared resources exceed LIMIT (argo-workflows: four CRDs of 2.8 MB in
    every overlay) parsed each again in every build; pushed out, an entry is kept pickled
    and read back, with the same builds and locations as kubectl's."""
    reference = scan_builds(repo, in_process=False)
    monkeypatch.setattr(kustomize_build._Cache, "LIMIT", 1)  # the latest entry only
    parsed: list[str] = []
    parse = kustomize_build._parse

    def counted(tree: Any, file: str, cache: Any) -> Any:
        parsed.append(file)
        return parse(tree, file, cache)

    monkeypatch.setattr(kustomize_build, "_parse", counted)
    assert scan_builds(repo) == reference
    resources = [file for file in parsed if not file.endswith("kustomization.yaml")]
    assert sorted(resources) == ["base/deploy.yaml", "base/service.yaml"]  # once each
    monkeypatch.setattr(kustomize_build._Cache, "PACKED_LIMIT", 0)  # nothing kept packed
    parsed.clear()
    assert scan_builds(repo) == reference
    assert len([file for file in parsed if not file.endswith("kustomization.yaml")]) > 2


def test_a_file_read_back_packed_keeps_its_packed_form_compressed(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file pushed out of LIMIT is pickled once: read back and pushed out again (every
    overlay of the base does both), it keeps the bytes it had, which are compressed (the
    packed tier holds more files in PACKED_LIMIT), and the builds are kubectl's."""
    import pickle
    import zlib

    reference = scan_builds(repo, in_process=False)
    monkeypatch.setattr(kustomize_build._Cache, "LIMIT", 1)  # the latest entry only
    pickled: list[str] = []
    dumps = pickle.dumps

    def counted(obj: Any, *args: Any, **kwargs: Any) -> bytes:
        if isinstance(obj, kustomize_build._Parsed):
            pickled.append(obj.heads[0].kind if obj.heads else "")
        return dumps(obj, *args, **kwargs)

    monkeypatch.setattr(pickle, "dumps", counted)
    caches: list[Any] = []
    make = kustomize_build._Cache

    def kept() -> Any:
        caches.append(make())
        return caches[-1]

    monkeypatch.setattr(kustomize_build, "_Cache", kept)
    assert scan_builds(repo) == reference
    assert sorted(pickled) == ["Deployment", "Service"]  # once each, for both overlays
    packed = caches[0].packed
    assert sorted(packed) == ["base/deploy.yaml", "base/service.yaml"]
    kinds = [pickle.loads(zlib.decompress(data)).heads[0].kind for data in packed.values()]
    assert kinds == ["Deployment", "Service"]


def test_a_build_reading_less_than_the_output_limit_is_built_here(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build is left to kubectl only when what it reads exceeds what its output may hold
    (it was half of that: argo-workflows' overlays read 12 MB of CRDs, and kubectl spent
    5.5 s of CPU on each of 13 builds)."""
    reference = scan_builds(repo, in_process=False)
    read = sum(len((repo / name).read_bytes()) for name in FILES if name.startswith("prod/"))
    read += sum(len((repo / name).read_bytes()) for name in FILES if name.startswith("base/"))
    monkeypatch.setattr(kustomize_build, "MAX_OUTPUT_BYTES", read + 1)

    def no_kubectl(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("kubectl ran")

    monkeypatch.setattr(kustomize, "_run", no_kubectl)
    assert scan_builds(repo) == reference
