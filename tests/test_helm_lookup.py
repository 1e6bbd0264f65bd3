"""A chart's branch taken where `lookup` finds an object is judged: `helm install` and Flux
render against the cluster, so what exists there picks the branch (Argo CD's `helm template`
never finds anything). Offline `lookup` returns an empty map and the branch went unjudged."""

from __future__ import annotations

from gatekeeper.evaluate import Engine
from gatekeeper.policy.loader import load_policy_file
from gatekeeper.scanner import scan
from gatekeeper.sources import LoadContext, helm_lookup
from gatekeeper.tree import MemoryTree
from tests.test_helm_cluster_apis import CHART, POLICIES, deployment

FOUND = "helm web where lookup finds objects"
KUBE_SYSTEM = '(lookup "v1" "Namespace" "" "kube-system")'


def findings(files: dict[str, str], options: dict[str, dict[str, object]] | None = None) -> list:
    engine = Engine([load_policy_file(POLICIES / "pss-baseline-privileged.yaml")])
    data = {name: text.encode() for name, text in files.items()}
    context = LoadContext(tree=MemoryTree(data), options=options or {})
    return scan(sorted(data.items()), engine, 1, context).findings


def test_a_branch_taken_where_lookup_finds_an_object_is_judged() -> None:
    files = {"web/Chart.yaml": CHART, "web/templates/deploy.yaml": deployment(KUBE_SYSTEM)}
    [finding] = findings(files)
    assert (finding.policy_id, finding.file, finding.line) == (
        "K8S-PSS-PRIVILEGED",
        "web/templates/deploy.yaml",
        17,
    )
    assert finding.extra["variants"] == [FOUND]


def test_reads_of_what_lookup_found_render_against_the_stand_in() -> None:
    """The usual reuse of an existing Secret renders: `.data` of the stand-in is a map."""
    secret = (
        '{{- $s := lookup "v1" "Secret" .Release.Namespace "web" }}\n'
        "apiVersion: v1\nkind: Secret\nmetadata: {name: web}\ndata:\n"
        '  password: {{ if $s }}{{ index $s.data "password" }}{{ else }}eA=={{ end }}\n'
        '  again: {{ if $s }}{{ $s.data.password | default "eA==" }}{{ else }}eA=={{ end }}\n'
    )
    files = {
        "web/Chart.yaml": CHART,
        "web/templates/secret.yaml": secret,
        "web/templates/deploy.yaml": deployment(
            '(lookup "v1" "Secret" .Release.Namespace "web").data'
        ),
    }
    assert [(f.policy_id, f.extra.get("variants")) for f in findings(files)] == [
        ("K8S-PSS-PRIVILEGED", [FOUND])
    ]


def test_a_chart_without_lookup_renders_once() -> None:
    files = {
        "web/Chart.yaml": CHART,
        "web/values.yaml": "lookup: true\n",  # a value named lookup is not a call
        "web/templates/deploy.yaml": deployment(".Values.lookup"),
    }
    assert [f.extra.get("variants") for f in findings(files)] == [["helm web"]]
    assert not helm_lookup.calls(b"{{ if .Values.lookup }}x{{ end }} lookup: here")
    assert helm_lookup.calls(b'{{- $x := lookup\n  "v1" "Secret" "a" "b" }}')
    # a comment is no call, whatever it quotes (`}}` inside ended it before)
    assert not helm_lookup.calls(b'{{/* a "{}}" then {{ lookup "v1" "Secret" "a" "b" }} */}}')


def test_argo_cd_renders_with_helm_template_where_lookup_finds_nothing() -> None:
    application = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web, namespace: argocd}
spec:
  project: default
  source: {repoURL: 'https://github.com/acme/platform', path: web, targetRevision: HEAD}
  destination: {server: 'https://kubernetes.default.svc', namespace: web}
