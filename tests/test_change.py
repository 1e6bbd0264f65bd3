"""PR-aware scans on real git repositories: classification, filters, trust, waivers, lock."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from pathlib import Path

import git
import pytest

from gatekeeper.change import scan_change
from gatekeeper.finding import Finding
from tests.conftest import PRIVILEGED_POLICY as POLICY
from tests.conftest import Run

Gatekeeper = Callable[..., Run]

CONFIG = "builtin: false\npolicies:\n  - path: policies\n"


def pod(*containers: tuple[str, bool], name: str = "p", top: str = "") -> str:
    rows = [f"{top}apiVersion: v1", "kind: Pod", f"metadata: {{name: {name}, namespace: team}}"]
    rows += ["spec:", "  containers:"]
    for container, privileged in containers:
        rows += [
            f"    - name: {container}",
            "      image: ghcr.io/acme/app:1.0",
            "      securityContext:",
            f"        privileged: {str(privileged).lower()}",
        ]
    return "\n".join(rows) + "\n"


class Repo:
    """A temp git repository with a `main` branch holding the config and the test policy."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.git = git.Repo.init(root, initial_branch="main")
        with self.git.config_writer() as config:
            config.set_value("user", "name", "test")
            config.set_value("user", "email", "test@example.com")
            config.set_value("commit", "gpgsign", "false")

    def write(self, name: str, text: str) -> None:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def commit(self, message: str = "change") -> str:
        self.git.git.add("-A")
        self.git.git.commit("-q", "--allow-empty", "-m", message)
        return str(self.git.head.commit.hexsha)

    def branch(self, name: str) -> None:
        self.git.git.checkout("-q", "-b", name)

    def mv(self, old: str, new: str) -> None:
        (self.root / new).parent.mkdir(parents=True, exist_ok=True)
        self.git.git.mv(old, new)


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    repo = Repo(tmp_path / "repo")
    repo.write(".gatekeeper.yml", CONFIG)
    repo.write("policies/no-privileged.yaml", POLICY)
    return repo


def by_status(findings: list[Finding], status: str) -> list[str]:
    return sorted(f"{f.file}:{f.line}:{f.message}" for f in findings if f.status == status)


def test_rename_and_line_move_keep_findings_existing(repo: Repo) -> None:
    repo.write("deploy/pod.yaml", pod(("app", True)))
    base = repo.commit("base")
    repo.branch("pr")
    repo.mv("deploy/pod.yaml", "apps/pod.yaml")
    # Three comment lines on top move every line; a second privileged container is new.
    repo.write("apps/pod.yaml", pod(("app", True), ("side", True), top="# a\n# b\n# c\n"))
    head = repo.commit("rename, move, add")
    result = scan_change(repo.root, "main", filter_mode="file")
    findings = result.verdict.findings
    assert by_status(findings, "existing") == ["apps/pod.yaml:12:app is privileged"]
    assert by_status(findings, "new") == ["apps/pod.yaml:16:side is privileged"]
    assert [f.blocking for f in findings] == [False, True]
    assert result.verdict.exit_code == 1
    assert result.base_sha == base and result.head_sha == head
    assert result.changed_files == ["apps/pod.yaml"]
    assert result.changed_lines["apps/pod.yaml"] == {1, 2, 3, *range(13, 17)}


def test_fixed_finding_passes(repo: Repo) -> None:
    repo.write("deploy/pod.yaml", pod(("app", True), ("db", True)))
    repo.commit("base")
    repo.branch("pr")
    repo.write("deploy/pod.yaml", pod(("app", False), ("db", True)))
    repo.commit("fix app")
    verdict = scan_change(repo.root, "main").verdict
    assert by_status(verdict.findings, "fixed") == ["deploy/pod.yaml:9:app is privileged"]
    assert by_status(verdict.findings, "existing") == []  # db's line is untouched (added)
    assert verdict.passed


