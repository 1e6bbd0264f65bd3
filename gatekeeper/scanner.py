"""Load files, evaluate the engine on them, and collect findings: the pipeline's middle.

Files arrive as (path, bytes) so the same code scans a work tree, staged blobs or a git
revision. Large scans fan out to a fork-based process pool; the engine is built once in the
parent and inherited, so workers never recompile policies.
"""

from __future__ import annotations

import functools
import gc
import os
import pickle
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain, groupby
from typing import TYPE_CHECKING

from gatekeeper import (
    bugs,
    chart_secrets,
    content_identity,
    image_identity,
    kubeschema,
    lazy_re,
    ownership,
    problems,
    run_by,
    scaffolds,
    sources,
    subject_identity,
)
from gatekeeper import inventory as inventory_mod
from gatekeeper.contents import (
    FLUX_MARKER,
    GO_TEMPLATE_MARKER,
    Contents,
    blob_keys,
    each_holding,
    holding,
    names_of,
)
from gatekeeper.document import ASSUMPTIONS, Document, Loaded, Problem
from gatekeeper.evaluate import KUBERNETES_SOURCES, Engine
from gatekeeper.finding import Finding, as_columns, by_place, from_columns, joined_extra
from gatekeeper.injectors import with_sidecar_overrides
from gatekeeper.inventory import InventoryEntry
from gatekeeper.setting_lines import one_per_setting
from gatekeeper.sources import embedded, flux_ignore, k3s_helmchart, kubectl_inline
from gatekeeper.tree import MemoryTree
from gatekeeper.workloads import tokens_off_by_service_account

if TYPE_CHECKING:
    from multiprocessing.sharedctypes import SynchronizedArray

    from gatekeeper.pss_admission import Rejudge

# What overlay builds keep with `ownership.remember` (sources.kustomize_build._Cache).
PARSED_FOR_BUILDS = "kustomize parsed"
# Below this many files a pool costs more than it saves (pre-commit runs live here).
PARALLEL_MIN_FILES = 48
CHUNK_FILES = 16


@dataclass
class ScanResult:
    """What a scan found and judged: findings, files, documents and the inventory."""

    findings: list[Finding] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # files an adapter owned and loaded
    documents: int = 0
    inventory: list[InventoryEntry] = field(default_factory=list)
    # What the run could not do, said once in the report, never per file (no schemas).
    notices: set[str] = field(default_factory=set)

    def merge(self, other: ScanResult) -> None:
        self.findings.extend(other.findings)
        self.files.extend(other.files)
        self.documents += other.documents
        self.inventory.extend(other.inventory)
        self.notices |= other.notices


DocumentHook = Callable[[Document], None]

# Set in the parent before forking workers, inherited by them: a worker is sent the bounds
# of its chunk, not the files' contents.
_engine: Engine | None = None
_context: sources.LoadContext | None = None
_pairs: Sequence[tuple[str, bytes]] = ()
# The chunks (file numbers in _pairs) of kustomizations and of the other files, and how
# many of each queue are taken (in shared memory: the parent scans chunks too): from the
# front of each, and from the back of the other files' (_LAST: the parent's end).
_BUILDS, _PLAIN, _LAST = 0, 1, 2
_queues: tuple[list[list[int]], list[list[int]]] = ([], [])
_taken: SynchronizedArray[int] | None = None


