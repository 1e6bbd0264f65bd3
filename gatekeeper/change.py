"""Judge a change (`base..head`) the way a pull request is judged.

Only changed files are loaded; the merge-base versions of the same files (the old path of a
renamed file) are scanned too, and findings are matched by fingerprint (never by line) into
new / existing / fixed. Policies, configuration, lock and waivers come from the *base*
revision, so a change cannot weaken the checks that judge it; changing them is reported.
"""

from __future__ import annotations

import dataclasses
import datetime
import posixpath
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from gatekeeper import (
    admission,
    admission_params,
    admission_weakened,
    base_moved,
    content_identity,
    depgraph,
    discover,
    image_automation,
    image_identity,
    lazy_re,
    pipeline,
    pss_admission,
    run_by,
    subject_identity,
)
from gatekeeper import git as gitops
from gatekeeper import waivers as waivers_mod
from gatekeeper.built_only import inventory_as_deployed
from gatekeeper.config import CONFIG_NAMES, Config, check_paths, named_files, parse_config
from gatekeeper.context import with_own_urls
from gatekeeper.decide import Verdict
from gatekeeper.document import Problem
from gatekeeper.errors import UsageError
from gatekeeper.finding import Finding, fingerprint, severity_rank
from gatekeeper.inventory import SCC_KIND, InventoryEntry, counted_kinds
from gatekeeper.policy.model import Policy
from gatekeeper.problems import to_finding
from gatekeeper.scanner import ScanResult
from gatekeeper.scanner import identity as scanned_object
from gatekeeper.sources import LoadContext, gitops_revision, helm
from gatekeeper.sources.helm_random import RANDOM
from gatekeeper.tree import MemoryTree, below
from gatekeeper.waivers import Waiver

if TYPE_CHECKING:
    import git

FILTER_MODES = ("added", "diff_context", "file", "all")
DIFF_CONTEXT_LINES = 3


@dataclass
class ChangeResult:
    verdict: Verdict  # every finding with status new | existing | fixed | waived, and blocking
    changed_lines: dict[str, set[int]]  # head path -> added/modified head line numbers
    changed_files: list[str]  # head paths (old paths of deleted files)
    config: Config
    policies: list[Policy]
    expiring_waivers: list[Waiver]
    base_sha: str  # the merge-base the change is compared with
    head_sha: str
    trusted_sha: str = ""  # the base ref's commit policies/config/waivers were read from
    files_scanned: int = 0
    documents: int = 0
    context_lines: dict[str, set[int]] = field(default_factory=dict)
    notices: tuple[str, ...] = ()  # what the run could not do (ScanResult.notices)


def scan_change(
    root: Path,
    base: str,
    head: str | None = None,
    *,
    filter_mode: str = "added",
    severity_threshold: str | None = None,
    extra_policy_dirs: Sequence[str] = (),
    builtin: bool = True,
    jobs: int = 0,
    today: datetime.date | None = None,
) -> ChangeResult:
    """Scan what `head` (default HEAD) changes relative to merge-base(base, head)."""
    if filter_mode not in FILTER_MODES:
        raise UsageError(f"unknown filter {filter_mode!r}; one of {', '.join(FILTER_MODES)}")
    repo = gitops.open_repo(root)
    try:
        return _scan_change(
            root,
            repo,
            base,
            head,
            filter_mode,
            severity_threshold,
            extra_policy_dirs,
            builtin,
            jobs,
            today or datetime.date.today(),
        )
    finally:
        repo.close()  # its git processes and pipes: a library caller scans again and again


