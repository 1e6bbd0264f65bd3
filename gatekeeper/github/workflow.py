"""What a workflow step can always do, even with a read-only token: outputs, the job summary,
and annotations through workflow commands on stdout."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterable, Mapping
from typing import TextIO

from gatekeeper.finding import Finding
from gatekeeper.github import escape


def annotation_level(finding: Finding) -> str:
    """Check run levels (`failure`/`warning`/`notice`); workflow commands call them error/...."""
    if finding.blocking:
        return "failure"
    return "warning" if finding.status == "new" else "notice"


def annotated(findings: Iterable[Finding]) -> list[Finding]:
    """What gets an annotation: findings present in the head (not fixed, not waived)."""
    return [f for f in findings if f.status in ("new", "existing")]


def command(finding: Finding) -> str:
    name = {"failure": "error", "warning": "warning", "notice": "notice"}[annotation_level(finding)]
    props = [f"file={escape.command_property(finding.file)}", f"line={max(1, finding.line)}"]
    if finding.end_line and finding.end_line >= finding.line:
        props.append(f"endLine={finding.end_line}")
    props.append(f"title={escape.command_property(f'{finding.policy_id} ({finding.severity})')}")
    # Never an empty annotation (a policy message may render empty).
    message = finding.message if finding.message.strip() else finding.title or finding.policy_id
    return f"::{name} {','.join(props)}::{escape.command_data(message)}"


def print_annotations(findings: Iterable[Finding], out: TextIO | None = None) -> None:
    stream = out or sys.stdout
    for finding in annotated(findings):
        stream.write(command(finding) + "\n")
    stream.flush()


def warn(message: str, out: TextIO | None = None) -> None:
    stream = out or sys.stdout
    stream.write(f"::warning title=gatekeeper::{escape.command_data(message)}\n")
    stream.flush()


def append(path: str, text: str) -> bool:
    if not path:
        return False
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text)
    except OSError:
        return False
    return True


def set_outputs(path: str, values: Mapping[str, object]) -> bool:
    """`name<<DELIM` blocks: safe whatever the value holds."""
    lines = []
    for name, value in values.items():
        delimiter = f"gatekeeper_{uuid.uuid4().hex}"
        lines += [f"{name}<<{delimiter}", str(value), delimiter]
    return append(path, "\n".join(lines) + "\n")
