"""Kustomize overlays built by the real `kubectl kustomize`, findings mapped to base and patch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gatekeeper.evaluate import Engine
from gatekeeper.policy.loader import load_policy_file
from gatekeeper.scanner import scan
from gatekeeper.sources import LoadContext, kustomize
from gatekeeper.tree import MemoryTree
from tests.conftest import REPO
from tests.test_kustomize_build import both_ways

PRIVILEGED = REPO / "policies" / "kubernetes" / "pss-baseline-privileged.yaml"

BASE = {
    "base/kustomization.yaml": "resources:\n  - deploy.yaml\n",
    "base/deploy.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          image: nginx:1.25
          securityContext:
            privileged: false
        - name: side
          image: busybox:1.36
""",
}
OVERLAY = {
    "overlays/prod/kustomization.yaml": """\
namespace: prod
namePrefix: prod-
resources:
  - ../../base
patches:
  - path: privileged.yaml
""",
    "overlays/prod/privileged.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: side
          securityContext:
            privileged: true
""",
}


def run(files: dict[str, str]) -> list[Any]:
    pairs = [(name, text.encode()) for name, text in sorted(files.items())]
    engine = Engine([load_policy_file(PRIVILEGED)])
    context = LoadContext(tree=MemoryTree(dict(pairs)))
    return scan(pairs, engine, 1, context).findings


def test_overlay_finding_is_located_in_the_patch_file() -> None:
    findings = run({**BASE, **OVERLAY})
    privileged = [f for f in findings if f.policy_id == "K8S-PSS-PRIVILEGED"]
    assert [(f.source, f.file, f.line, f.namespace, f.name) for f in privileged] == [
        ("kustomize", "overlays/prod/privileged.yaml", 11, "prod", "prod-web")
    ]
    assert privileged[0].extra["exact"] is True
    # kustomize orders the patched container first; the path is the built object's
    assert privileged[0].path == "spec.template.spec.containers[0].securityContext.privileged"


def test_overlay_finding_on_a_base_field_is_located_in_the_base_file() -> None:
    base = dict(BASE)
    base["base/deploy.yaml"] = base["base/deploy.yaml"].replace(
        "privileged: false", "privileged: true"
    )
    findings = run({**base, **OVERLAY})
    where = sorted(
        (f.source, f.file, f.line, tuple(f.extra.get("variants", ())))
        for f in findings
        if f.policy_id.startswith("K8S")
    )
    # The base line is said once: as a plain manifest, built by the base kustomization, and
    # by the overlay (namePrefix and namespace differ: still the same line and field).
    assert where == [
        ("kubernetes", "base/deploy.yaml", 12, ("kustomize base", "kustomize overlays/prod")),
        ("kustomize", "overlays/prod/privileged.yaml", 11, ("kustomize overlays/prod",)),
    ]
    fingerprints = [f.fingerprint for f in findings]
    assert len(set(fingerprints)) == len(fingerprints)


def test_kustomize_error_is_a_finding_and_remote_resources_are_not_fetched() -> None:
    broken = {
        "app/kustomization.yaml": "namespace: x\nresources:\n  - ok.yaml\n  - missing.yaml\n",
        "app/ok.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n",
    }
    findings = run(broken)
    assert [(f.policy_id, f.file, f.line) for f in findings] == [
        ("GK-RENDER-ERROR", "app/kustomization.yaml", 4)
    ]
    assert "missing.yaml" in findings[0].message
    remote = {"app/kustomization.yaml": "resources:\n  - https://github.com/acme/x//base?ref=v1\n"}
    findings = run(remote)
    assert [f.policy_id for f in findings] == ["GK-RENDER-ERROR"]
    assert "not fetched" in findings[0].message


def test_a_local_path_with_a_double_slash_is_local_and_a_host_first_is_remote() -> None:
    """kustomize reads `.//a.yaml` and `sub//` from disk; `git.corp/x/y//base` it would clone."""
    files = {
        "app/kustomization.yaml": "resources:\n  - .//a.yaml\n  - sub//\n",
        "app/a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
        "app/sub/kustomization.yaml": "resources: [b.yaml]\n",
        "app/sub/b.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n",
    }
    built = both_ways(files)
    assert [obj["metadata"]["name"] for obj in built] == ["a", "b"]
    assert [f.policy_id for f in run(files) if f.policy_id.startswith("GK-")] == []
    remote = {"app/kustomization.yaml": "resources:\n  - git.corp/team/repo//base\n"}
    assert [(f.policy_id, "not fetched" in f.message) for f in run(remote)] == [
        ("GK-RENDER-ERROR", True)
    ]


def test_kustomize_deprecation_warnings_are_not_the_error() -> None:
    """kubectl prints `# Warning: 'commonLabels' is deprecated...` before the real error."""
    broken = {"app/kustomization.yaml": "commonLabels: {a: b}\nresources:\n  - missing.yaml\n"}
    (finding,) = run(broken)
    assert (finding.policy_id, finding.line) == ("GK-RENDER-ERROR", 3)
    assert finding.message.startswith("kustomize: error:")
    assert "missing.yaml" in finding.message and "deprecated" not in finding.message


def test_kubernetes_policies_apply_to_rendered_sources_only_once(tmp_path: Path) -> None:
    findings = run({**BASE})
    assert [f for f in findings if f.policy_id == "K8S-PSS-PRIVILEGED"] == []


def test_image_rewritten_by_the_overlay_is_located_at_its_images_entry() -> None:
    from gatekeeper.sources import kustomize

    overlay = {
        "overlays/dev/kustomization.yaml": (
            "resources:\n  - ../../base\nimages:\n  - name: busybox\n    newTag: latest\n"
        )
    }
    files = {name: text.encode() for name, text in {**BASE, **overlay}.items()}
    context = LoadContext(tree=MemoryTree(files))
    path = "overlays/dev/kustomization.yaml"
    (document,) = kustomize.load(path, files[path], context).documents
    containers = document.obj["spec"]["template"]["spec"]["containers"]
    side = next(i for i, c in enumerate(containers) if c["name"] == "side")
    web = next(i for i, c in enumerate(containers) if c["name"] == "web")
    assert containers[side]["image"] == "busybox:latest"
    prefix = ("spec", "template", "spec", "containers")
    location = document.locator.locate((*prefix, side, "image"))
    assert (location.file, location.line, location.exact) == (path, 4, False)
    location = document.locator.locate((*prefix, web, "image"))
    assert (location.file, location.line, location.exact) == ("base/deploy.yaml", 10, True)
    assert no_build_annotations(document.obj)


def test_image_rewritten_by_a_base_is_located_at_the_base_entry_in_every_overlay() -> None:
    """kubeflow: a base sets the image with `images:`; an overlay that builds it located the
    image at its own line 1, so each overlay said the base's image again."""
    from gatekeeper.sources import kustomize

    base = {
        **BASE,
        "base/kustomization.yaml": BASE["base/kustomization.yaml"]
        + "images:\n  - name: busybox\n    newTag: latest\n",
    }
    overlay = {"overlays/dev/kustomization.yaml": "resources:\n  - ../../base\n"}
    files = {name: text.encode() for name, text in {**base, **overlay}.items()}
    context = LoadContext(tree=MemoryTree(files))
    path = "overlays/dev/kustomization.yaml"
    (document,) = kustomize.load(path, files[path], context).documents
    containers = document.obj["spec"]["template"]["spec"]["containers"]
    side = next(i for i, c in enumerate(containers) if c["name"] == "side")
    assert containers[side]["image"] == "busybox:latest"
    location = document.locator.locate(("spec", "template", "spec", "containers", side, "image"))
    line = base["base/kustomization.yaml"].splitlines().index("  - name: busybox") + 1
    where = (location.file, location.line, location.exact)
    assert where == ("base/kustomization.yaml", line, False)


def no_build_annotations(obj: Any) -> bool:
    """The build's own annotations are removed before policies see the object."""
    return "annotations" not in obj["metadata"]


def test_a_changed_base_resource_brings_the_kustomizations_that_build_it() -> None:
    from gatekeeper.sources import with_owners

    files = {name: text.encode() for name, text in {**BASE, **OVERLAY}.items()}
    files["base/unrelated.yaml"] = b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: u}\n"
    context = LoadContext(tree=MemoryTree(files))
    assert with_owners(["base/deploy.yaml"], context) == [
        "base/deploy.yaml",
        "base/kustomization.yaml",
        "overlays/prod/kustomization.yaml",
    ]
    assert with_owners(["base/unrelated.yaml"], context) == ["base/unrelated.yaml"]
    assert with_owners(["overlays/prod/privileged.yaml"], context) == [
        "overlays/prod/privileged.yaml",
        "overlays/prod/kustomization.yaml",
    ]


