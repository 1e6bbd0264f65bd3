"""Rules x documents -> findings."""

from __future__ import annotations

import functools
import hashlib
import json
import marshal
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from sys import intern
from typing import Any, NamedTuple, TypeVar

from gatekeeper import kept_judgements, lazy_re, rbac_reach
from gatekeeper.document import Document, Location, Locator, Problem
from gatekeeper.fieldpath import FieldPathError, Path, Pattern, expand, format_path, get, parse
from gatekeeper.finding import Finding, compacted, fingerprint, shared
from gatekeeper.inventory import InventoryEntry
from gatekeeper.kinds import matched_kind
from gatekeeper.kubeschema import ShapeError, schema_version, shape_errors
from gatekeeper.policy.cel import (
    Batch,
    CelError,
    activation,
    judged_with_message,
    literal,
    passed_or_verdicts,
)
from gatekeeper.policy.model import PLACEHOLDER, Policy
from gatekeeper.problems import to_finding
from gatekeeper.rbac_reach import ROLE_POLICIES
from gatekeeper.workloads import WORKLOAD_KINDS, PodView, pod_views, runs_pods, without_nulls
from gatekeeper.yamldoc import NodeLocator
from gatekeeper.yamlevents import shared_parts

# Sources whose documents are Kubernetes objects produced by a tool (Helm, Kustomize).
RENDERED_KUBERNETES = frozenset({"helm", "kustomize"})
# Sources whose documents are Kubernetes objects, where a null field means unset.
KUBERNETES_SOURCES = frozenset({"kubernetes", "helm", "kustomize", "gitops"})
# CEL errors that mean a value of the wrong type, not a policy bug.
_TYPE_ERROR = lazy_re.compile(r"No matching overloads|non-message type|type conversion error")
# How a Terraform value known only at apply is written (sources/terraform.py, README).
_UNKNOWN_PREFIX = "${"
# GK-SCHEMA findings per document: past a few, the file is not a manifest of that kind.
MAX_SHAPE_FINDINGS = 10
# Rendered objects whose findings are kept for their copies (Engine.evaluate): the copies of
# a base's object come from overlays that sit near each other, scanned one after another;
# keeping every object's findings until the end held a worker's share of them all.
JUDGED_KEPT = 256
# Judgements kept for documents equal to one judged before (Engine._evaluate): a policy
# library's test fixtures, an example copied into several folders, a chart's objects in
# every release repeat whole, and judging is most of evaluation's cost.
JUDGEMENTS_KEPT = 4096

T = TypeVar("T")


