"""The parse cache of `.tf` text (gatekeeper.sources.terraform_cache, gatekeeper.cache.Entries):
exact, keyed by content and code, never a stale or torn parse."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from gatekeeper.cache import Entries
from gatekeeper.hcl import parse
from gatekeeper.sources import terraform, terraform_cache
from tests.conftest import REPO
from tests.test_terraform import SECURITY_GROUP

BUCKET = """\
resource "aws_ebs_volume" "data" {
  availability_zone = "eu-west-1a"
  encrypted         = true
  tags              = { "@" = "at", v = [1, 2.5, true, "x"] }
}
"""


pytestmark = pytest.mark.usefixtures("own_cache")  # each test its own cache directory


def _entry_files(cache: Path) -> list[Path]:
    return [p for p in (cache / "terraform-parses-v1").rglob("*") if p.is_file()]


def _no_parsing(_: str) -> terraform._File:
    raise AssertionError("parsed again")


def test_a_parse_comes_back_exactly_as_parsed() -> None:
    samples = [SECURITY_GROUP, BUCKET]
    samples += [p.read_text() for p in (REPO / "tests/data/terraform").rglob("*.tf")]
    samples += [p.read_text() for p in (REPO / "examples").rglob("*.tf")]
    for text in samples:
        parsed = parse(text, expressions=True)
        again = terraform_cache.decode(json.dumps(terraform_cache.encode(parsed)))
        assert again == parsed


def test_unchanged_text_is_not_parsed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    first = terraform._parse_file(BUCKET)
    monkeypatch.setattr(terraform, "_parse_text", _no_parsing)
    again = terraform._parse_file(BUCKET)
    assert again.parsed == first.parsed and again.error is None


def test_an_edit_is_parsed_and_judged_anew(own_cache: Path) -> None:
    terraform._parse_file(BUCKET)
    edited = terraform._parse_file(BUCKET.replace("encrypted         = true", "encrypted = false"))
    assert edited.parsed is not None
    assert edited.parsed.blocks[0].body["encrypted"] is False
    assert len(_entry_files(own_cache)) == 2


def test_parse_errors_are_kept_with_their_line(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = 'resource "a" "b" {\n  x = \n}\n'
    first = terraform._parse_file(broken)
    assert first.error is not None
    monkeypatch.setattr(terraform, "_parse_text", _no_parsing)
    again = terraform._parse_file(broken)
    assert again.parsed is None and again.error is not None
    assert (str(again.error), again.error.line, again.error.column) == (
        str(first.error),
        first.error.line,
        first.error.column,
    )


def test_other_code_is_a_miss(monkeypatch: pytest.MonkeyPatch) -> None:
    terraform._parse_file(BUCKET)
    monkeypatch.setattr(terraform_cache, "_code_digest", lambda: "another gatekeeper")
    assert terraform_cache.load(BUCKET) is None


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # torn write
        # still JSON, still a parse: only the digest tells
        lambda data: data.replace(b"eu-west-1a", b"eu-west-1b"),
        lambda data: b"",
    ],
)
def test_a_damaged_entry_is_a_miss_and_parsed_again(own_cache: Path, damage: object) -> None:
    terraform._parse_file(BUCKET)
    (entry,) = _entry_files(own_cache)
    data = entry.read_bytes()
    assert damage(data) != data  # type: ignore[operator]
    entry.write_bytes(damage(data))  # type: ignore[operator]
    assert terraform_cache.load(BUCKET) is None
    assert terraform._parse_file(BUCKET).parsed == parse(BUCKET, expressions=True)


def test_a_well_formed_entry_of_unknown_shape_is_a_miss(own_cache: Path) -> None:
    key = terraform_cache._key(BUCKET)
    assert key is not None
    for value in (
        {"parsed": {"@": "Popen", "v": ["rm -rf /"]}},
        {"parsed": {"@": "Span", "v": [1, 2]}},  # a field short
        {"parsed": [1, 2]},
        {"error": ["x", "1", 1]},
        {"parsed": {"@": "Parsed", "v": [[], []]}, "more": 1},
    ):
        Entries("terraform-parses-v1").put(key, value)
        assert terraform_cache.load(BUCKET) is None


def test_a_cache_others_can_write_is_not_read(own_cache: Path) -> None:
    terraform._parse_file(BUCKET)
    (own_cache / "terraform-parses-v1").chmod(0o777)
    assert terraform_cache.load(BUCKET) is None


def test_an_entry_that_is_a_link_is_not_read(own_cache: Path, tmp_path: Path) -> None:
    terraform._parse_file(BUCKET)
    (entry,) = _entry_files(own_cache)
    target = tmp_path / "elsewhere"
    target.write_bytes(entry.read_bytes())
    entry.unlink()
    entry.symlink_to(target)
    assert terraform_cache.load(BUCKET) is None


def _write_many(cache: str, text: str, rounds: int) -> None:
    import os

    os.environ["GATEKEEPER_CACHE_DIR"] = cache
    for _ in range(rounds):
        terraform_cache.store(text, parse(text, expressions=True), None)


def test_concurrent_writers_leave_a_whole_entry(own_cache: Path) -> None:
    """Two processes writing the same entry while this one reads it: every read is a miss
    or the exact parse, never a torn one."""
    expected = parse(SECURITY_GROUP, expressions=True)
    context = multiprocessing.get_context("fork")
    writers = [
        context.Process(target=_write_many, args=(str(own_cache), SECURITY_GROUP, 40))
        for _ in range(2)
    ]
    for writer in writers:
        writer.start()
    seen = 0
    while any(writer.is_alive() for writer in writers):
        found = terraform_cache.load(SECURITY_GROUP)
        if found is not None:
            seen += 1
            assert found == (expected, None)
    for writer in writers:
        writer.join()
        assert writer.exitcode == 0
    assert terraform_cache.load(SECURITY_GROUP) == (expected, None)


def test_a_shard_keeps_its_newest_entries(own_cache: Path) -> None:
    entries = Entries("trimmed", per_shard=3)
    keys = [f"00{index:062d}" for index in range(5)]
    for key in keys:
        entries.put(key, key)
    shard = own_cache / "trimmed" / "00"
    assert len(list(shard.iterdir())) == 3
    assert entries.get(keys[-1]) == keys[-1]


def test_a_hook_judges_an_edited_sibling_anew(tmp_path: Path, own_cache: Path) -> None:
    """`encrypted = local.off` is judged through the module's locals: the file that says
    what `off` is was cached as `true`; its edit to `false` must block the next hook."""
    from tests.conftest import run_cli

    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "main.tf").write_text(
        'resource "aws_ebs_volume" "v" {\n  availability_zone = "a"\n  encrypted = local.off\n}\n'
    )
    (repo / "locals.tf").write_text("locals {\n  off = true\n}\n")
    env = {"GATEKEEPER_CACHE_DIR": str(own_cache)}
    first = run_cli("scan", "--hook", "main.tf", cwd=repo, env=env)
    assert "TF-AWS-EBS-ENCRYPTION" not in first.stdout, first.stdout + first.stderr
    assert _entry_files(own_cache)
    (repo / "locals.tf").write_text("locals {\n  off = false\n}\n")
    again = run_cli("scan", "--hook", "main.tf", cwd=repo, env=env)
    assert again.returncode == 1, again.stdout + again.stderr
    assert "locals.tf:2" in again.stdout and "TF-AWS-EBS-ENCRYPTION" in again.stdout


def test_without_the_parser_s_record_nothing_is_cached(
    own_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The installed python-hcl2 and Lark are part of the key; when their files cannot be
    named, a parse is not kept (an unknown parser version must not be trusted)."""
    monkeypatch.setattr(terraform_cache, "installed", lambda *_: None)
    terraform_cache._code_digest.cache_clear()
    try:
        terraform._parse_file(BUCKET)
        assert not _entry_files(own_cache)
        assert terraform_cache.load(BUCKET) is None
    finally:
        terraform_cache._code_digest.cache_clear()
