"""Terraform resources that deploy to Kubernetes, judged as what they deploy (red team
r01-r05): the kubernetes provider's workloads as the objects the provider sends, a
`kubernetes_manifest`, a `kubectl_manifest`'s YAML, a `helm_release` of a chart of this
repository rendered with its values and `set`, and the commands of `local-exec` provisioners.

Each test scans a directory with the built-in policies and compares (policy, file, line).
"""

from __future__ import annotations

from pathlib import Path

import gatekeeper

PROVIDER = 'provider "kubernetes" {}\n'


def findings(root: Path, files: dict[str, str], prefix: str = "") -> set[tuple[str, str, int]]:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    report = gatekeeper.scan(root, root=root, jobs=1)
    return {
        (f.policy_id, f.file, f.line)
        for f in report.verdict.findings
        if f.policy_id.startswith(prefix)
    }


# A pod spec that meets the restricted Pod Security Standard, in the provider's HCL.
COMPLIANT_SPEC = """\
      automount_service_account_token = false
      security_context {
        run_as_non_root = true
        run_as_user     = "10001"
        seccomp_profile {
          type = "RuntimeDefault"
        }
      }
      container {
        name              = "app"
        image             = "registry.example.com/app@sha256:%s"
        image_pull_policy = "Always"
        env {
          name  = "DEBUG"
          value = "true"
        }
        security_context {
          allow_privilege_escalation = false
          read_only_root_filesystem  = true
          privileged                 = %s
          capabilities {
            drop = ["ALL"]
          }
        }
        resources {
          limits   = { cpu = "100m", memory = "64Mi" }
          requests = { cpu = "100m", memory = "64Mi" }
        }
        liveness_probe {
          http_get {
            path = "/"
            port = 8080
          }
        }
        readiness_probe {
          tcp_socket {
            port = "8080"
          }
        }
      }
"""
DIGEST = "0" * 64


def deployment(privileged: str) -> str:
    return (
        'resource "kubernetes_deployment_v1" "app" {\n'  # 1
        "  metadata {\n"  # 2
        '    name      = "app"\n'  # 3
        '    namespace = "prod"\n'  # 4
        '    labels    = { "app.kubernetes.io/name" = "app" }\n'  # 5
        "  }\n"  # 6
        "  spec {\n"  # 7
        "    selector {\n"  # 8
        '      match_labels = { app = "app" }\n'  # 9
        "    }\n"  # 10
        "    template {\n"  # 11
        "      metadata {\n"  # 12
        '        labels = { app = "app" }\n'  # 13
        "      }\n"  # 14
        "      spec {\n"  # 15
        + COMPLIANT_SPEC % (DIGEST, privileged)  # 16-...
        + "      }\n    }\n  }\n}\n"
    )


def test_a_compliant_deployment_in_hcl_meets_the_pod_policies(tmp_path: Path) -> None:
    """The provider's names (blocks once an object, repeated ones a plural list, maps as
    written, `run_as_user = "10001"` a number, an env `value = "true"` a string) read as
    the API's: nothing to say about the pod, no schema finding."""
    found = findings(tmp_path, {"main.tf": PROVIDER, "app.tf": deployment("false")}, "K8S-P")
    assert found == set()
    assert not findings(tmp_path, {}, "GK-SCHEMA")


def test_a_privileged_container_is_found_at_its_hcl_line(tmp_path: Path) -> None:
    found = findings(tmp_path, {"main.tf": PROVIDER, "app.tf": deployment("true")}, "K8S-P")
    assert found == {("K8S-PSS-PRIVILEGED", "app.tf", 35)}


