"""Where a bug becomes a finding rather than a traceback, the test suite wants the traceback.

A scan turns an exception of an adapter into a GK-PARSE-ERROR at the file (a user gets a
finding, never exit 3 for one odd file), and a few lookups skip a file whose loading raised.
A test of a chart that became one such finding by accident would still pass (b0bc417's
'DefinedSource' object has no attribute '_shallow' was found on a real repository, not by the
suite). With GATEKEEPER_STRICT=1 (tests/conftest.py sets it) those places raise again.
"""

from __future__ import annotations

import os


def strict() -> bool:
    """Whether an exception caught as a stand-in for a bug must be raised again."""
    return os.environ.get("GATEKEEPER_STRICT") == "1"
