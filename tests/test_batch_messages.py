"""A failing subject's messageExpression is made in the document's one CEL evaluation, and
says what the policy evaluated alone says: the same text, the same error, the same fallback."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.document import Document
from gatekeeper.evaluate import Engine
from gatekeeper.finding import Finding
from gatekeeper.policy.cel import Batch, activation, judged_with_message
from gatekeeper.policy.loader import load_policy_file
from gatekeeper.sources import LoadContext, kubernetes

STOPS_EARLY = '["a", "b"].all(c, c == "x")'  # false at "a": "b" is left in its slot


def test_a_message_after_a_rule_that_stopped_early_binds_its_own_values() -> None:
    text = judged_with_message(STOPS_EARLY, 'cel.bind(t, "q" + string(item), t)')
    wrapper = f"[1, 2].map(s, cel.bind(item, s, {text}))"
    assert Batch([(None, wrapper)]).evaluate_in(activation({})) == [
        [[True, "q1", True], [True, "q2", True]]
    ]


def test_a_rule_after_a_message_that_stopped_early_binds_its_own_values() -> None:
    rule = 'cel.bind(t, item, t == 2) || ["a", "b"].all(c, c == "x")'
    text = judged_with_message(rule, f'{STOPS_EARLY} ? "never" : "m" + string(item)')
    wrapper = f"[1, 2, 3].map(s, cel.bind(item, s, {text}))"
    assert Batch([(None, wrapper)]).evaluate_in(activation({})) == [
        [[True, "m1", True], True, [True, "m3", True]]
    ]


def policy(tmp_path: Path, rule: str, message: str) -> Engine:
    file = tmp_path / "p.yaml"
    file.write_text(
        textwrap.dedent(
            f"""\
            id: T-PORTS
            title: Ports are named
            severity: high
            description: d
            remediation: r
            match: {{source: kubernetes, kinds: [Pod]}}
            each: spec.containers[*]
            rule: {rule!r}
            messageExpression: {message!r}
            """
        )
    )
    return Engine([load_policy_file(file)])


POD = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
      - {name: app, image: a, ports: [{containerPort: 80}, {name: ok, containerPort: 81}]}
      - {name: side, image: b, ports: [{name: fine, containerPort: 82}]}
      - {name: bare, image: c}
"""


def findings(engine: Engine, batched: bool) -> list[dict[str, Any]]:
    [document] = kubernetes.load("d.yaml", POD.encode(), LoadContext()).documents
    if batched:
        return [finding.to_dict() for finding in engine.evaluate(document)]
    original = engine._batched
    try:
        engine._batched = lambda group, scope: {}  # type: ignore[method-assign]
        return [finding.to_dict() for finding in engine.evaluate(document)]
    finally:
        engine._batched = original  # type: ignore[method-assign]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        # reads item, path and object; binds after the rule's `all` stopped early
        (
            "cel.bind(n, item.name, object.kind + ' ' + path + ' ' + n)",
            "Pod spec.containers[0] app",
        ),
        # a dyn that is no string: said as str() says it
        ("dyn(size(item.ports))", "2"),
        # errs on the failing subject: the plain path's message
        (
            "item.ports[0].name + 'x'",
            'Ports are named (messageExpression failed: Key not found in map : "name")',
        ),
    ],
)
def test_a_batched_message_is_the_one_the_policy_alone_gives(
    tmp_path: Path, message: str, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = policy(tmp_path, "!has(item.ports) || item.ports.all(p, has(p.name))", message)
    evaluated: list[Any] = []
    original = Batch.evaluate_in

    def counted(self: Batch, variables: Any) -> list[Any]:
        evaluated.append(self)
        return original(self, variables)

    monkeypatch.setattr(Batch, "evaluate_in", counted)
    batched = findings(engine, batched=True)
    assert evaluated  # judged in the batch (where it erred: then one policy at a time)
    assert batched == findings(engine, batched=False)
    [finding] = batched
    assert finding["message"] == expected  # the pod view: its `object` is a Pod
    assert finding["path"] == "spec.template.spec.containers[0]"


def test_a_rule_that_gives_no_bool_is_reported_as_alone(tmp_path: Path) -> None:
    engine = policy(tmp_path, "has(item.ports) ? item.name : true", "'m'")
    batched = findings(engine, batched=True)
    assert batched == findings(engine, batched=False)
    assert [f["message"] for f in batched] == [
        "policy could not be evaluated (rule): rule returned 'app', not a bool",
        "policy could not be evaluated (rule): rule returned 'side', not a bool",
    ]


def test_only_failing_subjects_are_made_findings(tmp_path: Path) -> None:
    engine = policy(tmp_path, "has(item.ports)", "'no ports on ' + item.name")
    result: list[Finding] = []
    [document] = kubernetes.load("d.yaml", POD.encode(), LoadContext()).documents
    assert isinstance(document, Document)
    result = engine.evaluate(document)
    assert [(f.message, f.line) for f in result] == [("no ports on bare", 10)]
