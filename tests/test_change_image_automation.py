"""A change that hands a privileged container's image line to Flux image automation (red
team s13 u02): the bot writes another repository's image after review, with no pull request."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatekeeper.change import scan_change
from gatekeeper.image_automation import marks
from tests.test_change import Repo

AGENT = """\
apiVersion: v1
kind: Pod
metadata: {name: agent, namespace: ops}
spec:
  containers:
    - name: agent
      image: ghcr.io/acme/agent:1.2.0
      securityContext: {privileged: true}
"""


def statuses(tmp_path: Path, marker: str) -> set[tuple[str, str]]:
    """(status, message) of K8S-PSS-PRIVILEGED after a change appending `marker` to the
    image line of a pod that was privileged in the base."""
    repo = Repo(tmp_path / "repo")
    repo.write("ops/agent.yaml", AGENT)
    repo.commit("base")
    repo.branch("pr")
    repo.write("ops/agent.yaml", AGENT.replace(":1.2.0", f":1.2.0 # {marker}"))
    repo.commit("pr")
    found = scan_change(repo.root, "main", filter_mode="all").verdict.findings
    return {(f.status, f.message) for f in found if f.policy_id == "K8S-PSS-PRIVILEGED"}


def test_a_marker_added_to_a_privileged_container_s_image_makes_its_findings_new(
    tmp_path: Path,
) -> None:
    found = statuses(tmp_path, '{"$imagepolicy": "flux-system:agent"}')
    assert found == {
        (
            "new",
            "container agent runs privileged; its image is now picked after review by Flux"
            " image automation (ImagePolicy flux-system:agent), marked at ops/agent.yaml:7",
        )
    }


def test_a_tag_marker_moves_only_the_version(tmp_path: Path) -> None:
    found = statuses(tmp_path, '{"$imagepolicy": "flux-system:agent:tag"}')
    assert {status for status, _ in found} == {"existing"}


@pytest.mark.parametrize(
    ("line", "repository"),
    [
        (b'  image: "ghcr.io/acme/agent:1" # {"$imagepolicy": "ns:p"}', "ghcr.io/acme/agent"),
        (b'    newName: acme/agent # {"$imagepolicy": "ns:p:name"}', "docker.io/acme/agent"),
        (b'- nginx:1.27 #{"$imagepolicy":"ns:p"}', "docker.io/library/nginx"),
        (b'    newTag: 1.2.0 # {"$imagepolicy": "ns:p:tag"}', None),
    ],
)
def test_marks_read_the_image_on_the_marked_line(line: bytes, repository: str | None) -> None:
    assert list(marks(line)) == ([repository] if repository else [])


UPDATED = b"""\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: agent
  annotations:
    argocd-image-updater.argoproj.io/image-list: a=docker.io/other/agent, b=ghcr.io/acme/web
    argocd-image-updater.argoproj.io/a.kustomize.image-name: ghcr.io/acme/agent
"""


def test_image_updater_annotations_replacing_another_repository_are_marks() -> None:
    """Red team s13 u03: Argo CD Image Updater swaps ghcr.io/acme/agent for another owner's
    image through the Argo CD API; b only moves ghcr.io/acme/web's tag."""
    assert marks(UPDATED) == {
        "ghcr.io/acme/agent": ("Argo CD Image Updater (a=docker.io/other/agent)", 6)
    }


IMAGES = """\
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImageRepository
metadata: {name: agent, namespace: flux-system}
spec: {image: IMAGE, interval: 5m}
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
metadata: {name: agent, namespace: flux-system}
spec:
  imageRepositoryRef: {name: agent}
  policy: {semver: {range: ">=1.0.0"}}
"""


def repointed_statuses(
    tmp_path: Path, image: str, base: str = "ghcr.io/acme/agent"
) -> set[tuple[str, str]]:
    """(status, message) of K8S-PSS-PRIVILEGED after a change that only sets the spec.image
    of the ImageRepository whose policy already marks the privileged pod's image line."""
    repo = Repo(tmp_path / "repo")
    marker = ' # {"$imagepolicy": "flux-system:agent"}'
    repo.write("ops/agent.yaml", AGENT.replace(":1.2.0", f":1.2.0{marker}"))
    repo.write("flux/images.yaml", IMAGES.replace("IMAGE", base))
    repo.commit("base")
    repo.branch("pr")
    repo.write("flux/images.yaml", IMAGES.replace("IMAGE", image))
    repo.commit("pr")
    found = scan_change(repo.root, "main", filter_mode="all").verdict.findings
    return {(f.status, f.message) for f in found if f.policy_id == "K8S-PSS-PRIVILEGED"}


def test_an_image_repository_swapped_under_an_old_marker_makes_its_findings_new(
    tmp_path: Path,
) -> None:
    """Red team s13 u02 (repo): the marker is old; the change points its ImagePolicy's
    ImageRepository at another owner's image, which Flux then writes on the line."""
    found = repointed_statuses(tmp_path, "docker.io/evilcorp/agent")
    assert found == {
        (
            "new",
            "container agent runs privileged; its image is now picked after review by Flux"
            " image automation (ImagePolicy flux-system:agent, now of"
            " docker.io/evilcorp/agent), marked at ops/agent.yaml:7",
        )
    }


def test_an_image_repository_pointed_back_at_the_written_repository_changes_nothing(
    tmp_path: Path,
) -> None:
    found = repointed_statuses(tmp_path, "ghcr.io/acme/agent", base="docker.io/other/agent")
    assert "new" not in {status for status, _ in found}


def test_an_image_repository_patched_by_a_kustomization_counts_with_the_patch_s_image(
    tmp_path: Path,
) -> None:
    """Whichever file is read first, a patch the change adds to the ImageRepository is one
    more image the policy may pick."""
    repo = Repo(tmp_path / "repo")
    marker = ' # {"$imagepolicy": "flux-system:agent"}'
    repo.write("ops/agent.yaml", AGENT.replace(":1.2.0", f":1.2.0{marker}"))
    repo.write("flux/images.yaml", IMAGES.replace("IMAGE", "ghcr.io/acme/agent"))
    repo.commit("base")
    repo.branch("pr")
    repo.write(
        "flux/kustomization.yaml",
        "resources: [images.yaml]\npatches:\n  - path: a-patch.yaml\n",
    )
    patch = IMAGES.split("---")[0].replace("IMAGE", "docker.io/evilcorp/agent")
    repo.write("flux/a-patch.yaml", patch)
    repo.commit("pr")
    found = scan_change(repo.root, "main", filter_mode="all").verdict.findings
    assert {f.status for f in found if f.policy_id == "K8S-PSS-PRIVILEGED"} == {"new"}
