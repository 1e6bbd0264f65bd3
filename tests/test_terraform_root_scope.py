"""A root module's resources judged with its locals, variables, tfvars and override files.

Each test is an attack a pull request author could try for a green check (or a compliant
layout that must stay quiet), scanned with the built-in policy pack, and the findings are
where the effective value is written.
"""

from __future__ import annotations

from pathlib import Path

import gatekeeper
from gatekeeper.report import text_format

WATCHED = {
    "TF-AWS-EBS-ENCRYPTION",
    "TF-AWS-RDS-PUBLIC",
    "TF-AWS-RDS-ENCRYPTION",
    "TF-AWS-SG-OPEN-ADMIN-PORTS",
    "TF-AWS-SG-RULE-OPEN-ADMIN-PORTS",
}
VOLUME = (
    'resource "aws_ebs_volume" "v" {\n  availability_zone = "eu-west-1a"\n  encrypted = %s\n}\n'
)
DATABASE = (
    'resource "aws_db_instance" "db" {\n  storage_encrypted = true\n  publicly_accessible = %s\n}\n'
)


def found(root: Path, files: dict[str, str]) -> set[tuple[str, str, int]]:
    """(policy, file, line) of the watched policies' findings on a directory of `files`."""
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    report = gatekeeper.scan(root, root=root, jobs=1)
    return {
        (f.policy_id, f.file, f.line) for f in report.verdict.findings if f.policy_id in WATCHED
    }


def test_a_local_or_a_default_is_judged_where_it_is_written(tmp_path: Path) -> None:
    """The reported bypass: `encrypted = local.off` and `publicly_accessible = var.pub`
    (default "1") passed while the literals were blocked."""
    main = (
        "locals {\n  off = false\n}\n"
        'variable "pub" {\n  default = "1"\n}\n' + VOLUME % "local.off" + DATABASE % "var.pub"
    )
    assert found(tmp_path, {"main.tf": main}) == {
        ("TF-AWS-EBS-ENCRYPTION", "main.tf", 2),
        ("TF-AWS-RDS-PUBLIC", "main.tf", 5),
    }
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    traces = {f.policy_id: f.extra.get("via") for f in report.verdict.findings}
    # The trace names what the value went through and the line that uses it.
    assert traces["TF-AWS-EBS-ENCRYPTION"] == "local.off, used at main.tf:9"
    assert traces["TF-AWS-RDS-PUBLIC"] == "var.pub, used at main.tf:13"
    assert "[via local.off, used at main.tf:9]" in text_format.render(report)


def test_a_variable_without_value_stays_unknown(tmp_path: Path) -> None:
    main = 'variable "enc" {}\nvariable "pub" {\n  type = bool\n}\n'
    main += VOLUME % "var.enc" + DATABASE % "var.pub"
    assert found(tmp_path, {"main.tf": main}) == set()


def test_locals_through_locals_conditionals_functions_and_templates(tmp_path: Path) -> None:
    """Each volume is unencrypted however the `false` travels; each finding sits at the line
    that writes the `false` (a local's, a default's), or at the attribute when the line there
    picks it (a conditional, a function's fallback)."""
    main = (
        "locals {\n"  # 1
        "  base = false\n"  # 2
        "  alias = local.base\n"  # 3
        '  flags = { enc = "false" }\n'  # 4
        "  both = merge({ enc = true }, { enc = false })\n"  # 5
        "}\n"  # 6
        'variable "strict" {\n  default = true\n}\n'  # 7-9
        'variable "unset" {}\n'  # 10
    )
    cases = [
        "local.alias",  # through a local that names a local: line 2
        "var.strict ? false : true",  # the attribute's own line
        'tobool("false")',
        "try(local.flags.missing, false)",
        "coalesce(local.base, true)",
        'lookup(local.flags, "enc", true)',  # line 4
        "local.both.enc",  # line 5
        '"${local.base}"',  # line 2
        "!var.strict",  # line 8: the default
        "var.unset ? false : false",  # false whatever var.unset is
        "sensitive(local.base)",  # line 2
    ]
    expected = [2, 0, 0, 0, 2, 4, 5, 2, 8, 0, 2]  # 0: the attribute's own line
    for index, expression in enumerate(cases):
        if not expected[index]:
            expected[index] = main.count("\n") + 3
        main += VOLUME.replace('"v"', f'"v{index}"') % expression
    (tmp_path / "main.tf").write_text(main)
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    judged = {
        (f.line, variant.rsplit(".", 1)[-1] if variant else f.name)
        for f in report.verdict.findings
        if f.policy_id == "TF-AWS-EBS-ENCRYPTION"
        for variant in f.extra.get("variants") or [""]
    }
    assert judged == {(line, f"v{index}") for index, line in enumerate(expected)}


def test_compliant_values_through_the_scope_are_quiet(tmp_path: Path) -> None:
    main = (
        'locals {\n  on = true\n  cfg = { enc = "true" }\n}\n'
        'variable "pub" {\n  default = false\n}\n'
        + VOLUME % "local.cfg.enc"
        + DATABASE % "var.pub"
        + VOLUME.replace('"v"', '"w"') % "var.pub ? false : local.on"
    )
    assert found(tmp_path, {"main.tf": main}) == set()


