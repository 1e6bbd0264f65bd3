"""Red team s24 round 18 (trust18): what CI, Argo CD and the runners really run."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Run
from tests.test_gate_attack_s23 import _blocking, _pull_request

_WORKFLOW = """\
name: ci
on: {push: {branches: [main]}}
permissions: {contents: read}
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
    - uses: actions/checkout@v4
    - run: |
        %s
"""
_DEPLOY = "#!/bin/sh\nset -e\nkubectl --context prod apply -f k8s/\n"
_SCRIPTS = {
    "hack/deploy.sh": _DEPLOY,
    "hack/run-deploy": _DEPLOY,
    "ci/lint.sh": "#!/bin/sh\necho lint ok\n",
    "ci/Makefile": "all:\n\tfind ../hack -name '*.sh' -exec sh {} \\;\n",
    "tools/outer.sh": "#!/bin/sh\nls hack/*.sh | xargs -n1 bash\n",
}


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        ('find hack -name "*.sh" -exec bash {} \\;', [("WF-GITOPS-IMPERATIVE-DEPLOY", 3)]),
        ('find hack -name "*.sh" -exec sh {} +', [("WF-GITOPS-IMPERATIVE-DEPLOY", 3)]),
        ('find hack -name "*.sh" -exec {} \\;', [("WF-GITOPS-IMPERATIVE-DEPLOY", 3)]),
        ('find . -path "./hack/*.sh" -execdir bash {} \\;', [("WF-GITOPS-IMPERATIVE-DEPLOY", 3)]),
        ('find hack -name "*.sh" | xargs -n1 bash', [("WF-GITOPS-IMPERATIVE-DEPLOY", 3)]),
        ("ls hack/*.sh | xargs -n 1 bash", [("WF-GITOPS-IMPERATIVE-DEPLOY", 3)]),
        ("ls hack/*.sh | xargs -I{} sh {}", [("WF-GITOPS-IMPERATIVE-DEPLOY", 3)]),
        ("ls hack/*.sh | xargs -I % ./%", [("WF-GITOPS-IMPERATIVE-DEPLOY", 3)]),
        ("ls hack/*.sh | parallel bash", [("WF-GITOPS-IMPERATIVE-DEPLOY", 3)]),
        ("run-parts hack", [("WF-GITOPS-IMPERATIVE-DEPLOY", 3)]),
        ("run-parts --regex '.*' hack/", [("WF-GITOPS-IMPERATIVE-DEPLOY", 3)] * 2),
        ("make -C ci", [("WF-GITOPS-IMPERATIVE-DEPLOY", 3)]),
        ("bash tools/outer.sh", [("WF-GITOPS-IMPERATIVE-DEPLOY", 3)]),
        # controls: linted, syntax-checked, listed, another folder's harmless script
        ('find . -name "*.sh" -exec shellcheck {} \\;', []),
        ('find hack -name "*.sh" -exec bash -n {} \\;', []),
        ('find ci -name "*.sh" | xargs -n1 bash', []),
        ("run-parts --test hack", []),
        ("run-parts ci", []),
        ('find hack -name "*.yaml" | xargs -n1 bash', []),
    ],
)
def test_scripts_run_by_find_xargs_parallel_run_parts_are_followed(
    tmp_path: Path, gatekeeper: Callable[..., Run], run: str, expected: list[tuple[str, int]]
) -> None:
    """c01: a step running the repository's deploy script through `find -exec`, `xargs`,
    `parallel` on stdin or `run-parts` ran its kubectl apply unread (green)."""
    base = {**_SCRIPTS, ".github/workflows/ci.yml": _WORKFLOW % "echo test"}
    _pull_request(tmp_path, base, {".github/workflows/ci.yml": _WORKFLOW % run})
    found = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _blocking(found) == expected, found.stdout


def test_more_files_fed_than_are_followed_is_opaque(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """Past the cap of scripts followed, `find -exec bash {}` is opaque at its line."""
    from gatekeeper.sources.workflow_scripts import MAX_GLOBBED

    fillers = {f"hack/a{n:03}.sh": "#!/bin/sh\necho ok\n" for n in range(MAX_GLOBBED + 1)}
    base = {**fillers, ".github/workflows/ci.yml": _WORKFLOW % "echo test"}
    run = 'find hack -name "*.sh" -exec bash {} \\;'
    _pull_request(tmp_path, base, {".github/workflows/ci.yml": _WORKFLOW % run})
    found = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _blocking(found) == [("WF-GITOPS-IMPERATIVE-DEPLOY", 10)], found.stdout


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        ("kubie exec prod default kubectl apply -f k8s/", [("WF-GITOPS-IMPERATIVE-DEPLOY", 10)]),
        ("rancher kubectl apply -f k8s/", [("WF-GITOPS-IMPERATIVE-DEPLOY", 10)]),
        ("sops exec-env s.env 'kubectl apply -f k8s/'", [("WF-GITOPS-IMPERATIVE-DEPLOY", 10)]),
        (
            "crossplane xpkg install provider xpkg.upbound.io/x/p:v1",
            [("WF-GITOPS-IMPERATIVE-DEPLOY", 10)],
        ),
        ("kubectl crossplane install provider x/p:v1", [("WF-GITOPS-IMPERATIVE-DEPLOY", 10)]),
        ("kubecfg --context prod update k8s/main.jsonnet", [("WF-GITOPS-IMPERATIVE-DEPLOY", 10)]),
        (
            "clusterctl --kubeconfig prod init --infrastructure aws",
            [("WF-GITOPS-IMPERATIVE-DEPLOY", 10)],
        ),
        ("kops update cluster --name prod.k8s.local --yes", [("WF-GITOPS-IMPERATIVE-DEPLOY", 10)]),
        ("operator-sdk run bundle quay.io/acme/b:v1", [("WF-GITOPS-IMPERATIVE-DEPLOY", 10)]),
        (
            "flux bootstrap github --owner acme --repository fleet",
            [("WF-GITOPS-IMPERATIVE-DEPLOY", 10)],
        ),
        ("talosctl -n 10.0.0.2 apply-config --file cp.yaml", [("WF-GITOPS-IMPERATIVE-DEPLOY", 10)]),
        ("ct install --charts charts/app", [("WF-GITOPS-IMPERATIVE-DEPLOY", 10)]),
        # controls: read-only, build-only, dry runs and exports of the same CLIs
        ("kubie exec prod default kubectl get pods", []),
        ("crossplane xpkg build -f package", []),
        ("kubecfg show k8s/main.jsonnet", []),
        ("kops update cluster --name prod.k8s.local", []),
        ("flux install --export", []),
        ("clusterctl generate cluster c1", []),
        ("ct lint --charts charts/app", []),
    ],
)
def test_cluster_clis_that_apply_are_deploys(
    tmp_path: Path, gatekeeper: Callable[..., Run], run: str, expected: list[tuple[str, int]]
) -> None:
    """c02: kubectl behind kubie/rancher/sops, and cluster installers the rule did not know
    (crossplane, kubecfg, clusterctl, kops --yes, operator-sdk, flux bootstrap, talosctl,
    ct install), deployed from CI with a green check."""
    base = {".github/workflows/ci.yml": _WORKFLOW % "echo test"}
    _pull_request(tmp_path, base, {".github/workflows/ci.yml": _WORKFLOW % run})
    found = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _blocking(found) == expected, found.stdout


_PR_JOB = """\
name: ci
on: [pull_request]
permissions: {contents: read}
jobs:
  test:
