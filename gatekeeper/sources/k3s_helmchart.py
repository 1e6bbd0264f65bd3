"""k3s/RKE2 helm-controller `helm.cattle.io/v1 HelmChart`: a chart installed by the cluster.

The controller runs `helm install` of the chart a HelmChart names, with its `valuesContent`
and `set`. A chart written inline as `spec.chartContent` (a base64 .tgz) installed a
privileged hostNetwork Pod with no finding (red team s11 r01): here the archive is decoded and
rendered as a packaged chart is, with those values, and what it renders is judged (located at
`chartContent`: the archive's lines are not the repository's). A chart fetched from a
repository (`spec.chart`) is not here to render: said GK-NOT-EXPANDED.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Any

import yaml

from gatekeeper.document import Document, Problem
from gatekeeper.yamldoc import safe_load

KEY = ("helm.cattle.io", "HelmChart")
# An archive larger than this (decoded) is not rendered: a chart written by hand is small.
_MAX_ARCHIVE = 8 * 1024 * 1024
_MAX_MEMBERS = 2000


def rendered(content: str, obj: dict[str, Any]) -> str | None:
    """The manifests `spec.chartContent` of the HelmChart `obj` renders to with its values,
    as one YAML stream; None when it is no chart archive or does not render."""
    spec = obj.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    metadata = obj.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    try:
        archive = base64.b64decode(content, validate=False)
    except (binascii.Error, ValueError):
        return None
    if not archive or len(archive) > _MAX_ARCHIVE:
        return None
    values = _values(spec)
    if values is None:
        return None
    # Imported here: every scan loads this module, few render a HelmChart.
    import tempfile

    from gatekeeper.sources import helm_cli, helm_engine, programs

    sdk = helm_engine.available()
    helm = None if sdk else helm_cli.find()
    if not sdk and helm is None:
        return None
    with tempfile.TemporaryDirectory(
        prefix="gatekeeper-k3s-", dir=programs.scratch_parent()
    ) as tmp:
        root = _extract(archive, Path(tmp))
        if root is None:
            return None
        options = {
            "name": str(metadata.get("name") or "release"),
            "namespace": str(spec.get("targetNamespace") or metadata.get("namespace") or "default"),
            "is_install": True,
            "is_upgrade": False,
            "api_versions": ["apiregistration.k8s.io/v1"],
        }
        jobs = [{"values": values, "options": options}]
        limit = helm_engine.DEFAULT_LIMITS
        if helm is None:
            result = helm_engine.render(str(root), jobs, limit)
        else:
            result = helm_cli.render(helm, str(root), jobs, limit)
    if result.load_error or not result.renderings:
        return None
    manifests = result.renderings[0].manifests
    if manifests is None:
        return None
    return "\n---\n".join(text for _, text in sorted(manifests.items()) if text.strip())


def _values(spec: dict[str, Any]) -> dict[str, Any] | None:
    """`valuesContent` with `set` over it (helm-controller passes set as --set)."""
    from gatekeeper.sources import helm_set

    text = spec.get("valuesContent")
    try:
        values = safe_load(text) if isinstance(text, str) else None
    except yaml.YAMLError:
        return None
    values = values if isinstance(values, dict) else {}
    pairs = spec.get("set")
    for name, value in (pairs if isinstance(pairs, dict) else {}).items():
        typed = helm_set.typed(value, False) if isinstance(value, str) else value
        values = helm_set.apply(values, helm_set.path_of(str(name)), typed)
    return values


def _extract(archive: bytes, into: Path) -> Path | None:
    """The chart folder of a .tgz (its one top folder holding Chart.yaml), extracted safely
    (no links, no paths out of `into`)."""
    import io
    import tarfile

    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            members = tar.getmembers()
            if len(members) > _MAX_MEMBERS or sum(m.size for m in members) > 4 * _MAX_ARCHIVE:
                return None
            tar.extractall(into, filter="data")
    except (OSError, tarfile.TarError, EOFError, ValueError):
        return None
    charts = [folder for folder in into.iterdir() if (folder / "Chart.yaml").is_file()]
    return charts[0] if len(charts) == 1 else None


def not_expanded(documents: list[Document]) -> list[Problem]:
    """A HelmChart of a chart fetched from a repository: what it installs is not judged."""
    problems = []
    for document in documents:
        obj = document.obj
        if not isinstance(obj, dict) or obj.get("kind") != KEY[1]:
            continue
        if str(obj.get("apiVersion") or "").rpartition("/")[0] != KEY[0]:
            continue
        spec = obj.get("spec")
        if not isinstance(spec, dict) or spec.get("chartContent") or not spec.get("chart"):
            continue
        line = document.locator.locate(("spec", "chart")).line
        chart, repo = str(spec["chart"]), str(spec.get("repo") or "")
        message = (
            f"HelmChart installs chart {chart}" + (f" from {repo}" if repo else "") + ": the"
            " chart is not in this repository, so what it deploys is not judged"
        )
        problems.append(Problem("GK-NOT-EXPANDED", document.file, line, message))
    return problems
