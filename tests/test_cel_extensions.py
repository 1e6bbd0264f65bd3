"""The math and encoders CEL extensions are loaded only for expressions that name them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from gatekeeper.policy import cel
from tests.conftest import PRIVILEGED_POD


def test_math_and_base64_work_where_an_expression_names_them() -> None:
    program = cel.Program("math.greatest(object.a, 3) + size(base64.decode('aGk='))")
    assert program.evaluate({"object": {"a": 5}}) == 7
    # On the batch environment's Activation too, which is made without them.
    assert program.evaluate_in("RULE", cel.activation({"object": {"a": 1}})) == 5
    assert cel.Program("object.mathematics + 1").evaluate({"object": {"mathematics": 1}}) == 2


def _loaded_by_scan(manifest: str, cache: str) -> str:
    code = (
        "import sys\n"
        "from gatekeeper.bundle import build_engine\n"
        "from gatekeeper.config import Config\n"
        "from gatekeeper.scanner import scan\n"
        f"result = scan([('m.yaml', {manifest!r}.encode())], build_engine(Config()), 1)\n"
        "assert result.findings\n"
        "print(sorted(m for m in sys.modules if m.startswith('cel_expr_python.ext.')))\n"
    )
    env = {**os.environ, "GATEKEEPER_CACHE_DIR": cache}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    return out.stdout.strip()


def test_a_scan_with_the_built_in_policies_loads_math_never_and_encoders_for_config_maps(
    tmp_path: Path,
) -> None:
    """Each is a shared library of about 7 MB (2.7 MB of a process's PSS each). No built-in
    policy names `math.`; K8S-CONFIGMAP-BINARY-CREDENTIALS decodes binaryData (`base64.`):
    its program (compiled when the policy cache is cold, else on first use) loads them."""
    cache = str(tmp_path / "cache")
    cold = _loaded_by_scan(PRIVILEGED_POD, cache)
    assert "ext_strings" in cold and "ext_math" not in cold
    warm = _loaded_by_scan(PRIVILEGED_POD, cache)
    assert "ext_strings" in warm and "ext_math" not in warm and "ext_encoders" not in warm
    key = "QUtJQUlPU0ZPRE5ON0VYQU1QTEU="  # base64 of an AWS access key id
    config_map = f"kind: ConfigMap\napiVersion: v1\nmetadata: {{name: c}}\nbinaryData: {{a: {key}}}"
    judged = _loaded_by_scan(config_map, cache)
    assert "ext_encoders" in judged and "ext_math" not in judged
