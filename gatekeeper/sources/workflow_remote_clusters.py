"""A job that makes a cluster of its own in a test service and removes it.

fluxcd/flux2's conformance jobs create a k3s or OpenShift cluster in Replicated's
compatibility matrix (`replicatedhq/replicated-actions/create-cluster`, a 20 minute TTL,
`export-kubeconfig: true` points kubectl at it), bootstrap Flux into it, end with `kubectl
delete ns flux-system` and remove the cluster (`remove-cluster` given the id the create step
outputs). Like a kind cluster in the runner, nothing the job does outlives it: its kubectl
commands test, they do not deploy (WF-GITOPS-IMPERATIVE-DEPLOY's throwaway rule).

The rule is as tight as the kind one (the job must not point kubectl elsewhere), and tighter
in what it needs, since what a step is named says nothing, only the action it uses:
- the create step always runs when reached (no `if:`), cannot fail quietly (no
  `continue-on-error`), has an `id`, and exports its kubeconfig (`export-kubeconfig: true`:
  KUBECONFIG names the new cluster for the steps after it; without it kubectl talks to
  whatever cluster the runner's own kubeconfig names);
- a later step that runs removes that cluster, by the id the create step outputs
  (`cluster-id: ${{ steps.ID.outputs.cluster-id }}`);
- only the steps from the create step on are the test's: a command before it talks to the
  runner's cluster.
"""

from __future__ import annotations

import re
from typing import Any

CREATE = "replicatedhq/replicated-actions/create-cluster"
REMOVE = "replicatedhq/replicated-actions/remove-cluster"
_OUTPUT_ID = r"\$\{\{\s*steps\.%s\.outputs\.cluster-id\s*\}\}"


def made_at(steps: list[dict[str, Any]]) -> int | None:
    """The index in `steps` (a job's steps that may run, in order) of the step that creates
    a cluster the job removes and aims kubectl at, or None."""
    for index, step in enumerate(steps):
        if step.get("action") != CREATE or "if" in step:
            continue
        if str(step.get("continue-on-error", False)).lower() not in ("false", ""):
            continue
        given = _inputs(step)
        identifier = step.get("id")
        if str(given.get("export-kubeconfig")).lower() != "true" or not isinstance(identifier, str):
            continue
        removed_by = re.compile(_OUTPUT_ID % re.escape(identifier))
        for later in steps[index + 1 :]:
            cluster = _inputs(later).get("cluster-id")
            if later.get("action") == REMOVE and removed_by.fullmatch(str(cluster).strip()):
                return index
    return None


def _inputs(step: dict[str, Any]) -> dict[str, Any]:
    given = step.get("with")
    return given if isinstance(given, dict) else {}