def test_merge_base_semantics_ignore_base_branch_progress(repo: Repo) -> None:
    repo.write("deploy/pod.yaml", pod(("app", False)))
    repo.commit("base")
    repo.branch("pr")
    repo.write("deploy/other.yaml", pod(("x", False), name="other"))
    repo.commit("pr")
    repo.git.git.checkout("-q", "main")
    repo.write("deploy/pod.yaml", pod(("app", True)))  # main moves on, with a finding
    repo.commit("main moves")
    result = scan_change(repo.root, "main", "pr")
    assert result.changed_files == ["deploy/other.yaml"]
    assert result.verdict.findings == [] and result.verdict.passed


def test_filter_modes(repo: Repo) -> None:
    repo.write("deploy/pod.yaml", pod(("a", True), ("b", True), ("c", True)))
    repo.commit("base")
    repo.branch("pr")
    text = pod(("a", True), ("b", True), ("c", True)).replace(
        "        privileged: true\n    - name: c\n      image: ghcr.io/acme/app:1.0",
        "        privileged: true # still\n    - name: c\n      image: ghcr.io/acme/app:1.1",
    )
    repo.write("deploy/pod.yaml", text)  # b's privileged line (13), c's image (15)
    repo.commit("touch b and c")

    def shown(mode: str) -> list[str]:
        findings = scan_change(repo.root, "main", filter_mode=mode).verdict.findings
        assert all(f.status == "existing" and not f.blocking for f in findings)
        return [f.message for f in findings]

    assert shown("added") == ["b is privileged"]
    assert shown("diff_context") == ["b is privileged", "c is privileged"]  # c: 17
    assert shown("file") == ["a is privileged", "b is privileged", "c is privileged"]
    assert shown("all") == shown("file")


def test_trust_pr_cannot_weaken_its_own_check(repo: Repo) -> None:
    repo.write("deploy/pod.yaml", pod(("app", False)))
    repo.commit("base")
    repo.branch("pr")
    repo.write("deploy/pod.yaml", pod(("app", True)))
    (repo.root / "policies/no-privileged.yaml").unlink()
    repo.write(".gatekeeper.yml", CONFIG + "severityThreshold: critical\n")
    expires = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()
    repo.write(
        ".gatekeeper/waivers.yml",
        "waivers:\n  - {policy: TEST-NO-PRIVILEGED, file: 'deploy/*', owner: me, reason: r,"
        f" ticket: T-1, expires: '{expires}'}}\n",
    )
    repo.commit("sneaky")
    verdict = scan_change(repo.root, "main").verdict
    blocking = [f for f in verdict.blocking]
    assert [(f.policy_id, f.status, f.file) for f in blocking] == [
        ("TEST-NO-PRIVILEGED", "new", "deploy/pod.yaml")
    ]
    changes = sorted(
        (f.file, f.severity, f.blocking)
        for f in verdict.findings
        if f.policy_id == "GK-POLICY-CHANGE"
    )
    assert changes == [
        (".gatekeeper.yml", "info", False),
        (".gatekeeper/waivers.yml", "info", False),
        ("policies/no-privileged.yaml", "info", False),
    ]


def test_waiver_from_base_applies_and_expired_one_blocks(repo: Repo) -> None:
    today = datetime.date.today()
    soon = (today + datetime.timedelta(days=3)).isoformat()
    gone = (today - datetime.timedelta(days=1)).isoformat()
    repo.write(
        ".gatekeeper/waivers.yml",
        "waivers:\n"
        f"  - {{policy: TEST-NO-PRIVILEGED, name: p, owner: a, reason: r, ticket: T-1,"
        f" expires: '{soon}'}}\n"
        f"  - {{policy: TEST-NO-PRIVILEGED, name: q, owner: b, reason: r, ticket: T-2,"
        f" expires: '{gone}'}}\n",
    )
    repo.write("deploy/p.yaml", pod(("app", False), name="p"))
    repo.write("deploy/q.yaml", pod(("app", False), name="q"))
    repo.commit("base")
    repo.branch("pr")
    repo.write("deploy/p.yaml", pod(("app", True), name="p"))
    repo.write("deploy/q.yaml", pod(("app", True), name="q"))
    repo.commit("privileged")
    result = scan_change(repo.root, "main")
    findings = {(f.policy_id, f.file): f for f in result.verdict.findings}
    waived = findings[("TEST-NO-PRIVILEGED", "deploy/p.yaml")]
    assert waived.status == "waived" and not waived.blocking
    assert waived.waiver is not None and waived.waiver["ticket"] == "T-1"
    assert findings[("TEST-NO-PRIVILEGED", "deploy/q.yaml")].blocking
    expired = findings[("GK-WAIVER-EXPIRED", ".gatekeeper/waivers.yml")]
    assert expired.blocking and expired.line == 3
    assert [w.ticket for w in result.expiring_waivers] == ["T-1"]
    assert not findings[("GK-WAIVER-EXPIRING", ".gatekeeper/waivers.yml")].blocking