def scan_one(
    path: str,
    data: bytes,
    engine: Engine,
    adapters: list[sources.Source],
    context: sources.LoadContext,
) -> ScanResult:
    result = ScanResult()
    adapter = _run_as_compose(path, data, adapters, context) or sources.adapter_for(path, adapters)
    adapter = adapter or _built_as_dockerfile(path, adapters, context)
    adapter = adapter or _applied_as_manifest(path, adapters, context)
    if adapter is None:
        return result
    try:
        loaded = adapter.load(path, data, context)
    except Exception as error:  # an adapter bug must surface as a finding, not vanish
        if bugs.strict():
            raise
        loaded = Loaded(problems=[Problem("GK-PARSE-ERROR", path, 1, f"{adapter.NAME}: {error}")])
    if not any(document.source in sources.KUBERNETES_OWNERS for document in loaded.documents):
        loaded.documents.extend(_objects_elsewhere(adapter, path, data, context))
    if adapter.NAME == "workflow":  # what its kubectl commands write from their command line
        loaded.documents.extend(
            made
            for document in list(loaded.documents)
            for made in kubectl_inline.documents(document, context.tree)
        )
    # cached for this file's checks: each reads the templates a rendering came from, per
    # value it judges (kube-prometheus-stack: the same template read for every argument)
    read = functools.lru_cache(maxsize=None)(sources.reader(context.tree, path, data))
    loaded.documents = embedded.with_made(loaded.documents, read)
    loaded.problems.extend(k3s_helmchart.not_expanded(loaded.documents))
    loaded.problems.extend(chart_secrets.in_secrets(loaded.documents, read))
    loaded.problems.extend(chart_secrets.in_config_maps(loaded.documents, read))
    loaded.problems.extend(chart_secrets.in_plugins(loaded.documents))
    loaded.problems.extend(
        chart_secrets.in_container_args(loaded.documents, read, context.tree.list_dir)
    )
    loaded.problems.extend(chart_secrets.in_compose_commands(loaded.documents))
    loaded.problems.extend(chart_secrets.in_kustomize_charts(path, data, read))
    if adapter.NAME == "workflow":
        loaded.problems.extend(chart_secrets.in_workflow(path, data))
    loaded.problems = chart_secrets.judged(loaded.problems, engine)
    if loaded.problems:  # a project generator's template: one notice at its marker file
        loaded.problems = scaffolds.notices(loaded.problems, path, data, context.tree)
    if not loaded.documents and not loaded.problems:
        return result
    result.files.append(path)
    result.documents = len(loaded.documents)
    result.findings.extend(problems.to_finding(p, adapter.NAME) for p in loaded.problems)
    if (
        any(document.source in KUBERNETES_SOURCES for document in loaded.documents)
        and not kubeschema.installed()  # read only for Kubernetes objects
    ):
        result.notices.add(kubeschema.MISSING)
    tokens_off_by_service_account(loaded.documents)
    loaded.documents = with_sidecar_overrides(loaded.documents)
    for document in loaded.documents:
        inline = kubectl_inline.MARK in document.extra
        try:
            found = kubectl_inline.judged(engine, document) if inline else engine.evaluate(document)
            if engine.record_images and document.source in KUBERNETES_SOURCES:
                found = image_identity.with_images(document, found)
                found = subject_identity.with_subjects(document, found)
                if engine.reviewed_content:
                    found = content_identity.with_content(document, found, engine.reviewed_content)
            elif engine.record_images and document.source == "compose":
                found = image_identity.with_images(document, found)
            elif engine.record_images and document.source == "terraform":
                found = subject_identity.with_subjects(document, found)
            result.findings.extend(found)
        except RecursionError:  # a document nested deeper than evaluation can follow
            line = document.locator.locate(()).line
            message = "document nested too deeply to evaluate; not checked"
            problem = Problem("GK-PARSE-ERROR", document.file, line, message)
            result.findings.append(problems.to_finding(problem, adapter.NAME))
        if inline:  # a partial object: not one the repository holds
            continue
        if engine.needs_inventory and not flux_ignore.left_out(context.tree, document.file):
            result.inventory.append(inventory_mod.entry(document))
    result.findings = chart_secrets.once(result.findings)
    return result


def _objects_elsewhere(
    adapter: sources.Source, path: str, data: bytes, context: sources.LoadContext
) -> list[Document]:
    """Kubernetes objects in a YAML/JSON file another source owns (a Pod named compose.yaml
    or action.yml): `kubectl apply -f dir/` applies them all the same."""
    from gatekeeper.sources import kubernetes

    if adapter.NAME in sources.KUBERNETES_OWNERS or not kubernetes.detect(path):
        return []
    if not kubernetes.looks_like_objects(data):
        return []
    try:
        return kubernetes.load(path, data, context).documents
    except Exception:  # the owning source reports what is wrong with the file
        if bugs.strict():
            raise
        return []


