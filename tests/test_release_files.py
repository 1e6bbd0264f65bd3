"""helmfile, Fleet and Skaffold release this repository's charts with values of their own
(red team r02, r18, r13 of the ninth session): each release of a local chart is rendered as
it is deployed, its values located in the file that sets them."""

from __future__ import annotations

from pathlib import Path

import gatekeeper
from gatekeeper.change import scan_change
from tests.test_change import CONFIG, Repo

CHART = {
    "charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    "charts/web/values.yaml": "privileged: false\nhostPID: false\n",
    "charts/web/templates/pod.yaml": (
        "apiVersion: v1\n"
        "kind: Pod\n"
        "metadata: {name: {{ .Release.Name }}}\n"
        "spec:\n"
        "  hostPID: {{ .Values.hostPID }}\n"  # 5
        "  containers:\n"
        "  - name: app\n"
        "    image: registry.example.com/app:1\n"
        "    securityContext:\n"
        "      privileged: {{ .Values.privileged }}\n"  # 10
    ),
}


def found(root: Path, files: dict[str, str]) -> set[tuple[str, str, int, str]]:
    """(policy, file, line, values) of the Pod Security and not-expanded findings."""
    for name, text in {**CHART, **files}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    report = gatekeeper.scan(root, root=root, jobs=1)
    return {
        (f.policy_id, f.file, f.line, str(f.extra.get("values") or ""))
        for f in report.verdict.findings
        if f.policy_id in ("K8S-PSS-PRIVILEGED", "K8S-PSS-HOST-NAMESPACES")
        or f.policy_id.endswith("NOT-EXPANDED")
    }


def test_helmfile_releases_are_rendered_with_their_values_and_set(tmp_path: Path) -> None:
    helmfile = (
        "repositories:\n"
        "- {name: bitnami, url: https://charts.bitnami.com/bitnami}\n"
        "releases:\n"
        "- name: web\n"  # 4
        "  chart: ./charts/web\n"
        "  values:\n"
        "  - values/prod.yaml\n"
        "  - hostPID: true\n"  # 8
        "  set:\n"
        "  - name: privileged\n"
        "    value: true\n"  # 11
        "- name: old\n"
        "  chart: ./charts/web\n"
        "  installed: false\n"
        "  set: [{name: privileged, value: true}]\n"
        "- name: db\n"
        "  chart: bitnami/postgresql\n"  # 17
    )
    files = {"helmfile.yaml": helmfile, "values/prod.yaml": "replicas: 2\n"}
    assert found(tmp_path, files) == {
        ("K8S-PSS-HOST-NAMESPACES", "charts/web/templates/pod.yaml", 5, "helmfile.yaml:8"),
        ("K8S-PSS-PRIVILEGED", "charts/web/templates/pod.yaml", 10, "helmfile.yaml:11"),
        ("GK-NOT-EXPANDED", "helmfile.yaml", 17, ""),
    }


def test_a_fleet_bundle_and_its_targets_are_rendered(tmp_path: Path) -> None:
    fleet = (
        "defaultNamespace: web\n"
        "helm:\n"
        "  chart: ../charts/web\n"
        "  values: {hostPID: false}\n"
        "targetCustomizations:\n"
        "- name: prod\n"
        "  helm:\n"
        "    values:\n"
        "      privileged: true\n"  # 9
    )
    assert found(tmp_path, {"fleet/fleet.yaml": fleet}) == {
        ("K8S-PSS-PRIVILEGED", "charts/web/templates/pod.yaml", 10, "fleet/fleet.yaml:9"),
    }


def test_skaffold_releases_and_profiles_are_rendered(tmp_path: Path) -> None:
    skaffold = (
        "apiVersion: skaffold/v4beta11\n"
        "kind: Config\n"
        "manifests:\n"
        "  helm:\n"
        "    releases:\n"
        "    - name: web\n"
        "      chartPath: charts/web\n"
        "profiles:\n"
        "- name: prod\n"
        "  deploy:\n"
        "    helm:\n"
        "      releases:\n"
        "      - name: web\n"
        "        chartPath: charts/web\n"
        "        setValues:\n"
        "          hostPID: true\n"  # 16
    )
    assert found(tmp_path, {"skaffold.yaml": skaffold}) == {
        ("K8S-PSS-HOST-NAMESPACES", "charts/web/templates/pod.yaml", 5, "skaffold.yaml:16"),
    }


def test_a_templated_helmfile_is_said_not_expanded(tmp_path: Path) -> None:
    helmfile = "releases:\n- name: web\n  chart: {{ .Values.chart }}\n"
    assert found(tmp_path, {"helmfile.yaml.gotmpl": helmfile}) == {
        ("GK-LOCAL-NOT-EXPANDED", "helmfile.yaml.gotmpl", 3, ""),
    }


