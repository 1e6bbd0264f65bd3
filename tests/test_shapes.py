"""Wrongly typed Kubernetes objects: one GK-SCHEMA finding at the offending line, policies on
the well-formed rest, no evaluation-error noise."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from gatekeeper import kubeschema
from gatekeeper.evaluate import MAX_SHAPE_FINDINGS, Engine
from gatekeeper.finding import Finding
from gatekeeper.policy.loader import builtin_dir, load_bundle
from gatekeeper.scanner import scan
from tests.conftest import REPO, Run

ENGINE = Engine(load_bundle([builtin_dir() / "kubernetes"]))

MIXED = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        name: app
        image: nginx:1.25
        securityContext:
          privileged: true
      initContainers:
        - "setup"
        - name: init
          image: busybox:1.36
          securityContext:
            privileged: true
"""


def findings(text: str, name: str = "deploy.yaml", engine: Engine = ENGINE) -> list[Finding]:
    return scan([(name, text.encode())], engine, jobs=1).findings


def schema_lines(found: list[Finding]) -> list[tuple[int, str]]:
    return [(f.line, f.message) for f in found if f.policy_id == "GK-SCHEMA"]


def test_a_list_written_as_a_mapping_is_one_clear_finding_and_the_rest_is_still_judged() -> None:
    found = findings(MIXED)
    shapes = schema_lines(found)
    assert [line for line, _ in shapes] == [8, 14]
    assert shapes[0][1].startswith(
        "spec.template.spec.containers: expected a list, found a mapping (Deployment schema"
    )
    assert shapes[1][1].startswith(
        'spec.template.spec.initContainers[0]: expected a mapping, found the string "setup"'
    )
    (schema,) = [f for f in found if f.line == 8]
    assert schema.severity == "high" and schema.kind == "Deployment" and schema.name == "web"
    # The well-formed privileged init container is still reported, at its line.
    privileged = [(f.line, f.message) for f in found if f.policy_id == "K8S-PSS-PRIVILEGED"]
    assert privileged == [(18, "container init runs privileged")]
    # No noise: no evaluation error, no message about a container with no name.
    assert not [f for f in found if "could not be evaluated" in f.message]
    assert not [f for f in found if "container  " in f.message]
    assert all(f.line >= 14 for f in found if f.policy_id.startswith("K8S-PSS"))


@pytest.mark.parametrize(
    ("field", "line", "message"),
    [
        ("  replicas: '3'\n", 5, 'spec.replicas: expected an integer, found the string "3"'),
        ("  paused: 'yes'\n", 5, 'spec.paused: expected true or false, found the string "yes"'),
        ("  selector: app=web\n", 5, "spec.selector: expected a mapping, found the string"),
        ("  minReadySeconds: 1.5\n", 5, "spec.minReadySeconds: expected an integer, found the"),
    ],
)
def test_a_wrong_scalar_type_is_reported_at_its_line(field: str, line: int, message: str) -> None:
    text = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n" + field
    (shape,) = schema_lines(findings(text))
    assert shape[0] == line and shape[1].startswith(message)


def test_well_typed_alternatives_and_nulls_pass() -> None:
    text = """\
apiVersion: v1
kind: Pod
metadata:
  name: p
  labels: {app: web, tier: "1"}
  annotations:
spec:
  securityContext:
  containers:
    - name: app
      image: ghcr.io/acme/app:1.0
      ports: [{containerPort: 8080}]
      resources: {limits: {cpu: 1, memory: 64Mi}, requests: {cpu: "500m", memory: 1.5}}
      livenessProbe: {httpGet: {port: http, path: /}}
      readinessProbe: {httpGet: {port: 8080, path: /}}
"""
    assert kubeschema.shape_errors(yaml.safe_load(text)) == []


def test_kinds_without_a_schema_are_not_checked() -> None:
    for text in (
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: [1, 2]\n",
        "apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: w}\nspec: []\n",
    ):
        assert schema_lines(findings(text)) == []


def test_a_label_value_that_is_not_a_string_is_reported() -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  labels:\n    version: 1.10\n"
    assert schema_lines(findings(text)) == [
        (
            6,
            "metadata.labels.version: expected a string, found the number 1.1 "
            f"(ConfigMap schema of Kubernetes {kubeschema.schema_version()})",
        )
    ]


def test_findings_are_capped_per_document_and_say_so() -> None:
    env = "".join(f"        - {index}\n" for index in range(MAX_SHAPE_FINDINGS + 5))
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
        "    - name: app\n      image: x\n      env:\n" + env
    )
    shapes = schema_lines(findings(text))
    assert len(shapes) == MAX_SHAPE_FINDINGS
    assert shapes[-1][1].endswith("; 5 more ill-typed field(s) not listed")


def test_the_fingerprint_survives_a_line_move() -> None:
    text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: {}\n"
    (before,) = [f for f in findings(text) if f.policy_id == "GK-SCHEMA"]
    (after,) = [f for f in findings("\n\n" + text) if f.policy_id == "GK-SCHEMA"]
    assert after.line == before.line + 2 and after.fingerprint == before.fingerprint


def test_the_example_manifests_have_no_shape_finding() -> None:
    """Noise check: well-formed manifests give no GK-SCHEMA."""
    root = REPO / "examples"
    files = [
        (path.relative_to(REPO).as_posix(), path.read_bytes())
        for path in sorted(root.rglob("*.yaml"))
        if "templates" not in path.parts
    ]
    result = scan(files, ENGINE, jobs=1)
    assert result.files
    assert [f for f in result.findings if f.policy_id == "GK-SCHEMA"] == []


