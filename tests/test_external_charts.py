"""Charts from chart repositories, deployed with values from this repository: rendered from a
vendored copy named in `sources.helm.vendored`, or said not judged (never a silent pass)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gatekeeper.change import scan_change
from gatekeeper.evaluate import Engine
from gatekeeper.policy.loader import load_policy_file
from gatekeeper.scanner import scan
from gatekeeper.sources import LoadContext
from gatekeeper.tree import MemoryTree
from tests.conftest import PRIVILEGED_POLICY, REPO
from tests.test_change import CONFIG, Repo

POLICY = REPO / "policies" / "kubernetes" / "pss-baseline-privileged.yaml"
REPO_URL = "https://github.com/acme/platform"
CHARTS = "https://charts.example.com/stable"

VENDORED = {
    "vendor/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 1.2.0\n",
    "vendor/web/values.yaml": "privileged: false\n",
    "vendor/web/templates/pod.yaml": (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n"
        "    - name: web\n      image: web:1\n"
        "      securityContext:\n        privileged: {{ .Values.privileged }}\n"
    ),
}

APPLICATION = f"""\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: web, namespace: argocd}}
spec:
  project: web
  destination: {{namespace: web}}
  sources:
    - repoURL: {CHARTS}
      chart: web
      targetRevision: 1.2.0
      helm:
        valueFiles: [$values/envs/prod.yaml]
    - repoURL: {REPO_URL}
      targetRevision: HEAD
      ref: values
"""

HELM_RELEASE = """\
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: stable, namespace: flux-system}
spec: {url: https://charts.example.com/stable}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: web, namespace: web}
spec:
  chart:
    spec:
      chart: web
      version: 1.2.0
      sourceRef: {kind: HelmRepository, name: stable, namespace: flux-system}
  values:
    privileged: true
"""


def findings(files: dict[str, str], entry: str, helm: dict[str, Any]) -> list[tuple[Any, ...]]:
    data = {name: text.encode() for name, text in files.items()}
    options = {"gitops": {"repoURLs": [REPO_URL]}, "helm": helm}
    context = LoadContext(tree=MemoryTree(data), options=options)
    found = scan([(entry, data[entry])], Engine([load_policy_file(POLICY)]), 1, context)
    return sorted(
        (f.policy_id, f.severity, f.file, f.line, f.extra.get("values", "")) for f in found.findings
    )


VENDOR = {
    "vendored": [{"chart": "web", "repoURL": CHARTS, "version": "1.2.0", "path": "vendor/web"}]
}


def test_an_argo_cd_external_chart_is_rendered_from_its_vendored_copy() -> None:
    files = {**VENDORED, "apps/web.yaml": APPLICATION, "envs/prod.yaml": "privileged: true\n"}
    assert findings(files, "apps/web.yaml", VENDOR) == [
        ("K8S-PSS-PRIVILEGED", "critical", "vendor/web/templates/pod.yaml", 9, "envs/prod.yaml:1")
    ]


def test_an_external_chart_without_a_copy_is_said_not_judged() -> None:
    files = {**VENDORED, "apps/web.yaml": APPLICATION, "envs/prod.yaml": "privileged: true\n"}
    other_version = {"vendored": [{**VENDOR["vendored"][0], "version": "2.0.0"}]}
    for helm in ({}, other_version):
        assert findings(files, "apps/web.yaml", helm) == [
            ("GK-NOT-EXPANDED", "low", "apps/web.yaml", 9, "")
        ]


def test_a_flux_helm_release_of_a_helm_repository_chart_is_rendered_from_its_copy() -> None:
    files = {**VENDORED, "clusters/web.yaml": HELM_RELEASE}
    assert findings(files, "clusters/web.yaml", VENDOR) == [
        (
            "K8S-PSS-PRIVILEGED",
            "critical",
            "vendor/web/templates/pod.yaml",
            9,
            "clusters/web.yaml:16",
        )
    ]
    assert findings(files, "clusters/web.yaml", {}) == [
        ("GK-NOT-EXPANDED", "low", "clusters/web.yaml", 12, "")
    ]


def test_a_vendored_path_outside_the_repository_is_not_read() -> None:
    """Nor is the repository's own chart taken in its place."""
    root_chart = {
        name.removeprefix("vendor/web/"): text.replace("false", "true")
        for name, text in VENDORED.items()
    }
    files = {**VENDORED, **root_chart, "clusters/web.yaml": HELM_RELEASE}
    outside = {"vendored": [{"chart": "web", "path": "../web"}]}
    assert findings(files, "clusters/web.yaml", outside) == [
        ("GK-NOT-EXPANDED", "low", "clusters/web.yaml", 12, "")
    ]


def test_a_pull_request_changing_only_the_values_of_a_vendored_chart_is_judged(
    tmp_path: Path,
) -> None:
    repo = Repo(tmp_path / "repo")
    repo.write(
        ".gatekeeper.yml",
        f"{CONFIG}sources:\n  gitops:\n    repoURLs: [{REPO_URL}]\n"
        f"  helm:\n    vendored: [{{chart: web, repoURL: '{CHARTS}', path: vendor/web}}]\n",
    )
    repo.write("policies/no-privileged.yaml", PRIVILEGED_POLICY)
    for name, text in VENDORED.items():
        repo.write(name, text)
    repo.write("apps/web.yaml", APPLICATION)
    repo.write("envs/prod.yaml", "privileged: false\n")
    repo.commit("base")
    repo.branch("pr")
    repo.write("envs/prod.yaml", "privileged: true\n")
    repo.commit("privileged through the values of a vendored chart")
    verdict = scan_change(repo.root, "main").verdict
    assert [(f.file, f.line, f.status) for f in verdict.findings if f.blocking] == [
        ("vendor/web/templates/pod.yaml", 9, "new")
    ]


def test_a_pull_request_changing_only_the_vendored_copy_re_judges_its_helm_release(
    tmp_path: Path,
) -> None:
    repo = Repo(tmp_path / "repo")
    repo.write(
        ".gatekeeper.yml",
        f"{CONFIG}sources:\n  helm:\n    vendored: [{{chart: web, path: vendor/web}}]\n",
    )
    repo.write("policies/no-privileged.yaml", PRIVILEGED_POLICY)
    for name, text in VENDORED.items():
        repo.write(name, text)
    repo.write("clusters/web.yaml", HELM_RELEASE.replace("privileged: true", "debug: true"))
    repo.commit("base")
    repo.branch("pr")
    template = VENDORED["vendor/web/templates/pod.yaml"]
    debug = template.replace(".Values.privileged", ".Values.debug | default false")
    repo.write("vendor/web/templates/pod.yaml", debug)  # privileged where a release debugs
    repo.commit("the copy's template reads another value")
    verdict = scan_change(repo.root, "main").verdict
    blocking = {(f.file, f.line, f.status) for f in verdict.findings if f.blocking}
    assert blocking == {("vendor/web/templates/pod.yaml", 9, "new")}
