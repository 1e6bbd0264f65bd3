"""Is a faster YAML parser a faster front end? libyaml (yamldoc.load_all) against rapidyaml.

    python benchmarks/yaml_front_ends.py                 # k8s of the real corpus
    python benchmarks/yaml_front_ends.py --corpus DIR --runs 5

rapidyaml (PyPI `rapidyaml`, module `ryml`) parses about 30 times faster than libyaml, but
gatekeeper needs plain Python values, and ryml's Python binding hands its tree out one node at a
time (SWIG calls). This measures, in CPU seconds over every YAML/JSON file of a corpus (medians,
one process, the cyclic garbage collector off as it is during a scan): the libyaml path as
gatekeeper loads (compose with the C loader, build values, nodes kept for locations); ryml's
parse alone; ryml's parse plus the values built from its tree (strings only: no scalar
resolution, no checks, so a lower bound of any ryml front end). Needs `pip install rapidyaml`.

2026-11-26, k8s (3,435 files, 18.9 MB), loaded 2-core machine: libyaml path 1.21 s, ryml parse
0.11 s, ryml parse + string values 0.77 s; a complete ryml front end (yamldoc's resolver, the
checks that keep its reading identical to libyaml's, lines from its tree) took 1.15 s, and a
scan's loading is about 1.7 of its 9 CPU s. With the garbage collector on (as the parse bound
`yaml.load_all` runs) the libyaml path costs 3.2 s and looks 3x slower; in a scan it is not.
So gatekeeper keeps libyaml (the attempt: commits 1f04b31..e588b32 on the fast-parse branch).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks import real_corpus  # noqa: E402
from gatekeeper import yamldoc  # noqa: E402


def texts(root: Path) -> list[tuple[str, str]]:
    found = []
    for directory, folders, names in os.walk(root):
        folders[:] = [folder for folder in folders if folder != ".git"]
        for name in names:
            if name.endswith((".yaml", ".yml", ".json")):
                data = (Path(directory) / name).read_bytes()
                if yamldoc.check_bytes(name, data) is None:
                    found.append((name, yamldoc.decode(data)))
    return found


def libyaml_path(corpus: list[tuple[str, str]]) -> None:
    for name, text in corpus:
        for _ in yamldoc.load_all(name, text):
            pass


def ryml_parse(corpus: list[tuple[str, str]]) -> None:
    import ryml

    for _, text in corpus:
        with contextlib.suppress(ryml.ExceptionBasic):
            ryml.parse_in_arena(text.encode())


def ryml_values(corpus: list[tuple[str, str]]) -> None:
    import ryml

    low = ryml.ryml._ryml  # the SWIG functions the Tree methods wrap
    kind_of, key_of, val_of = low.Tree_type, low.Tree_key, low.Tree_val
    first_child, next_sibling, none = low.Tree_first_child, low.Tree_next_sibling, ryml.NONE

    def build(tree: Any, node: int) -> Any:
        kind = kind_of(tree, node)
        if kind & ryml.MAP:
            mapping, child = {}, first_child(tree, node)
            while child != none:
                key = key_of(tree, child)
                mapping["" if key is None else str(key, "utf-8")] = build(tree, child)
                child = next_sibling(tree, child)
            return mapping
        if kind & ryml.SEQ:
            items, child = [], first_child(tree, node)
            while child != none:
                items.append(build(tree, child))
                child = next_sibling(tree, child)
            return items
        value = val_of(tree, node)
        return None if value is None else str(value, "utf-8")

    for _, text in corpus:
        try:
            tree = ryml.parse_in_arena(text.encode())
        except ryml.ExceptionBasic:
            continue
        build(tree, tree.root_id())


def cpu(function: Callable[[list[tuple[str, str]]], None], corpus: list[tuple[str, str]]) -> float:
    start = time.process_time()
    function(corpus)
    return time.process_time() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=real_corpus.DEFAULT_OUT / "k8s")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    corpus = texts(args.corpus)
    print(f"{len(corpus)} files, {sum(len(text) for _, text in corpus) / 1e6:.1f} MB")
    gc.disable()
    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)  # ryml prints every refused text's error
    for function in (libyaml_path, ryml_parse, ryml_values):
        median = statistics.median(cpu(function, corpus) for _ in range(args.runs))
        print(f"{function.__name__:14} {median:6.2f} CPU s (median of {args.runs})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
