"""Red team s26 (trust20): Jsonnet/Tanka, whole-tree searches, committed credentials and
hooks (each fail case fails on 3571605)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Run
from tests.test_gate_attack_s23 import _blocking, _pull_request
from tests.test_gate_attack_s25 import _SCC, _SCC_VAP

_LIBRARY = """\
{
  pod(name, privileged):: {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: name },
    spec: { containers: [{ name: name, image: 'nginx:1.25',
                           securityContext: { privileged: privileged } }] },
  },
}
"""
_MAIN = "local k = import 'k.libsonnet';\n{ web: k.pod('web', %s) }\n"
_SPEC = '"spec": {"apiServer": "https://127.0.0.1:6443", "namespace": "prod"}'
_TANKA_SPECS = {
    "nokind": f"{{{_SPEC}}}\n",
    "keycase": f'{{"APIVERSION": "tanka.dev/v1alpha1", "Kind": "Environment", {_SPEC}}}\n',
    "otherkind": f'{{"apiVersion": "v1", "kind": "Environment", {_SPEC}}}\n',
}


def _tanka(spec: str, privileged: str) -> dict[str, str]:
    return {
        "jsonnetfile.json": '{"version": 1, "dependencies": []}\n',
        "lib/k.libsonnet": _LIBRARY,
        "environments/prod/main.jsonnet": _MAIN % privileged,
        "environments/prod/spec.json": spec,
    }


def _privileged(run: Run) -> list[tuple[str, int]]:
    return [found for found in _blocking(run) if found[0] == "K8S-PSS-PRIVILEGED"]


@pytest.mark.parametrize("variant", sorted(_TANKA_SPECS))
def test_a_tanka_spec_json_without_the_environment_kind_is_still_a_static_environment(
    gatekeeper: Callable[..., Run], tmp_path: Path, variant: str
) -> None:
    """s26 trust20 j01: tk reads any JSON object in spec.json (spec.Parse into v1alpha1.New():
    apiVersion and kind defaulted, keys matched in any case) and evaluates main.jsonnet; the
    scan expanded only a `tanka.dev/` Environment document and skipped main.jsonnet as a
    static environment's, so a privileged pod was green, in the pull request and the hook."""
    spec = _TANKA_SPECS[variant]
    changed = {"environments/prod/main.jsonnet": _MAIN % "true"}
    _pull_request(tmp_path, _tanka(spec, "false"), changed)
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _privileged(run) == [("K8S-PSS-PRIVILEGED", 5)]
    hook = gatekeeper(
        "scan", "--hook", "environments/prod/main.jsonnet", "--format", "json", cwd=tmp_path
    )
    assert _privileged(hook) == [("K8S-PSS-PRIVILEGED", 5)]


def test_a_library_change_of_an_unmarked_static_environment_is_judged(
    gatekeeper: Callable[..., Run], tmp_path: Path
) -> None:
    """s26 trust20 j01: the same environment, its library changed alone."""
    files = _tanka(_TANKA_SPECS["nokind"], "false")
    changed = {"lib/k.libsonnet": files["lib/k.libsonnet"].replace("privileged }", "true }")}
    _pull_request(tmp_path, files, changed)
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _privileged(run) == [("K8S-PSS-PRIVILEGED", 5)]


@pytest.mark.parametrize("staged", ["environments/prod/main.jsonnet", "lib/k.libsonnet"])
def test_the_hook_judges_the_tanka_environment_a_staged_jsonnet_file_feeds(
    gatekeeper: Callable[..., Run], tmp_path: Path, staged: str
) -> None:
    """s26 trust20 j02: `scan --hook` on an environment's main.jsonnet or on a library it
    imports judged nothing (a static environment is read through its spec.json, which was
    not staged), where tk apply runs the pod privileged."""
    spec = f'{{"apiVersion": "tanka.dev/v1alpha1", "kind": "Environment", {_SPEC}}}\n'
    files = _tanka(spec, "false")
    if staged.startswith("lib/"):
        files[staged] = files[staged].replace("privileged }", "true }")
    else:
        files[staged] = _MAIN % "true"
    _pull_request(tmp_path, files, {})
    hook = gatekeeper("scan", "--hook", staged, "--format", "json", cwd=tmp_path)
    assert _privileged(hook) == [("K8S-PSS-PRIVILEGED", 5)]


