"""Charts as chart repositories write them (grafana, opentelemetry, ingress-nginx, istio):
a value the chart requires on purpose, rendered with chart-testing's ci values; a missing
dependency said once; a chart's own namespace told from the one it is installed into."""

from __future__ import annotations

from pathlib import Path

from gatekeeper.sources import helm
from tests.test_helm_accuracy import at, load_chart

REQUIRED = """apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: canary
spec:
  selector: {matchLabels: {app: canary}}
  template:
    metadata: {labels: {app: canary}}
    spec:
      containers:
        - name: canary
          image: {{ .Values.image }}
          args: [{{ required "'address' must be set" .Values.address | quote }}]
"""


def test_a_chart_that_requires_a_value_is_judged_with_its_ci_values(tmp_path: Path) -> None:
    """loki-canary's `'lokiAddress' must be set`: its default values never render, its
    ci/*-values.yaml do (chart-testing renders each). The defaults are rendered with the
    value they require taken from each ci file and judged; the defaults' error is a low
    note, not a blocking render error."""
    files = {
        "ch/values.yaml": "image: busybox:latest\naddress: ''\n",
        "ch/templates/ds.yaml": REQUIRED,
        "ch/ci/basic-values.yaml": "address: http://loki:3100\n",
        "ch/ci/other-values.yaml": "address: http://other:3100\nimage: nginx:1.27\n",
        "ch/ci/same-values.yaml": "address: http://loki:3100\n",  # one rendering for both
        "ch/ci/README.md": "not values\n",
        "ch/ci/nested/deep-values.yaml": "address: 1\n",  # ct reads ci/*, not below it
    }
    loaded = load_chart(tmp_path, files)
    (note,) = loaded.problems
    assert (note.code, note.file, note.line) == ("GK-HELM-DEFAULTS", "ch/templates/ds.yaml", 13)
    assert "taken from ch/ci/basic-values.yaml, ch/ci/other-values.yaml)" in note.message
    assert [d.extra["variant"] for d in loaded.documents] == ["helm ch", "helm ch"]
    args = sorted(
        d.obj["spec"]["template"]["spec"]["containers"][0]["args"][0] for d in loaded.documents
    )
    assert args == ["http://loki:3100", "http://other:3100"]
    # what a ci file sets over the defaults is not what is judged: the default image is
    images = {d.obj["spec"]["template"]["spec"]["containers"][0]["image"] for d in loaded.documents}
    assert images == {"busybox:latest"}
    # a `fail` behind an `if` on values: the values that `if` tests are the required ones
    files["ch/templates/ds.yaml"] = REQUIRED.replace(
        "args: [{{ required \"'address' must be set\" .Values.address | quote }}]",
        '{{- if not .Values.address }}\n          {{- fail "address!" }}\n          {{- end }}',
    )
    loaded = load_chart(tmp_path, files)
    assert [p.code for p in loaded.problems] == ["GK-HELM-DEFAULTS"]
    assert len(loaded.documents) == 2


def test_ci_values_set_over_the_defaults_do_not_hide_them(tmp_path: Path) -> None:
    """An attacker's chart: `required` makes the defaults fail, and the ci file that
    supplies the value also turns a default `privileged: true` off. The defaults are judged
    with only the required value; a ci file that renders only whole keeps the error."""
    template = REQUIRED.replace(
        "          image: {{ .Values.image }}\n",
        "          image: {{ .Values.image }}\n"
        "          securityContext: {privileged: {{ .Values.privileged }}}\n",
    )
    files = {
        "ch/values.yaml": "image: nginx:1.27\naddress: ''\nprivileged: true\n",
        "ch/templates/ds.yaml": template,
        "ch/ci/test-values.yaml": "address: http://loki:3100\nprivileged: false\n",
    }
    (daemonset,) = load_chart(tmp_path, files).documents
    container = daemonset.obj["spec"]["template"]["spec"]["containers"][0]
    assert container["securityContext"] == {"privileged": True}
    # no `required` to read (a nil pointer): only the ci file whole renders; it is judged,
    # and the defaults' error still blocks, naming it
    files["ch/templates/ds.yaml"] = template.replace(
        "{{ required \"'address' must be set\" .Values.address | quote }}",
        "{{ .Values.loki.address | quote }}",
    )
    files["ch/ci/test-values.yaml"] = "loki: {address: a}\nprivileged: false\n"
    loaded = load_chart(tmp_path, files)
    (problem,) = loaded.problems
    assert problem.code == "GK-RENDER-ERROR" and "ch/ci/test-values.yaml whole" in problem.message
    (daemonset,) = loaded.documents
    assert daemonset.extra["variant"] == "helm ch -f ch/ci/test-values.yaml"


