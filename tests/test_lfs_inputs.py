"""Git LFS pointers among the files a rendering or a followed script reads: what the deployer
or the runner gets is the stored content, never judged here (red team r21, r22 of session
10: a chart helper and a release script behind pointers passed)."""

from __future__ import annotations

from pathlib import Path

import gatekeeper

POINTER = (
    "version https://git-lfs.github.com/spec/v1\n"
    "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
    "size 12345\n"
)
WORKFLOW = """\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683
        with: {lfs: true}
      - run: bash hack/release.sh
"""


def _found(root: Path) -> list[tuple[str, str, int]]:
    report = gatekeeper.scan(root, root=root, jobs=1)
    return sorted((f.policy_id, f.file, f.line) for f in report.verdict.findings)


def test_a_chart_file_behind_a_pointer_is_said_once(tmp_path: Path) -> None:
    chart = tmp_path / "charts" / "app"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: app\nversion: 0.1.0\n")
    (chart / "templates" / "_base.tpl").write_text(POINTER)
    (chart / "templates" / "pod.yaml").write_text(POINTER)
    assert [f for f in _found(tmp_path) if f[0].startswith("GK-")] == [
        ("GK-LFS-POINTER", "charts/app/templates/_base.tpl", 1),
        ("GK-LFS-POINTER", "charts/app/templates/pod.yaml", 1),
    ]


def test_a_script_a_workflow_runs_behind_a_pointer_cannot_be_read(tmp_path: Path) -> None:
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "release.yml").write_text(WORKFLOW)
    (tmp_path / "hack").mkdir()
    (tmp_path / "hack" / "release.sh").write_text(POINTER)
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    deploys = [f for f in report.verdict.findings if f.policy_id == "WF-GITOPS-IMPERATIVE-DEPLOY"]
    assert [(f.file, f.line) for f in deploys] == [("hack/release.sh", 1)]
    assert "Git LFS pointer" in deploys[0].message
    # the same script committed as text: its commands are judged, not the pointer
    (tmp_path / "hack" / "release.sh").write_text("echo release\n")
    again = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1).verdict.findings
    assert not [f for f in again if f.policy_id == "WF-GITOPS-IMPERATIVE-DEPLOY"]
