"""A pre-commit hook on one file judges what deploys it: a Terraform module's file brings the
roots that call the module (their values are what is deployed), as a kustomize base brings
its overlays."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli

MODULE = """\
variable "acl" { default = "private" }
resource "aws_s3_bucket" "b" {
  bucket = "x"
  acl    = var.acl
}
"""

CALL = 'module "b" {\n  source = "../modules/bucket"\n  ACL\n}\n'


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def _hook(root: Path, file: str) -> set[tuple[str, str]]:
    run = run_cli("scan", "--hook", "--format", "json", file, cwd=root)
    assert run.returncode in (0, 1), run.stderr
    return {(f["policy_id"], f["file"]) for f in json.loads(run.stdout)["findings"]}


def test_a_hook_on_a_module_judges_the_roots_that_call_it(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "modules/bucket/main.tf": MODULE,
            "prod/main.tf": CALL.replace("ACL", 'acl = "public-read"'),
            "dev/main.tf": CALL.replace("ACL", ""),
        },
    )
    found = _hook(tmp_path, "modules/bucket/main.tf")
    # prod passes public-read: the module's bucket is public where it is deployed
    assert ("TF-AWS-S3-PUBLIC-ACL", "prod/main.tf") in found
    assert ("TF-AWS-S3-ENCRYPTION", "modules/bucket/main.tf") in found
    assert found == _hook(tmp_path, ".")  # what a scan of the whole tree says


def test_a_hook_on_a_nested_module_reaches_the_root(tmp_path: Path) -> None:
    """root -> mid -> leaf: the root's value reaches the leaf through the middle module."""
    _write(
        tmp_path,
        {
            "leaf/main.tf": MODULE,
            "mid/main.tf": (
                'variable "acl" {}\nmodule "leaf" {\n  source = "../leaf"\n  acl = var.acl\n}\n'
            ),
            "live/main.tf": 'module "mid" {\n  source = "../mid"\n  acl = "public-read-write"\n}\n',
        },
    )
    found = _hook(tmp_path, "leaf/main.tf")
    assert "TF-AWS-S3-PUBLIC-ACL" in {policy for policy, _ in found}
    assert found == _hook(tmp_path, ".")


def test_a_hook_on_an_uncalled_root_judges_only_it(tmp_path: Path) -> None:
    _write(tmp_path, {"a/main.tf": MODULE, "b/main.tf": MODULE.replace('"x"', '"y"')})
    assert {file for _, file in _hook(tmp_path, "a/main.tf")} == {"a/main.tf"}
