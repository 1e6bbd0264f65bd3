"""workflow_expressions: the context paths a `${{ }}` expression pastes, in the spellings the
GitHub runner accepts (WF-SCRIPT-INJECTION judges them)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from gatekeeper.sources.workflow_expressions import expressions, fork_guarded, pasted, reads
from tests.conftest import Run, git_in


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("${{ github.event.issue.title }}", ["github.event.issue.title"]),
        ("${{ github.event['issue']['title'] }}", ["github.event.issue.title"]),
        ("${{ GITHUB.Event.ISSUE.title }}", ["github.event.issue.title"]),
        ("${{ format('{0}}', github.event.issue.body) }}", ["github.event.issue.body"]),
        ("${{ toJSON(github.event.issue) }}", ["github.event.issue"]),
        ("${{ github.event.commits[0].message }}", ["github.event.commits.*.message"]),
        ("${{ github.event.commits.*.author.name }}", ["github.event.commits.*.author.name"]),
        # compared, negated, tested or an index: not pasted
        (
            "${{ github.event.review != null && github.event.review.state }}",
            ["github.event.review.state"],
        ),
        ("${{ github.event.issue.title == 'x' }}", []),
        ("${{ !github.event.issue.title }}", []),
        (
            "${{ contains(github.event.issue.title, 'x') && 'a' || github.head_ref }}",
            ["github.head_ref"],
        ),
        ("${{ matrix[github.event.issue.title] }}", ["matrix.*"]),
        # the left side of `&&` reaches the result only when falsy (null, false, 0, ''):
        # kubernetes-ingress' fork test was a blocking injection
        (
            "${{ (github.event.pull_request && github.event.pull_request.head.repo.full_name"
            " != github.event.pull_request.base.repo.full_name) || github.repository != 'a/b' }}",
            [],
        ),
        (
            "${{ github.event.pull_request && github.event.pull_request.title }}",
            ["github.event.pull_request.title"],
        ),
        (
            "${{ github.event.issue.title || github.event.issue.body && 'x' }}",
            ["github.event.issue.title"],
        ),
        (
            "${{ github.event.issue && github.event.issue.title && 'x' || github.head_ref }}",
            ["github.head_ref"],
        ),
    ],
)
def test_reads_the_paths_whose_values_reach_the_result(
    expression: str, expected: list[str]
) -> None:
    assert reads(expression) == expected


def test_a_closing_brace_inside_a_string_does_not_end_the_expression() -> None:
    text = "echo ${{ format('}}{0}', github.head_ref) }} done ${{ github.sha }}"
    assert [found for _, found in expressions(text)] == [
        "${{ format('}}{0}', github.head_ref) }}",
        "${{ github.sha }}",
    ]


def test_an_env_value_that_is_an_expression_is_read_through() -> None:
    found = pasted('echo "${{ env.Title }}"', {"TITLE": "${{ github.event.issue.title }}"})
    assert found == [
        {
            "expression": "${{ env.Title }} (env.TITLE is ${{ github.event.issue.title }})",
            "reads": ["env.title", "github.event.issue.title"],
        }
    ]


@pytest.mark.parametrize(
    ("condition", "guarded"),
    [
        ("github.event.pull_request.head.repo.full_name == github.repository", True),
        ("${{ github.repository == github.event.pull_request.head.repo.full_name }}", True),
        ("!github.event.pull_request.head.repo.fork", True),
        ("github.event.pull_request.head.repo.fork == false", True),
        ("github.event.pull_request.merged == true", True),
        ("github.event_name == 'push' && github.ref == 'refs/heads/main'", True),
        ("startsWith(github.ref, 'refs/tags/')", True),
        ("github.event.pull_request.author_association == 'MEMBER'", True),
        (False, True),
        # may hold for a fork
        ("github.event.pull_request.head.repo.full_name == github.repository || true", False),
        ("${{ !(github.event.pull_request.head.repo.full_name == github.repository) }}", False),
        ("github.event.pull_request.head.repo.full_name != github.repository", False),
        ("github.event_name == 'pull_request'", False),
        ("contains(github.event.pull_request.labels.*.name, 'ok-to-test')", False),
        ("${{ github.event.pull_request.head.repo.fork == false }} text", False),
        ("success()", False),
        (True, False),
        ("", False),
    ],
)
def test_a_guard_is_a_condition_false_for_any_fork_pull_request(
    condition: object, guarded: bool
) -> None:
    assert fork_guarded(condition, "pull_request") is guarded


@pytest.mark.parametrize(
    ("condition", "guarded"),
    [
        ("!github.event.pull_request.head.repo.fork", False),
        ("github.event.pull_request.head.repo.fork == false", False),
        ("github.event.pull_request.head.repo.fork != true", False),
        ("github.event.pull_request.head.repo.full_name == github.repository", True),
        ("!github.event.pull_request.head.repo.fork && github.event.pull_request.merged", True),
    ],
)
def test_after_the_fork_is_deleted_only_the_repository_compared_guards(
    condition: str, guarded: bool
) -> None:
    """A pull request whose fork was deleted stays open, and its `edited` or `closed` activity
    carries `head.repo: null`: `head.repo.fork` is null, which `!` and `== false` accept."""
    assert fork_guarded(condition, "pull_request_target", fork_may_be_gone=True) is guarded
    assert fork_guarded(condition, "pull_request_target") is True


@pytest.mark.parametrize(
    ("condition", "pull_request", "pull_request_target"),
    [
        ("github.ref == 'refs/heads/main'", True, False),
        ("startsWith(github.ref, 'refs/heads/')", True, False),
        ("github.ref != 'refs/heads/main'", False, False),
        ("startsWith(github.ref, 'refs/tags/')", True, True),
        ("github.ref == 'refs/tags/v1'", True, True),
        ("startsWith(github.ref, 'refs/pull/')", False, True),
    ],
)
def test_github_ref_is_the_base_branch_under_pull_request_target(
    condition: str, pull_request: bool, pull_request_target: bool
) -> None:
    """Under pull_request_target `github.ref` is the base branch (refs/heads/main), which
    every fork's pull request targets: `github.ref == 'refs/heads/main'` was read as a guard
    (red team s20 trust13 s06). Under pull_request it is refs/pull/N/merge."""
    assert fork_guarded(condition, "pull_request") is pull_request
    assert fork_guarded(condition, "pull_request_target") is pull_request_target


def test_an_input_or_matrix_value_that_is_an_expression_is_read_through() -> None:
    """A local action's `${{ inputs.title }}` holds what its callers pass (`with: title:
    ${{ github.event.issue.title }}`), a `${{ matrix.t }}` each value of the matrix."""
    values = {"inputs.title": ["${{ github.event.issue.title }}", "hello"]}
    found = pasted('echo "${{ inputs.title }}"', {}, values)
    assert found == [
        {
            "expression": "${{ inputs.title }} (inputs.title is ${{ github.event.issue.title }})",
            "reads": ["inputs.title", "github.event.issue.title"],
        }
    ]
    assert pasted("echo ${{ matrix.t }}", {}, {"matrix.t": ["a", "b"]})[0]["reads"] == ["matrix.t"]


_NOTIFY = """\
on: pull_request_target
permissions: {contents: read}
%s
jobs:
  notify:
    runs-on: ubuntu-latest
%s
    steps:
      - run: ./scripts/notify.sh "$TITLE"
        env:
          TITLE: %s
%s
"""


@pytest.mark.parametrize(
    ("workflow_env", "job", "title", "step_env"),
    [
        # a `}` inside the expression ended the text regex's expression before `secrets`
        ("", "", "${{ github.event.pull_request.title }}",
         "          KEY: \"${{ format('{0}', secrets.DEPLOY_KEY) }}\""),
        ("env: {KEY: \"${{ format('{0}', secrets.DEPLOY_KEY) }}\"}", "",
         "${{ github.event.pull_request.title }}", ""),
        # the secret in the job's container or a service container's environment
        ("", "    container: {image: node:20, env: {KEY: '${{ secrets.DEPLOY_KEY }}'}}",
         "${{ github.event.pull_request.title }}", ""),
        ("", "    services: {cache: {image: redis:7, env: {KEY: '${{ secrets.DEPLOY_KEY }}'}}}",
         "${{ github.event.pull_request.title }}", ""),
        # the pull request's text in bracket spelling, upper case, or whole
        ("", "", "${{ github.event['pull_request']['title'] }}",
         "          KEY: ${{ secrets.DEPLOY_KEY }}"),
        ("", "", "${{ GITHUB.HEAD_REF }}", "          KEY: ${{ secrets.DEPLOY_KEY }}"),
        ("", "", "${{ toJSON(github.event.pull_request) }}",
         "          KEY: ${{ secrets.DEPLOY_KEY }}"),
    ],
)  # fmt: skip
def test_a_pull_request_target_job_holding_a_secret_is_read_in_any_spelling(
    tmp_path: Path,
    gatekeeper: Callable[..., Run],
    workflow_env: str,
    job: str,
    title: str,
    step_env: str,
) -> None:
    """WF-PR-TARGET-SECRETS read secrets and the pull request's text by regexes over the text:
    each of these workflows handed a fork the deploy key with a green check (red team s20
    trust13 s04). The pull request's number instead of its text is the control."""
    git_in(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "README.md").write_text("x\n")
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "base")
    git_in(tmp_path, "checkout", "-q", "-b", "pr")
    workflow = tmp_path / ".github/workflows/notify.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(_NOTIFY % (workflow_env, job, title, step_env))
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "pr")
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    found = [f["policy_id"] for f in json.loads(run.stdout)["findings"] if f["blocking"]]
    assert found == ["WF-PR-TARGET-SECRETS"], run.stdout
    assert run.returncode == 1

    workflow.write_text(_NOTIFY % (workflow_env, job, "${{ github.event.number }}", step_env))
    git_in(tmp_path, "commit", "-qam", "number")
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert [f["policy_id"] for f in json.loads(run.stdout)["findings"]] == [], run.stdout
    assert run.returncode == 0


@pytest.mark.parametrize("callee", ["composite", "reusable"])
def test_a_pull_request_target_checkout_through_a_local_callee_is_the_callers(
    tmp_path: Path, gatekeeper: Callable[..., Run], callee: str
) -> None:
    """A pull_request_target workflow passing `${{ github.event.pull_request.head.sha }}` to a
    local composite action (or reusable workflow) whose actions/checkout takes `ref: ${{
    inputs.ref }}`, then building: the workflow's step was no checkout and the callee knows
    no event, so nothing was said (red team s20 trust13 s12). The base sha is the control."""
    git_in(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "README.md").write_text("x\n")
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "base")
    git_in(tmp_path, "checkout", "-q", "-b", "pr")
    checkout = (
        "      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683\n"
        "        with: {ref: '${{ inputs.ref }}'}\n"
    )
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    if callee == "composite":
        action = tmp_path / ".github" / "actions" / "setup" / "action.yml"
        action.parent.mkdir(parents=True)
        action.write_text(
            "name: setup\ninputs: {ref: {description: r}}\nruns:\n  using: composite\n"
            "  steps:\n" + checkout.replace("      ", "    ", 1).replace("        ", "      ", 1)
            + "    - {shell: bash, run: make build}\n"
        )
        caller = (
            "    runs-on: ubuntu-latest\n    steps:\n      - uses: ./.github/actions/setup\n"
            "        with: {ref: '%s'}\n"
        )
    else:
        (workflows / "build.yml").write_text(
            "on: {workflow_call: {inputs: {ref: {type: string}}}}\npermissions: {}\njobs:\n"
            "  build:\n    runs-on: ubuntu-latest\n    steps:\n" + checkout
            + "      - run: make build\n"
        )
        caller = "    uses: ./.github/workflows/build.yml\n    with: {ref: '%s'}\n"
    workflow = workflows / "t.yml"
    head = "on: pull_request_target\npermissions: {contents: write}\njobs:\n  build:\n"
    workflow.write_text(head + caller % "${{ github.event.pull_request.head.sha }}")
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "pr")
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    found = [
        (f["file"], f["line"], f["blocking"])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == "WF-PR-TARGET-CHECKOUT-HEAD"
    ]
    assert found == [(".github/workflows/t.yml", 8 if callee == "composite" else 5, True)]
    workflow.write_text(head + caller % "${{ github.event.pull_request.base.sha }}")
    git_in(tmp_path, "commit", "-qam", "base sha")
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    assert "WF-PR-TARGET-CHECKOUT-HEAD" not in run.stdout


def test_shell_reads_follow_env_the_runner_and_the_event_file() -> None:
    from gatekeeper.sources.workflow_expressions import shell_reads

    env = {"SHA": "${{ github.event.pull_request.head.sha }}", "N": "3", "BASE": "main"}
    assert shell_reads('git fetch origin "$SHA" && git checkout ${SHA}', env) == [
        "github.event.pull_request.head.sha"
    ]
    assert shell_reads('git checkout "origin/$GITHUB_HEAD_REF"', {}) == ["github.head_ref"]
    script = 'S=$(jq -r .pull_request.head.sha "$GITHUB_EVENT_PATH"); git checkout "$S"'
    assert shell_reads(script, {}) == ["github.event.pull_request.head.sha"]
    # literal values, a variable never expanded, event paths without the event file: nothing
    assert shell_reads('echo "$N $BASE" .pull_request.head.sha', env) == []


def test_evaluated_reads_are_env_values_pasted_into_code() -> None:
    from gatekeeper import shell
    from gatekeeper.sources.workflow_expressions import evaluated_reads

    env = {"TITLE": "${{ github.event.issue.title }}", "DIR": "build"}

    def reads(script: str) -> list[str]:
        return evaluated_reads([c.as_dict() for c in shell.commands(script)], env, script)

    assert reads('eval "echo $TITLE"') == ["github.event.issue.title"]
    assert reads('sh -c "cd $DIR && echo ${TITLE}"') == ["github.event.issue.title"]
    # single-quoted: the inner shell reads the variable as data; no evaluator at all
    assert reads("bash -c 'echo \"$TITLE\"'") == []
    assert reads('echo "$TITLE" && make "$TITLE"') == []
    # a shell reading the expanded text from a here-string or a pipe
    assert reads('bash <<< "echo $TITLE"') == ["github.event.issue.title"]
    assert reads('echo "echo ${TITLE}" | sh') == ["github.event.issue.title"]
    assert reads("bash <<< 'echo \"$TITLE\"'") == []
    assert reads("echo 'echo \"$TITLE\"' | bash") == []
    assert reads('echo "$TITLE" | grep -q fix') == []


def test_shell_reads_know_the_head_asked_from_the_api() -> None:
    """red team s22 trust15 c20: the head sha asked from GitHub's API, then fetched."""
    from gatekeeper.sources.workflow_expressions import shell_reads

    head = "github.event.pull_request.head.sha"
    assert shell_reads('S=$(gh pr view "$PR" --json headRefOid -q .headRefOid)', {}) == [head]
    assert shell_reads('S=$(gh api "repos/$R/pulls/$PR" --jq .head.sha)', {}) == [head]
    script = 'curl -s "https://api.github.com/repos/$R/pulls/$PR" | jq -r .head.ref'
    assert shell_reads(script, {}) == ["github.event.pull_request.head.ref"]
    # the base, or a pull request's number: nothing
    assert shell_reads('S=$(gh api "repos/$R/pulls/$PR" --jq .base.sha)', {}) == []