def test_red_team_r01_a_root_pod_with_host_namespaces_and_host_path(tmp_path: Path) -> None:
    pod = (
        'resource "kubernetes_pod_v1" "root" {\n'  # 1
        "  metadata {\n"  # 2
        '    name      = "root"\n'  # 3
        '    namespace = "kube-system"\n'  # 4
        "  }\n"  # 5
        "  spec {\n"  # 6
        "    host_network = true\n"  # 7
        "    host_pid     = true\n"  # 8
        "    container {\n"  # 9
        '      name  = "sh"\n'  # 10
        '      image = "busybox:1.36"\n'  # 11
        "      security_context {\n"  # 12
        "        privileged  = true\n"  # 13
        "        run_as_user = 0\n"  # 14
        "      }\n"  # 15
        "    }\n"  # 16
        "    volume {\n"  # 17
        '      name = "host"\n'  # 18
        "      host_path {\n"  # 19
        '        path = "/"\n'  # 20
        "      }\n"  # 21
        "    }\n"  # 22
        "  }\n"  # 23
        "}\n"
    )
    found = findings(tmp_path, {"pod.tf": pod}, "K8S-PSS-")
    assert {
        ("K8S-PSS-HOST-NAMESPACES", "pod.tf", 7),
        ("K8S-PSS-HOST-NAMESPACES", "pod.tf", 8),
        ("K8S-PSS-PRIVILEGED", "pod.tf", 13),
        ("K8S-PSS-RUN-AS-USER", "pod.tf", 14),
        ("K8S-PSS-HOST-PATH", "pod.tf", 19),
    } <= found


def test_a_value_known_only_at_apply_passes(tmp_path: Path) -> None:
    """`privileged = var.privileged` and `run_as_non_root = var.non_root` with no value:
    unknown, as Terraform policies treat it; a caller's value is judged with the call."""
    module = deployment("var.privileged").replace(
        "run_as_non_root = true", "run_as_non_root = var.non_root"
    )
    module = 'variable "privileged" {}\nvariable "non_root" {}\n' + module
    found = findings(tmp_path, {"modules/app/main.tf": module}, "K8S-P")
    assert found == set()
    caller = 'module "app" {\n  source     = "../modules/app"\n  privileged = true\n}\n'
    found = findings(tmp_path, {"live/main.tf": PROVIDER + caller}, "K8S-PSS-PRIVILEGED")
    assert found == {("K8S-PSS-PRIVILEGED", "live/main.tf", 4)}


def test_red_team_r02_kubernetes_manifest_is_the_object(tmp_path: Path) -> None:
    manifest = (
        'resource "kubernetes_manifest" "agent" {\n'  # 1
        "  manifest = {\n"  # 2
        '    apiVersion = "apps/v1"\n'  # 3
        '    kind       = "DaemonSet"\n'  # 4
        '    metadata   = { name = "agent", namespace = "kube-system" }\n'  # 5
        "    spec = {\n"  # 6
        '      selector = { matchLabels = { app = "agent" } }\n'  # 7
        "      template = {\n"  # 8
        '        metadata = { labels = { app = "agent" } }\n'  # 9
        "        spec = {\n"  # 10
        "          hostPID    = true\n"  # 11
        "          containers = [{\n"  # 12
        '            name            = "agent"\n'  # 13
        '            image           = "busybox:1.36"\n'  # 14
        "            securityContext = { privileged = true }\n"  # 15
        "          }]\n"  # 16
        "        }\n"  # 17
        "      }\n"  # 18
        "    }\n"  # 19
        "  }\n"  # 20
        "}\n"
    )
    found = findings(tmp_path, {"ds.tf": manifest}, "K8S-PSS-")
    assert {("K8S-PSS-HOST-NAMESPACES", "ds.tf", 11), ("K8S-PSS-PRIVILEGED", "ds.tf", 15)} <= found


