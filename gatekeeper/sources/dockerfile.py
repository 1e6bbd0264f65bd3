"""Dockerfiles (and Containerfiles), parsed with `dockerfile-parse`, heredocs fixed up.

One document per file (kind `Dockerfile`, name = the file path):

    args:   [{name, value, line}]            ARGs before the first FROM
    stages: [{name, index, line, from: {image, registry, repository, tag, digest, raw,
              platform, stage, scratch, resolved}, user, healthcheck,
              instructions: [{instruction, value, line, endLine, flags, arguments,
                              vars, heredocs, commands}]}]

`name` of a stage is its `AS` alias (or `stage-N`), of an instruction a short identity (see
`_identity`), of a command its text, so findings keep their fingerprint when lines move and
when an unrelated part of the instruction is edited. `user` and `healthcheck` are the effective
values at the end of the stage, inherited from a parent stage (`FROM build`). The `user` and
the `arguments` of ADD and COPY have the stage's ARG and ENV values substituted, as the builder
does. RUN instructions carry their shell commands (gatekeeper.shell), heredoc bodies included,
each with its own line.

dockerfile-parse does not know BuildKit heredocs (`RUN <<EOF ... EOF`): it reads the body as
instructions. We find the first heredoc it misreads, blank its body (keeping the line count),
parse again, and repeat; bodies are then attached to their instruction from the original text.
"""

from __future__ import annotations

import io
import json
import re
import shlex
from collections.abc import Iterator
from typing import Any

from gatekeeper import lazy_re, shell
from gatekeeper.document import BUILT_BY, Document, Loaded, Problem
from gatekeeper.fieldpath import Path
from gatekeeper.images import ImageRef, parse_image
from gatekeeper.linemap import LineMapLocator
from gatekeeper.sources import LoadContext, dockerfile_builds
from gatekeeper.sources.names import is_dockerfile
from gatekeeper.yamldoc import check_bytes, decode

NAME = "dockerfile"
detect = is_dockerfile  # by the name alone (gatekeeper.sources.names)
KIND = "Dockerfile"

_HEREDOC = lazy_re.compile(r"<<(-?)([\"']?)([A-Za-z_][A-Za-z0-9_.-]*)\2")
_HEREDOC_INSTRUCTIONS = frozenset({"RUN", "COPY", "ADD"})
_VARIABLE = lazy_re.compile(
    r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)"
)
_FLAG = lazy_re.compile(r"--([A-Za-z][A-Za-z0-9-]*)(?:=(\S*))?$")
MAX_PARSES = 100  # bound the re-parses of pathological heredoc files


def load(path: str, data: bytes, context: LoadContext | None = None) -> Loaded:
    problem = check_bytes(path, data)
    if problem is not None:
        return Loaded(problems=[problem])
    text = decode(data).replace("\r\n", "\n")
    try:
        structure, heredocs = parse(text)
    except Exception as error:  # dockerfile-parse raises plain exceptions on odd input
        return Loaded(problems=[Problem("GK-PARSE-ERROR", path, 1, f"invalid Dockerfile: {error}")])
    locator = LineMapLocator(path)
    escape = escape_token(text.split("\n"))
    obj, problems = build(path, structure, heredocs, locator, escape)
    document = Document(source=NAME, file=path, obj=obj, locator=locator, kind=KIND, name=path)
    loaded = Loaded(documents=[document], problems=problems)
    syntax = frontend(text)
    if syntax is not None and not _judged_frontend(syntax[0]):
        message = (
            f"# syntax={syntax[0]}: BuildKit builds this file with that frontend image, not"
            " docker/dockerfile; what it builds is not judged here"
        )
        loaded.problems.append(Problem("GK-DOCKERFILE-FRONTEND", path, syntax[1], message))
    for made in dockerfile_builds.of(context.tree, path) if context and context.tree else []:
        locator = LineMapLocator(path)
        obj, _ = build(path, structure, heredocs, locator, escape, made.args)
        if made.target:  # the image is the target stage: what follows it is not built
            stages = obj["stages"]
            chosen = next(
                (s for s in stages if made.target.lower() in (s["alias"], str(s["index"]))), None
            )
            if chosen is None:
                continue  # the build fails: no image
            obj["stages"] = stages[: chosen["index"] + 1]
            obj["target"] = chosen["name"]
        variant = Document(source=NAME, file=path, obj=obj, locator=locator, kind=KIND, name=path)
        variant.extra["variant"] = f"{path}{BUILT_BY}{made.where}"
        loaded.documents.append(variant)
    return loaded


