"""ValidatingAdmissionPolicies run in the pull request, as the API server would run them.

A `ValidatingAdmissionPolicy` (admissionregistration.k8s.io/v1) acts through its
`ValidatingAdmissionPolicyBinding`s. For each object a scan loads, every binding whose policy
matches it (policy `matchConstraints` and binding `matchResources`: resource rules, exclusions,
namespace selector against the repository's `Namespace` objects, object selector) has its
policy's `matchConditions`, `variables` and `validations` evaluated with the variables
Kubernetes gives: `object`, `oldObject`, `request` (operation, kind, namespace, name,
`userInfo` from configuration), `namespaceObject`,
`params` (the `paramRef` object of the repository, each one a selector matches) and
`variables`. A failed validation is a finding at the object, or at the field when the
expression reads one field path. `validationActions` decide its weight: Deny blocks (high),
Warn and Audit inform (low, info). An expression that errs follows `failurePolicy` (Fail: a
finding; Ignore: nothing). Expressions that read `authorizer` need the cluster: reported as
not evaluable, never passed.

A plain scan creates every object (operation CREATE, `oldObject` null). In a pull request an
object the base revision has (same API group, kind, namespace and name) and the change alters
is an UPDATE of the base's object: immutable-field and no-scale-down rules work, and rules
whose `operations` leave UPDATE out do not apply (see `compare_with_base`). An object the
change leaves as it was is judged as the plain scan judges it, so its findings stay
"existing" rather than turning into "fixed" or "new" by the change of operation. The base's
version of an admission policy the change alters or removes judges the change as well: a
change cannot loosen the policies that judge it. An object the change removes is a DELETE
(a deployer that prunes deletes it), judged at its line in the base.

A workload is admitted, then its controller asks for its Pods: a policy that matches Pods
judges the Pod of each workload's template too (said at the template). Expressions are held
to the API server's cost limits (gatekeeper.admission_cost); past them `failurePolicy` applies.
"""

from __future__ import annotations

import contextlib
import json
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from gatekeeper import bugs, lazy_re
from gatekeeper.admission_scope import assign as assign_scopes
from gatekeeper.admission_scope import places_of, within
from gatekeeper.document import Document, Problem
from gatekeeper.evaluate import stable_path
from gatekeeper.fieldpath import Path, format_path, get
from gatekeeper.finding import Finding, fingerprint
from gatekeeper.problems import to_finding
from gatekeeper.workloads import pod_view
from gatekeeper.yamldoc import NodeLocator, YamlDocument

# The CEL engine and its cost model are imported where a policy is compiled or judged: a
# hook in a repository without admission policies (most) never loads them.
if TYPE_CHECKING:
    from gatekeeper.admission_cel import Expression

GROUP = "admissionregistration.k8s.io/"
POLICY_KIND = "ValidatingAdmissionPolicy"
BINDING_KIND = "ValidatingAdmissionPolicyBinding"
SEVERITY = {"Deny": "high", "Warn": "low", "Audit": "info"}
RENDERED = frozenset({"helm", "kustomize"})  # sources whose objects a tool renders
# `object` and the fields it selects, up to a method call (`.orValue(...)`, `.all(...)`)
_OBJECT_PATH = lazy_re.compile(r"(?<![\w.])object((?:\.\??[A-Za-z_][A-Za-z0-9_]*(?![\w(]))+)")
# kind -> resource, where adding "s" is wrong
# Kinds whose resource is not the English plural the rules below make (red team s25: an
# exported policy on `securitycontextconstraintses` matched no SCC in a cluster).
_IRREGULAR = {
    "Endpoints": "endpoints",
    "PodSecurityPolicy": "podsecuritypolicies",
    "SecurityContextConstraints": "securitycontextconstraints",  # OpenShift
    "AssignMetadata": "assignmetadata",  # Gatekeeper mutation
}


def resource_of(kind: str) -> str:
    """The plural resource name of a kind (`NetworkPolicy` -> `networkpolicies`)."""
    if kind in _IRREGULAR:
        return _IRREGULAR[kind]
    lower = kind.lower()
    if lower.endswith("y") and not lower.endswith(("ay", "ey", "oy", "uy")):
        return lower[:-1] + "ies"
    if lower.endswith(("s", "x", "ch", "sh")):
        return lower + "es"
    return lower + "s"


KYVERNO_GROUP = "policies.kyverno.io/"
KYVERNO_KIND = "ValidatingPolicy"


def is_admission_object(obj: Any) -> bool:
    return isinstance(obj, dict) and (
        (obj.get("kind") in (POLICY_KIND, BINDING_KIND) and _api(obj).startswith(GROUP))
        or is_kyverno_policy(obj)
    )


def is_kyverno_policy(obj: Any) -> bool:
    """Kyverno's CEL ValidatingPolicy: a ValidatingAdmissionPolicy with its binding inside
    (`spec.validationActions`)."""
    return (
        isinstance(obj, dict)
        and obj.get("kind") == KYVERNO_KIND
        and _api(obj).startswith(KYVERNO_GROUP)
    )


def _api(obj: dict[str, Any]) -> str:
    return str(obj.get("apiVersion", ""))


@dataclass
class Validation:
    """One validation of an admission policy: its CEL expression and its message."""

    expression: Expression
    message: str
    message_expression: Expression | None
    line: int


