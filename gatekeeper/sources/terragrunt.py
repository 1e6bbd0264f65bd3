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
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from gatekeeper import lazy_re, ownership
from gatekeeper.document import Document, Loaded, Problem
from gatekeeper.hcl import Block, HclError, parse
from gatekeeper.sources import LoadContext
from gatekeeper.tree import Tree
from gatekeeper.yamldoc import decode

NAME = "terragrunt.hcl"

# A repository path in a resolved source (get_terragrunt_dir(), find_in_parent_folders()):
# what follows it is relative to the repository's root.
_ROOT = "\x00root"
_INTERPOLATION = lazy_re.compile(r"\$\{([^{}]*)\}")
_FIND = lazy_re.compile(r"""^find_in_parent_folders\((?:"([^"]*)")?\)$""")
_DIRNAME = lazy_re.compile(r"^dirname\((.*)\)$")
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


def applied_from(tree: Tree, applied: str | None, folder: str) -> list[str]:
    """The configurations deploying `folder` that a CI step run in `applied` applies (its
    own, or those below it: `terragrunt run-all apply`)."""
    if not applied:
        return []
    where = posixpath.normpath(applied)
    return [
        grunt
        for grunt in deploying(tree, folder)
        if where == "." or posixpath.dirname(grunt) == where or grunt.startswith(where + "/")
    ]


def applied_modules(tree: Tree, applied: str | None) -> list[str]:
    """The repository folders the configurations a CI step run in `applied` deploy."""
    found: dict[str, list[str]] = ownership.of(tree).remember("terragrunt", "", _by_module)
    return sorted(folder for folder in found if applied_from(tree, applied, folder))


def merge_strategies(tree: Tree, path: str) -> dict[str, str]:
    """How the configuration merges each file it includes (`merge_strategy`: shallow, the
    default; deep; no_merge), by the included file's path."""
    blocks = _blocks(tree, path)
    out: dict[str, str] = {}
    for block, name in _Resolver(tree, path)._includes(blocks or [], 0):
        strategy = block.body.get("merge_strategy")
        out[name] = strategy if isinstance(strategy, str) else "shallow"
    return out


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


def load(path: str, data: bytes, tree: Tree, context: LoadContext | None = None) -> Loaded:
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
    config = _config(tree, path, parsed.blocks)
    documents = _registry_call(tree, config)
    own = _own_call(tree, config, context) if not documents else None
    if own is not None:
        documents, problems = own
    else:
        problems = [] if documents else _unjudged(config, tree)
    problems += _generated(tree, path, parsed.blocks) + _hooks(tree, path, parsed.blocks)
    return Loaded(documents=documents, problems=problems + _unread_arguments(tree, path))


# The terraform commands around which a hook can change what is applied (terragrunt.gruntwork.io
# /docs/features/hooks; init-from-module and terragrunt-read-config run before any of them).
_HOOKED = frozenset({"apply", "plan", "init", "init-from-module", "terragrunt-read-config"})
_HOOK_BLOCKS = ("before_hook", "after_hook", "error_hook")
# Programs a hook runs that only read, check or print: nothing they do is deployed.
_READING = frozenset(
    {
        "echo", "printf", "true", "pwd", "ls", "date", "tflint", "tfsec", "trivy",
        "checkov", "conftest", "opa", "infracost", "terrascan", "kics", "terraform-docs",
    }
)  # fmt: skip
_READING_TERRAFORM = frozenset({"fmt", "validate", "show", "output", "version", "providers"})


def _hooks(tree: Tree, path: str, blocks: list[Block]) -> list[Problem]:
    """Hooks (here or in an included configuration) that run a program around an apply or a
    plan that is not one that only reads: `cp extra.tf .` into the module's working copy,
    `sed` on its code, `kubectl apply`: what it writes or deploys is in no judged file (red
    team s18 v03 tghook), so blocking, as a generate block writing resources is."""
    out = []
    sites = [(blocks, 0)]
    for include, found in _Resolver(tree, path).included(blocks, 0):
        sites.append((found, include.span.line))
    from gatekeeper.sources.terraform import SpanLocator

    for found, include_line in sites:
        for block in found:
            if block.type != "terraform":
                continue
            locator = SpanLocator(path, block.span)
            for kind in _HOOK_BLOCKS:
                entries = block.body.get(kind)
                for index, entry in enumerate(entries if isinstance(entries, list) else []):
                    for label, body in entry.items() if isinstance(entry, dict) else ():
                        program = _writing_program(body)
                        if program is None:
                            continue
                        line = include_line or locator.locate((kind, index, label)).line
                        message = (
                            f"{kind} {label!r} runs `{program}` around terraform: what it"
                            " writes into the module's working copy (or deploys) is in no"
                            " file of the repository, and not judged; drop it, or make it"
                            " a read-only check"
                        )
                        out.append(Problem("GK-LOCAL-NOT-EXPANDED", path, line, message))
    return out


