"""Overlays shaped so the in-process kustomize build could differ from `kubectl kustomize`.

Each case here once built differently in-process (or was built where kubectl fails): the
fixture is built both ways against the real kubectl, and must either agree or be refused
by the builder (so kubectl builds it). A PR author who finds such a difference gets the
gate to judge objects that Argo CD or Flux would never apply.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gatekeeper
from gatekeeper.sources import LoadContext, kustomize
from gatekeeper.tree import MemoryTree
from tests.test_kustomize_build import ROOT, both_ways, refused


def pod(container: str, kind: str = "Pod", api: str = "v1") -> str:
    spec = f"spec:\n  containers:\n  - {container}\n"
    if kind != "Pod":
        spec = (
            "spec:\n  selector: {matchLabels: {a: b}}\n  template:\n"
            "    metadata: {labels: {a: b}}\n"
            f"    spec:\n      containers:\n      - {container}\n"
        )
    return f"apiVersion: {api}\nkind: {kind}\nmetadata: {{name: p}}\n{spec}"


def images(entry: str, resource: str) -> dict[str, str]:
    return {ROOT: f"resources: [r.yaml]\nimages:\n- {entry}\n", "app/r.yaml": resource}


def image_of(objects: list[dict[str, Any]]) -> str:
    spec = objects[0]["spec"]
    spec = spec.get("template", {}).get("spec", spec)
    image: str = spec["containers"][0]["image"]
    return image


def test_images_applied_again_by_their_field_specs() -> None:
    """kustomize sets images twice on pod specs at the usual paths (its walk over
    `containers`, then its field specs): a new name that matches the old one changes
    twice, and the gate must see the doubled tag kubectl prints."""
    for kind, api in (("Pod", "v1"), ("Deployment", "apps/v1")):
        built = both_ways(
            images("{name: nginx, newName: 'nginx:2.0'}", pod("{name: a, image: nginx}", kind, api))
        )
        assert image_of(built) == "nginx:2.0:2.0"
        built = both_ways(
            images(
                "{name: nginx, newName: 'nginx@sha256:ab'}",
                pod("{name: a, image: nginx}", kind, api),
            )
        )
        assert image_of(built) == "nginx@sha256:ab@sha256:ab"


def test_images_on_a_null_image_or_containers_that_are_a_mapping_go_to_kubectl() -> None:
    """kustomize matches a null image by its text (`null` -> evil), and its field specs
    reach `spec.containers` when it is a mapping."""
    for written in ("null", "Null", "~"):
        files = images("{name: 'null', newName: evil}", pod(f"{{name: a, image: {written}}}"))
        assert refused(files) == "a null image"
    mapping = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: {image: nginx}\n"
    )
    assert (
        refused(images("{name: nginx, newName: evil}", mapping)) == "containers that are not a list"
    )
    custom = (
        "apiVersion: x.io/v1\nkind: Foo\nmetadata: {name: f}\nspec:\n  containers: {image: nginx}\n"
    )
    assert "not a list" in refused(images("{name: nginx, newName: evil}", custom))
    volume = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
        "spec:\n  containers: []\n  volumes: {image: {reference: nginx}}\n"
    )
    assert refused(images("{name: nginx, newName: evil}", volume)) == "an image volume"


CONFIG_MAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {a: b}\n"


def kustomization(extra: str) -> dict[str, str]:
    return {ROOT: f"resources: [cm.yaml]\n{extra}", "app/cm.yaml": CONFIG_MAP}


def test_kustomization_fields_of_the_wrong_type_go_to_kubectl() -> None:
    """kubectl rejects these; in-process they were skipped as empty (`namespace: off`
    built the objects without a namespace)."""
    for extra in ("namespace: 0\n", "namespace: off\n", "namespace: []\n", "namespace: {}\n"):
        assert refused(kustomization(extra)) == "a namespace that is not a string"
    for pairs in ("0", "[]", "''"):
        assert "not strings" in refused(kustomization(f"labels: [{{pairs: {pairs}}}]\n"))
    assert both_ways(kustomization("namespace: ''\nlabels: [{pairs: {}}]\n"))[0] == {
        "apiVersion": "v1",
        "data": {"a": "b"},
        "kind": "ConfigMap",
        "metadata": {"name": "cm"},
    }


def test_kustomization_values_go_yaml_v2_reads_as_numbers_or_booleans_go_to_kubectl() -> None:
    """kustomize reads its kustomization with go-yaml v2: `0o17`, `1e3`, `08` are numbers
    and `y`/`n` booleans there (kubectl fails), strings to PyYAML."""
    for value in ("0o17", "1e3", "08", "y", "N", "+1e3"):
        for extra in (f"namespace: {value}\n", f"commonAnnotations: {{a: {value}}}\n"):
            assert refused(kustomization(extra)) in (
                "a kustomization value go-yaml v2 reads as another type",
                # `y`, `N`: booleans to the loader too, refused as such
                "a namespace that is not a string",
                "labels or annotations that are not strings",
            )
    files = {
        ROOT: "resources: [r.yaml]\nreplicas: [{name: d, count: 1:20}]\n",  # 80 to PyYAML
        "app/r.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n",
    }
    assert refused(files) == "a sexagesimal number (a string to go-yaml v2)"
    quoted = both_ways(kustomization("namespace: '0o17'\ncommonAnnotations: {a: 'y'}\n"))
    assert quoted[0]["metadata"] == {"annotations": {"a": "y"}, "name": "cm", "namespace": "0o17"}


PRIVILEGED = pod("{name: a, image: nginx, securityContext: {privileged: true}}")
OTHER = PRIVILEGED.replace("name: p", "name: q")


def resource(text: str) -> dict[str, str]:
    return {ROOT: "resources: [r.yaml]\n", "app/r.yaml": text}


def test_files_kustomize_splits_otherwise_than_yaml_go_to_kubectl() -> None:
    """kustomize splits a file at lines starting with `---` before YAML reads it, and reads
    one document per part: what the YAML stream holds beyond that is not what it builds
    (kubectl fails, or drops the second document)."""
    cases = {
        "a document separator followed by content": [
            PRIVILEGED + "--- {apiVersion: v1, kind: ConfigMap, metadata: {name: c}}\n",
            PRIVILEGED + "----\n" + OTHER,
        ],
        "a document end marker or a directive": [
            PRIVILEGED + "---\n...\n",
            PRIVILEGED + "...\n---\n" + OTHER,
            "%YAML 1.1\n---\n" + PRIVILEGED,
        ],
        "a line break kustomize does not split at": [
            (PRIVILEGED + "---\n" + OTHER).replace("\n", brk) for brk in ("\r", "\x85", "\u2028")
        ],
    }
    for reason, texts in cases.items():
        for text in texts:
            assert refused(resource(text)) == reason, text
    fine = "---\n---\n" + PRIVILEGED + "--- # next\n" + OTHER + "---\t\n# end\n---\n"
    assert [obj["metadata"]["name"] for obj in both_ways(resource(fine))] == ["p", "q"]
    assert len(both_ways(resource((PRIVILEGED + "---\n" + OTHER).replace("\n", "\r\n")))) == 2


def json_patch(operations: str) -> dict[str, str]:
    lines = "".join(f"    {line}\n" for line in operations.splitlines())
    kustomization = f"resources: [r.yaml]\npatches:\n- target: {{kind: Pod}}\n  patch: |\n{lines}"
    return {
        ROOT: kustomization,
        "app/r.yaml": PRIVILEGED.replace("{name: p}", "{name: p, annotations: {a: b}}"),
    }


def test_json_patches_kustomize_reads_otherwise_go_to_kubectl() -> None:
    """Patch text is go-yaml v2's: `y` is true there (as a value and as a key); an empty
    key in a pointer (`/metadata/annotations/`) drops all the annotations in kubectl."""
    for operations in (
        "- {op: add, path: /spec/x, value: y}",
        "- {op: add, path: /spec/x, value: {N: 1}}",
    ):
        assert refused(json_patch(operations)) == "a patch value go-yaml v2 and v3 read differently"
    for path in ("/metadata/annotations/", "/", "/spec//x"):
        operations = f"- {{op: add, path: '{path}', value: z}}"
        assert refused(json_patch(operations)) == "a JSON pointer with an empty key"
    built = both_ways(json_patch("- {op: add, path: /spec/x, value: 'y'}"))
    assert built[0]["spec"]["x"] == "y"


def test_target_patterns_re2_rejects_go_to_kubectl() -> None:
    """`web*+` is possessive to Python 3.11 and an error to Go's RE2 (kubectl fails)."""
    for pattern in ("web*+", "web++", "we+*b"):
        files = json_patch("- {op: add, path: /spec/x, value: z}")
        files[ROOT] = files[ROOT].replace("{kind: Pod}", f"{{kind: Pod, name: '{pattern}'}}")
        assert refused(files) == "a target pattern with a repeated repetition"
    files = json_patch("- {op: add, path: /spec/x, value: z}")
    files[ROOT] = files[ROOT].replace("{kind: Pod}", "{kind: Pod, name: '(w)*p+|x'}")
    assert both_ways(files)[0]["spec"]["x"] == "z"


