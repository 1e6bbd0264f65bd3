"""The `gatekeeper` command line: argument parsing and dispatch, nothing else."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Sequence
from typing import Any

from gatekeeper import __version__
from gatekeeper.decide import EXIT_INTERNAL, EXIT_USAGE
from gatekeeper.errors import UsageError
from gatekeeper.finding import SEVERITIES
from gatekeeper.report import FORMATS
from gatekeeper.report.safe import for_log


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


class _Version(argparse.Action):
    """`--version`: the version, then which reader builds manifests (the C one is optional:
    README, Install), found only when asked (importing it reads PyYAML)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.setdefault("help", "show the version and the manifest reader, and exit")
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        from gatekeeper.yamlevents import reader

        print(f"gatekeeper {__version__}\nmanifest reader: {reader()}")
        parser.exit()


def _add_output_options(parser: argparse.ArgumentParser, formats: Sequence[str]) -> None:
    parser.add_argument("--format", "-f", choices=formats, default="text", help="report format")
    parser.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE")
    parser.add_argument(
        "--color", choices=("auto", "always", "never"), default="auto", help="colour text output"
    )


def _add_policy_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--policies",
        "-p",
        action="append",
        default=[],
        metavar="DIR",
        help="also load policies from DIR (repeatable)",
    )
    parser.add_argument(
        "--no-builtin", action="store_true", help="do not load the built-in library"
    )
    parser.add_argument(
        "--config", "-c", metavar="FILE", help="configuration (default .gatekeeper.yml)"
    )
    parser.add_argument(
        "--disable",
        action="append",
        default=[],
        metavar="ID",
        help="turn off a policy (repeatable)",
    )


def _add_root_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--root",
        metavar="DIR",
        help="the repository root that config, waivers and reported paths are relative to "
        "(default: the git top level of the scanned path, else the scanned directory)",
    )


