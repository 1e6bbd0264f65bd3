"""A pull request that weakens the cluster's own admission gate (red team s17 y01).

A Kyverno policy moved from Enforce to Audit, a webhook of a policy engine turned to
`failurePolicy: Ignore`, a ValidatingAdmissionPolicyBinding that only audits, an OPA
Gatekeeper constraint in dryrun, Kyverno's ConfigMap filtering out a namespace or the CI
user, a Namespace labelled `admission.gatekeeper.sh/ignore`: no object of the change is a
finding by itself, yet the cluster now admits, from anything that creates objects there (an
operator, `kubectl run`, another team's chart), what it refused. Each is reported with the
head's object, compared with the base revision, as K8S-ADMISSION-POLICY-EXCEPTION (the
exemptions' policy): only the knobs that say whether and where a policy is enforced are
compared, never the policy's own logic. A new object is never weaker than nothing; the
exception is a Namespace created with Gatekeeper's ignore label.

`facts` summarises an object for its inventory entry (plain JSON: the blob cache keeps it);
`weakened` compares the two sides' entries.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from gatekeeper import lazy_re
from gatekeeper.finding import Finding, fingerprint

if TYPE_CHECKING:
    from gatekeeper.document import Document
    from gatekeeper.evaluate import Engine
    from gatekeeper.inventory import InventoryEntry

POLICY_ID = "K8S-ADMISSION-POLICY-EXCEPTION"
# What chooses namespaces by label (a pull request relabelling a Namespace leaves it): the
# unchanged ones are counted in a pull request's inventory too.
SELECTING_KINDS = frozenset({"ValidatingWebhookConfiguration", "ValidatingAdmissionPolicyBinding"})
SOURCES = frozenset({"kubernetes", "helm", "kustomize", "gitops"})
ADMISSION_GROUP = "admissionregistration.k8s.io"
PSS_GROUP = "pod-security.admission.config.k8s.io"
PSS_LEVELS = {"privileged": 0, "baseline": 1, "restricted": 2}
PSS_EXEMPTIONS = ("usernames", "runtimeClasses", "namespaces")
GROUPS = (
    PSS_GROUP + "/",
    "apiserver.config.k8s.io/",
    "kyverno.io/",
    "policies.kyverno.io/",
    ADMISSION_GROUP + "/",
    "constraints.gatekeeper.sh/",
    "apps/",  # OPA Gatekeeper's controller: its --exempt-namespace flags
    "argoproj.io/",  # releases of the kyverno-policies chart (policy_chart)
    "helm.toolkit.fluxcd.io/",
)
# OPA Gatekeeper's controller flags that take namespaces out of every constraint
# (open-policy-agent.github.io/gatekeeper/website/docs/exempt-namespaces).
GATEKEEPER_EXEMPT_FLAGS = (
    "--exempt-namespace",
    "--exempt-namespace-prefix",
    "--exempt-namespace-suffix",
)
# The gatekeeper-library templates' exemption parameters (`exemptImages`, ...): a constraint
# that gains entries there judges fewer objects, whatever its template's logic.
EXEMPT_PARAMETER = "exempt"
SELECTORS = ("namespaceSelector", "objectSelector", "matchConditions", "rules")  # a webhook's
GATEKEEPER_IGNORE = "admission.gatekeeper.sh/ignore"
# What a policy engine's webhooks are called (validation.gatekeeper.sh, validate.kyverno.svc):
# removing one stops every policy of the engine at admission.
POLICY_ENGINES = ("gatekeeper.sh", "kyverno.svc")
# Kyverno's ConfigMap keys that take requests out of every policy (kyverno.io/docs/
# installation/customization, "ConfigMap Keys"): listed entries, and selectors it writes into
# every webhook it registers.
KYVERNO_LISTS = ("excludeGroups", "excludeUsernames", "excludeRoles", "excludeClusterRoles")
KYVERNO_SELECTORS = ("webhooks", "matchConditions")
_FILTER = lazy_re.compile(r"\[([^\]]*)\]")
Change = tuple[str, int]  # what the head gives up, and the line that says it


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _plain(value: Any) -> Any:
    """`value` as JSON carries it, with its maps' keys sorted (compared, never shown)."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def _text(value: Any, default: str = "") -> str:
    return default if value is None else str(value)


