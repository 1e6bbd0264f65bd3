"""Path globs (include/exclude, waivers' `file`, overrides' `path`, advisoryPaths) as
gitignore and globset read them: `*` stays within a folder, `**` spans folders."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

import gatekeeper
from gatekeeper.discover import matches


@pytest.mark.parametrize(
    ("path", "pattern", "expected"),
    [
        ("apps/legacy/web.yaml", "apps/legacy/*.yaml", True),
        ("apps/legacy/tools/web.yaml", "apps/legacy/*.yaml", False),
        ("apps/legacy/tools/web.yaml", "apps/legacy/**/*.yaml", True),
        ("apps/legacy/web.yaml", "apps/legacy/**/*.yaml", True),
        ("test/pod.yaml", "**/test/**", True),
        ("a/test/b/pod.yaml", "**/test/**", True),
        ("docs/a/b.md", "docs", True),  # a folder: what is below it
        ("docs2/a.md", "docs", False),
        ("x/y/kustomization.yaml", "kustomization.yaml", True),  # a bare name: any base name
        ("a/b.yaml", "a?b.yaml", False),
        ("c.yaml", "[!ab].yaml", True),
        ("v1x2/a", "v1.2/*", False),
    ],
)
def test_globs_read_as_gitignore_does(path: str, pattern: str, expected: bool) -> None:
    assert matches(path, [pattern]) is expected


def test_a_waiver_for_one_folder_does_not_cover_a_folder_below(tmp_path: Path) -> None:
    """The attack: a waiver for `apps/legacy/*.yaml` (host namespaces, one legacy pod)
    covered `apps/legacy/tools/web.yaml`, which the PR adds."""
    pod = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: %s}\nspec:\n  hostNetwork: true\n"
        "  containers: [{name: c, image: r.example.com/x:1}]\n"
    )
    (tmp_path / "apps" / "legacy" / "tools").mkdir(parents=True)
    (tmp_path / "apps" / "legacy" / "old.yaml").write_text(pod % "old")
    (tmp_path / "apps" / "legacy" / "tools" / "web.yaml").write_text(pod % "web")
    (tmp_path / ".gatekeeper").mkdir()
    expires = (date.today() + timedelta(days=30)).isoformat()
    (tmp_path / ".gatekeeper" / "waivers.yml").write_text(
        "waivers:\n  - policy: K8S-PSS-HOST-NAMESPACES\n    file: apps/legacy/*.yaml\n"
        f"    owner: t\n    reason: r\n    ticket: T-1\n    expires: {expires}\n"
    )
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    statuses = {
        f.file: f.status
        for f in report.verdict.findings
        if f.policy_id == "K8S-PSS-HOST-NAMESPACES"
    }
    assert statuses == {"apps/legacy/old.yaml": "waived", "apps/legacy/tools/web.yaml": "new"}