_INLINE = """\
local pod(p) = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' },
  spec: { containers: [{ name: 'web', image: 'nginx:1.25',
                         securityContext: { privileged: p } }] } };
{ apiVersion: 'x/v1', kind: 'Env' + 'ironment', metadata: { name: 'prod' },
  spec: { apiServer: 'https://127.0.0.1:6443', namespace: 'prod' },
  data: { web: pod(%s) } }
"""


@pytest.mark.parametrize(
    ("privileged", "config"),
    [
        ("std.native('regexMatch')('^p', 'prod')", ""),
        (
            "std.length(std.foldl(function(a, b) a + b, std.range(0, 30000000), 0) + '') > 0",
            "sources:\n  jsonnet:\n    renderTimeoutSeconds: 1\n",
        ),
        ("(import '/home/runner/work/repo/repo/privileged.libsonnet')", ""),
    ],
    ids=["native", "cpu", "absolute-import"],
)
def test_an_inline_environment_the_scan_cannot_evaluate_is_said(
    gatekeeper: Callable[..., Run], tmp_path: Path, privileged: str, config: str
) -> None:
    """s26 trust20 j04: Tanka picks environments out of main.jsonnet's output by kind alone,
    so its text need not spell `tanka.dev`; such a file that the scan could not evaluate was
    silence, while tk evaluates it: one calling a native function tk provides (regexMatch),
    one over the CPU limit (tk has none), or (j06) one whose import the scan refuses (an
    absolute path: a CI checkout's path is predictable). Each is a blocking GK-RENDER-ERROR
    now."""
    files = {
        "jsonnetfile.json": '{"version": 1, "dependencies": []}\n',
        "environments/prod/main.jsonnet": _INLINE % "false",
    }
    if config:
        files[".gatekeeper.yml"] = config
    _pull_request(tmp_path, files, {"environments/prod/main.jsonnet": _INLINE % privileged})
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert [code for code, _ in _blocking(run)] == ["GK-RENDER-ERROR"]


def test_a_jsonnet_bundler_projects_main_that_misses_its_vendor_stays_quiet(
    gatekeeper: Callable[..., Run], tmp_path: Path
) -> None:
    """The control: a main.jsonnet of a jsonnet-bundler project whose vendor/ is not
    committed (kube-prometheus' shape) is no environment the scan can tell; not said."""
    main = (
        "local kp = import 'kube-prometheus/main.libsonnet';\n"
        "{ [k]: kp[k] for k in std.objectFields(kp) }\n"
    )
    files = {"jsonnetfile.json": '{"version": 1, "dependencies": []}\n', "main.jsonnet": main}
    _pull_request(tmp_path, {"README.md": "x\n"}, files)
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _blocking(run) == []


