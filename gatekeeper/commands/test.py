"""`gatekeeper test [DIR...]`: run every policy's own fixtures, so policy authors can unit-test.

A case scans its input with that one policy (and the case's params) and checks the outcome:
`expect: fail` needs at least one finding of the policy, `pass` none; `lines` and `count`
pin the findings down exactly. A fixture that does not load is a failed case, not a pass.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from gatekeeper import output
from gatekeeper.errors import PolicyError
from gatekeeper.evaluate import Engine
from gatekeeper.finding import Finding
from gatekeeper.policy.loader import load_bundle
from gatekeeper.policy.model import Policy
from gatekeeper.report import junit_format
from gatekeeper.scanner import scan

DEFAULT_FILENAMES = {
    "kubernetes": "fixture.yaml",
    "helm": "fixture.yaml",
    "kustomize": "fixture.yaml",
    "terraform": "main.tf",
    "dockerfile": "Dockerfile",
    "workflow": ".github/workflows/fixture.yml",
    "compose": "docker-compose.yml",
    "gitops": "fixture.yaml",
}


@dataclass(frozen=True)
class CaseResult:
    policy: Policy
    name: str
    passed: bool
    detail: str
    seconds: float


def case_findings(policy: Policy, case: dict[str, object]) -> list[Finding]:
    """The policy's own findings on a case's input (for coverage)."""
    data, filename = _fixture(policy, case)
    params = case.get("params")
    engine = Engine([policy], {policy.id: dict(params)} if isinstance(params, dict) else {})
    result = scan([(filename, data)], engine, jobs=1)
    return [finding for finding in result.findings if finding.policy_id == policy.id]


def _fixture(policy: Policy, case: dict[str, object]) -> tuple[bytes, str]:
    name = str(case["name"])
    if "file" in case:
        fixture = Path(policy.file).parent / str(case["file"])
        try:
            data = fixture.read_bytes()
        except OSError as error:
            raise PolicyError(
                f"test {name!r}: cannot read fixture: {error.strerror}", policy.file
            ) from None
        filename = str(case.get("filename") or fixture.name)
    else:
        data = str(case["input"]).encode("utf-8")
        filename = str(
            case.get("filename") or DEFAULT_FILENAMES.get(policy.match.source, "fixture")
        )
    return data, filename


# Findings that say nothing wrong of a fixture: about the policy itself, and what a fixture's
# deployer takes from elsewhere (an external chart), which the policy's case does not need.
_NOT_FIXTURE_PROBLEMS = ("GK-POLICY-OVERRIDE", "GK-NOT-EXPANDED")


def run_case(policy: Policy, case: dict[str, object]) -> CaseResult:
    started = time.perf_counter()
    name = str(case["name"])
    data, filename = _fixture(policy, case)
    params = case.get("params")
    engine = Engine([policy], {policy.id: dict(params)} if isinstance(params, dict) else {})
    result = scan([(filename, data)], engine, jobs=1)
    own = [finding for finding in result.findings if finding.policy_id == policy.id]
    others = [
        finding
        for finding in result.findings
        if finding.policy_id not in (policy.id, *_NOT_FIXTURE_PROBLEMS)
    ]
    errors = [finding for finding in own if finding.extra.get("evaluation_error")]
    problems: list[str] = []
    if not result.files:
        problems.append(f"no source adapter loaded {filename!r}")
    problems.extend(f"fixture problem: {f.file}:{f.line}: {f.message}" for f in others)
    problems.extend(f"evaluation error: {f.message}" for f in errors)
    expect = case["expect"]
    if expect == "pass" and own:
        problems.append(
            "expected no finding, got: " + "; ".join(f"line {f.line}: {f.message}" for f in own)
        )
    if expect == "fail" and not own:
        problems.append("expected a finding, got none")
    lines = case.get("lines")
    if isinstance(lines, list) and sorted(f.line for f in own) != sorted(lines):
        problems.append(
            f"expected findings on lines {sorted(lines)}, got {sorted(f.line for f in own)}"
        )
    count = case.get("count")
    if isinstance(count, int) and len(own) != count:
        problems.append(f"expected {count} finding(s), got {len(own)}")
    detail = "; ".join(problems) or (f"{len(own)} finding(s)" if own else "no finding")
    return CaseResult(policy, name, not problems, detail, time.perf_counter() - started)


def run_policies(policies: list[Policy]) -> list[CaseResult]:
    results = []
    for policy in policies:
        for case in policy.tests:
            results.append(run_case(policy, case))
    return results


def render_text(results: list[CaseResult], untested: list[Policy]) -> str:
    lines = []
    for result in results:
        mark = "PASS" if result.passed else "FAIL"
        lines.append(f"{mark} {result.policy.id}: {result.name}")
        if not result.passed:
            lines.append(f"     {result.policy.file}: {result.detail}")
    for policy in untested:
        lines.append(f"FAIL {policy.id}: policy has no tests ({policy.file})")
    failed = sum(not result.passed for result in results) + len(untested)
    lines.append("")
    lines.append(f"{len(results) + len(untested) - failed} passed, {failed} failed")
    return "\n".join(lines) + "\n"


def render_junit(results: list[CaseResult], untested: list[Policy]) -> str:
    """A suite per policy, a case per fixture; a policy without fixtures fails `has tests`."""
    by_policy: dict[str, list[junit_format.Case]] = {}
    for result in results:
        by_policy.setdefault(result.policy.id, []).append(
            junit_format.Case(
                result.policy.id,
                result.name,
                "" if result.passed else "failure",
                result.detail,
                f"{result.policy.file}: {result.detail}",
                seconds=result.seconds,
            )
        )
    for policy in untested:
        by_policy[policy.id] = [
            junit_format.Case(policy.id, "has tests", "failure", "policy has no tests", policy.file)
        ]
    suites = [junit_format.Suite(policy_id, cases) for policy_id, cases in by_policy.items()]
    return junit_format.document("gatekeeper test", suites)


def run(args: argparse.Namespace) -> int:
    if args.dirs:
        roots = [Path(directory) for directory in args.dirs]
    else:  # what a scan here would load: the built-in packs and `.gatekeeper.yml` policies
        from gatekeeper import context
        from gatekeeper.bundle import policy_roots

        root = context.find_root()
        config = context.load_config(root)
        roots = policy_roots(config, **context.policy_sources(root, config))
    policies = load_bundle(roots, standalone=bool(args.dirs))
    if not policies:
        raise PolicyError("no policies found", ", ".join(map(str, roots)))
    results = run_policies(policies)
    untested = [policy for policy in policies if not policy.tests]
    render = render_junit if args.format == "junit" else render_text
    text = render(results, untested)
    covered = True
    if getattr(args, "coverage", False) or getattr(args, "min_coverage", None) is not None:
        from gatekeeper import coverage

        report, percent = coverage.render(policies, coverage.gaps(policies))
        minimum = args.min_coverage if args.min_coverage is not None else 0.0
        covered = percent >= minimum
        if args.format == "junit":
            sys.stderr.write(report)
        else:
            text += "\n" + report
    output.write(text, args.output)
    passed = all(result.passed for result in results) and not untested
    return 0 if passed and covered else 1
