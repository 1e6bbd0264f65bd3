"""The kustomization Flux generates for a path without one (fluxcd/pkg scanManifests): a
folder holding a kustomization is one resource, built as itself, and not descended into.

Real-repo check (onedr0p-style home-ops): a cluster Kustomization on `./apps` with `patches`
gave a blocking GK-RENDER-ERROR (the nested kustomization files were listed as resources),
and without `patches` every manifest below was judged as the cluster Kustomization's,
without the nested kustomizations' namespaces, including files they do not list.
"""

from __future__ import annotations

from pathlib import Path

import gatekeeper

CLUSTER = """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: cluster-apps, namespace: flux-system}
spec:
  interval: 1h
  path: ./apps
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
"""
PATCHES = """\
  patches:
    - patch: |-
        apiVersion: kustomize.toolkit.fluxcd.io/v1
        kind: Kustomization
        metadata: {name: _}
        spec: {wait: true}
      target: {group: kustomize.toolkit.fluxcd.io, kind: Kustomization}
"""
APP = """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: app1, namespace: flux-system}
spec:
  interval: 1h
  path: ./apps/ns1/app1/app
  targetNamespace: ns1
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
"""
POD = """\
apiVersion: v1
kind: Pod
metadata: {name: %s}
spec:
  containers:
    - name: c
      image: ghcr.io/a/b:1.0
      securityContext: {privileged: true}
"""


def scan(root: Path, patches: bool) -> dict[str, list[str]]:
    files = {
        "flux/ks.yaml": CLUSTER + (PATCHES if patches else ""),
        "apps/ns1/kustomization.yaml": "namespace: ns1\nresources: [app1/ks.yaml, web.yaml]\n",
        "apps/ns1/web.yaml": POD % "web",
        "apps/ns1/unlisted.yaml": POD % "unlisted",
        "apps/ns1/app1/ks.yaml": APP,
        "apps/ns1/app1/app/kustomization.yaml": "resources: [pod.yaml]\n",
        "apps/ns1/app1/app/pod.yaml": POD % "app",
        "apps/top.yaml": POD % "top",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    report = gatekeeper.scan(root, root=root, jobs=1)
    assert not [f for f in report.verdict.findings if f.policy_id.startswith("GK-")]
    return {
        f.name: sorted(f.extra.get("variants") or [])
        for f in report.verdict.findings
        if f.policy_id == "K8S-PSS-PRIVILEGED"
    }


def test_a_nested_kustomization_is_one_resource_with_or_without_patches(tmp_path: Path) -> None:
    for patches in (False, True):
        root = tmp_path / str(patches)
        found = scan(root, patches)
        cluster = "deployed by flux/ks.yaml:cluster-apps"
        assert cluster in found["top"]  # a plain manifest of the path
        assert cluster in found["web"]  # through apps/ns1's kustomization
        assert cluster not in found["unlisted"]  # apps/ns1 builds without it
        # below apps/ns1: the app1 Kustomization's (which cluster-apps deploys)
        assert "deployed by apps/ns1/app1/ks.yaml:app1" in found["app"]


def test_common_metadata_is_set_on_every_object_it_applies(tmp_path: Path) -> None:
    """Red team r23 (session 10): kustomize-controller writes `spec.commonMetadata` on each
    object's own metadata; an AppArmor annotation there makes the Pod unconfined."""
    common = (
        "  commonMetadata:\n    annotations:\n"
        "      container.apparmor.security.beta.kubernetes.io/c: unconfined\n"
    )
    (tmp_path / "flux").mkdir()
    (tmp_path / "flux" / "ks.yaml").write_text(CLUSTER + common)
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "pod.yaml").write_text(
        POD.replace("privileged: true", "privileged: false") % "agent"
    )
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    found = [
        (f.file, f.line)
        for f in report.verdict.findings
        if f.policy_id == "K8S-PSS-APPARMOR-ANNOTATIONS"
    ]
    assert found == [("flux/ks.yaml", 11)]  # the annotation's own line


def test_an_empty_document_beside_a_flux_kustomization_is_no_kustomization(
    tmp_path: Path,
) -> None:
    """fluxcd/flux2's test data holds `---\\n---` (an empty document) in files spelling the
    Kustomization API group: the lookup of Flux Kustomizations read `None.get` and the scan
    ended with exit 3. An empty, list or scalar document is simply none."""
    (tmp_path / "flux").mkdir()
    (tmp_path / "flux" / "ks.yaml").write_text("---\n" + CLUSTER + "---\n---\n- a list\n---\n7\n")
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "pod.yaml").write_text(POD % "web")
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    found = [f for f in report.verdict.findings if f.policy_id == "K8S-PSS-PRIVILEGED"]
    assert [(f.file, f.extra.get("variants")) for f in found] == [
        ("apps/pod.yaml", ["deployed by flux/ks.yaml:cluster-apps"])
    ]
