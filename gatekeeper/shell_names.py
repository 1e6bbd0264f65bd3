"""What a word of a shell script stands for when it is not the program's own name (red team
r14): a shell function (`k() { kubectl "$@"; }; k apply`), an alias, a loop variable
(`for v in apply; do kubectl $v`), a default expansion (`${K:-kubectl}`), a copy or link of
a CLI under another name (`ln -s "$(which kubectl)" k; ./k apply`), and the text a decoder
prints (`echo <base64> | base64 -d | sh`). gatekeeper.shell asks; nothing is run.
"""

from __future__ import annotations

import base64
import binascii
import functools
import itertools
import re
import shlex

from gatekeeper import lazy_re

# CLIs whose copy under another name still deploys (a renamed `helm` is helm).
CLIS = frozenset(
    {
        "kubectl", "oc", "helm", "helmfile", "terraform", "tofu", "terragrunt", "argocd",
        "flux", "kustomize", "skaffold", "kapp", "tk", "pulumi", "cdk", "gcloud", "aws", "az",
        "azd", "kubecolor", "flyctl", "fly", "eb", "copilot", "sam", "serverless", "sls",
    }
)  # fmt: skip
# Programs that turn their input into other text: a shell fed by one runs what it decodes.
DECODERS = frozenset(
    {
        "base64", "base32", "basenc", "openssl", "xxd", "uudecode", "gunzip", "zcat", "gzip",
        "bzip2", "bunzip2", "xz", "unxz", "zstd", "rev", "tr", "iconv",
    }
)  # fmt: skip
_FUNCTION = lazy_re.compile(
    r"(?:^|(?<=[\s;&|(]))(?:function\s+([A-Za-z_][\w.:-]*)\s*(?:\(\s*\))?|([A-Za-z_][\w.:-]*)\s*\(\s*\))\s*\{"
)
_POSITIONAL = lazy_re.compile(
    r"\"\$(?:@|\{@\})\"|\"\$(?:\*|\{\*\})\"|\$(?:@|\*|\{@\}|\{\*\})|\$\{?([1-9])\}?"
)
PARAMETER = lazy_re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)([-:=+,^/#%][^}]*)\}")
MAX_CHOICES = 8
_OUTPUT_FLAG = {
    "curl": lazy_re.compile(r"--output|-[A-Za-z]*o"),
    "wget": lazy_re.compile(r"--output-document|-[A-Za-z]*O"),
}


def functions(script: str) -> dict[str, str]:
    """The functions a script defines, name -> body (`f() { ...; }`, `function f { ...; }`)."""
    if "{" not in script or ("(" not in script and "function" not in script):
        return {}
    if len(script) > _LARGE:  # a function holding a manifest in a heredoc, at each call
        return dict(_large_functions(script))
    return dict(_small_functions(script))


# kserve's install scripts print 1-2 MB of manifests from a function (`get_manifests() { cat
# <<EOF ... EOF }`) that several others call: each call reads the body again (shell.commands).
# Their small texts (a call's body, a `$(...)`) are read 245,000 times, 5 s: a few thousand
# distinct ones, each read once.
_LARGE = 65536


@functools.lru_cache(maxsize=4)
def _large_functions(script: str) -> tuple[tuple[str, str], ...]:
    return tuple(_functions(script).items())


@functools.lru_cache(maxsize=1024)
def _small_functions(script: str) -> tuple[tuple[str, str], ...]:
    return tuple(_functions(script).items())


def _functions(script: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for match in _FUNCTION.finditer(script):
        end = _closing(script, match.end())
        if end is not None:
            found[match.group(1) or match.group(2)] = script[match.end() : end]
    return found


def _closing(s: str, i: int) -> int | None:
    """The index of the `}` closing a brace group whose body starts at `i`: quotes (a `\"`
    inside double quotes included), substitutions, comments (`# it's`) and heredoc bodies
    are skipped as the shell reads them. kserve's install scripts: an escaped quote in
    `eval "export $v=\"$x\""` and an apostrophe in a comment made a 20-line function's
    body the rest of a 40,000-line script, re-read at each of its calls (60 s a script)."""
    from gatekeeper.shell import skip_double_quoted, skip_substitution

    depth = 1
    start = i
    pending: list[tuple[str, bool]] = []  # heredocs whose bodies start on the next line
    while i < len(s):
        c = s[i]
        if c == "\\":
            i += 2
            continue
        if c == "'":
            end = s.find(c, i + 1)
            i = len(s) if end < 0 else end + 1
            continue
        if c == '"':
            i = skip_double_quoted(s, i)
            continue
        if s.startswith(("$(", "${"), i) or c == "`":
            i = skip_substitution(s, i)
            continue
        if c == "#" and (i == start or s[i - 1] in " \t\n;&|(){"):
            end = s.find("\n", i)
            i = len(s) if end < 0 else end
            continue
        if c == "\n" and pending:
            i = _after_heredocs(s, i + 1, pending)
            pending = []
            continue
        if s.startswith("<<", i) and not s.startswith("<<<", i):
            heredoc = _HEREDOC.match(s, i)
            if heredoc is not None:
                pending.append((heredoc.group(2).strip("'\""), heredoc.group(1) == "-"))
                i = heredoc.end()
                continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


# `<<EOF`, `<<-EOF`, `<< 'EOF'`, `<<"EOF"`: a heredoc's delimiter as written.
_HEREDOC = lazy_re.compile(r"<<(-?)[ \t]*('[^'\n]*'|\"[^\"\n]*\"|[A-Za-z0-9_.-]+)")


def _after_heredocs(s: str, i: int, pending: list[tuple[str, bool]]) -> int:
    """The index after the bodies of `pending` heredocs, the first starting at `i` (a line's
    start), each end found in one search (kserve's 1.4 MB heredocs of manifests)."""
    for delimiter, strip in pending:
        found = heredoc_end(delimiter, strip).search(s, i)
        if found is None:
            return len(s)
        i = found.end() + 1
    return min(i, len(s))


@functools.lru_cache(maxsize=256)
def heredoc_end(delimiter: str, strip: bool) -> re.Pattern[str]:
    """The line that ends a heredoc: its delimiter alone, after tabs with `<<-`, before any
    carriage returns (searched from a line's start)."""
    return re.compile("^" + ("\t*" if strip else "") + re.escape(delimiter) + "\r*$", re.M)


def called(body: str, args: list[str]) -> str:
    """A function's body as a call with `args` runs it: `"$@"`, `$*`, `$1`... filled in."""

    def fill(match: re.Match[str]) -> str:
        if match.group(1):
            index = int(match.group(1)) - 1
            return shlex.quote(args[index]) if index < len(args) else ""
        return shlex.join(args)

    return _POSITIONAL.sub(fill, body)


def with_defaults(text: str, known: dict[str, str]) -> str:
    """`${NAME...}` expansions: a default (`${K:-kubectl}`, `${K=kubectl}`, `${K:+kubectl}`:
    the known value, else the word: a variable the script does not set is taken as unset),
    and of a known value its case (`${K,,}`), a slice (`${K:0:7}`), a replacement
    (`${K/x/}`) or a removed prefix or suffix (`${K#x}`, `${K%x}`)."""

    def value(match: re.Match[str]) -> str:
        name, operation = match.groups()
        given = known.get(name)
        default = re.fullmatch(r"(:?[-=+])(.*)", operation, re.S)
        if default:
            operator, word = default.groups()
            return word if operator.endswith("+") else (given or word)
        if given is None:
            return match.group(0)
        return _operated(given, operation) or match.group(0)

    return PARAMETER.sub(value, text)


def _operated(value: str, operation: str) -> str | None:
    if operation in (",,", ","):
        return value.lower() if operation == ",," else value[:1].lower() + value[1:]
    if operation in ("^^", "^"):
        return value.upper() if operation == "^^" else value[:1].upper() + value[1:]
    sliced = re.fullmatch(r":\s*(-?\d+)(?::\s*(-?\d+))?", operation)
    if sliced:
        start = int(sliced.group(1))
        length = int(sliced.group(2)) if sliced.group(2) is not None else None
        rest = value[start:]
        return rest if length is None else rest[:length]
    replaced = re.fullmatch(r"(//?)([^/]*)/?(.*)", operation, re.S)
    if replaced and not set(replaced.group(2)) & set("*?["):
        count = -1 if replaced.group(1) == "//" else 1
        return value.replace(replaced.group(2), replaced.group(3), count)
    trimmed = re.fullmatch(r"(##?|%%?)(.*)", operation, re.S)
    if trimmed and not set(trimmed.group(2)) & set("*?["):
        affix = trimmed.group(2)
        if trimmed.group(1).startswith("#"):
            return value.removeprefix(affix)
        return value.removesuffix(affix)
    return None


def ansi_c(s: str, i: int) -> tuple[int, str]:
    """The text of a `$'...'` word whose body starts at `i` (`\\x6b`, octal, `\\u`, the
    usual escapes), and the index after its closing quote."""
    out: list[str] = []
    while i < len(s) and s[i] != "'":
        if s[i] == "\\" and i + 1 < len(s):
            escape = re.match(r"x[0-9A-Fa-f]{1,2}|u[0-9A-Fa-f]{1,4}|[0-7]{1,3}|.", s[i + 1 :], re.S)
            code = escape.group(0) if escape else ""
            if code[:1] in ("x", "u"):
                out.append(chr(int(code[1:], 16)))
            elif code[:1].isdigit():
                out.append(chr(int(code, 8)))
            else:
                out.append(_ESCAPES.get(code, code))
            i += 1 + len(code)
        else:
            out.append(s[i])
            i += 1
    return i + 1, "".join(out)


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "e": "\x1b", "v": "\v"}
# `$X`, `${X...}` and an empty `$()` in a program word the script never sets (`kube${NO}ctl`).
UNSET = lazy_re.compile(r"\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|\$\(\s*\)|''|\"\"")


def loop_values(argv: list[str]) -> tuple[str, list[str]] | None:
    """`for NAME in WORDS` (or `select`): the variable and the values it takes."""
    if len(argv) >= 3 and argv[0] in ("for", "select") and argv[2] == "in":
        return argv[1], argv[3 : 3 + MAX_CHOICES]
    return None


def renamed(program: str, positional: list[str], args: list[str]) -> tuple[str, str] | None:
    """(new name, CLI) when a command copies or links a CLI under another name (`ln -s
    "$(which kubectl)" k`, `cp /usr/local/bin/helm h`, `install -m 755 $(command -v helm) h`)
    or downloads one under another name (`curl -Lo k https://dl.k8s.io/.../kubectl`)."""
    from gatekeeper.shell import program_lookup

    if program in ("ln", "cp", "install", "mv") and len(positional) >= 2:
        source, target = positional[-2], positional[-1]
    elif program in ("curl", "wget"):
        output = _OUTPUT_FLAG[program]
        outputs = [value for flag, value in itertools.pairwise(args) if output.fullmatch(flag)]
        urls = [word for word in args if "://" in word]
        if not outputs or not urls:
            return None
        source, target = urls[0].split("?", 1)[0], outputs[0]
    else:
        return None
    cli = program_lookup(source) or source.rstrip("/").rsplit("/", 1)[-1]
    name = target.rsplit("/", 1)[-1]
    if cli in CLIS and name and name not in CLIS and not target.endswith("/") and "$" not in name:
        return name, cli
    return None


def decoded(program: str, args: list[str], text: str) -> str | None:
    """What a decoder prints for `text`, when it is one this can undo (base64, base32, hex,
    rev); None otherwise (compressed data, other transforms)."""
    flags = set(args)
    try:
        if program == "rev":
            return "\n".join(line[::-1] for line in text.split("\n"))
        decoding = bool(flags & {"-d", "--decode", "-D"}) or program == "uudecode"
        if program == "base64" and decoding:
            return base64.b64decode(_joined(text), validate=True).decode()
        if program == "base32" and decoding:
            return base64.b32decode(_joined(text)).decode()
        if program == "basenc" and decoding and "--base64" in flags:
            return base64.b64decode(_joined(text), validate=True).decode()
        if program == "openssl" and "-d" in flags and ({"base64", "-base64", "-a"} & flags):
            return base64.b64decode(_joined(text), validate=True).decode()
        if program == "xxd" and "-r" in flags and "-p" in flags:
            return bytes.fromhex(_joined(text)).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return None


def _joined(text: str) -> str:
    return "".join(text.split())
