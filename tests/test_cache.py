from __future__ import annotations

from pathlib import Path

import pytest

from gatekeeper.cache import ValidatedSet, cache_dir
from gatekeeper.errors import PolicyError
from gatekeeper.policy.loader import load_bundle

POLICY = """\
id: TEST-CACHED
title: A cached policy
severity: low
description: d
remediation: r
match: {source: kubernetes}
rule: "true"
"""


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("GATEKEEPER_CACHE_DIR", str(directory))
    return directory


def test_a_validated_file_is_remembered_by_content(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p/a.yaml").write_text(POLICY)
    load_bundle([tmp_path / "p"])
    assert len(ValidatedSet().known) == 1
    load_bundle([tmp_path / "p"])
    assert len(ValidatedSet().known) == 1


def test_an_edit_is_validated_again_and_errors_are_never_cached(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p/a.yaml").write_text(POLICY)
    load_bundle([tmp_path / "p"])
    (tmp_path / "p/a.yaml").write_text(POLICY.replace("severity: low", "severity: dire"))
    with pytest.raises(PolicyError, match="severity"):
        load_bundle([tmp_path / "p"])
    with pytest.raises(PolicyError, match="severity"):
        load_bundle([tmp_path / "p"])
    assert len(ValidatedSet().known) == 1


def test_an_unwritable_cache_is_not_an_error(tmp_path: Path, own_cache: Path) -> None:
    own_cache.parent.mkdir(exist_ok=True)
    own_cache.write_text("not a directory")
    (tmp_path / "p").mkdir()
    (tmp_path / "p/a.yaml").write_text(POLICY)
    assert [policy.id for policy in load_bundle([tmp_path / "p"])] == ["TEST-CACHED"]
    assert cache_dir() == own_cache


def test_a_file_that_compiled_before_compiles_its_cel_on_first_use(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p/a.yaml").write_text(POLICY.replace('rule: "true"', 'rule: "1 + 1 == 2"'))
    [first] = load_bundle([tmp_path / "p"])
    assert first.rule._compiled is not None  # checked (type and syntax) the first time
    [again] = load_bundle([tmp_path / "p"])
    assert again.rule._compiled is None  # a pre-commit run compiles only what it evaluates
    assert again.rule.evaluate({}) is True
    assert again.rule._compiled is not None
