"""Argo CD Applications deploying from this repository: what they deploy is evaluated."""

from __future__ import annotations

from typing import Any

from gatekeeper.evaluate import Engine
from gatekeeper.policy.loader import load_policy_file
from gatekeeper.scanner import scan
from gatekeeper.sources import LoadContext
from gatekeeper.tree import MemoryTree
from tests.conftest import REPO

DATA = REPO / "tests" / "data" / "helm" / "web"
PRIVILEGED = REPO / "policies" / "kubernetes" / "pss-baseline-privileged.yaml"

APPS = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web-prod, namespace: argocd}
spec:
  project: web
  destination: {server: https://kubernetes.default.svc, namespace: web-prod}
  source:
    repoURL: https://github.com/acme/platform.git
    targetRevision: v1.0.0
    path: charts/web
    helm:
      valueFiles: [values-prod.yaml]
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: tools, namespace: argocd}
spec:
  project: tools
  destination: {namespace: tools}
  source:
    repoURL: https://github.com/acme/platform
    path: manifests/tools
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: elsewhere, namespace: argocd}
spec:
  project: x
  source: {repoURL: https://github.com/other/repo, path: manifests/tools}
"""
TOOL = """\
apiVersion: v1
kind: Pod
metadata: {name: debug}
spec:
  containers:
    - name: shell
      image: busybox:1.36
      securityContext: {privileged: true}
"""


def files() -> dict[str, bytes]:
    chart = {
        f"charts/web/{p.relative_to(DATA).as_posix()}": p.read_bytes()
        for p in DATA.rglob("*")
        if p.is_file()
    }
    return {**chart, "apps/apps.yaml": APPS.encode(), "manifests/tools/pod.yaml": TOOL.encode()}


def findings(options: dict[str, Any]) -> list[Any]:
    tree = files()
    engine = Engine([load_policy_file(PRIVILEGED)])
    context = LoadContext(tree=MemoryTree(tree), options={"gitops": options})
    pairs = [("apps/apps.yaml", tree["apps/apps.yaml"])]
    return scan(pairs, engine, 1, context).findings


def test_application_expands_its_chart_with_its_values_files_and_its_manifests() -> None:
    found = findings({"repoURLs": ["https://github.com/acme/platform"]})
    where = sorted(
        (f.source, f.file, f.line, f.namespace, f.extra.get("values", "")) for f in found
    )
    assert where == [
        (
            "helm",
            "charts/web/charts/cache/templates/pod.yaml",
            10,
            "web-prod",
            "charts/web/values-prod.yaml:8",
        ),
        (
            "helm",
            "charts/web/templates/deployment.yaml",
            25,
            "web-prod",
            "charts/web/values-prod.yaml:3",
        ),
        ("kubernetes", "manifests/tools/pod.yaml", 8, "tools", ""),
    ]
    assert {f.extra.get("exact") for f in found if f.source == "kubernetes"} == {True}


def test_application_of_another_repository_is_not_expanded() -> None:
    assert findings({}) == []


def test_multi_source_application_with_a_values_ref_to_this_repository() -> None:
    app = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web}
spec:
  project: web
  destination: {namespace: web}
  sources:
    - repoURL: https://github.com/acme/platform
      path: charts/web
      helm:
        valueFiles: [$values/charts/web/values-prod.yaml, $other/prod.yaml]
    - repoURL: https://github.com/acme/platform.git
      ref: values
    - repoURL: https://github.com/acme/elsewhere
      ref: other
"""
    tree = {**files(), "apps/apps.yaml": app.encode()}
    engine = Engine([load_policy_file(PRIVILEGED)])
    options = {"gitops": {"repoURLs": ["https://github.com/acme/platform"]}}
    context = LoadContext(tree=MemoryTree(tree), options=options)
    found = scan([("apps/apps.yaml", tree["apps/apps.yaml"])], engine, 1, context).findings
    assert sorted((f.file, f.extra.get("values")) for f in found) == [
        ("charts/web/charts/cache/templates/pod.yaml", "charts/web/values-prod.yaml:8"),
        ("charts/web/templates/deployment.yaml", "charts/web/values-prod.yaml:3"),
    ]
