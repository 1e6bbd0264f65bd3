"""Pulumi YAML programs deploy Kubernetes objects (red team r03 of the eleventh session):
typed resources, ConfigGroup / ConfigFile objects and local Helm charts are judged as the
objects `pulumi up` applies, located in the program."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gatekeeper
from gatekeeper.change import scan_change
from tests.test_change import CONFIG, Repo
from tests.test_release_files import CHART

JUDGED = ("K8S-PSS-PRIVILEGED", "K8S-PSS-HOST-NAMESPACES", "K8S-PSS-HOST-PATH")


def found(root: Path, files: dict[str, str], values: bool = False) -> set[tuple[Any, ...]]:
    """(policy, file, line) of the Pod Security and not-expanded findings (and with `values`,
    where the values that caused it are)."""
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    report = gatekeeper.scan(root, root=root, jobs=1)
    return {
        (f.policy_id, f.file, f.line, *([str(f.extra.get("values") or "")] if values else []))
        for f in report.verdict.findings
        if f.policy_id in JUDGED or f.policy_id.endswith("NOT-EXPANDED")
    }


PROGRAM = """\
name: agent
runtime: yaml
resources:
  agent:
    type: kubernetes:apps/v1:DaemonSet
    properties:
      metadata: {name: agent}
      spec:
        selector: {matchLabels: {app: agent}}
        template:
          metadata: {labels: {app: agent}}
          spec:
            hostPID: true
            containers:
              - name: agent
                image: registry.example.com/agent:1
                securityContext: {privileged: true}
  pod:
    type: kubernetes:core/v1:Pod
    properties:
      metadata: {name: pod}
      spec:
        containers: [{name: c, image: registry.example.com/c:1}]
        volumes: [{name: root, hostPath: {path: /}}]
"""


def test_typed_resources_are_judged_at_their_properties(tmp_path: Path) -> None:
    assert found(tmp_path, {"infra/Pulumi.yaml": PROGRAM}) == {
        ("K8S-PSS-HOST-NAMESPACES", "infra/Pulumi.yaml", 13),
        ("K8S-PSS-PRIVILEGED", "infra/Pulumi.yaml", 17),
        ("K8S-PSS-HOST-PATH", "infra/Pulumi.yaml", 24),
    }


def test_another_runtime_or_a_plain_main_yaml_is_not_a_program(tmp_path: Path) -> None:
    nodejs = PROGRAM.replace("runtime: yaml", "runtime: nodejs")
    pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostPID: true\n"
    assert found(tmp_path, {"a/Pulumi.yaml": nodejs, "b/Main.yaml": pod}) == {
        ("K8S-PSS-HOST-NAMESPACES", "b/Main.yaml", 5),  # a manifest like any other
    }


def test_config_groups_and_files_are_judged(tmp_path: Path) -> None:
    program = """\
name: debug
runtime: yaml
resources:
  text:
    type: kubernetes:yaml/v2:ConfigGroup
    properties:
      yaml: |
        apiVersion: v1
        kind: Pod
        metadata: {name: text}
        spec:
          hostNetwork: true
          containers: [{name: c, image: registry.example.com/c:1}]
      objs:
        - apiVersion: v1
          kind: Pod
          metadata: {name: obj}
          spec:
            hostIPC: true
            containers: [{name: c, image: registry.example.com/c:1}]
  file:
    type: kubernetes:yaml:ConfigFile
    properties:
      file: manifests/pod.manifest
  glob:
    type: kubernetes:yaml/v2:ConfigGroup
    properties:
      files: ["more/*.manifest"]
