"""The steps shared by every scan mode after discovery: scan with per-directory overrides,
waivers and inline skips, and the final verdict."""

from __future__ import annotations

import datetime
import posixpath
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gatekeeper import deployer_scope, pss_admission, spelling
from gatekeeper import waivers as waivers_mod
from gatekeeper.built_only import inventory_as_deployed, without_unbuilt_views
from gatekeeper.config import Config, Override
from gatekeeper.contents import SKIP_MARKER, Contents, added, names_of, subset
from gatekeeper.decide import BLOCKING_STATUSES, Verdict
from gatekeeper.discover import matches
from gatekeeper.document import Problem
from gatekeeper.evaluate import Engine
from gatekeeper.finding import Finding, at_least, by_place, severity_rank, shared
from gatekeeper.inventory import InventoryEntry, counted_kinds, projected
from gatekeeper.overlaps import said_once
from gatekeeper.problems import to_finding
from gatekeeper.scanner import ScanResult, collector_paused, finalize, predict_admission, scan
from gatekeeper.sources import LISTING_PAYS, LoadContext, with_owners
from gatekeeper.sources.gitops import DEPLOYED_BY, ON_CLUSTER

if TYPE_CHECKING:
    from gatekeeper.context import RunContext
    from gatekeeper.tree import Tree

# Findings that inform a reviewer and never block on their own.
NEVER_BLOCK = frozenset({"GK-POLICY-CHANGE", "GK-POLICY-OVERRIDE", "GK-WAIVER-EXPIRING"})


def overrides_for(config: Config, file: str) -> list[Override]:
    return [override for override in config.overrides if matches(file, [override.path])]


def threshold_for(config: Config, file: str, default: str) -> str:
    threshold = default
    for override in overrides_for(config, file):
        threshold = override.severity_threshold or threshold
    return threshold


def threshold_of(config: Config, file: str, variants: Sequence[str], default: str) -> str:
    """The threshold where a finding in `file` rendered as `variants` lands: its file's, or
    that of a place deploying it (an overlay, a release, an Application: each variant's home)
    where that is stricter; a directory's relaxed threshold does not follow its files into
    what deploys them elsewhere."""
    places = [file, *(variant_home(str(v)) for v in variants)]
    return min((threshold_for(config, place, default) for place in places), key=severity_rank)


def _group_engine(engine: Engine, overrides: Sequence[Override]) -> Engine:
    disabled = {policy_id for override in overrides for policy_id in override.disable}
    params: dict[str, dict[str, Any]] = {k: dict(v) for k, v in engine.param_overrides.items()}
    for override in overrides:
        for policy_id, values in override.params.items():
            params.setdefault(policy_id, {}).update(values)
    return Engine(
        [p for p in engine.policies if p.id not in disabled],
        params,
        engine.admission_documents,
        engine.admission,
        engine.admission_user_info,
        engine.admission_kube_version,
        bundle_key=engine.bundle_key,
    )


def scan_with_overrides(
    pairs: Iterable[tuple[str, bytes]] | Contents,
    engine: Engine,
    config: Config,
    context: LoadContext,
    jobs: int = 0,
    extra_inventory: Sequence[InventoryEntry] = (),
    repository: bool = True,
) -> ScanResult:
    """Scan each group of files that shares the same overrides with its own engine; judge
    repository-scope policies once over every file's inventory plus `extra_inventory`
    (`repository=False`: the caller calls judge_repository itself)."""
    pairs = pairs if isinstance(pairs, Contents) else list(pairs)
    groups: dict[tuple[int, ...], list[str]] = defaultdict(list)
    for path in names_of(pairs):
        key = tuple(i for i, o in enumerate(config.overrides) if matches(path, [o.path]))
        groups[key].append(path)
    result = ScanResult()
    for key, names in groups.items():
        group_engine = _group_engine(engine, [config.overrides[i] for i in key]) if key else engine
        items = pairs if len(groups) == 1 else subset(pairs, names)
        result.merge(scan(items, group_engine, jobs, context, repository=False))
    if any(policy.scope == "repository" for policy in engine.policies):  # (not a hook's)
        result.inventory = inventory_as_deployed(
            result.inventory, result.findings, result.files, context
        )
    result.findings = said_once(without_unbuilt_views(result.findings, result.files, context))
    if repository:
        judge_repository(
            result,
            engine,
            config,
            extra_inventory,
            pss_admission.rescan(pairs, context, jobs),
            context,
        )
        from gatekeeper.rbac_reach import said_at_roles

        result.findings = said_at_roles(result.findings)
    return result


