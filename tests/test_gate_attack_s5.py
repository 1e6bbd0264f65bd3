"""Attacks on the gate from the deployer's side: options of an Argo CD Application or a Flux
object that change what is applied. What the deployer would apply is what is judged, or the
check says it cannot judge it; never a silent pass."""

from __future__ import annotations

from typing import Any

from gatekeeper.evaluate import Engine
from gatekeeper.policy.loader import load_policy_file
from gatekeeper.scanner import scan
from gatekeeper.sources import LoadContext
from gatekeeper.tree import MemoryTree
from tests.conftest import REPO

WEB = REPO / "tests" / "data" / "helm" / "web"
POLICIES = REPO / "policies" / "kubernetes"
REPO_URL = "https://github.com/acme/platform"


def chart() -> dict[str, bytes]:
    """A chart whose defaults are compliant; `securityContext` and `cache.privileged` are
    knobs a values override can turn."""
    return {
        f"charts/web/{p.relative_to(WEB).as_posix()}": p.read_bytes()
        for p in WEB.rglob("*")
        if p.is_file() and p.name != "values-prod.yaml"
    }


def scan_tree(tree: dict[str, bytes], entry: str, *policies: str) -> list[tuple[Any, ...]]:
    """(policy, file, line[, values line]) of the findings of a scan of `entry` in `tree`."""
    names = policies or ("pss-baseline-privileged",)
    engine = Engine([load_policy_file(POLICIES / f"{name}.yaml") for name in names])
    context = LoadContext(tree=MemoryTree(tree), options={"gitops": {"repoURLs": [REPO_URL]}})
    found = scan([(entry, tree[entry])], engine, 1, context).findings
    return sorted(
        (f.policy_id, f.file, f.line, *([f.extra["values"]] if "values" in f.extra else []))
        for f in found
    )


def application(source: str) -> bytes:
    """An Application deploying `charts/web` of this repository with the given extra source
    fields (indented under `source:`)."""
    head = f"""\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: web, namespace: argocd}}
spec:
  project: web
  destination: {{namespace: web}}
  source:
    repoURL: {REPO_URL}
    targetRevision: v1.0.0
    path: charts/web
"""
    return (head + source).encode()


def test_argo_helm_values_string_is_judged() -> None:
    """`helm.values` (a YAML string) overrides the chart's values as Argo CD passes it."""
    app = application(
        "    helm:\n      values: |\n        securityContext:\n          privileged: true\n"
    )
    tree = {**chart(), "apps/web.yaml": app}
    assert scan_tree(tree, "apps/web.yaml") == [
        ("K8S-PSS-PRIVILEGED", "charts/web/templates/deployment.yaml", 25, "apps/web.yaml:14")
    ]


def test_argo_helm_values_object_is_judged_over_the_string() -> None:
    app = application(
        "    helm:\n"
        "      values: 'cache: {privileged: true}'\n"
        "      valuesObject:\n"
        "        securityContext: {privileged: true}\n"
    )
    tree = {**chart(), "apps/web.yaml": app}
    # valuesObject wins over values: Argo CD passes only one of them
    assert scan_tree(tree, "apps/web.yaml") == [
        ("K8S-PSS-PRIVILEGED", "charts/web/templates/deployment.yaml", 25, "apps/web.yaml:14")
    ]


def test_argo_helm_parameters_are_judged() -> None:
    """`helm.parameters` are Helm's `--set`: typed as --set types them, over every values
    source; `forceString` keeps the string."""
    app = application(
        "    helm:\n"
        "      parameters:\n"
        "        - name: securityContext.privileged\n"
        '          value: "true"\n'
        "        - {name: cache.privileged, value: 'true', forceString: true}\n"
    )
    tree = {**chart(), "apps/web.yaml": app}
    assert scan_tree(tree, "apps/web.yaml") == [
        (
            "K8S-PSS-PRIVILEGED",
            "charts/web/charts/cache/templates/pod.yaml",
            10,
            "apps/web.yaml:15",
        ),
        ("K8S-PSS-PRIVILEGED", "charts/web/templates/deployment.yaml", 25, "apps/web.yaml:13"),
    ]


def test_helm_set_names_and_values_as_helm_reads_them() -> None:
    from gatekeeper.sources import helm_set

    assert helm_set.path_of(r"a.b\.c[1][0].d") == ["a", "b.c", 1, 0, "d"]
    typed = [helm_set.typed(t, False) for t in ("TRUE", "false", "null", "0", "42", "-3", "07")]
    assert typed == [True, False, None, 0, 42, -3, "07"]
    assert helm_set.typed("{a,1}", False) == ["a", 1]
    assert helm_set.typed("true", True) == "true"
    values = {"sidecars": [{"name": "log", "image": "busybox:1.36"}], "x": 1}
    # an index sets into the list the values files made, as Helm's --set does
    assert helm_set.apply(values, ["sidecars", 0, "image"], "busybox") == {
        "sidecars": [{"name": "log", "image": "busybox"}],
        "x": 1,
    }
    assert helm_set.apply({}, ["a", 2], True) == {"a": [None, None, True]}


