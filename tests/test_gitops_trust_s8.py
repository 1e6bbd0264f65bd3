"""Red-team bypasses of the eighth session: what Argo CD or Flux would deploy from this
repository that the check judged differently. Each is a pull request that got a green check
while the deployer applied a privileged workload."""

from __future__ import annotations

from typing import Any

from tests.test_gate_attack_s5 import (
    DEPLOYMENT,
    FLUX_SYNC,
    POLICIES,
    PRIVILEGED_PATCH,
    REPO_URL,
    application,
    application_set,
    chart,
    flux_kustomization,
    pinned,
    scan_tree,
)


def on_branch(
    tmp_path: Any,
    deployer: dict[str, str],
    pin: dict[str, str],
    evil: dict[str, str] | None = None,
    branch: str = "v2.0.1",
) -> list[Any]:
    """What blocks a pull request applying `pin` while branch `branch` of the remote holds
    an unreviewed commit making apps/web privileged; then the same without that branch."""
    return pinned(tmp_path, deployer, pin, evil, branch)


TRACKING = application("").replace(b"charts/web", b"apps/web").replace(b"v1.0.0", b"main")


def test_an_application_on_another_branch_named_like_a_tag_is_judged_at_its_tip(
    tmp_path: Any,
) -> None:
    """r02: `targetRevision: v2.0.1` is a branch of the remote, not a tag: Argo CD deploys its
    tip, which nobody reviewed; it is judged there, or said not judged when not fetched."""
    app = {"apps/web.yaml": TRACKING.decode()}
    pin = {"apps/web.yaml": TRACKING.replace(b"main", b"v2.0.1").decode()}
    assert on_branch(tmp_path, app, pin) == [
        [("K8S-PSS-PRIVILEGED", "apps/web.yaml", 9)],
        [("GK-REVISION-UNSEEN", "apps/web.yaml", 9)],
    ]


def test_an_application_on_the_base_branch_is_judged_as_the_change(tmp_path: Any) -> None:
    """The branch the pull request lands on (written as the remote's, too) is the tree at
    hand: no finding for a compliant change, however the base is spelled."""
    from gatekeeper.change import scan_change
    from tests.test_change import Repo

    repo = Repo(tmp_path / "repo")
    repo.write(".gatekeeper.yml", f"sources: {{gitops: {{repoURLs: [{REPO_URL}]}}}}\n")
    repo.write("apps/web/pod.yaml", DEPLOYMENT)
    repo.commit("base")
    repo.git.git.update_ref("refs/remotes/origin/main", "main")
    repo.branch("pr")
    repo.write("apps/web.yaml", TRACKING.decode())  # added: its every line is judged
    head = repo.commit("pr")
    for base in ("main", "origin/main", "refs/remotes/origin/main", "refs/heads/main"):
        findings = scan_change(repo.root, base).verdict.findings
        assert [f.policy_id for f in findings if f.policy_id.startswith("GK-")] == [], base
    repo.git.git.checkout("-q", head)  # detached, as a CI checkout of the merge commit
    findings = scan_change(repo.root, repo.git.head.commit.parents[0].hexsha).verdict.findings
    assert [f.policy_id for f in findings if f.policy_id.startswith("GK-")] == []
    # the control: a branch the change does not land on is not the tree at hand
    repo.write("apps/web.yaml", TRACKING.decode().replace("main", "release"))
    repo.commit("release")
    findings = scan_change(repo.root, "main").verdict.findings
    assert [f.policy_id for f in findings if f.policy_id.startswith("GK-")] == [
        "GK-REVISION-UNSEEN"
    ]


def test_a_flux_ref_name_wins_over_the_tag_beside_it(tmp_path: Any) -> None:
    """r01: Flux checks out `ref.name` before `ref.tag`: a pull request's ref or another
    branch is judged at its tip, or said not judged."""
    flux = {"clusters/apps.yaml": flux_kustomization("").decode(), "clusters/sync.yaml": FLUX_SYNC}
    for name in ("refs/heads/v2.0.1", "refs/remotes/origin/v2.0.1"):
        ref = "{tag: v1.0.0, name: NAME}".replace("NAME", name)
        pin = {"clusters/sync.yaml": FLUX_SYNC.replace("{branch: main}", ref)}
        found = on_branch(tmp_path / name.replace("/", "-"), flux, pin)
        assert found == [
            [("K8S-PSS-PRIVILEGED", "clusters/apps.yaml", 8)],
            [("GK-REVISION-UNSEEN", "clusters/apps.yaml", 8)],
        ], name
    pin = {"clusters/sync.yaml": FLUX_SYNC.replace("{branch: main}", "{name: refs/pull/7/head}")}
    assert on_branch(tmp_path / "pull", flux, pin)[0] == [
        ("GK-REVISION-UNSEEN", "clusters/apps.yaml", 8)
    ]


