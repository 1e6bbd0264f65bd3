"""The Kubernetes CEL libraries of admission expressions, as the API server evaluates them."""

from __future__ import annotations

from typing import Any

import pytest

from gatekeeper.admission_cel import AdmissionError, Expression, rewrite

OBJECT = {
    "metadata": {"name": "web-1", "labels": {"app": "web"}},
    "spec": {"ports": [80, 443, 80], "names": ["a", "b"], "version": "v1.28"},
}


def evaluate(source: str) -> Any:
    return Expression(source).evaluate({"object": OBJECT})


@pytest.mark.parametrize(
    "source",
    [
        # lists: indexOf / lastIndexOf on lists, beside the strings extension's on strings
        "[1, 2, 2, 3].indexOf(2) == 1",
        "[1, 2, 2, 3].lastIndexOf(2) == 2",
        "['a', 'b'].indexOf('c') == -1",
        "[1, 2].indexOf(true) == -1",  # no bool equals a number
        "[1.0, 2.0].indexOf(2) == 1",
        "[[1], [2]].indexOf([2]) == 1 && [{'a': 1}].indexOf({'a': 1}) == 0",
        "object.spec.ports.indexOf(80) == 0 && object.spec.ports.lastIndexOf(80) == 2",
        "object.spec.names.map(n, n + 'x').indexOf('bx') == 1",
        "'abcab'.indexOf('b') == 1 && 'abcab'.lastIndexOf('b') == 4",
        "'abcab'.indexOf('b', 2) == 4 && 'abcab'.lastIndexOf('b', 3) == 1",
        "'x.indexOf(y)'.indexOf('(') == 9",  # inside a literal: not rewritten
        # format
        "!format.dns1123Label().validate(object.metadata.name).hasValue()",
        "format.dns1123Label().validate('Web_1').value().size() == 1",
        "format.dns1123Label().validate('a' + 'b').orValue([]) == []",
        "format.dns1123Subdomain().validate('example.com').orValue([]) == []",
        "format.dns1035Label().validate('1abc').hasValue()",
        "!format.dns1123LabelPrefix().validate('web-').hasValue()",
        "format.dns1123Label().validate('web-').hasValue()",
        "!format.qualifiedName().validate('example.com/my.name').hasValue()",
        "format.qualifiedName().validate('a/b/c').hasValue()",
        "!format.labelValue().validate('').hasValue()",
        "format.labelValue().validate('-bad').hasValue()",
        "!format.uri().validate('https://example.com/x').hasValue()",
        "format.uri().validate('example').hasValue()",
        "!format.uuid().validate('123e4567-e89b-12d3-a456-426614174000').hasValue()",
        "!format.byte().validate('aGVsbG8=').hasValue()",
        "format.byte().validate('not base64!').hasValue()",
        "!format.date().validate('2024-02-29').hasValue()",
        "format.date().validate('2023-02-29').hasValue()",
        "!format.datetime().validate('2024-02-29T10:00:00Z').hasValue()",
        "format.datetime().validate('2024-02-29 25:00').hasValue()",
        "format.named('dns1123Label').hasValue() && !format.named('nope').hasValue()",
        "format.named('dns1035Label').value().validate('1abc').hasValue()",
        "format.named(  'uuid' ).orValue(format.uri()).validate('x').hasValue()",
        # semver
        "semver('1.2.3').major() == 1 && semver('1.2.3').minor() == 2",
        "semver('1.2.3').patch() == 3",
        "isSemver('1.2.3-rc.1+build.5') && !isSemver('v1.2.3') && !isSemver('1.02.3')",
        "isSemver(object.spec.version, true) && !isSemver(object.spec.version)",
        "semver('v1.02', true) == semver('1.2.0')",
        "semver('1.2.3').isLessThan(semver('1.10.0'))",
        "semver('2.0.0').isGreaterThan(semver('2.0.0-rc.1'))",
        "semver('1.0.0-alpha').compareTo(semver('1.0.0-alpha.1')) == -1",
        "semver('1.0.0-alpha.beta').compareTo(semver('1.0.0-beta')) == -1",
        "semver('1.0.0-2').compareTo(semver('1.0.0-11')) == -1",
        "semver('1.0.0+a').compareTo(semver('1.0.0+b')) == 0",
        # the quantity methods of the same names still compare quantities
        "quantity('1Gi').isGreaterThan(quantity('1G'))",
        "quantity('1').compareTo(quantity('1000m')) == 0",
    ],
)
def test_library_functions(source: str) -> None:
    assert evaluate(source) is True