FLUX_SYNC = """\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: flux-system, namespace: flux-system}
spec:
  interval: 1m
  url: https://github.com/acme/platform
  ref: {branch: main}
"""
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: ghcr.io/acme/web:1.0
          securityContext: {privileged: false}
"""


def flux_kustomization(extra: str) -> bytes:
    return (
        """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec:
  interval: 10m
  path: ./apps/web
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
"""
        + extra
    ).encode()


PRIVILEGED_PATCH = """\
    - target: {kind: Deployment}
      patch: |
        - op: replace
          path: /spec/template/spec/containers/0/securityContext/privileged
          value: true
"""


def test_flux_kustomization_patches_are_applied() -> None:
    """Flux adds `spec.patches` to the kustomization it builds (or generates one of every
    manifest when there is none): a patch in the Kustomization is judged, at its line."""
    with_kustomization = {
        "apps/web/kustomization.yaml": b"resources: [deployment.yaml]\n",
        "apps/web/deployment.yaml": DEPLOYMENT.encode(),
    }
    without = {"apps/web/deployment.yaml": DEPLOYMENT.encode()}
    for files in (with_kustomization, without):
        tree = {
            **files,
            "clusters/sync.yaml": FLUX_SYNC.encode(),
            "clusters/apps.yaml": flux_kustomization("  patches:\n" + PRIVILEGED_PATCH),
        }
        assert scan_tree(tree, "clusters/apps.yaml") == [
            ("K8S-PSS-PRIVILEGED", "clusters/apps.yaml", 9)
        ], files


def test_flux_kustomization_images_and_components_are_applied() -> None:
    tree = {
        "apps/web/kustomization.yaml": b"resources: [deployment.yaml]\n",
        "apps/web/deployment.yaml": DEPLOYMENT.encode(),
        "components/debug/kustomization.yaml": (
            "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n"
            + PRIVILEGED_PATCH
        ).encode(),
        "clusters/sync.yaml": FLUX_SYNC.encode(),
        "clusters/apps.yaml": flux_kustomization(
            "  images:\n    - {name: ghcr.io/acme/web, newTag: latest}\n"
            "  components: [../../components/debug]\n"
        ),
    }
    found = scan_tree(tree, "clusters/apps.yaml", "pss-baseline-privileged", "image-tag-pinned")
    assert found == [
        ("K8S-IMAGE-TAG-PINNED", "clusters/apps.yaml", 9),
        ("K8S-PSS-PRIVILEGED", "components/debug/kustomization.yaml", 8),
    ]


def test_argo_kustomize_options_are_applied() -> None:
    """Argo CD edits the kustomization at the Application's path with `kustomize.patches`
    (inline, or a file of the repository), `images` (`new:tag` or `old=new:tag`) and
    `components` before it builds it."""
    tree = {
        "apps/web/kustomization.yaml": b"resources: [deployment.yaml]\n",
        "apps/web/deployment.yaml": DEPLOYMENT.encode(),
        "apps/web/debug.yaml": b"- {op: add, path: /spec/template/spec/hostNetwork, value: true}\n",
    }
    app = application(
        "    kustomize:\n"
        "      images: ['ghcr.io/acme/web=ghcr.io/acme/web:latest']\n"
        "      patches:\n"
        + PRIVILEGED_PATCH.replace("    ", "        ", 1).replace("\n    ", "\n        ")
        + "        - {path: debug.yaml, target: {kind: Deployment}}\n"
    ).replace(b"path: charts/web", b"path: apps/web")
    tree["apps/web-app.yaml"] = app
    found = scan_tree(
        tree,
        "apps/web-app.yaml",
        "pss-baseline-privileged",
        "image-tag-pinned",
        "pss-baseline-host-namespaces",
    )
    assert found == [
        ("K8S-IMAGE-TAG-PINNED", "apps/web-app.yaml", 12),
        ("K8S-PSS-HOST-NAMESPACES", "apps/web-app.yaml", 13),
        ("K8S-PSS-PRIVILEGED", "apps/web-app.yaml", 13),
    ]


def helm_release(extra: str) -> bytes:
    return (
        """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: web, namespace: web}
spec:
  interval: 10m
  chart:
    spec:
      chart: ./charts/web
      sourceRef: {kind: GitRepository, name: flux-system, namespace: flux-system}
"""
        + extra
    ).encode()


def test_flux_values_from_a_target_path_and_a_secret_are_judged() -> None:
    """`valuesFrom` a ConfigMap key set at `targetPath` (typed as --set types it), and values
    from a Secret of the repository (`stringData`, or base64 `data`)."""
    config = b"""\
apiVersion: v1
kind: ConfigMap
metadata: {name: flags, namespace: web}
data:
  privileged: "true"
"""
    secret = b"""\