def test_red_team_s12_t01_rbac_resources_are_the_bindings_and_roles(tmp_path: Path) -> None:
    """`kubernetes_cluster_role_binding_v1` (and the role, binding and cluster role
    resources, v1 or not) create what a manifest would: cluster-admin bound to the app's
    service account was a green check. `role_ref` is roleRef, each `subject` one of
    subjects (a ServiceAccount's namespace defaults to "default"), each `rule` one of rules."""
    rbac = (
        'resource "kubernetes_cluster_role_binding_v1" "web_admin" {\n'  # 1
        "  metadata {\n"  # 2
        '    name = "web-admin"\n'  # 3
        "  }\n"  # 4
        "  role_ref {\n"  # 5
        '    api_group = "rbac.authorization.k8s.io"\n'  # 6
        '    kind      = "ClusterRole"\n'  # 7
        '    name      = "cluster-admin"\n'  # 8
        "  }\n"  # 9
        "  subject {\n"  # 10
        '    kind = "ServiceAccount"\n'  # 11
        '    name = "web"\n'  # 12
        "  }\n"  # 13
        "}\n"  # 14
        'resource "kubernetes_role_binding" "all" {\n'  # 15
        "  metadata {\n"  # 16
        '    name      = "all"\n'  # 17
        '    namespace = "app"\n'  # 18
        "  }\n"  # 19
        "  role_ref {\n"  # 20
        '    api_group = "rbac.authorization.k8s.io"\n'  # 21
        '    kind      = "Role"\n'  # 22
        '    name      = "exec"\n'  # 23
        "  }\n"  # 24
        "  subject {\n"  # 25
        '    kind = "ServiceAccount"\n'  # 26
        '    name = "web"\n'  # 27
        "  }\n"  # 28
        "  subject {\n"  # 29
        '    kind      = "Group"\n'  # 30
        '    name      = "system:authenticated"\n'  # 31
        '    api_group = "rbac.authorization.k8s.io"\n'  # 32
        "  }\n"  # 33
        "}\n"  # 34
        'resource "kubernetes_role_v1" "exec" {\n'  # 35
        "  metadata {\n"  # 36
        '    name      = "exec"\n'  # 37
        '    namespace = "app"\n'  # 38
        "  }\n"  # 39
        "  rule {\n"  # 40
        '    api_groups = [""]\n'  # 41
        '    resources  = ["pods/exec"]\n'  # 42
        '    verbs      = ["create"]\n'  # 43
        "  }\n"  # 44
        "}\n"  # 45
        'resource "kubernetes_cluster_role_v1" "metrics" {\n'  # 46
        "  metadata {\n"  # 47
        '    name = "metrics"\n'  # 48
        "  }\n"  # 49
        "  rule {\n"  # 50
        '    non_resource_urls = ["/metrics"]\n'  # 51
        '    verbs             = ["get"]\n'  # 52
        "  }\n"  # 53
        "  aggregation_rule {\n"  # 54
        "    cluster_role_selectors {\n"  # 55
        '      match_labels = { "example.com/aggregate-to-metrics" = "true" }\n'  # 56
        "    }\n"  # 57
        "  }\n"  # 58
        "}\n"
    )
    found = findings(tmp_path, {"rbac.tf": rbac})
    assert {
        ("K8S-RBAC-CLUSTER-ADMIN", "rbac.tf", 8),
        ("K8S-RBAC-BROAD-SUBJECT", "rbac.tf", 31),
        ("K8S-RBAC-POD-EXEC", "rbac.tf", 42),
    } <= found
    assert not {f for f in found if f[0] == "GK-SCHEMA"}  # the objects have the API's shape
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    admin = next(f for f in report.verdict.findings if f.policy_id == "K8S-RBAC-CLUSTER-ADMIN")
    assert (admin.kind, admin.name) == ("ClusterRoleBinding", "web-admin")


def test_red_team_s12_t10_webhook_configurations_are_the_objects(tmp_path: Path) -> None:
    """A mutating webhook configuration sending pods to an external URL, written with the
    provider's resource (each `webhook` one of webhooks, `client_config` its clientConfig),
    is what a manifest would be: it passed green."""
    hook = (
        'resource "kubernetes_mutating_webhook_configuration_v1" "inject" {\n'  # 1
        "  metadata {\n"  # 2
        '    name = "inject"\n'  # 3
        "  }\n"  # 4
        "  webhook {\n"  # 5
        '    name                      = "inject.example.com"\n'  # 6
        '    admission_review_versions = ["v1"]\n'  # 7
        '    side_effects              = "None"\n'  # 8
        "    client_config {\n"  # 9
        '      url = "https://hooks.example.net/mutate"\n'  # 10
        "    }\n"  # 11
        "    rule {\n"  # 12
        '      api_groups   = [""]\n'  # 13
        '      api_versions = ["v1"]\n'  # 14
        '      operations   = ["CREATE"]\n'  # 15
        '      resources    = ["pods"]\n'  # 16
        "    }\n"  # 17
        "  }\n"  # 18
        "}\n"
    )
    found = findings(tmp_path, {"hook.tf": hook})
    assert ("K8S-ADMISSION-EXTERNAL-WEBHOOK", "hook.tf", 10) in found
    assert not {f for f in found if f[0] == "GK-SCHEMA"}