@dataclass
class Engine:
    """Policies indexed by source and kind, with their effective parameters."""

    policies: list[Policy]
    param_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    # ValidatingAdmissionPolicies (gatekeeper.admission): those of the policy directories as
    # documents, and once a scan knows its tree, the compiled set with the repository's own.
    admission_documents: tuple[Any, ...] = ()
    admission: Any = None
    # `request.userInfo` of admission policies: the deployer (`admission.userInfo` in config).
    admission_user_info: dict[str, Any] = field(default_factory=dict)
    admission_kube_version: str = ""  # the API server's: the CEL libraries it has
    # A pull request's: findings record the image repositories they run (image_identity).
    record_images: bool = False
    # The policy bundle's key (policycache), when the policies are a loaded bundle's: with
    # it a hook keeps judgements between runs (gatekeeper.kept_judgements).
    bundle_key: str | None = None

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
        self._groups: dict[tuple[str, str], _Group] = {}
        self._wrapper_cache: dict[str, tuple[str, str] | None] = {}
        self._batch_programs: dict[tuple[tuple[str | None, str], ...], Batch] = {}
        self._memos: dict[str, tuple[dict[Any, Any] | None, tuple[str, ...] | None]] = {}
        # Rendered copies judged: key -> (variant, (path, location) asked, findings).
        self._judged: dict[tuple[Any, ...], tuple[str, list[tuple[Path, Location]], list[Finding]]]
        self._judged = {}
        self._judged_admission: Any = None
        self._judgements: dict[tuple[Any, ...], _Judgement] = {}
        self._kept_under: str | bool | None = False  # kept_judgements.engine_key, asked once
        self._policies_by_id: dict[str, Policy] | None = None
        # Policies whose findings ask for a review of the field's content (content_identity).
        self.reviewed_content = frozenset(
            p.id for p in self.policies if p.raw.get("reviewContent") is True
        )
        # Repository-scope policies, and Pod Security findings (which read the repository's
        # Namespace labels: gatekeeper.pss_admission), need every object's summary.
        # So do the role policies said at a binding of the role (gatekeeper.rbac_reach).
        self._needs_inventory = (
            bool(self._repository)
            or any(
                str(tag).startswith("pss-")
                for p in self.policies
                for tag in p.raw.get("tags") or ()
            )
            or any(p.id in ROLE_POLICIES for p in self.policies)
            # admission_weakened compares the admission objects' summaries with the base's
            or any(p.id == "K8S-ADMISSION-POLICY-EXCEPTION" for p in self.policies)
        )

    def params(self, policy: Policy) -> dict[str, Any]:
        return self._params[policy.id]

    @property
    def needs_inventory(self) -> bool:
        return self._needs_inventory

    def evaluate(self, document: Document) -> list[Finding]:
        """The findings of every policy that applies to `document`.

        A base's object that several overlays (or releases) render unchanged is judged once:
        a copy with the same object, identity, source file, extra facts and admission inputs
        gets the first copy's findings, with its own variant, when its locator places every
        field they were located at where the first copy's did (an overlay that sets the
        namespace places that field at its own kustomization: judged on its own)."""
        written = _written(document.obj)
        key = self._judged_key(document, written)
        if key is None:
            return self._evaluate(document, written)
        known = self._judged.get(key)
        if known is not None:
            variant, asked, findings = known
            if all(document.locator.locate(path) == where for path, where in asked):
                return _as_variant(findings, variant, str(document.extra["variant"]))
        recorder = _Recorder(document.locator)
        findings = self._evaluate(replace(document, locator=recorder), written)
        if known is None:
            if len(self._judged) >= JUDGED_KEPT:  # the oldest: its copies are behind us
                del self._judged[next(iter(self._judged))]
            self._judged[key] = (str(document.extra["variant"]), recorder.asked, findings)
        return findings

    def _judged_key(self, document: Document, written: bytes | None) -> tuple[Any, ...] | None:
        """What a copy of a rendered object must share with another to be judged as it was;
        None for what has no copies (no variant) or cannot be compared exactly. `written`:
        the object as _written writes it."""
        variant = document.extra.get("variant")
        if not variant or not isinstance(variant, str) or document.source not in KUBERNETES_SOURCES:
            return None
        if written is None:
            return None
        if self._judged_admission is not self.admission:  # another tree's admission policies
            self._judged_admission = self.admission
            self._judged.clear()
        old = self.admission.old_object(document) if self.admission else None
        extra = {name: value for name, value in document.extra.items() if name != "variant"}
        try:
            written += marshal.dumps(extra, 0)  # marshal's output ends where it ends
        except ValueError:  # a value marshal does not write (a YAML timestamp)
            return None
        return (
            document.source,
            document.file,
            document.kind,
            document.namespace,
            document.name,
            id(old),  # the base revision's object a change turns into this one (kept alive)
            hashlib.blake2b(written, digest_size=20).digest(),
        )

    def _evaluate(self, document: Document, written: bytes | None) -> list[Finding]:
        findings: list[Finding] = []
        if self.admission and document.source in KUBERNETES_SOURCES:
            findings.extend(self.admission.evaluate(document))
        key = _judgement_key(document, written)
        judgement = self._judgements.pop(key, None) if key is not None else None
        kept_under = self._kept_key() if key is not None and judgement is None else None
        if kept_under is not None and key is not None:
            judgement = self._kept_judgement(kept_under, key)
        if judgement is None:
            judgement = self._judge(document)
            if kept_under is not None and key is not None and judgement.on is None:
                kept_judgements.put(
                    kept_under,
                    key,
                    (
                        judgement.custom,
                        [
                            (verdict.policy.id, verdict.message, verdict.path, verdict.error)
                            for verdict in judgement.verdicts
                        ],
                    ),
                )
        if key is not None and judgement.on is None:  # kept, most recently used last
            if len(self._judgements) >= JUDGEMENTS_KEPT:
                del self._judgements[next(iter(self._judgements))]
            self._judgements[key] = judgement
        if judgement.shape:
            findings.extend(shape_findings(document, judgement.shape))
        findings.extend(self._made(judgement.on or document, judgement.verdicts, judgement))
        if judgement.custom:
            findings = _distinct(findings, _finding_key)
        only = document.extra.get("findings_in")
        if only:  # an instantiated module: only what the calling file's values cause
            findings = [finding for finding in findings if finding.file == only]
        unknown = document.extra.get("unknown")
        if unknown:  # fields Terraform knows only at apply (terraform_kubernetes): they pass
            findings = [
                finding
                for finding in findings
                if not _at_unknown(finding.path, unknown, document.obj)
            ]
        return findings

    def _kept_key(self) -> str | None:
        """The digest this engine's judgements are kept under between runs (a hook's:
        gatekeeper.kept_judgements), asked once; None when none are kept."""
        if self._kept_under is False:
            self._kept_under = kept_judgements.engine_key(self.bundle_key, self._params)
        return self._kept_under if isinstance(self._kept_under, str) else None

    def _kept_judgement(self, kept_under: str, key: tuple[Any, ...]) -> _Judgement | None:
        """The judgement a run before kept for a document of `key` (_judgement_key)."""
        by_id = self._by_id()
        found = kept_judgements.get(kept_under, key, set(by_id))
        if found is None:
            return None
        custom, verdicts = found
        made = [
            _Verdict(by_id[policy], message, path, error)
            for policy, message, path, error in verdicts
        ]
        return _Judgement([], made, custom, None)

    def _by_id(self) -> dict[str, Policy]:
        if self._policies_by_id is None:
            self._policies_by_id = {policy.id: policy for policy in self.policies}
        return self._policies_by_id

    def _judge(self, document: Document) -> _Judgement:
        """What the policies find in `document`, before anything is located: the same for
        every document with an equal object (see _judgement_key)."""
        skip: frozenset[Path] = frozenset()
        errors: list[ShapeError] = []
        on: Document | None = None
        if document.source in KUBERNETES_SOURCES:
            document = replace(document, obj=without_nulls(document.obj))
            errors = shape_errors(document.obj)
            if errors:
                # Reported once each; policies judge the rest: ill-typed fields are unset to
                # them, ill-typed list items are no subject.
                skip = frozenset(error.path for error in errors if error.as_read is None)
                read = {error.path: error.as_read for error in errors if error.as_read is not None}
                document = on = replace(document, obj=_without(document.obj, list(skip), read))
        obj = document.obj
        api_version = obj.get("apiVersion") if isinstance(obj, dict) else None
        group = self._group(document.source, matched_kind(document.kind, api_version, obj))
        verdicts: list[_Verdict] = []
        if not group.policies:
            return _Judgement(errors, verdicts, False, on)
        scope = _Scope(document, group, skip)
        batched = self._batched(group, scope)
        for index, (policy, pod) in enumerate(group.policies):
            if not _namespace_matches(policy, document.namespace or "default"):
                continue
            for view in range(scope.pod_count()) if pod else (None,):
                known = batched.get((index, view))
                if known is True or known is UNMET:  # every subject passes, or none is judged
                    continue
                fast = self._evaluate_fast(policy, document, scope, view, known)
                verdicts.extend(
                    fast if fast is not None else self._judge_policy(policy, document, skip, view)
                )
        if document.kind == "ConfigMap" and verdicts:
            verdicts = self._without_named_settings(obj, verdicts)
        return _Judgement(errors, verdicts, scope.custom, on)

    def _without_named_settings(self, obj: Any, verdicts: list[_Verdict]) -> list[_Verdict]:
        """A ConfigMap's verdicts without K8S-CONFIGMAP-SECRETS's on a JSON value whose own
        settings all say they are no secret (chart_secrets.names_settings)."""
        from gatekeeper import chart_secrets

        return [
            verdict
            for verdict in verdicts
            if verdict.policy.id != chart_secrets.POLICY
            or not chart_secrets.names_settings(obj, verdict.path, verdict.message, self)
        ]

    def _made(
        self, document: Document, verdicts: list[_Verdict], judgement: _Judgement | None = None
    ) -> list[Finding]:
        """The findings of `verdicts` (those of `judgement`, when given), located in
        `document`. What they say wherever an equal document is (_Said) is made once per
        judgement: most findings of a policy library's fixtures are of documents judged
        before, and only their places are their own."""
        said = _said(document.obj, verdicts) if judgement is None else judgement.said_in(document)
        variant = str(document.extra.get("variant") or "")
        identity = (document.source, document.kind, *_identity_of(document, variant))
        prints = None if judgement is None else judgement.prints.get(identity)
        if prints is None:
            prints = [fingerprint(one.policy.id, *identity, one.stable) for one in said]
            if judgement is not None and len(judgement.prints) < _PRINTS_KEPT:
                judgement.prints[identity] = prints
        locate = document.locator.locate
        spans = None if judgement is None else judgement.spans_in(document)
        if spans is not None:
            assert isinstance(document.locator, NodeLocator)  # (shared_parts says so)
            locate = functools.partial(document.locator.locate_in, spans=spans)
        source, kind, namespace, name = identity[0], identity[1], document.namespace, document.name
        generated = _generated_name(document.obj)
        findings = []
        for one, printed in zip(said, prints, strict=True):
            policy = one.policy
            real_path = one.real_path
            if policy.locate_paths:  # (none: most policies, most findings)
                real_path = _located(policy, real_path, document.obj)
            location = locate(real_path)
            finding = compacted(  # Finding's fields in order
                (
                    policy.id,
                    policy.severity,
                    policy.title,
                    one.message,
                    location.file,
                    location.line,
                    location.column,
                    location.end_line,
                    location.end_column,
                    one.path,
                    source,
                    kind,
                    namespace,
                    name,
                    printed,
                    policy.remediation,
                    "",  # help_uri
                    one.fix,
                    "new",  # status
                    False,  # blocking
                    None,  # waiver
                    _finding_extra(
                        location.exact, location.values, location.via, variant, generated
                    ),
                )
            )
            if one.error:
                # It still blocks, but is never `critical`: that is kept for violations found,
                # not for input a policy could not read.
                severity = "high" if finding.severity == "critical" else finding.severity
                extra = {**finding.extra, "evaluation_error": True}
                finding = finding.with_(severity=severity, extra=extra)
            findings.append(finding)
        return findings

    def _group(self, source: str, kind: str) -> _Group:
        """The policies that apply to one (source, kind), computed once per engine."""
        group = self._groups.get((source, kind))
        if group is None:
            group = _Group()
            candidates = list(self._by_source.get(source, ()))
            if source in RENDERED_KUBERNETES:
                # Rendered charts and overlays are Kubernetes objects: kubernetes policies apply.
                candidates.extend(self._by_source.get("kubernetes", ()))
            for policy in candidates:
                if not policy.match.kinds or kind in policy.match.kinds:
                    group.policies.append((policy, False))
                elif policy.pod_policy and kind in WORKLOAD_KINDS:
                    group.policies.append((policy, True))
                else:
                    continue
                pod = group.policies[-1][1]
                for pattern in policy.each:
                    if pattern not in group.patterns[pod]:
                        group.patterns[pod].append(pattern)
                message = policy.message_expression
                if policy.rule.reads("path") or (message is not None and message.reads("path")):
                    group.paths[pod] = True
            self._groups[(source, kind)] = group
        return group

    def _wrappers(self, policy: Policy) -> tuple[str, str] | None:
        """The batch forms of a policy's condition and rule (see cel.Program.evaluate_in)."""
        if policy.id not in self._wrapper_cache:
            params = literal(self.params(policy))
            wrappers = None
            if params is not None:
                bind = f"cel.bind(params, {params}, "
                condition = f"{bind}cel.bind(item, object, RULE))"
                if policy.each:
                    subjects = " + ".join(
                        f"gk_subjects[{json.dumps(format_path(each))}]" for each in policy.each
                    )
                    rule = (
                        f"{bind}({subjects}).map(gk_s, "
                        "cel.bind(item, gk_s[0], cel.bind(path, gk_s[1], RULE))))"
                    )
                else:
                    rule = f"{bind}cel.bind(item, object, [RULE]))"
                wrappers = (condition, rule)
            self._wrapper_cache[policy.id] = wrappers
        return self._wrapper_cache[policy.id]

    def _memo(self, policy: Policy) -> tuple[dict[Any, Any] | None, tuple[str, ...] | None]:
        """Verdicts by subject value, for rules worth it: regular expressions on the item only.

        cel-cpp compiles the pattern of `matches` on every call (~40 us each); a rule that reads
        nothing but `item` and `params` gives the same verdict for equal items, and env
        entries, images and names repeat across a repository. The key is made of the item's
        fields the rule reads, when they are known.
        """
        if policy.id not in self._memos:
            rule = policy.rule
            costly = any(call in rule.source for call in ("matches(", "find(", "findAll("))
            item_only = not any(rule.reads(name) for name in ("object", "path", "context"))
            read = rule.fields_read("item")
            fields = None if read is None else tuple(sorted(read))
            self._memos[policy.id] = ({} if costly and item_only else None, fields)
        return self._memos[policy.id]

    def _batch(self, group: _Group, pod: bool) -> tuple[list[int], Batch] | None:
        """The policies of `group` (their numbers) that one CEL evaluation per document view
        judges together, and that evaluation; None when there are none. Not in it: those
        whose verdicts are memoized by subject (_memo), and those with no batch form. A
        policy with a messageExpression gives its failing subjects' messages in it too
        (cel.judged_with_message); one whose subjects all pass gives `true` alone
        (cel.passed_or_verdicts): nothing of it is converted nor looked at in Python."""
        if pod not in group.batch:
            members: list[int] = []
            parts: list[tuple[str | None, str]] = []
            for index, (policy, on_pod) in enumerate(group.policies):
                wrappers = self._wrappers(policy)
                if on_pod != pod or wrappers is None or self._memo(policy)[0] is not None:
                    continue
                condition = policy.match.condition
                message = policy.message_expression
                members.append(index)
                parts.append(
                    (
                        condition.wrapped(wrappers[0]) if condition is not None else None,
                        passed_or_verdicts(
                            policy.rule.wrapped(wrappers[1])
                            if message is None
                            else wrappers[1].replace(
                                "RULE", judged_with_message(policy.rule.source, message.source)
                            )
                        ),
                    )
                )
            if members:  # workload kinds share their pod view's
                program = self._batch_programs.setdefault(tuple(parts), Batch(parts))
            group.batch[pod] = (members, program) if members else None
        return group.batch[pod]

    def _batched(self, group: _Group, scope: _Scope) -> dict[tuple[int, int | None], Any]:
        """Verdicts by (policy number in `group`, view), from one evaluation per view of the
        document (Batch). A view whose evaluation errs, or whose subjects are too many to
        map at once, has none: its policies are evaluated one by one, which says whose the
        error is."""
        found: dict[tuple[int, int | None], Any] = {}
        for pod in (False, True):
            batch = self._batch(group, pod)
            if batch is None:
                continue
            members, program = batch
            for view in range(scope.pod_count()) if pod else (None,):
                if scope.view(view) is None or scope.subject_count(view) > MAX_BATCH_SUBJECTS:
                    continue
                try:
                    results = program.evaluate_in(scope.activation(view))
                except CelError:
                    continue
                for index, verdicts in zip(members, results, strict=True):
                    found[(index, view)] = (
                        UNMET if verdicts == 0 and type(verdicts) is int else verdicts
                    )
        return found

    def _evaluate_fast(
        self,
        policy: Policy,
        document: Document,
        scope: _Scope,
        pod: int | None,
        batched: Any = None,
    ) -> list[_Verdict] | None:
        """One CEL evaluation per policy and document, on the document's shared Activation;
        `batched`: its verdicts, already evaluated with the document's other policies (with
        a messageExpression: `true` or `[true, message, true]`, see _batch).

        None when the result needs the plain path (an evaluation error, a non-bool verdict, a
        parameter with no CEL literal): that path then gives the authoritative findings.
        """
        if (
            type(batched) is list
            and len(batched) == scope.subject_count(pod, policy.each)
            and all(verdict is True for verdict in batched)
        ):
            return []  # every subject passes (the common case): nothing to build
        wrappers = self._wrappers(policy)
        if wrappers is None:
            return None
        view = scope.view(pod)
        if view is None:
            return []
        messages: list[Any] | None = None
        if policy.message_expression is not None and type(batched) is list:
            if not all(verdict is True or type(verdict) is list for verdict in batched):
                return None
            messages = [None if verdict is True else verdict[1] for verdict in batched]
            batched = [verdict is True for verdict in batched]
        obj, to_real = view
        subjects: list[tuple[Path, Any]] = (
            scope.subjects(pod, policy.each) if policy.each else [((), obj)]
        )
        if not subjects and policy.match.condition is None:
            return []
        params = self.params(policy)
        context = document.extra.get("context", {})
        verdicts = self._verdicts(policy, scope, pod, subjects) if batched is None else batched
        if verdicts is None:
            return None
        if verdicts is UNMET or not subjects:
            return []
        if not isinstance(verdicts, list) or len(verdicts) != len(subjects):
            return None
        if any(verdict is not True and verdict is not False for verdict in verdicts):
            return None
        found = []
        for number, ((subject_path, item), verdict) in enumerate(
            zip(subjects, verdicts, strict=True)
        ):
            if verdict or scope.left_to_operator(pod, (*subject_path, *policy.field_path)):
                continue
            real_path = to_real((*subject_path, *policy.field_path))
            if messages is not None:
                found.append(_Verdict(policy, str(messages[number]), real_path, False))
                continue
            data = _variables(obj, params, item, _format_path(subject_path), context)
            found.append(self._violation(policy, data, real_path))
        return found

    def _verdicts(
        self, policy: Policy, scope: _Scope, pod: int | None, subjects: list[tuple[Path, Any]]
    ) -> Any:
        """`policy`'s verdicts on `subjects` of one view, evaluated on their own: UNMET when
        its condition does not hold, None on an evaluation error."""
        wrappers = self._wrappers(policy)
        assert wrappers is not None
        variables = scope.activation(pod)
        view = scope.view(pod)
        obj = view[0] if view else None
        params = self.params(policy)
        context = scope.document.extra.get("context", {})
        try:
            condition = policy.match.condition
            if condition is not None and condition.evaluate_in(wrappers[0], variables) is not True:
                return UNMET
            if not subjects:
                return []
            memo, fields = self._memo(policy)
            if memo is None and len(subjects) > MAX_BATCH_SUBJECTS:
                verdicts = []
                for start in range(0, len(subjects), MAX_BATCH_SUBJECTS):
                    part = subjects[start : start + MAX_BATCH_SUBJECTS]
                    sliced = scope.activation(pod, policy.each, part)
                    verdicts.extend(policy.rule.evaluate_in(wrappers[1], sliced))
            elif memo is None:
                verdicts = policy.rule.evaluate_in(wrappers[1], variables)
            else:
                verdicts = []
                for _, item in subjects:
                    key = (
                        tuple(
                            (name, name in item, _freeze(item.get(name), ordered=True))
                            for name in fields
                        )
                        if fields is not None and isinstance(item, dict)
                        else _freeze(item, ordered=True)
                    )
                    if key not in memo:
                        memo[key] = policy.rule.evaluate(_variables(obj, params, item, "", context))
                    verdicts.append(memo[key])
        except CelError:
            return None
        return verdicts

    def _evaluate_policy(
        self,
        policy: Policy,
        document: Document,
        skip: frozenset[Path] = frozenset(),
        pod: int | None = None,
    ) -> list[Finding]:
        """The plain path's findings (_judge_policy)."""
        return self._made(document, self._judge_policy(policy, document, skip, pod))

    def _judge_policy(
        self,
        policy: Policy,
        document: Document,
        skip: frozenset[Path] = frozenset(),
        pod: int | None = None,
    ) -> list[_Verdict]:
        """The plain path. `skip`: paths of ill-typed values (already reported): no subject
        there, and an evaluation error on such a document is theirs, not reported again.
        `pod`: which of the document's virtual Pods a pod policy judges (workloads.pod_views;
        None: each)."""
        kind = document.kind
        obj = document.obj
        to_real: Callable[[Path], Path] = _identity
        left_to_operator: Callable[[Path], bool] = _nobody
        if policy.match.kinds and kind not in policy.match.kinds:
            if not (policy.pod_policy and kind in WORKLOAD_KINDS):
                return []
            views = pod_views(obj)
            if pod is None:
                every = [
                    verdict
                    for index in range(len(views))
                    for verdict in self._judge_policy(policy, document, skip, index)
                ]
                if any(view.moves is not None for view in views):
                    return _distinct(every, _verdict_key)
                return every
            obj, to_real = views[pod].pod, views[pod].real_path
            left_to_operator = views[pod].left_to_operator
        if not _namespace_matches(policy, document.namespace or "default"):
            return []
        params = self.params(policy)
        # Source-specific facts around the document (Terraform: the rest of its module).
        context = document.extra.get("context", {})
        data: dict[str, Any] = _variables(obj, params, obj, "", context)
        if policy.match.condition is not None:
            try:
                if policy.match.condition.evaluate(data) is not True:
                    return []
            except CelError as error:
                if skip or _unknown_shape(document, policy.match.condition, data, error):
                    return []
                return [self._error(policy, error, "match.condition")]
        subjects: Iterable[tuple[Path, Any]] = (
            (subject for pattern in policy.each for subject in expand(obj, pattern))
            if policy.each
            else [((), obj)]
        )
        findings = []
        for subject_path, item in subjects:
            if skip and _under(to_real(subject_path), skip):
                continue
            data = _variables(obj, params, item, _format_path(subject_path), context)
            try:
                verdict = policy.rule.evaluate(data)
            except CelError as error:
                if _unknown_shape(document, policy.rule, data, error):
                    continue
                if not skip:
                    findings.append(self._error(policy, error, "rule", to_real(subject_path)))
                continue
            if verdict is True or (
                verdict is False and left_to_operator((*subject_path, *policy.field_path))
            ):
                continue
            if verdict is not False:
                if not skip:  # else: a non-bool verdict on ill-typed input, already reported
                    wrong = CelError(f"rule returned {verdict!r}, not a bool")
                    findings.append(self._error(policy, wrong, "rule", to_real(subject_path)))
                continue
            findings.append(
                self._violation(policy, data, to_real((*subject_path, *policy.field_path)))
            )
        return findings

    def _violation(self, policy: Policy, data: dict[str, Any], real_path: Path) -> _Verdict:
        message = policy.message
        if policy.message_expression is not None:
            try:
                message = str(policy.message_expression.evaluate(data))
            except CelError as error:
                message = f"{policy.title} (messageExpression failed: {error})"
        else:
            message = render_message(message, data)
        return _Verdict(policy, message, real_path, False)

    def _error(self, policy: Policy, error: CelError, what: str, path: Path = ()) -> _Verdict:
        """A rule that errs on a document is reported, never taken as a pass; the message
        says what is likely wrong (see _made)."""
        hint = ""
        if _TYPE_ERROR.search(str(error)):
            hint = " (a field it reads has an unexpected type: check the object's shape)"
        message = f"policy could not be evaluated ({what}){hint}: {error}"
        return _Verdict(policy, message, path, True)

    def override_notices(self) -> list[Finding]:
        """One notice per policy that replaces an earlier one (`overrides:`), in every report."""
        return [
            to_finding(
                Problem(
                    "GK-POLICY-OVERRIDE",
                    policy.file,
                    policy.line("overrides"),
                    f"policy {policy.id} from {policy.file} replaces {policy.overrides}"
                    f" from {policy.replaced}",
                ),
                identity=(policy.id, policy.overrides),
            )
            for policy in self.policies
            if policy.replaced
        ]

    def evaluate_repository(self, inventory: list[InventoryEntry]) -> list[Finding]:
        """Once per scan: the override notices, and repository-scope policies (one evaluation
        per inventory entry).

        A rule sees `item` (the entry) and `inventory`: `{namespace: {kind: count},
        cluster: {kind: count}}` for the item's namespace and for objects with no namespace.
        Handing each evaluation only its namespace's counts keeps the cost linear in the
        repository size (CEL converts its inputs on every call, and caps iterations at 10,000).
        """
        findings = self.override_notices() + rbac_reach.findings(self, inventory)
        if not self._repository:
            return findings
        rows = [entry.as_cel() for entry in inventory]
        by_namespace, cluster = kind_counts(inventory)
        for policy in self._repository:
            params = self.params(policy)
            verdicts = _RepositoryVerdicts(policy)
            kinds = policy.match.kinds
            if policy.pod_policy:
                kinds = kinds | WORKLOAD_KINDS
            for entry, row in zip(inventory, rows, strict=True):
                if not _source_matches(policy, entry.source):
                    continue
                matched = matched_kind(entry.kind, entry.api_version)
                if kinds and matched not in kinds:
                    continue
                if (
                    policy.pod_policy
                    and entry.kind not in policy.match.kinds
                    and not runs_pods(entry.api_version, entry.kind)
                ):
                    continue  # a core Service is no Knative Service
                if not _namespace_matches(policy, row["namespace"]):
                    continue
                key = namespace_key(entry)
                namespace_counts, cluster_counts = seen_counts(entry, key, by_namespace, cluster)
                counts = {"namespace": namespace_counts, "cluster": cluster_counts}
                data = {
                    "object": row,
                    "item": row,
                    "params": params,
                    "inventory": counts,
                    "path": "",
                    "context": {},
                }
                try:
                    verdict = verdicts.of(data, counts_key(key, entry.scope))
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
                        # `about`: the namespace (its workloads are said one per place)
                        extra={
                            "about": "namespace",
                            **({"variants": [entry.variant]} if entry.variant else {}),
                        },
                    )
                )
        from gatekeeper.namespace_findings import grouped

        return grouped(findings, self._repository)


