"""What a pooled scan keeps where: the parent scans chunks itself, results merge in order,
and what comes back from the workers is compact (issue 17: flat memory)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from gatekeeper import scanner
from gatekeeper.bundle import build_engine
from gatekeeper.config import Config
from gatekeeper.contents import Contents
from gatekeeper.scanner import CHUNK_FILES, PARALLEL_MIN_FILES, scan
from gatekeeper.sources import LoadContext
from gatekeeper.tree import MemoryTree
from tests.conftest import PRIVILEGED_POD


def pods(count: int) -> dict[str, bytes]:
    named = (PRIVILEGED_POD.replace("name: p,", f"name: p{index},") for index in range(count))
    return {f"deploy/pod{index:03}.yaml": text.encode() for index, text in enumerate(named)}


def scanned_by(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, files: dict[str, bytes], jobs: int
) -> tuple[Any, dict[str, int]]:
    """The scan's result, and the pid of the process that scanned each file."""
    log = tmp_path / f"scanned-{jobs}.log"
    one = scanner.scan_one

    def logged(path: str, *args: Any) -> Any:
        with log.open("a") as handle:
            handle.write(f"{os.getpid()} {path}\n")
        return one(path, *args)

    monkeypatch.setattr(scanner, "scan_one", logged)
    tree = MemoryTree(files)
    contents = Contents.of(sorted(files.items()), tree.read)
    result = scan(contents, build_engine(Config()), jobs, LoadContext(tree=tree))
    lines = log.read_text().splitlines()
    return result, {path: int(pid) for pid, path in (line.split(" ", 1) for line in lines)}


def test_the_parent_builds_overlays_beside_one_worker_and_the_result_is_the_serial_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Two jobs are the parent and one forked worker (not two workers and a waiting parent):
    every file is scanned once, by one of the two, kustomizations by the parent (one process
    holds the files overlays parse), and the merged result (findings, files, inventory, in
    order) is the serial scan's."""
    files = pods(PARALLEL_MIN_FILES + 5 * CHUNK_FILES + 3)  # a last chunk that is not full
    for name in ("deploy", "other"):  # overlays, which the parent builds (see _scan_pooled)
        files[f"{name}/kustomization.yaml"] = b"resources: [pod001.yaml]\nnamePrefix: x-\n"
    files["other/pod001.yaml"] = files["deploy/pod001.yaml"]
    serial, serial_pids = scanned_by(monkeypatch, tmp_path, files, 1)
    pooled, pooled_pids = scanned_by(monkeypatch, tmp_path, files, 2)
    assert set(serial_pids.values()) == {os.getpid()}
    assert sorted(pooled_pids) == sorted(files)  # each file once
    assert len(set(pooled_pids.values())) <= 2  # the parent and one worker
    overlays = [name for name in files if name.endswith("kustomization.yaml")]
    assert {pooled_pids[name] for name in overlays} == {os.getpid()}
    assert any("variants" in finding.extra for finding in serial.findings)
    assert pooled.findings == serial.findings
    assert pooled.files == serial.files == sorted(files)
    assert pooled.inventory == serial.inventory
    assert pooled.documents == serial.documents == len(files)


