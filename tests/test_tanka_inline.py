"""Tanka inline environments: a main.jsonnet with no spec.json, whose output holds `kind:
Environment` objects; `tk apply` applies each one's `data` in its namespace."""

from __future__ import annotations

from gatekeeper.change import scan_change
from gatekeeper.tree import MemoryTree
from tests.test_change import Repo
from tests.test_change import repo as repo  # the fixture
from tests.test_jsonnet import LIBRARY, findings, found

ENVIRONMENT = b"""\
local k = import 'k.libsonnet';
{
  apiVersion: 'tanka.dev/v1alpha1',
  kind: 'Environment',
  metadata: { name: 'environments/prod' },
  spec: { apiServer: 'https://127.0.0.1:6443', namespace: 'monitoring' },
  data: { grafana: { pod: k.pod('grafana', %s) } },
}
"""


def project(main: bytes, root: str = "jsonnetfile.json") -> dict[str, bytes]:
    """A Tanka project: its root marker, lib/k.libsonnet, environments/prod/main.jsonnet
    (no spec.json)."""
    return {
        root: b'{"version": 1, "dependencies": []}\n',
        "lib/k.libsonnet": LIBRARY.replace(b"namespace: 'web' ", b""),
        "environments/prod/main.jsonnet": main,
    }


def test_an_inline_environment_is_evaluated_and_its_data_applied() -> None:
    files = project(ENVIRONMENT % b"true")
    [finding] = findings(MemoryTree(files), "environments/prod/main.jsonnet")
    assert (finding.policy_id, finding.file, finding.line) == (
        "K8S-PSS-PRIVILEGED",
        "lib/k.libsonnet",
        10,
    )
    assert (finding.namespace, finding.name) == ("monitoring", "grafana")
    assert found(project(ENVIRONMENT % b"false"), "environments/prod/main.jsonnet") == []


def test_each_environment_of_several_is_judged_and_other_objects_are_not_applied() -> None:
    """`tk apply --name` picks one of several; any may be deployed. Objects beside the
    environments in the output are not applied by Tanka."""
    main = b"""\
local k = import 'k.libsonnet';
local env(name, privileged) = {
  apiVersion: 'tanka.dev/v1alpha1', kind: 'Environment',
  metadata: { name: name }, spec: { namespace: name },
  data: { pod: k.pod(name, privileged) },
};
[env('dev', false), env('prod', true), { stray: k.pod('stray', true) }]
"""
    [finding] = findings(MemoryTree(project(main)), "environments/prod/main.jsonnet")
    assert (finding.namespace, finding.name) == ("prod", "prod")
    # Tanka selects environments by kind alone: another apiVersion is still applied.
    odd = ENVIRONMENT.replace(b"tanka.dev/v1alpha1", b"example.com/v1") % b"true"
    [finding] = findings(MemoryTree(project(odd, "tkrc.yaml")), "environments/prod/main.jsonnet")
    assert finding.policy_id == "K8S-PSS-PRIVILEGED"


def test_what_is_not_an_inline_environment_is_left_alone() -> None:
    # A static environment: its spec.json brings it (not judged twice).
    files = project(ENVIRONMENT % b"true")
    files["environments/prod/spec.json"] = b'{"apiVersion": "tanka.dev/v1alpha1",'
    files["environments/prod/spec.json"] += b' "kind": "Environment", "spec": {}}\n'
    assert found(files, "environments/prod/main.jsonnet") == []
    # No project root: tk evaluates nothing.
    files = project(ENVIRONMENT % b"true")
    del files["jsonnetfile.json"]
    assert found(files, "environments/prod/main.jsonnet") == []
    # A jsonnet-bundler project's main.jsonnet that yields no environment, or fails.
    assert found(project(b"{ a: 1 }\n"), "environments/prod/main.jsonnet") == []
    assert found(project(b"{ a: error 'x' }\n"), "environments/prod/main.jsonnet") == []


