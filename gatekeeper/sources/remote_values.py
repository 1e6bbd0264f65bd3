"""Values given to a chart this repository does not hold, read for what they ask of its pods.

An Argo CD Application or Flux HelmRelease of a chart from a chart repository that is not
vendored is not rendered (nothing is downloaded during a scan): a low GK-NOT-EXPANDED. Its
values are this repository's, though, and a pull request setting
`controller.containerSecurityContext.privileged: true` or `hostNetwork: true` there got a
green check while the chart's pods would run privileged or on the host's network (red team
s23 trust16 c17). Charts pass such values to the pod spec under the pod spec's own names, so
the values are read for them: a `privileged: true` below a key naming a security context,
`hostNetwork`, `hostPID` or `hostIPC` set to true, capabilities added beyond the
baseline's, hostPath volumes (`extraVolumes`, app-template's `persistence`: red team s23
trust17 c03), and a security context's seccomp or AppArmor profile Unconfined or SELinux type
beyond baseline's (c07), each a high GK-REMOTE-CHART-VALUES at its line. Its literal
credentials are said by chart_secrets (GK-CHART-VALUES-SECRET, red team s24).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import yaml

from gatekeeper import chart_secrets
from gatekeeper.document import Problem
from gatekeeper.fieldpath import Path
from gatekeeper.sources import helm_set
from gatekeeper.yamldoc import safe_load

CODE = "GK-REMOTE-CHART-VALUES"
_HOST = frozenset({"hostnetwork", "hostpid", "hostipc"})
# Pod Security baseline's allowed capabilities (and the restricted one).
_BASELINE_CAPABILITIES = frozenset(
    {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
     "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
)  # fmt: skip
_MAX_DEPTH = 32
# Below a security context: the profiles Pod Security baseline forbids loosening (red team
# s23 trust17 c07: `containerSecurityContext: {seLinuxOptions: {type: spc_t}}` was green).
_PROFILES = frozenset({"seccompprofile", "apparmorprofile", "selinuxoptions"})
_SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t",
                            "container_engine_t"})  # fmt: skip


def asked(values: Any) -> list[tuple[Path, str]]:
    """Where `values` ask the chart's pods for privilege or host access, and what."""
    return list(_walk(values, (), 0))


def _walk(node: Any, path: Path, depth: int) -> Iterator[tuple[Path, str]]:
    if depth > _MAX_DEPTH:
        return
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _walk(item, (*path, index), depth + 1)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        name = str(key).lower()
        at = (*path, str(key))
        if name == "privileged" and _true(value) and _below_security_context(path):
            yield at, "privileged containers"
        elif name in _HOST and _true(value):
            yield at, f"the host's {name[4:].upper()} namespace"
        elif name in _PROFILES and (what := _loosened(name, value, path)):
            yield at, what
        elif name == "hostpath" and (host := _host_path(node, value)):
            yield at, f"a hostPath volume of {host}"
        elif name == "add" and path and str(path[-1]).lower() == "capabilities":
            added = [str(c).upper().removeprefix("CAP_") for c in _items(value)]
            wide = sorted(c for c in added if c not in _BASELINE_CAPABILITIES)
            if wide:
                yield at, f"the capabilities {', '.join(wide)}"
        else:
            yield from _walk(value, at, depth + 1)


def _loosened(name: str, value: Any, path: Path) -> str:
    """What a seccomp, AppArmor or SELinux setting of a security context turns off ("" when
    baseline allows it)."""
    kind = value.get("type") if isinstance(value, dict) else None
    if not isinstance(kind, str) or not _below_security_context((*path, name)):
        return ""
    if name == "selinuxoptions":
        return "" if kind in _SELINUX_TYPES else f"the SELinux type {kind}"
    return f"an Unconfined {name[:-7]} profile" if kind == "Unconfined" else ""