class _Recorder:
    """A locator that remembers each path it was asked for and its answer."""

    def __init__(self, locator: Locator) -> None:
        self.locator = locator
        self.asked: list[tuple[Path, Location]] = []

    def locate(self, path: Path) -> Location:
        location = self.locator.locate(path)
        self.asked.append((path, location))
        return location


def _as_variant(findings: list[Finding], variant: str, other: str) -> list[Finding]:
    """Findings judged on one variant's copy, said for another's identical copy."""
    mine = [variant]
    return [
        finding.with_(extra={**finding.extra, "variants": [other]})
        if finding.extra.get("variants") == mine
        else finding
        for finding in findings
    ]


class _RepositoryVerdicts:
    """A repository-scope rule's verdicts, evaluated once per distinct input.

    The rule sees its item's namespace counts and whichever item fields it reads: rows of
    one namespace that agree on those fields get the same verdict (or the same error), and
    a repository has thousands of rows in a handful of namespaces."""

    def __init__(self, policy: Policy) -> None:
        self.rule = policy.rule
        self.fields = policy.rule.fields_read("item", "object")
        self.known: dict[Any, Any] = {}

    def of(self, data: dict[str, Any], namespace: str) -> Any:
        """`namespace`: the key of the namespace counts the rule sees (namespace_key)."""
        if self.fields is None:
            return self.rule.evaluate(data)
        row = data["item"]
        key = (
            namespace,
            tuple(
                (name, name in row, _freeze(row.get(name), ordered=True)) for name in self.fields
            ),
        )
        if key not in self.known:
            try:
                self.known[key] = self.rule.evaluate(data)
            except CelError as error:
                self.known[key] = error
        found = self.known[key]
        if isinstance(found, CelError):
            raise found
        return found


