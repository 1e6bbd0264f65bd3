"""A pull request is judged on everything a changed file feeds, wherever that lives: the
overlay above a base, the chart a values file renders, the Application that deploys it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gatekeeper import depgraph
from gatekeeper.change import scan_change
from gatekeeper.sources import LoadContext
from gatekeeper.tree import MemoryTree
from tests.conftest import Run
from tests.test_change import CONFIG, Repo, pod
from tests.test_change import repo as repo  # the fixture

Gatekeeper = Callable[..., Run]

CHART = "apiVersion: v2\nname: app\nversion: 0.1.0\n"
TEMPLATE = """\
apiVersion: v1
kind: Pod
metadata: {name: app, namespace: team}
spec:
  containers:
    - name: app
      image: ghcr.io/acme/app:1.0
      securityContext:
        privileged: {{ .Values.privileged }}
"""


def application(values: str, name: str = "app", path: str = "charts/app") -> str:
    return f"""\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: {name}, namespace: argocd}}
spec:
  project: default
  destination: {{namespace: team}}
  source:
    path: {path}
    helm:
      valueFiles: [{values}]
"""


def pull_request(repo: Repo, before: dict[str, str], after: dict[str, str]) -> None:
    """Commit `before` on main, then `after` on the branch `pr` (left checked out)."""
    for name, text in before.items():
        repo.write(name, text)
    repo.commit("base")
    repo.branch("pr")
    for name, text in after.items():
        repo.write(name, text)
    repo.commit("pull request")


CHART_FILES = {
    "charts/app/Chart.yaml": CHART,
    "charts/app/values.yaml": "privileged: false\n",
    "charts/app/templates/pod.yaml": TEMPLATE,
}


def from_main(repo: Repo, branch: str, files: dict[str, str]) -> None:
    """Another pull request: `files` committed on a new branch from main."""
    repo.git.git.checkout("-q", "main")
    repo.branch(branch)
    for name, text in files.items():
        repo.write(name, text)
    repo.commit(branch)


def blocked(run: Run) -> list[str]:
    """`file:line: policy` of each blocking finding in the text report."""
    assert run.returncode == 1, run.stdout + run.stderr
    return sorted(
        row.split(": ", 2)[0].rsplit(":", 1)[0] + " " + row.split()[2]
        for row in run.stdout.splitlines()
        if "[blocking]" in row
    )


def test_patch_to_an_overlay_whose_base_is_in_another_top_level_folder(
    repo: Repo, gatekeeper: Gatekeeper
) -> None:
    repo.write("base/kustomization.yaml", "resources: [pod.yaml]\n")
    repo.write("base/pod.yaml", pod(("app", False)))
    repo.write(
        "overlays/prod/kustomization.yaml",
        "resources: [../../base]\npatches:\n  - path: patch.yaml\n",
    )
    patch = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: team}\nspec:\n"
    patch += "  containers:\n    - name: app\n      securityContext: {privileged: %s}\n"
    repo.write("overlays/prod/patch.yaml", patch % "false")
    repo.commit("base")
    repo.branch("pr")
    repo.write("overlays/prod/patch.yaml", patch % "true")
    repo.commit("privileged in prod")
    run = gatekeeper("scan", "--base", "main", cwd=repo.root)
    assert blocked(run) == ["overlays/prod/patch.yaml:7 TEST-NO-PRIVILEGED"]
    # The other direction: a base resource changes, the overlay elsewhere rebuilds it.
    overlay = "namespace: prod\nresources: [../../base]\n"
    from_main(
        repo, "pr2", {"overlays/prod/patch.yaml": "", "overlays/prod/kustomization.yaml": overlay}
    )
    repo.git.git.checkout("-q", "-b", "pr3")
    repo.write("base/pod.yaml", pod(("app", False), ("side", True)))
    repo.commit("privileged side container in the base")
    run = gatekeeper("scan", "--base", "pr2", "--format", "json", cwd=repo.root)
    assert run.returncode == 1
    result = scan_change(repo.root, "pr2")
    # One finding at the base line, for the plain file and both builds (the overlay's too).
    [finding] = result.verdict.blocking
    assert (finding.file, finding.line, finding.status) == ("base/pod.yaml", 13, "new")
    assert "kustomize overlays/prod" in finding.extra["variants"]


def test_values_file_outside_the_chart_named_by_an_application_or_the_config(
    repo: Repo, gatekeeper: Gatekeeper
) -> None:
    repo.write(
        ".gatekeeper.yml",
        CONFIG + "sources:\n  helm:\n    charts:\n      - path: charts/app\n"
        "        valuesFiles: [env/staging/values.yaml]\n",
    )
    repo.write("charts/app/Chart.yaml", CHART)
    repo.write("charts/app/values.yaml", "privileged: false\n")
    repo.write("charts/app/templates/pod.yaml", TEMPLATE)
    repo.write("apps/app.yaml", application("../../env/prod/values.yaml"))
    repo.write("env/prod/values.yaml", "privileged: false\n")
    repo.write("env/staging/values.yaml", "privileged: false\n")
    repo.commit("base")
    repo.branch("pr")
    repo.write("env/prod/values.yaml", "privileged: true\n")
    repo.commit("privileged in prod")
    result = scan_change(repo.root, "main")
    [finding] = result.verdict.blocking
    assert (finding.file, finding.line, finding.status) == (
        "charts/app/templates/pod.yaml",
        9,
        "new",
    )
    assert finding.extra["values"] == "env/prod/values.yaml:1"
    from_main(repo, "staging", {"env/staging/values.yaml": "privileged: true\n"})
    run = gatekeeper("scan", "--base", "main", cwd=repo.root)
    assert blocked(run) == ["charts/app/templates/pod.yaml:9 TEST-NO-PRIVILEGED"]
    assert "env/staging/values.yaml:1" in run.stdout


def test_chart_at_the_repository_root(repo: Repo, gatekeeper: Gatekeeper) -> None:
    root_chart = {"Chart.yaml": CHART, "values.yaml": "privileged: false\n"}
    pull_request(
        repo, {**root_chart, "templates/pod.yaml": TEMPLATE}, {"values.yaml": "privileged: true\n"}
    )
    run = gatekeeper("scan", "--base", "main", cwd=repo.root)
    assert blocked(run) == ["templates/pod.yaml:9 TEST-NO-PRIVILEGED"]
    assert gatekeeper("scan", ".", cwd=repo.root).returncode == 1  # as the plain scan


def test_application_switching_to_an_existing_privileged_values_file(
    repo: Repo, gatekeeper: Gatekeeper
) -> None:
    before = {**CHART_FILES, "charts/app/values-debug.yaml": "privileged: true\n"}
    before["apps/app.yaml"] = application("values.yaml")
    pull_request(repo, before, {"apps/app.yaml": application("values-debug.yaml")})
    run = gatekeeper("scan", "--base", "main", cwd=repo.root)
    assert blocked(run) == ["charts/app/templates/pod.yaml:9 TEST-NO-PRIVILEGED"]
    assert "charts/app/values-debug.yaml:1" in run.stdout


def test_unrelated_change_renders_nothing_else(repo: Repo) -> None:
    """A change that feeds no chart, overlay or Application re-evaluates only itself."""
    repo.write("charts/app/Chart.yaml", CHART)
    repo.write("charts/app/values.yaml", "privileged: true\n")
    repo.write("charts/app/templates/pod.yaml", TEMPLATE)
    repo.write("apps/app.yaml", application("values.yaml"))
    repo.commit("base: a privileged chart")
    repo.branch("pr")
    repo.write("deploy/pod.yaml", pod(("x", False)))
    repo.commit("an unrelated pod")
    result = scan_change(repo.root, "main", filter_mode="all")
    assert result.verdict.findings == [] and result.files_scanned == 1


def test_graph_follows_readers_transitively() -> None:
    files = {
        "Chart.yaml": CHART,
        "templates/pod.yaml": TEMPLATE,
        "charts/app/Chart.yaml": CHART,
        "charts/app/templates/pod.yaml": TEMPLATE,
        "base/kustomization.yaml": "resources: [pod.yaml]\n",
        "base/pod.yaml": pod(("a", False)),
        "overlays/prod/kustomization.yaml": "resources: [../../base]\n",
        "apps/overlay.yaml": application("x.yaml", path="overlays/prod"),
        "apps/web.yaml": application("$values/env/v.yaml", path="charts/app"),
        "apps/root.yaml": application("v.yaml", name="root", path="apps"),
    }
    tree = MemoryTree({name: text.encode() for name, text in files.items()})
    context = LoadContext(tree=tree, options={"helm": {"charts": []}})
    graph = depgraph.build(context)
    everything = ["Chart.yaml"]  # the root chart reads every file
    assert graph.affected(["base/pod.yaml"]) == sorted(
        [
            *everything,
            "apps/overlay.yaml",
            "apps/root.yaml",
            "base/kustomization.yaml",
            "overlays/prod/kustomization.yaml",
        ]
    )
    assert graph.affected(["charts/app/values.yaml"]) == sorted(
        [*everything, "apps/web.yaml", "apps/root.yaml", "charts/app/Chart.yaml"]
    )
    # `$values/...` names a file of another repository unless a source of this one is `values`.
    assert "apps/web.yaml" not in graph.affected(["env/v.yaml"])


def test_skip_in_an_unchanged_template_holds_for_a_values_change(repo: Repo) -> None:
    """The annotation sits in the template (unchanged); only a values file changes."""
    skip = "# gatekeeper:skip=TEST-NO-PRIVILEGED the node agent needs it (OPS-9)\n"
    before = {**CHART_FILES, "charts/app/templates/pod.yaml": skip + TEMPLATE}
    pull_request(repo, before, {"charts/app/values.yaml": "privileged: true\n"})
    findings = scan_change(repo.root, "main").verdict.findings
    assert [(f.file, f.status, f.blocking) for f in findings] == [
        ("charts/app/templates/pod.yaml", "waived", False)
    ]


def test_large_change_scanned_by_forked_workers_reads_blobs_in_each(repo: Repo) -> None:
    """Over PARALLEL_MIN_FILES changed files the scan forks workers; a worker that expands an
    Application reads the revision through its own cat-file process."""
    from gatekeeper.scanner import PARALLEL_MIN_FILES

    count = PARALLEL_MIN_FILES + 2
    for index in range(count):
        repo.write(f"deploy/p{index}.yaml", pod(("app", False), name=f"p{index}"))
    repo.write("manifests/safe/pod.yaml", pod(("app", False), name="safe"))
    repo.write("manifests/debug/pod.yaml", pod(("app", True), name="debug"))
    app = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: a}\n"
    app += "spec: {destination: {namespace: team}, source: {path: manifests/%s}}\n"
    repo.write("apps/app.yaml", app % "safe")
    repo.commit("base")
    repo.branch("pr")
    for index in range(count):
        text = pod(("app", False), name=f"p{index}").replace(":1.0", ":1.1")
        repo.write(f"deploy/p{index}.yaml", text)
    repo.write("apps/app.yaml", app % "debug")
    repo.commit("many pods, and the Application now deploys the debug pod")
    result = scan_change(repo.root, "main", jobs=2)
    blocking = [(f.file, f.name, f.status) for f in result.verdict.blocking]
    assert blocking == [("manifests/debug/pod.yaml", "debug", "new")]
    assert result.files_scanned == count + 1


def test_application_hidden_behind_yaml_escapes_is_still_followed(
    repo: Repo, gatekeeper: Gatekeeper
) -> None:
    """`"argoproj\\x2eio/v1alpha1"` is argoproj.io to YAML: Applications are found by parsing,
    never by searching bytes. Only the values file outside the chart changes."""
    hidden = application("../../env/prod.yaml").replace(
        "apiVersion: argoproj.io/v1alpha1", 'apiVersion: "argoproj\\x2eio/v1alpha1"'
    )
    assert "argoproj.io" not in hidden
    before = {**CHART_FILES, "apps/app.yaml": hidden, "env/prod.yaml": "privileged: false\n"}
    pull_request(repo, before, {"env/prod.yaml": "privileged: true\n"})
    for _ in range(2):  # cold cache, then warm
        run = gatekeeper("scan", "--base", "main", cwd=repo.root)
        assert blocked(run) == ["charts/app/templates/pod.yaml:9 TEST-NO-PRIVILEGED"]


HELM_RELEASE = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: app, namespace: team}
spec:
  chart:
    spec:
      chart: ./charts/app
      sourceRef: {kind: GitRepository, name: flux-system, namespace: flux-system}
  valuesFrom:
    - {kind: ConfigMap, name: app-values}
"""
VALUES_CONFIG_MAP = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: app-values, namespace: team}
data:
  values.yaml: |
    privileged: %s
