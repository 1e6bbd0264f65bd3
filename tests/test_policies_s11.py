"""Policy gaps the eleventh red team found (s11): each scan is of a minimal repository of
our own, and each assertion failed before its policy change."""

from __future__ import annotations

from pathlib import Path

import gatekeeper
from gatekeeper.finding import Finding


def scan(tmp_path: Path, files: dict[str, str]) -> list[Finding]:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return list(gatekeeper.scan(tmp_path, root=tmp_path, jobs=1).verdict.findings)


def ids(findings: list[Finding]) -> set[str]:
    return {f.policy_id for f in findings}


INGRESS = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: shop
  annotations:
    nginx.ingress.kubernetes.io/%s: |
      location /leak { alias /etc/passwd; }
spec:
  rules:
    - host: shop.example.org
      http:
        paths:
          - {path: /, pathType: Prefix, backend: {service: {name: shop, port: {number: 80}}}}
"""


def test_an_ingress_nginx_snippet_is_high_and_blocks(tmp_path: Path) -> None:
    """r23: a configuration snippet runs inside the controller (CVE-2021-25742)."""
    found = scan(tmp_path, {"ingress.yaml": INGRESS % "configuration-snippet"})
    snippet = [f for f in found if f.policy_id == "K8S-NETWORK-INGRESS-SNIPPETS"]
    assert [(f.line, f.severity, f.blocking) for f in snippet] == [(6, "high", True)]


def test_other_ingress_nginx_annotations_pass(tmp_path: Path) -> None:
    found = scan(tmp_path, {"ingress.yaml": INGRESS % "rewrite-target"})
    assert "K8S-NETWORK-INGRESS-SNIPPETS" not in ids(found)


WEBHOOK = """\
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: tracer}
webhooks:
  - name: tracer.example.org
    admissionReviewVersions: [v1]
    sideEffects: None
    failurePolicy: Ignore
    clientConfig:
      %s
    rules:
      - {apiGroups: [""], apiVersions: [v1], operations: ["*"], resources: [pods]}
"""


def test_a_pod_webhook_served_outside_the_cluster_blocks(tmp_path: Path) -> None:
    """r22: an external server mutates every pod after the gate judged it."""
    found = scan(tmp_path, {"hook.yaml": WEBHOOK % "url: https://tracer.example.org/mutate"})
    hook = [f for f in found if f.policy_id == "K8S-ADMISSION-EXTERNAL-WEBHOOK"]
    assert [(f.line, f.blocking) for f in hook] == [(10, True)]
    assert "failurePolicy: Ignore" in hook[0].message


def test_a_pod_webhook_served_by_a_service_is_not_external(tmp_path: Path) -> None:
    found = scan(tmp_path, {"hook.yaml": WEBHOOK % "service: {name: tracer, namespace: ops}"})
    assert "K8S-ADMISSION-EXTERNAL-WEBHOOK" not in ids(found)


POD = """\
apiVersion: v1
kind: Pod
metadata: {name: %s, namespace: ops}
spec:
  %s
  containers: [{name: c, image: registry.example.org/c:1.0}]
"""


def test_an_explicit_automount_true_is_a_decision_and_unset_still_fails(tmp_path: Path) -> None:
    """rr/16: controllers that call the API opt in explicitly; that no longer blocks."""
    found = scan(
        tmp_path,
        {
            "opted-in.yaml": POD % ("controller", "automountServiceAccountToken: true"),
            "unset.yaml": POD % ("app", "restartPolicy: Always"),
        },
    )
    mounting = {f.name for f in found if f.policy_id == "K8S-POD-AUTOMOUNT-TOKEN"}
    assert mounting == {"app"}


NAMESPACE = """\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels:
    team: shop
%s"""
RESTRICTED = "    pod-security.kubernetes.io/enforce: restricted\n"


def namespace_change(tmp_path: Path, before: str, after: str) -> list[Finding]:
    from gatekeeper.change import scan_change
    from tests.test_change import Repo

    repo = Repo(tmp_path / "repo")
    repo.write("ns.yaml", NAMESPACE % before)
    repo.commit("base")
    repo.branch("pr")
    repo.write("ns.yaml", NAMESPACE % after)
    repo.commit("change")
    return [
        f
        for f in scan_change(repo.root, "main").verdict.findings
        if f.policy_id == "K8S-ADMISSION-POD-SECURITY" and f.status == "new"
    ]


def test_removing_or_lowering_the_enforce_label_is_new(tmp_path: Path) -> None:
    """r14: with no enforce label the namespace admits every pod again."""
    removed = namespace_change(tmp_path / "a", RESTRICTED, "")
    assert [(f.blocking, "from restricted to none" in f.message) for f in removed] == [(True, True)]
    baseline = RESTRICTED.replace("restricted", "baseline")
    assert len(namespace_change(tmp_path / "b", RESTRICTED, baseline)) == 1
    pinned = RESTRICTED + "    pod-security.kubernetes.io/enforce-version: v1.20\n"
    assert len(namespace_change(tmp_path / "c", RESTRICTED, pinned)) == 1


def test_raising_or_keeping_the_enforce_label_says_nothing(tmp_path: Path) -> None:
    baseline = RESTRICTED.replace("restricted", "baseline")
    assert namespace_change(tmp_path / "a", baseline, RESTRICTED) == []
    assert namespace_change(tmp_path / "b", RESTRICTED, RESTRICTED + "    tier: web\n") == []


OVERRIDE = """\
apiVersion: policy.karmada.io/v1alpha1
kind: ClusterOverridePolicy
metadata: {name: fleet}
spec:
  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment}]
  overrideRules:
    - overriders:
        %s
