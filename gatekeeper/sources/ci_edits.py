"""A CI step that edits a repository manifest in place before it is applied (red team s19
trust12 t09): `sed -i 's/privileged: false/privileged: true/' deploy/app.yaml` or `yq -i
'.spec.hostNetwork = true' deploy/app.yaml`, then `kubectl apply -f deploy/`. The file in
the repository is clean; the cluster gets the edited one.

The same edit piped into kubectl (`sed 's/false/true/' deploy/app.yaml | kubectl apply -f -`,
`yq '.spec.hostNetwork = true' deploy/app.yaml | kubectl apply -f -`) is read alike.
The edit is made here when it is literal text: `sed -i` with `s` commands only (BRE, or ERE
with -E/-r; flags g and I), each with an address or none (`11s/...`, `$s/...`,
`/re/s/...`, `/re/,/re/ s/...`, `/re/,+2 s/...`: red team s20 trust13 s09), `perl -pi -e`
with `s///` commands (read as sed -E), `yq -i` with assignments (`.a.b[0].c = VALUE`, `|=`,
joined by ` | `) of a literal value. Each object the edit changes is judged at the edit's
command as kubectl_inline judges a patch, against the object before the edit: only what the
edit makes is said. Anything else (a negated address, a computed `$VALUE`, a yq function)
is not read. A manifest replaced whole (`cat > FILE <<EOF`, `cp SRC FILE`, `mv SRC FILE`,
FILE a repository manifest) is judged as the objects it then holds.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import yaml

from gatekeeper import lazy_re
from gatekeeper.yamldoc import safe_load, safe_load_all

if TYPE_CHECKING:
    from gatekeeper.tree import Tree

PROGRAMS = frozenset({"sed", "yq", "perl", "cp", "mv", "cat"})
_REPLACING = frozenset({"cp", "mv", "cat"})
_MANIFEST_ENDINGS = (".yaml", ".yml", ".json")
_BRE = {"\\(": "(", "\\)": ")", "\\{": "{", "\\}": "}", "\\+": "+", "\\?": "?", "\\|": "|"}
_PATH = lazy_re.compile(r'\.(?:"([^"]+)"|([A-Za-z0-9_\-/]+))|\[(\d+)\]|\["([^"]+)"\]')


def edited(command: dict[str, Any], tree: Tree | None) -> list[tuple[Any, Any]]:
    """(object before, object after) of each object of the repository file the command
    edits in place that the edit changes; [] when it is not such an edit."""
    if command.get("program") in _REPLACING:
        return _replaced(command, tree)
    found = _edit(command)
    if tree is None or found is None:
        return []
    edit, path = found
    try:
        text = tree.read(path).decode("utf-8", "replace")
        before = [d for d in safe_load_all(text) if isinstance(d, dict)]
        after = edit(text)
    except (OSError, yaml.YAMLError, re.error, ValueError, TypeError, KeyError, IndexError):
        return []
    if after is None or len(after) != len(before):
        return []
    return [(old, new) for old, new in zip(before, after, strict=True) if old != new]


def edited_path(command: dict[str, Any]) -> str | None:
    """The repository file the command edits, when `edited` reads the edit: a pull request
    changing only that file judges the CI file again (kubectl_inline.feeds); for a copy, the
    file copied over it."""
    if command.get("program") in _REPLACING:
        replaced = _replacement(command)
        return replaced[1] if replaced is not None and replaced[1] else None
    found = _edit(command)
    return found[1] if found is not None else None


def _replaced(command: dict[str, Any], tree: Tree | None) -> list[tuple[Any, Any]]:
    """`cp SRC FILE`, `mv SRC FILE` or `cat > FILE <<EOF` over a repository manifest: the
    objects the file then holds (red team s20 trust13 s09: a privileged Pod from
    `ci/pod.txt` or a heredoc replaced the clean deploy/app.yaml that `kubectl apply -f
    deploy/` then applied), each with the file's object of its kind and name before (None:
    a new one), where they differ."""
    found = _replacement(command)
    if tree is None or found is None:
        return []
    target, source, text = found
    try:
        before = [d for d in safe_load_all(tree.read(target)) if isinstance(d, dict)]
        if source:
            text = tree.read(source).decode("utf-8", "replace")
        after = [d for d in safe_load_all(text) if isinstance(d, dict)]
    except (OSError, yaml.YAMLError, ValueError):
        return []
    old = {_identity(d): d for d in before}
    return [
        (old.get(_identity(new)), new)
        for new in after
        if new.get("apiVersion") and new.get("kind") and old.get(_identity(new)) != new
    ]


def _identity(obj: dict[str, Any]) -> tuple[str, str]:
    metadata = obj.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return str(obj.get("kind")), str(name)


def _replacement(command: dict[str, Any]) -> tuple[str, str, str] | None:
    """The repository manifest a copy or heredoc writes over, the repository file copied
    ("" for a heredoc) and the heredoc's text."""
    from gatekeeper.sources.kubectl_inline import repository_path

    program = command.get("program")
    if program == "cat":
        targets, text = command.get("redirects") or [], str(command.get("input") or "")
        if len(targets) != 1 or command.get("positional") or not text or "$" in text:
            return None
        target, source = repository_path(command, str(targets[0])), ""
    else:
        words = [str(word) for word in command.get("positional") or []]
        if len(words) != 2:
            return None
        source = repository_path(command, words[0]) or ""
        target = repository_path(command, words[1])
        if not source:
            return None
    if target is None or not target.endswith(_MANIFEST_ENDINGS):
        return None
    return target, source, text if program == "cat" else ""