def test_a_base_line_built_by_many_overlays_is_one_finding_with_its_variants() -> None:
    """Three overlays with their own prefixes and namespaces build the same privileged base
    container: one finding at the base line, listing every overlay, with the fingerprint the
    plain manifest has on its own (so adding an overlay changes nothing for a PR)."""
    base = dict(BASE)
    base["base/deploy.yaml"] = base["base/deploy.yaml"].replace(
        "privileged: false", "privileged: true"
    )
    overlays = {
        f"overlays/{name}/kustomization.yaml": f"namespace: {name}\nnamePrefix: {name}-\n"
        "resources:\n  - ../../base\n"
        for name in ("dev", "stage", "prod")
    }
    alone = run(base)
    findings = run({**base, **overlays})
    assert [(f.file, f.line, f.extra["variants"]) for f in findings] == [
        (
            "base/deploy.yaml",
            12,
            [
                "kustomize base",
                "kustomize overlays/dev",
                "kustomize overlays/prod",
                "kustomize overlays/stage",
            ],
        )
    ]
    assert [f.fingerprint for f in findings] == [f.fingerprint for f in alone]


def test_a_component_is_built_only_through_the_overlays_that_use_it() -> None:
    """Built on its own a Component fails (its patches have no target): that is not a
    finding. Through the overlay that lists it, what it adds is judged."""
    component = {
        "components/priv/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\n"
        "kind: Component\npatches:\n  - path: patch.yaml\n",
        "components/priv/patch.yaml": OVERLAY["overlays/prod/privileged.yaml"],
    }
    assert run({**BASE, **component}) == []
    overlay = {
        "overlays/dev/kustomization.yaml": "resources:\n  - ../../base\n"
        "components:\n  - ../../components/priv\n"
    }
    findings = run({**BASE, **component, **overlay})
    assert [(f.policy_id, f.file, f.line) for f in findings] == [
        ("K8S-PSS-PRIVILEGED", "components/priv/patch.yaml", 11)
    ]


