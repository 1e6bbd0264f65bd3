"""A CI script line that several jobs or workflows run is said once (gatekeeper.run_by), and
still answers for every job: waivers, inline skips and `scan --base` on real git repos."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import git
import pytest

from gatekeeper.change import scan_change
from gatekeeper.finding import Finding
from tests.conftest import Run

Gatekeeper = Callable[..., Run]

POLICY = "WF-GITOPS-IMPERATIVE-DEPLOY"
SCRIPT = "#!/bin/sh\nset -e\nkubectl apply -f k8s/\n"  # line 3


def workflow(*jobs: str) -> str:
    rows = ["on: push", "jobs:"]
    for job in jobs:
        rows += [
            f"  {job}:",
            "    runs-on: ubuntu-latest",
            "    steps:",
            "      - run: ./deploy.sh",
        ]
    return "\n".join(rows) + "\n"


class Repo:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.git = git.Repo.init(root, initial_branch="main")
        with self.git.config_writer() as config:
            config.set_value("user", "name", "test")
            config.set_value("user", "email", "test@example.com")
            config.set_value("commit", "gpgsign", "false")

    def write(self, name: str, text: str) -> None:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def commit(self) -> None:
        self.git.git.add("-A")
        self.git.git.commit("-q", "-m", "change")


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    made = Repo(tmp_path)
    made.write("deploy.sh", SCRIPT)
    (tmp_path / "deploy.sh").chmod(0o755)
    return made


def deploys(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.policy_id == POLICY and f.file == "deploy.sh"]


def scanned(gatekeeper: Gatekeeper, repo: Repo) -> list[dict[str, Any]]:
    run = gatekeeper("scan", ".", "--format", "json", cwd=repo.root)
    found: list[dict[str, Any]] = json.loads(run.stdout)["findings"]
    return [f for f in found if f["policy_id"] == POLICY and f["file"] == "deploy.sh"]


def test_a_script_line_run_by_several_jobs_is_said_once_naming_them(
    repo: Repo, gatekeeper: Gatekeeper
) -> None:
    """external-secrets' e2e/run.sh: 12 findings on 4 lines, one per job running it."""
    repo.write(".github/workflows/e2e.yml", workflow("test-aws", "test-gcp"))
    repo.write(".github/workflows/nightly.yml", workflow("test-aws"))
    repo.commit()
    (finding,) = scanned(gatekeeper, repo)
    assert finding["line"] == 3
    assert finding["extra"]["run_by"] == [
        ".github/workflows/e2e.yml job test-aws",
        ".github/workflows/e2e.yml job test-gcp",
        ".github/workflows/nightly.yml job test-aws",
    ]
    message = finding["message"]
    assert message.startswith("imperative deploy from CI in job test-aws: kubectl apply")
    assert message.endswith(
        "; also run by .github/workflows/e2e.yml job test-gcp,"
        " .github/workflows/nightly.yml job test-aws"
    )
    assert len(finding["extra"]["run_by_fingerprints"]) == 2


def _waivers(repo: Repo, *prints: str) -> None:
    expires = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()
    rows = ["waivers:"] + [
        f"  - {{policy: {POLICY}, fingerprint: '{printed}', owner: me, reason: r,"
        f" ticket: T-1, expires: '{expires}'}}"
        for printed in prints
    ]
    repo.write(".gatekeeper/waivers.yml", "\n".join(rows) + "\n")


def test_a_waiver_of_one_job_does_not_waive_the_line_for_the_others(
    repo: Repo, gatekeeper: Gatekeeper
) -> None:
    """Before the merge a waiver naming test-aws's fingerprint waived that job's finding
    alone: the merged finding is waived only when every job's is."""
    repo.write(".github/workflows/e2e.yml", workflow("test-aws", "test-gcp"))
    repo.commit()
    (merged,) = scanned(gatekeeper, repo)
    aws = merged["fingerprint"]
    (gcp,) = [twin["fingerprint"] for twin in merged["extra"]["run_by_fingerprints"]]
    for waived, status in (((aws,), "new"), ((gcp,), "new"), ((aws, gcp), "waived")):
        _waivers(repo, *waived)
        repo.commit()
        (finding,) = scanned(gatekeeper, repo)
        assert (finding["status"], finding["blocking"]) == (status, status == "new"), waived


def test_scan_base_sees_a_job_newly_running_the_line_and_nothing_else(repo: Repo) -> None:
    """A pull request adding a job (more privileges, another target) that runs a known
    line is new, as its own finding was before the merge; reordering or removing jobs (the
    kept job's fingerprint changes) is neither new nor fixed, and an inline skip the base
    had does not speak for the new job."""
    repo.write(".github/workflows/e2e.yml", workflow("test-aws", "test-gcp", "test-azure"))
    repo.commit()
    repo.git.git.checkout("-q", "-b", "pr")
    repo.write(".github/workflows/e2e.yml", workflow("test-gcp", "test-azure"))
    repo.commit()
    (finding,) = deploys(scan_change(repo.root, "main", filter_mode="all").verdict.findings)
    assert (finding.status, finding.blocking) == ("existing", False)
    repo.write(".github/workflows/e2e.yml", workflow("test-gcp", "test-azure", "prod"))
    repo.commit()
    (finding,) = deploys(scan_change(repo.root, "main", filter_mode="all").verdict.findings)
    assert (finding.status, finding.blocking) == ("new", True)
    assert finding.message.endswith(
        "; newly deployed by this change: .github/workflows/e2e.yml job prod"
    )
    repo.git.git.checkout("-q", "main")
    skip = f"# gatekeeper:skip={POLICY} the e2e cluster\nkubectl"
    repo.write("deploy.sh", SCRIPT.replace("kubectl", skip))
    repo.commit()
    repo.git.git.checkout("-q", "pr")
    repo.git.git.merge("-q", "main")
    (finding,) = deploys(scan_change(repo.root, "main", filter_mode="all").verdict.findings)
    assert (finding.status, finding.blocking) == ("new", True)


def test_a_file_waiver_of_the_base_does_not_cover_a_job_newly_running_the_line(
    repo: Repo,
) -> None:
    """A waiver the base had for the script (its file) covered the jobs running it then; a
    job the pull request adds was its own new finding, beyond that waiver (red team r09's
    rule): still so when the line is said once."""
    expires = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()
    repo.write(
        ".gatekeeper/waivers.yml",
        f"waivers:\n  - {{policy: {POLICY}, file: deploy.sh, owner: me, reason: e2e cluster,"
        f" ticket: T-1, expires: '{expires}'}}\n",
    )
    repo.write(".github/workflows/e2e.yml", workflow("test-aws", "test-gcp"))
    repo.commit()
    repo.git.git.checkout("-q", "-b", "pr")
    repo.write(".github/workflows/e2e.yml", workflow("test-gcp", "test-aws"))
    repo.commit()
    (finding,) = deploys(scan_change(repo.root, "main", filter_mode="all").verdict.findings)
    assert (finding.status, finding.blocking) == ("waived", False)
    repo.write(".github/workflows/e2e.yml", workflow("test-aws", "test-gcp", "prod"))
    repo.commit()
    (finding,) = deploys(scan_change(repo.root, "main", filter_mode="all").verdict.findings)
    assert (finding.status, finding.blocking) == ("new", True)
