"""`group: namespace`: a namespace without a NetworkPolicy is one finding, however many
workloads run there (real-repo rr/14: elastic/cloud-on-k8s said `default` 162 times)."""

from __future__ import annotations

from pathlib import Path

import pytest

import gatekeeper
from gatekeeper.change import scan_change
from gatekeeper.policy.loader import PolicyError, load_policy_file
from tests.conftest import REPO
from tests.test_change import Repo
from tests.test_change import repo as repo  # the fixture

POLICY = "K8S-NETWORK-POLICY-PRESENT"


def deployment(name: str, namespace: str) -> str:
    return (
        "apiVersion: apps/v1\nkind: Deployment\n"
        f"metadata: {{name: {name}, namespace: {namespace}}}\n"
        f"spec:\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n"
        f"    metadata: {{labels: {{app: {name}}}}}\n"
        f"    spec: {{containers: [{{name: {name}, image: registry.example.com/{name}:1}}]}}\n"
    )


def test_a_namespace_is_said_once_and_a_pull_request_adds_a_finding_per_new_namespace(
    repo: Repo,
) -> None:
    repo.write(".gatekeeper.yml", "builtin: true\n")
    for name in ("b", "a", "c"):
        repo.write(f"shop/{name}.yaml", deployment(name, "shop"))
    repo.commit("base")
    base = gatekeeper.scan(repo.root, root=repo.root, jobs=1).verdict.findings
    [said] = [f for f in base if f.policy_id == POLICY]
    assert (said.file, said.line, said.name) == ("shop/a.yaml", 3, "a")
    assert said.extra["objects"] == ["Deployment/a", "Deployment/b", "Deployment/c"]
    assert said.message.endswith("(Deployment a runs there); said once for all its workloads")
    repo.branch("pr")
    repo.write("shop/d.yaml", deployment("d", "shop"))  # a namespace already said: nothing new
    repo.write("blog/e.yaml", deployment("e", "blog"))  # the first workload of another
    repo.commit("more")
    found = [f for f in scan_change(repo.root, "main").verdict.findings if f.policy_id == POLICY]
    # shop's finding is the base's, at a file the change does not touch: not the change's.
    assert [(f.namespace, f.status, f.file) for f in found] == [("blog", "new", "blog/e.yaml")]


def test_only_a_repository_scope_policy_groups(tmp_path: Path) -> None:
    policy = (REPO / "policies/kubernetes/network-policy-present.yaml").read_text()
    policy = policy.replace("scope: repository\n", "").replace("inventoryKinds:", "# ")
    (tmp_path / "p.yaml").write_text(policy)
    with pytest.raises(PolicyError, match="group: only a repository-scope policy"):
        load_policy_file(tmp_path / "p.yaml")


NETPOL = (
    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
    "metadata: {name: deny, namespace: app}\nspec: {podSelector: {}}\n"
)


def test_a_manifest_only_builds_deploy_counts_as_built(repo: Repo) -> None:
    """Red team r24: the only NetworkPolicy of `app` is deployed through net/'s
    kustomization; a change makes that kustomization put it in `app-staging`. Its file read
    alone still counted for `app`. Real-repo rr/01: a Deployment only a kustomization
    setting `namespace: shop` deploys was also counted in `default`."""
    repo.write(".gatekeeper.yml", "builtin: true\n")
    repo.write("app/web.yaml", deployment("web", "app"))
    repo.write("net/np.yaml", NETPOL)
    repo.write("net/kustomization.yaml", "resources: [np.yaml]\n")
    repo.write("shop/api.yaml", deployment("api", "").replace(", namespace: }", "}"))
    repo.write("shop/kustomization.yaml", "namespace: app\nresources: [api.yaml]\n")
    repo.commit("base")
    found = gatekeeper.scan(repo.root, root=repo.root, jobs=1).verdict.findings
    assert [f for f in found if f.policy_id == POLICY] == []  # no phantom `default`
    repo.branch("pr")
    repo.write("net/kustomization.yaml", "resources: [np.yaml]\nnamespace: app-staging\n")
    repo.commit("move the policy")
    changed = scan_change(repo.root, "main", filter_mode="all").verdict.findings
    said = [(f.namespace, f.status) for f in changed if f.policy_id == POLICY]
    assert ("app", "new") in said


def test_a_workload_added_first_in_a_namespace_already_said_is_not_new(repo: Repo) -> None:
    """Red team s19's side effect: the finding names the namespace's first workload, and a
    change that adds one sorted before it changed that name; the message alone made it new."""
    repo.write(".gatekeeper.yml", "builtin: true\n")
    repo.write("shop/b.yaml", deployment("b", "shop"))
    repo.commit("base")
    repo.branch("pr")
    repo.write("shop/a.yaml", deployment("a", "shop"))
    repo.commit("a first")
    found = [f for f in scan_change(repo.root, "main").verdict.findings if f.policy_id == POLICY]
    assert [(f.file, f.status) for f in found] == [("shop/a.yaml", "existing")]