REPLICATION_CONTROLLER = """\
apiVersion: {api}
kind: ReplicationController
metadata: {{name: rc}}
spec:
  template:
    spec: {{containers: [{{name: c, image: nginx}}]}}
"""


def test_replication_controller_templates_by_version_in_any_group() -> None:
    """kustomize's field specs for a ReplicationController's template name version v1 and
    no group: x.io/v1 gets the template annotations and labels, core v2 does not."""
    extras = ("commonAnnotations: {q: w}\n", "labels: [{pairs: {q: w}, includeTemplates: true}]\n")
    for api, templated in (("v1", True), ("x.io/v1", True), ("v2", False), ("x.io/v2", False)):
        for extra in extras:
            files = {
                ROOT: f"resources: [r.yaml]\n{extra}",
                "app/r.yaml": REPLICATION_CONTROLLER.format(api=api),
            }
            template = both_ways(files)[0]["spec"]["template"]
            assert ("metadata" in template) == templated, (api, extra)


def test_labels_and_annotations_with_an_empty_key_go_to_kubectl() -> None:
    for extra in ("commonAnnotations: {'': z}\n", "labels: [{pairs: {'': z}}]\n"):
        assert "empty key" in refused(kustomization(extra))


def test_replicas_over_a_value_of_another_type_go_to_kubectl() -> None:
    """kustomize sets the count's text and keeps the written tag: `replicas: '1'` becomes
    the string "3", which the gate must not read as the number 3."""
    deployment = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  replicas: WRITTEN
  template:
    spec: {containers: [{name: c, image: nginx}]}