def _scan_change(
    root: Path,
    repo: git.Repo,
    base: str,
    head: str | None,
    filter_mode: str,
    severity_threshold: str | None,
    extra_policy_dirs: Sequence[str],
    builtin: bool,
    jobs: int,
    today: datetime.date,
) -> ChangeResult:
    head_commit = gitops.resolve(repo, head or "HEAD")
    trusted = gitops.resolve(repo, base)
    fork_point = gitops.merge_base(repo, trusted, head_commit)
    base_sha, head_sha = fork_point.hexsha, head_commit.hexsha

    config = with_own_urls(_trusted_config(trusted), root)
    named = [file for file, _, _ in named_files(config)]  # charts it names exist in the base
    check_paths(config, MemoryTree(gitops.read_files(trusted, named)))
    policies, trust_paths = _trusted_policies(repo, trusted, config, extra_policy_dirs, builtin)
    from gatekeeper.bundle import engine_for

    # Findings record the image repositories they run: another image is other code (r15).
    engine = dataclasses.replace(engine_for(config, policies), record_images=True)
    waivers = _trusted_waivers(trusted, config, today)

    changes = gitops.changed_files(repo, base_sha, head_sha)
    lines = gitops.changed_lines(repo, base_sha, head_sha)
    context_lines = gitops.changed_lines(repo, base_sha, head_sha, DIFF_CONTEXT_LINES)
    wanted = set(
        discover.select([c.new or c.old or "" for c in changes], config.include, config.exclude)
    )
    selected = [c for c in changes if (c.new or c.old) in wanted]
    head_paths = [c.new for c in selected if c.new]
    base_paths = [c.old for c in selected if c.old]
    changed_files = [c.new or c.old or "" for c in changes]

    head_tree = gitops.RevisionTree(head_commit)
    base_tree = gitops.RevisionTree(fork_point, head_tree.reader)
    # Vendored charts stand in for what deployers fetch: a change may not swap the copy that
    # is judged, so a change to one is judged with both the trusted copy and its own.
    vendored = helm.vendored_folders(config.sources.get("helm", {}))
    for tree in (head_tree, base_tree):  # what deploys `base` deploys the tree judged
        gitops_revision.lands_on(tree, base, trusted.hexsha)
    try:
        if not engine.admission_documents:
            for tree in (head_tree, base_tree):
                if not _admission_objects(tree, config.sources):
                    admission.assume_none(tree, engine.admission_documents)
        head_context = LoadContext(tree=head_tree, options=config.sources)
        base_context = LoadContext(tree=base_tree, options=config.sources)
        touched = {path for c in changes for path in (c.old, c.new) if path}
        # A changed link to a directory changes every file a deployer reads through it, and a
        # changed file changes what is read through every link to it.
        head_paths = _through_links(head_tree, head_paths, touched, config)
        base_paths = _through_links(base_tree, base_paths, touched, config)
        # Every chart, overlay and Application a changed file feeds is judged on both sides,
        # read through a link too (a chart's template that links to a shared file: r17).
        linked = {
            path
            for tree in (head_tree, base_tree)
            for path, target in tree.read_through.items()
            if target in touched
        }
        fed = discover.select(
            depgraph.build(head_context).affected(touched | linked), config.include, config.exclude
        )
        # Image lines whose Flux ImagePolicy the change points at another repository.
        repointed = image_automation.repointed(touched, head_tree, base_tree)
        marked_files = discover.select(repointed.files, config.include, config.exclude)
        head_scan = _existing(head_tree, [*head_paths, *fed, *marked_files])
        base_scan = _existing(base_tree, [*base_paths, *fed, *marked_files])

        def run(context: LoadContext, paths: list[str]) -> tuple[ScanResult, pss_admission.Rejudge]:
            """The scan of `paths`, and how to judge its files again at a namespace's pinned
            Pod Security version (when the repository-scope findings are added)."""
            tree = context.tree
            assert isinstance(tree, gitops.RevisionTree)
            contents = tree.read_many(paths)
            result = pipeline.scan_with_overrides(
                contents.items(), engine, config, context, jobs, (), False
            )
            # A blob the clone lacks (a partial clone: never fetched during a scan) is said.
            message = "content not in this clone (partial clone?); not scanned"
            result.findings += [
                to_finding(Problem("GK-READ-ERROR", path, 1, message))
                for path in paths
                if path not in contents
            ]
            return result, pss_admission.rescan(list(contents.items()), context, jobs)

        base_result, base_rejudge = run(base_context, base_scan)
        # Admission policies see an object the base has as an update of it (oldObject), and
        # judge the deletion of one the change removes.
        deleted = admission.compare_with_base(
            head_context,
            engine.admission_documents,
            base_context,
            base_scan,
            head_scan,
            engine.admission_kube_version,
        )
        head_result, head_rejudge = run(head_context, head_scan)
        swapped = [folder for folder in vendored if any(p.startswith(folder) for p in touched)]
        if swapped:  # the deployers judged again with the trusted copies (red team r14)
            trusted_copies = gitops.RevisionTree(head_commit, head_tree.reader)
            trusted_copies.pin(base_tree, swapped)
            pinned, _ = run(LoadContext(tree=trusted_copies, options=config.sources), head_scan)
            known = {finding.fingerprint for finding in head_result.findings}
            head_result.findings += [f for f in pinned.findings if f.fingerprint not in known]
        unchanged_inventory: list[InventoryEntry] = []
        unchanged_constraints: list[InventoryEntry] = []
        if engine.needs_inventory:
            scanned = [*base_result.inventory, *head_result.inventory]
            namespaces = None if filter_mode == "all" else _namespaces_judged_again(scanned)
            others = touched | set(head_scan)
            # What repository-scope policies count, Namespaces (their Pod Security labels)
            # and what selects namespaces by label (admission_weakened).
            counted = counted_kinds(engine)
            selecting = admission_weakened.SELECTING_KINDS
            kinds = None if counted is None else counted | {"Namespace", *selecting}
            unchanged_inventory = _inventory(head_tree, others, config, namespaces, kinds)
            if _relabelled(base_result.inventory, head_result.inventory):
                unchanged_constraints = _unchanged_constraints(head_tree, others, config)
        # An unchanged manifest that only builds deploy counts as each side's builds of it
        # made it (red team r24: a kustomization moving a NetworkPolicy to another namespace).
        base_unchanged = inventory_as_deployed(
            unchanged_inventory, base_result.findings, base_result.files, base_context
        )
        head_unchanged = inventory_as_deployed(
            unchanged_inventory, head_result.findings, head_result.files, head_context
        )
        pipeline.judge_repository(
            base_result, engine, config, base_unchanged, base_rejudge, base_context
        )
        pipeline.judge_repository(
            head_result, engine, config, head_unchanged, head_rejudge, head_context
        )
        base_findings = base_result.findings + [to_finding(p) for p in base_tree.problems]
        head_findings = head_result.findings + [to_finding(p) for p in head_tree.problems]
        from gatekeeper.sources.flux import gone_from_base  # an overlay the change took away

        head_findings = gone_from_base(head_findings, base_tree, head_tree)
        from gatekeeper.sources.helm_vendored import added_by_change  # a registry it trusts

        head_findings = added_by_change(head_findings, base_tree, head_tree, touched)
        # What waivers covered in the base files this change did not make us scan (red team
        # s14 v04): only for a waiver a new finding meets that covered nothing scanned so far.
        waived_elsewhere = _waived_elsewhere(
            head_findings, base_findings, waivers, base_scan, base_context, config, run
        )
        head_findings += deleted
        # A Namespace's Pod Security enforce label removed or lowered (red team s11 r14), and
        # an admission policy, webhook or Kyverno's ConfigMap that enforces less (s17 y01).
        head_findings += [
            finding
            for finding in [
                *pss_admission.lowered(base_result.inventory, head_result.inventory, engine),
                *admission_weakened.weakened(
                    base_result.inventory,
                    head_result.inventory,
                    engine,
                    {c.new: c.old for c in selected if c.new and c.old},
                    [*head_unchanged, *unchanged_constraints],
                ),
                # the params an enforcing binding reads, weakened (red team s19 trust12 t03)
                *admission_params.weakened(
                    base_result.inventory,
                    head_result.inventory,
                    [*head_result.inventory, *head_unchanged],
                    base_tree,
                    head_tree,
                    engine,
                ),
            ]
            if finding.policy_id
            not in {p for o in pipeline.overrides_for(config, finding.file) for p in o.disable}
        ]

        # Annotations of the changed files, and of unchanged files the findings point at
        # (a template a values change renders, a base an overlay builds).
        pointed = sorted({finding.file for finding in head_findings} - touched)
        head_skips = _skips(head_tree, [*head_paths, *pointed])
        base_skips = _skips(base_tree, [*base_paths, *pointed])
        gate_changes = _gate_changes(changes, base_tree, head_tree, lines)
        # Image lines the change hands to Flux image automation (red team s13 u02).
        marked = {
            **repointed.markers,
            **image_automation.added(head_paths, head_tree, base_tree),
        }
        # Deployers the base branch gained since the fork point that read this change's files.
        gate_changes += base_moved.findings(
            repo, fork_point, trusted, touched, head_tree.reader, config.sources
        )
        # What CI applies to a cluster from advisory paths counts (read before the trees close).
        head_applied = pipeline.applied_if_advisory(head_findings, config, head_tree)
        base_applied = pipeline.applied_if_advisory(base_findings, config, base_tree)
    finally:
        head_tree.reader.close()
    if config.forbid_inline_skips:
        head_findings += [waivers_mod.forbidden_finding(skip) for skip in head_skips]
        base_findings += [waivers_mod.forbidden_finding(skip) for skip in base_skips]
        trusted_skips: list[waivers_mod.Skip] = []
        untrusted: list[waivers_mod.Skip] = []
    else:
        renamed_skips = {c.new: c.old for c in selected if c.new and c.old}
        trusted_skips, untrusted = _trust_skips(head_skips, base_skips, renamed_skips)

    threshold = severity_threshold or config.severity_threshold
    renamed = {c.new: c.old for c in selected if c.new and c.old}
    head_findings = content_bound(head_findings, head_tree)
    base_findings = content_bound(base_findings, base_tree)
    covers = _skip_covers(base_findings, renamed, head_skips, base_tree)
    # An annotation without a reason is not honoured (the plain scan reports it).
    honoured = [skip for skip in trusted_skips if skip.reason]
    base_honoured = [] if config.forbid_inline_skips else [s for s in base_skips if s.reason]

    def exemptions(
        side: list[Finding], skips: list[waivers_mod.Skip], applied: frozenset[str]
    ) -> dict[str, str]:
        return _exemptions(side, waivers, skips, covers, config, threshold, today, applied)

    findings = _content_changed(classify(head_findings, base_findings))
    findings = image_automation.judged_again(findings, marked)
    findings = _unrendered_inputs_changed(findings, touched | set(fed), head_tree)
    findings = no_longer_exempt(
        findings,
        exemptions(base_findings, base_honoured, base_applied),
        exemptions(findings, honoured, head_applied),
    )
    findings = [f for f in findings if _in_filter(f, filter_mode, lines, context_lines, head_paths)]
    shown = {finding.fingerprint for finding in findings}  # a replaced policy: in every report
    findings += [
        n.with_(status="existing") for n in engine.override_notices() if n.fingerprint not in shown
    ]
    findings += _policy_changes(changes, trust_paths, lines)
    findings += gate_changes
    findings += added_skips(untrusted, head_findings, engine.policies, config.waivers_file)
    beyond = _beyond_waivers(findings, base_findings + waived_elsewhere, waivers)
    findings = _unwaived(waivers_mod.apply(findings, waivers, today), beyond)
    findings = waivers_mod.apply_skips(findings, honoured, forbid=False, covers=covers)
    soon = waivers_mod.expiring(waivers, today, config.warn_days)
    findings += [waivers_mod.expiring_finding(waiver, today) for waiver in soon]
    return ChangeResult(
        verdict=pipeline.verdict(findings, config, threshold, applied=lambda: head_applied),
        changed_lines=lines,
        changed_files=changed_files,
        config=config,
        policies=engine.policies,
        expiring_waivers=soon,
        base_sha=base_sha,
        head_sha=head_sha,
        trusted_sha=trusted.hexsha,
        files_scanned=len(head_result.files),
        documents=head_result.documents,
        context_lines=context_lines,
        notices=tuple(sorted(head_result.notices | base_result.notices)),
    )


