"""The ownership index: chart and kustomization lookups once per folder, from git's listing."""

from __future__ import annotations

import os
import posixpath
from pathlib import Path

import pytest

from gatekeeper import ownership
from gatekeeper.sources import LoadContext, helm, kustomize, with_owners
from gatekeeper.tree import MemoryTree, WorkTree
from tests.test_change import Repo

NAMES = frozenset(kustomize.KUSTOMIZATION_FILES)
DEPLOYMENT = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"


class CountingTree(MemoryTree):
    """A tree in memory that counts the existence checks asked of it."""

    def __init__(self, files: dict[str, bytes]) -> None:
        super().__init__(files)
        self.asked: list[str] = []

    def exists(self, path: str) -> bool:
        self.asked.append(path)
        return super().exists(path)


def test_a_folder_is_asked_for_its_chart_once_however_many_files_it_holds() -> None:
    files = {f"apps/web/templates/t{i}.yaml": b"x" for i in range(50)}
    files["apps/web/Chart.yaml"] = b"name: web"
    tree = CountingTree(files)
    assert all(helm.rendered_by_chart(name, tree) for name in list(files)[:50])
    assert not helm.rendered_by_chart("apps/other/deploy.yaml", tree)
    charts = [path for path in tree.asked if path.endswith("Chart.yaml")]
    assert sorted(charts) == sorted(set(charts))  # each folder once
    assert "apps/web/Chart.yaml" in charts


def _work_tree(tmp_path: Path) -> tuple[Repo, WorkTree]:
    repo = Repo(tmp_path / "repo")
    repo.write("apps/base/deploy.yaml", DEPLOYMENT)
    repo.write("apps/base/kustomization.yaml", "resources: [deploy.yaml]\n")
    repo.write("apps/overlays/prod/kustomization.yml", "resources: [../../base]\n")
    repo.write("apps/Kustomization", "resources: [base/deploy.yaml]\n")
    repo.write("apps/notes/kustomization.yaml.txt", "not a kustomization\n")
    repo.write("apps/kustomization.yaml-old/x.yaml", "a folder named like one\n")
    repo.write(".gitignore", "apps/generated/\n")
    repo.commit()
    return repo, WorkTree(repo.root)


def test_git_names_the_kustomizations_a_walk_finds(tmp_path: Path) -> None:
    repo, tree = _work_tree(tmp_path)
    repo.write("apps/staged/kustomization.yaml", "resources: []\n")  # untracked, not ignored
    walked = [n for n in tree.list_dir("apps") if os.path.basename(n) in NAMES]
    found = ownership.Ownership(tree).named_below("apps", NAMES)
    assert found == walked
    assert "apps/staged/kustomization.yaml" in found and "apps/Kustomization" in found
    assert ownership.Ownership(tree).named_below("", NAMES) == walked


def test_git_listing_leaves_out_ignored_files_and_walks_links_to_folders(tmp_path: Path) -> None:
    repo, tree = _work_tree(tmp_path)
    repo.write("apps/generated/kustomization.yaml", "resources: []\n")
    (repo.root / "apps/linked").symlink_to("overlays")  # a link to a folder, untracked
    repo.write("shared/kustomization.yaml", "resources: []\n")
    (repo.root / "apps/tracked-link").symlink_to("../shared")
    repo.commit()
    found = ownership.Ownership(tree).named_below("apps", NAMES)
    assert "apps/generated/kustomization.yaml" not in found  # ignored: not checked out
    assert "apps/linked/prod/kustomization.yml" in found
    assert "apps/tracked-link/kustomization.yaml" in found


def test_a_kustomization_linking_out_of_the_repository_does_not_count(tmp_path: Path) -> None:
    repo, tree = _work_tree(tmp_path)
    outside = tmp_path / "outside.yaml"
    outside.write_text("resources: []\n")
    (repo.root / "apps/evil").mkdir()
    (repo.root / "apps/evil/kustomization.yaml").symlink_to(outside)
    repo.commit()
    assert "apps/evil/kustomization.yaml" not in ownership.Ownership(tree).named_below(
        "apps", NAMES
    )


