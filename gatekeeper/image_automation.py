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
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from gatekeeper import image_identity
from gatekeeper.finding import Finding
from gatekeeper.images import parse_image

_MARKER = re.compile(rb'\{\s*"\$imagepolicy"\s*:\s*"([^"]+)"\s*\}')


def marks(text: bytes) -> dict[str, tuple[str, int]]:
    """image repository -> (policy, line) of each marker that may change a repository."""
    if b"$imagepolicy" not in text:
        return {}
    found: dict[str, tuple[str, int]] = {}
    for number, line in enumerate(text.splitlines(), 1):
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
            found.setdefault(parse_image(value).repository_url, (policy, number))
    return found


def added(paths: Iterable[str], head: Any, base: Any) -> dict[str, tuple[str, str, int]]:
    """repository -> (policy, file, line) of the markers the change adds in `paths` (read from
    the head and base trees)."""
    out: dict[str, tuple[str, str, int]] = {}
    for path in sorted(set(paths)):
        text = head.read_many([path]).get(path, b"")
        now = marks(text)
        if not now:
            continue
        before = marks(base.read_many([path]).get(path, b""))
        for repository, (policy, line) in now.items():
            if before.get(repository, ("",))[0] != policy:
                out.setdefault(repository, (policy, path, line))
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
            policy, file, line = markers[hit]
            extra = {**finding.extra, "was_image": hit, "image_automation": policy}
            message = (
                f"{finding.message}; its image is now picked after review by Flux image"
                f" automation (ImagePolicy {policy}, marked at {file}:{line})"
            )
            finding = finding.with_(status="new", extra=extra, message=message)
        out.append(finding)
    return out
