"""Branches on `.Capabilities.APIVersions.Has` for a custom API are judged on both sides.

Argo CD renders a chart with the API versions its cluster serves: a container made privileged
only where cert-manager is installed deploys privileged there. The chart is also rendered as
such a cluster would, and its findings name that rendering.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gatekeeper.change import scan_change
from gatekeeper.evaluate import Engine
from gatekeeper.policy.loader import load_policy_file
from gatekeeper.scanner import scan, without_assumptions
from gatekeeper.sources import LoadContext, helm
from gatekeeper.sources.helm import allows
from gatekeeper.tree import MemoryTree
from tests.conftest import PRIVILEGED_POLICY, REPO
from tests.test_change import CONFIG, Repo

POLICIES = REPO / "policies" / "kubernetes"
CHART = "apiVersion: v2\nname: web\nversion: 0.1.0\n"


def deployment(condition: str) -> str:
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
        - name: web
          image: nginx
          securityContext:
{{{{- if {condition} }}}}
            privileged: true
{{{{- else }}}}
            privileged: false
{{{{- end }}}}
"""


def findings_of(files: dict[str, str], policy: str) -> list[tuple[str, int, list[str]]]:
    engine = Engine([load_policy_file(POLICIES / policy)])
    data = {name: text.encode() for name, text in files.items()}
    context = LoadContext(tree=MemoryTree(data))
    found = scan(sorted(data.items()), engine, 1, context).findings
    return [(f.file, f.line, f.extra.get("variants", [])) for f in found]


def test_a_branch_taken_where_a_custom_api_is_served_is_judged() -> None:
    files = {
        "web/Chart.yaml": CHART,
        "web/templates/deploy.yaml": deployment(
            '.Capabilities.APIVersions.Has "cert-manager.io/v1"'
        ),
    }
    assert findings_of(files, "pss-baseline-privileged.yaml") == [
        ("web/templates/deploy.yaml", 17, ["helm web --api-versions cert-manager.io/v1"])
    ]


def test_the_branch_taken_where_the_custom_api_is_missing_is_judged_too() -> None:
    files = {
        "web/Chart.yaml": CHART,
        "web/templates/deploy.yaml": deployment(
            "not ($.Capabilities.APIVersions.Has `monitoring.coreos.com/v1/ServiceMonitor`)"
        ),
    }
    assert findings_of(files, "pss-baseline-privileged.yaml") == [
        ("web/templates/deploy.yaml", 17, ["helm web"])
    ]


def test_kubernetes_own_apis_are_served_by_resource_as_a_cluster_serves_them() -> None:
    """A cluster names every resource it serves (`networking.k8s.io/v1/Ingress`); Helm's
    offline defaults only group/versions. Rendered offline, the chart below would bring the
    removed Ingress and hide the privileged branch. An old cluster's branch (PodSecurityPolicy)
    is not rendered: it only brings API versions such a cluster serves."""
    psp = (
        '{{- if .Capabilities.APIVersions.Has "policy/v1beta1/PodSecurityPolicy" }}\n'
        "apiVersion: policy/v1beta1\nkind: PodSecurityPolicy\nmetadata: {name: web}\n"
        "spec: {privileged: false}\n{{- end }}\n"
    )
    ingress = (
        '{{- if .Capabilities.APIVersions.Has "networking.k8s.io/v1/Ingress" }}\n'
        "apiVersion: networking.k8s.io/v1\n{{- else }}\napiVersion: extensions/v1beta1\n"
        "{{- end }}\nkind: Ingress\nmetadata: {name: web}\nspec: {}\n"
    )
    files = {
        "web/Chart.yaml": CHART,
        "web/templates/psp.yaml": psp,
        "web/templates/ingress.yaml": ingress,
        "web/templates/deploy.yaml": deployment(
            '.Capabilities.APIVersions.Has "apps/v1/Deployment"'
        ),
    }
    assert findings_of(files, "api-removed.yaml") == []
    assert findings_of(files, "pss-baseline-privileged.yaml") == [
        ("web/templates/deploy.yaml", 17, ["helm web"])
    ]


