"""Loading policies and the configuration that names them: no silent override, params checked
against each policy's schema, authoring mistakes reported at their own line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from gatekeeper.bundle import engine_for
from gatekeeper.config import parse_config
from gatekeeper.errors import ConfigError, PolicyError, UsageError
from gatekeeper.policy.loader import builtin_dir, load_bundle, load_policy_file
from tests.conftest import Run

Gatekeeper = Callable[..., Run]
Write = Callable[[str, str | bytes], Path]

HEAD = """\
title: A test policy
severity: high
description: d
remediation: r
match: {source: kubernetes, kinds: [Pod]}
"""
WEAK_PRIVILEGED = "id: K8S-PSS-PRIVILEGED\n" + HEAD + 'rule: "true"\n'
PRIVILEGED_POD = """\
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - name: app
      image: nginx@sha256:0000000000000000000000000000000000000000000000000000000000000000
      securityContext: {privileged: true}
"""
BUILTIN_PRIVILEGED = "built-in kubernetes/pss-baseline-privileged.yaml:1"


def policy_error(path: Path) -> PolicyError:
    with pytest.raises(PolicyError) as caught:
        load_bundle([path])
    return caught.value


# -- silent overrides --------------------------------------------------------------------


def test_a_custom_policy_cannot_silently_replace_a_builtin(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    write("custom/weak.yaml", WEAK_PRIVILEGED)
    write("pod.yaml", PRIVILEGED_POD)
    run = gatekeeper("scan", ".", "--policies", "custom", cwd=tmp_path)
    assert run.returncode == 2, run.stderr
    assert "custom/weak.yaml:1: duplicate policy id K8S-PSS-PRIVILEGED" in run.stderr
    assert BUILTIN_PRIVILEGED in run.stderr
    assert "overrides: K8S-PSS-PRIVILEGED" in run.stderr


def test_an_explicit_override_replaces_and_is_reported(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    write(
        "custom/weak.yaml",
        WEAK_PRIVILEGED.replace("title:", "overrides: K8S-PSS-PRIVILEGED\ntitle:"),
    )
    write("pod.yaml", PRIVILEGED_POD)
    run = gatekeeper("scan", "pod.yaml", "--policies", "custom", "--format", "json", cwd=tmp_path)
    findings = json.loads(run.stdout)["findings"]
    ids = [finding["policy_id"] for finding in findings]
    assert "K8S-PSS-PRIVILEGED" not in ids  # replaced by the weak rule...
    (notice,) = [finding for finding in findings if finding["policy_id"] == "GK-POLICY-OVERRIDE"]
    assert notice["file"].endswith("custom/weak.yaml") and notice["line"] == 2  # ...visibly
    assert BUILTIN_PRIVILEGED in notice["message"]
    assert notice["severity"] == "info" and not notice["blocking"]


def test_an_override_must_name_an_earlier_policy(write: Write, tmp_path: Path) -> None:
    write("a/one.yaml", "id: TEST-ONE\n" + HEAD + 'rule: "true"\n')
    write("b/two.yaml", "id: TEST-ONE\noverrides: TEST-ONF\n" + HEAD + 'rule: "true"\n')
    with pytest.raises(PolicyError) as caught:
        load_bundle([tmp_path / "a", tmp_path / "b"])
    assert caught.value.line == 2
    assert "no earlier policy has id TEST-ONF (did you mean TEST-ONE?)" in str(caught.value)


def test_a_later_directory_does_not_silently_replace_an_earlier_one(
    write: Write, tmp_path: Path
) -> None:
    write("a/one.yaml", "id: TEST-ONE\n" + HEAD + 'rule: "true"\n')
    write("b/x/two.yaml", "\n" + HEAD + "id: TEST-ONE\n" + 'rule: "false"\n')
    with pytest.raises(PolicyError) as caught:
        load_bundle([tmp_path / "a", tmp_path / "b"])
    assert str(caught.value).startswith(f"{tmp_path / 'b/x/two.yaml'}:7: duplicate policy id")
    assert f"{tmp_path / 'a/one.yaml'}:1" in str(caught.value)
    # In one directory a duplicate is an error even with `overrides`.
    write("b/x/three.yaml", "id: TEST-ONE\noverrides: TEST-ONE\n" + HEAD + 'rule: "true"\n')
    with pytest.raises(PolicyError, match="duplicate policy id TEST-ONE"):
        load_bundle([tmp_path / "a", tmp_path / "b"])


# -- params schemas ----------------------------------------------------------------------


def builtin_engine(config_text: str, name: str = ".gatekeeper.yml") -> None:
    config = parse_config(name, config_text.encode())
    engine_for(config, load_bundle([builtin_dir()]))


@pytest.mark.parametrize(
    ("config", "line", "message"),
    [
        (
            "params:\n  K8S-META-REQUIRED-LABELS:\n    lables: [team]\n",
            3,
            "params.K8S-META-REQUIRED-LABELS.lables: unknown key 'lables' (did you mean labels?)",
        ),
        (
            "params:\n  K8S-META-REQUIRED-LABELS:\n    labels: team\n",
            3,
            "params.K8S-META-REQUIRED-LABELS.labels: 'team' is not of type 'array'",
        ),
        (
            "params:\n  K8S-PSS-HOST-PORTS: {allowedHostPorts: [80, '443']}\n",
            2,
            "params.K8S-PSS-HOST-PORTS.allowedHostPorts.1: '443' is not of type 'integer'",
        ),
        (
            "params:\n  K8S-META-REQUIRED-LABEL: {labels: [team]}\n",
            2,
            "params: unknown policy id K8S-META-REQUIRED-LABEL (did you mean"
            " K8S-META-REQUIRED-LABELS?)",
        ),
        (
            "disable:\n  - K8S-PSS-PRIVILEGED\n  - K8S-PSS-PRIVILEDGED\n",
            3,
            "disable: unknown policy id K8S-PSS-PRIVILEDGED (did you mean K8S-PSS-PRIVILEGED?)",
        ),
        (
            "overrides:\n  - path: legacy/**\n    params:\n      K8S-POD-RESOURCES:\n"
            "        required: [request.cpu]\n",
            5,
            "overrides.0.params.K8S-POD-RESOURCES.required.0: 'request.cpu' does not match",
        ),
        (
            "overrides:\n  - path: legacy/**\n    disable: [K8S-IMAGE-DIGESTS]\n",
            3,
            "overrides.0.disable: unknown policy id K8S-IMAGE-DIGESTS (did you mean"
            " K8S-IMAGE-DIGEST?)",
        ),
    ],
)
def test_config_params_and_ids_are_checked_against_the_policies(
    config: str, line: int, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        builtin_engine(config)
    assert caught.value.file == ".gatekeeper.yml"
    assert (caught.value.line, caught.value.message[: len(message)]) == (line, message)


def test_valid_params_and_ids_load() -> None:
    builtin_engine(
        "params:\n  K8S-META-REQUIRED-LABELS: {labels: [team]}\n"
        "disable: [K8S-PSS-PRIVILEGED]\n"
        "overrides:\n  - {path: a/**, params: {K8S-PSS-HOST-PORTS: {allowedHostPorts: [80]}}}\n"
    )


def test_a_typo_in_params_stops_the_cli_with_file_and_line(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    write(".gatekeeper.yml", "params:\n  K8S-META-REQUIRED-LABELS: {lables: [team]}\n")
    write("pod.yaml", PRIVILEGED_POD)
    run = gatekeeper("scan", "pod.yaml", cwd=tmp_path)
    assert run.returncode == 2
    assert ".gatekeeper.yml:2: params.K8S-META-REQUIRED-LABELS.lables: unknown key" in run.stderr


def test_an_unknown_disable_on_the_command_line_suggests_the_id() -> None:
    config = parse_config(".gatekeeper.yml", b"")
    with pytest.raises(UsageError, match=r"--disable: .*did you mean K8S-PSS-PRIVILEGED\?"):
        engine_for(config, load_bundle([builtin_dir()]), ["K8S-PSS-PRIVILEGD"])


PARAMS_POLICY = "id: TEST-PARAMS\n" + HEAD + 'rule: "params.names.size() >= 0"\n'


@pytest.mark.parametrize(
    ("extra", "line", "message"),
    [
        # Inferred from the defaults when the policy declares no schema.
        ("params: {names: [a]}\n", 0, ""),
        (
            "params: {names: [a]}\ntests:\n"
            "  - {name: t, expect: pass, input: x, params: {nmes: []}}\n",
            10,
            "tests.0.params.nmes: unknown key 'nmes' (did you mean names?)",
        ),
        (
            "params:\n  names: a\nparamsSchema:\n  properties: {names: {type: array}}\n",
            9,
            "params.names: 'a' is not of type 'array'",
        ),
        (
            "params: {names: []}\nparamsSchema:\n"
            "  type: object\n  properties: {names: {type: lst}}\n",
            11,
            "paramsSchema.properties.names.type: not a valid JSON Schema",
        ),
        (  # no network, ever: a remote reference is an error, not a fetch
            "params: {names: []}\nparamsSchema:\n  $ref: https://example.com/s.json\n",
            10,
            "paramsSchema.$ref: only references inside the schema (#/...) are allowed",
        ),
        (
            "params: {names: [a], more: 1}\nparamsSchema:\n  $defs: {n: {type: array}}\n"
            "  properties: {names: {$ref: '#/$defs/n'}, more: {$ref: '#/$defs/m'}}\n",
            8,
            "params: the schema's reference '/$defs/m' cannot be resolved",
        ),
    ],
)
def test_policy_params_fit_the_policy_schema(
    write: Write, tmp_path: Path, extra: str, line: int, message: str
) -> None:
    path = write("p/policy.yaml", PARAMS_POLICY + extra)
    if not message:
        policy = load_policy_file(path)
        assert policy.params_schema["properties"] == {
            "names": {"type": "array", "items": {"type": "string"}}
        }
        return
    error = policy_error(tmp_path / "p")
    assert (error.line, error.message[: len(message)]) == (line, message)


def test_every_builtin_policy_with_params_declares_their_schema() -> None:
    for policy in load_bundle([builtin_dir()]):
        if policy.params:
            inferred = yaml.safe_dump({"paramsSchema": policy.params_schema}, sort_keys=False)
            assert "paramsSchema" in policy.raw, f"{policy.file}: add e.g.\n{inferred}"
            assert policy.params_schema.get("additionalProperties") is False, policy.file


# -- authoring diagnostics ---------------------------------------------------------------


FIELDS = """\
id: TEST-FIELDS
title: Field references
severity: high
description: d
remediation: r
match: {source: kubernetes, kinds: [Pod, Deployment]}
each: spec.containers[*]
rule: >
  !item.?securityContext.?privileged.orValue(false) &&
  object.spec.?hostNetwork.orValue(false) != true &&
  object.metadata.?annotations["a.b/c"].orValue("") != "x.y"