apiVersion: v1
kind: Secret
metadata: {name: web-values, namespace: web}
data:
  values.yaml: Y2FjaGU6IHtwcml2aWxlZ2VkOiB0cnVlfQo=
"""
    release = helm_release(
        "  valuesFrom:\n"
        "    - {kind: ConfigMap, name: flags, valuesKey: privileged,"
        " targetPath: securityContext.privileged}\n"
        "    - {kind: Secret, name: web-values}\n"
    )
    tree = {
        **chart(),
        "clusters/sync.yaml": FLUX_SYNC.encode(),
        "releases/web.yaml": release,
        "releases/flags.yaml": config,
        "releases/secret.yaml": secret,
    }
    assert scan_tree(tree, "releases/web.yaml") == [
        (
            "K8S-PSS-PRIVILEGED",
            "charts/web/charts/cache/templates/pod.yaml",
            10,
            "releases/secret.yaml:5",
        ),
        ("K8S-PSS-PRIVILEGED", "charts/web/templates/deployment.yaml", 25, "releases/flags.yaml:5"),
    ]


def test_flux_chart_values_files_replace_the_chart_defaults() -> None:
    """`chart.spec.valuesFiles` (paths in the source) are the chart's values: the chart's
    own values.yaml counts only when listed."""
    release = helm_release("      valuesFiles: [charts/web/values-debug.yaml]\n")
    tree = {
        **chart(),
        "charts/web/values-debug.yaml": (
            b"image: {repository: web, tag: latest}\nsecurityContext:\n  privileged: true\n"
        ),
        "clusters/sync.yaml": FLUX_SYNC.encode(),
        "releases/web.yaml": release,
    }
    found = scan_tree(tree, "releases/web.yaml", "pss-baseline-privileged", "image-tag-pinned")
    assert ("K8S-PSS-PRIVILEGED", "charts/web/templates/deployment.yaml", 25) in [
        f[:3] for f in found
    ]
    assert ("K8S-IMAGE-TAG-PINNED", "charts/web/templates/deployment.yaml", 23) in [
        f[:3] for f in found
    ]


def test_flux_post_build_substitute_from_config_maps_and_secrets() -> None:
    """`postBuild.substituteFrom` ConfigMaps and Secrets of the repository give the
    variables (`substitute` wins over them); a variable with no value anywhere is
    replaced by its default, else left for the gate to say it cannot judge it."""
    pod = DEPLOYMENT.replace("{privileged: false}", "\n            privileged: ${PRIVILEGED}")
    variables = b"""\
apiVersion: v1
kind: ConfigMap
metadata: {name: vars, namespace: flux-system}
data: {PRIVILEGED: "true"}
"""
    tree = {
        "apps/web/deployment.yaml": pod.encode(),
        "clusters/sync.yaml": FLUX_SYNC.encode(),
        "clusters/vars.yaml": variables,
        "clusters/apps.yaml": flux_kustomization(
            "  postBuild:\n    substituteFrom:\n      - {kind: ConfigMap, name: vars}\n"
        ),
    }
    assert [f[:3] for f in scan_tree(tree, "clusters/apps.yaml")] == [
        ("K8S-PSS-PRIVILEGED", "apps/web/deployment.yaml", 13)
    ]


def test_flux_post_renderers_are_not_passed_silently() -> None:
    release = helm_release(
        "  postRenderers:\n"
        "    - kustomize:\n"
        "        patches:\n"
        + PRIVILEGED_PATCH.replace("\n    ", "\n          ").replace("    - ", "          - ", 1)
    )
    tree = {**chart(), "clusters/sync.yaml": FLUX_SYNC.encode(), "releases/web.yaml": release}
    found = scan_tree(tree, "releases/web.yaml")
    assert [f[:3] for f in found] == [("K8S-PSS-PRIVILEGED", "releases/web.yaml", 12)]


def test_post_rendered_fields_the_patch_left_stay_at_the_chart_lines() -> None:
    """A post-renderer that patches something else leaves every finding where the chart
    wrote it; one that retags the image is at the HelmRelease."""
    release = helm_release(
        "  values:\n    securityContext: {privileged: true}\n"
        "  postRenderers:\n"
        "    - kustomize:\n"
        "        images: [{name: ghcr.io/acme/web, newTag: latest}]\n"
    )
    tree = {**chart(), "clusters/sync.yaml": FLUX_SYNC.encode(), "releases/web.yaml": release}
    found = scan_tree(tree, "releases/web.yaml", "pss-baseline-privileged", "image-tag-pinned")
    assert found == [
        ("K8S-IMAGE-TAG-PINNED", "releases/web.yaml", 14),
        ("K8S-PSS-PRIVILEGED", "charts/web/templates/deployment.yaml", 25, "releases/web.yaml:11"),
    ]


def test_a_helm_release_patched_by_an_overlay_deploys_the_patched_values() -> None:
    """Flux's usual layout: a base HelmRelease and a production overlay that patches its
    `spec.values`; the overlay's HelmRelease is what is applied, so it is expanded too."""
    base = helm_release("  values:\n    replicaCount: 2\n")
    patch = b"""\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: web, namespace: web}
spec:
  values:
    securityContext: {privileged: true}
"""
    tree = {
        **chart(),
        "clusters/sync.yaml": FLUX_SYNC.encode(),
        "apps/base/release.yaml": base,
        "apps/base/kustomization.yaml": b"resources: [release.yaml]\n",
        "apps/prod/kustomization.yaml": b"resources: [../base]\npatches: [{path: values.yaml}]\n",
        "apps/prod/values.yaml": patch,
    }
    found = scan_tree(tree, "apps/prod/kustomization.yaml")
    assert found == [
        (
            "K8S-PSS-PRIVILEGED",
            "charts/web/templates/deployment.yaml",
            25,
            "apps/prod/values.yaml:6",
        ),
    ]


