"""The built-in library: every policy's own cases, naming, Pod Security Standards coverage."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest

from gatekeeper.commands.test import run_case
from gatekeeper.evaluate import Engine
from gatekeeper.policy.loader import builtin_dir, load_bundle, load_policy_file
from gatekeeper.policy.model import Policy
from gatekeeper.scanner import scan
from tests.conftest import REPO, Run

POLICIES = load_bundle([builtin_dir()])
BY_ID = {policy.id: policy for policy in POLICIES}
KUBERNETES = [policy for policy in POLICIES if policy.pack == "kubernetes"]
CASES = [(policy, case) for policy in POLICIES for case in policy.tests]
CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")


@pytest.mark.parametrize(
    ("policy", "case"), CASES, ids=[f"{policy.id}:{case['name']}" for policy, case in CASES]
)
def test_policy_case(policy: Policy, case: dict[str, object]) -> None:
    result = run_case(policy, case)
    assert result.passed, f"{policy.file}: {result.detail}"


class Control(NamedTuple):
    level: str  # baseline | restricted
    policies: tuple[str, ...]
    containers: bool = False  # restricted on containers, initContainers and ephemeralContainers
    pod: bool = False  # restricted on spec.securityContext too


# Every control of the Pod Security Standards (kubernetes.io/docs/concepts/security/
# pod-security-standards), Kubernetes 1.34, and the policies that enforce it.
PSS_CONTROLS: dict[str, Control] = {
    "HostProcess": Control("baseline", ("K8S-PSS-HOST-PROCESS",), containers=True, pod=True),
    "Host Namespaces": Control("baseline", ("K8S-PSS-HOST-NAMESPACES",)),
    "Privileged Containers": Control("baseline", ("K8S-PSS-PRIVILEGED",), containers=True),
    "Capabilities (baseline)": Control("baseline", ("K8S-PSS-CAPABILITIES",), containers=True),
    "HostPath Volumes": Control("baseline", ("K8S-PSS-HOST-PATH",)),
    "Host Ports": Control("baseline", ("K8S-PSS-HOST-PORTS",), containers=True),
    "Host Probes / Lifecycle Hooks": Control("baseline", ("K8S-PSS-HOST-PROBES",), containers=True),
    "AppArmor": Control(
        "baseline", ("K8S-PSS-APPARMOR", "K8S-PSS-APPARMOR-ANNOTATIONS"), containers=True, pod=True
    ),
    "SELinux": Control("baseline", ("K8S-PSS-SELINUX",), containers=True, pod=True),
    "/proc Mount Type": Control("baseline", ("K8S-PSS-PROC-MOUNT",), containers=True),
    "Seccomp (baseline)": Control("baseline", ("K8S-PSS-SECCOMP",), containers=True, pod=True),
    "Sysctls": Control("baseline", ("K8S-PSS-SYSCTLS",)),
    "/proc Mount Type (restricted)": Control(
        "restricted", ("K8S-PSS-PROC-MOUNT-DEFAULT",), containers=True
    ),
    "Volume Types": Control("restricted", ("K8S-PSS-VOLUME-TYPES",)),
    "Privilege Escalation": Control(
        "restricted", ("K8S-PSS-PRIVILEGE-ESCALATION",), containers=True
    ),
    "Running as Non-root": Control(
        "restricted", ("K8S-PSS-RUN-AS-NON-ROOT",), containers=True, pod=True
    ),
    "Running as Non-root user": Control(
        "restricted", ("K8S-PSS-RUN-AS-USER",), containers=True, pod=True
    ),
    "Seccomp (restricted)": Control("restricted", ("K8S-PSS-SECCOMP-REQUIRED",), containers=True),
    "Capabilities (restricted)": Control(
        "restricted", ("K8S-PSS-CAPABILITIES-DROP-ALL", "K8S-PSS-CAPABILITIES-ADD"), containers=True
    ),
}


@pytest.mark.parametrize("control", sorted(PSS_CONTROLS))
def test_pss_control_is_enforced(control: str) -> None:
    spec = PSS_CONTROLS[control]
    for policy_id in spec.policies:
        assert policy_id in BY_ID, f"{control}: {policy_id} is not in the library"
        policy = BY_ID[policy_id]
        assert policy.raw.get("tags") == [f"pss-{spec.level}"], policy.file
        assert policy.pod_policy, f"{policy_id} must run on every workload kind"
        assert f'Pod Security Standards {spec.level} "' in " ".join(policy.references)
    subjects = [
        str(pattern[:2]) for policy_id in spec.policies for pattern in (list(BY_ID[policy_id].each))
    ]
    if spec.containers:
        for name in CONTAINER_LISTS:
            assert any(f"'{name}'" in subject for subject in subjects), (control, name)
    if spec.pod:
        assert any(subject == "('spec',)" for subject in subjects), control


def test_every_pss_policy_is_in_the_control_table() -> None:
    tagged = {p.id for p in KUBERNETES if any(t.startswith("pss-") for t in p.raw.get("tags", []))}
    listed = {policy_id for control in PSS_CONTROLS.values() for policy_id in control.policies}
    assert tagged == listed


# Violates every control of the standard, once.
EVERY_VIOLATION = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: bad, namespace: shop}
spec:
  selector: {matchLabels: {app: bad}}
  template:
    metadata:
      labels: {app: bad}
      annotations:
        container.apparmor.security.beta.kubernetes.io/app: unconfined
    spec:
      hostNetwork: true
      securityContext:
        windowsOptions: {hostProcess: true}
        seLinuxOptions: {type: spc_t}
        seccompProfile: {type: Unconfined}
        appArmorProfile: {type: Unconfined}
        runAsNonRoot: false
        runAsUser: 0
        sysctls: [{name: kernel.msgmax, value: "65536"}]
      containers:
        - name: app
          image: ghcr.io/acme/app:1.0
          ports: [{containerPort: 80, hostPort: 80}]
          livenessProbe: {httpGet: {port: 80, host: 10.0.0.1}}
          securityContext:
            privileged: true
            procMount: Unmasked
            allowPrivilegeEscalation: true
            capabilities: {add: [SYS_ADMIN]}
      volumes:
        - {name: host, hostPath: {path: /}}
"""