def judge_repository(
    result: ScanResult,
    engine: Engine,
    config: Config,
    extra_inventory: Sequence[InventoryEntry] = (),
    rejudge: pss_admission.Rejudge | None = None,
    context: LoadContext | None = None,
) -> None:
    """Add the findings of repository-scope policies over the result's inventory plus
    `extra_inventory` (per-directory disables apply), and finalize the result's findings
    (`rejudge`: how to scan files again at a namespace's pinned Pod Security version;
    `context`: the tree whose deployers say where objects go, deployer_scope)."""
    inventory = [*result.inventory, *extra_inventory]
    counted = projected(_deployed_or_workloads(inventory, config, context), counted_kinds(engine))
    if context is not None:
        counted = deployer_scope.scoped(counted, context)
    repository = engine.evaluate_repository(counted)
    for finding in repository:
        disabled = {p for o in overrides_for(config, finding.file) for p in o.disable}
        if finding.policy_id not in disabled:
            result.findings.append(finding)
    result.findings = finalize(predict_admission(result.findings, inventory, engine, rejudge))


def _deployed_or_workloads(
    inventory: list[InventoryEntry], config: Config, context: LoadContext | None
) -> list[InventoryEntry]:
    """The inventory without the objects other than workloads that sit in advisory paths
    (docs, tests, fixtures) where nothing builds or applies them (`advisory`): an example
    NetworkPolicy in `docs/` is not in the cluster, yet it counted as the namespace's and
    K8S-NETWORK-POLICY-PRESENT passed (red team s22 trust15 c37); so are CI's fixtures under
    `.github/` that only a throwaway cluster gets (_ci_fixture). Workloads there stay: what
    is said of them is advisory already."""
    from gatekeeper.workloads import WORKLOAD_KINDS

    if not config.advisory_paths:
        return inventory
    applied: list[frozenset[str]] = []

    def applied_paths() -> frozenset[str]:  # asked once, only for an advisory object
        if not applied:
            applied.append(_applied(context.tree) if context else frozenset())
        return applied[0]

    return [
        entry
        for entry in inventory
        if entry.kind == "Pod"
        or entry.kind in WORKLOAD_KINDS
        or not (matches(entry.file, config.advisory_paths) or _ci_folder(entry.file))
        or not advisory(entry.file, [entry.variant] if entry.variant else [], config, applied_paths)
    ]


def apply_waivers(
    findings: list[Finding],
    config: Config,
    waivers: list[waivers_mod.Waiver],
    skips: list[waivers_mod.Skip],
    today: datetime.date,
) -> tuple[list[Finding], list[waivers_mod.Waiver]]:
    """Waivers, then inline skips; returns the findings and the waivers about to expire."""
    findings = waivers_mod.apply(findings, waivers, today)
    findings = waivers_mod.apply_skips(findings, skips, config.forbid_inline_skips)
    soon = waivers_mod.expiring(waivers, today, config.warn_days)
    findings.extend(waivers_mod.expiring_finding(waiver, today) for waiver in soon)
    return findings, soon