def _beyond_waivers(
    findings: list[Finding], base: list[Finding], waivers: list[Waiver]
) -> set[str]:
    """Fingerprints of new findings that only waivers written for other findings match: a
    waiver that covered findings in the base (`K8S-PSS-HOST-PATH` on node-agent, "reads
    /var/log") does not cover a second hostPath volume of `/` the change adds, nor the
    same one made worse (red team r09), as an inline skip covers only what was under it. A
    waiver that covered nothing in the base is an approval ahead of the change: it does."""
    covered: dict[int, set[str]] = {}  # only for waivers a new finding meets: base x few

    def known(index: int) -> set[str]:
        if index not in covered:
            covered[index] = {
                printed for b in base if waivers[index].matches(b) for printed in run_by.prints(b)
            }
        return covered[index]

    # Where each base finding was deployed: a base finding of a file the change did not scan
    # (found by _waived_elsewhere) had no match in classify, which says nothing of a new
    # rendering then (an overlay taking a waived staging object into prod: red team s14 v06).
    deployed: dict[str, tuple[set[str], set[str]]] = {}
    for finding in base:
        where, objects = deployed.setdefault(finding.fingerprint, (set(), set()))
        where |= renderings(finding)
        objects |= deployed_as(finding)

    def elsewhere(finding: Finding) -> bool:
        where, objects = deployed.get(finding.fingerprint, (set(), set()))
        return bool(renderings(finding) - where or deployed_as(finding) - objects)

    beyond = set()
    for finding in findings:
        if finding.status != "new":
            continue
        matching = [known(index) for index, waiver in enumerate(waivers) if waiver.matches(finding)]
        if matching and all(
            had
            and (
                finding.fingerprint not in had
                or run_by.NEW in finding.extra
                or _made_worse(finding)
                or elsewhere(finding)
            )
            for had in matching
        ):
            beyond.add(finding.fingerprint)
    return beyond


def _made_worse(finding: Finding) -> bool:
    """Does the finding say the change made its base match worse (another value, another
    image repository, deployed somewhere new or as another object)? An exemption written
    for the old one does not speak for it."""
    return any(key in finding.extra for key in _WORSE)


# What classify records of a finding the change made worse than its base match.
_WORSE = (
    "was",
    "was_image",
    "was_subjects",
    "was_content",
    "new_variants",
    "was_deployed_as",
    "new_twins",
)