def _edit(command: dict[str, Any]) -> tuple[Any, str] | None:
    """The edit a sed/yq command makes and the repository file it reads."""
    args = [str(arg) for arg in command.get("args") or []]
    piped = bool(command.get("into"))  # `sed ... FILE | kubectl apply -f -`: not in place
    program = command.get("program")
    reader = _sed if program == "sed" else _perl if program == "perl" else _yq
    found = reader(args, piped)
    if found is None:
        return None
    from gatekeeper.sources.kubectl_inline import repository_path

    path = repository_path(command, found[1])
    return None if path is None else (found[0], path)


def _sed(args: list[str], piped: bool = False) -> tuple[Any, str] | None:
    """`sed -i[SUFFIX] [-E] [-e] SCRIPT FILE` (without -i when `piped` into kubectl): the
    edit and the file (one file only)."""
    scripts: list[str] = []
    files: list[str] = []
    in_place = extended = False
    at = 0
    while at < len(args):
        arg = args[at]
        at += 1
        if arg.startswith(("-i", "--in-place")):
            in_place = True
        elif arg in ("-E", "-r", "--regexp-extended"):
            extended = True
        elif arg in ("-e", "--expression") and at < len(args):
            scripts.append(args[at])
            at += 1
        elif arg.startswith("--expression="):
            scripts.append(arg.partition("=")[2])
        elif arg.startswith("-") and arg != "-":
            if set(arg[1:]) - set("iEr"):
                return None  # -n, -f FILE, -z...: not read here
            in_place = in_place or "i" in arg
            extended = extended or bool(set(arg[1:]) & set("Er"))
        else:
            files.append(arg)
    if not scripts and files:
        scripts.append(files.pop(0))
    if not (in_place or piped) or len(files) != 1 or not scripts:
        return None
    substitutions = []
    for script in scripts:
        for part in re.split(r"[;\n]", script):
            if not part.strip():
                continue
            selector, rest = _address(part.strip(), extended)
            parsed = _substitution(rest, extended)
            if parsed is None:
                return None
            substitutions.append((selector, *parsed))
    return _substituting(substitutions), files[0]


_Selector = Any  # a function of the lines: the indexes an address selects, or None: all


def _substituting(substitutions: list[tuple[_Selector, re.Pattern[str], str, int]]) -> Any:
    def edit(text: str) -> list[Any]:
        lines = text.split("\n")
        for selector, pattern, replacement, count in substitutions:
            chosen = selector(lines) if selector is not None else range(len(lines))
            for index in chosen:
                lines[index] = pattern.sub(replacement, lines[index], count=count)
        return [d for d in safe_load_all("\n".join(lines)) if isinstance(d, dict)]

    return edit


