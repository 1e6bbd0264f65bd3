"""Waivers: owned, reasoned, expiring exceptions to a policy; and inline skip annotations.

A waived finding is still reported (status `waived`), so nothing disappears from view. An
expired waiver stops applying: its finding blocks again and the waiver itself is reported.
"""

from __future__ import annotations

import datetime
import functools
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from gatekeeper import lazy_re, run_by
from gatekeeper.discover import matches
from gatekeeper.document import Problem
from gatekeeper.errors import ConfigError
from gatekeeper.finding import Finding
from gatekeeper.problems import to_finding
from gatekeeper.yamldoc import NodeLocator, read_single

DEFAULT_FILE = ".gatekeeper/waivers.yml"
DEFAULT_MAX_HORIZON_DAYS = 90
DEFAULT_WARN_DAYS = 14

_SKIP = lazy_re.compile(
    r"#\s*gatekeeper:skip=([A-Za-z0-9_.\-]+(?:\s*,\s*[A-Za-z0-9_.\-]+)*)[ \t]*(.*)$"
)


@dataclass(frozen=True)
class Waiver:
    """An accepted finding: whose, why and until when (`.gatekeeper/waivers.yaml`)."""

    policy: str
    owner: str
    reason: str
    ticket: str
    expires: datetime.date
    file_glob: str = ""
    kind: str = ""
    namespace: str = ""
    name: str = ""
    fingerprint: str = ""
    source: str = ""  # the waivers file
    line: int = 0

    def matches(self, finding: Finding) -> bool:
        if finding.policy_id != self.policy:
            return False
        if self.fingerprint and finding.fingerprint != self.fingerprint:
            return False
        if self.file_glob and not matches(finding.file, [self.file_glob]):
            return False
        if self.name and finding.extra.get("generateName") and not self.name.endswith("-"):
            # The API server names it prefix + random characters: never the object a name
            # ending in a letter or digit (as every object name does) waives. A `generateName:
            # debug-node` Pod took the waiver of the Pod named debug-node (red team s21
            # trust14 c24); a waiver of a prefix (`db-migrate-`) still matches its objects.
            return False
        return all(
            not wanted or wanted == actual
            for wanted, actual in (
                (self.kind, finding.kind),
                (self.namespace, finding.namespace),
                (self.name, finding.name),
            )
        )

    def expired(self, today: datetime.date) -> bool:
        """`expires` is the last day the waiver applies."""
        return today > self.expires

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "owner": self.owner,
            "reason": self.reason,
            "ticket": self.ticket,
            "expires": self.expires.isoformat(),
            "file": self.source,
            "line": self.line,
        }


@functools.cache
def waivers_schema() -> dict[str, Any]:
    from gatekeeper.config import schema_text

    text = schema_text("waivers.schema.json")
    schema: dict[str, Any] = json.loads(text)
    return schema


def parse_waivers(
    name: str,
    data: bytes,
    today: datetime.date,
    max_horizon_days: int = DEFAULT_MAX_HORIZON_DAYS,
) -> list[Waiver]:
    """Schema-check a waivers file; a waiver beyond the horizon is a configuration error."""
    document = read_single(name, data, "the waivers file", ConfigError)
    if document is None:
        return []
    from gatekeeper.policy.loader import validate

    locator = NodeLocator(name, document.node)
    validate(document.obj, waivers_schema(), name, locator, ConfigError)
    horizon = today + datetime.timedelta(days=max_horizon_days)
    waivers = []
    for index, raw in enumerate(document.obj.get("waivers") or []):
        line = locator.locate(("waivers", index)).line
        if not _POLICY_ID.fullmatch(raw["policy"]):
            # `*` or `K8S-PSS-*` matched no finding and said nothing: a waiver the author
            # believed in, which waived nothing (red team s14).
            raise ConfigError(
                f"waivers.{index}.policy: {raw['policy']!r} is not a policy id: a waiver names"
                " one policy as policies spell it (K8S-PSS-HOST-PATH); patterns are not read",
                name,
                locator.locate(("waivers", index, "policy")).line,
            )
        expires_line = locator.locate(("waivers", index, "expires")).line
        try:
            expires = datetime.date.fromisoformat(str(raw["expires"]))
        except ValueError:
            raise ConfigError(
                f"waivers.{index}.expires: not a date (YYYY-MM-DD): {raw['expires']}",
                name,
                expires_line,
            ) from None
        if expires > horizon:
            raise ConfigError(
                f"waivers.{index}.expires: {expires} is more than {max_horizon_days} days ahead "
                f"(maxHorizonDays); waivers must be renewed, not permanent",
                name,
                expires_line,
            )
        waivers.append(
            Waiver(
                policy=raw["policy"],
                owner=raw["owner"],
                reason=raw["reason"],
                ticket=raw["ticket"],
                expires=expires,
                file_glob=raw.get("file", ""),
                kind=raw.get("kind", ""),
                namespace=raw.get("namespace", ""),
                name=raw.get("name", ""),
                fingerprint=raw.get("fingerprint", ""),
                source=name,
                line=line,
            )
        )
    return waivers


