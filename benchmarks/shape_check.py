"""What the Kubernetes shape check (GK-SCHEMA) costs, against the rest of a scan's CPU time.

    python benchmarks/corpus.py --out /tmp/corpus          # 20,000 documents
    python benchmarks/shape_check.py /tmp/corpus/kubernetes

Loads every manifest, then times (CPU, not wall: the machine may be shared) the schema check
alone and the engine's evaluation (which includes it) with the built-in policies. Measured on
the full corpus (2 cores, shared): 20,000 documents, shape check 0.46 s (23 us per document),
evaluation 9.96 s, load 20.6 s; the check is 1.5% of load + evaluation. First use of the
schemas (parsing the definitions file) costs 10-20 ms per process.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from gatekeeper import kubeschema
from gatekeeper.bundle import build_engine
from gatekeeper.config import Config
from gatekeeper.document import Document
from gatekeeper.sources import kubernetes
from gatekeeper.workloads import without_nulls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, help="manifests to load (*.yaml, recursively)")
    args = parser.parse_args()
    started = time.process_time()
    documents: list[Document] = []
    for file in sorted(args.directory.rglob("*.yaml")):
        documents.extend(kubernetes.load(str(file), file.read_bytes()).documents)
    load = time.process_time() - started
    started = time.process_time()
    kubeschema.schema_version()
    first_use = time.process_time() - started
    engine = build_engine(Config())
    objects = [without_nulls(document.obj) for document in documents]
    started = time.process_time()
    errors = sum(len(kubeschema.shape_errors(obj)) for obj in objects)
    shape = time.process_time() - started
    started = time.process_time()
    findings = sum(len(engine.evaluate(document)) for document in documents)
    evaluate = time.process_time() - started
    print(
        f"{len(documents)} documents: load {load:.2f} s, schemas' first use "
        f"{first_use * 1000:.0f} ms, shape check {shape:.2f} s "
        f"({shape / max(len(documents), 1) * 1e6:.0f} us per document, {errors} errors), "
        f"evaluation (with the check) {evaluate:.2f} s, {findings} findings; "
        f"check / (load + evaluation) {shape / (load + evaluate):.1%}"
    )


if __name__ == "__main__":
    main()
