"""What a policy change would do to the repositories that consume the policies.

The policy bundle at two revisions of the policy repository (`base`, `head`) is run on each
consumer repository (a local directory, or a git repository pinned to a commit and cached as
policy sources are); each consumer's files are loaded once and both bundles judge the same
documents. A finding only the head bundle gives is new, one only the base gives is fixed, one
both give with another severity changed; `blocking` uses the consumer's own threshold.
"""

from __future__ import annotations

import contextlib
import posixpath
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gatekeeper import discover, sources
from gatekeeper.config import CONFIG_NAMES, Config, parse_config
from gatekeeper.document import Document
from gatekeeper.errors import ConfigError, UsageError
from gatekeeper.evaluate import Engine
from gatekeeper.finding import Finding
from gatekeeper.lock import LockEntry
from gatekeeper.policy.model import Policy
from gatekeeper.sources import embedded
from gatekeeper.tree import WorkTree


@dataclass
class ConsumerImpact:
    name: str
    threshold: str
    new: list[Finding] = field(default_factory=list)
    fixed: list[Finding] = field(default_factory=list)
    changed: list[tuple[Finding, Finding]] = field(default_factory=list)  # (base, head)

    @property
    def newly_blocking(self) -> list[Finding]:
        """New findings that block, and findings a severity change makes block (as a scan of
        the consumer marks them: its thresholds per directory, its advisory paths)."""
        return [f for f in self.new if f.blocking] + [
            head for base, head in self.changed if head.blocking and not base.blocking
        ]

    def as_dict(self) -> dict[str, Any]:
        def brief(finding: Finding) -> dict[str, Any]:
            return {
                "policy_id": finding.policy_id,
                "severity": finding.severity,
                "file": finding.file,
                "line": finding.line,
                "message": finding.message,
            }

        return {
            "consumer": self.name,
            "threshold": self.threshold,
            "newly_blocking": len(self.newly_blocking),
            "new": [brief(f) for f in self.new],
            "fixed": [brief(f) for f in self.fixed],
            "severity_changed": [
                {**brief(head), "from": base.severity} for base, head in self.changed
            ],
        }


def bundle_at(repo_root: Path, ref: str, path: str, skip: Sequence[str] = ()) -> list[Policy]:
    """The policies under `path` of the policy repository at `ref`, named by their paths in
    the repository (errors too: a broken policy is reported where the maintainer edits it);
    `skip`: directories that are no policies (consumers kept in the repository)."""
    from gatekeeper import git as gitops
    from gatekeeper.policy.loader import load_bundle

    commit = gitops.resolve(gitops.open_repo(repo_root), ref)
    with exported(commit, path, skip) as (temp, root):
        try:
            policies = load_bundle([root])
        except UsageError as error:  # "duplicate id X (also in FILE:LINE)" names one more
            error.file = error.file.replace(f"{temp}/", "", 1)
            error.message = error.message.replace(f"{temp}/", "")
            raise
    for policy in policies:
        policy.file = policy.file.replace(f"{temp}/", "", 1)
    return policies


def files_under(commit: Any, path: str, skip: Sequence[str] = ()) -> dict[str, bytes]:
    """The files under `path` of a revision (links inside the repository followed), but for
    those under a directory of `skip`."""
    from gatekeeper import git as gitops

    prefix = _prefix(path)
    skipped = tuple(_prefix(directory) for directory in skip if _prefix(directory))

    def keep(name: str) -> bool:
        return name.startswith(prefix) and not (skipped and name.startswith(skipped))

    return gitops.read_tree(commit, keep)


def _prefix(path: str) -> str:
    return "" if path in ("", ".") else posixpath.normpath(path).strip("/") + "/"


@contextlib.contextmanager
def exported(commit: Any, path: str, skip: Sequence[str] = ()) -> Iterator[tuple[Path, Path]]:
    """The files under `path` of a revision in a temporary directory, removed afterwards:
    (the directory, `path` inside it)."""
    prefix = _prefix(path)
    files = files_under(commit, path, skip)
    temp = Path(tempfile.mkdtemp(prefix="gatekeeper-impact-"))
    try:
        for name, data in files.items():
            out = temp / name
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(data)
        root = temp / prefix if prefix else temp
        root.mkdir(parents=True, exist_ok=True)
        yield temp, root
    finally:
        shutil.rmtree(temp, ignore_errors=True)


