"""Helm charts rendered by the real Helm engine, with findings on template and values lines."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.evaluate import Engine
from gatekeeper.policy.loader import load_policy_file
from gatekeeper.scanner import scan
from gatekeeper.sources import LoadContext, helm
from gatekeeper.sources.helm_lines import DocumentMap, parse_template
from gatekeeper.tree import MemoryTree, WorkTree
from tests.conftest import REPO

DATA = REPO / "tests" / "data" / "helm"
PRIVILEGED = REPO / "policies" / "kubernetes" / "pss-baseline-privileged.yaml"


def files_of(root: Path) -> list[tuple[str, bytes]]:
    return sorted(
        (path.relative_to(root).as_posix(), path.read_bytes())
        for path in root.rglob("*")
        if path.is_file()
    )


def run(options: dict[str, Any]) -> list[Any]:
    engine = Engine([load_policy_file(PRIVILEGED)])
    context = LoadContext(tree=WorkTree(DATA), options={"helm": options})
    return scan(_prefixed("web"), engine, 1, context).findings


def _prefixed(chart: str) -> list[tuple[str, bytes]]:
    return [(f"{chart}/{name}", data) for name, data in files_of(DATA / chart)]


def test_kubernetes_policy_finds_privileged_container_at_the_template_line() -> None:
    prod = {"charts": [{"path": "web", "valuesFiles": ["web/values-prod.yaml"]}]}
    findings = [f for f in run(prod) if f.policy_id == "K8S-PSS-PRIVILEGED"]
    where = sorted((f.file, f.line, f.extra.get("values", "")) for f in findings)
    assert where == [
        # the subchart's literal `privileged: {{ .Values.privileged }}`, set by the parent's
        # values-prod.yaml under the subchart's key
        ("web/charts/cache/templates/pod.yaml", 10, "web/values-prod.yaml:8"),
        # toYaml of .Values.securityContext: the toYaml line, attributed to the values line
        ("web/templates/deployment.yaml", 25, "web/values-prod.yaml:3"),
    ]
    assert all(f.source == "helm" for f in findings)
    deployment = next(f for f in findings if f.file.endswith("deployment.yaml"))
    assert deployment.extra["exact"] is False
    assert deployment.path == "spec.template.spec.containers[0].securityContext.privileged"


def test_default_values_render_clean_and_chart_files_are_not_plain_manifests() -> None:
    findings = run({})
    assert [f for f in findings if f.policy_id == "K8S-PSS-PRIVILEGED"] == []
    # values*.yaml and templates are never parsed as Kubernetes YAML (no parse errors)
    assert [f for f in findings if f.policy_id.startswith("GK-")] == []


def test_template_lines_for_literal_range_and_include_fields() -> None:
    context = LoadContext(
        tree=WorkTree(DATA),
        options={"helm": {"charts": [{"path": "web", "valuesFiles": ["web/values-prod.yaml"]}]}},
    )
    loaded = helm.load("web/Chart.yaml", (DATA / "web/Chart.yaml").read_bytes(), context)
    # (values-prod.yaml's values are candidate literal secrets the scan judges: chart_secrets)
    assert [p for p in loaded.problems if p.candidate is None] == []
    deployment = next(d for d in loaded.documents if d.kind == "Deployment")
    assert deployment.name == "release-name-web"

    def at(*path: str | int) -> tuple[int, bool, str]:
        location = deployment.locator.locate(path)
        return location.line, location.exact, location.values

    containers = ("spec", "template", "spec", "containers")
    assert at("spec", "replicas") == (8, True, "web/values-prod.yaml:1")
    assert at(*containers, 0, "ports", 0, "containerPort") == (28, True, "")
    # the sidecar comes from a range: its lines are the range body's lines
    assert at(*containers, 1) == (30, True, "")
    assert at(*containers, 1, "image") == (31, True, "")
    assert at(*containers, 1, "securityContext", "privileged") == (33, True, "")
    # `with .Values.podSecurityContext` + `toYaml .`
    assert at("spec", "template", "spec", "securityContext", "runAsNonRoot") == (
        19,
        False,
        "web/values.yaml:6",
    )
    # labels an include writes: their own line in the named template's body
    label = deployment.locator.locate(("metadata", "labels", "app.kubernetes.io/name"))
    assert (label.file, label.line, label.exact) == ("web/templates/_helpers.tpl", 6, True)
    # a field that does not exist points at its nearest existing ancestor
    assert at("spec", "template", "spec", "hostNetwork") == (16, False, "")
    configmaps = [d for d in loaded.documents if d.kind == "ConfigMap"]
    assert [d.name for d in configmaps] == ["app", "extra"]
    assert {d.locator.locate(("data", "level")).line for d in configmaps} == {8}


def test_never_a_wrong_exact_line_when_two_template_lines_could_match() -> None:
    template = parse_template(
        "apiVersion: v1\n"
        "kind: Pod\n"
        "spec:\n"
        "  containers:\n"
        "    {{- range .Values.containers }}\n"
        "    - name: {{ .name }}\n"
        "      securityContext:\n"
        "        privileged: false\n"
        "    {{- end }}\n"
        "    {{- range .Values.more }}\n"
        "    - name: {{ .name }}\n"
        "      securityContext:\n"
        "        privileged: true\n"
        "    {{- end }}\n"
    )
    obj = {
        "apiVersion": "v1",
        "kind": "Pod",
        "spec": {
            "containers": [
                {"name": "a", "securityContext": {"privileged": False}},
                {"name": "b", "securityContext": {"privileged": True}},
            ]
        },
    }
    doc_map = DocumentMap(template, obj, 0, 1)
    assert doc_map.resolve(("spec", "containers", 0)) is None
    assert doc_map.resolve(("spec", "containers")) is not None


def test_key_lines_are_read_as_written() -> None:
    """What the line scan takes for a key (and what not): spaces before the colon, quoted and
    templated keys, list items, a URL or a description that merely holds a colon, comments."""
    template = parse_template(
        "kind:   Pod   # the kind\n"
        "metadata:\n"
        "  name   : web\n"
        '  "quoted key": 1\n'
        "  {{ .Values.key }}: 2\n"
        '  {{- include "labels" . }}\n'
        "  url: http://example.com:80/x\n"
        "  - item: {{ .x }}\n"
        "  -key: 3\n"
        "  # note: not a key\n"
        "  text without a colon\n"
        "  description: |\n"
        "    inner: not a key\n"
        "  time:12\n"
    )
    read = [(k.line, k.column, k.key, k.parent, k.item, k.dashed, k.value) for k in template.keys]
    assert read == [
        (1, 1, "kind", 0, 0, False, "Pod   # the kind"),
        (2, 1, "metadata", 0, 0, False, ""),
        (3, 3, "name", 2, 0, False, "web"),
        (4, 3, "quoted key", 2, 0, False, "1"),
        (5, 3, "*", 2, 0, False, "2"),
        (7, 3, "url", 2, 0, False, "http://example.com:80/x"),
        (8, 5, "item", 2, 8, True, "{{ .x }}"),
        (9, 3, "-key", 2, 0, False, "3"),
        (12, 3, "description", 2, 0, False, "|"),
    ]
    assert template.segment_kinds == ["Pod"]


def test_render_error_is_a_finding_at_the_template_line() -> None:
    engine = Engine([load_policy_file(PRIVILEGED)])
    context = LoadContext(tree=WorkTree(DATA))
    findings = scan(_prefixed("broken"), engine, 1, context).findings
    where = sorted((f.policy_id, f.file, f.line) for f in findings)
    assert where == [
        ("GK-RENDER-ERROR", "broken/Chart.yaml", 5),  # the missing dependency, not downloaded
        ("GK-RENDER-ERROR", "broken/templates/cm.yaml", 6),
    ]
    assert any("set .Values.password" in f.message for f in findings)


def test_chart_from_a_memory_tree_with_kube_version_and_namespace() -> None:
    files = {
        "app/Chart.yaml": b"apiVersion: v2\nname: app\nversion: 0.1.0\n",
        "app/templates/cm.yaml": (
            b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n"
            b"  namespace: {{ .Release.Namespace }}\n"
            b"data:\n  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n"
        ),
    }
    options = {
        "charts": [
            {"path": "app", "releaseName": "r1", "namespace": "team", "kubeVersion": "v1.29.0"}
        ]
    }
    context = LoadContext(tree=MemoryTree(files), options={"helm": options})
    loaded = helm.load("app/Chart.yaml", files["app/Chart.yaml"], context)
    assert loaded.problems == []
    (document,) = loaded.documents
    assert (document.name, document.namespace) == ("r1", "team")
    assert document.obj["data"]["kube"] == "v1.29.0"


def test_subchart_chart_yaml_is_not_rendered_alone() -> None:
    context = LoadContext(tree=WorkTree(DATA))
    data = (DATA / "web/charts/cache/Chart.yaml").read_bytes()
    loaded = helm.load("web/charts/cache/Chart.yaml", data, context)
    assert loaded.documents == [] and loaded.problems == []


def test_cli_scan_of_a_chart_with_configured_values(gatekeeper: Any, tmp_path: Path) -> None:
    import shutil

    shutil.copytree(DATA / "web", tmp_path / "charts" / "web")
    (tmp_path / ".gatekeeper.yml").write_text(
        "sources:\n  helm:\n    charts:\n      - path: charts/web\n"
        "        valuesFiles: [charts/web/values-prod.yaml]\n        releaseName: prod\n"
    )
    run = gatekeeper("scan", "--format", "json", "charts", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    import json

    findings = json.loads(run.stdout)["findings"]
    privileged = {
        (f["file"], f["line"]) for f in findings if f["policy_id"] == "K8S-PSS-PRIVILEGED"
    }
    assert privileged == {
        ("charts/web/templates/deployment.yaml", 25),
        ("charts/web/charts/cache/templates/pod.yaml", 10),
    }
    assert not [f for f in findings if f["policy_id"].startswith("GK-")]
    assert {
        f["extra"].get("values") for f in findings if f["policy_id"] == "K8S-PSS-PRIVILEGED"
    } == {
        "charts/web/values-prod.yaml:3",
        "charts/web/values-prod.yaml:8",
    }


def test_a_forked_child_of_a_process_that_rendered_renders_with_its_own_renderer() -> None:
    """Go does not survive fork: a forked child must not talk to its parent's renderer."""
    import os

    from gatekeeper.sources import helm_engine

    context = LoadContext(tree=WorkTree(DATA))
    data = (DATA / "web/Chart.yaml").read_bytes()
    assert helm.load("web/Chart.yaml", data, context).documents  # loads the library here
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            loaded = helm.load("web/Chart.yaml", data, context)
            worker = helm_engine._Worker.current
            fresh = worker is not None and worker.owner == os.getpid()
            os.write(write, f"{len(loaded.documents)} {fresh}".encode())
        finally:
            os._exit(0)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    assert os.read(read, 100).decode() == "4 True"
    assert status == 0


