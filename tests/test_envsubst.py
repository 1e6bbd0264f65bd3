"""A manifest written for envsubst is judged as envsubst fills it, not as written."""

from __future__ import annotations

from typing import Any

from gatekeeper.evaluate import Engine
from gatekeeper.policy.loader import load_policy_file
from gatekeeper.scanner import scan
from gatekeeper.sources import LoadContext, envsubst, kubernetes
from gatekeeper.tree import MemoryTree
from tests.conftest import REPO

TEMPLATE = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${APP:-web}
  namespace: ${NAMESPACE}
spec:
  replicas: ${REPLICAS:-2}
  template:
    spec:
      containers:
        - name: web
          image: ghcr.io/acme/web:${TAG}
          args: ["${LOG_LEVEL:-4}"]
          ports:
            - containerPort: ${PORT:-8080}
          securityContext:
            privileged: ${PRIVILEGED:-true}
"""


def found(files: dict[str, str]) -> list[tuple[str, int, str]]:
    pairs = [(name, text.encode()) for name, text in sorted(files.items())]
    policies = [REPO / "policies" / "kubernetes" / "pss-baseline-privileged.yaml"]
    engine = Engine([load_policy_file(path) for path in policies])
    context = LoadContext(tree=MemoryTree(dict(pairs)))
    result = scan(pairs, engine, 1, context).findings
    return sorted((f.policy_id, f.line, f.severity) for f in result)


def test_placeholders_are_filled_as_envsubst_fills_them() -> None:
    loaded = kubernetes.load("deploy.yaml", TEMPLATE.encode())
    obj: Any = loaded.documents[0].obj
    container = obj["spec"]["template"]["spec"]["containers"][0]
    assert obj["metadata"] == {"name": "web", "namespace": None}
    assert obj["spec"]["replicas"] == 2
    assert container["image"] == "ghcr.io/acme/web:${TAG}"  # inside a value: as written
    assert container["args"] == ["4"]  # quoted: a string
    assert container["ports"] == [{"containerPort": 8080}]
    assert [(p.code, p.line) for p in loaded.problems] == [("GK-TEMPLATE", 4)]
    assert "${APP:-web}" in TEMPLATE  # the file itself is judged as envsubst fills it


def test_no_schema_error_for_a_placeholder_and_its_default_is_judged() -> None:
    """kubernetes-engine-samples' inference-pool-variables.yaml: 10 high GK-SCHEMA."""
    assert found({"deploy.yaml": TEMPLATE}) == [
        ("GK-TEMPLATE", 4, "low"),
        ("K8S-PSS-PRIVILEGED", 17, "critical"),  # the default deploys a privileged pod
    ]


def test_a_file_a_deployer_applies_as_written_keeps_its_placeholders() -> None:
    loaded = kubernetes.load("deploy.yaml", TEMPLATE.encode(), applied=True)
    assert loaded.documents[0].obj["spec"]["replicas"] == "${REPLICAS:-2}"
    assert loaded.problems == []


def test_a_placeholder_in_a_string_field_alone_is_left_as_written() -> None:
    """grafana-operator fills `password: "${DB_PASSWORD}"` from its `valuesFrom`: no
    envsubst, nothing to say; a number field holding one makes the file a template."""
    secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData:\n  password: ${PW}\n"
    loaded = kubernetes.load("secret.yaml", secret.encode())
    assert loaded.documents[0].obj["stringData"] == {"password": "${PW}"}
    assert loaded.problems == []
    typed = TEMPLATE.replace("${REPLICAS:-2}", "${REPLICAS}").replace(":-", "_")
    loaded = kubernetes.load("deploy.yaml", typed.encode())
    assert loaded.documents[0].obj["spec"]["replicas"] is None
    assert [(p.code, p.line) for p in loaded.problems] == [("GK-TEMPLATE", 4)]


def test_only_a_value_that_is_a_placeholder_alone_makes_a_file_one_to_fill() -> None:
    """A file with `${` only inside values or in keys is read as written, without the
    composer: envsubst.filled would have nothing to fill."""
    assert envsubst.has_placeholder({"spec": {"args": ["run", " ${LEVEL:-4} "]}})
    assert envsubst.has_placeholder([{"replicas": "${REPLICAS}"}])
    assert not envsubst.has_placeholder({"image": "web:${TAG}", "${KEY}": 1, "n": 2})
    assert not envsubst.has_placeholder({"script": "echo ${HOME} ${PATH}", "bad": "${1X}"})
    shell = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  run: echo ${HOME}\n"
    loaded = kubernetes.load("script.yaml", shell.encode())
    assert loaded.documents[0].obj["data"] == {"run": "echo ${HOME}"}
    assert loaded.documents[0].locator.locate(("data", "run")).line == 5
    assert loaded.problems == []