def test_locals_and_variables_of_another_file_of_the_directory(tmp_path: Path) -> None:
    files = {
        "locals.tf": "locals {\n  off = false\n}\n",
        "variables.tf": 'variable "pub" {\n  type    = bool\n  default = true\n}\n',
        "main.tf": VOLUME % "local.off" + DATABASE % "var.pub",
    }
    assert found(tmp_path, files) == {
        ("TF-AWS-EBS-ENCRYPTION", "locals.tf", 2),
        ("TF-AWS-RDS-PUBLIC", "variables.tf", 3),
    }


def test_tfvars_set_what_a_compliant_default_relied_on(tmp_path: Path) -> None:
    """terraform.tfvars, then terraform.tfvars.json, then *.auto.tfvars(.json) by name: the
    last one read wins, and the finding sits at its line."""
    files = {
        "main.tf": 'variable "pub" {\n  default = false\n}\nvariable "enc" {\n  default = true\n}\n'
        + VOLUME % "var.enc"
        + DATABASE % "var.pub",
        "terraform.tfvars": "pub = true\nenc = true\n",
        "terraform.tfvars.json": '{\n  "enc": false\n}\n',
        "b.auto.tfvars": "pub = false\n",
        "a.auto.tfvars.json": '{"pub": true}\n',
    }
    assert found(tmp_path, files) == {("TF-AWS-EBS-ENCRYPTION", "terraform.tfvars.json", 2)}
    (tmp_path / "c.auto.tfvars").write_text("\npub = true\n")
    assert found(tmp_path, {}) == {
        ("TF-AWS-EBS-ENCRYPTION", "terraform.tfvars.json", 2),
        ("TF-AWS-RDS-PUBLIC", "c.auto.tfvars", 2),
    }


def test_a_var_file_is_judged_as_what_its_environment_deploys(tmp_path: Path) -> None:
    """The attack: defaults compliant, `env/prod.tfvars` (passed as `terraform apply
    -var-file=env/prod.tfvars`) turns the database public. Each variable file a root is
    told about (its own non-auto `.tfvars`, and those in folders below it with no code of
    their own) is judged as a variant at its line; one that changes nothing adds nothing;
    a folder with code of its own is another module, whose files are not this root's."""
    files = {
        "main.tf": 'variable "pub" {\n  default = false\n}\n' + DATABASE % "var.pub",
        "env/prod.tfvars": "\npub = true\n",
        "env/dev.tfvars": "pub = false\n",
        "staging.tfvars.json": '{\n  "pub": false\n}\n',
    }
    assert found(tmp_path, files) == {("TF-AWS-RDS-PUBLIC", "env/prod.tfvars", 2)}
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    (public,) = [f for f in report.verdict.findings if f.policy_id == "TF-AWS-RDS-PUBLIC"]
    assert public.extra["variants"] == [
        "deployed by main.tf:aws_db_instance.db with -var-file=env/prod.tfvars"
    ]
    (tmp_path / "staging.tfvars.json").write_text('{\n  "pub": true\n}\n')
    (tmp_path / "env" / "main.tf").write_text('variable "pub" {\n  default = false\n}\n')
    # env/ has code now: its tfvars are its own (values for a module with no database).
    assert found(tmp_path, {}) == {("TF-AWS-RDS-PUBLIC", "staging.tfvars.json", 2)}


def test_a_var_file_reaches_a_module_call(tmp_path: Path) -> None:
    """A root passes a variable to a local module: the value a var file gives is judged in
    the module, at the var file's line; the call's default stays quiet."""
    files = {
        "live/main.tf": 'variable "expose" {\n  default = false\n}\n'
        'module "db" {\n  source = "../modules/db"\n  pub = var.expose\n}\n',
        "live/vars/prod.tfvars": "expose = true\n",
        "modules/db/main.tf": 'variable "pub" {\n  default = false\n}\n' + DATABASE % "var.pub",
    }
    assert found(tmp_path, files) == {("TF-AWS-RDS-PUBLIC", "live/vars/prod.tfvars", 1)}
    # What the module deploys either way (no deletion protection) names only the call.
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    in_module = [f for f in report.verdict.findings if f.file == "modules/db/main.tf"]
    assert in_module
    assert {tuple(f.extra["variants"]) for f in in_module} == {
        ("deployed by live/main.tf:module.db",)
    }


def test_an_override_file_is_judged_merged_into_the_resource(tmp_path: Path) -> None:
    """override.tf turns off what main.tf turns on: the merged resource is unencrypted and
    the finding is in the override; an override that fixes main.tf leaves nothing; a partial
    override block is not a resource of its own (no findings for what it does not repeat)."""
    files = {
        "main.tf": VOLUME % "true" + DATABASE % "true",
        "override.tf": 'resource "aws_ebs_volume" "v" {\n  encrypted = false\n}\n'
        'resource "aws_db_instance" "db" {\n  publicly_accessible = false\n}\n',
    }
    assert found(tmp_path, files) == {("TF-AWS-EBS-ENCRYPTION", "override.tf", 2)}


