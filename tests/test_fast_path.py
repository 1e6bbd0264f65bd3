"""The engine's fast paths give exactly what the plain, one-evaluation-per-subject path gives."""

from __future__ import annotations

import dataclasses
import textwrap
from collections import Counter
from pathlib import Path

import pytest
import yaml

from benchmarks import corpus
from gatekeeper import yamldoc
from gatekeeper.bundle import build_engine
from gatekeeper.config import Config
from gatekeeper.document import Document
from gatekeeper.evaluate import Engine
from gatekeeper.finding import Finding
from gatekeeper.inventory import entry
from gatekeeper.policy.cel import CelError, Program, literal
from gatekeeper.scanner import scan
from gatekeeper.sources import LoadContext, kubernetes


def plain(engine: Engine, document: Document) -> list[Finding]:
    """What Engine.evaluate gave before the fast paths: every policy, every subject, alone."""
    findings: list[Finding] = []
    for policy in engine._by_source.get(document.source, ()):
        findings.extend(engine._evaluate_policy(policy, document))
    return findings


def documents(text: str, name: str = "m.yaml") -> list[Document]:
    return kubernetes.load(name, textwrap.dedent(text).encode(), LoadContext()).documents


@pytest.fixture(scope="module")
def library() -> Engine:
    return build_engine(Config())


def test_corpus_generator_writes_valid_reproducible_yaml(tmp_path: Path) -> None:
    size = corpus.Size(files=6, docs=40, charts=1, modules=1)
    summary = corpus.generate(tmp_path / "a", size, seed=7)
    corpus.generate(tmp_path / "b", size, seed=7)
    files = sorted((tmp_path / "a" / "kubernetes").rglob("*.yaml"))
    assert len(files) == 6
    docs = [doc for f in files for doc in yaml.safe_load_all(f.read_text())]
    assert len(docs) == summary["kubernetes_documents"] == 40
    assert all(doc["apiVersion"] and doc["kind"] and doc["metadata"]["name"] for doc in docs)
    for f in files:
        twin = tmp_path / "b" / f.relative_to(tmp_path / "a")
        assert twin.read_bytes() == f.read_bytes()
        assert not kubernetes.load(str(f), f.read_bytes(), LoadContext()).problems
    assert (tmp_path / "a" / "charts" / "chart000" / "templates" / "deployment.yaml").exists()
    assert (tmp_path / "a" / "terraform" / "mod0000" / "main.tf").exists()


def test_fast_path_matches_plain_path_on_a_generated_corpus(
    tmp_path: Path, library: Engine
) -> None:
    corpus.generate(tmp_path, corpus.Size(files=30, docs=300, charts=0, modules=0), seed=3)
    checked = failing = 0
    for f in sorted((tmp_path / "kubernetes").rglob("*.yaml")):
        for document in kubernetes.load(str(f), f.read_bytes(), LoadContext()).documents:
            fast = library.evaluate(document)
            assert fast == plain(library, document), document.display_name
            checked += 1
            failing += bool(fast)
    assert checked == 300 and failing > 50


def test_subject_that_errs_gives_the_plain_error_finding(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(
        textwrap.dedent(
            """\
            id: T-PORT
            title: first port above 1024
            severity: low
            description: d
            remediation: r
            match: {source: kubernetes, kinds: [Pod]}
            each: ['spec.containers[*]']
            rule: item.ports[0].containerPort > 1024
            message: "{{ item.name }}"
            """
        )
    )
    engine = build_engine(Config(), [str(tmp_path)], builtin=False)
    (document,) = documents(
        """\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          template:
            spec:
              containers:
                - {name: a, ports: [{containerPort: 8080}]}
                - {name: b}
                - {name: c, ports: [{containerPort: 80}]}
        """
    )
    findings = engine.evaluate(document)
    assert findings == plain(engine, document)
    assert [(f.message.startswith("policy could not be evaluated"), f.line) for f in findings] == [
        (True, 9),
        (False, 10),
    ]


def test_repository_rule_over_a_large_inventory_is_per_namespace_and_exact(
    library: Engine,
) -> None:
    """Past cel-cpp's 10,000-iteration budget the NetworkPolicy rule is still exact: it sees
    per-namespace kind counts, never the whole inventory."""
    workloads = "".join(
        f"---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}, namespace: ns{i % 3}}}\n"
        "spec: {containers: [{name: c, image: x}]}\n"
        for i in range(30)
    )
    policy = "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
    policy += "metadata: {name: d, namespace: ns0}\nspec: {podSelector: {}}\n"
    filler = "".join(
        f"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}, namespace: ns9}}\n"
        for i in range(10_500)
    )
    files = [("a.yaml", policy.encode()), ("w.yaml", workloads.encode())]
    result = scan([*files, ("z.yaml", filler.encode())], library, 1)
    network = [f for f in result.findings if f.policy_id == "K8S-NETWORK-POLICY-PRESENT"]
    # One finding per uncovered namespace, naming every workload there.
    assert sorted(f.namespace for f in network) == ["ns1", "ns2"]
    named = {name for f in network for name in f.extra["objects"]}
    assert named == {f"Pod/p{i}" for i in range(30) if i % 3}
    assert not [f for f in network if "could not be evaluated" in f.message]


def test_iteration_budget_is_an_evaluation_error_not_a_crash() -> None:
    with pytest.raises(CelError, match="budget"):
        Program("object.all(x, x >= 0)").evaluate({"object": list(range(20_000))})


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        0,
        -5,
        2.5,
        1e20,
        "",
        'quote " backslash \\ newline \n tab \t é 中',
        "(?i)(PASSW(OR)?D|TOKEN)$",
        [1, "a", [None, False]],
        {"a": {"b": [1.5]}, "c": []},
        {1: "int key", False: "bool key"},
    ],
)
def test_literal_is_what_conversion_gives(value: object) -> None:
    text = literal(value)
    assert text is not None
    assert Program(text).evaluate({}) == Program("params").evaluate({"params": value})


