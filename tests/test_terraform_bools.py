"""Strings Terraform reads as booleans ("1"/"0") for the bool attributes policies judge."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

import gatekeeper
from gatekeeper.sources.terraform import typed_literals
from gatekeeper.sources.terraform_bools import BOOL_ATTRIBUTES

POLICIES = Path(__file__).resolve().parent.parent / "policies" / "terraform"
# `x.?name == true`, `x.?name.orValue(false) != false`, `x.?name.orValue(true)`
COMPARED = re.compile(
    r"([A-Za-z_][\w.?\[\]*]*?)(?:\.orValue\((?:true|false)\))?\s*[!=]=\s*(?:true|false)\b"
)
DEFAULTED = re.compile(r"([A-Za-z_][\w.?]*)\.orValue\((?:true|false)\)")


def _bool_reads() -> set[tuple[str, str, str]]:
    """(policy id, resource type, attribute name) for each attribute a policy compares with a
    boolean literal."""
    reads: set[tuple[str, str, str]] = set()
    for file in sorted(POLICIES.rglob("*.yaml")):
        policy = yaml.safe_load(file.read_text())
        if not isinstance(policy, dict) or "rule" not in policy:
            continue
        rule = str(policy["rule"])
        kinds = (policy.get("match") or {}).get("kinds") or []
        if "data.aws_vpc" in str((policy.get("match") or {}).get("condition", "")):
            kinds = [*kinds, "data.aws_vpc"]
        for match in [*COMPARED.finditer(rule), *DEFAULTED.finditer(rule)]:
            name = re.split(r"[.?\[\]]+", match.group(1).rstrip("?]"))[-1]
            reads.update((policy["id"], kind, name) for kind in kinds)
    return reads


def test_every_boolean_a_policy_reads_is_in_the_table() -> None:
    reads = _bool_reads()
    assert len(reads) > 100  # the extraction still finds the library's comparisons
    missing = sorted(read for read in reads if read[2] not in BOOL_ATTRIBUTES.get(read[1], ()))
    assert missing == []


def test_one_and_zero_are_booleans_only_where_the_attribute_is() -> None:
    values = {
        "encrypted": "0",
        "iops": "1",
        "tags": {"encrypted": "1"},
        "ebs_block_device": [{"encrypted": "0", "volume_size": "1"}],
        "flag": "true",
    }
    assert typed_literals(values, "aws_ebs_volume") == {
        "encrypted": False,
        "iops": "1",
        "tags": {"encrypted": True},
        "ebs_block_device": [{"encrypted": False, "volume_size": "1"}],
        "flag": True,
    }
    assert typed_literals({"encrypted": "0"}, "aws_s3_object") == {"encrypted": "0"}


def _blocking(root: Path, main_tf: str) -> set[tuple[str, int]]:
    """(policy, line) of each blocking finding on a main.tf holding `main_tf`."""
    (root / "main.tf").write_text(main_tf)
    report = gatekeeper.scan(root / "main.tf", root=root, jobs=1)
    return {(f.policy_id, f.line) for f in report.verdict.findings if f.blocking}


def test_booleans_written_as_strings_are_judged_as_terraform_reads_them(tmp_path: Path) -> None:
    """Terraform converts "false" to false for a bool attribute: quoting the value must not
    get an unencrypted volume or a public database past the gate."""
    blocking = _blocking(
        tmp_path,
        'resource "aws_ebs_volume" "data" {\n'
        '  availability_zone = "eu-west-1a"\n'
        '  encrypted         = "false"\n'
        "}\n"
        'resource "aws_db_instance" "db" {\n'
        '  storage_encrypted   = "false"\n'
        '  publicly_accessible = "true"\n'
        "}\n",
    )
    assert {
        ("TF-AWS-EBS-ENCRYPTION", 3),
        ("TF-AWS-RDS-ENCRYPTION", 6),
        ("TF-AWS-RDS-PUBLIC", 7),
    } <= blocking


def test_one_and_zero_as_strings_do_not_pass_the_gate(tmp_path: Path) -> None:
    blocking = _blocking(
        tmp_path,
        'resource "aws_ebs_volume" "data" {\n'
        '  availability_zone = "eu-west-1a"\n'
        '  encrypted         = "0"\n'
        "}\n"
        'resource "aws_db_instance" "db" {\n'
        '  storage_encrypted   = "1"\n'
        '  publicly_accessible = "1"\n'
        '  port                = "1"\n'
        "}\n",
    )
    assert ("TF-AWS-EBS-ENCRYPTION", 3) in blocking
    assert ("TF-AWS-RDS-PUBLIC", 7) in blocking
    assert not any(policy == "TF-AWS-RDS-ENCRYPTION" for policy, _ in blocking)


def test_one_and_zero_through_a_module_variable(tmp_path: Path) -> None:
    (tmp_path / "modules" / "disk").mkdir(parents=True)
    (tmp_path / "modules" / "disk" / "main.tf").write_text(
        'variable "encrypted" {\n  type = string\n}\n'
        'resource "aws_ebs_volume" "data" {\n'
        '  availability_zone = "eu-west-1a"\n'
        "  encrypted         = var.encrypted\n"
        "}\n"
    )
    (tmp_path / "main.tf").write_text(
        'module "disk" {\n  source    = "./modules/disk"\n  encrypted = "0"\n}\n'
    )
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    blocking = {(f.policy_id, f.file, f.line) for f in report.verdict.findings if f.blocking}
    assert ("TF-AWS-EBS-ENCRYPTION", "main.tf", 3) in blocking
