from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree as ET

import jsonschema
import pytest

from tests.conftest import PRIVILEGED_POD as PRIVILEGED
from tests.conftest import PRIVILEGED_POLICY as POLICY
from tests.conftest import REPO, Run

Gatekeeper = Callable[..., Run]
Write = Callable[[str, "str | bytes"], Path]


def scan(gatekeeper: Gatekeeper, tmp_path: Path, *args: str) -> Run:
    return gatekeeper(
        "scan", "--no-builtin", "--policies", str(tmp_path / "policies"), *args, cwd=tmp_path
    )


@pytest.fixture
def repo(write: Write, tmp_path: Path) -> Path:
    write("policies/no-privileged.yaml", POLICY)
    return tmp_path


def test_blocking_finding_exits_1_with_file_and_line(
    gatekeeper: Gatekeeper, repo: Path, write: Write
) -> None:
    write("deploy/pod.yaml", PRIVILEGED)
    run = scan(gatekeeper, repo, "deploy")
    assert run.returncode == 1, run.stderr
    assert (
        "deploy/pod.yaml:9:9: HIGH TEST-NO-PRIVILEGED [blocking]: app is privileged" in run.stdout
    )


def test_clean_repo_exits_0(gatekeeper: Gatekeeper, repo: Path, write: Write) -> None:
    write("deploy/pod.yaml", PRIVILEGED.replace("true", "false"))
    run = scan(gatekeeper, repo, "deploy")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("PASS")


def test_threshold_above_the_finding_passes(
    gatekeeper: Gatekeeper, repo: Path, write: Write
) -> None:
    write("deploy/pod.yaml", PRIVILEGED)
    run = scan(gatekeeper, repo, "deploy", "--severity-threshold", "critical")
    assert run.returncode == 0
    assert "TEST-NO-PRIVILEGED" in run.stdout


def test_usage_errors_exit_2(gatekeeper: Gatekeeper, repo: Path) -> None:
    assert scan(gatekeeper, repo, "missing-dir").returncode == 2
    assert gatekeeper("scan", "--format", "xml", cwd=repo).returncode == 2
    assert gatekeeper("frobnicate", cwd=repo).returncode == 2


def test_invalid_policy_exits_2_naming_file_and_line(
    gatekeeper: Gatekeeper, repo: Path, write: Write
) -> None:
    write(
        "policies/bad.yaml",
        POLICY.replace("TEST-NO-PRIVILEGED", "TEST-BAD").replace(
            "severity: high", "severity: urgent"
        ),
    )
    run = scan(gatekeeper, repo)
    assert run.returncode == 2
    assert "policies/bad.yaml:3: severity: 'urgent' is not one of" in run.stderr
    assert "Traceback" not in run.stderr


def test_invalid_cel_exits_2(gatekeeper: Gatekeeper, repo: Path, write: Write) -> None:
    write(
        "policies/bad.yaml",
        POLICY.replace("TEST-NO-PRIVILEGED", "TEST-BAD").replace('rule: "!item', 'rule: "!!(item'),
    )
    run = scan(gatekeeper, repo)
    assert run.returncode == 2
    assert "bad.yaml:8: rule: invalid CEL" in run.stderr


def test_duplicate_policy_id_exits_2(gatekeeper: Gatekeeper, repo: Path, write: Write) -> None:
    write("policies/copy.yaml", POLICY)
    run = scan(gatekeeper, repo)
    assert run.returncode == 2 and "duplicate policy id TEST-NO-PRIVILEGED" in run.stderr


def test_json_output(gatekeeper: Gatekeeper, repo: Path, write: Write) -> None:
    write("deploy/pod.yaml", PRIVILEGED)
    run = scan(gatekeeper, repo, "deploy", "--format", "json")
    payload = json.loads(run.stdout)
    assert payload["verdict"] == "fail"
    (finding,) = payload["findings"]
    assert (
        finding["line"] == 9 and finding["path"] == "spec.containers[0].securityContext.privileged"
    )
    assert finding["kind"] == "Pod" and finding["namespace"] == "team" and finding["blocking"]


