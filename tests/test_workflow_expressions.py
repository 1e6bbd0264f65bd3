"""workflow_expressions: the context paths a `${{ }}` expression pastes, in the spellings the
GitHub runner accepts (WF-SCRIPT-INJECTION judges them)."""

from __future__ import annotations

import pytest

from gatekeeper.sources.workflow_expressions import expressions, fork_guarded, pasted, reads


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
