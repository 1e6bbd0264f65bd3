"""What the repository deploys, and into which namespace, as K8S-NETWORK-POLICY-PRESENT
counts it (gatekeeper/deployer_scope.py): a chart nothing releases covers only its own
workloads (second red-team round s15), and a manifest without a namespace is in the one its
deployer gives (s27; real-repo repro 10, argoproj/argocd-example-apps)."""

from __future__ import annotations

import gatekeeper
from gatekeeper.change import scan_change
from gatekeeper.finding import Finding
from tests.test_change import Repo
from tests.test_change import repo as repo  # the fixture

POLICY = "K8S-NETWORK-POLICY-PRESENT"


def workload(name: str, namespace: str = "") -> str:
    placed = f", namespace: {namespace}" if namespace else ""
    return (
        "apiVersion: apps/v1\nkind: Deployment\n"
        f"metadata: {{name: {name}{placed}}}\n"
        f"spec:\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n"
        f"    metadata: {{labels: {{app: {name}}}}}\n"
        f"    spec: {{containers: [{{name: {name}, image: registry.example.com/{name}:1}}]}}\n"
    )


def deny(namespace: str) -> str:
    placed = f", namespace: {namespace}" if namespace else ""
    return (
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        f"metadata: {{name: deny{placed}}}\nspec: {{podSelector: {{}}}}\n"
    )


def said(findings: list[Finding]) -> list[tuple[str, str]]:
    return sorted((f.namespace, f.file) for f in findings if f.policy_id == POLICY)


def isolation_chart(repo: Repo, folder: str) -> None:
    """A chart holding only a NetworkPolicy for the namespace its values name (`app`)."""
    repo.write(f"{folder}/Chart.yaml", "apiVersion: v2\nname: isolation\nversion: 0.1.0\n")
    repo.write(f"{folder}/values.yaml", "target: app\n")
    repo.write(f"{folder}/templates/deny.yaml", deny("{{ .Values.target }}"))


def test_a_chart_nothing_releases_does_not_cover_the_namespace_of_the_manifests(
    repo: Repo,
) -> None:
    """s15: the only NetworkPolicy of `app` moves into a chart no deployer installs."""
    repo.write(".gatekeeper.yml", "builtin: true\n")
    repo.write("deploy/web.yaml", workload("web", "app"))
    repo.write("deploy/deny.yaml", deny("app"))
    repo.commit("base")
    repo.branch("pr")
    repo.git.git.rm("-q", "deploy/deny.yaml")
    isolation_chart(repo, "charts/isolation")
    # Named in a comment or in prose only: released by nothing.
    repo.write("scripts/later.sh", "# helm upgrade --install isolation charts/isolation\n")
    repo.write("docs/isolation.md", "Run `helm upgrade --install isolation charts/isolation`.\n")
    repo.commit("move the policy into a chart")
    found = scan_change(repo.root, "main").verdict.findings
    assert [(f.namespace, f.status) for f in found if f.policy_id == POLICY] == [("app", "new")]
    # Released by the repository (a Makefile's `helm upgrade`): it covers `app` again.
    repo.write("Makefile", "deploy:\n\thelm upgrade --install isolation charts/isolation\n")
    repo.commit("release it")
    found = scan_change(repo.root, "main").verdict.findings
    assert said(found) == []


def test_a_chart_nothing_releases_still_covers_its_own_workloads(repo: Repo) -> None:
    """A chart repository releases none of its charts: each is judged with what it holds
    (prometheus-community/helm-charts' charts that ship a NetworkPolicy say nothing)."""
    repo.write(".gatekeeper.yml", "builtin: true\n")
    isolation_chart(repo, "charts/isolation")
    repo.write("charts/isolation/templates/api.yaml", workload("api", "{{ .Values.target }}"))
    repo.write("charts/other/Chart.yaml", "apiVersion: v2\nname: other\nversion: 0.1.0\n")
    repo.write("charts/other/templates/job.yaml", workload("job", "app"))
    repo.commit("base")
    found = gatekeeper.scan(repo.root, root=repo.root, jobs=1).verdict.findings
    # Its own workload is covered; another chart's workload in `app` is not.
    assert said(found) == [("app", "charts/other/templates/job.yaml")]


