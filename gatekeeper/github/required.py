"""Is the check required on the base branch? Without that, a failing check blocks nothing.

Two places can require it: classic branch protection (its summary comes with the branch,
readable with read access; the `required_status_checks` endpoint needs administration rights:
403 otherwise, 404 when the branch or its status checks are not protected) and repository
rulesets (`rules for a branch`, readable with read access): a `required_status_checks` rule
naming the check, or a `workflows` rule requiring this workflow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from gatekeeper.github.client import Client, PublishError


@dataclass(frozen=True)
class Requirement:
    state: str  # "required" | "not required" | "unknown"
    detail: str

    def note(self, check_name: str, branch: str) -> str:
        if self.state == "required":
            return f"the check {check_name!r} is required on {branch}: {self.detail}"
        if self.state == "not required":
            return (
                f"WARNING: the check {check_name!r} is not required on {branch} ({self.detail}): "
                "a failing check does not block merging; require it in branch protection "
                "or a ruleset"
            )
        return (
            f"whether the check {check_name!r} is required on {branch} is unknown "
            f"({self.detail}); unless it is required, a failing check does not block merging"
        )


def requirement(
    client: Client, repository: str, branch: str, check_name: str, workflow: str = ""
) -> Requirement:
    """`workflow`: this run's workflow file path (a ruleset may require the workflow itself)."""
    if not branch:
        return Requirement("unknown", "the event names no base branch")
    name = quote(branch, safe="")
    repo = f"/repos/{repository}"
    try:
        rules = client.get_json("read rules for a branch", f"{repo}/rules/branches/{name}")
        found = required_by_rules(rules, check_name, workflow)
        if found:
            return Requirement("required", found)
        rules_read = True
    except PublishError:
        rules_read = False
    contexts = _protection_contexts(client, repo, name)
    if isinstance(contexts, str):
        return Requirement("unknown", contexts)
    if check_name in contexts:
        return Requirement("required", "branch protection requires it")
    if not rules_read:
        return Requirement("unknown", "branch protection does not list it; rulesets unreadable")
    return Requirement("not required", "neither branch protection nor a ruleset lists it")


def _protection_contexts(client: Client, repo: str, name: str) -> set[str] | str:
    """The checks classic branch protection requires, or why that is unknown. The branch
    itself (readable with read access) usually says; the protection endpoint needs admin."""
    try:
        found = client.get_json("read the base branch", f"{repo}/branches/{name}")
    except PublishError as error:
        return f"the base branch could not be read ({error})"
    if not isinstance(found, dict):
        return "the base branch answer is not an object"
    if found.get("protected") is False:
        return set()
    protection = found.get("protection")
    checks = protection.get("required_status_checks") if isinstance(protection, dict) else None
    if not isinstance(checks, dict):
        try:
            checks = client.get_json(
                "read required status checks",
                f"{repo}/branches/{name}/protection/required_status_checks",
            )
        except PublishError as error:
            if error.status == 404:  # protected, without required status checks
                return set()
            if error.status == 403:
                return "the token cannot read branch protection"
            return str(error)
    elif checks.get("enforcement_level") == "off":
        return set()
    if not isinstance(checks, dict):
        return "the required status checks answer is not an object"
    contexts = {str(c) for c in checks.get("contexts") or []}
    return contexts | {
        str(c.get("context")) for c in checks.get("checks") or [] if isinstance(c, dict)
    }


def required_by_rules(rules: Any, check_name: str, workflow: str) -> str:
    for rule in rules if isinstance(rules, list) else []:
        if not isinstance(rule, dict):
            continue
        parameters = rule.get("parameters") or {}
        if rule.get("type") == "required_status_checks":
            for check in parameters.get("required_status_checks") or []:
                if check.get("context") == check_name:
                    return "a ruleset requires it"
        if rule.get("type") == "workflows" and workflow:
            for entry in parameters.get("workflows") or []:
                if entry.get("path") == workflow:
                    return f"a ruleset requires the workflow {workflow}"
    return ""