"""
    pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: f}\nspec:\n  hostPID: true\n"
    files = {
        "Main.yaml": program,
        "manifests/pod.manifest": pod,
        "more/a.manifest": pod,
        "more/deeper/b.manifest": pod,  # `*` stays in its folder, as in Go
    }
    assert found(tmp_path, files) == {
        ("K8S-PSS-HOST-NAMESPACES", "Main.yaml", 12),
        ("K8S-PSS-HOST-NAMESPACES", "Main.yaml", 19),
        ("K8S-PSS-HOST-NAMESPACES", "manifests/pod.manifest", 5),
        ("K8S-PSS-HOST-NAMESPACES", "more/a.manifest", 5),
    }


def test_an_interpolated_deciding_value_is_said_not_judged(tmp_path: Path) -> None:
    program = PROGRAM.replace("{privileged: true}", "{privileged: '${priv}'}")
    program = program.replace("name: agent}", "name: '${name}'}")  # a name: passes, unsaid
    assert found(tmp_path, {"Pulumi.yaml": program}) == {
        ("K8S-PSS-HOST-NAMESPACES", "Pulumi.yaml", 13),
        ("GK-LOCAL-NOT-EXPANDED", "Pulumi.yaml", 17),
        ("K8S-PSS-HOST-PATH", "Pulumi.yaml", 24),
    }


def test_a_local_chart_is_rendered_with_the_programs_values(tmp_path: Path) -> None:
    program = """\
