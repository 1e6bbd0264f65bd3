"""What the cheap per-finding paths (issue 17) must keep: a finding is made, copied and
compared as the dataclass it was; the verdict works out a place's threshold and advisory rule
once, for every finding there alike; the JSON report reads as the json module writes it,
whatever a field holds; unrunnable is its line-by-line definition."""

from __future__ import annotations

import dataclasses
import inspect
import json
import random
from typing import Any

import pytest

from gatekeeper.config import Config, Override
from gatekeeper.decide import Verdict
from gatekeeper.finding import FIELD_NAMES, Finding, by_place, compacted
from gatekeeper.pipeline import verdict
from gatekeeper.report import Report, json_format
from gatekeeper.report.safe import json_char, text_char, unrunnable


def test_the_constructor_takes_every_field_in_order() -> None:
    """Finding.__new__ spells the fields again (typed keywords): the two lists must agree."""
    parameters = list(inspect.signature(Finding.__new__).parameters)[1:]
    assert tuple(parameters) == FIELD_NAMES
    made = Finding("P", "high", "t", "m", "f.yaml", 3)
    assert (made.column, made.status, made.blocking, made.extra, made.fix) == (
        1,
        "new",
        False,
        {},
        None,
    )


def test_a_finding_is_read_only_and_copies_by_field() -> None:
    finding = Finding("P", "high", "t", "m", "f.yaml", 3, extra={"exact": True})
    with pytest.raises(dataclasses.FrozenInstanceError):
        finding.line = 4  # type: ignore[misc]
    with pytest.raises(TypeError):
        finding.with_(no_such_field=1)
    copy = finding.with_(blocking=True, message="n")
    assert (copy.blocking, copy.message, copy.line, copy.extra) == (True, "n", 3, finding.extra)
    assert (finding.blocking, finding.message) == (False, "m")
    assert by_place(finding) == finding.sort_key == ("f.yaml", 3, 1, "P")
    assert compacted(tuple(finding)) == finding


def test_values_a_finding_should_not_hold_are_written_as_the_json_module_would() -> None:
    """The report's template is for strings and numbers; anything else takes the slow road."""

    class Label(str):
        pass

    odd: list[dict[str, Any]] = [
        {"namespace": None},  # type: ignore[dict-item]
        {"name": 7},
        {"line": True},
        {"column": 2.5},
        {"kind": Label("Pod")},
        {"title": ["a", "b"]},  # unhashable where a text belongs
        {"fingerprint": None},
        {"blocking": 1},
        {"blocking": 0},  # not `false`: 0 is written as 0
        {"status": {"x": 1}},
    ]
    findings = [
        Finding("P-1", "high", "t", "m", "f.yaml", 1, fingerprint=f"f{n}").with_(**change)
        for n, change in enumerate(odd)
    ]
    texts = json_format._Texts()
    for finding in findings:
        expected = json.dumps(finding.to_dict(), indent=2).replace("\n", "\n    ")
        assert json_format._finding_text(finding, texts) == expected
        assert json_format._finding_text(finding, texts) == expected  # from what it kept