def _waived_elsewhere(
    head: list[Finding],
    base: list[Finding],
    waivers: list[Waiver],
    scanned: list[str],
    context: LoadContext,
    config: Config,
    run: Callable[[LoadContext, list[str]], tuple[ScanResult, Any]],
) -> list[Finding]:
    """Base findings of files the change did not scan, that the waivers a new finding meets
    cover, when those waivers covered nothing in what was scanned.

    The base side of a change scan reads only the changed files and what they feed, so a
    waiver for an untouched file (`K8S-PSS-HOST-PATH` on node-agent) looked written ahead of
    the change and covered any new object it matched (a Deployment mounting host `/` in
    another namespace). The rest of the base (only what the waivers' `file` globs and their
    readers hold, when every such waiver has one) is scanned once to tell the two apart."""
    known = {finding.fingerprint for finding in base}
    unproven = [
        waiver
        for waiver in waivers
        if any(waiver.matches(f) for f in head if f.fingerprint not in known)
        and not any(waiver.matches(b) for b in base)
    ]
    if not unproven:
        return []
    tree = context.tree
    assert isinstance(tree, gitops.RevisionTree)
    paths = discover.select(sorted(tree.paths), config.include, config.exclude)
    if all(waiver.file_glob for waiver in unproven):
        globs = [waiver.file_glob for waiver in unproven]
        named = [path for path in paths if discover.matches(path, globs)]
        readers = depgraph.build(context).affected(named)
        paths = discover.select([*named, *readers], config.include, config.exclude)
    done = set(scanned)
    rest = _existing(tree, [path for path in paths if path not in done])
    if not rest:
        return []
    result, _ = run(context, rest)
    return [f for f in result.findings if any(waiver.matches(f) for waiver in unproven)]


def _unwaived(findings: list[Finding], beyond: set[str]) -> list[Finding]:
    out = []
    for finding in findings:
        if finding.status == "waived" and finding.fingerprint in beyond:
            extra = {**finding.extra, "beyond_waiver": finding.waiver}
            message = f"{finding.message}; new, beyond what its waiver was written for"
            finding = finding.with_(status="new", waiver=None, extra=extra, message=message)
        out.append(finding)
    return out


# The rendering of a file applied as it is written (no chart, overlay or Application).
AS_WRITTEN = "as written"


def renderings(finding: Finding) -> set[str]:
    """Where a finding holds: its variants (overlays, releases, deployers), or the file as
    written when it has none."""
    return set(finding.extra.get("variants") or ()) or {AS_WRITTEN}


def classify(head: list[Finding], base: list[Finding], worse: bool = True) -> list[Finding]:
    """new: not in base; existing: in both; fixed: in base only (matched by fingerprint).

    With `worse`, a finding whose message says another value than its base match's is new
    (both sides judged by the same policies: only the value can have changed; not so for a
    policy change's impact, where the message itself may be what changed).

    A finding the base had in some renderings (overlays, releases, the file as written) that
    the change brings to another one is new: deploying a known violation to one more
    environment is a change. So is one its rendering now deploys as another object (an
    overlay's namespace changed from `sandbox` to `prod`): a rendered object's fingerprint
    names the line it came from, not what it is deployed as."""
    base_variants = {finding.fingerprint: renderings(finding) for finding in base}
    base_runners = {finding.fingerprint: run_by.runners(finding) for finding in base}
    base_objects = {finding.fingerprint: deployed_as(finding) for finding in base}
    base_messages = {finding.fingerprint: run_by.said(finding) for finding in base}
    base_images = {finding.fingerprint: finding.extra.get(image_identity.KEY) for finding in base}
    base_subjects = {f.fingerprint: f.extra.get(subject_identity.KEY) for f in base}
    base_content = {f.fingerprint: f.extra.get(content_identity.KEY) for f in base}
    aliases = base_matches(base)
    matched = set()
    out = []
    for finding in head:
        match = base_match(finding, aliases)
        if match is None:
            out.append(finding.with_(status="new"))
            continue
        matched.add(match)
        known = base_variants[match]
        added = sorted(renderings(finding) - known)
        # A CI line said once for every job running it (run_by): one job more is new.
        runs = sorted(run_by.runners(finding) - base_runners[match])
        added += runs
        was = base_objects[match]
        if added:
            extra = {**finding.extra, "new_variants": added}
            if runs:  # that job's own finding, which waivers of the others do not cover
                extra[run_by.NEW] = runs
            message = f"{finding.message}; newly deployed by this change: {', '.join(added)}"
            out.append(finding.with_(status="new", extra=extra, message=message))
        elif deployed_as(finding) - was and finding.extra.get("about") != "namespace":
            extra = {**finding.extra, "was_deployed_as": ", ".join(sorted(was))}
            message = f"{finding.message}; deployed as another object than in the base"
            out.append(finding.with_(status="new", extra=extra, message=message))
        elif any(printed not in aliases for printed in run_by.prints(finding)):
            # It stands for a finding the base did not have: one more container of the
            # object at a line written for each (setting_lines), matched by the first one's
            # fingerprint. Unfolded, that container's finding would be new (lead s20 z12:
            # a second privileged container beside a known one was existing, green).
            extra = {**finding.extra, "new_twins": True}
            message = f"{finding.message}; said for more containers or objects than in the base"
            out.append(finding.with_(status="new", extra=extra, message=message))
        elif worse and _other_image(finding, base_images[match]):
            # The same field runs another repository's image: a waiver or review of the old
            # image's code does not speak for it (red team r15); a tag or digest bump does.
            was_image = str(base_images[match])
            now = finding.extra[image_identity.KEY]
            extra = {**finding.extra, "was_image": was_image}
            message = (
                f"{finding.message}; runs another image repository than in the base"
                f" ({now}, was: {was_image})"
            )
            out.append(finding.with_(status="new", extra=extra, message=message))
        elif worse and content_identity.changed(finding, base_content[match]):
            # What a person reviewed (a MachineConfig's files, a mutation's patch, an ingress
            # snippet) was rewritten: reviewed again (red team s23 trust16 c11).
            extra = {**finding.extra, "was_content": str(base_content[match])}
            message = f"{finding.message}; what it sets changed since the base: review it again"
            out.append(finding.with_(status="new", extra=extra, message=message))
        elif worse and (granted := subject_identity.added(finding, base_subjects[match])):
            # The same binding grants its role to more subjects: a waiver or review of who
            # held it does not speak for the new ones (red team s23 trust16 c02).
            extra = {**finding.extra, "was_subjects": str(base_subjects[match] or "")}
            verb = "applied to" if finding.source == "terraform" else "granted to"
            message = f"{finding.message}; now also {verb} {', '.join(granted)}"
            out.append(finding.with_(status="new", extra=extra, message=message))
        elif (
            worse
            and finding.extra.get("about") != "namespace"  # names one of its workloads
            and _said(run_by.said(finding), finding.name)
            != _said(base_messages[match], finding.name)
        ):
            # The same field of the same object holds a worse value (`hostPath /var/log` made
            # `/`, NET_ADMIN made SYS_ADMIN): the change made this violation (red team r02).
            old = next(b.message for b in base if b.fingerprint == match)
            extra = {**finding.extra, "was": old}
            message = f"{finding.message}; changed by this change (was: {old})"
            out.append(finding.with_(status="new", extra=extra, message=message))
        else:
            out.append(finding.with_(status="existing"))
    out.extend(
        finding.with_(status="fixed") for finding in base if finding.fingerprint not in matched
    )
    return out


