"""Images a bot picks after review: Flux image automation's setter markers.

Flux's image-automation-controller rewrites a line marked `# {"$imagepolicy": "ns:name"}` (the
whole reference; `ns:name:name` the repository) with the image its ImagePolicy selects, from
the ImageRepository that policy names, and pushes the commit to the branch it is told, often the
one the change lands on, with no pull request. A change that only adds such a marker to the
image line of a waived privileged container keeps the image written as it was, so its findings
stayed waived; after the merge another owner's image runs there (red team s13 u02). So a
finding in a container (or pod) running an image repository whose line the change marks is
new, waived or not, as a swap of repository is (change.classify, image_identity). A `:tag`
marker only moves the tag, as a version bump does: it is left alone.

Argo CD Image Updater does the same through the Argo CD API, with no commit at all: an
Application annotated `argocd-image-updater.argoproj.io/image-list: agent=docker.io/other/agent`
and `agent.kustomize.image-name: ghcr.io/acme/agent` runs the other repository in place of the
named one (red team s13 u03).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml

from gatekeeper import image_identity, lazy_re
from gatekeeper.finding import Finding
from gatekeeper.images import parse_image

_MARKER = lazy_re.compile(rb'\{\s*"\$imagepolicy"\s*:\s*"([^"]+)"\s*\}')
_UPDATER = "argocd-image-updater.argoproj.io/"


def marks(text: bytes) -> dict[str, tuple[str, int]]:
    """image repository -> (what, line) of each marker that may change a repository."""
    found: dict[str, tuple[str, int]] = {}
    for policy, repository, number in _setters(text):
        what = f"Flux image automation (ImagePolicy {policy})"
        found.setdefault(repository, (what, number))
    return {**found, **_updater_marks(text)}


def _setters(text: bytes) -> list[tuple[str, str, int]]:
    """(policy as marked, repository written, line) of each marker that may change a
    repository (a `:tag` or `:digest` marker moves only the version)."""
    found = []
    for number, line in enumerate(text.splitlines() if b"$imagepolicy" in text else (), 1):
        match = _MARKER.search(line)
        if not match:
            continue
        policy = match.group(1).decode("utf-8", "replace")
        if policy.endswith((":tag", ":digest")):
            continue
        value = line[: match.start()].decode("utf-8", "replace").rstrip().rstrip("#").strip()
        value = value.split(": ", 1)[-1] if ": " in value else value.removeprefix("- ")
        value = value.strip().strip("'\"")
        if value and " " not in value:
            found.append((policy, parse_image(value).repository_url, number))
    return found


def _updater_marks(text: bytes) -> dict[str, tuple[str, int]]:
    """image repository -> (what, line) of the images Argo CD Image Updater annotations of an
    Application replace with another repository's (kustomize image names; a Helm values key
    names no image)."""
    if f"{_UPDATER}image-list".encode() not in text:
        return {}
    try:
        documents = list(yaml.load_all(text, Loader=yaml.CSafeLoader))
    except (yaml.YAMLError, ValueError):
        return {}
    lines = text.splitlines()
    line = next((n for n, t in enumerate(lines, 1) if b"image-list" in t), 1)
    found: dict[str, tuple[str, int]] = {}
    for document in documents:
        metadata = document.get("metadata") if isinstance(document, dict) else None
        notes = metadata.get("annotations") if isinstance(metadata, dict) else None
        if not isinstance(notes, dict):
            continue
        for entry in str(notes.get(f"{_UPDATER}image-list") or "").split(","):
            alias, _, image = entry.strip().rpartition("=")
            if not image.strip():
                continue
            now = parse_image(image.strip()).repository_url
            named = notes.get(f"{_UPDATER}{alias}.kustomize.image-name") if alias else None
            replaced = parse_image(str(named)).repository_url if named else now
            if replaced != now:
                what = f"Argo CD Image Updater ({alias}={now})"
                found.setdefault(replaced, (what, line))
    return found


def added(paths: Iterable[str], head: Any, base: Any) -> dict[str, tuple[str, str, int]]:
    """repository -> (what, file, line) of the markers the change adds in `paths` (read from
    the head and base trees)."""
    out: dict[str, tuple[str, str, int]] = {}
    for path in sorted(set(paths)):
        text = head.read_many([path]).get(path, b"")
        now = marks(text)
        if not now:
            continue
        before = marks(base.read_many([path]).get(path, b""))
        for repository, (what, line) in now.items():
            if before.get(repository, ("",))[0] != what:
                out.setdefault(repository, (what, path, line))
    return out


def judged_again(
    findings: list[Finding], markers: dict[str, tuple[str, str, int]]
) -> list[Finding]:
    """`findings` with the existing ones that run a newly marked repository made new."""
    if not markers:
        return findings
    out = []
    for finding in findings:
        running = str(finding.extra.get(image_identity.KEY) or "").split(", ")
        hit = next((r for r in running if r in markers), None)
        if finding.status == "existing" and hit:
            what, file, line = markers[hit]
            extra = {**finding.extra, "was_image": hit, "image_automation": what}
            message = (
                f"{finding.message}; its image is now picked after review by {what},"
                f" marked at {file}:{line}"
            )
            finding = finding.with_(status="new", extra=extra, message=message)
        out.append(finding)
    return out


_FLUX_IMAGE_API = b"image.toolkit.fluxcd.io/"


@dataclass(frozen=True)
class Repointed:
    """Marker lines whose ImagePolicy the change points at another image repository."""

    markers: dict[str, tuple[str, str, int]]  # repository written -> (what, file, line)
    files: list[str]  # the files holding them: judged on both sides


def repointed(touched: Iterable[str], head: Any, base: Any) -> Repointed:
    """The marker lines of the head tree whose ImagePolicy the change resolves to another
    image repository than the base did (an ImageRepository's spec.image swapped, or a policy
    pointed at another ImageRepository), when that is not the repository the line writes:
    after the merge Flux writes that repository's image there (red team s13 u02, repo)."""
    paths = sorted(set(touched))
    texts = [*head.read_many(paths).values(), *base.read_many(paths).values()]
    if not any(_FLUX_IMAGE_API in text for text in texts):
        return Repointed({}, [])
    now, before = _policy_images(head), _policy_images(base)
    gained = {policy: images - before.get(policy, set()) for policy, images in now.items()}
    gained = {policy: images for policy, images in gained.items() if images}
    markers: dict[str, tuple[str, str, int]] = {}
    files: list[str] = []
    for path, text in head.read_many(_grep(head, "$imagepolicy")).items() if gained else ():
        for marked, written, line in _setters(text):
            namespace, _, name = marked.removesuffix(":name").rpartition(":")
            found = gained.get(f"{namespace}:{name}", set()) | gained.get(f"*:{name}", set())
            others = sorted(found - {written})
            if others:
                what = f"Flux image automation (ImagePolicy {marked}, now of {', '.join(others)})"
                markers.setdefault(written, (what, path, line))
                files += [] if path in files else [path]
    return Repointed(markers, files)


