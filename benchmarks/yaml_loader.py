"""The manifest reader's CPU, paired in one process against another checkout's.

    python benchmarks/yaml_loader.py --baseline /tmp/base            # k8s of the real corpus
    python benchmarks/yaml_loader.py --baseline /tmp/base --corpus DIR --rounds 8

Loads every YAML/JSON file of a corpus with gatekeeper.yamlevents.manifests (what a scan reads
manifests with), this checkout's and the baseline's (its yamlevents.py loaded under another
name, on this checkout's yamldoc), in alternating order, one round after the other, with the
cyclic garbage collector off as during a scan. A loaded machine slows both alike within a
round: the median of the per-round ratios is the figure, the CPU seconds are context.

2026-11-27, k8s (3,435 files), 2 cores at load 12-18, 8 rounds, baseline 35371f4: 0.886 s ->
0.742 s median, ratio 0.836 (lean events: commit de4f2ae).
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks import real_corpus  # noqa: E402
from benchmarks.yaml_front_ends import texts  # noqa: E402
from gatekeeper import yamlevents  # noqa: E402


def load_module(checkout: Path) -> ModuleType:
    """The baseline's yamlevents, as a module of its own."""
    spec = importlib.util.spec_from_file_location(
        "baseline_yamlevents", checkout / "gatekeeper" / "yamlevents.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def reader(module: ModuleType) -> Callable[[list[tuple[str, str]]], float]:
    manifests: Callable[[str, str], Iterator[Any]] = module.manifests

    def run(corpus: list[tuple[str, str]]) -> float:
        started = time.process_time()
        for name, text in corpus:
            for _ in manifests(name, text):
                pass
        return time.process_time() - started

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True, help="a checkout to compare with")
    parser.add_argument("--corpus", type=Path, default=real_corpus.DEFAULT_OUT / "k8s")
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    corpus = texts(args.corpus)
    ours, theirs = reader(yamlevents), reader(load_module(args.baseline))
    gc.disable()
    mine: list[float] = []
    base: list[float] = []
    for round_ in range(args.rounds):
        order = [(ours, mine), (theirs, base)]
        for run, times in order if round_ % 2 else reversed(order):
            times.append(run(corpus))
    ratio = statistics.median(new / old for new, old in zip(mine, base, strict=True))
    print(
        f"{len(corpus)} files, {args.rounds} rounds: baseline {statistics.median(base):.3f} s,"
        f" this checkout {statistics.median(mine):.3f} s (medians), ratio {ratio:.3f}"
    )


if __name__ == "__main__":
    main()