def base_matches(base: list[Finding]) -> dict[str, str]:
    """Every fingerprint a base finding stands for (its own, and those of the jobs' findings
    merged into it: run_by) -> that finding's fingerprint; its own wins."""
    aliases: dict[str, str] = {finding.fingerprint: finding.fingerprint for finding in base}
    for finding in base:
        for printed in run_by.prints(finding)[1:]:
            aliases.setdefault(printed, finding.fingerprint)
    return aliases


def base_match(finding: Finding, aliases: dict[str, str]) -> str | None:
    """The base finding a head finding is: by its fingerprint, else by one merged into it
    (the job kept for a merged CI line is another one than in the base)."""
    return next((aliases[p] for p in run_by.prints(finding) if p in aliases), None)


def _other_image(finding: Finding, was: object) -> bool:
    """Whether the finding's container or pod runs images of other repositories than its
    base match's (both recorded: image_identity)."""
    now = finding.extra.get(image_identity.KEY)
    return bool(now) and bool(was) and now != was


# An image's tag or digest in a message (`nginx:1.25`, `app@sha256:...`): a version bump of
# an image with a known finding is not a new violation.
_IMAGE_VERSION = lazy_re.compile(
    r"(?<=[\w\-/])(?::[\w][\w.\-]*)?@sha256:[0-9a-f]{8,}|(?<=[\w\-/]):[\w][\w.\-]*"
)


def _said(message: str, name: str = "") -> str:
    """What a finding says, without image versions, content hashes in names and the random
    part of its object's name (`name` as its identity holds it, helm_random)."""
    if RANDOM in name:
        parts = (re.escape(part) for part in name.split(RANDOM))
        random_name = r"(?<![\w.-])" + r"[^\s/()]+?".join(parts) + r"(?![\w.-])"
        message = re.sub(random_name, lambda _: name, message)
    return _unhashed(_IMAGE_VERSION.sub("", message))


# A content hash a rendering appends to a name (`{{ ... | sha256sum | trunc 7 }}`, kustomize's
# generator suffix): it changes with the content, not with what the object is.
_NAME_HASH = lazy_re.compile(
    r"-(?=[0-9a-z]*[0-9])(?:[0-9a-f]{6,64}|[bcdfghkmt2-9]{10})(?=$|[\s),/])"
)


def _unhashed(text: str) -> str:
    """`text` with content hashes at the end of object names made one mark (real-repo
    check: a Job named by a hash of its config made all its findings new when only the
    config changed)."""
    return _NAME_HASH.sub("-#", text)


def no_longer_exempt(
    findings: list[Finding], base_exempt: dict[str, str], head_exempt: dict[str, str]
) -> list[Finding]:
    """An existing finding that blocks where the change puts it, though its base match did
    not block where the base had it (an advisory path it was moved out of, a waiver or
    annotation or a directory's threshold tied to its old place), is new: the change is what
    makes it count. `*_exempt`: fingerprint -> why that finding would not block if new."""
    out = []
    for finding in findings:
        why = base_exempt.get(finding.fingerprint)
        if finding.status == "existing" and why and finding.fingerprint not in head_exempt:
            extra = {**finding.extra, "exempt_in_base": why}
            message = f"{finding.message}; did not block in the base ({why}), blocks here"
            finding = finding.with_(status="new", extra=extra, message=message)
        out.append(finding)
    return out


def _exemptions(
    findings: list[Finding],
    waivers: list[Waiver],
    skips: list[waivers_mod.Skip],
    covers: Callable[[waivers_mod.Skip, Finding], bool],
    config: Config,
    threshold: str,
    today: datetime.date,
    applied: frozenset[str],
) -> dict[str, str]:
    """fingerprint -> why the finding would not block were it new (waived, in an advisory
    path CI does not apply to a cluster, below its place's threshold), for each finding that
    would not."""
    judged = [finding.with_(status="new") for finding in findings if finding.status != "fixed"]
    judged = waivers_mod.apply(judged, waivers, today)
    judged = waivers_mod.apply_skips(judged, skips, forbid=False, covers=covers)
    out = {}
    for finding in pipeline.verdict(judged, config, threshold, applied=lambda: applied).findings:
        if not finding.blocking and finding.fingerprint:
            out[finding.fingerprint] = (
                "waived"
                if finding.status == "waived"
                else "in an advisory path"
                if finding.extra.get("advisory")
                else f"below the severity threshold of {finding.file}"
            )
    return out


