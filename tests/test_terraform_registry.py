"""Calls of well-known registry modules judged by what their inputs set.

A registry or git module is not in the repository and a scan downloads nothing: without the
table in gatekeeper.sources.terraform_registry, `publicly_accessible = true` on a call of
terraform-aws-modules/rds passed with no finding (red team r21). Findings are kept only
where the call writes the value; what the module fills itself stays quiet.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import gatekeeper
from gatekeeper.sources.terraform_registry import registry_address

PINNED = "TF-MODULE-SOURCE-PINNED"


def findings(root: Path, text: str) -> list[tuple[int, str, str]]:
    (root / "main.tf").write_text(text)
    report = gatekeeper.scan(root, root=root, jobs=1)
    return sorted(
        (f.line, f.policy_id, f.name) for f in report.verdict.findings if f.policy_id != PINNED
    )


def test_what_a_call_opens_is_found_at_the_input_that_opens_it(tmp_path: Path) -> None:
    text = """\
module "db" {
  source              = "terraform-aws-modules/rds/aws"
  version             = "6.10.0"
  identifier          = "orders"
  publicly_accessible = true
}
module "eks" {
  source                 = "terraform-aws-modules/eks/aws"
  version                = "21.0.0"
  endpoint_public_access = true
  enabled_log_types      = ["api"]
}
module "web" {
  source                      = "terraform-aws-modules/ec2-instance/aws"
  version                     = "6.0.0"
  associate_public_ip_address = true
  metadata_options            = { http_tokens = "optional" }
}
module "bucket" {
  source            = "terraform-aws-modules/s3-bucket/aws"
  version           = "5.0.0"
  acl               = "public-read"
  block_public_acls = false
}
"""
    assert findings(tmp_path, text) == [
        (5, "TF-AWS-RDS-PUBLIC", "module.db.aws_db_instance.this"),
        # the module's default CIDRs (0.0.0.0/0) come with the public endpoint
        (10, "TF-AWS-EKS-PUBLIC-ENDPOINT", "module.eks.aws_eks_cluster.this"),
        (11, "TF-AWS-EKS-CONTROL-PLANE-LOGGING", "module.eks.aws_eks_cluster.this"),
        (16, "TF-AWS-EC2-PUBLIC-IP", "module.web.aws_instance.this"),
        (17, "TF-AWS-EC2-IMDSV2", "module.web.aws_instance.this"),
        (22, "TF-AWS-S3-PUBLIC-ACL", "module.bucket.aws_s3_bucket_acl.this"),
        (
            23,
            "TF-AWS-S3-PUBLIC-ACCESS-BLOCK-SETTINGS",
            "module.bucket.aws_s3_bucket_public_access_block.this",
        ),
    ]


def test_security_group_rules_by_name_by_map_and_by_submodule(tmp_path: Path) -> None:
    text = """\
module "ssh" {
  source              = "git::https://github.com/terraform-aws-modules/terraform-aws-security-group.git//modules/ssh?ref=v5.1.0"
  ingress_cidr_blocks = ["0.0.0.0/0"]
}
module "sg" {
  source              = "registry.terraform.io/terraform-aws-modules/security-group/aws"
  version             = "5.1.0"
  ingress_cidr_blocks = ["0.0.0.0/0"]
  ingress_rules       = ["https-443-tcp", "rdp-tcp"]
  ingress_with_cidr_blocks = [
    { from_port = 443, to_port = 443, protocol = "tcp", cidr_blocks = "0.0.0.0/0" },
    { rule = "ssh-tcp", cidr_blocks = "10.0.0.0/8,0.0.0.0/0" },
  ]
}
module "inside" {
  source              = "terraform-aws-modules/security-group/aws//modules/ssh"
  version             = "5.1.0"
  ingress_cidr_blocks = ["10.0.0.0/8"]
}
"""
    found = [(line, name) for line, policy, name in findings(tmp_path, text)]
    admin = [
        (line, name)
        for line, policy, name in findings(tmp_path, text)
        if policy == "TF-AWS-SG-RULE-OPEN-ADMIN-PORTS"
    ]
    assert admin == [
        (3, "module.ssh.aws_security_group_rule.this"),  # the CIDRs the submodule's SSH gets
        (9, "module.sg.aws_security_group_rule.this_2"),  # rdp-tcp, at the rule list
        (10, "module.sg.aws_security_group_rule.this_4"),  # the ssh map, at its list
    ]
    assert all(line != 17 for line, _ in found)  # SSH from the VPN only


def test_a_call_that_leaves_everything_to_the_module_is_quiet(tmp_path: Path) -> None:
    """The module's own defaults (encryption on, private) are not the call's to fix: no
    finding about what the call does not set, and none at all for unknown modules."""
    text = """\
