"""Every report format: accepted by the tools that read it, not injectable from scanned files."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
from lxml import etree

from gatekeeper.decide import Verdict
from gatekeeper.finding import SEVERITIES, Finding
from gatekeeper.report import FORMATS, Report, renderer
from gatekeeper.report.safe import visible
from tests.conftest import PRIVILEGED_POLICY, REPO, Run

Gatekeeper = Callable[..., Run]
Write = Callable[[str, "str | bytes"], Path]

SARIF_SCHEMA = json.loads((REPO / "tests/data/sarif-2.1.0.json").read_text())
JUNIT_SCHEMA = etree.XMLSchema(etree.parse(str(REPO / "tests/data/junit-strict.xsd")))

# What a pull request author controls: object and container names (YAML double-quoted escapes).
HOSTILE_POD = r"""apiVersion: v1
kind: Pod
metadata:
  name: "p\n::add-mask::leak\r::error file=x::forged ##[stop-commands]tok \e[31mred \u202eevil"
  namespace: "ns\L::warning::sep\x00nul\uFFFE"
spec:
  containers:
    - name: "app\r\n  ::error::indented [link](https://evil.example) ##[add-mask]x"
      image: ghcr.io/acme/app:1.0
      securityContext:
        privileged: true
"""
# ... and file names: a line break and a workflow command in a path.
HOSTILE_FILE = "deploy/a\n::error::b, c%.yaml"


# --- the GitHub Actions runner, as it reads a step's stdout (actions/runner ActionCommand) ---
RUNNER_COMMANDS = {"error", "warning", "notice", "debug", "add-mask", "stop-commands", "group",
                   "endgroup", "set-output", "save-state", "add-path", "set-env", "echo",
                   "add-matcher", "remove-matcher"}  # fmt: skip


def runner_command(line: str) -> tuple[str, str] | None:
    """(command, data) if the runner would run `line` as a workflow command, else None."""
    stripped = line.lstrip()
    if stripped.startswith("::"):
        end = stripped.find("::", 2)
        if end >= 0:
            name = stripped[2:end].split(" ", 1)[0]
            if name in RUNNER_COMMANDS:
                return name, stripped[end + 2 :]
    start = line.find("##[")  # the legacy form counts anywhere in a line
    if start >= 0:
        close = line.find("]", start)
        if close >= 0:
            name = line[start + 3 : close].split(" ", 1)[0]
            if name in RUNNER_COMMANDS:
                return name, line[close + 1 :]
    return None


def runner_lines(stdout: str) -> list[str]:
    """The lines the runner reads: .NET ReadLine breaks at CR, LF and CRLF."""
    return re.split(r"\r\n|\r|\n", stdout)


def test_runner_model_sees_the_attacks_it_must_see() -> None:
    """The model of the runner is not vacuous: raw hostile text would run commands."""
    assert runner_command("\u3000 ::add-mask::x") == ("add-mask", "x")
    assert runner_command("msg ##[stop-commands]tok") == ("stop-commands", "tok")
    assert runner_command("deploy/a.yaml:1:1: msg") is None
    raw = json.loads(json.dumps(HOSTILE_POD))  # the names as the YAML parser returns them
    assert any(runner_command(line) for line in runner_lines(raw.replace("\\n", "\n")))


@pytest.fixture
def hostile(write: Write, tmp_path: Path) -> Path:
    write("policies/no-privileged.yaml", PRIVILEGED_POLICY)
    write(HOSTILE_FILE, HOSTILE_POD)
    write("deploy/plain.yaml", HOSTILE_POD)
    return tmp_path


def scan(gatekeeper: Gatekeeper, root: Path, *args: str) -> Run:
    run = gatekeeper(
        "scan", "--no-builtin", "--policies", "policies", "deploy", "--color", "always",
        *args, cwd=root,
    )  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    return run


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f != "github"])
def test_hostile_names_run_no_workflow_command_in_any_format(
    gatekeeper: Gatekeeper, hostile: Path, fmt: str
) -> None:
    run = scan(gatekeeper, hostile, "--format", fmt)
    commands = [c for line in runner_lines(run.stdout) if (c := runner_command(line))]
    assert commands == []
    assert "\x1b[31mred" not in run.stdout and "\u202e" not in run.stdout
    assert "\x00" not in run.stdout and "\u2028" not in run.stdout


def test_hostile_names_in_text_are_shown_escaped_on_one_line(
    gatekeeper: Gatekeeper, hostile: Path
) -> None:
    out = scan(gatekeeper, hostile, "--color", "never").stdout
    (line,) = [line for line in out.splitlines() if line.startswith("deploy/a")]
    assert line.startswith("deploy/a\\n::error::b, c%.yaml:11:9: HIGH TEST-NO-PRIVILEGED")
    assert "\\r\\n  ::error::indented" in line and "#\\x23[add-mask]" in line


def test_hostile_names_survive_json_exactly(gatekeeper: Gatekeeper, hostile: Path) -> None:
    findings = json.loads(scan(gatekeeper, hostile, "--format", "json").stdout)["findings"]
    names = {(f["file"], f["name"], f["namespace"]) for f in findings}
    pod = "p\n::add-mask::leak\r::error file=x::forged ##[stop-commands]tok \x1b[31mred \u202eevil"
    assert names == {
        (HOSTILE_FILE, pod, "ns\u2028::warning::sep\x00nul\ufffe"),
        ("deploy/plain.yaml", pod, "ns\u2028::warning::sep\x00nul\ufffe"),
    }


def test_hostile_names_keep_sarif_valid_and_links_literal(
    gatekeeper: Gatekeeper, hostile: Path
) -> None:
    sarif = json.loads(scan(gatekeeper, hostile, "--format", "sarif").stdout)
    jsonschema.validate(sarif, SARIF_SCHEMA)
    check_github_sarif(sarif)
    messages = {r["message"]["text"] for r in sarif["runs"][0]["results"]}
    assert all("\\[link\\](https://evil.example)" in text for text in messages)
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in sarif["runs"][0]["results"]
    }
    assert uris == {"deploy/a%0A%3A%3Aerror%3A%3Ab%2C%20c%25.yaml", "deploy/plain.yaml"}


def test_hostile_names_keep_junit_well_formed_and_schema_valid(
    gatekeeper: Gatekeeper, hostile: Path
) -> None:
    xml = scan(gatekeeper, hostile, "--format", "junit").stdout
    document = etree.fromstring(xml.encode())  # strict: refuses what XML 1.0 forbids
    JUNIT_SCHEMA.assertValid(document)
    failure = document.find("testsuite/testcase/failure")
    assert failure is not None and "\\x00nul\\ufffe" not in (failure.get("message") or "")
    names = [case.get("name") for case in document.iter("testcase")]
    assert all("\\x00nul\\ufffe" in (name or "") for name in names)


def test_github_format_annotates_with_escaped_properties_and_forges_nothing(
    gatekeeper: Gatekeeper, hostile: Path
) -> None:
    out = scan(gatekeeper, hostile, "--format", "github").stdout
    lines = runner_lines(out.rstrip("\n"))
    commands = [runner_command(line) for line in lines]
    assert all(commands), lines  # every line is one command of ours, nothing else
    assert [name for name, _ in commands] == ["error", "error", "notice"]  # type: ignore[misc]
    assert lines[0].startswith(
        "::error file=deploy/a%0A%3A%3Aerror%3A%3Ab%2C c%25.yaml,line=11,endLine=11,"
        "title=TEST-NO-PRIVILEGED (high)::app%0D%0A  ::error::indented"
    )
    assert lines[-1].startswith("::notice title=gatekeeper::FAIL: 2 findings (2 high)")


def test_github_format_is_a_scan_format(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    write("policies/no-privileged.yaml", PRIVILEGED_POLICY)
    write("deploy/ok.yaml", HOSTILE_POD.replace("true", "false"))
    run = gatekeeper("scan", "--no-builtin", "-p", "policies", "-f", "github", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("::notice title=gatekeeper::PASS: 0 findings")


# --- SARIF as GitHub code scanning reads it ---


def check_github_sarif(sarif: dict[str, object]) -> None:
    """GitHub's documented SARIF requirements for code scanning uploads."""
    runs = sarif["runs"]
    assert isinstance(runs, list) and 1 <= len(runs) <= 20
    for run in runs:
        rules = run["tool"]["driver"]["rules"]
        assert len(rules) <= 25000
        ids = [rule["id"] for rule in rules]
        assert len(ids) == len(set(ids))
        for rule in rules:
            assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
            assert rule["help"]["text"]
            assert len(rule["properties"]["tags"]) <= 10
            assert 0.0 <= float(rule["properties"]["security-severity"]) <= 10.0
        results = run["results"]
        assert len(results) <= 5000  # what code scanning shows of a run
        for result in results:
            assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
            assert result["message"]["text"]
            assert result["level"] in ("error", "warning", "note")
            assert result["partialFingerprints"]
            assert 1 <= len(result["locations"]) <= 10
            for location in result["locations"] + result.get("relatedLocations", []):
                artifact = location["physicalLocation"]["artifactLocation"]
                assert artifact["uriBaseId"] == "%SRCROOT%"
                uri = artifact["uri"]
                assert not uri.startswith(("/", "file:", "./")) and ":" not in uri
                assert location["physicalLocation"]["region"]["startLine"] >= 1
            assert result.get("baselineState") != "absent"


