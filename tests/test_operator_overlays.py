"""Custom resources that are overlays of an operator's own pods are judged for what they write.

ECK's `podTemplate`, a Prometheus spec's pod fields, an OpenTelemetryCollector's settings...
are merged by their operator over a pod it builds itself: what the overlay writes reaches the
pod (a privileged flag, a hostPath, the host network, a root UID) and fails at its line, as it
would in a Deployment; what it leaves out (resources, probes, runAsNonRoot, an image) is the
operator's to fill and is asked of nobody (red team r25).
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.bundle import build_engine
from gatekeeper.config import Config
from gatekeeper.sources import LoadContext, kubernetes
from gatekeeper.workloads import pod_views, runs_pods
from tests.test_crd_workloads import findings, marked
from tests.test_crd_workloads import (
    test_the_fast_path_gives_what_the_plain_path_gives as same_on_both_paths,
)

# Policies about what a pod has: each fails on a field written with a bad value.
PRESENCE = (
    "K8S-PSS-PRIVILEGED",
    "K8S-PSS-HOST-PATH",
    "K8S-PSS-HOST-NAMESPACES",
    "K8S-PSS-CAPABILITIES",
    "K8S-PSS-RUN-AS-USER",
    "K8S-PSS-HOST-PORTS",
    "K8S-PSS-PRIVILEGE-ESCALATION",
    "K8S-PSS-APPARMOR-ANNOTATIONS",
)

# One overlay per operator kind, each bad field at a marked line.
WRITTEN = {
    "Elasticsearch nodeSets podTemplate": """\
        apiVersion: elasticsearch.k8s.elastic.co/v1
        kind: Elasticsearch
        metadata: {name: es}
        spec:
          version: 8.15.0
          nodeSets:
            - name: default
              count: 1
            - name: hot
              count: 3
              podTemplate:
                spec:
                  initContainers:
                    - name: sysctl
                      securityContext: {privileged: true}  # <- judged here
        """,
    "Kibana podTemplate": """\
        apiVersion: kibana.k8s.elastic.co/v1
        kind: Kibana
        metadata: {name: kb}
        spec:
          version: 8.15.0
          podTemplate:
            spec:
              hostNetwork: true  # <- judged here
              containers:
                - name: kibana
                  securityContext:
                    allowPrivilegeEscalation: true  # <- judged here
        """,
    "Beat daemonSet podTemplate": """\
        apiVersion: beat.k8s.elastic.co/v1beta1
        kind: Beat
        metadata: {name: filebeat}
        spec:
          type: filebeat
          version: 8.15.0
          daemonSet:
            podTemplate:
              spec:
                securityContext: {runAsUser: 0}  # <- judged here
                volumes:
                  - name: varlog
                    hostPath: {path: /var/log}  # <- judged here
        """,
    "Agent deployment podTemplate": """\
        apiVersion: agent.k8s.elastic.co/v1alpha1
        kind: Agent
        metadata: {name: fleet}
        spec:
          version: 8.15.0
          deployment:
            podTemplate:
              spec:
                containers:
                  - name: agent
                    securityContext:
                      capabilities: {add: [SYS_ADMIN]}  # <- judged here
        """,
    "Prometheus spec": """\
        apiVersion: monitoring.coreos.com/v1
        kind: Prometheus
        metadata: {name: k8s}
        spec:
          hostNetwork: true  # <- judged here
          securityContext: {runAsUser: 0}  # <- judged here
          containers:
            - name: prometheus
              securityContext: {privileged: true}  # <- judged here
          volumes:
            - {name: host, hostPath: {path: /}}  # <- judged here
        """,
    "Alertmanager initContainers": """\
        apiVersion: monitoring.coreos.com/v1
        kind: Alertmanager
        metadata: {name: main}
        spec:
          replicas: 3
          initContainers:
            - name: setup
              image: ghcr.io/acme/setup:1.0
              securityContext: {privileged: true}  # <- judged here
        """,
    "PrometheusAgent hostNetwork": """\
        apiVersion: monitoring.coreos.com/v1alpha1
        kind: PrometheusAgent
        metadata: {name: agent}
        spec:
          hostNetwork: true  # <- judged here
        """,
    "ThanosRuler container": """\
        apiVersion: monitoring.coreos.com/v1
        kind: ThanosRuler
        metadata: {name: ruler}
        spec:
          containers:
            - name: thanos-ruler
              ports:
                - {containerPort: 10902, hostPort: 10902}  # <- judged here
        """,
    "OpenTelemetryCollector settings": """\
        apiVersion: opentelemetry.io/v1beta1
        kind: OpenTelemetryCollector
        metadata: {name: otel}
        spec:
          mode: daemonset
          hostNetwork: true  # <- judged here
          securityContext: {privileged: true}  # <- judged here
          podSecurityContext: {runAsUser: 0}  # <- judged here
          volumes:
            - {name: root, hostPath: {path: /}}  # <- judged here
          additionalContainers:
            - name: helper
              image: ghcr.io/acme/helper:1.0
              securityContext: {privileged: true}  # <- judged here
          config: {receivers: {}, exporters: {}, service: {pipelines: {}}}
        """,
    "OpenTelemetryCollector v1alpha1 hostPID": """\
        apiVersion: opentelemetry.io/v1alpha1
        kind: OpenTelemetryCollector
        metadata: {name: otel}
        spec:
          hostPID: true  # <- judged here
          config: |
            receivers: {}
        """,
    "OpenTelemetryCollector target allocator": """\
        apiVersion: opentelemetry.io/v1beta1
        kind: OpenTelemetryCollector
        metadata: {name: otel}
        spec:
          mode: statefulset
          targetAllocator:
            enabled: true
            securityContext: {privileged: true}  # <- judged here
          config: {receivers: {}, exporters: {}, service: {pipelines: {}}}
        """,
    "Crossplane DeploymentRuntimeConfig": """\
        apiVersion: pkg.crossplane.io/v1beta1
        kind: DeploymentRuntimeConfig
        metadata: {name: provider-aws}
        spec:
          deploymentTemplate:
            spec:
              selector: {}
              template:
                spec:
                  hostNetwork: true  # <- judged here
                  containers:
                    - name: package-runtime
                      securityContext: {privileged: true}  # <- judged here
        """,
    "Crossplane ControllerConfig": """\
        apiVersion: pkg.crossplane.io/v1alpha1
        kind: ControllerConfig
        metadata: {name: provider-aws}
        spec:
          podSecurityContext: {runAsUser: 0}  # <- judged here
          securityContext: {privileged: true}  # <- judged here
        """,
    "RunnerDeployment dockerd in the runner": """\
        apiVersion: actions.summerwind.dev/v1alpha1
        kind: RunnerDeployment
        metadata: {name: runners}
        spec:
          template:
            spec:
              repository: acme/app
              dockerdWithinRunnerContainer: true  # <- judged here
              securityContext: {runAsUser: 0}  # <- judged here
        """,
    "RunnerDeployment docker sidecar": """\
        apiVersion: actions.summerwind.dev/v1alpha1
        kind: RunnerDeployment
        metadata: {name: runners}
        spec:
          template:
            spec:  # <- judged here
              repository: acme/app
        """,
    "RunnerDeployment dockerEnabled sidecar": """\
        apiVersion: actions.summerwind.dev/v1alpha1
        kind: RunnerDeployment
        metadata: {name: runners}
        spec:
          template:
            spec:
              repository: acme/app
              dockerEnabled: true  # <- judged here
              volumes:
                - {name: sock, hostPath: {path: /var/run/docker.sock}}  # <- judged here
        """,
    "RunnerSet template": """\
        apiVersion: actions.summerwind.dev/v1alpha1
        kind: RunnerSet
        metadata: {name: runners}
        spec:
          repository: acme/app
          dockerEnabled: false
          selector: {matchLabels: {app: runners}}
          template:
            metadata: {labels: {app: runners}}
            spec:
              hostIPC: true  # <- judged here
              containers:
                - name: runner
                  securityContext: {privileged: true}  # <- judged here
        """,
    "Strimzi Kafka templates": """\
        apiVersion: kafka.strimzi.io/v1beta2
        kind: Kafka
        metadata: {name: kafka}
        spec:
          kafka:
            replicas: 3
            template:
              pod:
                securityContext: {runAsUser: 0}  # <- judged here
              kafkaContainer:
                securityContext: {privileged: true}  # <- judged here
          entityOperator:
            template:
              userOperatorContainer:
                securityContext: {allowPrivilegeEscalation: true}  # <- judged here
        """,
    "Strimzi KafkaConnect": """\
        apiVersion: kafka.strimzi.io/v1beta2
        kind: KafkaConnect
        metadata: {name: connect}
        spec:
          replicas: 1
          template:
            connectContainer:
              securityContext:
                capabilities: {add: [NET_ADMIN]}  # <- judged here
        """,
    "Strimzi KafkaConnect build pod": """\
        apiVersion: kafka.strimzi.io/v1beta2
        kind: KafkaConnect
        metadata: {name: connect}
        spec:
          replicas: 1
          build:
            output: {type: docker, image: ghcr.io/acme/connect:1.0}
            plugins: []
          template:
            buildPod:
              securityContext: {runAsUser: 0}  # <- judged here
            buildContainer:
              securityContext: {privileged: true}  # <- judged here
        """,
    "CloudNativePG postgresUID": """\
        apiVersion: postgresql.cnpg.io/v1
        kind: Cluster
        metadata: {name: pg}
        spec:
          instances: 1
          postgresUID: 0  # <- judged here
        """,
    "RunnerDeployment pod annotations": """\
        apiVersion: actions.summerwind.dev/v1alpha1
        kind: RunnerDeployment
        metadata: {name: runners}
        spec:
          template:
            metadata:
              annotations:
                container.apparmor.security.beta.kubernetes.io/runner: unconfined  # <- judged here
            spec:
              dockerEnabled: false
        """,
    "CloudNativePG Cluster": """\
        apiVersion: postgresql.cnpg.io/v1
        kind: Cluster
        metadata: {name: pg}
        spec:
          instances: 3
          podSecurityContext: {runAsUser: 0}  # <- judged here
          securityContext: {privileged: true}  # <- judged here
        """,
    "Grafana deployment": """\
        apiVersion: grafana.integreatly.org/v1beta1
        kind: Grafana
        metadata: {name: grafana}
        spec:
          deployment:
            spec:
              template:
                spec:
                  hostPID: true  # <- judged here
                  containers:
                    - name: grafana
                      securityContext: {privileged: true}  # <- judged here
        """,
}


@pytest.mark.parametrize("manifest", WRITTEN.values(), ids=WRITTEN.keys())
def test_what_an_overlay_writes_is_judged_at_its_line(manifest: str) -> None:
    found = findings(manifest, *PRESENCE)
    assert sorted({finding.line for finding in found}) == marked(manifest)


# Overlays as operators' samples write them: nothing they leave out is asked of the author.
QUIET = {
    "Elasticsearch": """\
        apiVersion: elasticsearch.k8s.elastic.co/v1
        kind: Elasticsearch
        metadata: {name: es}
        spec:
          version: 8.15.0
          nodeSets:
            - name: default
              count: 3
              config: {node.store.allow_mmap: false}
              podTemplate:
                metadata: {labels: {tier: data}}
                spec:
                  containers:
                    - name: elasticsearch
                      env: [{name: ES_JAVA_OPTS, value: -Xms2g -Xmx2g}]
        """,
    "Kibana": """\
        apiVersion: kibana.k8s.elastic.co/v1
        kind: Kibana
        metadata: {name: kb}
        spec:
          version: 8.15.0
          count: 1
          elasticsearchRef: {name: es}
          podTemplate:
            spec:
              containers:
                - name: kibana
                  env: [{name: NODE_OPTIONS, value: --max-old-space-size=2048}]
        """,
    "Prometheus": """\
        apiVersion: monitoring.coreos.com/v1
        kind: Prometheus
        metadata: {name: k8s, namespace: monitoring}
        spec:
          replicas: 2
          serviceAccountName: prometheus-k8s
          securityContext: {fsGroup: 2000, runAsNonRoot: true, runAsUser: 1000}
          containers:
            - name: prometheus
              startupProbe: {failureThreshold: 500}
        """,
    "Alertmanager": """\
        apiVersion: monitoring.coreos.com/v1
        kind: Alertmanager
        metadata: {name: main, namespace: monitoring}
        spec:
          replicas: 3
          podMetadata: {labels: {app: alertmanager}}
        """,
    "OpenTelemetryCollector": """\
        apiVersion: opentelemetry.io/v1beta1
        kind: OpenTelemetryCollector
        metadata: {name: simplest}
        spec:
          config:
            receivers: {otlp: {protocols: {grpc: {endpoint: 0.0.0.0:4317}}}}
            exporters: {debug: {}}
            service: {pipelines: {traces: {receivers: [otlp], exporters: [debug]}}}
        """,
    "DeploymentRuntimeConfig": """\
        apiVersion: pkg.crossplane.io/v1beta1
        kind: DeploymentRuntimeConfig
        metadata: {name: debug}
        spec:
          deploymentTemplate:
            spec:
              selector: {}
              template:
                spec:
                  containers:
                    - name: package-runtime
                      args: [--debug]
        """,
    "Kafka": """\
        apiVersion: kafka.strimzi.io/v1beta2
        kind: Kafka
        metadata: {name: kafka}
        spec:
          kafka:
            replicas: 3
            listeners: [{name: plain, port: 9092, type: internal, tls: false}]
            template:
              pod:
                metadata: {labels: {team: data}}
          entityOperator: {topicOperator: {}, userOperator: {}}
        """,
    "CloudNativePG": """\
        apiVersion: postgresql.cnpg.io/v1
        kind: Cluster
        metadata: {name: pg}
        spec:
          instances: 3
          storage: {size: 1Gi}
        """,
    "FlinkDeployment": """\
        apiVersion: flink.apache.org/v1beta1
        kind: FlinkDeployment
        metadata: {name: basic}
        spec:
          image: ghcr.io/acme/flink@sha256:11111111111111111111111111111111
          flinkVersion: v1_20
          jobManager: {resource: {memory: 2048m, cpu: 1}}
          taskManager: {resource: {memory: 2048m, cpu: 1}}
          podTemplate:
            spec:
              containers:
                - name: flink-main-container
                  volumeMounts: [{mountPath: /opt/flink/log, name: flink-logs}]
              volumes: [{name: flink-logs, emptyDir: {}}]
        """,
    "RunnerDeployment without Docker": """\
        apiVersion: actions.summerwind.dev/v1alpha1
        kind: RunnerDeployment
        metadata: {name: runners}
        spec:
          template:
            spec:
              repository: acme/app
              containerMode: kubernetes
        """,
}


@pytest.mark.parametrize("manifest", QUIET.values(), ids=QUIET.keys())
def test_what_an_overlay_leaves_to_the_operator_is_asked_of_nobody(manifest: str) -> None:
    assert [(f.policy_id, f.line) for f in findings(manifest)] == []


def test_a_bad_value_written_is_judged_where_a_missing_one_is_not() -> None:
    """The same policy fails on a field the overlay sets badly and says nothing of the one it
    leaves out: allowPrivilegeEscalation true, runAsNonRoot false, an image with no digest;
    resources written are the container's whole resources (the operator adds none to them)."""
    manifest = """\
        apiVersion: monitoring.coreos.com/v1
        kind: Prometheus
        metadata: {name: k8s}
        spec:
          image: quay.io/prometheus/prometheus:latest
          securityContext: {runAsNonRoot: false}
          containers:
            - name: prometheus
              securityContext: {allowPrivilegeEscalation: true}
            - name: config-reloader
              securityContext: {readOnlyRootFilesystem: true}
              resources: {requests: {memory: 50Mi}}
        """
    found = findings(
        manifest,
        "K8S-PSS-RUN-AS-NON-ROOT",
        "K8S-PSS-PRIVILEGE-ESCALATION",
        "K8S-IMAGE-TAG-PINNED",
        "K8S-POD-READ-ONLY-ROOT-FILESYSTEM",
        "K8S-POD-RESOURCES",
    )
    assert sorted((f.policy_id, f.line, f.path) for f in found) == [
        ("K8S-IMAGE-TAG-PINNED", 5, "spec.image"),
        ("K8S-POD-RESOURCES", 12, "spec.containers[1].resources"),
        (
            "K8S-PSS-PRIVILEGE-ESCALATION",
            9,
            "spec.containers[0].securityContext.allowPrivilegeEscalation",
        ),
        ("K8S-PSS-RUN-AS-NON-ROOT", 6, "spec.securityContext.runAsNonRoot"),
    ]


