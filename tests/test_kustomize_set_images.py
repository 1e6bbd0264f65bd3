"""An image placeholder the repository's Makefile replaces with `kustomize edit set image`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Run

Gatekeeper = Callable[..., Run]
Write = Callable[[str, "str | bytes"], Path]

MANAGER = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: controller-manager
  namespace: system
spec:
  selector:
    matchLabels: {app: manager}
  template:
    metadata:
      labels: {app: manager}
    spec:
      containers:
      - name: manager
        image: controller:latest
      - name: proxy
        image: busybox
      - name: agent
        image: ghcr.io/acme/agent:latest
"""


def _image_findings(run: Run) -> list[tuple[str, str, int, str]]:
    return sorted(
        (f["policy_id"], f["file"], f["line"], f["message"].split(" of container ")[0])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] in ("K8S-IMAGE-TAG-PINNED", "K8S-IMAGE-ALLOWED-REGISTRY")
    )


@pytest.mark.parametrize("by_kubectl", [False, True])
def test_a_placeholder_image_the_makefile_sets_is_the_value_it_gets(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path, by_kubectl: bool
) -> None:
    """kubebuilder's `image: controller:latest`, which the Makefile's `cd config/manager &&
    $(KUSTOMIZE) edit set image controller=${IMG}` replaces before `kustomize build
    config/default | kubectl apply -f -` (opentelemetry-operator: 4 blocking findings "no tag"
    and "comes from Docker Hub" in every build of the operator). A value the Makefile
    computes is unknown: no image finding; a value it writes is judged, at the edit's line
    (another target's computed value for the same folder does not hide it).
    Only a one-word placeholder (docker.io/library/NAME, Docker's alone) is read so: an image
    with an owner (`ghcr.io/acme/agent`) is deployable as written and stays judged; an image
    no edit names (`busybox`) too. `vars:` makes the build kubectl's, not in-process."""
    write(
        "Makefile",
        "IMG_PREFIX ?= ghcr.io/acme\n"
        "IMG ?= ${IMG_PREFIX}/operator:$(VERSION)\n"
        "VERSION ?= $(shell git describe --tags)\n"
        "AGENT_IMG ?= ghcr.io/acme/agent:$(VERSION)\n"
        "RELEASE_IMG ?= docker.io/acme/operator:latest\n\n"
        "deploy:\n"
        "\tcd config/manager && $(KUSTOMIZE) edit set image controller=${IMG}"
        " ghcr.io/acme/agent=$(AGENT_IMG)\n"
        "\t$(KUSTOMIZE) build config/default | kubectl apply -f -\n\n"
        "release:\n"
        "\tcd config/manager && $(KUSTOMIZE) edit set image controller=$(RELEASE_IMG)\n",
    )
    write("config/manager/manager.yaml", MANAGER)
    write("config/manager/kustomization.yaml", "resources:\n- manager.yaml\n")
    extra = (
        "vars:\n- name: NS\n"
        "  objref: {kind: Deployment, name: controller-manager, apiVersion: apps/v1}\n"
        "  fieldref: {fieldpath: metadata.namespace}\n"
        if by_kubectl
        else ""
    )
    default = "namespace: acme-system\nresources:\n- ../manager\n"
    write("config/default/kustomization.yaml", default + extra)
    write(".gatekeeper.yml", "packs: [kubernetes]\n")
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    manager = "config/manager/manager.yaml"
    assert _image_findings(run) == [
        ("K8S-IMAGE-ALLOWED-REGISTRY", "Makefile", 12, "image docker.io/acme/operator:latest"),
        ("K8S-IMAGE-ALLOWED-REGISTRY", manager, 17, "image busybox"),
        ("K8S-IMAGE-TAG-PINNED", "Makefile", 12, "image docker.io/acme/operator:latest"),
        ("K8S-IMAGE-TAG-PINNED", manager, 17, "image busybox"),
        ("K8S-IMAGE-TAG-PINNED", manager, 19, "image ghcr.io/acme/agent:latest"),
    ]


PATCH = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: controller-manager
  namespace: system
spec:
  template:
    spec:
      containers:
      - name: manager
        image: ghcr.io/acme/operator:v1.2.3
