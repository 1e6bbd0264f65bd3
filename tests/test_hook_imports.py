"""A hook imports only the source adapters its files need (gatekeeper.sources.names), and
the owners it finds that way are those every adapter would find."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gatekeeper.sources import REGISTRY, LoadContext, with_owners
from gatekeeper.tree import MemoryTree, WorkTree

MANIFEST = b"""apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers: [{name: web, image: nginx}]
"""


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def _imported_by_hook(repo: Path, file: str) -> set[str]:
    """The gatekeeper.sources modules a `scan --hook file` run in `repo` imported."""
    program = (
        "import atexit, json, sys\n"
        "atexit.register(lambda: print(json.dumps(sorted(sys.modules)), file=sys.stderr))\n"
        "from gatekeeper.main import main\n"
        f"main(['scan', '--hook', {file!r}])\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", program],
        cwd=repo,
        capture_output=True,
        text=True,
        env={**os.environ, "GATEKEEPER_CACHE_DIR": str(repo.parent / "cache")},
    )
    assert proc.returncode in (0, 1), proc.stderr
    modules = json.loads(proc.stderr.strip().splitlines()[-1])
    prefix = "gatekeeper.sources."
    return {name.removeprefix(prefix) for name in modules if name.startswith(prefix)}


def test_a_hook_on_a_manifest_imports_no_chart_workflow_or_dockerfile_code(
    tmp_path: Path,
) -> None:
    repo = tmp_path / "repo"
    (repo / "deploy").mkdir(parents=True)
    (repo / "deploy/pod.yaml").write_bytes(MANIFEST)
    (repo / "charts/web/templates").mkdir(parents=True)
    (repo / "charts/web/Chart.yaml").write_text("apiVersion: v2\nname: web\nversion: 0.1.0\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    imported = _imported_by_hook(repo, "deploy/pod.yaml")
    assert "kubernetes" in imported
    assert not imported & {"helm", "helm_cli", "workflow", "dockerfile"}, imported
    # A file of a chart still brings the Helm adapter (its Chart.yaml renders it); no
    # Compose, Terraform or Kustomize code, which no file of the repository calls for.
    (repo / "charts/web/values.yaml").write_text("replicas: 1\n")
    imported = _imported_by_hook(repo, "charts/web/values.yaml")
    assert "helm" in imported
    assert not imported & {"compose", "compose_env", "terraform", "kustomize"}, imported


TREE = {
    "charts/web/Chart.yaml": b"apiVersion: v2\nname: web\nversion: 0.1.0\n",
    "charts/web/values.yaml": b"replicas: 1\n",
    "charts/web/templates/deploy.yaml": b"kind: Deployment\n",
    "charts/web/charts/sub/Chart.yaml": b"apiVersion: v2\nname: sub\nversion: 0.1.0\n",
    "charts/web/charts/sub/values.yaml": b"a: 1\n",
    "env/prod-values.yaml": b"replicas: 3\n",
    "apps/base/kustomization.yaml": b"resources: [deploy.yaml]\nconfigMapGenerator:\n"
    b"- name: c\n  envs: [app.env]\n",
    "apps/base/deploy.yaml": MANIFEST,
    "apps/base/app.env": b"A=1\n",
    "apps/prod/kustomization.yaml": b"resources: [../base]\n",
    "compose.yaml": b"include: [svc/compose.more.yaml]\nservices:\n  web:\n"
    b"    build: {context: ., dockerfile: docker/Dockerfile, args: {UID: '0'}}\n",
    "svc/compose.more.yaml": b"services: {db: {image: postgres}}\n",
    ".github/workflows/ci.yml": b"on: push\njobs:\n  b:\n    runs-on: ubuntu-latest\n"
    b"    steps:\n    - run: make deploy && ./scripts/release && scripts/up.sh\n"
    b"    - run: docker build --build-arg UID=0 -f docker/Dockerfile .\n",
    "Makefile": b"deploy:\n\tkubectl apply -f apps/base/deploy.yaml\n",
    "scripts/release": b"#!/bin/sh\nhelm upgrade web charts/web\n",
    "scripts/up.sh": b"kubectl apply -f deploy/\n",
    "docker/Dockerfile": b"FROM alpine\nARG UID\nUSER $UID\n",
    ".gitlab-ci.yml": b"include:\n  - local: ci/jobs.yml\n",
    "ci/jobs.yml": b"deploy:\n  script: [kubectl apply -f deploy/]\n",
    "action.yml": b"runs: {using: composite, steps: [{run: make deploy, shell: bash}]}\n",
    "infra/main.tf": b'module "net" {\n  source = "../modules/net"\n  cidr = var.cidr\n}\n',
    "infra/variables.tf": b'variable "cidr" {}\n',
    "infra/prod.tfvars": b'cidr = "0.0.0.0/0"\n',
    "modules/net/main.tf": b'resource "aws_vpc" "v" {\n  cidr_block = var.cidr\n}\n',
    "modules/net/variables.tf": b'variable "cidr" {}\n',
    "deploy/pod.yaml": MANIFEST,
    "README.md": b"# docs\n",
    "live/terragrunt.hcl": b'terraform {\n  source = "../modules/net"\n}\n',
    "infra/.terraform/modules/net/main.tf": b'variable "cidr" {}\n',
    "svc/docker-compose.override.yml": b"services:\n"
    b"  db: {build: {dockerfile: ../docker/Dockerfile}}\n",
}
OPTIONS = {"helm": {"charts": [{"path": "charts/web", "valuesFiles": ["env/prod-values.yaml"]}]}}


def _every_adapter(paths: list[str], context: LoadContext) -> list[str]:
    """with_owners as it was: every adapter imported and asked."""
    out, seen = list(paths), set(paths)
    for name in REGISTRY:
        owners = getattr(importlib.import_module(f"gatekeeper.sources.{name}"), "owners", None)
        for path in paths if owners is not None else []:
            for owner in owners(path, context):
                if owner not in seen and context.tree.exists(owner):
                    seen.add(owner)
                    out.append(owner)
    return out


@pytest.mark.parametrize("options", [{}, OPTIONS])
def test_owners_found_without_importing_are_those_of_every_adapter(
    tmp_path: Path, options: dict[str, dict[str, object]]
) -> None:
    paths = [*TREE, "absent/pod.yaml", "charts/web/templates/new.yaml", "Taskfile.yml"]
    for file, data in TREE.items():
        (tmp_path / file).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / file).write_bytes(data)
    (tmp_path / "scripts/release").chmod(0o755)
    for make_tree in (lambda: MemoryTree(dict(TREE)), lambda: WorkTree(tmp_path)):
        for path in paths:
            expected = _every_adapter([path], LoadContext(make_tree(), options))
            assert with_owners([path], LoadContext(make_tree(), options)) == expected, path
        expected = _every_adapter(paths, LoadContext(make_tree(), options))
        assert with_owners(paths, LoadContext(make_tree(), options)) == expected
    # The tree gives owners of each kind, so the comparison above tests something.
    found = set(with_owners(paths, LoadContext(MemoryTree(dict(TREE)), OPTIONS)))
    assert {"charts/web/Chart.yaml", "apps/base/kustomization.yaml", "docker/Dockerfile"} <= found
