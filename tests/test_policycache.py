"""The policy bundle kept between runs (gatekeeper.policycache): the same policies as a load
of the files, a new load when a file changes, and nothing but policies from a planted file."""

from __future__ import annotations

import dataclasses
import io
import os
import pickle
import time
from pathlib import Path
from typing import Any

import pytest

from gatekeeper import policycache
from gatekeeper.cache import Entries
from gatekeeper.errors import PolicyError
from gatekeeper.fieldpath import WILDCARD
from gatekeeper.policy.cel import Program
from gatekeeper.policy.loader import builtin_dir, load_bundle
from tests.conftest import PRIVILEGED_POD, PRIVILEGED_POLICY, run_cli

pytestmark = pytest.mark.usefixtures("own_cache")  # each test its own cache directory


def _plain(value: Any) -> Any:
    """A policy as comparable data: programs by their source, the wildcard by name."""
    if isinstance(value, Program):
        return ("program", value.source)
    if value is WILDCARD:
        return "[*]"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        return (type(value).__name__, [(f.name, _plain(getattr(value, f.name))) for f in fields])
    if isinstance(value, dict):
        return sorted((repr(key), _plain(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_plain(item) for item in value])
    if isinstance(value, (set, frozenset)):
        return (type(value).__name__, sorted(map(repr, value)))
    return (type(value).__name__, repr(value))


def _stored(cache: Path) -> list[Path]:
    return [p for p in (cache / "policy-bundles-v1").rglob("*") if p.is_file()]


def test_the_library_from_the_cache_is_the_library(own_cache: Path) -> None:
    roots = sorted(p for p in builtin_dir().iterdir() if p.is_dir() and p.name[0] not in "_.")
    fresh_files: list[tuple[Path, bytes]] = []
    fresh = load_bundle(roots, admission=fresh_files)
    stored: list[tuple[Path, bytes]] = []
    assert [_plain(p) for p in policycache.load(roots, stored)] == [_plain(p) for p in fresh]
    assert len(_stored(own_cache)) == 1
    again: list[tuple[Path, bytes]] = []
    cached = policycache.load(roots, again)
    assert [_plain(p) for p in cached] == [_plain(p) for p in fresh]
    assert again == stored == fresh_files
    # the wildcard stays the one object field paths are compared with
    patterns = [key for policy in cached for pattern in policy.each for key in pattern]
    assert any(key is WILDCARD for key in patterns)
    assert not any(type(key) is type(WILDCARD) and key is not WILDCARD for key in patterns)


def test_a_changed_policy_file_is_loaded_again(tmp_path: Path, own_cache: Path) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "p.yaml").write_text(PRIVILEGED_POLICY)
    assert [p.severity for p in policycache.load([policies], [])] == ["high"]
    assert [p.severity for p in policycache.load([policies], [])] == ["high"]  # kept
    (policies / "p.yaml").write_text(PRIVILEGED_POLICY.replace("high", "low"))
    assert [p.severity for p in policycache.load([policies], [])] == ["low"]
    (policies / "q.yaml").write_text(PRIVILEGED_POLICY.replace("TEST-", "TEST-Q-"))
    assert len(policycache.load([policies], [])) == 2  # a file added
    assert len(_stored(own_cache)) == 3


def test_a_bundle_that_fails_to_load_is_never_kept(tmp_path: Path, own_cache: Path) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "p.yaml").write_text(PRIVILEGED_POLICY.replace("severity: high", "severity: 7"))
    for _ in range(2):  # reported again each time, never served from a cache
        with pytest.raises(PolicyError):
            policycache.load([policies], [])
    assert _stored(own_cache) == []


class _Act:
    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return os.system, ("touch planted-ran",)


def test_a_planted_pickle_runs_nothing(
    tmp_path: Path, own_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whoever could write the cache folder gets no code run: only gatekeeper's classes and
    plain values may be built, anything else is a miss and the files are loaded."""
    monkeypatch.chdir(tmp_path)
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "p.yaml").write_text(PRIVILEGED_POLICY)
    key = policycache._key([policies])
    assert key is not None
    out = io.BytesIO()
    pickle.dump(([_Act()], []), out)
    Entries("policy-bundles-v1").put_bytes(key, out.getvalue())
    loaded = policycache.load([policies], [])
    assert [p.id for p in loaded] == ["TEST-NO-PRIVILEGED"]
    assert not (tmp_path / "planted-ran").exists()


def test_a_hook_judges_with_the_policy_file_as_it_is_now(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(PRIVILEGED_POD)
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "p.yaml").write_text(PRIVILEGED_POLICY)
    args = ("scan", "--hook", "--no-builtin", "--policies", "policies", "pod.yaml")
    assert run_cli(*args, cwd=tmp_path).returncode == 1
    assert run_cli(*args, cwd=tmp_path).returncode == 1  # from the cache
    (policies / "p.yaml").write_text(PRIVILEGED_POLICY.replace("high", "low"))
    assert run_cli(*args, cwd=tmp_path).returncode == 0  # low does not block


def _settled() -> None:
    """Past the time a file's stat is not trusted for (policycache._SETTLED_NS)."""
    time.sleep(policycache._SETTLED_NS / 1e9 + 0.1)


def test_settled_files_are_known_by_their_stat_and_any_change_is_seen(
    tmp_path: Path, own_cache: Path
) -> None:
    """A file whose stat says it is as it was is not read again: a planted answer told apart
    from its content proves it. Rewritten to the same size with its old modification time
    put back, its change time still tells: it is read again."""
    policies = tmp_path / "policies"
    policies.mkdir()
    policy = policies / "p.yaml"
    policy.write_text(PRIVILEGED_POLICY)
    written = policy.stat()
    _settled()
    assert [p.severity for p in policycache.load([policies], [])] == ["high"]
    (stats,) = [p for p in (own_cache / "policy-bundle-stats-v1").rglob("*") if p.is_file()]
    other = tmp_path / "other"
    other.mkdir()
    (other / "p.yaml").write_text(PRIVILEGED_POLICY.replace("high", "low"))
    policycache.load([other], [])
    planted = policycache._key([other])
    assert planted is not None
    Entries("policy-bundle-stats-v1").put_bytes(stats.parent.name + stats.name, planted.encode())
    assert [p.severity for p in policycache.load([policies], [])] == ["low"]  # by its stat
    same_size = PRIVILEGED_POLICY.replace("severity: high", "severity: info")
    policy.write_text(same_size)
    os.utime(policy, ns=(written.st_atime_ns, written.st_mtime_ns))
    assert (policy.stat().st_size, policy.stat().st_mtime_ns) == (
        written.st_size,
        written.st_mtime_ns,
    )
    assert [p.severity for p in policycache.load([policies], [])] == ["info"]  # just written
    _settled()
    assert [p.severity for p in policycache.load([policies], [])] == ["info"]  # settled


def test_a_file_changed_just_now_is_not_known_by_its_stat(tmp_path: Path, own_cache: Path) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "p.yaml").write_text(PRIVILEGED_POLICY)
    policycache.load([policies], [])
    kept = own_cache / "policy-bundle-stats-v1"
    assert not [p for p in kept.rglob("*") if p.is_file()]