APPSET = """\
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: web, namespace: argocd}
spec:
  goTemplate: true
  generators:
GENERATORS
  template:
    metadata: {name: '{{ .name }}'}
    spec:
      project: default
      source: {repoURL: https://github.com/acme/platform, targetRevision: v1, path: charts/web}
      destination: {namespace: '{{ .name }}'}
PATCH"""


def application_set(generators: str, patch: str = "") -> bytes:
    return APPSET.replace("GENERATORS\n", generators).replace("PATCH", patch).encode()


def test_application_set_template_patch_is_applied() -> None:
    """`templatePatch` (a templated YAML patch over each Application) can add Helm values:
    it is rendered and merged; its control lines (`{{- if }}`) are taken on every branch."""
    patch = (
        "  templatePatch: |\n"
        "    {{- if .debug }}\n"
        "    spec:\n"
        "      source:\n"
        "        helm:\n"
        "          valuesObject:\n"
        "            securityContext: {privileged: true}\n"
        "    {{- end }}\n"
    )
    generators = "    - list:\n        elements: [{name: web, debug: 'true'}]\n"
    tree = {**chart(), "apps/set.yaml": application_set(generators, patch)}
    assert [f[:3] for f in scan_tree(tree, "apps/set.yaml")] == [
        ("K8S-PSS-PRIVILEGED", "charts/web/templates/deployment.yaml", 25)
    ]


def test_application_set_merge_generator_and_elements_yaml_are_expanded() -> None:
    """A `merge` generator over generators of this repository, and `elementsYaml`, make
    Applications like any other generator (they were said to need a cluster)."""
    merge = (
        "    - merge:\n"
        "        mergeKeys: [name]\n"
        "        generators:\n"
        "          - list:\n"
        "              elementsYaml: '[{name: web, values: \"cache: {privileged: false}\"}]'\n"
        "          - list:\n"
        "              elements: [{name: web, values: 'cache: {privileged: true}'}]\n"
    )
    tree = {**chart(), "apps/set.yaml": application_set(merge)}
    tree["apps/set.yaml"] = tree["apps/set.yaml"].replace(
        b"path: charts/web}", b"path: charts/web, helm: {values: '{{ .values }}'}}"
    )
    assert [f[:3] for f in scan_tree(tree, "apps/set.yaml")] == [
        ("K8S-PSS-PRIVILEGED", "charts/web/charts/cache/templates/pod.yaml", 10)
    ]


def test_a_template_patch_that_cannot_be_read_is_said() -> None:
    """Not YAML once rendered, or not a Go template at all."""
    for text in ("spec: [{{ .name }}", "spec: {{ .name"):
        patch = f"  templatePatch: |\n    {text}\n"
        generators = "    - list:\n        elements: [{name: web}]\n"
        tree = {**chart(), "apps/set.yaml": application_set(generators, patch)}
        assert scan_tree(tree, "apps/set.yaml") == [("GK-RENDER-ERROR", "apps/set.yaml", 15)]


def test_jsonnet_and_plugins_of_a_directory_application_are_not_passed_silently() -> None:
    """Argo CD evaluates the `.jsonnet` files of a directory Application beside its YAML: a
    privileged pod written in Jsonnet is judged (it used to be skipped while the YAML beside
    it passed; then said not to be judged). A plugin source is said to be judged only as
    files."""
    app = application("").replace(b"path: charts/web", b"path: deploy")
    pod = b"{apiVersion: 'v1', kind: 'Pod', metadata: {name: 'debug'},\n"
    pod += b" spec: {containers: [{name: 'x', securityContext: {privileged: true}}]}}\n"
    tree = {
        "deploy/service.yaml": b"apiVersion: v1\nkind: Service\nmetadata: {name: web}\n",
        "deploy/debug.jsonnet": pod,
        "deploy/lib.libsonnet": b"{}\n",
        "apps/web.yaml": app,
    }
    found = scan_tree(tree, "apps/web.yaml")
    assert found == [("K8S-PSS-PRIVILEGED", "deploy/debug.jsonnet", 2)]
    plugin = app + b"    plugin: {name: avp}\n"
    tree["apps/web.yaml"] = plugin
    assert scan_tree(tree, "apps/web.yaml") == [("GK-NOT-EXPANDED", "apps/web.yaml", 11)]


