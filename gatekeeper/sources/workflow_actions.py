"""Actions whose inputs are commands: a step `uses:` one of these runs what its `with:` input
says, so that input is split into commands like a `run:` script (and judged command by
command by WF-GITOPS-IMPERATIVE-DEPLOY). Actions that deploy on their own, without a command
line (azure/k8s-deploy, deliverybot/helm), are WF-GITOPS-DEPLOY-ACTION's `deployActions`.

One row per action (lower case, as `uses:` is matched): the input holding the commands, the
program its words follow (`kubectl ` when the input is `apply -f k8s/`; empty when it is a
whole command line or script), and the input's language.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CommandInput:
    input: str
    program: str = ""  # prefixed to the input's text
    language: str = "shell"  # shell | javascript
    # an input naming another program to run the words with (hiberbee's `entrypoint: helm`
    # runs `helm upgrade ...`, not skaffold: red team s24 trust18 c04)
    entrypoint: str = ""


COMMAND_ACTIONS: dict[str, CommandInput] = {
    # kubectl / helm wrappers
    "steebchen/kubectl": CommandInput("command", "kubectl "),
    "actions-hub/kubectl": CommandInput("args", "kubectl "),
    "wahyd4/kubectl-helm-action": CommandInput("args"),
    "wyrihaximus/github-action-helm3": CommandInput("exec"),
    "koslib/helm-eks-action": CommandInput("command"),
    "stefanprodan/kube-tools": CommandInput("command"),
    # kubectl's words in a container (`args: set image deployment/web ...`; kodermax runs
    # `sh -c "kubectl $*"`): red team s23 trust16 c14
    "ianbelcher/eks-kubectl-action": CommandInput("args", "kubectl "),
    "kodermax/kubectl-aws-eks": CommandInput("args", "kubectl "),
    "nickgronow/kubectl": CommandInput("args", "kubectl "),
    # skaffold's words (`args: run`; `build` when not given: red team s23 trust16 c10)
    "hiberbee/github-action-skaffold": CommandInput("args", "skaffold ", entrypoint="entrypoint"),
    # scripts run on the runner or on a remote host
    "actions/github-script": CommandInput("script", language="javascript"),
    "azure/cli": CommandInput("inlinescript"),
    "azure/powershell": CommandInput("inlinescript"),
    "appleboy/ssh-action": CommandInput("script"),
    "google-github-actions/ssh-compute": CommandInput("command"),
    "garygrossgarten/github-action-ssh": CommandInput("command"),
    # a command run by a wrapper: retried, in a container, its output kept (red team s22
    # trust15 c26: `${{ github.event.issue.title }}` pasted into them was no injection)
    "nick-fields/retry": CommandInput("command"),
    "nick-invision/retry": CommandInput("command"),
    "wandalen/wretry.action": CommandInput("command"),
    "addnab/docker-run-action": CommandInput("run"),
    "mathiasvr/command-output": CommandInput("run"),
    "mikefarah/yq": CommandInput("cmd"),
}


def command_input(action: str, given: dict[str, object]) -> tuple[str, CommandInput] | None:
    """The `with:` key (as written: inputs are case-insensitive) and row of the command
    input of `action`, when it is one of the table's and the step gives that input."""
    row = COMMAND_ACTIONS.get(action)
    if row is None:
        return None
    for key in given:
        if str(key).lower() == row.input:
            return str(key), _with_entrypoint(row, given)
    return None


def _with_entrypoint(row: CommandInput, given: dict[str, object]) -> CommandInput:
    """`row` with the program its `entrypoint` input names, when the step gives one."""
    if not row.entrypoint:
        return row
    named = next((v for k, v in given.items() if str(k).lower() == row.entrypoint), None)
    if not isinstance(named, str) or not named.strip():
        return row
    return CommandInput(row.input, named.strip() + " ", row.language, row.entrypoint)