_ONE_ADDRESS = r"(?:\d+|\$|/(?:[^/\\]|\\.)*/I?)"
_ADDRESS = lazy_re.compile(rf"^({_ONE_ADDRESS})(?:\s*,\s*({_ONE_ADDRESS}|\+\d+))?\s*")


def _address(part: str, extended: bool) -> tuple[_Selector, str]:
    """The lines a sed command's address selects (`/securityContext/,/privileged/ s/...`,
    `11s/...`, `$s/...`, `/re/,+2`; red team s20 trust13 s09: an address hid the edit) and the
    command after it; (None, part) without one (a negated address `/x/!s...` is then no
    substitution: not read)."""
    match = _ADDRESS.match(part)
    if match is None or not part[match.end() :].startswith("s"):
        return None, part
    first, second = match.group(1), match.group(2)

    def test(address: str, index: int, lines: list[str]) -> bool:
        if address == "$":
            return index == len(lines) - 1 or (index == len(lines) - 2 and lines[-1] == "")
        if address.isdigit():
            return index + 1 == int(address)
        flags = re.IGNORECASE if address.endswith("I") else 0
        body = address.rstrip("I")[1:-1]
        return _compiled(body, extended, flags).search(lines[index]) is not None

    def select(lines: list[str]) -> list[int]:
        chosen: list[int] = []
        index = 0
        while index < len(lines):
            if not test(first, index, lines):
                index += 1
                continue
            chosen.append(index)
            if second is None:
                index += 1
                continue
            if second.startswith("+"):
                end = index + int(second[1:])
            elif second.isdigit():
                end = max(index, int(second) - 1)
            else:
                end = next(
                    (at for at in range(index + 1, len(lines)) if test(second, at, lines)),
                    len(lines) - 1,
                )
            chosen += range(index + 1, min(end, len(lines) - 1) + 1)
            index = end + 1
        return chosen

    return select, part[match.end() :]


def _compiled(pattern: str, extended: bool, flags: int = 0) -> re.Pattern[str]:
    if not extended:
        pattern = re.sub(r"\\[(){}+?|]|[(){}+?|]", lambda m: _BRE.get(m[0], "\\" + m[0]), pattern)
    return re.compile(pattern, flags)


def _perl(args: list[str], piped: bool = False) -> tuple[Any, str] | None:
    """`perl -pi -e 's/PATTERN/REPLACEMENT/[gi]' FILE` (`-i.bak`, `-p -i -e`, `-pe` piped
    into kubectl): the substitutions, read as sed -E reads them (red team s20 trust13 s09);
    anything else a perl script does is not read."""
    scripts: list[str] = []
    files: list[str] = []
    printing = in_place = False
    at = 0
    while at < len(args):
        arg = args[at]
        at += 1
        if not arg.startswith("-") or arg == "-":
            files.append(arg)
            continue
        letters = arg[1:]
        while letters:
            letter, letters = letters[0], letters[1:]
            if letter == "p":
                printing = True
            elif letter == "i":
                in_place, letters = True, ""  # the rest is the backup's suffix
            elif letter == "e":
                if letters:
                    scripts.append(letters)
                elif at < len(args):
                    scripts.append(args[at])
                    at += 1
                letters = ""
            else:
                return None  # -n, -l, -0, -M...: not read here
    if not printing or not (in_place or piped) or len(files) != 1 or not scripts:
        return None
    substitutions = []
    for script in scripts:
        for part in script.split(";"):
            part = part.strip()
            if not part:
                continue
            flags = re.match(r".*?([gi]*)$", part)
            tail = flags.group(1) if flags else ""
            parsed = _substitution(part[: len(part) - len(tail)] + tail.replace("i", "I"), True)
            if parsed is None:
                return None
            substitutions.append((None, *parsed))
    return _substituting(substitutions), files[0]