@dataclass
class Binding:
    """What binds an admission policy: the objects it matches, its params and actions."""

    name: str
    match: dict[str, Any] | None
    param_ref: dict[str, Any] | None
    actions: tuple[str, ...]
    spec: Any = None  # as written (a Kyverno policy's binding is the policy)
    file: str = ""
    scopes: tuple[str, ...] | None = None  # where its objects are (admission_scope); None: all


@dataclass
class AdmissionPolicy:
    """An admission policy of the repository, read for the objects it would refuse."""

    name: str
    file: str
    line: int
    constraints: dict[str, Any]
    conditions: list[tuple[str, Expression]]
    variables: list[tuple[str, Expression]]
    validations: list[Validation]
    param_kind: dict[str, Any] | None
    ignore_failures: bool
    bindings: list[Binding] = field(default_factory=list)
    spec: Any = None  # as written
    from_base: bool = False  # the base revision's version, which the change alters

    def written(self) -> str:
        """The policy and its bindings as written: equal when nothing changed."""
        bindings = sorted(_canonical(binding.spec) for binding in self.bindings)
        return _canonical([self.spec, bindings])

    @property
    def id(self) -> str:
        return f"VAP-{self.name}"


@dataclass
class Admission:
    """Every admission policy with its bindings, and the repository objects they read."""

    policies: list[AdmissionPolicy] = field(default_factory=list)
    namespaces: dict[str, dict[str, Any]] = field(default_factory=dict)
    objects: list[dict[str, Any]] = field(default_factory=list)  # params candidates
    problems: list[Problem] = field(default_factory=list)
    user_info: dict[str, Any] = field(default_factory=dict)
    kube_version: str = ""  # the API server version expressions were checked against
    # In a pull request: the base revision's objects by identity (None: everything is created)
    old: dict[Identity, dict[str, Any]] | None = None
    # and the base's bound policies that the change alters or removes: they judge it too
    trusted: list[AdmissionPolicy] = field(default_factory=list)
    _last_sized: tuple[Any, tuple[int, int]] | None = field(default=None, repr=False)
    # (id of a match, apiVersion, kind, operation) -> do its resource rules match
    _resource_verdicts: dict[tuple[int, str, str, str], bool] = field(
        default_factory=dict, repr=False
    )

    def __bool__(self) -> bool:
        return any(policy.bindings for policy in [*self.policies, *self.trusted])

    def evaluate(self, document: Document) -> list[Finding]:
        obj = document.obj
        if is_admission_object(obj):  # its own problems (an expression that does not compile)
            if get(obj, ("kind",)) == BINDING_KIND:  # its policy's, reported there, not here
                return []
            return [
                to_finding(problem)
                for problem in self.problems
                if problem.file == document.file
                and (get(obj, ("metadata", "name")) or "") in problem.message
            ]
        if not isinstance(obj, dict):
            return []
        findings, judged = self._admit(document, self.old_object(document))
        pods = _pods_of(document)
        if pods is not None:  # what its controller will ask the API server to admit
            findings += self._admit(pods, None, judged)[0]
        return findings

    def _admit(
        self,
        document: Document,
        old: dict[str, Any] | None,
        judged: frozenset[int] = frozenset(),
        operation: str = "",
    ) -> tuple[list[Finding], frozenset[int]]:
        """The findings of every binding that matches the object (bar those `judged`
        already), and those bindings."""
        obj = document.obj
        namespace = requested_namespace(document)
        operation = operation or ("CREATE" if old is None else "UPDATE")
        findings: list[Finding] = []
        matched = set(judged)
        admitted: tuple[Document, dict[str, Any] | None] | None = None
        # Whether the object is in a scope, per scope: bindings share a few (kyverno/policies:
        # 1,000 policies in 200 folders, asked of each of 8,000 objects, 55 of 112 s).
        places: tuple[str, ...] = ()
        scoped: dict[tuple[str, ...], bool] = {}
        for policy in [*self.policies, *self.trusted]:
            for binding in policy.bindings:
                if id(binding) in judged:
                    continue
                if binding.scopes is not None:
                    inside = scoped.get(binding.scopes)
                    if inside is None:
                        places = places or places_of(document)
                        inside = scoped[binding.scopes] = within(binding.scopes, places)
                    if not inside:
                        continue
                if not self._matches(policy.constraints, obj, namespace, operation):
                    continue
                if binding.match and not self._matches(binding.match, obj, namespace, operation):
                    continue
                matched.add(id(binding))
                admitted = admitted or _as_admitted(document, old)
                findings.extend(self._judge(policy, binding, *admitted, operation))
        return findings, frozenset(matched)

    def may_delete(self) -> bool:
        """Does a bound policy judge deletions (DELETE or every operation)?"""
        for policy in [*self.policies, *self.trusted]:
            matches = [policy.constraints, *(b.match or {} for b in policy.bindings)]
            for match in matches:
                for rule in match.get("resourceRules") or []:
                    if isinstance(rule, dict):
                        operations = rule.get("operations") or ["*"]
                        if "*" in operations or "DELETE" in operations:
                            return True
        return False

    def delete(self, document: Document) -> list[Finding]:
        """The findings of deleting the base revision's object `document`: `object` null,
        `oldObject` the object, at the object's line in the base."""
        deleting = replace(document, extra={**document.extra, _DELETED: True})
        return self._admit(deleting, document.obj, operation="DELETE")[0]

    def old_object(self, document: Document) -> dict[str, Any] | None:
        """The base revision's object a pull request changes into `document` (None: created,
        or left as it was)."""
        if self.old is None or not isinstance(document.obj, dict):
            return None
        variant = str(document.extra.get("variant") or "")
        old = self.old.get(identity(document.obj, document.namespace, variant))
        if old is None and variant:
            old = self.old.get(identity(document.obj, document.namespace))
        return None if old == document.obj else old

    # --- matching --------------------------------------------------------------------------

    def _matches(
        self, match: dict[str, Any], obj: dict[str, Any], namespace: str, operation: str
    ) -> bool:
        if not self._resources_match(match, obj, operation):
            return False
        selector = match.get("objectSelector")
        if selector and not _selected(selector, _labels(obj)):
            return False
        selector = match.get("namespaceSelector")
        if selector and (namespace or obj.get("kind") == "Namespace"):
            name = namespace or str(get(obj, ("metadata", "name")) or "")
            namespace_object = self.namespaces.get(name, {})
            labels = {**_labels(namespace_object), "kubernetes.io/metadata.name": name}
            if not _selected(selector, labels):
                return False
        return True

    def _resources_match(self, match: dict[str, Any], obj: dict[str, Any], operation: str) -> bool:
        """resourceRules and excludeResourceRules; the same for every object of one API
        version and kind unless a rule names resources, so remembered per kind."""
        key = (id(match), str(obj.get("apiVersion")), str(obj.get("kind")), operation)
        known = self._resource_verdicts.get(key)
        if known is not None:
            return known
        rules = match.get("resourceRules")
        excluded = match.get("excludeResourceRules")
        verdict = not (
            isinstance(rules, list) and not any(_rule_matches(r, obj, operation) for r in rules)
        ) and not (
            isinstance(excluded, list) and any(_rule_matches(r, obj, operation) for r in excluded)
        )
        named = any(
            isinstance(rule, dict) and rule.get("resourceNames")
            for rule in [*(rules or []), *(excluded or [])]
        )
        if not named:
            self._resource_verdicts[key] = verdict
        return verdict

    # --- evaluation ------------------------------------------------------------------------

    def _judge(
        self,
        policy: AdmissionPolicy,
        binding: Binding,
        document: Document,
        old: dict[str, Any] | None,
        operation: str,
    ) -> list[Finding]:
        params_list: list[Any] = [None]
        if policy.param_kind:
            params_list = self._params(policy, binding, requested_namespace(document) or "default")
            if not params_list:
                action = str((binding.param_ref or {}).get("parameterNotFoundAction") or "Deny")
                if action == "Allow":
                    return []
                kind = policy.param_kind.get("kind")
                message = f"no {kind} parameters found for binding {binding.name}"
                return [self._finding(policy, binding, document, message, ())]
        findings = []
        for params in params_list:
            findings.extend(self._judge_with(policy, binding, document, params, old, operation))
        return findings

    def _judge_with(
        self,
        policy: AdmissionPolicy,
        binding: Binding,
        document: Document,
        params: Any,
        old: dict[str, Any] | None,
        operation: str,
    ) -> list[Finding]:
        from gatekeeper import admission_cost as cost
        from gatekeeper.admission_cel import AdmissionError, NotEvaluable, OverBudget

        obj = document.obj
        namespace = requested_namespace(document)
        data: dict[str, Any] = {
            "object": None if operation == "DELETE" else obj,
            "oldObject": old,
            "params": params,
            "namespaceObject": self.namespaces.get(namespace) if namespace else None,
            "request": {
                "operation": operation,
                "kind": _gvk(obj),
                "resource": {**_gvk(obj), "resource": resource_of(str(obj.get("kind", "")))},
                "name": str(get(obj, ("metadata", "name")) or ""),
                "namespace": namespace,
                "userInfo": document.extra.get(_CREATOR) or self.user_info,
                "dryRun": False,
            },
            "variables": {},
        }
        sizes = self._sizes(obj, old, params, data["namespaceObject"])
        conditions = _Budget(cost.PER_MATCH_CONDITIONS, "matchConditions", sizes)
        budget = _Budget(cost.PER_EVALUATION, "the policy", sizes)
        current = ""  # the expression being evaluated: an error is said at what it reads
        try:
            for _, condition in policy.conditions:
                current = condition.source
                if conditions.evaluate(condition, data) is not True:
                    return []
            variables: dict[str, Any] = {}
            for name, expression in policy.variables:
                current = expression.source
                data["variables"] = dict(variables)
                variables[name] = budget.evaluate(expression, data)
            data["variables"] = variables
        except NotEvaluable as error:
            return [self._not_evaluable(policy, binding, document, str(error))]
        except AdmissionError as error:
            if policy.ignore_failures:
                return []
            message = f"admission policy {policy.name} could not be evaluated: {error}"
            return [self._finding(policy, binding, document, message, _field_read(current))]
        findings = []
        for validation in policy.validations:
            try:
                passed = budget.evaluate(validation.expression, data) is True
            except NotEvaluable as error:
                findings.append(self._not_evaluable(policy, binding, document, str(error)))
                continue
            except AdmissionError as error:
                if not policy.ignore_failures:
                    message = f"{validation.expression.source}: could not be evaluated: {error}"
                    path = _field_read(validation.expression.source)
                    findings.append(self._finding(policy, binding, document, message, path))
                if isinstance(error, OverBudget):
                    break  # as the API server: no further validation is run
                continue
            if passed:
                continue
            message = validation.message
            if validation.message_expression is not None:
                try:
                    rendered = validation.message_expression.evaluate(data)
                    message = str(rendered) if str(rendered).strip() else message
                except AdmissionError:
                    pass
            message = message or f"failed expression: {validation.expression.source}"
            path = _field_read(validation.expression.source)
            findings.append(
                self._finding(policy, binding, document, message, path, rule=validation.line)
            )
        return findings

    def _sizes(self, obj: Any, *others: Any) -> tuple[int, int]:
        """cost.sizes of an evaluation's data; the object's are kept while it is judged by
        one policy after another."""
        from gatekeeper import admission_cost as cost

        if self._last_sized is None or self._last_sized[0] is not obj:
            self._last_sized = (obj, cost.sizes(obj))
        lists, strings = cost.sizes(*others)
        return max(lists, self._last_sized[1][0]), max(strings, self._last_sized[1][1])

    def _params(self, policy: AdmissionPolicy, binding: Binding, namespace: str) -> list[Any]:
        """The parameter objects of one evaluation. A namespaced parameter kind without
        `paramRef.namespace` is looked up in the namespace of the object judged."""
        kind = policy.param_kind or {}
        ref = binding.param_ref or {}
        candidates = [
            candidate
            for candidate in self.objects
            if candidate.get("kind") == kind.get("kind")
            and (
                not kind.get("apiVersion") or candidate.get("apiVersion") == kind.get("apiVersion")
            )
        ]
        namespaced = any(get(c, ("metadata", "namespace")) for c in candidates)
        where = ref.get("namespace") or (namespace if namespaced else None)
        found = []
        for candidate in candidates:
            metadata = _mapping(candidate.get("metadata"))
            if where and metadata.get("namespace") != where:
                continue
            if ref.get("name"):
                if metadata.get("name") == ref["name"]:
                    found.append(candidate)
            elif isinstance(ref.get("selector"), dict) and _selected(
                ref["selector"], _labels(candidate)
            ):
                found.append(candidate)
        return found

    def _not_evaluable(
        self, policy: AdmissionPolicy, binding: Binding, document: Document, reason: str
    ) -> Finding:
        message = f"admission policy {policy.name} is not evaluated here: {reason}"
        return self._finding(policy, binding, document, message, (), severity="low")

    def _finding(
        self,
        policy: AdmissionPolicy,
        binding: Binding,
        document: Document,
        message: str,
        path: Path,
        severity: str = "",
        rule: int = 0,
    ) -> Finding:
        actions = binding.actions or ("Deny",)
        weight = severity or next(
            (SEVERITY[a] for a in ("Deny", "Warn", "Audit") if a in actions), "high"
        )
        template: Path | None = document.extra.get(_TEMPLATE)
        if document.extra.get(_DELETED):
            message = (
                f"{message} (deleting {document.kind} {document.name}, which the change removes)"
            )
        if template is not None:  # a Pod its controller creates: at the pod template
            path = (*template, *path) if path[:1] in (("metadata",), ("spec",)) else path
            document = replace(document, obj=document.extra[_WORKLOAD])
            message = f"{message} (in the Pods that {document.kind} {document.name} creates)"
        location = document.locator.locate(path)
        return Finding(
            policy_id=policy.id,
            severity=weight,
            title=f"ValidatingAdmissionPolicy {policy.name}",
            message=message,
            file=location.file,
            line=location.line,
            column=location.column,
            path=format_path(path),
            source=document.source,
            kind=document.kind,
            namespace=document.namespace,
            name=document.name,
            fingerprint=fingerprint(
                policy.id,
                binding.name,
                document.source,
                document.kind,
                document.namespace,
                document.name,
                stable_path(document.obj, path),
                message,
            ),
            remediation=(
                f"Make the object pass {policy.name} (bound by {binding.name}, actions "
                f"{', '.join(actions)}): the API server will "
                + ("reject it" if "Deny" in actions else "warn about it")
                + (
                    ". This is the base revision's version of the policy, which this change "
                    "alters: a change is judged by the policies it starts from; change the "
                    "policy first, on its own"
                    if policy.from_base
                    else ""
                )
            ),
            # where the policy (the failing validation, if one) is written
            extra={
                "exact": location.exact,
                "admission_policy": f"{policy.file}:{rule or policy.line}",
                # the base's version of a policy the change alters: it judges the change too
                **({"admission_policy_revision": "base"} if policy.from_base else {}),
                # the overlay or release it was judged in: one finding for all (merge_variants)
                **({"variants": [variant]} if (variant := document.extra.get("variant")) else {}),
            },
        )