def _host_path(node: dict[Any, Any], value: Any) -> str:
    """The host folder a `hostPath` key mounts: a volume's `hostPath: {path: /dev}` (charts'
    `extraVolumes`), or `hostPath: /dev` beside `type: hostPath` (bjw-s app-template's
    `persistence`), "" for another use of the name (`hostPath: {enabled: false}`)."""
    if isinstance(value, dict) and isinstance(value.get("path"), str):
        return "" if value.get("enabled") is False else value["path"]
    if isinstance(value, str) and str(node.get("type", "")).lower() == "hostpath":
        return value
    return ""


def _below_security_context(path: Path) -> bool:
    return any(str(key).lower().endswith("securitycontext") for key in path)


def _true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if isinstance(value, str) else []


def parameters(given: Any) -> dict[str, Any]:
    """Argo CD `helm.parameters` (`--set name=value`, `--set-string` with forceString) as a
    values tree, read with Helm's syntax (helm_set): `capabilities.add[0]=SYS_ADMIN` sets a
    list item, `a\\.b` is one key (a plain split on dots left `add[0]` a key of its own
    and the capability unread: red team s23 trust17 c01)."""
    tree: dict[str, Any] = {}
    for parameter in given if isinstance(given, list) else ():
        if not isinstance(parameter, dict) or not isinstance(parameter.get("name"), str):
            continue
        try:
            path = helm_set.path_of(parameter["name"])
        except helm_set.SetError:
            continue  # Helm refuses it: nothing is deployed (said by the rendering checks)
        value = parameter.get("value")
        if isinstance(value, str):
            value = helm_set.typed(value, parameter.get("forceString") is True)
        tree = helm_set.apply(tree, path, value)
    return tree


def patched(patches: Any) -> list[Any]:
    """What kustomize patches (a HelmRelease's `postRenderers`: Flux applies them to what the
    chart renders) write, as trees `asked` reads: a strategic-merge patch is one already (a
    pod template's `hostNetwork`, a container's `securityContext`), a JSON 6902 patch's
    `add`/`replace` operations are their values set at their paths. Inline patches only: a
    `path:` names a file of the HelmRelease's own kustomization, not one Flux reads."""
    found: list[Any] = []
    for patch in patches if isinstance(patches, list) else ():
        if isinstance(patch, dict) and "patch" in patch:
            patch = patch["patch"]
        if isinstance(patch, str):
            try:
                patch = safe_load(patch)
            except yaml.YAMLError:
                continue  # Flux fails the release: nothing is deployed
        if isinstance(patch, list):
            found.append(_operations(patch))
        elif isinstance(patch, dict):
            found.append(patch)
    return found


def _operations(operations: list[Any]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for operation in operations:
        if not isinstance(operation, dict) or operation.get("op") not in ("add", "replace"):
            continue
        pointer = str(operation.get("path") or "")
        keys = [k.replace("~1", "/").replace("~0", "~") for k in pointer.split("/")[1:]]
        node = tree
        for key in keys[:-1]:
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                break
            node = child
        else:
            if keys:
                node[keys[-1]] = operation.get("value")
    return tree


def problems(
    file: str,
    chart: str,
    sources: Sequence[tuple[Any, Path]],
    line_of: Callable[[Path], int],
    given: str = "values ask",
) -> list[Problem]:
    """The findings for values (each with the field path it is written at, for `line_of`)
    given to `chart`, which is not judged here; and its string values as candidate literal
    secrets (chart_secrets: judged by the scan, which knows the file's policies)."""
    found = []
    for values, where in sources:
        for path, what in asked(values):
            written = ".".join(str(part) for part in path)
            message = (
                f"{given} chart {chart} for {what} ({written}); the chart is not in this"
                " repository, so what it deploys is not judged (vendor it and name the copy in"
                " sources.helm.vendored, or waive this with a reason)"
            )
            found.append(Problem(CODE, file, line_of((*where, *path)), message))
    found.extend(chart_secrets.candidates(file, chart, sources, line_of))
    return found
