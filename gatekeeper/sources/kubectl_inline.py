"""Objects CI changes with kubectl from the command line: `kubectl run --image`/`--overrides`/
`--privileged`, `kubectl patch -p` (strategic, merge, json), `kubectl label namespace`
(`enforce-` too), `kubectl create clusterrolebinding|rolebinding --clusterrole`, `kubectl
debug` (a node's debug pod, the sysadmin and netadmin profiles; `oc debug node/NAME`) and
`kubectl set image|env` (oc's too), `kubectl create clusterrole|role --verb --resource`,
`kubectl set subject clusterrolebinding cluster-admin`, and the bindings `oc adm policy
add-scc-to-user|group` and `oc [adm] policy add-(cluster-)role-to-user|group` write.

A team that deploys from CI waives WF-GITOPS-IMPERATIVE-DEPLOY; then a pull request adding
`kubectl patch deployment web -p '{"spec":{"template":{"spec":{"hostNetwork":true}}}}'`, a
privileged `kubectl run` or `kubectl label ns app pod-security.kubernetes.io/enforce=privileged`
to a CI step changed the cluster with nothing judged (red team s18 trust10 v08).

Each such command is judged as the partial object it writes, at the command's line: the
object made of what the command sets (its kind from the resource named, its name), judged
once as written and once with every value it sets removed (the same shape, empty leaves);
only what the first says and the second does not is said. A patch that sets `hostNetwork:
true` is a host-namespace finding; the probes, resources and labels the partial object
lacks are what the patched object may well have, and are not said. A value CI computes
(`-p "$PATCH"`) or a patch file is not read here; jobs that only test against a throwaway
cluster (kind, k3d...) are skipped, as for every imperative deploy.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import yaml

from gatekeeper.document import Document, Location
from gatekeeper.fieldpath import Path
from gatekeeper.shell import VALUE_FLAGS, applies_standard_input, split_args
from gatekeeper.sources import ci_edits
from gatekeeper.yamldoc import safe_load, safe_load_all

if TYPE_CHECKING:
    from gatekeeper.evaluate import Engine
    from gatekeeper.finding import Finding
    from gatekeeper.sources import LoadContext
    from gatekeeper.tree import Tree

_PROGRAMS = frozenset({"kubectl", "oc"})
# kubectl's own value flags plus those of the verbs read here (`--clusterrole cluster-admin`,
# `--profile sysadmin`), so their values are not taken for the object's name.
_VALUE_FLAGS = VALUE_FLAGS["kubectl"] | {
    "--clusterrole", "--role", "--serviceaccount", "--user", "--group", "--image",
    "--profile", "--target", "--overrides", "--env", "--port", "--labels", "--restart",
    "--custom-profile", "--copy-to", "--image-pull-policy", "--override-type",
    "-e", "--containers", "--from", "--prefix", "--keys", "-z", "--role-namespace",
    "--rolebinding-name", "--path", "--mount-path", "--name", "--verb", "--resource",
    "--resource-name", "--non-resource-url",
}  # fmt: skip
MARK = "kubectl_inline"  # Document.extra: the command's text; judged by `judged`
REMOVED = "kubectl_inline_removed"  # Document.extra: the labels `kubectl label` removes
BEFORE = "kubectl_inline_before"  # Document.extra: the object a CI edit changed (ci_edits)
ENFORCE = "pod-security.kubernetes.io/enforce"
# Resource names kubectl accepts for the kinds whose changes the policies judge.
_KINDS: dict[str, tuple[str, str]] = {}
for _names, _api, _kind in (
    (("pod", "pods", "po"), "v1", "Pod"),
    (("deployment", "deployments", "deploy"), "apps/v1", "Deployment"),
    (("daemonset", "daemonsets", "ds"), "apps/v1", "DaemonSet"),
    (("statefulset", "statefulsets", "sts"), "apps/v1", "StatefulSet"),
    (("replicaset", "replicasets", "rs"), "apps/v1", "ReplicaSet"),
    (("job", "jobs"), "batch/v1", "Job"),
    (("cronjob", "cronjobs", "cj"), "batch/v1", "CronJob"),
    (("deploymentconfig", "deploymentconfigs", "dc"), "apps.openshift.io/v1", "DeploymentConfig"),
    (("namespace", "namespaces", "ns"), "v1", "Namespace"),
    (("serviceaccount", "serviceaccounts", "sa"), "v1", "ServiceAccount"),
    (("service", "services", "svc"), "v1", "Service"),
    (
        ("clusterrolebinding", "clusterrolebindings"),
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBinding",
    ),
    (("rolebinding", "rolebindings"), "rbac.authorization.k8s.io/v1", "RoleBinding"),
    (("clusterrole", "clusterroles"), "rbac.authorization.k8s.io/v1", "ClusterRole"),
    (("role", "roles"), "rbac.authorization.k8s.io/v1", "Role"),
):
    for _name in _names:
        _KINDS[_name] = (_api, _kind)


class _CommandLocator:
    """Every field of the partial object is at the command that sets it."""

    def __init__(self, file: str, line: int) -> None:
        self.file = file
        self.line = line

    def locate(self, path: Path) -> Location:
        return Location(self.file, self.line)


def documents(workflow: Document, tree: Tree | None = None) -> list[Document]:
    """The partial objects the kubectl commands of a loaded CI file write from their command
    line (and a `kubectl patch --patch-file` of the repository, read from `tree`), outside
    throwaway-cluster jobs."""
    from gatekeeper.sources.workflow_scripts import steps, throwaway

    found: list[Document] = []
    for _job_id, _job, _number, step in steps(workflow.obj):
        for command in step.get("commands") or []:
            if not isinstance(command, dict) or throwaway(command, step):
                continue
            if command.get("program") in ci_edits.PROGRAMS:  # a manifest edited in place
                for before, after in ci_edits.edited(command, tree):
                    document = _document(workflow, command, after)
                    document.extra[BEFORE] = before
                    found.append(document)
            elif command.get("program") in _PROGRAMS:
                found += [_document(workflow, command, obj) for obj in _objects(command, tree)]
    return found


def _document(workflow: Document, command: dict[str, Any], obj: dict[str, Any]) -> Document:
    file = str(command.get("file") or workflow.file)
    line = int(command.get("line") or 1)
    given = obj.get("metadata")
    metadata: dict[str, Any] = given if isinstance(given, dict) else {}
    return Document(
        source="kubernetes",
        file=file,
        obj=obj,
        locator=_CommandLocator(file, line),
        index=workflow.index,
        kind=str(obj.get("kind", "")),
        namespace=str(metadata.get("namespace") or ""),
        name=str(metadata.get("name") or ""),
        extra={MARK: str(command.get("text") or ""), **_removals(command)},
    )


def _objects(command: dict[str, Any], tree: Tree | None) -> list[dict[str, Any]]:
    """What the command writes: the objects `kubectl apply -f -` reads from its standard
    input, else the partial object its command line makes, if any."""
    if command.get("input") and _reads_input(command):
        return _from_input(str(command["input"]))
    obj = _written(command, tree)
    return [] if obj is None else [obj]


def _reads_input(command: dict[str, Any]) -> bool:
    args = [str(arg) for arg in command.get("args") or []]
    words, _ = _split(args)
    return applies_standard_input(words[0] if words else "", args)


def judged(engine: Engine, document: Document) -> list[Finding]:
    """The findings of a partial object that what the command sets makes: those of the
    object as written that the same object without the values it sets does not have; and a
    namespace's Pod Security `enforce` label the command removes."""
    return [*_set(engine, document), *_unenforced(engine, document)]


