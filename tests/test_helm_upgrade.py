"""A chart's branch taken on upgrade is judged: every Flux reconcile and `helm upgrade`
after the first install renders with `.Release.IsUpgrade` (Argo CD: always an install)."""

from __future__ import annotations

from tests.test_helm_cluster_apis import CHART, deployment
from tests.test_helm_lookup import findings


def test_a_branch_taken_on_upgrade_is_judged() -> None:
    files = {
        "web/Chart.yaml": CHART,
        "web/templates/deploy.yaml": deployment(".Release.IsUpgrade"),
    }
    assert [(f.line, f.extra["variants"]) for f in findings(files)] == [
        (17, ["helm web --is-upgrade"])
    ]


def test_a_branch_taken_on_install_stays_the_release_own() -> None:
    files = {
        "web/Chart.yaml": CHART,
        "web/templates/deploy.yaml": deployment(".Release.IsInstall"),
    }
    assert [(f.line, f.extra["variants"]) for f in findings(files)] == [(17, ["helm web"])]


def test_a_chart_that_never_asks_renders_once() -> None:
    files = {"web/Chart.yaml": CHART, "web/templates/deploy.yaml": deployment("true")}
    assert [f.extra["variants"] for f in findings(files)] == [["helm web"]]
