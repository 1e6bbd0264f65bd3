"""Builds that need no kubectl process: Components on their own, and builds kustomize fails.

A Component whose fields only transform (patches, images, labels) builds to nothing alone;
one with resources is built in-process; a build kustomize certainly fails is nothing for a
Component, and kubectl's own message for a kustomization whose resource file is missing.
Each case is checked against the real `kubectl kustomize`.
"""

from __future__ import annotations

from typing import Any

import pytest

from gatekeeper.document import Loaded
from gatekeeper.sources import LoadContext, kustomize
from gatekeeper.tree import MemoryTree
from gatekeeper.yamldoc import YamlDocument, load_all
from tests.test_kustomize_build import DEPLOYMENT, seen

COMPONENT = "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
ROOT = "app/kustomization.yaml"
PATCH = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
        - {name: web, securityContext: {privileged: true}}
"""


def _context(files: dict[str, str]) -> tuple[dict[str, bytes], LoadContext]:
    data = {name: text.encode() for name, text in files.items()}
    return data, LoadContext(tree=MemoryTree(data))


def kubectl_alone(files: dict[str, str], path: str = ROOT) -> Loaded:
    """What `kubectl kustomize` itself makes of the folder (a Component too)."""
    _, context = _context(files)
    (kustomization,) = [e for e in load_all(path, files[path]) if isinstance(e, YamlDocument)]
    return kustomize._build_overlay(path, kustomization, context, False, Loaded())


def without_kubectl(
    files: dict[str, str], monkeypatch: pytest.MonkeyPatch, path: str = ROOT
) -> Loaded:
    """The scan's build, with kubectl forbidden."""

    def forbidden(*args: Any) -> None:
        raise AssertionError("kubectl was run")

    data, context = _context(files)
    with monkeypatch.context() as patched:
        patched.setattr(kustomize, "_run", forbidden)
        return kustomize.load(path, data[path], context)


def built_by_one_kubectl_run(files: dict[str, str]) -> Loaded:
    """The scan's build, which must run kubectl once (we do not know its result)."""
    data, context = _context(files)
    runs: list[Any] = []
    real = kustomize._run

    def counted(*args: Any) -> Any:
        runs.append(args)
        return real(*args)

    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(kustomize, "_run", counted)
        loaded = kustomize.load(ROOT, data[ROOT], context)
    assert len(runs) == 1
    return loaded


