"""The image inventory: every container image a repository deploys or builds from, as CycloneDX.

Images come from every registered source: an adapter may define `images(document)` returning
(image reference, field path) pairs (Dockerfile FROM, compose services, CI job containers);
for any other document that is a Kubernetes object (plain manifests, and whatever Helm or
kustomize sources render) the pod spec's containers, init and ephemeral containers are read
through gatekeeper.workloads. Each image becomes one CycloneDX component of type `container`
with a purl (pkg:oci) and a `gatekeeper:location` property (file:line) per place it is used.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gatekeeper import __version__, bugs, sources
from gatekeeper.document import Document, Problem
from gatekeeper.fieldpath import Path, format_path, get
from gatekeeper.images import ImageRef, is_valid_digest, parse_image
from gatekeeper.sources import embedded
from gatekeeper.workloads import PodView, pod_views

SPEC_VERSIONS = ("1.5", "1.6")
CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")


@dataclass
class Usage:
    file: str
    line: int
    source: str
    kind: str
    name: str
    path: str


@dataclass
class Image:
    ref: ImageRef
    usages: list[Usage] = field(default_factory=list)

    @property
    def key(self) -> str:
        """One component per image: `nginx:1.25` and `docker.io/library/nginx:1.25` are one."""
        key = self.ref.repository_url
        if self.ref.tag:
            key += f":{self.ref.tag}"
        if self.ref.digest:
            key += f"@{self.ref.digest}"
        return key


@dataclass
class Inventory:
    images: dict[str, Image] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    files: int = 0

    def add(self, reference: str, usage: Usage) -> None:
        ref = parse_image(reference)
        image = Image(ref)
        image = self.images.setdefault(image.key, image)
        if all((u.file, u.line) != (usage.file, usage.line) for u in image.usages):
            image.usages.append(usage)


def kubernetes_images(document: Document) -> list[tuple[str, Path]]:
    """Images of the pod spec of any Kubernetes object with one (workloads, Pods, templates)."""
    obj = document.obj
    if not isinstance(obj, dict) or "kind" not in obj or "apiVersion" not in obj:
        return []
    views = pod_views(obj)
    found: list[tuple[str, Path]] = []
    if not views:
        # Kinds with a Deployment-like template we do not normalise.
        spec = get(obj, ("spec", "template", "spec"))
        if not isinstance(spec, dict):
            return []
        views = [PodView({"spec": spec}, ("spec", "template"))]
    for view in views:
        for key in CONTAINER_LISTS:
            containers = get(view.pod, ("spec", key))
            for index, container in enumerate(containers if isinstance(containers, list) else []):
                image = container.get("image") if isinstance(container, dict) else None
                real = view.real_path(("spec", key, index, "image"))
                if isinstance(image, str) and image.strip() and (image, real) not in found:
                    found.append((image, real))
        volumes = get(view.pod, ("spec", "volumes"))
        for index, volume in enumerate(volumes if isinstance(volumes, list) else []):
            # An image volume: the kubelet pulls the image and mounts its files.
            image = get(volume, ("image", "reference")) if isinstance(volume, dict) else None
            real = view.real_path(("spec", "volumes", index, "image", "reference"))
            if isinstance(image, str) and image.strip() and (image, real) not in found:
                found.append((image, real))
    return found


def collect(items: Iterable[tuple[str, bytes]], context: sources.LoadContext) -> Inventory:
    inventory = Inventory()
    adapters = sources.adapters()
    for path, data in items:
        adapter = sources.adapter_for(path, adapters)
        if adapter is None:
            continue
        try:
            loaded = adapter.load(path, data, context)
        except Exception as error:  # an adapter bug is reported, never a traceback
            if bugs.strict():
                raise
            inventory.problems.append(
                Problem("GK-PARSE-ERROR", path, 1, f"{adapter.NAME}: {error}")
            )
            continue
        inventory.problems.extend(p for p in loaded.problems if p.candidate is None)
        loaded.documents = embedded.with_made(
            loaded.documents, sources.reader(context.tree, path, data)
        )
        if loaded.documents:
            inventory.files += 1
        extract = getattr(adapter, "images", None)
        for document in loaded.documents:
            found = extract(document) if extract is not None else kubernetes_images(document)
            for reference, field_path in found:
                location = document.locator.locate(field_path)
                inventory.add(
                    reference,
                    Usage(
                        file=location.file,
                        line=location.line,
                        source=document.source,
                        kind=document.kind,
                        name=document.name,
                        path=format_path(field_path),
                    ),
                )
    return inventory


def component(image: Image) -> dict[str, Any]:
    ref = image.ref
    result: dict[str, Any] = {
        "type": "container",
        "bom-ref": image.key,
        "name": ref.repository_url,
    }
    version = ref.tag or ref.digest
    if version:
        result["version"] = version
    result["purl"] = ref.purl()
    algorithm, _, value = ref.digest.partition(":")
    if (
        is_valid_digest(ref.digest)
        and algorithm in ("sha256", "sha512")
        and len(value) in (64, 128)
    ):
        result["hashes"] = [
            {"alg": "SHA-256" if algorithm == "sha256" else "SHA-512", "content": value}
        ]
    properties = [
        {"name": "gatekeeper:location", "value": f"{u.file}:{u.line}"} for u in image.usages
    ]
    for source in sorted({u.source for u in image.usages}):
        properties.append({"name": "gatekeeper:source", "value": source})
    result["properties"] = properties
    return result


def cyclonedx(inventory: Inventory, spec_version: str = "1.6") -> dict[str, Any]:
    """A CycloneDX JSON BOM of the inventory's images, sorted for stable diffs."""
    images = sorted(inventory.images.values(), key=lambda image: image.key)
    tool = {"type": "application", "name": "gatekeeper", "version": __version__}
    return {
        "$schema": f"http://cyclonedx.org/schema/bom-{spec_version}.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": spec_version,
        "serialNumber": uuid.uuid4().urn,
        "version": 1,
        "metadata": {
            "timestamp": datetime.now(UTC).replace(microsecond=0).isoformat(),
            "tools": {"components": [tool]},
        },
        "components": [component(image) for image in images],
    }
