"""Jsonnet that Argo CD evaluates is evaluated here too (the real `jsonnet` package, in a
limited child process) and what it yields is judged, located in the Jsonnet that wrote it."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.change import scan_change
from gatekeeper.evaluate import Engine
from gatekeeper.finding import Finding
from gatekeeper.policy.loader import load_policy_file
from gatekeeper.scanner import scan
from gatekeeper.sources import LoadContext, jsonnet, jsonnet_sandbox
from gatekeeper.tree import MemoryTree, Tree, WorkTree
from tests.conftest import REPO, Run
from tests.conftest import run_cli as gatekeeper_cli
from tests.test_change import CONFIG, Repo
from tests.test_change import repo as repo  # the fixture

POLICIES = REPO / "policies" / "kubernetes"
REPO_URL = "https://github.com/acme/platform"
Gatekeeper = Callable[..., Run]

# A library that makes a pod; whether it is privileged is its caller's choice.
LIBRARY = b"""\
{
  pod(name, privileged):: {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: name, namespace: 'web' },
    spec: {
      containers: [{
        name: 'main',
        image: 'ghcr.io/acme/web:1.0',
        securityContext: { privileged: privileged },
      }],
    },
  },
}
"""


def application(jsonnet_options: str = "", path: str = "deploy", name: str = "web") -> bytes:
    """An Application deploying the directory `path`, with `directory.jsonnet` options (a
    flow mapping's content)."""
    text = f"""\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: {name}, namespace: argocd}}
spec:
  project: default
  destination: {{namespace: web}}
  source:
    repoURL: {REPO_URL}
    path: {path}
"""
    if jsonnet_options:
        text += f"    directory:\n      jsonnet: {{{jsonnet_options}}}\n"
    return text.encode()


def findings(
    tree: Tree, entry: str = "apps/web.yaml", options: dict[str, Any] | None = None
) -> list[Finding]:
    engine = Engine([load_policy_file(POLICIES / "pss-baseline-privileged.yaml")])
    sources = {"gitops": {"repoURLs": [REPO_URL]}, "jsonnet": options or {}}
    context = LoadContext(tree=tree, options=sources)
    return scan([(entry, tree.read(entry))], engine, 1, context).findings


def found(files: dict[str, bytes], entry: str = "apps/web.yaml") -> list[tuple[Any, ...]]:
    """(policy, file, line) of each finding of a scan of `entry`."""
    return sorted((f.policy_id, f.file, f.line) for f in findings(MemoryTree(files), entry))


def test_a_privileged_pod_made_by_a_library_is_judged_at_the_library_line() -> None:
    main = b"local k = import 'k.libsonnet';\n\nk.pod('debug', true)\n"
    files = {
        "apps/web.yaml": application("libs: [lib]"),
        "deploy/main.jsonnet": main,
        "lib/k.libsonnet": LIBRARY,
    }
    [finding] = findings(MemoryTree(files))
    assert (finding.policy_id, finding.file, finding.line) == (
        "K8S-PSS-PRIVILEGED",
        "lib/k.libsonnet",
        10,
    )
    assert (finding.kind, finding.namespace, finding.name) == ("Pod", "web", "debug")
    assert finding.extra["variants"] == ["deployed by apps/web.yaml:web"]
    assert finding.extra["exact"] is False  # no YAML suggestion on a Jsonnet line
    assert "jsonnet deploy/main.jsonnet" in finding.extra["via"]
    # The caller writes the value: its line is the field's, found by name and value.
    files["deploy/main.jsonnet"] = main.replace(
        b"k.pod('debug', true)", b"k.pod('debug', false) + {\n  spec+: {securityContext: {}},\n}"
    )
    assert found(files) == []
    files["deploy/main.jsonnet"] = b"""\
local k = import 'k.libsonnet';
local pod = k.pod('debug', false);
pod {
  spec+: { containers: [c { securityContext+: { privileged: true } } for c in super.containers] },
}
"""
    assert found(files) == [("K8S-PSS-PRIVILEGED", "deploy/main.jsonnet", 4)]


def test_ext_vars_and_top_level_arguments_change_the_verdict() -> None:
    main = b"local k = import '../lib/k.libsonnet';\nk.pod('debug', std.extVar('privileged'))\n"
    files = {"deploy/main.jsonnet": main, "lib/k.libsonnet": LIBRARY}
    files["apps/web.yaml"] = application("extVars: [{name: privileged, value: 'true', code: true}]")
    assert found(files) == [("K8S-PSS-PRIVILEGED", "lib/k.libsonnet", 10)]
    files["apps/web.yaml"] = application(
        "extVars: [{name: privileged, value: 'false', code: true}]"
    )
    assert found(files) == []
    # As a string (code false), 'true' is a string: the API server rejects the pod.
    files["apps/web.yaml"] = application("extVars: [{name: privileged, value: 'true'}]")
    assert found(files) == [("GK-SCHEMA", "lib/k.libsonnet", 10)]
    files["deploy/main.jsonnet"] = b"""\
local k = import '../lib/k.libsonnet';
function(mode='safe') k.pod('debug', mode == 'debug')
"""
    assert found(files) == []
    files["apps/web.yaml"] = application("tlas: [{name: mode, value: debug}]")
    [finding] = findings(MemoryTree(files))
    assert (finding.file, finding.line) == ("lib/k.libsonnet", 10)
    assert "with tla mode=debug" in finding.extra["via"]


def test_argo_cd_build_environment_is_substituted_into_variables() -> None:
    main = b"""\
local k = import '../lib/k.libsonnet';
k.pod(std.extVar('app'), std.extVar('app') == 'web-debug')
"""
    files = {"deploy/main.jsonnet": main, "lib/k.libsonnet": LIBRARY}
    variable = "extVars: [{name: app, value: '${ARGOCD_APP_NAME}'}]"
    files["apps/web.yaml"] = application(variable, name="web-debug")
    [finding] = findings(MemoryTree(files))
    assert finding.name == "web-debug"
    files["apps/web.yaml"] = application(variable, name="web")
    assert found(files) == []


def test_an_override_file_sets_the_variables_argo_cd_evaluates_with() -> None:
    """`.argocd-source-<app>.yaml` in the path is merged over the source: its
    directory.jsonnet counts, and its malformed entry is said at its own line."""
    main = b"local k = import '../lib/k.libsonnet';\nk.pod('debug', std.extVar('privileged'))\n"
    files = {
        "deploy/main.jsonnet": main,
        "lib/k.libsonnet": LIBRARY,
        "apps/web.yaml": application("extVars: [{name: privileged, value: 'false', code: true}]"),
    }
    assert found(files) == []
    files["deploy/.argocd-source-web.yaml"] = (
        b"directory:\n  jsonnet:\n    extVars: [{name: privileged, value: 'true', code: true}]\n"
    )
    assert found(files) == [("K8S-PSS-PRIVILEGED", "lib/k.libsonnet", 10)]
    files["deploy/.argocd-source-web.yaml"] = b"directory:\n  jsonnet:\n    extVars: {a: b}\n"
    assert ("GK-PARSE-ERROR", "deploy/.argocd-source-web.yaml", 3) in found(files)


def test_a_list_and_a_kind_list_are_applied_item_by_item() -> None:
    main = b"""\
local k = import '../lib/k.libsonnet';
{
  apiVersion: 'v1',
  kind: 'List',
  items: [k.pod('a', false), k.pod('b', true)],
}
"""
    files = {"apps/web.yaml": application(), "deploy/main.jsonnet": main}
    files["lib/k.libsonnet"] = LIBRARY
    [finding] = findings(MemoryTree(files))
    assert (finding.name, finding.file, finding.line) == ("b", "lib/k.libsonnet", 10)
    files["deploy/main.jsonnet"] = main.replace(b"{\n  apiVersion: 'v1',\n  kind: 'List',", b"{")
    files["deploy/main.jsonnet"] = b"""\
local k = import '../lib/k.libsonnet';
[k.pod('a', true), k.pod('b', false)]
"""
    assert [f.name for f in findings(MemoryTree(files))] == ["a"]
    files["deploy/main.jsonnet"] = b"[{apiVersion: 'v1', kind: 'Pod'}, 'not an object']\n"
    assert found(files) == [("GK-RENDER-ERROR", "deploy/main.jsonnet", 1)]
    files["deploy/main.jsonnet"] = b"{spec: {}}\n"
    assert found(files) == [("GK-NOT-AN-OBJECT", "deploy/main.jsonnet", 1)]


def test_libsonnet_files_are_imported_not_evaluated() -> None:
    files = {
        "apps/web.yaml": application(),
        "deploy/main.jsonnet": b"(import 'k.libsonnet').pod('a', false)\n",
        "deploy/k.libsonnet": LIBRARY,
        # A .libsonnet evaluated alone would not even be an object: it is never evaluated.
        "deploy/broken.libsonnet": b"{ this is not Jsonnet\n",
    }
    assert found(files) == []


def test_an_error_is_said_at_the_line_jsonnet_reports_and_nothing_is_deployed() -> None:
    files = {
        "apps/web.yaml": application(),
        "deploy/main.jsonnet": b"local k = import 'k.libsonnet';\nk.pod('a', true)\n",
        "deploy/k.libsonnet": b"{\n  pod(name, privileged)::\n    error 'no pods here',\n}\n",
        "deploy/service.yaml": b"apiVersion: v1\nkind: Service\nmetadata: {name: web}\n",
    }
    [finding] = findings(MemoryTree(files))
    assert (finding.policy_id, finding.file, finding.line) == (
        "GK-RENDER-ERROR",
        "deploy/k.libsonnet",
        3,
    )
    assert "no pods here" in finding.message
    files["deploy/main.jsonnet"] = b"{\n  a: b,\n}\n"
    [finding] = findings(MemoryTree(files))
    assert (finding.file, finding.line) == ("deploy/main.jsonnet", 2)
    assert "Unknown variable: b" in finding.message


@pytest.mark.parametrize(
    "imported",
    ["../../secret.jsonnet", "/etc/passwd", "../lib/../../secret.jsonnet", "a\\u0000b"],
)
def test_an_import_out_of_the_repository_is_refused_and_not_read(
    tmp_path: Path, imported: str
) -> None:
    root = tmp_path / "repo"
    (root / "deploy").mkdir(parents=True)
    (root / "apps").mkdir()
    (root / "apps/web.yaml").write_bytes(application())
    (tmp_path / "secret.jsonnet").write_text("(import 'repo/lib/k.libsonnet').pod('x', true)\n")
    (root / "deploy/main.jsonnet").write_text(f"import '{imported}'\n")
    found = [(f.policy_id, f.file, f.line) for f in findings(WorkTree(root))]
    assert found == [("GK-RENDER-ERROR", "deploy/main.jsonnet", 1)]


def test_a_symbolic_link_out_of_the_repository_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "deploy").mkdir(parents=True)
    (root / "apps").mkdir()
    (root / "apps/web.yaml").write_bytes(application())
    outside = tmp_path / "k.libsonnet"
    outside.write_bytes(LIBRARY)
    os.symlink(outside, root / "deploy/k.libsonnet")
    (root / "deploy/main.jsonnet").write_text("(import 'k.libsonnet').pod('x', true)\n")
    [finding] = findings(WorkTree(root))
    assert (finding.policy_id, finding.file, finding.line) == (
        "GK-RENDER-ERROR",
        "deploy/main.jsonnet",
        1,
    )
    assert "symbolic link leads outside the repository" in finding.message
    # A link inside the repository is followed, as Argo CD follows it.
    (root / "lib").mkdir()
    (root / "lib/k.libsonnet").write_bytes(LIBRARY)
    (root / "deploy/k.libsonnet").unlink()
    os.symlink("../lib/k.libsonnet", root / "deploy/k.libsonnet")
    [finding] = findings(WorkTree(root))
    assert finding.policy_id == "K8S-PSS-PRIVILEGED"