def test_the_image_an_operator_runs_is_judged_where_it_is_written() -> None:
    """`spec.image` is the main container's (ECK's `elasticsearch`, Flink's
    `flink-main-container`), with or without a pod template; a template's own image wins."""
    manifest = """\
        apiVersion: elasticsearch.k8s.elastic.co/v1
        kind: Elasticsearch
        metadata: {name: es}
        spec:
          version: 8.15.0
          image: docker.io/acme/elasticsearch:latest
          nodeSets:
            - {name: a, count: 1}
            - name: b
              count: 1
              podTemplate:
                spec:
                  containers:
                    - name: elasticsearch
                      image: docker.io/acme/es-b:latest
        ---
        apiVersion: flink.apache.org/v1beta1
        kind: FlinkDeployment
        metadata: {name: f}
        spec:
          image: docker.io/acme/flink:latest
          flinkVersion: v1_20
        """
    found = findings(manifest, "K8S-IMAGE-TAG-PINNED")
    assert sorted((f.kind, f.line, f.path) for f in found) == [
        ("Elasticsearch", 6, "spec.image"),
        ("Elasticsearch", 15, "spec.nodeSets[1].podTemplate.spec.containers[0].image"),
        ("FlinkDeployment", 21, "spec.image"),
    ]


def test_a_sidecar_written_in_full_on_a_workload_is_still_judged_in_full() -> None:
    """Overlays are the operators' kinds only: a Deployment's pod is its template."""
    manifest = """\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          template:
            spec:
              containers: [{name: web, image: ghcr.io/acme/web:1.0}]
        """
    assert {f.policy_id for f in findings(manifest, "K8S-POD-RESOURCES")} == {"K8S-POD-RESOURCES"}


