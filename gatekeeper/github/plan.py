"""Decide what goes where: inline review comments, the summary, the check run, the exit code.

The input is anything shaped like `gatekeeper.change.ChangeResult` (see `ChangeLike`), so this
layer does not depend on how the change was scanned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from gatekeeper.decide import Verdict
from gatekeeper.finding import Finding, at_least, severity_rank

COMMENT_MODES = ("summary", "inline", "both", "none")
FAIL_ON = ("new", "all", "none")
STATUSES = ("new", "existing", "fixed", "waived")


class ChangeLike(Protocol):
    """The part of `gatekeeper.change.ChangeResult` the GitHub layer reads."""

    @property
    def verdict(self) -> Verdict: ...
    @property
    def changed_lines(self) -> dict[str, set[int]]: ...
    @property
    def expiring_waivers(self) -> Sequence[Any]: ...
    @property
    def head_sha(self) -> str: ...
    @property
    def notices(self) -> Sequence[str]: ...


@dataclass(frozen=True)
class Options:
    comment_mode: str = "both"
    fail_on: str = "new"
    max_inline: int = 25
    check_name: str = "gatekeeper"


@dataclass
class Plan:
    verdict: Verdict
    failed: bool
    counts: dict[str, int]
    inline: list[Finding]  # new findings on changed lines, not commented before, within the cap
    folded: list[Finding] = field(default_factory=list)  # new findings that get no inline comment
    already_commented: list[Finding] = field(default_factory=list)
    expiring: list[dict[str, Any]] = field(default_factory=list)
    head_sha: str = ""

    def by_status(self, status: str) -> list[Finding]:
        return [f for f in self.verdict.findings if f.status == status]


def fails(verdict: Verdict, fail_on: str) -> bool:
    """`new`: the verdict's blocking findings; `all`: existing ones at the threshold too."""
    if fail_on == "none":
        return False
    if fail_on == "all":
        return bool(verdict.blocking) or any(
            f.status in ("new", "existing") and at_least(f.severity, verdict.threshold)
            for f in verdict.findings
        )
    return bool(verdict.blocking)


def counts(verdict: Verdict) -> dict[str, int]:
    out = {status: 0 for status in STATUSES}
    for finding in verdict.findings:
        if finding.status in out:
            out[finding.status] += 1
    out["blocking"] = len(verdict.blocking)
    return out


def priority(finding: Finding) -> tuple[int, int, str, int]:
    """Blocking first, then by severity, then by place: who gets the capped inline slots."""
    return (
        0 if finding.blocking else 1,
        -severity_rank(finding.severity),
        finding.file,
        finding.line,
    )


def make_plan(
    change: ChangeLike,
    options: Options,
    already: Iterable[str] = (),
) -> Plan:
    """`already`: fingerprints an earlier run commented on inline (never repeated)."""
    verdict = change.verdict
    seen = set(already)
    inline: list[Finding] = []
    folded: list[Finding] = []
    repeated: list[Finding] = []
    wants_inline = options.comment_mode in ("inline", "both")
    for finding in sorted((f for f in verdict.findings if f.status == "new"), key=priority):
        on_diff = finding.line in change.changed_lines.get(finding.file, ())
        if not wants_inline or not on_diff:
            folded.append(finding)
        elif finding.fingerprint in seen:
            repeated.append(finding)
        elif len(inline) >= options.max_inline:
            folded.append(finding)
        else:
            seen.add(finding.fingerprint)
            inline.append(finding)
    return Plan(
        verdict=verdict,
        failed=fails(verdict, options.fail_on),
        counts=counts(verdict),
        inline=inline,
        folded=folded,
        already_commented=repeated,
        expiring=[waiver_dict(waiver) for waiver in change.expiring_waivers],
        head_sha=change.head_sha,
    )


def waiver_dict(waiver: Any) -> dict[str, Any]:
    """A waiver as a dict, whether it came as a dataclass with `to_dict` or as a mapping."""
    to_dict: Callable[[], dict[str, Any]] | None = getattr(waiver, "to_dict", None)
    raw = to_dict() if to_dict is not None else dict(waiver)
    return {
        key: raw.get(key, "") for key in ("policy", "owner", "reason", "ticket", "expires", "file")
    }