@dataclass
class _Budget:
    """The API server's runtime cost limits: per expression, and over one evaluation of a
    policy (its matchConditions have their own), estimated by gatekeeper.admission_cost.

    An expression whose ceiling (from the longest list and string of the data) is within
    the limits is charged its ceiling without walking the data; should the ceilings charged
    add up past the budget, they are replaced by estimates before anything is reported."""

    limit: int
    what: str
    sizes: tuple[int, int] = (0, 0)  # the longest list and string of the data but variables
    spent: int = 0
    bounded: list[tuple[Expression, int]] = field(default_factory=list)

    def evaluate(self, expression: Expression, data: dict[str, Any]) -> Any:
        if expression.costly:
            self._charge(expression, data)
        return expression.evaluate(data)

    def _charge(self, expression: Expression, data: dict[str, Any]) -> None:
        from gatekeeper import admission_cost as cost
        from gatekeeper.admission_cel import AdmissionError, OverBudget

        lists, strings = cost.sizes(data.get("variables"))
        bound = expression.ceiling(max(lists, self.sizes[0]), max(strings, self.sizes[1]))
        if bound is not None and bound <= cost.PER_EXPRESSION and self.spent + bound <= self.limit:
            self.spent += bound
            self.bounded.append((expression, bound))
            return
        charged = expression.cost(data)
        if charged > cost.PER_EXPRESSION:
            raise AdmissionError(
                "operation cancelled: actual cost limit exceeded (estimated cost over "
                f"the API server's {cost.PER_EXPRESSION:,} per expression)"
            )
        self.spent += charged
        if self.spent > self.limit and self.bounded:
            self.spent += sum(e.cost(data) - bound for e, bound in self.bounded)
            self.bounded.clear()
        if self.spent > self.limit:
            raise OverBudget(
                f"validation failed due to running out of cost budget (estimated cost of "
                f"{self.what} over the API server's {self.limit:,}), no further "
                "validation rules will be run"
            )


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