def test_a_pull_request_adding_the_branch_is_blocked(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    repo.write(".gatekeeper.yml", CONFIG)
    repo.write("policies/no-privileged.yaml", PRIVILEGED_POLICY)
    repo.write("web/Chart.yaml", CHART)
    repo.write("web/templates/deploy.yaml", deployment("false"))
    repo.commit("base")
    repo.branch("pr")
    repo.write(
        "web/templates/deploy.yaml",
        deployment('.Capabilities.APIVersions.Has "cert-manager.io/v1"'),
    )
    repo.commit("privileged where cert-manager runs")
    verdict = scan_change(repo.root, "main").verdict
    new = [(f.file, f.line, f.status) for f in verdict.findings if f.blocking]
    assert new == [("web/templates/deploy.yaml", 17, "new")]
    assert not verdict.passed


def test_a_branch_for_older_kubernetes_than_helm_assumes_is_judged() -> None:
    """Helm assumes the newest Kubernetes; a cluster a release or two behind takes the
    branch below. Each version a constraint starts a branch at is rendered, from 1.30 on."""
    files = {
        "web/Chart.yaml": CHART,
        "web/templates/deploy.yaml": deployment(
            'semverCompare "<1.33-0" .Capabilities.KubeVersion.Version'
        ),
    }
    assert findings_of(files, "pss-baseline-privileged.yaml") == [
        ("web/templates/deploy.yaml", 17, ["helm web --kube-version v1.30.0"])
    ]


def test_a_branch_for_a_future_kubernetes_is_judged_unless_the_chart_refuses_it() -> None:
    later = deployment("ge (.Capabilities.KubeVersion.Minor | int) 40")
    files = {"web/Chart.yaml": CHART, "web/templates/deploy.yaml": later}
    assert findings_of(files, "pss-baseline-privileged.yaml") == [
        (
            "web/templates/deploy.yaml",
            17,
            ["helm web --kube-version v1.40.0", "helm web --kube-version v1.41.0"],
        )
    ]
    files["web/Chart.yaml"] = CHART + 'kubeVersion: "<1.38.0-0"\n'
    assert findings_of(files, "pss-baseline-privileged.yaml") == []


def test_constraints_on_versions_long_out_of_support_render_once() -> None:
    files = {
        "web/Chart.yaml": CHART,
        "web/templates/deploy.yaml": deployment(
            'semverCompare ">=1.14-0" .Capabilities.KubeVersion.GitVersion'
        ),
    }
    assert findings_of(files, "pss-baseline-privileged.yaml") == [
        ("web/templates/deploy.yaml", 17, ["helm web"])
    ]


def test_a_chart_s_kube_version_constraint_is_read_as_helm_reads_it() -> None:
    assert allows(">=1.30.0-0, <1.38.0", "v1.37.0")
    assert not allows(">=1.30.0-0, <1.38.0", "v1.40.0")
    assert allows("<1.31 || >=1.40", "v1.40.0")
    assert not allows("<1.31 || >=1.41", "v1.40.0")
    assert not allows(">= 1.33", "v1.30.0")
    assert allows("~1.30", "v1.99.0")  # a form not read here: rendered, judged


def test_a_constraint_passed_through_a_variable_is_found_in_the_values() -> None:
    files = {
        "web/Chart.yaml": CHART,
        "web/values.yaml": 'legacy: "<1.34.0-0"\n',
        "web/templates/deploy.yaml": deployment(
            "semverCompare .Values.legacy .Capabilities.KubeVersion.Version"
        ),
    }
    assert findings_of(files, "pss-baseline-privileged.yaml") == [
        ("web/templates/deploy.yaml", 17, ["helm web --kube-version v1.30.0"])
    ]


def test_a_constraint_built_by_printf_is_found_from_the_values_versions() -> None:
    """`semverCompare (printf "<%s" .Values.floor) ...` with `floor: 1.34.0`: no constraint
    is written anywhere, only the version; the branch below it (clusters before 1.34) is
    rendered and judged."""
    files = {
        "web/Chart.yaml": CHART,
        "web/values.yaml": "floor: 1.34.0\n",
        "web/templates/deploy.yaml": deployment(
            'semverCompare (printf "<%s-0" .Values.floor) .Capabilities.KubeVersion.Version'
        ),
    }
    assert findings_of(files, "pss-baseline-privileged.yaml") == [
        ("web/templates/deploy.yaml", 17, ["helm web --kube-version v1.30.0"])
    ]


@pytest.mark.parametrize(
    "condition",
    [
        'regexMatch "^v1[.](2[0-9]|30|31)[.]" .Capabilities.KubeVersion.Version',
        'hasPrefix "v1.31." (include "web.kube" .)',
        'eq $kube "v1.31.0"',
    ],
)
def test_a_version_test_the_constraints_do_not_show_renders_at_every_minor(
    condition: str,
) -> None:
    """Red team s13 u06 (regex): a test of the version by `regexMatch`, `hasPrefix` or `eq`,
    directly, through a named template or a variable, holds no constraint to render at: the
    chart is rendered at every supported minor below the one Helm assumes."""
    files = {
        "web/Chart.yaml": CHART,
        "web/templates/_helpers.tpl": (
            '{{- define "web.kube" -}}{{ .Capabilities.KubeVersion.Version }}{{- end -}}\n'
        ),
        "web/templates/deploy.yaml": '{{- $kube := include "web.kube" . }}\n'
        + deployment(condition),
    }
    found = findings_of(files, "pss-baseline-privileged.yaml")
    assert [file for file, _, _ in found] == ["web/templates/deploy.yaml"]
    assert "helm web --kube-version v1.31.0" in found[0][2]


def test_a_version_test_of_the_next_minors_renders_at_them() -> None:
    """A test the constraints do not show, of minors after the one Helm assumes offline
    (1.36): a cluster's next upgrade takes its branch with no change to the chart, so the
    chart is rendered at those minors too (to 1.40, as far as such a test is read). A branch
    for clusters older than 1.30 stays unrendered: judged only with `kubeVersion` set."""
    files = {
        "web/Chart.yaml": CHART,
        "web/templates/deploy.yaml": deployment(
            'regexMatch "^v1[.]3[7-9][.]" .Capabilities.KubeVersion.Version'
        ),
    }
    found = findings_of(files, "pss-baseline-privileged.yaml")
    assert [file for file, _, _ in found] == ["web/templates/deploy.yaml"]
    assert found[0][2] == [f"helm web --kube-version v1.{minor}.0" for minor in (37, 38, 39)]


def test_a_version_only_passed_on_to_semver_compare_renders_at_its_constraints() -> None:
    """Normalising the version (a default, a test of its shape alone) decides nothing."""
    version = ".Capabilities.KubeVersion.Version"
    shape = f'regexMatch "^v\\\\d+\\\\.\\\\d+$" {version}'
    files = {
        "web/Chart.yaml": CHART,
        "web/templates/deploy.yaml": (
            "{{- $kube := default .Capabilities.KubeVersion.GitVersion .Values.kube }}\n"
            f'{{{{- $full := ternary (printf "%s.0" {version}) {version} ({shape}) }}}}\n'
            + deployment('and (semverCompare "<1.33-0" $kube) (not (empty $full))')
        ),
    }
    assert [r for _, _, r in findings_of(files, "pss-baseline-privileged.yaml")] == [
        ["helm web --kube-version v1.30.0"]
    ]


def test_a_local_dependency_s_branch_on_a_custom_api_is_judged() -> None:
    """A `file://` dependency outside the chart folder is copied in for Helm: what its
    templates ask the cluster is read there too."""
    files = {
        "web/Chart.yaml": CHART
        + "dependencies:\n  - {name: lib, version: 0.1.0, repository: 'file://../lib'}\n",
        "lib/Chart.yaml": "apiVersion: v2\nname: lib\nversion: 0.1.0\n",
        "lib/templates/deploy.yaml": deployment(
            '.Capabilities.APIVersions.Has "cert-manager.io/v1"'
        ),
    }
    assert findings_of(files, "pss-baseline-privileged.yaml") == [
        (
            "lib/templates/deploy.yaml",
            17,
            # the library chart on its own, and as the dependency `web` renders
            [
                "helm lib --api-versions cert-manager.io/v1",
                "helm web --api-versions cert-manager.io/v1",
            ],
        )
    ]


def test_an_api_version_passed_through_a_variable_is_found_where_it_is_written() -> None:
    files = {
        "web/Chart.yaml": CHART,
        "web/values.yaml": "issuerApi: cert-manager.io/v1\n",
        "web/templates/deploy.yaml": deployment(".Capabilities.APIVersions.Has .Values.issuerApi"),
    }
    assert findings_of(files, "pss-baseline-privileged.yaml") == [
        ("web/templates/deploy.yaml", 17, ["helm web --api-versions cert-manager.io/v1"])
    ]


@pytest.mark.parametrize(
    "condition",
    [
        'has "cert-manager.io/v1" .Capabilities.APIVersions',  # sprig's has over the list
        'eq (include "web.issuer" .) "yes"',  # a helper ranging over the list
    ],
)
def test_the_api_list_read_without_has_is_tested_with_every_api_the_chart_writes(
    condition: str,
) -> None:
    """Red team s13 u06: Helm's own functions read .Capabilities.APIVersions other ways."""
    helper = (
        '{{- define "web.issuer" -}}{{- range .Capabilities.APIVersions -}}'
        '{{- if eq . "cert-manager.io/v1" }}yes{{ end -}}{{- end -}}{{- end -}}\n'
    )
    files = {
        "web/Chart.yaml": CHART,
        "web/templates/_helpers.tpl": helper,
        "web/templates/deploy.yaml": deployment(condition),
    }
    assert findings_of(files, "pss-baseline-privileged.yaml") == [
        ("web/templates/deploy.yaml", 17, ["helm web --api-versions cert-manager.io/v1"])
    ]


def test_a_test_of_the_cluster_in_a_values_string_given_to_tpl_is_judged() -> None:
    files = {
        "web/Chart.yaml": CHART,
        "web/values.yaml": (
            "issued: '{{ .Capabilities.APIVersions.Has \"cert-manager.io/v1\" }}'\n"
        ),
        "web/templates/deploy.yaml": deployment('eq (tpl .Values.issued .) "true"'),
    }
    assert findings_of(files, "pss-baseline-privileged.yaml") == [
        ("web/templates/deploy.yaml", 17, ["helm web --api-versions cert-manager.io/v1"])
    ]


@pytest.mark.parametrize(
    "test",
    [
        'semverCompare "<1.32.0-0" .Capabilities.KubeVersion.Version',
        'regexMatch "^v1[.]3[01][.]" .Capabilities.KubeVersion.Version',
    ],
)
def test_a_test_of_the_kubernetes_version_in_a_values_string_given_to_tpl_is_judged(
    test: str,
) -> None:
    files = {
        "web/Chart.yaml": CHART,
        "web/values.yaml": f"old: '{{{{ {test} }}}}'\n",
        "web/templates/deploy.yaml": deployment('eq (tpl .Values.old .) "true"'),
    }
    found = findings_of(files, "pss-baseline-privileged.yaml")
    assert [file for file, _, _ in found] == ["web/templates/deploy.yaml"]
    assert "helm web --kube-version v1.30.0" in found[0][2]


MONITOR = """\
{{- if .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" }}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: web}
spec: {selector: {matchLabels: {app: web}}}
{{- end }}
"""


def test_a_finding_every_rendering_has_is_said_once_for_the_release_own() -> None:
    """The assumed cluster (cert-manager installed) renders deploy.yaml as the release does:
    its privileged container is the release's finding, not named again for that cluster."""
    files = {
        "web/Chart.yaml": CHART,
        "web/templates/deploy.yaml": deployment("true"),
        "web/templates/monitor.yaml": MONITOR,
    }
    assert findings_of(files, "pss-baseline-privileged.yaml") == [
        ("web/templates/deploy.yaml", 17, ["helm web"])
    ]


def test_a_finding_at_the_same_line_of_a_differently_rendered_object_is_said_once() -> None:
    """The assumed cluster writes deploy.yaml otherwise (an annotation), so its object is
    judged on its own; its finding at the release's own line is still the release's."""
    annotated = deployment("true").replace(
        "    metadata:\n      labels: {app: web}\n",
        "    metadata:\n      labels: {app: web}\n      annotations:\n"
        '        monitored: "{{ .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" }}"\n',
    )
    files = {"web/Chart.yaml": CHART, "web/templates/deploy.yaml": annotated}
    line = annotated.splitlines().index("            privileged: true") + 1
    assert findings_of(files, "pss-baseline-privileged.yaml") == [
        ("web/templates/deploy.yaml", line, ["helm web"])
    ]


def test_a_rendering_assuming_many_apis_is_named_by_the_first_and_how_many_more() -> None:
    apis = ["cert-manager.io/v1", "monitoring.coreos.com/v1", "keda.sh/v1alpha1"]
    condition = " ".join(f'(.Capabilities.APIVersions.Has "{api}")' for api in apis)
    files = {"web/Chart.yaml": CHART, "web/templates/deploy.yaml": deployment(f"and {condition}")}
    assert findings_of(files, "pss-baseline-privileged.yaml") == [
        ("web/templates/deploy.yaml", 17, ["helm web --api-versions cert-manager.io/v1 (+2)"])
    ]


def test_a_rendering_is_named_by_an_api_version_its_template_tests() -> None:
    """The chart tests two custom APIs, monitoring first; the privileged branch is taken
    where keda is installed: its finding names keda, not the chart's first API."""
    files = {
        "web/Chart.yaml": CHART,
        "web/templates/alerts.yaml": MONITOR,  # read first
        "web/templates/deploy.yaml": deployment('.Capabilities.APIVersions.Has "keda.sh/v1alpha1"'),
    }
    assert findings_of(files, "pss-baseline-privileged.yaml") == [
        ("web/templates/deploy.yaml", 17, ["helm web --api-versions keda.sh/v1alpha1 (+1)"])
    ]


def test_a_template_an_assumed_cluster_renders_alike_is_parsed_once() -> None:
    """Its objects are the release's own (shared, not loaded again), named by the rendering;
    a template it renders otherwise is loaded from its own text."""
    files = {
        "web/Chart.yaml": CHART,
        "web/templates/deploy.yaml": deployment("true"),
        "web/templates/monitor.yaml": MONITOR,
    }
    data = {name: text.encode() for name, text in files.items()}
    context = LoadContext(tree=MemoryTree(data))
    loaded = helm.load("web/Chart.yaml", data["web/Chart.yaml"], context)
    found = [(d.kind, d.extra["variant"]) for d in loaded.documents]
    assert found == [
        ("Deployment", "helm web"),
        ("Deployment", "helm web --api-versions monitoring.coreos.com/v1"),
        ("ServiceMonitor", "helm web --api-versions monitoring.coreos.com/v1"),
    ]
    own, copy, _ = loaded.documents
    assert copy.obj is own.obj and copy.locator is own.locator
    assert copy.extra == {**own.extra, "variant": found[1][1]}
    assert own.extra["variant"] == "helm web"


@pytest.mark.parametrize(
    ("variants", "said"),
    [
        (["helm web", "helm web --api-versions a/v1 (+2)"], ["helm web"]),
        (["helm web --api-versions a/v1"], ["helm web --api-versions a/v1"]),
        (
            ["helm web --api-versions a/v1", "helm web --api-versions a/v1 --kube-version v1.30.0"],
            ["helm web --api-versions a/v1"],
        ),
        (
            ["helm web --kube-version v1.30.0", "helm web --kube-version v1.31.0"],
            ["helm web --kube-version v1.30.0", "helm web --kube-version v1.31.0"],
        ),
        # another chart's own rendering says nothing for this one's assumed cluster
        (
            ["helm lib", "helm web --api-versions a/v1"],
            ["helm lib", "helm web --api-versions a/v1"],
        ),
        (["helm web -f v.yaml", "helm web --api-versions a/v1"], None),
    ],
)
def test_only_a_release_own_rendering_covers_its_assumed_clusters(
    variants: list[str], said: list[str] | None
) -> None:
    assert without_assumptions(variants) == (variants if said is None else said)
