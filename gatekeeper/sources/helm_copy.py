"""The copy of a chart that Helm loads, held in memory until Helm renders it.

A chart is rendered from a copy (the scanned revision's files, its local dependencies under
charts/, schemas that would be fetched left out). A hook whose renderings are all kept
(helm_renders) never starts Helm: it needs the copy's contents for the key, not the folder.
Writing kube-prometheus-stack's 318 files, reading them back for the key and removing them
was about 9% of that hook's CPU; the folder is now written once, when Helm is asked.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class ChartCopy:
    """Each file of the copy by its path in it (`files`, in the order written), the folders
    it makes (`folders`: "" the copy itself, a dependency's folder even when empty), and
    where it is written (`root`) once `write` is called. No change after that."""

    root: Path
    files: dict[str, bytes] = field(default_factory=dict)
    folders: set[str] = field(default_factory=lambda: {""})
    written: bool = False

    def add(self, relative: str, content: bytes) -> None:
        """A file of the copy (its folders made with it)."""
        self._unwritten()
        folder = posixpath.dirname(relative)
        while folder not in self.folders:
            self.folders.add(folder)
            folder = posixpath.dirname(folder)
        self.files[relative] = content

    def make_folder(self, relative: str) -> None:
        """A folder of the copy, made even when nothing is put in it."""
        self._unwritten()
        while relative not in self.folders:
            self.folders.add(relative)
            relative = posixpath.dirname(relative)

    def holds(self, relative: str) -> bool:
        """Whether the copy has a file or a folder at `relative` (Path.exists on the copy)."""
        return relative in self.files or relative in self.folders

    def remove(self, relative: str) -> None:
        """A file left out of the copy (Path.unlink on it)."""
        self._unwritten()
        del self.files[relative]

    def write(self) -> Path:
        """The copy written at `root` (once): where Helm loads it."""
        if not self.written:
            self.written = True
            for folder in sorted(self.folders):
                os.makedirs(os.path.join(self.root, folder), exist_ok=True)
            for relative, content in self.files.items():
                with open(os.path.join(self.root, relative), "wb") as handle:
                    handle.write(content)
        return self.root

    def _unwritten(self) -> None:
        if self.written:
            raise RuntimeError(f"the chart copy at {self.root} is already written")