# Who creates the Pods of each workload kind (kube-controller-manager's service accounts).
POD_CREATORS = {
    "Deployment": "replicaset-controller",
    "ReplicaSet": "replicaset-controller",
    "StatefulSet": "statefulset-controller",
    "DaemonSet": "daemon-set-controller",
    "Job": "job-controller",
    "CronJob": "job-controller",
    "ReplicationController": "replication-controller",
}
_TEMPLATE, _WORKLOAD, _CREATOR = "admission_pod_template", "admission_workload", "admission_user"
_DELETED = "admission_deleted"


def _as_admitted(
    document: Document, old: dict[str, Any] | None
) -> tuple[Document, dict[str, Any] | None]:
    """The object and the stored old one as the API server has them when policies run:
    defaulted and mutated (gatekeeper.apiserver_defaults); located as written."""
    from gatekeeper.apiserver_defaults import admitted

    namespace = requested_namespace(document)
    new = admitted(document.obj, namespace) if not document.extra.get(_DELETED) else None
    return (
        document if new is None else replace(document, obj=new),
        None if old is None else admitted(old, namespace),
    )


def requested_namespace(document: Document) -> str:
    """The namespace of the API request that creates the object: its deployer's, but none
    for a cluster-wide object (deployer_scope.cluster_wide), which a deployer's namespace
    (`helm -n X`, an Argo CD destination, a Flux targetNamespace) does not reach. A namespace
    selector never skips a policy for such an object (the API server's rule: "if the object
    is another cluster scoped resource, it never skips the policy"): placed in X, a chart's
    ClusterRoleBinding to cluster-admin escaped a policy leaving X out."""
    from gatekeeper.deployer_scope import cluster_wide

    return "" if document.namespace and cluster_wide(document.obj) else document.namespace


