"""Argo CD Applications deploying from this repository: what they deploy is evaluated."""

from __future__ import annotations

from typing import Any

from gatekeeper.evaluate import Engine
from gatekeeper.policy.loader import load_policy_file
from gatekeeper.scanner import scan
from gatekeeper.sources import LoadContext
from gatekeeper.tree import MemoryTree
from tests.conftest import REPO

DATA = REPO / "tests" / "data" / "helm" / "web"
PRIVILEGED = REPO / "policies" / "kubernetes" / "pss-baseline-privileged.yaml"

APPS = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web-prod, namespace: argocd}
spec:
  project: web
  destination: {server: https://kubernetes.default.svc, namespace: web-prod}
  source:
    repoURL: https://github.com/acme/platform.git
    targetRevision: v1.0.0
    path: charts/web
    helm:
      valueFiles: [values-prod.yaml]
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: tools, namespace: argocd}
spec:
  project: tools
  destination: {namespace: tools}
  source:
    repoURL: https://github.com/acme/platform
    path: manifests/tools
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: elsewhere, namespace: argocd}
spec:
  project: x
  source: {repoURL: https://github.com/other/repo, path: manifests/tools}
"""
TOOL = """\
apiVersion: v1
kind: Pod
metadata: {name: debug}
spec:
  containers:
    - name: shell
      image: busybox:1.36
      securityContext: {privileged: true}
"""


def files() -> dict[str, bytes]:
    chart = {
        f"charts/web/{p.relative_to(DATA).as_posix()}": p.read_bytes()
        for p in DATA.rglob("*")
        if p.is_file()
    }
    return {**chart, "apps/apps.yaml": APPS.encode(), "manifests/tools/pod.yaml": TOOL.encode()}


def findings(options: dict[str, Any]) -> list[Any]:
    tree = files()
    engine = Engine([load_policy_file(PRIVILEGED)])
    context = LoadContext(tree=MemoryTree(tree), options={"gitops": options})
    pairs = [("apps/apps.yaml", tree["apps/apps.yaml"])]
    return scan(pairs, engine, 1, context).findings


def test_application_expands_its_chart_with_its_values_files_and_its_manifests() -> None:
    found = findings({"repoURLs": ["https://github.com/acme/platform"]})
    where = sorted(
        (f.source, f.file, f.line, f.namespace, f.extra.get("values", "")) for f in found
    )
    assert where == [
        (
            "helm",
            "charts/web/charts/cache/templates/pod.yaml",
            10,
            "web-prod",
            "charts/web/values-prod.yaml:8",
        ),
        (
            "helm",
            "charts/web/templates/deployment.yaml",
            25,
            "web-prod",
            "charts/web/values-prod.yaml:3",
        ),
        ("kubernetes", "manifests/tools/pod.yaml", 8, "tools", ""),
    ]
    assert {f.extra.get("exact") for f in found if f.source == "kubernetes"} == {True}


def test_application_of_another_repository_is_not_expanded() -> None:
    assert findings({}) == []


def test_multi_source_application_with_a_values_ref_to_this_repository() -> None:
    app = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web}
spec:
  project: web
  destination: {namespace: web}
  sources:
    - repoURL: https://github.com/acme/platform
      path: charts/web
      helm:
        valueFiles: [$values/charts/web/values-prod.yaml, $other/prod.yaml]
    - repoURL: https://github.com/acme/platform.git
      ref: values
    - repoURL: https://github.com/acme/elsewhere
      ref: other
"""
    tree = {**files(), "apps/apps.yaml": app.encode()}
    engine = Engine([load_policy_file(PRIVILEGED)])
    options = {"gitops": {"repoURLs": ["https://github.com/acme/platform"]}}
    context = LoadContext(tree=MemoryTree(tree), options=options)
    found = scan([("apps/apps.yaml", tree["apps/apps.yaml"])], engine, 1, context).findings
    # $other/prod.yaml is another repository's: what it sets is said not judged (blocking)
    assert sorted((f.file, f.extra.get("values")) for f in found) == [
        ("apps/apps.yaml", None),
        ("charts/web/charts/cache/templates/pod.yaml", "charts/web/values-prod.yaml:8"),
        ("charts/web/templates/deployment.yaml", "charts/web/values-prod.yaml:3"),
    ]
    assert [f.policy_id for f in found if f.file == "apps/apps.yaml"] == ["GK-LOCAL-NOT-EXPANDED"]


def scan_tree(tree: dict[str, bytes], entry: str, repo_urls: list[str]) -> list[Any]:
    engine = Engine([load_policy_file(PRIVILEGED)])
    context = LoadContext(tree=MemoryTree(tree), options={"gitops": {"repoURLs": repo_urls}})
    return scan([(entry, tree[entry])], engine, 1, context).findings


def test_repository_urls_match_in_every_spelling() -> None:
    """ssh, scp-like and https addresses of this repository are all this repository."""
    from gatekeeper.sources.gitops import normalise_url

    spellings = [
        "git@github.com:acme/platform.git",
        "ssh://git@github.com/acme/platform",
        "ssh://git@github.com:22/acme/platform.git",
        "https://github.com/acme/platform/",
        "HTTPS://GitHub.com/acme/platform.git",
    ]
    assert {normalise_url(url) for url in spellings} == {"github.com/acme/platform"}
    assert normalise_url("https://github.com/acme/platform-x") != "github.com/acme/platform"
    app = APPS.replace("https://github.com/acme/platform\n", "git@github.com:acme/platform.git\n")
    tree = {**files(), "apps/apps.yaml": app.encode()}
    found = scan_tree(tree, "apps/apps.yaml", ["https://github.com/acme/platform"])
    assert ("manifests/tools/pod.yaml", 8) in [(f.file, f.line) for f in found]


APPSET = """\
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: apps, namespace: argocd}
spec:
  goTemplate: GO
  generators:
    - git:
        repoURL: git@github.com:acme/platform.git
        revision: HEAD
        directories:
          - path: apps/*
          - path: apps/skipped
            exclude: true
    - list:
        elements:
          - ELEMENT
    - pullRequest: {github: {owner: acme, repo: platform}}
  template:
    metadata:
      name: NAME
    spec:
      project: default
      source:
        repoURL: https://github.com/acme/platform
        targetRevision: v1.0.0
        path: PATH
      destination: {server: https://kubernetes.default.svc, namespace: NAME}
"""


def test_application_set_generators_make_applications_that_are_expanded() -> None:
    """Directories matched by a git generator (one added by a PR included), list elements,
    fasttemplate and goTemplate; a pull request generator is said not to be expanded, and
    blocks as its template deploys from this repository."""
    pod = TOOL.replace("debug", "web")
    base = {
        "apps/web/pod.yaml": pod.encode(),
        "apps/skipped/pod.yaml": pod.encode(),
        "manifests/tools/pod.yaml": TOOL.encode(),
    }
    for go, name, path, element in (
        (
            "false",
            "{{path.basename}}",
            "{{path}}",
            "{path: manifests/tools, path.basename: tools}",
        ),
        (
            "true",
            "{{ .path.basename }}",
            "{{ .path.path }}",
            "{path: {path: manifests/tools, basename: tools}}",
        ),
    ):
        appset = APPSET.replace("GO", go).replace("NAME", f"'{name}'")
        appset = appset.replace("PATH", f"'{path}'").replace("ELEMENT", element)
        tree = {**base, "apps/set.yaml": appset.encode()}
        found = scan_tree(tree, "apps/set.yaml", ["https://github.com/acme/platform"])
        assert sorted((f.policy_id, f.file, f.line, f.namespace) for f in found) == [
            ("GK-LOCAL-NOT-EXPANDED", "apps/set.yaml", 17, ""),
            ("K8S-PSS-PRIVILEGED", "apps/web/pod.yaml", 8, "web"),
            ("K8S-PSS-PRIVILEGED", "manifests/tools/pod.yaml", 8, "tools"),
        ], go


def test_app_of_apps_chart_expands_the_applications_it_renders() -> None:
    chart = {
        "apps/Chart.yaml": b"apiVersion: v2\nname: apps\nversion: 0.1.0\n",
        "apps/values.yaml": b"apps: [tools]\n",
        "apps/templates/apps.yaml": b"{{- range .Values.apps }}\n---\n"
        b"apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {{ . }}\n"
        b"spec:\n  project: default\n  destination: {namespace: {{ . }}}\n  source:\n"
        b"    repoURL: https://github.com/acme/platform\n    targetRevision: v1\n"
        b"    path: manifests/{{ . }}\n{{- end }}\n",
        "manifests/tools/pod.yaml": TOOL.encode(),
    }
    found = scan_tree(chart, "apps/Chart.yaml", ["https://github.com/acme/platform"])
    assert [(f.file, f.line, f.namespace) for f in found] == [
        ("manifests/tools/pod.yaml", 8, "tools")
    ]


def test_application_set_git_files_generator_reads_parameters_from_this_repository() -> None:
    appset = """\
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: envs}
spec:
  generators:
    - git:
        repoURL: https://github.com/acme/platform
        files:
          - path: "envs/**/config.json"
  template:
    metadata: {name: '{{env}}-{{path.basename}}'}
    spec:
      project: default
      source: {repoURL: https://github.com/acme/platform, targetRevision: v1, path: '{{dir}}'}
      destination: {namespace: '{{env}}'}
"""
    tree = {
        "apps/envs.yaml": appset.encode(),
        "envs/eu/prod/config.json": b'{"env": "prod", "dir": "manifests/tools"}',
        "manifests/tools/pod.yaml": TOOL.encode(),
    }
    found = scan_tree(tree, "apps/envs.yaml", ["https://github.com/acme/platform"])
    assert [(f.file, f.line, f.namespace) for f in found] == [
        ("manifests/tools/pod.yaml", 8, "prod")
    ]


FLUX_SYNC = """\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: flux-system, namespace: flux-system}
spec:
  interval: 1m
  url: ssh://git@github.com/acme/fleet
  ref: {branch: main}
"""


def test_flux_kustomization_applies_its_path_with_post_build_substitution() -> None:
    """The bootstrap GitRepository (flux-system) is this repository: the Kustomization's path
    is judged after `${PRIVILEGED}` is substituted (and typed as a boolean, as Flux does); a
    GitRepository of another repository is not read."""
    kustomization = """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec:
  interval: 10m
  path: ./apps/prod
  prune: true
  targetNamespace: prod
  sourceRef: {kind: GitRepository, name: flux-system}
  postBuild:
    substitute: {PRIVILEGED: "true"}
"""
    pod = TOOL.replace("{privileged: true}", "\n        privileged: ${PRIVILEGED}")
    tree = {
        "clusters/prod/flux-system/gotk-sync.yaml": FLUX_SYNC.encode(),
        "clusters/prod/apps.yaml": kustomization.encode(),
        "apps/prod/pod.yaml": pod.encode(),
    }
    found = scan_tree(tree, "clusters/prod/apps.yaml", [])
    assert [(f.policy_id, f.file, f.line, f.namespace) for f in found] == [
        ("K8S-PSS-PRIVILEGED", "apps/prod/pod.yaml", 9, "prod")
    ]
    other = kustomization.replace("flux-system}", "elsewhere}")
    tree["clusters/prod/apps.yaml"] = other.encode()
    tree["clusters/prod/elsewhere.yaml"] = (
        FLUX_SYNC.replace("flux-system,", "elsewhere,").replace("acme/fleet", "acme/other").encode()
    )
    assert scan_tree(tree, "clusters/prod/apps.yaml", []) == []  # not this repository


def test_red_team_s12_t04_flux_substitutes_keys_and_flow_collections() -> None:
    """Flux substitutes the object's YAML text, keys included, and reads the result again:
    `${SC_KEY:=privileged}: true` is `privileged: true` (it passed green), and a variable
    whose value is `{privileged: true}` makes the securityContext a mapping. Unit level: the
    plain manifest's own reading (a GK-SCHEMA for the string) is another source's."""
    from gatekeeper.sources.flux import substitute

    written = {"securityContext": {"${SC_KEY:=privileged}": True}, "hostPID": "${PID}"}
    assert substitute(written, {"PID": "true"}) == {
        "securityContext": {"privileged": True},
        "hostPID": True,
    }
    assert substitute({"securityContext": "${SC}"}, {"SC": "{privileged: true}"}) == {
        "securityContext": {"privileged": True}
    }
    assert substitute({"a": "${V}"}, {"V": "b: c"}) == {"a": "b: c"}  # no flow collection
    kustomization = """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec:
  interval: 10m
  path: ./apps/prod
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
  postBuild:
    substitute: {cluster: prod}
"""
    pod = TOOL.replace("{privileged: true}", "\n        ${SC_KEY:=privileged}: true")
    tree = {
        "clusters/prod/flux-system/gotk-sync.yaml": FLUX_SYNC.encode(),
        "clusters/prod/apps.yaml": kustomization.encode(),
        "apps/prod/pod.yaml": pod.encode(),
    }
    found = scan_tree(tree, "clusters/prod/apps.yaml", [])
    assert [(f.policy_id, f.file) for f in found] == [("K8S-PSS-PRIVILEGED", "apps/prod/pod.yaml")]


def test_flux_helm_release_renders_its_chart_with_values_from_this_repository() -> None:
    release = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: web, namespace: web}
