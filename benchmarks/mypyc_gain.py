"""What compiling gatekeeper with mypyc buys (issue 17): this checkout pure and compiled, paired.

    python benchmarks/mypyc_gain.py --build /tmp/gk-mypyc            # compile a copy, then measure
    python benchmarks/mypyc_gain.py --compiled /tmp/gk-mypyc --targets k8s-full --runs 5
    python benchmarks/mypyc_gain.py --compiled /tmp/gk-mypyc --targets scaled-8x --jobs 0

`--build DIR` copies this checkout's `gatekeeper/` (and pyproject.toml: mypyc reads the mypy
options there) into DIR, rewrites the few constructs mypyc cannot compile (REWRITES, below:
each keeps what the code does), and compiles every module but EXCLUDED with mypyc (the mypy
installed beside this Python; `pip install mypy`), in place, so DIR imports compiled. DIR also
links `policies/` and `templates/` back here: `benchmarks/run.py --baseline DIR` and
`benchmarks/hook_bench.py --source DIR` run it as they run any checkout.

Then each target of the real corpus (benchmarks/real_corpus.py) is scanned `--runs` rounds,
the pure checkout and the compiled copy in turn in every round (a pair on the same load):
CPU (user + system, children included), the largest process's RSS, the peak PSS summed over the
process tree, and the findings of both, sorted, which must be identical. Reported: medians,
and the median of the per-round ratios (compiled / pure).

Measured 2026-11-27 (mypy/mypyc 2.4.1, gcc 12, CPython 3.11.7, 2 cores, load 1-2.3; 3 pairs,
compiled / pure): the six hot modules (`--modules gatekeeper/evaluate.py
gatekeeper/policy/cel.py gatekeeper/yamlevents.py gatekeeper/sources/kubernetes.py
gatekeeper/scanner.py gatekeeper/sources/kustomize_build.py`, 26 s to build), findings identical
everywhere:
    k8s-full --jobs 1   CPU 6.01 -> 5.51 s (0.918)  max RSS 219 -> 198 MB  tree PSS 211 -> 192 MB
    k8s-full default    CPU 6.87 -> 6.48 s (0.941)  max RSS 164 -> 167 MB  tree PSS 188 -> 176 MB
    k8s --jobs 1        CPU 3.88 -> 3.55 s (0.915)  tree PSS 134 -> 131 MB
    k8s default         CPU 4.16 -> 3.90 s (0.929)  tree PSS 183 -> 186 MB
    charts default      CPU 1.72 -> 1.68 s (0.988)  tree PSS 175 -> 182 MB
    terraform default   CPU 4.21 -> 3.62 s (0.860)  tree PSS 266 -> 249 MB
Below what shipping a compiled build was worth (12% CPU on k8s-full, 20 MB on the 8x peak).
The whole package (173 modules, 4 min CPU, 31 MB shared library) builds but does not run:
mypyc checks every annotation at run time, and where one is looser than the code's values the
compiled scan dies (gatekeeper_policies.__path__ is a _NamespacePath, not the list typeshed
says: TypeError in cache.installed; the resolver mixin's methods reject the loader class made
by type()). Each such trap is a crash a pure build does not have: a trust risk for a gate.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from benchmarks.hook_bench import import_path  # noqa: E402
from benchmarks.real_corpus import DEFAULT_OUT  # noqa: E402
from benchmarks.run import Measure, measure  # noqa: E402

# Modules mypyc 2.4.1 rejects or miscompiles as written; cold paths, so left pure.
EXCLUDED = {
    # A module-level __getattr__ crashes the import (the traceback of the AttributeError it
    # raises for __file__ is built before the module has globals).
    "gatekeeper/__init__.py": "module __getattr__",
    "gatekeeper/__main__.py": "run as a script",
    # "Cannot access instance attribute through class object" / "Only class variables defined
    # as ClassVar can be assigned to": class attributes used as process-wide settings.
    "gatekeeper/github/client.py": "class attributes as settings",
    "gatekeeper/github/gate.py": "class attributes as settings",
    "gatekeeper/sources/helm_child.py": "class attributes as settings",
    "gatekeeper/sources/helm_engine.py": "class attributes as settings",
    "gatekeeper/tffunctions.py": "class attributes as settings",
    # "Surrogate codepoints in string literals not supported".
    "gatekeeper/report/safe.py": "surrogate code points in literals",
    # Its pickler and unpickler subclass _pickle's C types: as native classes they crash
    # (see REWRITES), as Python classes the generated C does not compile (CPyModule__pickle).
    "gatekeeper/policycache.py": "subclasses of pickle's C classes",
    # Its trees are weakly referenced (see REWRITES); marked Python classes, WorkTree.read
    # is an internal mypyc error (an AssertionError in env_class.add_vars_to_env).
    "gatekeeper/tree.py": "weakly referenced trees",
}

_NON_NATIVE = "@mypyc_attr(native_class=False)\n"
_IMPORT = "from __future__ import annotations\n\nfrom mypy_extensions import mypyc_attr\n"

# (file, text, replacement): what mypyc needs changed, each the same Python.
REWRITES: list[tuple[str, str, str]] = [
    # Subclasses of tuple, list, dict and OSError, and of the C types of pickle and libyaml,
    # as Python classes: compiled as native ones, those with a C base get the size of a
    # plain object (40 bytes where _pickle.Pickler needs 152, CSafeLoader 680) and crash.
    ("gatekeeper/finding.py", "\nclass Finding(", "\n" + _NON_NATIVE + "class Finding("),
    ("gatekeeper/finding.py", "\nclass SharedDict(", "\n" + _NON_NATIVE + "class SharedDict("),
    ("gatekeeper/finding.py", "\nclass SharedList(", "\n" + _NON_NATIVE + "class SharedList("),
    # The trees: scans keep per-tree tables in weakref.WeakKeyDictionary, and a native class
    # takes no weak reference ("cannot create weak reference to 'WorkTree' object"). (tree.py:
    # see EXCLUDED.)
    ("gatekeeper/git.py", "\nclass RevisionTree:", "\n" + _NON_NATIVE + "class RevisionTree:"),
    ("gatekeeper/yamldoc.py", "\nclass _Resolving:", "\n" + _NON_NATIVE + "class _Resolving:"),
    # The loader that mixes the resolver into libyaml's: compiled, even as a Python class it
    # loses CParser's __init__ ("_ResolvingLoader() takes no arguments"). Made by type().
    (
        "gatekeeper/yamldoc.py",
        "\nclass _ResolvingLoader(_Resolving, _Loader):  # type: ignore[valid-type,misc]\n",
        '\n_ResolvingLoader: Any = type("_ResolvingLoader", (_Resolving, _Loader), {})\n\n\n'
        "class _ResolvingLoaderDocs:\n",
    ),
    # (_RedefiningLoader, on yaml.SafeLoader, a Python class, works compiled as it is; marked
    # a Python class, its generated C does not compile: CPyModule_yaml___loader undeclared.)
    # A dataclass field typed with a class imported only for type checking: the compiled
    # class body reads the (not yet loaded) class object and crashes. Imported at once.
    (
        "gatekeeper/admission.py",
        "if TYPE_CHECKING:\n    from gatekeeper.admission_cel import Expression\n",
        "from gatekeeper.admission_cel import Expression\n",
    ),
    (
        "gatekeeper/sources/terraform.py",
        "if TYPE_CHECKING:\n    from gatekeeper.hcl import HclError, Parsed, Span\n",
        "from gatekeeper.hcl import HclError, Parsed, Span\n",
    ),
    # `x in (*a, b)`: an internal mypyc error (a starred item in the tuple `in` unrolls).
    ("gatekeeper/policy/loader.py", 'not in (*returns, "DYN")', 'not in tuple((*returns, "DYN"))'),
    (
        "gatekeeper/sources/workflow.py",
        "not in (GITLAB, *workflow_ci.KINDS)",
        "not in tuple((GITLAB, *workflow_ci.KINDS))",
    ),
    (
        "gatekeeper/sources/helm.py",
        'in (*_SCHEMA_REFS, "$schema")',
        'in tuple((*_SCHEMA_REFS, "$schema"))',
    ),
    (
        "gatekeeper/commands/test.py",
        "not in (policy.id, *_NOT_FIXTURE_PROBLEMS)",
        "not in tuple((policy.id, *_NOT_FIXTURE_PROBLEMS))",
    ),
]
# `a = b = f` in a class body: "Multiple assignment in class bodies not supported" (the
# read-only methods of finding.SharedDict and SharedList).
_CHAINED_IN = "gatekeeper/finding.py"
_CHAINED = re.compile(r"^(    )((?:\w+ = ){2,})(\w+)$", re.MULTILINE)
# `for x in reversed(seq)`: an internal mypyc error when the sequence's items are Any.
_REVERSED = re.compile(r"\bin\s+reversed\(")


def _chained(match: re.Match[str]) -> str:
    indent, names, value = match.group(1), match.group(2).split(" = ")[:-1], match.group(3)
    return "\n".join(f"{indent}{name} = {value}" for name in names)


def _unreversed(text: str) -> str:
    """`in reversed(X)` -> `in iter(reversed(X))`: a plain iterator, not mypyc's special case."""
    out, at = [], 0
    while match := _REVERSED.search(text, at):
        out.append(text[at : match.end() - len("reversed(")] + "iter(reversed(")
        end, depth = match.end(), 1
        while depth:
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            end += 1
        out.append(text[match.end() : end] + ")")
        at = end
    return "".join(out) + text[at:]


