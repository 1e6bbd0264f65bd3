"""The image repositories whose code a finding's container or pod runs, for a pull request.

A waiver (or an existing finding) on a privileged container was reviewed for the code that
runs there: `ghcr.io/acme/node-agent`, "reads /var/log on the node". A change that swaps the
container's image for another repository (another owner's image) keeps every finding's
fingerprint and, without a tag in it, its message: it stayed waived (red team r15). So in a
pull request each finding in a container records that container's image repository (registry
and repository, without tag or digest: a version bump is the same code's), and each finding
in a pod's spec outside its containers (a hostPath volume, hostPID) the repositories of all
its containers; `change.classify` makes a finding whose repository differs from its base
match's new. A Compose service's findings (a docker.sock mount, `privileged`) record the
service's image the same way, or the folder it builds when it names none (red team s23
trust16 c02: a waived portainer service given another owner's image stayed waived).
"""

from __future__ import annotations

from typing import Any

from gatekeeper.document import Document
from gatekeeper.fieldpath import FieldPathError, concrete, get, parse
from gatekeeper.finding import Finding, joined_extra
from gatekeeper.images import parse_image

KEY = "image_repository"
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def with_images(document: Document, findings: list[Finding]) -> list[Finding]:
    """`findings` of `document`, each on a container or pod spec with its image repositories."""
    out = []
    for finding in findings:
        repository = ""
        if finding.path and finding.kind == document.kind and finding.name == document.name:
            if document.source == "compose":
                repository = compose_service(document.obj, finding.path)
            else:
                repository = repositories(document.obj, finding.path)
        if repository:
            finding = finding.with_(extra={**finding.extra, KEY: repository})
        out.append(finding)
    return out


def merged(findings: list[Finding]) -> str:
    """The repositories the renderings of one finding record, together ("" when none)."""
    return joined_extra(findings, KEY)


def repositories(obj: Any, text: str) -> str:
    """The image repository of the container `text` (a field path) lies in, else those of the
    innermost pod spec it lies in (comma-separated, sorted), else ""."""
    try:
        path = concrete(parse(text))
    except FieldPathError:
        return ""
    node, pod = obj, None
    for index, key in enumerate(path):
        if isinstance(node, dict) and isinstance(node.get("containers"), list):
            pod = node
            if key in CONTAINER_LISTS and index + 1 < len(path):
                return _repository(get(node, (key, path[index + 1])))
        node = get(node, (key,))
        if node is None:
            break
    if pod is None:
        return ""
    found = {
        _repository(container)
        for name in CONTAINER_LISTS
        for container in _list(pod.get(name))
    }
    return ", ".join(sorted(found - {""}))


def compose_service(obj: Any, text: str) -> str:
    """The image repository of the Compose service `text` (a field path) lies in, and the
    folder and Dockerfile it builds that image from when it builds one (`build: ./agent`
    tags the build as its `image:`: pointing it at `./tools` runs other code under the same
    name, red team s23 trust16 c19); "" outside a service."""
    try:
        path = concrete(parse(text))
    except FieldPathError:
        return ""
    if len(path) < 2 or path[0] != "services":
        return ""
    service = get(obj, path[:2])
    if not isinstance(service, dict):
        return ""
    image = _repository(service)
    build = service.get("build")
    context = build.get("context") if isinstance(build, dict) else build
    if not isinstance(context, str) or not context:
        return image
    dockerfile = build.get("dockerfile") if isinstance(build, dict) else None
    built = f"build {context}" + (f" {dockerfile}" if isinstance(dockerfile, str) else "")
    return f"{image} {built}" if image else built


def _repository(container: Any) -> str:
    image = container.get("image") if isinstance(container, dict) else None
    if not isinstance(image, str) or not image.strip():
        return ""
    ref = parse_image(image)
    return ref.repository_url


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
