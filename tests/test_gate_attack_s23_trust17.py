"""Red team s23 round 17: the mechanisms added in round 16 (remote chart values)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Run
from tests.test_gate_attack_s23 import _blocking, _pull_request

_APPLICATION = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: ingress, namespace: argocd}
spec:
  project: infra
  destination: {server: https://kubernetes.default.svc, namespace: ingress}
  source:
    repoURL: https://kubernetes.github.io/ingress-nginx
    chart: ingress-nginx
    targetRevision: 4.11.3
    helm:
      parameters:
      - {name: controller.replicaCount, value: "2"}
"""


@pytest.mark.parametrize(
    ("parameter", "expected"),
    [
        (
            "'controller.containerSecurityContext.capabilities.add[0]', value: SYS_ADMIN",
            [("GK-REMOTE-CHART-VALUES", 12)],
        ),
        ("controller.hostNetwork, value: 'true'", [("GK-REMOTE-CHART-VALUES", 12)]),
        # controls: a baseline capability, an escaped dot, host network as a string
        ("'controller.containerSecurityContext.capabilities.add[0]', value: CHOWN", []),
        ("controller.podLabels.hostNetwork\\\\.io, value: 'true', forceString: true", []),
        ("controller.hostNetwork, value: 'false', forceString: true", []),
    ],
)
def test_argo_parameters_read_as_helm_reads_them(
    tmp_path: Path, gatekeeper: Callable[..., Run], parameter: str, expected: list[tuple[str, int]]
) -> None:
    """c01: `helm.parameters` are `--set` names; `capabilities.add[0]=SYS_ADMIN` was read
    as a key `add[0]` and the capability passed."""
    head = _APPLICATION + "      - {name: " + parameter + "}\n"
    _pull_request(tmp_path, {"apps/ingress.yaml": _APPLICATION}, {"apps/ingress.yaml": head})
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _blocking(run) == expected, run.stdout


_RELEASE = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: ingress, namespace: ingress}
spec:
  interval: 10m
  chart:
    spec:
      chart: ingress-nginx
      version: 4.11.3
      sourceRef: {kind: HelmRepository, name: ingress-nginx, namespace: flux-system}
  postRenderers:
  - kustomize:
"""

_MERGE = """\
      patches:
      - target: {kind: Deployment}
        patch: |
          apiVersion: apps/v1
          kind: Deployment
          metadata: {name: ingress-nginx-controller}
          spec:
            template:
              spec:
                containers:
                - name: controller
                  securityContext: {privileged: %s}
"""

_JSON6902 = """\
      patchesJson6902:
      - target: {kind: DaemonSet, name: agent}
        patch:
        - {op: add, path: /spec/template/spec/%s, value: true}
"""


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        (_MERGE % "true", [("GK-REMOTE-CHART-VALUES", 13)]),
        (_JSON6902 % "hostPID", [("GK-REMOTE-CHART-VALUES", 13)]),
        # controls: not privileged, a label
        (_MERGE % "false", []),
        (_JSON6902.replace("spec/template/spec/%s", "metadata/labels/team"), []),
    ],
)
def test_post_renderers_of_a_chart_not_judged(
    tmp_path: Path, gatekeeper: Callable[..., Run], patch: str, expected: list[tuple[str, int]]
) -> None:
    """c02: Flux applies a HelmRelease's postRenderers patches to what the chart renders;
    for a chart repository's chart (not rendered here) a patch making its pods privileged
    or host PID was green."""
    base = _RELEASE + "      images: [{name: x, newTag: '1'}]\n"
    _pull_request(tmp_path, {"infra/r.yaml": base}, {"infra/r.yaml": _RELEASE + patch})
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _blocking(run) == expected, run.stdout


_WORKFLOW = """\
name: ci
on: {push: {branches: [main]}}
permissions: {contents: read}
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
    - uses: actions/checkout@v4
    - run: %s
