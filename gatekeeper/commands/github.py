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
    from gatekeeper import git as gitops
    from gatekeeper.change import _trusted_config
    from gatekeeper.github import context as actions
    from gatekeeper.github import gate, preview, workflow
    from gatekeeper.github.client import Client, Settings
    from gatekeeper.github.plan import Options
    from gatekeeper.github.publish import publish
    from gatekeeper.github.trust import guard, with_findings

    env = actions.from_environment()
    pr = env.pull_request
    if args.max_inline_comments < 0:
        raise UsageError("--max-inline-comments must be 0 or more")
    root = find_root((), args.root)
    repo = gitops.open_repo(root)

    def commit(ref: str | None) -> str | None:
        return gitops.resolve(repo, ref).hexsha if ref else None

    event_base, event_head = (pr.base_sha, pr.head_sha) if pr else ("", "")
    base = commit(args.base or event_base)
    if not base:
        raise UsageError("no base revision: not a pull_request event; pass --base")
    # The inputs may only tighten what the base revision's configuration says.
    asked = gate.Settings(
        fail_on=args.fail_on,
        comment_mode=args.comment_mode,
        filter_mode=args.filter_mode,
        severity_threshold=args.severity_threshold,
        builtin=not args.no_builtin,
        policies=tuple(args.policies),
        check_name=args.check_name,
        base=base,
        head=commit(args.head),
    )
    config = _trusted_config(gitops.resolve(repo, event_base or base))
    settled, ignored = gate.settle(asked, config, event_base, event_head)
    change = _scan_change()(
        root,
        settled.base or base,
        settled.head or event_head or None,
        filter_mode=settled.filter_mode,
        severity_threshold=settled.severity_threshold,
        extra_policy_dirs=list(settled.policies),
        builtin=settled.builtin,
        jobs=args.jobs,
    )
    client = None
    if env.token and pr is not None and pr.number:
        client = Client(env.api_url, env.token, env.repository, pr.number, Settings.from_env())
    guarded = guard(change, env, config, ignored, settled.check_name, root, client)
    sections = []
    found = preview.preview(root, config, guarded.change)
    if found is not None:  # a policy repository: what the change does to its consumers
        guarded.change = with_findings(guarded.change, preview.findings(found))
        sections.append(preview.section(found))
        print(f"gatekeeper: impact: {found.summary_line()}")
        newly = sum(len(consumer.newly_blocking) for consumer in found.impacts)
        workflow.set_outputs(env.output, {"impact-newly-blocking": newly})
    options = Options(
        comment_mode="none" if env.merge_group else settled.comment_mode,
        fail_on=settled.fail_on,
        max_inline=args.max_inline_comments,
        check_name=settled.check_name,
    )
    outcome = publish(
        guarded.change,
        env,
        options,
        read_head=_reader(root, change.head_sha),
        notes=guarded.notes,
        client=client,
        sections=sections,
    )
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