def test_red_team_s12_t10_labels_set_on_an_existing_namespace(tmp_path: Path) -> None:
    """`kubernetes_labels` setting Pod Security's enforce level to privileged on a namespace
    that already exists is that Namespace with those labels; labels of another kind are not
    judged (the rest of the object is not in the repository)."""
    labels = (
        'resource "kubernetes_labels" "psa" {\n'  # 1
        '  api_version = "v1"\n'  # 2
        '  kind        = "Namespace"\n'  # 3
        "  metadata {\n"  # 4
        '    name = "app"\n'  # 5
        "  }\n"  # 6
        "  labels = {\n"  # 7
        '    "pod-security.kubernetes.io/enforce" = "privileged"\n'  # 8
        "  }\n"  # 9
        "  force = true\n"  # 10
        "}\n"  # 11
        'resource "kubernetes_labels" "web" {\n'  # 12
        '  api_version = "apps/v1"\n'  # 13
        '  kind        = "Deployment"\n'  # 14
        "  metadata {\n"  # 15
        '    name = "web"\n'  # 16
        "  }\n"  # 17
        '  labels = { team = "web" }\n'  # 18
        "}\n"
    )
    assert findings(tmp_path, {"labels.tf": labels}, "K8S-") == {
        ("K8S-ADMISSION-POD-SECURITY", "labels.tf", 8)  # the enforce label (the policy's locate)
    }


def test_red_team_s12_t11_services_and_config_maps_are_the_objects(tmp_path: Path) -> None:
    """A NodePort Service with external IPs and a ConfigMap holding a secret key, written
    with the provider's resources (`external_ips` is externalIPs, each `port` one of ports,
    `data` the data), are judged as the manifests would be: they passed green."""
    objects = (
        'resource "kubernetes_service_v1" "web" {\n'  # 1
        "  metadata {\n"  # 2
        '    name      = "web"\n'  # 3
        '    namespace = "app"\n'  # 4
        '    labels    = { "app.kubernetes.io/name" = "web" }\n'  # 5
        "  }\n"  # 6
        "  spec {\n"  # 7
        '    type         = "NodePort"\n'  # 8
        '    external_ips = ["203.0.113.10"]\n'  # 9
        '    selector     = { app = "web" }\n'  # 10
        "    port {\n"  # 11
        "      port        = 443\n"  # 12
        "      target_port = 8080\n"  # 13
        "    }\n"  # 14
        "  }\n"  # 15
        "}\n"  # 16
        'resource "kubernetes_config_map" "cfg" {\n'  # 17
        "  metadata {\n"  # 18
        '    name      = "cfg"\n'  # 19
        '    namespace = "app"\n'  # 20
        "  }\n"  # 21
        "  data = {\n"  # 22
        '    AWS_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"\n'  # 23
        "  }\n"  # 24
        "}\n"
    )
    found = findings(tmp_path, {"objects.tf": objects})
    assert {
        ("K8S-NETWORK-NODE-PORT", "objects.tf", 8),
        ("K8S-NETWORK-EXTERNAL-IPS", "objects.tf", 9),
        ("K8S-CONFIGMAP-SECRETS", "objects.tf", 23),
    } <= found
    assert not {f for f in found if f[0] == "GK-SCHEMA"}


def test_red_team_r03_kubectl_manifest_yaml_at_its_heredoc_lines(tmp_path: Path) -> None:
    resource = (
        'resource "kubectl_manifest" "pod" {\n'  # 1
        "  yaml_body = <<-YAML\n"  # 2
        "    apiVersion: v1\n"  # 3
        "    kind: Pod\n"  # 4
        "    metadata: {name: root}\n"  # 5
        "    spec:\n"  # 6
        "      hostNetwork: true\n"  # 7
        "      containers:\n"  # 8
        "      - name: sh\n"  # 9
        "        image: busybox:1.36\n"  # 10
        "        securityContext:\n"  # 11
        "          privileged: true\n"  # 12
        "  YAML\n"  # 13
        "}\n"
    )
    found = findings(tmp_path, {"pod.tf": resource}, "K8S-PSS-")
    assert {("K8S-PSS-HOST-NAMESPACES", "pod.tf", 7), ("K8S-PSS-PRIVILEGED", "pod.tf", 12)} <= (
        found
    )


CHART = {
    "charts/app/Chart.yaml": "apiVersion: v2\nname: app\nversion: 0.1.0\n",
    "charts/app/values.yaml": 'privileged: false\nhostPath: ""\n',
    "charts/app/templates/pod.yaml": (
        "apiVersion: v1\n"
        "kind: Pod\n"
        "metadata: {name: app}\n"
        "spec:\n"
        "  containers:\n"
        "  - name: app\n"
        "    image: registry.example.com/app:1\n"
        "    securityContext:\n"
        "      privileged: {{ .Values.privileged }}\n"
        "  {{- if .Values.hostPath }}\n"
        "  volumes:\n"
        "  - name: h\n"
        "    hostPath: {path: {{ .Values.hostPath | quote }}}\n"
        "  {{- end }}\n"
    ),
}


