"""The Markdown table of a policy pack, generated from its policy files.

`gatekeeper docs DIR` writes it into DIR/README.md between two marker lines (added at the end
when missing), so the prose around it stays hand-written; `--check` fails when the committed
table differs from what the policies say, the way `gatekeeper lock` keeps the lock honest.
"""

from __future__ import annotations

import json
from typing import Any

from gatekeeper.finding import SEVERITIES
from gatekeeper.policy.model import Policy

BEGIN = "<!-- BEGIN GENERATED: gatekeeper docs -->"
END = "<!-- END GENERATED: gatekeeper docs -->"


def table(policies: list[Policy]) -> str:
    """Id, severity, title, parameters with their defaults, references: one row a policy,
    most severe first."""
    rows = [
        "| Id | Severity | Title | Parameters (default) | References |",
        "| --- | --- | --- | --- | --- |",
    ]
    ordered = sorted(policies, key=lambda p: (SEVERITIES.index(p.severity), p.id))
    for policy in ordered:
        params = "<br>".join(
            f"`{name}`: `{_value(value)}`" for name, value in sorted(policy.params.items())
        )
        references = "<br>".join(_reference(reference) for reference in policy.references)
        cells = [f"`{policy.id}`", policy.severity, policy.title, params or "—", references or "—"]
        rows.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(rows) + "\n"


def _value(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


def _reference(reference: str) -> str:
    return f"<{reference}>" if reference.startswith(("http://", "https://")) else reference


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def with_table(readme: str, generated: str) -> str:
    """`readme` with its generated block replaced by `generated` (appended when absent)."""
    block = f"{BEGIN}\n{generated}{END}\n"
    start, end = readme.find(BEGIN), readme.find(END)
    if start >= 0 and end > start:
        return readme[:start] + block + readme[end + len(END) :].lstrip("\n")
    separator = (
        "" if not readme or readme.endswith("\n\n") else ("\n" if readme.endswith("\n") else "\n\n")
    )
    return f"{readme}{separator}## Policies\n\n{block}"
