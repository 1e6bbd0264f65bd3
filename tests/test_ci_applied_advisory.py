"""A manifest in an advisory path (test/, docs/) that CI applies to a cluster blocks like any
other: what kubectl applies outside a throwaway cluster is what the cluster gets (red team
s18 z03: a team applying from CI, with the imperative-deploy rule disabled, got a privileged
Pod under test/ deployed on a green check)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Run, git_in

# A team that applies from CI has turned the imperative-deploy rule off.
IMPERATIVE_OFF = {".gatekeeper.yml": "disable: [WF-GITOPS-IMPERATIVE-DEPLOY]\n"}


SKAFFOLD = "apiVersion: skaffold/v4beta11\nkind: Config\nmanifests:\n  rawYaml:\n    - m/*.yaml\n"


def _pod(privileged: str) -> str:
    return (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: team\nspec:\n"
        "  containers:\n    - name: app\n      image: ghcr.io/acme/app:1.0\n"
        f"      securityContext:\n        privileged: {privileged}\n"
    )


def _workflow(*lines: str) -> str:
    steps = "".join(f"      - run: {line}\n" for line in lines)
    return (
        "on: push\npermissions:\n  contents: read\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n"
        "    steps:\n" + steps
    )


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def _privileged(run: Run) -> list[tuple[str, bool]]:
    findings = json.loads(run.stdout)["findings"]
    return [(f["file"], f["blocking"]) for f in findings if f["policy_id"] == "K8S-PSS-PRIVILEGED"]


@pytest.mark.parametrize(
    ("files", "blocks"),
    [
        # CI applies the folder: its findings block
        ({".github/workflows/d.yml": _workflow("kubectl apply -f test/m/")}, True),
        # through a Makefile target CI runs
        (
            {
                ".github/workflows/d.yml": _workflow("make deploy"),
                "Makefile": "deploy:\n\tkubectl apply -f test/m/app.yaml\n",
            },
            True,
        ),
        # a job that tests against a throwaway cluster only: still advisory
        (
            {
                ".github/workflows/d.yml": _workflow(
                    "kind create cluster", "kubectl apply -f test/m/"
                )
            },
            False,
        ),
        # ... but a kubectl aimed at another cluster there applies to that one (red team z05)
        (
            {
                ".github/workflows/d.yml": _workflow(
                    "kind create cluster", "kubectl --context prod apply -f test/m/"
                )
            },
            True,
        ),
        # kubectl takes a folder's own files: a subfolder's are not applied...
        ({".github/workflows/d.yml": _workflow("kubectl apply -f test/")}, False),
        # ... unless -R
        ({".github/workflows/d.yml": _workflow("kubectl apply -R -f test/")}, True),
        # a build piped to kubectl, kapp (reads below a folder)
        (
            {
                ".github/workflows/d.yml": _workflow("kustomize build test/m | kubectl apply -f -"),
                "test/m/kustomization.yaml": "resources:\n  - app.yaml\n",
            },
            True,
        ),
        ({".github/workflows/d.yml": _workflow("kapp deploy -y -a app -f test/")}, True),
        # nothing applies it
        ({".github/workflows/d.yml": _workflow("kubectl apply -f deploy/")}, False),
        # the repository's own file by its raw URL: applied once merged (red team s21 trust14)
        (
            {
                ".github/workflows/d.yml": _workflow(
                    "kubectl apply -f https://raw.githubusercontent.com/acme/ops/main/test/m/app.yaml"
                )
            },
            True,
        ),
        (
            {
                ".github/workflows/d.yml": _workflow(
                    "kubectl apply -f https://github.com/acme/ops/raw/v1.2/test/m/app.yaml"
                )
            },
            True,
        ),
        # a raw URL of a path this repository does not hold applies nothing of it
        (
            {
                ".github/workflows/d.yml": _workflow(
                    "kubectl apply -f https://raw.githubusercontent.com/acme/ops/main/test/app.yaml"
                )
            },
            False,
        ),
        # skaffold applies the manifests its config names (s18 trust11 w02), from its folder
        (
            {
                ".github/workflows/d.yml": _workflow("skaffold run -f test/skaffold.yaml"),
                "test/skaffold.yaml": SKAFFOLD,
            },
            True,
        ),
        (
            {
                ".github/workflows/d.yml": _workflow("cd test && skaffold deploy"),
                "test/skaffold.yaml": SKAFFOLD,
            },
            True,
        ),
        # ... and only when it deploys
        (
            {
                ".github/workflows/d.yml": _workflow("skaffold render -f test/skaffold.yaml"),
                "test/skaffold.yaml": SKAFFOLD,
            },
            False,
        ),
    ],
)
def test_ci_applied_advisory_file_blocks(
    tmp_path: Path, gatekeeper: Callable[..., Run], files: dict[str, str], blocks: bool
) -> None:
    _write(tmp_path, {"test/m/app.yaml": _pod("true"), "deploy/x.txt": "", **IMPERATIVE_OFF})
    _write(tmp_path, files)
    git_in(tmp_path, "init", "-q")
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "x")
    run = gatekeeper("scan", ".", "--format", "json", cwd=tmp_path)
    assert _privileged(run) == [("test/m/app.yaml", blocks)]
    assert run.returncode == (1 if blocks else 0), run.stdout[-2000:]


def test_ci_applied_kustomization_in_advisory_path_blocks(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """`kubectl apply -k test/overlay`: the overlay's build is what the cluster gets."""
    _write(
        tmp_path,
        {
            "test/base/pod.yaml": _pod("true"),
            "test/base/kustomization.yaml": "resources:\n  - pod.yaml\n",
            "test/overlay/kustomization.yaml": "resources:\n  - ../base\n",
            ".github/workflows/d.yml": _workflow("kubectl apply -k test/overlay"),
            **IMPERATIVE_OFF,
        },
    )
    git_in(tmp_path, "init", "-q")
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "x")
    run = gatekeeper("scan", ".", "--format", "json", cwd=tmp_path)
    assert ("test/base/pod.yaml", True) in _privileged(run)
    assert run.returncode == 1


