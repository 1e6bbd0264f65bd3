"""A change must not pass as "existing" when it deploys something new: exemptions tied to an
old place (advisory path, waiver, override, inline skip) do not follow a finding elsewhere,
a new rendering of a known violation is new, and what gatekeeper cannot judge is new
whenever its content changes (red-team findings r4-r8)."""

from __future__ import annotations

import datetime
import subprocess

import pytest

from gatekeeper.change import scan_change
from gatekeeper.finding import Finding
from tests.test_change import CONFIG, Repo, pod
from tests.test_change import repo as repo  # the fixture
from tests.test_change_scope import pull_request

POLICY_ID = "TEST-NO-PRIVILEGED"
AGENT = pod(("agent", True), name="agent")
TO_PROD = "resources: [legacy/agent.yaml]\nnamespace: prod\n"


def privileged(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.policy_id == POLICY_ID]


def blocking(repo: Repo) -> list[tuple[str, str, str]]:
    """(file, status, object) of each blocking finding of `scan --base main`."""
    result = scan_change(repo.root, "main")
    return sorted((f.file, f.status, f.name) for f in result.verdict.findings if f.blocking)


def test_moved_out_of_an_advisory_path_is_new(repo: Repo) -> None:
    """docs/ is advisory: the example did not block there; moved to apps/ it deploys."""
    repo.write("docs/examples/debug.yaml", pod(("shell", True), name="debug"))
    repo.commit("base")
    repo.branch("pr")
    repo.mv("docs/examples/debug.yaml", "apps/debug.yaml")
    repo.commit("move the example")
    [finding] = privileged(scan_change(repo.root, "main").verdict.findings)
    assert (finding.file, finding.status, finding.blocking) == ("apps/debug.yaml", "new", True)
    assert finding.extra["exempt_in_base"] == "in an advisory path"
    assert "did not block in the base (in an advisory path)" in finding.message


def test_moved_within_advisory_paths_stays_existing(repo: Repo) -> None:
    repo.write("docs/examples/debug.yaml", pod(("shell", True), name="debug"))
    repo.commit("base")
    repo.branch("pr")
    repo.mv("docs/examples/debug.yaml", "docs/old/debug.yaml")
    repo.commit("move the example")
    result = scan_change(repo.root, "main", filter_mode="all")
    [finding] = privileged(result.verdict.findings)
    assert (finding.status, finding.blocking) == ("existing", False)


EXPIRES = datetime.date.today() + datetime.timedelta(days=30)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (
            ".gatekeeper/waivers.yml",
            f"waivers:\n  - {{policy: {POLICY_ID}, file: 'legacy/**', owner: a, reason: r,"
            f" ticket: T-1, expires: {EXPIRES}}}\n",
        ),
        # An override's threshold holds for its directory, not where the file goes.
        (
            ".gatekeeper.yml",
            CONFIG + "overrides:\n  - {path: 'legacy/**', severityThreshold: critical}\n",
        ),
    ],
    ids=["waiver", "override"],
)
def test_moved_out_of_an_exemption_tied_to_its_path_is_new(
    repo: Repo, name: str, text: str
) -> None:
    repo.write(name, text)
    repo.write("legacy/agent.yaml", AGENT)
    repo.commit("base")
    repo.branch("pr")
    repo.mv("legacy/agent.yaml", "prod/agent.yaml")
    repo.commit("promote")
    assert blocking(repo) == [("prod/agent.yaml", "new", "agent")]


def test_a_plain_manifest_an_overlay_starts_building_is_new(repo: Repo) -> None:
    """r6: the base applies the file as written; the change adds an overlay that deploys it
    into another namespace (and touches the file, so its base side is scanned too)."""
    pull_request(
        repo,
        {"legacy/agent.yaml": AGENT},
        {"legacy/agent.yaml": "# owner: team-a\n" + AGENT, "kustomization.yaml": TO_PROD},
    )
    [finding] = privileged(scan_change(repo.root, "main").verdict.findings)
    assert (finding.status, finding.blocking) == ("new", True)
    assert finding.extra["new_variants"] == ["kustomize ."]
    assert "newly deployed by this change: kustomize ." in finding.message


def test_an_overlay_the_base_had_keeps_the_finding_existing(repo: Repo) -> None:
    pull_request(
        repo,
        {"legacy/agent.yaml": AGENT, "kustomization.yaml": TO_PROD},
        {"legacy/agent.yaml": "# owner: team-a\n" + AGENT},
    )
    result = scan_change(repo.root, "main", filter_mode="all")
    assert [(f.status, f.blocking) for f in privileged(result.verdict.findings)] == [
        ("existing", False)
    ]


