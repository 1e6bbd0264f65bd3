"""A text without `&` holds no anchor, so no alias: its documents are built without the
table of built nodes. What they build must be what the full builder builds."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from gatekeeper import yamldoc
from gatekeeper.yamldoc import MAX_DEPTH, YamlDocument, load_all

TEXTS = [
    "a: 1\nb: [x, 'y', 2.5, null, true, y, n]\nc: {d: {e: f}}\n",
    "kind: Pod\nspec:\n  containers:\n  - name: a\n    image: b\n  - name: c\n",
    "a: 1\na: 2\nb: {c: 1, c: 2}\n",  # duplicates, nested
    "<<: {a: 1, b: 2}\nb: 3\n",  # a merge key without anchors
    "? [a, b]\n: 1\n",  # a complex key
    "? {a: b}\n: 1\n",  # an unhashable one
    "a: !!int x\n",  # a bad value
    "x: 2001-12-14t21:59:43.10-05:00\ny: 0o17\nz: 1_000\n",
    "---\na: 1\n---\n- [1, [2, [3]]]\n...\n",
    "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n",
]


def _view(entries: list[Any]) -> list[Any]:
    return [
        (entry.obj, [(p, n.start_mark.line) for p, n in entry.duplicate_keys])
        if isinstance(entry, YamlDocument)
        else entry
        for entry in entries
    ]


@pytest.mark.parametrize("text", TEXTS)
def test_unshared_builds_what_the_full_builder_builds(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "&" not in text
    unshared = _view(list(load_all("f.yaml", text)))
    full_build = yamldoc._build
    monkeypatch.setattr(yamldoc, "_build", lambda node, anchors=True: full_build(node, True))
    assert unshared == _view(list(load_all("f.yaml", text)))


def test_anchored_text_keeps_its_aliases_shared() -> None:
    [entry] = load_all("f.yaml", "a: &x {b: 1}\nc: *x\n")
    assert isinstance(entry, YamlDocument)
    assert entry.obj["a"] is entry.obj["c"]


def test_recursive_alias_still_refused() -> None:
    [problem] = load_all("f.yaml", "a: &x [*x]\n")
    assert not isinstance(problem, YamlDocument)
    assert problem.code == "GK-YAML-BOMB" and "recursive alias" in problem.message


def test_no_anchor_means_no_shared_node() -> None:
    node = yaml.compose("a: [1, {b: [2]}]\nc: {d: e}\n", Loader=yamldoc._LOADER)
    document = yamldoc._build(node, anchors=False)
    assert document.obj == {"a": [1, {"b": [2]}], "c": {"d": "e"}}