def test_pull_request_making_a_ci_applied_test_manifest_privileged_blocks(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """The base's CI applies test/m/ (the imperative-deploy rule disabled); the pull request
    changes only the manifest there."""
    _write(
        tmp_path,
        {
            "test/m/app.yaml": _pod("false"),
            ".github/workflows/d.yml": _workflow("./deploy.sh"),
            "deploy.sh": "#!/bin/sh\nkubectl apply -f test/m/\n",
            **IMPERATIVE_OFF,
        },
    )
    git_in(tmp_path, "init", "-q", "-b", "main")
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "base")
    git_in(tmp_path, "checkout", "-qb", "pr")
    _write(tmp_path, {"test/m/app.yaml": _pod("true")})
    git_in(tmp_path, "commit", "-qam", "privileged")
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _privileged(run) == [("test/m/app.yaml", True)]
    assert run.returncode == 1


def test_pull_request_adding_the_ci_apply_makes_an_advisory_finding_new(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """The privileged manifest was in test/ already (advisory); the pull request adds the CI
    step that applies it: it did not block in the base, it blocks here."""
    _write(
        tmp_path,
        {
            "test/m/app.yaml": _pod("true"),
            ".github/workflows/d.yml": _workflow("echo hi"),
            **IMPERATIVE_OFF,
        },
    )
    git_in(tmp_path, "init", "-q", "-b", "main")
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "base")
    git_in(tmp_path, "checkout", "-qb", "pr")
    _write(tmp_path, {".github/workflows/d.yml": _workflow("kubectl apply -f test/m/")})
    git_in(tmp_path, "commit", "-qam", "apply the test manifests")
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    findings = json.loads(run.stdout)["findings"]
    privileged = [f for f in findings if f["policy_id"] == "K8S-PSS-PRIVILEGED"]
    assert [(f["file"], f["blocking"], f["status"]) for f in privileged] == [
        ("test/m/app.yaml", True, "new")
    ]
    assert "did not block in the base (in an advisory path)" in privileged[0]["message"]
    assert run.returncode == 1