def test_a_workload_without_a_namespace_is_where_kubectl_apply_n_puts_it(repo: Repo) -> None:
    """s27: `kubectl apply -n payments -f deploy/payments/` puts a workload that names no
    namespace in `payments`, not in `default` (which another workload already said)."""
    repo.write(".gatekeeper.yml", "builtin: true\n")
    repo.write("deploy/legacy.yaml", workload("legacy"))
    repo.write("deploy/payments/.keep", "")
    repo.write(
        "deploy.sh",
        "set -e\nkubectl apply -f deploy/legacy.yaml\n"
        "kubectl apply -n payments \\\n  -f deploy/payments/\n"  # continued over two lines
        'kubectl apply --namespace="$TARGET" -f deploy/computed/\n',
    )
    repo.commit("base")
    repo.branch("pr")
    repo.write("deploy/payments/api.yaml", workload("api"))
    repo.commit("payments")
    found = scan_change(repo.root, "main").verdict.findings
    new = [(f.namespace, f.file) for f in found if f.policy_id == POLICY and f.status == "new"]
    assert new == [("payments", "deploy/payments/api.yaml")]
    # Its NetworkPolicy, namespace-less too, applied by the same command covers it; a
    # namespace CI computes is none the rule can judge, and never `default`.
    repo.write("deploy/payments/deny.yaml", deny(""))
    repo.write("deploy/computed/worker.yaml", workload("worker"))
    repo.commit("isolate")
    full = gatekeeper.scan(repo.root, root=repo.root, jobs=1).verdict.findings
    assert said(full) == [("", "deploy/legacy.yaml")]


def test_files_fed_to_kubectl_apply_n_are_in_its_namespace(repo: Repo) -> None:
    """cert-manager's e2e: `sed -e "s|{IMAGE}|$(IMAGE)|g" bind/*.yaml | kubectl apply -n bind
    -f -` puts the namespace-less bind Deployment in `bind`, which has its NetworkPolicy (it
    was a phantom in `default`)."""
    repo.write(".gatekeeper.yml", "builtin: true\n")
    repo.write("config/bind/deployment.yaml", workload("bind"))
    repo.write("config/bind/deny.yaml", deny("bind"))
    repo.write("config/pebble/deployment.yaml", workload("pebble"))
    repo.write("config/pebble/deny.yaml", deny("pebble"))
    repo.write(
        "e2e.sh",
        'sed -e "s|{IMAGE}|$IMAGE|g" config/bind/*.yaml | kubectl apply -n bind -f -\n'
        "kubectl apply -n pebble -f - < config/pebble/deployment.yaml\n",
    )
    repo.commit("base")
    full = gatekeeper.scan(repo.root, root=repo.root, jobs=1).verdict.findings
    assert said(full) == []


def test_a_base_other_builds_take_in_is_where_they_put_it(repo: Repo) -> None:
    """kubeflow: a kubebuilder base (`config/manager`, no namespace) is also built alone; its
    overlay puts it in `shop`, which has its NetworkPolicy, and nothing deploys the base alone:
    it is no workload of `default`. Applied alone by CI (`kubectl apply -k`), it is."""
    repo.write(".gatekeeper.yml", "builtin: true\n")
    repo.write("config/manager/manager.yaml", workload("manager"))
    repo.write("config/manager/kustomization.yaml", "resources: [manager.yaml]\n")
    repo.write("config/default/kustomization.yaml", "namespace: shop\nresources: [../manager]\n")
    repo.write("netpol/deny.yaml", deny("shop"))
    repo.commit("base")
    full = gatekeeper.scan(repo.root, root=repo.root, jobs=1).verdict.findings
    assert said(full) == []
    repo.write("deploy.sh", "kubectl apply -k config/manager\n")
    repo.commit("alone")
    full = gatekeeper.scan(repo.root, root=repo.root, jobs=1).verdict.findings
    assert said(full) == [("", "config/manager/manager.yaml")]