NON_ROOT = REPO / "policies" / "kubernetes" / "pss-restricted-run-as-non-root.yaml"
HARDENED = {
    "base/kustomization.yaml": "resources:\n  - deploy.yaml\n",
    "base/deploy.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      securityContext:
        runAsNonRoot: true
      containers:
        - name: web
          image: ghcr.io/acme/web:1.0
          securityContext:
            allowPrivilegeEscalation: false
""",
}
ESCALATION = REPO / "policies" / "kubernetes" / "pss-restricted-privilege-escalation.yaml"


def located(files: dict[str, str], policy: Path) -> list[tuple[str, str, int, bool]]:
    pairs = [(name, text.encode()) for name, text in sorted(files.items())]
    engine = Engine([load_policy_file(policy)])
    context = LoadContext(tree=MemoryTree(dict(pairs)))
    found = scan(pairs, engine, 1, context).findings
    return sorted((f.source, f.file, f.line, f.extra["exact"]) for f in found)


def test_inline_json6902_replace_and_remove_are_located_at_the_operation() -> None:
    """The base line literally says `runAsNonRoot: true`: an overlay operation that replaces
    or removes it is where the finding belongs, never an exact claim on the base line."""
    replace = {
        "overlays/prod/kustomization.yaml": """\
resources:
  - ../../base
patches:
  - target: {kind: Deployment, name: web}
    patch: |-
      - op: replace
        path: /spec/template/spec/securityContext/runAsNonRoot
        value: false
""",
    }
    assert located({**HARDENED, **replace}, NON_ROOT) == [
        ("kustomize", "base/deploy.yaml", 13, False),  # the container, which inherits it
        ("kustomize", "overlays/prod/kustomization.yaml", 8, True),
    ]
    remove = {
        "overlays/prod/kustomization.yaml": replace["overlays/prod/kustomization.yaml"]
        .replace("op: replace", "op: remove")
        .replace(
            "securityContext/runAsNonRoot", "containers/0/securityContext/allowPrivilegeEscalation"
        )
        .replace("        value: false\n", "")
    }
    assert located({**HARDENED, **remove}, ESCALATION) == [
        ("kustomize", "overlays/prod/kustomization.yaml", 7, False)
    ]


def test_a_container_added_by_a_patch_or_component_is_located_there() -> None:
    sidecar = {
        "overlays/prod/kustomization.yaml": "resources:\n  - ../../base\n"
        "patches:\n  - path: sidecar.yaml\ncomponents:\n  - ../../components/debug\n",
        "overlays/prod/sidecar.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: proxy
          image: ghcr.io/acme/proxy:1.0
          securityContext:
            privileged: true
""",
        "components/debug/kustomization.yaml": """\
apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
patches:
  - patch: |-
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: web
      spec:
        template:
          spec:
            initContainers:
              - name: debug
                image: ghcr.io/acme/debug:1.0
                securityContext: {privileged: true}
""",
    }
    assert located({**HARDENED, **sidecar}, PRIVILEGED) == [
        ("kustomize", "components/debug/kustomization.yaml", 15, True),
        ("kustomize", "overlays/prod/sidecar.yaml", 12, True),
    ]


