"""A manifest a CI step fills with envsubst is judged with the values the CI file gives it
(red team s14 v03: `hostPID: ${DEBUG:-false}` under the job's `DEBUG: "true"` was judged as
its default, false, and passed), in a flow mapping too; a change to the manifest alone judges
the workflow's filling again."""

from __future__ import annotations

from pathlib import Path

import gatekeeper
from gatekeeper.change import scan_change
from tests.test_change import Repo

MANIFEST = """\
apiVersion: v1
kind: Pod
metadata: {name: agent, namespace: app}
spec:
  hostPID: ${DEBUG:-false}
  containers:
    - name: agent
      image: ghcr.io/acme/agent:1.0
      securityContext: {privileged: ${DEBUG:-false}}
"""
WORKFLOW = """\
on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    env: {DEBUG: "%s", OTHER: "${{ vars.OTHER }}"}
    steps:
      - run: envsubst < deploy/agent.yaml | kubectl apply -f -
"""
JUDGED = ("K8S-PSS-HOST-NAMESPACES", "K8S-PSS-PRIVILEGED")


def _files(debug: str) -> dict[str, str]:
    return {".github/workflows/deploy.yml": WORKFLOW % debug, "deploy/agent.yaml": MANIFEST}


def test_the_values_the_job_gives_fill_the_manifest(tmp_path: Path) -> None:
    def found(debug: str) -> list[tuple[str, int]]:
        root = tmp_path / debug
        for name, text in _files(debug).items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        report = gatekeeper.scan(root, root=root, jobs=1)
        found = report.verdict.findings
        return sorted((f.policy_id, f.line) for f in found if f.policy_id in JUDGED)

    assert found("true") == [("K8S-PSS-HOST-NAMESPACES", 5), ("K8S-PSS-PRIVILEGED", 9)]
    assert found("false") == []


def test_a_change_to_the_manifest_alone_is_judged_with_them(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    for name, text in _files("true").items():
        repo.write(name, text.replace("${DEBUG:-false}", "false"))
    repo.commit("base")
    repo.branch("pr")
    repo.write("deploy/agent.yaml", MANIFEST)
    repo.commit("placeholders")
    findings = scan_change(repo.root, "main").verdict.findings
    assert sorted((f.policy_id, f.status) for f in findings if f.policy_id in JUDGED) == [
        ("K8S-PSS-HOST-NAMESPACES", "new"),
        ("K8S-PSS-PRIVILEGED", "new"),
    ]


def test_a_switch_ci_computes_is_judged_the_other_way(tmp_path: Path) -> None:
    """`hostPID: ${NODE_ACCESS:-false}` under `NODE_ACCESS: ${{ vars.NODE_ACCESS }}`: the
    repository's settings make it true without a review (red team s14 v03, VAR=NODE_ACCESS);
    a switch no CI value names, or one written as false, keeps its default."""

    def found(env: str) -> list[tuple[str, int]]:
        root = tmp_path / str(len(list(tmp_path.iterdir())))
        files = {
            ".github/workflows/deploy.yml": WORKFLOW.replace(
                'env: {DEBUG: "%s", OTHER: "${{ vars.OTHER }}"}', f"env: {{{env}}}"
            ),
            "deploy/agent.yaml": MANIFEST.replace("DEBUG", "NODE_ACCESS"),
        }
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        report = gatekeeper.scan(root, root=root, jobs=1)
        found = report.verdict.findings
        return sorted((f.policy_id, f.line) for f in found if f.policy_id in JUDGED)

    assert found('NODE_ACCESS: "${{ vars.NODE_ACCESS }}"') == [
        ("K8S-PSS-HOST-NAMESPACES", 5),
        ("K8S-PSS-PRIVILEGED", 9),
    ]
    assert found("NODE_ACCESS: $EXPORTED_EARLIER") == [
        ("K8S-PSS-HOST-NAMESPACES", 5),
        ("K8S-PSS-PRIVILEGED", 9),
    ]
    assert found('NODE_ACCESS: "false"') == []
    assert found('OTHER: "${{ vars.OTHER }}"') == []