spec:
  interval: 10m
  chart:
    spec:
      chart: ./charts/web
      sourceRef: {kind: GitRepository, name: fleet, namespace: flux-system}
  valuesFrom:
    - kind: ConfigMap
      name: web-values
  values:
    cache:
      privileged: true
"""
    config = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: web-values, namespace: web}
data:
  values.yaml: |
    replicas: 2
    securityContext:
      privileged: true
"""
    fleet = FLUX_SYNC.replace("flux-system, namespace", "fleet, namespace")
    tree = {
        **{k: v for k, v in files().items() if k.startswith("charts/")},
        "clusters/fleet.yaml": fleet.encode(),
        "releases/web.yaml": release.encode(),
        "releases/values.yaml": config.encode(),
    }
    found = scan_tree(tree, "releases/web.yaml", ["git@github.com:acme/fleet.git"])
    assert sorted((f.file, f.line, f.extra.get("values")) for f in found) == [
        ("charts/web/charts/cache/templates/pod.yaml", 10, "releases/web.yaml:15"),
        ("charts/web/templates/deployment.yaml", 25, "releases/values.yaml:8"),
    ]


def test_flux_sources_are_found_however_their_kind_is_spelled() -> None:
    """Files are searched for a kind's name before they are parsed (only files that can
    declare a GitRepository are); a kind spelled with escapes or a joined line, or a file in
    UTF-16, is still found, and an object of another kind with the same name is not one."""
    fleet = FLUX_SYNC.replace("flux-system, namespace", "fleet, namespace")
    release = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: web, namespace: web}