def prepare(dest: Path) -> list[str]:
    """A copy of gatekeeper/ in `dest`, rewritten for mypyc; the modules to compile."""
    for old in ("gatekeeper", "build", "policies", "templates"):  # mypy's cache is kept
        if (dest / old).is_symlink():
            (dest / old).unlink()
        elif (dest / old).exists():
            shutil.rmtree(dest / old)
    dest.mkdir(parents=True, exist_ok=True)
    for stale in glob.glob("*__mypyc*.so", root_dir=dest):
        (dest / stale).unlink()
    shutil.copytree(
        ROOT / "gatekeeper",
        dest / "gatekeeper",
        ignore=shutil.ignore_patterns("__pycache__", "*.so"),
    )
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    for name in ("policies", "templates"):
        (dest / name).symlink_to(ROOT / name)
    for file, text, replacement in REWRITES:
        path = dest / file
        source = path.read_text()
        if text not in source:
            raise SystemExit(f"{file}: {text!r} is gone: update REWRITES")
        source = source.replace(text, replacement, 1)
        if _NON_NATIVE in replacement and "import mypyc_attr" not in source:
            source = source.replace("from __future__ import annotations\n", _IMPORT, 1)
        path.write_text(source)
    modules = []
    for file in sorted(glob.glob("gatekeeper/**/*.py", root_dir=dest, recursive=True)):
        path = dest / file
        source = path.read_text()
        rewritten = _unreversed(source)
        if file == _CHAINED_IN:
            rewritten = _CHAINED.sub(_chained, rewritten)
        if rewritten != source:
            path.write_text(rewritten)
        if file not in EXCLUDED:
            modules.append(file)
    return modules