def test_sarif_output_is_valid_sarif_2_1_0(
    gatekeeper: Gatekeeper, repo: Path, write: Write
) -> None:
    write("deploy/pod.yaml", PRIVILEGED)
    write("deploy/broken.yaml", "apiVersion: v1\nkind: Pod\nmetadata: [\n")
    out = repo / "out.sarif"
    run = scan(gatekeeper, repo, "deploy", "--format", "sarif", "--output", str(out))
    assert run.returncode == 1
    sarif = json.loads(out.read_text())
    schema = json.loads((REPO / "tests/data/sarif-2.1.0.json").read_text())
    jsonschema.validate(sarif, schema)
    results = sarif["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {"TEST-NO-PRIVILEGED", "GK-PARSE-ERROR"}
    rules = sarif["runs"][0]["tool"]["driver"]["rules"]
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["partialFingerprints"]["gatekeeperFingerprint/v1"]


def test_junit_output(gatekeeper: Gatekeeper, repo: Path, write: Write) -> None:
    write("deploy/pod.yaml", PRIVILEGED)
    run = scan(gatekeeper, repo, "deploy", "--format", "junit")
    suite = ET.fromstring(run.stdout).find("testsuite")
    assert suite is not None and suite.get("failures") == "1"
    failure = suite.find("testcase/failure")
    assert failure is not None and failure.get("message") == "app is privileged"


@pytest.mark.parametrize(
    ("content", "code", "line"),
    [
        (b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: [a\n", "GK-PARSE-ERROR", 5),
        (b"apiVersion: v1\nkind: Pod\nmetadata: {name: \xff\xfe}\n", "GK-ENCODING-ERROR", 3),
        (b"\x00\x01\x02binary", "GK-BINARY-FILE", 1),
        (b"apiVersion: v1\nkind: Pod\n---\n42\n", "GK-NOT-AN-OBJECT", 4),
        (b"a: &a [*a]\n", "GK-YAML-BOMB", 1),
    ],
)
def test_bad_input_is_reported_never_dropped(
    gatekeeper: Gatekeeper, repo: Path, write: Write, content: bytes, code: str, line: int
) -> None:
    write("deploy/bad.yaml", content)
    run = scan(gatekeeper, repo, "deploy", "--format", "json")
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    findings = json.loads(run.stdout)["findings"]
    assert [(f["policy_id"], f["file"], f["line"]) for f in findings] == [
        (code, "deploy/bad.yaml", line)
    ]


def test_huge_file_is_reported(gatekeeper: Gatekeeper, repo: Path, write: Write) -> None:
    write("deploy/huge.yaml", "# " + "x" * (9 * 1024 * 1024) + "\n")
    run = scan(gatekeeper, repo, "deploy", "--format", "json")
    assert [f["policy_id"] for f in json.loads(run.stdout)["findings"]] == ["GK-FILE-TOO-LARGE"]


def test_parallel_scan_matches_serial(gatekeeper: Gatekeeper, repo: Path, write: Write) -> None:
    for index in range(60):
        write(f"deploy/pod{index}.yaml", PRIVILEGED.replace("name: p", f"name: p{index}"))
    serial = json.loads(scan(gatekeeper, repo, "deploy", "-f", "json", "--jobs", "1").stdout)
    parallel = json.loads(scan(gatekeeper, repo, "deploy", "-f", "json", "--jobs", "2").stdout)
    assert len(serial["findings"]) == 60
    assert serial["findings"] == parallel["findings"]


def test_builtin_library_self_tests_pass(gatekeeper: Gatekeeper) -> None:
    run = gatekeeper("test")
    assert run.returncode == 0, run.stdout + run.stderr


def test_text_output_names_the_values_line_behind_a_helm_finding(gatekeeper: Gatekeeper) -> None:
    run = gatekeeper("scan", "examples/demo-repo/charts", cwd=REPO)
    assert run.returncode == 1, run.stderr
    (line,) = [line for line in run.stdout.splitlines() if "K8S-PSS-PRIVILEGE-ESCALATION" in line]
    assert line.startswith("examples/demo-repo/charts/shop/templates/deployment.yaml:27:")
    assert line.endswith("[value set at examples/demo-repo/charts/shop/values.yaml:8]")