def _unenforced(engine: Engine, document: Document) -> list[Finding]:
    """`kubectl label ns app pod-security.kubernetes.io/enforce-`: the namespace falls back to
    the cluster's default (privileged unless its AdmissionConfiguration says otherwise), as a
    manifest losing the label does (pss_admission.lowered)."""
    from gatekeeper.pss_admission import POLICY_ID, weakened

    removed = document.extra.get(REMOVED) or ()
    if document.kind != "Namespace" or ENFORCE not in removed:
        return []
    policy = next((p for p in engine.policies if p.id == POLICY_ID), None)
    if policy is None:
        return []
    what = "removes Pod Security enforce (the cluster's default, privileged unless configured)"
    line = document.locator.locate(()).line
    return [weakened(policy, document.file, line, document.source, document.name, what, "kubectl")]


def _set(engine: Engine, document: Document) -> list[Finding]:
    written = engine.evaluate(document)
    if not written:
        return written
    before = document.extra.get(BEFORE)
    emptied = Document(
        source=document.source,
        file=document.file,
        obj=_emptied(document.obj) if before is None else before,
        locator=document.locator,
        index=document.index,
        kind=document.kind,
        namespace=document.namespace,
        name=document.name,
        extra=document.extra,
    )
    had = {(f.policy_id, f.path, f.message) for f in engine.evaluate(emptied)}
    return [f for f in written if (f.policy_id, f.path, f.message) not in had]


