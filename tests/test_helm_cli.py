"""Charts rendered by a real `helm` on PATH when the SDK ([helm] extra) is not installed: the
same findings, at the same lines, with the same fingerprints as the SDK gives.

The helm binary is the official release that ./scripts/test puts at .venv/libexec/helm
(scripts/test_helm.py, pinned in requirements/helm-cli.txt); the SDK is hidden from the CLI
(`sys.modules['helm_python'] = None`) as if only the core were installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.sources import helm_cli
from tests.conftest import PRIVILEGED_POD, REPO
from tests.test_helm import DEPENDENCY_CHARTS

HELM = Path(sys.prefix, "libexec", "helm")
WITHOUT_SDK = (
    "import sys; sys.modules['helm_python'] = None; "
    "from gatekeeper.main import main; sys.exit(main())"
)


@pytest.fixture(scope="module")
def helm_dir() -> Path:
    """A PATH directory holding only the real helm."""
    if not HELM.is_file():
        if sys.platform == "linux" and os.uname().machine == "x86_64":
            pytest.fail(f"no helm at {HELM}: ./scripts/test installs it (scripts/test_helm.py)")
        pytest.skip(f"no helm binary for {sys.platform}/{os.uname().machine} in the test setup")
    return HELM.parent


def _scan(root: Path, *args: str, path: str, sdk: bool) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "gatekeeper"] if sdk else [sys.executable, "-c", WITHOUT_SDK]
    return subprocess.run(
        [*command, "scan", *args],
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1", "PATH": path},
        timeout=300,
    )


def _findings(run: subprocess.CompletedProcess[str]) -> list[tuple[Any, ...]]:
    assert run.returncode in (0, 1), run.stdout + run.stderr
    return [
        (
            f["policy_id"],
            f["file"],
            f["line"],
            f["column"],
            f["message"],
            f["fingerprint"],
            f["extra"].get("values"),
        )
        for f in json.loads(run.stdout)["findings"]
    ]


CHARTS = {
    # Two documents of one template in an order Helm's kind sort reverses (after blank lines
    # it trims), a namespace, and a template rendered only for the configured Kubernetes
    # version and API versions.
    "charts/ops/Chart.yaml": "apiVersion: v2\nname: ops\nversion: 0.1.0\n",
    "charts/ops/values.yaml": "privileged: false\na: alpha\naNet: false\nb: beta\nbNet: true\n",
    "charts/ops/templates/both.yaml": (
        "\n\napiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}-a\n"
        "  namespace: {{ .Release.Namespace }}\nspec:\n  containers:\n    - name: a\n"
        "      image: ghcr.io/acme/a:1\n      securityContext:\n"
        "        privileged: {{ .Values.privileged }}\n---\n"
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {{ .Release.Namespace }}\n"
    ),
    "charts/ops/templates/monitor.yaml": (
        '{{- if and (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1")'
        ' (semverCompare "<1.30-0" .Capabilities.KubeVersion.Version) }}\n'
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: monitor\n  annotations:\n"
        "    kube: {{ .Capabilities.KubeVersion.Version | quote }}\nspec:\n  hostPID: true\n"
        "  containers:\n    - name: m\n      image: ghcr.io/acme/m:1\n{{- end }}\n"
    ),
    "charts/ops/values-prod.yaml": "privileged: true\n",
    # Two groups of a ServiceAccount, a Deployment and a Service with templated names (as in
    # microservices-demo's chart): Helm prints both ServiceAccounts first.
    "charts/ops/templates/pair.yaml": "".join(
        f"{'---' if name == 'b' else ''}\n"
        f"apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {{{{ .Values.{name} }}}}\n---\n"
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{{{ .Values.{name} }}}}\n"
        f"spec:\n  template:\n    spec:\n      serviceAccountName: {{{{ .Values.{name} }}}}\n"
        f"      hostNetwork: {{{{ .Values.{name}Net }}}}\n"
        f"      containers: [{{name: c, image: ghcr.io/acme/c:1}}]\n---\n"
        f"apiVersion: v1\nkind: Service\nmetadata:\n  name: {{{{ .Values.{name} }}}}\n"
        for name in ("a", "b")
    ),
}
CONFIG = """\
sources:
  helm:
    charts:
      - path: charts/ops
        valuesFiles: [charts/ops/values-prod.yaml]
        releaseName: prod
        namespace: team
        kubeVersion: v1.29.0
        apiVersions: [monitoring.coreos.com/v1]
      - path: charts/web
        valuesFiles: [charts/web/values-prod.yaml]