def test_a_flux_branch_other_than_the_base_is_judged_at_its_tip(tmp_path: Any) -> None:
    flux = {"clusters/apps.yaml": flux_kustomization("").decode(), "clusters/sync.yaml": FLUX_SYNC}
    pin = {"clusters/sync.yaml": FLUX_SYNC.replace("{branch: main}", "{branch: v2.0.1}")}
    assert on_branch(tmp_path, flux, pin) == [
        [("K8S-PSS-PRIVILEGED", "clusters/apps.yaml", 8)],
        [("GK-REVISION-UNSEEN", "clusters/apps.yaml", 8)],
    ]


def test_a_cluster_generator_deploying_a_local_chart_is_judged() -> None:
    """r06: the clusters generator (alone or in a matrix) stamps the template for every
    cluster; its chart of this repository is judged with the cluster's names unknown."""
    values = "{name: web, helm: {valuesObject: {securityContext: {privileged: true}}}}"
    template = b"path: charts/web}"
    patched = b"path: charts/web, helm: {valuesObject: {securityContext: {privileged: true}}}}"
    for generator in (
        "    - clusters: {selector: {matchLabels: {env: prod}}}\n",
        "    - matrix:\n"
        "        generators:\n"
        "          - clusters: {selector: {matchLabels: {env: prod}}}\n"
        f"          - list: {{elements: [{values}]}}\n",
    ):
        appset = application_set(generator).replace(template, patched)
        tree = {**chart(), "apps/set.yaml": appset}
        assert [f[:3] for f in scan_tree(tree, "apps/set.yaml")] == [
            ("K8S-PSS-PRIVILEGED", "charts/web/templates/deployment.yaml", 25)
        ], generator


def test_generators_not_expanded_block_when_they_deploy_from_here() -> None:
    """A generator listing its Applications from an API (pull requests, a plugin) is not
    expanded: blocking when its template deploys this repository, low for another's."""
    generator = "    - pullRequest: {github: {owner: acme, repo: platform}}\n"
    told = application_set(generator).replace(
        b"path: charts/web}",
        b"path: charts/web, helm: {parameters: [{name: x, value: '{{ .y }}'}]}}",
    )
    tree = {**chart(), "apps/set.yaml": told}
    assert [f[:3] for f in scan_tree(tree, "apps/set.yaml")] == [
        ("GK-LOCAL-NOT-EXPANDED", "apps/set.yaml", 7)
    ]
    # Only names and destinations from the parameters: the chart is judged as stamped with
    # them unknown (session 10, r17), which clusters and names stays a low note.
    tree = {**chart(), "apps/set.yaml": application_set(generator)}
    assert [f[:3] for f in scan_tree(tree, "apps/set.yaml")] == [
        ("GK-NOT-EXPANDED", "apps/set.yaml", 7)
    ]
    foreign = application_set(generator).replace(b"acme/platform,", b"acme/other,")
    tree = {**chart(), "apps/set.yaml": foreign}
    assert [f[:3] for f in scan_tree(tree, "apps/set.yaml")] == [
        ("GK-NOT-EXPANDED", "apps/set.yaml", 7)
    ]


def test_a_plugin_told_how_to_render_a_local_path_blocks() -> None:
    """r06: a config management plugin given env or parameters (HELM_ARGS=--set ...) makes
    something other than the files judged: blocking; one without is a low note."""
    plugin = "    plugin:\n      name: helm-args\n"
    env = "      env: [{name: HELM_ARGS, value: '--set securityContext.privileged=true'}]\n"
    for extra, code in ((plugin + env, "GK-LOCAL-NOT-EXPANDED"), (plugin, "GK-NOT-EXPANDED")):
        tree = {**chart(), "apps/web.yaml": application(extra)}
        assert [f[:3] for f in scan_tree(tree, "apps/web.yaml")] == [(code, "apps/web.yaml", 11)]


def test_a_template_patch_takes_the_branch_its_parameters_choose() -> None:
    """r05: `{{ if }}`/`{{ else }}` branches of a templatePatch were all taken, the last
    duplicate key winning: the `prod` element's privileged branch was overwritten by the
    `else` branch. Go's engine renders the patch per element."""
    patch = (
        "  templatePatch: |\n"
        '    {{- if eq .name "prod" }}\n'
        "    spec:\n"
        "      source:\n"
        "        helm:\n"
        "          valuesObject: {securityContext: {privileged: true}}\n"
        "    {{- else }}\n"
        "    spec:\n"
        "      source:\n"
        "        helm:\n"
        "          valuesObject: {securityContext: {privileged: false}}\n"
        "    {{- end }}\n"
    )
    generators = "    - list:\n        elements: [{name: dev}, {name: prod}]\n"
    tree = {**chart(), "apps/set.yaml": application_set(generators, patch)}
    found = scan_tree(tree, "apps/set.yaml")
    assert [f[:3] for f in found] == [
        ("K8S-PSS-PRIVILEGED", "charts/web/templates/deployment.yaml", 25)
    ]
    only_dev = application_set(generators.replace(", {name: prod}", ""), patch)
    assert scan_tree({**chart(), "apps/set.yaml": only_dev}, "apps/set.yaml") == []


