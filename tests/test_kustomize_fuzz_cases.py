"""Cases a differential fuzz of the in-process kustomize build against kubectl found (random
kustomizations with prefixes, labels and generators): each now goes to kubectl."""

from __future__ import annotations

from tests.test_kustomize_build import refused

STATEFUL_SET = """\
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, labels: {app: db}}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: postgres:16}]
  volumeClaimTemplates:
    - metadata: {name: data}
      spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
"""


def test_template_labels_over_claim_templates_go_to_kubectl() -> None:
    """kubectl's kustomize also labels the claim templates; releases differ on it."""
    files = {
        "app/kustomization.yaml": "resources: [db.yaml]\n"
        "labels: [{pairs: {tier: be}, includeTemplates: true}]\n",
        "app/db.yaml": STATEFUL_SET,
    }
    assert "volumeClaimTemplates" in refused(files)


def test_a_generator_named_as_a_renamed_base_object_goes_to_kubectl() -> None:
    """The base's generated cfg is renamed and moved to another namespace; kustomize still
    meets the overlay's cfg by the name it had, and fails (behavior must be merge or
    replace). In-process both were built."""
    files = {
        "base/kustomization.yaml": "namespace: prod\nnameSuffix: -v2\nresources: [cm.yaml]\n"
        "configMapGenerator: [{name: cfg, literals: [a=1]}]\n",
        "base/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\n",
        "app/kustomization.yaml": "resources: [../base]\n"
        "configMapGenerator: [{name: cfg, literals: [b=2]}]\n",
    }
    assert "already built" in refused(files)
