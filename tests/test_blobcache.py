"""The blob cache behind `scan --base`: a speed-up that a stranger cannot steer."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from gatekeeper import git as gitops
from gatekeeper.blobcache import BlobCache, code_digest
from gatekeeper.change import scan_change
from gatekeeper.errors import UsageError
from tests.test_change import Repo, netpol_change, pod
from tests.test_change import repo as repo  # the fixture


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("GATEKEEPER_CACHE_DIR", str(directory))
    return directory


def netpol_repo(repo: Repo) -> str:
    """netpol_change; returns the NetworkPolicy's blob id."""
    netpol_change(repo)
    return str(repo.git.head.commit.tree["net/deny.yaml"].hexsha)


def forge(directory: Path, blob: str, rows: list[object], with_key: bool = True) -> None:
    """Write the row of `blob` as code running as this user could: with the cache's key
    (it can read it) or without it (a database copied or restored from elsewhere)."""
    from gatekeeper.blobcache import _keys

    cache = BlobCache(directory)
    assert cache.db is not None
    namespaces, kinds = _keys(rows)  # type: ignore[arg-type]
    text = json.dumps(rows)
    mac = cache._mac(blob, namespaces, kinds, text) if with_key else "0" * 64
    with cache.db:
        cache.db.execute(
            "INSERT OR REPLACE INTO inventory VALUES (?, ?, ?, ?, ?, ?)",
            [code_digest(), blob, namespaces, kinds, text, mac],
        )
    cache.close()


def verdicts(repo: Repo) -> list[tuple[str, str]]:
    return sorted((f.file, f.status) for f in scan_change(repo.root, "main").verdict.findings)


def test_warm_cache_gives_the_cold_result(repo: Repo, cache: Path) -> None:
    blob = netpol_repo(repo)
    assert verdicts(repo) == []  # cold: parses and fills the cache
    rows = BlobCache(cache).get_many([blob])
    assert [row[2] for row in rows[blob]] == ["NetworkPolicy"]
    assert verdicts(repo) == []  # warm


def test_cache_is_used_only_when_private(repo: Repo, cache: Path) -> None:
    blob = netpol_repo(repo)
    verdicts(repo)
    (row,) = BlobCache(cache).get_many([blob])[blob]
    forge(cache, blob, [[*row[:3], "elsewhere", *row[4:]]])  # the same kind, moved away
    # Ours alone: the cache is believed (this is what makes the check below meaningful).
    assert verdicts(repo) == [("deploy/other.yaml", "new")]
    os.chmod(cache, 0o777)  # writable by anyone: not used, the tree is parsed again
    assert verdicts(repo) == []
    os.chmod(cache, 0o700)
    os.chmod(cache / "blobs-v2.sqlite", 0o666)
    assert verdicts(repo) == []
    os.chmod(cache / "blobs-v2.sqlite", 0o600)
    os.chmod(cache / "blobs-v2.key", 0o644)  # a key others can read signs nothing
    assert verdicts(repo) == []
    assert BlobCache(cache).db is None


def test_a_row_not_signed_with_the_key_is_a_miss(repo: Repo, cache: Path) -> None:
    blob = netpol_repo(repo)
    verdicts(repo)
    assert (cache / "blobs-v2.key").stat().st_mode & 0o777 == 0o600
    (row,) = BlobCache(cache).get_many([blob])[blob]
    forge(cache, blob, [[*row[:3], "elsewhere", *row[4:]]], with_key=False)
    assert BlobCache(cache).get_many([blob]) == {}
    assert verdicts(repo) == []


def test_a_signed_row_hiding_a_kind_the_blob_spells_is_parsed_again(
    repo: Repo, cache: Path
) -> None:
    """Code running as this user (an earlier job on a persistent runner) can read the key:
    a row saying the NetworkPolicy's blob declares nothing is checked against its bytes."""
    blob = netpol_repo(repo)
    verdicts(repo)
    forge(cache, blob, [])
    assert verdicts(repo) == []  # the NetworkPolicy still counts


