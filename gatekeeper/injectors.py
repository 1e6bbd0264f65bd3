"""What a sidecar injector adds to a pod because the pod's own annotations ask for it.

Istio's injector (a MutatingWebhookConfiguration of istiod) reads pod-template annotations
and writes them into the pod it admits: `sidecar.istio.io/userVolume` (JSON: volume name ->
volume source, or a list of volumes) is added to `spec.volumes` as written, and
`sidecar.istio.io/proxyImage` is the image of the `istio-proxy` container. Whoever writes
the annotations writes those fields: a hostPath volume of `/` or a proxy image from Docker Hub
at `:latest` is the pod's own, judged as such and reported at the annotation's line.

The proxy container is read as Istio injects it as a native sidecar (an init container with
`restartPolicy: Always`, its hardened securityContext and resources set by the injection
template), so only what the annotation chooses, its image, can fail a policy.

Gateway injection (`inject.istio.io/templates: gateway` on a pod whose injection is on:
`sidecar.istio.io/inject: "true"` or an `istio.io/rev` label) writes its own `istio-proxy`
container with `image: auto`, which the injector replaces with the mesh's proxy image (the
istio/gateway chart and Istio's documented gateway manifests): that image is istiod's, not
the manifest's, and `auto` was judged as Docker Hub's `library/auto:latest`. It is read as
the proxyImage annotation's image when the pod has one (at the annotation), else as unknown.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any

from gatekeeper.document import Document, Location, Locator
from gatekeeper.fieldpath import Path, get
from gatekeeper.workloads import POD_TEMPLATE_PATHS

USER_VOLUME = "sidecar.istio.io/userVolume"
PROXY_IMAGE = "sidecar.istio.io/proxyImage"
PROXY = "istio-proxy"
TEMPLATES = "inject.istio.io/templates"
INJECT = "sidecar.istio.io/inject"
REVISION = "istio.io/rev"
AUTO = "auto"  # the image gateway injection replaces

# What the injection template sets on the proxy whatever the annotations say (istio
# manifests/charts/istio-control/istio-discovery/files/injection-template.yaml).
_PROXY_SETTINGS: dict[str, Any] = {
    "restartPolicy": "Always",
    "securityContext": {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": 1337,
        "runAsGroup": 1337,
    },
    "resources": {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"cpu": "2", "memory": "1Gi"},
    },
}


class _Moved:
    """A locator that places the fields an injector adds at the annotation that asks for
    them (the longest matching prefix wins), and every other field as before."""

    def __init__(self, locator: Locator, moves: dict[Path, Path]) -> None:
        self.locator = locator
        self.moves = moves

    def locate(self, path: Path) -> Location:
        for length in range(len(path), 0, -1):
            real = self.moves.get(path[:length])
            if real is not None:
                return self.locator.locate(real)
        return self.locator.locate(path)


def _volumes(text: Any) -> list[dict[str, Any]]:
    """The volumes a userVolume annotation adds (unreadable JSON adds none: istiod then
    refuses the pod)."""
    try:
        value = json.loads(str(text))
    except ValueError:
        return []
    if isinstance(value, dict):
        return [
            {"name": str(name), **source}
            for name, source in value.items()
            if isinstance(source, dict)
        ]
    if isinstance(value, list):
        return [volume for volume in value if isinstance(volume, dict)]
    return []


def with_sidecar_overrides(documents: list[Document]) -> list[Document]:
    """`documents`, each pod (template) that carries Istio override annotations read with
    what the injector adds."""
    return [_injected(document) for document in documents]


def _injected(document: Document) -> Document:
    template_path = POD_TEMPLATE_PATHS.get(document.kind)
    if template_path is None or not isinstance(document.obj, dict):
        return document
    template = get(document.obj, template_path) if template_path else document.obj
    if not isinstance(template, dict):
        return document
    metadata = template.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    if not isinstance(annotations, dict):
        return document
    spec = template.get("spec")
    if not isinstance(spec, dict):
        return document
    gateways = _gateway_proxies(metadata, spec) if isinstance(metadata, dict) else []
    if not (USER_VOLUME in annotations or PROXY_IMAGE in annotations or gateways):
        return document
    obj = copy.deepcopy(document.obj)
    spec = (get(obj, template_path) if template_path else obj)["spec"]
    where = (*template_path, "metadata", "annotations")
    moves: dict[Path, Path] = {}
    image = annotations.get(PROXY_IMAGE)
    given = image if isinstance(image, str) and image else ""
    for index in gateways:
        spec["containers"][index]["image"] = given  # istiod's proxy image: unknown here
        if given:
            moves[(*template_path, "spec", "containers", index, "image")] = (*where, PROXY_IMAGE)
    if gateways:  # the template fills the pod's own proxy: no sidecar is added
        annotations = {k: v for k, v in annotations.items() if k != PROXY_IMAGE}
    added = _volumes(annotations.get(USER_VOLUME, "{}"))
    if added:
        volumes = spec.get("volumes") if isinstance(spec.get("volumes"), list) else []
        spec["volumes"] = [*volumes, *added]
        for index in range(len(volumes), len(volumes) + len(added)):
            moves[(*template_path, "spec", "volumes", index)] = (*where, USER_VOLUME)
    image = annotations.get(PROXY_IMAGE)
    if isinstance(image, str) and image:
        inits = spec.get("initContainers") if isinstance(spec.get("initContainers"), list) else []
        proxy = {"name": PROXY, "image": image, **copy.deepcopy(_PROXY_SETTINGS)}
        spec["initContainers"] = [*inits, proxy]
        moves[(*template_path, "spec", "initContainers", len(inits))] = (*where, PROXY_IMAGE)
    if not moves and not gateways:
        return document
    return dataclasses.replace(document, obj=obj, locator=_Moved(document.locator, moves))


def _gateway_proxies(metadata: dict[str, Any], spec: dict[str, Any]) -> list[int]:
    """The indexes of the `istio-proxy` containers with `image: auto` that gateway injection
    fills: the pod selects the gateway template and has injection on (a label or an
    annotation `sidecar.istio.io/inject: "true"`, or a revision label)."""
    annotations = metadata.get("annotations")
    labels = metadata.get("labels")
    annotations = annotations if isinstance(annotations, dict) else {}
    labels = labels if isinstance(labels, dict) else {}
    templates = [name.strip() for name in str(annotations.get(TEMPLATES) or "").split(",")]
    injected = any(str(d.get(INJECT)).lower() == "true" for d in (labels, annotations))
    if "gateway" not in templates or not (injected or labels.get(REVISION)):
        return []
    containers = spec.get("containers")
    return [
        index
        for index, container in enumerate(containers if isinstance(containers, list) else [])
        if isinstance(container, dict)
        and container.get("name") == PROXY
        and container.get("image") == AUTO
    ]
