"""Generator inputs that git ignores: files a deployer makes before it builds.

aks-store-demo's `kustomize/overlays/azd/*/kustomization.yaml` make a ConfigMap from `.env`,
which `.gitignore` leaves out: `azd` writes it at deploy time. Built as committed, kustomize
fails ("evalsymlink failure ... .env") and nothing of the overlay was judged. A
configMapGenerator or secretGenerator input that is missing *and* git-ignored is built empty
instead (its keys are unknown, what they hold is configuration, not workload shape), and a
note says so; the rest of the overlay -- its resources, patches, images -- is judged as any
other. Only generator inputs qualify: a missing resource, patch or component still fails the
build, so no deploy hides behind a file that is not there.
"""

from __future__ import annotations

import posixpath

from gatekeeper.document import Problem
from gatekeeper.sources.flux_ignore import Rule, gitignore_rule, ignored
from gatekeeper.tree import Tree


def git_ignored(tree: Tree, path: str) -> bool:
    """Whether the `.gitignore` files of the repository (the root's and those of the folders
    above `path`) leave `path` out."""
    rules: list[Rule] = []
    parts = path.split("/")[:-1]
    for depth in range(len(parts) + 1):
        folder = "/".join(parts[:depth])
        name = posixpath.join(folder, ".gitignore") if folder else ".gitignore"
        if not tree.exists(name):
            continue
        try:
            text = tree.read(name).decode("utf-8", "replace")
        except OSError:
            continue
        rules += [rule for line in text.splitlines() if (rule := gitignore_rule(folder, line))]
    return ignored(path, tuple(rules))


def note(kustomization: str, line: int, inputs: list[str]) -> Problem:
    """The low finding of a build that made its git-ignored inputs empty."""
    message = (
        f"reads {', '.join(inputs)}, which .gitignore leaves out of the repository (made at"
        " deploy time): the overlay is judged with it empty"
    )
    return Problem("GK-DEPLOY-TIME-FILE", kustomization, line, message)
