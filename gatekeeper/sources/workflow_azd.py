"""A job that makes an Azure Developer CLI environment of its own and tears it down.

`azd env new e2e-123` then `azd up` then `azd down --force --purge` (aks-store-demo's end to
end tests) provisions a fresh resource group with its own AKS cluster, tests against it and
deletes it: like a kind cluster in the runner, nothing that outlives the job is deployed, so
its commands are a test and not a deploy (WF-GITOPS-IMPERATIVE-DEPLOY's throwaway rule).

The rule is as tight as the kind one: the job is no longer throwaway when anything in it may
aim at an environment or resource that exists before the job, because then `azd up` or
`azd deploy` changes it:
- an `azd` command or `AZURE_ENV_NAME` names another environment than the one made
  (`-e prod`, `azd env select prod`), or the job uses an environment before making one;
- `azd env refresh` (it reads the outputs of an existing deployment);
- `azd env set` or an `env:` value names an existing resource (`AZURE_RESOURCE_GROUP`,
  `AZURE_AKS_CLUSTER_NAME`, any `*_NAME`, `*_ID`, `*_ENDPOINT`...), except the subscription,
  tenant, principal and location the fresh environment is made in;
- no `azd down` follows in a step that runs (the environment would outlive the job).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gatekeeper import lazy_re

# Keys that name something existing which azd would deploy into rather than create.
_EXISTING = lazy_re.compile(r"(?i)(RESOURCE_GROUP|_NAME|_ID|_ENDPOINT|_URL|_URI|_HOST|_SERVER)$")
_WHERE_MADE = frozenset(
    {"AZURE_ENV_NAME", "AZURE_SUBSCRIPTION_ID", "AZURE_TENANT_ID", "AZURE_PRINCIPAL_ID",
     "AZURE_CLIENT_ID", "AZURE_LOCATION"}
)  # fmt: skip
# Commands that use no environment: logging in and configuring the CLI may come first.
_NO_ENVIRONMENT = frozenset({"auth", "config", "version", "login", "completion", "template"})


def _named_environment(args: list[str]) -> str | None:
    """The environment an azd command names with `-e NAME`, `--environment NAME` or `=NAME`."""
    for index, arg in enumerate(args):
        if arg in ("-e", "--environment") and index + 1 < len(args):
            return args[index + 1]
        for option in ("-e=", "--environment="):
            if arg.startswith(option):
                return arg[len(option) :]
    return None


def _names_existing(values: dict[str, str]) -> bool:
    return any(_EXISTING.search(key) and key not in _WHERE_MADE for key in values)


def makes_and_destroys(
    environments: list[dict[str, str]],
    steps: list[tuple[dict[str, Any], list[dict[str, Any]]]],
    step_env: Callable[[dict[str, Any]], dict[str, str]],
) -> bool:
    """Whether a job's azd commands only provision an environment it makes and tears down.

    `environments` are the workflow's and the job's `env:`, `steps` the running steps with
    their commands, `step_env` reads a step's `env:`.
    """
    created: str | None = None
    destroyed = False
    for step, commands in steps:
        values: dict[str, str] = {}
        for env in [*environments, step_env(step)]:
            values.update(env)
        for command in commands:
            if command["program"] != "azd":
                continue
            args = [str(arg) for arg in command["args"]]
            positional = [str(word) for word in command["positional"]]
            if positional[:2] == ["env", "new"] and len(positional) > 2 and created is None:
                created = positional[2]
                continue
            if positional[:1] and positional[0] in _NO_ENVIRONMENT:
                continue
            named = _named_environment(args)
            if positional[:2] == ["env", "select"] and len(positional) > 2:
                named = positional[2]
            if named is None and "AZURE_ENV_NAME" in values:
                named = values["AZURE_ENV_NAME"]
            if created is None or (named is not None and named != created):
                return False
            if positional[:2] == ["env", "refresh"]:
                return False
            if positional[:2] == ["env", "set"] and _names_existing(
                {positional[2]: ""} if len(positional) > 2 else {}
            ):
                return False
            if _names_existing(values):
                return False
            if positional[:1] == ["down"]:
                destroyed = True
    return created is not None and destroyed