module "db" {
  source     = "terraform-aws-modules/rds/aws"
  version    = "6.10.0"
  identifier = "orders"
  engine     = "postgres"
}
module "bucket" {
  source  = "terraform-aws-modules/s3-bucket/aws"
  version = "5.0.0"
  bucket  = "logs"
}
module "vpc" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "6.0.0"
}
"""
    assert findings(tmp_path, text) == []


def test_each_instance_of_a_call_and_values_through_variables(tmp_path: Path) -> None:
    text = """\
variable "public" {
  default = true
}
module "db" {
  source              = "terraform-aws-modules/rds/aws"
  version             = "6.10.0"
  for_each            = toset(["a", "b"])
  identifier          = each.key
  publicly_accessible = var.public
}
"""
    # Both instances are one finding at the default that opens them.
    assert findings(tmp_path, text) == [
        (2, "TF-AWS-RDS-PUBLIC", 'module.db["a"].aws_db_instance.this'),
    ]


@pytest.mark.parametrize(
    ("source", "address"),
    [
        ("terraform-aws-modules/rds/aws", "terraform-aws-modules/rds/aws"),
        ("registry.terraform.io/Terraform-AWS-Modules/RDS/AWS", "terraform-aws-modules/rds/aws"),
        (
            "git::https://github.com/terraform-aws-modules/terraform-aws-rds.git?ref=v6.10.0",
            "terraform-aws-modules/rds/aws",
        ),
        (
            "github.com/terraform-aws-modules/terraform-aws-security-group//modules/ssh",
            "terraform-aws-modules/security-group/aws//modules/ssh",
        ),
        (
            "git@github.com:terraform-aws-modules/terraform-aws-eks.git?ref=v21.0.0",
            "terraform-aws-modules/eks/aws",
        ),
    ],
)
def test_registry_addresses_of_every_spelling(source: str, address: str) -> None:
    assert registry_address(source) == address


def test_a_pull_request_adding_a_public_database_through_a_module_is_blocked(
    tmp_path: Path,
) -> None:
    """Red team r21 as a pull request."""
    from gatekeeper.change import scan_change
    from tests.test_change import Repo

    repo = Repo(tmp_path / "repo")
    repo.write("main.tf", "terraform {}\n")
    repo.commit("base")
    repo.branch("pr")
    repo.write(
        "main.tf",
        'terraform {}\nmodule "db" {\n  source = "terraform-aws-modules/rds/aws"\n'
        '  version = "6.10.0"\n  publicly_accessible = true\n}\n',
    )
    repo.commit("db")
    report = scan_change(repo.root, "main")
    new = [(f.line, f.policy_id) for f in report.verdict.findings if f.status == "new"]
    assert new == [(5, "TF-AWS-RDS-PUBLIC")]
    assert report.verdict.blocking


def test_a_local_wrapper_passes_what_its_caller_sets_to_a_registry_module(
    tmp_path: Path,
) -> None:
    """A local module that wraps terraform-aws-modules/rds: the root's `public = true` is
    found where the root writes it; the wrapper's own hard-coded value where it is written."""
    (tmp_path / "modules" / "db").mkdir(parents=True)
    (tmp_path / "modules" / "db" / "main.tf").write_text(
        'variable "public" {\n  default = false\n}\n'
        'module "rds" {\n  source = "terraform-aws-modules/rds/aws"\n  version = "6.10.0"\n'
        "  publicly_accessible = var.public\n}\n"
        'module "copy" {\n  source = "terraform-aws-modules/rds/aws"\n  version = "6.10.0"\n'
        "  publicly_accessible = true\n}\n"
    )
    text = 'module "db" {\n  source = "./modules/db"\n  public = true\n}\n'
    (tmp_path / "main.tf").write_text(text)
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    public = sorted(
        (f.file, f.line) for f in report.verdict.findings if f.policy_id == "TF-AWS-RDS-PUBLIC"
    )
    assert public == [("main.tf", 3), ("modules/db/main.tf", 12)]