def test_a_pull_request_changing_only_the_chart_rejudges_the_release(tmp_path: Path) -> None:
    """The release sets `privileged: true`, which the base's template ignores; the pull
    request changes only the template to read it."""
    repo = Repo(tmp_path / "repo")
    repo.write(".gatekeeper.yml", CONFIG.replace("builtin: false", "builtin: true"))
    template = CHART["charts/web/templates/pod.yaml"]
    ignoring = template.replace("{{ .Values.privileged }}", "false")
    files = {**CHART, "charts/web/templates/pod.yaml": ignoring}
    files["deploy/helmfile.yaml"] = (
        "releases:\n- name: web\n  chart: ../charts/web\n  set: [{name: privileged, value: true}]\n"
    )
    for name, text in files.items():
        repo.write(name, text)
    repo.write("policies/.keep", "")
    repo.commit("base")
    repo.branch("pr")
    repo.write("charts/web/templates/pod.yaml", template)
    repo.commit("read the value")
    blocking = scan_change(repo.root, "main").verdict.blocking
    assert ("K8S-PSS-PRIVILEGED", "charts/web/templates/pod.yaml", 10, "new") in {
        (f.policy_id, f.file, f.line, f.status) for f in blocking
    }


def test_helmfile_templates_anywhere_are_said_not_expanded(tmp_path: Path) -> None:
    """Red team s22 and s21: a `{{` in a YAML comment of a valid helmfile, or a values file
    helmfile renders as a template (`.gotmpl`, or holding `{{`), changes what is deployed:
    said, blocking, at the helmfile and at the release."""
    helmfile = (
        "# {{ if true }}\n"  # 1
        "releases:\n"
        "- name: web\n"
        "  chart: ./charts/web\n"  # 4
        "  values: [values/prod.yaml.gotmpl]\n"
    )
    files = {"helmfile.yaml": helmfile, "values/prod.yaml.gotmpl": "replicas: 2\n"}
    said = {(p, f, line) for p, f, line, _ in found(tmp_path, files)}
    assert said == {
        ("GK-LOCAL-NOT-EXPANDED", "helmfile.yaml", 1),
        ("GK-LOCAL-NOT-EXPANDED", "helmfile.yaml", 4),
    }


def test_fleet_targets_without_a_helm_section_are_rendered(tmp_path: Path) -> None:
    """Red team s03: only targetCustomizations give values; the bundle's own chart."""
    fleet = "targetCustomizations:\n- name: prod\n  helm:\n    values: {privileged: true}\n"
    files = {"charts/web/fleet.yaml": fleet}
    assert ("K8S-PSS-PRIVILEGED", "charts/web/templates/pod.yaml", 10) in {
        (p, f, line) for p, f, line, _ in found(tmp_path, files)
    }


def test_what_composes_releases_or_sets_values_unread_is_said(tmp_path: Path) -> None:
    """Second red-team round (s01, s02, s04, s05, s18, s23, s24): helmfile bases, sub-helmfiles,
    templates, set-file; Skaffold requires, overrides, profile patches; Fleet's per-cluster
    `${ }` values are not followed here: each is a blocking GK-LOCAL-NOT-EXPANDED at its line."""
    helmfile = (
        "bases: [base.yaml]\n"  # 1
        "releases:\n"
        "- name: web\n"
        "  chart: ./charts/web\n"
        "  inherit: [{template: secure}]\n"  # 5
        "  set:\n"
        "  - {name: privileged, file: flag.txt}\n"  # 7
    )
    skaffold = (
        "apiVersion: skaffold/v4beta11\nkind: Config\n"
        "requires: [{path: deploy/web.skaffold.yaml}]\n"  # 3
        "deploy:\n  helm:\n    releases:\n    - name: web\n      chartPath: charts/web\n"
        "      overrides: {privileged: true}\n"  # 9
        "profiles:\n- name: prod\n  patches: [{op: add, path: /x, value: 1}]\n"  # 12
    )
    fleet = (
        "helm:\n  chart: ../charts/web\n  values: {image: '${ .ClusterLabels.img }'}\n"
        "  valuesFrom: [{configMapKeyRef: {name: web, key: values.yaml}}]\n"  # 4
    )
    files = {
        "helmfile.yaml": helmfile,
        "skaffold.yaml": skaffold,
        "fleet/fleet.yaml": fleet,
    }
    said = {(f, line) for p, f, line, _ in found(tmp_path, files) if p == "GK-LOCAL-NOT-EXPANDED"}
    assert said == {
        ("helmfile.yaml", 1),
        ("helmfile.yaml", 5),
        ("helmfile.yaml", 7),
        ("skaffold.yaml", 3),
        ("skaffold.yaml", 9),
        ("skaffold.yaml", 12),
        ("fleet/fleet.yaml", 3),
        ("fleet/fleet.yaml", 4),
    }