def test_only_what_a_chart_renders_is_left_to_helm() -> None:
    """templates/ and charts/ are Helm's; any other file in a chart directory is applied as is
    by `kubectl apply -f`, so a Chart.yaml beside a manifest does not hide it."""
    from gatekeeper.sources import kubernetes

    pod = (
        b"apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n"
        b"spec: {containers: [{name: a, securityContext: {privileged: true}}]}\n"
    )
    names = ["chart/templates/pod.yaml", "chart/charts/sub/templates/pod.yaml", "chart/ci/pod.yaml"]
    tree = MemoryTree({"chart/Chart.yaml": b"name: chart\n", **dict.fromkeys(names, pod)})
    context = LoadContext(tree=tree)
    assert kubernetes.load(names[0], pod, context).documents == []
    assert kubernetes.load(names[1], pod, context).documents == []
    assert kubernetes.load(names[2], pod, context).documents
    elsewhere = MemoryTree({"deploy/pod.yaml": pod})
    assert kubernetes.load("deploy/pod.yaml", pod, LoadContext(tree=elsewhere)).documents


IF_ELSE = """\
{{- if .Values.deployment }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: x
spec:
  {{- if .Values.ha }}
  replicas: 3
  {{- else }}
  replicas: 1
  {{- end }}
  template:
    spec:
      hostNetwork: {{ .Values.hostNetwork }}
      containers:
        - name: app
          args:
            - --flag
          env:
            - name: A
              value: "1"
{{- end }}
---
apiVersion: v1
kind: Service
metadata:
  name: x
spec:
  type: {{ .Values.type }}
"""


def test_if_else_branches_and_documents_map_to_their_own_lines() -> None:
    template = parse_template(IF_ELSE)
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {
            "replicas": 1,
            "template": {
                "spec": {
                    "hostNetwork": True,
                    "containers": [
                        {"name": "app", "args": ["--flag"], "env": [{"name": "A", "value": "1"}]}
                    ],
                }
            },
        },
    }

    def line(doc_map: DocumentMap, *path: str | int) -> int | None:
        found = doc_map.resolve(path)
        return found[0].line if found else None

    full = DocumentMap(template, deployment, 0, 2)
    assert line(full, "spec", "replicas") == 10  # the else branch, by its literal value
    deployment["spec"]["replicas"] = 3
    assert line(DocumentMap(template, deployment, 0, 2), "spec", "replicas") == 8
    deployment["spec"]["replicas"] = 5  # neither literal produced it: no exact line
    assert line(DocumentMap(template, deployment, 0, 2), "spec", "replicas") is None
    assert line(full, "spec", "template", "spec", "hostNetwork") == 14
    containers = ("spec", "template", "spec", "containers")
    assert line(full, *containers, 0, "env", 0, "value") == 21
    assert line(full, *containers, 0, "env", 0) == 20
    # the Deployment switched off: the only rendered document is the Service, found by kind
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}, "spec": {}}
    service["spec"] = {"type": "ClusterIP"}
    assert line(DocumentMap(template, service, 0, 1), "spec", "type") == 29
    assert line(DocumentMap(template, service, 0, 1), "metadata", "name") == 27


def test_helm_create_scaffold_privileged_from_values_points_at_the_toyaml_line(
    tmp_path: Path,
) -> None:
    """The chart `helm create` writes (real templates: with/toYaml/include/if), rendered with
    a values file that makes the container privileged."""
    import helm_python

    helm_python.Chart.create("demo", tmp_path).close()
    (tmp_path / "prod.yaml").write_text(
        "image:\n  tag: '1.0'\nsecurityContext:\n  privileged: true\n"
    )
    template = (tmp_path / "demo/templates/deployment.yaml").read_text().splitlines()
    with_line = next(i for i, t in enumerate(template) if "with .Values.securityContext" in t)
    expected = next(
        i + 1 for i in range(with_line, len(template)) if "toYaml . | nindent" in template[i]
    )
    options = {"charts": [{"path": "demo", "valuesFiles": ["prod.yaml"], "releaseName": "demo"}]}
    context = LoadContext(tree=WorkTree(tmp_path), options={"helm": options})
    engine = Engine([load_policy_file(PRIVILEGED)])
    pairs = [("demo/Chart.yaml", (tmp_path / "demo/Chart.yaml").read_bytes())]
    findings = scan(pairs, engine, 1, context).findings
    assert [(f.policy_id, f.file, f.line, f.extra) for f in findings] == [
        (
            "K8S-PSS-PRIVILEGED",
            "demo/templates/deployment.yaml",
            expected,
            {"exact": False, "values": "prod.yaml:4", "variants": ["helm demo -f prod.yaml"]},
        )
    ]