FAIL_ON = ("none", "new-blocking")


@dataclass(frozen=True)
class Settings:
    """A policy repository's `impact:` section: the consumers its pull requests are previewed
    on, where its policies are, and whether newly blocking findings fail the check."""

    path: str = "."
    consumers: tuple[dict[str, str], ...] = ()
    fail_on: str = "none"

    @property
    def skip(self) -> tuple[str, ...]:
        """The consumer directories of this repository: never loaded as policies, even when
        they lie under `path` (by default the whole repository)."""
        return tuple(consumer["path"] for consumer in self.consumers if "path" in consumer)

    @classmethod
    def of(cls, config: Config) -> Settings | None:
        """None: the configuration has no `impact:` section (not a policy repository)."""
        raw = config.raw.get("impact")
        if not isinstance(raw, dict):
            return None
        return cls(
            path=raw.get("path", "."),
            consumers=tuple(dict(consumer) for consumer in raw.get("consumers", ())),
            fail_on=raw.get("failOn", "none"),
        )


def consumer_name(spec: dict[str, str]) -> str:
    """A directory's path; a git consumer's URL and ref (not `URL@ref`: GitHub would read
    `@ref` as a mention)."""
    return spec["path"] if "path" in spec else f"{spec['git']} ({spec['ref']})"


def check_consumers(config: Config, root: Path, locked: list[LockEntry] | None) -> None:
    """`gatekeeper config validate`: each `impact.consumers` entry is a directory of the
    repository, or a git repository pinned in the lock (the preview would not judge it)."""

    settings = Settings.of(config)
    for index, spec in enumerate(settings.consumers if settings else ()):
        setting = ("impact", "consumers", index)
        if "git" in spec:
            if not any(entry.matches(spec) for entry in locked or ()):
                raise ConfigError(
                    f"impact consumer {spec['git']} at {spec['ref']} is not locked; "
                    "run `gatekeeper lock`",
                    config.file,
                    config.line_of(*setting),
                )
            continue
        path = posixpath.normpath(spec["path"])
        inside = _inside(path)
        if not inside or not (root / path).is_dir():
            where = "outside the repository" if not inside else "not a directory"
            raise ConfigError(
                f"impact consumer {spec['path']!r} is {where}",
                config.file,
                config.line_of(*setting, "path"),
            )


@contextlib.contextmanager
def configured_consumer(
    spec: dict[str, str], root: Path, commit: Any, locked: list[LockEntry] | None
) -> Iterator[Path]:
    """The files of one `impact.consumers` entry: a directory of this repository as `commit`
    has it (None: the working tree under `root`), or a git consumer at the commit `locked`
    pins (exported into the cache like a policy source; fetched only when not there)."""
    from gatekeeper import lock

    if "git" in spec:
        (entry,) = lock.pinned([spec], locked, lock.LOCK_NAME)
        yield lock.checkout(entry)
        return
    path = posixpath.normpath(spec["path"])
    if not _inside(path):
        raise ConfigError(f"consumer {spec['path']!r} is outside the repository")
    if commit is None:
        if not (root / path).is_dir():
            raise ConfigError(f"consumer {spec['path']!r}: no such directory")
        yield root / path
        return
    with exported(commit, path) as (_, directory):
        if not any(directory.iterdir()):
            raise ConfigError(
                f"consumer {spec['path']!r}: no such directory at {commit.hexsha[:12]}"
            )
        yield directory


def _inside(path: str) -> bool:
    """Is the normalised relative `path` inside the repository?"""
    return not (path == ".." or path.startswith("../") or posixpath.isabs(path))


