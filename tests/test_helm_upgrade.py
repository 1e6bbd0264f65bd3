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



# bitnami's common library, in short: an upgrade with no password given takes the one of
# the Secret the install made, found with `lookup`, and fails where there is none; a found
# Secret without the key fails too.
PASSWORD = """\
{{- $found := (lookup "v1" "Secret" .Release.Namespace "web").data }}
{{- if and $found (not (hasKey $found "password")) }}
{{- fail "PASSWORDS ERROR: the secret does not contain the key password" }}
{{- else if and .Release.IsUpgrade (not $found) (not .Values.password) }}
{{- fail "PASSWORDS ERROR: You must provide your current passwords when upgrading" }}
{{- end }}
apiVersion: v1
kind: Secret
metadata: {name: web}
stringData: {password: x}
"""


def test_an_upgrade_renders_where_lookup_finds_what_the_install_made() -> None:
    """bitnami/charts redis (session 16): the upgrade rendering failed on the chart's own
    password check, a high GK-RENDER-ERROR on every pull request, though `helm upgrade`
    finds the Secret the install made and renders; and `lookup` finding a stand-in Secret
    without the key was a GK-HELM-LOOKUP-NOTE. Both now render with `lookup` finding the
    install's data keys, and the upgrade's branch is judged. An upgrade that fails however
    the cluster answers (a value it requires on every upgrade) keeps its render error."""
    files = {
        "web/Chart.yaml": CHART,
        "web/templates/secret.yaml": PASSWORD,
        "web/templates/deploy.yaml": deployment(".Release.IsUpgrade"),
    }
    said = [(f.policy_id, f.line, f.extra.get("variants")) for f in findings(files)]
    upgrade = "helm web --is-upgrade where lookup finds objects"
    assert said == [("K8S-PSS-PRIVILEGED", 17, [upgrade])]
    always = PASSWORD.replace("and .Release.IsUpgrade (not $found)", "and .Release.IsUpgrade")
    said = [(f.policy_id, f.line) for f in findings({**files, "web/templates/secret.yaml": always})]
    assert ("GK-RENDER-ERROR", 5) in said


def test_a_value_the_upgrade_asks_for_is_given_a_stand_in() -> None:
    """bitnami's redis-cluster requires its password on every upgrade (NOTES.txt, through
    the common library: no `required` to read the value from), and says which value in
    its error: a high GK-RENDER-ERROR on every pull request. The value the error asks for
    (`--set password=`) gets the stand-in, as a `required` one does: the upgrade is
    judged, and the error is a low GK-HELM-DEFAULTS note."""
    notes = (
        "{{- if and .Release.IsUpgrade (not .Values.password) }}\n"
        "{{- fail \"'password' must not be empty, please add '--set password=$PASSWORD'\" }}\n"
        "{{- end }}\n"
    )
    files = {
        "web/Chart.yaml": CHART,
        "web/templates/NOTES.txt": notes,
        "web/templates/deploy.yaml": deployment(".Release.IsUpgrade"),
    }
    said = {(f.policy_id, f.severity, f.file, f.line) for f in findings(files)}
    assert said == {
        ("GK-HELM-DEFAULTS", "low", "web/templates/NOTES.txt", 2),
        ("K8S-PSS-PRIVILEGED", "critical", "web/templates/deploy.yaml", 17),
    }


def test_an_upgrade_is_not_said_to_fail_when_the_install_does() -> None:
    """bitnami's gitea: a dependency not vendored fails the install (said in its one
    finding), and the upgrade's password check was a render error of its own besides: a
    release that does not install is never upgraded. The install's error is said, once."""
    both = (
        '{{- if .Release.IsUpgrade }}{{ fail "the upgrade needs the password" }}'
        '{{- else }}{{ fail "the install needs x" }}{{ end }}\n'
    )
    files = {"web/Chart.yaml": CHART, "web/templates/cm.yaml": both}
    said = [(f.policy_id, f.message) for f in findings(files)]
    assert [policy for policy, _ in said] == ["GK-RENDER-ERROR"]
    assert "the install needs x" in said[0][1]
