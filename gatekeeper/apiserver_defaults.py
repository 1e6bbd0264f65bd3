"""Objects as the API server admits them: defaulted, then changed by the default-on mutating
admission plugins, before any ValidatingAdmissionPolicy sees them.

An in-repository admission policy (gatekeeper.admission) reading `object.spec.tolerations`
errs on a Pod as written ("no such key"), while the API server gives every Pod two
tolerations first: judged as written, a policy with `failurePolicy: Fail` blocked every
unrelated Deployment of kubernetes-engine-samples. So what a policy reads is the object
after:

- defaulting, as Kubernetes' pkg/apis/core/v1/defaults.go (SetDefaults_PodSpec,
  SetDefaults_Pod, SetDefaults_Container, SetDefaults_Probe, SetDefaults_HTTPGetAction,
  SetDefaults_Service, SetDefaults_Secret, SetDefaults_Namespace, the volume sources'
  defaultMode, PersistentVolume and PersistentVolumeClaim volumeMode, ports' protocol TCP)
  and pkg/apis/apps/v1 and batch/v1 defaults.go (replicas, strategies, revisionHistoryLimit,
  progressDeadlineSeconds, podManagementPolicy, a Job's backoffLimit, completions and
  parallelism, a CronJob's concurrencyPolicy and history limits). SetDefaults_PodSpec runs on
  pod templates too, so a Deployment's template is defaulted as the API server stores it;
  SetDefaults_Pod (enableServiceLinks, requests from limits) runs on Pods only;
- the mutating admission plugins on by default that change a Pod: ServiceAccount
  (plugin/pkg/admission/serviceaccount: `serviceAccountName: default`, the projected token
  volume `kube-api-access-*` and its mounts unless automounting is off), DefaultTolerationSeconds
  (plugin/pkg/admission/defaulttolerationseconds: not-ready and unreachable NoExecute
  tolerations for 300 s, unless the Pod tolerates them already) and Priority (`priority: 0`
  without a priorityClassName). DefaultStorageClass names a class the repository does not
  know, so a claim without one is left as written.

Only what is absent (or null: the API server drops nulls) is filled; what is written stays,
so findings are still located at the written field, or its nearest written ancestor.
"""

from __future__ import annotations

import copy
from typing import Any

WORKLOAD_TEMPLATES = {
    "Deployment": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "Job": ("spec", "template"),
    "PodTemplate": ("template",),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}
_WORKLOAD_GROUPS = ("apps/", "batch/", "extensions/")
_TOKEN_VOLUME = "kube-api-access-gk000"  # the plugin's name has a random suffix
_TOKEN_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
_UNTOLERATED = ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")


def admitted(obj: dict[str, Any], namespace: str = "") -> dict[str, Any]:
    """A defaulted (and, for a Pod, admission-mutated) copy of `obj`; `namespace` the one it
    is deployed to, when known (the request's namespace is the object's)."""
    kind = obj.get("kind")
    api = str(obj.get("apiVersion", ""))
    core = api == "v1"
    workload = kind in WORKLOAD_TEMPLATES and (core or api.startswith(_WORKLOAD_GROUPS))
    if not core and not workload:
        return obj
    out = copy.deepcopy(obj)
    metadata = _dict(out, "metadata")
    if namespace and not metadata.get("namespace") and kind != "Namespace":
        metadata["namespace"] = namespace
    spec = out.get("spec")
    if core and kind == "Pod" and isinstance(spec, dict):
        _pod_spec(spec)
        _pod(spec)
        _service_account(spec)
        _tolerations(spec)
        if not spec.get("priorityClassName"):
            spec.setdefault("priority", 0)
    elif workload and (spec is None or isinstance(spec, dict)):
        _workload(out, str(kind))
    elif core and kind == "Service" and isinstance(spec, dict):
        _service(spec)
    elif core and kind == "Secret":
        _set(out, "type", "Opaque")
    elif core and kind == "Namespace" and metadata.get("name"):
        _dict(metadata, "labels").setdefault("kubernetes.io/metadata.name", metadata["name"])
    elif core and kind in ("PersistentVolume", "PersistentVolumeClaim") and isinstance(spec, dict):
        _set(spec, "volumeMode", "Filesystem")
        if kind == "PersistentVolume":
            _set(spec, "persistentVolumeReclaimPolicy", "Retain")
    return out


def _dict(holder: dict[str, Any], key: str) -> dict[str, Any]:
    """`holder[key]`, made an empty mapping when absent or null."""
    value = holder.get(key)
    if not isinstance(value, dict):
        if value is not None:  # written as something else: left for validation to refuse
            return {}
        value = holder[key] = {}
    return value


