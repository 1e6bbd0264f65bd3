"""Red team s25 (trust19): committed credentials and admission gaps (each fail case fails on
b5d3ad5)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Run
from tests.test_gate_attack_s23 import _blocking, _pull_request

_PASSWORD = "hunter2hunter2"


def _secret(key: str, text: str, field: str = "stringData") -> str:
    body = "\n".join("    " + line for line in text.splitlines())
    return (
        "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: app}\n"
        f"{field}:\n  {key}: |\n{body}\n"
    )


def _plaintext(run: Run) -> list[tuple[str, int]]:
    return [found for found in _blocking(run) if found[0] == "GK-SECRET-PLAINTEXT"]


_DOCKER_AUTH = base64.b64encode(f"ci:{_PASSWORD}".encode()).decode()


@pytest.mark.parametrize(
    ("key", "text"),
    [
        (".env", f"DB_HOST=db\nexport DB_PASSWORD='{_PASSWORD}'\n"),
        ("application.properties", f"spring.datasource.password = {_PASSWORD}\n"),
        ("config.yaml", f"database:\n  host: db\n  password: {_PASSWORD}\n"),
        ("settings.json", f'{{"db": {{"user": "app", "apiKey": "{_PASSWORD}"}}}}\n'),
        (".dockerconfigjson", f'{{"auths": {{"r.example.com": {{"auth": "{_DOCKER_AUTH}"}}}}}}\n'),
        ("aws-config", f"[default]\naws_secret_access_key = {_PASSWORD}\n"),
    ],
)
def test_a_file_a_secret_holds_is_judged_by_its_settings(
    gatekeeper: Callable[..., Run], tmp_path: Path, key: str, text: str
) -> None:
    """s25 trust19 s01: a Secret whose key names a file (`.env`, `application.properties`, a
    YAML or JSON config, a docker config's `auths`) holding a literal password was green: only
    the key's name and credential formats were judged. The Secret is committed in plain text;
    each setting of the file is judged as a key of its own, said at the Secret's key."""
    _pull_request(tmp_path, {"README.md": "x\n"}, {"k8s/secret.yaml": _secret(key, text)})
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _plaintext(run) == [("GK-SECRET-PLAINTEXT", 5)]


def test_a_file_in_secret_data_and_a_generators_file_are_judged(
    gatekeeper: Callable[..., Run], tmp_path: Path
) -> None:
    """s25 trust19 s01: the same in `data` (base64 of the file) and in a kustomize
    secretGenerator's `files: [.env=app.env]` (one line, but a file by its key's name)."""
    encoded = base64.b64encode(f"DB_PASSWORD={_PASSWORD}\n".encode()).decode()
    secret = (
        "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: app}\n"
        f"data:\n  app.env: {encoded}\n"
    )
    kustomization = "secretGenerator:\n- name: db\n  files: [.env=app.env]\n"
    files = {
        "a/secret.yaml": secret,
        "b/kustomization.yaml": kustomization,
        "b/app.env": f"DB_PASSWORD={_PASSWORD}\n",
    }
    _pull_request(tmp_path, {"README.md": "x\n"}, files)
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    found = _plaintext(run)
    assert ("GK-SECRET-PLAINTEXT", 5) in found and len(found) == 2


def test_files_a_secret_holds_without_literal_secrets_pass(
    gatekeeper: Callable[..., Run], tmp_path: Path
) -> None:
    """Controls: placeholders, references, settings and certificates in a Secret's files."""
    files = {
        "a.yaml": _secret(".env", "DB_HOST=db\nDB_PASSWORD=${DB_PASSWORD}\nLOG=info\n"),
        "b.yaml": _secret(
            "config.yaml", "db:\n  passwordFile: /run/secrets/pw\n  existingSecret: db-creds\n"
        ),
        "c.yaml": _secret(
            "ca.crt", "-----BEGIN CERTIFICATE-----\nMIIB=\n-----END CERTIFICATE-----\n"
        ),
        "d.yaml": _secret("app.properties", "# password=\ntoken.ttl=3600\nsecret.name=db\n"),
        "e.yaml": _secret(".dockerconfigjson", '{"auths": {"r.example.com": {}}}\n'),
    }
    _pull_request(tmp_path, {"README.md": "x\n"}, files)
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _plaintext(run) == []


_CHART = {
    "chart/Chart.yaml": "apiVersion: v2\nname: db\nversion: 0.1.0\n",
    "chart/values.yaml": "auth: {password: changeme}\n",
}


def test_a_charts_template_writing_a_literal_secret_is_judged(
    gatekeeper: Callable[..., Run], tmp_path: Path
) -> None:
    """s25 trust19 s01: a chart's template writing a Secret's password as a literal
    (`stringData`, base64 under `data`, `{{ "..." | b64enc }}`) was green: every Secret a chart
    renders was left out, to spare its values' defaults and random passwords. The literal is
    committed in the template: said at its line."""
    encoded = base64.b64encode(_PASSWORD.encode()).decode()
    template = (
        "apiVersion: v1\nkind: Secret\nmetadata: {name: {{ .Release.Name }}}\n"
        f"stringData:\n  DB_PASSWORD: {_PASSWORD}\n"
        f'data:\n  REDIS_PASSWORD: {encoded}\n  API_TOKEN: {{{{ "{_PASSWORD}" | b64enc }}}}\n'
    )
    files = {**_CHART, "chart/templates/secret.yaml": template}
    _pull_request(tmp_path, {"README.md": "x\n"}, files)
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _plaintext(run) == [
        ("GK-SECRET-PLAINTEXT", 5),
        ("GK-SECRET-PLAINTEXT", 7),
        ("GK-SECRET-PLAINTEXT", 8),
    ]


def test_a_charts_secret_from_its_values_or_functions_passes(
    gatekeeper: Callable[..., Run], tmp_path: Path
) -> None:
    """Control: a chart's Secret from its values' defaults, a `default` or a random value is
    not written as a literal in the template (chart defaults are not judged, s24)."""
    template = (
        "apiVersion: v1\nkind: Secret\nmetadata: {name: {{ .Release.Name }}}\n"
        "data:\n  DB_PASSWORD: {{ .Values.auth.password | b64enc }}\n"
        '  ADMIN_PASSWORD: {{ .Values.admin | default "changeme-admin-pw" | b64enc }}\n'
        "  TOKEN: {{ randAlphaNum 24 | b64enc | quote }}\n"
        "stringData:\n  USER: admin\n"
    )
    files = {**_CHART, "chart/templates/secret.yaml": template}
    _pull_request(tmp_path, {"README.md": "x\n"}, files)
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _plaintext(run) == []


_TF_SECRET = """\
resource "kubernetes_secret_v1" "db" {
  metadata {
    name      = "db"
    namespace = "app"
  }
  data = {
    username = "app"
    password = "%s"
  }
  binary_data = {
    token = "%s"
  }
}
"""
_TF_RELEASE = """\
resource "helm_release" "db" {
  name       = "db"
  repository = "https://charts.example.com"
  chart      = "postgresql"
  values     = [yamlencode({ auth = { postgresPassword = "%s" } })]
  set {
    name  = "auth.replicationPassword"
    value = "%s"
  }
  set_sensitive {
    name  = "metrics.token"
    value = var.token
  }
}
variable "token" {}
"""


def test_terraform_secrets_and_remote_chart_values_are_judged(
    gatekeeper: Callable[..., Run], tmp_path: Path
) -> None:
    """s25 trust19 s01: a `kubernetes_secret` with a literal password (the provider's `data`
    is plain text) and a `helm_release` of a remote chart given a password in `values` or
    `set {}` were green: the Secret was no object judged, the remote chart's values were not
    read. A variable passes."""
    token = base64.b64encode(f"ghp_{'a' * 36}".encode()).decode()
    files = {
        "tf/secret.tf": _TF_SECRET % (_PASSWORD, token),
        "tf/release.tf": _TF_RELEASE % (_PASSWORD, _PASSWORD),
    }
    _pull_request(tmp_path, {"README.md": "x\n"}, files)
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    found = json.loads(run.stdout)["findings"]
    said = sorted(
        (f["policy_id"], f["file"], f["line"])
        for f in found
        if f["policy_id"] in ("GK-SECRET-PLAINTEXT", "GK-CHART-VALUES-SECRET") and f["blocking"]
    )
    assert said == [
        ("GK-CHART-VALUES-SECRET", "tf/release.tf", 5),
        ("GK-CHART-VALUES-SECRET", "tf/release.tf", 8),
        ("GK-SECRET-PLAINTEXT", "tf/secret.tf", 8),
        ("GK-SECRET-PLAINTEXT", "tf/secret.tf", 11),
    ]


def _exported_resources(policy_id: str) -> list[list[str]]:
    from gatekeeper.export_vap import export
    from gatekeeper.policy.loader import builtin_dir, load_bundle

    policy = next(p for p in load_bundle([builtin_dir() / "kubernetes"]) if p.id == policy_id)
    vap = export(policy).documents[0]
    return [rule["resources"] for rule in vap["spec"]["matchConstraints"]["resourceRules"]]


def test_exported_pod_policies_judge_ephemeral_containers() -> None:
    """s25 trust19 v01: `kubectl debug` adds a privileged ephemeral container through the
    `pods/ephemeralcontainers` subresource; an exported pod policy matching `pods` never saw
    it, so the cluster admitted what the scan blocks in a Pod."""
    assert ["pods", "pods/ephemeralcontainers", "podtemplates", "replicationcontrollers"] in (
        _exported_resources("K8S-PSS-PRIVILEGED")
    )


def test_exported_policies_name_irregular_resources() -> None:
    """s25 trust19 v02: SecurityContextConstraints' resource is `securitycontextconstraints`
    (not `...constraintses`) and AssignMetadata's `assignmetadata`: the exported policies
    matched no such object in a cluster."""
    assert _exported_resources("K8S-RBAC-SCC-GRANT") == [["securitycontextconstraints"]]
    assert any("assignmetadata" in r for r in _exported_resources("K8S-ADMISSION-MUTATION"))


_SCC_VAP = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: no-privileged-scc}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups: [security.openshift.io]
      apiVersions: ["*"]
      operations: [CREATE, UPDATE]
      resources: [securitycontextconstraints]
  validations:
  - expression: "!object.?allowPrivilegedContainer.orValue(false)"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: no-privileged-scc}