"""


def test_configmap_values_of_a_flux_helmrelease(repo: Repo, gatekeeper: Gatekeeper) -> None:
    """Only the ConfigMap a HelmRelease takes its values from changes, in another folder."""
    before = {**CHART_FILES, "clusters/prod/app.yaml": HELM_RELEASE}
    before["config/app-values.yaml"] = VALUES_CONFIG_MAP % "false"
    pull_request(repo, before, {"config/app-values.yaml": VALUES_CONFIG_MAP % "true"})
    run = gatekeeper("scan", "--base", "main", cwd=repo.root)
    assert blocked(run) == ["charts/app/templates/pod.yaml:9 TEST-NO-PRIVILEGED"]


APPLICATION_SET = """\
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: envs, namespace: argocd}
spec:
  generators:
    - git: {repoURL: https://github.com/acme/platform, revision: HEAD,
            directories: [{path: "envs/*"}]}
  template:
    metadata: {name: "app-{{path.basename}}"}
    spec:
      project: default
      destination: {namespace: team}
      source:
        repoURL: https://github.com/acme/platform
        path: charts/app
        helm: {valueFiles: ["../../{{path}}/values.yaml"]}
"""


def test_values_of_an_applicationset_environment(repo: Repo, gatekeeper: Gatekeeper) -> None:
    repo.write(
        ".gatekeeper.yml",
        CONFIG + "sources:\n  gitops:\n    repoURLs: [https://github.com/acme/platform]\n",
    )
    before = {**CHART_FILES, "argocd/envs.yaml": APPLICATION_SET}
    before["envs/prod/values.yaml"] = "privileged: false\n"
    pull_request(repo, before, {"envs/prod/values.yaml": "privileged: true\n"})
    run = gatekeeper("scan", "--base", "main", cwd=repo.root)
    assert blocked(run) == ["charts/app/templates/pod.yaml:9 TEST-NO-PRIVILEGED"]
    assert "envs/prod/values.yaml:1" in run.stdout
    # A new environment directory: the generator makes a new Application from it.
    from_main(repo, "staging", {"envs/staging/values.yaml": "privileged: true\n"})
    run = gatekeeper("scan", "--base", "main", cwd=repo.root)
    assert blocked(run) == ["charts/app/templates/pod.yaml:9 TEST-NO-PRIVILEGED"]
    assert "envs/staging/values.yaml:1" in run.stdout


UNLISTED_CLUSTERS = """\
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: fleet, namespace: argocd}
spec:
  goTemplate: true
  generators:
    - GENERATOR
  template:
    metadata: {name: "app-{{.name}}"}
    spec:
      project: default
      destination: {server: "{{.server}}", namespace: team}
      source:
        repoURL: https://github.com/acme/platform
        path: charts/app
        helm: {valueFiles: ["values-{{.name}}.yaml"]}
