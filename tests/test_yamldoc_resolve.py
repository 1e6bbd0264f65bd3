"""The memoised tag resolver gives PyYAML's own answers and keeps only short plain scalars."""

from __future__ import annotations

import pytest
import yaml

from gatekeeper import yamldoc

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