def _writing_program(body: object) -> str | None:
    """The program a hook runs around an apply or plan, unless it only reads; else None."""
    if not isinstance(body, dict):
        return None
    commands = body.get("commands")
    if isinstance(commands, list) and not _HOOKED.intersection(map(str, commands)):
        return None
    execute = body.get("execute")
    words = [str(word) for word in execute] if isinstance(execute, list) else []
    if not words:
        return None
    program = posixpath.basename(words[0])
    if program in _READING:
        return None
    if program in ("terraform", "tofu") and len(words) > 1 and words[1] in _READING_TERRAFORM:
        return None
    return " ".join(words)


# `tfr:///NAMESPACE/NAME/PROVIDER?version=` (registry.terraform.io) or with a host: terragrunt's
# spelling of a registry module (terragrunt.gruntwork.io/docs/reference/hcl/blocks#terraform).
_TFR = lazy_re.compile(r"^tfr://[^/]*/")


def _own_call(
    tree: Tree, config: Config, context: LoadContext | None
) -> tuple[list[Document], list[Problem]] | None:
    """A configuration whose source is this repository by its git URL (its remote, or the
    configured repoURLs): the module at that ref judged with the configuration's values (as
    terraform_git_modules does for a module block), or a ref this checkout lacks said;
    None for any other source."""
    from gatekeeper.sources.terraform_git_modules import own_module
    from gatekeeper.sources.terraform_modules import terragrunt_own_documents

    if context is None or config.module is not None or config.source is None:
        return None
    own = own_module(config.resolved or config.source, context)
    if own is None:
        return None
    if own.tree is None:
        message = (
            f"this terragrunt configuration deploys {own.directory or 'the root'} of this"
            f" repository at {own.ref}, which this checkout does not have: what it deploys"
            " with its inputs is not judged"
        )
        return [], [Problem("GK-REVISION-UNSEEN", config.path, config.line, message)]
    return terragrunt_own_documents(tree, config.path, own, config.line), []


def _registry_call(tree: Tree, config: Config) -> list[Document]:
    """The resources of a well-known registry module (terraform_registry's table) that the
    configuration deploys, with its values; none for any other source."""
    from gatekeeper.sources.terraform_modules import terragrunt_registry_documents
    from gatekeeper.sources.terraform_registry import module_for

    if config.module is not None or config.source is None:
        return []
    module = module_for(_TFR.sub("", config.resolved or config.source))
    if module is None:
        return []
    return terragrunt_registry_documents(tree, config.path, module, config.line)


def _unread_arguments(tree: Tree, path: str) -> list[Problem]:
    """extra_arguments values gatekeeper cannot read (a computed `-var`, a variable file
    outside the repository or built from get_env): the module is applied with values no
    rule judged, so blocking, never the defaults judged in silence."""
    out = []
    for argument in arguments(tree, path):
        if argument.unread is None or argument.path != path:
            continue
        message = (
            f"extra_arguments gives terraform {argument.unread} at apply, which gatekeeper"
            " does not read: the module is not judged with it; write the value (or a"
            " variable file of the repository) as a literal"
        )
        out.append(Problem("GK-LOCAL-NOT-EXPANDED", path, argument.line, message))
    return out


# Terraform code that deploys: what a `generate` block must not write unjudged.
_DEPLOYING = lazy_re.compile(r"""^\s*(?:resource|module|data)\s+["\w]""", re.MULTILINE)


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


# `read_terragrunt_config(PATH)` or `read_terragrunt_config(PATH, DEFAULT)` as a local's whole
# value: the other file's `inputs` and `locals`, as an object (common.hcl, account.hcl).
_READ = lazy_re.compile(r"""^\$\{read_terragrunt_config\((.*?)(?:,\s*\{.*\})?\)\}$""", re.DOTALL)


# `yamldecode(file(PATH))` / `jsondecode(file(PATH))` as a local's or the inputs' whole value:
# a values file of the live repository (config.yaml, inputs.json).
_DECODED = lazy_re.compile(r"""^\$\{(?:yamldecode|jsondecode)\(file\((.*)\)\)\}$""", re.DOTALL)


def read_path(tree: Tree, path: str, written: object) -> str | None:
    """The repository file a local of the configuration `path` reads with
    `read_terragrunt_config`, when its path is one gatekeeper evaluates; else None."""
    match = _READ.match(written) if isinstance(written, str) else None
    return None if match is None else _argument_file(tree, path, match.group(1))