def _claim(order: tuple[int, ...], last: bool = False) -> tuple[int, int] | None:
    """The next chunk no process has taken, as (queue, chunk number): from the first queue
    of `order` that has one left; with `last`, the other files' from their end.

    The parent takes the other files from the end, a worker from the front: each scans
    folders of its own, whose per-folder facts (the patches a folder's kustomization names,
    its `.sourceignore` rules, which files it holds) and shared files (the CRDs its
    manifests repeat) are then worked out in one process, not in each, as alternate chunks
    had them."""
    assert _taken is not None
    with _taken.get_lock():
        for queue in order:
            chunks = len(_queues[queue])
            if queue == _BUILDS:
                index = _taken[_BUILDS]
                if index < chunks:
                    _taken[_BUILDS] = index + 1
                    return queue, index
            elif _taken[_PLAIN] + _taken[_LAST] < chunks:
                if last:
                    _taken[_LAST] += 1
                    return queue, chunks - _taken[_LAST]
                _taken[_PLAIN] += 1
                return queue, _taken[_PLAIN] - 1
    return None


def _scan_files(numbers: list[int]) -> list[tuple[int, ScanResult]]:
    """The results of the files `numbers` of `_pairs` that hold something, by number."""
    assert _engine is not None and _context is not None
    adapters = sources.adapters()
    found = []
    for number in numbers:
        path, data = _pairs[number]
        part = scan_one(path, data, _engine, adapters, _context)
        if part.files:  # a file with findings or documents is one an adapter loaded
            found.append((number, part))
    _give_back_freed_memory(grown=True)
    return found


def _worker_task(_task: int) -> tuple[int, int, bytes] | None:
    """A worker's chunk: plain files first (see _scan_pooled); None when all are taken. Its
    results come back pickled (see _packed)."""
    taken = _claim((_PLAIN, _BUILDS))
    if taken is None:
        return None
    queue, index = taken
    return queue, index, _scan_chunk(queue, index)


def _scan_chunk(queue: int, index: int) -> bytes:
    """A chunk's results, packed.

    No collection after overlay builds: the cycles one was made for (a build kustomize
    rejects raised from frames that held the exception, and through them the builds' parse
    cache) are gone where they were made (c2988b3, tests/test_scan_cycles.py). It found 0-30
    objects a chunk on the real corpora and traversed everything made since the scan began
    each time: k8s 0.46 s of CPU in six collections (load 11)."""
    return _packed(_scan_files(_queues[queue][index]))


def _packed(parts: list[tuple[int, ScanResult]]) -> bytes:
    """A chunk's results as one compressed pickle, until the pool is done.

    Held as objects, the results of every chunk (findings, inventory entries: small objects
    that live to the end) were made while files were parsed and overlays built around them,
    and each pinned a 1 MiB arena of the parser's that would otherwise be given back: the
    parent held two to three times its live objects in arenas. One bytes object a chunk is
    one block of the C heap; unpacked at the end, the results fill arenas that are free by
    then. Compressed (zlib's fastest level): findings repeat their titles, messages and
    remediations, so the pickles the parent holds to the end of the pool are 3.4 times
    smaller (2.0 MB to 0.6 MB on the real k8s corpus, 16 MB to 5 MB at 8 copies of it) for
    about 25 ms of CPU there. The chunk's findings go as columns (finding.as_columns), each
    file's as a count of them: 21% fewer bytes than pickled findings, and packed and unpacked
    with no Python call per finding (the parent's chunks of the real k8s-full corpus, 53,000
    findings: 0.19 -> 0.11 s)."""
    files = [
        (number, part.files, part.documents, part.inventory, part.notices, len(part.findings))
        for number, part in parts
    ]
    columns = as_columns(chain.from_iterable(part.findings for _, part in parts))
    return zlib.compress(pickle.dumps((files, columns), pickle.HIGHEST_PROTOCOL), 1)