def test_a_library_path_out_of_the_repository_is_refused() -> None:
    files = {
        "apps/web.yaml": application("libs: [../vendor]"),
        "deploy/main.jsonnet": b"{}\n",
    }
    assert found(files) == [("GK-RENDER-ERROR", "apps/web.yaml", 11)]


@pytest.mark.parametrize(
    ("code", "said"),
    [
        ("local f(n) = f(n + 1) + 1; f(0)", "max stack frames exceeded"),
        # deep only 60 calls, 2^60 of them (a tail call 1e15 deep is memory to go-jsonnet)
        ("local f(n) = if n == 0 then 1 else f(n - 1) + f(n - 1); f(60)", "CPU time limit"),
        ("std.length(std.makeArray(1e9, function(i) i))", "memory limit"),
        ("local d(s, n) = if n == 0 then s else d(s + s, n - 1); d('x', 22)", "output larger"),
    ],
)
def test_a_runaway_evaluation_stops_at_a_limit_with_a_finding(
    monkeypatch: pytest.MonkeyPatch, code: str, said: str
) -> None:
    small = jsonnet_sandbox.Limits(cpu_seconds=2, memory_bytes=512 << 20, output_bytes=1 << 20)
    monkeypatch.setattr(jsonnet, "LIMITS", small)
    files = {"apps/web.yaml": application(), "deploy/main.jsonnet": code.encode()}
    [finding] = findings(MemoryTree(files))
    assert (finding.policy_id, finding.file) == ("GK-RENDER-ERROR", "deploy/main.jsonnet")
    assert said in finding.message


