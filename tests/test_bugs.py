"""An adapter's bug is a finding for a user and a failing test for the suite (gatekeeper.bugs)."""

from __future__ import annotations

from typing import Any

import pytest

from gatekeeper import scanner
from gatekeeper.bundle import build_engine
from gatekeeper.config import Config
from gatekeeper.sources import LoadContext
from gatekeeper.sources import kubernetes as kubernetes_source
from gatekeeper.tree import MemoryTree

POD = b"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: []}\n"


def _scan(monkeypatch: pytest.MonkeyPatch) -> scanner.ScanResult:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise AttributeError("'X' object has no attribute 'y'")

    monkeypatch.setattr(kubernetes_source, "load", broken)
    files = {"pod.yaml": POD}
    context = LoadContext(tree=MemoryTree(files))
    return scanner.scan(sorted(files.items()), build_engine(Config()), 1, context)


def test_a_users_scan_reports_an_adapters_bug_at_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GATEKEEPER_STRICT")
    found = [(f.policy_id, f.file, f.message) for f in _scan(monkeypatch).findings]
    assert found == [("GK-PARSE-ERROR", "pod.yaml", "kubernetes: 'X' object has no attribute 'y'")]


def test_the_suite_sees_the_bug_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(AttributeError, match="no attribute 'y'"):
        _scan(monkeypatch)