@pytest.mark.parametrize(
    ("command", "blocks"),
    [
        ("helmfile -f test/helmfile.yaml apply", True),
        ("helmfile -f test/helmfile.yaml diff", False),
    ],
)
def test_ci_applied_helmfile_in_advisory_path_blocks(
    tmp_path: Path, gatekeeper: Callable[..., Run], command: str, blocks: bool
) -> None:
    """A helmfile under test/ that CI applies deploys its releases' charts (s18 trust11 w02)."""
    _write(
        tmp_path,
        {
            **IMPERATIVE_OFF,
            ".github/workflows/d.yml": _workflow(command),
            "test/helmfile.yaml": "releases:\n  - name: m\n    chart: ./chart\n",
            "test/chart/Chart.yaml": "apiVersion: v2\nname: m\nversion: 0.1.0\n",
            "test/chart/templates/pod.yaml": _pod("true"),
        },
    )
    git_in(tmp_path, "init", "-q")
    run = gatekeeper("scan", ".", "--format", "json", cwd=tmp_path)
    privileged = _privileged(run)
    assert privileged and all(blocking == blocks for _, blocking in privileged), privileged
    assert run.returncode == (1 if blocks else 0), run.stdout[-1500:]


def test_a_vendored_modules_manifest_informs_unless_ci_applies_it(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """`go mod vendor` copies other modules whole below their module paths (knative/serving:
    k8s.io/apimachinery's test pod, vegeta's Dockerfile, 22 blocking findings in vendor/):
    nothing of this repository deploys them, so they inform. Applied by CI, the file blocks
    as any other."""
    files = {
        **IMPERATIVE_OFF,
        "go.mod": "module example.com/app\n\ngo 1.22\n",
        "vendor/modules.txt": "# example.com/lib v1.0.0\n## explicit\nexample.com/lib\n",
        "vendor/example.com/lib/pod.yaml": _pod("true"),
    }
    _write(tmp_path, files)
    git_in(tmp_path, "init", "-q")
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "x")
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    assert _privileged(run) == [("vendor/example.com/lib/pod.yaml", False)]
    # A folder of vendor/ that is no module path (a team's chart copy, vendor/web) counts.
    _write(tmp_path, {"vendor/web/pod.yaml": _pod("true")})
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "web")
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    assert _privileged(run) == [
        ("vendor/example.com/lib/pod.yaml", False),
        ("vendor/web/pod.yaml", True),
    ]
    (tmp_path / "vendor/web/pod.yaml").unlink()
    applying = _workflow("kubectl apply -f vendor/example.com/lib/pod.yaml")
    _write(tmp_path, {".github/workflows/d.yml": applying})
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "y")
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    assert _privileged(run) == [("vendor/example.com/lib/pod.yaml", True)]