def test_a_sidecar_the_operator_knows_nothing_of_is_judged_whole() -> None:
    """prometheus-operator, the OpenTelemetry operator and the runner controller add nothing
    to a container of the author's own (ECK gives every container its security context, so
    its pod templates stay overlays): such a sidecar is asked what a Deployment's would be."""
    manifest = """\
        apiVersion: monitoring.coreos.com/v1
        kind: Prometheus
        metadata: {name: k8s}
        spec:
          containers:
            - name: prometheus
              env: [{name: GOMEMLIMIT, value: 1GiB}]
            - name: config-reloader
              env: [{name: A, value: b}]
            - name: shell
              image: ghcr.io/acme/shell:1.0
        ---
        apiVersion: opentelemetry.io/v1beta1
        kind: OpenTelemetryCollector
        metadata: {name: otel}
        spec:
          additionalContainers:
            - name: shell
              image: ghcr.io/acme/shell:1.0
          config: {receivers: {}, exporters: {}, service: {pipelines: {}}}
        ---
        apiVersion: actions.summerwind.dev/v1alpha1
        kind: RunnerDeployment
        metadata: {name: runners}
        spec:
          template:
            spec:
              dockerEnabled: false
              sidecarContainers:
                - name: shell
                  image: ghcr.io/acme/shell:1.0
        """
    found = findings(manifest, "K8S-PSS-RUN-AS-NON-ROOT", "K8S-POD-RESOURCES")
    assert sorted((f.kind, f.policy_id, f.line) for f in found) == [
        ("OpenTelemetryCollector", "K8S-POD-RESOURCES", 18),
        ("OpenTelemetryCollector", "K8S-PSS-RUN-AS-NON-ROOT", 18),
        ("Prometheus", "K8S-POD-RESOURCES", 10),
        ("Prometheus", "K8S-PSS-RUN-AS-NON-ROOT", 10),
        ("RunnerDeployment", "K8S-POD-RESOURCES", 30),
        ("RunnerDeployment", "K8S-PSS-RUN-AS-NON-ROOT", 30),
    ]