def test_go_template_pipelines_in_value_files_are_rendered() -> None:
    """r04: `values-{{ .env | lower }}.yaml` names values-prod.yaml for env PROD; with
    ignoreMissingValueFiles it was dropped as not found."""
    generators = "    - list:\n        elements: [{name: a, env: dev}, {name: b, env: PROD}]\n"
    helm = (
        b"path: charts/web, helm: {ignoreMissingValueFiles: true,"
        b" valueFiles: [values.yaml, 'values-{{ .env | lower }}.yaml']}}"
    )
    appset = application_set(generators).replace(b"path: charts/web}", helm)
    tree = {
        **chart(),
        "apps/set.yaml": appset,
        "charts/web/values-prod.yaml": b"securityContext: {privileged: true}\n",
    }
    assert [f[:3] for f in scan_tree(tree, "apps/set.yaml")] == [
        ("K8S-PSS-PRIVILEGED", "charts/web/templates/deployment.yaml", 25)
    ]


def test_applications_beyond_the_limit_are_said_not_judged() -> None:
    """r07: the 201st Application of a list generator was dropped silently."""
    from gatekeeper.sources.applicationsets import MAX_APPLICATIONS

    elements = "".join(f"          - {{name: web-{i}}}\n" for i in range(MAX_APPLICATIONS + 1))
    generators = f"    - list:\n        elements:\n{elements}"
    tree = {**chart(), "apps/set.yaml": application_set(generators)}
    assert [f[:3] for f in scan_tree(tree, "apps/set.yaml")] == [
        ("GK-LOCAL-NOT-EXPANDED", "apps/set.yaml", 6)
    ]


def test_a_git_files_generator_globs_as_argo_cd_does() -> None:
    """r08: Argo CD's git files generator globs greedily by default (`*` crosses `/`, as
    `git ls-files` pathspecs): envs/*/config.json reads envs/dev/canary/config.json too."""
    generator = (
        "    - git:\n"
        f"        repoURL: {REPO_URL}\n"
        "        revision: HEAD\n"
        "        files: [{path: 'envs/*/config.json'}]\n"
    )
    appset = application_set(generator).replace(
        b"path: charts/web}", b"path: charts/web, helm: {values: '{{ .values }}'}}"
    )
    tree = {
        **chart(),
        "apps/set.yaml": appset,
        "envs/dev/config.json": b'{"name": "dev", "values": "cache: {privileged: false}"}',
        "envs/dev/canary/config.json": b'{"name": "canary", "values": "cache: {privileged: true}"}',
    }
    assert [f[:3] for f in scan_tree(tree, "apps/set.yaml")] == [
        ("K8S-PSS-PRIVILEGED", "charts/web/charts/cache/templates/pod.yaml", 10)
    ]


PRIVILEGED_VALUES = b"securityContext: {privileged: true}\n"


def test_value_files_resolve_as_argo_cd_resolves_them() -> None:
    """r03, r28: `/overrides/prod.yaml` is read from the repository root and
    `values-$ARGOCD_APP_NAME.yaml` with the build environment substituted; with
    ignoreMissingValueFiles both were dropped as not found."""
    for value, name in (
        ("/overrides/prod.yaml", "overrides/prod.yaml"),
        ("values-$ARGOCD_APP_NAME.yaml", "charts/web/values-web.yaml"),
        ("values-${ARGOCD_APP_NAMESPACE}.yaml", "charts/web/values-web.yaml"),
    ):
        helm = f"    helm:\n      ignoreMissingValueFiles: true\n      valueFiles: ['{value}']\n"
        tree = {**chart(), "apps/web.yaml": application(helm), name: PRIVILEGED_VALUES}
        assert [f[:3] for f in scan_tree(tree, "apps/web.yaml")] == [
            ("K8S-PSS-PRIVILEGED", "charts/web/templates/deployment.yaml", 25)
        ], value


