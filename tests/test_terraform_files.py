"""What Terraform reads from the configuration's own files: `file()` and `templatefile()`.

Terraform reads them when it plans, and they are in the pull request beside the `.tf` files:
a public bucket policy moved into `policy.json` passed as an unknown value before.
"""

from __future__ import annotations

import os
from pathlib import Path

import gatekeeper

PUBLIC = '{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"}]}\n'
WATCHED = "TF-AWS-S3-POLICY-PUBLIC-PRINCIPAL"


def found(root: Path, files: dict[str, str]) -> list[tuple[str, int]]:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    report = gatekeeper.scan(root, root=root, jobs=1)
    return sorted((f.file, f.line) for f in report.verdict.findings if f.policy_id == WATCHED)


def bucket_policy(expression: str) -> str:
    return f'resource "aws_s3_bucket_policy" "p" {{\n  bucket = "b"\n  policy = {expression}\n}}\n'


def test_file_and_templatefile_in_a_root_are_read(tmp_path: Path) -> None:
    assert found(
        tmp_path,
        {
            "infra/main.tf": bucket_policy('file("${path.module}/policy.json")'),
            "infra/other.tf": bucket_policy('file("policies/p.json")').replace('"p"', '"q"'),
            "infra/tpl.tf": bucket_policy('templatefile("policy.tpl", { who = "*" })').replace(
                '"p"', '"t"'
            ),
            "infra/policy.json": PUBLIC,
            "infra/policies/p.json": PUBLIC,
            "infra/policy.tpl": PUBLIC.replace('"*"', '"${who}"'),
        },
    ) == [("infra/main.tf", 3), ("infra/other.tf", 3), ("infra/tpl.tf", 3)]


def test_a_private_policy_file_and_unreadable_paths_stay_quiet(tmp_path: Path) -> None:
    """Only repository files are read: a path out of the repository, a link out of it, a
    missing file and a directive template are unknown, and unknown passes."""
    outside = tmp_path / "outside.json"
    outside.write_text(PUBLIC)
    repo = tmp_path / "repo"
    (repo / "infra").mkdir(parents=True)
    os.symlink(outside, repo / "infra" / "link.json")
    files = {
        "infra/a.tf": bucket_policy('file("private.json")'),
        "infra/b.tf": bucket_policy('file("../../outside.json")').replace('"p"', '"b"'),
        "infra/c.tf": bucket_policy('file("link.json")').replace('"p"', '"c"'),
        "infra/d.tf": bucket_policy('file("missing.json")').replace('"p"', '"d"'),
        "infra/e.tf": bucket_policy('file("/etc/hostname")').replace('"p"', '"e"'),
        "infra/private.json": PUBLIC.replace('"*"', '{"AWS": "arn:aws:iam::1:root"}'),
    }
    assert found(repo, files) == []


def test_a_called_module_reads_below_its_own_folder(tmp_path: Path) -> None:
    """`${path.module}` in a module is the module's folder; a bare relative path there is
    relative to wherever terraform runs, which the module cannot know: not read."""
    assert found(
        tmp_path,
        {
            "main.tf": 'module "site" {\n  source = "./modules/site"\n}\n',
            "modules/site/main.tf": bucket_policy('file("${path.module}/policy.json")')
            + bucket_policy('file("policy.json")').replace('"p"', '"bare"'),
            "modules/site/policy.json": PUBLIC,
        },
    ) == [("modules/site/main.tf", 3)]


def test_a_pull_request_changing_only_the_policy_file_is_judged(tmp_path: Path) -> None:
    from gatekeeper.change import scan_change
    from tests.test_change import Repo

    repo = Repo(tmp_path / "repo")
    repo.write("main.tf", bucket_policy('file("${path.module}/policy.json")'))
    repo.write("policy.json", PUBLIC.replace('"*"', '{"AWS": "arn:aws:iam::1:root"}'))
    repo.commit("base")
    repo.branch("pr")
    repo.write("policy.json", PUBLIC)
    repo.commit("open the bucket")
    findings = scan_change(repo.root, "main").verdict.findings
    new = [(f.file, f.line, f.policy_id) for f in findings if f.status == "new"]
    assert new == [("main.tf", 3, WATCHED)]


def test_a_pull_request_adding_only_a_file_fileset_lists_is_judged(tmp_path: Path) -> None:
    """The resource applying `fileset(path.module, "policies/*.json")` is judged again when
    a pull request only adds a file there (its for_each gains an instance)."""
    from gatekeeper.change import scan_change
    from tests.test_change import Repo

    repo = Repo(tmp_path / "repo")
    each = 'resource "aws_s3_bucket_policy" "each" {\n'
    each += '  for_each = fileset("${path.module}/policies", "*.json")\n'
    each += '  bucket   = "b"\n  policy   = file("${path.module}/policies/${each.value}")\n}\n'
    repo.write("infra/main.tf", each)
    private = PUBLIC.replace('"*"', '{"AWS": "arn:aws:iam::1:root"}')
    repo.write("infra/policies/private.json", private)
    repo.commit("base")
    repo.branch("pr")
    repo.write("infra/policies/public.json", PUBLIC)
    repo.commit("a public bucket")
    findings = scan_change(repo.root, "main").verdict.findings
    new = [(f.file, f.line, f.policy_id) for f in findings if f.status == "new"]
    assert new == [("infra/main.tf", 4, WATCHED)]


def test_a_pull_request_adding_only_a_file_kubectl_path_documents_globs_is_judged(
    tmp_path: Path,
) -> None:
    """The kubectl_manifest applying a kubectl_path_documents pattern's files is judged again
    when a pull request only adds a file the pattern matches (rendered with its vars)."""
    from gatekeeper.change import scan_change
    from tests.test_change import Repo

    main = """\
data "kubectl_path_documents" "apps" {
  pattern = "${path.module}/manifests/*.yaml"
  vars = {
    privileged = true
  }
}

resource "kubectl_manifest" "apps" {
  for_each  = data.kubectl_path_documents.apps.manifests
  yaml_body = each.value
}
"""
    pod = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: app}\nspec:\n"
        "  containers:\n    - name: web\n      image: ghcr.io/acme/web:1.0\n"
        "      securityContext:\n        privileged: ${privileged}\n"
    )
    repo = Repo(tmp_path / "repo")
    repo.write("infra/main.tf", main)
    repo.commit("base")
    repo.branch("pr")
    repo.write("infra/manifests/web.yaml", pod)
    repo.commit("a privileged pod")
    new = [
        f.file
        for f in scan_change(repo.root, "main").verdict.findings
        if f.status == "new" and f.policy_id == "K8S-PSS-PRIVILEGED"
    ]
    assert new == ["infra/main.tf"]
