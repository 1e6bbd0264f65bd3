"""What a pooled scan builds once in the parent, before it forks, and its workers share."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.contents import FLUX_MARKER, Contents, blob_keys, holding, subset
from gatekeeper.evaluate import Engine
from gatekeeper.policy.loader import load_policy_file
from gatekeeper.scanner import PARALLEL_MIN_FILES, _chunked, scan
from gatekeeper.sources import LoadContext, flux
from gatekeeper.tree import MemoryTree
from gatekeeper.yamldoc import NodeLocator, YamlDocument, load_all
from tests.conftest import PRIVILEGED_POD, REPO

PRIVILEGED = REPO / "policies" / "kubernetes" / "pss-baseline-privileged.yaml"
FLEET = """\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: fleet, namespace: flux-system}
spec: {url: "ssh://git@github.com/acme/fleet"}
"""
DEPLOYER = """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps%d, namespace: flux-system}
spec:
  path: ./apps
  targetNamespace: prod%d
  sourceRef: {kind: GitRepository, name: fleet}
"""


def fleet_tree() -> dict[str, bytes]:
    """Flux Kustomizations spread over every chunk of a pool, each deploying `apps/` from
    this repository (found through the GitRepository `fleet`), and filler manifests."""
    files = {"clusters/fleet.yaml": FLEET.encode(), "apps/pod.yaml": PRIVILEGED_POD.encode()}
    for index in range(PARALLEL_MIN_FILES):
        name = f"clusters/apps{index:02}.yaml"
        files[name] = (DEPLOYER % (index, index)).encode() if index % 8 == 0 else FLEET.encode()
    return files


def test_contents_note_which_files_may_hold_a_flux_deployer() -> None:
    files = fleet_tree()
    contents = Contents.of(sorted(files.items()), MemoryTree(files).read)
    deployers = {name for name, data in files.items() if b"kind: Kustomization" in data}
    assert contents.holding[FLUX_MARKER] >= deployers
    assert {name for name, _ in holding(contents, FLUX_MARKER)} == contents.holding[FLUX_MARKER]
    part = subset(contents, ["clusters/apps00.yaml", "apps/pod.yaml"])
    assert [name for name, _ in holding(part, FLUX_MARKER)] == ["clusters/apps00.yaml"]
    plain = sorted(files.items())
    assert holding(plain, FLUX_MARKER) == [
        p for p in plain if p[0] in contents.holding[FLUX_MARKER]
    ]


def scan_counting_index(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, jobs: int
) -> tuple[list[Any], list[str]]:
    """The findings of a scan of fleet_tree, and the pid of each process that indexed it."""
    log = tmp_path / f"index-{jobs}.log"
    index = flux._index

    def counted(tree: Any, kinds: tuple[str, ...]) -> Any:
        with log.open("a") as handle:
            handle.write(f"{os.getpid()} {' '.join(kinds)}\n")
        return index(tree, kinds)

    monkeypatch.setattr(flux, "_index", counted)
    files = fleet_tree()
    engine = Engine([load_policy_file(PRIVILEGED)])
    urls = ["git@github.com:acme/fleet.git"]
    context = LoadContext(tree=MemoryTree(files), options={"gitops": {"repoURLs": urls}})
    pairs = Contents.of(sorted(files.items()), context.tree.read)
    found = scan(pairs, engine, jobs, context).findings
    return found, log.read_text().splitlines() if log.exists() else []


def test_the_flux_index_is_built_once_before_the_pool_forks(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Every worker reads the GitRepository index its deployers look up; the parent builds
    it before forking, once: the workers index nothing, and the findings are the serial
    scan's (each deployer applies the privileged Pod)."""
    serial, serial_index = scan_counting_index(monkeypatch, tmp_path, 1)
    pooled, pooled_index = scan_counting_index(monkeypatch, tmp_path, 2)
    sources = "GitRepository HelmChart HelmRepository OCIRepository"  # one pass for them all
    assert serial_index == [f"{os.getpid()} {sources}"]
    assert pooled_index == [f"{os.getpid()} {sources}"]
    assert pooled == serial
    variants = [v for f in serial for v in f.extra.get("variants", ())]
    deployers = range(0, PARALLEL_MIN_FILES, 8)
    assert variants == [
        f"deployed by clusters/apps{index:02}.yaml:apps{index}" for index in deployers
    ]