def advisory(
    file: str,
    variants: Sequence[str],
    config: Config,
    applied: Callable[[], frozenset[str]] = frozenset,
) -> bool:
    """A finding in `file` rendered as `variants`, in test data, fixtures or docs
    (config.advisory_paths), informs and does not block, unless something outside those paths
    builds or deploys the file: a kustomization or chart that takes it in, an Argo CD
    Application, an ApplicationSet or a Flux object that expands it, or CI applying it to a
    cluster (`applied`: kubectl_files.applied_to_clusters). Then it is what the cluster gets
    (a `docs/pod.yaml` that `deploy/` lists as a resource blocks like any other). A chart's
    test hook informs only: `helm test` creates it, install and upgrade never do (its
    rendering says so, see helm.test_hook)."""
    from gatekeeper.sources.names import TEST_HOOK_VARIANT

    if variants and all(str(variant).endswith(TEST_HOOK_VARIANT) for variant in variants):
        return True  # only `helm test` creates it (a chart's test hook)
    paths = config.advisory_paths
    if not paths:
        return False
    if not matches(file, paths):
        return _ci_fixture(file, [variant_home(str(variant)) for variant in variants], applied)
    homes = [variant_home(str(variant)) for variant in variants]
    if not all(matches(home, paths) for home in homes):
        return False
    applied_paths = applied()
    if not applied_paths:
        return True
    from gatekeeper.sources.kubectl_files import applied_in

    return not any(applied_in(place, applied_paths) for place in (file, *homes))


# Marks, in what `applied` gives advisory(), a path CI applies only to a throwaway cluster.
_TESTED = "\x00"


def _ci_fixture(file: str, homes: list[str], applied: Callable[[], frozenset[str]]) -> bool:
    """Is `file` (and what renders it) CI material under `.github/` (not a workflow or an
    action) that CI applies only to a throwaway cluster its job starts, nothing to a real
    one? argo-helm's `.github/configs/external-redis.yaml`, which its chart-testing job
    applies to the kind cluster it starts: 5 blocking findings of a test fixture. A file
    there that no CI applies (microservices-demo's `.github/release-cluster/`, applied by
    hand to the demo's cluster) still blocks."""
    places = [file, *homes]
    if not all(_ci_folder(place) for place in places):
        return False
    given = applied()
    tested = frozenset(path[len(_TESTED) :] for path in given if path.startswith(_TESTED))
    if not tested:
        return False
    from gatekeeper.sources.kubectl_files import applied_in

    real = frozenset(path for path in given if not path.startswith(_TESTED))
    return any(applied_in(place, tested) for place in places) and not any(
        applied_in(place, real) for place in places
    )


def _ci_folder(path: str) -> bool:
    """Below `.github/`, but not a workflow or an action's definition (what CI runs)."""
    name = posixpath.basename(path)
    return (
        path.startswith(".github/")
        and not path.startswith(".github/workflows/")
        and name not in ("action.yml", "action.yaml")
    )


def variant_home(variant: str) -> str:
    """Where the thing that rendered a finding lives: `kustomize overlays/prod` ->
    `overlays/prod/kustomization.yaml`, `helm charts/web -f v.yaml` -> `charts/web/Chart.yaml`,
    `helm charts/web --api-versions a.io/v1` -> the same, `deployed by apps/app.yaml:web` ->
    `apps/app.yaml`."""
    if variant.startswith(DEPLOYED_BY):
        return variant[len(DEPLOYED_BY) :].split(ON_CLUSTER, 1)[0].rsplit(":", 1)[0]
    tool, _, rest = variant.partition(" ")
    pattern = r" (?:-f |--api-versions |--kube-version |--is-upgrade\b|where )"
    directory = re.split(pattern, rest, maxsplit=1)[0]
    directory = directory.strip() or "."
    name = {"kustomize": "kustomization.yaml", "helm": "Chart.yaml"}.get(tool, "x")
    return name if directory == "." else f"{directory}/{name}"


