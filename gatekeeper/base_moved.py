"""Deployers the base branch gained after a pull request forked, reading what it changes.

A change is judged as merge-base(base, head)..head, on the head tree; what lands is the head
merged into the base branch's tip. When the base branch changed, since the fork point, a file
that reads a file the change touches (an Application now installing a chart with
`values-prod.yaml`, a kustomization now listing a manifest), the change was judged without
that reader: a values file no deployer of the head tree uses is rendered by nobody, and is
deployed once merged (red team s13 u04). Such a change blocks until the branch is updated
(merge or rebase the base branch), when it is judged with the reader.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gatekeeper import depgraph
from gatekeeper import git as gitops
from gatekeeper.document import Problem
from gatekeeper.finding import Finding
from gatekeeper.problems import to_finding
from gatekeeper.sources import LoadContext

CODE = "GK-BASE-MOVED"


def findings(
    repo: Any,
    fork_point: Any,
    trusted: Any,
    touched: Iterable[str],
    reader: gitops.BlobReader,
    options: Mapping[str, Any],
) -> list[Finding]:
    """One finding per changed file that a reader changed on the base branch since
    `fork_point` reads (`trusted` is the base branch's tip); none when the base did not move."""
    if fork_point.hexsha == trusted.hexsha:
        return []
    moved = {
        path
        for change in gitops.changed_files(repo, fork_point.hexsha, trusted.hexsha)
        for path in (change.old, change.new)
        if path
    }
    changed = sorted(set(touched))
    if not moved or not changed:
        return []
    tip = gitops.RevisionTree(trusted, reader)
    graph = depgraph.build(LoadContext(tree=tip, options=dict(options)))
    out = []
    for path in changed:
        readers = [r for r in graph.affected([path]) if r in moved and r not in changed]
        if not readers:
            continue
        more = f" and {len(readers) - 3} more" if len(readers) > 3 else ""
        shown = ", ".join(readers[:3]) + more
        message = (
            f"the base branch changed {shown} after this branch forked, and it reads {path}:"
            " this change was judged without it; update the branch (merge or rebase the base"
            " branch) to be judged as it will deploy"
        )
        out.append(to_finding(Problem(CODE, path, 1, message)))
    return out
