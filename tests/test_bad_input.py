"""Bad input, every source, the real CLI: a finding at the right file and line (or a `file:line`
error with exit 2 for configuration), the documented exit code, never a traceback.

The cases live side by side in one tree, so one `scan` (and one `inventory`, one `scan
--base`) covers them all and the file stays fast; each case is its own test on that output.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import git
import pytest

from gatekeeper.yamldoc import MAX_FILE_BYTES
from tests.conftest import Run
from tests.conftest import run_cli as _cli

Gatekeeper = Callable[..., Run]
Files = dict[str, "str | bytes"]
Expected = list[tuple[str, int, str]]  # (file, line, code); [] means: no finding at all

POD = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
CHART = "apiVersion: v2\nname: c\nversion: 0.1.0\n"
CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"
BOMB = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"b{i}: &b{i} [{','.join([f'*{p}'] * 9)}]\n"
    for i, p in enumerate(["a", *(f"b{j}" for j in range(1, 9))], start=1)
)

# One file name per source: where the generic byte-level cases go.
SOURCES: dict[str, tuple[str, Files]] = {
    # source: (the file under test, other files the case needs)
    "kubernetes": ("pod.yaml", {}),
    "helm": ("c/Chart.yaml", {"c/templates/cm.yaml": CM}),
    "kustomize": ("kustomization.yaml", {}),
    "terraform": ("main.tf", {}),
    "plan": ("tfplan.json", {}),
    "dockerfile": ("Dockerfile", {}),
    "workflow": (".github/workflows/ci.yml", {}),
    "gitlab": (".gitlab-ci.yml", {}),
    "compose": ("compose.yaml", {}),
}

CASES: dict[str, tuple[Files, Expected]] = {}


def case(name: str, files: Files, *expected: tuple[str, int, str]) -> None:
    CASES[name] = (files, list(expected))


for source, (main, extra) in SOURCES.items():
    case(f"{source}-binary", {main: b"\x00\x01\x02bin", **extra}, (main, 1, "GK-BINARY-FILE"))
    case(
        f"{source}-latin1",
        {main: b"# ok\n# caf\xe9\n", **extra},
        (main, 2, "GK-ENCODING-ERROR"),
    )
    case(
        f"{source}-too-large",
        {main: b"#" * (MAX_FILE_BYTES + 1), **extra},
        (main, 1, "GK-FILE-TOO-LARGE"),
    )

# Empty files: an error to the tool that reads them, except a manifest or .tf with nothing in it.
case("kubernetes-empty", {"pod.yaml": ""})
case("terraform-empty", {"main.tf": ""})
case(
    "helm-empty",
    {"c/Chart.yaml": "", "c/templates/cm.yaml": CM},
    ("c/Chart.yaml", 1, "GK-PARSE-ERROR"),
)
case("kustomize-empty", {"kustomization.yaml": ""}, ("kustomization.yaml", 1, "GK-PARSE-ERROR"))
case("dockerfile-empty", {"Dockerfile": ""}, ("Dockerfile", 1, "GK-PARSE-ERROR"))
case(
    "workflow-empty",
    {".github/workflows/ci.yml": ""},
    (".github/workflows/ci.yml", 1, "GK-PARSE-ERROR"),
)
case("compose-empty", {"compose.yaml": ""}, ("compose.yaml", 1, "GK-PARSE-ERROR"))
case("plan-empty", {"tfplan.json": ""}, ("tfplan.json", 1, "GK-PARSE-ERROR"))

# Invalid syntax.
case(
    "kubernetes-syntax",
    {"pod.yaml": POD + "spec: {containers: [\n"},
    ("pod.yaml", 5, "GK-PARSE-ERROR"),
)
case(
    "helm-chart-syntax",
    {"c/Chart.yaml": "apiVersion: v2\nname: [c\n", "c/templates/cm.yaml": CM},
    ("c/Chart.yaml", 3, "GK-PARSE-ERROR"),
)
case(
    "helm-chart-invalid",
    {"c/Chart.yaml": "apiVersion: v2\nversion: 1.0.0\n", "c/templates/cm.yaml": CM},
    ("c/Chart.yaml", 1, "GK-RENDER-ERROR"),
)
case(
    "helm-template-syntax",
    {"c/Chart.yaml": CHART, "c/templates/cm.yaml": CM + "data:\n  a: {{ .Values.x \n"},
    ("c/templates/cm.yaml", 6, "GK-RENDER-ERROR"),
)
case(
    "helm-template-fail",
    {"c/Chart.yaml": CHART, "c/templates/cm.yaml": CM + '{{ fail "no" }}\n'},
    ("c/templates/cm.yaml", 5, "GK-RENDER-ERROR"),
)
case(
    "helm-template-invalid-yaml",
    {
        "c/Chart.yaml": CHART,
        "c/templates/cm.yaml": "{{- if true }}\n" + CM + "data:\n  a: [{{ 1 }}\n{{- end }}\n",
    },
    ("c/templates/cm.yaml", 7, "GK-RENDER-ERROR"),
)
case(
    "helm-values-syntax",
    {"c/Chart.yaml": CHART, "c/values.yaml": "a: 1\nb: [\n", "c/templates/cm.yaml": CM},
    ("c/values.yaml", 3, "GK-PARSE-ERROR"),
)
case(
    "kustomize-missing-file",
    {"kustomization.yaml": "resources:\n- cm.yaml\n- missing.yaml\n", "cm.yaml": CM},
    ("kustomization.yaml", 3, "GK-RENDER-ERROR"),
)
case(
    "kustomize-syntax",
    {"kustomization.yaml": "resources: [\n"},
    ("kustomization.yaml", 2, "GK-PARSE-ERROR"),
)
case(
    "terraform-unterminated",
    {"main.tf": 'variable "v" {}\n\nresource "aws_s3_bucket" "b" {\n  bucket = "x"\n'},
    ("main.tf", 3, "GK-PARSE-ERROR"),
)
case("terraform-garbage", {"main.tf": "locals {\n  a = = 1\n}\n"}, ("main.tf", 2, "GK-PARSE-ERROR"))
case(
    "plan-syntax", {"tfplan.json": '{"resource_changes": [\n'}, ("tfplan.json", 2, "GK-PARSE-ERROR")
)
case(
    "dockerfile-heredoc",
    {"Dockerfile": "FROM alpine:3.20\nRUN <<EOF\necho hi\nUSER root\n"},
    ("Dockerfile", 2, "GK-PARSE-ERROR"),
)
case("dockerfile-no-from", {"Dockerfile": "# x\nRUN echo\n"}, ("Dockerfile", 2, "GK-PARSE-ERROR"))
case(
    "workflow-syntax",
    {".github/workflows/ci.yml": "on: push\njobs:\n  a: [\n"},
    (".github/workflows/ci.yml", 4, "GK-PARSE-ERROR"),
)
case(
    "compose-syntax",
    {"compose.yaml": "services:\n  a: {image: x\n"},
    ("compose.yaml", 3, "GK-PARSE-ERROR"),
)

# Wrong types: a list where a mapping is expected, a string where a mapping is.
case(
    "kubernetes-list-document",
    {"pod.yaml": POD + "---\n- a\n- b\n"},
    ("pod.yaml", 5, "GK-NOT-AN-OBJECT"),
)
case(
    "helm-chart-list",
    {"c/Chart.yaml": "- a\n", "c/templates/cm.yaml": CM},
    ("c/Chart.yaml", 1, "GK-PARSE-ERROR"),
)
case(
    "helm-template-not-an-object",
    {"c/Chart.yaml": CHART, "c/templates/cm.yaml": CM + "---\n- a\n"},
    ("c/templates/cm.yaml", 6, "GK-NOT-AN-OBJECT"),
)
case(
    "kustomize-list",
    {"kustomization.yaml": "- cm.yaml\n"},
    ("kustomization.yaml", 1, "GK-PARSE-ERROR"),
)
case(
    "kustomize-resources-string",
    {"kustomization.yaml": "namespace: a\nresources: cm.yaml\n", "cm.yaml": CM},
    ("kustomization.yaml", 2, "GK-PARSE-ERROR"),
)
case(
    "kustomize-generator-files-int",
    {"kustomization.yaml": "configMapGenerator:\n- name: a\n  files: 1\n"},
    ("kustomization.yaml", 3, "GK-PARSE-ERROR"),
)
case(
    "kustomize-patch-path-list",
    {"kustomization.yaml": "resources: [cm.yaml]\npatches:\n- path: [x]\n", "cm.yaml": CM},
    ("kustomization.yaml", 3, "GK-PARSE-ERROR"),
)
case(
    "kustomize-build-metadata-mapping",
    {"kustomization.yaml": "buildMetadata:\n- {a: b}\n"},
    ("kustomization.yaml", 2, "GK-PARSE-ERROR"),
)
case("plan-list", {"tfplan.json": "[1, 2]\n"}, ("tfplan.json", 1, "GK-PARSE-ERROR"))
case(
    "plan-changes-string",
    {"tfplan.json": '{"format_version": "1.2",\n "resource_changes": "x"}\n'},
    ("tfplan.json", 2, "GK-PARSE-ERROR"),
)
case(
    "workflow-jobs-string",
    {".github/workflows/ci.yml": "on: push\njobs: build\n"},
    (".github/workflows/ci.yml", 2, "GK-PARSE-ERROR"),
)
case(
    "workflow-list",
    {".github/workflows/ci.yml": "- a\n"},
    (".github/workflows/ci.yml", 1, "GK-PARSE-ERROR"),
)
case(
    "gitlab-job-string",
    {".gitlab-ci.yml": "stages: [a]\nbuild: make\n"},
    (".gitlab-ci.yml", 2, "GK-PARSE-ERROR"),
)
case(
    "action-steps-string",
    {"action.yml": "name: a\nruns:\n  using: composite\n  steps: run make\n"},
    ("action.yml", 4, "GK-PARSE-ERROR"),
)
case("compose-list", {"compose.yaml": "- a\n"}, ("compose.yaml", 1, "GK-PARSE-ERROR"))
case(
    "compose-services-string",
    {"compose.yaml": "version: '3'\nservices: web\n"},
    ("compose.yaml", 2, "GK-PARSE-ERROR"),
)
case(
    "gitops-path-outside",
    {
        "app.yaml": "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: a}\n"
        "spec:\n  destination: in-cluster\n  sources:\n  - path: ../..\n"
    },
    ("app.yaml", 7, "GK-RENDER-ERROR"),
)
case(
    "gitops-value-files-string",
    {
        "app.yaml": "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: a}\n"
        "spec:\n  source:\n    path: gitops-value-files-string/c\n"
        "    helm:\n      valueFiles: prod.yaml\n",
        "c/Chart.yaml": CHART,
        "c/templates/cm.yaml": CM,
    },
    ("app.yaml", 8, "GK-PARSE-ERROR"),
)

# Bombs and deep nesting.
case("kubernetes-yaml-bomb", {"pod.yaml": POD + "---\n" + BOMB}, ("pod.yaml", 5, "GK-YAML-BOMB"))
case(
    "kubernetes-deep-flow",
    {"pod.yaml": POD + "x: " + "[" * 100_000 + "]" * 100_000 + "\n"},
    ("pod.yaml", 4, "GK-PARSE-ERROR"),
)
case(
    "kubernetes-deep-block",
    {"pod.yaml": POD + "x:\n" + "".join(" " * (i + 1) + "a:\n" for i in range(1500))},
    ("pod.yaml", 104, "GK-PARSE-ERROR"),
)
case(
    "kubernetes-deep-mapping",  # under libyaml's limit, over ours (100): refused where it opens
    {
        "pod.yaml": POD
        + "spec:\n  containers:\n  - name: a\n    x: "
        + "{a: " * 480
        + "null"
        + "}" * 480
        + "\n"
    },
    ("pod.yaml", 7, "GK-PARSE-ERROR"),
)
case(
    "kustomize-deep-mapping",  # over 100 levels: refused at its line, never built
    {"kustomization.yaml": "resources: []\nx: " + "{a: " * 470 + "null" + "}" * 470 + "\n"},
    ("kustomization.yaml", 2, "GK-PARSE-ERROR"),
)
case(
    "kubernetes-odd-int-tag", {"pod.yaml": POD + "x: !!int ''\n"}, ("pod.yaml", 4, "GK-PARSE-ERROR")
)
case(
    "kubernetes-odd-bool-tag",
    {"pod.yaml": POD + "x: !!bool maybe\n"},
    ("pod.yaml", 4, "GK-PARSE-ERROR"),
)
case(
    "kubernetes-odd-float-key",
    {"pod.yaml": POD + "x:\n  ? !!float ''\n  : 1\n"},
    ("pod.yaml", 5, "GK-PARSE-ERROR"),
)
case(
    "workflow-deep",
    {".github/workflows/ci.yml": "on: push\njobs: " + "[" * 60_000 + "]" * 60_000 + "\n"},
    (".github/workflows/ci.yml", 2, "GK-PARSE-ERROR"),
)
case(
    "helm-chart-deep",
    {"c/Chart.yaml": CHART + "x: " + "{a: " * 30_000 + "}" * 30_000 + "\n"},
    ("c/Chart.yaml", 4, "GK-PARSE-ERROR"),
)
case(
    "terraform-deep",
    {"main.tf": "locals {\n  x = " + "[\n" * 3000 + "]" * 3000 + "\n}\n"},
    ("main.tf", 101, "GK-PARSE-ERROR"),
)
case(
    "dockerfile-deep",
    {"Dockerfile": "FROM alpine:3.20\nRUN " + "$(" * 20_000 + ")" * 20_000 + "\n"},
    ("Dockerfile", 2, "GK-PARSE-ERROR"),
)


def _write(root: Path, files: Files) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def _tree(root: Path, names: list[str]) -> None:
    for name in names:
        _write(root / name, CASES[name][0])


def _findings(run: Run) -> list[dict[str, Any]]:
    findings: list[dict[str, Any]] = json.loads(run.stdout)["findings"]
    return findings


def _check(name: str, findings: list[tuple[str, int, str]]) -> None:
    expected = CASES[name][1]
    mine = sorted(f for f in findings if f[0].startswith(f"{name}/"))
    wanted = sorted((f"{name}/{file}", line, code) for file, line, code in expected)
    if not wanted:
        assert mine == [], f"{name}: expected no finding"
    else:
        for finding in wanted:
            assert finding in mine, f"{name}: {finding} not in {mine}"


def _no_traceback(run: Run) -> None:
    assert "Traceback" not in run.stderr, run.stderr
    assert "internal error" not in run.stderr, run.stderr


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, list[tuple[str, int, str]]]:
    root = tmp_path_factory.mktemp("bad")
    _tree(root, list(CASES))
    run = _cli("scan", "--no-builtin", "--format", "json", cwd=root)
    findings = [(f["file"], f["line"], f["policy_id"]) for f in _findings(run)]
    return run, findings


def test_scan_of_every_bad_file_exits_1_without_a_traceback(
    scanned: tuple[Run, list[tuple[str, int, str]]],
) -> None:
    run, _ = scanned
    _no_traceback(run)
    assert run.returncode == 1


@pytest.mark.parametrize("name", sorted(CASES))
def test_scan_reports_bad_input_at_its_file_and_line(
    name: str, scanned: tuple[Run, list[tuple[str, int, str]]]
) -> None:
    _check(name, scanned[1])


def test_inventory_reports_every_bad_file_on_stderr(tmp_path: Path) -> None:
    names = [n for n in CASES if CASES[n][1] and not n.startswith(("helm-template", "gitops"))]
    _tree(tmp_path, names)
    run = _cli("inventory", cwd=tmp_path)
    _no_traceback(run)
    assert run.returncode == 1
    assert json.loads(run.stdout)["bomFormat"] == "CycloneDX"
    for name in names:
        for file, line, code in CASES[name][1]:
            if code == "GK-RENDER-ERROR":
                continue  # the inventory reads objects; it does not render charts
            assert f"gatekeeper: {name}/{file}:{line}: {code}:" in run.stderr, name


def test_scan_base_reports_bad_files_a_change_adds_as_new_findings(tmp_path: Path) -> None:
    names = [n for n in CASES if CASES[n][1] and "too-large" not in n and "deep" not in n]
    repo = git.Repo.init(tmp_path, initial_branch="main")
    with repo.config_writer() as config:
        config.set_value("user", "name", "test")
        config.set_value("user", "email", "test@example.com")
        config.set_value("commit", "gpgsign", "false")
    (tmp_path / "README").write_text("base\n")
    repo.git.add("-A")
    repo.git.commit("-q", "-m", "base")
    repo.git.checkout("-q", "-b", "pr")
    _tree(tmp_path, names)
    repo.git.add("-A")
    repo.git.commit("-q", "-m", "bad files")
    run = _cli("scan", "--base", "main", "--no-builtin", "--format", "json", cwd=tmp_path)
    _no_traceback(run)
    assert run.returncode == 1
    findings = _findings(run)
    assert {f["status"] for f in findings} == {"new"}
    found = [(f["file"], f["line"], f["policy_id"]) for f in findings]
    for name in names:
        _check(name, found)


@pytest.mark.parametrize(
    ("file", "content", "line"),
    [
        (".gatekeeper.yml", "severityThreshold: [\n", 2),
        (".gatekeeper.yml", "- a\n", 1),
        (".gatekeeper.yml", "sources:\n  helm:\n    renderTimeoutSeconds: soon\n", 3),
        (".gatekeeper.yml", b"a: caf\xe9\n", 1),
        (".gatekeeper.yml", "x: " + "[" * 60_000 + "]" * 60_000, 1),
        (".gatekeeper/waivers.yml", "waivers: [\n", 2),
        (".gatekeeper/waivers.yml", "waivers: hello\n", 1),
        ("policies/p.yaml", "id: [\n", 2),
        ("policies/p.yaml", b"\x00\x01", 1),
    ],
)
def test_bad_configuration_is_a_usage_error_at_its_line(
    tmp_path: Path, file: str, content: str | bytes, line: int
) -> None:
    _write(tmp_path, {file: content, "pod.yaml": POD})
    run = _cli("scan", "-p", "policies", cwd=tmp_path) if file.startswith("policies") else None
    run = run or _cli("scan", cwd=tmp_path)
    _no_traceback(run)
    assert run.returncode == 2
    assert run.stderr.startswith(f"gatekeeper: error: {file}:{line}:"), run.stderr


def test_hostile_helm_templates_hit_the_time_and_memory_limits(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            ".gatekeeper.yml": "sources:\n  helm:\n    renderTimeoutSeconds: 2\n"
            "    renderMemoryMiB: 1536\n",
            "slow/Chart.yaml": CHART,
            "slow/templates/x.yaml": "{{ range until 100000 }}{{ range until 100000 }}"
            "{{ end }}{{ end }}\n",
            "big/Chart.yaml": CHART,
            "big/templates/x.yaml": '{{ repeat 2000000000 "x" }}\n',
            "fine/Chart.yaml": CHART,
            "fine/templates/cm.yaml": CM,
        },
    )
    run = _cli("scan", "--no-builtin", "--format", "json", cwd=tmp_path)
    _no_traceback(run)
    assert run.returncode == 1
    found = {(f["file"], f["line"]): f["message"] for f in _findings(run)}
    assert "exceeded 2 s" in found[("slow/Chart.yaml", 1)]
    assert "exceeded the memory limit (1536 MiB" in found[("big/Chart.yaml", 1)]
    assert not [key for key in found if key[0].startswith("fine/")]  # the next chart renders


def test_internal_error_is_short_exits_3_and_debug_shows_the_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bug in a command (here: the scan command raising) must not pass for a verdict."""
    from gatekeeper import main
    from gatekeeper.commands import scan

    def broken(args: object) -> int:
        raise KeyError("boom")

    monkeypatch.setattr(scan, "run", broken)
    monkeypatch.delenv("GATEKEEPER_DEBUG", raising=False)
    assert main.main(["scan"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("gatekeeper: internal error: KeyError: 'boom'\n")
    assert "Traceback" not in err and "report it at" in err
    assert main.main(["scan", "--debug"]) == 3
    assert "Traceback" in capsys.readouterr().err
    assert main.main(["--debug", "scan"]) == 3
    assert "Traceback" in capsys.readouterr().err
    monkeypatch.setenv("GATEKEEPER_DEBUG", "1")
    assert main.main(["scan"]) == 3
    assert "Traceback" in capsys.readouterr().err
