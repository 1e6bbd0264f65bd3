"""spelling: which files of a tree spell some words, by git grep or by reading them."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from gatekeeper import spelling as spelling_module
from gatekeeper.contents import SEARCHED, Contents
from gatekeeper.git import RevisionTree
from gatekeeper.spelling import git_grep, note, spelling
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


def test_a_tracked_file_in_an_ignored_folder_is_searched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`git grep --untracked` does not enter an ignored folder, nor read a tracked file an
    ignore rule matches; kubectl and the scan read them: a work tree's search finds them,
    once each, in order, with or without lines, and not the untracked ignored ones."""
    repo = Repo(tmp_path / "repo")
    repo.write(".gitignore", "build/\nz*.yaml\n")
    repo.write("build/vap.yaml", "kind: ValidatingAdmissionPolicy\nkind: x\n")
    repo.write("build/t.yaml", "kind: ValidatingAdmissionPolicy\n")  # stays untracked
    repo.write("z.yaml", "kind: ValidatingAdmissionPolicy\n")
    repo.write("a.yaml", "kind: ValidatingAdmissionPolicy\n")
    repo.git.git.add("-f", ".gitignore", "build/vap.yaml", "z.yaml")
    repo.git.git.commit("-q", "-m", "forced")
    work = WorkTree(repo.root)
    words = ["ValidatingAdmissionPolicy"]
    assert git_grep(work, words) == [("a.yaml", ""), ("build/vap.yaml", ""), ("z.yaml", "")]
    assert git_grep(work, words, (".yaml",), lines=True, exclude=["a.*"]) == [
        ("build/vap.yaml", "kind: ValidatingAdmissionPolicy"),
        ("z.yaml", "kind: ValidatingAdmissionPolicy"),
    ]
    assert git_grep(work, words, (".json",)) == []
    monkeypatch.setattr(spelling_module, "_PATHS_PER_GREP", 1)  # several greps: the same answer
    assert git_grep(WorkTree(repo.root), words) == [
        ("a.yaml", ""),
        ("build/vap.yaml", ""),
        ("z.yaml", ""),
    ]


SEARCHED_WORDS = [word.decode() for word in SEARCHED]


def _searched(
    tree: WorkTree,
    calls: list[list[str]],
    words: Sequence[str] = SEARCHED_WORDS,
    suffixes: tuple[str, ...] = (".yaml", ".yml"),
) -> list[tuple[str, str]] | None:
    """git_grep of `words`, the git commands it ran added to `calls`."""
    real = subprocess.run

    def recording(command: list[str], *args: Any, **kwargs: Any) -> Any:
        calls.append(command)
        return real(command, *args, **kwargs)

    subprocess.run = recording  # type: ignore[assignment]
    try:
        return git_grep(tree, words, suffixes)
    finally:
        subprocess.run = real


def test_a_tree_the_scan_read_whole_is_searched_without_git(tmp_path: Path) -> None:
    """The words every scan asks of the whole tree (contents.SEARCHED) are answered from the
    scan's read pass when it read every file git would search: git's answer, without a
    grep (which reads every file again); only the files found are asked whether git
    ignores them. A tree the pass did not read whole (a hook's few files) is asked of git."""
    repo = Repo(tmp_path / "repo")
    repo.write(".gitignore", "ignored.yaml\n")
    repo.write("a/flux.yaml", "apiVersion: kustomize.toolkit.fluxcd.io/v1\n")
    repo.write("b/vap.yml", "kind: ValidatingAdmissionPolicy\n")
    repo.write("b/plain.yaml", "kind: ConfigMap\n")
    repo.write("c/binary.yaml", "\0kind: ValidatingPolicy\n")  # git: binary, not searched
    repo.write("notes.txt", "ValidatingPolicy\n")  # not a suffix asked
    repo.commit("base")
    repo.write("untracked.yaml", "kind: ValidatingPolicy\n")  # searched by git too
    repo.write("ignored.yaml", "kind: ValidatingPolicy\n")  # never searched
    expected = [("a/flux.yaml", ""), ("b/vap.yml", ""), ("untracked.yaml", "")]
    calls: list[list[str]] = []
    assert _searched(WorkTree(repo.root), calls) == expected
    assert [command[3] for command in calls] == ["grep", "ls-files"]  # asked of git

    tree = WorkTree(repo.root)
    names = [*tree.list_dir(""), "ignored.yaml"]  # a pass may read more than git searches
    note(tree, Contents.of([(name, tree.read(name)) for name in names], tree.read))
    calls = []
    assert _searched(tree, calls) == expected
    assert [command[3] for command in calls] == ["check-ignore"]  # of the 4 found: no grep
    calls = []
    assert _searched(tree, calls, ("ValidatingPolicy",), (".json",)) == []
    assert calls == []  # none found: no git at all

    partial = WorkTree(repo.root)  # a pass that read some of the files only
    note(partial, Contents.of([("a/flux.yaml", partial.read("a/flux.yaml"))], partial.read))
    calls = []
    assert _searched(partial, calls) == expected
    assert [command[3] for command in calls] == ["grep", "ls-files"]
    calls = []
    assert git_grep(tree, ["ConfigMap"], (".yaml",)) == [("b/plain.yaml", "")]  # not noted


def test_a_noted_tree_is_let_go_with_its_scan(tmp_path: Path) -> None:
    """What a read pass noted does not keep its tree alive (an API caller's scans, one after
    another: each tree and its read kept to the end of the process otherwise)."""
    import gc
    import weakref

    tree = WorkTree(tmp_path)
    note(tree, Contents.of([("a.yaml", b"kind: ValidatingPolicy\n")], tree.read))
    held = weakref.ref(tree)
    del tree
    gc.collect()
    assert held() is None