def _skip_covers(
    base: list[Finding],
    renamed: dict[str, str],
    skips: dict[waivers_mod.Skip, frozenset[waivers_mod.Identity]],
    base_tree: gitops.RevisionTree,
) -> Callable[[waivers_mod.Skip, Finding], bool]:
    """Whether an annotation speaks for a finding under it: for the file as written, the
    findings the base had (its objects are bound to the base's by `_trust_skips`; a new
    violation of the same policy in the same object is not one); for the renderings (overlays,
    releases, Applications) and objects the base already had findings for from that file;
    for an object its document names as written (`skips`: the head's annotations with
    them), rendered by charts, overlays and Applications the base already had. Not for
    what a change newly deploys from it: an overlay that takes the document into another
    namespace or under another name, a release of one more item."""
    rendered: dict[str, set[str]] = {}
    objects: dict[str, set[str]] = {}
    known = base_matches(base)
    runners = {finding.fingerprint: run_by.runners(finding) for finding in base}
    for finding in base:
        rendered.setdefault(finding.file, set()).update(renderings(finding))
        objects.setdefault(finding.file, set()).update(deployed_as(finding))
    written = {(skip.file, skip.line): identities for skip, identities in skips.items()}

    def covers(skip: waivers_mod.Skip, finding: Finding) -> bool:
        if _made_worse(finding):  # hostPath /var/log made `/` under it (red team s14 v05)
            return False
        where = renderings(finding)
        if where == {AS_WRITTEN}:
            # What the base had: a second privileged container under a skip written for
            # the first is the change's own, to be reviewed (red team r20). Nor a CI line
            # that one more job runs (run_by): that job's run is the change's own.
            match = base_match(finding, known)
            return match is not None and run_by.runners(finding) <= runners[match]
        file = renamed.get(finding.file, finding.file)
        identity = scanned_object(finding)
        if where <= rendered.get(file, set()) and deployed_as(finding) <= objects.get(file, set()):
            return True
        homes = [pipeline.variant_home(variant) for variant in where - {AS_WRITTEN}]
        named = identity in written.get((skip.file, skip.line), frozenset())
        return named and all(base_tree.exists(home) for home in homes)

    return covers


def deployed_as(finding: Finding) -> set[str]:
    """Every object a finding is deployed as: its own, and those of renderings merged into
    it (a plain manifest's finding also speaks for the Application that deploys the file
    into `prod`: scanner.merge_variants)."""
    return {
        _unhashed(name)
        for name in ("/".join(scanned_object(finding)), *finding.extra.get("deployed_as", ()))
    }


# Findings about a file gatekeeper could not judge: what it holds is unknown, so any change
# of its content (a blob id, a submodule's commit) is a new finding, never an existing one.
UNJUDGED = frozenset(
    {
        "GK-FILE-TOO-LARGE",
        "GK-BINARY-FILE",
        "GK-ENCODING-ERROR",
        "GK-READ-ERROR",
        "GK-PARSE-ERROR",
        "GK-LFS-POINTER",
    }
)


def _content_changed(findings: list[Finding]) -> list[Finding]:
    """A file not judged on either side whose content changed is said once, as new (its
    base twin is not `fixed`: nothing was)."""
    sides: dict[bool, set[tuple[str, str]]] = {True: set(), False: set()}
    for finding in findings:
        if finding.policy_id in UNJUDGED:
            sides[finding.status == "fixed"].add((finding.policy_id, finding.file))
    changed = sides[True] & sides[False]
    out = []
    for finding in findings:
        if (finding.policy_id, finding.file) in changed:
            if finding.status == "fixed":
                continue
            if finding.status == "new":
                message = f"{finding.message} (its content changed, unjudged again)"
                finding = finding.with_(message=message)
        out.append(finding)
    return out


# Findings about a rendering gatekeeper could not make (a chart that fails, an overlay with a
# remote base, an Application it cannot expand): what the rendering deploys is not judged.
UNRENDERED = frozenset(
    {
        "GK-RENDER-ERROR",
        "GK-HELM-VALUES-MISSING",
        "GK-RENDERER-MISSING",
        "GK-NOT-EXPANDED",
        "GK-LOCAL-NOT-EXPANDED",
        "GK-REVISION-UNSEEN",
    }
)


def _unrendered_inputs_changed(
    findings: list[Finding], changed: set[str], tree: gitops.RevisionTree
) -> list[Finding]:
    """An existing finding that a rendering is not judged is new when the change alters an
    input of it (its file, a file it reads, a file of its chart): whatever the change adds
    there is judged by nothing (red team r31, r32, r08 of session 10: a chart that never
    rendered hid a privileged DaemonSet added to it, an overlay with a remote base hid a
    patch). Said, with the reason, at the rendering's own line."""
    from gatekeeper.sources import helm

    def altered(file: str) -> bool:
        if file in changed:
            return True
        charts = [d for d in helm.parents(file) if helm.has_chart(d, tree)]
        return bool(charts) and posixpath.join(charts[-1], helm.CHART_FILE) in changed

    out = []
    for finding in findings:
        unrendered = finding.status == "existing" and finding.policy_id in UNRENDERED
        if unrendered and altered(finding.file):
            message = f"{finding.message} (this change alters what it renders: not judged)"
            finding = finding.with_(status="new", message=message)
        out.append(finding)
    return out


def content_bound(findings: list[Finding], tree: gitops.RevisionTree) -> list[Finding]:
    """Findings about files that were not judged, fingerprinted with the file's content id."""
    out = []
    for finding in findings:
        content = tree.content_id(finding.file) if finding.policy_id in UNJUDGED else None
        if content:
            finding = finding.with_(fingerprint=fingerprint(finding.fingerprint, content))
        out.append(finding)
    return out


def _in_filter(
    finding: Finding,
    mode: str,
    lines: dict[str, set[int]],
    context_lines: dict[str, set[int]],
    head_paths: list[str],
) -> bool:
    """Which findings a change reports. New findings always count: the change introduced them
    even where no line changed (a deleted field, a NetworkPolicy removed elsewhere); the filter
    picks which *existing* findings are shown beside them."""
    if finding.status in ("new", "fixed") or mode == "all":
        return True
    if mode == "added":
        return finding.line in lines.get(finding.file, ())
    if mode == "diff_context":
        return finding.line in context_lines.get(finding.file, ())
    return finding.file in head_paths


def _through_links(
    tree: gitops.RevisionTree, paths: list[str], touched: set[str], config: Config
) -> list[str]:
    """`paths` with a link to a directory replaced by the files read through it, plus the
    files read through links that lead to a `touched` file."""
    out = below(paths, cast("Mapping[str, bytes]", tree.blobs))
    through = sorted(path for path, target in tree.read_through.items() if target in touched)
    kept = discover.select(through, config.include, config.exclude)
    return [*out, *(path for path in kept if path not in out)]


def _existing(tree: gitops.RevisionTree, paths: list[str]) -> list[str]:
    """`paths` that the revision has, once each, in order."""
    return [path for path in dict.fromkeys(paths) if tree.exists(path)]


def _read(commit: Any, path: str) -> bytes | None:
    return gitops.read_files(commit, [path]).get(path)