def test_scanning_only_a_changed_template_renders_its_chart(
    gatekeeper: Any, tmp_path: Path
) -> None:
    import json
    import shutil

    shutil.copytree(DATA / "web", tmp_path / "web")
    (tmp_path / ".gatekeeper.yml").write_text(
        "sources: {helm: {charts: [{path: web, valuesFiles: [web/values-prod.yaml]}]}}\n"
    )
    for changed in ("web/templates/deployment.yaml", "web/values-prod.yaml"):
        run = gatekeeper("scan", "--format", "json", changed, cwd=tmp_path)
        assert run.returncode == 1, run.stderr
        files = {f["file"] for f in json.loads(run.stdout)["findings"]}
        assert "web/templates/deployment.yaml" in files, changed


def test_lookup_never_reaches_a_cluster() -> None:
    files = {
        "app/Chart.yaml": b"apiVersion: v2\nname: app\nversion: 0.1.0\n",
        "app/templates/cm.yaml": (
            b'{{- $s := lookup "v1" "Secret" "kube-system" "admin" }}\n'
            b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n"
            b"data:\n  found: {{ empty $s | quote }}\n"
        ),
    }
    loaded = helm.load("app/Chart.yaml", files["app/Chart.yaml"], LoadContext(MemoryTree(files)))
    assert loaded.problems == []
    assert loaded.documents[0].obj["data"]["found"] == "true"
    assert loaded.documents[0].locator.locate(("data", "found")).line == 7


def test_chart_lookup_terminates_on_absolute_paths() -> None:
    from gatekeeper.sources.helm import in_chart, parents
    from gatekeeper.tree import MemoryTree

    assert parents("/a/b/c.yaml") == ["/a/b", "/a", "/"]
    assert parents("a/b/c.yaml") == ["a/b", "a"]
    assert not in_chart("/abs/dir/m.yaml", MemoryTree({}))


MULTI = """\
{{- if .Values.a.enabled }}
apiVersion: v1
kind: Pod
metadata:
  name: a
spec:
  containers:
    - name: a
      image: ghcr.io/x/a:1
---
{{- end }}
apiVersion: v1
kind: Pod
metadata:
  name: b
spec:
  containers:
    - name: b
      image: ghcr.io/x/b:1
      securityContext:
        privileged: {{ .Values.b.privileged }}
{{- range .Values.workers }}
---
apiVersion: v1
kind: Pod
metadata:
  name: w-{{ . }}
spec:
  containers:
    - name: w
      image: ghcr.io/x/w:1
      securityContext:
        privileged: true
{{- end }}
"""


def test_documents_of_one_kind_with_conditionals_and_ranges_find_their_own_part(
    tmp_path: Path,
) -> None:
    """Three Pod parts; the first switched off and the last rendered twice by `range`: each
    rendered Pod is located in the part that produced it, never at line 1 or a sibling."""
    (tmp_path / "c/templates").mkdir(parents=True)
    (tmp_path / "c/Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    (tmp_path / "c/values.yaml").write_text(
        "a:\n  enabled: false\nb:\n  privileged: true\nworkers: [one, two]\n"
    )
    (tmp_path / "c/templates/pods.yaml").write_text(MULTI)
    context = LoadContext(tree=WorkTree(tmp_path))
    engine = Engine([load_policy_file(PRIVILEGED)])
    pairs = [("c/Chart.yaml", (tmp_path / "c/Chart.yaml").read_bytes())]
    findings = scan(pairs, engine, 1, context).findings
    assert sorted(
        (f.name, f.line, f.extra.get("exact"), f.extra.get("values")) for f in findings
    ) == [
        ("b", 21, True, "c/values.yaml:4"),
        # w-two is privileged by the same line: one finding naming both (setting_lines),
        # with w-two's fingerprint as a twin (a waiver naming w-one does not cover it)
        ("w-one", 33, True, None),
    ]
    (workers,) = [f for f in findings if f.name == "w-one"]
    assert workers.extra["sets_for"] == ["Pod/w-one", "Pod/w-two"]
    assert [twin["name"] for twin in workers.extra["run_by_fingerprints"]] == ["w-two"]


def test_two_roles_one_with_rules_from_a_named_template_are_each_located_in_their_part(
    tmp_path: Path,
) -> None:
    """elastic's eck-operator: the first ClusterRole's rules come from `template | toYaml`,
    the second lists some of the same API groups literally. Scores took the first for the
    second part, and a rule past its literal items ended the scan (IndexError, exit 3)."""
    (tmp_path / "c/templates").mkdir(parents=True)
    (tmp_path / "c/Chart.yaml").write_text("apiVersion: v2\nname: op\nversion: 0.1.0\n")
    (tmp_path / "c/templates/_rules.tpl").write_text(
        '{{- define "op.rules" -}}\n'
        + "".join(
            f"- apiGroups: [{group}]\n  resources: [things]\n  verbs: [get, update]\n"
            for group in ("a.example.com", "b.example.com")
        )
        + "- apiGroups: [admissionregistration.k8s.io]\n"
        "  resources: [validatingwebhookconfigurations]\n  verbs: [create, update]\n"
        "{{- end -}}\n"
    )
    (tmp_path / "c/templates/roles.yaml").write_text(
        "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
        "metadata:\n  name: {{ .Chart.Name }}\nrules:\n"
        '{{ template "op.rules" . | toYaml | indent 2 }}\n'  # line 7
        "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
        'metadata:\n  name: "{{ .Chart.Name }}-view"\nrules:\n'
        '  - apiGroups: ["a.example.com"]\n    resources: ["things"]\n'
        '    verbs: ["get", "list"]\n'
        '  - apiGroups: ["b.example.com"]\n    resources: ["things"]\n'
        '    verbs: ["get", "list"]\n'
    )
    policy = REPO / "policies" / "kubernetes" / "rbac-privilege-paths.yaml"
    engine = Engine([load_policy_file(policy)])
    context = LoadContext(tree=WorkTree(tmp_path))
    pairs = [("c/Chart.yaml", (tmp_path / "c/Chart.yaml").read_bytes())]
    findings = scan(pairs, engine, 1, context).findings
    assert [(f.name, f.file, f.line) for f in findings] == [("op", "c/templates/roles.yaml", 7)]


