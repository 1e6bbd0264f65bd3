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
import re
from dataclasses import dataclass

from gatekeeper import ownership
from gatekeeper.document import Loaded, Problem
from gatekeeper.hcl import Block, HclError, parse
from gatekeeper.tree import Tree
from gatekeeper.yamldoc import decode

NAME = "terragrunt.hcl"

# A repository path in a resolved source (get_terragrunt_dir(), find_in_parent_folders()):
# what follows it is relative to the repository's root.
_ROOT = "\x00root"
_INTERPOLATION = re.compile(r"\$\{([^{}]*)\}")
_FIND = re.compile(r"""^find_in_parent_folders\((?:"([^"]*)")?\)$""")
_DIRNAME = re.compile(r"^dirname\((.*)\)$")
_REMOTE = ("::", "://", "?ref=", "git@", "tfr:", "github.com/", "bitbucket.org/")
MAX_DEPTH = 8  # locals naming locals, includes including


@dataclass(frozen=True)
class Config:
    """What a terragrunt.hcl says about the module it deploys."""

    path: str
    source: str | None  # `terraform.source` as written, its own or an include's (None: none)
    line: int  # of the source, else of the first include, else 1
    module: str | None  # the repository folder the source names, when it is one
    resolved: str | None  # the source with what gatekeeper can evaluate of it, else None
    included: bool  # it includes another configuration


def read(tree: Tree, path: str) -> Config | None:
    """The configuration at `path`, or None when it does not parse (said by load)."""
    blocks = _blocks(tree, path)
    return None if blocks is None else _config(tree, path, blocks)


def _blocks(tree: Tree, path: str) -> list[Block] | None:
    """A configuration's top-level blocks, parsed once per tree (deploying, input_files and
    the resolution of includes all ask for them), or None when it does not parse."""
    parsed: list[Block] | None = ownership.of(tree).remember("terragrunt-blocks", path, _parse)
    return parsed


def _parse(tree: Tree, path: str) -> list[Block] | None:
    try:
        return parse(decode(tree.read(path))).blocks
    except (HclError, RecursionError, OSError, UnicodeDecodeError, ValueError):
        return None


def _config(tree: Tree, path: str, blocks: list[Block]) -> Config:
    """The configuration's source: its own `terraform.source`, else the first one an
    included configuration has (terragrunt merges an include's `terraform` block), each
    evaluated as the configuration at `path` evaluates it."""
    from gatekeeper.sources.terraform import SpanLocator

    includes = [block for block in blocks if block.type == "include"]
    line = includes[0].span.line if includes else 1
    resolver = _Resolver(tree, path)
    for block in blocks:
        source = block.body.get("source") if block.type == "terraform" else None
        if isinstance(source, str):
            line = SpanLocator(path, block.span).locate(("source",)).line
            resolved = resolver.string(source, blocks, 0)
            module = _local(tree, path, resolved) if resolved is not None else None
            return Config(path, source, line, module, resolved, bool(includes))
    for _, included in resolver.included(blocks, 0):
        for block in included:
            source = block.body.get("source") if block.type == "terraform" else None
            if isinstance(source, str):
                resolved = resolver.string(source, included, 0)
                module = _local(tree, path, resolved) if resolved is not None else None
                return Config(path, source, line, module, resolved, True)
    return Config(path, None, line, None, None, bool(includes))


class _Unknown(Exception):
    """A part of a source gatekeeper does not evaluate (get_env, run_cmd, a dependency)."""


