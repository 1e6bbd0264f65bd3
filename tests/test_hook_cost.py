"""What a pre-commit run may skip and what it must still judge: the answers of the cheap
paths the hook takes are those of the full ones."""

from __future__ import annotations

import itertools
import posixpath
import subprocess
from pathlib import Path

import pytest

from gatekeeper import ownership
from gatekeeper.bundle import build_engine
from gatekeeper.config import Config
from gatekeeper.policy import cel
from gatekeeper.policy.cel import Batch
from gatekeeper.sources import LoadContext, flux_ignore, kubernetes
from gatekeeper.tree import MemoryTree, WorkTree


class CountingTree(MemoryTree):
    """A tree that counts how often all of it is listed."""

    listed = 0

    def list_dir(self, path: str) -> list[str]:
        self.listed += 1
        return super().list_dir(path)


def _whole_tree_answer(tree: MemoryTree, path: str) -> bool:
    """left_out as it was: every ignore file of the tree read, then the rules applied."""
    found = flux_ignore.rules(tree, None)
    return bool(found) and flux_ignore.ignored(path, found)


PATHS = [
    "pod.yaml",
    "cloudbuild.yaml",
    "apps/cloudbuild.yaml",
    ".github/workflows/ci.yaml",
    "apps/web/netpol.yaml",
    "apps/web/keep/netpol.yaml",
    "apps/web/deep/pod.yaml",
    "apps/.sops.yaml",
    "other/netpol.yaml",
    "other/x.png",
]
IGNORE_FILES = {
    ".sourceignore": b"**/netpol.yaml\n",
    "apps/web/.sourceignore": b"!keep/netpol.yaml\ndeep/\n",
    "other/.sourceignore": b"# nothing\n",
    "unrelated/.sourceignore": b"*.yaml\n",
}


def test_left_out_reads_only_the_folders_above_and_answers_as_the_whole_tree_does() -> None:
    """Every combination of ignore files: the same answer for every path as reading all of
    them, and the tree is listed only to learn whether the defaults apply."""
    for count in range(len(IGNORE_FILES) + 1):
        for chosen in itertools.combinations(IGNORE_FILES, count):
            files = {path: b"kind: Pod\n" for path in PATHS}
            files.update({name: IGNORE_FILES[name] for name in chosen})
            for path in PATHS:
                tree = CountingTree(files)
                expected = _whole_tree_answer(MemoryTree(files), path)
                assert flux_ignore.left_out(tree, path) is expected, (chosen, path)
                defaults = flux_ignore.ignored(path, flux_ignore._defaults())
                assert tree.listed == (1 if defaults and not _above(chosen, path) else 0)


def _above(chosen: tuple[str, ...], path: str) -> bool:
    folders = path.split("/")[:-1]
    above = {"/".join(folders[:depth]) for depth in range(len(folders) + 1)}
    return any(name.rpartition("/")[0] in above for name in chosen)


def test_a_deeper_ignore_file_decides_after_the_one_above() -> None:
    """As git and source-controller read them: the folder's own file last, whatever the
    names sort as (`-web` sorts before `.sourceignore`)."""
    tree = MemoryTree(
        {
            ".sourceignore": b"netpol.yaml\n",
            "-web/.sourceignore": b"!netpol.yaml\n",
            "-web/netpol.yaml": b"kind: NetworkPolicy\n",
        }
    )
    assert not flux_ignore.left_out(tree, "-web/netpol.yaml")
    assert flux_ignore.left_out(tree, "netpol.yaml")
    flux_tree = flux_ignore.view(tree, None)
    assert flux_tree.exists("-web/netpol.yaml") and not flux_tree.exists("netpol.yaml")


def test_the_library_batches_are_read_back_from_the_compiled_cache(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A pre-commit run reads compiled programs back (cel.compile_cached): the library's
    batched pod policies too (one list, emptied between parts, nested too deep for the
    protocol buffer reader: every run compiled it again, a tenth of a hook's CPU)."""
    made: list[Batch] = []
    original = Batch.__init__

    def kept(self: Batch, parts: list[tuple[str | None, str]]) -> None:
        original(self, parts)
        made.append(self)

    monkeypatch.setattr(Batch, "__init__", kept)
    engine = build_engine(Config())
    pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a}]}\n"
    for document in kubernetes.load("pod.yaml", pod.encode(), LoadContext()).documents:
        engine.evaluate(document)
    assert made and max(len(batch.texts) for batch in made) > 1
    environment = cel.environment(batch=True)
    for batch in made:
        for text in batch.texts:
            environment.deserialize(environment.compile(text).serialize())


def test_an_untracked_copy_is_listed_by_git_as_a_walk_finds_it(tmp_path: Path) -> None:
    """A repository whose files are not added yet (the benchmark's scaled copies): git's
    listing of untracked files, read as bytes, names what a walk finds, at the root too."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    for name in ("kustomization.yaml", "a/kustomization.yml", "a/b/Kustomization", "a/x.yaml"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("resources: []\n")
    (tmp_path / "linked").symlink_to("a")
    tree = WorkTree(tmp_path)
    names = frozenset({"kustomization.yaml", "kustomization.yml", "Kustomization"})
    walked = [name for name in tree.list_dir(".") if posixpath.basename(name) in names]
    assert ownership.Ownership(tree).named_below("", names) == walked
    assert "kustomization.yaml" in walked and "linked/b/Kustomization" in walked