def test_a_folder_is_found_in_the_whole_trees_listing_once_git_gave_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, tree = _work_tree(tmp_path)
    repo.write("apps/staged/kustomization.yaml", "resources: []\n")  # untracked
    repo.write("apps/generated/kustomization.yaml", "resources: []\n")  # ignored
    repo.write("apps2/kustomization.yaml", "resources: []\n")  # a folder's name continued
    repo.write("other/kustomization.yaml", "resources: []\n")
    (repo.root / "apps/linked").symlink_to("overlays")
    folders = ["apps", "apps/overlays", "apps2", "other", "missing", "apps/base/deploy.yaml"]
    alone = {folder: ownership.Ownership(tree).named_below(folder, NAMES) for folder in folders}
    asked: list[str] = []
    ls_files = ownership._ls_files

    def counted(root: str, folder: str, *options: str) -> bytes:
        asked.append(folder)
        return ls_files(root, folder, *options)

    monkeypatch.setattr(ownership, "_ls_files", counted)
    index = ownership.Ownership(tree)
    whole = index.named_below("", NAMES)
    assert {folder: index.named_below(folder, NAMES) for folder in folders} == alone
    assert asked == [""]  # tracked and untracked, in one process, once
    assert index.named_below("", NAMES) == whole
    assert "apps/staged/kustomization.yaml" in alone["apps"]
    assert "apps2/kustomization.yaml" not in alone["apps"]
    assert "apps/linked/prod/kustomization.yml" in alone["apps"]
    assert "apps/generated/kustomization.yaml" not in alone["apps"]


def test_a_large_listing_of_the_whole_tree_is_not_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, tree = _work_tree(tmp_path)
    asked: list[str] = []
    ls_files = ownership._ls_files

    def counted(root: str, folder: str, *options: str) -> bytes:
        asked.append(folder)
        return ls_files(root, folder, *options)

    monkeypatch.setattr(ownership, "_ls_files", counted)
    monkeypatch.setattr(ownership, "WHOLE_LISTING_KEPT", 10)
    index = ownership.Ownership(tree)
    assert index.named_below("", NAMES) and index.named_below("apps", NAMES)
    assert asked == ["", "apps"]  # one process per listing


def test_untracked_files_the_tree_listed_as_regular_are_not_asked_whether_they_are_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A copy git tracks nothing of (the benchmark corpora) had each of its files asked
    whether it is a link once per set of names looked for (four a scan); the tree's own
    listing knows which are regular files, and the whole tree's listing is read once."""
    repo, tree = _work_tree(tmp_path)
    repo.write("apps/staged/kustomization.yaml", "resources: []\n")  # untracked
    repo.write("apps/staged/Chart.yaml", "name: staged\n")
    (repo.root / "apps/linked").symlink_to("overlays")  # an untracked link to a folder
    tree.list_dir(".")  # as a scan of the whole tree lists it first
    asked: list[str] = []
    islink = os.path.islink

    def counted(path: str) -> bool:
        asked.append(os.path.relpath(path, repo.root))
        return islink(path)

    monkeypatch.setattr(os.path, "islink", counted)
    index = ownership.Ownership(tree)
    kustomizations = index.named_below("", NAMES)
    charts = index.named_below("", frozenset({"Chart.yaml"}))
    assert index.named_below("apps", NAMES) == kustomizations
    assert "apps/staged/kustomization.yaml" in kustomizations
    assert "apps/linked/prod/kustomization.yml" in kustomizations  # still walked as a link
    assert charts == ["apps/staged/Chart.yaml"]
    assert sorted(asked) == ["apps/linked", "apps/linked"]  # the whole tree's, then apps'


def test_without_git_the_folder_is_walked(tmp_path: Path) -> None:
    repo, _ = _work_tree(tmp_path)
    (repo.root / ".git").rename(repo.root / "git-moved")
    tree = WorkTree(repo.root)
    found = ownership.Ownership(tree).named_below("apps", NAMES)
    assert "apps/base/kustomization.yaml" in found


