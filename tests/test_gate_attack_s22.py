"""Red team s22 trust15: pull requests that got a green check while CI would run what a
built-in policy forbids (one test per finding, each failing on 951d156)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Run, git_in


def _pull_request(root: Path, files: dict[str, str]) -> None:
    """A repository whose main holds a README, and a branch `pr` adding `files`."""
    git_in(root, "init", "-q", "-b", "main")
    (root / "README.md").write_text("x\n")
    git_in(root, "add", "-A")
    git_in(root, "commit", "-qm", "base")
    git_in(root, "checkout", "-q", "-b", "pr")
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git_in(root, "add", "-A")
    git_in(root, "commit", "-qm", "pr")


def _blocking(run: Run) -> list[tuple[str, int]]:
    assert run.returncode in (0, 1), run.stderr
    found = json.loads(run.stdout)["findings"]
    return [(f["policy_id"], f["line"]) for f in found if f["blocking"]]


_SENT = """\
on: %s
permissions: {contents: read}
jobs:
  j:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683
      - env: {VALUE: "${{ %s }}"}
        run: echo "V=$VALUE" >> "$GITHUB_ENV"
      - run: %s
"""


@pytest.mark.parametrize(
    ("event", "value", "script", "expected"),
    [
        # the title sent to $GITHUB_ENV, then pasted into eval's text
        ("issues", "github.event.issue.title", 'eval "echo $V"', [("WF-SCRIPT-INJECTION", 10)]),
        # the head sha sent to $GITHUB_ENV, then fetched and built
        (
            "pull_request_target",
            "github.event.pull_request.head.sha",
            'git fetch origin "$V" && git checkout "$V" && make',
            [("WF-PR-TARGET-CHECKOUT-HEAD", 10)],
        ),
        # control: the value read as data
        ("issues", "github.event.issue.title", 'echo "$V"', []),
    ],
)
def test_a_value_earlier_steps_send_to_github_env_is_read_through(
    tmp_path: Path,
    gatekeeper: Callable[..., Run],
    event: str,
    value: str,
    script: str,
    expected: list[tuple[str, int]],
) -> None:
    """c05: a step's `$V` that an earlier step wrote to $GITHUB_ENV from event data was read
    as the step's own `env:` only, so `eval "echo $V"` and `git checkout "$V"` were green."""
    _pull_request(tmp_path, {".github/workflows/x.yml": _SENT % (event, value, script)})
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert _blocking(run) == expected, run.stdout


_CALLER = """\
on: pull_request_target
permissions: {contents: read}
jobs:
  b:
%s
"""


@pytest.mark.parametrize(
    ("caller", "callee", "script"),
    [
        (
            "    uses: ./.github/workflows/build.yml\n    secrets: inherit",
            ".github/workflows/build.yml",
            "on: workflow_call\npermissions: {}\njobs:\n  b:\n    runs-on: ubuntu-latest\n"
            "    steps:\n      - run: %s\n",
        ),
        (
            "    runs-on: ubuntu-latest\n    steps:\n      - uses: ./.github/actions/build",
            ".github/actions/build/action.yml",
            "name: b\nruns:\n  using: composite\n  steps:\n    - shell: bash\n      run: %s\n",
        ),
    ],
)
@pytest.mark.parametrize(
    ("fetch", "expected"),
    [
        ("gh pr checkout ${{ github.event.number }} && make", True),
        (
            "git fetch origin ${{ github.event.pull_request.head.sha }} && git checkout FETCH_HEAD",
            True,
        ),
        ("git fetch origin ${{ github.event.pull_request.base.sha }} && make", False),
    ],
)
def test_a_local_callees_script_fetching_the_head_is_the_callers_checkout(
    tmp_path: Path,
    gatekeeper: Callable[..., Run],
    caller: str,
    callee: str,
    script: str,
    fetch: str,
    expected: bool,
) -> None:
    """c33: a pull_request_target workflow whose local reusable workflow or composite action
    runs `gh pr checkout` or fetches the head sha in a script: the callee knows no event, the
    caller's step was no checkout, so it was green (its actions/checkout `ref` was read)."""
    files = {".github/workflows/t.yml": _CALLER % caller, callee: script % fetch}
    _pull_request(tmp_path, files)
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    found = [rule for rule, _ in _blocking(run) if rule == "WF-PR-TARGET-CHECKOUT-HEAD"]
    assert bool(found) is expected, run.stdout


