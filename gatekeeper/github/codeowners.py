"""CODEOWNERS as GitHub reads it: who owns a path, and on which line that is said.

GitHub takes the first of `.github/CODEOWNERS`, `CODEOWNERS`, `docs/CODEOWNERS`; the last
matching line wins; a line with a pattern and no owners leaves the path without owners.
Patterns follow gitignore's rules except that `!` negation and `[...]` ranges are not
supported, and `dir/*` matches only the files directly in `dir`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")


@dataclass(frozen=True)
class Rule:
    pattern: str
    owners: tuple[str, ...]  # "@user", "@org/team" or an e-mail address
    line: int
    regex: re.Pattern[str]


@dataclass(frozen=True)
class CodeOwners:
    file: str  # "" when the revision has no CODEOWNERS file
    rules: tuple[Rule, ...] = ()

    def rule_for(self, path: str) -> Rule | None:
        """The rule that decides `path`'s owners (the last one matching), if any."""
        for rule in reversed(self.rules):
            if rule.regex.match(path):
                return rule
        return None

    def owners_of(self, path: str) -> tuple[str, ...] | None:
        """None: nobody in particular owns `path` (no file, no rule, or a rule without owners)."""
        rule = self.rule_for(path)
        return rule.owners if rule is not None and rule.owners else None


def find(read: Callable[[str], bytes | None]) -> CodeOwners:
    """The CODEOWNERS file of a revision (`read(path)` gives a file's bytes or None)."""
    for location in LOCATIONS:
        data = read(location)
        if data is not None:
            return parse(location, data.decode("utf-8", "replace"))
    return CodeOwners("")


def parse(file: str, text: str) -> CodeOwners:
    rules = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = re.sub(r"(?<!\\)#.*", "", raw).strip()
        if not line:
            continue
        pattern, *owners = line.split()
        pattern = pattern.replace("\\#", "#")
        rules.append(Rule(pattern, tuple(owners), number, compile_pattern(pattern)))
    return CodeOwners(file, tuple(rules))


def compile_pattern(pattern: str) -> re.Pattern[str]:
    anchored = pattern.startswith("/") or "/" in pattern.rstrip("/")
    directory = pattern.endswith("/")
    core = pattern.strip("/")
    body = ""
    index = 0
    while index < len(core):
        if core.startswith("**/", index):
            body += "(?:.*/)?"
            index += 3
        elif core.startswith("**", index):
            body += ".*"
            index += 2
        elif core[index] == "*":
            body += "[^/]*"
            index += 1
        elif core[index] == "?":
            body += "[^/]"
            index += 1
        else:
            body += re.escape(core[index])
            index += 1
    prefix = "" if anchored else "(?:.*/)?"
    if directory:
        suffix = "/.*"
    elif core.endswith("/*"):
        suffix = ""  # `docs/*`: the files directly in docs/, not deeper
    else:
        suffix = "(?:/.*)?"  # the path itself, or anything under it as a directory
    return re.compile(f"^{prefix}{body}{suffix}$")