def _set(holder: dict[str, Any], key: str, value: Any) -> None:
    if holder.get(key) is None:
        holder[key] = value


def _workload(obj: dict[str, Any], kind: str) -> None:
    spec = _dict(obj, "spec") if kind != "PodTemplate" else {}
    if kind in ("Deployment", "ReplicaSet", "StatefulSet", "ReplicationController"):
        _set(spec, "replicas", 1)
    if kind == "Deployment":
        _rolling(_dict(spec, "strategy"), "25%", "25%")
        _set(spec, "revisionHistoryLimit", 10)
        _set(spec, "progressDeadlineSeconds", 600)
    elif kind == "DaemonSet":
        _rolling(_dict(spec, "updateStrategy"), 1, 0)
        _set(spec, "revisionHistoryLimit", 10)
    elif kind == "StatefulSet":
        _set(spec, "podManagementPolicy", "OrderedReady")
        strategy = _dict(spec, "updateStrategy")
        if strategy.get("type") is None:
            strategy["type"] = "RollingUpdate"
            _dict(strategy, "rollingUpdate")
        if strategy["type"] == "RollingUpdate" and isinstance(strategy.get("rollingUpdate"), dict):
            _set(strategy["rollingUpdate"], "partition", 0)
        retention = _dict(spec, "persistentVolumeClaimRetentionPolicy")
        _set(retention, "whenDeleted", "Retain")
        _set(retention, "whenScaled", "Retain")
        _set(spec, "revisionHistoryLimit", 10)
    elif kind == "CronJob":
        _set(spec, "concurrencyPolicy", "Allow")
        _set(spec, "suspend", False)
        _set(spec, "successfulJobsHistoryLimit", 3)
        _set(spec, "failedJobsHistoryLimit", 1)
        _job(_dict(_dict(spec, "jobTemplate"), "spec"))
    elif kind == "Job":
        _job(spec)
    holder: Any = obj
    for key in WORKLOAD_TEMPLATES[kind]:
        holder = holder.get(key) if isinstance(holder, dict) else None
    if isinstance(holder, dict) and isinstance(holder.get("spec"), dict):
        _pod_spec(holder["spec"])