def facts(document: Document) -> dict[str, Any] | None:
    """What says whether and where an admission policy is enforced, for the kinds that have
    it; None for every other object."""
    obj = _map(document.obj)
    api = _text(obj.get("apiVersion"))
    if not (api.startswith(GROUPS) or document.kind == "ConfigMap"):
        return None  # most objects: asked of every one the repository holds
    if document.source not in SOURCES:
        return None
    group = api.rpartition("/")[0]
    kind = document.kind
    spec = _map(obj.get("spec"))

    def line(*path: str | int) -> int:
        return document.locator.locate(path).line

    if group == "kyverno.io" and kind in ("ClusterPolicy", "Policy"):
        default = _text(spec.get("validationFailureAction"), "Audit").lower()
        rules: dict[str, Any] = {}
        for index, rule in enumerate(_list(spec.get("rules"))):
            validate = _map(_map(rule).get("validate"))
            if not validate:
                continue
            own = "failureAction" in validate  # else the policy's validationFailureAction
            checks = {k: v for k, v in validate.items() if not k.startswith("failureAction")}
            rules[_text(_map(rule).get("name"), str(index))] = {
                # what the rule checks (a rule renamed with the same checks is the same rule)
                "checks": json.dumps(_plain(checks), sort_keys=True),
                "action": _text(validate.get("failureAction"), default).lower(),
                # Kyverno 1.13+: namespaces where this rule only audits (api/kyverno/v1
                # Validation.failureActionOverrides), the policy-level overrides' peer
                "overrides": _plain(validate.get("failureActionOverrides")),
                "overridesLine": line("spec", "rules", index, "validate", "failureActionOverrides"),
                "exclude": _plain(_map(rule).get("exclude")),
                # when the rule applies at all (a failed precondition skips it)
                "preconditions": _plain(
                    [_map(rule).get("preconditions"), _map(rule).get("celPreconditions")]
                ),
                "preconditionsLine": line("spec", "rules", index, "preconditions"),
                "match": _plain(_map(rule).get("match")),
                "line": line("spec", "rules", index, "validate", "failureAction") if own else 0,
                "excludeLine": line("spec", "rules", index, "exclude"),
                "matchLine": line("spec", "rules", index, "match"),
            }
        hook = _map(spec.get("webhookConfiguration"))
        failure = hook.get("failurePolicy", spec.get("failurePolicy"))
        return {
            "admission": {
                "rules": rules,
                "failurePolicy": _text(failure, "Fail"),
                "overrides": _plain(spec.get("validationFailureActionOverrides")),
                "enabled": spec.get("admission") is not False,
                "conditions": _plain(hook.get("matchConditions")),
            },
            "lines": {
                "action": line("spec", "validationFailureAction"),
                "rules": line("spec", "rules"),
                "failurePolicy": line("spec", "failurePolicy")
                if "failurePolicy" in spec
                else line("spec", "webhookConfiguration", "failurePolicy"),
                "overrides": line("spec", "validationFailureActionOverrides"),
                "enabled": line("spec", "admission"),
                "conditions": line("spec", "webhookConfiguration", "matchConditions"),
            },
        }
    if group == "policies.kyverno.io" or (
        group == ADMISSION_GROUP and kind == "ValidatingAdmissionPolicy"
    ):
        if "validations" not in spec and "validationActions" not in spec:
            return None
        return {
            "admission": {
                "actions": _plain(spec.get("validationActions", ["Deny"])),
                "failurePolicy": _text(spec.get("failurePolicy"), "Fail"),
                "match": _plain([spec.get("matchConstraints"), spec.get("matchConditions")]),
            },
            "lines": {
                "actions": line("spec", "validationActions"),
                "failurePolicy": line("spec", "failurePolicy"),
                "match": line("spec", "matchConstraints"),
            },
        }
    if group == ADMISSION_GROUP and kind == "ValidatingAdmissionPolicyBinding":
        return {
            "admission": {
                "actions": _plain(spec.get("validationActions")),
                "match": _plain(spec.get("matchResources")),
                "policy": _text(spec.get("policyName")),
                "params": _plain(spec.get("paramRef")),
            },
            "lines": {
                "actions": line("spec", "validationActions"),
                "match": line("spec", "matchResources"),
                "policy": line("spec", "policyName"),
                "params": line("spec", "paramRef"),
            },
        }
    if group == ADMISSION_GROUP and kind == "ValidatingWebhookConfiguration":
        hooks: dict[str, Any] = {}
        for index, hook in enumerate(_list(obj.get("webhooks"))):
            hook = _map(hook)
            hooks[_text(hook.get("name"), str(index))] = {
                "failurePolicy": _text(hook.get("failurePolicy"), "Fail"),
                "selectors": _plain([hook.get(k) for k in SELECTORS]),
                "line": line("webhooks", index, "failurePolicy"),
                "selectorLine": line("webhooks", index, "namespaceSelector"),
            }
        return {"admission": {"webhooks": hooks}, "lines": {}}
    if group == "constraints.gatekeeper.sh":
        parameters = _map(spec.get("parameters"))
        return {
            "admission": {
                "action": _text(spec.get("enforcementAction"), "deny"),
                "scoped": _plain(spec.get("scopedEnforcementActions")),
                "match": _plain(spec.get("match")),
                "exempt": sorted(
                    f"{key}: {value}"
                    for key in parameters
                    if str(key).startswith(EXEMPT_PARAMETER)
                    for value in _list(parameters[key])
                ),
            },
            "lines": {
                "action": line("spec", "enforcementAction"),
                "match": line("spec", "match"),
                "exempt": line("spec", "parameters"),
            },
        }
    if group == "apps" and kind in ("Deployment", "StatefulSet", "DaemonSet"):
        return _gatekeeper_controller(spec, line)
    if (group == "argoproj.io" and kind == "Application") or (
        group == "helm.toolkit.fluxcd.io" and kind == "HelmRelease"
    ):
        from gatekeeper.admission_charts import policy_chart

        return policy_chart(kind, spec, line)
    if (group == PSS_GROUP and kind == "PodSecurityConfiguration") or (
        group.endswith("apiserver.config.k8s.io") and kind == "AdmissionConfiguration"
    ):
        return _pod_security(obj, line)
    if group == "" and kind == "ConfigMap":
        data = _map(obj.get("data"))
        keys = ("resourceFilters", *KYVERNO_LISTS, *KYVERNO_SELECTORS)
        if "resourceFilters" not in data and not (
            "kyverno" in document.name and any(key in data for key in keys)
        ):
            return None
        return {
            "admission": {"kyverno": {key: _text(data.get(key)) for key in keys if key in data}},
            "lines": {key: line("data", key) for key in keys if key in data},
        }
    return None


