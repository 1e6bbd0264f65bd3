"""Predicted Pod Security Admission follows each namespace's own `<mode>-version` label."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gatekeeper import pss_admission
from gatekeeper.evaluate import Engine
from gatekeeper.finding import Finding
from gatekeeper.policy.loader import builtin_dir, load_bundle
from gatekeeper.scanner import scan
from gatekeeper.sources import LoadContext
from gatekeeper.tree import MemoryTree
from tests.conftest import run_cli
from tests.test_change import Repo

PSS = [p for p in load_bundle([builtin_dir()]) if p.id.startswith("K8S-PSS-")]


def namespace(name: str, **labels: str) -> str:
    rows = "".join(
        f"    pod-security.kubernetes.io/{k.replace('_', '-')}: {v}\n" for k, v in labels.items()
    )
    return f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n  labels:\n{rows}---\n"


# Restricted in every version but one control: it runs as UID 0 (checked since v1.23).
UID_0 = """apiVersion: v1
kind: Pod
metadata: {name: p, namespace: NS}
spec:
  securityContext: {runAsNonRoot: true, runAsUser: 0, seccompProfile: {type: RuntimeDefault}}
  containers:
    - name: c
      image: ghcr.io/acme/c:1.0
      securityContext:
        allowPrivilegeEscalation: false
        capabilities: {drop: [ALL]}
"""
# Baseline everywhere since v1.32; before, net.ipv4.tcp_rmem is an unsafe sysctl.
TCP_RMEM = """apiVersion: v1
kind: Pod
metadata: {name: q, namespace: NS}
spec:
  securityContext:
    sysctls: [{name: net.ipv4.tcp_rmem, value: "4096 87380 6291456"}]
  containers: [{name: c, image: ghcr.io/acme/c:1.0}]
