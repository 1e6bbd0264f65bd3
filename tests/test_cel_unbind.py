"""cel.bind written out for the API server's CEL (gatekeeper.cel_unbind), and the admission
environment as strict as the API server's: no bindings, math or encoders library."""

from __future__ import annotations

from typing import Any

import pytest

from gatekeeper.admission import build
from gatekeeper.admission_cel import AdmissionError, Expression
from gatekeeper.cel_unbind import unbind
from gatekeeper.export_vap import export
from gatekeeper.policy import cel
from gatekeeper.policy.loader import builtin_dir, load_bundle
from gatekeeper.yamldoc import YamlDocument, load_all

DATA = {"object": {"spec": {"items": [1, 2, 3], "name": "a.b", "map": {"k": "v"}}}}


def value(source: str) -> Any:
    return cel.Program(source).evaluate(DATA)


@pytest.mark.parametrize(
    "source",
    [
        "cel.bind(x, 1, x + x)",
        # an inner binding of the same name, its value reading the outer one
        "cel.bind(x, 1, cel.bind(x, x + 1, x * 10))",
        # a macro binding the same name: its own variable inside the call
        "cel.bind(x, object.spec.items, x.all(x, x > 0) && size(x) == 3)",
        "cel.bind(x, 2, object.spec.items.map(x, x * 2).exists(y, y == x + 2))",
        "cel.bind(x, 2, object.spec.items.map(i, i > 1, i * x) == [4, 6])",
        # a field named like the variable, a string spelling it, a map key that is it
        "cel.bind(name, 'z', object.spec.name + name + 'name' + string({name: 1}[name]))",
        "cel.bind(m, object.spec.map, has(m.k) && m.k == 'v' && 'k' in m)",
        "cel.bind(a, 1, cel.bind(b, a + 1, cel.bind(a, b + a, [a, b])))",
    ],
)
def test_written_out_the_value_is_the_same_and_no_binding_is_left(source: str) -> None:
    out = unbind(source)
    assert "cel.bind" not in out
    assert value(out) == value(source)


def test_free_names_are_read_as_given() -> None:
    source = "params.limit > size(object.spec.items) && cel.bind(params, 1, params == 1)"
    out = unbind(source, {"params": "variables.params"})
    assert out == "(variables.params).limit > size(object.spec.items) && ((1) == 1)"


def test_every_exported_policy_is_written_without_cel_bind() -> None:
    """The API server's CEL (k8s.io/apiserver/pkg/cel/environment) has no bindings library:
    an exported expression calling cel.bind would not compile in a cluster (every export
    before s24 did)."""
    library = load_bundle([builtin_dir() / "kubernetes", builtin_dir() / "gitops"])
    exported = [export(policy) for policy in library if policy.match.source == "kubernetes"]
    documents = [d for e in exported for d in e.documents]
    assert len(documents) > 100
    for document in documents:
        spec = document["spec"]
        for entry in [*spec.get("validations", []), *spec.get("matchConditions", [])]:
            assert "cel.bind" not in entry["expression"], document["metadata"]["name"]


@pytest.mark.parametrize(
    ("expression", "called"),
    [
        ("cel.bind(x, object.metadata.name, x != '')", "cel.bind"),
        ("math.greatest(object.spec.replicas, 1) < 5", "math.greatest"),
        ("base64.decode(object.data.x) != b''", "base64.decode"),
    ],
)
def test_an_admission_policy_calling_what_the_api_server_lacks_is_invalid(
    expression: str, called: str
) -> None:
    with pytest.raises(AdmissionError, match=f"{called}: the API server's CEL has no such"):
        Expression(expression)
    Expression(expression, kyverno=True)  # Kyverno's CEL has them
    Expression(f'"{called}(x)" != ""')  # spelled in a string: not a call


def test_a_repository_vap_binding_names_is_a_finding_at_its_file() -> None:
    text = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: bound}
spec:
  matchConstraints:
    resourceRules:
      - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}
  validations:
    - expression: "cel.bind(r, object.spec.replicas, r <= 5)"
"""
    parsed = [d for d in load_all("vap.yaml", text) if isinstance(d, YamlDocument)]
    built = build([("vap.yaml", document) for document in parsed])
    assert [(p.code, p.file, p.line) for p in built.problems] == [("GK-PARSE-ERROR", "vap.yaml", 9)]
    assert "cel.bind: the API server's CEL has no such library" in built.problems[0].message


@pytest.mark.parametrize(
    ("expression", "mixed"),
    [
        ("[1, 'a'].size() > 0", "a list literal mixing int and string"),
        ("{'a': 1, 'b': [2]}.size() > 0", "a map literal mixing int and list"),
        ("object.x in [true, 'true']", "a list literal mixing bool and string"),
    ],
)
def test_a_literal_of_two_types_is_invalid_as_the_api_server_compiles_it(
    expression: str, mixed: str
) -> None:
    """k8s.io/apiserver compiles with cel.HomogeneousAggregateLiterals: the parameters of
    every exported policy mixing strings, lists and booleans in one map were rejected."""
    with pytest.raises(AdmissionError, match=mixed):
        Expression(expression)
    Expression(expression, kyverno=True)
    Expression("[dyn(1), dyn('a'), object.x].size() > 0 && {'a': dyn(1), 'b': dyn([2])} != {}")


def test_exported_parameters_are_one_type_per_literal() -> None:
    policy = next(
        p for p in load_bundle([builtin_dir() / "kubernetes"]) if p.id == "K8S-CONFIGMAP-SECRETS"
    )
    (vap, _) = export(policy).documents
    params = vap["spec"]["variables"][0]
    assert params["name"] == "params"
    assert params["expression"].startswith('{"secretNamePattern": dyn("')
    Expression(vap["spec"]["validations"][0]["expression"])
