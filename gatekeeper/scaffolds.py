"""Templates of project generators: files that a scaffold tool renders into new projects.

gruntwork's boilerplate renders every file of the folder holding `boilerplate.yml` with Go
templates (terragrunt-infrastructure-modules-example's `.boilerplate/terragrunt.hcl` has
`{{ range .requiredVariables }}` inside its `inputs`); cookiecutter renders the folder whose
name is a `{{ cookiecutter.* }}` expression beside `cookiecutter.json`; copier renders names
written with `{{ }}` below `copier.yml`. Such a file, where the tool's actions make it
invalid as written, is applied by nobody as it is (kubectl, terraform and terragrunt fail on
it): its parse error is not a blocking finding but one low notice per template, at the
tool's marker file, naming the template's folder.

What proves a template is the tool's own layout and the file itself: the marker file above
it, a generator's `{{ }}` folder name where the tool requires one, and a parse error at a
line holding a template action (`{{`, `{%`). A file valid as written is judged as written
wherever it is, so a marker added beside `deploy/` hides nothing a deployer applies: what
parses is judged, and what does not parse is what no deployer can apply.
"""

from __future__ import annotations

import posixpath

from gatekeeper import ownership
from gatekeeper.document import Problem
from gatekeeper.tree import Tree

# The marker file of each tool, and the tool's name.
MARKERS = {
    "boilerplate.yml": "boilerplate",
    "cookiecutter.json": "cookiecutter",
    "copier.yml": "copier",
    "copier.yaml": "copier",
}
_NAMES = tuple(MARKERS)
# What starts a template action of Go templates and Jinja.
ACTIONS = ("{{", "{%")


def marker_of(path: str, tree: Tree) -> str | None:
    """The marker file of the generator template that holds `path` by the tool's layout, or
    None: boilerplate.yml in its folder or one above; cookiecutter.json above a folder named
    with `{{ cookiecutter.` that holds it; copier.yml above a `{{ }}`-named folder."""
    for marker in ownership.of(tree).files_above(posixpath.dirname(path), _NAMES):
        tool = MARKERS[posixpath.basename(marker)]
        home = posixpath.dirname(marker)
        below = path[len(home) + 1 :] if home else path
        folders = below.split("/")[:-1]
        if tool == "boilerplate":
            return marker
        if tool == "cookiecutter" and folders and _action(folders[0], "cookiecutter."):
            return marker
        if tool == "copier" and any(_action(folder, "") for folder in folders):
            return marker
    return ownership.of(tree).remember(_PARTIALS, "", _partials).get(path)


_PARTIALS = "boilerplate partials: file -> the first boilerplate.yml listing it"


def _partials(tree: Tree, _key: str) -> dict[str, str]:
    """The files boilerplate templates take as partials (`partials: [../layouts/x.hcl]`,
    globs allowed): Go template definitions (`{{- define }}`) kept beside no marker."""
    import fnmatch

    from gatekeeper.yamldoc import load_mapping

    listed: list[tuple[str, str]] = []
    for file in tree.list_dir("."):
        if posixpath.basename(file) != "boilerplate.yml":
            continue
        try:
            entry, _text, _problems = load_mapping(file, tree.read(file), "boilerplate")
        except OSError:
            continue
        partials = entry.obj.get("partials") if entry is not None else None
        for partial in partials if isinstance(partials, list) else ():
            if isinstance(partial, str):
                joined = posixpath.normpath(posixpath.join(posixpath.dirname(file), partial))
                listed.append((joined, file))
    if not listed:
        return {}
    found: dict[str, str] = {}
    for file in tree.list_dir("."):
        for pattern, marker in listed:
            if fnmatch.fnmatchcase(file, pattern):
                found.setdefault(file, marker)
    return found


def _action(name: str, inside: str) -> bool:
    start = name.find("{{")
    return start >= 0 and name.find("}}", start) > start and inside in name[start:]


def notices(problems: list[Problem], path: str, data: bytes, tree: Tree) -> list[Problem]:
    """A file's problems, those of a generator's template made its scaffold's notice."""
    if not any(problem.file == path for problem in problems):
        return problems
    if not any(action.encode() in data for action in ACTIONS):
        return problems
    text = data.decode("utf-8", "replace")
    return [
        (notice(problem, text, tree) if problem.file == path else None) or problem
        for problem in problems
    ]


def notice(problem: Problem, text: str, tree: Tree) -> Problem | None:
    """The scaffold's notice for a file's parse error (or template notice), when the file
    is a generator's template and the error is at a line holding a template action; None
    otherwise (the problem stands)."""
    if problem.code not in ("GK-PARSE-ERROR", "GK-TEMPLATE", "GK-NOT-A-MANIFEST"):
        return None
    if not any(action in text for action in ACTIONS):
        return None
    marker = marker_of(problem.file, tree)
    if marker is None:
        return None
    if problem.code != "GK-TEMPLATE":  # a parse error; also said GK-NOT-A-MANIFEST where
        # the bytes cannot spell an object (a Jinja `{%- if %}` with no `{{` in the file)
        lines = text.splitlines()
        near = lines[max(problem.line - 2, 0) : problem.line]  # the line, and the one above
        if not any(action in line for line in near for action in ACTIONS):
            return None
    tool = MARKERS[posixpath.basename(marker)]
    home = posixpath.dirname(marker) or "."
    if home == "." or problem.file.startswith(f"{home}/"):
        message = (
            f"template of {tool} ({home}): files whose template actions make them invalid"
            f" as written are rendered by {tool} into new projects and applied by nothing as"
            " they are; not checked here (what is valid as written is judged)"
        )
    else:  # a partial the template lists
        message = (
            f"{problem.file}, a partial of this {tool} template, is invalid as written"
            f" because of its template actions: {tool} renders it into new projects and"
            " nothing applies it as it is; not checked here"
        )
    return Problem("GK-TEMPLATE", marker, 1, message)
