"""A tenant's Flux Kustomization tracking another branch of this repository, built inside a
cluster's Kustomization whose GitRepository has `ignore` rules (fluxcd/flux2-multi-tenancy:
`tenants/base/dev-team/sync.yaml`, branch `dev-team`): what it applies is on a branch this
checkout does not have, said once (GK-REVISION-UNSEEN), not judged against this checkout
("path staging is not in this repository", once per overlay)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Run
from tests.test_change import Repo

Gatekeeper = Callable[..., Run]
URL = "https://github.com/acme/fleet"
SYNC = f"""\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: flux-system, namespace: flux-system}}
spec:
  url: {URL}
  ref: {{branch: main}}
  ignore: |
    /docs/
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: tenants, namespace: flux-system}}
spec:
  sourceRef: {{kind: GitRepository, name: flux-system}}
  path: ./tenants/{{cluster}}
"""
TENANT = f"""\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: team, namespace: apps}}
spec:
  url: {URL}
  ref: {{branch: team}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: team, namespace: apps}}
spec:
  sourceRef:
    kind: GitRepository
    name: team
"""
OVERLAY = """\
resources: [../base]
patches:
  - target: {{kind: Kustomization, name: team}}
    patch: |-
      - op: add
        path: /spec/path
        value: ./{cluster}
"""


def test_a_tenant_on_another_branch_is_said_unseen_once(
    gatekeeper: Gatekeeper, tmp_path: Path
) -> None:
    repo = Repo(tmp_path / "repo")
    repo.write(".gatekeeper.yml", f"sources: {{gitops: {{repoURLs: [{URL}]}}}}\n")
    for cluster in ("production", "staging"):
        repo.write(f"clusters/{cluster}/sync.yaml", SYNC.replace("{cluster}", cluster))
        repo.write(f"tenants/{cluster}/kustomization.yaml", OVERLAY.format(cluster=cluster))
    repo.write("tenants/base/sync.yaml", TENANT)
    repo.write("tenants/base/kustomization.yaml", "resources: [sync.yaml]\n")
    repo.commit("fleet")
    run = gatekeeper("scan", "--format", "json", cwd=repo.root)
    assert run.returncode in (0, 1), run.stderr
    said = sorted(
        (f["policy_id"], f["file"], f["line"])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"].startswith("GK-")
    )
    assert said == [("GK-REVISION-UNSEEN", "tenants/base/sync.yaml", 12)]