def _pods_of(document: Document) -> Document | None:
    """The Pod a workload's controller creates from its template, as a document the API
    server is asked to admit (CREATE, by the controller's service account); None for an
    object that creates no Pods."""
    creator = POD_CREATORS.get(document.kind)
    view = pod_view(document.obj) if creator else None
    if view is None:
        return None
    account = f"system:serviceaccount:kube-system:{creator}"
    groups = ["system:serviceaccounts", "system:serviceaccounts:kube-system"]
    user = {"username": account, "groups": [*groups, "system:authenticated"]}
    extra = {_TEMPLATE: view.template_path, _WORKLOAD: document.obj, _CREATOR: user}
    return replace(document, obj=view.pod, extra={**document.extra, **extra})


# (variant, API group, kind, namespace, name): the same object in two revisions
Identity = tuple[str, str, str, str, str]


def identity(obj: dict[str, Any], namespace: str = "", variant: str = "") -> Identity:
    """An object's identity as the API server keys it; no namespace is `default` (where
    `kubectl apply` puts a namespaced object without one)."""
    metadata = _mapping(obj.get("metadata"))
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    namespace = namespace or str(metadata.get("namespace") or "") or "default"
    return (variant, group, str(obj.get("kind", "")), namespace, str(metadata.get("name") or ""))


def _gvk(obj: dict[str, Any]) -> dict[str, str]:
    group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
    return {"group": group, "version": version, "kind": str(obj.get("kind", ""))}


def _labels(obj: Any) -> dict[str, str]:
    labels = get(obj, ("metadata", "labels")) if isinstance(obj, dict) else None
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def label_selected(selector: Any, labels: Mapping[str, str]) -> bool:
    """Does a Kubernetes label selector (matchLabels, matchExpressions) select `labels`?
    None (or no selector) selects all."""
    return _selected(selector, labels)