def test_the_schemas_ship_with_the_package() -> None:
    assert kubeschema.known("apps/v1", "Deployment")
    assert kubeschema.known("batch/v1", "CronJob")
    assert kubeschema.known("networking.k8s.io/v1", "NetworkPolicy")
    assert not kubeschema.known("argoproj.io/v1alpha1", "Application")
    assert Path(kubeschema.__file__).exists() and kubeschema.schema_version().startswith("v1.")


def test_an_evaluation_error_on_a_kind_without_schema_blocks_but_is_not_critical(
    tmp_path: Path,
) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "policy.yaml").write_text(
        "id: TEST-WIDGET\ntitle: Widgets are safe\nseverity: critical\ndescription: d\n"
        "remediation: r\nmatch: {source: kubernetes, kinds: [Widget]}\n"
        'rule: "object.spec.size < 3"\n'
    )
    engine = Engine(load_bundle([tmp_path / "p"]))
    text = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: big}\n"
    (error,) = findings(text, engine=engine)
    assert error.severity == "high" and error.extra["evaluation_error"]
    assert "a field it reads has an unexpected type" in error.message


def test_a_number_that_only_kubectl_reads_as_a_number_is_judged_as_that_number() -> None:
    """`runAsUser: 0e0` is a string to PyYAML and the number 0 to kubectl's YAML reader: the
    pod runs as root. It was a silent pass; now the policy judges 0, and the spelling is
    reported."""
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
        "    - name: app\n      image: app:1\n"
        "      securityContext: {runAsUser: 0e0}\n"
        "      ports: [{containerPort: 8080, hostPort: 8e1}]\n"
    )
    found = findings(text)
    shapes = schema_lines(found)
    assert [line for line, _ in shapes] == [8, 9]
    assert "(unquoted, Kubernetes tools read it as the number 0)" in shapes[0][1]
    judged = {f.policy_id: (f.line, f.message) for f in found}
    assert judged["K8S-PSS-RUN-AS-USER"] == (8, "container app runs as UID 0 (root)")
    assert judged["K8S-PSS-HOST-PORTS"][1].endswith("bound to host port 80")


@pytest.mark.parametrize(
    ("text", "number"),
    [("0e0", 0), ("8e1", 80), ("1.5e3", 1500), ("0o17", 15), ("1_000", 1000), ("-2E-1", -0.2)],
)
def test_go_yaml_numbers(text: str, number: float) -> None:
    assert kubeschema.go_yaml_number(text) == number
    assert kubeschema.go_yaml_number("8080/TCP") is None and kubeschema.go_yaml_number("e1") is None


def test_the_plain_evaluation_path_judges_the_well_formed_rest_too(tmp_path: Path) -> None:
    """A param with no CEL literal (an int past 2**63) sends every evaluation down the plain
    path: it must skip the ill-typed subjects and still report the well-formed ones."""
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "policy.yaml").write_text(
        "id: TEST-PLAIN\ntitle: No privileged containers\nseverity: high\ndescription: d\n"
        "remediation: r\nmatch: {source: kubernetes, kinds: [Pod]}\n"
        "params: {big: 9223372036854775808}\n"
        "each: ['spec.containers[*]', 'spec.initContainers[*]']\n"
        'rule: "!item.?securityContext.?privileged.orValue(false)"\n'
        "field: securityContext.privileged\n"
    )
    engine = Engine(load_bundle([tmp_path / "p"]))
    found = findings(MIXED, engine=engine)
    assert [(f.policy_id, f.line) for f in found] == [
        ("GK-SCHEMA", 8),
        ("GK-SCHEMA", 14),
        ("TEST-PLAIN", 18),
    ]


def test_a_number_helm_prints_with_an_exponent_is_judged_not_reported(
    gatekeeper: Callable[..., Run], write: Callable[[str, str], Path], tmp_path: Path
) -> None:
    """postgres-operator's PriorityClass `value: {{ .Values.podPriorityClassName.priority }}`
    with `priority: 1000000`: Helm reads values' numbers as float64 and prints `1e+06`, a
    string to PyYAML, the number to Kubernetes; a blocking GK-SCHEMA no one can act on but by
    rewriting the template. A chart's number spelled as Go prints it is judged as the number
    and not reported; one a template writes otherwise (`8e+01`, Go prints 80) and a plain
    manifest's `1e+06` still are."""
    write(".gatekeeper.yml", "packs: [kubernetes]\n")
    write("chart/Chart.yaml", "apiVersion: v2\nname: db\nversion: 1.0.0\n")
    write("chart/values.yaml", "priority: 1000000\nport: 8e+01\n")
    write(
        "chart/templates/priority.yaml",
        "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata:\n  name: db\n"
        "value: {{ .Values.priority }}\n",
    )
    write(
        "chart/templates/pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n"
        "    - name: app\n      image: ghcr.io/acme/app:1.0\n"
        "      ports: [{containerPort: 8080, hostPort: 8e+01}]\n",
    )
    write(
        "plain/priority.yaml",
        "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata:\n  name: p\n"
        "value: 1e+06\n",
    )
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    found = json.loads(run.stdout)["findings"]
    schema = sorted((f["file"], f["line"]) for f in found if f["policy_id"] == "GK-SCHEMA")
    assert schema == [("chart/templates/pod.yaml", 9), ("plain/priority.yaml", 5)]
    ports = [f["message"] for f in found if f["policy_id"] == "K8S-PSS-HOST-PORTS"]
    assert ports == ["container port 8080 is bound to host port 80"]
