"""A generator input that git ignores (made at deploy time) is built empty, with a note; the
rest of the overlay is judged. Anything else that is missing still fails the build."""

from __future__ import annotations

from tests.test_kustomize import run

PRIVILEGED_APP = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  template:
    spec:
      containers:
        - name: app
          image: ghcr.io/acme/app:1.0
          securityContext: {privileged: true}
"""
OVERLAY = """\
resources:
  - deployment.yaml
configMapGenerator:
  - name: app
    envs:
      - .env
"""


def test_a_git_ignored_env_file_is_built_empty_and_the_overlay_judged() -> None:
    files = {
        ".gitignore": "# dotenv files\n.env\n",
        "overlays/azd/kustomization.yaml": OVERLAY,
        "overlays/azd/deployment.yaml": PRIVILEGED_APP,
    }
    found = sorted((f.policy_id, f.file, f.line, f.severity) for f in run(files))
    assert found == [
        ("GK-DEPLOY-TIME-FILE", "overlays/azd/kustomization.yaml", 6, "low"),
        ("K8S-PSS-PRIVILEGED", "overlays/azd/deployment.yaml", 10, "critical"),
    ]


def test_a_missing_file_git_does_not_ignore_still_fails_the_build() -> None:
    files = {
        ".gitignore": "*.log\n!.env\n",
        "overlays/azd/kustomization.yaml": OVERLAY,
        "overlays/azd/deployment.yaml": PRIVILEGED_APP,
    }
    found = [(f.policy_id, f.file, f.severity) for f in run(files)]
    assert ("GK-RENDER-ERROR", "overlays/azd/kustomization.yaml", "high") in found
    assert "GK-DEPLOY-TIME-FILE" not in str(found)
    ignored_patch = {  # only generator inputs: an ignored patch hides what it changes
        ".gitignore": "patch.yaml\n",
        "overlays/azd/kustomization.yaml": "resources: [deployment.yaml]\npatches:\n"
        "  - path: patch.yaml\n",
        "overlays/azd/deployment.yaml": PRIVILEGED_APP,
    }
    found = [(f.policy_id, f.severity) for f in run(ignored_patch)]
    assert ("GK-RENDER-ERROR", "high") in found