def test_without_the_jsonnet_package_the_files_are_said_not_judged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(jsonnet, "available", lambda: False)
    files = {"apps/web.yaml": application(), "deploy/main.jsonnet": b"{}\n"}
    assert found(files) == [("GK-RENDERER-MISSING", "deploy/main.jsonnet", 1)]


def test_a_field_written_in_several_places_falls_back_to_an_ancestor_or_line_one() -> None:
    main = b"""\
local container(name, privileged) = {
  name: name,
  image: 'x',
  securityContext: { privileged: privileged },
};
local pod(name, privileged) = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: name },
  spec: { containers: [container(name + '-c', privileged)] },
};
[pod('a', false), pod('b', true)]
"""
    files = {"apps/web.yaml": application(), "deploy/main.jsonnet": main}
    [finding] = findings(MemoryTree(files))
    assert (finding.file, finding.line) == ("deploy/main.jsonnet", 4)
    files["deploy/main.jsonnet"] = main.replace(
        b"securityContext: { privileged: privileged }",
        b"securityContext: if privileged then { privileged: true } else { privileged: false }",
    ).replace(b"  name: name,\n  image", b"  image")
    # `privileged: true` is written once: found by name and value.
    [finding] = findings(MemoryTree(files))
    assert (finding.file, finding.line) == ("deploy/main.jsonnet", 3)
    # Written twice with the same value: the object's own literal is followed down to
    # the last field it writes (`securityContext: sc`).
    files["deploy/main.jsonnet"] = b"""\
local p = { privileged: true };
local q = { privileged: true };
local pod(name, sc) = { apiVersion: 'v1', kind: 'Pod', metadata: { name: name },
  spec: { containers: [{ name: name + '-c', image: 'x', securityContext: sc }] } };
[pod('a', p), pod('b', q)]
"""
    # (pods a and b, each a finding of its own at that place: a waiver naming one must
    # not cover the other)
    both = findings(MemoryTree(files))
    assert [(f.name, f.file, f.line) for f in both] == [
        ("a", "deploy/main.jsonnet", 4),
        ("b", "deploy/main.jsonnet", 4),
    ]
    assert "spec.containers[0].securityContext written there" in both[0].extra["via"]
    # Two literals of its kind, no name written, every field twice: the path is said, at
    # the first line.
    twice = files["deploy/main.jsonnet"].split(b"\n")
    twice[4:4] = [twice[2].replace(b"pod(", b"pod2("), twice[3]]
    files["deploy/main.jsonnet"] = b"\n".join(twice).replace(b"pod('b'", b"pod2('b'")
    judged = findings(MemoryTree(files))  # both pods at line 1
    assert [(f.file, f.line) for f in judged] == [("deploy/main.jsonnet", 1)] * 2
    assert "spec.containers[0].securityContext.privileged not found" in judged[0].extra["via"]