def test_a_relaxed_directory_does_not_relax_a_new_overlay_elsewhere(repo: Repo) -> None:
    """r7 (overrides): `legacy/**` blocks only critical findings; an overlay in prod/ that
    deploys legacy/agent.yaml is judged by prod's threshold. Its base side is relaxed."""
    repo.write(
        ".gatekeeper.yml",
        CONFIG + "overrides:\n  - {path: 'legacy/**', severityThreshold: critical}\n",
    )
    pull_request(
        repo,
        {"legacy/agent.yaml": AGENT, "legacy/kustomization.yaml": "resources: [agent.yaml]\n"},
        {"prod/kustomization.yaml": "resources: [../legacy]\nnamespace: prod\n"},
    )
    assert blocking(repo) == [("legacy/agent.yaml", "new", "agent")]


def test_an_overlay_deploying_the_same_line_as_another_object_is_new(repo: Repo) -> None:
    """r5/kz2 family: the overlay's namespace moves from sandbox to prod. The rendered
    object's fingerprint names its source line, so only its identity tells."""
    pull_request(
        repo,
        {"legacy/agent.yaml": AGENT, "kustomization.yaml": TO_PROD.replace("prod", "sandbox")},
        {"kustomization.yaml": TO_PROD},
    )
    [finding] = privileged(scan_change(repo.root, "main").verdict.findings)
    assert (finding.namespace, finding.status, finding.blocking) == ("prod", "new", True)
    assert finding.extra["was_deployed_as"] == "Pod/sandbox/agent"


SKIPPED = "# gatekeeper:skip=TEST-NO-PRIVILEGED the device plugin needs /dev, OPS-17\n"


def test_an_inline_skip_does_not_follow_its_document_into_a_new_overlay(repo: Repo) -> None:
    """r7: the annotation waives the agent as the base deploys it, not a copy a new
    kustomization deploys into another namespace under another name."""
    repo.write("legacy/agent.yaml", SKIPPED + pod(("agent", True), name="agent"))
    repo.commit("base")
    repo.branch("pr")
    repo.write(
        "kustomization.yaml",
        "resources: [legacy/agent.yaml]\nnamespace: payments\nnamePrefix: prod-\n",
    )
    repo.commit("deploy to payments")
    [finding] = privileged(scan_change(repo.root, "main").verdict.findings)
    assert (finding.name, finding.status, finding.blocking) == ("prod-agent", "new", True)
    assert finding.extra["skip_not_inherited"] == "legacy/agent.yaml:1"


def test_an_inline_skip_holds_for_the_overlays_the_base_had(repo: Repo) -> None:
    repo.write("legacy/agent.yaml", SKIPPED + pod(("agent", True), name="agent"))
    repo.write(
        "kustomization.yaml",
        "resources: [legacy/agent.yaml]\nnamespace: payments\nnamePrefix: prod-\n",
    )
    repo.commit("base")
    repo.branch("pr")
    text = SKIPPED + pod(("agent", True), name="agent").replace("1.0", "1.1")
    repo.write("legacy/agent.yaml", text)
    repo.commit("new image")
    result = scan_change(repo.root, "main", filter_mode="all")
    assert [f.status for f in privileged(result.verdict.findings)] == ["waived"]
    assert not result.verdict.blocking


POD_TEXT = pod(("app", True), name="evil")


def test_a_submodule_bump_is_new(repo: Repo, tmp_path: object) -> None:
    """r8: gatekeeper cannot see into a submodule; another commit there is another unknown."""
    vendor = Repo(repo.root.parent / "vendor")
    vendor.write("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    vendor.commit("v1")
    add = ["git", "-c", "protocol.file.allow=always", "submodule", "-q", "add"]
    subprocess.run([*add, str(vendor.root), "apps/vendor"], cwd=repo.root, check=True)
    repo.commit("base")
    vendor.write("pod.yaml", POD_TEXT)
    vendor.commit("v2")
    repo.branch("pr")
    pull = ["git", "-c", "protocol.file.allow=always", "pull", "-q", "origin", "main"]
    subprocess.run(pull, cwd=repo.root / "apps/vendor", check=True)
    repo.commit("bump")
    result = scan_change(repo.root, "main")
    [read] = result.verdict.findings  # said once: its base twin is not "fixed"
    assert (read.policy_id, read.file, read.status, read.blocking) == (
        "GK-READ-ERROR",
        "apps/vendor",
        "new",
        True,
    )
    assert read.message.endswith("(its content changed, unjudged again)")


def test_an_unchanged_submodule_stays_existing(repo: Repo) -> None:
    vendor = Repo(repo.root.parent / "vendor")
    vendor.write("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    vendor.commit("v1")
    add = ["git", "-c", "protocol.file.allow=always", "submodule", "-q", "add"]
    subprocess.run([*add, str(vendor.root), "apps/vendor"], cwd=repo.root, check=True)
    repo.commit("base")
    repo.branch("pr")
    repo.write(".gitmodules", (repo.root / ".gitmodules").read_text() + "# a comment\n")
    repo.commit("comment")
    result = scan_change(repo.root, "main", filter_mode="all")
    statuses = [f.status for f in result.verdict.findings if f.policy_id == "GK-READ-ERROR"]
    assert statuses == ["existing"] and not result.verdict.blocking


def test_a_pod_appended_to_a_file_over_the_size_limit_is_new(repo: Repo) -> None:
    """r8: the file was too large to scan before and after; what it holds changed."""
    filler = "".join(
        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}}}\ndata: {{b: {'x' * 8000}}}"
        "\n---\n"
        for i in range(1100)
    )
    pull_request(repo, {"bundle.yaml": filler}, {"bundle.yaml": filler + POD_TEXT})
    [large] = scan_change(repo.root, "main").verdict.findings
    assert (large.policy_id, large.file, large.blocking) == (
        "GK-FILE-TOO-LARGE",
        "bundle.yaml",
        True,
    )