def decoded_path(tree: Tree, path: str, written: object) -> str | None:
    """The repository file an expression of the configuration `path` decodes whole
    (`yamldecode(file("${get_terragrunt_dir()}/config.yaml"))`), when gatekeeper evaluates
    its path; else None."""
    match = _DECODED.match(written) if isinstance(written, str) else None
    return None if match is None else _argument_file(tree, path, match.group(1))


def _argument_file(tree: Tree, path: str, written: str) -> str | None:
    """The repository file a function's path argument names, evaluated as terragrunt does
    for the configuration `path` (relative to its folder)."""
    argument = written.strip()
    if argument.startswith('"') and argument.endswith('"'):
        text = argument[1:-1]
    else:
        text = "${" + argument + "}"
    value = _Resolver(tree, path).string(text, _blocks(tree, path) or [], 0)
    found = _repository_file(path, value) if value is not None else None
    return found if found is not None and tree.exists(found) else None


def given_files(tree: Tree, path: str) -> list[str]:
    """The other files that give the configuration values: those its locals read, and the
    variable files its extra_arguments pass (a pull request changing one judges again)."""
    files = [a.file for a in arguments(tree, path) if a.file is not None]
    return sorted({*read_files(tree, path), *files})


def read_files(tree: Tree, path: str) -> list[str]:
    """The files the configuration's locals read with `read_terragrunt_config` (their inputs
    may be its own: `inputs = local.common.inputs`), sorted."""
    from gatekeeper.hcl import parse_attributes

    try:
        body = parse_attributes(decode(tree.read(path)))
    except (HclError, RecursionError, OSError, UnicodeDecodeError, ValueError):
        return []
    written = [
        local.value
        for block in body.blocks
        if block.type == "locals"
        for local in block.body.attributes.values()
    ]
    inputs = body.attributes.get("inputs")
    written += [inputs.value] if inputs is not None else []
    found = set()
    for value in written:
        name = read_path(tree, path, value) or decoded_path(tree, path, value)
        if name is not None and name != path:
            found.add(name)
    return sorted(found)


@dataclass(frozen=True)
class Argument:
    """A value a configuration's `terraform { extra_arguments }` gives terraform at apply:
    a variable (`-var`, `env_vars` TF_VAR_), a variable file, or one gatekeeper cannot read."""

    path: str  # the configuration that says it
    line: int
    kind: str  # env (TF_VAR_), file (a variable file), var (-var): terraform's precedence
    variable: str | None = None  # with `value`
    value: str = ""
    file: str | None = None  # a variable file of the repository
    unread: str | None = None  # what is not evaluated (said blocking by load)


def arguments(tree: Tree, path: str) -> list[Argument]:
    """What the `extra_arguments` blocks of the configuration (and of the ones it includes,
    whose `terraform` block terragrunt merges) give an `apply`, in terraform's order of
    precedence: TF_VAR_ environment, variable files, `-var` (terragrunt.gruntwork.io/docs/
    features/extra-arguments: commands, arguments, required_var_files, optional_var_files,
    env_vars)."""
    blocks = _blocks(tree, path)
    if blocks is None:
        return []
    found: list[Argument] = []
    for name, site in [*_included_blocks(tree, path, blocks), (path, blocks)]:
        for block in site:
            entries = block.body.get("extra_arguments") if block.type == "terraform" else None
            for index, entry in enumerate(entries if isinstance(entries, list) else []):
                for label, body in entry.items() if isinstance(entry, dict) else ():
                    if isinstance(body, dict) and _applies(body.get("commands")):
                        reader = _ArgumentReader(tree, path, name, site, block, (index, label))
                        found += reader.read(body)
    order = {"env": 0, "file": 1, "var": 2}
    return sorted(found, key=lambda argument: order[argument.kind])


