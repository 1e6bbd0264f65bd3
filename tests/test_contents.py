"""Scanned files are read when a pass needs them, not held (gatekeeper.contents)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import gatekeeper
from gatekeeper.bundle import build_engine
from gatekeeper.config import Config
from gatekeeper.contents import Contents, added, names_of, subset
from gatekeeper.scanner import PARALLEL_MIN_FILES, scan
from gatekeeper.sources import LoadContext
from gatekeeper.tree import MemoryTree
from tests.conftest import PRIVILEGED_POD

SKIPPED = "# gatekeeper:skip=K8S-PSS-PRIVILEGED test fixture\n"


def files(count: int) -> dict[str, bytes]:
    out = {}
    for index in range(count):
        text = PRIVILEGED_POD.replace("name: p,", f"name: p{index},")
        out[f"deploy/pod{index}.yaml"] = ((SKIPPED if index == 3 else "") + text).encode()
    return out


class CountingTree(MemoryTree):
    def __init__(self, files: dict[str, bytes]) -> None:
        super().__init__(files)
        self.reads: Counter[str] = Counter()

    def read(self, path: str) -> bytes:
        self.reads[path] += 1
        return super().read(path)


def test_contents_keep_names_and_markers_and_read_again_when_used() -> None:
    tree = CountingTree(files(5))
    contents = Contents.of(((n, tree.read(n)) for n in sorted(tree.files)), tree.read)
    assert contents.marked == {"deploy/pod3.yaml"}
    assert len(contents) == 5 and not hasattr(contents, "_data")
    tree.reads.clear()
    assert list(contents) == sorted(tree.files.items())
    assert contents[1] == ("deploy/pod1.yaml", tree.files["deploy/pod1.yaml"])
    assert contents[3:] == sorted(tree.files.items())[3:]
    assert sum(tree.reads.values()) == 5 + 1 + 2  # every use reads again
    part = subset(contents, ["deploy/pod4.yaml", "deploy/pod3.yaml", "elsewhere.yaml"])
    assert names_of(part) == ["deploy/pod3.yaml", "deploy/pod4.yaml"]
    assert isinstance(part, Contents) and part.marked == {"deploy/pod3.yaml"}
    more = added(part, ["deploy/pod0.yaml", "missing.yaml"], tree.read)
    assert names_of(more) == ["deploy/pod3.yaml", "deploy/pod4.yaml", "deploy/pod0.yaml"]
    # plain lists are kept as lists
    assert subset([("a", b"1"), ("b", b"2")], ["b"]) == [("b", b"2")]
    assert added([("a", b"1")], ["deploy/pod0.yaml"], tree.read)[1][0] == "deploy/pod0.yaml"


def test_a_file_removed_during_the_scan_reads_as_empty() -> None:
    tree = CountingTree(files(2))
    contents = Contents.of(sorted(tree.files.items()), tree.read)
    del tree.files["deploy/pod0.yaml"]
    assert next(iter(contents)) == ("deploy/pod0.yaml", b"")


@pytest.mark.parametrize("jobs", [1, 2])
def test_scanning_contents_finds_what_scanning_the_bytes_finds(jobs: int) -> None:
    """Serial and pooled (workers read their own chunk): the same findings, and each file
    read once by the scan."""
    tree = CountingTree(files(PARALLEL_MIN_FILES + 3))
    engine = build_engine(Config())
    context = LoadContext(tree=tree)
    pairs = sorted(tree.files.items())
    expected = scan(pairs, engine, jobs, context).findings
    assert len(expected) >= len(pairs)
    contents = Contents.of(pairs, tree.read)
    tree.reads.clear()
    assert scan(contents, engine, jobs, context).findings == expected
    if jobs == 1:  # a worker's reads are counted in the worker
        assert set(tree.reads.values()) == {1} and len(tree.reads) == len(pairs)


@pytest.mark.parametrize("jobs", [1, 2])
def test_inline_skips_of_files_read_on_demand_still_apply(tmp_path: Path, jobs: int) -> None:
    """The scan keeps only the names of files holding `gatekeeper:skip` and reads those again
    for their skips: the skipped file's finding is waived, the others' are not."""
    for name, data in files(PARALLEL_MIN_FILES + 1).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=jobs)
    privileged = [f for f in report.verdict.findings if f.policy_id == "K8S-PSS-PRIVILEGED"]
    assert len(privileged) == PARALLEL_MIN_FILES + 1
    waived = {f.file for f in privileged if f.status == "waived"}
    assert waived == {"deploy/pod3.yaml"}