def test_skaffold_requires_of_configs_in_the_same_file_are_read(tmp_path: Path) -> None:
    """istio's samples/cicd/skaffold: `requires: [{configs: [istio-base]}]` names a config
    of the same file (no `path`), judged with it; it was a blocking GK-LOCAL-NOT-EXPANDED
    ("configurations in other files") per config. One with a path still is."""
    skaffold = (
        "apiVersion: skaffold/v4beta11\nkind: Config\nmetadata: {name: base}\n"
        "deploy:\n  helm:\n    releases:\n    - name: web\n      chartPath: charts/web\n"
        "---\n"  # 9
        "apiVersion: skaffold/v4beta11\nkind: Config\nmetadata: {name: app}\n"
        "requires:\n"  # 13
        "- configs: [base]\n"  # 14
        "  activeProfiles: [{name: dev}]\n"
        "- {path: deploy/other.skaffold.yaml, configs: [x]}\n"  # 16
    )
    said = {
        (f, line)
        for p, f, line, _ in found(tmp_path, {"skaffold.yaml": skaffold})
        if p == "GK-LOCAL-NOT-EXPANDED"
    }
    assert said == {("skaffold.yaml", 16)}


def test_a_remote_chart_of_a_fleet_bundle_is_said_once_for_its_targets(tmp_path: Path) -> None:
    """rancher/fleet-examples: a bundle of a chart from a URL with three targets said the
    same GK-NOT-EXPANDED four times in one file."""
    fleet = (
        "helm:\n  chart: https://example.com/guestbook-0.0.1.tgz\n"  # 2
        "targetCustomizations:\n"
        "- {name: dev, helm: {values: {replicas: 1}}}\n"
        "- {name: prod, helm: {values: {replicas: 3}}}\n"
    )
    assert found(tmp_path, {"fleet/fleet.yaml": fleet}) == {
        ("GK-NOT-EXPANDED", "fleet/fleet.yaml", 2, "")
    }


def test_a_repository_chart_name_that_is_a_local_path_is_the_local_chart(tmp_path: Path) -> None:
    """helm's LocateChart takes an existing path before any repository: helmfile's
    `charts/web`, `charts` a declared repository, and Skaffold's remoteChart `charts/web`
    install this repository's ./charts/web (red team s19). Fleet downloads a chart that has a
    `repo` from it: said not in this repository."""
    helmfile = (
        "repositories:\n"
        "- {name: charts, url: https://charts.example.com}\n"
        "releases:\n"
        "- name: web\n"
        "  chart: charts/web\n"
        "  values:\n"
        "  - privileged: true\n"  # 7
    )
    skaffold = (
        "apiVersion: skaffold/v4beta11\n"
        "kind: Config\n"
        "deploy:\n"
        "  helm:\n"
        "    releases:\n"
        "    - name: web\n"
        "      remoteChart: charts/web\n"
        "      repo: https://charts.example.com\n"
        "      setValues: {hostPID: true}\n"  # 9
    )
    fleet = "helm:\n  repo: https://charts.example.com\n  chart: charts/web\n"  # 3
    files = {"helmfile.yaml": helmfile, "skaffold.yaml": skaffold, "fleet.yaml": fleet}
    assert found(tmp_path, files) == {
        ("K8S-PSS-PRIVILEGED", "charts/web/templates/pod.yaml", 10, "helmfile.yaml:7"),
        ("K8S-PSS-HOST-NAMESPACES", "charts/web/templates/pod.yaml", 5, "skaffold.yaml:9"),
        ("GK-NOT-EXPANDED", "fleet.yaml", 3, ""),
    }


def test_what_helmfile_changes_after_the_chart_renders_is_said(tmp_path: Path) -> None:
    """helmfile (through chartify) applies a release's strategicMergePatches, jsonPatches
    and transformers to what the chart renders, and runs its postRenderer (or the defaults'):
    a `hostPID: true` patch there was deployed unjudged and unsaid."""
    helmfile = (
        "helmDefaults:\n"
        "  args: [--post-renderer=./hack/post.sh]\n"  # 2
        "releases:\n"
        "- name: web\n"
        "  chart: ./charts/web\n"
        "  strategicMergePatches:\n"  # 6
        "  - {apiVersion: v1, kind: Pod, metadata: {name: web}, spec: {hostPID: true}}\n"
        "  jsonPatches: [{target: {kind: Pod}, patch: [{op: add, path: /x, value: 1}]}]\n"  # 8
        "  transformers: [{apiVersion: builtin, kind: LabelTransformer}]\n"  # 9
        "  postRenderer: ./hack/post.sh\n"  # 10
    )
    said = {
        (f, line)
        for p, f, line, _ in found(tmp_path, {"helmfile.yaml": helmfile})
        if p == "GK-LOCAL-NOT-EXPANDED"
    }
    assert said == {("helmfile.yaml", line) for line in (2, 6, 8, 9, 10)}