def test_overrides_of_locals_and_variables_and_later_overrides_win(tmp_path: Path) -> None:
    files = {
        "main.tf": "locals {\n  enc = true\n}\n"
        'variable "pub" {\n  type    = bool\n  default = false\n}\n'
        + VOLUME % "local.enc"
        + DATABASE % "var.pub",
        "a_override.tf": 'locals {\n  enc = false\n}\nvariable "pub" {\n  default = true\n}\n',
        "z_override.tf": 'variable "pub" {\n\n  default = "true"\n}\n',
    }
    assert found(tmp_path, files) == {
        ("TF-AWS-EBS-ENCRYPTION", "a_override.tf", 2),
        ("TF-AWS-RDS-PUBLIC", "z_override.tf", 3),
    }


def test_an_override_replaces_nested_blocks_of_its_type(tmp_path: Path) -> None:
    files = {
        "main.tf": 'resource "aws_security_group" "web" {\n'
        '  ingress {\n    from_port = 443\n    to_port = 443\n    protocol = "tcp"\n'
        '    cidr_blocks = ["0.0.0.0/0"]\n  }\n}\n',
        "web_override.tf": 'resource "aws_security_group" "web" {\n'
        '  ingress {\n    from_port = 22\n    to_port = 22\n    protocol = "tcp"\n'
        '    cidr_blocks = ["0.0.0.0/0"]\n  }\n}\n',
    }
    assert found(tmp_path, files) == {("TF-AWS-SG-OPEN-ADMIN-PORTS", "web_override.tf", 6)}


def test_count_for_each_and_dynamic_blocks_in_the_root(tmp_path: Path) -> None:
    """Each instance is judged: the open CIDR is found at the local's item that opens it, a
    rule open as a whole at the resource (fixed there); a resource with `count = 0` is not
    deployed, so not judged."""
    main = (
        "locals {\n"  # 1
        "  ports = [443, 22]\n"  # 2
        "  rules = {\n"  # 3
        '    web = { port = 443, cidr = "0.0.0.0/0" }\n'  # 4
        '    ssh = { port = 22, cidr = "0.0.0.0/0" }\n'  # 5
        "  }\n"  # 6
        "}\n"  # 7
        'resource "aws_security_group" "sg" {\n'  # 8
        '  dynamic "ingress" {\n'  # 9
        "    for_each = local.rules\n"  # 10
        "    content {\n"  # 11
        "      from_port   = ingress.value.port\n"  # 12
        "      to_port     = ingress.value.port\n"  # 13
        '      protocol    = "tcp"\n'  # 14
        "      cidr_blocks = [ingress.value.cidr]\n"  # 15
        "    }\n  }\n}\n"  # 16-18
        'resource "aws_security_group_rule" "r" {\n'  # 19
        "  count       = length(local.ports)\n"  # 20
        '  type        = "ingress"\n'  # 21
        "  from_port   = local.ports[count.index]\n"  # 22
        "  to_port     = local.ports[count.index]\n"  # 23
        '  protocol    = "tcp"\n'  # 24
        '  cidr_blocks = ["0.0.0.0/0"]\n'  # 25
        '  security_group_id = "sg-1"\n'  # 26
        "}\n" + VOLUME.replace('"v" {', '"never" {\n  count = 0') % "false"
    )
    assert found(tmp_path, {"main.tf": main}) == {
        ("TF-AWS-SG-OPEN-ADMIN-PORTS", "main.tf", 5),
        ("TF-AWS-SG-RULE-OPEN-ADMIN-PORTS", "main.tf", 19),
    }


def test_moved_and_import_blocks_hide_nothing(tmp_path: Path) -> None:
    main = (
        "locals {\n  off = false\n}\n"
        + VOLUME % "local.off"
        + "moved {\n  from = aws_ebs_volume.old\n  to   = aws_ebs_volume.v\n}\n"
        + 'import {\n  to = aws_ebs_volume.v\n  id = "vol-1"\n}\n'
    )
    assert found(tmp_path, {"main.tf": main}) == {("TF-AWS-EBS-ENCRYPTION", "main.tf", 2)}


def test_two_resources_reading_one_bad_local_are_both_reported(tmp_path: Path) -> None:
    """One line, two resources: one finding there that names both (variants), so a pull
    request adding a second resource through a known-bad local is not folded into the
    first resource's existing finding."""
    main = "locals {\n  off = false\n}\n" + VOLUME % "local.off"
    main += VOLUME.replace('"v"', '"w"') % "local.off"
    (tmp_path / "main.tf").write_text(main)
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    (finding,) = [f for f in report.verdict.findings if f.policy_id == "TF-AWS-EBS-ENCRYPTION"]
    assert (finding.file, finding.line) == ("main.tf", 2)
    assert finding.extra["variants"] == [
        "deployed by main.tf:aws_ebs_volume.v",
        "deployed by main.tf:aws_ebs_volume.w",
    ]


