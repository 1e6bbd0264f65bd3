"""The gate's rules one by one: CODEOWNERS patterns, which inputs loosen, which reviews count,
which workflows are part of the judge, the workflow templates, and that nothing from the
scanned checkout is executed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import git
import pytest
import yaml

from gatekeeper.config import parse_config
from gatekeeper.github import codeowners, gatefiles
from gatekeeper.github.approval import Review, approved_by, approvers, is_owner
from gatekeeper.github.context import ActionsContext
from gatekeeper.github.gate import Settings, input_line, settle
from tests.conftest import REPO


@pytest.mark.parametrize(
    ("pattern", "matching", "not_matching"),
    [
        ("*", ["a", "x/y/z.yaml"], []),
        ("*.yml", ["a.yml", "deep/b.yml"], ["a.yaml"]),
        ("/.github/", [".github/workflows/x.yml"], [".github", "a/.github/x"]),
        ("policies/", ["policies/a.yaml", "team/policies/b.yaml"], ["policies"]),
        ("docs/*", ["docs/a.md"], ["docs/build/a.md"]),
        ("/build/logs", ["build/logs", "build/logs/a"], ["x/build/logs"]),
        ("**/logs", ["logs", "a/logs", "a/b/logs/c"], ["alogs"]),
        (".gatekeeper.yml", [".gatekeeper.yml", "sub/.gatekeeper.yml"], [".gatekeeper.yaml"]),
        ("apps/**/values.yaml", ["apps/values.yaml", "apps/a/b/values.yaml"], ["values.yaml"]),
    ],
)
def test_codeowners_patterns(pattern: str, matching: list[str], not_matching: list[str]) -> None:
    regex = codeowners.compile_pattern(pattern)
    for path in matching:
        assert regex.match(path), (pattern, path)
    for path in not_matching:
        assert not regex.match(path), (pattern, path)


def test_codeowners_last_match_wins_and_an_ownerless_rule_unowns() -> None:
    owners = codeowners.parse(
        ".github/CODEOWNERS",
        "# comment\n* @all  # trailing comment\n/.github/ @acme/platform\n"
        ".github/dependabot.yml\n\\#notes @hash\n",
    )
    assert owners.owners_of("deploy/a.yaml") == ("@all",)
    assert owners.owners_of(".github/workflows/x.yml") == ("@acme/platform",)
    assert owners.owners_of(".github/dependabot.yml") is None
    assert owners.owners_of("#notes") == ("@hash",)
    rule = owners.rule_for(".github/workflows/x.yml")
    assert rule is not None and rule.line == 3
    files = {"CODEOWNERS": b"* @root", "docs/CODEOWNERS": b"* @docs"}
    assert codeowners.find(files.get).owners_of("a") == ("@root",)  # GitHub's order
    assert codeowners.find({}.get).file == ""


def test_every_loosening_input_is_undone_and_tightening_is_kept() -> None:
    base = parse_config(".gatekeeper.yml", b"severityThreshold: high\n")
    asked = Settings(
        fail_on="none",
        comment_mode="none",
        filter_mode="added",
        severity_threshold="critical",
        builtin=False,
        policies=("policies/shadow",),
        check_name="other",
    )
    settled, ignored = settle(asked, base)
    assert {item.name for item in ignored} == {
        "fail-on",
        "comment-mode",
        "severity-threshold",
        "builtin",
        "policies",
    }
    assert settled == Settings(check_name="other")  # no `gate.checkName`: any name
    stricter = Settings(fail_on="all", severity_threshold="low", filter_mode="file")
    assert settle(stricter, base) == (stricter, [])
    summary_only = Settings(comment_mode="summary")  # still shows every finding
    assert settle(summary_only, base)[1] == []


def test_the_base_gate_section_sets_the_floor() -> None:
    base = parse_config(
        ".gatekeeper.yml",
        b"gate:\n  failOn: all\n  filterMode: file\n  checkName: policy-gate\n"
        b"  policies: [team/policies]\n",
    )
    # Inputs left at the action's defaults are raised to the floor without a report.
    defaults, quiet = settle(Settings(policies=("./team/policies/",)), base)
    assert quiet == []
    assert (defaults.fail_on, defaults.filter_mode, defaults.check_name) == (
        "all",
        "file",
        "policy-gate",
    )
    assert defaults.policies == ("./team/policies/",)  # listed, so honoured
    asked = Settings(fail_on="none", filter_mode="diff_context", check_name="other")
    settled, ignored = settle(asked, base)
    assert [item.name for item in ignored] == ["fail-on", "filter-mode", "check-name"]
    assert settled == defaults.__class__(
        fail_on="all", filter_mode="file", check_name="policy-gate"
    )
    with pytest.raises(Exception, match="gate"):
        parse_config(".gatekeeper.yml", b"gate:\n  failOn: never\n")


def test_event_commits_cannot_be_replaced() -> None:
    settled, ignored = settle(
        Settings(base="b" * 40, head="a" * 40), parse_config("c", b""), "a" * 40, "c" * 40
    )
    assert (settled.base, settled.head) == ("a" * 40, "c" * 40)
    assert [item.name for item in ignored] == ["--base", "--head"]
    assert settle(Settings(base="a" * 40), parse_config("c", b""), "a" * 40, "")[1] == []


def test_input_line_finds_the_input_or_the_flag() -> None:
    text = "with:\n  severity-threshold: low\n  fail-on: none\nrun: gatekeeper github --base x\n"
    assert input_line(text, "fail-on") == 3
    assert input_line(text, "--base") == 4
    assert input_line(text, "policies") == 1


def review(login: str, state: str, commit: str = "h", bot: bool = False) -> Review:
    return Review(login, bot, state, commit)


def test_which_reviews_count() -> None:
    reviews = [
        review("bob", "APPROVED", "old"),
        review("bob", "COMMENTED"),  # a later comment does not undo an approval
        review("Alice", "APPROVED"),  # the author (GitHub refuses this; never counted anyway)
        review("github-actions[bot]", "APPROVED", bot=True),
        review("carol", "APPROVED"),
        review("carol", "CHANGES_REQUESTED"),
        review("dave", "APPROVED"),
        review("dave", "DISMISSED"),
        review("erin", "CHANGES_REQUESTED"),
        review("erin", "APPROVED"),
    ]
    assert approvers(reviews, "alice") == {"bob": "old", "erin": "h"}


def test_owners_and_freshness_decide_an_approval() -> None:
    owners = codeowners.parse("CODEOWNERS", "/.github/ @acme/platform @Carol\n")
    teams = {("acme", "platform"): {"dave"}}

    def member(org: str, team: str, login: str) -> bool:
        return login in teams.get((org, team), set())

    def fresh(commit: str, path: str) -> bool:
        return commit == "head"

    path = ".github/workflows/x.yml"
    assert approved_by(path, owners, {"bob": "head"}, fresh, member) is None
    assert approved_by(path, owners, {"carol": "head"}, fresh, member) == "carol"
    assert approved_by(path, owners, {"dave": "old"}, fresh, member) is None
    assert approved_by(path, owners, {"dave": "head"}, fresh, member) == "dave"
    assert approved_by("README.md", owners, {"bob": "head"}, fresh, member) == "bob"
    assert not is_owner("x", ("x@example.com",), member)  # an e-mail names no login


NAMED = "it names a job or status 'policy-gate', like the check"
API = "it calls the check runs or commit statuses API"
WRITES = "it may write check runs or commit statuses"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("steps:\n  - uses: acme/gatekeeper@v1\n", "it runs gatekeeper"),
        ("steps:\n  - uses: 'acme/gatekeeper/sub@0123abc'\n", "it runs gatekeeper"),
        ("steps:\n  - run: pipx run gatekeeper github\n", "it runs gatekeeper"),
        ("steps:\n  - run: python -m gatekeeper scan --base x\n", "it runs gatekeeper"),
        ("jobs:\n  policy-gate:\n    steps: []\n", NAMED),
        ("jobs:\n  x:\n    name: Policy-Gate\n", NAMED),
        ("run: gh api repos/o/r/statuses/$SHA -f context=policy-gate\n", NAMED),
        ("run: gh api repos/o/r/check-runs -f name=ci\n", API),
        ("uses: actions/github-script@v7\nwith: {script: github.rest.checks.create(x)}\n", API),
        ("permissions:\n  checks: write\n", WRITES),
        ("permissions:\n  statuses: write\n", WRITES),
        ("permissions: write-all\n", WRITES),
        # Noise that is no gate: OPA Gatekeeper deployed by a GitOps repository, reads only.
        ("steps:\n  - run: helm install gatekeeper/gatekeeper --name-template=gatekeeper\n", ""),
        ("env: {NAME: policy-gate-docs}\n", ""),
        ("permissions:\n  checks: read\nsteps:\n  - run: make test\n", ""),
        # A job's check run as GitHub names it, however the YAML spells it (red team r10).
        ("jobs:\n  policy-gate:   # lint\n    steps: []\n", NAMED),
        ("jobs:\n  policy-gate: {runs-on: x, steps: []}\n", NAMED),
        ("jobs:\n  lint:\n    name: >-\n      policy-gate\n", NAMED),
        ('jobs:\n  lint:\n    name: "policy\\x2Dgate"\n', NAMED),
        ("jobs:\n  lint:\n    name: ${{ format('{0}-gate', 'policy') }}\n", NAMED),
        ("jobs:\n  lint:\n    name: policy-${{ matrix.x }}\n", NAMED),
        ("jobs:\n  lint:\n    name: Lint (${{ matrix.os }})\n", ""),
        ("jobs:\n  policy-gate:\n    name: Lint\n", ""),  # its check run is named Lint
    ],
)
def test_which_workflows_are_part_of_the_judge(text: str, reason: str) -> None:
    assert gatefiles.workflow_reason(text, "policy-gate") == reason


def test_the_gate_jobs_of_the_trusted_workflows_are_check_names_too() -> None:
    """`scan --base` knows no check run name: the required check is the job that runs
    gatekeeper in the base's workflows, and a new workflow's job named like it is a gate
    file."""
    gate = (
        "jobs:\n  policy:\n    name: Policy check\n"
        "    steps: [{run: gatekeeper scan --base main}]\n"
    )
    other = "jobs:\n  test:\n    steps: [{run: make test}]\n"
    checks = gatefiles.gate_checks([("gate.yml", gate), ("ci.yml", other)])
    assert checks == {"Policy check"}
    forged = "jobs:\n  lint:\n    name: policy CHECK\n    steps: [{run: sleep 1}]\n"
    assert gatefiles.workflow_reason(forged, checks) == NAMED.replace("policy-gate", "Policy check")
    assert gatefiles.workflow_reason(other, checks) == ""


def test_workflow_paths() -> None:
    assert gatefiles.is_workflow(".github/workflows/ci.yaml")
    assert gatefiles.is_workflow(".github/actions/scan/action.yml")
    assert not gatefiles.is_workflow("deploy/workflows/ci.yaml")
    assert not gatefiles.is_workflow(".github/dependabot.yml")


def test_starter_workflow_cannot_show_a_green_check_without_running() -> None:
    workflow = yaml.safe_load((REPO / "templates/workflows/gatekeeper.yml").read_text())
    action = yaml.safe_load((REPO / "action.yml").read_text())
    check_name = action["inputs"]["check-name"]["default"]
    assert check_name not in workflow["jobs"]  # the job's own check is not the gate's
    assert {"pull_request", "pull_request_review", "merge_group"} <= set(workflow[True])
    group = workflow["concurrency"]["group"]
    assert (
        "github.event.pull_request.number" in group
        and workflow["concurrency"]["cancel-in-progress"]
    )


def test_trusted_workflow_treats_the_change_as_data() -> None:
    workflow = yaml.safe_load((REPO / "templates/workflows/gatekeeper-trusted.yml").read_text())
    triggers = set(workflow[True])
    assert "pull_request_target" in triggers
    assert not triggers & {"pull_request", "pull_request_review"}  # both run the PR's copy
    (job,) = workflow["jobs"].values()
    checkout, action = job["steps"]
    assert checkout["uses"].startswith("actions/checkout@")
    assert checkout["with"]["ref"].startswith("${{ github.event.pull_request.head.sha")
    assert checkout["with"]["persist-credentials"] is False
    assert action["with"]["path"] == checkout["with"]["path"] != "."
    assert all("run" not in step for step in job["steps"])  # nothing of the change is run
    assert len(action["uses"].rsplit("@", 1)[1]) == 40  # the action pinned to a commit


def test_action_installs_isolated_from_the_working_directory(tmp_path: Path) -> None:
    """`python -m pip` imports a `pip` package from the working directory (the checkout of
    the change); `python -I -m pip` does not. The action uses the latter."""
    action = yaml.safe_load((REPO / "action.yml").read_text())
    (install,) = [s for s in action["runs"]["steps"] if s.get("name") == "Install gatekeeper"]
    assert install["run"].startswith("python -I -m pip ")
    (tmp_path / "pip").mkdir()
    (tmp_path / "pip" / "__init__.py").write_text("raise SystemExit('planted pip ran')\n")
    (tmp_path / "pip" / "__main__.py").write_text("raise SystemExit('planted pip ran')\n")
    planted = subprocess.run(
        [sys.executable, "-m", "pip", "--version"], cwd=tmp_path, capture_output=True, text=True
    )
    assert "planted pip ran" in planted.stderr
    isolated = subprocess.run(
        [sys.executable, "-I", "-m", "pip", "--version"], cwd=tmp_path, capture_output=True
    )
    assert isolated.returncode == 0


def test_scanning_a_checkout_never_imports_its_python(tmp_path: Path) -> None:
    """A change that adds `gatekeeper/__init__.py` at its root: the Helm renderer's child
    interpreter (`python -I helm_engine.py`) must not import it."""
    repo = git.Repo.init(tmp_path)
    marker = tmp_path / "PWNED"
    (tmp_path / "gatekeeper").mkdir()
    (tmp_path / "gatekeeper" / "__init__.py").write_text(
        f"open({str(marker)!r}, 'w').write('ran')\n"
    )
    (tmp_path / "chart" / "templates").mkdir(parents=True)
    (tmp_path / "chart" / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    (tmp_path / "chart" / "templates" / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
        "spec: {containers: [{name: a, image: x}]}\n"
    )
    repo.git.add(A=True)
    script = Path(sys.executable).parent / "gatekeeper"
    proc = subprocess.run(
        [str(script), "scan", "--format", "json", "chart"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr  # the chart was rendered and judged
    assert '"chart/templates/pod.yaml"' in proc.stdout
    assert not marker.exists()


def test_actions_context_for_the_gate(tmp_path: Path) -> None:
    import json

    from gatekeeper.github.context import from_environment

    def context(name: str, payload: dict[str, object], ref: str = "") -> ActionsContext:
        (tmp_path / "event.json").write_text(json.dumps(payload))
        return from_environment(
            {
                "GITHUB_REPOSITORY": "acme/app",
                "GITHUB_EVENT_NAME": name,
                "GITHUB_EVENT_PATH": str(tmp_path / "event.json"),
                "GITHUB_WORKFLOW_REF": ref,
            }
        )

    fork = {
        "pull_request": {
            "number": 3,
            "user": {"login": "mallory"},
            "head": {"sha": "h", "repo": {"full_name": "mallory/app"}},
            "base": {"sha": "b", "ref": "main", "repo": {"full_name": "acme/app"}},
        }
    }
    ours = context("pull_request", fork, "acme/app/.github/workflows/gk.yml@refs/pull/3/merge")
    assert ours.fork_token and ours.workflow == ours.own_workflow == ".github/workflows/gk.yml"
    pr = ours.pull_request
    assert pr is not None and (pr.author, pr.base_ref) == ("mallory", "main")
    target = context("pull_request_target", fork, "acme/policy/.github/workflows/gk.yml@v1")
    assert not target.fork_token  # the base branch's workflow gets a write token
    assert target.workflow == ".github/workflows/gk.yml" and target.own_workflow == ""
    group = {
        "merge_group": {
            "head_sha": "g",
            "head_ref": "refs/heads/gh-readonly-queue/main/pr-42-0a1b2c",
            "base_sha": "b",
            "base_ref": "refs/heads/main",
        }
    }
    queued = context("merge_group", group)
    assert queued.merge_group and queued.pull_request is not None
    assert (queued.pull_request.number, queued.pull_request.head_sha) == (42, "g")
    assert queued.pull_request.base_ref == "main"


def test_a_ruleset_requiring_this_workflow_makes_the_check_required() -> None:
    from gatekeeper.github.required import required_by_rules

    rules = [
        {"type": "pull_request", "parameters": {"required_approving_review_count": 1}},
        {
            "type": "workflows",
            "parameters": {
                "workflows": [{"path": ".github/workflows/gk.yml", "repository_id": 1, "ref": "v1"}]
            },
        },
    ]
    assert required_by_rules(rules, "gatekeeper", ".github/workflows/gk.yml").startswith(
        "a ruleset"
    )
    assert required_by_rules(rules, "gatekeeper", ".github/workflows/other.yml") == ""
    assert required_by_rules({"message": "Not Found"}, "gatekeeper", "") == ""


def test_finding_crosses_to_the_parent_process_unchanged() -> None:
    """Pool workers pickle their findings (as their values, in order): every field survives,
    nested values included, and the copy is still frozen."""
    import dataclasses
    import pickle

    from gatekeeper.finding import FIELD_NAMES, Finding

    values = {name: f"{name}-value" for name in FIELD_NAMES}
    values.update(line=7, column=3, end_line=9, end_column=2, blocking=True)
    values.update(fix={"subject": "spec", "set": {"a": [1, None]}}, waiver={"owner": "o"})
    values.update(extra={"variants": ["kustomize a"], "exact": False})
    finding = Finding(**values)
    copy = pickle.loads(pickle.dumps(finding, protocol=pickle.HIGHEST_PROTOCOL))
    assert copy == finding and copy is not finding
    assert [getattr(copy, name) for name in FIELD_NAMES] == list(values.values())
    with pytest.raises(dataclasses.FrozenInstanceError):
        copy.line = 1  # type: ignore[misc]
    changed = copy.with_(line=8, extra={})
    assert (changed.line, changed.extra, changed.fix) == (8, {}, copy.fix)
    assert (copy.line, copy.extra) == (7, values["extra"])  # the original is untouched
    with pytest.raises(TypeError, match="no field 'lines'"):
        copy.with_(lines=1)
