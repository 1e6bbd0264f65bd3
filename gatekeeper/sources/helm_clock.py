"""Chart branches decided by the clock, by chance or by the Helm version, which no one
offline rendering judges.

`{{ if gt (now | date "2006" | atoi) 2026 }}privileged: true{{ end }}` renders compliant
today and privileged on the first re-render of the new year (Argo CD refreshes, Flux
reconciles), with no commit to review; a branch on `randInt` is taken one time in N. What a
chart renders is judged as it renders now, so such a condition is said where it is written;
so is one on `.Capabilities.HelmVersion` (rendered here with Helm 4, by Argo CD with Helm 3).
"""

from __future__ import annotations

import re

from gatekeeper.document import Problem

# An action that reads the clock or a random value and decides something with it: a
# condition (`if`, `with`) or a comparison, logic or `ternary` over it (`privileged: {{ gt
# (now | date "2006" | atoi) 2026 }}`). A timestamp annotation or a generated password
# (`{{ randAlphaNum 16 | b64enc }}`) decides nothing.
_ACTION = re.compile(rb"\{\{.*?\}\}", re.DOTALL)
_COMMENT = re.compile(rb"\{\{-?\s*/\*")
_CHANCE = re.compile(
    rb"(?<![\w.$-])(now|randInt|randNumeric|randAlpha|randAlphaNum|randAscii|randBytes|uuidv4)"
    rb"(?![\w-])|(\.Capabilities\.HelmVersion)\b"
)
_DECIDES = re.compile(
    rb"(?<![\w.$-])(?:if|with|gt|lt|ge|le|eq|ne|and|or|not|ternary|semverCompare)(?![\w-])"
)


def problems(files: list[tuple[str, bytes]], chart_dir: str) -> list[Problem]:
    """One finding per template action deciding on the clock or chance, at its line."""
    out = []
    for name, content in files:
        if not (name.startswith("templates/") or "/templates/" in name):
            continue
        if not any(word in content for word in (b"now", b"rand", b"uuidv4", b"HelmVersion")):
            continue
        for action in _ACTION.finditer(content):
            text = action.group()
            if _COMMENT.match(text):
                continue
            chance = _CHANCE.search(text)
            if chance is None or _DECIDES.search(text) is None:
                continue
            line = content.count(b"\n", 0, action.start()) + 1
            if chance.group(2):  # Argo CD bundles Helm 3; this renders with Helm 4's library
                message = (
                    "`.Capabilities.HelmVersion` decides what this template renders: it is"
                    " judged as Helm 4 renders it, a deployer with another Helm may render"
                    " something else"
                )
            else:
                message = (
                    f"`{chance.group(1).decode()}` decides what this template renders: it is"
                    " judged as it renders now, and may deploy something else on a later"
                    " render with no change to review"
                )
            file = f"{chart_dir}/{name}" if chart_dir else name
            out.append(Problem("GK-HELM-CLOCK", file, line, message))
    return out