name: web
runtime: yaml
resources:
  web:
    type: kubernetes:helm.sh/v4:Chart
    properties:
      chart: ./charts/web
      values:
        privileged: true
  remote:
    type: kubernetes:helm.sh/v3:Release
    properties:
      chart: nginx
      repositoryOpts: {repo: https://charts.example.com}
"""
    assert found(tmp_path, {**CHART, "Pulumi.yaml": program}, values=True) == {
        ("K8S-PSS-PRIVILEGED", "charts/web/templates/pod.yaml", 10, "Pulumi.yaml:9"),
        ("GK-NOT-EXPANDED", "Pulumi.yaml", 13, ""),
    }


def test_a_pull_request_changing_only_a_config_file_rejudges_the_program(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    repo.write(".gatekeeper.yml", CONFIG.replace("builtin: false", "builtin: true"))
    repo.write("policies/.keep", "")
    program = (
        "name: p\nruntime: yaml\nresources:\n  f:\n    type: kubernetes:yaml/v2:ConfigFile\n"
        "    properties: {file: pod.manifest}\n"
    )
    pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: f}\nspec:\n  hostPID: false\n"
    repo.write("infra/Pulumi.yaml", program)
    repo.write("infra/pod.manifest", pod)
    repo.commit("base")
    repo.branch("pr")
    repo.write("infra/pod.manifest", pod.replace("false", "true"))
    repo.commit("the pod shares the host's processes")
    blocking = scan_change(repo.root, "main").verdict.blocking
    assert ("K8S-PSS-HOST-NAMESPACES", "infra/pod.manifest", 5, "new") in {
        (f.policy_id, f.file, f.line, f.status) for f in blocking
    }


def test_a_literal_variable_is_judged_where_it_is_used(tmp_path: Path) -> None:
    program = PROGRAM.replace("runtime: yaml\n", "runtime: yaml\nvariables:\n  enabled: true\n")
    program = program.replace("{privileged: true}", "{privileged: '${enabled}'}")
    program = program.replace("hostPID: true", "hostPID: ${enabled}")
    program = program.replace("path: /}", "path: '${enabled}/x'}")  # text: `true/x`
    assert found(tmp_path, {"Pulumi.yaml": program}) == {
        ("K8S-PSS-HOST-NAMESPACES", "Pulumi.yaml", 15),
        ("K8S-PSS-PRIVILEGED", "Pulumi.yaml", 19),
        ("K8S-PSS-HOST-PATH", "Pulumi.yaml", 26),
    }


def test_configuration_every_stack_agrees_on_is_judged(tmp_path: Path) -> None:
    """`${priv}` is the default unless a stack sets it: the same value everywhere is judged;
    values that differ between stacks (or a secret) are said, blocking."""
    program = PROGRAM.replace(
        "runtime: yaml\n", "runtime: yaml\nconfig:\n  priv: {type: boolean, default: true}\n"
    )
    program = program.replace("{privileged: true}", "{privileged: '${priv}'}")
    files = {"Pulumi.yaml": program, "Pulumi.dev.yaml": "config:\n  agent:priv: true\n"}
    assert ("K8S-PSS-PRIVILEGED", "Pulumi.yaml", 19) in found(tmp_path, files)
    files["Pulumi.prod.yaml"] = "config:\n  agent:priv: false\n"
    judged = found(tmp_path, files)
    assert ("GK-LOCAL-NOT-EXPANDED", "Pulumi.yaml", 19) in judged
    assert ("K8S-PSS-PRIVILEGED", "Pulumi.yaml", 19) not in judged


def test_an_application_the_program_creates_brings_what_it_deploys(tmp_path: Path) -> None:
    """The Application renders the chart with `privileged: true`: only its rendering has it."""
    program = """\
name: apps
runtime: yaml
resources:
  guestbook:
    type: kubernetes:yaml/v2:ConfigGroup
    properties:
      objs:
        - apiVersion: argoproj.io/v1alpha1
          kind: Application
          metadata: {name: web, namespace: argocd}
          spec:
            project: default
            source:
              repoURL: https://github.com/acme/deploy
              path: charts/web
              helm: {valuesObject: {privileged: true}}
            destination: {server: https://kubernetes.default.svc, namespace: web}
"""
    files = {
        **CHART,
        ".gatekeeper.yml": "sources: {gitops: {repoURLs: [https://github.com/acme/deploy]}}\n",
        "Pulumi.yaml": program,
    }
    assert ("K8S-PSS-PRIVILEGED", "charts/web/templates/pod.yaml", 10) in found(tmp_path, files)


def test_a_pull_request_changing_a_chart_an_application_of_the_program_renders(
    tmp_path: Path,
) -> None:
    """The base's template ignores `privileged`; the pull request makes it read the value
    only the program's Application sets."""
    repo = Repo(tmp_path / "repo")
    repo.write(
        ".gatekeeper.yml",
        CONFIG.replace("builtin: false", "builtin: true")
        + "sources: {gitops: {repoURLs: [https://github.com/acme/deploy]}}\n",
    )
    repo.write("policies/.keep", "")
    template = CHART["charts/web/templates/pod.yaml"]
    for name, text in CHART.items():
        repo.write(name, text.replace("{{ .Values.privileged }}", "false"))
    repo.write(
        "infra/Pulumi.yaml",
        "name: p\nruntime: yaml\nresources:\n  app:\n"
        "    type: kubernetes:argoproj.io/v1alpha1:Application\n    properties:\n"
        "      metadata: {name: web, namespace: argocd}\n      spec:\n"
        "        source: {repoURL: https://github.com/acme/deploy, path: charts/web,"
        " helm: {valuesObject: {privileged: true}}}\n"
        "        destination: {namespace: web}\n",
    )
    repo.commit("base")
    repo.branch("pr")
    repo.write("charts/web/templates/pod.yaml", template)
    repo.commit("read the value")
    blocking = scan_change(repo.root, "main").verdict.blocking
    assert ("K8S-PSS-PRIVILEGED", "charts/web/templates/pod.yaml", 10, "new") in {
        (f.policy_id, f.file, f.line, f.status) for f in blocking
    }


def test_a_v3_chart_path_and_file_asset_values_are_rendered(tmp_path: Path) -> None:
    """helm.sh/v3:Chart names a local chart by `path`; Pulumi YAML writes values files as
    `fn::fileAsset` assets."""
    program = """\
name: web
runtime: yaml
resources:
  web:
    type: kubernetes:helm.sh/v3:Chart
    properties:
      path: ./charts/web
      valueYamlFiles:
        - fn::fileAsset: ./values/prod.yaml
"""
    files = {**CHART, "Pulumi.yaml": program, "values/prod.yaml": "privileged: true\n"}
    assert found(tmp_path, files, values=True) == {
        ("K8S-PSS-PRIVILEGED", "charts/web/templates/pod.yaml", 10, "values/prod.yaml:1"),
    }


def test_a_patch_setting_a_pod_security_field_is_said(tmp_path: Path) -> None:
    program = """\
name: p
runtime: yaml
resources:
  labels:
    type: kubernetes:apps/v1:DeploymentPatch
    properties:
      metadata: {name: coredns, namespace: kube-system, labels: {team: dns}}
  agent:
    type: kubernetes:apps/v1:DaemonSetPatch
    properties:
      metadata: {name: agent}
      spec:
        template:
          spec:
            hostNetwork: true
"""
    assert found(tmp_path, {"Pulumi.yaml": program}) == {
        ("GK-LOCAL-NOT-EXPANDED", "Pulumi.yaml", 15),
    }
