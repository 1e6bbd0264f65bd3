"""Terraform computes in Go (RE2, cty, Go's strings and JSON): what gatekeeper computes
must agree, or not be computed (red team r01: each expression below was `false` here and
`true` in Terraform, and a critical public database passed)."""

from __future__ import annotations

from pathlib import Path

import pytest

import gatekeeper

AGREED = [
    r'length(regexall("^on$", "on\n")) == 0',  # RE2 `$`: the end of the text only
    r'replace("on\n", "/^on$/", "") == "on\n"',
    r'trimspace("\u001f") != ""',  # Go's spaces: not the file separators
    'title("a_b") == "A_b"',  # Go strings.Title: `_` joins a word
    "tolist(toset([10, 9]))[0] == 9",  # number sets in numeric order
    'length(toset([1, "1"])) == 1',  # unified to strings
    r'jsonencode("<") != "\"<\""',  # Go escapes <, >, &
    'try(parseint("0x10", 16) != 16, true)',  # no base prefix in Go
    'tostring(1.5e3) == "1500"',  # an exponent literal is a number
]
UNICODE = [
    r'length(regexall("^\\d$", "\u0663")) == 0',
    r'length("e\u0301") == 1',  # grapheme clusters
    r'upper("\u00df") != "SS"',
    r'lower("\u0130") == "i"',
    r'try(tonumber("\u0663") != 3, true)',
]


def policies(root: Path, expression: str) -> set[str]:
    (root / "main.tf").write_text(
        'resource "aws_db_instance" "db" {\n  engine = "postgres"\n  storage_encrypted = true\n'
        f"  publicly_accessible = {expression}\n}}\n"
    )
    report = gatekeeper.scan(root, root=root, jobs=1)
    return {f.policy_id for f in report.verdict.findings if f.blocking}


@pytest.mark.parametrize("expression", AGREED)
def test_computed_as_terraform_computes_it(tmp_path: Path, expression: str) -> None:
    assert "TF-AWS-RDS-PUBLIC" in policies(tmp_path, expression)


@pytest.mark.parametrize("expression", UNICODE)
def test_unicode_rules_we_do_not_copy_are_said(tmp_path: Path, expression: str) -> None:
    assert "GK-TF-UNEVALUATED" in policies(tmp_path, expression)