field: securityContext.privileged
message: "container {{ item.name }} of {{ object.metadata.name }}"
"""


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        ("", "", 0, ""),
        (
            "?privileged.orValue",
            "?privilegd.orValue",
            9,
            "rule: item.securityContext.privilegd: Pod has no field 'privilegd' here"
            " (did you mean privileged?)",
        ),
        (
            "hostNetwork.orValue",
            "hostNetwrk.orValue",
            10,
            "rule: object.spec.hostNetwrk: Pod has no field 'hostNetwrk' here"
            " (did you mean hostNetwork?)",
        ),
        ("each: spec.containers", "each: spec.contaners", 7, "each: spec.contaners[*]: Pod has"),
        ("field: securityContext.privileged", "field: securityContext.priv", 12, "field: "),
        ("{{ item.name }}", "{{ item.nam }}", 13, "message: item.nam: Pod has no field 'nam'"),
        (
            "field: securityContext.privileged\n",
            "field: securityContext.privileged\nfix:\n  set: {securityContext.privilege: false}\n",
            14,
            "fix.set: securityContext.privilege: Pod has no field 'privilege' here",
        ),
    ],
)
def test_field_references_are_checked_against_the_kinds_schemas(
    write: Write, tmp_path: Path, old: str, new: str, line: int, message: str
) -> None:
    """Each reference exists in one kind (a Deployment has no spec.containers, a Pod has)."""
    write("p/policy.yaml", FIELDS.replace(old, new) if old else FIELDS)
    if not message:
        assert [policy.id for policy in load_bundle([tmp_path / "p"])] == ["TEST-FIELDS"]
        return
    error = policy_error(tmp_path / "p")
    assert (error.line, error.message[: len(message)]) == (line, message)


def test_references_of_custom_resources_and_free_form_fields_pass(
    write: Write, tmp_path: Path
) -> None:
    text = FIELDS.replace("kinds: [Pod, Deployment]", "kinds: [Pod, Widget]").replace(
        "?privileged.orValue", "?anything.orValue"
    )
    write("p/policy.yaml", text)
    load_bundle([tmp_path / "p"])  # Widget has no schema: nothing to check against
    write("p/policy.yaml", FIELDS.replace("metadata.name }}", "metadata.labels.team.x }}"))
    load_bundle([tmp_path / "p"])  # labels is a map: any key


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            "id: TEST-X\n" + HEAD + 'rule: "true"\nmesage: m\n',
            8,
            "mesage: unknown key 'mesage' (did you mean message?)",
        ),
        (
            "id: TEST-X\n"
            + HEAD.replace(
                "match: {source: kubernetes, kinds: [Pod]}",
                "match:\n  source: kubernetes\n  kind: [Pod]",
            )
            + 'rule: "true"\n',
            8,
            "match.kind: unknown key 'kind' (did you mean kinds?)",
        ),
        (
            "id: TEST-X\n" + HEAD + "rule: |\n  has(object.spec) &&\n  object.spec.x ==== 1\n",
            9,
            "rule: invalid CEL: at 2:17: Syntax error",
        ),
        (
            "id: TEST-X\n"
            + HEAD
            + "rule: >\n  has(object.spec) &&\n  object.spec.x == 1 &&\n  object.spec.y ==== 1\n",
            10,
            "rule: invalid CEL: at 1:",
        ),
        (
            "id: TEST-X\n" + HEAD + 'rule: "object.metadata.name.size()"\n',
            7,
            "rule: must give a bool, gives int",
        ),
        (
            "id: TEST-X\n" + HEAD.replace("kinds: [Pod]", "condition: '\"x\"'") + 'rule: "true"\n',
            6,
            "match.condition: must give a bool, gives string",
        ),
        (
            "id: TEST-X\n" + HEAD + 'rule: "true"\nmessageExpression: "1 + 1"\n',
            8,
            "messageExpression: must give a string, gives int",
        ),
        (
            "id: TEST-X\n" + HEAD + 'rule: "true"\nmessage: "{{ itme.name }} is bad"\n',
            8,
            "message: {{ itme.name }}: unknown variable 'itme' (did you mean item?)",
        ),
        (
            "id: TEST-X\n"
            + HEAD
            + 'rule: "true"\nparams: {limit: 1}\nmessage: "over {{ params.limt }}"\n',
            9,
            "message: {{ params.limt }}: the policy has no param 'limt' (did you mean limit?)",
        ),
    ],
)
def test_authoring_mistakes_are_reported_at_their_line(
    write: Write, tmp_path: Path, text: str, line: int, message: str
) -> None:
    write("p/policy.yaml", text)
    error = policy_error(tmp_path / "p")
    assert (error.line, error.message[: len(message)]) == (line, message)


def test_gatekeeper_test_runs_the_policies_the_configuration_lists(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    write(".gatekeeper.yml", "packs: [compose]\npolicies:\n  - path: custom\n")
    write(
        "custom/policy.yaml",
        "id: TEST-CUSTOM\n"
        + HEAD
        + 'rule: "false"\ntests:\n  - {name: wrongly expected, expect: pass, input: "kind: Pod"}\n',
    )
    run = gatekeeper("test", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    assert "FAIL TEST-CUSTOM: wrongly expected" in run.stdout
    assert "PASS COMPOSE-" in run.stdout and "K8S-" not in run.stdout  # the configured packs


def test_an_overriding_policy_is_tested_on_its_own_and_with_what_it_replaces(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    strict = (
        "id: ACME-PRIVILEGED\noverrides: K8S-PSS-PRIVILEGED\n"
        + HEAD
        + 'each: spec.containers[*]\nrule: "!has(item.securityContext)"\n'
        + "tests:\n  - {name: privileged fails, expect: fail, input: "
        + json.dumps(PRIVILEGED_POD)
        + "}\n"
    )
    write("custom/strict.yaml", strict)
    write(".gatekeeper.yml", "packs: [kubernetes]\npolicies:\n  - path: custom\n")
    for args in (("custom",), ()):
        run = gatekeeper("test", *args, cwd=tmp_path)
        assert run.returncode == 0, run.stdout + run.stderr
        assert "PASS ACME-PRIVILEGED: privileged fails" in run.stdout
    policies = {policy.id: policy for policy in load_bundle([builtin_dir(), tmp_path / "custom"])}
    assert "K8S-PSS-PRIVILEGED" not in policies  # replaced under another id
    assert policies["ACME-PRIVILEGED"].replaced == BUILTIN_PRIVILEGED


def test_a_pull_request_report_shows_the_override_with_repository_paths(
    gatekeeper: Gatekeeper, tmp_path: Path
) -> None:
    from tests.test_change import Repo

    repo = Repo(tmp_path)
    repo.write(
        "custom/weak.yaml",
        WEAK_PRIVILEGED.replace("title:", "overrides: K8S-PSS-PRIVILEGED\ntitle:"),
    )
    repo.write(".gatekeeper.yml", "packs: [kubernetes]\npolicies:\n  - path: custom\n")
    base = repo.commit("base")
    repo.write("pod.yaml", PRIVILEGED_POD)
    repo.commit("head")
    run = gatekeeper("scan", "--base", base, "--format", "json", cwd=tmp_path)
    findings = json.loads(run.stdout)["findings"]
    (notice,) = [f for f in findings if f["policy_id"] == "GK-POLICY-OVERRIDE"]
    assert (notice["file"], notice["line"], notice["blocking"]) == ("custom/weak.yaml", 2, False)
    assert notice["message"] == (
        "policy K8S-PSS-PRIVILEGED from custom/weak.yaml replaces K8S-PSS-PRIVILEGED from "
        + BUILTIN_PRIVILEGED
    )


@pytest.mark.parametrize(
    ("extra", "line", "message"),
    [
        ("scope: repository\ninventoryKinds: '[\"NetworkPolicy\"]'\n", 0, ""),
        ("inventoryKinds: '[\"NetworkPolicy\"]'\n", 8, "inventoryKinds: only a repository-scope"),
        (
            "scope: repository\ninventoryKinds: '\"NetworkPolicy\"'\n",
            9,
            "inventoryKinds: must give",
        ),
        ("scope: repository\ninventoryKinds: '[NetworkPolicy'\n", 9, "inventoryKinds: invalid CEL"),
    ],
)
def test_what_a_repository_rule_counts_is_declared_as_a_list_of_kinds(
    write: Write, tmp_path: Path, extra: str, line: int, message: str
) -> None:
    path = write("p/policy.yaml", "id: TEST-COUNTS\n" + HEAD + 'rule: "true"\n' + extra)
    if not message:
        policy = load_policy_file(path)
        assert policy.inventory_kinds is not None
        assert policy.inventory_kinds.evaluate({"params": {}}) == ["NetworkPolicy"]
        return
    error = policy_error(tmp_path / "p")
    assert (error.line, error.message[: len(message)]) == (line, message)
