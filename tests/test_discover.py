"""Glob matching of paths (include/exclude, advisory paths, overrides, waiver globs)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable

from gatekeeper.discover import glob_source as _glob
from gatekeeper.discover import matches


def _one(path: str, pattern: str) -> bool:
    return re.match(_glob(pattern), path, re.DOTALL) is not None


def one_at_a_time(path: str, patterns: Iterable[str]) -> bool:
    """What `matches` says, one pattern and one form at a time."""
    for pattern in patterns:
        if _one(path, pattern) or _one(path, pattern.rstrip("/") + "/**"):
            return True
        if pattern.startswith("**/") and _one(path, pattern[3:]):
            return True
        if "/" not in pattern and _one(path.rsplit("/", 1)[-1], pattern):
            return True
    return False


PATTERNS = [
    "",
    "*",
    "docs/",
    "docs",
    "**/test/**",
    "**/fixtures",
    "*.yaml",
    "tests/*.y?ml",
    "charts/[a-c]*/values.yaml",
    "[!a]*.json",
    "a*b*c",
    "deploy/prod/",
    "**/*.md",
    "x[",
    "weird(.+)|name",
    "ünïcode/*",
]
PATHS = [
    "docs/pod.yaml",
    "docs",
    "deploy/prod/app.yaml",
    "deploy/production/app.yaml",
    "a/test/b/c.yaml",
    "test/x.yaml",
    "fixtures",
    "src/fixtures",
    "src/fixtures/pod.yaml",
    "tests/a.yml",
    "tests/sub/a.yml",
    "charts/app/values.yaml",
    "charts/zeta/values.yaml",
    "b.json",
    "dir/a.json",
    "axbyc",
    "ax/by/c",
    "README.md",
    "x[",
    "weird(.+)|name",
    "ünïcode/f",
    "",
    "line\nbreak.yaml",
]


def test_matches_is_fnmatch_one_pattern_at_a_time() -> None:
    """Every pattern set of up to two patterns, every path: the compiled form agrees."""
    for size in (0, 1, 2):
        for patterns in itertools.combinations(PATTERNS, size):
            for path in PATHS:
                assert matches(path, patterns) == one_at_a_time(path, patterns), (path, patterns)
    assert matches("docs/pod.yaml", iter(["docs/"]))  # any iterable, consumed once
