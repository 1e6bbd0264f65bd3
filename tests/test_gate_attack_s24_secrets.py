"""Red team s24 (secrets19): committed credentials that no policy judged (each test fails on
e878872)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Run, git_in
from tests.test_gate_attack_s23 import _blocking, _pull_request

_APPLICATION = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: db, namespace: argocd}
spec:
  project: data
  destination: {server: https://kubernetes.default.svc, namespace: db}
  source:
    repoURL: https://charts.bitnami.com/bitnami
    chart: postgresql
    targetRevision: 15.5.0
    helm:
"""
_RELEASE = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: redis, namespace: redis}
spec:
  interval: 10m
  chart:
    spec:
      chart: redis
      version: 19.6.0
      sourceRef: {kind: HelmRepository, name: bitnami}
"""
_REPOSITORY = """\
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: bitnami, namespace: redis}
spec: {url: https://charts.bitnami.com/bitnami}
"""
# Names of Secrets and of their keys, placeholders and settings under secret-looking names.
_NOT_SECRETS = """\
        auth:
          existingSecret: postgres-credentials
          existingSecretPasswordKey: password
          secretKeys: {adminPasswordKey: postgres-password}
          passwordFile: /run/secrets/pw
          password: ""
          replicationPassword: ${REPLICATION_PASSWORD}
          apiToken: "<path:secret/data/db#token>"
          usePasswordFiles: true
          sentinelPassword: ENC[AES256_GCM,data:x0tZ9w==,iv:q5Yc/k3V+8=,tag:Wn2A==,type:str]
        tls: {enabled: true, tlsSecret: db-tls}
        metrics: {serviceMonitor: {bearerTokenFile: /var/run/secrets/token}}
        imagePullSecrets: [regcred]
        extraEnv: [{name: PGPASSWORD_FILE, value: /run/secrets/pw}, {name: LOG, value: info}]
        podAnnotations: {secret.reloader.stakater.com/reload: postgres-credentials}
        githubConfigSecret: runner-secret
        storageClass: {parameters: {csi.storage.k8s.io/node-stage-secret-name: rook-csi}}
"""


def _gcode(run: Run) -> list[tuple[str, int]]:
    return [found for found in _blocking(run) if found[0] == "GK-CHART-VALUES-SECRET"]


@pytest.mark.parametrize(
    ("helm", "expected"),
    [
        # valuesObject: a password under its name, an AWS key under any name
        (
            "      valuesObject:\n        auth: {postgresPassword: S3cr3tPassw0rd!}\n"
            "        extra: {awsKey: AKIAIOSFODNN7EXAMPLE}\n"
            "        oidc: {clientSecret: 9fQxT2vLr8KpZ3}\n",
            [13, 14, 15],
        ),
        # an env-style item of the values, named by its `name`
        (
            "      valuesObject:\n        extraEnv:\n        - {name: PGADMIN, value: x}\n"
            "        - {name: DB_PASSWORD, value: hunter2hunter2}\n",
            [15],
        ),
        # a values string and a --set parameter, at their keys
        ("      values: |\n        auth:\n          password: hunter2hunter2\n", [12]),
        (
            "      parameters:\n      - {name: auth.password, value: hunter2hunter2}\n",
            [12],
        ),
        # controls: names of Secrets and keys, files, placeholders, settings
        ("      valuesObject:\n" + _NOT_SECRETS, []),
    ],
)
def test_application_values_of_a_remote_chart_are_judged_for_credentials(
    gatekeeper: Callable[..., Run], tmp_path: Path, helm: str, expected: list[int]
) -> None:
    """s24 secrets19 #1: Argo CD values for a chart that is not rendered here held a literal
    password or key and the check was green (only GK-NOT-EXPANDED, low)."""
    _pull_request(tmp_path, {"README.md": "x\n"}, {"app.yaml": _APPLICATION + helm})
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _gcode(run) == [("GK-CHART-VALUES-SECRET", line) for line in expected]


def test_helmrelease_values_and_values_from_a_configmap_are_judged(
    gatekeeper: Callable[..., Run], tmp_path: Path
) -> None:
    """s24 secrets19 #1: a Flux HelmRelease's values, and the values of the ConfigMap it
    reads them from, held a password under its name: green."""
    release = (
        _RELEASE
        + "  valuesFrom: [{kind: ConfigMap, name: redis-values}]\n"
        + "  values:\n    auth: {password: hunter2hunter2}\n    tls: {existingSecret: redis-tls}\n"
        + _REPOSITORY
        + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: redis-values, namespace: redis}\n"
        + "data:\n  values.yaml: |\n    sentinel:\n      password: An0therPassw0rd\n"
    )
    _pull_request(tmp_path, {"README.md": "x\n"}, {"redis.yaml": release})
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _gcode(run) == [("GK-CHART-VALUES-SECRET", 13), ("GK-CHART-VALUES-SECRET", 27)]


def test_the_configmap_policy_says_what_a_secret_is(
    gatekeeper: Callable[..., Run], tmp_path: Path
) -> None:
    """One place: disabling K8S-CONFIGMAP-SECRETS for a folder says nothing there, and its
    parameters as the configuration sets them are the ones read."""
    app = _APPLICATION + "      valuesObject: {auth: {pin: '8812', password: hunter2hunter2}}\n"
    config = (
        "overrides:\n"
        "- {path: 'legacy/**', disable: [K8S-CONFIGMAP-SECRETS]}\n"
        "- path: 'apps/**'\n"
        "  params: {K8S-CONFIGMAP-SECRETS: {secretNamePattern: '(?i)^pin$',"
        " ignoredValuePattern: '^$'}}\n"
    )
    _pull_request(
        tmp_path,
        {".gatekeeper.yml": config},
        {"legacy/app.yaml": app, "apps/app.yaml": app},
    )
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert run.returncode in (0, 1), run.stderr
    found = json.loads(run.stdout)["findings"]
    said = [
        (f["file"], f["line"], f["message"].split("(")[1].split(")")[0])
        for f in found
        if f["policy_id"] == "GK-CHART-VALUES-SECRET"
    ]
    assert said == [("apps/app.yaml", 12, "auth.pin")]


_SECRETS = """\
apiVersion: v1
kind: Secret
metadata: {name: db, namespace: app}
type: Opaque
stringData:
  username: app
  DB_PASSWORD: hunter2hunter2
data:
  github-token: Z2hwXzAxMjM0NTY3ODlhYmNkZWZnaGlqQUJDREVGR0hJSjAxMjM0NTY3ODk=
  not-base64: hunter2
---
apiVersion: v1
kind: Secret
metadata: {name: sops, namespace: app}
stringData:
  password: ENC[AES256_GCM,data:x0tZ9w==,iv:q5Yc/k3V+8=,tag:Wn2A==,type:str]
sops: {version: 3.8.1, encrypted_regex: ^(data|stringData)$}
---
apiVersion: v1
kind: Secret
metadata: {name: refs, namespace: app}
stringData:
  OP_CONNECT_TOKEN: op://kubernetes/1password/OP_CONNECT_TOKEN
  password: ${DB_PASSWORD}
  prometheus-additional.yaml: |
    - job_name: blocky
  password_file: /run/secrets/pw
data: {password-empty: ""}
"""
_CHART_SECRET = """\
apiVersion: v1
kind: Secret
metadata: {name: {{ .Release.Name }}-auth}
data:
  password: {{ .Values.auth.password | default (randAlphaNum 16) | b64enc | quote }}
"""


def test_secrets_written_in_the_repository_are_judged_for_literal_secrets(
    gatekeeper: Callable[..., Run], tmp_path: Path
) -> None:
    """s24 secrets19 #3: a plain `kind: Secret` with a literal password, or base64 of a
    GitHub token, committed to a GitOps repository was green (a Secret's content was not
    judged). SOPS-encrypted values, 1Password references, placeholders and what is no secret
    pass; so does the Secret a chart renders with a random password."""
    chart = {
        "chart/Chart.yaml": "apiVersion: v2\nname: app\nversion: 0.1.0\n",
        "chart/values.yaml": "auth: {password: ''}\n",
        "chart/templates/secret.yaml": _CHART_SECRET,
    }
    _pull_request(tmp_path, {"README.md": "x\n"}, {"secrets.yaml": _SECRETS, **chart})
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert [f for f in _blocking(run) if f[0] == "GK-SECRET-PLAINTEXT"] == [
        ("GK-SECRET-PLAINTEXT", 7),
        ("GK-SECRET-PLAINTEXT", 9),
    ]


def test_a_secret_generators_literal_is_judged_at_its_line(
    gatekeeper: Callable[..., Run], tmp_path: Path
) -> None:
    """s24 secrets19 #3: kustomize's secretGenerator `literals` write a Secret's value in
    the repository as plainly as stringData."""
    kustomization = (
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: app\n"
        "secretGenerator:\n- name: db\n  literals:\n  - username=app\n"
        "  - password=hunter2hunter2\n"
    )
    _pull_request(tmp_path, {"README.md": "x\n"}, {"kustomization.yaml": kustomization})
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert [f for f in _blocking(run) if f[0] == "GK-SECRET-PLAINTEXT"] == [
        ("GK-SECRET-PLAINTEXT", 8)
    ]


_LOCAL_APPLICATION = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: db, namespace: argocd}
spec:
  project: data
  destination: {server: https://kubernetes.default.svc, namespace: db}
  source:
    repoURL: https://github.com/example/platform.git
    path: charts/db
    targetRevision: main
    helm:
      valueFiles: [values-prod.yaml]
      valuesObject:
        auth: {password: S3cr3tPassw0rd!}
"""
_DB_CHART = {
    "charts/db/Chart.yaml": "apiVersion: v2\nname: db\nversion: 0.1.0\n",
    "charts/db/values.yaml": "auth:\n  password: changeme\n",
    "charts/db/templates/secret.yaml": (
        "apiVersion: v1\nkind: Secret\nmetadata: {name: '{{ .Release.Name }}-auth'}\n"
        "stringData:\n  password: {{ .Values.auth.password | quote }}\n"
    ),
}


def test_a_deployers_values_for_a_chart_of_the_repository_are_judged(
    gatekeeper: Callable[..., Run], tmp_path: Path
) -> None:
    """s24 secrets19 #2: an Application of this repository's chart gave it a literal
    password (valuesObject, a values file it names) that the chart writes into a Secret:
    green, a rendered Secret's content is not judged. The chart's own defaults
    (`password: changeme` in its values.yaml) are the chart author's, and are not said."""
    _pull_request(
        tmp_path,
        {"README.md": "x\n"},
        {
            "app.yaml": _LOCAL_APPLICATION,
            "charts/db/values-prod.yaml": "auth:\n  password: Pr0dPassw0rd!\n",
            **_DB_CHART,
        },
    )
    git_in(tmp_path, "remote", "add", "origin", "https://github.com/example/platform.git")
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert run.returncode in (0, 1), run.stderr
    found = json.loads(run.stdout)["findings"]
    said = [(f["file"], f["line"]) for f in found if f["policy_id"] == "GK-CHART-VALUES-SECRET"]
    assert said == [("app.yaml", 14), ("charts/db/values-prod.yaml", 2)]


def test_a_pattern_python_cannot_read_leaves_every_value_to_the_policy_rule() -> None:
    """The prefilter reads the params with Python's `re`; an RE2 pattern it cannot read
    (`\\p{Greek}`) must not make values pass unjudged."""
    from gatekeeper.chart_secrets import _prefilter

    assert _prefilter({"secretNamePattern": "\\p{Greek}", "secretValuePatterns": []})("\u03b1", "x")
    plain = _prefilter({"secretNamePattern": "(?i)PASSWORD", "secretValuePatterns": ["ghp_"]})
    assert plain("db_password", "x") and plain("x", "a ghp_b") and not plain("user", "app")
