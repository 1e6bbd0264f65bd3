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

import re
from collections.abc import Iterable
from typing import Any

import yaml

from gatekeeper import image_identity
from gatekeeper.finding import Finding
from gatekeeper.images import parse_image

_MARKER = re.compile(rb'\{\s*"\$imagepolicy"\s*:\s*"([^"]+)"\s*\}')
_UPDATER = "argocd-image-updater.argoproj.io/"


def marks(text: bytes) -> dict[str, tuple[str, int]]:
    """image repository -> (what, line) of each marker that may change a repository."""
    found: dict[str, tuple[str, int]] = {}
    for number, line in enumerate(text.splitlines() if b"$imagepolicy" in text else (), 1):
        match = _MARKER.search(line)
        if not match:
            continue
        policy = match.group(1).decode("utf-8", "replace")
        if policy.endswith(":tag"):
            continue
        value = line[: match.start()].decode("utf-8", "replace").rstrip().rstrip("#").strip()
        value = value.split(": ", 1)[-1] if ": " in value else value.removeprefix("- ")
        value = value.strip().strip("'\"")
        if value and " " not in value:
            what = f"Flux image automation (ImagePolicy {policy})"
            found.setdefault(parse_image(value).repository_url, (what, number))
    return {**found, **_updater_marks(text)}


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
