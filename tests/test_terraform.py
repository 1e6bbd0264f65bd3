"""Terraform source: HCL values and lines, module context, plan JSON, problems."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gatekeeper.document import Document
from gatekeeper.hcl import HclError, parse
from gatekeeper.sources import LoadContext, adapter_for, adapters, terraform
from gatekeeper.tree import MemoryTree, WorkTree
from tests.conftest import REPO, Run

Gatekeeper = Callable[..., Run]
Write = Callable[[str, "str | bytes"], Path]
DATA = REPO / "tests" / "data" / "terraform"

SECURITY_GROUP = """\
resource "aws_security_group" "web" {
  name = "web"
  ingress {
    from_port   = 22
    to_port     = 22
    cidr_blocks = ["10.0.0.0/8", var.extra_cidr]
  }
  dynamic "ingress" {
    for_each = var.ports
    content {
      from_port   = ingress.value
      cidr_blocks = [
        "0.0.0.0/0",
      ]
    }
  }
  tags        = merge(local.tags, { Name = "web" })
  description = "web ${var.env}"
  unset       = null
  policy = jsonencode({
    Statement = [{
      Action = "*"
    }]
  })
  provisioner "local-exec" {
    command = "echo hi"
  }
}
"""


def load(path: str, text: str, files: dict[str, str] | None = None) -> list[Document]:
    tree = MemoryTree({name: body.encode() for name, body in (files or {}).items()})
    loaded = terraform.load(path, text.encode(), LoadContext(tree=tree))
    assert not loaded.problems, loaded.problems
    return loaded.documents


def test_values_unknowns_and_blocks_as_policies_see_them() -> None:
    document, commands = load("main.tf", SECURITY_GROUP)
    assert (document.kind, document.name, document.namespace) == ("aws_security_group", "web", "")
    assert (commands.kind, commands.source) == ("TerraformProvisioner", "workflow")  # local-exec
    obj = document.obj
    assert obj["ingress"][0] == {
        "from_port": 22,
        "to_port": 22,
        "cidr_blocks": ["10.0.0.0/8", "${var.extra_cidr}"],
    }
    # The dynamic block's content is one more ingress item; its iterator values are unknown.
    assert obj["ingress"][1] == {"from_port": "${ingress.value}", "cidr_blocks": ["0.0.0.0/0"]}
    assert obj["tags"] == '${merge(local.tags, {Name = "web"})}'
    assert obj["description"] == "web ${var.env}"
    assert "unset" not in obj
    assert obj["policy"] == {"Statement": [{"Action": "*"}]}
    assert obj["provisioner"] == [{"local-exec": {"command": "echo hi"}}]


def test_every_field_path_maps_to_its_line() -> None:
    document = load("main.tf", SECURITY_GROUP)[0]

    def line(*path: str | int) -> tuple[int, bool]:
        location = document.locator.locate(path)
        return location.line, location.exact

    assert line() == (1, True)
    assert line("ingress", 0) == (3, True)
    assert line("ingress", 0, "cidr_blocks") == (6, True)
    assert line("ingress", 1) == (8, True)  # the dynamic block
    assert line("ingress", 1, "cidr_blocks", 0) == (13, True)
    assert line("policy", "Statement", 0, "Action") == (22, True)
    assert line("provisioner", 0, "local-exec", "command") == (26, True)
    assert line("ingress", 0, "protocol") == (3, False)  # missing: nearest ancestor
    assert line("nope", "deeper") == (1, False)


def test_heredocs_and_json_policy_strings() -> None:
    text = (
        'resource "aws_iam_policy" "p" {\n'
        "  policy = <<-EOT\n"
        '    {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}\n'
        "  EOT\n"
        "  description = <<EOT\n"
        "two\n"
        "  lines\n"
        "EOT\n"
        "}\n"
    )
    (document,) = load("iam.tf", text)
    assert document.obj["policy"]["Statement"][0]["Action"] == "*"
    assert document.obj["description"] == "two\n  lines"
    assert document.locator.locate(("policy", "Statement", 0)).line == 2


def test_data_sources_modules_and_settings_are_documents_other_blocks_are_not() -> None:
    text = (
        'terraform {\n  required_version = ">= 1.5"\n}\n'
        'provider "aws" {\n  region = "eu-west-1"\n}\n'
        'variable "x" {}\n'
        'data "aws_iam_policy_document" "p" {\n  statement {\n    actions = ["*"]\n  }\n}\n'
        'module "vpc" {\n  source = "./vpc"\n}\n'
    )
    documents = load("infra/main.tf", text)
    assert [(d.kind, d.name, d.namespace) for d in documents] == [
        ("terraform", "terraform", "infra"),
        ("data.aws_iam_policy_document", "p", "infra"),
        ("module", "vpc", "infra"),
    ]
    assert documents[0].obj == {"required_version": ">= 1.5"}
    assert documents[1].locator.locate(("statement", 0, "actions")).line == 10


def test_module_context_spans_the_files_of_the_directory() -> None:
    bucket = 'resource "aws_s3_bucket" "b" {\n  bucket = "acme-b"\n}\n'
    files = {
        "infra/s3.tf": bucket,
        "infra/controls.tf": (
            'resource "aws_s3_bucket_public_access_block" "b" {\n'
            "  bucket = aws_s3_bucket.b.id\n}\n"
            'resource "aws_s3_bucket_logging" "b" {\n'
            '  bucket        = "acme-b"\n  target_bucket = "acme-logs"\n}\n'
        ),
        # Another directory is another module: not part of the context.
        "other/sse.tf": (
            'resource "aws_s3_bucket_server_side_encryption_configuration" "b" {\n'
            "  bucket = aws_s3_bucket.b.id\n}\n"
        ),
    }
    (document,) = load("infra/s3.tf", bucket, files)
    context = document.extra["context"]
    assert context["address"] == "aws_s3_bucket.b"
    assert context["referencedBy"] == [
        {
            "type": "aws_s3_bucket_public_access_block",
            "name": "b",
            "address": "aws_s3_bucket_public_access_block.b",
            "attribute": "bucket",
        },
        {
            "type": "aws_s3_bucket_logging",
            "name": "b",
            "address": "aws_s3_bucket_logging.b",
            "attribute": "bucket",
        },
    ]
    controls = load("infra/controls.tf", files["infra/controls.tf"], files)
    assert controls[0].extra["context"]["references"] == ["aws_s3_bucket.b"]


def test_unresolved_links_are_listed_but_links_to_other_resources_are_not() -> None:
    text = (
        'resource "aws_s3_bucket" "b" {\n  bucket = var.name\n}\n'
        'resource "aws_s3_bucket_public_access_block" "any" {\n  bucket = each.key\n}\n'
        'resource "aws_s3_bucket_logging" "other" {\n  bucket = aws_s3_bucket.elsewhere.id\n}\n'
        'resource "aws_flow_log" "f" {\n  vpc_id = module.network.vpc_id\n}\n'
    )
    documents = load("main.tf", text)
    unresolved = documents[0].extra["context"]["unresolved"]
    assert [(r["address"], r["attribute"]) for r in unresolved] == [
        ("aws_s3_bucket.b", "bucket"),
        ("aws_s3_bucket_public_access_block.any", "bucket"),
        ("aws_flow_log.f", "vpc_id"),
    ]
    assert documents[0].extra["context"]["referencedBy"] == []


def test_parse_error_is_a_problem_with_its_line() -> None:
    text = 'resource "aws_s3_bucket" "b" {\n  bucket = "x"\n  acl = \n}\n'
    loaded = terraform.load("bad.tf", text.encode(), LoadContext())
    assert not loaded.documents
    (problem,) = loaded.problems
    assert (problem.code, problem.file, problem.line) == ("GK-PARSE-ERROR", "bad.tf", 3)
    assert "invalid HCL" in problem.message


def test_deep_nesting_is_a_problem_not_a_crash() -> None:
    text = "a = " + "[" * 3000 + "]" * 3000 + "\n"
    loaded = terraform.load("deep.tf", text.encode(), LoadContext())
    assert [(p.code, p.line) for p in loaded.problems] == [("GK-PARSE-ERROR", 1)]


def test_a_for_expression_the_library_cannot_print_is_unknown_not_a_parse_error() -> None:
    """python-hcl2 fails to serialize `[for k in v : 1]`; the file still loads."""
    text = 'resource "aws_x" "y" {\n  ids = [for k in var.v : 1]\n  acl = "private"\n}\n'
    [document] = load("main.tf", text)
    assert document.obj["acl"] == "private"
    assert document.obj["ids"].startswith("${")


def test_unclosed_block_and_redefined_attribute() -> None:
    try:
        parse('resource "a" "b" {\n  x = 1\n')
    except HclError as error:
        assert error.line == 3
    else:  # pragma: no cover
        raise AssertionError("no error")
    loaded = terraform.load("dup.tf", b'resource "a" "b" {\n  x = 1\n  x = 2\n}\n', LoadContext())
    assert [(p.line, p.code) for p in loaded.problems] == [(3, "GK-PARSE-ERROR")]
    assert "redefined (first set at line 2)" in loaded.problems[0].message


def test_detect_owns_tf_and_plan_files_only() -> None:
    sources = adapters()

    def owner(path: str) -> str:
        source = adapter_for(path, sources)
        return source.NAME if source else ""

    assert owner("infra/main.tf") == "terraform"
    assert owner("infra/main.tf.json") == "terraform"  # Terraform loads it like main.tf
    assert owner("plans/prod.tfplan.json") == "terraform"
    assert owner("plan.json") == "terraform"
    assert owner("infra/.terraform/modules/vpc/main.tf") == ""
    assert owner("deploy/app.json") == "kubernetes"


def test_plan_documents_unknowns_references_and_lines() -> None:
    path = "tests/data/terraform/plan/tfplan.json"
    data = (REPO / path).read_bytes()
    loaded = terraform.load(path, data, LoadContext())
    assert not loaded.problems
    by_name = {document.name: document for document in loaded.documents}
    # The deleted security group has no `after`: nothing to check.
    assert sorted(by_name) == [
        "aws_s3_bucket.logs",
        "aws_s3_bucket_public_access_block.logs",
        "module.db.aws_db_instance.this[0]",
    ]
    bucket = by_name["aws_s3_bucket.logs"]
    assert bucket.obj["id"] == terraform.UNKNOWN and "tags" not in bucket.obj
    assert bucket.extra["context"]["referencedBy"][0]["address"] == (
        "aws_s3_bucket_public_access_block.logs"
    )
    db = by_name["module.db.aws_db_instance.this[0]"]
    assert (db.kind, db.namespace) == ("aws_db_instance", "module.db")
    plan_lines = data.decode().splitlines()
    line = db.locator.locate(("publicly_accessible",)).line
    assert plan_lines[line - 1].strip() == '"publicly_accessible": true,'


def test_a_plan_named_file_that_is_not_a_plan_is_loaded_as_kubernetes() -> None:
    text = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "plan"}})
    loaded = terraform.load("plan.json", text.encode(), LoadContext())
    assert [(d.source, d.kind) for d in loaded.documents] == [("kubernetes", "ConfigMap")]


def findings(run: Run) -> list[tuple[str, int, str]]:
    assert run.returncode in (0, 1), run.stderr
    report = json.loads(run.stdout)
    return sorted((f["file"], f["line"], f["policy_id"]) for f in report["findings"])


def test_scan_module_directory_with_exact_lines(gatekeeper: Gatekeeper) -> None:
    run = gatekeeper("scan", "tests/data/terraform/module", "--format", "json", cwd=REPO)
    base = "tests/data/terraform/module/"
    assert findings(run) == [
        (base + "network.tf", 18, "TF-AWS-SG-OPEN-ADMIN-PORTS"),  # dynamic block content
        (base + "network.tf", 25, "TF-AWS-SG-OPEN-ADMIN-PORTS"),  # all ports from ::/0
        (base + "s3.tf", 2, "TF-AWS-S3-TLS-ONLY"),  # low: no bucket policy in the module
        (base + "s3.tf", 2, "TF-AWS-S3-VERSIONING"),  # low
        (base + "s3.tf", 6, "TF-AWS-S3-ACCESS-LOGGING"),
        # No TF-AWS-S3-ENCRYPTION: the for_each encryption configuration (bucket = each.key)
        # may cover "assets"; an unknown is not reported as a missing control.
        (base + "s3.tf", 6, "TF-AWS-S3-PUBLIC-ACCESS-BLOCK"),
        (base + "s3.tf", 6, "TF-AWS-S3-TLS-ONLY"),
        (base + "s3.tf", 6, "TF-AWS-S3-VERSIONING"),
        (base + "s3.tf", 8, "TF-AWS-S3-PUBLIC-ACL"),
    ]


def test_scan_plan_with_exact_lines(gatekeeper: Gatekeeper) -> None:
    run = gatekeeper("scan", "tests/data/terraform/plan", "--format", "json", cwd=REPO)
    plan = "tests/data/terraform/plan/tfplan.json"
    assert findings(run) == [
        (plan, 19, "TF-AWS-S3-ACCESS-LOGGING"),
        (plan, 19, "TF-AWS-S3-ENCRYPTION"),
        (plan, 19, "TF-AWS-S3-TLS-ONLY"),
        (plan, 19, "TF-AWS-S3-VERSIONING"),
        (plan, 23, "TF-AWS-S3-PUBLIC-ACL"),
        (plan, 42, "TF-AWS-S3-PUBLIC-ACCESS-BLOCK-SETTINGS"),
        # The planned instance (line 69) leaves these unset: their defaults are off.
        (plan, 69, "TF-AWS-RDS-DELETION-PROTECTION"),
        (plan, 69, "TF-AWS-RDS-ENHANCED-MONITORING"),
        (plan, 69, "TF-AWS-RDS-IAM-AUTH"),
        (plan, 69, "TF-AWS-RDS-LOG-EXPORTS"),
        (plan, 71, "TF-AWS-RDS-PUBLIC"),
    ]


def test_parse_error_is_a_finding_and_other_files_are_still_scanned(
    gatekeeper: Gatekeeper, tmp_path: Path, write: Write
) -> None:
    write("infra/broken.tf", 'resource "aws_db_instance" "db" {\n  engine = "postgres"\n')
    write(
        "infra/rds.tf",
        'resource "aws_db_instance" "db2" {\n  storage_encrypted   = true\n'
        "  publicly_accessible = true\n  deletion_protection = true\n"
        '  monitoring_interval = 60\n  enabled_cloudwatch_logs_exports = ["error"]\n}\n',
    )
    run = gatekeeper("scan", ".", "--format", "json", cwd=tmp_path)
    assert run.returncode == 1
    assert findings(run) == [
        ("infra/broken.tf", 1, "GK-PARSE-ERROR"),  # the block never closed
        ("infra/rds.tf", 3, "TF-AWS-RDS-PUBLIC"),
    ]


def test_work_tree_context_matches_memory_tree() -> None:
    root = DATA / "module"
    files = {p.name: p.read_text() for p in root.glob("*.tf")}
    memory = terraform.load(
        "s3.tf",
        files["s3.tf"].encode(),
        LoadContext(tree=MemoryTree({name: body.encode() for name, body in files.items()})),
    )
    disk = terraform.load("s3.tf", files["s3.tf"].encode(), LoadContext(tree=WorkTree(root)))
    assert [d.extra["context"] for d in memory.documents] == [
        d.extra["context"] for d in disk.documents
    ]
    assert memory.documents[0].extra["context"]["referencedBy"]


def test_heredoc_closing_marker_with_trailing_blanks_swallows_nothing() -> None:
    """Terraform accepts `EOT   `; the block after it must still be judged, on its line."""
    text = (
        'resource "aws_iam_policy" "p" {\n'
        "  policy = <<EOT\n"
        '{"Version": "2012-10-17"}\n'
        "EOT   \n"
        "}\n"
        'resource "aws_s3_bucket_acl" "pub" {\n'
        '  acl = "public-read"\n'
        "}\n"
        'resource "aws_iam_policy" "q" {\n'
        "  policy = <<-EOT\n"
        "    {}\n"
        "    EOT\t\n"
        "}\n"
    )
    documents = load("main.tf", text)
    assert [d.name for d in documents] == ["p", "pub", "q"]
    assert documents[0].obj["policy"] == {"Version": "2012-10-17"}
    assert documents[1].locator.locate(("acl",)).line == 7


BUCKET_MODULE = """\
variable "name" {}
variable "acl" {
  default = "private"
}
variable "public" {
  default = false
}