def test_configurations_openapi_and_plugin_files_are_given_to_the_build() -> None:
    """kubectl reads `configurations:` (also a component's), `openapi.path` and the files a
    built-in plugin's configuration names: a build without them failed ("evalsymlink failure
    on kustomizeconfig.yaml") although every file is committed."""
    name_reference = """\
nameReference:
  - kind: ConfigMap
    fieldSpecs:
      - kind: Deployment
        path: spec/template/metadata/annotations/{field}
"""
    files = {
        **BASE,
        "base/kustomization.yaml": "namePrefix: p-\nresources:\n  - deploy.yaml\n  - cm.yaml\n"
        "configurations:\n  - kustomizeconfig.yaml\nopenapi:\n  path: schema.json\n"
        "components:\n  - comp\ntransformers:\n  - priv/transformer.yaml\n"
        "generators:\n  - gen/generator.yaml\n",
        "base/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n",
        "base/kustomizeconfig.yaml": name_reference.format(field="settings"),
        "base/schema.json": '{"definitions": {}}\n',
        "base/comp/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\n"
        "kind: Component\nconfigurations:\n  - config.yaml\n",
        "base/comp/config.yaml": name_reference.format(field="component"),
        "base/priv/transformer.yaml": "apiVersion: builtin\nkind: PatchTransformer\n"
        "metadata: {name: priv}\npath: priv/patch.yaml\ntarget: {kind: Deployment}\n",
        "base/priv/patch.yaml": OVERLAY["overlays/prod/privileged.yaml"],
        "base/gen/generator.yaml": "apiVersion: builtin\nkind: ConfigMapGenerator\n"
        "metadata: {name: generated}\nfiles: [gen/app.properties]\n",
        "base/gen/app.properties": "level=debug\n",
    }
    files["base/deploy.yaml"] = files["base/deploy.yaml"].replace(
        "  template:\n",
        "  template:\n    metadata:\n"
        "      annotations: {settings: settings, component: settings}\n",
    )
    # the transformer's patch is a patch (not a manifest of its own), where the field is set
    assert [(f.policy_id, f.file, f.line, f.extra["exact"]) for f in run(files)] == [
        ("K8S-PSS-PRIVILEGED", "base/priv/patch.yaml", 11, True)
    ]
    data = {name: text.encode() for name, text in files.items()}
    path = "base/kustomization.yaml"
    loaded = kustomize.load(path, data[path], LoadContext(tree=MemoryTree(data)))
    assert loaded.problems == []
    built = {d.obj["kind"]: d.obj for d in loaded.documents if d.obj["kind"] != "ConfigMap"}
    template = built["Deployment"]["spec"]["template"]
    assert template["metadata"]["annotations"] == {
        "settings": "p-settings",
        "component": "p-settings",
    }
    assert template["spec"]["containers"][0]["securityContext"] == {"privileged": True}
    generated = [
        d.obj for d in loaded.documents if d.obj["metadata"]["name"].startswith("p-generated")
    ]
    assert [obj["data"] for obj in generated] == [{"app.properties": "level=debug\n"}]