def test_an_argo_directory_application_puts_its_manifests_in_its_destination(
    repo: Repo,
) -> None:
    """Real-repo repro 10: the plain file of a workload an Application deploys into
    `guestbook` (which has a NetworkPolicy) was also counted in a phantom `default`."""
    repo.write(".gatekeeper.yml", "builtin: true\n")
    repo.git.git.remote("add", "origin", "https://github.com/acme/gitops.git")
    application = (
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\n"
        "metadata: {{name: {name}, namespace: argocd}}\n"
        "spec:\n  project: default\n"
        "  destination: {{namespace: guestbook, server: https://kubernetes.default.svc}}\n"
        "  source: {{repoURL: https://github.com/acme/gitops.git, path: {name},"
        " targetRevision: HEAD}}\n"
    )
    apps = application.format(name="ui") + "---\n" + application.format(name="net")
    repo.write("apps/apps.yaml", apps)
    repo.write("ui/deployment.yaml", workload("ui"))
    repo.write("net/deny.yaml", deny("guestbook"))
    repo.commit("base")
    found = gatekeeper.scan(repo.root, root=repo.root, jobs=1).verdict.findings
    assert said(found) == []
    # A kustomization in the folder: its build alone is no object of `default` either.
    repo.write("ui/kustomization.yaml", "resources: [deployment.yaml]\n")
    repo.commit("kustomize")
    found = gatekeeper.scan(repo.root, root=repo.root, jobs=1).verdict.findings
    assert said(found) == []
    # Without the NetworkPolicy the destination is said, not `default`.
    repo.git.git.rm("-q", "net/deny.yaml")
    repo.commit("no policy")
    found = gatekeeper.scan(repo.root, root=repo.root, jobs=1).verdict.findings
    assert [f.message.split(" has")[0] for f in found if f.policy_id == POLICY] == [
        "namespace guestbook"
    ]


def test_a_build_without_a_namespace_is_where_kubectl_apply_k_n_puts_it(repo: Repo) -> None:
    """`kubectl apply -k jobs/ -n batch`: the build's objects without a namespace are in
    `batch`, not `default`."""
    repo.write(".gatekeeper.yml", "builtin: true\n")
    repo.write("jobs/worker.yaml", workload("worker"))
    repo.write("jobs/kustomization.yaml", "resources: [worker.yaml]\n")
    repo.write("Makefile", "deploy:\n\tkubectl apply -k jobs/ -n batch\n")
    repo.commit("base")
    found = gatekeeper.scan(repo.root, root=repo.root, jobs=1).verdict.findings
    assert [f.message.split(" has")[0] for f in found if f.policy_id == POLICY] == [
        "namespace batch"
    ]


def test_a_makefiles_included_part_places_what_it_applies(repo: Repo) -> None:
    """cert-manager writes that command in `make/e2e-setup.mk`, a part its Makefile includes:
    read as the Makefile is (it was not, and bind's Deployment stayed in `default`)."""
    repo.write(".gatekeeper.yml", "builtin: true\n")
    repo.write("config/bind/deployment.yaml", workload("bind"))
    repo.write("config/bind/deny.yaml", deny("bind"))
    repo.write("Makefile", "-include make/*.mk\n")
    repo.write(
        "make/e2e-setup.mk",
        "e2e-setup-bind:\n"
        '\tsed -e "s|{IMAGE}|$(IMAGE)|g" config/bind/*.yaml | $(KUBECTL) apply -n bind -f -\n',
    )
    repo.commit("base")
    full = gatekeeper.scan(repo.root, root=repo.root, jobs=1).verdict.findings
    assert said(full) == []