"""


def annotated(
    files: dict[str, str], params: dict[str, dict[str, Any]] | None = None, rejudge: bool = True
) -> list[Finding]:
    """The PSS findings of a scan of `files`, with the predictions of their namespaces."""
    pairs = [(path, text.encode()) for path, text in files.items()]
    context = LoadContext(tree=MemoryTree.of(pairs))
    engine = Engine(PSS, params or {})
    result = scan(pairs, engine, jobs=1, context=context, repository=False)
    rescan = pss_admission.rescan(pairs, context, jobs=1)

    def again(other: Engine, files: frozenset[str]) -> list[Finding]:
        assert "ns.yaml" not in files  # only the files of objects in pinned namespaces
        return rescan(other, files)

    levels = pss_admission.policy_levels(engine.policies)
    return pss_admission.annotate(
        result.findings, result.inventory, levels, engine, again if rejudge else None
    )


def predict(
    files: dict[str, str], params: dict[str, dict[str, Any]] | None = None, rejudge: bool = True
) -> dict[tuple[str, str], tuple[str | None, str | None]]:
    """(file, policy id) -> (admission, version judged at) for every PSS finding that has a
    prediction, or (None, None) for a run-as-user or sysctl one that has none."""
    found = annotated(files, params, rejudge)
    return {
        (f.file, f.policy_id): (f.extra.get("admission"), f.extra.get("admission_version"))
        for f in found
        if f.extra.get("admission") or f.policy_id in ("K8S-PSS-RUN-AS-USER", "K8S-PSS-SYSCTLS")
    }


def test_a_namespace_pinned_before_a_restricted_control_admits_what_latest_rejects() -> None:
    found = predict(
        {
            "ns.yaml": namespace("old", enforce="restricted", enforce_version="v1.22")
            + namespace("new", enforce="restricted", enforce_version="latest")
            + namespace("bare", enforce="restricted"),
            "old.yaml": UID_0.replace("NS", "old"),
            "new.yaml": UID_0.replace("NS", "new"),
            "bare.yaml": UID_0.replace("NS", "bare"),
        }
    )
    # The finding stays (the repository judges at latest); only the prediction differs.
    assert found[("old.yaml", "K8S-PSS-RUN-AS-USER")] == (None, None)
    assert found[("new.yaml", "K8S-PSS-RUN-AS-USER")] == ("rejected", "latest")
    assert found[("bare.yaml", "K8S-PSS-RUN-AS-USER")] == ("rejected", "latest")
    assert {key for key in found if key[0] == "old.yaml"} == {("old.yaml", "K8S-PSS-RUN-AS-USER")}


def test_a_namespace_pinned_before_a_sysctl_was_allowed_rejects_it() -> None:
    """Latest allows net.ipv4.tcp_rmem, so the scan has no finding; a namespace enforcing
    baseline at v1.31 rejects the pod: that is a finding of its own, at the sysctl."""
    found = predict(
        {
            "ns.yaml": namespace("v131", enforce="baseline", enforce_version="v1.31")
            + namespace("v132", enforce="baseline", enforce_version="v1.32"),
            "a.yaml": TCP_RMEM.replace("NS", "v131"),
            "b.yaml": TCP_RMEM.replace("NS", "v132"),
        }
    )
    assert found == {("a.yaml", "K8S-PSS-SYSCTLS"): ("rejected", "v1.31")}


def test_each_mode_judges_at_its_own_version() -> None:
    """Enforce at v1.31 rejects the sysctl; warn at latest has nothing to say about it. The
    other way round, only the warning is predicted."""
    found = predict(
        {
            "ns.yaml": namespace("a", enforce="baseline", enforce_version="v1.31", warn="baseline")
            + namespace("b", enforce="baseline", warn="baseline", warn_version="v1.31"),
            "a.yaml": TCP_RMEM.replace("NS", "a"),
            "b.yaml": TCP_RMEM.replace("NS", "b"),
        }
    )
    assert found == {
        ("a.yaml", "K8S-PSS-SYSCTLS"): ("rejected", "v1.31"),
        ("b.yaml", "K8S-PSS-SYSCTLS"): ("warned", "v1.31"),
    }


def test_a_finding_only_two_pins_see_is_reported_once() -> None:
    found = annotated(
        {
            "ns.yaml": namespace(
                "a",
                enforce="baseline",
                enforce_version="v1.31",
                warn="baseline",
                warn_version="v1.30",
            ),
            "a.yaml": TCP_RMEM.replace("NS", "a"),
        }
    )
    sysctls = [f for f in found if f.policy_id == "K8S-PSS-SYSCTLS"]
    assert [(f.file, f.extra["admission"], f.extra["admission_version"]) for f in sysctls] == [
        ("a.yaml", "rejected", "v1.31")
    ]


def test_the_configured_version_does_not_decide_the_prediction() -> None:
    """The repository judges at v1.22 (no run-as-user finding of its own); a namespace at
    latest will still reject the pod."""
    pinned = {p.id: {"version": "v1.22"} for p in PSS if "version" in p.params}
    found = predict(
        {
            "ns.yaml": namespace("prod", enforce="restricted"),
            "p.yaml": UID_0.replace("NS", "prod"),
        },
        pinned,
    )
    assert found == {("p.yaml", "K8S-PSS-RUN-AS-USER"): ("rejected", "latest")}


def test_without_a_second_judgement_no_prediction_is_made_at_another_version() -> None:
    found = predict(
        {
            "ns.yaml": namespace("old", enforce="restricted", enforce_version="v1.22"),
            "old.yaml": UID_0.replace("NS", "old"),
        },
        rejudge=False,
    )
    assert found == {("old.yaml", "K8S-PSS-RUN-AS-USER"): (None, None)}


def test_a_chart_template_is_judged_again_with_its_chart() -> None:
    """The object's file is a template; judging it again needs the chart that renders it."""
    found = predict(
        {
            "ns.yaml": namespace("v131", enforce="baseline", enforce_version="v1.31"),
            "charts/app/Chart.yaml": "apiVersion: v2\nname: app\nversion: 0.1.0\n",
            "charts/app/templates/pod.yaml": TCP_RMEM.replace("NS", "v131"),
        }
    )
    assert found == {("charts/app/templates/pod.yaml", "K8S-PSS-SYSCTLS"): ("rejected", "v1.31")}