def _pod_security(obj: dict[str, Any], line: Any) -> dict[str, Any] | None:
    """The API server's Pod Security admission configuration (kubernetes.io/docs/tasks/
    configure-pod-container/enforce-standards-admission-controller): its default enforce
    level and its exemptions, as written or in an AdmissionConfiguration's PodSecurity plugin."""
    path: tuple[str | int, ...] = ()
    config = obj
    if obj.get("kind") == "AdmissionConfiguration":
        plugins = _list(obj.get("plugins"))
        index = next(
            (i for i, p in enumerate(plugins) if _map(p).get("name") == "PodSecurity"), None
        )
        if index is None:
            return None
        path = ("plugins", index, "configuration")
        config = _map(_map(plugins[index]).get("configuration"))
    defaults = _map(config.get("defaults"))
    exemptions = _map(config.get("exemptions"))
    level = _text(defaults.get("enforce"), "privileged")
    return {
        "admission": {
            "pss": PSS_LEVELS.get(level, 0),
            "level": level,
            "exempt": sorted(
                f"{key}: {value}" for key in PSS_EXEMPTIONS for value in _list(exemptions.get(key))
            ),
        },
        "lines": {
            "pss": line(*path, "defaults", "enforce"),
            "exempt": line(*path, "exemptions"),
        },
    }


