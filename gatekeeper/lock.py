"""Policy sources in git repositories, pinned to an exact commit in `gatekeeper.lock`.

`.gatekeeper.yml` names a source by URL and tag (or commit); `gatekeeper lock` resolves it once
and records the commit. Scans use only the recorded commit, and refuse to run when the lock
does not match the configuration: what judges a change never moves by itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from gatekeeper.cache import cache_dir
from gatekeeper.errors import ConfigError

LOCK_NAME = "gatekeeper.lock"
LOCK_VERSION = 1


@dataclass(frozen=True)
class LockEntry:
    """A policy source pinned to a commit (`gatekeeper.lock`): what a run may load."""

    git: str
    ref: str
    commit: str

    def matches(self, source: dict[str, Any]) -> bool:
        return bool(self.git == source["git"] and self.ref == source["ref"])


def git_sources(policies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [source for source in policies if "git" in source]


def parse_lock(name: str, data: bytes) -> list[LockEntry]:
    try:
        raw = json.loads(data)
        if raw.get("version") != LOCK_VERSION:
            raise ValueError(f"unsupported version {raw.get('version')!r}")
        return [LockEntry(e["git"], e["ref"], e["commit"]) for e in raw["sources"]]
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ConfigError(f"invalid lock file ({error}); run `gatekeeper lock`", name) from None


def render_lock(entries: list[LockEntry]) -> str:
    payload = {
        "version": LOCK_VERSION,
        "comment": "written by `gatekeeper lock`; pins every git policy source to a commit",
        "sources": [asdict(entry) for entry in entries],
    }
    return json.dumps(payload, indent=2) + "\n"


def pinned(
    sources: list[dict[str, Any]], lock: list[LockEntry] | None, lock_name: str
) -> list[LockEntry]:
    """The lock entry of each git source; a missing or stale lock is a configuration error."""
    if not sources:
        return []
    if lock is None:
        raise ConfigError("git policy sources need a lock file; run `gatekeeper lock`", lock_name)
    found = []
    for source in sources:
        entry = next((entry for entry in lock if entry.matches(source)), None)
        if entry is None:
            raise ConfigError(
                f"stale lock: {source['git']} at {source['ref']} is not locked; "
                "run `gatekeeper lock`",
                lock_name,
            )
        found.append(entry)
    return found


def _mirror(url: str) -> Any:
    """A bare clone of `url` in the cache, created on first use."""
    import git

    path = cache_dir() / "policy-repos" / hashlib.sha256(url.encode()).hexdigest()[:24]
    if path.is_dir():
        return git.Repo(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return git.Repo.init(path, bare=True)


def _fetch(repo: Any, url: str) -> None:
    import git

    try:
        repo.git.fetch(
            "--quiet", "--force", url, "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"
        )
    except git.GitCommandError as error:
        raise ConfigError(f"cannot fetch policy source {url}: {error.stderr.strip()}") from None


def resolve(url: str, ref: str) -> str:
    """The commit `ref` (tag, commit or branch) names in `url` now; used by `gatekeeper lock`."""
    import git

    repo = _mirror(url)
    _fetch(repo, url)
    for candidate in (f"refs/tags/{ref}", ref):
        try:
            return str(repo.commit(f"{candidate}^{{commit}}").hexsha)
        except (git.BadName, ValueError, git.GitCommandError):
            continue
    raise ConfigError(f"policy source {url}: no tag or commit {ref!r}")


def checkout(entry: LockEntry, subdir: str = "") -> Path:
    """The locked commit's files, exported once into the cache; returns `subdir` inside it."""
    import git

    target = cache_dir() / "policy-trees" / entry.commit
    if not target.is_dir():
        repo = _mirror(entry.git)
        try:
            commit = repo.commit(entry.commit)
        except (git.BadName, ValueError):
            _fetch(repo, entry.git)
            try:
                commit = repo.commit(entry.commit)
            except (git.BadName, ValueError):
                raise ConfigError(
                    f"locked commit {entry.commit} is not in {entry.git}", LOCK_NAME
                ) from None
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tmp-"))
        for item in commit.tree.traverse():
            if item.type != "blob":
                continue
            out = temp / item.path
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(item.data_stream.read())
        try:
            os.replace(temp, target)
        except OSError:  # another run exported it meanwhile
            shutil.rmtree(temp, ignore_errors=True)
    path = target / subdir if subdir else target
    if not path.is_dir():
        raise ConfigError(f"{entry.git}@{entry.ref}: no directory {subdir!r}", LOCK_NAME)
    return path


def consumer_sources(config_raw: dict[str, Any]) -> list[dict[str, Any]]:
    """The git consumers of a policy repository's `impact:` section: pinned like sources."""
    impact = config_raw.get("impact") or {}
    return [consumer for consumer in impact.get("consumers", ()) if "git" in consumer]


def moved_from(source: dict[str, Any], previous: list[LockEntry]) -> LockEntry | None:
    """The pin `source` had before: the same URL and ref, else the same URL (its ref was
    edited, say v1.4.0 to v1.5.0), else none (a new source)."""
    same_url = [entry for entry in previous if entry.git == source["git"]]
    return next((e for e in same_url if e.ref == source["ref"]), None) or next(iter(same_url), None)


def release_notes(old: LockEntry, new: LockEntry, subdir: str = "") -> str:
    """What moving a git policy source from `old` to `new` changes: policies added, removed,
    changed (Markdown), as `gatekeeper changelog` lists them; the reason when it cannot tell."""
    from gatekeeper.changelog import policy_changes
    from gatekeeper.errors import UsageError
    from gatekeeper.policy.loader import load_bundle

    try:
        before = load_bundle([checkout(old, subdir)])
        after = load_bundle([checkout(new, subdir)])
    except UsageError as error:
        return f"No release notes: {error}\n"
    return policy_changes(before, after).render(level=3)