def test_waiver_beyond_horizon_is_a_config_error(repo: Repo, gatekeeper: Gatekeeper) -> None:
    far = (datetime.date.today() + datetime.timedelta(days=400)).isoformat()
    repo.write(
        ".gatekeeper/waivers.yml",
        "waivers:\n  - policy: TEST-NO-PRIVILEGED\n    name: p\n    owner: a\n    reason: r\n"
        f"    ticket: T-1\n    expires: '{far}'\n",
    )
    repo.write("deploy/p.yaml", pod(("app", True)))
    repo.commit("base")
    run = gatekeeper("scan", "deploy", cwd=repo.root)
    assert run.returncode == 2
    assert ".gatekeeper/waivers.yml:7:" in run.stderr and "maxHorizonDays" in run.stderr
    repo.write(".gatekeeper/waivers.yml", "waivers:\n  - {policy: X, owner: a}\n")
    run = gatekeeper("scan", "deploy", cwd=repo.root)
    assert run.returncode == 2 and ".gatekeeper/waivers.yml:2:" in run.stderr


@pytest.mark.parametrize("policy", ["'*'", "K8S-PSS-*", "k8s-pss-privileged"])
def test_a_waiver_of_a_pattern_is_a_config_error(
    repo: Repo, gatekeeper: Gatekeeper, policy: str
) -> None:
    """A waiver names one policy id: `*` matched no finding and said nothing, so its author
    believed the finding waived (red team s14: round 4's own WAIVE=1 check waived nothing)."""
    soon = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()
    repo.write(
        ".gatekeeper/waivers.yml",
        "waivers:\n  - owner: a\n    reason: r\n    ticket: T-1\n    file: 'deploy/**'\n"
        f"    expires: '{soon}'\n    policy: {policy}\n",
    )
    repo.write("deploy/p.yaml", pod(("app", True)))
    repo.commit("base")
    run = gatekeeper("scan", "deploy", cwd=repo.root)
    assert run.returncode == 2
    assert ".gatekeeper/waivers.yml:7:" in run.stderr and "not a policy id" in run.stderr


def test_plain_scan_reports_waived_findings(repo: Repo, gatekeeper: Gatekeeper) -> None:
    soon = (datetime.date.today() + datetime.timedelta(days=20)).isoformat()
    repo.write(
        ".gatekeeper/waivers.yml",
        f"waivers:\n  - {{policy: TEST-NO-PRIVILEGED, file: 'deploy/**', owner: a, reason: r,"
        f" ticket: T-9, expires: '{soon}'}}\n",
    )
    repo.write("deploy/p.yaml", pod(("app", True)))
    run = gatekeeper("scan", "deploy", "--format", "json", cwd=repo.root)
    assert run.returncode == 0, run.stdout + run.stderr
    [finding] = json.loads(run.stdout)["findings"]
    assert finding["status"] == "waived" and finding["waiver"]["ticket"] == "T-9"