def _source_matches(policy: Policy, source: str) -> bool:
    """Rendered Helm and kustomize output is Kubernetes to repository-scope policies."""
    if source == policy.match.source:
        return True
    return policy.match.source == "kubernetes" and source in ("helm", "kustomize")


def _freeze(value: Any, ordered: bool = False) -> Any:
    """A hashable stand-in for a value: equal values (and types), equal stand-ins.

    `ordered`: mappings with the same items in another order are different stand-ins.
    """
    if isinstance(value, dict):
        items = [(_freeze(k), _freeze(v, ordered)) for k, v in value.items()]
        return ("{}", tuple(items if ordered else sorted(items, key=repr)))
    if isinstance(value, list):
        return ("[]", tuple(_freeze(item, ordered) for item in value))
    return (type(value).__name__, value)


class _Verdict(NamedTuple):
    """One finding to make, before it is located: the same in every equal document."""

    policy: Policy
    message: str
    path: Path  # in the document as written
    error: bool  # the policy could not be evaluated (Engine._error)


class _Said(NamedTuple):
    """What a verdict's finding says wherever an equal document is: its message and path
    (interned), its stable path (fingerprints) and its fix (shared)."""

    policy: Policy
    message: str
    real_path: Path
    error: bool
    path: str
    stable: str
    fix: dict[str, Any] | None


