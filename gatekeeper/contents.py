"""A repository's files as (path, content) pairs that are read when used, not held.

A scan passes over the files a few times (scan, inline skips, a Pod Security rejudge), and
holding every file's bytes between the passes made memory grow with the repository (145 MB
of a 27,000-file tree in the parent, before any finding). `Contents` keeps the names and
reads a file again when a pass, or the pool worker the file is handed to, needs it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import overload

# The files a waiver pass must read: those holding an inline skip (gatekeeper.waivers).
SKIP_MARKER = b"gatekeeper:skip"
# The files that may hold a Flux deployer: a scan builds the indexes those look up once,
# before its pool forks (gatekeeper.sources.flux.prepare), not once per worker.
FLUX_MARKER = b"toolkit.fluxcd.io"
# The files that may hold an ApplicationSet rendered by Go's engine: a scan renders their
# templates once, before its pool forks (gatekeeper.sources.applicationsets_go.prepare).
GO_TEMPLATE_MARKER = b"goTemplate"
# Words a scan asks `git grep` for across the whole tree (admission._none_on_disk, Flux's
# Kustomizations): when the scan read every file of the tree, spelling.git_grep answers from
# what `Contents.of` noted instead (two greps of every file: 0.24 CPU-s of the real k8s-full
# corpus's 8.5).
SEARCHED = (b"ValidatingAdmissionPolicy", b"ValidatingPolicy", b"kustomize.toolkit.fluxcd.io/")
# What `Contents.of` notes while it has the bytes in hand.
MARKERS = (SKIP_MARKER, FLUX_MARKER, GO_TEMPLATE_MARKER, *SEARCHED)
# git's test for a binary file (`git grep -I` leaves them out): a NUL in its first 8000 bytes.
BINARY_PREFIX = 8000


class Contents(Sequence[tuple[str, bytes]]):
    """Named files read on demand through `read` (a Tree's), in order.

    Built from pairs read once already (`of`), so which files are readable is known and the
    problems of those that are not were reported then. A file that can no longer be read
    later (removed during the scan) reads as empty."""

    def __init__(
        self,
        names: list[str],
        read: Callable[[str], bytes],
        holding: dict[bytes, frozenset[str]] | None = None,
        blobs: dict[str, int] | None = None,
        binary: frozenset[str] = frozenset(),
    ) -> None:
        self.names = names
        self._read = read
        self.holding = holding or {}  # marker (MARKERS) -> names whose content holds it
        self.blobs = blobs or {}  # name -> its content's hash when read (see blob_keys)
        self.binary = binary  # names git would not search (BINARY_PREFIX)

    @property
    def marked(self) -> frozenset[str]:
        """The names whose content holds an inline skip (SKIP_MARKER)."""
        return self.holding.get(SKIP_MARKER, frozenset())

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, bytes]], read: Callable[[str], bytes]) -> Contents:
        """Keep the names of `pairs` (and which hold each of MARKERS), drop their bytes."""
        names: list[str] = []
        holding: dict[bytes, set[str]] = {marker: set() for marker in MARKERS}
        blobs: dict[str, int] = {}
        binary: set[str] = set()
        for name, data in pairs:
            names.append(name)
            blobs[name] = hash(data)
            for marker, found in holding.items():
                if marker in data:
                    found.add(name)
            if b"\0" in data[:BINARY_PREFIX]:
                binary.add(name)
        held = {marker: frozenset(found) for marker, found in holding.items()}
        return cls(names, read, held, blobs, frozenset(binary))

    def subset(self, wanted: Iterable[str]) -> Contents:
        """The files named in `wanted`, in this order."""
        keep = set(wanted)
        holding = {marker: found & keep for marker, found in self.holding.items()}
        names = [n for n in self.names if n in keep]
        blobs = {n: self.blobs[n] for n in names if n in self.blobs}
        return Contents(names, self._read, holding, blobs, self.binary & keep)

    @property
    def read(self) -> Callable[[str], bytes]:
        return self._read

    def _pair(self, name: str) -> tuple[str, bytes]:
        try:
            return name, self._read(name)
        except OSError:
            return name, b""

    def __len__(self) -> int:
        return len(self.names)

    @overload
    def __getitem__(self, index: int) -> tuple[str, bytes]: ...

    @overload
    def __getitem__(self, index: slice) -> list[tuple[str, bytes]]: ...

    def __getitem__(self, index: int | slice) -> tuple[str, bytes] | list[tuple[str, bytes]]:
        if isinstance(index, slice):
            return [self._pair(name) for name in self.names[index]]
        return self._pair(self.names[index])

    def __iter__(self) -> Iterator[tuple[str, bytes]]:
        return (self._pair(name) for name in self.names)


def names_of(pairs: Sequence[tuple[str, bytes]]) -> list[str]:
    """The paths of pairs, without reading a Contents."""
    return list(pairs.names) if isinstance(pairs, Contents) else [path for path, _ in pairs]


def blob_keys(pairs: Sequence[tuple[str, bytes]]) -> list[int | str]:
    """A key per pair, equal for pairs whose contents were equal when read (their hash; a
    file a Contents did not read has its name): to put equal files in one worker's chunk
    (scanner._scan_pooled), where the second is read and judged from the first's caches.
    Only an order: a collision costs a cache miss, never a result."""
    if isinstance(pairs, Contents):
        return [pairs.blobs.get(name, name) for name in pairs.names]
    return [hash(data) for _, data in pairs]


def each_holding(pairs: Sequence[tuple[str, bytes]], marker: bytes) -> Iterable[tuple[str, bytes]]:
    """The pairs whose content holds `marker` (one of MARKERS), a Contents' read one at a
    time as they are used (`holding` reads them all first)."""
    if isinstance(pairs, Contents):
        return pairs.subset(pairs.holding.get(marker, frozenset()))
    return [(path, data) for path, data in pairs if marker in data]


def subset(
    pairs: Sequence[tuple[str, bytes]], wanted: Iterable[str]
) -> Sequence[tuple[str, bytes]]:
    """The pairs whose path is in `wanted`, without reading the others of a Contents."""
    if isinstance(pairs, Contents):
        return pairs.subset(wanted)
    keep = set(wanted)
    return [(path, data) for path, data in pairs if path in keep]


def added(
    pairs: Contents | list[tuple[str, bytes]], names: Iterable[str], read: Callable[[str], bytes]
) -> Contents | list[tuple[str, bytes]]:
    """`pairs` and the files `names` read through `read` (a name that cannot be read is left
    out); a Contents stays one, the files read once for their skip markers."""
    more: list[tuple[str, bytes]] = []
    for name in names:
        try:
            more.append((name, read(name)))
        except OSError:
            continue
    if not isinstance(pairs, Contents):
        return [*pairs, *more]
    extra = Contents.of(more, pairs.read)
    holding = {
        marker: pairs.holding.get(marker, frozenset()) | extra.holding.get(marker, frozenset())
        for marker in MARKERS
    }
    blobs = {**pairs.blobs, **extra.blobs}
    return Contents([*pairs.names, *extra.names], pairs.read, holding, blobs)


def holding(pairs: Sequence[tuple[str, bytes]], marker: bytes) -> list[tuple[str, bytes]]:
    """The pairs whose content holds `marker` (one of MARKERS), reading only those of a
    Contents."""
    if isinstance(pairs, Contents):
        return pairs.subset(pairs.holding.get(marker, frozenset()))[:]
    return [(path, data) for path, data in pairs if marker in data]
