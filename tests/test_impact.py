"""`gatekeeper impact`: a policy repository sees what a change does to its consumers."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import PRIVILEGED_POLICY, Run
from tests.test_change import Repo

Gatekeeper = Callable[..., Run]

HOST_NETWORK = """\
id: ORG-NO-HOST-NETWORK
title: No host network
severity: low
description: test policy
remediation: do not
match: {source: kubernetes, kinds: [Pod]}
rule: "!object.spec.?hostNetwork.orValue(false)"
field: spec.hostNetwork
message: "{{ object.metadata.name }} uses the host network"
"""

# A policy with a match condition (a compiled CEL program: compared by its text).
SCOPED = HOST_NETWORK.replace("ORG-NO-HOST-NETWORK", "ORG-SCOPED").replace(
    "match: {source: kubernetes, kinds: [Pod]}",
    "match: {source: kubernetes, kinds: [Pod], condition: \"object.metadata.name != 'a'\"}",
)


def pod(name: str, privileged: bool, host_network: bool) -> str:
    return (
        f"apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n"
        f"  hostNetwork: {str(host_network).lower()}\n  containers:\n    - name: c\n"
        f"      image: ghcr.io/acme/c:1.0\n"
        f"      securityContext: {{privileged: {str(privileged).lower()}}}\n"
    )


def test_impact_of_a_policy_change_on_two_consumers(gatekeeper: Gatekeeper, tmp_path: Path) -> None:
    """base: a privileged rule and a low host-network rule; head: the host-network rule made
    high (blocking) and the privileged rule removed. Consumer a (host network, privileged):
    one newly blocking, one fixed; consumer b (clean): nothing."""
    policies = tmp_path / "policies"
    repo = Repo(policies)
    repo.write("k8s/privileged.yaml", PRIVILEGED_POLICY)
    repo.write("k8s/host-network.yaml", HOST_NETWORK)
    repo.commit("v1")
    repo.git.git.tag("v1")
    (policies / "k8s/privileged.yaml").unlink()
    repo.write("k8s/host-network.yaml", HOST_NETWORK.replace("low", "high"))
    repo.commit("v2")
    consumer_a, consumer_b = tmp_path / "a", tmp_path / "b"
    (consumer_a / "deploy").mkdir(parents=True)
    (consumer_b / "deploy").mkdir(parents=True)
    (consumer_a / "deploy/pod.yaml").write_text(pod("web", True, True))
    (consumer_b / "deploy/pod.yaml").write_text(pod("api", False, False))
    run = gatekeeper(
        "impact", "--base", "v1", "--path", "k8s", "--against", str(consumer_a),
        "--against", str(consumer_b), "--format", "json", cwd=policies,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["summary"] == "this change would newly block 1 finding in 1 of 2 consumers"
    a, b = report["consumers"]
    assert [(f["policy_id"], f["file"], f["line"]) for f in a["fixed"]] == [
        ("TEST-NO-PRIVILEGED", "deploy/pod.yaml", 9)
    ]
    assert [(f["policy_id"], f["from"], f["severity"]) for f in a["severity_changed"]] == [
        ("ORG-NO-HOST-NETWORK", "low", "high")
    ]
    assert a["newly_blocking"] == 1 and a["new"] == []
    assert (b["newly_blocking"], b["new"], b["fixed"], b["severity_changed"]) == (0, [], [], [])
    text = gatekeeper(
        "impact", "--base", "v1", "--path", "k8s", "--against", str(consumer_a), cwd=policies
    )
    assert "low -> high ORG-NO-HOST-NETWORK deploy/pod.yaml:5" in text.stdout
    assert text.stdout.endswith("this change would newly block 1 finding in 1 of 1 consumer\n")


def test_changelog_lists_policies_added_removed_and_changed(
    gatekeeper: Gatekeeper, tmp_path: Path
) -> None:
    policies = tmp_path / "policies"
    repo = Repo(policies)
    repo.write("privileged.yaml", PRIVILEGED_POLICY)
    repo.write("host.yaml", HOST_NETWORK)
    repo.write("scoped.yaml", SCOPED)
    repo.write("narrowed.yaml", SCOPED.replace("ORG-SCOPED", "ORG-NARROWED").replace("'a'", "'b'"))
    repo.commit("v1")
    repo.git.git.tag("v1")
    (policies / "privileged.yaml").unlink()
    repo.write(
        "host.yaml",
        HOST_NETWORK.replace("low", "high").replace(
            "remediation: do not", "remediation: not so\nparams: {x: 1}"
        ),
    )
    repo.write("new.yaml", PRIVILEGED_POLICY.replace("TEST-NO-PRIVILEGED", "ORG-NEW"))
    repo.write("scoped.yaml", SCOPED)  # the same at both tags: no news
    repo.write("narrowed.yaml", SCOPED.replace("ORG-SCOPED", "ORG-NARROWED"))
    repo.commit("v2")
    run = gatekeeper("changelog", "--from", "v1", cwd=policies)
    assert run.returncode == 0, run.stderr
    assert run.stdout == (
        "## Added\n\n- `ORG-NEW` (high): No privileged containers\n\n"
        "## Removed\n\n- `TEST-NO-PRIVILEGED` (high): No privileged containers\n\n"
        "## Changed\n\n- `ORG-NARROWED`: what it matches\n"
        "- `ORG-NO-HOST-NETWORK`: severity low -> high; parameters x\n"
    )


def test_lock_shows_the_release_notes_of_each_policy_source_that_moves(
    gatekeeper: Gatekeeper, tmp_path: Path
) -> None:
    """v1 -> v2 by editing the ref; then a tag moved under the pin: only --update follows it."""
    policies = Repo(tmp_path / "policies")
    policies.write("k8s/privileged.yaml", PRIVILEGED_POLICY)
    policies.write("k8s/host-network.yaml", HOST_NETWORK)
    policies.write("other/ignored.yaml", PRIVILEGED_POLICY.replace("TEST-NO-", "OTHER-"))
    v1 = policies.commit("v1")
    policies.git.git.tag("v1")
    (policies.root / "k8s/privileged.yaml").unlink()
    policies.write("k8s/host-network.yaml", HOST_NETWORK.replace("low", "high"))
    policies.write("other/new.yaml", PRIVILEGED_POLICY.replace("TEST-NO-", "OTHER-NEW-"))
    v2 = policies.commit("v2")
    policies.git.git.tag("v2")
    url = policies.root.as_uri()
    consumer = Repo(tmp_path / "consumer")
    consumer.write(
        ".gatekeeper.yml", f"builtin: false\npolicies: [{{git: '{url}', ref: v1, path: k8s}}]\n"
    )
    consumer.commit("use v1")
    first = gatekeeper("lock", cwd=consumer.root)
    assert first.returncode == 0, first.stderr
    assert first.stdout == ""  # a new pin moved from nowhere: no notes
    assert f"{url} v1 -> {v1}" in first.stderr
    config = consumer.root / ".gatekeeper.yml"
    config.write_text(config.read_text().replace("ref: v1", "ref: v2"))
    moved = gatekeeper("lock", cwd=consumer.root)
    assert moved.returncode == 0, moved.stderr
    assert moved.stdout == (
        f"## {url} (k8s): v1 ({v1[:12]}) -> v2 ({v2[:12]})\n\n"
        "### Removed\n\n- `TEST-NO-PRIVILEGED` (high): No privileged containers\n\n"
        "### Changed\n\n- `ORG-NO-HOST-NETWORK`: severity low -> high\n"
    )  # `other/` is not this source's directory: OTHER-NEW is no news here
    assert gatekeeper("lock", cwd=consumer.root).stdout == ""
    policies.write("k8s/host-network.yaml", HOST_NETWORK.replace("low", "critical"))
    v3 = policies.commit("v3")
    policies.git.git.tag("-f", "v2", v3)
    kept = gatekeeper("lock", cwd=consumer.root)
    assert (kept.returncode, kept.stdout) == (0, "")
    assert json.loads((consumer.root / "gatekeeper.lock").read_text())["sources"][0]["commit"] == v2
    updated = gatekeeper("lock", "--update", cwd=consumer.root)
    assert updated.returncode == 0, updated.stderr
    assert updated.stdout == (
        f"## {url} (k8s): v2 ({v2[:12]}) -> v2 ({v3[:12]})\n\n"
        "### Changed\n\n- `ORG-NO-HOST-NETWORK`: severity high -> critical\n"
    )
    assert json.loads((consumer.root / "gatekeeper.lock").read_text())["sources"][0]["commit"] == v3


def test_impact_on_the_configured_consumers_one_of_them_a_pinned_git_repository(
    gatekeeper: Gatekeeper, tmp_path: Path
) -> None:
    """Without --against, `impact.consumers` of .gatekeeper.yml: a directory of the policy
    repository and a git repository at its gatekeeper.lock pin (not where its branch is now)."""
    b = Repo(tmp_path / "b")
    b.write("deploy/one.yaml", pod("one", False, True))
    b.write(  # b's own threshold counts, and its per-directory overrides
        ".gatekeeper.yml",
        "severityThreshold: critical\n"
        "overrides: [{path: legacy/**, disable: [ORG-NO-HOST-NETWORK]}]\n",
    )
    b.write("legacy/old.yaml", pod("old", False, True))
    b.commit("b")
    policies = Repo(tmp_path / "policies")
    policies.write(
        ".gatekeeper.yml",
        "impact:\n  consumers:\n    - path: examples/a\n"  # policies: the rest of the repo
        f"    - {{git: '{b.root.as_uri()}', ref: main}}\n",
    )
    policies.write("k8s/host-network.yaml", HOST_NETWORK)
    policies.write("examples/a/pod.yaml", pod("web", False, True))
    policies.write("examples/a/tests/pod.yaml", pod("fixture", False, True))  # advisory in a
    assert gatekeeper("impact", "--base", "HEAD", cwd=policies.root).returncode == 2  # no lock
    assert gatekeeper("lock", cwd=policies.root).returncode == 0
    policies.commit("v1")
    policies.write("k8s/host-network.yaml", HOST_NETWORK.replace("low", "critical"))
    policies.commit("v2")
    b.write("deploy/two.yaml", pod("two", False, True))
    b.commit("after the pin")
    run = gatekeeper("impact", "--base", "HEAD~1", "--format", "json", cwd=policies.root)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["summary"] == "this change would newly block 2 findings in 2 of 2 consumers"
    a, pinned = report["consumers"]
    assert (a["consumer"], a["newly_blocking"]) == ("examples/a", 1)  # not its test fixture
    assert [f["file"] for f in a["severity_changed"]] == ["pod.yaml", "tests/pod.yaml"]
    assert pinned["consumer"] == f"{b.root.as_uri()} (main)"
    assert (pinned["threshold"], pinned["newly_blocking"]) == ("critical", 1)  # not legacy/
    # --against URL@REF resolves the ref now: the branch's newer commit has both pods.
    run = gatekeeper(
        "impact", "--base", "HEAD~1", "--against", f"{b.root.as_uri()}@main", cwd=policies.root
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.endswith("this change would newly block 2 findings in 1 of 1 consumer\n")


def test_config_validate_checks_the_impact_consumers(
    gatekeeper: Gatekeeper, tmp_path: Path
) -> None:
    b = Repo(tmp_path / "b")
    b.write("deploy/one.yaml", pod("one", False, True))
    b.commit("b")
    policies = Repo(tmp_path / "policies")
    policies.write("examples/a/pod.yaml", pod("web", False, True))
    config = policies.root / ".gatekeeper.yml"
    config.write_text(
        "builtin: false\nimpact:\n  consumers:\n    - path: examples/a\n"
        f"    - git: '{b.root.as_uri()}'\n      ref: main\n"
    )
    unlocked = gatekeeper("config", "validate", cwd=policies.root)
    assert unlocked.returncode == 2
    assert f".gatekeeper.yml:5: impact consumer {b.root.as_uri()} at main is not locked" in (
        unlocked.stderr
    )
    assert gatekeeper("lock", cwd=policies.root).returncode == 0
    valid = gatekeeper("config", "validate", cwd=policies.root)
    assert valid.returncode == 0, valid.stderr
    config.write_text(config.read_text().replace("examples/a", "../a"))
    outside = gatekeeper("config", "validate", cwd=policies.root)
    assert outside.returncode == 2
    assert ".gatekeeper.yml:4: impact consumer '../a' is outside the repository" in outside.stderr


def test_a_policy_on_definitions_sees_a_charts_definitions(
    gatekeeper: Gatekeeper, tmp_path: Path
) -> None:
    """A head bundle adding a policy on CustomResourceDefinition is measured on the
    consumer's chart CRDs, as a scan with it judges them (helm_definitions): loaded for
    both bundles without that decision, they were passed over and the impact said none."""
    from tests.test_helm_definitions import DEFINITION, OWNED

    policies = tmp_path / "policies"
    repo = Repo(policies)
    repo.write("k8s/host-network.yaml", HOST_NETWORK)
    repo.commit("v1")
    repo.git.git.tag("v1")
    repo.write("k8s/crd-owner.yaml", OWNED)
    repo.commit("v2")
    consumer = tmp_path / "consumer"
    (consumer / "chart/crds").mkdir(parents=True)
    (consumer / "chart/Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    (consumer / "chart/crds/widgets.yaml").write_text(
        DEFINITION.format(kind="Widget", plural="widgets")
    )
    run = gatekeeper(
        "impact", "--base", "v1", "--path", "k8s", "--against", str(consumer),
        "--format", "json", cwd=policies,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    (found,) = json.loads(run.stdout)["consumers"]
    assert [(f["policy_id"], f["file"]) for f in found["new"]] == [
        ("TEST-CRD-OWNER", "chart/crds/widgets.yaml")
    ]
