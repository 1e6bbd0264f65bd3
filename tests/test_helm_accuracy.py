"""Helm charts as real repositories write them: rendered output split as Helm splits it, each
rendered document and list item located at its own template lines, dependencies and test
hooks judged as the deployer treats them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gatekeeper.sources import LoadContext, helm
from gatekeeper.tree import WorkTree

CHART = "apiVersion: v2\nname: ch\nversion: 0.1.0\n"


def load_chart(tmp_path: Path, files: dict[str, str], options: dict[str, Any] | None = None) -> Any:
    for name, text in {"ch/Chart.yaml": CHART, **files}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    context = LoadContext(tree=WorkTree(tmp_path), options={"helm": options or {}})
    data = (tmp_path / "ch/Chart.yaml").read_bytes()
    return helm.load("ch/Chart.yaml", data, context)


def at(document: Any, *path: str | int) -> tuple[int, bool]:
    location = document.locator.locate(path)
    return location.line, location.exact


ROLE = """apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {name}
rules:
  - apiGroups: ["example.io"]
    resources: ["{resource}"]
    verbs: ["get"]
  - apiGroups: [""]
    resources: ["secrets"]
    verbs: ["get", "list"]
"""


def test_a_separator_glued_to_the_next_line_splits_as_helm_splits_it(tmp_path: Path) -> None:
    """`---` then `{{- if ... -}}` trims the line break: Helm reads `---# comment` as a
    separator and a comment, YAML as invalid. Both objects are judged, no render error."""
    template = (
        ROLE.format(name="a", resource="things")
        + "---\n\n{{- if not .Values.off -}}\n\n# the second role\n"
        + ROLE.format(name="b", resource="others")
        + "{{- end -}}\n"
    )
    loaded = load_chart(tmp_path, {"ch/templates/rbac.yaml": template, "ch/values.yaml": ""})
    assert loaded.problems == []
    first, second = loaded.documents
    assert (first.name, second.name) == ("a", "b")
    assert at(second, "rules", 1, "resources") == (26, True)
    # `---apiVersion: v1`: Helm splits that too
    glued = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\n---{{ "" }}apiVersion: v1\n'
    glued += 'kind: ConfigMap\nmetadata:\n  name: two\n---\n{{ "data: [" }}\n'
    loaded = load_chart(tmp_path, {"ch/templates/rbac.yaml": glued})
    assert [d.name for d in loaded.documents] == ["one", "two"]
    # an invalid part is still an error at its own rendered line
    (problem,) = loaded.problems
    assert problem.line == 10 and "rendered line 11" in problem.message  # at its end


def test_rbac_rules_after_the_first_are_located_at_their_own_lines(tmp_path: Path) -> None:
    """Every rule begins with `apiGroups:`, a list: the item is told by its literal keys,
    or by its place when the template writes as many items as were rendered."""
    loaded = load_chart(tmp_path, {"ch/templates/r.yaml": ROLE.format(name="r", resource="x")})
    (role,) = loaded.documents
    assert at(role, "rules", 1, "resources") == (10, True)
    assert at(role, "rules", 0, "resources") == (7, True)
    assert at(role, "rules", 1) == (9, True)
    same = ROLE.format(name="r", resource="secrets").replace('"example.io"', '""')
    loaded = load_chart(tmp_path, {"ch/templates/r.yaml": same})
    (role,) = loaded.documents
    assert at(role, "rules", 1, "verbs") == (11, True)
    # a rule left out by a condition: the rendered rule is the one whose literals it shows
    dropped = same.replace("  - apiGroups", "  {{- if .Values.x }}\n  - apiGroups", 1).replace(
        '    verbs: ["get"]\n', '    verbs: ["get"]\n  {{- end }}\n', 1
    )
    loaded = load_chart(tmp_path, {"ch/templates/r.yaml": dropped})
    (role,) = loaded.documents
    assert at(role, "rules", 0, "verbs") == (13, True)
    # ... and when the rules are alike, the count tells: one rendered, so the `if` (which
    # the values cannot decide) wrote none, and the rule is the one after it (noise12)
    alike = dropped.replace('["get", "list"]', '["get"]')
    loaded = load_chart(tmp_path, {"ch/templates/r.yaml": alike})
    (role,) = loaded.documents
    assert at(role, "rules", 0, "verbs") == (13, True)
    # ... but when either branch of an `if`/`else` renders one alike rule, no line is
    # certain: the `rules:` line, not exact
    rule = '  - apiGroups: [""]\n    resources: ["secrets"]\n    verbs: ["get"]\n'
    either = alike.split("rules:\n")[0] + "rules:\n  {{- if .Values.x }}\n" + rule
    either += "  {{- else }}\n" + rule + "  {{- end }}\n"
    loaded = load_chart(tmp_path, {"ch/templates/r.yaml": either})
    (role,) = loaded.documents
    assert at(role, "rules", 0, "verbs") == (5, False)


def test_documents_with_templated_names_map_to_their_own_parts(tmp_path: Path) -> None:
    """Three parts alike but for a templated name: each document is its own part's, in
    order, since no part can render two."""
    parts = [
        ROLE.format(name="{{ .Release.Name }}-" + n, resource="things")
        for n in ("one", "two", "three")
    ]
    loaded = load_chart(tmp_path, {"ch/templates/r.yaml": "---\n".join(parts)})
    lines = [(d.name, at(d, "rules", 1, "resources")[0]) for d in loaded.documents]
    assert lines == [
        ("release-name-one", 10),
        ("release-name-two", 22),
        ("release-name-three", 34),
    ]
    assert len({d.extra["origin"] for d in loaded.documents}) == 3
    # a `range` part renders several: they stay in it
    ranged = '{{- range list "a" "b" }}\n---\n' + ROLE.format(name="{{ . }}", resource="x")
    ranged += "{{- end }}\n---\n" + ROLE.format(name="last", resource="y")
    loaded = load_chart(tmp_path, {"ch/templates/r.yaml": ranged})
    lines = [(d.name, at(d, "rules", 0, "resources")[0]) for d in loaded.documents]
    assert lines == [("a", 9), ("b", 9), ("last", 22)]


BLOCK_RULES = """apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {{ .Release.Name }}
  labels:
    {{- include "labels" . | nindent 4 }}