# How policy ids are spelled (policy.schema.json's `id` pattern).
_POLICY_ID = lazy_re.compile(r"[A-Z][A-Z0-9]*(-[A-Z0-9]+)+")


def expiring(
    waivers: Iterable[Waiver], today: datetime.date, warn_days: int = DEFAULT_WARN_DAYS
) -> list[Waiver]:
    """Active waivers that expire within `warn_days`."""
    limit = today + datetime.timedelta(days=warn_days)
    return [w for w in waivers if not w.expired(today) and w.expires <= limit]


def apply(findings: list[Finding], waivers: list[Waiver], today: datetime.date) -> list[Finding]:
    """Mark findings covered by an active waiver `waived`; report every expired waiver.

    A finding matched only by an expired waiver keeps its status and gets
    `extra["waiver_expired"]`: it blocks even when it already existed (see `block_expired`).
    """
    out: list[Finding] = []
    # A waiver names its policy: a finding is looked up among its policy's only (in order).
    by_policy: dict[str, list[Waiver]] = {}
    for waiver in waivers:
        by_policy.setdefault(waiver.policy, []).append(waiver)
    said: dict[int, dict[str, Any]] = {}  # each waiver's to_dict, made once
    for finding in findings:
        if finding.status in ("fixed", "waived"):
            out.append(finding)
            continue
        candidates, active = _covering(finding, by_policy.get(finding.policy_id, []), today)
        if active:
            out.append(finding.with_(status="waived", waiver=_said(active[0], said)))
        elif candidates:
            extra = {**finding.extra, "waiver_expired": _said(candidates[0], said)}
            out.append(finding.with_(extra=extra))
        else:
            out.append(finding)
    for waiver in waivers:
        if waiver.expired(today):
            out.append(expired_finding(waiver))
    return out


def _covering(
    finding: Finding, waivers: list[Waiver], today: datetime.date
) -> tuple[list[Waiver], list[Waiver]]:
    """The waivers matching a finding, and the active ones that waive it. A CI line said
    once for every job that runs it (run_by) is waived only when each job's finding is:
    a waiver naming one job's fingerprint or workflow keeps the line waived for that job
    alone, as before the merge; the others still block (and an expired waiver of any of
    them is said)."""
    candidates = [waiver for waiver in waivers if waiver.matches(finding)]
    active = [waiver for waiver in candidates if not waiver.expired(today)]
    if run_by.TWINS not in finding.extra:
        return candidates, active
    for twin in run_by.twins(finding):
        theirs = [waiver for waiver in waivers if waiver.matches(twin)]
        if not any(not waiver.expired(today) for waiver in theirs):  # all expired, or none
            expired = [waiver for waiver in candidates if waiver.expired(today)]
            return [*expired, *(waiver for waiver in theirs if waiver not in expired)], []
    return candidates, active