# Meets the restricted profile.
RESTRICTED = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: good, namespace: shop}
spec:
  selector: {matchLabels: {app: good}}
  template:
    metadata: {labels: {app: good}}
    spec:
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        seccompProfile: {type: RuntimeDefault}
      initContainers:
        - name: init
          image: ghcr.io/acme/init:1.0
          securityContext:
            allowPrivilegeEscalation: false
            capabilities: {drop: [ALL]}
      containers:
        - name: app
          image: ghcr.io/acme/app:1.0
          ports: [{containerPort: 8080}]
          securityContext:
            allowPrivilegeEscalation: false
            capabilities: {drop: [ALL], add: [NET_BIND_SERVICE]}
      volumes:
        - {name: tmp, emptyDir: {}}
        - {name: data, persistentVolumeClaim: {claimName: data}}
"""


def pss_findings(manifest: str) -> dict[str, int]:
    pss = [BY_ID[policy_id] for c in PSS_CONTROLS.values() for policy_id in c.policies]
    result = scan([("deploy.yaml", manifest.encode())], Engine(pss), jobs=1)
    counts: dict[str, int] = {}
    for finding in result.findings:
        assert not finding.extra.get("evaluation_error"), finding.message
        counts[finding.policy_id] = counts.get(finding.policy_id, 0) + 1
    return counts


def test_a_manifest_breaking_every_control_fails_every_pss_policy() -> None:
    expected = {policy_id for c in PSS_CONTROLS.values() for policy_id in c.policies}
    assert set(pss_findings(EVERY_VIOLATION)) == expected


def test_a_restricted_deployment_passes_every_pss_policy() -> None:
    assert pss_findings(RESTRICTED) == {}


ID_SCHEME = re.compile(
    r"^K8S-(PSS|POD|IMAGE|NETWORK|SA|META|RBAC|API|STORAGE|ADMISSION|NODE|CONFIGMAP)-[A-Z0-9]+(-[A-Z0-9]+)*$"
)


def test_policy_ids_are_unique_across_packs() -> None:
    ids = [load_policy_file(Path(policy.file)).id for policy in POLICIES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("policy", KUBERNETES, ids=[policy.id for policy in KUBERNETES])
def test_kubernetes_policy_naming_and_metadata(policy: Policy) -> None:
    assert ID_SCHEME.match(policy.id), policy.id
    area, rest = policy.id.split("-", 2)[1:]
    stem = Path(policy.file).stem
    if area == "PSS":
        (tag,) = policy.raw["tags"]
        assert stem == f"{tag}-{rest.lower()}", policy.file
    else:
        assert stem == f"{area.lower()}-{rest.lower()}", policy.file
    assert policy.references, policy.id
    assert any(case["expect"] == "pass" for case in policy.tests), policy.id
    fails = [case for case in policy.tests if case["expect"] == "fail"]
    assert any("lines" in case for case in fails), f"{policy.id}: no fail case pins its lines"
    if policy.pod_policy:
        kinds = {str(case["input"]).split("kind: ", 1)[1].split("\n", 1)[0] for case in fails}
        assert kinds - {"Pod"}, f"{policy.id}: no fail case on a workload kind other than Pod"


def test_repository_scope_honours_match_namespaces(tmp_path: Path) -> None:
    policy_file = tmp_path / "p.yaml"
    policy_file.write_text(
        "id: TEST-REPO-NS\ntitle: every workload is reported\nseverity: low\n"
        "description: d\nremediation: r\nscope: repository\n"
        "match: {source: kubernetes, kinds: [Pod], excludeNamespaces: [kube-system]}\n"
        "rule: 'false'\n"
    )
    manifest = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: kube-system}\n---\n"
        "apiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: shop}\n"
    )
    engine = Engine([load_policy_file(policy_file)])
    findings = scan([("pods.yaml", manifest.encode())], engine, jobs=1).findings
    assert [(f.name, f.line) for f in findings] == [("b", 7)]


def test_cel_bind_is_available() -> None:
    from gatekeeper.policy.cel import Program

    assert Program("cel.bind(x, object.a, x + x)").evaluate({"object": {"a": 2}}) == 4


Gatekeeper = Callable[..., Run]


def test_demo_repo_deploy_findings(gatekeeper: Gatekeeper) -> None:
    # --root: the example stands for a repository of its own (it sits inside ours)
    run = gatekeeper(
        "scan", "deploy", "--root", ".", "--format", "json", cwd=REPO / "examples" / "demo-repo"
    )
    assert run.returncode == 1, run.stderr
    findings = json.loads(run.stdout)["findings"]
    assert {f["file"] for f in findings} == {"deploy/web.yaml"}, "deploy/api.yaml must stay clean"
    found = {(f["policy_id"], f["line"]) for f in findings}
    assert {
        ("K8S-PSS-PRIVILEGED", 28),
        ("K8S-PSS-HOST-PORTS", 23),
        ("K8S-PSS-HOST-PATH", 31),
        ("K8S-IMAGE-TAG-PINNED", 20),
        ("K8S-IMAGE-ALLOWED-REGISTRY", 20),
        ("K8S-POD-ENV-SECRETS", 26),
    } <= found


def test_null_fields_are_unset_not_errors() -> None:
    """Helm leaves `securityContext:` and `labels:` empty; the API server drops such nulls."""
    manifest = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: helm-ish
  labels:
spec:
  template:
    metadata:
      annotations:
    spec:
      securityContext:
      volumes:
        - name: cache
          emptyDir:
      containers:
        - name: app
          image: ghcr.io/acme/app:1.0
          securityContext:
            capabilities:
              add:
          resources:
          env:
            - name: TOKEN
              value:
"""
    engine = Engine(KUBERNETES)
    findings = scan([("deploy.yaml", manifest.encode())], engine, jobs=1).findings
    assert [f.message for f in findings if f.extra.get("evaluation_error")] == []
    ids = {f.policy_id for f in findings}
    assert {"K8S-PSS-RUN-AS-NON-ROOT", "K8S-POD-RESOURCES", "K8S-META-REQUIRED-LABELS"} <= ids
    assert "K8S-POD-ENV-SECRETS" not in ids