def _selected(selector: Any, labels: Mapping[str, str]) -> bool:
    """A Kubernetes label selector (matchLabels and matchExpressions); none selects all."""
    if not isinstance(selector, dict):
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(str(key)) != str(value):
            return False
    for expression in selector.get("matchExpressions") or []:
        if not isinstance(expression, dict):
            continue
        key, operator = str(expression.get("key")), expression.get("operator")
        values = [str(v) for v in expression.get("values") or []]
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def _rule_matches(rule: Any, obj: dict[str, Any], operation: str) -> bool:
    if not isinstance(rule, dict):
        return False
    gvk = _gvk(obj)
    operations = rule.get("operations") or ["*"]
    if "*" not in operations and operation not in operations:
        return False

    def allows(key: str, value: str) -> bool:
        listed = rule.get(key)
        return listed is None or "*" in listed or value in listed

    # an object is created or updated through its resource, never a subresource
    # (`pods/ephemeralcontainers`, `deployments/scale`); `*/*` is every resource and more
    resources = [str(r) for r in rule.get("resources") or []]
    resource = resource_of(gvk["kind"])
    return (
        allows("apiGroups", gvk["group"])
        and allows("apiVersions", gvk["version"])
        and ("*" in resources or "*/*" in resources or resource in resources)
        and (
            not rule.get("resourceNames")
            or str(get(obj, ("metadata", "name"))) in rule["resourceNames"]
        )
    )


def _field_read(source: str) -> Path:
    """The one field path of `object` an expression reads, if it reads exactly one."""
    paths = {
        tuple(part.lstrip("?") for part in match.group(1).split(".") if part)
        for match in _OBJECT_PATH.finditer(source)
    }
    if len(paths) != 1:
        return ()
    path: Path = paths.pop()
    return path


def build(
    documents: Iterable[tuple[str, YamlDocument]],
    user_info: dict[str, Any] | None = None,
    kube_version: str = "",
) -> Admission:
    """The admission policies, bindings, Namespaces and parameter objects among `documents`;
    with `kube_version`, an expression that the API server of that version cannot compile is a
    problem, as it would reject the policy."""
    admission = Admission(user_info=user_info or {"username": "gatekeeper", "groups": []})
    admission.kube_version = kube_version
    bindings: list[tuple[dict[str, Any], Binding]] = []
    for file, document in documents:
        obj = document.obj
        if not isinstance(obj, dict):
            continue
        kind = obj.get("kind")
        if kind == "Namespace":
            admission.namespaces[str(get(obj, ("metadata", "name")) or "")] = obj
        if is_kyverno_policy(obj):
            compiled = _compile(file, document, admission.problems, kube_version, kyverno=True)
            if compiled is not None:
                spec = _mapping(obj.get("spec"))
                actions = tuple(str(a) for a in spec.get("validationActions") or ["Deny"])
                compiled.bindings.append(Binding(compiled.name, None, None, actions, file=file))
                admission.policies.append(compiled)
        elif is_admission_object(obj) and kind == POLICY_KIND:
            compiled = _compile(file, document, admission.problems, kube_version)
            if compiled is not None:
                admission.policies.append(compiled)
        elif is_admission_object(obj) and kind == BINDING_KIND:
            spec = _mapping(obj.get("spec"))
            actions = tuple(str(a) for a in spec.get("validationActions") or ["Deny"])
            binding = Binding(
                str(get(obj, ("metadata", "name")) or ""),
                spec.get("matchResources")
                if isinstance(spec.get("matchResources"), dict)
                else None,
                spec.get("paramRef") if isinstance(spec.get("paramRef"), dict) else None,
                actions,
                spec,
                file,
            )
            bindings.append((spec, binding))
        else:
            admission.objects.append(obj)
    by_name = {policy.name: policy for policy in admission.policies}
    for spec, binding in bindings:
        policy = by_name.get(str(spec.get("policyName") or ""))
        if policy is not None:
            policy.bindings.append(binding)
    return admission