def test_red_team_s12_t07_for_each_over_fileset_applies_each_file(tmp_path: Path) -> None:
    """`for_each = fileset(path.module, "manifests/*.yaml")` lists the module's files as
    Terraform does (it was unknown: no instance, nothing judged), so each templatefile()
    rendering is judged; read as a plain manifest the template is not privileged."""
    apply = (
        'resource "kubectl_manifest" "apps" {\n'  # 1
        '  for_each  = fileset(path.module, "manifests/*.yaml")\n'  # 2
        '  yaml_body = templatefile("${path.module}/${each.value}", { privileged = true })\n'  # 3
        "}\n"
    )
    template = (
        "apiVersion: v1\n"
        "kind: Pod\n"
        "metadata: {name: debug, namespace: app}\n"
        "spec:\n"
        "  containers:\n"
        "    - name: debug\n"
        "      image: busybox:1.36\n"
        "      securityContext:\n"
        "        privileged: ${privileged}\n"
    )
    files = {
        "infra/main.tf": apply,
        "infra/manifests/debug.yaml": template,
        "infra/manifests/nested/other.yaml": template.replace("debug", "other"),
        "infra/manifests/notes.txt": "not matched\n",
    }
    found = findings(tmp_path, files, "K8S-PSS-PRIVILEGED")
    assert found == {("K8S-PSS-PRIVILEGED", "infra/main.tf", 3)}
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    names = {f.name for f in report.verdict.findings if f.policy_id == "K8S-PSS-PRIVILEGED"}
    assert names == {"debug"}  # `*` stays within its folder


def test_red_team_s12_t02_kubectl_path_documents_renders_its_files_with_vars(
    tmp_path: Path,
) -> None:
    """The kubectl provider's `kubectl_path_documents` globs files and renders each as a
    template with `vars` (strings) before splitting it: `privileged: ${privileged}` with
    `privileged = true` is a privileged pod, by `documents` (count) and by `manifests`
    (for_each, keyed by the provider's self link) alike."""
    apply = (
        'data "kubectl_path_documents" "web" {\n'  # 1
        '  pattern = "${path.module}/manifests/*.yaml"\n'  # 2
        "  vars    = { privileged = true }\n"  # 3
        "}\n"  # 4
        'resource "kubectl_manifest" "by_count" {\n'  # 5
        "  count     = length(data.kubectl_path_documents.web.documents)\n"  # 6
        "  yaml_body = element(data.kubectl_path_documents.web.documents, count.index)\n"  # 7
        "}\n"  # 8
        'resource "kubectl_manifest" "by_key" {\n'  # 9
        "  for_each  = data.kubectl_path_documents.web.manifests\n"  # 10
        "  yaml_body = each.value\n"  # 11
        "}\n"
    )
    template = (
        "apiVersion: v1\n"
        "kind: ConfigMap\n"
        "metadata: {name: settings, namespace: app}\n"
        "---\n"
        "apiVersion: v1\n"
        "kind: Pod\n"
        "metadata: {name: debug, namespace: app}\n"
        "spec:\n"
        "  containers:\n"
        "    - name: debug\n"
        "      image: busybox:1.36\n"
        "      securityContext:\n"
        "        privileged: ${privileged}\n"
    )
    files = {"infra/main.tf": apply, "infra/manifests/debug.yaml": template}
    found = findings(tmp_path, files, "K8S-PSS-PRIVILEGED")
    assert found == {
        ("K8S-PSS-PRIVILEGED", "infra/main.tf", 7),
        ("K8S-PSS-PRIVILEGED", "infra/main.tf", 11),
    }
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    variants = {
        variant
        for f in report.verdict.findings
        if f.policy_id == "K8S-PSS-PRIVILEGED"
        for variant in f.extra.get("variants", [])
    }
    assert variants == {
        "deployed by infra/main.tf:kubectl_manifest.by_count[1]",
        'deployed by infra/main.tf:kubectl_manifest.by_key["/api/v1/namespaces/app/pods/debug"]',
    }