def test_objects_written_as_literals_are_located_field_by_field() -> None:
    """A file that writes its objects out (the Argo CD examples' style): each object's own
    literal, found by its kind (and name), is followed down to the field."""
    main = b"""\
[
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'a' },
    spec: { template: { spec: { containers: [
      { name: 'sidecar', image: 'x' },
      { name: 'main', image: 'x', securityContext: { privileged: true } },
    ] } } },
  },
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'b' },
    spec: { template: { spec: { containers: [
      { name: 'main', image: 'x', securityContext: { privileged: true } },
    ] } } },
  },
]
"""
    files = {"apps/web.yaml": application(), "deploy/main.jsonnet": main}
    judged = findings(MemoryTree(files))
    assert [(f.name, f.line) for f in judged] == [("a", 8), ("b", 16)]
    assert "privileged written there" in judged[0].extra["via"]


def test_jsonnet_that_makes_applications_is_expanded_too() -> None:
    """An app of apps written in Jsonnet: the Applications it yields deploy what they name."""
    made = b"""\
{
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Application',
  metadata: { name: 'child', namespace: 'argocd' },
  spec: { destination: { namespace: 'web' }, source: { repoURL: '%s', path: 'child' } },
}
""" % REPO_URL.encode()
    files = {
        "apps/web.yaml": application(),
        "deploy/apps.jsonnet": made,
        "child/main.jsonnet": b"(import '../lib/k.libsonnet').pod('c', true)\n",
        "lib/k.libsonnet": LIBRARY,
    }
    [finding] = findings(MemoryTree(files))
    assert (finding.file, finding.line, finding.name) == ("lib/k.libsonnet", 10, "c")