spec: {policyName: no-privileged-scc, validationActions: [Deny]}
"""
_SCC = """\
apiVersion: security.openshift.io/v1
kind: SecurityContextConstraints
metadata: {name: wide}
allowPrivilegedContainer: true
"""


def test_the_repositorys_admission_policy_on_sccs_judges_them(
    gatekeeper: Callable[..., Run], tmp_path: Path
) -> None:
    """s25 trust19 v02: the admission stand-in read an SCC's resource as
    `securitycontextconstraintses`, so the repository's own policy on
    `securitycontextconstraints` (the real name) admitted a privileged SCC."""
    files = {"admission.yaml": _SCC_VAP, "scc.yaml": _SCC}
    _pull_request(tmp_path, {"README.md": "x\n"}, files)
    run = gatekeeper("scan", "--base", "main", "--no-builtin", "--format", "json", cwd=tmp_path)
    assert [f for f in _blocking(run) if f[0].startswith("VAP-")] == [("VAP-no-privileged-scc", 4)]


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        (
            "find hack -name '*.sh' -exec sh -c 'for f; do bash \"$f\"; done' sh {} +",
            [("WF-GITOPS-IMPERATIVE-DEPLOY", 3)],
        ),
        (
            "ls hack/*.sh | xargs sh -c 'for s do bash \"$s\"; done' _",
            [("WF-GITOPS-IMPERATIVE-DEPLOY", 3)],
        ),
        # control: the scripts are linted
        ("find hack -name '*.sh' -exec sh -c 'for f; do shellcheck \"$f\"; done' sh {} +", []),
    ],
)
def test_a_loop_over_the_positional_parameters_runs_the_fed_files(
    tmp_path: Path, gatekeeper: Callable[..., Run], run: str, expected: list[tuple[str, int]]
) -> None:
    """s25 trust19 c01 (trust18's open item): `sh -c 'for f; do bash "$f"; done' sh {} +`
    loops over the positional parameters (`for f` is `for f in "$@"`): the deploy script
    find fed it ran unread (green)."""
    from tests.test_gate_attack_s24 import _RUNNER_FILES, _WORKFLOW

    base = {**_RUNNER_FILES, ".github/workflows/ci.yml": _WORKFLOW % "echo test"}
    _pull_request(tmp_path, base, {".github/workflows/ci.yml": _WORKFLOW % run})
    found = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _blocking(found) == expected, found.stdout


_CI = """\
name: ci
on: {push: {branches: [main]}}
permissions: {contents: read}
env:
  AWS_SECRET_ACCESS_KEY: wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY
  AWS_ACCESS_KEY_ID: ${{ secrets.AWS_ACCESS_KEY_ID }}
jobs:
  test:
    runs-on: ubuntu-latest
    env:
      SLACK_TOKEN: %s
      API_TOKEN: $API_TOKEN
      SECRET_NAMES: A_TOKEN,B_TOKEN
    services:
      db:
        image: postgres:16
        env: {POSTGRES_PASSWORD: postgres}
    steps:
    - run: ./test.sh
      env:
        DB_PASSWORD: %s
        GITHUB_TOKEN: ${{ github.token }}
"""
_GITLAB = """\
variables:
  DEPLOY_TOKEN: %s
  LOG_LEVEL: info
test:
  script: [./test.sh]
  variables:
    DB_PASSWORD: {value: %s, description: db}
    API_KEY: $CI_API_KEY
"""


def test_literal_secrets_in_ci_variables_are_judged(
    gatekeeper: Callable[..., Run], tmp_path: Path
) -> None:
    """s25 trust19 s01: a workflow's `env:` (workflow, job, step) or a GitLab `variables:`
    holding a literal secret was green (no policy read CI variables). Expressions, `$VAR`,
    names of secrets and a service container's throwaway password pass."""
    slack = "xoxb-" + "1" * 12 + "-abcdefghijkl"
    files = {
        ".github/workflows/ci.yml": _CI % (slack, _PASSWORD),
        ".gitlab-ci.yml": _GITLAB % (_PASSWORD, _PASSWORD),
    }
    _pull_request(tmp_path, {"README.md": "x\n"}, files)
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    found = json.loads(run.stdout)["findings"]
    said = sorted((f["file"], f["line"]) for f in found if f["policy_id"] == "GK-SECRET-PLAINTEXT")
    assert said == [
        (".github/workflows/ci.yml", 5),
        (".github/workflows/ci.yml", 11),
        (".github/workflows/ci.yml", 21),
        (".gitlab-ci.yml", 2),
        (".gitlab-ci.yml", 7),
    ]


_GATED_POD = """\
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: c
    image: nginx
    {{- if %s }}
    securityContext: {privileged: true}
    {{- end }}
"""


@pytest.mark.parametrize(
    "gate",
    [
        'eq .Release.Namespace "prod"',
        'hasPrefix "prod-" .Release.Name',
        'contains "prod" .Release.Namespace',
    ],
)
def test_a_chart_alone_gated_on_its_release_is_rendered_through_the_gate(
    gatekeeper: Callable[..., Run], tmp_path: Path, gate: str
) -> None:
    """s25 trust19 s02 (trust18's open item): a chart nothing in the repository deploys,
    privileged only when installed into `prod` (or as a release named `prod-*`), was judged
    as `release-name` in `default` only: green, while `helm install -n prod` runs it
    privileged. The chart is rendered once more per namespace and name its templates compare
    with; the namespace stays unknown to repository-scope rules."""
    files = {
        "charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
        "charts/web/values.yaml": "image: nginx\n",
        "charts/web/templates/pod.yaml": _GATED_POD % gate,
    }
    _pull_request(tmp_path, {"README.md": "x\n"}, files)
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    found = json.loads(run.stdout)["findings"]
    assert [
        (f["policy_id"], f["line"]) for f in found if f["policy_id"] == "K8S-PSS-PRIVILEGED"
    ] == [("K8S-PSS-PRIVILEGED", 9)]
    assert not [f for f in found if f["policy_id"] == "K8S-NETWORK-POLICY-PRESENT"]


def _config_map(key: str, text: str) -> str:
    body = "\n".join("    " + line for line in text.splitlines())
    return (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, namespace: app}\n"
        f"data:\n  {key}: |\n{body}\n"
    )