def test_a_role_set_from_a_local_list_is_at_the_role(tmp_path: Path) -> None:
    """terraform-google-kubernetes-engine test/setup/iam.tf (noise5): the roles of a local
    list granted with `count = length(local.roles)` were found at the role's line of the
    list, the same roles granted with `for_each = toset(local.roles)` at `role =
    each.value` (toset lost where each string was written): one role, findings at several
    lines. Now one finding at the role's line, naming each resource."""
    main = (
        'locals {\n  roles = [\n    "roles/viewer",\n    "roles/iam.serviceAccountUser",\n  ]\n}\n'
        'resource "google_project_iam_member" "a" {\n'
        "  count   = length(local.roles)\n"
        '  project = "p"\n'
        "  role    = local.roles[count.index]\n"
        '  member  = "serviceAccount:x@p.iam.gserviceaccount.com"\n'
        "}\n"
        'resource "google_project_iam_member" "b" {\n'
        "  for_each = toset(local.roles)\n"
        '  project  = "p"\n'
        "  role     = each.value\n"
        '  member   = "serviceAccount:x@p.iam.gserviceaccount.com"\n'
        "}\n"
    )
    (tmp_path / "main.tf").write_text(main)
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    (finding,) = [
        f for f in report.verdict.findings if f.policy_id == "TF-GCP-IAM-SERVICE-ACCOUNT-USER"
    ]
    assert (finding.file, finding.line) == ("main.tf", 4)
    assert finding.extra["variants"] == [
        "deployed by main.tf:google_project_iam_member.a",
        'deployed by main.tf:google_project_iam_member.b["roles/iam.serviceAccountUser"]',
    ]


def test_a_called_module_is_judged_through_its_calls_not_with_its_defaults(
    tmp_path: Path,
) -> None:
    """modules/disk is a module: its insecure default is what a caller that passes nothing
    gets (judged through that call), not a root module's value of its own."""
    files = {
        "modules/disk/main.tf": 'variable "enc" {\n  default = false\n}\n' + VOLUME % "var.enc",
        "main.tf": 'module "safe" {\n  source = "./modules/disk"\n  enc = true\n}\n',
    }
    assert found(tmp_path, files) == set()
    (tmp_path / "main.tf").write_text('module "bare" {\n  source = "./modules/disk"\n}\n')
    assert found(tmp_path, {}) == {("TF-AWS-EBS-ENCRYPTION", "modules/disk/main.tf", 6)}


def test_defaults_that_deploy_nothing_do_not_hide_what_a_caller_deploys(tmp_path: Path) -> None:
    """A module published from this repository (called from elsewhere) looks like a root
    module: `count = var.create ? 1 : 0` with `create = false`, or a dynamic block over an
    empty default, deploys nothing here, but a caller that sets them deploys what the block
    writes. The block as written is still judged, as before root modules were evaluated."""
    main = (
        'variable "create" {\n  default = false\n}\n'  # 1-3
        'variable "rules" {\n  default = []\n}\n'  # 4-6
        'resource "aws_ebs_volume" "v" {\n'  # 7
        "  count             = var.create ? 1 : 0\n"  # 8
        '  availability_zone = "eu-west-1a"\n'  # 9
        "  encrypted         = false\n"  # 10
        "}\n"  # 11
        'resource "aws_security_group" "sg" {\n'  # 12
        '  dynamic "ingress" {\n'  # 13
        "    for_each = var.rules\n"  # 14
        "    content {\n"  # 15
        "      from_port   = 22\n"  # 16
        "      to_port     = 22\n"  # 17
        '      protocol    = "tcp"\n'  # 18
        '      cidr_blocks = ["0.0.0.0/0"]\n'  # 19
        "    }\n  }\n}\n"
    )
    assert found(tmp_path, {"main.tf": main}) == {
        ("TF-AWS-EBS-ENCRYPTION", "main.tf", 10),
        ("TF-AWS-SG-OPEN-ADMIN-PORTS", "main.tf", 19),
    }


def test_tf_json_files_are_terraform_with_their_own_lines(tmp_path: Path) -> None:
    """A resource written in JSON syntax was never judged. Its strings are templates
    (`"${local.off}"`), its locals and variables join the module's scope, an override in
    JSON merges like one in HCL, and what is not Terraform JSON is a problem at its line."""
    files = {
        "locals.tf": "locals {\n  off = false\n}\n",
        "main.tf.json": "{\n"  # 1
        '  "variable": {"pub": {"default": true}},\n'  # 2
        '  "resource": {\n'  # 3
        '    "aws_ebs_volume": {\n'  # 4
        '      "v": {"availability_zone": "a", "encrypted": "${local.off}"},\n'  # 5
        '      "w": {"availability_zone": "a", "encrypted": false}\n'  # 6
        "    },\n"  # 7
        '    "aws_db_instance": {"db": {"storage_encrypted": true,\n'  # 8
        '      "publicly_accessible": "${var.pub}"}},\n'  # 9
        '    "aws_security_group": {"sg": {"ingress": [{"from_port": 22, "to_port": 22,\n'  # 10
        '      "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"]}]}}\n'  # 11
        "  }\n}\n",
        "db_override.tf.json": '{"variable": {"pub": {\n  "default": false}}}\n',
        "bad.tf.json": '{\n  "resourc": {}\n}\n',
    }
    assert found(tmp_path, files) == {
        ("TF-AWS-EBS-ENCRYPTION", "locals.tf", 2),
        ("TF-AWS-EBS-ENCRYPTION", "main.tf.json", 6),
        ("TF-AWS-SG-OPEN-ADMIN-PORTS", "main.tf.json", 11),
    }
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    problems = [
        (f.file, f.line) for f in report.verdict.findings if f.policy_id == "GK-PARSE-ERROR"
    ]
    assert problems == [("bad.tf.json", 2)]


