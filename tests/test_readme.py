"""The README's commands run as written: every `sh` block says whether it runs
(`<!-- readme-test: run NAME, exit N -->`) or why not (`<!-- readme-test: skip (why) -->`), and
each runnable block runs with bash in a copy of this checkout (the files git would commit)."""

from __future__ import annotations

import datetime
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest

from gatekeeper.waivers import DEFAULT_WARN_DAYS, parse_waivers
from tests.conftest import REPO

MARKER = re.compile(r"<!-- readme-test: (run (?P<name>[\w-]+), exit (?P<exit>\d+)|skip \(.+\)) -->")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.S | re.M)


class Block(NamedTuple):
    line: int
    marker: str
    name: str  # '' when skipped
    exit: int
    text: str


def blocks() -> list[Block]:
    readme = (REPO / "README.md").read_text()
    out = []
    for fence in FENCE.finditer(readme):
        if fence.group(1) != "sh":
            continue
        line = readme.count("\n", 0, fence.start()) + 1
        before = readme[: fence.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = MARKER.fullmatch(before)
        name, code = (marker["name"], int(marker["exit"])) if marker and marker["name"] else ("", 0)
        out.append(Block(line, before if marker else "", name, code, fence.group(2)))
    return out


def test_every_sh_block_says_whether_it_runs() -> None:
    unmarked = [block.line for block in blocks() if not block.marker]
    assert unmarked == [], "README.md lines: mark each sh block run or skip"
    assert {block.name for block in blocks()} >= {"quick-start", "waiver", ""}


def _checkout_copy(target: Path) -> Path:
    """The files of this checkout that git would commit (tracked or not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


NODE_AGENT = """\
apiVersion: v1
kind: Pod
metadata: {name: node-agent, namespace: ops}
spec:
  containers:
    - name: agent
      image: ghcr.io/acme/agent:1.0
  volumes:
    - name: logs
      hostPath: {path: /var/log}
"""


def _quick_start(root: Path, run: subprocess.CompletedProcess[str]) -> None:
    # Rendered with [all]: the chart's finding comes from its values, not a missing renderer.
    assert "K8S-PSS-PRIVILEGE-ESCALATION" in run.stdout, run.stdout
    assert "GK-RENDERER-MISSING" not in run.stdout


def _waiver(root: Path, run: subprocess.CompletedProcess[str]) -> None:
    """The waiver it writes is valid today, not about to expire, and applies."""
    data = (root / ".gatekeeper/waivers.yml").read_bytes()
    today = datetime.date.today()
    (waiver,) = parse_waivers(".gatekeeper/waivers.yml", data, today)
    assert waiver.expires > today + datetime.timedelta(days=DEFAULT_WARN_DAYS)
    (root / "deploy/node-agent").mkdir(parents=True)
    (root / "deploy/node-agent/pod.yaml").write_text(NODE_AGENT)
    scan = subprocess.run(
        [sys.executable, "-m", "gatekeeper", "scan", "deploy/node-agent", "--format", "json"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    findings = json.loads(scan.stdout)["findings"]
    statuses = {f["status"] for f in findings if f["policy_id"] == "K8S-PSS-HOST-PATH"}
    assert statuses == {"waived"}, scan.stdout + scan.stderr


CHECKS: dict[str, Callable[[Path, subprocess.CompletedProcess[str]], None]] = {
    "quick-start": _quick_start,
    "waiver": _waiver,
}


@pytest.mark.parametrize("block", [b for b in blocks() if b.name], ids=lambda b: b.name)
def test_readme_block_runs(block: Block, tmp_path: Path) -> None:
    root = _checkout_copy(tmp_path / "clone")
    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block.text],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == block.exit, f"README.md:{block.line}\n{run.stdout}{run.stderr}"
    CHECKS[block.name](root, run)


# The README's pre-commit table row -> the key of benchmarks/results-precommit.json it shows.
BENCHMARK_ROWS = {
    "hook environment on disk": ("hook_env_mb", "MB"),
    "a venv with `[all]`": ("all_extras_venv_mb", "MB"),
    "cold `pre-commit install-hooks`": ("cold_install_s", "s"),
    "`python -c pass`": ("python_pass_ms", "ms"),
    "`gatekeeper scan --hook deploy/web.yaml`": ("hook_one_file_ms", "ms"),
    "`pre-commit run --files deploy/web.yaml`": ("pre_commit_run_one_file_ms", "ms"),
}


def test_install_and_hook_numbers_are_the_benchmark_results() -> None:
    """Install size, cold hook install and one-file hook run: as benchmarks/ measured them."""
    results = json.loads((REPO / "benchmarks/results-precommit.json").read_text())
    readme = (REPO / "README.md").read_text().split("**Install size and the pre-commit hook**")[1]
    table = readme.split("\n\n| what |", 1)[1].split("\n\n", 1)[0]  # the section's table
    for row, (key, unit) in BENCHMARK_ROWS.items():
        (line,) = [line for line in table.splitlines() if line.startswith(f"| {row}")]
        assert line.endswith(f"| {results[key]:,} {unit} |"), (line, results[key])
    assert f"medians of {results['runs']} runs" in readme
    assert f"Python {results['python']}" in readme