def test_a_file_a_config_map_holds_is_judged_by_its_settings(
    gatekeeper: Callable[..., Run], tmp_path: Path
) -> None:
    """s25 trust19 s02: a ConfigMap's `application.properties` with a literal datasource
    password, or its `config.yaml` with `password:`, was green (K8S-CONFIGMAP-SECRETS judges
    the key's name and credential formats only). Said once per key, at the key; settings,
    placeholders and a key the policy already reports add nothing."""
    files = {
        "a.yaml": _config_map("application.properties", f"spring.datasource.password={_PASSWORD}"),
        "b.yaml": _config_map("config.yaml", f"db:\n  host: db\n  password: {_PASSWORD}\n"),
        "c.yaml": _config_map("app.env", "LOG=info\nDB_PASSWORD=${DB_PASSWORD}\nTOKEN=$token\n"),
        "e.yaml": _config_map("service.slack", "token: $slack-token\nusername: <user>\n"),
        "d.yaml": _config_map("DB_PASSWORD", f"user=app\npassword={_PASSWORD}\n"),
    }
    _pull_request(tmp_path, {"README.md": "x\n"}, files)
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    found = json.loads(run.stdout)["findings"]
    said = sorted(
        (f["policy_id"], f["file"], f["line"])
        for f in found
        if f["policy_id"] in ("GK-SECRET-PLAINTEXT", "K8S-CONFIGMAP-SECRETS")
    )
    assert said == [
        ("GK-SECRET-PLAINTEXT", "a.yaml", 5),
        ("GK-SECRET-PLAINTEXT", "b.yaml", 5),
        ("K8S-CONFIGMAP-SECRETS", "d.yaml", 5),
    ]