def test_a_pod_template_written_by_a_named_template_is_located_in_its_body(
    tmp_path: Path,
) -> None:
    """traefik's and promtail's pod templates: `template: {{ include "x.podTemplate" . |
    nindent 4 }}`. Every pod finding was said at the include line; each field is located in
    the define's body, with the values line that set it."""
    (tmp_path / "c/templates").mkdir(parents=True)
    (tmp_path / "c/Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    (tmp_path / "c/values.yaml").write_text("image: nginx:1.25\nprivileged: true\n")
    (tmp_path / "c/templates/_pod.tpl").write_text(
        '{{- define "c.podTemplate" }}\n'
        "metadata:\n  labels: {app: web}\n"
        "spec:\n  containers:\n  - name: web\n"
        "    image: {{ .Values.image }}\n"
        "    securityContext:\n"
        "      privileged: {{ .Values.privileged }}\n"  # line 9
        "{{- end }}\n"
    )
    (tmp_path / "c/templates/deploy.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n"
        "  selector: {matchLabels: {app: web}}\n  template:\n"
        '    {{- include "c.podTemplate" . | nindent 4 }}\n'
    )
    engine = Engine([load_policy_file(PRIVILEGED)])
    context = LoadContext(tree=WorkTree(tmp_path))
    pairs = [("c/Chart.yaml", (tmp_path / "c/Chart.yaml").read_bytes())]
    [finding] = scan(pairs, engine, 1, context).findings
    assert (finding.file, finding.line, finding.extra.get("values")) == (
        "c/templates/_pod.tpl",
        9,
        "c/values.yaml:2",
    )


def test_a_pod_template_whose_keys_toyaml_sorts_is_located_in_its_body(
    tmp_path: Path,
) -> None:
    """traefik's `template: {{ include "traefik.podTemplate" . | fromYaml | toYaml | nindent 4
    }}` sorts each container's keys: the rendered first key (`args`) is not the one the `- `
    line writes (`image:`), so the container was not found and every container finding was
    said at `containers:`. The item is chosen by its literal values, as when the first key
    cannot tell, where as many are rendered as written (with a container the values add,
    as before)."""
    (tmp_path / "c/templates").mkdir(parents=True)
    (tmp_path / "c/Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    (tmp_path / "c/values.yaml").write_text(
        "image: nginx:1.25\nprivileged: true\n"
        "extra:\n- {name: side, image: busybox:1.36, securityContext: {privileged: true}}\n"
    )
    (tmp_path / "c/templates/_pod.tpl").write_text(
        '{{- define "c.podTemplate" }}\n'
        "metadata:\n  labels: {app: web}\n"
        "spec:\n  containers:\n  - image: {{ .Values.image }}\n"
        "    name: web\n"
        "    args: [--serve]\n"
        "    securityContext:\n"
        "      privileged: {{ .Values.privileged }}\n"  # line 10
        "  {{- with .Values.extra }}{{ toYaml . | nindent 2 }}{{ end }}\n"  # line 11
        "{{- end }}\n"
    )
    (tmp_path / "c/templates/deploy.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n"
        "  selector: {matchLabels: {app: web}}\n"
        '  template: {{ include "c.podTemplate" . | fromYaml | toYaml | nindent 4 }}\n'
    )
    engine = Engine([load_policy_file(PRIVILEGED)])
    context = LoadContext(tree=WorkTree(tmp_path))
    pairs = [("c/Chart.yaml", (tmp_path / "c/Chart.yaml").read_bytes())]
    found = sorted((f.file, f.line, f.path) for f in scan(pairs, engine, 1, context).findings)
    privileged = "securityContext.privileged"
    assert found == [
        ("c/templates/_pod.tpl", 5, f"spec.template.spec.containers[0].{privileged}"),
        ("c/templates/_pod.tpl", 10, f"spec.template.spec.containers[1].{privileged}"),
    ]  # with a container the values add: as before (two findings, none folded into one)
    (tmp_path / "c/values.yaml").write_text("image: nginx:1.25\nprivileged: true\nextra: []\n")
    found = sorted((f.file, f.line, f.path) for f in scan(pairs, engine, 1, context).findings)
    assert found == [
        ("c/templates/_pod.tpl", 10, f"spec.template.spec.containers[0].{privileged}")
    ]


def test_items_of_an_if_the_values_cannot_decide_are_told_by_what_rendered(
    tmp_path: Path,
) -> None:
    """linkerd2-cni: `{{- if ne .Values.binDir .Values.netDir }}` writes two hostPath volumes,
    `{{- else }}` one of the same name (`cni-net-dir`). The values cannot say how `ne` goes
    and two `- name: cni-net-dir` lines could be it: its finding was said at `volumes:`.
    Only one way of the `if` renders as many items as rendered, each showing its literal
    name: its lines are the items'."""
    (tmp_path / "c/templates").mkdir(parents=True)
    (tmp_path / "c/Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    (tmp_path / "c/templates/ds.yaml").write_text(
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: cni\nspec:\n"
        "  selector: {matchLabels: {app: cni}}\n  template:\n"
        "    metadata: {labels: {app: cni}}\n    spec:\n"
        "      containers: [{name: cni, image: cni:1}]\n"  # line 10
        "      volumes:\n"
        "      {{- if ne .Values.binDir .Values.netDir }}\n"
        "      - name: cni-bin-dir\n"
        "        hostPath:\n"
        "          path: {{ .Values.binDir }}\n"  # line 15
        "      - name: cni-net-dir\n"
        "        hostPath:\n"
        "          path: {{ .Values.netDir }}\n"
        "      {{- else }}\n"
        "      - name: cni-net-dir\n"  # line 20
        "        hostPath:\n"
        "          path: {{ .Values.netDir }}\n"
        "      {{- end }}\n"
    )
    engine = Engine([load_policy_file(REPO / "policies/kubernetes/pss-baseline-host-path.yaml")])
    context = LoadContext(tree=WorkTree(tmp_path))
    pairs = [("c/Chart.yaml", (tmp_path / "c/Chart.yaml").read_bytes())]

    def found(values: str) -> list[tuple[str, int]]:
        (tmp_path / "c/values.yaml").write_text(values)
        return sorted((f.file, f.line) for f in scan(pairs, engine, 1, context).findings)

    two = found("binDir: /opt/cni/bin\nnetDir: /etc/cni/net.d\n")
    assert two == [("c/templates/ds.yaml", 14), ("c/templates/ds.yaml", 17)]
    one = found("binDir: /etc/cni/net.d\nnetDir: /etc/cni/net.d\n")
    assert one == [("c/templates/ds.yaml", 21)]


def test_a_pod_spec_included_among_literal_keys_is_located_in_its_body(
    tmp_path: Path,
) -> None:
    """opentelemetry-collector's Deployment: `spec:` writes `dnsPolicy:` and `dnsConfig:`
    (with its own `toYaml`) under `with`s, then `{{- include "x.pod" ... | nindent 6 }}` at
    the children's level writes the containers: every container finding was said at `spec:`
    (the include is not the line after it). The one such action of the block is the
    generator, so the field is located in the define's body; two such actions: as before."""
    (tmp_path / "c/templates").mkdir(parents=True)
    (tmp_path / "c/Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    (tmp_path / "c/values.yaml").write_text(
        "image: nginx:1.25\nprivileged: true\ndnsPolicy: ClusterFirst\n"
        "dnsConfig: {options: [{name: ndots, value: '2'}]}\n"
    )
    (tmp_path / "c/templates/_pod.tpl").write_text(
        '{{- define "c.pod" }}\n'
        "containers:\n  - name: web\n"
        "    image: {{ .Values.image }}\n"
        "    securityContext:\n"
        "      privileged: {{ .Values.privileged }}\n"  # line 6
        "{{- end }}\n"
    )
    deploy = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n"
        "  selector: {matchLabels: {app: web}}\n  template:\n"
        "    metadata: {labels: {app: web}}\n"
        "    spec:\n"  # line 9
        "      {{- with .Values.dnsPolicy }}\n      dnsPolicy: {{ . }}\n      {{- end }}\n"
        "      {{- with .Values.dnsConfig }}\n      dnsConfig:\n"
        "        {{- toYaml . | nindent 8 }}\n      {{- end }}\n"
        '      {{- include "c.pod" . | nindent 6 }}\n'
    )
    (tmp_path / "c/templates/deploy.yaml").write_text(deploy)
    engine = Engine([load_policy_file(PRIVILEGED)])
    context = LoadContext(tree=WorkTree(tmp_path))
    pairs = [("c/Chart.yaml", (tmp_path / "c/Chart.yaml").read_bytes())]
    found = [(f.file, f.line) for f in scan(pairs, engine, 1, context).findings]
    assert found == [("c/templates/_pod.tpl", 6)]
    two = deploy + "      {{- include \"c.extra\" . | nindent 6 }}\n"
    (tmp_path / "c/templates/deploy.yaml").write_text(two)
    (tmp_path / "c/templates/_extra.tpl").write_text('{{- define "c.extra" }}{{- end }}\n')
    found = [(f.file, f.line) for f in scan(pairs, engine, 1, context).findings]
    assert found == [("c/templates/deploy.yaml", 9)]