@dataclass(frozen=True)
class _Resolver:
    """Evaluates what a source is built from the way terragrunt does for the configuration
    `path`: its folder and the repository's (get_terragrunt_dir, get_repo_root,
    get_parent_terragrunt_dir), find_in_parent_folders, dirname, the literal locals of the
    file and of the configurations it includes (include.NAME.locals.X)."""

    tree: Tree
    path: str

    def string(self, text: str, blocks: list[Block], depth: int) -> str | None:
        try:
            return self._string(text, blocks, depth)
        except _Unknown:
            return None

    def _string(self, text: str, blocks: list[Block], depth: int) -> str:
        if depth > MAX_DEPTH:
            raise _Unknown
        return _INTERPOLATION.sub(
            lambda match: self._expression(match.group(1).strip(), blocks, depth), text
        )

    def _expression(self, expression: str, blocks: list[Block], depth: int) -> str:
        folder = posixpath.dirname(self.path)
        if expression == "get_terragrunt_dir()":
            return _repository_path(folder)
        if expression == "get_repo_root()":
            return _ROOT
        if expression == "get_parent_terragrunt_dir()":
            found = self.include_paths(_blocks(self.tree, self.path) or [], depth)
            if not found:
                raise _Unknown
            return _repository_path(posixpath.dirname(found[0]))
        find = _FIND.match(expression)
        if find:
            return _repository_path(self._find(find.group(1) or NAME))
        dirname = _DIRNAME.match(expression)
        if dirname:
            inner = self._expression(dirname.group(1).strip(), blocks, depth + 1)
            return posixpath.dirname(inner)
        parts = expression.split(".")
        if len(parts) == 2 and parts[0] == "local":
            return self._local_value(blocks, parts[1], depth)
        if len(parts) == 4 and parts[0] == "include" and parts[2] == "locals":
            for block, included in self.included(blocks, depth):
                if block.labels[:1] == [parts[1]]:
                    return self._local_value(included, parts[3], depth)
        raise _Unknown

    def _local_value(self, blocks: list[Block], name: str, depth: int) -> str:
        for block in blocks:
            value = block.body.get(name) if block.type == "locals" else None
            if isinstance(value, str):
                return self._string(value, blocks, depth + 1)
        raise _Unknown

    def _find(self, name: str) -> str:
        """The nearest `name` in a folder above the configuration's (its own folder is not
        searched, as terragrunt's find_in_parent_folders)."""
        folder = posixpath.dirname(self.path)
        while folder:
            folder = posixpath.dirname(folder)
            candidate = posixpath.join(folder, name) if folder else name
            if self.tree.exists(candidate):
                return candidate
        raise _Unknown

    def include_paths(self, blocks: list[Block], depth: int) -> list[str]:
        return [path for _, path in self._includes(blocks, depth)]

    def _includes(self, blocks: list[Block], depth: int) -> list[tuple[Block, str]]:
        """Each `include` block of `blocks` whose `path` names a file of the repository."""
        found = []
        for block in blocks:
            raw = block.body.get("path") if block.type == "include" else None
            if not isinstance(raw, str):
                continue
            try:
                value = self._string(raw, blocks, depth + 1)
            except _Unknown:
                continue
            path = _repository_file(self.path, value)
            if path is not None:
                found.append((block, path))
        return found

    def included(self, blocks: list[Block], depth: int) -> list[tuple[Block, list[Block]]]:
        """Each `include` block and the blocks of the configuration it includes."""
        out = []
        for block, path in self._includes(blocks, depth):
            included = _blocks(self.tree, path)
            if included is not None:
                out.append((block, included))
        return out


def _repository_path(path: str) -> str:
    return f"{_ROOT}/{path}" if path else _ROOT


def _repository_file(config: str, value: str) -> str | None:
    """A resolved path of a file (an include's) as a repository path, or None outside."""
    if value.startswith(_ROOT):
        target = posixpath.normpath(value[len(_ROOT) :].lstrip("/") or ".")
    else:
        target = posixpath.normpath(posixpath.join(posixpath.dirname(config), value))
    if target in (".", "..") or target.startswith(("../", "/")):
        return None
    return target


def _local(tree: Tree, path: str, source: str) -> str | None:
    """The folder of this repository with Terraform code that a resolved `source` names,
    or None (remote, outside, no code there)."""
    if any(mark in source for mark in _REMOTE) or "?" in source:
        return None
    # `../modules//db`: terragrunt copies `../modules` and runs terraform in its `db`.
    source = source.replace("//", "/")
    if source.startswith(_ROOT):
        target = posixpath.normpath(source[len(_ROOT) :].lstrip("/") or ".")
    elif source.startswith("/"):
        return None
    else:
        target = posixpath.normpath(posixpath.join(posixpath.dirname(path), source))
    if target == ".." or target.startswith(("../", "/")):
        return None
    folder = "" if target == "." else target
    return folder if _has_code(tree, folder) else None


def _shown(source: str) -> str:
    """A resolved source as a reader writes it (the repository's root as `/`)."""
    return source.replace(_ROOT, "<repository>")


def deploying(tree: Tree, folder: str) -> list[str]:
    """The terragrunt.hcl files whose source is `folder`, sorted."""
    found: dict[str, list[str]] = ownership.of(tree).remember("terragrunt", "", _by_module)
    return found.get(folder, [])


def input_files(tree: Tree, path: str) -> list[str]:
    """The files whose `inputs` the configuration at `path` passes, in merge order: the
    configurations it includes (that gatekeeper can name), then its own (terragrunt's
    default shallow merge: the including file's keys win)."""
    blocks = _blocks(tree, path)
    if blocks is None:
        return [path]
    included = _Resolver(tree, path).include_paths(blocks, 0)
    return [name for name in included if name != path] + [path]


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
    from gatekeeper.sources.names import is_terragrunt
    from gatekeeper.sources.terraform_modules import terraform_files

    found: dict[str, list[str]] = {}
    names = terraform_files(tree, (NAME,))  # git's listing, as the .tf files are found
    for path in sorted(n for n in names if is_terragrunt(n) and posixpath.basename(n) == NAME):
        config = read(tree, path)
        if config is not None and config.module is not None:
            found.setdefault(config.module, []).append(path)
    return found


