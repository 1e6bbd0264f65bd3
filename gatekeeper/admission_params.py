"""A pull request that weakens the parameters of an enforcing ValidatingAdmissionPolicy
(red team s19 trust12 t03).

A binding's `paramRef` names the object (a ConfigMap, or a custom resource of the policy's
`paramKind`) whose values the policy's CEL reads: `params.data.allowedRegistries`, a
replica limit. A pull request that leaves the policy and its binding alone and adds
`docker.io/` to the allowed registries, or raises the limit, changes what the cluster admits
as surely as turning the binding to Audit (admission_weakened), and no object of it is a
finding. The policy's logic is not read: a parameter's name says which way it points. An
entry added to a list named as an allowance or exemption (allowed..., exempt..., trusted...,
excluded...) that is not narrower than an entry it had (`ghcr.io/acme/app/` under
`ghcr.io/acme/`), an entry taken from a list named as a denial or requirement (denied...,
blocked..., required...), a maximum or limit raised, a minimum lowered, and a switch of
either kind turned the weak way are said, at the changed line of the head's object, as
K8S-ADMISSION-POLICY-EXCEPTION. A parameter named neither way is not judged (noise: a
tightened list is as likely). The object removed while the binding's
`parameterNotFoundAction` is Allow (the policy then admits every request) is said at the
binding; with Deny (the default) the policy refuses everything: stricter, not said. So is
one a paramRef selector no longer selects (relabelled), or that leaves the selection while
the objects still selected are looser (each selected object is one more evaluation that
must pass: red team s20 trust13 s02).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import yaml

from gatekeeper import lazy_re
from gatekeeper.admission_weakened import POLICY_ID, SOURCES, weakened_finding
from gatekeeper.finding import Finding
from gatekeeper.yamldoc import safe_load

if TYPE_CHECKING:
    from gatekeeper.evaluate import Engine
    from gatekeeper.inventory import InventoryEntry
    from gatekeeper.tree import Tree

BINDING = "ValidatingAdmissionPolicyBinding"
# Which way a parameter points, by its name (the deny words first: `disallowed`).
_DENY = lazy_re.compile(
    r"deny|denied|block|forbid|disallow|banned|blacklist|reject|requir|mandator"
)
_ALLOW = lazy_re.compile(r"allow|permit|trust|exempt|exclu|ignor|skip|whitelist|accept")
_MAX = lazy_re.compile(r"max|limit|upper|ceiling")
_MIN = lazy_re.compile(r"min(?!ute)|lower|floor")
_SWITCH_ON = lazy_re.compile(r"enforc|requir|deny|enabled|strict")  # true is the strong way
_SPLIT = lazy_re.compile(r"[,\s]+")
Key = tuple[str, str, str]  # kind, namespace, name


def weakened(
    base: Sequence[InventoryEntry],
    head: Sequence[InventoryEntry],
    bindings: Sequence[InventoryEntry],
    base_tree: Tree,
    head_tree: Tree,
    engine: Engine,
) -> list[Finding]:
    """The params objects of the head's denying bindings (`bindings`: the head's
    ValidatingAdmissionPolicyBindings, changed or not) that the change weakens or removes."""
    policy = next((p for p in engine.policies if p.id == POLICY_ID), None)
    if policy is None:
        return []
    out: list[Finding] = []
    seen: set[str] = set()
    for binding, ref in _denying(bindings):
        was = {_key(e): e for e in base if _names(ref, e)}
        now = {_key(e): e for e in head if _names(ref, e)}
        line = int((binding.facts.get("lines") or {}).get("params") or 0)
        kept = {_key(e) for e in head}
        for key, old in was.items():
            new = now.get(key)
            if new is None:
                how = "removed" if key not in kept else "no longer selected by its paramRef"
                if not now and ref.get("parameterNotFoundAction") == "Allow":
                    what = (
                        f"has its params {old.kind} {_shown(old)} {how} while"
                        " parameterNotFoundAction is Allow (its policy admits every request)"
                    )
                    out.append(weakened_finding(policy, binding, what, line, binding.file))
                elif now and not ref.get("name") and _dropped(base_tree, head_tree, old, now):
                    what = (
                        f"has its params {old.kind} {_shown(old)} {how}, leaving"
                        f" {', '.join(sorted(_shown(e) for e in now.values()))}, which"
                        f" {'admits' if len(now) == 1 else 'admit'} more"
                    )
                    out.append(weakened_finding(policy, binding, what, line, binding.file))
                continue
            before = _object(base_tree, old)
            after, locate = _located(head_tree, new)
            if before is None or after is None:
                continue
            for what, path in _gives_up(_values(before), _values(after)):
                said = f"{what} (the params of {BINDING} {binding.name})"
                out.append(weakened_finding(policy, new, said, locate(path), new.file))
    unique = []
    for finding in out:
        if finding.fingerprint not in seen:
            seen.add(finding.fingerprint)
            unique.append(finding)
    return unique


def _dropped(
    base_tree: Tree, head_tree: Tree, old: InventoryEntry, now: dict[Key, InventoryEntry]
) -> bool:
    """A binding evaluates its policy once per params object its selector selects, and every
    evaluation must pass: one taken out of the selection (relabelled, removed) weakens the
    policy unless one still selected is as strict (red team s20 trust13 s02: the label moved
    from the strict object to a loose one)."""
    before = _object(base_tree, old)
    if before is None:
        return False
    was = _values(before)
    for entry in now.values():
        after = _object(head_tree, entry)
        if after is not None and not any(True for _ in _gives_up(was, _values(after))):
            return False
    return True


def _denying(bindings: Sequence[InventoryEntry]) -> Iterator[tuple[InventoryEntry, dict[str, Any]]]:
    for entry in bindings:
        if (
            entry.kind != BINDING
            or entry.source not in SOURCES
            or not isinstance(entry.facts, dict)
        ):
            continue
        facts = entry.facts.get("admission") or {}
        ref = facts.get("params")
        if isinstance(ref, dict) and "Deny" in (facts.get("actions") or []):
            yield entry, ref


def _names(ref: dict[str, Any], entry: InventoryEntry) -> bool:
    """Is `entry` an object the binding's paramRef names (by name, or by label selector), in
    its namespace when it gives one?"""
    from gatekeeper.admission import label_selected

    if entry.source not in SOURCES or entry.kind == BINDING:
        return False
    if ref.get("namespace") and entry.namespace != str(ref["namespace"]):
        return False
    if ref.get("name"):
        return entry.name == str(ref["name"])
    selector = ref.get("selector")
    return isinstance(selector, dict) and label_selected(selector, entry.labels)


def _key(entry: InventoryEntry) -> Key:
    return (entry.kind, entry.namespace, entry.name)


def _shown(entry: InventoryEntry) -> str:
    return f"{entry.namespace}/{entry.name}" if entry.namespace else entry.name


def _documents(tree: Tree, entry: InventoryEntry) -> Iterator[Any]:
    from gatekeeper.yamldoc import read_documents

    try:
        data = tree.read(entry.file)
    except OSError:
        return
    _text, documents, _problems = read_documents(entry.file, data)
    for document in documents:
        obj = document.obj
        if not isinstance(obj, dict) or str(obj.get("kind")) != entry.kind:
            continue
        metadata = obj.get("metadata")
        if isinstance(metadata, dict) and str(metadata.get("name")) == entry.name:
            yield document


def _object(tree: Tree, entry: InventoryEntry) -> dict[str, Any] | None:
    rendered = _rendered(entry)
    if rendered is not None:
        return rendered
    return next((d.obj for d in _documents(tree, entry)), None)


def _rendered(entry: InventoryEntry) -> dict[str, Any] | None:
    """The params object as a chart or overlay rendered it (inventory.rendered_params): its
    file is a template or a base the overlay changes, not what the cluster gets."""
    facts = entry.facts
    if entry.source == "kubernetes" or not isinstance(facts, dict):
        return None
    params = facts.get("params")
    if not isinstance(params, dict):
        return None
    return {"kind": entry.kind, "metadata": {"name": entry.name}, **params}


def _located(tree: Tree, entry: InventoryEntry) -> tuple[dict[str, Any] | None, Any]:
    from gatekeeper.yamldoc import NodeLocator

    rendered = _rendered(entry)
    document = next(_documents(tree, entry), None)
    if document is None:
        return rendered, (lambda path: entry.line) if rendered is not None else None
    locator = NodeLocator(entry.file, document.node)  # (a patch's lines: the values it sets)
    obj = rendered if rendered is not None else document.obj
    return obj, lambda path: locator.locate(path).line or entry.line


def _values(obj: dict[str, Any]) -> dict[tuple[str | int, ...], Any]:
    """The object's settings (a ConfigMap's data, else all but its identity and status) as
    leaves: path -> a set of entries, a number, a switch or text."""
    if obj.get("kind") == "ConfigMap":
        top = {"data": obj.get("data")}
    else:
        top = {
            k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata", "status")
        }
    out: dict[tuple[str | int, ...], Any] = {}

    def walk(value: Any, path: tuple[str | int, ...]) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, (*path, str(key)))
        elif isinstance(value, list) and not any(isinstance(i, (dict, list)) for i in value):
            out[path] = {str(item) for item in value}
        elif isinstance(value, list):
            out[path] = json.dumps(value, sort_keys=True, default=str)
        else:
            out[path] = _scalar(value)

    walk(top, ())
    return out


def _scalar(value: Any) -> Any:
    """A ConfigMap's text as the policy would read it: a number, a switch, or a list when it
    separates entries (`ghcr.io/acme/,quay.io/acme/`)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    try:
        parsed = safe_load(text) if text[:1] in "[-" else None
    except yaml.YAMLError:
        parsed = None
    if isinstance(parsed, list):
        return {str(item) for item in parsed}
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    try:
        return float(text)
    except ValueError:
        pass
    entries = [entry for entry in _SPLIT.split(text) if entry]
    return set(entries) if len(entries) > 1 else text