def _unpacked(packed: bytes) -> list[tuple[int, ScanResult]]:
    files: list[tuple[int, list[str], int, list[InventoryEntry], set[str], int]]
    files, columns = pickle.loads(zlib.decompress(packed))
    findings = from_columns(columns)
    parts = []
    start = 0
    for number, names, documents, inventory, notices, count in files:
        result = ScanResult(findings[start : start + count], names, documents, inventory, notices)
        parts.append((number, result))
        start += count
    return parts


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, where there is one."""
    import ctypes  # here, as multiprocessing below: a serial scan (a hook) needs neither

    try:
        trim: Callable[[int], int] = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


def _give_back_freed_memory(grown: bool = False) -> None:
    """Return the C heap's free pages to the system (after a worker's chunk: `grown`).

    A large file's parse (libyaml, CEL's C++ values) leaves freed memory between live blocks
    that glibc keeps: a worker's resident size grew with the number of files it had seen (157
    MB at 8 copies of the k8s corpus, 99 MB at one); trimmed it stays about flat (124 MB).

    With `grown`, only once the process has grown by TRIM_AFTER_GROWTH since it last gave
    memory back: the next chunk's parse takes the pages a trim gave back again, each a page
    fault and a zeroed page. Trimmed after every chunk, the real k8s-full corpus's scan took
    42,000 more page faults (133,000 against 91,000) for memory that most chunks (a few
    small manifests) had not grown by."""
    resident = _resident_bytes() if grown else None
    if resident is not None and resident - _TRIMMED_AT[0] < TRIM_AFTER_GROWTH:
        return
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
    _TRIMMED_AT[0] = _resident_bytes() or 0


# How much a process grows after its last trim before a chunk trims again (see above).
TRIM_AFTER_GROWTH = 4 << 20
_TRIMMED_AT = [0]  # this process's resident bytes after its last trim
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _resident_bytes() -> int | None:
    """This process's resident size (/proc/self/statm), None where it cannot be read (then
    every chunk trims)."""
    try:
        handle = os.open("/proc/self/statm", os.O_RDONLY)
    except OSError:
        return None
    try:
        return int(os.read(handle, 128).split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None
    finally:
        os.close(handle)


def scan(
    items: Iterable[tuple[str, bytes]],
    engine: Engine,
    jobs: int = 0,
    context: sources.LoadContext | None = None,
    repository: bool = True,
) -> ScanResult:
    """Scan (path, content) pairs; `jobs` 0 means one worker per core when it pays off.

    `repository=False` leaves repository-scope policies to the caller (it has a larger
    inventory: a pull request scans only changed files but judges the whole tree)."""
    with collector_paused():
        return _scan(items, engine, jobs, context, repository)


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while scanning; forked workers inherit this.

    Parsing allocates millions of small containers (nodes, dicts, lists) that form no cycles
    and die with their file; the collector kept traversing them: a third of the time. Judging
    the findings afterwards (100,000 of them, each copied a few times) is the same case.

    Counted as made while it was paused, what the scan kept is the collector's youngest
    generation when it resumes, and the next allocation set off a collection of it all (the
    real k8s-full corpus: 400,000 objects, 0.25 s of CPU, no garbage since the overlay
    builds leave no cycles: tests/test_scan_cycles.py). A program's run (gatekeeper.main),
    which ends after its command, freezes it instead (gc.freeze: still freed when nothing
    refers to it, never traversed); a later scan of the run collects it first, as the end of
    this one did before. A caller of the Python API keeps the collection.
    """
    enabled = gc.isenabled()
    if enabled and _FROZEN:
        gc.unfreeze()
        _FROZEN.clear()
        gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if _program_run():
                gc.freeze()
                _FROZEN.append(True)
            gc.enable()


_FROZEN: list[bool] = []  # a scan of this process froze what it kept (collector_paused)


def _program_run() -> bool:
    """Is this process `gatekeeper` run as a program (main.PROGRAM_RUN), which ends after
    its command? Read where main is loaded, not imported: the Python API never loads it."""
    main = sys.modules.get("gatekeeper.main")
    return bool(getattr(main, "PROGRAM_RUN", False))