def _policy_images(tree: Any) -> dict[str, set[str]]:
    """`namespace:name` of each ImagePolicy of the tree -> the image repositories of the
    ImageRepositories of the name it refers to ("*" for a namespace the manifest leaves out;
    an object written twice, by a patch too, counts with each of its images)."""
    images: dict[tuple[str, str], set[str]] = {}
    policies: dict[str, set[tuple[str, str]]] = {}
    for text in tree.read_many(_grep(tree, _FLUX_IMAGE_API.decode())).values():
        try:
            documents = list(yaml.load_all(text, Loader=yaml.CSafeLoader))
        except (yaml.YAMLError, ValueError):
            continue
        for document in documents:
            if not isinstance(document, dict):
                continue
            metadata = document.get("metadata")
            spec = document.get("spec")
            if not isinstance(metadata, dict) or not isinstance(spec, dict):
                continue
            namespace = str(metadata.get("namespace") or "*")
            name = str(metadata.get("name") or "")
            if document.get("kind") == "ImageRepository" and isinstance(spec.get("image"), str):
                repository = parse_image(spec["image"]).repository_url
                images.setdefault((namespace, name), set()).add(repository)
            ref = spec.get("imageRepositoryRef")
            if document.get("kind") == "ImagePolicy" and isinstance(ref, dict):
                target = (str(ref.get("namespace") or namespace), str(ref.get("name") or ""))
                policies.setdefault(f"{namespace}:{name}", set()).add(target)
    return {
        policy: {
            repository
            for (namespace, name), found in images.items()
            for target_namespace, target in targets
            if name == target
            and (namespace == target_namespace or "*" in (namespace, target_namespace))
            for repository in found
        }
        for policy, targets in policies.items()
    }


def _grep(tree: Any, needle: str) -> list[str]:
    """The files of the revision `tree` holding `needle` (one `git grep`)."""
    commit = tree.commit
    raw = commit.repo.git.grep(
        "-l", "-I", "-F", "-z", "-e", needle, commit.hexsha, "--", with_exceptions=False
    )
    prefix = f"{commit.hexsha}:"
    found = [row.removeprefix(prefix) for row in str(raw).split("\0") if row]
    return [path for path in found if path in tree.blobs]