_HELMFILE = """\
repositories:
- {name: bitnami, url: https://charts.bitnami.com/bitnami}
releases:
- name: db
  namespace: db
  chart: bitnami/postgresql
  version: 15.5.0
  values:
  - values/db.yaml
  - auth: {password: %s, existingSecret: ""}
  set:
  - {name: auth.replicationPassword, value: %s}
  - {name: auth.username, value: app}
"""


def test_a_helmfile_releases_values_for_a_remote_chart_are_judged(
    gatekeeper: Callable[..., Run], tmp_path: Path
) -> None:
    """s25 trust19 s03: a helmfile release of a chart repository's chart given a literal
    password inline, by `set:` or in its values file was green (only a low GK-NOT-EXPANDED),
    as Argo CD's and Flux's values were before s24."""
    files = {
        "helmfile.yaml": _HELMFILE % (_PASSWORD, _PASSWORD),
        "values/db.yaml": f"metrics: {{enabled: true}}\nldap: {{bindPassword: {_PASSWORD}}}\n",
    }
    _pull_request(tmp_path, {"README.md": "x\n"}, files)
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    found = json.loads(run.stdout)["findings"]
    said = sorted(
        (f["file"], f["line"]) for f in found if f["policy_id"] == "GK-CHART-VALUES-SECRET"
    )
    assert said == [("helmfile.yaml", 10), ("helmfile.yaml", 12), ("values/db.yaml", 2)]


