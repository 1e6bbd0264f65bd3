"""What a pooled scan builds once in the parent, before it forks, and its workers share."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.contents import FLUX_MARKER, Contents, holding, subset
from gatekeeper.evaluate import Engine
from gatekeeper.policy.loader import load_policy_file
from gatekeeper.scanner import PARALLEL_MIN_FILES, scan
from gatekeeper.sources import LoadContext, flux
from gatekeeper.tree import MemoryTree
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

    def counted(tree: Any, kind: str) -> Any:
        with log.open("a") as handle:
            handle.write(f"{os.getpid()} {kind}\n")
        return index(tree, kind)

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
    assert serial_index == [f"{os.getpid()} GitRepository"]
    assert pooled_index == [f"{os.getpid()} GitRepository"]
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
    built: list[str] = []
    monkeypatch.setattr(flux, "_index", lambda tree, kind: built.append(kind) or {})
    data = {
        name: (text % (0, 0) if "%d" in text else text).encode() for name, text in files.items()
    }
    flux.prepare(MemoryTree(data), sorted(data.items()))
    assert built == indexed