def test_a_helm_release_chart_ref_to_a_helm_chart_of_this_repository_is_rendered() -> None:
    release = b"""\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: web, namespace: web}
spec:
  chartRef: {kind: HelmChart, name: web}
"""
    helm_chart = b"""\
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmChart
metadata: {name: web, namespace: web}
spec:
  chart: ./charts/web
  sourceRef: {kind: GitRepository, name: flux-system}
  valuesFiles: [charts/web/values.yaml, charts/web/values-debug.yaml]
"""
    tree = {
        **chart(),
        "charts/web/values-debug.yaml": b"securityContext: {privileged: true}\n",
        "clusters/sync.yaml": FLUX_SYNC.encode(),
        "releases/web.yaml": release,
        "releases/chart.yaml": helm_chart,
    }
    assert [f[:3] for f in scan_tree(tree, "releases/web.yaml")] == [
        ("K8S-PSS-PRIVILEGED", "charts/web/templates/deployment.yaml", 25)
    ]


def test_a_flux_kustomization_path_not_in_the_repository_is_said() -> None:
    tree = {
        "clusters/sync.yaml": FLUX_SYNC.encode(),
        "clusters/apps.yaml": flux_kustomization("").replace(b"./apps/web", b"./apps/gone"),
    }
    assert scan_tree(tree, "clusters/apps.yaml") == [("GK-RENDER-ERROR", "clusters/apps.yaml", 6)]


def test_repository_urls_match_as_the_git_host_does() -> None:
    """GitHub clones `Acme/Platform` and `www.github.com` as this repository: an Application
    spelling the URL so still deploys from here, and is judged."""
    from gatekeeper.sources.gitops import normalise_url

    for spelling in (
        "https://github.com/Acme/PLATFORM.git",
        "https://www.github.com/acme/platform",
    ):
        assert normalise_url(spelling) == normalise_url(REPO_URL), spelling
        app = application("    helm: {valuesObject: {securityContext: {privileged: true}}}\n")
        tree = {**chart(), "apps/web.yaml": app.replace(REPO_URL.encode(), spelling.encode())}
        assert [f[:3] for f in scan_tree(tree, "apps/web.yaml")] == [
            ("K8S-PSS-PRIVILEGED", "charts/web/templates/deployment.yaml", 25)
        ], spelling


def pinned(
    tmp_path: Any,
    deployer: dict[str, str],
    pin: dict[str, str],
    evil: dict[str, str] | None = None,
    branch: str = "",
) -> list[Any]:
    """(policy, file, line) blocking a pull request that applies `pin` to a repository whose
    `deployer` files deploy apps/web, after a tag v9.9.9 was pushed from an unreviewed
    commit making it privileged (and writing `evil`); then the same without the tag (a
    shallow checkout). With `branch`: that branch of the remote holds the unreviewed commit
    instead (as a checkout with fetch-depth 0 has it), then is not fetched."""
    from gatekeeper.change import scan_change
    from tests.test_change import Repo

    repo = Repo(tmp_path / "repo")
    gitops = f"sources: {{gitops: {{repoURLs: [{REPO_URL}]}}}}\n"
    repo.write(".gatekeeper.yml", "builtin: false\npolicies: [{path: policies}]\n" + gitops)
    repo.write("policies/privileged.yaml", (POLICIES / "pss-baseline-privileged.yaml").read_text())
    repo.write("apps/web/pod.yaml", DEPLOYMENT)
    for name, text in deployer.items():
        repo.write(name, text)
    repo.commit("base")
    repo.branch(branch or "evil")
    repo.write("apps/web/pod.yaml", DEPLOYMENT.replace("privileged: false", "privileged: true"))
    for name, text in (evil or {}).items():
        repo.write(name, text)
    repo.commit("unreviewed")
    if branch:
        repo.git.git.update_ref(f"refs/remotes/origin/{branch}", branch)
    else:
        repo.git.git.tag("v9.9.9")
    repo.git.git.checkout("-q", "main")
    if branch:
        repo.git.git.branch("-q", "-D", branch)
    repo.branch("pr")
    for name, text in pin.items():
        repo.write(name, text)
    repo.commit("pin")
    found = []
    for fetched in (True, False):
        if not fetched and branch:
            repo.git.git.update_ref("-d", f"refs/remotes/origin/{branch}")
        elif not fetched:
            repo.git.git.tag("-d", "v9.9.9")
        verdict = scan_change(repo.root, "main").verdict
        found.append([(f.policy_id, f.file, f.line) for f in verdict.findings if f.blocking])
    return found