def _written(command: dict[str, Any], tree: Tree | None = None) -> dict[str, Any] | None:
    args = command.get("args")
    if isinstance(args, list):
        words, flag_words = _split([str(arg) for arg in args])
    else:
        words, flag_words = command.get("positional") or [], command.get("flags") or []
    positional = [str(word) for word in words]
    flags = _flags(flag_words)
    verb = positional[0] if positional else ""
    if verb == "run" and len(positional) > 1:
        return _run(positional[1], flags, flag_words)
    if verb == "patch" and len(positional) > 1:
        if "--patch-file" in flags and tree is not None:
            flags["--patch"] = _patch_file(tree, command, flags["--patch-file"]) or "$"
        return _patch(positional[1:], flags)
    if verb == "label" and len(positional) > 2:
        return _label(positional[1:], flags)
    if verb == "create" and len(positional) > 2 and positional[1] in _CREATED:
        return _created(positional[1], positional[2], flag_words)
    if verb == "create" and len(positional) > 2 and positional[1] in _ROLE_KINDS:
        return _role(positional[1], positional[2], flag_words)
    if verb == "create" and len(positional) > 2:
        return _binding(positional[1], positional[2], flags)
    if verb == "debug" and len(positional) > 1:
        return _debug(positional[1], flags, str(command.get("program") or "kubectl"))
    if command.get("program") == "oc" and len(positional) > 2:
        found = _oc_policy(positional[1:] if verb == "adm" else positional, flags)
        if found is not None:
            return found
    if verb == "set" and positional[1:2] in (["volume"], ["volumes"]) and len(positional) > 2:
        return _host_volume(positional[2:], flags)
    if verb == "set" and positional[1:2] == ["subject"] and len(positional) > 2:
        return _subject(positional[2:])
    if verb == "set" and len(positional) > 2:
        return _set_containers(positional[1], positional[2:], flags, flag_words)
    return None


def _split(args: list[str]) -> tuple[list[str], list[str]]:
    """Positional words and flags (`--flag=value`), with the verbs' value flags too."""
    return split_args("kubectl", args, _VALUE_FLAGS)