def test_a_chart_without_ci_values_is_judged_with_stand_ins_for_what_it_requires(
    tmp_path: Path,
) -> None:
    """linkerd's control plane `required`s its identity certificates (given with
    `--set-file` at install) and ships no ci values: the whole chart went unjudged behind a
    blocking render error. Rendered with a stand-in string for each required value, it is
    judged, and the defaults' error is a low note naming the values."""
    files = {"ch/values.yaml": "image: x\n", "ch/templates/ds.yaml": REQUIRED}
    loaded = load_chart(tmp_path, files)
    (note,) = loaded.problems
    assert (note.code, note.line) == ("GK-HELM-DEFAULTS", 13)
    assert "stand-in 'required-value' for each value it requires: address)" in note.message
    (daemonset,) = loaded.documents
    assert daemonset.obj["spec"]["template"]["spec"]["containers"][0]["args"] == [
        helm.STAND_IN
    ]
    # a required value the chart ranges over: no string stands in for it, nothing is
    # judged: said at the chart, naming what it requires (nothing releases it: medium)
    files["ch/templates/cm.yaml"] = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n"
        "{{- range $k, $v := required \"peers!\" .Values.peers }}\n  {{ $k }}: {{ $v }}\n"
        "{{- end }}\n"
    )
    loaded = load_chart(tmp_path, files)
    (problem,) = loaded.problems
    assert (problem.code, problem.file) == ("GK-HELM-VALUES-MISSING", "ch/Chart.yaml")
    assert problem.message.startswith("chart ch is not judged: it requires peers, address,")
    assert loaded.documents == []


def test_a_chart_no_values_render_keeps_its_render_error(tmp_path: Path) -> None:
    """Ci values none of which render: nothing was judged, said at the chart (medium, as
    nothing releases it); configured values: the error stands (high)."""
    files = {"ch/values.yaml": "image: x\n", "ch/templates/ds.yaml": REQUIRED}
    files["ch/ci/none-values.yaml"] = "image: y\n"
    loaded = load_chart(tmp_path, files)
    assert [(p.code, p.line) for p in loaded.problems] == [("GK-HELM-VALUES-MISSING", 2)]
    assert loaded.documents == []
    # configured values files are the user's choice: no ci renderings are added
    options = {"charts": [{"path": "ch", "valuesFiles": ["ch/ci/none-values.yaml"]}]}
    files["ch/ci/good-values.yaml"] = "address: a\n"
    loaded = load_chart(tmp_path, files, options)
    assert [p.code for p in loaded.problems] == ["GK-RENDER-ERROR"]
    assert loaded.documents == []