def _gatekeeper_controller(spec: dict[str, Any], line: Any) -> dict[str, Any] | None:
    """OPA Gatekeeper's controller (an image of openpolicyagent/gatekeeper): the namespaces
    its --exempt-namespace(-prefix, -suffix) flags take out of every constraint."""
    pod = _map(_map(spec.get("template")).get("spec"))
    for index, container in enumerate(_list(pod.get("containers"))):
        container = _map(container)
        args = [_text(arg) for arg in _list(container.get("args"))]
        if "gatekeeper" not in _text(container.get("image")) and not any(
            arg.startswith(("--operation=", *GATEKEEPER_EXEMPT_FLAGS)) for arg in args
        ):
            continue  # (a mirrored image of another name: known by Gatekeeper's own flags)
        exempt = []
        for at, arg in enumerate(args):
            flag, equals, value = arg.partition("=")
            if flag in GATEKEEPER_EXEMPT_FLAGS:
                given = value if equals else (args[at + 1] if at + 1 < len(args) else "")
                exempt.append(f"{flag}={given}")
        return {
            "admission": {"gatekeeperExempt": sorted(exempt)},
            "lines": {
                "gatekeeperExempt": line("spec", "template", "spec", "containers", index, "args")
            },
        }
    return None


def _entries(text: str, key: str) -> set[str]:
    """The entries of a Kyverno ConfigMap key: `[kind,namespace,name]` filters, or a
    comma-separated list (a `!name` entry takes one back in: never an exclusion)."""
    if key == "resourceFilters":
        return {re.sub(r"\s+", "", entry) for entry in _FILTER.findall(text)}
    return {e.strip() for e in text.split(",") if e.strip() and not e.strip().startswith("!")}


def _json(text: str) -> Any:
    try:
        return _plain(json.loads(text))
    except ValueError:
        return text


def _kyverno_policy(
    was: dict[str, Any], now: dict[str, Any], lines: dict[str, int]
) -> list[Change]:
    out: list[Change] = []
    if was["enabled"] and not now["enabled"]:
        out.append(("turns its admission processing off (admission: false)", lines["enabled"]))
    if was["failurePolicy"] == "Fail" and now["failurePolicy"] == "Ignore":
        out.append(
            ("admits when its webhook fails (failurePolicy Fail -> Ignore)", lines["failurePolicy"])
        )
    if now["overrides"] != was["overrides"] and now["overrides"] is not None:
        out.append(
            (
                "changes the namespaces it only audits (validationFailureActionOverrides)",
                lines["overrides"],
            )
        )
    if now.get("conditions") not in (None, was.get("conditions")):
        out.append(
            (
                "changes which requests reach it (webhookConfiguration.matchConditions)",
                lines.get("conditions", 0),
            )
        )
    added = [r for n, r in now["rules"].items() if n not in was["rules"]]
    for name, rule in was["rules"].items():
        if rule["action"] != "enforce":
            continue
        head = now["rules"].get(name)
        if head is None:  # removed, or renamed (red team s18 v03: renamed and audit-only)
            if not any(
                other["action"] == "enforce" and other.get("checks") == rule.get("checks")
                for other in added
            ):
                what = f"no longer enforces rule {name} (removed, or renamed and changed)"
                out.append((what, lines.get("rules", 0)))
            continue
        if head["action"] != "enforce":
            out.append(
                (
                    f"only audits rule {name} (Enforce -> {head['action'].title()})",
                    head["line"] if head["line"] else lines["action"],
                )
            )
        elif head.get("overrides") not in (None, rule.get("overrides")):
            out.append(
                (
                    f"changes the namespaces rule {name} only audits (failureActionOverrides)",
                    head["overridesLine"],
                )
            )
        elif head.get("preconditions", [None, None]) not in (
            [None, None],
            rule.get("preconditions", [None, None]),
        ):
            what = f"changes when rule {name} applies (preconditions)"
            out.append((what, head["preconditionsLine"]))
        elif head["exclude"] != rule["exclude"] and head["exclude"] is not None:
            out.append((f"changes what rule {name} excludes", head["excludeLine"]))
        elif head.get("match") != rule.get("match"):
            out.append((f"changes what rule {name} matches", head["matchLine"]))
    return out


