"""Charts as chart repositories write them (grafana, opentelemetry, ingress-nginx, istio):
a value the chart requires on purpose, rendered with chart-testing's ci values; a missing
dependency said once; a chart's own namespace told from the one it is installed into."""

from __future__ import annotations

from pathlib import Path

from gatekeeper.sources import helm
from tests.test_helm_accuracy import load_chart

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
    ci/*-values.yaml do (chart-testing renders each). What they render is judged; the
    defaults' error is a low note, not a blocking render error."""
    files = {
        "ch/values.yaml": "image: busybox:latest\naddress: ''\n",
        "ch/templates/ds.yaml": REQUIRED,
        "ch/ci/basic-values.yaml": "address: http://loki:3100\n",
        "ch/ci/other-values.yaml": "address: http://other:3100\nimage: nginx:1.27\n",
        "ch/ci/README.md": "not values\n",
        "ch/ci/nested/deep-values.yaml": "address: 1\n",  # ct reads ci/*, not below it
    }
    loaded = load_chart(tmp_path, files)
    (note,) = loaded.problems
    assert (note.code, note.file, note.line) == ("GK-HELM-DEFAULTS", "ch/templates/ds.yaml", 13)
    assert "ch/ci/basic-values.yaml, ch/ci/other-values.yaml" in note.message
    variants = sorted(d.extra["variant"] for d in loaded.documents)
    assert variants == [
        "helm ch -f ch/ci/basic-values.yaml",
        "helm ch -f ch/ci/other-values.yaml",
    ]
    images = sorted(
        d.obj["spec"]["template"]["spec"]["containers"][0]["image"] for d in loaded.documents
    )
    assert images == ["busybox:latest", "nginx:1.27"]
    # a ci file that fails as well stays a render error: chart-testing fails on it too
    files["ch/ci/broken-values.yaml"] = "address: ''\n"
    loaded = load_chart(tmp_path, files)
    codes = sorted((p.code, p.line) for p in loaded.problems)
    assert codes == [("GK-HELM-DEFAULTS", 13), ("GK-RENDER-ERROR", 13)]
    assert len(loaded.documents) == 2


def test_a_chart_no_values_render_keeps_its_render_error(tmp_path: Path) -> None:
    """No ci values, or none that render: nothing was judged, the error stands (high)."""
    files = {"ch/values.yaml": "image: x\n", "ch/templates/ds.yaml": REQUIRED}
    (problem,) = load_chart(tmp_path, files).problems
    assert (problem.code, problem.line) == ("GK-RENDER-ERROR", 13)
    files["ch/ci/none-values.yaml"] = "image: y\n"
    loaded = load_chart(tmp_path, files)
    assert [(p.code, p.line) for p in loaded.problems] == [("GK-RENDER-ERROR", 13)]
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