RELEASE = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: web, namespace: web}
spec:
  chart:
    spec:
      chart: ./charts/web
      sourceRef: {kind: GitRepository, name: SOURCE}
  valuesFrom:
    - {kind: ConfigMap, name: web-values}
"""


@pytest.mark.parametrize(
    ("files", "indexed"),
    [
        # syncing the bootstrap source: it is this repository, looked up for its revision
        ({"apps.yaml": DEPLOYER.replace("name: fleet", "name: flux-system")}, ["GitRepository"]),
        ({"apps.yaml": DEPLOYER}, ["GitRepository"]),
        ({"web.yaml": RELEASE.replace("SOURCE", "flux-system")}, ["ConfigMap", "GitRepository"]),
        (
            {"web.yaml": RELEASE.replace("ConfigMap", "Secret").replace("SOURCE", "fleet")},
            ["GitRepository", "Secret"],
        ),
        ({"web.yaml": RELEASE.replace("SOURCE", "fleet")}, ["ConfigMap", "GitRepository"]),
        # another repository's source, by kind: not looked up
        ({"apps.yaml": DEPLOYER.replace("GitRepository", "OCIRepository")}, []),
        # a template the parent cannot read: whatever it may look up
        (
            {"chart/templates/apps.yaml": "{{ if .Values.x }}\n" + DEPLOYER},
            ["ConfigMap", "GitRepository", "HelmChart", "Secret"],
        ),
        ({"plain.yaml": FLEET}, []),
    ],
)
def test_the_parent_indexes_only_what_its_deployers_look_up(
    monkeypatch: pytest.MonkeyPatch, files: dict[str, str], indexed: list[str]
) -> None:
    """The source kinds a deployer names are indexed together (a pass over the tree each);
    a ConfigMap or a Secret only when a deployer reads one."""
    built: list[str] = []
    monkeypatch.setattr(flux, "_index", lambda tree, kinds: built.extend(kinds) or {})
    data = {
        name: (text % (0, 0) if "%d" in text else text).encode() for name, text in files.items()
    }
    flux.prepare(MemoryTree(data), sorted(data.items()))
    sources = {"GitRepository", "HelmChart", "HelmRepository", "OCIRepository"}
    assert built == sorted(set(indexed) | sources if sources & set(indexed) else indexed)


class _CountingTree(MemoryTree):
    """A MemoryTree that counts the passes over it (list_dir) and the reads of each file."""

    def __init__(self, files: dict[str, bytes]) -> None:
        super().__init__(files)
        self.passes = 0
        self.reads: dict[str, int] = {}

    def list_dir(self, path: str) -> list[str]:
        self.passes += 1
        return super().list_dir(path)

    def read(self, path: str) -> bytes:
        self.reads[path] = self.reads.get(path, 0) + 1
        return super().read(path)


def test_the_source_kinds_are_indexed_in_one_pass() -> None:
    """A GitRepository and then a HelmRepository looked up: one read of the tree finds both,
    each by its kind and name, in file order, and nothing of another kind (a ConfigMap that
    spells a source's kind is no source)."""
    helm_repository = (
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\n"
        "metadata: {name: fleet}\nspec: {url: https://charts.example.com}\n"
    )
    spelled = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fleet}\ndata: {k: GitRepository}\n"
    tree = _CountingTree(
        {
            "a/repo.yaml": helm_repository.encode(),
            "b/fleet.yaml": f"{FLEET}---\n{helm_repository}".encode(),
            "c/config.yaml": spelled.encode(),
            "d/notes.txt": FLEET.encode(),
        }
    )
    git = flux._objects(tree, "GitRepository", "fleet")
    helm = flux._objects(tree, "HelmRepository", "fleet")
    assert [(file, entry.obj["kind"]) for file, entry in git] == [("b/fleet.yaml", "GitRepository")]
    assert [file for file, _ in helm] == ["a/repo.yaml", "b/fleet.yaml"]
    assert flux._objects(tree, "OCIRepository", "fleet") == []
    assert tree.passes == 1
    assert tree.reads == {"a/repo.yaml": 1, "b/fleet.yaml": 1, "c/config.yaml": 1}
    assert flux._objects(tree, "ConfigMap", "fleet")[0][0] == "c/config.yaml"
    assert tree.passes == 2  # a ConfigMap (many files spell one) only when looked up


