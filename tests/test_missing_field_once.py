"""A field one rendering of a chart lacks and another writes is one finding, at the place
where it is missing (datadog-csi-driver, session 18: `lacks the label(s)
app.kubernetes.io/name` said at `metadata:` for the default rendering and again at the
`labels:` only a cluster with GKE's API renders)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Run

Gatekeeper = Callable[..., Run]
Write = Callable[[str, str], Path]

TEMPLATE = """\
apiVersion: v1
kind: Service
metadata:
  name: web
  {{- if .Capabilities.APIVersions.Has "auto.gke.io/v1/AllowlistSynchronizer" }}
  labels:
    cloud.google.com/matching-allowlist: web
  {{- end }}
spec:
  ports:
    - port: 80
"""


def test_a_label_missing_in_two_renderings_is_said_once(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    write("chart/Chart.yaml", "apiVersion: v2\nname: web\nversion: 1.0.0\n")
    write("chart/templates/service.yaml", TEMPLATE)
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    found = [
        (f["line"], f["extra"].get("exact"))
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == "K8S-META-REQUIRED-LABELS"
    ]
    assert found == [(3, False)]