resource "aws_s3_bucket_acl" "this" {
  bucket = var.name
  acl    = var.acl
}

resource "aws_db_instance" "db" {
  storage_encrypted               = true
  publicly_accessible             = var.public
  deletion_protection             = true
  monitoring_interval             = 60
  enabled_cloudwatch_logs_exports = ["postgresql"]
}
"""


def test_local_module_calls_are_judged_with_the_values_they_pass(
    gatekeeper: Gatekeeper, tmp_path: Path, write: Write
) -> None:
    """A module collection: generic resources, bad values in the calls (root and examples/).
    Each finding sits at the argument that brought the value, once per call, and the module
    itself (all values unknown or its safe defaults) is clean."""
    write("modules/bucket/main.tf", BUCKET_MODULE)
    write(
        "main.tf",
        'variable "acl" {}\n'
        'module "site" {\n  source = "./modules/bucket"\n  name   = "acme-site"\n'
        '  acl    = "public-read"\n}\n'
        'module "passed" {\n  source = "./modules/bucket"\n  name   = "acme-passed"\n'
        "  acl    = var.acl\n}\n"
        'module "logs" {\n  source = "./modules/bucket"\n  name   = "acme-logs"\n}\n'
        'module "remote" {\n  source  = "terraform-aws-modules/s3-bucket/aws"\n'
        '  version = "4.1.0"\n  acl     = "public-read"\n}\n',
    )
    write(
        "examples/public/main.tf",
        'module "root" {\n  source = "../.."\n  acl    = "public-read-write"\n}\n'
        'module "db" {\n  source = "../../modules/bucket"\n  name   = "x"\n'
        "  public = true\n}\n",
    )
    write("examples/outside/main.tf", 'module "up" {\n  source = "../../../elsewhere"\n}\n')
    run = gatekeeper("scan", ".", "--format", "json", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    assert findings(run) == [
        ("examples/public/main.tf", 3, "TF-AWS-S3-PUBLIC-ACL"),  # through main.tf's var.acl
        ("examples/public/main.tf", 8, "TF-AWS-RDS-PUBLIC"),
        ("main.tf", 5, "TF-AWS-S3-PUBLIC-ACL"),
        ("main.tf", 19, "TF-AWS-S3-PUBLIC-ACL"),  # a well-known registry module's input
    ]


def test_module_call_cycles_and_self_calls_end(tmp_path: Path) -> None:
    files = {
        "a/main.tf": 'variable "x" {}\nmodule "b" {\n  source = "../b"\n  x = var.x\n}\n',
        "b/main.tf": 'variable "x" {}\nmodule "a" {\n  source = "../a"\n  x = var.x\n}\n'
        'resource "aws_s3_bucket_acl" "t" {\n  acl = var.x\n}\n',
        "main.tf": 'module "a" {\n  source = "./a"\n  x = "public-read"\n}\n'
        'module "me" {\n  source = "./"\n}\n',
    }
    documents = load("main.tf", files["main.tf"], files)
    called = [(d.name, d.locator.locate(("acl",))[:2]) for d in documents[2:]]
    assert called == [("module.a.module.b.aws_s3_bucket_acl.t", ("main.tf", 3))]


SG_MODULE = """\
variable "create" {
  type    = bool
  default = true
}
variable "rules" {
  type = map(list(any))
  default = {
    "ssh-tcp"   = [22, 22, "tcp", "SSH"]
    "https-tcp" = [443, 443, "tcp", "HTTPS"]
    "_"         = ["", "", ""]
  }
}
variable "ingress_rules" {
  type    = list(string)
  default = []
}
variable "ingress_cidr_blocks" {
  type    = list(string)
  default = []
}
variable "ingress_with_cidr_blocks" {
  type    = list(map(string))
  default = []
}
variable "named" {
  type    = map(object({ cidr = string, port = optional(number, 3389) }))
  default = {}
}
locals {
  create = var.create && length(var.ingress_rules) >= 0
  cidr   = var.ingress_with_cidr_blocks
}