def _trusted_config(commit: Any) -> Config:
    for name in CONFIG_NAMES:
        data = _read(commit, name)
        if data is not None:
            return parse_config(name, data)
    return Config()


def _trusted_waivers(commit: Any, config: Config, today: datetime.date) -> list[Waiver]:
    data = _read(commit, config.waivers_file)
    if data is None:
        return []
    return waivers_mod.parse_waivers(config.waivers_file, data, today, config.max_horizon_days)


def _trusted_policies(
    repo: Any, commit: Any, config: Config, extra_dirs: Sequence[str], builtin: bool
) -> tuple[list[Policy], list[str]]:
    """Load policies as the base revision has them; returns them and the repo paths they came
    from (config, lock, waivers, local policy directories) so changes to those are flagged."""
    from gatekeeper import lock
    from gatekeeper.bundle import policy_roots
    from gatekeeper.policy.loader import load_bundle

    root = Path(repo.working_tree_dir).resolve()
    trust_paths = [*CONFIG_NAMES, lock.LOCK_NAME, config.waivers_file]
    local = [source["path"] for source in config.policies if "git" not in source]
    extra_inside: list[str] = []
    extra_outside: list[str] = []
    for directory in extra_dirs:
        relative = discover.relative(Path(directory), root)
        if Path(relative).is_absolute() or relative.startswith("../"):
            extra_outside.append(directory)
        else:
            extra_inside.append(relative)
    local += extra_inside
    trust_paths.extend(posixpath.normpath(path) + "/" for path in local)
    trust_paths.extend(helm.vendored_folders(config.sources.get("helm", {})))
    temp = Path(tempfile.mkdtemp(prefix="gatekeeper-base-"))
    try:
        prefixes = tuple(posixpath.normpath(path) + "/" for path in local)
        files = gitops.read_tree(commit, lambda p: p.startswith(prefixes)) if prefixes else {}
        for path, data in files.items():
            out = temp / path
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(data)
        for path in local:
            (temp / path).mkdir(parents=True, exist_ok=True)  # a dir the base lacks: empty

        def read_lock() -> list[lock.LockEntry] | None:
            data = _read(commit, lock.LOCK_NAME)
            return None if data is None else lock.parse_lock(lock.LOCK_NAME, data)

        roots = policy_roots(config, (), builtin, base=temp, read_lock=read_lock)
        roots += [temp / posixpath.normpath(path) for path in extra_inside]
        roots += [Path(directory) for directory in extra_outside]
        policies = load_bundle(roots)
        for policy in policies:  # the repository's paths, not the temporary copy's
            policy.file = policy.file.replace(f"{temp}/", "", 1)
            policy.replaced = policy.replaced.replace(f"{temp}/", "", 1)
        return policies, trust_paths
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def _inventory(
    tree: gitops.RevisionTree,
    scanned: set[str],
    config: Config,
    namespaces: set[str] | None,
    kinds: frozenset[str] | None,
) -> list[InventoryEntry]:
    """Inventory of the tree's other Kubernetes manifests with objects in `namespaces` (None:
    all) of `kinds` (None: all), for repository-scope policies."""
    from gatekeeper import blobcache
    from gatekeeper.sources import flux_ignore, kubernetes

    paths = [
        path
        for path in tree.paths
        if path not in scanned
        and kubernetes.detect(path)
        and not flux_ignore.left_out(tree, path)  # never in a Flux artifact
    ]
    names = discover.select(paths, config.include, config.exclude)

    def keep(where: list[str], _: list[str]) -> bool:
        return namespaces is None or not namespaces.isdisjoint(where)

    found = blobcache.inventory(tree, names, config.sources, keep, kinds)
    return [entry for name in names for entry in found.get(name, [])]


def _relabelled(base: Sequence[InventoryEntry], head: Sequence[InventoryEntry]) -> bool:
    """Does the change give a Namespace of the base other labels?"""
    before = {e.name: e.labels for e in base if e.kind == "Namespace"}
    return any(
        e.kind == "Namespace" and e.name in before and e.labels != before[e.name] for e in head
    )


_CONSTRAINTS = "constraints.gatekeeper.sh"


def _unchanged_constraints(
    tree: gitops.RevisionTree, scanned: set[str], config: Config
) -> list[InventoryEntry]:
    """The OPA Gatekeeper constraints of the files the change left alone, for a Namespace it
    relabels out of one's `match.namespaceSelector` (red team s18 v02 gkselector): a
    constraint's kind is its template's own, so no list of kinds finds them; only files that
    spell their group are parsed, and only when a Namespace's labels change."""
    from gatekeeper import blobcache
    from gatekeeper.sources import flux_ignore, kubernetes

    paths = [
        path
        for path in tree.paths
        if path not in scanned and kubernetes.detect(path) and not flux_ignore.left_out(tree, path)
    ]
    names = discover.select(paths, config.include, config.exclude)
    spelled = sorted(
        path for path, data in tree.read_many(names).items() if _CONSTRAINTS.encode() in data
    )
    found = blobcache.inventory(tree, spelled, config.sources)
    return [
        entry
        for name in spelled
        for entry in found.get(name, [])
        if entry.api_version.startswith(_CONSTRAINTS + "/")
    ]


def _admission_objects(tree: gitops.RevisionTree, options: dict[str, dict[str, Any]]) -> bool:
    """Does a YAML or JSON file of the revision declare an admission policy or binding?
    Parsed, through the blob cache; a blob that cannot spell one of their kinds is not."""
    from gatekeeper import blobcache

    names = [path for path in tree.paths if path.lower().endswith((".yaml", ".yml", ".json"))]
    return bool(blobcache.inventory(tree, names, options, kinds=_ADMISSION_KINDS))


_ADMISSION_KINDS = frozenset(
    {admission.POLICY_KIND, admission.BINDING_KIND, admission.KYVERNO_KIND}
)


def _namespaces_judged_again(scanned: list[InventoryEntry]) -> set[str] | None:
    """Where the repository-scope verdict on unchanged objects can change: each namespace in
    which a scanned file (either side) declares objects, and `default` (where objects without
    a namespace count, as do cluster-wide ones). Elsewhere every count, and so every finding,
    is the same on both sides: existing findings that only the `all` filter shows. A changed
    SecurityContextConstraints changes what the RoleBindings of every namespace give that
    use it (rbac_reach): None, all of them (red team s20 trust13 s01)."""
    if any(entry.kind == SCC_KIND for entry in scanned):
        return None
    return {entry.namespace or "default" for entry in scanned} | {"default"}


