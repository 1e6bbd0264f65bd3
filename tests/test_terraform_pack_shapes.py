"""Every built-in Terraform policy reads plan JSON of any shape without an evaluation error.

A plan holds what HCL never does: empty block lists, nulls, whole blocks or items unknown until
apply. A rule that errs there blocks the merge with "could not be evaluated" on a plan that is
fine, so each policy is run over plans made of the attribute names its own rule reads, in each
of those shapes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

import gatekeeper
from tests.conftest import REPO

PACK = REPO / "policies" / "terraform"
# Names a rule reads as `.name` / `.?name` / `[?'name']`, less CEL's own words.
_READS = re.compile(r"\.\??([a-z_][a-z0-9_]*)\b|\[\?'([a-z_][a-z0-9_]*)'\]")
_CEL_WORDS = {
    "all",
    "exists",
    "exists_one",
    "map",
    "filter",
    "size",
    "orValue",
    "hasValue",
    "value",
    "contains",
    "startsWith",
    "endsWith",
    "matches",
    "lowerAscii",
    "upperAscii",
    "split",
    "join",
    "trim",
    "replace",
    "bind",
    "address",
    "context",
    "object",
    "item",
    "type",
}


def _policies() -> list[dict[str, Any]]:
    return [yaml.safe_load(path.read_text()) for path in sorted(PACK.rglob("*.yaml"))]


def _text(policy: dict[str, Any]) -> str:
    return " ".join(
        [str(policy.get(key, "")) for key in ("rule", "each", "field")]
        + [str(policy.get("match", {}).get("condition", ""))]
    )


def _reads(policy: dict[str, Any]) -> list[str]:
    names = {a or b for a, b in _READS.findall(_text(policy))} - _CEL_WORDS
    return sorted(name for name in names if not name[0].isupper())


def _blocks(policy: dict[str, Any]) -> list[str]:
    """The names a rule reads as nested blocks: indexed by position, or iterated by `each`."""
    text = _text(policy)
    return [name for name in _reads(policy) if re.search(rf"\b{name}\[(\?0|0|\*)\]", text)]


def _shapes(policy: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(after, after_unknown) pairs as plans hold them: attributes absent or unknown, blocks
    empty, empty of attributes, holding empty blocks, or with an item unknown until apply."""
    names, blocks = _reads(policy), _blocks(policy)
    return [
        ({}, {}),
        ({}, {name: True for name in names}),
        ({name: [] for name in blocks}, {}),
        ({name: [{}] for name in blocks}, {}),
        ({name: [{inner: [] for inner in blocks}] for name in blocks}, {}),
        ({name: [{}] for name in blocks}, {name: [True] for name in blocks}),
    ]


def _plan() -> dict[str, Any]:
    changes = []
    for policy in _policies():
        kinds = policy.get("match", {}).get("kinds", [])
        for kind in kinds:
            if kind in ("module", "terraform", "provider"):
                continue
            for number, (after, unknown) in enumerate(_shapes(policy)):
                changes.append(
                    {
                        "address": f"{kind}.shape{number}_{policy['id'].lower().replace('-', '_')}",
                        "type": kind,
                        "change": {"actions": ["create"], "after": after, "after_unknown": unknown},
                    }
                )
    return {"format_version": "1.2", "resource_changes": changes}


def test_no_terraform_policy_errs_on_a_plan_of_any_shape(tmp_path: Path) -> None:
    (tmp_path / "tfplan.json").write_text(json.dumps(_plan(), indent=1))
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    errors = sorted(
        {
            f"{finding.policy_id}: {finding.message}"
            for finding in report.verdict.findings
            if finding.extra.get("evaluation_error")
        }
    )
    assert report.documents > 1000
    assert errors == []


_SIZE_POLICY = """\
id: TEST-SIZE
title: Volumes are large
severity: high
description: Small volumes fill up.
remediation: Make it larger.
match:
  source: terraform
  kinds: [aws_ebs_volume]
rule: "object.?size.orValue(100) > 10"
field: size
tests:
  - name: large passes
    expect: pass
    input: |
      resource "aws_ebs_volume" "v" {
        size = 20
      }
  - name: small fails
    expect: fail
    input: |
      resource "aws_ebs_volume" "v" {
        size = 2
      }
"""


def _errors_on(tmp_path: Path, volume: str) -> list[str]:
    (tmp_path / "policies").mkdir(exist_ok=True)
    (tmp_path / "policies" / "size.yaml").write_text(_SIZE_POLICY)
    (tmp_path / "main.tf").write_text(volume)
    report = gatekeeper.scan(
        tmp_path / "main.tf", root=tmp_path, policies=[tmp_path / "policies"], builtin=False
    )
    return [finding.message for finding in report.verdict.findings]


def test_an_error_that_only_an_unknown_causes_passes(tmp_path: Path) -> None:
    volume = 'resource "aws_ebs_volume" "v" {\n  size = var.size\n}\n'
    assert _errors_on(tmp_path, volume) == []


def test_an_ill_typed_value_still_errs_beside_an_unknown(tmp_path: Path) -> None:
    volume = 'resource "aws_ebs_volume" "v" {\n  size = "big"\n  tags = var.tags\n}\n'
    [message] = _errors_on(tmp_path, volume)
    assert "could not be evaluated" in message
