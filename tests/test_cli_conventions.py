"""CLI conventions users know from Conftest, Checkov and Trivy: policies, explain, config
validate, stdin, --quiet, --exit-zero, shell completion, NO_COLOR (issue 12)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from gatekeeper import output
from gatekeeper.main import build_parser
from gatekeeper.report import FORMATS
from tests.conftest import PRIVILEGED_POD as PRIVILEGED
from tests.conftest import PRIVILEGED_POLICY, Run

Gatekeeper = Callable[..., Run]
Write = Callable[[str, "str | bytes"], Path]


@pytest.fixture
def repo(write: Write, tmp_path: Path) -> Path:
    write("policies/no-privileged.yaml", PRIVILEGED_POLICY)
    write(".gatekeeper.yml", "builtin: false\npolicies:\n  - path: policies\n")
    return tmp_path


# --- policies --------------------------------------------------------------------------------


def test_policies_lists_what_a_scan_would_run(gatekeeper: Gatekeeper, tmp_path: Path) -> None:
    run = gatekeeper("policies", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "K8S-PSS-PRIVILEGED" in run.stdout and "critical" in run.stdout
    listed = json.loads(gatekeeper("policies", "--format", "json", cwd=tmp_path).stdout)
    assert len(listed) > 20
    assert {"id", "title", "severity", "source", "kinds", "pack", "scope", "file"} <= set(listed[0])
    # most severe first
    order = ["critical", "high", "medium", "low", "info"]
    assert [order.index(p["severity"]) for p in listed] == sorted(
        order.index(p["severity"]) for p in listed
    )


def test_policies_filters_by_source_severity_and_pack(
    gatekeeper: Gatekeeper, tmp_path: Path
) -> None:
    def ids(*args: str) -> list[dict[str, str]]:
        run = gatekeeper("policies", "--format", "json", *args, cwd=tmp_path)
        assert run.returncode == 0, run.stderr
        result: list[dict[str, str]] = json.loads(run.stdout)
        return result

    dockerfile = ids("--source", "dockerfile")
    assert dockerfile and {p["source"] for p in dockerfile} == {"dockerfile"}
    severe = ids("--severity", "critical,HIGH")
    assert severe and {p["severity"] for p in severe} == {"critical", "high"}
    pack = ids("--pack", "aws")
    assert pack and {p["pack"] for p in pack} == {"aws"}
    library = ids("--pack", "terraform")  # the folder `packs:` names holds aws, azure, gcp
    assert {p["pack"] for p in library} >= {"aws", "azure", "gcp"}
    both = ids("--pack", "kubernetes", "--severity", "critical")
    assert both and all(p["pack"] == "kubernetes" and p["severity"] == "critical" for p in both)
    assert gatekeeper("policies", "--severity", "urgent", cwd=tmp_path).returncode == 2
    typo = gatekeeper("policies", "--source", "dockerfle", cwd=tmp_path)
    assert typo.returncode == 2 and "did you mean dockerfile?" in typo.stderr
    assert gatekeeper("policies", "--pack", "nope", cwd=tmp_path).returncode == 2
    helm = ids("--source", "helm")  # Kubernetes policies judge what charts render
    assert "K8S-PSS-PRIVILEGED" in {p["id"] for p in helm}


def test_policies_follow_the_configuration(gatekeeper: Gatekeeper, repo: Path) -> None:
    run = gatekeeper("policies", "--format", "json", cwd=repo)
    assert [p["id"] for p in json.loads(run.stdout)] == ["TEST-NO-PRIVILEGED"]
    assert json.loads(run.stdout)[0]["file"] == "policies/no-privileged.yaml"


# --- explain ---------------------------------------------------------------------------------


def test_explain_shows_the_policy(gatekeeper: Gatekeeper, tmp_path: Path) -> None:
    run = gatekeeper("explain", "k8s-pss-privileged", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("K8S-PSS-PRIVILEGED: ")
    for heading in ("severity:    critical", "Description:", "Remediation:", "Rule (CEL):"):
        assert heading in run.stdout
    data = json.loads(
        gatekeeper("explain", "K8S-PSS-PRIVILEGED", "-f", "json", cwd=tmp_path).stdout
    )
    assert data["id"] == "K8S-PSS-PRIVILEGED" and data["rule"] and data["remediation"]


def test_explain_knows_gatekeepers_own_findings(gatekeeper: Gatekeeper, tmp_path: Path) -> None:
    run = gatekeeper("explain", "GK-PARSE-ERROR", cwd=tmp_path)
    assert run.returncode == 0
    assert "File could not be parsed" in run.stdout


def test_explain_an_unknown_id_suggests_the_closest(gatekeeper: Gatekeeper, tmp_path: Path) -> None:
    run = gatekeeper("explain", "K8S-PSS-PRIVILEGD", cwd=tmp_path)
    assert run.returncode == 2
    assert "did you mean K8S-PSS-PRIVILEGED" in run.stderr


# --- config validate -------------------------------------------------------------------------


def test_config_validate_accepts_a_valid_file(gatekeeper: Gatekeeper, repo: Path) -> None:
    run = gatekeeper("config", "validate", cwd=repo / "policies")  # the root's, from below
    assert run.returncode == 0, run.stderr
    assert ".gatekeeper.yml: valid (1 policies enabled)" in run.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("builtin: false\nseverityTreshold: high\n", "other.yml:2: severityTreshold: unknown key"),
        ("disable: [K8S-PSS-PRIVILEGD]\n", "other.yml:1: disable: unknown policy id"),
        ("packs: [kubernets]\n", "other.yml: unknown pack(s) kubernets"),
        ("sources:\n  helm:\n    charts:\n      - path: nowhere\n", "other.yml:4:"),
    ],
)
def test_config_validate_reports_errors_at_file_and_line(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path, text: str, expected: str
) -> None:
    write("other.yml", text)
    run = gatekeeper("config", "validate", "other.yml", cwd=tmp_path)
    assert run.returncode == 2, run.stderr
    assert expected in run.stderr


def test_config_validate_without_a_config_is_an_error(
    gatekeeper: Gatekeeper, tmp_path: Path
) -> None:
    assert gatekeeper("config", "validate", cwd=tmp_path).returncode == 2
    assert gatekeeper("config", "validate", "missing.yml", cwd=tmp_path).returncode == 2


# --- stdin, --quiet, --exit-zero -------------------------------------------------------------


def test_scan_reads_a_document_stream_from_stdin(gatekeeper: Gatekeeper, repo: Path) -> None:
    run = gatekeeper("scan", "-", cwd=repo, input=PRIVILEGED)
    assert run.returncode == 1, run.stderr
    assert "stdin.yaml:9:9: HIGH TEST-NO-PRIVILEGED" in run.stdout
    named = gatekeeper("scan", "-", "--stdin-filename", "deploy/p.yaml", cwd=repo, input=PRIVILEGED)
    assert "deploy/p.yaml:9:9: HIGH TEST-NO-PRIVILEGED" in named.stdout
    clean = gatekeeper("scan", "-", cwd=repo, input=PRIVILEGED.replace("true", "false"))
    assert clean.returncode == 0


def test_stdin_filename_decides_the_format(gatekeeper: Gatekeeper, tmp_path: Path) -> None:
    dockerfile = "FROM ubuntu\nUSER root\n"
    run = gatekeeper(
        "scan", "-", "--stdin-filename", "Dockerfile", "-f", "json", cwd=tmp_path, input=dockerfile
    )
    findings = json.loads(run.stdout)["findings"]
    assert findings and {f["source"] for f in findings} == {"dockerfile"}
    assert {f["file"] for f in findings} == {"Dockerfile"}


def test_stdin_usage_errors(gatekeeper: Gatekeeper, repo: Path) -> None:
    assert gatekeeper("scan", "-", "policies", cwd=repo, input="").returncode == 2
    assert gatekeeper("scan", "--stdin-filename", "x.yaml", cwd=repo).returncode == 2


def test_exit_zero_reports_but_does_not_fail(gatekeeper: Gatekeeper, repo: Path) -> None:
    run = gatekeeper("scan", "-", "--exit-zero", cwd=repo, input=PRIVILEGED)
    assert run.returncode == 0
    assert "TEST-NO-PRIVILEGED [blocking]" in run.stdout
    broken = gatekeeper("scan", "missing", "--exit-zero", cwd=repo)
    assert broken.returncode == 2  # errors are never softened


def test_quiet_prints_only_blocking_findings_and_nothing_on_a_pass(
    gatekeeper: Gatekeeper, repo: Path, write: Write
) -> None:
    write(
        ".gatekeeper.yml",
        "builtin: false\nseverityThreshold: critical\npolicies:\n  - path: policies\n",
    )
    below = gatekeeper("scan", "-", "-q", cwd=repo, input=PRIVILEGED)
    assert below.returncode == 0 and below.stdout == "" and below.stderr == ""
    assert "TEST-NO-PRIVILEGED" in gatekeeper("scan", "-", cwd=repo, input=PRIVILEGED).stdout
    blocking = gatekeeper("scan", "-", "-q", "-t", "high", cwd=repo, input=PRIVILEGED)
    assert blocking.returncode == 1
    assert "TEST-NO-PRIVILEGED [blocking]" in blocking.stdout
    as_json = gatekeeper("scan", "-", "-q", "-f", "json", cwd=repo, input=PRIVILEGED)
    assert json.loads(as_json.stdout)["findings"]  # machine formats stay whole


# --- completion ------------------------------------------------------------------------------


def completion(shell: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "gatekeeper", "completion", shell],
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout


def test_bash_completion_is_valid_and_complete() -> None:
    script = completion("bash")
    bash = shutil.which("bash")
    assert bash
    subprocess.run([bash, "-n"], input=script, text=True, check=True)

    def complete(*words: str) -> list[str]:
        line = " ".join(["gatekeeper", *words])
        program = (
            f"{script}\nCOMP_WORDS=({line}); COMP_CWORD={len(words)}; _gatekeeper; "
            'printf "%s\\n" "${COMPREPLY[@]}"'
        )
        proc = subprocess.run([bash, "-c", program], capture_output=True, text=True, check=True)
        return proc.stdout.split()

    assert {"scan", "policies", "explain", "config", "completion"} <= set(complete(""))
    assert {"--exit-zero", "--quiet", "--stdin-filename", "--root"} <= set(complete("scan", "--"))
    assert set(complete("scan", "--format", "")) == set(FORMATS)
    assert complete("config", "") == ["validate"]
    assert "--root" in complete("config", "validate", "--")
    assert "--debug" not in complete("scan", "--")  # hidden options stay hidden


def test_every_parser_option_is_in_every_script() -> None:
    parser = build_parser()
    flags = {
        flag
        for action in parser._subparsers._group_actions[0].choices["scan"]._actions  # type: ignore[union-attr]
        if action.help != "==SUPPRESS=="
        for flag in action.option_strings
        if flag.startswith("--")
    }
    for shell in ("bash", "zsh", "fish"):
        script = completion(shell)
        spelled = {flag if shell != "fish" else f"-l {flag[2:]}" for flag in flags}
        assert all(item in script for item in spelled), shell


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_parse(shell: str) -> None:
    binary = shutil.which(shell)
    if binary is None:
        pytest.skip(f"{shell} is not installed")
    check = [binary, "-n"] if shell == "zsh" else [binary, "--no-execute"]
    subprocess.run(check, input=completion(shell), text=True, check=True)


# --- NO_COLOR --------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "colour"), [(None, True), ("", True), ("1", False)])
def test_no_color_disables_colour_only_when_non_empty(
    monkeypatch: pytest.MonkeyPatch, value: str | None, colour: bool
) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    if value is None:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", value)
    assert output.use_color("auto", None) is colour
    assert output.use_color("always", None) is True
    assert os.environ.get("NO_COLOR") == value


@pytest.mark.parametrize(
    "args", [("--version",), ("--help",), ("policies",), ("scan", "--format", "json")]
)
def test_a_reader_that_left_gets_no_traceback(args: tuple[str, ...], repo: Path) -> None:
    """`gatekeeper --version | head -1`: the reader closed the pipe before the first line.
    Every command writes into a pipe nobody reads without a traceback (--version and --help
    print while the arguments are read, which was outside the command's handling of a
    broken pipe: a BrokenPipeError traceback)."""
    read, written = os.pipe()
    os.close(read)  # the reader left before anything was written
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "gatekeeper", *args],
            cwd=repo,
            stdout=written,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
        )
    finally:
        os.close(written)
    assert "Traceback" not in proc.stderr and "Error" not in proc.stderr, proc.stderr
    assert proc.returncode in (0, 2), proc.stderr
