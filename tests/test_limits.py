"""Bounds that keep a hostile change from making a scan slow or large: each checked by what it
guarantees (how much is built, what is found), never by the clock."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gatekeeper import evaluate
from gatekeeper.evaluate import Engine
from gatekeeper.policy.loader import load_bundle
from gatekeeper.sources import LoadContext, dockerfile, terraform
from gatekeeper.tree import MAX_LINKED_VISITS, MemoryTree, OutsideLink, resolve_link, walk_files
from tests.conftest import REPO


def test_one_literal_name_links_a_bounded_number_of_resources() -> None:
    """20,000 resources sharing one bucket name made 400 million links (minutes); now each
    resource keeps a few of each other type: enough for `referencedBy.exists(type == X)`."""
    types = ["aws_s3_bucket", "aws_s3_bucket_logging", "aws_s3_bucket_public_access_block"]
    text = "".join(
        f'resource "{types[i % 3]}" "r{i}" {{\n  bucket = "same"\n}}\n' for i in range(3000)
    )
    loaded = terraform.load("main.tf", text.encode(), LoadContext(tree=MemoryTree({})))
    assert len(loaded.documents) == 3000
    bucket = loaded.documents[0].extra["context"]
    referrers = [r["type"] for r in bucket["referencedBy"]]
    assert sorted(set(referrers)) == types[1:]
    assert len(referrers) == 2 * terraform.MAX_SAME_NAME_PER_TYPE
    for document in loaded.documents:
        assert len(document.extra["context"]["referencedBy"]) <= 2 * 8


def test_a_rule_over_more_subjects_than_one_batch_finds_the_same_as_one_by_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A rule is mapped over at most MAX_BATCH_SUBJECTS subjects at once (CEL's map copies
    its list at each step); slicing must not move or lose a finding."""
    policies = [
        p for p in load_bundle([REPO / "policies" / "dockerfile"]) if p.id == "DOCKER-NO-SUDO"
    ]
    commands = [f"echo {i}" if i % 700 != 699 else f"sudo echo {i}" for i in range(1500)]
    text = "FROM alpine:3.20\nRUN " + " && \\\n  ".join(commands) + "\n"
    document = dockerfile.load("Dockerfile", text.encode()).documents[0]
    sliced = Engine(policies).evaluate(document)
    assert [f.line for f in sliced] == [2 + 699, 2 + 1399]
    monkeypatch.setattr(evaluate, "MAX_BATCH_SUBJECTS", 10**9)
    whole = Engine(policies).evaluate(document)
    assert [(f.line, f.message) for f in sliced] == [(f.line, f.message) for f in whole]


def test_links_that_fan_out_walk_each_directory_a_bounded_number_of_times(tmp_path: Path) -> None:
    """d1 links twice to d2, d2 twice to d3 ...: 2^20 paths, walked at most a few times each."""
    for level in range(1, 21):
        (tmp_path / f"d{level}").mkdir()
    for level in range(1, 20):
        for name in ("a", "b"):
            os.symlink(f"../d{level + 1}", tmp_path / f"d{level}" / name)
    (tmp_path / "d20" / "pod.yaml").write_text("kind: Pod\n")
    found = list(walk_files(tmp_path, tmp_path))
    assert 1 <= len(found) <= MAX_LINKED_VISITS
    assert all(path.name == "pod.yaml" for path in found)


def test_links_in_a_revision_resolve_like_the_file_system() -> None:
    links = {"a/x.yaml": "../b/y.yaml", "b/y.yaml": "z.yaml", "loop": "loop", "up": "../.."}
    links["dir"] = "a"
    assert resolve_link("a/x.yaml", links) == "b/z.yaml"
    assert resolve_link("dir/x.yaml", links) == "b/z.yaml"
    with pytest.raises(OutsideLink):
        resolve_link("up", links)
    with pytest.raises(OutsideLink):
        resolve_link("abs", {"abs": "/etc/passwd"})
    with pytest.raises(OSError, match="loop"):
        resolve_link("loop", links)
