"""Without the Kubernetes schemas (the [schema] extra, left out of the light core the hook
installs) wrongly typed fields are not found: every report says so once, in no file's name,
blocking nothing, and only when Kubernetes objects were judged.

The CLI runs with kubernetes-validate hidden (`sys.modules[...] = None`), as if only the core
were installed; the same scan with it finds the GK-SCHEMA finding the notice speaks for.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from gatekeeper import kubeschema
from tests.conftest import PRIVILEGED_POLICY
from tests.test_change import Repo

WITHOUT_SCHEMAS = (
    "import sys; sys.modules['kubernetes_validate'] = None; "
    "from gatekeeper.main import main; sys.exit(main())"
)
# `replicas: '3'` (line 5): a GK-SCHEMA finding when the schemas are installed.
MISTYPED = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: '3'
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: ghcr.io/acme/web:1}]
"""
NOTE = f"note: {kubeschema.MISSING}"


def _scan(root: Path, *args: str, schemas: bool = False) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "gatekeeper"] if schemas else [sys.executable, "-c"]
    if not schemas:
        command.append(WITHOUT_SCHEMAS)
    return subprocess.run(
        [*command, "scan", *args, "--no-builtin", "--policies", "policies"],
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
        timeout=120,
    )


def _repo(tmp_path: Path) -> Path:
    for name, text in {
        "policies/no-privileged.yaml": PRIVILEGED_POLICY,
        "deploy/a.yaml": MISTYPED,
        "deploy/b.yaml": MISTYPED.replace("name: web}", "name: api}"),
        "infra/main.tf": 'resource "null_resource" "x" {}\n',
    }.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def test_without_schemas_a_scan_says_so_once_and_blocks_nothing(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    with_schemas = _scan(root, "deploy", schemas=True)
    assert with_schemas.returncode == 1, with_schemas.stdout + with_schemas.stderr
    assert with_schemas.stdout.count(" GK-SCHEMA ") == 2
    assert "note:" not in with_schemas.stdout

    run = _scan(root, "deploy")
    assert run.returncode == 0, run.stdout + run.stderr  # a notice, not a finding
    assert " GK-SCHEMA " not in run.stdout
    assert run.stdout.count(NOTE) == 1, run.stdout
    assert "[schema]" in NOTE and "additional_dependencies: [kubernetes-validate]" in NOTE
    assert run.stdout.splitlines()[-1].startswith("PASS: ")  # the verdict stays last

    report = json.loads(_scan(root, "deploy", "-f", "json").stdout)
    assert report["notices"] == [kubeschema.MISSING] and report["findings"] == []
    sarif = json.loads(_scan(root, "deploy", "-f", "sarif").stdout)
    (invocation,) = sarif["runs"][0]["invocations"]
    assert invocation["toolExecutionNotifications"] == [
        {"level": "note", "message": {"text": kubeschema.MISSING}}
    ]
    annotations = _scan(root, "deploy", "-f", "github").stdout.splitlines()
    assert annotations[0].startswith("::notice title=gatekeeper::Kubernetes objects were not")
    assert len(annotations) == 2  # the notice, then the verdict


def test_no_notice_when_no_kubernetes_object_was_judged(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    run = _scan(root, "infra", "-f", "json")
    assert run.returncode == 0, run.stdout + run.stderr
    assert json.loads(run.stdout)["notices"] == []


def test_a_pull_request_scan_says_so_too(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    repo.write("policies/no-privileged.yaml", PRIVILEGED_POLICY)
    repo.commit("base")
    repo.write("deploy/a.yaml", MISTYPED)
    repo.commit("head")
    run = subprocess.run(
        [sys.executable, "-c", WITHOUT_SCHEMAS, "scan", "--base", "HEAD~1", "-f", "json"],
        cwd=repo.root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode in (0, 1), run.stdout + run.stderr  # the built-in library judges
    assert json.loads(run.stdout)["notices"] == [kubeschema.MISSING]