"""
    for written in ("'1'", "null", "true", "1.5"):
        files = {
            ROOT: "resources: [r.yaml]\nreplicas: [{name: d, count: 3}]\n",
            "app/r.yaml": deployment.replace("WRITTEN", written),
        }
        assert "another type" in refused(files)
    files["app/r.yaml"] = deployment.replace("WRITTEN", "1")
    assert both_ways(files)[0]["spec"]["replicas"] == 3


def thing(api: str, kind: str, name: str, namespace: str = "") -> str:
    where = f", namespace: {namespace}" if namespace else ""
    return f"apiVersion: {api}\nkind: {kind}\nmetadata: {{name: {name}{where}}}\nspec: {{x: 1}}\n"


def test_ids_as_kustomize_compares_them() -> None:
    """kustomize ignores the namespace of a cluster-scoped kind when it looks for two
    objects with one id (kubectl fails), and parses `/v1` as `v1` and `a/b/c` as group a."""
    rbac = "rbac.authorization.k8s.io/v1"
    for first, second in (
        (thing(rbac, "ClusterRole", "a"), thing(rbac, "ClusterRole", "a", "x")),
        (thing("v1", "Namespace", "a", "y"), thing("v1", "Namespace", "a", "x")),
    ):
        assert refused(resource(first + "---\n" + second)) == "two objects with the same id"
    for api in ("/v1", "a/b/c"):
        assert "parses otherwise" in refused(resource(thing(api, "Foo", "f")))
    namespaced = (
        thing("v1", "ConfigMap", "a", "x")
        + "---\n"
        + thing("v1", "ConfigMap", "a", "y")
        + "---\n"
        + thing(rbac, "RoleBinding", "b", "x")
        + "---\n"
        + thing(rbac, "RoleBinding", "b", "y")
    )
    assert len(both_ways(resource(namespaced))) == 4


def test_a_list_with_a_function_config_goes_to_kubectl() -> None:
    """kustomize's reader unwraps a file that is one List or ResourceList with a
    functionConfig: its items, not the List, are the resources."""
    for kind in ("List", "ResourceList"):
        text = f"apiVersion: v1\nkind: {kind}\nmetadata: {{name: l}}\nfunctionConfig: {{a: b}}\n"
        assert "functionConfig" in refused(resource(text))


def test_merge_keys_in_kustomizations_are_not_read_as_pyyaml_merges_them() -> None:
    """go-yaml v2 applies `<<` in document order: `namespace: shown` then
    `<<: {namespace: kube-system}` deploys into kube-system, while PyYAML lets the written
    key win. A base goes to kubectl (which reads its file as written); the top kustomization,
    which the gate hands kubectl re-encoded, is a parse error at the merge key."""
    base = "resources: [cm.yaml]\nnamespace: shown\n<<: {namespace: kube-system}\n"
    files = {ROOT: "resources: [base]\n", "app/base/kustomization.yaml": base}
    files["app/base/cm.yaml"] = CONFIG_MAP
    # (its key set twice by the merge: refused as a file that does not parse cleanly)
    assert refused(files) == "a file that does not parse cleanly"
    data = {name: text.encode() for name, text in files.items()}
    loaded = kustomize.load(ROOT, data[ROOT], LoadContext(tree=MemoryTree(data)))
    assert [d.namespace for d in loaded.documents] == ["kube-system"]
    top = (
        "resources: [cm.yaml]\nimages:\n- name: nginx\n  newName: corp/nginx\n  <<: {newName: x}\n"
    )
    loaded = kustomize.load(ROOT, top.encode(), LoadContext(tree=MemoryTree({})))
    assert [(p.code, p.line) for p in loaded.problems] == [("GK-PARSE-ERROR", 5)]
    assert "merge key" in loaded.problems[0].message


def test_a_renamed_namespace_is_still_a_target_by_its_written_name() -> None:
    """`namespace: prod` renames a v1 Namespace `dev` to prod; kustomize still selects it
    by its first name, so an overlay's patch for `dev` (here: a privileged Pod Security
    level) lands on it."""
    label = "{op: add, path: /metadata/labels, value: {pod-security.kubernetes.io/enforce: x}}"
    files = {
        ROOT: f"resources: [base]\npatches:\n- target: {{kind: Namespace, name: dev}}\n"
        f"  patch: |\n    - {label}\n",
        "app/base/kustomization.yaml": "resources: [ns.yaml]\nnamespace: prod\n",
        "app/base/ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: dev}\n",
    }
    (namespace,) = both_ways(files)
    assert namespace["metadata"] == {
        "labels": {"pod-security.kubernetes.io/enforce": "x"},
        "name": "prod",
    }


COMPONENT = "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
PRIVILEGED_PATCH = """\
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
    - name: web
      securityContext: {privileged: true}