def _compile(
    file: str,
    document: YamlDocument,
    problems: list[Problem],
    kube_version: str = "",
    kyverno: bool = False,
) -> AdmissionPolicy | None:
    from gatekeeper import admission_cel
    from gatekeeper.admission_cel import AdmissionError, Expression

    obj = document.obj
    locator = NodeLocator(file, document.node)
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}

    def compiled(source: Any, *where: str | int) -> Expression | None:
        try:
            missing = None if kyverno else admission_cel.unavailable(str(source), kube_version)
            if missing is not None:
                what, added = missing
                raise AdmissionError(
                    f"it uses {what}, which the API server has since Kubernetes {added}, not "
                    f"in {kube_version} (admission.kubeVersion): it would reject the policy"
                )
            return Expression(str(source), kyverno)
        except AdmissionError as error:
            line = locator.locate(("spec", *where)).line
            name = get(obj, ("metadata", "name")) or ""
            if kyverno:  # most likely one of Kyverno's own libraries: it needs Kyverno
                message = (
                    f"ValidatingPolicy {name}: expression not evaluable here (Kyverno's "
                    f"own CEL libraries are not available): {error}"
                )
                problems.append(Problem("GK-NOT-EXPANDED", file, line, message))
            else:
                message = f"ValidatingAdmissionPolicy {name}: invalid CEL: {error}"
                problems.append(Problem("GK-PARSE-ERROR", file, line, message))
            return None

    def entries(key: str) -> list[tuple[int, dict[str, Any]]]:
        value = spec.get(key)
        return [
            (i, e)
            for i, e in enumerate(value if isinstance(value, list) else [])
            if isinstance(e, dict)
        ]

    conditions = [
        (str(e.get("name")), c)
        for i, e in entries("matchConditions")
        if (c := compiled(e.get("expression"), "matchConditions", i, "expression")) is not None
    ]
    variables = [
        (str(e.get("name")), c)
        for i, e in entries("variables")
        if (c := compiled(e.get("expression"), "variables", i, "expression")) is not None
    ]
    validations = []
    for i, entry in entries("validations"):
        expression = compiled(entry.get("expression"), "validations", i, "expression")
        if expression is None:
            continue
        message_expression = (
            compiled(entry["messageExpression"], "validations", i, "messageExpression")
            if entry.get("messageExpression")
            else None
        )
        validations.append(
            Validation(
                expression,
                str(entry.get("message") or ""),
                message_expression,
                locator.locate(("spec", "validations", i)).line,
            )
        )
    constraints = spec.get("matchConstraints")
    return AdmissionPolicy(
        name=str(get(obj, ("metadata", "name")) or ""),
        file=file,
        line=locator.locate(()).line,
        constraints=constraints if isinstance(constraints, dict) else {},
        conditions=conditions,
        variables=variables,
        validations=validations,
        param_kind=spec.get("paramKind") if isinstance(spec.get("paramKind"), dict) else None,
        ignore_failures=spec.get("failurePolicy") == "Ignore",
        spec=spec,
    )


def documents_in(roots: Iterable[Any]) -> list[tuple[str, YamlDocument]]:
    """The admission policies, bindings and their parameter objects in policy directories."""
    from gatekeeper.policy.loader import is_admission_file, policy_files

    return documents_of(
        (file, file.read_bytes())
        for root in roots
        for file in policy_files(root)
        if is_admission_file(file)
    )


def documents_of(files: Iterable[tuple[Any, bytes]]) -> list[tuple[str, YamlDocument]]:
    """documents_in of the admission policy files found already (policy.loader.load_bundle
    gives them): (path, bytes) each."""
    from gatekeeper.yamldoc import decode, load_all

    found: list[tuple[str, YamlDocument]] = []
    for file, data in files:
        name = str(file)
        for entry in load_all(name, decode(data)):
            if isinstance(entry, YamlDocument):
                found.append((name, entry))
    return found


_BY_TREE: weakref.WeakKeyDictionary[Any, tuple[tuple[Any, ...], Admission]] = (
    weakref.WeakKeyDictionary()
)


def for_tree(
    tree: Any,
    extra: tuple[tuple[str, YamlDocument], ...] = (),
    user_info: dict[str, Any] | None = None,
    kube_version: str = "",
) -> Admission:
    """discover(), once per tree and set of policy-directory documents; `user_info` is the
    requester the policies see (`request.userInfo`: `admission.userInfo` in .gatekeeper.yml,
    the deployer's identity), `kube_version` the API server's (`admission.kubeVersion`)."""
    try:
        cached = _BY_TREE.get(tree)
    except TypeError:  # a tree that cannot be weakly referenced
        cached = None
    if (
        cached is not None
        and cached[0] is extra
        and (cached[1].kube_version == kube_version or not cached[1].policies)
    ):
        found = cached[1]
    else:
        found = discover(tree, extra, kube_version)
        with contextlib.suppress(TypeError):
            _BY_TREE[tree] = (extra, found)
    if user_info:
        found.user_info = user_info
    return found


def assume_none(tree: Any, extra: tuple[tuple[str, YamlDocument], ...] = ()) -> None:
    """Record that `tree` holds no admission policy, for a caller that knows from parsing
    every file of it (a pull request's revisions, through the blob cache): for_tree then
    need not search it."""
    with contextlib.suppress(TypeError):  # a tree that cannot be weakly referenced
        _BY_TREE[tree] = (extra, Admission())


def discover(
    tree: Any, extra: Iterable[tuple[str, YamlDocument]] = (), kube_version: str = ""
) -> Admission:
    """The admission policies of the policy directories (`extra`) and of the repository, with
    the repository's Namespaces and parameter objects. Reads the repository's YAML only when
    it or the policy directories hold an admission policy."""
    documents = list(extra)
    if not documents and _none_on_disk(tree):
        return Admission()
    files = _yaml_files(tree)
    has_policy = any(is_admission_object(d.obj) for _, d in documents) or any(
        names_policy(data) for _, data in files
    )
    if not has_policy:
        return Admission()
    trusted = build(list(extra), kube_version=kube_version)
    if trusted.problems:  # a policy directory's admission policy does not compile
        from gatekeeper.errors import PolicyError

        problem = trusted.problems[0]
        raise PolicyError(problem.message, problem.file, problem.line)
    admission = build([*documents, *_objects_in(files)], kube_version=kube_version)
    assign_scopes(admission, {file for file, _ in documents})
    return admission


