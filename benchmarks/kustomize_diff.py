"""Every kustomization of a directory built both ways, in-process and by `kubectl kustomize`.

    python benchmarks/kustomize_diff.py                 # the real corpus, k8s and k8s-full
    python benchmarks/kustomize_diff.py DIR [DIR...] [--show 5] [--no-kubectl]

For each kustomization (a Component too: kubectl builds one alone) the in-process builder
either builds it, knows kustomize fails it (then gatekeeper runs no kubectl: see
kustomize_values.Fails), or says why it cannot (then gatekeeper runs kubectl). A built or
known-failed one must give what kubectl gives: the same documents in the same order (objects
compared as JSON text, so key order and 1 against 1.0 count), the same files, origins,
identities and problems. Prints built / known failures / fell back / mismatched counts, the
most common reasons to fall back, and the mismatches; exits 1 on any mismatch.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from gatekeeper.document import Loaded  # noqa: E402
from gatekeeper.sources import LoadContext, kustomize, kustomize_build  # noqa: E402
from gatekeeper.sources.kustomize_values import Fails, Unsupported  # noqa: E402
from gatekeeper.tree import WorkTree  # noqa: E402
from gatekeeper.yamldoc import YamlDocument, decode, load_all  # noqa: E402

CORPUS = Path.home() / ".cache" / "gatekeeper-bench" / "real"


def summary(loaded: Loaded) -> list[Any]:
    """What a scan sees of a build: every document and problem."""
    out: list[Any] = []
    for document in loaded.documents:
        location = document.locator.locate(("metadata", "name"))
        out.append(
            (
                json.dumps(document.obj),
                document.file,
                document.index,
                document.kind,
                document.namespace,
                document.name,
                sorted(document.extra.items()),
                (location.file, location.line, location.exact),
            )
        )
    out.extend(("problem", p.code, p.file, p.line, p.message) for p in loaded.problems)
    return out


def why_not(path: str, data: bytes, tree: WorkTree) -> tuple[bool, str | None]:
    """(kustomize fails it, why) if the in-process builder does not build it; (False,
    None) if it does."""
    documents = [e for e in load_all(path, decode(data)) if isinstance(e, YamlDocument)]
    if not documents or not isinstance(documents[0].obj, dict):
        return False, "not a kustomization"
    try:
        kustomize_build.build(path, documents[0], tree)
    except Fails as error:
        return True, str(error)
    except Unsupported as error:
        return False, str(error)
    except RecursionError:
        return False, "too deep"
    return False, None


def compare(
    root: Path, show: int, kubectl: bool = True
) -> tuple[int, int, int, collections.Counter[str]]:
    tree = WorkTree(root)
    context = LoadContext(tree=tree)
    paths = [p for p in tree.list_dir(".") if kustomize.detect(p)]
    built = fell_back = mismatched = failing = 0
    reasons: collections.Counter[str] = collections.Counter()
    seconds = {"in-process": 0.0, "kubectl": 0.0}
    for path in paths:
        data = tree.read(path)
        fails, reason = why_not(path, data, WorkTree(root))  # its own tree: a cache of its own
        if fails:
            failing += 1  # compared: what the scan says without kubectl must be kubectl's
        elif reason is not None:
            fell_back += 1
            reasons[reason] += 1
            continue
        else:
            built += 1
        if not kubectl:
            continue
        start = time.perf_counter()
        ours = summary(kustomize.load(path, data, context))
        seconds["in-process"] += time.perf_counter() - start
        start = time.perf_counter()
        theirs = summary(kustomize.load(path, data, context, in_process=False))
        seconds["kubectl"] += time.perf_counter() - start
        if ours != theirs:
            mismatched += 1
            if mismatched <= show:
                print(f"MISMATCH {root.name}/{path}")
                for a, b in zip(ours, theirs, strict=False):
                    if a != b:
                        print(f"  in-process: {str(a)[:600]}\n  kubectl:    {str(b)[:600]}")
                        break
                else:
                    print(f"  {len(ours)} documents in-process, {len(theirs)} by kubectl")
    print(
        f"{root}: {len(paths)} kustomizations: {built} built in-process, {failing} known to"
        f" fail ({seconds['in-process']:.2f} s; kubectl {seconds['kubectl']:.2f} s for the"
        f" same), {fell_back} fell back to kubectl, {mismatched} mismatched"
    )
    return built, fell_back, mismatched, reasons


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("roots", nargs="*", type=Path)
    parser.add_argument("--show", type=int, default=5, help="mismatches shown in full")
    parser.add_argument(
        "--no-kubectl", action="store_true", help="only count what is built in-process"
    )
    args = parser.parse_args(argv)
    roots = args.roots or [CORPUS / "k8s", CORPUS / "k8s-full"]
    total: collections.Counter[str] = collections.Counter()
    mismatched = 0
    for root in roots:
        _, _, bad, reasons = compare(root, args.show, not args.no_kubectl)
        mismatched += bad
        total.update(reasons)
    for reason, count in total.most_common(12):
        print(f"  fell back {count:4d}x: {reason}")
    return 1 if mismatched else 0


if __name__ == "__main__":
    sys.exit(main())
