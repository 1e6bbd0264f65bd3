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
    return (
        obj.get("kind") in _KINDS
        and str(obj.get("apiVersion", "")).startswith("kyverno.io/")
        and "generate" in str(obj.get("spec"))
    )


def generated(document: Document) -> list[Document]:
    """The objects `document` (a Kyverno policy) makes Kyverno create from `data`."""
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


def _document(policy: Document, obj: dict[str, Any], where: Path, rule: str) -> Document:
    metadata = obj["metadata"]
    return Document(
        source=policy.source,
        file=policy.file,
        obj=obj,
        locator=_RuleLocator(policy.locator, where),
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