rules:
{{- if .Values.openshift }}
- apiGroups:
  - apps
  resources:
  - deployments/finalizers
  verbs:
  - update
{{- end }}
{{- with .Values.extraRules }}
  {{- toYaml . | nindent 0 }}
{{- end }}
- apiGroups:
  - ""
  resources:
  - events
  verbs:
  - create
- apiGroups:
  - ""
  resources:
  - pods
  - pods/exec
  verbs:
  - create
  - get
- apiGroups:
  - ""
  resources:
  - secrets
  verbs:
  - get
"""


def test_rules_written_as_block_lists_behind_conditions_are_told_by_their_items(
    tmp_path: Path,
) -> None:
    """The argo-helm way: `- apiGroups:` then `  - ""` on the next line, after rules a value
    may add: each rendered rule is the written rule whose listed scalars it has."""
    files = {
        "ch/templates/_h.tpl": '{{- define "labels" -}}\nteam: a\n{{- end -}}\n',
        "ch/templates/r.yaml": BLOCK_RULES,
    }
    (role,) = load_chart(tmp_path, files).documents
    assert at(role, "rules", 1, "resources") == (27, True)
    assert at(role, "rules", 1, "verbs") == (30, True)
    assert at(role, "rules", 2, "resources") == (35, True)
    # an added rule moves them all down one: still their own lines
    files["ch/values.yaml"] = "openshift: true\n"
    (role,) = load_chart(tmp_path, files).documents
    assert at(role, "rules", 2, "resources") == (27, True)
    assert at(role, "rules", 0, "verbs") == (13, True)


def test_roles_with_included_labels_and_more_rules_elsewhere_keep_their_parts(
    tmp_path: Path,
) -> None:
    """cert-manager's rbac.yaml: ClusterRoles with templated names and included labels, the
    later ones with more rules. A part is chosen by its literal lists, not by how many keys
    it has; labels included into a map do not make a part render several documents."""
    head = (
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n"
        "  name: {{ .Release.Name }}-%s\n  labels:\n"
        '    {{- include "labels" . | nindent 4 }}\nrules:\n'
    )
    rule = '  - apiGroups: ["%s"]\n    resources: ["%s"]\n    verbs: ["get"]\n'
    first = head % "issuers" + rule % ("example.io", "issuers") + rule % ("", "secrets")
    second = head % "challenges" + "".join(
        rule % ("example.io", name) for name in ("challenges", "orders", "issuers", "routes")
    )
    files = {
        "ch/templates/_h.tpl": '{{- define "labels" -}}\nteam: a\n{{- end -}}\n',
        "ch/templates/r.yaml": first + "---\n" + second,
    }
    one, two = load_chart(tmp_path, files).documents
    assert at(one, "rules", 1, "resources") == (12, True)
    assert at(two, "rules", 3, "resources") == (32, True)
    assert one.extra["origin"] != two.extra["origin"]


DEPENDENT = (
    CHART
    + """dependencies:
  - name: redis
    version: 1.0.0
    repository: https://charts.example.com
    condition: redis.enabled
  - name: common
    version: 2.x.x
    repository: oci://registry.example.com/charts
    tags: [shared]