def test_value_files_that_cannot_be_followed_block() -> None:
    """r03, r19: a URL Argo CD fetches, a file of another repository's `ref` source, a
    variable not known here: what they set is not judged, and that blocks."""
    for value in (
        "https://gist.githubusercontent.com/x/y/raw/values.yaml",
        "$vals/web/prod.yaml",
        "values-$ARGOCD_APP_REVISION_SHORT.yaml",
    ):
        app = f"""\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: web, namespace: argocd}}
spec:
  project: web
  destination: {{namespace: web}}
  sources:
    - repoURL: {REPO_URL}
      targetRevision: v1.0.0
      path: charts/web
      helm:
        ignoreMissingValueFiles: true
        valueFiles: ['{value}']
    - {{repoURL: https://github.com/acme/values, targetRevision: v1, ref: vals}}
""".encode()
        tree = {**chart(), "apps/web.yaml": app}
        assert [f[:3] for f in scan_tree(tree, "apps/web.yaml")] == [
            ("GK-LOCAL-NOT-EXPANDED", "apps/web.yaml", 13)
        ], value


def test_this_repository_is_recognised_however_its_url_is_spelled() -> None:
    """r29: dot segments, doubled or trailing slashes and percent-escapes reach this
    repository as git and curl normalise them; it was taken for another repository."""
    from gatekeeper.sources.gitops import normalise_url

    for spelling in (
        "https://github.com/acme/./platform.git",
        "https://github.com/acme//platform/",
        "https://github.com/other/../acme/platform.git/",
        "https://github.com/acme/pl%61tform",
    ):
        assert normalise_url(spelling) == normalise_url(REPO_URL), spelling
        app = application("    helm: {valuesObject: {securityContext: {privileged: true}}}\n")
        tree = {**chart(), "apps/web.yaml": app.replace(REPO_URL.encode(), spelling.encode())}
        assert [f[:3] for f in scan_tree(tree, "apps/web.yaml")] == [
            ("K8S-PSS-PRIVILEGED", "charts/web/templates/deployment.yaml", 25)
        ], spelling


PLAIN = DEPLOYMENT.encode()


def test_the_source_type_argo_cd_takes_is_the_one_judged() -> None:
    """r09: `kustomize:` options name the source's type: Argo CD builds the kustomization
    beside the chart (with its patches), and with no type named a kustomization wins over a
    Chart.yaml beside it too; `directory:` applies the files as written."""
    patch = (
        "    kustomize:\n"
        "      patches:\n"
        "        - target: {kind: Deployment, name: web}\n"
        "          patch: |\n"
        "            - {op: replace, path: /spec/template/spec/containers/0/securityContext,"
        " value: {privileged: true}}\n"
    )
    tree = {
        **chart(),
        "charts/web/manifests/web.yaml": PLAIN,
        "charts/web/kustomization.yaml": b"resources: [manifests/web.yaml]\n",
    }
    assert [
        f[:3] for f in scan_tree({**tree, "apps/web.yaml": application(patch)}, "apps/web.yaml")
    ] == [("K8S-PSS-PRIVILEGED", "apps/web.yaml", 12)]
    privileged = PLAIN.replace(b"privileged: false", b"privileged: true")
    tree["charts/web/manifests/web.yaml"] = privileged
    assert [
        f[:3] for f in scan_tree({**tree, "apps/web.yaml": application("")}, "apps/web.yaml")
    ] == [("K8S-PSS-PRIVILEGED", "charts/web/manifests/web.yaml", 12)]
    helm = "    helm: {releaseName: web}\n"
    assert scan_tree({**tree, "apps/web.yaml": application(helm)}, "apps/web.yaml") == []
    del tree["charts/web/kustomization.yaml"]
    tree["charts/web/web.yaml"] = privileged
    directory = "    directory: {include: '*.yaml'}\n"
    found = scan_tree({**tree, "apps/web.yaml": application(directory)}, "apps/web.yaml")
    assert [f[:3] for f in found] == [("K8S-PSS-PRIVILEGED", "charts/web/web.yaml", 12)]
    both = helm + "    directory: {recurse: true}\n"
    assert [
        f[:2] for f in scan_tree({**tree, "apps/web.yaml": application(both)}, "apps/web.yaml")
    ] == [("GK-RENDER-ERROR", "apps/web.yaml")]


def test_argo_kustomize_common_annotations_and_labels_are_applied() -> None:
    """r10: `kustomize.commonAnnotations` (here an AppArmor profile) is applied to every
    object as Argo CD's `kustomize edit add annotation` does; labels as well."""
    annotation = "container.apparmor.security.beta.kubernetes.io/web: unconfined"
    tree = {
        "apps/web/pod.yaml": PLAIN,
        "apps/web/kustomization.yaml": b"resources: [pod.yaml]\n",
        "apps/web.yaml": application(
            f"    kustomize:\n      commonAnnotations: {{{annotation}}}\n"
        ).replace(b"charts/web", b"apps/web"),
    }
    found = scan_tree(tree, "apps/web.yaml", "pss-baseline-apparmor-annotations")
    # at the pod template the annotation lands on
    assert [f[:3] for f in found] == [("K8S-PSS-APPARMOR-ANNOTATIONS", "apps/web/pod.yaml", 7)]
    from gatekeeper.sources import LoadContext
    from gatekeeper.sources.gitops import expand
    from gatekeeper.sources.kubernetes import load
    from gatekeeper.tree import MemoryTree

    for options, selector in (
        ("{commonLabels: {tier: x}}", {"app": "web", "tier": "x"}),
        ("{commonLabels: {tier: x}, labelWithoutSelector: true}", {"app": "web"}),
    ):
        app = application(f"    kustomize: {options}\n").replace(b"charts/web", b"apps/web")
        tree["apps/web.yaml"] = app
        context = LoadContext(tree=MemoryTree(tree), options={"gitops": {"repoURLs": [REPO_URL]}})
        document = load("apps/web.yaml", app, context).documents[0]
        built = [d for d in expand("apps/web.yaml", document, context).documents]
        deployment = next(d.obj for d in built if d.kind == "Deployment")
        assert deployment["metadata"]["labels"]["tier"] == "x"
        assert deployment["spec"]["selector"]["matchLabels"] == selector, options


