"""A locator from an explicit table of paths to lines, for sources that build their own objects.

A Dockerfile's `stages[1].instructions[3]` or a workflow's synthetic `commands[2]` has no YAML
node; the adapter records each path's lines while it builds the object, and a path not in the
table resolves to its nearest recorded ancestor (or to a fallback locator, for YAML sources).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from gatekeeper.document import Location, Locator
from gatekeeper.fieldpath import Path


@dataclass
class LineMapLocator:
    file: str
    lines: dict[Path, tuple[int, int]] = field(default_factory=dict)  # path -> (line, end line)
    fallback: Locator | None = None
    # Maps a path of the built object to the path of the fallback's (e.g. YAML) object.
    rewrite: Callable[[Path], Path] | None = None

    # Paths recorded in another file than `file` (a script a workflow step runs).
    files: dict[Path, str] = field(default_factory=dict)

    def add(self, path: Path, line: int, end_line: int = 0, file: str = "") -> None:
        self.lines[path] = (line, end_line or line)
        if file:
            self.files[path] = file

    def locate(self, path: Path) -> Location:
        for length in range(len(path), -1, -1):
            found = self.lines.get(path[:length])
            if found is None:
                continue
            exact = length == len(path)
            if not exact and self.fallback is not None:
                beyond = self._fallback(path)
                if beyond.exact:
                    return beyond
            file = self.files.get(path[:length], self.file)
            return Location(file, found[0], 1, found[1], 0, exact)
        if self.fallback is not None:
            return self._fallback(path)
        return Location(self.file, 1, 1, 1, 0, not path)

    def _fallback(self, path: Path) -> Location:
        assert self.fallback is not None
        return self.fallback.locate(self.rewrite(path) if self.rewrite else path)