def _rolling(strategy: dict[str, Any], unavailable: int | str, surge: int | str) -> None:
    """A Deployment's or DaemonSet's strategy: a rolling update unless written otherwise."""
    _set(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = _dict(strategy, "rollingUpdate")
        _set(rolling, "maxUnavailable", unavailable)
        _set(rolling, "maxSurge", surge)


def _job(spec: dict[str, Any]) -> None:
    """batch/v1 SetDefaults_Job: one pod to completion, six retries, not suspended."""
    _set(spec, "completions", 1)
    _set(spec, "parallelism", 1)
    _set(spec, "backoffLimit", 6)
    _set(spec, "completionMode", "NonIndexed")
    _set(spec, "suspend", False)


def _pod_spec(spec: dict[str, Any]) -> None:
    """SetDefaults_PodSpec and what it holds (containers, probes, volumes, ports)."""
    _set(spec, "dnsPolicy", "ClusterFirst")
    _set(spec, "restartPolicy", "Always")
    _set(spec, "securityContext", {})
    _set(spec, "terminationGracePeriodSeconds", 30)
    _set(spec, "schedulerName", "default-scheduler")
    for container in _containers(spec):
        _container(container, bool(spec.get("hostNetwork")))
    volumes = spec.get("volumes")
    for volume in volumes if isinstance(volumes, list) else []:
        if not isinstance(volume, dict):
            continue
        if set(volume) <= {"name"}:
            volume["emptyDir"] = {}
        for source in ("secret", "configMap", "downwardAPI", "projected"):
            if isinstance(volume.get(source), dict):
                _set(volume[source], "defaultMode", 420)


def _containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for key in ("initContainers", "containers", "ephemeralContainers"):
        value = spec.get(key)
        found += [c for c in (value if isinstance(value, list) else []) if isinstance(c, dict)]
    return found


def _container(container: dict[str, Any], host_network: bool) -> None:
    if container.get("imagePullPolicy") is None:
        container["imagePullPolicy"] = (
            "Always" if _tag(str(container.get("image") or "")) == "latest" else "IfNotPresent"
        )
    _set(container, "terminationMessagePath", "/dev/termination-log")
    _set(container, "terminationMessagePolicy", "File")
    ports = container.get("ports")
    for port in ports if isinstance(ports, list) else []:
        if isinstance(port, dict):
            _set(port, "protocol", "TCP")
            if host_network and port.get("containerPort") is not None:
                _set(port, "hostPort", port["containerPort"])
    for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = container.get(probe_name)
        if isinstance(probe, dict):
            _set(probe, "timeoutSeconds", 1)
            _set(probe, "periodSeconds", 10)
            _set(probe, "successThreshold", 1)
            _set(probe, "failureThreshold", 3)
            if isinstance(probe.get("httpGet"), dict):
                _set(probe["httpGet"], "path", "/")
                _set(probe["httpGet"], "scheme", "HTTP")
    env = container.get("env")
    for variable in env if isinstance(env, list) else []:
        field_ref = _at(variable, "valueFrom", "fieldRef")
        if isinstance(field_ref, dict):
            _set(field_ref, "apiVersion", "v1")


def _at(value: Any, *keys: str) -> Any:
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _tag(image: str) -> str:
    """The tag of an image reference as ParseImageName reads it: `latest` when none."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if "@" in image and ":" not in last:
        return ""  # a digest alone: IfNotPresent
    return last.rsplit(":", 1)[1] if ":" in last else "latest"


def _pod(spec: dict[str, Any]) -> None:
    """SetDefaults_Pod: Pods only, not templates."""
    _set(spec, "enableServiceLinks", True)
    for container in _containers(spec):
        limits = _at(container, "resources", "limits")
        if isinstance(limits, dict) and limits:
            requests = _dict(_dict(container, "resources"), "requests")
            for name, value in limits.items():
                requests.setdefault(name, value)


def _service_account(spec: dict[str, Any]) -> None:
    """The ServiceAccount plugin: the default account, and its token unless turned off."""
    _set(spec, "serviceAccountName", str(spec.get("serviceAccount") or "default"))
    _set(spec, "serviceAccount", spec["serviceAccountName"])
    if spec.get("automountServiceAccountToken") is False:
        return
    volumes = spec.get("volumes")
    if volumes is None:
        volumes = spec["volumes"] = []
    if not isinstance(volumes, list):
        return
    volumes.append(
        {
            "name": _TOKEN_VOLUME,
            "projected": {
                "defaultMode": 420,
                "sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {
                        "configMap": {
                            "name": "kube-root-ca.crt",
                            "items": [{"key": "ca.crt", "path": "ca.crt"}],
                        }
                    },
                    {
                        "downwardAPI": {
                            "items": [
                                {
                                    "path": "namespace",
                                    "fieldRef": {
                                        "apiVersion": "v1",
                                        "fieldPath": "metadata.namespace",
                                    },
                                }
                            ]
                        }
                    },
                ],
            },
        }
    )
    for container in _containers(spec):
        mounts = container.get("volumeMounts")
        if mounts is None:
            mounts = container["volumeMounts"] = []
        if isinstance(mounts, list) and not any(
            isinstance(m, dict) and m.get("mountPath") == _TOKEN_MOUNT for m in mounts
        ):
            mounts.append({"name": _TOKEN_VOLUME, "readOnly": True, "mountPath": _TOKEN_MOUNT})


def _tolerations(spec: dict[str, Any]) -> None:
    """DefaultTolerationSeconds: tolerate a not-ready or unreachable node for 300 s, unless a
    toleration of the Pod covers that taint already (its key or no key, NoExecute or any
    effect)."""
    tolerations = spec.get("tolerations")
    if tolerations is None:
        tolerations = spec["tolerations"] = []
    if not isinstance(tolerations, list):
        return
    for key in _UNTOLERATED:
        covered = any(
            isinstance(t, dict)
            and (t.get("key") in (key, "", None))
            and (t.get("effect") in ("NoExecute", "", None))
            for t in tolerations
        )
        if not covered:
            tolerations.append(
                {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            )


def _service(spec: dict[str, Any]) -> None:
    """SetDefaults_Service."""
    _set(spec, "type", "ClusterIP")
    _set(spec, "sessionAffinity", "None")
    ports = spec.get("ports")
    for port in ports if isinstance(ports, list) else []:
        if isinstance(port, dict):
            _set(port, "protocol", "TCP")
            if port.get("targetPort") in (None, 0, "") and port.get("port") is not None:
                port["targetPort"] = port["port"]
    kind = spec["type"]
    if kind in ("NodePort", "LoadBalancer"):
        _set(spec, "externalTrafficPolicy", "Cluster")
    if kind in ("NodePort", "LoadBalancer", "ClusterIP"):
        _set(spec, "internalTrafficPolicy", "Cluster")
    if kind == "LoadBalancer":
        _set(spec, "allocateLoadBalancerNodePorts", True)