def test_a_source_hydrator_dry_source_is_judged() -> None:
    """r11: `spec.sourceHydrator.drySource` is rendered by Argo CD (here a local chart with
    values) and what it commits is deployed: judged like a source."""
    app = f"""\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: web, namespace: argocd}}
spec:
  project: web
  destination: {{namespace: web}}
  sourceHydrator:
    drySource:
      repoURL: {REPO_URL}
      targetRevision: v1.0.0
      path: charts/web
      helm: {{valuesObject: {{securityContext: {{privileged: true}}}}}}
    syncSource: {{targetBranch: environments/prod, path: web}}
""".encode()
    found = scan_tree({**chart(), "apps/web.yaml": app}, "apps/web.yaml")
    assert [f[:4] for f in found] == [
        ("K8S-PSS-PRIVILEGED", "charts/web/templates/deployment.yaml", 25, "apps/web.yaml:12")
    ]


def test_a_helm_release_renders_with_helm_controllers_release_name() -> None:
    """r22: with `targetNamespace`, helm-controller names the release
    `<targetNamespace>-<name>`; a chart switching on that name was judged as `web`."""
    from gatekeeper.sources.flux import release_name

    pod = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n"
        "    - name: web\n      image: ghcr.io/acme/web:1.0\n"
        '      securityContext: {privileged: {{ hasPrefix "prod-" .Release.Name }}}\n'
    )
    release = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: web, namespace: flux-system}
spec:
  interval: 10m
  targetNamespace: prod
  chart:
    spec:
      chart: ./charts/pod
      sourceRef: {kind: GitRepository, name: flux-system}