def test_a_worker_error_still_fails_the_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug in a worker surfaces in the parent (exit 3), it is not a chunk silently lost."""
    files = pods(PARALLEL_MIN_FILES + CHUNK_FILES)
    parent = os.getpid()
    one = scanner.scan_one

    def failing(path: str, *args: Any) -> Any:
        if os.getpid() != parent:
            raise RuntimeError("worker bug")
        waited = 0.0
        taken = scanner._taken
        while taken is not None and sum(taken) < 2 and waited < 30:
            time.sleep(0.01)  # until the worker has taken a chunk: it is not left none
            waited += 0.01
        return one(path, *args)

    monkeypatch.setattr(scanner, "scan_one", failing)
    tree = MemoryTree(files)
    with pytest.raises(RuntimeError, match="worker bug"):
        scan(sorted(files.items()), build_engine(Config()), 2, LoadContext(tree=tree))


def test_inventory_entries_come_back_from_a_worker_sharing_their_texts_and_labels() -> None:
    """Entries are pickled by the workers; unpickled, equal ones share their label dict and
    texts with each other and with those already in the parent, and compare equal."""
    import pickle

    from gatekeeper.inventory import InventoryEntry, make

    labels = {"app": "web", "tier": "front"}
    first = make("kubernetes", "v1", "Pod", "prod", "web-1", dict(labels), "deploy/a.yaml", 3)
    second = make("kubernetes", "v1", "Pod", "prod", "web-2", dict(labels), "deploy/a.yaml", 9)
    assert first.labels is second.labels and first.labels == labels
    back = pickle.loads(pickle.dumps([first, second]))
    again = pickle.loads(pickle.dumps(second))
    assert back == [first, second] and isinstance(back[0], InventoryEntry)
    assert back[0].labels is first.labels and again.labels is first.labels
    assert again.file is first.file and again.namespace is first.namespace
    # Label order is kept: a report or a rule sees the labels as written.
    other = make("kubernetes", "v1", "Pod", "", "x", {"tier": "front", "app": "web"}, "b.yaml", 1)
    assert list(other.labels) == ["tier", "app"] and other.labels is not first.labels
    assert first.as_cel()["labels"] == labels


def test_ownership_remembers_each_answer_per_folder_and_name() -> None:
    """Existence answers are kept per folder (one string per name asked in every folder),
    and a path is never taken for another one split the same way (`/x` is not `x`)."""
    from gatekeeper import ownership

    asked: list[str] = []

    class Counting(MemoryTree):
        def exists(self, path: str) -> bool:
            asked.append(path)
            return super().exists(path)

    tree = Counting({"x": b"", "a/Chart.yaml": b"", "b/c/values.yaml": b""})
    index = ownership.Ownership(tree)
    answers = [index.exists(p) for p in ("/x", "x", "a/Chart.yaml", "b/Chart.yaml", "x")]
    assert answers == [False, True, True, False, True]
    assert index.exists("a/Chart.yaml") and not index.exists("b/Chart.yaml")
    assert asked == ["/x", "x", "a/Chart.yaml", "b/Chart.yaml"]  # each once
    assert index.first_of("b/c", ["Chart.yaml", "values.yaml"]) == "b/c/values.yaml"


def test_the_parent_drops_what_overlay_builds_parsed_once_every_overlay_is_built() -> None:
    """Builds keep the files they parsed under scanner.PARSED_FOR_BUILDS (a serial scan
    keeps them); a pooled scan drops them when the parent turns to plain files."""
    from gatekeeper import ownership

    files = pods(PARALLEL_MIN_FILES + 2 * CHUNK_FILES)
    files["deploy/kustomization.yaml"] = b"resources: [pod001.yaml]\nnamePrefix: x-\n"
    for jobs, kept in ((1, True), (2, False)):
        tree = MemoryTree(files)
        scan(sorted(files.items()), build_engine(Config()), jobs, LoadContext(tree=tree))
        memo = ownership.of(tree)._memo
        assert any(kind == scanner.PARSED_FOR_BUILDS for kind, _ in memo) is kept


def test_results_wait_for_the_end_of_the_pool_as_one_pickle_a_chunk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """When the pool is done, the parent holds no finding objects of the chunks scanned
    (its own or a worker's): each chunk's results are one bytes object, so they pin none of
    the arenas that parsing fills. Merged then, they are the serial scan's (above)."""
    import gc

    from gatekeeper.finding import Finding

    files = pods(PARALLEL_MIN_FILES + 6 * CHUNK_FILES)
    live: list[int] = []
    merge = scanner._merge_in_order

    def counting(chunks: list[bytes], *args: Any) -> Any:
        live.append(sum(isinstance(item, Finding) for item in gc.get_objects()))
        assert chunks and all(type(chunk) is bytes for chunk in chunks)
        return merge(chunks, *args)

    monkeypatch.setattr(scanner, "_merge_in_order", counting)
    tree = MemoryTree(files)
    engine = build_engine(Config())
    gc.collect()
    before = sum(isinstance(item, Finding) for item in gc.get_objects())  # other tests' own
    result = scan(sorted(files.items()), engine, 2, LoadContext(tree=tree))
    per_file = len(result.findings) // len(files)
    assert per_file >= 2 and len(live) == 1
    # Held as objects, every finding of the scan was alive here.
    assert live[0] - before < per_file * CHUNK_FILES < len(result.findings)


def test_a_chunks_results_are_held_compressed() -> None:
    """The parent holds every chunk's results until the pool ends: findings repeat their
    titles, messages and remediations, so the held bytes are a fraction of the pickle (a
    chunk of 16 similar Pods: under half), and they unpack to the same results."""
    import pickle

    files = pods(CHUNK_FILES)
    tree = MemoryTree(files)
    engine = build_engine(Config())
    context = LoadContext(tree=tree)
    adapters = scanner.sources.adapters()
    parts = [
        (number, scanner.scan_one(path, files[path], engine, adapters, context))
        for number, path in enumerate(sorted(files))
    ]
    assert sum(len(part.findings) for _, part in parts) >= 2 * CHUNK_FILES
    packed = scanner._packed(parts)
    assert len(packed) * 2 < len(pickle.dumps(parts, pickle.HIGHEST_PROTOCOL))
    back = scanner._unpacked(packed)
    assert [(n, p.findings, p.files, p.inventory) for n, p in back] == [
        (n, p.findings, p.files, p.inventory) for n, p in parts
    ]


def test_what_rejected_overlay_builds_leave_is_freed_while_the_scan_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A build kustomize rejects (a generator's missing file) raises from frames that hold
    the exception: a reference cycle, which the paused collector never freed, and which held
    the build and the builds' parse cache (every YAML node of the files they read) to the
    end of the scan. By the time the parent turns to plain files, no build is alive."""
    import gc

    from gatekeeper.sources import kustomize_build

    files = pods(PARALLEL_MIN_FILES + CHUNK_FILES)
    for index in range(3):
        files[f"app{index}/kustomization.yaml"] = (
            b"resources: [pod.yaml]\nconfigMapGenerator: [{name: c, files: [missing.env]}]\n"
        )
        files[f"app{index}/pod.yaml"] = files["deploy/pod001.yaml"]
    alive: list[int] = []
    forget = scanner._forget_builds
    tree = MemoryTree(files)

    def counted() -> None:  # this scan's builds (other tests' garbage may be about)
        builds = (o for o in gc.get_objects() if type(o) is kustomize_build._Builder)
        alive.append(sum(build.tree is tree for build in builds))
        forget()

    monkeypatch.setattr(scanner, "_forget_builds", counted)
    contents = Contents.of(sorted(files.items()), tree.read)
    result = scan(contents, build_engine(Config()), 2, LoadContext(tree=tree))
    rejected = [f for f in result.findings if f.file.startswith("app")]
    assert any("missing.env" in f.message for f in rejected), rejected
    assert alive == [0]


def test_application_sets_go_templates_are_rendered_before_the_fork_by_one_renderer(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The Go templates of ApplicationSets written in the tree are rendered in the parent
    before the pool forks, by one renderer for them all (the same ApplicationSet in two
    folders: one rendering), and the workers read the answers. Rendered in the pool, each
    started a renderer (about 50 MB) beside the parent and a worker at their peak (issue
    17: a third of the real k8s corpus's tree PSS). The result is the serial scan's."""
    from gatekeeper.sources import applicationsets_go, helm_engine
    from tests.test_gate_attack_s5 import REPO_URL, application_set

    log = tmp_path / "renderers.log"
    start = helm_engine._Worker.__init__

    def logged(self: Any, *args: Any) -> None:
        with log.open("a") as handle:  # the pool's processes inherit this wrapper
            handle.write(f"{os.getpid()} {scanner._taken is not None}\n")
        start(self, *args)

    rendered = applicationsets_go._rendered
    renderings: list[int] = []

    def counted(*args: Any) -> Any:
        renderings.append(os.getpid())
        return rendered(*args)

    if helm_engine._Worker.current is not None:  # an earlier test's renderer: counted out
        helm_engine._Worker.current.stop()
        helm_engine._Worker.current = None
    monkeypatch.setattr(helm_engine._Worker, "__init__", logged)
    monkeypatch.setattr(applicationsets_go, "_rendered", counted)
    # Unique texts: no rendering kept from another test of this process answers them.
    generators = f"    - list:\n        elements: [{{name: web, env: {tmp_path.name}}}]\n"
    patch = (
        '  templatePatch: |\n    {{- if eq (.env | lower) "prod" }}\n    spec: {}\n    {{- end }}\n'
    )
    appset = application_set(generators, patch)
    files = pods(PARALLEL_MIN_FILES + CHUNK_FILES)  # no chart: no renderer of its own
    files.update({"apps/set.yaml": appset, "zz/set.yaml": appset})
    options = {"gitops": {"repoURLs": [REPO_URL]}}
    results = []
    for jobs in (2, 1):  # pooled first: the serial scan finds the renderings kept
        tree = MemoryTree(files)
        contents = Contents.of(sorted(files.items()), tree.read)
        context = LoadContext(tree=tree, options=options)
        results.append(scan(contents, build_engine(Config()), jobs, context))
        if jobs == 2:
            starts = log.read_text().splitlines()
    assert starts == [f"{os.getpid()} False"]  # in the parent, before the pool
    assert renderings == [os.getpid()]  # one rendering: the serial scan found it kept
    pooled, serial = results
    assert pooled.findings == serial.findings and pooled.files == serial.files
    made = [f for f in serial.findings if f.file == "zz/set.yaml"]
    assert made, serial.findings  # the Application it makes is judged
