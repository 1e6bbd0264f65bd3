"""A job that creates a cluster in a test service and removes it (fluxcd/flux2's conformance
jobs: Replicated's `create-cluster` with `export-kubeconfig: true`, then `kubectl delete ns
flux-system`, then `remove-cluster` of the created id) tests against its own cluster, as a
kind cluster in the runner: its kubectl commands are no deploy. Only the actions a job uses
count, never a step's name; a job whose create step may be skipped or fail quietly, does not
export its kubeconfig, is not removed by its id, or that points kubectl elsewhere still
deploys, and so does a command before the cluster is made."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Run

Gatekeeper = Callable[..., Run]
Write = Callable[[str, str], Path]

CREATE = "replicatedhq/replicated-actions/create-cluster@6803131db735f7cc067de88fa14237c7462b247a"
REMOVE = "replicatedhq/replicated-actions/remove-cluster@6803131db735f7cc067de88fa14237c7462b247a"


def _job(
    name: str,
    create: str = "",
    export: str = "true",
    removed: str = "${{ steps.cluster.outputs.cluster-id }}",
    removal: str = "${{ always() }}",
    before: str = "",
    env: str = "",
) -> str:
    return f"""\
  {name}:
    runs-on: ubuntu-latest{env}
    steps:{before}
      - name: Create cluster
        id: cluster{create}
        uses: {CREATE}
        with:
          api-token: ${{{{ secrets.REPLICATED_API_TOKEN }}}}
          kubernetes-distribution: k3s
          ttl: 20m
          export-kubeconfig: {export}
      - name: Delete flux
        run: kubectl delete ns flux-system --wait
      - name: Delete cluster
        if: {removal}
        uses: {REMOVE}
        with:
          cluster-id: {removed}
"""


# steps named as the cluster's, running something else
NAMED = """\
  named:
    runs-on: ubuntu-latest
    steps:
      - name: Create cluster
        id: cluster
        run: echo creating
      - name: Delete flux
        run: kubectl delete ns flux-system --wait
      - name: Delete cluster
        if: ${{ always() }}
        run: echo removing
"""
WORKFLOW = "on: push\njobs:\n" + "".join(
    [
        _job("conform"),
        _job("unexported", export="false"),
        _job("other", removed="${{ steps.old.outputs.cluster-id }}"),
        _job("unremoved", removal="false"),
        _job("maybe", create="\n        if: github.ref == 'refs/heads/main'"),
        _job("quiet", create="\n        continue-on-error: true"),
        _job("prod", env="\n    env:\n      KUBECONFIG: prod.yaml"),
        _job("before", before="\n      - run: kubectl apply -f deploy/"),
        NAMED,
    ]
)


def test_a_cluster_a_job_makes_in_a_test_service_and_removes_is_a_throwaway_cluster(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    write(".github/workflows/conformance.yaml", WORKFLOW)
    write(".gatekeeper.yml", "packs: [workflow]\n")
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    found = sorted(
        (f["message"].split(":")[0].rsplit(" ", 1)[1], f["message"].split(": ", 1)[1])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == "WF-GITOPS-IMPERATIVE-DEPLOY"
    )
    changes = " (only the GitOps controller should change the cluster)"
    deleted = "kubectl delete ns flux-system --wait" + changes
    assert found == [
        ("before", "kubectl apply -f deploy/" + changes),
        ("maybe", deleted),
        ("named", deleted),
        ("other", deleted),
        ("prod", deleted),
        ("quiet", deleted),
        ("unexported", deleted),
        ("unremoved", deleted),
    ]


KIND = "helm/kind-action@a1b0e391336a6ee6713a0583f8c6240d70863de3"
EXPORTED = f"""\
on: push
jobs:
  environment-file:
    steps:
      - uses: {KIND}
      - run: echo "KUBECONFIG=$HOME/prod.yaml" >> "$GITHUB_ENV"
      - run: kubectl delete ns flux-system
  heredoc:
    steps:
      - uses: {KIND}
      - run: |
          cat >> "$GITHUB_ENV" <<EOF
          KUBECONFIG=$HOME/prod.yaml
          EOF
      - run: kubectl delete ns flux-system
  exported:
    steps:
      - uses: {KIND}
      - run: |
          export KUBECONFIG=$HOME/prod.yaml
          kubectl delete ns flux-system
  assigned:
    steps:
      - uses: {KIND}
      - run: |
          KUBECONFIG=$HOME/prod.yaml; export KUBECONFIG
          kubectl delete ns flux-system
  default:
    steps:
      - uses: {KIND}
      - run: echo "KUBECONFIG=$HOME/.kube/config" >> "$GITHUB_ENV"
      - run: echo "TEST_KUBECONFIG=$HOME/prod.yaml" >> "$GITHUB_ENV"
      - run: kubectl delete ns flux-system
"""


def test_a_kubeconfig_exported_or_sent_to_the_environment_file_aims_elsewhere(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    """`export KUBECONFIG=prod.yaml` or `echo KUBECONFIG=prod.yaml >> $GITHUB_ENV` after a
    throwaway cluster points the job's kubectl at another cluster (round 10: green on
    7b94a1d, as `KUBECONFIG=prod.yaml kubectl` before a command was not); the default
    kubeconfig, where kind writes its cluster, and another variable do not."""
    write(".github/workflows/e2e.yaml", EXPORTED)
    write(".gatekeeper.yml", "packs: [workflow]\n")
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    jobs = sorted(
        f["message"].split(":")[0].rsplit(" ", 1)[1]
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == "WF-GITOPS-IMPERATIVE-DEPLOY"
    )
    assert jobs == ["assigned", "environment-file", "exported", "heredoc"]