_PATCHING_APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: db, namespace: argocd}
spec:
  project: db
  destination: {server: https://kubernetes.default.svc, namespace: db}
  source:
    repoURL: https://github.com/acme/deploy.git
    path: k8s/db
    targetRevision: main
    kustomize:
      patches:
      - target: {kind: Secret, name: db}
        patch: |
          - {op: add, path: /stringData/DB_PASSWORD, value: %s}
"""


def test_a_secret_value_a_deployers_patch_sets_is_said_where_the_patch_is(
    gatekeeper: Callable[..., Run], tmp_path: Path
) -> None:
    """s25 trust19 s03: an Argo CD Application's kustomize patch adding a literal password to
    a Secret was said in the Secret's file at the Application's line number (a line that
    file may not have): the value is written in the Application."""
    config = "sources:\n  gitops:\n    repoURLs: [https://github.com/acme/deploy.git]\n"
    secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: db}\n"
    base = {
        ".gatekeeper.yml": config,
        "k8s/db/kustomization.yaml": "resources: [secret.yaml]\n",
        "k8s/db/secret.yaml": secret + "stringData: {DB_USER: app}\n",
    }
    _pull_request(tmp_path, base, {"apps/db.yaml": _PATCHING_APP % _PASSWORD})
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    found = json.loads(run.stdout)["findings"]
    said = [(f["file"], f["line"]) for f in found if f["policy_id"] == "GK-SECRET-PLAINTEXT"]
    assert said == [("apps/db.yaml", 12)]


_HELM_WORKFLOW = """\
name: deploy
on: {push: {branches: [main]}}
permissions: {contents: read}
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
    - run: helm upgrade --install db bitnami/postgresql -n db --set auth.password=%s
    - run: helm upgrade --install db2 bitnami/postgresql --set auth.password=$DB_PASSWORD
    - run: helm upgrade --install db3 bitnami/postgresql --set auth.password=${{ secrets.PW }}
    - run: helm upgrade --install db4 oci://r.example.com/db -f values/db.yaml
"""


def test_a_workflows_helm_values_for_a_remote_chart_are_judged(
    gatekeeper: Callable[..., Run], tmp_path: Path
) -> None:
    """s25 trust19 s03: `helm upgrade --install db bitnami/postgresql --set
    auth.password=<literal>` (or `-f` a values file of the repository with one) in a workflow
    was green: the chart is of another repository, and its values were not read. A shell
    variable or a CI secret passes."""
    files = {
        ".github/workflows/deploy.yml": _HELM_WORKFLOW % _PASSWORD,
        "values/db.yaml": f"auth:\n  postgresPassword: {_PASSWORD}\n",
    }
    _pull_request(tmp_path, {"README.md": "x\n"}, files)
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    found = json.loads(run.stdout)["findings"]
    said = sorted(
        (f["file"], f["line"]) for f in found if f["policy_id"] == "GK-CHART-VALUES-SECRET"
    )
    assert said == [(".github/workflows/deploy.yml", 8), ("values/db.yaml", 2)]


_KUBECTL_WORKFLOW = """\
name: deploy
on: {push: {branches: [main]}}
permissions: {contents: read}
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
    - run: kubectl create secret generic db -n db --from-literal=password=%s | kubectl apply -f -
    - run: kubectl create secret docker-registry regcred --docker-password=%s
    - run: kubectl create secret generic api --from-literal=token="$API_TOKEN"
"""


def test_literals_kubectl_creates_from_the_command_line_are_judged(
    gatekeeper: Callable[..., Run], tmp_path: Path
) -> None:
    """s25 trust19 s03: `kubectl create secret generic db --from-literal=password=<literal>`
    (or a docker-registry Secret's --docker-password) in a workflow was green (the imperative
    deploy aside, which a team that deploys from CI waives): the literal is committed in the
    workflow. A shell variable and a user name pass."""
    files = {".github/workflows/deploy.yml": _KUBECTL_WORKFLOW % (_PASSWORD, _PASSWORD)}
    _pull_request(tmp_path, {"README.md": "x\n"}, files)
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    found = json.loads(run.stdout)["findings"]
    said = sorted((f["file"], f["line"]) for f in found if f["policy_id"] == "GK-SECRET-PLAINTEXT")
    assert said == [(".github/workflows/deploy.yml", 8), (".github/workflows/deploy.yml", 9)]


_PLUGIN_APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: db, namespace: argocd}
spec:
  project: db
  destination: {server: https://kubernetes.default.svc, namespace: db}
  source:
    repoURL: https://github.com/acme/other.git
    path: db
    targetRevision: v1.0.0
    plugin:
      name: envsubst
      env:
      - {name: DB_PASSWORD, value: %s}
      - {name: DB_HOST, value: db.example.com}
      - {name: API_TOKEN, value: $ARGOCD_ENV_TOKEN}
      parameters:
      - {name: apiKey, string: %s}
"""


def test_literals_given_to_an_argo_cd_plugin_are_judged(
    gatekeeper: Callable[..., Run], tmp_path: Path
) -> None:
    """s25 trust19 s03: an Application giving its config management plugin `env: [{name:
    DB_PASSWORD, value: <literal>}]` (or a parameter's string) was green: the literal is
    committed in the Application. Settings and `$VAR` pass."""
    _pull_request(
        tmp_path, {"README.md": "x\n"}, {"apps/db.yaml": _PLUGIN_APP % (_PASSWORD, _PASSWORD)}
    )
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    found = json.loads(run.stdout)["findings"]
    said = sorted((f["file"], f["line"]) for f in found if f["policy_id"] == "GK-SECRET-PLAINTEXT")
    assert said == [("apps/db.yaml", 14), ("apps/db.yaml", 18)]


def test_a_charts_files_read_into_a_secret_or_config_map_are_judged(
    gatekeeper: Callable[..., Run], tmp_path: Path
) -> None:
    """s25 trust19 s04: a chart reading a committed file of its own into a Secret (`{{
    .Files.Get "files/db-password" | b64enc }}`, `(.Files.Glob "secrets/*").AsSecrets`) or a
    ConfigMap file (`.Files.Get "files/app.properties"`) was green: every rendered Secret and
    ConfigMap was left out. The file is committed in the chart as its literals are. A
    dashboard without secrets passes."""
    secret = (
        "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\ndata:\n"
        '  DB_PASSWORD: {{ .Files.Get "files/db-password" | b64enc }}\n'
        "---\napiVersion: v1\nkind: Secret\nmetadata: {name: more}\ndata:\n"
        '{{ (.Files.Glob "secrets/*").AsSecrets | indent 2 }}\n'
    )
    config = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata:\n  app.properties: |-\n"
        '{{ .Files.Get "files/app.properties" | indent 4 }}\n'
        '  dashboard.json: |-\n{{ .Files.Get "files/dashboard.json" | indent 4 }}\n'
    )
    files = {
        **_CHART,
        "chart/files/db-password": _PASSWORD,
        "chart/secrets/API_TOKEN": _PASSWORD,
        "chart/files/app.properties": f"spring.datasource.password={_PASSWORD}\n",
        "chart/files/dashboard.json": '{"title": "db", "panels": [{"type": "graph"}]}\n',
        "chart/templates/secret.yaml": secret,
        "chart/templates/cm.yaml": config,
    }
    _pull_request(tmp_path, {"README.md": "x\n"}, files)
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    found = json.loads(run.stdout)["findings"]
    said = sorted((f["file"], f["line"]) for f in found if f["policy_id"] == "GK-SECRET-PLAINTEXT")
    assert said == [
        ("chart/templates/cm.yaml", 5),
        ("chart/templates/secret.yaml", 5),
        ("chart/templates/secret.yaml", 10),
    ]