def load(path: str, data: bytes, tree: Tree) -> Loaded:
    """A configuration's problems: what it deploys that this scan does not judge. Its inputs
    are judged with the module they reach (terraform_modules), not as documents of their own.
    A JSON configuration or a stack (units with sources and values) is not read: said,
    blocking, as either may deploy a module of this repository with any values."""
    if posixpath.basename(path) != NAME:
        what = "stack's units" if path.endswith(".stack.hcl") else "JSON configuration"
        message = (
            f"gatekeeper does not read a terragrunt {what}: what it deploys (a module of this"
            " repository, with its values) is not judged; write it as terragrunt.hcl"
        )
        return Loaded(problems=[Problem("GK-LOCAL-NOT-EXPANDED", path, 1, message)])
    try:
        parsed = parse(decode(data))
    except HclError as error:
        return Loaded(problems=[Problem("GK-PARSE-ERROR", path, error.line, str(error))])
    except (RecursionError, UnicodeDecodeError, ValueError) as error:
        return Loaded(problems=[Problem("GK-PARSE-ERROR", path, 1, f"not read: {error}")])
    problems = _unjudged(_config(tree, path, parsed.blocks), tree)
    return Loaded(problems=problems + _generated(tree, path, parsed.blocks))


# Terraform code that deploys: what a `generate` block must not write unjudged.
_DEPLOYING = re.compile(r"""^\s*(?:resource|module|data)\s+["\w]""", re.MULTILINE)


def _generated(tree: Tree, path: str, blocks: list[Block]) -> list[Problem]:
    """`generate` blocks (here or in a configuration this one includes) that write Terraform
    code deploying resources into the module's folder at apply time: that code is in no `.tf`
    file of the repository, so nothing judges it. Providers and backends (what `generate` is
    for) are not said."""
    out = []
    sites = [(blocks, 0)]
    for include, found in _Resolver(tree, path).included(blocks, 0):
        sites.append((found, include.span.line))
    for found, line in sites:
        for block in found:
            contents = block.body.get("contents") if block.type == "generate" else None
            if not isinstance(contents, str) or not _DEPLOYING.search(contents):
                continue
            name = block.labels[0] if block.labels else ""
            message = (
                f"generate {name!r} writes Terraform code that deploys resources (or modules) at"
                " apply time: it is in no file of the repository, and not judged; write it as a"
                " .tf file of the module"
            )
            out.append(Problem("GK-LOCAL-NOT-EXPANDED", path, line or block.span.line, message))
    return out


def _unjudged(config: Config, tree: Tree) -> list[Problem]:
    if config.module is not None:
        return []
    if config.source is None:
        folder = posixpath.dirname(config.path)
        if not config.included or _has_code(tree, folder):
            return []  # terraform runs the code beside it (with these inputs), or nothing
        message = (
            "this terragrunt configuration includes a configuration gatekeeper cannot read"
            " for its module: what it deploys with its inputs is not judged"
        )
        return [Problem("GK-NOT-EXPANDED", config.path, config.line, message)]
    if config.resolved is None:
        residue = _INTERPOLATION.sub("", config.source)
        if not any(mark in residue for mark in _REMOTE):
            # It may well name a folder of this repository (`${local.x}/db` from another
            # file): a pull request must not turn a judged module unjudged with a notice.
            message = (
                f"the module this terragrunt configuration deploys ({config.source}) is"
                " computed from what gatekeeper does not evaluate: what it deploys with its"
                " inputs is not judged; write the path (or locals of literal strings)"
            )
            return [Problem("GK-LOCAL-NOT-EXPANDED", config.path, config.line, message)]
    shown = _shown(config.resolved or config.source)
    message = (
        f"the module this terragrunt configuration deploys comes from {shown},"
        " which this scan does not read: what it deploys with its inputs is not judged"
    )
    return [Problem("GK-NOT-EXPANDED", config.path, config.line, message)]


def _has_code(tree: Tree, folder: str) -> bool:
    """Does `folder` itself hold Terraform code (not only its subfolders)?"""
    return bool(_code(tree, folder))


def _code(tree: Tree, folder: str) -> list[str]:
    """The Terraform code files of `folder` itself, sorted (from the tree's one index of
    its Terraform files: the root folder is not listed whole)."""
    from gatekeeper.sources.names import TF_SUFFIXES
    from gatekeeper.sources.terraform_modules import folder_files

    return sorted(name for name in folder_files(tree, folder) if name.endswith(TF_SUFFIXES))
