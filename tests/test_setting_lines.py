"""A kustomization's `images:` entry that retags several objects' containers is said once at
its line (gatekeeper.setting_lines: kubeflow's trainer runtimes overlay said one unpinned
image three times at one line), and the folded finding still answers for every object:
waivers and `scan --base`, on real git repos and real kustomize builds."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import git
import pytest

from gatekeeper.change import scan_change
from gatekeeper.finding import Finding
from tests.conftest import Run

Gatekeeper = Callable[..., Run]

POLICY = "K8S-IMAGE-DIGEST"
OVERLAY = "overlay/kustomization.yaml"
KUSTOMIZATION = """\
resources: [../base]
images:
  - name: ghcr.io/acme/trainer
    newTag: v2.0.0
  - name: ghcr.io/acme/solo
    newTag: v3.0.0
"""  # the trainer entry is line 3, the solo one line 5


def job(name: str, image: str) -> str:
    return f"""\
apiVersion: batch/v1
kind: Job
metadata: {{name: {name}}}
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: node
          image: {image}
"""


class Repo:
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

    def runtimes(self, *names: str) -> None:
        for path in (self.root / "base").glob("*.yaml"):
            path.unlink()
        for name in names:
            self.write(f"base/{name}.yaml", job(name, "ghcr.io/acme/trainer:latest"))
        self.write("base/solo.yaml", job("solo", "ghcr.io/acme/solo:latest"))
        files = ", ".join(f"{name}.yaml" for name in (*names, "solo"))
        self.write("base/kustomization.yaml", f"resources: [{files}]\n")

    def commit(self) -> None:
        self.git.git.add("-A")
        self.git.git.commit("-q", "-m", "change")


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    made = Repo(tmp_path)
    made.runtimes("llama", "qwen", "mistral")
    made.write(OVERLAY, KUSTOMIZATION)
    made.commit()
    return made


def scanned(gatekeeper: Gatekeeper, repo: Repo) -> list[dict[str, Any]]:
    run = gatekeeper("scan", ".", "--format", "json", cwd=repo.root)
    found: list[dict[str, Any]] = json.loads(run.stdout)["findings"]
    return sorted(
        (f for f in found if f["policy_id"] == POLICY and f["file"] == OVERLAY),
        key=lambda f: f["line"],
    )


def test_an_images_entry_retagging_three_objects_is_said_once_naming_them(
    repo: Repo, gatekeeper: Gatekeeper
) -> None:
    trainer, solo = scanned(gatekeeper, repo)
    assert (trainer["line"], solo["line"]) == (3, 5)
    assert trainer["message"] == (
        "image ghcr.io/acme/trainer:v2.0.0 of container node is not pinned by digest"
        " (this line sets it for 3 objects: Job/llama, Job/mistral, Job/qwen)"
    )
    assert trainer["extra"]["deployed_as"] == ["Job//mistral", "Job//qwen"]
    assert len(trainer["extra"]["run_by_fingerprints"]) == 2
    # a line that sets one object is said as before
    assert solo["message"] == (
        "image ghcr.io/acme/solo:v3.0.0 of container node is not pinned by digest"
    )
    assert "sets_for" not in solo["extra"] and "run_by_fingerprints" not in solo["extra"]


def _waive(repo: Repo, *names: str) -> None:
    expires = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()
    rows = ["waivers:"] + [
        f"  - {{policy: {POLICY}, kind: Job, name: {name}, owner: me, reason: r,"
        f" ticket: T-1, expires: '{expires}'}}"
        for name in names
    ]
    repo.write(".gatekeeper/waivers.yml", "\n".join(rows) + "\n")


def test_a_waiver_of_one_object_does_not_waive_the_line_for_the_others(
    repo: Repo, gatekeeper: Gatekeeper
) -> None:
    """Before the fold a waiver naming Job llama waived llama's finding alone."""
    for waived, status in ((("llama",), "new"), (("llama", "qwen"), "new")):  # low: advisory
        _waive(repo, *waived)
        repo.commit()
        trainer, _ = scanned(gatekeeper, repo)
        assert trainer["status"] == status, waived
    _waive(repo, "llama", "qwen", "mistral")
    repo.commit()
    trainer, _ = scanned(gatekeeper, repo)
    assert trainer["status"] == "waived"