def test_an_inline_environment_that_tk_cannot_apply_is_said() -> None:
    # tk.env is an error for inline environments, as in Tanka.
    main = ENVIRONMENT.replace(b"namespace: 'monitoring'", b"namespace: (import 'tk').env.x")
    [(policy, file, _)] = found(project(main % b"true"), "environments/prod/main.jsonnet")
    assert (policy, file) == ("GK-RENDER-ERROR", "environments/prod/main.jsonnet")
    main = ENVIRONMENT.replace(b"grafana: {", b"replicas: 3, grafana: {")
    assert found(project(main % b"true"), "environments/prod/main.jsonnet") == [
        ("GK-RENDER-ERROR", "environments/prod/main.jsonnet", 1)
    ]


def test_a_pull_request_changing_a_library_rejudges_the_inline_environment(repo: Repo) -> None:
    main = ENVIRONMENT % b"(import 'flags.libsonnet').debug"
    for name, text in project(main).items():
        repo.write(name, text.decode())
    repo.write("lib/flags.libsonnet", "{ debug: false }\n")
    repo.commit("base")
    assert scan_change(repo.root, "main").verdict.blocking == []
    repo.branch("pr")
    repo.write("lib/flags.libsonnet", "{ debug: true }\n")
    repo.commit("debug")
    [finding] = scan_change(repo.root, "main").verdict.blocking
    assert (finding.file, finding.line, finding.status) == ("lib/k.libsonnet", 10, "new")


def test_any_jsonnet_file_naming_an_environment_is_an_entry() -> None:
    """`tk apply environments/prod.jsonnet` takes that file (red team s11): a Jsonnet file of
    a Tanka project other than main.jsonnet is an inline environment when its text names
    one; the project's other files (libraries, files that fail alone) are left alone."""
    files = project(ENVIRONMENT % b"true")
    files["environments/prod.jsonnet"] = files.pop("environments/prod/main.jsonnet")
    [finding] = findings(MemoryTree(files), "environments/prod.jsonnet")
    assert (finding.policy_id, finding.namespace) == ("K8S-PSS-PRIVILEGED", "monitoring")
    files["environments/util.jsonnet"] = b"{ a: error 'only imported' }\n"
    files["lib/envs.libsonnet"] = b"function(name) { kind: 'Environment', data: error 'x' }\n"
    assert found(files, "environments/util.jsonnet") == []
    assert found(files, "lib/envs.libsonnet") == []
    del files["jsonnetfile.json"]  # no Tanka project: tk evaluates nothing
    assert found(files, "environments/prod.jsonnet") == []


def test_an_entry_whose_environment_comes_from_a_library_is_read() -> None:
    """`environments/prod.jsonnet` spelling only `(import 'envs.libsonnet').prod`: the
    library names the Environment; a file importing it that builds none says nothing."""
    files = project(ENVIRONMENT % b"true")
    files["lib/envs.libsonnet"] = b"{ prod: " + files.pop("environments/prod/main.jsonnet") + b"}"
    files["environments/prod.jsonnet"] = b"(import 'envs.libsonnet').prod\n"
    [finding] = findings(MemoryTree(files), "environments/prod.jsonnet")
    assert (finding.policy_id, finding.namespace) == ("K8S-PSS-PRIVILEGED", "monitoring")
    files["environments/dev.jsonnet"] = b"local e = import 'envs.libsonnet'; { a: error 'x' }\n"
    assert found(files, "environments/dev.jsonnet") == []


def test_a_pull_request_changing_a_library_rejudges_an_entry_not_named_main(repo: Repo) -> None:
    """The entry's own imports are its inputs (a file outside its import paths too)."""
    main = ENVIRONMENT % b"(import '../config/flags.libsonnet').debug"
    for name, text in project(main).items():
        repo.write(name.replace("prod/main.jsonnet", "prod.jsonnet"), text.decode())
    repo.write("config/flags.libsonnet", "{ debug: false }\n")
    repo.commit("base")
    assert scan_change(repo.root, "main").verdict.blocking == []
    repo.branch("pr")
    repo.write("config/flags.libsonnet", "{ debug: true }\n")
    repo.commit("debug")
    [finding] = scan_change(repo.root, "main").verdict.blocking
    assert (finding.file, finding.line, finding.status) == ("lib/k.libsonnet", 10, "new")
