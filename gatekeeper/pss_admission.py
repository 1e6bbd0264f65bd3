"""Predict Pod Security Admission: a PSS finding in a namespace that enforces its level.

When the repository holds the `Namespace` a workload runs in, its labels say what the API
server will do: `pod-security.kubernetes.io/enforce: restricted` rejects a pod that breaks a
restricted (or baseline) control, `warn` and `audit` only warn or record. A `K8S-PSS-*` finding
there says so (`extra.admission`: rejected, warned or audited), so a reviewer knows the change
will not even deploy, rather than deploy with a weakness.

Each mode judges at its own `<mode>-version` label (missing or `latest`: the newest), not at
the version the repository configured for its findings: a namespace pinned to v1.22 admits a
`runAsUser: 0` that latest forbids, and one pinned to v1.31 rejects the `net.ipv4.tcp_rmem`
sysctl that latest allows. Policies with a `version` parameter are evaluated again at each
pinned version (`rejudge`: the scan run again with an engine of those policies only); a
control that fails only at the pinned version becomes a finding of its own, since the
deployment will fail on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

from gatekeeper import lazy_re
from gatekeeper.contents import subset
from gatekeeper.evaluate import KUBERNETES_SOURCES, Engine
from gatekeeper.finding import Finding, fingerprint
from gatekeeper.inventory import InventoryEntry
from gatekeeper.policy.model import Policy
from gatekeeper.sources import LoadContext, with_owners

LABEL = "pod-security.kubernetes.io/"
LEVELS = {"privileged": 0, "baseline": 1, "restricted": 2}
LATEST = "latest"
_VERSION = lazy_re.compile(r"^v1\.(0|[1-9][0-9]*)$")
_MODES = (("enforce", "rejected", "the API server will reject it"),
          ("warn", "warned", "the API server will warn"),
          ("audit", "audited", "the API server will record it in the audit log"))  # fmt: skip

# The scan's findings again, evaluated by another engine (the same documents and repository;
# only the policies and their parameters differ). The files are those of the objects in the
# namespaces concerned: a caller may scan only those, or everything.
Rejudge = Callable[[Engine, frozenset[str]], list[Finding]]


class Mode(NamedTuple):
    """One Pod Security label pair of a namespace: `enforce: restricted` at `v1.30`."""

    name: str
    outcome: str
    consequence: str
    level: int
    level_name: str
    version: str


def policy_levels(policies: Iterable[Any]) -> dict[str, int]:
    """Policy id -> the Pod Security Standards level it belongs to (its `pss-*` tag)."""
    levels = {}
    for policy in policies:
        for tag in policy.raw.get("tags") or ():
            level = str(tag).removeprefix("pss-")
            if str(tag).startswith("pss-") and level in LEVELS:
                levels[policy.id] = LEVELS[level]
    return levels


def label_version(value: str | None) -> str:
    """The version a `<mode>-version` label judges at: missing, `latest` or unreadable (the
    API server refuses such a Namespace) mean the newest."""
    value = (value or "").strip()
    return value if _VERSION.match(value) else LATEST


def namespace_modes(labels: dict[str, str]) -> list[Mode]:
    """The namespace's modes that judge anything (not privileged), in the order enforce, warn,
    audit."""
    modes = []
    for name, outcome, consequence in _MODES:
        level = labels.get(LABEL + name)
        if level in LEVELS and LEVELS[level] > 0:
            version = label_version(labels.get(f"{LABEL}{name}-version"))
            modes.append(Mode(name, outcome, consequence, LEVELS[level], level, version))
    return modes


def configured_versions(engine: Engine, levels: dict[str, int]) -> dict[str, str]:
    """PSS policy id -> the version its findings were judged at, for the policies whose
    verdict depends on a version (a `version` parameter)."""
    versions = {}
    for policy in engine.policies:
        if policy.id in levels and "version" in policy.params:
            versions[policy.id] = str(engine.params(policy).get("version") or LATEST)
    return versions


def at_version(engine: Engine, policy_ids: Iterable[str], version: str) -> Engine:
    """An engine of the given PSS policies only, all at `version`."""
    wanted = set(policy_ids)
    policies = [policy for policy in engine.policies if policy.id in wanted]
    params = {p.id: {**engine.param_overrides.get(p.id, {}), "version": version} for p in policies}
    return Engine(policies, params)


def rescan(pairs: Sequence[tuple[str, bytes]], context: LoadContext, jobs: int = 0) -> Rejudge:
    """A Rejudge that scans `pairs` again, keeping the files it is given and those that
    render them (a template's Chart.yaml, a base's kustomization)."""

    def rejudge(engine: Engine, files: frozenset[str]) -> list[Finding]:
        from gatekeeper import scanner  # scanner imports this module

        wanted = set(with_owners(sorted(files), context))
        chosen = subset(pairs, wanted)  # a Contents reads only these again
        return scanner.scan(chosen, engine, jobs, context, repository=False).findings

    return rejudge


def _key(finding: Finding) -> tuple[str, str, int, int, str]:
    return (finding.policy_id, finding.file, finding.line, finding.column, finding.fingerprint)


def annotate(
    findings: list[Finding],
    inventory: Sequence[InventoryEntry],
    levels: dict[str, int],
    engine: Engine | None = None,
    rejudge: Rejudge | None = None,
) -> list[Finding]:
    """Say what the API server will do with each PSS finding in a labelled namespace.

    Without `engine` the findings are taken to hold at every version (no version is known).
    With it and without `rejudge`, a version-dependent finding is annotated only for modes
    at the version it was judged at: no prediction rather than a wrong one."""
    modes = {
        entry.name: namespace_modes(entry.labels)
        for entry in inventory
        if entry.kind == "Namespace" and entry.source in KUBERNETES_SOURCES
    }
    modes = {name: found for name, found in modes.items() if found}
    if not modes or not levels:
        return findings
    versioned = configured_versions(engine, levels) if engine is not None else {}
    judged = _judged_at_pins(inventory, modes, versioned, engine, rejudge)

    known = {_key(finding) for finding in findings}

    def holds(finding: Finding, version: str) -> bool:
        """Whether the finding is a violation at `version`: the scan's own findings are
        those at the configured version, the rest were judged again at the pin."""
        if versioned.get(finding.policy_id, version) == version:
            return _key(finding) in known
        return _key(finding) in judged.get(version, {})

    out = []
    # Found only at a pin (once, though several pins of the namespace may find it).
    extra = {key: finding for found in judged.values() for key, finding in found.items()}
    for finding in [*findings, *(f for key, f in extra.items() if key not in known)]:
        level = levels.get(finding.policy_id)
        own = modes.get(finding.namespace or "default")
        if level is None or own is None:
            out.append(finding)
            continue
        mode = next((m for m in own if m.level >= level and holds(finding, m.version)), None)
        if mode is not None:
            finding = _predicted(finding, mode)
        elif _key(finding) not in known:
            continue  # found at a pinned version no mode of its level judges at
        out.append(finding)
    return out


def _judged_at_pins(
    inventory: Sequence[InventoryEntry],
    modes: dict[str, list[Mode]],
    versioned: dict[str, str],
    engine: Engine | None,
    rejudge: Rejudge | None,
) -> dict[str, dict[tuple[str, str, int, int, str], Finding]]:
    """Pinned version -> the version-dependent PSS findings at that version, in the
    namespaces that pin it (keyed like the scan's own findings)."""
    if engine is None or rejudge is None or not versioned:
        return {}
    pins: dict[str, set[str]] = {}
    for namespace, own in modes.items():
        for mode in own:
            if any(configured != mode.version for configured in versioned.values()):
                pins.setdefault(mode.version, set()).add(namespace)
    judged: dict[str, dict[tuple[str, str, int, int, str], Finding]] = {}
    for version, namespaces in sorted(pins.items()):
        policy_ids = [pid for pid, configured in versioned.items() if configured != version]
        files = frozenset(
            entry.file
            for entry in inventory
            if entry.source in KUBERNETES_SOURCES
            and entry.kind != "Namespace"
            and (entry.namespace or "default") in namespaces
        )
        if not files:
            continue
        found = rejudge(at_version(engine, policy_ids, version), files)
        judged[version] = {
            _key(finding): finding
            for finding in found
            if (finding.namespace or "default") in namespaces and finding.policy_id in versioned
        }
    return judged


def _predicted(finding: Finding, mode: Mode) -> Finding:
    namespace = finding.namespace or "default"
    note = (
        f" (namespace {namespace} has {mode.name}={mode.level_name}:{mode.version}:"
        f" {mode.consequence})"
    )
    extra = {**finding.extra, "admission": mode.outcome, "admission_version": mode.version}
    return finding.with_(message=finding.message + note, extra=extra)


POLICY_ID = "K8S-ADMISSION-POD-SECURITY"


def _enforced(labels: dict[str, str]) -> tuple[int, str, str]:
    """A Namespace's enforce level (none written: the API server's default, privileged
    unless its AdmissionConfiguration says otherwise) and the version it judges at."""
    level = labels.get(LABEL + "enforce")
    version = label_version(labels.get(LABEL + "enforce-version"))
    if level in LEVELS:
        return LEVELS[level], level, version
    return 0, "none (the cluster's default, privileged unless configured)", version


def _older(version: str, than: str) -> bool:
    """Does `version` judge by an older standard than `than` (latest is the newest)?"""
    if version == than:
        return False
    if version == LATEST:
        return False
    if than == LATEST:
        return True
    return int(version.removeprefix("v1.")) < int(than.removeprefix("v1."))


def lowered(
    base: Sequence[InventoryEntry], head: Sequence[InventoryEntry], engine: Engine
) -> list[Finding]:
    """A Namespace whose Pod Security `enforce` label the change removes or lowers
    (restricted -> baseline, or to no label: every pod is admitted again), or whose
    `enforce-version` it pins to an older standard, compared with the base revision: a
    finding of K8S-ADMISSION-POD-SECURITY at the head's Namespace. kubectl apply, Argo CD
    and Flux remove a label the manifest no longer has."""
    policy = next((p for p in engine.policies if p.id == POLICY_ID), None)
    if policy is None:
        return []
    before: dict[str, tuple[int, str, str]] = {}
    for entry in base:
        if entry.kind == "Namespace" and entry.source in KUBERNETES_SOURCES:
            level = _enforced(entry.labels)
            known = before.get(entry.name)
            before[entry.name] = level if known is None else max(known, level)
    out = []
    seen = set()
    for entry in head:
        if entry.kind != "Namespace" or entry.source not in KUBERNETES_SOURCES:
            continue
        if entry.name not in before or entry.name in seen:
            continue
        was, was_name, was_version = before[entry.name]
        now, now_name, now_version = _enforced(entry.labels)
        if now_name == "privileged":
            continue  # the policy's own rule says that one
        if now < was:
            what = f"lowers Pod Security enforce from {was_name} to {now_name}"
        elif now == was and now > 0 and _older(now_version, was_version):
            what = f"pins Pod Security enforce={now_name} to {now_version} (was {was_version})"
        else:
            continue
        seen.add(entry.name)
        out.append(
            weakened(policy, entry.file, entry.line, entry.source, entry.name, what, "lowered")
        )
    return out


def weakened(
    policy: Policy, file: str, line: int, source: str, name: str, what: str, how: str
) -> Finding:
    """The finding of a Namespace whose Pod Security `enforce` a change lowers or removes
    (`what`), at `file:line`; `how` tells apart where it was seen in its fingerprint (a
    manifest compared with the base: "lowered"; a CI `kubectl label`: "kubectl")."""
    return Finding(
        policy_id=policy.id,
        severity=policy.severity,
        title=policy.title,
        message=f"Namespace {name} {what}: pods it rejected are admitted again",
        file=file,
        line=line,
        path="metadata.labels",
        source=source,
        kind="Namespace",
        name=name,
        fingerprint=fingerprint(policy.id, source, "Namespace", "", name, f"{how} {what}"),
        remediation=policy.remediation,
        extra={"about": "namespace"},
    )