def test_fileset_patterns_are_terraforms_globs() -> None:
    from gatekeeper.tfeval import glob_pattern

    def matches(pattern: str, name: str) -> bool:
        compiled = glob_pattern(pattern)
        return compiled is not None and compiled.fullmatch(name) is not None

    assert matches("*.yaml", "a.yaml") and not matches("*.yaml", "d/a.yaml")
    assert matches("**/*.yaml", "a.yaml") and matches("**/*.yaml", "d/e/a.yaml")
    assert matches("k8s/**", "k8s/d/a.yaml")
    assert matches("*.{yaml,yml}", "a.yml") and not matches("*.{yaml,yml}", "a.json")
    assert matches("pod-?.yaml", "pod-1.yaml") and not matches("pod-?.yaml", "pod-12.yaml")
    assert matches("[a-c].yaml", "b.yaml") and not matches("[^a-c].yaml", "b.yaml")
    assert matches("a.yaml", "a.yaml") and not matches("a.yaml", "aXyaml")
    assert glob_pattern("[a.yaml") is None


def test_red_team_r05_helm_release_of_a_local_chart_with_set_and_values(tmp_path: Path) -> None:
    release = (
        'resource "helm_release" "app" {\n'  # 1
        '  name      = "app"\n'  # 2
        '  chart     = "${path.module}/charts/app"\n'  # 3
        '  namespace = "prod"\n'  # 4
        "  set {\n"  # 5
        '    name  = "privileged"\n'  # 6
        '    value = "true"\n'  # 7
        "  }\n"  # 8
        '  values = [yamlencode({ hostPath = "/" })]\n'  # 9
        "}\n"
    )
    report_files = {**CHART, "release.tf": release}
    found = findings(tmp_path, report_files, "K8S-PSS-")
    assert ("K8S-PSS-PRIVILEGED", "charts/app/templates/pod.yaml", 9) in found
    assert ("K8S-PSS-HOST-PATH", "charts/app/templates/pod.yaml", 13) in found
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    set_at = {
        f.policy_id: f.extra.get("values")
        for f in report.verdict.findings
        if f.policy_id in ("K8S-PSS-PRIVILEGED", "K8S-PSS-HOST-PATH")
    }
    assert set_at == {"K8S-PSS-PRIVILEGED": "release.tf:7", "K8S-PSS-HOST-PATH": "release.tf:9"}


def test_red_team_s12_t08_a_postrender_program_is_said_not_judged(tmp_path: Path) -> None:
    """Helm pipes the rendering through the `postrender` program before installing it (a
    script turning `privileged: false` into true passed green): a blocking finding at the
    block, in the helm provider's block form and its 3.x object attribute form."""
    release = (
        'resource "helm_release" "app" {\n'  # 1
        '  name      = "app"\n'  # 2
        '  chart     = "${path.module}/charts/app"\n'  # 3
        "  postrender {\n"  # 4
        '    binary_path = "${path.module}/postrender.sh"\n'  # 5
        "  }\n"  # 6
        "}\n"  # 7
        'resource "helm_release" "v3" {\n'  # 8
        '  name       = "v3"\n'  # 9
        '  chart      = "${path.module}/charts/app"\n'  # 10
        '  postrender = { binary_path = "./postrender.sh", args = ["prod"] }\n'  # 11
        "}\n"  # 12
        'resource "helm_release" "plain" {\n'  # 13
        '  name  = "plain"\n'  # 14
        '  chart = "${path.module}/charts/app"\n'  # 15
        "}\n"
    )
    found = findings(tmp_path, {**CHART, "release.tf": release}, "GK-LOCAL-NOT-EXPANDED")
    assert found == {
        ("GK-LOCAL-NOT-EXPANDED", "release.tf", 4),
        ("GK-LOCAL-NOT-EXPANDED", "release.tf", 11),
    }


def test_a_remote_chart_is_said_not_expanded(tmp_path: Path) -> None:
    release = (
        'resource "helm_release" "x" {\n'
        '  name       = "x"\n'
        '  repository = "https://charts.example.com"\n'
        '  chart      = "x"\n'
        "}\n"
    )
    assert findings(tmp_path, {"release.tf": release}, "GK-NOT-EXPANDED") == {
        ("GK-NOT-EXPANDED", "release.tf", 4)
    }