def test_values_lines_through_image_lines_and_named_templates(tmp_path: Path) -> None:
    """An image built from several values, directly or in a named template (`include`), is
    attributed to each values line it reads, or to the values block they share."""
    (tmp_path / "c/templates").mkdir(parents=True)
    (tmp_path / "c/Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    (tmp_path / "c/values.yaml").write_text(
        "image:\n  registry: docker.io\n  repository: nginx\n  tag: latest\n"
        "sidecar:\n  repository: busybox\n  tag: '1.36'\n"
    )
    (tmp_path / "c/templates/_helpers.tpl").write_text(
        '{{- define "c.image" -}}\n'
        "{{- if .Values.image.registry }}\n"
        '{{- printf "%s/%s:%s" .Values.image.registry .Values.image.repository'
        " .Values.image.tag }}\n"
        "{{- end }}\n"
        "{{- end }}\n"
    )
    (tmp_path / "c/templates/pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n"
        '    - name: app\n      image: {{ include "c.image" . }}\n'
        '    - name: sidecar\n      image: "{{ .Values.sidecar.repository }}:'
        '{{ .Values.sidecar.tag }}"\n'
    )
    policy = REPO / "policies" / "kubernetes" / "image-allowed-registry.yaml"
    engine = Engine([load_policy_file(policy)])
    context = LoadContext(tree=WorkTree(tmp_path))
    pairs = [("c/Chart.yaml", (tmp_path / "c/Chart.yaml").read_bytes())]
    findings = scan(pairs, engine, 1, context).findings
    assert sorted((f.line, f.extra.get("values")) for f in findings) == [
        (8, "c/values.yaml:1"),  # the `image:` block the named template reads
        (10, "c/values.yaml:6, c/values.yaml:7"),
    ]


# A `file://` dependency under an alias, global values, CRDs, and a v1 chart whose
# requirements.yaml names dependencies that are not vendored.
DEPENDENCY_CHARTS = {
    "charts/app/Chart.yaml": "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n"
    "  - name: common\n    alias: shared\n    version: 0.1.0\n"
    "    repository: file://../common\n",
    "charts/app/values.yaml": "shared:\n  hostNetwork: true\nglobal:\n  pid: true\n",
    "charts/app/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n",
    "charts/app/crds/crd.yaml": "apiVersion: apiextensions.k8s.io/v1\n"
    "kind: CustomResourceDefinition\nmetadata:\n  name: a.b.c\n---\n"
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: sneaky\n"
    "spec:\n  hostIPC: true\n  containers:\n    - name: c\n      image: ghcr.io/x/c:1\n",
    "charts/common/Chart.yaml": "apiVersion: v2\nname: common\nversion: 0.1.0\n",
    "charts/common/values.yaml": "hostNetwork: false\nglobal:\n  pid: false\n",
    "charts/common/templates/pod.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n"
    "  name: common\nspec:\n  hostNetwork: {{ .Values.hostNetwork }}\n"
    "  hostPID: {{ .Values.global.pid }}\n  containers:\n    - name: c\n"
    "      image: ghcr.io/x/c:1\n",
    "charts/legacy/Chart.yaml": "apiVersion: v1\nname: legacy\nversion: 0.1.0\n",
    "charts/legacy/requirements.yaml": "dependencies:\n  - name: redis\n"
    "    version: 17.0.0\n    repository: https://charts.example.com\n"
    "  - name: kafka\n    version: 1.0.0\n    repository: https://charts.example.com\n",
    "charts/legacy/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
    "  name: legacy\n",
}


def test_dependencies_file_alias_global_requirements_and_crds(
    gatekeeper: Any, tmp_path: Path
) -> None:
    """A `file://` dependency in the repository renders as the parent's subchart, under its
    alias, with the parent's values (and `global`) attributed to the parent's values lines; a
    v1 chart's requirements.yaml is read; missing remote dependencies are one finding with the
    command that vendors them; whatever sits in crds/ is judged as Helm applies it."""
    for name, text in DEPENDENCY_CHARTS.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    policy = REPO / "policies" / "kubernetes" / "pss-baseline-host-namespaces.yaml"
    run = gatekeeper("scan", ".", "--no-builtin", "-p", str(policy), "-f", "json", cwd=tmp_path)
    import json

    findings = json.loads(run.stdout)["findings"]
    assert sorted((f["file"], f["line"], f["extra"].get("values")) for f in findings) == [
        ("charts/app/crds/crd.yaml", 11, None),  # a Pod hidden after a definition
        ("charts/common/templates/pod.yaml", 6, "charts/app/values.yaml:2"),  # via the alias
        ("charts/common/templates/pod.yaml", 7, "charts/app/values.yaml:4"),  # global
        ("charts/legacy/requirements.yaml", 2, None),
    ]
    missing = next(f for f in findings if f["policy_id"] == "GK-RENDER-ERROR")
    assert "kafka, redis" in missing["message"]
    assert "helm dependency build charts/legacy" in missing["message"]