def test_code_and_tagged_values_in_a_config_maps_files_pass(
    gatekeeper: Callable[..., Run], tmp_path: Path
) -> None:
    """Controls from the corpus comparison (bjw-s and onedr0p home-ops, khuedoan homelab):
    recyclarr's `api_key: !env_var SONARR_API_KEY` (another tool's YAML tag), node-red's
    `settings.js` (`credentialSecret: process.env.X,`) and a Go program's `password :=
    os.Getenv(...)` are no literal secrets: code is not read for settings, a tagged value
    is filled by its tool. A literal beside the tag is still said. Kubeflow's dex config
    (`secretEnv: OIDC_CLIENT_SECRET`: the variable's name) and kserve's `_example` (a block
    scalar's `credentials: |-` read by lines) pass."""
    recyclarr = "sonarr:\n  main:\n    base_url: http://sonarr\n    api_key: !env_var SONARR_KEY\n"
    files = {
        "a.yaml": _config_map("recyclarr.yml", recyclarr),
        "b.yaml": _config_map("settings.js", "module.exports = {\n  credentialSecret: x,\n}\n"),
        "c.yaml": _config_map("main.go", 'func main() {\n\tpassword := os.Getenv("PW")\n}\n'),
        "d.yaml": _config_map("other.yml", recyclarr + f"    password: {_PASSWORD}\n"),
        "e.yaml": _config_map("config.yaml", "connectors:\n- config: {secretEnv: OIDC_SECRET}\n"),
        "f.yaml": _config_map("_example", "# a: b: c\nx: y: z\ncredentials: |-\n  {}\n"),
    }
    _pull_request(tmp_path, {"README.md": "x\n"}, files)
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    found = json.loads(run.stdout)["findings"]
    said = [(f["file"], f["line"]) for f in found if f["policy_id"] == "GK-SECRET-PLAINTEXT"]
    assert said == [("d.yaml", 5)]