spec:
  chart:
    spec:
      chart: ./charts/web
      sourceRef: {kind: GitRepository, name: fleet}
  values:
    cache:
      privileged: true
"""
    charts = {k: v for k, v in files().items() if k.startswith("charts/")}
    url = ["git@github.com:acme/fleet.git"]
    spellings = [
        fleet.replace("kind: GitRepository", 'kind: "Git\\u0052epository"').encode(),
        fleet.replace("kind: GitRepository", 'kind: "Git\\x52epository"').encode(),
        fleet.replace("kind: GitRepository", 'kind: "Git\\\n    Repository"').encode(),
        fleet.replace("kind: GitRepository", 'kind: "Git\\\r\n\tRepository"').encode(),
        fleet.replace("kind: GitRepository", 'kind: "Git\\\rRepository"').encode(),
        fleet.replace("kind: GitRepository", 'kind: "Git\\\u2028Repository"').encode(),
        fleet.encode("utf-16"),
        fleet.replace("kind: GitRepository", "kind: &k GitRepository")
        .replace("metadata:", "other: *k\nmetadata:")
        .encode(),
    ]
    for spelled in spellings:
        tree = {**charts, "clusters/fleet.yaml": spelled, "releases/web.yaml": release.encode()}
        assert scan_tree(tree, "releases/web.yaml", url), spelled
    named_alike = fleet.replace("kind: GitRepository", "kind: OCIRepository")
    tree = {**charts, "clusters/fleet.yaml": named_alike.encode()}
    tree["releases/web.yaml"] = release.encode()
    assert scan_tree(tree, "releases/web.yaml", url) == []