"""
)
POD = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: a\n"


def test_a_dependency_switched_off_need_not_be_vendored(tmp_path: Path) -> None:
    """Helm never loads a dependency its condition (or its tags) switch off: the chart is
    rendered and judged in full, and nothing says otherwise."""
    files = {
        "ch/Chart.yaml": DEPENDENT,
        "ch/values.yaml": "redis:\n  enabled: false\ntags:\n  shared: false\n",
        "ch/templates/p.yaml": POD,
    }
    loaded = load_chart(tmp_path, files)
    assert loaded.problems == []
    assert [d.name for d in loaded.documents] == ["p"]
    # a configured values file switches one on: it is needed, one finding names it
    files["ch/values-prod.yaml"] = "redis:\n  enabled: true\n"
    options = {"charts": [{"path": "ch", "valuesFiles": ["ch/values-prod.yaml"]}]}
    (problem,) = load_chart(tmp_path, files, options).problems
    assert (problem.file, problem.line, problem.code) == ("ch/Chart.yaml", 5, "GK-RENDER-ERROR")
    assert "not vendored" in problem.message and "redis" in problem.message
    assert "common" not in problem.message


def test_a_missing_dependency_the_templates_use_is_one_finding(tmp_path: Path) -> None:
    """bitnami's charts include `common.names.fullname` from the `common` dependency: without
    it Helm cannot render; that is said in the one finding that names the dependency."""
    files = {
        "ch/Chart.yaml": DEPENDENT,
        "ch/values.yaml": "redis:\n  enabled: false\n",
        "ch/templates/p.yaml": POD.replace("name: p", 'name: {{ include "common.names" . }}'),
    }
    (problem,) = load_chart(tmp_path, files).problems
    assert (problem.file, problem.line) == ("ch/Chart.yaml", 9)
    assert "common" in problem.message and "redis" not in problem.message
    assert 'no template "common.names"' in problem.message


def test_the_release_namespace_is_the_deployers_not_the_default_namespace(
    tmp_path: Path,
) -> None:
    """`namespace: {{ .Release.Namespace }}` without Helm's labels (grafana's charts): for
    the default release it is read as unset, as K8S-META-DEFAULT-NAMESPACE's description
    promises; a literal `namespace: default` is still the chart's own choice."""
    from gatekeeper.evaluate import Engine
    from gatekeeper.policy.loader import load_policy_file
    from gatekeeper.scanner import scan
    from tests.conftest import REPO

    service = "apiVersion: v1\nkind: Service\nmetadata:\n  name: %s\n  namespace: %s\n"
    service += "spec:\n  ports: [{port: 80}]\n"
    files = {
        "ch/templates/s.yaml": service % ("a", "{{ .Release.Namespace | quote }}")
        + "---\n"
        + service % ("b", "default"),
    }
    load_chart(tmp_path, files)
    policy = REPO / "policies" / "kubernetes" / "meta-default-namespace.yaml"
    engine = Engine([load_policy_file(policy)])
    context = LoadContext(tree=WorkTree(tmp_path))
    pairs = [("ch/Chart.yaml", (tmp_path / "ch/Chart.yaml").read_bytes())]
    findings = scan(pairs, engine, 1, context).findings
    assert [(f.name, f.line) for f in findings] == [("b", 13)]
    # released into a namespace of its own, the object is there
    options = {"charts": [{"path": "ch", "namespace": "team"}]}
    (first, _) = load_chart(tmp_path, files, options).documents
    assert first.namespace == "team"


TEST_POD = """apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}-%s
  annotations:
    %s
spec:
  containers:
    - name: probe
      image: busybox:1.36
      securityContext: {privileged: true}
"""
HOOK_CHART = {
    "charts/web/Chart.yaml": CHART.replace("name: ch", "name: web"),
    "charts/web/templates/tests/connection.yaml": TEST_POD
    % ("test", '"helm.sh/hook": test-success'),
    "charts/web/templates/tests/both.yaml": TEST_POD
    % ("both", '"helm.sh/hook": "test,post-install"'),
    "charts/web/templates/tests/argo.yaml": TEST_POD
    % ("argo", "helm.sh/hook: test\n    argocd.argoproj.io/hook: PostSync"),
}