def test_a_pull_request_changing_only_tfvars_or_adding_an_override_is_judged(
    tmp_path: Path,
) -> None:
    """Leave main.tf alone and change what it evaluates to: the resource is judged again and
    the finding is new, at the line the pull request wrote."""
    from gatekeeper.change import scan_change
    from tests.test_change import Repo

    repo = Repo(tmp_path / "repo")
    repo.write(".gatekeeper.yml", "packs: [terraform]\n")
    repo.write(
        "infra/main.tf",
        'variable "pub" {\n  default = false\n}\n' + VOLUME % "true" + DATABASE % "var.pub",
    )
    repo.write("infra/terraform.tfvars", "pub = false\n")
    repo.commit("base")
    repo.branch("pr")
    repo.write("infra/terraform.tfvars", "pub = true\n")
    repo.write(
        "infra/disk_override.tf", 'resource "aws_ebs_volume" "v" {\n  encrypted = false\n}\n'
    )
    repo.commit("open it")
    findings = scan_change(repo.root, "main").verdict.findings
    new = sorted((f.file, f.line, f.policy_id) for f in findings if f.status == "new")
    assert new == [
        ("infra/disk_override.tf", 2, "TF-AWS-EBS-ENCRYPTION"),
        ("infra/terraform.tfvars", 1, "TF-AWS-RDS-PUBLIC"),
    ]


def test_burning_the_evaluation_budget_is_said_not_passed(tmp_path: Path) -> None:
    """A local built from nested `for`s over big ranges exhausts the evaluation: a resource
    whose `false` then stays unknown is a problem at its block, not a quiet pass."""
    main = (
        "locals {\n"
        "  burn = [for i in range(10000) : [for j in range(10000) : j]]\n"
        "  off  = false\n"
        "}\n"
        'resource "aws_ebs_volume" "a" {\n  availability_zone = "a"\n'
        "  encrypted = length(local.burn) > 0\n}\n" + VOLUME % "local.off"
    )
    (tmp_path / "main.tf").write_text(main)
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    problems = {(f.policy_id, f.line) for f in report.verdict.findings if f.blocking}
    assert ("GK-RENDER-ERROR", 9) in problems


def test_a_decoy_call_deploying_nothing_does_not_hide_a_modules_own_locals(
    tmp_path: Path,
) -> None:
    """Calling infra/ from elsewhere with `count = 0` makes it a called module (its
    variables are then the callers'), but its locals are its own: still judged, once."""
    files = {
        "infra/main.tf": "locals {\n  off = false\n}\n" + VOLUME % "local.off",
        "decoy/main.tf": 'module "x" {\n  source = "../infra"\n  count  = 0\n}\n',
        "live/main.tf": 'module "y" {\n  source = "../infra"\n}\n',
    }
    assert found(tmp_path, files) == {("TF-AWS-EBS-ENCRYPTION", "infra/main.tf", 2)}


def test_new_text_for_a_file_already_read_is_judged_as_given() -> None:
    """A file loaded with other text than its module was first read with (a staged version)
    is judged as given, with its module read again."""
    from gatekeeper.sources import LoadContext, terraform
    from gatekeeper.tree import MemoryTree

    tree = MemoryTree({"main.tf": (VOLUME % "local.off").encode(), "locals.tf": b""})
    context = LoadContext(tree=tree)
    terraform.load("locals.tf", b"", context)  # reads main.tf as its sibling
    text = "locals {\n  off = false\n}\n" + VOLUME % "local.off"
    (document,) = terraform.load("main.tf", text.encode(), context).documents
    assert document.obj["encrypted"] is False
    assert document.locator.locate(("encrypted",))[:2] == ("main.tf", 2)


def test_a_modules_own_calls_take_its_callers_values_not_its_defaults(tmp_path: Path) -> None:
    """A published module (terraform-aws-rds): the root module calls ./modules/db with its
    variables, and examples call the root. Its defaults are what an example that sets
    nothing gets, judged through that example; on their own they deploy nothing (noise to
    the module's maintainer: 3 findings at terraform-aws-rds variables.tf)."""
    files = {
        "variables.tf": 'variable "pub" {\n  default = true\n}\n',
        "main.tf": 'module "db" {\n  source = "./modules/db"\n  pub = var.pub\n}\n',
        "modules/db/main.tf": 'variable "pub" {}\n' + DATABASE % "var.pub",
        "examples/private/main.tf": 'module "rds" {\n  source = "../../"\n  pub = false\n}\n',
    }
    assert found(tmp_path, files) == set()
    (tmp_path / "examples/bare/main.tf").parent.mkdir()
    (tmp_path / "examples/bare/main.tf").write_text('module "rds" {\n  source = "../../"\n}\n')
    # Reported through the example, at the module's argument that passes the default on.
    assert found(tmp_path, {}) == {("TF-AWS-RDS-PUBLIC", "main.tf", 3)}