def test_a_remote_charts_values_that_are_not_yaml_are_a_parse_error(tmp_path: Path) -> None:
    """Helm refuses a `values` string that is not YAML; for a local chart that was a
    GK-PARSE-ERROR, for a remote one it was dropped without a word (the credentials check
    reads the same strings)."""
    release = (
        'resource "helm_release" "x" {\n'  # 1
        '  name       = "x"\n'  # 2
        '  repository = "https://charts.example.com"\n'  # 3
        '  chart      = "x"\n'  # 4
        "  values = [\n"  # 5
        '    "replicas: [1",\n'  # 6
        '    "replicas: 2",\n'  # 7
        "  ]\n"  # 8
        "}\n"
    )
    assert findings(tmp_path, {"release.tf": release}, "GK-") == {
        ("GK-NOT-EXPANDED", "release.tf", 4),
        ("GK-PARSE-ERROR", "release.tf", 6),
    }


def test_red_team_r04_local_exec_commands_are_imperative_deploys(tmp_path: Path) -> None:
    deploy = (
        'resource "terraform_data" "deploy" {\n'  # 1
        '  provisioner "local-exec" {\n'  # 2
        '    command = "kubectl apply -f https://example.com/x.yaml && helm lint ./c"\n'  # 3
        "  }\n"  # 4
        "}\n"  # 5
        'resource "null_resource" "again" {\n'  # 6
        '  provisioner "local-exec" {\n'  # 7
        "    command = <<-EOT\n"  # 8
        "      kubectl diff -f k8s/\n"  # 9
        "      kubectl apply --dry-run=server -f k8s/\n"  # 10
        "      helm upgrade --install web ./chart\n"  # 11
        "    EOT\n"  # 12
        "  }\n"  # 13
        "}\n"
    )
    assert findings(tmp_path, {"deploy.tf": deploy}, "WF-") == {
        ("WF-GITOPS-IMPERATIVE-DEPLOY", "deploy.tf", 3),
        ("WF-GITOPS-IMPERATIVE-DEPLOY", "deploy.tf", 11),
    }


def test_a_local_exec_command_is_at_its_own_line(tmp_path: Path) -> None:
    """eks-workshop-v2 (noise3): a command interpolating a variable was located at the
    variable's default in another file, and a quoted command whose `\\n` escapes and
    template made several lines at a line of its template's arguments; a heredoc's
    commands stay at their lines, and a command that is a variable whole where it is set."""
    files = {
        "vars.tf": 'variable "crds" {\n  type    = string\n  default = "v1.2.0"\n}\n',
        "deploy.tf": (
            'resource "terraform_data" "crds" {\n'  # 1
            '  provisioner "local-exec" {\n'  # 2
            '    command = "kubectl apply -f https://example.com/${var.crds}/crds.yaml"\n'  # 3
            "  }\n"  # 4
            "}\n"  # 5
            'resource "null_resource" "inline" {\n'  # 6
            '  provisioner "local-exec" {\n'  # 7
            '    command = "kubectl apply -f - <<EOF\\n${templatefile("${path.module}/a.tpl", {\n'
            '      image = "registry.example.com/app:1"\n'  # 9
            '    })}\\nEOF"\n'  # 10
            "  }\n"  # 11
            "}\n"  # 12
            'resource "null_resource" "heredoc" {\n'  # 13
            '  provisioner "local-exec" {\n'  # 14
            "    command = <<-EOT\n"  # 15
            "      kubectl apply -f a.yaml\n"  # 16
            '      echo ${templatefile("${path.module}/a.tpl", {image = "x"})}\n'  # 17
            "      helm upgrade --install web ./chart\n"  # 18
            "    EOT\n"  # 19
            "  }\n"  # 20
            "}\n"
        ),
        "a.tpl": "one\ntwo\nthree\n",
        "mod/main.tf": (
            'variable "cmd" {\n  type = string\n}\n'
            'resource "null_resource" "whole" {\n'
            '  provisioner "local-exec" {\n'
            "    command = var.cmd\n"
            "  }\n"
            "}\n"
        ),
        "call.tf": 'module "m" {\n  source = "./mod"\n  cmd    = "kubectl apply -f b.yaml"\n}\n',
    }
    assert findings(tmp_path, files, "WF-") == {
        ("WF-GITOPS-IMPERATIVE-DEPLOY", "deploy.tf", 3),
        ("WF-GITOPS-IMPERATIVE-DEPLOY", "deploy.tf", 8),
        ("WF-GITOPS-IMPERATIVE-DEPLOY", "deploy.tf", 16),
        ("WF-GITOPS-IMPERATIVE-DEPLOY", "deploy.tf", 18),  # not past the heredoc's end
        ("WF-GITOPS-IMPERATIVE-DEPLOY", "call.tf", 3),
    }


