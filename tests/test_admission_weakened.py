"""A pull request that weakens the cluster's own admission gate (red team s17 y01): a Kyverno
policy from Enforce to Audit, Kyverno's ConfigMap filtering out a namespace or a user, a
webhook of a policy engine turned to `failurePolicy: Ignore`, a ValidatingAdmissionPolicy
binding that only audits, an OPA Gatekeeper constraint in dryrun, a Namespace labelled with
Gatekeeper's ignore label. No object of such a change was a finding: each passed green."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Run, git_in

POLICY = """\
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: disallow-privileged}
spec:
  validationFailureAction: Enforce
  rules:
    - name: privileged
      match: {any: [{resources: {kinds: [Pod]}}]}
      validate:
        message: no privileged containers
        pattern: {spec: {containers: [{=(securityContext): {=(privileged): "false"}}]}}
"""
CONFIG = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: kyverno, namespace: kyverno}
data:
  resourceFilters: '[Event,*,*][*/*,kube-system,*]'
  excludeUsernames: '!system:kube-scheduler'
"""
WEBHOOK = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: gatekeeper-validating-webhook-configuration}
webhooks:
  - name: validation.gatekeeper.sh
    admissionReviewVersions: [v1]
    sideEffects: None
    failurePolicy: Fail
    clientConfig: {service: {name: gatekeeper-webhook-service, namespace: gatekeeper-system}}
    rules: [{apiGroups: ["*"], apiVersions: ["*"], operations: [CREATE], resources: ["*"]}]
"""
BINDING = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: no-host-network}
spec:
  policyName: no-host-network
  validationActions: [Deny]
"""
CONSTRAINT = """\
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sPSPPrivilegedContainer
metadata: {name: no-privileged}
spec:
  enforcementAction: deny
  match: {kinds: [{apiGroups: [""], kinds: [Pod]}]}
"""
NAMESPACE = "apiVersion: v1\nkind: Namespace\nmetadata: {name: app}\n"
BASE = {
    "policy/kyverno.yaml": POLICY,
    "policy/dev/kyverno.yaml": POLICY.replace("Enforce", "Audit"),
    "policy/config.yaml": CONFIG,
    "policy/webhook.yaml": WEBHOOK,
    "policy/binding.yaml": BINDING,
    "policy/constraint.yaml": CONSTRAINT,
    "deploy/ns.yaml": NAMESPACE,
}
WEAKENED = {
    "policy/kyverno.yaml": POLICY.replace("Enforce", "Audit"),
    "policy/config.yaml": CONFIG.replace("kube-system,*]", "kube-system,*][Pod,app,*]").replace(
        "'!system:kube-scheduler'", "'!system:kube-scheduler,system:serviceaccounts:ci'"
    ),
    "policy/webhook.yaml": WEBHOOK.replace("failurePolicy: Fail", "failurePolicy: Ignore"),
    "policy/binding.yaml": BINDING.replace("[Deny]", "[Audit]"),
    "policy/constraint.yaml": CONSTRAINT.replace("deny", "dryrun"),
    "deploy/ns.yaml": NAMESPACE.replace(
        "{name: app}", "{name: app, labels: {admission.gatekeeper.sh/ignore: debug}}"
    ),
}
# Edits that enforce as much as before: a label, a stricter binding, a longer timeout, the
# audit-only copy another folder keeps edited, an exclusion taken back (`!name`).
UNWEAKENED = {
    "policy/kyverno.yaml": POLICY.replace(
        "{name: disallow-privileged}", "{name: disallow-privileged, labels: {team: platform}}"
    ),
    "policy/dev/kyverno.yaml": POLICY.replace("Enforce", "Audit").replace("no priv", "No priv"),
    "policy/config.yaml": CONFIG.replace(
        "'!system:kube-scheduler'", "'!system:kube-scheduler,!system:serviceaccounts:ci'"
    ),
    "policy/webhook.yaml": WEBHOOK.replace(
        "sideEffects: None", "sideEffects: None\n    timeoutSeconds: 5"
    ),
    "policy/binding.yaml": BINDING.replace("[Deny]", "[Deny, Audit]"),
}