"""


def test_an_overlay_turned_component_is_still_built_and_judged() -> None:
    """kubectl builds a Component on its own, and Argo CD can point at its folder: a PR that
    turns an overlay into a Component (its patch makes the pod privileged) is judged."""
    files = {
        ROOT: COMPONENT + "resources: [pod.yaml]\npatches:\n  - path: patch.yaml\n",
        "app/pod.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\n"
        "spec: {containers: [{name: web, image: nginx}]}\n",
        "app/patch.yaml": PRIVILEGED_PATCH,
    }
    data = {name: text.encode() for name, text in files.items()}
    loaded = kustomize.load(ROOT, data[ROOT], LoadContext(tree=MemoryTree(data)))
    assert loaded.problems == []
    [document] = loaded.documents
    assert document.obj["spec"]["containers"][0]["securityContext"] == {"privileged": True}


def test_a_component_that_builds_only_inside_a_parent_is_quiet() -> None:
    """Its patch needs the parent's resources: built alone it fails, and deploys nothing."""
    files = {
        ROOT: COMPONENT + "patches:\n  - path: patch.yaml\n",
        "app/patch.yaml": PRIVILEGED_PATCH,
    }
    data = {name: text.encode() for name, text in files.items()}
    loaded = kustomize.load(ROOT, data[ROOT], LoadContext(tree=MemoryTree(data)))
    assert (loaded.documents, loaded.problems) == ([], [])


def test_a_base_error_read_by_several_overlays_is_said_once(tmp_path: Path) -> None:
    """Every overlay whose build reads the base reports the base's remote resource at the
    base's line: one finding there, not one per overlay."""
    files = {
        "base/kustomization.yaml": "resources:\n  - https://example.com/remote.yaml\n",
        "one/kustomization.yaml": "resources: [../base]\n",
        "two/kustomization.yaml": "resources: [../base]\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    errors = [(f.file, f.line) for f in report.verdict.findings if f.policy_id == "GK-RENDER-ERROR"]
    assert errors.count(("base/kustomization.yaml", 2)) == 1, errors