def test_a_missing_dependencys_values_read_by_the_chart_are_one_finding(tmp_path: Path) -> None:
    """enterprise-metrics reads `.Values.minio.tls.enabled` of its `minio` dependency, which
    is not vendored: Helm fails with a nil pointer. One finding says both, at the
    dependency, as for a named template the dependency defines."""
    chart = helm.CHART_FILE
    meta = "apiVersion: v2\nname: ch\nversion: 0.1.0\ndependencies:\n  - name: minio\n"
    meta += "    version: 8.0.9\n    repository: https://helm.min.io/\n"
    template = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n"
    template += "  tls: {{ .Values.minio.tls.enabled | quote }}\n"
    files = {f"ch/{chart}": meta, "ch/values.yaml": "", "ch/templates/c.yaml": template}
    (problem,) = load_chart(tmp_path, files).problems
    assert (problem.file, problem.line) == ("ch/Chart.yaml", 5)
    assert "not vendored" in problem.message and "nil pointer" in problem.message
    # a nil pointer on a value of the chart's own is its own finding
    files["ch/templates/c.yaml"] = template.replace("minio.tls", "own.tls")
    problems = load_chart(tmp_path, files).problems
    assert sorted((p.file, p.line) for p in problems) == [
        ("ch/Chart.yaml", 5),
        ("ch/templates/c.yaml", 6),
    ]


def test_a_missing_dependencys_values_read_through_index_are_one_finding(
    tmp_path: Path,
) -> None:
    """VictoriaMetrics' distributed chart reads `index .Values "victoria-metrics-k8s-stack"
    "grafana" "sidecar" ...` of its dependency, not vendored: Helm says `error calling index:
    index of nil pointer`. One finding at the dependency, as for `.Values.minio.tls` (two
    before: the dependency's and the template's line); a chart's own values read through
    `index` keep their finding."""
    chart = helm.CHART_FILE
    meta = "apiVersion: v2\nname: ch\nversion: 0.1.0\ndependencies:\n  - name: stack\n"
    meta += "    version: 0.72.0\n    repository: oci://ghcr.io/acme/charts\n"
    template = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"
    template += '  labels: {{ index .Values "stack" "grafana" "sidecar" "label" | quote }}\n'
    values = "stack:\n  enabled: true\n"
    files = {f"ch/{chart}": meta, "ch/values.yaml": values, "ch/templates/c.yaml": template}
    (problem,) = load_chart(tmp_path, files).problems
    assert (problem.file, problem.line) == ("ch/Chart.yaml", 5)
    assert "not vendored" in problem.message and "index of nil pointer" in problem.message
    files["ch/values.yaml"] = values.replace("stack", "own")
    files["ch/templates/c.yaml"] = template.replace('"stack"', '"own"')
    problems = load_chart(tmp_path, files).problems
    assert sorted((p.file, p.line) for p in problems) == [
        ("ch/Chart.yaml", 5),
        ("ch/templates/c.yaml", 5),
    ]


HELPERS = """{{- define "ch.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}
"""
WORKLOAD = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: %s
  namespace: %s
spec:
  selector: {matchLabels: {app: %s}}
  template:
    metadata: {labels: {app: %s}}
    spec:
      containers:
        - name: app
          image: nginx:1.27
