"""A Fleet bundle's `kustomize.dir` is built over the bundle's chart, as Fleet deploys it:
real Helm, the in-process kustomize builder, real git."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gatekeeper.sources.fleet_overlays import _with_manifests
from tests.conftest import Run
from tests.test_change import Repo

CHART = "apiVersion: v2\nname: web\nversion: 0.1.0\n"
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: app
  labels: {app.kubernetes.io/name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      automountServiceAccountToken: false
      containers:
        - name: web
          image: ghcr.io/acme/web:{{ .Values.tag }}
"""
FLEET = """\
namespace: app
helm:
  chart: ./chart
  values: {tag: "1.0"}
targetCustomizations:
  - name: prod
    clusterSelector: {matchLabels: {env: prod}}
    kustomize:
      dir: overlays/prod
"""
# A patch by selector: built alone it matches nothing and changes nothing.
HOST_PID = """\
resources:
  - extra.yaml
patches:
  - target: {kind: Deployment}
    patch: |-
      - op: add
        path: /spec/template/spec/hostPID
        value: true
"""
EXTRA = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra, namespace: app}\ndata: {a: b}\n"


def bundle(repo: Repo, overlay: str) -> None:
    repo.write("app/chart/Chart.yaml", CHART)
    repo.write("app/chart/values.yaml", "tag: latest\n")
    repo.write("app/chart/templates/deploy.yaml", DEPLOYMENT)
    repo.write("app/fleet.yaml", FLEET)
    repo.write("app/overlays/prod/kustomization.yaml", overlay)
    repo.write("app/overlays/prod/extra.yaml", EXTRA)


def findings(run: Run) -> list[dict[str, Any]]:
    assert run.returncode in (0, 1), run.stdout + run.stderr
    found: list[dict[str, Any]] = json.loads(run.stdout)["findings"]
    return found


def test_a_patch_the_overlay_makes_on_the_chart_is_judged(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """Fleet deploys the prod target as overlays/prod built over the chart's output: the
    hostPID the overlay adds is said at the patch (it passed green), and the overlay is not
    built alone as well (patches by name failed there: a blocking GK-RENDER-ERROR)."""
    repo = Repo(tmp_path / "repo")
    bundle(repo, HOST_PID)
    repo.commit("base")
    said = findings(gatekeeper("scan", ".", "--format", "json", cwd=repo.root))
    host = [f for f in said if f["policy_id"] == "K8S-PSS-HOST-NAMESPACES"]
    assert [(f["file"], f["line"], f["name"]) for f in host] == [
        ("app/overlays/prod/kustomization.yaml", 8, "web")
    ]
    assert "deployed by app/fleet.yaml (Fleet target prod)" in host[0]["extra"]["variants"]
    assert not [f for f in said if f["policy_id"].startswith("GK-")]
    # the chart's own fields are still said in its template, for every rendering
    image = [f for f in said if f["policy_id"] == "K8S-IMAGE-DIGEST"]
    assert [(f["file"], f["line"]) for f in image] == [("app/chart/templates/deploy.yaml", 16)]


def test_a_patch_by_name_builds_over_the_chart(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """fleet-examples' helm-kustomize: a strategic-merge patch of the chart's Deployment
    by name was a blocking 'no matches for Id' render error; over the chart it applies."""
    repo = Repo(tmp_path / "repo")
    bundle(repo, "patches:\n  - path: web.yaml\n")
    repo.write(
        "app/overlays/prod/web.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: app}\n"
        "spec:\n  template:\n    spec:\n      hostNetwork: true\n",
    )
    repo.commit("base")
    said = findings(gatekeeper("scan", ".", "--format", "json", cwd=repo.root))
    assert not [f for f in said if f["policy_id"] == "GK-RENDER-ERROR"]
    host = [f for f in said if f["policy_id"] == "K8S-PSS-HOST-NAMESPACES"]
    assert [(f["file"], f["line"]) for f in host] == [("app/overlays/prod/web.yaml", 7)]


def test_a_pull_request_changing_only_the_overlay_judges_the_bundle(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    repo = Repo(tmp_path / "repo")
    bundle(repo, "resources:\n  - extra.yaml\n")
    repo.commit("base")
    repo.write("app/overlays/prod/kustomization.yaml", HOST_PID)
    repo.commit("change")
    said = findings(gatekeeper("scan", "--base", "HEAD~1", "--format", "json", cwd=repo.root))
    new = [(f["policy_id"], f["file"]) for f in said if f["status"] == "new"]
    assert ("K8S-PSS-HOST-NAMESPACES", "app/overlays/prod/kustomization.yaml") in new


def test_the_chart_output_goes_first_in_the_resources_without_moving_a_line() -> None:
    assert _with_manifests("patches: []\n") == (
        "patches: []\nresources:\n- fleet-manifests.yaml\n",
        0,
    )
    assert _with_manifests("resources: [a.yaml]\nnamespace: x\n") == (
        "resources: [fleet-manifests.yaml, a.yaml]\nnamespace: x\n",
        0,
    )
    assert _with_manifests("namespace: x\nresources:\n  - a.yaml\n") == (
        "namespace: x\nresources:\n  - fleet-manifests.yaml\n  - a.yaml\n",
        3,
    )


REMOTE = """\
namespace: app
helm:
  chart: https://charts.example.com/web-0.1.0.tgz
targetCustomizations:
  - name: prod
    clusterSelector: {matchLabels: {env: prod}}
    kustomize:
      dir: overlays/prod
"""
PATCH = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 3\n"


def test_an_overlay_of_a_chart_fleet_downloads_says_why_it_is_not_judged(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """fleet-examples' helm-kustomize (noise3): the bundle's chart is a URL Fleet downloads,
    and its overlays only patch it. Each was built alone, and its blocking error was
    kustomize's "no matches for Id Deployment.v1.apps/web", which says neither why nor what
    to do. It still blocks (the patches deploy and nothing judges them) and says both; an
    overlay with objects of its own is still built and judged."""
    repo = Repo(tmp_path / "repo")
    repo.write("app/fleet.yaml", REMOTE)
    repo.write("app/overlays/prod/kustomization.yaml", "patches:\n  - path: web.yaml\n")
    repo.write("app/overlays/prod/web.yaml", PATCH)
    repo.commit("base")
    said = findings(gatekeeper("scan", ".", "--format", "json", cwd=repo.root))
    assert [(f["policy_id"], f["file"], f["line"], f["blocking"]) for f in said] == [
        ("GK-NOT-EXPANDED", "app/fleet.yaml", 3, False),
        ("GK-RENDER-ERROR", "app/overlays/prod/kustomization.yaml", 1, True),
    ]
    assert said[1]["message"] == (
        "app/fleet.yaml builds this overlay over the chart https://charts.example.com/"
        "web-0.1.0.tgz, which Fleet downloads and is not in this repository (gatekeeper never"
        " downloads charts): its patches are not applied or judged here; vendor the chart and"
        " point helm.chart at its folder"
    )
    repo.write("app/overlays/prod/kustomization.yaml", "resources: [extra.yaml]\n" + HOST_PID)
    repo.write("app/overlays/prod/extra.yaml", EXTRA)
    repo.commit("own objects")
    built = findings(gatekeeper("scan", ".", "--format", "json", cwd=repo.root))
    assert not [f for f in built if f["policy_id"] == "GK-RENDER-ERROR"]  # built alone