def _flags(words: list[Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    for flag in words:
        name, equals, value = str(flag).partition("=")
        found[name] = value if equals else "true"
    return found


def _parsed(text: str) -> Any:
    """An inline JSON or YAML value as kubectl reads it; None when it is computed or unreadable."""
    text = text.strip()
    if len(text) > 1 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]
    if not text or "$" in text:
        return None
    try:
        return safe_load(text)
    except yaml.YAMLError:
        try:
            return json.loads(text)
        except ValueError:
            return None


def _run(name: str, flags: dict[str, str], flag_words: list[Any]) -> dict[str, Any] | None:
    """`kubectl run NAME --image=X [--env=K=V...] [--privileged] [--overrides=JSON]
    [--override-type=json]`: the image and literal env values of the Pod kubectl makes (its
    container named NAME, as kubectl names it: judged as `kubectl create deployment --image`
    and `kubectl set env` are) and what the overrides and --privileged set on it."""
    overrides = _parsed(flags["--overrides"]) if "--overrides" in flags else None
    if flags.get("--override-type") == "json":  # a JSON patch (merge, strategic: an object)
        overrides = _from_json_patch(overrides)
    privileged = flags.get("--privileged", "false") == "true"
    image = flags.get("--image", "$")
    if not isinstance(overrides, dict) and not privileged and "$" in image + name:
        return None
    pod: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}}
    if "$" not in image + name:
        container: dict[str, Any] = {"name": name, "image": image}
        env = [
            value.split("=", 1)
            for flag_name, _, value in (str(flag).partition("=") for flag in flag_words)
            if flag_name == "--env" and "=" in value and "$" not in value
        ]
        if env:
            container["env"] = [{"name": key, "value": value} for key, value in env]
        pod["spec"] = {"containers": [container]}
    if isinstance(overrides, dict):
        pod = _merged(pod, overrides)
    if privileged:
        containers = pod.setdefault("spec", {}).setdefault("containers", [{}])
        if isinstance(containers, list) and containers and isinstance(containers[0], dict):
            containers[0].setdefault("securityContext", {})["privileged"] = True
    pod["apiVersion"], pod["kind"] = "v1", "Pod"
    return pod


def _patch(words: list[str], flags: dict[str, str]) -> dict[str, Any] | None:
    """`kubectl patch TYPE NAME -p PATCH [--type strategic|merge|json]` (or TYPE/NAME)."""
    resource, _, name = words[0].partition("/")
    if not name and len(words) > 1:
        name = words[1]
    api_kind = _KINDS.get(resource.lower().split(".")[0])
    given = flags.get("-p", flags.get("--patch"))
    if api_kind is None or given is None:
        return None
    patch = _parsed(given)
    if flags.get("--type") == "json":
        patch = _from_json_patch(patch)
    if not isinstance(patch, dict):
        return None
    obj = _merged({"metadata": {"name": name}}, patch)
    obj["apiVersion"], obj["kind"] = api_kind
    return obj


def _patch_file(tree: Tree, command: dict[str, Any], given: str) -> str | None:
    """The text of the repository file `kubectl patch --patch-file` names, from the folder
    the command runs in; None when it is computed or not the repository's."""
    path = repository_path(command, given)
    if path is None:
        return None
    try:
        return tree.read(path).decode("utf-8", "replace")
    except OSError:
        return None


def repository_path(command: dict[str, Any], given: str) -> str | None:
    """The repository file a command names (from the folder it runs in); None when it is
    computed or outside the repository."""
    from gatekeeper import shell_dirs
    from gatekeeper.tree import inside

    given = given.strip("'\"")
    if not given or "$" in given or given == "-":
        return None
    path = shell_dirs.resolve(command.get("directory"), given)
    if path is None or not shell_dirs.known(path) or path.startswith("/"):
        return None
    return inside(path)


def feeds(context: LoadContext) -> Iterator[tuple[str, str]]:
    """A CI file (or the script it runs) whose `kubectl patch --patch-file FILE` names a
    repository file is judged again when only that file changes (the patch is judged at the
    command: kubectl_inline.documents)."""
    from gatekeeper.sources import workflow
    from gatekeeper.sources.workflow_scripts import steps

    for document in workflow.ci_documents(
        context.tree, (b"--patch-file", b"sed", b"yq", b"perl", b"cp", b"mv")
    ):
        for _job_id, _job, _number, step in steps(document.obj):
            for command in step.get("commands") or []:
                if not isinstance(command, dict):
                    continue
                if command.get("program") in ci_edits.PROGRAMS:  # a manifest CI edits
                    edited = ci_edits.edited_path(command)
                    if edited:
                        yield str(command.get("file") or document.file), edited
                        yield document.file, edited
                    continue
                if command.get("program") not in _PROGRAMS:
                    continue
                for flag in command.get("flags") or []:
                    name, _, value = str(flag).partition("=")
                    path = repository_path(command, value) if name == "--patch-file" else None
                    if path:
                        yield str(command.get("file") or document.file), path
                        yield document.file, path


