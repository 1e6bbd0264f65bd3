"""A document's policies judged in one CEL evaluation (cel.Batch) give what each gives alone.

cel-cpp leaves the slots of an `all`/`exists` that stops early filled, and a later `cel.bind`
at the same nesting reads them: parts of one evaluation must not see each other's leftovers.
"""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from gatekeeper import evaluate
from gatekeeper.bundle import build_engine
from gatekeeper.config import Config
from gatekeeper.document import Document
from gatekeeper.evaluate import Engine
from gatekeeper.finding import Finding
from gatekeeper.policy import cel
from gatekeeper.policy.cel import Batch, activation
from gatekeeper.sources import LoadContext, kubernetes

STOPS_EARLY = '["a", "b"].all(c, c == "x")'  # false at "a": "b" is left in its slot


def values(parts: list[tuple[str | None, str]]) -> list[Any]:
    return Batch(parts).evaluate_in(activation({"object": {}}))


def test_a_bind_after_a_comprehension_that_stopped_early_reads_its_own_value() -> None:
    assert values([(None, STOPS_EARLY), (None, 'cel.bind(t, "q", t)')]) == [False, "q"]
    nested = '[1].map(y, cel.bind(t, "q", t))'
    assert values([(None, f"[1].map(y, {STOPS_EARLY})"), (None, nested)]) == [[False], ["q"]]
    # both may stop early: one after the other all the same
    both = 'cel.bind(t, "q", [t, "z"].exists(c, c == "q"))'
    assert values([(None, STOPS_EARLY), (None, both)]) == [False, True]
    # in the order given, whichever part stops early
    assert values([(None, 'cel.bind(t, "q", t)'), (None, STOPS_EARLY), (None, "1")]) == [
        "q",
        False,
        1,
    ]


def test_a_condition_that_stopped_early_leaves_nothing_to_its_expression() -> None:
    stops = '["a", "b"].exists(c, c == "a")'
    assert values([(stops, 'cel.bind(t, "q", t)')]) == ["q"]
    assert values([('["a", "b"].exists(c, c == "z")', "1")]) == [0]  # not met: 0
    assert values([('object.?x.orValue("yes")', "1")]) == [0]  # not `true`: not met


def test_an_error_in_any_part_is_the_batchs() -> None:
    with pytest.raises(cel.CelError):
        values([(None, "1"), (None, "object.missing.field")])


def documents(text: str) -> list[Document]:
    return kubernetes.load("pod.yaml", textwrap.dedent(text).encode(), LoadContext()).documents


def one_by_one(engine: Engine, document: Document) -> list[Finding]:
    """What the engine gives with every policy evaluated on its own."""
    batched = engine._batched
    try:
        engine._batched = lambda group, scope: {}  # type: ignore[method-assign]
        return engine.evaluate(document)
    finally:
        engine._batched = batched  # type: ignore[method-assign]


POD = """\
    apiVersion: v1
    kind: Pod
    metadata: {name: caps}
    spec:
      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
      containers:
      - name: app
        image: registry.k8s.io/pause
        securityContext:
          allowPrivilegeEscalation: false
          capabilities: {add: [AUDIT_WRITE, CHOWN], drop: [ALL]}
    """


def test_the_library_batched_finds_what_each_policy_finds_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """K8S-PSS-CAPABILITIES-ADD's `all` stops at AUDIT_WRITE; K8S-PSS-SELINUX binds `type`
    at the same nesting: unemptied, it read CHOWN and reported SELinux options never set."""
    engine = build_engine(Config())
    evaluated: list[int] = []
    original = Batch.evaluate_in

    def counted(self: Batch, variables: Any) -> list[Any]:
        found = original(self, variables)
        evaluated.append(len(found))
        return found

    monkeypatch.setattr(Batch, "evaluate_in", counted)
    for document in documents(POD):
        batched = engine.evaluate(document)
        assert [f.to_dict() for f in batched] == [f.to_dict() for f in one_by_one(engine, document)]
        ids = {finding.policy_id for finding in batched}
        assert "K8S-PSS-CAPABILITIES-ADD" in ids
        assert "K8S-PSS-SELINUX" not in ids
    assert evaluated and max(evaluated) > 10  # the library's pod policies, in one evaluation


def test_a_view_with_too_many_subjects_is_judged_one_policy_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = build_engine(Config())
    monkeypatch.setattr(evaluate, "MAX_BATCH_SUBJECTS", 1)
    two = POD.replace(
        "      containers:\n", "      containers:\n      - {name: sidecar, image: busybox}\n"
    )
    [document] = documents(two)
    calls: list[object] = []
    monkeypatch.setattr(Batch, "evaluate_in", lambda self, variables: calls.append(1) or [])
    findings = engine.evaluate(document)
    assert not calls
    assert {"K8S-PSS-CAPABILITIES-ADD", "K8S-IMAGE-DIGEST"} <= {f.policy_id for f in findings}
