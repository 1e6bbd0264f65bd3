"""An object the API server names (`generateName:`) is named by its prefix in messages, not
left blank ("Job  lacks the label(s)", argocd-example-apps' sync-waves hook Job)."""

from __future__ import annotations

from gatekeeper.evaluate import Engine, render_message
from gatekeeper.policy.loader import load_policy_file
from gatekeeper.scanner import scan
from gatekeeper.sources import LoadContext
from gatekeeper.tree import MemoryTree
from tests.conftest import REPO

JOB = """\
apiVersion: batch/v1
kind: Job
metadata:
  generateName: upgrade-sql-schema-
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: upgrade, image: ghcr.io/acme/db:1.0}]
"""


def test_a_generated_name_names_the_object_in_a_message_expression() -> None:
    engine = Engine([load_policy_file(REPO / "policies/kubernetes/meta-required-labels.yaml")])
    pairs = [("hooks/job.yaml", JOB.encode())]
    (finding,) = scan(pairs, engine, 1, LoadContext(tree=MemoryTree(dict(pairs)))).findings
    assert finding.message == "Job upgrade-sql-schema- lacks the label(s) app.kubernetes.io/name"


def test_a_generated_name_names_the_object_in_a_message_template() -> None:
    data = {"object": {"kind": "Job", "metadata": {"generateName": "upgrade-"}}}
    assert render_message("{{ object.kind }} {{ object.metadata.name }}", data) == "Job upgrade-"
    named = {"object": {"metadata": {"name": "a", "generateName": "b-"}}}
    assert render_message("{{ object.metadata.name }}", named) == "a"


ROLE = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: admission}
rules:
  - apiGroups: [admissionregistration.k8s.io]
    resources: [validatingwebhookconfigurations]
    verbs: [get, update]
  - apiGroups: [""]
    resources: [pods, namespaces]
    verbs: [list, patch]
  - apiGroups: [""]
    resources: [serviceaccounts/token]
    verbs: ["*"]
"""


def test_a_path_to_cluster_admin_names_the_permission_and_why() -> None:
    """ingress-nginx (noise3): its admission ClusterRole was said to grant "a path to
    cluster-admin", with nothing saying which of its permissions is one."""
    engine = Engine([load_policy_file(REPO / "policies/kubernetes/rbac-privilege-paths.yaml")])
    pairs = [("rbac.yaml", ROLE.encode())]
    found = scan(pairs, engine, 1, LoadContext(tree=MemoryTree(dict(pairs)))).findings
    assert [(f.line, f.message) for f in sorted(found, key=lambda f: f.line)] == [
        (
            6,
            "ClusterRole admission grants update on validatingwebhookconfigurations: an "
            "admission webhook or policy sees every object and can rewrite or pass it; "
            "name the objects it needs in resourceNames, or drop the verb",
        ),
        (
            9,
            "ClusterRole admission grants patch on namespaces: a namespace relabelled "
            "privileged turns Pod Security off there; name the objects it needs in "
            "resourceNames, or drop the verb",
        ),
        (
            12,
            "ClusterRole admission grants * on serviceaccounts/token: a token of any service "
            "account in reach, cluster-admin's among them; name the objects it needs in "
            "resourceNames, or drop the verb",
        ),
    ]


PLACEHOLDER = """\
apiVersion: v1
kind: Pod
metadata: {name: compiler, namespace: aiml}
spec:
  containers:
    - name: compiler
      image: ${AIML_DL_TRN_IMAGE}
"""


def test_a_placeholder_image_is_said_to_be_one() -> None:
    """eks-workshop-v2 (noise3): `image: ${AIML_DL_TRN_IMAGE}`, filled by envsubst where the
    workshop applies it, was said to "come from Docker Hub" and to have "no tag": true of
    the text as written, which is what is judged, but not what the line is. The messages
    say it is a placeholder judged as written."""
    policies = [
        load_policy_file(REPO / "policies/kubernetes/image-allowed-registry.yaml"),
        load_policy_file(REPO / "policies/kubernetes/image-tag-pinned.yaml"),
    ]
    pairs = [("compiler.yaml", PLACEHOLDER.encode())]
    found = scan(pairs, Engine(policies), 1, LoadContext(tree=MemoryTree(dict(pairs)))).findings
    assert sorted((f.policy_id, f.line, f.message) for f in found) == [
        (
            "K8S-IMAGE-ALLOWED-REGISTRY",
            7,
            "image ${AIML_DL_TRN_IMAGE} of container compiler is a placeholder, judged as "
            "written (as `kubectl apply -f` would send it): a Docker Hub name; set "
            "params.allowedRegistries in .gatekeeper.yml to the registries you trust",
        ),
        (
            "K8S-IMAGE-TAG-PINNED",
            7,
            "image ${AIML_DL_TRN_IMAGE} of container compiler is a placeholder, judged as "
            "written (as `kubectl apply -f` would send it): no tag, which means latest",
        ),
    ]


def test_a_missing_flux_interval_is_said_missing() -> None:
    """GITOPS-FLUX-INTERVAL said "interval  is below the minimum" of a source without
    `interval:` (session 16): now what is wrong. A short interval says as before, and the
    fingerprint is not made from the message (waivers and baselines keep matching)."""
    engine = Engine([load_policy_file(REPO / "policies/gitops/flux-reconcile-sanity.yaml")])
    source = (
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: apps}\n"
        "spec:\n  url: https://github.com/acme/apps\n"
    )
    short = source + "  interval: 5s\n"
    said = {}
    for text in (source, short):
        pairs = [("flux/source.yaml", text.encode())]
        (finding,) = scan(pairs, engine, 1, LoadContext(tree=MemoryTree(dict(pairs)))).findings
        said[finding.message] = finding.fingerprint
    assert list(said) == [
        "spec.interval is missing (Flux requires one)",
        "interval 5s is below the minimum",
    ]
    assert len(set(said.values())) == 1  # one object, one field: the message is not in it


def test_cluster_admin_says_how_far_a_binding_reaches() -> None:
    """flux2-multi-tenancy: "RoleBinding gotk-reconciler grants cluster-admin" read as a
    cluster-wide grant; a RoleBinding gives its powers within its namespace (as the
    description says). Fingerprints are not made from the message."""
    engine = Engine([load_policy_file(REPO / "policies/kubernetes/rbac-cluster-admin.yaml")])
    binding = (
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\n"
        "metadata: {{name: admin{namespace}}}\n"
        "roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}}\n"
        "subjects: [{{kind: ServiceAccount, name: app, namespace: apps}}]\n"
    )
    said = []
    for kind, namespace in (
        ("RoleBinding", ", namespace: apps"),
        ("RoleBinding", ""),
        ("ClusterRoleBinding", ""),
    ):
        pairs = [("rbac.yaml", binding.format(kind=kind, namespace=namespace).encode())]
        (finding,) = scan(pairs, engine, 1, LoadContext(tree=MemoryTree(dict(pairs)))).findings
        said.append(finding.message)
    assert said == [
        "RoleBinding admin grants cluster-admin within namespace apps: its Secrets, workloads"
        " and RBAC",
        "RoleBinding admin grants cluster-admin within its namespace: its Secrets, workloads"
        " and RBAC",
        "ClusterRoleBinding admin grants cluster-admin on the whole cluster",
    ]
