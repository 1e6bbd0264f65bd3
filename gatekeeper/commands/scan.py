"""`gatekeeper scan [PATHS]`: check files on disk."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

from gatekeeper import discover, output
from gatekeeper.bundle import build_engine
from gatekeeper.config import CONFIG_NAMES, Config, parse_config
from gatekeeper.decide import decide
from gatekeeper.document import Problem
from gatekeeper.errors import UsageError
from gatekeeper.problems import to_finding
from gatekeeper.report import Report, renderer
from gatekeeper.scan import scan
from gatekeeper.sources import LoadContext
from gatekeeper.tree import WorkTree


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
            yield name, (root / name).read_bytes()
        except OSError as error:
            unreadable.append(Problem("GK-READ-ERROR", name, 1, f"cannot read: {error.strerror}"))


def run(args: argparse.Namespace) -> int:
    root = Path.cwd()
    config = find_config(args.config, root)
    engine = build_engine(config, args.policies, not args.no_builtin, args.disable)
    files = discover.select(
        discover.walk(args.paths, root),
        [*config.include, *args.include],
        [*config.exclude, *args.exclude],
    )
    unreadable: list[Problem] = []
    context = LoadContext(tree=WorkTree(root), options=config.sources)
    result = scan(read_files(files, root, unreadable), engine, args.jobs, context)
    findings = result.findings + [to_finding(problem) for problem in unreadable]
    threshold = args.severity_threshold or config.severity_threshold
    verdict = decide(findings, threshold)
    report = Report(
        verdict=verdict,
        policies=engine.policies,
        files_scanned=len(result.files),
        documents=result.documents,
        color=use_color_for(args),
    )
    output.write(renderer(args.format).render(report), args.output)
    return verdict.exit_code


def use_color_for(args: argparse.Namespace) -> bool:
    return args.format == "text" and output.use_color(args.color, args.output)