def test_a_decoy_call_does_not_make_a_configured_root_a_module(tmp_path: Path) -> None:
    """A root module (a backend, a provider block or a .tfvars file) is applied with its
    defaults whatever calls it: a call from a decoy directory that passes safe values (or
    deploys nothing) must not hide them."""
    decoy = 'module "x" {\n  source = "../live"\n  count = 0\n}\n'
    for root in (
        'terraform {\n  backend "s3" {}\n}\n',
        'provider "aws" {\n  region = "eu-west-1"\n}\n',
    ):
        files = {
            "live/main.tf": root + 'variable "pub" {\n  default = true\n}\n' + DATABASE % "var.pub",
            "decoy/main.tf": decoy,
        }
        line = root.count("\n") + 2
        assert found(tmp_path, files) == {("TF-AWS-RDS-PUBLIC", "live/main.tf", line)}
    files = {
        "live/main.tf": 'variable "pub" {}\n' + DATABASE % "var.pub",
        "live/terraform.tfvars": "pub = true\n",
        "decoy/main.tf": decoy,
    }
    assert found(tmp_path, files) == {("TF-AWS-RDS-PUBLIC", "live/terraform.tfvars", 1)}


def test_a_hook_given_only_a_var_file_or_a_locals_file_judges_what_it_feeds(
    tmp_path: Path,
) -> None:
    """pre-commit passes only the staged files: a commit of `env/prod.tfvars` alone (or of
    `locals.tf`, which deploys nothing itself) judged nothing and passed. The code they
    give values to is judged with them; a file that deploys something is judged alone."""
    from tests.conftest import run_cli

    (tmp_path / "env").mkdir()
    (tmp_path / "main.tf").write_text(
        'variable "pub" {\n  default = false\n}\n' + DATABASE % "var.pub" + VOLUME % "local.on"
    )
    (tmp_path / "locals.tf").write_text("locals {\n  on = false\n}\n")
    (tmp_path / "env" / "prod.tfvars").write_text("pub = true\n")
    hook = run_cli("scan", "--hook", "env/prod.tfvars", cwd=tmp_path)
    assert hook.returncode == 1, hook.stdout + hook.stderr
    assert "env/prod.tfvars:1:1: CRITICAL TF-AWS-RDS-PUBLIC" in hook.stdout
    hook = run_cli("scan", "--hook", "locals.tf", cwd=tmp_path)
    assert "locals.tf:2:3: HIGH TF-AWS-EBS-ENCRYPTION" in hook.stdout, hook.stdout
    (tmp_path / "other.tf").write_text('resource "aws_s3_bucket" "b" {\n  bucket = "b"\n}\n')
    hook = run_cli("scan", "--hook", "other.tf", cwd=tmp_path)
    assert "TF-AWS-EBS-ENCRYPTION" not in hook.stdout and "main.tf" not in hook.stdout


def test_each_branch_of_a_condition_only_apply_knows_is_judged(tmp_path: Path) -> None:
    """The attack: `publicly_accessible = var.env == "dev" ? true : false` with `env` given
    at apply time (no default) was unknown, so no rule saw the public database that every
    dev apply creates; `terraform.workspace` likewise. Each such condition is taken true,
    then false (a root's variant each); the finding sits at the attribute. What holds
    either way (`ENCRYPTION` off, below) names no variant, and a condition whose branches
    agree changes nothing."""
    main = (
        'variable "env" {\n  type = string\n}\n'
        'resource "aws_db_instance" "db" {\n'
        "  storage_encrypted = true\n"
        '  publicly_accessible = var.env == "dev" ? true : false\n'
        "}\n"
        'resource "aws_ebs_volume" "v" {\n'
        '  availability_zone = terraform.workspace == "x" ? "a" : "b"\n'
        '  encrypted = terraform.workspace != "prod" ? false : true\n'
        "}\n"
        'resource "aws_db_instance" "same" {\n'
        "  storage_encrypted = true\n"
        '  publicly_accessible = var.env == "dev" ? false : false\n'
        "}\n"
        # an optional input (`== null`) is taken as given, not both ways
        'resource "aws_ebs_volume" "keyed" {\n'
        '  availability_zone = "a"\n'
        "  encrypted = var.key == null ? false : true\n"
        "}\n"
    )
    assert found(tmp_path, {"main.tf": main}) == {
        ("TF-AWS-RDS-PUBLIC", "main.tf", 6),
        ("TF-AWS-EBS-ENCRYPTION", "main.tf", 10),
    }
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    variants = {
        (f.policy_id, f.line): f.extra.get("variants")
        for f in report.verdict.findings
        if f.policy_id in WATCHED
    }
    assert variants == {
        ("TF-AWS-RDS-PUBLIC", 6): [
            "deployed by main.tf:aws_db_instance.db with unknown conditions true"
        ],
        ("TF-AWS-EBS-ENCRYPTION", 10): [
            "deployed by main.tf:aws_ebs_volume.v with unknown conditions true"
        ],
    }
    plain = [f for f in report.verdict.findings if f.line == 4]  # the db block's own line
    assert plain and all("variants" not in f.extra for f in plain)


