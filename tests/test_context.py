"""One repository root: the same repository scanned from any working directory, with any
form of path argument, gives the same findings at the same paths (issue 12)."""

from __future__ import annotations

import datetime
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import git
import pytest

from gatekeeper.sources import LoadContext, kustomize
from gatekeeper.tree import MemoryTree
from tests.conftest import PRIVILEGED_POD as POD
from tests.conftest import REPO, Run
from tests.test_kustomize import BASE, OVERLAY

Gatekeeper = Callable[..., Run]

EXPIRES = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()

CONFIG = """\
packs: [kubernetes]
sources:
  helm:
    charts:
      - path: charts/web
        valuesFiles: [charts/web/values-prod.yaml]
"""
WAIVERS = f"""\
waivers:
  - policy: K8S-PSS-PRIVILEGED
    file: deploy/pod.yaml
    owner: platform
    reason: the node agent needs the host
    ticket: OPS-1
    expires: {EXPIRES}
"""
# Traps around the repository: read from the wrong place, each fails the run loudly.
BROKEN_KUSTOMIZATION = "configMapGenerator: 5\nresources: [{x: 1}]\n"
BOGUS_CONFIG = "not-a-setting: true\n"


def write(root: Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """outer/ (traps) > repo/ (git): a chart with a configured values file, an overlay with
    a patch, a waived manifest; elsewhere/ (traps) is an unrelated working directory."""
    top = tmp_path_factory.mktemp("context")
    outer, repo = top / "outer", top / "outer" / "repo"
    for trap in (outer, top / "elsewhere"):
        write(trap, "kustomization.yaml", BROKEN_KUSTOMIZATION)
        write(trap, ".gatekeeper.yml", BOGUS_CONFIG)
    shutil.copytree(REPO / "tests" / "data" / "helm" / "web", repo / "charts" / "web")
    write(repo, ".gatekeeper.yml", CONFIG)
    write(repo, ".gatekeeper/waivers.yml", WAIVERS)
    write(repo, "deploy/pod.yaml", POD)
    for name, text in {**BASE, **OVERLAY}.items():  # overlays/prod patches base: privileged
        write(repo, f"k/{name}", text)
    handle = git.Repo.init(repo)
    handle.git.add("-A")
    handle.git.commit("-q", "-m", "init", "--no-gpg-sign", author="t <t@example.com>")
    return top


def scan_json(gatekeeper: Gatekeeper, cwd: Path, *args: str) -> dict[str, object]:
    run = gatekeeper("scan", "--format", "json", "--jobs", "1", *args, cwd=cwd)
    assert run.returncode == 1, run.stderr
    assert "internal error" not in run.stderr
    report: dict[str, object] = json.loads(run.stdout)
    return report


def essence(report: dict[str, object]) -> list[tuple[object, ...]]:
    findings = report["findings"]
    assert isinstance(findings, list)
    return [
        (f["file"], f["line"], f["column"], f["policy_id"], f["status"], f["fingerprint"])
        for f in findings
    ]


@pytest.fixture(scope="module")
def reference(layout: Path) -> dict[str, object]:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "gatekeeper", "scan", "--format", "json", "--jobs", "1"],
        cwd=layout / "outer" / "repo",
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    report: dict[str, object] = json.loads(proc.stdout)
    return report


def test_the_reference_scan_sees_chart_overlay_patch_and_waiver(
    reference: dict[str, object],
) -> None:
    rows = {(f["file"], f["line"], f["policy_id"]): f for f in reference["findings"]}  # type: ignore[attr-defined]
    # the chart renders with its configured values file (it turns the cache privileged)
    assert any(file.startswith("charts/web/templates/") for file, _, _ in rows)
    # the overlay's finding sits in its patch, at the line that sets it
    assert ("k/overlays/prod/privileged.yaml", 11, "K8S-PSS-PRIVILEGED") in rows
    # the patch is a partial object, not a manifest of its own
    patch = [f for f in reference["findings"] if f["file"] == "k/overlays/prod/privileged.yaml"]  # type: ignore[attr-defined]
    assert {f["source"] for f in patch} == {"kustomize"}
    # the root's waivers apply
    assert rows[("deploy/pod.yaml", 9, "K8S-PSS-PRIVILEGED")]["status"] == "waived"