def test_inline_skips(repo: Repo, gatekeeper: Gatekeeper) -> None:
    skipped = "# gatekeeper:skip=TEST-NO-PRIVILEGED needs host devices (OPS-7)\n"
    repo.write("deploy/a.yaml", skipped + pod(("app", True), name="a"))
    repo.write("deploy/b.yaml", pod(("app", False), name="b"))
    repo.commit("base")
    run = gatekeeper("scan", "deploy", cwd=repo.root)
    assert run.returncode == 0 and "(waived)" in run.stdout
    repo.branch("pr")
    repo.write("deploy/a.yaml", skipped + pod(("app", True), ("side", True), name="a"))
    repo.write("deploy/b.yaml", skipped + pod(("app", True), name="b"))
    repo.commit("skip added in the PR")
    findings = scan_change(repo.root, "main").verdict.findings
    statuses = sorted((f.file, f.policy_id, f.status, f.blocking) for f in findings)
    assert statuses == [
        # The base had the annotation, for container app: `side` is the change's own (r20).
        ("deploy/a.yaml", "TEST-NO-PRIVILEGED", "new", True),
        ("deploy/b.yaml", "GK-POLICY-CHANGE", "new", False),
        ("deploy/b.yaml", "TEST-NO-PRIVILEGED", "new", True),  # added by the PR: no effect
    ]
    repo.write("deploy/c.yaml", "# gatekeeper:skip=TEST-NO-PRIVILEGED\n" + pod(("app", True)))
    run = gatekeeper("scan", "deploy/c.yaml", cwd=repo.root)
    assert run.returncode == 1
    assert (
        "GK-INLINE-SKIP [blocking]: gatekeeper:skip=TEST-NO-PRIVILEGED has no reason" in run.stdout
    )
    assert "HIGH TEST-NO-PRIVILEGED [blocking]" in run.stdout
    repo.write(".gatekeeper.yml", CONFIG + "waivers: {forbidInlineSkips: true}\n")
    run = gatekeeper("scan", "deploy/a.yaml", cwd=repo.root)
    assert run.returncode == 1
    assert "deploy/a.yaml:1:1: MEDIUM GK-INLINE-SKIP [blocking]" in run.stdout


def test_overrides_per_directory(repo: Repo, gatekeeper: Gatekeeper) -> None:
    repo.write(
        ".gatekeeper.yml",
        CONFIG + "overrides:\n  - {path: 'legacy/**', disable: [TEST-NO-PRIVILEGED]}\n"
        "  - {path: 'lab/**', severityThreshold: critical}\n",
    )
    for directory in ("legacy", "lab", "prod"):
        repo.write(f"{directory}/p.yaml", pod(("app", True)))
    run = gatekeeper("scan", ".", "--format", "json", cwd=repo.root)
    findings = json.loads(run.stdout)["findings"]
    assert sorted((f["file"], f["blocking"]) for f in findings) == [
        ("lab/p.yaml", False),
        ("prod/p.yaml", True),
    ]
    repo.write(".gatekeeper.yml", CONFIG + "overrides:\n  - {path: x, bogus: 1}\n")
    run = gatekeeper("scan", ".", cwd=repo.root)
    assert run.returncode == 2 and ".gatekeeper.yml:5:" in run.stderr


def test_cli_base_head(repo: Repo, gatekeeper: Gatekeeper) -> None:
    repo.write("deploy/pod.yaml", pod(("app", False)))
    repo.commit("base")
    repo.branch("pr")
    repo.write("deploy/pod.yaml", pod(("app", True)))
    repo.commit("pr")
    run = gatekeeper("scan", "--base", "main", cwd=repo.root)
    assert run.returncode == 1
    assert "deploy/pod.yaml:9:9: HIGH TEST-NO-PRIVILEGED [blocking]" in run.stdout
    assert gatekeeper("scan", "--base", "main", "--head", "main", cwd=repo.root).returncode == 0
    run = gatekeeper("scan", "--base", "nope", cwd=repo.root)
    assert run.returncode == 2 and "unknown git revision: nope" in run.stderr