def _commit(root: Path, files: dict[str, str], message: str) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    git_in(root, "add", "-A")
    git_in(root, "commit", "-qm", message)


def _exceptions(run: Run) -> list[tuple[str, int, str, str]]:
    return sorted(
        (f["file"], f["line"], f["status"], f["message"].partition(":")[0])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == "K8S-ADMISSION-POLICY-EXCEPTION"
    )


def test_a_pull_request_weakening_the_cluster_s_admission_is_blocked(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    git_in(tmp_path, "init", "-q", "-b", "main")
    _commit(tmp_path, BASE, "base")
    git_in(tmp_path, "checkout", "-q", "-b", "weakened")
    _commit(tmp_path, WEAKENED, "weaken")
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _exceptions(run) == [
        (
            "deploy/ns.yaml",
            3,
            "new",
            "Namespace app is exempt from OPA Gatekeeper's webhook"
            " (admission.gatekeeper.sh/ignore)",
        ),
        (
            "policy/binding.yaml",
            6,
            "new",
            "ValidatingAdmissionPolicyBinding no-host-network no longer denies (validationActions",
        ),
        (
            "policy/config.yaml",
            5,
            "new",
            "ConfigMap kyverno takes Pod,app,* out of every Kyverno policy (resourceFilters)",
        ),
        (
            "policy/config.yaml",
            6,
            "new",
            "ConfigMap kyverno takes system",
        ),
        (
            "policy/constraint.yaml",
            5,
            "new",
            "K8sPSPPrivilegedContainer no-privileged no longer denies (enforcementAction deny"
            " -> dryrun)",
        ),
        (
            "policy/kyverno.yaml",
            5,
            "new",
            "ClusterPolicy disallow-privileged only audits rule privileged (Enforce -> Audit)",
        ),
        (
            "policy/webhook.yaml",
            8,
            "new",
            "ValidatingWebhookConfiguration gatekeeper-validating-webhook-configuration admits"
            " when webhook validation.gatekeeper.sh fails (failurePolicy Fail -> Ignore)",
        ),
    ]
    assert run.returncode == 1

    # The same edits that enforce as much as before, and a rename that weakens.
    git_in(tmp_path, "checkout", "-q", "-b", "unweakened", "main")
    _commit(tmp_path, UNWEAKENED, "tidy")
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _exceptions(run) == []
    git_in(tmp_path, "mv", "policy/kyverno.yaml", "policy/prod.yaml")
    _commit(tmp_path, {"policy/prod.yaml": POLICY.replace("Enforce", "Audit")}, "move")
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert [f[:3] for f in _exceptions(run)] == [("policy/prod.yaml", 5, "new")]


def test_a_pull_request_removing_an_enforced_policy_is_blocked(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """A policy the base enforced that the change deletes (Argo CD and Flux prune it) is
    enforced no more: the Enforce ClusterPolicy, the Deny binding and OPA Gatekeeper's own
    webhook (red team s18 v03: no constraint is enforced without it) are said; the
    audit-only copy of another folder and Kyverno's ConfigMap (whose defaults are not
    weaker) are not. A policy moved to another file (git sees the rename) is judged
    there; one written again in a file that is no rename of its own is said (that file
    need not be deployed)."""
    git_in(tmp_path, "init", "-q", "-b", "main")
    _commit(tmp_path, BASE, "base")
    git_in(tmp_path, "checkout", "-q", "-b", "removed")
    for name in ("kyverno.yaml", "dev/kyverno.yaml", "binding.yaml", "webhook.yaml", "config.yaml"):
        git_in(tmp_path, "rm", "-q", f"policy/{name}")
    git_in(tmp_path, "commit", "-qm", "retire")
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _exceptions(run) == [
        (
            "policy/binding.yaml",
            3,
            "new",
            "ValidatingAdmissionPolicyBinding no-host-network is no longer deployed (removed by"
            " this change)",
        ),
        (
            "policy/kyverno.yaml",
            3,
            "new",
            "ClusterPolicy disallow-privileged is no longer deployed (removed by this change)",
        ),
        (
            "policy/webhook.yaml",
            3,
            "new",
            "ValidatingWebhookConfiguration gatekeeper-validating-webhook-configuration is no"
            " longer deployed (removed by this change)",
        ),
    ]
    assert run.returncode == 1
    git_in(tmp_path, "checkout", "-q", "-b", "moved", "main")
    git_in(tmp_path, "rm", "-q", "policy/kyverno.yaml")
    _commit(tmp_path, {"platform/policies.yaml": "# all of them\n---\n" + POLICY}, "move")
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _exceptions(run) == []
    git_in(tmp_path, "checkout", "-q", "-b", "elsewhere", "main")
    git_in(tmp_path, "rm", "-q", "policy/kyverno.yaml")
    _commit(tmp_path, {"docs/example.yaml": "# example\n" * 40 + "---\n" + POLICY}, "docs")
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert [f[:3] for f in _exceptions(run)] == [("policy/kyverno.yaml", 3, "new")]


PSA = """\
apiVersion: pod-security.admission.config.k8s.io/v1
kind: PodSecurityConfiguration
defaults: {enforce: baseline, enforce-version: latest}
exemptions:
  usernames: []
  runtimeClasses: []
  namespaces: [kube-system]
"""


def test_a_pull_request_exempting_from_the_api_server_s_pod_security_is_blocked(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """The API server's PodSecurityConfiguration (as written, or in an AdmissionConfiguration
    the repository holds): a namespace or user exempted, or the default lowered, admits
    privileged pods with no pod to judge; raising the default or dropping an exemption does
    not."""
    admission = (
        "apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\nplugins:\n"
        "  - name: PodSecurity\n    configuration:\n"
        + "".join(f"      {line}\n" for line in PSA.splitlines())
    )
    git_in(tmp_path, "init", "-q", "-b", "main")
    _commit(tmp_path, {"cluster/psa.yaml": PSA, "cluster/admission.yaml": admission}, "base")
    git_in(tmp_path, "checkout", "-q", "-b", "exempt")
    _commit(
        tmp_path,
        {
            "cluster/psa.yaml": PSA.replace("baseline", "privileged").replace(
                "usernames: []", 'usernames: ["system:serviceaccount:ci:deployer"]'
            ),
            "cluster/admission.yaml": admission.replace("[kube-system]", "[kube-system, app]"),
        },
        "exempt",
    )
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _exceptions(run) == [
        (
            "cluster/admission.yaml",
            9,
            "new",
            "AdmissionConfiguration exempts namespaces",
        ),
        (
            "cluster/psa.yaml",
            3,
            "new",
            "PodSecurityConfiguration lowers the default Pod Security enforce from baseline to"
            " privileged",
        ),
        (
            "cluster/psa.yaml",
            4,
            "new",
            "PodSecurityConfiguration exempts usernames",
        ),
    ]
    git_in(tmp_path, "checkout", "-q", "-b", "stricter", "main")
    _commit(
        tmp_path,
        {"cluster/psa.yaml": PSA.replace("baseline", "restricted").replace("[kube-system]", "[]")},
        "stricter",
    )
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _exceptions(run) == []


def test_a_pull_request_narrowing_what_a_policy_or_webhook_sees_is_blocked(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """A rule matching fewer objects (`namespaces: [prod]`), a webhook's rules no longer
    sending pods: the same gate, for fewer requests."""
    git_in(tmp_path, "init", "-q", "-b", "main")
    _commit(tmp_path, BASE, "base")
    git_in(tmp_path, "checkout", "-q", "-b", "narrowed")
    narrowed = {
        "policy/kyverno.yaml": POLICY.replace("kinds: [Pod]", "kinds: [Pod], namespaces: [prod]"),
        "policy/webhook.yaml": WEBHOOK.replace('resources: ["*"]', "resources: [deployments]"),
    }
    _commit(tmp_path, narrowed, "narrow")
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert [(file, line) for file, line, _, _ in _exceptions(run)] == [
        ("policy/kyverno.yaml", 8),
        ("policy/webhook.yaml", 5),
    ]


CONTROLLER = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: gatekeeper-controller-manager
  namespace: gatekeeper-system
spec:
  selector:
    matchLabels: {control-plane: controller-manager}
  template:
    metadata:
      labels: {control-plane: controller-manager}
    spec:
      containers:
        - name: manager
          image: %s
          args:
            - --port=8443
            - --operation=webhook
            - --exempt-namespace=gatekeeper-system
%s"""


def test_a_pull_request_exempting_namespaces_from_gatekeeper_s_controller_is_blocked(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """OPA Gatekeeper's controller flags `--exempt-namespace(-prefix)` take namespaces out
    of every constraint (session 17): a flag added (`=` or a separate value, an image from a
    mirror of another name) is said; the same flags reordered are not."""
    git_in(tmp_path, "init", "-q", "-b", "main")
    image = "registry.corp/mirror/gk:v3.17.0"
    _commit(tmp_path, {"gk/manager.yaml": CONTROLLER % (image, "")}, "base")
    git_in(tmp_path, "checkout", "-q", "-b", "exempt")
    added = "            - --exempt-namespace-prefix\n            - prod\n"
    _commit(tmp_path, {"gk/manager.yaml": CONTROLLER % (image, added)}, "exempt prod")
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _exceptions(run) == [
        (
            "gk/manager.yaml",
            16,
            "new",
            "Deployment gatekeeper-controller-manager exempts --exempt-namespace-prefix=prod"
            " from every OPA Gatekeeper constraint",
        )
    ]
    assert run.returncode == 1
    git_in(tmp_path, "checkout", "-q", "-b", "same", "main")
    base = CONTROLLER % (image, "")
    same = base.replace("            - --port=8443\n", "") + "            - --port=8443\n"
    _commit(tmp_path, {"gk/manager.yaml": same}, "reorder")
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _exceptions(run) == []


def test_a_namespace_relabelled_out_of_a_webhook_s_selector_is_blocked(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """A webhook (or a denying binding) judges the namespaces its namespaceSelector picks by
    label: a pull request giving a Namespace the label that takes it out (here the policy
    engine's own exemption label) makes the cluster admit there what it refused, and no
    object of the change is a finding by itself (session 17). Other labels are no change."""
    selector = (
        "    namespaceSelector:\n      matchExpressions:\n"
        "        - {key: policy.example.com/exempt, operator: DoesNotExist}\n"
    )
    binding = BINDING + "  matchResources:\n    namespaceSelector:\n"
    binding += "      matchLabels: {env: prod}\n"
    namespace = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n  labels:\n%s"
    git_in(tmp_path, "init", "-q", "-b", "main")
    _commit(
        tmp_path,
        {
            "policy/webhook.yaml": WEBHOOK + selector,
            "policy/binding.yaml": binding,
            "deploy/apps.yaml": namespace % ("apps", "    team: a\n"),
            "deploy/prod.yaml": namespace % ("prod", "    env: prod\n"),
        },
        "base",
    )
    git_in(tmp_path, "checkout", "-q", "-b", "exempt")
    _commit(
        tmp_path,
        {
            "deploy/apps.yaml": namespace
            % ("apps", "    team: b\n    policy.example.com/exempt: x\n"),
            "deploy/prod.yaml": namespace % ("prod", "    env: production\n"),
        },
        "relabel",
    )
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _exceptions(run) == [
        (
            "deploy/apps.yaml",
            3,
            "new",
            "Namespace apps leaves what webhook validation.gatekeeper.sh judges (its labels,"
            " namespaceSelector)",
        ),
        (
            "deploy/prod.yaml",
            3,
            "new",
            "Namespace prod leaves what ValidatingAdmissionPolicyBinding no-host-network"
            " judges (its labels, namespaceSelector)",
        ),
    ]
    assert run.returncode == 1
    git_in(tmp_path, "checkout", "-q", "-b", "other", "main")
    _commit(tmp_path, {"deploy/apps.yaml": namespace % ("apps", "    team: c\n")}, "team")
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _exceptions(run) == []


def test_round9_admission_gaps_are_blocked(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """Red team s18 v02: an unchanged Gatekeeper constraint (its kind is its template's own)
    whose namespaceSelector a relabelled Namespace leaves; a rule's Kyverno 1.13
    `validate.failureActionOverrides` auditing a namespace; a constraint's exemption
    parameter gaining an entry; the API server's Pod Security configuration (as written, or
    in an AdmissionConfiguration) removed. Each passed green; a stricter edit still does."""
    constraint = CONSTRAINT.replace(
        "match: {kinds:",
        "parameters: {exemptImages: []}\n  match:\n    namespaceSelector:\n"
        "      matchExpressions: [{key: acme.io/exempt, operator: DoesNotExist}]\n    kinds:",
    ).replace("kinds: [Pod]}]}", "kinds: [Pod]}]")
    rule = POLICY.replace("      validate:\n", "      validate:\n        failureAction: Enforce\n")
    admission = (
        "apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\nplugins:\n"
        "  - name: PodSecurity\n    configuration:\n"
        + "".join(f"      {line}\n" for line in PSA.splitlines())
    )
    namespace = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: app\n  labels: {%s}\n"
    git_in(tmp_path, "init", "-q", "-b", "main")
    _commit(
        tmp_path,
        {
            "policy/constraint.yaml": constraint,
            "policy/other-constraint.yaml": constraint.replace("no-privileged", "no-priv-2"),
            "policy/kyverno.yaml": rule,
            "cluster/psa.yaml": PSA,
            "cluster/admission.yaml": admission,
            "deploy/ns.yaml": namespace % "team: a",
        },
        "base",
    )
    git_in(tmp_path, "checkout", "-q", "-b", "weaken")
    _commit(
        tmp_path,
        {
            "deploy/ns.yaml": namespace % "team: a, acme.io/exempt: x",
            "policy/kyverno.yaml": rule.replace(
                "failureAction: Enforce\n",
                "failureAction: Enforce\n        failureActionOverrides:\n"
                "          - {action: Audit, namespaces: [app]}\n",
            ),
            "policy/other-constraint.yaml": constraint.replace(
                "no-privileged", "no-priv-2"
            ).replace("exemptImages: []", 'exemptImages: ["*"]'),
        },
        "weaken",
    )
    git_in(tmp_path, "rm", "-q", "cluster/psa.yaml", "cluster/admission.yaml")
    git_in(tmp_path, "commit", "-qm", "no pod security")
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    gone = " is no longer deployed (removed by this change)"
    assert _exceptions(run) == [
        ("cluster/admission.yaml", 1, "new", f"AdmissionConfiguration{gone}"),
        ("cluster/psa.yaml", 1, "new", f"PodSecurityConfiguration{gone}"),
        (
            "deploy/ns.yaml",
            3,
            "new",
            "Namespace app leaves what K8sPSPPrivilegedContainer no-priv-2 judges (its labels,"
            " namespaceSelector)",
        ),
        (
            "deploy/ns.yaml",
            3,
            "new",
            "Namespace app leaves what K8sPSPPrivilegedContainer no-privileged judges (its"
            " labels, namespaceSelector)",
        ),
        (
            "policy/kyverno.yaml",
            11,
            "new",
            "ClusterPolicy disallow-privileged changes the namespaces rule privileged only"
            " audits (failureActionOverrides)",
        ),
        (
            "policy/other-constraint.yaml",
            6,
            "new",
            "K8sPSPPrivilegedContainer no-priv-2 exempts exemptImages",
        ),
    ]
    git_in(tmp_path, "checkout", "-q", "-b", "stricter", "main")
    _commit(
        tmp_path,
        {
            "deploy/ns.yaml": namespace % "team: b",
            "policy/constraint.yaml": constraint.replace('exemptImages: []', "exemptImages: []\n"),
        },
        "stricter",
    )
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _exceptions(run) == []


def test_an_enforced_rule_removed_or_renamed_or_the_engine_s_webhook_removed_is_blocked(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """Red team s18 v03: a Kyverno policy's Enforce rule renamed and made audit-only, or
    removed while the policy stays, given preconditions that skip it, and OPA Gatekeeper's
    own webhook configuration deleted,
    passed green (rules were compared by name; a webhook's removal was "not weaker"). A
    rule renamed with the same checks and still enforced is no change."""
    two = POLICY + (
        "    - name: host-network\n      match: {any: [{resources: {kinds: [Pod]}}]}\n"
        "      validate:\n        message: no host network\n"
        '        pattern: {spec: {=(hostNetwork): "false"}}\n'
    )
    git_in(tmp_path, "init", "-q", "-b", "main")
    _commit(
        tmp_path,
        {"policy/a.yaml": two, "policy/b.yaml": two.replace("disallow-privileged", "b"),
         "policy/c.yaml": two.replace("disallow-privileged", "c"), "policy/webhook.yaml": WEBHOOK,
         "policy/d.yaml": two.replace("disallow-privileged", "d")},
        "base",
    )
    git_in(tmp_path, "checkout", "-q", "-b", "weaken")
    audit = "        failureAction: Audit\n        message: no privileged"
    renamed = two.replace("name: privileged\n", "name: privileged-v2\n").replace(
        "        message: no privileged", audit
    )
    _commit(
        tmp_path,
        {
            "policy/a.yaml": renamed,
            "policy/b.yaml": two.replace("disallow-privileged", "b").split("    - name: host")[0],
            "policy/c.yaml": two.replace("disallow-privileged", "c").replace(
                "name: privileged\n", "name: privileged-renamed\n"
            ),
            "policy/d.yaml": two.replace("disallow-privileged", "d").replace(
                "    - name: host-network\n",
                "    - name: host-network\n      preconditions: {all: [{key: a,"
                " operator: NotEquals, value: b}]}\n",
            ),
        },
        "weaken",
    )
    git_in(tmp_path, "rm", "-q", "policy/webhook.yaml")
    git_in(tmp_path, "commit", "-qm", "no webhook")
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _exceptions(run) == [
        (
            "policy/a.yaml",
            6,
            "new",
            "ClusterPolicy disallow-privileged no longer enforces rule privileged (removed, or"
            " renamed and changed)",
        ),
        (
            "policy/b.yaml",
            6,
            "new",
            "ClusterPolicy b no longer enforces rule host-network (removed, or renamed and"
            " changed)",
        ),
        ("policy/d.yaml", 13, "new", "ClusterPolicy d changes when rule host-network applies"
         " (preconditions)"),
        (
            "policy/webhook.yaml",
            3,
            "new",
            "ValidatingWebhookConfiguration gatekeeper-validating-webhook-configuration is no"
            " longer deployed (removed by this change)",
        ),
    ]


CHART_APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: kyverno-policies, namespace: argocd}
spec:
  project: platform
  destination: {server: https://kubernetes.default.svc, namespace: kyverno}
  source:
    repoURL: https://kyverno.github.io/kyverno/
    chart: kyverno-policies
    targetRevision: 3.2.6
    helm:
      values: |
        podSecurityStandard: restricted
      valuesObject:
        validationFailureAction: Enforce
        policyExclude: {}
"""
CHART_RELEASE = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: kyverno-policies, namespace: kyverno}
spec:
  interval: 10m
  chart: {spec: {chart: kyverno-policies, sourceRef: {kind: HelmRepository, name: kyverno}}}
  values:
    validationFailureAction: Enforce
"""


def test_a_release_of_the_kyverno_policies_chart_made_weaker_is_blocked(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """The kyverno/kyverno-policies chart, installed from its Helm repository by an Argo CD
    Application or a Flux HelmRelease: nothing renders it here, so its values turned to
    Audit, a lower Pod Security standard or an exclusion passed green (red team s18 v04).
    A stricter release is no change; removing an enforcing one is said."""
    git_in(tmp_path, "init", "-q", "-b", "main")
    _commit(
        tmp_path,
        {
            "platform/app.yaml": CHART_APP,
            "platform/release.yaml": CHART_RELEASE,
            "platform/other.yaml": CHART_RELEASE.replace("name: kyverno-policies, ", "name: b, "),
        },
        "base",
    )
    git_in(tmp_path, "checkout", "-q", "-b", "weaken")
    _commit(
        tmp_path,
        {
            "platform/app.yaml": CHART_APP.replace("restricted", "baseline").replace(
                "policyExclude: {}", "policyExclude: {disallow-host-path: {any: []}}"
            ),
            "platform/release.yaml": CHART_RELEASE.replace("Enforce", "Audit"),
        },
        "weaken",
    )
    git_in(tmp_path, "rm", "-q", "platform/other.yaml")
    git_in(tmp_path, "commit", "-qm", "retire")
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _exceptions(run) == [
        (
            "platform/app.yaml",
            12,
            "new",
            "Application kyverno-policies installs the baseline policies of the kyverno-policies"
            " chart, not restricted",
        ),
        (
            "platform/app.yaml",
            16,
            "new",
            "Application kyverno-policies changes where the kyverno-policies chart's policies"
            " enforce (policyExclude)",
        ),
        ("platform/other.yaml", 3, "new", "HelmRelease b is no longer deployed (removed by this"
         " change)"),
        (
            "platform/release.yaml",
            8,
            "new",
            "HelmRelease kyverno-policies only audits the kyverno-policies chart's policies"
            " (validationFailureAction",
        ),
    ]
    git_in(tmp_path, "checkout", "-q", "-b", "stricter", "main")
    _commit(tmp_path, {"platform/app.yaml": CHART_APP.replace("  policyExclude: {}\n", "")}, "x")
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _exceptions(run) == []


GATEKEEPER_APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: gatekeeper, namespace: argocd}
spec:
  project: platform
  destination: {server: https://kubernetes.default.svc, namespace: gatekeeper-system}
  sources:
    - repoURL: https://open-policy-agent.github.io/gatekeeper/charts
      chart: gatekeeper
      targetRevision: 3.21.0
      helm:
        valuesObject:
          validatingWebhookFailurePolicy: Fail
          controllerManager:
            exemptNamespaces: [kube-system, legacy]
"""


def test_a_release_of_opa_gatekeeper_s_chart_made_weaker_is_blocked(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """OPA Gatekeeper's own chart from its Helm repository (red team s18 v04): its
    validating webhook turned off, a namespace exempted from every constraint, or
    `validatingWebhookFailurePolicy` back to Ignore passed green. Taking an exemption out is
    no change."""
    git_in(tmp_path, "init", "-q", "-b", "main")
    _commit(tmp_path, {"platform/gatekeeper.yaml": GATEKEEPER_APP}, "base")
    git_in(tmp_path, "checkout", "-q", "-b", "weaken")
    weaker = GATEKEEPER_APP.replace("[kube-system, legacy]", "[kube-system, app]").replace(
        "Policy: Fail", "Policy: Ignore\n          disableValidatingWebhook: true"
    )
    _commit(tmp_path, {"platform/gatekeeper.yaml": weaker}, "weaken")
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert [(*f[:2], f[3]) for f in _exceptions(run)] == [
        (
            "platform/gatekeeper.yaml",
            13,
            "Application gatekeeper admits when the policy engine's webhook fails"
            " (validatingWebhookFailurePolicy Ignore)",
        ),
        (
            "platform/gatekeeper.yaml",
            14,
            "Application gatekeeper turns OPA Gatekeeper's admission webhook off"
            " (disableValidatingWebhook)",
        ),
        (
            "platform/gatekeeper.yaml",
            16,
            "Application gatekeeper changes where the gatekeeper chart's policies enforce"
            " (controllerManager.exemptNamespaces)",
        ),
    ]
    git_in(tmp_path, "checkout", "-q", "-b", "stricter", "main")
    _commit(
        tmp_path,
        {"platform/gatekeeper.yaml": GATEKEEPER_APP.replace(", legacy]", "]")},
        "stricter",
    )
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _exceptions(run) == []