def test_kyverno_s_test_folders_inform_unless_something_deploys_them(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """kyverno/policies keeps, beside each policy, the resources `kyverno test` checks
    offline (`.kyverno-test/resource.yaml`, pods meant to fail) and those Chainsaw applies to
    a test cluster (`.chainsaw-test/pod-bad.yaml`): 146,811 blocking findings, none on a
    policy. They inform; a CI `kubectl apply` of one (outside a throwaway cluster) blocks, and
    a pod beside the policy, outside those folders, blocks as before."""
    test = (
        "apiVersion: cli.kyverno.io/v1alpha1\nkind: Test\nmetadata: {name: t}\n"
        "policies: [../policy.yaml]\nresources: [resource.yaml]\n"
    )
    files = {
        **IMPERATIVE_OFF,
        "pod-security/disallow-privileged/.kyverno-test/kyverno-test.yaml": test,
        "pod-security/disallow-privileged/.kyverno-test/resource.yaml": _pod("true"),
        "pod-security/disallow-privileged/.chainsaw-test/pod-bad.yaml": _pod("true"),
    }
    _write(tmp_path, files)
    git_in(tmp_path, "init", "-q")
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "x")
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    assert _privileged(run) == [
        ("pod-security/disallow-privileged/.chainsaw-test/pod-bad.yaml", False),
        ("pod-security/disallow-privileged/.kyverno-test/resource.yaml", False),
    ]
    applying = _workflow("kubectl apply -f pod-security/disallow-privileged/.chainsaw-test/")
    _write(
        tmp_path,
        {
            ".github/workflows/d.yml": applying,
            "pod-security/disallow-privileged/pod.yaml": _pod("true"),
        },
    )
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "y")
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    assert _privileged(run) == [
        ("pod-security/disallow-privileged/.chainsaw-test/pod-bad.yaml", True),
        ("pod-security/disallow-privileged/.kyverno-test/resource.yaml", False),
        ("pod-security/disallow-privileged/pod.yaml", True),
    ]


def test_e2e_folders_inform_unless_something_deploys_them(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """external-dns' e2e/ (a demo app and the CoreDNS its e2e job applies to a kind
    cluster) and keda's config/e2e patches: 30 blocking findings, nothing deploys them.
    They inform; a CI `kubectl apply` of one outside a throwaway cluster blocks, and a pod
    in a folder merely named like it (`e2e-demo/`) blocks as before."""
    files = {**IMPERATIVE_OFF, "e2e/pod.yaml": _pod("true"), "e2e-demo/pod.yaml": _pod("true")}
    _write(tmp_path, files)
    git_in(tmp_path, "init", "-q")
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "x")
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    assert _privileged(run) == [("e2e-demo/pod.yaml", True), ("e2e/pod.yaml", False)]
    _write(tmp_path, {".github/workflows/d.yml": _workflow("kubectl apply -f e2e/")})
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "y")
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    assert _privileged(run) == [("e2e-demo/pod.yaml", True), ("e2e/pod.yaml", True)]


def test_documentation_informs_also_through_a_link_to_deployed_files(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """strimzi's documentation/ links its book's folders to the install files
    (documentation/modules/install -> ../../packaging/install), and each install finding
    blocked again at every linked path. documentation/ is docs under its long name: the
    install file blocks once, at its own path, and the linked copies inform."""
    _write(tmp_path, {"packaging/install/pod.yaml": _pod("true")})
    (tmp_path / "documentation/modules").mkdir(parents=True)
    (tmp_path / "documentation/modules/install").symlink_to("../../packaging/install")
    git_in(tmp_path, "init", "-q")
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "x")
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    assert _privileged(run) == [
        ("documentation/modules/install/pod.yaml", False),
        ("packaging/install/pod.yaml", True),
    ]


_KIND = "      - uses: helm/kind-action@a1b0e391336a6ee6713a0583f8c6240d70863de3  # v1.12.0\n"