def _rendered(release: helm.Release) -> dict[str, Any]:
    from gatekeeper.tree import MemoryTree

    tree = {name: text.encode() for name, text in HOOK_CHART.items()}
    context = LoadContext(tree=MemoryTree(tree))
    loaded = helm.render_chart(
        "charts/web/Chart.yaml", tree["charts/web/Chart.yaml"], context, [release]
    )
    assert loaded.problems == []
    return {
        d.name.rsplit("-", 1)[1]: d.extra["variant"].endswith(helm.TEST_HOOK_VARIANT)
        for d in loaded.documents
    }


def test_test_hooks_are_judged_as_each_deployer_treats_them() -> None:
    """`helm install` never applies a test hook; `helm test` runs it. A chart alone: its
    findings inform and never block (said why); Argo CD never runs one (it maps only install
    and upgrade hooks to its phases), unless it carries an Argo CD hook of its own; Flux runs
    them only with spec.test.enable. A hook with any other event is deployed."""
    alone = _rendered(helm.Release())
    assert alone == {"test": True, "both": False, "argo": True}
    assert _rendered(helm.Release(test_hooks="argocd")) == {"both": False, "argo": False}
    assert _rendered(helm.Release(test_hooks="skip")) == {"both": False}
    judged = _rendered(helm.Release(test_hooks="judge"))
    assert judged == {"test": False, "both": False, "argo": False}


def test_a_charts_test_hook_findings_never_block(gatekeeper: Any, tmp_path: Path) -> None:
    import json

    for name, text in HOOK_CHART.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    run = gatekeeper("scan", str(tmp_path), "--format", "json", "--root", str(tmp_path))
    report = json.loads(run.stdout)
    privileged = [f for f in report["findings"] if f["policy_id"] == "K8S-PSS-PRIVILEGED"]
    by_name = {f["name"]: f for f in privileged}
    assert sorted(by_name) == ["release-name-argo", "release-name-both", "release-name-test"]
    assert by_name["release-name-test"]["blocking"] is False
    assert by_name["release-name-test"]["extra"]["advisory"] is True
    (variant,) = by_name["release-name-test"]["extra"]["variants"]
    assert variant == "helm charts/web" + helm.TEST_HOOK_VARIANT  # says why
    assert by_name["release-name-both"]["blocking"] is True  # post-install: deployed
    assert run.returncode == 1


def test_flux_and_argo_cd_render_test_hooks_as_they_run_them() -> None:
    from tests.test_gitops import APPS, FLUX_SYNC, scan_tree

    tree = {name: text.encode() for name, text in HOOK_CHART.items()}
    apps = APPS.split("---")[0].replace("      valueFiles: [values-prod.yaml]\n", "")
    tree["apps/apps.yaml"] = apps.replace("helm:\n", "helm: {}\n").encode()
    found = scan_tree(tree, "apps/apps.yaml", ["https://github.com/acme/platform"])
    assert sorted({f.name for f in found}) == ["web-prod-argo", "web-prod-both"]
    release = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: web, namespace: web}
spec:
  chart:
    spec:
      chart: ./charts/web
      sourceRef: {kind: GitRepository, name: fleet, namespace: flux-system}
"""
    fleet = FLUX_SYNC.replace("flux-system, namespace", "fleet, namespace")
    tree = {name: text.encode() for name, text in HOOK_CHART.items()}
    tree["clusters/fleet.yaml"] = fleet.encode()
    tree["releases/web.yaml"] = release.encode()
    url = ["git@github.com:acme/fleet.git"]
    assert sorted({f.name for f in scan_tree(tree, "releases/web.yaml", url)}) == ["web-both"]
    tree["releases/web.yaml"] = (release + "  test: {enable: true}\n").encode()
    found = scan_tree(tree, "releases/web.yaml", url)
    assert sorted({f.name for f in found}) == ["web-argo", "web-both", "web-test"]
    assert not any(v.endswith(helm.TEST_HOOK_VARIANT) for f in found for v in f.extra["variants"])


def test_a_chart_at_the_repository_root_renders_its_templates(
    gatekeeper: Any, tmp_path: Path
) -> None:
    """A repository of one chart: a template that happens to be plain YAML (a test hook
    with no action) is the chart's, never also judged as a plain manifest that blocks."""
    import json

    from gatekeeper.tree import MemoryTree

    tree = MemoryTree({"Chart.yaml": CHART.encode(), "templates/tests/t.yaml": b""})
    assert helm.rendered_by_chart("templates/tests/t.yaml", tree)
    assert helm.rendered_by_chart("crds/c.yaml", tree)
    assert not helm.rendered_by_chart("docs/t.yaml", tree)
    (tmp_path / "templates/tests").mkdir(parents=True)
    (tmp_path / "Chart.yaml").write_text(CHART)
    (tmp_path / "templates/tests/t.yaml").write_text(
        TEST_POD.replace("{{ .Release.Name }}", "web") % ("test", "helm.sh/hook: test")
    )
    run = gatekeeper("scan", str(tmp_path), "--format", "json", "--root", str(tmp_path))
    report = json.loads(run.stdout)
    assert report["summary"]["documents"] == 1
    assert report["findings"] and not any(f["blocking"] for f in report["findings"])
    assert run.returncode == 0


