"""The action's inputs may only make the base revision's configuration stricter.

On `pull_request`, GitHub runs the pull request's own copy of the workflow, so every input
(`fail-on`, `severity-threshold`, ...) is written by the change being judged. The base
revision's `.gatekeeper.yml` sets the floor (top-level `severityThreshold`, `builtin`, and the
`gate:` section); an input that would loosen it is ignored, and reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from gatekeeper.config import Config
from gatekeeper.finding import severity_rank

# Weakest first: a later value never lets more through.
FAIL_ON_ORDER = ("none", "new", "all")
FILTER_ORDER = ("added", "diff_context", "file", "all")
# Only `none` hides findings from the pull request: `inline` folds the rest into the summary.
COMMENT_VISIBILITY = {"none": 0, "summary": 1, "inline": 1, "both": 1}


@dataclass(frozen=True)
class Settings:
    """What a run uses: the inputs, once anything looser than the base configuration is undone."""

    fail_on: str = "new"
    comment_mode: str = "both"
    filter_mode: str = "added"
    severity_threshold: str | None = None  # None: the configuration's
    builtin: bool = True
    policies: tuple[str, ...] = ()
    check_name: str = "gatekeeper"
    base: str | None = None
    head: str | None = None


DEFAULTS = Settings()


@dataclass(frozen=True)
class Ignored:
    """One input that was not honoured."""

    name: str  # the action input, e.g. "fail-on"
    asked: str
    used: str
    why: str

    def message(self) -> str:
        return (
            f"input {self.name}: {self.asked!r} is ignored, {self.used!r} is used: {self.why}; "
            "change the base branch's .gatekeeper.yml (`gate:`) to loosen the gate"
        )


@dataclass(frozen=True)
class Floor:
    """The base configuration's `gate:` section (defaults: what the action defaults to)."""

    fail_on: str = "new"
    comment_mode: str = "both"
    filter_mode: str = "added"
    check_name: str | None = None  # None: any name
    policies: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def of(cls, config: Config) -> Floor:
        raw: dict[str, Any] = config.raw.get("gate") or {}
        return cls(
            fail_on=raw.get("failOn", cls.fail_on),
            comment_mode=raw.get("commentMode", cls.comment_mode),
            filter_mode=raw.get("filterMode", cls.filter_mode),
            check_name=raw.get("checkName"),
            policies=tuple(_directory(path) for path in raw.get("policies", ())),
        )


def settle(
    asked: Settings, config: Config, event_base: str = "", event_head: str = ""
) -> tuple[Settings, list[Ignored]]:
    """The settings to use, and the inputs undone because they loosen `config`'s gate.

    `event_base`/`event_head`: the event's commits; when there is an event, `--base`/`--head`
    may not point elsewhere (an empty diff passes everything)."""
    floor = Floor.of(config)
    ignored: list[Ignored] = []
    settled = asked

    def undo(name: str, asked_value: str, used: str, why: str, **changes: Any) -> None:
        """Apply the floor; report it unless the input was left at the action's default (a
        base configuration stricter than the defaults is no news on every pull request)."""
        nonlocal settled
        defaulted = all(getattr(asked, key) == getattr(DEFAULTS, key) for key in changes)
        if not defaulted:
            ignored.append(Ignored(name, asked_value, used, why))
        settled = replace(settled, **changes)

    if FAIL_ON_ORDER.index(asked.fail_on) < FAIL_ON_ORDER.index(floor.fail_on):
        undo("fail-on", asked.fail_on, floor.fail_on, "it fails on less", fail_on=floor.fail_on)
    if COMMENT_VISIBILITY[asked.comment_mode] < COMMENT_VISIBILITY[floor.comment_mode]:
        undo(
            "comment-mode",
            asked.comment_mode,
            floor.comment_mode,
            "it hides findings from the pull request",
            comment_mode=floor.comment_mode,
        )
    if FILTER_ORDER.index(asked.filter_mode) < FILTER_ORDER.index(floor.filter_mode):
        undo(
            "filter-mode",
            asked.filter_mode,
            floor.filter_mode,
            "it reports fewer existing findings",
            filter_mode=floor.filter_mode,
        )
    threshold = asked.severity_threshold
    if threshold and severity_rank(threshold) > severity_rank(config.severity_threshold):
        undo(
            "severity-threshold",
            threshold,
            config.severity_threshold,
            "it blocks on fewer severities",
            severity_threshold=None,
        )
    if not asked.builtin and config.builtin:
        undo("builtin", "false", "true", "it drops the built-in policies", builtin=True)
    extra = [path for path in asked.policies if _directory(path) not in floor.policies]
    if extra:
        undo(
            "policies",
            "\n".join(extra),
            "\n".join(p for p in asked.policies if p not in extra),
            "a policy directory not listed in `gate.policies` could replace a policy by its id",
            policies=tuple(p for p in asked.policies if p not in extra),
        )
    if floor.check_name is not None and asked.check_name != floor.check_name:
        undo(
            "check-name",
            asked.check_name,
            floor.check_name,
            "the required check must report under its own name",
            check_name=floor.check_name,
        )
    for name, value, event in (("base", asked.base, event_base), ("head", asked.head, event_head)):
        if value and event and value != event:  # both full commit ids
            undo(
                f"--{name}",
                value,
                event,
                "a pull request is judged between its event's commits",
                **{name: event},
            )
    return settled, ignored


def _directory(path: str) -> str:
    return re.sub(r"^(\./)+", "", path).rstrip("/")


def input_line(text: str, name: str) -> int:
    """The line of a workflow that sets input `name` (`fail-on:` or `--fail-on`), else 1."""
    flag = name if name.startswith("--") else f"--{name}"
    pattern = re.compile(rf"^\s*{re.escape(name.lstrip('-'))}\s*:|{re.escape(flag)}\b")
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.search(line):
            return number
    return 1
