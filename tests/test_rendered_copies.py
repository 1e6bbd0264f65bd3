"""Helm's output of a chart of this repository, committed beside it (examples/*/rendered/,
every document under `# Source: <chart>/templates/...`), is judged in the chart, not again
as manifests of their own (opentelemetry-helm-charts: 3,418 findings). The header hides
nothing a deployer of the repository points at: an Argo CD directory Application, a CI job
applying the folder with kubectl (not one testing on a throwaway kind cluster); nor a copy
of a chart the repository does not hold, nor an object without Helm's line above it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Run

Gatekeeper = Callable[..., Run]
Write = Callable[[str, str], Path]

RENDERED = """\
---
# Source: {chart}/templates/pod.yaml
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: web
      image: nginx:1.25
      securityContext:
        privileged: true
"""
TEMPLATE = RENDERED.split("\n", 2)[2].replace("true", "{{ .Values.privileged }}")
WORKFLOW = """\
on: push
jobs:
  e2e:
    steps:
      - uses: helm/kind-action@a1b0e391336a6ee6713a0583f8c6240d70863de3
      - run: kubectl apply -f examples/tested/rendered
  release:
    environment: production
    steps:
      - run: kubectl apply -f ./examples/shipped/rendered/
"""
APPLICATION = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: demo}
spec:
  source: {repoURL: "https://github.com/acme/charts", path: examples/argo/rendered}
"""


def test_rendered_copies_of_own_charts_are_judged_in_the_chart(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    write("charts/web/Chart.yaml", "apiVersion: v2\nname: web\nversion: 1.0.0\n")
    write("charts/web/values.yaml", "privileged: false\n")
    write("charts/web/templates/pod.yaml", TEMPLATE)
    for example in ("basic", "tested", "shipped", "argo"):
        write(f"examples/{example}/rendered/pod.yaml", RENDERED.format(chart="web"))
    write("examples/foreign/rendered/pod.yaml", RENDERED.format(chart="elsewhere"))
    extra = RENDERED.split("\n", 2)[2].replace("name: web", "name: extra")
    write("examples/mixed/rendered/pod.yaml", RENDERED.format(chart="web") + "---\n" + extra)
    write(".github/workflows/ci.yml", WORKFLOW)
    write("apps/demo.yaml", APPLICATION)
    write(
        ".gatekeeper.yml",
        "packs: [kubernetes]\nsources:\n  gitops:\n    repoURLs: [https://github.com/acme/charts]\n",
    )
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    privileged = sorted(
        {
            f["file"]
            for f in json.loads(run.stdout)["findings"]
            if f["policy_id"] == "K8S-PSS-PRIVILEGED"
        }
    )
    assert privileged == [
        "examples/argo/rendered/pod.yaml",
        "examples/foreign/rendered/pod.yaml",
        "examples/mixed/rendered/pod.yaml",
        "examples/shipped/rendered/pod.yaml",
    ]
