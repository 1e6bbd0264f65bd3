"""Another tool's YAML template (not valid YAML as written) is a low notice, not a blocking
parse error; what a deployer applies is judged as before (real-repository noise, session 7)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gatekeeper.evaluate import Engine
from gatekeeper.policy.loader import load_policy_file
from gatekeeper.scanner import scan
from gatekeeper.sources import LoadContext
from gatekeeper.tree import MemoryTree
from tests.conftest import REPO, Run
from tests.test_gitops import TOOL

PRIVILEGED = REPO / "policies" / "kubernetes" / "pss-baseline-privileged.yaml"
CLOUD_INIT = """\
#cloud-config
write_files:
  - path: /etc/sysctl.d/99-forward.conf
    content: |
      net.ipv4.ip_forward = 1
runcmd:
  - sysctl -p
%{ for command in commands ~}
  - '${command}'
%{ endfor ~}
"""
GO_FRAGMENT = """\
{{- if CRD_CONDITION }}
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: "CRD_NAME"
"""
PLACEHOLDER = """\
apiVersion: v1
kind: Service
metadata: {name: dns}
spec:
  type: ClusterIP
  clusterIP: {SERVICE_IP_PREFIX}.16
  ports: [{port: 53}]
"""
AT_PLACEHOLDER = """\
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: @STS_NAME@
spec:
  serviceName: @STS_NAME@
"""
POD = TOOL.replace("busybox:1.36", "${IMAGE}")  # a privileged Pod


def found(files: dict[str, str], options: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    pairs = [(name, text.encode()) for name, text in sorted(files.items())]
    engine = Engine([load_policy_file(PRIVILEGED)])
    context = LoadContext(tree=MemoryTree(dict(pairs)), options=options or {})
    return sorted(
        (f.policy_id, f.severity, f.file, f.line) for f in scan(pairs, engine, 1, context).findings
    )


def test_a_template_of_another_tool_is_a_low_notice() -> None:
    assert found(
        {
            "modules/gw/assets/gw.yaml": CLOUD_INIT,
            "make/crd.template.header.yaml": GO_FRAGMENT,
            "make/config/bind/service.yaml": PLACEHOLDER,
            "dev/scale-test/statefulset.yaml": AT_PLACEHOLDER,
        }
    ) == [
        ("GK-TEMPLATE", "low", "dev/scale-test/statefulset.yaml", 4),
        ("GK-TEMPLATE", "low", "make/config/bind/service.yaml", 6),
        ("GK-TEMPLATE", "low", "make/crd.template.header.yaml", 1),
        ("GK-TEMPLATE", "low", "modules/gw/assets/gw.yaml", 8),
    ]


def test_yaml_that_is_broken_without_a_template_mark_still_blocks() -> None:
    broken = "apiVersion: v1\nkind: Pod\nmetadata: {name: x\nspec: {}\n"
    assert found({"deploy/pod.yaml": broken}) == [("GK-PARSE-ERROR", "high", "deploy/pod.yaml", 4)]


def test_a_template_that_parses_is_judged() -> None:
    """`${IMAGE}` is a plain scalar to YAML: the privileged Pod is judged as ever."""
    assert found({"deploy/pod.yaml": POD}) == [
        ("K8S-PSS-PRIVILEGED", "critical", "deploy/pod.yaml", 8)
    ]


def test_a_template_a_deployer_applies_still_blocks() -> None:
    """A directory Application or a kustomization that applies the file fails on it."""
    app = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: dns, namespace: argocd}
spec:
  destination: {server: https://kubernetes.default.svc, namespace: dns}
  source: {repoURL: https://github.com/acme/platform, path: dns}
"""
    files = {"apps/dns.yaml": app, "dns/service.yaml": PLACEHOLDER}
    options = {"gitops": {"repoURLs": ["https://github.com/acme/platform"]}}
    assert ("GK-PARSE-ERROR", "high", "dns/service.yaml", 6) in found(files, options)
    kustomized = {
        "k/kustomization.yaml": "resources: [service.yaml]\n",
        "k/service.yaml": PLACEHOLDER,
    }
    assert ("GK-RENDER-ERROR", "high", "k/kustomization.yaml", 1) in found(kustomized)


def test_broken_yaml_that_cannot_spell_an_object_is_a_low_notice() -> None:
    """kueue's KEP metadata (keps/*/kep.yaml, an unclosed quote): no reader makes an object of
    a text that cannot spell apiVersion and kind, so it is a low notice. Base64 a Go reader
    decodes (`!!binary`) or an escape could spell them: those still block."""
    kep = 'title: Quota release\nreviewers:\n  - @mimowo\nsee-also:\n  - "/keps/993\n'
    binary = "? !!binary YXBpVmVyc2lvbg==\n: v1\n? !!binary a2luZA==\n: Pod\nx: [\n"
    escaped = '"api\\u0056ersion": v1\n"\\x6bind": Pod\nx: [\n'
    assert found({"keps/6143/kep.yaml": kep, "a/b.yaml": binary, "a/e.yaml": escaped}) == [
        ("GK-NOT-A-MANIFEST", "low", "keps/6143/kep.yaml", 3),
        ("GK-PARSE-ERROR", "high", "a/b.yaml", 6),
        ("GK-PARSE-ERROR", "high", "a/e.yaml", 4),
    ]


def test_a_binary_key_is_what_go_readers_decode() -> None:
    """`? !!binary YXBpVmVyc2lvbg==` is the key apiVersion to kubectl (go-yaml decodes the
    base64): the privileged Pod it spells is judged (it passed unseen)."""
    pod = (
        "? !!binary YXBpVmVyc2lvbg==\n: v1\n? !!binary a2luZA==\n: Pod\n"
        "metadata: {name: x, namespace: app}\nspec:\n  containers:\n"
        "    - {name: a, image: busybox, securityContext: {privileged: true}}\n"
    )
    assert found({"deploy/pod.yaml": pod, "deploy/pod.json": pod}) == [
        ("K8S-PSS-PRIVILEGED", "critical", "deploy/pod.json", 8),
        ("K8S-PSS-PRIVILEGED", "critical", "deploy/pod.yaml", 8),
    ]


def test_a_values_file_its_reader_reports_is_said_once(
    gatekeeper: Callable[..., Run], write: Callable[[str, str], Path], tmp_path: Path
) -> None:
    """A helmfile's values file with invalid YAML: the helmfile's blocking GK-PARSE-ERROR,
    not also the Kubernetes reader's low GK-NOT-A-MANIFEST at the same line."""
    write("chart/Chart.yaml", "apiVersion: v2\nname: web\nversion: 0.1.0\n")
    write("chart/templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    write("envs/prod.yaml", 'replicas: 2\nnote: "unclosed\n')
    write("helmfile.yaml", "releases:\n  - {name: web, chart: ./chart, values: [envs/prod.yaml]}\n")
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    found = [
        (f["policy_id"], f["line"])
        for f in json.loads(run.stdout)["findings"]
        if f["file"] == "envs/prod.yaml"
    ]
    assert found == [("GK-PARSE-ERROR", 3)], run.stderr