def _from_json_patch(operations: Any) -> dict[str, Any] | None:
    """The values a JSON patch adds or replaces, as a nested object (`/spec/template/spec/
    hostPID` -> {"spec": {"template": {"spec": {"hostPID": ...}}}}); list indexes as lists."""
    if not isinstance(operations, list):
        return None
    obj: dict[str, Any] = {}
    for operation in operations:
        if not isinstance(operation, dict) or operation.get("op") not in ("add", "replace"):
            continue
        pointer = str(operation.get("path", "")).split("/")[1:]
        parts = [part.replace("~1", "/").replace("~0", "~") for part in pointer]
        if parts:
            _put(obj, parts, operation.get("value"))
    return obj


def _put(holder: Any, parts: list[str], value: Any) -> None:
    """Set `value` at the JSON pointer `parts` below `holder`, making what is missing."""
    for at, part in enumerate(parts):
        key: Any
        if isinstance(holder, dict):
            key = part
        elif isinstance(holder, list) and _index(part):
            key = len(holder) if part == "-" else int(part)
            while len(holder) <= key:
                holder.append({})
        else:
            return
        if at == len(parts) - 1:
            holder[key] = value
            return
        child = holder[key] if isinstance(holder, list) or key in holder else None
        if not isinstance(child, (dict, list)):
            child = [] if _index(parts[at + 1]) else {}
            holder[key] = child
        holder = child


def _index(part: str) -> bool:
    return part == "-" or part.isdigit()


def _binding(resource: str, name: str, flags: dict[str, str]) -> dict[str, Any] | None:
    """`kubectl create clusterrolebinding|rolebinding NAME --clusterrole=R|--role=R`: the
    binding's roleRef (its subjects are what it grants to, not a setting judged here)."""
    kind = {"clusterrolebinding": "ClusterRoleBinding", "rolebinding": "RoleBinding"}.get(resource)
    role_kind = "ClusterRole" if "--clusterrole" in flags else "Role"
    role = flags.get("--clusterrole", flags.get("--role", ""))
    if (
        kind is None
        or not role
        or "$" in role
        or (kind == "ClusterRoleBinding" and role_kind == "Role")
    ):
        return None
    return _role_binding(kind, name, role_kind, role)


_ROLE_KINDS = {"clusterrole": "ClusterRole", "role": "Role"}


def _role(resource: str, name: str, flag_words: list[Any]) -> dict[str, Any] | None:
    """`kubectl create clusterrole|role NAME --verb=V... --resource=R[.GROUP][/SUB]...
    [--resource-name=N...] [--non-resource-url=U...]`: the role's rules, as kubectl writes
    them (one rule per API group; red team s20 trust13 s08: `--verb='*' --resource='*'`).
    Each flag repeats or takes a comma-separated list; a computed value is not read."""
    values: dict[str, list[str]] = {}
    for flag in flag_words:
        key, equals, value = str(flag).partition("=")
        if equals:
            values.setdefault(key, []).extend(v for v in value.split(",") if v)
    verbs = values.get("--verb", [])
    if not verbs or any("$" in v for v in verbs):
        return None
    groups: dict[str, list[str]] = {}
    for written in values.get("--resource", []):
        if "$" in written:
            return None
        plain, slash, sub = written.partition("/")
        resource_name, dot, group = plain.partition(".")
        groups.setdefault(group if dot else "", []).append(
            resource_name + (slash + sub if slash else "")
        )
    rules: list[dict[str, Any]] = []
    for group, resources in groups.items():
        rule: dict[str, Any] = {"apiGroups": [group], "resources": resources, "verbs": verbs}
        if values.get("--resource-name"):
            rule["resourceNames"] = values["--resource-name"]
        rules.append(rule)
    if values.get("--non-resource-url"):
        rules.append({"nonResourceURLs": values["--non-resource-url"], "verbs": verbs})
    if not rules:
        return None
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": _ROLE_KINDS[resource],
        "metadata": {"name": name},
        "rules": rules,
    }


# The bindings every cluster has, by the role they bind: `kubectl set subject` adds a subject
# to one the command names, which the repository does not write.
_DEFAULT_BINDINGS = {"cluster-admin": "cluster-admin"}