def test_a_file_dependency_not_vendored_is_located_in_its_own_folder(
    gatekeeper: Any, tmp_path: Path
) -> None:
    """An object a `file://` library chart's named template writes, and a clock action in
    it, are located in the library's folder: its templates are copied into the parent's
    copy as charts/<name>/, and were taken for the parent's own (charts/web/templates/
    _pod.tpl, a path that does not exist: a reviewer, and a review comment, found nothing
    there; red team s14)."""
    files = {
        "charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\ndependencies:\n"
        "  - {name: common, version: 0.1.0, repository: 'file://../common'}\n",
        "charts/web/templates/pod.yaml": '{{ include "common.pod" . }}\n',
        "charts/common/Chart.yaml": "apiVersion: v2\nname: common\ntype: library\n"
        "version: 0.1.0\n",
        "charts/common/templates/_pod.tpl": '{{- define "common.pod" -}}\napiVersion: v1\n'
        "kind: Pod\nmetadata:\n  name: {{ .Release.Name }}\n"
        "  annotations: {stamp: {{ if eq (now | date \"Mon\") \"Mon\" }}a{{ else }}b{{ end }}}\n"
        "spec:\n  hostPID: true\n  containers:\n    - {name: a, image: ghcr.io/x/a:1}\n"
        "{{- end -}}\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    policy = REPO / "policies" / "kubernetes" / "pss-baseline-host-namespaces.yaml"
    run = gatekeeper("scan", ".", "--no-builtin", "-p", str(policy), "-f", "json", cwd=tmp_path)
    import json

    findings = json.loads(run.stdout)["findings"]
    assert sorted((f["policy_id"], f["file"], f["line"]) for f in findings) == [
        ("GK-HELM-CLOCK", "charts/common/templates/_pod.tpl", 6),
        ("K8S-PSS-HOST-NAMESPACES", "charts/common/templates/_pod.tpl", 8),
    ]


CRD = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"


@pytest.mark.parametrize(
    ("text", "skipped"),
    [
        (f"# c\n---\n{CRD}---\n  # only a comment\n\n", True),
        (f"{CRD}---\nkind: Pod\n", False),
        (f"{CRD}---\n # c\r  kind: Pod\n", False),  # CR ends a line
        (f"{CRD}---\n{{kind: Pod}}\n", False),
        # each of these reads as (or holds) a Pod, or a removed API version
        (f'{CRD}"kind": Pod\n', False),  # a key written twice: the quoted one wins
        (f"{CRD}'kind': Pod\n", False),
        (f"{CRD}? kind\n: Pod\n", False),
        (f"{CRD}<<: {{kind: Pod}}\n", False),
        (f"{CRD}--- {{apiVersion: v1, kind: Pod}}\n", False),  # a document on its `---` line
        (f"{CRD}metadata:\n  name: x\u2028kind: Pod\n", False),  # LS breaks the line
        (f"{CRD}metadata:\n  name: x\x85kind: Pod\n", False),  # and NEL
        (f"{CRD}kind: CustomResourceDefinition\n", False),
        ("apiVersion: apiextensions.k8s.io/v1beta1\nkind: CustomResourceDefinition\n", False),
        ("kind: CustomResourceDefinition\n", False),
        ("  apiVersion: v1\n  kind: Pod\nkind: CustomResourceDefinition\n", False),
        (f"%YAML 1.1\n---\n{CRD}", False),
        (f"{CRD}----\n{CRD}", False),
        (
            '---\napiVersion: "apiextensions.k8s.io/v1" # v1\nkind: CustomResourceDefinition\n',
            True,
        ),
        (f"{CRD}metadata: {{name: x, kind: Pod}}\nspec:\n  kind: Pod\n---\n{CRD}", True),
    ],
)
def test_a_crds_file_is_skipped_only_when_every_document_is_a_definition(
    text: str, skipped: bool
) -> None:
    assert helm._only_definitions(text.encode()) is skipped


def test_a_crds_file_skipped_reads_as_nothing_but_definitions() -> None:
    """Whatever arrangement of separators, keys written every way, comments and line breaks:
    a file is left unparsed only when YAML reads it as definitions of apiextensions.k8s.io/v1
    (or cannot read it at all: then Helm cannot apply it either)."""
    import yaml

    pieces = [
        b"---",
        b"--- # doc",
        b"--- {kind: Pod}",
        b"----",
        b"apiVersion: apiextensions.k8s.io/v1",
        b"apiVersion: apiextensions.k8s.io/v1beta1",
        b"kind: CustomResourceDefinition",
        b'kind: "CustomResourceDefinition"',
        b"kind: Pod",
        b'"kind": Pod',
        b"  kind: Pod",
        b"kind: CustomResourceDefinition\r",
        b"# kind: Pod",
        b"{kind: Pod}",
        b"",
        b" x: 1\rkind: Pod",
        b"spec: {}",
        b"metadata:\n  name: a\xe2\x80\xa9kind: Pod",
    ]
    skipped = 0
    for count in (1, 2, 3, 4):
        for combination in itertools.product(pieces, repeat=count):
            data = b"\n".join(combination) + b"\n"
            if not helm._only_definitions(data):
                continue
            skipped += 1
            try:
                documents = list(yaml.safe_load_all(data))
            except yaml.YAMLError:
                continue
            for document in documents:
                assert document is None or (
                    document.get("kind") == "CustomResourceDefinition"
                    and document.get("apiVersion") == "apiextensions.k8s.io/v1"
                ), data
    assert skipped > 20
    crds = (CRD.encode() + b"spec:\n" + b"  kind: x\n" * 3 + b"---\n") * 200
    assert helm._only_definitions(crds)


def test_capabilities_know_every_built_in_api_and_the_configured_ones(tmp_path: Path) -> None:
    """Helm's own list lacks apiregistration.k8s.io/v1; CRD-gated templates (a ServiceMonitor
    `if .Capabilities.APIVersions.Has "monitoring.coreos.com/v1"`) render when configured."""
    (tmp_path / "c/templates").mkdir(parents=True)
    (tmp_path / "c/Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    (tmp_path / "c/templates/cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n"
        '  registration: "{{ .Capabilities.APIVersions.Has "apiregistration.k8s.io/v1" }}"\n'
        '  monitoring: "{{ .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" }}"\n'
    )

    def data(options: dict[str, Any]) -> Any:
        context = LoadContext(tree=WorkTree(tmp_path), options={"helm": options})
        chart = (tmp_path / "c/Chart.yaml").read_bytes()
        (document,) = helm.load("c/Chart.yaml", chart, context).documents
        return document.obj["data"]

    # Unconfigured, the chart is also rendered as on a cluster with the CRD it tests.
    context = LoadContext(tree=WorkTree(tmp_path))
    chart = (tmp_path / "c/Chart.yaml").read_bytes()
    rendered = helm.load("c/Chart.yaml", chart, context).documents
    assert [(d.obj["data"], d.extra["variant"]) for d in rendered] == [
        ({"registration": "true", "monitoring": "false"}, "helm c"),
        (
            {"registration": "true", "monitoring": "true"},
            "helm c --api-versions monitoring.coreos.com/v1",
        ),
    ]
    assert data({"apiVersions": ["monitoring.coreos.com/v1"]})["monitoring"] == "true"
    per_chart = {"charts": [{"path": "c", "apiVersions": ["monitoring.coreos.com/v1"]}]}
    assert data(per_chart)["monitoring"] == "true"


REAPED = """
import ctypes, os, sys
import itertools
import re
from pathlib import Path
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: orphans come to us
from gatekeeper.evaluate import Engine
from gatekeeper.scanner import scan
from gatekeeper.sources import LoadContext
from gatekeeper.tree import MemoryTree
chart = sorted((p.relative_to(sys.argv[1]).as_posix(), p.read_bytes())
               for p in Path(sys.argv[1]).rglob("*") if p.is_file())
pairs = [(f"c{n}/{name}", data) for n in (0, 1) for name, data in chart]
pairs = pairs[: len(chart)] + [(f"x{i}.txt", b"") for i in range(40)] + pairs[len(chart) :]
result = scan(pairs, Engine([]), 2, LoadContext(tree=MemoryTree.of(pairs)))
assert result.documents == 8, result.documents
from gatekeeper.sources import helm_engine
helm_engine._stop_worker()  # this process's own (shared with the workers): stopped at exit
try:
    print("left behind:", os.waitpid(-1, os.WNOHANG))
except ChildProcessError:
    print("none left")
"""


def test_forked_workers_wait_for_their_renderers(tmp_path: Path) -> None:
    """A scan's pool workers stop their Helm renderers: none is left for init to reap, so
    the renderers' CPU counts in the scanning process's children's time."""
    import subprocess
    import sys

    script = tmp_path / "reaped.py"
    script.write_text(REAPED)
    run = subprocess.run(
        [sys.executable, str(script), str(DATA / "web")],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert run.stdout.strip() == "none left", run.stdout + run.stderr


def test_output_limit_counts_the_rendered_text_not_its_json() -> None:
    """The renderer passes Helm's JSON on when it is short enough; a longer one is counted: a
    template of 3 MiB of `<` (6 bytes each in Helm's JSON) is within the 16 MiB limit, 17 MiB of
    text is not, and neither stops the next chart."""
    from gatekeeper.sources import helm_engine

    chart = b"apiVersion: v2\nname: c\nversion: 0.1.0\n"
    configmap = b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
    files = {
        "escaped/Chart.yaml": chart,
        "escaped/templates/cm.yaml": configmap + b'# {{ repeat 3145728 "<" }}\n',
        "long/Chart.yaml": chart,
        "long/templates/cm.yaml": configmap + b'# {{ repeat 17825792 "x" }}\n',
        "next/Chart.yaml": chart,
        "next/templates/cm.yaml": configmap,
    }
    context = LoadContext(tree=MemoryTree(files))
    loaded = {
        name: helm.load(f"{name}/Chart.yaml", files[f"{name}/Chart.yaml"], context)
        for name in ("escaped", "long", "next")
    }
    assert [d.name for d in loaded["escaped"].documents] == ["c"]
    assert loaded["escaped"].problems == []
    (problem,) = loaded["long"].problems
    assert loaded["long"].documents == []
    limit = helm_engine.MAX_OUTPUT_BYTES // 2**20
    assert f"bytes, over the {limit} MiB limit; not checked" in problem.message
    assert (problem.file, problem.line) == ("long/Chart.yaml", 1)
    assert [d.name for d in loaded["next"].documents] == ["c"]


def _charts_for_workers(names: list[str], hostile: str = "") -> dict[str, bytes]:
    """Charts of 16 templates each (a scan chunk), so forked workers render them."""
    files = {}
    for name in names:
        files[f"{name}/Chart.yaml"] = f"apiVersion: v2\nname: {name}\nversion: 0.1.0\n".encode()
        for index in range(15):
            files[f"{name}/templates/cm{index:02}.yaml"] = (
                f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}-{index}}}\n".encode()
            )
    if hostile:  # a template that never ends
        files[f"{hostile}/templates/cm00.yaml"] = (
            b"{{ range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}\n"
        )
    return files