def test_a_compose_services_env_file_is_its_environment(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """c34: `env_file: web.env` holding DB_PASSWORD=... sets it in the container as
    `environment:` does, and was green; each variable is said where its file writes it.
    `environment:` wins over the files (the second service's own value is a reference)."""
    compose = (
        "services:\n"
        "  web:\n    image: ghcr.io/acme/web:1.0\n    env_file: [web.env, {path: conf/aws.txt}]\n"
        "  api:\n    image: ghcr.io/acme/api:1.0\n    env_file: web.env\n"
        "    environment: {DB_PASSWORD: '${DB_PASSWORD}'}\n"
    )
    files = {
        "compose.yaml": compose,
        "web.env": "# prod\nDB_PASSWORD=hunter2-prod-secret\nLOG_LEVEL=info\n",
        "conf/aws.txt": "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n",
    }
    _pull_request(tmp_path, files)
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    found = sorted(
        (f["file"], f["line"])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == "COMPOSE-NO-SECRETS-IN-ENV"
    )
    assert found == [("conf/aws.txt", 1), ("web.env", 2)], run.stdout


def test_a_change_to_an_env_file_alone_judges_the_compose_file_again(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """c34: the base's compose file reads `env_file: web.env`; a pull request adding
    DB_PASSWORD to web.env alone was green (no dependency edge to the compose file)."""
    compose = "services:\n  web:\n    image: ghcr.io/acme/web:1.0\n    env_file: web.env\n"
    git_in(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "compose.yaml").write_text(compose)
    (tmp_path / "web.env").write_text("LOG_LEVEL=info\n")
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "base")
    git_in(tmp_path, "checkout", "-q", "-b", "pr")
    (tmp_path / "web.env").write_text("LOG_LEVEL=info\nDB_PASSWORD=hunter2-prod-secret\n")
    git_in(tmp_path, "commit", "-qam", "pr")
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert ("COMPOSE-NO-SECRETS-IN-ENV", 2) in _blocking(run), run.stdout


@pytest.mark.parametrize(
    ("include", "expected"),
    [
        ("{project: acme/deploy, file: ci/deploy.yml, ref: main}", True),
        ("{project: ACME/deploy, file: [/ci/deploy.yml]}", True),
        ("{remote: 'https://gitlab.com/acme/deploy/-/raw/main/ci/deploy.yml'}", True),
        ("{project: acme/deploy, file: ci/deploy.yml, ref: v1.2.0}", False),
        ("{project: acme/ci-templates, file: ci/deploy.yml}", False),
    ],
)
def test_a_gitlab_include_naming_this_repository_is_a_local_include(
    tmp_path: Path, gatekeeper: Callable[..., Run], include: str, expected: bool
) -> None:
    """c35: `include: {project: acme/deploy, file: ci/deploy.yml}` in acme/deploy itself (or
    a raw URL of it) includes the change's file once merged; its kubectl apply was green.
    A tag of it, or another project, includes another file: not judged here."""
    files = {
        ".gitlab-ci.yml": f"include:\n  - {include}\n",
        "ci/deploy.yml": "deploy:\n  script: [kubectl apply -f deploy/]\n",
    }
    _pull_request(tmp_path, files)
    git_in(tmp_path, "remote", "add", "origin", "git@gitlab.com:acme/deploy.git")
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    found = [rule for rule, _ in _blocking(run) if rule == "WF-GITOPS-IMPERATIVE-DEPLOY"]
    assert bool(found) is expected, run.stdout


@pytest.mark.parametrize(
    ("uses", "callee", "text"),
    [
        (
            "    uses: acme/deploy/.github/workflows/build.yml@{sha}\n    secrets: inherit",
            ".github/workflows/build.yml",
            "on: workflow_call\npermissions: {{}}\njobs:\n  b:\n    runs-on: ubuntu-latest\n"
            "    steps:\n      - uses: actions/checkout@{sha}\n        with: {{ref: '{ref}'}}\n",
        ),
        (
            "    runs-on: ubuntu-latest\n    steps:\n"
            "      - uses: ACME/Deploy/.github/actions/build@{sha}",
            ".github/actions/build/action.yml",
            "name: b\nruns:\n  using: composite\n  steps:\n"
            "    - uses: actions/checkout@{sha}\n      with: {{ref: '{ref}'}}\n",
        ),
    ],
)
@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("${{{{ github.event.pull_request.head.sha }}}}", True),
        ("${{{{ github.event.pull_request.base.sha }}}}", False),
    ],
)
def test_this_repositorys_callee_named_by_its_full_name_is_read(
    tmp_path: Path,
    gatekeeper: Callable[..., Run],
    uses: str,
    callee: str,
    text: str,
    ref: str,
    expected: bool,
) -> None:
    """c36: a pull_request_target job calling this repository's own reusable workflow or
    composite action by its full name (acme/deploy/...@sha, pinned as WF-ACTION-PINNED-SHA
    asks) was read as another repository's: its checkout of the head was green."""
    sha = "11bd71901bbe5b1630ceea73d27597364c9af683"
    files = {
        ".github/workflows/t.yml": _CALLER % uses.format(sha=sha),
        callee: text.format(sha=sha, ref=ref.format()),
    }
    _pull_request(tmp_path, files)
    git_in(tmp_path, "remote", "add", "origin", "https://github.com/acme/deploy.git")
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    found = [rule for rule, _ in _blocking(run) if rule == "WF-PR-TARGET-CHECKOUT-HEAD"]
    assert bool(found) is expected, run.stdout