FORMS = {
    "repo root, .": ("outer/repo", ["."]),
    "repo root, no argument": ("outer/repo", []),
    "parent, relative path": ("outer", ["repo"]),
    "subfolder, ../..": ("outer/repo/k/overlays/prod", ["../../.."]),
    "unrelated cwd, absolute path": ("elsewhere", ["{repo}"]),
    "subfolder, absolute path": ("outer/repo/deploy", ["{repo}"]),
    "filesystem root, absolute path": ("/", ["{repo}"]),
}


@pytest.mark.parametrize("form", FORMS, ids=list(FORMS))
def test_same_findings_and_paths_from_any_working_directory(
    gatekeeper: Gatekeeper, layout: Path, reference: dict[str, object], form: str
) -> None:
    cwd, args = FORMS[form]
    repo = layout / "outer" / "repo"
    report = scan_json(gatekeeper, layout / cwd, *(a.format(repo=repo) for a in args))
    assert essence(report) == essence(reference)
    assert report["summary"] == reference["summary"]


@pytest.mark.parametrize(
    ("cwd", "arg"),
    [("outer/repo/k", "."), ("outer/repo/k", "{repo}/k"), ("/", "{repo}/k"), ("outer", "repo/k")],
)
def test_sarif_paths_are_relative_to_the_root(
    gatekeeper: Gatekeeper, layout: Path, cwd: str, arg: str
) -> None:
    repo = layout / "outer" / "repo"
    run = gatekeeper(
        "scan", "--format", "sarif", "--jobs", "1", arg.format(repo=repo), cwd=layout / cwd
    )
    assert run.returncode == 1, run.stderr
    uris = {
        location["physicalLocation"]["artifactLocation"]["uri"]
        for result in json.loads(run.stdout)["runs"][0]["results"]
        for location in result["locations"]
    }
    assert uris == {
        "k/base/deploy.yaml",
        "k/overlays/prod/kustomization.yaml",
        "k/overlays/prod/privileged.yaml",
    }


def test_a_path_outside_the_given_root_is_a_usage_error(
    gatekeeper: Gatekeeper, layout: Path
) -> None:
    run = gatekeeper("scan", "--root", "repo/k", "repo/deploy", cwd=layout / "outer")
    assert run.returncode == 2
    assert "outside the repository root" in run.stderr


