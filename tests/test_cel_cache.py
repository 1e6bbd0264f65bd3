"""Compiled CEL kept between runs (gatekeeper.policy.cel.compile_cached): a pre-commit run
deserializes what an earlier run compiled, and gets the very same program."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.cache import Entries
from gatekeeper.policy import cel
from gatekeeper.policy.loader import builtin_dir, load_bundle
from tests.conftest import PRIVILEGED_POD, run_cli

pytestmark = pytest.mark.usefixtures("own_cache")  # each test its own cache directory


def _entries(cache: Path) -> list[Path]:
    return [p for p in (cache / "cel-compiled-v1").rglob("*") if p.is_file()]


def _outcome(expression: Any, data: dict[str, Any]) -> tuple[str, object]:
    try:
        value = expression.eval(data=data)
    except RuntimeError as error:
        return "raised", str(error)
    return str(value.type()), str(value.value()) if value.type() == cel.cel.Type.ERROR else (
        value.plain_value()
    )


SUBJECTS: list[dict[str, Any]] = [
    {},
    {"object": {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": []}}},
    {
        "object": {"kind": "Deployment", "spec": {"template": {"spec": {"hostNetwork": True}}}},
        "item": {"name": "a", "image": "nginx:latest", "securityContext": {"privileged": True}},
        "params": {"allowedRegistries": ["ghcr.io"], "version": "latest"},
        "context": {"referencedBy": [], "unresolved": []},
        "path": "deploy/app.yaml",
    },
]


def test_every_built_in_rule_is_the_same_program_from_the_cache(own_cache: Path) -> None:
    policies = load_bundle([builtin_dir()])
    sources = {p.rule.source for p in policies} | {
        p.match.condition.source for p in policies if p.match.condition is not None
    }
    fresh = {source: cel.environment().compile(source) for source in sorted(sources)}
    for source in fresh:
        cel.compile_cached(source)  # compiled and kept
    for source, expression in fresh.items():
        again = cel.compile_cached(source)  # from the cache
        assert str(again.return_type()) == str(expression.return_type()), source
        for data in SUBJECTS:
            assert _outcome(again, data) == _outcome(expression, data), source
    assert len(_entries(own_cache)) >= len(sources)  # (loading compiled the rest too)


def test_a_hook_judges_alike_with_compiled_programs_kept(tmp_path: Path, own_cache: Path) -> None:
    (tmp_path / "pod.yaml").write_text(PRIVILEGED_POD)
    env = {"GATEKEEPER_CACHE_DIR": str(own_cache)}
    cold = run_cli("scan", "--hook", "pod.yaml", "-f", "json", cwd=tmp_path, env=env)
    assert _entries(own_cache)  # the programs it evaluated
    warm = run_cli("scan", "--hook", "pod.yaml", "-f", "json", cwd=tmp_path, env=env)
    assert cold.returncode == warm.returncode == 1
    assert warm.stdout == cold.stdout


def test_another_text_or_other_code_is_a_miss(monkeypatch: pytest.MonkeyPatch) -> None:
    cel.compile_cached("object.a == 1")
    key = cel._compiled_key("object.a == 2", False)
    assert key is not None and cel._compiled_store().get(key) is None
    assert cel._compiled_key("object.a == 1", True) != cel._compiled_key("object.a == 1", False)
    monkeypatch.setattr(cel, "_code_digest", lambda: "another cel-expr-python")
    other = cel._compiled_key("object.a == 1", False)
    assert other is not None and cel._compiled_store().get(other) is None


@pytest.mark.parametrize("stored", ["not base64!", base64.b64encode(b"garbage").decode(), 7])
def test_an_entry_that_is_not_a_program_is_compiled_again(stored: object) -> None:
    key = cel._compiled_key("1 + 1 == 2", False)
    assert key is not None
    Entries("cel-compiled-v1").put(key, stored)
    assert cel.compile_cached("1 + 1 == 2").eval(data={}).plain_value() is True


def test_what_does_not_compile_is_not_kept(own_cache: Path) -> None:
    with pytest.raises(RuntimeError):
        cel.compile_cached("object.a ==")
    assert not _entries(own_cache)


def test_without_the_library_s_record_nothing_is_kept(
    own_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cel, "_code_digest", lambda: None)
    assert cel.compile_cached("true").eval(data={}).plain_value() is True
    assert not _entries(own_cache)


def _compile_all(cache: str, texts: list[str]) -> None:
    import os

    os.environ["GATEKEEPER_CACHE_DIR"] = cache
    for _ in range(10):
        for text in texts:
            cel.compile_cached(text)


def test_programs_written_by_several_processes_at_once_stay_exact(own_cache: Path) -> None:
    """Hooks run side by side (pre-commit on several repositories, CI jobs sharing a home):
    whatever this process reads while two others write is the program of its own text."""
    import multiprocessing

    texts = [f"object.n == {n} && '{n}' == string({n})" for n in range(20)]
    context = multiprocessing.get_context("fork")
    writers = [context.Process(target=_compile_all, args=(str(own_cache), texts)) for _ in "ab"]
    for writer in writers:
        writer.start()
    while any(writer.is_alive() for writer in writers):
        for n, text in enumerate(texts):
            assert cel.compile_cached(text).eval(data={"object": {"n": n}}).plain_value()
            assert not cel.compile_cached(text).eval(data={"object": {"n": -1}}).plain_value()
    for writer in writers:
        writer.join()
        assert writer.exitcode == 0
    assert len(_entries(own_cache)) == len(texts)