def verdict(
    findings: Iterable[Finding],
    config: Config,
    threshold: str,
    blocking_statuses: frozenset[str] = BLOCKING_STATUSES,
    applied: Callable[[], frozenset[str]] = frozenset,
) -> Verdict:
    """Mark blocking findings: status counts (or its waiver expired) and severity reaches the
    threshold of the finding's directory. `applied`: the paths CI applies to a cluster
    (kubectl_files.applied_to_clusters), asked only when a finding is in an advisory path."""
    marked = []
    # What a place (a file and what renders it) gets: its threshold, and whether it is
    # advisory. A file's findings share both; each is worked out once per place.
    places: dict[tuple[str, tuple[str, ...]], tuple[str, bool]] = {}
    # A finding's extra with `advisory` added, by the extra it replaces (held: ids stay).
    advised: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}
    for finding in findings:
        extra = finding.extra
        counts = finding.status in blocking_statuses or (
            "waiver_expired" in extra and finding.status not in ("fixed", "waived")
        )
        blocking = False
        if counts and finding.policy_id not in NEVER_BLOCK:
            place = (finding.file, tuple(extra.get("variants") or ()))
            known = places.get(place)
            if known is None:
                known = places[place] = (
                    threshold_of(config, *place, threshold),
                    advisory(*place, config, applied),
                )
            place_threshold, informs = known
            blocking = at_least(finding.severity, place_threshold)
            if blocking and informs:
                blocking = False
                pair = advised.get(id(extra))
                if pair is None:
                    pair = advised[id(extra)] = (extra, shared({**extra, "advisory": True}))
                finding = finding.with_(extra=pair[1], blocking=False)
        # frozen: an unchanged finding is shared, not copied
        marked.append(finding if finding.blocking == blocking else finding.blocking_as(blocking))
    return Verdict(sorted(marked, key=by_place), threshold)


@dataclass(frozen=True)
class Outcome:
    """What a scan of files concluded, ready to render."""

    verdict: Verdict
    files_scanned: int  # files a source adapter recognised and loaded
    documents: int
    files_seen: int  # files handed to the scan
    notices: tuple[str, ...] = ()  # what the run could not do (ScanResult.notices)


def judge(
    run: RunContext,
    pairs: Sequence[tuple[str, bytes]],
    *,
    jobs: int = 0,
    threshold: str | None = None,
    problems: Sequence[Problem] = (),
    owners: bool = True,
    rest: Iterable[tuple[str, bytes]] = (),
) -> Outcome:
    """Scan (path, content) pairs in the run's context: per-directory overrides, then the
    run's waivers and the files' inline skips, then the verdict. `owners` adds the charts
    and overlays that render the given files (read from the run's tree). `rest`: the root's
    other files (read only if a repository-scope policy needs them), whose objects those
    policies see too: a NetworkPolicy beside the scanned folder counts, so scanning part of a
    repository judges it as scanning the whole does."""
    with collector_paused():
        contents = pairs if isinstance(pairs, Contents) else list(pairs)
        return _judge(run, contents, jobs, threshold, problems, owners, rest)


def _judge(
    run: RunContext,
    pairs: Contents | list[tuple[str, bytes]],
    jobs: int,
    threshold: str | None,
    problems: Sequence[Problem],
    owners: bool,
    rest: Iterable[tuple[str, bytes]],
) -> Outcome:
    if isinstance(pairs, Contents):  # what whole-tree searches may take from this read
        spelling.note(run.tree, pairs)
    if owners:
        pairs = _with_owners(pairs, run)
    extra = _inventory_beside(pairs, rest, run) if run.engine.needs_inventory else []
    result = scan_with_overrides(pairs, run.engine, run.config, run.load, jobs, extra)
    # The other files inform the judgement; their own findings belong to their own scan. They
    # are judged all the same: a finding's fingerprint ordinal counts its twins in every file,
    # so that scanning part of a tree gives the fingerprints (and waivers) of a whole scan.
    beside = {entry.file for entry in extra} - set(names_of(pairs)) if extra else set()
    result.findings = [finding for finding in result.findings if finding.file not in beside]
    findings = result.findings + [to_finding(problem) for problem in problems]
    findings = waive(findings, run, pairs)
    chosen = threshold or run.config.severity_threshold
    return Outcome(
        verdict(findings, run.config, chosen, applied=lambda: _applied_to_clusters(run)),
        len(result.files),
        result.documents,
        len(pairs),
        tuple(sorted(result.notices)),
    )


def _applied_to_clusters(run: RunContext) -> frozenset[str]:
    return _applied(run.tree)


def _applied(tree: Tree) -> frozenset[str]:
    """What advisory() reads as `applied`: the paths CI applies to a cluster, and those it
    applies only to a throwaway one, marked (_TESTED)."""
    from gatekeeper.sources.kubectl_files import (
        applied_to_clusters,
        applied_to_throwaway_clusters,
    )

    tested = applied_to_throwaway_clusters(tree)
    return applied_to_clusters(tree) | {_TESTED + path for path in tested}


