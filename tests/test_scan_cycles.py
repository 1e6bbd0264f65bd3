"""A scan leaves no reference cycles, and the collector does not traverse what it kept.

The collector is paused while a scan runs (scanner.collector_paused): a cycle made then lives
to the next collection, with everything its frames refer to (a rejected overlay build held
every caller's locals: the scan's findings), and that collection traversed all the scan kept
(issue 17: 0.25 s of the real k8s-full corpus)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from types import FrameType

import pytest

from gatekeeper import main, scanner
from gatekeeper.bundle import build_engine
from gatekeeper.config import Config
from gatekeeper.scanner import ScanResult, collector_paused, scan
from gatekeeper.sources import LoadContext
from gatekeeper.tree import MemoryTree
from tests.conftest import PRIVILEGED_POD

FILES = {
    # kustomize rejects it (a generator's file is missing): raised through the build's frames
    "app/kustomization.yaml": b"resources: [pod.yaml]\n"
    b"configMapGenerator:\n- name: settings\n  files: [missing.properties]\n",
    "app/pod.yaml": PRIVILEGED_POD.encode(),
    "plain/pod.yaml": PRIVILEGED_POD.encode(),  # no anchors: the builder without a table
    "anchored/pod.yaml": b"x: &a {b: 1}\ny: *a\n",
}


@pytest.fixture
def collector_off() -> Iterator[None]:
    """The collector stopped around the test (the scan neither resumes nor freezes it)."""
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if enabled:
            gc.enable()


def scanned() -> ScanResult:
    tree = MemoryTree(FILES)
    return scan(sorted(FILES.items()), build_engine(Config()), 1, LoadContext(tree=tree))


def test_a_scan_with_a_rejected_overlay_build_leaves_no_cycles(collector_off: None) -> None:
    result = scanned()
    said = {(finding.policy_id, finding.file) for finding in result.findings}
    assert ("GK-RENDER-ERROR", "app/kustomization.yaml") in said
    assert ("K8S-PSS-PRIVILEGED", "plain/pod.yaml") in said
    del result
    gc.set_debug(gc.DEBUG_SAVEALL)
    gc.collect()
    kinds = {type(held).__name__ for held in gc.garbage}
    frames = [held.f_code.co_name for held in gc.garbage if isinstance(held, FrameType)]
    assert not frames, frames
    assert not kinds & {"Finding", "_Builder", "_UnsharedBuilder", "MissingFile"}, kinds


@pytest.fixture
def collector_on() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.enable()
    try:
        yield
    finally:
        gc.unfreeze()
        scanner._FROZEN.clear()
        if not enabled:
            gc.disable()


def test_a_program_run_freezes_what_a_scan_keeps_and_collects_it_at_its_next_scan(
    collector_on: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(main, "PROGRAM_RUN", True)
    held = _Cycle()
    alive = weakref.ref(held)
    result = scanned()
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0
    assert result.findings
    del held
    gc.collect()
    assert alive() is not None  # frozen: garbage now, but never traversed
    with collector_paused():
        assert alive() is None  # given back and collected before the next scan
        assert gc.get_freeze_count() == 0
        assert not gc.isenabled()
    assert gc.get_freeze_count() > 0


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_a_caller_of_the_python_api_keeps_the_collection(
    collector_on: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As a process that never ran main() as the program has it (a test before this one in
    # the same process may have: main() with no argv sets it for the rest of the process).
    monkeypatch.setattr(main, "PROGRAM_RUN", False)
    scanned()
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
