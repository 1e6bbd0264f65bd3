"""WorkTree.list_dir takes what the walk already knows (a plain file in a folder inside the
root) without asking the disk again, and lists the whole tree once a run: the answers must
stay those of `exists` over every walked entry."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gatekeeper import tree as tree_mod
from gatekeeper.tree import WorkTree, walk_files


def _reference(root: Path, path: str) -> list[str]:
    """The listing as it was made before: every walked entry that `exists` confirms."""
    tree = WorkTree(root)
    names = [
        p.relative_to(root).as_posix() for p in walk_files(root / path, root, frozenset({".git"}))
    ]
    return sorted(name for name in names if tree.exists(name))


@pytest.fixture()
def linked(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    (outside / "deep").mkdir(parents=True)
    (outside / "secret.yaml").write_text("kind: Secret\n")
    (outside / "deep" / "x.yaml").write_text("a: 1\n")
    root = tmp_path / "repo"
    (root / "apps" / "web").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[core]\n")
    (root / "apps" / "web" / "deploy.yaml").write_text("kind: Deployment\n")
    (root / "apps" / "kustomization.yaml").write_text("resources: [web]\n")
    (root / "base").mkdir()
    (root / "base" / "pod.yaml").write_text("kind: Pod\n")
    os.symlink("../base", root / "apps" / "base-link")  # a folder link inside
    os.symlink("../outside", root / "out-link")  # a folder link out of the repository
    os.symlink("../outside/secret.yaml", root / "apps" / "secret.yaml")  # a file link out
    os.symlink("web/deploy.yaml", root / "apps" / "again.yaml")  # a file link inside
    os.symlink("missing.yaml", root / "apps" / "broken.yaml")
    os.symlink("..", root / "base" / "loop")  # a loop back to the root
    os.mkfifo(root / "apps" / "pipe.yaml")
    return root


@pytest.mark.parametrize(
    "path", [".", "", "apps", "apps/", "./apps", "base", "apps/../base", "out-link"]
)
def test_listing_is_what_exists_confirms(linked: Path, path: str) -> None:
    assert WorkTree(linked).list_dir(path) == _reference(linked, path)


def test_listing_through_a_linked_root(linked: Path, tmp_path: Path) -> None:
    os.symlink(linked, tmp_path / "root-link")
    root = tmp_path / "root-link"
    assert WorkTree(root).list_dir(".") == _reference(root, ".")
    assert "apps/again.yaml" in WorkTree(root).list_dir(".")
    assert "apps/secret.yaml" not in WorkTree(root).list_dir(".")


def test_relative_root(linked: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(linked.parent)
    assert WorkTree(Path("repo")).list_dir("apps") == _reference(Path("repo"), "apps")
    monkeypatch.chdir(linked)
    assert WorkTree(Path(".")).list_dir(".") == _reference(Path("."), ".")


def test_whole_tree_listed_once(linked: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tree = WorkTree(linked)
    expected = _reference(linked, ".")
    walks: list[str] = []
    real = tree_mod.walk_entries

    def counting(directory, root, skip=frozenset(), walked=None):  # type: ignore[no-untyped-def]
        walks.append(directory)
        return real(directory, root, skip, walked)

    monkeypatch.setattr(tree_mod, "walk_entries", counting)
    first = tree.list_dir(".")
    first.append("changed by a caller")
    assert tree.list_dir("") == expected
    assert len(walks) == 1
    tree.list_dir("apps")  # a folder is walked on its own
    assert len(walks) == 2


def test_reads_after_the_listing_are_the_same(linked: Path) -> None:
    before = WorkTree(linked)
    after = WorkTree(linked)
    names = after.list_dir(".")
    assert "apps/web/deploy.yaml" in after._plain
    assert "apps/again.yaml" not in after._plain  # a link: resolved as before
    for name in [*names, "apps/secret.yaml", "apps/broken.yaml", "apps/./web/../web/deploy.yaml"]:
        assert after.exists(name) == before.exists(name), name
        try:
            expected: bytes | type[OSError] = before.read(name)
        except OSError as error:
            expected = type(error)
        try:
            got: bytes | type[OSError] = after.read(name)
        except OSError as error:
            got = type(error)
        assert got == expected, name
    (linked / "base" / "pod.yaml").unlink()  # gone since the listing: still an error
    with pytest.raises(OSError):
        after.read("base/pod.yaml")


NAMES = [
    "apps/web/deploy.yaml",
    "apps/web/missing.yaml",
    "apps/missing/deploy.yaml",
    "apps/web",
    "apps",
    "apps/pipe.yaml",
    "apps/broken.yaml",
    "apps/secret.yaml",
    "apps/again.yaml",
    "apps/base-link/pod.yaml",
    "apps/base-link/none.yaml",
    "base/loop/apps/web/deploy.yaml",  # through the loop: not walked, still there
    "base/loop/base/loop/base/pod.yaml",
    "out-link/secret.yaml",
    "out-link/deep/x.yaml",
    ".git/config",
    ".git/none",
    "missing.yaml",
    "./apps/web/deploy.yaml",
    "apps/web/../kustomization.yaml",
    "APPS/WEB/DEPLOY.YAML",
]


def test_exists_after_the_listing_is_the_disk_answer(linked: Path) -> None:
    before = WorkTree(linked)
    after = WorkTree(linked)
    after.list_dir(".")
    assert "" in after._walked and "apps/web" in after._walked
    assert not any(folder.startswith(".git") for folder in after._walked)
    for name in NAMES:
        assert after.exists(name) == before.exists(name), name


def test_no_folder_answers_on_a_case_insensitive_file_system(
    linked: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert tree_mod._case_sensitive(str(linked), ["apps/web/deploy.yaml"])
    (linked / "APPS").mkdir()
    (linked / "APPS" / "WEB").mkdir()
    (linked / "APPS" / "WEB" / "DEPLOY.YAML").write_text("as a case-insensitive one answers\n")
    assert not tree_mod._case_sensitive(str(linked), ["apps/web/deploy.yaml"])
    monkeypatch.setattr(tree_mod, "_case_sensitive", lambda root, names: False)
    tree = WorkTree(linked)
    tree.list_dir(".")
    assert not tree._walked


def test_owners_of_many_files_are_those_found_without_the_listing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gatekeeper import sources

    (tmp_path / "chart" / "templates").mkdir(parents=True)
    (tmp_path / "chart" / "Chart.yaml").write_text("name: c\nversion: 1.0.0\n")
    (tmp_path / "chart" / "templates" / "t.yaml").write_text("kind: Pod\n")
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "kustomization.yaml").write_text("resources: [p0.yaml, p1.yaml]\n")
    (tmp_path / "compose.yaml").write_text("include: [base/p2.yaml]\n")
    names = ["chart/templates/t.yaml"]
    for number in range(sources.LISTING_PAYS):
        (tmp_path / "base" / f"p{number}.yaml").write_text(
            f"kind: Pod\nmetadata: {{name: p{number}}}\n"
        )
        names.append(f"base/p{number}.yaml")

    def owners(pays: int) -> tuple[list[str], bool]:
        monkeypatch.setattr(sources, "LISTING_PAYS", pays)
        tree = WorkTree(tmp_path)
        found = sources.with_owners(names, sources.LoadContext(tree=tree))
        return found, bool(tree._walked)

    listed, walked = owners(sources.LISTING_PAYS)
    assert walked
    assert (listed, False) == owners(10**9)
    assert {"chart/Chart.yaml", "base/kustomization.yaml", "compose.yaml"} <= set(listed)
