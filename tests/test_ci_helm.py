"""A chart CI installs with `helm upgrade --install -n X` is judged in X (gatekeeper/ci_helm.py;
cert-manager's Makefile installs its test charts so, and its own admission policies leave
those namespaces out)."""

from __future__ import annotations

from pathlib import Path

import gatekeeper

# The repository's own admission policy, for every namespace but `tools`.
POLICY = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: one-replica}
spec:
  matchConstraints:
    resourceRules:
      - apiGroups: [apps]
        apiVersions: [v1]
        operations: [CREATE, UPDATE]
        resources: [deployments]
  validations:
    - {expression: "object.spec.replicas <= 1", message: at most one replica}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: one-replica}
spec:
  policyName: one-replica
  validationActions: [Deny]
  matchResources:
    namespaceSelector:
      matchExpressions:
        - {key: kubernetes.io/metadata.name, operator: NotIn, values: [tools]}
"""
# Installed in `tools`, in a computed namespace, and named in a comment only.
SETUP = """\
deploy-tool:
\t$(HELM) upgrade \\
\t\t--install --wait \\
\t\t--namespace tools \\
\t\ttool charts/tool >/dev/null
deploy-other:
\t$(HELM) upgrade --install -n "$(NS)" other charts/other
# helm upgrade --install -n tools other charts/other
# helm upgrade --install -n tools quiet charts/quiet
"""


def chart(root: Path, name: str) -> None:
    folder = root / "charts" / name
    (folder / "templates").mkdir(parents=True)
    (folder / "Chart.yaml").write_text(f"apiVersion: v2\nname: {name}\nversion: 1.0.0\n")
    (folder / "templates" / "deploy.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\n"
        f"metadata: {{name: {name}, namespace: {{{{ .Release.Namespace }}}}}}\n"
        f"spec:\n  replicas: 3\n  selector: {{matchLabels: {{app: {name}}}}}\n"
        f"  template:\n    metadata: {{labels: {{app: {name}}}}}\n"
        f"    spec: {{containers: [{{name: {name}, image: registry.example.com/{name}:1}}]}}\n"
    )


def test_a_chart_is_judged_in_the_namespace_ci_installs_it_into(tmp_path: Path) -> None:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "one-replica.yaml").write_text(POLICY)
    (tmp_path / "make").mkdir()
    (tmp_path / "make" / "setup.mk").write_text(SETUP)
    for name in ("tool", "other", "quiet"):
        chart(tmp_path, name)
    findings = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1).verdict.findings
    placed = {f.file.split("/")[1]: f.namespace for f in findings if f.kind == "Deployment"}
    assert placed == {"tool": "tools", "other": "default", "quiet": "default"}
    judged = sorted(f.file for f in findings if f.policy_id == "VAP-one-replica")
    assert judged == ["charts/other/templates/deploy.yaml", "charts/quiet/templates/deploy.yaml"]


def manifest(name: str, namespace: str = "") -> str:
    placed = f", namespace: {namespace}" if namespace else ""
    return (
        "apiVersion: apps/v1\nkind: Deployment\n"
        f"metadata: {{name: {name}{placed}}}\n"
        f"spec:\n  replicas: 3\n  selector: {{matchLabels: {{app: {name}}}}}\n"
        f"  template:\n    metadata: {{labels: {{app: {name}}}}}\n"
        f"    spec: {{containers: [{{name: {name}, image: registry.example.com/{name}:1}}]}}\n"
    )


def test_a_manifest_is_judged_in_the_namespace_kubectl_apply_n_puts_it(tmp_path: Path) -> None:
    """cert-manager's e2e applies its bind manifests with `kubectl apply -n bind -f -`: the
    repository's own admission policy, which leaves that namespace out, was judged against
    them as if in no namespace. kubectl gives a namespace-less object the `-n` one; one
    naming another namespace is refused by that command and stays judged where it says."""
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "one-replica.yaml").write_text(POLICY)
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "tool.yaml").write_text(manifest("tool"))
    (tmp_path / "deploy" / "pinned.yaml").write_text(manifest("pinned", "app"))
    (tmp_path / "deploy" / "twice.yaml").write_text(manifest("twice"))
    (tmp_path / "deploy" / "computed.yaml").write_text(manifest("computed"))
    (tmp_path / "e2e.sh").write_text(
        "kubectl apply -n tools -f deploy/tool.yaml -f deploy/pinned.yaml\n"
        "kubectl apply --namespace=tools -f deploy/twice.yaml\n"
        "kubectl apply -n web -f deploy/twice.yaml\n"
        'kubectl apply -n "$NS" -f deploy/computed.yaml\n'
    )
    findings = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1).verdict.findings
    judged = sorted((f.file, f.namespace) for f in findings if f.policy_id == "VAP-one-replica")
    assert judged == [
        ("deploy/computed.yaml", ""),
        ("deploy/pinned.yaml", "app"),
        ("deploy/twice.yaml", "web"),
    ]


def test_a_build_is_judged_in_the_namespace_kubectl_apply_k_n_puts_it(tmp_path: Path) -> None:
    """`kubectl apply -k tool/ -n tools`: kubectl gives the build's objects without a
    namespace `tools`, as a file's; a build CI applies with no namespace stays as written."""
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "one-replica.yaml").write_text(POLICY)
    for folder in ("tool", "app"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "deploy.yaml").write_text(manifest(folder))
        (tmp_path / folder / "kustomization.yaml").write_text("resources: [deploy.yaml]\n")
    (tmp_path / "Makefile").write_text(
        "e2e:\n\tkubectl apply -k tool/ -n tools\n\tkubectl apply -k app/\n"
    )
    findings = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1).verdict.findings
    judged = sorted((f.file, f.namespace) for f in findings if f.policy_id == "VAP-one-replica")
    assert judged == [("app/deploy.yaml", "")]


