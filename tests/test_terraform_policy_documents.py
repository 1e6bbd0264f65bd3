"""aws_iam_policy_document merges the documents it is given as the AWS provider does.

`source_policy_documents` first, then the data source's own `statement` blocks, then
`override_policy_documents`: a statement with a non-blank Sid replaces the earlier one of
that Sid. Such a data source was left unknown, so an override turning the bucket policy's
only statement public (Principal "*") was judged nothing (red team s21 trust14 c20).
"""

from __future__ import annotations

import json
from pathlib import Path

import gatekeeper
from gatekeeper.sources.terraform_modules import policy_json

BASE = """\
resource "aws_s3_bucket" "b" {
  bucket = "acme-logs"
}
data "aws_iam_policy_document" "base" {
  statement {
    sid       = "read"
    actions   = ["s3:GetObject"]
    resources = ["arn:aws:s3:::acme-logs/*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::123456789012:root"]
    }
  }
}
data "aws_iam_policy_document" "p" {
  source_policy_documents   = [data.aws_iam_policy_document.base.json]
  override_policy_documents = [jsonencode({Version = "2012-10-17", Statement = [{
    Sid = "%s", Effect = "Allow", Principal = "*", Action = "s3:GetObject",
    Resource = "arn:aws:s3:::acme-logs/*",%s
  }]})]
}
resource "aws_s3_bucket_policy" "p" {
  bucket = aws_s3_bucket.b.id
  policy = data.aws_iam_policy_document.p.json
}
"""


def _public(root: Path, sid: str, condition: str = "") -> list[str]:
    (root / "main.tf").write_text(BASE % (sid, condition))
    report = gatekeeper.scan(root, root=root, jobs=1)
    return [
        f.file
        for f in report.verdict.findings
        if f.policy_id == "TF-AWS-S3-POLICY-PUBLIC-PRINCIPAL"
    ]


def test_an_override_document_replacing_a_statement_is_merged(tmp_path: Path) -> None:
    assert _public(tmp_path, "read") == ["main.tf"]


def test_an_override_naming_an_apply_time_value_is_merged(tmp_path: Path) -> None:
    """`Resource = "${aws_s3_bucket.b.arn}/*"` makes jsonencode's text unknown, not the
    statement's principal: the document is encoded with the value's `${...}` text."""
    (tmp_path / "main.tf").write_text(
        (BASE % ("read", "")).replace(
            '"arn:aws:s3:::acme-logs/*",\n', '"${aws_s3_bucket.b.arn}/*",\n'
        )
    )
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    public = [
        f for f in report.verdict.findings if f.policy_id == "TF-AWS-S3-POLICY-PUBLIC-PRINCIPAL"
    ]
    assert len(public) == 1


def test_an_override_with_a_condition_is_merged_too_and_passes(tmp_path: Path) -> None:
    condition = '\n    Condition = {StringEquals = {"aws:SourceVpce" = "vpce-1a2b3c4d"}}'
    assert _public(tmp_path, "read", condition) == []


def test_merging_order_and_sids() -> None:
    source = json.dumps({"Statement": [{"Sid": "a", "Effect": "Allow"}, {"Effect": "Deny"}]})
    override = json.dumps({"Statement": {"Sid": "a", "Effect": "Deny", "Principal": "*"}})
    values = {
        "source_policy_documents": [source],
        "override_policy_documents": [override],
        "statement": [{"sid": "b", "actions": ["s3:*"]}],
    }
    merged = json.loads(policy_json(values) or "{}")["Statement"]
    assert [s.get("Sid") for s in merged] == ["a", None, "b"]
    assert merged[0] == {"Sid": "a", "Effect": "Deny", "Principal": "*"}
    # a document that is not known JSON here: unknown, as before
    assert policy_json({"source_policy_documents": ["${data.x.json}"]}) is None


IRSA = """\
data "aws_eks_cluster" "current" {
  name = var.cluster_name
}
variable "cluster_name" {
  type = string
}
locals {
  oidc_id = replace(data.aws_eks_cluster.current.identity[0].oidc[0].issuer, "https://", "")
}
data "aws_iam_policy_document" "oidc" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_id}:%s"
      values   = ["system:serviceaccount:loki:loki"]
    }
    principals {
      type        = "Federated"
      identifiers = ["arn:aws:iam::123456789012:oidc-provider/${local.oidc_id}"]
    }
  }
}
resource "aws_iam_role" "loki" {
  name               = "loki"
  assume_role_policy = data.aws_iam_policy_document.oidc.json
}
"""


def test_a_condition_key_with_an_apply_time_issuer_keeps_its_known_end(tmp_path: Path) -> None:
    """EKS IRSA (loki's production/terraform/modules/s3): the issuer comes from a data
    source, so `"${local.oidc_id}:sub"` is known only at its end. The key was written as the
    unknown's text alone, no `:sub` key was seen, and the role was a critical "assumable by
    anyone". Its literal ends are kept; a condition on `:aud` alone still fails."""

    def public(key: str) -> list[str]:
        (tmp_path / "main.tf").write_text(IRSA % key)
        report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
        return [
            f.file for f in report.verdict.findings if f.policy_id == "TF-AWS-IAM-ROLE-TRUST-PUBLIC"
        ]

    assert public("sub") == []
    assert public("aud") == ["main.tf"]
