"""gatekeeper.tfeval: Terraform expressions as far as the files tell, unknown otherwise."""

from __future__ import annotations

from typing import Any

import pytest

from gatekeeper.hcl import parse_attributes
from gatekeeper.tfeval import Origin, Scope, Unknown, Value, convert, evaluate_attribute

VARIABLES = """\
name  = "web"
ports = [22, 443]
rules = { ssh = [22, 22, "tcp"], https = [443, 443, "tcp"], _ = ["", "", ""] }
items = [{ rule = "ssh", cidr = "0.0.0.0/0,10.0.0.0/8" }, { from = 80, cidr = "" }]
flag  = "true"
empty = []
"""


def scope(**names: Any) -> Scope:
    body = parse_attributes(VARIABLES)
    variables = {
        key: evaluate_attribute(attribute, Scope(), Origin("vars.tfvars", attribute.span))
        for key, attribute in body.attributes.items()
    }
    variables["secret"] = Value(Unknown("aws_kms_key.k.arn"))
    return Scope(variables, {}, {key: Value(value) for key, value in names.items()})


def value(text: str, **names: Any) -> Value:
    attribute = parse_attributes(f"x = {text}\n").attributes["x"]
    return evaluate_attribute(attribute, scope(**names), None)


def data(text: str, **names: Any) -> Any:
    result = value(text, **names).data
    return result.text if isinstance(result, Unknown) else result


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"${var.name}-${1 + 2}"', "web-3"),
        ("var.rules[var.items[0].rule][0]", 22),
        ('lookup(var.items[1], "rule", "_")', "_"),
        ('var.rules[lookup(var.items[1], "rule", "_")][2]', ""),
        ('compact(split(",", var.items[0].cidr))', ["0.0.0.0/0", "10.0.0.0/8"]),
        ('compact(split(",", var.items[1].cidr))', []),
        ("length(var.ports) > 1 ? 1 : 0", 1),
        ("var.flag ? 1 : 0", 1),
        ("!true || 2 * 3 == 6 && 7 % 4 == 3", True),
        ("10 / 4", 2.5),
        ('"1" == 1', False),
        ("[for p in var.ports : p + 1 if p > 100]", [444]),
        ("[for p in var.ports : 1]", [1, 1]),  # the library cannot print this one
        ('{for k, r in var.rules : k => r[0] if k != "_"}', {"https": 443, "ssh": 22}),
        (
            '{for r in var.items : lookup(r, "rule", "none") => r.cidr...}',
            {
                "none": [""],
                "ssh": ["0.0.0.0/0,10.0.0.0/8"],
            },
        ),
        ("var.items[*].cidr", ["0.0.0.0/0,10.0.0.0/8", ""]),
        ("var.items.*.cidr", ["0.0.0.0/0,10.0.0.0/8", ""]),
        ('try(var.items[1].rule, "default")', "default"),
        ("can(var.items[1].rule)", False),
        ('coalesce("", null, var.name)', "web"),
        ("coalescelist(var.empty, var.ports)", [22, 443]),
        ("concat(var.ports, [8080])", [22, 443, 8080]),
        ("element(var.ports, 3)", 443),
        ("merge({a = 1}, {b = 2}, {a = 3})", {"a": 3, "b": 2}),
        ("flatten([var.ports, [[1]], []])", [22, 443, 1]),
        ("distinct([3, 1, 3])", [3, 1]),
        ('toset(["b", "a", "b"])', ["a", "b"]),
        ("keys(var.rules)", ["_", "https", "ssh"]),
        ("contains(var.ports, 22)", True),
        ('format("%s:%d", var.name, 8080)', "web:8080"),
        ('join(",", var.ports)', "22,443"),
        ('upper(replace(var.name, "/w(e)/", "$1"))', "EB"),
        ("jsondecode(jsonencode({a = [1, true]}))", {"a": [1, True]}),
        ('zipmap(["a", "b"], [1, 2])', {"a": 1, "b": 2}),
        ('cidrsubnet("10.0.0.0/16", 8, 2)', "10.0.2.0/24"),
        ("range(3)", [0, 1, 2]),
        ('tonumber("22") + 1', 23),
        ("f(var.ports...)", "f(...)"),
        ("var.missing", "var.missing"),
        ("local.nothing", "local.nothing"),
    ],
)
def test_expressions(text: str, expected: Any) -> None:
    assert data(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "var.secret",
        '"arn:${var.secret}"',
        'var.secret == "x" ? 1 : 2',
        "concat(var.ports, var.secret)",
        'try(var.secret.x, "fallback")',  # unknown is not an error: no fallback invented
        "can(var.secret.x)",
        "length(var.secret)",
        "[for p in var.secret : p]",
        "timestamp()",
        'file("${path.module}/policy.json")',
        "aws_security_group.this.*.id",
        "data.aws_vpc.this.cidr_block",
        '"%{ if var.secret == "web" }x%{ endif }"',
        '"%{ for p in var.secret }${p}%{ endfor }"',
    ],
)
def test_what_only_terraform_knows_stays_unknown(text: str) -> None:
    assert isinstance(value(text).data, Unknown)


