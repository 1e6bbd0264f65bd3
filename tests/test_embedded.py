"""Manifests other objects apply, and pods other controllers run (red team r03)."""

from __future__ import annotations

from pathlib import Path

import gatekeeper

C = (
    '{name: x, image: "registry.example.com/x@sha256:' + "0" * 64 + '",'
    " securityContext: {privileged: true}}"
)
SPEC = "{containers: [C]}".replace("C", C)
POD = "{apiVersion: v1, kind: Pod, metadata: {name: p, namespace: web}, spec: SPEC}"
OBJECTS = """\
apiVersion: kubernetes.crossplane.io/v1alpha2
kind: Object
metadata: {name: object}
spec: {forProvider: {manifest: POD}}
---
apiVersion: work.open-cluster-management.io/v1
kind: ManifestWork
metadata: {name: work, namespace: cluster1}
spec: {workload: {manifests: [POD]}}
---
apiVersion: triggers.tekton.dev/v1beta1
kind: TriggerTemplate
metadata: {name: trigger, namespace: web}
spec: {resourcetemplates: [POD]}
---
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: analysis, namespace: web}
spec: {metrics: [{name: m, provider: {job: {spec: {template: {spec: SPEC}}}}}]}
---
apiVersion: argoproj.io/v1alpha1
kind: Experiment
metadata: {name: experiment, namespace: web}
spec: {templates: [{name: t, template: {spec: SPEC}}]}
---
apiVersion: sources.knative.dev/v1
kind: ContainerSource
metadata: {name: source, namespace: web}
spec: {template: {spec: SPEC}}
---
apiVersion: machinelearning.seldon.io/v1
kind: SeldonDeployment
metadata: {name: seldon, namespace: web}
spec: {predictors: [{name: p, componentSpecs: [{spec: SPEC}]}]}
---
apiVersion: apps.kruise.io/v1alpha1
kind: AdvancedCronJob
metadata: {name: cron, namespace: web}
spec: {template: {jobTemplate: {spec: {template: {spec: SPEC}}}}}
---
apiVersion: kubernetes.dask.org/v1
kind: DaskCluster
metadata: {name: dask, namespace: web}
spec: {worker: {spec: SPEC}, scheduler: {spec: SPEC}}
""".replace("POD", POD).replace("SPEC", SPEC)


def test_each_embedded_manifest_and_pod_runner_is_judged(tmp_path: Path) -> None:
    (tmp_path / "objects.yaml").write_text(OBJECTS)
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    privileged = [f for f in report.verdict.findings if f.policy_id == "K8S-PSS-PRIVILEGED"]
    assert sorted({f.line for f in privileged}) == [4, 9, 14, 19, 24, 29, 34, 39, 44]
    wrapped = sorted(
        v for f in privileged for v in f.extra.get("variants") or [] if "deployed by" in v
    )
    assert wrapped == [
        "deployed by objects.yaml:object (Object)",
        "deployed by objects.yaml:trigger (TriggerTemplate)",
        "deployed by objects.yaml:work (ManifestWork)",
    ]


POD_TEXT = """\
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: web}
spec:
  containers: [C]
""".replace("C", C)


def _indented(text: str, spaces: int) -> str:
    return "".join(" " * spaces + line + "\n" for line in text.splitlines())


def _privileged(tmp_path: Path) -> list[tuple[str, int, int]]:
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    return sorted(
        (f.file, f.line, f.column)
        for f in report.verdict.findings
        if f.policy_id == "K8S-PSS-PRIVILEGED"
    )