def test_only_pins_that_can_change_a_prediction_are_judged_again() -> None:
    """A privileged pin judges nothing; a pin equal to the configured version needs nothing
    new; a namespace with no workloads in the repository has nothing to judge."""
    files = {
        "ns.yaml": namespace("p", enforce="privileged", enforce_version="v1.20")
        + namespace("same", enforce="baseline", enforce_version="v1.22")
        + namespace("empty", enforce="baseline", enforce_version="v1.25"),
        "p.yaml": TCP_RMEM.replace("NS", "p"),
        "same.yaml": TCP_RMEM.replace("NS", "same"),
    }
    pairs = [(path, text.encode()) for path, text in files.items()]
    params = {p.id: {"version": "v1.22"} for p in PSS if "version" in p.params}
    engine = Engine(PSS, params)
    result = scan(pairs, engine, jobs=1, repository=False)
    calls: list[frozenset[str]] = []

    def again(other: Engine, judged: frozenset[str]) -> list[Finding]:
        calls.append(judged)
        return []

    levels = pss_admission.policy_levels(engine.policies)
    found = pss_admission.annotate(result.findings, result.inventory, levels, engine, again)
    assert calls == []
    assert [
        (f.file, f.extra.get("admission")) for f in found if f.policy_id == "K8S-PSS-SYSCTLS"
    ] == [
        ("p.yaml", None),
        ("same.yaml", "rejected"),
    ]


@pytest.mark.parametrize(
    ("value", "version"),
    [(None, "latest"), ("latest", "latest"), ("v1.22", "v1.22"), ("1.22", "latest"),
     (" v1.0 ", "v1.0"), ("v1.022", "latest")],
)  # fmt: skip
def test_label_version(value: str | None, version: str) -> None:
    assert pss_admission.label_version(value) == version


def _predictions(output: str) -> dict[tuple[str, str], Any]:
    return {
        (f["file"], f["policy_id"]): f["extra"].get("admission")
        for f in json.loads(output)["findings"]
        if f["policy_id"] in ("K8S-PSS-RUN-AS-USER", "K8S-PSS-SYSCTLS")
    }


def test_the_scan_command_and_a_pull_request_predict_at_the_namespace_version(
    tmp_path: Path,
) -> None:
    """End to end: the CLI's plain scan and `scan --base` both judge again at the pin."""
    repo = Repo(tmp_path)
    repo.write("ns.yaml", namespace("old", enforce="restricted", enforce_version="v1.31"))
    repo.write("uid0.yaml", UID_0.replace("NS", "old"))
    repo.commit("base")
    repo.branch("pr")
    repo.write("rmem.yaml", TCP_RMEM.replace("NS", "old"))
    repo.commit("a sysctl")
    expected = {
        ("uid0.yaml", "K8S-PSS-RUN-AS-USER"): "rejected",  # checked since v1.23
        ("rmem.yaml", "K8S-PSS-SYSCTLS"): "rejected",  # allowed only since v1.32
    }
    plain = run_cli("scan", "--format", "json", str(tmp_path), cwd=tmp_path)
    assert plain.returncode == 1, plain.stderr
    assert _predictions(plain.stdout) == expected
    change = run_cli("scan", "--base", "main", "--filter", "all", "--format", "json", cwd=tmp_path)
    assert change.returncode == 1, change.stderr
    # The pull request judges the file it changed (tcp_rmem is allowed at latest: the
    # finding exists only because the namespace is pinned before v1.32).
    assert _predictions(change.stdout) == {("rmem.yaml", "K8S-PSS-SYSCTLS"): "rejected"}
