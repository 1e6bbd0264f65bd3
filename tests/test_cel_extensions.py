"""The math and encoders CEL extensions are loaded only for expressions that name them."""

from __future__ import annotations

import subprocess
import sys

from gatekeeper.policy import cel


def test_math_and_base64_work_where_an_expression_names_them() -> None:
    program = cel.Program("math.greatest(object.a, 3) + size(base64.decode('aGk='))")
    assert program.evaluate({"object": {"a": 5}}) == 7
    # On the batch environment's Activation too, which is made without them.
    assert program.evaluate_in("RULE", cel.activation({"object": {"a": 1}})) == 5
    assert cel.Program("object.mathematics + 1").evaluate({"object": {"mathematics": 1}}) == 2


def test_a_scan_with_the_built_in_policies_loads_neither() -> None:
    """Each is a shared library of about 7 MB (5.8 MB of a scan's resident size for the
    two), which no built-in policy uses."""
    code = (
        "import sys\n"
        "from gatekeeper.bundle import build_engine\n"
        "from gatekeeper.config import Config\n"
        "from gatekeeper.scanner import scan\n"
        "from tests.conftest import PRIVILEGED_POD\n"
        "result = scan([('pod.yaml', PRIVILEGED_POD.encode())], build_engine(Config()), 1)\n"
        "assert result.findings\n"
        "print(sorted(m for m in sys.modules if m.startswith('cel_expr_python.ext.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = out.stdout.strip()
    assert "ext_strings" in loaded and "ext_math" not in loaded and "ext_encoders" not in loaded
