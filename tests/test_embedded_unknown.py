"""Objects and pods inside custom resources of kinds no table knows (red team s11 r04-r11)."""

from __future__ import annotations

from pathlib import Path

import gatekeeper

C = '{name: x, image: "registry.example.com/x@sha256:' + "0" * 64 + '", securityContext: SC}'
PRIVILEGED = C.replace("SC", "{privileged: true}")
SPEC = "{containers: [C]}".replace("C", PRIVILEGED)
POD = "{apiVersion: v1, kind: Pod, metadata: {name: p, namespace: web}, spec: SPEC}"


def _privileged(tmp_path: Path, text: str) -> list[tuple[int, str]]:
    (tmp_path / "crs.yaml").write_text(text.replace("POD", POD).replace("SPEC", SPEC))
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    return sorted(
        (f.line, f.resource) for f in report.verdict.findings if f.policy_id == "K8S-PSS-PRIVILEGED"
    )


def test_objects_inside_an_unknown_custom_resource_are_judged_at_their_lines(
    tmp_path: Path,
) -> None:
    found = _privileged(
        tmp_path,
        """\
apiVersion: delivery.example.dev/v1
kind: Bundle
metadata: {name: bundle, namespace: web}
spec:
  parts:
    - name: one
      properties:
        objects: [POD]
    - name: two
      resource:
        apiVersion: wrap.example.dev/v1
        kind: Wrapper
        metadata: {name: inner}
        spec:
          template: POD
""",
    )
    assert [line for line, _ in found] == [8, 15]


def test_a_pod_spec_inside_an_unknown_custom_resource_is_judged_as_a_pod(
    tmp_path: Path,
) -> None:
    found = _privileged(
        tmp_path,
        """\
apiVersion: rollout.example.dev/v1
kind: ZonedDeployment
metadata: {name: zoned, namespace: web}
spec:
  template:
    workloadTemplate:
      metadata: {labels: {app: zoned}}
      spec:
        containers:
          - name: x
            image: registry.example.com/x:1.0
            securityContext: {privileged: true}
""",
    )
    assert found == [(12, "Pod web/zoned")]


def test_object_shaped_data_nobody_applies_is_not_judged(tmp_path: Path) -> None:
    """Policy patterns and parameters, schemas, chart values, references, status."""
    found = _privileged(
        tmp_path,
        """\
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: kyverno}
spec:
  rules:
    - name: r
      validate: {pattern: {spec: SPEC}}
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sAllowed
metadata: {name: constraint}
spec: {parameters: {examples: [POD]}}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: release, namespace: web}
spec: {values: {extraObjects: [POD]}}
---
apiVersion: graph.example.dev/v1
kind: Graph
metadata: {name: graph}
spec:
  schema: {apiVersion: v1alpha1, kind: App, spec: SPEC}
  patches: [POD]
  parameters: {sample: POD}
  target: {apiVersion: v1, kind: Pod, name: p, namespace: web}
status: {applied: [POD]}
""",
    )
    assert found == []


def test_argo_events_trigger_resources_and_kruise_kinds_are_judged(tmp_path: Path) -> None:
    found = _privileged(
        tmp_path,
        """\
apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata: {name: sensor, namespace: web}
spec:
  triggers:
    - template: {name: t, k8s: {operation: create, source: {resource: POD}}}
---
apiVersion: apps.kruise.io/v1alpha1
kind: EphemeralJob
metadata: {name: debug, namespace: web}
spec:
  selector: {matchLabels: {app: web}}
  template: {ephemeralContainers: [CONTAINER]}
---
apiVersion: apps.kruise.io/v1alpha1
kind: UnitedDeployment
metadata: {name: united, namespace: web}
spec:
  template:
    cloneSetTemplate:
      spec: {template: {spec: SPEC}}
""".replace("CONTAINER", PRIVILEGED),
    )
    assert found == [
        (6, "Pod web/p"),
        (13, "EphemeralJob web/debug"),
        (21, "UnitedDeployment web/united"),
    ]


def test_a_kubevirt_vm_host_disk_and_container_disk_are_judged(tmp_path: Path) -> None:
    """virt-launcher mounts a hostDisk from the node and pulls a containerDisk image."""
    (tmp_path / "vm.yaml").write_text(
        """\
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {name: vm, namespace: web}
spec:
  template:
    spec:
      domain: {devices: {disks: [{name: root}, {name: node}]}}
      volumes:
        - {name: root, containerDisk: {image: quay.io/containerdisks/fedora:latest}}
        - {name: node, hostDisk: {path: /var/lib/vm.img, type: DiskOrCreate}}
"""
    )
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    found = sorted(
        (f.policy_id, f.line)
        for f in report.verdict.findings
        if f.policy_id in ("K8S-PSS-HOST-PATH", "K8S-IMAGE-TAG-PINNED")
    )
    assert found == [("K8S-IMAGE-TAG-PINNED", 9), ("K8S-PSS-HOST-PATH", 10)]