def test_equal_files_go_to_one_chunk_at_the_first_ones_place() -> None:
    """Copies of a file (fixtures copied into several folders) are scanned in one process,
    from the caches the first filled (yamlevents._READ, the engine's judgements)."""
    files = [(f"f{n:02}.yaml", b"x: %d\n" % (n % 3 if n < 30 else n)) for n in range(40)]
    keys = blob_keys(files)
    assert blob_keys(Contents.of(files, MemoryTree(dict(files)).read)) == keys
    chunks = _chunked(list(range(40)), keys)
    assert sorted(n for chunk in chunks for n in chunk) == list(range(40))
    thirds = [list(range(start, 30, 3)) for start in range(3)]
    assert chunks == [thirds[0] + thirds[1], thirds[2] + list(range(30, 36)), list(range(36, 40))]
    assert _chunked(list(range(40))) == [list(range(16)), list(range(16, 32)), list(range(32, 40))]


def test_a_pooled_scan_judges_equal_files_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Copies of a privileged Pod among other manifests: judged by one process, once, and
    the findings are the serial scan's."""
    log = tmp_path / "judged.log"
    judge = Engine._judge

    def counted(self: Engine, document: Any) -> Any:
        with log.open("a") as handle:
            handle.write(f"{os.getpid()} {document.name}\n")
        return judge(self, document)

    monkeypatch.setattr(Engine, "_judge", counted)
    config = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c%d}\n"
    files = {
        f"team{n:03}/{'pod' if n % 5 == 0 else 'config'}.yaml": (
            PRIVILEGED_POD if n % 5 == 0 else config % n
        ).encode()
        for n in range(4 * PARALLEL_MIN_FILES)
    }
    found = {}
    for jobs in (1, 2):
        log.unlink(missing_ok=True)
        context = LoadContext(tree=MemoryTree(files))
        pairs = Contents.of(sorted(files.items()), context.tree.read)
        found[jobs] = scan(pairs, Engine([load_policy_file(PRIVILEGED)]), jobs, context).findings
    pods = [line for line in log.read_text().splitlines() if not line.split()[1].startswith("c")]
    assert len(pods) == 1
    assert found[2] == found[1] and len(found[1]) == len(range(0, len(files), 5))


def test_indexed_objects_are_read_from_events_and_placed_as_composed() -> None:
    """The index reads objects as the scan reads manifests (yamlevents: values built from
    libyaml's events, no node object per value): composed, every file that may spell a
    source kind (the real k8s corpus: a 423 KB pnpm-lock.yaml among them) left the parent
    12 MiB more of Python's heap, inherited by the fork. A ConfigMap's key is where
    composing places it."""
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fleet}\n"
    text += "data:\n  values.yaml: |\n    a: 1\n"
    tree = MemoryTree({"c/config.yaml": text.encode()})
    [(file, entry)] = flux._objects(tree, "ConfigMap", "fleet")
    assert entry.locator.root is None and entry.locator.table is not None
    composed = next(load_all(file, text))
    assert isinstance(composed, YamlDocument)
    key = ("data", "values.yaml")
    assert entry.locator.locate(key) == NodeLocator(file, composed.node).locate(key)
    assert entry.locator.locate(key).line == 5
