"""`local-exec` provisioners: the commands `terraform apply` runs on the machine applying it.

A `terraform_data` or `null_resource` (or any resource) with `provisioner "local-exec" {
command = "kubectl apply -f ..." }` deploys imperatively, as a CI step running the same
script does (red team r04). Its command is split into commands as a workflow step's script is
(gatekeeper.shell, with the provisioner's `environment` as known variables and a Python
`interpreter` read as Python), and given to the workflow policies as a document of kind
`TerraformProvisioner`: a job per resource (`jobs.<address>.steps[0].commands`), so
WF-GITOPS-IMPERATIVE-DEPLOY judges it with its deploy commands, dry runs and allow lists
(`allowedJobs` takes the resource's address, `allowedWorkflows` the `.tf` file).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any

from gatekeeper import shell
from gatekeeper.document import Document, Location, Locator
from gatekeeper.fieldpath import Path

KIND = "TerraformProvisioner"
SOURCE = "workflow"  # judged by the policies of CI scripts that match KIND
_PYTHON = ("python", "python3")


def document(resource: Document) -> Document | None:
    """The commands of the `local-exec` provisioners of a Terraform resource, or None."""
    provisioners = resource.obj.get("provisioner") if isinstance(resource.obj, dict) else None
    job = f"{resource.kind}.{resource.name}"
    context = {
        "job": job,
        "environment": "",
        "workflow": resource.file,
        "actors": [],
        "ephemeralCluster": False,
    }
    steps: list[dict[str, Any]] = []
    lines: list[list[int]] = []
    for index, provisioner in enumerate(provisioners if isinstance(provisioners, list) else []):
        local = provisioner.get("local-exec") if isinstance(provisioner, dict) else None
        if not isinstance(local, dict) or not isinstance(local.get("command"), str):
            continue
        at: Path = ("provisioner", index, "local-exec", "command")
        start = resource.locator.locate(at).line
        script = local["command"]
        # A heredoc's text starts on the line after `command = <<EOT`.
        base = start + 1
        found = _commands(script, local)
        steps.append({"commands": [{**c.as_dict(), "context": context} for c in found]})
        lines.append([base + c.line if "\n" in script.strip() else start for c in found])
    if not steps:
        return None
    return Document(
        source=SOURCE,
        file=resource.file,
        obj={"jobs": {job: {"steps": steps}}},
        locator=_CommandLocator(resource.locator, job, lines),
        index=resource.index,
        kind=KIND,
        namespace=resource.namespace,
        name=job,
    )


def _commands(script: str, local: dict[str, Any]) -> list[shell.Command]:
    interpreter = local.get("interpreter")
    program = str(interpreter[0]) if isinstance(interpreter, list) and interpreter else ""
    if posixpath.basename(program) in _PYTHON:
        return shell.python_commands(script)
    environment = local.get("environment")
    variables = (
        {str(k): str(v) for k, v in environment.items()} if isinstance(environment, dict) else {}
    )
    return shell.commands(script, variables)


@dataclass(frozen=True)
class _CommandLocator:
    """A command at its line of the provisioner's `command`; the rest at the resource."""

    resource: Locator
    job: str
    lines: list[list[int]]  # per step, per command: its 1-based line

    def locate(self, path: Path) -> Location:
        if len(path) >= 6 and path[:3] == ("jobs", self.job, "steps"):
            step, command = path[3], path[5]
            lines = self.lines[step] if isinstance(step, int) and step < len(self.lines) else []
            if isinstance(command, int) and command < len(lines):
                at = self.resource.locate(("provisioner",))
                return Location(at.file, lines[command])
        return self.resource.locate(())