def _scan_counting_renderers(
    files: dict[str, bytes], tmp_path: Path, options: dict[str, Any] | None = None
) -> tuple[list[Any], int]:
    """A scan with two forked workers; the findings, and how many renderers were started
    (counted by every process, the workers included, in a file)."""
    import pytest

    from gatekeeper.sources import helm_engine

    engine = Engine([load_policy_file(PRIVILEGED)])
    context = LoadContext(tree=MemoryTree(files), options={"helm": options or {}})
    starts = tmp_path / "starts"
    starts.touch()
    original = helm_engine._Worker.__init__

    def counted(self: Any, memory_mib: int) -> None:
        with starts.open("a") as handle:
            handle.write("x")
        original(self, memory_mib)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(helm_engine._Worker, "__init__", counted)
        patch.setattr(helm_engine._Worker, "current", None)
        findings = scan(sorted(files.items()), engine, 2, context).findings
        helm_engine._stop_worker()
    return findings, len(starts.read_text())


def test_forked_workers_share_one_renderer(tmp_path: Path) -> None:
    names = ["a", "b", "c", "d"]
    findings, starts = _scan_counting_renderers(_charts_for_workers(names), tmp_path)
    assert [f for f in findings if f.policy_id.startswith("GK-")] == []
    assert starts == 1


def test_a_chart_that_stops_the_shared_renderer_does_not_stop_the_others(tmp_path: Path) -> None:
    """The hostile chart's finding says so; every worker goes on with its own renderer and
    every other chart is rendered and judged (here: its ConfigMaps have no name clash)."""
    names = ["a", "b", "c", "d", "e"]
    files = _charts_for_workers(names, hostile="b")
    files["e/templates/pod.yaml"] = (
        b"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
        b"spec: {containers: [{name: a, image: a, securityContext: {privileged: true}}]}\n"
    )
    findings, starts = _scan_counting_renderers(files, tmp_path, {"renderTimeoutSeconds": 2})
    problems = [(f.file, f.message) for f in findings if f.policy_id.startswith("GK-")]
    assert problems == [
        ("b/Chart.yaml", "helm: render exceeded 2 s (renderTimeoutSeconds); not checked")
    ]
    assert [f.file for f in findings if f.policy_id == "K8S-PSS-PRIVILEGED"] == [
        "e/templates/pod.yaml"
    ]
    # The shared one, then one per process that rendered after the hostile chart stopped it:
    # none when the other process had already rendered every other chart (a loaded machine
    # gives the hostile chart's 2 s to the other process), so the count says only "at most".
    assert 1 <= starts <= 3


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_renderer_is_stopped_once_the_last_chart_is_loaded(jobs: int) -> None:
    """The rest of the scan (judging, other files) does not hold the child and its Go heap:
    by the end of the scan it has exited, whichever process rendered the last chart."""
    from gatekeeper.sources import helm_engine

    helm_engine._stop_worker()
    files = _charts_for_workers(["a", "b", "c", "d"])
    files["e/templates/pod.yaml"] = (
        b"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
        b"spec: {containers: [{name: a, image: a, securityContext: {privileged: true}}]}\n"
    )
    files["e/Chart.yaml"] = b"apiVersion: v2\nname: e\nversion: 0.1.0\n"
    engine = Engine([load_policy_file(PRIVILEGED)])
    context = LoadContext(tree=MemoryTree(files), options={"helm": {}})
    try:
        findings = scan(sorted(files.items()), engine, jobs, context).findings
        worker = helm_engine._Worker.current
        assert worker is None or worker.gone()
    finally:
        helm_engine._stop_worker()
    assert [f.file for f in findings] == ["e/templates/pod.yaml"]
    # a chart loaded after them starts a renderer of its own
    data = files["e/Chart.yaml"]
    try:
        assert len(helm.load("e/Chart.yaml", data, context).documents) == 1
    finally:
        helm_engine._stop_worker()


def test_chart_copies_go_to_memory_backed_scratch_space_unless_tmpdir_says_otherwise(
    monkeypatch: Any, tmp_path: Path
) -> None:
    import os

    import pytest

    from gatekeeper.sources import programs

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    assert programs.scratch_parent() is None
    monkeypatch.delenv("TMPDIR")
    if not os.access("/dev/shm", os.W_OK):
        pytest.skip("no writable /dev/shm here")
    monkeypatch.setattr(programs, "_SCRATCH_FREE_BYTES", 0)
    assert programs.scratch_parent() == "/dev/shm"
    monkeypatch.setattr(programs, "_SCRATCH_FREE_BYTES", 2**62)  # too small: the default
    assert programs.scratch_parent() is None