"""
    tree = {
        "charts/pod/Chart.yaml": b"apiVersion: v2\nname: pod\nversion: 1.0.0\n",
        "charts/pod/templates/pod.yaml": pod.encode(),
        "clusters/sync.yaml": FLUX_SYNC.encode(),
        "clusters/web.yaml": release.encode(),
    }
    assert [f[:3] for f in scan_tree(tree, "clusters/web.yaml")] == [
        ("K8S-PSS-PRIVILEGED", "charts/pod/templates/pod.yaml", 8)
    ]
    assert release_name({"releaseName": "x", "targetNamespace": "prod"}, "web") == "x"
    assert release_name({}, "web") == "web"
    long = release_name({"targetNamespace": "n" * 30}, "w" * 30)
    assert len(long) == 53 and long.startswith("n" * 30 + "-" + "w" * 9 + "-")


def test_files_flux_leaves_out_of_its_artifact_do_not_count(tmp_path: Any) -> None:
    """r17: a `.sourceignore` rule leaves the namespace's NetworkPolicy out of what Flux
    applies: the namespace has none, in a full scan and in a pull request that only adds
    the rule."""
    from gatekeeper.change import scan_change
    from tests.test_change import Repo

    netpol = (
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        "metadata: {name: deny, namespace: web}\n"
        "spec: {podSelector: {}, policyTypes: [Ingress]}\n"
    )
    policy = (POLICIES / "network-policy-present.yaml").read_text()
    repo = Repo(tmp_path / "repo")
    gitops = f"sources: {{gitops: {{repoURLs: [{REPO_URL}]}}}}\n"
    repo.write(".gatekeeper.yml", "builtin: false\npolicies: [{path: policies}]\n" + gitops)
    repo.write("policies/netpol.yaml", policy)
    repo.write(
        "apps/web/pod.yaml", DEPLOYMENT.replace("{name: web}", "{name: web, namespace: web}")
    )
    repo.write("apps/web/netpol.yaml", netpol)
    repo.write("clusters/apps.yaml", flux_kustomization("").decode())
    repo.write("clusters/sync.yaml", FLUX_SYNC)
    repo.commit("base")
    repo.branch("pr")
    repo.write(".sourceignore", "# not applied\n**/netpol.yaml\n")
    repo.commit("ignore")
    found = scan_change(repo.root, "main").verdict.findings
    assert [(f.policy_id, f.file) for f in found if f.blocking] == [
        ("K8S-NETWORK-POLICY-PRESENT", "apps/web/pod.yaml")
    ]
    repo.write(".sourceignore", "**/netpol.yaml\n!apps/web/netpol.yaml\n")
    repo.commit("taken back")
    assert [f for f in scan_change(repo.root, "main").verdict.findings if f.blocking] == []


def test_flux_ignore_rules_follow_gitignore() -> None:
    from gatekeeper.sources.flux_ignore import ignored, rules
    from gatekeeper.tree import MemoryTree

    tree = MemoryTree(
        {
            ".sourceignore": b"/top.yaml\ndeep/\n*.tmp\n",
            "apps/.sourceignore": b"local.yaml\n!keep.tmp\n",
        }
    )
    found = rules(tree, "extra/*.yaml\n")
    assert ignored("top.yaml", found) and not ignored("x/top.yaml", found)
    assert ignored("a/deep/b.yaml", found) and not ignored("a/deep", found)
    assert ignored("a/b.tmp", found) and not ignored("apps/keep.tmp", found)
    assert ignored("apps/x/local.yaml", found) and not ignored("local.yaml", found)
    assert ignored("extra/a.yaml", found) and not ignored("extra/a/b.yaml", found)
    assert ignored(".github/workflows/ci.yaml", found)
    assert rules(MemoryTree({"a.yaml": b""}), None) == ()


def test_an_include_over_the_applied_path_is_said_not_judged() -> None:
    """r18: a GitRepository `include` lays another repository's files over the path a
    Kustomization applies: what lands there is not judged, and that blocks."""
    sync = (
        FLUX_SYNC + "  include:\n    - {repository: {name: shared}, fromPath: web, toPath: apps}\n"
    )
    tree = {
        "apps/web/pod.yaml": DEPLOYMENT.encode(),
        "clusters/sync.yaml": sync.encode(),
        "clusters/apps.yaml": flux_kustomization(""),
    }
    assert [f[:3] for f in scan_tree(tree, "clusters/apps.yaml")] == [
        ("GK-LOCAL-NOT-EXPANDED", "clusters/apps.yaml", 8)
    ]
    elsewhere = sync.replace("toPath: apps", "toPath: vendor/shared")
    tree["clusters/sync.yaml"] = elsewhere.encode()
    assert scan_tree(tree, "clusters/apps.yaml") == []


def test_the_ci_base_branch_is_the_tree_at_hand(tmp_path: Any, monkeypatch: Any) -> None:
    """A pull request judged against its base commit in a shallow checkout (no branch to
    find `main` by): the runner's GITHUB_BASE_REF says which branch the change lands on."""
    from gatekeeper.change import scan_change
    from tests.test_change import Repo

    repo = Repo(tmp_path / "repo")
    repo.write(".gatekeeper.yml", f"sources: {{gitops: {{repoURLs: [{REPO_URL}]}}}}\n")
    repo.write("apps/web/pod.yaml", DEPLOYMENT)
    base = repo.commit("base")
    repo.branch("pr")
    repo.write("apps/web.yaml", TRACKING.decode().replace("main", "trunk"))
    repo.commit("pr")
    repo.git.git.branch("-q", "-m", "main", "other")  # no branch is called trunk
    codes = [f.policy_id for f in scan_change(repo.root, base).verdict.findings]
    assert "GK-REVISION-UNSEEN" in codes
    monkeypatch.setenv("GITHUB_BASE_REF", "trunk")
    codes = [f.policy_id for f in scan_change(repo.root, base).verdict.findings]
    assert "GK-REVISION-UNSEEN" not in codes


def test_a_generator_naming_the_repository_by_parameter_may_deploy_this_one() -> None:
    """r34 (session 10): an SCM provider generator's `repoURL: '{{ .url }}'` is this
    repository when its path is one of this repository's folders: blocking, not a low note."""
    generator = (
        "    - scmProvider:\n"
        "        {github: {organization: acme}, filters: [{repositoryMatch: ^platform$}]}\n"
    )
    templated = application_set(generator).replace(
        b"repoURL: https://github.com/acme/platform", b"repoURL: '{{ .url }}'"
    )
    tree = {**chart(), "apps/set.yaml": templated}
    assert [f[:3] for f in scan_tree(tree, "apps/set.yaml")] == [
        ("GK-LOCAL-NOT-EXPANDED", "apps/set.yaml", 7)
    ]
    elsewhere = templated.replace(b"path: charts/web", b"path: charts/other")
    tree = {**chart(), "apps/set.yaml": elsewhere}
    assert [f[:3] for f in scan_tree(tree, "apps/set.yaml")] == [
        ("GK-NOT-EXPANDED", "apps/set.yaml", 7)
    ]