def test_a_callee_cherry_picking_a_merged_commit_is_no_checkout_of_the_head(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """c33's control, from argo-workflows' cherry-pick-single.yml: the callee checks out a
    release branch and cherry-picks the merge commit it is given; no git command's line reads
    the head (the SHA it fetches through a variable still counts, see above)."""
    callee = (
        "on:\n  workflow_call:\n    inputs: {sha: {type: string}, n: {type: string}}\n"
        "permissions: {}\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n"
        '      - run: |\n          MERGE="${{ inputs.sha }}"\n'
        '          BRANCH="pick-${{ inputs.n }}"\n'
        '          git checkout -b "$BRANCH" origin/release-1\n'
        '          git cherry-pick -m 1 "$MERGE"\n'
    )
    caller = (
        "    uses: ./.github/workflows/pick.yml\n"
        "    with: {sha: '${{ github.event.pull_request.merge_commit_sha }}',"
        " n: '${{ github.event.pull_request.number }}'}"
    )
    files = {".github/workflows/t.yml": _CALLER % caller, ".github/workflows/pick.yml": callee}
    _pull_request(tmp_path, files)
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert "WF-PR-TARGET-CHECKOUT-HEAD" not in [rule for rule, _ in _blocking(run)], run.stdout
    fetch = callee.replace("git cherry-pick -m 1", "git fetch origin")
    (tmp_path / ".github/workflows/pick.yml").write_text(fetch)
    git_in(tmp_path, "commit", "-qam", "fetch")
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert "WF-PR-TARGET-CHECKOUT-HEAD" in [rule for rule, _ in _blocking(run)], run.stdout


def test_a_command_actions_other_inputs_are_still_read_for_deploys(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """c26's regression, found by the mirrors' comparison (cloudnative-pg): once
    nick-fields/retry's `command` was read as its script, its `on_retry_command` (`kubectl
    delete ...`) was no longer read as an input of a remote action; both are now."""
    workflow = (
        "on: push\npermissions: {}\njobs:\n  d:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: nick-fields/retry@ce71cc2ab81d554ebbe88c79ab5975992d79ba08\n"
        "        with:\n          on_retry_command: kubectl delete ns velero\n"
        "          command: kubectl apply -f deploy/\n"
    )
    _pull_request(tmp_path, {".github/workflows/d.yml": workflow})
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    found = sorted(line for rule, line in _blocking(run) if rule == "WF-GITOPS-IMPERATIVE-DEPLOY")
    assert found == [9, 10], run.stdout


_POD = (
    "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: app}\nspec:\n  containers:\n"
    "  - name: c\n    image: ghcr.io/acme/web@sha256:" + "0" * 64 + "\n"
)
_NETPOL = (
    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
    "metadata: {name: deny, namespace: app}\nspec: {podSelector: {}}\n"
)


@pytest.mark.parametrize(
    ("more", "covered"),
    [
        ({}, False),  # an example in docs/ is not in the cluster
        ({"kustomization.yaml": "resources: [deploy/pod.yaml, docs/np.yaml]\n"}, True),
    ],
)
def test_a_network_policy_in_an_advisory_path_counts_only_when_deployed(
    tmp_path: Path, gatekeeper: Callable[..., Run], more: dict[str, str], covered: bool
) -> None:
    """c37: `docs/np.yaml` (an advisory path: examples, not deployed) made namespace app
    covered, so K8S-NETWORK-POLICY-PRESENT passed for the pod that runs there."""
    files = {"deploy/pod.yaml": _POD, "docs/np.yaml": _NETPOL, **more}
    _pull_request(tmp_path, files)
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    found = [f for f in json.loads(run.stdout)["findings"]]
    said = [f for f in found if f["policy_id"] == "K8S-NETWORK-POLICY-PRESENT"]
    assert bool(said) is not covered, run.stdout


def test_inputs_given_to_this_repositorys_action_named_in_full_are_read(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """c36: `uses: acme/deploy/.github/actions/greet@SHA` in acme/deploy with `t: ${{
    github.event.issue.title }}`, pasted by the action as `${{ inputs.t }}`: the inputs of a
    callee named in full were not read, so the injection was green."""
    sha = "11bd71901bbe5b1630ceea73d27597364c9af683"
    workflow = (
        "on: issues\npermissions: {}\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n"
        f"      - uses: acme/deploy/.github/actions/greet@{sha}\n"
        "        with: {t: '${{ github.event.issue.title }}'}\n"
    )
    action = (
        "name: greet\ninputs:\n  t: {description: t}\nruns:\n  using: composite\n  steps:\n"
        '    - shell: bash\n      run: echo "${{ inputs.t }}"\n'
    )
    files = {".github/workflows/x.yml": workflow, ".github/actions/greet/action.yml": action}
    _pull_request(tmp_path, files)
    git_in(tmp_path, "remote", "add", "origin", "https://github.com/acme/deploy.git")
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    found = [
        (f["file"], f["line"])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == "WF-SCRIPT-INJECTION" and f["blocking"]
    ]
    assert found == [(".github/actions/greet/action.yml", 8)], run.stdout