def test_a_template_is_parsed_once_and_only_when_needed() -> None:
    """A one-part template is not parsed on loading (only when a field is located in it); one
    of several parts is, to choose each object's part, and not again to locate. Either way,
    every field is where an eager parse puts it."""
    files = {
        "c/Chart.yaml": b"apiVersion: v2\nname: c\nversion: 0.1.0\n",
        "c/templates/one.yaml": b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\n"
        b"data:\n  level: {{ .Values.level | quote }}\n",
        "c/templates/two.yaml": b"# parts\n---\napiVersion: v1\nkind: ConfigMap\n"
        b"metadata:\n  name: a\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: b\n"
        b"stringData:\n  key: x\n",
        "c/values.yaml": b"level: debug\n",
    }
    context = LoadContext(tree=MemoryTree(files))
    documents = helm.load("c/Chart.yaml", files["c/Chart.yaml"], context).documents
    assert [(d.file, d.name, d.extra["origin"]) for d in documents] == [
        ("c/templates/one.yaml", "one", "c/templates/one.yaml#0"),
        ("c/templates/two.yaml", "a", "c/templates/two.yaml#1"),
        ("c/templates/two.yaml", "b", "c/templates/two.yaml#2"),
    ]
    locators = [d.locator for d in documents]
    assert all(isinstance(locator, helm.HelmLocator) for locator in locators)
    sources = {locator.template for locator in locators}
    one, first, second = locators
    assert len(sources) == 2 and one.template._parsed is None
    parsed = first.template._parsed
    assert parsed is not None
    where = one.locate(("data", "level"))
    assert (where.line, where.values) == (6, "c/values.yaml:1")
    assert one.template._parsed is not None
    assert first.locate(("metadata", "name")).line == 6
    assert second.locate(("stringData", "key")).line == 13
    assert first.template._parsed is parsed
    for document, locator in zip(documents, locators, strict=True):  # as an eager parse has it
        eager = DocumentMap(
            parse_template(files[document.file].decode()), document.obj, *locator.part
        )
        for path in [("metadata", "name"), ("kind",), ("data", "level"), ("stringData", "key")]:
            assert locator.map.resolve(path) == eager.resolve(path)


def test_an_item_is_located_at_the_one_block_the_values_render(tmp_path: Path) -> None:
    """promtail (grafana/helm-charts, noise3): `volumes:` lists a literal item, then
    `with .Values.defaultVolumes` and `with .Values.extraVolumes` each `toYaml` more. The
    values leave extraVolumes empty, so the first block wrote every other item; with two
    blocks to choose from, each hostPath was said at `volumes:`, with no values line."""
    (tmp_path / "c/templates").mkdir(parents=True)
    (tmp_path / "c/Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    (tmp_path / "c/values.yaml").write_text(
        "defaultVolumes:\n"
        "  - name: run\n    hostPath: {path: /run/logs}\n"  # line 3
        "  - name: pods\n    hostPath: {path: /var/log/pods}\n"  # line 5
        "extraVolumes: []\n"
    )
    (tmp_path / "c/templates/_pod.tpl").write_text(
        '{{- define "c.pod" -}}\n'
        "metadata:\n  labels: {app: logs}\n"
        "spec:\n  containers:\n    - name: logs\n      image: ghcr.io/a/logs:1.0\n"
        "  volumes:\n"  # line 8
        "    - name: config\n      configMap: {name: logs}\n"
        "    {{- with .Values.defaultVolumes }}\n"
        "    {{- toYaml . | nindent 4 }}\n"  # line 12
        "    {{- end }}\n"
        "    {{- with .Values.extraVolumes }}\n"
        "    {{- tpl (toYaml .) $ | nindent 4 }}\n"
        "    {{- end }}\n"
        "{{- end }}\n"
    )
    (tmp_path / "c/templates/ds.yaml").write_text(
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: logs\nspec:\n"
        "  selector: {matchLabels: {app: logs}}\n  template:\n"
        '    {{- include "c.pod" . | nindent 4 }}\n'
    )
    policy = REPO / "policies" / "kubernetes" / "pss-baseline-host-path.yaml"
    engine = Engine([load_policy_file(policy)])
    context = LoadContext(tree=WorkTree(tmp_path))
    pairs = [("c/Chart.yaml", (tmp_path / "c/Chart.yaml").read_bytes())]
    findings = scan(pairs, engine, 1, context).findings
    assert sorted((f.file, f.line, f.extra.get("values")) for f in findings) == [
        ("c/templates/_pod.tpl", 12, "c/values.yaml:3"),
        ("c/templates/_pod.tpl", 12, "c/values.yaml:5"),
    ]
    # A pull request filling extraVolumes makes the choice ambiguous again: nothing is
    # pointed at the wrong block (the items are at `volumes:`, as before).
    (tmp_path / "c/values.yaml").write_text(
        "defaultVolumes:\n  - name: run\n    hostPath: {path: /run/logs}\n"
        "extraVolumes:\n  - name: pods\n    hostPath: {path: /var/log/pods}\n"
    )
    pairs = [("c/Chart.yaml", (tmp_path / "c/Chart.yaml").read_bytes())]
    findings = scan(pairs, engine, 1, LoadContext(tree=WorkTree(tmp_path))).findings
    assert sorted((f.line, f.extra.get("values")) for f in findings) == [(8, None), (8, None)]


def test_a_body_is_not_said_at_a_block_the_values_skip(tmp_path: Path) -> None:
    """jenkins (jenkinsci/helm-charts, noise3): under `initContainers:`, `if
    .Values.custom` (empty) holds `tpl (toYaml .Values.custom)`, then an `include` writes
    the reload container. Every finding of that container was said at the `toYaml` of the
    empty block, a line that wrote nothing; it is said at the `include` now."""
    (tmp_path / "c/templates").mkdir(parents=True)
    (tmp_path / "c/Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    (tmp_path / "c/values.yaml").write_text("custom: []\nreload: true\n")
    (tmp_path / "c/templates/_helpers.tpl").write_text(
        '{{- define "c.reload" -}}\n'
        "- name: reload\n  image: ghcr.io/a/reload:1.0\n"
        "  securityContext: {privileged: true}\n"
        "{{- end }}\n"
    )
    (tmp_path / "c/templates/pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n"
        "  initContainers:\n"  # line 6
        "{{- if .Values.custom }}\n"
        "{{ tpl (toYaml .Values.custom) . | indent 4 }}\n"  # line 8
        "{{- end }}\n"
        "{{- if .Values.reload }}\n"
        '{{- include "c.reload" . | nindent 4 }}\n'
        "{{- end }}\n"
        "  containers:\n    - name: app\n      image: ghcr.io/a/app:1.0\n"
    )
    engine = Engine([load_policy_file(PRIVILEGED)])
    context = LoadContext(tree=WorkTree(tmp_path))
    pairs = [("c/Chart.yaml", (tmp_path / "c/Chart.yaml").read_bytes())]
    [finding] = scan(pairs, engine, 1, context).findings
    assert (finding.file, finding.line) == ("c/templates/pod.yaml", 11)


def test_a_failed_tpl_is_said_without_the_whole_text_it_was_given(tmp_path: Path) -> None:
    """Helm quotes the whole text `tpl` executed when it fails: loki's GK-RENDER-ERROR held
    its 5,747-character `loki.config` (7,300 characters in all). The text is cut to its start
    and length; the template, line and cause after it are kept."""
    (tmp_path / "c/templates").mkdir(parents=True)
    (tmp_path / "c/Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    config = "server:\\n  http_listen_port: 3100\\n" * 40 + "port: {{ .Values.store.port }}\\n"
    (tmp_path / "c/values.yaml").write_text(f'config: "{config}"\n')
    (tmp_path / "c/templates/cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n"
        "  config.yaml: {{ tpl .Values.config . | quote }}\n"
    )
    engine = Engine([load_policy_file(PRIVILEGED)])
    context = LoadContext(tree=WorkTree(tmp_path))
    pairs = [("c/Chart.yaml", (tmp_path / "c/Chart.yaml").read_bytes())]
    (error,) = [
        f for f in scan(pairs, engine, 1, context).findings if f.policy_id == "GK-RENDER-ERROR"
    ]
    assert (error.file, error.line) == ("c/templates/cm.yaml", 6)
    assert len(error.message) < 700, error.message
    assert 'for "server:\\n http_listen_port: 3100' in error.message
    assert "characters)" in error.message and "nil pointer" in error.message