resource "aws_security_group_rule" "ingress_rules" {
  count = local.create ? length(var.ingress_rules) : 0

  type        = "ingress"
  cidr_blocks = var.ingress_cidr_blocks
  from_port   = var.rules[var.ingress_rules[count.index]][0]
  to_port     = var.rules[var.ingress_rules[count.index]][1]
  protocol    = var.rules[var.ingress_rules[count.index]][2]
}

resource "aws_security_group_rule" "with_cidr" {
  count = var.create ? length(var.ingress_with_cidr_blocks) : 0

  type        = "ingress"
  cidr_blocks = compact(split(",", lookup(local.cidr[count.index], "cidr_blocks", "")))
  from_port = lookup(
    local.cidr[count.index], "from_port", var.rules[lookup(local.cidr[count.index], "rule", "_")][0]
  )
  to_port = lookup(
    local.cidr[count.index], "to_port", var.rules[lookup(local.cidr[count.index], "rule", "_")][1]
  )
  protocol = try(local.cidr[count.index].protocol, "tcp")
}

resource "aws_security_group_rule" "named" {
  for_each = { for name, rule in var.named : name => rule if rule.cidr != "" }

  type        = "ingress"
  cidr_blocks = [each.value.cidr]
  from_port   = each.value.port
  to_port     = each.value.port
  protocol    = "tcp"
}