def test_literal_refuses_what_it_cannot_spell() -> None:
    assert literal(float("nan")) is None
    assert literal(2**70) is None
    assert literal({"a": object()}) is None


def test_fields_read_is_conservative() -> None:
    assert Program("item.?a.orValue(1) > 0 && has(item.b)").fields_read("item") == {"a", "b"}
    assert Program("item['a'] == 1").fields_read("item") is None
    assert Program("[item].size() == 1").fields_read("item") is None
    assert Program("object.x.exists(item, item.y)").fields_read("item") is None
    assert Program("object.items.a == 1").fields_read("item") == frozenset()


def test_memoised_yaml_tags_resolve_as_pyyaml_does() -> None:
    text = textwrap.dedent(
        """\
        a: [true, True, yes, no, "true", 1, 0x1f, 1.5, .inf, null, ~, '1', 2020-01-01, 1_000]
        b: {on: off, "1": 1}
        """
    )
    for _ in range(2):  # the second pass hits the memo
        (document,) = yamldoc.load_all("f.yaml", text)
        assert isinstance(document, yamldoc.YamlDocument)
        expected = yaml.load(text, Loader=yaml.SafeLoader)
        expected["a"][12] = "2020-01-01"  # timestamps stay strings, as in Kubernetes
        assert document.obj == expected