def test_a_git_lfs_pointer_is_not_judged_and_says_so(repo: Repo) -> None:
    """r8: Argo CD applies the LFS object's content (enableLfs); the pointer is all we see."""
    repo.write(".gitattributes", "apps/*.yaml filter=lfs diff=lfs merge=lfs -text\n")
    repo.commit("base")
    repo.branch("pr")
    repo.write(
        "apps/web.yaml",
        f"version https://git-lfs.github.com/spec/v1\noid sha256:{'4d7a' * 16}\nsize 512\n",
    )
    repo.commit("pointer")
    result = scan_change(repo.root, "main")
    [lfs] = result.verdict.findings
    assert (lfs.policy_id, lfs.file, lfs.status, lfs.blocking) == (
        "GK-LFS-POINTER",
        "apps/web.yaml",
        "new",
        True,
    )
    assert "Git LFS pointer" in lfs.message


def test_a_skip_added_ahead_of_any_violation_blocks(repo: Repo) -> None:
    """r15: annotate a compliant document in one change (it used to be an info finding),
    make it privileged in the next (the annotation, now in the base, waived it all)."""
    repo.write("apps/web.yaml", pod(("web", False), name="web"))
    repo.commit("base")
    repo.branch("pr")
    repo.write("apps/web.yaml", SKIPPED + pod(("web", False), name="web"))
    repo.commit("annotate")
    result = scan_change(repo.root, "main")
    [ahead] = result.verdict.findings
    assert (ahead.policy_id, ahead.line, ahead.severity, ahead.blocking) == (
        "GK-INLINE-SKIP-AHEAD",
        1,
        "high",  # the skipped policy's severity
        True,
    )
    assert "a code owner of .gatekeeper/waivers.yml must approve it" in ahead.message


def test_a_skip_added_for_a_violation_the_change_shows_is_for_review(repo: Repo) -> None:
    """The violation is reported (and blocks: the annotation takes effect once merged);
    the annotation itself is an info finding, as before."""
    repo.write("apps/web.yaml", pod(("web", True), name="web"))
    repo.commit("base")
    repo.branch("pr")
    repo.write("apps/web.yaml", SKIPPED + pod(("web", True), name="web"))
    repo.commit("annotate")
    result = scan_change(repo.root, "main", filter_mode="all")
    found = sorted((f.policy_id, f.status, f.blocking) for f in result.verdict.findings)
    assert found == [("GK-POLICY-CHANGE", "new", False), (POLICY_ID, "existing", False)]


OWN = "https://github.com/acme/platform"
UNPLACED = AGENT.replace(", namespace: team", "")


def application(namespace: str, cluster: str = "https://kubernetes.default.svc") -> str:
    return (
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\n"
        "metadata: {name: agent, namespace: argocd}\nspec:\n  project: default\n"
        f"  source: {{repoURL: '{OWN}', path: legacy, targetRevision: HEAD}}\n"
        f"  destination: {{server: '{cluster}', namespace: {namespace}}}\n"
    )


def own_repo(repo: Repo) -> None:
    repo.write(".gatekeeper.yml", CONFIG + f"sources:\n  gitops:\n    repoURLs: [{OWN}]\n")


def test_an_application_moving_a_plain_manifest_to_another_namespace_is_new(repo: Repo) -> None:
    """The file is judged as written too, and that finding is the one kept (its fingerprint
    stays when deployers come and go); the Application sending it from `sandbox` to `prod`
    is still a change (scanner.merge_variants keeps what the renderings deploy it as)."""
    own_repo(repo)
    pull_request(
        repo,
        {"legacy/agent.yaml": UNPLACED, "apps/agent.yaml": application("sandbox")},
        {"apps/agent.yaml": application("prod"), "legacy/agent.yaml": "# t\n" + UNPLACED},
    )
    [finding] = privileged(scan_change(repo.root, "main").verdict.findings)
    assert (finding.file, finding.status, finding.blocking) == ("legacy/agent.yaml", "new", True)
    assert finding.extra["deployed_as"] == ["Pod/prod/agent"]
    assert "Pod/sandbox/agent" in finding.extra["was_deployed_as"]
    assert "deployed as another object than in the base" in finding.message