def test_a_directory_without_the_extension_filter_applies_files_of_any_name() -> None:
    """`directory.disableExtensionFilter: true` (argo-cd #28571): Argo CD reads every file
    include/exclude leave as YAML or JSON, so a privileged Deployment in `web.tpl` is
    applied; with the filter on (the default) it is not."""
    privileged = PLAIN.replace(b"privileged: false", b"privileged: true")
    tree = {**chart(), "charts/web/web.tpl": privileged}
    del tree["charts/web/Chart.yaml"]
    unfiltered = "    directory: {disableExtensionFilter: true, include: '*.tpl'}\n"
    found = scan_tree({**tree, "apps/web.yaml": application(unfiltered)}, "apps/web.yaml")
    assert [f[:3] for f in found] == [("K8S-PSS-PRIVILEGED", "charts/web/web.tpl", 12)]
    filtered = "    directory: {include: '*.tpl'}\n"
    found = scan_tree({**tree, "apps/web.yaml": application(filtered)}, "apps/web.yaml")
    assert [f[:2] for f in found] == [("GK-RENDER-ERROR", "apps/web.yaml")]


def test_a_tag_prefix_names_the_tag_argo_cd_deploys(tmp_path: Any) -> None:
    """`tagPrefix: app1/` with `targetRevision: v1.0.1` (argo-cd #27290) deploys the tag
    `app1/v1.0.1`, not `v1.0.1`: a pull request adding the prefix pointed Argo CD at an
    unreviewed privileged commit while the check judged the clean `v1.0.1`. A constraint
    over prefixed tags resolves to one of them, which is said not judged."""
    from gatekeeper.change import scan_change
    from tests.test_change import Repo

    repo = Repo(tmp_path / "repo")
    gitops = f"sources: {{gitops: {{repoURLs: [{REPO_URL}]}}}}\n"
    repo.write(".gatekeeper.yml", "builtin: false\npolicies: [{path: policies}]\n" + gitops)
    repo.write("policies/privileged.yaml", (POLICIES / "pss-baseline-privileged.yaml").read_text())
    repo.write("apps/web/pod.yaml", DEPLOYMENT)
    repo.commit("base")
    repo.git.git.tag("v1.0.1")
    repo.branch("evil")
    repo.write("apps/web/pod.yaml", DEPLOYMENT.replace("privileged: false", "privileged: true"))
    repo.commit("unreviewed")
    repo.git.git.tag("app1/v1.0.1")
    repo.git.git.checkout("-q", "main")
    pinned_at = TRACKING.replace(b"main", b"v1.0.1").decode()
    found = []
    for number, revision in enumerate(("v1.0.1", "v1.0.*")):
        repo.git.git.checkout("-q", "main")
        repo.branch(f"pr-{number}")
        app = pinned_at.replace("v1.0.1", revision) + "    tagPrefix: app1/\n"
        repo.write("apps/web.yaml", app)
        repo.commit("pin")
        verdict = scan_change(repo.root, "main").verdict
        found.append(sorted((f.policy_id, f.file, f.line) for f in verdict.blocking))
    assert found == [
        [("K8S-PSS-PRIVILEGED", "apps/web.yaml", 9)],
        [("GK-REVISION-UNSEEN", "apps/web.yaml", 9)],
    ]


GENERATOR = """\
apiVersion: source.extensions.fluxcd.io/v1beta1
kind: ArtifactGenerator
metadata: {name: gen, namespace: flux-system}
spec:
  sources:
  - {alias: repo, kind: KIND, name: flux-system}
  artifacts:
  - name: app
    copy:
    - {from: "@repo/deploy/app.tpl", to: "@artifact/app.yaml"}
"""


def test_a_deployer_of_an_external_artifact_is_said_not_judged() -> None:
    """Flux 2.7: a Kustomization (or a HelmRelease's chartRef) of an ExternalArtifact applies
    what an ArtifactGenerator copies together, under its own names (`deploy/app.tpl` as
    `app.yaml`): nothing was said, and the privileged file passed. Blocking when a generator
    here assembles it from this repository; low when it comes from elsewhere."""
    kustomization = flux_kustomization("").replace(
        b"{kind: GitRepository, name: flux-system}", b"{kind: ExternalArtifact, name: app}"
    )
    release = (
        b"apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\n"
        b"metadata: {name: web, namespace: flux-system}\n"
        b"spec:\n  interval: 10m\n  chartRef: {kind: ExternalArtifact, name: app}\n"
    )
    found = []
    for kind in ("GitRepository", "OCIRepository"):
        generator = GENERATOR.replace("KIND", kind).encode()
        for deployer in (kustomization, release):
            tree = {
                "clusters/sync.yaml": FLUX_SYNC.encode(),
                "clusters/gen.yaml": generator,
                "clusters/app.yaml": deployer,
                "deploy/app.tpl": DEPLOYMENT.replace("false", "true").encode(),
            }
            found.append(scan_tree(tree, "clusters/app.yaml"))
    blocking = ("GK-LOCAL-NOT-EXPANDED", "clusters/app.yaml", 8)
    low = ("GK-NOT-EXPANDED", "clusters/app.yaml", 8)
    assert found == [[blocking], [(*blocking[:2], 6)], [low], [(*low[:2], 6)]]