SHARED = {
    "shared/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: team}\n",
    "apps/web/kustomization.yaml": "resources:\n  - ../../shared/namespace.yaml\n  - pod.yaml\n",
    "apps/web/pod.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n"
    "  containers:\n    - name: web\n      image: nginx:1.25\n"
    "      securityContext: {privileged: true}\n",
}


def scanned(files: dict[str, str], options: dict[str, Any] | None = None) -> list[Any]:
    pairs = [(name, text.encode()) for name, text in sorted(files.items())]
    engine = Engine([load_policy_file(PRIVILEGED)])
    context = LoadContext(tree=MemoryTree(dict(pairs)), options=options or {})
    found = scan(pairs, engine, 1, context).findings
    return sorted((f.policy_id, f.file, f.line, tuple(f.extra.get("variants", ()))) for f in found)


def test_a_file_outside_the_folder_is_built_as_the_deployer_builds_it() -> None:
    """kubectl (and Argo CD) refuse `../../shared/x.yaml`; Flux's kustomize-controller and a
    repository that says `loadRestrictor: none` build it."""
    refused = scanned(SHARED)
    assert refused == [
        ("GK-RENDER-ERROR", "apps/web/kustomization.yaml", 2, ()),
        ("K8S-PSS-PRIVILEGED", "apps/web/pod.yaml", 8, ()),
    ]
    assert "loadRestrictor: none" in run(SHARED)[0].message
    built = [("K8S-PSS-PRIVILEGED", "apps/web/pod.yaml", 8, ("kustomize apps/web",))]
    assert scanned(SHARED, {"kustomize": {"loadRestrictor": "none"}}) == built
    flux = {
        "clusters/prod/web.yaml": "apiVersion: kustomize.toolkit.fluxcd.io/v1\n"
        "kind: Kustomization\nmetadata: {name: web, namespace: flux-system}\n"
        "spec:\n  sourceRef: {kind: GitRepository, name: flux-system}\n  path: ./apps/web\n",
    }
    # built as Flux builds it: by the folder's own build and through the Flux Kustomization
    deployed = [(*built[0][:3], ("deployed by clusters/prod/web.yaml:web", "kustomize apps/web"))]
    assert scanned({**SHARED, **flux}) == deployed
    assert scanned({**SHARED, **flux}, {"kustomize": {"loadRestrictor": "rootOnly"}}) == deployed


def test_no_load_restriction_still_reads_nothing_outside_the_repository() -> None:
    """Without the restriction kubectl would read `/etc/hostname` or `../../../x` from the
    machine running the check into a ConfigMap; every entry that leaves the repository is
    refused at its line, and nothing is built."""
    none = {"kustomize": {"loadRestrictor": "none"}}
    for entry, line in (
        ("resources:\n  - /etc/hostname\n", 2),
        ("resources:\n  - ../../../../etc/hostname\n", 2),
        ("configMapGenerator:\n  - name: x\n    files: [/etc/hostname]\n", 3),
        ("configurations:\n  - ../../../etc/passwd\n", 2),
        ("openapi:\n  path: /etc/passwd\n", 2),
        ("helmCharts:\n  - name: x\n    valuesFile: /etc/passwd\n", 3),
    ):
        files = {"apps/web/kustomization.yaml": entry}
        data = {name: text.encode() for name, text in files.items()}
        path = "apps/web/kustomization.yaml"
        loaded = kustomize.load(path, data[path], LoadContext(tree=MemoryTree(data), options=none))
        assert loaded.documents == []
        assert [
            (p.code, p.line, "outside the repository" in p.message) for p in loaded.problems
        ] == [("GK-RENDER-ERROR", line, True)], entry