"""
    files = {
        "web/Chart.yaml": CHART,
        "web/templates/deploy.yaml": deployment(KUBE_SYSTEM),
        "web/templates/always.yaml": deployment("true").replace("name: web", "name: always"),
        "apps/web.yaml": application,
    }
    options = {"gitops": {"repoURLs": ["https://github.com/acme/platform"]}}
    found = [(f.file, f.extra["variants"]) for f in findings(files, options)]
    assert found == [
        ("web/templates/always.yaml", ["deployed by apps/web.yaml:web", "helm web"]),
        ("web/templates/deploy.yaml", [FOUND]),  # the chart alone: `helm install` may find it
    ]


UNREADABLE = (
    '{{- $s := lookup "v1" "Secret" "web" "token" }}\n'
    "apiVersion: v1\nkind: Secret\nmetadata: {name: token}\ndata:\n"
    '  token: {{ if $s }}{{ index $s.data "ca.crt" | b64dec | b64enc }}{{ else }}eA=={{ end }}\n'
)  # (a key the chart's own Secrets lack: helm_lookup.made_stand_in holds theirs)


def test_a_chart_that_cannot_render_what_lookup_finds_says_so_at_the_call() -> None:
    """A read only a real object satisfies (b64dec of a key the stand-in lacks) fails: the
    branch is not judged, and a chart alone gets a low notice at the `lookup`."""
    files = {
        "web/Chart.yaml": CHART,
        "web/templates/deploy.yaml": deployment("false"),
        "web/templates/token.yaml": UNREADABLE,
    }
    [finding] = findings(files)
    assert (finding.policy_id, finding.severity, finding.file, finding.line) == (
        "GK-HELM-LOOKUP-NOTE",
        "low",
        "web/templates/token.yaml",
        1,
    )
    assert "b64dec" in finding.message


def test_a_chart_that_does_not_render_at_all_is_said_by_its_render_error_alone() -> None:
    """bitnami's charts with `common` not vendored: the lookup renderings fail as the chart
    does, and a lookup note quoting that error gave a second, wrong cause."""
    chart = CHART + "dependencies:\n  - {name: common, version: 2.x.x, repository: oci://x}\n"
    secret = (
        '{{- $old := lookup "v1" "Secret" .Release.Namespace "web" }}\n'
        "apiVersion: v1\nkind: Secret\n"
        'metadata: {name: {{ include "common.names.fullname" . }}}\n'
        "data: {password: {{ if $old }}{{ index $old.data \"password\" }}{{ else }}eA=={{ end }}}\n"
    )
    files = {"web/Chart.yaml": chart, "web/templates/secret.yaml": secret}
    assert [f.policy_id for f in findings(files)] == ["GK-RENDER-ERROR"]


FLUX_SYNC = """\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: flux-system, namespace: flux-system}
spec: {interval: 1m, url: 'ssh://git@github.com/acme/fleet', ref: {branch: main}}
"""
HELM_RELEASE = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: web, namespace: web}
spec:
  interval: 10m
  chart:
    spec:
      chart: ./web
      sourceRef: {kind: GitRepository, name: flux-system, namespace: flux-system}
"""


def test_a_flux_release_of_a_chart_lookup_breaks_is_blocked() -> None:
    """helm-controller renders with the cluster: a branch that cannot be judged offline is a
    medium (blocking) finding there, a low notice for the chart alone."""
    files = {
        "web/Chart.yaml": CHART,
        "web/templates/deploy.yaml": deployment(KUBE_SYSTEM),
        "web/templates/token.yaml": UNREADABLE,
        "clusters/prod/flux-system/gotk-sync.yaml": FLUX_SYNC,
        "clusters/prod/web.yaml": HELM_RELEASE,
    }
    found = sorted((f.policy_id, f.severity, f.file) for f in findings(files))
    assert found == [
        ("GK-HELM-LOOKUP", "medium", "web/templates/token.yaml"),
        ("GK-HELM-LOOKUP-NOTE", "low", "web/templates/token.yaml"),
    ]
    del files["web/templates/token.yaml"]
    assert [(f.policy_id, f.extra["variants"]) for f in findings(files)] == [
        ("K8S-PSS-PRIVILEGED", ["deployed by clusters/prod/web.yaml:web", FOUND])
    ]


def test_a_branch_only_the_fuller_stand_in_reaches_is_said_when_it_breaks() -> None:
    """The fuller stand-in breaks inside the branch, the empty one skips it: the empty
    rendering is judged and the break is still said (the branch went unjudged)."""
    guarded = '{{- $s := lookup "v1" "Secret" "web" "token" }}\n' + deployment(
        '$s.data }}{{ $t := index $s.data "k" | b64dec }}{{- if true }}{{ end }}{{- if true'
    ).replace("{{- end }}", "{{- end }}{{- end }}")
    files = {"web/Chart.yaml": CHART, "web/templates/deploy.yaml": guarded}
    assert [(f.policy_id, f.line) for f in findings(files)] == [("GK-HELM-LOOKUP-NOTE", 1)]


def test_a_lookup_in_a_values_string_the_chart_gives_to_tpl_is_judged() -> None:
    """Red team s13 u06: the call sits in values.yaml; the template only runs `tpl` on it."""
    files = {
        "web/Chart.yaml": CHART,
        "web/values.yaml": (
            'found: \'{{ if lookup "v1" "Namespace" "" "monitoring" }}yes{{ end }}\'\n'
        ),
        "web/templates/deploy.yaml": deployment('eq (tpl .Values.found .) "yes"'),
    }
    found = findings(files)
    assert [(f.file, f.line) for f in found] == [("web/templates/deploy.yaml", 17)]
    assert helm_lookup.uses_lookup([("values.yaml", files["web/values.yaml"].encode())])