def consumer_root(spec: str) -> tuple[str, Path]:
    """A local directory, or `URL@REF` resolved and exported into the cache."""
    local = Path(spec)
    if local.is_dir():
        return spec, local
    url, at, ref = spec.rpartition("@")
    if not at or not url:
        raise UsageError(f"consumer {spec!r} is neither a directory nor URL@REF")
    from gatekeeper import lock

    entry = lock.LockEntry(url, ref, lock.resolve(url, ref))
    return spec, lock.checkout(entry)


def measure(
    name: str, root: Path, base: Sequence[Policy], head: Sequence[Policy]
) -> ConsumerImpact:
    from gatekeeper import pipeline
    from gatekeeper.change import classify
    from gatekeeper.scanner import finalize

    config = _config(root)
    documents = _load(root, config, Engine([*base, *head], config.params))
    groups: dict[tuple[int, ...], list[Document]] = {}  # by the per-directory overrides
    for document in documents:
        key = tuple(
            i for i, o in enumerate(config.overrides) if discover.matches(document.file, [o.path])
        )
        groups.setdefault(key, []).append(document)
    results = []
    for policies in (base, head):
        known = {policy.id for policy in policies}
        params = {k: v for k, v in config.params.items() if k in known}
        engine = Engine([p for p in policies if p.id not in set(config.disable)], params)
        findings: list[Finding] = []
        for key, members in groups.items():
            overrides = [config.overrides[i] for i in key]
            judge = pipeline._group_engine(engine, overrides) if overrides else engine
            findings.extend(f for document in members for f in judge.evaluate(document))
        if engine.needs_inventory:
            from gatekeeper import inventory

            entries = [inventory.entry(document) for document in documents]
            findings.extend(
                f
                for f in engine.evaluate_repository(entries)
                if not any(f.policy_id in o.disable for o in pipeline.overrides_for(config, f.file))
            )
        results.append(pipeline.verdict(finalize(findings), config, config.severity_threshold))
    impact = ConsumerImpact(name, config.severity_threshold)
    base_by = {f.fingerprint: f for f in results[0].findings}
    for finding in classify(results[1].findings, results[0].findings, worse=False):
        if finding.status == "new":
            impact.new.append(finding)
        elif finding.status == "fixed":
            impact.fixed.append(finding)
        elif base_by[finding.fingerprint].severity != finding.severity:
            impact.changed.append((base_by[finding.fingerprint], finding))
    return impact


def _config(root: Path) -> Config:
    for name in CONFIG_NAMES:
        if (root / name).is_file():
            return parse_config(name, (root / name).read_bytes())
    return Config()


def _load(root: Path, config: Config, either: Engine) -> list[Document]:
    """Every document of the consumer, loaded once for both bundles (files that do not load
    are judged the same by both, so they are no impact), as a scan with `either` bundle's
    policies loads it: a chart's definitions parsed if one of them may judge them, objects
    CI applies with `-n X` placed in X if one of them matches namespaces (scanner._scan)."""
    from gatekeeper import deployer_scope
    from gatekeeper.sources import helm_definitions

    names = discover.select(discover.walk([str(root)], root), config.include, config.exclude)
    context = sources.LoadContext(tree=WorkTree(root), options=config.sources)
    helm_definitions.decide(either, context.tree)
    deployer_scope.decide(either, context.tree)
    adapters = sources.adapters()
    documents: list[Document] = []
    for name in names:
        adapter = sources.adapter_for(name, adapters)
        if adapter is None:
            continue
        try:
            data = (root / name).read_bytes()
        except OSError:
            continue
        loaded = adapter.load(name, data, context)
        documents.extend(
            embedded.with_made(loaded.documents, sources.reader(context.tree, name, data))
        )
    return documents


def summary(impacts: list[ConsumerImpact]) -> str:
    blocking = sum(len(i.newly_blocking) for i in impacts)
    hit = sum(1 for i in impacts if i.newly_blocking)
    return (
        f"this change would newly block {blocking} finding{'s' if blocking != 1 else ''} in "
        f"{hit} of {len(impacts)} consumer{'s' if len(impacts) != 1 else ''}"
    )
