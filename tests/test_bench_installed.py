"""benchmarks/run.py times every tool as installed: byte code compiled before the first
timed run and cached, whatever PYTHONDONTWRITEBYTECODE the shell sets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchmarks import run


def test_the_measured_environment_caches_byte_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    env = run.installed_env({"PYTHONPATH": "/somewhere"})
    assert "PYTHONDONTWRITEBYTECODE" not in env
    assert env["PYTHONPATH"] == "/somewhere"
    assert os.environ["PYTHONDONTWRITEBYTECODE"] == "1"  # the benchmark's own is left alone


def test_a_baseline_source_is_compiled_before_timing(tmp_path: Path) -> None:
    package = tmp_path / "path" / "gatekeeper"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "module.py").write_text("VALUE = 1\n")
    baseline = run.Tool(
        "gatekeeper-baseline",
        ["true"],
        run.lower_bound_findings,
        1,
        {"PYTHONPATH": str(tmp_path / "path")},
    )
    run.compile_sources([baseline])
    compiled = sorted(path.name.split(".")[0] for path in (package / "__pycache__").iterdir())
    assert compiled == ["__init__", "module"]