def test_finding_with_and_to_dict_match_the_named_tuples() -> None:
    finding = Finding("P", "high", "t", "m", "f", 3, extra={"exact": True}, fix={"set": {"a": 1}})
    changed = finding.with_(line=7, blocking=True)
    assert changed == finding._replace(line=7, blocking=True)
    assert finding.line == 3 and changed.line == 7
    with pytest.raises(TypeError):
        finding.with_(nope=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        changed.line = 1  # type: ignore[misc]
    assert finding.to_dict() == finding._asdict()
    assert finding.to_dict()["fix"] is not finding.fix


def test_inventory_entry_still_located(library: Engine) -> None:
    (document,) = documents("apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: n}\n")
    assert entry(document).line == 3


def test_repository_verdicts_once_per_input_are_those_of_every_row(tmp_path: Path) -> None:
    """Repository-scope rules are evaluated once per (namespace, fields the rule reads): the
    findings are those of one evaluation per row, errors included, for rules that read item
    fields, that read none, and that read the whole item."""
    from gatekeeper import evaluate

    rules = {
        "R-NS": "inventory.namespace.exists(k, k == 'NetworkPolicy')",
        "R-NAME": "item.name.startsWith('ok') || 'NetworkPolicy' in inventory.namespace",
        "R-WHOLE": "size(item) > 100",
        # no label `zone`: an evaluation error where the tier is web
        "R-ERR": "item.labels['tier'] == 'web' && item.labels['zone'] == 'a'",
    }
    for policy_id, rule in rules.items():
        (tmp_path / f"{policy_id}.yaml").write_text(
            f"id: {policy_id}\ntitle: a repository rule\nseverity: low\n"
            "description: a rule over the inventory\nremediation: add what it asks for\n"
            "scope: repository\nmatch: {source: kubernetes, kinds: [Pod]}\n"
            f'rule: "{rule}"\nmessage: "{{{{ item.name }}}} in {{{{ item.namespace }}}}"\n'
        )
    engine = build_engine(Config(), [str(tmp_path)], builtin=False)
    text = "".join(
        f"---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {'ok' if i % 4 else 'p'}{i}, "
        f"namespace: ns{i % 3}, labels: {{tier: {'web' if i % 5 else 'db'}}}}}\n"
        for i in range(40)
    )
    text += "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
    text += "metadata: {name: n, namespace: ns1}\n"
    inventory = [entry(document) for document in documents(text)]
    memoized = engine.evaluate_repository(inventory)

    class Plain(evaluate._RepositoryVerdicts):
        def of(self, data: dict[str, object], namespace: str) -> object:
            return self.rule.evaluate(data)

    original = evaluate._RepositoryVerdicts
    evaluate._RepositoryVerdicts = Plain  # type: ignore[misc]
    try:
        plain_findings = engine.evaluate_repository(inventory)
    finally:
        evaluate._RepositoryVerdicts = original  # type: ignore[misc]
    assert memoized == plain_findings
    by_policy = Counter(finding.policy_id for finding in memoized)
    assert by_policy["R-NS"] == 27 and 0 < by_policy["R-NAME"] < 27 and by_policy["R-WHOLE"] == 40
    errors = [
        f for f in memoized if f.policy_id == "R-ERR" and "could not be evaluated" in f.message
    ]
    assert by_policy["R-ERR"] == 40 and {f.policy_id for f in errors} == {"R-ERR"}
    assert len(errors) == 32


HEADER = "title: a message test\nseverity: low\ndescription: a message\nremediation: none\n"


def test_message_expressions_on_the_fast_path_are_the_plain_ones(tmp_path: Path) -> None:
    """The fast path's messageExpressions are the plain path's for strings, numbers, lists,
    nulls, `path`, `object` and `params` (of the document and of a workload's pod view, with
    and without `each`); one that errs on a subject gives "messageExpression failed"."""
    messages = {
        "M-TEXT": "item.name + ' at ' + path + ' in ' + object.metadata.name + params.suffix",
        "M-NUMBER": "item.ports[0].containerPort",  # errs where a container has no port
        "M-LIST": "item.?ports.orValue([])",
        "M-NULL": "item.?image.orValue(null)",
    }
    for policy_id, expression in messages.items():
        (tmp_path / f"{policy_id}.yaml").write_text(
            f"id: {policy_id}\n{HEADER}"
            "match: {source: kubernetes, kinds: [Pod]}\neach: ['spec.containers[*]']\n"
            "params: {suffix: '!'}\nrule: item.name == 'ok'\n"
            f'messageExpression: "{expression}"\n'
        )
    (tmp_path / "M-WHOLE.yaml").write_text(
        f"id: M-WHOLE\n{HEADER}"
        "match: {source: kubernetes, kinds: [Deployment, Pod]}\nrule: object.kind == 'Pod'\n"
        "messageExpression: \"object.kind + ' ' + string(object.?spec.replicas.orValue(0))\"\n"
    )
    engine = build_engine(Config(), [str(tmp_path)], builtin=False)
    docs = documents(
        """\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          replicas: 2
          template:
            spec:
              containers:
                - {name: a, image: x, ports: [{containerPort: 8080}, {containerPort: 9090}]}
                - {name: ok}
                - {name: b}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: pod}
        spec:
          containers: [{name: c, image: "y", ports: [{containerPort: 80}]}]
        """
    )
    fast = [finding for document in docs for finding in engine.evaluate(document)]
    assert fast == [finding for document in docs for finding in plain(engine, document)]
    got = {(f.policy_id, f.path): f.message for f in fast}
    assert got[("M-TEXT", "spec.template.spec.containers[0]")] == (
        "a at spec.containers[0] in web!"
    )
    assert got[("M-NUMBER", "spec.template.spec.containers[0]")] == "8080"
    assert got[("M-NUMBER", "spec.template.spec.containers[2]")].startswith(
        "a message test (messageExpression failed:"
    )
    assert got[("M-LIST", "spec.containers[0]")] == "[{'containerPort': 80}]"
    assert got[("M-NULL", "spec.template.spec.containers[2]")] == "None"
    assert got[("M-WHOLE", "")] == "Deployment 2"


def test_stable_path_names_list_items_as_before() -> None:
    """stable_path walks the object itself: what fieldpath.get one key at a time gave, for
    named and unnamed items, names that are no strings, nested lists, missing steps."""
    from gatekeeper.evaluate import _key_text, stable_path
    from gatekeeper.fieldpath import Path as FieldPath
    from gatekeeper.fieldpath import get

    def reference(obj: object, path: FieldPath) -> str:
        out: list[str] = []
        node = obj
        for key in path:
            value = get(node, (key,))
            if (
                isinstance(key, int)
                and isinstance(value, dict)
                and isinstance(value.get("name"), str)
            ):
                out.append(f"[name={value['name']}]")
            else:
                out.append(_key_text(key) if out or isinstance(key, int) else str(key))
            node = value
        return "".join(out)

    obj = {
        "spec": {
            "containers": [{"name": "web", "env": [{"name": "A"}, {"value": 1}]}, {"name": 7}],
            "matrix": [[{"name": "x"}], []],
            "odd key": {"a.b": [None]},
        }
    }
    paths: list[FieldPath] = [
        (),
        ("spec",),
        ("spec", "containers", 0, "env", 0, "value"),
        ("spec", "containers", 0, "env", 1),
        ("spec", "containers", 1, "image"),
        ("spec", "containers", -1),
        ("spec", "containers", 5, "name"),
        ("spec", "matrix", 0, 0),
        ("spec", "matrix", 1, 0),
        ("spec", "odd key", "a.b", 0),
        ("missing", 0, "x"),
        (0,),
    ]
    for path in paths:
        assert stable_path(obj, path) == reference(obj, path), path
    # As fingerprints have always had it: keys after the first are not dotted.
    named = stable_path(obj, ("spec", "containers", 0, "env", 0))
    assert named == "speccontainers[name=web]env[name=A]"