def test_without_git_the_nearest_config_marks_the_root(
    gatekeeper: Gatekeeper, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    write(project, ".gatekeeper.yml", "packs: [kubernetes]\nseverityThreshold: critical\n")
    write(project, "apps/web/pod.yaml", POD)
    inside = gatekeeper("scan", "--format", "json", ".", cwd=project / "apps")
    outside = gatekeeper("scan", "--format", "json", str(project / "apps"), cwd=tmp_path)
    for run in (inside, outside):
        report = json.loads(run.stdout)
        assert report["threshold"] == "critical"  # the project's config, not the cwd's
        assert {f["file"] for f in report["findings"]} == {"apps/web/pod.yaml"}
    assert essence(json.loads(inside.stdout)) == essence(json.loads(outside.stdout))


def test_without_git_a_nested_config_is_refused_not_taken_as_the_root(
    gatekeeper: Gatekeeper, tmp_path: Path
) -> None:
    """A source archive scanned by folder: a change adding apps/.gatekeeper.yml (threshold
    critical) must not silently replace the project's configuration: both are named, exit 2."""
    project = tmp_path / "project"
    write(project, ".gatekeeper.yml", "packs: [kubernetes]\n")
    write(project, "apps/pod.yaml", POD)
    write(project, "apps/.gatekeeper.yml", "severityThreshold: critical\n")
    nested = gatekeeper("scan", "--format", "json", "apps", cwd=project)
    assert nested.returncode == 2, nested.stdout
    assert f"{project / 'apps' / '.gatekeeper.yml'}:1" in nested.stderr
    assert f"{project / '.gatekeeper.yml'}:1" in nested.stderr
    chosen = gatekeeper("scan", "--format", "json", "--root", ".", "apps", cwd=project)
    assert chosen.returncode == 1 and "no git repository" not in chosen.stderr
    (project / "apps" / ".gatekeeper.yml").unlink()
    single = gatekeeper("scan", "--format", "json", "apps", cwd=project)
    assert single.returncode == 1
    assert f"no git repository: root {project}, configuration {project / '.gatekeeper.yml'}" in (
        single.stderr
    )


def test_a_temporary_or_home_directory_is_never_the_root(
    gatekeeper: Gatekeeper, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scanning a folder from the directory above it makes that directory the root, unless it
    is a home, temporary or top-level directory: from /tmp an empty folder's scan walked and
    read all of /tmp (526 s, 8 GB), and a sibling's workloads counted for the repository."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the runs' temporary directory
    write(tmp_path, "project/apps/pod.yaml", POD)
    write(tmp_path, "sibling/other.yaml", POD)
    above = gatekeeper("scan", "--format", "json", "project", cwd=tmp_path)
    inside = gatekeeper("scan", "--format", "json", ".", cwd=tmp_path / "project")
    for run in (above, inside):
        files = {f["file"] for f in json.loads(run.stdout)["findings"]}
        assert files == {"apps/pod.yaml"}, files
    assert essence(json.loads(above.stdout)) == essence(json.loads(inside.stdout))


def test_kustomize_owner_search_survives_badly_shaped_kustomizations() -> None:
    tree = MemoryTree(
        {
            "k/odd/kustomization.yaml": BROKEN_KUSTOMIZATION.encode(),
            "k/gen/kustomization.yaml": b"configMapGenerator:\n  - {name: x, files: 5}\n",
            "k/app/kustomization.yaml": b"resources: [pod.yaml]\npatches: 3\n",
            "k/app/pod.yaml": POD.encode(),
        }
    )
    owners = kustomize.owners("k/app/pod.yaml", LoadContext(tree=tree))
    assert owners == ["k/app/kustomization.yaml"]


def test_a_missing_chart_in_the_config_is_an_error_at_its_line(
    gatekeeper: Gatekeeper, tmp_path: Path
) -> None:
    write(tmp_path, "deploy/pod.yaml", POD)
    write(
        tmp_path,
        ".gatekeeper.yml",
        "sources:\n  helm:\n    charts:\n      - path: charts/wbe\n",
    )
    run = gatekeeper("scan", "deploy", cwd=tmp_path)
    assert run.returncode == 2, run.stdout + run.stderr
    where = ".gatekeeper.yml:4: sources.helm.charts[0].path:"
    assert f"{where} 'charts/wbe/Chart.yaml' is not a chart" in run.stderr
    shutil.copytree(REPO / "tests" / "data" / "helm" / "web", tmp_path / "charts" / "wbe")
    write(
        tmp_path,
        ".gatekeeper.yml",
        "sources:\n  helm:\n    charts:\n      - path: charts/wbe\n"
        "        valuesFiles:\n          - charts/wbe/values-prd.yaml\n",
    )
    run = gatekeeper("scan", "deploy", cwd=tmp_path)
    assert run.returncode == 2
    where = ".gatekeeper.yml:6: sources.helm.charts[0].valuesFiles[0]:"
    assert f"{where} 'charts/wbe/values-prd.yaml' is not a file" in run.stderr


def test_a_scan_that_recognises_no_file_says_so(gatekeeper: Gatekeeper, tmp_path: Path) -> None:
    write(tmp_path, "src/app.py", "print('hello')\n")
    write(tmp_path, "README.md", "# app\n")
    run = gatekeeper("scan", cwd=tmp_path)
    assert run.returncode == 0
    assert "no file was recognised" in run.stderr
    assert "2 files looked at" in run.stderr
    assert "no file was recognised" not in gatekeeper("scan", "-q", cwd=tmp_path).stderr
    # a commit of code files is the hook's common case: no note there
    hook = gatekeeper("scan", "--hook", "src/app.py", cwd=tmp_path)
    assert hook.returncode == 0 and hook.stderr == ""


def test_change_scan_and_inventory_are_the_same_from_a_subfolder(
    gatekeeper: Gatekeeper, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    write(repo, ".gatekeeper.yml", CONFIG.split("sources:")[0])
    write(repo, "deploy/pod.yaml", POD.replace("true", "false"))
    handle = git.Repo.init(repo, initial_branch="main")
    handle.git.add("-A")
    handle.git.commit("-q", "-m", "init", "--no-gpg-sign", author="t <t@example.com>")
    handle.git.checkout("-q", "-b", "feature")
    write(repo, "deploy/pod.yaml", POD)
    handle.git.commit("-q", "-am", "privileged", "--no-gpg-sign", author="t <t@example.com>")
    outputs = []
    for cwd, extra in ((repo, []), (repo / "deploy", []), (tmp_path, ["--root", str(repo)])):
        run = gatekeeper("scan", "--base", "main", "--format", "json", *extra, cwd=cwd)
        assert run.returncode == 1, run.stderr
        outputs.append(essence(json.loads(run.stdout)))
    assert outputs[0] == outputs[1] == outputs[2]
    assert ("deploy/pod.yaml", 9, 9, "K8S-PSS-PRIVILEGED", "new") in [row[:5] for row in outputs[0]]
    sboms = [
        gatekeeper("inventory", *args, cwd=cwd).stdout
        for cwd, args in ((repo, []), (repo / "deploy", [".."]), (tmp_path, [str(repo)]))
    ]
    assert sboms[0] and all(
        json.loads(sbom)["components"] == json.loads(sboms[0])["components"] for sbom in sboms
    )


def test_a_missing_chart_in_the_base_config_is_an_error_in_a_change_scan(
    gatekeeper: Gatekeeper, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    write(repo, ".gatekeeper.yml", "sources:\n  helm:\n    charts:\n      - path: charts/web\n")
    write(repo, "deploy/pod.yaml", POD)
    handle = git.Repo.init(repo, initial_branch="main")
    handle.git.add("-A")
    handle.git.commit("-q", "-m", "init", "--no-gpg-sign", author="t <t@example.com>")
    run = gatekeeper("scan", "--base", "main", cwd=repo)
    assert run.returncode == 2, run.stdout + run.stderr
    assert ".gatekeeper.yml:4: sources.helm.charts[0].path:" in run.stderr


def test_a_symlink_out_of_the_repository_is_named_in_it_and_not_read(
    gatekeeper: Gatekeeper, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    write(tmp_path, "secret/pod.yaml", POD)
    write(repo, "deploy/ok.yaml", POD.replace("true", "false"))
    (repo / "deploy" / "link.yaml").symlink_to(tmp_path / "secret" / "pod.yaml")
    (repo / "deploy" / "linkdir").symlink_to(tmp_path / "secret")
    git.Repo.init(repo)
    for cwd, arg in ((repo, "deploy"), (tmp_path, str(repo / "deploy"))):
        run = gatekeeper("scan", "--format", "json", arg, cwd=cwd)
        findings = json.loads(run.stdout)["findings"]
        link = [f for f in findings if f["file"] == "deploy/link.yaml"]
        assert [(f["policy_id"], f["line"]) for f in link] == [("GK-SYMLINK", 1)]
        assert "outside the repository" in link[0]["message"]
        assert not any("secret" in f["file"] or f["file"].startswith("/") for f in findings)
    for arg in ("deploy/linkdir", "deploy/link.yaml"):
        refused = gatekeeper("scan", arg, cwd=repo)
        assert refused.returncode == 2
        assert "outside the repository root" in refused.stderr


def test_lock_writes_beside_the_roots_config_from_a_subfolder(
    gatekeeper: Gatekeeper, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    write(repo, ".gatekeeper.yml", "packs: [kubernetes]\n")
    write(repo, "deploy/pod.yaml", POD)
    git.Repo.init(repo)
    run = gatekeeper("lock", cwd=repo / "deploy")
    assert run.returncode == 0, run.stderr
    assert (repo / "gatekeeper.lock").is_file()
    assert not (repo / "deploy" / "gatekeeper.lock").exists()
    assert "gatekeeper.lock: written" in run.stderr


NETWORK_POLICY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: team}
spec: {podSelector: {}, policyTypes: [Ingress]}
"""


def test_scanning_part_of_a_repository_judges_it_as_the_whole_does(
    gatekeeper: Gatekeeper, tmp_path: Path
) -> None:
    """Repository-scope policies see the objects beside the scanned folder (the team's
    NetworkPolicy lives in another folder), and report nothing about files not scanned."""
    repo = tmp_path / "repo"
    write(repo, ".gatekeeper.yml", "packs: [kubernetes]\n")
    write(repo, "apps/pod.yaml", POD)
    write(repo, "netpol/team.yaml", NETWORK_POLICY)
    write(repo, "other/pod.yaml", POD.replace("namespace: team", "namespace: lonely"))
    git.Repo.init(repo)

    def findings(*args: str) -> list[tuple[str, int, str]]:
        run = gatekeeper("scan", "--format", "json", *args, cwd=repo)
        return [(f["file"], f["line"], f["policy_id"]) for f in json.loads(run.stdout)["findings"]]

    whole, part = findings(), findings("apps")
    assert part == [row for row in whole if row[0].startswith("apps/")]
    assert not any(policy == "K8S-NETWORK-POLICY-PRESENT" for _, _, policy in part)
    assert ("other/pod.yaml", 3, "K8S-NETWORK-POLICY-PRESENT") in whole
    api = gatekeeper_api_rows(repo / "apps")
    assert api == part


def gatekeeper_api_rows(path: Path) -> list[tuple[str, int, str]]:
    import gatekeeper as api

    report = api.scan(path, jobs=1)
    return [(f.file, f.line, f.policy_id) for f in report.verdict.findings]


def test_admission_policies_of_a_policy_directory_apply_from_any_directory(
    gatekeeper: Gatekeeper, tmp_path: Path
) -> None:
    from tests.test_admission import NAMESPACES, REPLICA_LIMIT, deployment

    write(tmp_path, "org-policies/replicas.yaml", REPLICA_LIMIT)
    repo = tmp_path / "repo"
    write(repo, "namespaces.yaml", NAMESPACES)
    write(repo, "apps/web.yaml", deployment("web", "test", 7))
    git.Repo.init(repo)
    rows = []
    for cwd, args in ((repo, ["."]), (repo / "apps", [".."]), (tmp_path, [str(repo)])):
        run = gatekeeper(
            "scan", *args, "--no-builtin", "-p", str(tmp_path / "org-policies"), "-f", "json",
            cwd=cwd,
        )  # fmt: skip
        assert run.returncode == 1, run.stderr
        rows.append(
            [(f["policy_id"], f["file"], f["line"]) for f in json.loads(run.stdout)["findings"]]
        )
    assert rows[0] == rows[1] == rows[2] == [("VAP-replica-limit", "apps/web.yaml", 9)]
    hook = gatekeeper(
        "scan",
        "--hook",
        "apps/web.yaml",
        "--no-builtin",
        "-p",
        str(tmp_path / "org-policies"),
        cwd=repo,
    )
    assert hook.returncode == 1 and "VAP-replica-limit" in hook.stdout


def test_a_scan_of_the_root_walks_it_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rest of the root that repository-scope policies see (context.rest_of) is the
    scan's own walk when the scan is of the root; scanning a folder walks the root too."""
    import gatekeeper as api
    from gatekeeper import discover

    repo = tmp_path / "repo"
    write(repo, ".gatekeeper.yml", "packs: [kubernetes]\n")
    write(repo, "apps/pod.yaml", POD)
    write(repo, "other/pod.yaml", POD.replace("namespace: team", "namespace: lonely"))
    git.Repo.init(repo)
    walked: list[list[str]] = []
    walk = discover.walk

    def counted(paths: list[str], root: Path) -> Any:
        walked.append([Path(path).name for path in paths])
        return walk(paths, root)

    monkeypatch.setattr(discover, "walk", counted)
    whole = api.scan(repo, jobs=1).verdict.findings
    assert walked == [["repo"]]
    assert ("other/pod.yaml", "K8S-NETWORK-POLICY-PRESENT") in [
        (f.file, f.policy_id) for f in whole
    ]
    walked.clear()
    api.scan(repo / "apps", jobs=1)
    assert walked == [["apps"], ["repo"]]
