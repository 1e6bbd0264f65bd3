"""A policy's structured fix as a one-line GitHub suggestion, or nothing when it is not exact.

`Finding.fix` is `{subject: path, set: {relative path: value}}`. We only suggest when the fix sets
exactly the field the finding points at and that field's line is a plain `key: scalar` line:
`privileged: true` -> `privileged: false`, indentation, list dash and comment preserved.
"""

from __future__ import annotations

import json
import re
from typing import Any

from gatekeeper import lazy_re
from gatekeeper.fieldpath import FieldPathError, parse
from gatekeeper.finding import Finding

_PLAIN = lazy_re.compile(r"^[A-Za-z_/][A-Za-z0-9_./-]*$")
_YAML_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"})


def suggestion(finding: Finding, line_text: str) -> str | None:
    """The replacement for `line_text` (the finding's line, without newline), or None."""
    fix = finding.fix
    if not fix or not finding.extra.get("exact", True):
        return None
    changes = fix.get("set")
    if not isinstance(changes, dict) or len(changes) != 1:
        return None
    ((relative, value),) = changes.items()
    try:
        subject = parse(str(fix.get("subject", ""))) if fix.get("subject") else ()
        target = (*subject, *parse(str(relative)))
        pointed = parse(finding.path)
    except FieldPathError:
        return None
    if target != pointed or not target or not isinstance(target[-1], str):
        return None
    rendered = yaml_scalar(value)
    if rendered is None:
        return None
    key = re.escape(target[-1])
    match = re.match(
        rf"^(?P<lead>\s*(?:-\s+)?)(?P<key>{key}|\"{key}\"|'{key}')(?P<sep>\s*:\s+)"
        rf"(?P<value>[^\s#{{\[&*!|>'\"][^#]*?|\"[^\"]*\"|'[^']*')(?P<tail>\s+#.*)?$",
        line_text,
    )
    if match is None:
        return None
    replaced = f"{match['lead']}{match['key']}{match['sep']}{rendered}{match['tail'] or ''}"
    return None if replaced == line_text else replaced


def yaml_scalar(value: Any) -> str | None:
    """A YAML scalar that reads back as `value`; None for what a one-line edit cannot hold."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        if _PLAIN.match(value) and value.lower() not in _YAML_WORDS:
            return value
        return json.dumps(value)  # a double-quoted YAML string
    return None
