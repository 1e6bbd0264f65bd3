"""A merge of clusters generators: each one's `values` are parameters of their own
(`values.x`), merged key by key, and a cluster may or may not be one a later generator
selects (gitops-bridge, session 18: the later generator's values replaced the base's whole,
so `{{values.addonChart}}` stayed unrendered). The ApplicationSet's chart and targetRevision
are judged as every Application gets them where all agree: `{{values.addonChartVersion}}`
pinned to 1.0.9 everywhere was a blocking GITOPS-ARGO-PINNED-CHART; a range in any values
still is one, a parameter of the cluster itself stays as written, and so does everything
when another generator's Applications are not seen (another repository's git files)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Run

Gatekeeper = Callable[..., Run]
Write = Callable[[str, str], Path]

SET = """\
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: NAME
spec:
  generators:
    - merge:
        mergeKeys: [server]
        generators:
          - clusters:
              values:
                addonChart: s3-chart
                addonChartVersion: 'BASE'
          - clusters:
              selector:
                matchLabels: {environment: prod}
              values:
                addonChartVersion: 'PROD'
  template:
    metadata:
      name: 'addon-{{name}}'
    spec:
      project: addons
      destination: {server: '{{server}}', namespace: addons}
      source:
        repoURL: https://charts.example.com
        chart: 'aws/{{values.addonChart}}'
        targetRevision: 'REVISION'
"""


def test_values_of_merged_cluster_generators_pin_the_chart(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    cases = {
        "pinned": ("1.0.9", "1.0.9", "{{values.addonChartVersion}}"),
        "base-range": ("1.*", "1.0.9", "{{values.addonChartVersion}}"),
        "prod-range": ("1.0.9", "1.*", "{{values.addonChartVersion}}"),
        "by-cluster": ("1.0.9", "1.0.9", "{{name}}"),
    }
    for name, (base, prod, revision) in cases.items():
        text = SET.replace("NAME", name).replace("BASE", base).replace("PROD", prod)
        write(f"apps/{name}.yaml", text.replace("REVISION", revision))
    # Another repository's git files also make Applications: not seen here, not agreed.
    foreign = "    - git: {repoURL: 'https://github.com/other/x.git', files: [{path: a.json}]}\n"
    text = SET.replace("NAME", "foreign").replace("BASE", "1.0.9").replace("PROD", "1.0.9")
    text = text.replace("  template:\n", foreign + "  template:\n")
    write("apps/foreign.yaml", text.replace("REVISION", "{{values.addonChartVersion}}"))
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    findings = json.loads(run.stdout)["findings"]
    found = sorted(
        (f["name"], f["line"], f["message"])
        for f in findings
        if f["policy_id"] == "GITOPS-ARGO-PINNED-CHART"
    )
    assert found == [
        ("base-range", 28, "chart aws/s3-chart is not pinned to an exact version"),
        ("by-cluster", 28, "chart aws/s3-chart is not pinned to an exact version"),
        ("foreign", 29, "chart aws/{{values.addonChart}} is not pinned to an exact version"),
        ("prod-range", 28, "chart aws/s3-chart is not pinned to an exact version"),
    ]