def test_without_a_policy_reading_namespaces_a_manifest_stays_as_written(tmp_path: Path) -> None:
    """No admission policy nor a policy matching namespaces: no verdict depends on where CI
    applies the file, so its findings keep the namespace as written (and their fingerprints)."""
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "tool.yaml").write_text(manifest("tool"))
    (tmp_path / "e2e.sh").write_text("kubectl apply -n tools -f deploy/tool.yaml\n")
    findings = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1).verdict.findings
    assert findings
    own = {f.namespace for f in findings if not f.policy_id.startswith("K8S-NETWORK-POLICY")}
    assert own == {""}  # (the repository's NetworkPolicy rule counts it in `tools`)


BINDING_POLICY = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: no-cluster-admin}
spec:
  matchConstraints:
    resourceRules:
      - apiGroups: [rbac.authorization.k8s.io]
        apiVersions: [v1]
        operations: [CREATE]
        resources: [clusterrolebindings, rolebindings]
  validations:
    - {expression: "object.roleRef.name != 'cluster-admin'", message: no cluster-admin}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: no-cluster-admin}
spec:
  policyName: no-cluster-admin
  validationActions: [Deny]
  matchResources:
    namespaceSelector:
      matchExpressions:
        - {key: kubernetes.io/metadata.name, operator: NotIn, values: [tools]}
"""


def test_a_namespace_selector_never_skips_a_cluster_wide_object(tmp_path: Path) -> None:
    """A chart installed `-n tools` puts its objects in `tools`, but a ClusterRoleBinding is
    in no namespace: the API server never skips a policy for a cluster-scoped object by its
    namespace selector. Placed in `tools`, a binding to cluster-admin escaped the policy."""
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "no-cluster-admin.yaml").write_text(BINDING_POLICY)
    folder = tmp_path / "charts" / "tool"
    (folder / "templates").mkdir(parents=True)
    (folder / "Chart.yaml").write_text("apiVersion: v2\nname: tool\nversion: 1.0.0\n")
    for kind in ("ClusterRoleBinding", "RoleBinding"):
        (folder / "templates" / f"{kind.lower()}.yaml").write_text(
            f"apiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\nmetadata: {{name: tool}}\n"
            "roleRef:\n  apiGroup: rbac.authorization.k8s.io\n"
            "  kind: ClusterRole\n  name: cluster-admin\n"
            "subjects: [{kind: ServiceAccount, name: tool, namespace: tools}]\n"
        )
    (tmp_path / "Makefile").write_text("e2e:\n\thelm upgrade --install -n tools tool charts/tool\n")
    findings = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1).verdict.findings
    judged = [f.kind for f in findings if f.policy_id == "VAP-no-cluster-admin"]
    assert judged == ["ClusterRoleBinding"]  # the RoleBinding is in `tools`, left out


def test_a_chart_ci_installs_into_two_namespaces_is_said_once_per_line(tmp_path: Path) -> None:
    """kedacore/charts installs keda with `--namespace keda` and `--namespace ${{ matrix.
    namespace }}` (computed: `default`): two renderings, both named `helm charts/keda`, each
    line's finding was said twice (one object per namespace at one rendering's line). Each
    rendering is named by its namespace, so each line is said once, for both."""
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "ci.yml").write_text(
        "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: helm install keda ./charts/keda --namespace keda\n"
        "      - run: helm install keda ./charts/keda --namespace ${{ matrix.namespace }}\n"
    )
    chart(tmp_path, "keda")
    findings = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1).verdict.findings
    digests = [f for f in findings if f.policy_id == "K8S-IMAGE-DIGEST"]
    (digest,) = digests
    assert digest.extra["variants"] == [
        "deployed by .github/workflows/ci.yml:test (helm install keda)",  # workflow_helm
        "helm charts/keda -n default",
        "helm charts/keda -n keda",
    ]
    objects = {"/".join((digest.kind, digest.namespace, digest.name))}
    assert objects | set(digest.extra["deployed_as"]) == {
        "Deployment/default/keda",
        "Deployment/keda/keda",
    }


CLUSTER_OBJECTS = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: tool}
rules: [{apiGroups: ["*"], resources: ["*"], verbs: ["*"]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: tool}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: tool}
subjects: [{kind: Group, name: "system:authenticated", apiGroup: rbac.authorization.k8s.io}]
---
apiVersion: v1
kind: Namespace
metadata: {name: tool-data}
"""


def test_a_chart_installed_n_x_leaves_cluster_wide_objects_in_no_namespace(
    tmp_path: Path,
) -> None:
    """`helm install -n tools` puts a chart's namespaced objects in `tools`, not its
    ClusterRoles, ClusterRoleBindings or Namespaces: kedacore/charts' ClusterRole findings
    were deployed as `ClusterRole/keda/keda-operator` beside the default release's, and a
    finding named `ClusterRole tools/tool`."""
    chart(tmp_path, "tool")
    (tmp_path / "charts" / "tool" / "templates" / "rbac.yaml").write_text(CLUSTER_OBJECTS)
    (tmp_path / "Makefile").write_text("e2e:\n\thelm upgrade --install -n tools tool charts/tool\n")
    findings = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1).verdict.findings
    placed = {(f.kind, f.namespace) for f in findings}
    assert placed >= {("ClusterRole", ""), ("ClusterRoleBinding", ""), ("Deployment", "tools")}
    assert {kind for kind, namespace in placed if namespace == "tools"} == {"Deployment"}
    wildcard = next(f for f in findings if f.policy_id == "K8S-RBAC-WILDCARD")
    assert wildcard.resource == "ClusterRole tool"