def test_the_docker_daemon_of_a_runner_is_privileged_unless_turned_off() -> None:
    """actions-runner-controller adds a privileged `docker` container (or runs dockerd in
    the runner), unless Docker is off, the runner runs in kubernetes mode, the pod has an
    SELinux context, or the docker container brings a securityContext of its own."""

    def privileged(spec: dict[str, Any]) -> list[tuple[str, bool]]:
        obj = {
            "apiVersion": "actions.summerwind.dev/v1alpha1",
            "kind": "RunnerDeployment",
            "spec": {"template": {"spec": spec}},
        }
        (view,) = pod_views(obj)
        return [
            (c["name"], c.get("securityContext", {}).get("privileged", False))
            for c in view.pod["spec"]["containers"]
        ]

    assert privileged({}) == [("runner", False), ("docker", True)]
    assert privileged({"dockerdWithinRunnerContainer": True}) == [("runner", True)]
    assert privileged({"dockerEnabled": False}) == [("runner", False)]
    assert privileged({"containerMode": "kubernetes"}) == [("runner", False)]
    selinux = {"securityContext": {"seLinuxOptions": {"level": "s0"}}}
    assert privileged(selinux) == [("runner", False), ("docker", False)]
    own = {"containers": [{"name": "runner"}, {"name": "docker", "securityContext": {}}]}
    assert privileged(own) == [("runner", False), ("docker", False)]