def test_a_pull_request_changing_only_an_imported_library_rejudges_the_application(
    repo: Repo, gatekeeper: Gatekeeper
) -> None:
    gitops = f"sources:\n  gitops:\n    repoURLs: [{REPO_URL}]\n"
    repo.write(".gatekeeper.yml", CONFIG + gitops)
    repo.write("apps/web.yaml", application("libs: [vendor]").decode())
    repo.write("deploy/main.jsonnet", "local k = import 'k.libsonnet';\nk.pod('a', k.debug)\n")
    repo.write("vendor/k.libsonnet", LIBRARY.decode().replace("{\n", "{\n  debug:: false,\n", 1))
    repo.write("shared/util.libsonnet", "{ debug: false }\n")
    repo.commit("base")
    repo.branch("pr")
    repo.write("vendor/k.libsonnet", LIBRARY.decode().replace("{\n", "{\n  debug:: true,\n", 1))
    repo.commit("debug pods")
    run = gatekeeper("scan", "--base", "main", cwd=repo.root)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "vendor/k.libsonnet:11:" in run.stdout
    # A file imported by relative path from outside the Application's path, two hops away.
    repo.git.git.checkout("-q", "main")
    repo.branch("pr2")
    repo.write(
        "deploy/main.jsonnet",
        "local u = import '../shared/util.libsonnet';\n"
        + ("(import 'k.libsonnet').pod('a', u.debug)\n"),
    )
    repo.commit("util")
    repo.branch("pr3")
    repo.write("shared/util.libsonnet", "{ debug: true }\n")
    repo.commit("debug through util")
    result = scan_change(repo.root, "pr2")
    [finding] = result.verdict.blocking
    assert (finding.file, finding.line, finding.status) == ("vendor/k.libsonnet", 11, "new")


SPEC = b"""\
{
  "apiVersion": "tanka.dev/v1alpha1",
  "kind": "Environment",
  "metadata": { "name": "environments/prod" },
  "spec": { "apiServer": "https://127.0.0.1:6443", "namespace": "monitoring" }
}
"""


def tanka(main: bytes, **more: bytes) -> dict[str, bytes]:
    """A Tanka project: root jsonnetfile.json, lib/k.libsonnet, environments/prod."""
    files = {
        "jsonnetfile.json": b'{"version": 1, "dependencies": []}\n',
        "lib/k.libsonnet": LIBRARY.replace(b"namespace: 'web' ", b""),
        "environments/prod/spec.json": SPEC,
        "environments/prod/main.jsonnet": main,
    }
    files.update({name.replace("__", "/"): text for name, text in more.items()})
    return files


def test_a_tanka_environment_is_evaluated_as_tk_apply_evaluates_it() -> None:
    """Objects anywhere in the output, the environment's namespace, its import paths and
    `import 'tk'`: a privileged pod nested in a Tanka environment blocks."""
    main = b"""\
local k = import 'k.libsonnet';
local tk = import 'tk';
{
  grafana: { pod: k.pod('grafana', tk.env.spec.namespace == 'monitoring') },
  disabled: null,
}
"""
    files = tanka(main)
    [finding] = findings(MemoryTree(files), "environments/prod/spec.json")
    assert (finding.policy_id, finding.file, finding.line) == (
        "K8S-PSS-PRIVILEGED",
        "lib/k.libsonnet",
        10,
    )
    assert (finding.namespace, finding.name) == ("monitoring", "grafana")
    assert "tanka environments/prod/main.jsonnet" in finding.extra["via"]
    # vendor/ in the environment comes before the root's lib/ ... after the environment.
    files["environments/prod/vendor/k.libsonnet"] = LIBRARY.replace(b"name: 'main'", b"name: 'v'")
    files["environments/prod/k.libsonnet"] = LIBRARY.replace(b"name: 'main'", b"name: 'env'")
    [finding] = findings(MemoryTree(files), "environments/prod/spec.json")
    assert finding.file == "environments/prod/k.libsonnet"
    del files["environments/prod/k.libsonnet"]
    [finding] = findings(MemoryTree(files), "environments/prod/spec.json")
    assert finding.file == "lib/k.libsonnet"