_ARGS_POD = """\
apiVersion: v1
kind: Pod
metadata: {name: app, namespace: app}
spec:
  containers:
  - name: app
    image: app:1.0
    command: [/app, --db-password=%s]
    args: [--api-token, %s, --password-file=/run/pw, --db-password=$(DB_PASSWORD), -v=2]
  - name: sh
    image: app:1.0
    args: [sh, -c, "run --password=$PW", --webhook-secret-namespace=spark-operator]
"""


def test_literal_secrets_in_container_arguments_are_judged(
    gatekeeper: Callable[..., Run], tmp_path: Path
) -> None:
    """s25 trust19 s02: a container's `--db-password=<literal>` (or `--api-token <literal>`)
    in `command`/`args` was green: K8S-POD-ENV-SECRETS reads `env` only. A file's path, a
    `$(VAR)` the kubelet fills, a shell script and a namespace (kubeflow's spark-operator
    `--webhook-secret-namespace=spark-operator`) pass."""
    _pull_request(tmp_path, {"README.md": "x\n"}, {"pod.yaml": _ARGS_POD % (_PASSWORD, _PASSWORD)})
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    found = json.loads(run.stdout)["findings"]
    said = sorted((f["file"], f["line"]) for f in found if f["policy_id"] == "GK-SECRET-PLAINTEXT")
    assert said == [("pod.yaml", 8), ("pod.yaml", 9)]