"""
SERVICE = "apiVersion: v1\nkind: Service\nmetadata:\n  name: %s\n  namespace: %s\n"
SERVICE += "spec:\n  ports: [{port: 80}]\n"


def _namespace_findings(tmp_path: Path, files: dict[str, str]) -> list[tuple[str, str, str]]:
    """(policy, object, namespace) of the namespace policies' findings on a scan of the
    repository written at `tmp_path` with `files`."""
    from gatekeeper.evaluate import Engine
    from gatekeeper.policy.loader import load_policy_file
    from gatekeeper.scanner import scan
    from gatekeeper.sources import LoadContext
    from gatekeeper.tree import WorkTree
    from tests.conftest import REPO

    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    policies = REPO / "policies" / "kubernetes"
    engine = Engine(
        [
            load_policy_file(policies / "network-policy-present.yaml"),
            load_policy_file(policies / "meta-default-namespace.yaml"),
        ]
    )
    own = {"gitops": {"repoURLs": ["https://github.com/acme/platform"]}}
    context = LoadContext(tree=WorkTree(tmp_path), options=own)
    pairs = [
        (name, (tmp_path / name).read_bytes())
        for name in sorted(files)
        if "Chart" in name or "/" not in name
    ]
    findings = scan(pairs, engine, 1, context).findings
    assert [f.message for f in findings if f.policy_id.startswith("GK-")] == []
    return sorted((f.policy_id, f.name, f.namespace) for f in findings)


def test_a_charts_install_namespace_is_not_default(tmp_path: Path) -> None:
    """A chart alone is installed where `helm install -n X` says: its workloads are not in
    `default`, whether its templates leave the namespace out, write `.Release.Namespace`
    or a helper that defaults to it (`namespaceOverride: ""`). What the chart pins (a
    literal, a values default that is a namespace) is where it deploys and is judged."""
    workloads = (
        WORKLOAD % ("bare", "{{ .Release.Namespace }}", "bare", "bare")
        + "---\n"
        + WORKLOAD % ("helped", '{{ include "ch.namespace" . }}', "helped", "helped")
    ).replace("  namespace: {{ .Release.Namespace }}\n", "", 0)
    files = {
        "ch/Chart.yaml": "apiVersion: v2\nname: ch\nversion: 0.1.0\n",
        "ch/values.yaml": 'namespaceOverride: ""\n',
        "ch/templates/_helpers.tpl": HELPERS,
        "ch/templates/w.yaml": workloads,
        "ch/templates/s.yaml": SERVICE % ("helped", '{{ include "ch.namespace" . }}'),
        "ch/templates/none.yaml": WORKLOAD.replace("  namespace: %s\n", "")
        % ("none", "lone", "lone"),
    }
    assert _namespace_findings(tmp_path, files) == []
    # pinned by the chart: a literal, or the values default
    files["ch/templates/pinned.yaml"] = WORKLOAD % ("pinned", "default", "p", "p")
    files["ch/values.yaml"] = "namespaceOverride: monitoring\n"
    assert _namespace_findings(tmp_path, files) == [
        ("K8S-META-DEFAULT-NAMESPACE", "pinned", "default"),
        ("K8S-NETWORK-POLICY-PRESENT", "helped", "monitoring"),
        ("K8S-NETWORK-POLICY-PRESENT", "pinned", "default"),
    ]


def test_a_chart_deployed_into_a_known_namespace_is_judged_there(tmp_path: Path) -> None:
    """An Argo CD Application names the destination: the chart's workloads are there, and
    that namespace needs its NetworkPolicy, `default` included."""
    files = {
        "ch/Chart.yaml": "apiVersion: v2\nname: ch\nversion: 0.1.0\n",
        "ch/values.yaml": "",
        "ch/templates/w.yaml": WORKLOAD % ("app", "{{ .Release.Namespace }}", "a", "a"),
        "app.yaml": """apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: ch, namespace: argocd}