def test_a_broken_git_directory_falls_back_to_the_walk(tmp_path: Path) -> None:
    repo, _ = _work_tree(tmp_path)
    (repo.root / ".git").rename(repo.root / "git-moved")
    (repo.root / ".git").write_text("gitdir: /nonexistent\n")
    tree = WorkTree(repo.root)
    assert "apps/base/kustomization.yaml" in ownership.Ownership(tree).named_below("apps", NAMES)


def test_owners_of_a_base_file_come_from_the_index(tmp_path: Path) -> None:
    _, tree = _work_tree(tmp_path)
    context = LoadContext(tree=tree)
    owners = with_owners(["apps/base/deploy.yaml"], context)
    assert owners == [
        "apps/base/deploy.yaml",
        "apps/Kustomization",
        "apps/base/kustomization.yaml",
        "apps/overlays/prod/kustomization.yml",
    ]


@pytest.mark.parametrize("kind", ["kustomize reads", "kustomize patches"])
def test_one_index_per_tree(kind: str) -> None:
    tree = MemoryTree({})
    calls: list[str] = []

    def compute(_tree: object, key: str) -> str:
        calls.append(key)
        return key.upper()

    assert ownership.of(tree).remember(kind, "a", compute) == "A"
    assert ownership.of(tree).remember(kind, "a", compute) == "A"
    assert ownership.of(MemoryTree({})).remember(kind, "a", compute) == "A"
    assert calls == ["a", "a"]  # once for each tree


# Overlays that name what they build every way a kustomization can: by a path ending at the
# name, at `..` or `.`, escaped, across a joined double-quoted line, three bases deep; and
# names holding the characters that delimit entries (a space, `,`, `#`, `=`).
_OWNED = {
    "apps/base/deploy.yaml": DEPLOYMENT,
    "apps/base/kustomization.yaml": "resources: [deploy.yaml]\n",
    "apps/odd/my app.yaml": DEPLOYMENT,
    "apps/odd/a,b#c=d.yaml": DEPLOYMENT,
    "apps/odd/kustomization.yaml": 'resources:\n  - my app.yaml\n  - "a,b#c=d.yaml"\n',
    "apps/base/patch.yaml": DEPLOYMENT,
    "apps/base/app.env": "A=1\n",
    "apps/mid/kustomization.yaml": (
        "resources: [../base]\npatches: [{path: ../base/patch.yaml}]\n"
        "configMapGenerator: [{name: c, envs: [../base/app.env]}]\n"
    ),
    "apps/top/kustomization.yaml": "resources:\n  - ../mid/\n",
    "apps/escaped/kustomization.yaml": 'resources: ["../\\x62ase"]\n',
    "apps/joined/kustomization.yaml": 'resources: ["../ba\\\n  se"]\n',
    "apps/up/inner/kustomization.yaml": "resources: [../..]\n",
    "apps/kustomization.yaml": "resources: [base/deploy.yaml]\n",
    "apps/dot/kustomization.yaml": "resources: [./sub/.]\n",
    "apps/dot/sub/kustomization.yaml": "resources: [../../top]\n",
    "apps/other/kustomization.yaml": "resources: [cm.yaml]\n",
    "apps/other/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
}


@pytest.mark.parametrize("path", sorted(p for p in _OWNED if "kustomization" not in p))
def test_owners_found_without_parsing_every_kustomization_are_all_of_them(path: str) -> None:
    """The text pre-filter of kustomize.owners finds what building every one finds."""
    tree = MemoryTree({name: text.encode() for name, text in _OWNED.items()})
    every = sorted(name for name in _OWNED if posixpath.basename(name) in NAMES)
    building = [file for file in every if path in kustomize._reads(tree, file)]
    assert kustomize.owners(path, LoadContext(tree=tree)) == building
    assert building  # each file has an owner here: the test compares something


