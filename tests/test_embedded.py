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