@dataclass(frozen=True)
class _ArgumentReader:
    """One extra_arguments block of the configuration `name` (`path` or one it includes),
    its values evaluated as the configuration at `path` evaluates them."""

    tree: Tree
    path: str
    name: str
    blocks: list[Block]
    block: Block
    at: tuple[int, str]

    def line(self, *rest: str | int) -> int:
        from gatekeeper.sources.terraform import SpanLocator

        locator = SpanLocator(self.name, self.block.span)
        return locator.locate(("extra_arguments", *self.at, *rest)).line

    def value(self, text: object) -> str | None:
        if not isinstance(text, str):
            return None
        return _Resolver(self.tree, self.path).string(text, self.blocks, 0)

    def read(self, body: dict[str, object]) -> list[Argument]:
        out = []
        env = body.get("env_vars")
        for key, text in env.items() if isinstance(env, dict) else ():
            if str(key) in _CLI_ARGS:  # TF_CLI_ARGS_apply = "-var=public=true"
                given = self.value(text)
                line = self.line("env_vars", key)
                if given is None:
                    out.append(Argument(self.name, line, "var", unread=str(key)))
                    continue
                try:
                    split = shlex.split(given)
                except ValueError:
                    split = [given]
                out += self.flags(split, at=line)
            elif str(key).startswith("TF_VAR_"):
                given = self.value(text)
                line = self.line("env_vars", key)
                if given is None:
                    out.append(Argument(self.name, line, "env", unread=str(key)))
                else:
                    out.append(Argument(self.name, line, "env", str(key)[7:], given))
        for key in ("required_var_files", "optional_var_files"):
            listed = body.get(key)
            for index, text in enumerate(listed if isinstance(listed, list) else []):
                given = self.value(text)
                argument = self.var_file(given, self.line(key, index), str(text))
                if argument.file is None and given is not None and key.startswith("optional"):
                    continue  # terragrunt passes an optional file only when it exists
                out.append(argument)
        listed = body.get("arguments")
        out += self.flags(listed if isinstance(listed, list) else [])
        return out

    def flags(
        self, words: Sequence[object], at: int | None = None
    ) -> list[Argument]:
        """The `-var` and `-var-file` flags among terraform arguments: the `arguments` list,
        else (`at`, its line) a TF_CLI_ARGS value already evaluated."""
        out = []
        for index, word in enumerate(words):
            flag, equals, rest = str(word).partition("=")
            if flag not in ("-var", "--var", "-var-file", "--var-file"):
                continue
            if not equals:
                rest = str(words[index + 1]) if index + 1 < len(words) else ""
            line = self.line("arguments", index) if at is None else at
            given = self.value(rest) if at is None else rest
            if flag.endswith("-var-file"):
                out.append(self.var_file(given, line, rest))
            elif given is None or "=" not in given:
                out.append(Argument(self.name, line, "var", unread=f"{flag} {rest}"))
            else:
                variable, _, text = given.partition("=")
                out.append(Argument(self.name, line, "var", variable.strip(), text))
        return out

    def var_file(self, value: str | None, line: int, written: str) -> Argument:
        found = _repository_file(self.path, value) if value is not None else None
        if found is None or not self.tree.exists(found):
            return Argument(self.name, line, "file", unread=f"-var-file {written}")
        return Argument(self.name, line, "file", file=found)


# What terraform reads as more arguments from its environment (extra_arguments env_vars).
_CLI_ARGS = ("TF_CLI_ARGS", "TF_CLI_ARGS_apply", "TF_CLI_ARGS_plan")


def _applies(commands: object) -> bool:
    """Do an extra_arguments block's `commands` include apply (or plan, whose saved plan
    is applied)? Computed ones (get_terraform_commands_that_need_vars()) are taken to."""
    if isinstance(commands, str):
        return True
    return isinstance(commands, list) and any(c in ("apply", "plan") for c in commands)


def _included_blocks(tree: Tree, path: str, blocks: list[Block]) -> list[tuple[str, list[Block]]]:
    """The configurations `path` includes, by path, with their blocks."""
    out = []
    for name in _Resolver(tree, path).include_paths(blocks, 0):
        found = _blocks(tree, name)
        if found is not None and name != path:
            out.append((name, found))
    return out


def including(tree: Tree, path: str) -> list[str]:
    """The configurations that include, read or pass as variable files the file at `path`
    (an `_envcommon/db.hcl`, a root.hcl, a common.hcl), and the code of the modules they
    deploy: what a hook on that file judges again (only a pull request did)."""
    found: dict[str, list[str]] = ownership.of(tree).remember("terragrunt-users", "", _users)
    out: list[str] = []
    for config in found.get(path, []):
        out += [config, *module_files(tree, config)]
    return list(dict.fromkeys(out))


def _users(tree: Tree, _key: str) -> dict[str, list[str]]:
    from gatekeeper.sources.names import is_terragrunt
    from gatekeeper.sources.terraform_modules import terraform_files

    users: dict[str, list[str]] = {}
    names = terraform_files(tree, (NAME,))
    for config in sorted(n for n in names if is_terragrunt(n) and posixpath.basename(n) == NAME):
        used = [*input_files(tree, config), *given_files(tree, config)]
        for name in used:
            if name != config:
                users.setdefault(name, []).append(config)
    return users