def _scan(
    items: Iterable[tuple[str, bytes]],
    engine: Engine,
    jobs: int,
    context: sources.LoadContext | None,
    repository: bool,
) -> ScanResult:
    global _engine, _context, _pairs
    # A Contents is read file by file (by the workers, in a pool), never held whole.
    pairs = items if isinstance(items, Contents) else list(items)
    context = context or sources.LoadContext(tree=MemoryTree.of(pairs))
    from gatekeeper import admission

    # The admission policies of this tree (a pull request's base and head differ).
    engine.admission = admission.for_tree(
        context.tree,
        engine.admission_documents,
        engine.admission_user_info,
        engine.admission_kube_version,
    )
    from gatekeeper import deployer_scope
    from gatekeeper.sources import helm_definitions

    helm_definitions.decide(engine, context.tree)  # chart CRDs: judged if a policy may
    deployer_scope.decide(engine, context.tree)  # `kubectl apply -n X`: placed if it matters
    jobs = jobs or os.cpu_count() or 1
    result = ScanResult()
    if jobs <= 1 or len(pairs) < PARALLEL_MIN_FILES or "fork" not in _start_methods():
        adapters = sources.adapters()
        from gatekeeper.sources import names

        charts = [path for path in names_of(pairs) if names.is_chart(path)]
        if charts:  # (a hook on a manifest imports no Helm code)
            from gatekeeper.sources import helm

            helm.expect_charts(charts, context)  # the renderer stops after the last
        deployers = holding(pairs, FLUX_MARKER)
        if deployers:  # (a hook on a manifest imports no Flux code)
            from gatekeeper.sources import flux

            flux.prepare(context.tree, deployers)  # the kinds they look up: one read of the tree
        for path, data in pairs:
            result.merge(scan_one(path, data, engine, adapters, context))
    else:
        _engine, _context, _pairs = engine, context, pairs
        from gatekeeper.sources import applicationsets_go, flux, helm

        # ApplicationSets' Go templates: rendered here, by one renderer stopped before the
        # charts' (which may have other limits) starts
        applicationsets_go.prepare(context, each_holding(pairs, GO_TEMPLATE_MARKER))
        helm.share_renderer(names_of(pairs), context)  # one for all the workers
        flux.prepare(context.tree, holding(pairs, FLUX_MARKER))  # one index for them all
        deployer_scope.prepare(context.tree)  # CI's `kubectl apply -n`: read once, not per worker
        kubeschema.installed()  # read here, shared by the fork (5 MB read again by each)
        try:
            _scan_pooled(jobs, result)
        finally:
            _engine, _context, _pairs = None, None, ()
    if repository:
        result.findings.extend(engine.evaluate_repository(result.inventory))
        from gatekeeper import pss_admission

        rejudge = pss_admission.rescan(pairs, context, jobs)
        result.findings = finalize(
            predict_admission(result.findings, result.inventory, engine, rejudge)
        )
    return result


def _scan_pooled(jobs: int, result: ScanResult) -> None:
    """Scan `_pairs` in this process and `jobs - 1` forked workers.

    The parent scans too: it would otherwise wait, while another process (its own copy of
    the engine, caches and heap) did its share. Chunks come from two queues: kustomizations,
    which the parent takes first, and the other files, which the workers take first. An
    overlay build keeps the files it parsed (the CRDs that eight overlays include), 4 MB of
    YAML and 58 MB of nodes in 8 copies of the real corpus: in one process, not in each.
    Results are merged in file order, so they are the serial scan's, whoever scanned a file.
    """
    global _queues, _taken
    import multiprocessing

    from gatekeeper.sources import kustomize

    fork = multiprocessing.get_context("fork")
    names = names_of(_pairs)
    builds: list[int] = []
    plain: list[int] = []
    for number, name in enumerate(names):
        (builds if kustomize.detect(name) else plain).append(number)
    _queues = (_chunked(builds), _chunked(plain, blob_keys(_pairs)))
    _taken = fork.Array("i", 3)  # _BUILDS, _PLAIN and _LAST taken
    chunks: list[bytes] = []  # every chunk's results, pickled (see _packed)
    built = False
    _give_back_freed_memory()  # what reading the tree freed: not inherited by the fork
    try:
        with fork.Pool(jobs - 1) as pool:
            tasks = sum(len(queue) for queue in _queues)
            parts = pool.imap_unordered(_worker_task, range(tasks))
            while (taken := _claim((_BUILDS, _PLAIN), last=True)) is not None:
                if taken[0] == _PLAIN and not built:
                    built = True
                    _forget_builds()
                chunks.append(_scan_chunk(*taken))
            if not built:  # the worker took every plain file while this one built
                _forget_builds()
            chunks.extend(part[2] for part in parts if part is not None)
            # Workers end on their own (not terminated): they stop and wait for their Helm
            # renderers, whose CPU then counts in this process's children's time.
            pool.close()
            pool.join()
    finally:
        _queues, _taken = ([], []), None
    _merge_in_order(chunks, len(names), result)


def _built_as_dockerfile(
    path: str, adapters: list[sources.Source], context: sources.LoadContext
) -> sources.Source | None:
    """The Dockerfile adapter for a file CI builds as one under another name (`docker build
    -f docker/prod`: dockerfile_builds.named_otherwise), None for any other file."""
    from gatekeeper.sources import dockerfile_builds

    if path not in dockerfile_builds.named_otherwise(context.tree):
        return None
    return next((adapter for adapter in adapters if adapter.NAME == "dockerfile"), None)