def test_a_called_module_s_conditions_are_judged_with_each_call(tmp_path: Path) -> None:
    """In a module, `var.env` comes from its calls: the call passing "prod" deploys no
    public database and gets no finding; assuming the module's conditions on its own would
    report what no caller deploys. The root's own condition on what it passes is taken both
    ways."""
    module = 'variable "env" {\n  type = string\n}\n' + DATABASE % 'var.env == "dev" ? true : false'
    files = {
        "modules/db/main.tf": module,
        "live/main.tf": 'module "db" {\n  source = "../modules/db"\n  env = "prod"\n}\n',
    }
    assert found(tmp_path, files) == set()
    (tmp_path / "live" / "main.tf").write_text(
        'variable "stage" {}\n'
        'module "db" {\n  source = "../modules/db"\n'
        '  env = var.stage == "test" ? "dev" : "prod"\n}\n'
    )
    # `true` is written in the module: the finding is there, for this call's variant.
    assert found(tmp_path, {}) == {("TF-AWS-RDS-PUBLIC", "modules/db/main.tf", 6)}
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    (public,) = [f for f in report.verdict.findings if f.policy_id == "TF-AWS-RDS-PUBLIC"]
    assert public.extra["variants"] == [
        "deployed by live/main.tf:module.db with unknown conditions true"
    ]
    # The root passes on what the pipeline gives it: the module's condition is taken both
    # ways for that call.
    (tmp_path / "live" / "main.tf").write_text(
        'variable "stage" {}\nmodule "db" {\n  source = "../modules/db"\n  env = var.stage\n}\n'
    )
    assert found(tmp_path, {}) == {("TF-AWS-RDS-PUBLIC", "modules/db/main.tf", 6)}


def test_opentofu_files_are_judged_with_the_folder(tmp_path: Path) -> None:
    """The attack: `main.tofu` (which OpenTofu loads, and prefers to `main.tf`) made the
    database public and passed, unread. `.tofu` files are Terraform code of their folder,
    override files and variables included."""
    files = {
        "main.tf": DATABASE % "false",
        "main.tofu": 'variable "pub" {\n  default = true\n}\n' + DATABASE % "var.pub",
        "x_override.tofu": VOLUME % "false",
    }
    assert found(tmp_path, files) == {
        ("TF-AWS-RDS-PUBLIC", "main.tofu", 2),
        ("TF-AWS-EBS-ENCRYPTION", "x_override.tofu", 3),
    }


def test_a_local_module_s_outputs_are_evaluated_where_they_are_read(tmp_path: Path) -> None:
    """The attack: `publicly_accessible = module.settings.public` with `output "public" {
    value = true }` in the local module was unknown and passed. A local call's outputs are
    evaluated with what the call passes (here through a second module's input), and the
    finding sits where the value is written; a call with `count` stays unknown."""
    files = {
        "modules/settings/main.tf": 'variable "open" {}\n'
        'output "public" {\n  value = var.open\n}\n',
        "modules/db/main.tf": 'variable "pub" {}\n' + DATABASE % "var.pub",
        "main.tf": 'module "settings" {\n  source = "./modules/settings"\n  open = true\n}\n'
        'module "db" {\n  source = "./modules/db"\n  pub = module.settings.public\n}\n'
        + VOLUME % "module.counted.on"
        + 'module "counted" {\n  source = "./modules/settings"\n  count = 1\n  open = false\n}\n',
    }
    assert found(tmp_path, files) == {("TF-AWS-RDS-PUBLIC", "main.tf", 3)}


def test_terragrunt_inputs_are_values_of_the_root_beside_them(tmp_path: Path) -> None:
    """terragrunt passes `inputs` to terraform as TF_VAR_ values (red team r14)."""
    files = {
        "infra/variables.tf": 'variable "pub" {\n  default = false\n}\n',
        "infra/main.tf": DATABASE % "var.pub",
        "infra/terragrunt.hcl": "inputs = {\n  pub = true\n}\n",
    }
    assert found(tmp_path, files) == {("TF-AWS-RDS-PUBLIC", "infra/terragrunt.hcl", 2)}


