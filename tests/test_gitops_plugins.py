"""Argo CD config management plugins discover sources (red team r16 of the ninth session): a
plugin of this repository whose discover rule takes an Application's folder renders it, so a
pull request adding the file it discovers changes what is deployed."""

from __future__ import annotations

from gatekeeper.change import scan_change
from gatekeeper.sources import gitops_plugins
from gatekeeper.tree import MemoryTree
from tests.test_change import Repo
from tests.test_change import repo as repo  # the fixture

REPO_URL = "https://github.com/acme/platform"

# The sidecar's plugin.yaml, held as text in a ConfigMap, as Argo CD's docs write it.
PLUGINS = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: argocd-cmp-cm, namespace: argocd}
data:
  plugin.yaml: |
    apiVersion: argoproj.io/v1alpha1
    kind: ConfigManagementPlugin
    metadata:
      name: helmfile
    spec:
      generate:
        command: [helmfile, template]
      discover:
        fileName: "./helmfile.yaml"
"""

APPLICATION = f"""\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: web, namespace: argocd}}
spec:
  project: default
  destination: {{server: https://kubernetes.default.svc, namespace: web}}
  source:
    repoURL: {REPO_URL}
    targetRevision: HEAD
    path: deploy
"""

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web, namespace: web}\ndata: {}\n"


def test_a_file_a_plugin_discovers_makes_the_application_a_plugin_source(repo: Repo) -> None:
    repo.write(".gatekeeper.yml", f"sources: {{gitops: {{repoURLs: [{REPO_URL}]}}}}\n")
    repo.write("argocd/cmp.yaml", PLUGINS)
    repo.write("argocd/web.yaml", APPLICATION)
    repo.write("deploy/web.yaml", CONFIGMAP)
    repo.commit("base")
    assert scan_change(repo.root, "main").verdict.blocking == []
    repo.branch("pr")
    repo.write("deploy/helmfile.yaml", "releases:\n- name: web\n  chart: ../charts/web\n")
    repo.commit("switch to helmfile")
    [finding] = scan_change(repo.root, "main").verdict.blocking
    assert (finding.policy_id, finding.file, finding.status) == (
        "GK-LOCAL-NOT-EXPANDED",
        "argocd/web.yaml",
        "new",
    )
    assert "plugin helmfile (argocd/cmp.yaml)" in finding.message
    assert "fileName ./helmfile.yaml" in finding.message


def test_discover_rules_are_globs_in_or_below_the_folder() -> None:
    plugin = PLUGINS.replace('fileName: "./helmfile.yaml"', 'find:\n          glob: "**/*.jsonnet"')
    tree = MemoryTree(
        {"argocd/cmp.yaml": plugin.encode(), "a/x/env/main.jsonnet": b"{}", "b/web.yaml": b""}
    )
    found = gitops_plugins.discovered(tree, "a")
    assert found is not None and (found.plugin.name, found.certain) == ("helmfile", True)
    assert gitops_plugins.discovered(tree, "b") is None
    # fileName stays in the folder itself: `*` does not cross `/`.
    tree = MemoryTree(
        {
            "cmp.yaml": PLUGINS.replace("./helmfile.yaml", "*.yaml.gotmpl").encode(),
            "a/helmfile.yaml.gotmpl": b"",
            "b/sub/helmfile.yaml.gotmpl": b"",
        }
    )
    assert gitops_plugins.discovered(tree, "a") is not None
    assert gitops_plugins.discovered(tree, "b") is None
    # A plugin that discovers by a command may take any source: said, not certain.
    tree = MemoryTree(
        {
            "cmp.yaml": PLUGINS.replace(
                'fileName: "./helmfile.yaml"', "find:\n          command: [sh, -c, 'ls x']"
            ).encode(),
            "b/web.yaml": b"",
        }
    )
    found = gitops_plugins.discovered(tree, "b")
    assert found is not None and not found.certain


# The argo-cd Helm chart's values: the chart writes argocd-cmp-cm from them (red team s06);
# the file never spells ConfigManagementPlugin.
CHART_VALUES = """\
configs:
  cmp:
    create: true
    plugins:
      values-file:
        generate: {command: [sh, -c, "helm template ."]}
        discover: {fileName: "./release-values.yaml"}
"""


def test_a_plugin_in_the_argo_cd_chart_values_discovers_sources(repo: Repo) -> None:
    repo.write(".gatekeeper.yml", f"sources: {{gitops: {{repoURLs: [{REPO_URL}]}}}}\n")
    repo.write("platform/argocd/values.yaml", CHART_VALUES)
    repo.write("argocd/web.yaml", APPLICATION)
    repo.write("deploy/web.yaml", CONFIGMAP)
    repo.commit("base")
    assert scan_change(repo.root, "main").verdict.blocking == []
    repo.branch("pr")
    repo.write("deploy/release-values.yaml", "privileged: true\n")
    repo.commit("switch to the plugin")
    [finding] = scan_change(repo.root, "main").verdict.blocking
    assert (finding.policy_id, finding.file) == ("GK-LOCAL-NOT-EXPANDED", "argocd/web.yaml")
    assert "plugin values-file (platform/argocd/values.yaml)" in finding.message


def test_plugins_without_their_kind_or_below_an_umbrella_key_are_found() -> None:
    kindless = PLUGINS.replace("    kind: ConfigManagementPlugin\n", "")
    umbrella = "argo-cd:\n" + "".join(f"  {line}\n" for line in CHART_VALUES.splitlines())
    for name, text in {"cmp.yaml": kindless, "values.yaml": umbrella}.items():
        tree = MemoryTree(
            {name: text.encode(), "a/helmfile.yaml": b"", "a/release-values.yaml": b""}
        )
        found = gitops_plugins.discovered(tree, "a")
        assert found is not None and found.certain, name
    # Values that only look alike (no generate command) define no plugin.
    empty = CHART_VALUES.replace('generate: {command: [sh, -c, "helm template ."]}', "x: 1")
    tree = MemoryTree({"values.yaml": empty.encode(), "a/release-values.yaml": b""})
    assert gitops_plugins.discovered(tree, "a") is None