def test_values_lines_through_a_variable_and_an_empty_block(tmp_path: Path) -> None:
    """`$config := $.Values.config` then `$config.rev` reads values `config.rev`; `resources:`
    whose body is `toYaml .Values.resources` of `resources: {}` is set by that values line."""
    template = """{{- range .Values.apps }}
{{- $config := $.Values.config }}
apiVersion: v1
kind: Pod
metadata:
  name: {{ .name }}
  annotations:
    rev: {{ $config.rev | quote }}
spec:
  containers:
    - name: a
      image: nginx:1.0
      resources:
        {{- toYaml $.Values.resources | nindent 8 }}
---
{{- end }}
"""
    values = "apps:\n  - name: one\nconfig:\n  rev: main\nresources: {}\n"
    files = {"ch/templates/p.yaml": template, "ch/values.yaml": values}
    (pod,) = load_chart(tmp_path, files).documents
    assert pod.locator.locate(("metadata", "annotations", "rev")).values == "ch/values.yaml:4"
    resources = ("spec", "containers", 0, "resources")
    location = pod.locator.locate(resources)
    assert (location.line, location.exact, location.values) == (13, True, "ch/values.yaml:5")


def test_a_container_behind_a_condition_is_not_taken_for_the_rendered_one(
    tmp_path: Path,
) -> None:
    """alertmanager's statefulset: a sidecar switched off by `if`, then the main container,
    both named by templates. Nothing literal tells the rendered container apart: when the
    values do not decide the `if`, no line is claimed (the `containers:` line, not exact;
    never the sidecar's lines); when they do (`reload: false`), the rendered items are the
    main container alone, at its own lines (round 10: prometheus' server Deployment)."""
    template = """apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
    {{- if .Values.reload }}
    - name: {{ .Chart.Name }}-reload
      image: "{{ .Values.reloadImage }}"
      {{- with .Values.reloadEnv }}
      env:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    {{- end }}
    - name: {{ .Chart.Name }}
      image: "{{ .Values.image }}"
      env:
        - name: A
          value: "1"
      {{- with .Values.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
"""
    values = "reload: false\nimage: nginx:1.0\nreloadImage: busybox:1.0\n"
    files = {"ch/templates/p.yaml": template, "ch/values.yaml": values}
    (pod,) = load_chart(tmp_path, files).documents
    assert at(pod, "spec", "containers", 0, "image") == (16, True)
    assert at(pod, "spec", "containers", 0, "env", 0, "value") == (19, True)
    files["ch/templates/p.yaml"] = template.replace(".Values.reload }}", 'eq .Values.mode "r" }}')
    (pod,) = load_chart(tmp_path, files).documents  # a comparison: not read as decided
    assert at(pod, "spec", "containers", 0, "image") == (6, False)
    assert at(pod, "spec", "containers", 0, "env", 0, "value") == (6, False)


def test_a_licence_comment_holding_a_colon_is_no_key_line(tmp_path: Path) -> None:
    """vault-helm opens each of its templates with `{{/* Copyright ...
    SPDX-License-Identifier: MPL-2.0 */}}`: its second line read as a key line was where each
    object started, so what was said of the object (a ServiceAccount automounting its
    token) sat on the comment. Comments are blanked before the key lines are read."""
    template = (
        "{{/*\nCopyright IBM Corp. 2018, 2025\nSPDX-License-Identifier: MPL-2.0\n*/}}\n\n"
        "{{- if .Values.enabled -}}\n"  # 6
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n"  # 7-9
        "  name: sa {{- /* image: not a key */ -}}\n"  # 10
        "{{- end }}\n"
    )
    files = {"ch/templates/sa.yaml": template, "ch/values.yaml": "enabled: true\n"}
    (document,) = load_chart(tmp_path, files).documents
    assert document.locator.locate(()).line == 7
    assert at(document, "metadata", "name") == (10, True)