def test_a_value_of_a_literal_for_each_is_at_its_element(tmp_path: Path) -> None:
    """A root resource whose `for_each` is a literal map: `role = each.value` was found at
    the line that uses it, not where the role is written (session 16); now at its element,
    exact, one finding, no variant of its own (its fingerprint unchanged). A `for_each`
    whose elements are not written (a data source's) stays at the line that uses it."""
    main = (
        'resource "google_project_iam_member" "c" {\n'
        "  for_each = {\n"
        '    viewer = "roles/viewer"\n'
        '    sa     = "roles/iam.serviceAccountUser"\n'
        "  }\n"
        '  project  = "p"\n'
        "  role     = each.value\n"
        '  member   = "serviceAccount:y@p.iam.gserviceaccount.com"\n'
        "}\n"
        'locals {\n  project = "p"\n}\n'
    )
    (tmp_path / "main.tf").write_text(main)
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    (finding,) = [
        f for f in report.verdict.findings if f.policy_id == "TF-GCP-IAM-SERVICE-ACCOUNT-USER"
    ]
    assert (finding.file, finding.line, finding.extra.get("exact")) == ("main.tf", 4, True)
    assert "variants" not in finding.extra


def test_a_value_of_a_literal_toset_for_each_is_at_its_element(tmp_path: Path) -> None:
    """`for_each = toset([...])` (session 17): the call hid the literal's element lines, so
    `role = each.value` (or `each.key`) was found at the line that uses it, inexact, while a
    literal map's element was found at its line. Now each element where it is written (a set
    sorts its elements: the line is the element's, not its sorted position's), and a local
    holding `toset([...])` at its element too."""
    main = (
        'resource "google_project_iam_member" "c" {\n'
        "  for_each = toset([\n"
        '    "roles/viewer",\n'
        '    "roles/iam.serviceAccountUser",\n'  # 4
        '    "roles/browser",\n'
        "  ])\n"
        '  project  = "p"\n'
        "  role     = each.value\n"
        '  member   = "serviceAccount:y@p.iam.gserviceaccount.com"\n'
        "}\n"
        'resource "google_project_iam_member" "k" {\n'
        '  for_each = toset(["roles/viewer", "roles/iam.serviceAccountUser"])\n'  # 12
        '  project  = "p"\n'
        "  role     = each.key\n"
        '  member   = "serviceAccount:k@p.iam.gserviceaccount.com"\n'
        "}\n"
        "locals {\n"
        "  set = toset([\n"
        '    "roles/iam.serviceAccountUser",\n'  # 19
        '    "roles/viewer",\n'
        "  ])\n"
        "}\n"
        'resource "google_project_iam_member" "l" {\n'
        "  for_each = local.set\n"
        '  project  = "p"\n'
        "  role     = each.value\n"
        '  member   = "serviceAccount:l@p.iam.gserviceaccount.com"\n'
        "}\n"
    )
    (tmp_path / "main.tf").write_text(main)
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    found_at = sorted(
        (f.line, f.extra.get("exact"), f.extra.get("variants"))
        for f in report.verdict.findings
        if f.policy_id == "TF-GCP-IAM-SERVICE-ACCOUNT-USER"
    )
    role = "roles/iam.serviceAccountUser"
    assert found_at == [
        (4, True, None),
        (12, True, None),
        (19, True, [f'deployed by main.tf:google_project_iam_member.l["{role}"]']),
    ]


def test_a_value_of_a_conditional_toset_for_each_is_at_its_element(tmp_path: Path) -> None:
    """`for_each = var.enabled ? toset([...]) : toset([])` (session 18): the conditional hid
    the literal's element lines that `toset([...])` alone keeps, so `role = each.value` was
    found at the line that uses it, inexact. Now at the element, the branch taken decided by
    the variable's default; a plain list in a conditional too; switched off, nothing."""
    main = (
        'variable "enabled" {\n'
        "  default = true\n"
        "}\n"
        'variable "off" {\n'
        "  default = false\n"
        "}\n"
        'resource "google_project_iam_member" "c" {\n'
        "  for_each = var.enabled ? toset([\n"
        '    "roles/viewer",\n'
        '    "roles/iam.serviceAccountUser",\n'  # 10
        "  ]) : toset([])\n"
        '  project  = "p"\n'
        "  role     = each.value\n"
        '  member   = "serviceAccount:y@p.iam.gserviceaccount.com"\n'
        "}\n"
        'resource "google_project_iam_member" "l" {\n'
        "  for_each = var.enabled ? [] : [\n"
        '    "roles/iam.serviceAccountUser",\n'
        "  ]\n"
        '  project  = "p"\n'
        "  role     = each.value\n"
        '  member   = "serviceAccount:l@p.iam.gserviceaccount.com"\n'
        "}\n"
        'resource "google_project_iam_member" "k" {\n'
        "  for_each = var.off ? toset([]) : toset([\n"
        '    "roles/iam.serviceAccountUser",\n'  # 26
        "  ])\n"
        '  project  = "p"\n'
        "  role     = each.key\n"
        '  member   = "serviceAccount:k@p.iam.gserviceaccount.com"\n'
        "}\n"
    )
    (tmp_path / "main.tf").write_text(main)
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    found_at = sorted(
        (f.line, f.extra.get("exact"))
        for f in report.verdict.findings
        if f.policy_id == "TF-GCP-IAM-SERVICE-ACCOUNT-USER"
    )
    assert found_at == [(10, True), (26, True)]