def test_a_flux_operator_resource_set_is_judged_once_per_input(tmp_path: Path) -> None:
    (tmp_path / "set.yaml").write_text(
        """\
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSet
metadata: {name: tools, namespace: web}
spec:
  inputs: [{tag: "1.0"}, {tag: latest}]
  resources:
    - apiVersion: v1
      kind: Pod
      metadata: {name: tools, namespace: web}
      spec:
        containers:
          - {name: t, image: "registry.example.com/t:<< inputs.tag >>"}
"""
    )
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    (pinned,) = [f for f in report.verdict.findings if f.policy_id == "K8S-IMAGE-TAG-PINNED"]
    assert pinned.line == 12
    assert "registry.example.com/t:latest" in pinned.message
    assert any("inputs[1]" in variant for variant in pinned.extra.get("variants") or [])


def test_kubevela_components_are_judged(tmp_path: Path) -> None:
    """k8s-objects and raw components apply objects; a webservice runs its image with the
    host paths it mounts."""
    (tmp_path / "app.yaml").write_text(
        """\
apiVersion: core.oam.dev/v1beta1
kind: Application
metadata: {name: app, namespace: web}
spec:
  components:
    - name: objects
      type: k8s-objects
      properties: {objects: [POD]}
    - name: raw
      type: raw
      properties: POD
    - name: web
      type: webservice
      properties:
        image: registry.example.com/web:latest
        volumeMounts:
          hostPath: [{name: root, mountPath: /host, path: /}]
""".replace("POD", POD).replace("SPEC", SPEC)
    )
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    watched = ("K8S-PSS-PRIVILEGED", "K8S-PSS-HOST-PATH", "K8S-IMAGE-TAG-PINNED")
    found = sorted((f.policy_id, f.line) for f in report.verdict.findings if f.policy_id in watched)
    assert found == [
        ("K8S-IMAGE-TAG-PINNED", 15),
        ("K8S-PSS-HOST-PATH", 17),
        ("K8S-PSS-PRIVILEGED", 8),
        ("K8S-PSS-PRIVILEGED", 11),
    ]


def test_values_the_controller_computes_are_neither_typed_nor_judged(tmp_path: Path) -> None:
    """kro's templates compute values from the instance (`${schema.spec.replicas}`): they
    were blocking GK-SCHEMA findings ("expected an integer") and images "with no tag"
    (eks-workshop-v2). What is written as a value is still judged."""
    (tmp_path / "rgd.yaml").write_text(
        """\
apiVersion: kro.run/v1alpha1
kind: ResourceGraphDefinition
metadata: {name: webapp}
spec:
  schema: {apiVersion: v1alpha1, kind: WebApp, spec: {replicas: integer, image: string}}
  resources:
    - id: deployment
      template:
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: "${schema.spec.name}", namespace: web}
        spec:
          replicas: ${schema.spec.replicas}
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              containers:
                - name: web
                  image: ${schema.spec.image}
                  ports: [{containerPort: "${schema.spec.port}"}]
                  securityContext: {privileged: true}
"""
    )
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    said = {(f.policy_id, f.line) for f in report.verdict.findings}
    assert ("K8S-PSS-PRIVILEGED", 22) in said
    assert not [f for f in said if f[0] == "GK-SCHEMA" or f[0].startswith("K8S-IMAGE-")]


CSV = """\
apiVersion: operators.coreos.com/v1alpha1
kind: ClusterServiceVersion
metadata:
  name: op.v1.0.0
  namespace: NAMESPACE
spec:
  install:
    strategy: deployment
    spec:
      deployments:
        - name: op-controller-manager
          spec:
            selector: {matchLabels: {app: op}}
            template:
              metadata: {labels: {app: op}}
              spec: SPEC
"""


def test_an_olm_bundle_s_pods_run_where_olm_installs_it(tmp_path: Path) -> None:
    """opentelemetry-operator's bundle/*/manifests/*.clusterserviceversion.yaml: operator-
    sdk writes `namespace: placeholder`, which OLM replaces with the namespace it installs
    the operator into (its OperatorGroup's). A blocking "namespace placeholder has no
    NetworkPolicy" was said of a namespace no one has. The CSV's pods are still judged (the
    privileged container blocks); a CSV written into a real namespace keeps its check."""

    def said(namespace: str) -> list[str]:
        (tmp_path / "crs.yaml").write_text(
            CSV.replace("NAMESPACE", namespace).replace("SPEC", SPEC)
        )
        report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
        return sorted(
            {
                f.policy_id
                for f in report.verdict.findings
                if f.policy_id in ("K8S-PSS-PRIVILEGED", "K8S-NETWORK-POLICY-PRESENT")
            }
        )

    assert said("placeholder") == ["K8S-PSS-PRIVILEGED"]
    assert said("operators") == ["K8S-NETWORK-POLICY-PRESENT", "K8S-PSS-PRIVILEGED"]