BUILD = """
import sys
from setuptools import setup
from mypyc.build import mypycify
setup(name="gatekeeper-mypyc-gain", packages=[], script_args=["build_ext", "--inplace", "-j", "2"],
      ext_modules=mypycify(sys.argv[1:], opt_level="3", multi_file=True))
"""


def build(dest: Path, only: list[str] | None = None) -> float:
    """Compile the copy in place (`only` these modules when given); the CPU seconds it took
    (mypy, mypyc and the C compiler)."""
    modules = [module for module in prepare(dest) if not only or module in only]
    before = os.times()
    log = dest / "build.log"
    with log.open("w") as out:
        done = subprocess.run(
            [sys.executable, "-c", BUILD, *modules], cwd=dest, stdout=out, stderr=subprocess.STDOUT
        )
    after = os.times()
    if done.returncode:
        raise SystemExit(f"mypyc build failed ({done.returncode}): see {log}")
    return (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )


def compiled_modules(dest: Path) -> int:
    return len(glob.glob("gatekeeper/**/*.so", root_dir=dest, recursive=True))


@dataclass
class Pair:
    target: str
    jobs: int
    pure: list[Measure] = field(default_factory=list)
    compiled: list[Measure] = field(default_factory=list)
    identical: bool = True
    findings: int = 0

    def ratio(self, name: str) -> float:
        return statistics.median(
            getattr(c, name) / getattr(p, name)
            for p, c in zip(self.pure, self.compiled, strict=True)
        )

    def line(self) -> str:
        def median(runs: list[Measure], name: str) -> float:
            return statistics.median(getattr(run, name) for run in runs)

        jobs = f"--jobs {self.jobs}" if self.jobs else "default jobs"
        parts = [f"{self.target} ({jobs}, {len(self.pure)} pairs, {self.findings} findings"]
        parts[0] += ", identical)" if self.identical else ", OUTPUTS DIFFER)"
        for name, unit in (
            ("cpu", "s CPU"),
            ("max_rss_mb", "MB max RSS"),
            ("tree_pss_mb", "MB peak tree PSS"),
        ):
            parts.append(
                f"{median(self.pure, name):.2f} -> {median(self.compiled, name):.2f} {unit}"
                f" (paired {self.ratio(name):.3f})"
            )
        return "; ".join(parts)


