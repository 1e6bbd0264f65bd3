"""A policy repository's pull request: what its policy change does to the consumers.

A repository whose base revision's `.gatekeeper.yml` has an `impact:` section is a policy
repository. Its pull request runs the policies under `impact.path` at the merge base and at the
head on every consumer (`gatekeeper.impact`), and the summary says what would newly block where.
What it is compared against comes from the base revision, as the rest of the gate does: the
consumers list and their pins (`gatekeeper.lock`), and the consumer directories inside this
repository. A change to any of them is reported, and used from the next pull request on.

The preview adds findings: `GK-IMPACT` on each policy that newly blocks findings in a consumer,
`GK-IMPACT-ERROR` where a consumer or the head's policies could not be judged. They block only
with `impact.failOn: new-blocking` (default `none`: a preview).
"""

from __future__ import annotations

import posixpath
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gatekeeper import git as gitops
from gatekeeper import impact, lock
from gatekeeper.config import CONFIG_NAMES, Config, parse_config
from gatekeeper.document import Problem
from gatekeeper.errors import UsageError
from gatekeeper.finding import Finding
from gatekeeper.problems import to_finding

MAX_ROWS = 25  # rows of each table of the section; the rest is counted
MESSAGE_CHARS = 300  # of a finding's message in the section


@dataclass(frozen=True)
class Failure:
    """A consumer (or the head's policies) that could not be judged."""

    name: str
    why: str
    file: str
    line: int
    consumer: bool = True  # False: the head's policies


@dataclass
class Preview:
    settings: impact.Settings
    config_file: str
    config_line: int  # the `impact:` line, where findings of no policy file point
    impacts: list[impact.ConsumerImpact] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    places: dict[str, tuple[str, int]] = field(default_factory=dict)  # head policy -> file:line
    unchanged: bool = False  # the change leaves the policies as they are: nothing measured

    @property
    def blocks(self) -> bool:
        return self.settings.fail_on == "new-blocking"

    def summary_line(self) -> str:
        """The headline, e.g. "this change would newly block 14 findings in 3 of 5 consumers",
        and how many more could not be judged."""
        if self.unchanged:
            return f"this change leaves the policies in {self.settings.path} as they are"
        line = impact.summary(self.impacts)
        missed = sum(1 for failure in self.failures if failure.consumer)
        return f"{line}; {missed} more not judged" if missed else line


def preview(root: Path, config: Config, change: Any) -> Preview | None:
    """The preview of a `gatekeeper.change.ChangeResult`'s merge base against its head (None:
    not a policy repository); `config`: the base branch's, as the change was judged with."""
    settings = impact.Settings.of(config)
    if settings is None:
        return None
    trusted_sha = change.trusted_sha or change.base_sha
    base_sha, head_sha = change.base_sha, change.head_sha
    repo = gitops.open_repo(root)
    trusted = repo.commit(trusted_sha)
    found = Preview(settings, config.file or CONFIG_NAMES[0], config.line_of("impact"))
    found.notes.extend(_changed_in_head(repo, config, trusted, base_sha, head_sha, settings))
    before, after = (
        impact.files_under(repo.commit(sha), settings.path, settings.skip)
        for sha in (base_sha, head_sha)
    )
    if before == after:  # the same policies judge every consumer the same: spare the work
        found.unchanged = True
        return found
    try:
        base = impact.bundle_at(root, base_sha, settings.path, settings.skip)
    except UsageError as error:
        found.notes.append(f"no impact preview: the base revision's policies do not load ({error})")
        return found
    try:
        head = impact.bundle_at(root, head_sha, settings.path, settings.skip)
    except UsageError as error:
        why = f"the policies of this change do not load: {error.message}"
        found.failures.append(
            Failure("policies", why, error.file or found.config_file, error.line or 1, False)
        )
        return found
    found.places = {policy.id: (policy.file, policy.line("severity")) for policy in head}
    try:
        locked = _lock_at(trusted)
    except UsageError as error:
        locked, lock_error = None, str(error)
    else:
        lock_error = ""
    for index, spec in enumerate(settings.consumers):
        name = impact.consumer_name(spec)
        line = config.line_of("impact", "consumers", index)
        if lock_error and "git" in spec:
            found.failures.append(Failure(name, lock_error, found.config_file, line))
            continue
        try:
            with impact.configured_consumer(spec, root, trusted, locked) as directory:
                found.impacts.append(impact.measure(name, directory, base, head))
        except UsageError as error:
            found.failures.append(Failure(name, str(error), found.config_file, line))
    return found


def _lock_at(commit: Any) -> list[lock.LockEntry] | None:
    data = gitops.read_files(commit, [lock.LOCK_NAME]).get(lock.LOCK_NAME)
    return None if data is None else lock.parse_lock(lock.LOCK_NAME, data)