"""


def test_helm_on_path_gives_the_findings_the_sdk_gives(tmp_path: Path, helm_dir: Path) -> None:
    """Values files, subcharts (vendored, `file://` with an alias, requirements.yaml), missing
    dependencies, a render error, CRDs, release options: every finding identical."""
    pytest.importorskip("helm_python")
    shutil.copytree(REPO / "tests/data/helm/web", tmp_path / "charts/web")
    shutil.copytree(REPO / "tests/data/helm/broken", tmp_path / "charts/broken")
    shutil.copytree(REPO / "examples/demo-repo/charts/shop", tmp_path / "charts/shop")
    for name, text in {**CHARTS, **DEPENDENCY_CHARTS, ".gatekeeper.yml": CONFIG}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    path = os.environ["PATH"]
    sdk = _findings(_scan(tmp_path, ".", "-f", "json", path=path, sdk=True))
    cli = _findings(
        _scan(tmp_path, ".", "-f", "json", path=f"{helm_dir}{os.pathsep}{path}", sdk=False)
    )
    assert cli == sdk
    where = {(f[0], f[1], f[2]) for f in cli}
    assert {
        ("K8S-PSS-PRIVILEGED", "charts/ops/templates/both.yaml", 13),
        ("K8S-PSS-HOST-NAMESPACES", "charts/ops/templates/monitor.yaml", 9),
        ("K8S-PSS-HOST-NAMESPACES", "charts/ops/templates/pair.yaml", 36),
        ("K8S-PSS-PRIVILEGED", "charts/web/templates/deployment.yaml", 25),
        ("GK-RENDER-ERROR", "charts/broken/templates/cm.yaml", 6),
        ("GK-RENDER-ERROR", "charts/broken/Chart.yaml", 5),
        ("GK-RENDER-ERROR", "charts/legacy/requirements.yaml", 2),
        ("K8S-PSS-HOST-NAMESPACES", "charts/common/templates/pod.yaml", 6),
    } <= where, sorted(where)
    assert not any(f[0] == "GK-RENDERER-MISSING" for f in cli)

    # and without helm on PATH, each chart says how to get a renderer
    none = _findings(_scan(tmp_path, "charts/ops", "-f", "json", path="/usr/bin:/bin", sdk=False))
    assert [(f[0], f[1]) for f in none] == [("GK-RENDERER-MISSING", "charts/ops/Chart.yaml")]
    assert "put helm on PATH" in none[0][4]


EVIL_HELM = '#!/bin/sh\ntouch "$(dirname "$0")/../ran"\n'


def test_a_helm_in_the_scanned_repository_is_never_run(tmp_path: Path, helm_dir: Path) -> None:
    """A relative PATH entry (`bin`, `.`) resolves in the scanned repository: not searched."""
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin/helm").write_text(EVIL_HELM)
    (tmp_path / "bin/helm").chmod(0o755)
    (tmp_path / "chart/templates").mkdir(parents=True)
    (tmp_path / "chart/Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    (tmp_path / "chart/templates/pod.yaml").write_text(PRIVILEGED_POD)
    alone = _scan(tmp_path, "chart", "-f", "json", path="bin:.:/usr/bin:/bin", sdk=False)
    assert [f[0] for f in _findings(alone)] == ["GK-RENDERER-MISSING"]
    real = f"bin{os.pathsep}{helm_dir}{os.pathsep}/usr/bin:/bin"
    found = _findings(_scan(tmp_path, "chart", "-f", "json", path=real, sdk=False))
    assert ("K8S-PSS-PRIVILEGED", "chart/templates/pod.yaml", 9) in {f[:3] for f in found}
    assert not (tmp_path / "ran").exists()


def test_render_limits_hold_for_the_helm_binary(tmp_path: Path, helm_dir: Path) -> None:
    """A template that never ends is stopped at renderTimeoutSeconds, one that fills memory at
    renderMemoryMiB: a finding each, not a hang or a swapping machine."""
    for chart, template in {
        "spin": "{{- range until 100000 }}{{- range until 100000 }}{{ end }}{{ end }}\n",
        "hog": "{{- range until 2000000000 }}{{ end }}\n",
    }.items():
        (tmp_path / chart / "templates").mkdir(parents=True)
        (tmp_path / chart / "Chart.yaml").write_text(
            f"apiVersion: v2\nname: {chart}\nversion: 1.0.0\n"
        )
        (tmp_path / chart / "templates/t.yaml").write_text(template)
    (tmp_path / ".gatekeeper.yml").write_text(
        "sources:\n  helm:\n    renderTimeoutSeconds: 5\n    renderMemoryMiB: 1024\n"
    )
    start = time.monotonic()
    run = _scan(tmp_path, ".", "-f", "json", path=str(helm_dir), sdk=False)
    assert time.monotonic() - start < 120
    found = sorted((f[0], f[1], f[2], f[4]) for f in _findings(run))
    assert found == [
        (
            "GK-RENDER-ERROR",
            "hog/Chart.yaml",
            1,
            "helm: render exceeded the memory limit (1024 MiB, renderMemoryMiB)",
        ),
        (
            "GK-RENDER-ERROR",
            "spin/Chart.yaml",
            1,
            "helm: render exceeded 5 s (renderTimeoutSeconds); not checked",
        ),
    ]


def test_output_over_the_limit_is_refused_not_cut(tmp_path: Path, helm_dir: Path) -> None:
    """17 MiB of rendered YAML (the limit is 16): one finding, nothing judged from a part."""
    (tmp_path / "flood/templates").mkdir(parents=True)
    (tmp_path / "flood/Chart.yaml").write_text("apiVersion: v2\nname: flood\nversion: 1.0.0\n")
    (tmp_path / "flood/templates/cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: flood}\ndata:\n"
        '{{- range until 180000 }}\n  k{{ . }}: "{{ repeat 90 "x" }}"\n{{- end }}\n'
    )
    run = _scan(tmp_path, "flood", "-f", "json", path=str(helm_dir), sdk=False)
    assert [(f[0], f[1], f[4]) for f in _findings(run)] == [
        (
            "GK-RENDER-ERROR",
            "flood/Chart.yaml",
            "helm: rendered output is over the 16 MiB limit; not checked",
        )
    ]


def test_output_is_split_by_source_line_and_never_by_text_inside_a_document() -> None:
    output = (
        "---\n# Source: c/templates/a.yaml\nkind: Namespace\n\n"
        "---\n# Source: c/templates/b.yaml\nkind: ConfigMap\ndata:\n  x: |\n    ---\n"
        "    # Source: c/templates/NOTES.txt\n\n"
        "---\n# Source: c/templates/a.yaml\n# Source: c/templates/NOTES.txt\nkind: Pod\n\n"
    )
    assert helm_cli.manifests(output) == {
        "c/templates/a.yaml": "kind: Namespace\n---\n# Source: c/templates/NOTES.txt\nkind: Pod\n",
        "c/templates/b.yaml": (
            "kind: ConfigMap\ndata:\n  x: |\n    ---\n    # Source: c/templates/NOTES.txt\n"
        ),
    }
    assert helm_cli.manifests("") == {}
    assert helm_cli.manifests("kind: Pod\n---\n# Source: c/templates/a.yaml\n") is None


def test_options_become_flags_and_a_release_name_is_never_a_flag() -> None:
    options = {
        "name": "--post-renderer=/bin/sh",
        "namespace": "team",
        "kube_version": "v1.29.0",
        "api_versions": ["apiregistration.k8s.io/v1", "monitoring.coreos.com/v1"],
    }
    assert helm_cli.arguments(options) == [
        "--namespace=team",
        "--kube-version=v1.29.0",
        "--api-versions=apiregistration.k8s.io/v1",
        "--api-versions=monitoring.coreos.com/v1",
        "--",
        "--post-renderer=/bin/sh",
    ]