%s    steps:
    - run: make test
"""


@pytest.mark.parametrize(
    ("job", "expected"),
    [
        ("    runs-on: [linux, x64]\n", [("WF-SELF-HOSTED-PR", 6)]),
        ("    runs-on: Linux\n", [("WF-SELF-HOSTED-PR", 6)]),
        ("    runs-on: {group: ci-runners}\n", [("WF-SELF-HOSTED-PR", 6)]),
        ("    runs-on: {group: ci, labels: [gpu]}\n", [("WF-SELF-HOSTED-PR", 6)]),
        (
            "    strategy: {matrix: {r: [[self-hosted, gpu]]}}\n    runs-on: ${{ matrix.r }}\n",
            [("WF-SELF-HOSTED-PR", 7)],
        ),
        (
            "    strategy: {matrix: {include: [{r: {group: ci}}]}}\n    runs-on: ${{ matrix.r }}\n",
            [("WF-SELF-HOSTED-PR", 7)],
        ),
        (
            "    runs-on: ${{ github.event_name == 'pull_request' && 'self-hosted' || 'x' }}\n",
            [("WF-SELF-HOSTED-PR", 6)],
        ),
        ("    runs-on: ${{ format('{0}-hosted', 'self') }}\n", [("WF-SELF-HOSTED-PR", 6)]),
        # controls: GitHub-hosted runners, larger runners, a runner forks do not get
        ("    runs-on: [ubuntu-latest]\n", []),
        ("    runs-on: {group: larger, labels: [ubuntu-22.04-16core]}\n", []),
        (
            "    strategy: {matrix: {os: [ubuntu-latest, macos-14]}}\n"
            "    runs-on: ${{ matrix.os }}\n",
            [],
        ),
        (
            "    runs-on: ${{ github.event.pull_request.head.repo.full_name == github.repository"
            " && 'self-hosted' || 'ubuntu-latest' }}\n",
            [],
        ),
    ],
)
def test_self_hosted_runners_without_the_label_are_seen(
    tmp_path: Path, gatekeeper: Callable[..., Run], job: str, expected: list[tuple[str, int]]
) -> None:
    """c03: a pull_request job on a self-hosted runner picked by its default labels, a
    runner group, a list or mapping matrix value or an expression's literals was green."""
    base = {".github/workflows/ci.yml": _PR_JOB % "    runs-on: ubuntu-latest\n"}
    _pull_request(tmp_path, base, {".github/workflows/ci.yml": _PR_JOB % job})
    found = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _blocking(found) == expected, found.stdout