def _said(obj: Any, verdicts: list[_Verdict]) -> list[_Said]:
    """What the findings of `verdicts` on `obj` say wherever `obj` is."""
    return [
        _Said(
            policy,
            intern(message) if type(message) is str else message,
            real_path,
            error,
            intern(_format_path(real_path)),
            stable_path(obj, real_path),
            _fix(policy, real_path) if policy.fix else None,
        )
        for policy, message, real_path, error in verdicts
    ]


@dataclass
class _Judgement:
    """What the policies find in one document (Engine._judge)."""

    shape: list[ShapeError]  # its ill-typed fields (GK-SCHEMA)
    verdicts: list[_Verdict]
    custom: bool  # judged in virtual Pods of a custom resource: one finding per field
    # The document the verdicts' paths were found in when it is not the one judged: with
    # ill-typed fields left out (not kept for other documents).
    on: Document | None
    # Made for the first document whose findings are made (Engine._made): what they say
    # (_said), and their fingerprints by the identity they name (source, kind, object).
    said: list[_Said] | None = None
    prints: dict[tuple[str, ...], list[str]] = field(default_factory=dict)
    # Where the findings' paths are in the copies of one text's document (their tables'
    # shared parts: yamlevents.shared_parts -> path -> span): equal values, equal places.
    # The parts are held weakly: a copy can share them only while yamlevents._READ (or a
    # live copy) holds them, and held here they were 10 MB of node offsets on the real k8s
    # corpus (4,096 judgements kept, each a document's whole table), to the end of the scan.
    spans: dict[int, tuple[weakref.ref[object], dict[Path, Any]]] = field(default_factory=dict)

    def said_in(self, document: Document) -> list[_Said]:
        """What the verdicts' findings say in `document` (equal to the one judged)."""
        if self.said is None:
            self.said = _said(document.obj, self.verdicts)
        return self.said

    def spans_in(self, document: Document) -> dict[Path, Any] | None:
        """The places of paths kept for copies of `document`'s text whose values are equal
        (this judgement's); None when its locator cannot share them."""
        parts = shared_parts(document.locator, document.obj)
        if parts is None:
            return None
        held = self.spans.get(id(parts))
        if held is None or held[0]() is not parts:
            if len(self.spans) >= _PRINTS_KEPT:
                self.spans = {at: kept for at, kept in self.spans.items() if kept[0]() is not None}
                if len(self.spans) >= _PRINTS_KEPT:
                    return None
            held = self.spans[id(parts)] = (weakref.ref(parts), {})
        return held[1]