# Kustomizations that share bases, nest three deep, form cycles (a -> b -> a, and one through
# a folder's `..`), point at a folder holding two kustomization files, and name files beside
# folders: every closure must be what a walk of it finds, whichever is asked first.
_SHARED = {
    "k/base/kustomization.yaml": "resources: [deploy.yaml, ../common]\n",
    "k/base/deploy.yaml": DEPLOYMENT,
    "k/common/kustomization.yaml": "resources: [cm.yaml]\n",
    "k/common/cm.yaml": "kind: ConfigMap\n",
    "k/mid/kustomization.yaml": "resources: [../base, ../common]\npatches: [{path: p.yaml}]\n",
    "k/mid/p.yaml": DEPLOYMENT,
    "k/top/kustomization.yaml": "resources: [../mid, ../base/deploy.yaml]\n",
    "k/cycle-a/kustomization.yaml": "resources: [../cycle-b, a.yaml]\n",
    "k/cycle-a/a.yaml": DEPLOYMENT,
    "k/cycle-b/kustomization.yaml": "resources: [../cycle-a, ../base]\n",
    "k/up/kustomization.yaml": "resources: [inner, ../common]\n",
    "k/up/inner/kustomization.yaml": "resources: [.., i.yaml]\n",
    "k/up/inner/i.yaml": DEPLOYMENT,
    "k/two/kustomization.yaml": "resources: [one.yaml]\n",
    "k/two/kustomization.yml": "resources: [../base, yml.yaml, ../uses-two]\n",
    "k/two/one.yaml": DEPLOYMENT,
    "k/two/yml.yaml": DEPLOYMENT,
    "k/uses-two/kustomization.yaml": "resources: [../two, ../cycle-a]\n",
}


@pytest.mark.parametrize("order", ["sorted", "reversed"])
def test_shared_closures_are_what_a_walk_of_each_finds(order: str) -> None:
    files = sorted(name for name in _SHARED if posixpath.basename(name) in NAMES)
    tree = MemoryTree({name: text.encode() for name, text in _SHARED.items()})
    for file in files if order == "sorted" else files[::-1]:
        walk = kustomize.Closure(tree)  # not shared: every nested kustomization walked
        walk.add(file, kustomize._first_object(tree, file))
        assert kustomize._reads(tree, file) == frozenset(walk.files), file
    assert kustomize._reads(tree, "k/top/kustomization.yaml") >= {
        "k/base/deploy.yaml", "k/common/cm.yaml", "k/mid/p.yaml", "k/mid/kustomization.yaml"
    }  # fmt: skip


def test_a_scan_of_every_file_searches_no_owner_and_a_scan_of_a_folder_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The owners' search adds the charts and overlays that render the scanned files when
    the scan does not hold them; a scan of a whole work tree holds every file, so it is not
    made (0.4 s of the real k8s-full corpus's scan). A scan of a folder still brings in the
    overlay elsewhere that builds it."""
    from gatekeeper import main, pipeline
    from gatekeeper.sources import LISTING_PAYS

    repo = Repo(tmp_path / "repo")
    for number in range(LISTING_PAYS):
        repo.write(
            f"app/base/cm{number}.yaml",
            f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{number}}}\n",
        )
    repo.write("app/base/kustomization.yaml", "resources: [cm0.yaml]\n")
    repo.write("app/overlay/kustomization.yaml", "resources: [../base]\nnamespace: prod\n")
    repo.commit()
    searched: list[list[str]] = []

    def spy(paths: list[str], context: LoadContext) -> list[str]:
        found = with_owners(paths, context)
        searched.append([path for path in found if path not in paths])
        return found

    monkeypatch.setattr(pipeline, "with_owners", spy)
    options = ["--jobs", "1", "--format", "json", "--output", os.devnull]
    assert main.main(["scan", str(repo.root), *options]) == 0
    assert searched == []
    assert main.main(["scan", str(repo.root / "app/base"), *options]) == 0
    assert searched == [["app/overlay/kustomization.yaml"]]