def test_git_policy_source_and_lock(repo: Repo, tmp_path: Path, gatekeeper: Gatekeeper) -> None:
    policies = Repo(tmp_path / "policy-repo")
    policies.write("k8s/no-privileged.yaml", POLICY)
    policies.commit("v1")
    policies.git.create_tag("v1")
    policies.write("k8s/no-privileged.yaml", POLICY.replace("severity: high", "severity: low"))
    policies.commit("v2")
    policies.git.create_tag("v2")
    url = (tmp_path / "policy-repo").as_uri()
    repo.write(
        ".gatekeeper.yml", f"builtin: false\npolicies:\n  - {{git: '{url}', ref: v1, path: k8s}}\n"
    )
    repo.write("deploy/pod.yaml", pod(("app", True)))
    run = gatekeeper("scan", "deploy", cwd=repo.root)
    assert run.returncode == 2 and "run `gatekeeper lock`" in run.stderr
    run = gatekeeper("lock", cwd=repo.root)
    assert run.returncode == 0, run.stderr
    lock = json.loads((repo.root / "gatekeeper.lock").read_text())
    assert lock["sources"][0]["commit"] == policies.git.commit("v1").hexsha
    run = gatekeeper("scan", "deploy", cwd=repo.root)
    assert run.returncode == 1 and "HIGH TEST-NO-PRIVILEGED" in run.stdout
    # Moving the tag does not move the scan: the lock pins the commit.
    policies.git.git.tag("-f", "v1", "v2")
    run = gatekeeper("scan", "deploy", cwd=repo.root)
    assert run.returncode == 1 and "HIGH TEST-NO-PRIVILEGED" in run.stdout
    # A config naming another ref makes the lock stale until `gatekeeper lock` runs.
    repo.write(".gatekeeper.yml", (repo.root / ".gatekeeper.yml").read_text().replace("v1", "v2"))
    run = gatekeeper("scan", "deploy", cwd=repo.root)
    assert run.returncode == 2 and "stale lock" in run.stderr
    assert gatekeeper("lock", cwd=repo.root).returncode == 0
    run = gatekeeper("scan", "deploy", cwd=repo.root)
    assert run.returncode == 0 and "LOW TEST-NO-PRIVILEGED" in run.stdout


NETPOL_POLICY = """\
id: TEST-NETPOL
title: A NetworkPolicy per namespace
severity: medium
scope: repository
description: test policy
remediation: add one
match: {source: kubernetes, kinds: [Pod]}
rule: "'NetworkPolicy' in inventory.namespace"
message: "namespace {{ item.namespace }} has no NetworkPolicy"
"""
NETPOL = (
    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: d, namespace: team}\n"
)


def netpol_change(repo: Repo) -> None:
    """main: a pod and a NetworkPolicy in `team`; the branch `pr` adds a pod."""
    repo.write("policies/netpol.yaml", NETPOL_POLICY)
    repo.write("deploy/pod.yaml", pod(("app", False)))
    repo.write("net/deny.yaml", NETPOL)
    repo.commit("base")
    repo.branch("pr")
    repo.write("deploy/other.yaml", pod(("x", False), name="other"))
    repo.commit("add a pod: the NetworkPolicy in an unchanged file counts")


def test_repository_scope_sees_the_whole_head_tree(repo: Repo) -> None:
    netpol_change(repo)
    assert scan_change(repo.root, "main").verdict.findings == []
    (repo.root / "net/deny.yaml").unlink()
    repo.commit("delete the NetworkPolicy")
    findings = scan_change(repo.root, "main").verdict.findings
    assert sorted((f.file, f.status, f.blocking) for f in findings) == [
        ("deploy/other.yaml", "new", True),
        ("deploy/pod.yaml", "new", True),  # an unchanged file: the change caused it
    ]


