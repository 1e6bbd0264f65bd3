"""A template with a literal part is a string we partly know: conditions on it are decided.

`identity_namespace = "${var.project_id}.svc.id.goog"` is never null and never "null": the
module's `wi_enabled = !(var.identity_namespace == null || ... == "null")` was taken both ways
as an apply-time condition, and the "unknown conditions true" branch reported a cluster
without Workload Identity that no apply can make (real-repo check,
terraform-google-kubernetes-engine safer-cluster).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import gatekeeper
from gatekeeper import tfeval
from gatekeeper.hcl import parse

MODULE = """\
variable "identity_namespace" {
  type    = string
  default = "enabled"
}
locals {
  wi_enabled = !(var.identity_namespace == null || var.identity_namespace == "null")
  wi_config  = !local.wi_enabled ? [] : [{ workload_pool = var.identity_namespace }]
}
resource "google_container_cluster" "primary" {
  name = "c"
  dynamic "workload_identity_config" {
    for_each = local.wi_config
    content {
      workload_pool = workload_identity_config.value.workload_pool
    }
  }
}
"""


def test_a_template_with_a_literal_part_is_not_null(tmp_path: Path) -> None:
    (tmp_path / "mod").mkdir()
    (tmp_path / "mod" / "main.tf").write_text(MODULE)
    (tmp_path / "main.tf").write_text(
        'variable "project_id" { type = string }\nmodule "gke" {\n  source = "./mod"\n'
        '  identity_namespace = "${var.project_id}.svc.id.goog"\n}\n'
    )
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    assert not [f for f in report.verdict.findings if f.policy_id == "TF-GCP-GKE-WORKLOAD-IDENTITY"]


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ('"${var.p}.svc" == null', False),
        ('"${var.p}.svc" != "null"', True),
        ('"prod-${var.p}" == "dev-x"', False),
        ('"a${var.p}b${var.q}c" == "xc"', False),
        ('"prod-${var.p}" == "prod-x"', None),  # could be
        ('"${var.p}" == "null"', None),
        ('"${var.p}.svc" == 5', None),
    ],
)
def test_comparisons_decided_only_where_the_known_ends_decide(
    expression: str, value: bool | None
) -> None:
    parsed = parse(f"locals {{\n  x = {expression}\n}}\n", expressions=True)
    raw = parsed.blocks[0].raw
    assert raw is not None
    result = tfeval.evaluate(raw.attributes["x"].expr, tfeval.Scope()).data
    if value is None:
        assert isinstance(result, tfeval.Unknown)
    else:
        assert result is value
