"""Do rendered findings point at lines that say what was rendered? (issue: right line)

    python benchmarks/line_accuracy.py REPO [REPO...]

Loads every Helm chart and kustomization of each repository the way a scan does, evaluates the
built-in policies, and checks each Helm or Kustomize finding marked `exact` whose field is a
scalar: the line it points at must show that value (a literal, or a template action that
could have produced it). It also counts findings per (policy, file, line): more than one is a
duplicate a reader would see twice, and the share of findings from values that name their
values line. Prints the counts and every contradiction; exits 1 when there is one.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from gatekeeper import discover, sources  # noqa: E402
from gatekeeper.evaluate import Engine  # noqa: E402
from gatekeeper.fieldpath import get, parse  # noqa: E402
from gatekeeper.policy.loader import builtin_dir, load_bundle  # noqa: E402
from gatekeeper.scanner import finalize  # noqa: E402
from gatekeeper.tree import WorkTree  # noqa: E402

RENDERED = ("helm", "kustomize")


def check(root: Path) -> tuple[Counter[str], list[str]]:
    engine = Engine(load_bundle([builtin_dir() / "kubernetes"]))
    context = sources.LoadContext(tree=WorkTree(root))
    adapters = sources.adapters()
    counts: Counter[str] = Counter()
    wrong: list[str] = []
    findings = []
    for name in discover.walk([str(root)], root):
        adapter = sources.adapter_for(name, adapters)
        if adapter is None or adapter.NAME not in RENDERED:
            continue
        loaded = adapter.load(name, (root / name).read_bytes(), context)
        for document in loaded.documents:
            for finding in engine.evaluate(document):
                findings.append(finding)
                if finding.source not in RENDERED or finding.policy_id.startswith("GK-"):
                    continue
                counts["rendered findings"] += 1
                if finding.source == "helm" and _reads_values(root, finding.file, finding.line):
                    counts["helm findings on a line that reads values"] += 1
                    if finding.extra.get("values"):
                        counts["... of them naming the values line"] += 1
                try:
                    value = get(document.obj, tuple(parse(finding.path)))  # type: ignore[arg-type]
                except (ValueError, TypeError):
                    continue
                if not finding.extra.get("exact") or isinstance(value, (dict, list)):
                    continue
                if value is None:
                    continue
                counts["exact scalar findings"] += 1
                try:
                    line = (root / finding.file).read_text().splitlines()[finding.line - 1]
                except (OSError, IndexError):
                    wrong.append(f"{finding.file}:{finding.line}: no such line")
                    continue
                shown = str(value).lower()
                if shown not in line.lower() and "{{" not in line:
                    wrong.append(
                        f"{finding.file}:{finding.line}: {finding.policy_id} {finding.path} is "
                        f"{value!r} but the line says {line.strip()!r}"
                    )
    merged = finalize(findings)
    places = Counter((f.policy_id, f.file, f.line) for f in merged)
    counts["findings (merged)"] = len(merged)
    counts["findings before merging variants"] = len(findings)
    counts["duplicates left"] = sum(n - 1 for n in places.values() if n > 1)
    counts["contradicted lines"] = len(wrong)
    return counts, wrong


def _reads_values(root: Path, file: str, line: int) -> bool:
    """Does the template line a finding points at read `.Values` (directly, through `$.`,
    `with`, or a named template)?"""
    try:
        text = (root / file).read_text().splitlines()[line - 1]
    except (OSError, IndexError):
        return False
    return ".Values" in text or "include " in text or "toYaml ." in text


def main() -> int:
    return run(check, sys.argv[1:])


def run(check: Callable[[Path], tuple[Counter[str], list[str]]], arguments: list[str]) -> int:
    """Check each repository, print its counts and contradictions; 1 when there is one."""
    failed = False
    for argument in arguments:
        counts, wrong = check(Path(argument).resolve())
        print(argument)
        for key, value in sorted(counts.items()):
            print(f"  {key}: {value}")
        for line in wrong:
            print(f"  CONTRADICTS {line}")
        failed = failed or bool(wrong)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
