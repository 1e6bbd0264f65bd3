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