def _said(waiver: Waiver, said: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """`waiver.to_dict()`, made once per waiver (the waivers are held by the caller)."""
    known = said.get(id(waiver))
    if known is None:
        known = said[id(waiver)] = waiver.to_dict()
    return known


def expired_finding(waiver: Waiver) -> Finding:
    message = (
        f"waiver for {waiver.policy} (owner {waiver.owner}, ticket {waiver.ticket}) expired "
        f"on {waiver.expires}; fix the findings or renew the waiver"
    )
    return to_finding(
        Problem("GK-WAIVER-EXPIRED", waiver.source, waiver.line, message),
        identity=(waiver.policy, waiver.ticket),
        extra={"waiver": waiver.to_dict()},
    )


def expiring_finding(waiver: Waiver, today: datetime.date) -> Finding:
    days = (waiver.expires - today).days
    message = (
        f"waiver for {waiver.policy} (owner {waiver.owner}, ticket {waiver.ticket}) expires "
        f"on {waiver.expires} (in {days} day(s))"
    )
    return to_finding(
        Problem("GK-WAIVER-EXPIRING", waiver.source, waiver.line, message),
        identity=(waiver.policy, waiver.ticket),
        extra={"waiver": waiver.to_dict(), "never_blocks": True},
    )


# Inline skip annotations -------------------------------------------------------------------


@dataclass(frozen=True)
class Skip:
    """`# gatekeeper:skip=ID[,ID] reason`: applies to the YAML document (or file) it is in."""

    policies: tuple[str, ...]
    reason: str
    file: str
    line: int
    start: int  # first line of the document it covers
    end: int  # last line


def inline_skips(file: str, text: str) -> list[Skip]:
    if "gatekeeper:skip" not in text:
        return []
    lines = text.splitlines()
    yaml = file.endswith((".yaml", ".yml"))
    starts = [0] + [i for i, row in enumerate(lines) if yaml and row.startswith("---")]
    skips = []
    for number, row in enumerate(lines, start=1):
        match = _SKIP.search(row)
        if not match:
            continue
        index = max(i for i, start in enumerate(starts) if start < number)
        start = starts[index] + 1
        end = starts[index + 1] if index + 1 < len(starts) else len(lines)
        policies = tuple(part.strip() for part in match.group(1).split(","))
        skips.append(Skip(policies, match.group(2).strip(), file, number, start, end))
    return skips


# kind, namespace, name of an object an annotation's document holds.
Identity = tuple[str, str, str]
_TOP_KEY = lazy_re.compile(r"^(kind|metadata):[ \t]*(.*?)[ \t]*$")
_META_KEY = lazy_re.compile(r"^[ \t]+(name|namespace):[ \t]*(.*?)[ \t]*$")
_FLOW_META_KEY = lazy_re.compile(r"[{,]\s*(name|namespace):\s*([^,}]*)")


def document_identities(skip: Skip, text: str) -> frozenset[Identity]:
    """Which objects the document under `skip` declares, so an annotation stays bound to them:
    from the YAML when it parses, else (a Helm template) from its `kind:` and `metadata:`
    lines as written. A document that names no object has the empty identity."""
    from gatekeeper.sources.kubernetes import is_object
    from gatekeeper.yamldoc import YamlDocument, load_all

    segment = "\n".join(text.splitlines()[skip.start - 1 : skip.end])
    found: set[Identity] = set()
    parsed = list(load_all(skip.file, segment)) if skip.file.endswith((".yaml", ".yml")) else []
    if parsed and all(isinstance(entry, YamlDocument) for entry in parsed):
        for entry in parsed:
            assert isinstance(entry, YamlDocument)
            obj = entry.obj
            items = obj.get("items") if isinstance(obj, dict) else None
            for item in [obj, *(items if isinstance(items, list) else [])]:
                if is_object(item):
                    meta = item.get("metadata") if isinstance(item.get("metadata"), dict) else {}
                    found.add(
                        (
                            str(item["kind"]),
                            str(meta.get("namespace") or ""),
                            str(meta.get("name") or ""),
                        )
                    )
    else:
        found.update(_written_identity(segment))
    return frozenset(found or {("", "", "")})


def _written_identity(segment: str) -> set[Identity]:
    fields = {"kind": "", "name": "", "namespace": ""}
    in_metadata = False
    for row in segment.splitlines():
        top = _TOP_KEY.match(row)
        if top:
            in_metadata = top.group(1) == "metadata"
            if top.group(1) == "kind":
                fields["kind"] = top.group(2)
            elif top.group(2).startswith("{"):  # metadata: {name: web, namespace: team}
                for key, value in _FLOW_META_KEY.findall(top.group(2)):
                    fields[key] = fields[key] or value.strip()
        elif row.strip() and row[:1] not in (" ", "\t"):
            in_metadata = False
        elif in_metadata:
            meta = _META_KEY.match(row)
            if meta and not fields[meta.group(1)]:
                fields[meta.group(1)] = meta.group(2)
    return {(fields["kind"], fields["namespace"], fields["name"])} if fields["kind"] else set()


def apply_skips(
    findings: list[Finding],
    skips: list[Skip],
    forbid: bool,
    covers: Callable[[Skip, Finding], bool] | None = None,
) -> list[Finding]:
    """Waive findings under an annotation; when annotations are forbidden, report each.
    `covers(skip, finding)`: whether an annotation over the finding's place speaks for it (a
    pull request: not for what the change newly deploys from there); one that does not is
    named in the finding's `extra["skip_not_inherited"]`."""
    if forbid:
        return findings + [forbidden_finding(skip) for skip in skips]
    out = [forbidden_finding(skip) for skip in skips if not skip.reason]
    # An annotation speaks for its own file: a finding is looked up among its file's only.
    by_file: dict[str, list[Skip]] = {}
    for each in skips:
        by_file.setdefault(each.file, []).append(each)
    for finding in findings:
        skip = None
        if finding.status not in ("fixed", "waived"):
            skip = next(
                (
                    s
                    for s in by_file.get(finding.file, ())
                    if finding.policy_id in s.policies
                    and s.start <= finding.line <= s.end
                    and s.reason
                ),
                None,
            )
        if skip is not None and covers is not None and not covers(skip, finding):
            extra = {**finding.extra, "skip_not_inherited": f"{skip.file}:{skip.line}"}
            message = (
                f"{finding.message}; the gatekeeper:skip at line {skip.line} covers what the "
                "base deployed from there, not this"
            )
            out.append(finding.with_(extra=extra, message=message))
        elif skip is None:
            out.append(finding)
        else:
            waiver = {"inline": True, "reason": skip.reason, "file": skip.file, "line": skip.line}
            out.append(finding.with_(status="waived", waiver=waiver))
    return out


def forbidden_finding(skip: Skip) -> Finding:
    """An annotation that does not count: forbidden by the config, or missing its reason."""
    ids = ",".join(skip.policies)
    message = (
        f"gatekeeper:skip={ids} is not allowed here (waivers.forbidInlineSkips); "
        "add a waiver with an owner and an expiry instead"
        if skip.reason
        else f"gatekeeper:skip={ids} has no reason: write why after the policy id"
    )
    return to_finding(
        Problem("GK-INLINE-SKIP", skip.file, skip.line, message), identity=skip.policies
    )