def finding(severity: str, index: int, **changes: object) -> Finding:
    return Finding(
        policy_id=f"P-{severity.upper()}",
        severity=severity,
        title=f"{severity} rule",
        message=f"finding {index}",
        file=f"deploy/f{index % 97}.yaml",
        line=index % 50 + 1,
        fingerprint=f"{severity}{index}",
    ).with_(**changes)


def test_sarif_floor_order_and_cap_are_stated_in_the_run() -> None:
    findings = [
        finding(severity, index)
        for index in range(1300)
        for severity in SEVERITIES  # 6,500 findings, 1,300 of each severity
    ]
    findings.append(finding("info", 9999, blocking=True))  # blocks: a result despite the floor
    findings.append(finding("critical", 9998, status="fixed"))
    report = Report(verdict=Verdict(findings, "medium"), sarif_min_severity="low")
    sarif = json.loads(renderer("sarif").render(report))
    jsonschema.validate(sarif, SARIF_SCHEMA)
    check_github_sarif(sarif)
    run = sarif["runs"][0]
    results = run["results"]
    assert len(results) == 5000
    severities = [r["properties"]["severity"] for r in results]
    assert severities == sorted(severities, key=SEVERITIES.index)  # most severe first
    assert severities.count("critical") == 1300 and severities.count("high") == 1300
    assert "info" not in severities
    assert "finding 9998" not in {r["message"]["text"] for r in results}  # fixed
    assert run["properties"]["omittedBelowMinSeverity"] == 1300
    # 1,300 x critical, high, medium, low = 5,200 over the floor: 200 past the cap. The blocking
    # info finding is kept over the floor but sorts last, past the cap.
    assert run["properties"]["omittedOverResultLimit"] == 201
    notes = [n["message"]["text"] for n in run["invocations"][0]["toolExecutionNotifications"]]
    assert any("1300 non-blocking finding(s) below severity low" in n for n in notes)
    assert any("201 further finding(s)" in n for n in notes)


