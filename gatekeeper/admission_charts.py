"""Releases of the kyverno/kyverno-policies chart: its values say whether its policies enforce.

The chart installs Kyverno's Pod Security policies from its Helm repository; an Argo CD
Application or a Flux HelmRelease gives it values, and nothing renders a remote chart here,
so a pull request turning `validationFailureAction: Enforce` to `Audit` in the release changed
no object this scan sees (red team s18 v04). The values that say whether and where its
policies enforce (charts/kyverno-policies/values.yaml of github:kyverno/kyverno) are
summarised and compared with the base's release, as admission_weakened compares policies.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import yaml

CHART = "kyverno-policies"
# The chart's defaults (values.yaml): Audit, baseline, Fail.
DEFAULTS = {"validationFailureAction": "Audit", "podSecurityStandard": "baseline"}
LEVELS = {"privileged": 0, "baseline": 1, "restricted": 2}
# Values whose new entries take requests out of (or into audit for) the chart's policies.
NARROWING = (
    "validationFailureActionByPolicy",
    "validationFailureActionOverrides",
    "policyExclude",
    "policyPreconditions",
)
KEYS = ("validationFailureAction", "podSecurityStandard", "failurePolicy", *NARROWING)
Line = Callable[..., int]


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def policy_chart(kind: str, spec: dict[str, Any], line: Line) -> dict[str, Any] | None:
    """The kyverno-policies values of an Argo CD Application (a source's `helm.values`,
    `valuesObject`, top-level `parameters`) or a Flux HelmRelease (`values`), with the line
    of each; None for a release of any other chart."""
    if kind == "HelmRelease":
        chart = _map(_map(spec.get("chart")).get("spec")).get("chart")
        if chart != CHART:
            return None
        return _facts([(_map(spec.get("values")), ("spec", "values"), True)], line)
    listed = spec.get("sources") if isinstance(spec.get("sources"), list) else []
    sources: list[tuple[tuple[Any, ...], Any]] = [(("spec", "source"), spec.get("source"))]
    sources += [(("spec", "sources", i), source) for i, source in enumerate(listed or [])]
    for at, source in sources:
        source = _map(source)
        if source.get("chart") != CHART:
            continue
        helm = _map(source.get("helm"))
        written = helm.get("values")
        try:
            text = yaml.safe_load(written) if isinstance(written, str) else written
        except yaml.YAMLError:
            text = None
        parameters = {
            str(_map(p).get("name")): _map(p).get("value")
            for p in helm.get("parameters") or []
            if isinstance(p, dict)
        }
        layers = [  # Argo CD's order: values, then valuesObject over it, then parameters
            (_map(text), (*at, "helm", "values"), False),
            (_map(helm.get("valuesObject")), (*at, "helm", "valuesObject"), True),
            (parameters, (*at, "helm", "parameters"), False),
        ]
        return _facts(layers, line)
    return None


Layer = tuple[dict[str, Any], tuple[Any, ...], bool]  # values, their field, keyed by name


def _facts(layers: list[Layer], line: Line) -> dict[str, Any]:
    """The values of KEYS, the last layer's winning, each with its line (the key's own in a
    mapping of the manifest, else the field holding the values)."""
    values: dict[str, str] = {}
    lines: dict[str, int] = {}
    for given, path, keyed in layers:
        for key in KEYS:
            if key in given:
                values[key] = json.dumps(given[key], sort_keys=True, default=str)
                lines[f"chart.{key}"] = line(*path, key) if keyed else line(*path)
    return {"admission": {"policyChart": values}, "lines": lines}


def _value(values: dict[str, str], key: str) -> Any:
    return json.loads(values[key]) if key in values else DEFAULTS.get(key)


def _enforce(value: Any) -> bool:
    return str(value).lower() == "enforce"


def chart_enforces(values: dict[str, str]) -> bool:
    """Does the release enforce any of its policies (its removal then weakens the gate)?"""
    by_policy = _map(_value(values, "validationFailureActionByPolicy")).values()
    return _enforce(_value(values, "validationFailureAction")) or any(map(_enforce, by_policy))


def chart_changes(
    was: dict[str, str], now: dict[str, str], lines: dict[str, int]
) -> list[tuple[str, int]]:
    """What the head's values give up that the base's enforced."""
    out: list[tuple[str, int]] = []

    def at(key: str) -> int:
        return lines.get(f"chart.{key}", 0)

    action = "validationFailureAction"
    if _enforce(_value(was, action)) and not _enforce(_value(now, action)):
        shown = _value(now, action)
        out.append((f"only audits the {CHART} chart's policies ({action}: {shown})", at(action)))
    level = "podSecurityStandard"
    before, after = str(_value(was, level)), str(_value(now, level))
    if after != before and LEVELS.get(after, -1) < LEVELS.get(before, -1):
        out.append((f"installs the {after} policies of the {CHART} chart, not {before}", at(level)))
    if str(_value(was, "failurePolicy")) != "Ignore" and _value(now, "failurePolicy") == "Ignore":
        what = "admits when Kyverno's webhook fails (failurePolicy Ignore)"
        out.append((what, at("failurePolicy")))
    for key in NARROWING:
        if now.get(key) not in (None, was.get(key)) and _map(_value(now, key)):
            out.append((f"changes where the {CHART} chart's policies enforce ({key})", at(key)))
    return out
