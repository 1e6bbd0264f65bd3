"""gatekeeper: policy-as-code checks for GitOps repositories.

The Python API, in three lines::

    import gatekeeper
    report = gatekeeper.scan("deploy")
    print(report.verdict.passed, [f.message for f in report.verdict.blocking])

`scan` checks files on disk exactly as `gatekeeper scan` does (same root, configuration,
waivers and paths); `scan_change` judges a change `base..head` as the pull request check does.
Everything heavy is imported on first use, so importing the package stays cheap.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gatekeeper.change import ChangeResult, scan_change
    from gatekeeper.report import Report

__version__ = "0.1.0"
__all__ = ["ChangeResult", "Report", "__version__", "scan", "scan_change"]

StrPath = str | os.PathLike[str]


def scan(
    paths: StrPath | Sequence[StrPath] = ".",
    *,
    root: StrPath | None = None,
    config: StrPath | None = None,
    policies: Sequence[StrPath] = (),
    builtin: bool = True,
    disable: Sequence[str] = (),
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    severity_threshold: str | None = None,
    jobs: int = 0,
) -> Report:
    """Scan files and directories on disk; the `gatekeeper scan` command as a function.

    `root` (default: the git top level of the paths) is where `.gatekeeper.yml` and the
    waivers are read from and what reported paths are relative to; `config` overrides the
    configuration file, `policies` adds policy directories. Render the result with
    `gatekeeper.report.renderer("sarif").render(report)`. Raises `gatekeeper.errors.UsageError`
    (with file and line) for bad arguments, configuration or policies.
    """
    from gatekeeper import context, pipeline
    from gatekeeper.contents import Contents
    from gatekeeper.document import Problem
    from gatekeeper.report import Report

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    names = [os.fspath(path) for path in paths]
    run = context.for_worktree(
        names,
        root=os.fspath(root) if root is not None else None,
        config_file=os.fspath(config) if config is not None else None,
        policy_dirs=[os.fspath(directory) for directory in policies],
        builtin=builtin,
        disable=disable,
    )
    unreadable: list[Problem] = []
    files = context.select_files(run, names, include, exclude)
    pairs = Contents.of(context.read_files(run, files, unreadable), run.tree.read)
    outcome = pipeline.judge(
        run,
        pairs,
        jobs=jobs,
        threshold=severity_threshold,
        problems=unreadable,
        rest=context.rest_of(run, files, include, exclude),
    )
    return Report(
        verdict=outcome.verdict,
        policies=run.engine.policies,
        files_scanned=outcome.files_scanned,
        documents=outcome.documents,
        notices=outcome.notices,
    )


def __getattr__(name: str) -> Any:
    """`scan_change`, `ChangeResult` and `Report`, imported when first asked for."""
    if name in ("scan_change", "ChangeResult"):
        from gatekeeper import change

        return getattr(change, name)
    if name == "Report":
        from gatekeeper.report import Report

        return Report
    raise AttributeError(f"module 'gatekeeper' has no attribute {name!r}")
