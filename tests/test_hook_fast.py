"""What a pre-commit run (`scan --hook FILE`) loads: only what the staged files need.

Start-up is most of a hook on one file, so a format's parser is imported when a file of that
format is loaded, not because the adapter registry asks every format whether it owns a path.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import PRIVILEGED_POD

_LOADED = """\
import json, sys
from gatekeeper.main import main
code = main(["scan", "--hook", *sys.argv[1:]])
sys.stderr.write(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _hook_modules(repo: Path, *files: str) -> tuple[int, set[str]]:
    proc = subprocess.run(
        [sys.executable, "-c", _LOADED, *files],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(proc.stderr.splitlines()[-1])
    return report["code"], set(report["modules"])


def test_a_manifest_hook_does_not_load_the_terraform_parser(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(PRIVILEGED_POD)
    code, modules = _hook_modules(tmp_path, "pod.yaml")
    assert code == 1  # the privileged Pod blocks: the run judged it
    assert not {"gatekeeper.hcl", "gatekeeper.tfeval", "lark", "hcl2"} & modules
    # one process: the pool's machinery (and malloc_trim's ctypes) is not imported either
    assert not {"multiprocessing", "ctypes"} & modules


def test_a_terraform_hook_loads_it(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "aws_ebs_volume" "v" {\n  availability_zone = "a"\n  encrypted = false\n}\n'
    )
    code, modules = _hook_modules(tmp_path, "main.tf")
    assert code == 1
    assert {"gatekeeper.hcl", "gatekeeper.sources.terraform_root"} <= modules


def test_a_hook_in_a_chart_starts_the_renderer_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only for a file below a Chart.yaml inside the working directory (pre-commit's paths)."""
    from gatekeeper.sources import helm, helm_engine

    helm_engine._stop_worker()  # none left by an earlier test
    (tmp_path / "chart/templates").mkdir(parents=True)
    (tmp_path / "chart/Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    (tmp_path / "deploy").mkdir()
    monkeypatch.chdir(tmp_path / "deploy")
    helm.prestart(["pod.yaml", "../chart/values.yaml", str(tmp_path / "chart/values.yaml")])
    assert helm_engine._Worker.current is None  # outside the working directory: not looked at
    monkeypatch.chdir(tmp_path)
    helm.prestart(["deploy/pod.yaml"])
    assert helm_engine._Worker.current is None
    try:
        helm.prestart(["deploy/pod.yaml", "chart/templates/deploy.yaml"])
        worker = helm_engine._Worker.current
        assert worker is not None and worker.proc.poll() is None
        assert helm_engine.render(str(tmp_path / "chart"), []).load_error == ""
        assert helm_engine._Worker.current is worker  # the render used the started child
    finally:
        helm_engine._stop_worker()


def test_the_terraform_files_git_lists_are_those_a_walk_finds(tmp_path: Path) -> None:
    """terraform_modules.terraform_files from git's listing equals the walk of the tree:
    tracked, untracked, ignored, a link to a folder inside, a file linking out (left out by
    both), a tracked file deleted from disk, a `.tf` folder, and `.tf.json`/`.tfvars`."""
    from gatekeeper.sources import terraform_modules
    from gatekeeper.tree import WorkTree
    from tests.test_change import Repo

    repo = Repo(tmp_path / "repo")
    for name in ("main.tf", "mod/a.tf", "mod/b.tf.json", "env/prod.tfvars", "gone/x.tf"):
        repo.write(name, "locals {\n  a = 1\n}\n")
    repo.write(".gitignore", "local/\n*.auto.tfvars\n")
    repo.write("notes.txt", "x")
    repo.commit()
    repo.write("untracked/u.tf", "")
    repo.write("local/override.tf", "")  # ignored: still on disk, still walked
    repo.write("env/dev.auto.tfvars", "")
    (repo.root / "gone/x.tf").unlink()
    (repo.root / "linked").symlink_to("mod")
    outside = tmp_path / "outside.tf"
    outside.write_text("")
    (repo.root / "mod/evil.tf").symlink_to(outside)
    (repo.root / "folder.tf").mkdir()
    (repo.root / "folder.tf/inner.tf").write_text("")
    tree = WorkTree(repo.root)
    suffixes = (*terraform_modules.TFVARS_SUFFIXES, *terraform_modules.TF_SUFFIXES)
    walked = [name for name in tree.list_dir(".") if name.endswith(suffixes)]
    listed = terraform_modules.terraform_files(tree, suffixes)
    assert listed == walked
    assert {"local/override.tf", "linked/a.tf", "untracked/u.tf"} <= set(listed)
    assert "mod/evil.tf" not in listed and "gone/x.tf" not in listed


def test_a_folder_resolves_as_realpath_has_it_from_its_parents_answer(tmp_path: Path) -> None:
    """tree._folder builds on the parent's remembered answer (one lstat per new folder): it
    must still say what os.path.realpath says for links to folders, links to links, links out
    of the tree, dangling links, a loop and missing folders, asked in any order."""
    from gatekeeper import tree as tree_module

    (tmp_path / "repo/a/b/c").mkdir(parents=True)
    (tmp_path / "outside/d").mkdir(parents=True)
    repo = tmp_path / "repo"
    (repo / "link").symlink_to("a/b")
    (repo / "a/link2").symlink_to("../link/c")
    (repo / "a/out").symlink_to(tmp_path / "outside")
    (repo / "dangling").symlink_to("nowhere/x")
    (repo / "loop1").symlink_to("loop2")
    (repo / "loop2").symlink_to("loop1")
    folders = [
        "a/b/c", "link", "link/c", "a/link2", "a/link2/deeper", "a/out/d", "a/out/missing/e",
        "dangling", "dangling/f", "loop1/g", "missing/h", "a", "",
    ]  # fmt: skip
    for order in (folders, folders[::-1]):
        remembered: dict[str, str] = {}
        for folder in order:
            path = os.path.abspath(os.path.join(repo, folder))
            assert tree_module._folder(path, remembered) == os.path.realpath(path), folder


def test_admission_cel_is_loaded_only_for_admission_policies(tmp_path: Path) -> None:
    """The admission engine (CEL with Kubernetes' libraries, cost model) is imported when a
    ValidatingAdmissionPolicy is compiled: a hook without one does not pay for it, and one
    with one still judges by it."""
    from tests.test_admission import REPLICA_LIMIT, deployment

    (tmp_path / "web.yaml").write_text(deployment("web", "test", 7))
    code, modules = _hook_modules(tmp_path, "web.yaml")
    assert code == 1  # built-in policies judged it
    assert not {"gatekeeper.admission_cel", "gatekeeper.admission_cost"} & modules
    policies = tmp_path / "org"
    policies.mkdir()
    unselective = REPLICA_LIMIT.split("  matchResources:")[0]  # bound in every namespace
    (policies / "replicas.yaml").write_text(unselective)
    run = [sys.executable, "-m", "gatekeeper", "scan", "--hook", "--no-builtin"]
    proc = subprocess.run(
        [*run, "-p", str(policies), "web.yaml"], cwd=tmp_path, capture_output=True, text=True
    )
    assert proc.returncode == 1, proc.stderr
    assert "VAP-replica-limit" in proc.stdout and "at most 5 replicas" in proc.stdout


# The layout's line patterns as one MULTILINE regex each (what terraform_modules searched
# with before finding lines by their newline): the reference its faster search must equal.
_OLD_SOURCE = re.compile(r'^\s*"?source"?\s*[=:]\s*"(\.\.?/[^"]*)"', re.MULTILINE)
_OLD_ROOT = re.compile(
    r'^[ \t]*(?:backend[ \t]+"|cloud[ \t]*\{|provider[ \t]+"?[\w-]+"?[ \t]*\{)'
    r'|"(?:backend|cloud|provider)"[ \t]*:',
    re.MULTILINE,
)
_LAYOUT_TEXTS = [
    "",
    'source = "./a"',
    '\n\n  source = "../b"\nsource="./c"\n',
    'module "m" {\n  source = "./mod"\n}\nmodule "n" {\n\tsource= "../x/y"  \n}\n',
    '  \n\n source = "./after-blank-lines"',
    'x source = "./not-at-line-start"\n',
    '{"module": {"m": {\n"source": "./json"\n}}}',
    'terraform {\n  backend "s3" {}\n}\n',
    'backend "local" {}',
    "cloud {\n}\n",
    "  cloud{",
    'provider "aws" {\n}\n',
    "provider aws {",
    'resource "x" "y" {\n  provider = aws.east\n}\n',
    '{"provider": {"aws": {}}}',
    '{"resource": {"x": {"y": {"provider" : "aws.east"}}}}',
    'a\r\nprovider "aws" {\r\n}\r\n',
    '# backend "s3" {}\n',
    'x = "\nprovider \\"aws\\" {\n"',
]


@pytest.mark.parametrize("text", _LAYOUT_TEXTS)
def test_the_layout_finds_sources_and_roots_as_the_multiline_regexes_did(text: str) -> None:
    from gatekeeper.sources import terraform_modules

    assert terraform_modules.local_sources(text) == _OLD_SOURCE.findall(text)
    assert terraform_modules.configures_root(text) == bool(_OLD_ROOT.search(text))


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def test_every_command_is_named_where_main_looks_for_it() -> None:
    """main() builds only the parser of the command argv names, if COMMAND_NAMES has it."""
    from gatekeeper.main import COMMAND_NAMES, build_parser

    assert tuple(_subcommands(build_parser())) == COMMAND_NAMES


@pytest.mark.parametrize("command", ["scan", "test", "github", "explain", "config", "completion"])
def test_a_parser_built_for_one_command_reads_it_as_the_full_one_does(command: str) -> None:
    from gatekeeper.main import build_parser

    full, one = build_parser(), build_parser(command)
    assert command in _subcommands(one) and len(_subcommands(one)) < len(_subcommands(full))
    assert one.format_usage() == full.format_usage()  # what an unrecognised argument shows
    assert _subcommands(one)[command].format_help() == _subcommands(full)[command].format_help()
    arguments = {"scan": ["--hook", "x.yaml"], "explain": ["K8S-X"], "completion": ["bash"]}
    arguments["config"] = ["validate"]
    argv = [command, *arguments.get(command, [])]
    assert vars(one.parse_args(argv)) == vars(full.parse_args(argv))


def test_a_work_tree_reads_and_finds_as_read_file_does(tmp_path: Path) -> None:
    """WorkTree.read and .exists keep the root's answers (its absolute path, where it
    resolves): the same bytes, errors and answers as read_file and a fresh lookup give, for
    files, links inside and out, folders, a FIFO, missing and `..`-holding paths."""
    from gatekeeper.tree import WorkTree, read_file

    repo = tmp_path / "repo"
    (repo / "a/b").mkdir(parents=True)
    (repo / "a/b/f.yaml").write_text("x: 1\n")
    (repo / "top.yaml").write_text("y: 2\n")
    (tmp_path / "secret").write_text("s\n")
    (repo / "in-link").symlink_to("a/b/f.yaml")
    (repo / "out-link").symlink_to(tmp_path / "secret")
    (repo / "folder-link").symlink_to("a")
    (repo / "out-folder").symlink_to(tmp_path)
    os.mkfifo(repo / "fifo")
    paths = [
        "top.yaml", "a/b/f.yaml", "a/../top.yaml", "./a/b/f.yaml", "in-link", "out-link",
        "folder-link/b/f.yaml", "out-folder/secret", "a", "a/b", "fifo", "missing.yaml",
        "a/missing/x", "../secret", "/etc/passwd", ".", "", "folder-link/../top.yaml",
    ]  # fmt: skip

    def outcome(read: Callable[[], bytes]) -> object:
        try:
            return read()
        except OSError as error:
            return (type(error), error.errno, error.strerror, error.filename)

    tree = WorkTree(repo)
    for path in paths * 2:  # the second round from the tree's remembered folders
        expected: object = FileNotFoundError
        if not path.startswith(("/", "../")) and path != "../secret":
            expected = outcome(lambda: read_file(repo / path, repo))  # noqa: B023
        got = outcome(lambda: tree.read(path))  # noqa: B023
        if expected is FileNotFoundError:
            assert isinstance(got, tuple) and got[0] is FileNotFoundError, path
        else:
            assert got == expected, path
        fresh = WorkTree(repo)
        fresh._absolute = None  # the lookup without the root's answers
        assert tree.exists(path) == fresh.exists(path), path


def test_no_blob_cache_is_opened_for_nothing_to_read(own_cache: Path) -> None:
    """A hook reads none of the repository's other manifests (they are the PR check's):
    the cache of their inventories is not opened for it; with one to read, it is used."""
    from gatekeeper import blobcache
    from gatekeeper.sources import LoadContext

    assert blobcache.contents_inventory(iter(()), LoadContext()) == []
    assert not (own_cache / blobcache._FILE).exists()
    namespace = b"apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n"
    [entry] = blobcache.contents_inventory(iter([("ns.yaml", namespace)]), LoadContext())
    assert (entry.kind, entry.name) == ("Namespace", "a")
    assert (own_cache / blobcache._FILE).exists()
