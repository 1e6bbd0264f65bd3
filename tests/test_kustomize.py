"""Kustomize overlays built by the real `kubectl kustomize`, findings mapped to base and patch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gatekeeper.evaluate import Engine
from gatekeeper.policy.loader import load_policy_file
from gatekeeper.scanner import scan
from gatekeeper.sources import LoadContext
from gatekeeper.tree import MemoryTree
from tests.conftest import REPO

PRIVILEGED = REPO / "policies" / "kubernetes" / "pss-baseline-privileged.yaml"

BASE = {
    "base/kustomization.yaml": "resources:\n  - deploy.yaml\n",
    "base/deploy.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          image: nginx:1.25
          securityContext:
            privileged: false
        - name: side
          image: busybox:1.36
""",
}
OVERLAY = {
    "overlays/prod/kustomization.yaml": """\
namespace: prod
namePrefix: prod-
resources:
  - ../../base
patches:
  - path: privileged.yaml
""",
    "overlays/prod/privileged.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: side
          securityContext:
            privileged: true
""",
}


def run(files: dict[str, str]) -> list[Any]:
    pairs = [(name, text.encode()) for name, text in sorted(files.items())]
    engine = Engine([load_policy_file(PRIVILEGED)])
    context = LoadContext(tree=MemoryTree(dict(pairs)))
    return scan(pairs, engine, 1, context).findings


def test_overlay_finding_is_located_in_the_patch_file() -> None:
    findings = run({**BASE, **OVERLAY})
    privileged = [f for f in findings if f.policy_id == "K8S-PSS-PRIVILEGED"]
    assert [(f.source, f.file, f.line, f.namespace, f.name) for f in privileged] == [
        ("kustomize", "overlays/prod/privileged.yaml", 11, "prod", "prod-web")
    ]
    assert privileged[0].extra["exact"] is True
    # kustomize orders the patched container first; the path is the built object's
    assert privileged[0].path == "spec.template.spec.containers[0].securityContext.privileged"


def test_overlay_finding_on_a_base_field_is_located_in_the_base_file() -> None:
    base = dict(BASE)
    base["base/deploy.yaml"] = base["base/deploy.yaml"].replace(
        "privileged: false", "privileged: true"
    )
    findings = run({**base, **OVERLAY})
    where = sorted((f.source, f.file, f.line) for f in findings if f.policy_id.startswith("K8S"))
    assert where == [
        ("kubernetes", "base/deploy.yaml", 12),  # the base is a plain manifest too
        ("kustomize", "base/deploy.yaml", 12),  # the base kustomization's object
        ("kustomize", "base/deploy.yaml", 12),  # the overlay's object, built from the base
        ("kustomize", "overlays/prod/privileged.yaml", 11),
    ]
    fingerprints = [f.fingerprint for f in findings]
    assert len(set(fingerprints)) == len(fingerprints)


def test_kustomize_error_is_a_finding_and_remote_resources_are_not_fetched() -> None:
    broken = {
        "app/kustomization.yaml": "namespace: x\nresources:\n  - ok.yaml\n  - missing.yaml\n",
        "app/ok.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n",
    }
    findings = run(broken)
    assert [(f.policy_id, f.file, f.line) for f in findings] == [
        ("GK-RENDER-ERROR", "app/kustomization.yaml", 4)
    ]
    assert "missing.yaml" in findings[0].message
    remote = {"app/kustomization.yaml": "resources:\n  - https://github.com/acme/x//base?ref=v1\n"}
    findings = run(remote)
    assert [f.policy_id for f in findings] == ["GK-RENDER-ERROR"]
    assert "not fetched" in findings[0].message


def test_kubernetes_policies_apply_to_rendered_sources_only_once(tmp_path: Path) -> None:
    findings = run({**BASE})
    assert [f for f in findings if f.policy_id == "K8S-PSS-PRIVILEGED"] == []


def test_image_rewritten_by_the_overlay_is_located_at_its_images_entry() -> None:
    from gatekeeper.sources import kustomize

    overlay = {
        "overlays/dev/kustomization.yaml": (
            "resources:\n  - ../../base\nimages:\n  - name: busybox\n    newTag: latest\n"
        )
    }
    files = {name: text.encode() for name, text in {**BASE, **overlay}.items()}
    context = LoadContext(tree=MemoryTree(files))
    path = "overlays/dev/kustomization.yaml"
    (document,) = kustomize.load(path, files[path], context).documents
    containers = document.obj["spec"]["template"]["spec"]["containers"]
    side = next(i for i, c in enumerate(containers) if c["name"] == "side")
    web = next(i for i, c in enumerate(containers) if c["name"] == "web")
    assert containers[side]["image"] == "busybox:latest"
    prefix = ("spec", "template", "spec", "containers")
    location = document.locator.locate((*prefix, side, "image"))
    assert (location.file, location.line, location.exact) == (path, 4, False)
    location = document.locator.locate((*prefix, web, "image"))
    assert (location.file, location.line, location.exact) == ("base/deploy.yaml", 10, True)
    assert no_build_annotations(document.obj)


def no_build_annotations(obj: Any) -> bool:
    """The build's own annotations are removed before policies see the object."""
    return "annotations" not in obj["metadata"]


def test_a_changed_base_resource_brings_the_kustomizations_that_build_it() -> None:
    from gatekeeper.sources import with_owners

    files = {name: text.encode() for name, text in {**BASE, **OVERLAY}.items()}
    files["base/unrelated.yaml"] = b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: u}\n"
    context = LoadContext(tree=MemoryTree(files))
    assert with_owners(["base/deploy.yaml"], context) == [
        "base/deploy.yaml",
        "base/kustomization.yaml",
        "overlays/prod/kustomization.yaml",
    ]
    assert with_owners(["base/unrelated.yaml"], context) == ["base/unrelated.yaml"]
    assert with_owners(["overlays/prod/privileged.yaml"], context) == [
        "overlays/prod/privileged.yaml",
        "overlays/prod/kustomization.yaml",
    ]
