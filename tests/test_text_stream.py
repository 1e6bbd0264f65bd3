"""The text report is written file by file (a large report is never held whole), and its
pieces together are the report, workflow commands escaped in every piece."""

from __future__ import annotations

from gatekeeper.decide import Verdict
from gatekeeper.finding import Finding
from gatekeeper.report import Report, text_format


def _finding(file: str, line: int, message: str = "m", status: str = "new") -> Finding:
    return Finding(
        policy_id="P-1",
        severity="high",
        title="t",
        message=message,
        file=file,
        line=line,
        fingerprint=f"{file}{line}",
        status=status,
    )


def test_one_piece_per_file_then_the_verdict() -> None:
    findings = [_finding(f"f{index % 5}.yaml", index) for index in range(50)]
    report = Report(Verdict(findings, "high"), files_scanned=5, documents=5)
    pieces = list(text_format.stream(report))
    assert len(pieces) == 6
    assert all(piece.endswith("\n") for piece in pieces)
    assert pieces[1].startswith("\nf1.yaml:")
    assert pieces[-1].startswith("\nPASS: 50 findings (50 high)")  # none marked blocking
    assert "".join(pieces) == text_format.render(report)


def test_every_piece_is_escaped_where_it_starts_a_line() -> None:
    """A message may start a line with `::` (a name on its own line after an escape) in any
    file's piece: each piece alone must be safe, as the runner reads them one by one."""
    findings = [
        _finding("a.yaml", 1, "first"),
        _finding("::add-mask::b.yaml", 2, "x ##[error]y"),
        _finding("c.yaml", 3, "fixed one", status="fixed"),
    ]
    report = Report(Verdict(findings, "high"), notices=("::stop-commands::z",))
    pieces = list(text_format.stream(report))
    for piece in pieces:
        for line in piece.split("\n"):
            assert not line.lstrip().startswith("::")
        assert "##[" not in piece
    text = "".join(pieces)
    assert "\\x3a:add-mask::b.yaml:2:1" in text
    assert "note: ::stop-commands::z" in text  # mid-line: not a command
    assert "fixed by this change (1):\n  P-1: fixed one (c.yaml)\n" in text


def test_nothing_found_is_the_verdict_alone() -> None:
    report = Report(Verdict([], "high"), files_scanned=1, documents=1)
    assert list(text_format.stream(report)) == [
        "PASS: 0 findings, 0 blocking (threshold: high) in 1 file, 1 document\n"
    ]