def test_a_module_instance_provisioner_names_its_address_once(tmp_path: Path) -> None:
    """noise5: a module instance's job was `null_resource.module.y[0].null_resource.app`
    (the resource type before its whole address), and the instances run alike said `also
    run by <job> job <job>`; the address is the job (what `allowedJobs` names), once."""
    files = {
        "mod/main.tf": (
            'variable "url" {\n  type = string\n}\n'
            'resource "null_resource" "app" {\n'
            '  provisioner "local-exec" {\n'
            '    command = "kubectl apply -f ${var.url}"\n'
            "  }\n"
            "}\n"
        ),
        "main.tf": (
            'module "y" {\n  source = "./mod"\n  count  = 2\n'
            '  url    = "https://example.com/y.yaml"\n}\n'
        ),
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    messages = sorted(
        f"{f.file}:{f.line} {f.message}"
        for f in report.verdict.findings
        if f.policy_id == "WF-GITOPS-IMPERATIVE-DEPLOY"
    )
    assert messages == [
        "main.tf:4 imperative deploy from CI in job module.y[0].null_resource.app: kubectl"
        " apply -f https://example.com/y.yaml (only the GitOps controller should change the"
        " cluster); also run by job module.y[1].null_resource.app",
        "mod/main.tf:6 imperative deploy from CI in job null_resource.app: kubectl apply -f"
        " ${var.url} (only the GitOps controller should change the cluster)",
    ]


def test_a_pull_request_changing_only_the_chart_rejudges_the_release(tmp_path: Path) -> None:
    """The release sets `privileged=true`, which the base's template ignores; the pull
    request changes only the template to read it. The chart alone (its default `false`)
    passes: the release, rendered with its `set`, must be judged again."""
    from gatekeeper.change import scan_change
    from tests.test_change import CONFIG, POLICY, Repo

    repo = Repo(tmp_path / "repo")
    repo.write(".gatekeeper.yml", CONFIG)
    repo.write("policies/no-privileged.yaml", POLICY)
    ignoring = CHART["charts/app/templates/pod.yaml"].replace("{{ .Values.privileged }}", "false")
    files = {**CHART, "charts/app/templates/pod.yaml": ignoring}
    files["infra/release.tf"] = (
        'resource "helm_release" "app" {\n'
        '  name  = "app"\n'
        '  chart = "${path.module}/../charts/app"\n'
        "  set {\n"
        '    name  = "privileged"\n'
        '    value = "true"\n'
        "  }\n"
        "}\n"
    )
    for name, text in files.items():
        repo.write(name, text)
    repo.commit("base")
    repo.branch("pr")
    repo.write("charts/app/templates/pod.yaml", CHART["charts/app/templates/pod.yaml"])
    repo.commit("read the value")
    blocking = scan_change(repo.root, "main").verdict.blocking
    assert [(f.file, f.line, f.status) for f in blocking] == [
        ("charts/app/templates/pod.yaml", 9, "new")
    ]


def test_an_ingress_is_the_ingress_it_creates(tmp_path: Path) -> None:
    """`kubernetes_ingress_v1` (red team s12 t11): its annotations (an nginx snippet) and its
    rules (repeated `rule`, `path` blocks holding a `path` attribute) as the Ingress."""
    main = """\
resource "kubernetes_ingress_v1" "web" {
  metadata {
    name      = "web"
    namespace = "app"
    annotations = {
      "nginx.ingress.kubernetes.io/server-snippet" = "location /x { proxy_pass http://x; }"
    }
  }
  spec {
    rule {
      http {
        path {
          path = "/"
          backend {
            service {
              name = "web"
              port {
                number = 80
              }
            }
          }
        }
      }
    }
  }
}
"""
    found = findings(tmp_path, {"main.tf": main}, "K8S-NETWORK-INGRESS")
    assert found == {
        ("K8S-NETWORK-INGRESS-SNIPPETS", "main.tf", 6),
        ("K8S-NETWORK-INGRESS-HOST", "main.tf", 10),
    }