def _subject(words: list[str]) -> dict[str, Any] | None:
    """`kubectl set subject clusterrolebinding cluster-admin --serviceaccount=NS:SA` (or
    `clusterrolebinding/cluster-admin`): the default binding of cluster-admin given one more
    subject is a grant of cluster-admin (red team s20 trust13 s08)."""
    resource, slash, name = words[0].partition("/")
    if not slash:
        name = words[1] if len(words) > 1 else ""
    if resource.lower() not in ("clusterrolebinding", "clusterrolebindings"):
        return None
    role = _DEFAULT_BINDINGS.get(name)
    if role is None:
        return None
    return _role_binding("ClusterRoleBinding", name, "ClusterRole", role)


def _from_input(text: str) -> list[dict[str, Any]]:
    """`kubectl apply|create|replace -f -` reading a heredoc, a here-string or what an `echo`
    before it prints (red team s19 trust12 t07): the objects it holds (a `kind: List`'s
    items too); a text CI computes (`$TAG`) is not read."""
    if not text.strip() or "$" in text:
        return []
    try:
        found = list(safe_load_all(text))
    except yaml.YAMLError:
        return []
    out: list[dict[str, Any]] = []
    for obj in found:
        if isinstance(obj, dict) and obj.get("kind") == "List":
            found += [item for item in obj.get("items") or [] if isinstance(item, dict)]
        elif isinstance(obj, dict) and isinstance(obj.get("kind"), str) and obj.get("apiVersion"):
            out.append(obj)
    return out


# `kubectl create deployment|job|cronjob NAME --image=IMAGE...`: the workload kinds it makes.
_CREATED = {"deployment": "deployment", "deploy": "deployment", "job": "job", "cronjob": "cronjob"}
_CREATED.update(cj="cronjob")


def _created(resource: str, name: str, flag_words: list[Any]) -> dict[str, Any] | None:
    """`kubectl create deployment|job|cronjob NAME --image=IMAGE...`: its containers' images
    (kubectl names each container after its image's last path segment)."""
    images = [
        str(flag).partition("=")[2]
        for flag in flag_words
        if str(flag).partition("=")[0] == "--image" and "$" not in str(flag)
    ]
    api_kind = _KINDS.get(_CREATED[resource])
    from gatekeeper.workloads import POD_TEMPLATE_PATHS

    path = POD_TEMPLATE_PATHS.get(api_kind[1]) if api_kind else None
    if not images or api_kind is None or path is None or "$" in name:
        return None
    containers = [
        {"name": image.rsplit("/", 1)[-1].split(":")[0].split("@")[0], "image": image}
        for image in images
    ]
    return _with_containers(api_kind, name, path, containers)


def _oc_policy(words: list[str], flags: dict[str, str]) -> dict[str, Any] | None:
    """`oc adm policy add-scc-to-user|add-scc-to-group SCC ...`: the ClusterRoleBinding to
    `system:openshift:scc:SCC` it writes (OpenShift 4: openshift/oc#412); `oc [adm] policy
    add-cluster-role-to-user|group ROLE` and `add-role-to-user|group ROLE` (a RoleBinding to
    the ClusterRole, or to the Role with `--role-namespace`): their roleRef (red team s19
    trust12 t01)."""
    if len(words) < 3 or words[0] != "policy" or "$" in words[2]:
        return None
    action, role = words[1], words[2]
    if action in ("add-scc-to-user", "add-scc-to-group"):
        name = f"system:openshift:scc:{role}"
        kind, role_kind = "ClusterRoleBinding", "ClusterRole"
        role = name
    elif action in ("add-cluster-role-to-user", "add-cluster-role-to-group"):
        name, kind, role_kind = role, "ClusterRoleBinding", "ClusterRole"
    elif action in ("add-role-to-user", "add-role-to-group"):
        role_kind = "Role" if "--role-namespace" in flags else "ClusterRole"
        name, kind = role, "RoleBinding"
    else:
        return None
    return _role_binding(kind, name, role_kind, role)


