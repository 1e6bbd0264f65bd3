"""Heredocs with interpolations are evaluated; template directives are said, not passed
(red team r06: `"%{ if true }true%{ endif }"` and a heredoc's `${"true"}` were unknowns that
passed every rule)."""

from __future__ import annotations

from pathlib import Path

import gatekeeper

DATABASE = """\
resource "aws_db_instance" "db" {
  engine              = "postgres"
  storage_encrypted   = true
  publicly_accessible = %s
}
"""


def found(root: Path, text: str) -> list[tuple[str, int]]:
    (root / "main.tf").write_text(text)
    report = gatekeeper.scan(root, root=root, jobs=1)
    watched = ("TF-AWS-RDS-PUBLIC", "GK-TF-UNEVALUATED")
    return sorted((f.policy_id, f.line) for f in report.verdict.findings if f.policy_id in watched)


def test_a_heredocs_interpolations_are_evaluated(tmp_path: Path) -> None:
    heredoc = 'trimspace(<<-EOT\n    ${"true"}\n  EOT\n  )'
    assert found(tmp_path, DATABASE % heredoc) == [("TF-AWS-RDS-PUBLIC", 4)]


def test_a_template_directive_is_evaluated_where_it_decides_a_value(tmp_path: Path) -> None:
    """`"%{ if true }true%{ endif }"` is the text "true": judged, as the red team's was not."""
    text = DATABASE % '"%{ if true }true%{ endif }"' + (
        'output "note" {\n  value = "%{ for x in [1] }${x}%{ endfor }"\n}\n'
        'variable "v" {\n  description = "%{ if true }text%{ endif }"\n}\n'
    )
    assert found(tmp_path, text) == [("TF-AWS-RDS-PUBLIC", 4)]


def test_a_template_directive_is_judged_whatever_decides_it(tmp_path: Path) -> None:
    """A directive deciding on a variable, on what only apply time knows (judged as a
    conditional is: both ways), over a list; a heredoc of directives (helm values, a
    cloud-init script) is computed, not a blocking GK-TF-UNEVALUATED (kube-hetzner: nine)."""
    text = (
        'variable "public" {\n  default = true\n}\n'
        + (DATABASE % '"%{ if var.public }true%{ else }false%{ endif }"')
        + (DATABASE % '"%{ if aws_vpc.v.id != "" }true%{ else }false%{ endif }"').replace(
            '"db"', '"db2"'
        )
        + (DATABASE % '"%{ for x in [1] }${var.public}%{ endfor }"').replace('"db"', '"db3"')
        + 'locals {\n  values = <<EOT\nreplicas: 2\n%{ if var.public ~}\nservice:\n'
        "  type: LoadBalancer\n%{ endif ~}\nEOT\n}\n"
        + (DATABASE % '"%{ if !var.public }true%{ else }false%{ endif }"').replace(
            '"db"', '"db4"'
        )
    )
    assert found(tmp_path, text) == [
        ("TF-AWS-RDS-PUBLIC", 2),
        ("TF-AWS-RDS-PUBLIC", 7),
        ("TF-AWS-RDS-PUBLIC", 12),
    ]
