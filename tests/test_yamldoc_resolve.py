"""The memoised tag resolver gives PyYAML's own answers and keeps only short plain scalars."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from yaml.nodes import Node, ScalarNode, SequenceNode

from gatekeeper import yamldoc
from gatekeeper.fieldpath import Path

_TEXT = """\
plain: [1, x, null, ~, "", '', 1.5, .inf, -.NaN, 0x1f, 0o17, 012, 1_000, +1, yes, No, on]
quoted: ["1", 'true', "null", '~']
dates: [2020-01-01, 2001-12-14t21:59:43.10-05:00]
block: |
  true
folded: >
  123
explicit: [!!str 2, !!int "7", !!float "1", !!bool "true"]
merge: <<
anchored: &a {k: 1}
alias: *a
"""


def _timestamps_as_text(value: object) -> object:
    """PyYAML builds datetimes; gatekeeper keeps them as text, as Kubernetes does."""
    if isinstance(value, dict):
        return {key: _timestamps_as_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_timestamps_as_text(item) for item in value]
    if hasattr(value, "isoformat"):
        return "timestamp"
    return value


def test_values_are_what_pyyaml_resolves() -> None:
    (document,) = yamldoc.load_all("x.yaml", _TEXT)
    assert isinstance(document, yamldoc.YamlDocument)
    ours = document.obj
    theirs = yaml.load(_TEXT.replace("merge: <<", "merge: '<<'"), Loader=yaml.SafeLoader)
    ours["dates"] = ["timestamp" for _ in ours["dates"]]
    ours["plain"][8] = theirs["plain"][8] = "nan"  # nan is not equal to itself
    assert ours == _timestamps_as_text(theirs)
    assert ours["quoted"] == ["1", "true", "null", "~"]
    assert ours["block"] == "true\n" and ours["folded"] == "123\n"


def test_the_memo_keeps_short_plain_scalars_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamldoc, "_RESOLVED", {})  # a fresh memo (others' tests filled it)
    long_word = "w" * (yamldoc._RESOLVED_LENGTH + 1)
    text = f"a: {long_word}\nb: 'quoted-{long_word}'\nc: short-word\n"
    (document,) = yamldoc.load_all("x.yaml", text)
    assert isinstance(document, yamldoc.YamlDocument)
    assert document.obj == {"a": long_word, "b": f"quoted-{long_word}", "c": "short-word"}
    assert long_word not in yamldoc._RESOLVED
    assert f"quoted-{long_word}" not in yamldoc._RESOLVED
    assert yamldoc._RESOLVED.get("short-word") == yaml.SafeLoader.DEFAULT_SCALAR_TAG


class _Reference(yamldoc._Builder):
    """The builder as first written: every node, scalars too, through one recursive call."""

    def build(self, node: Node, path: Path) -> Any:
        if isinstance(node, ScalarNode):
            return yamldoc._scalar(node)
        known = self.built.get(id(node))
        if known is not None:
            if id(node) in self.open_nodes:
                raise yamldoc.YamlBombError(
                    node, 0, "recursive alias (a collection that contains itself)"
                )
            self.has_alias = True
            return known
        self.open_nodes.add(id(node))
        self.depth += 1
        if self.depth > yamldoc.MAX_DEPTH:
            raise yamldoc.TooDeepError(node)
        if isinstance(node, SequenceNode):
            items: list[Any] = []
            self.built[id(node)] = items
            items.extend(self.build(item, (*path, i)) for i, item in enumerate(node.value))
            self.open_nodes.discard(id(node))
            self.depth -= 1
            return items
        mapping: dict[Any, Any] = {}
        self.built[id(node)] = mapping
        merges = []
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                merges.append(value_node)
                continue
            key = self.build(key_node, path)
            if isinstance(key, (list, dict)):
                raise ValueError(f"unhashable mapping key at line {key_node.start_mark.line + 1}")
            if key in mapping and isinstance(key_node, ScalarNode):
                self.duplicates.append(((*path, str(key)), key_node))
            mapping[key] = self.build(value_node, (*path, str(key)))
        for merge in merges:
            for source in merge.value if isinstance(merge, SequenceNode) else [merge]:
                value = self.build(source, path)
                if not isinstance(value, dict):
                    raise ValueError(
                        f"merge key needs a mapping at line {source.start_mark.line + 1}"
                    )
                for key, item in value.items():
                    mapping.setdefault(key, item)
        self.open_nodes.discard(id(node))
        self.depth -= 1
        return mapping


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\nb: [x, 2, 2.5, true, null, ~, '3', \"4\"]\nc: |\n  block\n",
        "base: &b {x: 1, y: [1, 2]}\nuse: {<<: *b, y: 3}\nboth: {<<: [*b, {z: 4}]}\nsame: *b\n",
        "a: 1\na: 2\nm: {k: 1, k: 2, 1: one, '1': str}\nl: [{d: 1, d: 2}]\n",
        "? [complex, key]\n: v\n",
        "? {m: 1}\n: v\n",
        "s: !!str [a, b]\nt: !!str {a: 1}\nu: !custom 5\nv: !!binary aGk=\nw: 2001-12-14\n",
        "i: !!int '12'\nf: !!float '1e3'\nb: !!bool 'yes'\nn: !!null ''\nx: !!str 12\n",
        "bad: !!int nope\n",
        "keys: {1: a, true: b, null: c, 1.5: d, 0x1F: e, 2001-12-14: f}\n",
        "- - - deep\n  - [1, [2, [3]]]\n- {a: {b: {c: {d: e}}}}\n",
        "a: &a [1, *a]\n",
        "é: ü\n中: 文\n",
        # Duplicates in the order they are met, nested ones between the outer ones.
        "a: {x: 1, x: 2}\nb: 1\na: {y: [{z: 1, z: 2}], y: 2}\nb: 2\n",
        "m: {a: 1, b: 2, 3: c, b: 4, d: {e: 1, e: 2}}\n",
        "base: &b {x: 1}\nm: {x: 0, <<: *b, x: 2, y: {q: 1, q: 2}}\n",
        "? !!str {a: 1}\n: v\n",
        "a: 1\n? !!str [b]\n: 2\n",
    ],
)
def test_builder_gives_what_building_every_node_by_one_call_gives(text: str) -> None:
    """Scalars taken inline by the builder: the same objects, duplicates and errors as the
    builder that built every node with one call."""
    loader = yaml.CSafeLoader(text)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    results = []
    for builder, at_root in ((yamldoc._Builder(), None), (_Reference(), ())):
        try:
            built: Any = builder.build(node, at_root)
            where = [(path, key.start_mark.line) for path, key in builder.duplicates]
            results.append((repr(built), where))
        except (ValueError, TypeError) as error:
            results.append((type(error).__name__, str(error)))
    assert results[0] == results[1]