def test_pack_readme_lists_every_policy_with_its_severity() -> None:
    readme = (REPO / "policies" / "kubernetes" / "README.md").read_text()
    for policy in KUBERNETES:
        assert f"| `{policy.id}` | {policy.severity} |" in readme, policy.id


def test_gatekeeper_yml_params_override_builtin_defaults(
    gatekeeper: Gatekeeper, tmp_path: Path
) -> None:
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "api.yaml").write_bytes(
        (REPO / "examples" / "demo-repo" / "deploy" / "api.yaml").read_bytes()
    )
    (tmp_path / ".gatekeeper.yml").write_text(
        "params:\n"
        "  K8S-META-REQUIRED-LABELS: {labels: [app.kubernetes.io/name, team]}\n"
        "  K8S-IMAGE-ALLOWED-REGISTRY: {allowedRegistries: [quay.io]}\n"
    )
    run = gatekeeper("scan", "deploy", "--format", "json", cwd=tmp_path)
    findings = json.loads(run.stdout)["findings"]
    messages = {f["policy_id"]: f["message"] for f in findings}
    assert set(messages) == {"K8S-META-REQUIRED-LABELS", "K8S-IMAGE-ALLOWED-REGISTRY"}
    assert messages["K8S-META-REQUIRED-LABELS"].endswith("lacks the label(s) team")
    assert "(quay.io)" in messages["K8S-IMAGE-ALLOWED-REGISTRY"]