def test_a_generated_secret_does_not_keep_the_plain_files_findings_its_build_replaces(
    gatekeeper: Callable[..., Run], tmp_path: Path
) -> None:
    """s25 trust19 (kubeflow's overlays): a kustomization whose secretGenerator holds a literal
    password (GK-SECRET-PLAINTEXT at its generator) was taken for a build that failed, so the
    plain files it builds kept the findings its build replaces (`image: postgres` with no tag,
    which the overlay's `images:` pins): noise beside the build's own findings."""
    deployment = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: db, namespace: db}\nspec:\n"
        "  selector: {matchLabels: {app: db}}\n  template:\n    metadata: {labels: {app: db}}\n"
        "    spec:\n      containers: [{name: db, image: postgres}]\n"
    )
    kustomization = (
        "resources: [deployment.yaml]\nimages: [{name: postgres, newTag: '16.4'}]\n"
        f"secretGenerator:\n- name: db\n  literals: [POSTGRES_PASSWORD={_PASSWORD}]\n"
    )
    files = {"db/deployment.yaml": deployment, "db/kustomization.yaml": kustomization}
    _pull_request(tmp_path, {"README.md": "x\n"}, files)
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    found = json.loads(run.stdout)["findings"]
    assert ("GK-SECRET-PLAINTEXT", "db/kustomization.yaml") in {
        (f["policy_id"], f["file"]) for f in found
    }
    assert not [
        f
        for f in found
        if f["policy_id"] == "K8S-IMAGE-TAG-PINNED" and f["file"] == "db/deployment.yaml"
    ]


def test_a_release_gate_in_a_helper_is_rendered_through(
    gatekeeper: Callable[..., Run], tmp_path: Path
) -> None:
    """s25 trust19 s02: the gate written in a helper (`{{ eq .Release.Namespace "prod" }}`
    in a define that `if eq (include ...) "true"` reads) hid the privileged container as the
    inline condition did."""
    helper = '{{- define "web.prod" -}}{{ eq .Release.Namespace "prod" }}{{- end }}\n'
    files = {
        "charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
        "charts/web/values.yaml": "image: nginx\n",
        "charts/web/templates/_helpers.tpl": helper,
        "charts/web/templates/pod.yaml": _GATED_POD % 'eq (include "web.prod" .) "true"',
    }
    _pull_request(tmp_path, {"README.md": "x\n"}, files)
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    found = json.loads(run.stdout)["findings"]
    assert [
        (f["policy_id"], f["line"]) for f in found if f["policy_id"] == "K8S-PSS-PRIVILEGED"
    ] == [("K8S-PSS-PRIVILEGED", 9)]


def test_values_a_kustomization_gives_its_helm_charts_are_judged(
    gatekeeper: Callable[..., Run], tmp_path: Path
) -> None:
    """s25 trust19 s03: a kustomization's `helmCharts` given `valuesInline: {auth: {password:
    <literal>}}` (or a `valuesFile` of the repository holding one) had the literal unjudged:
    the chart is not inflated offline, and the render error is what a team waives."""
    kustomization = (
        "helmCharts:\n- name: postgresql\n  repo: https://charts.bitnami.com/bitnami\n"
        "  version: 15.5.0\n  releaseName: db\n  valuesFile: values-db.yaml\n"
        f"  valuesInline:\n    auth: {{password: {_PASSWORD}, username: app}}\n"
    )
    files = {
        "k8s/kustomization.yaml": kustomization,
        "k8s/values-db.yaml": f"metrics: {{enabled: true}}\nauth: {{rootPassword: {_PASSWORD}}}\n",
    }
    _pull_request(tmp_path, {"README.md": "x\n"}, files)
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    found = json.loads(run.stdout)["findings"]
    said = sorted(
        (f["file"], f["line"]) for f in found if f["policy_id"] == "GK-CHART-VALUES-SECRET"
    )
    assert said == [("k8s/kustomization.yaml", 8), ("k8s/values-db.yaml", 2)]


def test_a_pull_request_changing_only_a_remote_charts_values_file_is_judged(
    gatekeeper: Callable[..., Run], tmp_path: Path
) -> None:
    """s25 trust19 s03: a workflow's `helm upgrade --install db bitnami/postgresql -f
    values/db.yaml`; the pull request changes only the values file, writing a literal
    password. The workflow was not judged again (the file was no input of it), so the
    literal was green."""
    workflow = (
        "name: d\non: {push: {branches: [main]}}\npermissions: {contents: read}\njobs:\n"
        "  d:\n    runs-on: ubuntu-latest\n    steps:\n"
        "    - run: helm upgrade --install db bitnami/postgresql -f values/db.yaml\n"
    )
    base = {".github/workflows/d.yml": workflow, "values/db.yaml": "auth: {postgresPassword: ''}\n"}
    head = {"values/db.yaml": f"auth: {{postgresPassword: {_PASSWORD}}}\n"}
    _pull_request(tmp_path, base, head)
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert ("GK-CHART-VALUES-SECRET", 1) in _blocking(run)