def test_a_tanka_environment_that_tk_cannot_apply_is_said() -> None:
    files = tanka(b"{ pod: { name: 'x' }, replicas: 3 }\n")
    assert found(files, "environments/prod/spec.json") == [
        ("GK-RENDER-ERROR", "environments/prod/main.jsonnet", 1)
    ]
    files = tanka(b"{ x: std.native('helmTemplate')('a', './chart', {}) }\n")
    assert found(files, "environments/prod/spec.json") == [
        ("GK-RENDER-ERROR", "environments/prod/main.jsonnet", 1)
    ]
    files = tanka(b"(import 'ksonnet-util/kausal.libsonnet') + {}\n")
    [finding] = findings(MemoryTree(files), "environments/prod/spec.json")
    assert (finding.file, finding.line) == ("environments/prod/main.jsonnet", 1)
    assert "library path vendor is not in the repository" in finding.message
    del files["jsonnetfile.json"]
    assert found(files, "environments/prod/spec.json") == [
        ("GK-RENDER-ERROR", "environments/prod/spec.json", 1)
    ]


def test_a_change_to_a_tanka_library_rejudges_the_environment(repo: Repo) -> None:
    main = "(import 'k.libsonnet').pod('grafana', (import 'flags.libsonnet').debug)\n"
    for name, text in tanka(main.encode()).items():
        repo.write(name, text.decode())
    repo.write("lib/flags.libsonnet", "{ debug: false }\n")
    repo.commit("base")
    repo.branch("pr")
    repo.write("lib/flags.libsonnet", "{ debug: true }\n")
    repo.commit("debug")
    [finding] = scan_change(repo.root, "main").verdict.blocking
    assert (finding.file, finding.line, finding.status) == ("lib/k.libsonnet", 10, "new")


def test_the_variables_ci_passes_to_tk_apply_are_configured(repo: Repo) -> None:
    """`sources.jsonnet.tanka` in .gatekeeper.yml: what CI passes to `tk apply` (read from
    the base revision, like all configuration)."""
    main = b"(import 'k.libsonnet').pod(std.extVar('name'), std.parseJson(std.extVar('debug')))\n"
    files = tanka(main)
    [finding] = findings(MemoryTree(files), "environments/prod/spec.json")
    assert "undefined external variable: name" in finding.message.lower()
    options = {"tanka": [{"path": "environments/prod/", "extVars": {"name": "a", "debug": "true"}}]}
    [finding] = findings(MemoryTree(files), "environments/prod/spec.json", options)
    assert (finding.policy_id, finding.name) == ("K8S-PSS-PRIVILEGED", "a")
    config = CONFIG + "sources:\n  jsonnet:\n    renderTimeoutSeconds: 5\n    tanka:\n"
    config += "      - {path: environments/prod, extVars: {name: a}, extCode: {debug: 'true'}}\n"
    repo.write(".gatekeeper.yml", config)
    for name, text in files.items():
        repo.write(name, text.decode())
    repo.write("environments/prod/main.jsonnet", main.decode().replace("std.parseJson(", "("))
    repo.commit("tanka")
    run = gatekeeper_cli("scan", ".", cwd=repo.root)
    assert "lib/k.libsonnet:10:1: HIGH TEST-NO-PRIVILEGED [blocking]" in run.stdout, run.stdout
    repo.write(".gatekeeper.yml", config.replace("renderTimeoutSeconds: 5", "renderMemoryMiB: 1"))
    run = gatekeeper_cli("scan", ".", cwd=repo.root)
    assert run.returncode == 2 and "renderMemoryMiB" in run.stderr, run.stdout + run.stderr


def test_the_limits_are_configured() -> None:
    loop = b"local f(n) = if n == 0 then 0 else f(n - 1) tailstrict; f(1e15)"
    files = {"apps/web.yaml": application(), "deploy/main.jsonnet": loop}
    [finding] = findings(MemoryTree(files), options={"renderTimeoutSeconds": 1})
    # 1 s of CPU, or 2 s of wall time on a busy machine: whichever comes first.
    assert "CPU time limit (1 s)" in finding.message or "after 2 s" in finding.message