resource "aws_security_group" "this" {
  count = var.create ? 1 : 0
  name  = "sg-${var.create ? "on" : "off"}"

  dynamic "ingress" {
    for_each = var.ingress_with_cidr_blocks
    content {
      from_port   = try(ingress.value.from_port, var.rules[ingress.value.rule][0])
      to_port     = try(ingress.value.to_port, var.rules[ingress.value.rule][1])
      protocol    = "tcp"
      cidr_blocks = split(",", ingress.value["cidr_blocks"])
    }
  }
}
"""

SG_EXAMPLE = """\
module "ssh" {
  source              = "../.."
  ingress_rules       = ["https-tcp", "ssh-tcp"]
  ingress_cidr_blocks = var.open
}

module "custom" {
  source = "../../"
  ingress_with_cidr_blocks = [
    {
      rule        = "https-tcp"
      cidr_blocks = "0.0.0.0/0"
    },
    {
      from_port   = 3389
      to_port     = 3389
      cidr_blocks = "10.0.0.0/8,0.0.0.0/0"
    },
  ]
}

module "named" {
  source = "../.."
  named = {
    admin = { cidr = "0.0.0.0/0" }
    web   = { cidr = "0.0.0.0/0", port = 443 }
  }
}

module "off" {
  source              = "../.."
  create              = false
  ingress_rules       = ["ssh-tcp"]
  ingress_cidr_blocks = ["0.0.0.0/0"]
}

