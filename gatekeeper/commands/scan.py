"""`gatekeeper scan [PATHS | -]`: check files on disk (or a stream on stdin), or a change."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path

from gatekeeper import context, kept_judgements, output, pipeline
from gatekeeper.contents import Contents
from gatekeeper.decide import EXIT_PASS, Verdict
from gatekeeper.document import Problem
from gatekeeper.errors import UsageError
from gatekeeper.main import resume_collector
from gatekeeper.report import Report, renderer

STDIN_DEFAULT_NAME = "stdin.yaml"  # a Kubernetes YAML stream unless --stdin-filename says


def run(args: argparse.Namespace) -> int:
    if args.base:
        resume_collector()
        return run_change(args)
    if args.head:
        raise UsageError("--head needs --base")
    stdin = context.STDIN in args.paths
    if stdin and args.paths != [context.STDIN]:
        raise UsageError("'-' (stdin) cannot be combined with other paths")
    if args.stdin_filename and not stdin:
        raise UsageError("--stdin-filename needs '-' as the path")
    if args.hook:  # a chart's renderer starts beside the hook's own start-up
        from gatekeeper.sources import helm_deployers, helm_renders

        helm_renders.keep()  # and Helm's renderings are kept for the next hook
        kept_judgements.keep()  # as are the policies' judgements of an object
        helm_deployers.prestart(args.paths)
    run_context = context.for_worktree(
        [] if stdin else args.paths,
        root=args.root,
        config_file=args.config,
        policy_dirs=args.policies,
        builtin=not args.no_builtin,
        disable=args.disable,
        repository_scope=not args.hook,
    )
    resume_collector()  # the start-up is over: imports, the policies (main.program)
    note = None if args.quiet or args.hook else context.root_note(run_context.root, args.root)
    if note:
        print(note, file=sys.stderr)
    unreadable: list[Problem] = []
    rest: Iterable[tuple[str, bytes]] = ()
    pairs: Contents | list[tuple[str, bytes]]
    if stdin:
        pairs = [(_stdin_name(args.stdin_filename, run_context.root), sys.stdin.buffer.read())]
    else:
        files = context.select_files(run_context, args.paths, args.include, args.exclude)
        if args.hook:  # what renders a staged file, as a scan: Applications, Tanka
            # environments, CI and helmfile releases of a remote chart, Flux deployers,
            # charts taking a staged chart as a file:// dependency
            from gatekeeper.sources import helm_deployers, tanka

            files += helm_deployers.dependents(files, run_context.load)
            files += helm_deployers.staged(files, run_context.load)
            files += tanka.staged(files, run_context.load)
            files += helm_deployers.release_readers(files, run_context.load)
            files += helm_deployers.flux_readers(files, run_context.load)
        # Read once here (unreadable files reported), then again by whichever pass needs
        # a file: the repository's contents are never all held at once.
        pairs = Contents.of(
            context.read_files(run_context, files, unreadable), run_context.tree.read
        )
        if not args.hook:  # the hook leaves repository-scope policies to the PR check
            rest = context.rest_of(run_context, files, args.include, args.exclude)
    # pre-commit passes a few staged files: one process, no pool.
    outcome = pipeline.judge(
        run_context,
        pairs,
        jobs=1 if args.hook else args.jobs,
        threshold=args.severity_threshold,
        problems=unreadable,
        owners=not stdin,
        rest=rest,
    )
    # (not for the hook: a commit of code files only is the common case there)
    if not outcome.files_scanned and not args.quiet and not args.hook:
        print(nothing_recognised(outcome.files_seen), file=sys.stderr)
    report = Report(
        verdict=_shown(outcome.verdict, args),
        policies=run_context.engine.policies,
        files_scanned=outcome.files_scanned,
        documents=outcome.documents,
        color=use_color_for(args),
        sarif_min_severity=args.sarif_min_severity,
        notices=outcome.notices,
    )
    _render(report, args)
    return EXIT_PASS if args.exit_zero else outcome.verdict.exit_code


def nothing_recognised(seen: int) -> str:
    """Say so when no file was checked: a green result over nothing is no result."""
    looked = f"{seen} file{'s' if seen != 1 else ''} looked at" if seen else "no file found"
    return (
        f"gatekeeper: note: no file was recognised as a format gatekeeper checks ({looked}); "
        "nothing was checked"
    )


def _stdin_name(given: str | None, root: Path) -> str:
    """The stream's path as reports show it: relative to the root, like every path."""
    if not given:
        return STDIN_DEFAULT_NAME
    path = Path(given)
    if path.is_absolute() or Path.cwd().resolve() != root:
        from gatekeeper.discover import relative

        name = relative(Path.cwd() / path, root)
        if not name.startswith(("/", "../")):
            return name
    return path.as_posix()


def _shown(verdict: Verdict, args: argparse.Namespace) -> Verdict:
    """`--quiet` keeps only the blocking findings in the text report."""
    if args.quiet and args.format == "text":
        return Verdict(verdict.blocking, verdict.threshold)
    return verdict


def _render(report: Report, args: argparse.Namespace) -> None:
    if args.quiet and args.format == "text" and report.verdict.passed and not args.output:
        return  # a quiet pass prints nothing (a requested report file is still written)
    chosen = renderer(args.format)
    stream = getattr(chosen, "stream", None)  # formats that can be written piece by piece
    output.write(stream(report) if stream else chosen.render(report), args.output)


def run_change(args: argparse.Namespace) -> int:
    """`scan --base REF [--head REF]`: judge a change as a pull request check does."""
    from gatekeeper.change import scan_change

    if args.config or args.include or args.exclude or args.disable or args.paths != ["."]:
        raise UsageError(
            "with --base, configuration comes from the base revision: "
            "--config, --include, --exclude, --disable and paths are not allowed"
        )
    result = scan_change(
        context.find_root((), args.root),
        args.base,
        args.head,
        filter_mode=args.filter,
        severity_threshold=args.severity_threshold,
        extra_policy_dirs=[str(Path(d).resolve()) for d in args.policies],
        builtin=not args.no_builtin,
        jobs=args.jobs,
    )
    report = Report(
        verdict=_shown(result.verdict, args),
        policies=result.policies,
        files_scanned=result.files_scanned,
        documents=result.documents,
        color=use_color_for(args),
        sarif_min_severity=args.sarif_min_severity,
        notices=result.notices,
    )
    _render(report, args)
    return EXIT_PASS if args.exit_zero else result.verdict.exit_code


def use_color_for(args: argparse.Namespace) -> bool:
    return args.format == "text" and output.use_color(args.color, args.output)
