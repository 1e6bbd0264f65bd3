"""One finding per CI script line, whatever runs it.

A repository script (`e2e/run.sh`) that several jobs or workflows run was judged once per
job: external-secrets' four `kubectl` lines were twelve findings, the same line, policy and
words but the job's name. Findings at one place (file, line, column, policy) of the same
source, kind and severity whose messages differ only by the job they name are said once:
the first one kept (its fingerprint and lines; its message ends `; also run by <workflow>
job <id>, ...`), `run_by` naming every workflow and job that runs the line,
`run_by_fingerprints` the others' fingerprints and workflows.

What a merged finding still answers for each job it stands for:
- a waiver waives it only when every job's finding would have been waived (waivers.apply):
  a waiver naming one job's fingerprint does not silence the line for the other jobs;
- `scan --base` sees a job that newly runs the line as a new finding (change.classify,
  `new_run_by`), whatever the job's privileges or target, that waivers and inline skips
  written for the other jobs do not cover (change._beyond_waivers, _skip_covers); a job
  that no longer runs it, or another job kept first, makes nothing new or fixed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from gatekeeper.fieldpath import FieldPathError, parse
from gatekeeper.finding import Finding

KEY = "run_by"
TWINS = "run_by_fingerprints"
NEW = "new_run_by"  # scan --base: the jobs that newly run the line
ALSO = "; also run by "  # the merged message's tail naming the other jobs


def job_of(finding: Finding) -> str | None:
    """The CI job whose command a finding is about (its path is under `jobs`)."""
    if finding.source != "workflow" or not finding.path.startswith("jobs"):
        return None
    try:
        path = parse(finding.path)
    except FieldPathError:
        return None
    return str(path[1]) if len(path) > 1 and path[0] == "jobs" else None


def runner(finding: Finding, job: str) -> str:
    """`<workflow> job <id>`; a job that is its own document (a Terraform resource's
    provisioners, named by its address) is said once: `job module.x.null_resource.app`."""
    return f"job {job}" if finding.name == job else f"{finding.name} job {job}"


def runners(finding: Finding) -> set[str]:
    """The workflows and jobs that run what a finding is about (none: not a job's)."""
    if KEY in finding.extra:
        return set(finding.extra[KEY])
    job = job_of(finding)
    return set() if job is None else {runner(finding, job)}


def said(finding: Finding) -> str:
    """The message without the jobs it is said for (its own, and the merged tail), or the
    objects a kustomization line sets (setting_lines)."""
    job = job_of(finding)
    if job is None:
        from gatekeeper.setting_lines import without_tail

        return without_tail(finding)
    message = finding.message.split(ALSO, 1)[0] if KEY in finding.extra else finding.message
    return re.sub(rf"\bjob {re.escape(job)}(?=[\s:,;)]|$)", "job \x00", message)


def twins(finding: Finding) -> Iterator[Finding]:
    """The findings merged into `finding`, each with its own fingerprint and workflow (or
    object: setting_lines)."""
    for twin in finding.extra.get(TWINS, ()):
        yield finding.with_(
            fingerprint=twin["fingerprint"],
            name=twin["name"],
            kind=twin.get("kind", finding.kind),
            namespace=twin.get("namespace", finding.namespace),
        )


def prints(finding: Finding) -> list[str]:
    """Every fingerprint a finding stands for: its own first."""
    return [finding.fingerprint, *(twin["fingerprint"] for twin in finding.extra.get(TWINS, ()))]


def merged(findings: list[Finding]) -> list[Finding]:
    """`findings` (one place's, none rendered) with each CI line said once for every job
    that runs it; the others as they are, in their order."""
    slots: list[tuple[Any, ...]] = []  # a finding alone, or a key of `same`
    same: dict[tuple[str, ...], list[Finding]] = {}
    for finding in findings:
        job = job_of(finding)
        if job is None:
            slots.append(("alone", finding))
            continue
        key = (finding.source, finding.kind, finding.severity, said(finding))
        if key not in same:
            same[key] = []
            slots.append(("key", key))
        same[key].append(finding)
    if len(slots) == len(findings):
        return findings
    out: list[Finding] = []
    for what, value in slots:
        group = same[value] if what == "key" else [value]
        kept = group[0]
        if len(group) > 1:
            names = sorted({name for one in group for name in runners(one)})
            extra = {
                **kept.extra,
                KEY: names,
                TWINS: [{"fingerprint": one.fingerprint, "name": one.name} for one in group[1:]],
            }
            others = [name for name in names if name not in runners(kept)]
            message = kept.message + ALSO + ", ".join(others) if others else kept.message
            kept = kept.with_(extra=extra, message=message)
        out.append(kept)
    return out