"""


@pytest.mark.parametrize(
    "generator",
    ["clusterDecisionResource: {configMapRef: ocm-placement, labelSelector: {}}", "clusters: {}"],
)
def test_a_values_file_for_clusters_gatekeeper_cannot_list(
    repo: Repo, gatekeeper: Gatekeeper, generator: str
) -> None:
    """Red team r17: the template names each cluster's values file; a pull request adds one
    for a cluster the generator (an API's, or the cluster secrets') will list. Every file the
    name could be is rendered with the chart; none is "not found" (it is some cluster's)."""
    repo.write(
        ".gatekeeper.yml",
        CONFIG + "sources:\n  gitops:\n    repoURLs: [https://github.com/acme/platform]\n",
    )
    before = {
        **CHART_FILES,
        "argocd/fleet.yaml": UNLISTED_CLUSTERS.replace("GENERATOR", generator),
        "charts/app/values-dev.yaml": "privileged: false\n",
    }
    pull_request(repo, before, {"charts/app/values-edge.yaml": "privileged: true\n"})
    run = gatekeeper("scan", "--base", "main", cwd=repo.root)
    assert blocked(run) == ["charts/app/templates/pod.yaml:9 TEST-NO-PRIVILEGED"]
    assert "charts/app/values-edge.yaml:1" in run.stdout
    assert "GK-RENDER-ERROR" not in run.stdout