def test_findings_in_test_fixture_and_docs_paths_inform_without_blocking(
    gatekeeper: Gatekeeper, tmp_path: Path
) -> None:
    """Test data is not what is deployed: reported, marked advisory, not blocking; unless an
    Application of the repository deploys it, or advisoryPaths is emptied."""
    pod = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
        "    - name: c\n      image: ghcr.io/acme/c:1.0\n"
        "      securityContext: {privileged: true}\n"
    )
    (tmp_path / "tests/fixtures").mkdir(parents=True)
    (tmp_path / "tests/fixtures/pod.yaml").write_text(pod)
    run = gatekeeper("scan", ".", "--format", "json", cwd=tmp_path)
    report = json.loads(run.stdout)
    privileged = [f for f in report["findings"] if f["policy_id"] == "K8S-PSS-PRIVILEGED"]
    assert run.returncode == 0, run.stdout
    assert [(f["blocking"], f["extra"]["advisory"]) for f in privileged] == [(False, True)]
    text = gatekeeper("scan", ".", cwd=tmp_path).stdout
    assert "[advisory]" in text and "do not block (advisoryPaths" in text
    (tmp_path / "app.yaml").write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: fx}\n"
        "spec:\n  project: x\n  destination: {namespace: fx}\n"
        "  source: {path: tests/fixtures, targetRevision: v1}\n"
    )
    assert gatekeeper("scan", ".", cwd=tmp_path).returncode == 1  # deployed: it counts
    (tmp_path / "app.yaml").unlink()
    (tmp_path / "tests/fixtures/kustomization.yaml").write_text("resources:\n  - pod.yaml\n")
    assert gatekeeper("scan", ".", cwd=tmp_path).returncode == 0  # built by a test itself
    (tmp_path / "deploy").mkdir()  # a kustomization outside the test paths builds it
    (tmp_path / "deploy/kustomization.yaml").write_text("resources:\n  - ../tests/fixtures\n")
    run = gatekeeper("scan", ".", "--format", "json", cwd=tmp_path)
    assert run.returncode == 1
    blocking = [f["policy_id"] for f in json.loads(run.stdout)["findings"] if f["blocking"]]
    assert "K8S-PSS-PRIVILEGED" in blocking and "GK-RENDER-ERROR" not in blocking
    (tmp_path / "deploy/kustomization.yaml").unlink()
    (tmp_path / ".gatekeeper.yml").write_text("advisoryPaths: []\n")
    assert gatekeeper("scan", ".", cwd=tmp_path).returncode == 1


def test_pod_security_version_from_the_configuration(
    gatekeeper: Gatekeeper, tmp_path: Path
) -> None:
    """`podSecurity.version` judges every K8S-PSS-* control as it stood at that version: a
    v1.18 cluster did not require dropping capabilities or a seccomp profile, and tcp_rmem
    became safe only in v1.32."""
    (tmp_path / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: x}\nspec:\n"
        "  securityContext:\n    runAsNonRoot: true\n"
        "    sysctls: [{name: net.ipv4.tcp_rmem, value: '4096 87380 6291456'}]\n"
        "  containers:\n    - name: app\n      image: ghcr.io/acme/app:1.0\n"
        "      securityContext: {allowPrivilegeEscalation: false}\n"
    )

    def pss(config: str) -> list[str]:
        (tmp_path / ".gatekeeper.yml").write_text(config)
        run = gatekeeper("scan", "pod.yaml", "--format", "json", cwd=tmp_path)
        assert run.returncode in (0, 1), run.stderr
        return sorted(
            {
                f["policy_id"]
                for f in json.loads(run.stdout)["findings"]
                if "-PSS-" in f["policy_id"]
            }
        )

    assert pss("severityThreshold: high\n") == [
        "K8S-PSS-CAPABILITIES-DROP-ALL",
        "K8S-PSS-SECCOMP-REQUIRED",
    ]
    assert pss("podSecurity: {version: v1.18}\n") == ["K8S-PSS-SYSCTLS"]
    assert (
        pss("podSecurity: {version: v1.18}\nparams:\n  K8S-PSS-SYSCTLS: {version: latest}\n") == []
    )