def test_an_application_pinned_to_another_revision_is_judged_there(tmp_path: Any) -> None:
    """A pull request points an Application of this repository at a tag pushed from an
    unreviewed commit: Argo CD deploys the tag, so the tag's files are judged, at the
    `targetRevision` line; a tag the checkout lacks is said not to be judged."""
    tracking = application("").replace(b"charts/web", b"apps/web").replace(b"v1.0.0", b"main")
    app = {"apps/web.yaml": tracking.decode()}
    pin = {"apps/web.yaml": tracking.replace(b"main", b"v9.9.9").decode()}
    assert pinned(tmp_path, app, pin) == [
        [("K8S-PSS-PRIVILEGED", "apps/web.yaml", 9)],
        [("GK-REVISION-UNSEEN", "apps/web.yaml", 9)],
    ]


def test_an_application_set_reading_another_revision_reads_it_there(tmp_path: Any) -> None:
    """A git files generator pinned to the unreviewed tag takes its parameters (here the
    Helm values of each Application) from that tag; one naming a branch other than the
    base (r33, eighth session) from that branch's tip."""
    generator = (
        "    - git:\n"
        f"        repoURL: {REPO_URL}\n"
        "        revision: main\n"
        "        files: [{path: 'envs/*.json'}]\n"
    )
    appset = (
        application_set(generator)
        .replace(b"path: charts/web}", b"path: charts/web, helm: {values: '{{ .values }}'}}")
        .replace(b"targetRevision: v1", b"targetRevision: main")
    )
    env = '{"name": "web", "values": "cache: {privileged: PRIVILEGED}"}'
    files = {**{k: v.decode() for k, v in chart().items()}, "apps/set.yaml": appset.decode()}
    files["envs/prod.json"] = env.replace("PRIVILEGED", "false")
    evil = {"envs/prod.json": env.replace("PRIVILEGED", "true")}
    for revision, branch in (("v9.9.9", ""), ("tweak-prod", "tweak-prod")):
        pin = {"apps/set.yaml": appset.decode().replace("revision: main", f"revision: {revision}")}
        found = pinned(tmp_path / revision, files, pin, evil, branch)
        privileged = [("K8S-PSS-PRIVILEGED", "charts/web/charts/cache/templates/pod.yaml", 10)]
        assert found[0] == privileged, revision
        assert found[1] == [("GK-REVISION-UNSEEN", "apps/set.yaml", 9)], revision


def test_a_flux_source_pinned_to_another_revision_is_judged_there(tmp_path: Any) -> None:
    flux = {"clusters/apps.yaml": flux_kustomization("").decode(), "clusters/sync.yaml": FLUX_SYNC}
    pin = {"clusters/sync.yaml": FLUX_SYNC.replace("{branch: main}", "{tag: v9.9.9}")}
    assert pinned(tmp_path, flux, pin) == [
        [("K8S-PSS-PRIVILEGED", "clusters/apps.yaml", 8)],
        [("GK-REVISION-UNSEEN", "clusters/apps.yaml", 8)],
    ]


def test_a_keda_scaled_job_is_judged_as_the_jobs_it_starts() -> None:
    scaled = b"""\
apiVersion: keda.sh/v1alpha1
kind: ScaledJob
metadata: {name: worker}
spec:
  jobTargetRef:
    template:
      spec:
        containers:
          - name: worker
            image: ghcr.io/acme/worker:1.0
            securityContext: {privileged: true}
  triggers: [{type: cron, metadata: {start: 0 * * * *, end: 5 * * * *}}]
"""
    tree = {"jobs/worker.yaml": scaled}
    assert scan_tree(tree, "jobs/worker.yaml") == [("K8S-PSS-PRIVILEGED", "jobs/worker.yaml", 11)]


def test_helm_values_from_a_generated_config_map_are_judged() -> None:
    """Flux's documented pattern: the HelmRelease's values ConfigMap is made by the
    kustomization's configMapGenerator from a values file; the built HelmRelease reads it."""
    release = helm_release("  valuesFrom:\n    - {kind: ConfigMap, name: web-values}\n")
    tree = {
        **chart(),
        "clusters/sync.yaml": FLUX_SYNC.encode(),
        "apps/web/release.yaml": release,
        "apps/web/values.yaml": b"securityContext: {privileged: true}\n",
        "apps/web/kustomization.yaml": b"""\
resources: [release.yaml]
configMapGenerator:
  - name: web-values
    namespace: web
    files: [values.yaml=values.yaml]
generatorOptions: {disableNameSuffixHash: true}
""",
    }
    found = scan_tree(tree, "apps/web/kustomization.yaml")
    assert [f[:3] for f in found] == [
        ("K8S-PSS-PRIVILEGED", "charts/web/templates/deployment.yaml", 25)
    ]