def _changes(was: dict[str, Any], now: dict[str, Any], lines: dict[str, int]) -> list[Change]:
    """What the head's object gives up that the base's enforced, each with its line."""
    out: list[Change] = []
    if "rules" in was and "rules" in now:
        return _kyverno_policy(was, now, lines)
    if "pss" in was and "pss" in now:
        if now["pss"] < was["pss"]:
            what = f"lowers the default Pod Security enforce from {was['level']} to {now['level']}"
            out.append((what, lines["pss"]))
        added = sorted(set(now["exempt"]) - set(was["exempt"]))
        if added:
            what = f"exempts {'; '.join(added)} from Pod Security admission"
            out.append((what, lines["exempt"]))
        return out
    if "webhooks" in was and "webhooks" in now:
        for name, hook in now["webhooks"].items():
            before = was["webhooks"].get(name)
            if before is None:
                continue
            if before["failurePolicy"] == "Fail" and hook["failurePolicy"] == "Ignore":
                out.append(
                    (
                        f"admits when webhook {name} fails (failurePolicy Fail -> Ignore)",
                        hook["line"],
                    )
                )
            if before["selectors"] != hook["selectors"]:
                out.append(
                    (
                        f"changes which requests webhook {name} sees (selectors, rules)",
                        hook["selectorLine"],
                    )
                )
        return out
    if "gatekeeperExempt" in was and "gatekeeperExempt" in now:
        added = sorted(set(now["gatekeeperExempt"]) - set(was["gatekeeperExempt"]))
        if added:
            what = f"exempts {', '.join(added)} from every OPA Gatekeeper constraint"
            out.append((what, lines.get("gatekeeperExempt", 0)))
        return out
    if "kyverno" in was and "kyverno" in now:
        before, after = was["kyverno"], now["kyverno"]
        for key in ("resourceFilters", *KYVERNO_LISTS):
            added = sorted(_entries(after.get(key, ""), key) - _entries(before.get(key, ""), key))
            if added:
                out.append(
                    (
                        f"takes {', '.join(added)} out of every Kyverno policy ({key})",
                        lines.get(key, 1),
                    )
                )
        for key in KYVERNO_SELECTORS:
            if key in after and _json(after[key]) != _json(before.get(key, "")):
                out.append(
                    (f"changes which requests reach Kyverno's webhooks ({key})", lines.get(key, 1))
                )
        return out
    if "policyChart" in was and "policyChart" in now:
        from gatekeeper.admission_charts import chart_changes

        return chart_changes(was["policyChart"], now["policyChart"], lines)
    if "scoped" in was and "scoped" in now:
        if was["action"].lower() == "deny" and now["action"].lower() != "deny":
            out.append(
                (f"no longer denies (enforcementAction deny -> {now['action']})", lines["action"])
            )
        if now["match"] != was["match"]:
            out.append(("changes which objects the constraint judges (match)", lines["match"]))
        added = sorted(set(now.get("exempt", ())) - set(was.get("exempt", ())))
        if added:
            what = f"exempts {'; '.join(added)} (its parameters)"
            out.append((what, lines.get("exempt", 0)))
        return out
    if "actions" in was and "actions" in now:
        if "policy" in was:  # a ValidatingAdmissionPolicyBinding
            if "Deny" in _list(was["actions"]) and "Deny" not in _list(now["actions"]):
                shown = ", ".join(str(a) for a in _list(now["actions"])) or "none"
                out.append((f"no longer denies (validationActions: {shown})", lines["actions"]))
            for key, what in (
                ("policy", "policyName"),
                ("params", "paramRef"),
                ("match", "matchResources"),
            ):
                if now[key] != was[key]:
                    out.append((f"changes what it binds ({what})", lines[key]))
            return out
        if "Deny" in _list(was["actions"]) and "Deny" not in _list(now["actions"]):
            out.append(("no longer denies (validationActions)", lines["actions"]))
        if was["failurePolicy"] == "Fail" and now["failurePolicy"] == "Ignore":
            out.append(
                (
                    "admits when it cannot judge (failurePolicy Fail -> Ignore)",
                    lines["failurePolicy"],
                )
            )
        if now["match"] != was["match"]:
            what = "changes which requests it judges (matchConstraints, matchConditions)"
            out.append((what, lines["match"]))
    return out


