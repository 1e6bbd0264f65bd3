"""The shell model over a repository's shell scripts, against a baseline checkout of gatekeeper.

    python benchmarks/shell_model.py REPO --baseline CHECKOUT [--runs 3]

Reads every `.sh`/`.bash` file of REPO with `gatekeeper.shell.commands`, from the root with
the repository's files readable (as deployer_scope's CI namespaces read CI scripts), in a child
process per side and round, in paired rounds (the order alternating). Reports medians of the
child's CPU (user + system, after its imports), the ratio, and whether both sides found the same
commands (one hash of every command's fields, in order): the optimisations must not change
what the scan reads. kserve's generated install scripts (110 files, 1-2.5 MB each, manifests in
heredocs) are the case it was written for (issue 17: a real repository's scan took minutes).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.hook_bench import import_path  # noqa: E402

CHILD = """
import hashlib, json, pathlib, sys, time
from gatekeeper import shell, shell_dirs
from gatekeeper.sources.workflow_scripts import file_reader
from gatekeeper.tree import WorkTree
tree = WorkTree(pathlib.Path(sys.argv[1]).resolve())
digest, count, start = hashlib.sha256(), 0, time.process_time()
for name in tree.list_dir(""):
    if not name.endswith((".sh", ".bash")):
        continue
    text = tree.read(name).decode("utf-8", "replace")
    for command in shell.commands(text, place=shell_dirs.Place(files=file_reader(tree))):
        digest.update(repr(sorted(command.as_dict().items())).encode())
        count += 1
cpu = time.process_time() - start
print(json.dumps({"cpu": cpu, "commands": count, "hash": digest.hexdigest()}))
"""


def measure(path: str, repo: Path) -> dict[str, object]:
    """One child's reading of every script of `repo`, gatekeeper imported from `path`."""
    done = subprocess.run(
        [sys.executable, "-P", "-c", CHILD, str(repo)],
        env={"PYTHONPATH": path, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("--baseline", required=True, help="a checkout of gatekeeper to compare")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        sides = {
            "now": import_path(str(HERE.parent), temp),
            "baseline": import_path(args.baseline, temp),
        }
        found: dict[str, list[dict[str, object]]] = {side: [] for side in sides}
        for round_number in range(args.runs):
            order = list(sides) if round_number % 2 == 0 else list(reversed(sides))
            for side in order:
                found[side].append(measure(sides[side], args.repo))
    cpu = {
        side: statistics.median(float(str(r["cpu"])) for r in runs) for side, runs in found.items()
    }
    commands = {side: runs[0]["commands"] for side, runs in found.items()}
    hashes = {side: runs[0]["hash"] for side, runs in found.items()}
    print(f"| {args.repo.name}: shell scripts read | now | baseline |")
    print("|---|---:|---:|")
    print(f"| CPU, median of {args.runs} (s) | {cpu['now']:.2f} | {cpu['baseline']:.2f} |")
    print(f"| commands found | {commands['now']} | {commands['baseline']} |")
    print(
        f"\nbaseline/now CPU: {cpu['baseline'] / cpu['now']:.2f}x; same commands: "
        f"{'yes' if hashes['now'] == hashes['baseline'] else 'NO'}"
    )


if __name__ == "__main__":
    main()