"""


@pytest.mark.parametrize("applied_alone", ["", "edited", "ci", "ci build", "argocd", "taker fails"])
def test_what_only_a_base_s_own_build_says_is_left_out_unless_it_is_deployed_alone(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path, applied_alone: str
) -> None:
    """cluster-api: each provider's config/manager (a kustomization) says `image:
    controller:latest`, which every config/default taking it in patches
    (manager_image_patch.yaml); its own build said "latest tag", "Docker Hub" (3 blocking per
    provider). A base that another build takes in and nothing applies alone is as its
    file read alone: what only its own build shows is left out. What the taking build also
    shows (busybox) is kept; so is all of it when CI applies the base alone (`kubectl apply
    -k config/manager`, or a Makefile's `kustomize build config/manager | kubectl apply -f
    -`) or an Argo CD Application deploys its folder (its `path:`; the
    Application's own rendering is another repository's here: no remote), or the build
    taking it in fails (argo-cd's HA overlay over a failing redis-ha: its error is said at
    the failing base, and nothing else judged the objects)."""
    write("config/manager/manager.yaml", MANAGER)
    write("config/manager/kustomization.yaml", "resources:\n- manager.yaml\n")
    write("config/default/manager_image_patch.yaml", PATCH)
    broken = "- ../broken\n" if applied_alone == "taker fails" else ""
    write("config/broken/kustomization.yaml", "resources:\n- missing.yaml\n")
    write(
        "config/default/kustomization.yaml",
        "namespace: acme-system\nresources:\n- ../manager\n"
        + broken
        + "patches:\n- path: manager_image_patch.yaml\n",
    )
    if applied_alone == "ci":
        write(
            ".github/workflows/deploy.yml",
            "on: push\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n"
            "      - run: kubectl apply -k config/manager\n",
        )
    if applied_alone in ("edited", "ci build"):
        command = (
            "cd config/manager && kustomize edit set label team:x"
            if applied_alone == "edited"
            else "kustomize build config/manager | kubectl apply -f -"
        )
        write("Makefile", f"deploy:\n\t{command}\n")
    if applied_alone == "argocd":
        write(
            "apps/manager.yaml",
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\n"
            "metadata: {name: m, namespace: argocd}\nspec:\n  project: default\n"
            "  source: {repoURL: 'https://github.com/acme/op.git', path: config/manager,"
            " targetRevision: main}\n"
            "  destination: {server: 'https://kubernetes.default.svc', namespace: acme}\n",
        )
    write(".gatekeeper.yml", "packs: [kubernetes]\n")
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    manager = "config/manager/manager.yaml"
    found = [(rule, file, line) for rule, file, line, _ in _image_findings(run)]
    kept = [
        ("K8S-IMAGE-ALLOWED-REGISTRY", manager, 17),
        ("K8S-IMAGE-TAG-PINNED", manager, 17),
        ("K8S-IMAGE-TAG-PINNED", manager, 19),
    ]
    placeholder = [
        ("K8S-IMAGE-ALLOWED-REGISTRY", manager, 15),
        ("K8S-IMAGE-TAG-PINNED", manager, 15),
    ]
    alone = applied_alone not in ("", "edited")  # an edit of the folder deploys nothing
    assert found == sorted(kept + (placeholder if alone else []))


def test_an_edit_keeps_a_kustomization_s_own_images_errors() -> None:
    """The Makefile's entries join `images:` as `kustomize edit set image` writes them (an
    entry of the same name replaced); an `images:` that is no list, or an entry that is no
    mapping, is left for kustomize to refuse, not repaired into a build that passes."""
    from gatekeeper.sources.kustomize_set_images import with_entries

    added = [{"name": "controller", "newName": "ghcr.io/acme/op", "newTag": "v1"}]
    assert with_entries({"images": "oops"}, added) == {"images": "oops"}
    assert with_entries({"images": ["oops", {"name": "controller"}]}, added) == {
        "images": ["oops", *added]
    }
    assert with_entries({"resources": ["a.yaml"]}, added) == {
        "resources": ["a.yaml"],
        "images": added,
    }


@pytest.mark.parametrize(
    "deployer",
    [
        (
            "apps/operator.yaml",
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: op}\n"
            "spec:\n  project: ops\n  destination: {server: https://kubernetes.default.svc}\n"
            "  source:\n    repoURL: https://github.com/acme/op.git\n"
            "    path: config/default\n    targetRevision: main\n",
        ),
        (
            ".github/workflows/deploy.yml",
            "on: push\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n"
            "      - uses: actions/checkout@v4\n      - run: kubectl apply -k config/default\n",
        ),
    ],
)
def test_a_folder_a_deployer_builds_as_written_keeps_its_images_as_written(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path, deployer: tuple[str, str]
) -> None:
    """An Argo CD Application on config/default (or a workflow's `kubectl apply -k`) never
    runs the Makefile: `busybox:latest`, an image Docker does publish, is deployed as
    written, whatever the Makefile's edit would set it to (lead review of noise15: a one-word
    placeholder named like an official image took the edit's pinned value everywhere)."""
    write(
        "Makefile",
        "deploy:\n\tcd config/manager && $(KUSTOMIZE) edit set image"
        " busybox=ghcr.io/acme/ok@sha256:" + "a" * 64 + "\n"
        "\t$(KUSTOMIZE) build config/default | kubectl apply -f -\n",
    )
    write("config/manager/manager.yaml", MANAGER.replace("image: busybox", "image: busybox:latest"))
    write("config/manager/kustomization.yaml", "resources:\n- manager.yaml\n")
    write("config/default/kustomization.yaml", "namespace: acme-system\nresources:\n- ../manager\n")
    write(".gatekeeper.yml", "packs: [kubernetes]\n")
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    assert not any("busybox" in finding[3] for finding in _image_findings(run))  # make alone
    write(*deployer)
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    manager = "config/manager/manager.yaml"
    assert ("K8S-IMAGE-TAG-PINNED", manager, 17, "image busybox:latest") in _image_findings(run)