def _enforcing(facts: dict[str, Any]) -> bool:
    """Does an object deny what breaks it (a Kyverno policy with an Enforce rule, a
    validating policy or binding with Deny, a Gatekeeper constraint in deny, a policy engine's
    webhook, a Pod Security configuration enforcing more than privileged by default)? Its
    removal weakens the gate (other webhooks and Kyverno's ConfigMap: the default is not
    weaker)."""
    if "rules" in facts:
        return bool(facts["enabled"]) and any(
            rule["action"] == "enforce" for rule in facts["rules"].values()
        )
    if "actions" in facts:
        return "Deny" in _list(facts["actions"])
    if "scoped" in facts:
        return str(facts["action"]).lower() == "deny"
    if "policyChart" in facts:
        from gatekeeper.admission_charts import chart_enforces

        return chart_enforces(facts["policyChart"])
    if "webhooks" in facts:  # a policy engine's own webhook: no policy of it is enforced
        return any(engine in name for name in facts["webhooks"] for engine in POLICY_ENGINES)
    if "pss" in facts:  # the API server's Pod Security defaults: privileged without them
        return bool(facts["pss"])
    return False


def _key(entry: InventoryEntry) -> tuple[str, str, str, str]:
    return (entry.api_version.rpartition("/")[0], entry.kind, entry.namespace, entry.name)


def _admission(entry: InventoryEntry) -> dict[str, Any] | None:
    facts = entry.facts
    if entry.source not in SOURCES or not isinstance(facts, dict):
        return None
    found = facts.get("admission")
    return found if isinstance(found, dict) else None


def _weaker_than_base(
    entry: InventoryEntry, now: dict[str, Any], base: list[InventoryEntry], was_at: str
) -> list[Change]:
    """What `entry` gives up against the base's object of the same name: the one of the same
    file (`was_at`, the path it had before a rename) and overlay or release when there is one
    (an overlay's audit-only copy of a policy another one enforces is not weaker than
    itself); else against any of them (a file deleted and written again elsewhere)."""
    lines = entry.facts.get("lines") or {}
    same = [b for b in base if b.file == was_at and b.variant == entry.variant]
    for other in same or base:
        found = _changes(_admission(other) or {}, now, lines)
        if found or same:
            return found
    return []


def _removed(
    before: dict[tuple[str, str, str, str], list[InventoryEntry]],
    head: Sequence[InventoryEntry],
    renamed: Mapping[str, str],
) -> list[InventoryEntry]:
    """The base's enforcing objects the head no longer has: none of the same name from the
    same file (or the file it was renamed to) and overlay. One written again in another file
    is still said: that the other file is deployed is not known here (`docs/policy.yaml`)."""
    deployed: dict[tuple[str, str, str, str], set[tuple[str, str]]] = {}
    for entry in head:
        if _admission(entry) is not None:
            place = (renamed.get(entry.file, entry.file), entry.variant)
            deployed.setdefault(_key(entry), set()).add(place)
    out = []
    for key, entries in before.items():
        places = deployed.get(key, set())
        out += [
            entry
            for entry in entries
            if (entry.file, entry.variant) not in places and _enforcing(_admission(entry) or {})
        ]
    return out


def _namespace_selectors(entries: Sequence[InventoryEntry]) -> list[tuple[str, Any]]:
    """(what, namespaceSelector) of every webhook, denying binding and denying constraint
    among `entries` that chooses the namespaces it judges by their labels."""
    out = []
    for entry in entries:
        facts = _admission(entry)
        if facts is None:
            continue
        if "webhooks" in facts:
            for name, hook in facts["webhooks"].items():
                chosen = _list(hook.get("selectors"))[:1]
                if chosen and isinstance(chosen[0], dict) and chosen[0]:
                    out.append((f"webhook {name}", chosen[0]))
        elif ("policy" in facts and "Deny" in _list(facts.get("actions"))) or (
            "scoped" in facts and str(facts.get("action")).lower() == "deny"
        ):
            selector = _map(facts.get("match")).get("namespaceSelector")
            if isinstance(selector, dict) and selector:
                out.append((f"{entry.kind} {entry.name}", selector))
    return out