def _sorted_findings_text(report: str) -> list[str]:
    findings = json.loads(report)["findings"]
    return sorted(json.dumps(finding, sort_keys=True) for finding in findings)


def _sorted_findings(output: Path) -> list[str]:
    return _sorted_findings_text(output.read_text())


def run_pair(target: Path, jobs: int, runs: int, compiled: Path, temp: Path) -> Pair:
    pair = Pair(target.name, jobs)
    command = [sys.executable, "-m", "gatekeeper", "scan", str(target), "--format", "json"]
    command += ["--jobs", str(jobs)] if jobs else []
    envs = {
        "pure": {"PYTHONPATH": import_path(str(ROOT), str(temp))},
        # The copy itself first: mypyc's shared library sits beside its gatekeeper/.
        "compiled": {
            "PYTHONPATH": f"{compiled}{os.pathsep}{import_path(str(compiled), str(temp))}"
        },
    }
    outputs = {side: temp / f"{side}.json" for side in envs}
    for side in envs:  # warm-up: the policy cache, byte code
        measure(command, temp, envs[side], outputs[side])
    for _ in range(runs):
        for side, runs_of in (("pure", pair.pure), ("compiled", pair.compiled)):
            runs_of.append(measure(command, temp, envs[side], outputs[side]))
    pure, built = _sorted_findings(outputs["pure"]), _sorted_findings(outputs["compiled"])
    pair.identical, pair.findings = pure == built, len(pure)
    return pair


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--build", type=Path, help="compile a copy of this checkout here first")
    where.add_argument("--compiled", type=Path, help="a copy --build made before")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--targets", nargs="*", default=["k8s", "k8s-full", "charts", "terraform"])
    parser.add_argument(
        "--jobs", type=int, nargs="+", default=[1, 0], help="0: gatekeeper's default"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--modules", nargs="+", help="--build: only these (gatekeeper/x.py)")
    parser.add_argument("--json", type=Path, help="write the results here too")
    args = parser.parse_args()
    compiled = (args.build or args.compiled).resolve()
    if args.build:
        start = time.perf_counter()
        cpu = build(compiled, args.modules)
        wall = time.perf_counter() - start
        print(f"built {compiled_modules(compiled)} modules in {wall:.0f} s ({cpu:.0f} s CPU)")
    pairs = []
    with tempfile.TemporaryDirectory(prefix="gatekeeper-mypyc-gain-") as temp:
        for target in args.targets:
            for jobs in args.jobs:
                pair = run_pair(args.corpus / target, jobs, args.runs, compiled, Path(temp))
                print(pair.line(), f"[load {os.getloadavg()[0]:.1f}]", flush=True)
                pairs.append(pair)
    if args.json:
        report = [
            {
                "target": p.target,
                "jobs": p.jobs,
                "identical": p.identical,
                "findings": p.findings,
                "pure": [vars(m) for m in p.pure],
                "compiled": [vars(m) for m in p.compiled],
            }
            for p in pairs
        ]
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    if not all(pair.identical for pair in pairs):
        raise SystemExit("the compiled copy's findings differ from the pure checkout's")


if __name__ == "__main__":
    main()