_APPLICATION = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web, namespace: argocd}
spec:
  project: default
  destination: {server: https://kubernetes.default.svc, namespace: web}
  source:
    repoURL: https://github.com/example/repo.git
    path: k8s/web
    directory:
      jsonnet:
        libs: [%s]
"""


@pytest.mark.parametrize(
    ("libs", "imported", "staged"),
    [
        ("jlib", "k.libsonnet", "k8s/web/main.jsonnet"),
        ("jlib", "k.libsonnet", "jlib/k.libsonnet"),
        ("", "../../jlib/k.libsonnet", "jlib/k.libsonnet"),
    ],
    ids=["main", "lib", "relative"],
)
def test_the_hook_judges_the_argo_cd_application_a_staged_jsonnet_file_feeds(
    gatekeeper: Callable[..., Run], tmp_path: Path, libs: str, imported: str, staged: str
) -> None:
    """s26 trust20 j03: `scan --hook` on a Jsonnet file of an Argo CD directory source, or on
    a library it imports (by `directory.jsonnet.libs` or a relative path), judged nothing:
    only Applications spelling `valueFiles`/`fileParameters` were asked."""
    files = {
        ".gatekeeper.yml": "sources:\n  gitops:\n    repoURLs: [https://github.com/example/repo.git]\n",
        "apps/web.yaml": _APPLICATION % libs,
        "jlib/k.libsonnet": _LIBRARY,
        "k8s/web/main.jsonnet": f"local k = import '{imported}';\nk.pod('web', false)\n",
    }
    if staged.startswith("jlib/"):
        files[staged] = files[staged].replace("privileged }", "true }")
    else:
        files[staged] = files[staged].replace("false", "true")
    _pull_request(tmp_path, files, {})
    hook = gatekeeper("scan", "--hook", staged, "--format", "json", cwd=tmp_path)
    assert _privileged(hook) == [("K8S-PSS-PRIVILEGED", 5)]


_JOB = """\
apiVersion: batch/v1
kind: Job
metadata: {name: migrate, namespace: app}
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: migrate
        image: app@sha256:0000000000000000000000000000000000000000000000000000000000000000
        command: [%s]
"""


@pytest.mark.parametrize(
    ("command", "found"),
    [
        ('sh, -c, "migrate --db-password=hunter2hunter2"', [("GK-SECRET-PLAINTEXT", 11)]),
        ('/bin/bash, -ec, "DB_PASSWORD=hunter2hunter2 migrate"', [("GK-SECRET-PLAINTEXT", 11)]),
        ('sh, -c, "export PGPASSWORD=hunter2hunter2; psql -h db"', [("GK-SECRET-PLAINTEXT", 11)]),
        (
            'bash, -o, pipefail, -ec, "migrate --db-password=hunter2hunter2"',
            [("GK-SECRET-PLAINTEXT", 11)],
        ),
        ('sh, run.sh, -c, "migrate --db-password=hunter2hunter2"', []),
        ('sh, -c, "migrate --db-password=$DB_PASSWORD --db-host db"', []),
        ('sh, -c, "migrate --token $(cat /run/secrets/token)"', []),
        ('python, -c, "print(1) --password=x"', []),
    ],
    ids=[
        "flag",
        "assignment",
        "export",
        "options",
        "script-file",
        "variable",
        "substitution",
        "not-a-shell",
    ],
)
def test_a_literal_secret_in_a_containers_shell_script_is_judged(
    gatekeeper: Callable[..., Run], tmp_path: Path, command: str, found: list[tuple[str, int]]
) -> None:
    """s26 trust20 s01 (trust19's open item): `command: [sh, -c, "migrate
    --db-password=<literal>"]` was green: a script word was not read. Each simple command of
    a shell's -c script is read as a container's arguments are."""
    _pull_request(tmp_path, {"README.md": "x\n"}, {"k8s/job.yaml": _JOB % command})
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert [f for f in _blocking(run) if f[0] == "GK-SECRET-PLAINTEXT"] == found


_DEPLOY = """\
name: deploy
on: {push: {branches: [main]}}
permissions: {contents: read}
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
    - run: helm upgrade --install db bitnami/postgresql --version 15.5.0 -n db -f values/db.yaml
"""
_HELMFILE = """\
repositories:
- {name: bitnami, url: https://charts.bitnami.com/bitnami}
releases:
- {name: db, namespace: db, chart: bitnami/postgresql, version: 15.5.0, values: [values/db.yaml]}
"""


@pytest.mark.parametrize(
    ("deployer", "text"),
    [(".github/workflows/deploy.yml", _DEPLOY), ("helmfile.yaml", _HELMFILE)],
    ids=["ci", "helmfile"],
)
def test_the_hook_judges_a_values_file_a_release_of_a_remote_chart_reads(
    gatekeeper: Callable[..., Run], tmp_path: Path, deployer: str, text: str
) -> None:
    """s26 trust20 h01 (trust19's open item): `scan --hook values/db.yaml`, a values file
    that only a CI `helm upgrade ... -f` or a helmfile release of a remote chart reads, now
    holding a literal password, judged nothing (the pull request's check did)."""
    files = {deployer: text, "values/db.yaml": "auth:\n  username: app\n", "README.md": "x\n"}
    _pull_request(tmp_path, files, {})
    (tmp_path / "values/db.yaml").write_text("auth:\n  username: app\n  password: hunter2hunter2\n")
    hook = gatekeeper("scan", "--hook", "values/db.yaml", "--format", "json", cwd=tmp_path)
    assert ("GK-CHART-VALUES-SECRET", 3) in _blocking(hook)
    unnamed = gatekeeper("scan", "--hook", "README.md", "--format", "json", cwd=tmp_path)
    assert _blocking(unnamed) == []


_GATED_POD = """\
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: web
    image: {{ .Values.image }}
    securityContext:
%s
      privileged: true
{{- else }}
      privileged: false
{{- end }}
"""


@pytest.mark.parametrize(
    "gate",
    [
        '{{- if regexMatch "^prod(-.*)?$" .Release.Namespace }}',
        '{{- if has .Release.Namespace (list "prod" "production") }}',
        '{{- $ns := .Release.Namespace }}{{- if eq $ns "prod" }}',
        '{{- $prod := "prod" }}{{- if eq .Release.Namespace $prod }}',
        "{{- if eq .Release.Namespace .Values.prodNamespace }}",
        '{{- $prod := eq .Release.Namespace "prod" }}{{- if $prod }}',
    ],
    ids=[
        "regexMatch",
        "has",
        "namespace-variable",
        "literal-variable",
        "values-default",
        "condition-variable",
    ],
)
def test_a_chart_gated_on_its_release_in_other_words_is_rendered_through_the_gate(
    gatekeeper: Callable[..., Run], tmp_path: Path, gate: str
) -> None:
    """s26 trust20 r01 (trust19's open item): a chart alone that runs privileged only in
    namespace prod, gated by regexMatch, `has`, a variable holding the namespace or the
    literal, or a values default, was green (judged in `default` only)."""
    chart = {
        "charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
        "charts/web/values.yaml": "image: nginx@sha256:" + "0" * 64 + "\nprodNamespace: prod\n",
    }
    _pull_request(tmp_path, chart, {"charts/web/templates/pod.yaml": _GATED_POD % gate})
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _privileged(run) == [("K8S-PSS-PRIVILEGED", 10)]


def test_a_comparison_beside_the_release_is_no_gate_but_one_of_the_release_still_is(
    gatekeeper: Callable[..., Run], tmp_path: Path
) -> None:
    """DataDog's operator chart ANDs a comparison of a ConfigMap label with
    "endpoint-config" and one of `$ctx.Release.Name`: the chart was rendered once more as a
    release named endpoint-config and every finding of it said twice (20 of the repository's
    173). Only a literal compared with the release makes a gate: the pod's privileged line
    is said once, and a gate ANDed with another comparison is still rendered through."""
    chart = {
        "charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
        "charts/web/values.yaml": "image: nginx@sha256:" + "0" * 64 + "\nmode: fast\n",
    }
    other = (
        '{{- if and (eq (default "" (get (dict) "component")) "endpoint-config")'
        ' (eq (default "" (get (dict) "instance")) .Release.Name) }}'
    )
    pod = _GATED_POD.replace("      privileged: true\n{{- else }}\n", "      privileged: true\n")
    pod = pod.replace("      privileged: false\n{{- end }}\n", "")
    pod = pod.replace("%s\n", other + "\n      readOnlyRootFilesystem: true\n{{- end }}\n")
    pod = pod.replace("metadata: {name: web}", "metadata: {name: {{ .Release.Name }}-web}")
    _pull_request(tmp_path, chart, {"charts/web/templates/pod.yaml": pod})
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    messages = [f["message"] for f in json.loads(run.stdout)["findings"]]
    assert not any("endpoint-config" in message for message in messages), messages
    assert _privileged(run) == [("K8S-PSS-PRIVILEGED", 12)]

    gated = '{{- if and (eq .Values.mode "fast") (eq .Release.Namespace "prod") }}'
    again = tmp_path / "again"
    again.mkdir()
    _pull_request(again, chart, {"charts/web/templates/pod.yaml": _GATED_POD % gated})
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=again)
    assert _privileged(run) == [("K8S-PSS-PRIVILEGED", 10)]


_DIGEST = "@sha256:" + "0" * 64
_TEKTON = f"""\
apiVersion: tekton.dev/v1
kind: Task
metadata: {{name: migrate, namespace: app}}
spec:
  steps:
  - name: migrate
    image: app{_DIGEST}
    script: |
      %s
      migrate --db-password=hunter2hunter2
"""
_CLONESET = f"""\
apiVersion: apps.kruise.io/v1alpha1
kind: CloneSet
metadata: {{name: web, namespace: app}}
spec:
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - name: web
        image: nginx{_DIGEST}
        args: [--api-token=hunter2hunter2]
"""
_COMPOSE = f"""\
services:
  app:
    image: app{_DIGEST}
    command: %s
"""


@pytest.mark.parametrize(
    ("file", "text", "found"),
    [
        ("k8s/task.yaml", _TEKTON % "#!/bin/sh", [("GK-SECRET-PLAINTEXT", 8)]),
        ("k8s/task.yaml", _TEKTON % "#!/usr/bin/env python3", []),
        ("k8s/cs.yaml", _CLONESET, [("GK-SECRET-PLAINTEXT", 12)]),
        (
            "docker-compose.yml",
            _COMPOSE % '["sh", "-c", "migrate --db-password=hunter2hunter2"]',
            [("GK-SECRET-PLAINTEXT", 4)],
        ),
        (
            "docker-compose.yml",
            _COMPOSE % "migrate --db-password=hunter2hunter2",
            [("GK-SECRET-PLAINTEXT", 4)],
        ),
        ("docker-compose.yml", _COMPOSE % "migrate --db-password=${DB_PASSWORD}", []),
    ],
    ids=[
        "tekton-script",
        "tekton-python",
        "cloneset-args",
        "compose-sh-c",
        "compose-string",
        "compose-variable",
    ],
)
def test_literal_secrets_in_other_containers_commands_are_judged(
    gatekeeper: Callable[..., Run],
    tmp_path: Path,
    file: str,
    text: str,
    found: list[tuple[str, int]],
) -> None:
    """s26 trust20 s02: a Tekton step's shell `script`, a custom resource's container args
    (CloneSet: read on 3571605 too, a control) and a Compose service's command holding
    `--db-password=<literal>` were green. A Python script and `${VAR}` pass."""
    _pull_request(tmp_path, {"README.md": "x\n"}, {file: text})
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert [f for f in _blocking(run) if f[0] == "GK-SECRET-PLAINTEXT"] == found


_WEAKENED = _SCC_VAP.replace('orValue(false)"', 'orValue(false) || true"')


@pytest.mark.parametrize("attributes", ["*.yaml -diff\n", "*.yaml binary\n", ""])
def test_gitattributes_do_not_hide_the_base_revisions_admission_policies(
    gatekeeper: Callable[..., Run], tmp_path: Path, attributes: str
) -> None:
    """s26 trust20 g01: a pull request weakening the repository's own admission policy is
    judged by the base revision's version too; adding `.gitattributes` `*.yaml -diff` (or
    `binary`) made git grep -I skip every YAML file of the base revision, so no base policy
    was found and a privileged SCC was green. Every file is searched as text now."""
    head = {"admission.yaml": _WEAKENED, "scc.yaml": _SCC}
    if attributes:
        head[".gitattributes"] = attributes
    _pull_request(tmp_path, {"admission.yaml": _SCC_VAP}, head)
    run = gatekeeper("scan", "--base", "main", "--no-builtin", "--format", "json", cwd=tmp_path)
    assert [f for f in _blocking(run) if f[0].startswith("VAP-")] == [("VAP-no-privileged-scc", 4)]


_VARS = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: vars, namespace: flux-system}\ndata:\n"
_SUBSTITUTED = """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: web, namespace: flux-system}
spec:
  interval: 10m
  path: ./apps/web
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
  postBuild:
    substituteFrom:
    - {kind: ConfigMap, name: vars}
"""
_HOSTNET_POD = """\
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: app}
spec:
  hostNetwork: ${HOSTNET:=false}
  containers:
  - {name: web, image: nginx:1.25}
"""


def test_the_hook_judges_what_a_flux_kustomization_substitutes_from_a_staged_config_map(
    gatekeeper: Callable[..., Run], tmp_path: Path
) -> None:
    """s26 trust20 h02: `scan --hook clusters/prod/vars.yaml`, the ConfigMap a Flux
    Kustomization's postBuild.substituteFrom reads, set to HOSTNET: "true", judged only the
    ConfigMap; the pull request's check judged the Pod it makes share the host network."""
    files = {
        "apps/web/pod.yaml": _HOSTNET_POD,
        "clusters/prod/web.yaml": _SUBSTITUTED,
        "clusters/prod/vars.yaml": _VARS + '  HOSTNET: "true"\n',
        "clusters/prod/other.yaml": _VARS.replace("vars", "other") + '  X: "y"\n',
    }
    _pull_request(tmp_path, files, {})
    hook = gatekeeper("scan", "--hook", "clusters/prod/vars.yaml", "--format", "json", cwd=tmp_path)
    assert ("K8S-PSS-HOST-NAMESPACES", 5) in _blocking(hook)
    other = gatekeeper(
        "scan", "--hook", "clusters/prod/other.yaml", "--format", "json", cwd=tmp_path
    )
    assert ("K8S-PSS-HOST-NAMESPACES", 5) not in _blocking(other)


_HELM_RELEASE = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: web, namespace: web}
spec:
  interval: 10m
  chart:
    spec:
      chart: ./charts/web
      sourceRef: {kind: GitRepository, name: flux-system, namespace: flux-system}
      valuesFiles: [./charts/web/values.yaml, ./envs/prod/web-values.yaml]
"""


def test_the_hook_judges_a_flux_helm_release_of_a_staged_values_file(
    gatekeeper: Callable[..., Run], tmp_path: Path
) -> None:
    """s26 trust20 h03: `scan --hook envs/prod/web-values.yaml`, a values file only a Flux
    HelmRelease's chart.spec.valuesFiles names, setting hostNetwork: true, judged nothing."""
    files = {
        "charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
        "charts/web/values.yaml": "hostNetwork: false\n",
        "charts/web/templates/pod.yaml": (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n"
            "  hostNetwork: {{ .Values.hostNetwork }}\n"
            "  containers:\n  - {name: web, image: nginx:1.25}\n"
        ),
        "clusters/prod-web.yaml": _HELM_RELEASE,
        "envs/prod/web-values.yaml": "hostNetwork: true\n",
    }
    _pull_request(tmp_path, files, {})
    hook = gatekeeper(
        "scan", "--hook", "envs/prod/web-values.yaml", "--format", "json", cwd=tmp_path
    )
    assert ("K8S-PSS-HOST-NAMESPACES", 5) in _blocking(hook)


_LIBRARY_HELPER = '{{- define "lib.securityContext" -}}\nprivileged: %s\n{{- end -}}\n'
_USING_POD = """\
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: web
    image: {{ .Values.image }}
    securityContext:
      {{- include "lib.securityContext" . | nindent 6 }}
"""


def test_the_hook_judges_the_chart_a_staged_library_chart_helper_renders_in(
    gatekeeper: Callable[..., Run], tmp_path: Path
) -> None:
    """s26 trust20 h05: `scan --hook charts/lib/templates/_sc.tpl`, a helper of a local
    library chart (`type: library`) that charts/web takes as `file://../lib`, now writing
    privileged: true, judged nothing (a library renders nothing alone)."""
    files = {
        "charts/lib/Chart.yaml": "apiVersion: v2\nname: lib\nversion: 0.1.0\ntype: library\n",
        "charts/lib/templates/_sc.tpl": _LIBRARY_HELPER % "true",
        "charts/web/Chart.yaml": (
            "apiVersion: v2\nname: web\nversion: 0.1.0\ndependencies:\n"
            "- {name: lib, version: 0.1.0, repository: 'file://../lib'}\n"
        ),
        "charts/web/values.yaml": "image: nginx:1.25\n",
        "charts/web/templates/pod.yaml": _USING_POD,
    }
    _pull_request(tmp_path, files, {})
    hook = gatekeeper(
        "scan", "--hook", "charts/lib/templates/_sc.tpl", "--format", "json", cwd=tmp_path
    )
    assert [f for f in _blocking(hook) if f[0] == "K8S-PSS-PRIVILEGED"] != []


_TLA_APPLICATION = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web, namespace: argocd}
spec:
  project: default
  destination: {server: https://kubernetes.default.svc, namespace: web}
  source:
    repoURL: https://github.com/example/repo.git
    path: k8s/web
    directory: {jsonnet: {tlas: [{name: priv, value: "false", code: true}]}}
"""


@pytest.mark.parametrize("override", [".argocd-source-web.yaml", ".argocd-source.yaml"])
def test_the_hook_judges_the_application_a_staged_override_file_configures(
    gatekeeper: Callable[..., Run], tmp_path: Path, override: str
) -> None:
    """s26 trust20 j09: `scan --hook k8s/web/.argocd-source-web.yaml`, an Argo CD override
    file in the source path giving the Jsonnet tla priv=true, judged nothing: only
    Applications spelling valueFiles/fileParameters were asked for a YAML file."""
    files = {
        ".gatekeeper.yml": "sources:\n  gitops:\n    repoURLs: [https://github.com/example/repo.git]\n",
        "apps/web.yaml": _TLA_APPLICATION,
        "k8s/web/main.jsonnet": (
            "function(priv=false) { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' },\n"
            "  spec: { containers: [{ name: 'web', image: 'nginx:1.25',\n"
            "                         securityContext: { privileged: priv } }] } }\n"
        ),
        f"k8s/web/{override}": (
            'directory:\n  jsonnet:\n    tlas: [{name: priv, value: "true", code: true}]\n'
        ),
    }
    _pull_request(tmp_path, files, {})
    hook = gatekeeper("scan", "--hook", f"k8s/web/{override}", "--format", "json", cwd=tmp_path)
    assert [f for f in _blocking(hook) if f[0] == "K8S-PSS-PRIVILEGED"] != []


_GIT_FILES_SET = """\
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: web, namespace: argocd}
spec:
  goTemplate: true
  generators:
  - git:
      repoURL: https://github.com/example/repo.git
      revision: HEAD
      files: [{path: "envs/*/config.json"}]
  template:
    metadata: {name: 'web-{{.env}}'}
    spec:
      project: default
      destination: {server: https://kubernetes.default.svc, namespace: 'web-{{.env}}'}
      source:
        repoURL: https://github.com/example/repo.git
        path: charts/web
        helm:
          valuesObject:
            hostNetwork: '{{.hostNetwork}}'
"""


def test_the_hook_judges_the_application_set_a_staged_generator_file_feeds(
    gatekeeper: Callable[..., Run], tmp_path: Path
) -> None:
    """s26 trust20 h06: `scan --hook envs/prod/config.json`, the file an ApplicationSet's git
    files generator reads as the template's parameters, now giving hostNetwork true, judged
    nothing."""
    files = {
        ".gatekeeper.yml": "sources:\n  gitops:\n    repoURLs: [https://github.com/example/repo.git]\n",
        "charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
        "charts/web/values.yaml": "hostNetwork: false\n",
        "charts/web/templates/pod.yaml": (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n"
            "  hostNetwork: {{ .Values.hostNetwork }}\n"
            "  containers:\n  - {name: web, image: nginx:1.25}\n"
        ),
        "apps/web.yaml": _GIT_FILES_SET,
        "envs/prod/config.json": '{"env": "prod", "hostNetwork": true}\n',
    }
    _pull_request(tmp_path, files, {})
    hook = gatekeeper("scan", "--hook", "envs/prod/config.json", "--format", "json", cwd=tmp_path)
    assert ("K8S-PSS-HOST-NAMESPACES", 5) in _blocking(hook)


_CHART_JOB = """\
apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: migrate
        image: {{ .Values.image }}
        %s
"""


@pytest.mark.parametrize(
    ("written", "found"),
    [
        ('args: ["--db-password=hunter2hunter2"]', [("GK-SECRET-PLAINTEXT", 11)]),
        (
            'command: ["sh", "-c", "migrate --db-password=hunter2hunter2"]',
            [("GK-SECRET-PLAINTEXT", 11)],
        ),
        ("args: ['--db-password={{ \"hunter2hunter2\" }}']", [("GK-SECRET-PLAINTEXT", 11)]),
        ('args: ["--db-password={{ .Values.password }}"]', []),
        (  # found re-reading the cost fix 2a8f145: its check of the template's bytes missed it
            'args: [\'--db-password={{ "hunter" }}{{ "2hunter2" }}\']',
            [("GK-SECRET-PLAINTEXT", 11)],
        ),
    ],
    ids=["args", "script", "literal-action", "values-default", "split-literal"],
)
def test_a_literal_secret_a_charts_template_writes_in_container_arguments_is_judged(
    gatekeeper: Callable[..., Run], tmp_path: Path, written: str, found: list[tuple[str, int]]
) -> None:
    """s26 trust20 s03: a chart's template writing `--db-password=<literal>` in a container's
    args (or its sh -c script) was green: charts' renderings were left out of the container
    argument check. Only a value the template line writes as a literal is judged; a default
    of the chart's values stays unjudged (s24)."""
    chart = {
        "charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
        "charts/web/values.yaml": f"image: app{_DIGEST}\npassword: hunter2hunter2\n",
    }
    _pull_request(tmp_path, chart, {"charts/web/templates/job.yaml": _CHART_JOB % written})
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert [f for f in _blocking(run) if f[0] == "GK-SECRET-PLAINTEXT"] == found


_HELPERS = """\
{{- define "web.args" -}}
- --db-host=db
%s
{{- end -}}
{{- define "web.outer" -}}
{{ include "web.args" . }}
{{- end -}}
"""


@pytest.mark.parametrize(
    ("helper", "included", "found"),
    [
        ("- --db-password=hunter2hunter2", "web.args", [("GK-SECRET-PLAINTEXT", 12)]),
        ("- --db-password=hunter2hunter2", "web.outer", [("GK-SECRET-PLAINTEXT", 12)]),
        ("- --db-password={{ .Values.password }}", "web.args", []),
    ],
    ids=["helper", "nested-helper", "values-default"],
)
def test_a_literal_secret_a_charts_helper_writes_in_container_arguments_is_judged(
    gatekeeper: Callable[..., Run],
    tmp_path: Path,
    helper: str,
    included: str,
    found: list[tuple[str, int]],
) -> None:
    """A named template (`define` in _helpers.tpl) writing `--db-password=<literal>`,
    included into a container's args, was green: the included line does not hold the
    literal (found re-reading trust20's s03). Said at the include's line; a default of the
    chart's values the helper prints stays unjudged."""
    chart = {
        "charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
        "charts/web/values.yaml": f"image: app{_DIGEST}\npassword: hunter2hunter2\n",
    }
    job = _CHART_JOB % f'args:\n        {{{{- include "{included}" . | nindent 8 }}}}'
    files = {
        "charts/web/templates/job.yaml": job,
        "charts/web/templates/_helpers.tpl": _HELPERS % helper,
    }
    _pull_request(tmp_path, chart, files)
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert [f for f in _blocking(run) if f[0] == "GK-SECRET-PLAINTEXT"] == found