_SKAFFOLD = """\
name: ci
on: {push: {branches: [main]}}
permissions: {contents: read}
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
    - uses: hiberbee/github-action-skaffold@000d774fcd95cbc476aaf90ace63d23c7400b385
      with: {%s}
"""


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            'entrypoint: helm, args: "upgrade --install web charts/web -n prod"',
            [("WF-GITOPS-IMPERATIVE-DEPLOY", 9)],
        ),
        ('ENTRYPOINT: helm, args: "uninstall web"', [("WF-GITOPS-IMPERATIVE-DEPLOY", 9)]),
        # controls: skaffold building, helm rendering
        ("entrypoint: skaffold, args: build", []),
        ('entrypoint: helm, args: "template web charts/web"', []),
    ],
)
def test_an_action_entrypoint_names_the_program(
    tmp_path: Path, gatekeeper: Callable[..., Run], given: str, expected: list[tuple[str, int]]
) -> None:
    """c04: hiberbee's skaffold action with `entrypoint: helm` ran `helm upgrade` read as
    `skaffold upgrade` (trust16's open c10), a green check."""
    base = {".github/workflows/ci.yml": _WORKFLOW % "echo test"}
    _pull_request(tmp_path, base, {".github/workflows/ci.yml": _SKAFFOLD % given})
    found = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _blocking(found) == expected, found.stdout