@pytest.mark.parametrize(
    ("files", "blocks"),
    [
        # argo-helm: the chart-testing job's kind cluster gets a fixture of .github/configs/
        (
            {".github/workflows/d.yml": _workflow("kubectl apply -f .github/configs/pod.yaml")},
            False,
        ),
        ({".github/workflows/d.yml": _workflow("kubectl apply -f ./.github/configs/")}, False),
        # ... a job that applies it to another cluster too: it blocks
        (
            {
                ".github/workflows/d.yml": _workflow("kubectl apply -f .github/configs/pod.yaml"),
                ".github/workflows/e.yml": _workflow(
                    "aws eks update-kubeconfig --name prod", "kubectl apply -f .github/configs/"
                ),
            },
            True,
        ),
        # ... no CI applies it (microservices-demo's `.github/release-cluster/`): it blocks
        ({".github/workflows/d.yml": _workflow("kubectl apply -f .github/other.yaml")}, True),
    ],
)
def test_a_ci_fixture_only_a_throwaway_cluster_gets_informs(
    tmp_path: Path, gatekeeper: Callable[..., Run], files: dict[str, str], blocks: bool
) -> None:
    kind = "    steps:\n" + _KIND
    files = {
        name: text.replace("    steps:\n", kind) if name.endswith("d.yml") else text
        for name, text in files.items()
    }
    _write(tmp_path, {".github/configs/pod.yaml": _pod("true"), **IMPERATIVE_OFF, **files})
    git_in(tmp_path, "init", "-q")
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "x")
    run = gatekeeper("scan", ".", "--format", "json", cwd=tmp_path)
    assert _privileged(run) == [(".github/configs/pod.yaml", blocks)]
    assert run.returncode == (1 if blocks else 0), run.stdout[-2000:]


def test_a_manifest_outside_github_only_a_throwaway_cluster_gets_still_blocks(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """An e2e job applying `deploy/` to kind says nothing of where else it is deployed (an
    Argo CD of another repository): only CI's own folder holds fixtures; a pull request
    making the fixture privileged informs there too."""
    workflow = _workflow("kubectl apply -f deploy/pod.yaml", "kubectl apply -f .github/k/")
    _write(
        tmp_path,
        {
            "deploy/pod.yaml": _pod("true"),
            ".github/k/pod.yaml": _pod("false"),
            ".github/workflows/d.yml": workflow.replace("    steps:\n", "    steps:\n" + _KIND),
            **IMPERATIVE_OFF,
        },
    )
    git_in(tmp_path, "init", "-q", "-b", "main")
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "base")
    run = gatekeeper("scan", ".", "--format", "json", cwd=tmp_path)
    assert _privileged(run) == [("deploy/pod.yaml", True)]
    git_in(tmp_path, "checkout", "-qb", "pr")
    _write(tmp_path, {".github/k/pod.yaml": _pod("true")})
    git_in(tmp_path, "commit", "-qam", "privileged")
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _privileged(run) == [(".github/k/pod.yaml", False)]
    assert run.returncode == 0, run.stdout[-2000:]


def test_a_ci_fixture_s_network_policy_does_not_count_for_a_real_namespace(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """What a257d06 calls a fixture (a `.github/` manifest only a kind job applies) is out of
    the inventory as test data is: its NetworkPolicy for `team` does not make K8S-NETWORK-
    POLICY-PRESENT pass for the Deployment that deploy/ puts in `team` (it did before, when
    the file counted as deployed)."""
    policy = (
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: deny\n"
        "  namespace: team\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n"
    )
    deployment = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: team\n"
        "spec:\n  selector: {matchLabels: {app: web}}\n  template:\n"
        "    metadata: {labels: {app: web}}\n    spec:\n      containers:\n"
        "        - {name: web, image: ghcr.io/acme/web:1.0}\n"
    )
    workflow = _workflow("kubectl apply -f .github/configs/np.yaml")
    _write(
        tmp_path,
        {
            ".github/configs/np.yaml": policy,
            "deploy/web.yaml": deployment,
            ".github/workflows/d.yml": workflow.replace("    steps:\n", "    steps:\n" + _KIND),
            **IMPERATIVE_OFF,
        },
    )
    git_in(tmp_path, "init", "-q")
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "x")
    run = gatekeeper("scan", ".", "--format", "json", cwd=tmp_path)
    found = [
        (f["file"], f["blocking"])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == "K8S-NETWORK-POLICY-PRESENT"
    ]
    assert found == [("deploy/web.yaml", True)]