def test_a_signed_row_hiding_an_application_on_disk_is_parsed_again(cache: Path) -> None:
    from gatekeeper import blobcache
    from gatekeeper.sources import LoadContext
    from gatekeeper.tree import MemoryTree

    context = LoadContext(tree=MemoryTree({"apps/web.yaml": APPLICATION}))
    pairs = [("apps/web.yaml", APPLICATION)]
    assert [e.kind for e in blobcache.contents_inventory(pairs, context)] == ["Application"]
    forge(cache, blobcache.content_id(APPLICATION), [])
    assert [e.kind for e in blobcache.contents_inventory(pairs, context)] == ["Application"]


def test_malformed_or_unreadable_cache_is_a_miss(repo: Repo, cache: Path) -> None:
    blob = netpol_repo(repo)
    verdicts(repo)
    db = sqlite3.connect(cache / "blobs-v2.sqlite")
    with db:
        db.execute("UPDATE inventory SET rows = ?", [json.dumps([["x", 1]])])
    db.close()
    assert BlobCache(cache).get_many([blob]) == {}
    assert verdicts(repo) == []
    (cache / "blobs-v2.sqlite").write_bytes(b"not a database")
    assert BlobCache(cache).get_many([blob]) == {}
    assert verdicts(repo) == []


def test_revision_tree_reads_and_lists(repo: Repo) -> None:
    repo.write("a/app.yaml", "kind: Application\n")
    repo.write("a/b/c.yaml", "kind: Pod\n")
    repo.write("ab.yaml", "x: 1\n")
    repo.commit("tree")
    tree = gitops.RevisionTree(repo.git.head.commit)
    walk = gitops.RevisionTree(repo.git.head.commit, tree.reader)
    try:
        expected = {path: (repo.root / path).read_bytes() for path in tree.paths}
        assert {path: walk.read(path) for path in walk.paths} == expected  # read ahead
        assert tree.list_dir("a") == ["a/app.yaml", "a/b/c.yaml"]
        assert tree.read("a/b/../b/c.yaml") == b"kind: Pod\n"
        assert tree.read_many(["ab.yaml", "missing.yaml"]) == {"ab.yaml": b"x: 1\n"}
        with pytest.raises(FileNotFoundError):
            tree.read("missing.yaml")
    finally:
        tree.reader.close()


def test_partial_clone_is_never_fetched_from(repo: Repo, tmp_path: Path) -> None:
    """A blob:none clone lacks the base's blobs; the scan says so instead of fetching them."""
    import subprocess

    from tests.test_change import pod

    repo.write("deploy/pod.yaml", pod(("app", False)))
    repo.commit("base")
    repo.branch("pr")
    repo.write("deploy/pod.yaml", pod(("app", True)))
    repo.commit("privileged")
    repo.git.git.config("uploadpack.allowFilter", "true")
    clone = tmp_path / "clone"
    source = repo.root.as_uri()
    subprocess.run(
        ["git", "clone", "-q", "--filter=blob:none", "-b", "pr", source, str(clone)], check=True
    )
    base_blob = repo.git.commit("main").tree["deploy/pod.yaml"].hexsha
    with pytest.raises(UsageError, match="gatekeeper never fetches"):
        scan_change(clone, "origin/main")
    offline = {**os.environ, "GIT_ALLOW_PROTOCOL": "none"}  # look without fetching
    present = subprocess.run(["git", "-C", str(clone), "cat-file", "-e", base_blob], env=offline)
    assert present.returncode != 0  # still not in the clone: nothing was fetched
    # Once the clone has the contents, the change is judged.
    subprocess.run(
        ["git", "-C", str(clone), "cat-file", "-p", base_blob], check=True, capture_output=True
    )
    result = scan_change(clone, "origin/main")
    assert [(f.file, f.status) for f in result.verdict.blocking] == [("deploy/pod.yaml", "new")]