def test_a_runner_deployment_host_network_is_no_field_of_it() -> None:
    """A RunnerDeployment has no hostNetwork (the API server drops an unknown field)."""
    manifest = """\
        apiVersion: actions.summerwind.dev/v1alpha1
        kind: RunnerDeployment
        metadata: {name: runners}
        spec:
          template:
            spec:
              dockerEnabled: false
              hostNetwork: true
        """
    assert findings(manifest, "K8S-PSS-HOST-NAMESPACES") == []


def test_the_main_container_merges_the_settings_and_its_written_fields() -> None:
    """prometheus-operator: `image`, `resources` and `volumeMounts` are the main container's,
    under what `containers[name=prometheus]` writes; another container stays its own."""
    obj = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "Prometheus",
        "metadata": {"name": "k8s", "namespace": "monitoring"},
        "spec": {
            "image": "quay.io/prometheus/prometheus:v3.0.0",
            "resources": {"requests": {"memory": "400Mi"}},
            "containers": [
                {"name": "sidecar", "image": "ghcr.io/acme/s:1.0"},
                {"name": "prometheus", "resources": {"limits": {"memory": "1Gi"}}},
            ],
        },
    }
    (view,) = pod_views(obj)
    main, sidecar = view.pod["spec"]["containers"]
    assert main == {
        "name": "prometheus",
        "resources": {"limits": {"memory": "1Gi"}},
        "image": "quay.io/prometheus/prometheus:v3.0.0",
    }
    assert sidecar == {"name": "sidecar", "image": "ghcr.io/acme/s:1.0"}
    assert view.real_path(("spec", "containers", 0, "image")) == ("spec", "image")
    assert view.real_path(("spec", "containers", 0, "resources")) == (
        "spec", "containers", 1, "resources",
    )  # fmt: skip
    assert view.real_path(("spec", "containers", 1, "image")) == ("spec", "containers", 0, "image")
    assert obj["spec"]["containers"][1] == {  # type: ignore[index]
        "name": "prometheus",
        "resources": {"limits": {"memory": "1Gi"}},
    }  # the document is not changed
    assert view.pod["metadata"] == {"name": "k8s", "namespace": "monitoring"}