def test_a_base_with_a_placeholder_namespace_is_where_its_builds_put_it(repo: Repo) -> None:
    """kueue: a kubebuilder base writes `namespace: system`, a placeholder its overlay
    replaces; nothing deploys the base alone (CI's computed `-k "$TMP/overlays/other"` ends
    otherwise), so `system` is no namespace of the repository's workloads. A `-k "$DIR"`
    that may be any folder may be the base: then it is."""
    repo.write(".gatekeeper.yml", "builtin: true\n")
    repo.write("config/viz/viz.yaml", workload("viz", "system"))
    repo.write("config/viz/kustomization.yaml", "resources: [viz.yaml]\n")
    repo.write("config/default/kustomization.yaml", "namespace: shop\nresources: [../viz]\n")
    repo.write("netpol/deny.yaml", deny("shop"))
    repo.write("hack/e2e.sh", 'TMP=$(mktemp -d)\nkubectl apply -k "$TMP/overlays/other"\n')
    repo.commit("base")
    full = gatekeeper.scan(repo.root, root=repo.root, jobs=1).verdict.findings
    assert said(full) == []
    repo.write("hack/any.sh", 'kubectl apply -k "$1"\n')
    repo.commit("any")
    full = gatekeeper.scan(repo.root, root=repo.root, jobs=1).verdict.findings
    assert said(full) == [("system", "config/viz/viz.yaml")]


def test_a_workload_applied_after_cd_is_where_kubectl_apply_n_puts_it(repo: Repo) -> None:
    """s16 x04: `cd deploy && kubectl apply -n payments -f api.yaml` (a workflow) and `cd
    jobs; kubectl apply -n batch -f worker.yaml` (a script) apply deploy/api.yaml into
    payments and jobs/worker.yaml into batch; read from the root, they stayed in `default`,
    which a default-deny covers: neither namespace was said to lack a NetworkPolicy."""
    repo.write(".gatekeeper.yml", "builtin: true\n")
    repo.write("deploy/deny.yaml", deny("default"))
    repo.commit("base")
    repo.branch("pr")
    repo.write("deploy/api.yaml", workload("api"))
    repo.write("jobs/worker.yaml", workload("worker"))
    repo.write(
        ".github/workflows/deploy.yml",
        "on: push\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: cd deploy && kubectl apply -n payments -f api.yaml\n",
    )
    repo.write("tools/cron.yaml", workload("cron"))
    repo.write(
        "deploy.sh",
        "set -e\ncd jobs\nkubectl apply -n batch -f worker.yaml\n"
        "cd ../tools && kubectl apply -n ops -f .\n",  # the folder it went to
    )
    repo.commit("deploy from their folders")
    found = scan_change(repo.root, "main").verdict.findings
    new = [(f.namespace, f.file) for f in found if f.policy_id == POLICY and f.status == "new"]
    assert sorted(new) == [
        ("batch", "jobs/worker.yaml"),
        ("ops", "tools/cron.yaml"),
        ("payments", "deploy/api.yaml"),
    ]


def test_a_chart_is_named_by_its_path_anywhere_and_by_its_name_outside_templates(
    repo: Repo,
) -> None:
    """A template spelling another chart's last name beside a word of releasing releases
    nothing, its path does; the same from git's searches and from the files read."""
    from gatekeeper import deployer_scope
    from gatekeeper.tree import MemoryTree, WorkTree

    files = {
        "charts/app/templates/a.yaml": "# release: isolation\nlabels: {chart: isolation}\n",
        "charts/app/templates/b.yaml": "source: {path: charts/paths}\n",
        "deploy/helmfile.yaml": "releases: [{name: x, chart: ./named}]\n",
        "docs/notes.md": "helm install charts/prose\n",
    }
    for name, text in files.items():
        repo.write(name, text)
    repo.commit("base")
    charts = ["charts/isolation", "charts/paths", "charts/named", "charts/prose"]
    memory = MemoryTree({name: text.encode() for name, text in files.items()})
    for tree in (WorkTree(repo.root), memory):
        named = deployer_scope._named_charts(tree, "\n".join(charts))
        assert named == {"charts/paths", "charts/named"}, tree