def test_sarif_blocking_finding_below_the_floor_is_a_result() -> None:
    findings = [finding("info", 1, blocking=True), finding("info", 2)]
    report = Report(verdict=Verdict(findings, "info"), sarif_min_severity="high")
    results = json.loads(renderer("sarif").render(report))["runs"][0]["results"]
    assert [r["message"]["text"] for r in results] == ["finding 1"]


def test_sarif_min_severity_option(gatekeeper: Gatekeeper, hostile: Path) -> None:
    run = gatekeeper(
        "scan", "--no-builtin", "-p", "policies", "deploy", "-f", "sarif",
        "--sarif-min-severity", "critical", "-t", "critical", cwd=hostile,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr  # the high findings block nothing at critical
    sarif = json.loads(run.stdout)
    assert sarif["runs"][0]["results"] == []
    assert sarif["runs"][0]["properties"]["omittedBelowMinSeverity"] == 2


def test_sarif_points_a_helm_finding_at_its_values_line(gatekeeper: Gatekeeper) -> None:
    # --root: the example stands for a repository of its own (it sits inside ours)
    demo = REPO / "examples/demo-repo"
    run = gatekeeper("scan", "charts", "--root", ".", "-f", "sarif", cwd=demo)
    sarif = json.loads(run.stdout)
    jsonschema.validate(sarif, SARIF_SCHEMA)
    check_github_sarif(sarif)
    (result,) = [
        r for r in sarif["runs"][0]["results"] if r["ruleId"] == "K8S-PSS-PRIVILEGE-ESCALATION"
    ]
    (related,) = result["relatedLocations"]
    assert related["physicalLocation"]["artifactLocation"]["uri"] == "charts/shop/values.yaml"
    assert related["physicalLocation"]["region"]["startLine"] == 8
    assert f"]({related['id']})" in result["message"]["text"]  # an embedded link to it


def test_demo_repository_sarif_meets_github_requirements(gatekeeper: Gatekeeper) -> None:
    run = gatekeeper("scan", "--root", ".", "-f", "sarif", cwd=REPO / "examples/demo-repo")
    sarif = json.loads(run.stdout)
    jsonschema.validate(sarif, SARIF_SCHEMA)
    check_github_sarif(sarif)
    assert len(sarif["runs"][0]["results"]) > 20


# --- JUnit ---


def test_junit_names_do_not_change_when_lines_move(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    write("policies/no-privileged.yaml", PRIVILEGED_POLICY)
    pod = HOSTILE_POD.replace('- name: "app', '- name: "web').replace("app", "db")
    write("deploy/pod.yaml", HOSTILE_POD + "---\n" + pod.replace('name: "p', 'name: "q'))

    def names() -> list[str]:
        run = gatekeeper("scan", "--no-builtin", "-p", "policies", "-f", "junit", cwd=tmp_path)
        document = etree.fromstring(run.stdout.encode())
        JUNIT_SCHEMA.assertValid(document)
        return sorted(str(case.get("name")) for case in document.iter("testcase"))

    before = names()
    write("deploy/pod.yaml", "# a comment\n\n" + (tmp_path / "deploy/pod.yaml").read_text())
    assert names() == before
    assert len(before) == 2 and all(name.startswith("TEST-NO-PRIVILEGED Pod ") for name in before)


def test_junit_same_name_in_one_file_is_told_apart() -> None:
    twins = [
        finding("high", 1, fingerprint="aaaaaaaa1"),
        finding("high", 1, fingerprint="bbbbbbbb2"),
    ]
    xml = renderer("junit").render(Report(verdict=Verdict(twins, "medium")))
    document = etree.fromstring(xml.encode())
    JUNIT_SCHEMA.assertValid(document)
    assert [case.get("name") for case in document.iter("testcase")] == [
        "P-HIGH [aaaaaaaa]",
        "P-HIGH [bbbbbbbb]",
    ]


def test_junit_outcomes_blocking_fails_fixed_passes_others_skip() -> None:
    findings = [
        finding("high", 1, blocking=True),
        finding("low", 2),
        finding("high", 3, status="fixed"),
    ]
    xml = renderer("junit").render(Report(verdict=Verdict(findings, "medium")))
    document = etree.fromstring(xml.encode())
    JUNIT_SCHEMA.assertValid(document)
    suite = document.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "1", "1")
    assert [len(case) for case in suite.iter("testcase")] == [1, 1, 0]


def test_junit_without_findings_is_valid() -> None:
    xml = renderer("junit").render(Report(verdict=Verdict([], "medium")))
    JUNIT_SCHEMA.assertValid(etree.fromstring(xml.encode()))


def test_junit_schema_refuses_what_strict_consumers_refuse() -> None:
    """The schema is strict, so the tests above can fail: `file`/`line` on a test case."""
    bad = (
        '<testsuites><testsuite name="s" tests="1" failures="0" errors="0">'
        '<testcase classname="c" name="n" file="a.yaml" line="3"/></testsuite></testsuites>'
    )
    assert not JUNIT_SCHEMA.validate(etree.fromstring(bad.encode()))


# --- text ---


def test_text_groups_per_file_and_counts_per_severity() -> None:
    findings = [
        finding("low", 2, file="b.yaml", line=3),
        finding("critical", 1, file="a.yaml", line=9, blocking=True),
        finding("high", 3, file="a.yaml", line=2, blocking=True),
        finding("high", 4, file="c.yaml", line=1, status="fixed"),
    ]
    report = Report(verdict=Verdict(findings, "medium"), files_scanned=3, documents=4)
    out = renderer("text").render(report)
    assert out == (
        "a.yaml:2:1: HIGH P-HIGH [blocking]: finding 3\n"
        "a.yaml:9:1: CRITICAL P-CRITICAL [blocking]: finding 1\n"
        "\n"
        "b.yaml:3:1: LOW P-LOW: finding 2\n"
        "\n"
        "fixed by this change (1):\n"
        "  P-HIGH: finding 4 (c.yaml)\n"
        "\n"
        "FAIL: 3 findings (1 critical, 1 high, 1 low), 2 blocking (threshold: medium), "
        "1 fixed in 3 files, 4 documents\n"
    )


def test_visible_escapes_every_hidden_character() -> None:
    import unicodedata

    hidden = [
        chr(code)
        for code in range(0x110000)
        if unicodedata.category(chr(code)) in ("Cc", "Zl", "Zp", "Cs")
        or chr(code)
        in "\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068"
        "\u2069\ufeff\ufffe\uffff"
    ]
    for char in hidden:
        assert visible(char).startswith("\\"), hex(ord(char))
    assert visible("caf\u00e9 \u4e2d\u6587 \U0001f600") == "caf\u00e9 \u4e2d\u6587 \U0001f600"
    assert visible("\udcff") == "\\xff"  # a byte of an undecodable file name


def test_policy_test_junit_is_schema_valid_with_failures(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    cases = """tests:
  - name: "a wrong expectation \\x1b[31m"
    expect: pass
    input: |
      apiVersion: v1
      kind: Pod
      metadata: {name: p}
      spec:
        containers: [{name: app, image: x, securityContext: {privileged: true}}]
"""
    write("policies/tested.yaml", PRIVILEGED_POLICY + cases)
    write("policies/untested.yaml", PRIVILEGED_POLICY.replace("TEST-NO-PRIV", "TEST-UNTESTED"))
    run = gatekeeper("test", "policies", "--format", "junit", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    document = etree.fromstring(run.stdout.encode())
    JUNIT_SCHEMA.assertValid(document)
    failed = [case.get("name") for case in document.iter("testcase") if len(case)]
    assert failed == ["a wrong expectation \\x1b[31m", "has tests"]


def test_github_format_puts_the_most_severe_first_and_counts_what_a_step_hides() -> None:
    findings = [finding("low", index) for index in range(12)]
    findings += [finding("critical", index, blocking=True) for index in range(11)]
    out = renderer("github").render(Report(verdict=Verdict(findings, "medium")))
    lines = out.splitlines()
    assert all(line.startswith("::error ") for line in lines[:11])
    assert all(line.startswith("::warning ") for line in lines[11:23])
    assert lines[-1].endswith(
        "not shown as annotations: 1 error, 2 warning (all are in this step's log)"
    )


def test_error_messages_on_stderr_run_no_workflow_command(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    """The runner reads stderr for commands too; a config error quotes what the file says."""
    write(".gatekeeper.yml", '"bad\\n::error::forged ##[add-mask]m \\e[2J": 1\n')
    run = gatekeeper("scan", cwd=tmp_path)
    assert run.returncode == 2
    assert ".gatekeeper.yml:1:" in run.stderr
    assert [c for line in runner_lines(run.stderr) if (c := runner_command(line))] == []
    assert "\x1b" not in run.stderr


def test_markdown_escape_hides_nothing_and_breaks_no_line() -> None:
    from gatekeeper.github import escape

    text = escape.markdown("a\r\n::error::x \x1b[2J \u202eevil [l](https://e) ##[add-mask]m")
    assert "\n" not in text and "\r" not in text and "\x1b" not in text and "\u202e" not in text
    assert "\\\\x1b" in text and "\\\\u202e" in text  # shown, as an escaped backslash
    assert "##[" not in text and "](" not in text


def test_action_annotations_and_warnings_forge_no_command() -> None:
    """What `gatekeeper github` prints when it cannot comment: annotations and warnings."""
    import io

    from gatekeeper.github import workflow

    hostile = finding(
        "high",
        1,
        blocking=True,
        file="a\n::add-mask::x.yaml",
        message="m\r\n::stop-commands::tok ##[add-mask]y \x1b[2J",
    )
    out = io.StringIO()
    workflow.print_annotations([hostile], out)
    workflow.warn("could not comment: \n::error::forged", out)
    lines = runner_lines(out.getvalue().rstrip("\n"))
    commands = [runner_command(line) for line in lines]
    assert [c[0] if c else None for c in commands] == ["error", "warning"]
    assert "\x1b" not in out.getvalue()
    assert lines[0].endswith("::m%0D%0A::stop-commands::tok ##[add-mask]y \\x1b[2J")


def test_sarif_links_every_values_line_of_a_finding() -> None:
    hit = finding("high", 1, extra={"values": "chart/values.yaml:8, env/values prod.yaml:3"})
    sarif = json.loads(renderer("sarif").render(Report(verdict=Verdict([hit], "medium"))))
    jsonschema.validate(sarif, SARIF_SCHEMA)
    check_github_sarif(sarif)
    (result,) = sarif["runs"][0]["results"]
    places = [
        (
            location["id"],
            location["physicalLocation"]["artifactLocation"]["uri"],
            location["physicalLocation"]["region"]["startLine"],
        )
        for location in result["relatedLocations"]
    ]
    assert places == [(1, "chart/values.yaml", 8), (2, "env/values%20prod.yaml", 3)]
    assert result["message"]["text"].endswith(
        "(the value is set in [chart/values.yaml:8](1), [env/values prod.yaml:3](2))"
    )


def test_random_hostile_text_breaks_no_format() -> None:
    """Seeded random names from an alphabet of the characters that matter, in every field."""
    import random

    pieces = ["::", "##[", "error", "add-mask", "]", "\n", "\r", " ", "\u3000", "\x85", "\x00",
              "\x1b", "\u2028", "\u202e", "\ufffe", "\udcff", "%", ",", ":", "[", "(", "&", "<",
              '"', "\\", "a", "\U0001f600"]  # fmt: skip
    rng = random.Random(12)

    def text() -> str:
        return "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))

    findings = [
        finding(
            rng.choice(SEVERITIES),
            index,
            blocking=rng.random() < 0.5,
            status=rng.choice(["new", "existing", "waived", "fixed"]),
            message=text(),
            file=text() or "f.yaml",
            kind=text(),
            name=text(),
            path=text(),
            extra={"values": f"{text()}:{rng.randint(0, 9)}"},
        )
        for index in range(300)
    ]
    report = Report(verdict=Verdict(findings, "medium"), sarif_min_severity="info")
    for fmt in FORMATS:
        out = renderer(fmt).render(report)
        lines = runner_lines(out.rstrip("\n"))
        commands = [runner_command(line) for line in lines]
        if fmt == "github":
            assert all(c and c[0] in ("error", "warning", "notice") for c in commands), fmt
        else:
            assert not any(commands), fmt
        out.encode("utf-8")  # no lone surrogate left
    JUNIT_SCHEMA.assertValid(etree.fromstring(renderer("junit").render(report).encode()))
    sarif = json.loads(renderer("sarif").render(report))
    jsonschema.validate(sarif, SARIF_SCHEMA)
    check_github_sarif(sarif)
    json.loads(renderer("json").render(report))


def test_json_report_is_written_finding_by_finding_as_one_dump_would_be(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The JSON report streams a piece per few findings (a large scan never holds its whole
    text), yet reads as `json.dumps(payload, indent=2)` with hostile text made unrunnable."""
    from gatekeeper.report import json_format
    from gatekeeper.report.safe import json_char, unrunnable

    monkeypatch.setattr(json_format, "_BATCH", 2)

    hostile = "x\n::error::forged ##[add-mask]y"
    findings = [
        Finding("P-1", severity, "t", f"{hostile} {n}", HOSTILE_FILE, n, fingerprint=f"f{n}")
        for n, severity in enumerate(SEVERITIES, 1)
    ]
    report = Report(Verdict(findings, "high"), files_scanned=2, documents=3)
    pieces = list(json_format.stream(report))
    assert len(pieces) == 3 + 2  # the head, findings 2 + 2 + 1, the tail
    text = "".join(pieces)
    assert text == json_format.render(report)
    whole = json.loads(text)
    assert [f["message"] for f in whole["findings"]] == [f.message for f in findings]
    assert text == unrunnable(json.dumps(whole, indent=2), json_char) + "\n"
    assert not any(line.lstrip().startswith("::") for line in text.splitlines())


def test_json_report_encodes_every_value_as_the_json_module_does() -> None:
    """Findings are encoded without the json module's pure-Python indenting encoder: the text
    must be the module's, for every value a finding can hold (nested fixes, waivers, variants,
    empty containers, floats, keys that are not strings, non-ASCII and hostile text)."""
    from gatekeeper.report import json_format

    class Label(str):
        pass

    odd = 'é\u2028\udcff\U0001f600\x00"\\::'
    values: list[object] = [
        {},
        [],
        (),
        {"a": []},
        {"a": {}},
        [[], {}, [1, [2, {"b": None}]]],
        ("t", 1),
        {1: "int key", None: "none key", False: "bool key", 2.5: "float key"},
        {"nan": float("nan"), "inf": float("-inf"), "x": 1.5, "e": 1e-300},
        {odd: [odd, True, False, None, 0, -7, 2**70]},
        Label("a str subclass"),
        {"nested": Label("inside")},
    ]
    findings = [
        Finding(
            f"P-{index}",
            "high",
            odd,
            odd,
            "f.yaml",
            index,
            fix={"subject": "spec", "set": value} if index % 2 else None,
            waiver={"owner": odd, "reason": value} if index % 3 else None,
            extra={"variants": [odd, "kustomize a"], "value": value, "exact": False},
        )
        for index, value in enumerate(values)
    ]
    for finding in findings:
        expected = json.dumps(finding.to_dict(), indent=2).replace("\n", "\n    ")
        assert json_format._finding_text(finding) == expected