def trainer_line(findings: list[Finding]) -> Finding:
    found = [f for f in findings if f.policy_id == POLICY and f.file == OVERLAY and f.line == 3]
    (finding,) = found
    return finding


def test_scan_base_sees_an_object_newly_taking_the_line_and_nothing_else(repo: Repo) -> None:
    """Removing an object (the kept one, even) is neither new nor fixed; an object newly
    retagged by the line is new, as its own finding was before the fold."""
    repo.git.git.checkout("-q", "-b", "pr")
    repo.runtimes("qwen", "mistral")
    repo.commit()
    finding = trainer_line(scan_change(repo.root, "main", filter_mode="all").verdict.findings)
    assert finding.status == "existing"
    repo.runtimes("qwen", "mistral", "gemma")
    repo.commit()
    finding = trainer_line(scan_change(repo.root, "main", filter_mode="all").verdict.findings)
    assert finding.status == "new"


APPLICATIONS = """\
{{- range .Values.applications }}
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {{ .name | quote }}
  namespace: argocd
spec:
  destination: {namespace: {{ .name }}, server: https://kubernetes.default.svc}
  project: default
  source:
    path: {{ .name }}
    repoURL: https://github.com/acme/apps
    targetRevision: {{ $.Values.revision }}
---
{{ end -}}
"""


def test_a_chart_template_line_said_for_several_objects_is_one_finding(
    tmp_path: Path, gatekeeper: Gatekeeper
) -> None:
    """An app of apps chart ranges over its applications (argoproj/argocd-example-apps: each
    of its three lines said fourteen times): one finding per line and message, naming the
    objects, its fingerprint the first object's and the others' kept as twins; a waiver of
    one object leaves the line to the others."""
    made = Repo(tmp_path)
    made.write("apps/Chart.yaml", "apiVersion: v2\nname: apps\nversion: 1.0.0\n")
    made.write("apps/templates/applications.yaml", APPLICATIONS)
    made.write("apps/values.yaml", "revision: main\napplications:\n  - name: a\n  - name: b\n")
    made.write(".gatekeeper.yml", "packs: [gitops]\n")
    made.commit()
    run = gatekeeper("scan", ".", "--format", "json", cwd=tmp_path)
    found = json.loads(run.stdout)["findings"]
    lines = sorted((f["policy_id"], f["line"], f["message"]) for f in found)
    assert lines == [
        (
            "GITOPS-ARGO-NO-DEFAULT-PROJECT",
            9,
            "Application uses the default project (this line sets it for 2 objects:"
            " Application/argocd/a, Application/argocd/b)",
        ),
        (
            "GITOPS-ARGO-PINNED-REVISION",
            13,
            "source https://github.com/acme/apps tracks main, not a pinned tag or commit"
            " (this line sets it for 2 objects: Application/argocd/a, Application/argocd/b)",
        ),
    ]
    pinned = next(f for f in found if f["policy_id"] == "GITOPS-ARGO-PINNED-REVISION")
    twins = pinned["extra"]["run_by_fingerprints"]
    assert [twin["fingerprint"] for twin in twins] == [pinned["fingerprint"] + ":2"]
    expires = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()
    made.write(
        ".gatekeeper/waivers.yml",
        "waivers:\n  - {policy: GITOPS-ARGO-PINNED-REVISION, kind: Application, name: a,"
        f" owner: me, reason: r, ticket: T-1, expires: '{expires}'}}\n",
    )
    made.commit()
    run = gatekeeper("scan", ".", "--format", "json", cwd=tmp_path)
    found = json.loads(run.stdout)["findings"]
    pinned = next(f for f in found if f["policy_id"] == "GITOPS-ARGO-PINNED-REVISION")
    assert pinned["status"] == "new"