def _applied_as_manifest(
    path: str, adapters: list[sources.Source], context: sources.LoadContext
) -> sources.Source | None:
    """The Kubernetes adapter for a file CI applies under a name no adapter reads
    (`kubectl apply -f deploy/app.tpl`: kubectl_files.applied_otherwise), None for any other."""
    from gatekeeper.sources import kubectl_files

    if path not in kubectl_files.applied_otherwise(context.tree):
        return None
    return next((adapter for adapter in adapters if adapter.NAME == "kubernetes"), None)


_SERVICES = lazy_re.compile(rb'(?m)^services:|"services"\s*:')


def _run_as_compose(
    path: str, data: bytes, adapters: list[sources.Source], context: sources.LoadContext
) -> sources.Source | None:
    """The compose adapter for a file Compose runs under another name (`docker compose -f
    deploy/stack.yml up`, COMPOSE_FILE: compose_env.run_otherwise, whatever its extension),
    None for any other; only a file with a top-level `services:` (or a JSON `"services":`)
    asks (a manifest's hook reads no CI file).
    The word is looked for before the pattern: a `(?m)^` search tries every position of
    every YAML file (0.14 s of the real k8s-full corpus, where 20 of 9,258 hold the word)."""
    if b"services" not in data or not _SERVICES.search(data):
        return None
    from gatekeeper.sources import compose_env

    if path not in compose_env.run_otherwise(context.tree):
        return None
    return next((adapter for adapter in adapters if adapter.NAME == "compose"), None)


def _merge_in_order(chunks: list[bytes], files: int, result: ScanResult) -> None:
    """Merge the chunks' results into `result` in file order (a serial scan's order), each
    chunk's pickle dropped as it is read."""
    found: list[ScanResult | None] = [None] * files
    while chunks:
        for number, part in _unpacked(chunks.pop()):
            found[number] = part
    for held in found:
        if held is not None:
            result.merge(held)
    _give_back_freed_memory()  # the pickles, freed between the objects made from them


def _forget_builds() -> None:
    """Every overlay is built: the files the builds parsed are not needed again (a later
    build, of an Application's overlay, parses what it reads again)."""
    assert _context is not None
    ownership.of(_context.tree).forget(PARSED_FOR_BUILDS)
    _give_back_freed_memory()


def _chunked(numbers: list[int], keys: Sequence[int | str] = ()) -> list[list[int]]:
    """`numbers` in chunks of about CHUNK_FILES; with `keys` (a key per file, blob_keys),
    the files with equal keys in one chunk, at the first one's place: a policy library's
    fixtures repeat whole (the real k8s-full corpus: 9,258 files, 3,684 distinct), and a
    copy read in the process that read the first is parsed and judged from its caches
    (yamlevents._READ, Engine._judgements), in another it is read and judged again."""
    if keys:
        grouped: dict[int | str, list[int]] = {}
        for number in numbers:
            grouped.setdefault(keys[number], []).append(number)
        chunks: list[list[int]] = [[]]
        for group in grouped.values():
            if len(chunks[-1]) >= CHUNK_FILES:
                chunks.append([])
            chunks[-1].extend(group)
        return [chunk for chunk in chunks if chunk]
    return [numbers[at : at + CHUNK_FILES] for at in range(0, len(numbers), CHUNK_FILES)]


def _start_methods() -> list[str]:
    import multiprocessing

    return multiprocessing.get_all_start_methods()


def predict_admission(
    findings: list[Finding],
    inventory: list[InventoryEntry],
    engine: Engine,
    rejudge: Rejudge | None = None,
) -> list[Finding]:
    """PSS findings in a namespace whose Pod Security labels will reject or warn, each judged
    at that namespace's own version label (`rejudge` scans its files again at a pinned
    version; see gatekeeper.pss_admission)."""
    from gatekeeper import pss_admission

    levels = pss_admission.policy_levels(engine.policies)
    return pss_admission.annotate(findings, inventory, levels, engine, rejudge)


def finalize(findings: list[Finding]) -> list[Finding]:
    """Merge variants, sort, and make fingerprints unique: same resource identity in two
    places gets an ordinal."""
    findings = one_place_where_missing(merge_variants(findings))
    # How often each fingerprint was seen so far: the second gets `:2`, and so on.
    seen: dict[str, int] = {}
    for index, finding in enumerate(findings):
        count = seen[finding.fingerprint] = seen.get(finding.fingerprint, 0) + 1
        if count > 1:
            findings[index] = finding.fingerprint_as(f"{finding.fingerprint}:{count}")
    # After the ordinals: a folded object's twin keeps the fingerprint it had on its own.
    return one_per_setting(findings)