module "unknown" {
  source              = "../.."
  ingress_rules       = ["ssh-tcp"]
  ingress_cidr_blocks = [data.aws_vpc.this.cidr_block]
}
"""


def test_module_collection_findings_at_the_arguments_that_set_them(
    gatekeeper: Gatekeeper, tmp_path: Path, write: Write
) -> None:
    """A module with a rules map, count over a variable list, lookup/try/split, a `for`
    filtered for_each with optional object attributes, and a dynamic block: an example's
    calls give findings at the lines that opened the admin port, nowhere else. A module
    turned off (`create = false`) and values only known after apply give nothing."""
    write("main.tf", SG_MODULE)
    write("examples/complete/main.tf", SG_EXAMPLE)
    write("examples/complete/variables.tf", 'variable "open" {\n  type = list(string)\n}\n')
    write("examples/complete/terraform.tfvars", 'open = ["0.0.0.0/0"]\n')
    run = gatekeeper("scan", ".", "--format", "json", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    found = {
        (f["file"], f["line"], f["policy_id"], f["name"])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == "TF-AWS-SG-RULE-OPEN-ADMIN-PORTS"
    }
    example = "examples/complete/main.tf"
    assert found == {
        # ssh-tcp, chosen at line 3, opened to the tfvars' 0.0.0.0/0
        (
            example,
            3,
            "TF-AWS-SG-RULE-OPEN-ADMIN-PORTS",
            "module.ssh.aws_security_group_rule.ingress_rules[1]",
        ),
        # the second object of the list (its own from_port and cidr_blocks), where it opens
        (
            example,
            14,
            "TF-AWS-SG-RULE-OPEN-ADMIN-PORTS",
            "module.custom.aws_security_group_rule.with_cidr[1]",
        ),
        # for_each over a filtered map; port from the optional attribute's default
        (
            example,
            25,
            "TF-AWS-SG-RULE-OPEN-ADMIN-PORTS",
            'module.named.aws_security_group_rule.named["admin"]',
        ),
    }
    admin_sg = [
        f
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == "TF-AWS-SG-OPEN-ADMIN-PORTS"
    ]
    # the dynamic block's second item, at the CIDR that opened it
    assert [(f["file"], f["line"]) for f in admin_sg] == [(example, 17)]


def test_module_instances_values_and_origins() -> None:
    """What the evaluated documents hold: instance addresses, each value, the line it came
    from, unknowns shown as written, and nothing for count = 0."""
    files = {"main.tf": SG_MODULE, "examples/complete/main.tf": SG_EXAMPLE}
    documents = load("examples/complete/main.tf", SG_EXAMPLE, files)
    by_name = {d.name: d for d in documents}
    ssh = by_name["module.ssh.aws_security_group_rule.ingress_rules[1]"]
    assert (ssh.obj["from_port"], ssh.obj["cidr_blocks"]) == (22, "${var.open}")
    # 22 is the module's; "ssh-tcp" at line 3 chose it: located there, but not exact
    assert ssh.locator.locate(("from_port",))[:2] == ("examples/complete/main.tf", 3)
    assert not ssh.locator.locate(("from_port",)).exact
    assert ssh.locator.locate(("type",))[:2] == ("main.tf", 37)
    assert ssh.locator.locate(("type",)).exact  # `type = "ingress"`: the line holds it
    # 22 from the module's rules map: the resource's line, which does not show it
    assert not ssh.locator.locate(("to_port",)).exact  # the module's own value
    custom = by_name["module.custom.aws_security_group_rule.with_cidr[1]"]
    assert custom.obj["cidr_blocks"] == ["10.0.0.0/8", "0.0.0.0/0"]
    assert custom.obj["protocol"] == "tcp"  # try() fell back: the object has no protocol
    assert custom.locator.locate(("cidr_blocks", 1))[:2] == ("examples/complete/main.tf", 17)
    sg = by_name["module.custom.aws_security_group.this[0]"]
    assert sg.obj["name"] == "sg-on"
    assert sg.locator.locate(("name",))[0] == "main.tf"
    assert not sg.locator.locate(("name",)).exact  # the line says "sg-${...}"
    admin = by_name['module.named.aws_security_group_rule.named["admin"]']
    assert admin.obj["from_port"] == 3389  # the optional attribute's default
    assert admin.locator.locate(("from_port",))[:2] == ("examples/complete/main.tf", 25)
    assert not admin.locator.locate(("from_port",)).exact
    assert [item["from_port"] for item in sg.obj["ingress"]] == [443, 3389]
    assert sg.extra["variant"] == "deployed by examples/complete/main.tf:module.custom"
    # The resource as a whole: the list item that made the instance, else the passed key
    # that chose values from the module (a rule name), else the resource in the module.
    assert ssh.locator.locate(())[:2] == ("examples/complete/main.tf", 3)
    assert sg.locator.locate(())[:2] == ("examples/complete/main.tf", 11)
    assert by_name["module.named.aws_security_group.this[0]"].locator.locate(())[:2] == (
        "main.tf",
        68,
    )
    assert not [name for name in by_name if name.startswith("module.off.")]
    unknown = by_name["module.unknown.aws_security_group_rule.ingress_rules[0]"]
    assert unknown.obj["cidr_blocks"] == ["${data.aws_vpc.this.cidr_block}"]


def test_a_pr_changing_only_a_module_or_tfvars_judges_the_calls_again() -> None:
    """The dependency graph: a called module's files and the caller's tfvars, variables and
    locals feed the calling file; a nested call feeds through the module that makes it."""
    from gatekeeper import depgraph

    files = {
        "main.tf": SG_MODULE,
        "outputs.tf": "",
        "examples/complete/main.tf": SG_EXAMPLE,
        "examples/complete/terraform.tfvars": 'open = ["0.0.0.0/0"]\n',
        "examples/complete/variables.tf": 'variable "open" {}\n',
        "modules/ssh/main.tf": 'module "sg" {\n  source = "../../"\n}\n',
        "examples/ssh/main.tf": 'module "ssh" {\n  source = "../../modules/ssh"\n}\n',
        "other/main.tf": 'module "remote" {\n  source = "terraform-aws-modules/vpc/aws"\n}\n',
        "other/.terraform/modules/x/main.tf": 'module "y" {\n  source = "./z"\n}\n',
    }
    tree = MemoryTree({name: body.encode() for name, body in files.items()})
    graph = depgraph.build(LoadContext(tree=tree))
    # The files of a directory read each other (locals, variables, overrides): all judged.
    assert graph.affected(["examples/complete/terraform.tfvars"]) == [
        "examples/complete/main.tf",
        "examples/complete/variables.tf",
    ]
    assert graph.affected(["outputs.tf"]) == [
        "examples/complete/main.tf",
        "examples/complete/variables.tf",
        "examples/ssh/main.tf",
        "main.tf",
        "modules/ssh/main.tf",
    ]
    assert graph.affected(["other/main.tf", "examples/ssh/main.tf"]) == []
    # A var file in a folder with no code is read by the code above it (`-var-file`).
    tree = MemoryTree({**tree.files, "examples/complete/env/prod.tfvars": b"open = []\n"})
    graph = depgraph.build(LoadContext(tree=tree))
    assert graph.affected(["examples/complete/env/prod.tfvars"]) == [
        "examples/complete/main.tf",
        "examples/complete/variables.tf",
    ]


def test_pr_opening_ssh_through_an_examples_tfvars_is_a_new_finding(tmp_path: Path) -> None:
    """The attack: leave every `.tf` file alone and change what a variable is set to."""
    from gatekeeper.change import scan_change
    from tests.test_change import Repo

    repo = Repo(tmp_path / "repo")
    repo.write(".gatekeeper.yml", "packs: [terraform]\n")
    repo.write("main.tf", SG_MODULE)
    repo.write("examples/complete/main.tf", SG_EXAMPLE)
    repo.write("examples/complete/variables.tf", 'variable "open" {\n  type = list(string)\n}\n')
    repo.write("examples/complete/terraform.tfvars", 'open = ["10.0.0.0/8"]\n')
    repo.commit("base")
    repo.branch("pr")
    repo.write("examples/complete/terraform.tfvars", 'open = ["0.0.0.0/0"]\n')
    repo.commit("open it")
    findings = scan_change(repo.root, "main").verdict.findings
    new = sorted((f.file, f.line, f.policy_id) for f in findings if f.status == "new")
    assert new == [("examples/complete/main.tf", 3, "TF-AWS-SG-RULE-OPEN-ADMIN-PORTS")]


def test_module_blocks_with_for_each_and_count_are_instances_too() -> None:
    """`for_each` on the call: each instance its own values (`each.value`) and address; a
    call with `count = 0` deploys nothing, so it judges nothing."""
    caller = (
        'module "buckets" {\n'
        '  source   = "./modules/bucket"\n'
        '  for_each = { logs = "private", site = "public-read" }\n'
        "  name     = each.key\n"
        "  acl      = each.value\n"
        "}\n"
        'module "never" {\n'
        '  source = "./modules/bucket"\n'
        "  count  = 0\n"
        '  acl    = "public-read"\n'
        "}\n"
    )
    files = {"modules/bucket/main.tf": BUCKET_MODULE, "main.tf": caller}
    documents = [d for d in load("main.tf", caller, files) if d.kind == "aws_s3_bucket_acl"]
    found = [(d.name, d.obj["acl"], d.locator.locate(("acl",))[:2]) for d in documents]
    assert found == [
        ('module.buckets["logs"].aws_s3_bucket_acl.this', "private", ("main.tf", 3)),
        ('module.buckets["site"].aws_s3_bucket_acl.this', "public-read", ("main.tf", 3)),
    ]


def test_terraform_blocks_are_judged_by_the_version_policies_only(
    gatekeeper: Gatekeeper, tmp_path: Path, write: Write
) -> None:
    """`terraform {}` settings are documents of kind `terraform`: the built-in library judges
    their provider and Terraform version constraints, and no resource policy fires on them."""
    write(
        "good/versions.tf",
        'terraform {\n  required_version = ">= 1.5"\n  backend "s3" {\n    bucket = "acme"\n'
        "    encrypt = false\n  }\n  required_providers {\n    aws = {\n"
        '      source  = "hashicorp/aws"\n      version = "~> 5.0"\n    }\n  }\n}\n',
    )
    write(
        "bad/versions.tf",
        'terraform {\n  required_providers {\n    aws = {\n      source = "hashicorp/aws"\n'
        '    }\n    random = ">= 0"\n  }\n}\n',
    )
    run = gatekeeper("scan", ".", "--format", "json", cwd=tmp_path)
    assert findings(run) == [
        ("bad/versions.tf", 1, "TF-TERRAFORM-REQUIRED-VERSION"),
        ("bad/versions.tf", 3, "TF-PROVIDER-VERSION-CONSTRAINT"),  # the aws entry
        ("bad/versions.tf", 6, "TF-PROVIDER-VERSION-CONSTRAINT"),  # ">= 0" allows everything
    ]
    report = json.loads(run.stdout)
    assert {f["kind"] for f in report["findings"]} == {"terraform"}
    assert "provider aws has no version constraint" in run.stdout


def test_each_file_of_a_module_is_parsed_once(monkeypatch: Any, tmp_path: Path) -> None:
    """A module's files are read together (contexts, locals, overrides): a file parsed as
    another's sibling is not parsed again when it is loaded itself, and is judged the same."""
    import gatekeeper

    for name in ("main.tf", "variables.tf", "outputs.tf"):
        (tmp_path / name).write_text(f'resource "aws_s3_bucket" "{name[:-3]}" {{}}\n')
    parsed: list[str] = []
    real = terraform._parse_file

    def counting(text: str) -> Any:
        parsed.append(text)
        return real(text)

    monkeypatch.setattr(terraform, "_parse_file", counting)
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    assert len(parsed) == 3
    names = {f.name for f in report.verdict.findings if f.policy_id == "TF-AWS-S3-ENCRYPTION"}
    assert names == {"main", "variables", "outputs"}