def test_unknown_decides_nothing_known_decides_everything() -> None:
    assert data("false && var.secret") is False
    assert data("true || var.secret") is True
    assert isinstance(value("true && var.secret").data, Unknown)
    assert data("[var.secret, 1]")[1] == 1  # known items of a list stay known
    assert data("length([var.secret, 1])") == 2


def test_errors_are_errors_not_guesses() -> None:
    """A missing key makes the whole attribute unknown (shown as written), never a value."""
    assert data('var.rules["nope"][0]') == 'var.rules["nope"][0]'
    assert data("var.ports[7]") == "var.ports[7]"
    assert data("1 / 0") == "1 / 0"


def test_origins_follow_the_value() -> None:
    """Where each value was written: the tfvars line behind it, the item a key chose."""
    items = value("var.items[0].cidr")
    assert items.origins[()].span.line == 4
    chosen = value("var.rules[var.items[0].rule][0]")
    assert (chosen.data, chosen.origins[()].span.line) == (22, 3)
    assert chosen.origins[()].exact  # the tfvars wrote 22 itself
    picked = value("{ ssh = [22] }[var.items[0].rule][0]")  # the module's 22, chosen at line 4
    assert (picked.data, picked.origins[()].span.line) == (22, 4)
    assert picked.origins[()].chooser and not picked.origins[()].exact
    part = value('split(",", var.items[0].cidr)[0]')  # inside a value: the line, inexact
    assert (part.data, part.origins[()].span.line) == ("0.0.0.0/0", 4)
    assert not part.origins[()].exact and not part.origins[()].chooser
    joined = value("concat([1], var.ports)")
    assert 0 not in [path[0] for path in joined.origins if path]
    assert joined.origins[(1,)].span.line == 2
    merged = value("merge({a = 1}, var.rules)")
    assert sorted(path for path in merged.origins) == [("_",), ("https",), ("ssh",)]


def test_locals_resolve_and_cycles_end() -> None:
    body = parse_attributes('a = "${local.b}-x"\nb = var.name\nc = local.d\nd = local.c\n')
    locals_ = {key: (attribute, None) for key, attribute in body.attributes.items()}
    module = Scope(scope().variables, locals_)
    assert module.local("a").data == "web-x"
    assert isinstance(module.local("c").data, Unknown)


def test_conversion_to_variable_types() -> None:
    types = parse_attributes(
        "b = bool\nn = list(number)\n"
        "o = object({ cidr = string, port = optional(number, 22), on = optional(bool) })\n"
        "s = set(string)\n"
    ).attributes
    assert convert(Value("true"), types["b"].expr).data is True
    assert convert(Value(["1", 2]), types["n"].expr).data == [1, 2]
    converted = convert(Value({"cidr": "0.0.0.0/0", "extra": 1}), types["o"].expr).data
    assert converted == {"cidr": "0.0.0.0/0", "port": 22, "on": None}
    assert convert(Value(["b", "a", "a"]), types["s"].expr).data == ["a", "b"]
    assert convert(Value("maybe"), types["b"].expr).data == "maybe"  # Terraform rejects it


def test_what_would_run_for_hours_ends_unknown() -> None:
    """A PR cannot stall the check: nested loops, huge ranges and widths end as unknown."""
    assert isinstance(value("range(100000000)").data, Unknown)
    loops = "length(flatten([for a in range(5000) : [for b in range(5000) : b]]))"
    small = scope()
    small.budget[0] = 20_000  # MAX_STEPS, made small to keep the test fast
    attribute = parse_attributes(f"x = {loops}\n").attributes["x"]
    assert isinstance(evaluate_attribute(attribute, small, None).data, Unknown)
    assert small.budget[0] < 0
    assert data('format("%999999999d", 1)') == 'format("%999999999d", 1)'
    assert data('cidrsubnet("fd00::/8", 100, 12345)') == "fd00::3:390:0/108"


