"""Renderer programs on PATH (kubectl, kustomize, helm), and how they are run.

A program is looked up in the absolute PATH entries only: a relative entry (`.`, `bin`) is
resolved against the working directory, which during a scan is the scanned repository, so a PR
author could plant a `helm` there and have it run with the workflow's token in reach. Every
child gets an environment of its own (no token, no kubeconfig, a throwaway home) and a cap on
its address space, as the in-process renderers do.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable

# Memory-backed scratch space (Linux). A chart copied for Helm is hundreds of small files; on a
# disk file system creating and removing them cost more CPU (journal, system time) than
# rendering the chart, on tmpfs a twentieth of that.
_MEMORY_BACKED = "/dev/shm"
# Free space it must have to be used: far above any chart (a container's default /dev/shm is
# 64 MiB, too small to count on).
_SCRATCH_FREE_BYTES = 512 * 2**20


def on_path(program: str) -> str | None:
    """The absolute path of `program` in an absolute PATH entry, or None."""
    path = os.pathsep.join(
        entry for entry in os.environ.get("PATH", "").split(os.pathsep) if os.path.isabs(entry)
    )
    return shutil.which(program, path=path)


def environment(home: str, memory_mib: int) -> dict[str, str]:
    """What a Go renderer sees: PATH, a throwaway HOME, no cluster, and a memory target."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": home,
        "KUBECONFIG": os.devnull,
        # Under an address-space cap, reservations count, not use: Go's collector keeps under
        # a soft limit, and glibc must not reserve 64 MiB arenas per Go thread.
        "GOMEMLIMIT": f"{memory_mib // 2}MiB",
        "MALLOC_ARENA_MAX": "2",
    }


def address_space(memory_mib: int) -> Callable[[], None] | None:
    """Cap the child's address space (run between fork and exec). None on Windows, which has
    neither fork nor RLIMIT_AS: there GOMEMLIMIT (environment) is the only bound."""
    if os.name != "posix":
        return None

    def limit() -> None:
        import resource

        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        wanted = memory_mib * 1024 * 1024
        if hard != resource.RLIM_INFINITY:
            wanted = min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))

    return limit


def scratch_parent() -> str | None:
    """Where to put a renderer's input (tempfile's `dir`): memory-backed space when the machine
    has enough of it and TMPDIR does not say otherwise; None (the default) elsewhere."""
    if "TMPDIR" in os.environ or not os.access(_MEMORY_BACKED, os.W_OK | os.X_OK):
        return None
    try:
        free = os.statvfs(_MEMORY_BACKED)
    except OSError:
        return None
    return _MEMORY_BACKED if free.f_bavail * free.f_frsize >= _SCRATCH_FREE_BYTES else None
