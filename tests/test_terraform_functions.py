"""A function gatekeeper does not compute is said where it is called (GK-TF-UNEVALUATED):
its value would pass every rule. Apply-time functions (files, clocks) are not; provider
functions (`provider::terraform::encode_expr`) compute from their arguments too, and
Terraform's `decode_tfvars` is computed here."""

from __future__ import annotations

from gatekeeper.document import Problem
from gatekeeper.sources import LoadContext, terraform
from gatekeeper.tfeval import evaluated
from gatekeeper.tree import MemoryTree

MAIN = """\
locals {
  flag = base64gzip("false")
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
            "base64gzip() is not evaluated by gatekeeper: what `flag` holds is not judged"
            ' (flag = base64gzip("false"))',
        )
    ]


def test_what_only_apply_time_knows_is_not_reported() -> None:
    assert not any(evaluated(name) is False for name in ("timestamp", "file"))
    assert not evaluated("base64gzip")  # (templatestring is: tests/test_tfeval.py)


def test_a_provider_function_is_said_where_it_is_called() -> None:
    """`provider::terraform::encode_expr(...)` computes from its arguments without a cloud,
    and is passed as unknown (found re-reading the change as an attacker)."""
    text = (
        'resource "aws_db_instance" "db" {\n'
        "  publicly_accessible = provider::terraform::encode_expr(true)\n}\n"
    )
    assert [(code, line) for code, line, _ in problems(text)] == [("GK-TF-UNEVALUATED", 2)]


def test_a_call_in_a_block_that_only_tests_values_is_not_said() -> None:
    """A variable's `validation`, a `precondition`/`postcondition` and a `check` fail a plan
    or warn; they deploy nothing, so a call there hides nothing (kube-hetzner's `validation {
    condition = alltrue([for ip in var.dns_servers : provider::assert::ip(ip)]) }` was a
    blocking GK-TF-UNEVALUATED). The same call deciding a resource's value still is said."""
    text = (
        'variable "ips" {\n  default = ["10.0.0.1"]\n  validation {\n'
        "    condition     = alltrue([for ip in var.ips : provider::assert::ip(ip)])\n"
        '    error_message = "bad"\n  }\n}\n'
        'resource "aws_db_instance" "db" {\n  publicly_accessible = false\n  lifecycle {\n'
        "    precondition {\n      condition     = provider::assert::cidr(var.ips[0])\n"
        '      error_message = "bad"\n    }\n  }\n}\n'
        'check "health" {\n  assert {\n    condition     = provider::assert::ip(var.ips[0])\n'
        '    error_message = "bad"\n  }\n}\n'
        'resource "aws_db_instance" "db2" {\n'
        "  publicly_accessible = provider::assert::ip(var.ips[0])\n}\n"
        'resource "x_monitor" "m" {\n  check {\n'
        "    publicly_accessible = provider::assert::ip(var.ips[0])\n  }\n}\n"
    )
    # a resource's own nested block named like one (`check`) sets what it deploys: said
    assert [(code, line) for code, line, _ in problems(text)] == [
        ("GK-TF-UNEVALUATED", 24),
        ("GK-TF-UNEVALUATED", 28),
    ]


def test_changing_only_an_unevaluated_calls_arguments_makes_a_new_finding() -> None:
    """Red team r33: the finding of an unevaluated call named only the function, so a pull
    request changing its argument kept it `existing`; the message (and fingerprint) carries
    the attribute as written."""
    text = 'locals {\n  x = provider::terraform::encode_expr("%s")\n}\n'
    before, after = (problems(text % value)[0][2] for value in ("private", "public"))
    assert before != after
    assert after.endswith('(x = provider::terraform::encode_expr("public"))')
    long = problems(text % ("a" * 300))[0][2]
    assert len(long) < 300 and long != problems(text % ("a" * 299 + "b"))[0][2]


def test_decode_tfvars_is_evaluated() -> None:
    """Terraform's own `provider::terraform::decode_tfvars` is pure: the object the text
    sets is judged (red team r33: a PR changed only "public = false" to "public = true")."""
    data = {
        "main.tf": (
            b'locals {\n  s = provider::terraform::decode_tfvars("public = true\\nn = 1")\n}\n'
            b'resource "aws_db_instance" "db" {\n'
            b"  publicly_accessible = local.s.public\n"
            b"  storage_encrypted   = local.s.n == 1\n}\n"
        )
    }
    tree = MemoryTree(data)
    loaded = terraform.load("main.tf", data["main.tf"], LoadContext(tree=tree))
    assert not loaded.problems
    (document,) = loaded.documents
    assert document.obj["publicly_accessible"] is True
    assert document.obj["storage_encrypted"] is True
    # A reference in the text is an error to Terraform: nothing known, nothing judged.
    data = {
        "main.tf": (
            b'locals {\n  s = provider::terraform::decode_tfvars("a = var.x")\n}\n'
            b'resource "aws_db_instance" "db" {\n  publicly_accessible = local.s.a\n}\n'
        )
    }
    loaded = terraform.load("main.tf", data["main.tf"], LoadContext(tree=MemoryTree(data)))
    assert [d.obj for d in loaded.documents] == [{"publicly_accessible": "${local.s.a}"}]
