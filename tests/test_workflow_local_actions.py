"""A throwaway cluster started inside a local composite action (`uses: ./.github/actions/setup`)
covers the job's kubectl and helm steps, as a `helm/kind-action` step of the job itself does
(opentelemetry-helm-charts: 21 test steps were reported as deploys), with the same tightening:
a cluster step the inputs skip, a step that never runs, or a job that points kubectl at another
cluster (in its steps, a script it runs or another local action) still deploys."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Run

Gatekeeper = Callable[..., Run]
Write = Callable[[str, str], Path]

SETUP = """\
name: setup
inputs:
  create-cluster:
    description: start kind
    default: "false"
runs:
  using: composite
  steps:
    - uses: azure/setup-helm@fe7b79cd5ee1e45176fcad797de68ecaf3ca4814
    - name: Create kind cluster
      if: ${{ inputs.create-cluster == 'true' }}
      uses: helm/kind-action@a1b0e391336a6ee6713a0583f8c6240d70863de3
"""
WRAPPER = """\
runs:
  using: composite
  steps:
    - uses: ./.github/actions/cluster
"""
CLUSTER = """\
runs:
  using: composite
  steps:
    - shell: bash
      run: kind create cluster --name e2e
"""
PROD = """\
runs:
  using: composite
  steps:
    - shell: bash
      run: kubectl config use-context prod
"""
WORKFLOW = """\
on: push
jobs:
  e2e:
    steps:
      - uses: ./.github/actions/setup
        with:
          create-cluster: "true"
      - run: kubectl apply -f manifests/
  lint:
    steps:
      - uses: ./.github/actions/setup
        with:
          create-cluster: "false"
      - run: kubectl apply -f manifests/
  defaulted:
    steps:
      - uses: ./.github/actions/setup
      - run: helm upgrade --install web ./chart
  nested:
    steps:
      - uses: ./.github/actions/wrapper
      - run: kubectl apply -f manifests/
  never:
    steps:
      - if: false
        uses: ./.github/actions/wrapper
      - run: kubectl apply -f manifests/
  credentials:
    steps:
      - uses: ./.github/actions/setup
        with: {create-cluster: "true"}
      - run: aws eks update-kubeconfig --name prod
      - run: kubectl apply -f manifests/
  switched:
    steps:
      - uses: ./.github/actions/wrapper
      - uses: ./.github/actions/prod
      - run: kubectl apply -f manifests/
  scripted:
    steps:
      - uses: helm/kind-action@a1b0e391336a6ee6713a0583f8c6240d70863de3
      - run: ./hack/context.sh
      - run: kubectl apply -f manifests/
"""


def test_a_cluster_a_local_action_starts_covers_the_job_unless_kubectl_aims_elsewhere(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    write(".github/actions/setup/action.yml", SETUP)
    write(".github/actions/wrapper/action.yaml", WRAPPER)
    write(".github/actions/cluster/action.yml", CLUSTER)
    write(".github/actions/prod/action.yml", PROD)
    write(".github/workflows/e2e.yml", WORKFLOW)
    write("hack/context.sh", "#!/bin/sh\nkubectl config use-context production\n")
    write(".gatekeeper.yml", "packs: [workflow]\n")
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    found = sorted(
        (f["file"], f["line"], f["message"].split(":")[0])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == "WF-GITOPS-IMPERATIVE-DEPLOY"
    )
    assert found == [
        (".github/workflows/e2e.yml", 14, "imperative deploy from CI in job lint"),
        (".github/workflows/e2e.yml", 18, "imperative deploy from CI in job defaulted"),
        (".github/workflows/e2e.yml", 27, "imperative deploy from CI in job never"),
        (".github/workflows/e2e.yml", 33, "imperative deploy from CI in job credentials"),
        (".github/workflows/e2e.yml", 38, "imperative deploy from CI in job switched"),
        (".github/workflows/e2e.yml", 43, "imperative deploy from CI in job scripted"),
    ]


UP = """\
name: up
inputs:
  kubeconfig:
    description: where k3d writes the cluster's kubeconfig
    default: /home/runner/.kube/config
runs:
  using: composite
  steps:
    - name: Create k3d cluster
      shell: bash
      env:
        KUBECONFIG: ${{ inputs.kubeconfig }}
      run: make k3d-up
"""

UP_PROD = UP.replace("run: make k3d-up", "run: |\n        make k3d-up\n        ./hack/prod.sh")

SCRIPTED = """\
on: pull_request
permissions:
  contents: read
jobs:
  e2e:
    runs-on: ubuntu-latest
    steps:
      - uses: ./.github/actions/up
      - run: make test-sdk
  aimed:
    runs-on: ubuntu-latest
    steps:
      - uses: ./.github/actions/up-prod
      - run: make test-sdk
  passed:
    runs-on: ubuntu-latest
    steps:
      - uses: ./.github/actions/up
        with:
          kubeconfig: /etc/prod/kubeconfig
      - run: make test-sdk
"""


def test_a_cluster_a_local_actions_make_target_starts_covers_the_job(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    """argo-workflows: its e2e-cluster-up action runs `make k3d-up`, whose script runs `k3d
    cluster create`; the e2e job's `kubectl create serviceaccount` in hack/test-go-sdk.sh
    was a blocking deploy, as the action's scripts were not followed (nor its `KUBECONFIG:
    ${{ inputs.kubeconfig }}` read as the input's default, the runner's ~/.kube/config).
    They are now, with the same tightening: a script of the action that points kubectl
    elsewhere, or a caller passing another kubeconfig, still deploys."""
    write(".github/actions/up/action.yml", UP)
    write(".github/actions/up-prod/action.yml", UP_PROD)
    write(".github/workflows/e2e.yml", SCRIPTED)
    write(
        "Makefile",
        "k3d-up:\n\t./hack/up.sh\n\ntest-sdk:\n\t./hack/sdk.sh\n",
    )
    write(
        "hack/up.sh",
        '#!/usr/bin/env bash\nif k3d cluster list e2e >/dev/null 2>&1; then\n  echo ok\nelse\n'
        '  args=(--wait)\n  k3d cluster create e2e "${args[@]}"\nfi\n',
    )
    write("hack/prod.sh", "#!/bin/sh\nkubectl config use-context production\n")
    write("hack/sdk.sh", "#!/bin/sh\nkubectl create serviceaccount sdk-test -n argo\n")
    write(".gatekeeper.yml", "packs: [workflow]\n")
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    found = [
        (f["file"], f["line"], f["message"])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == "WF-GITOPS-IMPERATIVE-DEPLOY"
    ]
    assert [(file, line) for file, line, _ in found] == [("hack/sdk.sh", 2)]
    message = found[0][2]
    assert message.startswith("imperative deploy from CI in job aimed:")
    assert message.endswith("; also run by .github/workflows/e2e.yml job passed")
