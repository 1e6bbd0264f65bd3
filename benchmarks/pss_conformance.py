"""The K8S-PSS-* policies against the upstream Pod Security Admission fixtures, every version.

    git clone https://github.com/kubernetes/pod-security-admission /tmp/psa
    python benchmarks/pss_conformance.py /tmp/psa/test/testdata [-v]

For each level (baseline, restricted) and version (v1.0 ... the newest), the level's policies run
with `version` set to that version on every fixture: a `fail` fixture must get a finding, a
`pass` fixture none. Prints the fixtures each way and every disagreement; exits 1 on any. The
fixtures are Kubernetes' own (Apache-2.0) and are read where they are cloned, never copied here.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from gatekeeper.evaluate import Engine  # noqa: E402
from gatekeeper.policy.loader import builtin_dir, load_bundle  # noqa: E402
from gatekeeper.scanner import scan  # noqa: E402


def _minor(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version[1:].split("."))


def main() -> int:
    fixtures = Path(sys.argv[1])
    verbose = "-v" in sys.argv
    policies = load_bundle([builtin_dir() / "kubernetes"])
    levels = {
        "baseline": [p for p in policies if Path(p.file).name.startswith("pss-baseline")],
    }
    levels["restricted"] = levels["baseline"] + [
        p for p in policies if Path(p.file).name.startswith("pss-restricted")
    ]
    counts: Counter[tuple[str, str, str]] = Counter()
    wrong = []
    for level, chosen in levels.items():
        versions = sorted((d.name for d in (fixtures / level).iterdir()), key=_minor)
        for version in versions:
            params = {p.id: {"version": version} for p in chosen if "version" in p.params}
            engine = Engine(chosen, params)
            for outcome in ("pass", "fail"):
                for fixture in sorted((fixtures / level / version / outcome).glob("*.yaml")):
                    result = scan([("fixture.yaml", fixture.read_bytes())], engine, jobs=1)
                    flagged = sorted(
                        {f.policy_id for f in result.findings if f.policy_id.startswith("K8S-")}
                    )
                    counts[(level, outcome, "fixtures")] += 1
                    if (outcome == "pass") == bool(flagged):
                        counts[(level, outcome, "wrong")] += 1
                        wrong.append(f"{level} {version} {outcome} {fixture.name} {flagged}")
    for key in sorted(counts):
        print(" ".join(key), counts[key])
    for line in wrong if verbose else wrong[:20]:
        print("WRONG", line)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