def test_templates_others_use_run_no_pods_where_they_are_written() -> None:
    """A DeploymentRuntimeConfig is cluster-scoped: the provider's pods run where Crossplane
    runs them, so no NetworkPolicy is asked of the `default` namespace."""
    assert not runs_pods("pkg.crossplane.io/v1beta1", "DeploymentRuntimeConfig")
    assert runs_pods("monitoring.coreos.com/v1", "Prometheus")
    assert runs_pods("elasticsearch.k8s.elastic.co/v1", "Elasticsearch")
    assert not runs_pods("v1", "Prometheus")


@pytest.mark.parametrize("manifest", [*WRITTEN.values(), *QUIET.values()], ids=[*WRITTEN, *QUIET])
def test_the_fast_path_gives_what_the_plain_path_gives(manifest: str) -> None:
    same_on_both_paths(manifest)


def test_a_policy_of_another_bundle_gets_the_same_rule(tmp_path: Path) -> None:
    """No policy has to say whether it asks for a field or forbids a value: a violation at a
    field the overlay does not write is the operator's, whoever wrote the policy."""
    (tmp_path / "probe.yaml").write_text(
        "id: ACME-STARTUP-PROBE\ntitle: startup probes\nseverity: high\n"
        "description: d\nremediation: r\nmatch: {source: kubernetes, kinds: [Pod]}\n"
        "each: spec.containers[*]\nfield: startupProbe\n"
        "rule: has(item.startupProbe) && item.startupProbe.failureThreshold < 100\n"
        'message: "{{ item.name }}"\n'
    )
    engine = build_engine(Config(), [str(tmp_path)], builtin=False)
    manifest = """\
        apiVersion: monitoring.coreos.com/v1
        kind: Prometheus
        metadata: {name: k8s}
        spec:
          containers:
            - name: prometheus
              startupProbe: {failureThreshold: 500}
            - name: config-reloader
              image: ghcr.io/acme/reloader:1.0
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          template:
            spec:
              containers: [{name: web, image: ghcr.io/acme/web:1.0}]
        """
    text = textwrap.dedent(manifest).encode()
    found = [
        (finding.kind, finding.line)
        for document in kubernetes.load("m.yaml", text, LoadContext()).documents
        for finding in engine.evaluate(document)
    ]
    assert found == [("Prometheus", 7), ("Deployment", 17)]
