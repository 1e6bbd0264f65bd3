"""A document equal to one judged before gets that judgement (Engine._judge), located in its
own file: the findings are those it gets judged alone, in every case the policies know."""

from __future__ import annotations

import dataclasses
import gc
import textwrap
import weakref
from pathlib import Path

import pytest

from gatekeeper import evaluate, yamlevents
from gatekeeper.document import Document
from gatekeeper.evaluate import Engine
from gatekeeper.finding import Finding
from gatekeeper.policy.loader import builtin_dir, load_bundle, load_policy_file
from gatekeeper.sources import LoadContext, kubernetes

POLICIES = load_bundle([builtin_dir()])


def library_inputs() -> list[str]:
    """Every Kubernetes test input of the built-in library: passing and failing objects,
    nulls, ill-typed fields, custom workloads, operators' overlays."""
    inputs = []
    for policy in POLICIES:
        if policy.match.source != "kubernetes":
            continue
        for case in policy.raw.get("tests") or ():
            text = case.get("input") if isinstance(case, dict) else None
            if isinstance(text, str):
                inputs.append(text)
    return inputs


def loaded(name: str, text: str) -> list[Document]:
    return kubernetes.load(name, text.encode(), LoadContext()).documents


def judged_alone(engine: Engine, document: Document) -> list[Finding]:
    return dataclasses.replace(engine).evaluate(document)


def test_library_fixtures_copied_elsewhere_get_the_findings_they_get_alone() -> None:
    engine = Engine(POLICIES)
    documents = []
    for number, text in enumerate(library_inputs()):
        documents += loaded(f"a/{number}.yaml", text)
        # the same objects lower in another file: other lines, other file
        documents += loaded(f"b/{number}.yaml", "# copy\n\n" + text)
    assert len(documents) > 400
    with_memo = [engine.evaluate(document) for document in documents]
    assert len(engine._judgements) < len(documents) * 0.6  # the copies were not judged again
    evaluate_alone = Engine(POLICIES)
    original = evaluate._judgement_key
    try:
        evaluate._judgement_key = lambda document, written: None
        alone = [evaluate_alone.evaluate(document) for document in documents]
    finally:
        evaluate._judgement_key = original
    assert with_memo == alone
    copies = [f for found in with_memo for f in found if f.file.startswith("b/")]
    assert len(copies) > 500
    assert all(f.line > 2 for f in copies if f.line)


def policy_file(tmp_path: Path, text: str) -> Engine:
    file = tmp_path / "p.yaml"
    file.write_text(textwrap.dedent(text))
    return Engine([load_policy_file(file)])


POD = """\
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
    - {name: a, image: nginx}
"""


def test_the_namespace_a_document_is_put_in_is_part_of_what_is_judged(tmp_path: Path) -> None:
    engine = policy_file(
        tmp_path,
        """\
        id: T-PROD-ONLY
        title: prod pods name their image's registry
        severity: high
        description: d
        remediation: r
        match: {source: kubernetes, kinds: [Pod], namespaces: [prod]}
        each: spec.containers[*]
        rule: item.image.contains("/")
        message: "{{ item.name }}"
        """,
    )
    (document,) = loaded("p.yaml", POD)
    prod = engine.evaluate(dataclasses.replace(document, namespace="prod"))
    dev = engine.evaluate(dataclasses.replace(document, namespace="dev"))
    assert [f.policy_id for f in prod] == ["T-PROD-ONLY"]
    assert dev == []


def test_the_context_of_a_document_is_part_of_what_is_judged(tmp_path: Path) -> None:
    engine = policy_file(
        tmp_path,
        """\
        id: T-CONTEXT
        title: the context allows the image
        severity: high
        description: d
        remediation: r
        match: {source: kubernetes, kinds: [Pod]}
        each: spec.containers[*]
        rule: item.image in context.allowed
        messageExpression: '"not allowed: " + item.image'
        """,
    )
    (document,) = loaded("p.yaml", POD)
    allowed = dataclasses.replace(document, extra={"context": {"allowed": ["nginx"]}})
    refused = dataclasses.replace(document, extra={"context": {"allowed": ["redis"]}})
    assert engine.evaluate(allowed) == []
    assert [f.message for f in engine.evaluate(refused)] == ["not allowed: nginx"]
    assert engine.evaluate(allowed) == []


@pytest.mark.parametrize(
    "rule",
    [
        "item.ports[0].containerPort > 1024",  # errs on a container with no ports
        "item.image == params.image",
    ],
)
def test_errors_and_params_repeat_as_judged_alone(tmp_path: Path, rule: str) -> None:
    engine = policy_file(
        tmp_path,
        f"""\
        id: T-RULE
        title: images are what params say
        severity: critical
        description: d
        remediation: r
        params: {{image: redis}}
        match: {{source: kubernetes, kinds: [Pod]}}
        each: spec.containers[*]
        rule: {rule!r}
        message: "{{{{ item.name }}}} {{{{ params.image }}}}"
        """,
    )
    pod = POD + "    - {name: b, image: redis, ports: [{containerPort: 80}]}\n"
    first = engine.evaluate(loaded("a.yaml", pod)[0])
    again = loaded("b.yaml", "# moved\n" + pod)[0]
    found = engine.evaluate(again)
    assert found == judged_alone(engine, again)
    assert [(f.file, f.line) for f in found] == [("b.yaml", f.line + 1) for f in first]
    assert found and {f.severity for f in found} <= {"high", "critical"}


def test_a_kept_judgement_does_not_keep_the_table_of_the_document_it_placed() -> None:
    """The places a judgement keeps for copies of one text (spans_in) hold that text's table
    weakly: held, the 4,096 judgements kept were 10 MB of node offsets in a k8s scan, to its
    end. A copy read while the text is remembered (yamlevents._READ) still shares them."""
    engine = Engine(POLICIES)
    document = loaded("a.yaml", POD)[0]
    copy = loaded("b.yaml", POD)[0]
    parts = yamlevents.shared_parts(document.locator, document.obj)
    assert parts is not None and parts is yamlevents.shared_parts(copy.locator, copy.obj)
    found = engine.evaluate(document)
    assert found and len(engine._judgements) == 1
    assert [f.line for f in engine.evaluate(copy)] == [f.line for f in found]
    table = weakref.ref(parts)
    del document, copy, parts
    yamlevents._READ.clear()
    gc.collect()
    assert len(engine._judgements) == 1 and table() is None
