"""A rendering gatekeeper cannot make hides nothing a pull request adds to it: a chart that
never rendered, an overlay with a remote base, a kustomize Helm chart; and a change reaches
every rendering it feeds: a chart's `file://` dependency, a template read through a link
(red team r31, r32, r08, r15, r16, r17 of session 10)."""

from __future__ import annotations

import os

from gatekeeper.change import scan_change
from tests.test_change import Repo, pod
from tests.test_change import repo as repo  # the fixture
from tests.test_change_scope import pull_request

PRIVILEGED = "TEST-NO-PRIVILEGED"
CHART = "apiVersion: v2\nname: NAME\nversion: 0.1.0\n"
TEMPLATE = pod(("c", False)).replace("privileged: false", "privileged: {{ .Values.privileged }}")


def blocking(repo: Repo) -> list[tuple[str, str, str]]:
    """(file, policy, status) of each blocking finding of `scan --base main`."""
    findings = scan_change(repo.root, "main").verdict.findings
    return sorted((f.file, f.policy_id, f.status) for f in findings if f.blocking)


def test_a_chart_that_never_rendered_hides_no_new_template(repo: Repo) -> None:
    chart = CHART.replace("NAME", "app") + (
        "dependencies:\n  - name: common\n    version: 2.x.x\n"
        "    repository: oci://registry-1.docker.io/bitnamicharts\n"
    )
    before = {"charts/app/Chart.yaml": chart, "charts/app/values.yaml": "privileged: false\n"}
    before["charts/app/templates/cm.yaml"] = '{{ include "common.names.fullname" . }}\n'
    pull_request(repo, before, {"charts/app/templates/agent.yaml": pod(("agent", True))})
    assert blocking(repo) == [("charts/app/Chart.yaml", "GK-RENDER-ERROR", "new")]
    findings = scan_change(repo.root, "main").verdict.findings
    assert "this change alters what it renders" in findings[0].message


def test_an_overlay_with_a_remote_base_hides_no_new_patch(repo: Repo) -> None:
    remote = "https://github.com/acme/x/releases/download/v1/components.yaml"
    kustomization = f"resources:\n  - {remote}\n  - pod.yaml\n"
    before = {"prod/kustomization.yaml": kustomization, "prod/pod.yaml": pod(("c", False))}
    patched = kustomization + "patches:\n  - path: debug.yaml\n"
    debug = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: team}\n"
    debug += "spec: {containers: [{name: c, securityContext: {privileged: true}}]}\n"
    pull_request(repo, before, {"prod/kustomization.yaml": patched, "prod/debug.yaml": debug})
    assert ("prod/kustomization.yaml", "GK-RENDER-ERROR", "new") in blocking(repo)


def test_a_kustomize_helm_values_file_feeds_its_overlay(repo: Repo) -> None:
    before = {
        "prod/kustomization.yaml": "helmCharts:\n  - name: app\n    valuesFile: values-prod.yaml\n",
        "prod/values-prod.yaml": "privileged: false\n",
        "prod/charts/app/Chart.yaml": CHART.replace("NAME", "app"),
        "prod/charts/app/values.yaml": "privileged: false\n",
        "prod/charts/app/templates/pod.yaml": TEMPLATE,
    }
    pull_request(repo, before, {"prod/values-prod.yaml": "privileged: true\n"})
    assert ("prod/kustomization.yaml", "GK-RENDER-ERROR", "new") in blocking(repo)


def test_a_file_dependency_of_a_chart_feeds_the_chart(repo: Repo) -> None:
    parent = CHART.replace("NAME", "parent") + (
        "dependencies:\n  - name: agent\n    version: 0.1.0\n    repository: file://../agent\n"
    )
    agent = TEMPLATE.replace(".Values.privileged", 'eq .Values.global.env "prod"')
    before = {
        "charts/parent/Chart.yaml": parent,
        "charts/parent/values.yaml": "global: {env: prod}\n",
        "charts/agent/Chart.yaml": CHART.replace("NAME", "agent"),
        "charts/agent/values.yaml": "{}\n",
        "charts/agent/templates/pod.yaml": TEMPLATE.replace(".Values.privileged", "false"),
    }
    pull_request(repo, before, {"charts/agent/templates/pod.yaml": agent})
    assert ("charts/agent/templates/pod.yaml", PRIVILEGED, "new") in blocking(repo)


def test_a_template_read_through_a_link_feeds_its_chart(repo: Repo) -> None:
    before = {
        "charts/app/Chart.yaml": CHART.replace("NAME", "app"),
        "charts/app/values.yaml": "privileged: true\n",
        "shared/pod.tpl": TEMPLATE.replace("{{ .Values.privileged }}", "false"),
    }
    for name, text in before.items():
        repo.write(name, text)
    (repo.root / "charts/app/templates").mkdir(parents=True)
    os.symlink("../../../shared/pod.tpl", repo.root / "charts/app/templates/pod.yaml")
    repo.commit("base")
    repo.branch("pr")
    repo.write("shared/pod.tpl", TEMPLATE)
    repo.commit("pull request")
    assert [f for f in blocking(repo) if f[1] == PRIVILEGED] != []


def test_an_unchanged_render_error_stays_existing(repo: Repo) -> None:
    remote = "https://github.com/acme/x/releases/download/v1/components.yaml"
    before = {"prod/kustomization.yaml": f"resources:\n  - {remote}\n", "other/pod.yaml": ""}
    pull_request(repo, before, {"other/pod.yaml": pod(("c", False))})
    assert blocking(repo) == []


VENDORED_CONFIG = """\
builtin: false
policies:
  - path: policies
sources:
  helm:
    vendored:
      - {chart: web, repoURL: https://charts.example.com, version: 1.2.0, path: vendor/web}
"""
FROM_CHART_REPOSITORY = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web, namespace: argocd}
spec:
  project: default
  source:
    repoURL: https://charts.example.com
    chart: web
    targetRevision: 1.2.0
    helm: {valuesObject: {privileged: PRIVILEGED}}
  destination: {server: https://kubernetes.default.svc, namespace: team}
"""


def test_a_vendored_chart_is_judged_as_the_trusted_revision_has_it(repo: Repo) -> None:
    """Red team r14: the copy stands in for the chart Argo CD fetches; a pull request that
    makes the copy ignore a value and sets the value passed. The base's copy is rendered,
    and the edit is said for review like a policy's."""
    repo.write(".gatekeeper.yml", VENDORED_CONFIG)
    before = {
        "vendor/web/Chart.yaml": CHART.replace("NAME", "web"),
        "vendor/web/values.yaml": "privileged: false\n",
        "vendor/web/templates/pod.yaml": TEMPLATE,
        "apps/web.yaml": FROM_CHART_REPOSITORY.replace("PRIVILEGED", "false"),
    }
    after = {
        "vendor/web/templates/pod.yaml": TEMPLATE.replace("{{ .Values.privileged }}", "false"),
        "apps/web.yaml": FROM_CHART_REPOSITORY.replace("PRIVILEGED", "true"),
    }
    pull_request(repo, before, after)
    findings = scan_change(repo.root, "main").verdict.findings
    assert ("vendor/web/templates/pod.yaml", PRIVILEGED, "new") in blocking(repo)
    assert any(
        f.policy_id == "GK-POLICY-CHANGE" and f.file == "vendor/web/templates/pod.yaml"
        for f in findings
    )