def test_change_sarif_is_valid_with_baseline_states(repo: Repo, gatekeeper: Gatekeeper) -> None:
    import jsonschema

    from tests.conftest import REPO

    repo.write("deploy/pod.yaml", pod(("app", True), ("db", True)))
    repo.commit("base")
    repo.branch("pr")
    repo.write("deploy/pod.yaml", pod(("app", False), ("db", True), ("new", True)))
    repo.write("policies/extra.yaml", POLICY.replace("TEST-NO-PRIVILEGED", "TEST-EXTRA"))
    repo.commit("pr")
    run = gatekeeper(
        "scan", "--base", "main", "--filter", "file", "-f", "sarif",
        "--sarif-min-severity", "info", cwd=repo.root,
    )  # fmt: skip
    assert run.returncode == 1, run.stderr
    sarif = json.loads(run.stdout)
    schema = json.loads((REPO / "tests/data/sarif-2.1.0.json").read_text())
    jsonschema.validate(sarif, schema)
    states = sorted((r["ruleId"], r["baselineState"]) for r in sarif["runs"][0]["results"])
    # The fixed finding (app) is no result: code scanning would open an alert on a fine line.
    assert states == [
        ("GK-POLICY-CHANGE", "new"),
        ("TEST-NO-PRIVILEGED", "new"),
        ("TEST-NO-PRIVILEGED", "unchanged"),
    ]
    assert sarif["runs"][0]["properties"]["fixedNotReported"] == 1


def test_pr_changing_a_helm_values_line_reports_a_new_finding_at_the_template(
    repo: Repo,
) -> None:
    """Only values-prod.yaml changes: the chart is rendered on both sides, and the new finding
    sits at the template line with the changed values line attributed."""
    import shutil

    chart = Path(__file__).parent / "data" / "helm" / "web"
    shutil.copytree(chart, repo.root / "charts" / "web")
    repo.write(
        ".gatekeeper.yml",
        CONFIG
        + "sources:\n  helm:\n    charts:\n      - path: charts/web\n"
        + "        valuesFiles: [charts/web/values-prod.yaml]\n",
    )
    values = (repo.root / "charts/web/values-prod.yaml").read_text()
    repo.write(
        "charts/web/values-prod.yaml", values.replace("privileged: true", "privileged: false")
    )
    repo.commit("base")
    repo.branch("pr")
    repo.write("charts/web/values-prod.yaml", values)
    repo.commit("make it privileged")
    findings = scan_change(repo.root, "main").verdict.findings
    new = sorted((f.file, f.line, f.extra.get("values")) for f in findings if f.status == "new")
    assert new == [
        ("charts/web/charts/cache/templates/pod.yaml", 10, "charts/web/values-prod.yaml:8"),
        ("charts/web/templates/deployment.yaml", 25, "charts/web/values-prod.yaml:3"),
    ]


SKIP = "# gatekeeper:skip=TEST-NO-PRIVILEGED needs host devices (OPS-7)\n"