spec:
  project: default
  source: {repoURL: https://github.com/acme/platform, path: ch, targetRevision: main}
  destination: {server: https://kubernetes.default.svc, namespace: %s}
""",
    }
    for namespace in ("shop", "default"):
        files["app.yaml"] = files["app.yaml"].replace("%s", namespace)
        found = _namespace_findings(tmp_path, files)
        assert ("K8S-NETWORK-POLICY-PRESENT", "app", namespace) in found
        files["app.yaml"] = files["app.yaml"].replace(namespace + "}", "%s}")


DAEMONSET = """apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: ds
spec:
  selector:
    matchLabels: {app: ds}
  template:
    metadata:
      labels: {app: ds}
    spec:
      containers:
        - name: x
          {{- if .Values.image.tag }}
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          {{- else }}
          image: "{{ .Values.image.repository }}:{{ .Chart.AppVersion }}"
          {{- end }}
      volumes:
        - name: config
          configMap:
            name: {{ template "ch.name" . }}
        - name: run
          hostPath:
            path: /run/fluent-bit
        {{- with .Values.volumes }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
"""
DS_VALUES = """image:
  repository: grafana/fluent-bit
  tag: %s
volumes:
- name: varlog
  hostPath:
    path: /var/log
- name: docker
  hostPath:
    path: /var/lib/docker/containers
"""


def test_items_a_values_list_adds_after_literal_ones_link_their_values(tmp_path: Path) -> None:
    """grafana fluent-bit: `volumes:` writes two items, then `toYaml .Values.volumes`.
    The third rendered volume is the values list's first: found at the `toYaml` line,
    with its values line, not at `volumes:` without one."""
    files = {
        "ch/values.yaml": DS_VALUES % '""',
        "ch/templates/_helpers.tpl": '{{- define "ch.name" -}}cfg{{- end -}}\n',
        "ch/templates/ds.yaml": DAEMONSET,
    }
    (daemonset,) = load_chart(tmp_path, files).documents
    volumes = ("spec", "template", "spec", "volumes")
    found = daemonset.locator.locate((*volumes, 2, "hostPath"))
    assert (found.line, found.exact, found.values) == (27, False, "ch/values.yaml:6")
    found = daemonset.locator.locate((*volumes, 3, "hostPath", "path"))
    assert (found.line, found.values) == (27, "ch/values.yaml:10")
    found = daemonset.locator.locate((*volumes, 1, "hostPath"))  # a literal one
    assert (found.line, found.exact, found.values) == (24, True, "")


def test_a_field_written_in_if_and_else_is_at_the_branch_the_values_take(
    tmp_path: Path,
) -> None:
    """otel ebpf: `image:` in both branches of `if .Values...tag`: the finding is at the
    image line of the branch taken, with its values lines, not at the container's name."""
    files = {"ch/values.yaml": DS_VALUES % '""', "ch/templates/ds.yaml": DAEMONSET}
    files["ch/templates/_helpers.tpl"] = '{{- define "ch.name" -}}cfg{{- end -}}\n'
    image = ("spec", "template", "spec", "containers", 0, "image")
    (daemonset,) = load_chart(tmp_path, files).documents
    found = daemonset.locator.locate(image)
    assert (found.line, found.exact, found.values) == (17, True, "ch/values.yaml:2")
    files["ch/values.yaml"] = DS_VALUES % "'2.1'"
    (daemonset,) = load_chart(tmp_path, files).documents
    found = daemonset.locator.locate(image)
    assert (found.line, found.values) == (15, "ch/values.yaml:2, ch/values.yaml:3")
    # a condition the values do not decide (not a values path): no branch is guessed
    files["ch/templates/ds.yaml"] = DAEMONSET.replace(".Values.image.tag }}", "$.Chart.Name }}", 1)
    (daemonset,) = load_chart(tmp_path, files).documents
    assert daemonset.locator.locate(image).line == 13


SECURITY_HELPER = """{{- define "ch.securityContext" -}}
{{- if .Values.containerSecurityContext -}}
{{- toYaml .Values.containerSecurityContext -}}
{{- else -}}
runAsNonRoot: {{ .Values.image.runAsNonRoot }}
allowPrivilegeEscalation: {{ .Values.image.allowPrivilegeEscalation }}
readOnlyRootFilesystem: {{ .Values.image.readOnlyRootFilesystem }}
{{- end -}}
{{- end -}}
"""
SECURED = """apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
    - name: c
      image: nginx:1.27
      securityContext: {{ include "ch.securityContext" . | nindent 8 }}
"""
SECURED_VALUES = """containerSecurityContext: {}
image:
  runAsNonRoot: true
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: false
"""


def test_a_field_a_helper_writes_from_its_own_value_links_that_value(tmp_path: Path) -> None:
    """ingress-nginx: `securityContext: {{ include "...containerSecurityContext" . }}`,
    whose define writes `readOnlyRootFilesystem: {{ .Values.controller.image.readOnly... }}`:
    the finding is at that line of the define's body, linking the value's line."""
    files = {
        "ch/values.yaml": SECURED_VALUES,
        "ch/templates/_helpers.tpl": SECURITY_HELPER,
        "ch/templates/p.yaml": SECURED,
    }
    (pod,) = load_chart(tmp_path, files).documents
    field = ("spec", "containers", 0, "securityContext", "readOnlyRootFilesystem")
    found = pod.locator.locate(field)
    assert (found.file, found.line, found.values) == (
        "ch/templates/_helpers.tpl",
        7,
        "ch/values.yaml:5",
    )
    # set through the block the define writes whole (`toYaml`, the other branch): the
    # include line, with both values lines
    files["ch/values.yaml"] = SECURED_VALUES.replace("{}", "\n  readOnlyRootFilesystem: false")
    (pod,) = load_chart(tmp_path, files).documents
    found = pod.locator.locate(field)
    assert (found.file, found.line) == ("ch/templates/p.yaml", 9)
    assert found.values == "ch/values.yaml:6, ch/values.yaml:2"


OBJECTS = """{{/* whole objects, included once per component */}}
{{- define "ch.deployment" }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .name }}
spec:
  selector: {matchLabels: {app: "{{ .name }}"}}
  template:
    metadata: {labels: {app: "{{ .name }}"}}
    spec:
      containers:
        - name: {{ .name }}
          image: {{ .image }}
          {{- if .privileged }}
          securityContext: {privileged: true}
          {{- end }}
        {{- range .sidecars }}
        - name: {{ .name }}
          image: {{ .image }}
        {{- end }}
{{- end }}

{{- define "ch.service" }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .name }}
spec:
  ports: [{port: 80}]
{{- end }}
"""
COMPONENTS = """{{- range $name, $config := .Values.components }}
{{- $config := set . "name" $name }}
{{- include "ch.deployment" $config }}
{{- include "ch.service" $config }}
{{- end }}
"""
COMPONENT_VALUES = """components:
  cart:
    image: busybox:latest
    privileged: true
    sidecars:
      - {name: proxy, image: envoy:1.30}
  shop:
    image: nginx:1.27
  ad:
    image: ad:1.0
  load:
    image: load:1.0
"""


def test_objects_a_named_template_writes_are_located_in_its_body(tmp_path: Path) -> None:
    """opentelemetry-demo: component.yaml ranges over components and includes
    `otel-demo.deployment` for each: every finding was at component.yaml:1. Each object is
    located in the body of the define that writes its kind, the main container's fields at
    its own lines before the sidecars' `range`."""
    files = {
        "ch/values.yaml": COMPONENT_VALUES,
        "ch/templates/_objects.tpl": OBJECTS,
        "ch/templates/component.yaml": COMPONENTS,
    }
    loaded = load_chart(tmp_path, files)
    assert loaded.problems == []
    by_name = {(d.kind, d.name): d for d in loaded.documents}
    cart = by_name[("Deployment", "cart")]
    containers = ("spec", "template", "spec", "containers")
    found = cart.locator.locate((*containers, 0, "image"))
    assert (found.file, found.line, found.exact) == ("ch/templates/_objects.tpl", 15, True)
    # `.image` of the define is the image of the component the range gave it
    assert found.values == "ch/values.yaml:3"
    shop = by_name[("Deployment", "shop")].locator.locate((*containers, 0, "image"))
    assert (shop.line, shop.values) == (15, "ch/values.yaml:8")
    # each entry told by the key its name holds (the longest: `load`, not `ad` in it)
    load = by_name[("Deployment", "load")].locator.locate((*containers, 0, "image"))
    assert load.values == "ch/values.yaml:12"
    found = cart.locator.locate((*containers, 0, "securityContext", "privileged"))
    assert found.line == 17
    assert cart.locator.locate((*containers, 1, "image")).line == 21  # the sidecar's
    service = by_name[("Service", "shop")].locator.locate(("spec", "ports"))
    assert (service.file, service.line) == ("ch/templates/_objects.tpl", 32)
    # a template that writes objects itself is located in itself, as before
    files["ch/templates/component.yaml"] = COMPONENTS + OBJECTS.split("---\n", 1)[1].split(
        "{{- end }}\n\n", 1
    )[0].replace("{{ .name }}", "own").replace("{{ .image }}", "x:1").replace(
        "{{- if .privileged }}", "{{- if false }}"
    ).replace("{{- range .sidecars }}", "{{- range list }}")
    loaded = load_chart(tmp_path, files)
    own = next(d for d in loaded.documents if d.name == "own")
    assert own.locator.locate(("metadata", "name")).file == "ch/templates/component.yaml"


def test_a_missing_dependency_read_by_index_is_one_finding_and_no_ci_rendering(
    tmp_path: Path,
) -> None:
    """kube-prometheus-stack reads `(index .Values "prometheus-node-exporter").enabled` of
    a dependency not vendored: one finding at the dependency; its ci values are not tried,
    since no values file makes up for a missing chart."""
    meta = "apiVersion: v2\nname: ch\nversion: 0.1.0\ndependencies:\n"
    meta += "  - name: prometheus-node-exporter\n    version: 4.0.0\n"
    meta += "    repository: https://prometheus-community.github.io/helm-charts\n"
    template = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n"
    template += '  {{- if (index .Values "prometheus-node-exporter").kubeRBACProxy.enabled }}\n'
    template += "  rbac: proxy\n  {{- end }}\n"
    files = {
        "ch/Chart.yaml": meta,
        "ch/values.yaml": "prometheus-node-exporter:\n  namespaceOverride: ''\n",
        "ch/templates/c.yaml": template,
        "ch/ci/a-values.yaml": "prometheus-node-exporter: {kubeRBACProxy: {enabled: true}}\n",
    }
    loaded = load_chart(tmp_path, files)
    (problem,) = loaded.problems
    assert (problem.file, problem.line) == ("ch/Chart.yaml", 5)
    assert "nil pointer" in problem.message
    assert loaded.documents == []


CONTAINERS = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        {{- if .Values.reload.enabled }}
        - name: {{ .Release.Name }}-{{ .Values.reload.name }}
          image: "{{ .Values.reload.image }}"
          args:
            - --watched-dir=/etc/config
          {{- with .Values.reload.resources }}
          resources:
{{ toYaml . | indent 12 }}
          {{- end }}
        {{- end }}

        - name: {{ .Release.Name }}-server
          image: "{{ .Values.server.image }}"
          args:
        {{- if .Values.server.flags }}
        {{ toYaml .Values.server.flags | nindent 12 }}
        {{- else }}
            - --config=/etc/config/server.yaml
        {{- end }}
      {{- if .Values.sidecars }}
        {{- range $name, $spec := .Values.sidecars }}
        - name: {{ $name }}
          {{- toYaml $spec | nindent 10 }}
        {{- end }}
      {{- end }}
    {{- if .Values.hostNetwork }}
      hostNetwork: true
    {{- end }}
"""
CONTAINER_VALUES = """reload:
  enabled: %s
  name: reload
  image: registry.example.com/reload:1
server:
  image: registry.example.com/server:1
  flags: []
sidecars: {}
hostNetwork: false
"""


def test_list_items_an_if_the_values_decide_keeps_are_located_at_their_lines(
    tmp_path: Path,
) -> None:
    """prometheus' server Deployment: a reload container inside `if .Values...enabled`, then
    the server's, both named by actions, then sidecars ranged in an `if` the values leave
    empty: every finding of both containers was said at `containers:` (not exact). The
    items the values render are the items, in order: each at its own lines."""
    files = {"ch/values.yaml": CONTAINER_VALUES % "true", "ch/templates/deploy.yaml": CONTAINERS}
    (deployment,) = load_chart(tmp_path, files).documents
    containers = ("spec", "template", "spec", "containers")
    assert at(deployment, *containers, 0, "image") == (13, True)
    assert at(deployment, *containers, 1, "image") == (23, True)
    assert at(deployment, *containers, 1, "securityContext")[0] == 22
    files["ch/values.yaml"] = CONTAINER_VALUES % "false"
    (deployment,) = load_chart(tmp_path, files).documents
    assert at(deployment, *containers, 0, "image") == (23, True)
    # a sidecar the values add: which item is which is no longer certain
    files["ch/values.yaml"] = CONTAINER_VALUES % "true" + "sidecars:\n  a: {image: x:1}\n"
    files["ch/values.yaml"] = files["ch/values.yaml"].replace("sidecars: {}\n", "")
    (deployment,) = load_chart(tmp_path, files).documents
    assert at(deployment, *containers, 1, "image") == (10, False)


def test_an_object_a_named_template_writes_into_default_keeps_its_namespace(
    tmp_path: Path,
) -> None:
    """A namespace `default` is looked up in the define's body (a release namespace is read
    as unset, a literal one is kept): the body's keys two deep, not a parse of it whole
    (postgresql-bootstrap, GoogleCloudPlatform/kubernetes-engine-samples: an internal error
    made the whole chart one GK-PARSE-ERROR)."""
    objects = OBJECTS.replace(
        "  name: {{ .name }}\nspec:\n  ports",
        "  name: {{ .name }}\n  namespace: default\nspec:\n  ports",
    )
    assert objects != OBJECTS
    files = {
        "ch/values.yaml": COMPONENT_VALUES,
        "ch/templates/_objects.tpl": objects,
        "ch/templates/component.yaml": COMPONENTS,
    }
    loaded = load_chart(tmp_path, files)
    assert loaded.problems == []
    service = next(d for d in loaded.documents if (d.kind, d.name) == ("Service", "shop"))
    assert service.obj["metadata"]["namespace"] == "default"
    found = service.locator.locate(("metadata", "namespace"))
    assert (found.file, found.exact) == ("ch/templates/_objects.tpl", True)


SCHEMA_REQUIRED = """{
  "type": "object",
  "required": ["policy"],
  "properties": {
    "policy": {"type": "string", "enum": ["create-only", "sync", "upsert-only"]},
    "image": {"type": "string"}
  }
}
"""


def test_a_value_the_chart_s_schema_requires_is_taken_from_its_ci_values(
    tmp_path: Path,
) -> None:
    """external-dns' chart: `policy:` left empty in values.yaml and `required` by its
    values.schema.json, so that each deployer picks one; ci/ci-values.yaml gives it. Helm's
    schema error (said at the Chart.yaml) blocked as a high render error and the whole
    chart went unjudged. The defaults are rendered with only the values the schema requires
    taken from the ci file, judged, and the error is a low note. A ci file's other values
    are not used (the default image is judged)."""
    template = REQUIRED.replace(
        "args: [{{ required \"'address' must be set\" .Values.address | quote }}]",
        "args: [--policy={{ .Values.policy }}]",
    )
    files = {
        "ch/values.yaml": "image: busybox:latest\npolicy:\n",
        "ch/values.schema.json": SCHEMA_REQUIRED,
        "ch/templates/ds.yaml": template,
        "ch/ci/ci-values.yaml": "policy: upsert-only\nimage: nginx:1.27\n",
    }
    loaded = load_chart(tmp_path, files)
    (note,) = loaded.problems
    assert note.code == "GK-HELM-DEFAULTS", note
    assert "missing property 'policy'" in note.message
    assert "taken from ch/ci/ci-values.yaml" in note.message
    (daemonset,) = loaded.documents
    container = daemonset.obj["spec"]["template"]["spec"]["containers"][0]
    assert (container["args"], container["image"]) == (["--policy=upsert-only"], "busybox:latest")
    # no file gives it: the error stands (nothing of the chart is judged)
    del files["ch/ci/ci-values.yaml"]
    loaded = load_chart(tmp_path / "no-ci", files)
    assert not loaded.documents
    assert [p.code for p in loaded.problems] == ["GK-RENDER-ERROR"]