def _changed_in_head(
    repo: Any,
    config: Config,
    trusted: Any,
    base_sha: str,
    head_sha: str,
    settings: impact.Settings,
) -> list[str]:
    """What the change edits of what it is compared against: reported, not used."""
    head = repo.commit(head_sha)
    notes = []
    files = gitops.read_files(head, list(CONFIG_NAMES))
    name = next((n for n in CONFIG_NAMES if n in files), "")
    try:
        head_config = parse_config(name, files[name]) if name else Config()
    except UsageError:
        head_config = Config()  # the gate reports the broken configuration itself
    if head_config.raw.get("impact") != config.raw.get("impact"):
        notes.append(
            f"this change edits `impact:` in {name or config.file}: the preview uses the base "
            "branch's consumers and settings; the new ones apply from the next pull request"
        )
    keys = {(spec["git"], spec["ref"]) for spec in lock.consumer_sources(config.raw)}
    try:
        pins = [_pins(_lock_at(commit), keys) for commit in (trusted, head)]
    except UsageError:
        pins = []  # a broken lock: the gate reports it; the preview fails its git consumers
    if pins and pins[0] != pins[1]:
        notes.append(
            f"this change moves consumer pins in {lock.LOCK_NAME}: the preview uses the base "
            "branch's pins"
        )
    directories = [
        posixpath.normpath(spec["path"]) for spec in settings.consumers if "path" in spec
    ]
    changed = {
        path
        for change in gitops.changed_files(repo, base_sha, head_sha)
        for path in (change.old, change.new)
        if path
    }
    for directory in directories:
        prefix = "" if directory == "." else directory + "/"
        if any(path.startswith(prefix) for path in changed):
            notes.append(
                f"this change edits the consumer {directory}: the preview judges it as the base "
                "branch has it"
            )
    return notes


def _pins(entries: list[lock.LockEntry] | None, keys: set[tuple[str, str]]) -> set[lock.LockEntry]:
    return {entry for entry in entries or () if (entry.git, entry.ref) in keys}


def findings(found: Preview) -> list[Finding]:
    """`GK-IMPACT` per policy that newly blocks findings in a consumer (at its severity line in
    the head), `GK-IMPACT-ERROR` per consumer not judged; new, blocking with failOn."""
    total = len(found.impacts) + sum(1 for f in found.failures if f.consumer)
    per_policy: dict[str, Counter[str]] = {}
    for consumer in found.impacts:
        for finding in consumer.newly_blocking:
            per_policy.setdefault(finding.policy_id, Counter())[consumer.name] += 1
    out = []
    for policy_id, where in sorted(per_policy.items()):
        count = sum(where.values())
        file, line = found.places.get(policy_id, (found.config_file, found.config_line))
        consumers = ", ".join(f"{n} in {name}" for name, n in where.most_common())
        message = (
            f"{policy_id}: this change would newly block {count} finding"
            f"{'s' if count != 1 else ''} in {len(where)} of {total} consumer"
            f"{'s' if total != 1 else ''}: {consumers}"
        )
        problem = Problem("GK-IMPACT", file, line, message)
        out.append(_finding(problem, policy_id, found.blocks))
    for failure in found.failures:
        message = f"{failure.name}: no impact preview: {failure.why}"
        problem = Problem("GK-IMPACT-ERROR", failure.file, failure.line, message)
        out.append(_finding(problem, failure.name, found.blocks))
    return out


def _finding(problem: Problem, identity: str, blocks: bool) -> Finding:
    return to_finding(problem, identity=(identity,)).with_(status="new", blocking=blocks)


def section(found: Preview) -> str:
    """The summary's section: the line, a table per consumer and per policy, the newly
    blocking findings, and what could not be judged (Markdown, every value escaped)."""
    from gatekeeper.github import render

    consumers = [
        {
            "name": c.name,
            "threshold": c.threshold,
            "blocking": len(c.newly_blocking),
            "new": len(c.new),
            "fixed": len(c.fixed),
            "changed": len(c.changed),
        }
        for c in found.impacts
    ]
    policies = _policy_rows(found.impacts)
    blocking = [
        {
            "consumer": c.name,
            "policy": f.policy_id,
            "severity": f.severity,
            "file": f.file,
            "line": f.line,
            "message": f.message[:MESSAGE_CHARS],
        }
        for c in found.impacts
        for f in c.newly_blocking
    ]
    return render.template(
        "impact.md.j2",
        line=found.summary_line(),
        unchanged=found.unchanged,
        blocks=found.blocks,
        path=found.settings.path,
        consumers=consumers[:MAX_ROWS],
        more_consumers=max(0, len(consumers) - MAX_ROWS),
        policies=policies[:MAX_ROWS],
        more_policies=max(0, len(policies) - MAX_ROWS),
        blocking=blocking[:MAX_ROWS],
        more_blocking=max(0, len(blocking) - MAX_ROWS),
        failures=found.failures,
        notes=found.notes,
    )


def _policy_rows(impacts: list[impact.ConsumerImpact]) -> list[dict[str, Any]]:
    """Per policy and consumer, the counts; the rows that newly block first."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}

    def row(policy_id: str, consumer: str) -> dict[str, Any]:
        key = (policy_id, consumer)
        if key not in rows:
            rows[key] = {"policy": policy_id, "consumer": consumer}
            rows[key].update(blocking=0, new=0, fixed=0, changed=0)
        return rows[key]

    for c in impacts:
        for f in c.newly_blocking:
            row(f.policy_id, c.name)["blocking"] += 1
        for f in c.new:
            row(f.policy_id, c.name)["new"] += 1
        for f in c.fixed:
            row(f.policy_id, c.name)["fixed"] += 1
        for _, f in c.changed:
            row(f.policy_id, c.name)["changed"] += 1
    return sorted(rows.values(), key=lambda r: (-r["blocking"], r["policy"], r["consumer"]))