def test_a_namespace_a_base_kustomization_sets_is_located_at_its_namespace_line() -> None:
    """kuberay's ray-operator/config/overlays take config/default (`namespace: default`) and
    patch the Deployment: its namespace findings were at the overlay's `patches:`, which does
    not set it; they are at the base's `namespace:` line (the nearest base writing that
    value). A namespace a file writes itself stays at its line."""
    files = {
        "manager/kustomization.yaml": "resources: [manager.yaml, pinned.yaml]\n",
        "manager/manager.yaml": "apiVersion: apps/v1\nkind: Deployment\n"
        "metadata:\n  name: op\n  namespace: system\nspec: {replicas: 1}\n",
        "manager/pinned.yaml": "apiVersion: v1\nkind: ConfigMap\n"
        "metadata:\n  name: c\n  namespace: default\n",
        "default/kustomization.yaml": "# everything here\nnamespace: default\n"
        "resources: [../manager]\n",
        "ci/kustomization.yaml": "resources: [../default]\npatches:\n  - path: patch.yaml\n",
        "ci/patch.yaml": "apiVersion: apps/v1\nkind: Deployment\n"
        "metadata: {name: op}\nspec: {replicas: 2}\n",
    }
    data = files["ci/kustomization.yaml"].encode()
    context = LoadContext(tree=MemoryTree({k: v.encode() for k, v in files.items()}))
    loaded = kustomize.load("ci/kustomization.yaml", data, context)
    (deployment,) = [d for d in loaded.documents if d.kind == "Deployment"]
    assert deployment.obj["metadata"]["namespace"] == "default"
    at = deployment.locator.locate(("metadata", "namespace"))
    assert (at.file, at.line) == ("default/kustomization.yaml", 2)
    assert deployment.locator.locate(("spec", "replicas")).file == "ci/patch.yaml"
    (pinned,) = [d for d in loaded.documents if d.kind == "ConfigMap"]
    at = pinned.locator.locate(("metadata", "namespace"))
    assert (at.file, at.line) == ("manager/pinned.yaml", 5)


def test_a_name_the_overlay_s_name_prefix_writes_is_located_at_it_not_at_its_patches() -> None:
    """opentelemetry-operator's config/no-crds (`namePrefix:` and `patches:`): a built
    object's `metadata.name` and a reference the prefix rewrote (a binding's `roleRef.name`)
    were located at the first patch entry (`patches:`), which changes neither; they are at
    `namePrefix:`. The rest of the object stays in its base file."""
    files = {
        "base/kustomization.yaml": "resources: [binding.yaml, role.yaml]\n",
        "base/role.yaml": "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
        "metadata: {name: manager}\nrules: []\n",
        "base/binding.yaml": "apiVersion: rbac.authorization.k8s.io/v1\n"
        "kind: ClusterRoleBinding\nmetadata: {name: manager}\nroleRef:\n"
        "  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: manager\n"
        "subjects: [{kind: ServiceAccount, name: op, namespace: system}]\n",
        "overlay/kustomization.yaml": "namespace: op-system\n\nnamePrefix: op-\n"
        "resources: [../base]\npatches:\n  - path: patch.yaml\n",
        "overlay/patch.yaml": "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
        "metadata: {name: manager, annotations: {a: b}}\n",
    }
    data = files["overlay/kustomization.yaml"].encode()
    context = LoadContext(tree=MemoryTree({k: v.encode() for k, v in files.items()}))
    loaded = kustomize.load("overlay/kustomization.yaml", data, context)
    (binding,) = [d for d in loaded.documents if d.kind == "ClusterRoleBinding"]
    assert binding.obj["roleRef"]["name"] == "op-manager"
    at = binding.locator.locate
    assert (at(("roleRef", "name")).file, at(("roleRef", "name")).line) == (
        "overlay/kustomization.yaml",
        3,
    )
    assert (at(("metadata", "name")).file, at(("metadata", "name")).line) == (
        "overlay/kustomization.yaml",
        3,
    )
    assert (at(("roleRef",)).file, at(("subjects",)).file) == (
        "base/binding.yaml",
        "base/binding.yaml",
    )