# Fingerprints kept per judgement: an object is copied under a handful of identities.
_PRINTS_KEPT = 8


def _written(obj: Any) -> bytes | None:
    """`obj` as bytes equal for equal objects only, to compare documents by; None when it
    cannot be written exactly (a YAML timestamp: marshal does not write it)."""
    try:
        # Faithful to types and key order (1 is not 1.0 nor True); version 0 writes
        # equal values alike, however they are shared or interned.
        return marshal.dumps(obj, 0)
    except ValueError:
        return None


def _judgement_key(document: Document, written: bytes | None) -> tuple[Any, ...] | None:
    """What a document must share with another to be judged as it was: what policies match
    (source, kind, namespace) and what rules read (the object, `written` by _written, and
    the `context` of its source), exactly; None when it cannot be compared exactly.
    Findings made from a judgement are located in each document on its own (Engine._made)."""
    if written is None:
        return None
    try:
        written += marshal.dumps(document.extra.get("context"), 0)
    except ValueError:
        return None
    digest = hashlib.blake2b(written, digest_size=20).digest()
    return (document.source, document.kind, document.namespace, digest)


@dataclass
class _Group:
    """Policies of one (source, kind): (policy, runs on the pod view), and their subjects."""

    policies: list[tuple[Policy, bool]] = field(default_factory=list)
    patterns: dict[bool, list[Pattern]] = field(default_factory=lambda: {False: [], True: []})
    paths: dict[bool, bool] = field(default_factory=lambda: {False: False, True: False})
    # By pod view or not: the policies judged in one evaluation (Engine._batch).
    batch: dict[bool, tuple[list[int], Batch] | None] = field(default_factory=dict)


# A policy's verdicts when its match condition does not hold: no subject judged.
UNMET = object()

# CEL's map() copies its accumulated list at every step: mapping a rule over n subjects at
# once costs n^2 memory (8,000 commands of one RUN: 1 GB). Larger batches go in slices.
MAX_BATCH_SUBJECTS = 500


class _Scope:
    """One document's views (itself: None; its virtual Pods: 0, 1...), subjects and
    Activations, built once."""

    def __init__(self, document: Document, group: _Group, skip: frozenset[Path]) -> None:
        self.document = document
        self.group = group
        self.skip = skip  # paths of ill-typed values: no subject there
        self._pods: list[tuple[Any, Callable[[Path], Path]]] | None = None
        self._views: list[PodView] = []
        self.custom = False  # virtual Pods made of parts of a custom resource
        self._subjects: dict[int | None, dict[Pattern, list[tuple[Path, Any]]]] = {}
        self._activations: dict[int | None, Any] = {}
        self._counts: dict[tuple[int | None, tuple[Pattern, ...] | None], int] = {}

    def pod_count(self) -> int:
        if self._pods is None:
            views = pod_views(self.document.obj)
            self._pods = [(view.pod, view.real_path) for view in views]
            self._views = views
            self.custom = any(view.moves is not None for view in views)
        return len(self._pods)

    def view(self, pod: int | None) -> tuple[Any, Callable[[Path], Path]] | None:
        if pod is None:
            return (self.document.obj, _identity)
        return self._pods[pod] if self._pods is not None and pod < len(self._pods) else None

    def left_to_operator(self, pod: int | None, path: Path) -> bool:
        """A violation at `path` of an operator's overlay that the operator fills, not the
        author (workloads.PodView.left_to_operator): not reported."""
        return (
            pod is not None and pod < len(self._views) and self._views[pod].left_to_operator(path)
        )

    def _all_subjects(self, pod: int | None) -> dict[Pattern, list[tuple[Path, Any]]]:
        if pod not in self._subjects:
            view = self.view(pod)
            obj = view[0] if view else None
            self._subjects[pod] = {
                pattern: [
                    (path, item)
                    for path, item in expand(obj, pattern)
                    if not (self.skip and view and _under(view[1](path), self.skip))
                ]
                for pattern in self.group.patterns[pod is not None]
            }
        return self._subjects[pod]

    def subject_count(self, pod: int | None, patterns: tuple[Pattern, ...] | None = None) -> int:
        """How many subjects the view has, of `patterns` (none: the view itself is the one
        subject) or, by default, of all patterns together."""
        key = (pod, patterns)
        count = self._counts.get(key)
        if count is None:  # asked once per policy of the view: counted once per patterns
            every = self._all_subjects(pod)
            if patterns is None:
                count = sum(len(found) for found in every.values())
            else:
                count = sum(len(every[pattern]) for pattern in patterns) if patterns else 1
            self._counts[key] = count
        return count

    def subjects(self, pod: int | None, patterns: tuple[Pattern, ...]) -> list[tuple[Path, Any]]:
        every = self._all_subjects(pod)
        return [subject for pattern in patterns for subject in every[pattern]]

    def activation(
        self,
        pod: int | None,
        patterns: tuple[Pattern, ...] = (),
        part: list[tuple[Path, Any]] | None = None,
    ) -> Any:
        """The document's shared Activation; with `part`, one holding only those subjects
        (as the subjects of `patterns`), for documents with too many to map at once."""
        if part is None and pod in self._activations:
            return self._activations[pod]
        view = self.view(pod)
        paths = self.group.paths[pod is not None]
        every = self._all_subjects(pod)
        if part is not None:
            every = {pattern: [] for pattern in patterns}
            every[patterns[0]] = part
        subjects = {
            _format_path(pattern): [
                [item, _format_path(path) if paths else ""] for path, item in found
            ]
            for pattern, found in every.items()
        }
        made = activation(
            {
                "object": view[0] if view else None,
                "path": "",
                "context": self.document.extra.get("context", {}),
                "gk_subjects": subjects,
            }
        )
        if part is None:
            self._activations[pod] = made
        return made


# Subject paths repeat across documents (`spec.containers[0]`): format each once.
_format_path = functools.lru_cache(maxsize=4096)(format_path)


@functools.lru_cache(maxsize=4096)
def _key_text(key: str | int) -> str:
    """One key of a path on its own (stable_path): keys repeat in every finding."""
    return format_path((key,))