def feeds(context: LoadContext) -> Iterator[tuple[str, str]]:
    """Dependency edges (see depgraph): a Dockerfile reads the build args and target of the
    workflows and compose files that build it with them."""
    if context.tree is None:
        return
    for made in dockerfile_builds.builds(context.tree):
        yield made.dockerfile, made.where.rpartition(":")[0]
    # A file CI builds as a Dockerfile under another name is judged as one because of it: a
    # change to the workflow alone (`-f` pointed at it) judges it again.
    for made in dockerfile_builds.named_builds(context.tree):
        yield made.dockerfile, made.where.rpartition(":")[0]
        if made.via:  # the workflow running the Bake file (`docker buildx bake -f FILE`)
            yield made.dockerfile, made.via


_DIRECTIVE_LINE = lazy_re.compile(r"^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_DIRECTIVES = frozenset({"syntax", "escape", "check"})
_DOCKERFILE_FRONTENDS = frozenset({"docker/dockerfile", "docker/dockerfile-upstream"})


def frontend(text: str) -> tuple[str, int] | None:
    """The frontend image of a `syntax` parser directive and its line, as BuildKit's
    DetectSyntax reads it: leading `# key=value` (or `// key=value`) lines after an optional
    `#!` line, each starting the line."""
    lines = text.lstrip("\ufeff").split("\n")
    first = 1 if lines and lines[0].startswith("#!") else 0
    for prefix in ("#", "//"):
        for number in range(first, len(lines)):
            line = lines[number]
            match = _DIRECTIVE_LINE.match(line[len(prefix) :].lstrip())
            if not line.startswith(prefix) or match is None:
                break
            if match.group(1).lower() not in _DIRECTIVES:
                break
            if match.group(1).lower() == "syntax":
                return match.group(2).split(" ")[0], number + 1
    return None


def _judged_frontend(image: str) -> bool:
    """docker/dockerfile (any version, digest or registry spelling of Docker Hub)."""
    name = image.split("@", 1)[0]
    if ":" in name.rsplit("/", 1)[-1]:
        name = name.rsplit(":", 1)[0]
    for registry in ("docker.io/", "index.docker.io/", "registry-1.docker.io/"):
        name = name.removeprefix(registry)
    return name.lower() in _DOCKERFILE_FRONTENDS


def owners(path: str, context: LoadContext) -> list[str]:
    """The Dockerfiles a workflow or compose file builds with build args or a target: a pull
    request changing only `--build-arg APP_UID=0` re-judges the Dockerfile it builds."""
    from gatekeeper.sources import compose, workflow

    if context.tree is None or not (workflow.kind_of(path) or compose.detect(path)):
        return []
    return dockerfile_builds.built_by(context.tree, path)


def images(document: Document) -> list[tuple[str, Path]]:
    """Base images (FROM) and images copied from (`COPY --from=image`), for the inventory."""
    found: list[tuple[str, Path]] = []
    stages = document.obj.get("stages", [])
    aliases = {stage["alias"] for stage in stages if stage["alias"]}
    for stage in stages:
        base = stage["from"]
        if not (base["stage"] or base["scratch"]) and base["resolved"] and base["image"]:
            found.append((base["image"], ("stages", stage["index"], "from")))
        for index, instruction in enumerate(stage["instructions"]):
            source = instruction["flags"].get("from", "")
            if (
                instruction["instruction"] in ("COPY", "ADD")
                and source
                and source.lower() not in aliases
                and not source.isdigit()
                and "$" not in source
            ):
                found.append((source, ("stages", stage["index"], "instructions", index)))
    return found


class Heredoc:
    """A heredoc body; lines are 0-based, `line` is the body's first line."""

    def __init__(self, word: str, body: str, line: int, end_line: int) -> None:
        self.word, self.body, self.line, self.end_line = word, body, line, end_line
        self.terminated = True


def parse(text: str) -> tuple[list[dict[str, Any]], dict[int, list[Heredoc]]]:
    """dockerfile-parse's structure with heredoc bodies blanked; bodies by 0-based start line.

    A parse is right up to the first heredoc it misreads. Bodies are blanked in order; the
    same parse serves for the next heredoc unless an instruction straddled the last body's
    end (a body line ending in `\\` swallowed the terminator), which forces a new parse.
    Usually two parses in all.
    """
    from dockerfile_parse import DockerfileParser

    def parse_lines(lines: list[str]) -> list[dict[str, Any]]:
        data = "\n".join(_skip_empty_continuations(lines)).encode("utf-8")
        structure: list[dict[str, Any]] = DockerfileParser(fileobj=io.BytesIO(data)).structure
        return structure

    lines = text.split("\n")
    blanked = list(lines)
    heredocs: dict[int, list[Heredoc]] = {}
    for _ in range(MAX_PARSES):
        structure = parse_lines(blanked)
        done_until = -1  # last line of the last body blanked in this round
        stale = False
        for item in structure:
            if item["startline"] <= done_until:
                if item["endline"] > done_until:
                    stale = True  # straddles a body's end: parse again
                    break
                continue
            if (
                item["instruction"] not in _HEREDOC_INSTRUCTIONS
                or item["startline"] in heredocs
                or not _HEREDOC.search(item["content"])
            ):
                continue
            found = _bodies(item, lines)
            heredocs[item["startline"]] = found
            for doc in found:
                for blank in range(doc.line, min(doc.end_line + 1, len(lines))):
                    blanked[blank] = ""
            done_until = max((doc.end_line for doc in found), default=item["endline"])
        if not stale and done_until < 0:
            return structure, heredocs
    return parse_lines(blanked), heredocs


_ESCAPE_DIRECTIVE = lazy_re.compile(r"^\s*#\s*escape\s*=\s*([\\`])\s*$", re.IGNORECASE)
_DIRECTIVE = lazy_re.compile(r"^\s*#\s*[A-Za-z]+\s*=")


def escape_token(lines: list[str]) -> str:
    """The escape character: `\\`, or the one a leading `# escape=` directive names."""
    for line in lines:
        match = _ESCAPE_DIRECTIVE.match(line)
        if match:
            return match.group(1)
        if not _DIRECTIVE.match(line):
            return "\\"
    return "\\"


def _skip_empty_continuations(lines: list[str]) -> list[str]:
    """Blank lines inside a continued instruction as comments, which BuildKit skips as it skips
    blank ones (`RUN true \\`, a blank line, `USER app`: the USER is part of the RUN);
    dockerfile-parse ends the instruction at the blank line instead. Line count kept."""
    escape = escape_token(lines)
    continued = False
    found = list(lines)
    for index, line in enumerate(lines):
        stripped = line.strip()
        if continued and not stripped:
            found[index] = "#"
        elif not stripped.startswith("#"):
            continued = stripped.endswith(escape)
    return found


def _bodies(item: dict[str, Any], lines: list[str]) -> list[Heredoc]:
    """The heredoc bodies of one instruction, read from the original lines after it."""
    found: list[Heredoc] = []
    index = item["endline"] + 1
    for match in _HEREDOC.finditer(item["content"]):
        strip, word = match.group(1) == "-", match.group(3)
        start, terminated = index, False
        while index < len(lines) and not terminated:
            line = lines[index]
            index += 1
            terminated = (line.lstrip("\t") if strip else line) == word
        body_lines = lines[start : index - 1 if terminated else index]
        if strip:
            body_lines = [line.lstrip("\t") for line in body_lines]
        heredoc = Heredoc(word, "\n".join(body_lines) + "\n", start, max(index - 1, start))
        heredoc.terminated = terminated
        found.append(heredoc)
    return found


def build(
    path: str,
    structure: list[dict[str, Any]],
    heredocs: dict[int, list[Heredoc]],
    locator: LineMapLocator,
    escape: str = "\\",
    build_args: dict[str, str] | None = None,
) -> tuple[dict[str, Any], list[Problem]]:
    """The document's object; `build_args` as `docker build --build-arg` gives them (they
    replace the default of an ARG the Dockerfile declares)."""
    given = build_args or {}
    problems: list[Problem] = []
    global_args: list[dict[str, Any]] = []
    stages: list[dict[str, Any]] = []
    defaults: dict[str, str] = {}  # global ARG defaults, for FROM ${BASE}
    # Per stage, what `$NAME` is at this point of it: its ARGs (a global ARG redeclared
    # without a value takes the global default) and ENVs (inherited from a parent stage).
    arguments: list[dict[str, str]] = []
    environments: list[dict[str, str]] = []
    for item in structure:
        keyword = item["instruction"].upper()
        if keyword == "COMMENT":
            continue
        line = item["startline"] + 1
        docs = heredocs.get(item["startline"], [])
        problems.extend(
            Problem(
                "GK-PARSE-ERROR",
                path,
                item["startline"] + 1,
                f"invalid Dockerfile: heredoc {doc.word} is never terminated",
            )
            for doc in docs
            if not doc.terminated
        )
        end_line = (docs[-1].end_line if docs else item["endline"]) + 1
        if keyword == "FROM":
            stage, parent = _stage(item["value"], len(stages), line, defaults, stages)
            stages.append(stage)
            arguments.append({})
            environments.append(dict(environments[parent["index"]]) if parent else {})
            locator.add(("stages", stage["index"]), line)
            locator.add(("stages", stage["index"], "from"), line)
            continue
        try:
            instruction = _instruction(keyword, item, line, end_line, docs)
        except RecursionError:
            message = f"invalid Dockerfile: {keyword} nested too deeply to read; not checked"
            problems.append(Problem("GK-PARSE-ERROR", path, line, message))
            continue
        if not stages:
            if keyword == "ARG":
                for var in instruction["vars"]:
                    locator.add(("args", len(global_args)), line)
                    global_args.append({**var, "line": line})
                    value = given.get(var["name"], var["value"])
                    if value is not None:
                        defaults[var["name"]] = value
            else:
                problems.append(
                    Problem(
                        "GK-PARSE-ERROR",
                        path,
                        line,
                        f"invalid Dockerfile: {keyword} before the first FROM",
                    )
                )
            continue
        stage = stages[-1]
        index = len(stage["instructions"])
        stage["instructions"].append(instruction)
        base: tuple[str | int, ...] = ("stages", stage["index"], "instructions", index)
        locator.add(base, line, end_line)
        for number, command in enumerate(instruction["commands"]):
            locator.add((*base, "commands", number), command["line"])
        known = {**arguments[-1], **environments[-1]}
        if keyword in ("ADD", "COPY"):  # sources and destination, as the builder expands them
            instruction["arguments"] = [_substitute(a, known) for a in instruction["arguments"]]
        if keyword in ("ARG", "ENV"):
            for var in instruction["vars"]:
                value = var["value"]
                if keyword == "ARG" and var["name"] in given:
                    value = given[var["name"]]
                elif keyword == "ARG" and value is None:
                    value = defaults.get(var["name"])
                if value is not None:
                    scope = arguments[-1] if keyword == "ARG" else environments[-1]
                    scope[var["name"]] = _substitute(value, known)
        if keyword == "RUN":
            stage["root_names"] += root_names(instruction["value"])
        if keyword == "USER":  # as the builder expands it: `ARG U=root` + `USER $U` is root
            stage["user"] = expand_word(instruction["value"].strip(), known, escape)
            locator.add(("stages", stage["index"], "user"), line)
            named = stage["user"].split(":")[0]
            stage["user_uid"] = "0" if named in stage["root_names"] else ""
        elif keyword == "HEALTHCHECK":
            stage["healthcheck"] = instruction["value"].strip().upper() != "NONE"
            locator.add(("stages", stage["index"], "healthcheck"), line)
    if not stages and not problems:
        what = "no FROM" if any(i["instruction"] != "COMMENT" for i in structure) else "empty"
        problems.append(Problem("GK-PARSE-ERROR", path, 1, f"invalid Dockerfile: {what}"))
    return {"args": global_args, "stages": stages}, problems


def _stage(
    value: str, index: int, line: int, defaults: dict[str, str], earlier: list[dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The stage a FROM starts, and the earlier stage it builds on (if any)."""
    words = value.split()
    platform = ""
    while words and words[0].startswith("--"):
        flag = words.pop(0)
        if flag.startswith("--platform="):
            platform = flag.split("=", 1)[1]
    raw = words[0] if words else ""
    alias = words[2] if len(words) >= 3 and words[1].lower() == "as" else ""
    resolved = _substitute(raw, defaults)
    parent = next((s for s in earlier if s["alias"] and s["alias"] == resolved.lower()), None)
    image = parse_image(resolved)
    from_view = {
        **image.as_dict(),
        "raw": raw,
        "platform": platform,
        "stage": parent is not None,
        "scratch": resolved.lower() == "scratch",
        "resolved": "$" not in resolved and not _placeholder(image),
    }
    stage: dict[str, Any] = {
        "name": alias or f"stage-{index}",
        "alias": alias.lower(),
        "index": index,
        "line": line,
        "from": from_view,
        # Effective at the end of the stage; inherited from a parent stage, or from the
        # image's own config where its publisher makes it run as non-root.
        "user": parent["user"] if parent else _image_user(image),
        # Names a RUN gave uid 0 (`useradd -o -u 0 app`, a `app:x:0:0` line appended to
        # /etc/passwd): `USER app` is root under another name. The image holds them after.
        "root_names": list(parent["root_names"]) if parent else [],
        "user_uid": parent["user_uid"] if parent else "",
        "healthcheck": parent["healthcheck"] if parent else False,
        "instructions": [],
    }
    return stage, parent


def _placeholder(image: ImageRef) -> bool:
    """A base no builder pulls as written, a mark a script replaces before building: a
    repository path with capitals (`FROM BASEIMAGE`, which rook's and Kubernetes' test
    images' Makefiles `sed` into the real base; Docker: "repository name must be lowercase").
    Judged as an unresolved `FROM $BASE` is: its tag, digest and registry are not known."""
    return image.repository != image.repository.lower()


# Google's distroless images tagged `nonroot` (`debug-nonroot`, `nonroot-amd64`...): their
# config runs as uid 65532 (prometheus' Dockerfile.distroless: `FROM
# gcr.io/distroless/static-debian13:nonroot-amd64` was "sets no USER: runs as root").
_NONROOT_TAG = lazy_re.compile(r"(debug-)?nonroot(-[a-z0-9]+)?")


def _image_user(image: ImageRef) -> str:
    """The USER a base image's own config sets, where its name and tag say so as their
    publisher builds them; "" (root, or not known) otherwise. Never with a digest: a digest
    names whatever image it hashes, whatever tag is written beside it (`:nonroot@sha256:` of
    the root variant runs as root)."""
    if image.digest or image.registry != "gcr.io":
        return ""
    distroless = image.repository.startswith("distroless/")
    return "65532" if distroless and _NONROOT_TAG.fullmatch(image.tag) else ""


# `name:password:0:...` (a passwd line with uid 0), and user tools given uid 0.
_PASSWD_ROOT = lazy_re.compile(r"(?<![\w.-])([A-Za-z_][\w.-]*):[^:\s]*:0+:")
_USER_TOOL = lazy_re.compile(r"\b(?:useradd|adduser|usermod)\b([^;&|\n]*)")
_UID_ZERO = lazy_re.compile(r"(?:^|\s)(?:-u|--uid)(?:\s*|=)0+(?=\s)")


def root_names(command: str) -> list[str]:
    """The user names a RUN command gives uid 0."""
    names = [name for name in _PASSWD_ROOT.findall(command) if name != "root"]
    for tool in _USER_TOOL.finditer(command):
        arguments = tool.group(1) + " "
        if _UID_ZERO.search(arguments):
            words = [word for word in arguments.split() if not word.startswith("-")]
            if words:
                names.append(words[-1].strip("'\""))
    return names


def _substitute(text: str, defaults: dict[str, str]) -> str:
    """Expand `$NAME`, `${NAME}`, `${NAME:-word}` and `${NAME:+word}` as BuildKit does."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(4)
        operator, word = match.group(2), match.group(3) or ""
        value = defaults.get(name)
        if operator in ("-", ":-"):
            return value if value or (operator == "-" and value is not None) else word
        if operator in ("+", ":+"):
            return word if value or (operator == "+" and value is not None) else ""
        return value if value is not None else match.group(0)

    return _VARIABLE.sub(replace, text)


def expand_word(text: str, known: dict[str, str], escape: str = "\\") -> str:
    """One word as BuildKit's shell lexer reads it (USER, `UserCommand.Expand`): quotes and
    escapes removed, variables expanded, so `USER "0"`, `USER r\\oot` and `USER ro""ot` are
    root. An unterminated quote fails the build: the text is kept as written."""
    found: list[str] = []
    index, size = 0, len(text)
    while index < size:
        char = text[index]
        if char == escape:
            found.append(text[index + 1 : index + 2])
            index += 2
        elif char == "'":
            end = text.find("'", index + 1)
            if end < 0:
                return text
            found.append(text[index + 1 : end])
            index = end + 1
        elif char == '"':
            index += 1
            part: list[str] = []
            while index < size and text[index] != '"':
                if text[index] == escape and text[index + 1 : index + 2] in ('"', "$", escape):
                    part.append(text[index + 1])
                    index += 2
                    continue
                match = _VARIABLE.match(text, index) if text[index] == "$" else None
                part.append(_substitute(match.group(0), known) if match else text[index])
                index = match.end() if match else index + 1
            if index >= size:
                return text
            found.append("".join(part))
            index += 1
        else:
            match = _VARIABLE.match(text, index) if char == "$" else None
            found.append(_substitute(match.group(0), known) if match else char)
            index = match.end() if match else index + 1
    return "".join(found)


def _instruction(
    keyword: str, item: dict[str, Any], line: int, end_line: int, docs: list[Heredoc]
) -> dict[str, Any]:
    value: str = item["value"]
    flags, arguments = _split_flags(value) if keyword in ("RUN", "COPY", "ADD") else ({}, [])
    instruction: dict[str, Any] = {
        "name": "",
        "instruction": keyword,
        "value": value,
        "line": line,
        "endLine": end_line,
        "flags": flags,
        "arguments": arguments,
        "vars": _vars(keyword, value),
        "heredocs": [{"word": doc.word, "body": doc.body, "line": doc.line + 1} for doc in docs],
        "commands": [],
    }
    if keyword == "RUN":
        instruction["commands"] = _run_commands(item, line, arguments, docs)
    instruction["name"] = _identity(instruction)
    return instruction


def _identity(instruction: dict[str, Any]) -> str:
    """What names an instruction in fingerprints: stable when its details are edited.

    `ENV DB_PASSWORD,LANG` (the names, never the values), `RUN apt-get` (the first program:
    command findings are named by their own text below it), `ADD <sources> <dest>`.
    """
    keyword = instruction["instruction"]
    if instruction["vars"]:
        return f"{keyword} " + ",".join(var["name"] for var in instruction["vars"])
    if keyword == "RUN":
        commands = instruction["commands"]
        return f"RUN {commands[0]['program']}" if commands else "RUN"
    if instruction["arguments"]:
        return f"{keyword} " + " ".join(instruction["arguments"])
    return f"{keyword} {instruction['value']}".strip()


def _split_flags(value: str) -> tuple[dict[str, str], list[str]]:
    """Leading `--from=build`, `--mount=...`, `--checksum=...` flags, then the arguments."""
    stripped = value.strip()
    if stripped.startswith("["):
        try:
            parsed = json.loads(stripped)
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            return {}, [str(word) for word in parsed]
    try:
        words = shlex.split(value, posix=True)
    except ValueError:
        words = value.split()
    flags: dict[str, str] = {}
    while words:
        match = _FLAG.match(words[0])
        if match is None:
            break
        words.pop(0)
        name = match.group(1)
        flags[name] = (flags[name] + "," if name in flags else "") + (match.group(2) or "true")
    return flags, words


def _vars(keyword: str, value: str) -> list[dict[str, Any]]:
    """ENV/ARG/LABEL as name/value pairs (`ARG NAME` has value null; legacy `ENV NAME value`)."""
    if keyword not in ("ENV", "ARG", "LABEL"):
        return []
    try:
        words = shlex.split(value, posix=True)
    except ValueError:
        words = value.split()
    if not words:
        return []
    if keyword == "ENV" and "=" not in words[0]:
        name, _, rest = value.strip().partition(" ")
        return [{"name": name, "value": rest.strip()}]
    found: list[dict[str, Any]] = []
    for word in words:
        name, equals, assigned = word.partition("=")
        found.append({"name": name, "value": assigned if equals else None})
    return found


def _run_commands(
    item: dict[str, Any], line: int, arguments: list[str], docs: list[Heredoc]
) -> list[dict[str, Any]]:
    """Shell commands of a RUN: the shell form's text, and every heredoc body."""
    parts = str(item["content"]).split(None, 1)
    script = parts[1] if len(parts) > 1 else ""
    # Drop leading --mount/--network flags; a JSON (exec) form is one command.
    stripped = re.sub(r"^\s*(?:--[A-Za-z-]+=\S+\s+|--[A-Za-z-]+\s+)*", "", script)
    base = line + script[: len(script) - len(stripped)].count("\n")
    if stripped.lstrip().startswith("["):
        parsed = shell.commands(shlex.join(arguments)) if arguments else []
        return [command.as_dict(line) for command in parsed[:1]]
    on_line = shell.commands(stripped)
    found = [command.as_dict(base) for command in on_line]
    # `RUN <<EOF` and `RUN <<EOF bash` run the body as a script; `RUN python3 <<EOF` does not.
    if on_line and not any(command.program in shell.SHELLS for command in on_line):
        return found
    for doc in docs:
        first = doc.body.lstrip().split("\n", 1)[0]
        if first.startswith("#!") and not any(name in first for name in shell.SHELLS):
            continue
        found.extend(command.as_dict(doc.line + 1) for command in shell.commands(doc.body))
    return found