def _substitution(part: str, extended: bool) -> tuple[re.Pattern[str], str, int] | None:
    """`s/PATTERN/REPLACEMENT/FLAGS` as a compiled pattern, a Python replacement, a count."""
    if len(part) < 4 or part[0] != "s" or "$" in part.rstrip("/gI"):
        return None
    delimiter = part[1]
    fields: list[str] = []
    current = ""
    escaped = False
    for char in part[2:]:
        if escaped:
            current += char if char == delimiter else "\\" + char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == delimiter and len(fields) < 2:
            fields.append(current)
            current = ""
        else:
            current += char
    if len(fields) != 2 or set(current) - set("gI"):
        return None
    pattern, replacement = fields
    replacement = re.sub(r"(?<!\\)&", r"\\g<0>", replacement).replace("\\&", "&")
    flags = re.IGNORECASE if "I" in current else 0
    return _compiled(pattern, extended, flags), replacement, 0 if "g" in current else 1


def _yq(args: list[str], piped: bool = False) -> tuple[Any, str] | None:
    """`yq [e|eval] -i 'PATH = VALUE [| ...]' FILE` (without -i when `piped` into kubectl):
    the edit and the file."""
    words = [arg for arg in args if not arg.startswith("-")]
    flags = [arg for arg in args if arg.startswith("-")]
    if words[:1] in (["e"], ["eval"]):
        words = words[1:]
    if not piped and not any(f in ("-i", "--inplace") or f.startswith("--inplace=") for f in flags):
        return None
    if len(words) != 2 or set(flags) - {"-i", "--inplace", "-y", "-Y"}:
        return None
    assignments = []
    for part in words[0].split(" | "):
        pieces = re.split(r"\s*(\|?=)\s*", part.strip(), maxsplit=1)
        if len(pieces) != 3:
            return None
        path, operator, value = pieces
        if operator not in ("=", "|=") or not path.startswith(".") or _computed(value):
            return None
        keys = _keys(path)
        if keys is None:
            return None
        assignments.append((keys, safe_load(value)))

    def edit(text: str) -> list[Any]:
        documents = [d for d in safe_load_all(text) if isinstance(d, dict)]
        for document in documents:
            for keys, value in assignments:
                _assign(document, keys, value)
        return documents

    return edit, words[1]


# A yq value CI computes: a variable (`$v`), a function (`strenv(TAG)`, `env(TAG)`,
# `load("f")`, `now`), another path (`.a`) or an operation on one (`"v" + strenv(T)`).
_YQ_COMPUTED = lazy_re.compile(r"^\s*[.]|[A-Za-z_]\w*\s*\(|^\s*now\s*$|\s[+*/-]\s")


def _computed(value: str) -> bool:
    """Is `value` (unquoted) a yq expression CI evaluates rather than a literal? `.tag =
    strenv(VERSION)` was read as the text `strenv(VERSION)`, a moving tag (flux2-multi-tenancy's
    version bump); what CI computes is not read, as a `$VALUE` in sed is not."""
    if "$" in value:
        return True
    unquoted = re.sub(r'"(?:[^"\\]|\\.)*"', '""', value)
    return bool(_YQ_COMPUTED.search(unquoted))


def _keys(path: str) -> list[str | int] | None:
    keys: list[str | int] = []
    at = 0
    while at < len(path):
        match = _PATH.match(path, at)
        if match is None:
            return None
        quoted, plain, index, bracketed = match.groups()
        keys.append(int(index) if index is not None else (quoted or plain or bracketed))
        at = match.end()
    return keys or None


def _assign(holder: Any, keys: list[str | int], value: Any) -> None:
    """Set `value` at `keys` below `holder`, making maps (as yq does) where they are missing."""
    for at, key in enumerate(keys):
        last = at == len(keys) - 1
        if isinstance(key, int):
            if not isinstance(holder, list) or key > len(holder):
                raise IndexError(key)
            if key == len(holder):
                holder.append(None)
            if last:
                holder[key] = value
                return
            if not isinstance(holder[key], (dict, list)):
                holder[key] = [] if isinstance(keys[at + 1], int) else {}
            holder = holder[key]
        else:
            if not isinstance(holder, dict):
                raise TypeError(key)
            if last:
                holder[key] = value
                return
            if not isinstance(holder.get(key), (dict, list)):
                holder[key] = [] if isinstance(keys[at + 1], int) else {}
            holder = holder[key]
