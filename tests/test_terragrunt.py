"""terragrunt.hcl configurations that deploy a module of the repository with their `inputs`
(session 17: a live repository's `publicly_accessible = true` in `inputs` passed green, and a
configuration whose module is remote was not read at all)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import git_in, run_cli

MODULE = (
    'variable "public" {\n  type    = bool\n  default = false\n}\n'
    'resource "aws_db_instance" "db" {\n  storage_encrypted   = true\n'
    "  publicly_accessible = var.public\n}\n"
)
LIVE = 'terraform {\n  source = "%s"\n}\ninputs = {\n  public = %s\n}\n'


def _repo(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    git_in(root, "init", "-q", "-b", "main")
    git_in(root, "add", "-A")
    git_in(root, "commit", "-qm", "base")


def _findings(root: Path, *args: str) -> set[tuple[str, str, int]]:
    run = run_cli("scan", *args, "--format", "json", cwd=root)
    assert run.returncode in (0, 1), run.stderr
    return {
        (f["policy_id"], f["file"], f["line"])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] in ("TF-AWS-RDS-PUBLIC", "GK-NOT-EXPANDED", "GK-LOCAL-NOT-EXPANDED")
    }


def test_a_local_source_judges_the_module_with_the_inputs(tmp_path: Path) -> None:
    """The module alone is private by default; the live configuration makes it public:
    found at the input's line, by a full scan, a hook on the configuration alone, and a
    pull request changing only the configuration. `${get_terragrunt_dir()}` and the `//` of
    a subfolder name the same module."""
    _repo(
        tmp_path,
        {
            "modules/db/main.tf": MODULE,
            "live/prod/db/terragrunt.hcl": LIVE % ("../../../modules//db", "false"),
            "live/dev/db/terragrunt.hcl": LIVE
            % ("${get_terragrunt_dir()}/../../../modules/db", "false"),
        },
    )
    assert _findings(tmp_path, ".") == set()
    (tmp_path / "live/prod/db/terragrunt.hcl").write_text(LIVE % ("../../../modules//db", "true"))
    (tmp_path / "live/dev/db/terragrunt.hcl").write_text(
        LIVE % ("${get_terragrunt_dir()}/../../../modules/db", "true")
    )
    expected = {
        ("TF-AWS-RDS-PUBLIC", "live/prod/db/terragrunt.hcl", 5),
        ("TF-AWS-RDS-PUBLIC", "live/dev/db/terragrunt.hcl", 5),
    }
    assert _findings(tmp_path, ".") == expected
    hook = _findings(tmp_path, "--hook", "live/prod/db/terragrunt.hcl")  # the module's, all
    assert ("TF-AWS-RDS-PUBLIC", "live/prod/db/terragrunt.hcl", 5) in hook
    git_in(tmp_path, "checkout", "-q", "-b", "pr")
    git_in(tmp_path, "commit", "-qam", "both public")
    assert expected <= _findings(tmp_path, "--base", "main")
    # One more deployment made public where another already is: its own finding, new.
    (tmp_path / "live/qa/db").mkdir(parents=True)
    (tmp_path / "live/qa/db/terragrunt.hcl").write_text(LIVE % ("../../../modules/db", "true"))
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "qa public")
    run = run_cli("scan", "--base", "HEAD~1", "--format", "json", cwd=tmp_path)
    new = [
        (f["file"], f["status"])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == "TF-AWS-RDS-PUBLIC"
    ]
    assert ("live/qa/db/terragrunt.hcl", "new") in new, new


def test_a_source_built_from_locals_and_includes_is_followed(tmp_path: Path) -> None:
    """terragrunt-infrastructure-live-example's shape: the child includes root.hcl and an
    `_envcommon` file (found with find_in_parent_folders) whose literal local names the
    module and whose inputs the child's override; or the child's own local. Each judges the
    module with the merged inputs (a PR turning a computed source into an unjudged one must
    not pass)."""
    envcommon = (
        'locals {\n  base = "${get_repo_root()}/modules"\n}\n'
        'terraform {\n  source = "${local.base}//db"\n}\n'
        "inputs = {\n  public = true\n}\n"
    )
    child = (
        'include "root" {\n  path = find_in_parent_folders("root.hcl")\n}\n'
        'include "envcommon" {\n'
        '  path = "${dirname(find_in_parent_folders("root.hcl"))}/_envcommon/db.hcl"\n'
        "  expose = true\n}\n"
        "inputs = {\n  other = 1\n}\n"
    )
    own = 'locals {\n  m = "../../modules"\n}\nterraform {\n  source = "${local.m}/db"\n}\n'
    own += "inputs = {\n  public = true\n}\n"
    _repo(
        tmp_path,
        {
            "modules/db/main.tf": MODULE,
            "root.hcl": "",
            "_envcommon/db.hcl": envcommon,
            "live/prod/terragrunt.hcl": child,
            "live/dev/terragrunt.hcl": own,
        },
    )
    assert _findings(tmp_path, ".") == {
        ("TF-AWS-RDS-PUBLIC", "_envcommon/db.hcl", 8),
        ("TF-AWS-RDS-PUBLIC", "live/dev/terragrunt.hcl", 8),
    }
    # A pull request changing only the included file's inputs is judged.
    private = envcommon.replace("public = true", "public = false")
    (tmp_path / "_envcommon/db.hcl").write_text(private)
    git_in(tmp_path, "commit", "-qam", "private")
    git_in(tmp_path, "branch", "private")
    (tmp_path / "_envcommon/db.hcl").write_text(envcommon)
    git_in(tmp_path, "commit", "-qam", "public again")
    assert ("TF-AWS-RDS-PUBLIC", "_envcommon/db.hcl", 8) in _findings(tmp_path, "--base", "private")


def test_a_module_the_scan_cannot_read_is_said(tmp_path: Path) -> None:
    """A remote source, or a module only an included configuration it cannot read names: a
    low GK-NOT-EXPANDED at the source (or include) line, not a silent pass. A source computed
    from what gatekeeper does not evaluate and not remote by its look may name a folder of the
    repository: blocking GK-LOCAL-NOT-EXPANDED. A configuration beside code of its own (no
    source) deploys that code: nothing to say."""
    _repo(
        tmp_path,
        {
            "live/a/terragrunt.hcl": LIVE % ("git::https://example.com/m.git//db?ref=v1", "true"),
            "live/b/terragrunt.hcl": LIVE % ('${get_env("BASE", "../../m")}/db', "true"),
            "live/c/terragrunt.hcl": 'include "root" {\n  path = find_in_parent_folders()\n}\n'
            "inputs = {\n  public = true\n}\n",
            "live/d/terragrunt.hcl": "inputs = {\n  public = false\n}\n",
            "live/d/main.tf": MODULE,
        },
    )
    assert _findings(tmp_path, ".") == {
        ("GK-NOT-EXPANDED", "live/a/terragrunt.hcl", 2),
        ("GK-LOCAL-NOT-EXPANDED", "live/b/terragrunt.hcl", 2),
        ("GK-NOT-EXPANDED", "live/c/terragrunt.hcl", 1),
    }


def test_a_configuration_that_does_not_parse_is_a_finding(tmp_path: Path) -> None:
    _repo(tmp_path, {"live/terragrunt.hcl": 'terraform {\n  source = "../m"\n'})
    run = run_cli("scan", ".", "--format", "json", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    (finding,) = json.loads(run.stdout)["findings"]
    assert (finding["policy_id"], finding["file"]) == ("GK-PARSE-ERROR", "live/terragrunt.hcl")


def test_a_generate_block_writing_resources_is_said(tmp_path: Path) -> None:
    """`generate` writes its contents into the module's folder at apply time: a resource
    there is in no .tf file (session 17, attacking the terragrunt support). Blocking where it
    writes resources (here or in an included file, said at the include); a provider is what
    generate is for: nothing said."""
    resource = 'resource "aws_db_instance" "db" {\n  publicly_accessible = true\n}\n'
    provider = 'provider "aws" {\n  region = "eu-west-1"\n}\n'
    block = 'generate "%s" {\n  path = "%s.tf"\n  if_exists = "overwrite"\n'
    block += "  contents = <<EOF\n%sEOF\n}\n"
    include = 'include "root" {\n  path = find_in_parent_folders("root.hcl")\n}\n'
    _repo(
        tmp_path,
        {
            "modules/db/main.tf": MODULE,
            "root.hcl": block % ("extra", "extra", resource),
            "live/a/terragrunt.hcl": LIVE % ("../../modules/db", "false")
            + block % ("provider", "provider", provider)
            + block % ("main", "main", resource),
            "live/b/terragrunt.hcl": include + LIVE % ("../../modules/db", "false"),
        },
    )
    assert _findings(tmp_path, ".") == {
        ("GK-LOCAL-NOT-EXPANDED", "live/a/terragrunt.hcl", 16),
        ("GK-LOCAL-NOT-EXPANDED", "live/b/terragrunt.hcl", 1),
    }


def test_a_json_configuration_or_a_stack_is_said(tmp_path: Path) -> None:
    """terragrunt.hcl.json and terragrunt.stack.hcl deploy modules too, and are not read:
    blocking, never a silent pass (session 17)."""
    _repo(
        tmp_path,
        {
            "modules/db/main.tf": MODULE,
            "live/a/terragrunt.hcl.json": '{"terraform": {"source": "../../modules/db"},'
            ' "inputs": {"public": true}}\n',
            "live/terragrunt.stack.hcl": 'unit "db" {\n  source = "../modules/db"\n'
            '  path = "db"\n  values = {\n    public = true\n  }\n}\n',
        },
    )
    assert _findings(tmp_path, ".") == {
        ("GK-LOCAL-NOT-EXPANDED", "live/a/terragrunt.hcl.json", 1),
        ("GK-LOCAL-NOT-EXPANDED", "live/terragrunt.stack.hcl", 1),
    }


def test_ci_pointing_terragrunt_at_another_module_is_said(tmp_path: Path) -> None:
    """`terragrunt apply --terragrunt-source ../other//db` (or TERRAGRUNT_SOURCE / TG_SOURCE
    in the workflow's env, or before the command) applies the configurations' inputs to a
    module no rule judged with them: blocking at the command (session 17). A plan, or an
    apply without an override, is no such note."""
    workflow = (
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
        "    env:\n      TG_SOURCE: ../other//db\n    steps:\n"
        "      - run: terragrunt run-all apply --terragrunt-source ../evil//db\n"
        "      - run: terragrunt apply\n"
        "      - run: TERRAGRUNT_SOURCE=../x terragrunt run --all apply\n"
        "      - run: terragrunt plan\n"
    )
    quiet = workflow.replace("    env:\n      TG_SOURCE: ../other//db\n", "")
    quiet = quiet.replace(" --terragrunt-source ../evil//db", "")
    quiet = quiet.replace("TERRAGRUNT_SOURCE=../x ", "")
    _repo(tmp_path, {".github/workflows/deploy.yml": workflow})
    run = run_cli("scan", ".github", "--format", "json", cwd=tmp_path)
    said = sorted(
        (f["file"], f["line"])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == "GK-LOCAL-NOT-EXPANDED"
    )
    assert said == [(".github/workflows/deploy.yml", line) for line in (8, 9, 10)]
    (tmp_path / ".github/workflows/deploy.yml").write_text(quiet)
    run = run_cli("scan", ".github", "--format", "json", cwd=tmp_path)
    assert [
        f for f in json.loads(run.stdout)["findings"] if f["policy_id"] == "GK-LOCAL-NOT-EXPANDED"
    ] == []


def test_an_input_from_the_configuration_s_locals_is_known(tmp_path: Path) -> None:
    """`inputs = { public = local.p }` with `locals { p = true }`: the local was unknown, so
    the module's private default stood and the pull request passed (session 17 review,
    attacking the terragrunt support). Found where the local is written."""
    live = 'locals {\n  p = true\n}\nterraform {\n  source = "../../modules/db"\n}\n'
    live += "inputs = {\n  public = local.p\n}\n"
    _repo(tmp_path, {"modules/db/main.tf": MODULE, "live/prod/terragrunt.hcl": live})
    assert _findings(tmp_path, ".") == {("TF-AWS-RDS-PUBLIC", "live/prod/terragrunt.hcl", 2)}


def test_an_input_known_only_at_apply_time_is_judged_the_other_way(tmp_path: Path) -> None:
    """`public = dependency.flags.outputs.public`: another module's output, known only at
    apply time; the module's private default stood and the pull request passed (session 17
    review). A bool variable given such an input is judged the other way from its default,
    at the input's line, as a workflow's computed TF_VAR_ is."""
    live = 'dependency "flags" {\n  config_path = "../flags"\n}\n'
    live += 'terraform {\n  source = "../../modules/db"\n}\n'
    live += "inputs = {\n  public = dependency.flags.outputs.public\n}\n"
    _repo(tmp_path, {"modules/db/main.tf": MODULE, "live/prod/terragrunt.hcl": live})
    assert _findings(tmp_path, ".") == {("TF-AWS-RDS-PUBLIC", "live/prod/terragrunt.hcl", 8)}


def test_ci_mapping_a_remote_source_to_a_folder_is_said(tmp_path: Path) -> None:
    """`--terragrunt-source-map URL=../evil` (`--source-map`, TERRAGRUNT_SOURCE_MAP,
    TG_SOURCE_MAP) points a configuration's remote source at a folder of CI's choosing: its
    inputs are applied to a module no rule judged with them (red team s18 v01 sourcemap)."""
    url = "git::https://github.com/acme/modules.git"
    workflow = (
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        f'      - run: terragrunt apply --terragrunt-source-map "{url}=../evil"\n'
        f"      - run: terragrunt run --all apply --source-map={url}=../evil\n"
        "      - run: terragrunt apply\n"
        f"        env:\n          TG_SOURCE_MAP: {url}=../evil\n"
        f"      - run: TERRAGRUNT_SOURCE_MAP={url}=../evil terragrunt apply\n"
    )
    _repo(tmp_path, {".github/workflows/deploy.yml": workflow})
    run = run_cli("scan", ".github", "--format", "json", cwd=tmp_path)
    said = sorted(
        (f["file"], f["line"], f["blocking"])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == "GK-LOCAL-NOT-EXPANDED"
    )
    assert said == [(".github/workflows/deploy.yml", line, True) for line in (6, 7, 8, 11)]


def test_a_hook_on_an_included_or_read_file_judges_the_configurations(tmp_path: Path) -> None:
    """A developer's hook on `_envcommon/db.hcl` (included), `root.hcl` (found in parent
    folders) or `common.hcl` (read_terragrunt_config) judged nothing: only a pull request
    re-judged the configurations using them (red team s18 v01 hookenvcommon, hookroot)."""
    live = (
        'include "root" {\n  path = find_in_parent_folders("root.hcl")\n}\n'
        'include "env" {\n  path = "${get_repo_root()}/_envcommon/db.hcl"\n}\n'
        'terraform {\n  source = "../../modules//db"\n}\n'
    )
    _repo(
        tmp_path,
        {
            "modules/db/main.tf": MODULE,
            "root.hcl": 'inputs = {\n  region = "x"\n}\n',
            "_envcommon/db.hcl": 'inputs = {\n  name = "db"\n}\n',
            "live/prod/terragrunt.hcl": live,
        },
    )
    for name in ("root.hcl", "_envcommon/db.hcl"):
        assert _findings(tmp_path, "--hook", name) == set()
    (tmp_path / "_envcommon/db.hcl").write_text("inputs = {\n  public = true\n}\n")
    assert _findings(tmp_path, "--hook", "_envcommon/db.hcl") == {
        ("TF-AWS-RDS-PUBLIC", "_envcommon/db.hcl", 2)
    }
    git_in(tmp_path, "checkout", "-q", "--", "_envcommon/db.hcl")
    (tmp_path / "root.hcl").write_text('inputs = {\n  region = "x"\n  public = true\n}\n')
    assert _findings(tmp_path, "--hook", "root.hcl") == {("TF-AWS-RDS-PUBLIC", "root.hcl", 3)}


def test_extra_arguments_and_read_configurations_give_values(tmp_path: Path) -> None:
    """`terraform { extra_arguments }` (`-var`, a variable file, env_vars TF_VAR_) and
    `inputs = local.common.inputs` with `common = read_terragrunt_config(...)` gave the
    module values no rule judged (red team s18 v01): each is judged at its line, a pull
    request changing only the variable file or the read file judges again, and a value
    gatekeeper cannot read is a blocking note."""
    extra = (
        'terraform {\n  source = "../../modules//db"\n  extra_arguments "prod" {\n'
        '    commands = ["apply", "plan"]\n    arguments = ["-var", "public=%s"]\n'
        "  }\n}\n"
    )
    files = (
        'terraform {\n  source = "../../modules//db"\n  extra_arguments "prod" {\n'
        "    commands = get_terraform_commands_that_need_vars()\n"
        '    required_var_files = ["${get_terragrunt_dir()}/prod.tfvars"]\n'
        '    optional_var_files = ["${get_terragrunt_dir()}/absent.tfvars"]\n  }\n}\n'
    )
    env = (
        'terraform {\n  source = "../../modules//db"\n  extra_arguments "e" {\n'
        '    commands = ["apply"]\n    env_vars = {\n      TF_VAR_public = "%s"\n    }\n'
        "  }\n}\n"
    )
    read = (
        "locals {\n"
        '  common = read_terragrunt_config(find_in_parent_folders("common.hcl"))\n}\n'
        'terraform {\n  source = "../../../modules//db"\n}\n'
        "inputs = merge(local.common.inputs, { other = 1 })\n"
    )
    _repo(
        tmp_path,
        {
            "modules/db/main.tf": MODULE,
            "live/a/terragrunt.hcl": extra % "false",
            "live/b/terragrunt.hcl": files,
            "live/b/prod.tfvars": "public = false\n",
            "live/c/terragrunt.hcl": env % "false",
            "live/d/common.hcl": "inputs = {\n  public = false\n}\n",
            "live/d/x/terragrunt.hcl": read,
        },
    )
    assert _findings(tmp_path, ".") == set()
    git_in(tmp_path, "checkout", "-q", "-b", "pr")
    (tmp_path / "live/a/terragrunt.hcl").write_text(extra % "true")
    (tmp_path / "live/b/prod.tfvars").write_text("public = true\n")
    (tmp_path / "live/c/terragrunt.hcl").write_text(env % "true")
    (tmp_path / "live/d/common.hcl").write_text("inputs = {\n  public = true\n}\n")
    git_in(tmp_path, "commit", "-qam", "public")
    expected = {
        ("TF-AWS-RDS-PUBLIC", "live/a/terragrunt.hcl", 5),
        ("TF-AWS-RDS-PUBLIC", "live/b/prod.tfvars", 1),
        ("TF-AWS-RDS-PUBLIC", "live/c/terragrunt.hcl", 6),
        ("TF-AWS-RDS-PUBLIC", "live/d/common.hcl", 2),
    }
    assert _findings(tmp_path, "--base", "main") == expected
    hook = _findings(tmp_path, "--hook", "live/b/prod.tfvars")  # the module's deployments
    assert ("TF-AWS-RDS-PUBLIC", "live/b/prod.tfvars", 1) in hook
    (tmp_path / "live/a/terragrunt.hcl").write_text(
        extra.replace('"public=%s"', '"public=${get_env(\\"P\\", \\"false\\")}"')
    )
    assert ("GK-LOCAL-NOT-EXPANDED", "live/a/terragrunt.hcl", 5) in _findings(tmp_path, ".")


def test_a_well_known_registry_source_is_judged_with_the_inputs(tmp_path: Path) -> None:
    """`source = "tfr:///terraform-aws-modules/rds/aws?version=..."` with
    `publicly_accessible = true` was a low GK-NOT-EXPANDED: judged now with the registry
    table of Terraform's own module blocks (red team s18 v01 tfr). An unknown module stays
    the notice."""
    live = (
        'terraform {\n  source = "%s"\n}\n'
        'inputs = {\n  identifier = "db"\n  publicly_accessible = %s\n}\n'
    )
    rds = "tfr:///terraform-aws-modules/rds/aws?version=6.10.0"
    _repo(
        tmp_path,
        {
            "live/a/terragrunt.hcl": live % (rds, "true"),
            "live/b/terragrunt.hcl": live
            % ("tfr://registry.terraform.io/terraform-aws-modules/rds/aws?version=6.1.0", "false"),
            "live/c/terragrunt.hcl": live % ("tfr:///acme/db/aws?version=1.0.0", "true"),
        },
    )
    assert _findings(tmp_path, ".") == {
        ("TF-AWS-RDS-PUBLIC", "live/a/terragrunt.hcl", 6),
        ("GK-NOT-EXPANDED", "live/c/terragrunt.hcl", 2),
    }


def test_this_repository_s_module_by_its_git_url_is_judged(tmp_path: Path) -> None:
    """`source = "git::https://github.com/acme/live.git//modules/db?ref=main"` in the
    repository whose remote that is: the module at that ref, judged with the inputs (as a
    Terraform module block calling it is), not a low GK-NOT-EXPANDED (red team s18 v01
    gitown). A ref this checkout lacks is GK-REVISION-UNSEEN."""
    url = "git::https://github.com/acme/live.git//modules/db?ref=%s"
    _repo(
        tmp_path,
        {
            "modules/db/main.tf": MODULE,
            "live/a/terragrunt.hcl": LIVE % (url % "main", "true"),
            "live/b/terragrunt.hcl": LIVE % (url % "main", "false"),
            "live/c/terragrunt.hcl": LIVE % (url % "v9.9.9", "true"),
        },
    )
    git_in(tmp_path, "remote", "add", "origin", "https://github.com/acme/live.git")
    run = run_cli("scan", ".", "--format", "json", cwd=tmp_path)
    found = {
        (f["policy_id"], f["file"], f["line"])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] in ("TF-AWS-RDS-PUBLIC", "GK-NOT-EXPANDED", "GK-REVISION-UNSEEN")
    }
    assert found == {
        ("TF-AWS-RDS-PUBLIC", "live/a/terragrunt.hcl", 5),
        ("GK-REVISION-UNSEEN", "live/c/terragrunt.hcl", 2),
    }


def test_a_hook_that_writes_around_an_apply_is_said(tmp_path: Path) -> None:
    """A `before_hook` on apply copying a `.tf` file into the module's working copy deployed
    code no rule judged (red team s18 v03 tghook): blocking at the hook (at the include line
    for an included configuration's). Read-only hooks (tflint, `terraform fmt`, echo) and
    hooks on other commands are not said."""
    hooks = (
        'terraform {\n  source = "../../modules//db"\n'
        '  before_hook "copy" {\n    commands = ["apply", "plan"]\n'
        '    execute  = ["cp", "${get_repo_root()}/extra/db.txt", "extra.tf"]\n  }\n'
        '  before_hook "lint" {\n    commands = ["apply"]\n    execute  = ["tflint"]\n  }\n'
        '  after_hook "fmt" {\n    commands = ["plan"]\n    execute  = ["terraform", "fmt"]\n  }\n'
        '  after_hook "other" {\n    commands = ["destroy"]\n    execute  = ["rm", "x"]\n  }\n'
        "}\n"
    )
    _repo(
        tmp_path,
        {
            "modules/db/main.tf": MODULE,
            "live/a/terragrunt.hcl": hooks,
            "live/b/root.hcl": hooks.replace('"../../modules//db"', '"../../../modules//db"'),
            "live/b/c/terragrunt.hcl": 'include "root" {\n'
            '  path = find_in_parent_folders("root.hcl")\n}\n',
        },
    )
    assert _findings(tmp_path, ".") == {
        ("GK-LOCAL-NOT-EXPANDED", "live/a/terragrunt.hcl", 3),
        ("GK-LOCAL-NOT-EXPANDED", "live/b/c/terragrunt.hcl", 1),
    }


def test_ci_values_for_a_terragrunt_apply_reach_the_module(tmp_path: Path) -> None:
    """`cd live/prod && terragrunt apply` with `TF_VAR_public: "true"` in the step's env
    (terragrunt leaves a TF_VAR_ CI sets over its inputs) or `-var public=true` (passed on
    to terraform): judged with the module the configuration deploys, at the workflow line,
    by a pull request changing only the workflow (red team s18 v03 tgcienv, tgcivar)."""
    _repo(
        tmp_path,
        {
            "modules/db/main.tf": MODULE,
            "live/prod/terragrunt.hcl": LIVE % ("../../modules//db", "false"),
            "live/dev/db/terragrunt.hcl": LIVE % ("../../../modules//db", "false"),
        },
    )
    git_in(tmp_path, "checkout", "-q", "-b", "pr")
    (tmp_path / ".github/workflows").mkdir(parents=True)
    (tmp_path / ".github/workflows/tg.yml").write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: cd live/prod && terragrunt apply -auto-approve\n"
        '        env:\n          TF_VAR_public: "true"\n'
        "      - run: terragrunt run-all apply -var public=true\n"
        "        working-directory: live/dev\n"
    )
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "ci")
    assert ("TF-AWS-RDS-PUBLIC", ".github/workflows/tg.yml", 8) in _findings(
        tmp_path, "--base", "main"
    )
    (tmp_path / ".github/workflows/tg.yml").write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: terragrunt run-all apply -var public=true\n"
        "        working-directory: live/dev\n"
    )
    git_in(tmp_path, "commit", "-qam", "run-all")
    assert ("TF-AWS-RDS-PUBLIC", ".github/workflows/tg.yml", 6) in _findings(
        tmp_path, "--base", "main"
    )
    (tmp_path / ".github/workflows/tg.yml").write_text(  # terragrunt's own -chdir
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: terragrunt apply --terragrunt-working-dir live/prod\n"
        '        env:\n          TF_VAR_public: "true"\n'
    )
    git_in(tmp_path, "commit", "-qam", "working dir")
    assert ("TF-AWS-RDS-PUBLIC", ".github/workflows/tg.yml", 8) in _findings(
        tmp_path, "--base", "main"
    )


def test_decoded_values_files_and_deep_merges_give_values(tmp_path: Path) -> None:
    """`inputs = local.cfg` with `cfg = yamldecode(file(".../config.yaml"))`, `inputs =
    jsondecode(file("inputs.json"))`, and an include with `merge_strategy = "deep"` whose
    `db = { public = true }` lies under the configuration's `db = { name = "x" }`: a pull
    request changing only that file passed green (red team s18 v05). Judged at the file's
    line; `no_merge` takes nothing of the included file."""
    module = MODULE + (
        'variable "db" {\n  type    = object({ name = string, public = bool })\n'
        '  default = { name = "d", public = false }\n}\n'
        'resource "aws_db_instance" "db2" {\n  identifier          = var.db.name\n'
        "  storage_encrypted   = true\n  publicly_accessible = var.db.public\n}\n"
    )
    include = 'include "env" {\n  path = "${get_repo_root()}/_envcommon/db.hcl"\n%s}\n'
    own = 'terraform {\n  source = "../../modules//db"\n}\n'
    own += 'inputs = {\n  db = {\n    name = "x"\n  }\n}\n'
    _repo(
        tmp_path,
        {
            "modules/db/main.tf": module,
            "live/a/config.yaml": "public: false\n",
            "live/a/terragrunt.hcl": "locals {\n"
            '  cfg = yamldecode(file("${get_terragrunt_dir()}/config.yaml"))\n}\n'
            'terraform {\n  source = "../../modules//db"\n}\ninputs = local.cfg\n',
            "live/b/inputs.json": '{"public": false}\n',
            "live/b/terragrunt.hcl": 'terraform {\n  source = "../../modules//db"\n}\n'
            'inputs = jsondecode(file("${get_terragrunt_dir()}/inputs.json"))\n',
            "_envcommon/db.hcl": "inputs = {\n  db = {\n    public = false\n  }\n}\n",
            "live/c/terragrunt.hcl": include % '  merge_strategy = "deep"\n' + own,
            "live/d/terragrunt.hcl": include % '  merge_strategy = "no_merge"\n' + own,
        },
    )
    assert _findings(tmp_path, ".") == set()
    git_in(tmp_path, "checkout", "-q", "-b", "pr")
    (tmp_path / "live/a/config.yaml").write_text("public: true\n")
    (tmp_path / "live/b/inputs.json").write_text('{"public": true}\n')
    (tmp_path / "_envcommon/db.hcl").write_text("inputs = {\n  db = {\n    public = true\n  }\n}\n")
    git_in(tmp_path, "commit", "-qam", "public")
    assert _findings(tmp_path, "--base", "main") == {
        ("TF-AWS-RDS-PUBLIC", "live/a/config.yaml", 1),
        ("TF-AWS-RDS-PUBLIC", "live/b/inputs.json", 1),
        ("TF-AWS-RDS-PUBLIC", "_envcommon/db.hcl", 3),
    }
    # a developer's hook on the decoded file alone judges it too (s18 trust11 w03 hookyaml)
    for name in ("live/a/config.yaml", "live/b/inputs.json"):
        assert ("TF-AWS-RDS-PUBLIC", name, 1) in _findings(tmp_path, "--hook", name)


def test_a_hook_on_a_values_file_decoded_by_a_configuration_elsewhere(tmp_path: Path) -> None:
    """`vars/common.yaml` decoded by `live/prod/terragrunt.hcl` (`file("../../vars/
    common.yaml")`) and `env/vars.json` by `env/prod/eu/terragrunt.hcl`, with no terragrunt
    configuration or root.hcl above either file: the hook on the file alone passed green while
    the pull request scan caught it (red team s19 trust12 t04)."""
    _repo(
        tmp_path,
        {
            "modules/db/main.tf": MODULE,
            "vars/common.yaml": "public: false\n",
            "live/prod/terragrunt.hcl": 'terraform {\n  source = "../../modules//db"\n}\n'
            'inputs = yamldecode(file("../../vars/common.yaml"))\n',
            "env/vars.json": '{"public": false}\n',
            "env/prod/eu/terragrunt.hcl": 'terraform {\n  source = "../../../modules//db"\n}\n'
            'locals {\n  v = jsondecode(file("../../vars.json"))\n}\n'
            "inputs = {\n  public = local.v.public\n}\n",
        },
    )
    (tmp_path / "vars/common.yaml").write_text("public: true\n")
    (tmp_path / "env/vars.json").write_text('{"public": true}\n')
    assert ("TF-AWS-RDS-PUBLIC", "vars/common.yaml", 1) in _findings(
        tmp_path, "--hook", "vars/common.yaml"
    )
    assert {f[0] for f in _findings(tmp_path, "--hook", "env/vars.json")} == {"TF-AWS-RDS-PUBLIC"}


def test_a_hook_on_decoded_values_that_start_like_a_kubernetes_object(tmp_path: Path) -> None:
    """Values a terragrunt configuration decodes that start with `apiVersion`/`kind` (no
    `metadata`: no object the API server takes) were read as a manifest's hook, and nothing
    looked for a configuration decoding them: green while the pull request scan caught it
    (red team s20 trust13 s03)."""
    _repo(
        tmp_path,
        {
            "modules/db/main.tf": MODULE,
            "vars/common.yaml": "apiVersion: acme.io/v1\nkind: DatabaseSettings\npublic: false\n",
            "vars/common.json": '{"apiVersion": "acme.io/v1", "kind": "Db", "public": false}\n',
            "live/prod/terragrunt.hcl": 'terraform {\n  source = "../../modules//db"\n}\n'
            'inputs = yamldecode(file("../../vars/common.yaml"))\n',
            "live/dev/terragrunt.hcl": 'terraform {\n  source = "../../modules//db"\n}\n'
            'inputs = jsondecode(file("../../vars/common.json"))\n',
        },
    )
    (tmp_path / "vars/common.yaml").write_text(
        "apiVersion: acme.io/v1\nkind: DatabaseSettings\npublic: true\n"
    )
    (tmp_path / "vars/common.json").write_text(
        '{"apiVersion": "acme.io/v1", "kind": "Db", "public": true}\n'
    )
    assert ("TF-AWS-RDS-PUBLIC", "vars/common.yaml", 3) in _findings(
        tmp_path, "--hook", "vars/common.yaml"
    )
    assert ("TF-AWS-RDS-PUBLIC", "vars/common.json", 1) in _findings(
        tmp_path, "--hook", "vars/common.json"
    )


def test_ci_reading_another_configuration_file_and_cli_args_in_env_vars(tmp_path: Path) -> None:
    """`terragrunt apply --terragrunt-config prod.hcl` (`--config`, TERRAGRUNT_CONFIG,
    TG_CONFIG) reads a configuration gatekeeper does not read as one: blocking at the
    command (naming terragrunt.hcl is no note). `extra_arguments` `env_vars` of
    `TF_CLI_ARGS_apply = "-var=public=true"` gives the module that value (red team s18 v06)."""
    workflow = (
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: terragrunt apply --terragrunt-config prod.hcl\n"
        "      - run: terragrunt apply --config=live/terragrunt.hcl\n"
        "      - run: terragrunt apply\n        env:\n          TG_CONFIG: x.hcl\n"
    )
    live = (
        'terraform {\n  source = "../../modules//db"\n  extra_arguments "x" {\n'
        '    commands = ["apply"]\n    env_vars = {\n'
        '      TF_CLI_ARGS_apply = "-lock=false -var=public=true"\n    }\n  }\n}\n'
    )
    _repo(
        tmp_path,
        {
            ".github/workflows/deploy.yml": workflow,
            "modules/db/main.tf": MODULE,
            "live/prod/terragrunt.hcl": live,
        },
    )
    assert _findings(tmp_path, ".") == {
        ("GK-LOCAL-NOT-EXPANDED", ".github/workflows/deploy.yml", 6),
        ("GK-LOCAL-NOT-EXPANDED", ".github/workflows/deploy.yml", 8),
        ("TF-AWS-RDS-PUBLIC", "live/prod/terragrunt.hcl", 6),
    }
