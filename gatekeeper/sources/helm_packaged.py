"""Subcharts vendored as archives: `charts/postgresql-ha-10.0.7.tgz`.

Helm renders a packaged subchart's templates under `charts/postgresql-ha/templates/...`, a
folder the repository does not have: findings pointed at files that do not exist, at line 1.
The template is read from the archive (for its lines and the values each reads), and a
finding is located where the repository can change it: the parent's values line that sets
the field (values reach a subchart through its `<subchart>:` key), else the archive itself.
"""

from __future__ import annotations

import io
import posixpath
from typing import Any

from gatekeeper.document import Document, Location
from gatekeeper.fieldpath import Path
from gatekeeper.tree import Tree

MAX_MEMBER_BYTES = 4 * 1024 * 1024  # a template larger than this is not read from an archive


def archive_of(tree: Tree, file: str, chart_dir: str) -> str | None:
    """The archive under `<chart_dir>/charts/` that holds `file` (a rendered template's path
    in a subchart folder the tree lacks), if one does."""
    rest = file[len(chart_dir) + 1 :] if chart_dir else file
    parts = rest.split("/")
    if len(parts) < 3 or parts[0] != "charts":
        return None
    charts = posixpath.join(chart_dir, "charts") if chart_dir else "charts"
    name = parts[1]
    for candidate in tree.list_dir(charts):
        base = posixpath.basename(candidate)
        if posixpath.dirname(candidate) != charts or not base.endswith(".tgz"):
            continue
        if base == f"{name}.tgz" or (base.startswith(f"{name}-") and base[len(name) + 1].isdigit()):
            return candidate
    return None


def member_text(tree: Tree, archive: str, file: str, chart_dir: str) -> str:
    """The text of `file` inside `archive` ("" when it cannot be read)."""
    import tarfile  # (a packaged subchart's only: not imported by every chart's hook)

    rest = file[len(chart_dir) + 1 :] if chart_dir else file
    inner = "/".join(rest.split("/")[1:])  # `<subchart>/templates/x.yaml`
    try:
        with tarfile.open(fileobj=io.BytesIO(tree.read(archive)), mode="r:gz") as tar:
            member = tar.getmember(inner)
            if not member.isfile() or member.size > MAX_MEMBER_BYTES:
                return ""
            handle = tar.extractfile(member)
            return handle.read().decode("utf-8", "replace") if handle is not None else ""
    except (OSError, KeyError, tarfile.TarError, EOFError):
        return ""


class PackagedLocator:
    """A subchart template's locator whose locations are in the repository: the parent's
    values line that set the field, else the archive."""

    def __init__(self, inner: Any, archive: str) -> None:
        self.inner = inner
        self.archive = archive

    def locate(self, path: Path) -> Location:
        found: Location = self.inner.locate(path)
        if found.values:
            file, _, line = found.values.split(", ")[0].rpartition(":")
            if file and line.isdigit():
                return Location(file, int(line), exact=False, values=found.values)
        return Location(self.archive, 1, exact=False, values=found.values)

    def __getattr__(self, name: str) -> Any:  # the rest of HelmLocator (map, sources...)
        return getattr(self.inner, name)


def point_at(documents: list[Document], archive: str) -> None:
    """Locate `documents`, rendered from a template inside `archive`, in the repository."""
    for document in documents:
        document.locator = PackagedLocator(document.locator, archive)
        document.file = archive