def test_a_matrix_whose_second_generator_uses_the_first_is_expanded() -> None:
    """Argo CD's documented matrix: git directories, then a git files generator under each
    directory found (`{{ .path.path }}/config.json`); it made no Application here."""
    matrix = (
        "    - matrix:\n"
        "        generators:\n"
        "          - git:\n"
        f"              repoURL: {REPO_URL}\n"
        "              directories: [{path: envs/*}]\n"
        "          - git:\n"
        f"              repoURL: {REPO_URL}\n"
        "              files: [{path: '{{ .path.path }}/config.json'}]\n"
    )
    tree = {
        **chart(),
        "envs/prod/config.json": b'{"name": "web", "values": "cache: {privileged: true}"}',
        "apps/set.yaml": application_set(matrix).replace(
            b"path: charts/web}", b"path: charts/web, helm: {values: '{{ .values }}'}}"
        ),
    }
    assert [f[:3] for f in scan_tree(tree, "apps/set.yaml")] == [
        ("K8S-PSS-PRIVILEGED", "charts/web/charts/cache/templates/pod.yaml", 10)
    ]


def test_missing_values_files_argo_cd_is_told_to_ignore_are_quiet() -> None:
    """`ignoreMissingValueFiles` (the ApplicationSet default/override pattern): a missing
    file is skipped as Argo CD skips it; without it a missing file is an error."""
    options = "    helm:\n      valueFiles: [values-missing.yaml]\n"
    tree = {
        **chart(),
        "apps/web.yaml": application(options + "      ignoreMissingValueFiles: true\n"),
    }
    assert scan_tree(tree, "apps/web.yaml") == []
    tree["apps/web.yaml"] = application(options)
    assert scan_tree(tree, "apps/web.yaml") == [("GK-RENDER-ERROR", "apps/web.yaml", 12)]


def test_a_directory_application_judges_what_its_include_and_exclude_let_through() -> None:
    app = application(
        "    directory: {recurse: true, include: '{*.yaml,*.json}', exclude: 'test/*'}\n"
    )
    pod = b"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostNetwork: true\n"
    tree = {
        "deploy/a.yaml": pod,
        "deploy/b.json": b'{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "q"},'
        b' "spec": {"hostNetwork": true}}',
        "deploy/c.yml": pod.replace(b"name: p", b"name: r"),
        "deploy/test/d.yaml": pod.replace(b"name: p", b"name: s"),
        "apps/web.yaml": app.replace(b"path: charts/web", b"path: deploy"),
    }
    found = scan_tree(tree, "apps/web.yaml", "pss-baseline-host-namespaces")
    assert found == [
        ("K8S-PSS-HOST-NAMESPACES", "deploy/a.yaml", 5),
        ("K8S-PSS-HOST-NAMESPACES", "deploy/b.json", 1),
    ]
    from gatekeeper.sources.gitops import _glob

    assert [_glob(p, "a/b.yaml") for p in ("*.yaml", "a/{b,c}.yaml", "[ab]*", "{a")] == [
        True,
        True,
        None,
        None,
    ]


def test_a_directory_deployer_applies_chart_templates_as_written() -> None:
    """An Application (or a Flux Kustomization) pointed at a chart's templates/ folder
    applies its files as plain manifests: one the chart itself never renders (.helmignore)
    is still judged there."""
    pod = DEPLOYMENT.replace("privileged: false", "privileged: true").encode()
    app = application("    directory: {recurse: true}\n")
    tree = {
        **chart(),
        "charts/web/.helmignore": b"templates/debug.yaml\n",
        "charts/web/templates/debug.yaml": pod,
        "apps/web.yaml": app.replace(b"path: charts/web", b"path: charts/web/templates"),
        "clusters/sync.yaml": FLUX_SYNC.encode(),
        "clusters/apps.yaml": flux_kustomization("").replace(
            b"./apps/web", b"./charts/web/templates"
        ),
    }
    for entry in ("apps/web.yaml", "clusters/apps.yaml"):
        found = [f[:3] for f in scan_tree(tree, entry)]
        assert ("K8S-PSS-PRIVILEGED", "charts/web/templates/debug.yaml", 12) in found, entry


def test_sops_encrypted_variables_are_not_substituted_as_ciphertext() -> None:
    """A SOPS-encrypted Secret's values are ciphertext here: its variables stay unknown
    (a whole-value one in a boolean field is then a GK-SCHEMA finding), not `ENC[...]`."""
    pod = DEPLOYMENT.replace("{privileged: false}", "\n            privileged: ${PRIVILEGED}")
    secret = b"""\
apiVersion: v1
kind: Secret
metadata: {name: vars, namespace: flux-system}
stringData: {PRIVILEGED: "ENC[AES256_GCM,data:abc,type:str]"}
sops: {version: 3.8.1}
"""
    tree = {
        "apps/web/deployment.yaml": pod.encode(),
        "clusters/sync.yaml": FLUX_SYNC.encode(),
        "clusters/vars.yaml": secret,
        "clusters/apps.yaml": flux_kustomization(
            "  postBuild:\n    substituteFrom:\n      - {kind: Secret, name: vars}\n"
        ),
    }
    found = scan_tree(tree, "clusters/apps.yaml")
    assert [f[:2] for f in found] == [
        ("GK-NOT-EXPANDED", "clusters/apps.yaml"),  # ${PRIVILEGED} said unknown (noise5)
        ("GK-SCHEMA", "apps/web/deployment.yaml"),
    ]
    from gatekeeper.sources import flux
    from gatekeeper.sources.kubernetes import load

    kustomization = load("clusters/apps.yaml", tree["clusters/apps.yaml"]).documents[0]
    post_build = kustomization.obj["spec"]["postBuild"]
    assert flux._variables(post_build, kustomization, MemoryTree(tree)) == [{}]


