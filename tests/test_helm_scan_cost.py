"""The cheaper readings of a chart's templates find what the plain ones did."""

from __future__ import annotations

import random
import re

from gatekeeper.sources import helm, helm_clock

# The constraint as first written: an alternation the regular expression engine tries at
# every position of every template.
_ALTERNATION = re.compile(rb"(?:>=|<=|!=|[<>=~^])\s*v?(\d+)\.(\d+)(?:\.(\d+))?")


def test_constraints_are_read_as_the_alternation_reads_them() -> None:
    cases = [b">=1.30.0", b"!1.2", b"!=1.2", b"~=1.2", b"==v1.29", b"<= 1.31", b"^1.2 >x", b"=>1.2"]
    for text in cases:
        assert helm._CONSTRAINT.findall(text) == _ALTERNATION.findall(text), text
    assert helm._CONSTRAINT.findall(b"!1.2") == []
    pieces = [b"<", b">", b"=", b"!", b"~", b"^", b" ", b"v", b"1", b"2", b".", b"x", b"\n", b"30"]
    chosen = random.Random(17)
    for _ in range(20_000):
        text = b"".join(chosen.choice(pieces) for _ in range(chosen.randint(1, 12)))
        assert helm._CONSTRAINT.findall(text) == _ALTERNATION.findall(text), text


def test_a_clock_decision_among_many_other_actions_is_found() -> None:
    quiet = "".join(f"  a{n}: {{{{ .Values.a{n} | quote }}}}\n" for n in range(200))
    template = (
        "kind: Pod\n"
        f"{quiet}"
        '  note: {{ now | date "2006" }}\n'  # formats only: no finding
        '  {{- if gt (now | date "2006" | atoi) 2026 }}\n'
        "  privileged: true\n"
        "  {{- end }}\n"
    )
    found = helm_clock.problems([("templates/pod.yaml", template.encode())], "chart")
    assert [(p.file, p.line) for p in found] == [("chart/templates/pod.yaml", 203)]