_RUNNER_FILES = {
    "hack/deploy.sh": _DEPLOY,
    "ci/scripts.list": "hack/deploy.sh\n",
    "Makefile": "test:\n\techo ok\n",
    "ops/deploy.mk": "deploy:\n\tkubectl --context prod apply -f k8s/\nlint:\n\techo lint\n",
    "ops/Makefile": "deploy:\n\tkubectl --context prod apply -f k8s/\n",
    "package.json": '{"name": "root", "private": true, "workspaces": ["packages/*"],\n'
    ' "scripts": {"test": "echo ok"}}\n',
    "packages/ops/package.json": '{"name": "ops",\n'
    ' "scripts": {"deploy": "kubectl --context prod apply -f k8s/", "test": "jest"}}\n',
    "packages/web/package.json": '{"name": "web", "scripts": {"build": "vite build"}}\n',
}


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        ("make --file=ops/deploy.mk deploy", [("WF-GITOPS-IMPERATIVE-DEPLOY", 2)]),
        ("make -fops/deploy.mk deploy", [("WF-GITOPS-IMPERATIVE-DEPLOY", 2)]),
        ("make -Cops deploy", [("WF-GITOPS-IMPERATIVE-DEPLOY", 2)]),
        ("make --directory=ops deploy", [("WF-GITOPS-IMPERATIVE-DEPLOY", 2)]),
        ("npm --prefix=packages/ops run deploy", [("WF-GITOPS-IMPERATIVE-DEPLOY", 2)]),
        ("npm run deploy --workspace=ops", [("WF-GITOPS-IMPERATIVE-DEPLOY", 2)]),
        ("npm run deploy -w packages/ops", [("WF-GITOPS-IMPERATIVE-DEPLOY", 2)]),
        ("npm run deploy --workspaces", [("WF-GITOPS-IMPERATIVE-DEPLOY", 2)]),
        ("yarn workspace ops deploy", [("WF-GITOPS-IMPERATIVE-DEPLOY", 2)]),
        ("yarn workspaces foreach -A run deploy", [("WF-GITOPS-IMPERATIVE-DEPLOY", 2)]),
        ("pnpm --filter ops deploy", [("WF-GITOPS-IMPERATIVE-DEPLOY", 2)]),
        ("pnpm -r deploy", [("WF-GITOPS-IMPERATIVE-DEPLOY", 2)]),
        ("xargs -a ci/scripts.list -n1 bash", [("WF-GITOPS-IMPERATIVE-DEPLOY", 3)]),
        ('git ls-files "hack/*.sh" | xargs -n1 bash', [("WF-GITOPS-IMPERATIVE-DEPLOY", 3)]),
        (
            'for s in $(find hack -name "*.sh"); do bash "$s"; done',
            [("WF-GITOPS-IMPERATIVE-DEPLOY", 3)],
        ),
        ("for s in $(ls hack/*.sh); do ./$s; done", [("WF-GITOPS-IMPERATIVE-DEPLOY", 3)]),
        ('bash "$GITHUB_WORKSPACE/hack/deploy.sh"', [("WF-GITOPS-IMPERATIVE-DEPLOY", 3)]),
        (
            'bash "$(git rev-parse --show-toplevel)/hack/deploy.sh"',
            [("WF-GITOPS-IMPERATIVE-DEPLOY", 3)],
        ),
        ("ls hack | xargs -I{} bash hack/{}", [("WF-GITOPS-IMPERATIVE-DEPLOY", 3)]),
        ("cd hack && ls | xargs -n1 bash", [("WF-GITOPS-IMPERATIVE-DEPLOY", 3)]),
        (
            "find hack -name '*.sh' -exec sh -c 'bash \"$1\"' _ {} \\;",
            [("WF-GITOPS-IMPERATIVE-DEPLOY", 3)],
        ),
        (
            "sh -c 'kubectl --context prod \"$@\"' _ apply -f k8s/",
            [("WF-GITOPS-IMPERATIVE-DEPLOY", 10)],
        ),
        (
            "find hack -name '*.sh' | while read -r f; do bash \"$f\"; done",
            [("WF-GITOPS-IMPERATIVE-DEPLOY", 3)],
        ),
        ("git ls-files '*.sh' | while read -r f; do shellcheck \"$f\"; done", []),
        (
            'while read -r s; do bash "$s"; done < ci/scripts.list',
            [("WF-GITOPS-IMPERATIVE-DEPLOY", 3)],
        ),
        ('while read -r s; do echo "$s"; done < ci/scripts.list', []),
        (
            "while read -r s; do bash \"$s\"; done < <(find hack -name '*.sh')",
            [("WF-GITOPS-IMPERATIVE-DEPLOY", 3)],
        ),
        # controls: another target, tests of every workspace, another workspace, a lint
        ("make --file=ops/deploy.mk lint", []),
        ("npm test --workspaces", []),
        ("pnpm --filter web build", []),
        ("yarn workspace ops test", []),
        ('git ls-files "*.yaml" | xargs -n1 yamllint', []),
    ],
)
def test_script_runners_own_ways_to_name_files_are_read(
    tmp_path: Path, gatekeeper: Callable[..., Run], run: str, expected: list[tuple[str, int]]
) -> None:
    """c05: make's --file=/-fX/-CX/--directory=, npm's --prefix= and workspaces (npm -w,
    yarn workspace, pnpm --filter), xargs -a, git ls-files, a loop over $(find ...) and a
    script under $GITHUB_WORKSPACE ran the deploy unread (green)."""
    base = {**_RUNNER_FILES, ".github/workflows/ci.yml": _WORKFLOW % "echo test"}
    _pull_request(tmp_path, base, {".github/workflows/ci.yml": _WORKFLOW % run})
    found = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _blocking(found) == expected, found.stdout


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
      valueFiles: [$values/envs/prod/values.yaml]