def _debug(target: str, flags: dict[str, str], program: str = "kubectl") -> dict[str, Any] | None:
    """`kubectl debug node/NAME|POD [--profile=P]`: the debug pod the profile makes (kubectl's
    pkg/cmd/debug/profiles.go). On a node, the default profile (legacy) and general share
    the host's network, PID and IPC namespaces and mount the node's root at /host (red team
    s20 trust13 s07: `chroot /host` is root on the node), sysadmin does that privileged,
    netadmin shares the namespaces with NET_ADMIN and NET_RAW; baseline and restricted do
    neither. On a pod, sysadmin is privileged and netadmin adds the two capabilities; the
    other profiles are left out (noise). `oc debug node/NAME` is privileged, as root, with
    the host's namespaces and root; `oc debug` of a workload runs a copy of it."""
    profile = flags.get("--profile", "legacy")
    resource, _, name = target.partition("/")
    node = resource.lower() in ("node", "nodes", "no") and bool(name)
    context: dict[str, Any] = {}
    if program == "oc":
        if not node:
            return None
        context = {"privileged": True, "runAsUser": 0}
    elif profile == "sysadmin":
        context = {"privileged": True}
    elif profile == "netadmin":
        context = {"capabilities": {"add": ["NET_ADMIN", "NET_RAW"]}}
    elif not (node and profile in ("legacy", "general")):
        return None
    container: dict[str, Any] = {"name": "debugger"}
    if context:
        container["securityContext"] = context
    spec: dict[str, Any] = {"containers": [container]}
    if node:
        spec.update(hostNetwork=True, hostPID=True, hostIPC=True)
    if node and (program == "oc" or profile != "netadmin"):
        container["volumeMounts"] = [{"name": "host-root", "mountPath": "/host"}]
        spec["volumes"] = [{"name": "host-root", "hostPath": {"path": "/"}}]
    pod_name = f"node-debugger-{name}" if node else (name or target)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": pod_name}, "spec": spec}


def _set_containers(
    what: str, words: list[str], flags: dict[str, str], flag_words: list[Any]
) -> dict[str, Any] | None:
    """`kubectl set image TYPE/NAME CONTAINER=IMAGE...` and `kubectl set env TYPE/NAME
    KEY=VALUE... [-e KEY=VALUE] [-c CONTAINER]` (or TYPE NAME): the workload's containers
    with the images or literal env values it sets (red team s19 trust12 t02: `set image
    app=nginx:latest`, `set env DB_PASSWORD=...`). A computed value (`$TAG`) is not read;
    `--from=secret/x` sets no literal. Other `set` commands (resources, serviceaccount)
    write nothing the pod policies judge from the command alone (`set subject`: _subject)."""
    resources = [word for word in words if "=" not in word and not word.endswith("-")]
    pairs = [word.split("=", 1) for word in words if "=" in word and "$" not in word]
    if what == "env":
        for flag in flag_words:
            name, _, value = str(flag).partition("=")
            if name in ("-e", "--env") and "=" in value and "$" not in value:
                pairs.append(value.split("=", 1))
    if what not in ("image", "env") or not resources or not pairs:
        return None
    resource, _, name = resources[0].partition("/")
    if not name and len(resources) > 1:
        name = resources[1]
    api_kind = _KINDS.get(resource.lower().split(",")[0].split(".")[0])
    from gatekeeper.workloads import POD_TEMPLATE_PATHS

    path = POD_TEMPLATE_PATHS.get(api_kind[1]) if api_kind else None
    if api_kind is None or path is None:
        return None
    containers: list[dict[str, Any]]
    if what == "image":
        containers = [{"name": container, "image": image} for container, image in pairs]
    else:
        chosen = flags.get("--containers", flags.get("-c", "*"))
        env = [{"name": key, "value": value} for key, value in pairs]
        containers = [{"name": chosen, "env": env}]
    return _with_containers(api_kind, name, path, containers)


