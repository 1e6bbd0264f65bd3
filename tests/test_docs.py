"""`gatekeeper docs`: pack READMEs carry a table generated from the policy files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.conftest import PRIVILEGED_POLICY, Run

Gatekeeper = Callable[..., Run]


def test_the_built_in_packs_tables_are_current(gatekeeper: Gatekeeper) -> None:
    """A policy added, removed or changed without `gatekeeper docs` fails here."""
    run = gatekeeper("docs", "--check")
    assert run.returncode == 0, run.stderr


def test_a_pack_table_is_written_between_markers_and_checked(
    gatekeeper: Gatekeeper, tmp_path: Path
) -> None:
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "privileged.yaml").write_text(
        PRIVILEGED_POLICY.replace("remediation: do not", "remediation: do not\nparams: {x: [1]}")
    )
    (pack / "README.md").write_text("# Our pack\n\nHand-written words stay.\n")
    assert gatekeeper("docs", str(pack), "--check").returncode == 1
    assert gatekeeper("docs", str(pack)).returncode == 0
    text = (pack / "README.md").read_text()
    assert text.startswith("# Our pack\n\nHand-written words stay.\n")
    assert "| `TEST-NO-PRIVILEGED` | high | No privileged containers | `x`: `[1]` | — |" in text
    assert gatekeeper("docs", str(pack), "--check").returncode == 0
    (pack / "privileged.yaml").write_text(PRIVILEGED_POLICY.replace("high", "critical"))
    stale = gatekeeper("docs", str(pack), "--check")
    assert stale.returncode == 1 and "stale" in stale.stderr
