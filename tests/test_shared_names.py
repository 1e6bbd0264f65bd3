"""The names a run keeps to its end (the discovered files, the tree's listing, the folders
keying the ownership caches) are one string each: the parent builds them before the pool
forks, and every worker that reads them copies the pages they sit on."""

from __future__ import annotations

from pathlib import Path

from gatekeeper import discover, ownership
from gatekeeper.tree import WorkTree
from tests.test_ownership import CountingTree


def _repo(root: Path) -> None:
    for name in ("apps/web/deploy.yaml", "apps/web/kustomization.yaml", "base/pod.yaml"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("kind: Pod\n")


def test_discovered_names_are_the_tree_listing_strings(tmp_path: Path) -> None:
    _repo(tmp_path)
    discovered = list(discover.walk([str(tmp_path)], tmp_path))
    listed = WorkTree(tmp_path).list_dir(".")
    assert discovered == listed
    assert all(mine is theirs for mine, theirs in zip(discovered, listed, strict=True))


def test_a_folder_is_one_string_in_every_ownership_cache(tmp_path: Path) -> None:
    _repo(tmp_path)
    index = ownership.of(WorkTree(tmp_path))
    index.files_above("apps/web", ("Chart.yaml",))
    index.union_above("test", "apps/web", lambda tree, folder: frozenset({folder}))
    above = {key for key, _ in index._above}
    unions = set(index._unions["test"])
    assert above == unions == {"apps/web", "apps", ""}
    for folder in above:
        assert next(key for key in unions if key == folder) is folder


def test_exists_keys_folders_apart_from_the_root_of_an_absolute_path() -> None:
    tree = CountingTree({"x": b"", "a/x": b""})
    index = ownership.of(tree)
    asked = ["x", "/x", "//x", "a/x", "/a/x", "a//x", "a/"]
    assert [index.exists(path) for path in asked] == [tree.exists(path) for path in asked]
    assert tree.asked[: len(asked)] == asked  # each a lookup of its own, none answered twice
    assert [index.exists(path) for path in asked] == [tree.exists(path) for path in asked]
    assert len(tree.asked) == 3 * len(asked)  # the index answered again from its cache
    index.files_above("a/b", ("x",))
    above = next(key for key, _ in index._above if key == "a")
    assert next(key for key in index._exists if key == "a") is above