%s
  - repoURL: https://github.com/acme/deploy.git
    targetRevision: main
    ref: values
"""
_LISTED = "sources:\n  gitops:\n    repoURLs: [https://github.com/acme/deploy.git]\n"


def _file_parameter(name: str, path: str) -> str:
    return f"      fileParameters: [{{name: '{name}', path: {path}}}]"


@pytest.mark.parametrize(
    ("parameter", "files", "expected"),
    [
        (
            _file_parameter("controller.hostNetwork", "$values/envs/prod/hn.txt"),
            {"envs/prod/hn.txt": "true\n"},
            [("GK-REMOTE-CHART-VALUES", "envs/prod/hn.txt", 1)],
        ),
        (
            _file_parameter(
                "controller.containerSecurityContext.capabilities.add[0]", "$values/cap.txt"
            ),
            {"cap.txt": "SYS_ADMIN"},
            [("GK-REMOTE-CHART-VALUES", "cap.txt", 1)],
        ),
        # controls: false, another value, a file of the chart itself
        (_file_parameter("controller.hostNetwork", "$values/hn.txt"), {"hn.txt": "false\n"}, []),
        (_file_parameter("controller.extraArgs.cert", "$values/c.pem"), {"c.pem": "x"}, []),
        (_file_parameter("controller.hostNetwork", "files/hn.txt"), {}, []),
    ],
)
def test_file_parameters_of_a_remote_chart_are_read(
    tmp_path: Path,
    gatekeeper: Callable[..., Run],
    parameter: str,
    files: dict[str, str],
    expected: list[tuple[str, str, int]],
) -> None:
    """c06: an Application of a chart-repository chart setting `controller.hostNetwork`
    from a `$values/...` file (`--set-file`: Argo CD resolves the reference there) was
    green."""
    base = {
        ".gatekeeper.yml": _LISTED,
        "envs/prod/values.yaml": "controller: {replicaCount: 2}\n",
        "apps/ingress.yaml": _MULTI_SOURCE % "",
    }
    head = {**files, "apps/ingress.yaml": _MULTI_SOURCE % parameter}
    _pull_request(tmp_path, base, head)
    found = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert found.returncode in (0, 1), found.stderr
    blocking = [
        (f["policy_id"], f["file"], f["line"])
        for f in json.loads(found.stdout)["findings"]
        if f["blocking"]
    ]
    assert blocking == expected, found.stdout


def test_a_file_parameter_file_changed_alone_is_judged(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """c06: the pull request changes only the file a fileParameter reads (false -> true)."""
    parameter = _file_parameter("controller.hostNetwork", "$values/envs/prod/hn.txt")
    base = {
        ".gatekeeper.yml": _LISTED,
        "envs/prod/values.yaml": "controller: {replicaCount: 2}\n",
        "envs/prod/hn.txt": "false\n",
        "apps/ingress.yaml": _MULTI_SOURCE % parameter,
    }
    _pull_request(tmp_path, base, {"envs/prod/hn.txt": "true\n"})
    found = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _blocking(found) == [("GK-REMOTE-CHART-VALUES", 1)], found.stdout


def test_the_hook_on_a_file_parameter_file_judges_its_application(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """c06: `scan --hook envs/prod/hn.txt` (a `--set-file` value of a remote chart) judged
    nothing: only YAML and JSON files were looked up as values of an Application."""
    parameter = _file_parameter("controller.hostNetwork", "$values/envs/prod/hn.txt")
    _pull_request(
        tmp_path,
        {
            ".gatekeeper.yml": _LISTED,
            "envs/prod/values.yaml": "controller: {replicaCount: 2}\n",
            "envs/prod/hn.txt": "true\n",
            "apps/ingress.yaml": _MULTI_SOURCE % parameter,
        },
        {},
    )
    found = gatekeeper("scan", "--hook", "envs/prod/hn.txt", "--format", "json", cwd=tmp_path)
    assert found.returncode == 1, found.stdout
    codes = {(f["policy_id"], f["file"]) for f in json.loads(found.stdout)["findings"]}
    assert ("GK-REMOTE-CHART-VALUES", "envs/prod/hn.txt") in codes, found.stdout


_CALLER = """\
name: ci
on: [pull_request]
permissions: {contents: read}
jobs:
  build:
    uses: ./.github/workflows/build.yml