def kind_counts(
    inventory: list[InventoryEntry],
) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
    """Kinds per namespace (no namespace counts as `default`), and kinds with no namespace.
    An entry of a chart nothing releases (`scope`) is counted apart, under counts_key: only
    its own chart's workloads see it (second red-team round s15)."""
    by_namespace: dict[str, dict[str, int]] = defaultdict(dict)
    cluster: dict[str, int] = {}
    for entry in inventory:
        key = namespace_key(entry)
        counts = by_namespace[counts_key(key, entry.scope)]
        counts[entry.kind] = counts.get(entry.kind, 0) + 1
        if not entry.namespace:
            if entry.scope:
                apart = by_namespace[counts_key("", entry.scope)]
                apart[entry.kind] = apart.get(entry.kind, 0) + 1
            else:
                cluster[entry.kind] = cluster.get(entry.kind, 0) + 1
    return dict(by_namespace), cluster


def counts_key(key: str, scope: str) -> str:
    """Where kind_counts counts an entry of namespace key `key` ("" its cluster-scoped
    objects) of the unreleased chart `scope` ("": counted with the namespace)."""
    return f"{key}\x01{scope}" if scope else key


def seen_counts(
    entry: InventoryEntry,
    key: str,
    by_namespace: dict[str, dict[str, int]],
    cluster: dict[str, int],
) -> tuple[dict[str, int], dict[str, int]]:
    """The namespace and cluster counts `entry`'s rule sees: its namespace's, plus, for an
    entry of a chart nothing releases, what that chart itself holds."""
    namespace = by_namespace.get(key, {})
    if not entry.scope:
        return namespace, cluster
    return (
        _summed(namespace, by_namespace.get(counts_key(key, entry.scope), {})),
        _summed(cluster, by_namespace.get(counts_key("", entry.scope), {})),
    )


def _summed(first: dict[str, int], second: dict[str, int]) -> dict[str, int]:
    if not second:
        return first
    summed = dict(first)
    for kind, count in second.items():
        summed[kind] = summed.get(kind, 0) + count
    return summed


def namespace_key(entry: InventoryEntry) -> str:
    """The namespace an object lands in, as repository-scope rules group objects. A chart
    rendered on its own (nothing that deploys it names the namespace) is installed where
    `helm install -n` says: its objects in `default` are in that release's namespace, not
    with every other chart's (argo-cd's NetworkPolicy covered argo-workflows' pods)."""
    namespace = entry.namespace or "default"
    if entry.source == "helm" and namespace == "default" and entry.variant.startswith("helm "):
        return f"default\x00{entry.variant.split()[1]}"
    return namespace


def _namespace_matches(policy: Policy, namespace: str) -> bool:
    if policy.match.namespaces and namespace not in policy.match.namespaces:
        return False
    return namespace not in policy.match.exclude_namespaces


def _at_unknown(path: str, unknown: tuple[Path, ...], obj: Any) -> bool:
    """Whether a finding's field is one of (or inside one of) the `unknown` paths, or is
    unset where an unknown field of the same name would give it its value (a pod's
    `securityContext.runAsNonRoot` is its containers' default)."""
    for field_path in unknown:
        written = format_path(field_path)
        if path == written or path.startswith((f"{written}.", f"{written}[")):
            return True
    leaves = {field_path[-1] for field_path in unknown if field_path}
    try:
        parsed = parse(path)
    except FieldPathError:
        return False
    keys = tuple(key for key in parsed if isinstance(key, (str, int)))
    return bool(keys) and keys[-1] in leaves and get(obj, keys) is None


def _variables(
    obj: Any, params: dict[str, Any], item: Any, path: str, context: Any
) -> dict[str, Any]:
    """The CEL variables of one evaluation."""
    return {"object": obj, "params": params, "item": item, "path": path, "context": context}


def _unknown_shape(document: Document, program: Any, data: dict[str, Any], error: CelError) -> bool:
    """A type error on a Terraform object that only its values known after apply cause.

    A whole block or list item unknown at plan time (`dynamic` over an unknown `for_each`,
    `after_unknown`) is the string "${unknown}" where a rule expects a list or an object, and
    the rule cannot read it. Unknowns pass (README, Terraform), so the error is theirs when the
    same program runs without error once every unknown is left out; an ill-typed value written
    in the configuration still errs then, and is still reported."""
    if document.source != "terraform" or _TYPE_ERROR.search(str(error)) is None:
        return False
    if _is_unknown(data["item"]):
        return True  # an `each` subject that is itself unknown: nothing known to judge
    known = {
        **data,
        "object": _without_unknowns(data["object"]),
        "item": _without_unknowns(data["item"]),
    }
    if known["object"] == data["object"] and known["item"] == data["item"]:
        return False
    try:
        program.evaluate(known)
    except CelError:
        return False
    return True


def _without_unknowns(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: _without_unknowns(item) for key, item in value.items() if not _is_unknown(item)
        }
    if isinstance(value, list):
        return [_without_unknowns(item) for item in value if not _is_unknown(item)]
    return value