def test_lines_hcl_runs_over_are_read_at_their_written_lines() -> None:
    """HCL ignores line breaks inside a string's `${ }` and after a `.` in a list; python-
    hcl2 did not, and kube-hetzner's valid init.tf, control_planes.tf and
    autoscaler-agents.tf were blocking GK-PARSE-ERRORs, not judged (session 18). They are
    read with those lines joined, every value at its written line; a comment ending in a
    dot joins nothing, and an invalid file says its error at its written line."""
    text = (
        "locals {\n"
        '  url = "https://${\n'
        "    var.lb ? var.lb_ip :\n"
        '    var.ip}:6443"  # a comment ending in a dot.\n'
        "  names = [for k, v in data.\n"
        "    hcloud_servers.all : v.name]\n"
        "}\n"
        'resource "aws_s3_bucket_acl" "pub" {\n'  # 8
        '  bucket = "b-${\n'
        '    local.url}"\n'
        '  acl = "public-read"\n'  # 11
        "}\n"
    )
    documents = load("main.tf", text)
    assert [d.name for d in documents] == ["pub"]
    assert documents[0].locator.locate(("acl",)).line == 11
    assert documents[0].locator.locate(("bucket",)).line == 9
    bad = text.replace('acl = "public-read"', "acl = ")
    loaded = terraform.load("bad.tf", bad.encode(), LoadContext())
    assert [(p.code, p.line) for p in loaded.problems] == [("GK-PARSE-ERROR", 11)]


