"""Do two builds of gatekeeper give byte-identical scans of the real corpus? For speed work.

    python benchmarks/determinism.py --save /tmp/before      # on the old build
    python benchmarks/determinism.py --check /tmp/before     # on the new one: exit 1 on a diff

Runs `gatekeeper scan TARGET --format json` on each target of the real-repository corpus
(benchmarks/real_corpus.py; default k8s, k8s-full, charts, terraform) and keeps or compares the
reports. A report is compared whole, bytes and all: a faster path must change nothing a user
sees, the order of findings included. Minutes per run, so it is no unit test.
"""

from __future__ import annotations

import argparse
import difflib
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks import real_corpus  # noqa: E402
from benchmarks.run import gatekeeper_command  # noqa: E402

TARGETS = ("k8s", "k8s-full", "charts", "terraform")


def report(corpus: Path, target: str, jobs: int) -> bytes:
    command = [*gatekeeper_command(), "scan", str(corpus / target), "--format", "json"]
    command += ["--jobs", str(jobs)] if jobs else []
    done = subprocess.run(command, capture_output=True, cwd=corpus, check=False)
    if done.returncode not in (0, 1):
        sys.exit(f"{target}: exit {done.returncode}\n{done.stderr.decode(errors='replace')}")
    return done.stdout


def first_difference(old: bytes, new: bytes) -> str:
    lines = difflib.unified_diff(
        old.decode(errors="replace").splitlines(),
        new.decode(errors="replace").splitlines(),
        "before",
        "after",
        n=2,
        lineterm="",
    )
    return "\n".join(line for _, line in zip(range(40), lines, strict=False))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--save", type=Path, help="write the reports into this directory")
    mode.add_argument("--check", type=Path, help="compare with the reports in this directory")
    parser.add_argument("--corpus", type=Path, default=real_corpus.DEFAULT_OUT)
    parser.add_argument("--targets", nargs="*", default=list(TARGETS))
    parser.add_argument("--jobs", type=int, default=0, help="gatekeeper --jobs (default: cores)")
    args = parser.parse_args()
    if not real_corpus.is_built(args.corpus):
        sys.exit(f"no corpus in {args.corpus}: {real_corpus.build_command(args.corpus)}")
    differing = 0
    for target in args.targets:
        new = report(args.corpus, target, args.jobs)
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            (args.save / f"{target}.json").write_bytes(new)
            print(f"{target}: saved ({len(new)} bytes)")
            continue
        old = (args.check / f"{target}.json").read_bytes()
        if old == new:
            print(f"{target}: identical ({len(new)} bytes)")
        else:
            differing += 1
            print(f"{target}: DIFFERENT\n{first_difference(old, new)}")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
