"""A function gatekeeper does not compute is said where it is called (GK-TF-UNEVALUATED):
its value would pass every rule. Apply-time functions (files, clocks) are not; provider
functions (`provider::terraform::decode_tfvars`) compute from their arguments too."""

from __future__ import annotations

from gatekeeper.document import Problem
from gatekeeper.sources import LoadContext, terraform
from gatekeeper.tfeval import evaluated
from gatekeeper.tree import MemoryTree

MAIN = """\
locals {
  flag = templatestring("$${x}", { x = "false" })
}
resource "aws_s3_bucket_public_access_block" "site" {
  bucket                  = "site"
  block_public_acls       = true
  block_public_policy     = local.flag
  ignore_public_acls      = yamldecode("true")
  restrict_public_buckets = sum([for p in [1] : 1]) > 0
  tags = {
    stamp = timestamp(), body = file("${path.module}/x")
  }
}
"""


def problems(text: str) -> list[tuple[str, int, str]]:
    data = {"main.tf": text.encode()}
    loaded = terraform.load("main.tf", data["main.tf"], LoadContext(tree=MemoryTree(data)))
    return [(p.code, p.line, p.message) for p in loaded.problems if isinstance(p, Problem)]


def test_a_function_not_computed_is_said_at_its_line() -> None:
    assert problems(MAIN) == [
        (
            "GK-TF-UNEVALUATED",
            2,
            "templatestring() is not evaluated by gatekeeper: what `flag` holds is not judged",
        )
    ]


def test_what_only_apply_time_knows_is_not_reported() -> None:
    assert not any(evaluated(name) is False for name in ("timestamp", "file"))
    assert not evaluated("templatestring")


def test_a_provider_function_is_said_where_it_is_called() -> None:
    """`provider::terraform::decode_tfvars("p = true").p` is `true` without a cloud, and
    passed as unknown (found re-reading the change as an attacker)."""
    text = (
        'resource "aws_db_instance" "db" {\n'
        '  publicly_accessible = provider::terraform::decode_tfvars("p = true").p\n}\n'
    )
    assert [(code, line) for code, line, _ in problems(text)] == [("GK-TF-UNEVALUATED", 2)]