# The subcommands, in the order `--help` lists them, each added by one function: main()
# builds only the one its arguments name (a hook's start-up spent more on building the other
# parsers than on parsing its own arguments).
COMMAND_NAMES = (
    "scan", "test", "lock", "inventory", "export", "docs", "impact", "changelog",
    "github", "policies", "explain", "config", "completion",
)  # fmt: skip


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser; `command`: only that subcommand's (and those one function
    adds with it; another one is then an invalid choice), else all of them."""
    parser = _Parser(
        prog="gatekeeper", description="Policy-as-code checks for GitOps repositories."
    )
    parser.add_argument("--version", action=_Version)
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of an internal error"
    )
    # Built for one command, the usage line still names them all (as argparse spells them).
    every = None if command is None else "{" + ",".join(COMMAND_NAMES) + "}"
    commands = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser, metavar=every
    )
    for names, add in _SUBCOMMANDS:
        if command is None or command in names:
            add(commands)
    for subcommand in commands.choices.values():  # `gatekeeper scan --debug` works too
        subcommand.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
        )
    return parser


def _add_scan_parser(commands: argparse._SubParsersAction[_Parser]) -> None:
    scan = commands.add_parser("scan", help="check files against the policies")
    scan.add_argument(
        "paths", nargs="*", default=["."], metavar="PATH", help="files and directories; - for stdin"
    )
    _add_output_options(scan, FORMATS)
    _add_policy_options(scan)
    _add_root_option(scan)
    scan.add_argument(
        "--stdin-filename",
        metavar="NAME",
        help="with -: the path the stream stands for, which decides its format "
        "(default stdin.yaml, Kubernetes YAML)",
    )
    scan.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="no notes; text output shows only blocking findings, and nothing on a pass",
    )
    scan.add_argument(
        "--exit-zero",
        action="store_true",
        help="exit 0 even when findings block (soft fail); errors still exit 2 or 3",
    )
    scan.add_argument(
        "--severity-threshold",
        "-t",
        choices=SEVERITIES,
        help="block on findings at or above this severity (default from config: medium)",
    )
    scan.add_argument(
        "--sarif-min-severity",
        choices=SEVERITIES,
        default="low",
        help="SARIF only: leave out non-blocking findings below this severity (default: low)",
    )
    scan.add_argument("--include", action="append", default=[], metavar="GLOB")
    scan.add_argument("--exclude", action="append", default=[], metavar="GLOB")
    scan.add_argument("--jobs", "-j", type=int, default=0, help="worker processes (default: cores)")
    scan.add_argument(
        "--base",
        metavar="REF",
        help="judge the change merge-base(REF, head)..head like a pull request: only changed "
        "files, findings new/existing/fixed; policies, config and waivers come from REF",
    )
    scan.add_argument(
        "--hook",
        action="store_true",
        help="pre-commit mode: one process, repository-scope policies left to the PR check",
    )
    scan.add_argument("--head", metavar="REF", help="the change's head commit (default HEAD)")
    scan.add_argument(
        "--filter",
        choices=("added", "diff_context", "file", "all"),
        default="added",
        help="with --base: which existing findings to show beside the new ones "
        "(default added: on added/modified lines)",
    )


def _add_tool_parsers(commands: argparse._SubParsersAction[_Parser]) -> None:
    test = commands.add_parser("test", help="run the policies' own test fixtures")
    test.add_argument(
        "dirs",
        nargs="*",
        metavar="DIR",
        help="policy directories (default: the built-in packs and .gatekeeper.yml policies)",
    )
    _add_output_options(test, ("text", "junit"))
    test.add_argument(
        "--coverage",
        action="store_true",
        help="report policies without a passing case, a failing case, or a case exercising "
        "their fix",
    )
    test.add_argument(
        "--min-coverage",
        type=float,
        metavar="PERCENT",
        help="fail when fewer policies than this are covered (implies --coverage)",
    )

    lock = commands.add_parser(
        "lock", help="pin git policy sources of .gatekeeper.yml in gatekeeper.lock"
    )
    lock.add_argument("--config", "-c", metavar="FILE", help="configuration file")
    lock.add_argument(
        "--update",
        action="store_true",
        help="resolve every ref again (a branch or moved tag advances); prints the release "
        "notes of each policy source that moved",
    )
    _add_root_option(lock)

    inventory = commands.add_parser(
        "inventory", help="list every container image used, as a CycloneDX JSON SBOM"
    )
    inventory.add_argument("paths", nargs="*", default=["."], metavar="PATH")
    inventory.add_argument("--output", "-o", metavar="FILE", help="write the SBOM to FILE")
    inventory.add_argument("--spec-version", choices=("1.5", "1.6"), default="1.6")
    inventory.add_argument("--config", "-c", metavar="FILE", help="configuration file")
    _add_root_option(inventory)
    inventory.add_argument("--include", action="append", default=[], metavar="GLOB")
    inventory.add_argument("--exclude", action="append", default=[], metavar="GLOB")

    export = commands.add_parser(
        "export",
        help="write the Kubernetes policies as ValidatingAdmissionPolicies with bindings",
    )
    export.add_argument("--format", choices=("vap",), default="vap", help="output format")
    export.add_argument("--output", "-o", metavar="FILE", help="write to FILE")
    _add_policy_options(export)
    _add_root_option(export)

    docs = commands.add_parser(
        "docs", help="write the policy table of each pack's README.md (--check: fail if stale)"
    )
    docs.add_argument("dirs", nargs="*", metavar="DIR", help="policy packs (default: built-in)")
    docs.add_argument("--check", action="store_true", help="exit 1 when a table is stale")

    impact = commands.add_parser(
        "impact", help="what a policy change (base..head of this repository) does to consumers"
    )
    impact.add_argument("--base", required=True, metavar="REF")
    impact.add_argument("--head", default="HEAD", metavar="REF")
    impact.add_argument(
        "--against",
        action="append",
        default=[],
        metavar="PATH|URL@REF",
        help="a consumer repository (repeatable; default: `impact.consumers` of .gatekeeper.yml)",
    )
    impact.add_argument(
        "--path",
        help="the policies' directory in this repository (default: `impact.path`, else all)",
    )
    impact.add_argument("--format", "-f", choices=("text", "json"), default="text")
    impact.add_argument("--output", "-o", metavar="FILE")

    changelog = commands.add_parser(
        "changelog", help="policies added, removed or changed between two revisions"
    )
    changelog.add_argument("--from", dest="from_ref", required=True, metavar="REF")
    changelog.add_argument("--to", default="HEAD", metavar="REF")
    changelog.add_argument("--path", default=".", help="the policies' directory")
    changelog.add_argument("--output", "-o", metavar="FILE")


def _add_completion_parser(commands: argparse._SubParsersAction[_Parser]) -> None:
    completion = commands.add_parser("completion", help="print a shell completion script")
    completion.add_argument("shell", choices=("bash", "zsh", "fish"))


REPORT_URL = "https://github.com/acme/gatekeeper/issues"


def _add_github_parser(commands: argparse._SubParsersAction[_Parser]) -> None:
    github = commands.add_parser(
        "github", help="judge a pull request in GitHub Actions: comments, check run, summary"
    )
    github.add_argument(
        "--root", metavar="DIR", help="repository checkout (default: git top level of .)"
    )
    github.add_argument("--base", help="base revision (default: the event's base commit)")
    github.add_argument("--head", help="head revision (default: the event's head commit)")
    github.add_argument(
        "--filter-mode",
        choices=("added", "diff_context", "file", "all"),
        default="added",
        help="which existing findings to report beside the new ones",
    )
    github.add_argument("--severity-threshold", "-t", choices=SEVERITIES)
    github.add_argument("--policies", "-p", action="append", default=[], metavar="DIR")
    github.add_argument("--no-builtin", action="store_true")
    github.add_argument(
        "--comment-mode", choices=("summary", "inline", "both", "none"), default="both"
    )
    github.add_argument("--fail-on", choices=("new", "all", "none"), default="new")
    github.add_argument("--max-inline-comments", type=int, default=25, metavar="N")
    github.add_argument("--check-name", default="gatekeeper")
    github.add_argument("--jobs", "-j", type=int, default=0)


def _add_policy_parsers(commands: argparse._SubParsersAction[_Parser]) -> None:
    policies = commands.add_parser("policies", help="list the policies a scan here would run")
    policies.add_argument("--source", metavar="SOURCE", help="only policies for this source type")
    policies.add_argument(
        "--severity",
        metavar="LIST",
        help=f"only these severities, comma-separated ({','.join(SEVERITIES)})",
    )
    policies.add_argument("--pack", metavar="PACK", help="only policies of this pack")
    policies.add_argument("--format", "-f", choices=("text", "json"), default="text")
    _add_policy_options(policies)
    _add_root_option(policies)

    explain = commands.add_parser("explain", help="show what a policy checks and how to fix it")
    explain.add_argument("id", metavar="ID", help="a policy id, e.g. K8S-PSS-PRIVILEGED")
    explain.add_argument("--format", "-f", choices=("text", "json"), default="text")
    _add_policy_options(explain)
    _add_root_option(explain)

    config = commands.add_parser("config", help="work with .gatekeeper.yml")
    actions = config.add_subparsers(dest="action", required=True, parser_class=_Parser)
    validate = actions.add_parser(
        "validate", help="check a configuration: schema, paths, policy ids (exit 2 on an error)"
    )
    validate.add_argument("file", nargs="?", metavar="FILE", help="default: the root's config")
    _add_root_option(validate)
    validate.add_argument("--policies", "-p", action="append", default=[], metavar="DIR")
    validate.add_argument("--no-builtin", action="store_true")


_SUBCOMMANDS = (
    (("scan",), _add_scan_parser),
    (("test", "lock", "inventory", "export", "docs", "impact", "changelog"), _add_tool_parsers),
    (("github",), _add_github_parser),
    (("policies", "explain", "config"), _add_policy_parsers),
    (("completion",), _add_completion_parser),
)


# True when gatekeeper runs as the program (`gatekeeper`, `python -m gatekeeper`: see
# program()): the process ends after the command, so what its scans keep need not be
# traversed by the garbage collector again (see scanner.collector_paused). A caller of
# main() in a longer process (a test, the Python API) keeps the collection: main() with no
# argv set it before, and one such call left every later scan of a test run collecting
# the whole heap first.
PROGRAM_RUN = False


def program() -> int:
    """The console entry point (and `python -m gatekeeper`): main() as the program, its
    start-up without the garbage collector (see resume_collector)."""
    global PROGRAM_RUN
    PROGRAM_RUN = True
    if gc.isenabled():
        gc.disable()
        _PAUSED.append(True)
    return main()


# The collector paused by program() for the start-up (imports, the policy bundle read back
# from its cache): tens of thousands of objects that live as long as the process and make no
# garbage (a hook: none left unreachable; a scan of k8s: 6 objects), traversed again by the
# young collections they set off: about 50 of them, 4-5 ms of every hook.
_PAUSED: list[bool] = []


def resume_collector() -> None:
    """The start-up is over (a command's work begins): what it made is frozen (gc.freeze:
    freed when nothing refers to it, never traversed; scanner.collector_paused freezes a
    program's scan so too) and the collector runs again. Nothing when program() did not
    pause it (a test, the Python API)."""
    if _PAUSED:
        _PAUSED.clear()
        gc.freeze()
        gc.enable()


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    # Only the parser of the subcommand named first (options before it, such as --help or
    # --version, need them all).
    named = arguments[0] if arguments and arguments[0] in COMMAND_NAMES else None
    args = None
    try:  # (--version and --help print while the arguments are read)
        args = build_parser(named).parse_args(arguments)
        return _dispatch(args)
    except UsageError as error:
        print(f"gatekeeper: error: {for_log(error)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `gatekeeper scan | head`: the reader left, nothing to say
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keep interpreter exit quiet
        return EXIT_USAGE
    except Exception as error:  # a bug: say so briefly, never pass it off as a verdict
        debug = getattr(args, "debug", False) or os.environ.get("GATEKEEPER_DEBUG") == "1"
        return _internal_error(error, debug)


def _internal_error(error: Exception, debug: bool) -> int:
    if debug:
        import traceback

        traceback.print_exc(file=sys.stderr)
    detail = for_log(str(error).splitlines()[0][:300]) if str(error) else ""
    print(
        f"gatekeeper: internal error: {type(error).__name__}{': ' if detail else ''}{detail}\n"
        f"gatekeeper: this is a bug; please report it at {REPORT_URL}"
        + ("" if debug else " with the output of --debug (or GATEKEEPER_DEBUG=1)"),
        file=sys.stderr,
    )
    return EXIT_INTERNAL


# Subcommand -> the module of gatekeeper.commands that runs it (imported only when used, so
# the CLI starts fast).
_COMMANDS = {"explain": "policies"}


def _dispatch(args: argparse.Namespace) -> int:
    import importlib

    name = _COMMANDS.get(args.command, args.command)
    module = importlib.import_module(f"gatekeeper.commands.{name}")
    if args.command != "scan":  # (a scan's start-up ends once its policies are built)
        resume_collector()
    if args.command == "completion":
        result: int = module.run(args, build_parser())
        return result
    result = module.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
