"""terragrunt.hcl: the module a Terragrunt configuration deploys, with its `inputs`.

Terragrunt copies the module its `terraform { source = "..." }` names into a cache folder and
runs terraform there, its `inputs` given as `TF_VAR_` values. A live repository holds only
such configurations (`live/prod/db/terragrunt.hcl` -> `modules/db`): a pull request turning
`publicly_accessible = true` in one of them changes no `.tf` file. A configuration whose source
is a folder of this repository judges that module with its inputs (terraform_modules.
variant_scopes: `with the inputs of live/prod/db/terragrunt.hcl`, located at the input's line);
one whose module this scan cannot see (a remote or computed source, one an included
configuration names) is said at its line, never passed in silence. A configuration without a
source runs the `.tf` files beside it (terraform_modules.terragrunt_inputs)."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from gatekeeper import ownership
from gatekeeper.document import Loaded, Problem
from gatekeeper.hcl import Block, HclError, parse
from gatekeeper.tree import Tree
from gatekeeper.yamldoc import decode

NAME = "terragrunt.hcl"

# What a source may start with that names the configuration's own folder.
_OWN_FOLDER = ("${get_terragrunt_dir()}/", "${path.module}/")


@dataclass(frozen=True)
class Config:
    """What a terragrunt.hcl says about the module it deploys."""

    path: str
    source: str | None  # `terraform.source` as written (None: none of its own)
    line: int  # of the source, else of the first include, else 1
    module: str | None  # the repository folder the source names, when it is one
    included: bool  # it includes another configuration (which may name the module)


def read(tree: Tree, path: str) -> Config | None:
    """The configuration at `path`, or None when it does not parse (said by load)."""
    try:
        parsed = parse(decode(tree.read(path)))
    except (HclError, RecursionError, OSError, UnicodeDecodeError, ValueError):
        return None
    return _config(tree, path, parsed.blocks)


def _config(tree: Tree, path: str, blocks: list[Block]) -> Config:
    from gatekeeper.sources.terraform import SpanLocator

    includes = [block for block in blocks if block.type == "include"]
    line = includes[0].span.line if includes else 1
    for block in blocks:
        source = block.body.get("source") if block.type == "terraform" else None
        if isinstance(source, str):
            line = SpanLocator(path, block.span).locate(("source",)).line
            return Config(path, source, line, _local(tree, path, source), bool(includes))
    return Config(path, None, line, None, bool(includes))


def _local(tree: Tree, path: str, source: str) -> str | None:
    """The folder of this repository with Terraform code that `source` names, or None."""
    for prefix in _OWN_FOLDER:
        if source.startswith(prefix):
            source = "./" + source[len(prefix) :]
    if "${" in source or "::" in source or "://" in source or "?" in source:
        return None
    if not source.startswith(("./", "../")):
        return None
    # `../modules//db`: terragrunt copies `../modules` and runs terraform in its `db`.
    target = posixpath.normpath(posixpath.join(posixpath.dirname(path), source.replace("//", "/")))
    if target == ".." or target.startswith(("../", "/")):
        return None
    folder = "" if target == "." else target
    return folder if _has_code(tree, folder) else None


def deploying(tree: Tree, folder: str) -> list[str]:
    """The terragrunt.hcl files whose source is `folder`, sorted."""
    found: dict[str, list[str]] = ownership.of(tree).remember("terragrunt", "", _by_module)
    return found.get(folder, [])


def module_files(tree: Tree, path: str) -> list[str]:
    """The `.tf` files of the module a configuration deploys (the folder its source names,
    else its own): what a hook on the configuration judges again."""
    config = read(tree, path)
    if config is None or (config.source is not None and config.module is None):
        return []
    folder = posixpath.dirname(path) if config.module is None else config.module
    return _code(tree, folder)


def _by_module(tree: Tree, _key: str) -> dict[str, list[str]]:
    """Every configuration of the tree by the repository folder its source names."""
    found: dict[str, list[str]] = {}
    from gatekeeper.sources.terraform import is_terragrunt

    for path in sorted(name for name in tree.list_dir(".") if is_terragrunt(name)):
        config = read(tree, path)
        if config is not None and config.module is not None:
            found.setdefault(config.module, []).append(path)
    return found


def load(path: str, data: bytes, tree: Tree) -> Loaded:
    """A configuration's problems: what it deploys that this scan does not judge. Its inputs
    are judged with the module they reach (terraform_modules), not as documents of their own."""
    try:
        parsed = parse(decode(data))
    except HclError as error:
        return Loaded(problems=[Problem("GK-PARSE-ERROR", path, error.line, str(error))])
    except (RecursionError, UnicodeDecodeError, ValueError) as error:
        return Loaded(problems=[Problem("GK-PARSE-ERROR", path, 1, f"not read: {error}")])
    return Loaded(problems=_unjudged(_config(tree, path, parsed.blocks), tree))


def _unjudged(config: Config, tree: Tree) -> list[Problem]:
    if config.module is not None:
        return []
    if config.source is None:
        folder = posixpath.dirname(config.path)
        if not config.included or _has_code(tree, folder):
            return []  # terraform runs the code beside it (with these inputs), or nothing
        message = (
            "this terragrunt configuration takes its module from a configuration it"
            " includes: what it deploys with its inputs is not judged"
        )
        return [Problem("GK-NOT-EXPANDED", config.path, config.line, message)]
    message = (
        f"the module this terragrunt configuration deploys comes from {config.source},"
        " which this scan does not read: what it deploys with its inputs is not judged"
    )
    return [Problem("GK-NOT-EXPANDED", config.path, config.line, message)]


def _has_code(tree: Tree, folder: str) -> bool:
    """Does `folder` itself hold Terraform code (not only its subfolders)?"""
    return bool(_code(tree, folder))


def _code(tree: Tree, folder: str) -> list[str]:
    """The Terraform code files of `folder` itself, sorted."""
    from gatekeeper.sources.terraform import TF_SUFFIXES

    return sorted(
        name
        for name in tree.list_dir(folder or ".")
        if posixpath.dirname(name) == folder and name.endswith(TF_SUFFIXES)
    )