def test_manifests_written_as_text_are_judged_at_their_own_lines(tmp_path: Path) -> None:
    """Red team r03c: a ClusterResourceSet's ConfigMap, a Secret (base64), a Fleet Bundle
    (plain and base64+gz) and a kapp-controller App's inline files all deploy the Pod."""
    import base64
    import gzip

    encoded = base64.b64encode(POD_TEXT.encode()).decode()
    zipped = base64.b64encode(gzip.compress(POD_TEXT.encode())).decode()
    quoted = POD_TEXT.replace('"', '\\"').replace("\n", "\\n")
    (tmp_path / "text.yaml").write_text(
        "apiVersion: addons.cluster.x-k8s.io/v1beta1\n"
        "kind: ClusterResourceSet\n"
        "metadata: {name: crs, namespace: capi}\n"
        "spec: {clusterSelector: {}, resources: [{name: crs-pod, kind: ConfigMap}]}\n"
        "---\n"
        "apiVersion: v1\n"
        "kind: ConfigMap\n"
        "metadata: {name: crs-pod, namespace: capi}\n"
        "data:\n"
        "  nginx.conf: 'kind of a config, not a manifest: apiVersion'\n"
        "  pod.yaml: |\n" + _indented(POD_TEXT, 4) + "---\n"
        "apiVersion: v1\n"
        "kind: Secret\n"
        "metadata: {name: s, namespace: capi}\n"
        "type: addons.cluster.x-k8s.io/resource-set\n"
        f"data: {{pod.yaml: {encoded}}}\n"
        "---\n"
        "apiVersion: fleet.cattle.io/v1alpha1\n"
        "kind: Bundle\n"
        "metadata: {name: b, namespace: fleet-default}\n"
        "spec:\n"
        "  resources:\n"
        "    - name: pod.yaml\n"
        "      content: |\n" + _indented(POD_TEXT, 8) + "    - name: zipped.yaml\n"
        "      encoding: base64+gz\n"
        f"      content: {zipped}\n"
        "---\n"
        "apiVersion: kappctrl.k14s.io/v1alpha1\n"
        "kind: App\n"
        "metadata: {name: a, namespace: web}\n"
        f'spec: {{fetch: [{{inline: {{paths: {{pod.yml: "{quoted}"}}}}}}]}}\n'
    )
    lines = (tmp_path / "text.yaml").read_text().splitlines()
    found = _privileged(tmp_path)
    at = [lines[line - 1][column - 1 :].split(":")[0] for _, line, column in found]
    # Literal blocks: the `privileged` field itself; elsewhere: the string holding the Pod.
    assert list(zip([line for _, line, _ in found], at, strict=True)) == [
        (16, "privileged"),  # the ConfigMap's block
        (22, "pod.yaml"),  # the Secret's base64 value: at its key
        (35, "privileged"),  # the Bundle's block
        (38, "content"),  # base64+gz
        (43, "pod.yml"),  # a quoted string
    ]


def test_objects_made_inside_rendered_charts_and_overlays_are_judged(tmp_path: Path) -> None:
    """A Crossplane Object or a manifest ConfigMap in a chart's template or an overlay's
    resources was judged only when written in a plain file."""
    chart = tmp_path / "charts" / "x"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: x\nversion: 1.0.0\n")
    (chart / "values.yaml").write_text("privileged: true\n")
    (chart / "templates" / "object.yaml").write_text(
        "apiVersion: kubernetes.crossplane.io/v1alpha2\n"
        "kind: Object\n"
        "metadata: {name: o}\n"
        "spec: {forProvider: {manifest: POD}}\n".replace("POD", POD.replace("SPEC", SPEC)).replace(
            "privileged: true", "privileged: {{ .Values.privileged }}"
        )
    )
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text("resources: [cm.yaml]\nnamespace: capi\n")
    (overlay / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: crs}\n"
        "data:\n  pod.yaml: |\n" + _indented(POD_TEXT, 4)
    )
    # The overlay's ConfigMap: at the field's own line, once (the build and the file alone).
    assert [(file, line) for file, line, _ in _privileged(tmp_path)] == [
        ("charts/x/templates/object.yaml", 4),
        ("overlay/cm.yaml", 10),
    ]


def test_manifests_in_a_charts_configmap_are_located_at_their_own_lines(tmp_path: Path) -> None:
    """Two Jobs written as blocks of a chart's ConfigMap, beside a `{{ $name }}: |` range
    for custom entries (Katib's trial templates): each field at its own template line, an
    action on the line (`image: {{ ... }}`) included, not all at the range's line."""
    chart = tmp_path / "charts" / "jobs"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: jobs\nversion: 1.0.0\n")
    (chart / "values.yaml").write_text("image: registry.example.com/job:1\nextra: {}\n")
    job = (
        "apiVersion: batch/v1\n"
        "kind: Job\n"
        "spec:\n"
        "  template:\n"
        "    spec:\n"
        "      containers:\n"
        "        - name: NAME\n"
        "          image: {{ .Values.image }}\n"
        "          securityContext: {privileged: true}\n"
    )
    (chart / "templates" / "jobs.yaml").write_text(
        "apiVersion: v1\n"
        "kind: ConfigMap\n"
        "metadata: {name: jobs}\n"
        "data:\n"
        "  first.yaml: |-\n"
        + _indented(job.replace("NAME", "first"), 4)
        + "  second: |-\n"
        + _indented(job.replace("NAME", "second"), 4)
        + "{{- range $name, $job := .Values.extra }}\n"
        "  {{ $name }}: |-\n"
        "{{ $job | nindent 4 }}\n"
        "{{- end }}\n"
    )
    assert _privileged(tmp_path) == [
        ("charts/jobs/templates/jobs.yaml", 14, 33),
        ("charts/jobs/templates/jobs.yaml", 24, 33),
    ]