@pytest.mark.parametrize(
    ("api_version", "kind", "prefix"),
    [
        ("v1", "PodTemplate", "template:\n"),
        ("apps.openshift.io/v1", "DeploymentConfig", "spec:\n  template:\n"),
        ("argoproj.io/v1alpha1", "Rollout", "spec:\n  template:\n"),
    ],
)
def test_every_kind_with_a_pod_template_is_judged(api_version: str, kind: str, prefix: str) -> None:
    indent = "  " * prefix.count("\n")
    template = (
        "metadata: {labels: {app: x}}\nspec:\n  containers:\n    - name: c\n"
        "      image: ghcr.io/acme/c:1.0\n      securityContext: {privileged: true}\n"
    )
    body = "".join(indent + line + "\n" for line in template.splitlines())
    manifest = f"apiVersion: {api_version}\nkind: {kind}\nmetadata: {{name: x}}\n{prefix}{body}"
    result = scan([("x.yaml", manifest.encode())], Engine([BY_ID["K8S-PSS-PRIVILEGED"]]), jobs=1)
    found = result.findings
    assert [f.path.rsplit(".securityContext", 1)[0] for f in found] == [
        ("template" if kind == "PodTemplate" else "spec.template") + ".spec.containers[0]"
    ]


def test_a_namespace_enforcing_a_level_says_the_pod_will_be_rejected(
    gatekeeper: Gatekeeper, tmp_path: Path
) -> None:
    """The repository's Namespace labels predict admission: a baseline violation in a
    namespace enforcing restricted will be rejected; a restricted one in a namespace that
    only warns at restricted will be warned about; no labels, no prediction."""
    (tmp_path / "ns.yaml").write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: prod\n  labels:\n"
        "    pod-security.kubernetes.io/enforce: restricted\n"
        "    pod-security.kubernetes.io/enforce-version: v1.30\n---\n"
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: dev\n  labels:\n"
        "    pod-security.kubernetes.io/enforce: privileged\n"
        "    pod-security.kubernetes.io/warn: restricted\n"
    )
    for namespace in ("prod", "dev", "other"):
        (tmp_path / f"{namespace}.yaml").write_text(
            f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p, namespace: {namespace}}}\nspec:\n"
            "  containers:\n    - name: c\n      image: ghcr.io/acme/c:1.0\n"
            "      securityContext: {privileged: true}\n"
        )
    run = gatekeeper("scan", ".", "--format", "json", cwd=tmp_path)
    privileged = {
        f["file"]: (f["extra"].get("admission"), f["message"])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == "K8S-PSS-PRIVILEGED"
    }
    assert privileged["prod.yaml"][0] == "rejected"
    assert "enforce=restricted:v1.30: the API server will reject it" in privileged["prod.yaml"][1]
    assert privileged["dev.yaml"][0] == "warned"
    assert privileged["other.yaml"] == (None, "container c runs privileged")


def test_default_namespace_is_not_reported_where_helm_renders_the_release_namespace(
    gatekeeper: Gatekeeper, tmp_path: Path
) -> None:
    """Helm renders `{{ .Release.Namespace }}` as `default` when no namespace is configured: a
    chart's own objects are the deployer's choice; a plain manifest saying `default` is not."""
    chart = tmp_path / "charts" / "app"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: app\nversion: 0.1.0\n")
    (chart / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n"
        "  namespace: {{ .Release.Namespace }}\n"
        "  labels: {app.kubernetes.io/managed-by: {{ .Release.Service }}}\n"
    )
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: stray\n  namespace: default\n"
    )
    run = gatekeeper(
        "scan", ".", "--format", "json", "--no-builtin", "--policies",
        str(REPO / "policies" / "kubernetes"), cwd=tmp_path,
    )  # fmt: skip
    report = json.loads(run.stdout)
    found = [
        (f["file"], f["line"], f["source"])
        for f in report["findings"]
        if f["policy_id"] == "K8S-META-DEFAULT-NAMESPACE"
    ]
    assert found == [("deploy/cm.yaml", 5, "kubernetes")], run.stderr
    rendered = [f for f in report["findings"] if f["source"] == "helm"]
    assert not [f for f in rendered if f["policy_id"].startswith("GK-")], rendered


def test_a_policy_whose_tests_hold_an_admission_policy_is_still_loaded(tmp_path: Path) -> None:
    """A policy file is skipped as an admission policy (which gatekeeper.admission runs)
    only when the admission kind is its own top-level kind: K8S-ADMISSION-MUTATION, whose
    test input holds a ValidatingAdmissionPolicy, was silently not loaded."""
    from gatekeeper.policy.loader import is_admission_file

    ours = REPO / "policies" / "kubernetes" / "admission-mutation.yaml"
    assert not is_admission_file(ours)
    vap = tmp_path / "vap.yaml"
    vap.write_text(
        "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\n"
        "metadata: {name: x}\nspec: {validations: [{expression: 'true'}]}\n"
    )
    assert is_admission_file(vap)
