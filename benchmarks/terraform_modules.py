"""Do module collections give module-call findings, on lines that say the value? (issue 13)

    python benchmarks/terraform_modules.py REPO [REPO...]

Loads every `.tf` file of each repository the way a scan does (local module calls evaluated
with the values their callers pass, gatekeeper.tfeval), evaluates the built-in Terraform
policies and counts: findings from instantiated modules, those located at a module-call
argument in the calling file (the example's line), and at the module's own lines. Each such
finding marked `exact` whose field is a scalar must sit on a line that shows that value (the
argument wrote it); anything else is a contradiction. Prints the counts and every
contradiction; exits 1 when there is one.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.line_accuracy import run  # noqa: E402
from gatekeeper import discover, hcl, sources  # noqa: E402
from gatekeeper.evaluate import Engine  # noqa: E402
from gatekeeper.fieldpath import get, parse  # noqa: E402
from gatekeeper.policy.loader import builtin_dir, load_bundle  # noqa: E402
from gatekeeper.scanner import finalize  # noqa: E402
from gatekeeper.sources import terraform  # noqa: E402
from gatekeeper.tree import WorkTree  # noqa: E402

INSTANTIATED = 10_000  # Document.index of a module instance (terraform_modules)


def check(root: Path) -> tuple[Counter[str], list[str]]:
    engine = Engine(load_bundle([builtin_dir() / "terraform"]))
    context = sources.LoadContext(tree=WorkTree(root))
    counts: Counter[str] = Counter()
    wrong: list[str] = []
    findings = []
    for name in discover.walk([str(root)], root):
        if not name.endswith(".tf") or not terraform.detect(name):
            continue
        loaded = terraform.load(name, (root / name).read_bytes(), context)
        for document in loaded.documents:
            instance = document.index >= INSTANTIATED
            counts["module instances" if instance else "resources"] += 1
            for finding in engine.evaluate(document):
                findings.append(finding)
                if not instance:
                    continue
                at_call = finding.file == document.file
                counts["module-call findings"] += 1
                counts["... at the calling file" if at_call else "... at the module's lines"] += 1
                exact = finding.extra.get("exact")
                # A value from a local or default of the caller may sit anywhere in the file;
                # a whole-resource finding must sit in the call (its item or its block).
                if (
                    at_call
                    and not exact
                    and not _inside_call(root, finding.file, document.name, finding.line)
                ):
                    wrong.append(
                        f"{finding.file}:{finding.line}: {finding.policy_id} of {document.name} "
                        "is outside the module block that made it"
                    )
                if not (at_call and exact):
                    continue
                try:
                    value = get(document.obj, tuple(parse(finding.path)))  # type: ignore[arg-type]
                except (ValueError, TypeError):
                    continue
                shown = _scalars(value)
                if not shown:
                    continue
                counts["exact findings at a call with a value"] += 1
                lines = (root / finding.file).read_text().splitlines()
                text = " ".join(lines[finding.line - 1 : max(finding.end_line, finding.line)])
                if not any(item in text.lower() for item in shown):
                    wrong.append(
                        f"{finding.file}:{finding.line}: {finding.policy_id} {finding.path} is "
                        f"{value!r} but the line says {text.strip()!r}"
                    )
    merged = finalize(findings)
    counts["findings (merged)"] = len(merged)
    counts["module-call findings (merged)"] = sum(
        1
        for f in merged
        if any(str(v).startswith("deployed by ") for v in f.extra.get("variants", ()))
    )
    counts["contradicted lines"] = len(wrong)
    return counts, wrong


def _scalars(value: object) -> list[str]:
    """How a value (or the items of a list) would be written, lower case."""
    items = value if isinstance(value, list) else [value]
    return [
        str(item).lower()
        for item in items
        if item is not None and not isinstance(item, (dict, list)) and "${" not in str(item)
    ]


def _inside_call(root: Path, file: str, name: str, line: int) -> bool:
    """Is `line` inside the `module "<x>"` block of the instance `module.<x>...`?"""
    label = name.split(".")[1].split("[")[0]
    parsed = hcl.parse((root / file).read_text())
    return any(
        block.span.line <= line <= block.span.end_line
        for block in parsed.blocks
        if block.type == "module" and block.labels[:1] == [label]
    )


def main() -> int:
    return run(check, sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
