from __future__ import annotations

from pathlib import Path

import pytest

from gatekeeper.cache import ValidatedSet, cache_dir
from gatekeeper.errors import PolicyError
from gatekeeper.policy.loader import load_bundle
from gatekeeper.policy.model import Policy

POLICY = """\
id: TEST-CACHED
title: A cached policy
severity: low
description: d
remediation: r
match: {source: kubernetes}
rule: "true"
"""


pytestmark = pytest.mark.usefixtures("own_cache")  # each test its own cache directory


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


def _no_parsing(*_: object) -> None:
    raise AssertionError("parsed again")


def test_a_validated_file_is_not_parsed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gatekeeper.policy import loader

    (tmp_path / "p").mkdir()
    (tmp_path / "p/a.yaml").write_text("# a comment first\n" + POLICY)
    [first] = load_bundle([tmp_path / "p"])
    monkeypatch.setattr(loader, "read_single", _no_parsing)
    [again] = load_bundle([tmp_path / "p"])
    assert (again.id, again.raw, again.lines) == (first.id, first.raw, first.lines)
    assert again.line("rule") == 8 and again.rule.evaluate({}) is True


def test_parsed_policies_someone_else_could_write_are_not_read(
    tmp_path: Path, own_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gatekeeper.policy import loader

    (tmp_path / "p").mkdir()
    (tmp_path / "p/a.yaml").write_text(POLICY)
    load_bundle([tmp_path / "p"])
    parsed = own_cache / "parsed-policies-v1.json"
    weakened = parsed.read_text().replace('"true"', '"false"')
    parsed.write_text(weakened)
    parsed.chmod(0o666)
    [policy] = load_bundle([tmp_path / "p"])
    assert policy.rule.source == "true"  # parsed from the file, not taken from the cache
    parsed.write_text(weakened)
    parsed.chmod(0o600)
    monkeypatch.setattr(loader, "read_single", _no_parsing)
    [policy] = load_bundle([tmp_path / "p"])
    assert policy.rule.source == "false"  # only a private cache is believed


def test_the_library_from_the_cache_is_the_library_as_parsed() -> None:
    """Every built-in policy loaded from the cache (lines of its keys without a YAML tree)
    reads as when its file was parsed: what reports and config errors point at."""
    from gatekeeper.policy.loader import builtin_dir

    def facts(policy: Policy) -> tuple[object, ...]:
        return (
            policy.id,
            policy.raw,
            policy.lines,
            policy.match.kinds,
            policy.each,
            policy.field_path,
            policy.message,
            policy.params,
            policy.pack,
            policy.rule.source,
            [policy.line(key) for key in (*policy.raw, "absent")],
        )

    parsed = load_bundle([builtin_dir()])
    cached = load_bundle([builtin_dir()])
    assert all(policy.rule._compiled is None for policy in cached)  # the cached path
    assert [facts(policy) for policy in cached] == [facts(policy) for policy in parsed]