def _head_changes(
    entry: InventoryEntry,
    before: dict[tuple[str, str, str, str], list[InventoryEntry]],
    ignored: set[str],
    renamed: Mapping[str, str],
    namespaces: Mapping[str, dict[str, str]],
    selectors: Sequence[tuple[str, Any]],
) -> list[Change]:
    """What a head object gives up against the base (a Namespace: Gatekeeper's ignore label
    the base's had not, or labels that take it out of what a webhook, a binding or a
    constraint selects by `namespaceSelector`)."""
    if entry.kind == "Namespace" and entry.source in SOURCES:
        from gatekeeper.admission import label_selected

        out: list[Change] = []
        if GATEKEEPER_IGNORE in entry.labels and entry.name not in ignored:
            out.append(
                (f"is exempt from OPA Gatekeeper's webhook ({GATEKEEPER_IGNORE})", entry.line)
            )
        was = namespaces.get(entry.name)
        if was is None:
            return out  # a new Namespace is never weaker than nothing
        for what, selector in selectors:
            if label_selected(selector, was) and not label_selected(selector, entry.labels):
                out.append((f"leaves what {what} judges (its labels, namespaceSelector)", 0))
        return out
    now = _admission(entry)
    if now is None:
        return []
    was_at = renamed.get(entry.file, entry.file)
    return _weaker_than_base(entry, now, before.get(_key(entry), []), was_at)


def weakened(
    base: Sequence[InventoryEntry],
    head: Sequence[InventoryEntry],
    engine: Engine,
    renamed: Mapping[str, str],
    unchanged: Sequence[InventoryEntry] = (),
) -> list[Finding]:
    """The head's objects that enforce less than the base's of the same name (and
    Namespaces the change labels with Gatekeeper's ignore label, or out of what a webhook,
    binding or constraint of the repository selects: `unchanged`, the head's other objects):
    K8S-ADMISSION-POLICY-EXCEPTION findings at the field that says it. `renamed`: head path
    -> base path."""
    policy = next((p for p in engine.policies if p.id == POLICY_ID), None)
    if policy is None:
        return []
    before: dict[tuple[str, str, str, str], list[InventoryEntry]] = {}
    ignored: set[str] = set()
    namespaces: dict[str, dict[str, str]] = {}  # the base's Namespaces' labels
    for entry in base:
        if entry.kind == "Namespace" and entry.source in SOURCES:
            namespaces.setdefault(entry.name, dict(entry.labels))
            if GATEKEEPER_IGNORE in entry.labels:
                ignored.add(entry.name)
        elif _admission(entry) is not None:
            before.setdefault(_key(entry), []).append(entry)
    out: list[Finding] = []
    seen: set[str] = set()
    removed = [
        (entry, [("is no longer deployed (removed by this change)", 0)])
        for entry in _removed(before, head, renamed)
    ]
    selectors = _namespace_selectors([*head, *unchanged])
    judged = [
        (entry, _head_changes(entry, before, ignored, renamed, namespaces, selectors))
        for entry in head
    ]
    for entry, changes in [*removed, *judged]:
        for what, line in changes:
            found = weakened_finding(policy, entry, what, line, entry.file)
            if found.fingerprint in seen:
                continue
            seen.add(found.fingerprint)
            out.append(found)
    return out


def weakened_finding(
    policy: Any, entry: InventoryEntry, what: str, line: int, file: str
) -> Finding:
    """`entry` (an admission object) weakened by this change, `what` saying how: at `line`
    of `file` (0: the entry's own line); its fingerprint names the weakening, not the line
    (admission_params says a params object's weakening with it too)."""
    return Finding(
        policy_id=policy.id,
        severity=policy.severity,
        title=policy.title,
        message=" ".join(filter(None, (entry.kind, entry.name, what)))
        + ": the cluster admits, from anything that creates objects there, what it refused",
        file=file,
        line=line or entry.line,
        path="metadata",
        source=entry.source,
        kind=entry.kind,
        namespace=entry.namespace,
        name=entry.name,
        fingerprint=fingerprint(
            policy.id, entry.source, entry.kind, entry.namespace, entry.name, f"weakened {what}"
        ),
        remediation=policy.remediation,
    )