"""


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        ("cat hack/deploy.sh | bash", [("WF-GITOPS-IMPERATIVE-DEPLOY", 3)]),
        ("bash < hack/deploy.sh", [("WF-GITOPS-IMPERATIVE-DEPLOY", 3)]),
        ("sh -s < hack/deploy.sh", [("WF-GITOPS-IMPERATIVE-DEPLOY", 3)]),
        ('eval "$(cat hack/deploy.sh)"', [("WF-GITOPS-IMPERATIVE-DEPLOY", 3)]),
        ('bash -c "$(< hack/deploy.sh)"', [("WF-GITOPS-IMPERATIVE-DEPLOY", 3)]),
        ("source <(cat hack/deploy.sh)", [("WF-GITOPS-IMPERATIVE-DEPLOY", 3)]),
        ('for s in hack/dep*.sh; do bash "$s"; done', [("WF-GITOPS-IMPERATIVE-DEPLOY", 3)]),
        ("for s in hack/*.sh; do ./$s; done", [("WF-GITOPS-IMPERATIVE-DEPLOY", 3)]),
        # controls: another script read the same ways; an installer from the network
        ('for s in hack/t*.sh; do bash "$s"; done', []),
        ("cat hack/test.sh | bash", []),
        ('eval "$(cat hack/test.sh)"', []),
        ("curl -fsSL https://example.com/install.sh | bash", []),
    ],
)
def test_a_script_given_to_a_shell_whole_is_followed(
    tmp_path: Path, gatekeeper: Callable[..., Run], run: str, expected: list[tuple[str, int]]
) -> None:
    """c04: a step running a repository script through a pipe, a redirection, `eval
    "$(cat ...)"` or a process substitution ran its kubectl apply unread (green)."""
    scripts = {
        "hack/deploy.sh": "#!/bin/sh\nset -e\nkubectl --context prod apply -f k8s/\n",
        "hack/test.sh": "#!/bin/sh\nset -e\ngo test ./...\n",
    }
    base = {**scripts, ".github/workflows/ci.yml": _WORKFLOW % "make test"}
    _pull_request(tmp_path, base, {".github/workflows/ci.yml": _WORKFLOW % run})
    found = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _blocking(found) == expected, found.stdout


def test_a_glob_naming_more_scripts_than_are_followed_is_opaque(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """A loop over hack/*.sh follows 50 scripts: the 51st (the deploy, last in order) ran
    unread, a green check (lead, after trust17's c529d77). Past the cap the step's command
    is opaque, at its line; at the cap, nothing is said."""
    from gatekeeper.sources.workflow_scripts import MAX_GLOBBED

    fillers = {f"hack/a{n:03}.sh": "#!/bin/sh\necho ok\n" for n in range(MAX_GLOBBED)}
    loop = 'for s in hack/*.sh; do bash "$s"; done'
    base = {**fillers, ".github/workflows/ci.yml": _WORKFLOW % "make test"}
    _pull_request(tmp_path, base, {".github/workflows/ci.yml": _WORKFLOW % loop})
    quiet = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _blocking(quiet) == [], quiet.stdout
    deploy = {"hack/zz-deploy.sh": "#!/bin/sh\nkubectl --context prod apply -f k8s/\n"}
    (tmp_path / "more").mkdir()
    _pull_request(tmp_path / "more", base, {".github/workflows/ci.yml": _WORKFLOW % loop, **deploy})
    found = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path / "more")
    assert _blocking(found) == [("WF-GITOPS-IMPERATIVE-DEPLOY", 9)], found.stdout


_VALUES = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: app, namespace: argocd}
spec:
  project: apps
  destination: {server: https://kubernetes.default.svc, namespace: app}
  source:
    repoURL: https://bjw-s.github.io/helm-charts
    chart: app-template
    targetRevision: 3.5.1
    helm:
      valuesObject:
        controllers: {main: {containers: {app: {image: {repository: nginx, tag: "1"}}}}}
"""


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            "        persistence:\n          dev: {type: hostPath, hostPath: /dev}\n",
            [("GK-REMOTE-CHART-VALUES", 15)],
        ),
        (
            "        extraVolumes: [{name: host, hostPath: {path: /}}]\n",
            [("GK-REMOTE-CHART-VALUES", 14)],
        ),
        # controls: a disabled hostPath setting, a claim
        ("        hostPath: {enabled: false, path: /var/lib/x}\n", []),
        ("        persistence:\n          data: {type: persistentVolumeClaim}\n", []),
    ],
)
def test_host_path_volumes_in_values_of_a_chart_not_judged(
    tmp_path: Path, gatekeeper: Callable[..., Run], values: str, expected: list[tuple[str, int]]
) -> None:
    """c03: values mounting a host folder (a chart's `extraVolumes`, app-template's
    `persistence` of type hostPath) into a chart repository's chart were green."""
    _pull_request(tmp_path, {"apps/a.yaml": _VALUES}, {"apps/a.yaml": _VALUES + values})
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _blocking(run) == expected, run.stdout


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            "        securityContext: {seLinuxOptions: {type: spc_t}}\n",
            [("GK-REMOTE-CHART-VALUES", 14)],
        ),
        (
            "        podSecurityContext: {seccompProfile: {type: Unconfined}}\n",
            [("GK-REMOTE-CHART-VALUES", 14)],
        ),
        (
            "        securityContext: {appArmorProfile: {type: Unconfined}}\n",
            [("GK-REMOTE-CHART-VALUES", 14)],
        ),
        # controls: what baseline allows; a profile outside a security context
        (
            "        securityContext:\n"
            "          seccompProfile: {type: RuntimeDefault}\n"
            "          seLinuxOptions: {type: container_t, level: 's0:c1'}\n",
            [],
        ),
        ("        seccompProfile: {type: Unconfined}\n", []),
    ],
)
def test_profiles_loosened_in_values_of_a_chart_not_judged(
    tmp_path: Path, gatekeeper: Callable[..., Run], values: str, expected: list[tuple[str, int]]
) -> None:
    """c07: values setting a container's SELinux type spc_t, or an Unconfined seccomp or
    AppArmor profile, for a chart repository's chart were green."""
    _pull_request(tmp_path, {"apps/a.yaml": _VALUES}, {"apps/a.yaml": _VALUES + values})
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _blocking(run) == expected, run.stdout