@pytest.mark.parametrize(
    "fields",
    [
        "patches:\n  - path: patch.yaml\n",  # fails alone: no Deployment web
        "images: [{name: nginx, newTag: '2'}]\n",  # builds alone, to nothing
        "labels: [{pairs: {team: a}}]\nnamespace: prod\nresources: []\n",
        "patchesStrategicMerge: [patch.yaml]\nreplicas: [{name: web, count: 2}]\n",
    ],
)
def test_a_component_that_only_transforms_is_not_built(
    fields: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {ROOT: COMPONENT + fields, "app/patch.yaml": PATCH}
    assert kubectl_alone(files).documents == []
    loaded = without_kubectl(files, monkeypatch)
    assert (loaded.documents, loaded.problems) == ([], [])


def test_a_component_with_resources_is_built_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Built alone exactly as kubectl builds it, its own resources transformed."""
    files = {
        ROOT: COMPONENT + "resources: [deploy.yaml]\nlabels: [{pairs: {team: a}}]\n"
        "patches:\n  - path: patch.yaml\n",
        "app/deploy.yaml": DEPLOYMENT,
        "app/patch.yaml": PATCH,
    }
    ours = without_kubectl(files, monkeypatch)
    assert seen(ours) == seen(kubectl_alone(files))
    [document] = ours.documents
    assert document.obj["spec"]["template"]["spec"]["containers"][0]["securityContext"] == {
        "privileged": True
    }
    assert document.obj["metadata"]["labels"]["team"] == "a"


@pytest.mark.parametrize(
    "patch_entry",
    ["patches:\n  - path: patch.yaml\n", "patchesStrategicMerge: [patch.yaml]\n"],
)
def test_a_component_whose_patch_needs_a_parent_is_nothing_alone(
    patch_entry: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its resources are there, its patch's object is the parent's: kubectl fails it alone,
    so it deploys nothing alone, and no kubectl process is spent to learn that."""
    config = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\n"
    files = {
        ROOT: COMPONENT + "resources: [cm.yaml]\n" + patch_entry,
        "app/cm.yaml": config,
        "app/patch.yaml": PATCH,
    }
    reference = kubectl_alone(files)
    assert reference.documents == []
    assert "no matches for Id Deployment.v1.apps/web" in reference.problems[0].message
    loaded = without_kubectl(files, monkeypatch)
    assert (loaded.documents, loaded.problems) == ([], [])
    # Through an overlay that has the Deployment, the component is built and judged.
    overlay = {
        **files,
        "base/kustomization.yaml": "resources: [deploy.yaml]\n",
        "base/deploy.yaml": DEPLOYMENT,
        "prod/kustomization.yaml": "resources: [../base]\ncomponents: [../app]\n",
    }
    built = without_kubectl(overlay, monkeypatch, "prod/kustomization.yaml")
    assert [d.name for d in built.documents] == ["extra", "web"]


MISSING = [
    # (files beside the kustomization, its resources), the file missing
    ({}, "resources: [gone.yaml]\n"),
    ({}, "resources:\n  - ./gone.yaml\n"),
    ({}, "resources: [deploy.yaml, sub/dir/gone.yaml]\n"),
    ({"app/sub/cm.yaml": "x: 1\n"}, "resources: [deploy.yaml, sub/gone.yaml]\n"),
    ({}, "bases: [gone.yaml]\n"),
    (
        {
            "app/base/kustomization.yaml": "resources: [../../app/base/gone.yaml]\n",
        },
        "resources: [deploy.yaml, ./base/]\n",
    ),
    (
        {
            "base/kustomization.yaml": "resources: [deploy.yaml, ../shared]\n",
            "base/deploy.yaml": DEPLOYMENT,
            "shared/kustomization.yaml": "resources:\n  - chart/upstream.yaml\n",
        },
        "resources: [../base]\nnamePrefix: p-\n",
    ),
]


MISSING += [
    # generator inputs: env files, then literals, then files, each kind named in the error
    ({}, "configMapGenerator:\n  - name: c\n    files: [a=gone.txt, gone2.txt]\n"),
    ({}, "configMapGenerator:\n  - {name: c, literals: [a=b], envs: [gone.env]}\n"),
    (
        {"app/conf/a.txt": "x\n"},
        "resources: [deploy.yaml]\nconfigMapGenerator: [{name: c, files: [conf/a.txt]}]\n"
        "secretGenerator:\n  - {name: s, files: [pki/ca.crt, pki/tls.key], type: Opaque}\n",
    ),
    # a transformer configuration, read once the resources are in
    ({}, "resources: [deploy.yaml]\nconfigurations: [gone.yaml]\nhelmCharts: [{name: x}]\n"),
    (
        {"app/base/kustomization.yaml": "configurations: [conf/gone.yaml]\n"},
        "resources: [deploy.yaml, base]\n",
    ),
]


@pytest.mark.parametrize(("extra", "resources"), MISSING)
def test_a_missing_resource_is_kubectls_error_without_kubectl(
    extra: dict[str, str], resources: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A resource file the tree lacks (a file not committed, a link that leaves the
    repository) fails the build: the finding is kubectl's message at the entry's line,
    nested kustomizations' wording included, without running kubectl."""
    files = {ROOT: resources, "app/deploy.yaml": DEPLOYMENT, **extra}
    reference = kubectl_alone(files)
    assert reference.documents == [] and len(reference.problems) == 1
    said = reference.problems[0].message  # kustomize's nested wording, or its few words
    assert "no such file or directory" in said or " does not exist" in said, said
    ours = without_kubectl(files, monkeypatch)
    assert seen(ours) == seen(reference)


def test_a_missing_resource_at_the_root_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    files = {"kustomization.yaml": "resources: [deploy.yaml, gone/x.yaml]\n"}
    files["deploy.yaml"] = DEPLOYMENT
    reference = kubectl_alone(files, "kustomization.yaml")
    ours = without_kubectl(files, monkeypatch, "kustomization.yaml")
    assert seen(ours) == seen(reference)
    assert ours.problems and ours.problems[0].line == 1


@pytest.mark.parametrize(
    ("extra", "resources"),
    [
        # a folder the build has (a patch in it) without a kustomization: other words
        ({"app/sub/patch.yaml": PATCH}, "resources: [sub]\npatches: [{path: sub/patch.yaml}]\n"),
        # a file on the way is not a folder
        ({}, "resources: [deploy.yaml, deploy.yaml/x.yaml]\n"),
        # a field of another type than kustomize's struct wants: it fails loading first
        ({}, "resources: [gone.yaml]\nnamePrefix: 1\n"),
        (
            {
                "app/base/kustomization.yaml": "resources: [gone.yaml]\n"
                "replicas: [{name: web, count: '2'}]\n"
            },
            "resources: [base]\n",
        ),
        ({}, "helmCharts: [{name: a}, {name: b, includeCRDs: 'yes'}]\n"),
        # missing inside a component: worded as the component's
        (
            {"app/c/kustomization.yaml": COMPONENT + "resources: [gone.yaml]\n"},
            "resources: [deploy.yaml]\ncomponents: [c]\n",
        ),
    ],
)
def test_other_failures_are_still_kubectls(extra: dict[str, str], resources: str) -> None:
    """Where we do not know kubectl's words, kubectl is asked: same finding."""
    files = {ROOT: resources, "app/deploy.yaml": DEPLOYMENT, **extra}
    ours = built_by_one_kubectl_run(files)
    assert seen(ours) == seen(kubectl_alone(files))
    assert ours.problems


CHART = "helmCharts:\n  - {name: web, releaseName: test, version: v1.0.0}\n"
HELM = [
    {ROOT: "helmGlobals: {chartHome: .}\n" + CHART},
    {ROOT: "resources: [deploy.yaml]\n" + CHART + "  - {name: second}\n"},
    {  # go-yaml v2's quotes: strings that read as another type
        ROOT: "helmCharts:\n  - name: x\n    version: 1.2.3\n"
        "    repo: https://charts.example.com/a\n    releaseName: '1.2'\n"
        "    namespace: '01'\n    valuesFile: '2001-12-14'\n    nameTemplate: 'true'\n"
        "    additionalValuesFiles: [a.yaml, '~1.2', '1e3', '0x1F', '.']\n"
        "    includeCRDs: true\n    skipTests: false\n    apiVersions: [v1, 'y', 'null']\n"
        "helmGlobals: {configHome: conf}\n"
    },
    {  # refused before its generators run and its components are accumulated
        ROOT: CHART + "configMapGenerator: [{name: c, files: [gone.txt]}]\ncomponents: [../c]\n",
        "c/kustomization.yaml": COMPONENT + "resources: [gone.yaml]\n",
    },
    {  # in a base: each kustomization on the way wraps kubectl's words
        ROOT: "resources: [deploy.yaml, ../base]\n",
        "base/kustomization.yaml": "resources: [../charts/]\n",
        "charts/kustomization.yaml": CHART,
    },
]


@pytest.mark.parametrize("files", HELM)
def test_helm_charts_are_refused_in_kubectls_words_without_kubectl(
    files: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """kubectl never inflates charts without --enable-helm (gatekeeper never passes it):
    the finding is its refusal, which quotes kustomize's YAML of the chart's settings."""
    files = {"app/deploy.yaml": DEPLOYMENT, **files}
    reference = kubectl_alone(files)
    assert "must specify --enable-helm" in reference.problems[0].message
    ours = without_kubectl(files, monkeypatch)
    assert seen(ours) == seen(reference)


@pytest.mark.parametrize(
    "chart",
    [
        "{name: x, kubeVersion: '>=1.28'}",  # single quotes: kubectl asked
        "{name: x, valuesInline: {replicas: 2}}",
        "{name: x, version: '1:20'}",  # a sexagesimal number to go-yaml v2
        "{name: x, unknownField: 1}",
    ],
)
def test_helm_settings_we_cannot_quote_are_kubectls(chart: str) -> None:
    files = {ROOT: f"helmCharts: [{chart}]\n", "app/deploy.yaml": DEPLOYMENT}
    assert seen(built_by_one_kubectl_run(files)) == seen(kubectl_alone(files))


def test_a_component_with_charts_is_nothing_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    files = {ROOT: COMPONENT + "resources: [deploy.yaml]\n" + CHART, "app/deploy.yaml": DEPLOYMENT}
    assert kubectl_alone(files).documents == []
    loaded = without_kubectl(files, monkeypatch)
    assert (loaded.documents, loaded.problems) == ([], [])


# kustomize applies replacements after its generators: a generator's missing input fails
# the build first, in the words a build without replacements gets.
REPLACEMENTS = """\
replacements:
  - source: {kind: Secret, name: tls, fieldPath: data.ca\\\\.crt, options: {delimiter: '.'}}
    targets:
      - select: {kind: Deployment, name: web}
        fieldPaths: [metadata.annotations.ca]
        options: {create: true, index: 0}
"""
SECRET = "secretGenerator:\n  - {name: tls, type: kubernetes.io/tls, files: [pki/ca.crt]}\n"


@pytest.mark.parametrize(
    ("extra", "root"),
    [
        ({}, "bases: [deploy.yaml]\n" + SECRET + REPLACEMENTS),
        ({}, "resources: [deploy.yaml, gone.yaml]\n" + SECRET + REPLACEMENTS),
        (
            {"app/base/kustomization.yaml": SECRET + REPLACEMENTS},
            "resources: [deploy.yaml, base]\n",
        ),
    ],
)
def test_replacements_after_a_failing_generator_are_kubectls_error_without_kubectl(
    extra: dict[str, str], root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kubernetes/pod-security-admission's webhook generates its Secret from certificates
    made by `make certs`: every scan ran kubectl (60 MB) only to be told they are missing."""
    files = {ROOT: root, "app/deploy.yaml": DEPLOYMENT, **extra}
    reference = kubectl_alone(files)
    assert reference.documents == [] and len(reference.problems) == 1
    said = reference.problems[0].message
    assert "no such file or directory" in said or " does not exist" in said, said
    ours = without_kubectl(files, monkeypatch)
    assert seen(ours) == seen(reference)


@pytest.mark.parametrize(
    "root",
    [
        # builds: kubectl makes the objects
        "resources: [deploy.yaml]\nsecretGenerator: [{name: tls, literals: [ca.crt=x]}]\n"
        + REPLACEMENTS,
        # a replacement field we do not know the type of: kubectl may fail on loading first
        "resources: [deploy.yaml]\n" + SECRET + "replacements: [{source: {kind: 1}}]\n",
        "resources: [deploy.yaml]\n" + SECRET + "replacements: [{unknown: x}]\n",
        "resources: [deploy.yaml]\n" + SECRET + "replacements: [{targets: [{reject: []}]}]\n",
    ],
)
def test_replacements_otherwise_go_to_kubectl(root: str) -> None:
    files = {ROOT: root, "app/deploy.yaml": DEPLOYMENT}
    assert seen(built_by_one_kubectl_run(files)) == seen(kubectl_alone(files))