def test_an_external_artifact_of_whole_folders_is_built_from_the_repository() -> None:
    """The ArtifactGenerator of Flux's own example (flux2-kustomize-helm-example) copies
    `apps/base/**` to `base/` and `apps/staging/**` to `staging/`: the artifact's `./staging`
    is the repository's `apps/staging`, its `../base` the repository's `apps/base`. It is
    built from there with the Kustomization's own patches (a privileged patch is judged at
    its line)."""
    generator = (
        GENERATOR.replace("KIND", "GitRepository")
        .replace('    - {from: "@repo/deploy/app.tpl", to: "@artifact/app.yaml"}\n', "")
        .replace(
            "    copy:\n",
            "    copy:\n    - {from: '@repo/apps/base/**', to: '@artifact/base/'}\n"
            "    - {from: '@repo/apps/staging/**', to: '@artifact/staging/'}\n",
        )
    )
    kustomization = (
        flux_kustomization("  patches:\n" + PRIVILEGED_PATCH)
        .replace(
            b"{kind: GitRepository, name: flux-system}", b"{kind: ExternalArtifact, name: app}"
        )
        .replace(b"./apps/web", b"./staging")
    )
    tree = {
        "clusters/sync.yaml": FLUX_SYNC.encode(),
        "clusters/gen.yaml": generator.encode(),
        "clusters/app.yaml": kustomization,
        "apps/base/web.yaml": DEPLOYMENT.encode(),
        "apps/base/kustomization.yaml": b"resources: [web.yaml]\n",
        "apps/staging/kustomization.yaml": b"resources: [../base]\n",
    }
    found = scan_tree(tree, "clusters/app.yaml")
    assert [f[:3] for f in found] == [("K8S-PSS-PRIVILEGED", "clusters/app.yaml", 9)]
    # a folder the repository lacks is not in the artifact: said with the artifact (a path
    # of the GitRepository it is not; the benchmark corpus holds such copies of the example)
    del tree["apps/staging/kustomization.yaml"]
    found = scan_tree(tree, "clusters/app.yaml")
    assert [f[:3] for f in found] == [("GK-LOCAL-NOT-EXPANDED", "clusters/app.yaml", 8)]


def test_a_change_to_a_folder_an_external_artifact_copies_rebuilds_its_deployer(
    tmp_path: Any,
) -> None:
    """A pull request changing only `apps/base/web.yaml` to `privileged: ${PRIV}`, which the
    Kustomization of the artifact substitutes with true: the deployer reads the folders its
    artifact is made of (and the generator), so it is built again and the Pod judged."""
    from gatekeeper.change import scan_change
    from tests.test_change import Repo

    repo = Repo(tmp_path / "repo")
    repo.write(".gatekeeper.yml", f"sources: {{gitops: {{repoURLs: [{REPO_URL}]}}}}\n")
    repo.write("clusters/sync.yaml", FLUX_SYNC)
    repo.write(
        "clusters/gen.yaml",
        GENERATOR.replace("KIND", "GitRepository").replace(
            '{from: "@repo/deploy/app.tpl", to: "@artifact/app.yaml"}',
            "{from: '@repo/apps/**', to: '@artifact/'}",
        ),
    )
    substitute = "  postBuild:\n    substitute: {PRIV: 'true'}\n"
    repo.write(
        "clusters/app.yaml",
        flux_kustomization(substitute)
        .decode()
        .replace("{kind: GitRepository, name: flux-system}", "{kind: ExternalArtifact, name: app}")
        .replace("./apps/web", "./web"),
    )
    pod = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n"
        "    - name: web\n      image: ghcr.io/acme/web:1.0\n      securityContext:\n"
        "        privileged: false\n"
    )
    repo.write("apps/web/web.yaml", pod)
    repo.commit("base")
    repo.branch("pr")
    repo.write("apps/web/web.yaml", pod.replace("privileged: false", "privileged: ${PRIV}"))
    repo.commit("pr")
    found = scan_change(repo.root, "main").verdict.blocking
    assert [(f.policy_id, f.file) for f in found if f.policy_id == "K8S-PSS-PRIVILEGED"] == [
        ("K8S-PSS-PRIVILEGED", "apps/web/web.yaml")
    ]