def _host_volume(words: list[str], flags: dict[str, str]) -> dict[str, Any] | None:
    """`oc set volume TYPE/NAME --add --type=hostPath --path=/ --mount-path=/host`: the
    hostPath volume it adds to the workload's pod (red team s19 trust12 t08)."""
    if "--add" not in flags or flags.get("--type", "").lower() != "hostpath":
        return None
    path = flags.get("--path", "")
    resource, _, name = words[0].partition("/")
    if not name and len(words) > 1:
        name = words[1]
    api_kind = _KINDS.get(resource.lower().split(",")[0].split(".")[0])
    from gatekeeper.workloads import POD_TEMPLATE_PATHS

    pod_path = POD_TEMPLATE_PATHS.get(api_kind[1]) if api_kind else None
    if api_kind is None or pod_path is None or not path or "$" in path:
        return None
    volume = flags.get("--name") or "volume"
    mount = {"name": volume, "mountPath": flags.get("--mount-path") or path}
    containers = [
        {"name": flags.get("-c", flags.get("--containers", "*")), "volumeMounts": [mount]}
    ]
    obj = _with_containers(api_kind, name, pod_path, containers)
    pod = obj
    for key in pod_path:
        pod = pod[str(key)]
    pod["spec"]["volumes"] = [{"name": volume, "hostPath": {"path": path}}]
    return obj


def _with_containers(
    api_kind: tuple[str, str], name: str, path: Path, containers: list[dict[str, Any]]
) -> dict[str, Any]:
    """A workload of `api_kind` named `name` whose pod (at `path`) has `containers`."""
    obj: dict[str, Any] = {"apiVersion": api_kind[0], "kind": api_kind[1]}
    obj["metadata"] = {"name": name}
    holder = obj
    for key in path:
        holder = holder.setdefault(str(key), {})
    holder["spec"] = {"containers": containers}
    return obj


def _label(words: list[str], flags: dict[str, str]) -> dict[str, Any] | None:
    """`kubectl label TYPE NAME key=value...` (or TYPE/NAME; objects chosen by `-l SELECTOR`
    or `--all` are named so: red team s19 trust12 t08): the labels it sets."""
    resource, _, name = words[0].partition("/")
    rest = words[1:]
    if not name and rest and "=" not in rest[0] and not rest[0].endswith("-"):
        name, rest = rest[0], rest[1:]
    elif not name:
        chosen = flags.get("-l", flags.get("--selector"))
        name = f"-l {chosen}" if chosen else "--all" if "--all" in flags else ""
    api_kind = _KINDS.get(resource.lower())
    labels = dict(word.split("=", 1) for word in rest if "=" in word and "$" not in word)
    if api_kind is None or not (labels or _removed(rest)):
        return None
    return {
        "apiVersion": api_kind[0],
        "kind": api_kind[1],
        "metadata": {"name": name, "labels": labels},
    }


def _removed(words: list[str]) -> list[str]:
    """The labels `kubectl label` removes (`key-`)."""
    return [word[:-1] for word in words if word.endswith("-") and "=" not in word and len(word) > 1]


def _removals(command: dict[str, Any]) -> dict[str, list[str]]:
    """Document.extra for the labels a `kubectl label` command removes (REMOVED), if any."""
    words, _ = _split([str(arg) for arg in command.get("args") or []])
    removed = _removed(words[2:]) if words[:1] == ["label"] else []
    return {REMOVED: removed} if removed else {}


def _merged(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in patch.items():
        old = out.get(key)
        out[key] = (
            _merged(old, value) if isinstance(old, dict) and isinstance(value, dict) else value
        )
    return out


def _emptied(value: Any) -> Any:
    """The same shape without what the command sets: every leaf gone; a name kept (the
    object's identity, not a setting) except a binding's roleRef, which is what it grants."""
    if isinstance(value, dict):
        kept = ("name", "apiVersion", "kind")
        return {
            k: _emptied(v) if k != "roleRef" else {}
            for k, v in value.items()
            if isinstance(v, (dict, list)) or k in kept
        }
    if isinstance(value, list):
        return [_emptied(item) for item in value if isinstance(item, (dict, list))]
    return value


def _role_binding(kind: str, name: str, role_kind: str, role: str) -> dict[str, Any]:
    """The (Cluster)RoleBinding `name` a command writes: only its roleRef is judged."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
    }
