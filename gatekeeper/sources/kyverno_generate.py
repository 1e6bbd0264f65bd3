"""What a Kyverno generate rule creates, judged as the object it is.

A ClusterPolicy or Policy whose rule has `generate.data` makes Kyverno create that object
(on every matching trigger: each new Namespace, say) with the rule's apiVersion, kind, name
and namespace. The object never appears as a manifest, so a privileged DaemonSet written in
a rule's `data` reached the cluster with only the review finding K8S-ADMISSION-MUTATION; here
it becomes a document of its own, located in the rule, and every policy judges it. Objects
Kyverno clones (`clone`, `cloneList`) come from the cluster and are not known here.
"""

from __future__ import annotations

from typing import Any

from gatekeeper.document import Document, Location
from gatekeeper.fieldpath import Path
from gatekeeper.sources.gitops import DEPLOYED_BY

_KINDS = frozenset({"ClusterPolicy", "Policy"})
# Fields of a generate rule (or a foreach entry) that the created object takes.
_NAMED = ("apiVersion", "kind")


def is_generating(obj: dict[str, Any]) -> bool:
    api = str(obj.get("apiVersion", ""))
    return (
        (obj.get("kind") in _KINDS and api.startswith("kyverno.io/"))
        or (obj.get("kind") == _CEL_KIND and api.startswith("policies.kyverno.io/"))
    ) and "generate" in str(obj.get("spec"))


def generated(document: Document) -> list[Document]:
    """The objects `document` (a Kyverno policy) makes Kyverno create from `data`."""
    if document.obj.get("kind") == _CEL_KIND:
        return _cel_generated(document)
    spec = document.obj.get("spec")
    rules = spec.get("rules") if isinstance(spec, dict) else None
    out: list[Document] = []
    for index, rule in enumerate(rules if isinstance(rules, list) else []):
        generate = rule.get("generate") if isinstance(rule, dict) else None
        if not isinstance(generate, dict):
            continue
        at: Path = ("spec", "rules", index, "generate")
        entries = [(at, generate)]
        foreach = generate.get("foreach")
        if isinstance(foreach, list):
            entries += [
                ((*at, "foreach", number), {**generate, **entry})
                for number, entry in enumerate(foreach)
                if isinstance(entry, dict)
            ]
        for where, entry in entries:
            made = _object(entry)
            if made is not None:
                rule_name = str(rule.get("name") or index)
                out.append(_document(document, made, where, rule_name))
    return out


_CEL_KIND = "GeneratingPolicy"  # policies.kyverno.io, Kyverno 1.15+: generate in CEL
_APPLY = "generator.Apply("
# What a trigger looks like to the policy's expressions: only its name and namespace are
# known (an expression reading more of it is not evaluated, and what it makes not judged).
_TRIGGER = {"metadata": {"name": "trigger", "namespace": "trigger", "labels": {}}}


def _cel_generated(document: Document) -> list[Document]:
    """The objects a GeneratingPolicy's `generator.Apply(namespace, objects)` creates, where
    the objects are literals (inline or in `variables`, a trigger's name or namespace may be
    spliced in): evaluated with the admission CEL environment, each placed in the namespace
    given. An expression that needs more of the trigger or the cluster is left out (the
    policy itself is K8S-ADMISSION-MUTATION's finding)."""
    from gatekeeper.admission_cel import AdmissionError, Expression, _call_end, _code_mask

    spec = document.obj.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    data: dict[str, Any] = {"object": _TRIGGER, "oldObject": None, "request": {}, "params": None}
    data["namespaceObject"] = _TRIGGER
    variables: dict[str, Any] = {}
    entries = spec.get("variables")
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("expression"), str):
            data["variables"] = dict(variables)
            try:
                variables[str(entry.get("name"))] = Expression(
                    entry["expression"], kyverno=True
                ).evaluate(data)
            except (AdmissionError, RecursionError):
                continue
    data["variables"] = variables
    out: list[Document] = []
    generate = spec.get("generate")
    for index, entry in enumerate(generate if isinstance(generate, list) else []):
        source = entry.get("expression") if isinstance(entry, dict) else None
        start = source.find(_APPLY) if isinstance(source, str) else -1
        if not isinstance(source, str) or start < 0:
            continue
        try:  # generator.Apply(ns, objects) read as the list [ns, objects]
            opening = start + len(_APPLY) - 1
            end = _call_end(source, opening, _code_mask(source))
            pair = Expression(f"[{source[opening + 1 : end - 1]}]", kyverno=True).evaluate(data)
        except (AdmissionError, RecursionError):
            continue
        if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[1], list)):
            continue
        at: Path = ("spec", "generate", index)
        for made in pair[1]:
            if isinstance(made, dict) and isinstance(made.get("kind"), str):
                written = made.get("metadata")
                metadata = written if isinstance(written, dict) else {}
                namespace = {"namespace": str(pair[0])} if isinstance(pair[0], str) else {}
                obj = {**made, "metadata": {**metadata, **namespace}}
                out.append(_document(document, obj, at, f"generate[{index}]", whole=True))
    return out


def _object(entry: dict[str, Any]) -> dict[str, Any] | None:
    data = entry.get("data")
    if not isinstance(data, dict) or not isinstance(entry.get("kind"), str):
        return None
    written = data.get("metadata")
    metadata: dict[str, Any] = written if isinstance(written, dict) else {}
    named = {k: entry[k] for k in ("name", "namespace") if isinstance(entry.get(k), str)}
    return {
        **data,
        **{key: entry[key] for key in _NAMED if isinstance(entry.get(key), str)},
        "metadata": {**metadata, **named},
    }


def _document(
    policy: Document, obj: dict[str, Any], where: Path, rule: str, whole: bool = False
) -> Document:
    """The generated object, located in the rule's `data` (`whole`: at the rule itself, a
    CEL expression holding the object)."""
    metadata = obj["metadata"]
    return Document(
        source=policy.source,
        file=policy.file,
        obj=obj,
        locator=_AtLocator(policy.locator, where) if whole else _RuleLocator(policy.locator, where),
        index=policy.index,
        kind=str(obj.get("kind", "")),
        namespace=str(metadata.get("namespace") or ""),
        name=str(metadata.get("name") or ""),
        extra={"variant": f"{DEPLOYED_BY}{policy.file}:{policy.name} (Kyverno rule {rule})"},
    )


class _RuleLocator:
    """Paths of a generated object in the rule that writes it: apiVersion, kind, name and
    namespace at the rule's own fields when it sets them, the rest inside `data`."""

    def __init__(self, parent: Any, rule: Path) -> None:
        self.parent = parent
        self.rule = rule

    def locate(self, path: Path) -> Location:
        if path[:1] in (("apiVersion",), ("kind",)) or path[:2] in (
            ("metadata", "name"),
            ("metadata", "namespace"),
        ):
            own = self.parent.locate((*self.rule, path[-1]))
            if own.exact:
                return own  # type: ignore[no-any-return]
        return self.parent.locate((*self.rule, "data", *path))  # type: ignore[no-any-return]


class _AtLocator:
    """Every path of an object a CEL expression makes, at that expression."""

    def __init__(self, parent: Any, at: Path) -> None:
        self.parent = parent
        self.at = at

    def locate(self, path: Path) -> Location:
        return self.parent.locate(self.at)._replace(exact=False)  # type: ignore[no-any-return]
