"""A JSON 6902 patch that appends a container: the base's containers keep their base lines,
the added one's fields are located in the patch's value (bank-of-anthos' cloud-sql-proxy)."""

from __future__ import annotations

from tests.test_kustomize import PRIVILEGED, located

BASE = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
        - name: web
          image: ghcr.io/acme/web:1.0
          securityContext:
            privileged: true
"""
ADD = """\
- op: add
  path: /spec/template/spec/containers/-
  value:
    name: proxy
    image: ghcr.io/acme/proxy:1.0
    securityContext:
      privileged: true
- op: add
  path: /spec/template/spec/containers/0/env
  value: [{name: A, value: b}]
"""


def test_an_appended_container_is_located_in_the_patch_and_the_base_one_in_the_base() -> None:
    files = {
        "base/kustomization.yaml": "resources: [deploy.yaml]\n",
        "base/deploy.yaml": BASE,
        "overlay/kustomization.yaml": (
            "resources: [../base]\npatches:\n  - path: add.yaml\n    target: {kind: Deployment}\n"
        ),
        "overlay/add.yaml": ADD,
    }
    assert sorted(located(files, PRIVILEGED)) == [
        ("kubernetes", "base/deploy.yaml", 11, True),  # with the overlay among its variants
        ("kustomize", "overlay/add.yaml", 7, True),
    ]


ROLE = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: speaker}
rules:
  - apiGroups: [example.io]
    resources: [statuses]
    verbs: ["*"]
  - apiGroups: [""]
    resources: [services]
    verbs: [get, list]
"""
ADD_RULE = """\
- op: add
  path: /rules/0
  value:
    apiGroups: [example.io]
    resources: [configs]
    verbs: [get]
"""


def test_a_rule_moved_by_an_added_rule_stays_at_its_own_line() -> None:
    """metallb's overlays add a rule at `/rules/0` to a base ClusterRole: the base's
    wildcard rule, now second (third after two adds), was found at the base's second
    (third) rule, a line granting `get, list`, once per overlay. An unnamed list item is
    matched with the equal written one: one finding at the wildcard rule."""
    policy = PRIVILEGED.parent / "rbac-wildcard.yaml"
    overlay = (
        "resources: [../base]\npatches:\n"
        "  - path: add.yaml\n    target: {kind: ClusterRole, name: speaker}\n"
    )
    files = {
        "base/kustomization.yaml": "resources: [role.yaml]\n",
        "base/role.yaml": ROLE,
        "one/kustomization.yaml": overlay,
        "one/add.yaml": ADD_RULE,
        "two/kustomization.yaml": overlay,
        "two/add.yaml": ADD_RULE + ADD_RULE.replace("configs", "leases"),
    }
    assert {(file, line) for _, file, line, _ in located(files, policy)} == {
        ("base/role.yaml", 7)
    }