DEPLOY = b"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n"
APPLICATION = b"""\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web, namespace: argocd}
spec:
  destination: {namespace: shop}
  source: {repoURL: https://github.com/acme/deploy, path: app}
"""


def test_files_on_disk_are_cached_by_content(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gatekeeper import blobcache
    from gatekeeper.sources import LoadContext, kubernetes
    from gatekeeper.tree import MemoryTree

    context = LoadContext(tree=MemoryTree({"a.yaml": DEPLOY, "b/c.yaml": DEPLOY}))
    pairs = [("a.yaml", DEPLOY), ("b/c.yaml", DEPLOY)]
    cold = blobcache.contents_inventory(pairs, context)
    assert [(e.file, e.kind, e.namespace) for e in cold] == [
        ("a.yaml", "Deployment", "shop"),
        ("b/c.yaml", "Deployment", "shop"),
    ]
    assert len(blobcache.content_id(DEPLOY)) != len(gitops_blob_id(DEPLOY))  # own key space
    loads: list[str] = []
    real_load = kubernetes.load
    monkeypatch.setattr(kubernetes, "load", lambda p, *a: loads.append(p) or real_load(p, *a))
    assert blobcache.contents_inventory(pairs, context) == cold
    assert loads == []  # warm: nothing parsed


def gitops_blob_id(data: bytes) -> str:
    import subprocess

    run = subprocess.run(
        ["git", "hash-object", "--stdin"], input=data, capture_output=True, check=True
    )
    return run.stdout.decode().strip()


def test_a_deployer_is_loaded_in_its_tree_every_time(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What an Application deploys depends on the tree, not on its own bytes: never cached."""
    from gatekeeper import blobcache
    from gatekeeper.sources import LoadContext, kubernetes
    from gatekeeper.tree import MemoryTree

    files = {"apps/web.yaml": APPLICATION, "app/deploy.yaml": DEPLOY}
    options = {"gitops": {"repoURLs": ["https://github.com/acme/deploy"]}}
    context = LoadContext(tree=MemoryTree(files), options=options)
    pairs = [("apps/web.yaml", APPLICATION)]
    expected = [e.file for e in blobcache.contents_inventory(pairs, context)]
    assert "app/deploy.yaml" in expected  # deployed by the Application
    loads: list[str] = []
    real_load = kubernetes.load
    monkeypatch.setattr(
        kubernetes, "load", lambda p, *a, **k: loads.append(p) or real_load(p, *a, **k)
    )
    assert [e.file for e in blobcache.contents_inventory(pairs, context)] == expected
    assert loads[:1] == ["apps/web.yaml"]  # loaded again, with what it deploys


def test_a_pull_request_without_admission_policies_is_not_searched_for_them(
    repo: Repo, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its revisions' parsed objects (the blob cache) say so: no search of every blob."""
    from gatekeeper import admission

    def searched(tree: object) -> bool:
        raise AssertionError("searched every blob for admission policies")

    netpol_change(repo)
    monkeypatch.setattr(admission, "_none_on_disk", searched)
    for _ in range(2):  # cold, then warm
        assert scan_change(repo.root, "main").verdict.findings == []


# Objects whose kind is spelled every way YAML and JSON allow; `decoy` files name the kind
# without declaring it, `plain` files cannot spell it at all.
TRICKY = {
    "anchor.yaml": "x: &k NetworkPolicy\napiVersion: v1\nkind: *k\nmetadata: {name: a}\n",
    "merge.yaml": ("base: &b {apiVersion: v1, kind: NetworkPolicy}\n<<: *b\nmetadata: {name: m}\n"),
    "flow.yaml": '{apiVersion: v1, kind: "NetworkPolicy", metadata: {name: f, namespace: x}}\n',
    "quoted.yaml": "apiVersion: v1\n'kind': 'NetworkPolicy'\nmetadata: {name: q}\n",
    "escaped.yaml": 'apiVersion: v1\nkind: "Network\\u0050olicy"\nmetadata: {name: e}\n',
    "joined.yaml": 'apiVersion: v1\nkind: "Network\\\n  Policy"\nmetadata: {name: j}\n',
    "multi.yaml": (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n---\n"
        "apiVersion: v1\nkind: NetworkPolicy\nmetadata: {name: 'n', namespace: 'y'}\n"
    ),
    "list.yaml": (
        "apiVersion: v1\nkind: List\nitems:\n"
        "  - {apiVersion: v1, kind: NetworkPolicy, metadata: {name: l1}}\n"
        "  - {apiVersion: v1, kind: Namespace, metadata: {name: l2, labels: {a: b}}}\n"
    ),
    "net.json": '{"apiVersion": "v1", "kind": "Network\\u0050olicy", "metadata": {"name": "js"}}',
    "decoy.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\ndata: {k: NetworkPolicy}\n"
    ),
    "plain.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n",
    "script.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: s}\n"
        "data:\n  run.sh: |\n    make \\\n      Network Policy\n"
    ),
}


