"""A manifest whose only deployer is a Flux Kustomization substituting variables.

The file as written (`allowPrivilegeEscalation: ${ALLOW_ESCALATION}`) is what no deployer
applies: Flux builds its path (no kustomization there: Flux generates one) and replaces
the variables with `postBuild.substitute` and the `substituteFrom` ConfigMaps of the
repository. It was judged as written too (a high K8S-PSS-PRIVILEGE-ESCALATION, the value
filled with nothing), where the build says `false`. Judged as deployed: the build's
findings only. A `substituteFrom` the repository does not hold leaves its variables unknown:
said at its entry, and the objects judged with them as written.
"""

from __future__ import annotations

from pathlib import Path

import gatekeeper

SYNC = """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: flux-system, namespace: flux-system}
spec:
  sourceRef: {kind: GitRepository, name: flux-system}
  path: ./clusters/prod
"""
APPS = """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec:
  sourceRef: {kind: GitRepository, name: flux-system}
  path: ./apps
  postBuild:
%s"""
VARS = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: cluster-vars, namespace: flux-system}
data: {ALLOW_ESCALATION: "%s"}
"""
WEB = """\
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: web}
spec:
  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
  containers:
    - name: web
      image: ghcr.io/acme/web:1.2.3
      securityContext:
        allowPrivilegeEscalation: ${ALLOW_ESCALATION}
        capabilities: {drop: [ALL]}
"""


def scan(root: Path, post_build: str, extra: dict[str, str] | None = None) -> list[str]:
    files = {
        "clusters/prod/flux-system/sync.yaml": SYNC,
        "clusters/prod/apps.yaml": APPS % post_build,
        "apps/web.yaml": WEB,
        **(extra or {}),
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    report = gatekeeper.scan(root, root=root, jobs=1)
    wanted = ("K8S-PSS-PRIVILEGE-ESCALATION", "GK-TEMPLATE", "GK-NOT-EXPANDED", "GK-SCHEMA")
    return sorted(
        f"{f.policy_id} {f.file}:{f.line}" for f in report.verdict.findings if f.policy_id in wanted
    )


def test_a_literal_substitution_is_judged_as_deployed(tmp_path: Path) -> None:
    substitute = '    substitute: {ALLOW_ESCALATION: "false"}\n'
    assert scan(tmp_path, substitute) == []
    made_worse = '    substitute: {ALLOW_ESCALATION: "true"}\n'
    assert scan(tmp_path, made_worse) == ["K8S-PSS-PRIVILEGE-ESCALATION apps/web.yaml:10"]


def test_a_config_map_of_the_repository_is_judged_as_deployed(tmp_path: Path) -> None:
    substitute_from = "    substituteFrom: [{kind: ConfigMap, name: cluster-vars}]\n"
    held = {"clusters/prod/vars.yaml": VARS % "false"}
    assert scan(tmp_path, substitute_from, held) == []
    held = {"clusters/prod/vars.yaml": VARS % "true"}
    assert scan(tmp_path, substitute_from, held) == [
        "K8S-PSS-PRIVILEGE-ESCALATION apps/web.yaml:10"
    ]


def test_a_config_map_the_cluster_holds_is_said_unknown(tmp_path: Path) -> None:
    substitute_from = "    substituteFrom: [{kind: ConfigMap, name: cluster-vars}]\n"
    found = scan(tmp_path, substitute_from)
    assert "GK-NOT-EXPANDED clusters/prod/apps.yaml:8" in found
    assert "K8S-PSS-PRIVILEGE-ESCALATION apps/web.yaml:10" in found  # judged as written


def test_a_file_ci_also_applies_as_written_is_judged_as_written(tmp_path: Path) -> None:
    substitute = '    substitute: {ALLOW_ESCALATION: "false"}\n'
    workflow = (
        "on: push\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: kubectl apply -f apps/web.yaml\n"
    )
    found = scan(tmp_path, substitute, {".github/workflows/deploy.yml": workflow})
    assert "K8S-PSS-PRIVILEGE-ESCALATION apps/web.yaml:10" in found
