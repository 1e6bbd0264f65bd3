"""Release notes of a policy bundle: what changed between two revisions of its policies.

`gatekeeper changelog` prints them for two revisions of a policy repository, and
`gatekeeper lock` for each git policy source whose pin moves, so a consumer reads what the
version it moves to changes before it judges its pull requests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from gatekeeper.policy.model import Match, Policy


@dataclass
class PolicyChanges:
    """What changed in a policy bundle between two revisions: release notes."""

    added: list[Policy] = field(default_factory=list)
    removed: list[Policy] = field(default_factory=list)
    changed: list[tuple[Policy, list[str]]] = field(default_factory=list)  # (head, what)

    def render(self, level: int = 2) -> str:
        """Markdown; `level`: the headings' level (3 under a heading of its own)."""
        heading = "#" * level
        lines = []
        for title, policies in (("Added", self.added), ("Removed", self.removed)):
            if policies:
                lines.append(f"{heading} {title}\n")
                lines.extend(f"- `{p.id}` ({p.severity}): {p.title}" for p in policies)
                lines.append("")
        if self.changed:
            lines.append(f"{heading} Changed\n")
            lines.extend(f"- `{p.id}`: {'; '.join(what)}" for p, what in self.changed)
            lines.append("")
        return "\n".join(lines) if lines else "No policy changes.\n"


def policy_changes(base: Sequence[Policy], head: Sequence[Policy]) -> PolicyChanges:
    before = {p.id: p for p in base}
    after = {p.id: p for p in head}
    changes = PolicyChanges(
        added=[after[i] for i in sorted(after.keys() - before.keys())],
        removed=[before[i] for i in sorted(before.keys() - after.keys())],
    )
    for policy_id in sorted(before.keys() & after.keys()):
        old, new = before[policy_id], after[policy_id]
        what = []
        if old.severity != new.severity:
            what.append(f"severity {old.severity} -> {new.severity}")
        if old.params != new.params:
            keys = sorted(
                k for k in {*old.params, *new.params} if old.params.get(k) != new.params.get(k)
            )
            what.append(f"parameters {', '.join(keys)}")
        if old.rule.source != new.rule.source or old.each != new.each:
            what.append("rule")
        if _match_key(old.match) != _match_key(new.match):
            what.append("what it matches")
        if what:
            changes.changed.append((new, what))
    return changes


def _match_key(match: Match) -> tuple[object, ...]:
    """What a policy matches, comparable across loads (a compiled condition is compared by
    its source, not by identity)."""
    condition = match.condition.source if match.condition else None
    return (match.source, match.kinds, match.namespaces, match.exclude_namespaces, condition)
