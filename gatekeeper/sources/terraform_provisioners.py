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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gatekeeper import lazy_re, shell
from gatekeeper.document import Document, Location, Locator
from gatekeeper.fieldpath import Path, get

KIND = "TerraformProvisioner"
SOURCE = "workflow"  # judged by the policies of CI scripts that match KIND
_PYTHON = ("python", "python3")
_WHOLE_REFERENCE = lazy_re.compile(r"\s*\$\{[^{}]*\}\s*")  # `${var.deploy}`: the value, whole
_HEREDOC = lazy_re.compile(r"<<-?([A-Za-z_][\w-]*)\s*$")  # `command = <<-EOT`


def document(
    resource: Document, read: Callable[[str], bytes | None] = lambda name: None
) -> Document | None:
    """The commands of the `local-exec` provisioners of a Terraform resource, or None.
    `read` gives a file's bytes: a heredoc's commands are located at their own lines."""
    provisioners = resource.obj.get("provisioner") if isinstance(resource.obj, dict) else None
    job = _address(resource)
    context = {
        "job": job,
        "environment": "",
        "workflow": resource.file,
        "actors": [],
        "ephemeralCluster": False,
    }
    steps: list[dict[str, Any]] = []
    lines: list[list[Location]] = []
    for index, provisioner in enumerate(provisioners if isinstance(provisioners, list) else []):
        local = provisioner.get("local-exec") if isinstance(provisioner, dict) else None
        if not isinstance(local, dict) or not isinstance(local.get("command"), str):
            continue
        at = _written(resource.locator, ("provisioner", index, "local-exec", "command"))
        script = local["command"]
        found = _commands(script, local)
        steps.append({"commands": [{**c.as_dict(), "context": context} for c in found]})
        body = _heredoc_lines(read(at.file), at.line)
        lines.append([_line_of(at, body, c.line) for c in found])
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


def _address(resource: Document) -> str:
    """The resource's Terraform address: `null_resource.app` in the module scanned, the
    instance's whole address (`module.x.null_resource.app`, its name) in a module call;
    the type was put in front of that too (`null_resource.module.x.null_resource.app`)."""
    if resource.name.startswith("module."):
        return resource.name
    return f"{resource.kind}.{resource.name}"


def _written(locator: Locator, path: Path) -> Location:
    """Where the command is written: its `command =` line. A command that names a variable
    or argument whole (`command = var.deploy`) is written where that value is set; one that
    only interpolates a value (`"kubectl apply -f ${var.url}"`) is not: the variable's
    default was its line (eks-workshop-v2), not the command a maintainer changes."""
    located = locator.locate(path)
    written = get(getattr(locator, "written", None), path)
    module = getattr(locator, "module", None)
    partly = isinstance(written, str) and not _WHOLE_REFERENCE.fullmatch(written)
    if located.via and partly and module is not None:
        own: Location = module.locate(path)
        return own
    return located


def _line_of(at: Location, body: tuple[int, int] | None, line: int) -> Location:
    """The place of a command on line `line` (0-based) of the script written at `at`: in a
    heredoc (`command = <<EOT`, its lines `body`), its line of the heredoc (at most the
    last, as a template interpolated into it adds lines); in a quoted string, whose `\\n`
    escapes and templates make lines that no line of the file holds, `at`'s line."""
    if body is None:
        return Location(at.file, at.line)
    first, last = body
    return Location(at.file, min(first + line, last))


def _heredoc_lines(data: bytes | None, line: int) -> tuple[int, int] | None:
    """The first and last lines of the heredoc opened on `line`, or None if none is."""
    if data is None:
        return None
    text = data.decode("utf-8", "replace").splitlines()
    opened = _HEREDOC.search(text[line - 1]) if 0 < line <= len(text) else None
    if opened is None:
        return None
    for number in range(line + 1, len(text) + 1):
        if text[number - 1].strip() == opened.group(1):
            return line + 1, max(line + 1, number - 1)
    return None


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
    lines: list[list[Location]]  # per step, per command: where it is written

    def locate(self, path: Path) -> Location:
        if len(path) >= 6 and path[:3] == ("jobs", self.job, "steps"):
            step, command = path[3], path[5]
            lines = self.lines[step] if isinstance(step, int) and step < len(self.lines) else []
            if isinstance(command, int) and command < len(lines):
                return lines[command]
        return self.resource.locate(())
