"""What a workflow's `helm install|upgrade` of a local chart deploys is judged with its own
values files and --set values, even in the job allowed to deploy (red team r11 of session
10); a test install into a throwaway cluster deploys nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

import gatekeeper

TEMPLATE = """\
apiVersion: v1
kind: Pod
metadata: {name: app}
spec:
  containers:
    - name: app
      image: ghcr.io/acme/app:1.0
      securityContext:
        privileged: {{ .Values.privileged }}
"""
WORKFLOW = """\
on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683
      - run: >-
          helm upgrade --install app ./charts/app -n prod
          -f charts/app/values-prod.yaml --set privileged=true
"""
CONFIG = "params:\n  WF-GITOPS-IMPERATIVE-DEPLOY: {allowedJobs: [deploy]}\n"


def _repo(root: Path, workflow: str) -> list[tuple[str, str, int, str]]:
    files = {
        ".gatekeeper.yml": CONFIG,
        ".github/workflows/deploy.yml": workflow,
        "charts/app/Chart.yaml": "apiVersion: v2\nname: app\nversion: 0.1.0\n",
        "charts/app/values.yaml": "privileged: false\n",
        "charts/app/values-prod.yaml": "privileged: false\n",
        "charts/app/templates/pod.yaml": TEMPLATE,
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    report = gatekeeper.scan(root, root=root, jobs=1)
    return sorted(
        (f.policy_id, f.file, f.line, f.extra.get("values", ""))
        for f in report.verdict.findings
        if f.policy_id in ("K8S-PSS-PRIVILEGED", "WF-GITOPS-IMPERATIVE-DEPLOY")
    )


def test_the_allowed_deployers_set_values_are_rendered(tmp_path: Path) -> None:
    assert _repo(tmp_path, WORKFLOW) == [
        ("K8S-PSS-PRIVILEGED", "charts/app/templates/pod.yaml", 9, ".github/workflows/deploy.yml:8")
    ]


@pytest.mark.parametrize(
    "flag",
    [
        "--set-json 'privileged=true'",
        "--set-json 'a={\"b\":[1,2]},privileged=true'",
        "--set-literal privileged=true",  # the string "true": privileged: true as written
        "--set-file privileged=charts/app/on.txt",
    ],
)
def test_the_allowed_deployers_other_value_flags_are_rendered(tmp_path: Path, flag: str) -> None:
    """--set-json, --set-literal and --set-file set values as --set does (each typed as Helm
    types it, merged in Helm's order); only --set and --set-string were read, so the
    designated deployer's `--set-json privileged=true` passed."""
    (tmp_path / "charts" / "app").mkdir(parents=True)
    (tmp_path / "charts" / "app" / "on.txt").write_text("true")
    workflow = WORKFLOW.replace("--set privileged=true", flag)
    assert _repo(tmp_path, workflow) == [
        ("K8S-PSS-PRIVILEGED", "charts/app/templates/pod.yaml", 9, ".github/workflows/deploy.yml:8")
    ]


def test_value_flags_merge_in_helms_order(tmp_path: Path) -> None:
    """Helm merges --set-json first and --set-literal last, whatever their order on the line;
    a --set-json Helm cannot parse sets nothing."""
    last = WORKFLOW.replace(
        "--set privileged=true", "--set-literal privileged=true --set-json privileged=false"
    )
    assert [f[0] for f in _repo(tmp_path / "a", last)] == ["K8S-PSS-PRIVILEGED"]
    broken = WORKFLOW.replace("--set privileged=true", "--set-json 'privileged=tru'")
    assert _repo(tmp_path / "b", broken) == []


def test_a_test_install_into_kind_deploys_nothing(tmp_path: Path) -> None:
    kind = WORKFLOW.replace("      - run: >-", "      - uses: helm/kind-action@v1\n      - run: >-")
    assert _repo(tmp_path, kind) == []


PULL_REQUEST_WORKFLOW = """\
on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683
      - run: helm upgrade --install app ./charts/app -n prod -f deploy/values-prod.yaml
"""


def test_a_change_to_the_values_file_or_chart_alone_renders_the_release(tmp_path: Path) -> None:
    """The workflow reads its chart and `-f` values files (dependency edges): a pull request
    changing only `deploy/values-prod.yaml`, or only a template that those values switch on,
    rendered nothing with them and passed (red team s14 v02)."""
    from gatekeeper.change import scan_change
    from tests.test_change import Repo

    def privileged(repo: Repo) -> list[tuple[str, str]]:
        findings = scan_change(repo.root, "main").verdict.findings
        return [(f.file, f.status) for f in findings if f.policy_id == "K8S-PSS-PRIVILEGED"]

    for changed in ("deploy/values-prod.yaml", "charts/app/templates/pod.yaml"):
        repo = Repo(tmp_path / changed.replace("/", "-"))
        repo.write(".gatekeeper.yml", CONFIG)
        repo.write(".github/workflows/deploy.yml", PULL_REQUEST_WORKFLOW)
        repo.write("charts/app/Chart.yaml", "apiVersion: v2\nname: app\nversion: 0.1.0\n")
        repo.write("charts/app/values.yaml", "privileged: false\n")
        prod = "privileged: false\ndebug: true\n"
        repo.write("deploy/values-prod.yaml", prod)
        repo.write("charts/app/templates/pod.yaml", TEMPLATE)
        repo.commit("base")
        repo.branch("pr")
        if changed == "deploy/values-prod.yaml":
            repo.write(changed, prod.replace("privileged: false", "privileged: true"))
        else:
            debug = "{{ .Values.debug | default false }}"
            repo.write(changed, TEMPLATE.replace("{{ .Values.privileged }}", debug))
        repo.commit("the change")
        assert privileged(repo) == [("charts/app/templates/pod.yaml", "new")], changed


TEST_HOOK = """\
apiVersion: v1
kind: Pod
metadata:
  name: app-smoke
  annotations: {"helm.sh/hook": test}
spec:
  hostPID: true
  containers:
    - name: smoke
      image: ghcr.io/acme/smoke:1.0
"""


def test_a_release_ci_runs_helm_test_on_deploys_its_test_hooks(tmp_path: Path) -> None:
    """`helm test RELEASE` after the install creates the test hook pods in the cluster: they
    are judged as the workflow deploys them (red team s14 v01), and left out without it."""

    def host_pid(test: str) -> list[str]:
        root = tmp_path / str(len(test))
        (root / "charts/app/templates").mkdir(parents=True)
        (root / "charts/app/templates/smoke.yaml").write_text(TEST_HOOK)
        run = "      - run: helm upgrade --install app ./charts/app -n prod\n"
        _repo(root, WORKFLOW.split("      - run:")[0] + run + test)
        report = gatekeeper.scan(root, root=root, jobs=1)
        found = [f for f in report.verdict.findings if f.policy_id == "K8S-PSS-HOST-NAMESPACES"]
        return [variant for f in found for variant in f.extra.get("variants", [])]

    alone = "helm charts/app (a test hook: only `helm test` creates it)"
    judged = "deployed by .github/workflows/deploy.yml:deploy (helm upgrade app)"
    assert host_pid("      - run: helm test app -n prod\n") == [judged, alone]
    assert host_pid('      - run: helm test "$RELEASE"\n') == [judged, alone]
    assert host_pid("      - run: helm test other -n prod\n") == [alone]
    assert host_pid("") == [alone]


def test_a_post_renderer_is_said_and_a_change_to_it_is_new(tmp_path: Path) -> None:
    """`--post-renderer ./hack/post.sh`: Helm deploys what the program writes, not the
    chart as rendered, so the command says so; the program is named with its blob id, and
    a pull request changing only the program (a sed adding `privileged: true`) is a new
    finding, not the one reviewed before."""
    from gatekeeper.change import scan_change
    from tests.test_change import Repo

    repo = Repo(tmp_path)
    repo.write(".gatekeeper.yml", CONFIG)
    repo.write(
        ".github/workflows/deploy.yml",
        PULL_REQUEST_WORKFLOW.replace(
            "-f deploy/values-prod.yaml", "--post-renderer ./hack/post.sh"
        ),
    )
    repo.write("charts/app/Chart.yaml", "apiVersion: v2\nname: app\nversion: 0.1.0\n")
    repo.write("charts/app/values.yaml", "privileged: false\n")
    repo.write("charts/app/templates/pod.yaml", TEMPLATE)
    repo.write("hack/post.sh", "#!/bin/sh\ncat\n")
    repo.commit("base")
    repo.branch("pr")
    repo.write("hack/post.sh", "#!/bin/sh\nsed 's/privileged: false/privileged: true/'\n")
    repo.commit("the change")
    found = scan_change(repo.root, "main").verdict.findings
    notes = sorted(
        (f.status, f.file, f.line, f.blocking)
        for f in found
        if f.policy_id == "GK-LOCAL-NOT-EXPANDED"
    )
    workflow = ".github/workflows/deploy.yml"
    assert notes == [("fixed", workflow, 7, False), ("new", workflow, 7, True)]
    (note,) = [f for f in found if f.status == "new"]
    assert "post-renderer ./hack/post.sh (hack/post.sh at blob " in note.message


@pytest.mark.parametrize(
    "script",
    [
        "helm template app ./charts/app --set privileged=true | kubectl apply -f -",
        "helm template ./charts/app --set privileged=true | oc apply -f -",
        "helm template app charts/app --set privileged=true > /tmp/out.yaml\n"
        "          kubectl apply -f /tmp/out.yaml",
        "helm upgrade --install app ./charts/app -f - < ci/prod.yaml",
        "cat ci/prod.yaml | helm upgrade --install app ./charts/app --values -",
        "helm upgrade --install app ./charts/app -f - <<EOF\n          privileged: true\n"
        "          EOF",
    ],
)
def test_a_template_ci_applies_and_values_from_standard_input_are_rendered(
    tmp_path: Path, script: str
) -> None:
    """`helm template ... | kubectl apply -f -` (or through a file kubectl then applies)
    deploys what it renders, and `-f -` reads values from standard input (a file, a heredoc):
    neither was rendered with the values CI gives, so a --set or a values file making the
    chart privileged was green (red team s21 trust14 c08)."""
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "prod.yaml").write_text("privileged: true\n")
    workflow = WORKFLOW.replace(
        "      - run: >-\n          helm upgrade --install app ./charts/app -n prod\n"
        "          -f charts/app/values-prod.yaml --set privileged=true\n",
        f"      - run: |\n          {script}\n",
    )
    assert [f[:3] for f in _repo(tmp_path, workflow)] == [
        ("K8S-PSS-PRIVILEGED", "charts/app/templates/pod.yaml", 9)
    ]


def test_a_template_nothing_applies_deploys_nothing(tmp_path: Path) -> None:
    script = "helm template app ./charts/app --set privileged=true | kubeconform -strict"
    workflow = WORKFLOW.replace(
        "      - run: >-\n          helm upgrade --install app ./charts/app -n prod\n"
        "          -f charts/app/values-prod.yaml --set privileged=true\n",
        f"      - run: |\n          {script}\n",
    )
    assert _repo(tmp_path, workflow) == []