# What a finding's renderings each record of what it is about, kept together when they are
# said as one (merge_variants): their extra key and how its list is joined.
_IDENTITIES = (
    (image_identity.KEY, ", "),
    (subject_identity.KEY, ", "),
    (content_identity.KEY, ","),
)


def merge_variants(findings: list[Finding]) -> list[Finding]:
    """One finding per place, policy and field for every rendering that shows it: a base line
    built by five overlays (and read as a plain manifest) is said once, with the overlays and
    releases (`variants`) it holds for. The plain manifest's finding is kept where there is
    one, so its fingerprint does not change when a kustomization starts building the file.

    Returned in place order (sort_key). A place is (file, line, column, policy): not the
    path, an overlay may reorder containers, the line is what a reader fixes. The sort key is
    the place, so sorting (stable) puts a place's findings next to each other in the order
    they came: no table of 100,000 groups is held."""
    ordered = sorted(findings, key=by_place)
    out: list[Finding] = []
    for _, run in groupby(ordered, key=by_place):
        group = list(run)
        if len(group) == 1:  # most places (96,242 of k8s-full's 96,928): kept as it is
            out.append(group[0])
            continue
        if not any(f.extra.get("variants") for f in group):
            # Nothing rendered: distinct findings stay distinct, but the same one is said
            # once (a base's render error, reported by every overlay whose build reads it).
            seen: set[tuple[str, str, str]] = set()
            for finding in run_by.merged(group):  # a CI line
                said = (finding.message, finding.path, finding.severity)
                if said not in seen:
                    seen.add(said)
                    out.append(finding)
            continue
        for same in (by_path for about in _objects(group) for by_path in _fields(about)):
            plain = next((f for f in same if not f.extra.get("variants")), None)
            kept = plain or same[0]
            variants = without_assumptions(
                sorted({v for f in same for v in f.extra.get("variants", ())}), plain is not None
            )
            extra = {name: value for name, value in kept.extra.items() if name != "variants"}
            if variants:
                extra["variants"] = variants
            objects = sorted({"/".join(identity(f)) for f in same} - {"/".join(identity(kept))})
            if objects:  # what the renderings deploy it as, besides the kept finding's object
                extra["deployed_as"] = objects
            # every rendering's code, subjects and content (releases may give other images,
            # an overlay may add subjects, a release may write other files)
            for key, separator in _IDENTITIES:
                joined = joined_extra(same, key, separator)
                if joined:
                    extra[key] = joined
            out.append(kept.with_(extra=extra))
    return out


def one_place_where_missing(findings: list[Finding]) -> list[Finding]:
    """One finding for an object's field that renderings locate at different lines because
    one lacks the field (found at its nearest ancestor, `exact` False) and another writes it
    (datadog-csi-driver: `lacks the label(s) app.kubernetes.io/name` at `metadata:` for the
    default values and at the `labels:` only GKE's values render): said once, at the
    ancestor (where writing it serves every rendering), for all the renderings. Only a
    chart's renderings of one template: a field missing at two places (two Terraform
    resources applying one object), or found only where it is written, stays apart."""
    groups: dict[tuple[object, ...], list[int]] = {}
    for index, finding in enumerate(findings):
        if finding.source == "helm" and finding.extra.get("variants") and finding.path:
            key = (finding.file, finding.policy_id, finding.path, finding.message, _object(finding))
            groups.setdefault(key, []).append(index)
    dropped: set[int] = set()
    for indexes in groups.values():
        if len(indexes) < 2:
            continue
        group = [findings[index] for index in indexes]
        missing = [f for f in group if f.extra.get("exact") is False]
        if len({(f.line, f.column) for f in missing}) != 1:
            continue  # written nowhere, or missing at two places: each its own finding
        kept = missing[0]
        if not all(f.line > kept.line for f in group if f.extra.get("exact") is not False):
            continue
        at = indexes[group.index(kept)]
        variants = without_assumptions(sorted({v for f in group for v in f.extra["variants"]}))
        findings[at] = kept.with_(extra={**kept.extra, "variants": variants})
        dropped.update(index for index in indexes if index != at)
    return [finding for index, finding in enumerate(findings) if index not in dropped]