def test_a_traversal_going_on_with_a_dot_on_the_next_line_is_read() -> None:
    """Inside brackets HCL ignores a line break before a `.` too: cloud-foundation-fabric's
    gke-nodepool main.tf writes `try(var.node_config.containerd_config` and, on the next
    lines, `.private_registry_access_config` `.certificate_authority_domain_config`; valid
    Terraform, it was a blocking high GK-PARSE-ERROR and the file went unjudged. Read with
    those lines joined, at their written lines; a dot outside brackets is still an error."""
    text = (
        'resource "aws_s3_bucket_acl" "pub" {\n'
        "  bucket = try(\n"
        "    var.buckets.main\n"
        "    .name,\n"
        '    "b"\n'
        "  )\n"
        '  acl = "public-read"\n'  # 7
        "}\n"
    )
    documents = load("main.tf", text)
    assert [d.name for d in documents] == ["pub"]
    assert documents[0].locator.locate(("acl",)).line == 7
    assert documents[0].locator.locate(("bucket",)).line == 2
    bad = 'locals {\n  x = var.a\n  .b\n}\n'
    loaded = terraform.load("bad.tf", bad.encode(), LoadContext())
    assert [(p.code, p.line) for p in loaded.problems] == [("GK-PARSE-ERROR", 3)]