def _is_unknown(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(_UNKNOWN_PREFIX)


def _distinct(found: list[T], key: Callable[[T], tuple[str, str]]) -> list[T]:
    """Findings (or verdicts) of a custom resource's virtual Pods, one per policy and field
    (`key`): a field they share (an Argo workflow's securityContext, a Tekton step template)
    is judged in each."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for one in found:
        mark = key(one)
        if mark not in seen:
            seen.add(mark)
            kept.append(one)
    return kept


def _finding_key(finding: Finding) -> tuple[str, str]:
    return finding.policy_id, finding.path


def _verdict_key(verdict: _Verdict) -> tuple[str, str]:
    """A verdict's (policy id, path) as its finding will say them."""
    return verdict.policy.id, _format_path(verdict.path)


def _identity(path: Path) -> Path:
    return path


def _nobody(path: Path) -> bool:
    return False


def _under(path: Path, paths: frozenset[Path]) -> bool:
    """Is `path` one of `paths`, or inside one?"""
    return any(path[:length] in paths for length in range(len(path) + 1))


def _without(value: Any, paths: list[Path], numbers: dict[Path, Any]) -> Any:
    """`value` without the mapping entries at `paths` and with `numbers` set (path -> value),
    copied only along them; list items stay, so indexes (and the lines they locate) keep
    their meaning."""
    if not paths and not numbers:
        return value
    if () in numbers:
        return numbers[()]
    here = {path[0] for path in paths if len(path) == 1}
    deeper: dict[Any, list[Path]] = defaultdict(list)
    for path in paths:
        if len(path) > 1:
            deeper[path[0]].append(path[1:])
    below: dict[Any, dict[Path, Any]] = defaultdict(dict)
    for path, number in numbers.items():
        below[path[0]][path[1:]] = number
    if isinstance(value, dict):
        return {
            key: _without(item, deeper.get(key, []), below.get(key, {}))
            for key, item in value.items()
            if key not in here
        }
    if isinstance(value, list):
        return [
            _without(item, deeper.get(index, []), below.get(index, {}))
            for index, item in enumerate(value)
        ]
    return value


def shape_findings(document: Document, errors: list[ShapeError]) -> list[Finding]:
    """One GK-SCHEMA finding per ill-typed field, at its line; not a number Helm printed
    (ShapeError.printed_by_go), which is still judged as the number."""
    if document.source == "helm":
        errors = [error for error in errors if not error.printed_by_go()]
    findings = []
    for number, error in enumerate(errors[:MAX_SHAPE_FINDINGS], 1):
        location = document.locator.locate(error.path)
        where = format_path(error.path)
        message = (
            f"{where}: {error.message} ({document.kind} schema of Kubernetes {schema_version()})"
        )
        if number == MAX_SHAPE_FINDINGS and len(errors) > MAX_SHAPE_FINDINGS:
            message += f"; {len(errors) - MAX_SHAPE_FINDINGS} more ill-typed field(s) not listed"
        problem = Problem("GK-SCHEMA", location.file, location.line, message, location.column)
        identity = (
            document.kind,
            document.namespace,
            document.name,
            stable_path(document.obj, error.path),
        )
        findings.append(
            to_finding(problem, document.source, identity=identity).with_(
                kind=document.kind,
                namespace=document.namespace,
                name=document.name,
                path=where,
                extra=_location_extra(location),
            )
        )
    return findings


@functools.lru_cache(maxsize=4096)
def _finding_extra(
    exact: bool, values: str, via: str, variant: str, generated: bool = False
) -> dict[str, Any]:
    """A finding's `extra`, one shared instance per distinct value (finding.shared): every
    finding of a file says much the same. `generateName`: the object has no name of its own
    (it is named by its generateName prefix, see waivers.Waiver.matches)."""
    extra = _location_extra(Location("", 0, exact=exact, values=values, via=via))
    if variant:
        extra["variants"] = [variant]
    if generated:
        extra["generateName"] = True
    return shared(extra)  # type: ignore[no-any-return]


def _generated_name(obj: Any) -> bool:
    """Does the object leave its name to the API server (`generateName`, no `name`)?"""
    metadata = obj.get("metadata") if isinstance(obj, dict) else None
    return (
        isinstance(metadata, dict)
        and not metadata.get("name")
        and bool(metadata.get("generateName"))
    )


def _identity_of(document: Document, variant: str) -> tuple[str, ...]:
    """What names the object in a fingerprint. A rendered object (an overlay, a chart's
    release) is named by the source document it came from, not by its rendered name: one
    base line judged in several overlays is one finding (see scan.finalize), and its
    fingerprint stays when overlays come and go."""
    origin = document.extra.get("origin") if variant else None
    if origin:
        return (str(origin),)
    return (document.namespace, document.name)


def _location_extra(location: Location) -> dict[str, Any]:
    extra: dict[str, Any] = {"exact": location.exact}
    if location.values:
        extra["values"] = location.values  # the values line that set the field (Helm)
    if location.via:
        extra["via"] = location.via  # the local or variable it came through (Terraform)
    return extra


def _located(policy: Policy, real_path: Path, obj: Any) -> Path:
    """Where a finding's line is said: the first of the policy's `locate` paths (relative
    to its subject) the object has, else its own path. An enforce label, not the Namespace's
    `metadata:`: the path, and so the fingerprint (and its waivers), stay `field`'s."""
    cut = len(real_path) - len(policy.field_path)
    if real_path[cut:] != policy.field_path:
        return real_path  # (moved by a view: said where it is)
    for relative in policy.locate_paths:
        candidate = (*real_path[:cut], *relative)
        if get(obj, candidate) is not None:
            return candidate
    return real_path


def _fix(policy: Policy, real_path: Path) -> dict[str, Any]:
    """The policy's structured fix with its paths made absolute (relative to the subject):
    one shared instance per fix and subject path (finding.shared), made once (a policy's
    findings in every container of every workload say the same few fixes)."""
    assert policy.fix is not None
    subject = (
        real_path[: len(real_path) - len(policy.field_path)] if policy.field_path else real_path
    )
    key = (id(policy.fix), subject)
    known = _FIXES.get(key)
    if known is None or known[0] is not policy.fix:
        if len(_FIXES) >= _MAX_FIXES:
            _FIXES.clear()
        made = shared({"subject": _format_path(subject), "set": dict(policy.fix["set"])})
        known = _FIXES[key] = (policy.fix, made)
    return known[1]


# (id of a policy's fix, subject path) -> (that fix, held so its id stays its own; its
# shared absolute form).
_FIXES: dict[tuple[int, Path], tuple[dict[str, Any], dict[str, Any]]] = {}
_MAX_FIXES = 1 << 14


def stable_path(obj: Any, path: Path) -> str:
    """A path where list items that have a `name` are named, not numbered: `containers[name=web]`.

    Fingerprints use it, so reordering containers or env entries does not make findings "new".
    """
    out: list[str] = []
    node = obj
    for key in path:
        if isinstance(key, int):  # fieldpath.get, one key at a time (every finding has one)
            node = node[key] if isinstance(node, list) and -len(node) <= key < len(node) else None
            name = node.get("name") if isinstance(node, dict) else None
            out.append(f"[name={name}]" if isinstance(name, str) else _key_text(key))
        else:
            node = node.get(key) if isinstance(node, dict) else None
            out.append(_key_text(key) if out else str(key))
    return "".join(out)


def render_message(template: str, data: dict[str, Any]) -> str:
    """`{{ item.name }}`-style placeholders: a dotted path into object/item/params/path."""
    if "{{" not in template:
        return template
    out = []
    for text, pattern, written in _message_parts(template):
        out.append(text)
        if written:
            out.append(_placeholder_value(pattern, written, data))
    return "".join(out)


@functools.lru_cache(maxsize=1024)
def _message_parts(template: str) -> tuple[tuple[str, Pattern | None, str], ...]:
    """A message template split once: (text before, placeholder's path, placeholder as
    written), the last with no placeholder (every finding of a policy renders it)."""
    parts = []
    start = 0
    for match in PLACEHOLDER.finditer(template):
        parts.append(
            (template[start : match.start()], _placeholder(match.group(1)), match.group(0))
        )
        start = match.end()
    parts.append((template[start:], None, ""))
    return tuple(parts)


def _placeholder_value(pattern: Pattern | None, written: str, data: dict[str, Any]) -> str:
    if not pattern or not isinstance(pattern[0], str) or pattern[0] not in data:
        return written
    value = get(data[pattern[0]], tuple(pattern[1:]))  # type: ignore[arg-type]
    if value is None and tuple(pattern) == ("object", "metadata", "name"):
        # an object named by the API server (`generateName: upgrade-`): named by that
        value = get(data["object"], ("metadata", "generateName"))
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return "" if value is None else str(value)


@functools.lru_cache(maxsize=1024)
def _placeholder(text: str) -> Pattern | None:
    """A placeholder's field path, parsed once (every finding of a policy renders it)."""
    try:
        return parse(text)
    except FieldPathError:
        return None