@pytest.mark.parametrize(
    "text",
    [
        "var.name[count.index]",
        "length(5)",
        'format("%d", "a")',
        'format("%s %s", 1)',
        "element([], 0)",
        'lookup("str", "k")',
        "merge(1)",
        "[for x in 5 : x]",
        "[for x in null : x]",
        '"${[1]}"',
        '-"a"',
        "!5",
        '{for x in ["a", "a"] : x => 1}',
        "var.rules[*].x",
        '1 < "a"',
        "5 ? 1 : 2",
        "tolist(5)",
        "keys([1])",
        "zipmap(1, 2)",
        'range("a")',
        "range(1, 10, 0)",
        "slice([1], 2, 1)",
        "jsondecode(1)",
        'jsondecode("{")',
        'cidrsubnet("bad", 1, 1)',
        'cidrsubnet("10.0.0.0/30", 8, 1)',
        'substr("abc", "x", 1)',
        "min()",
        'abs("x")',
        "distinct(5)",
        "contains(5, 1)",
        "flatten(5)",
        'replace("a", "/(/", "b")',
        "one([1, 2])",
        "coalesce()",
        "try()",
        "var.ports.0.x",
        "null.x",
        "concat(1, 2)",
        "toset([[1], [1]])",
    ],
)
def test_ill_typed_input_is_unknown_or_a_value_never_a_crash(text: str) -> None:
    value(text)  # an error in the scanned file is unknown, not a traceback (exit 3)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('yamldecode("false")', False),
        ('yamldecode("on")', "on"),  # YAML 1.2's core schema, as Terraform reads it
        ('yamldecode("a: [1, 2]")', {"a": [1, 2]}),
        ('strcontains("off", "on")', False),
        ('base64decode("dHJ1ZQ==")', "true"),
        ('textdecodebase64("dAByAHUAZQA=", "UTF-16LE")', "true"),
        ('chomp("true\\n")', "true"),
        ('trim("?!true!?", "!?")', "true"),
        ("setproduct([true], [1])[0][0]", True),
        ('regex("^(\\\\w+)-(\\\\d+)$", "web-12")', ["web", "12"]),
        ('regex("(?P<on>true|false)", "x=true")', {"on": "true"}),
        ('regexall("[0-9]", "a1b2")', ["1", "2"]),
        ('index(["a", "b"], "b")', 1),
        ('title("hello world")', "Hello World"),
        ('cidrsubnets("10.0.0.0/16", 8, 8)', ["10.0.0.0/24", "10.0.1.0/24"]),
        ('cidrhost("10.0.0.0/24", 5)', "10.0.0.5"),
        ("issensitive(true)", False),
        ('formatlist("%s-%s", ["a", "b"], "x")', ["a-x", "b-x"]),
        ('sha256("x")', "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"),
    ],
)
def test_pure_functions_are_computed(text: str, expected: Any) -> None:
    """A value left unknown passes every rule: every function Terraform computes from its
    arguments alone is computed (red team r12: `yamldecode("false")` for a public access
    block, `base64decode("dHJ1ZQ==")` for a public database)."""
    assert data(text) == expected


def test_a_pure_function_of_something_unknown_is_unknown_and_errors_are_errors() -> None:
    """An unknown inside an argument (`yamlencode({name = var.secret})`) made the whole
    module a parse error (found on aws-ia/terraform-aws-eks-blueprints)."""
    assert isinstance(value("yamlencode({name = var.secret})").data, Unknown)
    assert isinstance(value("log(1, 1)").data, Unknown)  # division by zero: Terraform's error


def test_a_backtracking_pattern_is_not_run() -> None:
    """Python's backtracking takes exponential time where Terraform's RE2 does not."""
    found = value('regex("(a+)+$", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab")')
    assert isinstance(found.data, Unknown)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"%{ if var.name == "web" }x%{ endif }"', "x"),
        ('"%{ if var.flag }on%{ else }off%{ endif }"', "on"),
        ('"a%{ if true }%{ if var.name != "web" }W%{ endif }%{ endif }b"', "ab"),
        ('"%{ for k, v in var.rules }${k}=${v[0]};%{ endfor }"', "_=;https=443;ssh=22;"),
        ('"%{ for p in var.empty }${p}%{ endfor }"', ""),
        ('"%%{ if x } $${y}"', "%{ if x } ${y}"),
        # strip markers take the spaces and line breaks beside them, as Terraform's do
        ("<<EOT\nx:\n%{ if var.flag ~}\n  y: 1\n%{ endif ~}\n%{ for i in var.ports ~}\n"
         "- ${i}\n%{ endfor ~}\nend\nEOT\n", "x:\ny: 1\n- 22\n- 443\nend"),
        ('<<-EOT\n  a\n  %{~ if var.name == "web" }\n  b: "${join(\n  ", ",\n  var.ports)}"\n'
         "  %{ else }\n  c\n  %{ endif }\n  z\n  EOT\n", 'a\nb: "22, 443"\n\nz'),
    ],
)
def test_template_directives_are_evaluated(text: str, expected: str) -> None:
    """`%{ if }` and `%{ for }` in a string or a heredoc are computed from what the files
    tell (kube-hetzner's helm values heredocs were each a blocking GK-TF-UNEVALUATED)."""
    assert data(text) == expected


def test_templatestring_renders_the_template_a_value_holds() -> None:
    """templatestring (Terraform 1.9) renders a template held in a value, as templatefile
    renders a file's: cloud-foundation-fabric fills its modules' context references so, and
    each call was a blocking GK-TF-UNEVALUATED (80). Unknown where the text or the
    variables are; a variable the template names and the map lacks is unknown too."""
    assert data("templatestring(t, { a = 1, b = var.name })", t="${a}-${b}") == "1-web"
    assert data("templatestring(t, { on = true })", t="%{ if on }yes%{ else }no%{ endif }") == "yes"
    assert data("templatestring(var.name, {})") == "web"
    assert isinstance(value("templatestring(t, { a = var.secret })", t="${a}").data, Unknown)
    assert isinstance(value("templatestring(t, var.secret)", t="x").data, Unknown)
    assert isinstance(value("templatestring(var.secret, {})").data, Unknown)
    assert isinstance(value("templatestring(t, {})", t="${b}").data, Unknown)
