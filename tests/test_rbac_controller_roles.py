"""K8S-RBAC-PRIVILEGE-PATHS on a GitOps controller's own role (Argo CD's, Flux's) advised
`resourceNames`, which the controller cannot use: the Applications and Kustomizations it
creates have no names to list. Its maintainer is told what can be done instead (waive it
with that reason; install or scope it per namespace), at the role and at a binding of it;
the finding stays, and any other role keeps the resourceNames advice (argo-cd's manifests,
session 16)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Run

ROLES = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: crd-controller-flux-system
  labels: {app.kubernetes.io/part-of: flux, app.kubernetes.io/instance: flux-system}
rules:
  - apiGroups: [kustomize.toolkit.fluxcd.io]
    resources: [kustomizations]
    verbs: [create, patch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: everyone-flux}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: crd-controller-flux-system}
subjects: [{kind: Group, name: system:authenticated, apiGroup: rbac.authorization.k8s.io}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: argocd-server
  namespace: argocd
  labels: {app.kubernetes.io/part-of: argocd}
rules:
  - apiGroups: [argoproj.io]
    resources: [applications]
    verbs: [create, update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: deployer}
rules:
  - apiGroups: [argoproj.io]
    resources: [applications]
    verbs: [create]
"""


def test_a_gitops_controllers_own_role_is_told_what_can_be_done(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    (tmp_path / "rbac.yaml").write_text(ROLES)
    run = gatekeeper("scan", str(tmp_path), "--format", "json")
    said = {
        (f["kind"], f["name"]): f["message"]
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == "K8S-RBAC-PRIVILEGE-PATHS"
    }
    assert sorted(said) == [
        ("ClusterRole", "crd-controller-flux-system"),
        ("ClusterRole", "deployer"),
        ("ClusterRoleBinding", "everyone-flux"),
        ("Role", "argocd-server"),
    ]
    flux = (
        "it is Flux's own controller role, whose objects have no names to list in"
        " resourceNames: waive it with that reason, or scope what it applies to each"
        " namespace (multi-tenancy lockdown: --default-service-account)"
    )
    assert said[("ClusterRole", "crd-controller-flux-system")].endswith(flux)
    assert said[("ClusterRoleBinding", "everyone-flux")].endswith(flux)
    assert said[("Role", "argocd-server")].endswith(
        "; it is Argo CD's own controller role, whose objects have no names to list in"
        " resourceNames: waive it with that reason"
    )
    assert said[("ClusterRole", "deployer")].endswith(
        "; name the objects it needs in resourceNames, or drop the verb"
    )


def test_a_wildcard_says_on_what(tmp_path: Path, gatekeeper: Callable[..., Run]) -> None:
    """K8S-RBAC-WILDCARD said only 'grants every verb (*)': on what, a maintainer asked
    (metallb's Roles grant `*` on their own status resources, session 16)."""
    (tmp_path / "rbac.yaml").write_text(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\n"
        "metadata: {name: pod-lister, namespace: metallb-system}\nrules:\n"
        "  - apiGroups: ['']\n    resources: [pods]\n    verbs: [list]\n"
        "  - apiGroups: [metallb.io]\n    resources: [servicebgpstatuses]\n    verbs: ['*']\n"
        "  - apiGroups: ['']\n    resources: ['*']\n    verbs: [get, list]\n"
    )
    run = gatekeeper("scan", str(tmp_path), "--format", "json")
    said = sorted(
        (f["line"], f["message"])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == "K8S-RBAC-WILDCARD"
    )
    assert said == [
        (10, "Role pod-lister grants every verb (*) on servicebgpstatuses (metallb.io)"),
        (12, "Role pod-lister grants every resource (*) of core to get, list"),
    ]