%s"""
_CALLEE = """\
name: build
on:
  workflow_call:
    inputs:
      runner: {type: string, default: ubuntu-latest}
permissions: {contents: read}
jobs:
  build:
%s    runs-on: %s
    steps:
    - run: make build
"""


@pytest.mark.parametrize(
    ("given", "guard", "runs_on", "expected"),
    [
        ("    with: {runner: self-hosted}\n", "", "${{ inputs.runner }}", [5]),
        (
            '    with: {runner: \'["self-hosted", "gpu"]\'}\n',
            "",
            "${{ fromJSON(inputs.runner) }}",
            [5],
        ),
        ("", "", "[self-hosted, linux]", [5]),
        # controls: a GitHub-hosted runner passed; the callee's job guarded against forks
        ("    with: {runner: ubuntu-latest}\n", "", "${{ inputs.runner }}", []),
        (
            "",
            "    if: github.event.pull_request.head.repo.full_name == github.repository\n",
            "[self-hosted]",
            [],
        ),
    ],
)
def test_a_called_workflow_runs_on_the_callers_event(
    tmp_path: Path,
    gatekeeper: Callable[..., Run],
    given: str,
    guard: str,
    runs_on: str,
    expected: list[int],
) -> None:
    """c08: a pull_request workflow calling a local reusable workflow whose job runs on a
    self-hosted runner (its own label, or the runner the caller passes) was green."""
    base = {".github/workflows/ci.yml": "name: ci\non: [push]\njobs: {}\n"}
    head = {
        ".github/workflows/ci.yml": _CALLER % given,
        ".github/workflows/build.yml": _CALLEE % (guard, runs_on),
    }
    _pull_request(tmp_path, base, head)
    found = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _blocking(found) == [("WF-SELF-HOSTED-PR", line) for line in expected], found.stdout


def test_a_callee_changed_alone_judges_its_caller(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """c08: the pull request changes only the called workflow's runner to a self-hosted
    one; the caller (whose event forks start) was not judged again."""
    base = {
        ".github/workflows/ci.yml": _CALLER % "",
        ".github/workflows/build.yml": _CALLEE % ("", "ubuntu-latest"),
    }
    _pull_request(
        tmp_path, base, {".github/workflows/build.yml": _CALLEE % ("", "[self-hosted, linux]")}
    )
    found = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _blocking(found) == [("WF-SELF-HOSTED-PR", 5)], found.stdout


_GITLAB = "test:\n  script:\n    - echo test\n    - |\n      %s\n"


@pytest.mark.parametrize(
    "run",
    [
        'find hack -name "*.sh" -exec bash {} \\;',
        "ls hack/*.sh | xargs -n1 bash",
        'bash "$CI_PROJECT_DIR/hack/deploy.sh"',
    ],
)
def test_gitlab_jobs_follow_the_same_script_runners(
    tmp_path: Path, gatekeeper: Callable[..., Run], run: str
) -> None:
    """c12: the same runners in a GitLab job's script (shared shell parsing)."""
    base = {"hack/deploy.sh": _DEPLOY, ".gitlab-ci.yml": _GITLAB % "echo test"}
    _pull_request(tmp_path, base, {".gitlab-ci.yml": _GITLAB % run})
    found = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _blocking(found) == [("WF-GITOPS-IMPERATIVE-DEPLOY", 3)], found.stdout


def test_a_workflow_called_two_levels_down_runs_on_the_callers_event(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """c08: ci -> build.yml -> inner.yml, the runner passed down as an input, was green."""
    base = {".github/workflows/ci.yml": "name: ci\non: [push]\njobs: {}\n"}
    head = {
        ".github/workflows/ci.yml": _CALLER % "",
        ".github/workflows/build.yml": "name: build\non: {workflow_call: {}}\njobs:\n"
        "  inner:\n    uses: ./.github/workflows/inner.yml\n    with: {runner: self-hosted}\n",
        ".github/workflows/inner.yml": "name: inner\n"
        "on: {workflow_call: {inputs: {runner: {type: string}}}}\njobs:\n"
        "  run:\n    runs-on: ${{ inputs.runner }}\n    steps: [{run: make}]\n",
    }
    _pull_request(tmp_path, base, head)
    found = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _blocking(found) == [("WF-SELF-HOSTED-PR", 5)], found.stdout
