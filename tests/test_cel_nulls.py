"""cel-expr-python (0.1.3) drops a reference to None for each null it converts back to
Python: a rule (or an admission policy's variable) mapping many items to null deallocated
None and aborted the interpreter (SIGABRT: not a finding, not even exit 3)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO

SCRIPT = """
import sys
from gatekeeper.policy.cel import Program
program = Program("object.spec.containers.map(c, null)")
for _ in range(50):
    result = program.evaluate({"object": {"spec": {"containers": [{}] * 1000}}})
    assert result == [None] * 1000
    del result
print("alive")
"""


def test_many_nulls_in_results_do_not_abort_the_interpreter() -> None:
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, cwd=REPO, timeout=300
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "alive"
