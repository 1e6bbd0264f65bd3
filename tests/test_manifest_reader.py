"""The C reader of manifests (gatekeeper/_manifest_reader.c) builds what yamlevents._build_all
builds: the same values, offsets, sizes and ends, the same texts sent to the composer, and
the same problems (it hands a stream the parser stops in back to _build_all). Each text is
read both ways here and any difference fails."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import pytest

from gatekeeper import yamlevents
from gatekeeper.document import Problem
from tests.test_yamlevents import TEXTS

NATIVE = yamlevents._NATIVE
# .ci/run sets it: there a reader that is not built fails these tests instead of skipping them.
REQUIRED = os.environ.get("GATEKEEPER_C_READER") == "required"
pytestmark = pytest.mark.skipif(
    NATIVE is None and not REQUIRED,
    reason="gatekeeper._manifest_reader is not built (python setup.py build_ext --inplace: "
    "needs a C compiler, Python's headers and yaml.h)",
)
ROOT = Path(__file__).resolve().parent.parent

HOSTILE = [
    "",
    "---",
    "---\n",
    "--- \n...\n",
    "---\n---\n---\n",
    "...\n",
    "# only\n---\n# comments\n",
    "a: b\n---\n\n---\nc: d\n",
    "name: caf\u00e9\nemoji: \U0001f600 x\ncjk: \u4e2d\u6587\n\u00e9: key\n",
    "a: \u00e9\u00e9\u00e9\nb:\n  - \U0001f600\n  - [x, \u4e2d]\n",  # offsets after wide characters
    "a: b\r\nc:\r\n  - d\r\n  - e\r\n",
    "a: b\rc: d\r",
    "a: b\x85c: d\x85",
    "a: b\u2028c: d\u2029e: f\n",
    "a:\n  b: [1,\u2028 2]\n",
    "\ufeffa: b\n",  # (a BOM: _from_events composes it, both readers agree all the same)
    "a:\tb\n",
    "a:\n\t- b\n",
    "\ta: b\n",
    "key: 'quoted\ttab'\n",
    "a: 1\na: 2\n",
    "a: {b: 1, b: 2}\n",
    "- {a: 1, a: 1}\n",
    "a: &x 1\nb: *x\n",
    "a: *x\n",
    "- &a [1]\n",
    "x: !!binary aGk=\n",
    "! a: b\n",
    "%TAG !e! tag:example.com,2000:\n---\na: !e!x b\n",
    "%YAML 1.1\n---\na: b\n",
    "%YAML 1.1\n%YAML 1.1\n---\na: b\n",
    "<<: {a: 1}\n",
    "a: {<<: [{b: 1}]}\n",
    "'<<': q\n",
    '"<<": q\n',
    "1: a\n",
    "null: a\n",
    "~: a\n",
    "? a\n: b\n",
    "? [a]\n: b\n",
    "? {a: b}\n: c\n",
    "[?]\n",
    "[? ]\n",
    "[? a]\n",
    "[a: b, c: d]\n",
    "{a: [b, {c: [d, {e: f}]}], g: {}}\n",
    "[[], {}, [[]], {a: {}}]\n",
    "a: [1, 2,]\n",
    "a: {b: c,}\n",
    "a: [1, 2\n",
    "a: {b\n",
    "]\n",
    "}\n",
    "a: b: c\n",
    "- a\nb: c\n",
    "a:\n  - b\n  c: d\n",
    "a: 0x_\n",  # resolves to an int its constructor refuses: composed, reported there
    "a: 0o9\n",
    "a: 1_000\nb: 0b101\nc: 0x1F\nd: 017\ne: 190:20:30\nf: .inf\ng: -.NaN\n",
    "a: 2001-12-14t21:59:43.10-05:00\nb: 2002-12-14\n",
    "y: n\nY: N\nyes: no\non: off\n",
    "a: y\nb: n\nc: yes\nd: Off\n",
    "a: ''\nb: \"\"\nc:\nd: ~\ne: null\nf: Null\n",
    "a: |\n  block\n  text\nb: >-\n  folded\n  text\n\nc: |+\n  keep\n\n",
    "a: |\n  last\n",
    "- |\n  x",
    "a:\n  b:\n    c:\n      d: e",
    "a:\n  - b\n  -",
    "- - - -\n",
    "[" * 100 + "]" * 100 + "\n",
    "[" * 101 + "]" * 101 + "\n",
    "[" * 999 + "]" * 999 + "\n",
    "[" * 1001 + "]" * 1001 + "\n",
    "[" * 5000 + "\n",
    "".join("  " * level + "a:\n" for level in range(100)) + "  " * 100 + "b\n",
    "".join("  " * level + "a:\n" for level in range(101)) + "  " * 101 + "b\n",
    "".join("  " * level + "- \n" for level in range(150)),
    "a: b\x00c\n",
    "\x00\x01\x02\x03",
    "a: \x07\n",
    "a: b\x0bc\n",
    "a: b\x0cc\n",
    "\x1c: x\n",
    "\udc80: x\n",  # a lone surrogate: no UTF-8 (both raise)
    "\u0800\uffff\ufffe: x\n",
    'a: "\\x00\\u2028\\U0001F600\\N\\_\\L\\P"\n',
    "a: 'it''s'\n",
    'a: "unterminated\n',
    "a: 'unterminated\n",
    "@a: b\n",
    "`a: b\n",
    "a: b #c\nd: e#f\n",
    "- a\n- b\n---\n- c\n...\n",
    "- a\n- b\n--- |\n  text\n",
    "--- >\n folded\n",
    "--- a\n--- b\n",
    "--- [a]\n--- {b: c}\n",
    "a: b\n...\nnot yaml: [\n",
    "a:\n" + "  - x\n" * 3000,
    "k: " + "v" * 100_000 + "\n",
    "".join(f"key{index}: value{index}\n" for index in range(2000)),
]


def _read(reader: Any, text: str) -> Any:
    """What `reader` gives for `text`, comparable: each document's value (its repr, so
    True and 1 differ), offsets, sizes, ends and number; each problem; or what it raised."""
    try:
        entries = reader("file.yaml", text)
    except yamlevents._Composed:
        return "composed"
    except Exception as error:  # both readers must raise alike
        return ("raised", type(error).__name__, str(error))
    read: list[Any] = []
    for entry in entries:
        if isinstance(entry, Problem):
            read.append(entry)
            continue
        table = entry.locator.table
        assert isinstance(table, yamlevents._Table)
        assert table.offsets.typecode == "q"
        read.append(
            (
                repr(entry.obj),
                entry.obj,
                table.offsets.tolist(),
                table.sizes,
                table.at_end,
                table._document,
                entry.duplicate_keys,
            )
        )
    return read


def _same(text: str) -> None:
    assert _read(yamlevents._built, text) == _read(yamlevents._built_in_python, text), text[:200]


@pytest.mark.parametrize("text", HOSTILE + TEXTS, ids=range(len(HOSTILE) + len(TEXTS)))
def test_hostile_texts_read_alike(text: str) -> None:
    _same(text)


def test_the_fixtures_read_alike() -> None:
    """Every YAML file of the tests, the examples and the policy library."""
    files = [
        path
        for folder in ("tests", "examples", "policies", "templates")
        for suffix in ("*.yaml", "*.yml")
        for path in sorted((ROOT / folder).rglob(suffix))
    ]
    assert len(files) > 100
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        _same(text)
        _same(text.replace("\n", "\r\n"))


def test_random_texts_read_alike() -> None:
    """Texts of YAML's indicators, breaks and odd characters, at random (seeded)."""
    pieces = [
        "a", "b", "1", "y", "~", "<<", ":", ": ", "- ", "-", "? ", "[", "]", "{", "}", ",",
        "&x ", "*x", "!t ", "'", '"', "#", "|", ">", "\n", "\r\n", "  ", "\t", "---\n",
        "...\n", "\u00e9", "\u2028", "\x85", "\U0001f600", "%YAML 1.1\n", "\\", "0x1",
    ]  # fmt: skip
    generator = random.Random(17)
    for _ in range(3000):
        _same("".join(generator.choice(pieces) for _ in range(generator.randint(0, 40))))


def test_the_c_reader_builds_what_it_can() -> None:
    """Built, composed and handed back as the Python reader would decide (the differential
    tests above would pass if it handed every text back)."""
    assert NATIVE is not None, "not built: python setup.py build_ext --inplace says why"
    plain = yamlevents._PLAIN
    built = NATIVE.read("a: [1, {b: c}]\n---\n- x\n", plain, 100)
    assert [document[0] for document in built] == [{"a": [1, {"b": "c"}]}, ["x"]]
    for composed in ("a: &x 1\n", "a: !t 1\n", "a: 1\na: 2\n", "<<: {}\n", "1: a\n", "- *x\n"):
        assert NATIVE.read(composed, plain, 100) is None, composed
    assert NATIVE.read("[" * 101 + "]" * 101, plain, 100) is None
    assert NATIVE.read("[" * 100 + "]" * 100, plain, 100)
    for stopped in ("a: [\n", "a: b\n---\n]\n", "a: \x07\n", "\udc80"):
        assert NATIVE.read(stopped, plain, 100) is False, stopped


def test_version_says_which_reader_runs() -> None:
    assert yamlevents.reader().startswith("C (gatekeeper._manifest_reader, PyYAML's libyaml 0.")
