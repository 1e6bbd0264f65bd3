"""Rules x documents -> findings."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from gatekeeper.document import Document, Location
from gatekeeper.fieldpath import Path, expand, format_path, get
from gatekeeper.finding import Finding, fingerprint
from gatekeeper.inventory import InventoryEntry
from gatekeeper.policy.cel import CelError
from gatekeeper.policy.model import Policy
from gatekeeper.workloads import WORKLOAD_KINDS, pod_view, without_nulls

# Sources whose documents are Kubernetes objects, where a null field means unset.
KUBERNETES_SOURCES = frozenset({"kubernetes", "helm", "kustomize", "gitops"})
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][^{}]*?)\s*\}\}")


@dataclass
class Engine:
    """Policies indexed by source and kind, with their effective parameters."""

    policies: list[Policy]
    param_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._by_source: dict[str, list[Policy]] = defaultdict(list)
        self._repository: list[Policy] = []
        for policy in self.policies:
            if policy.scope == "repository":
                self._repository.append(policy)
            else:
                self._by_source[policy.match.source].append(policy)
        self._params = {
            policy.id: {**policy.params, **self.param_overrides.get(policy.id, {})}
            for policy in self.policies
        }

    def params(self, policy: Policy) -> dict[str, Any]:
        return self._params[policy.id]

    @property
    def needs_inventory(self) -> bool:
        return bool(self._repository)

    def evaluate(self, document: Document) -> list[Finding]:
        findings: list[Finding] = []
        policies = self._by_source.get(document.source, ())
        if policies and document.source in KUBERNETES_SOURCES:
            document = replace(document, obj=without_nulls(document.obj))
        for policy in policies:
            findings.extend(self._evaluate_policy(policy, document))
        return findings

    def _evaluate_policy(self, policy: Policy, document: Document) -> list[Finding]:
        kind = document.kind
        obj = document.obj
        to_real: Callable[[Path], Path] = _identity
        if policy.match.kinds and kind not in policy.match.kinds:
            if not (policy.pod_policy and kind in WORKLOAD_KINDS):
                return []
            view = pod_view(obj)
            if view is None:
                return []
            obj, to_real = view.pod, view.real_path
        if not _namespace_matches(policy, document.namespace or "default"):
            return []
        params = self.params(policy)
        # Source-specific facts around the document (Terraform: the rest of its module).
        context = document.extra.get("context", {})
        data: dict[str, Any] = {
            "object": obj,
            "params": params,
            "item": obj,
            "path": "",
            "context": context,
        }
        if policy.match.condition is not None:
            try:
                if policy.match.condition.evaluate(data) is not True:
                    return []
            except CelError as error:
                return [self._error(policy, document, error, "match.condition")]
        subjects: Iterable[tuple[Path, Any]] = (
            (subject for pattern in policy.each for subject in expand(obj, pattern))
            if policy.each
            else [((), obj)]
        )
        findings = []
        for subject_path, item in subjects:
            data = {
                "object": obj,
                "params": params,
                "item": item,
                "path": format_path(subject_path),
                "context": context,
            }
            try:
                verdict = policy.rule.evaluate(data)
            except CelError as error:
                findings.append(self._error(policy, document, error, "rule", to_real(subject_path)))
                continue
            if verdict is True:
                continue
            if verdict is not False:
                wrong = CelError(f"rule returned {verdict!r}, not a bool")
                findings.append(self._error(policy, document, wrong, "rule", to_real(subject_path)))
                continue
            findings.append(
                self._violation(
                    policy, document, data, to_real((*subject_path, *policy.field_path))
                )
            )
        return findings

    def _violation(
        self, policy: Policy, document: Document, data: dict[str, Any], real_path: Path
    ) -> Finding:
        message = policy.message
        if policy.message_expression is not None:
            try:
                message = str(policy.message_expression.evaluate(data))
            except CelError as error:
                message = f"{policy.title} (messageExpression failed: {error})"
        else:
            message = render_message(message, data)
        location = document.locator.locate(real_path)
        return make_finding(policy, document, message, location, real_path)

    def _error(
        self, policy: Policy, document: Document, error: CelError, what: str, path: Path = ()
    ) -> Finding:
        """A rule that errs on a document is reported, never taken as a pass."""
        location = document.locator.locate(path)
        message = f"policy could not be evaluated ({what}): {error}"
        finding = make_finding(policy, document, message, location, path)
        return finding.with_(extra={"evaluation_error": True})

    def evaluate_repository(self, inventory: list[InventoryEntry]) -> list[Finding]:
        """Repository-scope policies: one evaluation per inventory entry.

        A rule sees `item` (the entry) and `inventory`: `{namespace: {kind: count},
        cluster: {kind: count}}` for the item's namespace and for objects with no namespace.
        Handing each evaluation only its namespace's counts keeps the cost linear in the
        repository size (CEL converts its inputs on every call, and caps iterations at 10,000).
        """
        if not self._repository:
            return []
        rows = [entry.as_cel() for entry in inventory]
        by_namespace, cluster = kind_counts(inventory)
        findings = []
        for policy in self._repository:
            params = self.params(policy)
            kinds = policy.match.kinds
            if policy.pod_policy:
                kinds = kinds | WORKLOAD_KINDS
            for entry, row in zip(inventory, rows, strict=True):
                if entry.source != policy.match.source and not (
                    policy.match.source == "kubernetes" and entry.source in ("helm", "kustomize")
                ):
                    continue
                if kinds and entry.kind not in kinds:
                    continue
                if not _namespace_matches(policy, row["namespace"]):
                    continue
                counts = {"namespace": by_namespace.get(row["namespace"], {}), "cluster": cluster}
                data = {
                    "object": row,
                    "item": row,
                    "params": params,
                    "inventory": counts,
                    "path": "",
                    "context": {},
                }
                try:
                    verdict = policy.rule.evaluate(data)
                    message = (
                        str(policy.message_expression.evaluate(data))
                        if policy.message_expression
                        else render_message(policy.message, data)
                    )
                except CelError as error:
                    verdict, message = False, f"policy could not be evaluated (rule): {error}"
                if verdict is True:
                    continue
                findings.append(
                    Finding(
                        policy_id=policy.id,
                        severity=policy.severity,
                        title=policy.title,
                        message=message,
                        file=entry.file,
                        line=entry.line,
                        path="metadata.namespace",
                        source=entry.source,
                        kind=entry.kind,
                        namespace=entry.namespace,
                        name=entry.name,
                        fingerprint=fingerprint(
                            policy.id, entry.source, entry.kind, entry.namespace, entry.name, ""
                        ),
                        remediation=policy.remediation,
                    )
                )
        return findings


def kind_counts(
    inventory: list[InventoryEntry],
) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
    """Kinds per namespace (no namespace counts as `default`), and kinds with no namespace."""
    by_namespace: dict[str, dict[str, int]] = defaultdict(dict)
    cluster: dict[str, int] = {}
    for entry in inventory:
        counts = by_namespace[entry.namespace or "default"]
        counts[entry.kind] = counts.get(entry.kind, 0) + 1
        if not entry.namespace:
            cluster[entry.kind] = cluster.get(entry.kind, 0) + 1
    return dict(by_namespace), cluster


def _namespace_matches(policy: Policy, namespace: str) -> bool:
    if policy.match.namespaces and namespace not in policy.match.namespaces:
        return False
    return namespace not in policy.match.exclude_namespaces


def _identity(path: Path) -> Path:
    return path


def make_finding(
    policy: Policy, document: Document, message: str, location: Location, real_path: Path
) -> Finding:
    return Finding(
        policy_id=policy.id,
        severity=policy.severity,
        title=policy.title,
        message=message,
        file=location.file,
        line=location.line,
        column=location.column,
        end_line=location.end_line,
        end_column=location.end_column,
        path=format_path(real_path),
        source=document.source,
        kind=document.kind,
        namespace=document.namespace,
        name=document.name,
        fingerprint=fingerprint(
            policy.id,
            document.source,
            document.kind,
            document.namespace,
            document.name,
            stable_path(document.obj, real_path),
        ),
        remediation=policy.remediation,
        fix=_fix(policy, real_path) if policy.fix else None,
        extra={"exact": location.exact},
    )


def _fix(policy: Policy, real_path: Path) -> dict[str, Any]:
    """The policy's structured fix with its paths made absolute (relative to the subject)."""
    assert policy.fix is not None
    subject = (
        real_path[: len(real_path) - len(policy.field_path)] if policy.field_path else real_path
    )
    return {"subject": format_path(subject), "set": dict(policy.fix["set"])}


