"""spelling: which files of a tree spell some words, by git grep or by reading them."""

from __future__ import annotations

from pathlib import Path

from gatekeeper.git import RevisionTree
from gatekeeper.spelling import git_grep, spelling
from gatekeeper.tree import MemoryTree, WorkTree
from tests.test_change import Repo

FILES = {
    "a.yaml": "chart: ./web\nname: web\n",
    "b.json": '{"path": "charts/api"}\n',
    "notes.txt": "web and api\n",
}


def test_the_same_answer_from_a_work_tree_a_revision_and_files_read(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    for name, text in FILES.items():
        repo.write(name, text)
    repo.write("untracked.yaml", "helm: web\n")  # a work tree's untracked file counts
    repo.git.git.add("a.yaml", "b.json", "notes.txt")
    repo.git.git.commit("-q", "-m", "base")
    work = WorkTree(repo.root)
    revision = RevisionTree(repo.git.head.commit)
    memory = MemoryTree({name: text.encode() for name, text in FILES.items()})
    words, near = ["web", "api"], ["chart", "path", "helm"]
    assert git_grep(work, words, (".yaml",), lines=True, near=near) == [
        ("a.yaml", "chart: ./web"),
        ("untracked.yaml", "helm: web"),
    ]
    assert git_grep(revision, words, (".yaml", ".json"), lines=True, near=near) == [
        ("a.yaml", "chart: ./web"),
        ("b.json", '{"path": "charts/api"}'),
    ]
    assert git_grep(memory, words) is None  # no git: git cannot say
    assert spelling(memory, words, lines=True, near=near) == [
        ("a.yaml", "chart: ./web"),
        ("b.json", '{"path": "charts/api"}'),
    ]
    assert spelling(memory, words, (".txt",)) == [("notes.txt", "")]
    assert spelling(revision, ["nowhere"]) == []
    # globs left out of the search (`skip` refuses them where git does not search)
    repo.write("c/templates/t.yaml", "chart: web\n")
    repo.commit("a template")
    excluded = git_grep(WorkTree(repo.root), ["web"], lines=True, exclude=["**/templates/**"])
    assert excluded is not None and ("c/templates/t.yaml", "chart: web") not in excluded
    assert ("c/templates/t.yaml", "chart: web") in (
        git_grep(WorkTree(repo.root), ["web"], lines=True) or []
    )