def _objects(group: list[Finding]) -> list[list[Finding]]:
    """A place's findings by the object they are about, where one rendering holds several
    objects there (a `range` in a template writes each Application at one line): each is a
    finding of its own, so that a waiver naming one does not silence the others, and a new
    one is new. The i-th object of each rendering is one object (a release renames them
    all alike). Otherwise (one object per rendering: a base built by overlays that rename
    it) one finding. A finding about a namespace (repository scope) is one per place."""
    if any(finding.extra.get("about") == "namespace" for finding in group):
        return [group]
    keyed = [(tuple(f.extra.get("variants") or ()), _object(f), f) for f in group]
    objects: dict[tuple[str, ...], list[tuple[str, str, str]]] = {}
    for rendering, about, _ in keyed:
        found = objects.setdefault(rendering, [])
        if about not in found:
            found.append(about)
    if all(len(found) <= 1 for found in objects.values()):
        return [group]
    clusters: dict[int, list[Finding]] = {}
    for rendering, about, finding in keyed:
        clusters.setdefault(objects[rendering].index(about), []).append(finding)
    return _aggregated([clusters[index] for index in sorted(clusters)])


def _aggregated(clusters: list[list[Finding]]) -> list[list[Finding]]:
    """A kustomization that aggregates overlays of one base (`resources: [dev, prod]`, each
    with its namePrefix) holds several objects at the base's line, and each of them is also
    its own overlay's object: such a finding joins the cluster where its object already is,
    so that the copies of one written object are said once (kustomize's multibases example
    said one privileged container three times at one line). Helm's several objects at one
    line (a `range`) stay apart."""
    home: dict[tuple[str, str, str], int] = {}
    for index, cluster in enumerate(clusters):
        for finding in cluster:
            home.setdefault(_object(finding), index)
    joined: list[list[Finding]] = [[] for _ in clusters]
    for index, cluster in enumerate(clusters):
        for finding in cluster:
            kustomized = finding.source == "kustomize"
            joined[home[_object(finding)] if kustomized else index].append(finding)
    return [cluster for cluster in joined if cluster]


def _fields(same: list[Finding]) -> list[list[Finding]]:
    """One object's findings at a place by the field they are about, where one rendering
    has several there (`toYaml .Values.volumes` writes two hostPath volumes at one line):
    each is a finding of its own, or the second violation would be said by none. The i-th
    field of each rendering is one field (an overlay may reorder the list). Otherwise one."""
    fields: dict[tuple[str, ...], list[str]] = {}
    for finding in same:
        found = fields.setdefault(tuple(finding.extra.get("variants") or ()), [])
        if finding.path not in found:
            found.append(finding.path)
    if all(len(found) <= 1 for found in fields.values()):
        return [same]
    clusters: dict[int, list[Finding]] = {}
    for finding in same:
        found = fields[tuple(finding.extra.get("variants") or ())]
        clusters.setdefault(found.index(finding.path), []).append(finding)
    return [clusters[index] for index in sorted(clusters)]


def identity(finding: Finding) -> tuple[str, str, str]:
    """The object a finding is about, as the cluster gets it."""
    return (finding.kind, finding.namespace, finding.name)


def _object(finding: Finding) -> tuple[str, str, str]:
    """What a finding is about; a Terraform block's `count`/`for_each` instances
    (`this["postgresql"]`, `web[0]`) are one object here: one block, one line to fix."""
    return (finding.kind, finding.namespace, _INSTANCE_KEY.sub("", finding.name))


_INSTANCE_KEY = lazy_re.compile(r"\[[^\]]*\]")


def without_assumptions(variants: list[str], plain: bool = False) -> list[str]:
    """The renderings a finding is said for, without those that only assumed something of
    where they are applied (document.ASSUMPTIONS) when the rendering without the assumption
    is among them (`helm web --api-versions keda.sh/v1alpha1` beside `helm web`, `deployed
    by main.tf:module.db with -var-file=env/dev.tfvars` beside `deployed by
    main.tf:module.db`), or the finding also holds as written (`plain`): the assumption adds
    nothing to it (a chart testing eleven custom APIs named a second rendering on 82
    findings). A finding only an assumption shows keeps its name."""
    names = set(variants)
    return [
        variant
        for variant in variants
        if not any(
            mark in variant and (plain or variant[: variant.index(mark)] in names)
            for mark in ASSUMPTIONS
        )
    ]
