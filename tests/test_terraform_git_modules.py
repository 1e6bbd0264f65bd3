"""Module calls through a git source naming this repository are judged at their ref (red team
r29); other remote sources are said not judged. Real git repositories (GitPython)."""

from __future__ import annotations

from pathlib import Path

import git
import pytest

import gatekeeper
from gatekeeper.sources.terraform_git_modules import GitSource, git_source

MODULE = """\
variable "public" {
  type    = bool
  default = false
}
resource "aws_db_instance" "this" {
  identifier          = "orders"
  engine              = "postgres"
  instance_class      = "db.t3.micro"
  publicly_accessible = var.public
  storage_encrypted   = true
}
"""
# The module as HEAD has it: no longer takes the input (the tag still does).
MODULE_NOW = MODULE.replace("var.public", "false")
CALL = """\
module "db" {
  source = "git::https://github.com/acme/platform.git//modules/db?ref=%s"
  public = true
}
"""


def repository(root: Path, ref: str, remote: str = "https://github.com/acme/platform") -> None:
    repo = git.Repo.init(root, initial_branch="main")
    with repo.config_writer() as config:
        config.set_value("user", "name", "t").set_value("user", "email", "t@example.com")
        config.set_value("commit", "gpgsign", "false")
    repo.create_remote("origin", remote)
    (root / "modules/db").mkdir(parents=True)
    (root / "modules/db/main.tf").write_text(MODULE)
    repo.index.add(["modules/db/main.tf"])
    repo.index.commit("module")
    repo.create_tag("v1.0.0")
    (root / "modules/db/main.tf").write_text(MODULE_NOW)
    (root / "live").mkdir()
    (root / "live/db.tf").write_text(CALL % ref)
    repo.index.add(["modules/db/main.tf", "live/db.tf"])
    repo.index.commit("call")


def findings(root: Path) -> set[tuple[str, str, int]]:
    report = gatekeeper.scan(root, root=root, jobs=1)
    watched = ("TF-AWS-RDS-PUBLIC", "GK-REVISION-UNSEEN", "GK-NOT-EXPANDED")
    return {
        (f.policy_id, f.file, f.line) for f in report.verdict.findings if f.policy_id in watched
    }


def test_red_team_r29_a_module_of_this_repository_at_a_tag_is_judged_there(
    tmp_path: Path,
) -> None:
    """The tag's module takes `public`; HEAD's does not: the call deploys the tag's, and its
    `public = true` is found at the argument."""
    repository(tmp_path, "v1.0.0")
    assert findings(tmp_path) == {("TF-AWS-RDS-PUBLIC", "live/db.tf", 3)}


def test_a_ref_this_checkout_lacks_is_said_not_judged(tmp_path: Path) -> None:
    repository(tmp_path, "v9.9.9")
    assert findings(tmp_path) == {("GK-REVISION-UNSEEN", "live/db.tf", 2)}


def test_another_repository_is_said_not_judged(tmp_path: Path) -> None:
    repository(tmp_path, "v1.0.0", remote="https://github.com/acme/other")
    assert findings(tmp_path) == {("GK-NOT-EXPANDED", "live/db.tf", 2)}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "git::https://github.com/acme/x.git//modules/db?ref=v1",
            GitSource("https://github.com/acme/x.git", "modules/db", "v1"),
        ),
        ("github.com/acme/x//m?ref=main", GitSource("https://github.com/acme/x", "m", "main")),
        ("git@github.com:acme/x.git", GitSource("git@github.com:acme/x.git", "", "")),
        (
            "git::ssh://git@github.com/acme/x.git?ref=v2&depth=1",
            GitSource("ssh://git@github.com/acme/x.git", "", "v2"),
        ),
        ("terraform-aws-modules/rds/aws", None),
        ("s3::https://s3.amazonaws.com/b/m.zip", None),
        ("https://example.com/m.zip", None),
    ],
)
def test_git_sources_are_read_as_go_getter_reads_them(
    source: str, expected: GitSource | None
) -> None:
    assert git_source(source) == expected