def _skips(
    tree: gitops.RevisionTree, paths: list[str]
) -> dict[waivers_mod.Skip, frozenset[waivers_mod.Identity]]:
    """The inline skips of `paths`, each with the objects of the document it sits in."""
    skips = {}
    for path, data in tree.read_many(paths).items():
        if b"gatekeeper:skip" in data:
            text = data.decode("utf-8", "replace")
            for skip in waivers_mod.inline_skips(path, text):
                skips[skip] = waivers_mod.document_identities(skip, text)
    return skips


def _trust_skips(
    head: dict[waivers_mod.Skip, frozenset[waivers_mod.Identity]],
    base: dict[waivers_mod.Skip, frozenset[waivers_mod.Identity]],
    renamed: dict[str, str],
) -> tuple[list[waivers_mod.Skip], list[waivers_mod.Skip]]:
    """An annotation counts only for the policies that the base already skipped, with a
    reason, for the same objects (kind, namespace, name) in the same file (or the file it was
    renamed from). One added by the change, or copied or moved to another object, is reported
    for review instead of silencing its own finding."""
    known: dict[tuple[str, waivers_mod.Identity], set[str]] = {}
    for skip, identities in base.items():
        if skip.reason:
            for identity in identities:
                known.setdefault((skip.file, identity), set()).update(skip.policies)
    trusted, untrusted = [], []
    for skip, identities in head.items():
        file = renamed.get(skip.file, skip.file)
        allowed = set.intersection(*(known.get((file, i), set()) for i in identities))
        ok = tuple(p for p in skip.policies if p in allowed)
        rest = tuple(p for p in skip.policies if p not in allowed)
        if ok:
            trusted.append(dataclasses.replace(skip, policies=ok))
        if rest:
            untrusted.append(dataclasses.replace(skip, policies=rest))
    return trusted, untrusted


def _policy_changes(
    changes: list[gitops.FileChange], trust_paths: list[str], lines: dict[str, set[int]]
) -> list[Finding]:
    out = []
    for change in changes:
        for path in {change.old, change.new} - {None}:
            assert path is not None
            if not any(path == t or (t.endswith("/") and path.startswith(t)) for t in trust_paths):
                continue
            line = min(lines.get(path, {1})) if path == change.new else 1
            out.append(_policy_change(path, line, change.status))
            break
    return out


def _gate_changes(
    changes: list[gitops.FileChange],
    base_tree: gitops.RevisionTree,
    head_tree: gitops.RevisionTree,
    lines: dict[str, set[int]],
) -> list[Finding]:
    """Workflows and the pre-commit configuration that run gatekeeper, changed: the pull
    request's own copy runs (`--exit-zero` added to the step, an `exclude:` on the hook), so
    it is said for review, as `gatekeeper github` blocks it until someone else approves."""
    from gatekeeper.github import gatefiles

    def reader(tree: gitops.RevisionTree) -> gatefiles.Reader:
        return lambda path: tree.read(path) if tree.exists(path) else None

    every = sorted(set(base_tree.list_dir(".")) | set(head_tree.list_dir(".")))
    trees = gatefiles.Trees(reader(base_tree), reader(head_tree), lambda: set(every))
    workflows = gatefiles.base_workflows(trees, every)
    checks = gatefiles.gate_checks(workflows, read=trees.read_base, every=every)
    out = []
    for change in changes:
        reason = gatefiles.why_gate(change, trees, workflows, checks, every)
        if reason:
            path = change.new or change.old or ""
            line = min(lines.get(path, {1})) if change.new else 1
            finding = _policy_change(path, line, change.status)
            out.append(finding.with_(message=f"{finding.message} ({reason})"))
    return out


def _policy_change(path: str, line: int, status: str) -> Finding:
    what = {"A": "added", "D": "deleted", "R": "renamed"}.get(status, "changed")
    message = (
        f"{path} is {what} by this change: it judges changes, so it needs review by its "
        "owners; this change is still judged by the base revision's version"
    )
    return to_finding(Problem("GK-POLICY-CHANGE", path, line, message), identity=())


SKIP_AHEAD = "GK-INLINE-SKIP-AHEAD"


def added_skips(
    skips: list[waivers_mod.Skip], head: list[Finding], policies: list[Policy], waivers_file: str
) -> list[Finding]:
    """Annotations a change adds (they waive nothing in it). One for a policy its document
    violates in the change is for review (the violation itself is reported). One for a
    policy the document does not violate waives nothing the reviewer can see: merged, it
    would silence a later change's violation unreviewed (annotate now, break later), so it
    is a finding as severe as the worst policy it skips, until approved (`gatekeeper
    github`: a code owner of the waivers file)."""
    severities = {policy.id: policy.severity for policy in policies}
    out = []
    for skip in skips:
        shown = {
            f.policy_id for f in head if f.file == skip.file and skip.start <= f.line <= skip.end
        }
        seen = tuple(p for p in skip.policies if p in shown)
        ahead = tuple(p for p in skip.policies if p not in shown)
        if seen:
            out.append(_untrusted_skip(dataclasses.replace(skip, policies=seen)))
        if ahead:
            severity = max((severities.get(p, "high") for p in ahead), key=severity_rank)
            message = (
                f"gatekeeper:skip={','.join(ahead)} is added by this change for policies its "
                "document does not violate here: merged, it would waive a later change's "
                f"violation unreviewed; a code owner of {waivers_file} must approve it"
            )
            problem = Problem(SKIP_AHEAD, skip.file, skip.line, message)
            finding = to_finding(problem, identity=ahead).with_(severity=severity)
            out.append(finding.with_(extra={"skip": [skip.start, skip.end]}))
    return out


def _untrusted_skip(skip: waivers_mod.Skip) -> Finding:
    message = (
        f"gatekeeper:skip={','.join(skip.policies)} is added by this change: it takes effect "
        "once merged and reviewed, not for the change that adds it"
    )
    return to_finding(
        Problem("GK-POLICY-CHANGE", skip.file, skip.line, message),
        identity=skip.policies,
        title="Inline skip added",
    )