def test_an_application_sent_to_another_cluster_is_new(repo: Repo) -> None:
    own_repo(repo)
    sandbox = "https://sandbox.example:6443"
    pull_request(
        repo,
        {"legacy/agent.yaml": UNPLACED, "apps/agent.yaml": application("ops", sandbox)},
        {"apps/agent.yaml": application("ops", "https://prod.example:6443")},
    )
    [finding] = privileged(scan_change(repo.root, "main").verdict.findings)
    assert (finding.status, finding.blocking) == ("new", True)
    assert finding.extra["new_variants"] == [
        "deployed by apps/agent.yaml:agent on cluster https://prod.example:6443"
    ]


def test_an_application_kept_where_it_was_stays_existing(repo: Repo) -> None:
    own_repo(repo)
    pull_request(
        repo,
        {"legacy/agent.yaml": UNPLACED, "apps/agent.yaml": application("sandbox", "prod")},
        {"apps/agent.yaml": "# moved nothing\n" + application("sandbox", "prod")},
    )
    result = scan_change(repo.root, "main", filter_mode="all")
    assert [(f.status, f.blocking) for f in privileged(result.verdict.findings)] == [
        ("existing", False)
    ]


def test_an_inline_skip_keeps_covering_what_the_base_had_when_the_file_changes(
    repo: Repo,
) -> None:
    """r20: the skip speaks for the findings the base had under it (container agent), also
    when the PR edits the file; not for a second privileged container the PR adds."""
    repo.write("legacy/agent.yaml", SKIPPED + pod(("agent", True), name="agent"))
    repo.commit("base")
    repo.branch("pr")
    repo.write("legacy/agent.yaml", SKIPPED + pod(("agent", True), name="agent") + "# t\n")
    repo.commit("touch")
    result = scan_change(repo.root, "main", filter_mode="all")
    assert [(f.status, f.blocking) for f in privileged(result.verdict.findings)] == [
        ("waived", False)
    ]
    repo.write("legacy/agent.yaml", SKIPPED + pod(("agent", True), ("tool", True), name="agent"))
    repo.commit("a second privileged container")
    found = privileged(scan_change(repo.root, "main", filter_mode="all").verdict.findings)
    assert sorted((f.message.split(";")[0], f.status, f.blocking) for f in found) == [
        ("agent is privileged", "waived", False),
        ("tool is privileged", "new", True),
    ]


GATE_STEP = (
    "on: pull_request\njobs:\n  gate:\n    runs-on: ubuntu-latest\n    steps:\n"
    "      - uses: actions/checkout@v4\n      - run: gatekeeper scan --base origin/main{}\n"
)
HOOK = (
    "repos:\n  - repo: https://github.com/acme/gatekeeper\n    rev: v1.0.0\n"
    "    hooks:\n      - id: gatekeeper{}\n"
)


def test_switching_the_gate_off_where_it_runs_is_said(repo: Repo) -> None:
    """r19: `--exit-zero` on the workflow step, an `exclude:` on the pre-commit hook: the
    pull request's own copy of these runs, so a change to them is said for review."""
    pull_request(
        repo,
        {
            ".github/workflows/gate.yml": GATE_STEP.format(""),
            ".pre-commit-config.yaml": HOOK.format(""),
        },
        {
            ".github/workflows/gate.yml": GATE_STEP.format(" --exit-zero"),
            ".pre-commit-config.yaml": HOOK.format("\n        exclude: ^apps/"),
        },
    )
    found = scan_change(repo.root, "main").verdict.findings
    said = sorted((f.policy_id, f.file, f.message.rsplit("(", 1)[-1]) for f in found)
    assert said == [
        ("GK-POLICY-CHANGE", ".github/workflows/gate.yml", "workflow: it runs gatekeeper)"),
        ("GK-POLICY-CHANGE", ".pre-commit-config.yaml", "it runs gatekeeper as a pre-commit hook)"),
    ]


def test_a_workflow_that_does_not_run_the_gate_is_no_gate_file(repo: Repo) -> None:
    lint = GATE_STEP.replace("gatekeeper scan --base origin/main{}", "make lint{}")
    pull_request(
        repo,
        {".github/workflows/lint.yml": lint.format("")},
        {".github/workflows/lint.yml": lint.format(" -k")},
    )
    assert [f.policy_id for f in scan_change(repo.root, "main").verdict.findings] == []
