"""An object that several overlays render unchanged is judged once (Engine.evaluate), and
reported exactly as if each copy had been judged on its own."""

from __future__ import annotations

import datetime
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from gatekeeper import main
from gatekeeper.evaluate import Engine
from tests.conftest import PRIVILEGED_POLICY
from tests.test_change import Repo

NAMESPACE_POLICY = """\
id: TEST-NOT-SHARED
title: Not in the shared namespace
severity: medium
description: test policy
remediation: move it
match: {source: kubernetes, kinds: [Deployment]}
rule: "object.metadata.?namespace.orValue('') != 'shared'"
field: metadata.namespace
message: "{{ object.metadata.name }} is in the shared namespace"
"""
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          image: nginx:1.25
          securityContext:
            privileged: true
"""
OVERLAYS = {
    "a": "",  # unchanged
    "b": "",  # unchanged, where an override disables the privileged policy
    "c": "commonLabels: {tier: c}\n",  # changed slightly
    "d": "namespace: team-d\n",  # another namespace
    "e": "namespace: shared\n",  # e and f: the same object, its namespace set by each
    "f": "namespace: shared\n",
}


def write_tree(repo: Repo, deployment: str = DEPLOYMENT) -> None:
    expires = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()
    repo.write(
        ".gatekeeper.yml",
        "builtin: false\npolicies:\n  - path: policies\n"
        "overrides:\n  - {path: 'overlays/b/**', disable: [TEST-NO-PRIVILEGED]}\n",
    )
    repo.write(
        ".gatekeeper/waivers.yml",
        "waivers:\n  - {policy: TEST-NOT-SHARED, file: 'overlays/e/*', owner: me, reason: r,"
        f" ticket: T-1, expires: '{expires}'}}\n",
    )
    repo.write("policies/no-privileged.yaml", PRIVILEGED_POLICY)
    repo.write("policies/not-shared.yaml", NAMESPACE_POLICY)
    repo.write("base/kustomization.yaml", "resources:\n  - deploy.yaml\n")
    repo.write("base/deploy.yaml", deployment)
    for name, settings in OVERLAYS.items():
        repo.write(f"overlays/{name}/kustomization.yaml", f"{settings}resources:\n  - ../../base\n")


def run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], once: bool, *args: str
) -> tuple[Any, Counter[str]]:
    """The JSON report of `gatekeeper scan ARGS --jobs 1`, and how many copies of each
    source were judged; `once=False`: every copy judged on its own, as before the memo."""
    judged: Counter[str] = Counter()
    evaluate = Engine._evaluate

    def counted(engine: Engine, document: Any, *rest: Any) -> Any:
        judged[document.source] += 1
        return evaluate(engine, document, *rest)

    with monkeypatch.context() as patch:
        patch.setattr(Engine, "_evaluate", counted)
        if not once:
            patch.setattr(Engine, "_judged_key", lambda engine, document, written: None)
        capsys.readouterr()
        assert main.main(["scan", *args, "--format", "json", "--jobs", "1"]) == 1
    return json.loads(capsys.readouterr().out), judged


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    repo = Repo(tmp_path / "repo")
    write_tree(repo)
    repo.commit("base")
    return repo


def test_copies_left_unchanged_are_judged_once_and_reported_as_before(
    repo: Repo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(repo.root)
    before, each = run(monkeypatch, capsys, False, ".")
    after, once = run(monkeypatch, capsys, True, ".")
    assert after == before
    # base/deploy.yaml as a manifest, and built by base/ and the six overlays
    assert each == {"kubernetes": 1, "kustomize": 7}
    # judged once: base/, a (the same object), b (another engine: its override), c (another
    # label), d (another namespace), e; f is e's object, but its namespace is set at its
    # own kustomization's line
    assert once == {"kubernetes": 1, "kustomize": 6}
    found = {(f["policy_id"], f["file"], f["line"]): f for f in after["findings"]}
    privileged = found["TEST-NO-PRIVILEGED", "base/deploy.yaml", 12]
    overlays = [f"kustomize overlays/{name}" for name in sorted(set(OVERLAYS) - {"b"})]
    assert privileged["extra"]["variants"] == ["kustomize base", *overlays]
    shared = {key[1]: f["status"] for key, f in found.items() if key[0] == "TEST-NOT-SHARED"}
    assert shared == {
        "overlays/e/kustomization.yaml": "waived",
        "overlays/f/kustomization.yaml": "new",
    }


def test_a_pull_request_changing_a_shared_base_is_judged_as_before(
    repo: Repo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.branch("pr")
    side = "        - name: side\n          image: busybox:1.36\n"
    side += "          securityContext: {privileged: true}\n"
    repo.write("base/deploy.yaml", DEPLOYMENT.replace("nginx:1.25", "nginx:1.27") + side)
    repo.commit("pr")
    monkeypatch.chdir(repo.root)
    before, each = run(monkeypatch, capsys, False, "--base", "main")
    after, once = run(monkeypatch, capsys, True, "--base", "main")
    assert after == before
    assert once["kustomize"] < each["kustomize"]
    [new] = after["findings"]  # the PR's own finding, on the line it adds
    assert (new["policy_id"], new["line"], new["status"]) == ("TEST-NO-PRIVILEGED", 15, "new")
    assert len(new["extra"]["variants"]) == len(OVERLAYS)  # base/ and overlays but b