def test_brackets_in_strings_and_comments_do_not_mislead_the_locating() -> None:
    """The structure is read outside strings, verbatim strings, text blocks and comments:
    a `{` in any of them does not shift which literal a field is written in."""
    main = b"""\
local note = '{ not an object';  // { nor this
local block = |||
  kind: 'Pod' { [
|||;
/* { privileged: true } */
# privileged: true
{
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', annotations: { a: @'say ''{''', b: "\\"{" } },
  spec: {
    containers: [
      { name: 'main', image: 'x', securityContext: { privileged: true } },
    ],
  },
}
"""
    files = {"apps/web.yaml": application(), "deploy/main.jsonnet": main}
    [finding] = findings(MemoryTree(files))
    assert (finding.file, finding.line) == ("deploy/main.jsonnet", 13)
    assert "privileged written there" in finding.extra["via"]


def test_go_jsonnet_evaluates_where_it_is_installed() -> None:
    """Argo CD and Tanka run go-jsonnet: the [jsonnet] extra installs it where it has wheels
    (this suite's platforms), and it is the evaluator used when both are installed."""
    import importlib.util

    assert jsonnet_sandbox.ENGINES[0] == "_gojsonnet"
    assert importlib.util.find_spec("_gojsonnet") is not None
    code = "std.native('gk')"  # go-jsonnet's words for calling null, not C++'s
    result = jsonnet_sandbox.evaluate("m.jsonnet", code + "(1)", _no_imports)
    assert "Unexpected type null, expected function" in result.error


def _no_imports(directory: str, path: str) -> tuple[str, bytes]:
    if path == "outside.libsonnet":
        raise jsonnet_sandbox.Refused("import outside.libsonnet: leaves the repository; not read")
    if path == "lib.libsonnet":
        return "deploy/lib.libsonnet", b"{ name: 'web' }\n"
    raise FileNotFoundError(path)


@pytest.mark.parametrize("engine", jsonnet_sandbox.ENGINES)
@pytest.mark.parametrize(
    ("code", "output", "error"),
    [
        ("{ app: (import 'lib.libsonnet').name }", {"app": "web"}, ""),
        # an import not read is an error wherever it is read, as Jsonnet's own (go-jsonnet's
        # binding misreads an error raised by the import callback: never raised)
        ("{ a: (import 'missing.libsonnet').x }", None, "couldn't open import \"missing"),
        ("{ a: std.length(importstr 'missing.txt') }", None, "couldn't open import \"missing"),
        ("{ a: std.length(importbin 'missing.bin') }", None, "couldn't open import \"missing"),
        ("{ a: importstr 'outside.libsonnet' }", None, "leaves the repository"),
        ("local unused = import 'missing.libsonnet'; { a: 1 }", {"a": 1}, ""),  # lazy
    ],
)
def test_both_evaluators_read_imports_the_same(
    monkeypatch: pytest.MonkeyPatch, engine: str, code: str, output: Any, error: str
) -> None:
    import importlib.util
    import json

    if importlib.util.find_spec(engine) is None:
        pytest.skip(f"{engine} is not installed here")
    monkeypatch.setattr(jsonnet_sandbox, "ENGINES", (engine,))
    result = jsonnet_sandbox.evaluate("deploy/main.jsonnet", code, _no_imports)
    assert (json.loads(result.output) if result.output else None) == output
    assert error in result.error and bool(error) == bool(result.error)


@pytest.mark.parametrize("importer", ["importstr", "importbin", "import"])
def test_an_import_not_served_is_said_at_its_line(importer: str) -> None:
    """An `importstr` or `importbin` not served leaves no frame in go-jsonnet's error (the
    sandbox fails the evaluation after it): said at the line that imports, as an `import` is
    and as C++ Jsonnet's error said it (line 3 on b5d3ad5; line 1 after 942f9ad)."""
    main = f"{{\n  a: 1,\n  b: std.length({importer} '/etc/hostname'),\n}}\n".encode()
    files = {"apps/web.yaml": application(), "deploy/main.jsonnet": main}
    assert found(files) == [("GK-RENDER-ERROR", "deploy/main.jsonnet", 3)]