def _yaml_files(tree: Any) -> list[tuple[str, bytes]]:
    """Every YAML and JSON file of the tree, with its content."""
    try:
        listing = tree.list_dir(".")
    except OSError:
        listing = []
    files = []
    for name in listing:
        if not name.lower().endswith((".yaml", ".yml", ".json")):
            continue
        try:
            files.append((name, tree.read(name)))
        except OSError:
            continue
    return files


def _objects_in(files: Iterable[tuple[str, bytes]]) -> list[tuple[str, YamlDocument]]:
    """The mappings the files hold, as written (not rendered)."""
    from gatekeeper.yamldoc import decode, load_all

    found = []
    for name, data in files:
        if b"kind" not in data:
            continue
        try:
            text = decode(data)
        except UnicodeDecodeError:
            continue
        for entry in load_all(name, text):
            if isinstance(entry, YamlDocument) and isinstance(entry.obj, dict):
                found.append((name, entry))
    return found


def compare_with_base(
    head_context: Any,
    extra: tuple[tuple[str, YamlDocument], ...],
    base_context: Any,
    base_paths: Iterable[str],
    head_paths: Iterable[str],
    kube_version: str = "",
) -> list[Finding]:
    """Make a pull request's head an update of its base: the head's admission policies see
    each object the base revision has as an UPDATE with that object as `oldObject`, and
    judge each object the change removes as a DELETE (the findings returned: a deployer
    that prunes deletes it).

    The base objects are every object written in the base tree (wherever it moved from) and
    every object the base renders from `base_paths` (charts and overlays the change feeds).
    Nothing is read when the head has no bound admission policy."""
    head = for_tree(head_context.tree, extra, kube_version=kube_version)
    base = for_tree(base_context.tree, extra, kube_version=kube_version)
    unchanged = {(policy.name, policy.written()) for policy in head.policies}
    head.trusted = [
        replace(policy, from_base=True)
        for policy in base.policies
        if policy.bindings and (policy.name, policy.written()) not in unchanged
    ]
    if not head:
        return []
    old: dict[Identity, dict[str, Any]] = {}
    # what the base scan's discovery read already, when the base had admission policies
    written = base.objects or [
        document.obj
        for _, document in _objects_in(_yaml_files(base_context.tree))
        if not is_admission_object(document.obj)
    ]
    for obj in written:
        if obj.get("kind"):
            old.setdefault(identity(obj), obj)
    base_paths = list(base_paths)
    rendered = _rendered(base_context, base_paths)
    for document in rendered:
        variant = str(document.extra.get("variant") or "")
        old[identity(document.obj, document.namespace, variant)] = document.obj
        # an object moved out of its chart or overlay is still the same object
        old.setdefault(identity(document.obj, document.namespace), document.obj)
    head.old = old
    if not head.may_delete():
        return []
    kept = {identity(obj) for obj in head.objects if obj.get("kind")}
    kept |= {identity(d.obj, d.namespace) for d in _rendered(head_context, list(head_paths))}
    findings = []
    for document in [*_written_in(base_context, base_paths), *rendered]:
        key = identity(document.obj, document.namespace)
        if key not in kept:
            kept.add(key)  # one deletion per object, however many renderings had it
            findings += head.delete(document)
    return findings


def _rendered(context: Any, paths: list[str]) -> list[Document]:
    """The objects the charts and overlays among `paths` render."""
    from gatekeeper import sources

    adapters = sources.adapters()
    found = []
    for path in paths:
        adapter = sources.adapter_for(path, adapters)
        if adapter is None or adapter.NAME not in RENDERED:  # plain manifests: read apart
            continue
        try:
            loaded = adapter.load(path, context.tree.read(path), context)
        except Exception:  # the scan of that revision reports what is wrong with the file
            if bugs.strict():
                raise
            continue
        found += [d for d in loaded.documents if isinstance(d.obj, dict) and d.source in RENDERED]
    return found


def _written_in(context: Any, paths: list[str]) -> list[Document]:
    """The Kubernetes objects written in `paths` of the context's tree that a deployer applies
    as written (not a chart's template nor an overlay's base), with their lines."""
    from gatekeeper.sources import kubernetes

    found = []
    for path in paths:
        if not kubernetes.detect(path):
            continue
        try:
            loaded = kubernetes.load(path, context.tree.read(path), context)
        except Exception:  # the scan of that revision reports what is wrong with the file
            if bugs.strict():
                raise
            continue
        found += [
            d
            for d in loaded.documents
            if isinstance(d.obj, dict) and d.obj.get("kind") and not is_admission_object(d.obj)
        ]
    return found


def _none_on_disk(tree: Any) -> bool:
    """No file of the tree names an admission policy, by one `git grep` (of the work tree, or
    of a pull request's revision), so a scan does not read the whole repository for nothing."""
    from gatekeeper.spelling import git_grep

    words = ("ValidatingAdmissionPolicy", "ValidatingPolicy")
    return git_grep(tree, words, (".yaml", ".yml", ".json")) == []


def names_policy(data: bytes) -> bool:
    """Might these bytes hold an admission policy (ours to evaluate)?"""
    return (b"admissionregistration.k8s.io/" in data and b"ValidatingAdmissionPolicy" in data) or (
        b"policies.kyverno.io/" in data and b"ValidatingPolicy" in data
    )
