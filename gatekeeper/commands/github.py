"""`gatekeeper github`: judge a pull request and report it on GitHub (inside GitHub Actions).

Scans the change with `gatekeeper.change.scan_change` (base = the PR's base commit, head = the
PR's head commit, not the merge commit actions/checkout makes, so lines match the diff GitHub
shows), then publishes: review comments, sticky summary, check run, job summary, outputs.
The exit code follows the verdict (`--fail-on`), whatever happened while publishing.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from pathlib import Path

from gatekeeper.context import find_root
from gatekeeper.errors import UsageError
from gatekeeper.github.plan import ChangeLike


def run(args: argparse.Namespace) -> int:
    from gatekeeper.github import context as actions
    from gatekeeper.github.plan import Options
    from gatekeeper.github.publish import publish

    env = actions.from_environment()
    pr = env.pull_request
    base = args.base or (pr.base_sha if pr else "")
    head = args.head or (pr.head_sha if pr else "") or None
    if not base:
        raise UsageError("no base revision: not a pull_request event; pass --base")
    if args.max_inline_comments < 0:
        raise UsageError("--max-inline-comments must be 0 or more")
    root = find_root((), args.root)
    change = _scan_change()(
        root,
        base,
        head,
        filter_mode=args.filter_mode,
        severity_threshold=args.severity_threshold,
        extra_policy_dirs=args.policies,
        builtin=not args.no_builtin,
        jobs=args.jobs,
    )
    options = Options(
        comment_mode=args.comment_mode,
        fail_on=args.fail_on,
        max_inline=args.max_inline_comments,
        check_name=args.check_name,
    )
    outcome = publish(change, env, options, read_head=_reader(root, change.head_sha))
    counts = outcome.plan.counts
    print(
        f"gatekeeper: {'FAIL' if outcome.plan.failed else 'PASS'}: {counts['new']} new, "
        f"{counts['existing']} existing, {counts['fixed']} fixed, {counts['waived']} waived, "
        f"{counts['blocking']} blocking"
    )
    return outcome.exit_code


def _scan_change() -> Callable[..., ChangeLike]:
    """gatekeeper.change.scan_change, the PR-aware scan; a clear error in a build without it."""
    try:
        module = importlib.import_module("gatekeeper.change")
    except ImportError as error:
        raise UsageError(
            f"this build has no pull-request scanning (gatekeeper.change): {error}"
        ) from None
    scan_change: Callable[..., ChangeLike] = module.scan_change
    return scan_change


def _reader(root: Path, head_sha: str) -> Callable[[str], str | None]:
    """The head commit's text of a file (the suggestion must match what the diff shows)."""

    def read(path: str) -> str | None:
        import git

        try:
            blob = git.Repo(root).commit(head_sha).tree / path
            data: bytes = blob.data_stream.read()
            return data.decode("utf-8")
        except (KeyError, ValueError, git.GitError):
            return None

    return read
