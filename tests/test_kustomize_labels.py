"""Selector labels (`commonLabels`, `labels` with `includeSelectors`), built in-process and
by kubectl: every case must agree (tests.test_kustomize_build.both_ways)."""

from __future__ import annotations

import pytest

from tests.test_kustomize_build import ROOT, both_ways, refused

SELECTING = """\
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{port: 80}]}
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: kn}
spec: {template: {spec: {containers: [{image: x}]}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  template:
    metadata: {labels: {app: web}}
    spec:
      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
            - weight: 1
              podAffinityTerm:
                topologyKey: zone
                labelSelector: {matchLabels: {app: web}}
          requiredDuringSchedulingIgnoredDuringExecution:
            - topologyKey: host
              labelSelector: {matchExpressions: [{key: app, operator: Exists}]}
      topologySpreadConstraints:
        - {maxSkew: 1, topologyKey: zone, whenUnsatisfiable: DoNotSchedule,
           labelSelector: {matchLabels: {app: web}}}
      containers: [{name: web, image: nginx}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  volumeClaimTemplates:
    - metadata: {name: d}
    - metadata: {name: e, labels: {x: y}}
    - spec: {accessModes: [ReadWriteOnce]}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: postgres}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {}
  template: {spec: {containers: [{name: a, image: a}]}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec: {template: {spec: {restartPolicy: Never, containers: [{name: j, image: j}]}}}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "0 0 * * *"
  jobTemplate:
    spec:
      selector: {matchLabels: {a: b}}
      template: {spec: {restartPolicy: Never, containers: [{name: c, image: c}]}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web}
spec: {minAvailable: 1, selector: {matchLabels: {app: web}}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: bare}
spec: {minAvailable: 1}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
    - from: [{podSelector: {matchLabels: {role: front}}}, {namespaceSelector: {}}]
  egress:
    - to: [{podSelector: {}}]
---
apiVersion: v1
kind: ReplicationController
metadata: {name: old}
spec: {template: {metadata: {labels: {a: b}}, spec: {containers: [{name: o, image: o}]}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {a: b}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
spec: {selector: {matchLabels: {a: b}}}
"""


@pytest.mark.parametrize(
    "settings",
    [
        "commonLabels: {team: sre, tier: '1'}\n",
        "labels: [{pairs: {team: sre}, includeSelectors: true}]\n",
        "labels: [{pairs: {team: sre}, includeSelectors: true, includeTemplates: false}]\n",
        "labels: [{pairs: {a: b}}, {pairs: {team: sre}, includeSelectors: true}]\n"
        "commonLabels: {app: overridden}\nnamePrefix: p-\n",
    ],
)
def test_selector_labels(settings: str) -> None:
    files = {ROOT: "resources: [all.yaml]\n" + settings, "app/all.yaml": SELECTING}
    objects = {(o["apiVersion"], o["kind"], o["metadata"]["name"]): o for o in both_ways(files)}
    service = objects[("v1", "Service", "web")] if "p-" not in settings else None
    if service is not None:
        assert service["spec"]["selector"]["team"] == "sre"


@pytest.mark.parametrize(
    ("resource", "reason"),
    [
        (
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db}\nspec:\n"
            "  volumeClaimTemplates: [{metadata: {name: d}}, 1]\n",
            "scalar",
        ),
        (
            "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {selector: ~}\n",
            "null",
        ),
        (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {selector: x}\n",
            "scalar",
        ),
    ],
)
def test_what_the_builder_leaves_to_kubectl(resource: str, reason: str) -> None:
    files = {ROOT: "resources: [r.yaml]\ncommonLabels: {team: sre}\n", "app/r.yaml": resource}
    assert reason in refused(files)