def _gives_up(
    was: dict[tuple[str | int, ...], Any], now: dict[tuple[str | int, ...], Any]
) -> Iterator[tuple[str, tuple[str | int, ...]]]:
    """What the head's values give up against the base's, each with its path."""
    for path, value in now.items():
        name = str(path[-1]) if path else ""
        low = name.lower()
        old = was.get(path)
        if old == value:
            continue
        if isinstance(value, (set, str)) and isinstance(old, (set, str, type(None))):
            new_set = value if isinstance(value, set) else {value}
            old_set = old if isinstance(old, set) else ({old} if old else set())
            if _DENY.search(low):
                taken = sorted(old_set - new_set)
                if taken and old is not None:
                    yield f"takes {', '.join(taken)} out of {name}", path
            elif _ALLOW.search(low):
                added = sorted(
                    entry
                    for entry in new_set - old_set
                    if not any(entry.startswith(o) and o for o in old_set)
                )
                if added and old is not None:
                    yield f"adds {', '.join(added)} to {name}", path
        elif isinstance(value, float) and isinstance(old, float) and not isinstance(old, bool):
            if _MAX.search(low) and value > old:
                yield f"raises {name} from {_number(old)} to {_number(value)}", path
            elif _MIN.search(low) and value < old:
                yield f"lowers {name} from {_number(old)} to {_number(value)}", path
        elif isinstance(value, bool) and isinstance(old, bool):
            strong = not _ALLOW.search(low) and bool(_SWITCH_ON.search(low))
            if (old and not value and strong) or (not old and value and _ALLOW.search(low)):
                yield f"turns {name} {'on' if value else 'off'}", path


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)