def stable_path(obj: Any, path: Path) -> str:
    """A path where list items that have a `name` are named, not numbered: `containers[name=web]`.

    Fingerprints use it, so reordering containers or env entries does not make findings "new".
    """
    out: list[str] = []
    node = obj
    for key in path:
        value = get(node, (key,))
        if isinstance(key, int) and isinstance(value, dict) and isinstance(value.get("name"), str):
            out.append(f"[name={value['name']}]")
        else:
            out.append(format_path((key,)) if out or isinstance(key, int) else str(key))
        node = value
    return "".join(out)


def render_message(template: str, data: dict[str, Any]) -> str:
    """`{{ item.name }}`-style placeholders: a dotted path into object/item/params/path."""

    def replace(match: re.Match[str]) -> str:
        from gatekeeper.fieldpath import FieldPathError, parse

        try:
            pattern = parse(match.group(1))
        except FieldPathError:
            return match.group(0)
        if not pattern or not isinstance(pattern[0], str) or pattern[0] not in data:
            return match.group(0)
        value = get(data[pattern[0]], tuple(pattern[1:]))  # type: ignore[arg-type]
        if isinstance(value, list):
            return ", ".join(str(item) for item in value)
        return "" if value is None else str(value)

    return _PLACEHOLDER.sub(replace, template)