def test_ill_typed_deployer_options_are_findings_not_tracebacks() -> None:
    """Every new option read with a value of the wrong type: the scan goes on, and no
    adapter error is turned into a parse error at line 1."""
    cases = [
        ("apps/web.yaml", application("    helm: {values: 5, parameters: [5, {name: 'a[x'}]}\n")),
        ("apps/web.yaml", application("    kustomize: {patches: x, images: [5, '=']}\n")),
        ("apps/web.yaml", application("    directory: {include: 5}\n    targetRevision: [1]\n")),
        ("clusters/apps.yaml", flux_kustomization("  patches: [5]\n  postBuild: 5\n")),
        ("r.yaml", helm_release("  valuesFrom: [5]\n  postRenderers: [5, {kustomize: 5}]\n")),
        ("apps/set.yaml", application_set("    - merge: {generators: x, mergeKeys: 5}\n")),
        (
            "apps/set.yaml",
            application_set("    - list: {elementsYaml: 5}\n", "  templatePatch: 5\n"),
        ),
    ]
    for entry, text in cases:
        tree = {**chart(), "clusters/sync.yaml": FLUX_SYNC.encode(), entry: text}
        engine = Engine([load_policy_file(POLICIES / "pss-baseline-privileged.yaml")])
        context = LoadContext(tree=MemoryTree(tree), options={"gitops": {"repoURLs": [REPO_URL]}})
        found = scan([(entry, text)], engine, 1, context).findings
        assert not [f for f in found if f.message.startswith("kubernetes:")], (entry, text)


def test_an_application_of_this_repository_without_a_path_deploys_its_root() -> None:
    app = application("").replace(b"    path: charts/web\n", b"")
    pod = DEPLOYMENT.replace("privileged: false", "privileged: true").encode()
    tree = {"debug.yaml": pod, "apps/web.yaml": app}
    assert scan_tree(tree, "apps/web.yaml") == [("K8S-PSS-PRIVILEGED", "debug.yaml", 12)]
    values_only = app.replace(
        b"targetRevision: v1.0.0\n", b"targetRevision: v1.0.0\n    ref: values\n"
    )
    tree["apps/web.yaml"] = values_only
    assert scan_tree(tree, "apps/web.yaml") == []


def test_values_of_a_ref_pinned_to_another_revision_are_said_not_judged(tmp_path: Any) -> None:
    """A multi-source Application whose `$values` ref names the unreviewed tag takes its
    Helm values from there; they are not read here, so the check says so, blocking."""
    app = f"""\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: web, namespace: argocd}}
spec:
  project: web
  destination: {{namespace: web}}
  sources:
    - {{repoURL: {REPO_URL}, targetRevision: main, path: charts/web,
       helm: {{valueFiles: [$values/envs/prod.yaml]}}}}
    - {{repoURL: {REPO_URL}, targetRevision: main, ref: values}}
"""
    files = {**{k: v.decode() for k, v in chart().items()}, "apps/web.yaml": app}
    files["envs/prod.yaml"] = "cache: {privileged: false}\n"
    evil = {"envs/prod.yaml": "cache: {privileged: true}\n"}
    pin = {"apps/web.yaml": app.replace("main, ref", "v9.9.9, ref")}
    found = pinned(tmp_path, files, pin, evil)
    assert found == [[("GK-REVISION-UNSEEN", "apps/web.yaml", 10)]] * 2


def test_a_literal_secret_in_flux_chart_values_files_is_said_once_at_its_line() -> None:
    """The values files replace the chart's defaults (an entry of nulls and their values
    that no file holds as written): the literal is said at the file that writes it, once
    (s24: the replacing entry had no place of its own and crashed the scan with exit 3)."""
    release = helm_release("      valuesFiles: [charts/web/values-debug.yaml]\n")
    tree = {
        **chart(),
        "charts/web/values-debug.yaml": b"image: {repository: web}\nauth:\n  password: hunter2x\n",
        "clusters/sync.yaml": FLUX_SYNC.encode(),
        "releases/web.yaml": release,
    }
    found = scan_tree(tree, "releases/web.yaml", "configmap-secrets")
    assert [f[:3] for f in found if f[0] == "GK-CHART-VALUES-SECRET"] == [
        ("GK-CHART-VALUES-SECRET", "charts/web/values-debug.yaml", 3)
    ]