def test_inventory_of_some_kinds_is_the_full_inventory_narrowed(
    repo: Repo, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Asked for some kinds, the inventory parses only blobs that can spell one, and gives
    exactly the full inventory's objects of those kinds: cold, and warm from either."""
    from gatekeeper import blobcache
    from gatekeeper.sources import kubernetes

    for name, text in TRICKY.items():
        repo.write(f"m/{name}", text)
    (repo.root / "m/wide.yaml").write_bytes(
        TRICKY["flow.yaml"].replace("f,", "w,").encode("utf-16")
    )
    repo.commit("tricky")
    tree = gitops.RevisionTree(repo.git.head.commit)
    paths = [path for path in tree.paths if path.startswith("m/")]
    kinds = frozenset({"NetworkPolicy", "Namespace"})
    parsed: list[str] = []
    real_load = kubernetes.load
    monkeypatch.setattr(kubernetes, "load", lambda p, *a: parsed.append(p) or real_load(p, *a))
    try:
        narrowed = blobcache.inventory(tree, paths, {}, kinds=kinds)  # cold
        assert sorted(set(paths) - set(parsed)) == ["m/plain.yaml", "m/script.yaml"]
        full = blobcache.inventory(tree, paths, {})
        expected = {
            path: [entry for entry in entries if entry.kind in kinds]
            for path, entries in full.items()
        }
        expected = {path: entries for path, entries in expected.items() if entries}
        assert narrowed == expected
        assert sorted(e.name for entries in narrowed.values() for e in entries) == [
            "a", "e", "f", "j", "js", "l1", "l2", "m", "n", "q", "w",
        ]  # fmt: skip
        assert blobcache.inventory(tree, paths, {}, kinds=kinds) == expected  # warm
        shutil.rmtree(cache)
        blobcache.inventory(tree, paths, {}, kinds=frozenset({"Pod"}))  # caches a few
        assert blobcache.inventory(tree, paths, {}, kinds=kinds) == expected
    finally:
        tree.reader.close()


def test_a_pull_request_counts_the_declared_kinds_of_unchanged_files(
    repo: Repo, cache: Path
) -> None:
    """The built-in NetworkPolicy rule declares what it counts; a pull request reads only
    unchanged files that can declare those kinds, and judges as a full scan: a policy in an
    unchanged JSON file, its kind spelled with an escape, covers the namespace; one in another
    namespace does not."""
    from gatekeeper.bundle import engine_for
    from gatekeeper.config import Config
    from gatekeeper.inventory import counted_kinds
    from gatekeeper.policy.loader import load_bundle
    from tests.conftest import REPO

    builtin = engine_for(Config(), load_bundle([REPO / "policies"]))
    counted = counted_kinds(builtin)
    assert counted is not None and {"NetworkPolicy", "Deployment", "Pod"} <= counted
    assert "ConfigMap" not in counted
    repo.write(".gatekeeper.yml", "builtin: true\n")
    repo.write("deploy/pod.yaml", pod(("app", False)))
    repo.write("net/deny.json", TRICKY["net.json"].replace('"js"}', '"js", "namespace": "team"}'))
    repo.write("net/settings.yaml", TRICKY["decoy.yaml"])
    repo.commit("base")
    repo.branch("pr")
    repo.write("deploy/other.yaml", pod(("x", False), name="other"))
    repo.commit("a pod in a namespace with a NetworkPolicy")

    def netpol() -> list[tuple[str, str]]:
        findings = scan_change(repo.root, "main", filter_mode="all").verdict.findings
        return sorted((f.file, f.status) for f in findings if "NETWORK" in f.policy_id)

    assert netpol() == []
    repo.write("net/deny.json", TRICKY["net.json"].replace('"js"}', '"js", "namespace": "b"}'))
    repo.commit("the NetworkPolicy moves to another namespace")
    # One finding for the namespace, at its first workload (group: namespace).
    assert netpol() == [("deploy/other.yaml", "new")]


def test_scanning_one_file_counts_the_declared_kinds_of_the_others(
    tmp_path: Path, cache: Path
) -> None:
    """A scan of part of a tree reads only the other files that can declare what the
    built-in NetworkPolicy rule counts, however the kind (or `kind` itself) is spelled."""
    import gatekeeper

    root = tmp_path / "tree"
    (root / "deploy").mkdir(parents=True)
    (root / "net").mkdir()
    (root / ".git").mkdir()  # the root
    (root / "deploy/pod.yaml").write_text(pod(("app", False)))
    (root / "net/settings.yaml").write_text(TRICKY["decoy.yaml"])

    def netpol() -> list[str]:
        report = gatekeeper.scan(root / "deploy/pod.yaml")
        return [f.file for f in report.verdict.findings if "NETWORK" in f.policy_id]

    assert netpol() == ["deploy/pod.yaml"]
    policy = '{"apiVersion": "v1", "\\u006bind": "Network\\u0050olicy",'
    policy += ' "metadata": {"name": "d", "namespace": "team"}}'
    (root / "net/deny.json").write_text(policy)
    assert netpol() == []


def test_files_of_a_name_read_before_are_read_ahead_together(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dependency graph reads every kustomization of the tree, scattered through the
    listing: from the second one on, the others of that name come in the same round trip."""
    for index in range(6):
        repo.write(f"d{index}/kustomization.yaml", f"resources: [r{index}.yaml]\n")
        repo.write(f"d{index}/r{index}.yaml", "kind: Pod\n")
    repo.commit("tree")
    tree = gitops.RevisionTree(repo.git.head.commit)
    trips: list[int] = []
    real_read_many = tree.reader.read_many
    monkeypatch.setattr(
        tree.reader, "read_many", lambda ids: trips.append(len(ids)) or real_read_many(ids)
    )
    try:
        for index in (0, 2, 4, 1, 3, 5):
            text = tree.read(f"d{index}/kustomization.yaml")
            assert text == f"resources: [r{index}.yaml]\n".encode()
        assert tree.read("d5/r5.yaml") == b"kind: Pod\n"
    finally:
        tree.reader.close()
    assert trips == [1, 5, 1]


def test_a_kind_is_doubted_only_as_a_whole_word() -> None:
    """`Secret` inside `SealedSecret` is no Secret: such a blob's row is believed; a row
    lacking a kind the bytes spell whole, or bytes whose escapes could spell it, is not."""
    from gatekeeper.blobcache import _doubts

    assert not _doubts(b"kind: SealedSecret\n", {"SealedSecret"}, [b"Secret"])
    assert _doubts(b"kind: Secret\n", set(), [b"Secret"])
    assert _doubts(b'{"kind": "Secret"}', {"ConfigMap"}, [b"Secret"])
    assert _doubts(b'kind: "Sec\\x72et"\n', set(), [b"Secret"])
    assert not _doubts(b"kind: Secret\n", {"Secret"}, [b"Secret"])