def test_a_report_of_many_findings_is_one_dump(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(json_format, "_BATCH", 3)
    findings = [
        Finding("P-1", "high", "t", f"m {n % 4}", f"d/{n % 3}.yaml", n, fingerprint=f"f{n}")
        for n in range(10)
    ]
    report = Report(Verdict(findings, "high"), files_scanned=3, documents=10)
    text = json_format.render(report)
    assert len(list(json_format.stream(report))) == 4 + 2
    assert json.loads(text)["findings"] == [finding.to_dict() for finding in findings]


def _line_by_line(text: str, escape_char: Any) -> str:
    """unrunnable as it was first written: every line looked at."""
    if "##[" in text:
        text = text.replace("##[", "#" + escape_char("#") + "[")
    lines = text.split("\n")
    for index, line in enumerate(lines):
        stripped = line.lstrip()
        if stripped.startswith("::"):
            lines[index] = line[: len(line) - len(stripped)] + escape_char(":") + stripped[1:]
    return "\n".join(lines)


def test_unrunnable_is_its_line_by_line_definition() -> None:
    """Whitespace str.lstrip strips but a line break does not end (\\x1c, \\x85, \\u2028),
    colons in runs, a command after a line break or at the very start."""
    pieces = [":", ":", "::", "\n", " ", "\t", "\r", "\x0b", "\x1c", "\x85", "\u2028", "\u3000"]
    pieces += ["a", "#", "##[", "[", "\xa0"]
    generator = random.Random(17)
    for _ in range(20000):
        text = "".join(generator.choice(pieces) for _ in range(generator.randint(0, 12)))
        for escape in (json_char, text_char):
            assert unrunnable(text, escape) == _line_by_line(text, escape), repr(text)


def _blocking(findings: list[Finding], config: Config) -> dict[str, tuple[bool, bool]]:
    """Each finding's (blocking, advisory) by message, as the verdict marks them."""
    judged = verdict(findings, config, "high").findings
    return {f.message: (f.blocking, bool(f.extra.get("advisory"))) for f in judged}


def test_a_place_is_its_file_and_what_renders_it() -> None:
    """One file's findings differ by what deploys them: a fixture deployed by an overlay
    outside the advisory paths blocks there and nowhere else, and a directory's relaxed
    threshold holds only where no stricter place deploys the file."""
    config = Config(overrides=[Override("relaxed/**", severity_threshold="critical")])

    def at(file: str, message: str, variants: list[str] | None = None) -> Finding:
        extra = {"variants": variants} if variants is not None else {}
        return Finding("P-1", "high", "t", message, file, 1, extra=extra)

    findings = [
        at("app/tests/pod.yaml", "fixture"),
        at("app/tests/pod.yaml", "fixture deployed", ["kustomize deploy/prod"]),
        at("app/tests/pod.yaml", "fixture in a test overlay", ["kustomize app/tests/o"]),
        at("app/tests/pod.yaml", "fixture again"),
        at("relaxed/pod.yaml", "relaxed"),
        at("relaxed/pod.yaml", "relaxed but deployed", ["kustomize deploy/prod"]),
        at("relaxed/pod.yaml", "relaxed, deployed from relaxed", ["kustomize relaxed/o"]),
        at("app/pod.yaml", "plain"),
    ]
    assert _blocking(findings, config) == {
        "fixture": (False, True),
        "fixture deployed": (True, False),
        "fixture in a test overlay": (False, True),
        "fixture again": (False, True),
        "relaxed": (False, False),
        "relaxed but deployed": (True, False),
        "relaxed, deployed from relaxed": (False, False),
        "plain": (True, False),
    }


def _walked(obj: Any, path: tuple[str | int, ...]) -> str:
    """stable_path as it was first written: the whole path walked every time."""
    from gatekeeper.fieldpath import format_path

    out: list[str] = []
    node = obj
    for key in path:
        if isinstance(key, int):
            node = node[key] if isinstance(node, list) and -len(node) <= key < len(node) else None
            name = node.get("name") if isinstance(node, dict) else None
            out.append(f"[name={name}]" if isinstance(name, str) else format_path((key,)))
        else:
            node = node.get(key) if isinstance(node, dict) else None
            out.append(format_path((key,)) if out else str(key))
    return "".join(out)


def test_stable_path_names_what_has_a_name() -> None:
    """Every kind of step (a named item, an unnamed one, out of range, a key that is not
    there, a key on a list), in two documents alike in shape but for their names."""
    from gatekeeper.evaluate import stable_path

    def pod(name: str) -> dict[str, Any]:
        containers = [{"name": name, "env": [{"name": "A"}, {"value": 1}]}, {"image": "x"}]
        return {"spec": {"containers": containers, "a.b": {"": [{"name": 3}]}}}

    first, second = pod("web"), pod("db")
    paths: list[tuple[str | int, ...]] = [
        (),
        ("spec",),
        ("spec", "containers", 0, "env", 0, "name"),
        ("spec", "containers", 0, "env", 1),
        ("spec", "containers", 0, "env", -1),
        ("spec", "containers", 1, "image"),
        ("spec", "containers", 5, "image"),
        ("spec", "containers", "0"),
        ("spec", "a.b", "", 0),
        ("spec", "a.b", "", 0, "name"),
        ("metadata", "name"),
        (0, "spec"),
    ]
    for obj in (first, second, first, second):
        for path in paths + paths[::-1]:
            assert stable_path(obj, path) == _walked(obj, path), (obj, path)
    assert "[name=web]" in stable_path(first, paths[2])
    assert "[name=db]" in stable_path(second, paths[2])


def test_waivers_and_skips_are_looked_up_by_policy_and_by_file() -> None:
    """The first matching waiver of the file's order decides, whatever other policies' waivers
    lie between; an expired one only marks; an annotation covers its own file's lines."""
    import datetime

    from gatekeeper.waivers import Skip, Waiver, apply, apply_skips

    today = datetime.date(2030, 1, 10)
    later, before = datetime.date(2030, 2, 1), datetime.date(2030, 1, 1)

    def waiver(policy: str, owner: str, expires: datetime.date, **match: str) -> Waiver:
        return Waiver(policy, owner, "r", "", expires, **match)

    waivers = [
        waiver("P-2", "other policy", later),
        waiver("P-1", "expired", before, name="a"),
        waiver("P-2", "other again", later, name="a"),
        waiver("P-1", "first", later, file_glob="x/**"),
        waiver("P-1", "second", later),
    ]

    def at(file: str, name: str, policy: str = "P-1", line: int = 5) -> Finding:
        return Finding(policy, "high", "t", f"{policy} {file} {name} {line}", file, line, name=name)

    judged = apply([at("x/a.yaml", "a"), at("y/a.yaml", "a"), at("y/b.yaml", "b")], waivers, today)
    owners = {f.message: (f.status, (f.waiver or {}).get("owner")) for f in judged[:3]}
    assert owners == {
        "P-1 x/a.yaml a 5": ("waived", "first"),
        "P-1 y/a.yaml a 5": ("waived", "second"),
        "P-1 y/b.yaml b 5": ("waived", "second"),
    }
    assert all("waiver_expired" not in f.extra for f in judged[:3])
    assert apply([at("y/c.yaml", "a")], waivers[1:2], today)[0].extra["waiver_expired"]["owner"]
    skips = [
        Skip(("P-1",), "fixture", "a.yaml", 1, 1, 10),
        Skip(("P-2",), "", "b.yaml", 1, 1, 10),  # no reason: covers nothing
        Skip(("P-1", "P-2"), "sample", "b.yaml", 20, 20, 30),
    ]
    findings = [
        at("a.yaml", "n"),
        at("a.yaml", "n", line=11),
        at("b.yaml", "n"),
        at("b.yaml", "n", "P-2"),
        at("b.yaml", "n", "P-2", 25),
        at("c.yaml", "n"),
    ]
    statuses = [f.status for f in apply_skips(findings, skips, forbid=False)[1:]]
    assert statuses == ["waived", "new", "new", "new", "waived", "new"]


def test_dumps_is_the_json_modules_indented_text() -> None:
    """What the SARIF report is written with: any nesting, a shared dict at a finding's depth
    included (the JSON report writes those from its cache)."""
    from gatekeeper.finding import shared

    fix = shared({"subject": "spec", "set": {"a": [1, None, 2.5]}})
    value = {
        "runs": [{"results": [{"fix": fix, "odd": {1: "k", "x": float("inf")}}, [], {}]}],
        "text": 'é\u2028"\\::##[',
        "flags": [True, False, None, -3, 2**70, ("t", [])],
    }
    assert json_format.dumps(value) == json.dumps(value, indent=2)
    assert json_format.dumps(fix) == json.dumps(fix, indent=2)