@pytest.mark.parametrize(
    "source",
    [
        "semver('v1.2.3')",  # not strict semver: an error, as the API server's
        "'abc'.indexOf('b', 5)",
        "format.named('nope').value().validate('x')",
        "'format:nothing'.validate('x')",
    ],
)
def test_library_errors(source: str) -> None:
    with pytest.raises(AdmissionError):
        evaluate(source)


def test_the_rewrite_leaves_literals_and_other_calls_alone() -> None:
    assert rewrite("'.validate(' + \".indexOf(\"") == "'.validate(' + \".indexOf(\""
    assert rewrite("x.indexOf(y)") == "x.gk_indexOf(y)"
    assert rewrite("format.uri().validate(object.a[0].b('c'))") == (
        "optional.ofNonZeroValue(format.uri().gk_validate(object.a[0].b('c')))"
    )
    assert rewrite("f(variables.fmt.validate('x'))") == (
        "f(optional.ofNonZeroValue(variables.fmt.gk_validate('x')))"
    )
    assert rewrite("myformat.named('x')") == "myformat.named('x')"


def test_the_cost_estimate_follows_the_data() -> None:
    """Macros cost per element they visit, nested ones multiply, membership costs the list;
    an expression without either costs a few units whatever the data."""
    from gatekeeper.admission_cost import estimate, might_be_costly, parse

    data = {"object": {"a": list(range(100)), "m": {str(i): i for i in range(10)}}}
    single = parse("object.a.all(x, x >= 0)")
    nested = parse("object.a.all(x, object.a.exists(y, y == x))")
    member = parse("object.a.all(x, x in object.a)")
    assert 200 < estimate(single, data) < 1_000 < estimate(nested, data) < 100_000
    assert 10_000 < estimate(member, data) < 20_000
    assert estimate(parse("object.m.all(k, v, v >= 0)"), data) < 100
    assert estimate(nested, data, limit=5_000) > 5_000  # stops once past the limit
    assert not might_be_costly(parse("has(object.a) && object.a[0] == 1 ? 'x' : 'y'"))


def test_every_exported_expression_is_estimated() -> None:
    """The estimate parses what the built-in library exports (one it cannot parse would be
    charged as cheap)."""
    from gatekeeper.admission_cost import parse
    from gatekeeper.export_vap import export
    from gatekeeper.policy.loader import builtin_dir, load_bundle

    policies = load_bundle([builtin_dir() / "kubernetes", builtin_dir() / "gitops"])
    count = 0
    for policy in policies:
        for document in export(policy).documents:
            for key in ("validations", "variables", "matchConditions"):
                for entry in document["spec"].get(key) or []:
                    parse(entry["expression"])
                    count += 1
    assert count > 50


def test_odd_expressions_are_estimated_without_error() -> None:
    """What compiles is estimated, however deep or odd (no traceback, at worst a low
    estimate): thousands of negations, a list used as a map key."""
    deep = Expression("!" * 3000 + "object.a.all(x, x > 0)")
    data = {"object": {"a": [1], "m": {"a": 1}, "k": [1]}}
    assert deep.evaluate(data) is True and deep.cost(data) >= 0
    odd = Expression("object.a.all(x, object.m[object.k] == 1)")
    assert odd.cost(data) > 0
