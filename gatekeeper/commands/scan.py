"""`gatekeeper scan [PATHS]`: check files on disk."""

from __future__ import annotations

import argparse
import datetime
from collections.abc import Iterator
from pathlib import Path

from gatekeeper import discover, output, pipeline
from gatekeeper.bundle import build_engine
from gatekeeper.config import CONFIG_NAMES, Config, parse_config
from gatekeeper.document import Problem
from gatekeeper.errors import UsageError
from gatekeeper.evaluate import Engine
from gatekeeper.finding import Finding
from gatekeeper.problems import to_finding
from gatekeeper.report import Report, renderer
from gatekeeper.scan import scan
from gatekeeper.sources import LoadContext, with_owners
from gatekeeper.tree import OUTSIDE_MESSAGE, OutsideLink, WorkTree, read_file


def find_config(explicit: str | None, root: Path) -> Config:
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise UsageError("configuration file not found", explicit)
        return parse_config(explicit, path.read_bytes())
    for name in CONFIG_NAMES:
        if (root / name).is_file():
            return parse_config(name, (root / name).read_bytes())
    return Config()


def read_files(
    files: list[str], root: Path, unreadable: list[Problem]
) -> Iterator[tuple[str, bytes]]:
    for name in files:
        try:
            yield name, read_file(root / name, root)
        except OutsideLink:
            unreadable.append(Problem("GK-SYMLINK", name, 1, OUTSIDE_MESSAGE))
        except OSError as error:
            unreadable.append(Problem("GK-READ-ERROR", name, 1, f"cannot read: {error.strerror}"))


def select_files(args: argparse.Namespace, config: Config, root: Path) -> list[str]:
    """The files under the PATH arguments that the config's and the command's globs keep."""
    return discover.select(
        discover.walk(args.paths, root),
        [*config.include, *args.include],
        [*config.exclude, *args.exclude],
    )


def run(args: argparse.Namespace) -> int:
    if getattr(args, "base", None):
        return run_change(args)
    if getattr(args, "head", None):
        raise UsageError("--head needs --base")
    root = Path.cwd()
    config = find_config(args.config, root)
    engine = build_engine(config, args.policies, not args.no_builtin, args.disable)
    jobs = args.jobs
    if getattr(args, "hook", False):
        # pre-commit passes a few staged files: no pool, and repository-scope policies (which
        # need every file of the repository) are left to the pull request check.
        jobs = 1
        engine = Engine(
            [policy for policy in engine.policies if policy.scope != "repository"],
            engine.param_overrides,
        )
    files = select_files(args, config, root)
    unreadable: list[Problem] = []
    context = LoadContext(tree=WorkTree(root), options=config.sources)
    files = with_owners(files, context)  # a changed template brings its chart
    pairs = list(read_files(files, root, unreadable))
    if config.overrides:
        result = pipeline.scan_with_overrides(pairs, engine, config, context, jobs)
    else:
        result = scan(pairs, engine, jobs, context)
    findings = result.findings + [to_finding(problem) for problem in unreadable]
    findings = _waive(findings, config, root, dict(pairs))
    threshold = args.severity_threshold or config.severity_threshold
    verdict = pipeline.verdict(findings, config, threshold)
    report = Report(
        verdict=verdict,
        policies=engine.policies,
        files_scanned=len(result.files),
        documents=result.documents,
        color=use_color_for(args),
        sarif_min_severity=args.sarif_min_severity,
    )
    output.write(renderer(args.format).render(report), args.output)
    return verdict.exit_code


def _waive(
    findings: list[Finding], config: Config, root: Path, contents: dict[str, bytes]
) -> list[Finding]:
    """Waivers from the work tree's waivers file, and inline skips of the scanned files."""
    from gatekeeper import waivers

    today = datetime.date.today()
    base = Path(config.file).parent if config.file else root
    waivers_path = base / config.waivers_file
    active: list[waivers.Waiver] = []
    if waivers_path.is_file():
        name = discover.relative(waivers_path, root)
        active = waivers.parse_waivers(
            name, waivers_path.read_bytes(), today, config.max_horizon_days
        )
    skips = [
        skip
        for path, data in contents.items()
        if b"gatekeeper:skip" in data
        for skip in waivers.inline_skips(path, data.decode("utf-8", "replace"))
    ]
    if not active and not skips:
        return findings
    return pipeline.apply_waivers(findings, config, active, skips, today)[0]


def run_change(args: argparse.Namespace) -> int:
    """`scan --base REF [--head REF]`: judge a change as a pull request check does."""
    from gatekeeper.change import scan_change

    if args.config or args.include or args.exclude or args.disable or args.paths != ["."]:
        raise UsageError(
            "with --base, configuration comes from the base revision: "
            "--config, --include, --exclude, --disable and paths are not allowed"
        )
    result = scan_change(
        Path.cwd(),
        args.base,
        args.head,
        filter_mode=args.filter,
        severity_threshold=args.severity_threshold,
        extra_policy_dirs=args.policies,
        builtin=not args.no_builtin,
        jobs=args.jobs,
    )
    report = Report(
        verdict=result.verdict,
        policies=result.policies,
        files_scanned=result.files_scanned,
        documents=result.documents,
        color=use_color_for(args),
        sarif_min_severity=args.sarif_min_severity,
    )
    output.write(renderer(args.format).render(report), args.output)
    return result.verdict.exit_code


def use_color_for(args: argparse.Namespace) -> bool:
    return args.format == "text" and output.use_color(args.color, args.output)
