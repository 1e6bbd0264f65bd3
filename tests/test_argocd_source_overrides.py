"""Argo CD's parameter override files in git (`.argocd-source.yaml`, `.argocd-source-<app>
.yaml` in the Application's path) are merged over its source before Argo CD renders it, so a
pull request can make a chart privileged there as well as in the Application."""

from __future__ import annotations

from pathlib import Path

from gatekeeper.change import scan_change
from gatekeeper.sources.gitops_overrides import merge_patch
from tests.conftest import PRIVILEGED_POLICY
from tests.test_change import CONFIG, Repo
from tests.test_gate_attack_s5 import DEPLOYMENT, REPO_URL, application, chart, scan_tree


def test_helm_parameters_in_the_application_s_override_file_are_judged_there() -> None:
    override = 'helm:\n  parameters:\n    - name: securityContext.privileged\n      value: "true"\n'
    tree = {
        **chart(),
        "apps/web.yaml": application(""),
        "charts/web/.argocd-source-web.yaml": override.encode(),
    }
    assert scan_tree(tree, "apps/web.yaml") == [
        (
            "K8S-PSS-PRIVILEGED",
            "charts/web/templates/deployment.yaml",
            25,
            "charts/web/.argocd-source-web.yaml:3",
        )
    ]
    # Another Application's file is not read for this one.
    tree["charts/web/.argocd-source-api.yaml"] = tree.pop("charts/web/.argocd-source-web.yaml")
    assert scan_tree(tree, "apps/web.yaml") == []


def test_the_shared_file_then_the_application_s_own_merge_over_the_source() -> None:
    """JSON merge patch: maps merge key by key, a list is replaced, null removes. The shared
    file's values are merged over the Application's, the app's own file over both."""
    app = application(
        "    helm:\n      valuesObject:\n        cache: {privileged: false}\n"
        "        securityContext: {privileged: false}\n"
    )
    tree = {
        **chart(),
        "apps/web.yaml": app,
        "charts/web/.argocd-source.yaml": (
            b"helm:\n  valuesObject:\n    cache: {privileged: true}\n"
        ),
        "charts/web/.argocd-source-web.yaml": (
            b"helm:\n  valuesObject:\n    securityContext: {privileged: true}\n"
        ),
    }
    assert scan_tree(tree, "apps/web.yaml") == [
        (
            "K8S-PSS-PRIVILEGED",
            "charts/web/charts/cache/templates/pod.yaml",
            10,
            "charts/web/.argocd-source.yaml:3",
        ),
        (
            "K8S-PSS-PRIVILEGED",
            "charts/web/templates/deployment.yaml",
            25,
            "charts/web/.argocd-source-web.yaml:3",
        ),
    ]


def test_kustomize_patches_in_the_override_file_are_applied_at_their_line() -> None:
    tree = {
        "apps/web/kustomization.yaml": b"resources: [deployment.yaml]\n",
        "apps/web/deployment.yaml": DEPLOYMENT.encode(),
        "apps/web/.argocd-source.yaml": (
            b"kustomize:\n"
            b"  images: [ghcr.io/acme/web:latest]\n"
            b"  patches:\n"
            b"    - target: {kind: Deployment}\n"
            b"      patch: |\n"
            b"        - op: replace\n"
            b"          path: /spec/template/spec/containers/0/securityContext/privileged\n"
            b"          value: true\n"
        ),
        "apps/web-app.yaml": application("    kustomize: {namePrefix: prod-}\n").replace(
            b"path: charts/web", b"path: apps/web"
        ),
    }
    found = scan_tree(tree, "apps/web-app.yaml", "pss-baseline-privileged", "image-tag-pinned")
    assert found == [
        ("K8S-IMAGE-TAG-PINNED", "apps/web/.argocd-source.yaml", 2),
        ("K8S-PSS-PRIVILEGED", "apps/web/.argocd-source.yaml", 3),
    ]


def test_an_override_argo_cd_cannot_read_is_reported_not_skipped() -> None:
    tree = {
        **chart(),
        "apps/web.yaml": application(""),
        "charts/web/.argocd-source.yaml": b"- helm\n",
    }
    assert scan_tree(tree, "apps/web.yaml") == [
        ("GK-PARSE-ERROR", "charts/web/.argocd-source.yaml", 1)
    ]


def test_merge_patch_follows_rfc_7386() -> None:
    target = {"a": {"b": 1, "c": [1, 2]}, "d": 1, "keep": True}
    patch = {"a": {"b": None, "c": [3]}, "d": {"e": 1}, "new": None}
    assert merge_patch(target, patch) == {"a": {"c": [3]}, "d": {"e": 1}, "keep": True}
    assert merge_patch(target, [1]) == [1]
    assert target == {"a": {"b": 1, "c": [1, 2]}, "d": 1, "keep": True}  # not changed


def test_a_pull_request_adding_only_an_override_file_is_judged(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    repo.write(".gatekeeper.yml", f"{CONFIG}sources:\n  gitops:\n    repoURLs: [{REPO_URL}]\n")
    repo.write("policies/no-privileged.yaml", PRIVILEGED_POLICY)
    for name, data in chart().items():
        repo.write(name, data.decode())
    repo.write("apps/web.yaml", application("").decode().replace("v1.0.0", "HEAD"))
    repo.commit("base")
    repo.branch("pr")
    repo.write(
        "charts/web/.argocd-source-web.yaml",
        "helm:\n  parameters:\n    - {name: securityContext.privileged, value: 'true'}\n",
    )
    repo.commit("privileged through the override file")
    verdict = scan_change(repo.root, "main").verdict
    assert [(f.file, f.line, f.status) for f in verdict.findings if f.blocking] == [
        ("charts/web/templates/deployment.yaml", 25, "new")
    ]
    assert not verdict.passed
