"""Container image references: split `ghcr.io/acme/app:1.2@sha256:...` the way Docker does.

Used by the Dockerfile, compose and workflow sources (for the CEL view of an image) and by the
image inventory (for purls).
"""

from __future__ import annotations

from typing import Any, NamedTuple
from urllib.parse import quote

from gatekeeper import lazy_re

DOCKER_HUB = "docker.io"
_DIGEST = lazy_re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:[+._-][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$")


class ImageRef(NamedTuple):
    raw: str
    registry: str
    repository: str  # without the registry: `library/nginx`, `acme/app`
    tag: str  # "" when absent
    digest: str  # "" when absent

    @property
    def name(self) -> str:
        """The last path component, as the purl spec names an OCI image."""
        return self.repository.rsplit("/", 1)[-1]

    @property
    def repository_url(self) -> str:
        return f"{self.registry}/{self.repository}"

    @property
    def pinned(self) -> bool:
        return bool(self.digest)

    def purl(self) -> str:
        """pkg:oci/<name>[@<digest>]?repository_url=...&tag=..., per the purl OCI type."""
        purl = f"pkg:oci/{quote(self.name.lower(), safe='')}"
        if self.digest:
            purl += "@" + quote(self.digest, safe="")
        qualifiers = [("repository_url", self.repository_url.lower())]
        if self.tag:
            qualifiers.append(("tag", self.tag))
        return purl + "?" + "&".join(f"{key}={quote(value, safe='/')}" for key, value in qualifiers)

    def as_dict(self) -> dict[str, Any]:
        return {
            "image": self.raw,
            "registry": self.registry,
            "repository": self.repository,
            "tag": self.tag,
            "digest": self.digest,
        }


def parse_image(reference: str) -> ImageRef:
    """Split a reference; Docker Hub's implicit `docker.io/library/` is made explicit."""
    raw = reference.strip()
    rest, digest = raw, ""
    if "@" in rest:
        rest, digest = rest.split("@", 1)  # kept as written: policies check its shape
    tag = ""
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
    first, _, remainder = rest.partition("/")
    if remainder and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first, remainder
    else:
        registry, repository = DOCKER_HUB, rest
    if registry in ("index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"):
        registry = DOCKER_HUB
    if registry == DOCKER_HUB and "/" not in repository:
        repository = f"library/{repository}"
    return ImageRef(raw, registry, repository, tag, digest)


def is_valid_digest(digest: str) -> bool:
    return bool(_DIGEST.match(digest))