RANGED_CONTAINERS = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        {{- range .Values.containers }}
        - name: {{ .name }}
          image: {{ .image }}
        {{- end }}
"""


def test_one_objects_containers_a_template_line_writes_are_one_finding(
    tmp_path: Path, gatekeeper: Gatekeeper
) -> None:
    """A template ranging over `.Values.containers` says each container's problem at the
    same line, the messages differing only by the container's name: one finding naming the
    containers, the others' fingerprints as twins; an image line whose images differ stays
    one finding per container."""
    made = Repo(tmp_path)
    made.write("web/Chart.yaml", "apiVersion: v2\nname: web\nversion: 1.0.0\n")
    made.write("web/templates/deployment.yaml", RANGED_CONTAINERS)
    made.write(
        "web/values.yaml",
        "containers:\n  - {name: api, image: ghcr.io/acme/api:1}\n"
        "  - {name: worker, image: ghcr.io/acme/worker:1}\n",
    )
    made.write(".gatekeeper.yml", "packs: [kubernetes]\n")
    made.commit()
    run = gatekeeper("scan", ".", "--format", "json", cwd=tmp_path)
    found = json.loads(run.stdout)["findings"]
    probes = [f for f in found if f["policy_id"] == "K8S-POD-LIVENESS-PROBE"]
    assert [(f["line"], f["message"]) for f in probes] == [
        (
            12,
            "container api has no liveness probe"
            " (this line sets it for 2 containers of Deployment/web: api, worker)",
        )
    ]
    (twin,) = probes[0]["extra"]["run_by_fingerprints"]  # worker's own fingerprint
    assert twin["name"] == "web" and twin["fingerprint"] != probes[0]["fingerprint"]
    digests = sorted(f["message"] for f in found if f["policy_id"] == "K8S-IMAGE-DIGEST")
    assert digests == [
        "image ghcr.io/acme/api:1 of container api is not pinned by digest",
        "image ghcr.io/acme/worker:1 of container worker is not pinned by digest",
    ]


def test_a_container_added_beside_a_known_one_at_the_line_is_new(tmp_path: Path) -> None:
    """The base has container api without a liveness probe (an existing finding); the pull
    request adds worker at the same template line, just as bad: folded into api's finding,
    matched by api's fingerprint, it was `existing`, so the check passed (lead s20 z12, with
    privileged containers). Unfolded, worker's own finding would be new; so is the fold.
    Nothing added, the fold stays existing."""
    made = Repo(tmp_path)
    made.write("web/Chart.yaml", "apiVersion: v2\nname: web\nversion: 1.0.0\n")
    made.write("web/templates/deployment.yaml", RANGED_CONTAINERS)
    image = "ghcr.io/acme/app@sha256:" + "0" * 64
    made.write("web/values.yaml", f"containers:\n  - {{name: api, image: '{image}'}}\n")
    made.write(".gatekeeper.yml", "packs: [kubernetes]\n")
    made.commit()
    made.git.git.checkout("-q", "-b", "pr")
    made.write("web/README.md", "a change beside the chart\n")
    made.commit()

    def probe() -> Finding:
        found = scan_change(made.root, "main", filter_mode="all").verdict.findings
        (finding,) = [f for f in found if f.policy_id == "K8S-POD-LIVENESS-PROBE"]
        return finding

    assert probe().status == "existing"
    both = f"  - {{name: api, image: '{image}'}}\n  - {{name: worker, image: '{image}'}}\n"
    made.write("web/values.yaml", "containers:\n" + both)
    made.commit()
    finding = probe()
    assert "2 containers of Deployment/web: api, worker" in finding.message
    assert finding.status == "new"
