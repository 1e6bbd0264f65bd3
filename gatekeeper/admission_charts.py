"""Releases of the charts that install a cluster's admission policies, whose values say
whether they enforce: kyverno/kyverno-policies and OPA Gatekeeper's own chart.

Each is installed from its Helm repository by an Argo CD Application or a Flux HelmRelease
with values from this repository, and nothing renders a remote chart here, so a pull request
turning kyverno-policies' `validationFailureAction: Enforce` to `Audit`, or Gatekeeper's
`disableValidatingWebhook` on, changed no object this scan sees (red team s18 v04). The values
that say whether and where the policies enforce (charts/kyverno-policies/values.yaml of
github:kyverno/kyverno, charts/gatekeeper/values.yaml of github:open-policy-agent/gatekeeper)
are summarised and compared with the base's release, as admission_weakened compares policies.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import yaml

from gatekeeper.yamldoc import safe_load

KYVERNO = "kyverno-policies"
GATEKEEPER = "gatekeeper"
# The charts' defaults (their values.yaml) of what is compared.
DEFAULTS: dict[str, dict[str, Any]] = {
    KYVERNO: {"validationFailureAction": "Audit", "podSecurityStandard": "baseline"},
    GATEKEEPER: {"validatingWebhookFailurePolicy": "Ignore"},
}
LEVELS = {"privileged": 0, "baseline": 1, "restricted": 2}
# Values whose new (or changed) content takes requests out of the policies, or into audit.
NARROWING = {
    KYVERNO: (
        "validationFailureActionByPolicy",
        "validationFailureActionOverrides",
        "policyExclude",
        "policyPreconditions",
    ),
    GATEKEEPER: (
        "controllerManager.exemptNamespaces",
        "controllerManager.exemptNamespacePrefixes",
        "validatingWebhookExemptNamespacesLabels",
        "validatingWebhookObjectSelector",
        "validatingWebhookMatchConditions",
        "validatingWebhookCustomRules",
    ),
}
# Switches that turn the engine's admission off when true.
SWITCHES = {GATEKEEPER: ("disableValidatingWebhook", "controllerManager.disableWebhookOperation")}
KEYS = {
    KYVERNO: (
        "validationFailureAction",
        "podSecurityStandard",
        "failurePolicy",
        *NARROWING[KYVERNO],
    ),
    GATEKEEPER: ("validatingWebhookFailurePolicy", *SWITCHES[GATEKEEPER], *NARROWING[GATEKEEPER]),
}
Line = Callable[..., int]
Layer = tuple[dict[str, Any], tuple[Any, ...], bool]  # values, their field, keyed by name


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def policy_chart(kind: str, spec: dict[str, Any], line: Line) -> dict[str, Any] | None:
    """The compared values of a release of one of the charts: an Argo CD Application (a
    source's `helm.values`, `valuesObject`, `parameters`) or a Flux HelmRelease (`values`),
    with the line of each; None for a release of any other chart."""
    if kind == "HelmRelease":
        chart = _map(_map(spec.get("chart")).get("spec")).get("chart")
        if chart not in KEYS:
            return None
        return _facts(str(chart), [(_map(spec.get("values")), ("spec", "values"), True)], line)
    listed = spec.get("sources") if isinstance(spec.get("sources"), list) else []
    sources: list[tuple[tuple[Any, ...], Any]] = [(("spec", "source"), spec.get("source"))]
    sources += [(("spec", "sources", i), source) for i, source in enumerate(listed or [])]
    for at, source in sources:
        source = _map(source)
        chart = source.get("chart")
        if chart not in KEYS:
            continue
        helm = _map(source.get("helm"))
        written = helm.get("values")
        try:
            text = safe_load(written) if isinstance(written, str) else written
        except yaml.YAMLError:
            text = None
        parameters = {
            str(_map(p).get("name")): _map(p).get("value")
            for p in helm.get("parameters") or []
            if isinstance(p, dict)
        }
        layers: list[Layer] = [  # Argo CD's order: values, valuesObject over it, parameters
            (_map(text), (*at, "helm", "values"), False),
            (_map(helm.get("valuesObject")), (*at, "helm", "valuesObject"), True),
            (parameters, (*at, "helm", "parameters"), False),
        ]
        return _facts(str(chart), layers, line)
    return None


def _lookup(given: dict[str, Any], key: str) -> tuple[bool, Any]:
    """A dotted key's value in nested values (a parameter's name is already dotted)."""
    if key in given:
        return True, given[key]
    here: Any = given
    for part in key.split("."):
        if not isinstance(here, dict) or part not in here:
            return False, None
        here = here[part]
    return True, here


def _facts(chart: str, layers: list[Layer], line: Line) -> dict[str, Any]:
    """The values of the chart's KEYS, the last layer's winning, each with its line (the
    key's own in a mapping of the manifest, else the field holding the values)."""
    values: dict[str, str] = {"chart": json.dumps(chart)}
    lines: dict[str, int] = {}
    for given, path, keyed in layers:
        for key in KEYS[chart]:
            found, value = _lookup(given, key)
            if found:
                values[key] = json.dumps(value, sort_keys=True, default=str)
                lines[f"chart.{key}"] = line(*path, *key.split(".")) if keyed else line(*path)
    return {"admission": {"policyChart": values}, "lines": lines}


def _value(values: dict[str, str], key: str) -> Any:
    chart = json.loads(values.get("chart", json.dumps(KYVERNO)))
    return json.loads(values[key]) if key in values else DEFAULTS[chart].get(key)


def _enforce(value: Any) -> bool:
    return str(value).lower() == "enforce"


def _true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def chart_enforces(values: dict[str, str]) -> bool:
    """Does the release enforce (its removal then weakens the gate)? Gatekeeper's, unless
    its webhook is off; kyverno-policies', when any policy is set to Enforce."""
    if json.loads(values.get("chart", json.dumps(KYVERNO))) == GATEKEEPER:
        return not any(_true(_value(values, key)) for key in SWITCHES[GATEKEEPER])
    by_policy = _map(_value(values, "validationFailureActionByPolicy")).values()
    return _enforce(_value(values, "validationFailureAction")) or any(map(_enforce, by_policy))


def chart_changes(
    was: dict[str, str], now: dict[str, str], lines: dict[str, int]
) -> list[tuple[str, int]]:
    """What the head's values give up that the base's enforced."""
    chart = json.loads(now.get("chart", json.dumps(KYVERNO)))
    if was.get("chart", json.dumps(KYVERNO)) != now.get("chart", json.dumps(KYVERNO)):
        return []
    out: list[tuple[str, int]] = []

    def at(key: str) -> int:
        return lines.get(f"chart.{key}", 0)

    if chart == KYVERNO:
        action = "validationFailureAction"
        if _enforce(_value(was, action)) and not _enforce(_value(now, action)):
            what = f"only audits the {chart} chart's policies ({action}: {_value(now, action)})"
            out.append((what, at(action)))
        level = "podSecurityStandard"
        before, after = str(_value(was, level)), str(_value(now, level))
        if after != before and LEVELS.get(after, -1) < LEVELS.get(before, -1):
            what = f"installs the {after} policies of the {chart} chart, not {before}"
            out.append((what, at(level)))
    failure = "failurePolicy" if chart == KYVERNO else "validatingWebhookFailurePolicy"
    if str(_value(was, failure)) != "Ignore" and _value(now, failure) == "Ignore":
        what = f"admits when the policy engine's webhook fails ({failure} Ignore)"
        out.append((what, at(failure)))
    for key in SWITCHES.get(chart, ()):
        if _true(_value(now, key)) and not _true(_value(was, key)):
            out.append((f"turns OPA Gatekeeper's admission webhook off ({key})", at(key)))
    for key in NARROWING[chart]:
        if key in now and _widened(_value(was, key), _value(now, key)):
            out.append((f"changes where the {chart} chart's policies enforce ({key})", at(key)))
    return out


def _widened(before: Any, after: Any) -> bool:
    """Does `after` hold an exemption (a list entry, a map key's value) `before` had not?
    Taking one out is no weakening."""
    if isinstance(before, list) and isinstance(after, list):
        return any(item not in before for item in after)
    if isinstance(before, dict) and isinstance(after, dict):
        return any(
            value != before.get(key) and _widened(before.get(key), value)
            for key, value in after.items()
        )
    return after != before and bool(after)