def test_inline_skip_binds_to_the_object_that_carried_it_in_the_base(repo: Repo) -> None:
    repo.write(
        "deploy/pods.yaml",
        SKIP + pod(("app", True), name="a") + "---\n" + pod(("app", False), name="b"),
    )
    repo.commit("base: a is skipped")
    repo.branch("pr")
    # The annotation moves to b (now privileged); a loses it.
    moved = pod(("app", True), name="a") + "---\n" + SKIP + pod(("app", True), name="b")
    repo.write("deploy/pods.yaml", moved)
    repo.commit("move the skip")
    findings = scan_change(repo.root, "main", filter_mode="file").verdict.findings
    statuses = sorted((f.policy_id, f.name, f.line, f.status, f.blocking) for f in findings)
    assert statuses == [
        ("GK-POLICY-CHANGE", "", 11, "new", False),  # "Inline skip added", at the annotation
        # waived in the base, no longer: the change makes a's violation count
        ("TEST-NO-PRIVILEGED", "a", 9, "new", True),
        ("TEST-NO-PRIVILEGED", "b", 20, "new", True),
    ]
    assert [f.title for f in findings if f.policy_id == "GK-POLICY-CHANGE"] == ["Inline skip added"]
    # Copied: a keeps its annotation (honoured), b's copy is not.
    repo.write("deploy/pods.yaml", SKIP + moved)
    repo.commit("copy the skip")
    findings = scan_change(repo.root, "main", filter_mode="file").verdict.findings
    statuses = sorted((f.policy_id, f.name, f.status, f.blocking) for f in findings)
    assert statuses == [
        ("GK-POLICY-CHANGE", "", "new", False),
        ("TEST-NO-PRIVILEGED", "a", "waived", False),
        ("TEST-NO-PRIVILEGED", "b", "new", True),
    ]
    # Renamed file, same object: still honoured for container app; the new privileged
    # container `side` is the change's own (red team r20), not the skip's.
    repo.git.git.checkout("-q", "main")
    repo.branch("rename")
    repo.mv("deploy/pods.yaml", "apps/pods.yaml")
    text = (
        SKIP
        + pod(("app", True), ("side", True), name="a")
        + "---\n"
        + pod(("app", False), name="b")
    )
    repo.write("apps/pods.yaml", text)
    repo.commit("rename")
    findings = scan_change(repo.root, "main", filter_mode="file").verdict.findings
    assert sorted((f.policy_id, f.status) for f in findings) == [
        ("TEST-NO-PRIVILEGED", "new"),
        ("TEST-NO-PRIVILEGED", "waived"),
    ]
    # Same file, the object renamed: a new identity, so a new skip.
    repo.write("apps/pods.yaml", text.replace("name: a,", "name: c,"))
    repo.commit("rename the object")
    findings = scan_change(repo.root, "main").verdict.findings
    assert sorted((f.policy_id, f.name, f.status, f.blocking) for f in findings) == [
        ("GK-POLICY-CHANGE", "", "new", False),
        ("TEST-NO-PRIVILEGED", "a", "fixed", False),
        ("TEST-NO-PRIVILEGED", "c", "new", True),
        ("TEST-NO-PRIVILEGED", "c", "new", True),
    ]


def test_document_identities_of_manifests_lists_and_templates() -> None:
    from gatekeeper.waivers import document_identities, inline_skips

    lists = (
        SKIP
        + "apiVersion: v1\nkind: List\nitems:\n  - "
        + pod(("a", True), name="x").replace("\n", "\n    ")
    )
    [skip] = inline_skips("l.yaml", lists)
    assert document_identities(skip, lists) == {("List", "", ""), ("Pod", "team", "x")}
    template = (
        "---\n"
        + SKIP
        + "kind: Pod\nmetadata:\n  name: {{ .Release.Name }}-web\n\n  labels: {a: b}\nspec: {}\n"
    )
    [skip] = inline_skips("templates/t.yaml", template)
    assert document_identities(skip, template) == {("Pod", "", "{{ .Release.Name }}-web")}
    dockerfile = "# gatekeeper:skip=DF-1 reason\nFROM x\n"
    [skip] = inline_skips("Dockerfile", dockerfile)
    assert document_identities(skip, dockerfile) == {("", "", "")}


def test_an_overlay_that_brings_a_known_violation_to_another_environment_is_new(
    repo: Repo,
) -> None:
    """The base is privileged and built by the dev overlay (an existing finding); a change
    adding a prod overlay deploys it once more: the one finding at the base line is new for
    prod, and blocks."""
    repo.write("base/pod.yaml", pod(("app", True)))
    repo.write("base/kustomization.yaml", "resources:\n  - pod.yaml\n")
    repo.write("overlays/dev/kustomization.yaml", "namePrefix: dev-\nresources:\n  - ../../base\n")
    repo.commit("base")
    repo.branch("pr")
    repo.write(
        "overlays/prod/kustomization.yaml", "namePrefix: prod-\nresources:\n  - ../../base\n"
    )
    repo.write("base/pod.yaml", "# deployed to prod too\n" + pod(("app", True)))
    repo.commit("prod")
    verdict = scan_change(repo.root, "main", filter_mode="all").verdict
    new = [f for f in verdict.findings if f.status == "new"]
    assert [(f.file, f.line, f.extra.get("new_variants")) for f in new] == [
        ("base/pod.yaml", 10, ["kustomize overlays/prod"])
    ]
    assert verdict.exit_code == 1