def applied_if_advisory(findings: Iterable[Finding], config: Config, tree: Tree) -> frozenset[str]:
    """The paths CI applies to a cluster (kubectl_files.applied_to_clusters), found only when
    a finding sits in an advisory path (the only ones they decide): for a tree that is
    closed before the verdict (a pull request's revisions)."""
    paths = config.advisory_paths
    files = {f.file for f in findings}
    if not paths or not any(matches(file, paths) or _ci_folder(file) for file in files):
        return frozenset()
    return _applied(tree)


def _with_owners(
    pairs: Contents | list[tuple[str, bytes]], run: RunContext
) -> Contents | list[tuple[str, bytes]]:
    """`pairs` and the charts and overlays that render them (read from the run's tree). The
    sets of names made here are not held through the scan: at 8 copies of the k8s corpus they
    were 4 MB of the heap a pool's fork inherits."""
    names = names_of(pairs)
    known = set(names)
    if _every_file_of(run.tree, known):
        return pairs  # no owner to add: with_owners adds only files the tree has
    owned = [path for path in with_owners(names, run.load) if path not in known]
    return added(pairs, owned, run.tree.read)


def _every_file_of(tree: Tree, names: set[str]) -> bool:
    """Are `names` every file of a work tree (a scan of its root, nothing excluded)? Then
    nothing renders or builds them that they do not hold already, and the owners' search
    is not made: 0.4 s of the real k8s-full corpus, 5% of its scan. Asked of as many files
    as make with_owners list the tree (never of a hook's few), and answered by that listing:
    a work tree's `exists` is, once it is made (a file it does not list is no file of it)."""
    from gatekeeper.tree import WorkTree

    if not isinstance(tree, WorkTree) or len(names) < LISTING_PAYS:
        return False
    listed = tree.list_dir(".")
    return len(names) >= len(listed) and all(name in names for name in listed)


def _inventory_beside(
    pairs: Contents | list[tuple[str, bytes]], rest: Iterable[tuple[str, bytes]], run: RunContext
) -> list[InventoryEntry]:
    """The inventory of the root's files that are not scanned (see judge)."""
    scanned = set(names_of(pairs))
    others = (pair for pair in rest if pair[0] not in scanned)
    return inventory_of(others, run.load, run.engine)


def waive(
    findings: list[Finding], run: RunContext, contents: Iterable[tuple[str, bytes]] | Contents
) -> list[Finding]:
    """The run's waivers, and the inline skips of the scanned files."""
    if isinstance(contents, Contents):
        contents = contents.subset(contents.marked)  # only these hold a skip to read
    skips = [
        skip
        for path, data in contents
        if SKIP_MARKER in data
        for skip in waivers_mod.inline_skips(path, data.decode("utf-8", "replace"))
    ]
    if not run.waivers and not skips:
        return findings
    return apply_waivers(findings, run.config, run.waivers, skips, run.today)[0]


def inventory_of(
    pairs: Iterable[tuple[str, bytes]], context: LoadContext, engine: Engine
) -> list[InventoryEntry]:
    """The objects of plain Kubernetes files, for repository-scope policies judging part of a
    tree. Only the cheap YAML adapter, only files that name a kind and that no chart or
    overlay renders, only the kinds those policies count and Namespaces (Pod Security labels),
    and through the blob cache: most of them are the same as last run."""
    from gatekeeper import blobcache
    from gatekeeper.sources import flux_ignore, kubernetes
    from gatekeeper.sources.gitops import DEPLOYER_KINDS

    counted = counted_kinds(engine)
    kinds = None if counted is None else counted | {"Namespace"}
    # A file that can spell none of them, nor a deployer's kind, holds nothing wanted.
    words = [b"kind"] if kinds is None else [k.encode() for k in sorted(kinds | DEPLOYER_KINDS)]
    plain = (
        (path, data)
        for path, data in pairs
        if kubernetes.detect(path)
        and kubernetes.may_spell(data, words)
        and not kubernetes.rendered_elsewhere(path, context)
        and not flux_ignore.left_out(context.tree, path)  # never in a Flux artifact
    )
    return blobcache.contents_inventory(plain, context, kinds)