"""


def test_a_karmada_override_of_the_workload_is_a_mutation(tmp_path: Path) -> None:
    """r19: Karmada applies the override to what it propagates to member clusters."""
    patch = "plaintext: [{path: /spec/template/spec/hostNetwork, operator: add, value: true}]"
    found = scan(tmp_path / "a", {"override.yaml": OVERRIDE % patch})
    mutation = [f for f in found if f.policy_id == "K8S-ADMISSION-MUTATION"]
    assert [(f.line, f.blocking) for f in mutation] == [(4, True)]
    assert "Karmada" in mutation[0].message
    labels = "labelsOverrider: [{operator: add, value: {team: web}}]"
    assert "K8S-ADMISSION-MUTATION" not in ids(scan(tmp_path / "b", {"o.yaml": OVERRIDE % labels}))


MESHED = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: cart, namespace: shop}
spec:
  selector: {matchLabels: {app: cart}}
  template:
    metadata:
      labels: {app: cart}
      annotations:
        %s
    spec:
      automountServiceAccountToken: false
      containers: [{name: cart, image: registry.example.org/cart:1.0}]
"""


def test_istio_override_annotations_are_judged_as_the_pods_own(tmp_path: Path) -> None:
    """r12: istiod's injector adds the userVolume volumes and the proxyImage image to the
    pod; a hostPath of / and a Docker Hub :latest proxy are reported at the annotations."""
    volume = """sidecar.istio.io/userVolume: '{"root": {"hostPath": {"path": "/"}}}'"""
    found = scan(tmp_path / "a", {"cart.yaml": MESHED % volume})
    assert [(f.line, f.blocking) for f in found if f.policy_id == "K8S-PSS-HOST-PATH"] == [
        (10, True)
    ]
    image = "sidecar.istio.io/proxyImage: docker.io/someone/proxyv2:latest"
    found = scan(tmp_path / "b", {"cart.yaml": MESHED % image})
    at_annotation = {f.policy_id for f in found if f.line == 10}
    assert {"K8S-IMAGE-ALLOWED-REGISTRY", "K8S-IMAGE-TAG-PINNED"} <= at_annotation


def test_a_secret_user_volume_in_istios_list_form_adds_nothing_to_report(tmp_path: Path) -> None:
    plain = scan(tmp_path / "a", {"cart.yaml": MESHED % "team: shop"})
    volume = """sidecar.istio.io/userVolume: '[{"name": "tls", "secret": {"secretName": "t"}}]'"""
    meshed = scan(tmp_path / "b", {"cart.yaml": MESHED % volume})
    assert sorted(f.policy_id for f in meshed) == sorted(f.policy_id for f in plain)


GATEWAY = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: ingress, namespace: istio-ingress}
spec:
  selector: {matchLabels: {istio: ingress}}
  template:
    metadata:
      annotations:
        inject.istio.io/templates: gateway
        %s
      labels: {istio: ingress, %s}
    spec:
      automountServiceAccountToken: false
      containers: [{name: istio-proxy, image: auto}]
"""
IMAGE_RULES = {"K8S-IMAGE-ALLOWED-REGISTRY", "K8S-IMAGE-TAG-PINNED", "K8S-IMAGE-DIGEST"}


def test_istio_gateway_injection_fills_the_proxy_image_auto(tmp_path: Path) -> None:
    """The istio/gateway chart and Istio's gateway manifests write `image: auto`, which
    gateway injection replaces with the mesh's proxy image: it was judged as Docker Hub's
    `auto:latest` (two blocking findings per gateway). With a proxyImage annotation that
    image is the pod's own, at the annotation; `auto` without gateway injection (no
    template, or injection not on) is judged as written."""
    on = 'sidecar.istio.io/inject: "true"'
    found = scan(tmp_path / "a", {"gw.yaml": GATEWAY % ("team: edge", on)})
    assert not IMAGE_RULES & ids(found)
    found = scan(tmp_path / "r", {"gw.yaml": GATEWAY % ("team: edge", "istio.io/rev: canary")})
    assert not IMAGE_RULES & ids(found)
    image = "sidecar.istio.io/proxyImage: docker.io/someone/proxyv2:latest"
    found = scan(tmp_path / "b", {"gw.yaml": GATEWAY % (image, on)})
    at_annotation = {f.policy_id for f in found if f.line == 10}
    assert {"K8S-IMAGE-ALLOWED-REGISTRY", "K8S-IMAGE-TAG-PINNED"} <= at_annotation
    assert len([f for f in found if f.policy_id == "K8S-IMAGE-TAG-PINNED"]) == 1
    off = scan(tmp_path / "c", {"gw.yaml": GATEWAY % ("team: edge", "app: x")})
    assert {"K8S-IMAGE-ALLOWED-REGISTRY", "K8S-IMAGE-TAG-PINNED"} <= ids(off)
    sidecar = GATEWAY.replace("inject.istio.io/templates: gateway", "owner: a")
    found = scan(tmp_path / "d", {"gw.yaml": sidecar % ("team: edge", on)})
    assert {"K8S-IMAGE-ALLOWED-REGISTRY", "K8S-IMAGE-TAG-PINNED"} <= ids(found)
