"""Pod-spec normalisation: a rule written for `Pod` runs on every workload kind.

A workload is presented to pod rules as a virtual Pod whose `metadata` is the pod template's
metadata (with the workload's name and namespace) and whose `spec` is the pod spec; paths in
that virtual Pod map back to the workload's own paths.

A custom resource may run several pods, each assembled from parts of it (an Argo template's
container over `templateDefaults`, with the workflow's `securityContext`; a Tekton step over
its `stepTemplate`): each is a virtual Pod of its own, and every part of it maps back to the
field it came from (`PodView.moves`), so a finding sits at the line that wrote the value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import yaml

from gatekeeper import lazy_re
from gatekeeper.fieldpath import WILDCARD, Path, Pattern, expand, get
from gatekeeper.yamldoc import safe_load

# kind -> path of the pod template (the object holding `metadata` and `spec`) in that kind.
POD_TEMPLATE_PATHS: dict[str, Path] = {
    "Pod": (),
    "PodTemplate": ("template",),
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
    "DeploymentConfig": ("spec", "template"),  # OpenShift (apps.openshift.io)
    "Rollout": ("spec", "template"),  # Argo Rollouts (a `workloadRef` Rollout has none)
    "ScaledJob": ("spec", "jobTargetRef", "template"),  # KEDA: Jobs it starts on events
}


def tokens_off_by_service_account(documents: list[Any]) -> None:
    """A pod that says nothing about `automountServiceAccountToken` gets its service
    account's setting: where a ServiceAccount among `documents` (one file, one chart
    release, one build) turns it off, the pods using it mount no token, and their spec is
    read so (no K8S-POD-AUTOMOUNT-TOKEN on a chart that did as K8S-SA-AUTOMOUNT-TOKEN asks)."""
    off = {
        (document.namespace or "default", document.name)
        for document in documents
        if document.kind == "ServiceAccount"
        and isinstance(document.obj, dict)
        and document.obj.get("automountServiceAccountToken") is False
    }
    if not off:
        return
    for document in documents:
        path = POD_TEMPLATE_PATHS.get(document.kind)
        if path is None or not isinstance(document.obj, dict):
            continue
        template = get(document.obj, path) if path else document.obj
        spec = template.get("spec") if isinstance(template, dict) else None
        if not isinstance(spec, dict) or "automountServiceAccountToken" in spec:
            continue
        account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
        if (document.namespace or "default", str(account)) in off:
            spec["automountServiceAccountToken"] = False


class PodView(NamedTuple):
    pod: dict[str, Any]
    template_path: Path
    # Custom resources: where each part of the virtual Pod really is (virtual path prefix ->
    # real path prefix, the longest prefix wins); None: `metadata` and `spec` of the template.
    moves: dict[Path, Path] | None = None
    # An operator's overlay: the operator merges it over a pod of its own, filling what it
    # leaves out (image, resources, probes, securityContext): only what it writes is judged,
    # but in `whole` (virtual prefixes: a sidecar the operator knows nothing of), everything.
    overlay: bool = False
    whole: tuple[Path, ...] = ()

    def left_to_operator(self, path: Path) -> bool:
        """Is `path` (in the virtual Pod) a field an overlay leaves out, for its operator to
        fill? A violation there is the operator's, not the author's."""
        if not self.overlay or get(self.pod, path) is not None:
            return False
        return not any(path[: len(prefix)] == prefix for prefix in self.whole)

    def real_path(self, path: Path) -> Path:
        """Map a path in the virtual Pod back to the workload."""
        if self.moves is not None:
            for length in range(len(path), -1, -1):
                real = self.moves.get(path[:length])
                if real is not None:
                    return (*real, *path[length:])
            return path
        if not self.template_path:
            return path
        if path and path[0] in ("metadata", "spec"):
            return (*self.template_path, *path)
        return path


def pod_view(obj: dict[str, Any]) -> PodView | None:
    """The virtual Pod of a workload (or the Pod itself); None if it has no pod template."""
    views = pod_views(obj)
    return views[0] if views else None


def pod_views(obj: dict[str, Any]) -> list[PodView]:
    """Every virtual Pod an object makes its controller run: one for a Deployment, one per
    container template of an Argo Workflow, per task of a Tekton Pipeline, per replica role
    of a training job. Empty for an object that runs no pod (or a kind of another API group,
    such as a core Service)."""
    kind = obj.get("kind")
    if not isinstance(kind, str):
        return []
    views = CUSTOM_WORKLOADS.get((api_group(obj), kind)) if kind in WORKLOAD_KINDS else None
    if views is not None:  # before the kind alone: a Volcano Job is no batch Job
        return views(obj)
    template_path = POD_TEMPLATE_PATHS.get(kind)
    if template_path is not None:
        view = _template_view(obj, template_path)
        return [] if view is None else [view]
    return []


def api_group(obj: dict[str, Any]) -> str:
    """The API group of an object (`""` for the core group)."""
    return str(obj.get("apiVersion") or "").rpartition("/")[0]


def runs_pods(api_version: str, kind: str) -> bool:
    """Does applying an object of this apiVersion and kind run pods (in its namespace)?
    Templates others refer to (a Tekton Task, an Argo WorkflowTemplate) run none."""
    if (api_version.rpartition("/")[0], kind) in CUSTOM_WORKLOADS:
        return kind not in _TEMPLATES
    return kind in POD_TEMPLATE_PATHS


def _template_view(obj: dict[str, Any], template_path: Path) -> PodView | None:
    if not template_path:
        return PodView(obj, ())
    template = _mapping(get(obj, template_path))
    outer = _mapping(obj.get("metadata"))
    metadata = dict(_mapping(template.get("metadata")))
    for key in ("name", "namespace"):
        if key in outer and key not in metadata:
            metadata[key] = outer[key]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": _mapping(template.get("spec")),
    }
    return PodView(pod, template_path)


# --- Custom resources whose controllers run pods (group-aware: a core Service is no pod) ---

# (value, where it really is (None: already placed), strong): a later layer wins; a strong
# layer is the object's own field (a missing field points there), a weak one a default or a
# patch (it points at itself only for what it alone sets).
_Layer = tuple[Any, "Path | None", bool]


class _Pod:
    """A virtual Pod under construction, with where each of its parts really is."""

    def __init__(self, obj: dict[str, Any], home: Path, metadata: list[tuple[Any, Path]]):
        self.home = home
        self.moves: dict[Path, Path] = {("spec",): home}
        self.spec: dict[str, Any] = {}
        self.whole: list[Path] = []  # containers the operator adds nothing to (PodView.whole)
        merged = _merge([(value, real, True) for value, real in metadata], ("metadata",), self)
        self.metadata = dict(_mapping(merged))
        self.moves.setdefault(("metadata",), (*home, "metadata"))
        outer = _mapping(obj.get("metadata"))
        for key in ("name", "namespace"):
            if key in outer and key not in self.metadata:
                self.metadata[key] = outer[key]
                self.moves[("metadata", key)] = ("metadata", key)

    def place(self, key: str, value: Any, real: Path) -> None:
        self.spec[key] = value
        self.moves[("spec", key)] = real

    def first(self, key: str, candidates: list[tuple[Any, Path]]) -> None:
        """The first candidate that is set: a template's own field before its workflow's."""
        for value, real in candidates:
            if value is not None:
                self.place(key, value, real)
                return

    def extend(self, key: str, lists: list[tuple[Any, Path]], name: str = "") -> None:
        """Every item of each list runs in the pod (sidecars beside the main container)."""
        for value, real in lists:
            for index, item in enumerate(value if isinstance(value, list) else []):
                self.add(key, [(item, (*real, index), True)], name)

    def add(self, key: str, layers: list[_Layer], name: str = "") -> None:
        """One item made of `layers` (a step over its step template)."""
        items = self.spec.setdefault(key, [])
        where: Path = ("spec", key, len(items))
        item = _merge(layers, where, self)
        if name and isinstance(item, dict) and not item.get("name"):
            item = {**item, "name": name}  # the name the controller gives it
        items.append(item)

    def fixed(self, key: str, value: Any, real: Path) -> None:
        """A field the controller sets whatever the object says (Argo: restartPolicy Never)."""
        self.place(key, value, real)

    def patch(self, patches: list[tuple[Any, Path]]) -> None:
        """A pod spec patch written as a YAML or JSON string (Argo `podSpecPatch`), merged
        over the pod as the controller does; what it sets points into the patch."""
        for text, real in patches:
            if not isinstance(text, str):
                continue
            try:
                value = safe_load(text)
            except yaml.YAMLError:
                continue  # an expression filled at run time (`{{inputs.parameters.p}}`)
            if isinstance(value, dict):
                merged = _merge([(self.spec, None, True), (value, real, False)], ("spec",), self)
                self.spec = _mapping(merged)

    def rename(self, key: str, old: str, new: str, missing: bool) -> None:
        """Tekton's `computeResources` is a container's `resources`; `missing`: a finding
        about it unset names `old` (the field of this API version)."""
        for index, item in enumerate(self.spec.get(key) or []):
            home = self.moves.get(("spec", key, index))
            if missing and isinstance(item, dict) and home and old not in item and new not in item:
                self.moves[("spec", key, index, new)] = (*home, old)
            if isinstance(item, dict) and old in item and new not in item:
                self.spec[key][index] = {(new if k == old else k): v for k, v in item.items()}
                prefix = ("spec", key, index, old)
                real = PodView({}, self.home, self.moves).real_path(prefix)
                for virtual in [path for path in self.moves if path[: len(prefix)] == prefix]:
                    renamed = (*prefix[:-1], new, *virtual[len(prefix) :])
                    self.moves[renamed] = self.moves.pop(virtual)
                self.moves[(*prefix[:-1], new)] = real

    def judge_whole(self, known: tuple[str, ...]) -> None:
        """Containers and init containers not named in `known` (the operator's own) are
        the author's alone: judged whole on an overlay."""
        for key in ("containers", "initContainers"):
            for number, container in enumerate(_list(self.spec.get(key))):
                name = container.get("name") if isinstance(container, dict) else None
                if name not in known:
                    self.whole.append(("spec", key, number))

    def view(self, overlay: bool = False) -> PodView:
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": self.metadata, "spec": self.spec}
        return PodView(pod, self.home, self.moves, overlay, tuple(self.whole))


def _merge(layers: list[_Layer], virtual: Path, pod: _Pod) -> Any:
    """`layers` merged as a strategic merge patch does (a later layer wins, mappings merge
    key by key, lists of uniquely named mappings merge by name; other lists of mappings are
    all kept, so that nothing a layer adds escapes judgement), recording in `pod.moves`
    where each part really is."""
    layers = [layer for layer in layers if layer[0] is not None]
    if not layers:
        return None
    top = layers[-1][0]
    if isinstance(top, dict):
        layers = _suffix(layers, lambda value: isinstance(value, dict))
    elif isinstance(top, list) and all(isinstance(item, dict) for item in top):
        layers = _suffix(
            layers,
            lambda value: isinstance(value, list) and all(isinstance(i, dict) for i in value),
        )
    else:
        layers = layers[-1:]
    if len(layers) == 1:
        value, real, _ = layers[0]
        if real is not None:
            pod.moves[virtual] = real
        return value
    strong = [real for _, real, is_strong in layers if is_strong]
    home = strong[-1] if strong else layers[-1][1]
    if home is not None:
        pod.moves[virtual] = home
    if isinstance(top, dict):
        keys = list(dict.fromkeys(key for value, _, _ in layers for key in value))
        return {
            key: _merge(
                [
                    (value[key], None if real is None else (*real, key), is_strong)
                    for value, real, is_strong in layers
                    if key in value
                ],
                (*virtual, key),
                pod,
            )
            for key in keys
        }
    items: dict[Any, list[_Layer]] = {}
    for value, real, is_strong in layers:
        names = [item.get("name") for item in value]
        by_name = all(isinstance(n, str) for n in names) and len(set(names)) == len(names)
        for index, item in enumerate(value):
            key = names[index] if by_name else (id(value), index)
            items.setdefault(key, []).append(
                (item, None if real is None else (*real, index), is_strong)
            )
    return [_merge(found, (*virtual, index), pod) for index, found in enumerate(items.values())]


def _suffix(layers: list[_Layer], same: Any) -> list[_Layer]:
    """The last layers of the top layer's type: a layer of another type is replaced."""
    start = len(layers)
    while start and same(layers[start - 1][0]):
        start -= 1
    return layers[start:]


def _argo_workflow(obj: dict[str, Any]) -> list[PodView]:
    """Argo Workflows: one pod per template that runs a container (`container`, `script`,
    `containerSet`), with its init containers and sidecars, the workflow's and the template's
    pod settings (its service account too), `templateDefaults` and `podSpecPatch`; and the
    pods of the objects its `resource` templates create. Steps, DAGs and suspends run none."""
    spec_path: Path = ("spec", "workflowSpec") if obj.get("kind") == "CronWorkflow" else ("spec",)
    spec = _mapping(get(obj, spec_path))
    views = []
    created = []
    for here, template in _argo_templates(obj, spec_path):
        view = _argo_template(obj, spec_path, here, template)
        if view is not None:
            views.append(view)
        where: Path = (*here, "resource", "manifest")
        created.extend(_embedded(get(template, ("resource", "manifest")), where))
    if not views and spec:
        # Templates of a WorkflowTemplate it refers to run with its pod settings.
        view = _argo_template(obj, spec_path, spec_path, {}, containers=False)
        views.extend([view] if view is not None else [])
    return views + created


# Where Argo templates are written: in the list, and inline in a step or a DAG task.
_ARGO_INLINE: tuple[Pattern, ...] = (
    ("steps", WILDCARD, WILDCARD, "inline"),
    ("dag", "tasks", WILDCARD, "inline"),
)


def _argo_templates(obj: dict[str, Any], spec_path: Path) -> list[tuple[Path, dict[str, Any]]]:
    found = []
    for index, template in enumerate(_list(get(obj, (*spec_path, "templates")))):
        if isinstance(template, dict):
            here: Path = (*spec_path, "templates", index)
            found.append((here, template))
            found.extend(
                (path, inline)
                for pattern in _ARGO_INLINE
                for path, inline in expand(template, pattern, here)
                if isinstance(inline, dict)
            )
    return found


def _embedded(text: Any, where: Path) -> list[PodView]:
    """The pods of an object written as a YAML string (an Argo `resource` template's
    manifest: a Job, a Pod the workflow creates), each field located at the string."""
    if not isinstance(text, str):
        return []
    try:
        manifest = safe_load(text)
    except yaml.YAMLError:
        return []  # filled at run time (`{{inputs.parameters.manifest}}`)
    if not isinstance(manifest, dict) or manifest.get("kind") in _ARGO_WORKFLOWS:
        return []  # a workflow creating a workflow: judged where that one is written
    views = []
    for view in pod_views(manifest):
        if view.moves is not None:
            moves = {virtual: (*where, *real) for virtual, real in view.moves.items()}
        else:
            moves = {(key,): (*where, *view.real_path((key,))) for key in ("metadata", "spec")}
        views.append(PodView(view.pod, where, moves))
    return views


def _argo_template(
    obj: dict[str, Any],
    spec_path: Path,
    here: Path,
    template: dict[str, Any],
    containers: bool = True,
) -> PodView | None:
    """The pod of one template; `containers=False`: of the workflow's own settings alone."""
    spec = _mapping(get(obj, spec_path))
    defaults_path: Path = (*spec_path, "templateDefaults")
    defaults = _mapping(spec.get("templateDefaults"))
    # `image: "{{inputs.parameters.image}}"`: the value Argo fills in, where it is written.
    params = _argo_params(spec, spec_path, template, here) if containers else {}
    filled = {
        key: _filled_image(template[key], params, _ARGO_PARAM)
        for key in ("container", "script")
        if isinstance(template.get(key), dict)
    }
    mains: list[list[_Layer]] = [
        [(defaults.get(key), (*defaults_path, key), False), (main, (*here, key), True)]
        for key, (main, _) in filled.items()
    ]
    container_set = _mapping(template.get("containerSet"))
    mains.extend(
        [(item, (*here, "containerSet", "containers", number), True)]
        for number, item in enumerate(_list(container_set.get("containers")))
    )
    if not mains and containers:
        return None
    pod = _Pod(
        obj,
        here,
        [
            (spec.get("podMetadata"), (*spec_path, "podMetadata")),
            (defaults.get("metadata"), (*defaults_path, "metadata")),
            (template.get("metadata"), (*here, "metadata")),
        ],
    )

    def own(key: str) -> list[tuple[Any, Path]]:
        """The template's field, then the template defaults'."""
        return [(template.get(key), (*here, key)), (defaults.get(key), (*defaults_path, key))]

    def workflow(key: str) -> list[tuple[Any, Path]]:
        return [(spec.get(key), (*spec_path, key))]

    sources = [source for _, source in filled.values()]
    for number, layers in enumerate(mains):
        pod.add("containers", layers, name="main")
        source = sources[number] if number < len(sources) else None
        if source:
            pod.moves[("spec", "containers", len(pod.spec["containers"]) - 1, "image")] = source
    pod.extend("containers", own("sidecars"))
    pod.extend("initContainers", own("initContainers"))
    pod.extend("volumes", [*workflow("volumes"), *own("volumes")])
    pod.first("securityContext", [*own("securityContext"), *workflow("securityContext")])
    pod.first("hostNetwork", workflow("hostNetwork"))
    pod.first(
        "automountServiceAccountToken",
        [*own("automountServiceAccountToken"), *workflow("automountServiceAccountToken")],
    )
    # The account the pod runs as: the template's, else the workflow's (argoproj-deployments:
    # "mounts the API token of service account default" of a template naming `workflow`).
    pod.first("serviceAccountName", [*own("serviceAccountName"), *workflow("serviceAccountName")])
    pod.fixed("restartPolicy", "Never", here)
    pod.patch([*workflow("podSpecPatch"), *reversed(own("podSpecPatch"))])
    return pod.view()


def _argo_events(obj: dict[str, Any]) -> list[PodView]:
    """Argo Events: a Sensor or an EventSource runs a Deployment of the controller's image
    whose container (`main`) takes what `spec.template.container` sets, with the template's
    volumes and securityContext. The token is mounted whatever the author writes (no field
    turns it off): not asked of the author."""
    here: Path = ("spec", "template")
    template = _mapping(get(obj, here))
    pod = _Pod(obj, here, [(template.get("metadata"), (*here, "metadata"))])
    container = template.get("container")
    written = container if isinstance(container, dict) else {}  # where it would be written
    pod.add("containers", [(written, (*here, "container"), True)], "main")
    pod.extend("volumes", [(template.get("volumes"), (*here, "volumes"))])
    pod.first("securityContext", [(template.get("securityContext"), (*here, "securityContext"))])
    pod.fixed("automountServiceAccountToken", False, here)
    return [pod.view()]


def _tekton(obj: dict[str, Any]) -> list[PodView]:
    """Tekton: one pod per task (a Task, a TaskRun's or a Pipeline's embedded task specs):
    its steps over `stepTemplate`, its sidecars and volumes, and a run's `podTemplate`."""
    kind = obj.get("kind")
    spec = _mapping(obj.get("spec"))
    tasks: list[tuple[Any, Path]] = []
    passed: list[_Params] = []  # per task of a pipeline: what the pipeline gives its params
    template_path: Path = ("spec", "podTemplate")
    if kind in ("Task", "ClusterTask"):
        tasks.append((spec, ("spec",)))
    elif kind == "StepAction":  # one step that steps of tasks refer to (`ref:`)
        pod = _Pod(obj, ("spec",), [(obj.get("metadata"), ("metadata",))])
        pod.add("containers", [(spec, ("spec",), True)])
        pod.fixed("restartPolicy", "Never", ("spec",))
        return [pod.view()]
    elif kind == "TaskRun":
        tasks.append((spec.get("taskSpec"), ("spec", "taskSpec")))
    else:
        pipeline_path: Path = ("spec",)
        if kind == "PipelineRun":
            pipeline_path = ("spec", "pipelineSpec")
            if "taskRunTemplate" in spec:
                template_path = ("spec", "taskRunTemplate", "podTemplate")
        pipeline = _mapping(get(obj, pipeline_path))
        own = _declared(pipeline, pipeline_path)
        if kind == "PipelineRun":
            own.update(_given(spec, ("spec",)))
        for key in ("tasks", "finally"):
            for index, task in enumerate(_list(pipeline.get(key))):
                task_spec = task.get("taskSpec") if isinstance(task, dict) else None
                tasks.append((task_spec, (*pipeline_path, key, index, "taskSpec")))
                given = _given(_mapping(task), (*pipeline_path, key, index))
                passed.append({name: _filled(*value, own) for name, value in given.items()})
    pod_template = _mapping(get(obj, template_path))
    views = []
    for number, (task, here) in enumerate(tasks):
        task = _mapping(task)
        steps = _list(task.get("steps"))
        if not steps and not task.get("sidecars"):
            continue
        params = _tekton_params(obj, task, here, passed[number] if passed else {})
        meta = [(obj.get("metadata"), ("metadata",))] if here == ("spec",) else []
        pod = _Pod(obj, here, [*meta, (task.get("metadata"), (*here, "metadata"))])
        env = pod_template.get("env")
        template, from_template = _filled_image(task.get("stepTemplate"), params)
        defaults: list[_Layer] = [
            ({"env": env} if env is not None else None, template_path, False),
            (template, (*here, "stepTemplate"), False),
        ]
        for index, step in enumerate(steps):
            if isinstance(step, dict) and "ref" in step:
                continue  # a StepAction's: judged where it is written
            # Tekton names an unnamed step `step-unnamed-<index>`
            step, source = _filled_image(step, params)
            layers = [*defaults, (step, (*here, "steps", index), True)]
            pod.add("containers", layers, name=f"unnamed-{index}")
            source = source if isinstance(step, dict) and "image" in step else from_template
            if source:
                pod.moves[("spec", "containers", len(pod.spec["containers"]) - 1, "image")] = source
        pod.extend("containers", [(task.get("sidecars"), (*here, "sidecars"))], "unnamed")
        v1 = str(obj.get("apiVersion")).endswith("/v1")
        pod.rename("containers", "computeResources", "resources", missing=v1)
        _tekton_pod_template(pod, task, here, pod_template, template_path)
        views.append(pod.view())
    alone = [(pod_template, template_path)] if pod_template and not views else []
    if kind == "PipelineRun":  # a podTemplate for one task of the pipeline
        alone.extend(
            (found, path)
            for path, found in expand(obj, ("spec", "taskRunSpecs", WILDCARD, "podTemplate"))
        )
    for found, path in alone:
        # A run of a referenced task or pipeline: its podTemplate alone still sets the pod.
        if isinstance(found, dict):
            pod = _Pod(obj, path, [])
            _tekton_pod_template(pod, {}, path, found, path)
            views.append(pod.view())
    return views


# A param's value and where it is written (None: it holds a reference not filled in).
_Params = dict[str, tuple[str, "Path | None"]]
# `$(params.NAME)`, `$(params["NAME"])`, `$(params['NAME'])`: Tekton fills them in when the
# task runs.
_PARAM = lazy_re.compile(
    r"\$\(params(?:\.([A-Za-z_][A-Za-z0-9_-]*)|\[\s*(?:\"([^\"]+)\"|'([^']+)')\s*\])\)"
)


def _declared(spec: dict[str, Any], here: Path) -> _Params:
    """The string defaults of the params a task or pipeline spec declares."""
    return _params(spec, here, "default")


def _given(holder: dict[str, Any], here: Path) -> _Params:
    """The string values a run or a pipeline's task passes (`params: [{name, value}]`)."""
    return _params(holder, here, "value")


def _params(holder: dict[str, Any], here: Path, key: str) -> _Params:
    """Each named param's string `key` of `holder`'s `params` list, with where it is written."""
    found: _Params = {}
    for index, param in enumerate(_list(holder.get("params"))):
        if isinstance(param, dict) and isinstance(param.get("name"), str):
            value = param.get(key)
            if isinstance(value, str):
                found[param["name"]] = (value, (*here, "params", index, key))
    return found


def _filled(
    text: str, where: Path | None, params: _Params, pattern: re.Pattern[str] = _PARAM
) -> tuple[str, Path | None]:
    """`text` with each reference (`$(params.X)`; `pattern`'s, its first group that matched
    naming the param) that `params` knows filled in, and where the result is written: the
    one param's own place when `text` is that reference alone; None when a reference is
    left (a value the run gives)."""
    names = [next(n for n in match.groups() if n) for match in pattern.finditer(text)]
    if not names:
        return text, where
    if any(name not in params or params[name][1] is None for name in names):
        return text, None
    filled = pattern.sub(lambda m: params[next(n for n in m.groups() if n)][0], text)
    whole = pattern.fullmatch(text) is not None
    return filled, params[names[0]][1] if whole else where


def _tekton_params(
    obj: dict[str, Any], task: dict[str, Any], here: Path, passed: _Params
) -> _Params:
    """What a task's params hold when it runs as written: the values the run (a TaskRun's
    `params`) or the pipeline (its task's `params`, filled from the pipeline's defaults and
    a PipelineRun's values) passes, else the task's own defaults."""
    known = _declared(task, here)
    if obj.get("kind") == "TaskRun":
        known.update(_given(_mapping(obj.get("spec")), ("spec",)))
    for name, value in passed.items():
        known[name] = value
    return known


# Argo's `{{inputs.parameters.NAME}}` and `{{workflow.parameters.NAME}}`, named so in _Params.
_ARGO_PARAM = lazy_re.compile(r"\{\{\s*((?:inputs|workflow)\.parameters\.[A-Za-z0-9_-]+)\s*\}\}")


def _argo_params(
    spec: dict[str, Any], spec_path: Path, template: dict[str, Any], here: Path
) -> _Params:
    """What an Argo template's parameters hold as written: the workflow's `arguments`
    values, and the template's inputs (their `value`, else `default`; filled from the
    workflow's where they name one)."""
    found: _Params = {}
    arguments = _mapping(spec.get("arguments"))
    for index, param in enumerate(_list(arguments.get("parameters"))):
        if isinstance(param, dict) and isinstance(param.get("value"), str):
            where = (*spec_path, "arguments", "parameters", index, "value")
            found[f"workflow.parameters.{param.get('name')}"] = (param["value"], where)
    workflow = dict(found)  # what a caller's value may name (not its own inputs)
    passed = _argo_callers(spec, spec_path, template)
    inputs = _mapping(template.get("inputs"))
    for index, param in enumerate(_list(inputs.get("parameters"))):
        if not isinstance(param, dict):
            continue
        name = f"inputs.parameters.{param.get('name')}"
        if isinstance(param.get("value"), str):  # fixed: it wins over what a caller passes
            where = (*here, "inputs", "parameters", index, "value")
            found[name] = _filled(param["value"], where, found, _ARGO_PARAM)
            continue
        given = [
            _filled(*value, workflow, _ARGO_PARAM) for value in passed.get(param.get("name"), [])
        ]
        if isinstance(param.get("default"), str):
            where = (*here, "inputs", "parameters", index, "default")
            given.append(_filled(param["default"], where, found, _ARGO_PARAM))
        if given and len({value for value, _ in given}) == 1:
            found[name] = given[0]
        elif given:  # callers pass other values: judged as written
            found[name] = (given[0][0], None)
    return found


def _argo_callers(
    spec: dict[str, Any], spec_path: Path, template: dict[str, Any]
) -> dict[Any, list[tuple[str, Path]]]:
    """What the workflow's steps and DAG tasks calling `template` pass its parameters (and
    the workflow's `arguments`, when it is the entrypoint), by parameter name."""
    name = template.get("name")
    passed: dict[Any, list[tuple[str, Path]]] = {}

    def take(arguments: Any, where: Path) -> None:
        for index, param in enumerate(_list(_mapping(arguments).get("parameters"))):
            if isinstance(param, dict) and isinstance(param.get("value"), str):
                value = (param["value"], (*where, "parameters", index, "value"))
                passed.setdefault(param.get("name"), []).append(value)

    if name is not None and spec.get("entrypoint") == name:
        take(spec.get("arguments"), (*spec_path, "arguments"))
    for index, caller in enumerate(_list(spec.get("templates"))):
        here: Path = (*spec_path, "templates", index)
        for pattern in (("steps", WILDCARD, WILDCARD), ("dag", "tasks", WILDCARD)):
            for path, step in expand(_mapping(caller), pattern, here):
                if isinstance(step, dict) and name is not None and step.get("template") == name:
                    take(step.get("arguments"), (*path, "arguments"))
    return passed


def _filled_image(
    step: Any, params: _Params, pattern: re.Pattern[str] = _PARAM
) -> tuple[Any, Path | None]:
    """A step (or step template) with the params its image names filled in, and where that
    value is written (a param's default or the value passed, for `image:
    $(params.BUILDER_IMAGE)`: the Tekton catalog's kaniko and buildah tasks; () for an image
    of several parts: at the image); the step as written and None when nothing is filled in:
    an image naming a param no one gives a value is judged as written."""
    image = step.get("image") if isinstance(step, dict) else None
    if not isinstance(image, str) or not pattern.search(image):
        return step, None
    filled, where = _filled(image, (), params, pattern)
    if filled == image or where is None:
        return step, None
    return {**step, "image": filled}, where


def _tekton_pod_template(
    pod: _Pod, task: dict[str, Any], here: Path, template: dict[str, Any], template_path: Path
) -> None:
    pod.extend(
        "volumes",
        [
            (task.get("volumes"), (*here, "volumes")),
            (template.get("volumes"), (*template_path, "volumes")),
        ],
    )
    for key in ("securityContext", "hostNetwork", "automountServiceAccountToken"):
        pod.first(key, [(template.get(key), (*template_path, key))])
    pod.fixed("restartPolicy", "Never", here)


def _replica_specs(obj: dict[str, Any]) -> list[PodView]:
    """Kubeflow training jobs (PyTorchJob, TFJob, MPIJob, XGBoostJob, PaddleJob, JAXJob...):
    one pod template per replica role (`spec.<x>ReplicaSpecs.<role>.template`); the role's
    restartPolicy replaces the template's (ExitCode restarts through the job: Never)."""
    views = []
    for key, roles in _mapping(obj.get("spec")).items():
        if not (isinstance(key, str) and key.endswith("ReplicaSpecs") and isinstance(roles, dict)):
            continue
        for role, replica in roles.items():
            here: Path = ("spec", key, role, "template")
            template = _mapping(_mapping(replica).get("template"))
            pod = _Pod(obj, here, [(template.get("metadata"), (*here, "metadata"))])
            pod.spec = dict(_mapping(template.get("spec")))
            pod.moves[("spec",)] = (*here, "spec")
            policy = _mapping(replica).get("restartPolicy", "Never")
            pod.fixed(
                "restartPolicy",
                "Never" if policy == "ExitCode" else policy,
                ("spec", key, role, "restartPolicy"),
            )
            views.append(pod.view())
    return views


def _templates(
    *paths: Pattern, unnamed: str = "", probes: tuple[str, ...] = (), overlay: bool = False
) -> Callable[[dict[str, Any]], list[PodView]]:
    """Kinds holding plain pod templates at `paths` (`[*]`: every item of a list);
    `unnamed`: the name the controller gives a container written without one; `probes`:
    the probes the controller gives the first container when it has none; `overlay`: the
    templates are merged over the operator's own pod (PodView.overlay)."""

    def views(obj: dict[str, Any]) -> list[PodView]:
        found = []
        for pattern in paths:
            for path, template in expand(obj, pattern):
                view = _template_view(obj, path) if isinstance(template, dict) else None
                if view is not None and overlay:
                    view = view._replace(overlay=True)
                if view is not None and unnamed:
                    view = _named(view, unnamed)
                if view is not None and probes:
                    view = _probed(view, probes)
                if view is not None:
                    found.append(view)
        return found

    return views


def _named(view: PodView, name: str) -> PodView:
    spec = view.pod["spec"]
    containers = spec.get("containers")
    if not isinstance(containers, list) or all(
        not isinstance(c, dict) or c.get("name") for c in containers
    ):
        return view
    named = [
        {**c, "name": name} if isinstance(c, dict) and not c.get("name") else c for c in containers
    ]
    return view._replace(pod={**view.pod, "spec": {**spec, "containers": named}})


# What a probe the controller adds looks like to a rule (an exec probe touches no host).
_DEFAULTED = "(set by the controller)"
_INJECTED_PROBE = {"exec": {"command": [_DEFAULTED]}}


def _probed(view: PodView, probes: tuple[str, ...]) -> PodView:
    """KubeRay gives the Ray container liveness and readiness probes, Knative a readiness
    probe: a rule must not ask the author for them."""
    spec = view.pod["spec"]
    containers = spec.get("containers")
    first = containers[0] if isinstance(containers, list) and containers else None
    if not isinstance(first, dict):
        return view
    added = {probe: _INJECTED_PROBE for probe in probes if probe not in first}
    if not added:
        return view
    named = [{**first, **added}, *containers[1:]]
    return view._replace(pod={**view.pod, "spec": {**spec, "containers": named}})


def _resourced(view: PodView) -> PodView:
    """KServe gives the first container of a component the configured default requests and
    limits (`resource` of inferenceservice-config; a `model:` gets its ServingRuntime's)."""
    spec = view.pod["spec"]
    containers = spec.get("containers")
    first = containers[0] if isinstance(containers, list) and containers else None
    if not isinstance(first, dict):
        return view
    own = _mapping(first.get("resources"))
    resources = {
        **own,
        **{
            kind: {"cpu": _DEFAULTED, "memory": _DEFAULTED, **_mapping(own.get(kind))}
            for kind in ("requests", "limits")
        },
    }
    named = [{**first, "resources": resources}, *containers[1:]]
    return view._replace(pod={**view.pod, "spec": {**spec, "containers": named}})


# KServe: a component's fields that are containers of their own (the model server).
_KSERVE_CONTAINERS = (
    "model", "sklearn", "xgboost", "tensorflow", "pytorch", "triton", "onnx", "huggingface",
    "lightgbm", "paddle", "pmml", "art", "alibi",
)  # fmt: skip


def _kserve(obj: dict[str, Any]) -> list[PodView]:
    """KServe: an InferenceService's predictor, transformer and explainer each run a pod: a
    pod spec written inline, plus the model server container (`sklearn:`, `model:`...); a
    ServingRuntime's spec is a pod spec."""
    if obj.get("kind") != "InferenceService":
        return _pod_spec(obj)
    views = []
    for component in ("predictor", "transformer", "explainer"):
        if isinstance(get(obj, ("spec", component)), dict):
            view = _inline_pod(obj, ("spec", component), _KSERVE_CONTAINERS)
            views.append(_resourced(_probed(view, ("readinessProbe",))))
    return views


def _pod_spec(obj: dict[str, Any]) -> list[PodView]:
    """Kinds whose spec is a pod spec (a KServe ServingRuntime, a Kruise SidecarSet)."""
    return [_inline_pod(obj, ("spec",), ())]


def _ephemeral_job(obj: dict[str, Any]) -> list[PodView]:
    """OpenKruise EphemeralJob: injects `spec.template.ephemeralContainers` into every running
    pod its selector matches. Those pods are judged where they are written: only the
    containers it adds are the author's (judged whole; the pod's own fields are not)."""
    here: Path = ("spec", "template")
    pod = _Pod(obj, here, [])
    pod.extend(
        "ephemeralContainers",
        [(get(obj, (*here, "ephemeralContainers")), (*here, "ephemeralContainers"))],
    )
    pod.whole.extend(
        ("spec", "ephemeralContainers", number)
        for number in range(len(_list(pod.spec.get("ephemeralContainers"))))
    )
    return [pod.view(overlay=True)]


# KubeVirt: where each kind writes its VirtualMachineInstance spec.
_KUBEVIRT: dict[str, Path] = {
    "VirtualMachineInstance": ("spec",),
    "VirtualMachine": ("spec", "template", "spec"),
    "VirtualMachineInstanceReplicaSet": ("spec", "template", "spec"),
    "VirtualMachinePool": ("spec", "virtualMachineTemplate", "spec", "template", "spec"),
}


def _kubevirt(obj: dict[str, Any]) -> list[PodView]:
    """KubeVirt: virt-controller runs a virt-launcher pod per VM, an overlay of its own pod.
    What the VM writes into it is judged: a `containerDisk` image is pulled as a container
    image (a container of that volume's name), a `hostDisk` is a hostPath volume (a disk
    image on the node)."""
    here = _KUBEVIRT.get(str(obj.get("kind")), ("spec",))
    spec = _mapping(get(obj, here))
    pod = _Pod(obj, here, [])
    volumes: list[dict[str, Any]] = []
    for index, volume in enumerate(_list(spec.get("volumes"))):
        real: Path = (*here, "volumes", index)
        name = str(volume.get("name") or "") if isinstance(volume, dict) else ""
        disk = _mapping(volume.get("containerDisk")) if isinstance(volume, dict) else {}
        if "image" in disk:
            item = {"name": name, "image": disk["image"]}
            pod.add("containers", [(item, (*real, "containerDisk"), True)])
        host = _mapping(volume.get("hostDisk")) if isinstance(volume, dict) else {}
        if "path" in host:
            virtual: Path = ("spec", "volumes", len(volumes))
            volumes.append({"name": name, "hostPath": {"path": host["path"]}})
            pod.moves[virtual] = real
            pod.moves[(*virtual, "hostPath")] = (*real, "hostDisk")
    if volumes:
        pod.place("volumes", volumes, (*here, "volumes"))
        for number in range(len(volumes)):  # place() pointed the list at itself only
            pod.moves.setdefault(("spec", "volumes", number), (*here, "volumes"))
    return [pod.view(overlay=True)]


# KubeVela's built-in component types that run a Deployment, Job or CronJob of one container.
_VELA_WORKLOADS = frozenset({"webservice", "worker", "task", "cron-task"})


def _kubevela(obj: dict[str, Any]) -> list[PodView]:
    """KubeVela Application: each webservice, worker, task or cron-task component runs a pod
    KubeVela renders from its `properties` (an overlay: only what they write is judged): the
    container's `image`, and `volumeMounts.hostPath` entries as hostPath volumes."""
    views = []
    for index, component in enumerate(_list(get(obj, ("spec", "components")))):
        if not isinstance(component, dict) or component.get("type") not in _VELA_WORKLOADS:
            continue
        here: Path = ("spec", "components", index, "properties")
        properties = _mapping(component.get("properties"))
        pod = _Pod(obj, here, [])
        name = str(component.get("name") or "")
        if "image" in properties:
            item = {"name": name, "image": properties["image"]}
            pod.add("containers", [(item, here, True)])
        volumes: list[dict[str, Any]] = []
        mounts = _mapping(properties.get("volumeMounts"))
        for number, mount in enumerate(_list(mounts.get("hostPath"))):
            if isinstance(mount, dict) and "path" in mount:
                real: Path = (*here, "volumeMounts", "hostPath", number)
                virtual: Path = ("spec", "volumes", len(volumes))
                volumes.append(
                    {"name": str(mount.get("name") or ""), "hostPath": {"path": mount["path"]}}
                )
                pod.moves[virtual] = real
                pod.moves[(*virtual, "hostPath")] = real
        if volumes:
            pod.place("volumes", volumes, (*here, "volumeMounts", "hostPath"))
        views.append(pod.view(overlay=True))
    return views


def _inline_pod(obj: dict[str, Any], here: Path, servers: tuple[str, ...]) -> PodView:
    """A pod spec written inline at `here`, with model servers as first containers."""
    spec = _mapping(get(obj, here))
    pod = _Pod(obj, here, [(obj.get("metadata"), ("metadata",))])
    for key in servers:
        if isinstance(spec.get(key), dict):
            pod.add("containers", [(spec[key], (*here, key), True)], name="kserve-container")
    pod.extend("containers", [(spec.get("containers"), (*here, "containers"))], "kserve-container")
    for key, value in spec.items():
        if key not in pod.spec and key not in servers:
            pod.place(key, value, (*here, key))
    return pod.view()


def _spark(obj: dict[str, Any]) -> list[PodView]:
    """Spark operator: the driver and the executors run pods, written as Spark settings, not
    pod specs. Judged: the container (image, securityContext, env, ports), its sidecars and
    init containers, the pod's securityContext, hostNetwork and volumes, the resources
    Spark sets from cores, coreLimit and memory (requests always; a CPU limit only with
    coreLimit), over the role's pod `template`."""
    spec_path: Path = (
        ("spec", "template") if obj.get("kind") == "ScheduledSparkApplication" else ("spec",)
    )
    spec = _mapping(get(obj, spec_path))
    views = []
    for role in ("driver", "executor"):
        here: Path = (*spec_path, role)
        settings = _mapping(spec.get(role))
        pod = _Pod(obj, here, [(_spark_metadata(settings), here)])
        main = {
            key: settings[key]
            for key in ("securityContext", "env", "envFrom", "volumeMounts", "ports", "lifecycle")
            if key in settings
        }
        pod.add("containers", [(main, here, True)], name=f"spark-kubernetes-{role}")
        container = pod.spec["containers"][0]
        image = settings.get("image", spec.get("image"))
        if image is not None:
            container["image"] = image
            pod.moves[("spec", "containers", 0, "image")] = (
                (*here, "image") if "image" in settings else (*spec_path, "image")
            )
        container["resources"] = _spark_resources(settings, pod, here)
        pod.extend("containers", [(settings.get("sidecars"), (*here, "sidecars"))])
        pod.extend("initContainers", [(settings.get("initContainers"), (*here, "initContainers"))])
        pod.extend("volumes", [(spec.get("volumes"), (*spec_path, "volumes"))])
        pod.first(
            "securityContext", [(settings.get("podSecurityContext"), (*here, "podSecurityContext"))]
        )
        pod.first("hostNetwork", [(settings.get("hostNetwork"), (*here, "hostNetwork"))])
        pod.fixed("restartPolicy", "Never", here)
        _spark_template(pod, settings, here)
        views.append(pod.view())
    return views


def _spark_template(pod: _Pod, settings: dict[str, Any], here: Path) -> None:
    """A role's `template` (Spark 3+): the pod Spark starts from, its settings on top."""
    template = settings.get("template")
    if not isinstance(template, dict):
        return
    where: Path = (*here, "template")
    for key, mine in (("metadata", pod.metadata), ("spec", pod.spec)):
        base = (template.get(key), (*where, key), False)
        merged = _mapping(_merge([base, (mine, None, True)], (key,), pod))
        if key == "spec":
            pod.spec = merged
        else:
            pod.metadata = merged


def _spark_metadata(settings: dict[str, Any]) -> dict[str, Any]:
    return {key: settings[key] for key in ("labels", "annotations") if key in settings}


def _spark_resources(settings: dict[str, Any], pod: _Pod, here: Path) -> dict[str, Any]:
    """The resources Spark gives the pod: cores and memory (default 1 and 1g) are requested,
    memory is also the limit; coreLimit is the CPU limit."""
    where = ("spec", "containers", 0, "resources")
    pod.moves[where] = (*here, "coreLimit")  # the one Spark may leave unset
    resources: dict[str, Any] = {"requests": {}, "limits": {}}
    for kind, name, key, default in (
        ("requests", "cpu", "cores", 1),
        ("requests", "memory", "memory", "1g"),
        ("limits", "memory", "memory", "1g"),
        ("limits", "cpu", "coreLimit", None),
    ):
        value = settings.get(key, default)
        if value is not None:
            resources[kind][name] = value
            pod.moves[(*where, kind, name)] = (*here, key) if key in settings else here
    return resources


# --- Operators whose custom resources are overlays of the pods they run (PodView.overlay) ---


def _settings_pod(
    obj: dict[str, Any],
    here: Path,
    main: str,
    pod_keys: dict[str, str],
    container_keys: dict[str, str],
    sidecars: tuple[str, ...] = (),
    own: tuple[str, ...] = (),
) -> _Pod:
    """The pod an operator runs from settings written at `here`: `pod_keys` are pod spec
    fields (pod key -> the settings' key), `container_keys` fields of its main container,
    named `main` (a container of that name among the settings' `containers` is merged over
    its own, as the operator's strategic merge by name does), `sidecars` lists of
    containers run beside it. A container or init container of another name than `main`
    and `own` (the operator's other containers) runs as written: judged whole."""
    settings = _mapping(get(obj, here))
    pod = _Pod(obj, here, [])
    listed = pod_keys.get("containers", "")
    containers = _list(settings.get(listed)) if listed else []
    index = _index_named(containers, main)
    written = containers[index] if index is not None else {}
    item = {"name": main, **written}
    pod.spec["containers"] = [item]
    pod.moves[("spec", "containers", 0)] = here if index is None else (*here, listed, index)
    for key, source in container_keys.items():
        if settings.get(source) is not None and key not in written:
            item[key] = settings[source]
            pod.moves[("spec", "containers", 0, key)] = (*here, source)
    for number, container in enumerate(containers):
        if number != index:
            pod.add("containers", [(container, (*here, listed, number), True)])
    for key in sidecars:
        pod.extend("containers", [(settings.get(key), (*here, key))])
    for key, source in pod_keys.items():
        if key != "containers" and settings.get(source) is not None:
            pod.place(key, settings[source], (*here, source))
    pod.judge_whole((main, *own))
    return pod


def _index_named(containers: list[Any], name: str) -> int | None:
    """The index of the container named `name`."""
    found = (i for i, c in enumerate(containers) if isinstance(c, dict) and c.get("name") == name)
    return next(found, None)


def _container(pod: _Pod, containers: list[Any], name: str, home: Path) -> int:
    """The index of the container named `name`: one the operator adds, located at `home`,
    when the object writes none."""
    index = _index_named(containers, name)
    if index is None:
        index = len(containers)
        containers.append({"name": name})
        pod.moves[("spec", "containers", index)] = home
    return index


def _same(*keys: str) -> dict[str, str]:
    return {key: key for key in keys}


# prometheus-operator: the pod fields of a Prometheus, PrometheusAgent, Alertmanager or
# ThanosRuler spec (`containers` strategic-merged by name over the operator's own).
_PROMETHEUS_POD = _same(
    "containers", "initContainers", "volumes", "securityContext", "hostNetwork", "hostUsers",
    "automountServiceAccountToken", "hostAliases", "serviceAccountName", "dnsPolicy",
    "imagePullSecrets",
)  # fmt: skip
_PROMETHEUS_MAIN = {
    "Prometheus": "prometheus",
    "PrometheusAgent": "prometheus",
    "Alertmanager": "alertmanager",
    "ThanosRuler": "thanos-ruler",
}


def _prometheus(obj: dict[str, Any]) -> list[PodView]:
    """prometheus-operator: a StatefulSet of the operator's pod, with the spec's pod fields
    and `podMetadata`; `image`, `resources` and `volumeMounts` are its main container's.
    A ThanosRuler has no `hostNetwork` (an unknown field is dropped by the API server)."""
    kind = str(obj.get("kind"))
    keys = dict(_PROMETHEUS_POD)
    if kind == "ThanosRuler":
        del keys["hostNetwork"]
    pod = _settings_pod(
        obj,
        ("spec",),
        _PROMETHEUS_MAIN[kind],
        keys,
        _same("image", "resources", "volumeMounts"),
        own=("config-reloader", "init-config-reloader", "thanos-sidecar"),
    )
    _pod_metadata(pod, get(obj, ("spec", "podMetadata")), ("spec", "podMetadata"))
    return [pod.view(overlay=True)]


def _pod_metadata(pod: _Pod, metadata: Any, real: Path, key: str = "") -> None:
    """Labels and annotations the operator gives its pods (`key`: a mapping of that key alone)."""
    if key:
        metadata = {key: metadata} if isinstance(metadata, dict) else None
    for name, value in _mapping(metadata).items():
        if name in ("labels", "annotations") and isinstance(value, dict):
            pod.metadata[name] = {**_mapping(pod.metadata.get(name)), **value}
            pod.moves[("metadata", name)] = real if key else (*real, name)


# OpenTelemetry operator: the collector's pod fields, and its container's (`otc-container`).
_OTEL_POD = {
    **_same(
        "volumes", "initContainers", "hostNetwork", "hostPID", "shareProcessNamespace",
        "hostUsers", "hostAliases", "dnsPolicy",
    ),
    "securityContext": "podSecurityContext",
    "serviceAccountName": "serviceAccount",
}  # fmt: skip
_OTEL_CONTAINER = _same(
    "securityContext", "image", "imagePullPolicy", "env", "envFrom", "volumeMounts", "ports",
    "resources", "lifecycle", "livenessProbe", "readinessProbe", "startupProbe",
)  # fmt: skip


def _otel(obj: dict[str, Any]) -> list[PodView]:
    """OpenTelemetryCollector: the collector's pod (its `securityContext` is the container's,
    `podSecurityContext` the pod's, `additionalContainers` run beside it), and the target
    allocator's when enabled."""
    pod = _settings_pod(
        obj, ("spec",), "otc-container", _OTEL_POD, _OTEL_CONTAINER, ("additionalContainers",)
    )
    _pod_metadata(
        pod, get(obj, ("spec", "podAnnotations")), ("spec", "podAnnotations"), "annotations"
    )
    views = [pod.view(overlay=True)]
    if get(obj, ("spec", "targetAllocator", "enabled")) is True:
        allocator = _settings_pod(
            obj,
            ("spec", "targetAllocator"),
            "ta-container",
            {"securityContext": "podSecurityContext", "serviceAccountName": "serviceAccount"},
            _same("securityContext", "image", "env", "resources"),
        )
        views.append(allocator.view(overlay=True))
    return views


# Crossplane's deprecated ControllerConfig: a provider's pod, written as settings.
_CONTROLLER_CONFIG_POD = {
    **_same("volumes", "serviceAccountName", "runtimeClassName", "imagePullSecrets"),
    "securityContext": "podSecurityContext",
}
_CONTROLLER_CONFIG_CONTAINER = _same(
    "securityContext", "image", "imagePullPolicy", "env", "envFrom", "volumeMounts", "resources"
)


def _controller_config(obj: dict[str, Any]) -> list[PodView]:
    pod = _settings_pod(
        obj, ("spec",), "package-runtime", _CONTROLLER_CONFIG_POD, _CONTROLLER_CONFIG_CONTAINER
    )
    _pod_metadata(pod, get(obj, ("spec", "metadata")), ("spec", "metadata"))
    return [pod.view(overlay=True)]


# actions-runner-controller (summerwind): a runner's pod fields, written beside its settings.
_RUNNER_POD = _same(
    "containers", "initContainers", "ephemeralContainers", "volumes", "securityContext",
    "automountServiceAccountToken", "serviceAccountName", "enableServiceLinks", "hostAliases",
    "runtimeClassName", "dnsPolicy", "imagePullSecrets",
)  # fmt: skip
_RUNNER_CONTAINER = _same("image", "imagePullPolicy", "env", "envFrom", "resources", "volumeMounts")


def _summerwind(obj: dict[str, Any]) -> list[PodView]:
    """actions-runner-controller's first API: a Runner (a RunnerDeployment's or
    RunnerReplicaSet's template) is a pod of a `runner` container and, unless Docker is off,
    a `docker` container; a RunnerSet's template is a pod template merged with the same.
    Docker runs privileged: in the `docker` sidecar (unless it has a securityContext of its
    own) or, with `dockerdWithinRunnerContainer`, in the runner; an SELinux context turns
    that off."""
    if obj.get("kind") == "RunnerSet":
        here: Path = ("spec", "template")
        template = _mapping(get(obj, here))
        pod = _Pod(obj, here, [(template.get("metadata"), (*here, "metadata"))])
        pod.spec = dict(_mapping(template.get("spec")))
        pod.moves[("spec",)] = (*here, "spec")
        pod.judge_whole(("runner", "docker"))
        config: Path = ("spec",)
    else:
        config = ("spec",) if obj.get("kind") == "Runner" else ("spec", "template", "spec")
        metadata: Path = ("metadata",) if config == ("spec",) else ("spec", "template", "metadata")
        pod = _settings_pod(
            obj,
            config,
            "runner",
            _RUNNER_POD,
            _RUNNER_CONTAINER,
            ("sidecarContainers",),
            ("docker",),
        )
        _pod_metadata(pod, get(obj, metadata), metadata)  # the Runner's, which its pod takes
    _runner_docker(pod, _mapping(get(obj, config)), config)
    return [pod.view(overlay=True)]


def _runner_docker(pod: _Pod, config: dict[str, Any], where: Path) -> None:
    """The Docker daemon the runner controller adds to a runner's pod (runner_controller.go,
    newRunnerPodWithContainerMode)."""
    if config.get("containerMode") == "kubernetes":
        return
    inside = config.get("dockerdWithinRunnerContainer") is True
    if not inside and config.get("dockerEnabled") is False:
        return
    privileged = get(pod.spec, ("securityContext", "seLinuxOptions")) is None
    containers = pod.spec.setdefault("containers", [])
    if not isinstance(containers, list):
        return
    index = _container(pod, containers, "runner" if inside else "docker", where)
    container = containers[index] = dict(_mapping(containers[index]))
    if not inside:
        for key, source in (("env", "dockerEnv"), ("volumeMounts", "dockerVolumeMounts")):
            if config.get(source) is not None and key not in container:
                container[key] = config[source]
                pod.moves[("spec", "containers", index, key)] = (*where, source)
        if "securityContext" in container:
            return
    if privileged:
        setting = "dockerdWithinRunnerContainer" if inside else "dockerEnabled"
        context = {**_mapping(container.get("securityContext")), "privileged": True}
        container["securityContext"] = context
        pod.moves[("spec", "containers", index, "securityContext", "privileged")] = (
            (*where, setting) if setting in config else where
        )


# Strimzi: each component's pod template (`template.pod`: pod fields, not a pod spec) and its
# containers' templates (env, securityContext, volumeMounts), the main container's image and
# resources written on the component.
_STRIMZI_POD = _same(
    "securityContext", "volumes", "imagePullSecrets", "hostAliases", "dnsPolicy",
    "enableServiceLinks", "priorityClassName",
)  # fmt: skip
# kind -> (component path, its pod template, main container template, its name, other
# container templates)
_STRIMZI: dict[str, tuple[tuple[Path, str, str, str, tuple[str, ...]], ...]] = {
    "Kafka": (
        (("spec", "kafka"), "pod", "kafkaContainer", "kafka", ("initContainer",)),
        (("spec", "zookeeper"), "pod", "zookeeperContainer", "zookeeper", ()),
        (
            ("spec", "entityOperator"),
            "pod",
            "topicOperatorContainer",
            "topic-operator",
            ("userOperatorContainer", "tlsSidecarContainer"),
        ),
        (("spec", "cruiseControl"), "pod", "cruiseControlContainer", "cruise-control", ()),
        (("spec", "kafkaExporter"), "pod", "container", "kafka-exporter", ()),
    ),
    "KafkaNodePool": ((("spec",), "pod", "kafkaContainer", "kafka", ("initContainer",)),),
    **{
        kind: (
            (("spec",), "pod", "connectContainer", "connect", ("initContainer",)),
            (("spec",), "buildPod", "buildContainer", "build", ()),  # the connector image's
        )
        for kind in ("KafkaConnect", "KafkaMirrorMaker2")
    },
    "KafkaMirrorMaker": ((("spec",), "pod", "mirrorMakerContainer", "mirror-maker", ()),),
    "KafkaBridge": ((("spec",), "pod", "bridgeContainer", "bridge", ("initContainer",)),),
}


def _strimzi(obj: dict[str, Any]) -> list[PodView]:
    views = []
    for component, pod_key, main, name, others in _STRIMZI.get(str(obj.get("kind")), ()):
        if not isinstance(get(obj, component), dict):
            continue
        here: Path = (*component, "template")
        template = _mapping(get(obj, here))
        if pod_key == "buildPod" and not (template.get(pod_key) or template.get(main)):
            continue  # no build pod written: nothing of it to judge
        pod_path: Path = (*here, pod_key)
        pod = _settings_pod(obj, pod_path, name, _STRIMZI_POD, {})
        _pod_metadata(pod, get(obj, (*pod_path, "metadata")), (*pod_path, "metadata"))
        container = pod.spec["containers"][0]
        for key in ("image", "resources") if pod_key == "pod" else ():
            if get(obj, (*component, key)) is not None:
                container[key] = get(obj, (*component, key))
                pod.moves[("spec", "containers", 0, key)] = (*component, key)
        for key, value in _mapping(template.get(main)).items():
            container[key] = value
            pod.moves[("spec", "containers", 0, key)] = (*here, main, key)
        for other in others:
            if isinstance(template.get(other), dict):
                lists = "initContainers" if other == "initContainer" else "containers"
                pod.add(lists, [(template[other], (*here, other), True)], name=other)
        views.append(pod.view(overlay=True))
    return views


# CloudNativePG: a Cluster's instances run the operator's pod with these of its fields.
# (podSecurityContext and securityContext are merged with its defaults, field by field.)
_CNPG_CONTAINER = {
    **_same("securityContext", "resources", "env", "envFrom", "imagePullPolicy"),
    "image": "imageName",
}


def _cnpg(obj: dict[str, Any]) -> list[PodView]:
    """CloudNativePG: `postgresUID` is the pod's runAsUser unless `podSecurityContext` sets
    one."""
    pod = _settings_pod(
        obj, ("spec",), "postgres", {"securityContext": "podSecurityContext"}, _CNPG_CONTAINER
    )
    uid = get(obj, ("spec", "postgresUID"))
    context = _mapping(pod.spec.get("securityContext"))
    if uid is not None and "runAsUser" not in context:
        pod.spec["securityContext"] = {**context, "runAsUser": uid}
        pod.moves[("spec", "securityContext", "runAsUser")] = ("spec", "postgresUID")
    return [pod.view(overlay=True)]


def _pod_templates(
    holders: tuple[Pattern, ...], main: str | Callable[[dict[str, Any]], str]
) -> Callable[[dict[str, Any]], list[PodView]]:
    """Operators that merge each holder's `podTemplate` over a pod of their own whose main
    container (`main`, or a function of the object giving its name) runs `spec.image`: a
    pod per holder with a template, or with an image to run (ECK, Flink)."""

    def views(obj: dict[str, Any]) -> list[PodView]:
        image_path: Path = ("spec", "image")
        image = get(obj, image_path)
        name = main if isinstance(main, str) else main(obj)
        found = []
        for pattern in holders:
            for here, holder in expand(obj, pattern):
                if not isinstance(holder, dict) or (
                    not isinstance(holder.get("podTemplate"), dict) and image is None
                ):
                    continue
                at: Path = (*here, "podTemplate")
                template = _mapping(holder.get("podTemplate"))
                pod = _Pod(obj, at, [(template.get("metadata"), (*at, "metadata"))])
                pod.spec = dict(_mapping(template.get("spec")))
                pod.moves[("spec",)] = (*at, "spec")
                if image is not None:
                    _main_image(pod, name, image, image_path)
                found.append(pod.view(overlay=True))
        return found

    return views


def _main_image(pod: _Pod, main: str, image: Any, real: Path) -> None:
    """The image the operator gives its main container, unless the template names one."""
    containers = list(_list(pod.spec.get("containers")))
    index = _container(pod, containers, main, real[:-1])
    if isinstance(containers[index], dict) and "image" not in containers[index]:
        containers[index] = {**containers[index], "image": image}
        pod.moves[("spec", "containers", index, "image")] = real
    pod.spec["containers"] = containers


def _beat_name(obj: dict[str, Any]) -> str:
    """ECK names a Beat's container after its type (filebeat, metricbeat...)."""
    return str(get(obj, ("spec", "type")) or "beat")


# Elastic Cloud on Kubernetes: `podTemplate`s merged over the operator's pods (ECK gives every
# container its default security context), and the main container's name.
_ECK: dict[tuple[str, str], tuple[tuple[Pattern, ...], str | Callable[[dict[str, Any]], str]]] = {
    ("elasticsearch.k8s.elastic.co", "Elasticsearch"): (
        (("spec", "nodeSets", WILDCARD),),
        "elasticsearch",
    ),
    ("kibana.k8s.elastic.co", "Kibana"): ((("spec",),), "kibana"),
    ("apm.k8s.elastic.co", "ApmServer"): ((("spec",),), "apm-server"),
    ("enterprisesearch.k8s.elastic.co", "EnterpriseSearch"): ((("spec",),), "enterprise-search"),
    ("logstash.k8s.elastic.co", "Logstash"): ((("spec",),), "logstash"),
    ("maps.k8s.elastic.co", "ElasticMapsServer"): ((("spec",),), "maps"),
    ("beat.k8s.elastic.co", "Beat"): ((("spec", "daemonSet"), ("spec", "deployment")), _beat_name),
    ("agent.k8s.elastic.co", "Agent"): (
        (("spec", "daemonSet"), ("spec", "deployment"), ("spec", "statefulSet")),
        "agent",
    ),
}

_RAY_PROBES = ("livenessProbe", "readinessProbe")
# A JobSet's Jobs' pod templates.
_JOBSET: Pattern = ("spec", "replicatedJobs", WILDCARD, "template", "spec", "template")


def _ray_groups(cluster: Path) -> tuple[Pattern, Pattern]:
    """A Ray cluster's head and worker group pod templates."""
    return (*cluster, "headGroupSpec", "template"), (
        *cluster,
        "workerGroupSpecs",
        WILDCARD,
        "template",
    )


def _both(
    *makers: Callable[[dict[str, Any]], list[PodView]],
) -> Callable[[dict[str, Any]], list[PodView]]:
    def views(obj: dict[str, Any]) -> list[PodView]:
        return [view for make in makers for view in make(obj)]

    return views


_ARGO_WORKFLOWS = ("Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate", "CronWorkflow")


# (API group, kind) -> the virtual Pods of an object of that kind.
CUSTOM_WORKLOADS: dict[tuple[str, str], Callable[[dict[str, Any]], list[PodView]]] = {
    **{("argoproj.io", kind): _argo_workflow for kind in _ARGO_WORKFLOWS},
    **{
        ("tekton.dev", kind): _tekton
        for kind in ("Task", "ClusterTask", "TaskRun", "Pipeline", "PipelineRun", "StepAction")
    },
    **{
        ("kubeflow.org", kind): _replica_specs
        for kind in ("PyTorchJob", "TFJob", "MPIJob", "XGBoostJob", "PaddleJob", "JAXJob", "MXJob")
    },
    ("kubeflow.org", "Notebook"): _templates(("spec", "template")),
    ("ray.io", "RayCluster"): _templates(*_ray_groups(("spec",)), probes=_RAY_PROBES),
    ("ray.io", "RayJob"): _both(
        _templates(*_ray_groups(("spec", "rayClusterSpec")), probes=_RAY_PROBES),
        _templates(("spec", "submitterPodTemplate")),
    ),
    ("ray.io", "RayService"): _templates(
        *_ray_groups(("spec", "rayClusterConfig")), probes=_RAY_PROBES
    ),
    **{
        ("serving.knative.dev", kind): _templates(
            ("spec", "template"), unnamed="user-container", probes=("readinessProbe",)
        )
        for kind in ("Service", "Configuration")
    },
    **{
        ("serving.kserve.io", kind): _kserve
        for kind in ("InferenceService", "ServingRuntime", "ClusterServingRuntime")
    },
    # Argo Rollouts: analysis Jobs (AnalysisRun from its templates) and Experiment pods.
    **{
        ("argoproj.io", kind): _templates(
            ("spec", "metrics", WILDCARD, "provider", "job", "spec", "template")
        )
        for kind in ("AnalysisTemplate", "ClusterAnalysisTemplate", "AnalysisRun")
    },
    ("argoproj.io", "Experiment"): _templates(("spec", "templates", WILDCARD, "template")),
    ("sources.knative.dev", "ContainerSource"): _templates(("spec", "template")),
    ("machinelearning.seldon.io", "SeldonDeployment"): _templates(
        ("spec", "predictors", WILDCARD, "componentSpecs", WILDCARD)
    ),
    ("apps.kruise.io", "AdvancedCronJob"): _templates(
        ("spec", "template", "jobTemplate", "spec", "template"),
        ("spec", "template", "broadcastJobTemplate", "spec", "template"),
    ),
    ("kubernetes.dask.org", "DaskCluster"): _templates(("spec", "worker"), ("spec", "scheduler")),
    ("kubernetes.dask.org", "DaskWorkerGroup"): _templates(("spec", "worker")),
    ("argoproj.io", "Sensor"): _argo_events,
    ("argoproj.io", "EventSource"): _argo_events,
    # JobSet (and the Kubeflow Trainer runtimes built on it), LeaderWorkerSet, Volcano,
    # OpenKruise, Flink: pod templates at their own paths.
    ("jobset.x-k8s.io", "JobSet"): _templates(_JOBSET),
    **{
        ("trainer.kubeflow.org", kind): _templates(("spec", "template", *_JOBSET))
        for kind in ("TrainingRuntime", "ClusterTrainingRuntime")
    },
    ("leaderworkerset.x-k8s.io", "LeaderWorkerSet"): _templates(
        ("spec", "leaderWorkerTemplate", "leaderTemplate"),
        ("spec", "leaderWorkerTemplate", "workerTemplate"),
    ),
    ("batch.volcano.sh", "Job"): _templates(("spec", "tasks", WILDCARD, "template")),
    ("apps.kruise.io", "CloneSet"): _templates(("spec", "template")),
    ("apps.kruise.io", "BroadcastJob"): _templates(("spec", "template")),
    ("apps.kruise.io", "SidecarSet"): _pod_spec,  # containers injected into matching pods
    ("apps.kruise.io", "EphemeralJob"): _ephemeral_job,
    **{("kubevirt.io", kind): _kubevirt for kind in _KUBEVIRT},
    ("core.oam.dev", "Application"): _kubevela,
    ("apps.kruise.io", "UnitedDeployment"): _templates(
        *(
            ("spec", "template", workload, "spec", "template")
            for workload in (
                "deploymentTemplate",
                "statefulSetTemplate",
                "advancedStatefulSetTemplate",
                "cloneSetTemplate",
            )
        )
    ),
    **{  # merged over the operator's pod (its `flink-main-container` takes the spec's image
        # and the resources of jobManager.resource / taskManager.resource)
        ("flink.apache.org", kind): _pod_templates(
            (("spec",), ("spec", "jobManager"), ("spec", "taskManager")), "flink-main-container"
        )
        for kind in ("FlinkDeployment", "FlinkSessionJob")
    },
    # GitHub Actions Runner Controller: each runner (and the listener) is a pod from a
    # full template; the runners of a CI system run whatever a workflow asks them to.
    ("actions.github.com", "AutoscalingRunnerSet"): _templates(
        ("spec", "template"), ("spec", "listenerTemplate")
    ),
    ("actions.github.com", "EphemeralRunnerSet"): _templates(
        ("spec", "ephemeralRunnerSpec", "template")
    ),
    ("actions.github.com", "EphemeralRunner"): _templates(("spec", "template")),
    ("sparkoperator.k8s.io", "SparkApplication"): _spark,
    ("sparkoperator.k8s.io", "ScheduledSparkApplication"): _spark,
    # Operators whose custom resources are overlays of their own pods (PodView.overlay).
    **{key: _pod_templates(holders, main) for key, (holders, main) in _ECK.items()},
    **{("monitoring.coreos.com", kind): _prometheus for kind in _PROMETHEUS_MAIN},
    ("opentelemetry.io", "OpenTelemetryCollector"): _otel,
    ("pkg.crossplane.io", "DeploymentRuntimeConfig"): _templates(
        ("spec", "deploymentTemplate", "spec", "template"), overlay=True
    ),
    ("pkg.crossplane.io", "ControllerConfig"): _controller_config,
    **{
        ("actions.summerwind.dev", kind): _summerwind
        for kind in ("Runner", "RunnerDeployment", "RunnerReplicaSet", "RunnerSet")
    },
    **{("kafka.strimzi.io", kind): _strimzi for kind in _STRIMZI},
    ("postgresql.cnpg.io", "Cluster"): _cnpg,
    ("grafana.integreatly.org", "Grafana"): _templates(
        ("spec", "deployment", "spec", "template"), overlay=True
    ),
}
# Kinds that only describe pods for others to run: their pods run where a Workflow, a
# TaskRun or an InferenceService that uses them runs.
_TEMPLATES = frozenset(
    {
        "WorkflowTemplate",
        "ClusterWorkflowTemplate",
        "Task",
        "ClusterTask",
        "Pipeline",
        "StepAction",
        "ServingRuntime",
        "ClusterServingRuntime",
        "TrainingRuntime",
        "ClusterTrainingRuntime",
        "SidecarSet",
        "EphemeralJob",  # runs its containers in pods that already run (judged there)
        "DeploymentRuntimeConfig",  # of the Crossplane providers and functions using it
        "ControllerConfig",
    }
)
# Kinds a pod rule reaches through a pod template (PodTemplate included: it is one); for
# custom resources, pod_views decides by API group.
WORKLOAD_KINDS = (frozenset(POD_TEMPLATE_PATHS) - {"Pod"}) | {kind for _, kind in CUSTOM_WORKLOADS}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def without_nulls(value: Any) -> Any:
    """The object as the API server stores it: a mapping key set to null is unset.

    Helm output is full of `securityContext:` and `labels:` left empty; rules must see them as
    absent, not fail on `null.field`. No recursion: documents may nest 500 levels deep.
    """
    if not _has_null(value):
        return value  # the common case: no copy
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(value, root, 0)]  # (value, holder, key in holder)
    while stack:
        item, holder, key = stack.pop()
        if isinstance(item, dict):
            copy: dict[Any, Any] = {}
            for name, child in item.items():
                if child is not None:
                    copy[name] = None
                    stack.append((child, copy, name))
            item = copy
        elif isinstance(item, list):
            items: list[Any] = [None] * len(item)
            stack.extend((child, items, index) for index, child in enumerate(item))
            item = items
        holder[key] = item
    return root[0]


def _has_null(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        children: Iterable[Any]
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        for child in children:
            if child is None:
                return True
            stack.append(child)
    return False


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
