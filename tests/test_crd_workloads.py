"""Pods that custom resources make their controllers run are judged as pods.

The same privileged container that fails in a Deployment fails in an Argo Workflow, a Tekton
Task, a training job, a Ray cluster, a Knative or KServe service and a Spark application, at
the line of the real field; what the controller sets itself (Argo's restartPolicy Never,
KubeRay's probes) asks nothing more of the author than a Deployment would.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from gatekeeper.bundle import build_engine
from gatekeeper.config import Config
from gatekeeper.evaluate import Engine
from gatekeeper.finding import Finding
from gatekeeper.inventory import entry
from gatekeeper.policy.loader import builtin_dir, load_bundle
from gatekeeper.sbom import kubernetes_images
from gatekeeper.scanner import scan
from gatekeeper.sources import LoadContext, kubernetes
from gatekeeper.workloads import pod_views
from tests.test_fast_path import plain

POLICIES = load_bundle([builtin_dir()])
BY_ID = {policy.id: policy for policy in POLICIES}
MARK = "# <- judged here"


def findings(manifest: str, *ids: str) -> list[Finding]:
    engine = Engine([BY_ID[i] for i in ids] if ids else POLICIES)
    text = textwrap.dedent(manifest)
    return scan([("crd.yaml", text.encode())], engine, jobs=1, repository=False).findings


def marked(manifest: str) -> list[int]:
    """The lines a fixture marks: where its findings must sit."""
    lines = textwrap.dedent(manifest).splitlines()
    return [number for number, line in enumerate(lines, 1) if MARK in line]


# One privileged container per kind, at the marked line.
PRIVILEGED = {
    "Workflow container": """\
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {generateName: build-}
        spec:
          entrypoint: main
          templates:
            - name: main
              steps:
                - - {name: build, template: build}
            - name: build
              container:
                image: ghcr.io/acme/build:1.0
                securityContext:
                  privileged: true  # <- judged here
        """,
    "WorkflowTemplate script": """\
        apiVersion: argoproj.io/v1alpha1
        kind: WorkflowTemplate
        metadata: {name: t}
        spec:
          templates:
            - name: run
              script:
                image: ghcr.io/acme/python:3.12
                source: print(1)
                securityContext: {privileged: true}  # <- judged here
        """,
    "ClusterWorkflowTemplate containerSet": """\
        apiVersion: argoproj.io/v1alpha1
        kind: ClusterWorkflowTemplate
        metadata: {name: t}
        spec:
          templates:
            - name: run
              containerSet:
                containers:
                  - name: a
                    image: ghcr.io/acme/a:1.0
                  - name: b
                    image: ghcr.io/acme/b:1.0
                    securityContext: {privileged: true}  # <- judged here
        """,
    "CronWorkflow sidecar": """\
        apiVersion: argoproj.io/v1alpha1
        kind: CronWorkflow
        metadata: {name: nightly}
        spec:
          schedule: "0 1 * * *"
          workflowSpec:
            entrypoint: run
            templates:
              - name: run
                container: {image: ghcr.io/acme/a:1.0}
                sidecars:
                  - name: dind
                    image: docker:27-dind
                    securityContext: {privileged: true}  # <- judged here
        """,
    "Workflow init container": """\
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {name: w}
        spec:
          templates:
            - name: run
              container: {image: ghcr.io/acme/a:1.0}
              initContainers:
                - name: setup
                  image: ghcr.io/acme/setup:1.0
                  securityContext: {privileged: true}  # <- judged here
        """,
    "Workflow templateDefaults": """\
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {name: w}
        spec:
          templateDefaults:
            container:
              securityContext: {privileged: true}  # <- judged here
          templates:
            - name: a
              container: {image: ghcr.io/acme/a:1.0}
            - name: b
              container: {image: ghcr.io/acme/b:1.0}
        """,
    "Workflow podSpecPatch": """\
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {name: w}
        spec:
          templates:
            - name: a
              container: {name: main, image: ghcr.io/acme/a:1.0}
              podSpecPatch: |  # <- judged here
                containers:
                  - name: main
                    securityContext: {privileged: true}
        """,
    "Workflow inline step template": """\
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {name: w}
        spec:
          entrypoint: main
          templates:
            - name: main
              steps:
                - - name: a
                    inline:
                      container:
                        image: ghcr.io/acme/a:1.0
                        securityContext: {privileged: true}  # <- judged here
        """,
    "WorkflowTemplate inline DAG task": """\
        apiVersion: argoproj.io/v1alpha1
        kind: WorkflowTemplate
        metadata: {name: w}
        spec:
          templates:
            - name: main
              dag:
                tasks:
                  - name: a
                    inline:
                      script:
                        image: ghcr.io/acme/a:1.0
                        source: "true"
                        securityContext: {privileged: true}  # <- judged here
        """,
    "Workflow resource template creating a Job": """\
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {name: w}
        spec:
          entrypoint: create
          templates:
            - name: create
              resource:
                action: create
                manifest: |  # <- judged here
                  apiVersion: batch/v1
                  kind: Job
                  metadata: {generateName: escape-}
                  spec:
                    template:
                      spec:
                        restartPolicy: Never
                        containers:
                          - name: c
                            image: ghcr.io/acme/a:1.0
                            securityContext: {privileged: true}
        """,
    "Argo Events Sensor": """\
        apiVersion: argoproj.io/v1alpha1
        kind: Sensor
        metadata: {name: s}
        spec:
          template:
            container:
              securityContext: {privileged: true}  # <- judged here
          dependencies: []
        """,
    "Argo Events EventSource volume": """\
        apiVersion: argoproj.io/v1alpha1
        kind: EventSource
        metadata: {name: e}
        spec:
          template:
            volumes:
              - name: host
                hostPath: {path: /}  # <- judged here
          webhook: {}
        """,
    "Task step": """\
        apiVersion: tekton.dev/v1
        kind: Task
        metadata: {name: build}
        spec:
          steps:
            - name: build
              image: ghcr.io/acme/build:1.0
              securityContext: {privileged: true}  # <- judged here
        """,
    "ClusterTask stepTemplate": """\
        apiVersion: tekton.dev/v1beta1
        kind: ClusterTask
        metadata: {name: build}
        spec:
          stepTemplate:
            securityContext: {privileged: true}  # <- judged here
          steps:
            - {name: a, image: ghcr.io/acme/a:1.0}
            - {name: b, image: ghcr.io/acme/b:1.0}
        """,
    "TaskRun taskSpec sidecar": """\
        apiVersion: tekton.dev/v1
        kind: TaskRun
        metadata: {name: run}
        spec:
          taskSpec:
            steps:
              - {name: a, image: ghcr.io/acme/a:1.0}
            sidecars:
              - name: dind
                image: docker:27-dind
                securityContext: {privileged: true}  # <- judged here
        """,
    "Pipeline finally taskSpec": """\
        apiVersion: tekton.dev/v1
        kind: Pipeline
        metadata: {name: p}
        spec:
          tasks:
            - name: ok
              taskSpec:
                steps:
                  - {name: a, image: ghcr.io/acme/a:1.0}
          finally:
            - name: cleanup
              taskSpec:
                steps:
                  - name: rm
                    image: ghcr.io/acme/rm:1.0
                    securityContext: {privileged: true}  # <- judged here
        """,
    "PipelineRun pipelineSpec": """\
        apiVersion: tekton.dev/v1
        kind: PipelineRun
        metadata: {name: r}
        spec:
          pipelineSpec:
            tasks:
              - name: build
                taskSpec:
                  steps:
                    - name: a
                      image: ghcr.io/acme/a:1.0
                      securityContext: {privileged: true}  # <- judged here
        """,
    **{
        f"{kind} replica": f"""\
        apiVersion: kubeflow.org/v1
        kind: {kind}
        metadata: {{name: train}}
        spec:
          {key}:
            Worker:
              replicas: 2
              template:
                spec:
                  containers:
                    - name: worker
                      image: ghcr.io/acme/train:1.0
                      securityContext: {{privileged: true}}  # <- judged here
        """
        for kind, key in (
            ("PyTorchJob", "pytorchReplicaSpecs"),
            ("TFJob", "tfReplicaSpecs"),
            ("MPIJob", "mpiReplicaSpecs"),
            ("XGBoostJob", "xgbReplicaSpecs"),
            ("PaddleJob", "paddleReplicaSpecs"),
            ("JAXJob", "jaxReplicaSpecs"),
        )
    },
    "Notebook": """\
        apiVersion: kubeflow.org/v1
        kind: Notebook
        metadata: {name: nb}
        spec:
          template:
            spec:
              containers:
                - name: nb
                  image: ghcr.io/acme/jupyter:1.0
                  securityContext: {privileged: true}  # <- judged here
        """,
    "RayCluster worker group": """\
        apiVersion: ray.io/v1
        kind: RayCluster
        metadata: {name: ray}
        spec:
          headGroupSpec:
            template:
              spec:
                containers:
                  - {name: ray-head, image: ghcr.io/acme/ray:2.9}
          workerGroupSpecs:
            - groupName: small
              template:
                spec:
                  containers:
                    - name: ray-worker
                      image: ghcr.io/acme/ray:2.9
                      securityContext: {privileged: true}  # <- judged here
        """,
    "RayJob head group": """\
        apiVersion: ray.io/v1
        kind: RayJob
        metadata: {name: job}
        spec:
          entrypoint: python run.py
          rayClusterSpec:
            headGroupSpec:
              template:
                spec:
                  containers:
                    - name: ray-head
                      image: ghcr.io/acme/ray:2.9
                      securityContext: {privileged: true}  # <- judged here
        """,
    "RayService head group": """\
        apiVersion: ray.io/v1
        kind: RayService
        metadata: {name: svc}
        spec:
          rayClusterConfig:
            headGroupSpec:
              template:
                spec:
                  containers:
                    - name: ray-head
                      image: ghcr.io/acme/ray:2.9
                      securityContext: {privileged: true}  # <- judged here
        """,
    "Knative Service": """\
        apiVersion: serving.knative.dev/v1
        kind: Service
        metadata: {name: hello}
        spec:
          template:
            spec:
              containers:
                - image: ghcr.io/acme/hello:1.0
                  securityContext: {privileged: true}  # <- judged here
        """,
    "Knative Configuration": """\
        apiVersion: serving.knative.dev/v1
        kind: Configuration
        metadata: {name: hello}
        spec:
          template:
            spec:
              containers:
                - image: ghcr.io/acme/hello:1.0
                  securityContext: {privileged: true}  # <- judged here
        """,
    "InferenceService model": """\
        apiVersion: serving.kserve.io/v1beta1
        kind: InferenceService
        metadata: {name: iris}
        spec:
          predictor:
            sklearn:
              storageUri: gs://acme/models/iris
              securityContext: {privileged: true}  # <- judged here
        """,
    "InferenceService transformer containers": """\
        apiVersion: serving.kserve.io/v1beta1
        kind: InferenceService
        metadata: {name: iris}
        spec:
          predictor:
            model: {modelFormat: {name: sklearn}, storageUri: gs://acme/models/iris}
          transformer:
            containers:
              - image: ghcr.io/acme/transformer:1.0
                securityContext: {privileged: true}  # <- judged here
        """,
    "ServingRuntime": """\
        apiVersion: serving.kserve.io/v1alpha1
        kind: ServingRuntime
        metadata: {name: rt}
        spec:
          containers:
            - name: kserve-container
              image: ghcr.io/acme/server:1.0
              securityContext: {privileged: true}  # <- judged here
        """,
    "ClusterServingRuntime": """\
        apiVersion: serving.kserve.io/v1alpha1
        kind: ClusterServingRuntime
        metadata: {name: rt}
        spec:
          containers:
            - name: kserve-container
              image: ghcr.io/acme/server:1.0
              securityContext: {privileged: true}  # <- judged here
        """,
    "SparkApplication driver": """\
        apiVersion: sparkoperator.k8s.io/v1beta2
        kind: SparkApplication
        metadata: {name: pi}
        spec:
          image: ghcr.io/acme/spark:3.5
          driver:
            cores: 1
            securityContext: {privileged: true}  # <- judged here
          executor:
            instances: 2
        """,
    "StepAction": """\
        apiVersion: tekton.dev/v1beta1
        kind: StepAction
        metadata: {name: git-clone}
        spec:
          image: ghcr.io/acme/git:1.0
          securityContext: {privileged: true}  # <- judged here
        """,
    "JobSet": """\
        apiVersion: jobset.x-k8s.io/v1alpha2
        kind: JobSet
        metadata: {name: js}
        spec:
          replicatedJobs:
            - name: workers
              template:
                spec:
                  template:
                    spec:
                      containers:
                        - name: w
                          image: ghcr.io/acme/w:1.0
                          securityContext: {privileged: true}  # <- judged here
        """,
    "ClusterTrainingRuntime": """\
        apiVersion: trainer.kubeflow.org/v1alpha1
        kind: ClusterTrainingRuntime
        metadata: {name: torch}
        spec:
          template:
            spec:
              replicatedJobs:
                - name: node
                  template:
                    spec:
                      template:
                        spec:
                          containers:
                            - name: node
                              image: ghcr.io/acme/torch:1.0
                              securityContext: {privileged: true}  # <- judged here
        """,
    "LeaderWorkerSet worker": """\
        apiVersion: leaderworkerset.x-k8s.io/v1
        kind: LeaderWorkerSet
        metadata: {name: lws}
        spec:
          leaderWorkerTemplate:
            size: 4
            workerTemplate:
              spec:
                containers:
                  - name: w
                    image: ghcr.io/acme/w:1.0
                    securityContext: {privileged: true}  # <- judged here
        """,
    "Volcano Job": """\
        apiVersion: batch.volcano.sh/v1alpha1
        kind: Job
        metadata: {name: vj}
        spec:
          tasks:
            - name: t
              replicas: 2
              template:
                spec:
                  containers:
                    - name: w
                      image: ghcr.io/acme/w:1.0
                      securityContext: {privileged: true}  # <- judged here
        """,
    "Kruise CloneSet": """\
        apiVersion: apps.kruise.io/v1alpha1
        kind: CloneSet
        metadata: {name: cs}
        spec:
          template:
            spec:
              containers:
                - name: w
                  image: ghcr.io/acme/w:1.0
                  securityContext: {privileged: true}  # <- judged here
        """,
    "Kruise SidecarSet": """\
        apiVersion: apps.kruise.io/v1alpha1
        kind: SidecarSet
        metadata: {name: ss}
        spec:
          selector: {matchLabels: {app: web}}
          containers:
            - name: agent
              image: ghcr.io/acme/agent:1.0
              securityContext: {privileged: true}  # <- judged here
        """,
    "FlinkDeployment task manager": """\
        apiVersion: flink.apache.org/v1beta1
        kind: FlinkDeployment
        metadata: {name: f}
        spec:
          taskManager:
            podTemplate:
              spec:
                containers:
                  - name: flink-main-container
                    securityContext: {privileged: true}  # <- judged here
        """,
    "SparkApplication driver pod template": """\
        apiVersion: sparkoperator.k8s.io/v1beta2
        kind: SparkApplication
        metadata: {name: pi}
        spec:
          image: ghcr.io/acme/spark:3.5
          driver:
            cores: 1
            template:
              spec:
                containers:
                  - name: spark-kubernetes-driver
                    securityContext: {privileged: true}  # <- judged here
        """,
    "ScheduledSparkApplication executor sidecar": """\
        apiVersion: sparkoperator.k8s.io/v1beta2
        kind: ScheduledSparkApplication
        metadata: {name: pi}
        spec:
          schedule: "@every 1h"
          template:
            image: ghcr.io/acme/spark:3.5
            executor:
              sidecars:
                - name: proxy
                  image: ghcr.io/acme/proxy:1.0
                  securityContext: {privileged: true}  # <- judged here
        """,
    "GitHub Actions AutoscalingRunnerSet runner and listener": """\
        apiVersion: actions.github.com/v1alpha1
        kind: AutoscalingRunnerSet
        metadata: {name: arc-runners}
        spec:
          githubConfigUrl: https://github.com/acme
          template:
            spec:
              containers:
                - name: runner
                  image: ghcr.io/actions/actions-runner:2.320.0
                  securityContext: {privileged: true}  # <- judged here
          listenerTemplate:
            spec:
              containers:
                - name: listener
                  securityContext: {privileged: true}  # <- judged here
        """,
    "GitHub Actions EphemeralRunnerSet runner": """\
        apiVersion: actions.github.com/v1alpha1
        kind: EphemeralRunnerSet
        metadata: {name: arc-runners}
        spec:
          ephemeralRunnerSpec:
            template:
              spec:
                containers:
                  - name: runner
                    image: ghcr.io/actions/actions-runner:2.320.0
                    securityContext: {privileged: true}  # <- judged here
        """,
}


@pytest.mark.parametrize("manifest", PRIVILEGED.values(), ids=PRIVILEGED.keys())
def test_a_privileged_container_fails_in_every_kind_that_runs_pods(manifest: str) -> None:
    found = findings(manifest, "K8S-PSS-PRIVILEGED", "K8S-PSS-HOST-PATH")
    assert [finding.line for finding in found] == marked(manifest)
    assert all(finding.file == "crd.yaml" for finding in found)


# Pod-level settings, at the marked line.
POD_LEVEL = {
    "Argo workflow hostNetwork": """\
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {name: w}
        spec:
          hostNetwork: true  # <- judged here
          templates:
            - {name: a, container: {image: ghcr.io/acme/a:1.0}}
            - {name: b, script: {image: ghcr.io/acme/b:1.0, source: "true"}}
        """,
    "Argo workflow podSpecPatch hostPID": """\
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {name: w}
        spec:
          podSpecPatch: '{"hostPID": true}'  # <- judged here
          templates:
            - {name: a, container: {image: ghcr.io/acme/a:1.0}}
        """,
    "Workflow of a referenced WorkflowTemplate": """\
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {generateName: run-}
        spec:
          workflowTemplateRef: {name: build}
          hostNetwork: true  # <- judged here
        """,
    "PipelineRun podTemplate of one task": """\
        apiVersion: tekton.dev/v1
        kind: PipelineRun
        metadata: {name: r}
        spec:
          pipelineRef: {name: build}
          taskRunSpecs:
            - pipelineTaskName: push
              podTemplate:
                hostNetwork: true  # <- judged here
        """,
    "PipelineRun podTemplate of a referenced pipeline": """\
        apiVersion: tekton.dev/v1
        kind: PipelineRun
        metadata: {name: r}
        spec:
          pipelineRef: {name: build}
          taskRunTemplate:
            podTemplate:
              hostNetwork: true  # <- judged here
        """,
    "TaskRun podTemplate": """\
        apiVersion: tekton.dev/v1beta1
        kind: TaskRun
        metadata: {name: r}
        spec:
          taskRef: {name: build}
          podTemplate:
            hostNetwork: true  # <- judged here
        """,
    "InferenceService predictor": """\
        apiVersion: serving.kserve.io/v1beta1
        kind: InferenceService
        metadata: {name: iris}
        spec:
          predictor:
            hostNetwork: true  # <- judged here
            model: {modelFormat: {name: sklearn}, storageUri: gs://acme/models/iris}
        """,
    "SparkApplication executor pod template": """\
        apiVersion: sparkoperator.k8s.io/v1beta2
        kind: SparkApplication
        metadata: {name: pi}
        spec:
          image: ghcr.io/acme/spark:3.5
          executor:
            template:
              spec:
                hostPID: true  # <- judged here
        """,
    "SparkApplication executor": """\
        apiVersion: sparkoperator.k8s.io/v1beta2
        kind: SparkApplication
        metadata: {name: pi}
        spec:
          image: ghcr.io/acme/spark:3.5
          driver: {cores: 1}
          executor:
            hostNetwork: true  # <- judged here
        """,
}


@pytest.mark.parametrize("manifest", POD_LEVEL.values(), ids=POD_LEVEL.keys())
def test_host_namespaces_fail_once_at_the_field_that_sets_them(manifest: str) -> None:
    found = findings(manifest, "K8S-PSS-HOST-NAMESPACES")
    assert [finding.line for finding in found] == marked(manifest)


def test_a_core_service_with_a_template_field_is_no_workload() -> None:
    manifest = """\
        apiVersion: v1
        kind: Service
        metadata: {name: web}
        spec:
          ports: [{port: 80}]
          template:
            spec:
              containers:
                - name: x
                  securityContext: {privileged: true}
        """
    pod_policies = [policy.id for policy in POLICIES if policy.pod_policy]
    assert findings(manifest, *pod_policies) == []


def test_an_argo_template_is_judged_like_a_pod_of_a_job_no_more() -> None:
    """No probes asked of a batch step (Argo runs it with restartPolicy Never); steps, DAGs
    and suspends run no pod of the author's."""
    manifest = """\
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {name: w}
        spec:
          entrypoint: main
          templates:
            - name: main
              dag:
                tasks:
                  - {name: a, template: run}
            - name: wait
              suspend: {}
            - name: run
              container:
                image: ghcr.io/acme/a:1.0
        """
    found = findings(manifest)
    assert found
    assert {
        f.path.split(".")[:3] == ["spec", "templates[2]", "container"]
        or f.path == "spec.templates[2].automountServiceAccountToken"
        for f in found
    } == {True}
    assert not {"K8S-POD-LIVENESS-PROBE", "K8S-POD-READINESS-PROBE"} & {f.policy_id for f in found}


def test_a_field_shared_by_every_template_is_one_finding() -> None:
    manifest = """\
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {name: w}
        spec:
          securityContext: {runAsUser: 0}
          templates:
            - {name: a, container: {image: ghcr.io/acme/a:1.0}}
            - {name: b, container: {image: ghcr.io/acme/b:1.0}}
            - {name: c, container: {image: ghcr.io/acme/c:1.0}}
        """
    found = findings(manifest, "K8S-PSS-RUN-AS-USER")
    assert [(f.line, f.path) for f in found] == [(5, "spec.securityContext.runAsUser")]


def test_tekton_compute_resources_are_a_containers_resources() -> None:
    manifest = """\
        apiVersion: tekton.dev/v1
        kind: Task
        metadata: {name: build}
        spec:
          steps:
            - name: sized
              image: ghcr.io/acme/a:1.0
              computeResources:
                requests: {cpu: 100m, memory: 64Mi}
                limits: {cpu: 200m, memory: 64Mi}
            - name: unsized
              image: ghcr.io/acme/b:1.0
            - name: half
              image: ghcr.io/acme/c:1.0
              computeResources:
                requests: {cpu: 100m, memory: 64Mi}
        """
    found = findings(manifest, "K8S-POD-RESOURCES")
    assert [(f.line, f.path) for f in found] == [
        (11, "spec.steps[1].computeResources"),
        (15, "spec.steps[2].computeResources"),
    ]
    unnamed = manifest.replace("- name: unsized\n              image:", "- image:")
    found = findings(unnamed, "K8S-POD-RESOURCES")
    assert found[0].message == (
        "container unnamed-1 does not set resources"
        " requests.cpu, requests.memory, limits.cpu, limits.memory"
    )


def test_a_tekton_step_of_a_step_action_is_judged_at_the_step_action() -> None:
    manifest = """\
        apiVersion: tekton.dev/v1
        kind: Task
        metadata: {name: build}
        spec:
          steps:
            - name: clone
              ref: {name: git-clone}
            - name: build
              image: ghcr.io/acme/a@sha256:DIGEST
        """.replace("DIGEST", "0" * 64)
    assert findings(manifest, "K8S-IMAGE-DIGEST", "K8S-IMAGE-ALLOWED-REGISTRY") == []


def test_tekton_step_template_env_is_judged_at_the_template() -> None:
    manifest = """\
        apiVersion: tekton.dev/v1
        kind: Task
        metadata: {name: build}
        spec:
          stepTemplate:
            env:
              - {name: API_TOKEN, value: ghp_0123456789abcdefghijklmnopqrstuvwxyzAB}
          steps:
            - {name: a, image: ghcr.io/acme/a:1.0}
            - {name: b, image: ghcr.io/acme/b:1.0, env: [{name: OTHER, value: x}]}
        """
    found = findings(manifest, "K8S-POD-ENV-SECRETS")
    assert [(f.line, f.path) for f in found] == [(7, "spec.stepTemplate.env[0].value")]


def test_a_tekton_step_image_naming_a_param_is_the_value_the_param_gets() -> None:
    """`image: $(params.BUILDER_IMAGE)` (Tekton's own examples, the catalog's kaniko and
    buildah tasks) was judged as the text: "has no tag" and "comes from Docker Hub", blocking
    whatever the default. Tekton fills it in: the task's default, or what the run or the
    pipeline passes, judged at the line that writes that value. A param no one gives a
    value stays judged as written."""
    task = """\
        apiVersion: tekton.dev/v1
        kind: Task
        metadata: {name: build}
        spec:
          params:
            - name: BUILDER_IMAGE
              default: gcr.io/kaniko-project/executor:v1.8.1
            - {name: TOOLS}
          steps:
            - {name: build, image: $(params.BUILDER_IMAGE)}
            - {name: tools, image: "$(params['TOOLS'])"}  # <- judged here
        """
    ids = ("K8S-IMAGE-TAG-PINNED", "K8S-IMAGE-ALLOWED-REGISTRY")
    assert sorted((f.policy_id, f.line) for f in findings(task, *ids)) == [
        ("K8S-IMAGE-ALLOWED-REGISTRY", marked(task)[0]),
        ("K8S-IMAGE-TAG-PINNED", marked(task)[0]),
    ]
    run = """\
        apiVersion: tekton.dev/v1
        kind: PipelineRun
        metadata: {name: release}
        spec:
          params:
            - {name: image, value: "docker.io/acme/kaniko:latest"}  # <- judged here
          pipelineSpec:
            params:
              - {name: image, default: gcr.io/kaniko-project/executor:v1.8.1}
            tasks:
              - name: build
                params:
                  - {name: BUILDER_IMAGE, value: $(params.image)}
                taskSpec:
                  params:
                    - {name: BUILDER_IMAGE, default: gcr.io/kaniko-project/executor:v1.8.1}
                  steps:
                    - {name: build, image: $(params.BUILDER_IMAGE)}
        """
    found = findings(run, *ids)
    assert sorted((f.policy_id, f.line) for f in found) == [
        ("K8S-IMAGE-ALLOWED-REGISTRY", marked(run)[0]),
        ("K8S-IMAGE-TAG-PINNED", marked(run)[0]),
    ]
    assert "docker.io/acme/kaniko:latest" in found[0].message
    from_template = """\
        apiVersion: tekton.dev/v1
        kind: TaskRun
        metadata: {generateName: hello-}
        spec:
          params:
            - {name: image, value: ubuntu}  # <- judged here
          taskSpec:
            params:
              - {name: image}
            stepTemplate: {image: $(params.image)}
            steps:
              - {name: a, script: echo}
        """
    found = findings(from_template, "K8S-IMAGE-TAG-PINNED")
    assert [(f.line, f.message.split(" of ")[0]) for f in found] == [
        (marked(from_template)[0], "image ubuntu")
    ]


def test_an_argo_template_image_naming_a_parameter_is_the_value_it_gets() -> None:
    """`image: "{{inputs.parameters.image}}"` was judged as the text ("has no tag", "comes
    from Docker Hub", blocking). Argo fills it in: the template input's value or default
    (filled from the workflow's arguments where it names one), judged where that is
    written; a parameter with no value written stays judged as written."""
    manifest = """\
        apiVersion: argoproj.io/v1alpha1
        kind: WorkflowTemplate
        metadata: {name: build}
        spec:
          arguments:
            parameters:
              - {name: tools, value: "docker.io/acme/tools:latest"}  # <- judged here
          templates:
            - name: build
              inputs:
                parameters:
                  - {name: image, default: ghcr.io/acme/builder:1.0}
              container: {image: "{{inputs.parameters.image}}"}
            - name: tools
              inputs:
                parameters:
                  - {name: image, value: "{{workflow.parameters.tools}}"}
              script: {image: "{{inputs.parameters.image}}", source: echo}
            - name: free
              inputs:
                parameters:
                  - {name: image}
              container: {image: "{{inputs.parameters.image}}"}  # <- judged here
        """
    found = findings(manifest, "K8S-IMAGE-TAG-PINNED")
    assert [f.line for f in found] == marked(manifest)
    assert "docker.io/acme/tools:latest" in found[0].message
    # A step calling a template passes its input: that value runs, judged where it is
    # written; callers passing different values leave the image judged as written.
    called = """\
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {generateName: build-}
        spec:
          entrypoint: main
          templates:
            - name: main
              steps:
                - - name: a
                    template: build
                    arguments:
                      parameters:
                        - {name: image, value: "docker.io/acme/builder:latest"}  # <- judged here
            - name: build
              inputs:
                parameters:
                  - {name: image}
              container: {image: "{{inputs.parameters.image}}"}
            - name: twice
              inputs:
                parameters:
                  - {name: image, default: ghcr.io/acme/builder:1.0}
              container: {image: "{{inputs.parameters.image}}"}  # <- judged here
            - name: callers
              dag:
                tasks:
                  - {name: b, template: twice}
                  - name: c
                    template: twice
                    arguments: {parameters: [{name: image, value: "ghcr.io/acme/other"}]}
        """
    found = findings(called, "K8S-IMAGE-TAG-PINNED")
    assert [f.line for f in found] == marked(called)


def test_controller_probes_and_names_are_not_asked_of_the_author() -> None:
    """KubeRay gives the Ray container its probes, Knative a readiness probe and the name
    user-container: a rule reads them as the controller will set them."""
    ray = """\
        apiVersion: ray.io/v1
        kind: RayCluster
        metadata: {name: ray}
        spec:
          headGroupSpec:
            template:
              spec:
                containers:
                  - {name: ray-head, image: ghcr.io/acme/ray:2.9}
        """
    assert findings(ray, "K8S-POD-LIVENESS-PROBE", "K8S-POD-READINESS-PROBE") == []
    knative = """\
        apiVersion: serving.knative.dev/v1
        kind: Service
        metadata: {name: hello}
        spec:
          template:
            spec:
              containers:
                - image: ghcr.io/acme/hello:1.0
        """
    found = findings(knative, "K8S-POD-LIVENESS-PROBE", "K8S-POD-READINESS-PROBE")
    assert [(f.policy_id, f.message) for f in found] == [
        ("K8S-POD-LIVENESS-PROBE", "container user-container has no liveness probe")
    ]


def test_kserve_default_resources_are_not_asked_of_the_author() -> None:
    manifest = """\
        apiVersion: serving.kserve.io/v1beta1
        kind: InferenceService
        metadata: {name: iris}
        spec:
          predictor:
            sklearn: {storageUri: gs://acme/models/iris}
          transformer:
            containers:
              - image: ghcr.io/acme/transformer:1.0
              - name: extra
                image: ghcr.io/acme/extra:1.0
        """
    found = findings(manifest, "K8S-POD-RESOURCES", "K8S-POD-READINESS-PROBE")
    assert [(f.policy_id, f.line) for f in found] == [
        ("K8S-POD-RESOURCES", 10),
        ("K8S-POD-READINESS-PROBE", 10),
    ]


def test_spark_resources_come_from_cores_memory_and_core_limit() -> None:
    manifest = """\
        apiVersion: sparkoperator.k8s.io/v1beta2
        kind: SparkApplication
        metadata: {name: pi}
        spec:
          image: ghcr.io/acme/spark:3.5
          driver: {cores: 1, coreLimit: 1200m, memory: 512m}
          executor:
            cores: 2
        """
    found = findings(manifest, "K8S-POD-RESOURCES")
    assert [(f.line, f.path) for f in found] == [(7, "spec.executor.coreLimit")]


def test_ephemeral_and_init_containers_of_custom_resources_are_judged() -> None:
    manifest = """\
        apiVersion: ray.io/v1
        kind: RayCluster
        metadata: {name: ray}
        spec:
          headGroupSpec:
            template:
              spec:
                initContainers:
                  - {name: init, image: ghcr.io/acme/i:1.0, securityContext: {privileged: true}}
                ephemeralContainers:
                  - {name: dbg, image: ghcr.io/acme/d:1.0, securityContext: {privileged: true}}
                containers:
                  - {name: ray-head, image: ghcr.io/acme/ray:2.9}
        """
    found = findings(manifest, "K8S-PSS-PRIVILEGED")
    assert [f.line for f in found] == [9, 11]


def test_custom_workloads_need_a_network_policy_and_core_services_do_not() -> None:
    manifest = """\
        apiVersion: serving.knative.dev/v1
        kind: Service
        metadata: {name: hello, namespace: apps}
        spec:
          template:
            spec:
              containers: [{image: ghcr.io/acme/hello:1.0}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: web, namespace: web}
        spec:
          ports: [{port: 80}]
        ---
        apiVersion: tekton.dev/v1
        kind: Task
        metadata: {name: build, namespace: ci}
        spec:
          steps: [{name: a, image: ghcr.io/acme/a:1.0}]
        """
    documents = kubernetes.load(
        "m.yaml", textwrap.dedent(manifest).encode(), LoadContext()
    ).documents
    engine = Engine([BY_ID["K8S-NETWORK-POLICY-PRESENT"]])
    found = engine.evaluate_repository([entry(document) for document in documents])
    assert [(f.policy_id, f.namespace) for f in found] == [("K8S-NETWORK-POLICY-PRESENT", "apps")]


def test_images_of_custom_resources_are_in_the_sbom() -> None:
    manifest = PRIVILEGED["CronWorkflow sidecar"]
    (document,) = kubernetes.load(
        "m.yaml", textwrap.dedent(manifest).encode(), LoadContext()
    ).documents
    assert kubernetes_images(document) == [
        ("ghcr.io/acme/a:1.0", ("spec", "workflowSpec", "templates", 0, "container", "image")),
        ("docker:27-dind", ("spec", "workflowSpec", "templates", 0, "sidecars", 0, "image")),
    ]


def test_a_pod_spec_patch_that_is_an_expression_is_not_a_traceback() -> None:
    obj = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "spec": {
            "podSpecPatch": "{{inputs.parameters.patch}}: [",
            "templates": [{"name": "a", "container": {"image": "x"}}, "junk", None],
        },
    }
    (view,) = pod_views(obj)
    assert view.pod["spec"]["containers"] == [{"image": "x", "name": "main"}]


@pytest.mark.parametrize(
    "manifest", [*PRIVILEGED.values(), *POD_LEVEL.values()], ids=[*PRIVILEGED, *POD_LEVEL]
)
def test_the_fast_path_gives_what_the_plain_path_gives(manifest: str) -> None:
    engine = Engine(POLICIES)
    text = textwrap.dedent(manifest).encode()
    for document in kubernetes.load("m.yaml", text, LoadContext()).documents:
        assert engine.evaluate(document) == plain(engine, document)


def test_a_repository_rule_for_every_kind_still_sees_every_kind(tmp_path: Path) -> None:
    """Only a Pod rule skips objects that run no pods (a core Service)."""
    (tmp_path / "every.yaml").write_text(
        "id: R-EVERY\ntitle: a repository rule\nseverity: low\n"
        "description: every object\nremediation: none\n"
        "scope: repository\nmatch: {source: kubernetes}\n"
        'rule: "false"\nmessage: "{{ item.kind }}"\n'
    )
    engine = build_engine(Config(), [str(tmp_path)], builtin=False)
    text = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
    text += "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
    documents = kubernetes.load("m.yaml", text.encode(), LoadContext()).documents
    found = engine.evaluate_repository([entry(document) for document in documents])
    assert sorted(f.message for f in found) == ["ConfigMap", "Service"]


def test_an_argo_template_runs_as_its_service_account() -> None:
    """argoproj-deployments: a template (or its workflow) naming `serviceAccountName` was
    said to mount "the API token of service account default": the pod runs as the account
    the template names, else the workflow's."""
    manifest = """\
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {name: w}
        spec:
          entrypoint: a
          serviceAccountName: runner
          templates:
            - name: a
              container: {image: ghcr.io/acme/a:1.0}
            - name: b
              serviceAccountName: deployer
              container: {image: ghcr.io/acme/b:1.0}
        """
    said = sorted(f.message for f in findings(manifest, "K8S-POD-AUTOMOUNT-TOKEN"))
    assert said == [
        "the pod mounts the API token of service account deployer",
        "the pod mounts the API token of service account runner",
    ]


def test_a_policy_s_locate_paths_move_the_line_not_the_fingerprint() -> None:
    """K8S-ADMISSION-POD-SECURITY pointed at the Namespace's `metadata:` and the Flux
    OCIRepository rule at `ref:`: their `field` is what the fingerprint keeps (the admission
    policy asks for reviewed namespaces to be waived). `locate:` says the line of the field
    that decides (the enforce label, the semver or tag), the path and fingerprint unchanged."""
    import dataclasses

    manifest = """\
        apiVersion: v1
        kind: Namespace
        metadata:
          name: agents
          labels:
            team: infra
            pod-security.kubernetes.io/enforce: privileged  # <- judged here
        ---
        apiVersion: source.toolkit.fluxcd.io/v1
        kind: OCIRepository
        metadata: {name: podinfo}
        spec:
          interval: 5m
          url: oci://ghcr.io/x/podinfo
          ref:
            semver: ">=6.0.0"  # <- judged here
        """
    ids = ("K8S-ADMISSION-POD-SECURITY", "GITOPS-FLUX-OCIREPOSITORY-PINNED")
    located = findings(manifest, *ids)
    assert [f.line for f in located] == marked(manifest)
    assert [f.path for f in located] == ["metadata", "spec.ref"]
    plain = Engine([dataclasses.replace(BY_ID[i], locate_paths=()) for i in ids])
    text = textwrap.dedent(manifest).encode()
    before = scan([("crd.yaml", text)], plain, jobs=1, repository=False).findings
    assert [f.line for f in before] == [3, 15]
    assert [f.fingerprint for f in before] == [f.fingerprint for f in located]
