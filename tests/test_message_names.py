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
